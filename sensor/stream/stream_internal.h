/*
 * stream_internal.h - the buffered segment record of sensor/stream/.
 *
 * Not a public header: stream.c owns these records; the unit test and the
 * fuzz harness include it only to check the buffer's invariants from
 * outside (sorted, disjoint, all after next_seq, tallies that add up).
 *
 * A record covers the sequence range [seq, seq + len + lost): `len`
 * captured bytes stored in data[], then `lost` bytes that were on the wire
 * but cut by the snaplen. The cut tail still occupies sequence space (the
 * segment was seen; a copy of its tail will never be captured either), and
 * becomes a hole when the record is delivered.
 */
#ifndef LEAKWATCH_STREAM_INTERNAL_H
#define LEAKWATCH_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "leakwatch/stream.h"

struct lw_stream_seg {
    struct lw_stream_seg *next; /* next record by sequence */
    uint32_t seq;               /* sequence number of data[0] */
    uint32_t len;               /* captured bytes in data[] */
    uint32_t lost;              /* wire bytes after data[] the snaplen cut */
    uint8_t data[];
};

/* The checks the harnesses run after every call: the buffer is sorted and
 * disjoint, starts after next_seq, never reaches fin_seq, and the
 * direction's tallies equal what the records hold. */
static inline bool lw_stream_dir_consistent(const lw_stream_dir *d)
{
    uint32_t count = 0;
    uint64_t bytes = 0;
    uint32_t prev_end = d->next_seq;
    bool first = true;
    for (const struct lw_stream_seg *g = d->ooo; g; g = g->next) {
        if (!d->seq_known)
            return false;
        int32_t after = (int32_t)(g->seq - prev_end);
        /* the first record starts strictly after next_seq (a record at
         * next_seq would have been delivered); later ones after the
         * previous record's end */
        if (first ? after <= 0 : after < 0)
            return false;
        if (g->len + (uint64_t)g->lost == 0 || g->len + (uint64_t)g->lost >= (1u << 31))
            return false;
        prev_end = g->seq + g->len + g->lost;
        if (d->fin && (int32_t)(prev_end - d->fin_seq) > 0)
            return false;
        count++;
        bytes += g->len;
        first = false;
        if (count > UINT16_MAX)
            return false;
    }
    return count == d->seg_count && bytes == d->buffered;
}

#endif
