/* hostile: the C producer and consumer on regions another party wrote, in
 * the shape of fuzz/hostile_test.go. Each input describes a region (identity
 * fields, head, tail, record words, producer table entries), which is laid
 * out in guarded memory: inaccessible pages right before and after it,
 * canary bytes in between. logbuf_attach must refuse it naming a field, or
 * accept it; then a producer and the consumer work on it while the other
 * party keeps rewriting head, tail, record words and table entries. Every
 * call must return one of the codes its documentation gives, a
 * LOGBUF_ERR_CORRUPT with its fault filled in, and payloads inside the data
 * area; nothing may be written outside the region (a guard page faults, a
 * canary changes), and nothing may wait longer than the input asks.
 *
 *     hostile -random SEED COUNT   COUNT random inputs from SEED
 *     hostile FILE...              each file is one input
 *
 * Built with -DLOGBUF_LIBFUZZER and clang's -fsanitize=fuzzer, it is a
 * libFuzzer target instead (LLVMFuzzerTestOneInput). Exit status 1 and a
 * message on the first broken rule. */
#include "../logbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define CANARY 0xA5

static void broken(const char *fmt, ...) {
    va_list ap;
    fputs("hostile: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort(); /* libFuzzer saves the input on abort */
}

/* input hands out the bytes of an input; past its end, zeros. */
typedef struct input {
    const uint8_t *b;
    size_t n;
} input;

static int more(const input *in) { return in->n > 0; }

static uint8_t byte(input *in) {
    if (in->n == 0) return 0;
    in->n--;
    return *in->b++;
}

static uint16_t u16(input *in) { return (uint16_t)(byte(in) | byte(in) << 8); }

static uint64_t u64(input *in) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)byte(in) << (8 * i);
    return v;
}

/* ---- Guarded memory ------------------------------------------------------ */

/* One mapping per span, kept: libFuzzer runs inputs one after another. */
#define MAX_ARENAS 16
static struct {
    size_t span;
    unsigned char *mem; /* span accessible bytes between two PROT_NONE pages */
} arenas[MAX_ARENAS];

static unsigned char *arena(size_t span) {
    int i = 0;
    for (; i < MAX_ARENAS && arenas[i].mem != NULL; i++) {
        if (arenas[i].span == span) return arenas[i].mem;
    }
    if (i == MAX_ARENAS) broken("too many arena sizes");
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, span + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0 || mprotect(m + page + span, page, PROT_NONE) != 0) {
        broken("mmap: %s", strerror(errno));
    }
    arenas[i].span = span;
    arenas[i].mem = m + page;
    return arenas[i].mem;
}

typedef struct region {
    unsigned char *arena, *mem;
    size_t span, size;
} region;

/* place lays size bytes out in an arena, ending as close to the trailing
 * guard page as 128-byte alignment allows (overruns past the end are the
 * likelier kind), canaries around it. */
static void place(region *g, size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->size = size;
    g->span = (size + page - 1) / page * page;
    g->arena = arena(g->span);
    memset(g->arena, CANARY, g->span);
    g->mem = g->arena + ((g->span - size) & ~(size_t)127);
    memset(g->mem, 0, size);
}

static void check_intact(const region *g, const char *when) {
    for (const unsigned char *p = g->arena; p < g->mem; p++) {
        if (*p != CANARY) broken("%s: a byte %td before the region changed", when, g->mem - p);
    }
    for (const unsigned char *p = g->mem + g->size; p < g->arena + g->span; p++) {
        if (*p != CANARY) broken("%s: a byte %td past the region changed", when, p - (g->mem + g->size));
    }
}

/* ---- Building a region from the input ------------------------------------ */

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

/* hostile_pos picks a position: small, near 2^64, arbitrary or laps in. */
static uint64_t hostile_pos(input *in, uint64_t capacity) {
    switch (byte(in) % 4) {
    case 0: return (uint64_t)u16(in) * 8;
    case 1: return -(uint64_t)u16(in) * 8;
    case 2: return u64(in);
    default: return (uint64_t)u16(in) * capacity + (uint64_t)byte(in) * 8;
    }
}

