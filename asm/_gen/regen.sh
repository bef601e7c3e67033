#!/usr/bin/env bash
# regen.sh rebuilds the avo-generated amd64 kernels of package asm.
# It deletes every "Code generated ... DO NOT EDIT" output first, so a kernel
# removed from the generator cannot linger. CI runs it and then
#   git diff --exit-code -- asm/ && test -z "$(git status --porcelain -- asm/)"
# to fail when the committed files differ from what the generator writes.
set -euo pipefail
cd "$(dirname "$0")"
for f in ../*_amd64.s ../*_amd64.go; do
	[ -e "$f" ] || continue
	if head -n 3 "$f" | grep -q '^// Code generated .* DO NOT EDIT\.$'; then
		rm -f "$f"
	fi
done
# The generator emits amd64 code whatever the host is.
GOOS=linux GOARCH=amd64 GOFLAGS=-mod=mod go run . -out ../kernels_amd64.s -stubs ../kernels_amd64.go -pkg asm
gofmt -l .. | grep -v '^$' && { echo "gofmt: files above need formatting" >&2; exit 1; } || true
