/*
 * smtp.c - SMTP session decoder (see smtp.h); the message itself is
 * parsed by the MIME parser in mime.c.
 *
 * Client direction. Three states: command lines (gathered in a max_line
 * buffer; an overflowing line is counted and dropped up to its LF), a DATA
 * message, a BDAT chunk. A DATA message is read by a small automaton that
 * sits at the start of each line (RFC 5321 section 4.5.2): a '.' there is
 * removed, and a line that is only "." (CRLF or bare LF) ends the message;
 * everything else goes to the MIME parser in runs, uncopied. A BDAT chunk
 * is counted down byte by byte (RFC 3030 section 2); chunks go to one MIME
 * parse until BDAT ... LAST.
 *
 * Server direction. Replies are read without a buffer: the three digits,
 * the separator ('-' continues a multi-line reply, RFC 5321 section
 * 4.2.1) and the text, which is content only when the direction is
 * inspected. Each final reply answers the oldest command still waiting:
 * the client counts the commands that expect a reply (every command line,
 * a SASL response, the end of a DATA message), the server the final
 * replies, and the replies that answer DATA, STARTTLS and AUTH are known by
 * their ordinal. Pipelining (RFC 2920) keeps replies in command order, so
 * this holds for pipelined groups too. A reply with nothing waiting (the
 * greeting, or a capture picked up mid-session) is ignored; with one side
 * missing the decoder falls back on what the client shows (DATA is trusted
 * at once, a TLS record ends a STARTTLS, base64 lines after AUTH are SASL).
 *
 * Content items are per direction: item_end is sent only after content of
 * that item was sent, so a direction that is not inspected produces no
 * calls but meta. No state is global; the session is one allocation.
 */
#include "leakwatch/smtp.h"

#include <stdlib.h>
#include <string.h>

#include "leakwatch/codec.h"
#include "leakwatch/cursor.h"
#include "mime.h"

#define LW_SMTP_NAME_(name, str) str,
const char *const lw_smtp_counter_names[LW_SMTP_CTR_MAX] = {LW_SMTP_COUNTERS(LW_SMTP_NAME_)};
#undef LW_SMTP_NAME_

static const uint8_t mime_map[LW_MIME_CTR_MAX] = {
    [LW_MIME_CTR_PARTS] = LW_SMTP_CTR_MIME_PARTS,
    [LW_MIME_CTR_DECODED_BYTES] = LW_SMTP_CTR_DECODED_BYTES,
    [LW_MIME_CTR_LINE_TOO_LONG] = LW_SMTP_CTR_LINE_TOO_LONG,
    [LW_MIME_CTR_TOO_DEEP] = LW_SMTP_CTR_MIME_TOO_DEEP,
    [LW_MIME_CTR_BAD_BASE64] = LW_SMTP_CTR_BAD_BASE64,
    [LW_MIME_CTR_BAD_QP] = LW_SMTP_CTR_BAD_QP,
    [LW_MIME_CTR_BAD_ENCODED_WORD] = LW_SMTP_CTR_BAD_ENCODED_WORD,
    [LW_MIME_CTR_BAD_BOUNDARY] = LW_SMTP_CTR_BAD_BOUNDARY,
    [LW_MIME_CTR_TOO_MANY_HEADERS] = LW_SMTP_CTR_TOO_MANY_HEADERS,
};

enum { C_CMD, C_DATA, C_BDAT };                /* what the next client bytes are */
enum { D_SOL, D_MID, D_DOT, D_DOTCR, D_SKIP }; /* where a DATA message is in its line */

/* BDAT sizes with more digits are refused: no chunk is that large and the
 * value cannot overflow. */
#define BDAT_DIGITS_MAX 18

enum verb {
    V_UNKNOWN,
    V_HELO,
    V_MAIL,
    V_RCPT,
    V_DATA,
    V_BDAT,
    V_RSET,
    V_QUIT,
    V_STARTTLS,
    V_AUTH,
    V_OTHER, /* known, nothing to do: NOOP VRFY EXPN HELP TURN ETRN */
};

