/* unit: tests of logbuf.h in one process, on regions in guarded memory
 * (inaccessible pages right before and after, canary bytes in between), so
 * that a write outside a region faults or is found.
 *
 *     unit -list      prints the test names
 *     unit NAME...    runs those tests; "ok NAME" per test, exit 0 if all pass
 *
 * cbind/unit_test.go builds it with AddressSanitizer and
 * UndefinedBehaviorSanitizer, and again with ThreadSanitizer, and runs each
 * test as a Go subtest. */
#include "../logbuf.h"

#include <pthread.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *current;

static void fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s: %s:%d: ", current, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define CHECK(cond, ...)                               \
    do {                                               \
        if (!(cond)) fail(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

#define CHECK_ERR(got, want)                                                                          \
    do {                                                                                              \
        int got_ = (got), want_ = (want);                                                             \
        if (got_ != want_)                                                                            \
            fail(__FILE__, __LINE__, "%s = %s, want %s", #got, logbuf_strerror(got_), logbuf_strerror(want_)); \
    } while (0)

#define CANARY 0xA5

/* guarded is a region laid out in a mapping with PROT_NONE pages around it:
 * it ends as close to the trailing page as its 128-byte alignment allows. */
typedef struct guarded {
    unsigned char *arena; /* the accessible pages */
    size_t span;          /* their length */
    unsigned char *region;
    size_t size;
    logbuf_ring ring;
} guarded;

static logbuf_header *guard_region(guarded *g, uint64_t capacity, int mpsc) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->size = LOGBUF_HEADER_SIZE + (size_t)capacity;
    g->span = (g->size + page - 1) / page * page;
    unsigned char *m = mmap(NULL, g->span + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
    CHECK(mprotect(m, page, PROT_NONE) == 0 && mprotect(m + page + g->span, page, PROT_NONE) == 0, "mprotect");
    g->arena = m + page;
    memset(g->arena, CANARY, g->span);
    g->region = g->arena + ((g->span - g->size) & ~(size_t)127);
    memset(g->region, 0, g->size);
    logbuf_header *h = (logbuf_header *)(void *)g->region;
    h->magic = LOGBUF_MAGIC;
    h->version = LOGBUF_VERSION;
    h->header_size = LOGBUF_HEADER_SIZE;
    h->capacity = capacity;
    h->flags = mpsc ? LOGBUF_FLAG_MPSC : 0;
    h->line_size = LOGBUF_LINE_SIZE;
    h->producer_slots = LOGBUF_PRODUCER_SLOTS;
    memcpy(h->ring_id, "unit-test-ring!!", sizeof h->ring_id);
    return h;
}

/* guard_open makes a region with head, releasing and tail at pos and
 * attaches g->ring. */
static logbuf_header *guard_open(guarded *g, uint64_t capacity, int mpsc, uint64_t pos) {
    logbuf_header *h = guard_region(g, capacity, mpsc);
    LOGBUF_STORE(&h->head, pos, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->releasing, pos, LOGBUF_RELAXED); /* no release under way */
    LOGBUF_STORE(&h->tail, pos, LOGBUF_RELAXED);
    int err = logbuf_attach(&g->ring, g->region, g->size);
    CHECK(err == LOGBUF_OK, "attach: %s (%s)", logbuf_strerror(err), g->ring.fault.reason);
    return h;
}

/* open_both makes a region as guard_open does and attaches a producer and
 * the consumer to it. */
static logbuf_header *open_both(guarded *g, uint64_t capacity, int mpsc, uint64_t pos, logbuf_producer *p,
                                logbuf_consumer *c) {
    logbuf_header *h = guard_open(g, capacity, mpsc, pos);
    CHECK_ERR(logbuf_producer_init(p, &g->ring), LOGBUF_OK);
    CHECK_ERR(logbuf_consumer_init(c, &g->ring), LOGBUF_OK);
    return h;
}

/* guard_intact checks the canaries around the region. */
static int guard_intact(const guarded *g) {
    for (unsigned char *p = g->arena; p < g->region; p++) {
        if (*p != CANARY) return 0;
    }
    for (unsigned char *p = g->region + g->size; p < g->arena + g->span; p++) {
        if (*p != CANARY) return 0;
    }
    return 1;
}

static int data_zero(const guarded *g) {
    for (uint64_t i = 0; i < g->ring.capacity; i++) {
        if (g->ring.data[i] != 0) return 0;
    }
    return 1;
}

static int fault_is(const logbuf_fault *f, const char *field) { return f->field != NULL && strcmp(f->field, field) == 0; }

/* ---- Positions another party wrote (issue 18) --------------------------- */

/* The MPSC claim path loads tail and must check its alignment: with head 4000
 * and tail 4092 on a 4096-byte ring, a claim that wraps would write its
 * padding word at data + 4092, 4 bytes past the end of the data area. */
static void test_mpsc_unaligned_tail(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 4000);
    logbuf_producer p;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    LOGBUF_STORE(&h->tail, 4092, LOGBUF_RELAXED); /* the other party */
    logbuf_claim c;
    CHECK_ERR(logbuf_try_claim(&p, 8, &c), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&p.fault, "tail") && p.fault.value == 4092 && p.fault.where == LOGBUF_OFF_TAIL,
          "fault %s at %llu = %llu, want tail = 4092", p.fault.field, (unsigned long long)p.fault.where,
          (unsigned long long)p.fault.value);
    CHECK(LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) == 4092, "tail moved");
    CHECK(data_zero(&g) && guard_intact(&g), "the claim wrote");
}

/* A tail more than capacity ahead of head: an MPSC claim reloads head and
 * refuses, writing nothing. */
static void test_mpsc_tail_far_ahead(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    logbuf_producer p;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    LOGBUF_STORE(&h->tail, UINT64_C(1) << 20, LOGBUF_RELAXED);
    logbuf_claim c;
    CHECK_ERR(logbuf_try_claim(&p, 8, &c), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&p.fault, "head"), "fault names %s, want head", p.fault.field);
    CHECK(LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) == UINT64_C(1) << 20, "tail moved");
    CHECK(data_zero(&g) && guard_intact(&g), "the claim wrote");
}

/* An SPSC producer's reload of head checks it too: head past the producer's
 * own tail, or not a multiple of 8. */
static void test_spsc_bad_head(void) {
    static const uint64_t heads[] = {64, 4};
    for (unsigned i = 0; i < 2; i++) {
        guarded g;
        logbuf_header *h = guard_open(&g, 4096, 0, 0);
        logbuf_producer p;
        CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
        static const unsigned char payload[512];
        for (int k = 0; k < 7; k++) { /* 7 x 520 bytes: the next claim reloads head */
            CHECK_ERR(logbuf_try_write(&p, payload, sizeof payload), LOGBUF_OK);
        }
        LOGBUF_STORE(&h->head, 7 * 520 + heads[i], LOGBUF_RELAXED);
        logbuf_claim c;
        CHECK_ERR(logbuf_try_claim(&p, 512, &c), LOGBUF_ERR_CORRUPT);
        CHECK(fault_is(&p.fault, "head") && p.fault.value == 7 * 520 + heads[i], "fault %s = %llu", p.fault.field,
              (unsigned long long)p.fault.value);
        CHECK(guard_intact(&g), "the claim wrote outside the region");
    }
}

/* producer_init loads tail and head, and an SPSC producer then writes at that
 * tail: both are checked as a reader checks them, and a producer that fails
 * holds no table entry. */
static void test_producer_init_checks_positions(void) {
    static const struct {
        uint64_t head, tail;
        const char *field;
    } cases[] = {{0, 4, "tail"}, {4, 8, "head"}, {0, 8192, "tail"}, {4096, 0, "tail"}};
    for (int mpsc = 0; mpsc < 2; mpsc++) {
        for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            guarded g;
            logbuf_header *h = guard_open(&g, 4096, mpsc, 0);
            LOGBUF_STORE(&h->head, cases[i].head, LOGBUF_RELAXED);
            LOGBUF_STORE(&h->tail, cases[i].tail, LOGBUF_RELAXED);
            logbuf_producer p;
            CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_ERR_CORRUPT);
            CHECK(fault_is(&p.fault, cases[i].field), "case %u: fault names %s, want %s", i, p.fault.field,
                  cases[i].field);
            CHECK(logbuf_lease_state(LOGBUF_LOAD(&h->producers[0].lease, LOGBUF_RELAXED)) != LOGBUF_STATE_ATTACHED,
                  "a refused producer holds entry 0");
            logbuf_claim c;
            CHECK_ERR(logbuf_try_claim(&p, 8, &c), LOGBUF_ERR_CORRUPT);
            CHECK(LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) == cases[i].tail, "tail moved");
            CHECK(data_zero(&g) && guard_intact(&g), "the claim wrote");
        }
    }
}

