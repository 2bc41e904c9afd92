/*
 * test_http.c - the HTTP/1.x decoder (http.h) fed scripted exchanges.
 *
 * A recording sink writes what the decoder hands out into one trace per
 * direction: content bytes as they are, 0x1E after each item, and each
 * meta as 0x1D key value 0x1D. Every exchange that must not depend on how
 * TCP cut it is run whole, byte by byte and in 24 random splittings, and
 * the traces and counters must be identical (check_splits). Then each test
 * looks for the values it expects as whole items of the trace.
 *
 * The values are fictional (example.com addresses, test card numbers) and
 * are only compared in memory: nothing here prints content, so a failing
 * assertion shows which check failed, never a value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "leakwatch/http.h"
#include "leakwatch/types.h"

#define ITEM '\x1e'
#define META '\x1d'

typedef struct rec {
    uint8_t *buf[2];
    size_t len[2], cap[2];
    unsigned items[2];
    uint64_t content[2]; /* content bytes, without the trace's markers */
} rec;

static void rec_put(rec *r, int dir, const void *p, size_t n)
{
    assert_true(dir == 0 || dir == 1);
    if (r->len[dir] + n > r->cap[dir]) {
        size_t cap = (r->cap[dir] + n) * 2 + 64;
        r->buf[dir] = realloc(r->buf[dir], cap);
        assert_non_null(r->buf[dir]);
        r->cap[dir] = cap;
    }
    if (n)
        memcpy(r->buf[dir] + r->len[dir], p, n);
    r->len[dir] += n;
}

static void rec_free(rec *r)
{
    free(r->buf[0]);
    free(r->buf[1]);
    memset(r, 0, sizeof(*r));
}

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    rec *r = ctx;
    assert_true(n > 0);
    r->content[dir] += n;
    rec_put(r, dir, d, n);
}

static void on_item_end(void *ctx, int dir)
{
    rec *r = ctx;
    rec_put(r, dir, "\x1e", 1);
    r->items[dir]++;
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    char k = (char)('A' + key);
    rec_put(ctx, dir, "\x1d", 1);
    rec_put(ctx, dir, &k, 1);
    rec_put(ctx, dir, v, n);
    rec_put(ctx, dir, "\x1d", 1);
}

/* value appears in dir's trace as a whole item */
static bool has_item(const rec *r, int dir, const char *value)
{
    size_t n = strlen(value);
    const uint8_t *b = r->buf[dir];
    size_t len = r->len[dir];
    for (size_t i = 0; i + n < len; i++) {
        if (memcmp(b + i, value, n) != 0 || b[i + n] != ITEM)
            continue;
        if (i == 0 || b[i - 1] == ITEM || b[i - 1] == META)
            return true;
    }
    return false;
}

/* value appears anywhere in dir's trace */
static bool has(const rec *r, int dir, const char *value)
{
    size_t n = strlen(value);
    return r->len[dir] >= n && memmem(r->buf[dir], r->len[dir], value, n) != NULL;
}

static bool has_meta(const rec *r, int dir, lw_app_meta key, const char *value)
{
    char pat[256];
    snprintf(pat, sizeof(pat), "%c%c%s%c", META, (char)('A' + key), value, META);
    return has(r, dir, pat);
}

/* ---- scripts --------------------------------------------------------------- */

typedef struct ev {
    int dir;
    const uint8_t *p; /* NULL: a gap */
    size_t n;
    bool inspect;
} ev;

#define FEED(d, s)                                                                                 \
    {                                                                                              \
        (d), (const uint8_t *)(s), sizeof(s) - 1, true                                             \
    }
#define FEEDN(d, p, n)                                                                             \
    {                                                                                              \
        (d), (p), (n), true                                                                        \
    }
#define GAP(d)                                                                                     \
    {                                                                                              \
        (d), NULL, 0, true                                                                         \
    }

enum { WHOLE, BYTES, RANDOM };

