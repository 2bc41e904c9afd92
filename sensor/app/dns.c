/*
 * dns.c - question names of DNS messages as content (see dns.h).
 *
 * DNS is the channel of last resort for exfiltration: a host that may talk
 * to nothing outside can still ask the site's resolver for
 * "<data>.attacker.example", and the resolver carries the name out. So every
 * question of every message, query or response (a response going out from
 * an inside resolver still carries the name), is read; answers are not.
 *
 * Message layout (RFC 1035 section 4.1): a 12-byte header, then QDCOUNT
 * questions, each a name, a 2-byte type and a 2-byte class. A name is a
 * run of labels, each a length byte 1..63 and that many bytes, ended by a
 * zero byte or by a compression pointer (top bits 11, 14-bit offset from
 * the start of the message, section 4.1.4). Top bits 01 and 10 were
 * extended label types (RFC 6891 section 5 retired them): invalid here.
 *
 * Invariants that bound the work on hostile bytes:
 *   - at most LW_DNS_MAX_QUESTIONS questions per message (more: counted);
 *   - a pointer must point strictly before itself and past the header, and
 *     at most LW_DNS_MAX_JUMPS are followed, so a loop ends (POINTER_LOOP);
 *   - a name's wire length (length bytes, labels, final zero) is at most
 *     255 (RFC 1035 section 2.3.4), checked before its bytes are read;
 *   - at most LW_DNS_MAX_TRIES label runs per name go through the codecs.
 * Every byte is read through the cursor. Nothing is allocated except by
 * lw_dns_tcp, which keeps at most LW_DNS_TCP_KEEP bytes per direction.
 *
 * A name has three forms. The raw labels (original case, no separators)
 * feed the codecs: base64 is case-sensitive, and the inside host's query
 * keeps the case the encoder wrote (resolvers' 0x20 case randomisation
 * happens on their side of the wire). The content text is dotted and
 * lower-cased, other bytes left as they are, because it is scanner input.
 * The printable text - meta, question() and the registered-domain lookup -
 * shows every byte outside 0x20..0x7e, and a '.' inside a label, as '?':
 * it ends up in JSON and C strings, and a label must not pass for two.
 *
 * The label payload is what a tunnel hides data in: the labels left of the
 * registered domain (all but the last label when there is none). It is
 * tried, in this order, as a whole; as each shorter run of its leading
 * labels (data first, then a session or sequence label before the
 * domain); and label by label - each later step only when the earlier ones
 * gave nothing. Each run of LW_DNS_PAYLOAD_MIN bytes or more goes through
 * lw_hex_decode, lw_base32_decode and lw_base64_decode; a string can be
 * valid as several, so each decoding that is "plausible" - at least 90% of
 * its bytes printable ASCII - becomes a content item of its own.
 */
#include "leakwatch/dns.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/codec.h"
#include "leakwatch/cursor.h"

#define DNS_NAME_NAME_(name, str) str,
const char *const lw_dns_counter_names[LW_DNS_CTR_MAX] = {LW_DNS_COUNTERS(DNS_NAME_NAME_)};
#undef DNS_NAME_NAME_

#define HDR_LEN       12
#define LABEL_MAX     63
#define NAME_WIRE_MAX 255
#define LABELS_MAX    128 /* 255 wire bytes hold at most 127 labels */

enum name_result { NAME_OK, NAME_TRUNCATED, NAME_BAD, NAME_LOOP };

typedef struct dns_name {
    uint8_t raw[NAME_WIRE_MAX]; /* label bytes, original case, back to back */
    uint8_t off[LABELS_MAX];    /* start of label i in raw */
    uint8_t len[LABELS_MAX];    /* length of label i */
    size_t nlabels;
    size_t rawlen;
    char text[LW_DNS_NAME_MAX];  /* dotted, lower-cased, bytes as is */
    size_t textlen;              /* 0 for the root */
    char print[LW_DNS_NAME_MAX]; /* dotted, lower-cased, printable */
} dns_name;

/* Everything a question needs to report itself. */
typedef struct emit_ctx {
    int dir;
    const lw_app_sink *sink;
    uint64_t *counters;
    unsigned tries;
    bool capped;
} emit_ctx;

static void put_content(const emit_ctx *e, const uint8_t *d, size_t n)
{
    if (e->sink && e->sink->content)
        e->sink->content(e->sink->ctx, e->dir, d, n);
    if (e->sink && e->sink->item_end)
        e->sink->item_end(e->sink->ctx, e->dir);
}

/*
 * Reads the name at *c. Pointers jump through a second cursor over the
 * whole message; *c ends after the name's bytes in place (after the first
 * pointer when there is one).
 */
