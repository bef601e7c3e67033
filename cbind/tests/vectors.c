/* vectors: checks the region images of spec/vectors/ with the C consumer.
 *
 *     vectors FILE.vec...
 *
 * For each file it loads the image, opens it (logbuf_attach), attaches a
 * consumer (which may finish a release, spec 7.2), reads it, and compares
 * with the file's "expect" lines, applying its "set" lines in between
 * (format: spec/vectors/README.md). It prints one line per file and exits 0
 * only if every file passes. */
#include "../logbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_STEPS 64

/* step is an expect or a set line. */
typedef struct step {
    char what[16];  /* record, empty, corrupt, head, read_records, set */
    char field[32]; /* corrupt: the field */
    uint64_t num;   /* corrupt: where; head, read_records: the value; set: the offset */
    unsigned char bytes[256]; /* record: the payload; set: the bytes */
    size_t len;
} step;

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* hexbytes reads "XX XX ..." (spaces optional) into b, at most max bytes;
 * it returns how many, or -1 on a bad digit. */
static int hexbytes(const char *s, unsigned char *b, size_t max) {
    size_t n = 0;
    for (;;) {
        while (isspace((unsigned char)*s)) s++;
        if (*s == 0) return (int)n;
        int hi = hexval(s[0]), lo = s[0] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0 || n == max) return -1;
        b[n++] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
}

/* bytes_at parses "OFFSET: XX XX ..." into *off and b. */
static int bytes_at(char *s, uint64_t *off, unsigned char *b, size_t max) {
    char *end;
    *off = strtoull(s, &end, 16);
    if (end == s || *end != ':') return -1;
    return hexbytes(end + 1, b, max);
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
    static step steps[MAX_STEPS];
    int nsteps = 0, lineno = 0;
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
            continue;
        }
        int is_set = strncmp(s, "set ", 4) == 0;
        if (is_set || strncmp(s, "expect ", 7) == 0) {
            if (nsteps == MAX_STEPS) { snprintf(msg, msglen, "too many steps"); fail = msg; break; }
            step *e = &steps[nsteps++];
            memset(e, 0, sizeof *e);
            if (is_set) {
                strcpy(e->what, "set");
                int n = bytes_at(s + 4, &e->num, e->bytes, sizeof e->bytes);
                if (n < 0 || e->num + (uint64_t)n > size) { snprintf(msg, msglen, "line %d: bad set", lineno); fail = msg; }
                e->len = (size_t)(n < 0 ? 0 : n);
                continue;
            }
            char arg1[600] = "";
            sscanf(s + 7, "%15s %599s", e->what, arg1);
            if (strcmp(e->what, "record") == 0) {
                int n = hexbytes(arg1, e->bytes, sizeof e->bytes);
                if (n < 0) { snprintf(msg, msglen, "line %d: bad payload", lineno); fail = msg; }
                e->len = (size_t)(n < 0 ? 0 : n);
            } else if (strcmp(e->what, "corrupt") == 0) {
                /* FIELD WHERE, where FIELD may hold a space ("region size"):
                 * WHERE is the last word. */
                char *rest = s + 7 + strlen("corrupt"), *end = rest + strlen(rest);
                while (end > rest && isspace((unsigned char)end[-1])) end--;
                char *last = end;
                while (last > rest && !isspace((unsigned char)last[-1])) last--;
                e->num = strtoull(last, NULL, 10);
                while (isspace((unsigned char)*rest)) rest++;
                while (last > rest && isspace((unsigned char)last[-1])) last--;
                size_t n = (size_t)(last - rest) < sizeof e->field - 1 ? (size_t)(last - rest) : sizeof e->field - 1;
                memcpy(e->field, rest, n);
                e->field[n] = 0;
            } else if (strcmp(e->what, "head") == 0 || strcmp(e->what, "read_records") == 0) {
                e->num = strtoull(arg1, NULL, 10);
            } else if (strcmp(e->what, "empty") != 0) {
                snprintf(msg, msglen, "line %d: unknown expectation %s", lineno, e->what); fail = msg;
            }
            continue;
        }
        /* The image's bytes: "OFFSET: XX XX ...". */
        uint64_t off;
        unsigned char b[256];
        int n = mem == NULL ? -1 : bytes_at(s, &off, b, sizeof b);
        if (n < 0 || off + (uint64_t)n > size) { snprintf(msg, msglen, "line %d: bad line", lineno); fail = msg; break; }
        memcpy(mem + off, b, (size_t)n);
    }
    fclose(f);
    if (fail == NULL && mem == NULL) { snprintf(msg, msglen, "no size line"); fail = msg; }
    if (fail != NULL) { free(mem); return fail; }

    /* Open the region, then attach the consumer: either may fail as corrupt,
     * which the first expectation then names. */
    logbuf_ring ring;
    logbuf_consumer c;
    memset(&c, 0, sizeof c);
    int err = logbuf_attach(&ring, mem, size);
    const logbuf_fault *fault = &ring.fault;
    uint64_t first_head = 0;
    if (err == LOGBUF_OK) {
        first_head = LOGBUF_LOAD(&ring.hdr->head, LOGBUF_ACQUIRE);
        err = logbuf_consumer_init(&c, &ring);
        fault = &c.fault;
    }
    int attached = err == LOGBUF_OK;
    for (int i = 0; i < nsteps && fail == NULL; i++) {
        step *e = &steps[i];
        logbuf_record rec;
        if (strcmp(e->what, "set") == 0) {
            memcpy(mem + e->num, e->bytes, e->len);
            continue;
        }
        if (strcmp(e->what, "head") == 0 || strcmp(e->what, "read_records") == 0) {
            if (!attached) {
                snprintf(msg, msglen, "expectation %d: %s, but the consumer did not attach", i + 1, e->what);
                fail = msg;
                continue;
            }
            int is_head = strcmp(e->what, "head") == 0;
            if (is_head) logbuf_release(&c);
            uint64_t got = LOGBUF_LOAD(is_head ? &ring.hdr->head : &ring.hdr->read_records, LOGBUF_ACQUIRE);
            if (got != e->num) {
                snprintf(msg, msglen, "expectation %d: %s %llu, want %llu", i + 1, e->what,
                         (unsigned long long)got, (unsigned long long)e->num);
                fail = msg;
            }
            for (uint64_t p = first_head; is_head && fail == NULL && p != got; p++) {
                if (ring.data[p & ring.mask] != 0) {
                    snprintf(msg, msglen, "released byte at position %llu is not zero", (unsigned long long)p);
                    fail = msg;
                }
            }
            continue;
        }
        if (attached) {
            err = logbuf_try_read(&c, &rec);
        }
        if (strcmp(e->what, "record") == 0) {
            if (err != LOGBUF_OK) {
                snprintf(msg, msglen, "expectation %d: want a record, got %s", i + 1, logbuf_strerror(err));
                fail = msg;
            } else if (rec.len != e->len || memcmp(rec.bytes, e->bytes, e->len) != 0) {
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
            } else if (attached && logbuf_try_read(&c, &rec) != LOGBUF_ERR_CORRUPT) {
                /* The consumer survives: it keeps saying corrupt. */
                snprintf(msg, msglen, "the consumer did not stay stopped");
                fail = msg;
            }
        }
    }
    if (attached) logbuf_consumer_close(&c);
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