/* hostile_span picks tail - head: often 0 (the parties then write the
 * records the consumer reads), mostly aligned and within capacity. */
static uint64_t hostile_span(input *in, uint64_t capacity) {
    uint8_t b = byte(in);
    if (b < 0x20) return 0;
    uint64_t v = u16(in);
    if (b < 0xE0) return v % (capacity + 8) & ~(uint64_t)7;
    if (b < 0xF0) return capacity;
    return v; /* unaligned, or more than capacity */
}

/* hostile_word picks a record header word: each kind with small lengths,
 * sometimes lap and owner bits, sometimes anything. */
static uint64_t hostile_word(input *in, uint64_t capacity) {
    static const uint64_t kinds[8] = {0, LOGBUF_KIND_CLAIMED, LOGBUF_KIND_COMMITTED, LOGBUF_KIND_PADDING,
                                      LOGBUF_KIND_ABORTED, LOGBUF_KIND_UNBLOCKED, LOGBUF_KIND_COMMITTED, 0x44};
    uint8_t b = byte(in);
    if (b >= 0xF8) return u64(in);
    uint64_t n = byte(in);
    switch (b >> 3 & 3) {
    case 1: n = n * 8 % (capacity + 8); break;
    case 2: n = capacity / 8 + n % 16 - 8; break;
    case 3: n |= (uint64_t)byte(in) << 8; break;
    default: break;
    }
    uint64_t w = kinds[b & 7] << 56 | n;
    if (b >> 5 == 7) w |= (uint64_t)u16(in) << 32; /* lap and owner bits */
    return w;
}

/* hostile_lease picks a lease word for a party record: free, held by this
 * process, by init (alive), by a process that cannot exist, detached,
 * closed, or anything. */
static uint64_t hostile_lease(input *in) {
    uint32_t pid = (uint32_t)getpid();
    switch (byte(in) % 8) {
    case 0: return 0;
    case 1: return logbuf_lease_make(LOGBUF_STATE_ATTACHED, pid, logbuf_start_time(0));
    case 2: return logbuf_lease_make(LOGBUF_STATE_ATTACHED, pid, u64(in)); /* this pid, another start */
    case 3: return logbuf_lease_make(LOGBUF_STATE_ATTACHED, 1, 0);
    case 4: return logbuf_lease_make(LOGBUF_STATE_ATTACHED, 0x3FFFFF + 1, 0);
    case 5: return logbuf_lease_make(LOGBUF_STATE_DETACHED, pid, 0);
    case 6: return logbuf_lease_make(LOGBUF_STATE_CLOSED, 1, 0);
    default: return u64(in);
    }
}

/* hostile_table writes some party records: producer entries and the
 * consumer's. */
static void hostile_table(input *in, unsigned char *img) {
    for (int k = byte(in) % 4; k > 0; k--) {
        uint8_t i = byte(in);
        unsigned char *e = i >= 0xF0 ? img + LOGBUF_OFF_CONSUMER
                                     : img + LOGBUF_OFF_PRODUCER_TABLE + (size_t)(i % LOGBUF_PRODUCER_SLOTS) * LOGBUF_PARTY_SIZE;
        put64(e + LOGBUF_PARTY_OFF_LEASE, hostile_lease(in));
        put64(e + LOGBUF_PARTY_OFF_SINCE, byte(in) < 0x80 ? 0 : u64(in));
    }
}

/* build lays the region the input describes out in g. The first byte
 * chooses the form: below 0xF0, a structured region; otherwise the input's
 * next 0x110 bytes are the header's first bytes verbatim and the rest the
 * data area. */
