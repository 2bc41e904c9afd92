/*
 * gen_traffic.c - writes the deterministic captures of bench/perf.sh.
 *
 *   gen_traffic -m MIB  [-s SEED] OUT.pcap   web-server traffic, MIB MiB of capture
 *   gen_traffic -f FLOWS [-s SEED] OUT.pcap  FLOWS short connections all open at once
 *
 * Both write OUT.pcap.meta next to the capture (key=value lines: packets, bytes,
 * connections, and how many PII values of each kind the payloads carry) and
 * write through OUT.pcap.tmp, renamed at the end, so a half-written file is never
 * taken for a finished one. The same arguments always give the same bytes.
 *
 * -m: web servers inside 198.18.0.0/16 (RFC 2544 benchmarking space; perf.sh
 * sets it as home_net, so responses are egress and inspected) answering clients
 * in 198.19.0.0/16. 4096 TCP connections are open at any time; each packet is
 * the next one of a connection picked at random, so connections interleave
 * packet by packet as on a busy link. A connection is: three-way handshake, a
 * short HTTP GET, a response of 2 KiB-512 KiB (log-uniform, headers included)
 * in 1460-byte segments, the client ACKing every second segment, FIN both ways.
 * About 3% of the packets are UDP syslog datagrams from the servers. The
 * generation stops at the size asked, mid-connection: open flows stay open.
 *
 * -f: FLOWS connections in phases, each phase over every connection before the
 * next starts: SYN, SYN-ACK, a request, a ~300-byte response, RST. After the
 * first phase all FLOWS are open at once; the whole capture spans a few seconds
 * of packet time, well inside the sensor's idle timeout.
 *
 * Payloads are slices of a text corpus built once in memory: prose, HTML, JSON,
 * HTTP headers, log lines and base64, with one PII value about every 4 KiB, in
 * turn an e-mail address, an E.164 number, a NANP number, a Luhn-valid card
 * number, an SSN and a mod-97-valid IBAN (all fictional: example.* domains, the
 * UK drama range +44 20 7946 0xxx, grouped or not, the 555 exchange, made-up accounts), each
 * between spaces and punctuation so that a boundary rule accepts it. Frames are
 * Ethernet II / IPv4 / TCP or UDP with valid IPv4, TCP and UDP checksums
 * (RFC 791, 793, 768; the one's-complement sum of RFC 1071). pcap format:
 * microsecond little-endian, linktype 1, snaplen 65535.
 *
 * Plain C and libc only, so that it builds wherever the sensor builds; it
 * writes a GiB in a few seconds.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luhn.h"

#define CORPUS_MAIN (16u << 20) /* distinct text; slices start in here */
#define BODY_MAX    (512u << 10)
#define CORPUS_CAP  (CORPUS_MAIN + BODY_MAX + 65536)
#define SLOTS       4096u
#define MSS         1460u
#define SERVERS     64u
#define CLIENTS     512u
#define NKINDS      6

enum kind { K_EMAIL, K_E164, K_NANP, K_CARD, K_SSN, K_IBAN };
static const char *const KIND_NAME[NKINDS] = {"email", "e164", "nanp", "card", "ssn", "iban"};

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(next_rand(s) % n);
}

/* ---- the text corpus ---------------------------------------------------- */

struct corpus {
    char *text;
    size_t len;
    /* PII values in order of position: [start, end) and kind */
    uint32_t *start, *end;
    uint8_t *kind;
    size_t n, cap;
};

static const char *const WORDS[] = {
    "the",     "of",      "and",     "order",   "account", "service", "customer", "report",
    "network", "server",  "request", "data",    "system",  "update",  "payment",  "shipping",
    "invoice", "status",  "session", "policy",  "review",  "team",    "project",  "delivery",
    "a",       "to",      "in",      "is",      "for",     "with",    "on",       "was",
    "this",    "that",    "from",    "will",    "has",     "been",    "have",     "we",
    "please",  "thanks",  "monthly", "annual",  "summary", "product", "quality",  "support",
    "office",  "meeting", "changes", "release", "version", "latency", "storage",  "backup"};
#define NWORDS (sizeof(WORDS) / sizeof(WORDS[0]))

static void put(struct corpus *c, const char *s, size_t n)
{
    if (c->len + n > CORPUS_CAP)
        n = CORPUS_CAP - c->len;
    memcpy(c->text + c->len, s, n);
    c->len += n;
}