static enum name_result read_name(const uint8_t *msg, size_t msglen, lw_cursor *c, dns_name *n)
{
    lw_cursor r = *c;
    bool jumped = false;
    unsigned jumps = 0;
    size_t wire = 1; /* the final zero */

    n->nlabels = 0;
    n->rawlen = 0;
    for (;;) {
        size_t here = (size_t)(r.ptr - msg);
        uint8_t b = lw_cur_u8(&r);
        if (r.error)
            return NAME_TRUNCATED;
        if (b == 0)
            break;
        if ((b & 0xc0) == 0xc0) {
            uint8_t lo = lw_cur_u8(&r);
            if (r.error)
                return NAME_TRUNCATED;
            size_t target = (size_t)(b & 0x3f) << 8 | lo;
            if (target < HDR_LEN || target >= here)
                return NAME_BAD; /* into the header, at itself or forwards */
            if (++jumps > LW_DNS_MAX_JUMPS)
                return NAME_LOOP;
            if (!jumped) {
                *c = r;
                jumped = true;
            }
            r = lw_cur_make(msg + target, msglen - target);
            continue;
        }
        if (b & 0xc0)
            return NAME_BAD; /* 01 or 10: retired extended label types */
        wire += 1 + (size_t)b;
        if (wire > NAME_WIRE_MAX)
            return NAME_BAD;
        lw_cur_copy(&r, n->raw + n->rawlen, b);
        if (r.error)
            return NAME_TRUNCATED;
        n->off[n->nlabels] = (uint8_t)n->rawlen;
        n->len[n->nlabels] = b;
        n->nlabels++;
        n->rawlen += b;
    }
    if (!jumped)
        *c = r;

    /* wire <= 255 makes the dotted text at most 253 bytes */
    size_t t = 0;
    for (size_t i = 0; i < n->nlabels; i++) {
        if (i > 0) {
            n->text[t] = '.';
            n->print[t] = '.';
            t++;
        }
        for (size_t j = 0; j < n->len[i]; j++) {
            uint8_t ch = n->raw[n->off[i] + j];
            if (ch >= 'A' && ch <= 'Z')
                ch = (uint8_t)(ch + ('a' - 'A'));
            n->text[t] = (char)ch;
            n->print[t] = (ch >= 0x20 && ch <= 0x7e && ch != '.') ? (char)ch : '?';
            t++;
        }
    }
    n->text[t] = '\0';
    n->textlen = t;
    if (t == 0) {
        n->print[0] = '.';
        n->print[1] = '\0';
    } else {
        n->print[t] = '\0';
    }
    return NAME_OK;
}

static bool plausible(const uint8_t *d, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] >= 0x20 && d[i] <= 0x7e)
            ok++;
    return n > 0 && ok * 10 >= n * 9;
}

/* Tries one run of label bytes with each codec; true when any decoding
 * was emitted. Counts the try against the name's budget. */
static bool try_run(emit_ctx *e, const uint8_t *s, size_t len)
{
    typedef size_t (*decode_fn)(const uint8_t *, size_t, uint8_t *, size_t);
    static const decode_fn codecs[] = {lw_hex_decode, lw_base32_decode, lw_base64_decode};
    uint8_t out[NAME_WIRE_MAX];
    bool any = false;

    if (len < LW_DNS_PAYLOAD_MIN)
        return false;
    if (e->tries >= LW_DNS_MAX_TRIES) {
        if (!e->capped)
            e->counters[LW_DNS_CTR_TRIES_CAPPED]++;
        e->capped = true;
        return false;
    }
    e->tries++;
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        size_t n = codecs[i](s, len, out, sizeof(out));
        if (n > 0 && plausible(out, n)) {
            e->counters[LW_DNS_CTR_DECODED_PAYLOADS]++;
            put_content(e, out, n);
            any = true;
        }
    }
    return any;
}

static void decode_payload(emit_ctx *e, const dns_name *n, size_t npay)
{
    if (npay == 0)
        return;
    /* labels are back to back in raw: a run of them is one slice */
    const uint8_t *base = n->raw;
    size_t end = n->off[npay - 1] + n->len[npay - 1];
    if (try_run(e, base, end))
        return;
    bool any = false;
    for (size_t k = npay - 1; k >= 2 && !e->capped; k--) {
        if (try_run(e, base, (size_t)n->off[k - 1] + n->len[k - 1])) {
            any = true;
            break;
        }
    }
    if (any || npay < 2)
        return;
    for (size_t i = 0; i < npay && !e->capped; i++)
        try_run(e, base + n->off[i], n->len[i]);
}

