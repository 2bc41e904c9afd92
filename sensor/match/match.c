/*
 * match.c - Hyperscan scanning and candidate extraction (see match.h).
 *
 * Why no SOM: Hyperscan's start-of-match tracking doubles the scan cost and
 * grows stream state; the patterns here have bounded length and a known
 * character set, so the start can be recovered by walking back from the
 * reported end. To walk back across chunk boundaries each stream keeps the
 * last LW_MATCH_HISTORY bytes it scanned (more than the longest value), so
 * a value that straddles any number of segments is still found whole.
 *
 * Offsets: Hyperscan reports end offsets relative to the stream start (or
 * the last reset). `base` is the offset of the first byte of the chunk being
 * scanned; bytes before it come from the history.
 *
 * The gate. Signatures with a prefilter leave the stream database. The
 * prefilter promises that every match lies in one *run*: counted bytes
 * (digits, or digits and capitals) joined by at most `gap` joiner bytes in
 * a row, holding at least `min` counted bytes, optionally right after a
 * lead byte (lw_sig_prefilter). Their regexes must have a bounded width W
 * (with the delimiter byte; Hyperscan's expression info gives it), so a
 * report at stream offset `to` depends only on bytes [to - W, to). Each
 * chunk is copied, after W + 1 bytes of left context from the history,
 * into a segment; a vectorised pass classifies its bytes 64 at a time, bit
 * arithmetic on those masks finds the runs that keep the promise of some
 * gated signature, and the 64-byte blocks holding a `to - 1` such a run
 * could produce (the run's bytes and the byte after it) are marked. Each
 * stretch of marked blocks is scanned in block mode from W + 1 bytes
 * before its first `to` (or from the stream start) with (?:R)[^B], and only
 * reports inside the stretch are taken, so a report is never made twice
 * nor missed. Starting a scan W + 1 bytes early also gives  and friends
 * the same byte before the match as the stream had. At the end of an item
 * or stream the last W + 1 bytes are scanned with (?:R)\z, which is what
 * Hyperscan's stream close reports (block scans of datagrams use
 * (?:R)(?:[^B]|\z) for the stretch that reaches the end, as the block
 * database does). Reports of both kinds are collected per segment and
 * handed to the walk-back in order of end offset, then signature, as one
 * stream would. Signatures without a prefilter stay in the stream database.
 *
 * Why runs and not "enough digits near here": logs, JSON and HTML carry
 * digits everywhere (timestamps, ids, sizes), so counting digits per block
 * let most of such text through; a run of thirteen digits joined only by
 * single spaces or dashes is rare in anything but the values sought.
 */
#include "leakwatch/match.h"

#include <hs/hs.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/dbcache.h"
#include "leakwatch/prefilter.h"
#include "leakwatch/validate.h"

/* Longest value (max_len <= 255) plus the byte before it. */
#define LW_MATCH_HISTORY 256
/* Widest gated regex with its delimiter: W + 1 bytes of context fit the history. */
#define LW_GATE_WIDTH_MAX (LW_MATCH_HISTORY - 1)
/* New bytes per segment, and the segment with its context and padding. */
#define LW_GATE_SEG 8192

/*
 * Hyperscan 5.4's AVX-512 VBMI literal matcher (fat Teddy) may read up to a
 * vector past the end of the buffer it is handed (vectorscan issue 322):
 * harmless inside a page, a crash when the buffer ends at the end of a
 * mapping - as the last frame of a capture ring can, and as a fuzzer's
 * heap object did. Data that ends within SCAN_SLACK bytes of a 4 KiB
 * boundary is scanned from a copy with room after it.
 */
#define SCAN_SLACK     64
#define SCAN_TAIL      (2 * SCAN_SLACK)
#define BLOCK_COPY_MAX 65536
#define LW_GATE_BUF    (LW_GATE_SEG + LW_MATCH_HISTORY + 64)
#define LW_GATE_BLOCKS (LW_GATE_BUF / 64 + 1)
/* Reports held for ordering before the walk-back. */
#define LW_PENDING 1024

typedef struct gate {
    uint32_t sig;   /* index in the signature set */
    uint16_t width; /* max width of (?:R)[^B] */
    uint8_t count;  /* lw_sig_count_class */
    uint8_t min;    /* counted bytes in a run, 1..LW_SIG_RUN_MIN_MAX */
    uint8_t gap;    /* joiners in a row, 0..LW_SIG_GAP_MAX */
    uint8_t njoiners;
    uint8_t nlead;
    uint8_t joiners[LW_SIG_JOINERS_MAX];
    uint8_t lead[LW_SIG_JOINERS_MAX];
    uint16_t group;   /* its group, when it has no lead */
    int8_t set;       /* its lead's byte set in lw_matcher.sets; -1: made on demand */
    uint8_t cls[256]; /* CLS_* bits of each byte value */
    /* its own block databases: (?:R)[^B], and (?:R)(?:[^B]|\z) for a
     * datagram's last stretch. One pattern scans a short stretch several
     * times faster than all gated ones together (the per-call set-up of a
     * block scan grows with the database), and a gate's stretches can
     * only hold its own reports. */
    hs_database_t *db;
    hs_database_t *full_db;
} gate;

#define CLS_COUNTED 1u
#define CLS_JOINER  2u
#define CLS_LEAD    4u

/*
 * Gates without a lead that count the same class share one pass of bit
 * arithmetic: joiners the union of theirs, gap the largest, min the
 * smallest. Every run of one of them lies inside a run of the group, so the
 * group's runs are found first and each gate's own runs are looked for
 * inside them only - a byte at a time, but such runs are rare.
 */
typedef struct gate_group {
    uint8_t count, min, gap, njoiners;
    int8_t set; /* its joiners' byte set in lw_matcher.sets; -1: made on demand */
    uint8_t joiners[LW_PREFILTER_SET_MAX];
} gate_group;

struct lw_matcher {
    const lw_signature_set *set;
    hs_database_t *stream_db;   /* ungated signatures; NULL when there are none */
    hs_database_t *block_db;    /* ungated signatures, for datagrams */
    hs_database_t *gate_eod_db; /* all gated: (?:R)\z, at the end of an item */
    size_t stream_size;
    gate *gates;
    size_t ngates;
    gate_group *groups;
    size_t ngroups;
    uint16_t width; /* widest gate */
    int letters;    /* some gate counts capitals */
    bool popcnt;    /* the CPU has POPCNT */
    /* byte sets the classifying pass tests along with the classes */
    lw_prefilter_set sets[LW_PREFILTER_SETS_MAX];
    size_t nsets;
    lw_prefilter_impl impl;
};

typedef struct pending {
    uint64_t to;
    uint32_t id;
} pending;

