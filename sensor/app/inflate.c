/*
 * inflate.c - gzip / zlib / raw deflate decompression with bomb caps (see
 * codec.h), over zlib.
 *
 * Formats: LW_INFLATE_GZIP is RFC 1952 (zlib's inflateInit2 with
 * 16 + MAX_WBITS). LW_INFLATE_DEFLATE is what HTTP calls "deflate": RFC
 * 1950 zlib as the RFC says, or raw RFC 1951 as some servers send it. The
 * choice is made on the first two bytes, which are held back when a feed
 * brings only one: a valid zlib header (CM 8, CINFO <= 7, the check bits
 * making a multiple of 31, no preset dictionary) means zlib; 1f 8b (a gzip
 * member mislabelled deflate) means gzip, which raw deflate cannot start
 * with (its block type would be the reserved 11); anything else is raw.
 * Only the first gzip member is decoded: after it the stream is DONE and
 * later bytes are ignored, as for zlib and raw streams.
 *
 * Output leaves through a fixed 16 KiB buffer inside the object, never a
 * whole body. Two caps stop a decompression bomb:
 *   - max_out: the output is cut at exactly max_out bytes in all; if zlib
 *     has more, the status is BOMB;
 *   - max_ratio: once more than 64 KiB came out, output larger than
 *     max_ratio times the input consumed is BOMB (0 disables this cap).
 * They are checked after every buffer of output, so the ratio cap is
 * passed by at most one buffer, and the work of one feed is bounded by
 * (its input + 64 KiB) x max_ratio + 16 KiB of output, and by max_out.
 * Once the status leaves OK it stays, and later feeds do nothing: BOMB and
 * CORRUPT keep the output written so far, which the caller has already
 * scanned.
 */
#include "leakwatch/codec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OUT_BUF     (16u * 1024)
#define RATIO_GRACE (64u * 1024) /* output before the ratio cap applies */
#define IN_STEP     (1u << 30)   /* largest piece handed to zlib at once (avail_in is uInt) */

struct lw_inflate {
    z_stream zs;
    bool started; /* inflateInit2 done: zs must be ended */
    lw_inflate_kind kind;
    lw_inflate_status status;
    uint8_t head[2]; /* DEFLATE: first bytes, held until the format is known */
    uint8_t nhead;
    uint64_t max_out;
    uint32_t max_ratio;
    uint64_t total_in;  /* bytes handed to zlib and consumed */
    uint64_t total_out; /* bytes given to the callback */
    uint8_t buf[OUT_BUF];
};

static bool start(lw_inflate *z, int window_bits)
{
    memset(&z->zs, 0, sizeof(z->zs));
    if (inflateInit2(&z->zs, window_bits) != Z_OK)
        return false;
    z->started = true;
    return true;
}

lw_inflate *lw_inflate_new(lw_inflate_kind kind, uint64_t max_out, uint32_t max_ratio)
{
    lw_inflate *z = malloc(sizeof(*z));
    if (!z)
        return NULL;
    memset(z, 0, offsetof(lw_inflate, buf));
    z->kind = kind;
    z->status = LW_INFLATE_OK;
    z->max_out = max_out;
    z->max_ratio = max_ratio;
    if (kind == LW_INFLATE_GZIP && !start(z, 16 + MAX_WBITS)) {
        free(z);
        return NULL;
    }
    return z;
}

/* The window bits for a DEFLATE stream that begins with b0 b1. */
static int deflate_bits(uint8_t b0, uint8_t b1)
{
    if (b0 == 0x1f && b1 == 0x8b)
        return 16 + MAX_WBITS;
    bool zlib =
        (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((unsigned)b0 << 8 | b1) % 31 == 0 && !(b1 & 0x20);
    return zlib ? MAX_WBITS : -MAX_WBITS;
}

static bool over_ratio(const lw_inflate *z)
{
    if (z->max_ratio == 0 || z->total_out <= RATIO_GRACE)
        return false;
    if (z->total_in > UINT64_MAX / z->max_ratio)
        return false; /* the product cannot be reached */
    return z->total_out > (uint64_t)z->max_ratio * z->total_in;
}

/* Inflates in[0..len) (len <= IN_STEP), writing out every buffer. */
static lw_inflate_status run(lw_inflate *z, const uint8_t *in, size_t len, lw_codec_out_fn out,
                             void *ctx)
{
    z->zs.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write through next_in */
    z->zs.avail_in = (uInt)len;
    for (;;) {
        uint64_t room = z->max_out - z->total_out;
        /* One byte past the room shows whether there is more than fits. */
        uInt want = room >= OUT_BUF ? OUT_BUF : (uInt)room + 1;
        uInt in_before = z->zs.avail_in;
        z->zs.next_out = z->buf;
        z->zs.avail_out = want;
        int ret = inflate(&z->zs, Z_NO_FLUSH);
        z->total_in += in_before - z->zs.avail_in;
        uint64_t got = want - z->zs.avail_out;
        bool cut = got > room;
        if (cut)
            got = room;
        if (got > 0 && out)
            out(ctx, z->buf, (size_t)got);
        z->total_out += got;
        if (cut || over_ratio(z))
            return LW_INFLATE_BOMB;
        switch (ret) {
        case Z_OK:
            break;
        case Z_STREAM_END:
            return LW_INFLATE_DONE;
        case Z_BUF_ERROR: /* no progress possible: all input used */
            return LW_INFLATE_OK;
        case Z_MEM_ERROR:
            return LW_INFLATE_NOMEM;
        default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return LW_INFLATE_CORRUPT;
        }
        /* zlib stops when input runs out or the buffer fills; a full buffer
         * may mean more output is pending even with no input left. */
        if (z->zs.avail_in == 0 && z->zs.avail_out > 0)
            return LW_INFLATE_OK;
    }
}

lw_inflate_status lw_inflate_feed(lw_inflate *z, const uint8_t *in, size_t len, lw_codec_out_fn out,
                                  void *ctx)
{
    if (!z)
        return LW_INFLATE_NOMEM;
    if (z->status != LW_INFLATE_OK || len == 0)
        return z->status;
    if (!z->started) {
        /* DEFLATE: gather two bytes, pick the format, then inflate them. */
        size_t take = 2u - z->nhead;
        if (take > len)
            take = len;
        memcpy(z->head + z->nhead, in, take);
        z->nhead = (uint8_t)(z->nhead + take);
        in += take;
        len -= take;
        if (z->nhead < 2)
            return LW_INFLATE_OK;
        if (!start(z, deflate_bits(z->head[0], z->head[1]))) {
            z->status = LW_INFLATE_NOMEM;
            return z->status;
        }
        z->status = run(z, z->head, 2, out, ctx);
    }
    while (z->status == LW_INFLATE_OK && len > 0) {
        size_t step = len > IN_STEP ? IN_STEP : len;
        z->status = run(z, in, step, out, ctx);
        in += step;
        len -= step;
    }
    return z->status;
}

uint64_t lw_inflate_total_out(const lw_inflate *z)
{
    return z ? z->total_out : 0;
}

void lw_inflate_free(lw_inflate *z)
{
    if (!z)
        return;
    if (z->started)
        inflateEnd(&z->zs);
    free(z);
}
