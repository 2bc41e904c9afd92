/*
 * test_ftp.c - the FTP control channel: every form of data-connection
 * announcement (PORT, EPRT v4/v6, 227, 229) with its invalid variants and
 * the bounce policy, transfer commands as meta, user and file names as
 * content, AUTH TLS, line limits, gaps, and a whole session fed in one
 * piece, byte by byte and in random splits with identical results.
 *
 * Addresses are documentation ranges (RFC 5737, RFC 3849); names use
 * example.org. Values are compared in memory, never printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/ftp.h"

enum { CONTENT_MAX = 4096, ITEMS_MAX = 32, META_MAX = 16, META_LEN = 128, EXP_MAX = 16 };

typedef struct rec {
    uint8_t content[CONTENT_MAX];
    size_t clen;
    size_t item_end[ITEMS_MAX];
    size_t nitems;
    char meta[META_MAX][META_LEN];
    size_t nmeta;
    lw_addr exp_addr[EXP_MAX];
    uint16_t exp_port[EXP_MAX];
    size_t nexp;
    uint64_t ctr[LW_FTP_CTR_MAX];
} rec;

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    rec *r = ctx;
    assert_int_equal(dir, LW_DIR_TOSERVER);
    assert_true(n > 0 && r->clen + n <= CONTENT_MAX);
    memcpy(r->content + r->clen, d, n);
    r->clen += n;
}

static void on_item_end(void *ctx, int dir)
{
    rec *r = ctx;
    assert_int_equal(dir, LW_DIR_TOSERVER);
    assert_true(r->nitems < ITEMS_MAX);
    r->item_end[r->nitems++] = r->clen;
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    rec *r = ctx;
    assert_int_equal(dir, LW_DIR_TOSERVER);
    assert_int_equal(key, LW_META_FTP_COMMAND);
    assert_true(n < META_LEN && r->nmeta < META_MAX);
    memcpy(r->meta[r->nmeta++], v, n);
}

static void on_expect(void *ctx, const lw_addr *a, uint16_t port)
{
    rec *r = ctx;
    assert_true(r->nexp < EXP_MAX);
    r->exp_addr[r->nexp] = *a;
    r->exp_port[r->nexp++] = port;
}

static lw_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    lw_addr x;
    memset(&x, 0, sizeof(x));
    x.family = 4;
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

/* 2001:db8::<last> */
static lw_addr v6(uint8_t last)
{
    lw_addr x;
    memset(&x, 0, sizeof(x));
    x.family = 6;
    x.b[0] = 0x20, x.b[1] = 0x01, x.b[2] = 0x0d, x.b[3] = 0xb8;
    x.b[15] = last;
    return x;
}

typedef struct t_ctx {
    lw_ftp *f;
    rec *r;
    lw_app_sink sink;
} t_ctx;

static t_ctx *ctx_new(uint32_t max_line, lw_addr client, lw_addr server)
{
    t_ctx *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->r = calloc(1, sizeof(*t->r));
    assert_non_null(t->r);
    lw_app_limits lim = {.max_line = max_line};
    t->f = lw_ftp_new(&lim, &client, &server, t->r->ctr);
    assert_non_null(t->f);
    t->sink = (lw_app_sink){on_content, on_item_end, on_meta, t->r};
    return t;
}

static void ctx_free(t_ctx *t)
{
    lw_ftp_free(t->f);
    free(t->r);
    free(t);
}

static void feed(t_ctx *t, int dir, const char *s)
{
    lw_ftp_feed(t->f, dir, (const uint8_t *)s, strlen(s), &t->sink, on_expect, t->r);
}

/* client 192.0.2.10, server 198.51.100.20 */
static t_ctx *v4ctx(void)
{
    return ctx_new(256, v4(192, 0, 2, 10), v4(198, 51, 100, 20));
}

static bool addr_is(const lw_addr *a, lw_addr want)
{
    return memcmp(a, &want, sizeof(want)) == 0;
}

