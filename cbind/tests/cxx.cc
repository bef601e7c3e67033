// cxx.cc: logbuf.h compiled as C++, with a producer and a consumer exercised
// on a ring in process memory, so that the std::atomic spelling of the
// header is compiled and run, not only parsed. header_test.go also compiles
// it with clang++ -Weverything: it is written to be as clean as the header.
#include "../logbuf.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

struct expect {
    int next; // the record number due
    int bad;
};

int check_record(void *ctx, const unsigned char *bytes, size_t len) {
    expect *e = static_cast<expect *>(ctx);
    char want[32];
    int n = std::snprintf(want, sizeof want, "record %d", e->next);
    if (n < 0 || len != static_cast<size_t>(n) || std::memcmp(bytes, want, len) != 0) {
        e->bad++;
    }
    e->next++;
    return 0;
}

int fail(const char *what) {
    std::fprintf(stderr, "%s failed\n", what);
    return 1;
}

} // namespace

int main() {
    const size_t capacity = 1024;
    void *mem = std::aligned_alloc(4096, 2 * 4096); // a multiple of the alignment
    if (mem == nullptr) {
        return fail("aligned_alloc");
    }
    std::memset(mem, 0, LOGBUF_HEADER_SIZE + capacity);
    logbuf_header *h = static_cast<logbuf_header *>(mem);
    h->magic = LOGBUF_MAGIC;
    h->version = LOGBUF_VERSION;
    h->header_size = LOGBUF_HEADER_SIZE;
    h->capacity = capacity;
    h->flags = LOGBUF_FLAG_MPSC;
    h->line_size = LOGBUF_LINE_SIZE;
    h->producer_slots = LOGBUF_PRODUCER_SLOTS;
    std::memcpy(h->ring_id, "cxx-test-ring-id", sizeof h->ring_id);
    logbuf_ring ring;
    if (logbuf_attach(&ring, mem, LOGBUF_HEADER_SIZE + capacity) != LOGBUF_OK) {
        std::fprintf(stderr, "attach: %s\n", ring.fault.reason);
        return 1;
    }
    logbuf_producer p;
    logbuf_consumer c;
    if (logbuf_producer_init(&p, &ring) != LOGBUF_OK || logbuf_consumer_init(&c, &ring) != LOGBUF_OK) {
        return fail("init");
    }
    expect e = {0, 0};
    for (int i = 0; i < 1000; i++) {
        char msg[32];
        int n = std::snprintf(msg, sizeof msg, "record %d", i);
        if (n < 0 || logbuf_write_timeout(&p, msg, static_cast<size_t>(n), -1) != LOGBUF_OK) {
            return fail("write");
        }
        if (i % 2 == 0) {
            logbuf_record rec;
            if (logbuf_try_read(&c, &rec) != LOGBUF_OK || check_record(&e, rec.bytes, rec.len) != 0) {
                return fail("try_read");
            }
            logbuf_release(&c);
        } else if (logbuf_poll(&c, -1) != LOGBUF_OK || logbuf_consume(&c, 8, check_record, &e) != 1) {
            return fail("poll and consume");
        }
    }
    logbuf_stats s;
    logbuf_read_stats(&ring, &s);
    logbuf_producer_close(&p);
    if (e.bad != 0 || e.next != 1000 || s.records_read != 1000 || logbuf_poll(&c, -1) != LOGBUF_EOF) {
        return fail("the records, the counters or the end");
    }
    logbuf_consumer_close(&c);
    std::free(mem);
    std::puts("ok");
    return 0;
}
