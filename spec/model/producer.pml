/*
 * A producer process (spec sections 5, 7.3 and 8).
 * It attaches, writes NREC records (commits them, or aborts those in
 * ABORTREC, and ends a copy of each claim in COPYREC a second time), and
 * detaches. A producer in PDIE may die at the points in PDIEAT.
 *
 * Steps are as coarse as is sound: a load followed by stores that go into
 * the producer's own store buffer is one step (nobody sees a buffered
 * store until the drainer moves it, and the drainer may still move it at
 * any later moment); a store followed by a load never is.
 */

/* a check outside a d_step */
#define CHECK(check, cond) d_step { FAIL_IF(check, cond) }

/* How this producer commits: a release store (7.3: registered with
 * membarrier), or a sequentially consistent store (v1's rule). */
/* The stamp's order: release (spec 6), which keeps it from becoming
 * visible before the reservation on arm64; relaxed in the mutation
 * -DMUT_STAMP_RELAXED. */
#ifdef MUT_STAMP_RELAXED
#define STAMP_ORDER 0
#else
#define STAMP_ORDER 1
#endif

#if defined(MUT_COMMIT_PLAIN)
#define RELCOMMIT 1     /* mutation: a plain store without the barrier */
#elif defined(MEMBAR)
#define RELCOMMIT ((REG >> PI) & 1)
#else
#define RELCOMMIT 0
#endif

inline RESET_P() {
	own = 0; k = 0; r = 0; n = 0; pad = 0; ok = 0; wl = 0; hoist[PI] = 0;
	t = 0; hd = 0; L = 0; v = 0; w = 0; pos = 0; ev = 0; stamp = 0
}

inline PDIE_AT(point) {
	if
	:: ((PDIE >> PI) & 1) && pdeaths == 0 ->
		d_step {
			printf("P%d (pid %d) DIES (its stores become visible)\n", PI, MYPID);
			FLUSH_IN(me); dead[MYPID] = 1; pdeaths++; pend++; pdone = pdone | (1 << PI); RESET_P();
			WAKEUP_CHECK()
		};
		goto gone
	:: skip
	fi
}
/* a death point, compiled in only when configured: "DIE_X_PT stmt" */
#if PDIE && (PDIEAT & (1 << DIE_ATTACHED))
#define DIE_ATTACHED_PT PDIE_AT(DIE_ATTACHED);
#else
#define DIE_ATTACHED_PT
#endif
/* Inside an atomic step: "A CUT_X B" is "A; B" when no producer may die at
 * X, else "A }; <death point X>; atomic { B": the step is cut in two there. */
#if PDIE && (PDIEAT & (1 << DIE_RESERVED))
#define CUT_RESERVED }; PDIE_AT(DIE_RESERVED); atomic {
#else
#define CUT_RESERVED ;
#endif
#if PDIE && (PDIEAT & (1 << DIE_PADDED))
#define CUT_PADDED }; if :: pad > 0 -> PDIE_AT(DIE_PADDED) :: else -> skip fi; atomic {
#else
#define CUT_PADDED ;
#endif
#if PDIE && (PDIEAT & (1 << DIE_WRITTEN))
#define DIE_WRITTEN_PT PDIE_AT(DIE_WRITTEN);
#else
#define DIE_WRITTEN_PT
#endif
#if PDIE && (PDIEAT & (1 << DIE_ENDED))
#define DIE_ENDED_PT PDIE_AT(DIE_ENDED);
#else
#define DIE_ENDED_PT
#endif

