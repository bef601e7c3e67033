//go:build purego

package main

// buildTags builds the tool under test with the test's own tags.
const buildTags = "purego"
