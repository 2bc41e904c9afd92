/*
 * http.c - HTTP/1.x message framing (RFC 9112) for the decoder of http.h.
 *
 * Each direction is a byte-driven state machine: a start line, header
 * fields, then a body framed by Transfer-Encoding: chunked, Content-Length
 * or the end of the connection (RFC 9112 section 6.3, in that order of
 * precedence), then the next message. Requests go on LW_DIR_TOSERVER,
 * responses on LW_DIR_TOCLIENT; a FIFO of request methods lets each
 * response know it answers a HEAD or a CONNECT, so pipelined exchanges stay
 * in step. What a body contains is http_body.c's business: this file hands
 * it the de-chunked bytes.
 *
 * Lines. A start line or header field is gathered into the direction's line
 * buffer, which grows on demand (256 bytes, doubling) up to max_line: a flow
 * costs what its longest line needed, not 2 x max_line. After a call that
 * leaves no partial line in it, the buffer is released, until the direction
 * has needed one twice: a connection that carries one message each way (most
 * of a million concurrent flows) holds no buffer while it waits, one that
 * carries many keeps it and its later packets allocate nothing. The bytes of
 * a longer line are counted (LINE_TOO_LONG), emitted raw as their own item
 * so that nothing escapes the scan, and the first max_line bytes are
 * processed as the line. A header field waits for the first byte of the next
 * line before it is processed, because a line starting with SP or HTAB
 * continues it (obs-fold, RFC 9112 section 5.2): the parts are joined with
 * one space. More than max_headers fields in a message: counted, the rest
 * are read and dropped up to the blank line. Chunk-size lines never touch
 * the buffer (hex digits are accumulated, extensions skipped), so the buffer
 * is free for multipart part headers while a body streams.
 *
 * Errors and resynchronisation. A line that is not a start line where one
 * is expected is counted once, then the direction resynchronises: every
 * following line that does not begin with a method token and a space
 * (requests) or "HTTP/1." (responses) is emitted raw, each as an item, so
 * a sender cannot hide data behind broken framing. A bad chunk size and a
 * gap do the same after abandoning the message. A bad Content-Length makes
 * the body run to the end of the connection, for the same reason.
 *
 * CONNECT and 101 (Switching Protocols) end HTTP on the connection:
 * lw_http_passthrough() turns true and the direction's bytes from the
 * first one after the message are emitted as they are.
 *
 * Parking (lw_http_idle, lw_http_park, lw_http_resume). Between messages
 * a connection's parser holds nothing a new one would not, but for the
 * output budget below and the number of requests awaiting a response; a
 * caller with many waiting connections keeps those (lw_http_carry) and
 * reuses the parser. lw_http_idle audits every field for that claim.
 *
 * Every emission goes through lw_http_emit, which enforces the output
 * budget of a direction: in_total x max_ratio + max_decompressed bytes.
 * Only decompression can approach it; inflate's own caps act per body, the
 * budget bounds the sum over many small bodies.
 *
 * Wire bytes are read through lw_cursor; every loop consumes at least one
 * byte or changes state towards one that does.
 */
#include "leakwatch/http.h"
#include "leakwatch/ascii.h"

#include <stdlib.h>
#include <string.h>

#include "leakwatch/cursor.h"
#include "http_internal.h"

#define LW_HTTP_NAME_(name, str) str,
const char *const lw_http_counter_names[LW_HTTP_CTR_MAX] = {LW_HTTP_COUNTERS(LW_HTTP_NAME_)};
#undef LW_HTTP_NAME_

#define METHOD_MAX 32 /* longest method token accepted */

enum { CS_DIGITS, CS_EXT };

/* ---- small helpers shared with http_body.c ------------------------------ */

