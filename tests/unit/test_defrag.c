/*
 * test_defrag.c - IPv4 and IPv6 fragment reassembly.
 *
 * Fragments are real raw-IP packets: feed() writes the IP header (and the
 * IPv6 Fragment header) in front of a slice of a datagram, copies the bytes
 * into a heap buffer of exactly the captured size, decodes it with
 * lw_decode() and hands the view to lw_defrag_add(), then frees the buffer
 * at once - AddressSanitizer catches defrag reading past a fragment or
 * keeping a pointer into one. A reassembled datagram is copied out and
 * decoded again as DLT_RAW, as the engine does, and must be a whole packet
 * with the expected header fields and bytes. Every counter has a test that
 * makes it move and one nearby that must leave it alone (except
 * alloc_failed, which would need a failing allocator).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "leakwatch/decode.h"
#include "leakwatch/defrag.h"

#define DLT_RAW_ 12
#define SEC      UINT64_C(1000000)
#define OUT_MAX  (40 + 65535)

typedef struct fixture {
    lw_defrag *d;
    lw_defrag_config cfg;
    uint64_t ctr[LW_DEFRAG_CTR_MAX];
    uint64_t dctr[LW_DECODE_CTR_MAX];
    lw_packet p;   /* the last fragment, as decoded */
    lw_packet out; /* the last reassembled datagram, as decoded */
    uint8_t outbuf[OUT_MAX];
    size_t out_len;
} fixture;

/* What feed() builds in front of a datagram slice. */
typedef struct frag_spec {
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* the fragmented protocol */
    uint32_t id;
    uint8_t src; /* last byte of the source address */
    uint32_t off;
    bool more;
    bool hbh; /* IPv6: a Hop-by-Hop header before the Fragment header */
} frag_spec;

static const lw_defrag_config default_cfg = {
    .max_trains = 8,
    .memcap = 1u << 20,
    .timeout_us = 30 * SEC,
    .max_fragments = 16,
};

static void remake(fixture *f, const lw_defrag_config *cfg)
{
    lw_defrag_free(f->d);
    memset(f->ctr, 0, sizeof f->ctr);
    f->cfg = *cfg;
    f->d = lw_defrag_new(cfg, f->ctr);
    assert_non_null(f->d);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->cfg = default_cfg;
    f->d = lw_defrag_new(&f->cfg, f->ctr);
    if (f->d == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lw_defrag_free(f->d);
    free(f);
    return 0;
}

/* ---- packets ---- */

/* Writes the IP headers for s and n fragment bytes; returns their length. */
static size_t put_headers(uint8_t *b, const frag_spec *s, size_t n)
{
    if (s->family == 4) {
        size_t tot = 20 + n;
        uint16_t fo = (uint16_t)((s->more ? 0x2000 : 0) | (s->off / 8));
        const uint8_t h[20] = {
            0x45,
            0x00,
            (uint8_t)(tot >> 8),
            (uint8_t)tot, /* IHL 5, total length */
            (uint8_t)(s->id >> 8),
            (uint8_t)s->id, /* id */
            (uint8_t)(fo >> 8),
            (uint8_t)fo,
            0x40,
            s->proto, /* MF/offset, TTL, protocol */
            0x00,
            0x00,
            0xc0,
            0x00,
            0x02,
            s->src, /* checksum, 192.0.2.src */
            0xc6,
            0x33,
            0x64,
            0x14, /* 198.51.100.20 */
        };
        memcpy(b, h, 20);
        return 20;
    }
    size_t ext = s->hbh ? 8 : 0;
    size_t plen = ext + 8 + n;
    uint16_t offlg = (uint16_t)(s->off | (s->more ? 1 : 0));
    const uint8_t h[40] = {
        0x60,
        0,
        0,
        0,
        (uint8_t)(plen >> 8),
        (uint8_t)plen, /* version, payload length */
        s->hbh ? 0 : 44,
        64, /* next header, hop limit */
        0x20,
        0x01,
        0x0d,
        0xb8,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        s->src, /* 2001:db8::src */
        0x20,
        0x01,
        0x0d,
        0xb8,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0x02, /* 2001:db8::2 */
    };
    memcpy(b, h, 40);
    if (s->hbh) {
        const uint8_t hbh[8] = {44, 0, 0x01, 0x04, 0, 0, 0, 0}; /* next Fragment, PadN(4) */
        memcpy(b + 40, hbh, 8);
    }
    const uint8_t fh[8] = {
        s->proto,
        0,
        (uint8_t)(offlg >> 8),
        (uint8_t)offlg, /* next, offset/M */
        (uint8_t)(s->id >> 24),
        (uint8_t)(s->id >> 16),
        (uint8_t)(s->id >> 8),
        (uint8_t)s->id,
    };
    memcpy(b + 40 + ext, fh, 8);
    return 48 + ext;
}

/*
 * Builds the fragment carrying data[0..n) with s, keeps its first `keep`
 * bytes of fragment data (a snaplen cut), decodes it and adds it. Returns
 * true when it completed a datagram (then f->outbuf/out_len/out hold it).
 */
static bool feed_cut(fixture *f, const frag_spec *s, const uint8_t *data, size_t n, size_t keep,
                     uint64_t now)
{
    uint8_t hdr[56];
    size_t hl = put_headers(hdr, s, n);
    size_t cap = hl + keep;
    uint8_t *pkt = malloc(cap);
    assert_non_null(pkt);
    memcpy(pkt, hdr, hl);
    if (keep > 0)
        memcpy(pkt + hl, data, keep);

    memset(&f->p, 0, sizeof f->p);
    f->p.ts_us = now;
    f->p.data = pkt;
    f->p.caplen = (uint32_t)cap;
    f->p.wirelen = (uint32_t)(hl + n);
    f->p.linktype = DLT_RAW_;
    assert_int_equal(lw_decode(&f->p, f->dctr), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
    assert_int_equal(f->p.frag_data_len, keep);
    assert_int_equal(f->p.frag_data_wire_len, n);

    size_t len = 0;
    const uint8_t *r = lw_defrag_add(f->d, &f->p, now, &len);
    free(pkt); /* defrag must have copied what it keeps */
    memset(&f->p.frag_data, 0, sizeof f->p.frag_data);

    assert_true(f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES] <= f->cfg.memcap);
    assert_true(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE] <= f->cfg.max_trains);
    if (r == NULL)
        return false;
    assert_true(len <= OUT_MAX);
    memcpy(f->outbuf, r, len);
    f->out_len = len;
    memset(&f->out, 0, sizeof f->out);
    f->out.ts_us = now;
    f->out.data = f->outbuf;
    f->out.caplen = f->out.wirelen = (uint32_t)len;
    f->out.linktype = DLT_RAW_;
    uint64_t dctr[LW_DECODE_CTR_MAX] = {0};
    assert_int_equal(lw_decode(&f->out, dctr), LW_DECODE_OK);
    assert_false(f->out.is_fragment);
    return true;
}