static const struct {
    const char *name;
    enum verb v;
} verbs[] = {
    {"helo", V_HELO},  {"ehlo", V_HELO},         {"lhlo", V_HELO},  {"mail", V_MAIL},
    {"rcpt", V_RCPT},  {"data", V_DATA},         {"bdat", V_BDAT},  {"rset", V_RSET},
    {"quit", V_QUIT},  {"starttls", V_STARTTLS}, {"auth", V_AUTH},  {"noop", V_OTHER},
    {"vrfy", V_OTHER}, {"expn", V_OTHER},        {"help", V_OTHER}, {"turn", V_OTHER},
    {"etrn", V_OTHER},
};

struct lw_smtp {
    const lw_app_limits *lim;
    size_t footprint; /* bytes of the one allocation */
    uint64_t *ctr;
    bool encrypted;
    bool inspect[2];   /* as of the last feed of each direction */
    bool item_open[2]; /* content of a session-level item was sent */

    /* client */
    uint8_t cstate;
    uint8_t dstate;
    bool line_skip; /* drop the command line up to its LF */
    uint8_t *line;
    size_t line_len;
    size_t line_cap;
    bool in_msg;
    bool msg_counted;
    uint64_t msg_bytes;
    uint64_t bdat_left;
    bool bdat_last;
    bool starttls_pending;
    bool auth_active;

    /* reply matching, by ordinal; 0 = nothing waits */
    uint64_t cmds;    /* commands sent that expect a reply */
    uint64_t replies; /* final replies matched to them */
    uint64_t data_at;
    uint64_t tls_at;
    uint64_t auth_at;

    /* server */
    uint8_t rpos; /* bytes of code and separator seen, up to 4 */
    uint16_t rcode;
    bool rvalid;
    bool rcont;
    bool rskip;
    bool rlong;
    uint64_t rlen;

    lw_mime mime;
};

/* ---- helpers ------------------------------------------------------------ */

static void bump(lw_smtp *s, enum lw_smtp_counter c)
{
    s->ctr[c]++;
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool prefix_ci(const uint8_t *d, size_t n, const char *p)
{
    size_t pn = strlen(p);
    if (n < pn)
        return false;
    for (size_t i = 0; i < pn; i++)
        if (lower(d[i]) != (uint8_t)p[i])
            return false;
    return true;
}

static bool is_sp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* The next byte, not consumed; the caller knows one is there. */
static uint8_t peek(const lw_cursor *c)
{
    return lw_cur_has(c, 1) ? *c->ptr : 0;
}

static void emit(lw_smtp *s, const lw_mime_io *io, const uint8_t *d, size_t n)
{
    if (n == 0 || !io->inspect)
        return;
    io->sink->content(io->sink->ctx, io->dir, d, n);
    s->ctr[LW_SMTP_CTR_DECODED_BYTES] += n;
    s->item_open[io->dir] = true;
}

static void emit_end(lw_smtp *s, const lw_mime_io *io)
{
    if (!s->item_open[io->dir])
        return;
    s->item_open[io->dir] = false;
    io->sink->item_end(io->sink->ctx, io->dir);
}

static void meta(const lw_mime_io *io, lw_app_meta key, const uint8_t *v, size_t n)
{
    static const uint8_t empty[1] = {0};
    io->sink->meta(io->sink->ctx, LW_DIR_TOSERVER, key, n ? v : empty, n);
}

static void go_encrypted(lw_smtp *s, const lw_app_sink *sink)
{
    if (s->encrypted)
        return;
    s->encrypted = true;
    s->starttls_pending = false;
    bump(s, LW_SMTP_CTR_STARTTLS);
    lw_mime_io io = {sink, LW_DIR_TOSERVER, false};
    meta(&io, LW_META_SMTP_STARTTLS, NULL, 0);
}

/* ---- the message -------------------------------------------------------- */

static void msg_begin(lw_smtp *s)
{
    s->in_msg = true;
    s->msg_counted = false;
    s->msg_bytes = 0;
    lw_mime_begin(&s->mime);
}

static void msg_data(lw_smtp *s, const uint8_t *d, size_t n, const lw_mime_io *io)
{
    if (n == 0)
        return;
    if (!s->msg_counted) {
        s->msg_counted = true;
        bump(s, LW_SMTP_CTR_MESSAGES);
    }
    s->msg_bytes += n;
    lw_mime_feed(&s->mime, d, n, io);
}

static void msg_end(lw_smtp *s, const lw_mime_io *io)
{
    if (!s->in_msg)
        return;
    if (!s->msg_counted)
        bump(s, LW_SMTP_CTR_MESSAGES);
    lw_mime_end(&s->mime, io);
    s->in_msg = false;
    s->cstate = C_CMD;
    s->bdat_left = 0;
}

/* DATA was refused before any of the message came: back to commands. */
static void msg_cancel(lw_smtp *s)
{
    s->in_msg = false;
    s->cstate = C_CMD;
    lw_mime_begin(&s->mime);
}

/* ---- SASL --------------------------------------------------------------- */

typedef struct sasl_ctx {
    lw_smtp *s;
    const lw_mime_io *io;
} sasl_ctx;

/* PLAIN separates its fields with NUL (RFC 4616): each is an item. */
static void sasl_out(void *ctx, const uint8_t *d, size_t n)
{
    sasl_ctx *x = ctx;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] != 0)
            continue;
        emit(x->s, x->io, d + start, i - start);
        emit_end(x->s, x->io);
        start = i + 1;
    }
    emit(x->s, x->io, d + start, n - start);
}

