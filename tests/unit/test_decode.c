/*
 * test_decode.c - link, network and transport decoding of single packets.
 *
 * Every packet is a byte array with a comment per field (repeated headers
 * through the macros below, each documented once). Every decode goes
 * through run(), which copies the bytes into a heap buffer of exactly the
 * captured length (so AddressSanitizer catches any read past caplen) and
 * checks the invariants that hold for every packet: decode.pkts and
 * decode.bytes counted, exactly one drop counter on a drop and none on
 * success, and a payload that lies inside the capture and is no longer than
 * declared. Each drop counter has at least one test that makes it fire;
 * the cut tests decode each packet at every snaplen from 0 to its full
 * length and check which layer reports the truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "leakwatch/decode.h"

enum {
    DLT_NULL_ = 0,
    DLT_EN10MB_ = 1,
    DLT_RAW_ = 12,
    LINKTYPE_RAW_ = 101,
    DLT_LOOP_ = 108,
    DLT_SLL_ = 113,
    DLT_IPV4_ = 228,
    DLT_IPV6_ = 229,
    DLT_SLL2_ = 276,
};

/* Ethernet II: destination MAC, source MAC, then the Ethertype (t0 t1). */
#define ETH(t0, t1)                                                                                \
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, (t0), (t1)

/* IPv4 header, IHL 5: version/IHL, TOS, total length, id 0x1234, flags and
 * fragment offset (fo), TTL 64, protocol, checksum (not checked),
 * source 192.0.2.10, destination 198.51.100.20. */
#define IP4(len, fo, proto)                                                                        \
    0x45, 0x00, ((len) >> 8) & 0xff, (len)&0xff, 0x12, 0x34, ((fo) >> 8) & 0xff, (fo)&0xff, 0x40,  \
        (proto), 0x00, 0x00, 0xc0, 0x00, 0x02, 0x0a, 0xc6, 0x33, 0x64, 0x14

/* IPv6 header: version 6/traffic class/flow label, payload length, next
 * header, hop limit 64, source 2001:db8::1, destination 2001:db8::2. */
#define IP6(plen, nh)                                                                              \
    0x60, 0x00, 0x00, 0x00, ((plen) >> 8) & 0xff, (plen)&0xff, (nh), 0x40, 0x20, 0x01, 0x0d, 0xb8, \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,  \
        0, 0, 0x02

/* TCP header: sport 50000, dport 80, seq 0x01020304, ack 0x05060708, data
 * offset (words), flags, window 0xffff, checksum 0, urgent 0. */
#define TCPH(off, flags)                                                                           \
    0xc3, 0x50, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, ((off) << 4) & 0xff,   \
        (flags), 0xff, 0xff, 0x00, 0x00, 0x00, 0x00

/* UDP header: sport 12345, dport 53, length, checksum 0. */
#define UDPH(len) 0x30, 0x39, 0x00, 0x35, ((len) >> 8) & 0xff, (len)&0xff, 0x00, 0x00

/* A generic 8-byte IPv6 extension header: next header, length 0, PadN(4). */
#define EXT8(nh) (nh), 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00

/* IPv6 Fragment header: next header, reserved, offset/flags word, id. */
#define FRAG6(nh, offlg) (nh), 0x00, ((offlg) >> 8) & 0xff, (offlg)&0xff, 0xca, 0xfe, 0xba, 0xbe

typedef struct fixture {
    lw_packet p;
    uint64_t ctr[LW_DECODE_CTR_MAX];
    uint8_t *buf; /* the exact-size copy the last packet was decoded from */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->buf);
    free(f);
    return 0;
}

static uint64_t drops(const fixture *f)
{
    uint64_t n = 0;
    for (int i = 0; i < LW_DECODE_CTR_MAX; i++) {
        if (lw_decode_counter_is_drop((enum lw_decode_counter)i))
            n += f->ctr[i];
    }
    return n;
}

/* Decodes caplen bytes of pkt (wirelen on the wire) with fresh counters. */
static lw_decode_result run(fixture *f, int linktype, const uint8_t *pkt, size_t caplen,
                            size_t wirelen)
{
    free(f->buf);
    f->buf = malloc(caplen > 0 ? caplen : 1);
    assert_non_null(f->buf);
    if (caplen > 0)
        memcpy(f->buf, pkt, caplen);
    memset(f->ctr, 0, sizeof f->ctr);
    memset(&f->p, 0xA5, sizeof f->p); /* garbage a previous packet might leave */
    f->p.ts_us = 1;
    f->p.data = f->buf;
    f->p.caplen = (uint32_t)caplen;
    f->p.wirelen = (uint32_t)wirelen;
    f->p.linktype = linktype;

    lw_decode_result r = lw_decode(&f->p, f->ctr);

    assert_int_equal(f->ctr[LW_DECODE_CTR_PKTS], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_BYTES], caplen);
    assert_int_equal(drops(f), r == LW_DECODE_OK ? 0 : 1);
    assert_true(f->p.payload_len <= f->p.payload_wire_len);
    if (f->p.payload != NULL) {
        assert_true(f->p.payload >= f->buf);
        assert_true(f->p.payload + f->p.payload_len <= f->buf + caplen);
    } else {
        assert_int_equal(f->p.payload_len, 0);
    }
    return r;
}

static lw_decode_result run_all(fixture *f, int linktype, const uint8_t *pkt, size_t len)
{
    return run(f, linktype, pkt, len, len);
}

static void expect_drop(fixture *f, lw_decode_result r, lw_decode_result want,
                        enum lw_decode_counter ctr)
{
    assert_int_equal(r, want);
    assert_int_equal(f->ctr[ctr], 1);
}

static size_t payload_off(const fixture *f)
{
    return (size_t)(f->p.payload - f->buf);
}

/* The fragment fields: protocol, where the data starts in the capture, and
 * its captured and declared lengths. */
static void check_frag(const fixture *f, uint8_t proto, size_t off, uint32_t len, uint32_t wire)
{
    assert_true(f->p.is_fragment);
    assert_int_equal(f->p.frag_proto, proto);
    assert_int_equal(f->p.frag_data_len, len);
    assert_int_equal(f->p.frag_data_wire_len, wire);
    if (len > 0)
        assert_ptr_equal(f->p.frag_data, f->buf + off);
    else
        assert_null(f->p.frag_data);
}

/* Cut profile: for caplen below `below`, the drop is `ctr` (truncated). */
struct cut {
    size_t below;
    enum lw_decode_counter ctr;
};

/* Decodes pkt at every snaplen 0..len (wire length len): each cut inside a
 * header is that layer's truncation; past the last header the packet is OK
 * with the payload it captured and the full declared length. */
static void check_cuts(fixture *f, int linktype, const uint8_t *pkt, size_t len,
                       const struct cut *cuts, size_t ncuts, uint32_t payload_wire_len)
{
    for (size_t cap = 0; cap <= len; cap++) {
        lw_decode_result r = run(f, linktype, pkt, cap, len);
        size_t i = 0;
        while (i < ncuts && cap >= cuts[i].below)
            i++;
        if (i < ncuts) {
            if (r != LW_DECODE_TRUNCATED || f->ctr[cuts[i].ctr] != 1)
                fail_msg("caplen %zu: result %d, want truncation counter %s", cap, (int)r,
                         lw_decode_counter_names[cuts[i].ctr]);
        } else {
            assert_int_equal(r, LW_DECODE_OK);
            assert_int_equal(f->p.payload_wire_len, payload_wire_len);
            assert_int_equal(f->p.payload_len, cap - cuts[ncuts - 1].below < payload_wire_len
                                                   ? cap - cuts[ncuts - 1].below
                                                   : payload_wire_len);
        }
    }
}

/* ---- reference packets ---- */

/* Ethernet / IPv4 / TCP with 5 bytes of payload: 59 bytes. */
/* clang-format off */
static const uint8_t eth_ipv4_tcp[] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, /* Ethernet destination */
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, /* Ethernet source */
    0x08, 0x00,                         /* Ethertype IPv4 */
    0x45, 0x00,                         /* IPv4, IHL 5; TOS 0 */
    0x00, 0x2d,                         /* total length 45 */
    0x12, 0x34,                         /* id */
    0x40, 0x00,                         /* DF, fragment offset 0 */
    0x40, 0x06,                         /* TTL 64, protocol TCP */
    0x00, 0x00,                         /* header checksum (not checked) */
    0xc0, 0x00, 0x02, 0x0a,             /* source 192.0.2.10 */
    0xc6, 0x33, 0x64, 0x14,             /* destination 198.51.100.20 */
    0xc3, 0x50,                         /* TCP source port 50000 */
    0x00, 0x50,                         /* destination port 80 */
    0x01, 0x02, 0x03, 0x04,             /* sequence number */
    0x05, 0x06, 0x07, 0x08,             /* acknowledgement number */
    0x50, 0x18,                         /* data offset 5; PSH|ACK */
    0xff, 0xff,                         /* window */
    0x00, 0x00,                         /* checksum */
    0x00, 0x00,                         /* urgent pointer */
    'h', 'e', 'l', 'l', 'o',            /* payload */
};
/* clang-format on */