void lw_http_count(http_dir *d, int ctr)
{
    d->h->ctr[ctr]++;
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

bool lw_http_ieq(const uint8_t *a, size_t alen, const char *b)
{
    size_t n = strlen(b);
    if (alen != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower((uint8_t)b[i]))
            return false;
    return true;
}

void lw_http_trim(const uint8_t **p, size_t *n)
{
    while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

bool lw_http_split_field(const uint8_t *l, size_t n, const uint8_t **name, size_t *nl,
                         const uint8_t **v, size_t *vl)
{
    const uint8_t *colon = n ? memchr(l, ':', n) : NULL;
    if (!colon)
        return false;
    *name = l;
    *nl = (size_t)(colon - l);
    *v = colon + 1;
    *vl = n - *nl - 1;
    lw_http_trim(name, nl);
    lw_http_trim(v, vl);
    return true;
}

void lw_http_emit(http_dir *d, const uint8_t *data, size_t len)
{
    lw_http *h = d->h;
    if (!d->inspect || len == 0)
        return;
    if (h->lim->max_ratio > 0) {
        uint64_t ratio = h->lim->max_ratio;
        uint64_t cap = d->in_total > (UINT64_MAX - h->lim->max_decompressed) / ratio
                           ? UINT64_MAX
                           : d->in_total * ratio + h->lim->max_decompressed;
        uint64_t room = cap > d->out_total ? cap - d->out_total : 0;
        if (len > room) {
            len = (size_t)room;
            d->body.dead = true;
            if (!d->body.bombed && !d->cut_counted)
                lw_http_count(d, LW_HTTP_CTR_DECOMPRESS_BOMB);
            d->body.bombed = true;
            d->cut_counted = true;
            if (len == 0)
                return;
        }
    }
    d->out_total += len;
    d->item_open = true;
    if (h->sink && h->sink->content)
        h->sink->content(h->sink->ctx, d->dir, data, len);
}

void lw_http_emit_cb(void *ctx, const uint8_t *data, size_t len)
{
    lw_http_emit(ctx, data, len);
}

void lw_http_item_end(http_dir *d)
{
    lw_http *h = d->h;
    if (!d->item_open)
        return;
    d->item_open = false;
    if (h->sink && h->sink->item_end)
        h->sink->item_end(h->sink->ctx, d->dir);
}

static void meta(http_dir *d, lw_app_meta key, const uint8_t *v, size_t n)
{
    lw_http *h = d->h;
    if (h->sink && h->sink->meta)
        h->sink->meta(h->sink->ctx, d->dir, key, v, n);
}

/* The next byte without consuming it (0 at the end). */
static uint8_t peek(const lw_cursor *c)
{
    return lw_cur_has(c, 1) ? c->ptr[0] : 0;
}

/* ---- message state -------------------------------------------------------- */

static void line_reset(http_dir *d)
{
    d->line_len = 0;
    d->pl_start = 0;
    d->pl_cont = false;
    d->pl_skipws = false;
    d->line_over = false;
    d->hdr_pending = false;
}

/* Forgets the message; the direction waits for the next start line. */
static void message_reset(http_dir *d)
{
    d->state = HS_START;
    line_reset(d);
    d->trailers = false;
    d->hdr_capped = false;
    d->nheaders = 0;
    d->method = M_OTHER;
    d->status = 0;
    d->chunked = d->te_present = d->has_clen = d->clen_bad = false;
    d->clen = d->remain = 0;
    d->nenc = 0;
    d->enc_overflow = false;
    d->ctype = CT_RAW;
    d->boundary_bad = false;
    d->blen = 0;
    d->cut_counted = false;
}

static void set_passthrough(http_dir *d)
{
    lw_http *h = d->h;
    if (d->state == HS_PASSTHROUGH)
        return;
    if (!h->upgraded)
        lw_http_count(d, LW_HTTP_CTR_UPGRADE);
    h->upgraded = true;
    if (d->state >= HS_BODY_LEN && d->state <= HS_BODY_CLOSE)
        lw_http_body_abort(d);
    lw_http_item_end(d);
    line_reset(d);
    d->line_raw = false;
    d->state = HS_PASSTHROUGH;
}

static void fifo_push(lw_http *h, http_dir *d, uint8_t method)
{
    if (h->fifo_n == HTTP_FIFO_MAX) {
        lw_http_count(d, LW_HTTP_CTR_PIPELINE_OVERFLOW);
        return;
    }
    unsigned at = (h->fifo_head + h->fifo_n) % HTTP_FIFO_MAX;
    unsigned shift = (at % 4) * 2;
    h->fifo[at / 4] = (uint8_t)((h->fifo[at / 4] & ~(3u << shift)) | ((method & 3u) << shift));
    h->fifo_n++;
}

static uint8_t fifo_pop(lw_http *h)
{
    if (h->fifo_n == 0)
        return M_OTHER; /* picked up mid-stream, or the request was lost */
    uint8_t m = (uint8_t)((h->fifo[h->fifo_head / 4] >> ((h->fifo_head % 4) * 2)) & 3u);
    h->fifo_head = (uint8_t)((h->fifo_head + 1) % HTTP_FIFO_MAX);
    h->fifo_n--;
    return m;
}

/* ---- start lines ---------------------------------------------------------- */

static bool is_method_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* Length of the method token at the start of p, when a space follows it. */
static size_t method_len(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && i <= METHOD_MAX && is_method_char(p[i]))
        i++;
    if (i == 0 || i > METHOD_MAX || i >= n || p[i] != ' ')
        return 0;
    return i;
}

/* True when the line so far (at least HTTP_LINE_MIN bytes, or a whole
 * line) begins like a message of this direction. */
static bool looks_like_start(const http_dir *d, const uint8_t *p, size_t n)
{
    if (d->dir == LW_DIR_TOSERVER)
        return method_len(p, n) > 0;
    return n >= 7 && memcmp(p, "HTTP/1.", 7) == 0;
}

static bool request_line(http_dir *d, const uint8_t *p, size_t n)
{
    size_t ml = method_len(p, n);
    if (ml == 0)
        return false;
    const uint8_t *t = p + ml + 1;
    size_t rest = n - ml - 1;
    const uint8_t *sp = memchr(t, ' ', rest);
    size_t tl = sp ? (size_t)(sp - t) : rest;
    if (tl == 0)
        return false;

    lw_http *h = d->h;
    lw_http_count(d, LW_HTTP_CTR_REQUESTS);
    d->method = M_OTHER;
    if (ml == 4 && memcmp(p, "HEAD", 4) == 0)
        d->method = M_HEAD;
    else if (ml == 7 && memcmp(p, "CONNECT", 7) == 0)
        d->method = M_CONNECT;
    fifo_push(h, d, d->method);
    meta(d, LW_META_HTTP_METHOD, p, ml);
    meta(d, LW_META_HTTP_URL, t, tl);

    /* The path is percent-decoded; the query as a form ('+' is a space). */
    lw_pct pct;
    const uint8_t *q = memchr(t, '?', tl);
    size_t pl = q ? (size_t)(q - t) : tl;
    lw_pct_init(&pct, false);
    lw_pct_feed(&pct, t, pl, lw_http_emit_cb, d);
    lw_pct_finish(&pct, lw_http_emit_cb, d);
    if (q) {
        lw_pct_init(&pct, true);
        lw_pct_feed(&pct, q, tl - pl, lw_http_emit_cb, d);
        lw_pct_finish(&pct, lw_http_emit_cb, d);
    }
    lw_http_item_end(d);
    return true;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool status_line(http_dir *d, const uint8_t *p, size_t n)
{
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != ' ' ||
        !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]) || (n > 12 && p[12] != ' '))
        return false;
    d->status = (uint16_t)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
    if (d->status < 100)
        return false;
    lw_http_count(d, LW_HTTP_CTR_RESPONSES);
    meta(d, LW_META_HTTP_STATUS, p + 9, 3);
    /* An interim response (1xx but 101) does not answer the request. */
    d->method = M_OTHER;
    if (d->status >= 200 || d->status == 101)
        d->method = fifo_pop(d->h);
    return true;
}