static void sasl_emit(lw_smtp *s, const uint8_t *d, size_t n, const lw_mime_io *io)
{
    if (!io->inspect || n == 0 || (n == 1 && (d[0] == '=' || d[0] == '*')))
        return;
    sasl_ctx x = {s, io};
    lw_b64 b;
    lw_b64_init(&b);
    lw_b64_feed(&b, d, n, sasl_out, &x);
    lw_b64_finish(&b, sasl_out, &x);
    if (b.invalid > 0)
        bump(s, LW_SMTP_CTR_BAD_BASE64);
    emit_end(s, io);
}

static bool looks_sasl(const uint8_t *d, size_t n)
{
    if (n == 1 && d[0] == '*')
        return true;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '='))
            return false;
    }
    return n > 0;
}

/* ---- commands ----------------------------------------------------------- */

/* The address of "FROM:<a> params" / "TO:<a>" at a[0..n): the part inside
 * the brackets without a source route ("<@h1,@h2:u@d>", RFC 5321 section
 * 4.1.2), or the first word when there are no brackets. */
static bool path_arg(const uint8_t *a, size_t n, const char *kw, size_t *p0, size_t *p1)
{
    size_t i = 0;
    while (i < n && is_sp(a[i]))
        i++;
    if (!prefix_ci(a + i, n - i, kw))
        return false;
    i += strlen(kw);
    while (i < n && is_sp(a[i]))
        i++;
    size_t b = i, e;
    if (i < n && a[i] == '<') {
        b = ++i;
        while (i < n && a[i] != '>')
            i++;
        e = i;
    } else {
        while (i < n && !is_sp(a[i]))
            i++;
        e = i;
    }
    if (b < e && a[b] == '@') {
        const uint8_t *colon = memchr(a + b, ':', e - b);
        if (colon)
            b = (size_t)(colon - a) + 1;
    }
    *p0 = b;
    *p1 = e;
    return true;
}

static void cmd_path(lw_smtp *s, const uint8_t *a, size_t n, const char *kw, lw_app_meta key,
                     const lw_mime_io *io)
{
    size_t p0, p1;
    if (!path_arg(a, n, kw, &p0, &p1) || p0 == p1)
        return;
    meta(io, key, a + p0, p1 - p0);
    emit(s, io, a + p0, p1 - p0);
    emit_end(s, io);
}

static void cmd_bdat(lw_smtp *s, const uint8_t *a, size_t n, const lw_mime_io *io)
{
    size_t i = 0;
    while (i < n && is_sp(a[i]))
        i++;
    uint64_t size = 0;
    size_t d0 = i;
    while (i < n && a[i] >= '0' && a[i] <= '9' && i - d0 < BDAT_DIGITS_MAX)
        size = size * 10 + (uint64_t)(a[i++] - '0');
    bool ok = i > d0 && (i == n || is_sp(a[i]));
    while (i < n && is_sp(a[i]))
        i++;
    bool last = false;
    if (ok && i < n) {
        size_t w = i;
        while (i < n && !is_sp(a[i]))
            i++;
        last = i - w == 4 && prefix_ci(a + w, 4, "last");
        while (i < n && is_sp(a[i]))
            i++;
        ok = last && i == n;
    }
    if (!ok) {
        bump(s, LW_SMTP_CTR_BAD_BDAT);
        return;
    }
    if (!s->in_msg)
        msg_begin(s);
    s->bdat_left = size;
    s->bdat_last = last;
    if (size > 0)
        s->cstate = C_BDAT;
    else if (last)
        msg_end(s, io);
}