static bool feed(fixture *f, const frag_spec *s, const uint8_t *data, size_t n, uint64_t now)
{
    return feed_cut(f, s, data, n, n, now);
}

/* Feeds the slice [from, to) of dg with spec base at offset `from`. */
static bool feed_slice(fixture *f, frag_spec s, const uint8_t *dg, size_t from, size_t to,
                       bool more, uint64_t now)
{
    s.off = (uint32_t)from;
    s.more = more;
    return feed(f, &s, dg + from, to - from, now);
}

/* UDP 12345 -> 53 with `plen` payload bytes 'a'.. ; returns the length. */
static size_t make_udp(uint8_t *dg, size_t plen)
{
    size_t ulen = 8 + plen;
    const uint8_t h[8] = {0x30, 0x39, 0x00, 0x35, (uint8_t)(ulen >> 8), (uint8_t)ulen, 0, 0};
    memcpy(dg, h, 8);
    for (size_t i = 0; i < plen; i++)
        dg[8 + i] = (uint8_t)('a' + i % 26);
    return ulen;
}

/* TCP 50000 -> 80, PSH|ACK, with `plen` payload bytes 'A'..; returns the length. */
static size_t make_tcp(uint8_t *dg, size_t plen)
{
    const uint8_t h[20] = {
        0xc3, 0x50, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, /* ports, seq */
        0x05, 0x06, 0x07, 0x08, 0x50, 0x18, 0xff, 0xff, /* ack, offset 5, PSH|ACK, window */
        0x00, 0x00, 0x00, 0x00,                         /* checksum, urgent */
    };
    memcpy(dg, h, 20);
    for (size_t i = 0; i < plen; i++)
        dg[20 + i] = (uint8_t)('A' + i % 26);
    return 20 + plen;
}

/* The one's complement sum of an IPv4 header with its checksum is 0xffff. */
static bool ipv4_checksum_ok(const uint8_t *h)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

/* Checks the last output: the rebuilt header for s and exactly dg[0..n). */
static void check_output(const fixture *f, const frag_spec *s, const uint8_t *dg, size_t n)
{
    const uint8_t *o = f->outbuf;
    size_t hl = s->family == 4 ? 20 : 40;
    assert_int_equal(f->out_len, hl + n);
    if (s->family == 4) {
        assert_int_equal(o[0], 0x45);
        assert_int_equal(o[2] << 8 | o[3], 20 + n);
        assert_int_equal(o[4] << 8 | o[5], s->id & 0xffff);
        assert_int_equal(o[6] | o[7], 0); /* not a fragment */
        assert_int_equal(o[8], 64);
        assert_int_equal(o[9], s->proto);
        assert_true(ipv4_checksum_ok(o));
        assert_int_equal(o[15], s->src);
    } else {
        assert_int_equal(o[0], 0x60);
        assert_int_equal(o[4] << 8 | o[5], n);
        assert_int_equal(o[6], s->proto);
        assert_int_equal(o[7], 64);
        assert_int_equal(o[23], s->src);
        assert_int_equal(o[39], 2);
    }
    assert_memory_equal(o + hl, dg, n);
    assert_int_equal(f->out.ip_version, s->family);
    if (s->proto == LW_PROTO_TCP || s->proto == LW_PROTO_UDP)
        assert_int_equal(f->out.proto, s->proto);
}

