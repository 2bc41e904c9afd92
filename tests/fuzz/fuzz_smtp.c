/*
 * fuzz_smtp.c - the SMTP decoder (and the MIME parser under it) fed a
 * hostile two-way session, twice, with different splits.
 *
 * Input: a 2-byte header, then the session bytes.
 *   byte 0: bits 0-1 how segments are cut into feeds in the second run
 *           (1 byte, 1-7 bytes, 1-64 bytes, pseudo-random 1-300);
 *           bits 2-3 how directions interleave (all client; a 0x00 byte
 *           switches direction; each 64-byte block alternates; the low bit
 *           of the block's first byte picks); bit 4 inspect the server
 *           direction; bit 5 a segment starting with 0xff is preceded by a
 *           gap of its direction; bits 6-7 pick the limits (tiny: max_line
 *           from byte 1, a few headers, depth 0-3; or generous).
 *   byte 1: seed for the limits and the split lengths.
 * The session is cut into segments by the interleaving rule. Run A feeds
 * each segment whole, run B in pieces; gaps fall between the same
 * segments in both runs.
 *
 * Checks: content calls have 0 < len and a valid direction; item_end only
 * after content in that item; per direction the content bytes are at most
 * the bytes fed (decoding never grows data); meta values are at most the
 * client bytes fed; runs A and B give the same content, item ends, meta
 * and counters (a digest of each), i.e. the output does not depend on the
 * split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct obs {
    uint64_t bytes[2];
    uint64_t items[2];
    uint64_t meta_bytes;
    uint64_t nmeta;
    uint64_t hash[2]; /* FNV-1a over content and item ends */
    uint64_t mhash;
    bool open[2];
} obs;

static uint64_t fnv(uint64_t h, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= d[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void o_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    obs *o = ctx;
    if (dir < 0 || dir > 1 || n == 0 || !d)
        abort();
    o->bytes[dir] += n;
    o->hash[dir] = fnv(o->hash[dir], d, n);
    o->open[dir] = true;
}

static void o_item_end(void *ctx, int dir)
{
    obs *o = ctx;
    if (dir < 0 || dir > 1 || !o->open[dir])
        abort();
    o->open[dir] = false;
    o->items[dir]++;
    static const uint8_t mark[3] = {0xff, 0x00, 0xfe};
    o->hash[dir] = fnv(o->hash[dir], mark, sizeof mark);
}

static void o_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    obs *o = ctx;
    if (dir < 0 || dir > 1 || (int)key < 0 || key >= LW_META_MAX || !v)
        abort();
    o->nmeta++;
    o->meta_bytes += n;
    uint8_t k = (uint8_t)key;
    o->mhash = fnv(o->mhash, &k, 1);
    o->mhash = fnv(o->mhash, v, n);
}

typedef struct plan {
    const uint8_t *d;
    size_t n;
    uint8_t mode;
    uint8_t seed;
} plan;

/* Segment i of the session: [*off, *off + len) with direction *dir. */
static bool next_segment(const plan *p, size_t *off, size_t *len, int *dir, int *cur)
{
    if (*off >= p->n)
        return false;
    size_t o = *off, left = p->n - o;
    switch (p->mode >> 2 & 3) {
    case 0:
        *len = left;
        *dir = LW_DIR_TOSERVER;
        return true;
    case 1: {
        const uint8_t *z = memchr(p->d + o, 0, left);
        *len = z ? (size_t)(z - (p->d + o)) + 1 : left;
        *dir = *cur;
        *cur ^= 1;
        return true;
    }
    case 2:
        *len = left < 64 ? left : 64;
        *dir = *cur;
        *cur ^= 1;
        return true;
    default:
        *len = left < 64 ? left : 64;
        *dir = p->d[o] & 1;
        return true;
    }
}

static void run(const plan *p, const lw_app_limits *lim, bool split, obs *o, uint64_t *ctr,
                uint64_t fed[2], bool *enc)
{
    lw_app_sink sink = {o_content, o_item_end, o_meta, o};
    lw_smtp *s = lw_smtp_new(lim, ctr);
    if (!s)
        return;
    bool inspect_srv = p->mode & 0x10;
    bool gaps = p->mode & 0x20;
    uint32_t x = p->seed;
    size_t off = 0, len;
    int dir, cur = 0;
    while (next_segment(p, &off, &len, &dir, &cur)) {
        if (gaps && len > 0 && p->d[off] == 0xff)
            lw_smtp_gap(s, dir, &sink);
        bool inspect = dir == LW_DIR_TOSERVER || inspect_srv;
        size_t k = 0;
        while (k < len) {
            size_t piece = len - k;
            if (split) {
                x = x * 1103515245u + 12345u;
                uint32_t r = x >> 16;
                switch (p->mode & 3) {
                case 0:
                    piece = 1;
                    break;
                case 1:
                    piece = 1 + r % 7;
                    break;
                case 2:
                    piece = 1 + r % 64;
                    break;
                default:
                    piece = 1 + r % 300;
                    break;
                }
                if (piece > len - k)
                    piece = len - k;
            }
            if (!lw_smtp_encrypted(s))
                fed[dir] += piece;
            lw_smtp_feed(s, dir, p->d + off + k, piece, inspect, &sink);
            k += piece;
        }
        off += len;
    }
    *enc = lw_smtp_encrypted(s);
    lw_smtp_free(s, &sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    plan p = {data + 2, size - 2, data[0], data[1]};
    lw_app_limits lim = {1000, 32, 1u << 20, 100, 4};
    switch (data[0] >> 6) {
    case 0:
        break;
    case 1:
        lim.max_line = data[1] & 63;
        lim.max_headers = data[1] >> 6;
        lim.max_encodings = data[1] >> 4 & 3;
        break;
    case 2:
        lim.max_line = 8 + (data[1] & 127);
        lim.max_encodings = 1 + (data[1] >> 7);
        break;
    default:
        lim.max_line = 4096;
        lim.max_headers = 1000;
        lim.max_encodings = 64; /* clamped by the parser */
        break;
    }

    obs a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    uint64_t ca[LW_SMTP_CTR_MAX] = {0}, cb[LW_SMTP_CTR_MAX] = {0};
    uint64_t fa[2] = {0, 0}, fb[2] = {0, 0};
    bool ea = false, eb = false;
    run(&p, &lim, false, &a, ca, fa, &ea);
    run(&p, &lim, true, &b, cb, fb, &eb);

    for (int d = 0; d < 2; d++) {
        if (a.bytes[d] > p.n || b.bytes[d] > fb[d])
            abort();
        if (a.open[d] || b.open[d]) /* free ends every item */
            abort();
    }
    if (a.meta_bytes > p.n || b.meta_bytes > p.n)
        abort();
    if (ea != eb || memcmp(a.hash, b.hash, sizeof a.hash) != 0 || a.items[0] != b.items[0] ||
        a.items[1] != b.items[1] || a.mhash != b.mhash || a.nmeta != b.nmeta)
        abort();
    if (memcmp(ca, cb, sizeof ca) != 0)
        abort();
    if (ca[LW_SMTP_CTR_DECODED_BYTES] != a.bytes[0] + a.bytes[1])
        abort();
    return 0;
}
