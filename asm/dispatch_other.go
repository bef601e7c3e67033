//go:build !(amd64 || arm64) || purego

package asm

// No assembly in this build: Zero is the built-in clear (faster than the
// twin at every size measured). The twin stays reachable through forceZero
// for the tests.

const pauseName = "nothing (no spin-wait hint in this build)"

// pause is Pause's twin: no hint to give, so nothing.
func pause() {}
