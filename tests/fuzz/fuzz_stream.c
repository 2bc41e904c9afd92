/*
 * fuzz_stream.c - TCP in-order delivery fed a hostile segment sequence.
 *
 * Each record of the input is one segment: flags (1 byte), direction (low
 * bit of the same byte's high nibble), sequence number (4 bytes), captured
 * length (1 byte), wire length extra (1 byte), then the payload bytes.
 * Checks: no byte beyond what was offered is delivered, deliveries never
 * exceed stream.depth, and the counters add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/cursor.h"
#include "leakwatch/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct tally {
    uint64_t delivered[2];
} tally;

static void on_bytes(void *ctx, int dir, const uint8_t *d, size_t len, int gap)
{
    tally *t = ctx;
    (void)gap;
    if (dir < 0 || dir > 1 || len == 0)
        abort();
    /* touch every byte so ASan sees an out-of-bounds run */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= d[i];
    (void)sink;
    t->delivered[dir] += len;
}

static void deliver(void *ctx, int dir, const uint8_t *d, size_t len, bool gap)
{
    on_bytes(ctx, dir, d, len, gap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lw_cursor c = lw_cur_make(data, size);
    lw_stream st;
    memset(&st, 0, sizeof(st));
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    tally t = {{0, 0}};
    uint64_t offered[2] = {0, 0};
    uint64_t depth = size & 1 ? 64 : 0;

    while (lw_cur_left(&c) >= 7) {
        uint8_t flags = lw_cur_u8(&c);
        int dir = (flags >> 7) & 1;
        lw_packet p;
        memset(&p, 0, sizeof(p));
        p.tcp_flags = flags & 0x3f;
        p.tcp_seq = lw_cur_u32be(&c);
        uint8_t caplen = lw_cur_u8(&c);
        uint8_t extra = lw_cur_u8(&c);
        if (caplen > lw_cur_left(&c))
            caplen = (uint8_t)lw_cur_left(&c);
        lw_cursor pay = lw_cur_sub(&c, caplen);
        /* copy so that ASan bounds the payload exactly */
        uint8_t *buf = malloc(caplen ? caplen : 1);
        if (!buf)
            return 0;
        memcpy(buf, pay.ptr, caplen);
        p.payload = buf;
        p.payload_len = caplen;
        p.payload_wire_len = (uint32_t)caplen + extra;
        offered[dir] += caplen;
        lw_stream_segment(&st, dir, &p, depth, ctr, deliver, &t);
        free(buf);
    }
    for (int d = 0; d < 2; d++) {
        if (t.delivered[d] > offered[d])
            abort();
        if (depth && t.delivered[d] > depth)
            abort();
    }
    if (ctr[LW_STREAM_CTR_BYTES] != t.delivered[0] + t.delivered[1])
        abort();
    return 0;
}