struct lw_match_worker {
    const lw_matcher *m;
    hs_scratch_t *scratch;
    uint64_t candidates[LW_SIG_MAX_KINDS];
    uint64_t validated[LW_SIG_MAX_KINDS];
    uint64_t errors;
    uint64_t gate_in;
    uint64_t gate_scanned;
    unsigned char dedup_key[crypto_shorthash_KEYBYTES]; /* per worker, random */
    uint8_t tail[SCAN_TAIL + SCAN_SLACK]; /* a stream piece's end, copied (see SCAN_SLACK) */
    uint8_t *block_copy;                  /* BLOCK_COPY_MAX + SCAN_SLACK bytes */
    size_t npending;
    pending pend[LW_PENDING];
    uint8_t seg[LW_GATE_BUF];
    /* the segment's masks, each with one zero block after the last so that
     * bit arithmetic may look one block ahead: digits, digits and capitals,
     * the matcher's byte sets, one more set made on demand, a group's runs */
    uint64_t digit[LW_GATE_BLOCKS + 1];
    uint64_t alnum[LW_GATE_BLOCKS + 1];
    uint64_t setmask[LW_PREFILTER_SETS_MAX][LW_GATE_BLOCKS + 1];
    uint64_t spare[LW_GATE_BLOCKS + 1];
    uint64_t run[LW_GATE_BLOCKS + 1];
    uint64_t win[LW_GATE_BLOCKS + 1]; /* where a group's runs are min bytes long */
    uint8_t mark[LW_GATE_BLOCKS];     /* some gate marked the block */
    uint8_t *gmark;                   /* [ngates][LW_GATE_BLOCKS]: gate k marked it */
    uint16_t *marked;                 /* the gates that marked some block, in order */
    size_t nmarked;
    void *pool; /* spare history buffers, linked through their first bytes */
    size_t npool;
};

/*
 * The look-back history is the largest part of a stream, and a flow that
 * waits between two messages needs none of it: items are never joined, so
 * the history is dropped at an item's end anyway. It is taken from the
 * worker's pool at the first bytes of an item and given back (wiped: it
 * holds wire bytes) at the item's end, a gap or the close. The pool keeps
 * up to HISTORY_POOL spare buffers, so warm flows allocate nothing.
 */
#define HISTORY_POOL 1024

struct lw_match_stream {
    hs_stream_t *hs;
    uint64_t base; /* Hyperscan offset of the next byte to scan */
    uint16_t history_len;
    uint8_t *history; /* LW_MATCH_HISTORY bytes while an item is open, else NULL */
};

/* What the Hyperscan callback needs to see the bytes around a match. */
typedef struct scan_view {
    lw_match_worker *w;
    const uint8_t *data; /* the chunk being scanned */
    size_t len;
    uint64_t base; /* offset of data[0] */
    const uint8_t *history;
    size_t history_len; /* bytes immediately before data[0] */
    lw_match_found_fn found;
    void *ctx;
    /* the last value reported: two signatures of one kind (E.164 and NANP
     * on "+14155550123") that pick the same value ending at the same byte
     * report it once. A keyed hash, so no clear value outlives the call. */
    bool have_last;
    uint16_t last_kind;
    uint64_t last_end;
    uint64_t last_hash;
} scan_view;

/* The byte at stream offset off, or -1 when it is no longer (or not yet) held. */
static bool ends_near_page(const uint8_t *p, size_t len)
{
    uintptr_t in_page = (uintptr_t)(p + len) & 4095u;
    return in_page == 0 || in_page > 4096u - SCAN_SLACK;
}

static int byte_at(const scan_view *v, uint64_t off)
{
    if (off >= v->base) {
        uint64_t i = off - v->base;
        return i < v->len ? v->data[i] : -1;
    }
    uint64_t back = v->base - off;
    if (back > v->history_len)
        return -1;
    return v->history[v->history_len - back];
}

static int is_alnum(int b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *arg)
{
    (void)from;
    (void)flags;
    scan_view *v = arg;
    const lw_signature *sig = &v->w->m->set->sigs[id];
    v->w->candidates[sig->kind]++;

    /* The report ends after the delimiter, or at the end of the data. */
    uint64_t end = to;
    int last = end ? byte_at(v, end - 1) : -1;
    if (last < 0)
        return 0;
    if (!lw_charset_has(sig->boundary_map, (uint8_t)last))
        end--;

    /* Walk back over the charset, at most max_len bytes. */
    uint64_t start = end;
    while (end - start < sig->max_len && start > 0) {
        int b = byte_at(v, start - 1);
        if (b < 0 || !lw_charset_has(sig->charset_map, (uint8_t)b))
            break;
        start--;
    }
    if (start == end)
        return 0;

    bool start_ok;
    if (start == 0) {
        start_ok = true; /* the stream (or datagram) starts with the value */
    } else {
        int before = byte_at(v, start - 1);
        /* Unknown, still inside the charset (cut at max_len), or glued to a
         * letter or digit: run[0] is not where a value starts. */
        start_ok =
            before >= 0 && !lw_charset_has(sig->charset_map, (uint8_t)before) && !is_alnum(before);
        /* The fraction of a decimal number ("0.4111111111111111", a
         * JavaScript Math.random(), a float in JSON) is not a value: a
         * digit run right after a '.' that follows a digit. (Not ',': in a
         * CSV a card follows a numeric field and a comma.) Only for
         * signatures whose values cannot hold a '.' themselves. */
        if (start_ok && before == '.' && start >= 2) {
            int two = byte_at(v, start - 2);
            if (two >= '0' && two <= '9')
                start_ok = false;
        }
    }

    uint8_t run[LW_MATCH_HISTORY];
    size_t n = (size_t)(end - start);
    for (size_t i = 0; i < n; i++)
        run[i] = (uint8_t)byte_at(v, start + i);

    lw_pii_value value;
    if (lw_pick_value(sig->validator, sig->normaliser, run, n, start_ok, &value)) {
        value.sig_index = (uint16_t)id;
        value.kind = sig->kind;
        unsigned char h[crypto_shorthash_BYTES];
        crypto_shorthash(h, (const unsigned char *)value.norm, value.norm_len, v->w->dedup_key);
        uint64_t hash;
        memcpy(&hash, h, sizeof(hash));
        if (v->have_last && v->last_end == end && v->last_kind == sig->kind &&
            v->last_hash == hash) {
            memset(value.norm, 0, sizeof(value.norm));
            memset(run, 0, n);
            return 0;
        }
        v->have_last = true;
        v->last_end = end;
        v->last_kind = sig->kind;
        v->last_hash = hash;
        v->w->validated[sig->kind]++;
        v->found(v->ctx, &value);
        /* The clear value lived only for the callback. */
        memset(value.norm, 0, sizeof(value.norm));
    }
    memset(run, 0, n);
    return 0;
}