/* Win table entry e by one CAS from the lease L seen there (section 8). */
inline TAKE(e, from, ok) { d_step { TAKE_IN(e, from, ok) } }
inline TAKE_IN(e, from, ok) {
	{
#ifdef MUT_TAKEOVER_STORE
		if
		:: LSTATE(from) == ATTACHED -> SCSTORE_IN(me, A_LEASE(e), LEASE(ATTACHED, MYPID)); ok = 1
		:: else -> CAS_IN(me, A_LEASE(e), from, LEASE(ATTACHED, MYPID), ok)
		fi;
#else
		CAS_IN(me, A_LEASE(e), from, LEASE(ATTACHED, MYPID), ok);
#endif
		printf("P%d: CAS entry %d's lease from (state %d, pid %d): ok %d\n", PI, e, LSTATE(from), LPID(from), ok);
		if
		:: ok -> FAIL_IF(two_entry_owners, eown[e] != 0 && !dead[eown[e]]); eown[e] = MYPID
		:: else -> skip
		fi
	}
}

inline OPEN(r, t, pad) {
	printf("P%d: reserves [%d, %d) for record %d (padding %d): tail = %d\n", PI, t, (t) + (pad) + 1 + n, r, pad, (t) + (pad) + 1 + n);
	rst[r] = R_OPEN; rpos[r] = (t) + (pad);
	phase[PI] = PH_RESERVED; rstart[PI] = t
}

/* the claim ended with ev: its commit or abort took effect */
inline ENDED(r, ev) {
	printf("P%d: ends record %d at %d with kind %d: took effect\n", PI, r, rpos[r], KIND(ev));
	FAIL_IF(late_commit, rst[r] != R_OPEN);
	if
	:: KIND(ev) == K_COMMITTED -> rst[r] = R_COMMITTED
	:: else -> rst[r] = R_ABORTED
	fi;
	phase[PI] = PH_IDLE;
	due[PI] = 1
}

/* the claim's stamp was gone: it must have been recovered (ErrDiscarded) */
inline LOST(r) {
	printf("P%d: ends record %d: its stamp is gone (discarded)\n", PI, r);
	FAIL_IF(stamp_overwritten, rst[r] != R_DISCARDED);
	phase[PI] = PH_IDLE
}

/* Commit or abort (ev) the claim at pos: 5.3, 5.4. ok: it took effect. */
inline END_CLAIM() {
#ifdef MPSC
#ifdef ARM
	/* arm64: the relaxed load of consumer_wait after a release
	 * compare-and-swap may be satisfied before the swap is visible. A
	 * membarrier that interrupts the producer between the two (in program
	 * order the load is after the swap) makes it load again (hoist). */
	if
	:: RELCOMMIT -> d_step { LOAD_IN(me, A_CWAIT, v); hoist[PI] = 1; printf("P%d: loads consumer_wait = %d early (arm64)\n", PI, v) }
	:: skip
	fi;
#endif
	d_step {
		CAS_IN(me, OFF(pos), stamp, ev, ok);
		if
		:: ok -> ENDED(r, ev); WAKE_LOAD_MERGED()
		:: else -> LOST(r); hoist[PI] = 0; v = 0
		fi
	}
#else
	/* SPSC: check, then store; only this producer ends its claims, and an
	 * SPSC claim is never recovered while its producer lives */
	if
	:: RELCOMMIT ->
		/* the load and a buffered store: one step */
		d_step {
			sb[me].n < SB;
			LOAD_IN(me, OFF(pos), w);
#ifdef MUT_SPSC_NOCHECK
			w = stamp;
#endif
			if
			:: w == stamp -> PUT_IN(me, OFF(pos), ev, ev, 1, 1); ENDED(r, ev); ok = 1; WAKE_LOAD_MERGED()
			:: else -> LOST(r); ok = 0
			fi;
			w = 0
		}
	:: else ->
		LOAD(me, OFF(pos), w);
#ifdef MUT_SPSC_NOCHECK
		w = stamp;
#endif
		if
		:: w == stamp -> d_step { SCSTORE_IN(me, OFF(pos), ev); ENDED(r, ev); ok = 1; w = 0; WAKE_LOAD_MERGED() }
		:: else -> d_step { LOST(r); ok = 0; w = 0 }
		fi
	fi
#endif
}