static lw_app_limits defaults(void)
{
    lw_app_limits l = {.max_line = 1024,
                       .max_headers = 64,
                       .max_decompressed = 1u << 20,
                       .max_ratio = 1000,
                       .max_encodings = 3};
    return l;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static void run(const ev *e, size_t ne, int mode, uint32_t seed, const lw_app_limits *lim,
                uint64_t *ctr, rec *r)
{
    lw_app_sink sink = {on_content, on_item_end, on_meta, r};
    memset(ctr, 0, sizeof(uint64_t) * LW_HTTP_CTR_MAX);
    lw_http *h = lw_http_new(lim, ctr);
    assert_non_null(h);
    for (size_t i = 0; i < ne; i++) {
        if (!e[i].p) {
            lw_http_gap(h, e[i].dir, &sink);
            continue;
        }
        size_t off = 0;
        while (off < e[i].n) {
            size_t step = e[i].n - off;
            if (mode == BYTES)
                step = 1;
            else if (mode == RANDOM && step > 1)
                step = 1 + lcg(&seed) % (step < 40 ? step : 40);
            lw_http_feed(h, e[i].dir, e[i].p + off, step, e[i].inspect, &sink);
            off += step;
        }
        if (e[i].n == 0)
            lw_http_feed(h, e[i].dir, e[i].p, 0, e[i].inspect, &sink);
    }
    lw_http_free(h, &sink);
}

/* Runs the script whole into r/ctr, then in other splittings: all equal. */
static void check_splits(const ev *e, size_t ne, const lw_app_limits *lim, uint64_t *ctr, rec *r)
{
    run(e, ne, WHOLE, 0, lim, ctr, r);
    for (int k = 0; k < 25; k++) {
        rec o = {0};
        uint64_t c2[LW_HTTP_CTR_MAX];
        run(e, ne, k == 0 ? BYTES : RANDOM, (uint32_t)k * 7919u, lim, c2, &o);
        for (int d = 0; d < 2; d++) {
            assert_int_equal(o.len[d], r->len[d]);
            assert_true(o.len[d] == 0 || memcmp(o.buf[d], r->buf[d], o.len[d]) == 0);
        }
        assert_true(memcmp(c2, ctr, sizeof(c2)) == 0);
        rec_free(&o);
    }
}

static size_t zcomp(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t got = zs.total_out;
    deflateEnd(&zs);
    return got;
}

/* head (without Content-Length) + Content-Length + body into out */
static size_t with_body(const char *head, const uint8_t *body, size_t n, uint8_t *out, size_t cap)
{
    int k = snprintf((char *)out, cap, "%sContent-Length: %zu\r\n\r\n", head, n);
    assert_true(k > 0 && (size_t)k + n <= cap);
    memcpy(out + k, body, n);
    return (size_t)k + n;
}

#define S(x) ((const uint8_t *)(x))

/* ---- request line and headers ----------------------------------------------------- */

static void test_request_line_and_headers(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "GET /a%20b/search?q=jane.doe%40example.com&who=J+Doe HTTP/1.1\r\n"
                      "Host: shop.example.com\r\n"
                      "Cookie: sid=7; mail=jo%40example.com\r\n"
                      "X-Client-Mail: ann@example.com\r\n"
                      "\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "/a b/search?q=jane.doe@example.com&who=J Doe"));
    assert_true(has_meta(&r, 0, LW_META_HTTP_METHOD, "GET"));
    assert_true(
        has_meta(&r, 0, LW_META_HTTP_URL, "/a%20b/search?q=jane.doe%40example.com&who=J+Doe"));
    assert_true(has_meta(&r, 0, LW_META_HTTP_HOST, "shop.example.com"));
    assert_true(has_item(&r, 0, "sid=7; mail=jo%40example.com"));
    assert_true(has_item(&r, 0, "ann@example.com"));
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 0);
    rec_free(&r);
}

static void test_plus_in_path_is_not_space(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "GET /a+b?c+d HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "/a+b?c d"));
    rec_free(&r);
}

static void test_folded_header(void **state)
{
    (void)state;
    ev e[] = {
        FEED(0, "GET / HTTP/1.1\r\nX-Note: first\r\n   second\r\n\tthird\r\nHost: h\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "first second third"));
    assert_true(has_meta(&r, 0, LW_META_HTTP_HOST, "h"));
    rec_free(&r);
}

static void test_response_status_meta(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "GET / HTTP/1.1\r\n\r\n"),
              FEED(1, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                      "\r\nabc")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_true(has_meta(&r, 1, LW_META_HTTP_STATUS, "404"));
    assert_true(has_meta(&r, 1, LW_META_HTTP_CONTENT_TYPE, "text/plain"));
    assert_true(has_item(&r, 1, "abc"));
    assert_int_equal(ctr[LW_HTTP_CTR_RESPONSES], 1);
    rec_free(&r);
}

/* ---- framing ------------------------------------------------------------------------ */

static void test_content_length_json(void **state)
{
    (void)state;
    ev e[] = {FEED(0,
                   "POST /api HTTP/1.1\r\nContent-Type: application/vnd.x+json; charset=utf-8\r\n"
                   "Content-Length: 40\r\n\r\n"
                   "{\"mail\":\"amy\\u0040example.com\",\"n\":\"\\/\"}")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "{\"mail\":\"amy@example.com\",\"n\":\"/\"}"));
    assert_int_equal(ctr[LW_HTTP_CTR_BODY_BYTES], 40);
    rec_free(&r);
}

