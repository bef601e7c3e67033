package bench

// Lens draws payload lengths uniform in [8, 1024] with xorshift64* and
// Lemire's multiply-shift range reduction, exactly as the C reference
// (../shared/limit/limit.c: xs and rndlen) and ring/bench_test.go do, so
// every implementation sees the same sequence of lengths for a seed.
type Lens uint64

// Seed is the first producer's seed; producer i uses Seed + i.
const Seed = 0x9E3779B97F4A7C15

// Payload lengths of the throughput workload.
const (
	MinLen = 8
	MaxLen = 1024
)

// Next returns the next length.
func (s *Lens) Next() int {
	x := uint64(*s)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*s = Lens(x)
	return MinLen + int(((x*0x2545F4914F6CDD1D)>>32)*(MaxLen-MinLen+1)>>32)
}
