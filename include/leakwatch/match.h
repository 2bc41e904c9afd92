/*
 * match.h - finding and validating PII candidates with Hyperscan.
 *
 * One matcher is compiled at start from the signature set and shared
 * read-only by every worker: a streaming database for TCP directions (a
 * value split across segments or decoded chunks is still found) and a block
 * database with the same patterns for datagrams. Each worker owns one
 * lw_match_worker (the Hyperscan scratch and its counters); each inspected
 * flow direction owns one lw_match_stream.
 *
 * Hyperscan runs without start-of-match tracking (SOM doubles the cost).
 * Each pattern is compiled as (?:REGEX)(?:[^BOUNDARY]|\z), so it reports once,
 * when the value has ended; the callback then walks back over the
 * signature's charset (at most max_len bytes, through a short history the
 * stream keeps across chunks) to find the run that lw_pick_value() turns
 * into a validated, normalised, masked value. End-anchored reports (a value
 * that ends exactly at the end of the data) fire when a stream is closed.
 */
#ifndef LEAKWATCH_MATCH_H
#define LEAKWATCH_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/dbcache.h"
#include "leakwatch/err.h"
#include "leakwatch/signatures.h"
#include "leakwatch/types.h"

typedef struct lw_matcher lw_matcher;
typedef struct lw_match_worker lw_match_worker;
typedef struct lw_match_stream lw_match_stream;

/* Called for each validated value; v is valid only during the call. */
typedef void (*lw_match_found_fn)(void *ctx, const lw_pii_value *v);

/*
 * Compiles the signature set (which must outlive the matcher). A regex
 * Hyperscan rejects fails the whole compile with "signature ID (line N):
 * reason" in err.
 */
int lw_matcher_compile(const lw_signature_set *set, lw_matcher **out, char *err,
                       size_t errlen) LW_MUST_CHECK;

typedef struct lw_match_opts {
    bool prefilter;                /* honour the signatures' prefilter fields (default true) */
    int prefilter_impl;            /* an lw_prefilter_impl (prefilter.h); 0: the best available */
    const char *cache_dir;         /* compiled-database cache (dbcache.h); NULL or "" = none */
    lw_dbcache_stats *cache_stats; /* NULL, or counters the compile adds to */
} lw_match_opts;

/* lw_matcher_compile with options; opts NULL means the defaults. A
 * prefiltered signature whose regex has no bound width (at most 254 bytes
 * with its boundary byte) or an end anchor fails the compile. */
int lw_matcher_compile_opts(const lw_signature_set *set, const lw_match_opts *opts,
                            lw_matcher **out, char *err, size_t errlen) LW_MUST_CHECK;

/* Signatures scanned through the gate rather than over every byte. */
size_t lw_matcher_gated_count(const lw_matcher *m);
void lw_matcher_free(lw_matcher *m);

/* Bytes of Hyperscan stream state per open stream (for memory accounting). */
size_t lw_matcher_stream_size(const lw_matcher *m);

lw_match_worker *lw_match_worker_new(const lw_matcher *m);
void lw_match_worker_free(lw_match_worker *w);

/* Per-kind counters of a worker: Hyperscan reports, and values that validated. */
uint64_t lw_match_worker_candidates(const lw_match_worker *w, size_t kind);
uint64_t lw_match_worker_validated(const lw_match_worker *w, size_t kind);
/* Scans Hyperscan failed (counted, the data is skipped). */
uint64_t lw_match_worker_errors(const lw_match_worker *w);
/* Bytes the gate looked at, and bytes it passed to the gated scan (with
 * their left context; the second may exceed the first on dense input). */
uint64_t lw_match_worker_gate_in(const lw_match_worker *w);
uint64_t lw_match_worker_gate_scanned(const lw_match_worker *w);

/* Opens a stream for one flow direction; NULL on allocation failure. */
lw_match_stream *lw_match_stream_open(lw_match_worker *w);

/* Bytes one open stream holds at most (handle, look-back history, Hyperscan
 * state), for flow.memcap. */
size_t lw_match_stream_footprint(const lw_matcher *m);

/* Bytes stream s holds now: the look-back history is only held between
 * the first bytes of an item and its end (or a gap); between items it is
 * back in the worker's pool. Each part counts its allocator overhead. */
size_t lw_match_stream_bytes(const lw_matcher *m, const lw_match_stream *s);

/* Scans the next bytes of the direction; found() is called for each value. */
void lw_match_stream_scan(lw_match_worker *w, lw_match_stream *s, const uint8_t *data, size_t len,
                          lw_match_found_fn found, void *ctx);

/*
 * Bytes were lost before the next scan: values must not be joined across
 * the hole. Values ending right before the hole are not reported (whether
 * they ended there is unknown).
 */
void lw_match_stream_gap(lw_match_worker *w, lw_match_stream *s);

/*
 * The content item being scanned ended (a header value, a form field, a
 * MIME part): values ending at its last byte are reported, and the next
 * scan starts fresh, so no value is joined across two items.
 */
void lw_match_stream_end_item(lw_match_worker *w, lw_match_stream *s, lw_match_found_fn found,
                              void *ctx);

/* Ends the direction: reports values that end at its last byte, then frees s. */
void lw_match_stream_close(lw_match_worker *w, lw_match_stream *s, lw_match_found_fn found,
                           void *ctx);

/* Scans one self-contained buffer (a datagram, a DNS name). */
void lw_match_block_scan(lw_match_worker *w, const uint8_t *data, size_t len,
                         lw_match_found_fn found, void *ctx);

#endif
