/*
 * test_smtp.c - the SMTP decoder and its MIME parser, through lw_smtp.
 *
 * A recording sink keeps, per direction, the content bytes, where each
 * item ended, and every meta call. The reference session (EHLO, MAIL, three
 * RCPT, DATA with encoded words in To and Subject, a multipart/mixed body
 * with a plain part, a quoted-printable part and a base64 text/csv
 * attachment of 20 fictional customers) is replayed whole, byte by byte and
 * in random splits, and the recordings must be identical; the decoded CSV
 * must be one item, byte for byte. Then one focused test per behaviour of
 * smtp.h and one negative test per counter.
 *
 * All addresses are @example.com and all phone numbers 555-01xx, which are
 * fictional. Nothing is printed: items are compared in memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/smtp.h"

enum { REC_MAX = 32768, ITEMS_MAX = 256, META_MAX = 32, META_VAL = 128, MSG_MAX = 8192 };

typedef struct rec_meta {
    int dir;
    int key;
    uint8_t v[META_VAL];
    size_t n;
} rec_meta;

typedef struct rec {
    uint8_t data[2][REC_MAX];
    size_t len[2];
    size_t ends[2][ITEMS_MAX]; /* offset in data where each item ended */
    size_t nitems[2];
    rec_meta meta[META_MAX];
    size_t nmeta;
    int bad; /* a call the sink contract forbids, or overflow */
} rec;

static void rec_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    rec *r = ctx;
    if (dir < 0 || dir > 1 || n == 0 || !d || r->len[dir] + n > REC_MAX) {
        r->bad++;
        return;
    }
    memcpy(r->data[dir] + r->len[dir], d, n);
    r->len[dir] += n;
}

static void rec_item_end(void *ctx, int dir)
{
    rec *r = ctx;
    if (dir < 0 || dir > 1 || r->nitems[dir] >= ITEMS_MAX) {
        r->bad++;
        return;
    }
    /* an item with no content is never ended */
    size_t start = r->nitems[dir] ? r->ends[dir][r->nitems[dir] - 1] : 0;
    if (r->len[dir] == start)
        r->bad++;
    r->ends[dir][r->nitems[dir]++] = r->len[dir];
}

static void rec_meta_cb(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    rec *r = ctx;
    if (r->nmeta >= META_MAX || n > META_VAL || !v) {
        r->bad++;
        return;
    }
    rec_meta *m = &r->meta[r->nmeta++];
    m->dir = dir;
    m->key = (int)key;
    memcpy(m->v, v, n);
    m->n = n;
}

static bool rec_equal(const rec *a, const rec *b)
{
    for (int d = 0; d < 2; d++) {
        if (a->len[d] != b->len[d] || memcmp(a->data[d], b->data[d], a->len[d]) != 0)
            return false;
        if (a->nitems[d] != b->nitems[d] ||
            memcmp(a->ends[d], b->ends[d], a->nitems[d] * sizeof(size_t)) != 0)
            return false;
    }
    if (a->nmeta != b->nmeta)
        return false;
    for (size_t i = 0; i < a->nmeta; i++)
        if (a->meta[i].dir != b->meta[i].dir || a->meta[i].key != b->meta[i].key ||
            a->meta[i].n != b->meta[i].n || memcmp(a->meta[i].v, b->meta[i].v, a->meta[i].n))
            return false;
    return a->bad == 0 && b->bad == 0;
}

/* Is there an item of dir equal to s[0..n)? */
static bool has_item_n(const rec *r, int dir, const void *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < r->nitems[dir]; i++) {
        size_t end = r->ends[dir][i];
        if (end - start == n && memcmp(r->data[dir] + start, s, n) == 0)
            return true;
        start = end;
    }
    return false;
}

static bool has_item(const rec *r, int dir, const char *s)
{
    return has_item_n(r, dir, s, strlen(s));
}

/* Does the content of dir contain s anywhere? */
static bool contains(const rec *r, int dir, const char *s)
{
    size_t n = strlen(s);
    if (n > r->len[dir])
        return false;
    for (size_t i = 0; i + n <= r->len[dir]; i++)
        if (memcmp(r->data[dir] + i, s, n) == 0)
            return true;
    return false;
}

static size_t count_meta(const rec *r, lw_app_meta key)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nmeta; i++)
        if (r->meta[i].key == (int)key)
            k++;
    return k;
}

static bool has_meta(const rec *r, lw_app_meta key, const char *v)
{
    size_t n = strlen(v);
    for (size_t i = 0; i < r->nmeta; i++)
        if (r->meta[i].key == (int)key && r->meta[i].n == n && memcmp(r->meta[i].v, v, n) == 0)
            return true;
    return false;
}

/* ---- driving a session -------------------------------------------------- */

