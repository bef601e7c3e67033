/* logbuf.h: producers and a consumer of logbuf ring files, in C11.
 *
 * Header-only: include it in any number of files (every function is static
 * inline). It needs C11 <stdatomic.h> (or C++11 <atomic>), POSIX open, fstat,
 * ftruncate, rename and mmap, and on Linux the futex and membarrier system
 * calls; nothing else. It implements spec/PROTOCOL.md version 2, and the
 * section numbers in the comments below are that document's. The layout
 * constants come from logbuf_abi.h, generated from the Go package abi; the
 * structs here are checked against them at compile time.
 *
 * glibc declares syscall() and some POSIX calls only with _DEFAULT_SOURCE (or
 * _GNU_SOURCE) under -std=c11: include logbuf.h before any system header, or
 * compile with -D_DEFAULT_SOURCE.
 *
 * Producing:
 *
 *     logbuf_ring ring;
 *     logbuf_producer p;
 *     if (logbuf_open(&ring, "/dev/shm/app.ring") != LOGBUF_OK) { ... }
 *     if (logbuf_producer_init(&p, &ring) != LOGBUF_OK) { ... }  // p is unusable
 *     int err = logbuf_try_write(&p, msg, len);  // LOGBUF_ERR_FULL: retry later
 *     err = logbuf_write_timeout(&p, msg, len, 1000000000);  // or wait up to 1 s
 *     ...
 *     logbuf_producer_close(&p);
 *     logbuf_close(&ring);
 *
 * Consuming:
 *
 *     logbuf_consumer c;
 *     if (logbuf_consumer_init(&c, &ring) != LOGBUF_OK) { ... }  // BUSY: c.holder
 *     for (;;) {
 *         int n = logbuf_consume(&c, 64, handle, ctx);  // handle(ctx, bytes, len)
 *         if (n < 0) break;                             // LOGBUF_ERR_CORRUPT: c.fault
 *         if (n == 0 && logbuf_poll(&c, -1) == LOGBUF_EOF) break;
 *     }
 *     logbuf_consumer_close(&c);
 *
 * Threads: a logbuf_ring may be shared by every thread of a process once
 * opened; nothing in it changes after logbuf_open. A logbuf_producer and its
 * claims belong to one thread; on an MPSC ring each thread makes its own
 * producer (each takes a producer table entry). A ring has at most one
 * consumer at a time, in any process (section 8), and it belongs to one
 * thread.
 *
 * Errors are negative int codes (logbuf_strerror names them). When a region
 * breaks the protocol, the call returns LOGBUF_ERR_CORRUPT and the producer's
 * or consumer's "fault" (the ring's, for logbuf_open and logbuf_attach) says
 * which field or record, where, and which rule: the library never reads or
 * writes outside the mapping because of a value another party wrote.
 *
 * C++: the header compiles as C++11 and later, with std::atomic in place of
 * _Atomic (the same layout and the same lock-free operations).
 *
 * Warnings: the header compiles without a warning under clang's -Weverything
 * (C11 and C++17) except for the ones below, which it accepts. The list is
 * read by cbind/header_test.go, which compiles the header with exactly these
 * turned off and -Werror.
 *
 * warnings-accepted:begin
 * c++ -Wno-c++98-compat-pedantic  the header needs C++11 (std::atomic, nullptr); C++98 is not a goal
 * c   -Wno-declaration-after-statement  C11 allows it; C89 compatibility is not a goal
 * c   -Wno-reserved-macro-identifier    defining glibc's _DEFAULT_SOURCE is how syscall() is declared under -std=c11
 * warnings-accepted:end
 */
#ifndef LOGBUF_H
#define LOGBUF_H

/* The version of this library (its API), not of the protocol: the protocol's
 * is LOGBUF_VERSION in logbuf_abi.h, the value a ring's version field holds.
 * CMakeLists.txt and logbuf.pc read the version from these lines. */
#define LOGBUF_LIB_VERSION_MAJOR 0
#define LOGBUF_LIB_VERSION_MINOR 2
#define LOGBUF_LIB_VERSION_PATCH 0
#define LOGBUF_LIB_VERSION_STRING "0.2.0"
/* LOGBUF_LIB_VERSION compares: major * 10000 + minor * 100 + patch. */
#define LOGBUF_LIB_VERSION \
    (LOGBUF_LIB_VERSION_MAJOR * 10000 + LOGBUF_LIB_VERSION_MINOR * 100 + LOGBUF_LIB_VERSION_PATCH)

/* C++ compilers on glibc define _GNU_SOURCE themselves (libstdc++ needs it). */
#if !defined(__cplusplus) && !defined(_DEFAULT_SOURCE) && !defined(_GNU_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#include "logbuf_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

/* ---- Atomics and casts: one spelling for C11 and C++ ------------------ */

#ifdef __cplusplus
#include <atomic>
typedef std::atomic<uint64_t> logbuf_atomic64;
typedef std::atomic<uint32_t> logbuf_atomic32;
#define LOGBUF_RELAXED std::memory_order_relaxed
#define LOGBUF_ACQUIRE std::memory_order_acquire
#define LOGBUF_RELEASE std::memory_order_release
#define LOGBUF_ACQ_REL std::memory_order_acq_rel
#define LOGBUF_SEQ_CST std::memory_order_seq_cst
#define LOGBUF_LOAD(p, mo) std::atomic_load_explicit((p), (mo))
#define LOGBUF_STORE(p, v, mo) std::atomic_store_explicit((p), (v), (mo))
#define LOGBUF_EXCHANGE(p, v, mo) std::atomic_exchange_explicit((p), (v), (mo))
#define LOGBUF_ADD(p, v, mo) std::atomic_fetch_add_explicit((p), (v), (mo))
#define LOGBUF_CAS(p, expected, v, mo_ok, mo_fail) \
    std::atomic_compare_exchange_strong_explicit((p), (expected), (v), (mo_ok), (mo_fail))
#define LOGBUF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define LOGBUF_CAST(type, v) static_cast<type>(v)
#define LOGBUF_ADDR(p) reinterpret_cast<uintptr_t>(p)
#define LOGBUF_NULL nullptr
typedef std::memory_order logbuf_order;
#else
#include <stdatomic.h>
typedef _Atomic uint64_t logbuf_atomic64;
typedef _Atomic uint32_t logbuf_atomic32;
#define LOGBUF_RELAXED memory_order_relaxed
#define LOGBUF_ACQUIRE memory_order_acquire
#define LOGBUF_RELEASE memory_order_release
#define LOGBUF_ACQ_REL memory_order_acq_rel
#define LOGBUF_SEQ_CST memory_order_seq_cst
#define LOGBUF_LOAD(p, mo) atomic_load_explicit((p), (mo))
#define LOGBUF_STORE(p, v, mo) atomic_store_explicit((p), (v), (mo))
#define LOGBUF_EXCHANGE(p, v, mo) atomic_exchange_explicit((p), (v), (mo))
#define LOGBUF_ADD(p, v, mo) atomic_fetch_add_explicit((p), (v), (mo))
#define LOGBUF_CAS(p, expected, v, mo_ok, mo_fail) \
    atomic_compare_exchange_strong_explicit((p), (expected), (v), (mo_ok), (mo_fail))
#define LOGBUF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define LOGBUF_CAST(type, v) ((type)(v))
#define LOGBUF_ADDR(p) ((uintptr_t)(p))
#define LOGBUF_NULL NULL
typedef memory_order logbuf_order;
#endif

/* Parties in different processes share these words: an atomic that needs a
 * lock would take a lock private to each process, which protects nothing. */