/* The decoded output is UDP 12345 -> 53 (or TCP 50000 -> 80) with the payload of dg. */
static void check_transport(const fixture *f, const uint8_t *dg, size_t n)
{
    size_t l4 = f->out.proto == LW_PROTO_TCP ? 20 : 8;
    assert_int_equal(f->out.sport, f->out.proto == LW_PROTO_TCP ? 50000 : 12345);
    assert_int_equal(f->out.payload_len, n - l4);
    assert_memory_equal(f->out.payload, dg + l4, n - l4);
}

static void assert_idle(const fixture *f)
{
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 0);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES], 0);
}

static frag_spec spec(uint8_t family, uint8_t proto)
{
    frag_spec s = {family, proto, 0x1234, 10, 0, false, false};
    return s;
}

/* ---- configuration and names ---- */

static void test_counter_names(void **state)
{
    (void)state;
    for (int i = 0; i < LW_DEFRAG_CTR_MAX; i++) {
        assert_non_null(lw_defrag_counter_names[i]);
        assert_int_equal(strncmp(lw_defrag_counter_names[i], "defrag.", 7), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(lw_defrag_counter_names[i], lw_defrag_counter_names[j]);
    }
}

static void test_new_rejects_zero_caps(void **state)
{
    (void)state;
    uint64_t ctr[LW_DEFRAG_CTR_MAX] = {0};
    lw_defrag_config c = default_cfg;
    c.max_trains = 0;
    assert_null(lw_defrag_new(&c, ctr));
    c = default_cfg;
    c.memcap = 0;
    assert_null(lw_defrag_new(&c, ctr));
    c = default_cfg;
    c.timeout_us = 0;
    assert_null(lw_defrag_new(&c, ctr));
    c = default_cfg;
    c.max_fragments = 0;
    assert_null(lw_defrag_new(&c, ctr));
    assert_null(lw_defrag_new(NULL, ctr));
    assert_null(lw_defrag_new(&default_cfg, NULL));
    lw_defrag *d = lw_defrag_new(&default_cfg, ctr);
    assert_non_null(d);
    lw_defrag_free(d);
    lw_defrag_free(NULL);
}

/* ---- whole datagrams ---- */

static void test_v4_udp_in_order_exact_bytes(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40); /* 48 bytes */
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 16, true, 1 * SEC));
    assert_false(feed_slice(f, s, dg, 16, 32, true, 1 * SEC));
    assert_true(feed_slice(f, s, dg, 32, n, false, 1 * SEC));
    /* header computed by hand: checksum 0x7c23 */
    static const uint8_t want[20] = {
        0x45, 0x00, 0x00, 0x44, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11,
        0x7c, 0x23, 0xc0, 0x00, 0x02, 0x0a, 0xc6, 0x33, 0x64, 0x14,
    };
    assert_int_equal(f->out_len, 68);
    assert_memory_equal(f->outbuf, want, 20);
    check_output(f, &s, dg, n);
    check_transport(f, dg, n);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_FRAGMENTS], 3);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_REASSEMBLED], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 0);
    assert_idle(f);
}

/* Next permutation in lexicographic order; false after the last. */
static bool next_perm(size_t *a, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i == 0)
        return false;
    size_t j = n - 1;
    while (a[j] <= a[i - 1])
        j--;
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return true;
}

/* Feeds the fragments cut at `cuts` (nfrag + 1 boundaries) in every order. */
static void all_orders(fixture *f, const frag_spec *base, const uint8_t *dg, const size_t *cuts,
                       size_t nfrag)
{
    size_t order[8];
    for (size_t i = 0; i < nfrag; i++)
        order[i] = i;
    size_t perms = 0;
    do {
        for (size_t k = 0; k < nfrag; k++) {
            size_t i = order[k];
            bool done = feed_slice(f, *base, dg, cuts[i], cuts[i + 1], i + 1 < nfrag,
                                   (uint64_t)(perms * 10 + k) * SEC / 100);
            assert_int_equal(done, k + 1 == nfrag); /* only the last piece completes */
        }
        check_output(f, base, dg, cuts[nfrag]);
        check_transport(f, dg, cuts[nfrag]);
        assert_idle(f);
        perms++;
    } while (next_perm(order, nfrag));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_REASSEMBLED], perms);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 0);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 0);
}

static void test_v4_udp_4_fragments_every_order(void **state)
{
    uint8_t dg[128];
    size_t n = make_udp(dg, 69); /* 77 bytes: the last piece is not a multiple of 8 */
    const size_t cuts[] = {0, 24, 48, 64, n};
    frag_spec s = spec(4, LW_PROTO_UDP);
    all_orders(*state, &s, dg, cuts, 4);
}