typedef struct seg {
    int dir;
    const uint8_t *d;
    size_t n;
} seg;

#define C(s)                                                                                       \
    {                                                                                              \
        LW_DIR_TOSERVER, (const uint8_t *)(s), sizeof(s) - 1                                       \
    }
#define S(s)                                                                                       \
    {                                                                                              \
        LW_DIR_TOCLIENT, (const uint8_t *)(s), sizeof(s) - 1                                       \
    }

enum split { WHOLE, BYTES, RANDOM };

typedef struct run {
    lw_app_limits lim;
    uint64_t ctr[LW_SMTP_CTR_MAX];
    bool inspect[2];
    bool encrypted;
    rec *r;
} run;

static lw_app_limits default_limits(void)
{
    lw_app_limits l = {1000, 64, 1u << 20, 100, 4};
    return l;
}

static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 16;
}

static void feed_split(lw_smtp *s, const seg *g, enum split how, uint32_t *seed, run *u,
                       const lw_app_sink *sink)
{
    size_t off = 0;
    while (off < g->n) {
        size_t k = g->n - off;
        if (how == BYTES)
            k = 1;
        else if (how == RANDOM)
            k = 1 + lcg(seed) % 23;
        if (k > g->n - off)
            k = g->n - off;
        lw_smtp_feed(s, g->dir, g->d + off, k, u->inspect[g->dir], sink);
        off += k;
    }
}

/* Runs segs through a new decoder; NULL entries in gaps[] mark a gap of
 * direction gap_dir[i] before seg i. */
static void play(run *u, const seg *segs, size_t n, enum split how, uint32_t seed,
                 const bool *gap_before)
{
    memset(u->r, 0, sizeof *u->r);
    memset(u->ctr, 0, sizeof u->ctr);
    lw_app_sink sink = {rec_content, rec_item_end, rec_meta_cb, u->r};
    lw_smtp *s = lw_smtp_new(&u->lim, u->ctr);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        if (gap_before && gap_before[i])
            lw_smtp_gap(s, segs[i].dir, &sink);
        feed_split(s, &segs[i], how, &seed, u, &sink);
    }
    u->encrypted = lw_smtp_encrypted(s);
    lw_smtp_free(s, &sink);
}

static int setup(void **state)
{
    run *u = calloc(1, sizeof *u);
    if (!u)
        return -1;
    u->r = calloc(1, sizeof *u->r);
    if (!u->r) {
        free(u);
        return -1;
    }
    u->lim = default_limits();
    u->inspect[0] = true;
    u->inspect[1] = false;
    *state = u;
    return 0;
}

static int teardown(void **state)
{
    run *u = *state;
    free(u->r);
    free(u);
    return 0;
}

/* ---- the reference session ---------------------------------------------- */

static size_t b64_encode_lines(const uint8_t *in, size_t n, char *out, size_t cap)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0, col = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        char q[4] = {al[v >> 18 & 63], al[v >> 12 & 63], i + 1 < n ? al[v >> 6 & 63] : '=',
                     i + 2 < n ? al[v & 63] : '='};
        for (int j = 0; j < 4; j++) {
            if (k + 3 >= cap)
                return 0;
            out[k++] = q[j];
            if (++col == 76) {
                out[k++] = '\r';
                out[k++] = '\n';
                col = 0;
            }
        }
    }
    if (col) {
        out[k++] = '\r';
        out[k++] = '\n';
    }
    return k;
}

static size_t make_csv(char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "id,name,email,phone\n");
    for (int i = 1; i <= 20; i++)
        k += (size_t)snprintf(out + k, cap - k,
                              "%d,Customer %02d,customer%02d@example.com,"
                              "+1-202-555-01%02d\n",
                              i, i, i, i);
    return k;
}

typedef struct session {
    char csv[2048];
    size_t csv_len;
    char msg[MSG_MAX];
    size_t msg_len;
    seg segs[32];
    size_t n;
} session;