/* consumer_init loads head and tail: checked, and a consumer that fails
 * reports the fault from every call and does not claim the ring. */
static void test_consumer_init_checks_positions(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 0, 0);
    LOGBUF_STORE(&h->head, 12, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->tail, 16, LOGBUF_RELAXED);
    logbuf_consumer c;
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&c.fault, "head"), "fault names %s, want head", c.fault.field);
    CHECK(logbuf_lease_state(LOGBUF_LOAD(&h->consumer.lease, LOGBUF_RELAXED)) != LOGBUF_STATE_ATTACHED,
          "a refused consumer holds the consumer record");
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_ERR_CORRUPT);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_ERR_CORRUPT);
    CHECK_ERR(logbuf_consume(&c, 8, NULL, NULL), LOGBUF_ERR_CORRUPT);
    logbuf_consumer_close(&c);
    CHECK(logbuf_lease_state(LOGBUF_LOAD(&h->consumer.lease, LOGBUF_RELAXED)) != LOGBUF_STATE_ATTACHED,
          "close of a refused consumer");
    CHECK(data_zero(&g) && guard_intact(&g), "wrote");
}

/* ---- A refused producer (issue 18) -------------------------------------- */

/* When logbuf_producer_init refuses (LOGBUF_ERR_PRODUCER_BUSY on an SPSC ring that
 * has a live producer), the producer must not claim: a claim at position 0
 * would write over the first producer's record. */
static void test_refused_producer_cannot_claim(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 0, 0);
    logbuf_producer first, second;
    CHECK_ERR(logbuf_producer_init(&first, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_try_write(&first, "first", 5), LOGBUF_OK);
    CHECK_ERR(logbuf_producer_init(&second, &g.ring), LOGBUF_ERR_PRODUCER_BUSY);
    logbuf_claim c;
    CHECK_ERR(logbuf_try_claim(&second, 5, &c), LOGBUF_ERR_PRODUCER_BUSY);
    CHECK(c.p_ == NULL, "the refused claim is live");
    CHECK_ERR(logbuf_try_write(&second, "XXXXX", 5), LOGBUF_ERR_PRODUCER_BUSY);
    CHECK_ERR(logbuf_write_timeout(&second, "XXXXX", 5, -1), LOGBUF_ERR_PRODUCER_BUSY);
    logbuf_producer_close(&second); /* does nothing: it holds nothing */
    CHECK(LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) == 16, "tail %llu, want 16",
          (unsigned long long)LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED));
    uint64_t w;
    memcpy(&w, g.ring.data, 8);
    CHECK(w == ((uint64_t)LOGBUF_KIND_COMMITTED << 56 | 5) && memcmp(g.ring.data + 8, "first", 5) == 0,
          "the first record was overwritten");
    CHECK(LOGBUF_LOAD(&h->producers[0].lease, LOGBUF_RELAXED) == first.lease, "the first producer's entry");
    CHECK(logbuf_lease_pid(second.holder) == (uint32_t)getpid(), "the refusal names pid %u",
          logbuf_lease_pid(second.holder));
    CHECK_ERR(logbuf_try_write(&first, "again", 5), LOGBUF_OK);
    logbuf_producer_close(&first);
    CHECK(guard_intact(&g), "wrote outside the region");
}

/* ---- Faults are per producer (issue 18) --------------------------------- */

typedef struct fault_thread {
    logbuf_producer p;
    int bad; /* claims that did not report the head fault in p.fault */
} fault_thread;

static void *fault_claims(void *arg) {
    fault_thread *ft = arg;
    for (int i = 0; i < 2000; i++) {
        logbuf_claim c;
        int err = logbuf_try_claim(&ft->p, 8, &c);
        if (err != LOGBUF_ERR_CORRUPT || !fault_is(&ft->p.fault, "head")) ft->bad++;
    }
    return NULL;
}

/* Two producers of one ring in two threads both find the ring corrupt: each
 * fault lands in its own producer, never in the shared logbuf_ring, which
 * ThreadSanitizer would report as a data race. */
static void test_faults_per_producer_threads(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    fault_thread ft[2];
    memset(ft, 0, sizeof ft);
    for (int i = 0; i < 2; i++) {
        CHECK_ERR(logbuf_producer_init(&ft[i].p, &g.ring), LOGBUF_OK);
    }
    LOGBUF_STORE(&h->tail, 8192, LOGBUF_RELAXED); /* twice the capacity ahead of head */
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_create(&th[i], NULL, fault_claims, &ft[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK(ft[i].bad == 0, "thread %d: %d claims without the fault", i, ft[i].bad);
    }
    CHECK(g.ring.fault.field == NULL, "the shared ring got a fault");
    CHECK(data_zero(&g) && guard_intact(&g), "wrote");
}

/* ---- Close wakes a parked consumer (issue 18, spec 7.1) ----------------- */

typedef struct waiter {
    logbuf_consumer *c;
    int poll; /* 1: logbuf_poll, 0: logbuf_consumer_wait */
    int result;
} waiter;

static void *wait_consumer(void *arg) {
    waiter *w = arg;
    /* 20 s: far longer than the test takes when the close wakes it. Without
     * the wake-up the futex wait runs out after 20 s (c->timeouts). */
    w->result = w->poll ? logbuf_poll(w->c, INT64_C(20000000000)) : logbuf_consumer_wait(w->c, UINT64_C(20000000000));
    return NULL;
}

/* close_wakes runs one consumer call in a thread, waits until it is parked
 * on the futex word, closes the only producer, and wants LOGBUF_EOF. */
static void close_wakes(int poll) {
    guarded g;
    logbuf_producer p;
    logbuf_consumer c;
    logbuf_header *h = open_both(&g, 4096, 0, 0, &p, &c);
    CHECK_ERR(logbuf_try_write(&p, "x", 1), LOGBUF_OK);
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    logbuf_release(&c);
    waiter w = {&c, poll, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, wait_consumer, &w) == 0, "pthread_create");
    while (LOGBUF_LOAD(&h->consumer_wait, LOGBUF_SEQ_CST) == 0) {
        sched_yield(); /* until the consumer has stored 1: it parks next */
    }
    logbuf_producer_close(&p);
    pthread_join(th, NULL);
    CHECK_ERR(w.result, LOGBUF_EOF);
    /* logbuf_consumer_wait parked once at most (not at all when the close
     * came before its re-check), and was woken: its futex wait did not run
     * out. (logbuf_poll parks in slices of 100 ms, which a busy machine may
     * let run out: it is only checked for its result.) */
    CHECK(poll || (c.parks <= 1 && c.timeouts == 0), "%llu parks, %llu ran out", (unsigned long long)c.parks,
          (unsigned long long)c.timeouts);
    logbuf_consumer_close(&c);
    CHECK(guard_intact(&g), "wrote outside the region");
}

static void test_close_wakes_consumer_wait(void) { close_wakes(0); }
/* logbuf_poll parked the same way ends with LOGBUF_EOF too. */
static void test_poll_eof_after_close(void) { close_wakes(1); }

/* ---- Batches, polling, blocking claims, statistics ---------------------- */

typedef struct batch_check {
    guarded *g;
    uint64_t head;     /* head when the batch began */
    int seen;          /* records delivered so far */
    int stop_at;       /* return 1 after this many records (0: never) */
    uint64_t prev_off; /* offset of the previous record's header word, or UINT64_MAX */
    int bad;
    char why[128];
} batch_check;

