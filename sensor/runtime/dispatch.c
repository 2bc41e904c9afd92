/*
 * dispatch.c - which worker a packet goes to, decided on the capture thread.
 *
 * Every flow of one inside host must reach the same worker, because burst
 * state is kept per inside host and workers share no mutable state. So the
 * capture thread reads just enough of each packet to find its two IP
 * addresses, picks the inside one (dispatch.h says how when both or neither
 * are inside) and hashes it. Transport ports are deliberately left out: a
 * host's many connections, and all fragments of a datagram, must meet.
 *
 * What is walked (the same link layers lw_decode_linktype_supported()
 * accepts, with the same header layouts as sensor/decode/link.c):
 *   Ethernet II and Linux SLL/SLL2 -> Ethertype, with up to two 802.1Q /
 *   802.1ad / 0x9100 tags in between; raw IP (DLT_RAW 12, LINKTYPE_RAW 101,
 *   DLT_IPV4 228, DLT_IPV6 229) by its version nibble; BSD null (host order,
 *   either accepted) and loop (network order) by address family.
 *   IPv4 (RFC 791): the version nibble and the addresses at bytes 12..19.
 *   IPv6 (RFC 8200): the version nibble and the addresses at bytes 8..39.
 * Nothing past the base IP header is read; no extension chain is walked,
 * because the addresses are all dispatch needs and they sit in the base
 * header.
 *
 * Invariants:
 * - Only the cursor reads packet bytes, at most caplen of them; the work
 *   per packet is bounded (two VLAN tags, one IP header).
 * - Dispatch must be at least as permissive as decode: a packet the worker
 *   would accept must yield its addresses here, or the flow would be split
 *   across workers. It is allowed to be more permissive (it does not check
 *   IPv4 lengths or options), since the worker's decoder drops and counts.
 * - The hash is SipHash-2-4 (libsodium's crypto_shorthash) with a fixed
 *   key, so the mapping is stable across runs and multi-worker replays are
 *   reproducible. The key is fixed, not secret: an attacker who can choose
 *   inside addresses to overload one worker is already inside. It is reduced
 *   to a worker with a multiply-shift of its top 32 bits, which spreads
 *   evenly for any worker count (no modulo bias towards low workers).
 * - No state, no allocation: safe from any thread.
 */
#include "leakwatch/dispatch.h"

#include <sodium.h>
#include <string.h>

#include "leakwatch/cursor.h"

/* libpcap link types (tcpdump.org LINKTYPE_/DLT_ registry, Linux values). */
enum {
    DLT_NULL_ = 0,
    DLT_EN10MB_ = 1,
    DLT_RAW_ = 12,
    LINKTYPE_RAW_ = 101,
    DLT_LOOP_ = 108,
    DLT_LINUX_SLL_ = 113,
    DLT_IPV4_ = 228,
    DLT_IPV6_ = 229,
    DLT_LINUX_SLL2_ = 276,
};

enum {
    ETH_IPV4 = 0x0800,
    ETH_IPV6 = 0x86DD,
    ETH_VLAN = 0x8100,
    ETH_QINQ = 0x88A8,
    ETH_QINQ_OLD = 0x9100,
};

#define VLAN_MAX     2 /* as the decoder: a third tag is dropped there */
#define IPV4_MIN_HDR 20
#define IPV6_HDR     40

/* Any fixed 16 bytes will do; these spell the purpose. */
static const uint8_t dispatch_key[crypto_shorthash_KEYBYTES] = {
    'l', 'e', 'a', 'k', 'w', 'a', 't', 'c', 'h', '-', 'd', 'i', 's', 'p', 'c', 'h'};

/* Reads the IPv4 base header's addresses. */
static bool read_ipv4(lw_cursor c, lw_addr *src, lw_addr *dst)
{
    lw_cursor peek = c;
    if (!lw_cur_has(&c, IPV4_MIN_HDR) || (lw_cur_u8(&peek) >> 4) != 4)
        return false;
    lw_cur_skip(&c, 12); /* version .. checksum */
    src->family = dst->family = 4;
    lw_cur_copy(&c, src->b, 4);
    lw_cur_copy(&c, dst->b, 4);
    return !c.error;
}

/* Reads the IPv6 base header's addresses. */
static bool read_ipv6(lw_cursor c, lw_addr *src, lw_addr *dst)
{
    lw_cursor peek = c;
    if (!lw_cur_has(&c, IPV6_HDR) || (lw_cur_u8(&peek) >> 4) != 6)
        return false;
    lw_cur_skip(&c, 8); /* version/class/label, payload length, next header, hop limit */
    src->family = dst->family = 6;
    lw_cur_copy(&c, src->b, 16);
    lw_cur_copy(&c, dst->b, 16);
    return !c.error;
}