/* ---- header fields ---------------------------------------------------------- */

static void parse_clen(http_dir *d, const uint8_t *v, size_t n)
{
    /* 1*DIGIT, or a list of identical values (RFC 9110 section 8.6) */
    uint64_t val = 0;
    bool have = false, bad = false;
    size_t i = 0;
    while (i <= n && !bad) {
        size_t j = i;
        uint64_t x = 0;
        while (j < n && v[j] != ',')
            j++;
        const uint8_t *e = v + i;
        size_t el = j - i;
        lw_http_trim(&e, &el);
        if (el == 0 || el > 18)
            bad = true;
        for (size_t k = 0; k < el && !bad; k++) {
            if (!is_digit(e[k]))
                bad = true;
            x = x * 10 + (uint64_t)(e[k] - '0');
        }
        if (!bad && have && x != val)
            bad = true;
        val = x;
        have = true;
        i = j + 1;
    }
    if (!bad && d->has_clen && d->clen != val)
        bad = true;
    if (bad) {
        if (!d->clen_bad)
            lw_http_count(d, LW_HTTP_CTR_BAD_CONTENT_LENGTH);
        d->clen_bad = true;
        return;
    }
    d->has_clen = true;
    d->clen = val;
}

/* Content-Encoding and Transfer-Encoding lists: the sender applied them in
 * the order listed (RFC 9110 section 8.4). */
static void parse_codings(http_dir *d, const uint8_t *v, size_t n, bool te)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        const uint8_t *e = v + i;
        size_t el = j - i;
        i = j + 1;
        const uint8_t *semi = memchr(e, ';', el); /* transfer-coding parameters */
        if (semi)
            el = (size_t)(semi - e);
        lw_http_trim(&e, &el);
        if (el == 0)
            continue;
        if (te)
            d->chunked = false; /* chunked counts only as the final coding */
        uint8_t code;
        if (lw_http_ieq(e, el, "identity"))
            continue;
        if (te && lw_http_ieq(e, el, "chunked")) {
            d->chunked = true;
            continue;
        }
        if (lw_http_ieq(e, el, "gzip") || lw_http_ieq(e, el, "x-gzip"))
            code = ENC_GZIP;
        else if (lw_http_ieq(e, el, "deflate"))
            code = ENC_DEFLATE;
        else
            code = ENC_UNKNOWN;
        if (d->nenc == HTTP_ENC_MAX)
            d->enc_overflow = true;
        else
            d->enc[d->nenc++] = code;
    }
}

static void dispatch_header(http_dir *d)
{
    const uint8_t *l = d->line;
    size_t n = d->line_len;
    bool over = d->line_over;
    d->nheaders++;
    if (d->nheaders > d->h->lim->max_headers) {
        if (!d->hdr_capped)
            lw_http_count(d, LW_HTTP_CTR_TOO_MANY_HEADERS);
        d->hdr_capped = true;
        return;
    }
    const uint8_t *name, *v;
    size_t nl, vl;
    if (!lw_http_split_field(l, n, &name, &nl, &v, &vl)) {
        lw_http_emit(d, l, n); /* not a field; its bytes are still content */
        lw_http_item_end(d);
        return;
    }
    lw_http_emit(d, v, vl);
    lw_http_item_end(d);
    if (d->trailers)
        return; /* trailer fields are content, never framing */

    if (lw_http_ieq(name, nl, "host")) {
        meta(d, LW_META_HTTP_HOST, v, vl);
    } else if (lw_http_ieq(name, nl, "content-type")) {
        meta(d, LW_META_HTTP_CONTENT_TYPE, v, vl);
        uint8_t boundary[HTTP_BOUNDARY_MAX];
        lw_http_parse_ctype(v, vl, &d->ctype, boundary, &d->blen, &d->boundary_bad);
        if (d->blen > 0) { /* kept in the ext, which only multipart messages need */
            http_ext *x = lw_http_ext(d);
            if (x) {
                memcpy(x->boundary, boundary, d->blen);
            } else {
                d->ctype = CT_RAW; /* out of memory: the body is scanned as sent */
                d->blen = 0;
            }
        }
    } else if (lw_http_ieq(name, nl, "content-length")) {
        if (over) { /* digits cut off by the line cap cannot be trusted */
            if (!d->clen_bad)
                lw_http_count(d, LW_HTTP_CTR_BAD_CONTENT_LENGTH);
            d->clen_bad = true;
        } else {
            parse_clen(d, v, vl);
        }
    } else if (lw_http_ieq(name, nl, "transfer-encoding")) {
        d->te_present = true;
        parse_codings(d, v, vl, true);
    } else if (lw_http_ieq(name, nl, "content-encoding")) {
        parse_codings(d, v, vl, false);
    }
}

