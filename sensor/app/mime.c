/*
 * mime.c - streaming MIME entity parser (see mime.h).
 *
 * The parser is line-driven but copies few lines. An entity is in one of
 * two modes:
 *
 *   headers  Physical lines are gathered into buf as one unfolded field
 *            (RFC 5322 section 2.2.3: unfolding removes the CRLF and keeps
 *            the white space that follows). Whether a line continues the
 *            field is known from its first byte, so a field is complete -
 *            and is interpreted and emitted - when the first byte of the
 *            next line arrives, and no line is held twice. A field longer
 *            than cap is counted and dropped, with its continuation lines.
 *            The empty line ends the section; the Content-Type and
 *            Content-Transfer-Encoding seen decide what the body is.
 *   body     A line can only be a boundary line when it starts with "--"
 *            (RFC 2046 section 5.1.1) and some boundary is in force, so
 *            only such lines are kept in buf, and only while they fit; any
 *            other line goes from the input to the part's decoder as it
 *            arrives, in pieces, whatever its length (a line longer than
 *            cap is counted, not cut: base64 written as one long line is
 *            common and must still be decoded).
 *
 * The CRLF before a boundary line belongs to the boundary (RFC 2046
 * section 5.1.1), so the EOL of every body line is held back (pend_eol)
 * until the next line proves not to be a boundary; likewise a CR that ends
 * one input chunk is held (cr_held) until the next byte shows whether an
 * LF follows. The output therefore never depends on where the input was
 * split.
 *
 * A boundary line is matched against every level of the stack, innermost
 * first; matching an outer boundary closes the inner levels (a missing
 * close delimiter is common). "--b--" closes level b: what follows is its
 * epilogue, up to the next boundary of an enclosing level. A multipart or
 * message/rfc822 entity that would make the stack deeper than max_depth is
 * counted and its body emitted as it is, so its content is still scanned.
 *
 * Header values are emitted with RFC 2047 encoded words decoded: B (base64)
 * and Q (quoted-printable with '_' for space); white space between two
 * adjacent encoded words is dropped (RFC 2047 section 6.2). The charset is
 * not converted: addresses and numbers are ASCII in every charset a mail
 * client uses for them. A malformed encoded word is counted and emitted as
 * it is. Past max_headers fields an entity's values are emitted as they
 * are, without decoding; Content-Type and Content-Transfer-Encoding are
 * still honoured so a sender cannot hide the structure behind junk fields.
 *
 * Work is linear in the input: each byte is looked at a bounded number of
 * times (a boundary line once per stack level, a header field once when
 * appended and once when interpreted).
 */
#include "mime.h"
#include "leakwatch/ascii.h"

#include <string.h>

#include "leakwatch/cursor.h"

enum { MODE_HEADERS, MODE_BODY };
enum { ENC_NONE, ENC_B64, ENC_QP };
enum { CT_TEXT, CT_MULTIPART, CT_MESSAGE };
enum { EOL_NONE, EOL_LF, EOL_CRLF };

#define CHARSET_MAX 64 /* longest charset name looked for in an encoded word */

static const uint8_t crlf[2] = {'\r', '\n'};

static void bump(lw_mime *m, int ctr, uint64_t n)
{
    m->counters[m->map[ctr]] += n;
}

static bool is_wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool eq_ci(const uint8_t *a, size_t n, const char *b)
{
    size_t bn = strlen(b);
    if (n != bn)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != (uint8_t)b[i])
            return false;
    return true;
}

/* ---- output ------------------------------------------------------------- */

static void out(lw_mime *m, const uint8_t *d, size_t n)
{
    const lw_mime_io *io = m->io;
    if (n == 0 || !io->inspect)
        return;
    io->sink->content(io->sink->ctx, io->dir, d, n);
    bump(m, LW_MIME_CTR_DECODED_BYTES, n);
    m->item_open = true;
}

static void codec_out(void *ctx, const uint8_t *d, size_t n)
{
    out(ctx, d, n);
}

static void item_end(lw_mime *m)
{
    if (!m->item_open)
        return;
    m->item_open = false;
    m->io->sink->item_end(m->io->sink->ctx, m->io->dir);
}

/* ---- RFC 2047 encoded words --------------------------------------------- */

