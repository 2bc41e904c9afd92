/*
 * stream.h - turning TCP segments of one flow into ordered byte runs.
 *
 * This is the in-order tracker the first pipeline needs; out-of-order
 * buffering comes with full reassembly. Per direction it knows the next
 * expected sequence number (from the SYN, or from the first data segment
 * when the capture starts mid-connection) and delivers only bytes it has not
 * delivered before:
 *   - a retransmission or overlap: the bytes already delivered are skipped
 *     (first copy wins) and only the new tail is delivered;
 *   - a segment beyond the expected sequence (a lost or not-yet-arrived
 *     segment, a snaplen cut): the hole is skipped, the run is delivered
 *     with `gap_before` set so the consumer does not join bytes across the
 *     hole, and stream.gap is counted.
 * Sequence numbers compare modulo 2^32 (RFC 793/9293 arithmetic), so a
 * connection that wraps is handled.
 *
 * No allocation: the state is a small struct the caller embeds.
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
    X(GAP, "stream.gap")                                                                           \
    X(DEPTH_REACHED, "stream.depth_reached")                                                       \
    X(AFTER_CLOSE, "stream.data_after_close")

#define LW_STREAM_ENUM_(name, str) LW_STREAM_CTR_##name,
enum lw_stream_counter { LW_STREAM_COUNTERS(LW_STREAM_ENUM_) LW_STREAM_CTR_MAX };
#undef LW_STREAM_ENUM_

extern const char *const lw_stream_counter_names[LW_STREAM_CTR_MAX];

typedef struct lw_stream_dir {
    uint32_t next_seq;  /* next byte expected */
    bool seq_known;     /* next_seq is valid */
    bool fin;           /* FIN seen: later data is counted, not delivered */
    bool hole;          /* bytes were lost after the last run delivered */
    uint64_t delivered; /* bytes delivered (for stream.depth) */
} lw_stream_dir;

typedef struct lw_stream {
    lw_stream_dir dir[2];
} lw_stream;

/* One ordered run of bytes for a direction. `gap_before` is set when bytes
 * between the previous run and this one are missing. */
typedef void (*lw_stream_deliver_fn)(void *ctx, int dir, const uint8_t *data, size_t len,
                                     bool gap_before);

/*
 * Takes one decoded TCP segment of direction dir and delivers its new bytes
 * (at most depth bytes per direction in all; depth 0 = no limit).
 */
void lw_stream_segment(lw_stream *s, int dir, const lw_packet *p, uint64_t depth,
                       uint64_t *counters, lw_stream_deliver_fn deliver, void *ctx);

#endif
