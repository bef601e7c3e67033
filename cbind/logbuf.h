/* logbuf.h: producers and a consumer of logbuf ring files, in C11.
 *
 * Header-only: include it in any number of files (every function is static
 * inline). It needs C11 <stdatomic.h> (or C++11 <atomic>), POSIX open, fstat,
 * ftruncate and mmap, and on Linux the futex system call for wake-ups; nothing
 * else. It implements spec/PROTOCOL.md version 1, and the section numbers in
 * the comments below are that document's. The layout constants come from
 * logbuf_abi.h, generated from the Go package abi; the structs here are checked
 * against them at compile time.
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
 *     if (logbuf_consumer_init(&c, &ring) != LOGBUF_OK) { ... }
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
 * producer (each takes a producer table entry). There is exactly one consumer
 * per ring, in any process, and it belongs to one thread.
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
#define LOGBUF_LIB_VERSION_MINOR 1
#define LOGBUF_LIB_VERSION_PATCH 0
#define LOGBUF_LIB_VERSION_STRING "0.1.0"
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
#endif

/* Parties in different processes share these words: an atomic that needs a
 * lock would take a lock private to each process, which protects nothing. */
LOGBUF_STATIC_ASSERT(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
LOGBUF_STATIC_ASSERT(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
LOGBUF_STATIC_ASSERT(sizeof(logbuf_atomic64) == 8 && sizeof(logbuf_atomic32) == 4,
                     "atomics must have the size of their integers");

/* ---- The layout (section 3), checked against logbuf_abi.h -------------- */

/* logbuf_slot is one producer table entry. */
typedef struct logbuf_slot {
    logbuf_atomic32 pid;       /* process id, 0 when free */
    logbuf_atomic32 state;     /* LOGBUF_STATE_* */
    logbuf_atomic64 start;     /* start time of that process (section 8) */
    logbuf_atomic64 heartbeat; /* CLOCK_MONOTONIC ns of its last sign of life */
    logbuf_atomic64 records;   /* records this producer committed */
    logbuf_atomic64 bytes;     /* payload bytes this producer committed */
    unsigned char reserved_[LOGBUF_SLOT_SIZE - LOGBUF_SLOT_OFF_BYTES - 8];
} logbuf_slot;

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
    unsigned char reserved0_[LOGBUF_OFF_HEAD - LOGBUF_OFF_PRODUCER_SLOTS - 4];
    /* consumer line */
    logbuf_atomic64 head;
    logbuf_atomic64 read_records;
    logbuf_atomic64 read_bytes;
    logbuf_atomic64 unblocks;
    unsigned char reserved1_[LOGBUF_OFF_TAIL - LOGBUF_OFF_UNBLOCKS - 8];
    /* producers' line, written on every claim */
    logbuf_atomic64 tail;
    unsigned char reserved2_[LOGBUF_OFF_FULL_EVENTS - LOGBUF_OFF_TAIL - 8];
    /* producers' rare events */
    logbuf_atomic64 full_events;
    logbuf_atomic64 aborts;
    unsigned char reserved3_[LOGBUF_OFF_CONSUMER_PID - LOGBUF_OFF_ABORTS - 8];
    /* consumer liveness */
    logbuf_atomic32 consumer_pid;
    logbuf_atomic32 consumer_state;
    logbuf_atomic64 consumer_start;
    logbuf_atomic64 consumer_heartbeat;
    unsigned char reserved4_[LOGBUF_OFF_CONSUMER_WAIT - LOGBUF_OFF_CONSUMER_HEARTBEAT - 8];
    logbuf_atomic32 consumer_wait; /* futex word (section 7.1) */
    unsigned char reserved5_[LOGBUF_OFF_PRODUCER_TABLE - LOGBUF_OFF_CONSUMER_WAIT - 4];
    logbuf_slot producers[LOGBUF_PRODUCER_SLOTS];
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
LOGBUF_CHECK_FIELD(logbuf_header, head, LOGBUF_OFF_HEAD, LOGBUF_SIZE_HEAD);
LOGBUF_CHECK_FIELD(logbuf_header, read_records, LOGBUF_OFF_READ_RECORDS, LOGBUF_SIZE_READ_RECORDS);
LOGBUF_CHECK_FIELD(logbuf_header, read_bytes, LOGBUF_OFF_READ_BYTES, LOGBUF_SIZE_READ_BYTES);
LOGBUF_CHECK_FIELD(logbuf_header, unblocks, LOGBUF_OFF_UNBLOCKS, LOGBUF_SIZE_UNBLOCKS);
LOGBUF_CHECK_FIELD(logbuf_header, tail, LOGBUF_OFF_TAIL, LOGBUF_SIZE_TAIL);
LOGBUF_CHECK_FIELD(logbuf_header, full_events, LOGBUF_OFF_FULL_EVENTS, LOGBUF_SIZE_FULL_EVENTS);
LOGBUF_CHECK_FIELD(logbuf_header, aborts, LOGBUF_OFF_ABORTS, LOGBUF_SIZE_ABORTS);
LOGBUF_CHECK_FIELD(logbuf_header, consumer_pid, LOGBUF_OFF_CONSUMER_PID, LOGBUF_SIZE_CONSUMER_PID);
LOGBUF_CHECK_FIELD(logbuf_header, consumer_state, LOGBUF_OFF_CONSUMER_STATE, LOGBUF_SIZE_CONSUMER_STATE);
LOGBUF_CHECK_FIELD(logbuf_header, consumer_start, LOGBUF_OFF_CONSUMER_START, LOGBUF_SIZE_CONSUMER_START);
LOGBUF_CHECK_FIELD(logbuf_header, consumer_heartbeat, LOGBUF_OFF_CONSUMER_HEARTBEAT,
                   LOGBUF_SIZE_CONSUMER_HEARTBEAT);
LOGBUF_CHECK_FIELD(logbuf_header, consumer_wait, LOGBUF_OFF_CONSUMER_WAIT, LOGBUF_SIZE_CONSUMER_WAIT);
LOGBUF_CHECK_FIELD(logbuf_header, producers, LOGBUF_OFF_PRODUCER_TABLE, LOGBUF_SIZE_PRODUCER_TABLE);
LOGBUF_CHECK_FIELD(logbuf_slot, pid, LOGBUF_SLOT_OFF_PID, LOGBUF_SLOT_SIZE_PID);
LOGBUF_CHECK_FIELD(logbuf_slot, state, LOGBUF_SLOT_OFF_STATE, LOGBUF_SLOT_SIZE_STATE);
LOGBUF_CHECK_FIELD(logbuf_slot, start, LOGBUF_SLOT_OFF_START, LOGBUF_SLOT_SIZE_START);
LOGBUF_CHECK_FIELD(logbuf_slot, heartbeat, LOGBUF_SLOT_OFF_HEARTBEAT, LOGBUF_SLOT_SIZE_HEARTBEAT);
LOGBUF_CHECK_FIELD(logbuf_slot, records, LOGBUF_SLOT_OFF_RECORDS, LOGBUF_SLOT_SIZE_RECORDS);
LOGBUF_CHECK_FIELD(logbuf_slot, bytes, LOGBUF_SLOT_OFF_BYTES, LOGBUF_SLOT_SIZE_BYTES);
LOGBUF_STATIC_ASSERT(sizeof(logbuf_slot) == LOGBUF_SLOT_SIZE, "producer table entry size");
LOGBUF_STATIC_ASSERT(sizeof(logbuf_header) == LOGBUF_HEADER_SIZE, "region header size");

/* ---- Errors ------------------------------------------------------------ */

/* Result codes. Every function that can fail returns LOGBUF_OK or one of these;
 * the names match the Go errors of spec section 11. */
enum {
    LOGBUF_OK = 0,
    LOGBUF_ERR_FULL = -1,        /* not enough free space now; try again later */
    LOGBUF_ERR_ZERO_LENGTH = -2, /* a claim of 0 bytes */
    LOGBUF_ERR_TOO_LARGE = -3,   /* more than max_payload: never succeeds on this ring */
    LOGBUF_ERR_EMPTY = -4,       /* no committed record at head yet */
    LOGBUF_ERR_DISCARDED = -5,   /* MPSC commit lost to the consumer's recovery (section 9) */
    LOGBUF_ERR_CORRUPT = -6,     /* the region broke a rule: see the fault */
    LOGBUF_ERR_SYSTEM = -7,      /* a system call failed: see errno */
    LOGBUF_ERR_CLOSED = -8,      /* the producer or consumer was closed, or the other side is gone */
    LOGBUF_ERR_CLAIM_ENDED = -9, /* commit of a claim already committed or aborted */
    LOGBUF_ERR_BUSY = -10,       /* an SPSC ring already has a live producer */
    LOGBUF_ERR_TIMEOUT = -11,    /* a blocking call's time ran out */
    LOGBUF_EOF = -12             /* end of stream: every producer gone, the ring drained */
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
    case LOGBUF_ERR_BUSY: return "the SPSC ring already has a live producer";
    case LOGBUF_ERR_TIMEOUT: return "timed out";
    case LOGBUF_EOF: return "end of stream";
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

/* ---- Opening a ring (section 10) ---------------------------------------- */

/* logbuf_ring is an open, validated ring. The values validated at open
 * (capacity, mode) are copied here and never read from shared memory again.
 * Nothing in it changes after logbuf_open or logbuf_attach returns, so every
 * thread may use it. */
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
    /* Why logbuf_open or logbuf_attach failed with LOGBUF_ERR_CORRUPT. Only
     * they write it, before the ring is shared: producers and consumers keep
     * their own faults. */
    logbuf_fault fault;
} logbuf_ring;

static inline int logbuf_i_capacity_ok(uint64_t c) {
    return c >= LOGBUF_MIN_CAPACITY && c <= LOGBUF_MAX_CAPACITY && (c & (c - 1)) == 0;
}

/* logbuf_i_check_positions applies the reader's rule for a head and a tail
 * loaded from the header (sections 7 and 10 step 7): multiples of 8, and
 * tail - head <= capacity. */
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

/* logbuf_attach validates len bytes at mem as a region (section 10, in the
 * spec's order) and fills r. mem must be 128-byte aligned and stay mapped while
 * r is used; logbuf_close does not free it. Returns LOGBUF_ERR_CORRUPT with
 * r->fault naming the first check that failed. */
static inline int logbuf_attach(logbuf_ring *r, void *mem, size_t len) {
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
        return logbuf_i_bad(f, "version", LOGBUF_OFF_VERSION, h->version, "unsupported protocol version");
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
    return LOGBUF_OK;
}

/* logbuf_open maps the ring file at path (MAP_SHARED, read-write) and validates
 * it. The file's size is checked with fstat before any byte is read, so a
 * truncated file is an error (field "file size"), never a SIGBUS; a longer
 * file is allowed (section 10), its bytes past the data area unused. Returns
 * LOGBUF_ERR_SYSTEM with errno set when the file cannot be opened or mapped,
 * LOGBUF_ERR_CORRUPT with r->fault set when it is not a valid ring. Opening
 * changes nothing in the file. */
static inline int logbuf_open(logbuf_ring *r, const char *path) {
    memset(r, 0, sizeof *r);
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
    uint64_t size = LOGBUF_CAST(uint64_t, st.st_size);
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
    int err = logbuf_attach(r, mem, n);
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

/* logbuf_close unmaps a ring opened with logbuf_open. The file stays: a ring
 * file persists when every process has gone, and a new consumer resumes from
 * head. Calling it again, or on an attached ring, does nothing. */
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

/* ---- Time and liveness (section 8) -------------------------------------- */

/* logbuf_now is CLOCK_MONOTONIC in nanoseconds, the unit of heartbeats. */
static inline uint64_t logbuf_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return LOGBUF_CAST(uint64_t, ts.tv_sec) * UINT64_C(1000000000) + LOGBUF_CAST(uint64_t, ts.tv_nsec);
}

/* logbuf_i_sleep sleeps for ns nanoseconds (or until a signal). */
static inline void logbuf_i_sleep(uint64_t ns) {
    struct timespec ts;
    ts.tv_sec = LOGBUF_CAST(time_t, ns / 1000000000u);
    ts.tv_nsec = LOGBUF_CAST(long, ns % 1000000000u);
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
 * zombie (Z or X: dead, not yet reaped). *start is 0 when it cannot be read. */
static inline int logbuf_i_proc_stat(int pid, uint64_t *start) {
    char path[64], buf[1024];
    *start = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name (field 2) may hold spaces */
    if (p == LOGBUF_NULL) {
        return 0;
    }
    int zombie = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
    for (int field = 2; field < 22; field++) { /* walk to the space before field 22 */
        p = strchr(p + 1, ' ');
        if (p == LOGBUF_NULL) {
            return 0;
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
 * or 0 when it cannot be read. */
static inline uint64_t logbuf_start_time(int pid) {
    uint64_t start;
    (void)logbuf_i_proc_stat(pid, &start);
    return start;
}

/* logbuf_alive reports whether the process pid with the given start time (0:
 * unknown) still exists (section 8): kill(pid, 0) does not fail with ESRCH,
 * it is not a zombie, and the pid has not been reused by a process with
 * another start time. Pid 0 means "still attaching": alive. */
static inline int logbuf_alive(int pid, uint64_t start) {
    if (pid == 0) {
        return 1;
    }
    if (kill(LOGBUF_CAST(pid_t, pid), 0) != 0 && errno == ESRCH) {
        return 0;
    }
    uint64_t now;
    if (logbuf_i_proc_stat(pid, &now)) {
        return 0;
    }
    return start == 0 || now == 0 || now == start;
}

/* logbuf_i_entry_live reports whether table entry s is held by a live
 * process: attaching (treated as alive, section 8), or attached by a process
 * that exists. */
static inline int logbuf_i_entry_live(logbuf_slot *s) {
    uint32_t st = LOGBUF_LOAD(&s->state, LOGBUF_SEQ_CST);
    if (st == LOGBUF_STATE_ATTACHING) {
        return 1;
    }
    return st == LOGBUF_STATE_ATTACHED && logbuf_alive(LOGBUF_CAST(int, LOGBUF_LOAD(&s->pid, LOGBUF_RELAXED)),
                                                       LOGBUF_LOAD(&s->start, LOGBUF_RELAXED));
}

/* logbuf_i_entry_gone reports whether an attached entry's process is gone.
 * The entry is read again after the verdict (section 8): a producer taking
 * it over stores its pid just after taking it, and must not be judged by the
 * pid it replaces. */
static inline int logbuf_i_entry_gone(logbuf_slot *s) {
    uint32_t pid = LOGBUF_LOAD(&s->pid, LOGBUF_SEQ_CST);
    uint64_t start = LOGBUF_LOAD(&s->start, LOGBUF_SEQ_CST);
    if (logbuf_alive(LOGBUF_CAST(int, pid), start)) {
        return 0;
    }
    return LOGBUF_LOAD(&s->state, LOGBUF_SEQ_CST) == LOGBUF_STATE_ATTACHED &&
           LOGBUF_LOAD(&s->pid, LOGBUF_SEQ_CST) == pid && LOGBUF_LOAD(&s->start, LOGBUF_SEQ_CST) == start;
}

/* logbuf_i_producers_done reports whether at least one producer attached to
 * the ring and none is attached now (section 8's end of the ring). An entry
 * still attached counts as gone only when check_live allows asking the
 * kernel and its process is not alive. A state no version defines holds the
 * verdict back: the end is never reported on doubt. */
static inline int logbuf_i_producers_done(logbuf_header *h, int check_live) {
    int seen = 0;
    for (unsigned i = 0; i < LOGBUF_PRODUCER_SLOTS; i++) {
        logbuf_slot *s = &h->producers[i];
        switch (LOGBUF_LOAD(&s->state, LOGBUF_SEQ_CST)) {
        case LOGBUF_STATE_FREE:
            break;
        case LOGBUF_STATE_CLOSED:
            seen = 1;
            break;
        case LOGBUF_STATE_ATTACHED:
            if (!check_live || !logbuf_i_entry_gone(s)) {
                return 0;
            }
            seen = 1;
            break;
        default:
            return 0;
        }
    }
    return seen;
}

/* logbuf_consumer_gone reports whether the ring's consumer has closed it or
 * its process is no longer alive (section 8): a producer that keeps finding
 * the ring full may then stop instead of waiting. It returns 0 while no
 * consumer has attached yet. The state persists in the file: a consumer that
 * closed stays "gone" until the next one attaches. */
static inline int logbuf_consumer_gone(const logbuf_ring *r) {
    logbuf_header *h = r->hdr;
    uint32_t state = LOGBUF_LOAD(&h->consumer_state, LOGBUF_ACQUIRE);
    if (state == LOGBUF_STATE_CLOSED) {
        return 1;
    }
    if (state != LOGBUF_STATE_ATTACHED) {
        return 0;
    }
    uint32_t pid = LOGBUF_LOAD(&h->consumer_pid, LOGBUF_RELAXED);
    uint64_t start = LOGBUF_LOAD(&h->consumer_start, LOGBUF_RELAXED);
    return pid != 0 && !logbuf_alive(LOGBUF_CAST(int, pid), start);
}

/* ---- Waking (section 7.1) ----------------------------------------------- */

/* logbuf_i_wake is the producer's half of section 7.1, after a commit, an
 * abort or a close: one load in the common case, a FUTEX_WAKE only when the
 * consumer is parked. The load is seq_cst and so is the store before it:
 * that is what makes either the consumer's re-check see the record (or the
 * closed entry) or this load see its flag. */
static inline void logbuf_i_wake(logbuf_header *h) {
    if (LOGBUF_LOAD(&h->consumer_wait, LOGBUF_SEQ_CST) != 0 &&
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
    logbuf_slot *slot;   /* producer table entry, NULL when the table was full */
    uint64_t owner;      /* slot index + 1, or 0 */
    uint64_t tail;       /* SPSC: the producer owns tail; this is the truth */
    uint64_t head_cache; /* head as last loaded; reloaded only when it says "full" */
    uint64_t records;    /* committed, not yet added to the slot's counters */
    uint64_t bytes;
    uint64_t live_checked; /* when the consumer's liveness was last checked */
    /* Not LOGBUF_OK when logbuf_producer_init failed or the producer was
     * closed: every claim then returns it. */
    int err;
    int closed;
    /* What broke when a call returned LOGBUF_ERR_CORRUPT. Each producer has
     * its own: producers of one ring run in different threads. */
    logbuf_fault fault;
} logbuf_producer;

/* logbuf_claim is space reserved for one record: fill bytes[0..len), then
 * logbuf_commit or logbuf_abort. The consumer waits at this record until one
 * of the two, so every claim must end in one. */
typedef struct logbuf_claim {
    unsigned char *bytes; /* the payload, len bytes */
    size_t len;
    logbuf_atomic64 *word_; /* the record header word */
    uint64_t stamp_;        /* the CLAIMED word written at claim time */
    logbuf_producer *p_;    /* NULL once committed or aborted */
    uint64_t size_;         /* record size, header included */
} logbuf_claim;

static inline logbuf_atomic64 *logbuf_i_word(const logbuf_ring *r, uint64_t off) {
    return LOGBUF_CAST(logbuf_atomic64 *, LOGBUF_CAST(void *, r->data + off));
}

static inline uint64_t logbuf_i_record_size(uint64_t n) { return (n + LOGBUF_WORD_SIZE + 7) & ~UINT64_C(7); }

static inline uint64_t logbuf_i_word_of(unsigned kind, uint64_t len) {
    return LOGBUF_CAST(uint64_t, kind) << LOGBUF_WORD_KIND_SHIFT | (len & LOGBUF_WORD_LEN_MASK);
}

/* logbuf_producer_init attaches a producer to r (section 8): it takes a
 * producer table entry that is free, closed, or held by a process that is
 * gone, and resumes at the ring's tail. A full table is not an error: the
 * producer then works with owner id 0. On an SPSC ring it fails with
 * LOGBUF_ERR_BUSY when another live producer is attached; a producer without
 * an entry (table full) must make sure by itself that it is the only one.
 * It fails with LOGBUF_ERR_CORRUPT (p->fault set) when head or tail is
 * impossible. A producer whose init failed holds no entry and never claims:
 * every claim returns the init error. */
static inline int logbuf_producer_init(logbuf_producer *p, logbuf_ring *r) {
    memset(p, 0, sizeof *p);
    p->ring = r;
    logbuf_header *h = r->hdr;
    uint32_t pid = LOGBUF_CAST(uint32_t, getpid());
    uint64_t start = logbuf_start_time(LOGBUF_CAST(int, pid));
    for (uint32_t i = 0; i < LOGBUF_PRODUCER_SLOTS && p->slot == LOGBUF_NULL; i++) {
        logbuf_slot *s = &h->producers[i];
        uint32_t st = LOGBUF_LOAD(&s->state, LOGBUF_SEQ_CST);
        uint32_t dead_pid = LOGBUF_LOAD(&s->pid, LOGBUF_SEQ_CST);
        uint64_t dead_start = LOGBUF_LOAD(&s->start, LOGBUF_SEQ_CST);
        int takeover = st == LOGBUF_STATE_ATTACHED && !logbuf_alive(LOGBUF_CAST(int, dead_pid), dead_start);
        int takeable = st == LOGBUF_STATE_FREE || st == LOGBUF_STATE_CLOSED || takeover;
        /* The CAS to "attaching" makes the entry ours; seq_cst so that two
         * SPSC producers attaching at once see each other below. */
        if (takeable &&
            LOGBUF_CAS(&s->state, &st, LOGBUF_CAST(uint32_t, LOGBUF_STATE_ATTACHING), LOGBUF_SEQ_CST, LOGBUF_RELAXED)) {
            if (takeover && (LOGBUF_LOAD(&s->pid, LOGBUF_SEQ_CST) != dead_pid ||
                             LOGBUF_LOAD(&s->start, LOGBUF_SEQ_CST) != dead_start)) {
                /* Another producer took the entry over between our look and
                 * our CAS: give it back, unless its owner changed it since. */
                uint32_t mine = LOGBUF_STATE_ATTACHING;
                LOGBUF_CAS(&s->state, &mine, LOGBUF_CAST(uint32_t, LOGBUF_STATE_ATTACHED), LOGBUF_SEQ_CST,
                           LOGBUF_RELAXED);
                continue;
            }
            LOGBUF_STORE(&s->pid, pid, LOGBUF_RELAXED);
            LOGBUF_STORE(&s->start, start, LOGBUF_RELAXED);
            LOGBUF_STORE(&s->heartbeat, logbuf_now(), LOGBUF_RELAXED);
            LOGBUF_STORE(&s->state, LOGBUF_CAST(uint32_t, LOGBUF_STATE_ATTACHED), LOGBUF_SEQ_CST);
            p->slot = s;
            p->owner = i + 1;
        }
    }
    if (!r->mpsc && p->slot != LOGBUF_NULL) {
        for (uint32_t i = 0; i < LOGBUF_PRODUCER_SLOTS && p->err == LOGBUF_OK; i++) {
            logbuf_slot *s = &h->producers[i];
            if (s != p->slot && logbuf_i_entry_live(s)) {
                p->err = LOGBUF_ERR_BUSY;
            }
        }
    }
    if (p->err == LOGBUF_OK) {
        /* After attaching: a producer that closed just before us published
         * its tail before its state. Both are checked as a reader checks
         * them: an SPSC producer writes at this tail from now on. */
        p->tail = LOGBUF_LOAD(&h->tail, LOGBUF_ACQUIRE);
        p->head_cache = LOGBUF_LOAD(&h->head, LOGBUF_ACQUIRE);
        p->err = logbuf_i_check_positions(&p->fault, p->head_cache, p->tail, r->capacity);
    }
    if (p->err != LOGBUF_OK && p->slot != LOGBUF_NULL) {
        LOGBUF_STORE(&p->slot->state, LOGBUF_CAST(uint32_t, LOGBUF_STATE_CLOSED), LOGBUF_SEQ_CST);
        p->slot = LOGBUF_NULL;
        p->owner = 0;
    }
    return p->err;
}

/* logbuf_i_publish_counts runs when a claim reloads head and at close: section 3
 * asks producers to publish their counters then, and section 8 suggests it as
 * the cheap moment for a heartbeat. */
static inline void logbuf_i_publish_counts(logbuf_producer *p) {
    if (p->slot != LOGBUF_NULL) {
        if (p->records != 0) {
            LOGBUF_ADD(&p->slot->records, p->records, LOGBUF_RELAXED);
            LOGBUF_ADD(&p->slot->bytes, p->bytes, LOGBUF_RELAXED);
            p->records = p->bytes = 0;
        }
        LOGBUF_STORE(&p->slot->heartbeat, logbuf_now(), LOGBUF_RELAXED);
    }
}

/* logbuf_i_full counts a refused claim (section 5.1) and, as section 8 asks,
 * turns "full" into "closed" when the consumer has closed the ring or is gone.
 * Liveness costs system calls, so it is checked at most every 10 ms. */
static inline int logbuf_i_full(logbuf_producer *p) {
    logbuf_header *h = p->ring->hdr;
    LOGBUF_ADD(&h->full_events, 1, LOGBUF_RELAXED);
    uint32_t state = LOGBUF_LOAD(&h->consumer_state, LOGBUF_ACQUIRE);
    if (state == LOGBUF_STATE_CLOSED) {
        return LOGBUF_ERR_CLOSED;
    }
    if (state == LOGBUF_STATE_ATTACHED) {
        uint64_t now = logbuf_now();
        if (now - p->live_checked > UINT64_C(10000000)) {
            p->live_checked = now;
            if (logbuf_consumer_gone(p->ring)) {
                return LOGBUF_ERR_CLOSED;
            }
        }
    }
    return LOGBUF_ERR_FULL;
}

/* logbuf_i_reload_head loads head for a claim of need bytes at tail t
 * (section 5.1). It returns 1 to ask for a retry when an MPSC producer's t
 * went stale meanwhile, LOGBUF_ERR_FULL or LOGBUF_ERR_CORRUPT when head is
 * inconsistent with a tail that did not move, and LOGBUF_OK when the claim
 * fits. */
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
 * retry later), LOGBUF_ERR_CLOSED (this producer was closed, or the ring is
 * full and its consumer has closed it or died: section 8),
 * LOGBUF_ERR_ZERO_LENGTH, LOGBUF_ERR_TOO_LARGE, LOGBUF_ERR_CORRUPT (head or
 * tail in the header is impossible: p->fault says which), or the error
 * logbuf_producer_init returned. */
static inline int logbuf_try_claim(logbuf_producer *p, size_t n, logbuf_claim *c) {
    c->p_ = LOGBUF_NULL;
    if (p->err != LOGBUF_OK) {
        return p->err;
    }
    logbuf_ring *r = p->ring;
    logbuf_header *h = r->hdr;
    if (n == 0) {
        return LOGBUF_ERR_ZERO_LENGTH;
    }
    if (LOGBUF_CAST(uint64_t, n) > r->max_payload) {
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
                return logbuf_i_bad(&p->fault, "tail", LOGBUF_OFF_TAIL, t, "not a multiple of 8");
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
            if (err != LOGBUF_OK) {
                return err;
            }
        }
        if (!r->mpsc) {
            p->tail = t + need;
            /* Release: pairs with the consumer's acquire load of tail (section 6). */
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
    /* Stamp, release (section 5.2 step 6), before the payload. */
    uint64_t stamp = logbuf_i_word_of(LOGBUF_KIND_CLAIMED, n) | p->owner << LOGBUF_WORD_OWNER_SHIFT |
                     ((t >> r->lap_shift) & LOGBUF_WORD_LAP_MASK) << LOGBUF_WORD_LAP_SHIFT;
    c->word_ = logbuf_i_word(r, off);
    LOGBUF_STORE(c->word_, stamp, LOGBUF_RELEASE);
    c->bytes = r->data + off + LOGBUF_WORD_SIZE;
    c->len = n;
    c->stamp_ = stamp;
    c->size_ = size;
    c->p_ = p;
    return LOGBUF_OK;
}

/* logbuf_i_end ends a claim with the word w: a store in SPSC, a compare-and-swap
 * from the stamp in MPSC (sections 5.3, 5.4). Both are seq_cst, stronger than
 * section 6's release, because section 7.1 needs the commit ordered before
 * the load of consumer_wait. Returns 0 if the consumer recovered the claim
 * first. */
static inline int logbuf_i_end(logbuf_claim *c, uint64_t w) {
    if (!c->p_->ring->mpsc) {
        LOGBUF_STORE(c->word_, w, LOGBUF_SEQ_CST);
        return 1;
    }
    uint64_t expected = c->stamp_;
    return LOGBUF_CAS(c->word_, &expected, w, LOGBUF_SEQ_CST, LOGBUF_RELAXED);
}

/* logbuf_commit publishes the claimed record to the consumer (section 5.3).
 * Returns LOGBUF_ERR_DISCARDED when an MPSC consumer recovered the claim as
 * stuck first (the record is lost), LOGBUF_ERR_CLAIM_ENDED when the claim was
 * already committed or aborted. */
static inline int logbuf_commit(logbuf_claim *c) {
    logbuf_producer *p = c->p_;
    if (p == LOGBUF_NULL) {
        return LOGBUF_ERR_CLAIM_ENDED;
    }
    int won = logbuf_i_end(c, logbuf_i_word_of(LOGBUF_KIND_COMMITTED, c->len));
    c->p_ = LOGBUF_NULL;
    if (!won) {
        return LOGBUF_ERR_DISCARDED;
    }
    p->records++;
    p->bytes += c->len;
    logbuf_i_wake(p->ring->hdr);
    return LOGBUF_OK;
}

/* logbuf_abort gives the claim's space back; the consumer skips it (section
 * 5.4). Aborting a claim already ended does nothing. */
static inline void logbuf_abort(logbuf_claim *c) {
    logbuf_producer *p = c->p_;
    if (p == LOGBUF_NULL) {
        return;
    }
    int won = logbuf_i_end(c, logbuf_i_word_of(LOGBUF_KIND_ABORTED, c->size_));
    c->p_ = LOGBUF_NULL;
    if (won) {
        LOGBUF_ADD(&p->ring->hdr->aborts, 1, LOGBUF_RELAXED);
        logbuf_i_wake(p->ring->hdr);
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

/* How a producer waits for space, as Go's producers do: it spins, then
 * yields for a millisecond, then sleeps in steps doubling from 16 us to 1 ms,
 * so that a ring that stays full does not cost a core. */
#define LOGBUF_I_PRODUCER_SPINS 64
#define LOGBUF_I_PRODUCER_YIELD_NS UINT64_C(1000000)
#define LOGBUF_I_PRODUCER_NAP_NS UINT64_C(16000)
#define LOGBUF_I_PRODUCER_MAX_NAP_NS UINT64_C(1000000)

/* logbuf_claim_timeout is logbuf_try_claim that waits while the ring is
 * full: for at most timeout_ns nanoseconds, or for ever when timeout_ns is
 * negative. It returns LOGBUF_ERR_TIMEOUT when the time ran out with the
 * ring still full, and every other error of logbuf_try_claim at once
 * (LOGBUF_ERR_CLOSED among them: the consumer closed the ring or is gone). */
static inline int logbuf_claim_timeout(logbuf_producer *p, size_t n, logbuf_claim *c, int64_t timeout_ns) {
    int err = logbuf_try_claim(p, n, c);
    if (err != LOGBUF_ERR_FULL) {
        return err;
    }
    if (timeout_ns == 0) {
        return LOGBUF_ERR_TIMEOUT;
    }
    const uint64_t start = logbuf_now();
    uint64_t nap = LOGBUF_I_PRODUCER_NAP_NS;
    for (unsigned tries = 1;; tries++) {
        if (tries <= LOGBUF_I_PRODUCER_SPINS) {
            logbuf_i_pause();
        } else {
            uint64_t waited = logbuf_now() - start;
            if (timeout_ns >= 0 && waited >= LOGBUF_CAST(uint64_t, timeout_ns)) {
                return LOGBUF_ERR_TIMEOUT;
            }
            if (waited < LOGBUF_I_PRODUCER_YIELD_NS) {
                sched_yield();
            } else {
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

/* logbuf_producer_close publishes the producer's counters, gives its
 * producer table entry back (state closed, section 8) and wakes a parked
 * consumer (section 7.1), which may have reached the end of the ring. Claims
 * after it fail with LOGBUF_ERR_CLOSED; claims already made may still be
 * committed. Closing a producer whose init failed, or closing twice, does
 * nothing. */
static inline void logbuf_producer_close(logbuf_producer *p) {
    if (p->closed || p->err != LOGBUF_OK) {
        return;
    }
    p->closed = 1;
    p->err = LOGBUF_ERR_CLOSED;
    logbuf_i_publish_counts(p);
    if (p->slot != LOGBUF_NULL) {
        /* seq_cst, as a commit: the consumer's re-check before it parks
         * reads the table after its store of consumer_wait. */
        LOGBUF_STORE(&p->slot->state, LOGBUF_CAST(uint32_t, LOGBUF_STATE_CLOSED), LOGBUF_SEQ_CST);
    }
    logbuf_i_wake(p->ring->hdr);
}

/* ---- Consuming (section 7) ---------------------------------------------- */

/* logbuf_consumer reads a ring's records in order. There is one per ring, and
 * it belongs to one thread. */
typedef struct logbuf_consumer {
    logbuf_ring *ring;
    uint64_t head;       /* released: what the header's head says */
    uint64_t next;       /* read cursor: [head, next) is read, not released */
    uint64_t tail_cache; /* tail as last loaded, for validation */
    uint64_t pending_records, pending_bytes; /* committed records in [head, next) */
    uint64_t total_records, total_bytes;     /* released so far, as published */
    uint64_t live_checked;                   /* when producers' liveness was last checked */
    uint64_t parks, timeouts; /* futex waits, and those that ran out (for tests and monitoring) */
    int err;      /* sticky: LOGBUF_ERR_CORRUPT once the ring broke a rule */
    int attached; /* init stored this consumer's identity in the header */
    logbuf_fault fault; /* what broke, when err is set */
} logbuf_consumer;

/* logbuf_record is one committed record, valid until the next logbuf_release. */
typedef struct logbuf_record {
    const unsigned char *bytes;
    size_t len;
} logbuf_record;

/* logbuf_consumer_init attaches the consumer of r (section 8): it records its
 * pid, start time and heartbeat, and resumes from the ring's head. It fails
 * with LOGBUF_ERR_CORRUPT (c->fault set, and every later call failing the
 * same way) when head or tail is impossible. */
static inline int logbuf_consumer_init(logbuf_consumer *c, logbuf_ring *r) {
    memset(c, 0, sizeof *c);
    logbuf_header *h = r->hdr;
    c->ring = r;
    c->head = c->next = LOGBUF_LOAD(&h->head, LOGBUF_ACQUIRE);
    c->tail_cache = LOGBUF_LOAD(&h->tail, LOGBUF_ACQUIRE);
    c->err = logbuf_i_check_positions(&c->fault, c->head, c->tail_cache, r->capacity);
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    c->total_records = LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED);
    c->total_bytes = LOGBUF_LOAD(&h->read_bytes, LOGBUF_RELAXED);
    int pid = LOGBUF_CAST(int, getpid());
    LOGBUF_STORE(&h->consumer_pid, LOGBUF_CAST(uint32_t, pid), LOGBUF_RELAXED);
    LOGBUF_STORE(&h->consumer_start, logbuf_start_time(pid), LOGBUF_RELAXED);
    LOGBUF_STORE(&h->consumer_heartbeat, logbuf_now(), LOGBUF_RELAXED);
    LOGBUF_STORE(&h->consumer_state, LOGBUF_CAST(uint32_t, LOGBUF_STATE_ATTACHED), LOGBUF_RELEASE);
    c->attached = 1;
    return LOGBUF_OK;
}

static inline int logbuf_i_corrupt(logbuf_consumer *c, uint64_t pos, uint64_t w, const char *reason) {
    c->err = logbuf_i_bad(&c->fault, "record", pos, w, reason);
    return c->err;
}

/* logbuf_i_peek decodes and validates the header word at the read cursor
 * (section 7, steps 1-3, in the spec's order). On LOGBUF_OK, *size is the
 * record's size and rec the payload of a committed record (len 0 for a skip):
 * every byte of it lies inside the data area and before tail. */
static inline int logbuf_i_peek(logbuf_consumer *c, logbuf_record *rec, uint64_t *size, int seq_cst) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_ring *r = c->ring;
    const uint64_t pos = c->next, cap = r->capacity;
    if (pos - c->head >= cap) {
        return LOGBUF_ERR_EMPTY; /* a whole ring read and not released */
    }
    const uint64_t off = pos & r->mask;
    /* Acquire: pairs with the commit's release; the payload is visible. */
    uint64_t w = seq_cst ? LOGBUF_LOAD(logbuf_i_word(r, off), LOGBUF_SEQ_CST)
                         : LOGBUF_LOAD(logbuf_i_word(r, off), LOGBUF_ACQUIRE);
    unsigned kind = LOGBUF_CAST(unsigned, w >> LOGBUF_WORD_KIND_SHIFT);
    uint64_t len = w & LOGBUF_WORD_LEN_MASK;
    if (w == 0 || kind == LOGBUF_KIND_CLAIMED) {
        return LOGBUF_ERR_EMPTY;
    }
    int known = kind == LOGBUF_KIND_COMMITTED || kind == LOGBUF_KIND_PADDING || kind == LOGBUF_KIND_ABORTED ||
                kind == LOGBUF_KIND_UNBLOCKED;
    if (!known || ((w >> LOGBUF_WORD_LAP_SHIFT) & UINT64_C(0xFFFFFF)) != 0) {
        return logbuf_i_corrupt(c, pos, w, "unknown kind, or lap/owner bits outside a CLAIMED stamp");
    }
    uint64_t sz;
    if (kind == LOGBUF_KIND_COMMITTED) {
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
        uint64_t t = LOGBUF_LOAD(&r->hdr->tail, LOGBUF_ACQUIRE);
        if (t - c->head > cap || t % LOGBUF_WORD_SIZE != 0) {
            c->err = logbuf_i_bad(&c->fault, "tail", LOGBUF_OFF_TAIL, t,
                                  "not a multiple of 8 within capacity ahead of head");
            return c->err;
        }
        c->tail_cache = t;
        avail = t - pos;
        if (avail > cap || avail < sz) {
            return logbuf_i_corrupt(c, pos, w, "record runs past tail");
        }
    }
    *size = sz;
    if (kind == LOGBUF_KIND_COMMITTED) {
        rec->bytes = r->data + off + LOGBUF_WORD_SIZE;
        rec->len = LOGBUF_CAST(size_t, len);
    } else {
        rec->bytes = LOGBUF_NULL;
        rec->len = 0;
    }
    return LOGBUF_OK;
}

/* logbuf_i_zero zeroes n bytes of the data area from position pos, across
 * the wrap point if need be (section 7 step 5). */
static inline void logbuf_i_zero(logbuf_ring *r, uint64_t pos, uint64_t n) {
    uint64_t from = pos & r->mask;
    if (from + n <= r->capacity) {
        memset(r->data + from, 0, LOGBUF_CAST(size_t, n));
    } else {
        memset(r->data + from, 0, LOGBUF_CAST(size_t, r->capacity - from));
        memset(r->data, 0, LOGBUF_CAST(size_t, n - (r->capacity - from)));
    }
}

/* logbuf_i_publish_head gives [c->head, c->next), zeroed already, back to the
 * producers: the counters, then head (section 7 step 5). */
static inline void logbuf_i_publish_head(logbuf_consumer *c) {
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
 * included, and gives the space back with one store of head (section 7 step
 * 5). Records read before it must not be used after it. */
static inline void logbuf_release(logbuf_consumer *c) {
    if (c->next == c->head) {
        return;
    }
    logbuf_i_zero(c->ring, c->head, c->next - c->head);
    logbuf_i_publish_head(c);
}

/* logbuf_try_read returns the next committed record in *rec, passing over
 * skips. It returns LOGBUF_ERR_EMPTY when nothing is ready, and
 * LOGBUF_ERR_CORRUPT (from then on, with c->fault set) when the ring breaks
 * the protocol. The record stays valid, its space held, until
 * logbuf_release. */
static inline int logbuf_try_read(logbuf_consumer *c, logbuf_record *rec) {
    for (;;) {
        uint64_t size = 0;
        int err = logbuf_i_peek(c, rec, &size, 0);
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
 * for the batch (section 7 step 5): record-by-record zeroing let the Go
 * consumer prefetch the next records while the cursor was still behind them,
 * 2.5x faster than reading the batch's header words first (BENCHMARKS.md).
 * Records read with logbuf_try_read and not released yet are released with
 * the batch.
 *
 * It returns how many records it delivered (0 when none was ready), or
 * LOGBUF_ERR_CORRUPT (c->fault set) when the ring broke a rule before any
 * record of this call was delivered; a corruption met later in the batch
 * ends it, and the next call reports it. */
static inline int logbuf_consume(logbuf_consumer *c, size_t max, logbuf_record_fn fn, void *ctx) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_ring *r = c->ring;
    if (c->next != c->head) {
        logbuf_i_zero(r, c->head, c->next - c->head); /* what logbuf_try_read left */
    }
    int n = 0, err = LOGBUF_OK;
    while (LOGBUF_CAST(size_t, n) < max && n < INT32_MAX) {
        logbuf_record rec;
        uint64_t size = 0;
        err = logbuf_i_peek(c, &rec, &size, 0);
        if (err != LOGBUF_OK) {
            break;
        }
        int stop = 0;
        if (rec.bytes != LOGBUF_NULL) {
            stop = fn(ctx, rec.bytes, rec.len);
            c->pending_records++;
            c->pending_bytes += rec.len;
            n++;
        }
        logbuf_i_zero(r, c->next, size);
        c->next += size;
        if (stop) {
            break;
        }
    }
    if (c->next != c->head) {
        logbuf_i_publish_head(c);
    }
    if (n == 0 && err == LOGBUF_ERR_CORRUPT) {
        return err;
    }
    return n;
}

/* logbuf_i_drained reports whether the consumer has reached the end of the
 * ring (section 8): every producer that attached has closed or is gone,
 * nothing is left to read and no reservation is outstanding. The producer
 * table is read before the ring, so a record committed before its producer
 * closed is always seen. */
static inline int logbuf_i_drained(logbuf_consumer *c, int check_live) {
    logbuf_record rec;
    uint64_t size;
    logbuf_header *h = c->ring->hdr;
    return logbuf_i_producers_done(h, check_live) && logbuf_i_peek(c, &rec, &size, 1) == LOGBUF_ERR_EMPTY &&
           LOGBUF_LOAD(&h->tail, LOGBUF_SEQ_CST) == c->next;
}

/* logbuf_consumer_wait parks the consumer until a producer commits, aborts or
 * closes, or for at most timeout_ns (section 7.1). It returns LOGBUF_OK when
 * a record (or a skip, or a broken rule) may be ready, LOGBUF_EOF when every
 * producer has closed and the ring is drained, and LOGBUF_ERR_TIMEOUT when
 * the time ran out; after LOGBUF_OK call logbuf_try_read. It releases
 * nothing: call logbuf_release first, or producers waiting for space wait for
 * the parked consumer too. Without futexes (not Linux) it sleeps. The
 * producers' liveness is not asked here (no system call but the futex):
 * logbuf_poll does that. */
static inline int logbuf_consumer_wait(logbuf_consumer *c, uint64_t timeout_ns) {
    logbuf_header *h = c->ring->hdr;
    logbuf_record rec;
    uint64_t size;
    LOGBUF_STORE(&h->consumer_heartbeat, logbuf_now(), LOGBUF_RELAXED);
    /* Step 1, seq_cst: ordered before the re-check's loads, as the
     * producers' commit and close stores are before their load of the word. */
    LOGBUF_STORE(&h->consumer_wait, 1u, LOGBUF_SEQ_CST);
    int timed_out = 0;
    if (logbuf_i_peek(c, &rec, &size, 1) == LOGBUF_ERR_EMPTY && !logbuf_i_drained(c, 0)) {
        struct timespec ts;
        ts.tv_sec = LOGBUF_CAST(time_t, timeout_ns / 1000000000u);
        ts.tv_nsec = LOGBUF_CAST(long, timeout_ns % 1000000000u);
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
    /* A producer that woke us stored 0 already; otherwise we do, so that
     * producers stop paying for wake-ups. */
    LOGBUF_STORE(&h->consumer_wait, 0u, LOGBUF_RELAXED);
    if (logbuf_i_peek(c, &rec, &size, 0) != LOGBUF_ERR_EMPTY) {
        return LOGBUF_OK;
    }
    if (logbuf_i_drained(c, 0)) {
        return LOGBUF_EOF;
    }
    return timed_out ? LOGBUF_ERR_TIMEOUT : LOGBUF_OK;
}

/* How logbuf_poll waits, as Go's consumer does: it spins, yields, and then
 * parks on the futex for at most a slice at a time, between which it asks
 * the kernel whether the producers are alive (at most every 50 ms). */
#define LOGBUF_I_CONSUMER_SPINS 64
#define LOGBUF_I_CONSUMER_YIELDS 16
#define LOGBUF_I_CONSUMER_SLICE_NS UINT64_C(100000000)
#define LOGBUF_I_LIVENESS_EVERY_NS UINT64_C(50000000)

/* logbuf_poll waits until a record is ready to read (logbuf_try_read or
 * logbuf_consume then delivers it), for at most timeout_ns nanoseconds, or for
 * ever when timeout_ns is negative. It first releases what was read, so that
 * producers waiting for space need not wait for it. It returns LOGBUF_OK when
 * something is ready, LOGBUF_ERR_TIMEOUT when the time ran out, LOGBUF_EOF
 * when the end of the ring is reached (every producer that attached closed or
 * died, and nothing is left; a producer that attaches later is read by the
 * next call), and LOGBUF_ERR_CORRUPT. */
static inline int logbuf_poll(logbuf_consumer *c, int64_t timeout_ns) {
    if (c->err != LOGBUF_OK) {
        return c->err;
    }
    logbuf_release(c);
    logbuf_record rec;
    uint64_t size;
    const uint64_t start = logbuf_now();
    for (unsigned i = 0;; i++) {
        int err = logbuf_i_peek(c, &rec, &size, 0);
        if (err != LOGBUF_ERR_EMPTY) {
            return err;
        }
        if (timeout_ns == 0) {
            return LOGBUF_ERR_TIMEOUT;
        }
        if (i < LOGBUF_I_CONSUMER_SPINS) {
            logbuf_i_pause();
            continue;
        }
        if (i < LOGBUF_I_CONSUMER_SPINS + LOGBUF_I_CONSUMER_YIELDS) {
            sched_yield();
            continue;
        }
        uint64_t now = logbuf_now(), waited = now - start;
        if (timeout_ns >= 0 && waited >= LOGBUF_CAST(uint64_t, timeout_ns)) {
            return LOGBUF_ERR_TIMEOUT;
        }
        int check_live = now - c->live_checked >= LOGBUF_I_LIVENESS_EVERY_NS;
        if (check_live) {
            c->live_checked = now;
        }
        if (logbuf_i_drained(c, check_live)) {
            return LOGBUF_EOF;
        }
        uint64_t slice = LOGBUF_I_CONSUMER_SLICE_NS;
        if (timeout_ns >= 0 && LOGBUF_CAST(uint64_t, timeout_ns) - waited < slice) {
            slice = LOGBUF_CAST(uint64_t, timeout_ns) - waited;
        }
        err = logbuf_consumer_wait(c, slice);
        if (err == LOGBUF_EOF) {
            return err;
        }
    }
}

/* logbuf_consumer_close releases what was read and marks the consumer closed
 * in the header (section 8): producers that find the ring full then stop with
 * LOGBUF_ERR_CLOSED. The state stays in the file until a consumer attaches
 * again. */
static inline void logbuf_consumer_close(logbuf_consumer *c) {
    if (!c->attached) {
        return;
    }
    c->attached = 0;
    if (c->err == LOGBUF_OK) {
        logbuf_release(c);
        c->err = LOGBUF_ERR_CLOSED;
    }
    LOGBUF_STORE(&c->ring->hdr->consumer_state, LOGBUF_CAST(uint32_t, LOGBUF_STATE_CLOSED), LOGBUF_RELEASE);
}

/* ---- Statistics (section 3) --------------------------------------------- */

/* logbuf_stats is a snapshot of a ring's positions and counters, as Go's
 * ring.Stats: each field exact when read, the fields not mutually consistent
 * while the ring runs. */
typedef struct logbuf_stats {
    uint64_t capacity;
    uint64_t head;            /* consumer position */
    uint64_t tail;            /* end of the newest reservation */
    uint64_t used;            /* tail - head: reserved and not yet released */
    uint64_t free_bytes;      /* capacity - used (0 when used is impossible) */
    uint64_t records_written; /* committed by producers, published in batches (section 3) */
    uint64_t bytes_written;
    uint64_t records_read; /* committed records the consumer released */
    uint64_t bytes_read;
    uint64_t full_events; /* claims refused as full */
    uint64_t aborts;      /* claims aborted */
    uint64_t unblocks;    /* stuck claims the consumer recovered */
    unsigned producers;   /* producer table entries attached now */
    int mpsc;
} logbuf_stats;

/* logbuf_read_stats reads the statistics of r into *s, disturbing nobody. */
static inline void logbuf_read_stats(const logbuf_ring *r, logbuf_stats *s) {
    logbuf_header *h = r->hdr;
    memset(s, 0, sizeof *s);
    s->mpsc = r->mpsc;
    s->capacity = r->capacity;
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
    for (unsigned i = 0; i < LOGBUF_PRODUCER_SLOTS; i++) {
        logbuf_slot *sl = &h->producers[i];
        s->records_written += LOGBUF_LOAD(&sl->records, LOGBUF_RELAXED);
        s->bytes_written += LOGBUF_LOAD(&sl->bytes, LOGBUF_RELAXED);
        if (LOGBUF_LOAD(&sl->state, LOGBUF_RELAXED) == LOGBUF_STATE_ATTACHED) {
            s->producers++;
        }
    }
}

#endif /* LOGBUF_H */