static void build_session(session *x)
{
    x->csv_len = make_csv(x->csv, sizeof x->csv);
    char b64[4096];
    size_t bn = b64_encode_lines((const uint8_t *)x->csv, x->csv_len, b64, sizeof b64);
    assert_true(bn > 0);
    int k = snprintf(x->msg, sizeof x->msg,
                     "From: Alice Example <alice@example.com>\r\n"
                     "To: =?UTF-8?B?Qm9iIEV4YW1wbGU=?= <bob@example.com>\r\n"
                     "Subject: =?ISO-8859-1?Q?Customer_list?=\r\n"
                     "  for =?UTF-8?Q?Q3_review?=  =?UTF-8?Q?=28final=29?=\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed;\r\n"
                     "\tboundary=\"=_b1_x\"\r\n"
                     "\r\n"
                     "This is a multi-part message in MIME format.\r\n"
                     "--=_b1_x\r\n"
                     "Content-Type: text/plain; charset=us-ascii\r\n"
                     "\r\n"
                     "Hello team,\r\n"
                     "..leading dot\r\n"
                     "-- \r\n"
                     "the list is attached.\r\n"
                     "--=_b1_x\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n"
                     "\r\n"
                     "Escalations: carol=40example.com, +1 202 555 01=\r\n"
                     "99\r\n"
                     "--=_b1_x\r\n"
                     "Content-Type: text/csv; name=\"customers.csv\"\r\n"
                     "Content-Disposition: attachment; filename=\"customers.csv\"\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "\r\n"
                     "%.*s"
                     "--=_b1_x--\r\n"
                     "epilogue text\r\n"
                     ".\r\n",
                     (int)bn, b64);
    assert_true(k > 0 && (size_t)k < sizeof x->msg);
    x->msg_len = (size_t)k;
    seg all[] = {
        S("220 mx.example.com ESMTP\r\n"),
        C("EHLO client.example.com\r\n"),
        S("250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
        C("MAIL FROM:<alice@example.com> SIZE=4096\r\n"),
        S("250 2.1.0 ok\r\n"),
        C("RCPT TO:<bob@example.com>\r\n"),
        S("250 2.1.5 ok\r\n"),
        C("rcpt to: <@relay.example.com:dan@example.com>\r\n"),
        S("250 2.1.5 ok\r\n"),
        C("RCPT TO:<erin@example.com>\r\n"),
        S("250 2.1.5 ok\r\n"),
        C("DATA\r\n"),
        S("354 go ahead\r\n"),
        {LW_DIR_TOSERVER, (const uint8_t *)x->msg, x->msg_len},
        S("250 2.0.0 queued\r\n"),
        C("QUIT\r\n"),
        S("221 bye\r\n"),
    };
    memcpy(x->segs, all, sizeof all);
    x->n = sizeof all / sizeof all[0];
}

static void test_session_content(void **state)
{
    run *u = *state;
    session *x = malloc(sizeof *x);
    assert_non_null(x);
    build_session(x);
    play(u, x->segs, x->n, WHOLE, 0, NULL);
    rec *r = u->r;
    assert_int_equal(r->bad, 0);

    assert_true(has_meta(r, LW_META_SMTP_HELO, "client.example.com"));
    assert_true(has_meta(r, LW_META_SMTP_MAIL_FROM, "alice@example.com"));
    assert_int_equal(count_meta(r, LW_META_SMTP_RCPT_TO), 3);
    assert_true(has_meta(r, LW_META_SMTP_RCPT_TO, "bob@example.com"));
    assert_true(has_meta(r, LW_META_SMTP_RCPT_TO, "dan@example.com")); /* source route gone */
    assert_true(has_meta(r, LW_META_SMTP_RCPT_TO, "erin@example.com"));

    assert_true(has_item(r, 0, "alice@example.com"));
    assert_true(has_item(r, 0, "erin@example.com"));
    assert_true(has_item(r, 0, "Alice Example <alice@example.com>"));
    assert_true(has_item(r, 0, "Bob Example <bob@example.com>"));
    /* unfolded; space between adjacent encoded words dropped */
    assert_true(has_item(r, 0, "Customer list  for Q3 review(final)"));
    assert_true(has_item(r, 0, "multipart/mixed;\tboundary=\"=_b1_x\""));
    assert_true(has_item(r, 0, "This is a multi-part message in MIME format."));
    assert_true(has_item(r, 0, "Hello team,\r\n.leading dot\r\n-- \r\nthe list is attached."));
    assert_true(has_item(r, 0, "Escalations: carol@example.com, +1 202 555 0199"));
    assert_true(has_item(r, 0, "attachment; filename=\"customers.csv\""));
    assert_true(has_item_n(r, 0, x->csv, x->csv_len));
    assert_true(has_item(r, 0, "epilogue text"));
    /* no base64 text and no boundary line reached the content */
    assert_false(contains(r, 0, "--=_b1_x"));
    assert_false(contains(r, 0, "aWQsbmFt"));
    /* the server direction is not inspected */
    assert_int_equal(r->len[1], 0);

    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_PARTS], 3);
    assert_int_equal(u->ctr[LW_SMTP_CTR_COMMANDS], 7);
    assert_int_equal(u->ctr[LW_SMTP_CTR_DECODED_BYTES], r->len[0]);
    for (int c = LW_SMTP_CTR_LINE_TOO_LONG; c < LW_SMTP_CTR_MAX; c++)
        if (c != LW_SMTP_CTR_DECODED_BYTES)
            assert_int_equal(u->ctr[c], 0);
    assert_false(u->encrypted);
    free(x);
}

