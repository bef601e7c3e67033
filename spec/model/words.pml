/*
 * Record header words (spec section 4) and party leases (section 8),
 * encoded in small integers. Lengths are in words, not bytes.
 */

#define K_EMPTY     0
#define K_CLAIMED   1
#define K_COMMITTED 2
#define K_PADDING   3          /* spec 0x81 */
#define K_ABORTED   4          /* spec 0x82 */
#define K_UNBLOCKED 5          /* spec 0x83 */
#define K_DATA      7          /* a payload word: never a header; a consumer that takes it for one has lost its place */

/* kind 3 bits | owner 3 bits | lap 3 bits | len 4 bits */
#define WORD(k, own, lap, len) ((k) * 1024 + (own) * 128 + (lap) * 16 + (len))
#define KIND(w)  ((w) / 1024)
#define OWNER(w) (((w) / 128) % 8)
#define LAP(w)   (((w) / 16) % 8)
#define LEN(w)   ((w) % 16)
#define ISSKIP(k) ((k) >= K_PADDING && (k) <= K_UNBLOCKED)

#define OFF(pos)   ((pos) % C)         /* position & (capacity - 1) */
#define LAPOF(pos) (((pos) / C) % 8)   /* the spec keeps 16 bits; 3 are more laps than a run makes */
#define STAMP(own, pos, n) WORD(K_CLAIMED, own, LAPOF(pos), n)
#define COMMITTED(n)  WORD(K_COMMITTED, 0, 0, n)
#define ABORTED(size) WORD(K_ABORTED, 0, 0, size)
#define PADDING(size) WORD(K_PADDING, 0, 0, size)
#define UNBLOCKED(size) WORD(K_UNBLOCKED, 0, 0, size)

/* a payload word of record r holds r + 1, so the consumer knows what it read */
#define DATA(r)  (K_DATA * 1024 + (r) + 1)
#define RECOF(v) ((v) % 1024 - 1)
#define PLEN(r)  (1 + ((LONGREC >> (r)) & 1))

/* lease: state and pid in one word; the pid stands for pid + start time */
#define FREE     0
#define ATTACHED 1
#define DETACHED 2
#define CLOSED   3
#define LEASE(st, pid) ((st) * 16 + (pid))
#define LSTATE(l) ((l) / 16)
#define LPID(l)   ((l) % 16)

/* shared memory: the ring's words, then the header fields the protocol uses */
#define A_TAIL    (C)
#define A_HEAD    (C + 1)
#define A_RELING  (C + 2)      /* releasing */
#define A_RELREC  (C + 3)      /* releasing_records */
#define A_READREC (C + 4)      /* read_records */
#define A_CWAIT   (C + 5)      /* consumer_wait */
#define A_CLEASE  (C + 6)      /* the consumer's lease */
#define A_LEASE(e) (C + 7 + (e))       /* producer entry e's lease */
#define A_SINCE(e) (C + 7 + NE + (e))  /* producer entry e's since */
#define NADDR (C + 7 + 2 * NE)