static void emit_question(emit_ctx *e, const dns_name *n, bool inspect, lw_dns_question_fn question,
                          void *qctx)
{
    char rd[LW_DNS_NAME_MAX];
    size_t rdlen = 0;

    rd[0] = '\0';
    if (n->textlen > 0)
        rdlen = lw_dns_registered_domain(n->print, rd, sizeof(rd));
    e->counters[LW_DNS_CTR_QUESTIONS]++;
    if (question)
        question(qctx, n->print, rd);
    if (e->sink && e->sink->meta)
        e->sink->meta(e->sink->ctx, e->dir, LW_META_DNS_QUERY, (const uint8_t *)n->print,
                      strlen(n->print));
    if (!inspect || n->textlen == 0)
        return;
    put_content(e, (const uint8_t *)n->text, n->textlen);

    /* print has no dots inside labels, so rd's dots count its labels;
     * with no registered domain the last label is left out */
    size_t rdlabels = 1;
    for (size_t i = 0; i < rdlen; i++)
        rdlabels += rd[i] == '.';
    size_t npay = n->nlabels > rdlabels ? n->nlabels - rdlabels : 0;
    e->tries = 0;
    e->capped = false;
    decode_payload(e, n, npay);
}

bool lw_dns_message(const uint8_t *msg, size_t len, int dir, bool inspect, const lw_app_sink *sink,
                    lw_dns_question_fn question, void *qctx, uint64_t *counters)
{
    if (!msg || len < HDR_LEN) {
        counters[LW_DNS_CTR_TRUNCATED]++;
        return false;
    }
    lw_cursor c = lw_cur_make(msg, len);
    lw_cur_skip(&c, 2); /* id */
    uint16_t flags = lw_cur_u16be(&c);
    uint16_t qdcount = lw_cur_u16be(&c);
    lw_cur_skip(&c, 6); /* ancount, nscount, arcount: answers are not read */

    /* opcodes 0-2 and 4-6 are assigned (IANA DNS parameters); the others
     * say these bytes are something else */
    unsigned opcode = (unsigned)(flags >> 11) & 0xf;
    if (opcode == 3 || opcode > 6) {
        counters[LW_DNS_CTR_NOT_DNS]++;
        return false;
    }
    counters[LW_DNS_CTR_MESSAGES]++;

    unsigned nq = qdcount;
    if (nq > LW_DNS_MAX_QUESTIONS) {
        counters[LW_DNS_CTR_TOO_MANY_QUESTIONS]++;
        nq = LW_DNS_MAX_QUESTIONS;
    }
    emit_ctx e = {.dir = dir, .sink = sink, .counters = counters};
    dns_name n;
    for (unsigned q = 0; q < nq; q++) {
        enum name_result r = read_name(msg, len, &c, &n);
        if (r == NAME_TRUNCATED) {
            counters[LW_DNS_CTR_TRUNCATED]++;
            break;
        }
        if (r == NAME_LOOP) {
            counters[LW_DNS_CTR_POINTER_LOOP]++;
            break;
        }
        if (r == NAME_BAD) {
            counters[LW_DNS_CTR_BAD_NAME]++;
            break;
        }
        /* The name was sent even when type and class were cut off. */
        emit_question(&e, &n, inspect, question, qctx);
        lw_cur_skip(&c, 4); /* qtype, qclass */
        if (c.error) {
            counters[LW_DNS_CTR_TRUNCATED]++;
            break;
        }
    }
    return true;
}

/* Only when libpsl was built without its list: the last two labels. */
static const char *last_two_labels(const char *name, size_t len)
{
    size_t dots = 0;
    for (size_t i = len; i > 0; i--) {
        if (name[i - 1] == '.' && ++dots == 2)
            return name + i;
    }
    return dots == 1 ? name : NULL;
}

size_t lw_dns_registered_domain(const char *name, char *out, size_t cap)
{
    char low[LW_DNS_NAME_MAX];

    if (out && cap > 0)
        out[0] = '\0';
    if (!name || !out)
        return 0;
    size_t len = strnlen(name, sizeof(low));
    if (len >= sizeof(low))
        return 0;
    /* libpsl expects lower-case UTF-8; names off the wire are ASCII
     * (IDNs travel as xn-- labels), so other bytes are not let through */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch + ('a' - 'A'));
        low[i] = (ch >= 0x20 && ch <= 0x7e) ? (char)ch : '?';
    }
    if (len > 0 && low[len - 1] == '.')
        len--; /* the root's empty label */
    low[len] = '\0';
    if (len == 0)
        return 0;

    const psl_ctx_t *psl = psl_builtin(); /* static data inside libpsl */
    const char *rd = psl ? psl_registrable_domain(psl, low) : last_two_labels(low, len);
    if (!rd)
        return 0;
    size_t n = strlen(rd);
    if (n + 1 > cap)
        return 0;
    memcpy(out, rd, n + 1);
    return n;
}