static void test_session_split_invariance(void **state)
{
    run *u = *state;
    session *x = malloc(sizeof *x);
    rec *whole = malloc(sizeof *whole);
    assert_non_null(x);
    assert_non_null(whole);
    build_session(x);
    for (int insp = 0; insp < 2; insp++) {
        u->inspect[1] = insp; /* with and without the server's text */
        play(u, x->segs, x->n, WHOLE, 0, NULL);
        memcpy(whole, u->r, sizeof *whole);
        uint64_t ctr[LW_SMTP_CTR_MAX];
        memcpy(ctr, u->ctr, sizeof ctr);
        assert_int_equal(whole->nitems[0], 20);

        play(u, x->segs, x->n, BYTES, 0, NULL);
        assert_true(rec_equal(whole, u->r));
        assert_memory_equal(ctr, u->ctr, sizeof ctr);
        for (uint32_t seed = 1; seed <= 40; seed++) {
            play(u, x->segs, x->n, RANDOM, seed, NULL);
            assert_true(rec_equal(whole, u->r));
            assert_memory_equal(ctr, u->ctr, sizeof ctr);
        }
    }
    free(whole);
    free(x);
}

/* Same message, served over all lines of defence at once: the reply text
 * is inspected (as for an inside mail server answering). */
static void test_server_text_inspected(void **state)
{
    run *u = *state;
    u->inspect[1] = true;
    seg segs[] = {S("220 mx.example.com ESMTP\r\n"), C("EHLO a.example.com\r\n"),
                  S("250-mx.example.com greets ops@example.com\r\n250 SIZE\r\n")};
    play(u, segs, 3, WHOLE, 0, NULL);
    assert_true(has_item(u->r, 1, "mx.example.com ESMTP\r"));
    assert_true(has_item(u->r, 1, "mx.example.com greets ops@example.com\r"));
    u->inspect[1] = false;
    play(u, segs, 3, WHOLE, 0, NULL);
    assert_int_equal(u->r->len[1], 0);
    assert_int_equal(u->r->nitems[1], 0);
}

static void test_inspect_false_meta_only(void **state)
{
    run *u = *state;
    session *x = malloc(sizeof *x);
    assert_non_null(x);
    build_session(x);
    u->inspect[0] = false;
    play(u, x->segs, x->n, RANDOM, 7, NULL);
    assert_int_equal(u->r->len[0], 0);
    assert_int_equal(u->r->nitems[0], 0);
    assert_int_equal(count_meta(u->r, LW_META_SMTP_RCPT_TO), 3);
    assert_true(has_meta(u->r, LW_META_SMTP_MAIL_FROM, "alice@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_PARTS], 3); /* structure still followed */
    assert_int_equal(u->ctr[LW_SMTP_CTR_DECODED_BYTES], 0);
    free(x);
}

/* ---- DATA framing ------------------------------------------------------- */

static void test_dot_unstuffing(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\n"), C("Subject: dots\r\n\r\n"
                                   "..one\r\n"
                                   "...two\r\n"
                                   ". three\r\n"
                                   ".\rx\r\n"
                                   "..\r\n"
                                   ".\r\n"
                                   "MAIL FROM:<next@example.com>\r\n")};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_true(has_item(u->r, 0, ".one\r\n..two\r\n three\r\n\rx\r\n."));
    assert_true(has_meta(u->r, LW_META_SMTP_MAIL_FROM, "next@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
}

static void test_bare_lf_terminator(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\n"), C("Subject: lf\n\nbody line\n.\nRCPT TO:<x@example.com>\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_true(has_item(u->r, 0, "lf"));
    assert_true(has_item(u->r, 0, "body line"));
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "x@example.com"));
}

static void test_pipelining_data_without_reply(void **state)
{
    run *u = *state;
    /* RFC 2920 client: the whole transaction before any reply is read */
    seg segs[] = {S("220 mx.example.com\r\n"), C("EHLO c.example.com\r\n"),
                  S("250-mx\r\n250 PIPELINING\r\n"),
                  C("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
                    "Subject: piped\r\n\r\nsecret body\r\n.\r\nQUIT\r\n"),
                  S("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n")};
    play(u, segs, 5, RANDOM, 3, NULL);
    assert_true(has_item(u->r, 0, "piped"));
    assert_true(has_item(u->r, 0, "secret body"));
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "b@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
    assert_int_equal(u->ctr[LW_SMTP_CTR_COMMANDS], 5);
}