/*
 * Parses "=?charset?e?text?=" at v[i] (v[i..i+1] is "=?"). Returns the
 * index past "?=" with the encoding letter and the text's range, or 0 when
 * the bytes do not have the shape of an encoded word.
 */
static size_t parse_word(const uint8_t *v, size_t n, size_t i, uint8_t *enc, size_t *t0, size_t *t1)
{
    size_t p = i + 2, cs = p;
    while (p < n && v[p] != '?' && !is_wsp(v[p]) && p - cs < CHARSET_MAX)
        p++;
    if (p == cs || p >= n || v[p] != '?')
        return 0;
    p++;
    if (p + 1 >= n || v[p] == '?' || is_wsp(v[p]) || v[p + 1] != '?')
        return 0;
    *enc = lower(v[p]);
    p += 2;
    *t0 = p;
    while (p < n && v[p] != '?' && !is_wsp(v[p]))
        p++;
    if (p + 1 >= n || v[p] != '?' || v[p + 1] != '=')
        return 0;
    *t1 = p;
    return p + 2;
}

static bool b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

static bool word_valid(const uint8_t *t, size_t n, uint8_t enc)
{
    if (enc == 'b') {
        for (size_t i = 0; i < n; i++)
            if (!b64_char(t[i]))
                return false;
        return true;
    }
    if (enc != 'q')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (t[i] != '=')
            continue;
        if (i + 2 >= n || lw_hex_value(t[i + 1]) < 0 || lw_hex_value(t[i + 2]) < 0)
            return false;
        i += 2;
    }
    return true;
}

static void word_decode(lw_mime *m, const uint8_t *t, size_t n, uint8_t enc)
{
    if (enc == 'b') {
        lw_b64 d;
        lw_b64_init(&d);
        lw_b64_feed(&d, t, n, codec_out, m);
        lw_b64_finish(&d, codec_out, m);
        return;
    }
    uint8_t tmp[64];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = t[i];
        if (c == '_') {
            c = ' ';
        } else if (c == '=') { /* word_valid checked the two hex digits */
            c = (uint8_t)(lw_hex_value(t[i + 1]) << 4 | lw_hex_value(t[i + 2]));
            i += 2;
        }
        tmp[k++] = c;
        if (k == sizeof tmp) {
            out(m, tmp, k);
            k = 0;
        }
    }
    out(m, tmp, k);
}

static bool all_wsp(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_wsp(d[i]))
            return false;
    return true;
}

static void emit_words(lw_mime *m, const uint8_t *v, size_t n)
{
    size_t lit = 0, i = 0;
    bool after_word = false;
    while (i + 1 < n) {
        uint8_t enc;
        size_t t0, t1, j;
        if (v[i] != '=' || v[i + 1] != '?' || (j = parse_word(v, n, i, &enc, &t0, &t1)) == 0) {
            i++;
            continue;
        }
        if (!word_valid(v + t0, t1 - t0, enc)) {
            bump(m, LW_MIME_CTR_BAD_ENCODED_WORD, 1);
            i = j; /* stays literal text */
            continue;
        }
        if (!(after_word && all_wsp(v + lit, i - lit)))
            out(m, v + lit, i - lit);
        word_decode(m, v + t0, t1 - t0, enc);
        lit = i = j;
        after_word = true;
    }
    out(m, v + lit, n - lit);
}

/* ---- header fields ------------------------------------------------------ */

/* Skips white space and (comments), which may nest (RFC 5322 CFWS). */
static size_t skip_cfws(const uint8_t *v, size_t n, size_t i)
{
    for (;;) {
        while (i < n && (is_wsp(v[i]) || v[i] == '\r' || v[i] == '\n'))
            i++;
        if (i >= n || v[i] != '(')
            return i;
        size_t depth = 0;
        while (i < n) {
            uint8_t c = v[i++];
            if (c == '\\') {
                i++;
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                break;
            }
        }
        if (i > n)
            i = n;
    }
}

/* RFC 2045 token: no space, control or tspecial. */
static size_t token_end(const uint8_t *v, size_t n, size_t i)
{
    while (i < n && v[i] > ' ' && v[i] < 0x7f && !strchr("()<>@,;:\\\"/[]?=", v[i]))
        i++;
    return i;
}

/* Reads a parameter value at v[i]: a quoted-string (escapes removed) or,
 * leniently, anything up to ';' or white space - unquoted boundaries with
 * '=' in them are common. Copies at most cap bytes to dst; *len is the
 * full length. Returns the index past the value. */
