/*
 * test_tls.c - the TLS tracker: ClientHellos built here (TLS 1.2 style,
 * TLS 1.3 style with supported_versions and key_share, a 3 KiB one split
 * over two records, one over the cap), fed whole, byte by byte and in
 * random splits with the same server name and the same cleartext count;
 * host name validation; every malformed length; where the cleartext ends;
 * the not-TLS fallback; the heap buffer's life. One negative test per
 * counter. Names are example.org/example.com; nothing is printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/tls.h"

enum { BUF_MAX = 40000 };

/* ---- a small ClientHello builder ---------------------------------------- */

typedef struct wr {
    uint8_t *b;
    size_t n;
} wr;

static void put8(wr *w, unsigned v)
{
    assert_true(w->n < BUF_MAX);
    w->b[w->n++] = (uint8_t)v;
}

static void put16(wr *w, unsigned v)
{
    put8(w, v >> 8 & 0xff);
    put8(w, v & 0xff);
}

static void putn(wr *w, const void *p, size_t n)
{
    assert_true(w->n + n <= BUF_MAX);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void fill(wr *w, uint8_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(w, v);
}

/* Writes the 16-bit length of everything after `at` (a 2-byte hole). */
static void patch16(wr *w, size_t at)
{
    size_t len = w->n - at - 2;
    assert_true(len <= 0xffff);
    w->b[at] = (uint8_t)(len >> 8);
    w->b[at + 1] = (uint8_t)len;
}

typedef struct hello_opts {
    bool tls13;           /* supported_versions + key_share */
    size_t key_share;     /* key_exchange bytes (tls13) */
    const char *sni;      /* NULL: no server_name extension */
    size_t sni_len;       /* 0: strlen(sni) */
    bool no_ext;          /* no extensions block at all */
    bool two_sni;         /* a second server_name extension */
    uint8_t sid_len;      /* session_id length */
    uint16_t cs_len;      /* cipher_suites bytes; 0 = 4 */
    size_t pad;           /* padding extension (21) bytes, 0 = none */
    uint8_t hs_type;      /* handshake type; 0 = client_hello */
    uint8_t leading_name; /* an unknown name_type entry before host_name */
} hello_opts;

static void sni_ext(wr *w, const hello_opts *o)
{
    put16(w, 0); /* server_name */
    size_t ext = w->n;
    put16(w, 0);
    size_t list = w->n;
    put16(w, 0);
    if (o->leading_name) {
        put8(w, o->leading_name); /* some future name type */
        put16(w, 3);
        putn(w, "abc", 3);
    }
    size_t n = o->sni_len ? o->sni_len : strlen(o->sni);
    put8(w, 0); /* host_name */
    put16(w, (unsigned)n);
    putn(w, o->sni, n);
    patch16(w, list);
    patch16(w, ext);
}

/* A whole handshake message (4-byte header included) into out. */
static size_t build_hello(const hello_opts *o, uint8_t *out)
{
    wr w = {out, 0};
    put8(&w, o->hs_type ? o->hs_type : 1);
    put8(&w, 0); /* 24-bit length, patched below */
    put16(&w, 0);
    put16(&w, 0x0303);  /* legacy_version */
    fill(&w, 0x5a, 32); /* random */
    put8(&w, o->sid_len);
    fill(&w, 0x11, o->sid_len);
    unsigned cs = o->cs_len ? o->cs_len : 4;
    put16(&w, cs);
    for (unsigned i = 0; i < cs; i++)
        put8(&w, i & 1 ? 0x01 : 0x13); /* 0x1301 TLS_AES_128_GCM_SHA256 */
    put8(&w, 1);                       /* compression_methods: null */
    put8(&w, 0);
    if (!o->no_ext) {
        size_t exts = w.n;
        put16(&w, 0);
        put16(&w, 0x000b); /* ec_point_formats, as 1.2 clients send */
        put16(&w, 2);
        put8(&w, 1);
        put8(&w, 0);
        if (o->sni)
            sni_ext(&w, o);
        if (o->tls13) {
            put16(&w, 0x002b); /* supported_versions: TLS 1.3, 1.2 */
            put16(&w, 5);
            put8(&w, 4);
            put16(&w, 0x0304);
            put16(&w, 0x0303);
            put16(&w, 0x0033); /* key_share: one entry */
            put16(&w, (unsigned)(o->key_share + 6));
            put16(&w, (unsigned)(o->key_share + 4));
            put16(&w, 0x11ec); /* X25519MLKEM768 */
            put16(&w, (unsigned)o->key_share);
            fill(&w, 0xa5, o->key_share);
        }
        if (o->two_sni)
            sni_ext(&w, o);
        if (o->pad) {
            put16(&w, 0x0015);
            put16(&w, (unsigned)o->pad);
            fill(&w, 0, o->pad);
        }
        patch16(&w, exts);
    }
    size_t body = w.n - 4;
    out[1] = (uint8_t)(body >> 16);
    out[2] = (uint8_t)(body >> 8);
    out[3] = (uint8_t)body;
    return w.n;
}

/* Wraps msg into records of type `type`, at most frag bytes each. */
static size_t add_records(uint8_t *out, size_t at, uint8_t type, const uint8_t *msg, size_t n,
                          size_t frag)
{
    for (size_t i = 0; i < n; i += frag) {
        size_t k = n - i < frag ? n - i : frag;
        assert_true(at + 5 + k <= BUF_MAX);
        out[at++] = type;
        out[at++] = 3;
        out[at++] = type == 22 && i == 0 ? 1 : 3;
        out[at++] = (uint8_t)(k >> 8);
        out[at++] = (uint8_t)k;
        memcpy(out + at, msg + i, k);
        at += k;
    }
    return at;
}

/* A record of type `type` with n bytes of v. */
static size_t add_record(uint8_t *out, size_t at, uint8_t type, uint8_t v, size_t n)
{
    uint8_t body[256];
    assert_true(n <= sizeof(body));
    memset(body, v, n);
    return add_records(out, at, type, body, n, n);
}

/* A hello as one record stream (fragments of frag bytes). */
static size_t hello_stream(const hello_opts *o, size_t frag, uint8_t *out)
{
    uint8_t *msg = malloc(BUF_MAX);
    assert_non_null(msg);
    size_t n = build_hello(o, msg);
    size_t at = add_records(out, 0, 22, msg, n, frag);
    free(msg);
    return at;
}

/* ---- feeding ------------------------------------------------------------ */

typedef struct run {
    lw_tls_dir t;
    uint64_t ctr[LW_TLS_CTR_MAX];
    size_t clear; /* sum of the returned counts */
    int nfound;   /* calls that reported a name */
    char sni[LW_TLS_SNI_MAX];
    size_t last_cut; /* start of the last piece fed */
    bool short_seen; /* a call returned less than its length */
} run;

static void feed1(run *r, bool client, const uint8_t *d, size_t n, size_t at)
{
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    assert_non_null(copy);
    memcpy(copy, d, n);
    bool found = true;
    char sni[LW_TLS_SNI_MAX];
    size_t ret = lw_tls_feed(&r->t, client, copy, n, sni, sizeof(sni), &found, r->ctr);
    free(copy);
    assert_true(ret <= n);
    if (r->short_seen)
        assert_int_equal(ret, 0);
    if (ret < n)
        r->short_seen = true;
    if (found) {
        r->nfound++;
        memcpy(r->sni, sni, sizeof(sni));
    }
    r->clear += ret;
    r->last_cut = at;
}

static uint32_t xs(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* piece 0: whole; piece > 0: fixed size; seed != 0: random 1..64 */
static void feed(run *r, bool client, const uint8_t *d, size_t n, size_t piece, uint32_t seed)
{
    if (piece == 0 && seed == 0) {
        feed1(r, client, d, n, 0);
        return;
    }
    uint32_t x = seed;
    for (size_t i = 0; i < n;) {
        size_t k = seed ? 1 + xs(&x) % 64 : piece;
        if (k > n - i)
            k = n - i;
        feed1(r, client, d + i, k, i);
        i += k;
    }
}

static void run_init(run *r)
{
    memset(r, 0, sizeof(*r));
}

static void run_done(run *r)
{
    lw_tls_dir_free(&r->t);
    assert_null(r->t.hello);
}

/* Feeds a client stream in several ways; each must give the same name. */
static void expect_sni_all_ways(const uint8_t *d, size_t n, const char *want)
{
    for (int way = 0; way < 8; way++) {
        run r;
        run_init(&r);
        if (way == 0)
            feed(&r, true, d, n, 0, 0);
        else if (way == 1)
            feed(&r, true, d, n, 1, 0);
        else
            feed(&r, true, d, n, 0, (uint32_t)way * 7919u);
        assert_int_equal(r.nfound, 1);
        assert_string_equal(r.sni, want);
        assert_int_equal(r.clear, n);
        assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
        assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 1);
        assert_int_equal(r.ctr[LW_TLS_CTR_SNI], 1);
        assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 0);
        assert_int_equal(r.ctr[LW_TLS_CTR_SNI_INVALID], 0);
        assert_null(r.t.hello);
        run_done(&r);
    }
}

