// Package logging shows logbuf's log writers (package logio) under the
// loggers Go programs use: zerolog, zap, slog and the standard log package,
// as runnable examples; service is a program that logs into a ring file for
// "logbuf archive" to drain from another process, and logbench compares
// the writers under load (BENCHMARKS.md in the repository's root).
//
// It is a module of its own so that the library's go.mod needs none of
// these loggers.
package logging