/* End a copy of the claim at pos again: it must not take effect. */
inline END_COPY() {
#ifdef MPSC
	d_step { CAS_IN(me, OFF(pos), stamp, ABORTED(1 + n), ok); FAIL_IF(copy_took_effect, ok) }
#else
	LOAD(me, OFF(pos), w);
#ifdef MUT_SPSC_NOCHECK
	w = stamp;
#endif
	if
	:: w == stamp -> d_step { SCSTORE_IN(me, OFF(pos), ABORTED(1 + n)); FAIL_IF(copy_took_effect, 1) }
	:: else -> skip
	fi;
	w = 0
#endif
}

/* 7.3: after a commit, abort or detach, wake a parked consumer. */
inline WAKE_LOAD_IN() {
	LOAD_IN(me, A_CWAIT, v);
	printf("P%d: loads consumer_wait = %d\n", PI, v);
	if
	:: v == 0 -> due[PI] = 0
	:: else -> skip
	fi;
	WAKEUP_CHECK()
}

/* The wake-up check's load right after a commit or detach that is a full
 * barrier (compare-and-swap, sequentially consistent store) or a buffered
 * store: one step with it (v, hoist). After a barrier nobody can tell a
 * load made at once from one made later but before anything else of
 * ours; after a buffered store the load still passes it. Not when the
 * producer may die between the two. */
#if PDIE && (PDIEAT & (1 << DIE_ENDED))
#define WAKE_MERGED (!((PDIE >> PI) & 1))
#else
#define WAKE_MERGED 1
#endif
inline WAKE_LOAD_MERGED() {
	if
	:: WAKE_MERGED && !hoist[PI] -> WAKE_LOAD_IN(); wl = 1
	:: else -> skip
	fi
}

inline WAKE_CHECK() {
	if
	:: wl -> wl = 0   /* loaded already, with the commit or detach */
	:: hoist[PI] -> d_step { hoist[PI] = 0; if :: v == 0 -> due[PI] = 0 :: else -> skip fi; WAKEUP_CHECK() }
	:: else -> d_step { WAKE_LOAD_IN() }
	fi;
	if
	:: v != 0 ->
		/* exchange to 0: of several producers that saw 1, one makes the
		 * call, FUTEX_WAKE, in the same step: a FUTEX_WAIT after the
		 * exchange returns at once, so only a consumer asleep before it
		 * can be woken, and a later wake-up would only keep it asleep
		 * longer */
		d_step {
			FLUSH_IN(me); v = mem[A_CWAIT]; mem[A_CWAIT] = 0;
			printf("P%d: exchanges consumer_wait to 0: was %d\n", PI, v);
			if
			:: v != 0 -> printf("P%d: FUTEX_WAKE (the consumer sleeps: %d)\n", PI, parked); parked = 0
			:: else -> skip
			fi;
			due[PI] = 0; v = 0;
			WAKEUP_CHECK()
		};
		skip
	:: else -> skip
	fi
}

/* Full: wait until the consumer gives space back, or closes the ring for
 * good (section 8: a producer waiting for space stops, "ring closed"). */
inline FULL_WAIT() {
#ifdef CDETACH
	(mem[A_HEAD] != hd || LSTATE(mem[A_CLEASE]) == CLOSED);
	d_step {
		LOAD_IN(me, A_CLEASE, L);
		if
		:: LSTATE(L) == CLOSED -> printf("P%d: ring closed: stops\n", PI); k = RECS(PI)
		:: else -> skip
		fi;
		L = 0; hd = 0
	};
	if
	:: k == RECS(PI) -> goto closed
	:: else -> goto claim
	fi
#else
	(mem[A_HEAD] != hd);
	hd = 0;
	goto claim
#endif
}

/* Detach: CAS from our own ATTACHED lease to DETACHED, then the wake-up
 * check (a parked consumer may have reached the end). */
inline DETACH() {
	if
	:: own > 0 ->
		d_step {
			CAS_IN(me, A_LEASE(own - 1), LEASE(ATTACHED, MYPID), LEASE(DETACHED, MYPID), ok);
			assert(ok);
			printf("P%d: detaches from entry %d\n", PI, own - 1);
			eown[own - 1] = 0;
			due[PI] = 1;
			pend++; pdone = pdone | (1 << PI);
			WAKE_LOAD_IN(); wl = 1;
			own = 0
		};
		WAKE_CHECK()
	:: else -> skip
	fi
}