/* Ethernet / 802.1Q VID 100 / IPv6 / UDP with 3 bytes of payload: 69 bytes. */
/* clang-format off */
static const uint8_t eth_vlan_ipv6_udp[] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,             /* Ethernet destination */
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,             /* Ethernet source */
    0x81, 0x00,                                     /* Ethertype 802.1Q */
    0x00, 0x64,                                     /* TCI: PCP 0, DEI 0, VID 100 */
    0x86, 0xdd,                                     /* inner Ethertype IPv6 */
    0x60, 0x00, 0x00, 0x00,                         /* version 6, TC 0, flow label 0 */
    0x00, 0x0b,                                     /* payload length 11 */
    0x11, 0x40,                                     /* next header UDP, hop limit 64 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* source 2001:db8::1 */
    0, 0, 0, 0x01,                                  /* (source, continued) */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, /* destination 2001:db8::2 */
    0, 0, 0, 0x02,                                  /* (destination, continued) */
    0x30, 0x39,                                     /* UDP source port 12345 */
    0x00, 0x35,                                     /* destination port 53 */
    0x00, 0x0b,                                     /* length 11 */
    0x00, 0x00,                                     /* checksum */
    'a', 'b', 'c',                                  /* payload */
};
/* clang-format on */

/* Ethernet / IPv4 / UDP with 2 bytes of payload, padded to the 60-byte
 * Ethernet minimum: the 16 pad bytes are not payload. */
/* clang-format off */
static const uint8_t eth_ipv4_udp_padded[] = {
    ETH(0x08, 0x00),                                /* Ethernet, IPv4 */
    IP4(30, 0, 17),                                 /* total length 30, UDP */
    UDPH(10),                                       /* UDP length 10 */
    'h', 'i',                                       /* payload */
    0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, /* Ethernet padding */
    0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, /* Ethernet padding */
};
/* clang-format on */

/* ---- counter names and helpers ---- */

static void test_counter_names_are_dotted_and_unique(void **state)
{
    (void)state;
    for (int i = 0; i < LW_DECODE_CTR_MAX; i++) {
        const char *n = lw_decode_counter_names[i];
        assert_non_null(n);
        assert_int_equal(strncmp(n, "decode.", 7), 0);
        assert_null(strchr(n, ' '));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, lw_decode_counter_names[j]);
    }
    assert_string_equal(lw_decode_counter_names[LW_DECODE_CTR_IPV4_TRUNCATED],
                        "decode.ipv4.truncated");
}

static void test_counter_drop_classes(void **state)
{
    (void)state;
    assert_false(lw_decode_counter_is_drop(LW_DECODE_CTR_PKTS));
    assert_false(lw_decode_counter_is_drop(LW_DECODE_CTR_BYTES));
    assert_false(lw_decode_counter_is_drop(LW_DECODE_CTR_TCP));
    assert_false(lw_decode_counter_is_drop(LW_DECODE_CTR_IPV6_FRAGMENT));
    assert_false(lw_decode_counter_is_drop(LW_DECODE_CTR_TCP_INVALID_OPTIONS));
    assert_true(lw_decode_counter_is_drop(LW_DECODE_CTR_ETH_TRUNCATED));
    assert_true(lw_decode_counter_is_drop(LW_DECODE_CTR_L4_UNSUPPORTED));
    assert_true(lw_decode_counter_is_drop(LW_DECODE_CTR_VLAN_TOO_DEEP));
}

static void test_linktype_supported(void **state)
{
    (void)state;
    static const int yes[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(lw_decode_linktype_supported(yes[i]));
    assert_false(lw_decode_linktype_supported(-1));
    assert_false(lw_decode_linktype_supported(105)); /* 802.11 */
    assert_false(lw_decode_linktype_supported(127)); /* radiotap */
    assert_false(lw_decode_linktype_supported(147)); /* USER0 */
    assert_false(lw_decode_linktype_supported(0x800));
}

/* ---- Ethernet, IPv4, TCP ---- */

static void test_eth_ipv4_tcp_fields(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_EN10MB_, eth_ipv4_tcp, sizeof eth_ipv4_tcp), LW_DECODE_OK);
    const lw_packet *p = &f->p;
    static const uint8_t src[16] = {192, 0, 2, 10}, dst[16] = {198, 51, 100, 20};
    assert_int_equal(p->ip_version, 4);
    assert_int_equal(p->proto, LW_PROTO_TCP);
    assert_int_equal(p->src.family, 4);
    assert_memory_equal(p->src.b, src, 16); /* b[4..15] zero */
    assert_int_equal(p->dst.family, 4);
    assert_memory_equal(p->dst.b, dst, 16);
    assert_int_equal(p->sport, 50000);
    assert_int_equal(p->dport, 80);
    assert_int_equal(p->tcp_seq, 0x01020304u);
    assert_int_equal(p->tcp_ack, 0x05060708u);
    assert_int_equal(p->tcp_flags, LW_TCP_PSH | LW_TCP_ACK);
    assert_int_equal(p->payload_len, 5);
    assert_int_equal(p->payload_wire_len, 5);
    assert_int_equal(payload_off(f), 54);
    assert_false(p->is_fragment);
    assert_int_equal(p->vlan_count, 0);
    assert_int_equal(p->vlan[0], 0);
    assert_int_equal(p->ts_us, 1); /* capture fields untouched */
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV4], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_UDP], 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV6], 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_VLAN], 0);
}

static void test_eth_ipv4_tcp_cuts_snapped(void **state)
{
    static const struct cut cuts[] = {
        {14, LW_DECODE_CTR_ETH_TRUNCATED},
        {34, LW_DECODE_CTR_IPV4_TRUNCATED},
        {54, LW_DECODE_CTR_TCP_TRUNCATED},
    };
    check_cuts(*state, DLT_EN10MB_, eth_ipv4_tcp, sizeof eth_ipv4_tcp, cuts, 3, 5);
}

/* The same cuts with wirelen == caplen: the frame itself was short, so a
 * total length past its end contradicts the frame (invalid, not snapped). */
static void test_eth_ipv4_short_frame_is_invalid(void **state)
{
    fixture *f = *state;
    for (size_t cap = 34; cap < sizeof eth_ipv4_tcp; cap++)
        expect_drop(f, run(f, DLT_EN10MB_, eth_ipv4_tcp, cap, cap), LW_DECODE_INVALID,
                    LW_DECODE_CTR_IPV4_INVALID_TOTLEN);
    for (size_t cap = 14; cap < 34; cap++)
        expect_drop(f, run(f, DLT_EN10MB_, eth_ipv4_tcp, cap, cap), LW_DECODE_TRUNCATED,
                    LW_DECODE_CTR_IPV4_TRUNCATED);
}

static void test_eth_padding_trimmed(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_EN10MB_, eth_ipv4_udp_padded, sizeof eth_ipv4_udp_padded),
                     LW_DECODE_OK);
    assert_int_equal(sizeof eth_ipv4_udp_padded, 60);
    assert_int_equal(f->p.proto, LW_PROTO_UDP);
    assert_int_equal(f->p.sport, 12345);
    assert_int_equal(f->p.dport, 53);
    assert_int_equal(f->p.payload_len, 2);
    assert_int_equal(f->p.payload_wire_len, 2);
    assert_memory_equal(f->p.payload, "hi", 2);
    assert_int_equal(f->ctr[LW_DECODE_CTR_UDP], 1);
}

/* TCP has no length of its own: only the IP total length keeps the pad
 * bytes of a short frame out of the payload. */
static void test_eth_padding_trimmed_tcp(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t syn_ack[] = {
        ETH(0x08, 0x00),                    /* Ethernet, IPv4 */
        IP4(40, 0x4000, 6),                 /* total length 40, DF, TCP */
        TCPH(5, 0x12),                      /* SYN|ACK, no payload */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* Ethernet padding to 60 bytes */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_EN10MB_, syn_ack, sizeof syn_ack), LW_DECODE_OK);
    assert_int_equal(f->p.tcp_flags, LW_TCP_SYN | LW_TCP_ACK);
    assert_null(f->p.payload);
    assert_int_equal(f->p.payload_len, 0);
    assert_int_equal(f->p.payload_wire_len, 0);
}

static void test_eth_ipv4_udp_cuts(void **state)
{
    static const struct cut cuts[] = {
        {14, LW_DECODE_CTR_ETH_TRUNCATED},
        {34, LW_DECODE_CTR_IPV4_TRUNCATED},
        {42, LW_DECODE_CTR_UDP_TRUNCATED},
    };
    check_cuts(*state, DLT_EN10MB_, eth_ipv4_udp_padded, sizeof eth_ipv4_udp_padded, cuts, 3, 2);
}

static void test_unsupported_linktype(void **state)
{
    fixture *f = *state;
    expect_drop(f, run_all(f, 147, eth_ipv4_tcp, sizeof eth_ipv4_tcp), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_LINKTYPE_UNSUPPORTED);
    expect_drop(f, run_all(f, -1, eth_ipv4_tcp, sizeof eth_ipv4_tcp), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_LINKTYPE_UNSUPPORTED);
    assert_int_equal(f->ctr[LW_DECODE_CTR_BYTES], sizeof eth_ipv4_tcp);
}

