package bench

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/logbuf/logbuf/asm"
)

// Machine is what the figures were measured on.
type Machine struct {
	CPU        string  `json:"cpu"`        // model name, from /proc/cpuinfo
	Cores      int     `json:"cores"`      // logical CPUs
	GOMAXPROCS int     `json:"gomaxprocs"` //
	Go         string  `json:"go"`         // Go version
	OS         string  `json:"os"`         // GOOS/GOARCH
	Kernels    string  `json:"kernels"`    // which asm paths the ring used (asm.Kernels)
	Clock      string  `json:"clock"`      // what latency samples are read with
	ClockUnit  string  `json:"clock_unit"` // the unit of latency figures
	TicksPerNs float64 `json:"ticks_per_ns"`
}

// ReadMachine describes this machine and build.
func ReadMachine() Machine {
	clock, unit := clockInfo()
	return Machine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Kernels:    asm.Kernels(),
		Clock:      clock,
		ClockUnit:  unit,
		TicksPerNs: ticksPerNs(),
	}
}

// cpuModel is the first "model name" (x86) or "Hardware"/"CPU part" (arm)
// line of /proc/cpuinfo, or GOARCH where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	found := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := found[k]; !seen && v != "" {
			found[k] = v
		}
	}
	for _, k := range []string{"model name", "Hardware", "CPU part"} {
		if v := found[k]; v != "" {
			return v
		}
	}
	return runtime.GOARCH
}

// ticksPerNs calibrates the latency clock against the monotonic clock over
// 20 ms (1 for a clock in nanoseconds).
func ticksPerNs() float64 {
	t0, c0 := time.Now(), now()
	time.Sleep(20 * time.Millisecond)
	c1, el := now(), time.Since(t0)
	if el <= 0 {
		return 0
	}
	return float64(c1-c0) / float64(el.Nanoseconds())
}
