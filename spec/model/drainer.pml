/*
 * The drainer: moves one buffered store of one party to memory at a time,
 * in any order the memory model allows (memory.pml). A store becoming
 * visible is where a parked consumer may be left with a record it was not
 * woken for, so the wake-up check runs after each one.
 */
inline AFTER_DRAIN() { WAKEUP_CHECK() }

#ifndef SC
active proctype drainer() {
end:
	do
	DRAINS(0)
#if NPARTY > 1
	DRAINS(1)
#endif
#if NPARTY > 2
	DRAINS(2)
#endif
#if NPARTY > 3
	DRAINS(3)
#endif
#if NPARTY > 4
	DRAINS(4)
#endif
#if NPARTY > 5
	DRAINS(5)
#endif
#if NPARTY > 6
#error "at most 6 parties"
#endif
	od
}
#endif