static int batch_record(void *ctx, const unsigned char *b, size_t len) {
    batch_check *bc = ctx;
    logbuf_header *h = bc->g->ring.hdr;
    char want[32];
    int n = snprintf(want, sizeof want, "record %d", bc->seen);
    if (len != (size_t)n || memcmp(b, want, len) != 0) {
        snprintf(bc->why, sizeof bc->why, "record %d: got %.*s", bc->seen, (int)len, (const char *)b);
        bc->bad++;
    }
    if (LOGBUF_LOAD(&h->head, LOGBUF_RELAXED) != bc->head) {
        snprintf(bc->why, sizeof bc->why, "head stored in the middle of a batch");
        bc->bad++;
    }
    if (bc->prev_off != UINT64_MAX) {
        for (uint64_t i = 0; i < 16; i++) {
            if (bc->g->ring.data[bc->prev_off + i] != 0) {
                snprintf(bc->why, sizeof bc->why, "record %d not zeroed before the next callback", bc->seen - 1);
                bc->bad++;
                break;
            }
        }
    }
    bc->prev_off = (uint64_t)(b - 8 - bc->g->ring.data);
    bc->seen++;
    return bc->stop_at != 0 && bc->seen == bc->stop_at;
}

/* logbuf_consume: records in order, each zeroed right after its callback,
 * head stored once per batch, skips passed over, at most max records, and a
 * callback's non-zero return ends the batch. */
static void test_consume_batches(void) {
    guarded g;
    logbuf_producer p;
    logbuf_consumer c;
    logbuf_header *h = open_both(&g, 4096, 1, 0, &p, &c);
    for (int i = 0; i < 10; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "record %d", i);
        if (i == 5) {
            logbuf_claim cl;
            CHECK_ERR(logbuf_try_claim(&p, 100, &cl), LOGBUF_OK);
            logbuf_abort(&cl);
        }
        CHECK_ERR(logbuf_try_write(&p, msg, (size_t)n), LOGBUF_OK);
    }
    batch_check bc = {&g, 0, 0, 0, UINT64_MAX, 0, ""};
    CHECK_ERR(logbuf_consume(&c, 4, batch_record, &bc), 4);
    CHECK(bc.bad == 0, "%s", bc.why);
    uint64_t head = LOGBUF_LOAD(&h->head, LOGBUF_RELAXED);
    CHECK(head == 4 * 16 && LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED) == 4, "head %llu, read_records %llu",
          (unsigned long long)head, (unsigned long long)LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED));
    /* Each record zeroed was announced first (section 7.2): releasing
     * covers the batch, and its counts are what the batch made them. */
    CHECK(LOGBUF_LOAD(&h->releasing, LOGBUF_RELAXED) == head && LOGBUF_LOAD(&h->releasing_records, LOGBUF_RELAXED) == 4,
          "releasing %llu, releasing_records %llu", (unsigned long long)LOGBUF_LOAD(&h->releasing, LOGBUF_RELAXED),
          (unsigned long long)LOGBUF_LOAD(&h->releasing_records, LOGBUF_RELAXED));
    bc.head = head;
    bc.stop_at = 6;
    bc.prev_off = UINT64_MAX;
    CHECK_ERR(logbuf_consume(&c, 100, batch_record, &bc), 2); /* the callback stops it after record 5 */
    CHECK(bc.bad == 0, "%s", bc.why);
    /* logbuf_try_read and logbuf_consume mix: the record read first is
     * released with the next batch. */
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK(rec.len == 8 && memcmp(rec.bytes, "record 6", 8) == 0, "try_read");
    bc.seen = 7;
    bc.stop_at = 0;
    bc.head = LOGBUF_LOAD(&h->head, LOGBUF_RELAXED) + 16; /* consume releases record 6 first */
    bc.prev_off = UINT64_MAX;
    CHECK_ERR(logbuf_consume(&c, 100, batch_record, &bc), 3);
    CHECK(bc.bad == 0 && bc.seen == 10, "%s (%d records)", bc.why, bc.seen);
    CHECK_ERR(logbuf_consume(&c, 100, batch_record, &bc), 0);
    CHECK(LOGBUF_LOAD(&h->head, LOGBUF_RELAXED) == LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) &&
              LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED) == 10,
          "not all released");
    CHECK(data_zero(&g) && guard_intact(&g), "released bytes are not zero");
    /* A corrupt word: reported when no record came before it, then sticky. */
    uint64_t bad = (uint64_t)0x44 << 56 | 16;
    CHECK_ERR(logbuf_try_write(&p, "record 10", 9), LOGBUF_OK);
    uint64_t at = LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->tail, at + 16, LOGBUF_RELAXED);
    LOGBUF_STORE(logbuf_i_word(&g.ring, at & g.ring.mask), bad, LOGBUF_RELEASE);
    bc.seen = 10;
    bc.head = LOGBUF_LOAD(&h->head, LOGBUF_RELAXED);
    bc.prev_off = UINT64_MAX;
    CHECK_ERR(logbuf_consume(&c, 100, batch_record, &bc), 1);
    CHECK_ERR(logbuf_consume(&c, 100, batch_record, &bc), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&c.fault, "record") && c.fault.where == at, "fault %s at %llu", c.fault.field,
          (unsigned long long)c.fault.where);
    CHECK_ERR(logbuf_consume(&c, 100, batch_record, &bc), LOGBUF_ERR_CORRUPT);
    logbuf_producer_close(&p);
    CHECK(guard_intact(&g), "wrote outside the region");
}

/* logbuf_poll: ready, timeout, end of stream. */
static void test_poll(void) {
    guarded g;
    guard_open(&g, 4096, 0, 0);
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, 0), LOGBUF_ERR_TIMEOUT);
    CHECK_ERR(logbuf_poll(&c, 1000000), LOGBUF_ERR_TIMEOUT); /* no producer yet: not the end */
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, 1000000), LOGBUF_ERR_TIMEOUT);
    CHECK_ERR(logbuf_try_write(&p, "hello", 5), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK);
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK(rec.len == 5 && memcmp(rec.bytes, "hello", 5) == 0, "record");
    logbuf_producer_close(&p);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_EOF);
    CHECK(LOGBUF_LOAD(&g.ring.hdr->head, LOGBUF_RELAXED) == 16, "poll did not release what was read");
    /* End of stream is not final: a producer that attaches is read on. */
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_try_write(&p, "again", 5), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK);
    logbuf_producer_close(&p);
    logbuf_consumer_close(&c);
    CHECK(guard_intact(&g), "wrote outside the region");
}

typedef struct drainer {
    logbuf_consumer *c;
    int records;
} drainer;

static int count_record(void *ctx, const unsigned char *b, size_t len) {
    (void)b;
    (void)len;
    ((drainer *)ctx)->records++;
    return 0;
}

static void *drain_later(void *arg) {
    drainer *d = arg;
    logbuf_i_sleep(5000000); /* let the producer find the ring full and wait */
    while (d->records < 9) {
        if (logbuf_consume(d->c, 100, count_record, d) == 0 && logbuf_poll(d->c, -1) != LOGBUF_OK) {
            break;
        }
    }
    return NULL;
}

/* logbuf_claim_timeout and logbuf_write_timeout: a timeout on a full ring, a
 * wait that ends when the consumer makes room, LOGBUF_ERR_NO_CONSUMER when
 * the time runs out with no consumer attached, LOGBUF_ERR_RING_CLOSED when
 * the consumer closed the ring for good. */
static void test_claim_timeout(void) {
    guarded g;
    guard_open(&g, 64, 0, 0); /* max payload 8: 4 records of 16 bytes */
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    for (int i = 0; i < 4; i++) {
        CHECK_ERR(logbuf_write_timeout(&p, "12345678", 8, 0), LOGBUF_OK);
    }
    logbuf_claim cl;
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, 0), LOGBUF_ERR_TIMEOUT);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, 2000000), LOGBUF_ERR_TIMEOUT);
    CHECK_ERR(logbuf_write_timeout(&p, "12345678", 8, 2000000), LOGBUF_ERR_TIMEOUT);
    drainer d = {&c, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, drain_later, &d) == 0, "pthread_create");
    for (int i = 0; i < 5; i++) {
        CHECK_ERR(logbuf_write_timeout(&p, "12345678", 8, -1), LOGBUF_OK);
    }
    pthread_join(th, NULL);
    CHECK(d.records == 9, "the consumer read %d records, want 9", d.records);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, -1), LOGBUF_OK);
    logbuf_abort(&cl);
    for (int i = 0; i < 3; i++) {
        CHECK_ERR(logbuf_write_timeout(&p, "12345678", 8, 0), LOGBUF_OK);
    }
    /* Section 8: a consumer that detached is absent, not gone for good:
     * the producer waits, and says so when its time runs out. */
    logbuf_consumer_close(&c);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, 2000000), LOGBUF_ERR_NO_CONSUMER);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, 2000000), LOGBUF_ERR_TIMEOUT);
    /* Closing the ring for good stops it at once. */
    logbuf_consumer_close_ring(&c);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, -1), LOGBUF_ERR_RING_CLOSED);
    CHECK_ERR(logbuf_try_claim(&p, 8, &cl), LOGBUF_ERR_RING_CLOSED);
    CHECK_ERR(logbuf_claim_timeout(&p, 9, &cl, -1), LOGBUF_ERR_TOO_LARGE);
    logbuf_producer_close(&p);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, -1), LOGBUF_ERR_CLOSED);
    CHECK(guard_intact(&g), "wrote outside the region");
}

