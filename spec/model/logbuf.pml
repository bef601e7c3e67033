/*
 * logbuf ring protocol v2, a model for SPIN: see README.md in this
 * directory. Configurations and mutations are chosen with -D flags
 * (config.pml); check.sh runs them all.
 */
#include "config.pml"
#include "words.pml"
#include "memory.pml"
#include "ghost.pml"
#include "drainer.pml"
#include "producer.pml"
#include "consumer.pml"

init {
	atomic {
		mem[A_TAIL] = START;
		mem[A_HEAD] = START;
		mem[A_RELING] = START;
		do
		:: _i < NCONS -> run consumer(_i); _i++
		:: _i >= NCONS && _i < NPARTY -> run producer(_i); _i++
		:: else -> break
		od;
		_i = 0
	}
}

/* The wake-up check runs as assertions where its condition can become true
 * (drainer.pml, the consumer's FUTEX_WAIT, the producers' wake-up check),
 * so that the same run also reports invalid end states. -DLTL_WAKEUP checks
 * it as an LTL invariant instead, in every state, to cross-check that. */
#ifdef LTL_WAKEUP
ltl no_lost_wakeup { [] !(LOST_WAKEUP) }
#endif
/* -DLTL_LIVE: the issue's wording, as liveness: a consumer asleep with a
 * record it could deliver is woken, under weak fairness (pan -a -f) */
#ifdef LTL_LIVE
ltl woken { [] ((parked && READY(ccur)) -> <> !parked) }
#endif
