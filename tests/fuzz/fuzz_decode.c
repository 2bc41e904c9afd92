/*
 * fuzz_decode.c - libFuzzer harness for lw_decode().
 *
 * Input: the first byte picks the link type (its low 7 bits, modulo the
 * list below, which ends with one unsupported type) and, with its top bit,
 * whether the frame was cut by a snaplen (wirelen = caplen + 1000) or is
 * whole (wirelen = caplen); the rest is the captured frame, copied into a
 * buffer of exactly that size so any read past caplen is caught.
 *
 * Beyond not crashing, the harness checks the contract of decode.h and
 * traps when it is broken: packets and bytes counted, exactly one drop
 * reason per drop and none on success, a payload inside the capture and no
 * longer than declared, addresses of the announced family with the unused
 * bytes zero, transport fields only where a transport header was decoded.
 */
#include "leakwatch/decode.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
    0,   /* DLT_NULL */
    1,   /* DLT_EN10MB */
    12,  /* DLT_RAW */
    101, /* LINKTYPE_RAW */
    108, /* DLT_LOOP */
    113, /* DLT_LINUX_SLL */
    228, /* DLT_IPV4 */
    229, /* DLT_IPV6 */
    276, /* DLT_LINUX_SLL2 */
    147, /* DLT_USER0: unsupported */
};

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_addr(const lw_addr *a, uint8_t version)
{
    check(a->family == version);
    if (version == 4) {
        for (size_t i = 4; i < sizeof a->b; i++)
            check(a->b[i] == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t nlink = sizeof linktypes / sizeof linktypes[0];
    int linktype = linktypes[(data[0] & 0x7F) % nlink];
    bool snapped = (data[0] & 0x80) != 0;
    size_t caplen = size - 1;

    uint8_t *frame = malloc(caplen > 0 ? caplen : 1);
    if (frame == NULL)
        return 0;
    memcpy(frame, data + 1, caplen);

    lw_packet p;
    memset(&p, 0x5A, sizeof p);
    p.ts_us = 0;
    p.data = frame;
    p.caplen = (uint32_t)caplen;
    p.wirelen = (uint32_t)caplen + (snapped ? 1000u : 0u);
    p.linktype = linktype;

    uint64_t ctr[LW_DECODE_CTR_MAX] = {0};
    lw_decode_result r = lw_decode(&p, ctr);

    uint64_t drops = 0;
    for (int i = 0; i < LW_DECODE_CTR_MAX; i++) {
        if (lw_decode_counter_is_drop((enum lw_decode_counter)i))
            drops += ctr[i];
    }
    check(ctr[LW_DECODE_CTR_PKTS] == 1);
    check(ctr[LW_DECODE_CTR_BYTES] == caplen);
    check(drops == (r == LW_DECODE_OK ? 0u : 1u));
    check(lw_decode_linktype_supported(linktype) || ctr[LW_DECODE_CTR_LINKTYPE_UNSUPPORTED] == 1);

    check(p.payload_len <= p.payload_wire_len);
    if (p.payload != NULL) {
        check(p.payload_len > 0);
        check(p.payload >= frame && p.payload + p.payload_len <= frame + caplen);
    } else {
        check(p.payload_len == 0);
    }
    check(p.vlan_count <= 2);
    if (r == LW_DECODE_OK) {
        check(p.ip_version == 4 || p.ip_version == 6);
        check_addr(&p.src, p.ip_version);
        check_addr(&p.dst, p.ip_version);
        if (p.proto != 6 && p.proto != 17)
            check(p.payload == NULL && p.sport == 0 && p.dport == 0);
        if (p.is_fragment && p.frag_offset != 0)
            check(p.payload == NULL && p.sport == 0);
        if (!p.is_fragment)
            check(p.frag_id == 0 && p.frag_offset == 0 && !p.frag_more);
    }
    free(frame);
    return 0;
}