LOGBUF_STATIC_ASSERT(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
LOGBUF_STATIC_ASSERT(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
LOGBUF_STATIC_ASSERT(sizeof(logbuf_atomic64) == 8 && sizeof(logbuf_atomic32) == 4,
                     "atomics must have the size of their integers");

/* ---- The layout (section 3), checked against logbuf_abi.h -------------- */

/* logbuf_party is a party record: the consumer's, or a producer table entry. */
typedef struct logbuf_party {
    logbuf_atomic64 lease;     /* holder and state in one word (logbuf_lease_*) */
    logbuf_atomic64 heartbeat; /* CLOCK_MONOTONIC ns of the holder's last sign of life */
    logbuf_atomic64 since;     /* where the holder attached: tail (producer) or head (consumer) */
    logbuf_atomic64 records;   /* producers: records committed through this entry */
    logbuf_atomic64 bytes;     /* producers: their payload bytes */
    logbuf_atomic64 dropped;   /* producers: records the caller gave up on, ring full */
    logbuf_atomic64 refused;   /* producers: records refused as too large */
    unsigned char reserved_[LOGBUF_PARTY_SIZE - LOGBUF_PARTY_OFF_REFUSED - 8];
} logbuf_party;

/* logbuf_header mirrors the 4096-byte region header. Identity fields are plain:
 * they are read once, when the ring is opened, and copied out. */
typedef struct logbuf_header {
    uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint64_t capacity;
    uint32_t flags;
    uint32_t line_size;
    uint32_t producer_slots;
    unsigned char reserved0_[LOGBUF_OFF_RING_ID - LOGBUF_OFF_PRODUCER_SLOTS - 4];
    unsigned char ring_id[LOGBUF_RING_ID_SIZE];
    unsigned char reserved1_[LOGBUF_OFF_HEAD - LOGBUF_OFF_RING_ID - LOGBUF_RING_ID_SIZE];
    /* consumer line */
    logbuf_atomic64 head;
    logbuf_atomic64 read_records;
    logbuf_atomic64 read_bytes;
    logbuf_atomic64 unblocks;
    logbuf_atomic64 releasing;
    logbuf_atomic64 releasing_records;
    logbuf_atomic64 releasing_bytes;
    unsigned char reserved2_[LOGBUF_OFF_TAIL - LOGBUF_OFF_RELEASING_BYTES - 8];
    /* producers' line, written on every claim */
    logbuf_atomic64 tail;
    unsigned char reserved3_[LOGBUF_OFF_FULL_EVENTS - LOGBUF_OFF_TAIL - 8];
    /* producers' rare events */
    logbuf_atomic64 full_events;
    logbuf_atomic64 aborts;
    unsigned char reserved4_[LOGBUF_OFF_CONSUMER - LOGBUF_OFF_ABORTS - 8];
    logbuf_party consumer;
    unsigned char reserved5_[LOGBUF_OFF_CONSUMER_WAIT - LOGBUF_OFF_CONSUMER - LOGBUF_PARTY_SIZE];
    logbuf_atomic32 consumer_wait; /* futex word (section 7.3) */
    unsigned char reserved6_[LOGBUF_OFF_PRODUCER_TABLE - LOGBUF_OFF_CONSUMER_WAIT - 4];
    logbuf_party producers[LOGBUF_PRODUCER_SLOTS];
} logbuf_header;

#ifdef __cplusplus
#define LOGBUF_MEMBER_SIZE(type, member) sizeof(type::member)
#else
#define LOGBUF_MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#endif
#define LOGBUF_CHECK_FIELD(type, member, off, size)                                    \
    LOGBUF_STATIC_ASSERT(offsetof(type, member) == (off), #member " is not at " #off); \
    LOGBUF_STATIC_ASSERT(LOGBUF_MEMBER_SIZE(type, member) == (size), #member " is not " #size " bytes")
LOGBUF_CHECK_FIELD(logbuf_header, magic, LOGBUF_OFF_MAGIC, LOGBUF_SIZE_MAGIC);
LOGBUF_CHECK_FIELD(logbuf_header, version, LOGBUF_OFF_VERSION, LOGBUF_SIZE_VERSION);
LOGBUF_CHECK_FIELD(logbuf_header, header_size, LOGBUF_OFF_HEADER_SIZE, LOGBUF_SIZE_HEADER_SIZE);
LOGBUF_CHECK_FIELD(logbuf_header, capacity, LOGBUF_OFF_CAPACITY, LOGBUF_SIZE_CAPACITY);
LOGBUF_CHECK_FIELD(logbuf_header, flags, LOGBUF_OFF_FLAGS, LOGBUF_SIZE_FLAGS);
LOGBUF_CHECK_FIELD(logbuf_header, line_size, LOGBUF_OFF_LINE_SIZE, LOGBUF_SIZE_LINE_SIZE);
LOGBUF_CHECK_FIELD(logbuf_header, producer_slots, LOGBUF_OFF_PRODUCER_SLOTS, LOGBUF_SIZE_PRODUCER_SLOTS);
LOGBUF_CHECK_FIELD(logbuf_header, ring_id, LOGBUF_OFF_RING_ID, LOGBUF_SIZE_RING_ID);
LOGBUF_CHECK_FIELD(logbuf_header, head, LOGBUF_OFF_HEAD, LOGBUF_SIZE_HEAD);
LOGBUF_CHECK_FIELD(logbuf_header, read_records, LOGBUF_OFF_READ_RECORDS, LOGBUF_SIZE_READ_RECORDS);
LOGBUF_CHECK_FIELD(logbuf_header, read_bytes, LOGBUF_OFF_READ_BYTES, LOGBUF_SIZE_READ_BYTES);
LOGBUF_CHECK_FIELD(logbuf_header, unblocks, LOGBUF_OFF_UNBLOCKS, LOGBUF_SIZE_UNBLOCKS);
LOGBUF_CHECK_FIELD(logbuf_header, releasing, LOGBUF_OFF_RELEASING, LOGBUF_SIZE_RELEASING);
LOGBUF_CHECK_FIELD(logbuf_header, releasing_records, LOGBUF_OFF_RELEASING_RECORDS, LOGBUF_SIZE_RELEASING_RECORDS);
LOGBUF_CHECK_FIELD(logbuf_header, releasing_bytes, LOGBUF_OFF_RELEASING_BYTES, LOGBUF_SIZE_RELEASING_BYTES);
LOGBUF_CHECK_FIELD(logbuf_header, tail, LOGBUF_OFF_TAIL, LOGBUF_SIZE_TAIL);
LOGBUF_CHECK_FIELD(logbuf_header, full_events, LOGBUF_OFF_FULL_EVENTS, LOGBUF_SIZE_FULL_EVENTS);
LOGBUF_CHECK_FIELD(logbuf_header, aborts, LOGBUF_OFF_ABORTS, LOGBUF_SIZE_ABORTS);
LOGBUF_CHECK_FIELD(logbuf_header, consumer, LOGBUF_OFF_CONSUMER, LOGBUF_SIZE_CONSUMER);
LOGBUF_CHECK_FIELD(logbuf_header, consumer_wait, LOGBUF_OFF_CONSUMER_WAIT, LOGBUF_SIZE_CONSUMER_WAIT);
LOGBUF_CHECK_FIELD(logbuf_header, producers, LOGBUF_OFF_PRODUCER_TABLE, LOGBUF_SIZE_PRODUCER_TABLE);
LOGBUF_CHECK_FIELD(logbuf_party, lease, LOGBUF_PARTY_OFF_LEASE, LOGBUF_PARTY_SIZE_LEASE);
LOGBUF_CHECK_FIELD(logbuf_party, heartbeat, LOGBUF_PARTY_OFF_HEARTBEAT, LOGBUF_PARTY_SIZE_HEARTBEAT);
LOGBUF_CHECK_FIELD(logbuf_party, since, LOGBUF_PARTY_OFF_SINCE, LOGBUF_PARTY_SIZE_SINCE);
LOGBUF_CHECK_FIELD(logbuf_party, records, LOGBUF_PARTY_OFF_RECORDS, LOGBUF_PARTY_SIZE_RECORDS);
LOGBUF_CHECK_FIELD(logbuf_party, bytes, LOGBUF_PARTY_OFF_BYTES, LOGBUF_PARTY_SIZE_BYTES);
LOGBUF_CHECK_FIELD(logbuf_party, dropped, LOGBUF_PARTY_OFF_DROPPED, LOGBUF_PARTY_SIZE_DROPPED);
LOGBUF_CHECK_FIELD(logbuf_party, refused, LOGBUF_PARTY_OFF_REFUSED, LOGBUF_PARTY_SIZE_REFUSED);
LOGBUF_STATIC_ASSERT(sizeof(logbuf_party) == LOGBUF_PARTY_SIZE, "party record size");
LOGBUF_STATIC_ASSERT(sizeof(logbuf_header) == LOGBUF_HEADER_SIZE, "region header size");

/* ---- Errors ------------------------------------------------------------ */

/* Result codes. Every function that can fail returns LOGBUF_OK or one of
 * these; each condition of spec section 11 has its own. */
enum {
    LOGBUF_OK = 0,
    LOGBUF_ERR_FULL = -1,           /* not enough free space now; try again later */
    LOGBUF_ERR_ZERO_LENGTH = -2,    /* a claim of 0 bytes */
    LOGBUF_ERR_TOO_LARGE = -3,      /* more than max_payload: never succeeds on this ring */
    LOGBUF_ERR_EMPTY = -4,          /* no committed record at the read cursor yet */
    LOGBUF_ERR_DISCARDED = -5,      /* MPSC commit lost to the consumer's recovery (section 9) */
    LOGBUF_ERR_CORRUPT = -6,        /* the region broke a rule: see the fault */
    LOGBUF_ERR_SYSTEM = -7,         /* a system call failed: see errno */
    LOGBUF_ERR_CLOSED = -8,         /* this producer or consumer handle was closed */
    LOGBUF_ERR_CLAIM_ENDED = -9,    /* the claim was already committed or aborted (5.3) */
    LOGBUF_ERR_PRODUCER_BUSY = -10, /* an SPSC ring's entry 0 is held by a live producer */
    LOGBUF_ERR_TIMEOUT = -11,       /* a blocking call's time ran out */
    LOGBUF_EOF = -12,               /* end of stream: every producer gone, the ring drained */
    LOGBUF_ERR_RING_CLOSED = -13,   /* producers: the consumer closed the ring for good */
    LOGBUF_ERR_NO_CONSUMER = -14,   /* producers: the time ran out while no consumer was attached */
    LOGBUF_ERR_CONSUMER_BUSY = -15  /* the ring's consumer record is held by a live consumer */
};

/* logbuf_strerror names a result code. */
static inline const char *logbuf_strerror(int err) {
    switch (err) {
    case LOGBUF_OK: return "ok";
    case LOGBUF_ERR_FULL: return "ring full";
    case LOGBUF_ERR_ZERO_LENGTH: return "zero-length record";
    case LOGBUF_ERR_TOO_LARGE: return "record larger than the ring's maximum payload";
    case LOGBUF_ERR_EMPTY: return "no record ready";
    case LOGBUF_ERR_DISCARDED: return "claim discarded by the consumer";
    case LOGBUF_ERR_CORRUPT: return "corrupt ring";
    case LOGBUF_ERR_SYSTEM: return "system call failed";
    case LOGBUF_ERR_CLOSED: return "closed";
    case LOGBUF_ERR_CLAIM_ENDED: return "claim already ended";
    case LOGBUF_ERR_PRODUCER_BUSY: return "the SPSC ring already has a live producer";
    case LOGBUF_ERR_TIMEOUT: return "timed out";
    case LOGBUF_EOF: return "end of stream";
    case LOGBUF_ERR_RING_CLOSED: return "the consumer closed the ring";
    case LOGBUF_ERR_NO_CONSUMER: return "timed out with no consumer attached";
    case LOGBUF_ERR_CONSUMER_BUSY: return "the ring already has a live consumer";
    default: return "unknown logbuf error";
    }
}

/* logbuf_fault says what in a region broke which rule, like Go's
 * abi.CorruptError. */
typedef struct logbuf_fault {
    const char *field; /* a header field ("magic", "tail", "file size") or "record" */
    uint64_t where;    /* the field's offset in the region, or the record's position */
    uint64_t value;    /* the value found there */
    const char *reason;
} logbuf_fault;

/* logbuf_format_fault writes a one-line description of f into buf. */
static inline int logbuf_format_fault(const logbuf_fault *f, char *buf, size_t len) {
    if (f->field != LOGBUF_NULL && strcmp(f->field, "record") == 0) {
        return snprintf(buf, len, "corrupt record at position %llu: header word 0x%016llx: %s",
                        LOGBUF_CAST(unsigned long long, f->where), LOGBUF_CAST(unsigned long long, f->value),
                        f->reason);
    }
    return snprintf(buf, len, "bad region header: %s at offset 0x%03llx is 0x%llx: %s",
                    f->field ? f->field : "?", LOGBUF_CAST(unsigned long long, f->where),
                    LOGBUF_CAST(unsigned long long, f->value), f->reason ? f->reason : "?");
}

static inline int logbuf_i_bad(logbuf_fault *f, const char *field, uint64_t where, uint64_t value,
                               const char *reason) {
    f->field = field;
    f->where = where;
    f->value = value;
    f->reason = reason;
    return LOGBUF_ERR_CORRUPT;
}

/* ---- Time and processes (section 8) ------------------------------------- */

/* logbuf_now is CLOCK_MONOTONIC in nanoseconds, the unit of heartbeats. */
static inline uint64_t logbuf_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return LOGBUF_CAST(uint64_t, ts.tv_sec) * UINT64_C(1000000000) + LOGBUF_CAST(uint64_t, ts.tv_nsec);
}

static inline struct timespec logbuf_i_timespec(uint64_t ns) {
    struct timespec ts;
    ts.tv_sec = LOGBUF_CAST(time_t, ns / 1000000000u);
    ts.tv_nsec = LOGBUF_CAST(long, ns % 1000000000u);
    return ts;
}

/* logbuf_i_sleep sleeps for ns nanoseconds (or until a signal). */
static inline void logbuf_i_sleep(uint64_t ns) {
    struct timespec ts = logbuf_i_timespec(ns);
    nanosleep(&ts, LOGBUF_NULL);
}

/* logbuf_i_pause is one spin-wait hint (PAUSE on x86, YIELD on arm64): it
 * lets the other hyperthread run and saves power in the wait loops. */
static inline void logbuf_i_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* logbuf_i_proc_stat reads field 22 of /proc/<pid>/stat (the start time, clock
 * ticks since boot) into *start and reports whether field 3 (the state) says
 * zombie (Z or X: dead, not yet reaped). *start is 0 when it cannot be read;
 * the result is -1 when the file cannot be read at all. */
static inline int logbuf_i_proc_stat(uint32_t pid, uint64_t *start) {
    char path[64], buf[1024];
    *start = 0;
    if (pid == 0) {
        snprintf(path, sizeof path, "/proc/self/stat");
    } else {
        snprintf(path, sizeof path, "/proc/%u/stat", pid);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name (field 2) may hold spaces and parentheses */
    if (p == LOGBUF_NULL) {
        return -1;
    }
    int zombie = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    for (int field = 2; field < 22; field++) { /* walk to the space before field 22 */
        p = strchr(p + 1, ' ');
        if (p == LOGBUF_NULL) {
            return -1;
        }
    }
    uint64_t v = 0;
    for (p++; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + LOGBUF_CAST(uint64_t, *p - '0');
    }
    *start = v;
    return zombie;
}

/* logbuf_start_time is field 22 of /proc/<pid>/stat (clock ticks since boot),
 * or 0 when it cannot be read; pid 0 is this process. */
static inline uint64_t logbuf_start_time(uint32_t pid) {
    uint64_t start;
    (void)logbuf_i_proc_stat(pid, &start);
    return start;
}

/* logbuf_alive reports whether the process named by pid and start time may
 * still run (section 8). start is compared modulo 2^36, as a lease holds it,
 * and only when both sides know it (non-zero). It errs on the side of
 * "alive": a /proc entry this process may not read counts as alive. A
 * zombie, dead but not reaped, is gone: it will never commit. Pid 0, and pids
 * a lease cannot hold, name no process. */
static inline int logbuf_alive(uint32_t pid, uint64_t start) {
    if (pid == 0 || pid > LOGBUF_LEASE_PID_MASK) {
        return 0; /* and kill(0 or -1, 0) must never be called */
    }
    start &= LOGBUF_LEASE_START_MASK;
    uint64_t now;
    if (pid == LOGBUF_CAST(uint32_t, getpid())) {
        now = logbuf_start_time(0) & LOGBUF_LEASE_START_MASK;
        return start == 0 || now == 0 || start == now;
    }
    if (kill(LOGBUF_CAST(pid_t, pid), 0) != 0 && errno == ESRCH) {
        return 0; /* EPERM: it exists but is not ours, so alive */
    }
    int zombie = logbuf_i_proc_stat(pid, &now);
    if (zombie < 0) {
        return 1;
    }
    if (zombie) {
        return 0;
    }
    now &= LOGBUF_LEASE_START_MASK;
    return start == 0 || now == 0 || start == now;
}

/* ---- Leases (sections 3 and 8) ------------------------------------------ */

/* logbuf_lease_pid, logbuf_lease_start and logbuf_lease_state take a lease
 * word apart; logbuf_lease_make puts one together. */
static inline uint32_t logbuf_lease_pid(uint64_t lease) {
    return LOGBUF_CAST(uint32_t, lease & LOGBUF_LEASE_PID_MASK);
}
static inline uint64_t logbuf_lease_start(uint64_t lease) {
    return (lease >> LOGBUF_LEASE_START_SHIFT) & LOGBUF_LEASE_START_MASK;
}
static inline unsigned logbuf_lease_state(uint64_t lease) {
    return LOGBUF_CAST(unsigned, lease >> LOGBUF_LEASE_STATE_SHIFT);
}
static inline uint64_t logbuf_lease_make(unsigned state, uint32_t pid, uint64_t start) {
    return LOGBUF_CAST(uint64_t, state) << LOGBUF_LEASE_STATE_SHIFT |
           (start & LOGBUF_LEASE_START_MASK) << LOGBUF_LEASE_START_SHIFT | (pid & LOGBUF_LEASE_PID_MASK);
}

/* logbuf_lease_malformed reports whether a lease breaks the state table
 * (section 8): an unknown state, a FREE lease with other bits set, or CLOSED
 * in a producer entry (producer_entry 1), where only a consumer closes. Such
 * a lease holds nothing; a party refuses to attach to it. */
static inline int logbuf_lease_malformed(uint64_t lease, int producer_entry) {
    switch (logbuf_lease_state(lease)) {
    case LOGBUF_STATE_FREE: return lease != 0;
    case LOGBUF_STATE_ATTACHED:
    case LOGBUF_STATE_DETACHED: return 0;
    case LOGBUF_STATE_CLOSED: return producer_entry;
    default: return 1;
    }
}

/* logbuf_lease_held reports whether a lease holds its record: ATTACHED, by a
 * process that is alive (section 8). It asks the kernel when ATTACHED. */
static inline int logbuf_lease_held(uint64_t lease) {
    return logbuf_lease_state(lease) == LOGBUF_STATE_ATTACHED &&
           logbuf_alive(logbuf_lease_pid(lease), logbuf_lease_start(lease));
}

/* logbuf_i_self_lease is this process's ATTACHED lease. It is read anew at
 * every attach, so a forked child attaches as itself. */
static inline uint64_t logbuf_i_self_lease(void) {
    return logbuf_lease_make(LOGBUF_STATE_ATTACHED, LOGBUF_CAST(uint32_t, getpid()), logbuf_start_time(0));
}

/* logbuf_i_take attaches to party record p, at offset off in the header
 * (section 8): a compare-and-swap of its lease from the exact value judged
 * free or dead to mine. It returns LOGBUF_OK when it won, busy (with the
 * holder's lease in *holder) when a live party holds the record, and
 * LOGBUF_ERR_CORRUPT (f set, field "lease") when the lease is malformed. */
static inline int logbuf_i_take(logbuf_party *p, uint64_t off, int producer_entry, uint64_t mine, int busy,
                                uint64_t *holder, logbuf_fault *f) {
    for (;;) {
        uint64_t l = LOGBUF_LOAD(&p->lease, LOGBUF_SEQ_CST);
        if (logbuf_lease_malformed(l, producer_entry)) {
            return logbuf_i_bad(f, "lease", off + LOGBUF_PARTY_OFF_LEASE, l,
                                "a state the spec does not define for this record");
        }
        if (logbuf_lease_held(l)) {
            *holder = l;
            return busy;
        }
        if (LOGBUF_CAS(&p->lease, &l, mine, LOGBUF_SEQ_CST, LOGBUF_SEQ_CST)) {
            LOGBUF_STORE(&p->heartbeat, logbuf_now(), LOGBUF_RELAXED);
            return LOGBUF_OK;
        }
    }
}

/* logbuf_i_leave ends this process's hold on p in state st (DETACHED, or
 * CLOSED for a consumer that closes the ring): a compare-and-swap from its
 * own lease, which changes nothing if the record is no longer its own. */
static inline void logbuf_i_leave(logbuf_party *p, uint64_t mine, unsigned st) {
    if (p != LOGBUF_NULL) {
        LOGBUF_CAS(&p->lease, &mine, logbuf_lease_make(st, logbuf_lease_pid(mine), logbuf_lease_start(mine)),
                   LOGBUF_SEQ_CST, LOGBUF_RELAXED);
    }
}

/* logbuf_i_producers_done is the producers' half of the end of the stream
 * (section 8): the ring has had a producer, ever (an entry not FREE), and
 * none holds an entry now (a malformed lease holds nothing). With
 * check_live 0 an ATTACHED entry counts as held without asking the kernel,
 * so a caller can look often and ask rarely. */
static inline int logbuf_i_producers_done(logbuf_header *h, int check_live) {
    int seen = 0;
    for (unsigned i = 0; i < LOGBUF_PRODUCER_SLOTS; i++) {
        uint64_t l = LOGBUF_LOAD(&h->producers[i].lease, LOGBUF_SEQ_CST);
        if (logbuf_lease_state(l) == LOGBUF_STATE_FREE) {
            continue;
        }
        if (logbuf_lease_state(l) == LOGBUF_STATE_ATTACHED && (!check_live || logbuf_lease_held(l))) {
            return 0;
        }
        seen = 1;
    }
    return seen;
}

/* ---- Opening and creating a ring (section 10) ---------------------------- */

/* Modes for logbuf_open_mode and logbuf_attach_mode: what the caller expects
 * of the ring's flags (section 10 step 6). */
#define LOGBUF_MODE_ANY (-1)
#define LOGBUF_MODE_SPSC 0
#define LOGBUF_MODE_MPSC 1

/* logbuf_ring is an open, validated ring. The values validated at open
 * (capacity, mode, ring id) are copied here and never read from shared
 * memory again. Nothing in it changes after logbuf_open or logbuf_attach
 * returns, so every thread may use it. */
typedef struct logbuf_ring {
    logbuf_header *hdr;
    unsigned char *data; /* the data area: capacity bytes */
    uint64_t capacity;
    uint64_t mask;        /* capacity - 1 */
    uint64_t max_payload; /* capacity / 8 */
    void *map;            /* the mapping logbuf_close unmaps; NULL for logbuf_attach */
    size_t map_len;
    unsigned lap_shift; /* log2(capacity) */
    int mpsc;           /* 1: MPSC, 0: SPSC */
    unsigned char ring_id[LOGBUF_RING_ID_SIZE];
    /* Why logbuf_open or logbuf_attach failed with LOGBUF_ERR_CORRUPT. Only
     * they write it, before the ring is shared: producers and consumers keep
     * their own faults. */
    logbuf_fault fault;
} logbuf_ring;

static inline int logbuf_i_capacity_ok(uint64_t c) {
    return c >= LOGBUF_MIN_CAPACITY && c <= LOGBUF_MAX_CAPACITY && (c & (c - 1)) == 0;
}

/* logbuf_i_check_positions applies the reader's rule for a head and a tail
 * loaded from the header (sections 5.1, 7.1 and 10 step 7): multiples of 8,
 * and tail - head <= capacity. */
static inline int logbuf_i_check_positions(logbuf_fault *f, uint64_t head, uint64_t tail, uint64_t capacity) {
    if (head % LOGBUF_WORD_SIZE != 0) {
        return logbuf_i_bad(f, "head", LOGBUF_OFF_HEAD, head, "not a multiple of 8");
    }
    if (tail % LOGBUF_WORD_SIZE != 0) {
        return logbuf_i_bad(f, "tail", LOGBUF_OFF_TAIL, tail, "not a multiple of 8");
    }
    if (tail - head > capacity) {
        return logbuf_i_bad(f, "tail", LOGBUF_OFF_TAIL, tail, "more than capacity ahead of head");
    }
    return LOGBUF_OK;
}

/* logbuf_attach_mode validates len bytes at mem as a region (section 10, in
 * the spec's order: size, magic, version, sizes, capacity, flags, ring_id,
 * positions) and fills r; mode is LOGBUF_MODE_SPSC or LOGBUF_MODE_MPSC
 * when the caller expects one (a region of the other is refused, field
 * "flags"), or LOGBUF_MODE_ANY. mem must be 128-byte aligned and stay mapped
 * while r is used; logbuf_close does not free it. Returns LOGBUF_ERR_CORRUPT
 * with r->fault naming the first check that failed. */
static inline int logbuf_attach_mode(logbuf_ring *r, void *mem, size_t len, int mode) {
    memset(r, 0, sizeof *r);
    logbuf_fault *f = &r->fault;
    if (len < LOGBUF_HEADER_SIZE) {
        return logbuf_i_bad(f, "region size", 0, len, "shorter than the 4096-byte header");
    }
    if (LOGBUF_ADDR(mem) % LOGBUF_LINE_SIZE != 0) {
        return logbuf_i_bad(f, "region address", 0, LOGBUF_ADDR(mem), "not 128-byte aligned");
    }
    logbuf_header *h = LOGBUF_CAST(logbuf_header *, mem);
    if (h->magic != LOGBUF_MAGIC) {
        return logbuf_i_bad(f, "magic", LOGBUF_OFF_MAGIC, h->magic, "not a logbuf ring");
    }
    if (h->version != LOGBUF_VERSION) {
        return logbuf_i_bad(f, "version", LOGBUF_OFF_VERSION, h->version,
                            "unsupported protocol version (version 1 rings must be re-created)");
    }
    if (h->header_size != LOGBUF_HEADER_SIZE) {
        return logbuf_i_bad(f, "header_size", LOGBUF_OFF_HEADER_SIZE, h->header_size, "want 4096");
    }
    if (h->line_size != LOGBUF_LINE_SIZE) {
        return logbuf_i_bad(f, "line_size", LOGBUF_OFF_LINE_SIZE, h->line_size, "want 128");
    }
    if (h->producer_slots != LOGBUF_PRODUCER_SLOTS) {
        return logbuf_i_bad(f, "producer_slots", LOGBUF_OFF_PRODUCER_SLOTS, h->producer_slots, "want 32");
    }
    uint64_t capacity = h->capacity;
    if (!logbuf_i_capacity_ok(capacity)) {
        return logbuf_i_bad(f, "capacity", LOGBUF_OFF_CAPACITY, capacity, "not a power of two in [64, 2^31]");
    }
    if (LOGBUF_CAST(uint64_t, len) < LOGBUF_HEADER_SIZE + capacity) {
        return logbuf_i_bad(f, "capacity", LOGBUF_OFF_CAPACITY, capacity,
                            "the region is shorter than header + capacity");
    }
    uint32_t flags = h->flags;
    if ((flags & ~LOGBUF_CAST(uint32_t, LOGBUF_FLAG_MPSC)) != 0) {
        return logbuf_i_bad(f, "flags", LOGBUF_OFF_FLAGS, flags, "unknown flag bits");
    }
    if (mode != LOGBUF_MODE_ANY && LOGBUF_CAST(uint32_t, mode) != (flags & LOGBUF_FLAG_MPSC)) {
        return logbuf_i_bad(f, "flags", LOGBUF_OFF_FLAGS, flags,
                            mode == LOGBUF_MODE_MPSC ? "an SPSC ring, not the MPSC ring expected"
                                                     : "an MPSC ring, not the SPSC ring expected");
    }
    unsigned char any = 0;
    for (size_t i = 0; i < sizeof h->ring_id; i++) {
        any |= h->ring_id[i];
    }
    if (any == 0) {
        return logbuf_i_bad(f, "ring_id", LOGBUF_OFF_RING_ID, 0,
                            "all zero: a ring needs an identity (spec section 10)");
    }
    int err = logbuf_i_check_positions(f, LOGBUF_LOAD(&h->head, LOGBUF_ACQUIRE),
                                       LOGBUF_LOAD(&h->tail, LOGBUF_ACQUIRE), capacity);
    if (err != LOGBUF_OK) {
        return err;
    }
    r->hdr = h;
    r->data = LOGBUF_CAST(unsigned char *, mem) + LOGBUF_HEADER_SIZE;
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->max_payload = capacity / LOGBUF_MAX_PAYLOAD_DIVISOR;
    while ((UINT64_C(1) << r->lap_shift) < capacity) {
        r->lap_shift++;
    }
    r->mpsc = (flags & LOGBUF_FLAG_MPSC) != 0;
    memcpy(r->ring_id, h->ring_id, sizeof r->ring_id);
    return LOGBUF_OK;
}

/* logbuf_attach is logbuf_attach_mode for a ring of either mode. */
static inline int logbuf_attach(logbuf_ring *r, void *mem, size_t len) {
    return logbuf_attach_mode(r, mem, len, LOGBUF_MODE_ANY);
}

/* logbuf_i_map maps the open ring file fd, whose size is size, and
 * validates it; it closes fd. */
static inline int logbuf_i_map(logbuf_ring *r, int fd, uint64_t size, int mode) {
    if (size < LOGBUF_HEADER_SIZE) {
        close(fd);
        return logbuf_i_bad(&r->fault, "file size", 0, size,
                            "shorter than the 4096-byte region header: truncated, or not a ring");
    }
    size_t n = LOGBUF_CAST(size_t, size < LOGBUF_HEADER_SIZE + LOGBUF_MAX_CAPACITY
                                       ? size
                                       : LOGBUF_HEADER_SIZE + LOGBUF_MAX_CAPACITY);
    void *mem = mmap(LOGBUF_NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd); /* the mapping outlives the descriptor */
    if (mem == MAP_FAILED) {
        errno = e;
        return LOGBUF_ERR_SYSTEM;
    }
    int err = logbuf_attach_mode(r, mem, n, mode);
    if (err == LOGBUF_ERR_CORRUPT && strcmp(r->fault.field, "capacity") == 0 &&
        logbuf_i_capacity_ok(r->fault.value)) {
        /* The header is sound; the file is shorter than it says. */
        err = logbuf_i_bad(&r->fault, "file size", 0, size, "shorter than header + capacity: truncated");
    }
    if (err != LOGBUF_OK) {
        logbuf_fault f = r->fault;
        munmap(mem, n);
        memset(r, 0, sizeof *r);
        r->fault = f;
        return err;
    }
    r->map = mem;
    r->map_len = n;
    return LOGBUF_OK;
}

/* logbuf_open_mode maps the ring file at path (MAP_SHARED, read-write) and
 * validates it, expecting mode (LOGBUF_MODE_SPSC, LOGBUF_MODE_MPSC or
 * LOGBUF_MODE_ANY). The file's size is checked with fstat before any byte is
 * read, so a truncated file is an error (field "file size"), never a SIGBUS;
 * a longer file is allowed (section 10), its bytes past the data area
 * unused. Returns LOGBUF_ERR_SYSTEM with errno set when the file cannot be
 * opened or mapped, LOGBUF_ERR_CORRUPT with r->fault set when it is not a
 * valid ring. Opening changes nothing in the file. */
static inline int logbuf_open_mode(logbuf_ring *r, const char *path, int mode) {
    memset(r, 0, sizeof *r);
    /* O_NONBLOCK: a FIFO at path must not hang the open; it is refused below. */
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return LOGBUF_ERR_SYSTEM;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return LOGBUF_ERR_SYSTEM;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return LOGBUF_ERR_SYSTEM;
    }
    return logbuf_i_map(r, fd, LOGBUF_CAST(uint64_t, st.st_size), mode);
}

/* logbuf_open is logbuf_open_mode for a ring of either mode. */
static inline int logbuf_open(logbuf_ring *r, const char *path) {
    return logbuf_open_mode(r, path, LOGBUF_MODE_ANY);
}

/* logbuf_i_random fills n bytes from the kernel's random source. */
static inline int logbuf_i_random(unsigned char *b, size_t n) {
    size_t got = 0;
#if defined(__linux__) && defined(SYS_getrandom)
    while (got < n) {
        long k = syscall(SYS_getrandom, b + got, n - got, 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            break;
        }
        got += LOGBUF_CAST(size_t, k);
    }
#endif
    if (got < n) { /* no getrandom: the device */
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return 0;
        }
        while (got < n) {
            ssize_t k = read(fd, b + got, n - got);
            if (k <= 0) {
                break;
            }
            got += LOGBUF_CAST(size_t, k);
        }
        close(fd);
    }
    return got == n;
}

/* logbuf_create_options tunes logbuf_create; NULL, like all zeros, means
 * permissions 0600 and no overwriting. */
typedef struct logbuf_create_options {
    unsigned perm; /* permission bits, set exactly (fchmod, not filtered by the umask); 0: 0600 */
    int overwrite; /* replace an existing file at path, atomically (rename) */
} logbuf_create_options;

/* logbuf_i_publish gives the finished ring at tmp its name, as Go's
 * abi.Create does: rename when overwriting; otherwise renameat2 with
 * RENAME_NOREPLACE, or link and unlink where the file system lacks it,
 * which fail if path exists, atomically. */
static inline int logbuf_i_publish(const char *tmp, const char *path, int overwrite) {
    if (overwrite) {
        return rename(tmp, path) == 0;
    }
#if defined(__linux__) && defined(SYS_renameat2)
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, 1 /* RENAME_NOREPLACE */) == 0) {
        return 1;
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return 0;
    }
#endif
    if (link(tmp, path) != 0) {
        return 0;
    }
    unlink(tmp);
    return 1;
}