/* logbuf_read_stats reads what the parties published. */
static void test_stats(void) {
    guarded g;
    logbuf_producer p;
    logbuf_consumer c;
    open_both(&g, 4096, 1, 0, &p, &c);
    logbuf_stats s;
    logbuf_read_stats(&g.ring, &s);
    CHECK(s.producers == 1 && s.mpsc == 1 && s.capacity == 4096 && s.free_bytes == 4096, "fresh stats");
    for (int i = 1; i <= 3; i++) {
        CHECK_ERR(logbuf_try_write(&p, "abcdefgh", (size_t)i), LOGBUF_OK);
    }
    logbuf_claim cl;
    CHECK_ERR(logbuf_try_claim(&p, 4, &cl), LOGBUF_OK);
    logbuf_abort(&cl);
    CHECK_ERR(logbuf_try_claim(&p, 512, &cl), LOGBUF_OK);
    while (logbuf_try_write(&p, "x", 1) == LOGBUF_OK) {
    }
    logbuf_abort(&cl);
    CHECK_ERR(logbuf_try_claim(&p, 513, &cl), LOGBUF_ERR_TOO_LARGE);
    logbuf_count_dropped(&p, 7);
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    logbuf_release(&c);
    logbuf_producer_close(&p);
    logbuf_read_stats(&g.ring, &s);
    CHECK(s.records_read == 2 && s.bytes_read == 3, "read %llu records %llu bytes", (unsigned long long)s.records_read,
          (unsigned long long)s.bytes_read);
    CHECK(s.aborts == 2 && s.full_events == 1 && s.producers == 0, "aborts %llu full %llu producers %llu",
          (unsigned long long)s.aborts, (unsigned long long)s.full_events, (unsigned long long)s.producers);
    CHECK(s.refused == 1 && s.dropped == 7, "refused %llu dropped %llu", (unsigned long long)s.refused,
          (unsigned long long)s.dropped);
    CHECK(s.consumer_held && logbuf_lease_pid(s.consumer_lease) == (uint32_t)getpid(), "the consumer's lease");
    logbuf_party_info pi;
    CHECK(logbuf_read_party(&g.ring, 0, &pi) == 0, "entry 0");
    CHECK(!pi.held && !pi.malformed && logbuf_lease_state(pi.lease) == LOGBUF_STATE_DETACHED &&
              pi.records == s.records_written && pi.refused == 1 && pi.dropped == 7 && pi.heartbeat != 0,
          "entry 0: lease %llx records %llu", (unsigned long long)pi.lease, (unsigned long long)pi.records);
    CHECK(logbuf_read_party(&g.ring, LOGBUF_PARTY_CONSUMER, &pi) == 0 && pi.held && pi.since == 0, "the consumer");
    CHECK(logbuf_read_party(&g.ring, 32, &pi) == -1 && logbuf_read_party(&g.ring, -2, &pi) == -1, "out of range");
    CHECK(s.head == 32 && s.used == s.tail - s.head && s.free_bytes == 4096 - s.used, "positions");
    CHECK(s.records_written >= 3 && s.bytes_written == 6 + s.records_written - 3, "written %llu records %llu bytes",
          (unsigned long long)s.records_written, (unsigned long long)s.bytes_written);
    logbuf_consumer_close(&c);
}

/* The library's version macros agree with each other and are not the
 * protocol's version. */
static void test_version(void) {
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", LOGBUF_LIB_VERSION_MAJOR, LOGBUF_LIB_VERSION_MINOR, LOGBUF_LIB_VERSION_PATCH);
    CHECK(strcmp(v, LOGBUF_LIB_VERSION_STRING) == 0, "%s != %s", v, LOGBUF_LIB_VERSION_STRING);
    CHECK(LOGBUF_LIB_VERSION ==
              LOGBUF_LIB_VERSION_MAJOR * 10000 + LOGBUF_LIB_VERSION_MINOR * 100 + LOGBUF_LIB_VERSION_PATCH,
          "LOGBUF_LIB_VERSION");
    CHECK(LOGBUF_LIB_VERSION_MINOR < 100 && LOGBUF_LIB_VERSION_PATCH < 100, "parts overflow LOGBUF_LIB_VERSION");
}

/* ---- Protocol v2: parties, release, claims, recovery, creation ----------- */

/* dead_lease is an ATTACHED lease naming a process that is gone: a child
 * that was killed and reaped. */
static uint64_t dead_lease(void) {
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        pause();
        _exit(0);
    }
    uint64_t start = logbuf_start_time((uint32_t)pid);
    CHECK(start != 0, "no start time for child %d", (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return logbuf_lease_make(LOGBUF_STATE_ATTACHED, (uint32_t)pid, start);
}

static uint64_t lease_of(const logbuf_party *p) { return LOGBUF_LOAD(&p->lease, LOGBUF_SEQ_CST); }

/* A ring has one consumer (section 8): a second one, in this process or
 * another, is refused while the first lives, naming its pid; once the first
 * detaches, the next one attaches. */
static void test_consumer_refuses_live(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 0, 256);
    logbuf_consumer a, b;
    CHECK_ERR(logbuf_consumer_init(&a, &g.ring), LOGBUF_OK);
    CHECK(lease_of(&h->consumer) == a.lease && logbuf_lease_state(a.lease) == LOGBUF_STATE_ATTACHED, "a's lease");
    CHECK(logbuf_lease_pid(a.lease) == (uint32_t)getpid() &&
              logbuf_lease_start(a.lease) == (logbuf_start_time(0) & LOGBUF_LEASE_START_MASK),
          "the lease does not name this process");
    CHECK_ERR(logbuf_consumer_init(&b, &g.ring), LOGBUF_ERR_CONSUMER_BUSY);
    CHECK(logbuf_lease_pid(b.holder) == (uint32_t)getpid(), "the refusal names pid %u", logbuf_lease_pid(b.holder));
    CHECK(LOGBUF_LOAD(&h->consumer.since, LOGBUF_RELAXED) == 256, "the consumer's since is not its head");
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&b, &rec), LOGBUF_ERR_CONSUMER_BUSY);
    CHECK_ERR(logbuf_poll(&b, -1), LOGBUF_ERR_CONSUMER_BUSY);
    logbuf_consumer_close(&b); /* holds nothing: changes nothing */
    CHECK(lease_of(&h->consumer) == a.lease, "a refused consumer's close changed the lease");
    logbuf_consumer_close(&a);
    CHECK(logbuf_lease_state(lease_of(&h->consumer)) == LOGBUF_STATE_DETACHED, "close leaves DETACHED");
    CHECK_ERR(logbuf_try_read(&a, &rec), LOGBUF_ERR_CLOSED);
    CHECK_ERR(logbuf_consumer_init(&b, &g.ring), LOGBUF_OK);
    logbuf_consumer_close_ring(&b);
    CHECK(logbuf_lease_state(lease_of(&h->consumer)) == LOGBUF_STATE_CLOSED, "close_ring leaves CLOSED");
    CHECK_ERR(logbuf_consumer_init(&a, &g.ring), LOGBUF_OK); /* reopens the ring */
    logbuf_consumer_close(&a);
}

/* A consumer whose process is gone is taken over by one compare-and-swap. */
static void test_consumer_takes_over_dead(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    uint64_t dead = dead_lease();
    LOGBUF_STORE(&h->consumer.lease, dead, LOGBUF_SEQ_CST);
    logbuf_consumer c;
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    CHECK(lease_of(&h->consumer) == c.lease && c.lease != dead, "not taken over");
    logbuf_consumer_close(&c);
}

/* write_records has p write count records "record I", from first. */
static void write_records(logbuf_producer *p, int first, int count) {
    for (int i = first; i < first + count; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "record %d", i);
        CHECK_ERR(logbuf_try_write(p, msg, (size_t)n), LOGBUF_OK);
    }
}

