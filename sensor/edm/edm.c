/*
 * edm.c - loading an exact-data-matching index and looking values up in it.
 *
 * What the sensor asks is "is this validated, normalised value one of our
 * customers' values, and is it a honeytoken?". The answer must not depend on
 * holding clear values, so the index stores only keyed hashes: BLAKE2b-128
 * keyed with a 32-byte site secret over (kind name, NUL, normalised value).
 * Keying makes the hash a PRF: without the key nobody can test a guess
 * against the index, which matters because phone numbers and SSNs are small
 * spaces that an unkeyed hash would give away in minutes. The kind goes into
 * the hash so that a digits-only value that is both a card and an account
 * number never collides across kinds.
 *
 * Loading (lw_edm_open / lw_edm_open_mem) treats the file as hostile. In
 * order: magic, version, header size, the declared file size against the
 * real one (shorter: "truncated"), the BLAKE2b-256 checksum over everything
 * but the checksum field (so any flipped byte, header included, is
 * "checksum mismatch"), the key check value ("wrong key"), and then the
 * structure: section offsets add up, kind names are well formed, entries are
 * strictly increasing by (hash, kind) with kind, record and flags in range,
 * the label table is sorted, in bounds, NUL-terminated and printable, and
 * every canary entry has a label. A file that passes all of this cannot
 * make a later lookup or label read go out of bounds, so those paths do no
 * checks of their own. Opening is O(size): one pass for the checksum, one
 * over the entries; 1M customers with three values each (72 MB of entries)
 * open in well under a second.
 *
 * Lookups are a binary search over the mapped entries (~22 probes for 3M
 * entries); nothing is allocated after open, and the index is read-only, so
 * one lw_edm may be shared by every worker thread.
 *
 * The map is MAP_PRIVATE and read-only. The builder replaces an index by
 * rename, never by rewriting it in place, so a mapped index never shrinks
 * under the sensor (which would raise SIGBUS).
 *
 * Key files (lw_edm_key_load) hold 64 hex digits and an optional newline,
 * must be regular files owned by the reader with no group or other access.
 * Key bytes are wiped from every buffer that held them.
 */
#include "leakwatch/edm.h"
#include "leakwatch/ascii.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "edm_format.h"

struct lw_edm {
    const uint8_t *base; /* the whole file */
    size_t len;
    void *map; /* non-NULL when lw_edm_open mapped it */
    size_t map_len;
    bool has_key;
    uint8_t key[LW_EDM_KEY_BYTES];
    uint8_t key_check[LW_EDMF_CHECK_BYTES];
    uint64_t records, entries, canaries;
    const uint8_t *ents;  /* entries * LW_EDMF_ENTRY_SIZE bytes */
    const uint8_t *lrecs; /* nlabels * LW_EDMF_LABEL_REC_SIZE bytes */
    const uint8_t *ltext;
    uint32_t nlabels;
    size_t kinds;
    char kind_names[LW_EDM_MAX_KINDS][LW_EDM_KIND_MAX];
    uint64_t per_kind[LW_EDM_MAX_KINDS];
};

__attribute__((format(printf, 5, 6))) static int fail(char *err, size_t errlen, const char *name,
                                                      int rc, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(err, errlen, "%s: %s", name, msg);
    }
    return rc;
}

/* ---- hashing -------------------------------------------------------------- */

void lw_edm_hash(const uint8_t key[LW_EDM_KEY_BYTES], const char *kind, const char *norm,
                 size_t norm_len, uint8_t out[LW_EDM_HASH_BYTES])
{
    crypto_generichash_state st;

    /* The NUL after the kind separates it from the value: ("ab", "c") and
     * ("a", "bc") hash differently. */
    crypto_generichash_init(&st, key, LW_EDM_KEY_BYTES, LW_EDM_HASH_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
    crypto_generichash_update(&st, (const unsigned char *)norm, norm_len);
    crypto_generichash_final(&st, out, LW_EDM_HASH_BYTES);
    sodium_memzero(&st, sizeof(st));
}

void lw_edmf_checksum(const uint8_t *file, size_t len, uint8_t out[LW_EDMF_CHECK_BYTES])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, LW_EDMF_CHECK_BYTES);
    crypto_generichash_update(&st, file, LW_EDMF_OFF_CHECKSUM);
    crypto_generichash_update(&st, file + LW_EDMF_OFF_CHECKSUM + LW_EDMF_CHECK_BYTES,
                              len - (LW_EDMF_OFF_CHECKSUM + LW_EDMF_CHECK_BYTES));
    crypto_generichash_final(&st, out, LW_EDMF_CHECK_BYTES);
}

