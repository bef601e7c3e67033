/* testrec.h: the self-checking payload of spec/TEST-RECORDS.md, for the C test
 * programs. */
#ifndef LOGBUF_TESTREC_H
#define LOGBUF_TESTREC_H

#include <stddef.h>
#include <stdint.h>

/* testrec_next advances the xorshift64* state *x and returns its output. */
static inline uint64_t testrec_next(uint64_t *x) {
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(0x2545F4914F6CDD1D);
}

/* testrec_len is the length of a record for the random value r on a ring
 * whose max_payload is max_payload (at least 16). */
static inline size_t testrec_len(uint64_t r, uint64_t max_payload) {
    uint64_t l = max_payload < 1024 ? max_payload : 1024;
    return (size_t)(16 + r % (l - 15));
}

static inline uint32_t testrec_fnv(const unsigned char *b, size_t n) {
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x01000193u;
    }
    return h;
}

static inline void testrec_put(unsigned char *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

static inline uint64_t testrec_get(const unsigned char *b, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) {
        v = v << 8 | b[i];
    }
    return v;
}

/* testrec_fill writes record seq of producer id into b[0..len). */
static inline void testrec_fill(unsigned char *b, size_t len, uint32_t id, uint64_t seq) {
    testrec_put(b, id, 4);
    testrec_put(b + 4, seq, 8);
    for (size_t i = 0; i < len - 16; i++) {
        b[16 + i] = (unsigned char)((seq * 31 + i * 7 + id) & 0xFF);
    }
    testrec_put(b + 12, testrec_fnv(b + 16, len - 16), 4);
}

/* testrec_check validates a record and returns NULL with *id and *seq set, or
 * what is wrong. */
static inline const char *testrec_check(const unsigned char *b, size_t len, uint32_t *id, uint64_t *seq) {
    if (len < 16) {
        return "shorter than 16 bytes";
    }
    *id = (uint32_t)testrec_get(b, 4);
    *seq = testrec_get(b + 4, 8);
    if ((uint32_t)testrec_get(b + 12, 4) != testrec_fnv(b + 16, len - 16)) {
        return "hash mismatch";
    }
    for (size_t i = 0; i < len - 16; i++) {
        if (b[16 + i] != (unsigned char)((*seq * 31 + i * 7 + *id) & 0xFF)) {
            return "fill mismatch";
        }
    }
    return NULL;
}

#endif
