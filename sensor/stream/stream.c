/*
 * stream.c - in-order TCP byte delivery per direction (see stream.h).
 *
 * Invariant: for each direction, every byte with sequence number below
 * next_seq has been delivered or declared lost (gap); nothing is delivered
 * twice. Sequence comparisons use the signed difference of two uint32
 * values, valid while the two are less than 2^31 apart (RFC 9293 3.4).
 */
#include "leakwatch/stream.h"

#define LW_STREAM_NAME_(name, str) str,
const char *const lw_stream_counter_names[LW_STREAM_CTR_MAX] = {
    LW_STREAM_COUNTERS(LW_STREAM_NAME_)};
#undef LW_STREAM_NAME_

static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static void deliver_limited(lw_stream_dir *d, int dir, const uint8_t *data, size_t len, bool gap,
                            uint64_t depth, uint64_t *ctr, lw_stream_deliver_fn deliver, void *ctx)
{
    if (depth) {
        if (d->delivered >= depth)
            return;
        if (len > depth - d->delivered) {
            len = (size_t)(depth - d->delivered);
            ctr[LW_STREAM_CTR_DEPTH_REACHED]++;
        }
    }
    if (len == 0)
        return;
    d->delivered += len;
    ctr[LW_STREAM_CTR_BYTES] += len;
    deliver(ctx, dir, data, len, gap);
}

void lw_stream_segment(lw_stream *s, int dir, const lw_packet *p, uint64_t depth, uint64_t *ctr,
                       lw_stream_deliver_fn deliver, void *ctx)
{
    lw_stream_dir *d = &s->dir[dir & 1];
    uint32_t seq = p->tcp_seq;

    if (p->tcp_flags & LW_TCP_SYN) {
        /* The SYN consumes one sequence number; data on a SYN (TFO) follows it. */
        d->next_seq = seq + 1;
        d->seq_known = true;
        seq += 1;
    }
    uint32_t wire_len = p->payload_wire_len;
    uint32_t cap_len = p->payload_len;
    if (wire_len == 0)
        goto flags;

    ctr[LW_STREAM_CTR_SEGMENTS]++;
    if (d->fin) {
        ctr[LW_STREAM_CTR_AFTER_CLOSE]++;
        return;
    }

    bool gap = false;
    if (!d->seq_known) {
        /* Capture started after the handshake: pick the stream up here. */
        d->next_seq = seq;
        d->seq_known = true;
        ctr[LW_STREAM_CTR_MIDSTREAM]++;
    }

    int32_t ahead = seq_diff(seq, d->next_seq);
    uint32_t skip = 0;
    if (ahead > 0) {
        /* Bytes [next_seq, seq) never arrived (or not yet): skip the hole. */
        gap = true;
        ctr[LW_STREAM_CTR_GAP]++;
        d->next_seq = seq;
    } else if (ahead < 0) {
        uint32_t behind = (uint32_t)(-(int64_t)ahead);
        if (behind >= wire_len) {
            ctr[LW_STREAM_CTR_RETRANSMIT]++;
            goto flags;
        }
        /* Overlap: the first copy was delivered; take only the new tail. */
        ctr[LW_STREAM_CTR_OVERLAP]++;
        skip = behind;
    }

    if (skip < cap_len) {
        deliver_limited(d, dir, p->payload + skip, cap_len - skip, gap || d->hole, depth, ctr,
                        deliver, ctx);
        d->hole = false;
    } else if (gap) {
        d->hole = true;
    }
    /* Bytes the snaplen cut off still advance the sequence; the consumer
     * learns of the hole through gap_before on the next run. */
    d->next_seq += wire_len - skip;
    if (cap_len < wire_len) {
        ctr[LW_STREAM_CTR_GAP]++;
        d->hole = true;
    }

flags:
    if (p->tcp_flags & LW_TCP_FIN)
        d->fin = true;
}
