/* wake_producer: the C producer of ring's cross-process wake-up tests.
 *
 *     wake_producer RING-FILE COUNT GAP-MICROSECONDS
 *
 * writes COUNT records of 16 bytes, each the CLOCK_MONOTONIC time of its
 * commit and its sequence number, GAP-MICROSECONDS apart (so that the Go
 * consumer parks before each), then closes its producer. */
#include "logbuf.h"

#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s RING-FILE COUNT GAP-MICROSECONDS\n", argv[0]);
        return 1;
    }
    uint64_t count = strtoull(argv[2], NULL, 10);
    useconds_t gap = (useconds_t)strtoul(argv[3], NULL, 10);
    logbuf_ring ring;
    if (logbuf_open(&ring, argv[1]) != LOGBUF_OK) {
        fprintf(stderr, "wake_producer: cannot open %s\n", argv[1]);
        return 1;
    }
    logbuf_producer p;
    logbuf_producer_init(&p, &ring);
    for (uint64_t seq = 0; seq < count; seq++) {
        if (gap > 0) {
            usleep(gap);
        }
        logbuf_claim c;
        int err;
        while ((err = logbuf_try_claim(&p, 16, &c)) == LOGBUF_ERR_FULL) {
            usleep(10);
        }
        if (err != LOGBUF_OK) {
            fprintf(stderr, "wake_producer: claim: %s\n", logbuf_strerror(err));
            return 2;
        }
        uint64_t now = logbuf_now();
        memcpy(c.bytes, &now, 8);
        memcpy(c.bytes + 8, &seq, 8);
        if ((err = logbuf_commit(&c)) != LOGBUF_OK) {
            fprintf(stderr, "wake_producer: commit: %s\n", logbuf_strerror(err));
            return 2;
        }
    }
    logbuf_producer_close(&p);
    logbuf_close(&ring);
    return 0;
}