static void test_data_refused(void **state)
{
    run *u = *state;
    seg segs[] = {S("220 mx\r\n"),
                  C("MAIL FROM:<a@example.com>\r\n"),
                  S("250 ok\r\n"),
                  C("RCPT TO:<nobody@example.com>\r\n"),
                  S("550 no such user\r\n"),
                  C("DATA\r\n"),
                  S("554 no valid recipients\r\n"),
                  C("RCPT TO:<c@example.com>\r\n")};
    play(u, segs, 8, WHOLE, 0, NULL);
    /* the 550 to RCPT did not cancel anything; the 554 to DATA did */
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "c@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 0);
}

static void test_bdat_last(void **state)
{
    run *u = *state;
    /* the chunks cut a header and a base64 line in two */
    seg segs[] = {C("MAIL FROM:<a@example.com>\r\n"),
                  C("BDAT 48\r\n"),
                  C("Subject: chunked\r\nContent-Transfer-Encoding: bas"),
                  C("BDAT 37 LAST\r\n"),
                  C("e64\r\n\r\nY3VzdG9tZXJAZXhhbXBsZS5jb20=\r\n"),
                  C("RCPT TO:<after@example.com>\r\n")};
    play(u, segs, 6, RANDOM, 5, NULL);
    assert_true(has_item(u->r, 0, "chunked"));
    assert_true(has_item(u->r, 0, "customer@example.com"));
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "after@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BDAT], 0);
}

static void test_bdat_zero_last_and_rset(void **state)
{
    run *u = *state;
    seg segs[] = {C("BDAT 12\r\n"), C("Subject: x\r\n"), C("RSET\r\n"), C("BDAT 0 LAST\r\n"),
                  C("NOOP\r\n")};
    play(u, segs, 5, WHOLE, 0, NULL);
    assert_true(has_item(u->r, 0, "x"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 2);
    assert_int_equal(u->ctr[LW_SMTP_CTR_COMMANDS], 4);
}

static void test_bdat_invalid(void **state)
{
    run *u = *state;
    seg segs[] = {C("BDAT x12\r\nBDAT 5 FIRST\r\nBDAT\r\nBDAT 1234567890123456789\r\n"),
                  C("RCPT TO:<ok@example.com>\r\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BDAT], 4);
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 0);
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "ok@example.com"));
}

/* Every line gets a reply, a dropped one too: its 500 must not be taken
 * for the answer to the DATA pipelined after it. */
