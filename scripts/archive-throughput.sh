#!/usr/bin/env bash
# archive-throughput.sh measures `logbuf archive` draining a ring fed at full
# speed by a Go producer (scripts/feed, one process) into a /dev/shm
# directory with --fsync never: this tree's tool against the tool of commit
# 461f9d4 (before protocol v2, the archiver with its own drain loop and
# internal/segment), in interleaved rounds. Each run is timed from the
# archiver's start to its exit after --count records; the figure is payload
# MB/s. It prints every round, the per-round ratio this/base, and the
# median of those ratios.
#
#   scripts/archive-throughput.sh [rounds] [records per run] [base commit]
#
# Interleaving matters: on a shared VM the machine's speed moves within
# minutes, so only figures taken side by side compare. Each run writes about
# 0.5 KB per record to /dev/shm and deletes it after.
set -euo pipefail
rounds=${1:-10}
records=${2:-2000000}
base=${3:-461f9d4}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
shm=$(mktemp -d /dev/shm/logbuf-archive-throughput.XXXXXX)
trap 'git worktree remove --force "$tmp/base" 2>/dev/null; rm -rf "$tmp" "$shm"' EXIT

git worktree add --quiet --detach "$tmp/base" "$base"
mkdir -p "$tmp/base/scripts/feed"
cp scripts/feed/main.go "$tmp/base/scripts/feed/main.go"
(cd "$tmp/base" && go build -o "$tmp/logbuf-base" ./cmd/logbuf && go build -o "$tmp/feed-base" ./scripts/feed)
go build -o "$tmp/logbuf-this" ./cmd/logbuf
go build -o "$tmp/feed-this" ./scripts/feed

# run NAME: one archive run of tool NAME; prints its payload MB/s.
run() {
	local tool=$tmp/logbuf-$1 feed=$tmp/feed-$1 ring=$shm/ring out=$shm/archive
	"$tool" create --mode mpsc --capacity 4MiB "$ring" >/dev/null
	local t0 t1 pid
	t0=$(date +%s.%N)
	"$tool" archive --fsync never --count "$records" --out "$out" "$ring" 2>"$tmp/archive.log" &
	pid=$!
	"$feed" "$ring" "$records"
	wait "$pid"
	t1=$(date +%s.%N)
	local bytes
	bytes=$(sed -n 's/^archive: \([0-9]*\) records, \([0-9]*\) payload bytes.*/\2/p' "$tmp/archive.log")
	[ -n "$bytes" ] || { cat "$tmp/archive.log" >&2; exit 1; }
	rm -rf "$ring" "$out"
	awk -v b="$bytes" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f\n", b / (t1 - t0) / 1e6 }'
}

log=$tmp/log
for r in $(seq 1 "$rounds"); do
	# Alternate which goes first, so that neither always meets a warm cache.
	if [ $((r % 2)) -eq 1 ]; then
		b=$(run base) t=$(run this)
	else
		t=$(run this) b=$(run base)
	fi
	echo "$r $b $t" >>"$log"
	awk -v r="$r" -v b="$b" -v t="$t" 'BEGIN { printf "round %2d: base %7.1f MB/s, this %7.1f MB/s, this/base %.3f\n", r, b, t, t / b }'
done
awk '
	{ n++; rb[n] = $2; rt[n] = $3; q[n] = $3 / $2 }
	function median(a, k,   i, j, t) {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		printf "median: base %.1f MB/s, this %.1f MB/s; median of per-round this/base: %.3f\n", median(rb, n), median(rt, n), median(q, n)
	}' "$log"
