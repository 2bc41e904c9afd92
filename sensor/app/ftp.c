/*
 * ftp.c - the FTP control channel, line by line (see ftp.h).
 *
 * FTP sends files on connections of their own, announced on the control
 * connection (RFC 959 section 4.1.2, RFC 2428):
 *   client  PORT h1,h2,h3,h4,p1,p2      I listen at h1.h2.h3.h4, port p1*256+p2
 *   client  EPRT |1|192.0.2.1|6446|     the same for IPv4 or (|2|) IPv6; any
 *                                       byte 33..126 may stand for '|'
 *   server  227 ... (h1,h2,h3,h4,p1,p2) I listen there (passive mode)
 *   server  229 ... (|||6446|)          I listen at my address, that port
 * Each announcement becomes one expect() call, so the engine can find the
 * data connection and inspect it as ftp-data. The control channel carries
 * PII too: user names are often email addresses and file names are chosen
 * by people, so the arguments of USER, STOR, STOU, APPE and RETR go out as
 * content items, and the transfer commands as LW_META_FTP_COMMAND.
 *
 * Policies:
 *   - PORT and EPRT must name the control connection's client. Anything
 *     else is the "FTP bounce" (RFC 2577 section 3): a client making the
 *     server connect to a third host. Counted as BAD_PORT and not
 *     announced, so a bounce cannot label an unrelated flow ftp-data.
 *   - 227's address is ignored; the data connection is expected at the
 *     control connection's server. Servers behind NAT announce their
 *     private address and clients commonly connect to the control peer
 *     instead; a mismatch is too ordinary to count.
 *   - a port of 0, above 65535, or a malformed number is BAD_PORT.
 *   - after a 234 reply (AUTH TLS, RFC 4217) the channel is encrypted: both
 *     directions are ignored from then on (AUTH_TLS).
 *
 * Lines end at LF; a CR before it is dropped. A line of up to max_line
 * bytes (CR and LF not counted) is parsed; a longer one is counted once
 * (LINE_TOO_LONG) and skipped to its LF. Lines whole inside one feed are
 * parsed in place; only a line split across feeds is copied into the
 * direction's buffer, so the result is the same wherever the input is cut.
 * A gap drops the partial line and skips to the next LF: after lost bytes
 * the next line start is unknown. Nothing is allocated after lw_ftp_new.
 */
#include "leakwatch/ftp.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/cursor.h"

#define FTP_NAME_(name, str) str,
const char *const lw_ftp_counter_names[LW_FTP_CTR_MAX] = {LW_FTP_COUNTERS(FTP_NAME_)};
#undef FTP_NAME_

#define VERB_MAX 4 /* RFC 959 commands are 3 or 4 letters */

typedef struct ftp_dir {
    uint8_t *buf; /* max_line + 1 bytes: a line and its CR */
    size_t len;
    bool skipping; /* discarding up to the next LF */
} ftp_dir;

struct lw_ftp {
    size_t footprint; /* bytes of the one allocation */
    uint64_t *counters;
    lw_addr client, server;
    size_t max_line;
    bool tls;
    ftp_dir d[2];
    uint8_t *meta; /* VERB_MAX + 1 + max_line bytes: "STOR name" */
};

/* What one feed call passes down to the line handlers. */
typedef struct feed_ctx {
    lw_ftp *f;
    const lw_app_sink *sink;
    lw_ftp_expect_fn expect;
    void *ectx;
} feed_ctx;

size_t lw_ftp_footprint(const lw_ftp *f)
{
    return f ? f->footprint : 0;
}

lw_ftp *lw_ftp_new(const lw_app_limits *lim, const lw_addr *client, const lw_addr *server,
                   uint64_t *counters)
{
    size_t max_line = lim && lim->max_line ? lim->max_line : LW_FTP_DEFAULT_LINE;
    size_t linebuf = max_line + 1;
    size_t metabuf = VERB_MAX + 1 + max_line;
    lw_ftp *f = calloc(1, sizeof(*f) + 2 * linebuf + metabuf);
    if (!f)
        return NULL;
    uint8_t *mem = (uint8_t *)(f + 1);
    f->footprint = sizeof(*f) + 2 * linebuf + metabuf;
    f->counters = counters;
    if (client)
        f->client = *client;
    if (server)
        f->server = *server;
    f->max_line = max_line;
    f->d[0].buf = mem;
    f->d[1].buf = mem + linebuf;
    f->meta = mem + 2 * linebuf;
    return f;
}

