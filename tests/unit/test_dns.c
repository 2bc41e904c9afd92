/*
 * test_dns.c - DNS question names: the name parser's limits (pointers,
 * label and name lengths, truncation), the label-payload decoding that
 * finds an email hidden in hex, base32 or base64url labels, registered
 * domains from the Public Suffix List, and TCP framing fed whole, byte by
 * byte and in random splits with identical results.
 *
 * Messages are byte arrays with a comment per field. Found values are
 * compared in memory and never printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/dns.h"

enum { CONTENT_MAX = 8192, ITEMS_MAX = 128, QMAX = 32 };

/* Everything the decoder hands out, in order; compared with memcmp. */
typedef struct rec {
    uint8_t content[CONTENT_MAX];
    size_t clen;
    size_t item_end[ITEMS_MAX]; /* content offset where each item ended */
    size_t nitems;
    char meta[QMAX][LW_DNS_NAME_MAX];
    int meta_dir[QMAX];
    size_t nmeta;
    char qname[QMAX][LW_DNS_NAME_MAX];
    char qrd[QMAX][LW_DNS_NAME_MAX];
    size_t nq;
    uint64_t ctr[LW_DNS_CTR_MAX];
} rec;

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    rec *r = ctx;
    assert_true(dir == 0 || dir == 1);
    assert_true(n > 0 && n < LW_DNS_NAME_MAX);
    assert_true(r->clen + n <= CONTENT_MAX);
    memcpy(r->content + r->clen, d, n);
    r->clen += n;
}

static void on_item_end(void *ctx, int dir)
{
    rec *r = ctx;
    (void)dir;
    assert_true(r->nitems < ITEMS_MAX);
    r->item_end[r->nitems++] = r->clen;
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    rec *r = ctx;
    assert_int_equal(key, LW_META_DNS_QUERY);
    assert_true(n > 0 && n < LW_DNS_NAME_MAX);
    assert_true(r->nmeta < QMAX);
    for (size_t i = 0; i < n; i++)
        assert_true(v[i] >= 0x20 && v[i] <= 0x7e);
    memcpy(r->meta[r->nmeta], v, n);
    r->meta_dir[r->nmeta++] = dir;
}

static void on_question(void *ctx, const char *name, const char *rd)
{
    rec *r = ctx;
    assert_true(r->nq < QMAX);
    assert_true(strlen(name) < LW_DNS_NAME_MAX && strlen(rd) < LW_DNS_NAME_MAX);
    strcpy(r->qname[r->nq], name);
    strcpy(r->qrd[r->nq], rd);
    r->nq++;
}

static rec *rec_new(lw_app_sink *s)
{
    rec *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    s->content = on_content;
    s->item_end = on_item_end;
    s->meta = on_meta;
    s->ctx = r;
    return r;
}

/* Item i of the record, as a slice. */
static const uint8_t *item(const rec *r, size_t i, size_t *len)
{
    size_t start = i == 0 ? 0 : r->item_end[i - 1];
    *len = r->item_end[i] - start;
    return r->content + start;
}

static bool has_item(const rec *r, const char *want)
{
    size_t wl = strlen(want);
    for (size_t i = 0; i < r->nitems; i++) {
        size_t n;
        const uint8_t *d = item(r, i, &n);
        if (n == wl && memcmp(d, want, n) == 0)
            return true;
    }
    return false;
}

static bool run(rec *r, const lw_app_sink *s, const uint8_t *m, size_t len, bool inspect)
{
    return lw_dns_message(m, len, 0, inspect, s, on_question, r, r->ctr);
}

/*
 * Builds a one-question query for a dotted name (labels as given, case
 * kept) into out; returns its length. For the encoding tests, where a byte
 * array would only repeat the name.
 */
