/*
 * dbcache.h - an on-disk cache of compiled Hyperscan databases.
 *
 * Compiling the signature set costs more CPU at start-up and on each SIGHUP
 * than a small capture costs to scan, and it grows with site signatures.
 * lw_dbcache_compile() is hs_compile_multi() with a directory of serialized
 * databases in front of it (Suricata's "sgh-mpm-caching" does the same for
 * its multi-pattern matchers): the first start compiles and stores, later
 * starts with the same signatures, the same Hyperscan build and the same
 * CPU load the stored database instead.
 *
 * The key is SHA-256 over a length-prefixed encoding of everything the
 * compile depends on: hs_version(), the host's hs_platform_info_t, the
 * mode, and each expression with its flags and id. The file is
 * "<hex key>.hsdb": a fixed header of its own (magic, format version, the
 * key again, the payload length and the payload's SHA-256) followed by the
 * bytes of hs_serialize_database().
 *
 * Trust. Hyperscan's deserialiser is not built for hostile bytes: a stored
 * database is code-like input. The directory is used only when it is a
 * real directory (the last component is not a symlink), owned by the
 * effective uid or root and writable by neither group nor other; a file
 * only when it is a regular file owned by the effective uid and writable by
 * neither group nor other. Anything else is not read, and the cache is
 * ignored for that call (counted, with one line in the stats' warning). The
 * header and digest only catch accidents (a truncated or foreign file,
 * another format), which are recompiled and overwritten; they are no
 * defence against a writer who may already write the directory.
 *
 * The cache never makes a compile fail: a file that cannot be read, parsed,
 * deserialised or written falls back to compiling, and is counted.
 */
#ifndef LEAKWATCH_DBCACHE_H
#define LEAKWATCH_DBCACHE_H

#include <hs/hs.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"

/* Bytes of a key (SHA-256). */
#define LW_DBCACHE_KEY_BYTES 32
/* Bytes of the file header before the serialized database. */
#define LW_DBCACHE_HEADER_BYTES 88
/* Largest serialized database stored or read (the file is that plus the header). */
#define LW_DBCACHE_MAX_BYTES (64u << 20)
/* Bytes of the warning line kept in the stats. */
#define LW_DBCACHE_WARNING_MAX 320

/*
 * Counters of one or more calls (the caller zeroes it and may pass it to
 * several calls; each call adds to it).
 */
typedef struct lw_dbcache_stats {
    uint64_t hits;         /* databases loaded from the cache: no compile */
    uint64_t misses;       /* compiled: no usable file */
    uint64_t stores;       /* databases written to the cache */
    uint64_t store_failed; /* compiled but not stored (counted, never an error) */
    uint64_t rejected;     /* files found but not used: owner, mode, header, length, digest,
                              or Hyperscan refused them */
    uint64_t dir_ignored;  /* calls that ignored the cache: directory missing, untrusted */
    /* the first problem met, one line naming the directory or file and the
     * reason; "" when there was none */
    char warning[LW_DBCACHE_WARNING_MAX];
} lw_dbcache_stats;

/*
 * Compiles exprs[0..n) as hs_compile_multi(exprs, flags, ids, n, mode, NULL,
 * db, cerr) would (flags or ids may be NULL, meaning all zero). With
 * cache_dir NULL or "" it is exactly that call. Otherwise a database stored
 * under the same key is loaded instead of compiling (st->hits), and a
 * compiled one is stored (st->stores) by writing a temporary file in the
 * directory (O_EXCL, mode 0600) and renaming it into place, so a reader
 * never sees half a file. A missing directory is created (mode 0700, the
 * parent must exist). Returns what hs_compile_multi returns; on a compile
 * error *cerr is its error (free it with hs_free_compile_error) and nothing
 * is written. st may be NULL.
 */
hs_error_t lw_dbcache_compile(const char *cache_dir, const char *const *exprs,
                              const unsigned int *flags, const unsigned int *ids, unsigned int n,
                              unsigned int mode, hs_database_t **db, hs_compile_error_t **cerr,
                              lw_dbcache_stats *st);

/*
 * The cache key of a compile on this host (see above). Returns LW_OK, or
 * LW_ERR_INVAL when exprs or one of them is NULL, LW_ERR_HYPERSCAN when the
 * platform cannot be read.
 */
int lw_dbcache_key(const char *const *exprs, const unsigned int *flags, const unsigned int *ids,
                   unsigned int n, unsigned int mode,
                   uint8_t key[LW_DBCACHE_KEY_BYTES]) LW_MUST_CHECK;

/* Writes the file header for a payload of len bytes (at most LW_DBCACHE_MAX_BYTES). */
void lw_dbcache_header(const uint8_t key[LW_DBCACHE_KEY_BYTES], const uint8_t *payload, size_t len,
                       uint8_t out[LW_DBCACHE_HEADER_BYTES]);

/*
 * Checks a whole file's bytes against the key: magic, format version,
 * header size, key, a payload length that is exactly what follows the
 * header and at most LW_DBCACHE_MAX_BYTES, and the payload's digest. On
 * success points *payload into file and sets *len. Returns LW_OK,
 * LW_ERR_TRUNCATED (shorter than its header says) or LW_ERR_PARSE.
 * Reads only file[0..size).
 */
int lw_dbcache_parse(const uint8_t *file, size_t size, const uint8_t key[LW_DBCACHE_KEY_BYTES],
                     const uint8_t **payload, size_t *len) LW_MUST_CHECK;

#endif