static void test_eth_arp_unsupported(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t arp[] = {
        ETH(0x08, 0x06),        /* Ethernet, ARP */
        0x00, 0x01, 0x08, 0x00, /* htype Ethernet, ptype IPv4 */
        0x06, 0x04, 0x00, 0x01, /* hlen 6, plen 4, op request */
    };
    /* clang-format on */
    expect_drop(f, run_all(f, DLT_EN10MB_, arp, sizeof arp), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_ETHERTYPE_UNSUPPORTED);
    assert_int_equal(f->p.ip_version, 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV4], 0);
}

static void test_eth_8023_length_unsupported(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t llc[] = {
        ETH(0x00, 0x26),  /* 802.3 length 38, not an Ethertype */
        0x42, 0x42, 0x03, /* LLC: STP SAPs, UI */
    };
    /* clang-format on */
    expect_drop(f, run_all(f, DLT_EN10MB_, llc, sizeof llc), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_ETHERTYPE_UNSUPPORTED);
}

static void test_eth_truncated(void **state)
{
    fixture *f = *state;
    expect_drop(f, run_all(f, DLT_EN10MB_, eth_ipv4_tcp, 13), LW_DECODE_TRUNCATED,
                LW_DECODE_CTR_ETH_TRUNCATED);
    /* no bytes at all, not even a buffer */
    memset(f->ctr, 0, sizeof f->ctr);
    lw_packet p = {.data = NULL, .caplen = 5, .wirelen = 5, .linktype = DLT_EN10MB_};
    assert_int_equal(lw_decode(&p, f->ctr), LW_DECODE_TRUNCATED);
    assert_int_equal(f->ctr[LW_DECODE_CTR_ETH_TRUNCATED], 1);
}

static void test_decode_clears_previous_packet(void **state)
{
    fixture *f = *state;
    static const uint8_t arp[] = {ETH(0x08, 0x06), 0x00, 0x01};
    lw_packet p = {.data = eth_ipv4_tcp,
                   .caplen = sizeof eth_ipv4_tcp,
                   .wirelen = sizeof eth_ipv4_tcp,
                   .linktype = DLT_EN10MB_};
    assert_int_equal(lw_decode(&p, f->ctr), LW_DECODE_OK);
    assert_int_equal(p.sport, 50000);
    p.data = arp;
    p.caplen = p.wirelen = sizeof arp;
    assert_int_equal(lw_decode(&p, f->ctr), LW_DECODE_UNSUPPORTED);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.ip_version, 0);
    assert_int_equal(p.src.family, 0);
    assert_null(p.payload);
    assert_int_equal(p.payload_wire_len, 0);
    assert_int_equal(p.tcp_seq, 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_PKTS], 2);
}

/* ---- IPv4 header ---- */

static void test_ipv4_invalid_version(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_ipv4_tcp];
    memcpy(pkt, eth_ipv4_tcp, sizeof pkt);
    pkt[14] = 0x65; /* version 6 behind Ethertype IPv4 */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_INVALID_VERSION);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV4], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV6], 0);
}

static void test_ipv4_invalid_hlen(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_ipv4_tcp];
    memcpy(pkt, eth_ipv4_tcp, sizeof pkt);
    pkt[14] = 0x44; /* IHL 4: 16 bytes, below the minimum */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_INVALID_HLEN);
    /* the header length is known from the first byte even when cut there */
    expect_drop(f, run(f, DLT_EN10MB_, pkt, 15, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_INVALID_HLEN);
}

static void test_ipv4_totlen_below_hlen(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_ipv4_tcp];
    memcpy(pkt, eth_ipv4_tcp, sizeof pkt);
    pkt[16] = 0x00;
    pkt[17] = 19; /* total length 19 < header length 20 */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_INVALID_TOTLEN);
}

static void test_ipv4_totlen_beyond_wire(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_ipv4_tcp];
    memcpy(pkt, eth_ipv4_tcp, sizeof pkt);
    pkt[17] = 46; /* total length 46: one byte more than the frame holds */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_INVALID_TOTLEN);
    /* the same bytes with one more byte on the wire than captured: a
     * snaplen cut, kept with a short payload */
    assert_int_equal(run(f, DLT_EN10MB_, pkt, sizeof pkt, sizeof pkt + 1), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 5);
    assert_int_equal(f->p.payload_wire_len, 6);
}

static void test_ipv4_icmp_is_ok_without_payload(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t icmp[] = {
        ETH(0x08, 0x00),        /* Ethernet, IPv4 */
        IP4(28, 0, 1),          /* total length 28, ICMP */
        0x08, 0x00, 0x00, 0x00, /* echo request, code, checksum */
        0x00, 0x01, 0x00, 0x01, /* id, sequence */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_EN10MB_, icmp, sizeof icmp), LW_DECODE_OK);
    assert_int_equal(f->p.proto, LW_PROTO_ICMP);
    assert_int_equal(f->p.ip_version, 4);
    assert_null(f->p.payload);
    assert_int_equal(f->p.sport, 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV4], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP] + f->ctr[LW_DECODE_CTR_UDP], 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_L4_UNSUPPORTED], 0);
}

static void test_ipv4_esp_unsupported(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t esp[] = {
        IP4(28, 0, 50),         /* total length 28, ESP */
        0x00, 0x00, 0x10, 0x01, /* SPI */
        0x00, 0x00, 0x00, 0x01, /* sequence number */
    };
    /* clang-format on */
    expect_drop(f, run_all(f, DLT_IPV4_, esp, sizeof esp), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_L4_UNSUPPORTED);
    assert_int_equal(f->p.proto, 50);
}

/* IPv4 (raw, IHL 6) / UDP with one payload byte; bytes 20..23 are the
 * options, replaced by each case below. */
/* clang-format off */
static const uint8_t ipv4_opts_udp[] = {
    0x46, 0x00,             /* IPv4, IHL 6 (24 bytes); TOS */
    0x00, 0x21,             /* total length 33 */
    0x12, 0x34, 0x00, 0x00, /* id, no fragment */
    0x40, 0x11, 0x00, 0x00, /* TTL 64, UDP, checksum */
    0xc0, 0x00, 0x02, 0x0a, /* source 192.0.2.10 */
    0xc6, 0x33, 0x64, 0x14, /* destination 198.51.100.20 */
    0x94, 0x04, 0x00, 0x00, /* option: Router Alert, length 4, value 0 */
    UDPH(9),                /* UDP length 9 */
    'x',                    /* payload */
};
/* clang-format on */

static lw_decode_result run_opts(fixture *f, uint8_t o0, uint8_t o1, uint8_t o2, uint8_t o3)
{
    uint8_t pkt[sizeof ipv4_opts_udp];
    memcpy(pkt, ipv4_opts_udp, sizeof pkt);
    pkt[20] = o0;
    pkt[21] = o1;
    pkt[22] = o2;
    pkt[23] = o3;
    return run_all(f, DLT_IPV4_, pkt, sizeof pkt);
}

static void test_ipv4_options_valid(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_IPV4_, ipv4_opts_udp, sizeof ipv4_opts_udp), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 1);
    assert_int_equal(payload_off(f), 32);
    assert_int_equal(run_opts(f, 0x01, 0x01, 0x01, 0x00), LW_DECODE_OK); /* NOP NOP NOP EOL */
    assert_int_equal(run_opts(f, 0x00, 0xff, 0xff, 0xff), LW_DECODE_OK); /* EOL, then padding */
    assert_int_equal(run_opts(f, 0x07, 0x03, 0x04, 0x00), LW_DECODE_OK); /* RR, empty, EOL */
    assert_int_equal(run_opts(f, 0x88, 0x04, 0x12, 0x34), LW_DECODE_OK); /* Stream ID */
    assert_int_equal(run_opts(f, 0x01, 0x1e, 0x02, 0x00), LW_DECODE_OK); /* NOP, unknown(2) */
}

static void test_ipv4_options_invalid(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t bad[][4] = {
        {0x94, 0x03, 0x00, 0x00}, /* Router Alert shorter than 4 */
        {0x83, 0x08, 0x04, 0x00}, /* LSRR length 8 past the 4-byte area */
        {0x07, 0x03, 0x03, 0x00}, /* Record Route pointer 3 < 4 */
        {0x89, 0x02, 0x00, 0x00}, /* SSRR without a pointer */
        {0x44, 0x04, 0x04, 0x00}, /* Timestamp pointer 4 < 5 */
        {0x01, 0x01, 0x01, 0x83}, /* NOPs, then a type with no length byte */
        {0x1e, 0x01, 0x00, 0x00}, /* length 1 */
        {0x1e, 0x00, 0x00, 0x00}, /* length 0 */
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_drop(f, run_opts(f, bad[i][0], bad[i][1], bad[i][2], bad[i][3]), LW_DECODE_INVALID,
                    LW_DECODE_CTR_IPV4_INVALID_OPTIONS);
}

static void test_ipv4_options_cuts(void **state)
{
    static const struct cut cuts[] = {
        {24, LW_DECODE_CTR_IPV4_TRUNCATED}, /* cut inside the options too */
        {32, LW_DECODE_CTR_UDP_TRUNCATED},
    };
    check_cuts(*state, DLT_IPV4_, ipv4_opts_udp, sizeof ipv4_opts_udp, cuts, 2, 1);
}

/* ---- IPv4 fragments ---- */

static void test_ipv4_first_fragment_udp(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t frag[] = {
        ETH(0x08, 0x00),        /* Ethernet, IPv4 */
        IP4(36, 0x2000, 17),    /* total length 36, MF, offset 0, UDP */
        UDPH(1000),             /* UDP length covers the whole datagram */
        1, 2, 3, 4, 5, 6, 7, 8, /* first 8 bytes of the datagram's payload */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_EN10MB_, frag, sizeof frag), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
    assert_true(f->p.frag_more);
    assert_int_equal(f->p.frag_id, 0x1234);
    assert_int_equal(f->p.frag_offset, 0);
    check_frag(f, LW_PROTO_UDP, 34, 16, 16); /* the UDP header is fragment data too */
    assert_int_equal(f->p.sport, 12345);
    assert_int_equal(f->p.payload_len, 8);
    assert_int_equal(f->p.payload_wire_len, 8);
    assert_int_equal(f->ctr[LW_DECODE_CTR_FRAGMENT], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_UDP], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_UDP_INVALID_LEN], 0);
}

