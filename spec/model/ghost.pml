/*
 * Ghost state: what the parties cannot see but the checks need (which
 * process is dead, which claim each record had, what the consumer's caller
 * was given), and the checks themselves.
 *
 * Each check is a bit named after the property; it is 1 only in the state
 * where its assertion fails, so SPIN's report names the property:
 * "assertion violated !(lost_record)". The spec cites these names.
 */

/* records: r = producer * NREC + k */
#define R_NONE      0
#define R_OPEN      1  /* reserved, neither committed nor aborted */
#define R_COMMITTED 2  /* the commit took effect (the producer was told so) */
#define R_ABORTED   3
#define R_DISCARDED 4  /* recovered by the consumer (section 9) */
byte rst[NR];          /* state */
byte rpos[NR];         /* position of its header word */

/* the sink: what the consumer's callers were given, by sequence number
 * (read_records at the record: archive frames carry it) */
bit acc[NR];           /* record accepted */
byte seqrec[NR];       /* record + 1 at each sequence number */
byte nextseq;          /* sequence numbers accepted so far */

/* processes */
bit dead[NPID];        /* what kill(pid, 0) and /proc answer */
byte pdeaths, cdeaths; /* producers and consumers died */
byte pend;             /* producers done with the ring: detached (or, anonymous, done), or dead */
byte pdone;            /* bit p: producer p is done with the ring */
byte cholder;          /* pid of the last consumer to win the lease */
byte eown[NE];         /* pid holding each producer entry, 0 none */

/* producers' claims, for the timing assumption of section 9 */
#define PH_IDLE     0
#define PH_RESERVED 1  /* reserved, stamp and payload not all written */
#define PH_WRITTEN  2  /* stamped and written, commit next */
byte phase[NPROD];
byte rstart[NPROD];    /* position of the reservation (padding included) */

/* wake-up (7.3) */
bit parked;            /* the consumer sleeps in FUTEX_WAIT */
bit bounded;           /* ... with a timeout it must use (its membarrier failed) */
byte ccur;             /* its read cursor */
bit due[NPROD];        /* producer ended a claim (or detached) and has not finished its wake-up check */

/* the checks */
bit lost_record;        /* a committed record was never delivered */
bit duplicate_record;   /* a record delivered under two sequence numbers, or a sequence number reused for another record */
bit seq_gap;            /* read_records skipped a number: the archive would see a loss */
bit out_of_order;       /* a producer's record delivered before an earlier committed one */
bit read_before_commit; /* the consumer read a payload its producer had not made visible */
bit corrupt_word;       /* the consumer's validation failed on a ring no party corrupted */
bit ring_not_clean;     /* at the end, a word of the data area is not 0 */
bit committed_discarded;/* recovery turned a committed record into a skip before it was delivered */
bit late_commit;        /* a commit or abort took effect after its region was recovered */
bit stamp_overwritten;  /* a claim's own commit found its stamp gone, but it was not recovered */
bit recovered_live_spsc;/* an SPSC claim recovered while its producer lives */
bit copy_took_effect;   /* a second end of one claim took effect */
bit two_entry_owners;   /* two live producers hold one table entry */
bit two_consumers;      /* two live consumers attached at once */
bit lost_wakeup;        /* the consumer sleeps with a record ready and nobody due to wake it (7.3) */
bit early_eof;          /* end of stream while a record of a producer that had left is unread */

#define FAIL_IF(check, cond) check = (cond); assert(!check)

/* The consumer hands record r to its caller with sequence number s. */
inline ACCEPT(r, s) {
	FAIL_IF(read_before_commit, rst[r] != R_COMMITTED);
	if
	:: s < nextseq ->
		/* a repeat: allowed only for a record a dead consumer read and did not release */
		FAIL_IF(duplicate_record, seqrec[s] != r + 1 || cdeaths == 0)
	:: s == nextseq ->
		FAIL_IF(duplicate_record, acc[r]);
		_i = (r / NREC) * NREC;
		do
		:: _i < r -> FAIL_IF(out_of_order, rst[_i] == R_COMMITTED && !acc[_i]); _i++
		:: else -> break
		od;
		_i = 0;
		acc[r] = 1;
		seqrec[s] = r + 1;
		nextseq++
	:: else -> FAIL_IF(seq_gap, 1)
	fi
}

/* The consumer recovered [pos, pos + size): the claims in it are discarded. */
inline DISCARD(pos, size) {
	_i = 0;
	do
	:: _i < NR ->
		if
		:: rst[_i] != R_NONE && rpos[_i] >= (pos) && rpos[_i] < (pos) + (size) ->
			FAIL_IF(committed_discarded, rst[_i] == R_COMMITTED && !acc[_i]);
#ifndef MPSC
			FAIL_IF(recovered_live_spsc, rst[_i] == R_OPEN && !dead[PID_P(_i / NREC)]);
#endif
			if
			:: rst[_i] == R_OPEN -> rst[_i] = R_DISCARDED
			:: else -> skip
			fi
		:: else -> skip
		fi;
		_i++
	:: else -> break
	od;
	_i = 0
}

