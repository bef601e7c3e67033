/* consumer: the test consumer. It reads COUNT records of spec/TEST-RECORDS.md
 * from a ring file and checks each one: intact, and in sequence per producer.
 *
 *     consumer RING-FILE COUNT
 *
 * On success it prints "ok N" and one line "producer ID RECORDS" per producer,
 * and exits 0. Exit status: 1 bad arguments or ring (message names the
 * problem), 2 a bad record, 3 the ring is corrupt (the fault is printed), 4 no
 * progress for 20 seconds. */
#include "../logbuf.h"
#include "testrec.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_IDS 1024

static uint64_t next_seq[MAX_IDS];

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RING-FILE COUNT\n", argv[0]);
        return 1;
    }
    uint64_t count = strtoull(argv[2], NULL, 10);
    char msg[256];
    logbuf_ring ring;
    int err = logbuf_open(&ring, argv[1]);
    if (err != LOGBUF_OK) {
        if (err == LOGBUF_ERR_CORRUPT) {
            logbuf_format_fault(&ring.fault, msg, sizeof msg);
            fprintf(stderr, "consumer: %s: %s\n", argv[1], msg);
            return 3;
        }
        fprintf(stderr, "consumer: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    logbuf_consumer c;
    logbuf_consumer_init(&c, &ring);
    uint64_t got = 0, idle_since = logbuf_now();
    unsigned idle = 0;
    while (got < count) {
        logbuf_record rec;
        int batch = 0;
        while (batch < 64 && got < count && (err = logbuf_try_read(&c, &rec)) == LOGBUF_OK) {
            uint32_t id;
            uint64_t seq;
            const char *why = testrec_check(rec.bytes, rec.len, &id, &seq);
            if (why == NULL && id >= MAX_IDS) {
                why = "producer id out of range";
            }
            if (why == NULL && seq != next_seq[id]) {
                fprintf(stderr, "consumer: record %llu: producer %u: seq %llu, want %llu\n",
                        (unsigned long long)got, id, (unsigned long long)seq, (unsigned long long)next_seq[id]);
                return 2;
            }
            if (why != NULL) {
                fprintf(stderr, "consumer: record %llu (%zu bytes): %s\n", (unsigned long long)got, rec.len, why);
                return 2;
            }
            next_seq[id]++;
            got++;
            batch++;
        }
        logbuf_release(&c);
        if (batch > 0) {
            idle_since = logbuf_now();
            idle = 0;
            continue;
        }
        if (err == LOGBUF_ERR_CORRUPT) {
            logbuf_format_fault(&c.fault, msg, sizeof msg);
            fprintf(stderr, "consumer: %s\n", msg);
            return 3;
        }
        if (logbuf_now() - idle_since > UINT64_C(20000000000)) {
            fprintf(stderr, "consumer: no record for 20 s after %llu of %llu\n", (unsigned long long)got,
                    (unsigned long long)count);
            return 4;
        }
        /* Yield a while before parking: parking as soon as the ring is empty
         * would cost a wake-up, two context switches, per record when the
         * consumer keeps up. */
        if (++idle < 200) {
            sched_yield();
        } else {
            logbuf_consumer_wait(&c, 1000000); /* park for up to 1 ms (section 7.1) */
        }
    }
    logbuf_consumer_close(&c);
    printf("ok %llu\n", (unsigned long long)got);
    for (uint32_t id = 0; id < MAX_IDS; id++) {
        if (next_seq[id] != 0) {
            printf("producer %u %llu\n", id, (unsigned long long)next_seq[id]);
        }
    }
    logbuf_close(&ring);
    return 0;
}