/* ---- reading lines ---------------------------------------------------------- */

/* Makes room for `need` bytes of line (need <= max_line). False when the
 * allocation fails: the caller treats the line as too long. */
bool lw_http_line_reserve(http_dir *d, size_t need)
{
    if (need <= d->line_cap)
        return true;
    if (!d->line && d->line_allocs < HTTP_LINE_KEEP)
        d->line_allocs++;
    size_t cap = d->line_cap ? d->line_cap : HTTP_LINE_FIRST;
    while (cap < need)
        cap *= 2;
    if (cap > d->h->max_line)
        cap = d->h->max_line;
    uint8_t *p = realloc(d->line, cap);
    if (!p)
        return false;
    d->line = p;
    d->line_cap = (uint32_t)cap;
    d->h->mem_changed = true;
    return true;
}

/* After a call: a line buffer that holds no partial line is released,
 * unless the direction has needed one HTTP_LINE_KEEP times (a connection
 * that carries one message each way then holds no buffer while it waits;
 * one that carries many keeps it and allocates nothing per packet). */
static void line_release_idle(http_dir *d)
{
    if (!d->line || d->line_len > 0 || d->hdr_pending || d->line_allocs >= HTTP_LINE_KEEP)
        return;
    free(d->line);
    d->line = NULL;
    d->line_cap = 0;
    d->h->mem_changed = true;
}

http_ext *lw_http_ext(http_dir *d)
{
    if (d->ext)
        return d->ext;
    uint32_t n = d->h->lim->max_encodings;
    if (n > HTTP_ENC_MAX)
        n = HTTP_ENC_MAX;
    d->ext = calloc(1, sizeof(http_ext) + n * sizeof(http_layer));
    if (d->ext) {
        d->ext->nlayer_max = (uint8_t)n;
        d->h->mem_changed = true;
    }
    return d->ext;
}

/*
 * Moves the bytes of c up to the next LF into the line buffer (the LF is
 * consumed, not stored). Past max_line the bytes are counted and emitted
 * raw, unless stop_full: then it stops at a full buffer, for the caller to
 * decide. Returns true when the LF was consumed.
 */
static bool line_take(http_dir *d, lw_cursor *c, bool stop_full)
{
    size_t left = lw_cur_left(c);
    const uint8_t *lf = memchr(c->ptr, '\n', left);
    size_t n = lf ? (size_t)(lf - c->ptr) : left;
    size_t room = d->h->max_line - d->line_len;
    size_t take = n < room ? n : room;
    if (take && !lw_http_line_reserve(d, d->line_len + take))
        take = 0; /* no memory for the line: it is handled as too long */
    lw_cursor piece = lw_cur_sub(c, take);
    if (take)
        memcpy(d->line + d->line_len, piece.ptr, take);
    d->line_len += (uint32_t)take;
    if (take < n) {
        if (stop_full && !d->line_over)
            return false;
        if (!d->line_over)
            lw_http_count(d, LW_HTTP_CTR_LINE_TOO_LONG);
        d->line_over = true;
        lw_cursor rest = lw_cur_sub(c, n - take);
        lw_http_emit(d, rest.ptr, n - take);
        d->over_emitted = true;
    }
    if (!lf)
        return false;
    lw_cur_skip(c, 1);
    if (d->line_len > d->pl_start && d->line[d->line_len - 1] == '\r')
        d->line_len--;
    return true;
}

/* START with line_raw: the rest of a non-HTTP line goes out as it is. */
static void raw_line_step(http_dir *d, lw_cursor *c)
{
    size_t left = lw_cur_left(c);
    const uint8_t *lf = memchr(c->ptr, '\n', left);
    size_t n = lf ? (size_t)(lf - c->ptr) : left;
    lw_cursor piece = lw_cur_sub(c, n);
    lw_http_emit(d, piece.ptr, n);
    if (lf) {
        lw_cur_skip(c, 1);
        lw_http_item_end(d);
        d->line_raw = false;
    }
}

static void not_a_start_line(http_dir *d)
{
    if (!d->resync)
        lw_http_count(d, d->dir == LW_DIR_TOSERVER ? LW_HTTP_CTR_BAD_REQUEST_LINE
                                                   : LW_HTTP_CTR_BAD_STATUS_LINE);
    d->resync = true;
}

