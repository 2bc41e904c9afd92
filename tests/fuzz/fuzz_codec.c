/*
 * fuzz_codec.c - the shared content codecs fed hostile bytes, whole and
 * split.
 *
 * Input: one selector byte, then the bytes to decode.
 *   selector bits 0-2 pick the codec: 0 base64, 1 quoted-printable,
 *     2 percent, 3 percent with '+' as space, 4 JSON escapes, 5 inflate
 *     gzip, 6 inflate deflate, 7 the one-shot hex / base32 / base64;
 *   bits 3-7 seed the split pattern (and the caps for inflate).
 *
 * Checks:
 *   - text codecs: the output and the invalid count of a whole feed equal
 *     those of a feed split into pieces of 0..n bytes, and the output is no
 *     longer than the codec can make from that input; JSON escapes also
 *     equal a byte-at-a-time model of codec.h's rules (the decoder skips
 *     plain runs a word at a time, and the model never does);
 *   - inflate: with no ratio cap, whole and split feeding give the same
 *     bytes and the same status; output never exceeds max_out, never
 *     comes in chunks over 16 KiB, and with a ratio cap it stays within
 *     max(64 KiB, ratio x input) plus one buffer and is a prefix of the
 *     uncapped output;
 *   - one-shot: a decode fits in cap, and re-encoding it gives the input
 *     back (up to case, alphabet and padding), since only canonical
 *     encodings are accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    size_t max_chunk;
} buf;

static void out_fn(void *ctx, const uint8_t *d, size_t len)
{
    buf *b = ctx;
    if (!d || len == 0)
        abort();
    if (len > b->max_chunk)
        b->max_chunk = len;
    if (b->len + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + len)
            ncap *= 2;
        uint8_t *np = realloc(b->p, ncap);
        if (!np)
            abort();
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, d, len);
    b->len += len;
}

static uint32_t rnd(uint32_t *st)
{
    uint32_t x = *st;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *st = x;
}

typedef union any {
    lw_b64 b64;
    lw_qp qp;
    lw_pct pct;
    lw_jsonesc js;
} any;

static void t_init(int kind, any *a)
{
    switch (kind) {
    case 0:
        lw_b64_init(&a->b64);
        break;
    case 1:
        lw_qp_init(&a->qp);
        break;
    case 2:
    case 3:
        lw_pct_init(&a->pct, kind == 3);
        break;
    default:
        lw_jsonesc_init(&a->js);
        break;
    }
}

static void t_feed(int kind, any *a, const uint8_t *in, size_t len, buf *b)
{
    switch (kind) {
    case 0:
        lw_b64_feed(&a->b64, in, len, out_fn, b);
        break;
    case 1:
        lw_qp_feed(&a->qp, in, len, out_fn, b);
        break;
    case 2:
    case 3:
        lw_pct_feed(&a->pct, in, len, out_fn, b);
        break;
    default:
        lw_jsonesc_feed(&a->js, in, len, out_fn, b);
        break;
    }
}

static uint64_t t_finish(int kind, any *a, buf *b)
{
    switch (kind) {
    case 0:
        lw_b64_finish(&a->b64, out_fn, b);
        return a->b64.invalid;
    case 1:
        lw_qp_finish(&a->qp, out_fn, b);
        return a->qp.invalid;
    case 2:
    case 3:
        lw_pct_finish(&a->pct, out_fn, b);
        return a->pct.invalid;
    default:
        lw_jsonesc_finish(&a->js, out_fn, b);
        return a->js.invalid;
    }
}

/* pieces of 0..maxp bytes */
static uint64_t t_run(int kind, const uint8_t *in, size_t len, uint32_t seed, size_t maxp, buf *b)
{
    any a;
    t_init(kind, &a);
    if (!maxp) {
        t_feed(kind, &a, in, len, b);
    } else {
        size_t i = 0;
        while (i < len) {
            size_t n = rnd(&seed) % (maxp + 1);
            if (n > len - i)
                n = len - i;
            t_feed(kind, &a, in + i, n, b);
            i += n;
        }
    }
    return t_finish(kind, &a, b);
}

/* ---- a byte-at-a-time model of the JSON escape decoder (codec.h) -------- */

typedef struct jsm {
    int state; /* 0 outside, 1 string, 2 after '\\', 3 in \u */
    int nhex;
    uint32_t cp, high;
    uint64_t invalid;
    buf *b;
} jsm;

