/*
 * decode_internal.h - what the per-layer decoders of sensor/decode/ share.
 *
 * Every layer decoder has one signature, lw_layer_fn: it gets the decode
 * context and a cursor over the bytes from the start of its header to the
 * end of what the layers below allow (captured bytes, already clamped to any
 * length an outer header declared). It reads its header, fills in its fields
 * of the packet view, picks the next layer through lw_decode_next() (the
 * static (layer, type) table in decode.c) and returns that layer's result,
 * or returns a drop after counting exactly one reason.
 *
 * Not a public header: only the files of this folder include it.
 */
#ifndef LEAKWATCH_DECODE_INTERNAL_H
#define LEAKWATCH_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "leakwatch/cursor.h"
#include "leakwatch/decode.h"
#include "leakwatch/types.h"

/* libpcap link types (the LINKTYPE_/DLT_ numbers of tcpdump.org's registry,
 * as pcap_datalink() reports them on Linux). */
enum {
    LW_DLT_NULL = 0,         /* BSD loopback, family in the capturing host's order */
    LW_DLT_EN10MB = 1,       /* Ethernet */
    LW_DLT_RAW = 12,         /* raw IPv4/IPv6 (DLT_RAW on Linux) */
    LW_LINKTYPE_RAW = 101,   /* raw IPv4/IPv6 (the number in pcap files) */
    LW_DLT_LOOP = 108,       /* OpenBSD loopback, family in network order */
    LW_DLT_LINUX_SLL = 113,  /* Linux cooked capture v1 */
    LW_DLT_IPV4 = 228,       /* raw IPv4 only */
    LW_DLT_IPV6 = 229,       /* raw IPv6 only */
    LW_DLT_LINUX_SLL2 = 276, /* Linux cooked capture v2 */
};

/* Ethertypes leakwatch follows. */
enum {
    LW_ETH_IPV4 = 0x0800,
    LW_ETH_IPV6 = 0x86DD,
    LW_ETH_VLAN = 0x8100,     /* IEEE 802.1Q customer tag */
    LW_ETH_QINQ = 0x88A8,     /* IEEE 802.1ad service tag */
    LW_ETH_QINQ_OLD = 0x9100, /* pre-standard QinQ outer tag, still in the field */
};

/* IP protocol numbers the decoders treat specially. */
enum {
    LW_IPPROTO_HOPOPTS = 0,
    LW_IPPROTO_ROUTING = 43,
    LW_IPPROTO_FRAGMENT = 44,
    LW_IPPROTO_ESP = 50,
    LW_IPPROTO_AH = 51,
    LW_IPPROTO_NONE = 59,
    LW_IPPROTO_DSTOPTS = 60,
    LW_IPPROTO_MOBILITY = 135,
    LW_IPPROTO_HIP = 139,
    LW_IPPROTO_SHIM6 = 140,
};

#define LW_DECODE_VLAN_MAX        2 /* tags decoded; one more is VLAN_TOO_DEEP */
#define LW_DECODE_IPV6_EXTHDR_MAX 8 /* extension headers walked; more is EXTHDR_TOO_MANY */

/* The dispatch layers: what the `type` of a table key means. */
typedef enum lw_decode_layer {
    LW_LAYER_LINK,        /* type = libpcap link type */
    LW_LAYER_ETHERTYPE,   /* type = Ethernet protocol (Ethernet, VLAN, SLL, SLL2) */
    LW_LAYER_NULL_FAMILY, /* type = BSD address family of DLT_NULL / DLT_LOOP */
    LW_LAYER_IPPROTO,     /* type = IP protocol of the transport header */
} lw_decode_layer;

typedef struct lw_decode_ctx {
    lw_packet *p;
    uint64_t *ctr;       /* LW_DECODE_CTR_MAX entries */
    uint32_t wire_extra; /* wirelen - caplen: bytes the snaplen cut off the end */
    /* set by the IP layer for the transport decoder */
    uint32_t l4_wire_len; /* transport bytes the IP header declares */
    bool l4_first_frag;   /* the transport header is in a first fragment */
} lw_decode_ctx;

typedef lw_decode_result (*lw_layer_fn)(lw_decode_ctx *d, lw_cursor c);

/* The decoder for (layer, type) from the static table, or NULL. */
lw_layer_fn lw_decode_next(lw_decode_layer layer, uint32_t type);

/* Dispatches on an Ethertype; an unknown one is ETHERTYPE_UNSUPPORTED. */
lw_decode_result lw_decode_ethertype(lw_decode_ctx *d, uint16_t type, lw_cursor c);

/*
 * Dispatches on the transport protocol once the IP layer is done: c covers
 * the captured transport bytes (clamped to the declared length), wire_len is
 * the declared length, first_frag says c is the start of a fragmented
 * datagram.
 */
lw_decode_result lw_decode_transport(lw_decode_ctx *d, uint8_t proto, lw_cursor c,
                                     uint32_t wire_len, bool first_frag);

/* Counts one drop reason and returns the outcome. */
static inline lw_decode_result lw_decode_drop(lw_decode_ctx *d, enum lw_decode_counter reason,
                                              lw_decode_result r)
{
    d->ctr[reason]++;
    return r;
}

/* Link layers (link.c). */
lw_decode_result lw_decode_ethernet(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_vlan(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_sll(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_sll2(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_raw(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_null(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_loop(lw_decode_ctx *d, lw_cursor c);

/* Network layers (ipv4.c, ipv6.c). */
lw_decode_result lw_decode_ipv4(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_ipv6(lw_decode_ctx *d, lw_cursor c);

/* Transport layers (l4.c). */
lw_decode_result lw_decode_tcp(lw_decode_ctx *d, lw_cursor c);
lw_decode_result lw_decode_udp(lw_decode_ctx *d, lw_cursor c);

#endif