static void item_is(const rec *r, size_t i, const char *want)
{
    size_t start = i == 0 ? 0 : r->item_end[i - 1];
    assert_true(i < r->nitems);
    assert_int_equal(r->item_end[i] - start, strlen(want));
    assert_memory_equal(r->content + start, want, strlen(want));
}

/* ---- active mode -------------------------------------------------------- */

static void test_port(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 0, "PORT 192,0,2,10,19,137\r\n"); /* 19 * 256 + 137 = 5001 */
    assert_int_equal(t->r->nexp, 1);
    assert_true(addr_is(&t->r->exp_addr[0], v4(192, 0, 2, 10)));
    assert_int_equal(t->r->exp_port[0], 5001);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_DATA_ANNOUNCED], 1);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_COMMANDS], 1);
    /* lower-case verb, bare LF, trailing spaces */
    feed(t, 0, "port 192,0,2,10,0,21  \n");
    assert_int_equal(t->r->nexp, 2);
    assert_int_equal(t->r->exp_port[1], 21);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 0);
    ctx_free(t);
}

static void test_port_bounce(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    /* asks the server to connect to a third host's port 25 */
    feed(t, 0, "PORT 203,0,113,5,0,25\r\n");
    assert_int_equal(t->r->nexp, 0);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 1);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_DATA_ANNOUNCED], 0);
    /* the server's own address is not the client's either */
    feed(t, 0, "PORT 198,51,100,20,4,1\r\n");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 2);
    assert_int_equal(t->r->nexp, 0);
    ctx_free(t);
}

static void test_port_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "PORT 192,0,2,10,19\r\n",       /* five numbers */
        "PORT 192,0,2,10,1,2,3\r\n",    /* seven */
        "PORT 192,0,2,10,256,1\r\n",    /* > 255 */
        "PORT 1920,0,2,10,1,1\r\n",     /* four digits */
        "PORT 192,0,2,10,0,0\r\n",      /* port 0 */
        "PORT 192,0,2,10,19,137 x\r\n", /* junk after */
        "PORT 192,0,2,10,,137\r\n",     /* empty number */
        "PORT -192,0,2,10,19,137\r\n",  /* sign */
        "PORT\r\n",                     /* no argument */
    };
    t_ctx *t = v4ctx();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        feed(t, 0, bad[i]);
        assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], i + 1);
    }
    assert_int_equal(t->r->nexp, 0);
    ctx_free(t);
}

static void test_eprt_v4(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 0, "EPRT |1|192.0.2.10|6446|\r\n");
    feed(t, 0, "eprt !1!192.0.2.10!65535!\r\n"); /* any delimiter, top port */
    assert_int_equal(t->r->nexp, 2);
    assert_true(addr_is(&t->r->exp_addr[0], v4(192, 0, 2, 10)));
    assert_int_equal(t->r->exp_port[0], 6446);
    assert_int_equal(t->r->exp_port[1], 65535);
    /* IPv4-mapped IPv6 of the client is the client */
    feed(t, 0, "EPRT |2|::ffff:192.0.2.10|7000|\r\n");
    assert_int_equal(t->r->nexp, 3);
    assert_true(addr_is(&t->r->exp_addr[2], v4(192, 0, 2, 10)));
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 0);
    ctx_free(t);
}

static void test_eprt_v6(void **state)
{
    (void)state;
    t_ctx *t = ctx_new(256, v6(0x10), v6(0x20));
    feed(t, 0, "EPRT |2|2001:db8::10|6446|\r\n");
    assert_int_equal(t->r->nexp, 1);
    assert_true(addr_is(&t->r->exp_addr[0], v6(0x10)));
    assert_int_equal(t->r->exp_port[0], 6446);
    /* bounce to another v6 host, and a v4 address on a v6 session */
    feed(t, 0, "EPRT |2|2001:db8::99|6446|\r\n");
    feed(t, 0, "EPRT |1|192.0.2.10|6446|\r\n");
    assert_int_equal(t->r->nexp, 1);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 2);
    ctx_free(t);
}