/* One feed of a client stream; returns the run's counters by copy. */
static void feed_whole(run *r, const hello_opts *o, size_t frag)
{
    uint8_t *s = malloc(BUF_MAX);
    assert_non_null(s);
    size_t n = hello_stream(o, frag, s);
    run_init(r);
    feed(r, true, s, n, 0, 0);
    assert_int_equal(r->clear, n);
    free(s);
}

/* ---- server names ------------------------------------------------------- */

static void test_sni_tls12(void **state)
{
    (void)state;
    uint8_t s[1024];
    hello_opts o = {.sni = "www.example.com", .sid_len = 32, .cs_len = 30};
    size_t n = hello_stream(&o, 16384, s);
    expect_sni_all_ways(s, n, "www.example.com");
}

static void test_sni_tls13(void **state)
{
    (void)state;
    uint8_t s[1024];
    hello_opts o = {.tls13 = true, .key_share = 32, .sni = "api.example.org", .sid_len = 32};
    size_t n = hello_stream(&o, 16384, s);
    expect_sni_all_ways(s, n, "api.example.org");
}

static void test_sni_large_hello_two_records(void **state)
{
    (void)state;
    uint8_t *s = malloc(BUF_MAX);
    assert_non_null(s);
    hello_opts o = {.tls13 = true, .key_share = 3000, .sni = "pq.example.org"};
    size_t n = hello_stream(&o, 2000, s);
    assert_true(n > 3000 && n < 4000);
    assert_int_equal(s[0], 22);
    assert_int_equal(s[5 + 2000], 22); /* second record header */
    expect_sni_all_ways(s, n, "pq.example.org");
    free(s);
}