static size_t build_query(const char *name, uint8_t *out, size_t cap)
{
    /* clang-format off */
    static const uint8_t hdr[12] = {
        0x12, 0x34, /* id */
        0x01, 0x00, /* flags: RD */
        0x00, 0x01, /* qdcount 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* an, ns, ar */
    };
    /* clang-format on */
    size_t n = sizeof(hdr);
    assert_true(cap > n + strlen(name) + 6);
    memcpy(out, hdr, n);
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        out[n++] = (uint8_t)l;
        memcpy(out + n, p, l);
        n += l;
        p += l;
        if (*p == '.')
            p++;
    }
    out[n++] = 0;
    out[n++] = 0x00; /* qtype A */
    out[n++] = 0x01;
    out[n++] = 0x00; /* qclass IN */
    out[n++] = 0x01;
    return n;
}

static const char EMAIL[] = "john.doe@example.com";

/* ---- names -------------------------------------------------------------- */

static void test_plain_query(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0xab, 0xcd,                          /* id */
        0x01, 0x00,                          /* QR=0 opcode 0 RD */
        0x00, 0x01,                          /* qdcount */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  /* an, ns, ar */
        0x03, 'W', 'w', 'W',                 /* "WwW" */
        0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        0x03, 'c', 'o', 'm',                 /* "com" */
        0x00,                                /* root */
        0x00, 0x01, 0x00, 0x01,              /* A IN */
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_MESSAGES], 1);
    assert_int_equal(r->ctr[LW_DNS_CTR_QUESTIONS], 1);
    assert_int_equal(r->nq, 1);
    assert_string_equal(r->qname[0], "www.example.com");
    assert_string_equal(r->qrd[0], "example.com");
    assert_int_equal(r->nmeta, 1);
    assert_string_equal(r->meta[0], "www.example.com");
    /* one item, the name; nothing decodes ("www" is short) */
    assert_int_equal(r->nitems, 1);
    assert_true(has_item(r, "www.example.com"));
    assert_int_equal(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS], 0);
    free(r);
}

static void test_response_questions_read(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0xab, 0xcd,                          /* id */
        0x81, 0x80,                          /* QR=1 RD RA */
        0x00, 0x01,                          /* qdcount */
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  /* an 1 */
        0x01, 'x', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'o', 'r', 'g', 0x00,
        0x00, 0x01, 0x00, 0x01,              /* A IN */
        0xc0, 0x0c,                          /* answer: name -> offset 12 */
        0x00, 0x01, 0x00, 0x01,              /* A IN */
        0x00, 0x00, 0x00, 0x3c,              /* TTL */
        0x00, 0x04, 192, 0, 2, 1,            /* rdata (never read) */
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->nq, 1);
    assert_string_equal(r->qname[0], "x.example.org");
    assert_int_equal(r->nitems, 1);
    free(r);
}

static void test_backward_pointer_followed(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x01, 0x00,
        0x00, 0x02,                          /* qdcount 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        /* q1 at 12: "a.example.com" */
        0x01, 'a', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm', 0x00,
        0x00, 0x01, 0x00, 0x01,
        /* q2: "b" then pointer to "example.com" at offset 14 */
        0x01, 'b', 0xc0, 0x0e,
        0x00, 0x1c, 0x00, 0x01,              /* AAAA IN */
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), false));
    assert_int_equal(r->nq, 2);
    assert_string_equal(r->qname[1], "b.example.com");
    assert_int_equal(r->ctr[LW_DNS_CTR_TRUNCATED], 0);
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 0);
    free(r);
}

static void test_pointer_loop(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 'a',                           /* offset 12: label "a" */
        0xc0, 0x0c,                          /* offset 14: back to 12, forever */
        0x00, 0x01, 0x00, 0x01,
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_POINTER_LOOP], 1);
    assert_int_equal(r->nq, 0);
    assert_int_equal(r->nmeta, 0);
    assert_int_equal(r->clen, 0);
    free(r);
}

