/* producer: an example producer. It writes each line of its standard input
 * as one record into a logbuf ring file (SPSC or MPSC), which a consumer in
 * another process (Go or C) drains.
 *
 *     cc -std=c11 -O2 -Wall -I cbind -o producer cbind/examples/producer.c
 *     ./producer /dev/shm/app.ring < messages.txt
 *
 * or, with logbuf installed (cbind/README.md), through CMakeLists.txt here or
 * $(pkg-config --cflags logbuf).
 */
#include "logbuf.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s RING-FILE < lines\n", argv[0]);
        return 2;
    }
    logbuf_ring ring;
    int err = logbuf_open(&ring, argv[1]);
    if (err != LOGBUF_OK) {
        char why[256];
        if (err == LOGBUF_ERR_CORRUPT) {
            logbuf_format_fault(&ring.fault, why, sizeof why);
        } else {
            snprintf(why, sizeof why, "%s", strerror(errno));
        }
        fprintf(stderr, "%s: %s\n", argv[1], why);
        return 1;
    }
    logbuf_producer p;
    if ((err = logbuf_producer_init(&p, &ring)) != LOGBUF_OK) { /* LOGBUF_ERR_BUSY: SPSC taken */
        fprintf(stderr, "%s: %s\n", argv[1], logbuf_strerror(err));
        return 1;
    }

    char line[4096];
    while (err == LOGBUF_OK && fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strcspn(line, "\n");
        if (n == 0) {
            continue; /* records are never empty */
        }
        if (n > logbuf_max_payload(&ring)) {
            n = logbuf_max_payload(&ring); /* or split it; this example cuts */
        }
        /* Claim (waiting while the consumer is behind: -1 is no time limit),
         * fill in place, commit. logbuf_write_timeout(&p, line, n, -1) does
         * the same in one call. LOGBUF_ERR_CLOSED ends the loop when the
         * consumer has gone. */
        logbuf_claim c;
        err = logbuf_claim_timeout(&p, n, &c, -1);
        if (err == LOGBUF_OK) {
            memcpy(c.bytes, line, n);
            err = logbuf_commit(&c);
        }
    }
    if (err != LOGBUF_OK) {
        fprintf(stderr, "write: %s\n", logbuf_strerror(err));
    }
    logbuf_producer_close(&p);
    logbuf_close(&ring);
    return err == LOGBUF_OK ? 0 : 1;
}
