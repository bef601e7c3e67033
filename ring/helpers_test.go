package ring

import (
	"fmt"
	"os"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// stressFull reports whether LOGBUF_STRESS=full asks for the long stress runs.
func stressFull() bool { return os.Getenv("LOGBUF_STRESS") == "full" }
