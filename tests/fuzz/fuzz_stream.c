/*
 * fuzz_stream.c - TCP reassembly fed a hostile segment sequence on two
 * streams that share one pool.
 *
 * Input: an 8-byte header, then records.
 *   header: memcap / 32 (1 byte), max_buffer (1), max_segments (1, low 4
 *           bits), depth (1, 0 = unlimited), sequence base (4, big endian;
 *           a base near 2^32 makes the streams wrap)
 *   record: flags (1): bits 0-5 the TCP flags, bit 6 the direction, bit 7
 *           the stream; sequence offset (2, signed, from the base; shifted
 *           left by 15 when URG is set, to reach the window's edges); ACK
 *           offset (2, signed, from the base); captured length (1); bytes
 *           cut by the snaplen (1); then the captured bytes.
 *           RST (nothing special to the stream) also flushes that
 *           direction after the segment.
 * At the end both directions of both streams are flushed when the header's
 * depth byte is odd, then both streams are released.
 *
 * Checks after every call: the buffer invariants (stream_internal.h);
 * pool->used equals what the records hold and never exceeds the memcap
 * plus one segment's overhead; the bytes-buffered gauge adds up; stream.gap
 * equals the gap marks delivered plus the holes pending; stream.bytes is
 * what was delivered; depth holds. At the end: per direction no more bytes
 * were delivered than the sequence space the captured bytes offered
 * covered (no byte twice), and pool->used is 0 after release.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/cursor.h"
#include "leakwatch/stream.h"
#include "../../sensor/stream/stream_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NSTREAM = 2, NDIR = NSTREAM * 2 };

typedef struct range {
    uint64_t lo, hi; /* [lo, hi) on the 2^32 circle, split at the wrap */
} range;

typedef struct harness {
    lw_stream_pool pool;
    lw_stream st[NSTREAM];
    int cur; /* stream being fed, for the callback */
    uint64_t delivered[NDIR];
    uint64_t gap_runs;
    range *offered[NDIR];
    size_t n_offered[NDIR];
    size_t cap_offered;
} harness;

static void deliver(void *ctx, int dir, const uint8_t *d, size_t len, bool gap)
{
    harness *h = ctx;
    if (dir < 0 || dir > 1 || len == 0 || !d)
        abort();
    /* touch every byte so ASan sees a run past its buffer */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= d[i];
    (void)sink;
    h->delivered[h->cur * 2 + dir] += len;
    if (gap)
        h->gap_runs++;
}

static void check(const harness *h)
{
    uint64_t used = 0, buffered = 0, holes = 0, bytes = 0;
    for (int i = 0; i < NSTREAM; i++) {
        for (int d = 0; d < 2; d++) {
            const lw_stream_dir *sd = &h->st[i].dir[d];
            if (!lw_stream_dir_consistent(sd))
                abort();
            if (sd->seg_count > h->pool.max_segments || sd->buffered > h->pool.max_buffer)
                abort();
            used += sd->buffered + (uint64_t)sd->seg_count * LW_STREAM_SEG_OVERHEAD;
            buffered += sd->buffered;
            holes += sd->hole;
            bytes += h->delivered[i * 2 + d];
            if (h->pool.depth && h->delivered[i * 2 + d] > h->pool.depth)
                abort();
            if (sd->delivered != h->delivered[i * 2 + d])
                abort();
        }
    }
    if (h->pool.used != used || h->pool.used > h->pool.memcap + LW_STREAM_SEG_OVERHEAD)
        abort();
    if (h->pool.counters[LW_STREAM_CTR_BUFFERED_BYTES] != buffered)
        abort();
    if (h->pool.counters[LW_STREAM_CTR_GAP] != h->gap_runs + holes)
        abort();
    if (h->pool.counters[LW_STREAM_CTR_BYTES] != bytes)
        abort();
}

static void offer(harness *h, int k, uint32_t seq, uint32_t len)
{
    if (len == 0)
        return;
    uint64_t lo = seq, hi = (uint64_t)seq + len;
    if (hi > (1ull << 32)) {
        h->offered[k][h->n_offered[k]++] = (range){lo, 1ull << 32};
        lo = 0;
        hi -= 1ull << 32;
    }
    h->offered[k][h->n_offered[k]++] = (range){lo, hi};
}

