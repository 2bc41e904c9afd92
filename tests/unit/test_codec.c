/*
 * test_codec.c - the shared content codecs: streaming base64, quoted-
 * printable, percent and JSON escapes, inflate with its bomb caps, and the
 * one-shot hex / base32 / base64 decoders.
 *
 * Every streaming vector is decoded three ways - whole, byte by byte, and
 * in pseudo-random splits (several fixed seeds, empty feeds included) -
 * and each way must give the expected bytes and the expected `invalid`
 * count, so a decoder that loses state across a feed boundary fails here.
 * The base64 and base32 vectors are RFC 4648 section 10's. Each policy for
 * malformed input has a test that hits it and checks the counter.
 *
 * Inflate inputs are made in the test with zlib's deflate (gzip, zlib and
 * raw framing) from a generated text; the bomb is 64 MiB of zeros
 * compressed on the fly, never held whole, and the sink only counts it.
 * Comparisons are in memory; nothing decoded is printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "leakwatch/codec.h"

/* ---- output sink -------------------------------------------------------- */

typedef struct sink {
    uint8_t *buf; /* NULL: count only */
    size_t len, cap;
    bool store;
    size_t calls;
    size_t max_chunk;
    uint64_t total;
    bool nonzero; /* a non-zero byte was seen (bomb of zeros) */
} sink;