/* logbuf_create creates a ring file at path with a data area of capacity
 * bytes (a power of two, 64 to 2^31) in mode LOGBUF_MODE_SPSC or
 * LOGBUF_MODE_MPSC, and opens it into r (section 10), as Go's abi.Create
 * does: the ring is made under a temporary name beside path, all zero but
 * its identity and 16 random bytes of ring_id, and then given its name, so
 * that no process ever opens a half-made ring. An existing file at path is
 * refused (LOGBUF_ERR_SYSTEM, errno EEXIST) unless opts->overwrite. Other
 * failures: LOGBUF_ERR_SYSTEM with errno (EINVAL for a bad capacity or mode). */
static inline int logbuf_create(logbuf_ring *r, const char *path, uint64_t capacity, int mode,
                                const logbuf_create_options *opts) {
    memset(r, 0, sizeof *r);
    if (!logbuf_i_capacity_ok(capacity) || (mode != LOGBUF_MODE_SPSC && mode != LOGBUF_MODE_MPSC)) {
        errno = EINVAL;
        return LOGBUF_ERR_SYSTEM;
    }
    unsigned perm = opts != LOGBUF_NULL && opts->perm != 0 ? opts->perm & 07777u : 0600u;
    int overwrite = opts != LOGBUF_NULL && opts->overwrite;
    struct stat st;
    if (!overwrite && lstat(path, &st) == 0) {
        errno = EEXIST; /* early and clear; logbuf_i_publish makes it race-free */
        return LOGBUF_ERR_SYSTEM;
    }
    /* The temporary file: ".NAME.tmp-XXXXXX" in path's directory. */
    static const char suffix[] = ".tmp-XXXXXX";
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash == LOGBUF_NULL ? 0 : LOGBUF_CAST(size_t, slash - path) + 1, plen = strlen(path);
    char tmp[4096];
    if (plen + 1 + sizeof suffix > sizeof tmp) {
        errno = ENAMETOOLONG;
        return LOGBUF_ERR_SYSTEM;
    }
    memcpy(tmp, path, dirlen);
    tmp[dirlen] = '.';
    memcpy(tmp + dirlen + 1, path + dirlen, plen - dirlen);
    memcpy(tmp + plen + 1, suffix, sizeof suffix);
    int fd = mkstemp(tmp); /* O_EXCL */
    if (fd < 0) {
        return LOGBUF_ERR_SYSTEM;
    }
    const uint64_t size = LOGBUF_HEADER_SIZE + capacity;
    unsigned char id[LOGBUF_RING_ID_SIZE];
    void *mem = MAP_FAILED;
    /* fchmod: the bits asked for, exactly, whatever the umask took away.
     * ftruncate: every byte zero, without touching the data area's pages. */
    if (fchmod(fd, LOGBUF_CAST(mode_t, perm)) == 0 && ftruncate(fd, LOGBUF_CAST(off_t, size)) == 0) {
        unsigned char any = 0;
        while (any == 0 && logbuf_i_random(id, sizeof id)) { /* all zero is refused at open (section 10) */
            for (size_t i = 0; i < sizeof id; i++) {
                any |= id[i];
            }
        }
        if (any != 0) {
            mem = mmap(LOGBUF_NULL, LOGBUF_CAST(size_t, size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        } else {
            errno = EIO;
        }
    }
    if (mem != MAP_FAILED) {
        logbuf_header *h = LOGBUF_CAST(logbuf_header *, mem);
        h->magic = LOGBUF_MAGIC;
        h->version = LOGBUF_VERSION;
        h->header_size = LOGBUF_HEADER_SIZE;
        h->capacity = capacity;
        h->flags = mode == LOGBUF_MODE_MPSC ? LOGBUF_FLAG_MPSC : 0;
        h->line_size = LOGBUF_LINE_SIZE;
        h->producer_slots = LOGBUF_PRODUCER_SLOTS;
        memcpy(h->ring_id, id, sizeof id);
        munmap(mem, LOGBUF_CAST(size_t, size));
    }
    if (mem == MAP_FAILED || !logbuf_i_publish(tmp, path, overwrite)) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return LOGBUF_ERR_SYSTEM;
    }
    return logbuf_i_map(r, fd, size, mode);
}

/* logbuf_close unmaps a ring opened with logbuf_open or logbuf_create. The
 * file stays: a ring file persists when every process has gone, and a new
 * consumer resumes from head. Calling it again, or on an attached ring, does
 * nothing. */
static inline void logbuf_close(logbuf_ring *r) {
    if (r->map != LOGBUF_NULL) {
        munmap(r->map, r->map_len);
    }
    r->map = LOGBUF_NULL;
    r->hdr = LOGBUF_NULL;
    r->data = LOGBUF_NULL;
}

/* logbuf_max_payload is the largest record the ring accepts: capacity / 8. */
static inline size_t logbuf_max_payload(const logbuf_ring *r) { return LOGBUF_CAST(size_t, r->max_payload); }

/* ---- Waking (section 7.3) ----------------------------------------------- */

/* The membarrier commands of the kernel's <linux/membarrier.h>. */
#define LOGBUF_I_MEMBARRIER_GLOBAL_EXPEDITED 2
#define LOGBUF_I_MEMBARRIER_REGISTER_GLOBAL_EXPEDITED 4

/* logbuf_i_membarrier makes a membarrier call and reports whether it worked. */
static inline int logbuf_i_membarrier(int cmd) {
#if defined(__linux__) && defined(SYS_membarrier)
    return syscall(SYS_membarrier, cmd, 0, 0) == 0;
#else
    (void)cmd;
    return 0;
#endif
}

/* logbuf_i_wake is the producer's half of section 7.3, after a commit, an
 * abort or a detach: one load in the common case, a FUTEX_WAKE only when the
 * consumer is parked. The load is seq_cst after a seq_cst store, or relaxed
 * after a release store by a process registered for the consumer's barrier:
 * either way, the consumer's re-check sees the record (or the detached
 * entry) or this load sees its flag. The exchange lets one of several
 * producers that saw the flag make the call. */
static inline void logbuf_i_wake(logbuf_header *h, logbuf_order load_order) {
    if (LOGBUF_LOAD(&h->consumer_wait, load_order) != 0 &&
        LOGBUF_EXCHANGE(&h->consumer_wait, 0u, LOGBUF_SEQ_CST) != 0) {
#ifdef __linux__
        /* The shared futex (no FUTEX_PRIVATE_FLAG): the word is in memory
         * shared by processes. */
        syscall(SYS_futex, LOGBUF_CAST(void *, &h->consumer_wait), FUTEX_WAKE, 1, LOGBUF_NULL, LOGBUF_NULL, 0);
#endif
    }
}

/* ---- Producing (section 5) ---------------------------------------------- */

/* logbuf_producer writes records into a ring. It belongs to one thread. */
typedef struct logbuf_producer {
    logbuf_ring *ring;
    logbuf_party *party; /* producer table entry; NULL for an MPSC producer without one */
    uint64_t lease;      /* this process's lease in party */
    uint64_t owner;      /* entry index + 1, or 0 */
    uint64_t tail;       /* SPSC: the producer owns tail; this is the truth */
    uint64_t head_cache; /* head as last loaded; reloaded only when it says "full" */
    uint64_t records;    /* committed, not yet added to the entry's counters */
    uint64_t bytes;
    uint64_t open;   /* SPSC: claims not yet ended; it detaches only at 0 (section 8) */
    uint64_t holder; /* the holder's lease when init returned LOGBUF_ERR_PRODUCER_BUSY */
    /* Not LOGBUF_OK when logbuf_producer_init failed or the producer was
     * closed: every claim then returns it. */
    int err;
    int closing;         /* SPSC: closed with claims open; detach at the last end */
    int release_commits; /* registered for the consumer's barrier: release commits (7.3) */
    int attached;        /* holds party */
    /* What broke when a call returned LOGBUF_ERR_CORRUPT. Each producer has
     * its own: producers of one ring run in different threads. */
    logbuf_fault fault;
} logbuf_producer;

/* logbuf_claim is space reserved for one record: fill bytes[0..len), then
 * logbuf_commit or logbuf_abort. The consumer waits at this record until one
 * of the two, so every claim must end in one. A claim may be copied: it is
 * ended by its header word in the ring, not by the copy (section 5.3), so
 * ending any copies, in any order and any number of times, ends the record
 * once. */
typedef struct logbuf_claim {
    unsigned char *bytes; /* the payload, len bytes */
    size_t len;
    logbuf_producer *p_; /* NULL for a claim that failed, or ended through this copy */
    uint64_t pos_;       /* the record's position (its header word) */
} logbuf_claim;

static inline logbuf_atomic64 *logbuf_i_word(const logbuf_ring *r, uint64_t off) {
    return LOGBUF_CAST(logbuf_atomic64 *, LOGBUF_CAST(void *, r->data + off));
}

static inline uint64_t logbuf_i_record_size(uint64_t n) { return (n + LOGBUF_WORD_SIZE + 7) & ~UINT64_C(7); }

static inline uint64_t logbuf_i_word_of(unsigned kind, uint64_t len) {
    return LOGBUF_CAST(uint64_t, kind) << LOGBUF_WORD_KIND_SHIFT | (len & LOGBUF_WORD_LEN_MASK);
}

static inline uint64_t logbuf_i_lap(const logbuf_ring *r, uint64_t pos) {
    return (pos >> r->lap_shift) & LOGBUF_WORD_LAP_MASK;
}

/* logbuf_i_stamp is the CLAIMED word of a claim of n bytes at pos by owner. */
static inline uint64_t logbuf_i_stamp(const logbuf_ring *r, uint64_t pos, uint64_t n, uint64_t owner) {
    return logbuf_i_word_of(LOGBUF_KIND_CLAIMED, n) | owner << LOGBUF_WORD_OWNER_SHIFT |
           logbuf_i_lap(r, pos) << LOGBUF_WORD_LAP_SHIFT;
}

/* logbuf_i_take_entry attaches an MPSC producer to the producer table
 * (section 8): the first entry not ATTACHED, else the first whose holder is
 * gone; 0 (no entry) when every entry is held. */
static inline uint64_t logbuf_i_take_entry(logbuf_header *h, uint64_t mine) {
    for (int dead_only = 0; dead_only < 2; dead_only++) {
        for (unsigned i = 0; i < LOGBUF_PRODUCER_SLOTS; i++) {
            logbuf_party *e = &h->producers[i];
            uint64_t l = LOGBUF_LOAD(&e->lease, LOGBUF_SEQ_CST);
            int attached = logbuf_lease_state(l) == LOGBUF_STATE_ATTACHED;
            if (attached != dead_only || logbuf_lease_malformed(l, 1) || (attached && logbuf_lease_held(l))) {
                continue; /* a malformed entry is passed over (section 8) */
            }
            if (LOGBUF_CAS(&e->lease, &l, mine, LOGBUF_SEQ_CST, LOGBUF_RELAXED)) {
                LOGBUF_STORE(&e->heartbeat, logbuf_now(), LOGBUF_RELAXED);
                return i + 1;
            }
        }
    }
    return 0;
}

/* logbuf_producer_init attaches a producer to r (section 8) and resumes at
 * the ring's tail. On an SPSC ring it takes producer table entry 0, and fails
 * with LOGBUF_ERR_PRODUCER_BUSY (p->holder names the holder: its pid is
 * logbuf_lease_pid(p->holder)) while a live producer holds it. On an MPSC
 * ring it takes the first free entry, or one whose holder is gone; with
 * every entry held it works without one (owner id 0); it passes over
 * entries whose lease is malformed. It fails with LOGBUF_ERR_CORRUPT
 * (p->fault set) when head or tail is impossible, or, on an SPSC ring, entry
 * 0's lease is malformed. A
 * producer whose init failed holds nothing and never claims: every claim
 * returns the init error. */
static inline int logbuf_producer_init(logbuf_producer *p, logbuf_ring *r) {
    memset(p, 0, sizeof *p);
    p->ring = r;
    logbuf_header *h = r->hdr;
    p->lease = logbuf_i_self_lease();
    if (!r->mpsc) {
        p->err = logbuf_i_take(&h->producers[0], LOGBUF_OFF_PRODUCER_TABLE, 1, p->lease, LOGBUF_ERR_PRODUCER_BUSY,
                               &p->holder, &p->fault);
        if (p->err != LOGBUF_OK) {
            return p->err;
        }
        p->owner = 1;
    } else {
        p->owner = logbuf_i_take_entry(h, p->lease);
    }
    if (p->owner != 0) {
        p->party = &h->producers[p->owner - 1];
        p->attached = 1;
    }
    /* After winning the entry: no other SPSC producer moves tail now. */
    p->tail = LOGBUF_LOAD(&h->tail, LOGBUF_ACQUIRE);
    p->head_cache = LOGBUF_LOAD(&h->head, LOGBUF_ACQUIRE);
    p->err = logbuf_i_check_positions(&p->fault, p->head_cache, p->tail, r->capacity);
    if (p->err != LOGBUF_OK) {
        logbuf_i_leave(p->party, p->lease, LOGBUF_STATE_DETACHED);
        p->party = LOGBUF_NULL;
        p->attached = 0;
        p->owner = 0;
        return p->err;
    }
    if (p->party != LOGBUF_NULL) {
        LOGBUF_STORE(&p->party->since, p->tail, LOGBUF_RELAXED);
    }
    p->release_commits = logbuf_i_membarrier(LOGBUF_I_MEMBARRIER_REGISTER_GLOBAL_EXPEDITED);
    return LOGBUF_OK;
}

/* logbuf_i_publish_counts runs when a claim reloads head and at detach:
 * section 3 asks producers to publish their counters then, and section 8
 * suggests it as the cheap moment for a heartbeat. */
static inline void logbuf_i_publish_counts(logbuf_producer *p) {
    if (p->party != LOGBUF_NULL) {
        if (p->records != 0) {
            LOGBUF_ADD(&p->party->records, p->records, LOGBUF_RELAXED);
            LOGBUF_ADD(&p->party->bytes, p->bytes, LOGBUF_RELAXED);
            p->records = p->bytes = 0;
        }
        LOGBUF_STORE(&p->party->heartbeat, logbuf_now(), LOGBUF_RELAXED);
    }
}

/* logbuf_i_full counts a refused claim (section 5.1); a ring whose consumer
 * closed it for good gives LOGBUF_ERR_RING_CLOSED instead: it will not drain
 * (section 8). One load, no system call. */
static inline int logbuf_i_full(logbuf_producer *p) {
    logbuf_header *h = p->ring->hdr;
    LOGBUF_ADD(&h->full_events, 1, LOGBUF_RELAXED);
    if (logbuf_lease_state(LOGBUF_LOAD(&h->consumer.lease, LOGBUF_ACQUIRE)) == LOGBUF_STATE_CLOSED) {
        return LOGBUF_ERR_RING_CLOSED;
    }
    return LOGBUF_ERR_FULL;
}

/* logbuf_i_reload_head loads head for a claim of need bytes at tail t
 * (section 5.1). It returns 1 to ask for a retry when an MPSC producer's t
 * went stale meanwhile, LOGBUF_ERR_FULL (or RING_CLOSED) or
 * LOGBUF_ERR_CORRUPT when head is inconsistent with a tail that did not move,
 * and LOGBUF_OK when the claim fits. */
static inline int logbuf_i_reload_head(logbuf_producer *p, uint64_t t, uint64_t need) {
    logbuf_header *h = p->ring->hdr;
    const uint64_t cap = p->ring->capacity;
    /* Acquire: the consumer zeroed the space before storing head (section 6). */
    uint64_t hd = LOGBUF_LOAD(&h->head, LOGBUF_ACQUIRE);
    int stale = p->ring->mpsc && LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) != t;
    if (hd % LOGBUF_WORD_SIZE != 0) {
        return logbuf_i_bad(&p->fault, "head", LOGBUF_OFF_HEAD, hd, "not a multiple of 8");
    }
    if (t - hd > cap) {
        if (stale) {
            return 1; /* another producer moved tail while we looked */
        }
        return logbuf_i_bad(&p->fault, "head", LOGBUF_OFF_HEAD, hd, "more than capacity behind tail");
    }
    p->head_cache = hd;
    logbuf_i_publish_counts(p);
    if (need > cap - (t - hd)) {
        if (stale) {
            return 1; /* our view of tail is stale; so may be the verdict */
        }
        return logbuf_i_full(p);
    }
    return LOGBUF_OK;
}

