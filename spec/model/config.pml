/*
 * Configuration of the logbuf model. check.sh chooses these with -D flags;
 * each default is the smallest useful value. Sizes are in words (8 bytes):
 * the model's ring holds C words, a record is its header word and 1 or 2
 * payload words.
 *
 * Mode and memory:
 *   -DMPSC          MPSC ring (default SPSC)
 *   -DARM           stores of one party may become visible out of order,
 *                   except that a release store waits for every earlier
 *                   store (default: x86-TSO, one FIFO store buffer each)
 *   -DSC            no store buffers at all (debugging only)
 *   -DMEMBAR        wake-up with membarrier (7.3): producers registered
 *                   in REG commit with a release store; the consumer runs
 *                   membarrier before its re-check. Default: v1's rule,
 *                   every commit sequentially consistent.
 *   -DMBFAIL        the consumer's membarrier call may fail (it then waits
 *                   at most 1 ms per futex wait)
 *   -DCDETACH       the first consumer may detach (Close) or close the ring
 *                   for good (CloseRing) when it has nothing to read; the
 *                   next one attaches after it
 *   -DCLAIMED_NO_TAILCHECK a CLAIMED word is not checked against tail when
 *                   seen, only at recovery: the other way out of the
 *                   relaxed-stamp finding (README), not the spec's
 *   -DEOF_ALWAYS    the consumer judges the end of the stream every time it
 *                   finds nothing to read, and early_eof checks each verdict
 *                   (else only when every producer is done: cheaper)
 */

#ifndef C
#define C 8            /* ring capacity in words; a power of two */
#endif
#ifndef START
#define START 0        /* initial head and tail: a start near the end wraps sooner */
#endif
#ifndef NCONS
#define NCONS 1        /* consumer processes; the first may die (CDIE), the others replace it */
#endif
#ifndef NPROD
#define NPROD 1        /* producer processes (SPSC: successive holders of entry 0) */
#endif
#ifndef NE
#define NE 1           /* producer table entries (the spec has 32) */
#endif
#ifndef NREC
#define NREC 2         /* records a producer writes, at most */
#endif
#ifdef PRECS            /* decimal digit p (from the right): records producer p writes */
#define RECS(p) ((p) == 0 -> PRECS % 10 : ((p) == 1 -> PRECS / 10 % 10 : PRECS / 100 % 10))
#else
#define RECS(p) NREC
#endif
#ifndef LONGREC
#define LONGREC 0      /* bit r: record r has 2 payload words (r = producer * NREC + k) */
#endif
#ifndef ABORTREC
#define ABORTREC 0     /* bit r: record r is aborted instead of committed */
#endif
#ifndef COPYREC
#define COPYREC 0      /* bit r: a copy of record r's claim is ended a second time */
#endif
#ifndef PDIE
#define PDIE 0         /* bit p: producer p may die (at most one producer dies) */
#endif
#ifndef PDIEAT
#define PDIEAT 31      /* bit i: producers may die at point i (DIE_* below) */
#endif
#ifndef CDIE
#define CDIE 0         /* bit i: the first consumer may die at point i (CDIE_* below) */
#endif
#ifndef REG
#define REG 7          /* MEMBAR: bit p: producer p registered with membarrier */
#endif
#ifndef SB
#define SB 4           /* store buffer entries per party; a full buffer stalls the store */
#endif
#ifndef MAXBATCH
#define MAXBATCH 1     /* records (skips included) the consumer reads before one release */
#endif

#define MAXN 2         /* payload words of the longest record */
#define NR (NPROD * NREC)
#define NPARTY (NCONS + NPROD)
#define NPID (NPARTY + 1)      /* pids 1..NPARTY; 0 is "nobody" */

/* parties: consumers 0..NCONS-1, producers NCONS..; a party's pid is its index + 1 */
#define MYPID (me + 1)
#define PI (me - NCONS)        /* a producer's index */
#define PID_P(p) (NCONS + (p) + 1)
#define PARTY_P(p) (NCONS + (p))

/* producer death points (PDIEAT bits) */
#define DIE_ATTACHED 0         /* holding its entry, no claim open */
#define DIE_RESERVED 1         /* reserved, nothing written */
#define DIE_PADDED   2         /* padding word written, record not stamped */
#define DIE_WRITTEN  3         /* stamped and written, not committed */
#define DIE_ENDED    4         /* committed or aborted, wake-up check not done */

/* consumer death points (CDIE bits) */
#define CDIE_ATTACHED  0       /* attached, before finishing a predecessor's release */
#define CDIE_READ      1       /* read a record, not released it */
#define CDIE_RELEASING 2       /* releasing stored, nothing zeroed */
#define CDIE_ZEROING   3       /* header word zeroed, payload not */
#define CDIE_COUNTED   4       /* read_records stored, head not */
#define CDIE_PARKED    5       /* in FUTEX_WAIT */
