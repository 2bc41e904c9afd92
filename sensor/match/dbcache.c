/*
 * dbcache.c - an on-disk cache of compiled Hyperscan databases (see dbcache.h).
 *
 * The key. SHA-256 over a canonical encoding: a domain string naming this
 * format, then hs_version(), the four fields of hs_platform_info_t, the
 * mode, n, and for each expression its byte length, its bytes, its flags
 * and its id. Every variable-length part carries its length and every
 * number has a fixed width (big-endian), so two different inputs never
 * encode to the same bytes, and a digest collision is the only way two
 * compiles could share a file. hs_version() carries the release and build
 * date, so a library upgrade changes every key; the platform makes a copy
 * of the cache on a host with other CPU features miss rather than load a
 * database tuned for (or needing) instructions it lacks. Hyperscan checks
 * version and platform again when it deserialises.
 *
 * The file, big-endian:
 *    0  magic "LWHSDBC\n"
 *    8  u32 format version (1)
 *   12  u32 header bytes (88)
 *   16  key, 32 bytes (the file name, again)
 *   48  u64 payload bytes, at most LW_DBCACHE_MAX_BYTES, exactly what follows
 *   56  SHA-256 of the payload, 32 bytes
 *   88  payload: hs_serialize_database() output
 * The digest means a torn, truncated or bit-flipped file never reaches
 * Hyperscan's deserialiser; it is no signature (whoever can write the
 * directory can write a matching digest) - trust comes from ownership.
 *
 * Trust and time of check. The directory is opened once (O_DIRECTORY |
 * O_NOFOLLOW, so its last component may not be a symlink) and checked with
 * fstat on that descriptor; every file is then opened, created and renamed
 * relative to it (openat, renameat), so the directory that was checked is
 * the one used even if its path is swapped meanwhile. A file is opened
 * with O_NOFOLLOW | O_NONBLOCK (no symlink, no hanging on a FIFO) and its
 * owner, mode, type and size are checked on the open descriptor.
 *
 * Writing. The database goes to "<key prefix>.<pid>.<random>.tmp" created
 * with O_EXCL and mode 0600, then renameat() puts it in place atomically:
 * concurrent starts each write their own file and the last rename wins,
 * with a complete file either way. No fsync: a crash may leave a short
 * file, which the length and digest reject and the next start replaces.
 *
 * Nothing here is global; the only state is the caller's stats.
 */
#include "leakwatch/dbcache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leakwatch/cursor.h"

#define MAGIC          "LWHSDBC\n"
#define MAGIC_LEN      8
#define FORMAT_VERSION 1u
#define KEY_DOMAIN     "leakwatch hyperscan database cache key v1"
/* "<64 hex>.hsdb" */
#define NAME_MAX_LEN (2 * LW_DBCACHE_KEY_BYTES + 8)

__attribute__((format(printf, 2, 3))) static void note(lw_dbcache_stats *st, const char *f, ...)
{
    va_list ap;

    if (st == NULL || st->warning[0] != '\0')
        return; /* the first problem is the one to report */
    va_start(ap, f);
    vsnprintf(st->warning, sizeof(st->warning), f, ap);
    va_end(ap);
}

#define COUNT(st, field)                                                                           \
    do {                                                                                           \
        if ((st) != NULL)                                                                          \
            (st)->field++;                                                                         \
    } while (0)

/* ------------------------------------------------------------------ key */

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static void hash_u32(crypto_hash_sha256_state *h, uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    crypto_hash_sha256_update(h, b, sizeof(b));
}

static void hash_u64(crypto_hash_sha256_state *h, uint64_t v)
{
    uint8_t b[8];
    put_u64(b, v);
    crypto_hash_sha256_update(h, b, sizeof(b));
}

/* A byte string with its length in front. */
static void hash_bytes(crypto_hash_sha256_state *h, const void *p, size_t len)
{
    hash_u64(h, (uint64_t)len);
    crypto_hash_sha256_update(h, p, len);
}