static void puts_c(struct corpus *c, const char *s)
{
    put(c, s, strlen(s));
}

static void prose(struct corpus *c, uint64_t *r, unsigned words)
{
    for (unsigned i = 0; i < words; i++) {
        const char *w = WORDS[below(r, NWORDS)];
        if (i > 0)
            puts_c(c, below(r, 12) == 0 ? ", " : " ");
        if (i == 0) {
            char cap[16];
            snprintf(cap, sizeof(cap), "%s", w);
            cap[0] = (char)(cap[0] - 'a' + 'A');
            puts_c(c, cap);
        } else {
            puts_c(c, w);
        }
    }
    puts_c(c, ". ");
}

static void html(struct corpus *c, uint64_t *r)
{
    char b[128];
    snprintf(b, sizeof(b), "<div class=\"item-%u\"><a href=\"/catalog/%u\">", below(r, 50),
             below(r, 100000));
    puts_c(c, b);
    prose(c, r, 3 + below(r, 5));
    puts_c(c, "</a><p>");
    prose(c, r, 12 + below(r, 20));
    puts_c(c, "</p></div>\n");
}

static void json(struct corpus *c, uint64_t *r)
{
    char b[256];
    snprintf(b, sizeof(b),
             "{\"id\":%u,\"name\":\"%s %s\",\"active\":%s,\"score\":%u.%u,"
             "\"tags\":[\"%s\",\"%s\"],\"note\":\"",
             below(r, 1000000), WORDS[below(r, NWORDS)], WORDS[below(r, NWORDS)],
             below(r, 2) ? "true" : "false", below(r, 100), below(r, 10), WORDS[below(r, NWORDS)],
             WORDS[below(r, NWORDS)]);
    puts_c(c, b);
    prose(c, r, 6 + below(r, 10));
    puts_c(c, "\"}\n");
}

static void headers(struct corpus *c, uint64_t *r)
{
    char b[256];
    snprintf(b, sizeof(b),
             "GET /static/%s/%u.css HTTP/1.1\r\nHost: cdn%u.example.net\r\n"
             "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0\r\n"
             "Accept: text/css,*/*;q=0.1\r\nCache-Control: max-age=%u\r\n\r\n",
             WORDS[below(r, NWORDS)], below(r, 10000), below(r, 9), below(r, 86400));
    puts_c(c, b);
}

static void logs(struct corpus *c, uint64_t *r)
{
    static const char *const LEVEL[] = {"INFO", "WARN", "DEBUG", "ERROR"};
    char b[256];
    unsigned n = 2 + below(r, 6);
    for (unsigned i = 0; i < n; i++) {
        snprintf(b, sizeof(b), "2024-03-%02uT%02u:%02u:%02u.%03uZ app%u %s [%s] ", 1 + below(r, 28),
                 below(r, 24), below(r, 60), below(r, 60), below(r, 1000), below(r, 20),
                 LEVEL[below(r, 4)], WORDS[below(r, NWORDS)]);
        puts_c(c, b);
        prose(c, r, 4 + below(r, 8));
        snprintf(b, sizeof(b), "latency_ms=%u bytes=%u\n", below(r, 2000), below(r, 100000));
        puts_c(c, b);
    }
}

static void base64(struct corpus *c, uint64_t *r)
{
    static const char AL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    unsigned n = 2 + below(r, 8);
    for (unsigned i = 0; i < n; i++) {
        for (int j = 0; j < 76; j++)
            line[j] = AL[below(r, 64)];
        line[76] = '\n';
        put(c, line, 77);
    }
}

/* The remainder mod 97 of a string of digits and letters (A=10 ... Z=35). */
static unsigned mod97(const char *s)
{
    unsigned m = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            m = (m * 10 + (unsigned)(*s - '0')) % 97;
        else
            m = (m * 100 + (unsigned)(*s - 'A' + 10)) % 97;
    }
    return m;
}

/* The NANP validator's area-code rules: [2-9][0-8][0-9], not N11, 37X, 96X, 555. */
static unsigned nanp_area(uint64_t *r)
{
    for (;;) {
        unsigned n = 200 + below(r, 800), b = n / 10 % 10, cc = n % 10;
        if (b > 8 || (b == 1 && cc == 1) || n / 10 == 37 || n / 10 == 96 || n == 555)
            continue;
        return n;
    }
}

