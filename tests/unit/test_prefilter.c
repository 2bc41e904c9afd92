/*
 * test_prefilter.c - the match stage's gate: gated signatures find exactly
 * what a scan of every byte finds, in the same order, whatever the chunking,
 * gaps and items; the scalar and vector byte classifiers agree; the gate
 * skips text that cannot hold a match and counts what it passed; bad
 * prefilter fields and unbounded gated regexes are refused.
 *
 * The property tests plant valid values of every shipped kind in generated
 * prose, JSON, logs and base64 and compare the gated matcher with one
 * compiled with the prefilter off. Values are compared in memory and never
 * printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/match.h"
#include "leakwatch/prefilter.h"
#include "leakwatch/signatures.h"

/* ---------------------------------------------------------------- helpers */

typedef struct rec {
    uint16_t kind, sig, len;
    char norm[LW_PII_VALUE_MAX];
} rec;

typedef struct recs {
    rec *r;
    size_t n, cap;
} recs;

static void on_found(void *ctx, const lw_pii_value *v)
{
    recs *f = ctx;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->r = realloc(f->r, f->cap * sizeof(*f->r));
        assert_non_null(f->r);
    }
    rec *r = &f->r[f->n++];
    memset(r, 0, sizeof(*r));
    r->kind = v->kind;
    r->sig = v->sig_index;
    r->len = v->norm_len;
    memcpy(r->norm, v->norm, v->norm_len);
}

/* Same values in the same order; compared in memory only. */
static void assert_same(const recs *a, const recs *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->r[i].kind, b->r[i].kind);
        assert_int_equal(a->r[i].sig, b->r[i].sig);
        assert_int_equal(a->r[i].len, b->r[i].len);
        assert_true(memcmp(a->r[i].norm, b->r[i].norm, a->r[i].len) == 0);
    }
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t rnd(uint64_t *s, size_t n)
{
    return (size_t)(rng_next(s) % n);
}

typedef struct fixture {
    lw_signature_set *set;
    lw_matcher *gated, *plain, *scalar;
    lw_match_worker *wg, *wp, *ws;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    char err[512], path[4096];
    const char *top = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/signatures/pii.yaml", top ? top : ".");
    if (lw_signatures_load(path, &fx->set, err, sizeof(err)) != 0)
        return -1;
    lw_match_opts off = {.prefilter = false},
                  scalar = {.prefilter = true, .prefilter_impl = LW_PREFILTER_SCALAR};
    if (lw_matcher_compile(fx->set, &fx->gated, err, sizeof(err)) != 0 ||
        lw_matcher_compile_opts(fx->set, &off, &fx->plain, err, sizeof(err)) != 0 ||
        lw_matcher_compile_opts(fx->set, &scalar, &fx->scalar, err, sizeof(err)) != 0)
        return -1;
    fx->wg = lw_match_worker_new(fx->gated);
    fx->wp = lw_match_worker_new(fx->plain);
    fx->ws = lw_match_worker_new(fx->scalar);
    *state = fx;
    return fx->wg && fx->wp && fx->ws ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    lw_match_worker_free(fx->wg);
    lw_match_worker_free(fx->wp);
    lw_match_worker_free(fx->ws);
    lw_matcher_free(fx->gated);
    lw_matcher_free(fx->plain);
    lw_matcher_free(fx->scalar);
    lw_signatures_free(fx->set);
    free(fx);
    return 0;
}

/* ---------------------------------------------------- generated corpora */

static void put(char *buf, size_t cap, size_t *n, const char *s)
{
    size_t l = strlen(s);
    if (*n + l < cap) {
        memcpy(buf + *n, s, l);
        *n += l;
    }
}

static void digits(uint64_t *r, char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + rnd(r, 10));
    out[n] = 0;
}

static void card(uint64_t *r, char *out, int grouped)
{
    char d[17];
    d[0] = (char)('3' + rnd(r, 4));
    digits(r, d + 1, 14);
    int sum = 0;
    for (int i = 14; i >= 0; i--) {
        int x = d[i] - '0';
        if ((14 - i) % 2 == 0) {
            x *= 2;
            if (x > 9)
                x -= 9;
        }
        sum += x;
    }
    d[15] = (char)('0' + (10 - sum % 10) % 10);
    d[16] = 0;
    if (!grouped) {
        strcpy(out, d);
        return;
    }
    char sep = rnd(r, 2) ? ' ' : '-';
    snprintf(out, 24, "%.4s%c%.4s%c%.4s%c%.4s", d, sep, d + 4, sep, d + 8, sep, d + 12);
}