static void start_step(http_dir *d, lw_cursor *c)
{
    if (d->line_raw) {
        raw_line_step(d, c);
        return;
    }
    if (d->line_len == d->h->max_line && !d->line_over && peek(c) != '\n') {
        /* A full buffer: a start line that long is kept (and cut), anything
         * else is not HTTP and streams out raw from here. */
        if (!looks_like_start(d, d->line, d->line_len)) {
            not_a_start_line(d);
            lw_http_emit(d, d->line, d->line_len);
            line_reset(d);
            d->line_raw = true;
            return;
        }
        lw_http_count(d, LW_HTTP_CTR_LINE_TOO_LONG);
        d->line_over = true;
    }
    if (!line_take(d, c, true))
        return;
    if (d->over_emitted) {
        lw_http_item_end(d);
        d->over_emitted = false;
    }
    const uint8_t *l = d->line;
    size_t n = d->line_len;
    if (n == 0 && !d->line_over) {
        line_reset(d); /* empty lines between messages are allowed (RFC 9112 section 2.2) */
        return;
    }
    bool ok = d->dir == LW_DIR_TOSERVER ? request_line(d, l, n) : status_line(d, l, n);
    if (!ok) {
        not_a_start_line(d);
        lw_http_emit(d, l, n);
        lw_http_item_end(d);
        line_reset(d);
        return;
    }
    d->resync = false;
    uint8_t method = d->method;
    uint16_t status = d->status;
    message_reset(d);
    d->method = method;
    d->status = status;
    d->state = HS_HEADERS;
}

/* ---- end of the header section: choose the framing -------------------------- */

static void message_done(http_dir *d)
{
    message_reset(d);
}

static void body_start(http_dir *d, uint8_t state)
{
    d->state = state;
    d->cs_phase = CS_DIGITS;
    d->cs_digits = 0;
    d->cs_len = 0;
    d->cs_long = false;
    d->cs_size = 0;
    d->remain = d->clen;
    lw_http_body_begin(d);
}

static void framed_body(http_dir *d, bool until_close_default)
{
    if (d->chunked)
        body_start(d, HS_CHUNK_SIZE);
    else if (d->te_present || d->clen_bad)
        body_start(d, HS_BODY_CLOSE); /* no trustworthy length: read it all */
    else if (d->has_clen && d->clen > 0)
        body_start(d, HS_BODY_LEN);
    else if (d->has_clen)
        message_done(d);
    else if (until_close_default)
        body_start(d, HS_BODY_CLOSE);
    else
        message_done(d);
}

static void headers_done(http_dir *d)
{
    lw_http *h = d->h;
    if (d->trailers) {
        message_done(d);
        return;
    }
    if (d->dir == LW_DIR_TOSERVER) {
        if (d->method == M_CONNECT)
            set_passthrough(d); /* the tunnel starts after the request */
        else
            framed_body(d, false);
        return;
    }
    uint16_t st = d->status;
    if (st == 101) {
        set_passthrough(d);
        set_passthrough(&h->d[LW_DIR_TOSERVER]);
        return;
    }
    if (d->method == M_CONNECT && st >= 200 && st < 300) {
        set_passthrough(d);
        return;
    }
    /* RFC 9112 section 6.3: these responses never have a body. */
    if (st < 200 || st == 204 || st == 304 || d->method == M_HEAD) {
        message_done(d);
        return;
    }
    framed_body(d, true);
}

static void headers_step(http_dir *d, lw_cursor *c)
{
    if (d->hdr_pending) {
        uint8_t b = peek(c);
        d->hdr_pending = false;
        if (b == ' ' || b == '\t') {
            d->pl_cont = true;
            d->pl_skipws = true;
            if (d->line_len < d->h->max_line && lw_http_line_reserve(d, d->line_len + 1))
                d->line[d->line_len++] = ' ';
        } else {
            dispatch_header(d);
            line_reset(d);
        }
        d->pl_start = d->line_len;
    }
    if (d->pl_skipws) {
        while (lw_cur_left(c) > 0 && (peek(c) == ' ' || peek(c) == '\t'))
            lw_cur_skip(c, 1);
        if (lw_cur_left(c) == 0)
            return;
        d->pl_skipws = false;
    }
    if (!line_take(d, c, false))
        return;
    if (d->over_emitted) {
        lw_http_item_end(d);
        d->over_emitted = false;
    }
    if (!d->pl_cont && d->line_len == 0 && !d->line_over) {
        headers_done(d);
        return;
    }
    d->pl_cont = false;
    d->hdr_pending = true;
}

/* ---- bodies ------------------------------------------------------------------- */

static void body_piece(http_dir *d, lw_cursor *c, uint64_t max)
{
    size_t n = lw_cur_left(c);
    if (n > max)
        n = (size_t)max;
    lw_cursor piece = lw_cur_sub(c, n);
    d->h->ctr[LW_HTTP_CTR_BODY_BYTES] += n;
    lw_http_body_data(d, piece.ptr, n);
    d->remain -= n < d->remain ? n : d->remain;
}

/* The chunked body is abandoned; `rest_raw`: the rest of the line is not
 * HTTP (emit it raw), else the byte at c starts a line to resync on. */