static void test_sni_split_handshake_header(void **state)
{
    (void)state;
    uint8_t s[2048];
    hello_opts o = {.sni = "mail.example.com"};
    /* 2-byte fragments: even the handshake header spans two records */
    size_t n = hello_stream(&o, 2, s);
    expect_sni_all_ways(s, n, "mail.example.com");
    /* two records cut in the middle */
    uint8_t m[1024];
    size_t mn = build_hello(&o, m);
    n = add_records(s, 0, 22, m, mn, mn / 2 + 1);
    expect_sni_all_ways(s, n, "mail.example.com");
}

static void test_sni_lowercased_and_trailing_dot(void **state)
{
    (void)state;
    uint8_t s[1024];
    hello_opts o = {.sni = "WWW.Example.COM."};
    size_t n = hello_stream(&o, 16384, s);
    expect_sni_all_ways(s, n, "www.example.com");
    o.sni = "_svc.my-host.example.org";
    n = hello_stream(&o, 16384, s);
    expect_sni_all_ways(s, n, "_svc.my-host.example.org");
    /* an unknown name type before the host_name is skipped */
    o.sni = "x.example.org";
    o.leading_name = 7;
    n = hello_stream(&o, 16384, s);
    expect_sni_all_ways(s, n, "x.example.org");
}

static void test_sni_longest_valid(void **state)
{
    (void)state;
    /* 253 characters: 3 labels of 63, one of 61, dots between */
    char name[260];
    size_t k = 0;
    for (int l = 0; l < 4; l++) {
        size_t len = l < 3 ? 63 : 61;
        for (size_t i = 0; i < len; i++)
            name[k++] = (char)('a' + (i % 26));
        if (l < 3)
            name[k++] = '.';
    }
    name[k] = '\0';
    assert_int_equal(k, 253);
    uint8_t s[2048];
    hello_opts o = {.sni = name};
    size_t n = hello_stream(&o, 16384, s);
    expect_sni_all_ways(s, n, name);
    /* with its trailing dot, 254 bytes on the wire, still valid */
    name[k] = '.';
    name[k + 1] = '\0';
    n = hello_stream(&o, 16384, s);
    name[k] = '\0';
    expect_sni_all_ways(s, n, name);
}

static void expect_sni_invalid(const char *name, size_t len)
{
    run r;
    hello_opts o = {.sni = name, .sni_len = len};
    feed_whole(&r, &o, 16384);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI_INVALID], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 0);
    run_done(&r);
}

static void test_sni_invalid_names(void **state)
{
    (void)state;
    char big[301];
    memset(big, 'a', 300);
    for (int i = 50; i < 300; i += 50)
        big[i] = '.';
    big[300] = '\0';
    char label64[80];
    memset(label64, 'b', 64);
    memcpy(label64 + 64, ".example.org", 13);

    expect_sni_invalid("", 0);
    expect_sni_invalid(".", 0);
    expect_sni_invalid(big, 0);
    expect_sni_invalid(label64, 0);
    expect_sni_invalid("my host.example.org", 0);
    expect_sni_invalid("a\0b.example.org", 15);
    expect_sni_invalid("-a.example.org", 0);
    expect_sni_invalid("a-.example.org", 0);
    expect_sni_invalid("a..example.org", 0);
    expect_sni_invalid(".example.org", 0);
    expect_sni_invalid("example.org..", 0);
    expect_sni_invalid("192.0.2.1", 0);
    expect_sni_invalid("2001:db8::1", 0);
    expect_sni_invalid("caf\xc3\xa9.example.org", 0);
    /* 254 characters without a trailing dot */
    char over[255];
    memset(over, 'c', 254);
    for (int i = 60; i < 254; i += 60)
        over[i] = '.';
    over[254] = '\0';
    expect_sni_invalid(over, 0);
}

