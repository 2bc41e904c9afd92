/*
 * decode.h - link, network and transport decoding of one captured packet.
 *
 * lw_decode() reads p->data/caplen/linktype and fills in the decode fields
 * of the packet view (addresses, ports, TCP fields, payload pointer). It
 * reads only through the bounds-checked cursor, clamps every layer first to
 * what was captured and then to the length its header declares, and never
 * writes to the packet bytes.
 *
 * Outcome: LW_DECODE_OK when an IPv4/IPv6 header was decoded (the transport
 * fields are valid when p->proto is TCP or UDP and the packet is not a
 * non-first fragment); otherwise the packet is to be dropped, and exactly one
 * named counter said why. TRUNCATED means the capture cut the packet short
 * (snaplen or a short read); INVALID means the bytes contradict themselves.
 *
 * Details callers rely on:
 * - An IP packet whose transport is neither TCP nor UDP (ICMP, GRE, ...) is
 *   OK with p->proto set and no payload. One whose header chain ends in ESP
 *   (50) or No Next Header (59) is UNSUPPORTED (decode.l4.unsupported): there
 *   is no transport header to find.
 * - Every IP fragment is OK (so the defrag stage sees every piece) unless
 *   the fragment itself is impossible (decode.ip*.fragment_invalid). A first
 *   fragment carries ports and payload only when its whole transport header
 *   is inside it; otherwise sport/dport stay 0 and payload is NULL, and the
 *   transport checks run on the reassembled datagram.
 * - payload_len counts captured bytes; payload_wire_len the bytes the
 *   headers declare (for a first fragment: the bytes this fragment carries).
 */
#ifndef LEAKWATCH_DECODE_H
#define LEAKWATCH_DECODE_H

#include <stdint.h>

#include "leakwatch/types.h"

typedef enum lw_decode_result {
    LW_DECODE_OK = 0,
    LW_DECODE_TRUNCATED,
    LW_DECODE_INVALID,
    LW_DECODE_UNSUPPORTED, /* well-formed but nothing leakwatch inspects (ARP, ...) */
} lw_decode_result;

/*
 * Every decode counter: X(enum suffix, dotted stats name). A drop increments
 * exactly one of the truncated/invalid/unsupported/too_many counters.
 *
 * The first ten (PKTS .. IPV6_FRAGMENT) count traffic: a packet counts in a
 * layer counter once it reached that layer, whatever happened next. One
 * anomaly counter is not a drop: decode.tcp.invalid_options counts segments
 * whose TCP options are malformed, which are still decoded, because a
 * receiving stack (Linux tcp_parse_options) ignores such options and accepts
 * the segment; dropping it would let a sender hide data from the sensor.
 */
#define LW_DECODE_COUNTERS(X)                                                                      \
    X(PKTS, "decode.pkts")                                                                         \
    X(BYTES, "decode.bytes")                                                                       \
    X(IPV4, "decode.ipv4")                                                                         \
    X(IPV6, "decode.ipv6")                                                                         \
    X(TCP, "decode.tcp")                                                                           \
    X(UDP, "decode.udp")                                                                           \
    X(VLAN, "decode.vlan")                                                                         \
    X(VLAN_QINQ, "decode.vlan_qinq")                                                               \
    X(FRAGMENT, "decode.ipv4.fragment")                                                            \
    X(IPV6_FRAGMENT, "decode.ipv6.fragment")                                                       \
    X(LINKTYPE_UNSUPPORTED, "decode.link.unsupported")                                             \
    X(ETHERTYPE_UNSUPPORTED, "decode.ethernet.unsupported_type")                                   \
    X(ETH_TRUNCATED, "decode.ethernet.truncated")                                                  \
    X(VLAN_TRUNCATED, "decode.vlan.truncated")                                                     \
    X(VLAN_TOO_DEEP, "decode.vlan.too_many_layers")                                                \
    X(SLL_TRUNCATED, "decode.sll.truncated")                                                       \
    X(SLL2_TRUNCATED, "decode.sll2.truncated")                                                     \
    X(NULL_TRUNCATED, "decode.null.truncated")                                                     \
    X(NULL_UNSUPPORTED, "decode.null.unsupported_family")                                          \
    X(RAW_TRUNCATED, "decode.raw.truncated")                                                       \
    X(RAW_INVALID_VERSION, "decode.raw.invalid_version")                                           \
    X(IPV4_TRUNCATED, "decode.ipv4.truncated")                                                     \
    X(IPV4_INVALID_VERSION, "decode.ipv4.invalid_version")                                         \
    X(IPV4_INVALID_HLEN, "decode.ipv4.invalid_header_length")                                      \
    X(IPV4_INVALID_TOTLEN, "decode.ipv4.invalid_total_length")                                     \
    X(IPV4_INVALID_OPTIONS, "decode.ipv4.invalid_options")                                         \
    X(IPV4_FRAG_INVALID, "decode.ipv4.fragment_invalid")                                           \
    X(IPV6_TRUNCATED, "decode.ipv6.truncated")                                                     \
    X(IPV6_INVALID_VERSION, "decode.ipv6.invalid_version")                                         \
    X(IPV6_INVALID_PLEN, "decode.ipv6.invalid_payload_length")                                     \
    X(IPV6_EXTHDR_TRUNCATED, "decode.ipv6.exthdr_truncated")                                       \
    X(IPV6_EXTHDR_TOO_MANY, "decode.ipv6.exthdr_too_many")                                         \
    X(IPV6_EXTHDR_INVALID, "decode.ipv6.exthdr_invalid")                                           \
    X(IPV6_FRAG_INVALID, "decode.ipv6.fragment_invalid")                                           \
    X(TCP_TRUNCATED, "decode.tcp.truncated")                                                       \
    X(TCP_INVALID_HLEN, "decode.tcp.invalid_header_length")                                        \
    X(TCP_INVALID_OPTIONS, "decode.tcp.invalid_options")                                           \
    X(UDP_TRUNCATED, "decode.udp.truncated")                                                       \
    X(UDP_INVALID_LEN, "decode.udp.invalid_length")                                                \
    X(L4_UNSUPPORTED, "decode.l4.unsupported")

#define LW_DECODE_ENUM_(name, str) LW_DECODE_CTR_##name,
enum lw_decode_counter { LW_DECODE_COUNTERS(LW_DECODE_ENUM_) LW_DECODE_CTR_MAX };
#undef LW_DECODE_ENUM_

/* Dotted stats names, indexed by enum lw_decode_counter. */
extern const char *const lw_decode_counter_names[LW_DECODE_CTR_MAX];

/* True when counter c is a drop reason (one of them counts per dropped packet). */
bool lw_decode_counter_is_drop(enum lw_decode_counter c);

/* The link type to give lw_decode() for a bare IPv4/IPv6 packet (DLT_RAW). */
#define LW_DECODE_LINKTYPE_RAW 12

/* True when libpcap link type `dlt` is one lw_decode() understands. */
bool lw_decode_linktype_supported(int dlt);

/*
 * Decodes p (capture fields set) and fills the decode fields. Increments
 * counters[LW_DECODE_CTR_PKTS] and BYTES, the per-layer counters it passes,
 * and on a drop exactly one reason counter. `counters` has LW_DECODE_CTR_MAX
 * entries owned by the caller (one array per worker).
 */
lw_decode_result lw_decode(lw_packet *p, uint64_t *counters);

#endif