static void iban(uint64_t *r, char *out, int printed)
{
    static const char *const cc[] = {"DE", "GB", "FR", "NL"};
    static const int len[] = {22, 22, 27, 18};
    size_t c = rnd(r, 4);
    char bban[32];
    size_t bl = (size_t)len[c] - 4;
    for (size_t i = 0; i < bl; i++)
        bban[i] = (c == 1 || c == 3) && i < 4 ? (char)('A' + rnd(r, 26)) : (char)('0' + rnd(r, 10));
    bban[bl] = 0;
    /* mod 97 over BBAN + country + "00", letters as 10..35 */
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s%s00", bban, cc[c]);
    unsigned mod = 0;
    for (const char *p = tmp; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            mod = (mod * 100 + (unsigned)(*p - 'A' + 10)) % 97;
        else
            mod = (mod * 10 + (unsigned)(*p - '0')) % 97;
    }
    char full[40];
    snprintf(full, sizeof(full), "%s%02u%s", cc[c], 98 - mod, bban);
    if (!printed) {
        strcpy(out, full);
        return;
    }
    size_t o = 0, fl = strlen(full);
    for (size_t i = 0; i < fl; i++) {
        if (i && i % 4 == 0)
            out[o++] = ' ';
        out[o++] = full[i];
    }
    out[o] = 0;
}

/* One planted value of a random kind. */
static void value(uint64_t *r, char *out)
{
    char d[16];
    switch (rnd(r, 10)) {
    case 0:
        card(r, out, (int)rnd(r, 2));
        break;
    case 1:
        iban(r, out, (int)rnd(r, 2));
        break;
    case 2:
        snprintf(out, 40, "(%c%c%c) %c%c%c-%c%c%c%c", (char)('2' + rnd(r, 8)),
                 (char)('0' + rnd(r, 10)), (char)('0' + rnd(r, 10)), (char)('2' + rnd(r, 8)),
                 (char)('0' + rnd(r, 10)), (char)('0' + rnd(r, 10)), (char)('0' + rnd(r, 10)),
                 (char)('0' + rnd(r, 10)), (char)('0' + rnd(r, 10)), (char)('0' + rnd(r, 10)));
        break;
    case 3:
        digits(r, d, 9);
        snprintf(out, 40, "+1 %c%.2s.%c%.2s.%.4s", (char)('2' + rnd(r, 8)), d,
                 (char)('2' + rnd(r, 8)), d + 2, d + 4);
        break;
    case 4:
        digits(r, d, 11);
        snprintf(out, 40, "+44%s", d);
        break;
    case 7:
        digits(r, d, 10);
        snprintf(out, 40, "+44 %.2s %.4s %.4s", d, d + 2, d + 6);
        break;
    case 8:
        digits(r, d, 7);
        snprintf(out, 40, "1 (%c%.2s) %c%.2s-%.4s", (char)('2' + rnd(r, 8)), d,
                 (char)('2' + rnd(r, 8)), d + 2, d + 3);
        break;
    case 9:
        digits(r, d, 12);
        snprintf(out, 40, "+%c%.3s-%.4s-%.4s", (char)('1' + rnd(r, 9)), d, d + 3, d + 7);
        break;
    case 5:
        snprintf(out, 40, "%03u-%02u-%04u", (unsigned)(1 + rnd(r, 665)), (unsigned)(1 + rnd(r, 98)),
                 (unsigned)(1 + rnd(r, 9998)));
        break;
    default:
        snprintf(out, 40, "user%u@example.com", (unsigned)rnd(r, 100000));
        break;
    }
}

/* Filler that looks like traffic: words, numbers, timestamps, base64, JSON. */
static void filler(uint64_t *r, char *out)
{
    static const char *const words[] = {"the ",
                                        "order ",
                                        "shipped ",
                                        "GET /api/v2/",
                                        "\"id\": ",
                                        "<td>",
                                        "</td>",
                                        "2024-03-14T09:26:53Z ",
                                        "Content-Length: ",
                                        "\r\n",
                                        "AB12 ",
                                        "ZZ99x",
                                        "price 12.50 ",
                                        "v1.2.3 ",
                                        ", ",
                                        "\n",
                                        "2024-03-14 09:26 ",
                                        "+1 ",
                                        "12-34-567 ",
                                        "(555) ",
                                        "DE44 ",
                                        "+49-30 "};
    size_t k = rnd(r, 26);
    if (k < 22) {
        strcpy(out, words[k]);
    } else if (k < 24) {
        digits(r, out, 1 + rnd(r, 20));
    } else {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = 8 + rnd(r, 40);
        for (size_t i = 0; i < n; i++)
            out[i] = b64[rnd(r, 64)];
        out[n] = 0;
    }
}

static size_t make_text(uint64_t *r, char *buf, size_t cap, int density)
{
    size_t n = 0;
    char piece[128];
    while (n + 128 < cap) {
        if ((int)rnd(r, 100) < density) {
            value(r, piece);
            put(buf, cap, &n, rnd(r, 3) ? " " : "");
        } else {
            filler(r, piece);
        }
        put(buf, cap, &n, piece);
    }
    return n;
}