static void build(input *in, region *g) {
    if (byte(in) >= 0xF0) {
        size_t head = in->n < 0x110 ? in->n : 0x110;
        size_t data = in->n - head < 8192 ? in->n - head : 8192;
        place(g, LOGBUF_HEADER_SIZE + data);
        memcpy(g->mem, in->b, head);
        memcpy(g->mem + LOGBUF_HEADER_SIZE, in->b + head, data);
        in->b += head + data;
        in->n -= head + data;
        return;
    }
    uint64_t capacity = UINT64_C(64) << (byte(in) % 8);
    size_t size = LOGBUF_HEADER_SIZE + (size_t)capacity;
    uint8_t b = byte(in);
    if (b >= 0xF8) size -= (size_t)(b - 0xF7); /* too short for its capacity */
    place(g, size);
    unsigned char *img = g->mem;
    put64(img + LOGBUF_OFF_MAGIC, LOGBUF_MAGIC);
    put32(img + LOGBUF_OFF_VERSION, LOGBUF_VERSION);
    put32(img + LOGBUF_OFF_HEADER_SIZE, LOGBUF_HEADER_SIZE);
    put64(img + LOGBUF_OFF_CAPACITY, capacity);
    put32(img + LOGBUF_OFF_LINE_SIZE, LOGBUF_LINE_SIZE);
    put32(img + LOGBUF_OFF_PRODUCER_SLOTS, LOGBUF_PRODUCER_SLOTS);
    memcpy(img + LOGBUF_OFF_RING_ID, "hostile-ring-id!", LOGBUF_RING_ID_SIZE);
    uint8_t f = byte(in);
    put32(img + LOGBUF_OFF_FLAGS, f >= 0xF0 ? f : f & LOGBUF_FLAG_MPSC);
    if ((b = byte(in)) >= 0xF8) { /* break one identity field */
        static const size_t fields[8] = {LOGBUF_OFF_MAGIC,    LOGBUF_OFF_VERSION,   LOGBUF_OFF_HEADER_SIZE,
                                         LOGBUF_OFF_CAPACITY, LOGBUF_OFF_LINE_SIZE, LOGBUF_OFF_PRODUCER_SLOTS,
                                         LOGBUF_OFF_FLAGS,    LOGBUF_OFF_RING_ID};
        if (fields[b & 7] == LOGBUF_OFF_RING_ID) {
            memset(img + LOGBUF_OFF_RING_ID, 0, LOGBUF_RING_ID_SIZE);
        } else {
            put32(img + fields[b & 7], (uint32_t)u64(in));
        }
    }
    uint64_t head = hostile_pos(in, capacity);
    put64(img + LOGBUF_OFF_HEAD, head);
    put64(img + LOGBUF_OFF_TAIL, head + hostile_span(in, capacity));
    /* releasing: mostly no release under way; sometimes a dead consumer's,
     * or anything. */
    b = byte(in);
    put64(img + LOGBUF_OFF_RELEASING, b < 0xC0 ? head : b < 0xF0 ? head + (uint64_t)(b & 0x1F) * 8 : u64(in));
    put64(img + LOGBUF_OFF_RELEASING_RECORDS, b & 1 ? u64(in) : (uint64_t)((b & 0xE) >> 1));
    hostile_table(in, img);
    /* Record words and payload bytes, laid out from head so that
     * well-formed chains are easy to reach. */
    unsigned char *data = img + LOGBUF_HEADER_SIZE;
    size_t have = size - LOGBUF_HEADER_SIZE; /* data bytes present (short regions) */
    uint64_t pos = head;
    for (int k = byte(in) % 32; k > 0; k--) {
        uint64_t w = hostile_word(in, capacity);
        uint8_t step = byte(in);
        uint64_t off = pos % capacity;
        if (step < 0xC0) { /* the next word where this record ends */
            if (off + 8 <= have) put64(data + off, w);
            uint64_t len = w & LOGBUF_WORD_LEN_MASK, kind = w >> 56;
            pos += kind == LOGBUF_KIND_COMMITTED || kind == LOGBUF_KIND_CLAIMED ? (len + 15) & ~(uint64_t)7
                   : kind == 0                                                  ? 8
                   : (len & ~(uint64_t)7) > 8                                   ? len & ~(uint64_t)7
                                                                                : 8;
        } else if (step < 0xF0) { /* payload bytes after the word */
            for (uint64_t i = 0; i < (uint64_t)(step & 0x3F); i++) {
                if (off + 8 + i < have) data[off + 8 + i] = (unsigned char)(i ^ step);
            }
        } else { /* a word anywhere, aligned or not */
            off = u16(in) % capacity;
            if (off + 8 <= have) put64(data + off, w);
        }
    }
}

/* ---- The parties ---------------------------------------------------------- */

