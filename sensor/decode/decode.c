/*
 * decode.c - the entry point of packet decoding and its dispatch table.
 *
 * lw_decode() clears the decode fields of the packet view, counts the packet
 * and hands a cursor over the captured bytes to the decoder of the capture's
 * link type. From there each layer picks the next one by looking up
 * (layer, type) in one static table, the way Zeek's packet analyzers are
 * wired by a dispatcher: adding a protocol is one row here plus its decoder,
 * and no decoder knows which decoders exist above it.
 *
 * Invariants:
 * - Every packet counts in decode.pkts and decode.bytes (caplen), dropped or
 *   not; a dropped packet counts in exactly one drop-reason counter, which
 *   the layer that gave up increments (lw_decode_drop).
 * - Nothing left by the previous packet survives: all decode fields are
 *   zeroed before the first byte is read.
 * - Work is bounded by the table size and the per-layer caps (two VLAN tags,
 *   eight IPv6 extension headers, 40 bytes of IPv4 options, 40 of TCP's).
 *
 * A linear scan of a table of sixteen rows costs less than a branch miss of
 * a hash; the table is const and shared by every worker.
 */
#include "leakwatch/decode.h"

#include <stddef.h>
#include <string.h>

#include "decode_internal.h"

#define LW_DECODE_NAME_(name, str) [LW_DECODE_CTR_##name] = str,
const char *const lw_decode_counter_names[LW_DECODE_CTR_MAX] = {
    LW_DECODE_COUNTERS(LW_DECODE_NAME_)};
#undef LW_DECODE_NAME_

struct dispatch_row {
    lw_decode_layer layer;
    uint32_t type;
    lw_layer_fn fn;
};

static const struct dispatch_row dispatch_table[] = {
    /* link types */
    {LW_LAYER_LINK, LW_DLT_EN10MB, lw_decode_ethernet},
    {LW_LAYER_LINK, LW_DLT_LINUX_SLL, lw_decode_sll},
    {LW_LAYER_LINK, LW_DLT_LINUX_SLL2, lw_decode_sll2},
    {LW_LAYER_LINK, LW_DLT_RAW, lw_decode_raw},
    {LW_LAYER_LINK, LW_LINKTYPE_RAW, lw_decode_raw},
    {LW_LAYER_LINK, LW_DLT_IPV4, lw_decode_ipv4},
    {LW_LAYER_LINK, LW_DLT_IPV6, lw_decode_ipv6},
    {LW_LAYER_LINK, LW_DLT_NULL, lw_decode_null},
    {LW_LAYER_LINK, LW_DLT_LOOP, lw_decode_loop},
    /* Ethertypes (after Ethernet, a VLAN tag, SLL or SLL2) */
    {LW_LAYER_ETHERTYPE, LW_ETH_IPV4, lw_decode_ipv4},
    {LW_LAYER_ETHERTYPE, LW_ETH_IPV6, lw_decode_ipv6},
    {LW_LAYER_ETHERTYPE, LW_ETH_VLAN, lw_decode_vlan},
    {LW_LAYER_ETHERTYPE, LW_ETH_QINQ, lw_decode_vlan},
    {LW_LAYER_ETHERTYPE, LW_ETH_QINQ_OLD, lw_decode_vlan},
    /* BSD address families: AF_INET everywhere; AF_INET6 is 24 on NetBSD and
     * OpenBSD, 28 on FreeBSD and DragonFly, 30 on macOS */
    {LW_LAYER_NULL_FAMILY, 2, lw_decode_ipv4},
    {LW_LAYER_NULL_FAMILY, 24, lw_decode_ipv6},
    {LW_LAYER_NULL_FAMILY, 28, lw_decode_ipv6},
    {LW_LAYER_NULL_FAMILY, 30, lw_decode_ipv6},
    /* transports */
    {LW_LAYER_IPPROTO, LW_PROTO_TCP, lw_decode_tcp},
    {LW_LAYER_IPPROTO, LW_PROTO_UDP, lw_decode_udp},
};

