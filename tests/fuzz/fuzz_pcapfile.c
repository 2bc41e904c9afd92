/*
 * fuzz_pcapfile.c - the in-memory record walker against libpcap itself.
 *
 * The input is a capture file. libpcap reads it through fmemopen; when the
 * walker takes the file too (its header, link type and libpcap's snapshot
 * length), both must hand over the same records - time, lengths, bytes -
 * and end the same way with the same message. Any difference aborts.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/err.h"
#include "leakwatch/pcapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p) {
        fclose(f);
        return 0;
    }
    lw_pcapfile walk;
    if (!lw_pcapfile_link_ok(pcap_datalink(p), pcap_is_swapped(p) == 1) ||
        !lw_pcapfile_init(&walk, data, size, (uint32_t)pcap_snapshot(p))) {
        pcap_close(p);
        return 0;
    }
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *bytes;
        int want = pcap_next_ex(p, &h, &bytes);
        lw_pcapfile_rec rec;
        int got = lw_pcapfile_next(&walk, &rec);
        if (want == 1) {
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
            if (got != 1 || rec.ts_us != ts || rec.caplen != h->caplen || rec.len != h->len ||
                memcmp(rec.data, bytes, h->caplen) != 0)
                abort();
            continue;
        }
        if (want == PCAP_ERROR_BREAK || want == 0) { /* the end */
            if (got != 0)
                abort();
            break;
        }
        const char *msg = pcap_geterr(p);
        int kind = strstr(msg, "truncated") ? LW_ERR_TRUNCATED : LW_ERR_PCAP;
        if (got != kind || strcmp(walk.error, msg) != 0)
            abort();
        break;
    }
    pcap_close(p);
    return 0;
}
