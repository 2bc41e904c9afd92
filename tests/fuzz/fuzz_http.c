/*
 * fuzz_http.c - the HTTP/1.x decoder fed hostile bytes on both directions,
 * with tiny limits so that every cap is reached.
 *
 * Input: byte 0 chooses the run: bits 0-3 seed the splitting, bits 4-7 are
 * a direction pattern; the rest is cut into pieces of 1..64 bytes, each
 * fed to the direction the pattern names (piece k goes to bit k % 4), and
 * a piece whose length byte is a multiple of 61 is preceded by a gap on
 * that direction. The same pieces are fed twice: once whole, once cut
 * again into random sub-pieces.
 *
 * Checks: no crash or sanitizer report; per direction the content emitted
 * never exceeds the bytes fed x max_ratio + max_decompressed (bounded
 * output); items and meta are well formed (dir 0 or 1, no empty content
 * call); and when neither run cut a body for its size, both runs emitted
 * the same content, items and meta (split invariance).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { TRACE_MAX = 1 << 20 };

typedef struct trace {
    uint8_t *buf[2];
    size_t len[2];
    bool overflow;
    uint64_t content[2];
    uint64_t fed[2];
} trace;

static void put(trace *t, int dir, const void *p, size_t n)
{
    if (t->len[dir] + n > TRACE_MAX) {
        t->overflow = true;
        return;
    }
    memcpy(t->buf[dir] + t->len[dir], p, n);
    t->len[dir] += n;
}

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    trace *t = ctx;
    if ((dir != 0 && dir != 1) || n == 0 || !d)
        abort();
    t->content[dir] += n;
    put(t, dir, d, n);
}

static void on_item_end(void *ctx, int dir)
{
    if (dir != 0 && dir != 1)
        abort();
    put(ctx, dir, "\x1e", 1);
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    if ((dir != 0 && dir != 1) || key >= LW_META_MAX || (n > 0 && !v))
        abort();
    uint8_t k = (uint8_t)key;
    put(ctx, dir, "\x1d", 1);
    put(ctx, dir, &k, 1);
    put(ctx, dir, v, n);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static void run(const uint8_t *data, size_t size, bool resplit, const lw_app_limits *lim,
                uint64_t *ctr, trace *t)
{
    lw_app_sink sink = {on_content, on_item_end, on_meta, t};
    lw_http *h = lw_http_new(lim, ctr);
    if (!h)
        return;
    uint8_t pattern = data[0] >> 4;
    uint32_t seed = data[0] & 15u;
    size_t off = 1;
    for (unsigned k = 0; off < size; k++) {
        uint8_t lb = data[off];
        size_t n = 1 + lb % 64;
        if (n > size - off)
            n = size - off;
        int dir = (pattern >> (k % 4)) & 1;
        bool inspect = !(k % 4 == 3 && (pattern & 1));
        if (lb % 61 == 0)
            lw_http_gap(h, dir, &sink);
        size_t done = 0;
        while (done < n) {
            size_t step = n - done;
            if (resplit)
                step = 1 + lcg(&seed) % step;
            lw_http_feed(h, dir, data + off + done, step, inspect, &sink);
            t->fed[dir] += step;
            done += step;
        }
        off += n;
        (void)lw_http_passthrough(h, dir);
    }
    lw_http_free(h, &sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    lw_app_limits lim = {.max_line = 64,
                         .max_headers = 4,
                         .max_decompressed = 2048,
                         .max_ratio = 4,
                         .max_encodings = 2};
    static uint8_t bufs[4][TRACE_MAX];
    trace a = {{bufs[0], bufs[1]}, {0, 0}, false, {0, 0}, {0, 0}};
    trace b = {{bufs[2], bufs[3]}, {0, 0}, false, {0, 0}, {0, 0}};
    uint64_t ca[LW_HTTP_CTR_MAX] = {0}, cb[LW_HTTP_CTR_MAX] = {0};
    run(data, size, false, &lim, ca, &a);
    run(data, size, true, &lim, cb, &b);
    for (int d = 0; d < 2; d++) {
        if (a.content[d] > a.fed[d] * lim.max_ratio + lim.max_decompressed ||
            b.content[d] > b.fed[d] * lim.max_ratio + lim.max_decompressed)
            abort();
    }
    if (!ca[LW_HTTP_CTR_DECOMPRESS_BOMB] && !cb[LW_HTTP_CTR_DECOMPRESS_BOMB] && !a.overflow &&
        !b.overflow) {
        for (int d = 0; d < 2; d++)
            if (a.len[d] != b.len[d] || memcmp(a.buf[d], b.buf[d], a.len[d]) != 0)
                abort();
        if (memcmp(ca, cb, sizeof(ca)) != 0)
            abort();
    }
    return 0;
}
