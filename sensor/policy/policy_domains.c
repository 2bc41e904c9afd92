/*
 * policy_domains.c - host name sets for the policy: normalisation, SipHash
 * keyed open addressing, domains files.
 *
 * Names are compared in the form DNS gives them meaning (RFC 4343: ASCII
 * case does not matter; RFC 1034 3.1: a trailing dot names the root and
 * adds nothing). So both patterns and queried names are lower-cased and
 * lose one trailing dot before anything else; a name that is not a host
 * name afterwards (empty label, label over 63 bytes, over 253 bytes, a byte
 * outside [a-z0-9_-]) never matches and is an error in a pattern.
 *
 * A table is linear probing over a power-of-two array kept at most half
 * full, so an unsuccessful probe sequence is short on average. The slots
 * hold 32 bits of the name's 64-bit SipHash and the name's offset in the
 * arena; the full string is compared only when the 32 bits agree. The hash
 * key is random per policy (see policy_domains.h), so neither the traffic
 * nor a published blocklist can aim names at one cluster.
 *
 * Lookup for "a.b.example.com": the exact table for the whole name, then
 * the wildcard table for "b.example.com", "example.com" and "com" -- one
 * probe sequence per dot, at most 127.
 */
#include "policy_domains.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../config/yaml_util.h"

struct lw_domslot {
    uint32_t tag; /* high 32 bits of the hash */
    uint32_t ref; /* 1 + offset of the name in the arena; 0 = empty */
};

size_t lw_domain_normalise(const char *s, size_t len, char out[LW_DOMAIN_MAX + 1])
{
    size_t i, label = 0;

    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > LW_DOMAIN_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (label == 0)
                return 0; /* leading dot or "a..b" */
            label = 0;
            out[i] = '.';
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
        if (++label > LW_DOMAIN_LABEL_MAX)
            return 0;
        out[i] = (char)c;
    }
    if (label == 0)
        return 0; /* "a.." stripped to "a." */
    out[len] = '\0';
    return len;
}

uint64_t lw_domain_hash(const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *s, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t v;

    crypto_shorthash(h, (const unsigned char *)s, len, key);
    memcpy(&v, h, sizeof(v));
    return v;
}

static bool table_has(const lw_domtable *t, const char *arena, const char *s, size_t len,
                      uint64_t h)
{
    size_t mask, i;
    uint32_t tag = (uint32_t)(h >> 32);

    if (t->count == 0)
        return false;
    mask = t->cap - 1;
    /* At most half the slots are used, so an empty one ends every probe. */
    for (i = (size_t)h & mask; t->slot[i].ref != 0; i = (i + 1) & mask) {
        const char *n = arena + (t->slot[i].ref - 1);
        if (t->slot[i].tag == tag && memcmp(n, s, len) == 0 && n[len] == '\0')
            return true;
    }
    return false;
}

static void table_put(lw_domtable *t, uint64_t h, uint32_t ref)
{
    size_t mask = t->cap - 1, i;

    for (i = (size_t)h & mask; t->slot[i].ref != 0; i = (i + 1) & mask)
        ;
    t->slot[i].tag = (uint32_t)(h >> 32);
    t->slot[i].ref = ref;
    t->count++;
}

/* Doubles t (or creates it), rehashing the names from the arena. */
static int table_grow(lw_domtable *t, const char *arena, const uint8_t *key)
{
    lw_domtable n;
    size_t i;

    n.cap = t->cap ? t->cap * 2 : 16;
    n.count = 0;
    n.slot = calloc(n.cap, sizeof(*n.slot));
    if (n.slot == NULL)
        return LW_ERR_NOMEM;
    for (i = 0; i < t->cap; i++) {
        if (t->slot[i].ref != 0) {
            const char *s = arena + (t->slot[i].ref - 1);
            table_put(&n, lw_domain_hash(key, s, strlen(s)), t->slot[i].ref);
        }
    }
    free(t->slot);
    *t = n;
    return 0;
}

size_t lw_domset_count(const lw_domset *s)
{
    return s->exact.count + s->wild.count;
}

int lw_domset_add(lw_domset *s, const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *pattern,
                  size_t len)
{
    char name[LW_DOMAIN_MAX + 1];
    lw_domtable *t = &s->exact;
    size_t n;
    uint64_t h;

    if (len >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        t = &s->wild;
        pattern += 2;
        len -= 2;
    }
    n = lw_domain_normalise(pattern, len, name);
    if (n == 0)
        return LW_ERR_PARSE;
    h = lw_domain_hash(key, name, n);
    if (table_has(t, s->arena, name, n, h))
        return 0;
    if (lw_domset_count(s) >= LW_DOMSET_MAX)
        return LW_ERR_CAP;
    if ((t->count + 1) * 2 > t->cap && table_grow(t, s->arena, key) != 0)
        return LW_ERR_NOMEM;
    if (s->arena_len + n + 1 > s->arena_cap) {
        size_t cap = s->arena_cap ? s->arena_cap * 2 : 1024;
        char *a;
        while (cap < s->arena_len + n + 1)
            cap *= 2;
        a = realloc(s->arena, cap);
        if (a == NULL)
            return LW_ERR_NOMEM;
        s->arena = a;
        s->arena_cap = cap;
    }
    /* 100,000 names of at most 254 bytes: offsets fit 32 bits easily. */
    memcpy(s->arena + s->arena_len, name, n + 1);
    table_put(t, h, (uint32_t)(s->arena_len + 1));
    s->arena_len += n + 1;
    return 0;
}