static size_t param_value(const uint8_t *v, size_t n, size_t i, uint8_t *dst, size_t cap,
                          size_t *len)
{
    size_t k = 0;
    if (i < n && v[i] == '"') {
        i++;
        while (i < n && v[i] != '"') {
            if (v[i] == '\\' && i + 1 < n)
                i++;
            if (k < cap)
                dst[k] = v[i];
            k++;
            i++;
        }
        if (i < n)
            i++;
    } else {
        while (i < n && v[i] != ';' && !is_wsp(v[i]) && v[i] != '\r' && v[i] != '\n') {
            if (k < cap)
                dst[k] = v[i];
            k++;
            i++;
        }
    }
    *len = k;
    return i;
}

static void parse_content_type(lw_mime *m, const uint8_t *v, size_t n)
{
    size_t i = skip_cfws(v, n, 0);
    size_t t0 = i;
    i = token_end(v, n, i);
    size_t tn = i - t0;
    i = skip_cfws(v, n, i);
    if (i < n && v[i] == '/')
        i++;
    i = skip_cfws(v, n, i);
    size_t s0 = i;
    i = token_end(v, n, i);
    size_t sn = i - s0;

    m->ct = CT_TEXT;
    m->ct_digest = false;
    m->ct_blen = 0;
    if (eq_ci(v + t0, tn, "multipart")) {
        m->ct = CT_MULTIPART;
        m->ct_digest = eq_ci(v + s0, sn, "digest");
    } else if (eq_ci(v + t0, tn, "message") &&
               (eq_ci(v + s0, sn, "rfc822") || eq_ci(v + s0, sn, "global"))) {
        m->ct = CT_MESSAGE;
    }
    while (i < n) {
        i = skip_cfws(v, n, i);
        if (i >= n)
            break;
        size_t a0 = i;
        i = token_end(v, n, i);
        if (i == a0) {
            i++; /* ';' or a stray special */
            continue;
        }
        size_t an = i - a0;
        i = skip_cfws(v, n, i);
        if (i >= n || v[i] != '=')
            continue;
        i = skip_cfws(v, n, i + 1);
        uint8_t tmp[LW_MIME_BOUNDARY_MAX];
        size_t vlen;
        i = param_value(v, n, i, tmp, sizeof tmp, &vlen);
        if (eq_ci(v + a0, an, "boundary")) {
            m->ct_blen = 0;
            if (vlen > 0 && vlen <= LW_MIME_BOUNDARY_MAX) {
                memcpy(m->ct_boundary, tmp, vlen);
                m->ct_blen = (uint8_t)vlen;
            }
        }
    }
}

static void parse_cte(lw_mime *m, const uint8_t *v, size_t n)
{
    size_t i = skip_cfws(v, n, 0);
    size_t e = token_end(v, n, i);
    if (eq_ci(v + i, e - i, "base64"))
        m->cte = ENC_B64;
    else if (eq_ci(v + i, e - i, "quoted-printable"))
        m->cte = ENC_QP;
    else
        m->cte = ENC_NONE;
}

/* The field in buf is complete: interpret and emit it. */
static void header_flush(lw_mime *m)
{
    size_t n = m->len;
    m->len = 0;
    m->phys = 0;
    if (m->hdr_skip) {
        m->hdr_skip = false; /* counted when it overflowed */
        return;
    }
    if (n == 0)
        return;
    const uint8_t *h = m->buf;
    m->nheaders++;
    bool over = m->nheaders > m->max_headers;
    if (m->nheaders == (uint64_t)m->max_headers + 1)
        bump(m, LW_MIME_CTR_TOO_MANY_HEADERS, 1);

    const uint8_t *colon = memchr(h, ':', n);
    size_t v0 = 0;
    if (colon) {
        size_t cn = (size_t)(colon - h);
        size_t nn = cn;
        while (nn > 0 && is_wsp(h[nn - 1]))
            nn--;
        v0 = cn + 1;
        if (eq_ci(h, nn, "content-type"))
            parse_content_type(m, h + v0, n - v0);
        else if (eq_ci(h, nn, "content-transfer-encoding"))
            parse_cte(m, h + v0, n - v0);
    }
    if (!m->io->inspect)
        return;
    size_t v1 = n;
    while (v0 < v1 && is_wsp(h[v0]))
        v0++;
    while (v1 > v0 && (is_wsp(h[v1 - 1]) || h[v1 - 1] == '\r'))
        v1--;
    if (over)
        out(m, h + v0, v1 - v0);
    else
        emit_words(m, h + v0, v1 - v0);
    item_end(m);
}

