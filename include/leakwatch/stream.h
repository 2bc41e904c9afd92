/*
 * stream.h - TCP reassembly: turning the segments of one flow direction into
 * ordered byte runs.
 *
 * Per direction the stream knows the next expected sequence number (from
 * the SYN, or from the first data segment when the capture starts
 * mid-connection) and:
 *   - delivers an in-order segment straight from the capture buffer (no
 *     copy, no allocation), then any buffered segments it made contiguous;
 *   - buffers an out-of-order segment (a copy) until the hole before it is
 *     filled, within a per-direction cap (bytes and segments) and a
 *     per-worker memcap shared by all flows;
 *   - never delivers a byte twice: retransmissions and overlaps keep the
 *     first copy seen (the policy of most TCP receivers for data already
 *     queued); an overlap whose bytes differ from the buffered copy is
 *     counted as stream.overlap_mismatch and flagged on the direction, since
 *     it is how evasion looks;
 *   - declares a gap (skips the hole, marks the next run `gap_before`, counts
 *     stream.gap) when the hole cannot be filled any more: the peer has
 *     acknowledged bytes the sensor never saw, a cap would be exceeded, the
 *     snaplen cut the segment, or the direction is flushed at close.
 * Sequence numbers compare modulo 2^32 (RFC 9293 section 3.4), so a
 * connection that wraps is handled.
 *
 * Work per segment is bounded by the per-direction segment cap; memory by
 * the caps. Nothing here reads a clock.
 */
#ifndef LEAKWATCH_STREAM_H
#define LEAKWATCH_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

#define LW_STREAM_COUNTERS(X)                                                                      \
    X(SEGMENTS, "stream.segments")                                                                 \
    X(BYTES, "stream.bytes_delivered")                                                             \
    X(MIDSTREAM, "stream.midstream_pickup")                                                        \
    X(RETRANSMIT, "stream.retransmission")                                                         \
    X(OVERLAP, "stream.overlap")                                                                   \
    X(OVERLAP_MISMATCH, "stream.overlap_mismatch")                                                 \
    X(OOO_SEGMENTS, "stream.out_of_order_segments")                                                \
    X(GAP, "stream.gap")                                                                           \
    X(ACK_GAP, "stream.gap_acked_unseen")                                                          \
    X(FLOW_CAP, "stream.flow_cap_reached")                                                         \
    X(MEMCAP, "stream.memcap_reached")                                                             \
    X(BUFFERED_BYTES, "stream.buffered_bytes")                                                     \
    X(DEPTH_REACHED, "stream.depth_reached")                                                       \
    X(AFTER_CLOSE, "stream.data_after_close")                                                      \
    X(OUT_OF_WINDOW, "stream.out_of_window")

#define LW_STREAM_ENUM_(name, str) LW_STREAM_CTR_##name,
enum lw_stream_counter { LW_STREAM_COUNTERS(LW_STREAM_ENUM_) LW_STREAM_CTR_MAX };
#undef LW_STREAM_ENUM_

extern const char *const lw_stream_counter_names[LW_STREAM_CTR_MAX];

/* Per-worker settings, accounting and counters shared by all streams. */
typedef struct lw_stream_pool {
    uint64_t memcap;       /* stream.memcap: buffered bytes across all flows */
    uint32_t max_buffer;   /* stream.max_buffer: buffered bytes per direction */
    uint32_t max_segments; /* stream.max_segments: buffered segments per direction */
    uint64_t depth;        /* stream.depth: bytes delivered per direction; 0 = all */
    uint64_t used;         /* buffered bytes now (plus per-segment overhead) */
    uint64_t counters[LW_STREAM_CTR_MAX];
} lw_stream_pool;

/* What one buffered segment costs in pool->used beyond its payload bytes
 * (its record and the allocator's header), so that a flood of tiny
 * segments is bounded by the memcap as well as a few large ones. A cap of
 * 0 (memcap, max_buffer or max_segments) means nothing is buffered: every
 * out-of-order segment then takes the cap policy of stream.c. */
#define LW_STREAM_SEG_OVERHEAD 64u

struct lw_stream_seg; /* a buffered out-of-order segment (stream.c) */

typedef struct lw_stream_dir {
    uint32_t next_seq;         /* next byte expected */
    uint32_t fin_seq;          /* sequence number of the FIN, when fin is set */
    bool seq_known;            /* next_seq is valid */
    bool fin;                  /* FIN seen: data at or beyond fin_seq is not delivered */
    bool hole;                 /* bytes were lost after the last run delivered */
    bool overlap_mismatch;     /* an overlap carried different bytes (sticky) */
    bool depth_reached;        /* private: stream.depth_reached was counted */
    uint16_t seg_count;        /* buffered segments */
    uint32_t buffered;         /* buffered bytes */
    uint64_t delivered;        /* bytes delivered (for stream.depth) */
    struct lw_stream_seg *ooo; /* buffered segments, sorted by sequence */
} lw_stream_dir;

typedef struct lw_stream {
    lw_stream_dir dir[2];
} lw_stream;

/* One ordered run of bytes for a direction. `gap_before` is set when bytes
 * between the previous run and this one are missing. `data` is valid only
 * during the call. */
typedef void (*lw_stream_deliver_fn)(void *ctx, int dir, const uint8_t *data, size_t len,
                                     bool gap_before);

/*
 * Takes one decoded TCP segment of direction dir (its ACK also tells about
 * the other direction: bytes the peer acknowledged but the sensor never saw
 * are declared a gap there) and delivers what became contiguous. Runs of
 * the other direction (from the ACK) come first, so `deliver` may see
 * either direction during one call. The stream must start zeroed and end
 * with lw_stream_release (or it leaks its buffered records).
 *
 * Data more than 2^30 ahead of next_seq, and a FIN behind next_seq or that
 * far ahead, are outside any window: counted as stream.out_of_window and
 * ignored, so a forged segment cannot move or blind the stream.
 */
void lw_stream_segment(lw_stream_pool *pool, lw_stream *s, int dir, const lw_packet *p,
                       lw_stream_deliver_fn deliver, void *ctx);

/* Delivers everything still buffered for dir, in order, skipping holes (with
 * gap marks); used when the flow closes or times out. */
void lw_stream_flush(lw_stream_pool *pool, lw_stream *s, int dir, lw_stream_deliver_fn deliver,
                     void *ctx);

/* Frees what is buffered in both directions without delivering it. */
void lw_stream_release(lw_stream_pool *pool, lw_stream *s);

#endif
