/*
 * stream.c - TCP reassembly per flow direction (see stream.h).
 *
 * State per direction: next_seq, the first byte not yet delivered or given
 * up, and a list of buffered records (stream_internal.h), sorted by
 * sequence, holding copies of bytes that arrived ahead of next_seq.
 *
 * Invariants, checked by the unit test and the fuzz harness after every
 * call:
 *   - every byte below next_seq was delivered once or declared lost (a
 *     gap); no byte is delivered twice;
 *   - the records are disjoint and all start after next_seq, so the buffer
 *     never holds a byte twice and a record at next_seq is always drained
 *     at once;
 *   - no record reaches fin_seq, no record lies more than WINDOW past
 *     next_seq, so every buffered byte is within 2^31 of next_seq and the
 *     signed difference of two sequence numbers orders them (RFC 9293
 *     section 3.4);
 *   - pool->used is the sum over all records of their bytes plus
 *     LW_STREAM_SEG_OVERHEAD, and never exceeds pool->memcap; the gauge
 *     stream.buffered_bytes is the sum of their bytes;
 *   - stream.gap counts hole marks: it equals the number of runs delivered
 *     with gap_before plus the directions whose `hole` is still pending.
 *
 * Overlaps keep the first copy: bytes already delivered (below next_seq)
 * cannot be compared, as they were never copied; bytes still buffered are
 * compared with the new copy, and a difference is stream.overlap_mismatch.
 * A segment that brings no new sequence space is a retransmission; one
 * that brings some is an overlap when part of it was old.
 *
 * The in-order path delivers from the capture buffer and never allocates.
 * An out-of-order segment is copied into one record per hole of the buffer
 * it fills (usually one). When that would pass a cap (max_segments or
 * max_buffer for the direction, memcap for the worker) the cap is counted
 * and the direction gives up on its holes: the records before the segment
 * are delivered in order with gap marks, the segment follows as in-order
 * data (with the buffered first copies of any bytes it overlaps), then the
 * rest of the buffer, so new data is never dropped and no byte is buffered
 * over the cap. A failed allocation takes the same policy as the memcap.
 *
 * A peer's acknowledgment of bytes the sensor never saw proves they will
 * not come (the capture lost them): the hole up to the ACK is given up.
 * Bytes the snaplen cut are lost too: in order, next_seq moves past them
 * and the next run carries a gap mark; a buffered record keeps its cut
 * tail as `lost` sequence space, a hole once the record is delivered.
 *
 * Work per segment: one walk of at most max_segments records to plan, one
 * to insert; records are freed once delivered. Nothing here reads a clock.
 */
#include "leakwatch/stream.h"

#include <stdlib.h>
#include <string.h>

#include "stream_internal.h"

#define LW_STREAM_NAME_(name, str) str,
const char *const lw_stream_counter_names[LW_STREAM_CTR_MAX] = {
    LW_STREAM_COUNTERS(LW_STREAM_NAME_)};
#undef LW_STREAM_NAME_

/* Data further ahead of next_seq than this is not buffered, and an ACK
 * further ahead is not believed: no receive window is that large (RFC 7323
 * caps a scaled window at 2^30), and it keeps every buffered byte within
 * 2^31 of next_seq, where sequence comparison is defined. */
#define WINDOW (1u << 30)

/* Longest segment taken: more than any IP packet carries (a jumbogram
 * declaring more is cut to this, the rest counted as lost). */
#define MAX_WIRE (1u << 24)

/* Where the deliveries of one direction go. */
typedef struct out {
    lw_stream_pool *pool;
    lw_stream_dir *d;
    int dir;
    lw_stream_deliver_fn deliver;
    void *ctx;
} out;

/* The part of a segment being taken: sequence range [seq, end), of which
 * [seq, cap_end) was captured into payload. */
typedef struct span {
    uint32_t seq;
    uint32_t end;
    uint32_t cap_end;
    const uint8_t *payload;
} span;

/* What a segment would change, from one walk of the buffer. */
typedef struct plan {
    uint32_t fresh;  /* sequence space neither delivered nor buffered */
    uint32_t old;    /* sequence space already delivered or buffered */
    uint32_t pieces; /* holes of the buffer the segment fills */
    uint32_t stored; /* captured bytes those pieces would copy */
    bool mismatch;   /* a buffered byte differs from the new copy */
} plan;