static enum verb verb_of(const uint8_t *l, size_t n)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        size_t vn = strlen(verbs[i].name);
        if (prefix_ci(l, n, verbs[i].name) && (n == vn || is_sp(l[vn])))
            return verbs[i].v;
    }
    return V_UNKNOWN;
}

static void command(lw_smtp *s, const uint8_t *l, size_t n, const lw_mime_io *io)
{
    while (n > 0 && (l[n - 1] == '\r' || is_sp(l[n - 1])))
        n--;
    if (n == 0) {
        s->cmds++; /* servers answer an empty line too (500) */
        return;
    }
    enum verb v = verb_of(l, n);
    if (v == V_UNKNOWN && s->auth_active && looks_sasl(l, n)) {
        if (n == 1 && l[0] == '*')
            s->auth_active = false; /* the client cancels the exchange */
        sasl_emit(s, l, n, io);
        s->auth_at = ++s->cmds;
        return;
    }
    if (v != V_UNKNOWN)
        s->auth_active = false;
    /* Between BDAT chunks only BDAT, RSET, NOOP and QUIT belong (RFC 3030
     * section 2); another command ends the transaction, and the message's
     * open item with it, before it emits anything of its own. */
    if (s->in_msg && v != V_BDAT && v != V_OTHER && v != V_UNKNOWN)
        msg_end(s, io);
    bump(s, LW_SMTP_CTR_COMMANDS);
    s->cmds++;

    /* the argument: after the verb and its spaces */
    size_t a = 0;
    while (a < n && !is_sp(l[a]))
        a++;
    while (a < n && is_sp(l[a]))
        a++;
    const uint8_t *arg = l + a;
    size_t an = n - a;

    switch (v) {
    case V_HELO:
        if (an > 0)
            meta(io, LW_META_SMTP_HELO, arg, an);
        break;
    case V_MAIL:
        cmd_path(s, arg, an, "from:", LW_META_SMTP_MAIL_FROM, io);
        break;
    case V_RCPT:
        cmd_path(s, arg, an, "to:", LW_META_SMTP_RCPT_TO, io);
        break;
    case V_DATA:
        msg_end(s, io); /* a BDAT message left open */
        msg_begin(s);
        s->data_at = s->cmds;
        s->cstate = C_DATA;
        s->dstate = D_SOL;
        break;
    case V_BDAT:
        cmd_bdat(s, arg, an, io);
        break;
    case V_RSET:
        msg_end(s, io);
        s->starttls_pending = false;
        break;
    case V_STARTTLS:
        s->starttls_pending = true;
        s->tls_at = s->cmds;
        break;
    case V_AUTH: {
        size_t m = 0;
        while (m < an && !is_sp(arg[m]))
            m++;
        size_t r = m;
        while (r < an && is_sp(arg[r]))
            r++;
        s->auth_active = true;
        s->auth_at = s->cmds;
        sasl_emit(s, arg + r, an - r, io);
        break;
    }
    default:
        break;
    }
}

/* ---- client bytes ------------------------------------------------------- */

static void cmd_bytes(lw_smtp *s, lw_cursor *c, const lw_mime_io *io)
{
    size_t left = lw_cur_left(c);
    const uint8_t *lf = memchr(c->ptr, '\n', left);
    size_t span = lf ? (size_t)(lf - c->ptr) : left;
    lw_cursor sp = lw_cur_sub(c, span);

    /* After STARTTLS a TLS record proves the switch even when the 220 was
     * not seen (RFC 3207 section 4: the handshake starts at once). */
    if (s->starttls_pending && !s->line_skip && s->line_len < 2) {
        uint8_t b[2];
        size_t k = 0;
        for (size_t i = 0; i < s->line_len && k < 2; i++)
            b[k++] = s->line[i];
        for (size_t i = 0; i < span && k < 2; i++)
            b[k++] = sp.ptr[i];
        if (k == 2 && b[0] == 0x16 && b[1] == 0x03) {
            go_encrypted(s, io->sink);
            return;
        }
    }
    if (!s->line_skip && span > 0) {
        if (span > s->line_cap - s->line_len) {
            bump(s, LW_SMTP_CTR_LINE_TOO_LONG);
            s->line_skip = true;
            s->line_len = 0;
        } else {
            memcpy(s->line + s->line_len, sp.ptr, span);
            s->line_len += span;
        }
    }
    if (!lf)
        return;
    lw_cur_skip(c, 1);
    size_t n = s->line_len;
    bool skip = s->line_skip;
    s->line_len = 0;
    s->line_skip = false;
    if (!skip)
        command(s, s->line, n, io);
    else
        s->cmds++; /* the server answers the dropped line too */
}