static void test_v4_tcp_5_fragments_every_order(void **state)
{
    uint8_t dg[128];
    size_t n = make_tcp(dg, 61); /* 81 bytes */
    const size_t cuts[] = {0, 24, 40, 56, 72, n};
    frag_spec s = spec(4, LW_PROTO_TCP);
    all_orders(*state, &s, dg, cuts, 5);
    fixture *f = *state;
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_REASSEMBLED], 120);
}

static void test_v6_udp_4_fragments_every_order(void **state)
{
    uint8_t dg[128];
    size_t n = make_udp(dg, 69);
    const size_t cuts[] = {0, 24, 48, 64, n};
    frag_spec s = spec(6, LW_PROTO_UDP);
    s.id = 0xcafebabe;
    all_orders(*state, &s, dg, cuts, 4);
}

static void test_v6_tcp_5_fragments_every_order(void **state)
{
    uint8_t dg[128];
    size_t n = make_tcp(dg, 61);
    const size_t cuts[] = {0, 24, 40, 56, 72, n};
    frag_spec s = spec(6, LW_PROTO_TCP);
    all_orders(*state, &s, dg, cuts, 5);
}

static void test_v6_extension_headers(void **state)
{
    fixture *f = *state;
    /* Hop-by-Hop before the Fragment header (unfragmentable: not rebuilt),
     * Destination Options after it (fragmentable: part of the data) */
    uint8_t dg[96];
    const uint8_t dst[8] = {17, 0, 0x01, 0x04, 0, 0, 0, 0}; /* next UDP, PadN(4) */
    memcpy(dg, dst, 8);
    size_t n = 8 + make_udp(dg + 8, 50); /* 66 bytes */
    frag_spec s = spec(6, 60);
    s.hbh = true;
    assert_false(feed_slice(f, s, dg, 0, 32, true, 1));
    assert_int_equal(f->p.frag_proto, 60);
    assert_int_equal(f->p.sport, 12345); /* decode walked on in the first fragment */
    assert_true(feed_slice(f, s, dg, 32, n, false, 2));
    check_output(f, &s, dg, n);
    assert_int_equal(f->out.proto, LW_PROTO_UDP); /* through the Destination Options */
    assert_int_equal(f->out.dport, 53);
    assert_int_equal(f->out.payload_len, 50);
    assert_memory_equal(f->out.payload, dg + 16, 50);
}

static void test_v4_options_not_rebuilt(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 24); /* 32 bytes */
    /* first fragment with 4 bytes of options (NOP x3, EOL) by hand */
    uint8_t pkt[24 + 16] = {
        0x46, 0x00, 0x00, 40,   /* IHL 6, total length 40 */
        0x12, 0x34, 0x20, 0x00, /* id, MF, offset 0 */
        0x40, 17,   0x00, 0x00, /* TTL, UDP, checksum */
        0xc0, 0x00, 0x02, 10,   /* 192.0.2.10 */
        0xc6, 0x33, 0x64, 0x14, /* 198.51.100.20 */
        0x01, 0x01, 0x01, 0x00, /* options */
    };
    memcpy(pkt + 24, dg, 16);
    lw_packet p = {.ts_us = 1, .data = pkt, .caplen = 40, .wirelen = 40, .linktype = DLT_RAW_};
    assert_int_equal(lw_decode(&p, f->dctr), LW_DECODE_OK);
    assert_ptr_equal(p.frag_data, pkt + 24);
    size_t len = 0;
    assert_null(lw_defrag_add(f->d, &p, 1, &len));
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_true(feed_slice(f, s, dg, 16, n, false, 2));
    check_output(f, &s, dg, n); /* IHL 5, the data exactly */
}

/* ---- overlaps ---- */

static void test_duplicate_fragment(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 24, true, 1));
    uint64_t bytes = f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES];
    assert_false(feed_slice(f, s, dg, 0, 24, true, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES], bytes); /* nothing new held */
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH], 0);
    assert_true(feed_slice(f, s, dg, 24, n, false, 3));
    check_output(f, &s, dg, n);
}

static void test_overlap_same_bytes(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(6, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 32, true, 1));
    assert_false(feed_slice(f, s, dg, 16, 40, true, 2)); /* 16 bytes held, 8 new */
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH], 0);
    assert_true(feed_slice(f, s, dg, 40, n, false, 3));
    check_output(f, &s, dg, n);
    check_transport(f, dg, n);
}

