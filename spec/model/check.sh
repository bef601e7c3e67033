#!/usr/bin/env bash
# Runs every configuration of the model and every mutation (see README.md).
# A configuration passes when SPIN searches its whole state space and finds
# no error; a mutation passes (is caught) when SPIN finds a counterexample
# for the property it names. Prints a table; exits non-zero if any
# configuration fails or any mutation is not caught.
#
#   ./check.sh                 everything
#   ./check.sh NAME...         only those rows
#   ./check.sh -DX -DY ...     one run of those flags (expects no error; kept)
#   JOBS=1 ./check.sh          one run at a time (default: 2)
#   KEEP=1 ./check.sh          keep the run directories (trails) under /tmp
set -u
cd "$(dirname "$0")"
command -v spin >/dev/null || { echo "check.sh needs spin (apt-get install spin)" >&2; exit 2; }
CC=${CC:-gcc}
JOBS=${JOBS:-2}
MEMLIM=${MEMLIM:-3500}   # MB per run

# name | -D flags | expected: "ok", or the check a mutation must violate
# (a name from ghost.pml, or "invalid end state")
CONFIGS=$(cat <<'END'
spsc-p             | -DMEMBAR -DNPROD=2 -DPDIE=1 -DLONGREC=2 -DABORTREC=4 -DCOPYREC=1 -DSTART=5 | ok
spsc-c             | -DMEMBAR -DNPROD=1 -DNREC=3 -DNCONS=2 -DCDIE=63 -DLONGREC=2 -DSTART=5 | ok
spsc-close         | -DMEMBAR -DNPROD=2 -DNREC=1 -DNCONS=2 -DCDETACH -DEOF_ALWAYS -DSTART=5 | ok
spsc-seqcst        | -DNPROD=2 -DPDIE=1 -DLONGREC=2 -DSTART=5 | ok
spsc-arm           | -DARM -DMEMBAR -DNPROD=2 -DPDIE=1 -DLONGREC=2 -DABORTREC=4 -DCOPYREC=1 -DSTART=5 | ok
mpsc-p             | -DMPSC -DNE=2 -DMEMBAR -DNPROD=2 -DPDIE=1 -DPRECS=12 -DLONGREC=2 -DABORTREC=1 -DCOPYREC=2 -DSTART=5 | ok
mpsc-c             | -DMPSC -DNE=2 -DMEMBAR -DNPROD=2 -DNREC=1 -DNCONS=2 -DCDIE=6 -DSTART=5 | ok
mpsc-takeover      | -DMPSC -DNE=1 -DMEMBAR -DNPROD=3 -DPRECS=100 -DPDIE=1 -DSTART=5 | ok
mpsc-mixed         | -DMPSC -DNE=2 -DMEMBAR -DREG=1 -DMBFAIL -DNPROD=2 -DNREC=1 -DEOF_ALWAYS -DSTART=5 | ok
mpsc-arm           | -DARM -DMPSC -DNE=2 -DMEMBAR -DNPROD=2 -DPDIE=1 -DPRECS=11 -DLONGREC=2 -DSTART=5 | ok
ltl-wakeup         | -DLTL_WAKEUP -DMPSC -DNE=2 -DMEMBAR -DREG=1 -DMBFAIL -DNPROD=2 -DNREC=1 -DEOF_ALWAYS -DSTART=5 | ok
ltl-live           | -DLTL_LIVE -DMEMBAR -DNPROD=2 -DPDIE=1 -DSTART=5 | ok
mut-stamp-relaxed  | -DARM -DMEMBAR -DSTART=5 -DMUT_STAMP_RELAXED | corrupt_word
mut-commit-plain   | -DMUT_COMMIT_PLAIN | lost_wakeup
mut-no-membarrier  | -DMEMBAR -DMUT_NO_MEMBARRIER | lost_wakeup
mut-no-membarrier-arm | -DARM -DMPSC -DNPROD=2 -DNREC=1 -DMEMBAR -DMUT_NO_MEMBARRIER | lost_wakeup
mut-recover-store  | -DMPSC -DNPROD=2 -DMUT_RECOVER_STORE | committed_discarded
mut-takeover-store | -DMPSC -DNE=1 -DMEMBAR -DNPROD=3 -DPRECS=0 -DPDIE=1 -DSTART=5 -DMUT_TAKEOVER_STORE | two_entry_owners
mut-consumer-attach-store | -DNCONS=2 -DMUT_CONSUMER_ATTACH_STORE | two_consumers
mut-recheck-word-only | -DMEMBAR -DMUT_RECHECK_WORD_ONLY | invalid end state
mut-spsc-recover-live | -DMEMBAR -DNPROD=2 -DPDIE=1 -DLONGREC=2 -DABORTREC=4 -DCOPYREC=1 -DSTART=5 -DMUT_SPSC_RECOVER_LIVE | recovered_live_spsc
mut-spsc-nocheck   | -DMEMBAR -DCOPYREC=1 -DMUT_SPSC_NOCHECK | copy_took_effect
mut-detach-open    | -DMEMBAR -DMUT_DETACH_OPEN | committed_discarded
mut-v1-release     | -DMEMBAR -DNPROD=1 -DNREC=3 -DNCONS=2 -DCDIE=63 -DLONGREC=2 -DSTART=5 -DMUT_V1_RELEASE | corrupt_word
mut-count-after-head | -DMEMBAR -DNPROD=1 -DNREC=3 -DNCONS=2 -DCDIE=63 -DLONGREC=2 -DSTART=5 -DMUT_COUNT_AFTER_HEAD | duplicate_record
mut-head-relaxed   | -DARM -DMEMBAR -DC=4 -DNREC=4 -DMUT_HEAD_RELAXED | committed_discarded
mut-payload-first  | -DMPSC -DNPROD=2 -DPDIE=1 -DNREC=1 -DMUT_PAYLOAD_FIRST | corrupt_word
mut-scan-unbounded | -DMPSC -DNPROD=2 -DPDIE=1 -DNREC=1 -DMUT_SCAN_UNBOUNDED | corrupt_word
mut-eof-tail-first | -DMPSC -DNPROD=2 -DNREC=1 -DEOF_ALWAYS -DMUT_EOF_TAIL_FIRST | early_eof
mut-producer-check-first | -DMPSC -DNPROD=2 -DNREC=1 -DMUT_PRODUCER_CHECK_FIRST | corrupt_word
END
)