static void bad_chunk(http_dir *d, bool rest_raw)
{
    lw_http_count(d, LW_HTTP_CTR_BAD_CHUNK);
    lw_http_body_abort(d);
    message_reset(d);
    d->resync = true;
    d->line_raw = rest_raw;
}

static void chunk_size_step(http_dir *d, lw_cursor *c)
{
    while (lw_cur_left(c) > 0) {
        uint8_t b = peek(c);
        if (++d->cs_len > d->h->max_line && !d->cs_long) {
            lw_http_count(d, LW_HTTP_CTR_LINE_TOO_LONG);
            d->cs_long = true;
        }
        if (b == '\n') {
            lw_cur_skip(c, 1);
            if (d->cs_digits == 0) {
                bad_chunk(d, false);
            } else if (d->cs_size == 0) {
                lw_http_body_end(d); /* last-chunk: trailer fields follow */
                d->state = HS_HEADERS;
                d->trailers = true;
                d->nheaders = 0;
                line_reset(d);
            } else {
                d->state = HS_CHUNK_DATA;
                d->remain = d->cs_size;
            }
            return;
        }
        int v = lw_hex_value(b);
        if (d->cs_phase == CS_DIGITS && v >= 0 && d->cs_digits < 15) {
            d->cs_size = d->cs_size << 4 | (uint64_t)v;
            d->cs_digits++;
        } else if (d->cs_phase == CS_DIGITS && d->cs_digits > 0 &&
                   (b == ';' || b == ' ' || b == '\t' || b == '\r')) {
            d->cs_phase = CS_EXT; /* chunk-ext (RFC 9112 section 7.1.1): skipped */
        } else if (d->cs_phase != CS_EXT) {
            bad_chunk(d, d->cs_len > 1);
            return; /* b is re-read by the START state */
        }
        lw_cur_skip(c, 1);
    }
}

static void chunk_crlf_step(http_dir *d, lw_cursor *c)
{
    uint8_t b = peek(c);
    if (b == '\r') {
        lw_cur_skip(c, 1);
    } else if (b == '\n') {
        lw_cur_skip(c, 1);
        d->state = HS_CHUNK_SIZE;
        d->cs_phase = CS_DIGITS;
        d->cs_digits = 0;
        d->cs_len = 0;
        d->cs_long = false;
        d->cs_size = 0;
    } else {
        bad_chunk(d, false);
    }
}

/* ---- public API ----------------------------------------------------------------- */

lw_http *lw_http_new(const lw_app_limits *lim, uint64_t *counters)
{
    if (!lim || !counters)
        return NULL;
    uint32_t ml = lim->max_line < HTTP_LINE_MIN ? HTTP_LINE_MIN : lim->max_line;
    if (ml > (UINT32_MAX - sizeof(lw_http)) / 2)
        return NULL;
    lw_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->lim = lim;
    h->ctr = counters;
    h->max_line = ml;
    h->mem_changed = true;
    for (int i = 0; i < 2; i++) {
        http_dir *d = &h->d[i];
        d->h = h;
        d->dir = (uint8_t)i;
        d->line = NULL; /* grown by line_reserve */
        message_reset(d);
    }
    return h;
}

bool lw_http_passthrough(const lw_http *h, int dir)
{
    return h && (dir == 0 || dir == 1) && h->d[dir].state == HS_PASSTHROUGH;
}

void lw_http_feed(lw_http *h, int dir, const uint8_t *data, size_t len, bool inspect,
                  const lw_app_sink *sink)
{
    if (!h || (dir != 0 && dir != 1) || (!data && len > 0))
        return;
    http_dir *d = &h->d[dir];
    h->sink = sink;
    d->inspect = inspect;
    d->in_total += len;
    lw_cursor c = lw_cur_make(data, len);
    while (lw_cur_left(&c) > 0) {
        switch (d->state) {
        case HS_START:
            start_step(d, &c);
            break;
        case HS_HEADERS:
            headers_step(d, &c);
            break;
        case HS_BODY_LEN:
            body_piece(d, &c, d->remain);
            if (d->remain == 0) {
                lw_http_body_end(d);
                message_done(d);
            }
            break;
        case HS_CHUNK_SIZE:
            chunk_size_step(d, &c);
            break;
        case HS_CHUNK_DATA:
            body_piece(d, &c, d->remain);
            if (d->remain == 0)
                d->state = HS_CHUNK_CRLF;
            break;
        case HS_CHUNK_CRLF:
            chunk_crlf_step(d, &c);
            break;
        case HS_BODY_CLOSE:
            body_piece(d, &c, UINT64_MAX);
            break;
        default: { /* HS_PASSTHROUGH */
            lw_cursor all = lw_cur_sub(&c, lw_cur_left(&c));
            lw_http_emit(d, all.ptr, (size_t)(all.end - all.ptr));
            break;
        }
        }
    }
    line_release_idle(d);
    h->sink = NULL;
}