static void test_pipelined_long_line_keeps_data(void **state)
{
    run *u = *state;
    u->lim.max_line = 32;
    seg segs[] = {S("220 mx\r\n"),
                  C("MAIL FROM:<a-very-long-local-part@example.com>\r\n\r\nDATA\r\n"),
                  S("500 line too long\r\n500 empty\r\n"), C("Subject: kept\r\n\r\n.\r\n")};
    play(u, segs, 4, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
    assert_true(has_item(u->r, 0, "kept"));
}

/* Found by fuzz_smtp: a command between BDAT chunks emitted its own item
 * while the message's item was open. The transaction ends first. */
static void test_command_inside_bdat_ends_message(void **state)
{
    run *u = *state;
    seg segs[] = {C("BDAT 10\r\nSubject: a"), C("MAIL FROM:<x@example.com>\r\n")};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_int_equal(u->r->bad, 0);
    assert_true(has_item(u->r, 0, "a"));
    assert_true(has_item(u->r, 0, "x@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
}

/* ---- STARTTLS ----------------------------------------------------------- */

static void test_starttls_reply(void **state)
{
    run *u = *state;
    seg segs[] = {S("220 mx ESMTP\r\n"),
                  C("EHLO c.example.com\r\n"),
                  S("250-mx\r\n250-STARTTLS\r\n250 SIZE\r\n"), /* one reply, three lines */
                  C("STARTTLS\r\n"),
                  S("220 2.0.0 ready\r\n"),
                  C("MAIL FROM:<hidden@example.com>\r\n")};
    play(u, segs, 6, BYTES, 0, NULL);
    assert_true(u->encrypted);
    assert_int_equal(u->ctr[LW_SMTP_CTR_STARTTLS], 1);
    assert_int_equal(count_meta(u->r, LW_META_SMTP_STARTTLS), 1);
    assert_int_equal(count_meta(u->r, LW_META_SMTP_MAIL_FROM), 0);
}

static void test_starttls_tls_record(void **state)
{
    run *u = *state;
    seg segs[] = {C("EHLO c.example.com\r\nSTARTTLS\r\n"),
                  {LW_DIR_TOSERVER, (const uint8_t *)"\x16\x03\x01\x00\x05hello\n", 11}};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_true(u->encrypted);
    assert_int_equal(u->ctr[LW_SMTP_CTR_STARTTLS], 1);
}

static void test_starttls_refused(void **state)
{
    run *u = *state;
    seg segs[] = {S("220 mx\r\n"),
                  C("STARTTLS\r\n"),
                  S("454 TLS not available\r\n"),
                  {LW_DIR_TOSERVER, (const uint8_t *)"\x16\x03junk\r\n", 8},
                  C("MAIL FROM:<plain@example.com>\r\n")};
    play(u, segs, 5, WHOLE, 0, NULL);
    assert_false(u->encrypted);
    assert_int_equal(u->ctr[LW_SMTP_CTR_STARTTLS], 0);
    assert_true(has_meta(u->r, LW_META_SMTP_MAIL_FROM, "plain@example.com"));
}

/* ---- AUTH --------------------------------------------------------------- */

static void test_auth_plain(void **state)
{
    run *u = *state;
    /* "\0dave@example.com\0fictional-pw" */
    seg segs[] = {C("AUTH PLAIN AGRhdmVAZXhhbXBsZS5jb20AZmljdGlvbmFsLXB3\r\n"), S("235 ok\r\n"),
                  C("MAIL FROM:<dave@example.com>\r\n")};
    play(u, segs, 3, BYTES, 0, NULL);
    assert_true(has_item(u->r, 0, "dave@example.com"));
    assert_true(has_item(u->r, 0, "fictional-pw"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BASE64], 0);
    assert_int_equal(u->ctr[LW_SMTP_CTR_COMMANDS], 2);
}

static void test_auth_login_continuation(void **state)
{
    run *u = *state;
    /* no server side seen: base64 lines after AUTH are SASL responses */
    seg segs[] = {C("AUTH LOGIN\r\n"), C("ZXZlQGV4YW1wbGUuY29t\r\n"), C("cHc=\r\n"),
                  C("MAIL FROM:<eve@example.com>\r\n"), C("ZXZlQGV4YW1wbGUuY29t\r\n")};
    play(u, segs, 5, WHOLE, 0, NULL);
    assert_true(has_item(u->r, 0, "eve@example.com"));
    assert_true(has_item(u->r, 0, "pw"));
    /* after MAIL the exchange is over: the last line is an unknown command */
    assert_int_equal(u->r->nitems[0], 3);
    assert_int_equal(u->ctr[LW_SMTP_CTR_COMMANDS], 3);
}

static void test_auth_plain_bad_base64(void **state)
{
    run *u = *state;
    seg segs[] = {C("AUTH PLAIN ZGF2Z!!!UBleGFt\r\n")};
    play(u, segs, 1, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BASE64], 1);
    assert_int_equal(u->r->bad, 0);
}

/* ---- MIME --------------------------------------------------------------- */

static void test_message_rfc822_nested(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\n"), C("Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
                                   "--outer\r\n"
                                   "Content-Type: message/rfc822\r\n\r\n"
                                   "Subject: =?utf-8?Q?fwd_from_frank=40example=2Ecom?=\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "Content-Transfer-Encoding: base64\r\n\r\n"
                                   "Z3JhY2VAZXhhbXBsZS5jb20=\r\n"
                                   "--outer--\r\n"
                                   ".\r\n")};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_true(has_item(u->r, 0, "fwd from frank@example.com"));
    assert_true(has_item(u->r, 0, "grace@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_PARTS], 1);
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_TOO_DEEP], 0);
}

static void test_mime_too_deep(void **state)
{
    run *u = *state;
    u->lim.max_encodings = 2;
    seg segs[] = {C("DATA\r\n"), C("Content-Type: multipart/mixed; boundary=a\r\n\r\n"
                                   "--a\r\n"
                                   "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
                                   "--b\r\n"
                                   "Content-Type: multipart/related; boundary=c\r\n\r\n"
                                   "--c\r\n"
                                   "Content-Transfer-Encoding: base64\r\n\r\n"
                                   "aGVucnlAZXhhbXBsZS5jb20=\r\n"
                                   "--c--\r\n"
                                   "--b--\r\n"
                                   "--a\r\n\r\nlast part\r\n"
                                   "--a--\r\n.\r\n")};
    play(u, segs, 2, RANDOM, 9, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_TOO_DEEP], 1);
    /* the third level is emitted as it is, its boundaries included */
    assert_true(has_item(u->r, 0,
                         "--c\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                         "aGVucnlAZXhhbXBsZS5jb20=\r\n--c--"));
    assert_true(has_item(u->r, 0, "last part"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_PARTS], 3);
}

static void test_missing_close_boundary(void **state)
{
    run *u = *state;
    /* inner level never closed: the outer boundary closes it; the message
     * ends inside a part: that part is flushed */
    seg segs[] = {C("DATA\r\n"), C("Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
                                   "--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
                                   "--i\r\n\r\ninner text\r\n"
                                   "--o\r\n\r\ntail text\r\n.\r\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_true(has_item(u->r, 0, "inner text"));
    assert_true(has_item(u->r, 0, "tail text"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MIME_PARTS], 3);
}

static void test_bad_boundary(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\n"), C("Content-Type: multipart/mixed\r\n\r\n"
                                   "--x\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
                                   ".\r\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BOUNDARY], 1);
    assert_true(has_item(u->r, 0, "--x\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA"));
    /* a boundary of 71 bytes is refused too */
    seg long_b[] = {C("DATA\r\n"), C("Content-Type: multipart/mixed; boundary="
                                     "\"12345678901234567890123456789012345678901234567890"
                                     "123456789012345678901\"\r\n\r\nbody\r\n.\r\n")};
    play(u, long_b, 2, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BOUNDARY], 1);
    assert_true(has_item(u->r, 0, "body"));
}

static void test_broken_base64(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\n"), C("Content-Transfer-Encoding: base64\r\n\r\n"
                                   "aXZh!!@@bkBl\r\neGFtcGxlLmNvbQ==\r\n.\r\n")};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_BASE64], 1);
    assert_true(has_item(u->r, 0, "ivan@example.com"));
    assert_int_equal(u->r->bad, 0);
}