static void test_eprt_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "EPRT |1|192.0.2.10|0|\r\n",                   /* port 0 */
        "EPRT |1|192.0.2.10|65536|\r\n",               /* port too big */
        "EPRT |1|192.0.2.10|123456|\r\n",              /* six digits */
        "EPRT |1|192.0.2.10|64a|\r\n",                 /* not a number */
        "EPRT |3|192.0.2.10|6446|\r\n",                /* unknown family */
        "EPRT |1|192.0.2|6446|\r\n",                   /* bad address */
        "EPRT |2|192.0.2.10|6446|\r\n",                /* v4 text as v6 */
        "EPRT |1|192.0.2.10|6446\r\n",                 /* no closing delimiter */
        "EPRT |1|192.0.2.10|6446|x\r\n",               /* junk after */
        "EPRT \0011\001192.0.2.10\0016446\001\r\n",    /* delimiter < 33 */
        "EPRT |2|2001:db8:0:0:0:0:0:0:0:10|6446|\r\n", /* nine groups */
        "EPRT |2|2001:0db8:0000:0000:0000:0000:0000:0000:0000:0010|6446|\r\n", /* too long */
    };
    t_ctx *t = v4ctx();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        feed(t, 0, bad[i]);
        assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], i + 1);
    }
    assert_int_equal(t->r->nexp, 0);
    ctx_free(t);
}

/* ---- passive mode ------------------------------------------------------- */

static void test_pasv_227(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 1, "227 Entering Passive Mode (198,51,100,20,195,80).\r\n"); /* 50000 */
    assert_int_equal(t->r->nexp, 1);
    assert_true(addr_is(&t->r->exp_addr[0], v4(198, 51, 100, 20)));
    assert_int_equal(t->r->exp_port[0], 50000);
    /* without parentheses (RFC 1123 says scan for the numbers) */
    feed(t, 1, "227 Entering Passive Mode 198,51,100,20,195,81\r\n");
    assert_int_equal(t->r->nexp, 2);
    assert_int_equal(t->r->exp_port[1], 50001);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_REPLIES], 2);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 0);
    ctx_free(t);
}

static void test_pasv_227_nat_uses_control_server(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    /* a NAT'd server announces its private address */
    feed(t, 1, "227 Entering Passive Mode (10,0,0,5,195,80)\r\n");
    assert_int_equal(t->r->nexp, 1);
    assert_true(addr_is(&t->r->exp_addr[0], v4(198, 51, 100, 20)));
    assert_int_equal(t->r->exp_port[0], 50000);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 0);
    ctx_free(t);
}

static void test_pasv_227_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "227 Entering Passive Mode\r\n",
        "227 Entering Passive Mode (198,51,100,20,195)\r\n",
        "227 Entering Passive Mode (198,51,100,20,0,0)\r\n", /* port 0 */
        "227 Entering Passive Mode (198,51,100,20,256,0)\r\n",
        "227\r\n",
    };
    t_ctx *t = v4ctx();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        feed(t, 1, bad[i]);
        assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], i + 1);
    }
    assert_int_equal(t->r->nexp, 0);
    /* a continuation line of a multi-line reply is text, not a 227 */
    feed(t, 1, "227-(198,51,100,20,195,80)\r\n");
    assert_int_equal(t->r->nexp, 0);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], 5);
    ctx_free(t);
}

static void test_epsv_229(void **state)
{
    (void)state;
    t_ctx *t = ctx_new(256, v6(0x10), v6(0x20));
    feed(t, 1, "229 Entering Extended Passive Mode (|||6446|)\r\n");
    assert_int_equal(t->r->nexp, 1);
    assert_true(addr_is(&t->r->exp_addr[0], v6(0x20)));
    assert_int_equal(t->r->exp_port[0], 6446);
    static const char *const bad[] = {
        "229 Entering Extended Passive Mode (|||0|)\r\n",
        "229 Entering Extended Passive Mode (|||65536|)\r\n",
        "229 Entering Extended Passive Mode (||6446|)\r\n",
        "229 Entering Extended Passive Mode (|||6446)\r\n",
        "229 Entering Extended Passive Mode (|||6446|\r\n",
        "229 Entering Extended Passive Mode |||6446|\r\n",
        "229 Entering Extended Passive Mode (|!|6446|)\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        feed(t, 1, bad[i]);
        assert_int_equal(t->r->ctr[LW_FTP_CTR_BAD_PORT], i + 1);
    }
    assert_int_equal(t->r->nexp, 1);
    ctx_free(t);
}