static void test_chunked_ext_trailers_pipelined(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4;name=\"x\"\r\nWiki\r\n"
                      "5 \r\npedia\r\n"
                      "A\r\n@example.\r\r\n"
                      "0;last\r\nX-Checksum: trailer-value\r\n\r\n"
                      "GET /next HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "Wikipedia@example.\r"));
    assert_true(has_item(&r, 0, "trailer-value"));
    assert_true(has_item(&r, 0, "/next"));
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 2);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_CHUNK], 0);
    rec_free(&r);
}

static void test_pipelined_requests(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST /1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nfirstPOST /2 HTTP/1.1\r\n"
                      "Content-Length: 6\r\n\r\nsecond\r\nGET /3 HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "first"));
    assert_true(has_item(&r, 0, "second"));
    assert_true(has_item(&r, 0, "/3"));
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 3);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 0);
    rec_free(&r);
}

static void test_head_204_304_keepalive(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"
                      "GET /d HTTP/1.1\r\n\r\n"),
              FEED(1, "HTTP/1.1 100 Continue\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                      "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
                      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_RESPONSES], 5);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_STATUS_LINE], 0);
    assert_int_equal(ctr[LW_HTTP_CTR_BODY_BYTES], 5);
    assert_true(has_item(&r, 1, "hello"));
    rec_free(&r);
}

static void test_response_until_close(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "GET / HTTP/1.1\r\n\r\n"),
              FEED(1, "HTTP/1.0 200 OK\r\n\r\nall of it\r\nHTTP/1.1 200 OK\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_true(has_item(&r, 1, "all of it\r\nHTTP/1.1 200 OK\r\n"));
    assert_int_equal(ctr[LW_HTTP_CTR_RESPONSES], 1);
    rec_free(&r);
}

/* ---- encodings ------------------------------------------------------------------------ */

static const char plain_json[] = "{\"email\":\"kim@example.com\",\"card\":\"4111 1111 1111 1111\"}";

static void compressed_case(int wbits, const char *coding)
{
    uint8_t z[512], msg[1024];
    size_t zn = zcomp(S(plain_json), sizeof(plain_json) - 1, z, sizeof(z), wbits);
    char head[128];
    snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n", coding);
    size_t mn = with_body(head, z, zn, msg, sizeof(msg));
    ev e[] = {FEED(0, "GET / HTTP/1.1\r\n\r\n"), FEEDN(1, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_true(has_item(&r, 1, plain_json));
    assert_int_equal(ctr[LW_HTTP_CTR_DECODED_BYTES], sizeof(plain_json) - 1);
    assert_int_equal(ctr[LW_HTTP_CTR_GZIP_CORRUPT], 0);
    assert_int_equal(ctr[LW_HTTP_CTR_DECOMPRESS_PLAIN], 0);
    rec_free(&r);
}

static void test_gzip_body(void **state)
{
    (void)state;
    compressed_case(31, "gzip");
    compressed_case(31, "X-GZIP");
}

static void test_deflate_zlib_body(void **state)
{
    (void)state;
    compressed_case(15, "deflate");
}

static void test_deflate_raw_body(void **state)
{
    (void)state;
    compressed_case(-15, "identity, deflate");
}

static void test_gzip_inside_deflate_chunked(void **state)
{
    (void)state;
    uint8_t g[512], z[512], msg[1024];
    size_t gn = zcomp(S(plain_json), sizeof(plain_json) - 1, g, sizeof(g), 31);
    size_t zn = zcomp(g, gn, z, sizeof(z), 15);
    /* sent as chunks of 7 bytes: gzip applied first, then deflate */
    size_t mn = (size_t)snprintf((char *)msg, sizeof(msg),
                                 "POST /up HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                                 "Content-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0; off < zn; off += 7) {
        size_t k = zn - off < 7 ? zn - off : 7;
        mn += (size_t)snprintf((char *)msg + mn, sizeof(msg) - mn, "%zx\r\n", k);
        memcpy(msg + mn, z + off, k);
        mn += k;
        memcpy(msg + mn, "\r\n", 2);
        mn += 2;
    }
    memcpy(msg + mn, "0\r\n\r\n", 5);
    mn += 5;
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, plain_json));
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_CHUNK], 0);
    rec_free(&r);
}