proctype producer(byte me) {
	byte own, k, r, n, pad;
	short t, hd, L, v, w, pos, ev, stamp;
	bit ok, wl;

	/* ---- attach (section 8) ---- */
#ifdef MPSC
	/* the first entry that is FREE or DETACHED; else the first whose holder
	 * is gone; else anonymous (owner 0) */
	do
	:: k < NE ->
		/* load, judge, CAS from what was loaded: one step (the CAS checks
		 * the lease again; a lost race is judged again) */
		d_step {
			LOAD_IN(me, A_LEASE(k), L);
			if
			:: LSTATE(L) == FREE || LSTATE(L) == DETACHED -> TAKE_IN(k, L, ok)
			:: else -> ok = 0
			fi
		};
		if
		:: ok -> own = k + 1; break
		:: !ok && (LSTATE(L) == FREE || LSTATE(L) == DETACHED) -> skip   /* lost the race: judge the entry again */
		:: !ok && LSTATE(L) != FREE && LSTATE(L) != DETACHED -> k++
		fi
	:: else -> break
	od;
	if
	:: own == 0 ->
		k = 0;
		do
		:: k < NE ->
			LOAD(me, A_LEASE(k), L);
			if
			:: LSTATE(L) == ATTACHED && dead[LPID(L)] ->
				TAKE(k, L, ok);
				if
				:: ok -> own = k + 1; break
				:: else -> skip
				fi
			:: else -> k++
			fi
		:: else -> break
		od
	:: else -> skip
	fi;
	atomic { d_step { k = 0; L = 0; ok = 0 } };
#else
	/* SPSC: entry 0, one CAS from the lease seen; refused while a live
	 * process holds it */
	do
	:: LOAD(me, A_LEASE(0), L);
		if
		:: LSTATE(L) == ATTACHED && !dead[LPID(L)] ->
			/* ErrProducerBusy; a supervisor retries when that holder goes */
			(mem[A_LEASE(0)] != L || dead[LPID(L)])
		:: else ->
			TAKE(0, L, ok);
			if
			:: ok -> own = 1; break
			:: else -> skip
			fi
		fi
	od;
	/* since = tail: a load, then a buffered store */
	atomic { d_step { LOAD_IN(me, A_TAIL, t); L = 0; ok = 0 }; STORE(me, A_SINCE(0), t, 1) };
#endif
	DIE_ATTACHED_PT

	/* ---- records ---- */
	do
	:: k < RECS(PI) ->
		d_step { r = PI * NREC + k; n = PLEN(r) };
claim:
		/* 5.2 steps 1-4: tail, the wrap rule, space (5.1), reserve */
#ifdef MPSC
		atomic { d_step {
			LOAD_IN(me, A_TAIL, t);
			printf("P%d: loads tail = %d\n", PI, t);
			if
			:: OFF(t) + 1 + n > C -> pad = C - OFF(t)
			:: else -> pad = 0
			fi;
			assert(pad + 1 + n <= C)
		} };
		/* The model's producer always loads head (acquire): a cached head is
		 * older, and a check that passes with it passes with a fresh one. */
		d_step {
			LOAD_IN(me, A_HEAD, hd);
			printf("P%d: loads head = %d\n", PI, hd);
			/* 5.1: head and tail are checked before use: tail - head <= capacity
			 * (unsigned: a head past t fails too) */
			ok = (t - hd >= 0 && t - hd <= C && pad + 1 + n <= C - (t - hd));
#ifdef MUT_PRODUCER_CHECK_FIRST
			/* mutation: the check judges the pair as loaded, before asking
			 * whether t went stale */
			FAIL_IF(corrupt_word, t - hd < 0 || t - hd > C)
#endif
		};
		if
		:: !ok ->
			/* first: was t stale? (the consumer may even have passed it) */
			LOAD(me, A_TAIL, v);
			if
			:: v != t -> d_step { v = 0; hd = 0 }; goto claim
			:: else -> v = 0
			fi;
			/* t is current: a head it does not bound is corrupt */
			CHECK(corrupt_word, t - hd < 0 || t - hd > C);
			/* full: wait until the consumer gives space back */
			FULL_WAIT()
		:: else -> hd = 0
		fi;
		atomic {
			d_step {
				CAS_IN(me, A_TAIL, t, t + pad + 1 + n, ok);
				if
				:: ok -> OPEN(r, t, pad); pos = t + pad; stamp = STAMP(own, pos, n)
				:: else -> skip
				fi;
				t = 0
			};
			if
			:: !ok -> goto claim
			:: else -> skip
			fi
#else
		atomic {
			d_step {
				if
				:: OFF(t) + 1 + n > C -> pad = C - OFF(t)
				:: else -> pad = 0
				fi;
				assert(pad + 1 + n <= C);
				/* always a fresh head, as for MPSC; checked before use (5.1) */
				LOAD_IN(me, A_HEAD, hd);
				FAIL_IF(corrupt_word, t - hd < 0 || t - hd > C);
				ok = (pad + 1 + n <= C - (t - hd))
			};
			if
			:: !ok ->
				/* full: wait until the consumer gives space back */
				FULL_WAIT()
			:: else -> hd = 0
			fi;
			STORE(me, A_TAIL, t + pad + 1 + n, 1);
			d_step { OPEN(r, t, pad); pos = t + pad; t = t + pad + 1 + n; stamp = STAMP(own, pos, n) }
#endif
			CUT_RESERVED
			/* step 5, padding */
			if
			:: pad > 0 -> STORE(me, OFF(pos - pad), PADDING(pad), 1)
			:: else -> skip
			fi
			CUT_PADDED
			/* steps 6 and 7: the stamp, then the payload: nothing before the stamp */
#ifdef MUT_PAYLOAD_FIRST
			STORE_N(me, OFF(pos) + 1, DATA(r), n, 0)
		};
		if
		:: (PDIE >> PI) & 1 -> PDIE_AT(DIE_PADDED)
		:: else -> skip
		fi;
		atomic {
			STORE(me, OFF(pos), stamp, 0);
#else
			STORE2(me, OFF(pos), stamp, DATA(r), 1 + n, STAMP_ORDER);
#endif
			d_step { phase[PI] = PH_WRITTEN; printf("P%d: stamps and writes record %d at %d (buffered)\n", PI, r, pos) }
		};
		DIE_WRITTEN_PT
#ifdef MUT_DETACH_OPEN
		/* mutation: an SPSC producer detaches with its last claim open */
		if
		:: k + 1 == RECS(PI) -> DETACH()
		:: else -> skip
		fi;
#endif
		/* commit or abort */
		d_step {
			if
			:: (ABORTREC >> r) & 1 -> ev = ABORTED(1 + n)
			:: else -> ev = COMMITTED(n)
			fi
		};
		END_CLAIM();
		if
		:: ok ->
			DIE_ENDED_PT
			WAKE_CHECK()
		:: else -> skip
		fi;
		if
		:: (COPYREC >> r) & 1 -> END_COPY()
		:: else -> skip
		fi;
		d_step { k++; ok = 0; v = 0; w = 0; ev = 0; stamp = 0; pos = 0; pad = 0; r = 0; n = 0 }
	:: else -> break
	od;

	/* ---- detach (section 8): no claim is open here ---- */
closed:
	if
	:: own > 0 -> DETACH()
	:: own == 0 && !((pdone >> PI) & 1) -> d_step { pend++; pdone = pdone | (1 << PI) }   /* anonymous */
	:: own == 0 && ((pdone >> PI) & 1) -> skip   /* detached already (a mutation) */
	fi;
	d_step { RESET_P() };
gone:
	skip
}