static void test_ipv4_first_fragment_too_short_for_tcp(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t frag[] = {
        ETH(0x08, 0x00),        /* Ethernet, IPv4 */
        IP4(28, 0x2000, 6),     /* total length 28, MF, offset 0, TCP */
        0xc3, 0x50, 0x00, 0x50, /* ports: 8 of the 20 TCP header bytes */
        0x01, 0x02, 0x03, 0x04, /* sequence number */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_EN10MB_, frag, sizeof frag), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
    assert_int_equal(f->p.proto, LW_PROTO_TCP);
    assert_int_equal(f->p.sport, 0); /* header not whole: no transport fields */
    assert_null(f->p.payload);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP_TRUNCATED], 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP_INVALID_HLEN], 0);
    /* cut by the snaplen inside the TCP header: still just a fragment */
    assert_int_equal(run(f, DLT_EN10MB_, frag, 40, sizeof frag), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
}

static void test_ipv4_later_fragment_has_no_transport(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t frag[] = {
        ETH(0x08, 0x00),        /* Ethernet, IPv4 */
        IP4(28, 0x00b9, 17),    /* total length 28, offset 185*8 = 1480, last */
        0x30, 0x39, 0x00, 0x35, /* datagram bytes that look like a UDP header */
        0x00, 0x03, 0x00, 0x00, /* (must not be read as one) */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_EN10MB_, frag, sizeof frag), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
    assert_false(f->p.frag_more);
    assert_int_equal(f->p.frag_offset, 1480);
    check_frag(f, LW_PROTO_UDP, 34, 8, 8);
    assert_int_equal(f->p.proto, LW_PROTO_UDP);
    assert_int_equal(f->p.sport, 0);
    assert_null(f->p.payload);
    assert_int_equal(f->ctr[LW_DECODE_CTR_FRAGMENT], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_UDP], 0);
}

static void test_ipv4_middle_fragment_with_options(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t frag[] = {
        0x46, 0x00, 0x00, 40,   /* IHL 6, total length 40 */
        0x12, 0x34, 0x20, 0x03, /* id, MF, offset 3*8 = 24 */
        0x40, 6, 0x00, 0x00,    /* TTL 64, TCP, checksum */
        0xc0, 0x00, 0x02, 0x0a, /* 192.0.2.10 */
        0xc6, 0x33, 0x64, 0x14, /* 198.51.100.20 */
        0x01, 0x01, 0x01, 0x00, /* options: NOP x3, EOL - header, not data */
        1, 2, 3, 4, 5, 6, 7, 8, /* fragment data */
        1, 2, 3, 4, 5, 6, 7, 8, /* fragment data */
        0xee, 0xee,             /* past the total length: not data */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_IPV4_, frag, sizeof frag), LW_DECODE_OK);
    assert_true(f->p.frag_more);
    assert_int_equal(f->p.frag_offset, 24);
    check_frag(f, LW_PROTO_TCP, 24, 16, 16);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP], 0);
}

static void test_ipv4_fragment_snapped(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t frag[] = {
        ETH(0x08, 0x00),        /* Ethernet, IPv4 */
        IP4(44, 0x2000, 17),    /* total length 44, MF, offset 0, UDP */
        UDPH(1000),             /* UDP length covers the whole datagram */
        1, 2, 3, 4, 5, 6, 7, 8, /* datagram payload */
        1, 2, 3, 4, 5, 6, 7, 8, /* datagram payload */
    };
    /* clang-format on */
    /* every snaplen from the end of the IPv4 header on: the data is what
     * was captured, the declared length stays 24 */
    for (size_t cap = 34; cap <= sizeof frag; cap++) {
        assert_int_equal(run(f, DLT_EN10MB_, frag, cap, sizeof frag), LW_DECODE_OK);
        check_frag(f, LW_PROTO_UDP, 34, (uint32_t)(cap - 34), 24);
    }
    /* a last fragment cut inside its data */
    uint8_t last[sizeof frag];
    memcpy(last, frag, sizeof last);
    last[20] = 0x00; /* no MF, offset 16*8 = 128 */
    last[21] = 0x10;
    assert_int_equal(run(f, DLT_EN10MB_, last, 40, sizeof last), LW_DECODE_OK);
    assert_false(f->p.frag_more);
    check_frag(f, LW_PROTO_UDP, 34, 6, 24);
}

static void test_ipv4_fragment_past_64k_invalid(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t frag[] = {
        IP4(36, 0x1fff, 17),    /* offset 8191*8 = 65528, 16 bytes: ends past 65535 */
        0, 0, 0, 0, 0, 0, 0, 0, /* fragment data */
        0, 0, 0, 0, 0, 0, 0, 0, /* fragment data */
    };
    /* clang-format on */
    expect_drop(f, run_all(f, DLT_IPV4_, frag, sizeof frag), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_FRAG_INVALID);
    assert_int_equal(f->ctr[LW_DECODE_CTR_FRAGMENT], 1);
}

/* ---- TCP ---- */

/* Raw IPv4 / TCP with 12 bytes of options and 3 of payload; option bytes
 * are 40..51. */
/* clang-format off */
static const uint8_t ipv4_tcp_opts[] = {
    IP4(55, 0x4000, 6),     /* total length 55, DF, TCP */
    TCPH(8, 0x02),          /* data offset 8 (32 bytes), SYN */
    0x02, 0x04, 0x05, 0xb4, /* MSS 1460 */
    0x01,                   /* NOP */
    0x03, 0x03, 0x07,       /* window scale 7 */
    0x04, 0x02,             /* SACK permitted */
    0x01,                   /* NOP */
    0x00,                   /* EOL */
    'a', 'b', 'c',          /* payload */
};
/* clang-format on */

static void test_tcp_options_valid(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_IPV4_, ipv4_tcp_opts, sizeof ipv4_tcp_opts), LW_DECODE_OK);
    assert_int_equal(f->p.tcp_flags, LW_TCP_SYN);
    assert_int_equal(f->p.payload_len, 3);
    assert_int_equal(payload_off(f), 52);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP_INVALID_OPTIONS], 0);
}

static void test_tcp_options_invalid_counted_not_dropped(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t bad[][12] = {
        {0x02, 0x03, 0x05, 0x01, 1, 1, 1, 1, 1, 1, 1, 0}, /* MSS length 3 */
        {0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},       /* length 0 */
        {0x1e, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},       /* length 1 */
        {0x1e, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},       /* length 32 past the area */
        {0x05, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},       /* SACK of 10 data bytes */
        {0x08, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},       /* timestamps length 11 */
        {0x01, 0x01, 0x01, 1, 1, 1, 1, 1, 1, 1, 1, 0x22}, /* kind with no length byte */
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t pkt[sizeof ipv4_tcp_opts];
        memcpy(pkt, ipv4_tcp_opts, sizeof pkt);
        memcpy(pkt + 40, bad[i], 12);
        assert_int_equal(run_all(f, DLT_IPV4_, pkt, sizeof pkt), LW_DECODE_OK);
        assert_int_equal(f->ctr[LW_DECODE_CTR_TCP_INVALID_OPTIONS], 1);
        assert_int_equal(f->p.payload_len, 3); /* the data is still inspected */
        assert_memory_equal(f->p.payload, "abc", 3);
    }
}

static void test_tcp_options_cuts(void **state)
{
    static const struct cut cuts[] = {
        {20, LW_DECODE_CTR_IPV4_TRUNCATED},
        {52, LW_DECODE_CTR_TCP_TRUNCATED}, /* cut inside the options too */
    };
    check_cuts(*state, DLT_IPV4_, ipv4_tcp_opts, sizeof ipv4_tcp_opts, cuts, 2, 3);
}

static void test_tcp_offset_below_five(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_ipv4_tcp];
    memcpy(pkt, eth_ipv4_tcp, sizeof pkt);
    pkt[46] = 0x40; /* data offset 4 */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_TCP_INVALID_HLEN);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP], 1);
    assert_int_equal(f->p.sport, 0);
}

static void test_tcp_offset_past_segment(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_ipv4_tcp];
    memcpy(pkt, eth_ipv4_tcp, sizeof pkt);
    pkt[46] = 0xf0; /* data offset 15 (60 bytes) in a 25-byte segment */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_TCP_INVALID_HLEN);
    /* the same with a long wire length is still invalid: the IP total
     * length, not the capture, bounds the segment */
    expect_drop(f, run(f, DLT_EN10MB_, pkt, sizeof pkt, 1500), LW_DECODE_INVALID,
                LW_DECODE_CTR_TCP_INVALID_HLEN);
}