static void sink_out(void *ctx, const uint8_t *data, size_t len)
{
    sink *s = ctx;
    assert_non_null(data);
    assert_true(len > 0);
    s->calls++;
    if (len > s->max_chunk)
        s->max_chunk = len;
    s->total += len;
    if (!s->store) {
        for (size_t i = 0; i < len; i++)
            if (data[i])
                s->nonzero = true;
        return;
    }
    if (s->len + len > s->cap) {
        size_t ncap = s->cap ? s->cap : 64;
        while (ncap < s->len + len)
            ncap *= 2;
        s->buf = realloc(s->buf, ncap);
        assert_non_null(s->buf);
        s->cap = ncap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
}

static void sink_init(sink *s, bool store)
{
    memset(s, 0, sizeof(*s));
    s->store = store;
}

static void sink_free(sink *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

static bool sink_is(const sink *s, const void *want, size_t len)
{
    return s->len == len && (len == 0 || memcmp(s->buf, want, len) == 0);
}

/* xorshift32: reproducible splits without global state */
static uint32_t rnd(uint32_t *st)
{
    uint32_t x = *st;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *st = x;
}

/* ---- one driver for the four text codecs -------------------------------- */

typedef enum codec { C_B64, C_QP, C_PCT, C_PCT_FORM, C_JSON } codec;

typedef struct any_codec {
    codec kind;
    union {
        lw_b64 b64;
        lw_qp qp;
        lw_pct pct;
        lw_jsonesc js;
    } u;
} any_codec;

static void any_init(any_codec *a, codec kind)
{
    a->kind = kind;
    switch (kind) {
    case C_B64:
        lw_b64_init(&a->u.b64);
        break;
    case C_QP:
        lw_qp_init(&a->u.qp);
        break;
    case C_PCT:
    case C_PCT_FORM:
        lw_pct_init(&a->u.pct, kind == C_PCT_FORM);
        break;
    case C_JSON:
        lw_jsonesc_init(&a->u.js);
        break;
    }
}

static void any_feed(any_codec *a, const uint8_t *in, size_t len, sink *s)
{
    switch (a->kind) {
    case C_B64:
        lw_b64_feed(&a->u.b64, in, len, sink_out, s);
        break;
    case C_QP:
        lw_qp_feed(&a->u.qp, in, len, sink_out, s);
        break;
    case C_PCT:
    case C_PCT_FORM:
        lw_pct_feed(&a->u.pct, in, len, sink_out, s);
        break;
    case C_JSON:
        lw_jsonesc_feed(&a->u.js, in, len, sink_out, s);
        break;
    }
}

static void any_finish(any_codec *a, sink *s)
{
    switch (a->kind) {
    case C_B64:
        lw_b64_finish(&a->u.b64, sink_out, s);
        break;
    case C_QP:
        lw_qp_finish(&a->u.qp, sink_out, s);
        break;
    case C_PCT:
    case C_PCT_FORM:
        lw_pct_finish(&a->u.pct, sink_out, s);
        break;
    case C_JSON:
        lw_jsonesc_finish(&a->u.js, sink_out, s);
        break;
    }
}

static uint64_t any_invalid(const any_codec *a)
{
    switch (a->kind) {
    case C_B64:
        return a->u.b64.invalid;
    case C_QP:
        return a->u.qp.invalid;
    case C_PCT:
    case C_PCT_FORM:
        return a->u.pct.invalid;
    case C_JSON:
        return a->u.js.invalid;
    }
    return 0;
}

enum { SPLIT_WHOLE = -2, SPLIT_BYTES = -1 }; /* otherwise a random seed */

static uint64_t run_split(codec kind, const uint8_t *in, size_t len, int split, sink *s)
{
    any_codec a;
    any_init(&a, kind);
    if (split == SPLIT_WHOLE) {
        any_feed(&a, in, len, s);
    } else if (split == SPLIT_BYTES) {
        for (size_t i = 0; i < len; i++)
            any_feed(&a, in + i, 1, s);
    } else {
        uint32_t st = (uint32_t)split * 2654435761u + 1;
        size_t i = 0;
        while (i < len) {
            size_t n = rnd(&st) % 6; /* 0..5: empty feeds too */
            if (n > len - i)
                n = len - i;
            any_feed(&a, in + i, n, s);
            i += n;
        }
    }
    any_finish(&a, s);
    return any_invalid(&a);
}

/* Decodes `in` whole, byte by byte and in 8 random splits; each must give
 * `want` and count `want_invalid`. */
static void check_codec(codec kind, const void *in, size_t in_len, const void *want,
                        size_t want_len, uint64_t want_invalid)
{
    for (int split = SPLIT_WHOLE; split < 8; split++) {
        sink s;
        sink_init(&s, true);
        uint64_t inv = run_split(kind, in, in_len, split, &s);
        assert_true(sink_is(&s, want, want_len));
        assert_int_equal(inv, want_invalid);
        sink_free(&s);
    }
}

#define CHECK(kind, in, want, inv)                                                                 \
    check_codec(kind, in, sizeof(in) - 1, want, sizeof(want) - 1, inv)

/* ---- base64 ------------------------------------------------------------- */

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    CHECK(C_B64, "", "", 0);
    CHECK(C_B64, "Zg==", "f", 0);
    CHECK(C_B64, "Zm8=", "fo", 0);
    CHECK(C_B64, "Zm9v", "foo", 0);
    CHECK(C_B64, "Zm9vYg==", "foob", 0);
    CHECK(C_B64, "Zm9vYmE=", "fooba", 0);
    CHECK(C_B64, "Zm9vYmFy", "foobar", 0);
}

static void test_b64_both_alphabets(void **state)
{
    (void)state;
    CHECK(C_B64, "+/8=", "\xfb\xff", 0);
    CHECK(C_B64, "-_8=", "\xfb\xff", 0);
    CHECK(C_B64, "-/+_", "\xfb\xff\xbf", 0);
}

static void test_b64_whitespace_not_counted(void **state)
{
    (void)state;
    CHECK(C_B64, "Zm9v\r\nYmFy", "foobar", 0);
    CHECK(C_B64, " Zm 9v\tYm\nFy\r\n", "foobar", 0);
}

static void test_b64_invalid_counted_and_skipped(void **state)
{
    (void)state;
    CHECK(C_B64, "Zm9v*YmFy!", "foobar", 2);
    CHECK(C_B64, "Z\x80m\xff\x00\x39v", "foo", 3);
}

static void test_b64_padding_ends_item(void **state)
{
    (void)state;
    CHECK(C_B64, "Zg==Zm9v", "f", 0);
    CHECK(C_B64, "Zg=!!!Zm9v", "f", 0); /* bytes after '=' are not even counted */

    /* ended survives finish; init starts over */
    lw_b64 d;
    sink s;
    sink_init(&s, true);
    lw_b64_init(&d);
    lw_b64_feed(&d, (const uint8_t *)"Zg==", 4, sink_out, &s);
    lw_b64_finish(&d, sink_out, &s);
    lw_b64_feed(&d, (const uint8_t *)"Zm9v", 4, sink_out, &s);
    assert_true(d.ended);
    assert_true(sink_is(&s, "f", 1));
    lw_b64_init(&d);
    lw_b64_feed(&d, (const uint8_t *)"Zm9v", 4, sink_out, &s);
    assert_true(sink_is(&s, "ffoo", 4));
    sink_free(&s);
}

static void test_b64_leftover_bits_dropped(void **state)
{
    (void)state;
    CHECK(C_B64, "Zm9vYg", "foob", 0); /* padding optional */
    CHECK(C_B64, "Zm9vY", "foo", 0);   /* 6 bits make no byte */
}

/* A byte is written in the feed that completes it, not at finish. */
static void test_b64_output_is_prompt(void **state)
{
    (void)state;
    lw_b64 d;
    sink s;
    sink_init(&s, true);
    lw_b64_init(&d);
    lw_b64_feed(&d, (const uint8_t *)"Z", 1, sink_out, &s);
    assert_int_equal(s.len, 0);
    lw_b64_feed(&d, (const uint8_t *)"m", 1, sink_out, &s);
    assert_true(sink_is(&s, "f", 1));
    lw_b64_feed(&d, (const uint8_t *)"9vYmFy", 6, sink_out, &s);
    assert_true(sink_is(&s, "foobar", 6));
    sink_free(&s);
}

/* Output is gathered: a long feed makes few callback calls. */
static void test_b64_output_chunked(void **state)
{
    (void)state;
    enum { N = 4000 };
    uint8_t in[N];
    for (size_t i = 0; i < N; i++)
        in[i] = "QUJD"[i % 4]; /* "ABC" repeated */
    lw_b64 d;
    sink s;
    sink_init(&s, true);
    lw_b64_init(&d);
    lw_b64_feed(&d, in, N, sink_out, &s);
    assert_int_equal(s.len, N / 4 * 3);
    assert_true(s.calls <= (N / 4 * 3) / 256 + 1);
    for (size_t i = 0; i < s.len; i++)
        assert_int_equal(s.buf[i], "ABC"[i % 3]);
    sink_free(&s);
}

/* ---- quoted-printable --------------------------------------------------- */

static void test_qp_escapes(void **state)
{
    (void)state;
    CHECK(C_QP, "=41=62c", "Abc", 0);
    CHECK(C_QP, "=4a=4A", "JJ", 0);
    CHECK(C_QP, "caf=C3=A9 au lait", "caf\xc3\xa9 au lait", 0);
    CHECK(C_QP, "a=3Db", "a=b", 0);
    CHECK(C_QP, "plain text\r\n", "plain text\r\n", 0);
}

static void test_qp_soft_line_breaks(void **state)
{
    (void)state;
    CHECK(C_QP, "user=\r\n@exam=\nple.com", "user@example.com", 0);
    CHECK(C_QP, "a=\r\n=\r\nb", "ab", 0);
}

static void test_qp_invalid_passed_through(void **state)
{
    (void)state;
    CHECK(C_QP, "a=zb", "a=zb", 1);
    CHECK(C_QP, "a=4zb", "a=4zb", 1);
    CHECK(C_QP, "a==41", "a=A", 1); /* the second '=' starts an escape */
    CHECK(C_QP, "a=4=41", "a=4A", 1);
    CHECK(C_QP, "=\rx", "=\rx", 1); /* CR without LF is no line break */
    CHECK(C_QP, "= \r\n", "= \r\n", 1);
}

static void test_qp_finish(void **state)
{
    (void)state;
    CHECK(C_QP, "abc=", "abc", 0); /* soft break whose CRLF went to the boundary */
    CHECK(C_QP, "abc=4", "abc=4", 1);
    CHECK(C_QP, "abc=\r", "abc=\r", 1);
}

/* ---- percent-encoding --------------------------------------------------- */

static void test_pct_escapes(void **state)
{
    (void)state;
    CHECK(C_PCT, "a%20b%2Fc%2fd", "a b/c/d", 0);
    CHECK(C_PCT, "user%40example.com", "user@example.com", 0);
    CHECK(C_PCT, "%00%ff", "\x00\xff", 0);
}

static void test_pct_plus(void **state)
{
    (void)state;
    CHECK(C_PCT_FORM, "a+b%2Bc", "a b+c", 0);
    CHECK(C_PCT, "a+b%2Bc", "a+b+c", 0);
}

static void test_pct_invalid_passed_through(void **state)
{
    (void)state;
    CHECK(C_PCT, "100%", "100%", 1);
    CHECK(C_PCT, "%zz", "%zz", 1);
    CHECK(C_PCT, "%4", "%4", 1);
    CHECK(C_PCT, "%4%41", "%4A", 1);
    CHECK(C_PCT, "%%41", "%A", 1);
    CHECK(C_PCT, "%g1%1g", "%g1%1g", 2);
    CHECK(C_PCT_FORM, "%+", "% ", 1); /* the '+' is read again as text */
}

/* ---- JSON escapes ------------------------------------------------------- */

static void test_json_unicode_escape(void **state)
{
    (void)state;
    CHECK(C_JSON, "{\"e\":\"a\\u0040example.com\"}", "{\"e\":\"a@example.com\"}", 0);
    CHECK(C_JSON, "\"\\u00e9\\u20AC\\u0000\"", "\"\xc3\xa9\xe2\x82\xac\x00\"", 0);
}

static void test_json_short_escapes(void **state)
{
    (void)state;
    CHECK(C_JSON, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\"\\/\b\f\n\r\t\"", 0);
}

static void test_json_surrogate_pairs(void **state)
{
    (void)state;
    CHECK(C_JSON, "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"", 0);
    CHECK(C_JSON, "\"\\uD83D\\uDE00x\"", "\"\xf0\x9f\x98\x80x\"", 0);
    CHECK(C_JSON, "\"\\udbff\\udfff\"", "\"\xf4\x8f\xbf\xbf\"", 0); /* U+10FFFF */
}

static void test_json_lone_surrogates(void **state)
{
    (void)state;
    CHECK(C_JSON, "\"\\ud83dx\"", "\"\xef\xbf\xbdx\"", 1);
    CHECK(C_JSON, "\"\\ude00\"", "\"\xef\xbf\xbd\"", 1);
    CHECK(C_JSON, "\"\\ud83d\"", "\"\xef\xbf\xbd\"", 1);
    CHECK(C_JSON, "\"\\ud83d\\ud83d\\ude00\"", "\"\xef\xbf\xbd\xf0\x9f\x98\x80\"", 1);
    CHECK(C_JSON, "\"\\ud83d\\n\"", "\"\xef\xbf\xbd\n\"", 1);
    CHECK(C_JSON, "\"\\ud83d\\u0041\"",
          "\"\xef\xbf\xbd"
          "A\"",
          1);
}

static void test_json_outside_strings_untouched(void **state)
{
    (void)state;
    CHECK(C_JSON, "[1, \\u0041, \"\\u0041\", 2]", "[1, \\u0041, \"A\", 2]", 0);
    /* an escaped quote does not end the string */
    CHECK(C_JSON, "\"a\\\"b\\u0041\" \\u0041", "\"a\"bA\" \\u0041", 0);
}

static void test_json_invalid_escapes(void **state)
{
    (void)state;
    CHECK(C_JSON, "\"\\x\"", "\"\\x\"", 1);
    /* a malformed \u: U+FFFD, and the bytes after it are read as text */
    CHECK(C_JSON, "\"\\u00zz\"", "\"\xef\xbf\xbdzz\"", 1);
    /* the quote that cut the escape still ends the string */
    CHECK(C_JSON, "\"\\u00\" \\u0041", "\"\xef\xbf\xbd\" \\u0041", 1);
}

static void test_json_finish(void **state)
{
    (void)state;
    CHECK(C_JSON, "\"\\u00", "\"\xef\xbf\xbd", 1);
    CHECK(C_JSON, "\"\\", "\"\\", 1);
    CHECK(C_JSON, "\"\\ud83d", "\"\xef\xbf\xbd", 1);

    /* after finish the decoder is outside strings again */
    lw_jsonesc d;
    sink s;
    sink_init(&s, true);
    lw_jsonesc_init(&d);
    lw_jsonesc_feed(&d, (const uint8_t *)"\"a", 2, sink_out, &s);
    lw_jsonesc_finish(&d, sink_out, &s);
    lw_jsonesc_feed(&d, (const uint8_t *)"\\u0041", 6, sink_out, &s);
    assert_true(sink_is(&s, "\"a\\u0041", 8));
    assert_int_equal(d.invalid, 0);
    sink_free(&s);
}

/* ---- JSON: the plain-run search (word at a time) at every offset ------- */

/* A 64-byte span of plain string text: letters, digits, spaces, no '"' or
 * '\\' (72 bytes with the slack a test splices into). */
static void plain_span(uint8_t *span, size_t n)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789 .,:;-_@ABCDEFGHIJ";
    for (size_t i = 0; i < n; i++)
        span[i] = (uint8_t)alpha[(i * 7 + 3) % (sizeof(alpha) - 1)];
}

/* '"' + span[0, k) + esc + span[k, 64) + '"' decodes to the same with the
 * escape's decoding, whole, byte by byte and split: so an escape at every
 * offset of the span, and every word position of the search, is found and
 * the run before it written intact. */
static void check_escape_at_offsets(const char *esc, const char *dec, size_t dec_len)
{
    uint8_t span[64], in[128], want[128];
    size_t el = strlen(esc);
    plain_span(span, sizeof(span));
    for (size_t k = 0; k <= sizeof(span); k++) {
        size_t n = 0, m = 0;
        in[n++] = '"';
        memcpy(in + n, span, k);
        n += k;
        memcpy(in + n, esc, el);
        n += el;
        memcpy(in + n, span + k, sizeof(span) - k);
        n += sizeof(span) - k;
        in[n++] = '"';
        want[m++] = '"';
        memcpy(want + m, span, k);
        m += k;
        memcpy(want + m, dec, dec_len);
        m += dec_len;
        memcpy(want + m, span + k, sizeof(span) - k);
        m += sizeof(span) - k;
        want[m++] = '"';
        check_codec(C_JSON, in, n, want, m, 0);
    }
}

static void test_json_backslash_at_every_offset(void **state)
{
    (void)state;
    check_escape_at_offsets("\\\\", "\\", 1);
    check_escape_at_offsets("\\n", "\n", 1);
    check_escape_at_offsets("\\\"", "\"", 1);
    check_escape_at_offsets("\\u00e9", "\xc3\xa9", 2);
    check_escape_at_offsets("\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4);
}

/* A quote at every offset of a span: it toggles the string state inside
 * the run, so an escape after it is decoded (inside) or not (outside). */
static void test_json_quote_at_every_offset(void **state)
{
    (void)state;
    uint8_t span[64], in[96], want[96];
    plain_span(span, sizeof(span));
    for (size_t k = 0; k < sizeof(span); k++) {
        /* outside, span with '"' at k, then \n: now inside, so decoded */
        size_t n = 0, m = 0;
        memcpy(in, span, sizeof(span));
        in[k] = '"';
        n = sizeof(span);
        memcpy(in + n, "\\n\"\\n", 5);
        n += 5;
        memcpy(want, in, sizeof(span));
        m = sizeof(span);
        memcpy(want + m, "\n\"\\n", 4); /* after the closing quote: outside again */
        m += 4;
        check_codec(C_JSON, in, n, want, m, 0);
    }
}

/* Outside strings a backslash is plain text at any offset: no decoding. */
static void test_json_backslash_outside_at_every_offset(void **state)
{
    (void)state;
    uint8_t span[64];
    plain_span(span, sizeof(span));
    for (size_t k = 0; k < sizeof(span); k++) {
        uint8_t in[64];
        memcpy(in, span, sizeof(span));
        in[k] = '\\';
        check_codec(C_JSON, in, sizeof(in), in, sizeof(in), 0);
    }
}

/* An escape cut by a feed boundary at every position, and the feed that
 * ends right at the backslash: same output as a whole feed. */
static void test_json_escape_split_across_feeds(void **state)
{
    (void)state;
    static const char text[] =
        "{\"k\":\"a\\u00e9b\\ud83d\\ude00c\\\\d\\\"e\\nf\\x\", \\n \"\\u12\"}";
    size_t len = sizeof(text) - 1;
    sink whole;
    sink_init(&whole, true);
    uint64_t inv_whole = run_split(C_JSON, (const uint8_t *)text, len, SPLIT_WHOLE, &whole);
    assert_int_equal(inv_whole, 2); /* \x and the cut \u12 */
    for (size_t cut = 0; cut <= len; cut++) {
        lw_jsonesc d;
        sink s;
        sink_init(&s, true);
        lw_jsonesc_init(&d);
        lw_jsonesc_feed(&d, (const uint8_t *)text, cut, sink_out, &s);
        lw_jsonesc_feed(&d, (const uint8_t *)text + cut, len - cut, sink_out, &s);
        lw_jsonesc_finish(&d, sink_out, &s);
        assert_true(sink_is(&s, whole.buf, whole.len));
        assert_int_equal(d.invalid, inv_whole);
        sink_free(&s);
    }
    sink_free(&whole);
}

/* Long plain runs (over the buffer and the direct-write length), quotes
 * inside them, and escapes between: order and bytes are kept, and a long
 * run goes out in few calls, not per byte. */
static void test_json_long_runs(void **state)
{
    (void)state;
    enum { N = 3000 };
    uint8_t *in = malloc(N), *want = malloc(N);
    assert_non_null(in);
    assert_non_null(want);
    size_t n = 0, m = 0;
    uint32_t st = 12345;
    in[n++] = want[m++] = '"'; /* inside a string; each "," leaves and re-enters */
    while (n + 8 < N) {
        uint32_t r = rnd(&st) % 40;
        if (r == 0) { /* a key/value pair boundary */
            memcpy(in + n, "\",\"", 3);
            memcpy(want + m, "\",\"", 3);
            n += 3;
            m += 3;
        } else if (r == 1) { /* an escape inside the string */
            memcpy(in + n, "\\t", 2);
            want[m++] = '\t';
            n += 2;
        } else {
            in[n++] = want[m++] = (uint8_t)('a' + r % 26);
        }
    }
    check_codec(C_JSON, in, n, want, m, 0);

    sink s;
    sink_init(&s, true);
    lw_jsonesc d;
    lw_jsonesc_init(&d);
    memset(in, 'z', N);
    in[0] = '"';
    lw_jsonesc_feed(&d, in, N, sink_out, &s);
    assert_int_equal(s.len, N);
    assert_true(s.calls <= 2);
    assert_int_equal(d.invalid, 0);
    sink_free(&s);
    free(in);
    free(want);
}

/* The callback gets few, large pieces (each costs the matcher a fixed
 * set-up): a stretch with no escape in one piece, however many quotes it
 * holds; escapes' output and the short stretches between them gathered in
 * pieces of up to 4096 bytes. */
static void test_json_pieces_are_large(void **state)
{
    (void)state;
    enum { N = 1000, M = 20000 };
    uint8_t in[M], want[M];
    for (size_t i = 0; i < N; i++)
        in[i] = (i % 7 == 0) ? '"' : (uint8_t)('a' + i % 26); /* runs of 6 */
    sink s;
    sink_init(&s, true);
    lw_jsonesc d;
    lw_jsonesc_init(&d);
    lw_jsonesc_feed(&d, in, N, sink_out, &s);
    assert_true(sink_is(&s, in, N));
    assert_int_equal(s.calls, 1);
    sink_free(&s);

    /* an escape every 50 bytes inside one string */
    size_t n = 0, m = 0;
    in[n++] = want[m++] = '"';
    while (n + 2 < M) {
        if (n % 50 == 0) {
            in[n++] = '\\';
            in[n++] = 'n';
            want[m++] = '\n';
        } else {
            in[n] = want[m++] = (uint8_t)('a' + n % 26);
            n++;
        }
    }
    sink_init(&s, true);
    lw_jsonesc_init(&d);
    lw_jsonesc_feed(&d, in, n, sink_out, &s);
    assert_true(sink_is(&s, want, m));
    assert_true(s.calls <= m / 4096 + 1);
    assert_int_equal(s.max_chunk, 4096);
    sink_free(&s);
}

/* A byte-at-a-time model of RFC 8259 string-escape decoding as codec.h
 * specifies it, to compare the run-based decoder with on generated text. */
typedef struct jsref {
    int state; /* 0 outside, 1 string, 2 after '\\', 3 in \u */
    int nhex;
    uint32_t cp, high;
    uint64_t invalid;
    uint8_t *out;
    size_t n;
} jsref;

static void ref_put(jsref *r, uint8_t c)
{
    r->out[r->n++] = c;
}

static void ref_utf8(jsref *r, uint32_t cp)
{
    if (cp < 0x80) {
        ref_put(r, (uint8_t)cp);
    } else if (cp < 0x800) {
        ref_put(r, (uint8_t)(0xc0 | cp >> 6));
        ref_put(r, (uint8_t)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        ref_put(r, (uint8_t)(0xe0 | cp >> 12));
        ref_put(r, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        ref_put(r, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        ref_put(r, (uint8_t)(0xf0 | cp >> 18));
        ref_put(r, (uint8_t)(0x80 | (cp >> 12 & 0x3f)));
        ref_put(r, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        ref_put(r, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

static void ref_lone(jsref *r)
{
    if (r->high) {
        r->invalid++;
        ref_utf8(r, 0xfffd);
        r->high = 0;
    }
}

static int ref_hex(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void ref_byte(jsref *r, uint8_t c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (r->state == 3) {
        int v = ref_hex(c);
        if (v >= 0) {
            r->cp = r->cp << 4 | (uint32_t)v;
            if (++r->nhex < 4)
                return;
            r->state = 1;
            if (r->cp >= 0xdc00 && r->cp <= 0xdfff) {
                if (r->high)
                    ref_utf8(r, 0x10000 + ((r->high - 0xd800) << 10) + (r->cp - 0xdc00));
                else
                    r->invalid++, ref_utf8(r, 0xfffd);
                r->high = 0;
            } else {
                ref_lone(r);
                if (r->cp >= 0xd800 && r->cp <= 0xdbff)
                    r->high = r->cp;
                else
                    ref_utf8(r, r->cp);
            }
            return;
        }
        ref_lone(r);
        r->invalid++;
        ref_utf8(r, 0xfffd);
        r->state = 1; /* and c is string text */
    }
    if (r->state == 0) {
        ref_put(r, c);
        if (c == '"')
            r->state = 1;
    } else if (r->state == 1) {
        if (c == '\\') {
            r->state = 2;
            return;
        }
        ref_lone(r);
        ref_put(r, c);
        if (c == '"')
            r->state = 0;
    } else if (c == 'u') {
        r->state = 3;
        r->nhex = 0;
        r->cp = 0;
    } else {
        ref_lone(r);
        const char *e = c ? strchr(from, c) : NULL;
        if (e) {
            ref_put(r, (uint8_t)to[e - from]);
        } else {
            r->invalid++;
            ref_put(r, '\\');
            ref_put(r, c);
        }
        r->state = 1;
    }
}

static void ref_finish(jsref *r)
{
    ref_lone(r);
    if (r->state == 2)
        r->invalid++, ref_put(r, '\\');
    else if (r->state == 3)
        r->invalid++, ref_utf8(r, 0xfffd);
    r->state = 0;
}

/* Generated texts over the bytes escapes are made of: the decoder equals
 * the byte-at-a-time model in output and in `invalid`, whole and split. */
static void test_json_matches_bytewise_model(void **state)
{
    (void)state;
    static const char alphabet[] = "\"\\\\\\uudD8eEcC0aA9fnbtx/ zZ\x01\xff";
    enum { LEN = 200 };
    uint8_t in[LEN], model[3 * LEN + 8];
    uint32_t st = 777;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + rnd(&st) % LEN;
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)alphabet[rnd(&st) % (sizeof(alphabet) - 1)];
        jsref r = {.out = model};
        for (size_t i = 0; i < n; i++)
            ref_byte(&r, in[i]);
        ref_finish(&r);
        check_codec(C_JSON, in, n, model, r.n, r.invalid);
    }
}

/* ---- one-shot decoders -------------------------------------------------- */

#define ONE(fn, in, buf) fn((const uint8_t *)(in), sizeof(in) - 1, buf, sizeof(buf))

static void test_hex_decode(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(ONE(lw_hex_decode, "48656c6C6f", out), 5);
    assert_true(memcmp(out, "Hello", 5) == 0);
    assert_int_equal(ONE(lw_hex_decode, "00ff", out), 2);
    assert_true(memcmp(out, "\x00\xff", 2) == 0);
    assert_int_equal(ONE(lw_hex_decode, "", out), 0);
    assert_int_equal(ONE(lw_hex_decode, "486", out), 0);  /* odd */
    assert_int_equal(ONE(lw_hex_decode, "48g5", out), 0); /* not hex */
    assert_int_equal(ONE(lw_hex_decode, "48 5", out), 0);
    uint8_t small[2];
    assert_int_equal(ONE(lw_hex_decode, "4865", small), 2);
    assert_int_equal(ONE(lw_hex_decode, "48656c", small), 0); /* does not fit */
}

static void check_b32(const char *in, const char *want)
{
    uint8_t out[16];
    size_t n = lw_base32_decode((const uint8_t *)in, strlen(in), out, sizeof(out));
    assert_int_equal(n, strlen(want));
    assert_true(memcmp(out, want, n) == 0);
}

static void test_base32_rfc4648_vectors(void **state)
{
    (void)state;
    check_b32("MY======", "f");
    check_b32("MZXQ====", "fo");
    check_b32("MZXW6===", "foo");
    check_b32("MZXW6YQ=", "foob");
    check_b32("MZXW6YTB", "fooba");
    check_b32("MZXW6YTBOI======", "foobar");
}

static void test_base32_unpadded_and_lower_case(void **state)
{
    (void)state;
    check_b32("MY", "f");
    check_b32("mzxq", "fo");
    check_b32("mzxw6", "foo");
    check_b32("MzXw6yQ", "foob");
    check_b32("mzxw6ytboi", "foobar");
}

static void test_base32_rejects(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(ONE(lw_base32_decode, "", out), 0);
    assert_int_equal(ONE(lw_base32_decode, "M", out), 0);         /* len % 8 == 1 */
    assert_int_equal(ONE(lw_base32_decode, "MZX", out), 0);       /* len % 8 == 3 */
    assert_int_equal(ONE(lw_base32_decode, "MZXW6Y", out), 0);    /* len % 8 == 6 */
    assert_int_equal(ONE(lw_base32_decode, "MZXW6YTBM", out), 0); /* 9 */
    assert_int_equal(ONE(lw_base32_decode, "MY=", out), 0);       /* short padding */
    assert_int_equal(ONE(lw_base32_decode, "MY=======", out), 0); /* long padding */
    assert_int_equal(ONE(lw_base32_decode, "MZXW6YTB========", out), 0);
    assert_int_equal(ONE(lw_base32_decode, "========", out), 0);
    assert_int_equal(ONE(lw_base32_decode, "MY=A====", out), 0); /* '=' inside */
    assert_int_equal(ONE(lw_base32_decode, "MZXW1===", out), 0); /* '1' not in alphabet */
    assert_int_equal(ONE(lw_base32_decode, "MZXW8===", out), 0);
    assert_int_equal(ONE(lw_base32_decode, "MZ", out), 0); /* unused bits not zero */
    assert_int_equal(ONE(lw_base32_decode, "MZXW7", out), 0);
    uint8_t small[4];
    assert_int_equal(ONE(lw_base32_decode, "MZXW6YQ", small), 4);
    assert_int_equal(ONE(lw_base32_decode, "MZXW6YTB", small), 0); /* does not fit */
}

static void check_b64(const char *in, const char *want)
{
    uint8_t out[16];
    size_t n = lw_base64_decode((const uint8_t *)in, strlen(in), out, sizeof(out));
    assert_int_equal(n, strlen(want));
    assert_true(memcmp(out, want, n) == 0);
}

static void test_base64_oneshot_vectors(void **state)
{
    (void)state;
    check_b64("Zg==", "f");
    check_b64("Zm8=", "fo");
    check_b64("Zm9v", "foo");
    check_b64("Zm9vYg==", "foob");
    check_b64("Zm9vYmE=", "fooba");
    check_b64("Zm9vYmFy", "foobar");
    check_b64("Zg", "f");
    check_b64("Zm9vYmE", "fooba");
    check_b64("-_8", "\xfb\xff");
    check_b64("+/8=", "\xfb\xff");
}

static void test_base64_oneshot_rejects(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(ONE(lw_base64_decode, "", out), 0);
    assert_int_equal(ONE(lw_base64_decode, "Z", out), 0);     /* len % 4 == 1 */
    assert_int_equal(ONE(lw_base64_decode, "Zm9vY", out), 0); /* len % 4 == 1 */
    assert_int_equal(ONE(lw_base64_decode, "Zg=", out), 0);   /* short padding */
    assert_int_equal(ONE(lw_base64_decode, "Zg===", out), 0); /* long padding */
    assert_int_equal(ONE(lw_base64_decode, "Zm9v====", out), 0);
    assert_int_equal(ONE(lw_base64_decode, "Zg=v", out), 0);  /* '=' inside */
    assert_int_equal(ONE(lw_base64_decode, "Zm 9v", out), 0); /* whitespace */
    assert_int_equal(ONE(lw_base64_decode, "Zm9v!A==", out), 0);
    assert_int_equal(ONE(lw_base64_decode, "Zh==", out), 0); /* unused bits not zero */
    assert_int_equal(ONE(lw_base64_decode, "Zm9=", out), 0);
    uint8_t small[3];
    assert_int_equal(ONE(lw_base64_decode, "Zm9v", small), 3);
    assert_int_equal(ONE(lw_base64_decode, "Zm9vYg", small), 0); /* does not fit */
}

/* ---- inflate ------------------------------------------------------------ */

typedef struct blob {
    uint8_t *p;
    size_t len;
} blob;

/* A text of `n` bytes that compresses but not absurdly (about 3:1). */
static blob make_text(size_t n)
{
    blob b = {malloc(n), n};
    assert_non_null(b.p);
    uint32_t st = 12345;
    static const char words[][8] = {"alpha ", "bravo ", "charlie", "delta ", "echo ",
                                    "fox ",   "golf ",  "hotel ",  "\n"};
    size_t i = 0;
    while (i < n) {
        const char *w = words[rnd(&st) % 9];
        for (size_t k = 0; w[k] && i < n; k++)
            b.p[i++] = (uint8_t)w[k];
        if (i < n && rnd(&st) % 4 == 0)
            b.p[i++] = (uint8_t)('0' + rnd(&st) % 10);
    }
    return b;
}

/* Compresses src[0..len), or len zero bytes when src is NULL, with the
 * given window bits (31 gzip, 15 zlib, -15 raw), streaming the input. */
static blob compress_blob(const uint8_t *src, size_t len, int bits)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, len) + 64;
    blob b = {malloc(cap), 0};
    assert_non_null(b.p);
    static const uint8_t zero[65536];
    size_t done = 0;
    int ret;
    zs.next_out = b.p;
    zs.avail_out = (uInt)cap;
    do {
        size_t n = len - done > sizeof(zero) ? sizeof(zero) : len - done;
        zs.next_in = (Bytef *)(uintptr_t)(src ? src + done : zero);
        zs.avail_in = (uInt)n;
        done += n;
        ret = deflate(&zs, done == len ? Z_FINISH : Z_NO_FLUSH);
        assert_true(ret == Z_OK || ret == Z_STREAM_END);
        assert_int_equal(zs.avail_in, 0);
    } while (ret != Z_STREAM_END);
    b.len = cap - zs.avail_out;
    deflateEnd(&zs);
    return b;
}

/* Feeds `c` to a new inflater in pieces of 1..maxpiece bytes (0 = whole). */
static lw_inflate_status inflate_split(lw_inflate_kind kind, const blob *c, size_t maxpiece,
                                       uint32_t seed, uint64_t max_out, uint32_t ratio, sink *s)
{
    lw_inflate *z = lw_inflate_new(kind, max_out, ratio);
    assert_non_null(z);
    lw_inflate_status st = LW_INFLATE_OK;
    size_t i = 0;
    while (i < c->len) {
        size_t n = maxpiece ? 1 + rnd(&seed) % maxpiece : c->len;
        if (n > c->len - i)
            n = c->len - i;
        st = lw_inflate_feed(z, c->p + i, n, sink_out, s);
        i += n;
    }
    assert_int_equal(lw_inflate_total_out(z), s->total);
    lw_inflate_free(z);
    return st;
}

static void check_roundtrip(lw_inflate_kind kind, int bits)
{
    blob t = make_text(200000);
    blob c = compress_blob(t.p, t.len, bits);
    static const size_t pieces[] = {0, 1, 7, 300, 5000};
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        sink s;
        sink_init(&s, true);
        lw_inflate_status st =
            inflate_split(kind, &c, pieces[k], 99 + (uint32_t)k, UINT64_MAX, 1000, &s);
        assert_int_equal(st, LW_INFLATE_DONE);
        assert_true(sink_is(&s, t.p, t.len));
        assert_true(s.max_chunk <= 16 * 1024);
        sink_free(&s);
    }
    free(c.p);
    free(t.p);
}

static void test_inflate_gzip(void **state)
{
    (void)state;
    check_roundtrip(LW_INFLATE_GZIP, 31);
}

static void test_inflate_deflate_zlib(void **state)
{
    (void)state;
    check_roundtrip(LW_INFLATE_DEFLATE, 15);
}

static void test_inflate_deflate_raw(void **state)
{
    (void)state;
    check_roundtrip(LW_INFLATE_DEFLATE, -15);
}

static void test_inflate_deflate_takes_gzip(void **state)
{
    (void)state;
    check_roundtrip(LW_INFLATE_DEFLATE, 31);
}

/* DEFLATE holds a lone first byte until the second decides the format. */
static void test_inflate_deflate_header_split(void **state)
{
    (void)state;
    static const uint8_t text[] = "a short text, split after its first byte";
    for (int bits = -15; bits <= 15; bits += 30) {
        blob c = compress_blob(text, sizeof(text) - 1, bits);
        lw_inflate *z = lw_inflate_new(LW_INFLATE_DEFLATE, 1 << 20, 100);
        assert_non_null(z);
        sink s;
        sink_init(&s, true);
        assert_int_equal(lw_inflate_feed(z, c.p, 1, sink_out, &s), LW_INFLATE_OK);
        assert_int_equal(s.calls, 0);
        assert_int_equal(lw_inflate_feed(z, c.p + 1, c.len - 1, sink_out, &s), LW_INFLATE_DONE);
        assert_true(sink_is(&s, text, sizeof(text) - 1));
        lw_inflate_free(z);
        sink_free(&s);
        free(c.p);
    }
}

/* The wrong framing for GZIP is corrupt. */
static void test_inflate_gzip_rejects_zlib(void **state)
{
    (void)state;
    static const uint8_t text[] = "hello hello hello";
    blob c = compress_blob(text, sizeof(text) - 1, 15);
    sink s;
    sink_init(&s, true);
    assert_int_equal(inflate_split(LW_INFLATE_GZIP, &c, 0, 1, 1 << 20, 100, &s),
                     LW_INFLATE_CORRUPT);
    assert_int_equal(s.len, 0);
    sink_free(&s);
    free(c.p);
}

/* 64 MiB of zeros: cut at max_out exactly, in bounded chunks. */
static void test_inflate_bomb_max_out(void **state)
{
    (void)state;
    blob c = compress_blob(NULL, (size_t)64 << 20, 31);
    assert_true(c.len < 128 * 1024); /* a bomb: > 500:1 */
    static const size_t pieces[] = {0, 1000};
    for (size_t k = 0; k < 2; k++) {
        sink s;
        sink_init(&s, false);
        lw_inflate *z = lw_inflate_new(LW_INFLATE_GZIP, 1000003, 0);
        assert_non_null(z);
        lw_inflate_status st = LW_INFLATE_OK;
        size_t i = 0;
        while (i < c.len && st == LW_INFLATE_OK) {
            size_t n = pieces[k] && pieces[k] < c.len - i ? pieces[k] : c.len - i;
            st = lw_inflate_feed(z, c.p + i, n, sink_out, &s);
            i += n;
        }
        assert_int_equal(st, LW_INFLATE_BOMB);
        assert_int_equal(s.total, 1000003);
        assert_int_equal(lw_inflate_total_out(z), 1000003);
        assert_false(s.nonzero);
        assert_true(s.max_chunk <= 16 * 1024);
        /* later input is ignored */
        size_t calls = s.calls;
        assert_int_equal(lw_inflate_feed(z, c.p, c.len, sink_out, &s), LW_INFLATE_BOMB);
        assert_int_equal(s.calls, calls);
        lw_inflate_free(z);
    }
    free(c.p);
}

/* A stream exactly max_out long is DONE; one byte less allowed is BOMB. */
static void test_inflate_max_out_boundary(void **state)
{
    (void)state;
    blob t = make_text(50000);
    blob c = compress_blob(t.p, t.len, 15);
    sink s;
    sink_init(&s, true);
    assert_int_equal(inflate_split(LW_INFLATE_DEFLATE, &c, 0, 1, t.len, 0, &s), LW_INFLATE_DONE);
    assert_true(sink_is(&s, t.p, t.len));
    sink_free(&s);
    for (size_t piece = 0; piece <= 64; piece += 64) {
        sink_init(&s, true);
        assert_int_equal(inflate_split(LW_INFLATE_DEFLATE, &c, piece, 5, t.len - 1, 0, &s),
                         LW_INFLATE_BOMB);
        assert_true(sink_is(&s, t.p, t.len - 1));
        sink_free(&s);
    }
    free(c.p);
    free(t.p);
}

/* The ratio cap: past 64 KiB, output beyond max_ratio x input is BOMB. */
static void test_inflate_ratio_cap(void **state)
{
    (void)state;
    blob c = compress_blob(NULL, (size_t)16 << 20, 31);
    sink s;
    sink_init(&s, false);
    lw_inflate *z = lw_inflate_new(LW_INFLATE_GZIP, UINT64_MAX, 100);
    assert_non_null(z);
    size_t fed = 0;
    lw_inflate_status st = LW_INFLATE_OK;
    while (fed < c.len && st == LW_INFLATE_OK) {
        size_t n = c.len - fed < 512 ? c.len - fed : 512;
        st = lw_inflate_feed(z, c.p + fed, n, sink_out, &s);
        fed += n;
    }
    assert_int_equal(st, LW_INFLATE_BOMB);
    assert_true(s.total > 64 * 1024); /* the grace applies */
    /* passed by one buffer at most */
    uint64_t bound = 100 * (uint64_t)fed > 64 * 1024 ? 100 * (uint64_t)fed : 64 * 1024;
    assert_true(s.total <= bound + 16 * 1024);
    assert_true(s.total < (uint64_t)16 << 20);
    lw_inflate_free(z);
    sink_free(&s);

    /* the same text within its ratio is not a bomb; 0 disables the cap */
    blob t = make_text(300000);
    blob ct = compress_blob(t.p, t.len, 31);
    sink_init(&s, true);
    assert_int_equal(inflate_split(LW_INFLATE_GZIP, &ct, 0, 1, UINT64_MAX, 20, &s),
                     LW_INFLATE_DONE);
    sink_free(&s);
    sink_init(&s, false);
    assert_int_equal(inflate_split(LW_INFLATE_GZIP, &c, 4096, 1, UINT64_MAX, 0, &s),
                     LW_INFLATE_DONE);
    assert_int_equal(s.total, (uint64_t)16 << 20);
    sink_free(&s);
    free(ct.p);
    free(t.p);
    free(c.p);
}

/* Corrupt data: output so far is kept, later input ignored. */
static void test_inflate_corrupt(void **state)
{
    (void)state;
    blob t = make_text(100000);
    blob c = compress_blob(t.p, t.len, 15);
    for (size_t i = c.len / 2; i < c.len / 2 + 64; i++)
        c.p[i] ^= 0x5a;
    sink s;
    sink_init(&s, true);
    lw_inflate *z = lw_inflate_new(LW_INFLATE_DEFLATE, UINT64_MAX, 1000);
    assert_non_null(z);
    assert_int_equal(lw_inflate_feed(z, c.p, c.len, sink_out, &s), LW_INFLATE_CORRUPT);
    /* what came before the damage is right (after it zlib may write some
     * garbage before it notices) */
    assert_true(s.len > t.len / 4);
    assert_true(memcmp(s.buf, t.p, t.len / 4) == 0);
    size_t calls = s.calls;
    assert_int_equal(lw_inflate_feed(z, c.p, c.len, sink_out, &s), LW_INFLATE_CORRUPT);
    assert_int_equal(s.calls, calls);
    lw_inflate_free(z);
    sink_free(&s);

    /* garbage from the first byte */
    static const uint8_t junk[] = "this is not compressed at all";
    blob j = {(uint8_t *)(uintptr_t)junk, sizeof(junk) - 1};
    sink_init(&s, true);
    assert_int_equal(inflate_split(LW_INFLATE_GZIP, &j, 3, 1, 1 << 20, 100, &s),
                     LW_INFLATE_CORRUPT);
    sink_free(&s);
    free(c.p);
    free(t.p);
}

/* A gzip member whose CRC does not match: all output, then CORRUPT. */
static void test_inflate_gzip_bad_crc(void **state)
{
    (void)state;
    blob t = make_text(3000);
    blob c = compress_blob(t.p, t.len, 31);
    c.p[c.len - 8] ^= 1; /* trailer: CRC32, then ISIZE */
    sink s;
    sink_init(&s, true);
    assert_int_equal(inflate_split(LW_INFLATE_GZIP, &c, 0, 1, 1 << 20, 100, &s),
                     LW_INFLATE_CORRUPT);
    assert_true(sink_is(&s, t.p, t.len));
    sink_free(&s);
    free(c.p);
    free(t.p);
}

/* A truncated member: a prefix of the text, never DONE, no crash. */
static void test_inflate_truncated(void **state)
{
    (void)state;
    blob t = make_text(100000);
    blob c = compress_blob(t.p, t.len, 31);
    static const size_t cuts[] = {1, 2, 10, 18, 1000};
    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]) + 1; k++) {
        blob part = {c.p, k < sizeof(cuts) / sizeof(cuts[0]) ? cuts[k] : c.len - 3};
        sink s;
        sink_init(&s, true);
        assert_int_equal(inflate_split(LW_INFLATE_GZIP, &part, 17, 3, UINT64_MAX, 1000, &s),
                         LW_INFLATE_OK);
        assert_true(s.len <= t.len);
        assert_true(s.len == 0 || memcmp(s.buf, t.p, s.len) == 0);
        sink_free(&s);
    }
    free(c.p);
    free(t.p);
}

/* After the stream ends, trailing bytes (a second member too) are ignored. */
static void test_inflate_done_ignores_rest(void **state)
{
    (void)state;
    static const uint8_t text[] = "first member";
    blob c = compress_blob(text, sizeof(text) - 1, 31);
    lw_inflate *z = lw_inflate_new(LW_INFLATE_GZIP, 1 << 20, 100);
    assert_non_null(z);
    sink s;
    sink_init(&s, true);
    assert_int_equal(lw_inflate_feed(z, c.p, c.len, sink_out, &s), LW_INFLATE_DONE);
    assert_int_equal(lw_inflate_feed(z, c.p, c.len, sink_out, &s), LW_INFLATE_DONE);
    assert_true(sink_is(&s, text, sizeof(text) - 1));
    lw_inflate_free(z);
    sink_free(&s);
    free(c.p);
}

static void test_inflate_null_and_empty(void **state)
{
    (void)state;
    lw_inflate_free(NULL);
    assert_int_equal(lw_inflate_total_out(NULL), 0);
    assert_int_equal(lw_inflate_feed(NULL, (const uint8_t *)"x", 1, sink_out, NULL),
                     LW_INFLATE_NOMEM);
    lw_inflate *z = lw_inflate_new(LW_INFLATE_DEFLATE, 100, 10);
    assert_non_null(z);
    assert_int_equal(lw_inflate_feed(z, NULL, 0, sink_out, NULL), LW_INFLATE_OK);
    lw_inflate_free(z); /* never started */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_both_alphabets),
        cmocka_unit_test(test_b64_whitespace_not_counted),
        cmocka_unit_test(test_b64_invalid_counted_and_skipped),
        cmocka_unit_test(test_b64_padding_ends_item),
        cmocka_unit_test(test_b64_leftover_bits_dropped),
        cmocka_unit_test(test_b64_output_is_prompt),
        cmocka_unit_test(test_b64_output_chunked),
        cmocka_unit_test(test_qp_escapes),
        cmocka_unit_test(test_qp_soft_line_breaks),
        cmocka_unit_test(test_qp_invalid_passed_through),
        cmocka_unit_test(test_qp_finish),
        cmocka_unit_test(test_pct_escapes),
        cmocka_unit_test(test_pct_plus),
        cmocka_unit_test(test_pct_invalid_passed_through),
        cmocka_unit_test(test_json_unicode_escape),
        cmocka_unit_test(test_json_short_escapes),
        cmocka_unit_test(test_json_surrogate_pairs),
        cmocka_unit_test(test_json_lone_surrogates),
        cmocka_unit_test(test_json_outside_strings_untouched),
        cmocka_unit_test(test_json_invalid_escapes),
        cmocka_unit_test(test_json_finish),
        cmocka_unit_test(test_json_backslash_at_every_offset),
        cmocka_unit_test(test_json_quote_at_every_offset),
        cmocka_unit_test(test_json_backslash_outside_at_every_offset),
        cmocka_unit_test(test_json_escape_split_across_feeds),
        cmocka_unit_test(test_json_long_runs),
        cmocka_unit_test(test_json_pieces_are_large),
        cmocka_unit_test(test_json_matches_bytewise_model),
        cmocka_unit_test(test_hex_decode),
        cmocka_unit_test(test_base32_rfc4648_vectors),
        cmocka_unit_test(test_base32_unpadded_and_lower_case),
        cmocka_unit_test(test_base32_rejects),
        cmocka_unit_test(test_base64_oneshot_vectors),
        cmocka_unit_test(test_base64_oneshot_rejects),
        cmocka_unit_test(test_inflate_gzip),
        cmocka_unit_test(test_inflate_deflate_zlib),
        cmocka_unit_test(test_inflate_deflate_raw),
        cmocka_unit_test(test_inflate_deflate_takes_gzip),
        cmocka_unit_test(test_inflate_deflate_header_split),
        cmocka_unit_test(test_inflate_gzip_rejects_zlib),
        cmocka_unit_test(test_inflate_bomb_max_out),
        cmocka_unit_test(test_inflate_max_out_boundary),
        cmocka_unit_test(test_inflate_ratio_cap),
        cmocka_unit_test(test_inflate_corrupt),
        cmocka_unit_test(test_inflate_gzip_bad_crc),
        cmocka_unit_test(test_inflate_truncated),
        cmocka_unit_test(test_inflate_done_ignores_rest),
        cmocka_unit_test(test_inflate_null_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
