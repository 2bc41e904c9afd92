/*
 * test_http_mem.c - what the HTTP decoder (http.h) holds per connection.
 *
 * A million concurrent flows make every byte of lw_http count, so the
 * decoder allocates what only some messages need when one does: the line
 * buffer of a direction (released after a call that leaves no partial line
 * in it, until the direction needed it twice; then kept so that a busy
 * connection allocates nothing per packet), and the ext with the encoding
 * layers and the multipart boundary (at the first encoded or multipart
 * body, then kept). These tests look inside through http_internal.h and
 * check lw_http_footprint(), which flow.memcap relies on, against what is
 * allocated at each step. The request FIFO packs a method in 2 bits: a
 * long pipelined run of HEAD and GET must stay in step. The engine reads
 * the footprint only when lw_http_mem_changed() says so: a varied script,
 * fed in pieces of several sizes, checks after every call that no change
 * of the footprint goes unmarked.
 *
 * The bodies hold no personal data; nothing here prints content.
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

#include "../../sensor/app/http_internal.h"

typedef struct seen {
    uint64_t content[2];
    unsigned items[2];
} seen;

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    seen *s = ctx;
    (void)d;
    s->content[dir] += n;
}

static void on_item_end(void *ctx, int dir)
{
    seen *s = ctx;
    s->items[dir]++;
}

typedef struct fixture {
    lw_app_limits lim;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    seen seen;
    lw_app_sink sink;
    lw_http *h;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->lim = (lw_app_limits){.max_line = 1024,
                              .max_headers = 64,
                              .max_decompressed = 1u << 20,
                              .max_ratio = 1000,
                              .max_encodings = 3};
    fx->sink = (lw_app_sink){on_content, on_item_end, NULL, &fx->seen};
    fx->h = lw_http_new(&fx->lim, fx->ctr);
    assert_non_null(fx->h);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    lw_http_free(fx->h, &fx->sink);
    free(fx);
    return 0;
}

static void feed(fixture *fx, int dir, const char *s, bool inspect)
{
    lw_http_feed(fx->h, dir, (const uint8_t *)s, strlen(s), inspect, &fx->sink);
}

static void feed_n(fixture *fx, int dir, const uint8_t *p, size_t n, bool inspect)
{
    lw_http_feed(fx->h, dir, p, n, inspect, &fx->sink);
}

/* The decoder with nothing allocated beside itself. */
static size_t bare(void)
{
    return sizeof(lw_http) + HTTP_ALLOC_OVERHEAD;
}

static size_t line_cost(uint32_t cap)
{
    return cap + HTTP_ALLOC_OVERHEAD;
}

static size_t ext_cost(const lw_app_limits *lim)
{
    size_t n = lim->max_encodings < HTTP_ENC_MAX ? lim->max_encodings : HTTP_ENC_MAX;
    return sizeof(http_ext) + n * sizeof(http_layer) + HTTP_ALLOC_OVERHEAD;
}

#define REQ "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n"

/* ---- layout ------------------------------------------------------------------ */

static void test_layout_within_budget(void **state)
{
    (void)state;
    print_message("lw_http %zu (http_dir %zu, http_body %zu), http_ext %zu + %zu per layer\n",
                  sizeof(lw_http), sizeof(http_dir), sizeof(http_body), sizeof(http_ext),
                  sizeof(http_layer));
    /* 1,256 before the per-body tables moved out; 400 as glibc allocates it */
    assert_true(sizeof(lw_http) <= 384);
    assert_true(sizeof(http_body) <= 40);
}

static void test_new_decoder_is_bare(void **state)
{
    fixture *fx = *state;
    assert_int_equal(lw_http_footprint(fx->h), bare());
    assert_null(fx->h->d[0].line);
    assert_null(fx->h->d[1].line);
    assert_null(fx->h->d[0].ext);
    assert_null(fx->h->d[1].ext);
    assert_int_equal(lw_http_footprint(NULL), 0);
}

/* ---- line buffers -------------------------------------------------------------- */

static void test_whole_message_leaves_no_line_buffer(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOSERVER, REQ, true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_REQUESTS], 1);
    assert_null(fx->h->d[0].line);
    assert_int_equal(fx->h->d[0].line_allocs, 1);
    assert_int_equal(lw_http_footprint(fx->h), bare());
}