static void test_sixteen_jumps_allowed(void **state)
{
    (void)state;
    /*
     * A chain of pointers, each two bytes before the next, hidden in the
     * type and class fields of earlier questions and ending at "z". The
     * pointer at odd offset o takes (o - 15) / 2 + 1 jumps to reach "z".
     */
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x01, 0x00,
        0x00, 0x08,                          /* qdcount 8 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 'z', 0x00,                     /* 12: q1 name "z" */
        0xc0, 12, 0xc0, 15,                  /* 15, 17: q1 type, class */
        0xc0, 17, 0xc0, 19, 0xc0, 21,        /* 19: q2 (3 jumps); 21, 23 */
        0xc0, 23, 0xc0, 25, 0xc0, 27,        /* 25: q3 (6); 27, 29 */
        0xc0, 29, 0xc0, 31, 0xc0, 33,        /* 31: q4 (9); 33, 35 */
        0xc0, 35, 0xc0, 37, 0xc0, 39,        /* 37: q5 (12); 39, 41 */
        0xc0, 41, 0xc0, 43, 0xc0, 45,        /* 43: q6 (15); 45 (16), 47 (17) */
        0xc0, 43, 0x00, 0x01, 0x00, 0x01,    /* 49: q7 -> 43: 16 jumps, allowed */
        0xc0, 45, 0x00, 0x01, 0x00, 0x01,    /* 55: q8 -> 45: 17 jumps, a loop */
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), false));
    assert_int_equal(r->nq, 7);
    for (size_t i = 0; i < r->nq; i++)
        assert_string_equal(r->qname[i], "z");
    assert_int_equal(r->ctr[LW_DNS_CTR_POINTER_LOOP], 1);
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 0);
    free(r);
}

static void test_forward_and_header_pointers(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t fwd[] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc0, 0x10,                          /* offset 12: pointer to 16, forwards */
        0x00, 0x00,
        0x01, 'a', 0x00,                     /* offset 16 */
    };
    /* clang-format on */
    /* clang-format off */
    const uint8_t self[] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc0, 0x0c,                          /* offset 12: pointer to itself */
        0x00, 0x01, 0x00, 0x01,
    };
    /* clang-format on */
    /* clang-format off */
    const uint8_t hdr[] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 'a', 0xc0, 0x04,               /* pointer into the header */
        0x00, 0x01, 0x00, 0x01,
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, fwd, sizeof(fwd), true));
    assert_true(run(r, &s, self, sizeof(self), true));
    assert_true(run(r, &s, hdr, sizeof(hdr), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 3);
    assert_int_equal(r->ctr[LW_DNS_CTR_POINTER_LOOP], 0);
    assert_int_equal(r->nq, 0);
    free(r);
}

static void test_label_too_long_and_label_types(void **state)
{
    (void)state;
    /* clang-format off */
    uint8_t m[12 + 1 + 64 + 1 + 4] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        64, /* length 64: top bits 01, not a label */
    };
    /* clang-format on */
    memset(m + 13, 'a', 64);
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 1);
    m[12] = 0x80; /* top bits 10 */
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 2);
    m[12] = 63; /* the longest label; the rest of the buffer is the tail */
    m[12 + 1 + 63] = 0x00;
    assert_true(run(r, &s, m, 12 + 1 + 63 + 1 + 4, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 2);
    assert_int_equal(r->nq, 1);
    assert_int_equal(strlen(r->qname[0]), 63);
    free(r);
}

static void test_name_length_limit(void **state)
{
    (void)state;
    char name[300];
    uint8_t m[400];
    lw_app_sink s;
    rec *r = rec_new(&s);

    /* 63+63+63+61 with dots: 253 characters, 255 bytes on the wire */
    memset(name, 'a', 63);
    name[63] = '.';
    memset(name + 64, 'b', 63);
    name[127] = '.';
    memset(name + 128, 'c', 63);
    name[191] = '.';
    memset(name + 192, 'd', 61);
    name[253] = '\0';
    size_t n = build_query(name, m, sizeof(m));
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->nq, 1);
    assert_string_equal(r->qname[0], name);
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 0);

    /* one byte more: 256 on the wire */
    memset(name + 192, 'd', 62);
    name[254] = '\0';
    n = build_query(name, m, sizeof(m));
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->nq, 1);
    assert_int_equal(r->ctr[LW_DNS_CTR_BAD_NAME], 1);
    free(r);
}