/* ---- commands, replies, TLS --------------------------------------------- */

static void test_transfer_commands_meta_and_content(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 0, "STOR customers.csv\r\n");
    feed(t, 0, "retr q3 report.txt\r\n");
    feed(t, 0, "STOU\r\n");
    feed(t, 0, "APPE log.txt\r\n");
    assert_int_equal(t->r->nmeta, 4);
    assert_string_equal(t->r->meta[0], "STOR customers.csv");
    assert_string_equal(t->r->meta[1], "RETR q3 report.txt");
    assert_string_equal(t->r->meta[2], "STOU");
    assert_string_equal(t->r->meta[3], "APPE log.txt");
    assert_int_equal(t->r->nitems, 3);
    item_is(t->r, 0, "customers.csv");
    item_is(t->r, 1, "q3 report.txt");
    item_is(t->r, 2, "log.txt");
    ctx_free(t);
}

static void test_user_is_content_other_commands_not(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 0, "USER jane.roe@example.org\r\n");
    feed(t, 0, "PASS hunter2\r\n");
    feed(t, 0, "CWD /upload\r\n");
    feed(t, 0, "LONGVERB x\r\n");
    feed(t, 0, "\r\n");
    assert_int_equal(t->r->nitems, 1);
    item_is(t->r, 0, "jane.roe@example.org");
    assert_int_equal(t->r->nmeta, 0);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_COMMANDS], 4); /* the empty line is none */
    /* server lines are never content */
    feed(t, 1, "331 Password required for jane.roe@example.org\r\n");
    assert_int_equal(t->r->nitems, 1);
    ctx_free(t);
}

static void test_replies_counted(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 1, "220 FTP ready\r\n");
    feed(t, 1, "230-Welcome\r\n230-more text\r\n230 Logged in\r\n");
    feed(t, 1, "hello\r\n22 short\r\n2200 long\r\n");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_REPLIES], 2);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_COMMANDS], 0);
    ctx_free(t);
}

static void test_auth_tls_stops_parsing(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 0, "AUTH TLS\r\n");
    feed(t, 1, "234 AUTH TLS successful\r\nUSER ignored\r\n");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_AUTH_TLS], 1);
    feed(t, 0, "USER jane.roe@example.org\r\nPORT 192,0,2,10,19,137\r\n");
    assert_int_equal(t->r->nitems, 0);
    assert_int_equal(t->r->nexp, 0);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_COMMANDS], 1);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_REPLIES], 1);
    ctx_free(t);
}

/* ---- lines, splits, gaps ------------------------------------------------ */

static void test_line_limit(void **state)
{
    (void)state;
    t_ctx *t = ctx_new(16, v4(192, 0, 2, 10), v4(198, 51, 100, 20));
    feed(t, 0, "USER 0123456789a\r\n"); /* 16 bytes: fits */
    assert_int_equal(t->r->nitems, 1);
    feed(t, 0, "USER 0123456789ab\r\n"); /* 17: too long */
    feed(t, 0, "USER 0123456789ab\n");   /* 17 without CR */
    assert_int_equal(t->r->ctr[LW_FTP_CTR_LINE_TOO_LONG], 2);
    assert_int_equal(t->r->nitems, 1);
    /* a long line split over feeds counts once, the next line is parsed */
    feed(t, 0, "USER aaaaaaaaaaaaaaaaaaaaaaaa");
    feed(t, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    feed(t, 0, "aaa\r\nUSER b\r\n");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_LINE_TOO_LONG], 3);
    assert_int_equal(t->r->nitems, 2);
    item_is(t->r, 1, "b");
    /* the buffered path: 16 bytes and CR in pieces, then LF */
    feed(t, 0, "USER 0123");
    feed(t, 0, "456789c\r");
    feed(t, 0, "\n");
    assert_int_equal(t->r->nitems, 3);
    item_is(t->r, 2, "0123456789c");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_LINE_TOO_LONG], 3);
    ctx_free(t);
}

