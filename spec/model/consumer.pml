/*
 * A consumer process (spec sections 7, 8 and 9). It
 * attaches (or waits for the attached consumer to die), finishes a dead
 * predecessor's release, then reads, releases, parks and recovers until
 * the end of the stream. The first consumer may die at the points in CDIE.
 *
 * releasing, releasing_records and read_records are read by nobody but a
 * consumer that attached after this one died, and a death orders every
 * store made before it (memory.pml); the model writes them straight to
 * memory. The stores other parties read while this consumer lives, the
 * zeros and head, go through its store buffer.
 *
 * Steps are as coarse as is sound (see producer.pml): loads followed by
 * buffered stores are one step, a store followed by a load never is.
 */


inline RESET_C() {
	L = 0; h = 0; cur = 0; ct = 0; w = 0; v = 0; tw = 0; tT = 0; rr = 0;
	n = 0; nb = 0; nr = 0; e = 0; dm = 0; ok = 0; timer = 0; eof = 0; live = 0; fin = 0
}

inline CDEATH() {
	d_step { printf("C%d (pid %d) DIES (its stores become visible)\n", me, MYPID); FLUSH_IN(me); dead[MYPID] = 1; cdeaths++; parked = 0; bounded = 0; RESET_C() }
}
#define CDIE_OK(point) (me == 0 && ((CDIE >> (point)) & 1) && cdeaths == 0)
inline CDIE_AT(point) {
	if
	:: CDIE_OK(point) -> CDEATH(); goto cgone
	:: skip
	fi
}
/* Death points compiled in only when configured. Inside an atomic step,
 * "A CCUT_X B" is "A; B", or "A }; <death point X>; atomic { B". */
#if CDIE & (1 << CDIE_ATTACHED)
#define CDIE_ATTACHED_PT CDIE_AT(CDIE_ATTACHED);
#else
#define CDIE_ATTACHED_PT
#endif
#if CDIE & (1 << CDIE_READ)
#define CDIE_READ_PT CDIE_AT(CDIE_READ);
#else
#define CDIE_READ_PT
#endif
#if CDIE & (1 << CDIE_RELEASING)
#define CCUT_RELEASING }; CDIE_AT(CDIE_RELEASING); atomic {
#else
#define CCUT_RELEASING ;
#endif
#if CDIE & (1 << CDIE_ZEROING)
#define CCUT_ZEROING }; CDIE_AT(CDIE_ZEROING); atomic {
#else
#define CCUT_ZEROING ;
#endif
#if CDIE & (1 << CDIE_COUNTED)
#define CCUT_COUNTED }; CDIE_AT(CDIE_COUNTED); atomic {
#else
#define CCUT_COUNTED ;
#endif

/* zero [from, to) through the store buffer: one entry per side of the wrap point */
inline ZERO(from, to) {
	if
	:: OFF(from) + (to) - (from) <= C -> STORE_N(me, OFF(from), 0, (to) - (from), 0)
	:: else ->
		STORE_N(me, OFF(from), 0, C - OFF(from), 0);
		STORE_N(me, 0, 0, (to) - (from) - (C - OFF(from)), 0)
	fi
}

/* 7.1 step 3: h + size <= tail, the cached tail reloaded once when it
 * fails, and a reloaded tail at most capacity past the released head (in a
 * d_step). The model always checks against a fresh tail: tail only grows,
 * so a check that fails with it fails with any cached copy too. */
inline TAILCHECK_IN(size) {
	LOAD_IN(me, A_TAIL, ct);
	FAIL_IF(corrupt_word, cur + (size) > ct || ct - h > C);
	ct = 0
}

#ifdef MPSC
#define OWNERBAD(w) (OWNER(w) > NE)
#else
#define OWNERBAD(w) (OWNER(w) != 1)
#endif

/* End of stream (section 8): some producer entry was ever held (not
 * FREE), no entry is held (ATTACHED by a live process), and tail == next,
 * loaded after the entries. ENTRY_IN judges the entry e (lease in L). */
inline ENTRY_IN() {
	LOAD_IN(me, A_LEASE(e), L);
	if
	:: LSTATE(L) != FREE -> eof = 1
	:: else -> skip
	fi;
	if
	:: LSTATE(L) == ATTACHED && !dead[LPID(L)] -> live = 1
	:: else -> skip
	fi;
	e++
}
/* fin (ghost): every producer was done with the ring before the judgement
 * began, so nothing can be committed after it: the end is final, and the
 * model checks it. Without -DEOF_ALWAYS the model skips the judgement when
 * it cannot be final: it has no effect then but to go on waiting. */