static void test_overlap_different_bytes_first_wins(void **state)
{
    fixture *f = *state;
    uint8_t dg[64], evil[64];
    size_t n = make_udp(dg, 40); /* 48 bytes */
    memcpy(evil, dg, sizeof evil);
    memset(evil + 16, 'X', 16); /* another version of bytes 16..31 */
    frag_spec s = spec(4, LW_PROTO_UDP);

    /* honest first: [0,32) honest, then [16,40) evil - the honest bytes stay */
    assert_false(feed_slice(f, s, dg, 0, 32, true, 1));
    assert_false(feed_slice(f, s, evil, 16, 40, true, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH], 1);
    assert_true(feed_slice(f, s, dg, 40, n, false, 3));
    check_output(f, &s, dg, n);

    /* evil first: [16,40) evil, then [0,32) honest - the evil bytes stay */
    s.id = 0x4321;
    assert_false(feed_slice(f, s, evil, 16, 40, true, 4));
    assert_false(feed_slice(f, s, dg, 0, 32, true, 5));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 2);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH], 2);
    assert_true(feed_slice(f, s, dg, 40, n, false, 6));
    check_output(f, &s, evil, n);
    assert_idle(f);
}

static void test_overlap_fills_several_holes(void **state)
{
    fixture *f = *state;
    uint8_t dg[64], other[64];
    size_t n = make_udp(dg, 40); /* 48 bytes */
    memcpy(other, dg, sizeof other);
    memset(other + 8, 'Y', 8);  /* differs where [8,16) is held */
    memset(other + 24, 'Z', 8); /* and where [24,32) is a hole */
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 8, 16, true, 1));
    assert_false(feed_slice(f, s, dg, 32, 40, true, 2));
    /* [0,40): fills [0,8) and [16,32) from `other`, overlaps both pieces */
    assert_false(feed_slice(f, s, other, 0, 40, true, 3));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 1);
    assert_true(feed_slice(f, s, dg, 40, n, false, 4));
    uint8_t want[64];
    memcpy(want, other, sizeof want);
    memcpy(want + 8, dg + 8, 8);    /* held: first copy */
    memcpy(want + 32, dg + 32, 16); /* held, then the last fragment */
    check_output(f, &s, want, n);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH], 1);
    assert_idle(f);
}

static void test_tiny_overlap_attack(void **state)
{
    fixture *f = *state;
    uint8_t dg[64], evil[64];
    size_t n = make_tcp(dg, 28); /* 48 bytes */
    memcpy(evil, dg, sizeof evil);
    evil[13] = 0x01; /* FIN instead of PSH|ACK at offset 13 */
    frag_spec s = spec(4, LW_PROTO_TCP);

    /* alone, before any train: dropped, no train */
    assert_false(feed_slice(f, s, evil, 8, 24, true, 1));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TINY_OVERLAP], 1);
    assert_idle(f);
    /* within a train: dropped, the train goes on with the first header */
    assert_false(feed_slice(f, s, dg, 0, 24, true, 2));
    assert_false(feed_slice(f, s, evil, 8, 24, true, 3));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TINY_OVERLAP], 2);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 0);
    assert_true(feed_slice(f, s, dg, 24, n, false, 4));
    check_output(f, &s, dg, n);
    assert_int_equal(f->out.tcp_flags, 0x18);

    /* IPv6 too */
    s = spec(6, LW_PROTO_TCP);
    assert_false(feed_slice(f, s, evil, 8, 24, true, 5));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TINY_OVERLAP], 3);

    /* offset 16 is past the ports and flags, and UDP has no such rule */
    s = spec(4, LW_PROTO_TCP);
    assert_false(feed_slice(f, s, dg, 16, 24, true, 6));
    s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 8, 24, true, 7));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TINY_OVERLAP], 3);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 2);
}

/* ---- limits ---- */

static void test_too_many_fragments(void **state)
{
    fixture *f = *state;
    lw_defrag_config c = default_cfg;
    c.max_fragments = 4;
    remake(f, &c);
    uint8_t dg[128];
    size_t n = make_udp(dg, 69);
    const size_t cuts[] = {0, 24, 40, 56, 72, n};
    frag_spec s = spec(4, LW_PROTO_UDP);

    /* four fragments: at the cap, completes */
    const size_t four[] = {0, 24, 48, 64, n};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(feed_slice(f, s, dg, four[i], four[i + 1], i < 3, 1), i == 3);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_MANY_FRAGMENTS], 0);

    /* five: the fifth drops the train */
    for (size_t i = 0; i < 5; i++)
        assert_false(feed_slice(f, s, dg, cuts[i], cuts[i + 1], i < 4, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_MANY_FRAGMENTS], 1);
    assert_idle(f);

    /* duplicates count: they cost a walk each */
    for (size_t i = 0; i < 5; i++)
        assert_false(feed_slice(f, s, dg, 0, 24, true, 3));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_MANY_FRAGMENTS], 2);
}