static int range_cmp(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The sequence space the offered captured bytes cover. */
static uint64_t covered(range *r, size_t n)
{
    uint64_t total = 0, end = 0;
    qsort(r, n, sizeof(*r), range_cmp);
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = r[i].lo > end ? r[i].lo : end;
        if (r[i].hi > lo)
            total += r[i].hi - lo;
        if (r[i].hi > end)
            end = r[i].hi;
    }
    return total;
}

static void flush_all(harness *h)
{
    for (int i = 0; i < NSTREAM; i++) {
        h->cur = i;
        for (int d = 0; d < 2; d++) {
            lw_stream_flush(&h->pool, &h->st[i], d, deliver, h);
            check(h);
            if (h->st[i].dir[d].ooo)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lw_cursor c = lw_cur_make(data, size);
    harness *h = calloc(1, sizeof(*h));
    if (!h)
        return 0;
    h->pool.memcap = (uint64_t)lw_cur_u8(&c) * 32;
    h->pool.max_buffer = lw_cur_u8(&c);
    h->pool.max_segments = lw_cur_u8(&c) & 15;
    uint8_t depth = lw_cur_u8(&c);
    h->pool.depth = depth;
    uint32_t base = lw_cur_u32be(&c);
    bool jumped = false; /* URG offsets can run a stream round the circle */

    /* each record offers at most two ranges (split at the wrap) */
    h->cap_offered = 2 * (size / 7 + 1);
    for (int k = 0; k < NDIR; k++) {
        h->offered[k] = calloc(h->cap_offered, sizeof(range));
        if (!h->offered[k])
            goto out;
    }

    while (lw_cur_left(&c) >= 7) {
        uint8_t f = lw_cur_u8(&c);
        int stream = f >> 7, dir = (f >> 6) & 1;
        uint16_t seq_off = lw_cur_u16be(&c);
        uint16_t ack_off = lw_cur_u16be(&c);
        uint8_t caplen = lw_cur_u8(&c);
        uint8_t cut = lw_cur_u8(&c);
        if (caplen > lw_cur_left(&c))
            caplen = (uint8_t)lw_cur_left(&c);
        lw_cursor pay = lw_cur_sub(&c, caplen);

        lw_packet p;
        memset(&p, 0, sizeof(p));
        p.tcp_flags = f & 0x3f;
        if (p.tcp_flags & LW_TCP_URG) {
            p.tcp_seq = base + ((uint32_t)seq_off << 15);
            jumped = true;
        } else {
            p.tcp_seq = base + (uint32_t)(int32_t)(int16_t)seq_off;
        }
        p.tcp_ack = base + (uint32_t)(int32_t)(int16_t)ack_off;
        /* copy so that ASan bounds the payload exactly */
        uint8_t *buf = malloc(caplen ? caplen : 1);
        if (!buf)
            goto out;
        memcpy(buf, pay.ptr, caplen);
        p.payload = buf;
        p.payload_len = caplen;
        p.payload_wire_len = (uint32_t)caplen + cut;
        offer(h, stream * 2 + dir, p.tcp_seq + ((p.tcp_flags & LW_TCP_SYN) ? 1 : 0), caplen);

        h->cur = stream;
        lw_stream_segment(&h->pool, &h->st[stream], dir, &p, deliver, h);
        free(buf);
        check(h);
        if (p.tcp_flags & LW_TCP_RST) {
            lw_stream_flush(&h->pool, &h->st[stream], dir, deliver, h);
            check(h);
        }
    }
    if (depth & 1)
        flush_all(h);
    for (int k = 0; k < NDIR; k++) {
        if (!jumped && h->delivered[k] > covered(h->offered[k], h->n_offered[k]))
            abort();
    }
    for (int i = 0; i < NSTREAM; i++)
        lw_stream_release(&h->pool, &h->st[i]);
    if (h->pool.used != 0 || h->pool.counters[LW_STREAM_CTR_BUFFERED_BYTES] != 0)
        abort();

out:
    for (int i = 0; i < NSTREAM; i++)
        lw_stream_release(&h->pool, &h->st[i]);
    for (int k = 0; k < NDIR; k++)
        free(h->offered[k]);
    free(h);
    return 0;
}
