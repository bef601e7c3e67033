package cbind

import "github.com/logbuf/logbuf/internal/testrec"

// The self-checking payload of spec/TEST-RECORDS.md is internal/testrec's;
// these are the names the tests here (and rust_test.go) use for it.

// recGen yields the lengths of one producer's records.
type recGen = testrec.Gen

func newRecGen(seed uint64, maxPayload int) *recGen { return testrec.NewGen(seed, maxPayload) }

// fillRecord writes record seq of producer id into b.
func fillRecord(b []byte, id uint32, seq uint64) { testrec.Fill(b, id, seq) }

// checkRecord validates a record and returns its producer id and sequence.
func checkRecord(b []byte) (uint32, uint64, error) { return testrec.Verify(b) }

// recChecker checks a stream of records from several producers (see
// testrec.Checker); gens and next are the checker's own maps.
type recChecker struct {
	*testrec.Checker
	gens map[uint32]*recGen // producers whose lengths are checked
	next map[uint32]uint64  // the sequence number due next, per producer
}

func newRecChecker() *recChecker {
	c := testrec.NewChecker()
	return &recChecker{Checker: c, gens: c.Gens, next: c.Next}
}

func (c *recChecker) check(b []byte) error { return c.Check(b) }