static void test_too_large(void **state)
{
    fixture *f = *state;
    uint8_t z[16] = {0};
    frag_spec s = spec(4, LW_PROTO_UDP);
    s.off = 65512;
    /* IPv4: payload may end at 65515 (20 + 65515 = 65535) */
    assert_false(feed(f, &s, z, 3, 1));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_LARGE], 0);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
    s.id = 0x1111;
    assert_false(feed(f, &s, z, 4, 1)); /* ends at 65516: decode lets it through */
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_LARGE], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
    /* into an existing train: the train goes */
    s.id = 0x1234;
    assert_false(feed(f, &s, z, 4, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_LARGE], 2);
    assert_idle(f);

    /* IPv6: payload may end at 65535; decode stops more, so a view */
    s = spec(6, LW_PROTO_UDP);
    s.off = 65528;
    assert_false(feed(f, &s, z, 7, 3));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_LARGE], 2);
    lw_packet p = f->p;
    p.frag_data = z;
    p.frag_data_len = p.frag_data_wire_len = 8;
    size_t len = 0;
    assert_null(lw_defrag_add(f->d, &p, 4, &len));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TOO_LARGE], 3);
    assert_idle(f);
}

static void test_last_fragments_disagree(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40); /* 48 */
    frag_spec s = spec(4, LW_PROTO_UDP);

    /* the same last fragment twice is a duplicate, not a contradiction */
    assert_false(feed_slice(f, s, dg, 24, n, false, 1));
    assert_false(feed_slice(f, s, dg, 24, n, false, 1));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 0);
    /* a second last fragment ending elsewhere */
    assert_false(feed_slice(f, s, dg, 24, 40, false, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 1);
    assert_idle(f);

    /* data past the known end */
    assert_false(feed_slice(f, s, dg, 24, 40, false, 3));
    assert_false(feed_slice(f, s, dg, 8, 40, true, 3)); /* ends at the end: fine */
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 1);
    assert_false(feed_slice(f, s, dg, 32, n, true, 3));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 2);
    assert_idle(f);

    /* a last fragment ending before bytes already seen */
    assert_false(feed_slice(f, s, dg, 32, n, true, 4));
    assert_false(feed_slice(f, s, dg, 8, 40, false, 4));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 3);
    assert_idle(f);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_REASSEMBLED], 0);
}

static void test_invalid_views(void **state)
{
    fixture *f = *state;
    uint8_t z[16] = {0};
    frag_spec s = spec(6, LW_PROTO_UDP);
    s.off = 16;
    assert_false(feed(f, &s, z, 16, 1));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 0);
    size_t len = 0;
    lw_packet p = f->p;
    p.frag_data = z;
    p.frag_proto = 44; /* a fragmented Fragment header */
    assert_null(lw_defrag_add(f->d, &p, 2, &len));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 1);
    p = f->p;
    p.frag_data = z;
    p.frag_data_len = 16;
    p.frag_data_wire_len = 8; /* captured more than declared */
    assert_null(lw_defrag_add(f->d, &p, 2, &len));
    p.frag_data_wire_len = 16;
    p.frag_data = NULL; /* bytes promised, none given */
    assert_null(lw_defrag_add(f->d, &p, 2, &len));
    p.frag_data = z;
    p.ip_version = 0;
    assert_null(lw_defrag_add(f->d, &p, 2, &len));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_INVALID], 4);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_FRAGMENTS], 5);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1); /* the first one's train */
}

/* ---- time ---- */

static void test_timeout_exact_edge(void **state)
{
    fixture *f = *state;
    lw_defrag_config c = default_cfg;
    c.timeout_us = 1 * SEC;
    remake(f, &c);
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(4, LW_PROTO_UDP);
    uint64_t t0 = 5 * SEC;

    assert_false(feed_slice(f, s, dg, 0, 24, true, t0));
    assert_int_equal(lw_defrag_expire(f->d, t0 + SEC - 1, 10), 0);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
    assert_int_equal(lw_defrag_expire(f->d, t0 + SEC, 10), 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TIMEOUTS], 1);
    assert_idle(f);

    /* the last fragment one microsecond before the edge completes */
    assert_false(feed_slice(f, s, dg, 0, 24, true, t0));
    assert_true(feed_slice(f, s, dg, 24, n, false, t0 + SEC - 1));
    /* at the edge it finds the train expired (without expire being called)
     * and starts a new one */
    assert_false(feed_slice(f, s, dg, 0, 24, true, t0));
    assert_false(feed_slice(f, s, dg, 24, n, false, t0 + SEC));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TIMEOUTS], 2);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_REASSEMBLED], 1);
}

static void test_expire_budget_and_order(void **state)
{
    fixture *f = *state;
    uint8_t z[8] = {0};
    frag_spec s = spec(4, LW_PROTO_UDP);
    s.more = true;
    for (uint32_t i = 0; i < 3; i++) {
        s.id = i;
        assert_false(feed(f, &s, z, 8, (1 + i) * SEC));
    }
    /* at 32 s the first two (1 s, 2 s) are 30 s old */
    assert_int_equal(lw_defrag_expire(f->d, 32 * SEC, 1), 1);
    assert_int_equal(lw_defrag_expire(f->d, 32 * SEC, 0), 0);
    assert_int_equal(lw_defrag_expire(f->d, 32 * SEC, 10), 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
    assert_int_equal(lw_defrag_expire(f->d, 33 * SEC, 10), 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TIMEOUTS], 3);
    assert_idle(f);
}