/* logbuf_try_claim reserves n payload bytes at the tail (section 5.2) and
 * fills c. Errors: LOGBUF_ERR_FULL (the consumer has not freed enough space;
 * retry later), LOGBUF_ERR_RING_CLOSED (full, and the consumer closed the
 * ring for good), LOGBUF_ERR_CLOSED (this producer was closed),
 * LOGBUF_ERR_ZERO_LENGTH, LOGBUF_ERR_TOO_LARGE (counted in the entry's
 * "refused"), LOGBUF_ERR_CORRUPT (head or tail in the header is impossible:
 * p->fault says which; the producer claims nothing more), or the error
 * logbuf_producer_init returned. */
static inline int logbuf_try_claim(logbuf_producer *p, size_t n, logbuf_claim *c) {
    c->p_ = LOGBUF_NULL;
    c->bytes = LOGBUF_NULL;
    c->len = 0;
    if (p->err != LOGBUF_OK) {
        return p->err;
    }
    logbuf_ring *r = p->ring;
    logbuf_header *h = r->hdr;
    if (n == 0) {
        return LOGBUF_ERR_ZERO_LENGTH;
    }
    if (LOGBUF_CAST(uint64_t, n) > r->max_payload) {
        if (p->party != LOGBUF_NULL) {
            LOGBUF_ADD(&p->party->refused, 1, LOGBUF_RELAXED);
        }
        return LOGBUF_ERR_TOO_LARGE;
    }
    const uint64_t cap = r->capacity, size = logbuf_i_record_size(n);
    uint64_t t, off, need;
    for (;;) {
        if (r->mpsc) {
            t = LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED);
            if (t % LOGBUF_WORD_SIZE != 0) {
                /* Another party wrote tail: a padding word at t would reach
                 * past the data area. */
                p->err = logbuf_i_bad(&p->fault, "tail", LOGBUF_OFF_TAIL, t, "not a multiple of 8");
                return p->err;
            }
        } else {
            t = p->tail;
        }
        off = t & r->mask;
        need = off + size > cap ? size + (cap - off) : size; /* wrap rule */
        /* t - head_cache > cap when an MPSC t is older than the cached head:
         * tail moved on. */
        uint64_t used = t - p->head_cache;
        if (used > cap || need > cap - used) {
            int err = logbuf_i_reload_head(p, t, need);
            if (err == 1) {
                continue;
            }
            if (err == LOGBUF_ERR_CORRUPT) {
                p->err = err; /* section 5.1: claims nothing more */
            }
            if (err != LOGBUF_OK) {
                return err;
            }
        }
        if (!r->mpsc) {
            p->tail = t + need;
            /* Release: pairs with the consumer's load of tail (section 6). */
            LOGBUF_STORE(&h->tail, t + need, LOGBUF_RELEASE);
            break;
        }
        /* acq_rel is customary; relaxed would do (section 6). */
        if (LOGBUF_CAS(&h->tail, &t, t + need, LOGBUF_ACQ_REL, LOGBUF_RELAXED)) {
            break;
        }
    }
    if (need != size) {
        /* Padding word, release (section 5.2 step 5): written before any byte
         * of the reservation after it. */
        LOGBUF_STORE(logbuf_i_word(r, off), logbuf_i_word_of(LOGBUF_KIND_PADDING, need - size), LOGBUF_RELEASE);
        t += need - size;
        off = 0;
    }
    /* Stamp (section 5.2 step 6), before the payload; release is more than
     * enough. */
    LOGBUF_STORE(logbuf_i_word(r, off), logbuf_i_stamp(r, t, n, p->owner), LOGBUF_RELEASE);
    c->bytes = r->data + off + LOGBUF_WORD_SIZE;
    c->len = n;
    c->pos_ = t;
    c->p_ = p;
    if (!r->mpsc) {
        p->open++;
    }
    return LOGBUF_OK;
}

