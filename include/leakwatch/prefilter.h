/*
 * prefilter.h - byte-class masks for the match stage's gate.
 *
 * The gate finds the runs of text where a prefiltered signature could match
 * (see match.c). It needs, per 64-byte block, which bytes are ASCII digits
 * and uppercase ASCII letters, and which are in a small set of bytes (a
 * signature's joiners or leads): bit i of a mask stands for byte
 * 64 * block + i. Several implementations give identical masks: a portable
 * scalar one, SSE2 (baseline on x86-64) and AVX2 (used when the CPU has it).
 * No allocation, no state.
 */
#ifndef LEAKWATCH_PREFILTER_H
#define LEAKWATCH_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct lw_prefilter_block {
    uint64_t digit; /* '0'..'9' */
    uint64_t upper; /* 'A'..'Z' */
} lw_prefilter_block;

typedef enum lw_prefilter_impl {
    LW_PREFILTER_AUTO = 0, /* the best this CPU runs */
    LW_PREFILTER_SCALAR,
    LW_PREFILTER_SSE2,
    LW_PREFILTER_AVX2,
} lw_prefilter_impl;

/* The implementation `want` resolves to on this CPU: AUTO picks the best;
 * one the CPU (or the build) lacks falls back to the next best. Never AUTO. */
lw_prefilter_impl lw_prefilter_resolve(lw_prefilter_impl want);

/* Fills out[0..nblocks) from buf[0 .. 64 * nblocks). With letters 0 the
 * upper masks are left zero (cheaper). impl must be resolved. */
void lw_prefilter_classify(lw_prefilter_impl impl, const uint8_t *buf, size_t nblocks, int letters,
                           lw_prefilter_block *out);

/* Most bytes lw_prefilter_bytes takes. */
#define LW_PREFILTER_SET_MAX 8

/* out[j], j < nblocks: bit i set when buf[64 * j + i] is one of set[0 .. nset),
 * 1 <= nset <= LW_PREFILTER_SET_MAX. impl must be resolved. */
void lw_prefilter_bytes(lw_prefilter_impl impl, const uint8_t *buf, size_t nblocks,
                        const uint8_t *set, size_t nset, uint64_t *out);

/* Most byte sets one lw_prefilter_scan pass tests. */
#define LW_PREFILTER_SETS_MAX 4

typedef struct lw_prefilter_set {
    uint8_t n; /* 1..LW_PREFILTER_SET_MAX */
    uint8_t bytes[LW_PREFILTER_SET_MAX];
} lw_prefilter_set;

/*
 * One pass over buf[0 .. 64 * nblocks) for everything the gate needs:
 * digit[j] and (when upper is not NULL) upper[j] as lw_prefilter_classify
 * gives them, and set_out[k][j] as lw_prefilter_bytes gives them for
 * sets[k], k < nsets <= LW_PREFILTER_SETS_MAX. Each block is loaded once.
 * impl must be resolved.
 */
void lw_prefilter_scan(lw_prefilter_impl impl, const uint8_t *buf, size_t nblocks, uint64_t *digit,
                       uint64_t *upper, const lw_prefilter_set *sets, size_t nsets,
                       uint64_t *const *set_out);

#endif