/* One operation script (chunk sizes, gaps, item ends) applied to a worker. */
static void run_script(lw_match_worker *w, const uint8_t *text, size_t len, uint64_t seed,
                       recs *out)
{
    uint64_t r = seed;
    lw_match_stream *s = lw_match_stream_open(w);
    assert_non_null(s);
    size_t off = 0;
    while (off < len) {
        size_t mode = rnd(&r, 10), n;
        n = mode < 3 ? 1 + rnd(&r, 8) : mode < 8 ? 1 + rnd(&r, 1500) : 1 + rnd(&r, 20000);
        if (n > len - off)
            n = len - off;
        size_t ev = rnd(&r, 40);
        if (ev == 0)
            lw_match_stream_gap(w, s);
        else if (ev == 1)
            lw_match_stream_end_item(w, s, on_found, out);
        lw_match_stream_scan(w, s, text + off, n, on_found, out);
        off += n;
    }
    lw_match_stream_close(w, s, on_found, out);
}

/* ------------------------------------------------------------------ tests */

static void test_shipped_signatures_are_gated(void **state)
{
    fixture *fx = *state;
    /* all but email: NANP, E.164, card, SSN, IBAN */
    assert_int_equal(lw_matcher_gated_count(fx->gated), 5);
    assert_int_equal(lw_matcher_gated_count(fx->plain), 0);
}

static void test_gated_equals_ungated_random_splits(void **state)
{
    fixture *fx = *state;
    size_t cap = 1 << 17;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t total_found = 0;
    for (uint64_t round = 1; round <= 24; round++) {
        uint64_t r = 0x9e3779b97f4a7c15ull * round;
        size_t len = make_text(&r, text, cap, (int)(1 + round % 6) * 3);
        recs a = {0}, b = {0}, c = {0};
        run_script(fx->wg, (const uint8_t *)text, len, round * 7919, &a);
        run_script(fx->wp, (const uint8_t *)text, len, round * 7919, &b);
        run_script(fx->ws, (const uint8_t *)text, len, round * 7919, &c);
        assert_same(&a, &b);
        assert_same(&c, &b);
        total_found += a.n;
        free(a.r);
        free(b.r);
        free(c.r);
    }
    assert_true(total_found > 1000); /* the planted values were found */
    free(text);
}

static void test_gated_equals_ungated_byte_by_byte(void **state)
{
    fixture *fx = *state;
    static const char text[] = "pay 4111 1111 1111 1111 to DE89 3704 0044 0532 0130 00, call "
                               "(212) 555-7890 or +1 415.555.2671; GB82WEST12345698765432";
    for (size_t step = 1; step <= 80; step += 13) {
        recs a = {0}, b = {0};
        lw_match_worker *ws[2] = {fx->wg, fx->wp};
        recs *outs[2] = {&a, &b};
        for (int k = 0; k < 2; k++) {
            lw_match_stream *s = lw_match_stream_open(ws[k]);
            for (size_t off = 0; off < sizeof(text) - 1; off += step) {
                size_t n = sizeof(text) - 1 - off < step ? sizeof(text) - 1 - off : step;
                lw_match_stream_scan(ws[k], s, (const uint8_t *)text + off, n, on_found, outs[k]);
            }
            lw_match_stream_close(ws[k], s, on_found, outs[k]);
        }
        assert_same(&a, &b);
        assert_true(a.n >= 5);
        free(a.r);
        free(b.r);
    }
}

static void test_gated_block_scan_equals_ungated(void **state)
{
    fixture *fx = *state;
    size_t cap = 40000;
    char *text = malloc(cap);
    assert_non_null(text);
    for (uint64_t round = 1; round <= 40; round++) {
        uint64_t r = round * 0x2545f4914f6cdd1dull;
        size_t len = make_text(&r, text, 200 + rnd(&r, cap - 200), 10);
        /* end on a value half of the time: the \z report */
        char v[48];
        value(&r, v);
        if (round % 2 && len + strlen(v) + 1 < cap) {
            memcpy(text + len, " ", 1);
            memcpy(text + len + 1, v, strlen(v));
            len += 1 + strlen(v);
        }
        recs a = {0}, b = {0};
        lw_match_block_scan(fx->wg, (const uint8_t *)text, len, on_found, &a);
        lw_match_block_scan(fx->wp, (const uint8_t *)text, len, on_found, &b);
        assert_same(&a, &b);
        free(a.r);
        free(b.r);
    }
    free(text);
}

static void test_value_ending_item_reported_at_item_end(void **state)
{
    fixture *fx = *state;
    recs a = {0};
    lw_match_stream *s = lw_match_stream_open(fx->wg);
    const char *x = "card: 4111 1111 ", *y = "1111 1111";
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)x, strlen(x), on_found, &a);
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)y, strlen(y), on_found, &a);
    assert_int_equal(a.n, 0); /* it might still go on */
    lw_match_stream_end_item(fx->wg, s, on_found, &a);
    assert_int_equal(a.n, 1);
    assert_true(a.r[0].len == 16 && memcmp(a.r[0].norm, "4111111111111111", 16) == 0);
    /* the next item does not continue it */
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)"2345 ", 5, on_found, &a);
    lw_match_stream_close(fx->wg, s, on_found, &a);
    assert_int_equal(a.n, 1);
    free(a.r);
}

