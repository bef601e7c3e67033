// cxx.cc: logbuf.h compiled as C++, with a producer and a consumer exercised
// on a ring in process memory, so that the std::atomic spelling of the
// header is compiled and run, not only parsed.
#include "../logbuf.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main() {
    const size_t capacity = 1024;
    void *mem = std::aligned_alloc(4096, 2 * 4096); // a multiple of the alignment
    std::memset(mem, 0, LOGBUF_HEADER_SIZE + capacity);
    logbuf_header *h = static_cast<logbuf_header *>(mem);
    h->magic = LOGBUF_MAGIC;
    h->version = LOGBUF_VERSION;
    h->header_size = LOGBUF_HEADER_SIZE;
    h->capacity = capacity;
    h->flags = LOGBUF_FLAG_MPSC;
    h->line_size = LOGBUF_LINE_SIZE;
    h->producer_slots = LOGBUF_PRODUCER_SLOTS;
    logbuf_ring ring;
    if (logbuf_attach(&ring, mem, LOGBUF_HEADER_SIZE + capacity) != LOGBUF_OK) {
        std::fprintf(stderr, "attach: %s\n", ring.fault.reason);
        return 1;
    }
    logbuf_producer p;
    logbuf_consumer c;
    logbuf_producer_init(&p, &ring);
    logbuf_consumer_init(&c, &ring);
    for (int i = 0; i < 1000; i++) {
        char msg[32];
        int n = std::snprintf(msg, sizeof msg, "record %d", i);
        if (logbuf_try_write(&p, msg, (size_t)n) != LOGBUF_OK) {
            std::fprintf(stderr, "write %d failed\n", i);
            return 1;
        }
        logbuf_record rec;
        if (logbuf_try_read(&c, &rec) != LOGBUF_OK || rec.len != (size_t)n || std::memcmp(rec.bytes, msg, rec.len)) {
            std::fprintf(stderr, "read %d failed\n", i);
            return 1;
        }
        logbuf_release(&c);
    }
    logbuf_producer_close(&p);
    logbuf_consumer_close(&c);
    std::free(mem);
    std::puts("ok");
    return 0;
}