static void test_truncated_header(void **state)
{
    (void)state;
    const uint8_t m[] = {0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_false(run(r, &s, m, sizeof(m), true));
    assert_false(run(r, &s, m, 0, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_TRUNCATED], 2);
    assert_int_equal(r->ctr[LW_DNS_CTR_MESSAGES], 0);
    free(r);
}

static void test_truncated_name_and_type(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x04, 'a', 'b', 'c', 'd', 0x03, 'n', 'e', 't', 0x00, /* "abcd.net" */
        0x00, 0x01, 0x00, 0x01,
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    /* cut inside the second label: nothing reported */
    assert_true(run(r, &s, m, 19, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_TRUNCATED], 1);
    assert_int_equal(r->nq, 0);
    /* cut inside qtype: the name was sent, so it is reported */
    assert_true(run(r, &s, m, sizeof(m) - 3, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_TRUNCATED], 2);
    assert_int_equal(r->nq, 1);
    assert_string_equal(r->qname[0], "abcd.net");
    /* whole: no new truncation */
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_TRUNCATED], 2);
    free(r);
}

static void test_qdcount_zero(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x81, 0x80,
        0x00, 0x00,                          /* qdcount 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_MESSAGES], 1);
    assert_int_equal(r->ctr[LW_DNS_CTR_QUESTIONS], 0);
    assert_int_equal(r->nq + r->nmeta + r->clen, 0);
    free(r);
}

static void test_reserved_opcode_not_dns(void **state)
{
    (void)state;
    /* clang-format off */
    uint8_t m[] = {
        0x00, 0x01,
        0x18, 0x00,                          /* opcode 3: unassigned */
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 'a', 0x00, 0x00, 0x01, 0x00, 0x01,
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_false(run(r, &s, m, sizeof(m), true));
    m[2] = 0x78; /* opcode 15 */
    assert_false(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_NOT_DNS], 2);
    m[2] = 0x28; /* opcode 5, UPDATE: its zone section reads as questions */
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->ctr[LW_DNS_CTR_NOT_DNS], 2);
    assert_int_equal(r->nq, 1);
    free(r);
}

static void test_too_many_questions(void **state)
{
    (void)state;
    /* clang-format off */
    uint8_t m[12 + 20 * 7] = {
        0x00, 0x01, 0x01, 0x00,
        0x00, 20,                            /* qdcount 20 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    /* clang-format on */
    for (int i = 0; i < 20; i++) {
        uint8_t *q = m + 12 + i * 7;
        q[0] = 1; /* label "a".."t" */
        q[1] = (uint8_t)('a' + i);
        q[2] = 0;
        q[3] = 0, q[4] = 1, q[5] = 0, q[6] = 1; /* A IN */
    }
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), false));
    assert_int_equal(r->ctr[LW_DNS_CTR_TOO_MANY_QUESTIONS], 1);
    assert_int_equal(r->nq, LW_DNS_MAX_QUESTIONS);
    assert_string_equal(r->qname[15], "p");
    /* sixteen exactly: not counted */
    m[5] = 16;
    assert_true(run(r, &s, m, sizeof(m), false));
    assert_int_equal(r->ctr[LW_DNS_CTR_TOO_MANY_QUESTIONS], 1);
    free(r);
}

static void test_odd_bytes_in_meta_and_content(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 'A', 0x01, 'b',                /* "A\x01b" */
        0x03, 'x', '.', 'y',                 /* a dot inside a label */
        0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm', 0x00,
        0x00, 0x01, 0x00, 0x01,
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_string_equal(r->meta[0], "a?b.x?y.example.com");
    assert_string_equal(r->qname[0], "a?b.x?y.example.com");
    assert_string_equal(r->qrd[0], "example.com");
    /* content keeps the bytes (lower-cased) for the scanner */
    size_t n;
    const uint8_t *d = item(r, 0, &n);
    assert_int_equal(n, 19);
    assert_memory_equal(d,
                        "a\x01"
                        "b.x.y.example.com",
                        19);
    free(r);
}