static void test_time_going_backwards(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 24, true, 100 * SEC));
    /* an earlier packet time neither wraps around to "very old" ... */
    assert_int_equal(lw_defrag_expire(f->d, 1, 10), 0);
    assert_true(feed_slice(f, s, dg, 24, n, false, 1));
    /* ... nor makes an older train expire early: a train created at 100 s
     * ahead of one created at 50 s holds the younger one back (late, never
     * early), and both go once both are old */
    s.id = 1;
    assert_false(feed_slice(f, s, dg, 0, 24, true, 100 * SEC));
    s.id = 2;
    assert_false(feed_slice(f, s, dg, 0, 24, true, 50 * SEC));
    assert_int_equal(lw_defrag_expire(f->d, 81 * SEC, 10), 0);
    assert_int_equal(lw_defrag_expire(f->d, 130 * SEC, 10), 2);
    assert_idle(f);
}

static void test_never_completed_frees_memory(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(6, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 24, true, SEC));
    assert_false(feed_slice(f, s, dg, 32, n, false, SEC)); /* [24,32) never comes */
    assert_true(f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES] >= n - 8);
    assert_int_equal(lw_defrag_expire(f->d, 31 * SEC, 10), 1);
    assert_idle(f);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_REASSEMBLED], 0);
}

static void test_snaplen_cut_fragment(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40); /* 48 */
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 24, true, 1));
    s.off = 24;
    /* the last fragment cut by the snaplen after 10 of 24 bytes: the end is
     * known, the bytes are not */
    assert_false(feed_cut(f, &s, dg + 24, n - 24, 10, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
    /* a whole copy fills the hole (and repeats the 10 bytes) */
    assert_true(feed(f, &s, dg + 24, n - 24, 3));
    check_output(f, &s, dg, n);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH], 0);
    assert_idle(f);
}

/* ---- trains ---- */

static void test_max_trains_evicts_oldest(void **state)
{
    fixture *f = *state;
    lw_defrag_config c = default_cfg;
    c.max_trains = 3;
    remake(f, &c);
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(4, LW_PROTO_UDP);
    for (uint32_t id = 1; id <= 3; id++) { /* A, B, C at 1, 2, 3 s */
        s.id = id;
        assert_false(feed_slice(f, s, dg, 0, 24, true, id * SEC));
    }
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 0);
    s.id = 4; /* D evicts A */
    assert_false(feed_slice(f, s, dg, 0, 24, true, 4 * SEC));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 3);
    s.id = 2; /* B is still there */
    assert_true(feed_slice(f, s, dg, 24, n, false, 5 * SEC));
    s.id = 1; /* A is not: its end starts a new train, no eviction (2 + 1) */
    assert_false(feed_slice(f, s, dg, 24, n, false, 6 * SEC));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 1);
    s.id = 5; /* E evicts C, the oldest now */
    assert_false(feed_slice(f, s, dg, 0, 24, true, 7 * SEC));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 2);
    s.id = 3;
    assert_false(feed_slice(f, s, dg, 24, n, false, 8 * SEC)); /* C is gone: evicts D */
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 3);
    s.id = 1;
    assert_true(feed_slice(f, s, dg, 0, 24, true, 9 * SEC)); /* A' completes */
}

static void test_memcap(void **state)
{
    fixture *f = *state;
    uint8_t dg[1200];
    size_t n = make_udp(dg, 1100);
    frag_spec s = spec(4, LW_PROTO_UDP);
    /* learn what one 1000-byte first fragment costs */
    assert_false(feed_slice(f, s, dg, 0, 1000, true, 1));
    uint64_t one = f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES];
    assert_true(one > 1000);

    /* a cap of exactly that: it fits */
    lw_defrag_config c = default_cfg;
    c.memcap = one;
    remake(f, &c);
    assert_false(feed_slice(f, s, dg, 0, 1000, true, 1));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES], one);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_MEMCAP], 0);
    /* one byte less: it does not */
    c.memcap = one - 1;
    remake(f, &c);
    assert_false(feed_slice(f, s, dg, 0, 1000, true, 1));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_MEMCAP], 1);
    assert_idle(f);

    /* room for two such trains, not three: the third evicts the oldest, so
     * never-completed trains cannot block new ones; the newest completes */
    c.memcap = 2 * one + 500;
    remake(f, &c);
    for (uint32_t id = 1; id <= 3; id++) {
        s.id = id;
        assert_false(feed_slice(f, s, dg, 0, 1000, true, id));
    }
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_MEMCAP], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 1);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 2);
    assert_true(f->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES] <= c.memcap);
    s.id = 3;
    assert_true(feed_slice(f, s, dg, 1000, n, false, 4));
    check_output(f, &s, dg, n);
    /* train 1 was the one evicted: its last fragment completes nothing */
    s.id = 1;
    assert_false(feed_slice(f, s, dg, 1000, n, false, 5));
    assert_int_equal(lw_defrag_expire(f->d, 60 * SEC, 10), 2);
    assert_idle(f);
}