void lw_edmf_key_check(const uint8_t key[LW_EDM_KEY_BYTES], uint8_t out[LW_EDMF_CHECK_BYTES])
{
    static const char text[] = LW_EDMF_KEY_CHECK_TEXT;

    crypto_generichash(out, LW_EDMF_CHECK_BYTES, (const unsigned char *)text, sizeof(text) - 1, key,
                       LW_EDM_KEY_BYTES);
}

/* ---- key files ------------------------------------------------------------ */

int lw_edm_key_load(const char *path, uint8_t key[LW_EDM_KEY_BYTES], char *err, size_t errlen)
{
    uint8_t buf[2 * LW_EDM_KEY_BYTES + 4];
    struct stat st;
    size_t n = 0;
    int rc = LW_OK;
    int fd;

    if (sodium_init() < 0)
        return fail(err, errlen, path, LW_ERR_IO, "libsodium failed to initialise");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fail(err, errlen, path, LW_ERR_INVAL, "not a regular file");
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        rc = fail(err, errlen, path, LW_ERR_INVAL,
                  "mode %04o gives group or others access to the key (chmod 600)",
                  (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_uid != geteuid()) {
        rc = fail(err, errlen, path, LW_ERR_INVAL, "owned by uid %u, not by the reader (uid %u)",
                  (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    while (n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    /* Exactly 64 hex digits, then nothing, "\n" or "\r\n". */
    if (!(n == 64 || (n == 65 && buf[64] == '\n') ||
          (n == 66 && buf[64] == '\r' && buf[65] == '\n'))) {
        rc = fail(err, errlen, path, LW_ERR_PARSE, "not a key file (expected 64 hex digits)");
        goto out;
    }
    for (size_t i = 0; i < LW_EDM_KEY_BYTES; i++) {
        int hi = lw_hex_value(buf[2 * i]), lo = lw_hex_value(buf[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            sodium_memzero(key, LW_EDM_KEY_BYTES);
            rc = fail(err, errlen, path, LW_ERR_PARSE, "not a key file (expected 64 hex digits)");
            goto out;
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
out:
    sodium_memzero(buf, sizeof(buf));
    close(fd);
    return rc;
}

int lw_edm_key_generate(const char *path, char *err, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t key[LW_EDM_KEY_BYTES];
    char text[2 * LW_EDM_KEY_BYTES + 1];
    size_t off = 0;
    int rc = LW_OK;
    int fd;

    if (sodium_init() < 0)
        return fail(err, errlen, path, LW_ERR_IO, "libsodium failed to initialise");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
    /* The umask can only remove bits; fchmod makes 0600 exact whatever it is. */
    if (fchmod(fd, 0600) != 0) {
        rc = fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
        goto out;
    }
    randombytes_buf(key, sizeof(key));
    for (size_t i = 0; i < LW_EDM_KEY_BYTES; i++) {
        text[2 * i] = hex[key[i] >> 4];
        text[2 * i + 1] = hex[key[i] & 15];
    }
    text[2 * LW_EDM_KEY_BYTES] = '\n';
    while (off < sizeof(text)) {
        ssize_t w = write(fd, text + off, sizeof(text) - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = fail(err, errlen, path, LW_ERR_IO, "%s", w < 0 ? strerror(errno) : "short write");
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        rc = fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
out:
    sodium_memzero(key, sizeof(key));
    sodium_memzero(text, sizeof(text));
    if (close(fd) != 0 && rc == LW_OK)
        rc = fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
    if (rc != LW_OK)
        unlink(path); /* we created it (O_EXCL): leave no half-written key */
    return rc;
}

/* ---- opening -------------------------------------------------------------- */

/* Compares entry a with (hash, kind): <0, 0, >0 as memcmp. */
static int entry_cmp(const uint8_t *a, const uint8_t *hash, uint8_t kind)
{
    int c = memcmp(a, hash, LW_EDM_HASH_BYTES);
    if (c != 0)
        return c;
    return (int)a[20] - (int)kind;
}

static bool label_find(const lw_edm *e, uint32_t record, uint32_t *idx)
{
    uint32_t lo = 0, hi = e->nlabels;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t r = lw_edmf_le32(e->lrecs + (size_t)mid * LW_EDMF_LABEL_REC_SIZE);
        if (r == record) {
            *idx = mid;
            return true;
        }
        if (r < record)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int check_kinds(lw_edm *e, const uint8_t *h, const char *name, char *err, size_t errlen)
{
    uint32_t kinds = lw_edmf_le32(h + LW_EDMF_OFF_KINDS);

    if (kinds > LW_EDM_MAX_KINDS)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: %u kinds (at most %d)", kinds,
                    LW_EDM_MAX_KINDS);
    e->kinds = kinds;
    for (size_t k = 0; k < LW_EDM_MAX_KINDS; k++) {
        const uint8_t *p = h + LW_EDMF_OFF_KIND_NAMES + k * LW_EDM_KIND_MAX;
        size_t n = 0;
        while (n < LW_EDM_KIND_MAX && p[n] != 0)
            n++;
        for (size_t i = n; i < LW_EDM_KIND_MAX; i++)
            if (p[i] != 0)
                return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: kind name %zu", k);
        if (k >= kinds) {
            if (n != 0)
                return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: kind name %zu", k);
            continue;
        }
        if (!lw_edmf_kind_ok((const char *)p, n))
            return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: kind name %zu", k);
        memcpy(e->kind_names[k], p, n);
        e->kind_names[k][n] = '\0';
        for (size_t j = 0; j < k; j++)
            if (strcmp(e->kind_names[j], e->kind_names[k]) == 0)
                return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: kind '%s' twice",
                            e->kind_names[k]);
    }
    return LW_OK;
}

static int check_labels(lw_edm *e, const uint8_t *p, uint64_t len, const char *name, char *err,
                        size_t errlen)
{
    uint64_t count, text_len;
    uint32_t prev = 0;

    if (len < 8)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: label table");
    count = lw_edmf_le32(p);
    if (lw_edmf_le32(p + 4) != 0 || count != e->canaries ||
        count > (len - 8) / LW_EDMF_LABEL_REC_SIZE)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: label table");
    e->nlabels = (uint32_t)count;
    e->lrecs = p + 8;
    e->ltext = e->lrecs + count * LW_EDMF_LABEL_REC_SIZE;
    text_len = len - 8 - count * LW_EDMF_LABEL_REC_SIZE;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *r = e->lrecs + i * LW_EDMF_LABEL_REC_SIZE;
        uint32_t rec = lw_edmf_le32(r), off = lw_edmf_le32(r + 4), n = lw_edmf_le32(r + 8);
        if (rec >= e->records || (i > 0 && rec <= prev))
            return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: label %" PRIu64, i);
        if (n == 0 || (uint64_t)off + n >= text_len || e->ltext[(uint64_t)off + n] != 0)
            return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: label %" PRIu64, i);
        for (uint32_t j = 0; j < n; j++) {
            uint8_t c = e->ltext[(uint64_t)off + j];
            if (c < 0x20 || c == 0x7f)
                return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: label %" PRIu64, i);
        }
        prev = rec;
    }
    return LW_OK;
}

static int check_entries(lw_edm *e, const char *name, char *err, size_t errlen)
{
    for (uint64_t i = 0; i < e->entries; i++) {
        const uint8_t *p = e->ents + i * LW_EDMF_ENTRY_SIZE;
        uint32_t rec = lw_edmf_le32(p + 16);
        uint8_t kind = p[20], flags = p[21];
        uint32_t li;

        if (kind >= e->kinds || rec >= e->records || (flags & ~LW_EDMF_CANARY) != 0 || p[22] != 0 ||
            p[23] != 0)
            return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: entry %" PRIu64, i);
        if (i > 0 && entry_cmp(p - LW_EDMF_ENTRY_SIZE, p, kind) >= 0)
            return fail(err, errlen, name, LW_ERR_PARSE,
                        "corrupt: entries out of order at %" PRIu64, i);
        if ((flags & LW_EDMF_CANARY) && !label_find(e, rec, &li))
            return fail(err, errlen, name, LW_ERR_PARSE,
                        "corrupt: canary entry %" PRIu64 " has no label", i);
        e->per_kind[kind]++;
    }
    return LW_OK;
}

static int open_checked(lw_edm *e, const uint8_t *d, size_t len, const uint8_t *key,
                        const char *name, char *err, size_t errlen)
{
    uint8_t sum[LW_EDMF_CHECK_BYTES];
    uint64_t fsize, eoff, loff, llen;
    uint32_t version;
    int rc;

    if (len < LW_EDMF_MAGIC_LEN)
        return fail(err, errlen, name, LW_ERR_TRUNCATED, "truncated (%zu bytes)", len);
    if (memcmp(d, LW_EDMF_MAGIC, LW_EDMF_MAGIC_LEN) != 0)
        return fail(err, errlen, name, LW_ERR_PARSE, "not an EDM index (bad magic)");
    if (len < LW_EDMF_OFF_HEADER_SIZE)
        return fail(err, errlen, name, LW_ERR_TRUNCATED, "truncated (%zu bytes)", len);
    version = lw_edmf_le32(d + LW_EDMF_OFF_VERSION);
    if (version != LW_EDM_VERSION)
        return fail(err, errlen, name, LW_ERR_PARSE, "version %u not supported (this is %d)",
                    version, LW_EDM_VERSION);
    if (len < LW_EDMF_HEADER_SIZE)
        return fail(err, errlen, name, LW_ERR_TRUNCATED, "truncated (%zu bytes)", len);
    if (lw_edmf_le32(d + LW_EDMF_OFF_HEADER_SIZE) != LW_EDMF_HEADER_SIZE)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: header size");
    fsize = lw_edmf_le64(d + LW_EDMF_OFF_FILE_SIZE);
    if (fsize > len)
        return fail(err, errlen, name, LW_ERR_TRUNCATED, "truncated (%zu of %" PRIu64 " bytes)",
                    len, fsize);
    if (fsize < len)
        return fail(err, errlen, name, LW_ERR_PARSE, "%zu bytes after the end of the index",
                    len - (size_t)fsize);

    lw_edmf_checksum(d, len, sum);
    if (sodium_memcmp(sum, d + LW_EDMF_OFF_CHECKSUM, sizeof(sum)) != 0)
        return fail(err, errlen, name, LW_ERR_PARSE, "checksum mismatch");
    memcpy(e->key_check, d + LW_EDMF_OFF_KEY_CHECK, sizeof(e->key_check));
    if (key != NULL) {
        uint8_t kc[LW_EDMF_CHECK_BYTES];
        lw_edmf_key_check(key, kc);
        if (sodium_memcmp(kc, e->key_check, sizeof(kc)) != 0)
            return fail(err, errlen, name, LW_ERR_INVAL, "wrong key");
        memcpy(e->key, key, LW_EDM_KEY_BYTES);
        e->has_key = true;
    }

    /* Structure. Checked after the checksum, so a failure here is a
     * crafted file or a builder bug rather than disk damage. */
    if (lw_edmf_le32(d + LW_EDMF_OFF_RESERVED) != 0)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: reserved header field");
    for (size_t i = LW_EDMF_OFF_KIND_NAMES + LW_EDM_MAX_KINDS * LW_EDM_KIND_MAX;
         i < LW_EDMF_HEADER_SIZE; i++)
        if (d[i] != 0)
            return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: reserved header bytes");
    rc = check_kinds(e, d, name, err, errlen);
    if (rc != LW_OK)
        return rc;
    e->records = lw_edmf_le64(d + LW_EDMF_OFF_RECORDS);
    e->entries = lw_edmf_le64(d + LW_EDMF_OFF_ENTRIES);
    e->canaries = lw_edmf_le64(d + LW_EDMF_OFF_CANARIES);
    eoff = lw_edmf_le64(d + LW_EDMF_OFF_ENTRIES_OFF);
    loff = lw_edmf_le64(d + LW_EDMF_OFF_LABELS_OFF);
    llen = lw_edmf_le64(d + LW_EDMF_OFF_LABELS_LEN);
    if (e->records > (uint64_t)UINT32_MAX + 1 || e->canaries > e->records)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: counts");
    if (eoff != LW_EDMF_HEADER_SIZE || e->entries > (fsize - eoff) / LW_EDMF_ENTRY_SIZE ||
        loff != eoff + e->entries * LW_EDMF_ENTRY_SIZE || llen != fsize - loff)
        return fail(err, errlen, name, LW_ERR_PARSE, "corrupt: section offsets");
    e->ents = d + eoff;
    rc = check_labels(e, d + loff, llen, name, err, errlen);
    if (rc != LW_OK)
        return rc;
    return check_entries(e, name, err, errlen);
}

static int open_common(const uint8_t *data, size_t len, const uint8_t *key, void *map,
                       const char *name, lw_edm **out, char *err, size_t errlen)
{
    lw_edm *e;
    int rc;

    *out = NULL;
    if (sodium_init() < 0)
        return fail(err, errlen, name, LW_ERR_IO, "libsodium failed to initialise");
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return fail(err, errlen, name, LW_ERR_NOMEM, "out of memory");
    e->base = data;
    e->len = len;
    rc = open_checked(e, data, len, key, name, err, errlen);
    if (rc != LW_OK) {
        sodium_memzero(e->key, sizeof(e->key));
        free(e);
        return rc;
    }
    e->map = map;
    e->map_len = len;
    *out = e;
    return LW_OK;
}

int lw_edm_open_mem(const uint8_t *data, size_t len, const uint8_t key[LW_EDM_KEY_BYTES],
                    lw_edm **out, char *err, size_t errlen)
{
    if (data == NULL)
        len = 0;
    return open_common(data, len, key, NULL, "(memory)", out, err, errlen);
}

int lw_edm_open(const char *path, const uint8_t key[LW_EDM_KEY_BYTES], lw_edm **out, char *err,
                size_t errlen)
{
    struct stat st;
    void *map;
    size_t len;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, path, LW_ERR_INVAL, "not a regular file");
    }
    if (st.st_size < LW_EDMF_HEADER_SIZE) {
        /* Too short to map usefully; read it so the message is the same as
         * for the same bytes in memory (bad magic or truncated). */
        uint8_t small[LW_EDMF_HEADER_SIZE];
        ssize_t n = pread(fd, small, sizeof(small), 0);
        close(fd);
        if (n < 0)
            return fail(err, errlen, path, LW_ERR_IO, "%s", strerror(errno));
        /* Fewer bytes than a header always fail (truncated or bad magic),
         * so the index never points at this stack buffer. */
        rc = open_common(small, (size_t)n, key, NULL, path, out, err, errlen);
        if (rc == LW_OK) {
            lw_edm_close(*out);
            *out = NULL;
            rc = fail(err, errlen, path, LW_ERR_TRUNCATED, "truncated");
        }
        return rc;
    }
    len = (size_t)st.st_size;
    map = mmap(NULL, len, PROT_READ,
               MAP_PRIVATE
#ifdef MAP_POPULATE
                   | MAP_POPULATE
#endif
               ,
               fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return fail(err, errlen, path, LW_ERR_IO, "mmap: %s", strerror(errno));
    rc = open_common(map, len, key, map, path, out, err, errlen);
    if (rc != LW_OK)
        munmap(map, len);
    return rc;
}

void lw_edm_close(lw_edm *e)
{
    if (e == NULL)
        return;
    if (e->map != NULL)
        munmap(e->map, e->map_len);
    sodium_memzero(e->key, sizeof(e->key));
    free(e);
}

/* ---- queries -------------------------------------------------------------- */

bool lw_edm_lookup(const lw_edm *e, const char *kind, const char *norm, size_t norm_len,
                   lw_edm_hit *hit)
{
    uint8_t h[LW_EDM_HASH_BYTES];
    size_t k;
    uint64_t lo = 0, hi;

    if (e == NULL || !e->has_key || kind == NULL || (norm == NULL && norm_len > 0))
        return false;
    for (k = 0; k < e->kinds; k++)
        if (strcmp(e->kind_names[k], kind) == 0)
            break;
    if (k == e->kinds)
        return false; /* the index has no value of that kind */
    lw_edm_hash(e->key, kind, norm != NULL ? norm : "", norm_len, h);
    hi = e->entries;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const uint8_t *p = e->ents + mid * LW_EDMF_ENTRY_SIZE;
        int c = entry_cmp(p, h, (uint8_t)k);
        if (c == 0) {
            if (hit != NULL) {
                hit->record = lw_edmf_le32(p + 16);
                hit->canary = (p[21] & LW_EDMF_CANARY) != 0;
            }
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

const char *lw_edm_label(const lw_edm *e, uint32_t record)
{
    uint32_t i;

    if (e == NULL || !label_find(e, record, &i))
        return "";
    return (const char *)e->ltext + lw_edmf_le32(e->lrecs + (size_t)i * LW_EDMF_LABEL_REC_SIZE + 4);
}

void lw_edm_stats(const lw_edm *e, lw_edm_info *info)
{
    memset(info, 0, sizeof(*info));
    if (e == NULL)
        return;
    info->version = LW_EDM_VERSION;
    info->records = e->records;
    info->entries = e->entries;
    info->canaries = e->canaries;
    info->kinds = e->kinds;
    for (size_t k = 0; k < e->kinds; k++) {
        info->entries_per_kind[k] = e->per_kind[k];
        memcpy(info->kind_names[k], e->kind_names[k], sizeof(info->kind_names[k]));
    }
}

bool lw_edm_key_matches(const lw_edm *e, const uint8_t key[LW_EDM_KEY_BYTES])
{
    uint8_t kc[LW_EDMF_CHECK_BYTES];

    if (e == NULL || key == NULL)
        return false;
    lw_edmf_key_check(key, kc);
    return sodium_memcmp(kc, e->key_check, sizeof(kc)) == 0;
}