/* Follows an Ethertype through up to VLAN_MAX tags to an IP header. */
static bool read_ethertype(uint16_t type, lw_cursor c, lw_addr *src, lw_addr *dst)
{
    for (int tags = 0;; tags++) {
        switch (type) {
        case ETH_IPV4:
            return read_ipv4(c, src, dst);
        case ETH_IPV6:
            return read_ipv6(c, src, dst);
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_OLD:
            if (tags >= VLAN_MAX)
                return false;
            lw_cur_skip(&c, 2); /* TCI */
            type = lw_cur_u16be(&c);
            if (c.error)
                return false;
            break;
        default:
            return false; /* ARP, LLDP, an 802.3 length, ... */
        }
    }
}

static bool read_raw(lw_cursor c, lw_addr *src, lw_addr *dst)
{
    lw_cursor peek = c;
    uint8_t version = lw_cur_u8(&peek) >> 4;
    if (version == 4)
        return read_ipv4(c, src, dst);
    if (version == 6)
        return read_ipv6(c, src, dst);
    return false;
}

/* BSD address families: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
 * OpenBSD), 28 (FreeBSD, DragonFly) or 30 (macOS). */
static bool read_family(uint32_t family, lw_cursor c, lw_addr *src, lw_addr *dst)
{
    switch (family) {
    case 2:
        return read_ipv4(c, src, dst);
    case 24:
    case 28:
    case 30:
        return read_ipv6(c, src, dst);
    default:
        return false;
    }
}

/* Finds the packet's IP addresses; false when it has no readable IP header. */
static bool read_addrs(const uint8_t *data, uint32_t caplen, int linktype, lw_addr *src,
                       lw_addr *dst)
{
    if (data == NULL)
        return false;
    lw_cursor c = lw_cur_make(data, caplen);
    uint16_t type;

    switch (linktype) {
    case DLT_EN10MB_:
        lw_cur_skip(&c, 12); /* destination and source MAC */
        type = lw_cur_u16be(&c);
        return !c.error && read_ethertype(type, c, src, dst);
    case DLT_LINUX_SLL_:
        lw_cur_skip(&c, 14); /* pkttype, hatype, halen, address */
        type = lw_cur_u16be(&c);
        return !c.error && read_ethertype(type, c, src, dst);
    case DLT_LINUX_SLL2_:
        type = lw_cur_u16be(&c);
        lw_cur_skip(&c, 18); /* reserved, ifindex, hatype, pkttype, halen, address */
        return !c.error && read_ethertype(type, c, src, dst);
    case DLT_RAW_:
    case LINKTYPE_RAW_:
        return read_raw(c, src, dst);
    case DLT_IPV4_:
        return read_ipv4(c, src, dst);
    case DLT_IPV6_:
        return read_ipv6(c, src, dst);
    case DLT_NULL_: {
        /* the capturing host's byte order: the small reading is right */
        lw_cursor be = c;
        uint32_t family = lw_cur_u32le(&c);
        if (family > 0xFFFF)
            family = lw_cur_u32be(&be);
        return !c.error && read_family(family, c, src, dst);
    }
    case DLT_LOOP_: {
        uint32_t family = lw_cur_u32be(&c);
        return !c.error && read_family(family, c, src, dst);
    }
    default:
        return false;
    }
}

bool lw_dispatch_key(const lw_config *cfg, const uint8_t *data, uint32_t caplen, int linktype,
                     lw_addr *key)
{
    lw_addr src, dst;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    memset(key, 0, sizeof(*key));

    if (!read_addrs(data, caplen, linktype, &src, &dst))
        return false;

    bool src_in = lw_config_is_home(cfg, &src);
    bool dst_in = lw_config_is_home(cfg, &dst);
    if (src_in && !dst_in)
        *key = src;
    else if (dst_in && !src_in)
        *key = dst;
    else /* both or neither: the smaller, the same from either side */
        *key = memcmp(src.b, dst.b, sizeof(src.b)) <= 0 ? src : dst;
    return true;
}

unsigned lw_dispatch_worker(const lw_config *cfg, const uint8_t *data, uint32_t caplen,
                            int linktype, unsigned nworkers)
{
    if (nworkers <= 1)
        return 0;
    lw_addr key;
    if (!lw_dispatch_key(cfg, data, caplen, linktype, &key))
        return 0;

    /* family byte, then the address's own bytes (4 or 16) */
    uint8_t in[1 + 16];
    size_t alen = key.family == 4 ? 4 : 16;
    in[0] = key.family;
    memcpy(in + 1, key.b, alen);

    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, 1 + alen, dispatch_key);
    uint32_t top =
        (uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | (uint32_t)out[3];
    return (unsigned)(((uint64_t)top * nworkers) >> 32);
}