int lw_dbcache_key(const char *const *exprs, const unsigned int *flags, const unsigned int *ids,
                   unsigned int n, unsigned int mode, uint8_t key[LW_DBCACHE_KEY_BYTES])
{
    crypto_hash_sha256_state h;
    hs_platform_info_t plat;
    const char *ver = hs_version();

    if (exprs == NULL && n > 0)
        return LW_ERR_INVAL;
    for (unsigned int i = 0; i < n; i++)
        if (exprs[i] == NULL)
            return LW_ERR_INVAL;
    memset(&plat, 0, sizeof(plat));
    if (hs_populate_platform(&plat) != HS_SUCCESS)
        return LW_ERR_HYPERSCAN;
    crypto_hash_sha256_init(&h);
    hash_bytes(&h, KEY_DOMAIN, strlen(KEY_DOMAIN));
    hash_bytes(&h, ver, ver ? strlen(ver) : 0);
    hash_u64(&h, plat.tune);
    hash_u64(&h, plat.cpu_features);
    hash_u64(&h, plat.reserved1);
    hash_u64(&h, plat.reserved2);
    hash_u32(&h, mode);
    hash_u32(&h, n);
    for (unsigned int i = 0; i < n; i++) {
        hash_bytes(&h, exprs[i], strlen(exprs[i]));
        hash_u32(&h, flags ? flags[i] : 0);
        hash_u32(&h, ids ? ids[i] : 0);
    }
    crypto_hash_sha256_final(&h, key);
    return LW_OK;
}

/* --------------------------------------------------------------- header */

void lw_dbcache_header(const uint8_t key[LW_DBCACHE_KEY_BYTES], const uint8_t *payload, size_t len,
                       uint8_t out[LW_DBCACHE_HEADER_BYTES])
{
    memcpy(out, MAGIC, MAGIC_LEN);
    put_u32(out + 8, FORMAT_VERSION);
    put_u32(out + 12, LW_DBCACHE_HEADER_BYTES);
    memcpy(out + 16, key, LW_DBCACHE_KEY_BYTES);
    put_u64(out + 48, (uint64_t)len);
    crypto_hash_sha256(out + 56, payload, len);
}

int lw_dbcache_parse(const uint8_t *file, size_t size, const uint8_t key[LW_DBCACHE_KEY_BYTES],
                     const uint8_t **payload, size_t *len)
{
    lw_cursor c = lw_cur_make(file, size);
    uint8_t magic[MAGIC_LEN], fkey[LW_DBCACHE_KEY_BYTES], digest[crypto_hash_sha256_BYTES];
    uint8_t want[crypto_hash_sha256_BYTES];

    *payload = NULL;
    *len = 0;
    lw_cur_copy(&c, magic, sizeof(magic));
    uint32_t version = lw_cur_u32be(&c);
    uint32_t hdr = lw_cur_u32be(&c);
    lw_cur_copy(&c, fkey, sizeof(fkey));
    uint64_t plen = (uint64_t)lw_cur_u32be(&c) << 32;
    plen |= lw_cur_u32be(&c);
    lw_cur_copy(&c, digest, sizeof(digest));
    if (c.error)
        return LW_ERR_TRUNCATED;
    /* A foreign file or another format: refused before its length is trusted. */
    if (memcmp(magic, MAGIC, MAGIC_LEN) != 0 || version != FORMAT_VERSION ||
        hdr != LW_DBCACHE_HEADER_BYTES || memcmp(fkey, key, sizeof(fkey)) != 0)
        return LW_ERR_PARSE;
    if (plen == 0 || plen > LW_DBCACHE_MAX_BYTES)
        return LW_ERR_PARSE;
    if (lw_cur_left(&c) < plen)
        return LW_ERR_TRUNCATED;
    if (lw_cur_left(&c) > plen)
        return LW_ERR_PARSE; /* trailing bytes: not what we wrote */
    const uint8_t *p = c.ptr;
    crypto_hash_sha256(want, p, (unsigned long long)plen);
    if (sodium_memcmp(want, digest, sizeof(want)) != 0)
        return LW_ERR_PARSE;
    *payload = p;
    *len = (size_t)plen;
    return LW_OK;
}