static void test_tcp_segment_shorter_than_header(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t pkt[] = {
        IP4(30, 0, 6),                            /* total length 30: 10 bytes of TCP */
        0xc3, 0x50, 0x00, 0x50, 0, 0, 0, 0, 0, 0, /* a header cut by the IP length */
    };
    /* clang-format on */
    expect_drop(f, run_all(f, DLT_IPV4_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_TCP_INVALID_HLEN);
}

static void test_tcp_payload_snapped(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, DLT_EN10MB_, eth_ipv4_tcp, 56, sizeof eth_ipv4_tcp), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 2);
    assert_int_equal(f->p.payload_wire_len, 5);
    assert_int_equal(run(f, DLT_EN10MB_, eth_ipv4_tcp, 54, sizeof eth_ipv4_tcp), LW_DECODE_OK);
    assert_null(f->p.payload);
    assert_int_equal(f->p.payload_wire_len, 5);
    assert_int_equal(f->p.sport, 50000);
}

/* ---- UDP ---- */

static lw_decode_result run_udp(fixture *f, uint16_t totlen, uint16_t ulen)
{
    /* clang-format off */
    uint8_t pkt[] = {
        IP4(31, 0, 17), /* total length 31 (patched below), UDP */
        UDPH(11),       /* UDP length 11 (patched below) */
        'a', 'b', 'c',  /* payload */
    };
    /* clang-format on */
    pkt[2] = (uint8_t)(totlen >> 8);
    pkt[3] = (uint8_t)totlen;
    pkt[24] = (uint8_t)(ulen >> 8);
    pkt[25] = (uint8_t)ulen;
    return run(f, DLT_IPV4_, pkt, sizeof pkt, sizeof pkt);
}

static void test_udp_length_ok(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_udp(f, 31, 11), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 3);
    assert_int_equal(f->p.payload_wire_len, 3);
    assert_memory_equal(f->p.payload, "abc", 3);
}

static void test_udp_length_below_ip_payload_trims(void **state)
{
    fixture *f = *state;
    /* UDP says 9 bytes, IP carries 11: the 2 extra bytes are no payload */
    assert_int_equal(run_udp(f, 31, 9), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 1);
    assert_int_equal(f->p.payload_wire_len, 1);
}

static void test_udp_length_invalid(void **state)
{
    fixture *f = *state;
    expect_drop(f, run_udp(f, 31, 7), LW_DECODE_INVALID, LW_DECODE_CTR_UDP_INVALID_LEN);
    expect_drop(f, run_udp(f, 31, 0), LW_DECODE_INVALID, LW_DECODE_CTR_UDP_INVALID_LEN);
    /* UDP length past the IP payload */
    expect_drop(f, run_udp(f, 31, 12), LW_DECODE_INVALID, LW_DECODE_CTR_UDP_INVALID_LEN);
    /* IP payload of 4 bytes cannot hold a UDP header */
    expect_drop(f, run_udp(f, 24, 11), LW_DECODE_INVALID, LW_DECODE_CTR_UDP_INVALID_LEN);
    assert_int_equal(f->ctr[LW_DECODE_CTR_UDP], 1);
}

/* ---- VLAN ---- */

static void test_vlan_ipv6_udp(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_EN10MB_, eth_vlan_ipv6_udp, sizeof eth_vlan_ipv6_udp),
                     LW_DECODE_OK);
    const lw_packet *p = &f->p;
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x01};
    assert_int_equal(p->vlan_count, 1);
    assert_int_equal(p->vlan[0], 100);
    assert_int_equal(p->vlan[1], 0);
    assert_int_equal(p->ip_version, 6);
    assert_int_equal(p->src.family, 6);
    assert_memory_equal(p->src.b, src, 16);
    assert_int_equal(p->dst.b[15], 0x02);
    assert_int_equal(p->proto, LW_PROTO_UDP);
    assert_int_equal(p->dport, 53);
    assert_int_equal(p->payload_len, 3);
    assert_int_equal(payload_off(f), 66);
    assert_int_equal(f->ctr[LW_DECODE_CTR_VLAN], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_VLAN_QINQ], 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV6], 1);
}

static void test_vlan_ipv6_udp_cuts(void **state)
{
    static const struct cut cuts[] = {
        {14, LW_DECODE_CTR_ETH_TRUNCATED},
        {18, LW_DECODE_CTR_VLAN_TRUNCATED},
        {58, LW_DECODE_CTR_IPV6_TRUNCATED},
        {66, LW_DECODE_CTR_UDP_TRUNCATED},
    };
    check_cuts(*state, DLT_EN10MB_, eth_vlan_ipv6_udp, sizeof eth_vlan_ipv6_udp, cuts, 4, 3);
}

/* clang-format off */
static const uint8_t qinq_ipv4_tcp[] = {
    ETH(0x88, 0xa8),        /* Ethernet, 802.1ad service tag */
    0x20, 0xc8, 0x81, 0x00, /* S-tag: PCP 1, VID 200; inner type 802.1Q */
    0x01, 0x2c, 0x08, 0x00, /* C-tag: VID 300; inner type IPv4 */
    IP4(40, 0, 6),          /* total length 40, TCP */
    TCPH(5, 0x10),          /* ACK, no payload */
};
/* clang-format on */

static void test_qinq(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_EN10MB_, qinq_ipv4_tcp, sizeof qinq_ipv4_tcp), LW_DECODE_OK);
    assert_int_equal(f->p.vlan_count, 2);
    assert_int_equal(f->p.vlan[0], 200);
    assert_int_equal(f->p.vlan[1], 300);
    assert_int_equal(f->p.tcp_flags, LW_TCP_ACK);
    assert_null(f->p.payload);
    assert_int_equal(f->p.payload_wire_len, 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_VLAN], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_VLAN_QINQ], 1);
}

static void test_qinq_cuts(void **state)
{
    static const struct cut cuts[] = {
        {14, LW_DECODE_CTR_ETH_TRUNCATED},  {18, LW_DECODE_CTR_VLAN_TRUNCATED},
        {22, LW_DECODE_CTR_VLAN_TRUNCATED}, {42, LW_DECODE_CTR_IPV4_TRUNCATED},
        {62, LW_DECODE_CTR_TCP_TRUNCATED},
    };
    check_cuts(*state, DLT_EN10MB_, qinq_ipv4_tcp, sizeof qinq_ipv4_tcp, cuts, 5, 0);
}

static void test_vlan_too_deep(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t pkt[] = {
        ETH(0x91, 0x00),        /* Ethernet, pre-standard QinQ */
        0x00, 0x01, 0x88, 0xa8, /* tag 1: VID 1; 802.1ad */
        0x00, 0x02, 0x81, 0x00, /* tag 2: VID 2; 802.1Q */
        0x00, 0x03, 0x08, 0x00, /* tag 3: one too many */
        IP4(20, 0, 6),          /* IPv4 never reached */
    };
    /* clang-format on */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_VLAN_TOO_DEEP);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV4], 0);
}

/* ---- Linux cooked capture ---- */

/* clang-format off */
static const uint8_t sll_ipv4_udp[] = {
    0x00, 0x00,                                     /* packet type: to us */
    0x00, 0x01,                                     /* ARPHRD_ETHER */
    0x00, 0x06,                                     /* address length 6 */
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, /* address, padded to 8 */
    0x08, 0x00,                                     /* protocol IPv4 */
    IP4(31, 0, 17),                                 /* total length 31, UDP */
    UDPH(11),                                       /* UDP length 11 */
    'a', 'b', 'c',                                  /* payload */
};
/* clang-format on */

static void test_sll(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_SLL_, sll_ipv4_udp, sizeof sll_ipv4_udp), LW_DECODE_OK);
    assert_int_equal(f->p.ip_version, 4);
    assert_int_equal(f->p.sport, 12345);
    assert_int_equal(payload_off(f), 44);
}

static void test_sll_cuts(void **state)
{
    static const struct cut cuts[] = {
        {16, LW_DECODE_CTR_SLL_TRUNCATED},
        {36, LW_DECODE_CTR_IPV4_TRUNCATED},
        {44, LW_DECODE_CTR_UDP_TRUNCATED},
    };
    check_cuts(*state, DLT_SLL_, sll_ipv4_udp, sizeof sll_ipv4_udp, cuts, 3, 3);
}

static void test_sll_vlan_and_llc(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t vlan[] = {
        0x00, 0x04, 0x00, 0x01, 0x00, 0x06,             /* outgoing, ARPHRD_ETHER, len 6 */
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, /* address */
        0x81, 0x00,                                     /* protocol 802.1Q */
        0x00, 0x0a, 0x08, 0x00,                         /* VID 10; IPv4 */
        IP4(28, 0, 17),                                 /* total length 28, UDP */
        UDPH(8),                                        /* empty datagram */
    };
    /* clang-format on */
    assert_int_equal(run_all(f, DLT_SLL_, vlan, sizeof vlan), LW_DECODE_OK);
    assert_int_equal(f->p.vlan[0], 10);
    assert_int_equal(f->p.payload_wire_len, 0);

    uint8_t llc[sizeof vlan];
    memcpy(llc, vlan, sizeof llc);
    llc[14] = 0x00;
    llc[15] = 0x04; /* LINUX_SLL_P_802_2: an LLC frame */
    expect_drop(f, run_all(f, DLT_SLL_, llc, sizeof llc), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_ETHERTYPE_UNSUPPORTED);
}

