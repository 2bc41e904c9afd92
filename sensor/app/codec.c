/*
 * codec.c - streaming text codecs and one-shot decoders (see codec.h).
 *
 * The streaming decoders are byte-at-a-time state machines. All the state
 * a decoder needs to resume in the middle of an escape lives in its struct
 * (a few bytes), so a feed may end anywhere, even between '%' and its first
 * hex digit, and the concatenated output is the same as for one whole
 * feed: the unit test and the fuzz harness compare the two. Input is read
 * through lw_cursor; output is gathered in a small buffer on the stack and
 * handed to the callback when it fills and at the end of every feed, so a
 * caller never sees one call per byte and never needs to wait for the next
 * feed to see bytes that are already decoded.
 *
 * Malformed input never stops a decoder. Each one counts it in `invalid`
 * and applies one policy, chosen so that what a receiver would most likely
 * display still reaches the matcher:
 *   base64 (RFC 4648 sections 4 and 5) - whitespace is skipped silently
 *     (MIME folds base64 into lines), any other byte outside both
 *     alphabets is counted and skipped; '=' ends the item and the rest is
 *     ignored until lw_b64_init. A byte is written as soon as its 8 bits
 *     are in, which is what decoding 4 characters into 3 bytes gives.
 *   quoted-printable (RFC 2045 section 6.7) - "=XX" in either case is a
 *     byte, "=\r\n" and "=\n" are soft line breaks and vanish; '=' followed
 *     by anything else is counted and passed through as it stands. The
 *     rule about trailing whitespace is not applied (it only removes
 *     spaces). A '=' that is the last byte of the item is a soft line break
 *     whose CRLF went to the MIME boundary, so finish drops it uncounted.
 *   percent-encoding (RFC 3986 section 2.1) - "%XX" is a byte, '+' a space
 *     in forms; a bad escape is counted and passed through.
 *   JSON (RFC 8259 section 7) - an unescaped '"' toggles "inside a
 *     string"; inside one the short escapes and \uXXXX are decoded, a
 *     surrogate pair becomes one code point, everything is written as
 *     UTF-8; a lone surrogate or a malformed \u escape becomes U+FFFD
 *     (counted); an unknown escape \x passes through as the two bytes.
 *     Bytes outside strings pass through, so numbers are scanned too.
 *     Most of a JSON text needs no decoding, so the decoder does not step
 *     through it byte by byte: from a plain state it looks for the next
 *     '"' or '\\' eight bytes at a time (SWAR), lets quotes toggle the
 *     state as it goes, and writes the run up to the next escape in one
 *     piece; only escapes take the state machine.
 *
 * The one-shot decoders serve DNS labels, where a wrong decode means a
 * false alert: they accept only an entire, canonical encoding (length
 * possible for the encoding, padding absent or exactly right, unused low
 * bits zero, as every encoder writes them) and return 0 otherwise.
 *
 * Nothing here allocates or keeps global state; inflate lives in inflate.c.
 */
#include "leakwatch/codec.h"
#include "leakwatch/ascii.h"

#include "leakwatch/cursor.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * Decoded bytes gathered before one call of the output callback. Every
 * call costs the consumer a fixed set-up (the matcher copies its look-back
 * context and starts a scan per piece), so pieces are made large: 256-byte
 * pieces cost a quarter of the matcher's time on JSON bodies.
 */
#define OBUF_SIZE 4096

typedef struct obuf {
    uint8_t b[OBUF_SIZE];
    size_t n;
    lw_codec_out_fn out;
    void *ctx;
} obuf;

static void ob_init(obuf *o, lw_codec_out_fn out, void *ctx)
{
    o->n = 0;
    o->out = out;
    o->ctx = ctx;
}

static void ob_flush(obuf *o)
{
    if (o->n > 0 && o->out)
        o->out(o->ctx, o->b, o->n);
    o->n = 0;
}

static void ob_put(obuf *o, uint8_t c)
{
    if (o->n == OBUF_SIZE)
        ob_flush(o);
    o->b[o->n++] = c;
}