static void test_partial_line_keeps_buffer_until_complete(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOSERVER, "GET /index.html HTTP/1.1\r\nHost: www.exa", true);
    assert_non_null(fx->h->d[0].line);
    assert_int_equal(fx->h->d[0].line_cap, HTTP_LINE_FIRST);
    assert_int_equal(lw_http_footprint(fx->h), bare() + line_cost(HTTP_LINE_FIRST));
    feed(fx, LW_DIR_TOSERVER, "mple.com\r\n", true);
    /* a complete header waits for the next line's first byte: still held */
    assert_non_null(fx->h->d[0].line);
    feed(fx, LW_DIR_TOSERVER, "\r\n", true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_REQUESTS], 1);
    assert_null(fx->h->d[0].line);
    assert_int_equal(fx->h->d[0].line_allocs, 1); /* one allocation across the three calls */
    assert_int_equal(lw_http_footprint(fx->h), bare());
}

static void test_second_need_keeps_line_buffer(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOSERVER, REQ, true);
    assert_null(fx->h->d[0].line);
    feed(fx, LW_DIR_TOSERVER, REQ, true);
    const uint8_t *kept = fx->h->d[0].line;
    assert_non_null(kept);
    assert_int_equal(fx->h->d[0].line_allocs, HTTP_LINE_KEEP);
    size_t fp = lw_http_footprint(fx->h);
    assert_int_equal(fp, bare() + line_cost(HTTP_LINE_FIRST));
    for (int i = 0; i < 20; i++)
        feed(fx, LW_DIR_TOSERVER, REQ, true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_REQUESTS], 22);
    assert_ptr_equal(fx->h->d[0].line, kept); /* never reallocated */
    assert_int_equal(fx->h->d[0].line_allocs, HTTP_LINE_KEEP);
    assert_int_equal(lw_http_footprint(fx->h), fp);
    /* the other direction has needed nothing */
    assert_null(fx->h->d[1].line);
}

static void test_long_line_grows_buffer_in_footprint(void **state)
{
    fixture *fx = *state;
    char req[900];
    int n = snprintf(req, sizeof(req), "GET /%0600d HTTP/1.1\r\nHost: a", 7);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    feed(fx, LW_DIR_TOSERVER, req, true);
    /* 256 -> 512 -> 1024 (max_line) for the 620-byte start line */
    assert_int_equal(fx->h->d[0].line_cap, 1024);
    assert_int_equal(lw_http_footprint(fx->h), bare() + line_cost(1024));
    feed(fx, LW_DIR_TOSERVER, "\r\n\r\n", true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_REQUESTS], 1);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_LINE_TOO_LONG], 0);
    assert_null(fx->h->d[0].line);
    assert_int_equal(lw_http_footprint(fx->h), bare());
}

static void test_gap_releases_idle_line(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOSERVER, "GET /index.html HTTP/1.1\r\nHost: www.exa", true);
    assert_non_null(fx->h->d[0].line);
    lw_http_gap(fx->h, LW_DIR_TOSERVER, &fx->sink);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_GAP], 1);
    assert_null(fx->h->d[0].line);
    assert_int_equal(lw_http_footprint(fx->h), bare());
    /* and the direction still resynchronises on the next request */
    feed(fx, LW_DIR_TOSERVER, REQ, true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_REQUESTS], 2);
}

/* ---- the ext: encoding layers and multipart boundary ------------------------------- */

static size_t gzip_of(const char *s, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)s;
    zs.avail_in = (uInt)strlen(s);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t got = zs.total_out;
    deflateEnd(&zs);
    return got;
}

/* A gzip response carrying `text`, into out. */
static size_t gzip_response(const char *text, uint8_t *out, size_t cap)
{
    uint8_t z[512];
    size_t zn = gzip_of(text, z, sizeof(z));
    int k =
        snprintf((char *)out, cap,
                 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zn);
    assert_true(k > 0 && (size_t)k + zn <= cap);
    memcpy(out + k, z, zn);
    return (size_t)k + zn;
}

static const char plain_text[] = "status: all systems nominal, nothing to see here";

static void test_plain_bodies_need_no_ext(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOCLIENT,
         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
         "{\"a\":\"b\\n\"}"
         "HTTP/1.1 200 OK\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         "Content-Length: 7\r\n\r\na=b&c=d",
         true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_RESPONSES], 2);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECODED_BYTES], 14); /* {"a":"b LF"} + a b c d */
    assert_null(fx->h->d[1].ext);
    assert_int_equal(lw_http_footprint(fx->h), bare());
}