void lw_ftp_free(lw_ftp *f)
{
    free(f);
}

void lw_ftp_gap(lw_ftp *f, int dir)
{
    if (!f || (dir != 0 && dir != 1))
        return;
    f->d[dir].len = 0;
    f->d[dir].skipping = true;
}

/* ---- small readers over a cursor ---------------------------------------- */

static int peek(const lw_cursor *c)
{
    return lw_cur_left(c) > 0 ? c->ptr[0] : -1;
}

static bool is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static void skip_spaces(lw_cursor *c)
{
    while (peek(c) == ' ')
        lw_cur_skip(c, 1);
}

/* 1..max_digits decimal digits, not followed by another digit. */
static bool read_num(lw_cursor *c, unsigned max_digits, uint32_t *v)
{
    unsigned n = 0;
    *v = 0;
    while (is_digit(peek(c))) {
        if (++n > max_digits)
            return false;
        *v = *v * 10 + (uint32_t)(lw_cur_u8(c) - '0');
    }
    return n > 0;
}

/* h1,h2,h3,h4,p1,p2: six numbers 0..255 separated by commas. */
static bool read_six(lw_cursor *c, lw_addr *a, uint32_t *port)
{
    uint32_t v[6];
    for (int i = 0; i < 6; i++) {
        if (i > 0 && lw_cur_u8(c) != ',')
            return false;
        if (!read_num(c, 3, &v[i]) || v[i] > 255)
            return false;
    }
    memset(a, 0, sizeof(*a));
    a->family = 4;
    for (int i = 0; i < 4; i++)
        a->b[i] = (uint8_t)v[i];
    *port = v[4] << 8 | v[5];
    return true;
}

static bool addr_eq(const lw_addr *a, const lw_addr *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->b, b->b, a->family == 4 ? 4 : 16) == 0;
}

/* ---- announcements ------------------------------------------------------ */

static void announce(const feed_ctx *fc, const lw_addr *a, uint32_t port)
{
    lw_ftp *f = fc->f;
    if (port == 0 || port > 65535) {
        f->counters[LW_FTP_CTR_BAD_PORT]++;
        return;
    }
    f->counters[LW_FTP_CTR_DATA_ANNOUNCED]++;
    if (fc->expect)
        fc->expect(fc->ectx, a, (uint16_t)port);
}

/* PORT: the client will listen; only at its own address. */
static void cmd_port(const feed_ctx *fc, lw_cursor c)
{
    lw_addr a;
    uint32_t port;
    skip_spaces(&c);
    bool ok = read_six(&c, &a, &port);
    skip_spaces(&c);
    if (!ok || lw_cur_left(&c) > 0 || !addr_eq(&a, &fc->f->client)) {
        fc->f->counters[LW_FTP_CTR_BAD_PORT]++;
        return;
    }
    announce(fc, &a, port);
}

/* Bytes up to the delimiter d (consumed) into out as a C string. */
static bool read_field(lw_cursor *c, uint8_t d, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        int ch = peek(c);
        if (ch < 0)
            return false;
        lw_cur_skip(c, 1);
        if (ch == d)
            break;
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return true;
}

