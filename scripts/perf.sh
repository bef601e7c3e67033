#!/usr/bin/env bash
# perf.sh measures every figure of issue 15's "done when" list in one session,
# in interleaved rounds, and prints each round and then the medians of the
# per-round ratios against the targets:
#
#   throughput  seed workload (random 8..1024 B, 2 MiB ring, consumer zeroes,
#               never reads): this tree's ring with a per-record consumer
#               (TryRead+Release) and with RecvBatch(256), the same two built
#               from the baseline commit, and the C reference ring (batch-z)
#   latency     `logbuf bench --only latency` of this tree at 8 and 64 B:
#               mean (of the samples up to p999) and p50 in TSC ticks, clock
#               pair included; the baseline's p50 beside it
#   deliver     BenchmarkDeliver: produce one record and take it, Recv against
#               RecvBatch, in one goroutine and across two at one record
#               every 10 us
#
#   scripts/perf.sh [rounds] [baseline-commit] [path/to/limit.c]
#
# Defaults: 8 rounds, baseline 461f9d4 (protocol v1), ../shared/limit/limit.c.
# A round takes about a minute on a quiet machine. The machine is shared:
# every figure that is compared is a ratio taken within one round, and the
# load average is printed with each round so that a busy one can be seen.
# Needs: go, gcc, git (for the baseline: git archive of the commit).
set -euo pipefail
rounds=${1:-8}
base=${2:-461f9d4}
cd "$(dirname "$0")/.."
limit_c=${3:-../shared/limit/limit.c}
[ -e "$limit_c" ] || limit_c=../../shared/limit/limit.c # from a worktree in wt/NAME
[ -e "$limit_c" ] || { echo "perf.sh: no limit.c at ../shared/limit: give its path as the third argument" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "perf.sh: $rounds rounds; this tree $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+changes'), baseline $base; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(go version | cut -d' ' -f3)"
echo "building..."
gcc -O2 -fno-builtin-memcpy -fno-builtin-memset -pthread -o "$tmp/limit" "$limit_c"
go test -c -o "$tmp/ring.new" ./ring
go build -o "$tmp/logbuf.new" ./cmd/logbuf
mkdir "$tmp/base"
git archive "$base" | tar -x -C "$tmp/base"
(cd "$tmp/base" && go test -c -o "$tmp/ring.base" ./ring && go build -o "$tmp/logbuf.base" ./cmd/logbuf)

log=$tmp/log # lines: round key value

thr() { # binary benchmark records -> GB/s
	"$1" -test.run '^$' -test.bench "^BenchmarkThroughput/$2\$" -test.benchtime "$3" |
		awk '{for (i = 2; i <= NF; i++) if ($i == "GB/s") print $(i-1)}'
}
bench() { # binary benchmark benchtime metric -> value
	"$1" -test.run '^$' -test.bench "^$2\$" -test.benchtime "$3" |
		awk -v m="$4" '{for (i = 2; i <= NF; i++) if ($i == m) print $(i-1)}'
}
latency() { # logbuf-binary kind -> "key value" lines
	"$1" bench --only latency --no-chan --sizes 8,64 --quiet | awk -v kind="$2" '
		$2 == "ring-spsc" && ($1 == "produce" || $1 == "consume" || $1 == "roundtrip") {
			k = $1 $3
			if (kind == "new") { print "lat-" k "-mean", $4; print "lat-" k "-p50", $5 }
			else print "base-" k "-p50", $4
		}
		kind == "new" && /^A cache line handed/ { for (i = 1; i < NF; i++) if ($i == "p50") { v = $(i + 1); sub(/:$/, "", v); print "lat-handoff-p50", v } }'
}

jobs=(C new-batch new-record base-batch base-record latency base-latency deliver)
for r in $(seq 1 "$rounds"); do
	n=${#jobs[@]}
	for i in $(seq 0 $((n - 1))); do
		j=${jobs[$(((i + r - 1) % n))]} # each round starts one job later
		case $j in
		C) echo "C $("$tmp/limit" batch-z 2 | awk '{print $3}')" ;;
		new-batch) echo "new-batch $(thr "$tmp/ring.new" spsc 20000000x)" ;;
		new-record) echo "new-record $(thr "$tmp/ring.new" spsc-perrecord 10000000x)" ;;
		base-batch) echo "base-batch $(thr "$tmp/ring.base" spsc 20000000x)" ;;
		base-record) echo "base-record $(thr "$tmp/ring.base" spsc-perrecord 10000000x)" ;;
		latency) latency "$tmp/logbuf.new" new ;;
		base-latency) latency "$tmp/logbuf.base" base ;;
		deliver) # short runs, three of each taking turns; the median of the three
			for k in 1 2 3; do
				echo "one-recv $(bench "$tmp/ring.new" 'BenchmarkDeliver/one/recv' 300000x ns/op)"
				echo "one-recvbatch $(bench "$tmp/ring.new" 'BenchmarkDeliver/one/recvbatch' 300000x ns/op)"
				echo "paced-recv $(bench "$tmp/ring.new" 'BenchmarkDeliver/paced/recv' 10000x deliver-ns)"
				echo "paced-recvbatch $(bench "$tmp/ring.new" 'BenchmarkDeliver/paced/recvbatch' 10000x deliver-ns)"
			done | awk '{ v[$1] = v[$1] " " $2 } END { for (k in v) { n = split(v[k], a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; print k, a[int((n + 1) / 2)] } }'
			;;
		esac
	done | sed "s/^/$r /" >"$tmp/round"
	cat "$tmp/round" >>"$log"
	printf 'round %d, load %s\n' "$r" "$(cut -d' ' -f1-3 /proc/loadavg)"
	awk '{ v[$2] = $3 }
		function f(k) { return (k in v) ? v[k] : "-" }
		END {
			printf "  GB/s     C %s  batch %s  record %s  baseline: batch %s  record %s\n", f("C"), f("new-batch"), f("new-record"), f("base-batch"), f("base-record")
			printf "  ticks    mean/p50: produce 8 B %s/%s  64 B %s/%s  consume 8 B %s/%s  64 B %s/%s  round trip 8 B p50 %s  64 B p50 %s\n",
				f("lat-produce8-mean"), f("lat-produce8-p50"), f("lat-produce64-mean"), f("lat-produce64-p50"),
				f("lat-consume8-mean"), f("lat-consume8-p50"), f("lat-consume64-mean"), f("lat-consume64-p50"),
				f("lat-roundtrip8-p50"), f("lat-roundtrip64-p50")
			printf "           cache-line hand-off p50 (the one-way floor) %s\n", f("lat-handoff-p50")
			printf "           baseline p50: produce 8 B %s  64 B %s  consume 8 B %s  64 B %s  round trip 8 B %s  64 B %s\n",
				f("base-produce8-p50"), f("base-produce64-p50"), f("base-consume8-p50"), f("base-consume64-p50"),
				f("base-roundtrip8-p50"), f("base-roundtrip64-p50")
			printf "  deliver  one goroutine ns/op: Recv %s  RecvBatch %s; paced p50 ns: Recv %s  RecvBatch %s\n",
				f("one-recv"), f("one-recvbatch"), f("paced-recv"), f("paced-recvbatch")
		}' "$tmp/round"