/* A consumer killed in the middle of zeroing a release (section 7.2) left
 * releasing and its counts: the next one finishes that release, so it reads
 * neither zeros at head (a reservation not yet stamped, for ever on SPSC)
 * nor the released records again, and read_records stays exact. */
static void test_releasing_finished(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 0, 0);
    logbuf_producer p;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    write_records(&p, 0, 4); /* 16 bytes each */
    /* The dead consumer had released 2 records before (read_records 2),
     * then read records 2 and 3 of the stream... here: records 0 and 1, and
     * began their release: it stored releasing and its counts and zeroed
     * the first 8 bytes. */
    LOGBUF_STORE(&h->read_records, 10, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->read_bytes, 100, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->releasing_records, 12, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->releasing_bytes, 116, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->releasing, 32, LOGBUF_RELAXED);
    memset(g.ring.data, 0, 8);
    LOGBUF_STORE(&h->consumer.lease, dead_lease(), LOGBUF_SEQ_CST);
    logbuf_consumer c;
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    CHECK(LOGBUF_LOAD(&h->head, LOGBUF_RELAXED) == 32 && LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED) == 12 &&
              LOGBUF_LOAD(&h->read_bytes, LOGBUF_RELAXED) == 116,
          "head %llu read_records %llu read_bytes %llu", (unsigned long long)LOGBUF_LOAD(&h->head, LOGBUF_RELAXED),
          (unsigned long long)LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED),
          (unsigned long long)LOGBUF_LOAD(&h->read_bytes, LOGBUF_RELAXED));
    for (int i = 0; i < 32; i++) {
        CHECK(g.ring.data[i] == 0, "byte %d of the finished release is not zero", i);
    }
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK(rec.len == 8 && memcmp(rec.bytes, "record 2", 8) == 0 && rec.pos == 32 && rec.seq == 12,
          "read %.*s at %llu seq %llu", (int)rec.len, (const char *)rec.bytes, (unsigned long long)rec.pos,
          (unsigned long long)rec.seq);
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK(rec.seq == 13, "seq %llu", (unsigned long long)rec.seq);
    logbuf_release(&c);
    CHECK(LOGBUF_LOAD(&h->releasing, LOGBUF_RELAXED) == 64 && LOGBUF_LOAD(&h->read_records, LOGBUF_RELAXED) == 14,
          "the release did not announce itself");
    logbuf_consumer_close(&c);
    logbuf_producer_close(&p);
}

/* A releasing the next consumer cannot trust is corrupt, named; the
 * consumer does not attach. */
static void test_releasing_checked(void) {
    static const struct {
        uint64_t releasing, records;
        const char *field;
        uint64_t bytes;
    } cases[] = {{20, 2, "releasing", 0}, {80, 2, "releasing", 0}, {32, 3, "releasing_records", 0},
                 {32, 2, "releasing_bytes", 33}};
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        guarded g;
        logbuf_header *h = guard_open(&g, 4096, 1, 0);
        logbuf_producer p;
        CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
        write_records(&p, 0, 4); /* tail 64 */
        LOGBUF_STORE(&h->releasing, cases[i].releasing, LOGBUF_RELAXED);
        LOGBUF_STORE(&h->releasing_records, cases[i].records, LOGBUF_RELAXED);
        LOGBUF_STORE(&h->releasing_bytes, cases[i].bytes, LOGBUF_RELAXED);
        logbuf_consumer c;
        CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_ERR_CORRUPT);
        CHECK(fault_is(&c.fault, cases[i].field), "case %u: fault %s, want %s", i, c.fault.field, cases[i].field);
        CHECK(logbuf_lease_state(lease_of(&h->consumer)) != LOGBUF_STATE_ATTACHED, "case %u: attached", i);
        CHECK(LOGBUF_LOAD(&h->head, LOGBUF_RELAXED) == 0, "case %u: head moved", i);
        logbuf_producer_close(&p);
    }
}

/* Records carry their position and sequence; the sequence goes on across
 * consumers. */
static void test_record_seq(void) {
    guarded g;
    guard_open(&g, 4096, 1, 0);
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    write_records(&p, 0, 3);
    logbuf_claim cl;
    CHECK_ERR(logbuf_try_claim(&p, 3, &cl), LOGBUF_OK);
    logbuf_abort(&cl); /* a skip: no sequence number */
    write_records(&p, 3, 2);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    logbuf_record rec;
    for (uint64_t i = 0; i < 2; i++) {
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
        CHECK(rec.seq == i && rec.pos == 16 * i, "record %llu: seq %llu pos %llu", (unsigned long long)i,
              (unsigned long long)rec.seq, (unsigned long long)rec.pos);
    }
    logbuf_release(&c);
    logbuf_consumer_close(&c);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    static const uint64_t want_pos[] = {32, 64, 80};
    for (uint64_t i = 2; i < 5; i++) {
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
        CHECK(rec.seq == i && rec.pos == want_pos[i - 2], "record %llu: seq %llu pos %llu", (unsigned long long)i,
              (unsigned long long)rec.seq, (unsigned long long)rec.pos);
    }
    logbuf_consumer_close(&c);
    logbuf_producer_close(&p);
}

/* An SPSC producer holds entry 0 (owner 1) and leaves the other entries
 * alone; closed with a claim open, it stops claiming at once and detaches
 * when that claim ends (section 8). */
static void test_spsc_close_with_open_claim(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 0, 4000);
    logbuf_producer p;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK(p.owner == 1 && lease_of(&h->producers[0]) == p.lease, "entry 0 is not the producer's");
    /* since is where the holder attached: section 9 tells its claims from a
     * previous holder's by it. */
    CHECK(LOGBUF_LOAD(&h->producers[0].since, LOGBUF_RELAXED) == 4000, "since %llu, want the tail 4000",
          (unsigned long long)LOGBUF_LOAD(&h->producers[0].since, LOGBUF_RELAXED));
    for (int i = 1; i < LOGBUF_PRODUCER_SLOTS; i++) {
        CHECK(lease_of(&h->producers[i]) == 0, "entry %d taken", i);
    }
    logbuf_claim a, b;
    CHECK_ERR(logbuf_try_claim(&p, 5, &a), LOGBUF_OK);
    CHECK_ERR(logbuf_try_claim(&p, 5, &b), LOGBUF_OK);
    logbuf_producer_close(&p);
    logbuf_claim x;
    CHECK_ERR(logbuf_try_claim(&p, 5, &x), LOGBUF_ERR_CLOSED);
    CHECK_ERR(logbuf_commit(&x), LOGBUF_ERR_CLAIM_ENDED); /* a failed claim ends nothing */
    CHECK(lease_of(&h->producers[0]) == p.lease, "detached with claims open");
    logbuf_abort(&a);
    CHECK(lease_of(&h->producers[0]) == p.lease, "detached with a claim open");
    memcpy(b.bytes, "hello", 5);
    CHECK_ERR(logbuf_commit(&b), LOGBUF_OK);
    CHECK(logbuf_lease_state(lease_of(&h->producers[0])) == LOGBUF_STATE_DETACHED, "not detached at the last end");
    CHECK(LOGBUF_LOAD(&h->producers[0].records, LOGBUF_RELAXED) == 1, "counts not published at detach");
}