static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static bool seq_lt(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) <= 0;
}

static uint32_t seq_min(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? a : b;
}

static uint32_t seq_max(uint32_t a, uint32_t b)
{
    return seq_lt(a, b) ? b : a;
}

static uint32_t seg_end(const struct lw_stream_seg *g)
{
    return g->seq + g->len + g->lost;
}

/* Captured bytes of sp within [a, b). */
static uint32_t captured(const span *sp, uint32_t a, uint32_t b)
{
    if (!seq_lt(a, sp->cap_end))
        return 0;
    return seq_min(b, sp->cap_end) - a;
}

static void ctr(const out *o, enum lw_stream_counter c)
{
    o->pool->counters[c]++;
}

static void depth_hit(const out *o)
{
    if (!o->d->depth_reached) {
        o->d->depth_reached = true;
        ctr(o, LW_STREAM_CTR_DEPTH_REACHED);
    }
}

/* Bytes were lost before the next run: one gap mark, counted once. */
static void mark_hole(const out *o)
{
    if (!o->d->hole) {
        o->d->hole = true;
        ctr(o, LW_STREAM_CTR_GAP);
    }
}

static bool depth_done(const lw_stream_pool *pool, const lw_stream_dir *d)
{
    return pool->depth && d->delivered >= pool->depth;
}

/* Hands one run to the consumer, cut at stream.depth. */
static void emit(const out *o, const uint8_t *data, uint32_t len)
{
    lw_stream_dir *d = o->d;
    uint64_t depth = o->pool->depth;

    if (len == 0)
        return;
    if (depth) {
        if (d->delivered >= depth) {
            depth_hit(o);
            return;
        }
        if (len > depth - d->delivered) {
            len = (uint32_t)(depth - d->delivered);
            depth_hit(o);
        }
    }
    bool gap = d->hole;
    d->hole = false;
    d->delivered += len;
    o->pool->counters[LW_STREAM_CTR_BYTES] += len;
    o->deliver(o->ctx, o->dir, data, len, gap);
}

static void seg_free(lw_stream_pool *pool, lw_stream_dir *d, struct lw_stream_seg *g)
{
    pool->used -= (uint64_t)g->len + LW_STREAM_SEG_OVERHEAD;
    pool->counters[LW_STREAM_CTR_BUFFERED_BYTES] -= g->len;
    d->buffered -= g->len;
    d->seg_count--;
    free(g);
}

static void free_dir(lw_stream_pool *pool, lw_stream_dir *d)
{
    struct lw_stream_seg *g;
    while ((g = d->ooo) != NULL) {
        d->ooo = g->next;
        seg_free(pool, d, g);
    }
}

/* Delivers the records that start at or before next_seq: the part of each
 * beyond next_seq, then its cut tail as a hole. */
static void drain(const out *o)
{
    lw_stream_dir *d = o->d;
    struct lw_stream_seg *g;

    while ((g = d->ooo) != NULL && seq_le(g->seq, d->next_seq)) {
        uint32_t data_end = g->seq + g->len;
        uint32_t end = seg_end(g);
        if (seq_lt(d->next_seq, data_end)) {
            uint32_t off = d->next_seq - g->seq;
            emit(o, g->data + off, g->len - off);
        }
        if (seq_lt(seq_max(d->next_seq, data_end), end))
            mark_hole(o);
        d->next_seq = seq_max(d->next_seq, end);
        d->ooo = g->next;
        seg_free(o->pool, d, g);
    }
}

/* Gives up the holes before `limit` (every hole, when `all`): the records
 * below it are delivered in order, each hole skipped with a gap mark, and
 * next_seq reaches at least limit. */
static void give_up(const out *o, uint32_t limit, bool all)
{
    lw_stream_dir *d = o->d;
    struct lw_stream_seg *g;

    while ((g = d->ooo) != NULL && (all || seq_lt(g->seq, limit))) {
        if (seq_lt(d->next_seq, g->seq)) {
            mark_hole(o);
            d->next_seq = g->seq;
        }
        drain(o);
    }
    if (!all && seq_lt(d->next_seq, limit)) {
        mark_hole(o);
        d->next_seq = limit;
    }
    drain(o);
}