static void test_gzip_but_plain(void **state)
{
    (void)state;
    uint8_t msg[512];
    size_t mn = with_body("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", S(plain_json),
                          sizeof(plain_json) - 1, msg, sizeof(msg));
    ev e[] = {FEED(0, "GET / HTTP/1.1\r\n\r\n"), FEEDN(1, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_true(has_item(&r, 1, plain_json));
    assert_int_equal(ctr[LW_HTTP_CTR_DECOMPRESS_PLAIN], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_GZIP_CORRUPT], 0);
    rec_free(&r);
}

static void test_gzip_short_plain_body(void **state)
{
    (void)state; /* shorter than the probe: decided at the body's end */
    ev e[] = {
        FEED(0, "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nshort")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "short"));
    assert_int_equal(ctr[LW_HTTP_CTR_DECOMPRESS_PLAIN], 1);
    rec_free(&r);
}

static void test_gzip_corrupt(void **state)
{
    (void)state;
    uint8_t z[512], msg[1024];
    size_t zn = zcomp(S(plain_json), sizeof(plain_json) - 1, z, sizeof(z), 31);
    for (size_t i = 12; i < zn - 8; i++)
        z[i] = (uint8_t)(0xff - z[i]); /* a valid header, then garbage */
    size_t mn = with_body("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n", z, zn, msg, sizeof(msg));
    ev e[] = {FEED(0, "GET / HTTP/1.1\r\n\r\n"), FEEDN(1, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    run(e, 2, WHOLE, 0, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_GZIP_CORRUPT], 1);
    assert_false(has(&r, 1, "kim@example.com"));
    rec_free(&r);
}

static void test_unknown_encoding(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nContent-Type: application/json\r\n"
                      "Content-Encoding: br\r\nContent-Length: 10\r\n\r\n\"a\\u0040b\"")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_UNKNOWN_ENCODING], 1);
    assert_true(has_item(&r, 0, "\"a\\u0040b\"")); /* as sent: not taken for JSON */
    rec_free(&r);
}

static void test_too_many_encodings(void **state)
{
    (void)state;
    uint8_t g1[512], g2[512], msg[1024];
    size_t n1 = zcomp(S(plain_json), sizeof(plain_json) - 1, g1, sizeof(g1), 31);
    size_t n2 = zcomp(g1, n1, g2, sizeof(g2), 31);
    size_t mn =
        with_body("POST / HTTP/1.1\r\nContent-Encoding: gzip, gzip\r\n", g2, n2, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r); /* two layers within the limit of 3 */
    assert_true(has_item(&r, 0, plain_json));
    assert_int_equal(ctr[LW_HTTP_CTR_TOO_MANY_ENCODINGS], 0);
    rec_free(&r);
    lim.max_encodings = 1;
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_TOO_MANY_ENCODINGS], 1);
    assert_false(has(&r, 0, "kim@example.com"));
    assert_int_equal(ctr[LW_HTTP_CTR_DECODED_BYTES], n2); /* scanned as sent */
    rec_free(&r);
}

static void test_decompressed_size_cap(void **state)
{
    (void)state;
    static uint8_t zeros[200000];
    static uint8_t z[4096], msg[8192];
    size_t zn = zcomp(zeros, sizeof(zeros), z, sizeof(z), 31);
    size_t mn = with_body("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n", z, zn, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn), FEED(0, "GET /after HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    lim.max_decompressed = 1000;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    run(e, 2, WHOLE, 0, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_DECOMPRESS_BOMB], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_DECODED_BYTES], 1000);
    assert_true(has_item(&r, 0, "/after")); /* framing survives the cut */
    rec_free(&r);
}

static void test_ratio_cap(void **state)
{
    (void)state;
    static uint8_t zeros[1u << 20];
    static uint8_t z[8192], msg[16384];
    size_t zn = zcomp(zeros, sizeof(zeros), z, sizeof(z), 31);
    size_t mn = with_body("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n", z, zn, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    lim.max_decompressed = 1u << 24;
    lim.max_ratio = 20;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    run(e, 1, WHOLE, 0, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_DECOMPRESS_BOMB], 1);
    assert_true(ctr[LW_HTTP_CTR_DECODED_BYTES] < sizeof(zeros));
    rec_free(&r);
}

static void test_budget_over_many_small_bodies(void **state)
{
    (void)state; /* each body within inflate's caps, the direction's sum is capped */
    static uint8_t zeros[3000];
    uint8_t z[256], msg[512];
    size_t zn = zcomp(zeros, sizeof(zeros), z, sizeof(z), 31);
    size_t mn = with_body("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n", z, zn, msg, sizeof(msg));
    ev e[40];
    for (size_t i = 0; i < 40; i++)
        e[i] = (ev)FEEDN(0, msg, mn);
    lw_app_limits lim = defaults();
    lim.max_decompressed = 4000;
    lim.max_ratio = 2;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    run(e, 40, WHOLE, 0, &lim, ctr, &r);
    assert_true(r.content[0] <= 40 * mn * 2 + 4000);
    assert_true(r.content[0] >= 40 * mn * 2 + 4000 - 3000); /* cut near the budget, not before */
    assert_true(ctr[LW_HTTP_CTR_DECOMPRESS_BOMB] >= 1);
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 40);
    rec_free(&r);
}

