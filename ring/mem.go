package ring

import (
	"strconv"

	"github.com/logbuf/logbuf/asm"
)

// zero clears a released region: asm.Zero picks its AVX2 kernel for the
// multi-KiB blocks of a batched release, the built-in clear otherwise.
func zero(b []byte) { asm.Zero(b) }

func utoa(v uint64) string { return strconv.FormatUint(v, 10) }