static void test_sni_cap_too_small(void **state)
{
    (void)state;
    uint8_t s[1024];
    hello_opts o = {.sni = "www.example.com"};
    size_t n = hello_stream(&o, 16384, s);
    lw_tls_dir t = {0};
    uint64_t ctr[LW_TLS_CTR_MAX] = {0};
    char small[15]; /* needs 16 with the NUL */
    bool found = true;
    assert_int_equal(lw_tls_feed(&t, true, s, n, small, sizeof(small), &found, ctr), n);
    assert_false(found);
    assert_int_equal(ctr[LW_TLS_CTR_SNI], 1);
    lw_tls_dir_free(&t);
    /* exactly enough */
    lw_tls_dir u = {0};
    char fits[16];
    assert_int_equal(lw_tls_feed(&u, true, s, n, fits, sizeof(fits), &found, ctr), n);
    assert_true(found);
    assert_string_equal(fits, "www.example.com");
    lw_tls_dir_free(&u);
}

static void test_no_sni_extension(void **state)
{
    (void)state;
    run r;
    hello_opts o = {.tls13 = true, .key_share = 32};
    feed_whole(&r, &o, 16384);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI_INVALID], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 0);
    assert_true(r.t.hello_done);
    run_done(&r);
}

static void test_extensions_absent(void **state)
{
    (void)state;
    run r;
    hello_opts o = {.no_ext = true};
    feed_whole(&r, &o, 16384);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 0);
    run_done(&r);
}

static void test_server_direction_not_parsed(void **state)
{
    (void)state;
    uint8_t s[1024];
    hello_opts o = {.sni = "www.example.com"};
    size_t n = hello_stream(&o, 16384, s);
    run r;
    run_init(&r);
    feed(&r, false, s, n, 0, 0);
    assert_int_equal(r.clear, n);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 0); /* negative: client_hellos */
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 0);
    run_done(&r);
}

/* ---- malformed hellos --------------------------------------------------- */

static void expect_hello_invalid(const hello_opts *o)
{
    run r;
    feed_whole(&r, o, 16384);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI], 0);
    assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
    run_done(&r);
}

static void test_hello_invalid_fields(void **state)
{
    (void)state;
    hello_opts o = {.sni = "www.example.com", .two_sni = true};
    expect_hello_invalid(&o);
    hello_opts odd = {.sni = "www.example.com", .cs_len = 5};
    expect_hello_invalid(&odd);
    hello_opts sid = {.sni = "www.example.com", .sid_len = 33};
    expect_hello_invalid(&sid);
    hello_opts type = {.sni = "www.example.com", .hs_type = 2}; /* server_hello */
    expect_hello_invalid(&type);
    hello_opts one = {.sni = "www.example.com", .cs_len = 1}; /* below 2 */
    expect_hello_invalid(&one);
}

static void test_hello_invalid_lengths(void **state)
{
    (void)state;
    uint8_t m[1024], s[1200];
    hello_opts o = {.tls13 = true, .key_share = 32, .sni = "www.example.com"};
    size_t mn = build_hello(&o, m);
    /* extensions length one more, one less than what follows */
    size_t ext_at = 4 + 2 + 32 + 1 + 2 + 4 + 2;
    for (int d = -1; d <= 1; d += 2) {
        uint8_t c[1024];
        memcpy(c, m, mn);
        unsigned v = (unsigned)(c[ext_at] << 8 | c[ext_at + 1]) + (unsigned)d;
        c[ext_at] = (uint8_t)(v >> 8);
        c[ext_at + 1] = (uint8_t)v;
        size_t n = add_records(s, 0, 22, c, mn, 16384);
        run r;
        run_init(&r);
        feed(&r, true, s, n, 0, 0);
        assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 1);
        assert_int_equal(r.nfound, 0);
        run_done(&r);
    }
}

/*
 * The hello cut at every length: the handshake header and the record say
 * the message ends there. Each is invalid except where the cut falls after
 * the compression methods (extensions absent), and nothing crashes.
 */