/* What the inputs reached, printed by -random: a run that attaches nothing
 * or delivers nothing tests little. */
static struct {
    uint64_t attached, claims, commits, records, corrupt, eof, unblocks;
} reached;

typedef struct run {
    region g;
    logbuf_ring ring;
    int records; /* delivered in the current consume call */
} run;

static void check_fault(const logbuf_fault *f, const char *what) {
    if (f->field == NULL || f->reason == NULL) broken("%s: LOGBUF_ERR_CORRUPT without a fault", what);
    char msg[256];
    logbuf_format_fault(f, msg, sizeof msg);
}

/* check_code fails unless err is one of the codes in ok (ended by 1). */
static void check_code(int err, const char *what, const logbuf_fault *f, ...) {
    va_list ap;
    va_start(ap, f);
    for (int c = va_arg(ap, int); c != 1; c = va_arg(ap, int)) {
        if (c == err) {
            va_end(ap);
            if (err == LOGBUF_ERR_CORRUPT) check_fault(f, what);
            return;
        }
    }
    va_end(ap);
    broken("%s: unexpected %s (%d)", what, logbuf_strerror(err), err);
}

/* check_payload fails unless [b, b+len) is a record's payload inside the data
 * area: after an 8-aligned header word, at most max_payload bytes. */
static void check_payload(const logbuf_ring *r, const unsigned char *b, size_t len, const char *what) {
    if (b == NULL || b < r->data + 8 || (size_t)(b - r->data) % 8 != 0 || len == 0 || len > r->max_payload ||
        (uint64_t)(b - r->data) + len > r->capacity) {
        broken("%s: payload of %zu bytes at data offset %td is not inside the data area", what, len,
               b == NULL ? -1 : b - r->data);
    }
}

static int on_record(void *ctx, const unsigned char *b, size_t len) {
    run *rn = ctx;
    check_payload(&rn->ring, b, len, "logbuf_consume");
    rn->records++;
    reached.records++;
    return 0;
}

#define MAX_OPEN 8