/* ------------------------------------------------------------ directory */

/* Opens and checks the cache directory; -1 (with a warning) when it may not be used. */
static int open_dir(const char *path, lw_dbcache_stats *st)
{
    char p[PATH_MAX];
    size_t n = strlen(path);
    struct stat sb;

    if (n >= sizeof(p)) {
        note(st, "cache directory is longer than %d bytes; cache not used", PATH_MAX - 1);
        return -1;
    }
    /* "dir/" would make open() follow a symlink named dir: drop trailing slashes */
    while (n > 1 && path[n - 1] == '/')
        n--;
    memcpy(p, path, n);
    p[n] = '\0';

    int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && mkdir(p, 0700) == 0)
        fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        note(st, "cache directory %s: %s; cache not used", p,
             e == ELOOP || e == ENOTDIR ? "not a directory (a symlink is not followed)"
                                        : strerror(e));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        note(st, "cache directory %s: not a directory; cache not used", p);
    } else if (sb.st_uid != geteuid() && sb.st_uid != 0) {
        note(st, "cache directory %s: owned by uid %u, not by uid %u or root; cache not used", p,
             (unsigned)sb.st_uid, (unsigned)geteuid());
    } else if ((sb.st_mode & 022) != 0) {
        note(st, "cache directory %s: group or others may write it (mode %04o); cache not used", p,
             (unsigned)(sb.st_mode & 07777));
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

static void key_name(const uint8_t key[LW_DBCACHE_KEY_BYTES], char name[NAME_MAX_LEN])
{
    sodium_bin2hex(name, NAME_MAX_LEN, key, LW_DBCACHE_KEY_BYTES);
    memcpy(name + 2 * LW_DBCACHE_KEY_BYTES, ".hsdb", 6);
}

/* ----------------------------------------------------------------- load */

/* Reads exactly size bytes; false on a short read or an error. */
static bool read_all(int fd, uint8_t *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/*
 * Loads the database stored under key. Returns true with *db set on a hit;
 * false when there is no file (nothing counted) or it was refused (counted
 * as rejected, with a warning).
 */
static bool load(int dfd, const char *dir, const char *name, const uint8_t *key, hs_database_t **db,
                 lw_dbcache_stats *st)
{
    struct stat sb;
    uint8_t *buf = NULL;
    const uint8_t *payload;
    size_t plen;
    const char *why = NULL;

    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return false;
        why = errno == ELOOP ? "a symlink" : strerror(errno);
        goto refuse;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        why = "not a regular file";
    } else if (sb.st_uid != geteuid()) {
        why = "owned by another user";
    } else if ((sb.st_mode & 022) != 0) {
        why = "group or others may write it";
    } else if (sb.st_size < LW_DBCACHE_HEADER_BYTES ||
               (uint64_t)sb.st_size > (uint64_t)LW_DBCACHE_HEADER_BYTES + LW_DBCACHE_MAX_BYTES) {
        why = "size out of range";
    } else if ((buf = malloc((size_t)sb.st_size)) == NULL) {
        why = "out of memory";
    } else if (!read_all(fd, buf, (size_t)sb.st_size)) {
        why = "short read";
    } else if (lw_dbcache_parse(buf, (size_t)sb.st_size, key, &payload, &plen) != LW_OK) {
        why = "bad header, length or digest";
    } else {
        size_t dsize = 0;
        if (hs_serialized_database_size((const char *)payload, plen, &dsize) != HS_SUCCESS)
            why = "Hyperscan does not recognise it";
        else if (hs_deserialize_database((const char *)payload, plen, db) != HS_SUCCESS)
            why = "Hyperscan refused it (another version or platform)";
    }
    close(fd);
    free(buf);
    if (why == NULL)
        return true;
refuse:
    *db = NULL;
    COUNT(st, rejected);
    note(st, "cache file %s/%s: %s; recompiled", dir, name, why);
    return false;
}

/* ---------------------------------------------------------------- store */

static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* Serialises db into dir/name through a temporary file; counts the outcome. */
static void store(int dfd, const char *dir, const char *name, const uint8_t *key,
                  const hs_database_t *db, lw_dbcache_stats *st)
{
    char *bytes = NULL;
    size_t len = 0;
    uint8_t hdr[LW_DBCACHE_HEADER_BYTES];
    char tmp[NAME_MAX_LEN + 64];
    const char *why = NULL;
    int fd = -1;

    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
        why = "Hyperscan could not serialise the database";
        goto out;
    }
    if (len == 0 || len > LW_DBCACHE_MAX_BYTES) {
        why = "the database is larger than the cache takes";
        goto out;
    }
    lw_dbcache_header(key, (const uint8_t *)bytes, len, hdr);
    if (sodium_init() < 0) {
        why = "libsodium could not start";
        goto out;
    }
    /* Unique per attempt: a stale file of a crashed start with the same
     * pid is not reused (O_EXCL), only left behind. */
    snprintf(tmp, sizeof(tmp), ".%.16s.%ld.%08x.tmp", name, (long)getpid(),
             (unsigned)randombytes_random());
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        why = strerror(errno);
        goto out;
    }
    bool ok = write_all(fd, hdr, sizeof(hdr)) && write_all(fd, (const uint8_t *)bytes, len);
    if (!ok)
        why = strerror(errno);
    if (close(fd) != 0 && ok) {
        ok = false;
        why = strerror(errno);
    }
    if (ok && renameat(dfd, tmp, dfd, name) != 0) {
        ok = false;
        why = strerror(errno);
    }
    if (!ok)
        unlinkat(dfd, tmp, 0);