static void test_root_name(void **state)
{
    (void)state;
    /* clang-format off */
    const uint8_t m[] = {
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,                                /* the root */
        0x00, 0x02, 0x00, 0x01,              /* NS IN: a priming query */
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_int_equal(r->nq, 1);
    assert_string_equal(r->qname[0], ".");
    assert_string_equal(r->qrd[0], "");
    assert_string_equal(r->meta[0], ".");
    assert_int_equal(r->clen, 0);
    assert_int_equal(r->nitems, 0);
    free(r);
}

static void test_inspect_off_gives_meta_only(void **state)
{
    (void)state;
    uint8_t m[300];
    size_t n = build_query("6a6f686e2e646f65406578616d706c652e636f6d.example.net", m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(lw_dns_message(m, n, 1, false, &s, NULL, NULL, r->ctr));
    assert_int_equal(r->nmeta, 1);
    assert_int_equal(r->meta_dir[0], 1);
    assert_int_equal(r->clen, 0);
    assert_int_equal(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS], 0);
    free(r);
}

/* ---- label payloads ----------------------------------------------------- */

static void test_hex_email_across_three_labels(void **state)
{
    (void)state;
    /* "john.doe@example.com" as hex in three labels, then a tag label */
    /* clang-format off */
    const uint8_t m[] = {
        0x77, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        16, '6', 'a', '6', 'f', '6', '8', '6', 'e', '2', 'e', '6', '4', '6', 'f', '6', '5',
        16, '4', '0', '6', '5', '7', '8', '6', '1', '6', 'd', '7', '0', '6', 'c', '6', '5',
        8, '2', 'e', '6', '3', '6', 'f', '6', 'd',
        5, 'e', 'x', 'f', 'i', 'l',
        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
        3, 'n', 'e', 't',
        0,
        0x00, 0x10, 0x00, 0x01,              /* TXT IN */
    };
    /* clang-format on */
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, sizeof(m), true));
    assert_string_equal(r->qrd[0], "example.net");
    assert_true(has_item(r, EMAIL));
    assert_true(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS] >= 1);
    /* the name itself is item 1, then the decodings */
    size_t n;
    const uint8_t *d = item(r, 0, &n);
    const char *name = "6a6f686e2e646f65.406578616d706c65.2e636f6d.exfil.example.net";
    assert_int_equal(n, strlen(name));
    assert_memory_equal(d, name, n);
    assert_true(r->nitems >= 2);
    free(r);
}

static void test_hex_email_in_one_label(void **state)
{
    (void)state;
    uint8_t m[300];
    /* payload "<hex>" "s1" "exfil": the run of all three and of two fail,
     * the label alone decodes */
    size_t n =
        build_query("6A6F686E2E646F65406578616D706C652E636F6D.s1.exfil.example.com", m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, n, true));
    assert_true(has_item(r, EMAIL));
    free(r);
}

static void test_base32_email_across_labels(void **state)
{
    (void)state;
    uint8_t m[300];
    /* RFC 4648 base32 of the email, lower-case, unpadded (32 chars), in
     * two labels, then a sequence label that is not base32 ('1') */
    size_t n = build_query("njxwq3romrxwkqdf.pbqw24dmmuxgg33n.s1.t.example.co.uk", m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, n, true));
    assert_string_equal(r->qrd[0], "example.co.uk");
    assert_true(has_item(r, EMAIL));
    free(r);
}

static void test_base64url_across_labels(void **state)
{
    (void)state;
    uint8_t m[300];
    /* base64url, unpadded, of "mary.sue~1@example.net": has a '-' and
     * mixed case, which the name text lower-cases but the decoder must not */
    size_t n = build_query("bWFyeS5zdWV-MUBl.eGFtcGxlLm5ldA.example.com", m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, n, true));
    assert_true(has_item(r, "mary.sue~1@example.net"));
    size_t len;
    const uint8_t *d = item(r, 0, &len);
    assert_memory_equal(d, "bwfyes5zdwv-mubl.egftcgxllm5lda.example.com", len);
    free(r);
}