/* Walks the buffer once over [lo, sp->end): how much is new, how much
 * old, which holes the segment would fill, and whether the bytes it
 * shares with buffered records differ. */
static void classify(const lw_stream_dir *d, const span *sp, uint32_t lo, plan *pl)
{
    uint32_t pos = lo;

    memset(pl, 0, sizeof(*pl));
    pl->old = lo - sp->seq;
    for (const struct lw_stream_seg *g = d->ooo; g && seq_lt(pos, sp->end); g = g->next) {
        if (!seq_lt(g->seq, sp->end))
            break;
        uint32_t gend = seg_end(g);
        if (seq_le(gend, pos))
            continue;
        if (seq_lt(pos, g->seq)) {
            pl->fresh += g->seq - pos;
            pl->pieces++;
            pl->stored += captured(sp, pos, g->seq);
            pos = g->seq;
        }
        uint32_t ov_end = seq_min(gend, sp->end);
        pl->old += ov_end - pos;
        /* only bytes captured in both copies can be compared */
        uint32_t cmp_end = seq_min(ov_end, seq_min(g->seq + g->len, sp->cap_end));
        if (seq_lt(pos, cmp_end) &&
            memcmp(g->data + (pos - g->seq), sp->payload + (pos - sp->seq), cmp_end - pos) != 0)
            pl->mismatch = true;
        pos = ov_end;
    }
    if (seq_lt(pos, sp->end)) {
        pl->fresh += sp->end - pos;
        pl->pieces++;
        pl->stored += captured(sp, pos, sp->end);
    }
}

static struct lw_stream_seg *seg_new(const out *o, const span *sp, uint32_t a, uint32_t b)
{
    uint32_t len = captured(sp, a, b);
    struct lw_stream_seg *g = malloc(sizeof(*g) + len);
    if (!g)
        return NULL;
    g->next = NULL;
    g->seq = a;
    g->len = len;
    g->lost = (b - a) - len;
    if (len)
        memcpy(g->data, sp->payload + (a - sp->seq), len);
    o->pool->used += (uint64_t)len + LW_STREAM_SEG_OVERHEAD;
    o->pool->counters[LW_STREAM_CTR_BUFFERED_BYTES] += len;
    o->d->buffered += len;
    o->d->seg_count++;
    return g;
}

/* Copies the parts of an out-of-order segment that fill holes of the
 * buffer; the bytes it shares with records stay as first seen. False when
 * an allocation failed (what was inserted stays, and is consistent). */
static bool insert(const out *o, const span *sp)
{
    struct lw_stream_seg **link = &o->d->ooo;
    uint32_t pos = sp->seq;

    while (seq_lt(pos, sp->end)) {
        struct lw_stream_seg *g = *link;
        if (g && seq_le(seg_end(g), pos)) {
            link = &g->next;
            continue;
        }
        if (!g || seq_lt(pos, g->seq)) {
            uint32_t piece_end = g ? seq_min(g->seq, sp->end) : sp->end;
            struct lw_stream_seg *n = seg_new(o, sp, pos, piece_end);
            if (!n)
                return false;
            n->next = g;
            *link = n;
            link = &n->next;
            pos = piece_end;
            continue;
        }
        pos = seq_min(seg_end(g), sp->end);
        link = &g->next;
    }
    return true;
}

/* Delivers a segment that starts at or before next_seq: its new bytes
 * straight from the capture buffer, interleaved with the buffered first
 * copies of bytes it overlaps, its cut tail as a hole; then whatever
 * became contiguous. */
