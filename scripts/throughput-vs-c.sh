#!/usr/bin/env bash
# throughput-vs-c.sh runs the seed's throughput workload (random 8..1024 B
# payloads, 2 MiB ring, one producer, one consumer) in interleaved rounds:
# the C reference ring of ../shared/limit (batch-z), the Go ring's
# BenchmarkThroughput/spsc in the default (assembly) and purego builds, the
# bare-protocol sketch (ring/bare_test.go), the ring without RecvBatch's
# linger, and a channel of []byte. It prints every round and then the
# median GB/s of each column and the median of the per-round ratios.
#
#   scripts/throughput-vs-c.sh [rounds] [path/to/limit.c]
#
# Interleaving matters: on a shared VM the machine's speed moves by 3x within
# minutes, so only figures taken side by side compare.
set -euo pipefail
rounds=${1:-8}
limit_c=${2:-$(dirname "$0")/../../shared/limit/limit.c}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -fno-builtin-memcpy -fno-builtin-memset -pthread -o "$tmp/limit" "$limit_c"
go test -c -o "$tmp/ring.test" ./ring
go test -c -tags purego -o "$tmp/ring-purego.test" ./ring

gbs() { # binary benchmark records
	"$1" -test.run '^$' -test.bench "^BenchmarkThroughput/$2\$" -test.benchtime "$3" |
		awk '{for (i = 2; i <= NF; i++) if ($i == "GB/s") print $(i-1)}'
}
log=$tmp/log
for r in $(seq 1 "$rounds"); do
	{
		printf 'C %s\n' "$("$tmp/limit" batch-z 2 | awk '{print $3}')"
		printf 'spsc %s\n' "$(gbs "$tmp/ring.test" spsc 40000000x)"
		printf 'spsc-purego %s\n' "$(gbs "$tmp/ring-purego.test" spsc 40000000x)"
		printf 'bare %s\n' "$(gbs "$tmp/ring.test" bare 40000000x)"
		printf 'spsc-nolinger %s\n' "$(gbs "$tmp/ring.test" spsc-nolinger 40000000x)"
		printf 'chan %s\n' "$(gbs "$tmp/ring.test" chan 10000000x)"
	} | tee -a "$log" | paste -sd' ' | sed "s/^/round $r: /"
done
echo
awk '
	{ n[$1]++; v[$1, n[$1]] = $2 }
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		split("C spsc spsc-purego bare spsc-nolinger chan", order, " ")
		printf "%-14s %8s %10s %10s\n", "column", "median", "/C", "/chan"
		for (o = 1; o <= 6; o++) {
			k = order[o]
			for (i = 1; i <= n[k]; i++) { x[i] = v[k, i]; rc[i] = v[k, i] / v["C", i]; rh[i] = v[k, i] / v["chan", i] }
			printf "%-14s %8.2f %9.2fx %9.2fx\n", k, median(x, n[k]), median(rc, n[k]), median(rh, n[k])
		}
		print "(GB/s of payload; ratios are medians of per-round ratios)"
	}' "$log"