/* A claim ends once, by its word, whichever copy ends it (section 5.3). */
static void test_copy_safe_commit(void) {
    for (int mpsc = 0; mpsc < 2; mpsc++) {
        guarded g;
        logbuf_header *h = guard_open(&g, 256, mpsc, 0); /* max payload 32 */
        logbuf_producer p;
        logbuf_consumer c;
        CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
        CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
        logbuf_claim a, copy;
        CHECK_ERR(logbuf_try_claim(&p, 8, &a), LOGBUF_OK);
        memcpy(a.bytes, "abcdefgh", 8);
        copy = a;
        CHECK_ERR(logbuf_commit(&copy), LOGBUF_OK);
        CHECK_ERR(logbuf_commit(&a), LOGBUF_ERR_CLAIM_ENDED);
        logbuf_abort(&a);
        CHECK_ERR(logbuf_commit(&copy), LOGBUF_ERR_CLAIM_ENDED);
        CHECK(LOGBUF_LOAD(&h->aborts, LOGBUF_RELAXED) == 0, "a second end took effect");
        /* Aborted through one copy, committed through another. */
        CHECK_ERR(logbuf_try_claim(&p, 8, &a), LOGBUF_OK);
        copy = a;
        logbuf_abort(&a);
        CHECK_ERR(logbuf_commit(&copy), LOGBUF_ERR_CLAIM_ENDED);
        CHECK(LOGBUF_LOAD(&h->aborts, LOGBUF_RELAXED) == 1, "aborts %llu",
              (unsigned long long)LOGBUF_LOAD(&h->aborts, LOGBUF_RELAXED));
        logbuf_record rec;
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
        CHECK(rec.len == 8 && memcmp(rec.bytes, "abcdefgh", 8) == 0, "the record");
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_ERR_EMPTY);
        /* A stale copy of a claim whose record was released, and whose
         * space a new claim took a lap later, ends nothing. */
        logbuf_claim old;
        CHECK_ERR(logbuf_try_claim(&p, 8, &old), LOGBUF_OK);
        logbuf_claim stale = old;
        CHECK_ERR(logbuf_commit(&old), LOGBUF_OK);
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
        logbuf_release(&c);
        /* the ring is empty: the released copy finds zeros */
        CHECK_ERR(logbuf_commit(&stale), mpsc ? LOGBUF_ERR_DISCARDED : LOGBUF_ERR_CLAIM_ENDED);
        stale = old;
        stale.p_ = &p;
        for (int i = 0; i < 256 / 16; i++) { /* a lap of 16-byte records, read and released */
            logbuf_claim x;
            CHECK_ERR(logbuf_try_claim(&p, 8, &x), LOGBUF_OK);
            if (x.pos_ % 256 == stale.pos_ % 256) {
                CHECK_ERR(logbuf_commit(&stale), mpsc ? LOGBUF_ERR_DISCARDED : LOGBUF_ERR_CLAIM_ENDED);
                uint64_t w = LOGBUF_LOAD(logbuf_i_word(&g.ring, x.pos_ % 256), LOGBUF_RELAXED);
                CHECK(w >> 56 == LOGBUF_KIND_CLAIMED, "the stale copy ended the new claim: word %llx",
                      (unsigned long long)w);
            }
            memcpy(x.bytes, "zzzzzzzz", 8);
            CHECK_ERR(logbuf_commit(&x), LOGBUF_OK);
            CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
            logbuf_release(&c);
        }
        logbuf_consumer_close(&c);
        logbuf_producer_close(&p);
        CHECK(guard_intact(&g), "wrote outside the region");
    }
}

/* An SPSC claim's stamp repeats after 65536 laps (its lap field is 16
 * bits): a copy that old must still end nothing. The producer's own tail
 * tells it the claim is more than a lap old (section 5.3). */
static void test_spsc_no_aba(void) {
    guarded g;
    guard_open(&g, 64, 0, 0); /* 4 records of 16 bytes a lap */
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    logbuf_claim old, x;
    CHECK_ERR(logbuf_try_claim(&p, 8, &old), LOGBUF_OK);
    logbuf_claim stale = old;
    CHECK_ERR(logbuf_commit(&old), LOGBUF_OK);
    logbuf_record rec;
    for (uint64_t i = 1; i < UINT64_C(65536) * 4; i++) {
        CHECK_ERR(logbuf_try_claim(&p, 8, &x), LOGBUF_OK);
        CHECK_ERR(logbuf_commit(&x), LOGBUF_OK);
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
        logbuf_release(&c);
    }
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    logbuf_release(&c);
    CHECK_ERR(logbuf_try_claim(&p, 8, &x), LOGBUF_OK); /* same offset, same lap bits, same length */
    CHECK(x.pos_ == stale.pos_ + UINT64_C(65536) * 64, "the new claim is at %llu", (unsigned long long)x.pos_);
    CHECK_ERR(logbuf_commit(&stale), LOGBUF_ERR_CLAIM_ENDED);
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_ERR_EMPTY); /* still CLAIMED */
    CHECK_ERR(logbuf_commit(&x), LOGBUF_OK);
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    logbuf_consumer_close(&c);
    logbuf_producer_close(&p);
}

/* CLAIMED words are validated when first seen (section 7.1). */
static void test_claimed_validated(void) {
    static const struct {
        int mpsc;
        uint64_t len, lap, owner;
        const char *why;
    } cases[] = {
        {0, 0, 0, 1, "length"}, {0, 513, 0, 1, "length"}, {0, 8, 1, 1, "lap"},   {0, 8, 0, 2, "owner"},
        {0, 8, 0, 0, "owner"},  {1, 8, 0, 33, "owner"},   {1, 8, 0, 0, "ok"},    {1, 8, 0, 32, "ok"},
        {0, 8, 0, 1, "ok"},     {1, 512, 0, 5, "ok"},     {1, 8, 7, 1, "lap"},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        guarded g;
        logbuf_header *h = guard_open(&g, 4096, cases[i].mpsc, 0);
        uint64_t w = (uint64_t)LOGBUF_KIND_CLAIMED << 56 | cases[i].owner << 48 | cases[i].lap << 32 | cases[i].len;
        LOGBUF_STORE(logbuf_i_word(&g.ring, 0), w, LOGBUF_RELAXED);
        LOGBUF_STORE(&h->tail, 1024, LOGBUF_RELAXED);
        logbuf_consumer c;
        CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
        logbuf_record rec;
        int err = logbuf_try_read(&c, &rec);
        if (strcmp(cases[i].why, "ok") == 0) {
            CHECK(err == LOGBUF_ERR_EMPTY, "case %u: %s, want empty", i, logbuf_strerror(err));
        } else {
            CHECK(err == LOGBUF_ERR_CORRUPT && fault_is(&c.fault, "record") && c.fault.where == 0 &&
                      strstr(c.fault.reason, cases[i].why) != NULL,
                  "case %u: %s (%s), want corrupt naming %s", i, logbuf_strerror(err),
                  c.fault.reason ? c.fault.reason : "", cases[i].why);
        }
        logbuf_consumer_close(&c);
    }
}

typedef struct reports {
    int n;
    logbuf_stuck last;
} reports;

static void on_stuck(void *ctx, const logbuf_stuck *s) {
    reports *r = ctx;
    r->n++;
    r->last = *s;
}

/* An MPSC claim left open is recovered after the unblock timeout (section
 * 9), reported, and its producer's commit then says it was discarded. */
static void test_recover_mpsc_claim(void) {
    guarded g;
    logbuf_producer p;
    logbuf_consumer c;
    logbuf_header *h = open_both(&g, 4096, 1, 0, &p, &c);
    reports rep = {0, {0, 0, 0, 0, 0, 0, 0, 0}};
    logbuf_consumer_set_recovery(&c, 20000000, on_stuck, &rep);
    logbuf_claim stuck;
    CHECK_ERR(logbuf_try_claim(&p, 100, &stuck), LOGBUF_OK);
    write_records(&p, 0, 1);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK); /* returns once the claim is recovered */
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK(rec.len == 8 && memcmp(rec.bytes, "record 0", 8) == 0, "the record after the stuck claim");
    CHECK(rep.n == 1 && rep.last.recovered && rep.last.pos == 0 && rep.last.size == 112 && rep.last.owner == 1 &&
              rep.last.pid == (uint32_t)getpid() && rep.last.alive,
          "report %d: recovered %d pos %llu size %llu owner %u pid %u alive %d", rep.n, rep.last.recovered,
          (unsigned long long)rep.last.pos, (unsigned long long)rep.last.size, rep.last.owner, rep.last.pid,
          rep.last.alive);
    CHECK(LOGBUF_LOAD(&h->unblocks, LOGBUF_RELAXED) == 1, "unblocks");
    CHECK_ERR(logbuf_commit(&stuck), LOGBUF_ERR_DISCARDED);
    logbuf_consumer_close(&c);
    logbuf_producer_close(&p);
}

/* Reservations never stamped (their producer died between its tail CAS and
 * its stamp): the extent runs to the next non-zero word, and one that
 * crossed the wrap point is recovered in two steps (section 9). */