static void test_bad_quoted_printable(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\n"), C("Content-Transfer-Encoding: Quoted-Printable\r\n\r\n"
                                   "judy=ZZ=40example.com\r\n.\r\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_QP], 1);
    assert_true(has_item(u->r, 0, "judy=ZZ@example.com"));
}

static void test_bad_encoded_word(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\n"), C("Subject: =?utf-8?B?@@@?= and =?utf-8?X?abc?= and "
                                   "=?utf-8?Q?a=4?= =?utf-8?q?ok?=\r\n\r\n.\r\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_BAD_ENCODED_WORD], 3);
    assert_true(has_item(u->r, 0, "=?utf-8?B?@@@?= and =?utf-8?X?abc?= and =?utf-8?Q?a=4?= ok"));
}

static void test_too_many_headers(void **state)
{
    run *u = *state;
    u->lim.max_headers = 3;
    seg segs[] = {C("DATA\r\n"), C("A: 1\r\nB: 2\r\nC: =?utf-8?Q?x?=\r\n"
                                   "D: =?utf-8?Q?y?=\r\nE: 5\r\n"
                                   "Content-Transfer-Encoding: base64\r\n\r\n"
                                   "a2VuQGV4YW1wbGUuY29t\r\n.\r\n")};
    play(u, segs, 2, WHOLE, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_TOO_MANY_HEADERS], 1);
    assert_true(has_item(u->r, 0, "x"));
    assert_true(has_item(u->r, 0, "=?utf-8?Q?y?="));
    /* the encoding past the limit still applies */
    assert_true(has_item(u->r, 0, "ken@example.com"));
}

/* ---- limits ------------------------------------------------------------- */

static void test_header_line_too_long(void **state)
{
    run *u = *state;
    u->lim.max_line = 48;
    seg segs[] = {C("DATA\r\n"),
                  C("X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
                    "X-Folded: short\r\n"
                    "  but the folded rest makes it far too long\r\n"
                    "Subject: kept\r\n\r\nbody\r\n.\r\n")};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_LINE_TOO_LONG], 2);
    assert_false(contains(u->r, 0, "aaaa"));
    assert_false(contains(u->r, 0, "short"));
    assert_true(has_item(u->r, 0, "kept"));
    assert_true(has_item(u->r, 0, "body"));
}

static void test_body_line_too_long(void **state)
{
    run *u = *state;
    /* one base64 line of 48 bytes: counted, still decoded */
    u->lim.max_line = 40;
    seg segs2[] = {C("DATA\r\n"), C("Content-Transfer-Encoding: base64\r\n\r\n"
                                    "bGVvQGV4YW1wbGUuY29tLCBtYWxsb3J5QGV4YW1wbGUuY29t\r\n"
                                    ".\r\n")};
    play(u, segs2, 2, BYTES, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_LINE_TOO_LONG], 1);
    assert_true(has_item(u->r, 0, "leo@example.com, mallory@example.com"));
}

static void test_command_line_too_long(void **state)
{
    run *u = *state;
    u->lim.max_line = 32;
    seg segs[] = {C("MAIL FROM:<a-very-long-local-part@example.com>\r\n"),
                  C("RCPT TO:<nia@example.com>\r\n")};
    play(u, segs, 2, BYTES, 0, NULL);
    assert_int_equal(u->ctr[LW_SMTP_CTR_LINE_TOO_LONG], 1);
    assert_int_equal(count_meta(u->r, LW_META_SMTP_MAIL_FROM), 0);
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "nia@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_COMMANDS], 1);
}

/* ---- gaps --------------------------------------------------------------- */

