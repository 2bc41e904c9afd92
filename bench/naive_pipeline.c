/*
 * naive_pipeline.c - the baselines of bench/perf.sh: what a straightforward
 * libpcap + Hyperscan PII scanner does on one core, to hold leakwatch against.
 *
 *   naive_pipeline read FILE   libpcap read of every record, every byte touched
 *   naive_pipeline scan FILE   the same + Ethernet/VLAN, IPv4/IPv6, TCP/UDP parse
 *                              + a Hyperscan block-mode scan of every L4 payload
 *
 * Both print one line of key=value counts on stdout; perf.sh times the process
 * from outside (wall, CPU, peak RSS), so start-up is in the figures as it is in
 * the sensor's.
 *
 * The scan is deliberately naive, the floor any real sensor has to stand on:
 * no flows, no reassembly (a value cut by a segment boundary is lost), no
 * application decoding, no direction, both directions scanned, one database of
 * the six textbook PII patterns (e-mail, E.164, NANP, card, SSN, IBAN) without
 * start-of-match, compiled once; Hyperscan reports every end offset, so a
 * 16-digit card gives several callbacks. The callback does only what such a
 * scanner must at least do: count, and at the end of the longest card or IBAN
 * run check Luhn (ISO/IEC 7812-1) or mod-97 (ISO 13616 / ISO 7064), so that its
 * counts can be set beside the sensor's validated values. Nothing is printed
 * but counts.
 *
 * Packet bytes are read through include/leakwatch/cursor.h as everywhere in
 * leakwatch (inline, so it costs the baseline nothing measurable). Non-first
 * IPv4/IPv6 fragments and other protocols are counted and skipped.
 */
#include <hs/hs.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "leakwatch/cursor.h"

#define NPAT 6

static const char *const PATTERN[NPAT] = {
    "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
    "\\+[1-9][0-9]{7,14}",
    "(\\+?1[ .-]?)?\\(?[2-9][0-9]{2}\\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}",
    "[2-6]([ -]?[0-9]){12,18}",
    "[0-9]{3}-[0-9]{2}-[0-9]{4}",
    "[A-Z]{2}[0-9]{2}( ?[A-Z0-9]{4}){2,7}( ?[A-Z0-9]{1,3})?",
};
static const char *const PNAME[NPAT] = {"email", "e164", "nanp", "card", "ssn", "iban"};
enum { P_CARD = 3, P_IBAN = 5 };

struct totals {
    unsigned long long pkts, bytes, payload_bytes, scanned, skipped, sum;
    unsigned long long cb[NPAT], luhn_ok, mod97_ok;
};

struct scan_ctx {
    const uint8_t *p;
    size_t len;
    struct totals *t;
    size_t iban_start; /* 1 + start of the last IBAN counted in this payload, or 0 */
};

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper_alnum(uint8_t c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z');
}