/* clang-format off */
static const uint8_t sll2_ipv6_tcp[] = {
    0x86, 0xdd,                                     /* protocol IPv6 */
    0x00, 0x00,                                     /* reserved */
    0x00, 0x00, 0x00, 0x02,                         /* interface index 2 */
    0x00, 0x01,                                     /* ARPHRD_ETHER */
    0x04,                                           /* packet type: outgoing */
    0x06,                                           /* address length 6 */
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, /* address, padded to 8 */
    IP6(24, 6),                                     /* payload length 24, TCP */
    TCPH(5, 0x18),                                  /* PSH|ACK */
    'd', 'a', 't', 'a',                             /* payload */
};
/* clang-format on */

static void test_sll2(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_SLL2_, sll2_ipv6_tcp, sizeof sll2_ipv6_tcp), LW_DECODE_OK);
    assert_int_equal(f->p.ip_version, 6);
    assert_int_equal(f->p.proto, LW_PROTO_TCP);
    assert_int_equal(f->p.sport, 50000);
    assert_int_equal(f->p.payload_len, 4);
    assert_int_equal(payload_off(f), 80);
}

static void test_sll2_cuts(void **state)
{
    static const struct cut cuts[] = {
        {20, LW_DECODE_CTR_SLL2_TRUNCATED},
        {60, LW_DECODE_CTR_IPV6_TRUNCATED},
        {80, LW_DECODE_CTR_TCP_TRUNCATED},
    };
    check_cuts(*state, DLT_SLL2_, sll2_ipv6_tcp, sizeof sll2_ipv6_tcp, cuts, 3, 4);
}

/* ---- raw IP ---- */

static void test_raw_ipv4_and_ipv6(void **state)
{
    fixture *f = *state;
    const uint8_t *v4 = sll_ipv4_udp + 16, *v6 = sll2_ipv6_tcp + 20;
    size_t v4len = sizeof sll_ipv4_udp - 16, v6len = sizeof sll2_ipv6_tcp - 20;
    static const int raw[] = {DLT_RAW_, LINKTYPE_RAW_};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(run_all(f, raw[i], v4, v4len), LW_DECODE_OK);
        assert_int_equal(f->p.ip_version, 4);
        assert_int_equal(f->p.payload_len, 3);
        assert_int_equal(run_all(f, raw[i], v6, v6len), LW_DECODE_OK);
        assert_int_equal(f->p.ip_version, 6);
        assert_int_equal(f->p.payload_len, 4);
    }
    assert_int_equal(run_all(f, DLT_IPV4_, v4, v4len), LW_DECODE_OK);
    assert_int_equal(run_all(f, DLT_IPV6_, v6, v6len), LW_DECODE_OK);
    /* the IP-version-specific link types check the version they promise */
    expect_drop(f, run_all(f, DLT_IPV4_, v6, v6len), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV4_INVALID_VERSION);
    expect_drop(f, run_all(f, DLT_IPV6_, v4, v4len), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_INVALID_VERSION);
}

static void test_raw_invalid_version(void **state)
{
    fixture *f = *state;
    static const uint8_t pkt[] = {0x55, 0x00, 0x00, 0x14}; /* version 5 */
    expect_drop(f, run_all(f, DLT_RAW_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_RAW_INVALID_VERSION);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV4] + f->ctr[LW_DECODE_CTR_IPV6], 0);
}

static void test_raw_cuts(void **state)
{
    static const struct cut cuts[] = {
        {1, LW_DECODE_CTR_RAW_TRUNCATED},
        {40, LW_DECODE_CTR_IPV6_TRUNCATED},
        {60, LW_DECODE_CTR_TCP_TRUNCATED},
    };
    check_cuts(*state, DLT_RAW_, sll2_ipv6_tcp + 20, sizeof sll2_ipv6_tcp - 20, cuts, 3, 4);
}

/* ---- null / loopback ---- */

static lw_decode_result run_null(fixture *f, int dlt, const uint8_t fam[4], const uint8_t *ip,
                                 size_t iplen)
{
    uint8_t pkt[128];
    assert_true(iplen + 4 <= sizeof pkt);
    memcpy(pkt, fam, 4); /* the 4-byte address family */
    memcpy(pkt + 4, ip, iplen);
    return run_all(f, dlt, pkt, iplen + 4);
}

static void test_null_both_byte_orders(void **state)
{
    fixture *f = *state;
    const uint8_t *v4 = sll_ipv4_udp + 16, *v6 = sll2_ipv6_tcp + 20;
    size_t v4len = sizeof sll_ipv4_udp - 16, v6len = sizeof sll2_ipv6_tcp - 20;
    static const uint8_t inet_le[4] = {2, 0, 0, 0}, inet_be[4] = {0, 0, 0, 2};
    static const uint8_t inet6_bsd_le[4] = {24, 0, 0, 0}, inet6_fbsd_be[4] = {0, 0, 0, 28};
    static const uint8_t inet6_mac_le[4] = {30, 0, 0, 0};

    assert_int_equal(run_null(f, DLT_NULL_, inet_le, v4, v4len), LW_DECODE_OK);
    assert_int_equal(f->p.ip_version, 4);
    assert_int_equal(run_null(f, DLT_NULL_, inet_be, v4, v4len), LW_DECODE_OK);
    assert_int_equal(f->p.ip_version, 4);
    assert_int_equal(run_null(f, DLT_NULL_, inet6_bsd_le, v6, v6len), LW_DECODE_OK);
    assert_int_equal(f->p.ip_version, 6);
    assert_int_equal(run_null(f, DLT_NULL_, inet6_fbsd_be, v6, v6len), LW_DECODE_OK);
    assert_int_equal(run_null(f, DLT_NULL_, inet6_mac_le, v6, v6len), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 4);

    /* DLT_LOOP is always network order */
    assert_int_equal(run_null(f, DLT_LOOP_, inet_be, v4, v4len), LW_DECODE_OK);
    assert_int_equal(run_null(f, DLT_LOOP_, inet6_fbsd_be, v6, v6len), LW_DECODE_OK);
    expect_drop(f, run_null(f, DLT_LOOP_, inet_le, v4, v4len), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_NULL_UNSUPPORTED);
}

static void test_null_unsupported_family(void **state)
{
    fixture *f = *state;
    static const uint8_t appletalk[4] = {16, 0, 0, 0}, linux_inet6[4] = {10, 0, 0, 0};
    static const uint8_t zero[4] = {0, 0, 0, 0}, big[4] = {1, 2, 3, 4};
    const uint8_t *v4 = sll_ipv4_udp + 16;
    size_t v4len = sizeof sll_ipv4_udp - 16;
    expect_drop(f, run_null(f, DLT_NULL_, appletalk, v4, v4len), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_NULL_UNSUPPORTED);
    expect_drop(f, run_null(f, DLT_NULL_, linux_inet6, v4, v4len), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_NULL_UNSUPPORTED);
    expect_drop(f, run_null(f, DLT_NULL_, zero, v4, v4len), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_NULL_UNSUPPORTED);
    expect_drop(f, run_null(f, DLT_NULL_, big, v4, v4len), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_NULL_UNSUPPORTED);
}

static void test_null_truncated_and_cuts(void **state)
{
    fixture *f = *state;
    uint8_t pkt[4 + sizeof sll_ipv4_udp - 16] = {2, 0, 0, 0}; /* AF_INET, little-endian */
    memcpy(pkt + 4, sll_ipv4_udp + 16, sizeof pkt - 4);
    expect_drop(f, run_all(f, DLT_NULL_, pkt, 3), LW_DECODE_TRUNCATED,
                LW_DECODE_CTR_NULL_TRUNCATED);
    expect_drop(f, run_all(f, DLT_LOOP_, pkt, 2), LW_DECODE_TRUNCATED,
                LW_DECODE_CTR_NULL_TRUNCATED);
    static const struct cut cuts[] = {
        {4, LW_DECODE_CTR_NULL_TRUNCATED},
        {24, LW_DECODE_CTR_IPV4_TRUNCATED},
        {32, LW_DECODE_CTR_UDP_TRUNCATED},
    };
    check_cuts(f, DLT_NULL_, pkt, sizeof pkt, cuts, 3, 3);
}

/* One snaplen cut per truncation counter, each at a byte inside its header
 * (the cut tests below walk every snaplen). */