static void pii(struct corpus *c, uint64_t *r, enum kind k)
{
    char v[64], d[40];
    switch (k) {
    case K_EMAIL:
        snprintf(v, sizeof(v), "%s.%s%u@example.%s", WORDS[below(r, NWORDS)],
                 WORDS[below(r, NWORDS)], below(r, 100000),
                 below(r, 2) ? "com" : (below(r, 2) ? "org" : "net"));
        break;
    case K_E164:
        if (below(r, 2))
            snprintf(v, sizeof(v), "+44 20 7946 %04u", below(r, 1000));
        else
            snprintf(v, sizeof(v), "+4420794600%02u", below(r, 100));
        break;
    case K_NANP:
        snprintf(v, sizeof(v), "(%03u) 555-%04u", nanp_area(r), 100 + below(r, 100));
        break;
    case K_CARD:
        d[0] = '4';
        for (int i = 1; i < 15; i++)
            d[i] = (char)('0' + below(r, 10));
        d[15] = (char)('0' + luhn_digit(d, 15));
        d[16] = '\0';
        if (below(r, 2))
            snprintf(v, sizeof(v), "%.4s %.4s %.4s %.4s", d, d + 4, d + 8, d + 12);
        else
            snprintf(v, sizeof(v), "%s", d);
        break;
    case K_SSN: {
        unsigned area;
        do
            area = 100 + below(r, 566);
        while (area == 123 || area == 219 || area == 457);
        snprintf(v, sizeof(v), "%03u-%02u-%04u", area, 1 + below(r, 99), 1 + below(r, 9999));
        break;
    }
    case K_IBAN: {
        /* DE: 8-digit bank code, 10-digit account; check digits 98 - (BBAN "DE00" mod 97). */
        char bban[19], tmp[32];
        for (int i = 0; i < 18; i++)
            bban[i] = (char)('0' + below(r, 10));
        bban[18] = '\0';
        snprintf(tmp, sizeof(tmp), "%sDE00", bban);
        unsigned ck = 98 - mod97(tmp);
        if (below(r, 2))
            snprintf(v, sizeof(v), "DE%02u %.4s %.4s %.4s %.4s %.2s", ck, bban, bban + 4, bban + 8,
                     bban + 12, bban + 16);
        else
            snprintf(v, sizeof(v), "DE%02u%s", ck, bban);
        break;
    }
    }
    static const char *const LEAD[] = {"Contact ", "customer: ", "ref ", "(", "value=\""};
    /* Each tail has a byte no pattern continues with, so that the text that
     * follows (a log line's date, a number) never extends the value. */
    static const char *const TAIL[] = {", ", "; ", ".\n", ")\n", "\" "};
    unsigned w = below(r, 5);
    puts_c(c, LEAD[w]);
    if (c->len + strlen(v) <= CORPUS_CAP && c->n < c->cap) {
        c->start[c->n] = (uint32_t)c->len;
        c->end[c->n] = (uint32_t)(c->len + strlen(v));
        c->kind[c->n] = (uint8_t)k;
        c->n++;
    }
    puts_c(c, v);
    puts_c(c, TAIL[w]);
}

static int corpus_build(struct corpus *c, uint64_t seed)
{
    uint64_t r = seed ^ 0x636F72707573ull; /* "corpus" */
    size_t next_pii = 2000;
    unsigned k = 0;

    c->cap = CORPUS_CAP / 2048;
    c->text = malloc(CORPUS_CAP);
    c->start = malloc(c->cap * sizeof(*c->start));
    c->end = malloc(c->cap * sizeof(*c->end));
    c->kind = malloc(c->cap);
    if (!c->text || !c->start || !c->end || !c->kind)
        return -1;
    c->len = 0;
    c->n = 0;
    while (c->len < CORPUS_CAP - 1024) {
        switch (below(&r, 12)) {
        case 0:
        case 1:
        case 2:
        case 3:
            prose(c, &r, 20 + below(&r, 60));
            break;
        case 4:
        case 5:
            html(c, &r);
            break;
        case 6:
        case 7:
            json(c, &r);
            break;
        case 8:
            headers(c, &r);
            break;
        case 9:
        case 10:
            logs(c, &r);
            break;
        default:
            base64(c, &r);
            break;
        }
        if (c->len >= next_pii) {
            pii(c, &r, (enum kind)k);
            k = (k + 1) % NKINDS;
            next_pii = c->len + 3500 + below(&r, 1200);
        }
    }
    while (c->len < CORPUS_CAP)
        c->text[c->len++] = ' ';
    return 0;
}