static void test_gzip_body_allocates_ext_once(void **state)
{
    fixture *fx = *state;
    uint8_t msg[768];
    size_t n = gzip_response(plain_text, msg, sizeof(msg));
    feed_n(fx, LW_DIR_TOCLIENT, msg, n, true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECODED_BYTES], strlen(plain_text));
    http_ext *x = fx->h->d[1].ext;
    assert_non_null(x);
    assert_int_equal(x->nlayer_max, fx->lim.max_encodings);
    assert_int_equal(fx->h->d[1].body.nlayers, 0); /* the body ended: its layers are free */
    assert_null(x->layer[0].z);
    assert_int_equal(lw_http_footprint(fx->h), bare() + ext_cost(&fx->lim));

    feed_n(fx, LW_DIR_TOCLIENT, msg, n, true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECODED_BYTES], 2 * strlen(plain_text));
    assert_ptr_equal(fx->h->d[1].ext, x);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_GZIP_CORRUPT], 0);
}

static void test_gzip_body_split_keeps_probe_state(void **state)
{
    fixture *fx = *state;
    uint8_t msg[768];
    size_t n = gzip_response(plain_text, msg, sizeof(msg));
    /* two bodies, each fed a byte at a time: the probe of the second body
     * must start empty although the layer slot is reused */
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++)
            feed_n(fx, LW_DIR_TOCLIENT, msg + i, 1, true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECODED_BYTES], 2 * strlen(plain_text));
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECOMPRESS_PLAIN], 0);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_GZIP_CORRUPT], 0);
}

static void test_uninspected_gzip_needs_no_ext(void **state)
{
    fixture *fx = *state;
    uint8_t msg[768];
    size_t n = gzip_response(plain_text, msg, sizeof(msg));
    feed_n(fx, LW_DIR_TOCLIENT, msg, n, false);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_RESPONSES], 1);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECODED_BYTES], 0);
    assert_null(fx->h->d[1].ext);
}

static void test_too_many_encodings_need_no_ext(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOCLIENT,
         "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip, gzip, gzip\r\nContent-Length: 4\r\n\r\n"
         "abcd",
         true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_TOO_MANY_ENCODINGS], 1);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_DECODED_BYTES], 4); /* emitted as sent */
    assert_null(fx->h->d[1].ext);
}

#define MP_HEAD                                                                                    \
    "POST /up HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b0undary\r\n"                \
    "Content-Length: %zu\r\n\r\n"
#define MP_BODY                                                                                    \
    "--b0undary\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue-one\r\n"                \
    "--b0undary--\r\n"

static void test_multipart_boundary_lives_in_ext(void **state)
{
    fixture *fx = *state;
    char head[256];
    int k = snprintf(head, sizeof(head), MP_HEAD, strlen(MP_BODY));
    assert_true(k > 0 && (size_t)k < sizeof(head));
    feed(fx, LW_DIR_TOSERVER, head, true);
    http_ext *x = fx->h->d[0].ext;
    assert_non_null(x);
    assert_int_equal(fx->h->d[0].blen, 8);
    assert_memory_equal(x->boundary, "b0undary", 8);
    /* mid-body: the level stack is counted while it exists */
    feed(fx, LW_DIR_TOSERVER, "--b0undary\r\n", true);
    assert_non_null(fx->h->d[0].body.mp);
    size_t mp = fx->h->d[0].body.mp_depth * sizeof(http_mp) + HTTP_ALLOC_OVERHEAD;
    size_t line = fx->h->d[0].line ? line_cost(fx->h->d[0].line_cap) : 0;
    assert_int_equal(lw_http_footprint(fx->h), bare() + ext_cost(&fx->lim) + mp + line);
    feed(fx, LW_DIR_TOSERVER, &MP_BODY[strlen("--b0undary\r\n")], true);
    assert_null(fx->h->d[0].body.mp);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_MULTIPART_INVALID], 0);
    /* the part's header value, its name, its body: items of their own */
    assert_true(fx->seen.items[0] >= 3);
    line = fx->h->d[0].line ? line_cost(fx->h->d[0].line_cap) : 0;
    assert_int_equal(lw_http_footprint(fx->h), bare() + ext_cost(&fx->lim) + line);
}

static void test_bad_boundary_needs_no_ext(void **state)
{
    fixture *fx = *state;
    feed(fx, LW_DIR_TOSERVER,
         "POST /up HTTP/1.1\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc",
         true);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_MULTIPART_INVALID], 1);
    assert_null(fx->h->d[0].ext);
}