void lw_http_gap(lw_http *h, int dir, const lw_app_sink *sink)
{
    if (!h || (dir != 0 && dir != 1))
        return;
    http_dir *d = &h->d[dir];
    h->sink = sink;
    lw_http_count(d, LW_HTTP_CTR_GAP);
    if ((d->state == HS_START || d->state == HS_HEADERS) && d->line_len > 0)
        lw_http_emit(d, d->line, d->line_len); /* the part line before the gap */
    if (d->state != HS_PASSTHROUGH) {
        if (d->state >= HS_BODY_LEN && d->state <= HS_BODY_CLOSE)
            lw_http_body_abort(d);
        message_reset(d);
        d->resync = true;
        d->line_raw = false;
        d->over_emitted = false;
    }
    lw_http_item_end(d); /* content after the gap never joins content before it */
    line_release_idle(d);
    h->sink = NULL;
}

bool lw_http_mem_changed(lw_http *h)
{
    if (!h || !h->mem_changed)
        return false;
    h->mem_changed = false;
    return true;
}

void lw_http_prefetch(const lw_http *h, int dir)
{
    if (!h)
        return; /* parked (lw_http_park): the next feed resumes a parser */
    /* the parser's head (sink, limits, counters) and the direction's
     * framing state up to its body pipeline: what every feed reads first */
    const http_dir *d = &h->d[dir & 1];
    __builtin_prefetch(h, 1);
    __builtin_prefetch(d, 1);
    __builtin_prefetch((const uint8_t *)d + 64, 1);
    __builtin_prefetch((const uint8_t *)d + 128, 1);
}

/* ---- parking an idle parser ------------------------------------------------------ */

/* Largest in_total x max_ratio and out_total a carry takes: the credit is
 * then an exact int64_t, with room for both signs. */
#define HTTP_CARRY_MAX (INT64_MAX / 4)

static bool dir_idle(const http_dir *d)
{
    /*
     * Every field of http_dir against a new parser's (lw_http_new:
     * calloc, then message_reset), for what it would change later:
     *   h, dir                 set at creation, the same in any parser.
     *   line, line_cap,        memory only: line_reserve grows from any
     *   line_allocs, ext       size, the kept ext's boundary and layers are
     *                          written before each use (dispatch_header,
     *                          body_begin); lw_http_park keeps them.
     *   in_total, out_total    the output budget: carried (lw_http_carry);
     *                          bounded here so that the credit is exact.
     *   clen, remain           required zero (message_reset's values).
     *   cs_size, cs_len,       the chunk-size line: only chunk_size_step
     *   cs_phase, cs_digits,   reads them, in HS_CHUNK_SIZE, which is
     *   cs_long                entered only through body_start and
     *                          chunk_crlf_step, both of which set all five
     *                          first; a finished chunked message leaves
     *                          them as its last-chunk line left them, so
     *                          they are not required (lw_http_park zeroes
     *                          them).
     *   body                   all zero (body_free): no open body, no
     *                          multipart levels, no inflate layers, and
     *                          `dead` / `bombed` (which lw_http_emit sets
     *                          and reads even between bodies) clear.
     *   line_len, pl_start     no partial line;
     *   hdr_pending, pl_cont,  no header waiting for a fold, no fold in
     *   pl_skipws, line_over,  progress, no over-long line being cut or
     *   over_emitted           streamed out raw;
     *   line_raw, resync       not resynchronising: a new parser counts the
     *                          next bad start line, this one would not;
     *   item_open              a new parser's first item_end would not fire;
     *   cut_counted,           a new parser would count DECOMPRESS_BOMB /
     *   hdr_capped             TOO_MANY_HEADERS again;
     *   state                  HS_START: a message boundary (HS_PASSTHROUGH
     *                          never is);
     *   nheaders, trailers,    the message's fields, reset by message_reset
     *   method, status,        at every message end: required at their new
     *   chunked, te_present,   values, so a future path that reads one
     *   has_clen, clen_bad,    early still sees what it would have seen.
     *   enc, nenc,
     *   enc_overflow, ctype,
     *   boundary_bad, blen
     *   inspect                rewritten by every feed before any use; the
     *                          gap and free paths use it only to emit a
     *                          partial line or close an open item, which an
     *                          idle direction has not.
     */
    if (d->state != HS_START || d->line_len != 0 || d->pl_start != 0)
        return false;
    if (d->hdr_pending || d->pl_cont || d->pl_skipws || d->line_over || d->over_emitted ||
        d->line_raw || d->resync || d->item_open || d->cut_counted || d->hdr_capped)
        return false;
    if (d->nheaders != 0 || d->trailers || d->method != M_OTHER || d->status != 0 || d->chunked ||
        d->te_present || d->has_clen || d->clen_bad || d->clen != 0 || d->remain != 0 ||
        d->nenc != 0 || d->enc_overflow || d->ctype != CT_RAW || d->boundary_bad || d->blen != 0)
        return false;
    const http_body *b = &d->body;
    if (b->mp || b->on || b->dead || b->bombed || b->nlayers || b->ctype != CT_RAW ||
        b->form_value || b->mp_depth)
        return false;
    uint32_t r = d->h->lim->max_ratio;
    if (r > 0 && (d->in_total > (uint64_t)HTTP_CARRY_MAX / r || d->out_total > HTTP_CARRY_MAX))
        return false;
    return true;
}