/* ---- entities ----------------------------------------------------------- */

static void entity_start(lw_mime *m, bool is_message)
{
    m->mode = MODE_HEADERS;
    m->nheaders = 0;
    m->ct = is_message ? CT_MESSAGE : CT_TEXT;
    m->cte = ENC_NONE;
    m->ct_digest = false;
    m->ct_blen = 0;
    m->len = 0;
    m->phys = 0;
    m->hdr_skip = false;
    m->hdr_cont = false;
}

static void body_start(lw_mime *m, uint8_t enc)
{
    m->mode = MODE_BODY;
    m->enc = enc;
    lw_b64_init(&m->b64);
    lw_qp_init(&m->qp);
    m->pend_eol = EOL_NONE;
    m->cr_held = false;
    m->buffering = false;
    m->len = 0;
}

static void body_bytes(lw_mime *m, const uint8_t *d, size_t n)
{
    if (n == 0 || !m->io->inspect)
        return;
    if (m->enc == ENC_B64)
        lw_b64_feed(&m->b64, d, n, codec_out, m);
    else if (m->enc == ENC_QP)
        lw_qp_feed(&m->qp, d, n, codec_out, m);
    else
        out(m, d, n);
}

static void body_finish(lw_mime *m)
{
    if (m->io->inspect) {
        if (m->enc == ENC_B64) {
            lw_b64_finish(&m->b64, codec_out, m);
            if (m->b64.invalid > 0)
                bump(m, LW_MIME_CTR_BAD_BASE64, 1);
        } else if (m->enc == ENC_QP) {
            lw_qp_finish(&m->qp, codec_out, m);
            if (m->qp.invalid > 0)
                bump(m, LW_MIME_CTR_BAD_QP, 1);
        }
    }
    item_end(m);
}

static void finish_entity(lw_mime *m)
{
    if (m->mode == MODE_HEADERS)
        header_flush(m);
    else
        body_finish(m);
}

/* The empty line after the header fields: what is the body? */
static void end_headers(lw_mime *m)
{
    if (m->ct == CT_MULTIPART) {
        if (m->ct_blen == 0) {
            bump(m, LW_MIME_CTR_BAD_BOUNDARY, 1);
        } else if (m->depth >= m->max_depth) {
            bump(m, LW_MIME_CTR_TOO_DEEP, 1);
        } else {
            lw_mime_level *lv = &m->levels[m->depth++];
            lv->blen = m->ct_blen;
            lv->digest = m->ct_digest;
            memcpy(lv->boundary, m->ct_boundary, m->ct_blen);
        }
        body_start(m, ENC_NONE); /* the preamble, or the whole body as it is */
        return;
    }
    /* A message/rfc822 with a transfer encoding (not allowed by RFC 2046
     * section 5.2.1, but sent) is decoded as a leaf. */
    if (m->ct == CT_MESSAGE && m->cte == ENC_NONE) {
        if (m->depth >= m->max_depth) {
            bump(m, LW_MIME_CTR_TOO_DEEP, 1);
            body_start(m, ENC_NONE);
            return;
        }
        lw_mime_level *lv = &m->levels[m->depth++];
        lv->blen = 0;
        lv->digest = false;
        entity_start(m, false);
        return;
    }
    body_start(m, m->cte);
}

/* Returns the stack level whose boundary line l is, or -1. */
static int match_boundary(const lw_mime *m, const uint8_t *l, size_t n, bool *close)
{
    if (n < 2 || l[0] != '-' || l[1] != '-')
        return -1;
    for (uint32_t i = m->depth; i-- > 0;) {
        const lw_mime_level *lv = &m->levels[i];
        if (lv->blen == 0 || n - 2 < lv->blen || memcmp(l + 2, lv->boundary, lv->blen) != 0)
            continue;
        size_t k = 2 + (size_t)lv->blen;
        bool c = false;
        if (n - k >= 2 && l[k] == '-' && l[k + 1] == '-') {
            c = true;
            k += 2;
        }
        while (k < n && is_wsp(l[k]))
            k++;
        if (k == n) {
            *close = c;
            return (int)i;
        }
    }
    return -1;
}