/* ------------------------------------------------------------ ordering */

static int pending_cmp(const void *a, const void *b)
{
    const pending *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Hands the collected reports to the walk-back in order of end offset. */
static void flush(scan_view *v)
{
    lw_match_worker *w = v->w;
    if (w->npending > 1)
        qsort(w->pend, w->npending, sizeof(w->pend[0]), pending_cmp);
    for (size_t i = 0; i < w->npending; i++)
        on_match(w->pend[i].id, 0, w->pend[i].to, 0, v);
    w->npending = 0;
}

static void push(scan_view *v, unsigned int id, uint64_t to)
{
    lw_match_worker *w = v->w;
    if (w->npending == LW_PENDING)
        flush(v); /* only on pathological input: order is kept per batch */
    w->pend[w->npending].to = to;
    w->pend[w->npending].id = id;
    w->npending++;
}

/* Reports from the stream and block databases: offsets are already stream offsets. */
static int collect(unsigned int id, unsigned long long from, unsigned long long to,
                   unsigned int flags, void *arg)
{
    (void)from;
    (void)flags;
    push(arg, id, to);
    return 0;
}

/* Reports of a gated scan of seg[lo_scan ..): taken only inside [acc_lo, acc_hi]. */
typedef struct gate_scan {
    scan_view *v;
    uint64_t off0;  /* stream offset of seg[0] */
    size_t scan_lo; /* seg index of the scanned buffer's first byte */
    size_t acc_lo, acc_hi;
} gate_scan;

static int collect_gated(unsigned int id, unsigned long long from, unsigned long long to,
                         unsigned int flags, void *arg)
{
    (void)from;
    (void)flags;
    gate_scan *g = arg;
    size_t t = g->scan_lo + (size_t)to;
    if (t >= g->acc_lo && t <= g->acc_hi)
        push(g->v, id, g->off0 + t);
    return 0;
}

/* -------------------------------------------------------------- the gate */

/*
 * Everything from here to gate_mark() is inlined into gate_mark_body(),
 * which is compiled three times: for CPUs with AVX2 (the array loops in
 * 256-bit vectors), with POPCNT, and for any x86-64 (or other) CPU.
 * Without -mpopcnt every __builtin_popcountll is a call into libgcc.
 */
#define GATE_INLINE static inline __attribute__((always_inline))

/* Bit i of the result is bit i - g of the mask array a (block j), 1 <= g < 64. */
GATE_INLINE uint64_t bits_back(const uint64_t *a, size_t j, unsigned g)
{
    return a[j] << g | (j ? a[j - 1] >> (64 - g) : 0);
}

/* The first clear bit of a at or after i; a[] ends with a zero block at nb. */
GATE_INLINE size_t next_clear(const uint64_t *a, size_t i)
{
    for (;;) {
        uint64_t rest = ~a[i / 64] >> (i % 64);
        if (rest)
            return i + (size_t)__builtin_ctzll(rest);
        i = (i / 64 + 1) * 64;
    }
}

/* One past the last clear bit of a before i (0 when all are set). */
GATE_INLINE size_t prev_clear_end(const uint64_t *a, size_t i)
{
    while (i > 0) {
        size_t j = (i - 1) / 64, have = (i - 1) % 64 + 1; /* bits [64j, 64j + have) */
        uint64_t clear = ~a[j];
        if (have < 64)
            clear &= ((uint64_t)1 << have) - 1;
        if (clear)
            return 64 * j + (size_t)(63 - __builtin_clzll(clear)) + 1;
        i = 64 * j;
    }
    return 0;
}

/* Counted bytes in [s, e), one popcount a block. */
GATE_INLINE size_t count_bits(const uint64_t *a, size_t s, size_t e)
{
    size_t n = 0;
    while (s < e) {
        size_t j = s / 64, lo = s % 64;
        size_t hi = e - 64 * j < 64 ? e - 64 * j : 64;
        uint64_t m = a[j] >> lo;
        if (hi - lo < 64)
            m &= ((uint64_t)1 << (hi - lo)) - 1;
        n += (size_t)__builtin_popcountll(m);
        s = 64 * j + hi;
    }
    return n;
}

/* Marks for gate g the blocks holding bytes [s, e] of seg (e may be the padding). */
GATE_INLINE void mark_blocks(lw_match_worker *w, const gate *g, size_t s, size_t e, size_t nb)
{
    size_t k = (size_t)(g - w->m->gates);
    uint8_t *gm = w->gmark + k * LW_GATE_BLOCKS;
    size_t last = e / 64 < nb ? e / 64 : nb - 1;
    if (!memchr(gm, 1, nb))
        w->marked[w->nmarked++] = (uint16_t)k;
    memset(gm + s / 64, 1, last - s / 64 + 1);
    memset(w->mark + s / 64, 1, last - s / 64 + 1);
}

/*
 * Walks gate g's run that starts at seg[p] (a counted byte) and marks it
 * if it keeps the promise; returns where it ended. A report's `to - 1` is a
 * byte of the run or the delimiter right after its last counted byte.
 * Stops at `end` (<= tlen).
 */
GATE_INLINE size_t walk_run(lw_match_worker *w, const gate *g, size_t p, size_t end, size_t nb)
{
    size_t counted = 0, last = p, joiners = 0;
    for (size_t i = p; i < end; i++) {
        uint8_t c = g->cls[w->seg[i]];
        if (c & CLS_COUNTED) {
            counted++;
            last = i;
            joiners = 0;
        } else if (!(c & CLS_JOINER) || ++joiners > g->gap) {
            break;
        }
    }
    if (counted >= g->min)
        mark_blocks(w, g, p, last + 1, nb);
    return last + 1;
}

/* Gate g's own runs inside [s, e), a run of its group. */
GATE_INLINE void gate_runs_within(lw_match_worker *w, const gate *g, size_t s, size_t e, size_t nb)
{
    size_t i = s;
    while (i < e) {
        if (g->cls[w->seg[i]] & CLS_COUNTED)
            i = walk_run(w, g, i, e, nb);
        else
            i++;
    }
}

/* The mask array of a prefilter byte set, computed with the classes when
 * it is among the first LW_PREFILTER_SETS_MAX, else now into `spare`. */
GATE_INLINE const uint64_t *set_mask(lw_match_worker *w, int set, const uint8_t *bytes, size_t n,
                                     size_t nb, uint64_t *spare)
{
    if (set >= 0)
        return w->setmask[set];
    lw_prefilter_bytes(w->m->impl, w->seg, nb, bytes, n, spare);
    spare[nb] = 0;
    return spare;
}

/* The counted-class masks of a count class (zero block at nb). */
GATE_INLINE const uint64_t *count_mask(lw_match_worker *w, uint8_t count)
{
    return count == LW_SIG_COUNT_DIGITS ? w->digit : w->alnum;
}

/* Gate g with a lead: runs start at a counted byte right after a lead byte. */
GATE_INLINE void gate_lead_runs(lw_match_worker *w, const gate *g, size_t tlen, size_t nb)
{
    const uint64_t *lead = set_mask(w, g->set, g->lead, g->nlead, nb, w->spare);
    const uint64_t *cnt = count_mask(w, g->count);
    size_t done = 0;
    for (size_t j = 0; j < nb; j++) {
        uint64_t starts = bits_back(lead, j, 1) & cnt[j];
        while (starts) {
            size_t p = 64 * j + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
            if (p >= done)
                done = walk_run(w, g, p, tlen, nb);
        }
    }
}

/*
 * The bit arithmetic below runs over whole mask arrays, one 64-byte block
 * a word, with no branch on the data, so the compiler turns each loop into
 * vector code (four blocks an instruction where gate_mark_avx2 is used).
 * Bits cross from a word's neighbours by shifts; block 0 has no block
 * before it and is done on its own.
 */

/* Joiners linked into runs, gap a constant (the loop is unrolled). */
#define LINK_BLOCK(run, cnt, join, j, prev_cnt, prev_join, gap)                                    \
    do {                                                                                           \
        uint64_t back_ = 0, ahead_ = 0, chain_b_ = ~(uint64_t)0, chain_a_ = ~(uint64_t)0;          \
        for (unsigned k_ = 1; k_ <= (gap); k_++) {                                                 \
            back_ |= chain_b_ & ((cnt)[j] << k_ | (prev_cnt) >> (64 - k_));                        \
            ahead_ |= chain_a_ & ((cnt)[j] >> k_ | (cnt)[(j) + 1] << (64 - k_));                   \
            chain_b_ &= (join)[j] << k_ | (prev_join) >> (64 - k_);                                \
            chain_a_ &= (join)[j] >> k_ | (join)[(j) + 1] << (64 - k_);                            \
        }                                                                                          \
        (run)[j] = (cnt)[j] | ((join)[j] & back_ & ahead_);                                        \
    } while (0)

/*
 * run[j] = cnt[j] and the joiners linked into runs: a joiner belongs to a
 * run when a counted byte lies at most `gap` bytes before it and after it
 * with only joiners in between. cnt[nb] and join[nb] must be zero.
 */
GATE_INLINE void link_joiners(uint64_t *restrict run, const uint64_t *restrict cnt,
                              const uint64_t *restrict join, size_t nb, unsigned gap)
{
    LINK_BLOCK(run, cnt, join, 0, (uint64_t)0, (uint64_t)0, gap);
    for (size_t j = 1; j < nb; j++)
        LINK_BLOCK(run, cnt, join, j, cnt[j - 1], join[j - 1], gap);
}

/* a[j] bit i &= bit i + s of a, for every j < nb (a[nb] must exist), 1 <= s < 64. */
GATE_INLINE void and_ahead(uint64_t *a, size_t nb, unsigned s)
{
    for (size_t j = 0; j < nb; j++)
        a[j] &= a[j] >> s | a[j + 1] << (64 - s);
}

/*
 * win[j] bit i: run bytes [64j + i, 64j + i + min) are all set. Windows
 * twice as long as the last until the next would pass min; then one more
 * step of the rest, which overlaps what is known (min - have <= have).
 */
GATE_INLINE void run_windows(uint64_t *win, const uint64_t *run, size_t nb, unsigned min)
{
    memcpy(win, run, (nb + 1) * sizeof(win[0]));
    unsigned have = 1;
    while (2 * have <= min) {
        and_ahead(win, nb, have);
        have *= 2;
    }
    if (have < min)
        and_ahead(win, nb, min - have);
}

/*
 * The runs of group gi in seg[0 .. 64 * nb) holding at least its min
 * counted bytes; each is handed to the group's gates.
 */
GATE_INLINE void group_runs(lw_match_worker *w, size_t gi, size_t tlen, size_t nb)
{
    const lw_matcher *m = w->m;
    const gate_group *gr = &m->groups[gi];
    uint64_t *run = w->run;
    const uint64_t *cnt = count_mask(w, gr->count);

    run[nb] = 0;
    if (!gr->njoiners) {
        memcpy(run, cnt, nb * sizeof(run[0]));
    } else {
        const uint64_t *join = set_mask(w, gr->set, gr->joiners, gr->njoiners, nb, w->spare);
        _Static_assert(LW_SIG_GAP_MAX == 4, "a case for every gap");
        switch (gr->gap) { /* constants, so the shifts are */
        case 1:
            link_joiners(run, cnt, join, nb, 1);
            break;
        case 2:
            link_joiners(run, cnt, join, nb, 2);
            break;
        case 3:
            link_joiners(run, cnt, join, nb, 3);
            break;
        default:
            link_joiners(run, cnt, join, nb, 4);
            break;
        }
    }
    /* a run of min bytes may still hold joiners: counted exactly below */
    run_windows(w->win, run, nb, gr->min);

    size_t done = 0; /* runs before this byte were handled */
    for (size_t j = 0; j < nb; j++) {
        uint64_t starts = w->win[j];
        while (starts) {
            size_t p = 64 * j + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
            if (p < done)
                continue;
            size_t rs = prev_clear_end(run, p), re = next_clear(run, p);
            done = re;
            if (count_bits(cnt, rs, re) < gr->min)
                continue;
            for (size_t k = 0; k < m->ngates; k++)
                if (!m->gates[k].nlead && m->gates[k].group == gi)
                    gate_runs_within(w, &m->gates[k], rs, re < tlen ? re : tlen, nb);
        }
    }
}

/*
 * Classifies seg[0 .. tlen) (zero-padded to whole blocks) and marks the
 * blocks where some gated report could end. A zero byte is neither counted
 * nor a joiner or lead (those are printable), so padding adds nothing.
 */
GATE_INLINE void gate_mark_body(lw_match_worker *w, size_t tlen, size_t nb)
{
    const lw_matcher *m = w->m;
    uint64_t *sets[LW_PREFILTER_SETS_MAX];
    for (size_t k = 0; k < m->nsets; k++) {
        sets[k] = w->setmask[k];
        w->setmask[k][nb] = 0;
    }
    memset(w->seg + tlen, 0, nb * 64 - tlen);
    lw_prefilter_scan(m->impl, w->seg, nb, w->digit, m->letters ? w->alnum : NULL, m->sets,
                      m->nsets, sets);
    w->digit[nb] = 0;
    if (m->letters) {
        for (size_t j = 0; j < nb; j++)
            w->alnum[j] |= w->digit[j];
        w->alnum[nb] = 0;
    }
    memset(w->mark, 0, nb);
    for (size_t i = 0; i < w->nmarked; i++)
        memset(w->gmark + (size_t)w->marked[i] * LW_GATE_BLOCKS, 0, LW_GATE_BLOCKS);
    w->nmarked = 0;
    for (size_t gi = 0; gi < m->ngroups; gi++)
        group_runs(w, gi, tlen, nb);
    for (size_t k = 0; k < m->ngates; k++)
        if (m->gates[k].nlead)
            gate_lead_runs(w, &m->gates[k], tlen, nb);
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static void gate_mark_popcnt(lw_match_worker *w, size_t tlen,
                                                               size_t nb)
{
    gate_mark_body(w, tlen, nb);
}

/* The array loops four blocks an instruction. */
__attribute__((target("avx2,popcnt"))) static void gate_mark_avx2(lw_match_worker *w, size_t tlen,
                                                                  size_t nb)
{
    gate_mark_body(w, tlen, nb);
}
#endif

static void gate_mark_portable(lw_match_worker *w, size_t tlen, size_t nb)
{
    gate_mark_body(w, tlen, nb);
}

static void gate_mark(lw_match_worker *w, size_t tlen, size_t nb)
{
#if defined(__x86_64__)
    if (w->m->impl == LW_PREFILTER_AVX2 && w->m->popcnt) {
        gate_mark_avx2(w, tlen, nb);
        return;
    }
    if (w->m->popcnt) {
        gate_mark_popcnt(w, tlen, nb);
        return;
    }
#endif
    gate_mark_portable(w, tlen, nb);
}

static void gate_run(lw_match_worker *w, const hs_database_t *db, gate_scan *g, size_t lo,
                     size_t hi)
{
    g->scan_lo = lo;
    w->gate_scanned += hi - lo;
    if (hs_scan(db, (const char *)w->seg + lo, (unsigned int)(hi - lo), 0, w->scratch,
                collect_gated, g) != HS_SUCCESS)
        w->errors++;
}

/*
 * Runs the gated signatures over seg[ctx .. tlen), the new bytes, with
 * seg[0 .. ctx) their left context (W + 1 bytes, or everything since the
 * stream started). `at_end`: seg ends the data of a datagram.
 */
static void gate_segment(lw_match_worker *w, scan_view *v, uint64_t off0, size_t ctx, size_t tlen,
                         int at_end)
{
    const lw_matcher *m = w->m;
    size_t nb = (tlen + 63) / 64;
    size_t W = m->width;
    gate_mark(w, tlen, nb);
    for (size_t i = 0; i < w->nmarked; i++) {
        const gate *gt = &m->gates[w->marked[i]];
        const uint8_t *mark = w->gmark + (size_t)w->marked[i] * LW_GATE_BLOCKS;
        gate_scan g = {v, off0, 0, 0, 0};
        size_t run_lo = 0, run_hi = 0; /* scan [run_lo, run_hi) taking [g.acc_lo, g.acc_hi] */
        int open = 0;
        for (size_t j = ctx / 64; j <= nb; j++) {
            if (j < nb && mark[j]) {
                size_t to_lo = 64 * j + 1 > ctx + 1 ? 64 * j + 1 : ctx + 1;
                size_t to_hi = 64 * (j + 1) < tlen ? 64 * (j + 1) : tlen;
                size_t lo = to_lo > W + 1 ? to_lo - 1 - W : 0;
                if (open && lo <= run_hi) {
                    run_hi = to_hi;
                    g.acc_hi = to_hi;
                    continue;
                }
                if (open)
                    gate_run(w, gt->db, &g, run_lo, run_hi);
                open = 1;
                run_lo = lo;
                run_hi = to_hi;
                g.acc_lo = to_lo;
                g.acc_hi = to_hi;
                continue;
            }
            if (!open)
                continue;
            /* Only a datagram's stretch that reaches its end may end with \z. */
            gate_run(w, at_end && run_hi == tlen ? gt->full_db : gt->db, &g, run_lo, run_hi);
            open = 0;
        }
    }
}

/* Copies stream offsets [from, from + n) of the view into seg. */
static void copy_view(const scan_view *v, uint64_t from, size_t n, uint8_t *dst)
{
    size_t i = 0;
    if (from < v->base) {
        uint64_t back = v->base - from;
        /* callers never reach past the history; zeros if they did */
        size_t missing = back > v->history_len ? (size_t)(back - v->history_len) : 0;
        if (missing > n)
            missing = n;
        memset(dst, 0, missing);
        i = missing;
        size_t take = (size_t)(back - missing) < n - i ? (size_t)(back - missing) : n - i;
        memcpy(dst + i, v->history + v->history_len - (back - missing), take);
        i += take;
    }
    if (i < n)
        memcpy(dst + i, v->data + (from + i - v->base), n - i);
}

/* Gates and scans the chunk bytes [d0, d0 + n) of the view. */
static void gate_piece(lw_match_worker *w, scan_view *v, size_t d0, size_t n, int at_end)
{
    size_t avail = v->history_len + d0;
    size_t ctx = avail < (size_t)w->m->width + 1 ? avail : (size_t)w->m->width + 1;
    uint64_t from = v->base + d0 - ctx;
    copy_view(v, from, ctx + n, w->seg);
    w->gate_in += n;
    gate_segment(w, v, from, ctx, ctx + n, at_end);
}

/* End of an item or stream: (?:R)\z over the last W + 1 bytes, if gated in. */
static void gate_eod(lw_match_worker *w, scan_view *v)
{
    size_t W = w->m->width;
    size_t tlen = v->history_len < W + 1 ? v->history_len : W + 1;
    if (tlen == 0)
        return;
    uint64_t from = v->base - tlen;
    copy_view(v, from, tlen, w->seg);
    size_t nb = (tlen + 63) / 64;
    gate_mark(w, tlen, nb);
    if (!w->mark[nb - 1])
        return;
    gate_scan g = {v, from, 0, tlen, tlen};
    gate_run(w, w->m->gate_eod_db, &g, 0, tlen);
}

/* ------------------------------------------------------------- compiling */

enum expr_form { EXPR_FULL, EXPR_DELIM, EXPR_EOD };

static char *build_expression(const lw_signature *sig, enum expr_form form)
{
    size_t n = strlen(sig->regex) + strlen(sig->boundary) + 32;
    char *e = malloc(n);
    if (!e)
        return NULL;
    if (form == EXPR_FULL)
        snprintf(e, n, "(?:%s)(?:[^%s]|\\z)", sig->regex, sig->boundary);
    else if (form == EXPR_DELIM)
        snprintf(e, n, "(?:%s)[^%s]", sig->regex, sig->boundary);
    else
        snprintf(e, n, "(?:%s)\\z", sig->regex);
    return e;
}

/* Compiles the signatures idx[0..n) in the given form; ids are set indexes. */
static int compile_db(const lw_signature_set *set, const unsigned int *idx, size_t n,
                      enum expr_form form, unsigned int mode, const lw_match_opts *opts,
                      hs_database_t **db, char *err, size_t errlen)
{
    int rc = LW_ERR_NOMEM;
    char **exprs = calloc(n, sizeof(*exprs));
    unsigned int *flags = calloc(n, sizeof(*flags));
    hs_compile_error_t *cerr = NULL;

    *db = NULL;
    if (!exprs || !flags) {
        snprintf(err, errlen, "out of memory compiling signatures");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(exprs[i] = build_expression(&set->sigs[idx[i]], form))) {
            snprintf(err, errlen, "out of memory compiling signatures");
            goto out;
        }
    }
    if (lw_dbcache_compile(opts ? opts->cache_dir : NULL, (const char *const *)exprs, flags, idx,
                           (unsigned int)n, mode, db, &cerr,
                           opts ? opts->cache_stats : NULL) == HS_SUCCESS) {
        rc = LW_OK;
        goto out;
    }
    if (cerr && cerr->expression >= 0 && (size_t)cerr->expression < n) {
        const lw_signature *s = &set->sigs[idx[cerr->expression]];
        snprintf(err, errlen, "signature %u (line %d): regex rejected: %s", s->id, s->line,
                 cerr->message);
    } else {
        snprintf(err, errlen, "signatures could not be compiled: %s",
                 cerr ? cerr->message : "unknown error");
    }
    hs_free_compile_error(cerr);
    rc = LW_ERR_HYPERSCAN;
out:
    if (exprs)
        for (size_t i = 0; i < n; i++)
            free(exprs[i]);
    free(exprs);
    free(flags);
    return rc;
}

/* Fills g for a prefiltered signature: its width must be bounded. */
static int gate_setup(const lw_signature *sig, uint32_t index, gate *g, char *err, size_t errlen)
{
    char *e = build_expression(sig, EXPR_DELIM);
    hs_expr_info_t *info = NULL;
    hs_compile_error_t *cerr = NULL;
    int rc = LW_ERR_HYPERSCAN;

    if (!e) {
        snprintf(err, errlen, "out of memory compiling signatures");
        return LW_ERR_NOMEM;
    }
    if (hs_expression_info(e, 0, &info, &cerr) != HS_SUCCESS) {
        snprintf(err, errlen, "signature %u (line %d): regex rejected: %s", sig->id, sig->line,
                 cerr ? cerr->message : "unknown error");
        hs_free_compile_error(cerr);
    } else if (info->max_width > LW_GATE_WIDTH_MAX || info->matches_at_eod) {
        snprintf(err, errlen,
                 "signature %u (line %d): a prefilter needs a regex of bounded width (at most "
                 "%d bytes) and no end anchor",
                 sig->id, sig->line, LW_GATE_WIDTH_MAX - 1);
    } else {
        g->sig = index;
        const lw_sig_prefilter *pf = &sig->prefilter;
        g->width = (uint16_t)info->max_width;
        g->count = pf->count;
        g->min = pf->min;
        g->gap = pf->gap;
        g->njoiners = pf->njoiners;
        g->nlead = pf->nlead;
        memcpy(g->joiners, pf->joiners, pf->njoiners);
        memcpy(g->lead, pf->lead, pf->nlead);
        for (unsigned b = 0; b < 256; b++) {
            bool digit = b >= '0' && b <= '9', upper = b >= 'A' && b <= 'Z';
            if (digit || (upper && g->count == LW_SIG_COUNT_ALNUM_UPPER))
                g->cls[b] = CLS_COUNTED;
        }
        for (unsigned k = 0; k < pf->njoiners; k++)
            g->cls[(uint8_t)pf->joiners[k]] |= CLS_JOINER;
        for (unsigned k = 0; k < pf->nlead; k++)
            g->cls[(uint8_t)pf->lead[k]] |= CLS_LEAD;
        rc = LW_OK;
    }
    free(info);
    free(e);
    return rc;
}

/* Puts g (no lead) into a group of its count class whose joiners, with
 * g's added, still fit one lw_prefilter_bytes pass; else into a new one. */
static void assign_group(lw_matcher *m, gate *g)
{
    for (size_t i = 0; i < m->ngroups; i++) {
        gate_group *gr = &m->groups[i];
        if (gr->count != g->count)
            continue;
        uint8_t u[LW_PREFILTER_SET_MAX];
        size_t n = gr->njoiners;
        memcpy(u, gr->joiners, n);
        bool fits = true;
        for (size_t k = 0; k < g->njoiners && fits; k++) {
            if (memchr(u, g->joiners[k], n))
                continue;
            if (n == LW_PREFILTER_SET_MAX)
                fits = false;
            else
                u[n++] = g->joiners[k];
        }
        if (!fits)
            continue;
        memcpy(gr->joiners, u, n);
        gr->njoiners = (uint8_t)n;
        if (g->min < gr->min)
            gr->min = g->min;
        if (g->gap > gr->gap)
            gr->gap = g->gap;
        g->group = (uint16_t)i;
        return;
    }
    gate_group *gr = &m->groups[m->ngroups];
    gr->count = g->count;
    gr->min = g->min;
    gr->gap = g->gap;
    gr->njoiners = g->njoiners;
    memcpy(gr->joiners, g->joiners, g->njoiners);
    g->group = (uint16_t)m->ngroups++;
}

/* The index in m->sets of the byte set bytes[0 .. n), added if there is
 * room; -1 when there is none (the gate then makes that mask on demand). */
static int8_t find_set(lw_matcher *m, const uint8_t *bytes, uint8_t n)
{
    for (size_t k = 0; k < m->nsets; k++)
        if (m->sets[k].n == n && memcmp(m->sets[k].bytes, bytes, n) == 0)
            return (int8_t)k;
    if (m->nsets == LW_PREFILTER_SETS_MAX)
        return -1;
    m->sets[m->nsets].n = n;
    memcpy(m->sets[m->nsets].bytes, bytes, n);
    return (int8_t)m->nsets++;
}

/* Gives every group's joiners and every lead its byte set. */
static void assign_sets(lw_matcher *m)
{
    for (size_t i = 0; i < m->ngroups; i++)
        m->groups[i].set =
            m->groups[i].njoiners ? find_set(m, m->groups[i].joiners, m->groups[i].njoiners) : -1;
    for (size_t i = 0; i < m->ngates; i++)
        m->gates[i].set = m->gates[i].nlead ? find_set(m, m->gates[i].lead, m->gates[i].nlead) : -1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    m->popcnt = __builtin_cpu_supports("popcnt");
#endif
}

int lw_matcher_compile(const lw_signature_set *set, lw_matcher **out, char *err, size_t errlen)
{
    return lw_matcher_compile_opts(set, NULL, out, err, errlen);
}

int lw_matcher_compile_opts(const lw_signature_set *set, const lw_match_opts *opts,
                            lw_matcher **out, char *err, size_t errlen)
{
    int rc = LW_ERR_NOMEM;
    unsigned int *plain = NULL, *gated = NULL;
    size_t nplain = 0;
    lw_matcher *m = NULL;
    bool prefilter = opts ? opts->prefilter : true;

    *out = NULL;
    if (set->count == 0) {
        snprintf(err, errlen, "no signatures to compile");
        return LW_ERR_INVAL;
    }
    m = calloc(1, sizeof(*m));
    plain = calloc(set->count, sizeof(*plain));
    gated = calloc(set->count, sizeof(*gated));
    if (m) {
        m->gates = calloc(set->count, sizeof(*m->gates));
        m->groups = calloc(set->count, sizeof(*m->groups));
    }
    if (!m || !plain || !gated || !m->gates || !m->groups) {
        snprintf(err, errlen, "out of memory compiling signatures");
        goto fail;
    }
    m->set = set;
    m->impl =
        lw_prefilter_resolve(opts ? (lw_prefilter_impl)opts->prefilter_impl : LW_PREFILTER_AUTO);
    for (size_t i = 0; i < set->count; i++) {
        const lw_signature *sig = &set->sigs[i];
        if (!prefilter || !sig->prefilter.set) {
            plain[nplain++] = (unsigned int)i;
            continue;
        }
        gate *g = &m->gates[m->ngates];
        if ((rc = gate_setup(sig, (uint32_t)i, g, err, errlen)) != LW_OK)
            goto fail;
        gated[m->ngates++] = (unsigned int)i;
        if (g->width > m->width)
            m->width = g->width;
        m->letters |= g->count == LW_SIG_COUNT_ALNUM_UPPER;
        if (!g->nlead)
            assign_group(m, g);
    }
    assign_sets(m);
    if (nplain) {
        rc = compile_db(set, plain, nplain, EXPR_FULL, HS_MODE_STREAM, opts, &m->stream_db, err,
                        errlen);
        if (rc)
            goto fail;
        rc = compile_db(set, plain, nplain, EXPR_FULL, HS_MODE_BLOCK, opts, &m->block_db, err,
                        errlen);
        if (rc)
            goto fail;
        if (hs_stream_size(m->stream_db, &m->stream_size) != HS_SUCCESS)
            m->stream_size = 0;
    }
    for (size_t k = 0; k < m->ngates; k++) {
        rc = compile_db(set, &gated[k], 1, EXPR_DELIM, HS_MODE_BLOCK, opts, &m->gates[k].db, err,
                        errlen);
        if (rc)
            goto fail;
        rc = compile_db(set, &gated[k], 1, EXPR_FULL, HS_MODE_BLOCK, opts, &m->gates[k].full_db,
                        err, errlen);
        if (rc)
            goto fail;
    }
    if (m->ngates) {
        rc = compile_db(set, gated, m->ngates, EXPR_EOD, HS_MODE_BLOCK, opts, &m->gate_eod_db, err,
                        errlen);
        if (rc)
            goto fail;
    }
    *out = m;
    rc = LW_OK;
    m = NULL;
fail:
    free(plain);
    free(gated);
    lw_matcher_free(m);
    return rc;
}

void lw_matcher_free(lw_matcher *m)
{
    if (!m)
        return;
    hs_free_database(m->stream_db);
    hs_free_database(m->block_db);
    for (size_t k = 0; m->gates && k < m->ngates; k++) {
        hs_free_database(m->gates[k].db);
        hs_free_database(m->gates[k].full_db);
    }
    hs_free_database(m->gate_eod_db);
    free(m->gates);
    free(m->groups);
    free(m);
}

size_t lw_matcher_stream_size(const lw_matcher *m)
{
    return m->stream_size;
}

size_t lw_matcher_gated_count(const lw_matcher *m)
{
    return m->ngates;
}

lw_match_worker *lw_match_worker_new(const lw_matcher *m)
{
    lw_match_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->m = m;
    randombytes_buf(w->dedup_key, sizeof(w->dedup_key));
    w->block_copy = malloc(BLOCK_COPY_MAX + SCAN_SLACK);
    if (!w->block_copy) {
        free(w);
        return NULL;
    }
    w->gmark = calloc(m->ngates ? m->ngates : 1, LW_GATE_BLOCKS);
    w->marked = calloc(m->ngates ? m->ngates : 1, sizeof(*w->marked));
    if (!w->gmark || !w->marked) {
        lw_match_worker_free(w);
        return NULL;
    }
    const hs_database_t *dbs[] = {m->stream_db, m->block_db, m->gate_eod_db};
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        if (dbs[i] && hs_alloc_scratch(dbs[i], &w->scratch) != HS_SUCCESS) {
            lw_match_worker_free(w);
            return NULL;
        }
    }
    for (size_t k = 0; k < m->ngates; k++) {
        if (hs_alloc_scratch(m->gates[k].db, &w->scratch) != HS_SUCCESS ||
            hs_alloc_scratch(m->gates[k].full_db, &w->scratch) != HS_SUCCESS) {
            lw_match_worker_free(w);
            return NULL;
        }
    }
    return w;
}

