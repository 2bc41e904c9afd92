/*
 * fuzz_dbcache.c - the compiled-database cache's file header and key.
 *
 * What is fuzzed: lw_dbcache_parse, the only code that reads a cache
 * file's bytes before Hyperscan does, three ways per input:
 *   1. the input as a whole file, against a fixed key and against the key
 *      it carries itself (so the checks after the key check are reached);
 *   2. the input as a payload wrapped in a valid header, then one header
 *      byte altered or the file cut short, as a control byte says: the
 *      result must be OK exactly when nothing was altered or cut, with the
 *      payload handed back unchanged;
 *   3. the input split at NUL bytes into expressions for lw_dbcache_key,
 *      which must be deterministic.
 *
 * What is not fuzzed: hs_deserialize_database. Hyperscan documents no
 * robustness against hostile serialized bytes - a database is code-like
 * input, and it checks little more than its own magic, version, platform
 * and sizes before trusting offsets inside the bytecode. leakwatch keeps
 * such bytes out by trust (the directory and file must belong to the
 * effective uid and be writable by no one else) and keeps accidents out
 * with this header's length and SHA-256 of the payload; a fuzzer feeding
 * arbitrary payloads that pass the digest would test Hyperscan, not us,
 * and report crashes our trust model already excludes. So payloads that
 * pass lw_dbcache_parse here are compared, never deserialised.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/dbcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EXPRS 8

static void fuzz_whole_file(const uint8_t *data, size_t size)
{
    uint8_t key[LW_DBCACHE_KEY_BYTES];
    const uint8_t *p;
    size_t n;

    memset(key, 0xa5, sizeof(key));
    if (lw_dbcache_parse(data, size, key, &p, &n) == LW_OK &&
        (p < data || n > size || p + n != data + size))
        abort();
    if (size >= 16 + LW_DBCACHE_KEY_BYTES) {
        memcpy(key, data + 16, sizeof(key));
        if (lw_dbcache_parse(data, size, key, &p, &n) == LW_OK && p + n != data + size)
            abort();
    }
}

static void fuzz_wrapped(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    uint8_t at = data[0], x = data[1], cut = data[2];
    const uint8_t *pl = data + 3;
    size_t plen = size - 3;
    size_t total = LW_DBCACHE_HEADER_BYTES + plen;
    uint8_t key[LW_DBCACHE_KEY_BYTES];
    uint8_t *file = malloc(total ? total : 1);
    const uint8_t *p;
    size_t n;

    if (file == NULL)
        return;
    memset(key, 0x3c, sizeof(key));
    memcpy(file + LW_DBCACHE_HEADER_BYTES, pl, plen);
    lw_dbcache_header(key, pl, plen, file);
    /* at < 88 with x != 0: that header byte altered; cut != 0: that many
     * bytes (mod the size) dropped from the end */
    bool altered = at < LW_DBCACHE_HEADER_BYTES && x != 0;
    if (altered)
        file[at] ^= x;
    size_t keep = cut ? total - (cut % (total + 1)) : total;
    int rc = lw_dbcache_parse(file, keep, key, &p, &n);
    bool want_ok = !altered && keep == total && plen > 0;
    if ((rc == LW_OK) != want_ok)
        abort();
    if (rc == LW_OK && (n != plen || memcmp(p, pl, plen) != 0))
        abort();
    free(file);
}

static void fuzz_key(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    const char *exprs[MAX_EXPRS];
    unsigned int flags[MAX_EXPRS], ids[MAX_EXPRS], n = 0;
    uint8_t k1[LW_DBCACHE_KEY_BYTES], k2[LW_DBCACHE_KEY_BYTES];

    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && n < MAX_EXPRS;) {
        exprs[n] = copy + i;
        flags[n] = (unsigned)(i & 0x3f);
        ids[n] = n;
        n++;
        i += strlen(copy + i) + 1;
    }
    if (lw_dbcache_key(exprs, flags, ids, n, 1, k1) == LW_OK &&
        (lw_dbcache_key(exprs, flags, ids, n, 1, k2) != LW_OK || memcmp(k1, k2, sizeof(k1)) != 0))
        abort();
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0; /* the parse is linear; large inputs only slow the fuzzer */
    fuzz_whole_file(data, size);
    fuzz_wrapped(data, size);
    fuzz_key(data, size);
    return 0;
}
