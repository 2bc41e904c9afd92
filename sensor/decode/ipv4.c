/*
 * ipv4.c - the IPv4 header (RFC 791): validation, options, fragments.
 *
 * Header: version/IHL(1) TOS(1) total length(2) id(2) flags/offset(2)
 * TTL(1) protocol(1) checksum(2) source(4) destination(4), then IHL*4-20
 * bytes of options.
 *
 * Lengths, in the order they are trusted:
 * - the captured bytes bound every read (the cursor);
 * - the total length then bounds the datagram: Ethernet trailer padding or
 *   a captured FCS after it never becomes payload;
 * - a total length shorter than the header, or longer than the frame was on
 *   the wire (captured bytes plus what the snaplen cut off), is a header
 *   contradicting itself: invalid, not truncated. A total length beyond the
 *   captured bytes but within the wire length is a snaplen cut: the packet
 *   is kept and its payload is shorter than declared.
 *
 * Options are walked the way a receiving stack does (Linux
 * ip_options_compile): End of List stops the walk and the rest is padding;
 * No Operation is one byte; every other option has a length byte of at least
 * 2 that stays inside the options area. Record Route, the source routes and
 * Timestamp need their pointer to be in range, Router Alert four bytes. A
 * receiver discards a datagram whose options break these rules, so we drop
 * it too (decode.ipv4.invalid_options). The checksum is not verified: a
 * sensor on a SPAN port sees offloaded checksums that were never filled in.
 *
 * Fragments (MF set or offset non-zero) are counted and described in the
 * packet view. frag_data is everything after the header (options belong to
 * the header, not to the fragment), clamped like a payload: the captured
 * bytes in frag_data_len, the total length's share in frag_data_wire_len;
 * defrag copies exactly those bytes. A non-first fragment has no transport
 * header and is OK as it is; a first fragment goes on to the transport
 * decoder, which looks for ports only when the whole transport header is
 * inside it. A fragment whose
 * end would lie past 65535 bytes cannot be reassembled (the "ping of death")
 * and is dropped as decode.ipv4.fragment_invalid.
 */
#include "decode_internal.h"

#define IPV4_MIN_HLEN   20
#define IPV4_MAX_DGRAM  65535u
#define IPV4_FLAG_MF    0x2000u
#define IPV4_OFFSET_MSK 0x1FFFu

enum {
    IPOPT_EOL = 0,
    IPOPT_NOP = 1,
    IPOPT_RR = 7,
    IPOPT_TS = 68,
    IPOPT_LSRR = 131,
    IPOPT_SSRR = 137,
    IPOPT_RA = 148,
};

/* The per-option rules a receiver enforces; len includes type and length. */
static bool option_valid(uint8_t type, uint8_t len, lw_cursor body)
{
    switch (type) {
    case IPOPT_RR:
    case IPOPT_LSRR:
    case IPOPT_SSRR:
        /* pointer(1), then route data; the pointer counts from the option's
         * first byte and points past type, length and itself */
        return len >= 3 && lw_cur_u8(&body) >= 4;
    case IPOPT_TS:
        /* pointer(1), overflow/flags(1), then stamps; pointer at least 5 */
        return len >= 4 && lw_cur_u8(&body) >= 5;
    case IPOPT_RA:
        return len >= 4; /* RFC 2113: type, length, two bytes of value */
    default:
        return true; /* unknown options are skipped by their length */
    }
}

/* Walks the options area; at most 40 bytes, one byte or more per step. */
static bool options_valid(lw_cursor o)
{
    while (lw_cur_left(&o) > 0) {
        uint8_t type = lw_cur_u8(&o);
        if (type == IPOPT_EOL)
            return true; /* the rest is padding */
        if (type == IPOPT_NOP)
            continue;
        if (lw_cur_left(&o) < 1)
            return false; /* no room for the length byte */
        uint8_t len = lw_cur_u8(&o);
        if (len < 2 || (size_t)(len - 2) > lw_cur_left(&o))
            return false;
        lw_cursor body = lw_cur_sub(&o, (size_t)len - 2);
        if (!option_valid(type, len, body))
            return false;
    }
    return true;
}

lw_decode_result lw_decode_ipv4(lw_decode_ctx *d, lw_cursor c)
{
    lw_packet *p = d->p;
    d->ctr[LW_DECODE_CTR_IPV4]++;

    size_t cap = lw_cur_left(&c);
    uint64_t wire = (uint64_t)cap + d->wire_extra;

    if (cap < 1)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_TRUNCATED, LW_DECODE_TRUNCATED);
    uint8_t vihl = lw_cur_u8(&c);
    if (vihl >> 4 != 4)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_INVALID_VERSION, LW_DECODE_INVALID);
    size_t hlen = (size_t)(vihl & 0x0F) * 4;
    if (hlen < IPV4_MIN_HLEN)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_INVALID_HLEN, LW_DECODE_INVALID);
    if (cap < IPV4_MIN_HLEN)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_TRUNCATED, LW_DECODE_TRUNCATED);

    lw_cur_skip(&c, 1); /* TOS */
    uint16_t totlen = lw_cur_u16be(&c);
    uint16_t id = lw_cur_u16be(&c);
    uint16_t frag = lw_cur_u16be(&c);
    lw_cur_skip(&c, 1); /* TTL */
    uint8_t proto = lw_cur_u8(&c);
    lw_cur_skip(&c, 2); /* checksum */
    p->src.family = 4;
    lw_cur_copy(&c, p->src.b, 4);
    p->dst.family = 4;
    lw_cur_copy(&c, p->dst.b, 4);

    if (totlen < hlen || totlen > wire)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_INVALID_TOTLEN, LW_DECODE_INVALID);
    if (hlen > cap)
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_TRUNCATED, LW_DECODE_TRUNCATED);
    if (!options_valid(lw_cur_sub(&c, hlen - IPV4_MIN_HLEN)))
        return lw_decode_drop(d, LW_DECODE_CTR_IPV4_INVALID_OPTIONS, LW_DECODE_INVALID);

    p->ip_version = 4;
    p->proto = proto;
    uint32_t wire_payload = (uint32_t)totlen - (uint32_t)hlen;
    lw_cur_clamp(&c, wire_payload); /* c is now the payload, padding cut off */

    uint32_t offset = (frag & IPV4_OFFSET_MSK) * 8u;
    bool more = (frag & IPV4_FLAG_MF) != 0;
    if (offset != 0 || more) {
        d->ctr[LW_DECODE_CTR_FRAGMENT]++;
        p->is_fragment = true;
        p->frag_id = id;
        p->frag_offset = offset;
        p->frag_more = more;
        p->frag_proto = proto;
        p->frag_data = lw_cur_left(&c) > 0 ? c.ptr : NULL;
        p->frag_data_len = (uint32_t)lw_cur_left(&c);
        p->frag_data_wire_len = wire_payload;
        if (offset + wire_payload > IPV4_MAX_DGRAM)
            return lw_decode_drop(d, LW_DECODE_CTR_IPV4_FRAG_INVALID, LW_DECODE_INVALID);
        if (offset != 0)
            return LW_DECODE_OK; /* the transport header is in fragment 0 */
    }
    return lw_decode_transport(d, proto, c, wire_payload, p->is_fragment);
}