row() { # name flags expect
	local name=$1 flags=$2 expect=$3 dir out states trans depth t res mem
	dir=$(mktemp -d "/tmp/logbuf-model.$name.XXXX")
	cp ./*.pml "$dir/"
	(
		cd "$dir" || exit 1
		spin -a $flags logbuf.pml >spin.out 2>&1 &&
		# -O1: compiling pan.c at -O2 costs more than it saves on these sizes;
		# a mutation's search is short, so it is compiled without optimizing
		opt=-O1; [ "$expect" = ok ] || opt=-O0
		# safety runs, except for the LTL cross-checks: the invariant in
		# every state (LTL_WAKEUP), the liveness with weak fairness (LTL_LIVE)
		mode=-DSAFETY; run=
		case " $flags " in *" -DLTL_WAKEUP "*) mode= ;; esac
		case " $flags " in *" -DLTL_LIVE "*) mode=; run="-a -f" ;; esac
		$CC $opt -w -o pan pan.c $mode -DCOLLAPSE -DMEMLIM="$MEMLIM" $flags >>spin.out 2>&1 &&
		./pan -m200000 -w25 $run >pan.out 2>&1
		[ -f pan.out ] || { echo "error: the model did not build:"; cat spin.out; } >pan.out
	)
	out=$dir/pan.out
	states=$(awk '/states, stored/ {print $1; exit}' "$out")
	trans=$(awk '/ transitions \(= / {print $1; exit}' "$out")
	t=$(awk '/pan: elapsed time/ {print $4; exit}' "$out")
	mem=$(awk '/total actual memory usage/ {print $1; exit}' "$out")
	depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$out" | head -1)
	local errs viol
	errs=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)
	viol=$(sed -n 's/^pan:1: assertion violated  *!(\([a-z_]*\)).*/\1/p; s/^pan:1: \(invalid end state\).*/\1/p; s/^pan:1: \(acceptance cycle\).*/\1/p; s/^pan:1: assertion violated \(.*\) (at depth.*/\1/p' "$out" | head -1)
	local trail=""
	if [ "${errs:-x}" != 0 ] && [ -f "$dir/logbuf.pml.trail" ]; then
		trail=$(sed -n 's/.*(at depth \([0-9]*\)).*/\1/p' "$out" | head -1)
	fi
	if [ "$expect" = ok ]; then
		if [ "${errs:-x}" = 0 ] && ! grep -q "Search not completed\|max search depth too small\|out of memory" "$out"; then
			res=PASS
		else
			res="FAIL ${viol:-$(grep -m1 -o 'reached -DMEMLIM bound\|max search depth too small\|Search not completed\|error.*' "$out")}"
		fi
	else
		if [ "${errs:-0}" != 0 ] && [ "$viol" = "$expect" ]; then
			res="CAUGHT $viol, trail $trail steps"
		else
			res="NOT CAUGHT (errors ${errs:-?}, ${viol:-no violation})"
		fi
	fi
	printf '%-24s %12s %13s %7s %8s  %s\n' "$name" "${states:-?}" "${trans:-?}" "${t:-?}s" "${mem:-?}M" "$res"
	case $res in
	PASS|CAUGHT*) if [ -n "${KEEP:-}" ]; then echo "    (run kept in $dir; ./trail.sh $dir '$flags')"; else rm -rf "$dir"; fi ;;
	*) echo "    (run kept in $dir; ./trail.sh $dir '$flags')" ;;
	esac
}
export -f row
export CC MEMLIM KEEP

case "${1:-}" in -D*) CONFIGS="adhoc | $* | ok"; KEEP=1; set -- ;; esac
want=" $* "
rows=$(echo "$CONFIGS" | while IFS='|' read -r name flags expect; do
	name=$(echo $name); flags=$(echo $flags); expect=$(echo $expect)
	[ -z "$name" ] && continue
	[ $# -gt 0 ] && [[ $want != *" $name "* ]] && continue
	printf '%s\t%s\t%s\n' "$name" "$flags" "$expect"
done)

printf '%-24s %12s %13s %7s %8s  %s\n' config "states" "transitions" time memory result
start=$SECONDS
out=$(echo "$rows" | tr '\t' '\n' | xargs -d '\n' -n 3 -P "$JOBS" bash -c 'row "$0" "$1" "$2"')
echo "$out"
echo "total: $((SECONDS - start)) s"
! echo "$out" | grep -q 'FAIL\|NOT CAUGHT'