/* ---- the request FIFO, 2 bits a method --------------------------------------------- */

static void test_packed_fifo_keeps_head_responses_in_step(void **state)
{
    fixture *fx = *state;
    /* three rounds of 50 pipelined requests (the ring of 64 wraps), every
     * third a HEAD whose response has a Content-Length but no body */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++)
            feed(fx, LW_DIR_TOSERVER,
                 i % 3 == 0 ? "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"
                            : "GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
                 false);
        for (int i = 0; i < 50; i++)
            feed(fx, LW_DIR_TOCLIENT,
                 i % 3 == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                            : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                 false);
    }
    assert_int_equal(fx->ctr[LW_HTTP_CTR_REQUESTS], 150);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_RESPONSES], 150);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_BAD_STATUS_LINE], 0);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_PIPELINE_OVERFLOW], 0);
    assert_int_equal(fx->ctr[LW_HTTP_CTR_BODY_BYTES], 3 * 33 * 5); /* 17 HEADs a round */
    assert_int_equal(fx->h->fifo_n, 0);
}

static void test_packed_fifo_connect_in_any_slot(void **state)
{
    fixture *fx = *state;
    /* k GETs answered, then a CONNECT: its 2xx answer switches to a tunnel
     * whichever 2-bit slot of the ring the CONNECT landed in (k = 63: the
     * last slot, then the ring wraps to the first) */
    static const int ks[] = {0, 1, 2, 3, 4, 5, 62, 63, 64, 130};
    for (size_t j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
        lw_http_free(fx->h, &fx->sink);
        fx->h = lw_http_new(&fx->lim, fx->ctr);
        assert_non_null(fx->h);
        for (int i = 0; i < ks[j]; i++) {
            feed(fx, LW_DIR_TOSERVER, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", false);
            feed(fx, LW_DIR_TOCLIENT, "HTTP/1.1 204 No Content\r\n\r\n", false);
        }
        feed(fx, LW_DIR_TOSERVER, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", false);
        assert_false(lw_http_passthrough(fx->h, LW_DIR_TOCLIENT));
        feed(fx, LW_DIR_TOCLIENT, "HTTP/1.1 200 Connection established\r\n\r\n", false);
        assert_true(lw_http_passthrough(fx->h, LW_DIR_TOCLIENT));
    }
    assert_int_equal(fx->ctr[LW_HTTP_CTR_UPGRADE], 10);
}

/* ---- the change mark the engine relies on ------------------------------------------ */

static void test_mem_changed_once_after_new(void **state)
{
    fixture *fx = *state;
    assert_true(lw_http_mem_changed(fx->h)); /* the decoder itself appeared */
    assert_false(lw_http_mem_changed(fx->h));
    assert_false(lw_http_mem_changed(NULL));
}

static void test_mem_changed_quiet_on_warm_connection(void **state)
{
    fixture *fx = *state;
    /* twice a request: the line buffer is then kept, later ones allocate nothing */
    feed(fx, LW_DIR_TOSERVER, REQ, true);
    feed(fx, LW_DIR_TOSERVER, REQ, true);
    assert_true(lw_http_mem_changed(fx->h));
    size_t fp = lw_http_footprint(fx->h);
    for (int i = 0; i < 20; i++) {
        feed(fx, LW_DIR_TOSERVER, REQ, true);
        assert_false(lw_http_mem_changed(fx->h));
    }
    assert_int_equal(lw_http_footprint(fx->h), fp);
}

/*
 * The engine declares the footprint to flow.memcap only when the mark is
 * set: that is exact only if every change of lw_http_footprint() sets it.
 * This plays a varied script (pipelined messages, a line that grows the
 * buffer, a gzip body, a multipart body, chunks, a broken start line, a gap,
 * a tunnel) in pieces of several sizes and checks, after every call, that
 * the value declared the engine's way equals the real footprint.
 */
typedef struct step {
    int dir;
    const uint8_t *p;
    size_t n;
    bool gap; /* lw_http_gap instead of a feed */
} step;

static void play_checked(fixture *fx, const step *steps, size_t nsteps, size_t piece,
                         unsigned *changes, unsigned *calls)
{
    size_t declared = 0;
    for (size_t i = 0; i < nsteps; i++) {
        const step *st = &steps[i];
        size_t off = 0;
        do {
            size_t n = st->n - off < piece ? st->n - off : piece;
            if (st->gap)
                lw_http_gap(fx->h, st->dir, &fx->sink);
            else
                feed_n(fx, st->dir, st->p + off, n, true);
            off += n;
            (*calls)++;
            if (lw_http_mem_changed(fx->h)) {
                declared = lw_http_footprint(fx->h);
                (*changes)++;
            }
            assert_int_equal(declared, lw_http_footprint(fx->h));
        } while (off < st->n);
    }
}

#define S(d, str)                                                                                  \
    {                                                                                              \
        (d), (const uint8_t *)(str), sizeof(str) - 1, false                                        \
    }

static void test_mem_changed_covers_every_change(void **state)
{
    fixture *fx = *state;
    uint8_t gz[1024];
    size_t gzn = gzip_response(plain_text, gz, sizeof(gz));
    char mp[512];
    int k = snprintf(mp, sizeof(mp), MP_HEAD "%s", strlen(MP_BODY), MP_BODY);
    assert_true(k > 0 && (size_t)k < sizeof(mp));
    char longline[900];
    memset(longline, 'a', sizeof(longline));
    memcpy(longline, "X-Long: ", 8);
    memcpy(longline + sizeof(longline) - 2, "\r\n", 2);
    char toolong[1500];
    memset(toolong, 'b', sizeof(toolong));
    memcpy(toolong, "X-Over: ", 8);
    memcpy(toolong + sizeof(toolong) - 2, "\r\n", 2);
    const step steps[] = {
        S(0, REQ),
        S(1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        S(0, "POST /f HTTP/1.1\r\nHost: a\r\n"),
        {0, (const uint8_t *)longline, sizeof(longline), false},
        {0, (const uint8_t *)toolong, sizeof(toolong), false},
        S(0, "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\":\"b\"}"),
        {1, gz, gzn, false},
        {0, (const uint8_t *)mp, (size_t)k, false},
        S(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n"
             "X-Trailer: t\r\n\r\n"),
        S(0, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n"),
        S(1, "not http at all\r\nHTTP/1.1 204 No Content\r\n\r\n"),
        S(0, "GET /partial HTTP/1.1\r\nHost: "),
        {0, NULL, 0, true},
        S(0, "junk\r\nGET /c HTTP/1.1\r\nHost: c\r\n\r\n"),
        {0, (const uint8_t *)mp, (size_t)k, false},
        S(0, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        S(1, "HTTP/1.1 200 Connection established\r\n\r\n"),
        S(0, "\x16\x03\x01 tunnel bytes"),
    };
    static const size_t pieces[] = {1, 3, 7, 64, 100000};
    for (size_t j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
        lw_http_free(fx->h, &fx->sink);
        fx->h = lw_http_new(&fx->lim, fx->ctr);
        assert_non_null(fx->h);
        unsigned changes = 0, calls = 0;
        play_checked(fx, steps, sizeof(steps) / sizeof(steps[0]), pieces[j], &changes, &calls);
        /* the script does change the footprint, and most calls do not */
        assert_true(changes >= 4);
        assert_true(changes < calls);
    }
    assert_true(fx->ctr[LW_HTTP_CTR_LINE_TOO_LONG] > 0);
    assert_true(fx->ctr[LW_HTTP_CTR_GAP] > 0);
    assert_true(fx->ctr[LW_HTTP_CTR_UPGRADE] > 0);
}
#undef S

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_within_budget),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_new_decoder_is_bare),
        T(test_whole_message_leaves_no_line_buffer),
        T(test_partial_line_keeps_buffer_until_complete),
        T(test_second_need_keeps_line_buffer),
        T(test_long_line_grows_buffer_in_footprint),
        T(test_gap_releases_idle_line),
        T(test_plain_bodies_need_no_ext),
        T(test_gzip_body_allocates_ext_once),
        T(test_gzip_body_split_keeps_probe_state),
        T(test_uninspected_gzip_needs_no_ext),
        T(test_too_many_encodings_need_no_ext),
        T(test_multipart_boundary_lives_in_ext),
        T(test_bad_boundary_needs_no_ext),
        T(test_packed_fifo_keeps_head_responses_in_step),
        T(test_packed_fifo_connect_in_any_slot),
        T(test_mem_changed_once_after_new),
        T(test_mem_changed_quiet_on_warm_connection),
        T(test_mem_changed_covers_every_change),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