static void one(const uint8_t *data, size_t size) {
    input in = {data, size};
    run rn;
    memset(&rn, 0, sizeof rn);
    build(&in, &rn.g);
    logbuf_ring *r = &rn.ring;
    int err = logbuf_attach(r, rn.g.mem, rn.g.size);
    check_code(err, "logbuf_attach", &r->fault, LOGBUF_OK, LOGBUF_ERR_CORRUPT, 1);
    if (err != LOGBUF_OK) {
        check_intact(&rn.g, "logbuf_attach");
        return;
    }
    reached.attached++;
    logbuf_header *h = r->hdr;
    /* The other party may move head and tail between open and attaching. */
    uint8_t b = byte(&in);
    if (b >= 0xE0) {
        LOGBUF_STORE(b & 1 ? &h->head : &h->tail,
                     LOGBUF_LOAD(b & 1 ? &h->head : &h->tail, LOGBUF_RELAXED) + (uint64_t)(int8_t)byte(&in),
                     LOGBUF_RELAXED);
    }

    logbuf_producer p;
    logbuf_consumer c;
    err = logbuf_producer_init(&p, r);
    check_code(err, "logbuf_producer_init", &p.fault, LOGBUF_OK, LOGBUF_ERR_CORRUPT, LOGBUF_ERR_PRODUCER_BUSY, 1);
    err = logbuf_consumer_init(&c, r);
    check_code(err, "logbuf_consumer_init", &c.fault, LOGBUF_OK, LOGBUF_ERR_CORRUPT, LOGBUF_ERR_CONSUMER_BUSY, 1);
    /* Recovery at the second look: stuck claims are recovered within the
     * run, between the other party's writes. */
    logbuf_consumer_set_recovery(&c, 1, NULL, NULL);
    logbuf_claim open[MAX_OPEN], copies[MAX_OPEN];
    int nopen = 0, ncopies = 0;
    for (int op = 0; op < 96 && more(&in); op++) {
        b = byte(&in);
        int kind = b % 12;
        if (kind < 2 && b < 0x80) {
            kind = 2; /* the other party writes on half of its turns: calm stretches between */
        }
        switch (kind) {
        case 0: { /* the other party moves tail or head: by a multiple of 8, or anywhere */
            int8_t d = (int8_t)byte(&in);
            uint64_t v = LOGBUF_LOAD(&h->tail, LOGBUF_RELAXED) + (uint64_t)(b & 0x40 ? d : d * 8);
            if (b & 0x10) v = u64(&in);
            LOGBUF_STORE(b & 0x20 ? &h->head : &h->tail, v, LOGBUF_RELAXED);
            break;
        }
        case 1: { /* or writes a word anywhere in the data area, or the table */
            if (b & 0x10) {
                hostile_table(&in, rn.g.mem);
                break;
            }
            uint64_t off = u16(&in) % r->capacity & ~(uint64_t)7;
            LOGBUF_STORE(logbuf_i_word(r, off), hostile_word(&in, r->capacity), LOGBUF_RELAXED);
            break;
        }
        case 2:
        case 3: {
            size_t n = byte(&in) % (r->max_payload + 2);
            logbuf_claim cl;
            err = (b & 0x10) ? logbuf_claim_timeout(&p, n, &cl, b & 0x20 ? 1000 : 0) : logbuf_try_claim(&p, n, &cl);
            check_code(err, "claim", &p.fault, LOGBUF_OK, LOGBUF_ERR_FULL, LOGBUF_ERR_ZERO_LENGTH,
                       LOGBUF_ERR_TOO_LARGE, LOGBUF_ERR_CORRUPT, LOGBUF_ERR_CLOSED, LOGBUF_ERR_PRODUCER_BUSY,
                       LOGBUF_ERR_TIMEOUT, LOGBUF_ERR_NO_CONSUMER, LOGBUF_ERR_RING_CLOSED, 1);
            if (err == LOGBUF_OK) {
                reached.claims++;
                check_payload(r, cl.bytes, cl.len, "claim");
                if (cl.len != n) broken("claim of %zu bytes gave %zu", n, cl.len);
                memset(cl.bytes, 0x5A, cl.len);
                if (nopen == MAX_OPEN) {
                    logbuf_abort(&open[--nopen]);
                }
                open[nopen++] = cl;
                copies[ncopies++ % MAX_OPEN] = cl; /* for case 5 */
            }
            break;
        }
        case 4:
            if (nopen > 0) {
                int i = byte(&in) % nopen;
                if (b & 0x10) {
                    logbuf_abort(&open[i]);
                } else {
                    err = logbuf_commit(&open[i]);
                    check_code(err, "commit", NULL, LOGBUF_OK, LOGBUF_ERR_DISCARDED, LOGBUF_ERR_CLAIM_ENDED, 1);
                    reached.commits += err == LOGBUF_OK;
                    /* A second commit of the same claim. */
                    check_code(logbuf_commit(&open[i]), "second commit", NULL, LOGBUF_ERR_CLAIM_ENDED, 1);
                }
                open[i] = open[--nopen];
            }
            break;
        case 5: /* end a copy of a claim, ended or not, any number of times: once at most takes effect */
            if (ncopies > 0) {
                logbuf_claim *cp = &copies[byte(&in) % (ncopies < MAX_OPEN ? ncopies : MAX_OPEN)];
                logbuf_claim again = *cp;
                if (b & 0x10) {
                    logbuf_abort(&again);
                } else {
                    check_code(logbuf_commit(&again), "commit of a copy", NULL, LOGBUF_OK, LOGBUF_ERR_CLAIM_ENDED,
                               LOGBUF_ERR_DISCARDED, 1);
                }
            }
            break;
        case 6: {
            logbuf_record rec;
            err = logbuf_try_read(&c, &rec);
            check_code(err, "logbuf_try_read", &c.fault, LOGBUF_OK, LOGBUF_ERR_EMPTY, LOGBUF_ERR_CORRUPT,
                       LOGBUF_ERR_CLOSED, LOGBUF_ERR_CONSUMER_BUSY, 1);
            if (err == LOGBUF_OK) check_payload(r, rec.bytes, rec.len, "logbuf_try_read");
            reached.records += err == LOGBUF_OK;
            reached.corrupt += err == LOGBUF_ERR_CORRUPT;
            break;
        }
        case 7: {
            rn.records = 0;
            size_t max = byte(&in) % 8;
            err = logbuf_consume(&c, max, on_record, &rn);
            if (err >= 0) {
                if (err != rn.records || (size_t)err > max) broken("logbuf_consume returned %d for %d records", err, rn.records);
                break;
            }
            check_code(err, "logbuf_consume", &c.fault, LOGBUF_ERR_CORRUPT, LOGBUF_ERR_CLOSED,
                       LOGBUF_ERR_CONSUMER_BUSY, 1);
            break;
        }
        case 8:
            logbuf_release(&c);
            break;
        case 9:
            err = (b & 0x10) ? logbuf_poll(&c, b & 0x20 ? 1000 : 0) : logbuf_consumer_wait(&c, 1000);
            check_code(err, "poll", &c.fault, LOGBUF_OK, LOGBUF_ERR_TIMEOUT, LOGBUF_EOF, LOGBUF_ERR_CORRUPT,
                       LOGBUF_ERR_CLOSED, LOGBUF_ERR_CONSUMER_BUSY, 1);
            reached.eof += err == LOGBUF_EOF;
            break;
        case 10: {
            logbuf_stats s;
            logbuf_read_stats(r, &s);
            if (s.used <= s.capacity && s.free_bytes != s.capacity - s.used) broken("stats: free_bytes");
            break;
        }
        case 11: /* a party leaves and comes back */
            if (b & 0x10) {
                while (nopen > 0) logbuf_abort(&open[--nopen]);
                logbuf_producer_close(&p);
                ncopies = 0; /* copies of this producer's claims die with it */
                err = logbuf_producer_init(&p, r);
                check_code(err, "logbuf_producer_init", &p.fault, LOGBUF_OK, LOGBUF_ERR_CORRUPT,
                           LOGBUF_ERR_PRODUCER_BUSY, 1);
            } else {
                if (b & 0x20) {
                    logbuf_consumer_close_ring(&c);
                } else {
                    logbuf_consumer_close(&c);
                }
                err = logbuf_consumer_init(&c, r);
                check_code(err, "logbuf_consumer_init", &c.fault, LOGBUF_OK, LOGBUF_ERR_CORRUPT,
                           LOGBUF_ERR_CONSUMER_BUSY, 1);
                logbuf_consumer_set_recovery(&c, 1, NULL, NULL);
            }
            break;
        }
    }
    while (nopen > 0) logbuf_abort(&open[--nopen]);
    logbuf_producer_close(&p);
    logbuf_consumer_close(&c);
    reached.unblocks += LOGBUF_LOAD(&h->unblocks, LOGBUF_RELAXED) != 0;
    check_intact(&rn.g, "after the parties");
}