void lw_domset_free(lw_domset *s)
{
    if (s == NULL)
        return;
    free(s->exact.slot);
    free(s->wild.slot);
    free(s->arena);
    memset(s, 0, sizeof(*s));
}

bool lw_domquery_init(lw_domquery *q, const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *s,
                      size_t len)
{
    size_t n = lw_domain_normalise(s, len, q->name), i;

    q->len = (uint8_t)n;
    q->nsuf = 0;
    if (n == 0)
        return false;
    q->h_exact = lw_domain_hash(key, q->name, n);
    for (i = 0; i < n; i++) {
        if (q->name[i] != '.')
            continue;
        /* A valid name has no empty label, so i + 1 < n and nsuf < 127. */
        q->suf_off[q->nsuf] = (uint8_t)(i + 1);
        q->h_suf[q->nsuf] = lw_domain_hash(key, q->name + i + 1, n - i - 1);
        q->nsuf++;
    }
    return true;
}

bool lw_domset_match(const lw_domset *s, const lw_domquery *q)
{
    size_t i;

    if (q->len == 0)
        return false;
    if (table_has(&s->exact, s->arena, q->name, q->len, q->h_exact))
        return true;
    if (s->wild.count == 0)
        return false;
    for (i = 0; i < q->nsuf; i++) {
        size_t off = q->suf_off[i];
        if (table_has(&s->wild, s->arena, q->name + off, q->len - off, q->h_suf[i]))
            return true;
    }
    return false;
}

/* ----------------------------------------------------------- domains files */

/* Reads a regular file of at most LW_DOMFILE_MAX_BYTES into a malloc'd
 * buffer. O_NONBLOCK keeps open() from hanging on a FIFO; fstat then
 * refuses anything that is not a regular file (a device could be endless). */
static int read_small_file(const char *path, char **text, size_t *len, char *why, size_t whylen)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    *text = NULL;
    *len = 0;
    if (fd < 0) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return LW_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        close(fd);
        return LW_ERR_IO;
    }
    if (st.st_size > (off_t)LW_DOMFILE_MAX_BYTES) {
        snprintf(why, whylen, "larger than %u bytes", LW_DOMFILE_MAX_BYTES);
        close(fd);
        return LW_ERR_CAP;
    }
    /* The file may grow between fstat and read: read at most cap + 1. */
    buf = malloc((size_t)LW_DOMFILE_MAX_BYTES + 2);
    if (buf == NULL) {
        close(fd);
        snprintf(why, whylen, "out of memory");
        return LW_ERR_NOMEM;
    }
    while (n <= LW_DOMFILE_MAX_BYTES) {
        ssize_t r = read(fd, buf + n, (size_t)LW_DOMFILE_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, whylen, "read error: %s", strerror(errno));
            close(fd);
            free(buf);
            return LW_ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > LW_DOMFILE_MAX_BYTES) {
        snprintf(why, whylen, "larger than %u bytes", LW_DOMFILE_MAX_BYTES);
        free(buf);
        return LW_ERR_CAP;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int lw_domset_load_file(lw_domset *s, const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *path,
                        const char *label, int *bad_line, char *err, size_t errlen)
{
    char *text, q[80];
    size_t len, pos = 0;
    int rc, line = 0;

    *bad_line = 0;
    rc = read_small_file(path, &text, &len, err, errlen);
    if (rc != 0)
        return rc;
    while (pos < len && rc == 0) {
        const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos, k;
        char item[LW_DOMAIN_MAX + 3];

        pos += n + 1;
        line++;
        /* Cut a comment, then the blanks around what is left. */
        for (k = 0; k < n && p[k] != '#'; k++)
            ;
        n = k;
        while (n > 0 && is_space(p[n - 1]))
            n--;
        while (n > 0 && is_space(*p)) {
            p++;
            n--;
        }
        if (n == 0)
            continue;
        rc = lw_domset_add(s, key, p, n);
        if (rc == 0)
            continue;
        k = n < sizeof(item) - 1 ? n : sizeof(item) - 1;
        memcpy(item, p, k);
        item[k] = '\0';
        lw_yaml_quote(q, sizeof(q), item);
        *bad_line = line;
        if (rc == LW_ERR_PARSE)
            snprintf(err, errlen, "%s:%d: %s: '%s' is not a domain pattern (name or *.name)", path,
                     line, label, q);
        else if (rc == LW_ERR_CAP)
            snprintf(err, errlen, "%s:%d: %s: more than %u domains", path, line, label,
                     LW_DOMSET_MAX);
        else
            snprintf(err, errlen, "%s:%d: %s: out of memory", path, line, label);
    }
    free(text);
    return rc;
}