static void data_end(lw_smtp *s, const lw_mime_io *io)
{
    s->cmds++; /* the server answers the message */
    msg_end(s, io);
}

static void data_bytes(lw_smtp *s, lw_cursor *c, const lw_mime_io *io)
{
    static const uint8_t cr = '\r';
    uint8_t b = peek(c);
    switch (s->dstate) {
    case D_SOL:
        if (b == '.') {
            lw_cur_skip(c, 1);
            s->dstate = D_DOT;
        } else {
            s->dstate = D_MID;
        }
        return;
    case D_DOT:
        if (b == '\r') {
            lw_cur_skip(c, 1);
            s->dstate = D_DOTCR;
        } else if (b == '\n') {
            lw_cur_skip(c, 1);
            data_end(s, io);
        } else {
            s->dstate = D_MID; /* dot-stuffed: the dot is gone */
        }
        return;
    case D_DOTCR:
        if (b == '\n') {
            lw_cur_skip(c, 1);
            data_end(s, io);
        } else {
            msg_data(s, &cr, 1, io);
            s->dstate = D_MID;
        }
        return;
    default: {
        size_t left = lw_cur_left(c);
        const uint8_t *lf = memchr(c->ptr, '\n', left);
        size_t span = lf ? (size_t)(lf - c->ptr) + 1 : left;
        lw_cursor sp = lw_cur_sub(c, span);
        if (s->dstate == D_MID)
            msg_data(s, sp.ptr, span, io);
        if (lf)
            s->dstate = D_SOL;
        return;
    }
    }
}

static void bdat_bytes(lw_smtp *s, lw_cursor *c, const lw_mime_io *io)
{
    size_t left = lw_cur_left(c);
    size_t n = s->bdat_left < left ? (size_t)s->bdat_left : left;
    lw_cursor sp = lw_cur_sub(c, n);
    msg_data(s, sp.ptr, n, io);
    s->bdat_left -= n;
    if (s->bdat_left > 0)
        return;
    s->cstate = C_CMD;
    if (s->bdat_last)
        msg_end(s, io);
}

/* ---- server bytes ------------------------------------------------------- */

static void reply(lw_smtp *s, unsigned code, const lw_mime_io *io)
{
    if (s->replies >= s->cmds)
        return; /* the greeting, or nothing is known to wait */
    uint64_t ord = ++s->replies;
    if (ord == s->data_at) {
        s->data_at = 0;
        if (code >= 400 && s->in_msg && s->cstate == C_DATA && s->msg_bytes == 0 &&
            s->dstate == D_SOL)
            msg_cancel(s);
    }
    if (ord == s->tls_at) {
        s->tls_at = 0;
        if (code == 220)
            go_encrypted(s, io->sink);
        else
            s->starttls_pending = false;
    }
    if (ord == s->auth_at) {
        s->auth_at = 0;
        if (code != 334)
            s->auth_active = false;
    }
}

static void reply_line_end(lw_smtp *s, const lw_mime_io *io)
{
    emit_end(s, io);
    if (s->rvalid && s->rpos >= 3 && !s->rcont)
        reply(s, s->rcode, io);
    s->rpos = 0;
    s->rcode = 0;
    s->rvalid = true;
    s->rcont = false;
    s->rlong = false;
    s->rlen = 0;
}