/* Counts the PII values lying wholly inside corpus[a, b), per kind. */
static void count_pii(const struct corpus *c, size_t a, size_t b, uint64_t *per_kind)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->start[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < c->n && c->end[i] <= b; i++)
        per_kind[c->kind[i]]++;
}

/* ---- frames --------------------------------------------------------------- */

struct out {
    FILE *f;
    uint64_t bytes, packets, usec;
    uint16_t ip_id;
};

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v);
}

/* RFC 1071 sum of n bytes, not yet folded. */
static uint64_t sum16(const uint8_t *p, size_t n, uint64_t acc)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        acc += (uint64_t)p[i] << 8 | p[i + 1];
    if (i < n)
        acc += (uint64_t)p[i] << 8;
    return acc;
}

static uint16_t fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (uint16_t)~acc;
}

enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10 };

struct l4 {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto; /* 6 or 17 */
    uint8_t flags;
    uint32_t seq, ack;
};

/* Writes one record: Ethernet II, IPv4 (DF, TTL 64), TCP (no options) or UDP. */
static int emit(struct out *o, const struct l4 *t, const uint8_t *pay, size_t plen)
{
    uint8_t f[16 + 14 + 20 + 20];
    size_t l4len = t->proto == 6 ? 20 : 8, hlen = 14 + 20 + l4len;
    size_t flen = hlen + plen;
    uint8_t *e = f + 16, *ip = e + 14, *th = ip + 20;

    o->usec += 5;
    le32(f, (uint32_t)(1700000000u + o->usec / 1000000u));
    le32(f + 4, (uint32_t)(o->usec % 1000000u));
    le32(f + 8, (uint32_t)flen);
    le32(f + 12, (uint32_t)flen);
    /* MACs: locally administered, the last byte the host's last octet */
    static const uint8_t MAC[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x00};
    memcpy(e, MAC, 6);
    e[5] = (uint8_t)t->dst;
    memcpy(e + 6, MAC, 6);
    e[11] = (uint8_t)t->src;
    be16(e + 12, 0x0800);

    ip[0] = 0x45;
    ip[1] = 0;
    be16(ip + 2, (uint32_t)(20 + l4len + plen));
    be16(ip + 4, o->ip_id++);
    be16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = t->proto;
    be16(ip + 10, 0);
    be32(ip + 12, t->src);
    be32(ip + 16, t->dst);
    be16(ip + 10, fold(sum16(ip, 20, 0)));

    be16(th, t->sport);
    be16(th + 2, t->dport);
    if (t->proto == 6) {
        be32(th + 4, t->seq);
        be32(th + 8, t->ack);
        th[12] = 5 << 4;
        th[13] = t->flags;
        be16(th + 14, 65535);
        be16(th + 16, 0);
        be16(th + 18, 0);
    } else {
        be16(th + 4, (uint32_t)(8 + plen));
        be16(th + 6, 0);
    }
    /* pseudo-header: addresses, protocol, L4 length */
    uint64_t acc = sum16(ip + 12, 8, 0) + t->proto + l4len + plen;
    acc = sum16(th, l4len, acc);
    acc = sum16(pay, plen, acc);
    uint16_t ck = fold(acc);
    if (t->proto == 17 && ck == 0)
        ck = 0xFFFF;
    be16(th + (t->proto == 6 ? 16 : 6), ck);

    if (fwrite(f, 1, 16 + hlen, o->f) != 16 + hlen || (plen && fwrite(pay, 1, plen, o->f) != plen))
        return -1;
    o->bytes += 16 + flen;
    o->packets++;
    return 0;
}

/* ---- -m: interleaved web traffic ----------------------------------------- */

struct conn {
    uint32_t cli, srv;
    uint16_t cport;
    uint32_t cseq, sseq; /* initial sequence numbers */
    uint32_t resp_len;   /* header + body */
    uint32_t sent;       /* response bytes sent */
    uint32_t body_off;   /* body = corpus[body_off, body_off + resp_len - hdr_len) */
    uint16_t hdr_len, req_len;
    uint8_t phase, unacked;
    char hdr[160];
};

enum { P_SYN, P_SYNACK, P_ACK, P_REQ, P_DATA, P_CACK, P_SFIN, P_CFIN, P_LAST, P_DONE };