static void test_recover_unstamped(void) {
    guarded g;
    logbuf_producer p;
    logbuf_consumer c;
    logbuf_header *h = open_both(&g, 4096, 1, 4000, &p, &c);
    reports rep = {0, {0, 0, 0, 0, 0, 0, 0, 0}};
    logbuf_consumer_set_recovery(&c, 10000000, on_stuck, &rep);
    LOGBUF_STORE(&h->tail, 4200, LOGBUF_SEQ_CST); /* a dead producer's 200 bytes across the wrap point */
    write_records(&p, 0, 1);                       /* at 4200, offset 104 */
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK);
    CHECK(rep.n == 1 && rep.last.pos == 4000 && rep.last.size == 96 && rep.last.word == 0,
          "first step: %d reports, pos %llu size %llu", rep.n, (unsigned long long)rep.last.pos,
          (unsigned long long)rep.last.size);
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_ERR_EMPTY); /* the part at offset 0 is next */
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK);
    CHECK(rep.n == 2 && rep.last.pos == 4096 && rep.last.size == 104, "second step: pos %llu size %llu",
          (unsigned long long)rep.last.pos, (unsigned long long)rep.last.size);
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK(rec.pos == 4200 && memcmp(rec.bytes, "record 0", 8) == 0, "the record after the holes");
    CHECK(LOGBUF_LOAD(&h->unblocks, LOGBUF_RELAXED) == 2, "unblocks");
    logbuf_consumer_close(&c);
    logbuf_producer_close(&p);
    CHECK(guard_intact(&g), "wrote outside the region");
}

/* On an SPSC ring a claim of the live holder is never recovered, only
 * reported once; one whose holder died, or made before the holder attached
 * (position before its since), is. */
static void test_recover_spsc(void) {
    for (int how = 0; how < 2; how++) {
        guarded g;
        logbuf_producer p;
        logbuf_consumer c;
        logbuf_header *h = open_both(&g, 4096, 0, 0, &p, &c);
        reports rep = {0, {0, 0, 0, 0, 0, 0, 0, 0}};
        logbuf_consumer_set_recovery(&c, 5000000, on_stuck, &rep);
        logbuf_claim stuck;
        CHECK_ERR(logbuf_try_claim(&p, 8, &stuck), LOGBUF_OK);
        /* The report comes after the 5 ms timeout, when the consumer next
         * looks: poll until it does (a slow sanitizer build on a loaded
         * machine may take many polls), never asserting how soon. */
        for (int i = 0; i < 400 && rep.n == 0; i++) CHECK_ERR(logbuf_poll(&c, 50000000), LOGBUF_ERR_TIMEOUT);
        CHECK(rep.n == 1 && !rep.last.recovered && rep.last.alive && rep.last.owner == 1,
              "live holder: %d reports, recovered %d", rep.n, rep.last.recovered);
        CHECK(LOGBUF_LOAD(&h->unblocks, LOGBUF_RELAXED) == 0, "recovered a live holder's claim");
        if (how == 0) {
            LOGBUF_STORE(&h->producers[0].lease, dead_lease(), LOGBUF_SEQ_CST); /* the holder died */
        } else {
            LOGBUF_STORE(&h->producers[0].since, 16, LOGBUF_SEQ_CST); /* a holder that attached after the claim */
        }
        CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK);
        CHECK(rep.n == 2 && rep.last.recovered && !rep.last.alive, "how %d: %d reports, recovered %d", how, rep.n,
              rep.last.recovered);
        CHECK(LOGBUF_LOAD(&h->unblocks, LOGBUF_RELAXED) == 1, "unblocks");
        logbuf_consumer_close(&c);
    }
}

typedef struct parked {
    logbuf_consumer *c;
    int result;
} parked;

static void *park_consumer(void *arg) {
    parked *pk = arg;
    pk->result = logbuf_consumer_wait(pk->c, UINT64_C(20000000000));
    return NULL;
}

/* A commit wakes a parked consumer, with release commits behind the
 * consumer's membarrier and with seq_cst commits (section 7.3). */
static void test_commit_wakes(void) {
    for (int release = 0; release < 2; release++) {
        guarded g;
        logbuf_producer p;
        logbuf_consumer c;
        logbuf_header *h = open_both(&g, 4096, release, 0, &p, &c);
        if (release && !p.release_commits) {
            fprintf(stderr, "membarrier registration refused here: release commits not tested\n");
        }
        p.release_commits = release && p.release_commits;
        parked pk = {&c, 0};
        pthread_t th;
        CHECK(pthread_create(&th, NULL, park_consumer, &pk) == 0, "pthread_create");
        while (LOGBUF_LOAD(&h->consumer_wait, LOGBUF_SEQ_CST) == 0) {
            sched_yield();
        }
        write_records(&p, 0, 1);
        pthread_join(th, NULL);
        CHECK_ERR(pk.result, LOGBUF_OK);
        CHECK(c.parks <= 1 && c.timeouts == 0, "%llu parks, %llu ran out", (unsigned long long)c.parks,
              (unsigned long long)c.timeouts);
        logbuf_record rec;
        CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
        logbuf_consumer_close(&c);
        logbuf_producer_close(&p);
    }
}

/* The end of the stream (section 8): not before any producer attached; not
 * while one holds an entry; at once when the last detached or died. */
static void test_end_of_stream(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    logbuf_consumer c;
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, 1000000), LOGBUF_ERR_TIMEOUT);
    LOGBUF_STORE(&h->producers[3].lease, dead_lease(), LOGBUF_SEQ_CST); /* died attached */
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_EOF);
    logbuf_producer p;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, 1000000), LOGBUF_ERR_TIMEOUT);
    logbuf_claim cl;
    CHECK_ERR(logbuf_try_claim(&p, 8, &cl), LOGBUF_OK);
    logbuf_producer_close(&p); /* MPSC: may detach with a claim open */
    CHECK_ERR(logbuf_poll(&c, 1000000), LOGBUF_ERR_TIMEOUT); /* tail is past the cursor */
    CHECK_ERR(logbuf_commit(&cl), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_OK);
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_EOF);
    logbuf_consumer_close(&c);
}

/* logbuf_create makes a ring file as Go's abi.Create does. */
static void test_create(void) {
    char dir[] = "/tmp/logbuf-unit-XXXXXX", path[128], other[128];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/a.ring", dir);
    snprintf(other, sizeof other, "%s/b.ring", dir);
    logbuf_ring r, r2;
    CHECK_ERR(logbuf_create(&r, path, 4096, LOGBUF_MODE_SPSC, NULL), LOGBUF_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 4096 + 4096, "mode %o size %lld",
          (unsigned)st.st_mode, (long long)st.st_size);
    static const unsigned char zero[LOGBUF_RING_ID_SIZE];
    CHECK(memcmp(r.ring_id, zero, sizeof zero) != 0 && memcmp(r.hdr->ring_id, r.ring_id, sizeof zero) == 0,
          "no ring id");
    CHECK(!r.mpsc && r.capacity == 4096 && LOGBUF_LOAD(&r.hdr->tail, LOGBUF_RELAXED) == 0, "the ring");
    errno = 0;
    CHECK_ERR(logbuf_create(&r2, path, 4096, LOGBUF_MODE_SPSC, NULL), LOGBUF_ERR_SYSTEM);
    CHECK(errno == EEXIST, "errno %d, want EEXIST", errno);
    logbuf_create_options o = {0640, 1};
    CHECK_ERR(logbuf_create(&r2, path, 1024, LOGBUF_MODE_MPSC, &o), LOGBUF_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640, "mode %o", (unsigned)st.st_mode);
    CHECK(memcmp(r.ring_id, r2.ring_id, sizeof zero) != 0, "two rings with one id");
    CHECK(r.hdr->capacity == 4096, "the overwritten ring changed under its mapping");
    logbuf_close(&r2);
    CHECK_ERR(logbuf_open_mode(&r2, path, LOGBUF_MODE_SPSC), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&r2.fault, "flags"), "open of the wrong mode names %s", r2.fault.field);
    CHECK_ERR(logbuf_open_mode(&r2, path, LOGBUF_MODE_MPSC), LOGBUF_OK);
    logbuf_close(&r2);
    errno = 0;
    CHECK_ERR(logbuf_create(&r2, other, 3000, LOGBUF_MODE_SPSC, NULL), LOGBUF_ERR_SYSTEM);
    CHECK(errno == EINVAL, "bad capacity: errno %d", errno);
    CHECK_ERR(logbuf_create(&r2, other, 4096, 7, NULL), LOGBUF_ERR_SYSTEM);
    logbuf_close(&r);
    /* Nothing left behind but the ring. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s)\" = a.ring", dir);
    CHECK(system(cmd) == 0, "temporary files left in %s", dir);
    unlink(path);
    rmdir(dir);
}

/* A version-1 region is refused naming the version (section 10 step 3). */
static void test_version_1_refused(void) {
    guarded g;
    logbuf_header *h = guard_region(&g, 4096, 0);
    h->version = 1;
    CHECK_ERR(logbuf_attach(&g.ring, g.region, g.size), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&g.ring.fault, "version"), "fault names %s", g.ring.fault.field);
}