done

echo
awk '
	{ v[$2, $1] = $3; seen[$2] = 1; if ($1 > R) R = $1 }
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	# med: median over rounds of one figure; ratio: median of per-round x/y.
	function med(x,   r, k, a) { k = 0; for (r = 1; r <= R; r++) if ((x, r) in v && v[x, r] != "") a[++k] = v[x, r]; return k ? median(a, k) : -1 }
	function ratio(x, y,   r, k, a) {
		k = 0
		for (r = 1; r <= R; r++) if ((x, r) in v && (y, r) in v && v[y, r] > 0 && v[x, r] != "") a[++k] = v[x, r] / v[y, r]
		return k ? median(a, k) : -1
	}
	function check(name, got, op, want, how) {
		ok = (op == ">=") ? got >= want : got <= want
		printf "%-58s %9.2f  target %s %-6s %s  (%s)\n", name, got, op, want, (got < 0 ? "NOT MEASURED" : ok ? "met" : "NOT MET"), how
	}
	END {
		printf "medians over %d rounds (GB/s of payload; latency in TSC ticks, clock pair included; deliver in ns)\n", R
		split("C new-batch new-record base-batch base-record one-recv one-recvbatch paced-recv paced-recvbatch", cols, " ")
		for (c = 1; c in cols; c++) printf "  %-16s %9.2f\n", cols[c], med(cols[c])
		split("produce8 produce64 consume8 consume64 roundtrip8 roundtrip64", ops, " ")
		printf "  %-16s %9s %9s %9s\n", "latency", "mean", "p50", "base p50"
		for (o = 1; o in ops; o++) printf "  %-16s %9.1f %9.1f %9.1f\n", ops[o], med("lat-" ops[o] "-mean"), med("lat-" ops[o] "-p50"), med("base-" ops[o] "-p50")
		print ""
		check("per-record throughput, this tree / baseline", ratio("new-record", "base-record"), ">=", 1.2, "median of per-round ratios")
		check("RecvBatch throughput / C ring batch-z", ratio("new-batch", "C"), ">=", 0.8, "median of per-round ratios")
		check("RecvBatch throughput, this tree / baseline", ratio("new-batch", "base-batch"), ">=", 1, "median of per-round ratios")
		check("produce 64 B mean", med("lat-produce64-mean"), "<=", 65, "median over rounds")
		check("consume 64 B mean", med("lat-consume64-mean"), "<=", 70, "median over rounds")
		check("produce 64 B p50", med("lat-produce64-p50"), "<=", 74, "median over rounds")
		check("consume 64 B p50", med("lat-consume64-p50"), "<=", 74, "median over rounds")
		check("round trip one way 8 B p50", med("lat-roundtrip8-p50"), "<=", 200, "median over rounds")
		printf "%-58s %9.2f  (the floor under it: one cache line to another core, median over rounds)\n", "  cache-line hand-off p50", med("lat-handoff-p50")
		printf "%-58s %9.2f  (median of per-round ratios)\n", "  round trip 8 B p50 / hand-off p50", ratio("lat-roundtrip8-p50", "lat-handoff-p50")
		check("one goroutine: RecvBatch / Recv time per record", ratio("one-recvbatch", "one-recv"), "<=", 2, "median of per-round ratios")
		check("two goroutines, 1 record/10 us: RecvBatch / Recv delivery", ratio("paced-recvbatch", "paced-recv"), "<=", 2, "median of per-round ratios of p50s")
	}' "$log"
