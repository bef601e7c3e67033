package drain_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/logbuf/logbuf/abi"
	"github.com/logbuf/logbuf/internal/testrig"
)

func TestMain(m *testing.M) {
	testrig.RunRole()
	os.Exit(m.Run())
}

// TestKillConsumer: a Go producer process writes records into a 64 KiB ring
// (full most of the time) while its consumer, a drain into an archive, is
// SIGKILLed and restarted 20 times and SIGTERMed and restarted 5 times. The
// producer waits for each new consumer and writes every record; the
// consumers together archive each exactly once (issue: a consumer that is
// gone is not one that closed).
func TestKillConsumer(t *testing.T) {
	count := uint64(1_000_000)
	if testing.Short() || testrig.RaceEnabled {
		count = 100_000 // the full count runs in the build without -race
	}
	for _, mode := range []abi.Mode{abi.SPSC, abi.MPSC} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.ring")
			f, err := abi.Create(path, 64<<10, mode, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			k := &testrig.KillRun{Ring: path, Kills: 20, Terms: 5, Gap: 60 * time.Millisecond, Seed: uint64(mode) + 1, Log: func(s string) { t.Log(s) }}
			producers := 1
			if mode == abi.MPSC {
				producers = 2
			}
			for id := range producers {
				n := count / uint64(producers)
				cmd := testrig.Child("test-producer", "LOGBUF_RING="+path,
					"LOGBUF_ID="+strconv.Itoa(id+1), "LOGBUF_COUNT="+strconv.FormatUint(n, 10))
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				k.Producers = append(k.Producers, cmd)
				k.IDs = append(k.IDs, uint32(id+1))
				k.Counts = append(k.Counts, n)
			}
			k.Run(t)
		})
	}
}
