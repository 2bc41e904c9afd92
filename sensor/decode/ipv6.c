/*
 * ipv6.c - the IPv6 header and its extension-header chain (RFC 8200).
 *
 * Header: version/traffic class/flow label(4) payload length(2) next
 * header(1) hop limit(1) source(16) destination(16) = 40 bytes.
 *
 * Lengths: the captured bytes bound every read; the payload length then
 * bounds the packet (Ethernet padding after it is not payload). A payload
 * length beyond what the frame had on the wire (captured plus what the
 * snaplen cut) is invalid; beyond the captured bytes only, it is a snaplen
 * cut and the packet is kept with a short payload. Jumbograms (RFC 2675,
 * payload length 0 with a Jumbo option) do not occur on the links we read
 * and are not decoded.
 *
 * The chain: Hop-by-Hop (0, only directly after the header), Routing (43),
 * Fragment (44, 8 bytes, once), Destination Options (60), AH (51, length in
 * 4-byte units plus 2, RFC 4302) and the RFC 6564 uniform-format headers
 * Mobility (135), HIP (139) and Shim6 (140), whose length is in 8-byte units
 * not counting the first 8. The walk stops at the first other next-header
 * value, which is the transport. At most eight extension headers are walked
 * (bounded work, and more than that is not seen in honest traffic):
 * the ninth is decode.ipv6.exthdr_too_many. A header that does not fit in
 * the declared payload, a Hop-by-Hop header that is not first and a second
 * Fragment header are decode.ipv6.exthdr_invalid; a header that fits the
 * declared payload but not the capture is decode.ipv6.exthdr_truncated.
 *
 * Fragment header: next(1) reserved(1) offset(13 bits)/res(2)/M(1) id(4).
 * Offset 0 with M clear is an atomic fragment (RFC 6946): a whole packet,
 * decoded as such. Otherwise the packet is a fragment: a non-first one ends
 * the decode (its next-header bytes are fragment data); a first one goes on.
 * frag_data is everything after the Fragment header up to the payload
 * length (captured bytes in frag_data_len, declared in frag_data_wire_len):
 * headers before it (Hop-by-Hop, Routing) are the unfragmentable part and
 * stay behind; headers after it are fragment data like the transport.
 * RFC 8200 section 4.5 makes a receiver discard a fragment with M set whose
 * length is not a multiple of 8, and one that would end past 65535 bytes:
 * decode.ipv6.fragment_invalid.
 */
#include "decode_internal.h"

#define IPV6_HDR_LEN   40
#define IPV6_MAX_DGRAM 65535u

static bool is_exthdr(uint8_t nh)
{
    switch (nh) {
    case LW_IPPROTO_HOPOPTS:
    case LW_IPPROTO_ROUTING:
    case LW_IPPROTO_FRAGMENT:
    case LW_IPPROTO_DSTOPTS:
    case LW_IPPROTO_AH:
    case LW_IPPROTO_MOBILITY:
    case LW_IPPROTO_HIP:
    case LW_IPPROTO_SHIM6:
        return true;
    default:
        return false;
    }
}

static size_t exthdr_len(uint8_t nh, uint8_t len_field)
{
    if (nh == LW_IPPROTO_FRAGMENT)
        return 8;
    if (nh == LW_IPPROTO_AH)
        return ((size_t)len_field + 2) * 4;
    return ((size_t)len_field + 1) * 8;
}

lw_decode_result lw_decode_ipv6(lw_decode_ctx *d, lw_cursor c)
{
    lw_packet *p = d->p;
    d->ctr[LW_DECODE_CTR_IPV6]++;

    size_t cap = lw_cur_left(&c);
    lw_cursor peek = c;
    if (cap < 1)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV6_TRUNCATED, LW_DECODE_TRUNCATED);
    if (lw_cur_u8(&peek) >> 4 != 6)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV6_INVALID_VERSION, LW_DECODE_INVALID);
    if (cap < IPV6_HDR_LEN)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV6_TRUNCATED, LW_DECODE_TRUNCATED);

    lw_cur_skip(&c, 4); /* version, traffic class, flow label */
    uint16_t plen = lw_cur_u16be(&c);
    uint8_t nh = lw_cur_u8(&c);
    lw_cur_skip(&c, 1); /* hop limit */
    p->src.family = 6;
    lw_cur_copy(&c, p->src.b, 16);
    p->dst.family = 6;
    lw_cur_copy(&c, p->dst.b, 16);

    if ((uint64_t)plen > (uint64_t)(cap - IPV6_HDR_LEN) + d->wire_extra)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV6_INVALID_PLEN, LW_DECODE_INVALID);
    p->ip_version = 6;
    p->proto = nh;
    lw_cur_clamp(&c, plen);

    uint32_t declared = plen; /* declared bytes after the headers walked so far */
    bool seen_frag = false;
    for (unsigned n = 0; is_exthdr(nh); n++) {
        if (n == LW_DECODE_IPV6_EXTHDR_MAX)
            return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_TOO_MANY, LW_DECODE_UNSUPPORTED);
        if (nh == LW_IPPROTO_HOPOPTS && n != 0)
            return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_INVALID, LW_DECODE_INVALID);
        if (declared < 2)
            return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_INVALID, LW_DECODE_INVALID);
        if (lw_cur_left(&c) < 2)
            return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_TRUNCATED, LW_DECODE_TRUNCATED);

        peek = c;
        uint8_t next = lw_cur_u8(&peek);
        size_t len = exthdr_len(nh, lw_cur_u8(&peek));
        if (len > declared)
            return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_INVALID, LW_DECODE_INVALID);
        if (len > lw_cur_left(&c))
            return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_TRUNCATED, LW_DECODE_TRUNCATED);
        lw_cursor h = lw_cur_sub(&c, len);
        declared -= (uint32_t)len;

        if (nh == LW_IPPROTO_FRAGMENT) {
            if (seen_frag)
                return lw_decode_drop(d, LW_DECODE_CTR_IPV6_EXTHDR_INVALID, LW_DECODE_INVALID);
            seen_frag = true;
            lw_cur_skip(&h, 2); /* next header, reserved */
            uint16_t offlg = lw_cur_u16be(&h);
            uint32_t id = lw_cur_u32be(&h);
            uint32_t offset = (uint32_t)(offlg >> 3) * 8u;
            bool more = (offlg & 1) != 0;
            if (offset != 0 || more) {
                d->ctr[LW_DECODE_CTR_IPV6_FRAGMENT]++;
                p->is_fragment = true;
                p->frag_id = id;
                p->frag_offset = offset;
                p->frag_more = more;
                p->proto = next;
                p->frag_proto = next;
                p->frag_data = lw_cur_left(&c) > 0 ? c.ptr : NULL;
                p->frag_data_len = (uint32_t)lw_cur_left(&c);
                p->frag_data_wire_len = declared;
                if ((more && (declared == 0 || declared % 8 != 0)) ||
                    offset + declared > IPV6_MAX_DGRAM)
                    return lw_decode_drop(d, LW_DECODE_CTR_IPV6_FRAG_INVALID, LW_DECODE_INVALID);
                if (offset != 0)
                    return LW_DECODE_OK; /* the rest of the chain is in fragment 0 */
            }
        }
        nh = next;
        p->proto = nh;
    }
    return lw_decode_transport(d, nh, c, declared, p->is_fragment);
}