static void test_gap_splits_gated_value(void **state)
{
    fixture *fx = *state;
    recs a = {0};
    lw_match_stream *s = lw_match_stream_open(fx->wg);
    const char *x = "iban DE89 3704 0044", *y = " 0532 0130 00 ok";
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)x, strlen(x), on_found, &a);
    lw_match_stream_gap(fx->wg, s);
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)y, strlen(y), on_found, &a);
    lw_match_stream_close(fx->wg, s, on_found, &a);
    assert_int_equal(a.n, 0);
    free(a.r);
}

static void test_gate_skips_text_without_digits(void **state)
{
    fixture *fx = *state;
    char text[4096];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = "lorem ipsum dolor sit amet "[i % 27];
    uint64_t in0 = lw_match_worker_gate_in(fx->wg), sc0 = lw_match_worker_gate_scanned(fx->wg);
    lw_match_stream *s = lw_match_stream_open(fx->wg);
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)text, sizeof(text), on_found, NULL);
    lw_match_stream_close(fx->wg, s, NULL, NULL);
    assert_int_equal(lw_match_worker_gate_in(fx->wg) - in0, sizeof(text));
    assert_int_equal(lw_match_worker_gate_scanned(fx->wg) - sc0, 0);
    /* the ungated matcher counts nothing */
    assert_int_equal(lw_match_worker_gate_in(fx->wp), 0);
}

static void test_gate_scans_around_digits(void **state)
{
    fixture *fx = *state;
    char text[4096];
    memset(text, 'x', sizeof(text));
    memcpy(text + 2000, " 4111111111111111 ", 18);
    uint64_t sc0 = lw_match_worker_gate_scanned(fx->wg);
    recs a = {0};
    lw_match_stream *s = lw_match_stream_open(fx->wg);
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)text, sizeof(text), on_found, &a);
    lw_match_stream_close(fx->wg, s, on_found, &a);
    uint64_t scanned = lw_match_worker_gate_scanned(fx->wg) - sc0;
    assert_int_equal(a.n, 1);
    assert_true(scanned > 0 && scanned < 512);
    free(a.r);
}

/* Timestamps, versions, prices, short ids: digits everywhere, no run that
 * keeps any shipped promise, so nothing reaches Hyperscan. */
static void test_gate_skips_digit_dense_text(void **state)
{
    fixture *fx = *state;
    static const char line[] = "2024-03-14T09:26:53.123Z app7 INFO [order] id=12345 v1.2.3 "
                               "price 12.50 latency_ms=1234 bytes=56789 \"score\":45.6,\n";
    char text[8192];
    size_t n = 0;
    while (n + sizeof(line) < sizeof(text)) {
        memcpy(text + n, line, sizeof(line) - 1);
        n += sizeof(line) - 1;
    }
    uint64_t sc0 = lw_match_worker_gate_scanned(fx->wg);
    recs a = {0};
    lw_match_stream *s = lw_match_stream_open(fx->wg);
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)text, n, on_found, &a);
    lw_match_stream_close(fx->wg, s, on_found, &a);
    assert_int_equal(lw_match_worker_gate_scanned(fx->wg) - sc0, 0);
    assert_int_equal(a.n, 0);
    /* one SSN in the middle is scanned, and found */
    memcpy(text + 4000, " 536-22-1234 ", 13);
    s = lw_match_stream_open(fx->wg);
    lw_match_stream_scan(fx->wg, s, (const uint8_t *)text, n, on_found, &a);
    lw_match_stream_close(fx->wg, s, on_found, &a);
    uint64_t scanned = lw_match_worker_gate_scanned(fx->wg) - sc0;
    assert_true(scanned > 0 && scanned < 512);
    assert_int_equal(a.n, 1);
    free(a.r);
}

/* Thousands of digits in one run (a hex-free blob of numbers): the gate
 * passes the run, and finds what the full scan finds. */
static void test_very_long_run(void **state)
{
    fixture *fx = *state;
    size_t n = 20000;
    char *text = malloc(n);
    assert_non_null(text);
    uint64_t r = 99;
    digits(&r, text, n - 1);
    memcpy(text + 9000, " 4111 1111 1111 1111 ", 21);
    memcpy(text + 15000, " +44 20 7946 0958 ", 18);
    recs a = {0}, b = {0};
    run_script(fx->wg, (const uint8_t *)text, n - 1, 5, &a);
    run_script(fx->wp, (const uint8_t *)text, n - 1, 5, &b);
    assert_same(&a, &b);
    assert_true(a.n >= 2);
    free(a.r);
    free(b.r);
    free(text);
}