typedef struct poller {
    logbuf_consumer *c;
    int result;
} poller;

static void *poll_forever(void *arg) {
    poller *pl = arg;
    pl->result = logbuf_poll(pl->c, -1);
    return NULL;
}

/* logbuf_consumer_interrupt, from another thread, ends a logbuf_poll that
 * would wait for ever, woken, not by a timeout. */
static void test_interrupt(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK); /* so that the ring has a producer: no end */
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    poller pl = {&c, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, poll_forever, &pl) == 0, "pthread_create");
    while (LOGBUF_LOAD(&h->consumer_wait, LOGBUF_SEQ_CST) == 0) {
        sched_yield(); /* until it parks */
    }
    logbuf_consumer_interrupt(&c);
    pthread_join(th, NULL);
    CHECK_ERR(pl.result, LOGBUF_ERR_CLOSED);
    CHECK(c.timeouts == 0, "%llu futex waits ran out", (unsigned long long)c.timeouts);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_ERR_CLOSED);
    logbuf_consumer_close(&c);
    CHECK(logbuf_lease_state(lease_of(&h->consumer)) == LOGBUF_STATE_DETACHED, "not detached");
    logbuf_producer_close(&p);
}

/* Leases the state table does not define (section 8): a party refuses to
 * attach to one, naming the lease; an MPSC producer passes over such an
 * entry; for the end of the stream it holds nothing. */
static void test_malformed_leases(void) {
    static const struct {
        int mpsc, consumer; /* which record: the consumer's, or producer entry 0 */
        uint64_t lease;
        int want; /* LOGBUF_OK: taken (or, MPSC, passed over) */
    } cases[] = {
        {0, 1, UINT64_C(7) << 60 | 1, LOGBUF_ERR_CORRUPT}, /* state 7 */
        {0, 1, 42, LOGBUF_ERR_CORRUPT},                  /* FREE with a pid */
        {0, 1, UINT64_C(3) << 60 | 1, LOGBUF_OK},        /* CLOSED: the consumer reopens */
        {0, 0, UINT64_C(3) << 60 | 1, LOGBUF_ERR_CORRUPT}, /* CLOSED in a producer entry */
        {0, 0, UINT64_C(9) << 60, LOGBUF_ERR_CORRUPT},
        {1, 0, UINT64_C(3) << 60 | 1, LOGBUF_OK}, /* MPSC: entry 0 passed over */
        {1, 0, 5, LOGBUF_OK},
        {0, 1, UINT64_C(1) << 60, LOGBUF_OK}, /* ATTACHED by pid 0: no process, taken over */
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        guarded g;
        logbuf_header *h = guard_open(&g, 4096, cases[i].mpsc, 0);
        logbuf_party *rec = cases[i].consumer ? &h->consumer : &h->producers[0];
        LOGBUF_STORE(&rec->lease, cases[i].lease, LOGBUF_RELAXED);
        int err;
        const logbuf_fault *f;
        logbuf_consumer c;
        logbuf_producer p;
        if (cases[i].consumer) {
            err = logbuf_consumer_init(&c, &g.ring);
            f = &c.fault;
        } else {
            err = logbuf_producer_init(&p, &g.ring);
            f = &p.fault;
        }
        CHECK(err == cases[i].want, "case %u: %s, want %s", i, logbuf_strerror(err), logbuf_strerror(cases[i].want));
        if (err == LOGBUF_ERR_CORRUPT) {
            uint64_t off = cases[i].consumer ? LOGBUF_OFF_CONSUMER : LOGBUF_OFF_PRODUCER_TABLE;
            CHECK(fault_is(f, "lease") && f->where == off && f->value == cases[i].lease, "case %u: fault %s at %llu", i,
                  f->field, (unsigned long long)f->where);
            CHECK(lease_of(rec) == cases[i].lease, "case %u: the malformed lease was overwritten", i);
            continue;
        }
        if (cases[i].consumer) {
            CHECK(lease_of(rec) == c.lease, "case %u: not taken", i);
            logbuf_consumer_close(&c);
        } else {
            CHECK(p.owner == 2 && lease_of(rec) == cases[i].lease, "case %u: owner %llu", i, (unsigned long long)p.owner);
            logbuf_producer_close(&p);
        }
    }
    /* End of stream: a malformed entry holds nothing. */
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    LOGBUF_STORE(&h->producers[5].lease, UINT64_C(3) << 60 | 77, LOGBUF_RELAXED);
    logbuf_consumer c;
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_EOF);
    logbuf_consumer_close(&c);
}

/* A ring without an identity is refused at open (section 10 step 7). */
static void test_ring_id_zero(void) {
    guarded g;
    logbuf_header *h = guard_region(&g, 4096, 0);
    memset(h->ring_id, 0, sizeof h->ring_id);
    CHECK_ERR(logbuf_attach(&g.ring, g.region, g.size), LOGBUF_ERR_CORRUPT);
    CHECK(fault_is(&g.ring.fault, "ring_id") && g.ring.fault.where == LOGBUF_OFF_RING_ID, "fault names %s",
          g.ring.fault.field);
    h->ring_id[15] = 1;
    CHECK_ERR(logbuf_attach(&g.ring, g.region, g.size), LOGBUF_OK);
}

/* ---- Driver -------------------------------------------------------------- */

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    {"mpsc_unaligned_tail", test_mpsc_unaligned_tail},
    {"mpsc_tail_far_ahead", test_mpsc_tail_far_ahead},
    {"spsc_bad_head", test_spsc_bad_head},
    {"producer_init_checks_positions", test_producer_init_checks_positions},
    {"consumer_init_checks_positions", test_consumer_init_checks_positions},
    {"refused_producer_cannot_claim", test_refused_producer_cannot_claim},
    {"faults_per_producer_threads", test_faults_per_producer_threads},
    {"close_wakes_consumer_wait", test_close_wakes_consumer_wait},
    {"poll_eof_after_close", test_poll_eof_after_close},
    {"consume_batches", test_consume_batches},
    {"poll", test_poll},
    {"claim_timeout", test_claim_timeout},
    {"stats", test_stats},
    {"version", test_version},
    {"consumer_refuses_live", test_consumer_refuses_live},
    {"consumer_takes_over_dead", test_consumer_takes_over_dead},
    {"releasing_finished", test_releasing_finished},
    {"releasing_checked", test_releasing_checked},
    {"record_seq", test_record_seq},
    {"spsc_close_with_open_claim", test_spsc_close_with_open_claim},
    {"copy_safe_commit", test_copy_safe_commit},
    {"spsc_no_aba", test_spsc_no_aba},
    {"claimed_validated", test_claimed_validated},
    {"recover_mpsc_claim", test_recover_mpsc_claim},
    {"recover_unstamped", test_recover_unstamped},
    {"recover_spsc", test_recover_spsc},
    {"commit_wakes", test_commit_wakes},
    {"end_of_stream", test_end_of_stream},
    {"create", test_create},
    {"version_1_refused", test_version_1_refused},
    {"interrupt", test_interrupt},
    {"malformed_leases", test_malformed_leases},
    {"ring_id_zero", test_ring_id_zero},
};

int main(int argc, char **argv) {
    const size_t n = sizeof tests / sizeof tests[0];
    if (argc == 2 && strcmp(argv[1], "-list") == 0) {
        for (size_t i = 0; i < n; i++) puts(tests[i].name);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s -list | NAME...\n", argv[0]);
        return 2;
    }
    for (int a = 1; a < argc; a++) {
        size_t i = 0;
        while (i < n && strcmp(tests[i].name, argv[a]) != 0) i++;
        if (i == n) {
            fprintf(stderr, "no test %s\n", argv[a]);
            return 2;
        }
        current = tests[i].name;
        tests[i].fn();
        printf("ok %s\n", current);
    }
    return 0;
}