#ifdef LOGBUF_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    one(data, size);
    return 0;
}
#else
static uint64_t next_random(uint64_t *x) { /* xorshift64* */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(0x2545F4914F6CDD1D);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "-random") == 0) {
        uint64_t x = strtoull(argv[2], NULL, 0) | 1, count = strtoull(argv[3], NULL, 0);
        static uint8_t buf[1024];
        for (uint64_t i = 0; i < count; i++) {
            size_t n = next_random(&x) % sizeof buf;
            /* Half the bytes small: fewer garbage words and more calm
             * stretches between the other party's writes, so that records
             * get claimed, committed and read between them. */
            for (size_t k = 0; k < n; k++) {
                uint64_t v = next_random(&x);
                buf[k] = (uint8_t)(v & 1 ? v >> 56 : v >> 60);
            }
            one(buf, n);
        }
        printf("ok %llu inputs: %llu attached, %llu claims, %llu commits, %llu records read, %llu corrupt reads, "
               "%llu ends of stream, %llu runs with a recovery\n",
               (unsigned long long)count, (unsigned long long)reached.attached, (unsigned long long)reached.claims,
               (unsigned long long)reached.commits, (unsigned long long)reached.records,
               (unsigned long long)reached.corrupt, (unsigned long long)reached.eof,
               (unsigned long long)reached.unblocks);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s -random SEED COUNT | FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        one(buf, n);
    }
    printf("ok %d inputs\n", argc - 1);
    return 0;
}
#endif