/* A matcher over one signature given as YAML lines (regex and prefilter). */
static lw_matcher *one_signature(const char *sig_lines, lw_signature_set **set, bool gated)
{
    char text[1024], err[512];
    snprintf(text, sizeof(text),
             "signatures:\n"
             "  - id: 7\n"
             "    name: T\n"
             "%s",
             sig_lines);
    if (lw_signatures_parse("t", text, strlen(text), set, err, sizeof(err)) != 0)
        return NULL;
    lw_matcher *m = NULL;
    lw_match_opts opts = {.prefilter = gated};
    if (lw_matcher_compile_opts(*set, &opts, &m, err, sizeof(err)) != 0)
        return NULL;
    return m;
}

static size_t scan_all(lw_matcher *m, const char *text, uint64_t *scanned)
{
    lw_match_worker *w = lw_match_worker_new(m);
    assert_non_null(w);
    recs a = {0};
    lw_match_stream *s = lw_match_stream_open(w);
    lw_match_stream_scan(w, s, (const uint8_t *)text, strlen(text), on_found, &a);
    lw_match_stream_close(w, s, on_found, &a);
    *scanned = lw_match_worker_gate_scanned(w);
    lw_match_worker_free(w);
    free(a.r);
    return a.n;
}

/*
 * Every gap (each compiled as its own constant) and mins from 1 to 64 (the
 * window arithmetic doubles, then adds the rest; gap 4 stops at 33, the
 * widest regex the gate takes): a site kind whose regex
 * keeps the promise finds with the gate exactly what it finds without, on
 * digit-dense text with joiners in runs of every length, cut into pieces.
 */
static void test_every_gap_and_min_equal_ungated(void **state)
{
    (void)state;
    static const unsigned mins[] = {1, 2, 3, 9, 16, 17, 33, 63, 64};
    size_t n = 30000, total = 0;
    char *text = malloc(n + 1);
    assert_non_null(text);
    for (unsigned gap = 1; gap <= 4; gap++) {
        for (size_t mi = 0; mi < sizeof(mins) / sizeof(mins[0]); mi++) {
            unsigned min = mins[mi], most = min + 2; /* repeats of (joiners, digit) */
            while (most > min - 1 && 1 + most * (gap + 1) > 253)
                most--; /* (?:R)[^B] must fit the gate's 255 bytes */
            if (1 + most * (gap + 1) > 253)
                continue;
            char sig[512];
            snprintf(sig, sizeof(sig),
                     "    type: account_number\n    validator: none\n    normaliser: upper\n"
                     "    charset: '0-9.-'\n    max_len: 250\n"
                     "    regex: '[0-9](?:[.-]{0,%u}[0-9]){%u,%u}'\n"
                     "    prefilter:\n      count: digits\n      min: %u\n"
                     "      joiners: '.-'\n      gap: %u\n",
                     gap, min - 1, most, min, gap);
            lw_signature_set *s1, *s2;
            lw_matcher *gated = one_signature(sig, &s1, true),
                       *plain = one_signature(sig, &s2, false);
            assert_non_null(gated);
            assert_non_null(plain);
            /* runs of min - 2 .. min + 2 digits joined by up to gap + 1
             * joiners (one more than the promise allows), between separators */
            uint64_t r = 1000 * gap + min;
            size_t k = 0;
            while (k < n) {
                size_t run = min + rnd(&r, 5);
                run = run > 2 ? run - 2 : 1;
                for (size_t i = 0; i < run && k < n; i++) {
                    text[k++] = (char)('0' + rnd(&r, 10));
                    size_t j = rnd(&r, 4) == 0 ? rnd(&r, gap + 2) : 0;
                    while (j-- && k < n)
                        text[k++] = rnd(&r, 2) ? '.' : '-';
                }
                /* a value glued to a letter is refused: keep them apart */
                static const char *const seps[] = {", ", " x ", ";", "\n"};
                for (const char *sep = seps[rnd(&r, 4)]; *sep && k < n; sep++)
                    text[k++] = *sep;
            }
            text[n] = '\0';
            lw_match_worker *wg = lw_match_worker_new(gated), *wp = lw_match_worker_new(plain);
            assert_non_null(wg);
            assert_non_null(wp);
            recs a = {0}, b = {0};
            run_script(wg, (const uint8_t *)text, n, gap * 64 + min, &a);
            run_script(wp, (const uint8_t *)text, n, gap * 64 + min, &b);
            assert_same(&a, &b);
            if (min >= 33) /* long runs are rare here: the gate kept text out */
                assert_true(lw_match_worker_gate_scanned(wg) < n);
            total += a.n;

            free(a.r);
            free(b.r);
            lw_match_worker_free(wg);
            lw_match_worker_free(wp);
            lw_matcher_free(gated);
            lw_matcher_free(plain);
            lw_signatures_free(s1);
            lw_signatures_free(s2);
        }
    }
    assert_true(total > 1000);
    free(text);
}