static void in_order(const out *o, const span *sp)
{
    lw_stream_dir *d = o->d;

    while (seq_lt(d->next_seq, sp->end)) {
        uint32_t pos = d->next_seq;
        const struct lw_stream_seg *g = d->ooo;
        if (g && seq_le(g->seq, pos)) {
            drain(o);
            continue;
        }
        uint32_t lim = (g && seq_lt(g->seq, sp->end)) ? g->seq : sp->end;
        if (seq_lt(pos, sp->cap_end))
            emit(o, sp->payload + (pos - sp->seq), seq_min(lim, sp->cap_end) - pos);
        if (seq_lt(seq_max(pos, sp->cap_end), lim))
            mark_hole(o);
        d->next_seq = lim;
    }
    drain(o);
}

/* A cap would be passed: give up the holes (see the essay above). */
static void cap_policy(const out *o, const span *sp)
{
    give_up(o, sp->seq, false);
    in_order(o, sp);
    give_up(o, 0, true);
}

/* When the FIN arrives, records at or beyond it will never be delivered. */
static void set_fin(const out *o, uint32_t fin_seq)
{
    lw_stream_dir *d = o->d;
    struct lw_stream_seg **link = &d->ooo;
    struct lw_stream_seg *g;
    bool cut = false;

    d->fin = true;
    d->fin_seq = fin_seq;
    while ((g = *link) != NULL) {
        if (seq_le(fin_seq, g->seq)) {
            *link = g->next;
            seg_free(o->pool, d, g);
            cut = true;
            continue;
        }
        if (seq_lt(fin_seq, seg_end(g))) {
            uint32_t keep = fin_seq - g->seq;
            if (keep < g->len) {
                uint32_t drop = g->len - keep;
                o->pool->used -= drop;
                o->pool->counters[LW_STREAM_CTR_BUFFERED_BYTES] -= drop;
                d->buffered -= drop;
                g->len = keep;
            }
            g->lost = keep - g->len;
            cut = true;
        }
        link = &g->next;
    }
    if (cut)
        ctr(o, LW_STREAM_CTR_AFTER_CLOSE);
}

/* The peer acknowledged bytes of direction o up to ack: those still
 * missing were lost by the capture. */
static void ack_gap(const out *o, uint32_t ack)
{
    lw_stream_dir *d = o->d;

    if (!d->seq_known)
        return;
    /* the FIN takes one sequence number that carries no byte */
    if (d->fin && seq_lt(d->fin_seq, ack))
        ack = d->fin_seq;
    int32_t ahead = seq_diff(ack, d->next_seq);
    if (ahead <= 0 || (uint32_t)ahead > WINDOW)
        return;
    ctr(o, LW_STREAM_CTR_ACK_GAP);
    give_up(o, ack, false);
    if (depth_done(o->pool, d))
        free_dir(o->pool, d);
}

