/*
 * Shared memory with one store buffer per party.
 *
 * A plain or release store goes into the storing party's buffer; the
 * drainer process moves buffered stores to memory, one at a time, at any
 * moment. A party's load sees its own newest buffered store to that word,
 * else memory (store forwarding). Loads are never reordered with each
 * other (every load the spec names is an acquire load, or follows one).
 *
 * x86-TSO (default): buffers drain in FIFO order.
 * ARM (-DARM): any buffered store may drain first, except that a release
 * store drains only when it is the oldest (everything before it is
 * visible), and two stores to one word drain in program order.
 *
 * A sequentially consistent store, a compare-and-swap and an exchange
 * drain the party's own buffer first and then act on memory at once (a
 * full barrier, as LOCK-prefixed instructions are on x86; on arm64 the
 * model is stronger than the hardware here). membarrier drains the buffer
 * of every registered producer.
 *
 * A buffer entry writes cnt consecutive words: a record's stamp and
 * payload, or some zeros. Nobody but its writer can observe such a span
 * half written (a payload only after the commit that orders it, or at
 * recovery, which the timeout puts long after), so one step writes it all.
 * A release entry (cnt 0) is a consumer's release: the zeros of
 * [v2, v) and then the release store head = v. Producers read those words
 * only after they see the new head, and the zeros may not become visible
 * after it (FIFO on x86, release on arm64), so the two are one step too;
 * -DMUT_HEAD_RELAXED splits them to show that the order matters.
 *
 * A party that dies has its buffer drained first: the kernel's exit path
 * is ordered after every store the process made, and the dead are only
 * seen dead (kill(pid, 0), /proc) after it.
 */

short mem[NADDR];

typedef Buffer {
	byte n;          /* entries in use, oldest first */
	byte a[SB];      /* first word written */
	short v[SB];     /* its value */
	short v2[SB];    /* the value of the words after it */
	byte cnt[SB];    /* words written */
	bit rel[SB]     /* a release store */
};
Buffer sb[NPARTY];

/* scratch for d_step loops; hidden, so not part of the state */
hidden byte _i, _j, _k, _l, _m;
hidden short _w;

#define INRANGE(x, a, cnt) ((x) >= (a) && (x) < (a) + (cnt))

/* for trails: a buffered store of party p becomes visible */
inline SAY_VISIBLE(p, i) {
	if
	:: sb[p].cnt[i] == 0 -> printf("      [party %d: zeros [%d, %d) and head = %d become visible]\n", p, sb[p].v2[i], sb[p].v[i], sb[p].v[i])
	:: sb[p].cnt[i] > 0 && sb[p].a[i] < C && sb[p].v[i] == 0 -> printf("      [party %d: zeros at offset %d (%d words) become visible]\n", p, sb[p].a[i], sb[p].cnt[i])
	:: sb[p].cnt[i] > 0 && sb[p].a[i] < C && sb[p].v[i] != 0 -> printf("      [party %d: word at offset %d (kind %d, len %d) becomes visible]\n", p, sb[p].a[i], KIND(sb[p].v[i]), LEN(sb[p].v[i]))
	:: sb[p].cnt[i] > 0 && sb[p].a[i] == A_TAIL -> printf("      [party %d: tail = %d becomes visible]\n", p, sb[p].v[i])
	:: sb[p].cnt[i] > 0 && sb[p].a[i] == A_HEAD -> printf("      [party %d: head = %d becomes visible]\n", p, sb[p].v[i])
	:: sb[p].cnt[i] > 0 && sb[p].a[i] >= C + 7 + NE -> printf("      [party %d: since = %d becomes visible]\n", p, sb[p].v[i])
	:: sb[p].cnt[i] > 0 && sb[p].a[i] > A_HEAD && sb[p].a[i] < C + 7 + NE -> printf("      [party %d: header word %d = %d becomes visible]\n", p, sb[p].a[i], sb[p].v[i])
	fi
}