/* ---- content types ------------------------------------------------------------------- */

static void test_form_100_fields(void **state)
{
    (void)state;
    static char body[16384];
    size_t bn = 0;
    for (int i = 0; i < 100; i++)
        bn += (size_t)snprintf(body + bn, sizeof(body) - bn,
                               "%sname%d=Pat+Doe+%d&mail%d=pat%d%%40example.com", i ? "&" : "", i,
                               i, i, i);
    static uint8_t msg[20000];
    size_t mn = with_body("POST /f HTTP/1.1\r\nContent-Type: Application/X-WWW-Form-Urlencoded\r\n",
                          S(body), bn, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    for (int i = 0; i < 100; i += 9) {
        char v[64];
        snprintf(v, sizeof(v), "pat%d@example.com", i);
        assert_true(has_item(&r, 0, v));
        snprintf(v, sizeof(v), "Pat Doe %d", i);
        assert_true(has_item(&r, 0, v));
        snprintf(v, sizeof(v), "mail%d", i);
        assert_true(has_item(&r, 0, v));
    }
    assert_false(has(&r, 0, "Pat Doe 1&")); /* fields never run together */
    rec_free(&r);
}

static void test_form_encoded_separators(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: 19\r\n\r\na%3Db=c%26d=e&f=g=h")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "a=b"));
    assert_true(has_item(&r, 0, "c&d=e"));
    assert_true(has_item(&r, 0, "g=h"));
    rec_free(&r);
}

static const char mp_body[] =
    "preamble\r\n"
    "--XyZ 1\r\n"
    "Content-Disposition: form-data; name=\"email\"\r\n"
    "\r\n"
    "lee@example.com\r\n"
    "--XyZ 1\r\n"
    "Content-Disposition: form-data; name=\"doc\"; filename=\"ssn list.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c3NuIDA3OC0wNS0xMTIw\r\nCg==\r\n"
    "--XyZ 1\r\n"
    "Content-Disposition: form-data; name=\"q\"\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "a=3Db=\r\nc\r\n\r\n--XyZ 1x\r\n"
    "--XyZ 1--\r\n"
    "epilogue";

static void test_multipart_base64_part(void **state)
{
    (void)state;
    static uint8_t msg[4096];
    size_t mn = with_body("POST /m HTTP/1.1\r\n"
                          "Content-Type: multipart/form-data; charset=x; BOUNDARY=\"XyZ 1\"\r\n",
                          S(mp_body), sizeof(mp_body) - 1, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "preamble"));
    assert_true(has_item(&r, 0, "lee@example.com"));
    assert_true(has_item(&r, 0, "email"));
    assert_true(has_item(&r, 0, "ssn list.txt"));
    assert_true(has_item(&r, 0, "ssn 078-05-1120\n"));
    assert_true(has_item(&r, 0, "a=bc\r\n\r\n--XyZ 1x")); /* not a delimiter line */
    assert_true(has_item(&r, 0, "epilogue"));
    assert_int_equal(ctr[LW_HTTP_CTR_MULTIPART_INVALID], 0);
    rec_free(&r);
}

static void test_multipart_nested_mixed(void **state)
{
    (void)state;
    static const char body[] = "--outer\r\n"
                               "Content-Type: multipart/mixed; boundary=inner\r\n"
                               "\r\n"
                               "--inner\r\n"
                               "Content-Type: application/json\r\n"
                               "\r\n"
                               "{\"m\":\"bo\\u0040example.com\"}\r\n"
                               "--inner--\r\n"
                               "\r\n--outer--\r\n";
    static uint8_t msg[2048];
    size_t mn =
        with_body("POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=outer\r\n",
                  S(body), sizeof(body) - 1, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, "{\"m\":\"bo@example.com\"}"));
    assert_int_equal(ctr[LW_HTTP_CTR_MULTIPART_INVALID], 0);
    assert_int_equal(ctr[LW_HTTP_CTR_TOO_MANY_ENCODINGS], 0);
    rec_free(&r);
    lim.max_encodings = 1; /* one multipart level only: the inner one is content as is */
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_TOO_MANY_ENCODINGS], 1);
    assert_true(has(&r, 0, "bo\\u0040example.com"));
    rec_free(&r);
}