/* logbuf_i_detach publishes the producer's counters, gives its entry back
 * and wakes a parked consumer, which may have reached the end of the stream
 * (section 8). */
static inline void logbuf_i_detach(logbuf_producer *p) {
    logbuf_i_publish_counts(p);
    if (p->attached) {
        logbuf_i_leave(p->party, p->lease, LOGBUF_STATE_DETACHED);
        p->attached = 0;
    }
    logbuf_i_wake(p->ring->hdr, LOGBUF_SEQ_CST); /* after a seq_cst compare-and-swap */
}

/* logbuf_i_end replaces the claim's stamp with w, the committed or aborted
 * word, and reports whether this call did it (section 5.3). An MPSC claim
 * ends by a compare-and-swap from the stamp, which also decides the race with
 * a recovery. An SPSC claim ends by a check and a store: nobody else ends it
 * while this producer lives, and a claim older than a lap of the producer's
 * own tail was released long ago, whatever the word says now. The store or
 * compare-and-swap is seq_cst, or release once the process registered for
 * the consumer's barrier (7.3). */
static inline int logbuf_i_end(const logbuf_claim *c, uint64_t w) {
    logbuf_producer *p = c->p_;
    const logbuf_ring *r = p->ring;
    logbuf_atomic64 *word = logbuf_i_word(r, c->pos_ & r->mask);
    uint64_t stamp = logbuf_i_stamp(r, c->pos_, c->len, p->owner);
    logbuf_order order = p->release_commits ? LOGBUF_RELEASE : LOGBUF_SEQ_CST;
    if (r->mpsc) {
        return LOGBUF_CAS(word, &stamp, w, order, LOGBUF_RELAXED);
    }
    if (p->tail - c->pos_ > r->capacity || LOGBUF_LOAD(word, LOGBUF_RELAXED) != stamp) {
        return 0;
    }
    LOGBUF_STORE(word, w, order);
    return 1;
}

/* logbuf_i_ended counts an SPSC claim's end, and detaches the producer when
 * close waits for its last open claim (section 8). */
static inline void logbuf_i_ended(logbuf_producer *p) {
    if (!p->ring->mpsc && p->open > 0 && --p->open == 0 && p->closing) {
        p->closing = 0;
        logbuf_i_detach(p);
    }
}

/* logbuf_i_why_not says why a commit did nothing: on an MPSC ring, a word
 * that is this claim's own end (its commit or abort, within a lap) means it
 * was ended already; anything else, that the consumer recovered it. */
static inline int logbuf_i_why_not(const logbuf_claim *c) {
    logbuf_producer *p = c->p_;
    const logbuf_ring *r = p->ring;
    if (!r->mpsc) {
        return LOGBUF_ERR_CLAIM_ENDED;
    }
    uint64_t w = LOGBUF_LOAD(logbuf_i_word(r, c->pos_ & r->mask), LOGBUF_ACQUIRE);
    if ((w == logbuf_i_word_of(LOGBUF_KIND_COMMITTED, c->len) ||
         w == logbuf_i_word_of(LOGBUF_KIND_ABORTED, logbuf_i_record_size(c->len))) &&
        LOGBUF_LOAD(&r->hdr->tail, LOGBUF_RELAXED) - c->pos_ <= r->capacity) {
        return LOGBUF_ERR_CLAIM_ENDED;
    }
    return LOGBUF_ERR_DISCARDED;
}

/* logbuf_commit publishes the claimed record to the consumer (section 5.3).
 * Returns LOGBUF_ERR_CLAIM_ENDED when the claim was already committed or
 * aborted (through this copy or another), and LOGBUF_ERR_DISCARDED, on an
 * MPSC ring, when the consumer recovered the claim first (the record is
 * lost; also for a copy ended after its record was read and released: the
 * ring no longer tells the two apart, so commit once). */
static inline int logbuf_commit(logbuf_claim *c) {
    logbuf_producer *p = c->p_;
    if (p == LOGBUF_NULL) {
        return LOGBUF_ERR_CLAIM_ENDED;
    }
    if (!logbuf_i_end(c, logbuf_i_word_of(LOGBUF_KIND_COMMITTED, c->len))) {
        int err = logbuf_i_why_not(c);
        c->p_ = LOGBUF_NULL;
        return err;
    }
    c->p_ = LOGBUF_NULL;
    p->records++;
    p->bytes += c->len;
    logbuf_i_wake(p->ring->hdr, p->release_commits ? LOGBUF_RELAXED : LOGBUF_SEQ_CST);
    logbuf_i_ended(p);
    return LOGBUF_OK;
}

/* logbuf_abort gives the claim's space back; the consumer skips it (section
 * 5.4). Aborting a claim already ended, through any copy, does nothing. */
static inline void logbuf_abort(logbuf_claim *c) {
    logbuf_producer *p = c->p_;
    if (p == LOGBUF_NULL) {
        return;
    }
    int won = logbuf_i_end(c, logbuf_i_word_of(LOGBUF_KIND_ABORTED, logbuf_i_record_size(c->len)));
    c->p_ = LOGBUF_NULL;
    if (won) {
        LOGBUF_ADD(&p->ring->hdr->aborts, 1, LOGBUF_RELAXED);
        logbuf_i_wake(p->ring->hdr, p->release_commits ? LOGBUF_RELAXED : LOGBUF_SEQ_CST);
        logbuf_i_ended(p);
    }
}

/* logbuf_try_write copies n bytes from buf into the ring as one record: claim,
 * copy, commit. Errors are those of logbuf_try_claim and logbuf_commit. */
static inline int logbuf_try_write(logbuf_producer *p, const void *buf, size_t n) {
    logbuf_claim c;
    int err = logbuf_try_claim(p, n, &c);
    if (err != LOGBUF_OK) {
        return err;
    }
    memcpy(c.bytes, buf, n);
    return logbuf_commit(&c);
}

/* logbuf_i_consumer_present reports whether the ring's consumer record is
 * held by a live consumer (it asks the kernel when it is ATTACHED). */
static inline int logbuf_i_consumer_present(const logbuf_ring *r) {
    return logbuf_lease_held(LOGBUF_LOAD(&r->hdr->consumer.lease, LOGBUF_ACQUIRE));
}

/* How a producer waits for space, as Go's producers do: it spins, then
 * yields for a millisecond, then sleeps in steps doubling from 16 us to 1 ms,
 * so that a ring that stays full does not cost a core. It waits whether or
 * not a consumer is attached (a consumer that is gone or detached is one
 * that has not come back yet, section 8), and refreshes its heartbeat every
 * 100 ms. */
#define LOGBUF_I_PRODUCER_SPINS 64
#define LOGBUF_I_PRODUCER_YIELD_NS UINT64_C(1000000)
#define LOGBUF_I_PRODUCER_NAP_NS UINT64_C(16000)
#define LOGBUF_I_PRODUCER_MAX_NAP_NS UINT64_C(1000000)
#define LOGBUF_I_PRODUCER_BEAT_NS UINT64_C(100000000)

/* logbuf_claim_timeout is logbuf_try_claim that waits while the ring is
 * full: for at most timeout_ns nanoseconds, or for ever when timeout_ns is
 * negative. When the time runs out with the ring still full it returns
 * LOGBUF_ERR_NO_CONSUMER if no live consumer is attached then, and
 * LOGBUF_ERR_TIMEOUT if one is (it is only slow). It stops at once with
 * LOGBUF_ERR_RING_CLOSED when the consumer closes the ring for good, and
 * returns every other error of logbuf_try_claim as it comes. */
static inline int logbuf_claim_timeout(logbuf_producer *p, size_t n, logbuf_claim *c, int64_t timeout_ns) {
    int err = logbuf_try_claim(p, n, c);
    if (err != LOGBUF_ERR_FULL) {
        return err;
    }
    const uint64_t start = logbuf_now();
    uint64_t nap = LOGBUF_I_PRODUCER_NAP_NS, beat = start;
    for (unsigned tries = 1;; tries++) {
        if (tries <= LOGBUF_I_PRODUCER_SPINS && timeout_ns != 0) {
            logbuf_i_pause();
        } else {
            uint64_t now = logbuf_now(), waited = now - start;
            if (timeout_ns >= 0 && waited >= LOGBUF_CAST(uint64_t, timeout_ns)) {
                return logbuf_i_consumer_present(p->ring) ? LOGBUF_ERR_TIMEOUT : LOGBUF_ERR_NO_CONSUMER;
            }
            if (waited < LOGBUF_I_PRODUCER_YIELD_NS) {
                sched_yield();
            } else {
                if (now - beat >= LOGBUF_I_PRODUCER_BEAT_NS && p->party != LOGBUF_NULL) {
                    beat = now;
                    LOGBUF_STORE(&p->party->heartbeat, now, LOGBUF_RELAXED);
                }
                uint64_t left = timeout_ns < 0 ? nap : LOGBUF_CAST(uint64_t, timeout_ns) - waited;
                logbuf_i_sleep(nap < left ? nap : left);
                if (nap < LOGBUF_I_PRODUCER_MAX_NAP_NS) {
                    nap *= 2;
                }
            }
        }
        err = logbuf_try_claim(p, n, c);
        if (err != LOGBUF_ERR_FULL) {
            return err;
        }
    }
}

/* logbuf_write_timeout copies n bytes from buf into the ring as one record,
 * waiting for space as logbuf_claim_timeout does. */
static inline int logbuf_write_timeout(logbuf_producer *p, const void *buf, size_t n, int64_t timeout_ns) {
    logbuf_claim c;
    int err = logbuf_claim_timeout(p, n, &c, timeout_ns);
    if (err != LOGBUF_OK) {
        return err;
    }
    memcpy(c.bytes, buf, n);
    return logbuf_commit(&c);
}

/* logbuf_count_dropped adds n to the dropped counter of the producer's entry:
 * records its caller gave up on because the ring stayed full (section 3).
 * Writers with a drop policy call it; it shows in logbuf_read_stats. */