/* zero the ring words [from, to), which may cross the wrap point */
inline ZERO_MEM(from, to) {
	_j = 0;
	do
	:: (from) + _j < (to) -> mem[OFF((from) + _j)] = 0; _j++
	:: else -> break
	od;
	_j = 0
}

inline WRITE_MEM(a0, val, val2, n0) {
	mem[a0] = (val);
	_j = 1;
	do
	:: _j < (n0) -> mem[(a0) + _j] = (val2); _j++
	:: else -> break
	od;
	_j = 0
}

/* dst = the word at addr as party me sees it */
inline LOAD_IN(me, addr, dst) {
	dst = mem[addr];
	_l = 0;
	do
	:: _l < sb[me].n ->
		if
		:: (addr) == sb[me].a[_l] -> dst = sb[me].v[_l]
		:: sb[me].cnt[_l] == 0 && (addr) < C && ((addr) - OFF(sb[me].v2[_l]) + C) % C < sb[me].v[_l] - sb[me].v2[_l] -> dst = 0
		:: INRANGE(addr, sb[me].a[_l] + 1, sb[me].cnt[_l] - 1) -> dst = sb[me].v2[_l]
		:: else -> skip
		fi;
		_l++
	:: else -> break
	od;
	_l = 0
}
inline LOAD(me, addr, dst) { d_step { LOAD_IN(me, addr, dst) } }

inline PUT_IN(me, addr, val, val2, n0, isrel) {
	sb[me].a[sb[me].n] = addr;
	sb[me].v[sb[me].n] = val;
	sb[me].v2[sb[me].n] = val2;
	sb[me].cnt[sb[me].n] = n0;
	sb[me].rel[sb[me].n] = isrel;
	sb[me].n++
}

/* a plain (isrel 0) or release (isrel 1) store of val to addr, and of val2
 * to the n0 - 1 words after it */
inline STORE2(me, addr, val, val2, n0, isrel) {
#ifdef SC
	d_step { WRITE_MEM(addr, val, val2, n0) }
#else
	d_step { sb[me].n < SB -> PUT_IN(me, addr, val, val2, n0, isrel) }
#endif
}
inline STORE_N(me, addr, val, n0, isrel) { STORE2(me, addr, val, val, n0, isrel) }

/* a consumer's release: zero [from, to), then store head = to (release) */
inline RELEASE_SPAN(me, from, to) {
#ifdef SC
	d_step { ZERO_MEM(from, to); mem[A_HEAD] = to }
#else
	d_step { sb[me].n < SB -> PUT_IN(me, A_HEAD, to, from, 0, 1) }
#endif
}
inline STORE(me, addr, val, isrel) { STORE2(me, addr, val, val, 1, isrel) }

/* entry i of party p to memory */
inline DRAIN_AT(p, i) {
	SAY_VISIBLE(p, i);
	if
	:: sb[p].cnt[i] == 0 -> ZERO_MEM(sb[p].v2[i], sb[p].v[i]); mem[A_HEAD] = sb[p].v[i]
	:: else -> WRITE_MEM(sb[p].a[i], sb[p].v[i], sb[p].v2[i], sb[p].cnt[i])
	fi;
	_k = i;
	do
	:: _k + 1 < sb[p].n ->
		sb[p].a[_k] = sb[p].a[_k + 1];
		sb[p].v[_k] = sb[p].v[_k + 1];
		sb[p].v2[_k] = sb[p].v2[_k + 1];
		sb[p].cnt[_k] = sb[p].cnt[_k + 1];
		sb[p].rel[_k] = sb[p].rel[_k + 1];
		_k++
	:: else -> break
	od;
	sb[p].a[_k] = 0; sb[p].v[_k] = 0; sb[p].v2[_k] = 0; sb[p].cnt[_k] = 0; sb[p].rel[_k] = 0;
	sb[p].n--;
	_k = 0
}

inline FLUSH_IN(me) {
	do
	:: sb[me].n > 0 -> DRAIN_AT(me, 0)
	:: else -> break
	od
}

/* sequentially consistent store */
inline SCSTORE_IN(me, addr, val) { FLUSH_IN(me); mem[addr] = val }
inline SCSTORE(me, addr, val) { d_step { SCSTORE_IN(me, addr, val) } }

