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
    return h;
}

/* guard_open makes a region with head and tail at pos and attaches g->ring. */
static logbuf_header *guard_open(guarded *g, uint64_t capacity, int mpsc, uint64_t pos) {
    logbuf_header *h = guard_region(g, capacity, mpsc);
    LOGBUF_STORE(&h->head, pos, LOGBUF_RELAXED);
    LOGBUF_STORE(&h->tail, pos, LOGBUF_RELAXED);
    int err = logbuf_attach(&g->ring, g->region, g->size);
    CHECK(err == LOGBUF_OK, "attach: %s (%s)", logbuf_strerror(err), g->ring.fault.reason);
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
            CHECK(LOGBUF_LOAD(&h->producers[0].state, LOGBUF_RELAXED) != LOGBUF_STATE_ATTACHED,
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
    CHECK(LOGBUF_LOAD(&h->consumer_state, LOGBUF_RELAXED) == LOGBUF_STATE_FREE, "a refused consumer attached");
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_ERR_CORRUPT);
    CHECK_ERR(logbuf_poll(&c, -1), LOGBUF_ERR_CORRUPT);
    CHECK_ERR(logbuf_consume(&c, 8, NULL, NULL), LOGBUF_ERR_CORRUPT);
    logbuf_consumer_close(&c);
    CHECK(LOGBUF_LOAD(&h->consumer_state, LOGBUF_RELAXED) == LOGBUF_STATE_FREE, "close of a refused consumer");
    CHECK(data_zero(&g) && guard_intact(&g), "wrote");
}

/* ---- A refused producer (issue 18) -------------------------------------- */

/* When logbuf_producer_init refuses (LOGBUF_ERR_BUSY on an SPSC ring that
 * has a live producer), the producer must not claim: a claim at position 0
 * would write over the first producer's record. */
static void test_refused_producer_cannot_claim(void) {
    guarded g;
    logbuf_header *h = guard_open(&g, 4096, 0, 0);
    logbuf_producer first, second;
    CHECK_ERR(logbuf_producer_init(&first, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_try_write(&first, "first", 5), LOGBUF_OK);
    CHECK_ERR(logbuf_producer_init(&second, &g.ring), LOGBUF_ERR_BUSY);
    logbuf_claim c;
    CHECK_ERR(logbuf_try_claim(&second, 5, &c), LOGBUF_ERR_BUSY);
    CHECK(c.p_ == NULL, "the refused claim is live");
    CHECK_ERR(logbuf_try_write(&second, "XXXXX", 5), LOGBUF_ERR_BUSY);
    CHECK_ERR(logbuf_write_timeout(&second, "XXXXX", 5, -1), LOGBUF_ERR_BUSY);
    logbuf_producer_close(&second); /* does nothing: it holds nothing */
    CHECK(LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) == 16, "tail %llu, want 16",
          (unsigned long long)LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED));
    uint64_t w;
    memcpy(&w, g.ring.data, 8);
    CHECK(w == ((uint64_t)LOGBUF_KIND_COMMITTED << 56 | 5) && memcmp(g.ring.data + 8, "first", 5) == 0,
          "the first record was overwritten");
    CHECK(LOGBUF_LOAD(&h->producers[0].state, LOGBUF_RELAXED) == LOGBUF_STATE_ATTACHED, "the first producer's entry");
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
        memset(&ft->p.fault, 0, sizeof ft->p.fault);
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
    logbuf_header *h = guard_open(&g, 4096, 0, 0);
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
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
    logbuf_header *h = guard_open(&g, 4096, 1, 0);
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
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
    bc.head = LOGBUF_LOAD(&h->head, LOGBUF_RELAXED);
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
 * wait that ends when the consumer makes room, LOGBUF_ERR_CLOSED when the
 * consumer closed. */
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
    logbuf_consumer_close(&c);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, -1), LOGBUF_ERR_CLOSED);
    CHECK_ERR(logbuf_claim_timeout(&p, 9, &cl, -1), LOGBUF_ERR_TOO_LARGE);
    logbuf_producer_close(&p);
    CHECK_ERR(logbuf_claim_timeout(&p, 8, &cl, -1), LOGBUF_ERR_CLOSED);
    CHECK(guard_intact(&g), "wrote outside the region");
}

/* logbuf_read_stats reads what the parties published. */
static void test_stats(void) {
    guarded g;
    guard_open(&g, 4096, 1, 0);
    logbuf_producer p;
    logbuf_consumer c;
    CHECK_ERR(logbuf_producer_init(&p, &g.ring), LOGBUF_OK);
    CHECK_ERR(logbuf_consumer_init(&c, &g.ring), LOGBUF_OK);
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
    logbuf_record rec;
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    CHECK_ERR(logbuf_try_read(&c, &rec), LOGBUF_OK);
    logbuf_release(&c);
    logbuf_producer_close(&p);
    logbuf_read_stats(&g.ring, &s);
    CHECK(s.records_read == 2 && s.bytes_read == 3, "read %llu records %llu bytes", (unsigned long long)s.records_read,
          (unsigned long long)s.bytes_read);
    CHECK(s.aborts == 2 && s.full_events == 1 && s.producers == 0, "aborts %llu full %llu producers %u",
          (unsigned long long)s.aborts, (unsigned long long)s.full_events, s.producers);
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