static void server_bytes(lw_smtp *s, lw_cursor *c, const lw_mime_io *io)
{
    size_t left = lw_cur_left(c);
    if (s->rskip) {
        const uint8_t *lf = memchr(c->ptr, '\n', left);
        if (!lf) {
            lw_cur_skip(c, left);
            return;
        }
        lw_cur_skip(c, (size_t)(lf - c->ptr) + 1);
        s->rskip = false;
        s->rvalid = false; /* the line's start was lost */
        reply_line_end(s, io);
        return;
    }
    if (s->rpos < 4) {
        uint8_t b = lw_cur_u8(c);
        if (b == '\n') {
            reply_line_end(s, io);
            return;
        }
        s->rlen++;
        if (s->rpos < 3) {
            if (b < '0' || b > '9')
                s->rvalid = false;
            else
                s->rcode = (uint16_t)(s->rcode * 10 + (b - '0'));
        } else {
            s->rcont = b == '-';
        }
        s->rpos++;
        return;
    }
    const uint8_t *lf = memchr(c->ptr, '\n', left);
    size_t span = lf ? (size_t)(lf - c->ptr) : left;
    lw_cursor sp = lw_cur_sub(c, span);
    emit(s, io, sp.ptr, span);
    s->rlen += span;
    if (s->rlen > s->line_cap && !s->rlong) {
        bump(s, LW_SMTP_CTR_LINE_TOO_LONG);
        s->rlong = true;
    }
    if (lf) {
        lw_cur_skip(c, 1);
        reply_line_end(s, io);
    }
}

/* ---- API ---------------------------------------------------------------- */

lw_smtp *lw_smtp_new(const lw_app_limits *lim, uint64_t *counters)
{
    if (!lim || !counters)
        return NULL;
    uint32_t depth =
        lim->max_encodings < LW_MIME_DEPTH_CAP ? lim->max_encodings : LW_MIME_DEPTH_CAP;
    size_t line = lim->max_line;
    size_t size = sizeof(lw_smtp) + depth * sizeof(lw_mime_level) + 2 * line + 2;
    lw_smtp *s = calloc(1, size);
    if (!s)
        return NULL;
    s->lim = lim;
    s->footprint = size;
    s->ctr = counters;
    lw_mime_level *levels = (lw_mime_level *)(void *)(s + 1);
    uint8_t *bytes = (uint8_t *)(levels + depth);
    s->line = bytes;
    s->line_cap = line;
    lw_mime_init(&s->mime, bytes + line + 1, line, depth ? levels : NULL, depth, lim->max_headers,
                 counters, mime_map);
    s->rvalid = true;
    return s;
}

size_t lw_smtp_footprint(const lw_smtp *s)
{
    return s ? s->footprint : 0;
}

void lw_smtp_feed(lw_smtp *s, int dir, const uint8_t *data, size_t len, bool inspect,
                  const lw_app_sink *sink)
{
    if (!s || (dir != LW_DIR_TOSERVER && dir != LW_DIR_TOCLIENT) || !data)
        return;
    s->inspect[dir] = inspect;
    lw_mime_io io = {sink, dir, inspect};
    lw_cursor c = lw_cur_make(data, len);
    while (lw_cur_left(&c) > 0 && !s->encrypted) {
        if (dir == LW_DIR_TOCLIENT)
            server_bytes(s, &c, &io);
        else if (s->cstate == C_CMD)
            cmd_bytes(s, &c, &io);
        else if (s->cstate == C_DATA)
            data_bytes(s, &c, &io);
        else
            bdat_bytes(s, &c, &io);
    }
}

void lw_smtp_gap(lw_smtp *s, int dir, const lw_app_sink *sink)
{
    if (!s || (dir != LW_DIR_TOSERVER && dir != LW_DIR_TOCLIENT))
        return;
    bump(s, LW_SMTP_CTR_GAP);
    if (s->encrypted)
        return;
    lw_mime_io io = {sink, dir, s->inspect[dir]};
    if (dir == LW_DIR_TOCLIENT) {
        emit_end(s, &io);
        s->rskip = true;
        return;
    }
    emit_end(s, &io);
    if (s->cstate == C_DATA) {
        lw_mime_gap(&s->mime, &io);
        s->dstate = D_SKIP;
        return;
    }
    /* A BDAT count is lost with the bytes: the message is abandoned. */
    msg_end(s, &io);
    s->line_len = 0;
    s->line_skip = true;
}

bool lw_smtp_encrypted(const lw_smtp *s)
{
    return s && s->encrypted;
}

void lw_smtp_free(lw_smtp *s, const lw_app_sink *sink)
{
    if (!s)
        return;
    if (sink) {
        lw_mime_io cli = {sink, LW_DIR_TOSERVER, s->inspect[LW_DIR_TOSERVER]};
        lw_mime_io srv = {sink, LW_DIR_TOCLIENT, s->inspect[LW_DIR_TOCLIENT]};
        msg_end(s, &cli);
        emit_end(s, &cli);
        emit_end(s, &srv);
    }
    free(s);
}