/* compare-and-swap: ok = whether memory held old (and now holds new) */
inline CAS_IN(me, addr, old, new, ok) {
	FLUSH_IN(me);
	if
	:: mem[addr] == (old) -> mem[addr] = (new); ok = 1
	:: else -> ok = 0
	fi
}

/* membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED): a full barrier on every CPU
 * that runs a thread of a registered process: its buffered stores become
 * visible, and a load it made early (hoist, producer.pml) is made again */
bit hoist[NPROD];
inline MEMBARRIER_IN() {
	_m = 0;
	do
	:: _m < NPROD ->
		if
		:: (REG >> _m) & 1 -> FLUSH_IN(NCONS + _m); hoist[_m] = 0
		:: else -> skip
		fi;
		_m++
	:: else -> break
	od;
	_m = 0
}

/* whether entry i of party p may drain now */
/* the words an entry writes, for the ordering rule: a release entry counts
 * as head alone (no later store of its consumer touches its span) */
#define FOOT(p, i) (sb[p].cnt[i] == 0 -> 1 : sb[p].cnt[i])
#define NOOVER(p, i, j) (sb[p].a[j] + FOOT(p, j) <= sb[p].a[i] || sb[p].a[i] + FOOT(p, i) <= sb[p].a[j])
#define ELIG0(p) (sb[p].n > 0)
#define ELIG1(p) (sb[p].n > 1 && !sb[p].rel[1] && NOOVER(p, 1, 0))
#define ELIG2(p) (sb[p].n > 2 && !sb[p].rel[2] && NOOVER(p, 2, 0) && NOOVER(p, 2, 1))
#define ELIG3(p) (sb[p].n > 3 && !sb[p].rel[3] && NOOVER(p, 3, 0) && NOOVER(p, 3, 1) && NOOVER(p, 3, 2))
#define ELIG4(p) (sb[p].n > 4 && !sb[p].rel[4] && NOOVER(p, 4, 0) && NOOVER(p, 4, 1) && NOOVER(p, 4, 2) && NOOVER(p, 4, 3))
#define ELIG5(p) (sb[p].n > 5 && !sb[p].rel[5] && NOOVER(p, 5, 0) && NOOVER(p, 5, 1) && NOOVER(p, 5, 2) && NOOVER(p, 5, 3) && NOOVER(p, 5, 4))

#define DRAIN_OPT(p, i, ELIG) :: d_step { ELIG(p) -> DRAIN_AT(p, i); AFTER_DRAIN() }
#ifdef ARM
#if SB > 6
#error "ARM drains are written out for SB <= 6"
#endif
#if SB > 5
#define DRAINS(p) DRAIN_OPT(p, 0, ELIG0) DRAIN_OPT(p, 1, ELIG1) DRAIN_OPT(p, 2, ELIG2) DRAIN_OPT(p, 3, ELIG3) DRAIN_OPT(p, 4, ELIG4) DRAIN_OPT(p, 5, ELIG5)
#elif SB > 4
#define DRAINS(p) DRAIN_OPT(p, 0, ELIG0) DRAIN_OPT(p, 1, ELIG1) DRAIN_OPT(p, 2, ELIG2) DRAIN_OPT(p, 3, ELIG3) DRAIN_OPT(p, 4, ELIG4)
#elif SB > 3
#define DRAINS(p) DRAIN_OPT(p, 0, ELIG0) DRAIN_OPT(p, 1, ELIG1) DRAIN_OPT(p, 2, ELIG2) DRAIN_OPT(p, 3, ELIG3)
#elif SB > 2
#define DRAINS(p) DRAIN_OPT(p, 0, ELIG0) DRAIN_OPT(p, 1, ELIG1) DRAIN_OPT(p, 2, ELIG2)
#else
#define DRAINS(p) DRAIN_OPT(p, 0, ELIG0) DRAIN_OPT(p, 1, ELIG1)
#endif
#else
#define DRAINS(p) DRAIN_OPT(p, 0, ELIG0)
#endif