static inline void logbuf_count_dropped(logbuf_producer *p, uint64_t n) {
    if (p->party != LOGBUF_NULL && n != 0) {
        LOGBUF_ADD(&p->party->dropped, n, LOGBUF_RELAXED);
    }
}

/* logbuf_producer_close ends the producer: claims after it fail with
 * LOGBUF_ERR_CLOSED, claims already made may still be committed. It
 * publishes the counters, gives the table entry back (DETACHED, section 8)
 * and wakes a parked consumer, which may have reached the end. An SPSC
 * producer with claims open detaches when the last of them ends: it never
 * leaves a claim behind its detach. Closing a producer whose init failed, or
 * closing twice, does nothing. */
static inline void logbuf_producer_close(logbuf_producer *p) {
    if (p->err != LOGBUF_OK && p->err != LOGBUF_ERR_CORRUPT) {
        return;
    }
    int corrupt = p->err == LOGBUF_ERR_CORRUPT;
    p->err = LOGBUF_ERR_CLOSED;
    if (corrupt && !p->attached) {
        return;
    }
    if (!p->ring->mpsc && p->open > 0) {
        p->closing = 1;
        return;
    }
    logbuf_i_detach(p);
}

/* ---- Consuming (section 7) ---------------------------------------------- */

/* logbuf_stuck describes a record that stayed uncommitted at the head of the
 * ring for longer than the unblock timeout (section 9), as Go's ring.Stuck. */
typedef struct logbuf_stuck {
    uint64_t pos;     /* position of the record's header word */
    uint64_t word;    /* the word seen there: 0 (reserved, not stamped) or a CLAIMED stamp */
    uint64_t size;    /* bytes of the region, header word included */
    uint64_t for_ns;  /* how long the consumer saw the same word there */
    uint32_t owner;   /* owner id from the stamp (entry index + 1); 0 when unknown */
    uint32_t pid;     /* the owner's pid from its entry's lease; 0 when unknown */
    int alive;        /* whether the owner's process may still be alive */
    int recovered;    /* 1: turned into an UNBLOCKED skip; 0: reported only (SPSC, owner alive) */
} logbuf_stuck;

/* logbuf_stuck_fn is called for every recovery, and once for a stuck record
 * the consumer may not recover. It runs on the consumer's thread and must
 * not block. */
typedef void (*logbuf_stuck_fn)(void *ctx, const logbuf_stuck *s);

/* LOGBUF_UNBLOCK_TIMEOUT_NS is the default unblock timeout: 5 s, far longer
 * than any pause a live producer takes between claim and commit (section 9). */
#define LOGBUF_UNBLOCK_TIMEOUT_NS INT64_C(5000000000)

/* logbuf_consumer reads a ring's records in order. There is one per ring, and
 * it belongs to one thread. */
typedef struct logbuf_consumer {
    logbuf_ring *ring;
    uint64_t head;       /* released: what the header's head says */
    uint64_t next;       /* read cursor: [head, next) is read, not released */
    uint64_t tail_cache; /* tail as last loaded, for validation */
    uint64_t pending_records, pending_bytes; /* committed records in [head, next) */
    uint64_t total_records, total_bytes;     /* read_records, read_bytes as published */
    uint64_t lease;                          /* this process's lease in the consumer record */
    uint64_t holder;       /* the holder's lease when init returned LOGBUF_ERR_CONSUMER_BUSY */
    uint64_t live_checked; /* when producers' liveness was last checked */
    uint64_t parks, timeouts; /* futex waits, and those that ran out (for tests and monitoring) */
    /* Recovery (section 9): the timeout (<0 never), the callback, and the
     * record under watch. */
    int64_t unblock_timeout_ns;
    logbuf_stuck_fn on_stuck;
    void *on_stuck_ctx;
    uint64_t watch_pos, watch_word, watch_tail0, watch_since, watch_next;
    int watching, watch_reported;
    int err;      /* sticky: LOGBUF_ERR_CORRUPT once the ring broke a rule, LOGBUF_ERR_CLOSED */
    int attached; /* holds the consumer record */
    /* Set by logbuf_consumer_interrupt from any thread; read and written
     * only with __atomic builtins (a plain field keeps the struct trivial
     * in C++). */
    uint32_t interrupted_;
    uint32_t reserved_;
    logbuf_fault fault; /* what broke, when err is LOGBUF_ERR_CORRUPT */
} logbuf_consumer;

/* logbuf_record is one committed record, valid until the next logbuf_release. */
typedef struct logbuf_record {
    const unsigned char *bytes;
    size_t len;
    uint64_t pos; /* ring position of its header word: unique for the life of the ring */
    uint64_t seq; /* its sequence number: committed records released before it, ever (7.2) */
} logbuf_record;

/* logbuf_i_zero zeroes n bytes of the data area from position pos, across
 * the wrap point if need be. */
static inline void logbuf_i_zero(logbuf_ring *r, uint64_t pos, uint64_t n) {
    uint64_t from = pos & r->mask;
    if (from + n <= r->capacity) {
        memset(r->data + from, 0, LOGBUF_CAST(size_t, n));
    } else {
        memset(r->data + from, 0, LOGBUF_CAST(size_t, r->capacity - from));
        memset(r->data, 0, LOGBUF_CAST(size_t, n - (r->capacity - from)));
    }
}

/* logbuf_i_resume positions a new consumer at the region's head, after
 * finishing a release that a consumer before it began and did not end
 * (section 7.2): without that, the bytes it had zeroed would read as a
 * reservation not yet stamped, and records it had delivered would be read
 * again from half-zeroed bytes. */
static inline int logbuf_i_resume(logbuf_consumer *c) {
    logbuf_ring *r = c->ring;
    logbuf_header *h = r->hdr;
    uint64_t head = LOGBUF_LOAD(&h->head, LOGBUF_ACQUIRE), tail = LOGBUF_LOAD(&h->tail, LOGBUF_ACQUIRE);
    int err = logbuf_i_check_positions(&c->fault, head, tail, r->capacity);
    if (err != LOGBUF_OK) {
        return err;
    }
    uint64_t rel = LOGBUF_LOAD(&h->releasing, LOGBUF_ACQUIRE);
    if (rel != head) {
        uint64_t span = rel - head;
        if (rel % LOGBUF_WORD_SIZE != 0 || span > tail - head) {
            return logbuf_i_bad(&c->fault, "releasing", LOGBUF_OFF_RELEASING, rel,
                                "not a multiple of 8 between head and tail");
        }
        uint64_t recs = LOGBUF_LOAD(&h->releasing_records, LOGBUF_RELAXED);
        uint64_t bytes = LOGBUF_LOAD(&h->releasing_bytes, LOGBUF_RELAXED);
        if (recs - LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED) > span / logbuf_i_record_size(1)) {
            return logbuf_i_bad(&c->fault, "releasing_records", LOGBUF_OFF_RELEASING_RECORDS, recs,
                                "more records after read_records than the released span can hold");
        }
        if (bytes - LOGBUF_LOAD(&h->read_bytes, LOGBUF_RELAXED) > span) {
            return logbuf_i_bad(&c->fault, "releasing_bytes", LOGBUF_OFF_RELEASING_BYTES, bytes,
                                "more payload bytes after read_bytes than the released span holds");
        }
        logbuf_i_zero(r, head, span);
        LOGBUF_STORE(&h->read_records, recs, LOGBUF_RELAXED);
        LOGBUF_STORE(&h->read_bytes, bytes, LOGBUF_RELAXED);
        head = rel;
        /* Release, after the zeroing (section 6). */
        LOGBUF_STORE(&h->head, head, LOGBUF_RELEASE);
    }
    c->head = c->next = head;
    c->tail_cache = tail;
    c->total_records = LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED);
    c->total_bytes = LOGBUF_LOAD(&h->read_bytes, LOGBUF_RELAXED);
    return LOGBUF_OK;
}

/* logbuf_consumer_init attaches the consumer of r (section 8): a
 * compare-and-swap of the consumer record's lease, which takes over a
 * consumer whose process is gone and reopens a ring closed for good. It
 * fails with LOGBUF_ERR_CONSUMER_BUSY (c->holder names the holder: its pid is
 * logbuf_lease_pid(c->holder)) while a live consumer holds the ring, in this
 * process or another. It resumes at the ring's head: records already
 * released are not seen again, records a previous consumer read but did not
 * release are read again, and a release it left half done is finished first
 * (section 7.2). It fails with LOGBUF_ERR_CORRUPT (c->fault set, and every
 * later call failing the same way) when the consumer record's lease is
 * malformed, or head, tail, releasing or its counts are impossible. */
static inline int logbuf_consumer_init(logbuf_consumer *c, logbuf_ring *r) {
    memset(c, 0, sizeof *c);
    c->ring = r;
    c->unblock_timeout_ns = LOGBUF_UNBLOCK_TIMEOUT_NS;
    logbuf_header *h = r->hdr;
    c->lease = logbuf_i_self_lease();
    c->err = logbuf_i_take(&h->consumer, LOGBUF_OFF_CONSUMER, 0, c->lease, LOGBUF_ERR_CONSUMER_BUSY, &c->holder,
                           &c->fault);
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    c->err = logbuf_i_resume(c);
    if (c->err != LOGBUF_OK) {
        logbuf_i_leave(&h->consumer, c->lease, LOGBUF_STATE_DETACHED);
        return c->err;
    }
    c->attached = 1;
    LOGBUF_STORE(&h->consumer.since, c->head, LOGBUF_RELAXED);
    return LOGBUF_OK;
}

/* logbuf_consumer_set_recovery sets how the consumer deals with a record its
 * producer claimed but neither committed nor aborted (section 9). When the
 * consumer, waiting in logbuf_poll, has seen the same uncommitted word at
 * head for longer than timeout_ns, it recovers the region if the ring is MPSC
 * or the producer that made the claim is gone: a compare-and-swap from the
 * word it saw to an UNBLOCKED skip, so that a producer that was only slow
 * gets LOGBUF_ERR_DISCARDED from its commit. fn, if not NULL, is called for
 * every recovery and once for a record it may not recover. timeout_ns 0
 * means LOGBUF_UNBLOCK_TIMEOUT_NS, negative never. */
static inline void logbuf_consumer_set_recovery(logbuf_consumer *c, int64_t timeout_ns, logbuf_stuck_fn fn,
                                                void *ctx) {
    c->unblock_timeout_ns = timeout_ns == 0 ? LOGBUF_UNBLOCK_TIMEOUT_NS : timeout_ns;
    c->on_stuck = fn;
    c->on_stuck_ctx = ctx;
}

static inline int logbuf_i_corrupt(logbuf_consumer *c, uint64_t pos, uint64_t w, const char *reason) {
    c->err = logbuf_i_bad(&c->fault, "record", pos, w, reason);
    return c->err;
}

/* logbuf_i_tail_ok validates a tail the consumer loaded (spec 7.1, step 3):
 * a multiple of 8, not behind the read cursor (tail never moves back, whether
 * or not the records before the cursor are released yet), at most capacity
 * ahead of the released head. */
static const char logbuf_i_tail_rule[] =
    "not a multiple of 8 between the read cursor and capacity ahead of head";
static inline int logbuf_i_tail_ok(const logbuf_consumer *c, uint64_t t) {
    return t % LOGBUF_WORD_SIZE == 0 && t - c->head <= c->ring->capacity &&
           t - c->head >= c->next - c->head;
}

/* logbuf_i_peek decodes and validates the header word at the read cursor
 * (section 7.1, in the spec's order). On LOGBUF_OK, *size is the record's
 * size and rec the payload of a committed record (bytes NULL for a skip):
 * every byte of it lies inside the data area and before tail. A CLAIMED
 * word, once valid, is LOGBUF_ERR_EMPTY: a producer is writing it. */
static inline int logbuf_i_peek(logbuf_consumer *c, logbuf_record *rec, uint64_t *size, logbuf_order order) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_ring *r = c->ring;
    const uint64_t pos = c->next, cap = r->capacity;
    if (pos - c->head >= cap) {
        return LOGBUF_ERR_EMPTY; /* step 1: a whole ring read and not released */
    }
    const uint64_t off = pos & r->mask;
    /* Acquire: pairs with the commit's release; the payload is visible. */
    uint64_t w = LOGBUF_LOAD(logbuf_i_word(r, off), order);
    if (w == 0) {
        return LOGBUF_ERR_EMPTY;
    }
    unsigned kind = LOGBUF_CAST(unsigned, w >> LOGBUF_WORD_KIND_SHIFT);
    uint64_t len = w & LOGBUF_WORD_LEN_MASK;
    int known = kind == LOGBUF_KIND_CLAIMED || kind == LOGBUF_KIND_COMMITTED || kind == LOGBUF_KIND_PADDING ||
                kind == LOGBUF_KIND_ABORTED || kind == LOGBUF_KIND_UNBLOCKED;
    if (!known || (kind != LOGBUF_KIND_CLAIMED && ((w >> LOGBUF_WORD_LAP_SHIFT) & UINT64_C(0xFFFFFF)) != 0)) {
        return logbuf_i_corrupt(c, pos, w, "unknown kind, or lap/owner bits outside a CLAIMED stamp");
    }
    uint64_t sz;
    if (kind == LOGBUF_KIND_CLAIMED) {
        uint64_t owner = (w >> LOGBUF_WORD_OWNER_SHIFT) & LOGBUF_WORD_OWNER_MASK;
        if (len == 0 || len > r->max_payload) {
            return logbuf_i_corrupt(c, pos, w, "CLAIMED stamp with a payload length not in [1, max_payload]");
        }
        if (((w >> LOGBUF_WORD_LAP_SHIFT) & LOGBUF_WORD_LAP_MASK) != logbuf_i_lap(r, pos)) {
            return logbuf_i_corrupt(c, pos, w, "CLAIMED stamp of another lap than its position's");
        }
        if (r->mpsc ? owner > LOGBUF_PRODUCER_SLOTS : owner != 1) {
            return logbuf_i_corrupt(c, pos, w,
                                    r->mpsc ? "CLAIMED stamp of an owner above the 32 table entries"
                                            : "CLAIMED stamp of an owner other than 1 on an SPSC ring");
        }
        sz = logbuf_i_record_size(len);
    } else if (kind == LOGBUF_KIND_COMMITTED) {
        if (len == 0 || len > r->max_payload) {
            return logbuf_i_corrupt(c, pos, w, "payload length not in [1, max_payload]");
        }
        sz = logbuf_i_record_size(len);
    } else {
        sz = len;
        if (sz < LOGBUF_WORD_SIZE || sz % LOGBUF_WORD_SIZE != 0) {
            return logbuf_i_corrupt(c, pos, w, "skip length is not a positive multiple of 8");
        }
        if (kind == LOGBUF_KIND_ABORTED && sz > logbuf_i_record_size(r->max_payload)) {
            return logbuf_i_corrupt(c, pos, w, "aborted record larger than any claim");
        }
        if (kind == LOGBUF_KIND_PADDING && off + sz != cap) {
            return logbuf_i_corrupt(c, pos, w, "padding does not end at the wrap point");
        }
    }
    if (off + sz > cap) {
        return logbuf_i_corrupt(c, pos, w, "record crosses the end of the data area");
    }
    uint64_t avail = c->tail_cache - pos;
    if (avail > cap || avail < sz) {
        /* Acquire is customary; relaxed would do (section 6). */
        uint64_t t = LOGBUF_LOAD(&r->hdr->tail, LOGBUF_ACQUIRE);
        if (!logbuf_i_tail_ok(c, t)) {
            c->err = logbuf_i_bad(&c->fault, "tail", LOGBUF_OFF_TAIL, t, logbuf_i_tail_rule);
            return c->err;
        }
        c->tail_cache = t;
        avail = t - pos;
        if (avail > cap || avail < sz) {
            return logbuf_i_corrupt(c, pos, w, "record runs past tail");
        }
    }
    if (kind == LOGBUF_KIND_CLAIMED) {
        return LOGBUF_ERR_EMPTY; /* step 4: a producer is writing it */
    }
    *size = sz;
    rec->pos = pos;
    rec->seq = c->total_records + c->pending_records;
    if (kind == LOGBUF_KIND_COMMITTED) {
        rec->bytes = r->data + off + LOGBUF_WORD_SIZE;
        rec->len = LOGBUF_CAST(size_t, len);
    } else {
        rec->bytes = LOGBUF_NULL;
        rec->len = 0;
    }
    return LOGBUF_OK;
}