struct stats {
    uint64_t conns, udp, pii[NKINDS];
};

static void conn_new(struct conn *cn, uint64_t *r, struct stats *st)
{
    static const char *const CT[] = {"text/html; charset=utf-8", "application/json", "text/plain"};
    /* log-uniform over 2 KiB .. 512 KiB, headers included */
    double u = (double)(next_rand(r) >> 11) / 9007199254740992.0;
    uint32_t len = (uint32_t)exp2(11.0 + 8.0 * u);
    const char *ct = CT[below(r, 3)];
    uint32_t body = len;
    int h = 0;

    if (len < 2048)
        len = 2048;
    if (len > BODY_MAX)
        len = BODY_MAX;
    cn->cli = (198u << 24) | (19u << 16) | (1 + below(r, CLIENTS));
    cn->srv = (198u << 24) | (18u << 16) | (1 + below(r, SERVERS));
    cn->cport = (uint16_t)(1024 + below(r, 60000));
    cn->cseq = (uint32_t)next_rand(r);
    cn->sseq = (uint32_t)next_rand(r);
    cn->phase = P_SYN;
    cn->sent = 0;
    cn->unacked = 0;
    cn->req_len = 0;
    /* The header's length depends on the digits of Content-Length: settle it. */
    for (int i = 0; i < 3; i++) {
        h = snprintf(cn->hdr, sizeof(cn->hdr),
                     "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: %s\r\n"
                     "Content-Length: %u\r\n\r\n",
                     ct, body);
        body = len - (uint32_t)h;
    }
    h = snprintf(cn->hdr, sizeof(cn->hdr),
                 "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: %s\r\n"
                 "Content-Length: %u\r\n\r\n",
                 ct, body);
    cn->hdr_len = (uint16_t)h;
    cn->resp_len = (uint32_t)h + body;
    cn->body_off = below(r, CORPUS_MAIN);
    st->conns++;
}

/* Adds the PII values of the response body bytes written so far. */
static void count_sent(const struct conn *cn, const struct corpus *c, struct stats *st)
{
    if (cn->sent > cn->hdr_len)
        count_pii(c, cn->body_off, cn->body_off + cn->sent - cn->hdr_len, st->pii);
}

/* The next packet of connection cn; returns 1 when the connection is finished. */
static int conn_step(struct conn *cn, struct out *o, const struct corpus *c)
{
    struct l4 cs = {cn->cli, cn->srv, cn->cport, 80, 6, 0, 0, 0};
    struct l4 sc = {cn->srv, cn->cli, 80, cn->cport, 6, 0, 0, 0};
    uint8_t seg[MSS];
    char req[192];
    uint32_t c1 = cn->cseq + 1, s1 = cn->sseq + 1;
    int n;

    switch (cn->phase) {
    case P_SYN:
        cs.flags = F_SYN;
        cs.seq = cn->cseq;
        cn->phase = P_SYNACK;
        return emit(o, &cs, NULL, 0);
    case P_SYNACK:
        sc.flags = F_SYN | F_ACK;
        sc.seq = cn->sseq;
        sc.ack = c1;
        cn->phase = P_ACK;
        return emit(o, &sc, NULL, 0);
    case P_ACK:
        cs.flags = F_ACK;
        cs.seq = c1;
        cs.ack = s1;
        cn->phase = P_REQ;
        return emit(o, &cs, NULL, 0);
    case P_REQ:
        n = snprintf(req, sizeof(req),
                     "GET /api/v1/items/%u HTTP/1.1\r\nHost: www.example.net\r\n"
                     "User-Agent: bench/1.0\r\nAccept: */*\r\n\r\n",
                     cn->body_off);
        cn->req_len = (uint16_t)n;
        cs.flags = F_ACK | F_PSH;
        cs.seq = c1;
        cs.ack = s1;
        cn->phase = P_DATA;
        return emit(o, &cs, (const uint8_t *)req, (size_t)n);
    case P_DATA: {
        uint32_t len = cn->resp_len - cn->sent < MSS ? cn->resp_len - cn->sent : MSS;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t at = cn->sent + i;
            seg[i] = at < cn->hdr_len ? (uint8_t)cn->hdr[at]
                                      : (uint8_t)c->text[cn->body_off + at - cn->hdr_len];
        }
        sc.flags = F_ACK | (cn->sent + len == cn->resp_len ? F_PSH : 0);
        sc.seq = s1 + cn->sent;
        sc.ack = c1 + cn->req_len;
        cn->sent += len;
        cn->unacked++;
        if (cn->unacked == 2 || cn->sent == cn->resp_len)
            cn->phase = P_CACK;
        return emit(o, &sc, seg, len);
    }
    case P_CACK:
        cs.flags = F_ACK;
        cs.seq = c1 + cn->req_len;
        cs.ack = s1 + cn->sent;
        cn->unacked = 0;
        cn->phase = cn->sent == cn->resp_len ? P_SFIN : P_DATA;
        return emit(o, &cs, NULL, 0);
    case P_SFIN:
        sc.flags = F_FIN | F_ACK;
        sc.seq = s1 + cn->resp_len;
        sc.ack = c1 + cn->req_len;
        cn->phase = P_CFIN;
        return emit(o, &sc, NULL, 0);
    case P_CFIN:
        cs.flags = F_FIN | F_ACK;
        cs.seq = c1 + cn->req_len;
        cs.ack = s1 + cn->resp_len + 1;
        cn->phase = P_LAST;
        return emit(o, &cs, NULL, 0);
    default:
        sc.flags = F_ACK;
        sc.seq = s1 + cn->resp_len + 1;
        sc.ack = c1 + cn->req_len + 1;
        cn->phase = P_DONE;
        return emit(o, &sc, NULL, 0);
    }
}