static void test_multipart_missing_boundary(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nContent-Type: multipart/form-data\r\n"
                      "Content-Length: 23\r\n\r\n--x\r\n\r\nli@example.com\r\n"),
              FEED(0,
                   "POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary="
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                   "Content-Length: 4\r\n\r\nbody")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_MULTIPART_INVALID], 2);
    assert_true(has_item(&r, 0, "--x\r\n\r\nli@example.com\r\n"));
    assert_true(has_item(&r, 0, "body"));
    rec_free(&r);
}

static void test_multipart_close_at_body_end(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      "Content-Length: 28\r\n\r\n--b\r\n\r\nli@example.com\r\n--b--")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_MULTIPART_INVALID], 0);
    assert_true(has_item(&r, 0, "li@example.com"));
    rec_free(&r);
}

static void test_multipart_unterminated(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      "Content-Length: 25\r\n\r\n--b\r\n\r\nli@example.com\r\n--")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_MULTIPART_INVALID], 1);
    assert_true(has_item(&r, 0, "li@example.com\r\n--"));
    rec_free(&r);
}

/* ---- limits and errors --------------------------------------------------------------- */

static void test_line_too_long(void **state)
{
    (void)state;
    static char msg[1024];
    char pad[200];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    int n = snprintf(msg, sizeof(msg),
                     "GET /x HTTP/1.1\r\nX-Long: %s tail@example.com\r\nHost: h\r\n\r\n", pad);
    ev e[] = {FEEDN(0, S(msg), (size_t)n)};
    lw_app_limits lim = defaults();
    lim.max_line = 100;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_LINE_TOO_LONG], 1);
    assert_true(has(&r, 0, "tail@example.com")); /* the overflow is still scanned */
    assert_true(has_meta(&r, 0, LW_META_HTTP_HOST, "h"));
    rec_free(&r);
}

static void test_garbage_line_streams_raw(void **state)
{
    (void)state;
    static char msg[1024];
    char pad[300];
    memset(pad, 'z', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    int n = snprintf(msg, sizeof(msg), "%s lo@example.com\nGET /ok HTTP/1.1\r\n\r\n", pad);
    ev e[] = {FEEDN(0, S(msg), (size_t)n)};
    lw_app_limits lim = defaults();
    lim.max_line = 100;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_LINE_TOO_LONG], 0);
    assert_true(has(&r, 0, "zzzz lo@example.com\x1e"));
    assert_true(has_item(&r, 0, "/ok"));
    rec_free(&r);
}

static void test_too_many_headers(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 2\r\n"
                      "D: hidden\r\n\r\nxy")};
    lw_app_limits lim = defaults();
    lim.max_headers = 3;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_TOO_MANY_HEADERS], 1);
    assert_true(has_item(&r, 0, "3"));
    assert_false(has(&r, 0, "hidden"));
    assert_int_equal(ctr[LW_HTTP_CTR_BODY_BYTES], 0); /* its Content-Length was skipped */
    assert_true(has_item(&r, 0, "xy"));               /* an unfinished line, flushed at the end */
    rec_free(&r);
}

static void test_bad_content_length(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"
                      "abcdefgh"),
              FEED(0, "\r\nmore")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_CONTENT_LENGTH], 1);
    assert_true(has_item(&r, 0, "abcdefgh\r\nmore")); /* to the connection's end */
    rec_free(&r);
}

static void test_bad_request_and_status_line(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "get / HTTP/1.1\r\nX\r\nGET /fine HTTP/1.1\r\n\r\n"),
              FEED(1, "HTTP/1.1 2000 OK\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_STATUS_LINE], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_RESPONSES], 1);
    assert_true(has_item(&r, 0, "get / HTTP/1.1"));
    rec_free(&r);
}

static void test_chunk_size_line_too_long(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5;ext=\"a-very-long-extension-value-that-is-longer-than-the-line-cap\"\r\n"
                      "hello\r\n0\r\n\r\n")};
    lw_app_limits lim = defaults();
    lim.max_line = 64;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_LINE_TOO_LONG], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_CHUNK], 0);
    assert_true(has_item(&r, 0, "hello"));
    rec_free(&r);
}

static void test_chunk_data_overrun(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabcd\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_CHUNK], 1);
    assert_true(has_item(&r, 0, "abc"));
    assert_true(has_item(&r, 0, "d"));
    assert_true(has_item(&r, 0, "/n"));
    rec_free(&r);
}

