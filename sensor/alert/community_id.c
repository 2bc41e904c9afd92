/*
 * community_id.c - Community ID v1 flow hashes for alert lines.
 *
 * The Community ID (corelight/community-id-spec, version 1) lets an analyst
 * join a leakwatch alert with the same flow in Zeek's conn.log or Suricata's
 * EVE by one string. It is SHA-1 over a fixed byte layout, base64-encoded and
 * prefixed with the version:
 *
 *     seed (2, big-endian) . saddr (4|16) . daddr (4|16) . proto (1) . 0 (1)
 *       [ . sport (2, big-endian) . dport (2, big-endian) ]
 *
 *     "1:" + base64(sha1(...))
 *
 * Direction is removed by ordering the endpoints: the pair whose address is
 * bytewise smaller comes first, and if the addresses are equal the smaller
 * port. So both directions of a connection get the same ID.
 *
 * The spec gives ports only to TCP, UDP, SCTP, ICMP and ICMPv6. For every
 * other IP protocol the port fields are left out of the hash entirely (the
 * spec's baseline for RSVP, protocol 46, shows this); the input stays a
 * multiple of 32 bits either way.
 *
 * ICMP and ICMPv6 have no ports; the spec takes Zeek's mapping. The caller
 * passes the message type as sport and the code as dport. If the type is one
 * half of a request/reply pair, the "ports" become (type, the other half's
 * type), so an echo request A->B and its reply B->A hash alike; the code is
 * then ignored. Any other type is one-way: the ports are (type, code) and the
 * endpoints are not reordered, because there is no reverse direction to meet.
 *
 * SHA-1 and base64 come from OpenSSL's libcrypto (EVP_Digest, EVP_EncodeBlock).
 * Nothing is kept between calls; the function is reentrant.
 */
#include "leakwatch/community_id.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "leakwatch/err.h"

#define PROTO_SCTP 132

/* Request/reply pairs, each listed once; the mapping works both ways. */
struct icmp_pair {
    uint8_t a, b;
};

/* ICMPv4 (RFC 792, RFC 950, RFC 1256). */
static const struct icmp_pair icmp4_pairs[] = {
    {8, 0},   /* echo request / echo reply */
    {13, 14}, /* timestamp / timestamp reply */
    {15, 16}, /* information request / reply */
    {10, 9},  /* router solicitation / advertisement */
    {17, 18}, /* address mask request / reply */
};

/* ICMPv6 (RFC 4443, RFC 4861, RFC 2710, RFC 4620, RFC 6275). */
static const struct icmp_pair icmp6_pairs[] = {
    {128, 129}, /* echo request / echo reply */
    {133, 134}, /* router solicitation / advertisement */
    {135, 136}, /* neighbor solicitation / advertisement */
    {130, 131}, /* MLD listener query / report */
    {139, 140}, /* node information query / response */
    {144, 145}, /* home agent address discovery request / reply */
};

/*
 * Maps ICMP type and code to the spec's port equivalents. Returns true when
 * the type is two-way (so the endpoints may be reordered). A "type" above 255
 * cannot be an ICMP type and is left one-way rather than truncated.
 */
static bool icmp_ports(const struct icmp_pair *pairs, size_t n, uint16_t *sport, uint16_t *dport)
{
    for (size_t i = 0; i < n; i++) {
        if (*sport == pairs[i].a) {
            *dport = pairs[i].b;
            return true;
        }
        if (*sport == pairs[i].b) {
            *dport = pairs[i].a;
            return true;
        }
    }
    return false;
}

static bool proto_has_ports(uint8_t proto)
{
    return proto == LW_PROTO_TCP || proto == LW_PROTO_UDP || proto == PROTO_SCTP ||
           proto == LW_PROTO_ICMP || proto == LW_PROTO_ICMPV6;
}

static uint8_t *put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xff);
    return p + 2;
}

int lw_community_id_v1(uint16_t seed, uint8_t proto, const lw_addr *src, uint16_t sport,
                       const lw_addr *dst, uint16_t dport, char out[LW_COMMUNITY_ID_LEN])
{
    out[0] = '\0';
    if (src == NULL || dst == NULL || src->family != dst->family ||
        (src->family != 4 && src->family != 6)) {
        return LW_ERR_INVAL;
    }
    size_t alen = src->family == 4 ? 4 : 16;
    bool ports = proto_has_ports(proto);
    bool two_way = true;

    if (proto == LW_PROTO_ICMP) {
        two_way =
            icmp_ports(icmp4_pairs, sizeof(icmp4_pairs) / sizeof(icmp4_pairs[0]), &sport, &dport);
    } else if (proto == LW_PROTO_ICMPV6) {
        two_way =
            icmp_ports(icmp6_pairs, sizeof(icmp6_pairs) / sizeof(icmp6_pairs[0]), &sport, &dport);
    }

    const uint8_t *a = src->b, *b = dst->b;
    uint16_t pa = sport, pb = dport;
    if (two_way) {
        int c = memcmp(a, b, alen);
        if (c > 0 || (c == 0 && ports && pa > pb)) {
            a = dst->b;
            b = src->b;
            pa = dport;
            pb = sport;
        }
    }

    /* 2 + 16 + 16 + 1 + 1 + 2 + 2 = 40 bytes at most. */
    uint8_t in[40];
    uint8_t *p = put_be16(in, seed);
    memcpy(p, a, alen);
    p += alen;
    memcpy(p, b, alen);
    p += alen;
    *p++ = proto;
    *p++ = 0;
    if (ports) {
        p = put_be16(p, pa);
        p = put_be16(p, pb);
    }

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(in, (size_t)(p - in), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        return LW_ERR_INVAL;
    }
    /* base64 of 20 bytes is 28 characters plus the NUL EVP_EncodeBlock
     * writes: "1:" + 29 fits LW_COMMUNITY_ID_LEN with room to spare. */
    out[0] = '1';
    out[1] = ':';
    EVP_EncodeBlock((unsigned char *)out + 2, md, (int)mdlen);
    return LW_OK;
}