/* At the end of the longest card run ending at `to`: Luhn over its digits. */
static void check_card(const struct scan_ctx *x, size_t to)
{
    const uint8_t *p = x->p;
    int digits[19], n = 0;

    if (to < x->len && (is_digit(p[to]) ||
                        ((p[to] == ' ' || p[to] == '-') && to + 1 < x->len && is_digit(p[to + 1]))))
        return; /* a longer match ends later */
    for (size_t i = to; i > 0 && n < 19;) {
        uint8_t c = p[i - 1];
        if (is_digit(c)) {
            digits[n++] = c - '0';
            i--;
        } else if ((c == ' ' || c == '-') && i >= 2 && is_digit(p[i - 2]) && n > 0) {
            i--;
        } else {
            break;
        }
    }
    if (n < 13)
        return;
    int sum = 0; /* digits[] is right to left: every second one doubled */
    for (int i = 0; i < n; i++) {
        int v = digits[i];
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    if (sum % 10 == 0)
        x->t->luhn_ok++;
}

/* An IBAN callback: the run of capitals, digits and spaces ending at `to`, and
 * in it the first word start with a mod-97 remainder of 1 (ISO 7064) over 15
 * to 34 characters. Hyperscan calls back at several ends of one value, so a
 * value is counted once, by where it starts. */
static void check_iban(struct scan_ctx *x, size_t to)
{
    const uint8_t *p = x->p;
    size_t from = to;

    while (from > 0 && to - from < 42 && (is_upper_alnum(p[from - 1]) || p[from - 1] == ' '))
        from--;
    for (size_t s = from; s + 4 <= to; s++) {
        if (!(p[s] >= 'A' && p[s] <= 'Z' && p[s + 1] >= 'A' && p[s + 1] <= 'Z' &&
              is_digit(p[s + 2]) && is_digit(p[s + 3])))
            continue;
        if (s > from && p[s - 1] != ' ')
            continue; /* not at the start of a word */
        if (x->iban_start == s + 1)
            return; /* this value was counted */
        /* rearranged: BBAN, then country and check digits; letters are 10..35 */
        unsigned m = 0;
        size_t chars = 0;
        for (size_t k = 0; k < (to - s); k++) {
            uint8_t c = p[s + (k + 4) % (to - s)];
            if (c == ' ')
                continue;
            chars++;
            m = is_digit(c) ? (m * 10 + (unsigned)(c - '0')) % 97
                            : (m * 100 + (unsigned)(c - 'A' + 10)) % 97;
        }
        if (chars >= 15 && chars <= 34 && m == 1) {
            x->t->mod97_ok++;
            x->iban_start = s + 1;
            return;
        }
    }
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    struct scan_ctx *x = ctx;
    (void)from;
    (void)flags;
    x->t->cb[id]++;
    if (id == P_CARD)
        check_card(x, (size_t)to);
    else if (id == P_IBAN)
        check_iban(x, (size_t)to);
    return 0;
}

/* L2-L4 parse; on success *pay is the L4 payload. */
static bool parse(const uint8_t *data, size_t caplen, lw_cursor *pay)
{
    lw_cursor c = lw_cur_make(data, caplen);
    lw_cur_skip(&c, 12);
    uint16_t type = lw_cur_u16be(&c);
    for (int tags = 0; (type == 0x8100 || type == 0x88A8) && tags < 2; tags++) {
        lw_cur_skip(&c, 2);
        type = lw_cur_u16be(&c);
    }
    uint8_t proto;
    if (type == 0x0800) {
        uint8_t vhl = lw_cur_u8(&c);
        lw_cur_skip(&c, 1);
        uint16_t total = lw_cur_u16be(&c);
        lw_cur_skip(&c, 2);
        uint16_t frag = lw_cur_u16be(&c);
        lw_cur_skip(&c, 1);
        proto = lw_cur_u8(&c);
        size_t hl = (size_t)(vhl & 0x0F) * 4;
        if (c.error || (vhl >> 4) != 4 || hl < 20 || total < hl || (frag & 0x1FFF) != 0)
            return false;
        lw_cur_skip(&c, hl - 10);
        lw_cur_clamp(&c, total - hl);
    } else if (type == 0x86DD) {
        lw_cur_skip(&c, 4);
        uint16_t plen = lw_cur_u16be(&c);
        proto = lw_cur_u8(&c);
        lw_cur_skip(&c, 33);
        lw_cur_clamp(&c, plen);
        for (int n = 0; n < 8 && !c.error; n++) {
            if (proto == 0 || proto == 43 || proto == 60) {
                proto = lw_cur_u8(&c);
                lw_cur_skip(&c, (size_t)lw_cur_u8(&c) * 8 + 6);
            } else if (proto == 44) {
                proto = lw_cur_u8(&c);
                lw_cur_skip(&c, 1);
                uint16_t off = lw_cur_u16be(&c);
                lw_cur_skip(&c, 4);
                if (off >> 3)
                    return false;
            } else if (proto == 51) {
                proto = lw_cur_u8(&c);
                lw_cur_skip(&c, (size_t)lw_cur_u8(&c) * 4 + 6);
            } else {
                break;
            }
        }
    } else {
        return false;
    }
    if (proto == 6) {
        lw_cur_skip(&c, 12);
        size_t off = (size_t)(lw_cur_u8(&c) >> 4) * 4;
        if (off < 20)
            return false;
        lw_cur_skip(&c, off - 13);
    } else if (proto == 17) {
        lw_cur_skip(&c, 8);
    } else {
        return false;
    }
    if (c.error)
        return false;
    *pay = c;
    return true;
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct totals t = {0};
    hs_database_t *db = NULL;
    hs_scratch_t *scratch = NULL;
    bool scan;

    if (argc != 3 || (strcmp(argv[1], "read") != 0 && strcmp(argv[1], "scan") != 0)) {
        fprintf(stderr, "usage: naive_pipeline read|scan FILE\n");
        return 2;
    }
    scan = argv[1][0] == 's';
    if (scan) {
        unsigned flags[NPAT] = {0}, ids[NPAT];
        hs_compile_error_t *cerr = NULL;
        for (unsigned i = 0; i < NPAT; i++)
            ids[i] = i;
        if (hs_compile_multi(PATTERN, flags, ids, NPAT, HS_MODE_BLOCK, NULL, &db, &cerr) !=
            HS_SUCCESS) {
            fprintf(stderr, "naive_pipeline: hs_compile_multi: %s\n",
                    cerr ? cerr->message : "failed");
            hs_free_compile_error(cerr);
            return 1;
        }
        if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
            fprintf(stderr, "naive_pipeline: hs_alloc_scratch failed\n");
            hs_free_database(db);
            return 1;
        }
    }
    pcap_t *pc = pcap_open_offline(argv[2], errbuf);
    if (!pc) {
        fprintf(stderr, "naive_pipeline: %s\n", errbuf);
        hs_free_scratch(scratch);
        hs_free_database(db);
        return 2;
    }
    int linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        t.pkts++;
        t.bytes += h->caplen;
        if (!scan) {
            /* touch every byte, as a decoder or a scan would */
            unsigned long long s = 0;
            for (size_t i = 0; i < h->caplen; i++)
                s += data[i];
            t.sum += s;
            continue;
        }
        lw_cursor pay;
        if (linktype != DLT_EN10MB || !parse(data, h->caplen, &pay)) {
            t.skipped++;
            continue;
        }
        size_t len = lw_cur_left(&pay);
        if (len == 0)
            continue;
        struct scan_ctx x = {pay.ptr, len, &t, 0};
        t.payload_bytes += len;
        t.scanned++;
        if (hs_scan(db, (const char *)pay.ptr, (unsigned)len, 0, scratch, on_match, &x) !=
            HS_SUCCESS) {
            fprintf(stderr, "naive_pipeline: hs_scan failed\n");
            break;
        }
    }
    if (rc == PCAP_ERROR)
        fprintf(stderr, "naive_pipeline: %s\n", pcap_geterr(pc));
    pcap_close(pc);
    hs_free_scratch(scratch);
    hs_free_database(db);

    unsigned long long all = 0;
    printf("mode=%s pkts=%llu bytes=%llu", argv[1], t.pkts, t.bytes);
    if (scan) {
        printf(" payload_bytes=%llu scanned=%llu skipped=%llu", t.payload_bytes, t.scanned,
               t.skipped);
        for (int i = 0; i < NPAT; i++) {
            printf(" cb.%s=%llu", PNAME[i], t.cb[i]);
            all += t.cb[i];
        }
        printf(" callbacks=%llu luhn_ok=%llu mod97_ok=%llu\n", all, t.luhn_ok, t.mod97_ok);
    } else {
        printf(" sum=%llu\n", t.sum);
    }
    return rc == PCAP_ERROR ? 1 : 0;
}
