/*
 * fuzz_dispatch.c - libFuzzer harness for worker dispatch.
 *
 * data[0] picks a link type (every one decode supports, plus a few it does
 * not); the rest is the captured packet. Besides memory safety it checks
 * the two properties the engine relies on:
 * - the worker is always below nworkers, for nworkers 1..8, and a packet
 *   without a key goes to worker 0;
 * - dispatch is at least as permissive as decode: whenever lw_decode()
 *   accepts the packet, lw_dispatch_key() finds a key, and that key is one
 *   of the addresses decode found. Otherwise a flow could be split across
 *   workers, breaking the per-inside-host burst state.
 * The packet is copied into an exactly sized buffer so ASan sees any read
 * past caplen.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/config.h"
#include "leakwatch/decode.h"
#include "leakwatch/dispatch.h"

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
    /* not supported */
    9,   /* PPP */
    105, /* IEEE 802.11 */
    127, /* radiotap */
    -1,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int linktype = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    size_t len = size - 1;
    if (len > 65535)
        len = 65535;
    uint8_t *pkt = malloc(len ? len : 1);
    if (!pkt)
        return 0;
    memcpy(pkt, data + 1, len);

    static lw_config cfg; /* read-only after the first call */
    static int ready;
    if (!ready) {
        lw_config_defaults(&cfg);
        ready = 1;
    }

    lw_addr key;
    bool has_key = lw_dispatch_key(&cfg, pkt, (uint32_t)len, linktype, &key);
    for (unsigned n = 1; n <= 8; n++) {
        unsigned w = lw_dispatch_worker(&cfg, pkt, (uint32_t)len, linktype, n);
        if (w >= n || (!has_key && w != 0))
            abort();
    }

    lw_packet p;
    memset(&p, 0, sizeof(p));
    p.data = pkt;
    p.caplen = (uint32_t)len;
    p.wirelen = (uint32_t)len;
    p.linktype = linktype;
    uint64_t counters[LW_DECODE_CTR_MAX] = {0};
    if (lw_decode(&p, counters) == LW_DECODE_OK) {
        if (!has_key)
            abort();
        if (memcmp(&key, &p.src, sizeof(key)) != 0 && memcmp(&key, &p.dst, sizeof(key)) != 0)
            abort();
    }
    free(pkt);
    return 0;
}