static void test_hello_truncated_everywhere(void **state)
{
    (void)state;
    uint8_t m[1024], c[1024], s[1200];
    hello_opts o = {.tls13 = true, .key_share = 32, .sni = "www.example.com"};
    size_t mn = build_hello(&o, m);
    size_t no_ext_end = 4 + 2 + 32 + 1 + 2 + 4 + 2;
    for (size_t cut = 4; cut < mn; cut++) {
        memcpy(c, m, cut);
        size_t body = cut - 4;
        c[1] = (uint8_t)(body >> 16);
        c[2] = (uint8_t)(body >> 8);
        c[3] = (uint8_t)body;
        /* cut == 4 is an empty message: found by the fuzzer when its
         * header came in pieces and the gathering never completed */
        size_t n = add_records(s, 0, 22, c, cut, 16384);
        for (int way = 0; way < 3; way++) {
            run r;
            run_init(&r);
            feed(&r, true, s, n, way == 1 ? 1 : 0, way == 2 ? 31 : 0);
            assert_int_equal(r.clear, n);
            assert_int_equal(r.nfound, 0);
            assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 1);
            assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], cut == no_ext_end ? 0 : 1);
            assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
            assert_null(r.t.hello);
            run_done(&r);
        }
    }
}

/* The record stream cut at every byte: still waiting, nothing counted. */
static void test_stream_cut_everywhere(void **state)
{
    (void)state;
    uint8_t s[1200];
    hello_opts o = {.tls13 = true, .key_share = 32, .sni = "www.example.com"};
    size_t n = hello_stream(&o, 100, s);
    for (size_t cut = 0; cut < n; cut++) {
        run r;
        run_init(&r);
        feed(&r, true, s, cut, 0, 0);
        assert_int_equal(r.clear, cut);
        assert_int_equal(r.nfound, 0);
        for (int i = 0; i < LW_TLS_CTR_MAX; i++)
            assert_int_equal(r.ctr[i], 0);
        assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
        run_done(&r); /* frees a partial hello; LSan checks */
    }
}

/* Every byte of the hello overwritten with 0xff: no crash, one outcome. */
static void test_hello_byte_corruption(void **state)
{
    (void)state;
    uint8_t m[1024], c[1024], s[1200];
    hello_opts o = {.tls13 = true, .key_share = 32, .sni = "www.example.com", .sid_len = 8};
    size_t mn = build_hello(&o, m);
    for (size_t i = 0; i < mn; i++) {
        memcpy(c, m, mn);
        c[i] = 0xff;
        size_t n = add_records(s, 0, 22, c, mn, 300);
        run r;
        run_init(&r);
        feed(&r, true, s, n, 0, 0);
        assert_int_equal(r.clear, n);
        uint64_t outcomes = r.ctr[LW_TLS_CTR_HELLO_INVALID] + r.ctr[LW_TLS_CTR_HELLO_TOO_LONG] +
                            r.ctr[LW_TLS_CTR_SNI] + r.ctr[LW_TLS_CTR_SNI_INVALID];
        assert_true(outcomes <= 1);
        if (r.nfound)
            assert_string_equal(r.sni, "www.example.com");
        run_done(&r);
    }
}

static void test_record_before_hello(void **state)
{
    (void)state;
    uint8_t s[1200];
    /* an alert as the client's first record */
    size_t n = add_record(s, 0, 21, 0x02, 2);
    hello_opts o = {.sni = "www.example.com"};
    uint8_t m[1024];
    size_t mn = build_hello(&o, m);
    n = add_records(s, n, 22, m, mn, 16384);
    run r;
    run_init(&r);
    feed(&r, true, s, n, 0, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 0);
    assert_int_equal(r.nfound, 0);
    run_done(&r);
}

static void test_record_interleaved_in_hello(void **state)
{
    (void)state;
    uint8_t s[1200], m[1024];
    hello_opts o = {.sni = "www.example.com"};
    size_t mn = build_hello(&o, m);
    size_t n = add_records(s, 0, 22, m, 40, 40);
    n = add_record(s, n, 24, 0x01, 3); /* heartbeat in the middle */
    n = add_records(s, n, 22, m + 40, mn - 40, 16384);
    run r;
    run_init(&r);
    feed(&r, true, s, n, 7, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 1);
    assert_int_equal(r.nfound, 0);
    assert_null(r.t.hello); /* the buffer went with the gathering */
    assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
    run_done(&r);
}

/* ---- the cap and the buffer --------------------------------------------- */