static void test_transfer_coding_without_chunked(void **state)
{
    (void)state; /* no final "chunked": the body runs to the end, gzip undone */
    uint8_t z[512], msg[1024];
    size_t zn = zcomp(S(plain_json), sizeof(plain_json) - 1, z, sizeof(z), 31);
    size_t mn = (size_t)snprintf((char *)msg, sizeof(msg),
                                 "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    memcpy(msg + mn, z, zn);
    ev e[] = {FEEDN(0, msg, mn + zn)};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_true(has_item(&r, 0, plain_json));
    rec_free(&r);
}

static void test_multipart_part_header_too_long(void **state)
{
    (void)state;
    static const char body[] = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\""
                               "0123456789012345678901234567890123456789 fi@example.com\"\r\n\r\n"
                               "x\r\n--b--\r\n";
    static uint8_t msg[1024];
    size_t mn = with_body("POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n",
                          S(body), sizeof(body) - 1, msg, sizeof(msg));
    ev e[] = {FEEDN(0, msg, mn)};
    lw_app_limits lim = defaults();
    lim.max_line = 80;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 1, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_LINE_TOO_LONG], 1);
    assert_true(has(&r, 0, "fi@example.com"));
    assert_true(has_item(&r, 0, "x"));
    rec_free(&r);
}

static void test_gap_in_headers_and_tunnel(void **state)
{
    (void)state;
    ev e[] = {
        FEED(0, "GET /h HTTP/1.1\r\nX-Part: cut"),     GAP(0), FEED(0, "GET /k HTTP/1.1\r\n\r\n"),
        FEED(1, "HTTP/1.1 101 Switching\r\n\r\nraw1"), GAP(1), FEED(1, "raw2")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 6, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_GAP], 2);
    assert_true(has_item(&r, 0, "X-Part: cut"));
    assert_true(has_item(&r, 0, "/k"));
    assert_true(has_item(&r, 1, "raw1"));
    assert_true(has_item(&r, 1, "raw2"));
    rec_free(&r);
}

static void test_bad_chunk_size_resync(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n"
                      "zz\r\nhidden@example.com\r\n"
                      "GET /resync HTTP/1.1\r\n\r\n"),
              FEED(0, "POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4x\r\nrest\r\n"
                      "GET /again HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_CHUNK], 2);
    assert_true(has_item(&r, 0, "abc"));
    assert_true(has_item(&r, 0, "hidden@example.com")); /* skipped lines are scanned raw */
    assert_true(has_item(&r, 0, "/resync"));
    assert_true(has_item(&r, 0, "x\r"));
    assert_true(has_item(&r, 0, "/again"));
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 4);
    rec_free(&r);
}

static void test_gap_resync(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "POST /g HTTP/1.1\r\nContent-Length: 100\r\n\r\nbefore"), GAP(0),
              FEED(0, "ter gap\r\nGET /back HTTP/1.1\r\n\r\n")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 3, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_GAP], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 0); /* resync is not an error */
    assert_true(has_item(&r, 0, "before"));
    assert_true(has_item(&r, 0, "ter gap"));
    assert_true(has_item(&r, 0, "/back"));
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 2);
    rec_free(&r);
}