static int gen_web(struct out *o, uint64_t seed, uint64_t target, const struct corpus *c,
                   struct stats *st)
{
    uint64_t r = seed;
    struct conn *slot = calloc(SLOTS, sizeof(*slot));
    if (!slot)
        return -1;
    for (unsigned i = 0; i < SLOTS; i++)
        conn_new(&slot[i], &r, st);
    while (o->bytes < target) {
        if (below(&r, 100) < 3) {
            /* syslog from a server to an outside collector */
            struct l4 u = {(198u << 24) | (18u << 16) | (1 + below(&r, SERVERS)),
                           (198u << 24) | (19u << 16) | (1 + below(&r, CLIENTS)),
                           (uint16_t)(1024 + below(&r, 60000)),
                           514,
                           17,
                           0,
                           0,
                           0};
            uint32_t off = below(&r, CORPUS_MAIN), len = 200 + below(&r, 1200);
            count_pii(c, off, off + len, st->pii);
            st->udp++;
            if (emit(o, &u, (const uint8_t *)c->text + off, len))
                goto fail;
            continue;
        }
        struct conn *cn = &slot[below(&r, SLOTS)];
        if (conn_step(cn, o, c))
            goto fail;
        if (cn->phase == P_DONE) {
            count_sent(cn, c, st);
            conn_new(cn, &r, st);
        }
    }
    for (unsigned i = 0; i < SLOTS; i++)
        count_sent(&slot[i], c, st); /* the part of each open response written */
    free(slot);
    return 0;
fail:
    free(slot);
    return -1;
}

/* ---- -f: many concurrent short flows ------------------------------------- */

