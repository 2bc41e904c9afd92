/*
 * fuzz_defrag.c - fragment reassembly fed a hostile fragment sequence.
 *
 * Each record of the input is one fragment view (built directly, as decode
 * would fill it), 8 bytes then the captured data:
 *   flags(1): bit 0 IPv6, bit 1 MF, bits 2-3 source (one of four), bits 4-5
 *             protocol (UDP, TCP, ICMP, GRE), bit 6 snaplen cut, bit 7 call
 *             expire afterwards;
 *   id(1): low 4 bits, so that trains collide;
 *   offset(2): 13 bits, in 8-byte units as on the wire;
 *   length(2): declared data length, at most 4095;
 *   time(1): signed step of packet time in 10 ms (time may go backwards);
 *   extra(1): with bit 6, bytes the snaplen cut off the end of the data;
 *             with bit 7, the expire budget.
 * The captured bytes follow (length minus the cut; fewer if the input ends).
 * The defragmenter has small caps (4 trains, 4 KiB, 8 fragments, 1 s).
 *
 * Checks after every call: the gauges stay under their caps; a returned
 * datagram is header + the end of the last fragment without MF seen for its
 * key (the only end a completed train can have), and decodes with
 * lw_decode() as a whole IP packet with the key's addresses and a valid
 * IPv4 checksum. At the end, expiring everything frees everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/cursor.h"
#include "leakwatch/decode.h"
#include "leakwatch/defrag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS (2 * 4 * 16 * 4)

static const uint8_t protos[4] = {LW_PROTO_UDP, LW_PROTO_TCP, LW_PROTO_ICMP, 47};

static void set_addr(lw_addr *a, int family, uint8_t last)
{
    memset(a, 0, sizeof(*a));
    a->family = (uint8_t)family;
    if (family == 4) {
        a->b[0] = 192;
        a->b[1] = 0;
        a->b[2] = 2;
        a->b[3] = last;
    } else {
        a->b[0] = 0x20;
        a->b[1] = 0x01;
        a->b[2] = 0x0d;
        a->b[3] = 0xb8;
        a->b[15] = last;
    }
}

static bool ipv4_checksum_ok(const uint8_t *h)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

/* The output of the fragment p: length and a decode as a whole packet. */
static void check_output(const lw_packet *p, const uint8_t *out, size_t len, int64_t want_end)
{
    size_t hl = p->ip_version == 4 ? 20 : 40;
    if (want_end < 0 || len != hl + (size_t)want_end)
        abort();
    if (len > (p->ip_version == 4 ? 65535u : 40u + 65535u))
        abort();
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, out, len);
    lw_packet q;
    memset(&q, 0, sizeof(q));
    q.ts_us = p->ts_us;
    q.data = copy;
    q.caplen = q.wirelen = (uint32_t)len;
    q.linktype = 12; /* DLT_RAW */
    uint64_t dctr[LW_DECODE_CTR_MAX] = {0};
    lw_decode(&q, dctr);
    if (dctr[p->ip_version == 4 ? LW_DECODE_CTR_IPV4 : LW_DECODE_CTR_IPV6] != 1)
        abort();
    for (int i = LW_DECODE_CTR_IPV4_TRUNCATED; i <= LW_DECODE_CTR_IPV6_FRAG_INVALID; i++) {
        if (dctr[i] != 0)
            abort(); /* the IP layer must accept it */
    }
    if (q.is_fragment || q.ip_version != p->ip_version ||
        memcmp(&q.src, &p->src, sizeof(q.src)) != 0 || memcmp(&q.dst, &p->dst, sizeof(q.dst)) != 0)
        abort();
    if (p->ip_version == 4 && !ipv4_checksum_ok(copy))
        abort();
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t ctr[LW_DEFRAG_CTR_MAX] = {0};
    const lw_defrag_config cfg = {
        .max_trains = 4, .memcap = 4096, .timeout_us = 1000000, .max_fragments = 8};
    lw_defrag *d = lw_defrag_new(&cfg, ctr);
    if (!d)
        return 0;
    int64_t last_end[NKEYS];
    for (size_t i = 0; i < NKEYS; i++)
        last_end[i] = -1;

    lw_cursor c = lw_cur_make(data, size);
    uint64_t now = UINT64_C(1) << 40, latest = now;
    while (lw_cur_left(&c) >= 8) {
        uint8_t flags = lw_cur_u8(&c);
        uint8_t id = lw_cur_u8(&c) & 0x0f;
        uint32_t off = (uint32_t)(lw_cur_u16be(&c) & 0x1fff) * 8;
        uint32_t wire = lw_cur_u16be(&c) & 0x0fff;
        int8_t step = (int8_t)lw_cur_u8(&c);
        uint8_t extra = lw_cur_u8(&c);
        uint32_t cap = wire;
        if (flags & 0x40)
            cap = extra < cap ? cap - extra : 0;
        if (cap > lw_cur_left(&c))
            cap = (uint32_t)lw_cur_left(&c);
        lw_cursor bytes = lw_cur_sub(&c, cap);

        int family = flags & 1 ? 6 : 4;
        uint8_t src = (flags >> 2) & 3;
        uint8_t proto = protos[(flags >> 4) & 3];
        bool more = (flags & 2) != 0;
        size_t key = (((size_t)(flags & 1) * 4 + src) * 16 + id) * 4 + ((flags >> 4) & 3);
        now += (uint64_t)((int64_t)step * 10000);
        latest = now > latest ? now : latest;

        /* an exact copy, so ASan bounds the fragment and catches any
         * pointer defrag keeps into it */
        uint8_t *buf = malloc(cap ? cap : 1);
        if (!buf)
            break;
        if (cap)
            memcpy(buf, bytes.ptr, cap);
        lw_packet p;
        memset(&p, 0, sizeof(p));
        p.ts_us = now;
        p.ip_version = (uint8_t)family;
        p.proto = proto;
        set_addr(&p.src, family, (uint8_t)(10 + src));
        set_addr(&p.dst, family, 20);
        p.is_fragment = true;
        p.frag_id = id;
        p.frag_offset = off;
        p.frag_more = more;
        p.frag_proto = proto;
        p.frag_data = cap ? buf : NULL;
        p.frag_data_len = cap;
        p.frag_data_wire_len = wire;

        bool tiny = proto == LW_PROTO_TCP && off > 0 && off < 16;
        if (!more && !tiny)
            last_end[key] = (int64_t)off + wire;

        size_t len = 0;
        const uint8_t *out = lw_defrag_add(d, &p, now, &len);
        free(buf);
        if (out)
            check_output(&p, out, len, last_end[key]);
        if (flags & 0x80)
            lw_defrag_expire(d, now, extra);
        if (ctr[LW_DEFRAG_CTR_BUFFERED_BYTES] > cfg.memcap ||
            ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE] > cfg.max_trains)
            abort();
    }
    /* every train is older than the time-out at the latest time seen */
    lw_defrag_expire(d, latest + cfg.timeout_us, SIZE_MAX);
    if (ctr[LW_DEFRAG_CTR_BUFFERED_BYTES] != 0 || ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE] != 0)
        abort();
    lw_defrag_free(d);
    return 0;
}