/* ---- TCP framing --------------------------------------------------------- */

enum { TCP_LEN_HI, TCP_LEN_LO, TCP_BODY };

typedef struct dns_dir {
    uint8_t state;
    uint8_t len_hi;
    uint32_t msglen; /* from the 2-byte prefix */
    uint32_t got;    /* bytes of the message seen so far */
    uint32_t keep;   /* bytes of it that are parsed: min(msglen, LW_DNS_TCP_KEEP) */
    uint8_t *buf;    /* keep bytes, only while a kept prefix spans feeds */
} dns_dir;

struct lw_dns_tcp {
    uint64_t *counters;
    dns_dir d[2];
};

size_t lw_dns_tcp_footprint(const lw_dns_tcp *t)
{
    return t ? sizeof(*t) : 0;
}

lw_dns_tcp *lw_dns_tcp_new(uint64_t *counters)
{
    lw_dns_tcp *t = calloc(1, sizeof(*t));
    if (t)
        t->counters = counters;
    return t;
}

static void dir_reset(dns_dir *d)
{
    free(d->buf);
    d->buf = NULL;
    d->state = TCP_LEN_HI;
    d->got = 0;
}

void lw_dns_tcp_feed(lw_dns_tcp *t, int dir, const uint8_t *data, size_t len, bool inspect,
                     const lw_app_sink *sink, lw_dns_question_fn question, void *qctx)
{
    if (!t || (dir != 0 && dir != 1) || !data)
        return;
    dns_dir *d = &t->d[dir];
    lw_cursor c = lw_cur_make(data, len);

    while (lw_cur_left(&c) > 0) {
        if (d->state == TCP_LEN_HI) {
            d->len_hi = lw_cur_u8(&c);
            d->state = TCP_LEN_LO;
            continue;
        }
        if (d->state == TCP_LEN_LO) {
            d->msglen = (uint32_t)d->len_hi << 8 | lw_cur_u8(&c);
            d->got = 0;
            d->keep = d->msglen < LW_DNS_TCP_KEEP ? d->msglen : LW_DNS_TCP_KEEP;
            if (d->msglen > LW_DNS_TCP_KEEP)
                t->counters[LW_DNS_CTR_TCP_TOO_LONG]++;
            if (d->msglen == 0) {
                /* an empty frame: counted as a truncated message */
                lw_dns_message(NULL, 0, dir, inspect, sink, question, qctx, t->counters);
                d->state = TCP_LEN_HI;
            } else {
                d->state = TCP_BODY;
            }
            continue;
        }
        size_t left = lw_cur_left(&c);
        if (d->got < d->keep) {
            size_t need = d->keep - d->got;
            if (d->got == 0 && left >= need) {
                /* the kept prefix is here whole: parse it in place */
                lw_cursor m = lw_cur_sub(&c, need);
                lw_dns_message(m.ptr, need, dir, inspect, sink, question, qctx, t->counters);
                d->got += (uint32_t)need;
            } else {
                if (!d->buf) {
                    d->buf = malloc(d->keep);
                    if (!d->buf) {
                        /* cannot hold it: the message is lost, skip it */
                        t->counters[LW_DNS_CTR_TRUNCATED]++;
                        d->keep = d->got;
                        continue;
                    }
                }
                size_t take = left < need ? left : need;
                lw_cur_copy(&c, d->buf + d->got, take);
                d->got += (uint32_t)take;
                if (d->got == d->keep) {
                    lw_dns_message(d->buf, d->keep, dir, inspect, sink, question, qctx,
                                   t->counters);
                    free(d->buf);
                    d->buf = NULL;
                }
            }
        } else {
            size_t rest = d->msglen - d->got;
            size_t take = left < rest ? left : rest;
            lw_cur_skip(&c, take);
            d->got += (uint32_t)take;
        }
        if (d->got == d->msglen)
            dir_reset(d);
    }
}

void lw_dns_tcp_gap(lw_dns_tcp *t, int dir)
{
    if (!t || (dir != 0 && dir != 1))
        return;
    /* The gap's size is unknown; the next byte is taken for a length. A
     * misframed message fails the header or name checks and is counted. */
    dir_reset(&t->d[dir]);
}

void lw_dns_tcp_free(lw_dns_tcp *t)
{
    if (!t)
        return;
    free(t->d[0].buf);
    free(t->d[1].buf);
    free(t);
}