static void test_implausible_decodings_dropped(void **state)
{
    (void)state;
    uint8_t m[300];
    /* valid hex of bytes 0x00..0x07: decodes, but is not text */
    size_t n = build_query("0001020304050607.example.com", m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->nitems, 1); /* the name only */
    assert_int_equal(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS], 0);
    /* a short payload is not tried at all: "41424344" is 8, "414243" is 6 */
    n = build_query("414243.example.com", m, sizeof(m));
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS], 0);
    n = build_query("41424344.example.com", m, sizeof(m));
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS], 1);
    assert_true(has_item(r, "ABCD"));
    free(r);
}

static void test_registered_domain_label_not_decoded(void **state)
{
    (void)state;
    uint8_t m[300];
    /* the hex sits in the registered domain: not a payload */
    size_t n = build_query("www.6a6f686e2e646f65.com", m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, n, true));
    assert_string_equal(r->qrd[0], "6a6f686e2e646f65.com");
    assert_int_equal(r->ctr[LW_DNS_CTR_DECODED_PAYLOADS], 0);
    free(r);
}

static void test_decode_tries_capped(void **state)
{
    (void)state;
    char name[256] = "";
    /* 20 labels of 8 bytes that no codec takes: 1 + 18 + 20 tries */
    for (int i = 0; i < 20; i++)
        strcat(name, "!!!!!!!!.");
    strcat(name, "example.com");
    uint8_t m[300];
    size_t n = build_query(name, m, sizeof(m));
    lw_app_sink s;
    rec *r = rec_new(&s);
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_TRIES_CAPPED], 1);
    /* 3 labels: 1 + 1 + 3 tries, under the cap */
    n = build_query("!!!!!!!!.!!!!!!!!.!!!!!!!!.example.com", m, sizeof(m));
    assert_true(run(r, &s, m, n, true));
    assert_int_equal(r->ctr[LW_DNS_CTR_TRIES_CAPPED], 1);
    free(r);
}

/* ---- registered domains ------------------------------------------------- */

static void test_registered_domains(void **state)
{
    (void)state;
    char out[LW_DNS_NAME_MAX];
    assert_int_equal(lw_dns_registered_domain("a.b.example.co.uk", out, sizeof(out)), 13);
    assert_string_equal(out, "example.co.uk");
    assert_int_equal(lw_dns_registered_domain("x.example.com", out, sizeof(out)), 11);
    assert_string_equal(out, "example.com");
    assert_int_equal(lw_dns_registered_domain("X.Example.COM.", out, sizeof(out)), 11);
    assert_string_equal(out, "example.com");
    /* a public suffix alone has none */
    assert_int_equal(lw_dns_registered_domain("co.uk", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(lw_dns_registered_domain("com", out, sizeof(out)), 0);
    assert_int_equal(lw_dns_registered_domain("", out, sizeof(out)), 0);
    assert_int_equal(lw_dns_registered_domain(".", out, sizeof(out)), 0);
    /* does not fit: 0, and out stays a string */
    assert_int_equal(lw_dns_registered_domain("x.example.com", out, 11), 0);
    assert_string_equal(out, "");
    assert_int_equal(lw_dns_registered_domain("x.example.com", out, 12), 11);
}

/* ---- TCP framing -------------------------------------------------------- */

static size_t frame(uint8_t *out, const uint8_t *msg, size_t len)
{
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, msg, len);
    return len + 2;
}

/* Two framed queries back to back: a hex one and a plain one. */
static size_t two_frames(uint8_t *out, size_t cap)
{
    uint8_t m[300];
    size_t n = 0;
    size_t l = build_query("6a6f686e2e646f65406578616d706c652e636f6d.example.net", m, sizeof(m));
    assert_true(n + l + 2 <= cap);
    n += frame(out + n, m, l);
    l = build_query("www.example.org", m, sizeof(m));
    assert_true(n + l + 2 <= cap);
    n += frame(out + n, m, l);
    return n;
}

/* Feeds buf to a fresh framer cut at the given points; the record is r. */
static void feed_cuts(rec *r, const lw_app_sink *s, const uint8_t *buf, size_t len,
                      const size_t *cuts, size_t ncuts)
{
    lw_dns_tcp *t = lw_dns_tcp_new(r->ctr);
    assert_non_null(t);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        lw_dns_tcp_feed(t, 0, buf + at, to - at, true, s, on_question, r);
        at = to;
    }
    lw_dns_tcp_free(t);
}