void lw_match_worker_free(lw_match_worker *w)
{
    if (!w)
        return;
    hs_free_scratch(w->scratch);
    free(w->block_copy);
    free(w->gmark);
    free(w->marked);
    while (w->pool) {
        void *next;
        memcpy(&next, w->pool, sizeof(next));
        free(w->pool);
        w->pool = next;
    }
    free(w);
}

uint64_t lw_match_worker_candidates(const lw_match_worker *w, size_t kind)
{
    return kind < LW_SIG_MAX_KINDS ? w->candidates[kind] : 0;
}

uint64_t lw_match_worker_validated(const lw_match_worker *w, size_t kind)
{
    return kind < LW_SIG_MAX_KINDS ? w->validated[kind] : 0;
}

uint64_t lw_match_worker_errors(const lw_match_worker *w)
{
    return w->errors;
}

uint64_t lw_match_worker_gate_in(const lw_match_worker *w)
{
    return w->gate_in;
}

uint64_t lw_match_worker_gate_scanned(const lw_match_worker *w)
{
    return w->gate_scanned;
}

/* glibc's allocation of n bytes: an 8-byte header, 16-byte steps, 32 at least. */
static size_t chunk(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

size_t lw_match_stream_footprint(const lw_matcher *m)
{
    return chunk(sizeof(lw_match_stream)) + chunk(LW_MATCH_HISTORY) + lw_matcher_stream_size(m);
}

size_t lw_match_stream_bytes(const lw_matcher *m, const lw_match_stream *s)
{
    return chunk(sizeof(lw_match_stream)) + (s->history ? chunk(LW_MATCH_HISTORY) : 0) +
           lw_matcher_stream_size(m);
}

/* Wipes s's history and gives it back to the pool (or frees it). */
static void release_history(lw_match_worker *w, lw_match_stream *s)
{
    if (!s->history)
        return;
    memset(s->history, 0, LW_MATCH_HISTORY);
    if (w->npool < HISTORY_POOL) {
        memcpy(s->history, &w->pool, sizeof(w->pool));
        w->pool = s->history;
        w->npool++;
    } else {
        free(s->history);
    }
    s->history = NULL;
    s->history_len = 0;
}

/* A history buffer for s from the pool, else the allocator; false when
 * there is none (the stream then walks back within each chunk only). */
static bool take_history(lw_match_worker *w, lw_match_stream *s)
{
    if (w->pool) {
        s->history = w->pool;
        memcpy(&w->pool, s->history, sizeof(w->pool));
        memset(s->history, 0, sizeof(w->pool));
        w->npool--;
        return true;
    }
    s->history = malloc(LW_MATCH_HISTORY);
    if (!s->history)
        w->errors++;
    return s->history != NULL;
}

lw_match_stream *lw_match_stream_open(lw_match_worker *w)
{
    lw_match_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (w->m->stream_db && hs_open_stream(w->m->stream_db, 0, &s->hs) != HS_SUCCESS) {
        free(s);
        return NULL;
    }
    return s;
}

/* Keeps the last LW_MATCH_HISTORY bytes of the stream for walking back. */
static void remember(lw_match_worker *w, lw_match_stream *s, const uint8_t *data, size_t len)
{
    if (!s->history && !take_history(w, s))
        return;
    if (len >= LW_MATCH_HISTORY) {
        memcpy(s->history, data + len - LW_MATCH_HISTORY, LW_MATCH_HISTORY);
        s->history_len = LW_MATCH_HISTORY;
        return;
    }
    size_t keep = s->history_len;
    if (keep + len > LW_MATCH_HISTORY)
        keep = LW_MATCH_HISTORY - len;
    memmove(s->history, s->history + s->history_len - keep, keep);
    memcpy(s->history + keep, data, len);
    s->history_len = (uint16_t)(keep + len);
}

void lw_match_stream_scan(lw_match_worker *w, lw_match_stream *s, const uint8_t *data, size_t len,
                          lw_match_found_fn found, void *ctx)
{
    if (len == 0)
        return;
    scan_view v = {w, data, len, s->base, s->history, s->history_len, found, ctx, false, 0, 0, 0};
    /* Segments bound the gate's buffers and keep the reports of one
     * segment together for ordering. */
    for (size_t done = 0; done < len;) {
        size_t piece = len - done < LW_GATE_SEG ? len - done : LW_GATE_SEG;
        if (s->hs) {
            const uint8_t *p = data + done;
            size_t head = piece;
            if (ends_near_page(p, piece))
                head = piece > SCAN_TAIL ? piece - SCAN_TAIL : 0;
            if (head && hs_scan_stream(s->hs, (const char *)p, (unsigned int)head, 0, w->scratch,
                                       collect, &v) != HS_SUCCESS)
                w->errors++;
            if (head < piece) {
                memcpy(w->tail, p + head, piece - head);
                if (hs_scan_stream(s->hs, (const char *)w->tail, (unsigned int)(piece - head), 0,
                                   w->scratch, collect, &v) != HS_SUCCESS)
                    w->errors++;
            }
        }
        if (w->m->ngates)
            gate_piece(w, &v, done, piece, 0);
        flush(&v);
        done += piece;
    }
    s->base += len;
    remember(w, s, data, len);
}

void lw_match_stream_gap(lw_match_worker *w, lw_match_stream *s)
{
    /* No scratch and no callback: end-anchored reports are dropped, since a
     * value cut by the hole may have gone on after it. */
    if (s->hs)
        hs_reset_stream(s->hs, 0, NULL, NULL, NULL);
    s->base = 0;
    release_history(w, s);
}

/* The end-of-data reports of the stream database and of the gate. */
static void report_end(lw_match_worker *w, lw_match_stream *s, scan_view *v, int close)
{
    int rc = HS_SUCCESS;
    if (s->hs && close)
        rc = hs_close_stream(s->hs, w->scratch, v->found ? collect : NULL, v->found ? v : NULL);
    else if (s->hs)
        rc = hs_reset_stream(s->hs, 0, w->scratch, collect, v);
    if (rc != HS_SUCCESS)
        w->errors++;
    if (v->found && w->m->ngates && s->base > 0)
        gate_eod(w, v);
    if (v->found)
        flush(v);
    w->npending = 0;
}

void lw_match_stream_end_item(lw_match_worker *w, lw_match_stream *s, lw_match_found_fn found,
                              void *ctx)
{
    if (s->base == 0)
        return; /* nothing scanned since the last item */
    scan_view v = {w, NULL, 0, s->base, s->history, s->history_len, found, ctx, false, 0, 0, 0};
    /* hs_reset_stream reports the end-of-data (\z) matches, then resets. */
    report_end(w, s, &v, 0);
    s->base = 0;
    release_history(w, s);
}

void lw_match_stream_close(lw_match_worker *w, lw_match_stream *s, lw_match_found_fn found,
                           void *ctx)
{
    if (!s)
        return;
    scan_view v = {w, NULL, 0, s->base, s->history, s->history_len, found, ctx, false, 0, 0, 0};
    report_end(w, s, &v, 1);
    release_history(w, s);
    free(s);
}

void lw_match_block_scan(lw_match_worker *w, const uint8_t *data, size_t len,
                         lw_match_found_fn found, void *ctx)
{
    if (len == 0 || len > UINT32_MAX)
        return;
    scan_view v = {w, data, len, 0, NULL, 0, found, ctx, false, 0, 0, 0};
    const uint8_t *scan = data;
    if (ends_near_page(data, len) && len <= BLOCK_COPY_MAX) {
        memcpy(w->block_copy, data, len);
        scan = w->block_copy;
    }
    if (w->m->block_db && hs_scan(w->m->block_db, (const char *)scan, (unsigned int)len, 0,
                                  w->scratch, collect, &v) != HS_SUCCESS)
        w->errors++;
    for (size_t done = 0; w->m->ngates && done < len;) {
        size_t piece = len - done < LW_GATE_SEG ? len - done : LW_GATE_SEG;
        gate_piece(w, &v, done, piece, done + piece == len);
        done += piece;
    }
    flush(&v);
}