static void test_gap_command(void **state)
{
    run *u = *state;
    seg segs[] = {C("MAIL FROM:<ol"), C("iver@example.com>\r\nRCPT TO:<pat@example.com>\r\n")};
    bool gaps[] = {false, true};
    play(u, segs, 2, WHOLE, 0, gaps);
    assert_int_equal(u->ctr[LW_SMTP_CTR_GAP], 1);
    assert_int_equal(count_meta(u->r, LW_META_SMTP_MAIL_FROM), 0);
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "pat@example.com"));
}

static void test_gap_in_data(void **state)
{
    run *u = *state;
    seg segs[] = {C("DATA\r\nContent-Transfer-Encoding: base64\r\n\r\ncXVpbm5AZXhh"),
                  C("bXBsZS5jb20=\r\ncm9zYUBleGFtcGxlLmNvbQ==\r\n.\r\n"
                    "RCPT TO:<sam@example.com>\r\n")};
    bool gaps[] = {false, true};
    play(u, segs, 2, RANDOM, 11, gaps);
    assert_int_equal(u->ctr[LW_SMTP_CTR_GAP], 1);
    /* the line cut by the gap is lost; the next line decodes */
    assert_true(has_item(u->r, 0, "rosa@example.com"));
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "sam@example.com"));
    assert_int_equal(u->ctr[LW_SMTP_CTR_MESSAGES], 1);
}

static void test_gap_in_bdat(void **state)
{
    run *u = *state;
    seg segs[] = {C("BDAT 100 LAST\r\nSubject: lost\r\n"),
                  C("rest\r\nRCPT TO:<tom@example.com>\r\n")};
    bool gaps[] = {false, true};
    play(u, segs, 2, WHOLE, 0, gaps);
    assert_int_equal(u->ctr[LW_SMTP_CTR_GAP], 1);
    assert_true(has_item(u->r, 0, "lost"));
    assert_true(has_meta(u->r, LW_META_SMTP_RCPT_TO, "tom@example.com"));
}

static void test_gap_server(void **state)
{
    run *u = *state;
    seg segs[] = {S("220 mx\r\n"), C("STARTTLS\r\n"), S("22"), S("0 ready\r\n220 x\r\n")};
    bool gaps[] = {false, false, false, true};
    play(u, segs, 4, WHOLE, 0, gaps);
    assert_int_equal(u->ctr[LW_SMTP_CTR_GAP], 1);
    /* the cut reply is not read as a code; the next whole one is */
    assert_true(u->encrypted);
}

static void test_counter_names(void **state)
{
    (void)state;
    for (int i = 0; i < LW_SMTP_CTR_MAX; i++) {
        assert_non_null(lw_smtp_counter_names[i]);
        assert_int_equal(strncmp(lw_smtp_counter_names[i], "app.smtp.", 9), 0);
    }
    assert_false(lw_smtp_encrypted(NULL));
    lw_smtp_free(NULL, NULL);
}

static void test_tiny_limits(void **state)
{
    run *u = *state;
    u->lim.max_line = 0;
    u->lim.max_headers = 0;
    u->lim.max_encodings = 0;
    session *x = malloc(sizeof *x);
    assert_non_null(x);
    build_session(x);
    play(u, x->segs, x->n, RANDOM, 2, NULL);
    assert_int_equal(u->r->bad, 0);
    assert_true(u->ctr[LW_SMTP_CTR_LINE_TOO_LONG] > 0);
    free(x);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_session_content),
        T(test_session_split_invariance),
        T(test_server_text_inspected),
        T(test_inspect_false_meta_only),
        T(test_dot_unstuffing),
        T(test_bare_lf_terminator),
        T(test_pipelining_data_without_reply),
        T(test_data_refused),
        T(test_bdat_last),
        T(test_bdat_zero_last_and_rset),
        T(test_bdat_invalid),
        T(test_pipelined_long_line_keeps_data),
        T(test_command_inside_bdat_ends_message),
        T(test_starttls_reply),
        T(test_starttls_tls_record),
        T(test_starttls_refused),
        T(test_auth_plain),
        T(test_auth_login_continuation),
        T(test_auth_plain_bad_base64),
        T(test_message_rfc822_nested),
        T(test_mime_too_deep),
        T(test_missing_close_boundary),
        T(test_bad_boundary),
        T(test_broken_base64),
        T(test_bad_quoted_printable),
        T(test_bad_encoded_word),
        T(test_too_many_headers),
        T(test_header_line_too_long),
        T(test_body_line_too_long),
        T(test_command_line_too_long),
        T(test_gap_command),
        T(test_gap_in_data),
        T(test_gap_in_bdat),
        T(test_gap_server),
        T(test_counter_names),
        T(test_tiny_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
