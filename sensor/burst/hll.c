/*
 * hll.c - windowed HyperLogLog (see hll.h for the algorithm, the window and
 * its error).
 *
 * Layout: reg[slot][register] are the sub-window sketches; id[slot] is the
 * sub-window number a slot holds and bit `slot` of `live` says it holds one
 * at all; first[slot] is the earliest add time in it (for the burst's
 * report). view[] is the register-wise maximum of the slots in the window
 * as of sub-window view_lo (the oldest one in the window); it depends only
 * on view_lo because time never goes back, so no slot newer than the
 * current sub-window exists. An add that raises a register above the window
 * updates view[] in place; when the oldest sub-window moves, view[] is
 * rebuilt from the slots on the next estimate. The estimate itself is
 * cached until a register of the view changes.
 *
 * Invariants: every live slot's id is <= latest / sub; the slots in the
 * window have distinct ids in [lo, latest / sub], a range of at most 16
 * (hll.h explains why), so `id mod 16` never maps two of them to one slot.
 */
#include "leakwatch/hll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RANK_BITS (64 - LW_HLL_P) /* bits left for the rank: ranks are 1..RANK_BITS + 1 */

struct lw_hll {
    uint64_t window_us;
    uint64_t sub_us; /* sub-window length */
    uint64_t latest; /* latest time seen */
    uint32_t live;   /* bit i: slot i holds sub-window id[i] */
    bool view_ok;    /* view[] is the maximum over the window starting at view_lo */
    bool est_ok;     /* est is the estimate of view[] */
    uint64_t view_lo;
    uint64_t est;
    uint64_t id[LW_HLL_SLOTS];
    uint64_t first[LW_HLL_SLOTS];
    uint8_t view[LW_HLL_M];
    uint8_t reg[LW_HLL_SLOTS][LW_HLL_M];
};

_Static_assert(LW_HLL_SLOTS <= 32, "live is a 32-bit mask");

lw_hll *lw_hll_new(uint64_t window_us)
{
    if (window_us == 0)
        return NULL;
    lw_hll *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->window_us = window_us;
    /* ceil(window / (slots - 1)) without overflow near UINT64_MAX */
    h->sub_us = window_us / (LW_HLL_SLOTS - 1) + (window_us % (LW_HLL_SLOTS - 1) != 0);
    return h;
}

void lw_hll_free(lw_hll *h)
{
    free(h);
}

size_t lw_hll_bytes(const lw_hll *h)
{
    return h ? sizeof(*h) : 0;
}

static uint64_t advance(lw_hll *h, uint64_t now_us)
{
    if (now_us > h->latest)
        h->latest = now_us;
    return h->latest;
}

/* The oldest sub-window overlapping (now - window, now]. */
static uint64_t window_lo(const lw_hll *h, uint64_t now)
{
    uint64_t oldest = now >= h->window_us ? now - h->window_us + 1 : 0;
    return oldest / h->sub_us;
}

static bool in_window(const lw_hll *h, unsigned slot, uint64_t lo)
{
    return (h->live & (1u << slot)) && h->id[slot] >= lo;
}

static unsigned rank_of(uint64_t hash)
{
    uint64_t w = hash << LW_HLL_P; /* the rank bits, left-aligned */
    unsigned r = 1;
    while (r <= RANK_BITS && !(w & (UINT64_C(1) << 63))) {
        w <<= 1;
        r++;
    }
    return r;
}

bool lw_hll_add(lw_hll *h, uint64_t hash, uint64_t now_us)
{
    uint64_t now = advance(h, now_us);
    uint64_t s = now / h->sub_us, lo = window_lo(h, now);
    unsigned slot = (unsigned)(s % LW_HLL_SLOTS);
    if (!(h->live & (1u << slot)) || h->id[slot] != s) {
        /* a stale sub-window (id < lo, outside the view) or an empty slot */
        memset(h->reg[slot], 0, LW_HLL_M);
        h->id[slot] = s;
        h->first[slot] = now;
        h->live |= 1u << slot;
    }
    if (h->view_ok && h->view_lo != lo)
        h->view_ok = false;

    unsigned j = (unsigned)(hash >> RANK_BITS);
    uint8_t r = (uint8_t)rank_of(hash);
    uint8_t top = 0;
    for (unsigned i = 0; i < LW_HLL_SLOTS; i++)
        if (in_window(h, i, lo) && h->reg[i][j] > top)
            top = h->reg[i][j];
    if (r > h->reg[slot][j])
        h->reg[slot][j] = r;
    if (r <= top)
        return false;
    if (h->view_ok)
        h->view[j] = r;
    h->est_ok = false;
    return true;
}

static void rebuild_view(lw_hll *h, uint64_t lo)
{
    memset(h->view, 0, sizeof(h->view));
    for (unsigned i = 0; i < LW_HLL_SLOTS; i++) {
        if (!in_window(h, i, lo))
            continue;
        for (unsigned j = 0; j < LW_HLL_M; j++)
            if (h->reg[i][j] > h->view[j])
                h->view[j] = h->reg[i][j];
    }
    h->view_lo = lo;
    h->view_ok = true;
    h->est_ok = false;
}

static uint64_t compute_estimate(const uint8_t *regs)
{
    const double m = (double)LW_HLL_M;
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned j = 0; j < LW_HLL_M; j++) {
        sum += ldexp(1.0, -(int)regs[j]);
        zeros += regs[j] == 0;
    }
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0)
        e = m * log(m / (double)zeros); /* linear counting; 0 when all are zero */
    if (e >= 18446744073709549568.0)    /* the largest double below 2^64 */
        return UINT64_MAX;
    return (uint64_t)(e + 0.5);
}

uint64_t lw_hll_estimate(lw_hll *h, uint64_t now_us)
{
    uint64_t lo = window_lo(h, advance(h, now_us));
    if (!h->view_ok || h->view_lo != lo)
        rebuild_view(h, lo);
    if (!h->est_ok) {
        h->est = compute_estimate(h->view);
        h->est_ok = true;
    }
    return h->est;
}

bool lw_hll_first(lw_hll *h, uint64_t now_us, uint64_t *first_us)
{
    uint64_t lo = window_lo(h, advance(h, now_us));
    bool any = false;
    for (unsigned i = 0; i < LW_HLL_SLOTS; i++) {
        if (!in_window(h, i, lo) || (any && h->first[i] >= *first_us))
            continue;
        *first_us = h->first[i];
        any = true;
    }
    return any;
}