static int gen_flows(struct out *o, uint64_t seed, uint64_t flows, const struct corpus *c,
                     struct stats *st)
{
    char req[128], resp[512];
    for (int phase = 0; phase < 5; phase++) {
        uint64_t r = seed; /* the same per-flow values in every phase */
        for (uint64_t i = 0; i < flows; i++) {
            uint32_t cli = (198u << 24) | (19u << 16) | (uint32_t)(i & 0xFFFF);
            uint32_t srv = (198u << 24) | (18u << 16) | (uint32_t)(1 + i % SERVERS);
            uint16_t cport = (uint16_t)(10000 + (i >> 16));
            uint32_t cseq = (uint32_t)next_rand(&r), sseq = (uint32_t)next_rand(&r);
            uint32_t off = below(&r, CORPUS_MAIN);
            struct l4 cs = {cli, srv, cport, 80, 6, 0, cseq + 1, sseq + 1};
            struct l4 sc = {srv, cli, 80, cport, 6, 0, sseq + 1, cseq + 1};
            int qn = snprintf(req, sizeof(req), "GET /i/%u HTTP/1.1\r\nHost: a.example.net\r\n\r\n",
                              off);
            int hn = snprintf(resp, sizeof(resp),
                              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 256\r\n\r\n");
            memcpy(resp + hn, c->text + off, 256);
            int rc = 0;
            switch (phase) {
            case 0:
                cs.flags = F_SYN;
                cs.seq = cseq;
                cs.ack = 0;
                rc = emit(o, &cs, NULL, 0);
                st->conns++;
                break;
            case 1:
                sc.flags = F_SYN | F_ACK;
                sc.seq = sseq;
                rc = emit(o, &sc, NULL, 0);
                break;
            case 2:
                cs.flags = F_ACK | F_PSH;
                rc = emit(o, &cs, (const uint8_t *)req, (size_t)qn);
                break;
            case 3:
                sc.flags = F_ACK | F_PSH;
                sc.ack = cseq + 1 + (uint32_t)qn;
                rc = emit(o, &sc, (const uint8_t *)resp, (size_t)hn + 256);
                count_pii(c, off, off + 256, st->pii);
                break;
            default:
                cs.flags = F_RST | F_ACK;
                cs.seq = cseq + 1 + (uint32_t)qn;
                cs.ack = sseq + 1 + (uint32_t)hn + 256;
                rc = emit(o, &cs, NULL, 0);
                break;
            }
            if (rc)
                return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t mib = 0, flows = 0, seed = 1;
    const char *outp = NULL;
    char tmp[4096], meta[4096];
    static char buf[4 << 20];
    struct corpus c;
    struct stats st = {0};
    struct out o = {0};

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            mib = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-f") && i + 1 < argc)
            flows = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !outp)
            outp = argv[i];
        else
            outp = NULL, i = argc;
    }
    if (!outp || (mib == 0) == (flows == 0) || mib > 1u << 20 || flows > 16000000) {
        fprintf(stderr, "usage: gen_traffic (-m MIB | -f FLOWS) [-s SEED] OUT.pcap\n");
        return 2;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", outp);
    snprintf(meta, sizeof(meta), "%s.meta", outp);
    if (corpus_build(&c, seed)) {
        fprintf(stderr, "gen_traffic: out of memory\n");
        return 1;
    }
    o.f = fopen(tmp, "wb");
    if (!o.f) {
        fprintf(stderr, "gen_traffic: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    setvbuf(o.f, buf, _IOFBF, sizeof(buf));
    uint8_t gh[24];
    le32(gh, 0xA1B2C3D4u);
    gh[4] = 2, gh[5] = 0, gh[6] = 4, gh[7] = 0; /* version 2.4 */
    le32(gh + 8, 0);
    le32(gh + 12, 0);
    le32(gh + 16, 65535);
    le32(gh + 20, 1); /* LINKTYPE_ETHERNET */
    int rc = fwrite(gh, 1, 24, o.f) == 24 ? 0 : -1;
    o.bytes = 24;
    if (rc == 0)
        rc = mib ? gen_web(&o, seed, mib << 20, &c, &st) : gen_flows(&o, seed, flows, &c, &st);
    if (fclose(o.f) != 0 || rc != 0) {
        fprintf(stderr, "gen_traffic: writing %s failed: %s\n", tmp, strerror(errno));
        remove(tmp);
        return 1;
    }
    FILE *m = fopen(meta, "w");
    if (!m) {
        fprintf(stderr, "gen_traffic: %s: %s\n", meta, strerror(errno));
        return 1;
    }
    fprintf(m, "mode=%s\nsize=%llu\nseed=%llu\nbytes=%llu\npackets=%llu\nconnections=%llu\n",
            mib ? "web" : "flows", (unsigned long long)(mib ? mib : flows),
            (unsigned long long)seed, (unsigned long long)o.bytes, (unsigned long long)o.packets,
            (unsigned long long)st.conns);
    fprintf(m, "udp=%llu\n", (unsigned long long)st.udp);
    uint64_t all = 0;
    for (int k = 0; k < NKINDS; k++) {
        fprintf(m, "pii.%s=%llu\n", KIND_NAME[k], (unsigned long long)st.pii[k]);
        all += st.pii[k];
    }
    fprintf(m, "pii=%llu\n", (unsigned long long)all);
    if (fclose(m) != 0 || rename(tmp, outp) != 0) {
        fprintf(stderr, "gen_traffic: finishing %s: %s\n", outp, strerror(errno));
        return 1;
    }
    free(c.text);
    free(c.start);
    free(c.end);
    free(c.kind);
    return 0;
}