out:
    free(bytes); /* hs_serialize_database uses the misc allocator: malloc */
    if (why != NULL) {
        COUNT(st, store_failed);
        note(st, "cache file %s/%s could not be written: %s", dir, name, why);
    } else {
        COUNT(st, stores);
    }
}

/* -------------------------------------------------------------- compile */

hs_error_t lw_dbcache_compile(const char *cache_dir, const char *const *exprs,
                              const unsigned int *flags, const unsigned int *ids, unsigned int n,
                              unsigned int mode, hs_database_t **db, hs_compile_error_t **cerr,
                              lw_dbcache_stats *st)
{
    uint8_t key[LW_DBCACHE_KEY_BYTES];
    char name[NAME_MAX_LEN];
    int dfd = -1;

    /* Without a cache, or with arguments hs_compile_multi must judge (and
     * report in its own words), the call is exactly hs_compile_multi. */
    if (cache_dir == NULL || cache_dir[0] == '\0' || db == NULL || cerr == NULL || n == 0 ||
        lw_dbcache_key(exprs, flags, ids, n, mode, key) != LW_OK)
        return hs_compile_multi(exprs, flags, ids, n, mode, NULL, db, cerr);

    *db = NULL;
    *cerr = NULL;
    dfd = open_dir(cache_dir, st);
    if (dfd < 0) {
        COUNT(st, dir_ignored);
        return hs_compile_multi(exprs, flags, ids, n, mode, NULL, db, cerr);
    }
    key_name(key, name);
    if (load(dfd, cache_dir, name, key, db, st)) {
        COUNT(st, hits);
        close(dfd);
        return HS_SUCCESS;
    }
    COUNT(st, misses);
    hs_error_t rc = hs_compile_multi(exprs, flags, ids, n, mode, NULL, db, cerr);
    if (rc == HS_SUCCESS)
        store(dfd, cache_dir, name, key, *db, st);
    close(dfd);
    return rc;
}