static void test_hello_too_long(void **state)
{
    (void)state;
    uint8_t *s = malloc(BUF_MAX);
    assert_non_null(s);
    /* one byte over: the message with its header is LW_TLS_HELLO_MAX + 1 */
    hello_opts probe = {.tls13 = true, .key_share = 32, .sni = "big.example.org"};
    size_t base = hello_stream(&probe, 16384, s) - 5;
    hello_opts o = probe;
    o.pad = LW_TLS_HELLO_MAX + 1 - base - 4;
    size_t n = hello_stream(&o, 16384, s);
    assert_int_equal(n, LW_TLS_HELLO_MAX + 1 + 10); /* two records */
    size_t app = n;
    n = add_record(s, n, 23, 0xee, 40);
    for (int way = 0; way < 3; way++) {
        run r;
        run_init(&r);
        feed(&r, true, s, n, way == 1 ? 1000 : 0, way == 2 ? 99 : 0);
        assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_TOO_LONG], 1);
        assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 0);
        assert_int_equal(r.nfound, 0);
        assert_int_equal(r.t.state, LW_TLS_ENCRYPTED);
        assert_int_equal(r.ctr[LW_TLS_CTR_ENCRYPTED_DIRECTIONS], 1);
        assert_true(r.clear >= app && r.clear <= app + 4);
        assert_null(r.t.hello);
        run_done(&r);
    }
    free(s);
}

static void test_hello_at_cap_not_too_long(void **state)
{
    (void)state;
    uint8_t *s = malloc(BUF_MAX);
    assert_non_null(s);
    hello_opts probe = {.tls13 = true, .key_share = 32, .sni = "big.example.org"};
    size_t base = hello_stream(&probe, 16384, s) - 5;
    hello_opts o = probe;
    o.pad = LW_TLS_HELLO_MAX - base - 4; /* exactly the cap */
    size_t n = hello_stream(&o, 16000, s);
    expect_sni_all_ways(s, n, "big.example.org"); /* negative: hello_too_long */
    free(s);
}

static void test_free_mid_gather(void **state)
{
    (void)state;
    uint8_t *s = malloc(BUF_MAX);
    assert_non_null(s);
    hello_opts o = {.tls13 = true, .key_share = 3000, .sni = "pq.example.org"};
    size_t n = hello_stream(&o, 2000, s);
    size_t app = n;
    n = add_record(s, n, 23, 0xee, 64);
    run r;
    run_init(&r);
    feed(&r, true, s, 2500, 0, 0);
    assert_non_null(r.t.hello);
    lw_tls_dir_free(&r.t);
    assert_null(r.t.hello);
    lw_tls_dir_free(&r.t); /* twice is harmless */
    feed(&r, true, s + 2500, n - 2500, 0, 0);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 0);
    assert_int_equal(r.t.state, LW_TLS_ENCRYPTED); /* still tracking */
    assert_int_equal(r.clear, app);
    /* and a tracker left mid-gather, freed once at its end (LSan checks) */
    run q;
    run_init(&q);
    feed(&q, true, s, 3000, 0, 0);
    assert_non_null(q.t.hello);
    run_done(&q);
    free(s);
}

static void test_free_fresh_tracker(void **state)
{
    (void)state;
    lw_tls_dir t = {0};
    lw_tls_dir_free(&t);
    lw_tls_dir_free(NULL);
    /* a fresh tracker freed stays fresh: the hello is still read */
    uint8_t s[1024];
    hello_opts o = {.sni = "www.example.com"};
    size_t n = hello_stream(&o, 16384, s);
    char sni[LW_TLS_SNI_MAX];
    bool found = false;
    uint64_t ctr[LW_TLS_CTR_MAX] = {0};
    assert_int_equal(lw_tls_feed(&t, true, s, n, sni, sizeof(sni), &found, ctr), n);
    assert_true(found);
    lw_tls_dir_free(&t);
}

/* ---- where the cleartext ends ------------------------------------------- */

static void test_cleartext_stops_at_app_data(void **state)
{
    (void)state;
    uint8_t s[2048];
    hello_opts o = {.tls13 = true, .key_share = 32, .sni = "www.example.com"};
    size_t n = hello_stream(&o, 16384, s);
    n = add_record(s, n, 21, 0x01, 2); /* a warning alert, still clear */
    size_t app = n;
    n = add_record(s, n, 23, 0xee, 100);

    lw_tls_dir t = {0};
    uint64_t ctr[LW_TLS_CTR_MAX] = {0};
    char sni[LW_TLS_SNI_MAX];
    bool found;
    assert_int_equal(lw_tls_feed(&t, true, s, n, sni, sizeof(sni), &found, ctr), app);
    assert_true(found);
    assert_int_equal(t.state, LW_TLS_ENCRYPTED);
    assert_int_equal(ctr[LW_TLS_CTR_ENCRYPTED_DIRECTIONS], 1);
    /* later data: 0, and counted once */
    assert_int_equal(lw_tls_feed(&t, true, s, n, sni, sizeof(sni), &found, ctr), 0);
    assert_false(found);
    assert_int_equal(ctr[LW_TLS_CTR_ENCRYPTED_DIRECTIONS], 1);
    assert_int_equal(ctr[LW_TLS_CTR_CLIENT_HELLOS], 1);
    lw_tls_dir_free(&t);

    /* every split: the cleartext total is up to the header, plus the part
     * of the header that earlier calls handed out */
    for (uint32_t seed = 1; seed < 200; seed++) {
        run r;
        run_init(&r);
        uint32_t x = seed;
        size_t hdr_piece = 0;
        for (size_t i = 0; i < n;) {
            size_t k = 1 + xs(&x) % 40;
            if (k > n - i)
                k = n - i;
            if (app + 4 >= i && app + 4 < i + k)
                hdr_piece = i; /* the piece that completes the header */
            feed1(&r, true, s + i, k, i);
            i += k;
        }
        assert_int_equal(r.clear, hdr_piece > app ? hdr_piece : app);
        assert_int_equal(r.nfound, 1);
        assert_int_equal(r.t.state, LW_TLS_ENCRYPTED);
        run_done(&r);
    }
}