/* A lead: runs not right after one are not scanned at all. */
static void test_lead_gate(void **state)
{
    (void)state;
    lw_signature_set *set;
    lw_matcher *m = one_signature("    type: phone\n    validator: phone\n    normaliser: e164\n"
                                  "    regex: '\\+[1-9](?:[ -]?[0-9]){6,14}'\n"
                                  "    prefilter:\n      count: digits\n      min: 7\n"
                                  "      joiners: ' -'\n      gap: 1\n      lead: '+'\n",
                                  &set, true);
    assert_non_null(m);
    uint64_t scanned;
    assert_int_equal(scan_all(m, "call 4155550123 or 44 20 7946 0958 now", &scanned), 0);
    assert_int_equal(scanned, 0);
    assert_int_equal(scan_all(m, "call 4155550123 or +44 20 7946 0958 now", &scanned), 1);
    assert_true(scanned > 0);
    /* unspaced, after other punctuation */
    assert_int_equal(scan_all(m, "tel:+442079460958;", &scanned), 1);
    lw_matcher_free(m);
    lw_signatures_free(set);
}

/* The gate trusts the promise: a regex that allows a joiner the prefilter
 * does not name loses those values when gated - which shows the gate
 * really keeps text from Hyperscan. */
static void test_broken_promise_loses_values(void **state)
{
    (void)state;
    static const char sig[] = "    type: credit_card\n    validator: credit_card\n"
                              "    normaliser: digits\n"
                              "    regex: '[2-6](?:[ -]?[0-9]){12,18}'\n"
                              "    prefilter:\n      count: digits\n      min: 13\n"
                              "      joiners: ' '\n      gap: 1\n";
    lw_signature_set *s1, *s2;
    lw_matcher *gated = one_signature(sig, &s1, true), *plain = one_signature(sig, &s2, false);
    assert_non_null(gated);
    assert_non_null(plain);
    uint64_t scanned;
    const char *dashed = "card 4111-1111-1111-1111 ok", *spaced = "card 4111 1111 1111 1111 ok";
    assert_int_equal(scan_all(plain, dashed, &scanned), 1);
    assert_int_equal(scan_all(gated, dashed, &scanned), 0);
    assert_int_equal(scan_all(gated, spaced, &scanned), 1);
    lw_matcher_free(gated);
    lw_matcher_free(plain);
    lw_signatures_free(s1);
    lw_signatures_free(s2);
}

static void test_classifiers_agree(void **state)
{
    (void)state;
    uint8_t buf[64 * 40];
    uint64_t r = 12345;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = i < 256 ? (uint8_t)i : (uint8_t)rng_next(&r);
    /* edges of every class around the block boundaries */
    memcpy(buf + 1024 - 3, "/09:@AZ[`az{", 12);
    lw_prefilter_block s[40], v[40];
    lw_prefilter_classify(LW_PREFILTER_SCALAR, buf, 40, 1, s);
    for (int impl = LW_PREFILTER_SSE2; impl <= LW_PREFILTER_AVX2; impl++) {
        lw_prefilter_impl got = lw_prefilter_resolve((lw_prefilter_impl)impl);
        for (int letters = 0; letters <= 1; letters++) {
            lw_prefilter_classify(got, buf, 40, letters, v);
            for (int j = 0; j < 40; j++) {
                assert_true(v[j].digit == s[j].digit);
                assert_true(v[j].upper == (letters ? s[j].upper : 0));
            }
        }
    }
    /* spot checks of the scalar masks */
    assert_true(s[0].digit == 0x3ffull << 48); /* '0' is byte 48 */
    assert_true(s[0].upper == 0);
    assert_true(s[1].upper == 0x7fffffeull); /* 'A' is byte 65 */
}

static void test_byte_sets_agree(void **state)
{
    (void)state;
    uint8_t buf[64 * 40];
    uint64_t r = 777;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = i < 256 ? (uint8_t)i : (uint8_t)rng_next(&r);
    memcpy(buf + 1024 - 3, " .-()+", 6);
    static const uint8_t set[] = {' ', '.', '-', '(', ')', '+', 0xff, 0x00};
    for (size_t nset = 1; nset <= sizeof(set); nset++) {
        uint64_t s[40], v[40];
        lw_prefilter_bytes(LW_PREFILTER_SCALAR, buf, 40, set, nset, s);
        for (int impl = LW_PREFILTER_SSE2; impl <= LW_PREFILTER_AVX2; impl++) {
            lw_prefilter_bytes(lw_prefilter_resolve((lw_prefilter_impl)impl), buf, 40, set, nset,
                               v);
            for (int j = 0; j < 40; j++)
                assert_true(v[j] == s[j]);
        }
        /* byte value b sits at index b of the first four blocks */
        for (size_t k = 0; k < nset; k++)
            assert_true(s[set[k] / 64] >> (set[k] % 64) & 1);
        assert_false(s['x' / 64] >> ('x' % 64) & 1);
    }
}