void lw_stream_segment(lw_stream_pool *pool, lw_stream *s, int dir, const lw_packet *p,
                       lw_stream_deliver_fn deliver, void *ctx)
{
    dir &= 1;
    out o = {pool, &s->dir[dir], dir, deliver, ctx};
    lw_stream_dir *d = o.d;
    uint8_t flags = p->tcp_flags;

    if (flags & LW_TCP_ACK) {
        out peer = {pool, &s->dir[dir ^ 1], dir ^ 1, deliver, ctx};
        ack_gap(&peer, p->tcp_ack);
    }

    uint32_t seq = p->tcp_seq;
    if (flags & LW_TCP_SYN) {
        /* The SYN takes one sequence number; data on it (TFO) follows. A
         * SYN on a direction that already delivered or buffered data is
         * not believed about the sequence: the flow table decides port
         * reuse. */
        if (!d->seq_known || (d->delivered == 0 && d->seg_count == 0)) {
            d->next_seq = seq + 1;
            d->seq_known = true;
        }
        seq++;
    }

    uint32_t cap = p->payload ? p->payload_len : 0;
    uint32_t wire = p->payload_wire_len > cap ? p->payload_wire_len : cap;
    if (wire > MAX_WIRE)
        wire = MAX_WIRE;
    if (cap > wire)
        cap = wire;
    if ((flags & LW_TCP_FIN) && !d->fin) {
        /* A FIN behind next_seq or far ahead of it is not the peer's close
         * (it would be outside any window): believing it would let a forged
         * FIN blind the stream. */
        uint32_t fin_seq = seq + wire;
        if (d->seq_known &&
            (seq_lt(fin_seq, d->next_seq) || seq_diff(fin_seq, d->next_seq) > (int32_t)WINDOW))
            ctr(&o, LW_STREAM_CTR_OUT_OF_WINDOW);
        else
            set_fin(&o, fin_seq);
    }
    if (wire == 0)
        return;
    pool->counters[LW_STREAM_CTR_SEGMENTS]++;

    if (!d->seq_known) {
        /* Capture started after the handshake: pick the stream up here. */
        d->next_seq = seq;
        d->seq_known = true;
        ctr(&o, LW_STREAM_CTR_MIDSTREAM);
    }

    span sp = {seq, seq + wire, seq + cap, p->payload};
    if (d->fin && seq_lt(d->fin_seq, sp.end)) {
        ctr(&o, LW_STREAM_CTR_AFTER_CLOSE);
        if (seq_le(d->fin_seq, seq))
            return;
        sp.end = d->fin_seq;
        sp.cap_end = seq_min(sp.cap_end, sp.end);
    }
    if (seq_le(sp.end, d->next_seq)) {
        ctr(&o, LW_STREAM_CTR_RETRANSMIT);
        return;
    }
    if (seq_diff(seq, d->next_seq) > (int32_t)WINDOW) {
        ctr(&o, LW_STREAM_CTR_OUT_OF_WINDOW);
        return;
    }
    if (depth_done(pool, d)) {
        depth_hit(&o);
        free_dir(pool, d);
        return;
    }

    uint32_t lo = seq_lt(seq, d->next_seq) ? d->next_seq : seq;
    if (lo != d->next_seq && pool->depth) {
        /* Bytes that would land past stream.depth once the hole fills are
         * not worth a copy. */
        uint64_t room = pool->depth - d->delivered;
        if (room < WINDOW) {
            uint32_t limit = d->next_seq + (uint32_t)room;
            if (seq_le(limit, lo)) {
                depth_hit(&o);
                return;
            }
            if (seq_lt(limit, sp.end)) {
                depth_hit(&o);
                sp.end = limit;
                sp.cap_end = seq_min(sp.cap_end, limit);
            }
        }
    }

    plan pl;
    classify(d, &sp, lo, &pl);
    if (pl.fresh == 0)
        ctr(&o, LW_STREAM_CTR_RETRANSMIT);
    else if (pl.old)
        ctr(&o, LW_STREAM_CTR_OVERLAP);
    if (pl.mismatch) {
        ctr(&o, LW_STREAM_CTR_OVERLAP_MISMATCH);
        d->overlap_mismatch = true;
    }
    if (pl.fresh == 0)
        return;

    if (lo == d->next_seq) {
        in_order(&o, &sp);
    } else {
        uint32_t max_segs = pool->max_segments < UINT16_MAX ? pool->max_segments : UINT16_MAX;
        ctr(&o, LW_STREAM_CTR_OOO_SEGMENTS);
        if ((uint64_t)d->seg_count + pl.pieces > max_segs ||
            (uint64_t)d->buffered + pl.stored > pool->max_buffer) {
            ctr(&o, LW_STREAM_CTR_FLOW_CAP);
            cap_policy(&o, &sp);
        } else if (pool->used + pl.stored + (uint64_t)pl.pieces * LW_STREAM_SEG_OVERHEAD >
                   pool->memcap) {
            ctr(&o, LW_STREAM_CTR_MEMCAP);
            cap_policy(&o, &sp);
        } else if (!insert(&o, &sp)) {
            ctr(&o, LW_STREAM_CTR_MEMCAP);
            cap_policy(&o, &sp);
        }
    }
    if (depth_done(pool, d))
        free_dir(pool, d);
}

void lw_stream_flush(lw_stream_pool *pool, lw_stream *s, int dir, lw_stream_deliver_fn deliver,
                     void *ctx)
{
    dir &= 1;
    out o = {pool, &s->dir[dir], dir, deliver, ctx};
    give_up(&o, 0, true);
}

void lw_stream_release(lw_stream_pool *pool, lw_stream *s)
{
    free_dir(pool, &s->dir[0]);
    free_dir(pool, &s->dir[1]);
}
