//go:build !(amd64 || arm64) || purego

package cycles

// No counter in this build: Now is the twin.
const (
	hasCounter = false
	name       = "monotonic clock"
	unit       = "ns"
)

func counter() uint64 { return generic() }