static void test_truncation_counters(void **state)
{
    fixture *f = *state;
    static const struct {
        int linktype;
        const uint8_t *pkt;
        size_t caplen, wirelen;
        enum lw_decode_counter ctr;
    } cases[] = {
        {DLT_EN10MB_, eth_ipv4_tcp, 13, sizeof eth_ipv4_tcp, LW_DECODE_CTR_ETH_TRUNCATED},
        {DLT_EN10MB_, eth_vlan_ipv6_udp, 16, 69, LW_DECODE_CTR_VLAN_TRUNCATED},
        {DLT_SLL_, sll_ipv4_udp, 15, sizeof sll_ipv4_udp, LW_DECODE_CTR_SLL_TRUNCATED},
        {DLT_SLL2_, sll2_ipv6_tcp, 19, sizeof sll2_ipv6_tcp, LW_DECODE_CTR_SLL2_TRUNCATED},
        {LINKTYPE_RAW_, sll_ipv4_udp, 0, 100, LW_DECODE_CTR_RAW_TRUNCATED},
        {DLT_EN10MB_, eth_ipv4_tcp, 33, sizeof eth_ipv4_tcp, LW_DECODE_CTR_IPV4_TRUNCATED},
        {DLT_EN10MB_, eth_vlan_ipv6_udp, 57, 69, LW_DECODE_CTR_IPV6_TRUNCATED},
        {DLT_EN10MB_, eth_ipv4_tcp, 40, sizeof eth_ipv4_tcp, LW_DECODE_CTR_TCP_TRUNCATED},
        {DLT_EN10MB_, eth_ipv4_udp_padded, 40, 60, LW_DECODE_CTR_UDP_TRUNCATED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_drop(f, run(f, cases[i].linktype, cases[i].pkt, cases[i].caplen, cases[i].wirelen),
                    LW_DECODE_TRUNCATED, cases[i].ctr);
}

/* ---- IPv6 header and extension headers ---- */

/* Ethernet / IPv6 / Hop-by-Hop / Destination Options / Routing / AH / TCP
 * with 4 bytes of payload: 126 bytes. */
/* clang-format off */
static const uint8_t ipv6_chain_tcp[] = {
    ETH(0x86, 0xdd),                    /* Ethernet, IPv6 */
    IP6(72, 0),                         /* payload length 72, next: Hop-by-Hop */
    EXT8(60),                           /* Hop-by-Hop: next Destination Options */
    EXT8(43),                           /* Destination Options: next Routing */
    51, 0x00,                           /* Routing: next AH, length 0 (8 bytes) */
    0x04, 0x00,                         /* routing type 4, segments left 0 */
    0x00, 0x00, 0x00, 0x00,             /* reserved */
    6, 0x04,                            /* AH: next TCP, length 4 -> (4+2)*4 = 24 bytes */
    0x00, 0x00,                         /* reserved */
    0x00, 0x00, 0x01, 0x00,             /* SPI */
    0x00, 0x00, 0x00, 0x01,             /* sequence number */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* ICV (96 bits) */
    TCPH(5, 0x18),                      /* PSH|ACK */
    'd', 'a', 't', 'a',                 /* payload */
};
/* clang-format on */

static void test_ipv6_ext_chain(void **state)
{
    fixture *f = *state;
    assert_int_equal(run_all(f, DLT_EN10MB_, ipv6_chain_tcp, sizeof ipv6_chain_tcp), LW_DECODE_OK);
    assert_int_equal(f->p.proto, LW_PROTO_TCP);
    assert_int_equal(f->p.dport, 80);
    assert_int_equal(f->p.payload_len, 4);
    assert_int_equal(payload_off(f), 122);
    assert_memory_equal(f->p.payload, "data", 4);
    assert_false(f->p.is_fragment);
}

static void test_ipv6_ext_chain_cuts(void **state)
{
    static const struct cut cuts[] = {
        {14, LW_DECODE_CTR_ETH_TRUNCATED},
        {54, LW_DECODE_CTR_IPV6_TRUNCATED},
        {102, LW_DECODE_CTR_IPV6_EXTHDR_TRUNCATED},
        {122, LW_DECODE_CTR_TCP_TRUNCATED},
    };
    check_cuts(*state, DLT_EN10MB_, ipv6_chain_tcp, sizeof ipv6_chain_tcp, cuts, 4, 4);
}

static void test_ipv6_trailer_not_payload(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof ipv6_chain_tcp + 4];
    memcpy(pkt, ipv6_chain_tcp, sizeof ipv6_chain_tcp);
    memcpy(pkt + sizeof ipv6_chain_tcp, "\xde\xad\xbe\xef", 4); /* a captured FCS */
    assert_int_equal(run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 4);
    assert_int_equal(f->p.payload_wire_len, 4);
}

/* Builds Ethernet / IPv6 (next header nh) / body, payload length = body. */
static lw_decode_result run_v6(fixture *f, uint8_t nh, const uint8_t *body, size_t blen)
{
    uint8_t pkt[14 + 40 + 160] = {ETH(0x86, 0xdd), IP6(0, 0)};
    assert_true(blen <= 160);
    pkt[14 + 4] = (uint8_t)(blen >> 8); /* payload length */
    pkt[14 + 5] = (uint8_t)blen;
    pkt[14 + 6] = nh; /* next header */
    memcpy(pkt + 54, body, blen);
    return run_all(f, DLT_EN10MB_, pkt, 54 + blen);
}

static void test_ipv6_invalid_version(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_vlan_ipv6_udp];
    memcpy(pkt, eth_vlan_ipv6_udp, sizeof pkt);
    pkt[18] = 0x40; /* version 4 behind Ethertype IPv6 */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_INVALID_VERSION);
}

static void test_ipv6_plen_beyond_wire(void **state)
{
    fixture *f = *state;
    uint8_t pkt[sizeof eth_vlan_ipv6_udp];
    memcpy(pkt, eth_vlan_ipv6_udp, sizeof pkt);
    pkt[23] = 12; /* payload length 12, one more than the frame holds */
    expect_drop(f, run_all(f, DLT_EN10MB_, pkt, sizeof pkt), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_INVALID_PLEN);
    /* snapped by one byte: the UDP length 11 now trims to 3 bytes */
    assert_int_equal(run(f, DLT_EN10MB_, pkt, sizeof pkt, sizeof pkt + 1), LW_DECODE_OK);
    assert_int_equal(f->p.payload_len, 3);
}

static void test_ipv6_no_next_and_esp_unsupported(void **state)
{
    fixture *f = *state;
    static const uint8_t esp[] = {0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01};
    static const uint8_t dst_then_none[] = {EXT8(59)}; /* Destination Options, next: none */
    expect_drop(f, run_v6(f, 59, esp, 0), LW_DECODE_UNSUPPORTED, LW_DECODE_CTR_L4_UNSUPPORTED);
    expect_drop(f, run_v6(f, 50, esp, sizeof esp), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_L4_UNSUPPORTED);
    expect_drop(f, run_v6(f, 60, dst_then_none, sizeof dst_then_none), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_L4_UNSUPPORTED);
    assert_int_equal(f->p.proto, 59);
}

static void test_ipv6_icmpv6_ok(void **state)
{
    fixture *f = *state;
    static const uint8_t icmp6[] = {0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01};
    assert_int_equal(run_v6(f, 58, icmp6, sizeof icmp6), LW_DECODE_OK);
    assert_int_equal(f->p.proto, LW_PROTO_ICMPV6);
    assert_null(f->p.payload);
}

static void test_ipv6_exthdr_limit(void **state)
{
    fixture *f = *state;
    uint8_t body[9 * 8 + 8];
    /* eight Destination Options headers, then UDP: the most we walk */
    for (size_t i = 0; i < 8; i++) {
        const uint8_t ext[] = {EXT8(i == 7 ? 17 : 60)};
        memcpy(body + i * 8, ext, 8);
    }
    const uint8_t udp[] = {UDPH(8)};
    memcpy(body + 64, udp, 8);
    assert_int_equal(run_v6(f, 60, body, 72), LW_DECODE_OK);
    assert_int_equal(f->p.proto, LW_PROTO_UDP);
    assert_int_equal(f->p.sport, 12345);
    /* nine of them: one too many */
    for (size_t i = 0; i < 9; i++) {
        const uint8_t ext[] = {EXT8(i == 8 ? 17 : 60)};
        memcpy(body + i * 8, ext, 8);
    }
    memcpy(body + 72, udp, 8);
    expect_drop(f, run_v6(f, 60, body, 80), LW_DECODE_UNSUPPORTED,
                LW_DECODE_CTR_IPV6_EXTHDR_TOO_MANY);
}

static void test_ipv6_exthdr_invalid(void **state)
{
    fixture *f = *state;
    /* Hop-by-Hop anywhere but first */
    static const uint8_t hbh_late[] = {EXT8(0), EXT8(17), UDPH(8)};
    expect_drop(f, run_v6(f, 60, hbh_late, sizeof hbh_late), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_EXTHDR_INVALID);
    /* a header longer than the payload length leaves room for */
    static const uint8_t too_long[] = {17, 0x02, 0, 0, 0, 0, 0, 0, UDPH(8)}; /* 24 > 16 */
    expect_drop(f, run_v6(f, 60, too_long, sizeof too_long), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_EXTHDR_INVALID);
    /* payload length too short for even the first two bytes */
    expect_drop(f, run_v6(f, 60, too_long, 1), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_EXTHDR_INVALID);
    /* two Fragment headers */
    static const uint8_t two_frags[] = {FRAG6(44, 0x0001), FRAG6(17, 0x0001), UDPH(8)};
    expect_drop(f, run_v6(f, 44, two_frags, sizeof two_frags), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_EXTHDR_INVALID);
}