static void on_boundary(lw_mime *m, int level, bool close)
{
    finish_entity(m);
    uint32_t i = (uint32_t)level;
    if (close) {
        m->depth = i;
        body_start(m, ENC_NONE); /* the epilogue */
        return;
    }
    m->depth = i + 1;
    bump(m, LW_MIME_CTR_PARTS, 1);
    entity_start(m, m->levels[i].digest);
}

/* ---- lines -------------------------------------------------------------- */

static void header_append(lw_mime *m, const uint8_t *d, size_t n)
{
    if (n == 0 || m->hdr_skip)
        return;
    if (n > m->cap - m->len) {
        bump(m, LW_MIME_CTR_LINE_TOO_LONG, 1);
        m->hdr_skip = true;
        m->len = 0;
        m->phys = 0;
        return;
    }
    memcpy(m->buf + m->len, d, n);
    m->len += n;
}

static void header_line_done(lw_mime *m)
{
    bool empty = m->line_len == 0 || (m->line_len == 1 && m->last == '\r');
    m->at_sol = true;
    if (!m->hdr_skip && m->len > m->phys && m->buf[m->len - 1] == '\r')
        m->len--;
    if (m->hdr_cont)
        return;
    if (empty) {
        m->len = 0;
        m->hdr_skip = false;
        end_headers(m);
        return;
    }
    bool close;
    int lv;
    if (!m->hdr_skip && (lv = match_boundary(m, m->buf, m->len, &close)) >= 0) {
        m->len = 0; /* a part with no body, or headers cut short */
        on_boundary(m, lv, close);
    }
}

static void feed_headers(lw_mime *m, lw_cursor *c)
{
    while (lw_cur_left(c) > 0 && m->mode == MODE_HEADERS) {
        if (m->at_sol) {
            uint8_t b = lw_cur_has(c, 1) ? *c->ptr : 0;
            bool cont = is_wsp(b) && (m->len > 0 || m->hdr_skip);
            if (!cont)
                header_flush(m);
            m->hdr_cont = cont;
            m->at_sol = false;
            m->phys = m->len;
            m->line_len = 0;
        }
        size_t left = lw_cur_left(c);
        const uint8_t *lf = memchr(c->ptr, '\n', left);
        size_t span = lf ? (size_t)(lf - c->ptr) : left;
        lw_cursor s = lw_cur_sub(c, span);
        if (span > 0) {
            header_append(m, s.ptr, span);
            m->line_len += span;
            m->last = s.ptr[span - 1];
        }
        if (!lf)
            break;
        lw_cur_skip(c, 1);
        header_line_done(m);
    }
}

static void flush_eol(lw_mime *m)
{
    if (m->pend_eol == EOL_CRLF)
        body_bytes(m, crlf, 2);
    else if (m->pend_eol == EOL_LF)
        body_bytes(m, crlf + 1, 1);
    m->pend_eol = EOL_NONE;
}

/* Bytes of a body line known not to be a boundary line. */
static void body_stream(lw_mime *m, const uint8_t *d, size_t n)
{
    if (n == 0)
        return;
    flush_eol(m);
    if (m->cr_held) {
        m->cr_held = false;
        body_bytes(m, crlf, 1);
    }
    if (d[n - 1] == '\r') {
        m->cr_held = true;
        n--;
    }
    body_bytes(m, d, n);
}

/* Keeps the line while it may be a boundary line: it starts with "--"
 * and fits in buf. Once it cannot be, it is streamed. */
static void body_buffer(lw_mime *m, const uint8_t *d, size_t n)
{
    size_t room = m->cap - m->len;
    size_t take = n < room ? n : room;
    if (take > 0) {
        memcpy(m->buf + m->len, d, take);
        m->len += take;
    }
    bool can = take == n;
    if (m->len >= 1 && m->buf[0] != '-')
        can = false;
    if (m->len >= 2 && m->buf[1] != '-')
        can = false;
    if (can)
        return;
    m->buffering = false;
    size_t held = m->len;
    m->len = 0;
    body_stream(m, m->buf, held);
    body_stream(m, d + take, n - take);
}