/* logbuf_i_announce publishes, before any byte of [head, next) is zeroed,
 * where the release under way ends and what read_records and read_bytes
 * will then be, for a consumer that takes over if this one dies mid-release
 * (section 7.2 step 1). Relaxed: they are read only after this process is
 * gone (section 6). */
static inline void logbuf_i_announce(logbuf_consumer *c) {
    logbuf_header *h = c->ring->hdr;
    LOGBUF_STORE(&h->releasing_records, c->total_records + c->pending_records, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->releasing_bytes, c->total_bytes + c->pending_bytes, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->releasing, c->next, LOGBUF_RELAXED);
}

/* logbuf_i_advance publishes the read counters and then head, once
 * [head, next) is zeroed (section 7.2 step 3). */
static inline void logbuf_i_advance(logbuf_consumer *c) {
    logbuf_header *h = c->ring->hdr;
    if (c->pending_records != 0) {
        c->total_records += c->pending_records;
        c->total_bytes += c->pending_bytes;
        c->pending_records = c->pending_bytes = 0;
        LOGBUF_STORE(&h->read_records, c->total_records, LOGBUF_RELAXED);
        LOGBUF_STORE(&h->read_bytes, c->total_bytes, LOGBUF_RELAXED);
    }
    c->head = c->next;
    /* Release, after the zeroing: a producer that loads this head (acquire)
     * sees zeros in the space it gets back (section 6). */
    LOGBUF_STORE(&h->head, c->head, LOGBUF_RELEASE);
}

/* logbuf_release zeroes every record read since the last release, skips
 * included, and gives the space back with one store of head (section 7.2).
 * Records read before it must not be used after it. */
static inline void logbuf_release(logbuf_consumer *c) {
    if (c->next == c->head || c->err == LOGBUF_ERR_CLOSED) {
        return;
    }
    logbuf_i_announce(c);
    logbuf_i_zero(c->ring, c->head, c->next - c->head);
    logbuf_i_advance(c);
}

/* logbuf_try_read returns the next committed record in *rec, passing over
 * skips. It returns LOGBUF_ERR_EMPTY when nothing is ready, and
 * LOGBUF_ERR_CORRUPT (from then on, with c->fault set) when the ring breaks
 * the protocol. The record stays valid, its space held, until
 * logbuf_release. */
static inline int logbuf_try_read(logbuf_consumer *c, logbuf_record *rec) {
    for (;;) {
        uint64_t size = 0;
        int err = logbuf_i_peek(c, rec, &size, LOGBUF_ACQUIRE);
        if (err != LOGBUF_OK) {
            if (err == LOGBUF_ERR_EMPTY && c->pending_records == 0 && c->next != c->head) {
                logbuf_release(c); /* only skips were passed: give them back now */
            }
            return err;
        }
        c->next += size;
        if (rec->bytes != LOGBUF_NULL) {
            c->pending_records++;
            c->pending_bytes += rec->len;
            return LOGBUF_OK;
        }
    }
}

/* logbuf_record_fn is logbuf_consume's callback: it gets one record's payload,
 * valid only until it returns, and returns 0 to go on or anything else to
 * end the batch after this record. */
typedef int (*logbuf_record_fn)(void *ctx, const unsigned char *bytes, size_t len);

/* logbuf_consume reads up to max ready records, in order, calling fn(ctx,
 * bytes, len) for each, as libbpf's ring_buffer__consume does. Each record
 * (and each skip) is zeroed as soon as fn returns, and head is stored once
 * for the batch (section 7.2): record-by-record zeroing let the Go consumer
 * prefetch the next records while the cursor was still behind them, 2.5x
 * faster than reading the batch's header words first (BENCHMARKS.md).
 * Records read with logbuf_try_read and not released yet are released
 * first.
 *
 * It returns how many records it delivered (0 when none was ready), or
 * LOGBUF_ERR_CORRUPT (c->fault set) when the ring broke a rule before any
 * record of this call was delivered; a corruption met later in the batch
 * ends it, and the next call reports it. */
static inline int logbuf_consume(logbuf_consumer *c, size_t max, logbuf_record_fn fn, void *ctx) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_release(c); /* what logbuf_try_read handed out */
    logbuf_ring *r = c->ring;
    int n = 0, err = LOGBUF_OK;
    while (LOGBUF_CAST(size_t, n) < max && n < INT32_MAX) {
        logbuf_record rec;
        uint64_t size = 0;
        err = logbuf_i_peek(c, &rec, &size, LOGBUF_ACQUIRE);
        if (err != LOGBUF_OK) {
            break;
        }
        const uint64_t pos = c->next;
        c->next += size;
        int stop = 0;
        if (rec.bytes != LOGBUF_NULL) {
            c->pending_records++;
            c->pending_bytes += rec.len;
            stop = fn(ctx, rec.bytes, rec.len);
            n++;
        }
        logbuf_i_announce(c); /* releasing covers every byte begun to be zeroed */
        logbuf_i_zero(r, pos, size);
        if (stop) {
            break;
        }
    }
    if (c->next != c->head) {
        logbuf_i_advance(c);
    }
    if (n == 0 && err == LOGBUF_ERR_CORRUPT) {
        return err;
    }
    return n;
}

/* logbuf_i_drained reports whether the consumer has reached the end of the
 * stream (section 8): the producers are done, nothing is ready at the read
 * cursor, and tail, loaded after the entries, is the read cursor. */
static inline int logbuf_i_drained(logbuf_consumer *c, int check_live) {
    logbuf_record rec;
    uint64_t size;
    logbuf_header *h = c->ring->hdr;
    return logbuf_i_producers_done(h, check_live) &&
           logbuf_i_peek(c, &rec, &size, LOGBUF_SEQ_CST) == LOGBUF_ERR_EMPTY &&
           LOGBUF_LOAD(&h->tail, LOGBUF_SEQ_CST) == c->next;
}

/* logbuf_i_unblock recovers the record under watch (section 9), or reports
 * it once when the ring is SPSC and the producer that made the claim is
 * alive. It reports whether it recovered it. */
static inline int logbuf_i_unblock(logbuf_consumer *c, uint64_t now) {
    logbuf_ring *r = c->ring;
    logbuf_header *h = r->hdr;
    const uint64_t pos = c->watch_pos, word = c->watch_word, off = pos & r->mask;
    logbuf_stuck st;
    memset(&st, 0, sizeof st);
    st.pos = pos;
    st.word = word;
    st.for_ns = now - c->watch_since;
    if (word == 0) {
        /* Reserved, not stamped. A producer writes nothing before its stamp
         * (5.2), so the region runs to the first non-zero word: the next
         * record's stamp or padding. The scan stops at the wrap point, and
         * at the tail seen when the watch began: a reservation made since
         * then is new, not stuck, and must not be taken. */
        uint64_t limit = c->watch_tail0 - pos < r->capacity - off ? c->watch_tail0 - pos : r->capacity - off;
        st.size = limit;
        for (uint64_t s = LOGBUF_WORD_SIZE; s < limit; s += LOGBUF_WORD_SIZE) {
            if (LOGBUF_LOAD(logbuf_i_word(r, off + s), LOGBUF_ACQUIRE) != 0) {
                st.size = s;
                break;
            }
        }
    } else {
        /* logbuf_i_peek validated the stamp when it met it (7.1). */
        st.size = logbuf_i_record_size(word & LOGBUF_WORD_LEN_MASK);
        st.owner = LOGBUF_CAST(uint32_t, (word >> LOGBUF_WORD_OWNER_SHIFT) & LOGBUF_WORD_OWNER_MASK);
    }
    if (r->mpsc) {
        if (st.owner != 0) {
            uint64_t l = LOGBUF_LOAD(&h->producers[st.owner - 1].lease, LOGBUF_SEQ_CST);
            st.pid = logbuf_lease_pid(l);
            st.alive = logbuf_lease_held(l);
        }
    } else {
        /* The holder of entry 0 made the claim unless it does not hold the
         * entry, or the claim is older than its attach (its since): then a
         * previous holder made it, which is gone, since an SPSC producer
         * detaches only with no claim open. */
        logbuf_party *e = &h->producers[0];
        uint64_t l = LOGBUF_LOAD(&e->lease, LOGBUF_SEQ_CST), since = LOGBUF_LOAD(&e->since, LOGBUF_SEQ_CST);
        st.owner = 1;
        st.pid = logbuf_lease_pid(l);
        if (LOGBUF_LOAD(&e->lease, LOGBUF_SEQ_CST) != l) {
            st.alive = 1; /* changing hands: judge it at the next look */
        } else {
            st.alive = logbuf_lease_held(l) && pos - since < UINT64_C(1) << 63;
        }
    }
    if (r->mpsc || !st.alive) {
        /* From the exact word seen: the owner's MPSC commit is a
         * compare-and-swap from its stamp, so exactly one of the two wins;
         * if this one fails, the record was ended meanwhile and is read as
         * usual. acq_rel (section 6). */
        uint64_t expected = word;
        if (!LOGBUF_CAS(logbuf_i_word(r, off), &expected, logbuf_i_word_of(LOGBUF_KIND_UNBLOCKED, st.size),
                        LOGBUF_ACQ_REL, LOGBUF_ACQUIRE)) {
            c->watching = 0;
            return 0;
        }
        LOGBUF_ADD(&h->unblocks, 1, LOGBUF_RELAXED);
        st.recovered = 1;
        c->watching = 0;
    } else {
        /* Look again later, in case the owner dies; report only once. */
        uint64_t again = LOGBUF_CAST(uint64_t, c->unblock_timeout_ns);
        c->watch_next = now + (again < UINT64_C(1000000000) ? again : UINT64_C(1000000000));
        if (c->watch_reported) {
            return 0;
        }
        c->watch_reported = 1;
    }
    if (c->on_stuck != LOGBUF_NULL) {
        c->on_stuck(c->on_stuck_ctx, &st);
    }
    return st.recovered;
}

/* logbuf_i_check_stuck watches the record at the read cursor while the
 * consumer waits, and recovers it once it has been stuck for longer than the
 * unblock timeout (section 9). The cursor is at head here (the consumer
 * released everything before waiting), so the same word seen twice was
 * there all along. It reports whether it recovered a record. */
static inline int logbuf_i_check_stuck(logbuf_consumer *c, uint64_t now) {
    logbuf_ring *r = c->ring;
    if (c->unblock_timeout_ns < 0 || c->err != LOGBUF_OK || c->next != c->head) {
        c->watching = 0;
        return 0;
    }
    const uint64_t pos = c->next;
    uint64_t t = LOGBUF_LOAD(&r->hdr->tail, LOGBUF_ACQUIRE);
    if (!logbuf_i_tail_ok(c, t)) {
        /* The region at head would be sized by this tail: refuse it, as
         * logbuf_i_peek does when a record runs past it. */
        c->err = logbuf_i_bad(&c->fault, "tail", LOGBUF_OFF_TAIL, t, logbuf_i_tail_rule);
        c->watching = 0;
        return 0;
    }
    uint64_t word = LOGBUF_LOAD(logbuf_i_word(r, pos & r->mask), LOGBUF_ACQUIRE);
    if (t == pos || (word != 0 && (word >> LOGBUF_WORD_KIND_SHIFT) != LOGBUF_KIND_CLAIMED)) {
        c->watching = 0; /* empty, or readable */
        return 0;
    }
    if (!c->watching || c->watch_pos != pos || c->watch_word != word) {
        c->watching = 1;
        c->watch_reported = 0;
        c->watch_pos = pos;
        c->watch_word = word;
        c->watch_tail0 = t;
        c->watch_since = now;
        c->watch_next = now + LOGBUF_CAST(uint64_t, c->unblock_timeout_ns);
        return 0;
    }
    if (now < c->watch_next) {
        return 0;
    }
    return logbuf_i_unblock(c, now);
}

/* logbuf_i_interrupted reports whether logbuf_consumer_interrupt was called. */
static inline int logbuf_i_interrupted(const logbuf_consumer *c) {
    return __atomic_load_n(&c->interrupted_, __ATOMIC_SEQ_CST) != 0;
}

/* LOGBUF_I_BLIND_PARK_NS bounds a futex wait when the consumer's barrier
 * failed: a producer that commits with a release store may then lose its
 * wake-up, and this is what that costs at most (section 7.3 step 4). */
#define LOGBUF_I_BLIND_PARK_NS UINT64_C(1000000)