/* An end-of-stream verdict whose lease loads saw the producers in dm done:
 * every record they committed was delivered. */
inline EOF_CHECK(dm) {
	_i = 0;
	do
	:: _i < NR ->
		FAIL_IF(early_eof, ((dm) >> (_i / NREC)) & 1 && rst[_i] == R_COMMITTED && !acc[_i]);
		_i++
	:: else -> break
	od;
	_i = 0
}

/* At the end of the stream: every committed record was delivered. */
inline FINAL_CHECK(me) {
	_i = 0;
	do
	:: _i < NR -> FAIL_IF(lost_record, rst[_i] == R_COMMITTED && !acc[_i]); _i++
	:: else -> break
	od;
	_i = 0;
	do
	:: _i < C ->
		LOAD_IN(me, _i, _w);
		FAIL_IF(ring_not_clean, _w != 0);
		_i++
	:: else -> break
	od;
	_i = 0; _w = 0
}

/* Timing assumption of section 9: the unblock timeout is far longer than
 * any stall of a live producer. When it expires, every live producer whose
 * current reservation lies below the tail T seen when the timeout started
 * has stamped and written it, and every store it made into the ring below
 * T is visible. (Used in the consumer, where cur is its read cursor.) */
#define INWIN(a, lo, len) ((a) < C && ((a) - OFF(lo) + C) % C < (len))
#define NOTIN(p, i, lo, len) (i >= sb[p].n || !INWIN(sb[p].a[i], lo, len))
#if SB == 2
#define BUFCLEAR(p, lo, len) (NOTIN(p, 0, lo, len) && NOTIN(p, 1, lo, len))
#elif SB == 3
#define BUFCLEAR(p, lo, len) (NOTIN(p, 0, lo, len) && NOTIN(p, 1, lo, len) && NOTIN(p, 2, lo, len))
#elif SB == 4
#define BUFCLEAR(p, lo, len) (NOTIN(p, 0, lo, len) && NOTIN(p, 1, lo, len) && NOTIN(p, 2, lo, len) && NOTIN(p, 3, lo, len))
#elif SB == 5
#define BUFCLEAR(p, lo, len) (NOTIN(p, 0, lo, len) && NOTIN(p, 1, lo, len) && NOTIN(p, 2, lo, len) && NOTIN(p, 3, lo, len) && NOTIN(p, 4, lo, len))
#else
#define BUFCLEAR(p, lo, len) (NOTIN(p, 0, lo, len) && NOTIN(p, 1, lo, len) && NOTIN(p, 2, lo, len) && NOTIN(p, 3, lo, len) && NOTIN(p, 4, lo, len) && NOTIN(p, 5, lo, len))
#endif
#define SETTLED(p, T) (dead[PID_P(p)] || \
	((phase[p] != PH_RESERVED || rstart[p] >= (T)) && BUFCLEAR(PARTY_P(p), cur, (T) - cur)))
#if NPROD == 1
#define EXPIRED(T) (SETTLED(0, T))
#define ANYDUE (due[0])
#elif NPROD == 2
#define EXPIRED(T) (SETTLED(0, T) && SETTLED(1, T))
#define ANYDUE (due[0] || due[1])
#else
#define EXPIRED(T) (SETTLED(0, T) && SETTLED(1, T) && SETTLED(2, T))
#define ANYDUE (due[0] || due[1] || due[2])
#endif

/* No lost wake-up: the consumer never sleeps (without a timeout it must
 * use) while a record it could deliver, or an abort it could skip, is
 * visible at its cursor, unless some producer is still on its way to
 * wake it. (A padding word counts when the record after it is ready.) */
#define RDYW(w) (KIND(w) == K_COMMITTED || KIND(w) == K_ABORTED)
#define READY(pos) (RDYW(mem[OFF(pos)]) || (KIND(mem[OFF(pos)]) == K_PADDING && RDYW(mem[0])))
#define LOST_WAKEUP (parked && !bounded && READY(ccur) && !ANYDUE)

/* Checked where LOST_WAKEUP can become true: a store becoming visible, the
 * consumer falling asleep, a producer ending its wake-up check. -DLTL_WAKEUP
 * checks it in every state instead (logbuf.pml), to cross-check that list. */
#ifdef LTL_WAKEUP
#define WAKEUP_CHECK() skip
#else
#define WAKEUP_CHECK() FAIL_IF(lost_wakeup, LOST_WAKEUP)
#endif