/* EPRT <d><af><d><address><d><port><d> (RFC 2428 section 2). */
static bool parse_eprt(lw_cursor c, lw_addr *a, uint32_t *port)
{
    char af[2], host[INET6_ADDRSTRLEN], num[6];
    uint8_t raw[16];

    skip_spaces(&c);
    uint8_t d = lw_cur_u8(&c);
    if (c.error || d < 33 || d > 126)
        return false;
    if (!read_field(&c, d, af, sizeof(af)) || !read_field(&c, d, host, sizeof(host)) ||
        !read_field(&c, d, num, sizeof(num)))
        return false;
    skip_spaces(&c);
    if (lw_cur_left(&c) > 0)
        return false;

    lw_cursor pc = lw_cur_make((const uint8_t *)num, strlen(num));
    if (!read_num(&pc, 5, port) || lw_cur_left(&pc) > 0)
        return false;

    memset(a, 0, sizeof(*a));
    if (strcmp(af, "1") == 0) {
        if (inet_pton(AF_INET, host, raw) != 1)
            return false;
        a->family = 4;
        memcpy(a->b, raw, 4);
    } else if (strcmp(af, "2") == 0) {
        if (inet_pton(AF_INET6, host, raw) != 1)
            return false;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(raw, mapped, sizeof(mapped)) == 0) {
            /* ::ffff:a.b.c.d is the IPv4 host the flow table knows */
            a->family = 4;
            memcpy(a->b, raw + 12, 4);
        } else {
            a->family = 6;
            memcpy(a->b, raw, 16);
        }
    } else {
        return false;
    }
    return true;
}

static void cmd_eprt(const feed_ctx *fc, lw_cursor c)
{
    lw_addr a;
    uint32_t port;
    if (!parse_eprt(c, &a, &port) || !addr_eq(&a, &fc->f->client)) {
        fc->f->counters[LW_FTP_CTR_BAD_PORT]++;
        return;
    }
    announce(fc, &a, port);
}

/* 227: six numbers anywhere after the code (RFC 1123 section 4.1.2.6:
 * clients must scan for them, the parentheses are not guaranteed). */
static void reply_227(const feed_ctx *fc, lw_cursor c)
{
    int prev = -1;
    while (lw_cur_left(&c) > 0) {
        int ch = peek(&c);
        if (is_digit(ch) && !is_digit(prev)) {
            lw_cursor t = c;
            lw_addr a;
            uint32_t port;
            if (read_six(&t, &a, &port)) {
                announce(fc, &fc->f->server, port);
                return;
            }
        }
        prev = ch;
        lw_cur_skip(&c, 1);
    }
    fc->f->counters[LW_FTP_CTR_BAD_PORT]++;
}

/* 229: (<d><d><d><port><d>) (RFC 2428 section 3). */
static void reply_229(const feed_ctx *fc, lw_cursor c)
{
    const uint8_t *open = memchr(c.ptr, '(', lw_cur_left(&c));
    uint32_t port = 0;
    bool ok = false;
    if (open) {
        lw_cur_skip(&c, (size_t)(open - c.ptr) + 1);
        uint8_t d = lw_cur_u8(&c);
        ok = d >= 33 && d <= 126 && !is_digit(d) && lw_cur_u8(&c) == d && lw_cur_u8(&c) == d &&
             read_num(&c, 5, &port) && lw_cur_u8(&c) == d && lw_cur_u8(&c) == ')' && !c.error;
    }
    if (!ok) {
        fc->f->counters[LW_FTP_CTR_BAD_PORT]++;
        return;
    }
    announce(fc, &fc->f->server, port);
}

/* ---- lines -------------------------------------------------------------- */

static bool verb_is(const char *verb, const char *name)
{
    return strcmp(verb, name) == 0;
}

