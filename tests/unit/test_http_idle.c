/*
 * test_http_idle.c - parking an idle HTTP decoder (http.h: lw_http_idle,
 * lw_http_park, lw_http_resume).
 *
 * The engine gives back the decoder of a connection that waits between
 * messages and resumes a fresh one (new, or parked by another flow) at the
 * connection's next bytes. That is only sound if lw_http_idle() is true
 * exactly where the swap cannot be seen. The first tests put a parser in
 * each state where it must say false (mid-headers, a partial line, mid-body,
 * a chunked trailer section, a response owed to a HEAD, an upgrade, a
 * CONNECT, resynchronising) and check it says true after complete
 * exchanges. The property test then feeds random scripts (keep-alive,
 * pipelining, chunked with trailers, gzip, forms, JSON, multipart, 1xx,
 * HEAD/204/304, the odd broken line or gap) in pieces of random sizes, with
 * generous and with tight limits (so bombs, long lines and header caps
 * happen), through one decoder kept throughout and through decoders
 * swapped whenever lw_http_idle() is true; the sink's trace (content, item
 * ends and metadata, in order) and the counters must be identical, and the
 * swap must have happened. Nothing here is PII; nothing is printed.
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

/* ---- a recording sink: every event in order, in one trace ---------------- */

typedef struct trace {
    uint8_t *buf;
    size_t len, cap;
} trace;

static void put(trace *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        t->buf = realloc(t->buf, cap);
        assert_non_null(t->buf);
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void put_event(trace *t, char kind, int dir, int key, const uint8_t *p, size_t n)
{
    uint8_t head[3] = {(uint8_t)kind, (uint8_t)dir, (uint8_t)key};
    uint32_t n32 = (uint32_t)n;
    put(t, head, sizeof(head));
    put(t, &n32, sizeof(n32));
    if (n)
        put(t, p, n);
}

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    put_event(ctx, 'C', dir, 0, d, n);
}

static void on_item_end(void *ctx, int dir)
{
    put_event(ctx, 'E', dir, 0, NULL, 0);
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    put_event(ctx, 'M', dir, (int)key, v, n);
}

typedef struct fx {
    lw_app_limits lim;
    uint64_t ctr[LW_HTTP_CTR_MAX];
    trace t;
    lw_app_sink sink;
    lw_http *h;
} fx;

static lw_app_limits defaults(void)
{
    lw_app_limits l = {.max_line = 1024,
                       .max_headers = 64,
                       .max_decompressed = 1u << 20,
                       .max_ratio = 1000,
                       .max_encodings = 3};
    return l;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->lim = defaults();
    f->sink = (lw_app_sink){on_content, on_item_end, on_meta, &f->t};
    f->h = lw_http_new(&f->lim, f->ctr);
    assert_non_null(f->h);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    lw_http_free(f->h, &f->sink);
    free(f->t.buf);
    free(f);
    return 0;
}

static void feed(fx *f, int dir, const char *s)
{
    lw_http_feed(f->h, dir, (const uint8_t *)s, strlen(s), true, &f->sink);
}

#define REQ LW_DIR_TOSERVER
#define RSP LW_DIR_TOCLIENT

/* ---- where it must say false, and true --------------------------------------- */

static void test_new_parser_is_idle(void **state)
{
    fx *f = *state;
    assert_true(lw_http_idle(f->h));
    assert_false(lw_http_idle(NULL));
}