static void test_ipv6_exthdr_truncated(void **state)
{
    fixture *f = *state;
    /* payload length 72 on the wire, capture cut inside the AH header */
    expect_drop(f, run(f, DLT_EN10MB_, ipv6_chain_tcp, 90, sizeof ipv6_chain_tcp),
                LW_DECODE_TRUNCATED, LW_DECODE_CTR_IPV6_EXTHDR_TRUNCATED);
    /* cut between two headers: not even the next-header byte */
    expect_drop(f, run(f, DLT_EN10MB_, ipv6_chain_tcp, 62, sizeof ipv6_chain_tcp),
                LW_DECODE_TRUNCATED, LW_DECODE_CTR_IPV6_EXTHDR_TRUNCATED);
}

static void test_ipv6_first_fragment(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t body[] = {
        FRAG6(17, 0x0001),      /* Fragment: next UDP, offset 0, M */
        UDPH(100),              /* UDP length covers the whole datagram */
        1, 2, 3, 4, 5, 6, 7, 8, /* fragmentable part: 16 bytes, a multiple of 8 */
    };
    /* clang-format on */
    assert_int_equal(run_v6(f, 44, body, sizeof body), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
    assert_true(f->p.frag_more);
    assert_int_equal(f->p.frag_offset, 0);
    assert_int_equal(f->p.frag_id, 0xcafebabeu);
    check_frag(f, LW_PROTO_UDP, 62, 16, 16); /* after the Fragment header */
    assert_int_equal(f->p.proto, LW_PROTO_UDP);
    assert_int_equal(f->p.sport, 12345);
    assert_int_equal(f->p.payload_len, 8);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV6_FRAGMENT], 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_FRAGMENT], 0);
}

static void test_ipv6_later_fragment(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t body[] = {
        FRAG6(6, 0x0010),       /* Fragment: next TCP, offset 2*8 = 16, last */
        0xc3, 0x50, 0x00, 0x50, /* datagram bytes, not a TCP header */
        0, 0, 0, 0,             /* (8 bytes of fragment data) */
    };
    /* clang-format on */
    assert_int_equal(run_v6(f, 44, body, sizeof body), LW_DECODE_OK);
    assert_true(f->p.is_fragment);
    assert_false(f->p.frag_more);
    assert_int_equal(f->p.frag_offset, 16);
    check_frag(f, LW_PROTO_TCP, 62, 8, 8);
    assert_int_equal(f->p.proto, LW_PROTO_TCP);
    assert_int_equal(f->p.sport, 0);
    assert_int_equal(f->ctr[LW_DECODE_CTR_TCP], 0);
}

static void test_ipv6_atomic_fragment_is_whole(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t body[] = {
        FRAG6(17, 0x0000), /* Fragment: offset 0, no M (RFC 6946) */
        UDPH(9), 'z',      /* a whole datagram */
    };
    /* clang-format on */
    assert_int_equal(run_v6(f, 44, body, sizeof body), LW_DECODE_OK);
    assert_false(f->p.is_fragment);
    assert_null(f->p.frag_data);
    assert_int_equal(f->p.frag_data_len, 0);
    assert_int_equal(f->p.payload_len, 1);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV6_FRAGMENT], 0);
}

static void test_ipv6_fragment_after_ext_headers(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t body[] = {
        EXT8(43),                         /* Hop-by-Hop: next Routing */
        44, 0x00, 0x04, 0x00, 0, 0, 0, 0, /* Routing: next Fragment, type 4, 8 bytes */
        FRAG6(60, 0x0019),                /* Fragment: next Destination Options, 3*8, M */
        EXT8(17),                         /* fragment data: Destination Options ... */
        UDPH(100),                        /* ... and bytes that look like UDP */
    };
    /* clang-format on */
    assert_int_equal(run_v6(f, 0, body, sizeof body), LW_DECODE_OK);
    assert_int_equal(f->p.frag_offset, 24);
    assert_true(f->p.frag_more);
    /* the headers before the Fragment header are not data; those after are */
    check_frag(f, 60, 14 + 40 + 24, 16, 16);
    assert_int_equal(f->p.sport, 0);
    /* the same as a first fragment: decode walks on, the data is unchanged */
    uint8_t first[sizeof body];
    memcpy(first, body, sizeof first);
    first[19] = 0x01; /* offset 0, M */
    assert_int_equal(run_v6(f, 0, first, sizeof first), LW_DECODE_OK);
    check_frag(f, 60, 14 + 40 + 24, 16, 16);
    assert_int_equal(f->p.proto, LW_PROTO_UDP);
    assert_int_equal(f->p.sport, 12345);
}

static void test_ipv6_fragment_snapped(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t pkt[] = {
        IP6(24, 44),            /* payload length 24, next: Fragment */
        FRAG6(6, 0x0010),       /* next TCP, offset 16, last */
        1, 2, 3, 4, 5, 6, 7, 8, /* fragment data */
        1, 2, 3, 4, 5, 6, 7, 8, /* fragment data */
    };
    /* clang-format on */
    for (size_t cap = 48; cap <= sizeof pkt; cap++) {
        assert_int_equal(run(f, DLT_IPV6_, pkt, cap, sizeof pkt), LW_DECODE_OK);
        check_frag(f, LW_PROTO_TCP, 48, (uint32_t)(cap - 48), 16);
    }
}

static void test_ipv6_fragment_invalid(void **state)
{
    fixture *f = *state;
    /* clang-format off */
    static const uint8_t odd[] = {
        FRAG6(17, 0x0001), /* offset 0, M */
        UDPH(100), 1, 2,   /* 10 bytes: not a multiple of 8 */
    };
    /* clang-format on */
    expect_drop(f, run_v6(f, 44, odd, sizeof odd), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_FRAG_INVALID);
    assert_int_equal(f->ctr[LW_DECODE_CTR_IPV6_FRAGMENT], 1);
    /* clang-format off */
    static const uint8_t past64k[] = {
        FRAG6(17, 0xfff8),      /* offset 8191*8 = 65528, last */
        0, 0, 0, 0, 0, 0, 0, 0, /* fragment data: 16 bytes would end at 65544 */
        0, 0, 0, 0, 0, 0, 0, 0, /* fragment data */
    };
    /* clang-format on */
    expect_drop(f, run_v6(f, 44, past64k, sizeof past64k), LW_DECODE_INVALID,
                LW_DECODE_CTR_IPV6_FRAG_INVALID);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_counter_names_are_dotted_and_unique),
        T(test_counter_drop_classes),
        T(test_linktype_supported),
        T(test_eth_ipv4_tcp_fields),
        T(test_eth_ipv4_tcp_cuts_snapped),
        T(test_eth_ipv4_short_frame_is_invalid),
        T(test_eth_padding_trimmed),
        T(test_eth_padding_trimmed_tcp),
        T(test_eth_ipv4_udp_cuts),
        T(test_unsupported_linktype),
        T(test_eth_arp_unsupported),
        T(test_eth_8023_length_unsupported),
        T(test_eth_truncated),
        T(test_decode_clears_previous_packet),
        T(test_ipv4_invalid_version),
        T(test_ipv4_invalid_hlen),
        T(test_ipv4_totlen_below_hlen),
        T(test_ipv4_totlen_beyond_wire),
        T(test_ipv4_icmp_is_ok_without_payload),
        T(test_ipv4_esp_unsupported),
        T(test_ipv4_options_valid),
        T(test_ipv4_options_invalid),
        T(test_ipv4_options_cuts),
        T(test_ipv4_first_fragment_udp),
        T(test_ipv4_first_fragment_too_short_for_tcp),
        T(test_ipv4_later_fragment_has_no_transport),
        T(test_ipv4_middle_fragment_with_options),
        T(test_ipv4_fragment_snapped),
        T(test_ipv4_fragment_past_64k_invalid),
        T(test_tcp_options_valid),
        T(test_tcp_options_invalid_counted_not_dropped),
        T(test_tcp_options_cuts),
        T(test_tcp_offset_below_five),
        T(test_tcp_offset_past_segment),
        T(test_tcp_segment_shorter_than_header),
        T(test_tcp_payload_snapped),
        T(test_udp_length_ok),
        T(test_udp_length_below_ip_payload_trims),
        T(test_udp_length_invalid),
        T(test_vlan_ipv6_udp),
        T(test_vlan_ipv6_udp_cuts),
        T(test_qinq),
        T(test_qinq_cuts),
        T(test_vlan_too_deep),
        T(test_sll),
        T(test_sll_cuts),
        T(test_sll_vlan_and_llc),
        T(test_sll2),
        T(test_sll2_cuts),
        T(test_raw_ipv4_and_ipv6),
        T(test_raw_invalid_version),
        T(test_raw_cuts),
        T(test_null_both_byte_orders),
        T(test_null_unsupported_family),
        T(test_null_truncated_and_cuts),
        T(test_truncation_counters),
        T(test_ipv6_ext_chain),
        T(test_ipv6_ext_chain_cuts),
        T(test_ipv6_trailer_not_payload),
        T(test_ipv6_invalid_version),
        T(test_ipv6_plen_beyond_wire),
        T(test_ipv6_no_next_and_esp_unsupported),
        T(test_ipv6_icmpv6_ok),
        T(test_ipv6_exthdr_limit),
        T(test_ipv6_exthdr_invalid),
        T(test_ipv6_exthdr_truncated),
        T(test_ipv6_first_fragment),
        T(test_ipv6_later_fragment),
        T(test_ipv6_atomic_fragment_is_whole),
        T(test_ipv6_fragment_after_ext_headers),
        T(test_ipv6_fragment_snapped),
        T(test_ipv6_fragment_invalid),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
