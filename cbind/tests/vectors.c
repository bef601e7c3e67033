/* vectors: checks the region images of spec/vectors/ with the C consumer.
 *
 *     vectors FILE.vec...
 *
 * For each file it loads the image, opens it (logbuf_attach), reads it, and
 * compares with the file's "expect" lines (format: spec/vectors/README.md).
 * It prints one line per file and exits 0 only if every file passes. */
#include "../logbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_EXPECT 64

typedef struct expectation {
    char what[16];   /* record, empty, corrupt, head */
    char field[32];  /* corrupt: the field */
    uint64_t num;    /* corrupt: where; head: the value */
    unsigned char payload[256];
    size_t len;
} expectation;

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* check runs one vector file and returns NULL or what failed, in msg. */
static const char *check(const char *path, char *msg, size_t msglen) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(msg, msglen, "cannot open: %s", strerror(errno));
        return msg;
    }
    char line[4096];
    size_t size = 0;
    unsigned char *mem = NULL;
    expectation ex[MAX_EXPECT];
    int nex = 0, lineno = 0;
    const char *fail = NULL;
    while (fail == NULL && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL) *hash = 0;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (*s == 0) continue;
        if (strncmp(s, "size ", 5) == 0) {
            size = (size_t)strtoull(s + 5, NULL, 10);
            size_t alloc = (size + 4095) / 4096 * 4096;
            mem = (unsigned char *)aligned_alloc(4096, alloc);
            if (mem == NULL) { snprintf(msg, msglen, "line %d: out of memory", lineno); fail = msg; break; }
            memset(mem, 0, alloc);
        } else if (strncmp(s, "expect ", 7) == 0) {
            if (nex == MAX_EXPECT) { snprintf(msg, msglen, "too many expectations"); fail = msg; break; }
            expectation *e = &ex[nex++];
            memset(e, 0, sizeof *e);
            char arg1[600] = "", arg2[64] = "";
            sscanf(s + 7, "%15s %599s %63s", e->what, arg1, arg2);
            if (strcmp(e->what, "record") == 0) {
                size_t n = strlen(arg1);
                for (size_t i = 0; i + 1 < n && e->len < sizeof e->payload; i += 2) {
                    e->payload[e->len++] = (unsigned char)(hexval(arg1[i]) << 4 | hexval(arg1[i + 1]));
                }
            } else if (strcmp(e->what, "corrupt") == 0) {
                size_t n = strlen(arg1);
                if (n >= sizeof e->field) n = sizeof e->field - 1;
                memcpy(e->field, arg1, n);
                e->field[n] = 0;
                e->num = strtoull(arg2, NULL, 10);
            } else if (strcmp(e->what, "head") == 0) {
                e->num = strtoull(arg1, NULL, 10);
            } else if (strcmp(e->what, "empty") != 0) {
                snprintf(msg, msglen, "line %d: unknown expectation %s", lineno, e->what); fail = msg;
            }
        } else {
            char *end;
            unsigned long off = strtoul(s, &end, 16);
            if (mem == NULL || *end != ':') { snprintf(msg, msglen, "line %d: bad line", lineno); fail = msg; break; }
            for (s = end + 1;;) {
                while (isspace((unsigned char)*s)) s++;
                if (*s == 0) break;
                int hi = hexval(s[0]), lo = hexval(s[1]);
                if (hi < 0 || lo < 0 || off >= size) { snprintf(msg, msglen, "line %d: bad byte", lineno); fail = msg; break; }
                mem[off++] = (unsigned char)(hi << 4 | lo);
                s += 2;
            }
        }
    }
    fclose(f);
    if (fail == NULL && mem == NULL) { snprintf(msg, msglen, "no size line"); fail = msg; }
    if (fail != NULL) { free(mem); return fail; }

    logbuf_ring ring;
    logbuf_consumer c;
    int err = logbuf_attach(&ring, mem, size);
    const logbuf_fault *fault = &ring.fault;
    if (err == LOGBUF_OK) {
        logbuf_consumer_init(&c, &ring);
        fault = &c.fault;
    }
    uint64_t first_head = err == LOGBUF_OK ? c.head : 0;
    for (int i = 0; i < nex && fail == NULL; i++) {
        expectation *e = &ex[i];
        logbuf_record rec;
        if (strcmp(e->what, "head") == 0) {
            logbuf_release(&c);
            uint64_t head = LOGBUF_LOAD(&ring.hdr->head, LOGBUF_ACQUIRE);
            if (head != e->num) {
                snprintf(msg, msglen, "head %llu after release, want %llu", (unsigned long long)head,
                         (unsigned long long)e->num);
                fail = msg;
            }
            for (uint64_t p = first_head; fail == NULL && p != head; p++) {
                if (ring.data[p & ring.mask] != 0) {
                    snprintf(msg, msglen, "released byte at position %llu is not zero", (unsigned long long)p);
                    fail = msg;
                }
            }
            continue;
        }
        if (err == LOGBUF_OK) {
            err = logbuf_try_read(&c, &rec);
        }
        if (strcmp(e->what, "record") == 0) {
            if (err != LOGBUF_OK) {
                snprintf(msg, msglen, "expectation %d: want a record, got %s", i + 1, logbuf_strerror(err));
                fail = msg;
            } else if (rec.len != e->len || memcmp(rec.bytes, e->payload, e->len) != 0) {
                snprintf(msg, msglen, "expectation %d: record of %zu bytes differs", i + 1, rec.len);
                fail = msg;
            }
        } else if (strcmp(e->what, "empty") == 0) {
            if (err != LOGBUF_ERR_EMPTY) {
                snprintf(msg, msglen, "expectation %d: want empty, got %s", i + 1, logbuf_strerror(err));
                fail = msg;
            }
        } else if (strcmp(e->what, "corrupt") == 0) {
            if (err != LOGBUF_ERR_CORRUPT) {
                snprintf(msg, msglen, "expectation %d: want corrupt, got %s", i + 1, logbuf_strerror(err));
                fail = msg;
            } else if (strcmp(fault->field, e->field) != 0 || fault->where != e->num) {
                snprintf(msg, msglen, "expectation %d: corrupt %s at %llu, want %s at %llu", i + 1, fault->field,
                         (unsigned long long)fault->where, e->field, (unsigned long long)e->num);
                fail = msg;
            } else {
                /* The consumer survives: it keeps saying corrupt. */
                if (ring.hdr != NULL && logbuf_try_read(&c, &rec) != LOGBUF_ERR_CORRUPT) {
                    snprintf(msg, msglen, "the consumer did not stay stopped");
                    fail = msg;
                }
            }
        }
    }
    free(mem);
    return fail;
}

int main(int argc, char **argv) {
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        char msg[512];
        const char *fail = check(argv[i], msg, sizeof msg);
        printf("%s %s%s%s\n", fail ? "FAIL" : "ok  ", argv[i], fail ? ": " : "", fail ? fail : "");
        failed |= fail != NULL;
    }
    return failed;
}