static void on_command(const feed_ctx *fc, const uint8_t *line, size_t n)
{
    lw_ftp *f = fc->f;
    const lw_app_sink *s = fc->sink;
    char verb[VERB_MAX + 1];
    size_t vl = 0;

    if (n == 0)
        return;
    f->counters[LW_FTP_CTR_COMMANDS]++;
    lw_cursor c = lw_cur_make(line, n);
    while (lw_cur_left(&c) > 0 && peek(&c) != ' ') {
        int ch = lw_cur_u8(&c);
        if (ch >= 'a' && ch <= 'z')
            ch -= 'a' - 'A';
        if (ch < 'A' || ch > 'Z' || vl == VERB_MAX)
            return; /* not a command this parser acts on */
        verb[vl++] = (char)ch;
    }
    verb[vl] = '\0';
    if (peek(&c) == ' ')
        lw_cur_skip(&c, 1); /* the one SP before the argument */
    const uint8_t *arg = c.ptr;
    size_t al = lw_cur_left(&c);

    if (verb_is(verb, "PORT")) {
        cmd_port(fc, c);
    } else if (verb_is(verb, "EPRT")) {
        cmd_eprt(fc, c);
    } else if (verb_is(verb, "STOR") || verb_is(verb, "STOU") || verb_is(verb, "APPE") ||
               verb_is(verb, "RETR")) {
        /* meta holds VERB_MAX + 1 + max_line bytes; al < n <= max_line */
        memcpy(f->meta, verb, vl);
        size_t ml = vl;
        if (al > 0) {
            f->meta[ml++] = ' ';
            memcpy(f->meta + ml, arg, al);
            ml += al;
        }
        if (s && s->meta)
            s->meta(s->ctx, LW_DIR_TOSERVER, LW_META_FTP_COMMAND, f->meta, ml);
    } else if (!verb_is(verb, "USER")) {
        return;
    }
    if (al > 0 && (verb_is(verb, "USER") || verb_is(verb, "STOR") || verb_is(verb, "STOU") ||
                   verb_is(verb, "APPE") || verb_is(verb, "RETR"))) {
        if (s && s->content)
            s->content(s->ctx, LW_DIR_TOSERVER, arg, al);
        if (s && s->item_end)
            s->item_end(s->ctx, LW_DIR_TOSERVER);
    }
}

static void on_reply(const feed_ctx *fc, const uint8_t *line, size_t n)
{
    lw_cursor c = lw_cur_make(line, n);
    uint32_t code;
    /* the last (or only) line of a reply: three digits, then SP or nothing
     * (RFC 959 section 4.2); "227-" lines of a multi-line reply are text */
    if (!read_num(&c, 3, &code) || c.ptr != line + 3 || (lw_cur_left(&c) > 0 && peek(&c) != ' '))
        return;
    fc->f->counters[LW_FTP_CTR_REPLIES]++;
    if (code == 227)
        reply_227(fc, c);
    else if (code == 229)
        reply_229(fc, c);
    else if (code == 234) {
        fc->f->counters[LW_FTP_CTR_AUTH_TLS]++;
        fc->f->tls = true;
    }
}

/* A line without its LF; at most max_line + 1 bytes reach here from the
 * buffer, any length in place. */
static void on_line(const feed_ctx *fc, int dir, const uint8_t *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (n > fc->f->max_line) {
        fc->f->counters[LW_FTP_CTR_LINE_TOO_LONG]++;
        return;
    }
    if (dir == LW_DIR_TOSERVER)
        on_command(fc, line, n);
    else
        on_reply(fc, line, n);
}

void lw_ftp_feed(lw_ftp *f, int dir, const uint8_t *data, size_t len, const lw_app_sink *sink,
                 lw_ftp_expect_fn expect, void *ectx)
{
    if (!f || (dir != 0 && dir != 1) || !data)
        return;
    feed_ctx fc = {f, sink, expect, ectx};
    ftp_dir *d = &f->d[dir];
    lw_cursor c = lw_cur_make(data, len);

    while (lw_cur_left(&c) > 0 && !f->tls) {
        const uint8_t *lf = memchr(c.ptr, '\n', lw_cur_left(&c));
        size_t seg = lf ? (size_t)(lf - c.ptr) : lw_cur_left(&c);
        lw_cursor piece = lw_cur_sub(&c, seg);
        if (lf)
            lw_cur_skip(&c, 1);

        if (d->skipping) {
            if (lf)
                d->skipping = false;
            continue;
        }
        if (d->len == 0 && lf) {
            on_line(&fc, dir, piece.ptr, seg); /* whole here: in place */
            continue;
        }
        if (d->len + seg > f->max_line + 1) {
            /* more than a line and its CR: too long whatever follows */
            f->counters[LW_FTP_CTR_LINE_TOO_LONG]++;
            d->len = 0;
            d->skipping = lf == NULL;
            continue;
        }
        lw_cur_copy(&piece, d->buf + d->len, seg);
        d->len += seg;
        if (lf) {
            on_line(&fc, dir, d->buf, d->len);
            d->len = 0;
        }
    }
}