/* One pass over classes and sets gives what the separate calls give. */
static void test_scan_agrees_with_separate_calls(void **state)
{
    (void)state;
    uint8_t buf[64 * 40];
    uint64_t r = 4242;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = i < 256 ? (uint8_t)i : (uint8_t)rng_next(&r);
    memcpy(buf + 2048 - 5, "+1 (415) 555-0123", 17);
    lw_prefilter_set sets[LW_PREFILTER_SETS_MAX] = {
        {5, {' ', '.', '-', '(', ')'}}, {1, {'+'}}, {1, {' '}}, {8, {0, 1, 2, 3, 4, 5, 6, 0xff}}};
    lw_prefilter_block want[40];
    lw_prefilter_classify(LW_PREFILTER_SCALAR, buf, 40, 1, want);
    for (int impl = LW_PREFILTER_SCALAR; impl <= LW_PREFILTER_AVX2; impl++) {
        lw_prefilter_impl got = lw_prefilter_resolve((lw_prefilter_impl)impl);
        for (size_t nsets = 0; nsets <= LW_PREFILTER_SETS_MAX; nsets++) {
            uint64_t digit[40], upper[40], masks[LW_PREFILTER_SETS_MAX][40], one[40];
            uint64_t *outs[LW_PREFILTER_SETS_MAX] = {masks[0], masks[1], masks[2], masks[3]};
            lw_prefilter_scan(got, buf, 40, digit, nsets % 2 ? NULL : upper, sets, nsets, outs);
            for (int j = 0; j < 40; j++) {
                assert_true(digit[j] == want[j].digit);
                if (nsets % 2 == 0)
                    assert_true(upper[j] == want[j].upper);
            }
            for (size_t k = 0; k < nsets; k++) {
                lw_prefilter_bytes(LW_PREFILTER_SCALAR, buf, 40, sets[k].bytes, sets[k].n, one);
                for (int j = 0; j < 40; j++)
                    assert_true(masks[k][j] == one[j]);
            }
        }
    }
}

static void test_resolve_never_auto(void **state)
{
    (void)state;
    assert_int_not_equal(lw_prefilter_resolve(LW_PREFILTER_AUTO), LW_PREFILTER_AUTO);
    assert_int_equal(lw_prefilter_resolve(LW_PREFILTER_SCALAR), LW_PREFILTER_SCALAR);
}

static int parse(const char *prefilter_lines, lw_signature_set **set, char *err, size_t n)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "signatures:\n"
             "  - id: 9\n"
             "    name: Card\n"
             "    type: credit_card\n"
             "    regex: '[2-6](?:[ -]?[0-9]){12,18}'\n"
             "    validator: credit_card\n"
             "    normaliser: digits\n"
             "%s",
             prefilter_lines);
    return lw_signatures_parse("t", text, strlen(text), set, err, n);
}

static void test_prefilter_field_parsed(void **state)
{
    (void)state;
    lw_signature_set *set;
    char err[512];
    assert_int_equal(parse("    prefilter:\n      count: digits\n      min: 13\n"
                           "      joiners: ' -'\n      gap: 1\n      lead: '+'\n",
                           &set, err, sizeof(err)),
                     0);
    const lw_sig_prefilter *pf = &set->sigs[0].prefilter;
    assert_true(pf->set);
    assert_int_equal(pf->count, LW_SIG_COUNT_DIGITS);
    assert_int_equal(pf->min, 13);
    assert_int_equal(pf->gap, 1);
    assert_int_equal(pf->njoiners, 2);
    assert_string_equal(pf->joiners, " -");
    assert_int_equal(pf->nlead, 1);
    assert_string_equal(pf->lead, "+");
    lw_signatures_free(set);
    assert_int_equal(
        parse("    prefilter:\n      count: alnum_upper\n      min: 64\n", &set, err, sizeof(err)),
        0);
    assert_int_equal(set->sigs[0].prefilter.count, LW_SIG_COUNT_ALNUM_UPPER);
    assert_int_equal(set->sigs[0].prefilter.njoiners, 0);
    assert_int_equal(set->sigs[0].prefilter.gap, 0);
    lw_signatures_free(set);
    assert_int_equal(parse("", &set, err, sizeof(err)), 0);
    assert_false(set->sigs[0].prefilter.set);
    lw_signatures_free(set);
}