lw_layer_fn lw_decode_next(lw_decode_layer layer, uint32_t type)
{
    for (size_t i = 0; i < sizeof dispatch_table / sizeof dispatch_table[0]; i++) {
        if (dispatch_table[i].layer == layer && dispatch_table[i].type == type)
            return dispatch_table[i].fn;
    }
    return NULL;
}

lw_decode_result lw_decode_ethertype(lw_decode_ctx *d, uint16_t type, lw_cursor c)
{
    lw_layer_fn fn = lw_decode_next(LW_LAYER_ETHERTYPE, type);
    if (fn == NULL)
        return lw_decode_drop(d, LW_DECODE_CTR_ETHERTYPE_UNSUPPORTED, LW_DECODE_UNSUPPORTED);
    return fn(d, c);
}

lw_decode_result lw_decode_transport(lw_decode_ctx *d, uint8_t proto, lw_cursor c,
                                     uint32_t wire_len, bool first_frag)
{
    d->p->proto = proto;
    d->l4_wire_len = wire_len;
    d->l4_first_frag = first_frag;

    lw_layer_fn fn = lw_decode_next(LW_LAYER_IPPROTO, proto);
    if (fn != NULL)
        return fn(d, c);
    /* ESP hides its next header in an encrypted trailer and No Next Header
     * says nothing follows: there is no transport to look at. A fragment
     * still goes to defrag whatever it carries. */
    if (!first_frag && (proto == LW_IPPROTO_ESP || proto == LW_IPPROTO_NONE))
        return lw_decode_drop(d, LW_DECODE_CTR_L4_UNSUPPORTED, LW_DECODE_UNSUPPORTED);
    /* ICMP, GRE, SCTP, ...: a valid IP packet the engine does not inspect. */
    return LW_DECODE_OK;
}

bool lw_decode_counter_is_drop(enum lw_decode_counter c)
{
    switch (c) {
    case LW_DECODE_CTR_PKTS:
    case LW_DECODE_CTR_BYTES:
    case LW_DECODE_CTR_IPV4:
    case LW_DECODE_CTR_IPV6:
    case LW_DECODE_CTR_TCP:
    case LW_DECODE_CTR_UDP:
    case LW_DECODE_CTR_VLAN:
    case LW_DECODE_CTR_VLAN_QINQ:
    case LW_DECODE_CTR_FRAGMENT:
    case LW_DECODE_CTR_IPV6_FRAGMENT:
    case LW_DECODE_CTR_TCP_INVALID_OPTIONS: /* an anomaly; the segment is kept */
    case LW_DECODE_CTR_MAX:
        return false;
    default:
        return true;
    }
}

bool lw_decode_linktype_supported(int dlt)
{
    return dlt >= 0 && lw_decode_next(LW_LAYER_LINK, (uint32_t)dlt) != NULL;
}

lw_decode_result lw_decode(lw_packet *p, uint64_t *counters)
{
    /* Everything from ip_version on is decode output: clear it all,
     * padding included, so no field outlives the packet it described. */
    memset(&p->ip_version, 0, sizeof *p - offsetof(lw_packet, ip_version));

    counters[LW_DECODE_CTR_PKTS]++;
    counters[LW_DECODE_CTR_BYTES] += p->caplen;

    lw_decode_ctx d = {
        .p = p,
        .ctr = counters,
        .wire_extra = p->wirelen > p->caplen ? p->wirelen - p->caplen : 0,
    };
    /* A view without bytes decodes as an empty capture (never NULL + 0). */
    static const uint8_t no_bytes[1];
    lw_cursor c = p->data != NULL ? lw_cur_make(p->data, p->caplen) : lw_cur_make(no_bytes, 0);

    lw_layer_fn fn = p->linktype >= 0 ? lw_decode_next(LW_LAYER_LINK, (uint32_t)p->linktype) : NULL;
    if (fn == NULL)
        return lw_decode_drop(&d, LW_DECODE_CTR_LINKTYPE_UNSUPPORTED, LW_DECODE_UNSUPPORTED);
    return fn(&d, c);
}