static void test_cleartext_stops_after_ccs(void **state)
{
    (void)state;
    /* server flight of TLS 1.2: hello, certificate..., CCS, Finished */
    uint8_t s[1024];
    size_t n = add_record(s, 0, 22, 0x02, 90);
    n = add_record(s, n, 22, 0x0b, 200);
    n = add_record(s, n, 20, 0x01, 1);
    size_t fin = n;
    n = add_record(s, n, 22, 0x9c, 40); /* encrypted Finished */
    for (int way = 0; way < 3; way++) {
        run r;
        run_init(&r);
        feed(&r, false, s, n, way == 1 ? 1 : 0, way == 2 ? 5 : 0);
        assert_int_equal(r.t.state, LW_TLS_ENCRYPTED);
        assert_true(r.clear >= fin && r.clear <= fin + 4);
        if (way == 0)
            assert_int_equal(r.clear, fin);
        assert_int_equal(r.ctr[LW_TLS_CTR_ENCRYPTED_DIRECTIONS], 1);
        assert_int_equal(r.ctr[LW_TLS_CTR_CLIENT_HELLOS], 0);
        run_done(&r);
    }
}

static void test_handshake_only_not_encrypted(void **state)
{
    (void)state;
    uint8_t s[1024];
    size_t n = add_record(s, 0, 22, 0x02, 90);
    n = add_record(s, n, 21, 0x02, 2);
    n = add_record(s, n, 24, 0x01, 20);
    n = add_record(s, n, 20, 0x01, 1); /* CCS last: nothing follows yet */
    run r;
    run_init(&r);
    feed(&r, false, s, n, 3, 0);
    assert_int_equal(r.clear, n);
    assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
    assert_int_equal(r.ctr[LW_TLS_CTR_ENCRYPTED_DIRECTIONS], 0); /* negative */
    assert_int_equal(r.ctr[LW_TLS_CTR_NOT_TLS], 0);              /* negative */
    run_done(&r);
}

/* ---- not TLS ------------------------------------------------------------ */

static void expect_not_tls(const uint8_t *d, size_t n)
{
    run r;
    run_init(&r);
    feed(&r, true, d, n, 0, 0);
    assert_int_equal(r.clear, n);
    assert_int_equal(r.t.state, LW_TLS_NOT_TLS);
    assert_int_equal(r.ctr[LW_TLS_CTR_NOT_TLS], 1);
    /* later calls: everything is cleartext, not counted again */
    feed(&r, true, d, n, 0, 0);
    assert_int_equal(r.clear, 2 * n);
    assert_int_equal(r.ctr[LW_TLS_CTR_NOT_TLS], 1);
    assert_null(r.t.hello);
    run_done(&r);
}

static void test_http_is_not_tls(void **state)
{
    (void)state;
    const char req[] = "POST / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    expect_not_tls((const uint8_t *)req, sizeof(req) - 1);
}

static void test_sslv2_hello_is_not_tls(void **state)
{
    (void)state;
    const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
    expect_not_tls(v2, sizeof(v2));
}