static void m_utf8(jsm *m, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18);
        u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    out_fn(m->b, u, n);
}

static void m_lone(jsm *m)
{
    if (m->high) {
        m->invalid++;
        m_utf8(m, 0xfffd);
        m->high = 0;
    }
}

static int m_hex(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void m_byte(jsm *m, uint8_t c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (m->state == 3) {
        int v = m_hex(c);
        if (v >= 0) {
            m->cp = m->cp << 4 | (uint32_t)v;
            if (++m->nhex < 4)
                return;
            m->state = 1;
            if (m->cp >= 0xdc00 && m->cp <= 0xdfff) {
                if (m->high) {
                    m_utf8(m, 0x10000 + ((m->high - 0xd800) << 10) + (m->cp - 0xdc00));
                } else {
                    m->invalid++;
                    m_utf8(m, 0xfffd);
                }
                m->high = 0;
            } else {
                m_lone(m);
                if (m->cp >= 0xd800 && m->cp <= 0xdbff)
                    m->high = m->cp;
                else
                    m_utf8(m, m->cp);
            }
            return;
        }
        m_lone(m);
        m->invalid++;
        m_utf8(m, 0xfffd);
        m->state = 1; /* c is read again as string text */
    }
    if (m->state == 0) {
        out_fn(m->b, &c, 1);
        if (c == '"')
            m->state = 1;
    } else if (m->state == 1) {
        if (c == '\\') {
            m->state = 2;
            return;
        }
        m_lone(m);
        out_fn(m->b, &c, 1);
        if (c == '"')
            m->state = 0;
    } else if (c == 'u') {
        m->state = 3;
        m->nhex = 0;
        m->cp = 0;
    } else {
        m_lone(m);
        const char *e = c ? memchr(from, c, sizeof(from) - 1) : NULL;
        if (e) {
            uint8_t d = (uint8_t)to[e - from];
            out_fn(m->b, &d, 1);
        } else {
            uint8_t two[2] = {'\\', c};
            m->invalid++;
            out_fn(m->b, two, 2);
        }
        m->state = 1;
    }
}

static uint64_t m_run(const uint8_t *in, size_t len, buf *b)
{
    jsm m = {.b = b};
    for (size_t i = 0; i < len; i++)
        m_byte(&m, in[i]);
    m_lone(&m);
    if (m.state == 2) {
        uint8_t bs = '\\';
        m.invalid++;
        out_fn(b, &bs, 1);
    } else if (m.state == 3) {
        m.invalid++;
        m_utf8(&m, 0xfffd);
    }
    return m.invalid;
}

static void fuzz_text(int kind, const uint8_t *in, size_t len, uint32_t seed)
{
    buf whole = {0}, split = {0};
    uint64_t inv_w = t_run(kind, in, len, seed, 0, &whole);
    uint64_t inv_s = t_run(kind, in, len, seed, 1 + seed % 9, &split);
    if (inv_w != inv_s || whole.len != split.len ||
        (whole.len && memcmp(whole.p, split.p, whole.len) != 0))
        abort();
    /* JSON: a malformed escape of 2 or 3 bytes may become U+FFFD (3 bytes) */
    size_t most = kind == 4 ? 2 * len + 3 : len;
    if (whole.len > most)
        abort();
    if (kind == 4) {
        buf model = {0};
        uint64_t inv_m = m_run(in, len, &model);
        if (inv_m != inv_w || model.len != whole.len ||
            (whole.len && memcmp(whole.p, model.p, whole.len) != 0))
            abort();
        free(model.p);
    }
    free(whole.p);
    free(split.p);
}

static lw_inflate_status z_run(lw_inflate_kind kind, const uint8_t *in, size_t len,
                               uint64_t max_out, uint32_t ratio, uint32_t seed, size_t maxp, buf *b)
{
    lw_inflate *z = lw_inflate_new(kind, max_out, ratio);
    if (!z)
        return LW_INFLATE_NOMEM;
    lw_inflate_status st = LW_INFLATE_OK;
    size_t i = 0;
    do {
        size_t n = maxp ? rnd(&seed) % (maxp + 1) : len;
        if (n > len - i)
            n = len - i;
        st = lw_inflate_feed(z, in + i, n, out_fn, b);
        i += n;
    } while (i < len);
    if (lw_inflate_total_out(z) != b->len || b->len > max_out || b->max_chunk > 16 * 1024)
        abort();
    lw_inflate_free(z);
    return st;
}

static void fuzz_inflate(lw_inflate_kind kind, const uint8_t *in, size_t len, uint32_t seed)
{
    uint64_t max_out = (uint64_t)1 << (8 + seed % 13); /* 256 B .. 1 MiB */
    static const uint32_t ratios[] = {1, 4, 50, 1000};
    uint32_t ratio = ratios[seed / 13 % 4];
    buf whole = {0}, split = {0}, capped = {0};
    lw_inflate_status sw = z_run(kind, in, len, max_out, 0, seed, 0, &whole);
    lw_inflate_status ss = z_run(kind, in, len, max_out, 0, seed, 1 + seed % 64, &split);
    if (sw == LW_INFLATE_NOMEM || ss == LW_INFLATE_NOMEM)
        goto out;
    if (sw != ss || whole.len != split.len ||
        (whole.len && memcmp(whole.p, split.p, whole.len) != 0))
        abort();
    if (z_run(kind, in, len, max_out, ratio, seed, 1 + seed % 7, &capped) == LW_INFLATE_NOMEM)
        goto out;
    uint64_t bound = (uint64_t)ratio * len > 64 * 1024 ? (uint64_t)ratio * len : 64 * 1024;
    if (capped.len > bound + 16 * 1024 || capped.len > whole.len ||
        (capped.len && memcmp(capped.p, whole.p, capped.len) != 0))
        abort();
out:
    free(whole.p);
    free(split.p);
    free(capped.p);
}

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint8_t upper(uint8_t c)
{
    return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

/* Re-encodes out[0..n) with `bits` bits per character from `alpha`. */
static size_t encode(const uint8_t *out, size_t n, unsigned bits, const char *alpha, uint8_t *enc)
{
    size_t k = 0;
    uint32_t acc = 0;
    unsigned nb = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | out[i];
        nb += 8;
        while (nb >= bits) {
            nb -= bits;
            enc[k++] = (uint8_t)alpha[acc >> nb & ((1u << bits) - 1)];
        }
    }
    if (nb)
        enc[k++] = (uint8_t)alpha[acc << (bits - nb) & ((1u << bits) - 1)];
    return k;
}

static void fuzz_oneshot(const uint8_t *in, size_t len, uint32_t seed)
{
    size_t cap = seed % 4 == 0 ? 8 : 512;
    uint8_t out[512 + 1];
    uint8_t enc[1024];
    if (len > 640)
        len = 640;
    out[cap] = 0xa5; /* a write past cap shows here */
    size_t n = lw_hex_decode(in, len, out, cap);
    if (n > cap || (n && n * 2 != len) || out[cap] != 0xa5)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((uint8_t) "0123456789ABCDEF"[out[i] >> 4] != upper(in[2 * i]) ||
            (uint8_t) "0123456789ABCDEF"[out[i] & 15] != upper(in[2 * i + 1]))
            abort();

    n = lw_base32_decode(in, len, out, cap);
    if (n > cap || out[cap] != 0xa5)
        abort();
    if (n) {
        size_t k = encode(out, n, 5, B32, enc);
        if (k > len)
            abort();
        for (size_t i = 0; i < len; i++)
            if (i < k ? upper(in[i]) != enc[i] : in[i] != '=')
                abort();
    }

    n = lw_base64_decode(in, len, out, cap);
    if (n > cap || out[cap] != 0xa5)
        abort();
    if (n) {
        size_t k = encode(out, n, 6, B64, enc);
        if (k > len)
            abort();
        for (size_t i = 0; i < len; i++) {
            uint8_t c = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
            if (i < k ? c != enc[i] : c != '=')
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] & 7;
    uint32_t seed = (uint32_t)(data[0] >> 3) * 2654435761u + (uint32_t)size;
    if (!seed)
        seed = 1;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    if (kind <= 4)
        fuzz_text(kind, in, len, seed);
    else if (kind == 5)
        fuzz_inflate(LW_INFLATE_GZIP, in, len, seed);
    else if (kind == 6)
        fuzz_inflate(LW_INFLATE_DEFLATE, in, len, seed);
    else
        fuzz_oneshot(in, len, seed);
    return 0;
}