/* logbuf_consumer_wait parks the consumer until a producer commits, aborts or
 * detaches, or for at most timeout_ns (section 7.3). It returns LOGBUF_OK
 * when a record (or a skip, or a broken rule) may be ready, LOGBUF_EOF when
 * the end of the stream is reached, and LOGBUF_ERR_TIMEOUT when the time ran
 * out; after LOGBUF_OK call logbuf_try_read. It releases nothing: call
 * logbuf_release first, or producers waiting for space wait for the parked
 * consumer too. It asks the kernel nothing about liveness (logbuf_poll
 * does). Without futexes (not Linux) it sleeps. */
static inline int logbuf_consumer_wait(logbuf_consumer *c, uint64_t timeout_ns) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_header *h = c->ring->hdr;
    logbuf_record rec;
    uint64_t size;
    LOGBUF_STORE(&h->consumer.heartbeat, logbuf_now(), LOGBUF_RELAXED);
    /* Step 1, seq_cst: before the re-check's loads, as the producers'
     * commits and detaches are before their loads of the word. */
    LOGBUF_STORE(&h->consumer_wait, 1u, LOGBUF_SEQ_CST);
    /* Step 2: the producers that commit with release stores rely on it. */
    if (!logbuf_i_membarrier(LOGBUF_I_MEMBARRIER_GLOBAL_EXPEDITED) && timeout_ns > LOGBUF_I_BLIND_PARK_NS) {
        timeout_ns = LOGBUF_I_BLIND_PARK_NS;
    }
    int timed_out = 0;
    /* The re-check covers what wakes the consumer: a record, the end of the
     * stream (a producer detaches, then loads the word), and an interrupt
     * (stored before the word is cleared). */
    if (logbuf_i_peek(c, &rec, &size, LOGBUF_SEQ_CST) == LOGBUF_ERR_EMPTY && !logbuf_i_drained(c, 0) &&
        !logbuf_i_interrupted(c)) {
        struct timespec ts = logbuf_i_timespec(timeout_ns);
#ifdef __linux__
        long rc = syscall(SYS_futex, LOGBUF_CAST(void *, &h->consumer_wait), FUTEX_WAIT, 1, &ts, LOGBUF_NULL, 0);
        timed_out = rc != 0 && errno == ETIMEDOUT;
#else
        nanosleep(&ts, LOGBUF_NULL);
        timed_out = 1;
#endif
        c->parks++;
        c->timeouts += LOGBUF_CAST(uint64_t, timed_out);
    }
    /* Step 5: a producer that woke us stored 0 already; otherwise we do, so
     * that producers stop paying for wake-ups. */
    LOGBUF_STORE(&h->consumer_wait, 0u, LOGBUF_RELAXED);
    if (logbuf_i_interrupted(c)) {
        return LOGBUF_ERR_CLOSED;
    }
    if (logbuf_i_peek(c, &rec, &size, LOGBUF_ACQUIRE) != LOGBUF_ERR_EMPTY) {
        return LOGBUF_OK;
    }
    if (logbuf_i_drained(c, 0)) {
        return LOGBUF_EOF;
    }
    return timed_out ? LOGBUF_ERR_TIMEOUT : LOGBUF_OK;
}

/* How logbuf_poll waits, as Go's consumer does: it spins, yields, and then
 * parks on the futex for at most a slice at a time, between which it asks
 * the kernel whether the producers are alive (at most every 50 ms) and
 * watches a stuck claim. */
#define LOGBUF_I_CONSUMER_SPINS 64
#define LOGBUF_I_CONSUMER_YIELDS 16
#define LOGBUF_I_CONSUMER_SLICE_NS UINT64_C(100000000)
#define LOGBUF_I_LIVENESS_EVERY_NS UINT64_C(50000000)

/* logbuf_poll waits until a record is ready to read (logbuf_try_read or
 * logbuf_consume then delivers it), for at most timeout_ns nanoseconds, or for
 * ever when timeout_ns is negative. It first releases what was read, so that
 * producers waiting for space need not wait for it. While it waits it
 * recovers stuck claims (logbuf_consumer_set_recovery). It returns LOGBUF_OK
 * when something is ready, LOGBUF_ERR_TIMEOUT when the time ran out,
 * LOGBUF_EOF at the end of the stream (every producer that attached has
 * detached or died, and nothing is left; not final: a producer that
 * attaches later is read by the next call), LOGBUF_ERR_CLOSED after
 * logbuf_consumer_interrupt, and LOGBUF_ERR_CORRUPT. */
static inline int logbuf_poll(logbuf_consumer *c, int64_t timeout_ns) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_release(c);
    logbuf_record rec;
    uint64_t size;
    const uint64_t start = logbuf_now();
    for (unsigned i = 0;; i++) {
        int err = logbuf_i_peek(c, &rec, &size, LOGBUF_ACQUIRE);
        if (err != LOGBUF_ERR_EMPTY) {
            return err;
        }
        if (logbuf_i_interrupted(c)) {
            return LOGBUF_ERR_CLOSED;
        }
        if (i < LOGBUF_I_CONSUMER_SPINS && timeout_ns != 0) {
            logbuf_i_pause();
            continue;
        }
        if (i < LOGBUF_I_CONSUMER_SPINS + LOGBUF_I_CONSUMER_YIELDS && timeout_ns != 0) {
            sched_yield();
            continue;
        }
        uint64_t now = logbuf_now(), waited = now - start;
        int check_live = now - c->live_checked >= LOGBUF_I_LIVENESS_EVERY_NS;
        if (check_live) {
            c->live_checked = now;
        }
        if (logbuf_i_drained(c, check_live)) {
            return LOGBUF_EOF;
        }
        if (logbuf_i_check_stuck(c, now)) {
            continue; /* a claim was recovered: read on */
        }
        if (c->err != LOGBUF_OK) {
            return c->err;
        }
        if (timeout_ns >= 0 && waited >= LOGBUF_CAST(uint64_t, timeout_ns)) {
            return LOGBUF_ERR_TIMEOUT;
        }
        uint64_t slice = LOGBUF_I_CONSUMER_SLICE_NS;
        if (timeout_ns >= 0 && LOGBUF_CAST(uint64_t, timeout_ns) - waited < slice) {
            slice = LOGBUF_CAST(uint64_t, timeout_ns) - waited;
        }
        if (c->watching && c->watch_next - now + UINT64_C(1000000) < slice) {
            slice = c->watch_next - now + UINT64_C(1000000);
        }
        err = logbuf_consumer_wait(c, slice);
        if (err == LOGBUF_EOF || err == LOGBUF_ERR_CORRUPT || err == LOGBUF_ERR_CLOSED) {
            return err;
        }
    }
}

/* logbuf_consumer_interrupt makes a logbuf_poll or logbuf_consumer_wait
 * that runs in another thread return LOGBUF_ERR_CLOSED promptly, and every
 * later one too: it sets a flag they check and wakes the futex word (section
 * 7.3). It is the one function of a consumer that any thread may call; the
 * consumer's own thread then calls logbuf_consumer_close, as Go's
 * Consumer.Close does from any goroutine. */
static inline void logbuf_consumer_interrupt(logbuf_consumer *c) {
    __atomic_store_n(&c->interrupted_, 1u, __ATOMIC_SEQ_CST);
    logbuf_header *h = c->ring->hdr;
    /* After the flag: a consumer that stored 1 and then missed the flag
     * finds 0 here and does not sleep, or sleeps and is woken. */
    LOGBUF_STORE(&h->consumer_wait, 0u, LOGBUF_SEQ_CST);
#ifdef __linux__
    syscall(SYS_futex, LOGBUF_CAST(void *, &h->consumer_wait), FUTEX_WAKE, 1, LOGBUF_NULL, LOGBUF_NULL, 0);
#endif
}

/* logbuf_i_consumer_leave releases what was read and leaves the consumer
 * record in state st. */
static inline void logbuf_i_consumer_leave(logbuf_consumer *c, unsigned st) {
    if (!c->attached) {
        return;
    }
    if (c->err == LOGBUF_OK) {
        logbuf_release(c);
        c->err = LOGBUF_ERR_CLOSED;
    }
    c->attached = 0;
    logbuf_i_leave(&c->ring->hdr->consumer, c->lease, st);
}

/* logbuf_consumer_close releases what was read and detaches the consumer
 * (section 8): the ring has no consumer until one attaches, and producers
 * waiting for space keep waiting for it. Later calls on c return
 * LOGBUF_ERR_CLOSED. */
static inline void logbuf_consumer_close(logbuf_consumer *c) { logbuf_i_consumer_leave(c, LOGBUF_STATE_DETACHED); }

/* logbuf_consumer_close_ring is logbuf_consumer_close for a consumer that will
 * not come back: it leaves the consumer record CLOSED, and producers that
 * find the ring full stop with LOGBUF_ERR_RING_CLOSED. A consumer that
 * attaches later reopens the ring. */
static inline void logbuf_consumer_close_ring(logbuf_consumer *c) {
    logbuf_i_consumer_leave(c, LOGBUF_STATE_CLOSED);
}

/* ---- Statistics (sections 3 and 8) --------------------------------------- */

/* logbuf_stats is a snapshot of a ring's positions, counters and parties, as
 * Go's ring.Stats: each field exact when read, the fields not mutually
 * consistent while the ring runs. */
typedef struct logbuf_stats {
    uint64_t capacity;
    uint64_t head;            /* consumer position */
    uint64_t tail;            /* end of the newest reservation */
    uint64_t used;            /* tail - head: reserved and not yet released */
    uint64_t free_bytes;      /* capacity - used (0 when used is impossible) */
    uint64_t records_written; /* committed by producers, published in batches (section 3) */
    uint64_t bytes_written;
    uint64_t records_read; /* committed records released: the sequence of the next one */
    uint64_t bytes_read;
    uint64_t full_events; /* claims refused as full */
    uint64_t aborts;      /* claims aborted */
    uint64_t unblocks;    /* stuck claims the consumer recovered */
    uint64_t dropped;     /* records producers' callers gave up on */
    uint64_t refused;     /* records refused as too large */
    uint64_t consumer_lease; /* the consumer record's lease (logbuf_lease_*) */
    uint64_t producers;      /* producer table entries ATTACHED now */
    unsigned char ring_id[LOGBUF_RING_ID_SIZE];
    int consumer_held; /* the consumer record is held by a live consumer */
    int mpsc;
} logbuf_stats;

/* logbuf_read_stats reads the statistics of r into *s, disturbing nobody. */
static inline void logbuf_read_stats(const logbuf_ring *r, logbuf_stats *s) {
    logbuf_header *h = r->hdr;
    memset(s, 0, sizeof *s);
    s->mpsc = r->mpsc;
    s->capacity = r->capacity;
    memcpy(s->ring_id, r->ring_id, sizeof s->ring_id);
    s->head = LOGBUF_LOAD(&h->head, LOGBUF_RELAXED);
    s->records_read = LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED);
    s->bytes_read = LOGBUF_LOAD(&h->read_bytes, LOGBUF_RELAXED);
    s->full_events = LOGBUF_LOAD(&h->full_events, LOGBUF_RELAXED);
    s->aborts = LOGBUF_LOAD(&h->aborts, LOGBUF_RELAXED);
    s->unblocks = LOGBUF_LOAD(&h->unblocks, LOGBUF_RELAXED);
    s->tail = LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED);
    s->used = s->tail - s->head;
    if (s->used <= s->capacity) {
        s->free_bytes = s->capacity - s->used;
    }
    s->consumer_lease = LOGBUF_LOAD(&h->consumer.lease, LOGBUF_RELAXED);
    s->consumer_held = logbuf_lease_held(s->consumer_lease);
    for (unsigned i = 0; i < LOGBUF_PRODUCER_SLOTS; i++) {
        logbuf_party *e = &h->producers[i];
        s->records_written += LOGBUF_LOAD(&e->records, LOGBUF_RELAXED);
        s->bytes_written += LOGBUF_LOAD(&e->bytes, LOGBUF_RELAXED);
        s->dropped += LOGBUF_LOAD(&e->dropped, LOGBUF_RELAXED);
        s->refused += LOGBUF_LOAD(&e->refused, LOGBUF_RELAXED);
        if (logbuf_lease_state(LOGBUF_LOAD(&e->lease, LOGBUF_RELAXED)) == LOGBUF_STATE_ATTACHED) {
            s->producers++;
        }
    }
}

/* logbuf_party_info is one party record as read from a ring's header, as
 * Go's ring.Party. */
typedef struct logbuf_party_info {
    uint64_t lease;     /* state, pid and start time of the holder, or of the last one */
    uint64_t heartbeat; /* the holder's last sign of life, CLOCK_MONOTONIC ns */
    uint64_t since;     /* the position at which the holder attached */
    uint64_t records, bytes, dropped, refused; /* a producer entry's counters; 0 for the consumer */
    int held;      /* ATTACHED by a live process (the kernel was asked) */
    int malformed; /* a lease the state table does not define (section 8) */
} logbuf_party_info;

/* logbuf_read_party reads party record which of r into *info: the
 * consumer's for LOGBUF_PARTY_CONSUMER, producer table entry which (0 to
 * 31) otherwise. It returns 0, or -1 for an index out of range. */
#define LOGBUF_PARTY_CONSUMER (-1)
static inline int logbuf_read_party(const logbuf_ring *r, int which, logbuf_party_info *info) {
    if (which < LOGBUF_PARTY_CONSUMER || which >= LOGBUF_PRODUCER_SLOTS) {
        return -1;
    }
    logbuf_party *p = which == LOGBUF_PARTY_CONSUMER ? &r->hdr->consumer : &r->hdr->producers[which];
    info->lease = LOGBUF_LOAD(&p->lease, LOGBUF_ACQUIRE);
    info->heartbeat = LOGBUF_LOAD(&p->heartbeat, LOGBUF_RELAXED);
    info->since = LOGBUF_LOAD(&p->since, LOGBUF_RELAXED);
    info->records = LOGBUF_LOAD(&p->records, LOGBUF_RELAXED);
    info->bytes = LOGBUF_LOAD(&p->bytes, LOGBUF_RELAXED);
    info->dropped = LOGBUF_LOAD(&p->dropped, LOGBUF_RELAXED);
    info->refused = LOGBUF_LOAD(&p->refused, LOGBUF_RELAXED);
    info->held = logbuf_lease_held(info->lease);
    info->malformed = logbuf_lease_malformed(info->lease, which != LOGBUF_PARTY_CONSUMER);
    return 0;
}

#endif /* LOGBUF_H */
