#!/usr/bin/env bash
# regen.sh rebuilds the avo-generated amd64 kernels of package asm and the
# benchmark clock of internal/cycles.
# It deletes every "Code generated ... DO NOT EDIT" output first, so a kernel
# removed from the generator cannot linger. CI runs it and then
#   git diff --exit-code -- asm/ internal/cycles/ &&
#   test -z "$(git status --porcelain -- asm/ internal/cycles/)"
# to fail when the committed files differ from what the generator writes.
set -euo pipefail
cd "$(dirname "$0")"
for f in ../*_amd64.s ../*_amd64.go ../../internal/cycles/*_amd64.s ../../internal/cycles/*_amd64.go; do
	[ -e "$f" ] || continue
	if head -n 3 "$f" | grep -q '^// Code generated .* DO NOT EDIT\.$'; then
		rm -f "$f"
	fi
done
# The generator emits amd64 code whatever the host is.
GOOS=linux GOARCH=amd64 GOFLAGS=-mod=mod go run . -out ../kernels_amd64.s -stubs ../kernels_amd64.go -pkg asm
GOOS=linux GOARCH=amd64 GOFLAGS=-mod=mod go run . -out ../../internal/cycles/cycles_amd64.s -stubs ../../internal/cycles/cycles_amd64.go -pkg cycles
gofmt -l .. ../../internal/cycles | grep -v '^$' && { echo "gofmt: files above need formatting" >&2; exit 1; } || true