/* Writes code point cp (at most U+10FFFF, no surrogates) as UTF-8. */
static void ob_put_utf8(obuf *o, uint32_t cp)
{
    if (cp < 0x80) {
        ob_put(o, (uint8_t)cp);
    } else if (cp < 0x800) {
        ob_put(o, (uint8_t)(0xc0 | cp >> 6));
        ob_put(o, (uint8_t)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        ob_put(o, (uint8_t)(0xe0 | cp >> 12));
        ob_put(o, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        ob_put(o, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        ob_put(o, (uint8_t)(0xf0 | cp >> 18));
        ob_put(o, (uint8_t)(0x80 | (cp >> 12 & 0x3f)));
        ob_put(o, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        ob_put(o, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

/* Base64 digit of c in either alphabet (RFC 4648 tables 1 and 2), or -1. */
static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Base32 digit of c (RFC 4648 table 3, either case), or -1. */
static int b32val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

static bool is_b64_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- base64 ------------------------------------------------------------- */

void lw_b64_init(lw_b64 *d)
{
    d->acc = 0;
    d->nbits = 0;
    d->ended = false;
    d->invalid = 0;
}

void lw_b64_feed(lw_b64 *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx)
{
    if (d->ended || len == 0)
        return;
    obuf o;
    ob_init(&o, out, ctx);
    lw_cursor c = lw_cur_make(in, len);
    while (lw_cur_left(&c) > 0) {
        uint8_t ch = lw_cur_u8(&c);
        int v = b64val(ch);
        if (v < 0) {
            if (ch == '=') {
                d->ended = true;
                break;
            }
            if (!is_b64_space(ch))
                d->invalid++;
            continue;
        }
        /* nbits stays below 8 between digits, so acc never holds more
         * than 13 bits. */
        d->acc = (d->acc << 6 | (uint32_t)v) & 0x3fff;
        d->nbits = (uint8_t)(d->nbits + 6);
        if (d->nbits >= 8) {
            d->nbits = (uint8_t)(d->nbits - 8);
            ob_put(&o, (uint8_t)(d->acc >> d->nbits));
        }
    }
    ob_flush(&o);
}

void lw_b64_finish(lw_b64 *d, lw_codec_out_fn out, void *ctx)
{
    /* Every complete byte was written by feed; fewer than 8 bits remain
     * and they do not make one. */
    (void)out;
    (void)ctx;
    d->acc = 0;
    d->nbits = 0;
}

/* ---- quoted-printable --------------------------------------------------- */

enum { QP_TEXT, QP_EQ, QP_EQ_HEX, QP_EQ_CR };

void lw_qp_init(lw_qp *d)
{
    d->state = QP_TEXT;
    d->hi = 0;
    d->invalid = 0;
}

/* The bytes of a broken escape go out as they came; `ch` is then read
 * again as text, since it may start the next escape. */
static void qp_step(lw_qp *d, obuf *o, uint8_t ch)
{
    for (;;) {
        switch (d->state) {
        case QP_TEXT:
            if (ch == '=')
                d->state = QP_EQ;
            else
                ob_put(o, ch);
            return;
        case QP_EQ:
            if (lw_hex_value(ch) >= 0) {
                d->hi = ch;
                d->state = QP_EQ_HEX;
                return;
            }
            if (ch == '\r') {
                d->state = QP_EQ_CR;
                return;
            }
            if (ch == '\n') {
                d->state = QP_TEXT; /* soft line break, bare LF */
                return;
            }
            d->invalid++;
            ob_put(o, '=');
            break;
        case QP_EQ_HEX:
            if (lw_hex_value(ch) >= 0) {
                ob_put(o, (uint8_t)(lw_hex_value(d->hi) << 4 | lw_hex_value(ch)));
                d->state = QP_TEXT;
                return;
            }
            d->invalid++;
            ob_put(o, '=');
            ob_put(o, d->hi);
            break;
        default: /* QP_EQ_CR */
            if (ch == '\n') {
                d->state = QP_TEXT; /* soft line break */
                return;
            }
            d->invalid++;
            ob_put(o, '=');
            ob_put(o, '\r');
            break;
        }
        d->state = QP_TEXT;
    }
}

void lw_qp_feed(lw_qp *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx)
{
    if (len == 0)
        return;
    obuf o;
    ob_init(&o, out, ctx);
    lw_cursor c = lw_cur_make(in, len);
    while (lw_cur_left(&c) > 0)
        qp_step(d, &o, lw_cur_u8(&c));
    ob_flush(&o);
}

void lw_qp_finish(lw_qp *d, lw_codec_out_fn out, void *ctx)
{
    obuf o;
    ob_init(&o, out, ctx);
    switch (d->state) {
    case QP_EQ: /* a final soft line break: nothing to write */
        break;
    case QP_EQ_HEX:
        d->invalid++;
        ob_put(&o, '=');
        ob_put(&o, d->hi);
        break;
    case QP_EQ_CR:
        d->invalid++;
        ob_put(&o, '=');
        ob_put(&o, '\r');
        break;
    default:
        break;
    }
    d->state = QP_TEXT;
    ob_flush(&o);
}

/* ---- percent-encoding --------------------------------------------------- */

enum { PCT_TEXT, PCT_PCT, PCT_PCT_HEX };

void lw_pct_init(lw_pct *d, bool plus_is_space)
{
    d->state = PCT_TEXT;
    d->hi = 0;
    d->plus_is_space = plus_is_space;
    d->invalid = 0;
}

static void pct_step(lw_pct *d, obuf *o, uint8_t ch)
{
    for (;;) {
        switch (d->state) {
        case PCT_TEXT:
            if (ch == '%')
                d->state = PCT_PCT;
            else if (ch == '+' && d->plus_is_space)
                ob_put(o, ' ');
            else
                ob_put(o, ch);
            return;
        case PCT_PCT:
            if (lw_hex_value(ch) >= 0) {
                d->hi = ch;
                d->state = PCT_PCT_HEX;
                return;
            }
            d->invalid++;
            ob_put(o, '%');
            break;
        default: /* PCT_PCT_HEX */
            if (lw_hex_value(ch) >= 0) {
                ob_put(o, (uint8_t)(lw_hex_value(d->hi) << 4 | lw_hex_value(ch)));
                d->state = PCT_TEXT;
                return;
            }
            d->invalid++;
            ob_put(o, '%');
            ob_put(o, d->hi);
            break;
        }
        d->state = PCT_TEXT; /* and read ch again as text */
    }
}

void lw_pct_feed(lw_pct *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx)
{
    if (len == 0)
        return;
    obuf o;
    ob_init(&o, out, ctx);
    lw_cursor c = lw_cur_make(in, len);
    while (lw_cur_left(&c) > 0)
        pct_step(d, &o, lw_cur_u8(&c));
    ob_flush(&o);
}

void lw_pct_finish(lw_pct *d, lw_codec_out_fn out, void *ctx)
{
    obuf o;
    ob_init(&o, out, ctx);
    if (d->state != PCT_TEXT) {
        d->invalid++;
        ob_put(&o, '%');
        if (d->state == PCT_PCT_HEX)
            ob_put(&o, d->hi);
    }
    d->state = PCT_TEXT;
    ob_flush(&o);
}

/* ---- JSON string escapes ------------------------------------------------ */

enum { JS_OUT, JS_STR, JS_ESC, JS_HEX };

#define REPLACEMENT 0xfffd

void lw_jsonesc_init(lw_jsonesc *d)
{
    d->state = JS_OUT;
    d->nhex = 0;
    d->cp = 0;
    d->high = 0;
    d->invalid = 0;
}

/* A high surrogate not followed by a low one stands alone: U+FFFD. */
static void js_drop_high(lw_jsonesc *d, obuf *o)
{
    if (d->high) {
        d->invalid++;
        ob_put_utf8(o, REPLACEMENT);
        d->high = 0;
    }
}

/* A complete \uXXXX escape with value cp. */
static void js_codepoint(lw_jsonesc *d, obuf *o, uint32_t cp)
{
    if (cp >= 0xdc00 && cp <= 0xdfff) {
        if (d->high) {
            ob_put_utf8(o, 0x10000 + ((d->high - 0xd800) << 10) + (cp - 0xdc00));
            d->high = 0;
        } else {
            d->invalid++;
            ob_put_utf8(o, REPLACEMENT);
        }
        return;
    }
    js_drop_high(d, o);
    if (cp >= 0xd800 && cp <= 0xdbff)
        d->high = cp; /* wait for its low half */
    else
        ob_put_utf8(o, cp);
}

static uint8_t js_short_escape(uint8_t ch)
{
    switch (ch) {
    case '"':
    case '\\':
    case '/':
        return ch;
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return 0;
    }
}

/* A stretch of plain JSON bytes at least this long goes out without a copy. */
#define JS_RUN_DIRECT 512

/*
 * Writes a plain stretch of n bytes: a long one straight to the callback
 * (after what is buffered, so the order holds), a short one into the
 * buffer, filling it before a flush, so short stretches and escapes'
 * output go out together in full pieces.
 */
static void ob_write(obuf *o, const uint8_t *p, size_t n)
{
    if (n >= JS_RUN_DIRECT) {
        ob_flush(o);
        if (o->out)
            o->out(o->ctx, p, n);
        return;
    }
    while (n > 0) {
        if (o->n == OBUF_SIZE)
            ob_flush(o);
        size_t k = OBUF_SIZE - o->n < n ? OBUF_SIZE - o->n : n;
        memcpy(o->b + o->n, p, k);
        o->n += k;
        p += k;
        n -= k;
    }
}

#define SWAR_ONES  UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

/* Bit 7 of each byte of the result is set where the byte of x is zero, and
 * the lowest set bit is exact (a false bit can only sit above a true one). */
static uint64_t swar_zero(uint64_t x)
{
    return (x - SWAR_ONES) & ~x & SWAR_HIGHS;
}

/* Offset of the first '"' or '\\' in p[0, n), or n: sixteen bytes per step
 * where SSE2 is (every x86-64), then eight (a word load through memcpy, so
 * no alignment is assumed), then bytes. JSON bodies are a third of web
 * traffic, and this looks at every byte of them. */
static size_t js_find_special(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned hit = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if (hit)
            return i + (size_t)__builtin_ctz(hit);
    }
#endif
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t hit = swar_zero(w ^ (SWAR_ONES * '"')) | swar_zero(w ^ (SWAR_ONES * '\\'));
        if (hit == 0)
            continue;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return i + (size_t)__builtin_ctzll(hit) / 8;
#else
        break; /* the bytes below find it */
#endif
    }
    for (; i < n; i++)
        if (p[i] == '"' || p[i] == '\\')
            return i;
    return n;
}

/*
 * The length of the plain stretch at the start of p[0, n) for a decoder in
 * JS_OUT, or in JS_STR with no pending surrogate: the bytes js_step would
 * write as they stand, so they go out unchanged and in one piece. Plain are
 * a '"' - it also toggles "inside a string" - and any byte but '\\' inside
 * a string; so this stops before a '\\' inside a string (an escape) or at
 * n. Inside a string no surrogate becomes pending without an escape, and
 * leaving one drops none. *in_str is the state after.
 */
static size_t js_plain(const uint8_t *p, size_t n, bool *in_str)
{
    size_t i = 0;
    bool str = *in_str;
#if defined(__SSE2__)
    /* Sixteen bytes a step, the string state carried through the quotes of
     * the step by a prefix parity: JSON has a quote every few bytes. */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        uint32_t q = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
        uint32_t b = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash));
        if (!(q | b))
            continue;
        uint32_t par = q; /* bit k: odd number of quotes in bytes 0..k */
        par ^= par << 1;
        par ^= par << 2;
        par ^= par << 4;
        par ^= par << 8;
        /* bit k: inside a string just before byte k */
        uint32_t inside = ((par << 1) ^ (str ? 0xffffu : 0u)) & 0xffffu;
        uint32_t escape = b & inside; /* a backslash inside a string */
        if (escape) {
            unsigned k = (unsigned)__builtin_ctz(escape);
            *in_str = (inside >> k) & 1u;
            return i + k;
        }
        str ^= (par >> 15) & 1u;
    }
#endif
    for (;;) {
        i += js_find_special(p + i, n - i);
        if (i == n || (p[i] == '\\' && str))
            break;
        if (p[i] == '"')
            str = !str;
        i++; /* a quote, or a backslash outside strings */
    }
    *in_str = str;
    return i;
}

static void js_step(lw_jsonesc *d, obuf *o, uint8_t ch)
{
    for (;;) {
        switch (d->state) {
        case JS_OUT:
            ob_put(o, ch);
            if (ch == '"')
                d->state = JS_STR;
            return;
        case JS_STR:
            if (ch == '\\') {
                d->state = JS_ESC; /* a pending high surrogate waits */
                return;
            }
            js_drop_high(d, o);
            ob_put(o, ch);
            if (ch == '"')
                d->state = JS_OUT;
            return;
        case JS_ESC: {
            if (ch == 'u') {
                d->state = JS_HEX;
                d->nhex = 0;
                d->cp = 0;
                return;
            }
            js_drop_high(d, o);
            uint8_t e = js_short_escape(ch);
            if (e) {
                ob_put(o, e);
            } else {
                d->invalid++;
                ob_put(o, '\\');
                ob_put(o, ch);
            }
            d->state = JS_STR;
            return;
        }
        default: { /* JS_HEX */
            int v = lw_hex_value(ch);
            if (v >= 0) {
                d->cp = d->cp << 4 | (uint32_t)v;
                if (++d->nhex == 4) {
                    d->state = JS_STR;
                    js_codepoint(d, o, d->cp);
                }
                return;
            }
            /* A malformed \u escape; ch may be the closing quote, so it is
             * read again as string text. */
            js_drop_high(d, o);
            d->invalid++;
            ob_put_utf8(o, REPLACEMENT);
            d->state = JS_STR;
            break;
        }
        }
    }
}

void lw_jsonesc_feed(lw_jsonesc *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx)
{
    if (len == 0)
        return;
    obuf o;
    ob_init(&o, out, ctx);
    lw_cursor c = lw_cur_make(in, len);
    while (lw_cur_left(&c) > 0) {
        if (d->state == JS_OUT || (d->state == JS_STR && !d->high)) {
            /* Bytes that only toggle the string state or change nothing
             * pass through as they are: find them a word at a time and
             * write them as one stretch instead of stepping the state
             * machine per byte; only an escape needs js_step. */
            bool in_str = d->state == JS_STR;
            size_t plain = js_plain(c.ptr, lw_cur_left(&c), &in_str);
            ob_write(&o, c.ptr, plain);
            lw_cur_skip(&c, plain);
            d->state = in_str ? JS_STR : JS_OUT;
            if (lw_cur_left(&c) == 0)
                break;
        }
        js_step(d, &o, lw_cur_u8(&c));
    }
    ob_flush(&o);
}

void lw_jsonesc_finish(lw_jsonesc *d, lw_codec_out_fn out, void *ctx)
{
    obuf o;
    ob_init(&o, out, ctx);
    js_drop_high(d, &o);
    if (d->state == JS_ESC) {
        d->invalid++;
        ob_put(&o, '\\');
    } else if (d->state == JS_HEX) {
        d->invalid++;
        ob_put_utf8(&o, REPLACEMENT);
    }
    d->state = JS_OUT;
    d->nhex = 0;
    d->cp = 0;
    ob_flush(&o);
}

/* ---- one-shot decoders -------------------------------------------------- */

size_t lw_hex_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    if (len == 0 || len % 2 != 0 || len / 2 > cap)
        return 0;
    lw_cursor c = lw_cur_make(in, len);
    size_t n = 0;
    while (lw_cur_left(&c) >= 2) {
        int hi = lw_hex_value(lw_cur_u8(&c));
        int lo = lw_hex_value(lw_cur_u8(&c));
        if (hi < 0 || lo < 0)
            return 0;
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

/* Shared by base32 and base64: returns the length without the trailing
 * run of '=' and stores the run's length in *pad. A '=' elsewhere is left
 * in the data, where the alphabet check refuses it. */
static size_t strip_padding(const uint8_t *in, size_t len, size_t *pad)
{
    size_t n = len;
    while (n > 0 && in[n - 1] == '=')
        n--;
    *pad = len - n;
    return n;
}

/*
 * The bit pump both one-shot decoders share: `bits` bits per symbol (5 for
 * base32, 6 for base64) from val(), out as bytes. The caller has checked the
 * length and that the output fits. Returns 0 on a bad symbol or when the
 * unused low bits are not zero (encoders leave them zero: RFC 4648 section
 * 3.5, so anything else is not an encoding).
 */
static size_t radix_decode(const uint8_t *in, size_t n, uint8_t *out, unsigned bits,
                           int (*val)(uint8_t))
{
    lw_cursor c = lw_cur_make(in, n);
    uint32_t acc = 0;
    unsigned nbits = 0;
    size_t k = 0;
    while (lw_cur_left(&c) > 0) {
        int v = val(lw_cur_u8(&c));
        if (v < 0)
            return 0;
        acc = (acc << bits | (uint32_t)v) & ((1u << (bits + 8)) - 1);
        nbits += bits;
        if (nbits >= 8) {
            nbits -= 8;
            out[k++] = (uint8_t)(acc >> nbits);
        }
    }
    if (acc & ((1u << nbits) - 1))
        return 0;
    return k;
}

size_t lw_base32_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t pad;
    size_t n = strip_padding(in, len, &pad);
    size_t rem = n % 8;
    if (n == 0 || rem == 1 || rem == 3 || rem == 6)
        return 0;
    /* Padding, when present, fills the last group of 8 exactly. */
    if (pad > 0 && (rem == 0 || pad != 8 - rem))
        return 0;
    if (n / 8 * 5 + rem * 5 / 8 > cap)
        return 0;
    return radix_decode(in, n, out, 5, b32val);
}

size_t lw_base64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t pad;
    size_t n = strip_padding(in, len, &pad);
    size_t rem = n % 4;
    if (n == 0 || rem == 1)
        return 0;
    if (pad > 0 && (rem == 0 || pad != 4 - rem))
        return 0;
    if (n / 4 * 3 + rem * 3 / 4 > cap)
        return 0;
    return radix_decode(in, n, out, 6, b64val);
}