static void test_prefilter_field_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "    prefilter: 13\n",
        "    prefilter:\n      digits: 13\n", /* the old form */
        "    prefilter:\n      count: digits\n",
        "    prefilter:\n      min: 3\n",
        "    prefilter:\n      count: letters\n      min: 3\n",
        "    prefilter:\n      count: digits\n      min: 0\n",
        "    prefilter:\n      count: digits\n      min: 65\n",
        "    prefilter:\n      count: digits\n      min: x\n",
        "    prefilter:\n      count: digits\n      min: 3\n      min: 4\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: ' '\n",
        "    prefilter:\n      count: digits\n      min: 3\n      gap: 1\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: ' '\n      gap: 0\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: ' '\n      gap: 5\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: ' 5'\n      gap: 1\n",
        "    prefilter:\n      count: alnum_upper\n      min: 3\n      joiners: 'Q'\n"
        "      gap: 1\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: '--'\n      gap: 1\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: ' .-()+/:;'\n"
        "      gap: 1\n",
        "    prefilter:\n      count: digits\n      min: 3\n      joiners: ' +'\n      gap: 1\n"
        "      lead: '+'\n",
        "    prefilter:\n      count: digits\n      min: 3\n      lead: '7'\n",
        "    prefilter:\n      count: digits\n      min: 3\n      lead: ''\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lw_signature_set *set = NULL;
        char err[512] = "";
        assert_int_equal(parse(bad[i], &set, err, sizeof(err)), LW_ERR_PARSE);
        assert_null(set);
        assert_non_null(strstr(err, "prefilter"));
        assert_non_null(strstr(err, "signature 9"));
    }
}

static void test_unbounded_gated_regex_refused(void **state)
{
    (void)state;
    static const char text[] = "signatures:\n"
                               "  - id: 5\n"
                               "    name: Long\n"
                               "    type: thing\n"
                               "    regex: 'N[0-9]+'\n"
                               "    validator: none\n"
                               "    normaliser: none\n"
                               "    charset: 'N0-9'\n"
                               "    max_len: 20\n"
                               "    prefilter:\n"
                               "      count: digits\n"
                               "      min: 1\n";
    lw_signature_set *set;
    lw_matcher *m = NULL;
    char err[512];
    assert_int_equal(lw_signatures_parse("t", text, sizeof(text) - 1, &set, err, sizeof(err)), 0);
    assert_int_equal(lw_matcher_compile(set, &m, err, sizeof(err)), LW_ERR_HYPERSCAN);
    assert_null(m);
    assert_non_null(strstr(err, "signature 5"));
    assert_non_null(strstr(err, "bounded width"));
    /* with the prefilter off it compiles */
    lw_match_opts off = {.prefilter = false};
    assert_int_equal(lw_matcher_compile_opts(set, &off, &m, err, sizeof(err)), 0);
    lw_matcher_free(m);
    lw_signatures_free(set);
}

/* Only gated signatures: no stream database at all. */
static void test_all_signatures_gated(void **state)
{
    (void)state;
    lw_signature_set *set;
    lw_matcher *m;
    char err[512];
    assert_int_equal(
        parse("    prefilter:\n      count: digits\n      min: 13\n      joiners: ' -'\n"
              "      gap: 1\n",
              &set, err, sizeof(err)),
        0);
    assert_int_equal(lw_matcher_compile(set, &m, err, sizeof(err)), 0);
    assert_int_equal(lw_matcher_stream_size(m), 0);
    lw_match_worker *w = lw_match_worker_new(m);
    assert_non_null(w);
    recs a = {0};
    lw_match_stream *s = lw_match_stream_open(w);
    assert_non_null(s);
    lw_match_stream_scan(w, s, (const uint8_t *)"x 5555555555554444", 18, on_found, &a);
    lw_match_stream_close(w, s, on_found, &a);
    assert_int_equal(a.n, 1);
    lw_match_block_scan(w, (const uint8_t *)"5555555555554444.", 17, on_found, &a);
    assert_int_equal(a.n, 2);
    free(a.r);
    lw_match_worker_free(w);
    lw_matcher_free(m);
    lw_signatures_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shipped_signatures_are_gated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gated_equals_ungated_random_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gated_equals_ungated_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gated_block_scan_equals_ungated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_ending_item_reported_at_item_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gap_splits_gated_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_skips_text_without_digits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_scans_around_digits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_skips_digit_dense_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_very_long_run, setup, teardown),
        cmocka_unit_test(test_every_gap_and_min_equal_ungated),
        cmocka_unit_test(test_lead_gate),
        cmocka_unit_test(test_broken_promise_loses_values),
        cmocka_unit_test(test_classifiers_agree),
        cmocka_unit_test(test_byte_sets_agree),
        cmocka_unit_test(test_scan_agrees_with_separate_calls),
        cmocka_unit_test(test_resolve_never_auto),
        cmocka_unit_test(test_prefilter_field_parsed),
        cmocka_unit_test(test_prefilter_field_errors),
        cmocka_unit_test(test_unbounded_gated_regex_refused),
        cmocka_unit_test(test_all_signatures_gated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