static void test_bad_record_headers(void **state)
{
    (void)state;
    const uint8_t bad[][6] = {
        {19, 3, 3, 0, 1, 0},    /* type below change_cipher_spec */
        {25, 3, 3, 0, 1, 0},    /* type above heartbeat */
        {22, 2, 0, 0, 1, 0},    /* major 2 */
        {22, 3, 5, 0, 1, 0},    /* minor 5 */
        {22, 3, 1, 0, 0, 0},    /* empty record */
        {23, 3, 3, 0x48, 1, 0}, /* 2^14 + 2048 + 1 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_not_tls(bad[i], sizeof(bad[i]));
}

static void test_garbage_after_records(void **state)
{
    (void)state;
    uint8_t s[1024];
    hello_opts o = {.sni = "www.example.com"};
    size_t n = hello_stream(&o, 16384, s);
    memcpy(s + n, "GET /x", 6);
    n += 6;
    run r;
    run_init(&r);
    feed(&r, true, s, n, 0, 0);
    assert_int_equal(r.clear, n);
    assert_int_equal(r.nfound, 1);
    assert_int_equal(r.t.state, LW_TLS_NOT_TLS);
    assert_int_equal(r.ctr[LW_TLS_CTR_NOT_TLS], 1);
    run_done(&r);
}

static void test_largest_record_is_tls(void **state)
{
    (void)state;
    /* a 2^14 + 2048 byte record header is accepted (negative: not_tls) */
    const uint8_t hdr[] = {22, 3, 3, 0x48, 0x00};
    run r;
    run_init(&r);
    feed(&r, false, hdr, sizeof(hdr), 0, 0);
    assert_int_equal(r.t.state, LW_TLS_HANDSHAKE);
    assert_int_equal(r.ctr[LW_TLS_CTR_NOT_TLS], 0);
    assert_int_equal(r.t.record_left, 18432);
    run_done(&r);
}

static void test_valid_hello_counts_nothing_bad(void **state)
{
    (void)state;
    /* negatives: a clean hello counts no sni_invalid, hello_invalid,
     * hello_too_long, not_tls or encrypted_directions */
    run r;
    hello_opts o = {.tls13 = true, .key_share = 1200, .sni = "ok.example.org"};
    feed_whole(&r, &o, 16384);
    assert_int_equal(r.nfound, 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI], 1);
    assert_int_equal(r.ctr[LW_TLS_CTR_SNI_INVALID], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_INVALID], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_HELLO_TOO_LONG], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_NOT_TLS], 0);
    assert_int_equal(r.ctr[LW_TLS_CTR_ENCRYPTED_DIRECTIONS], 0);
    run_done(&r);
    /* negative: sni is not counted for an invalid name */
    run q;
    hello_opts bad = {.sni = "bad name.example.org"};
    feed_whole(&q, &bad, 16384);
    assert_int_equal(q.ctr[LW_TLS_CTR_SNI], 0);
    run_done(&q);
}

static void test_counter_names(void **state)
{
    (void)state;
    assert_string_equal(lw_tls_counter_names[LW_TLS_CTR_CLIENT_HELLOS], "app.tls.client_hellos");
    assert_string_equal(lw_tls_counter_names[LW_TLS_CTR_ENCRYPTED_DIRECTIONS],
                        "app.tls.encrypted_directions");
    for (int i = 0; i < LW_TLS_CTR_MAX; i++)
        assert_non_null(lw_tls_counter_names[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sni_tls12),
        cmocka_unit_test(test_sni_tls13),
        cmocka_unit_test(test_sni_large_hello_two_records),
        cmocka_unit_test(test_sni_split_handshake_header),
        cmocka_unit_test(test_sni_lowercased_and_trailing_dot),
        cmocka_unit_test(test_sni_longest_valid),
        cmocka_unit_test(test_sni_invalid_names),
        cmocka_unit_test(test_sni_cap_too_small),
        cmocka_unit_test(test_no_sni_extension),
        cmocka_unit_test(test_extensions_absent),
        cmocka_unit_test(test_server_direction_not_parsed),
        cmocka_unit_test(test_hello_invalid_fields),
        cmocka_unit_test(test_hello_invalid_lengths),
        cmocka_unit_test(test_hello_truncated_everywhere),
        cmocka_unit_test(test_stream_cut_everywhere),
        cmocka_unit_test(test_hello_byte_corruption),
        cmocka_unit_test(test_record_before_hello),
        cmocka_unit_test(test_record_interleaved_in_hello),
        cmocka_unit_test(test_hello_too_long),
        cmocka_unit_test(test_hello_at_cap_not_too_long),
        cmocka_unit_test(test_free_mid_gather),
        cmocka_unit_test(test_free_fresh_tracker),
        cmocka_unit_test(test_cleartext_stops_at_app_data),
        cmocka_unit_test(test_cleartext_stops_after_ccs),
        cmocka_unit_test(test_handshake_only_not_encrypted),
        cmocka_unit_test(test_http_is_not_tls),
        cmocka_unit_test(test_sslv2_hello_is_not_tls),
        cmocka_unit_test(test_bad_record_headers),
        cmocka_unit_test(test_garbage_after_records),
        cmocka_unit_test(test_largest_record_is_tls),
        cmocka_unit_test(test_valid_hello_counts_nothing_bad),
        cmocka_unit_test(test_counter_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