static void test_same_id_separate_trains(void **state)
{
    fixture *f = *state;
    uint8_t udp[64], tcp[64];
    size_t nu = make_udp(udp, 40);
    size_t nt = make_tcp(tcp, 28);
    /* one id; the protocol, the source or the family differs */
    frag_spec specs[4] = {spec(4, LW_PROTO_UDP), spec(4, LW_PROTO_TCP), spec(4, LW_PROTO_UDP),
                          spec(6, LW_PROTO_UDP)};
    specs[2].src = 11;
    for (size_t i = 0; i < 4; i++) {
        const uint8_t *dg = specs[i].proto == LW_PROTO_TCP ? tcp : udp;
        assert_false(feed_slice(f, specs[i], dg, 0, 24, true, 1));
    }
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 4);
    for (size_t i = 4; i-- > 0;) {
        const uint8_t *dg = specs[i].proto == LW_PROTO_TCP ? tcp : udp;
        size_t n = specs[i].proto == LW_PROTO_TCP ? nt : nu;
        assert_true(feed_slice(f, specs[i], dg, 24, n, false, 2));
        check_output(f, &specs[i], dg, n);
        check_transport(f, dg, n);
        assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], i);
    }
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 0);
    assert_idle(f);
}

/* With two buckets, keys that differ only in protocol or source share a
 * chain half the time: over 32 ids, chains of two trains are walked and
 * each fragment must still find its own train. */
static void test_separate_trains_in_one_bucket(void **state)
{
    fixture *f = *state;
    lw_defrag_config c = default_cfg;
    c.max_trains = 2;
    remake(f, &c);
    uint8_t udp[64], tcp[64];
    size_t nu = make_udp(udp, 40);
    size_t nt = make_tcp(tcp, 28);
    for (uint32_t id = 0; id < 32; id++) {
        frag_spec a = spec(4, LW_PROTO_UDP);
        frag_spec b = spec(4, LW_PROTO_TCP);
        a.id = b.id = id;
        assert_false(feed_slice(f, a, udp, 0, 24, true, 1));
        assert_false(feed_slice(f, b, tcp, 0, 24, true, 1));
        assert_true(feed_slice(f, b, tcp, 24, nt, false, 1));
        check_output(f, &b, tcp, nt);
        assert_true(feed_slice(f, a, udp, 24, nu, false, 1));
        check_output(f, &a, udp, nu);
        b = a;
        b.src = 11;
        assert_false(feed_slice(f, a, udp, 0, 24, true, 1));
        assert_false(feed_slice(f, b, udp, 0, 24, true, 1));
        assert_true(feed_slice(f, b, udp, 24, nu, false, 1));
        check_output(f, &b, udp, nu);
        assert_true(feed_slice(f, a, udp, 24, nu, false, 1));
        check_output(f, &a, udp, nu);
    }
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_OVERLAP], 0);
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_EVICTED], 0);
    assert_idle(f);
}

static void test_other_destination_separate(void **state)
{
    fixture *f = *state;
    uint8_t dg[64];
    size_t n = make_udp(dg, 40);
    frag_spec s = spec(4, LW_PROTO_UDP);
    assert_false(feed_slice(f, s, dg, 0, 24, true, 1));
    /* the same fragment with another destination, as a view */
    lw_packet p = f->p;
    uint8_t other[24];
    memcpy(other, dg, 24);
    p.frag_data = other;
    p.dst.b[3] = 99;
    size_t len = 0;
    assert_null(lw_defrag_add(f->d, &p, 1, &len));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 2);
    assert_true(feed_slice(f, s, dg, 24, n, false, 2));
    assert_int_equal(f->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE], 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_counter_names),
        T(test_new_rejects_zero_caps),
        T(test_v4_udp_in_order_exact_bytes),
        T(test_v4_udp_4_fragments_every_order),
        T(test_v4_tcp_5_fragments_every_order),
        T(test_v6_udp_4_fragments_every_order),
        T(test_v6_tcp_5_fragments_every_order),
        T(test_v6_extension_headers),
        T(test_v4_options_not_rebuilt),
        T(test_duplicate_fragment),
        T(test_overlap_same_bytes),
        T(test_overlap_different_bytes_first_wins),
        T(test_overlap_fills_several_holes),
        T(test_tiny_overlap_attack),
        T(test_too_many_fragments),
        T(test_too_large),
        T(test_last_fragments_disagree),
        T(test_invalid_views),
        T(test_timeout_exact_edge),
        T(test_expire_budget_and_order),
        T(test_time_going_backwards),
        T(test_never_completed_frees_memory),
        T(test_snaplen_cut_fragment),
        T(test_max_trains_evicts_oldest),
        T(test_memcap),
        T(test_same_id_separate_trains),
        T(test_separate_trains_in_one_bucket),
        T(test_other_destination_separate),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