static void test_idle_after_exchange(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET /a?b=c HTTP/1.1\r\nHost: example.test\r\n\r\n");
    assert_true(lw_http_idle(f->h)); /* a GET's response is owed: carried */
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    assert_true(lw_http_idle(f->h));
    feed(f, REQ,
         "POST /f HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         "Content-Length: 7\r\n\r\nx=1&y=2");
    feed(f, RSP, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_true(lw_http_idle(f->h));
}

static void test_not_idle_mid_headers(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET / HTTP/1.1\r\nHost: example.test\r\n");
    assert_false(lw_http_idle(f->h));
}

static void test_not_idle_partial_line(void **state)
{
    fx *f = *state;
    feed(f, RSP, "HTTP/1.1 2");
    assert_false(lw_http_idle(f->h));
    fx *g = f;
    lw_http_free(g->h, &g->sink);
    g->h = lw_http_new(&g->lim, g->ctr);
    feed(g, REQ, "\r"); /* half of an empty line between messages */
    assert_false(lw_http_idle(g->h));
    feed(g, REQ, "\n");
    assert_true(lw_http_idle(g->h));
}

static void test_not_idle_mid_body(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET / HTTP/1.1\r\n\r\n");
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
    assert_false(lw_http_idle(f->h));
    feed(f, RSP, "-done");
    assert_false(lw_http_idle(f->h));
    feed(f, RSP, "!");
    assert_true(lw_http_idle(f->h));
}

static void test_not_idle_until_close_body(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET / HTTP/1.1\r\n\r\n");
    feed(f, RSP, "HTTP/1.0 200 OK\r\n\r\nruns to the end");
    assert_false(lw_http_idle(f->h));
}

static void test_not_idle_chunked_trailer(void **state)
{
    fx *f = *state;
    feed(f, REQ, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    assert_false(lw_http_idle(f->h));
    feed(f, REQ, "0\r\n"); /* the trailer section follows */
    assert_false(lw_http_idle(f->h));
    feed(f, REQ, "X-Trailer: t\r\n");
    assert_false(lw_http_idle(f->h));
    feed(f, REQ, "\r\n");
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_true(lw_http_idle(f->h)); /* chunk-size state left behind does not matter */
}

static void test_not_idle_head_pending(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET /g HTTP/1.1\r\n\r\nHEAD /h HTTP/1.1\r\n\r\n");
    assert_false(lw_http_idle(f->h)); /* HEAD is behind GET in the FIFO */
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody");
    assert_false(lw_http_idle(f->h)); /* HEAD's response still owed */
    /* the answer to HEAD has no body whatever its Content-Length */
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
    assert_true(lw_http_idle(f->h));
}

static void test_pending_requests_carried(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    feed(f, RSP, "HTTP/1.1 100 Continue\r\n\r\n"); /* interim: answers nothing */
    assert_true(lw_http_idle(f->h));
    lw_http_carry c;
    lw_http_park(f->h, &c);
    assert_int_equal(c.pending, 2);
    assert_int_equal(f->h->fifo_n, 0);
    lw_http_resume(f->h, &c);
    assert_int_equal(f->h->fifo_n, 2);
    feed(f, RSP, "HTTP/1.1 304 Not Modified\r\n\r\n");
    assert_int_equal(f->h->fifo_n, 1);
    assert_true(lw_http_idle(f->h));
}

static void test_not_idle_upgraded(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
    feed(f, RSP, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
    assert_true(lw_http_passthrough(f->h, RSP));
    assert_false(lw_http_idle(f->h));
}

static void test_not_idle_connect(void **state)
{
    fx *f = *state;
    feed(f, REQ, "CONNECT example.test:443 HTTP/1.1\r\n\r\n");
    assert_false(lw_http_idle(f->h));
}

static void test_not_idle_resync(void **state)
{
    fx *f = *state;
    feed(f, REQ, "this is not http\r\n");
    assert_int_equal(f->ctr[LW_HTTP_CTR_BAD_REQUEST_LINE], 1);
    assert_false(lw_http_idle(f->h)); /* a new parser would count the next one */
    feed(f, REQ, "GET / HTTP/1.1\r\n\r\n");
    feed(f, RSP, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_true(lw_http_idle(f->h));
}

static void test_not_idle_after_gap_mid_message(void **state)
{
    fx *f = *state;
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
    lw_http_gap(f->h, RSP, &f->sink);
    assert_false(lw_http_idle(f->h)); /* resynchronising */
}

static void test_park_resume_carries_budget(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET /x HTTP/1.1\r\n\r\n");
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    assert_true(lw_http_idle(f->h));
    int64_t want[2];
    for (int i = 0; i < 2; i++)
        want[i] = (int64_t)(f->h->d[i].in_total * f->lim.max_ratio) - (int64_t)f->h->d[i].out_total;
    size_t fp = lw_http_footprint(f->h);
    lw_http_carry c;
    lw_http_park(f->h, &c);
    assert_int_equal(c.credit[0], want[0]);
    assert_int_equal(c.credit[1], want[1]);
    assert_true(c.credit[1] > 0);
    assert_int_equal(lw_http_footprint(f->h), fp); /* buffers kept */
    assert_int_equal(f->h->d[1].in_total, 0);
    (void)lw_http_mem_changed(f->h);
    lw_http_resume(f->h, &c);
    assert_true(lw_http_mem_changed(f->h));
    for (int i = 0; i < 2; i++)
        assert_int_equal((int64_t)(f->h->d[i].in_total * f->lim.max_ratio) -
                             (int64_t)f->h->d[i].out_total,
                         want[i]);
    /* a negative credit (output beyond the ratio, within max_decompressed) */
    lw_http_carry neg = {{-5, 0}, 0};
    lw_http_park(f->h, &c);
    lw_http_resume(f->h, &neg);
    assert_int_equal(f->h->d[0].in_total, 0);
    assert_int_equal(f->h->d[0].out_total, 5);
}

static void test_park_resets_to_new(void **state)
{
    fx *f = *state;
    feed(f, REQ, "GET /x HTTP/1.1\r\nHost: example.test\r\n\r\n");
    feed(f, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    lw_http_carry c;
    lw_http_park(f->h, &c);
    lw_http *n = lw_http_new(&f->lim, f->ctr);
    assert_non_null(n);
    for (int i = 0; i < 2; i++) {
        http_dir a = f->h->d[i], b = n->d[i];
        a.h = b.h = NULL;
        a.line = b.line = NULL;
        a.ext = b.ext = NULL;
        a.line_cap = b.line_cap = 0;
        a.line_allocs = b.line_allocs = 0;
        assert_int_equal(a.state, b.state);
        assert_true(a.in_total == b.in_total && a.out_total == b.out_total);
        assert_true(memcmp(&a.body, &b.body, sizeof(a.body)) == 0);
        assert_true(a.resync == b.resync && a.item_open == b.item_open);
    }
    assert_int_equal(f->h->fifo_n, 0);
    assert_false(f->h->upgraded);
    lw_http_free(n, NULL);
}

/* ---- the property: swapping at idle points changes nothing ------------------- */

static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

typedef struct piece {
    int dir;    /* -1: end of script */
    bool gap;   /* a gap on dir instead of bytes */
    size_t off; /* into the script's byte store */
    size_t n;
} piece;

typedef struct script {
    uint8_t *bytes;
    size_t len, cap;
    piece *p;
    size_t np, pcap;
} script;

static void s_bytes(script *s, int dir, const void *b, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 8192;
        while (cap < s->len + n)
            cap *= 2;
        s->bytes = realloc(s->bytes, cap);
        assert_non_null(s->bytes);
        s->cap = cap;
    }
    if (s->np == s->pcap) {
        s->pcap = s->pcap ? s->pcap * 2 : 64;
        s->p = realloc(s->p, s->pcap * sizeof(*s->p));
        assert_non_null(s->p);
    }
    memcpy(s->bytes + s->len, b, n);
    s->p[s->np++] = (piece){dir, false, s->len, n};
    s->len += n;
}

static void s_str(script *s, int dir, const char *str)
{
    s_bytes(s, dir, str, strlen(str));
}

static void s_gap(script *s, int dir)
{
    s_bytes(s, dir, "", 0);
    s->p[s->np - 1].gap = true;
}

static size_t gz(const char *in, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)strlen(in);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

#define R8(x) x x x x x x x x

static const char *const texts[] = {
    "{\"note\":\"alpha beta gamma\",\"k\":\"line\\nbreak \\u0041\"}",
    "name=alpha+beta&city=gamma%20delta&x=%41%42",
    "plain words repeated plain words repeated plain words repeated plain words repeated",
    "",
    "z",
    /* compresses ~20:1: with tight limits it fits the budget only with the
     * credit earlier messages of the connection left */
    R8(R8("words, more words; ")),
};

/* Appends a body with its framing headers (and the blank line). */
static void s_body(script *s, int dir, uint64_t *r, const char *ctype)
{
    char head[256], buf[4096];
    const char *t = texts[rnd(r) % 6];
    unsigned kind = rnd(r) % 5;
    if (kind == 0) { /* gzip, Content-Length */
        uint8_t z[2048];
        size_t zn = gz(t, z, sizeof(z));
        snprintf(head, sizeof(head),
                 "Content-Type: %s\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", ctype,
                 zn);
        s_str(s, dir, head);
        s_bytes(s, dir, z, zn);
    } else if (kind == 1) { /* chunked, maybe with trailers */
        snprintf(head, sizeof(head), "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                 ctype);
        s_str(s, dir, head);
        size_t n = strlen(t), off = 0;
        while (off < n) {
            size_t k = 1 + rnd(r) % 20;
            if (k > n - off)
                k = n - off;
            snprintf(buf, sizeof(buf), "%zx%s\r\n", k, rnd(r) % 4 ? "" : ";ext=1");
            s_str(s, dir, buf);
            s_bytes(s, dir, t + off, k);
            s_str(s, dir, "\r\n");
            off += k;
        }
        s_str(s, dir, rnd(r) % 2 ? "0\r\nX-Sum: done\r\n\r\n" : "0\r\n\r\n");
    } else if (kind == 2) { /* multipart */
        snprintf(buf, sizeof(buf),
                 "--bnd\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n%s\r\n"
                 "--bnd\r\nContent-Type: application/json\r\n\r\n%s\r\n--bnd--\r\n",
                 t, texts[0]);
        snprintf(head, sizeof(head),
                 "Content-Type: multipart/form-data; boundary=bnd\r\nContent-Length: %zu\r\n\r\n",
                 strlen(buf));
        s_str(s, dir, head);
        s_str(s, dir, buf);
    } else { /* Content-Length */
        snprintf(head, sizeof(head), "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype,
                 strlen(t));
        s_str(s, dir, head);
        s_str(s, dir, t);
    }
}

static const char *const ctypes[] = {"application/json", "application/x-www-form-urlencoded",
                                     "text/plain"};

static void make_script(script *s, uint64_t *r)
{
    char buf[512];
    unsigned rounds = 1 + rnd(r) % 6;
    for (unsigned k = 0; k < rounds; k++) {
        unsigned batch = 1 + (rnd(r) % 4 == 0 ? rnd(r) % 4 : 0); /* pipelining */
        uint8_t methods[8];
        for (unsigned i = 0; i < batch; i++) {
            unsigned m = rnd(r) % 6;
            methods[i] = m == 0 ? M_HEAD : M_OTHER;
            if (rnd(r) % 5 == 0)
                s_str(s, REQ, "\r\n"); /* blank lines between messages */
            if (rnd(r) % 25 == 0)
                s_str(s, REQ, "garbage that is not a request\r\n");
            snprintf(buf, sizeof(buf), "%s /p/%u?q=a+b%%40c&n=%u HTTP/1.1\r\nHost: h%u.test\r\n%s",
                     m == 0  ? "HEAD"
                     : m < 3 ? "GET"
                             : "POST",
                     rnd(r) % 100, rnd(r) % 10, rnd(r) % 3,
                     rnd(r) % 4 ? "" : "X-Fold: one\r\n two\r\n");
            s_str(s, REQ, buf);
            if (m >= 3)
                s_body(s, REQ, r, ctypes[rnd(r) % 3]);
            else
                s_str(s, REQ, "\r\n");
        }
        if (rnd(r) % 30 == 0)
            s_gap(s, rnd(r) % 2);
        for (unsigned i = 0; i < batch; i++) {
            unsigned st = rnd(r) % 8;
            if (st == 0)
                s_str(s, RSP, "HTTP/1.1 100 Continue\r\n\r\n");
            if (methods[i] == M_HEAD) {
                s_str(s, RSP, "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
            } else if (st == 1) {
                s_str(s, RSP, "HTTP/1.1 204 No Content\r\n\r\n");
            } else if (st == 2) {
                s_str(s, RSP, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n");
            } else {
                s_str(s, RSP, "HTTP/1.1 200 OK\r\nServer: t\r\n");
                s_body(s, RSP, r, ctypes[rnd(r) % 3]);
            }
        }
    }
    if (rnd(r) % 4 == 0) /* a last body framed by the connection's end */
        s_str(s, RSP, "HTTP/1.0 200 OK\r\n\r\ntail until close");
}

typedef struct outcome {
    trace t;
    uint64_t *ctr; /* counted into; the spare parser counts here too */
    unsigned swaps;
} outcome;

/* Feeds the script in pieces of random sizes (the same for both runs, from
 * `split`); swap: whenever the parser is idle, park it and continue with a
 * new parser, the same one, or one parked by another connection. */
static void play(const script *s, const lw_app_limits *lim, uint64_t split, bool swap,
                 lw_http **spare, outcome *o)
{
    uint64_t swap_rnd = split ^ 0x9e3779b97f4a7c15ull;
    lw_app_sink sink = {on_content, on_item_end, on_meta, &o->t};
    lw_http *h = lw_http_new(lim, o->ctr);
    assert_non_null(h);
    for (size_t i = 0; i < s->np; i++) {
        const piece *p = &s->p[i];
        size_t off = 0;
        do {
            size_t step = p->n - off;
            if (step > 1 && rnd(&split) % 3)
                step = 1 + rnd(&split) % (step < 60 ? step : 60);
            if (p->gap)
                lw_http_gap(h, p->dir, &sink);
            else
                lw_http_feed(h, p->dir, s->bytes + p->off + off, step, true, &sink);
            off += step;
            if (swap && lw_http_idle(h)) {
                lw_http_carry c;
                lw_http_park(h, &c);
                unsigned how = rnd(&swap_rnd) % 3;
                if (how == 0) {
                    lw_http_free(h, NULL);
                    h = lw_http_new(lim, o->ctr);
                    assert_non_null(h);
                } else if (how == 1 && *spare) {
                    lw_http *t = *spare;
                    *spare = h;
                    h = t;
                }
                lw_http_resume(h, &c);
                o->swaps++;
            }
        } while (off < p->n);
    }
    lw_http_free(h, &sink);
}

/* The counters of the swapping run are one array for all scripts, as the
 * engine's are for all flows (a parked parser keeps its counter array):
 * each script's counts are compared as differences. */
static void check_scripts(const lw_app_limits *lim, uint64_t seed, unsigned n)
{
    unsigned swaps = 0;
    uint64_t ctr_b[LW_HTTP_CTR_MAX] = {0};
    /* a parked parser that served another connection, with its buffers */
    lw_http *spare = lw_http_new(lim, ctr_b);
    assert_non_null(spare);
    const char *warm = "GET /a-long-enough-path-to-need-a-line-buffer HTTP/1.1\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        lw_http_feed(spare, REQ, (const uint8_t *)warm, strlen(warm), true, NULL);
        lw_http_feed(spare, RSP, (const uint8_t *)"HTTP/1.1 204 x\r\n\r\n", 18, true, NULL);
    }
    assert_non_null(spare->d[REQ].line); /* needed twice: kept */
    assert_true(lw_http_idle(spare));
    lw_http_carry dummy;
    lw_http_park(spare, &dummy);
    memset(ctr_b, 0, sizeof(ctr_b));
    for (unsigned k = 0; k < n; k++) {
        uint64_t r = seed + k * 0x1000193u;
        script s = {0};
        make_script(&s, &r);
        uint64_t ctr_a[LW_HTTP_CTR_MAX] = {0}, before[LW_HTTP_CTR_MAX];
        memcpy(before, ctr_b, sizeof(before));
        outcome a = {.ctr = ctr_a}, b = {.ctr = ctr_b};
        play(&s, lim, r, false, &spare, &a);
        play(&s, lim, r, true, &spare, &b);
        assert_int_equal(a.t.len, b.t.len);
        assert_true(a.t.len == 0 || memcmp(a.t.buf, b.t.buf, a.t.len) == 0);
        for (int i = 0; i < LW_HTTP_CTR_MAX; i++)
            assert_int_equal(ctr_a[i], ctr_b[i] - before[i]);
        assert_true(ctr_a[LW_HTTP_CTR_REQUESTS] > 0);
        swaps += b.swaps;
        free(a.t.buf);
        free(b.t.buf);
        free(s.bytes);
        free(s.p);
    }
    assert_true(swaps > n); /* the swap did happen, more than once a script */
    lw_http_free(spare, NULL);
}

static void test_swap_property_defaults(void **state)
{
    (void)state;
    lw_app_limits lim = defaults();
    check_scripts(&lim, 1, 400);
}

static void test_swap_property_tight_limits(void **state)
{
    (void)state;
    /* bombs (ratio 4 over 64 bytes), long lines, header caps, one layer */
    lw_app_limits lim = {.max_line = 64,
                         .max_headers = 3,
                         .max_decompressed = 64,
                         .max_ratio = 4,
                         .max_encodings = 1};
    check_scripts(&lim, 77, 400);
}

static void test_swap_property_budget(void **state)
{
    (void)state;
    /* ratio 1: each compressed body may reach max_decompressed on its own,
     * so the connection's budget (what earlier messages left) decides */
    lw_app_limits lim = defaults();
    lim.max_ratio = 1;
    lim.max_decompressed = 64;
    check_scripts(&lim, 9001, 400);
}

static void test_swap_property_no_ratio(void **state)
{
    (void)state;
    lw_app_limits lim = defaults();
    lim.max_ratio = 0;
    check_scripts(&lim, 4242, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_parser_is_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_after_exchange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_mid_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_partial_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_mid_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_until_close_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_chunked_trailer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_head_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_requests_carried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_upgraded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idle_after_gap_mid_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_resume_carries_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_resets_to_new, setup, teardown),
        cmocka_unit_test(test_swap_property_defaults),
        cmocka_unit_test(test_swap_property_tight_limits),
        cmocka_unit_test(test_swap_property_budget),
        cmocka_unit_test(test_swap_property_no_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
