/*
 * fuzz_ftp.c - the FTP control channel on hostile lines, split anywhere.
 *
 * Input: two control bytes, then records.
 *   byte 0    max_line = 1 + byte (small limits reach the long-line paths)
 *   byte 1    bit 0: the control connection is IPv6 (else IPv4); bits
 *             1-7: seed for the split points
 *   record    a direction byte (bit 0), a length byte, that many bytes
 *             (fewer at the end of the input); a direction byte with bit 7
 *             set is a gap in that direction instead, with no length.
 * The records are fed twice: each whole, then each cut at seeded random
 * points (every piece an exact-size copy, so ASan sees a read past it).
 * Both runs must give the same callbacks in each direction and the same
 * counters. Checks: expect() ports are non-zero, addresses are the
 * control connection's, content and meta no longer than a line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/ftp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
    uint64_t hash_cmd; /* commands' callbacks (content, meta), in order */
    uint64_t hash_exp; /* expect() calls, order-free (summed) */
    uint64_t ctr[LW_FTP_CTR_MAX];
    size_t max_line;
    lw_addr client, server;
} out;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    out *o = ctx;
    if (dir != 0 || n == 0 || n > o->max_line)
        abort();
    o->hash_cmd = fnv(fnv(o->hash_cmd, "c", 1), d, n);
}

static void on_item_end(void *ctx, int dir)
{
    out *o = ctx;
    if (dir != 0)
        abort();
    o->hash_cmd = fnv(o->hash_cmd, "e", 1);
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    out *o = ctx;
    if (dir != 0 || key != LW_META_FTP_COMMAND || n < 4 || n > o->max_line)
        abort();
    o->hash_cmd = fnv(fnv(o->hash_cmd, "m", 1), v, n);
}

static void on_expect(void *ctx, const lw_addr *a, uint16_t port)
{
    out *o = ctx;
    if (port == 0)
        abort();
    if (memcmp(a, &o->client, sizeof(*a)) != 0 && memcmp(a, &o->server, sizeof(*a)) != 0)
        abort();
    uint64_t h = fnv(fnv(14695981039346656037ull, a, sizeof(*a)), &port, sizeof(port));
    o->hash_exp += h;
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void feed_copy(lw_ftp *f, int dir, const uint8_t *d, size_t n, const lw_app_sink *s, out *o)
{
    uint8_t *c = malloc(n ? n : 1);
    if (!c)
        abort();
    memcpy(c, d, n);
    lw_ftp_feed(f, dir, c, n, s, on_expect, o);
    free(c);
}

static void run(const uint8_t *d, size_t n, uint32_t seed, bool split, out *o)
{
    lw_app_limits lim = {.max_line = (uint32_t)o->max_line};
    lw_app_sink s = {on_content, on_item_end, on_meta, o};
    lw_ftp *f = lw_ftp_new(&lim, &o->client, &o->server, o->ctr);
    if (!f)
        return;
    uint32_t x = seed * 2654435761u + 7;
    size_t at = 0;
    while (at < n) {
        uint8_t hdr = d[at++];
        int dir = hdr & 1;
        if (hdr & 0x80) {
            lw_ftp_gap(f, dir);
            continue;
        }
        if (at >= n)
            break;
        size_t len = d[at++];
        if (len > n - at)
            len = n - at;
        if (!split) {
            feed_copy(f, dir, d + at, len, &s, o);
        } else {
            size_t k = 0;
            while (k < len) {
                size_t piece = 1 + next(&x) % 16;
                if (piece > len - k)
                    piece = len - k;
                feed_copy(f, dir, d + at + k, piece, &s, o);
                k += piece;
            }
        }
        at += len;
    }
    lw_ftp_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    out a;
    memset(&a, 0, sizeof(a));
    a.max_line = 1 + (size_t)data[0];
    if (data[1] & 1) {
        a.client.family = 6;
        a.server.family = 6;
        a.client.b[0] = a.server.b[0] = 0x20;
        a.client.b[1] = a.server.b[1] = 0x01;
        a.client.b[2] = a.server.b[2] = 0x0d;
        a.client.b[3] = a.server.b[3] = 0xb8;
        a.client.b[15] = 0x10;
        a.server.b[15] = 0x20;
    } else {
        a.client.family = 4;
        a.server.family = 4;
        memcpy(a.client.b, "\xc0\x00\x02\x0a", 4);
        memcpy(a.server.b, "\xc6\x33\x64\x14", 4);
    }
    out b = a;
    uint32_t seed = data[1] >> 1;
    run(data + 2, size - 2, seed, false, &a);
    run(data + 2, size - 2, seed, true, &b);
    if (memcmp(&a, &b, sizeof(a)) != 0)
        abort();
    return 0;
}