static void test_default_line_limit(void **state)
{
    (void)state;
    lw_addr c = v4(192, 0, 2, 10), s = v4(198, 51, 100, 20);
    uint64_t ctr[LW_FTP_CTR_MAX] = {0};
    lw_ftp *f = lw_ftp_new(NULL, &c, &s, ctr);
    assert_non_null(f);
    enum { L = LW_FTP_DEFAULT_LINE + 8 };
    uint8_t *line = malloc(L);
    assert_non_null(line);
    memset(line, 'a', L);
    memcpy(line, "USER ", 5);
    line[L - 1] = '\n';
    lw_ftp_feed(f, 0, line, L, NULL, NULL, NULL);
    assert_int_equal(ctr[LW_FTP_CTR_LINE_TOO_LONG], 1);
    lw_ftp_feed(f, 0, line + L - LW_FTP_DEFAULT_LINE + 1, LW_FTP_DEFAULT_LINE - 1, NULL, NULL,
                NULL);
    assert_int_equal(ctr[LW_FTP_CTR_LINE_TOO_LONG], 1);
    assert_int_equal(ctr[LW_FTP_CTR_COMMANDS], 1);
    free(line);
    lw_ftp_free(f);
}

static void test_gap_skips_to_next_line(void **state)
{
    (void)state;
    t_ctx *t = v4ctx();
    feed(t, 0, "USER ab");
    lw_ftp_gap(t->f, 0);
    feed(t, 0, "cd\r\nUSER x\r\n");
    assert_int_equal(t->r->nitems, 1);
    item_is(t->r, 0, "x");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_COMMANDS], 1); /* "cd" was no line */
    /* what follows a gap may look like a command: still skipped */
    lw_ftp_gap(t->f, 0);
    feed(t, 0, "PORT 192,0,2,10,19,137\r\n");
    assert_int_equal(t->r->nexp, 0);
    assert_int_equal(t->r->ctr[LW_FTP_CTR_COMMANDS], 1);
    /* a gap right after a complete line still loses the next line start */
    lw_ftp_gap(t->f, 0);
    feed(t, 0, "ER y\r\nUSER z\r\n");
    assert_int_equal(t->r->nitems, 2);
    item_is(t->r, 1, "z");
    /* the other direction is not affected */
    feed(t, 1, "220 ready\r\n");
    assert_int_equal(t->r->ctr[LW_FTP_CTR_REPLIES], 1);
    ctx_free(t);
}

static const char *const SESSION[2] = {
    "USER jane.roe@example.org\r\nPASS x\r\nPORT 192,0,2,10,19,137\r\nSTOR a.csv\r\n"
    "EPRT |1|192.0.2.10|6446|\r\nRETR b.txt\r\nPORT 203,0,113,5,0,25\r\n"
    "USER 0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
    "QUIT\r\n",
    "220 ready\r\n331 pass\r\n230-hi\r\n230 in\r\n200 ok\r\n"
    "227 Entering Passive Mode (198,51,100,20,195,80)\r\n"
    "229 Entering Extended Passive Mode (|||6446|)\r\n221 bye\r\n",
};

static void feed_session(t_ctx *t, const size_t *step, size_t nstep)
{
    /* interleave the directions, each in pieces of the given sizes */
    size_t at[2] = {0, 0}, len[2] = {strlen(SESSION[0]), strlen(SESSION[1])};
    for (size_t k = 0; at[0] < len[0] || at[1] < len[1]; k++) {
        int dir = (int)(k % 2);
        size_t n = step[k % nstep];
        if (n > len[dir] - at[dir])
            n = len[dir] - at[dir];
        lw_ftp_feed(t->f, dir, (const uint8_t *)SESSION[dir] + at[dir], n, &t->sink, on_expect,
                    t->r);
        at[dir] += n;
    }
}