static void test_tcp_two_messages_one_segment(void **state)
{
    (void)state;
    uint8_t buf[700];
    size_t len = two_frames(buf, sizeof(buf));
    lw_app_sink s;
    rec *r = rec_new(&s);
    feed_cuts(r, &s, buf, len, NULL, 0);
    assert_int_equal(r->ctr[LW_DNS_CTR_MESSAGES], 2);
    assert_int_equal(r->nq, 2);
    assert_string_equal(r->qname[1], "www.example.org");
    assert_true(has_item(r, EMAIL));
    free(r);
}

static void test_tcp_byte_by_byte_and_random_splits_identical(void **state)
{
    (void)state;
    uint8_t buf[700];
    size_t len = two_frames(buf, sizeof(buf));
    lw_app_sink s1, s2;
    rec *whole = rec_new(&s1);
    feed_cuts(whole, &s1, buf, len, NULL, 0);

    size_t cuts[700];
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    rec *bytes = rec_new(&s2);
    feed_cuts(bytes, &s2, buf, len, cuts, len - 1);
    assert_memory_equal(whole, bytes, sizeof(*whole));

    uint32_t x = 2463534242u; /* xorshift32: deterministic random cuts */
    for (int round = 0; round < 50; round++) {
        size_t n = 0, at = 0;
        for (;;) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            at += 1 + x % 40;
            if (at >= len)
                break;
            cuts[n++] = at;
        }
        memset(bytes, 0, sizeof(*bytes));
        feed_cuts(bytes, &s2, buf, len, cuts, n);
        assert_memory_equal(whole, bytes, sizeof(*whole));
    }
    free(whole);
    free(bytes);
}

static void test_tcp_gap_drops_partial(void **state)
{
    (void)state;
    uint8_t buf[700];
    size_t len = two_frames(buf, sizeof(buf));
    size_t first = (size_t)buf[0] << 8 | buf[1];
    lw_app_sink s;
    rec *r = rec_new(&s);
    lw_dns_tcp *t = lw_dns_tcp_new(r->ctr);
    assert_non_null(t);
    lw_dns_tcp_feed(t, 0, buf, 20, true, &s, on_question, r); /* part of frame 1 */
    lw_dns_tcp_gap(t, 0);
    lw_dns_tcp_feed(t, 0, buf + first + 2, len - first - 2, true, &s, on_question, r);
    assert_int_equal(r->nq, 1);
    assert_string_equal(r->qname[0], "www.example.org");
    assert_false(has_item(r, EMAIL));
    /* the other direction is untouched by a gap in this one */
    lw_dns_tcp_feed(t, 1, buf, 20, true, &s, on_question, r);
    lw_dns_tcp_gap(t, 0);
    lw_dns_tcp_feed(t, 1, buf + 20, first + 2 - 20, true, &s, on_question, r);
    assert_int_equal(r->nq, 2);
    lw_dns_tcp_free(t);
    free(r);
}

