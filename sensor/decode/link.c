/*
 * link.c - the link layers: Ethernet, 802.1Q/802.1ad tags, Linux cooked
 * capture (SLL v1 and v2), raw IP and BSD null/loopback.
 *
 * Each decoder reads its fixed header through the cursor, records what the
 * packet view keeps (VLAN ids), and hands the rest to the layer its type
 * field names through the dispatch table. A link header that does not fit
 * in the captured bytes is that link's own truncated counter; a type field
 * leakwatch does not follow (ARP, LLDP, an 802.3 length field, an LLC frame
 * inside SLL) is decode.ethernet.unsupported_type.
 *
 * Formats (all multi-byte fields network order unless said otherwise):
 * - Ethernet II (IEEE 802.3 clause 3.2.6): dst(6) src(6) type(2). A type
 *   below 0x0600 is an 802.3 length and no Ethertype: unsupported. Trailer
 *   padding and a captured FCS are left in the cursor; the IP layer clamps
 *   them away with its own declared length.
 * - IEEE 802.1Q / 802.1ad tag: TCI(2) = PCP(3) DEI(1) VID(12), then the
 *   inner type(2). Outer 0x8100, 0x88A8 or the pre-standard 0x9100. Two tags
 *   are decoded; a third is decode.vlan.too_many_layers.
 * - Linux SLL (LINKTYPE_LINUX_SLL, 113): pkttype(2) hatype(2) halen(2)
 *   addr(8) protocol(2) = 16 bytes.
 * - Linux SLL2 (LINKTYPE_LINUX_SLL2, 276): protocol(2) reserved(2)
 *   ifindex(4) hatype(2) pkttype(1) halen(1) addr(8) = 20 bytes.
 *   In both, protocol is an Ethertype for the frames we care about (values
 *   below 0x0600 mean 802.3/802.2/CAN and are unsupported).
 * - Raw IP (DLT_RAW 12, LINKTYPE_RAW 101): the version nibble says 4 or 6.
 *   DLT_IPV4 (228) and DLT_IPV6 (229) go straight to the IP decoders.
 * - BSD loopback: a 4-byte address family, in the capturing host's byte
 *   order for DLT_NULL (so both orders are accepted: a family is below
 *   65536, the wrong-order reading is not) and network order for DLT_LOOP.
 */
#include "decode_internal.h"

#define ETH_HDR_LEN  14
#define VLAN_TAG_LEN 4
#define SLL_HDR_LEN  16
#define SLL2_HDR_LEN 20
#define NULL_HDR_LEN 4

lw_decode_result lw_decode_ethernet(lw_decode_ctx *d, lw_cursor c)
{
    if (!lw_cur_has(&c, ETH_HDR_LEN))
        return lw_decode_drop(d, LW_DECODE_CTR_ETH_TRUNCATED, LW_DECODE_TRUNCATED);
    lw_cur_skip(&c, 12); /* destination and source MAC */
    uint16_t type = lw_cur_u16be(&c);
    return lw_decode_ethertype(d, type, c);
}

lw_decode_result lw_decode_vlan(lw_decode_ctx *d, lw_cursor c)
{
    lw_packet *p = d->p;

    if (p->vlan_count >= LW_DECODE_VLAN_MAX)
        return lw_decode_drop(d, LW_DECODE_CTR_VLAN_TOO_DEEP, LW_DECODE_UNSUPPORTED);
    d->ctr[p->vlan_count == 0 ? LW_DECODE_CTR_VLAN : LW_DECODE_CTR_VLAN_QINQ]++;

    if (!lw_cur_has(&c, VLAN_TAG_LEN))
        return lw_decode_drop(d, LW_DECODE_CTR_VLAN_TRUNCATED, LW_DECODE_TRUNCATED);
    uint16_t tci = lw_cur_u16be(&c);
    uint16_t type = lw_cur_u16be(&c);

    p->vlan[p->vlan_count] = tci & 0x0FFF; /* VID; 0 is a priority-only tag */
    p->vlan_count++;
    return lw_decode_ethertype(d, type, c);
}

lw_decode_result lw_decode_sll(lw_decode_ctx *d, lw_cursor c)
{
    if (!lw_cur_has(&c, SLL_HDR_LEN))
        return lw_decode_drop(d, LW_DECODE_CTR_SLL_TRUNCATED, LW_DECODE_TRUNCATED);
    lw_cur_skip(&c, 14); /* pkttype, hatype, halen, address */
    uint16_t proto = lw_cur_u16be(&c);
    return lw_decode_ethertype(d, proto, c);
}

lw_decode_result lw_decode_sll2(lw_decode_ctx *d, lw_cursor c)
{
    if (!lw_cur_has(&c, SLL2_HDR_LEN))
        return lw_decode_drop(d, LW_DECODE_CTR_SLL2_TRUNCATED, LW_DECODE_TRUNCATED);
    uint16_t proto = lw_cur_u16be(&c);
    lw_cur_skip(&c, 18); /* reserved, ifindex, hatype, pkttype, halen, address */
    return lw_decode_ethertype(d, proto, c);
}

lw_decode_result lw_decode_raw(lw_decode_ctx *d, lw_cursor c)
{
    lw_cursor peek = c;
    if (!lw_cur_has(&peek, 1))
        return lw_decode_drop(d, LW_DECODE_CTR_RAW_TRUNCATED, LW_DECODE_TRUNCATED);
    switch (lw_cur_u8(&peek) >> 4) {
    case 4:
        return lw_decode_ipv4(d, c);
    case 6:
        return lw_decode_ipv6(d, c);
    default:
        return lw_decode_drop(d, LW_DECODE_CTR_RAW_INVALID_VERSION, LW_DECODE_INVALID);
    }
}

static lw_decode_result decode_family(lw_decode_ctx *d, uint32_t family, lw_cursor c)
{
    lw_layer_fn fn = lw_decode_next(LW_LAYER_NULL_FAMILY, family);
    if (fn == NULL)
        return lw_decode_drop(d, LW_DECODE_CTR_NULL_UNSUPPORTED, LW_DECODE_UNSUPPORTED);
    return fn(d, c);
}

lw_decode_result lw_decode_null(lw_decode_ctx *d, lw_cursor c)
{
    if (!lw_cur_has(&c, NULL_HDR_LEN))
        return lw_decode_drop(d, LW_DECODE_CTR_NULL_TRUNCATED, LW_DECODE_TRUNCATED);
    /* The capturing host's order, which need not be ours: every family
     * number is below 65536, so the reading that is small is the right one. */
    lw_cursor be = c;
    uint32_t family = lw_cur_u32le(&c);
    if (family > 0xFFFF)
        family = lw_cur_u32be(&be);
    return decode_family(d, family, c);
}

lw_decode_result lw_decode_loop(lw_decode_ctx *d, lw_cursor c)
{
    if (!lw_cur_has(&c, NULL_HDR_LEN))
        return lw_decode_drop(d, LW_DECODE_CTR_NULL_TRUNCATED, LW_DECODE_TRUNCATED);
    uint32_t family = lw_cur_u32be(&c);
    return decode_family(d, family, c);
}
