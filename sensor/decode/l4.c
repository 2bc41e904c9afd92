/*
 * l4.c - the transport headers leakwatch inspects: TCP (RFC 9293) and UDP
 * (RFC 768).
 *
 * The IP layer hands over a cursor on the captured transport bytes, already
 * clamped to the length the IP header declares, and that declared length
 * (d->l4_wire_len). So: captured <= declared, and each check below is
 * either "the header contradicts the declared length" (invalid) or "the
 * capture stopped inside the header" (truncated), in that order.
 *
 * TCP: sport(2) dport(2) seq(4) ack(4) data offset/reserved(1) flags(1)
 * window(2) checksum(2) urgent(2), then (offset*4 - 20) bytes of options.
 * An offset below 5 or past the declared segment is invalid. Options are
 * walked (EOL ends them, NOP is one byte, others carry a length of at least
 * 2 inside the option area, and MSS, window scale, SACK-permitted, SACK and
 * timestamps have their RFC lengths); a malformed option is counted as
 * decode.tcp.invalid_options but the segment is kept: a receiving stack
 * ignores bad options and accepts the data, so the sensor must read it too.
 *
 * UDP: sport(2) dport(2) length(2) checksum(2). The length must be at least
 * 8 and not more than the IP payload; bytes of the IP payload past it belong
 * to no datagram and are not payload (as Linux trims them).
 *
 * First fragments (d->l4_first_frag): the transport header is read only if
 * it is whole inside this fragment, and no length is checked against the
 * datagram (the UDP length covers all fragments). Anything short is not an
 * error here: the packet stays a fragment without ports, and defrag hands
 * the reassembled datagram back for the full checks.
 *
 * Checksums are not verified (offloaded checksums on a SPAN port are
 * routinely wrong).
 */
#include "decode_internal.h"

#define TCP_MIN_HLEN 20
#define UDP_HLEN     8

enum {
    TCPOPT_EOL = 0,
    TCPOPT_NOP = 1,
    TCPOPT_MSS = 2,
    TCPOPT_WSCALE = 3,
    TCPOPT_SACK_PERM = 4,
    TCPOPT_SACK = 5,
    TCPOPT_TIMESTAMP = 8,
};

static bool tcp_option_len_ok(uint8_t kind, uint8_t len)
{
    switch (kind) {
    case TCPOPT_MSS:
        return len == 4;
    case TCPOPT_WSCALE:
        return len == 3;
    case TCPOPT_SACK_PERM:
        return len == 2;
    case TCPOPT_SACK:
        return len >= 10 && (len - 2) % 8 == 0; /* 1 to 4 blocks of 8 in 40 bytes */
    case TCPOPT_TIMESTAMP:
        return len == 10;
    default:
        return true;
    }
}

/* Walks at most 40 bytes of options, one byte or more per step. */
static bool tcp_options_valid(lw_cursor o)
{
    while (lw_cur_left(&o) > 0) {
        uint8_t kind = lw_cur_u8(&o);
        if (kind == TCPOPT_EOL)
            return true;
        if (kind == TCPOPT_NOP)
            continue;
        if (lw_cur_left(&o) < 1)
            return false;
        uint8_t len = lw_cur_u8(&o);
        if (len < 2 || (size_t)(len - 2) > lw_cur_left(&o) || !tcp_option_len_ok(kind, len))
            return false;
        lw_cur_skip(&o, (size_t)len - 2);
    }
    return true;
}

/* c holds the captured payload (never more than wire_len bytes). */
static lw_decode_result set_payload(lw_packet *p, lw_cursor c, uint32_t wire_len)
{
    size_t n = lw_cur_left(&c);
    p->payload = n > 0 ? c.ptr : NULL;
    p->payload_len = (uint32_t)n;
    p->payload_wire_len = wire_len;
    return LW_DECODE_OK;
}

lw_decode_result lw_decode_tcp(lw_decode_ctx *d, lw_cursor c)
{
    lw_packet *p = d->p;
    bool first_frag = d->l4_first_frag;
    uint32_t wire = d->l4_wire_len;
    size_t cap = lw_cur_left(&c);
    d->ctr[LW_DECODE_CTR_TCP]++;

    if (wire < TCP_MIN_HLEN)
        return first_frag ? LW_DECODE_OK
                          : lw_decode_drop(d, LW_DECODE_CTR_TCP_INVALID_HLEN, LW_DECODE_INVALID);
    if (cap < TCP_MIN_HLEN)
        return first_frag ? LW_DECODE_OK
                          : lw_decode_drop(d, LW_DECODE_CTR_TCP_TRUNCATED, LW_DECODE_TRUNCATED);

    uint16_t sport = lw_cur_u16be(&c);
    uint16_t dport = lw_cur_u16be(&c);
    uint32_t seq = lw_cur_u32be(&c);
    uint32_t ack = lw_cur_u32be(&c);
    size_t hlen = (size_t)(lw_cur_u8(&c) >> 4) * 4;
    uint8_t flags = lw_cur_u8(&c);
    lw_cur_skip(&c, 6); /* window, checksum, urgent pointer */

    if (hlen < TCP_MIN_HLEN || hlen > wire)
        return first_frag ? LW_DECODE_OK
                          : lw_decode_drop(d, LW_DECODE_CTR_TCP_INVALID_HLEN, LW_DECODE_INVALID);
    if (hlen > cap)
        return first_frag ? LW_DECODE_OK
                          : lw_decode_drop(d, LW_DECODE_CTR_TCP_TRUNCATED, LW_DECODE_TRUNCATED);
    if (!tcp_options_valid(lw_cur_sub(&c, hlen - TCP_MIN_HLEN)))
        d->ctr[LW_DECODE_CTR_TCP_INVALID_OPTIONS]++; /* counted, not dropped */

    p->sport = sport;
    p->dport = dport;
    p->tcp_seq = seq;
    p->tcp_ack = ack;
    p->tcp_flags = flags;
    return set_payload(p, c, wire - (uint32_t)hlen);
}

lw_decode_result lw_decode_udp(lw_decode_ctx *d, lw_cursor c)
{
    lw_packet *p = d->p;
    bool first_frag = d->l4_first_frag;
    uint32_t wire = d->l4_wire_len;
    d->ctr[LW_DECODE_CTR_UDP]++;

    if (!first_frag && wire < UDP_HLEN)
        return lw_decode_drop(d, LW_DECODE_CTR_UDP_INVALID_LEN, LW_DECODE_INVALID);
    if (lw_cur_left(&c) < UDP_HLEN)
        return first_frag ? LW_DECODE_OK
                          : lw_decode_drop(d, LW_DECODE_CTR_UDP_TRUNCATED, LW_DECODE_TRUNCATED);

    uint16_t sport = lw_cur_u16be(&c);
    uint16_t dport = lw_cur_u16be(&c);
    uint16_t ulen = lw_cur_u16be(&c);
    lw_cur_skip(&c, 2); /* checksum */

    if (!first_frag) {
        if (ulen < UDP_HLEN || ulen > wire)
            return lw_decode_drop(d, LW_DECODE_CTR_UDP_INVALID_LEN, LW_DECODE_INVALID);
        wire = ulen;
        lw_cur_clamp(&c, (size_t)ulen - UDP_HLEN);
    }

    p->sport = sport;
    p->dport = dport;
    return set_payload(p, c, wire - UDP_HLEN);
}
