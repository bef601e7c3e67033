/* consumer: the test consumer. It reads records of spec/TEST-RECORDS.md from
 * a ring file and checks each one: intact, and in sequence per producer.
 *
 *     consumer RING-FILE COUNT [resume]
 *
 * reads COUNT records. With "resume", the ring has one producer whose
 * records carry the ring's own sequence (spec section 7.2), and the consumer
 * takes over from an earlier one that was killed: the first record it reads
 * must be sequence read_records as it attached (nothing lost, nothing
 * delivered twice), and it reads on until sequence COUNT.
 *
 * On success it prints "ok N" (records read), "start S" with resume, and one
 * line "producer ID RECORDS" per producer (RECORDS: the next sequence due),
 * and exits 0. It reads with logbuf_consume and waits with logbuf_poll. Exit
 * status: 1 bad arguments or ring (message names the problem), 2 a bad
 * record, 3 the ring is corrupt (the fault is printed), 4 no record for 20
 * seconds (whether or not the producers are gone: the end of the stream is
 * not final), 5 the ring already has a live consumer (its pid is printed). */
#include "../logbuf.h"
#include "testrec.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_IDS 1024
#define IDLE_NS UINT64_C(20000000000) /* no record for this long: give up */

/* checker is the state logbuf_consume's callback checks records with. */
typedef struct checker {
    uint64_t got;
    uint64_t next_seq[MAX_IDS];
    char why[256]; /* the first bad record, or "" */
} checker;

static int check(void *ctx, const unsigned char *b, size_t len) {
    checker *k = ctx;
    uint32_t id;
    uint64_t seq;
    const char *why = testrec_check(b, len, &id, &seq);
    if (why == NULL && id >= MAX_IDS) {
        why = "producer id out of range";
    }
    if (why != NULL) {
        snprintf(k->why, sizeof k->why, "record %llu (%zu bytes): %s", (unsigned long long)k->got, len, why);
        return 1;
    }
    if (seq != k->next_seq[id]) {
        snprintf(k->why, sizeof k->why, "record %llu: producer %u: seq %llu, want %llu", (unsigned long long)k->got,
                 id, (unsigned long long)seq, (unsigned long long)k->next_seq[id]);
        return 1;
    }
    k->next_seq[id]++;
    k->got++;
    return 0;
}

static checker k;

int main(int argc, char **argv) {
    int resume = argc == 4 && strcmp(argv[3], "resume") == 0;
    if (argc != 3 && !resume) {
        fprintf(stderr, "usage: %s RING-FILE COUNT [resume]\n", argv[0]);
        return 1;
    }
    uint64_t count = strtoull(argv[2], NULL, 10), start = 0;
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
    err = logbuf_consumer_init(&c, &ring);
    if (err == LOGBUF_ERR_CONSUMER_BUSY) {
        fprintf(stderr, "consumer: %s: the ring already has a live consumer (pid %u)\n", argv[1],
                logbuf_lease_pid(c.holder));
        return 5;
    }
    if (err == LOGBUF_OK && resume) {
        /* The one producer's records are numbered as the ring numbers them:
         * the next one due is the ring's read_records. */
        start = c.total_records;
        for (uint32_t id = 0; id < MAX_IDS; id++) {
            k.next_seq[id] = start;
        }
        count -= start < count ? start : count;
    }
    uint64_t idle_since = 0; /* when the consumer last found nothing to read, or 0 */
    int ended = 0;           /* the last poll said: end of stream */
    if (err == LOGBUF_OK) {
        while (k.got < count) {
            uint64_t left = count - k.got;
            int n = logbuf_consume(&c, left < 64 ? (size_t)left : 64, check, &k);
            if (k.why[0] != 0) {
                fprintf(stderr, "consumer: %s\n", k.why);
                return 2;
            }
            if (n < 0) {
                err = n;
                break;
            }
            if (n > 0) {
                idle_since = 0;
                ended = 0;
                continue;
            }
            /* Nothing ready: wait for it, parked on the futex (section 7.3)
             * after a short spin. The end of the stream is not final (a
             * producer started after the first one detached is read on):
             * it is given the same 20 s. */
            if (idle_since == 0) {
                idle_since = logbuf_now();
            }
            uint64_t idle = logbuf_now() - idle_since;
            err = idle >= IDLE_NS ? LOGBUF_ERR_TIMEOUT : logbuf_poll(&c, (int64_t)(IDLE_NS - idle));
            if (err == LOGBUF_EOF) {
                ended = 1;
                usleep(1000);
                continue;
            }
            if (err == LOGBUF_ERR_TIMEOUT) {
                fprintf(stderr, "consumer: no record for 20 s (%s) after %llu of %llu records\n",
                        ended ? "every producer gone" : "producers attached", (unsigned long long)k.got,
                        (unsigned long long)count);
                return 4;
            }
            if (err != LOGBUF_OK) {
                break;
            }
        }
    }
    if (err == LOGBUF_ERR_CORRUPT) {
        logbuf_format_fault(&c.fault, msg, sizeof msg);
        fprintf(stderr, "consumer: %s\n", msg);
        return 3;
    }
    if (err != LOGBUF_OK) {
        fprintf(stderr, "consumer: %s\n", logbuf_strerror(err));
        return 1;
    }
    logbuf_consumer_close(&c);
    printf("ok %llu\n", (unsigned long long)k.got);
    if (resume) {
        printf("start %llu\n", (unsigned long long)start);
    }
    for (uint32_t id = 0; id < MAX_IDS; id++) {
        if (k.next_seq[id] != start) {
            printf("producer %u %llu\n", id, (unsigned long long)k.next_seq[id]);
        }
    }
    logbuf_close(&ring);
    return 0;
}
