//go:build !(amd64 || arm64) || purego

package bench

func kernels() string {
	return "purego: Zero = built-in clear; payload copy = built-in copy"
}

func clockInfo() (name, unit string) {
	return "asm.Cycles: monotonic clock (purego)", "ns"
}
