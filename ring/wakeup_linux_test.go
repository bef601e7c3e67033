package ring

import "testing"

// TestNoLostWakeupsCrossProcess is TestNoLostWakeups with the producer in
// another process (this test binary as a child, role "pingpong"): the
// consumer's membarrier must reach the CPUs of a process that is not its
// own, which registered on its own.
func TestNoLostWakeupsCrossProcess(t *testing.T) {
	needReexec(t)
	n := pingPongRecords() / 5 // a child process per case: fewer
	if stressFull() {
		n = 500_000
	}
	for _, tc := range pingPongCases {
		t.Run(tc.name, func(t *testing.T) {
			f, path := createFile(t, pingPongRing, tc.mode)
			c, err := NewConsumer(f.Region())
			if err != nil {
				t.Fatal(err)
			}
			env := []string{"LOGBUF_COUNT=" + utoa(uint64(n))}
			if tc.seqCst {
				env = append(env, "LOGBUF_SEQCST=1")
			}
			cmd := child("pingpong", path, env...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			pingPongConsume(t, c, n)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("producer process: %v", err)
			}
		})
	}
}