static void body_line_done(lw_mime *m, bool eol)
{
    m->at_sol = true;
    if (m->buffering) {
        m->buffering = false;
        size_t n = m->len;
        m->len = 0;
        size_t ln = (n > 0 && m->buf[n - 1] == '\r') ? n - 1 : n;
        bool close;
        int lv = match_boundary(m, m->buf, ln, &close);
        if (lv >= 0) {
            on_boundary(m, lv, close);
            return;
        }
        body_stream(m, m->buf, n);
    }
    flush_eol(m);
    if (eol)
        m->pend_eol = m->cr_held ? EOL_CRLF : EOL_LF;
    m->cr_held = false;
}

static bool any_boundary(const lw_mime *m)
{
    for (uint32_t i = 0; i < m->depth; i++)
        if (m->levels[i].blen > 0)
            return true;
    return false;
}

static void feed_body(lw_mime *m, lw_cursor *c)
{
    while (lw_cur_left(c) > 0 && m->mode == MODE_BODY) {
        if (m->at_sol) {
            m->at_sol = false;
            m->line_len = 0;
            m->long_counted = false;
            m->len = 0;
            m->buffering = any_boundary(m);
        }
        size_t left = lw_cur_left(c);
        const uint8_t *lf = memchr(c->ptr, '\n', left);
        size_t span = lf ? (size_t)(lf - c->ptr) : left;
        lw_cursor s = lw_cur_sub(c, span);
        m->line_len += span;
        if (m->line_len > m->cap && !m->long_counted) {
            bump(m, LW_MIME_CTR_LINE_TOO_LONG, 1);
            m->long_counted = true;
        }
        if (m->buffering)
            body_buffer(m, s.ptr, span);
        else
            body_stream(m, s.ptr, span);
        if (!lf)
            break;
        lw_cur_skip(c, 1);
        body_line_done(m, true);
    }
}

/* ---- API ---------------------------------------------------------------- */

void lw_mime_init(lw_mime *m, uint8_t *buf, size_t cap, lw_mime_level *levels, uint32_t max_depth,
                  uint32_t max_headers, uint64_t *counters, const uint8_t *map)
{
    memset(m, 0, sizeof *m);
    m->buf = buf;
    m->cap = buf ? cap : 0;
    m->levels = levels;
    m->max_depth = max_depth < LW_MIME_DEPTH_CAP ? max_depth : LW_MIME_DEPTH_CAP;
    if (!levels)
        m->max_depth = 0;
    m->max_headers = max_headers;
    m->counters = counters;
    m->map = map;
    lw_mime_begin(m);
}

void lw_mime_begin(lw_mime *m)
{
    m->depth = 0;
    m->item_open = false;
    m->at_sol = true;
    m->buffering = false;
    m->pend_eol = EOL_NONE;
    m->cr_held = false;
    m->line_len = 0;
    m->long_counted = false;
    entity_start(m, false);
}

void lw_mime_feed(lw_mime *m, const uint8_t *data, size_t len, const lw_mime_io *io)
{
    m->io = io;
    lw_cursor c = lw_cur_make(data, len);
    while (lw_cur_left(&c) > 0) {
        if (m->mode == MODE_HEADERS)
            feed_headers(m, &c);
        else
            feed_body(m, &c);
    }
    m->io = NULL;
}

void lw_mime_gap(lw_mime *m, const lw_mime_io *io)
{
    m->io = io;
    if (m->mode == MODE_HEADERS) {
        m->len = 0;
        m->phys = 0;
        m->hdr_skip = false;
        m->hdr_cont = false;
    } else {
        body_finish(m);
        body_start(m, m->enc);
    }
    m->at_sol = true;
    m->io = NULL;
}

void lw_mime_end(lw_mime *m, const lw_mime_io *io)
{
    m->io = io;
    if (!m->at_sol) {
        /* the last line had no EOL: complete it (it may be a boundary) */
        if (m->mode == MODE_BODY) {
            body_line_done(m, false);
        } else if (!m->hdr_cont && !m->hdr_skip && m->len > 0) {
            bool close;
            size_t ln = m->buf[m->len - 1] == '\r' ? m->len - 1 : m->len;
            int lv = match_boundary(m, m->buf, ln, &close);
            if (lv >= 0) {
                m->len = 0;
                on_boundary(m, lv, close);
            }
        }
        m->at_sol = true;
    }
    finish_entity(m);
    m->io = NULL;
    lw_mime_begin(m);
}