/* The two directions' announcements interleave by feeding order; within a
 * direction the order is fixed. Sorting them makes runs comparable. */
static void sort_expects(rec *r)
{
    for (size_t i = 1; i < r->nexp; i++) {
        for (size_t j = i; j > 0; j--) {
            int c = r->exp_port[j - 1] != r->exp_port[j]
                        ? (r->exp_port[j - 1] > r->exp_port[j] ? 1 : -1)
                        : memcmp(&r->exp_addr[j - 1], &r->exp_addr[j], sizeof(lw_addr));
            if (c <= 0)
                break;
            lw_addr a = r->exp_addr[j];
            uint16_t p = r->exp_port[j];
            r->exp_addr[j] = r->exp_addr[j - 1];
            r->exp_port[j] = r->exp_port[j - 1];
            r->exp_addr[j - 1] = a;
            r->exp_port[j - 1] = p;
        }
    }
}

static void test_split_feeding_identical(void **state)
{
    (void)state;
    t_ctx *whole = ctx_new(64, v4(192, 0, 2, 10), v4(198, 51, 100, 20));
    size_t big = 100000;
    feed_session(whole, &big, 1);
    sort_expects(whole->r);
    assert_int_equal(whole->r->nexp, 4);
    assert_int_equal(whole->r->ctr[LW_FTP_CTR_BAD_PORT], 1);
    assert_int_equal(whole->r->ctr[LW_FTP_CTR_LINE_TOO_LONG], 1);
    assert_int_equal(whole->r->nitems, 3);

    size_t one = 1;
    t_ctx *bytes = ctx_new(64, v4(192, 0, 2, 10), v4(198, 51, 100, 20));
    feed_session(bytes, &one, 1);
    sort_expects(bytes->r);
    assert_memory_equal(whole->r, bytes->r, sizeof(rec));
    ctx_free(bytes);

    uint32_t x = 88172645u; /* xorshift32 */
    for (int round = 0; round < 100; round++) {
        size_t steps[16];
        for (size_t i = 0; i < 16; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            steps[i] = 1 + x % 48;
        }
        t_ctx *t = ctx_new(64, v4(192, 0, 2, 10), v4(198, 51, 100, 20));
        feed_session(t, steps, 16);
        sort_expects(t->r);
        assert_memory_equal(whole->r, t->r, sizeof(rec));
        ctx_free(t);
    }
    ctx_free(whole);
}

static void test_counter_names(void **state)
{
    (void)state;
    assert_string_equal(lw_ftp_counter_names[LW_FTP_CTR_BAD_PORT], "app.ftp.invalid_port_argument");
    for (int i = 0; i < LW_FTP_CTR_MAX; i++)
        assert_non_null(lw_ftp_counter_names[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port),
        cmocka_unit_test(test_port_bounce),
        cmocka_unit_test(test_port_malformed),
        cmocka_unit_test(test_eprt_v4),
        cmocka_unit_test(test_eprt_v6),
        cmocka_unit_test(test_eprt_malformed),
        cmocka_unit_test(test_pasv_227),
        cmocka_unit_test(test_pasv_227_nat_uses_control_server),
        cmocka_unit_test(test_pasv_227_malformed),
        cmocka_unit_test(test_epsv_229),
        cmocka_unit_test(test_transfer_commands_meta_and_content),
        cmocka_unit_test(test_user_is_content_other_commands_not),
        cmocka_unit_test(test_replies_counted),
        cmocka_unit_test(test_auth_tls_stops_parsing),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_default_line_limit),
        cmocka_unit_test(test_gap_skips_to_next_line),
        cmocka_unit_test(test_split_feeding_identical),
        cmocka_unit_test(test_counter_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