bool lw_http_idle(const lw_http *h)
{
    /*
     * lw_http's own fields: lim, ctr and max_line are the caller's, the
     * same for every parser it makes; sink is NULL between calls;
     * mem_changed is memory only. upgraded: a new parser would count
     * UPGRADE again (and both directions of an upgraded connection are in
     * HS_PASSTHROUGH anyway). The request FIFO: a HEAD or CONNECT entry
     * decides how its response is framed, so none may be pending; entries
     * of other requests are all M_OTHER (0), and a FIFO of fifo_n of them
     * behaves the same from any fifo_head, so only their number is carried
     * (lw_http_resume rebuilds it from head 0). This is what lets a
     * connection give its parser back while it waits for the response.
     */
    if (!h || h->upgraded || h->sink)
        return false;
    for (unsigned i = 0; i < h->fifo_n; i++) {
        unsigned at = (h->fifo_head + i) % HTTP_FIFO_MAX;
        if (((h->fifo[at / 4] >> ((at % 4) * 2)) & 3u) != M_OTHER)
            return false;
    }
    return dir_idle(&h->d[0]) && dir_idle(&h->d[1]);
}

void lw_http_park(lw_http *h, lw_http_carry *carry)
{
    if (!h || !carry)
        return;
    uint32_t r = h->lim->max_ratio;
    carry->pending = h->fifo_n;
    struct {
        uint8_t *line;
        http_ext *ext;
        uint32_t line_cap;
        uint8_t line_allocs;
    } keep[2];
    for (int i = 0; i < 2; i++) {
        http_dir *d = &h->d[i];
        carry->credit[i] = r == 0 ? 0 : (int64_t)(d->in_total * r) - (int64_t)d->out_total;
        keep[i].line = d->line;
        keep[i].ext = d->ext;
        keep[i].line_cap = d->line_cap;
        keep[i].line_allocs = d->line_allocs;
    }
    const lw_app_limits *lim = h->lim;
    uint64_t *ctr = h->ctr;
    uint32_t max_line = h->max_line;
    bool mem_changed = h->mem_changed;
    memset(h, 0, sizeof(*h));
    h->lim = lim;
    h->ctr = ctr;
    h->max_line = max_line;
    h->mem_changed = mem_changed;
    for (int i = 0; i < 2; i++) {
        http_dir *d = &h->d[i];
        d->h = h;
        d->dir = (uint8_t)i;
        d->line = keep[i].line;
        d->ext = keep[i].ext;
        d->line_cap = keep[i].line_cap;
        d->line_allocs = keep[i].line_allocs;
        message_reset(d);
    }
}

void lw_http_resume(lw_http *h, const lw_http_carry *carry)
{
    if (!h || !carry)
        return;
    uint64_t r = h->lim->max_ratio;
    for (int i = 0; i < 2; i++) {
        /* Any in_total, out_total with in_total x r - out_total = credit
         * give the budget the same room from here on: in_total + later
         * input, times r, plus max_decompressed, minus out_total + later
         * output. (The one difference: the parked connection's larger
         * in_total reaches lw_http_emit's overflow guard, which lifts the
         * cap, sooner; by then the cap exceeds 2^63 bytes of output.) */
        http_dir *d = &h->d[i];
        int64_t c = carry->credit[i];
        d->in_total = d->out_total = 0;
        if (r == 0 || c == 0)
            continue;
        if (c > 0) {
            d->in_total = ((uint64_t)c + r - 1) / r;
            d->out_total = d->in_total * r - (uint64_t)c;
        } else {
            d->out_total = (uint64_t)-c;
        }
    }
    /* the pending requests, all M_OTHER (0) */
    memset(h->fifo, 0, sizeof(h->fifo));
    h->fifo_head = 0;
    h->fifo_n = carry->pending <= HTTP_FIFO_MAX ? carry->pending : HTTP_FIFO_MAX;
    h->mem_changed = true;
}

size_t lw_http_footprint(const lw_http *h)
{
    if (!h)
        return 0;
    size_t n = sizeof(*h) + HTTP_ALLOC_OVERHEAD;
    for (int i = 0; i < 2; i++) {
        const http_dir *d = &h->d[i];
        if (d->line)
            n += d->line_cap + HTTP_ALLOC_OVERHEAD;
        if (d->ext)
            n += sizeof(http_ext) + d->ext->nlayer_max * sizeof(http_layer) + HTTP_ALLOC_OVERHEAD;
        if (d->body.mp)
            n += d->body.mp_depth * sizeof(http_mp) + HTTP_ALLOC_OVERHEAD;
    }
    return n;
}

void lw_http_free(lw_http *h, const lw_app_sink *sink)
{
    if (!h)
        return;
    h->sink = sink;
    for (int i = 0; i < 2; i++) {
        http_dir *d = &h->d[i];
        if (d->state == HS_HEADERS && (d->hdr_pending || d->line_len > 0))
            dispatch_header(d); /* the connection ended inside the header section */
        if (d->state == HS_START && d->line_len > 0)
            lw_http_emit(d, d->line, d->line_len); /* an unfinished line */
        if (d->state >= HS_BODY_LEN && d->state <= HS_BODY_CLOSE)
            lw_http_body_end(d); /* until-close bodies end here; others were cut */
        lw_http_item_end(d);
        free(d->line);
        free(d->ext);
    }
    free(h);
}