static void test_tcp_long_message_keeps_questions(void **state)
{
    (void)state;
    /* a 5000-byte response: one question, then padding the framer skips */
    enum { LEN = 5000 };
    uint8_t *buf = calloc(1, LEN + 2 + 64);
    assert_non_null(buf);
    uint8_t m[300];
    size_t l = build_query("x.example.com", m, sizeof(m));
    buf[0] = LEN >> 8;
    buf[1] = LEN & 0xff;
    memcpy(buf + 2, m, l);
    size_t n2 = frame(buf + LEN + 2, m, l); /* a second message after it */
    size_t total = LEN + 2 + n2;

    lw_app_sink s1, s2;
    rec *whole = rec_new(&s1);
    feed_cuts(whole, &s1, buf, total, NULL, 0);
    assert_int_equal(whole->ctr[LW_DNS_CTR_TCP_TOO_LONG], 1);
    assert_int_equal(whole->ctr[LW_DNS_CTR_MESSAGES], 2);
    assert_int_equal(whole->nq, 2);

    size_t cuts[] = {1, 2, 100, LW_DNS_TCP_KEEP + 1, LW_DNS_TCP_KEEP + 2, 4999, LEN + 3};
    rec *split = rec_new(&s2);
    feed_cuts(split, &s2, buf, total, cuts, sizeof(cuts) / sizeof(cuts[0]));
    assert_memory_equal(whole, split, sizeof(*whole));

    /* a message that fits is not counted */
    memset(split, 0, sizeof(*split));
    uint8_t small[320];
    size_t sn = frame(small, m, l);
    feed_cuts(split, &s2, small, sn, NULL, 0);
    assert_int_equal(split->ctr[LW_DNS_CTR_TCP_TOO_LONG], 0);
    free(whole);
    free(split);
    free(buf);
}

static void test_tcp_empty_frame(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x00, 0x00}; /* length 0 */
    lw_app_sink s;
    rec *r = rec_new(&s);
    feed_cuts(r, &s, buf, sizeof(buf), NULL, 0);
    assert_int_equal(r->ctr[LW_DNS_CTR_TRUNCATED], 1);
    assert_int_equal(r->ctr[LW_DNS_CTR_MESSAGES], 0);
    free(r);
}

static void test_counter_names(void **state)
{
    (void)state;
    assert_string_equal(lw_dns_counter_names[LW_DNS_CTR_POINTER_LOOP], "app.dns.pointer_loop");
    assert_string_equal(lw_dns_counter_names[LW_DNS_CTR_TRIES_CAPPED],
                        "app.dns.decode_tries_capped");
    for (int i = 0; i < LW_DNS_CTR_MAX; i++)
        assert_non_null(lw_dns_counter_names[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_query),
        cmocka_unit_test(test_response_questions_read),
        cmocka_unit_test(test_backward_pointer_followed),
        cmocka_unit_test(test_pointer_loop),
        cmocka_unit_test(test_sixteen_jumps_allowed),
        cmocka_unit_test(test_forward_and_header_pointers),
        cmocka_unit_test(test_label_too_long_and_label_types),
        cmocka_unit_test(test_name_length_limit),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_name_and_type),
        cmocka_unit_test(test_qdcount_zero),
        cmocka_unit_test(test_reserved_opcode_not_dns),
        cmocka_unit_test(test_too_many_questions),
        cmocka_unit_test(test_odd_bytes_in_meta_and_content),
        cmocka_unit_test(test_root_name),
        cmocka_unit_test(test_inspect_off_gives_meta_only),
        cmocka_unit_test(test_hex_email_across_three_labels),
        cmocka_unit_test(test_hex_email_in_one_label),
        cmocka_unit_test(test_base32_email_across_labels),
        cmocka_unit_test(test_base64url_across_labels),
        cmocka_unit_test(test_implausible_decodings_dropped),
        cmocka_unit_test(test_registered_domain_label_not_decoded),
        cmocka_unit_test(test_decode_tries_capped),
        cmocka_unit_test(test_registered_domains),
        cmocka_unit_test(test_tcp_two_messages_one_segment),
        cmocka_unit_test(test_tcp_byte_by_byte_and_random_splits_identical),
        cmocka_unit_test(test_tcp_gap_drops_partial),
        cmocka_unit_test(test_tcp_long_message_keeps_questions),
        cmocka_unit_test(test_tcp_empty_frame),
        cmocka_unit_test(test_counter_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