static void test_connect_passthrough(void **state)
{
    (void)state;
    ev e[] = {FEED(0, "CONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com\r\n\r\n"
                      "\x16\x03\x01 tunnel GET / HTTP/1.1\r\n\r\n"),
              FEED(1, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03 back")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_UPGRADE], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_REQUESTS], 1);
    assert_true(has_item(&r, 0, "\x16\x03\x01 tunnel GET / HTTP/1.1\r\n\r\n"));
    assert_true(has_item(&r, 1, "\x16\x03\x03 back"));

    lw_app_sink sink = {on_content, on_item_end, on_meta, &r};
    lw_http *h = lw_http_new(&lim, ctr);
    assert_non_null(h);
    assert_false(lw_http_passthrough(h, 0));
    lw_http_feed(h, 0, e[0].p, 40, true, &sink);
    assert_false(lw_http_passthrough(h, 0));
    lw_http_feed(h, 0, e[0].p + 40, e[0].n - 40, true, &sink);
    assert_true(lw_http_passthrough(h, 0));
    assert_false(lw_http_passthrough(h, 1));
    lw_http_feed(h, 1, e[1].p, e[1].n, true, &sink);
    assert_true(lw_http_passthrough(h, 1));
    assert_false(lw_http_passthrough(h, 2));
    lw_http_free(h, &sink);
    rec_free(&r);
}

static void test_upgrade_101(void **state)
{
    (void)state;
    ev e[] = {
        FEED(0, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        FEED(1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
        FEED(0, "\x81\x85 frame")};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 3, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_UPGRADE], 1);
    assert_int_equal(ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 0);
    assert_true(has_item(&r, 1, "\x81\x05hello"));
    assert_true(has_item(&r, 0, "\x81\x85 frame"));
    rec_free(&r);
}

static void test_inspect_false_frames_only(void **state)
{
    (void)state;
    static const char req[] = "HEAD / HTTP/1.1\r\nX-Mail: a@example.com\r\n\r\n";
    static const char rsp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    ev e[] = {{0, S(req), sizeof(req) - 1, false}, {1, S(rsp), sizeof(rsp) - 1, false}};
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    check_splits(e, 2, &lim, ctr, &r);
    assert_false(has(&r, 0, "a@example.com"));
    assert_int_equal(r.items[0] + r.items[1], 0);
    assert_true(has_meta(&r, 0, LW_META_HTTP_METHOD, "HEAD"));
    assert_int_equal(ctr[LW_HTTP_CTR_RESPONSES], 2);
    assert_int_equal(ctr[LW_HTTP_CTR_BODY_BYTES], 2);
    assert_int_equal(ctr[LW_HTTP_CTR_DECODED_BYTES], 0);
    rec_free(&r);
}

static void test_pipeline_overflow(void **state)
{
    (void)state;
    ev e[70];
    for (size_t i = 0; i < 70; i++)
        e[i] = (ev)FEED(0, "HEAD / HTTP/1.1\r\n\r\n");
    lw_app_limits lim = defaults();
    uint64_t ctr[LW_HTTP_CTR_MAX];
    rec r = {0};
    run(e, 70, WHOLE, 0, &lim, ctr, &r);
    assert_int_equal(ctr[LW_HTTP_CTR_PIPELINE_OVERFLOW], 6);
    rec_free(&r);
}

static void test_counter_names(void **state)
{
    (void)state;
    for (int i = 0; i < LW_HTTP_CTR_MAX; i++) {
        assert_non_null(lw_http_counter_names[i]);
        assert_true(strncmp(lw_http_counter_names[i], "app.http.", 9) == 0);
    }
    lw_app_limits lim = defaults();
    assert_null(lw_http_new(NULL, NULL));
    assert_null(lw_http_new(&lim, NULL));
    lw_http_free(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_line_and_headers),
        cmocka_unit_test(test_plus_in_path_is_not_space),
        cmocka_unit_test(test_folded_header),
        cmocka_unit_test(test_response_status_meta),
        cmocka_unit_test(test_content_length_json),
        cmocka_unit_test(test_chunked_ext_trailers_pipelined),
        cmocka_unit_test(test_pipelined_requests),
        cmocka_unit_test(test_head_204_304_keepalive),
        cmocka_unit_test(test_response_until_close),
        cmocka_unit_test(test_gzip_body),
        cmocka_unit_test(test_deflate_zlib_body),
        cmocka_unit_test(test_deflate_raw_body),
        cmocka_unit_test(test_gzip_inside_deflate_chunked),
        cmocka_unit_test(test_gzip_but_plain),
        cmocka_unit_test(test_gzip_short_plain_body),
        cmocka_unit_test(test_gzip_corrupt),
        cmocka_unit_test(test_unknown_encoding),
        cmocka_unit_test(test_too_many_encodings),
        cmocka_unit_test(test_decompressed_size_cap),
        cmocka_unit_test(test_ratio_cap),
        cmocka_unit_test(test_budget_over_many_small_bodies),
        cmocka_unit_test(test_form_100_fields),
        cmocka_unit_test(test_form_encoded_separators),
        cmocka_unit_test(test_multipart_base64_part),
        cmocka_unit_test(test_multipart_nested_mixed),
        cmocka_unit_test(test_multipart_missing_boundary),
        cmocka_unit_test(test_multipart_close_at_body_end),
        cmocka_unit_test(test_multipart_unterminated),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_garbage_line_streams_raw),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_bad_content_length),
        cmocka_unit_test(test_bad_request_and_status_line),
        cmocka_unit_test(test_chunk_size_line_too_long),
        cmocka_unit_test(test_chunk_data_overrun),
        cmocka_unit_test(test_transfer_coding_without_chunked),
        cmocka_unit_test(test_multipart_part_header_too_long),
        cmocka_unit_test(test_gap_in_headers_and_tunnel),
        cmocka_unit_test(test_bad_chunk_size_resync),
        cmocka_unit_test(test_gap_resync),
        cmocka_unit_test(test_connect_passthrough),
        cmocka_unit_test(test_upgrade_101),
        cmocka_unit_test(test_inspect_false_frames_only),
        cmocka_unit_test(test_pipeline_overflow),
        cmocka_unit_test(test_counter_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