inline EOF_INIT() { d_step { eof = 0; live = 0; e = 0; fin = (pend == NPROD); dm = 0 } }
inline EOF_LOOP() {
	do
	:: e < NE ->
		d_step {
			ENTRY_IN();
			dm = pdone   /* ghost: who was done when the table was read */
		}
	:: else -> break
	od;
	atomic { d_step { e = 0; L = 0; eof = eof && !live; live = 0 } }
}
inline CATTACH_IN() {
#ifdef MUT_CONSUMER_ATTACH_STORE
	SCSTORE_IN(me, A_CLEASE, LEASE(ATTACHED, MYPID)); ok = 1;
#else
	CAS_IN(me, A_CLEASE, L, LEASE(ATTACHED, MYPID), ok);
#endif
	printf("C%d: CAS the consumer lease from (state %d, pid %d): ok %d\n", me, LSTATE(L), LPID(L), ok);
	if
	:: ok -> FAIL_IF(two_consumers, cholder != 0 && !dead[cholder]); cholder = MYPID
	:: else -> skip
	fi
}
inline CATTACH() { d_step { CATTACH_IN() } }

proctype consumer(byte me) {
	short L, h, cur, ct, w, v, tw, tT, rr;
	byte n, nb, nr, e, dm;
	bit ok, timer, eof, live, fin;

	/* ---- attach (section 8) ---- */
	do
	:: d_step {
		LOAD_IN(me, A_CLEASE, L);
#ifndef MUT_CONSUMER_ATTACH_STORE
		/* load, judge, CAS from what was loaded: one step (the CAS checks
		 * the lease again; a lost race is judged again) */
		if
		:: LSTATE(L) == ATTACHED && !dead[LPID(L)] -> ok = 0
		:: else -> CATTACH_IN()
		fi
#endif
	   };
		if
		:: ok -> break
		:: LSTATE(L) == ATTACHED && !dead[LPID(L)] ->
			/* ErrConsumerBusy; a supervisor starts us again once that consumer is gone */
end_busy:		(dead[LPID(L)] || mem[A_CLEASE] != L)
		:: else ->
#ifdef MUT_CONSUMER_ATTACH_STORE
			/* mutation: a plain store of the lease after judging it */
			CATTACH();
			if
			:: ok -> break
			:: else -> skip
			fi
#else
			skip   /* lost the race: judge again */
#endif
		fi
	od;
	CDIE_ATTACHED_PT

	/* ---- finish a dead predecessor's release (7.2) ----
	 * loads, then buffered stores (and writes nobody reads while we live):
	 * one step */
	atomic {
		d_step {
			LOAD_IN(me, A_HEAD, h);
#ifdef MUT_V1_RELEASE
			LOAD_IN(me, A_READREC, rr);
			v = h
#else
			LOAD_IN(me, A_RELING, v);
			printf("C%d: head %d, releasing %d\n", me, h, v);
			if
			:: v != h ->
				/* 7.2: releasing - head <= tail - head, and the records
				 * counted are at most one per 16 bytes (2 words) */
				LOAD_IN(me, A_TAIL, ct);
				FAIL_IF(corrupt_word, v - h < 0 || v - h > ct - h);
				LOAD_IN(me, A_READREC, rr);
				LOAD_IN(me, A_RELREC, ct);
				FAIL_IF(corrupt_word, ct - rr < 0 || ct - rr > (v - h) / 2);
				rr = ct;
				mem[A_READREC] = rr;
				ct = 0
			:: else ->
				LOAD_IN(me, A_READREC, rr)
			fi
#endif
		};
		if
		:: v != h ->
			RELEASE_SPAN(me, h, v);
			h = v
		:: else -> skip
		fi;
		d_step { cur = h; ct = 0; v = 0; L = 0; ok = 0 }
	};

	/* ---- read (7.1) ---- */
read:
	if
	:: cur - h >= C -> goto release   /* read-ahead stops at head + capacity */
	:: else -> skip
	fi;
	/* load the word at the cursor, validate it, read the record: one step
	 * (a tail reloaded in the same step is no later than one reloaded
	 * after it, and tail only grows: no validation failure is missed) */
	d_step {
		LOAD_IN(me, OFF(cur), w);
		printf("C%d: word at %d: kind %d len %d (lap %d owner %d)\n", me, cur, KIND(w), LEN(w), LAP(w), OWNER(w));
		if
		:: KIND(w) == K_COMMITTED ->
			n = LEN(w);
			FAIL_IF(corrupt_word, n < 1 || n > MAXN || OWNER(w) != 0 || LAP(w) != 0 || OFF(cur) + 1 + n > C);
			TAILCHECK_IN(1 + n);
			LOAD_IN(me, OFF(cur) + 1, v);
			FAIL_IF(read_before_commit, KIND(v) != K_DATA || RECOF(v) >= NR);
			if
			:: n == 2 -> LOAD_IN(me, OFF(cur) + 2, _w); FAIL_IF(read_before_commit, _w != v); _w = 0
			:: else -> skip
			fi;
			printf("C%d: delivers record %d, sequence number %d\n", me, RECOF(v), rr + nb);
			ACCEPT(RECOF(v), rr + nb);
			nb++; nr++;
			cur = cur + 1 + n;
			ok = 1
		:: ISSKIP(KIND(w)) ->
			n = LEN(w);
			FAIL_IF(corrupt_word, n < 1 || OWNER(w) != 0 || LAP(w) != 0 || OFF(cur) + n > C ||
				(KIND(w) == K_PADDING && OFF(cur) + n != C) ||
				(KIND(w) == K_ABORTED && n > 1 + MAXN));
			TAILCHECK_IN(n);
			cur = cur + n; nr++;
			ok = 1
		:: w == 0 ->
			ok = 0
		:: KIND(w) == K_CLAIMED ->
			/* a CLAIMED word is validated when first seen (7.1) */
			n = LEN(w);
			FAIL_IF(corrupt_word, n < 1 || n > MAXN || LAP(w) != LAPOF(cur) || OWNERBAD(w) ||
				OFF(cur) + 1 + n > C);
#ifndef CLAIMED_NO_TAILCHECK
			TAILCHECK_IN(1 + n);
#endif
			ok = 0
		:: else -> FAIL_IF(corrupt_word, 1)
		fi;
		n = 0; v = 0;
		if
		:: ok -> w = 0   /* w is kept only for a reservation at head */
		:: else -> skip
		fi
	};
	if
	:: ok -> ok = 0; CDIE_READ_PT skip
	:: else ->
		if
		:: cur != h -> goto release
		:: else -> goto idle
		fi
	fi;
	/* read more before releasing, or release now */
	if
	:: nr < MAXBATCH && cur - h < C -> goto read
	:: goto release
	fi;

	/* ---- release (7.2) ---- */
release:
	/* writes nobody reads while we live, then buffered stores: one step,
	 * cut where the consumer may die */
	atomic {
#ifndef MUT_V1_RELEASE
		d_step { mem[A_RELREC] = rr + nb; mem[A_RELING] = cur; printf("C%d: releasing [%d, %d): releasing_records %d, releasing %d\n", me, h, cur, rr + nb, cur) }
		CCUT_RELEASING
#endif
#if defined(MUT_HEAD_RELAXED)
		/* mutation: head as a plain store, apart from the zeros */
		ZERO(h, cur);
		d_step { mem[A_READREC] = rr + nb };
		STORE(me, A_HEAD, cur, 0);
#elif defined(MUT_COUNT_AFTER_HEAD)
		/* mutation: read_records stored after head */
		RELEASE_SPAN(me, h, cur)
		CCUT_COUNTED
		d_step { mem[A_READREC] = rr + nb };
#else
		/* 7.2 orders zeros, read_records, head. read_records goes straight
		 * to memory (nobody reads it while we live), so the model stores it
		 * before it issues the zeros and head, which leave the buffer in
		 * that order; a death between the header word's zero and the rest
		 * is a cut of its own. */
#if CDIE & (1 << CDIE_ZEROING)
		STORE(me, OFF(h), 0, 0)   /* the header word first */
		CCUT_ZEROING
		d_step { mem[A_READREC] = rr + nb }
		CCUT_COUNTED
		RELEASE_SPAN(me, h + 1, cur);
#else
		d_step { mem[A_READREC] = rr + nb }
		CCUT_COUNTED
		RELEASE_SPAN(me, h, cur);
#endif
#endif
		d_step { printf("C%d: zeros [%d, %d), read_records = %d, head = %d (buffered)\n", me, h, cur, rr + nb, cur); rr = rr + nb; nb = 0; nr = 0; h = cur; timer = 0; tw = 0; tT = 0 }
	};
	goto read;

	/* ---- nothing to read at head ---- */
idle:
	atomic { EOF_INIT() };
#ifdef MUT_EOF_TAIL_FIRST
	/* mutation: tail loaded before the table */
	d_step { LOAD_IN(me, A_TAIL, ct); FAIL_IF(corrupt_word, ct - h > C); assert(ct - cur >= 0) };
#endif
#ifdef EOF_ALWAYS
	EOF_LOOP();
#else
	if
	:: fin -> EOF_LOOP()
	:: else -> skip
	fi;
#endif
#ifndef MUT_EOF_TAIL_FIRST
	d_step { LOAD_IN(me, A_TAIL, ct); FAIL_IF(corrupt_word, ct - h > C); assert(ct - cur >= 0) };
#endif
	if
	:: ct == cur && eof -> d_step { EOF_CHECK(dm); dm = 0 }
	:: else -> dm = 0
	fi;
	if
	:: ct == cur && eof && fin -> d_step { printf("C%d: end of stream\n", me); FINAL_CHECK(me); RESET_C() }; goto done
	:: ct == cur && !(eof && fin) -> goto park
	:: ct != cur -> skip
#ifdef CDETACH
	/* the first consumer leaves when it has nothing to read: Close
	 * (DETACHED), or CloseRing (CLOSED); the next consumer attaches */
	:: ct == cur && me == 0 && NCONS > 1 && cdeaths == 0 ->
		d_step {
			CAS_IN(me, A_CLEASE, LEASE(ATTACHED, MYPID), LEASE(DETACHED, MYPID), ok); assert(ok);
			printf("C%d: detaches (Close)\n", me); cholder = 0; RESET_C()
		};
		goto done
	:: ct == cur && me == 0 && NCONS > 1 && cdeaths == 0 ->
		d_step {
			CAS_IN(me, A_CLEASE, LEASE(ATTACHED, MYPID), LEASE(CLOSED, MYPID), ok); assert(ok);
			printf("C%d: closes the ring for good (CloseRing)\n", me); cholder = 0; RESET_C()
		};
		goto done
#endif
	fi;

	/* ---- a reservation at head not committed (section 9) ---- */
	if
	:: !timer || tw != w -> d_step { timer = 1; tw = w; tT = ct; printf("C%d: timeout starts for word %d at %d (tail %d)\n", me, w, cur, ct) }
	:: else -> skip
	fi;
	if
	:: EXPIRED(tT) -> goto recover
	:: goto park
	fi;

recover:
	atomic { LOAD(me, OFF(cur), w) };
	if
	:: w != tw -> d_step { timer = 0; tw = 0; tT = 0 }; goto read
	:: else -> skip
	fi;
#ifndef MPSC
	/* SPSC: the owner is gone when entry 0 is not held, or is held but
	 * head - since >= 2^63 (the holder attached after the claim). Loads:
	 * lease, since, lease again; two different leases are judged later,
	 * and until then the owner counts as alive. Never recover then. */
	LOAD(me, A_LEASE(0), L);
	if
	:: LSTATE(L) == ATTACHED && !dead[LPID(L)] ->
		LOAD(me, A_SINCE(0), v);
#ifndef MUT_NO_LEASE_REREAD
		LOAD(me, A_LEASE(0), e);
#else
		e = L;
#endif
		if
#ifndef MUT_SPSC_RECOVER_LIVE
		:: e != L || cur - v >= 0 ->
			(mem[A_LEASE(0)] != L || dead[LPID(L)] || mem[A_SINCE(0)] != v || mem[OFF(cur)] != w);
			d_step { L = 0; v = 0; e = 0 };
			goto read
#endif
		:: else -> e = 0
		fi
	:: else -> skip
	fi;
#endif
	d_step {
		if
		:: w == 0 ->
			/* reserved, not stamped: up to the first non-zero word, the
			 * wrap point, or the tail seen when the timeout started */
			n = 1;
			do
#ifdef MUT_SCAN_UNBOUNDED
			:: OFF(cur) + n < C ->
#else
			:: cur + n < tT && OFF(cur) + n < C ->
#endif
				LOAD_IN(me, OFF(cur) + n, _w);
				if
				:: _w == 0 -> n++
				:: else -> break
				fi
			:: else -> break
			od;
			_w = 0
		:: else ->
			n = 1 + LEN(w);
#ifdef CLAIMED_NO_TAILCHECK
			/* the claim's tail check, made here rather than when the
			 * CLAIMED word was first seen: against the tail seen when the
			 * timeout started (tail was past head then, so past the claim) */
			FAIL_IF(corrupt_word, cur + n > tT)
#endif
		fi;
#ifdef MUT_RECOVER_STORE
		SCSTORE_IN(me, OFF(cur), UNBLOCKED(n)); ok = 1;
#else
		CAS_IN(me, OFF(cur), w, UNBLOCKED(n), ok);
#endif
		printf("C%d: recovers [%d, %d): CAS from %d: ok %d\n", me, cur, cur + n, w, ok);
		if
		:: ok -> DISCARD(cur, n)
		:: else -> skip
		fi;
		timer = 0; tw = 0; tT = 0; n = 0; v = 0; L = 0; ok = 0; w = 0
	};
	goto read;

	/* ---- park (7.3) ---- */
	/* consumer_wait = 1 (seq_cst), then membarrier: one step, since
	 * membarrier is a full barrier on every registered party, as if each
	 * had run one right after the store */
park:
#if defined(MEMBAR) && !defined(MUT_NO_MEMBARRIER)
	if
	:: atomic { d_step { SCSTORE_IN(me, A_CWAIT, 1); MEMBARRIER_IN(); printf("C%d: consumer_wait = 1 (seq_cst), membarrier\n", me) } }
#ifdef MBFAIL
	:: atomic { d_step { SCSTORE_IN(me, A_CWAIT, 1); bounded = 1; printf("C%d: consumer_wait = 1 (seq_cst), membarrier FAILS: waits 1 ms at most\n", me) } }
#endif
	fi;
#else
	atomic { d_step { SCSTORE_IN(me, A_CWAIT, 1); printf("C%d: consumer_wait = 1 (seq_cst)\n", me) } };
#endif
	/* the re-check: the word at the cursor, and the end of the stream (a
	 * producer that detached before our store of 1 saw 0 and did not wake
	 * us). Its loads are one step: each comes after our store of 1, so a
	 * producer acting between two of them sees 1 and wakes us anyway. */
	d_step {
		LOAD_IN(me, OFF(cur), w);
		ok = (w != 0 && KIND(w) != K_CLAIMED);
#ifndef MUT_RECHECK_WORD_ONLY
		eof = 0; live = 0; e = 0;
		do
		:: e < NE -> ENTRY_IN()
		:: else -> break
		od;
		LOAD_IN(me, A_TAIL, ct);
		ok = ok || (eof && !live && ct == cur);
		printf("C%d: re-check: word at %d kind %d, end %d\n", me, cur, KIND(w), ok);
		e = 0; L = 0; eof = 0; live = 0; ct = 0;
#endif
		w = 0
	};
	if
	:: ok -> ok = 0; goto unpark
	:: else -> skip
	fi;
	/* FUTEX_WAIT(consumer_wait, 1) */
	d_step {
		if
		:: mem[A_CWAIT] == 1 -> parked = 1; ccur = OFF(cur); printf("C%d: FUTEX_WAIT sleeps\n", me)
		:: else -> printf("C%d: FUTEX_WAIT returns at once (consumer_wait is 0)\n", me)
		fi;
		WAKEUP_CHECK()
	};
	/* FUTEX_WAIT returns (woken, EAGAIN, or the timeout), and the consumer
	 * stores consumer_wait = 0. That store only spares producers a system
	 * call; when it becomes visible matters to nobody, so it is written
	 * straight to memory with the return. */
	if
	:: d_step { !parked -> mem[A_CWAIT] = 0; bounded = 0; ccur = 0 }
	:: d_step { parked && (pdeaths > 0 || bounded) -> parked = 0; mem[A_CWAIT] = 0; bounded = 0; ccur = 0 }
	:: CDIE_OK(CDIE_PARKED) -> CDEATH(); goto cgone
	fi;
	goto read;
unpark:
	atomic { d_step { mem[A_CWAIT] = 0; bounded = 0; ccur = 0; fin = 0 } };
	goto read;

done:
	skip;
cgone:
	skip
}
