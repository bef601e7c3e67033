/* producer: the test producer of spec/TEST-RECORDS.md.
 *
 *     producer RING-FILE PRODUCER-ID COUNT SEED [ABORT-EVERY]
 *
 * writes COUNT records into the ring file (SPSC or MPSC, as the file says),
 * waiting for space with logbuf_claim_timeout for as long as it takes: a
 * consumer that is gone or detached is one that has not come back yet (spec
 * section 8), so it keeps waiting for the next one, and stops only when the
 * consumer closes the ring for good. With ABORT-EVERY K > 0 it also claims and
 * aborts a record before every K-th one, so that consumers see skips. It
 * exits 0 when all are written. Exit status: 1 bad arguments or ring, 2 a
 * ring error (an SPSC ring that already has a live producer: its pid is
 * printed), 3 the consumer closed the ring. */
#include "../logbuf.h"
#include "testrec.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s RING-FILE PRODUCER-ID COUNT SEED [ABORT-EVERY]\n", argv[0]);
        return 1;
    }
    uint32_t id = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t count = strtoull(argv[3], NULL, 10);
    uint64_t x = strtoull(argv[4], NULL, 0);
    uint64_t abort_every = argc == 6 ? strtoull(argv[5], NULL, 10) : 0;
    if (x == 0) {
        fprintf(stderr, "producer: SEED must be non-zero\n");
        return 1;
    }
    logbuf_ring ring;
    int err = logbuf_open(&ring, argv[1]);
    if (err != LOGBUF_OK) {
        char msg[256];
        if (err == LOGBUF_ERR_CORRUPT) {
            logbuf_format_fault(&ring.fault, msg, sizeof msg);
        } else {
            snprintf(msg, sizeof msg, "%s", strerror(errno));
        }
        fprintf(stderr, "producer: %s: %s\n", argv[1], msg);
        return 1;
    }
    if (ring.max_payload < 16) {
        fprintf(stderr, "producer: max_payload %llu is below the 16 bytes of a test record\n",
                (unsigned long long)ring.max_payload);
        return 1;
    }
    logbuf_producer p;
    if ((err = logbuf_producer_init(&p, &ring)) != LOGBUF_OK) {
        if (err == LOGBUF_ERR_PRODUCER_BUSY) {
            fprintf(stderr, "producer %u: %s (pid %u)\n", id, logbuf_strerror(err), logbuf_lease_pid(p.holder));
        } else {
            fprintf(stderr, "producer %u: %s\n", id, logbuf_strerror(err));
        }
        return 2;
    }
    for (uint64_t seq = 0; seq < count; seq++) {
        size_t len = testrec_len(testrec_next(&x), ring.max_payload);
        logbuf_claim c;
        if (abort_every != 0 && seq % abort_every == 0) {
            if ((err = logbuf_claim_timeout(&p, len, &c, -1)) != LOGBUF_OK) {
                break;
            }
            memset(c.bytes, 0xAB, c.len);
            logbuf_abort(&c);
        }
        if ((err = logbuf_claim_timeout(&p, len, &c, -1)) != LOGBUF_OK) {
            break;
        }
        testrec_fill(c.bytes, c.len, id, seq);
        if ((err = logbuf_commit(&c)) != LOGBUF_OK) {
            break;
        }
    }
    logbuf_producer_close(&p);
    logbuf_close(&ring);
    if (err != LOGBUF_OK) {
        fprintf(stderr, "producer %u: %s\n", id, logbuf_strerror(err));
        return err == LOGBUF_ERR_RING_CLOSED ? 3 : 2;
    }
    return 0;
}
