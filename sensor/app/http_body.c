/*
 * http_body.c - what the HTTP decoder does with body bytes once http.c has
 * framed them (see http.h): undo the Content-Encodings, then split and
 * decode by Content-Type, emitting content as it goes.
 *
 * Pipeline per body:  framed bytes -> encoding layers -> content type -> sink
 *
 * Encodings (RFC 9110 section 8.4): the sender applied them in the order
 * listed, so they are undone last first; each gzip/deflate layer is an
 * lw_inflate whose output feeds the next. Each layer holds back its first
 * HTTP_PROBE bytes and inflates them in one call: when zlib refuses them
 * before producing a byte, the body was labelled compressed but sent plain
 * (a known server bug) and is passed on as is (DECOMPRESS_PLAIN). Corrupt
 * data later ends the layer: what came out was scanned, the rest is dropped
 * (GZIP_CORRUPT). Unknown codings or more than max_encodings: the body is
 * emitted as sent. Inflate caps each layer at max_decompressed and
 * max_ratio; lw_http_emit caps the direction's total.
 *
 * Content types: application/x-www-form-urlencoded is split on '&' and the
 * first '=' of each field, names and values percent-decoded with '+' as
 * space, each its own item (the split happens before decoding, so "%26" does
 * not split). application/json and any +json type: JSON string escapes
 * decoded. Any multipart type: each part's header values are items (and the
 * Content-Disposition name and filename on their own), each part body is
 * decoded by its Content-Transfer-Encoding (base64, quoted-printable, as is)
 * and by its own type (JSON, nested multipart up to max_encodings levels)
 * and is an item. Preamble and epilogue, which a server ignores but a
 * sender can fill, are emitted as they are. Anything else: as is.
 *
 * Multipart delimiters (RFC 2046 section 5.1.1: CRLF "--" boundary) are
 * found with a Knuth-Morris-Pratt matcher per level, so no byte is held
 * except as a matched prefix of the delimiter itself, and bytes that turn
 * out not to be a delimiter are released from the delimiter's own copy.
 * The first delimiter may open the body without a CRLF: the matcher starts
 * with those two bytes "matched" (phantom) and never releases them. A match
 * counts only when "--" or padding and a line end follow it (RFC 2046), so
 * "--boundaryX" inside a part stays data.
 *
 * The bytes arrive as bounded (pointer, length) runs that http.c took
 * through lw_cursor; every loop here indexes below its run's length.
 */
#include "leakwatch/http.h"

#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

enum { LAYER_PROBE, LAYER_INFLATE, LAYER_PLAIN, LAYER_DEAD };
enum { MP_PREAMBLE, MP_AFTER, MP_HEADERS, MP_BODY, MP_EPILOGUE };
enum { CTE_NONE, CTE_B64, CTE_QP };
enum { LEAF_RAW, LEAF_JSON, LEAF_NESTED };

/* ---- header value parsing ------------------------------------------------ */

static bool is_tspecial_end(uint8_t c)
{
    return c == ';' || c == ',' || c == ' ' || c == '\t';
}

bool lw_http_param(const uint8_t *v, size_t n, const char *name, uint8_t *out, size_t cap,
                   size_t *outlen)
{
    size_t i = 0;
    size_t nlen = strlen(name);
    /* skip the leading value ("form-data", "multipart/mixed") */
    while (i < n && v[i] != ';') {
        if (v[i] == '"') { /* a quoted string before any ';' (malformed): skip it */
            for (i++; i < n && v[i] != '"'; i++)
                if (v[i] == '\\')
                    i++;
        }
        i++;
    }
    while (i < n) {
        i++; /* ';' */
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t ks = i;
        while (i < n && v[i] != '=' && v[i] != ';')
            i++;
        const uint8_t *k = v + ks;
        size_t kl = i - ks;
        lw_http_trim(&k, &kl);
        bool match = lw_http_ieq(k, kl, name) && kl == nlen;
        if (i >= n || v[i] == ';')
            continue;
        i++; /* '=' */
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t ol = 0;
        if (i < n && v[i] == '"') {
            for (i++; i < n && v[i] != '"'; i++) {
                if (v[i] == '\\' && i + 1 < n)
                    i++;
                if (match && ol < cap)
                    out[ol++] = v[i];
            }
            if (i < n)
                i++; /* closing quote */
        } else {
            for (; i < n && !is_tspecial_end(v[i]); i++)
                if (match && ol < cap)
                    out[ol++] = v[i];
        }
        while (i < n && v[i] != ';')
            i++;
        if (match) {
            *outlen = ol;
            return true;
        }
    }
    return false;
}

void lw_http_parse_ctype(const uint8_t *v, size_t n, uint8_t *ctype, uint8_t *boundary,
                         uint8_t *blen, bool *bad)
{
    size_t tl = 0;
    while (tl < n && v[tl] != ';')
        tl++;
    const uint8_t *t = v;
    lw_http_trim(&t, &tl);
    const uint8_t *slash = memchr(t, '/', tl);
    *ctype = CT_RAW;
    *bad = false;
    *blen = 0;
    if (!slash)
        return;
    size_t majl = (size_t)(slash - t);
    const uint8_t *sub = slash + 1;
    size_t subl = tl - majl - 1;
    if (lw_http_ieq(t, tl, "application/x-www-form-urlencoded")) {
        *ctype = CT_FORM;
    } else if (lw_http_ieq(t, majl, "multipart")) {
        *ctype = CT_MULTIPART;
        uint8_t tmp[HTTP_BOUNDARY_MAX + 1];
        size_t bl = 0;
        if (!lw_http_param(v, n, "boundary", tmp, sizeof(tmp), &bl) || bl == 0 ||
            bl > HTTP_BOUNDARY_MAX) {
            *bad = true;
            return;
        }
        memcpy(boundary, tmp, bl);
        *blen = (uint8_t)bl;
    } else if (lw_http_ieq(sub, subl, "json") ||
               (subl >= 5 && lw_http_ieq(sub + subl - 5, 5, "+json"))) {
        *ctype = CT_JSON;
    }
}

/* ---- the content-type stage ------------------------------------------------ */

/* Decoded body bytes leave here. */
static void body_out(void *ctx, const uint8_t *data, size_t len)
{
    http_dir *d = ctx;
    if (d->body.dead || len == 0)
        return;
    d->h->ctr[LW_HTTP_CTR_DECODED_BYTES] += len;
    lw_http_emit(d, data, len);
}

static void form_feed(http_dir *d, const uint8_t *p, size_t n)
{
    http_body *b = &d->body;
    while (n > 0) {
        size_t j = 0;
        while (j < n && p[j] != '&' && (b->form_value || p[j] != '='))
            j++;
        lw_pct_feed(&b->pct, p, j, body_out, d);
        if (j == n)
            return;
        lw_pct_finish(&b->pct, body_out, d);
        lw_http_item_end(d);
        b->form_value = p[j] == '=';
        lw_pct_init(&b->pct, true);
        p += j + 1;
        n -= j + 1;
    }
}

static void mp_feed(http_dir *d, uint8_t level, const uint8_t *p, size_t n);
static void mp_finish(http_dir *d, uint8_t level);

static void mp_init(http_dir *d, uint8_t level, const uint8_t *boundary, uint8_t blen)
{
    http_mp *mp = &d->body.mp[level];
    memset(mp, 0, sizeof(*mp));
    mp->d = d;
    mp->level = level;
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, blen);
    mp->dlen = (uint8_t)(4 + blen);
    /* fail[m]: the longest proper prefix of delim that is a suffix of its first m bytes */
    uint8_t k = 0;
    mp->fail[0] = mp->fail[1] = 0;
    for (uint8_t i = 1; i < mp->dlen; i++) {
        while (k > 0 && mp->delim[i] != mp->delim[k])
            k = mp->fail[k];
        if (mp->delim[i] == mp->delim[k])
            k++;
        mp->fail[i + 1] = k;
    }
    mp->state = MP_PREAMBLE;
    mp->m = 2; /* the body may open with "--boundary" */
    mp->phantom = true;
}

static void ct_feed(http_dir *d, const uint8_t *p, size_t n)
{
    switch (d->body.ctype) {
    case CT_JSON:
        lw_jsonesc_feed(&d->body.js, p, n, body_out, d);
        break;
    case CT_FORM:
        form_feed(d, p, n);
        break;
    case CT_MULTIPART:
        mp_feed(d, 0, p, n);
        break;
    default:
        body_out(d, p, n);
        break;
    }
}

static void ct_finish(http_dir *d)
{
    http_body *b = &d->body;
    switch (b->ctype) {
    case CT_JSON:
        lw_jsonesc_finish(&b->js, body_out, d);
        break;
    case CT_FORM:
        lw_pct_finish(&b->pct, body_out, d);
        break;
    case CT_MULTIPART:
        mp_finish(d, 0);
        break;
    default:
        break;
    }
    lw_http_item_end(d);
}

/* ---- multipart --------------------------------------------------------------- */

/* The leaf decoders of a part: after the transfer encoding, the part's type. */
static void leaf_out(void *ctx, const uint8_t *data, size_t len)
{
    http_mp *mp = ctx;
    if (mp->leaf == LEAF_JSON)
        lw_jsonesc_feed(&mp->js, data, len, body_out, mp->d);
    else
        body_out(mp->d, data, len);
}

static void part_data(http_mp *mp, const uint8_t *p, size_t n)
{
    http_dir *d = mp->d;
    if (mp->leaf == LEAF_NESTED)
        mp_feed(d, (uint8_t)(mp->level + 1), p, n);
    else if (mp->cte == CTE_B64)
        lw_b64_feed(&mp->b64, p, n, leaf_out, mp);
    else if (mp->cte == CTE_QP)
        lw_qp_feed(&mp->qp, p, n, leaf_out, mp);
    else
        leaf_out(mp, p, n);
}

static void part_finish(http_mp *mp)
{
    http_dir *d = mp->d;
    if (mp->leaf == LEAF_NESTED) {
        mp_finish(d, (uint8_t)(mp->level + 1));
    } else {
        if (mp->cte == CTE_B64)
            lw_b64_finish(&mp->b64, leaf_out, mp);
        else if (mp->cte == CTE_QP)
            lw_qp_finish(&mp->qp, leaf_out, mp);
        if (mp->leaf == LEAF_JSON)
            lw_jsonesc_finish(&mp->js, body_out, d);
    }
    lw_http_item_end(d);
}

/* Bytes of this level that are not a delimiter. */
static void mp_release(http_mp *mp, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (mp->state == MP_BODY)
        part_data(mp, p, n);
    else
        body_out(mp->d, p, n); /* preamble, epilogue */
}

/* The first n bytes of a partial match were data after all. */
static void mp_release_delim(http_mp *mp, size_t n)
{
    size_t skip = 0;
    if (mp->phantom) {
        skip = n < 2 ? n : 2;
        mp->phantom = false;
    }
    mp_release(mp, mp->delim + skip, n - skip);
}

static void mp_part_header(http_mp *mp)
{
    http_dir *d = mp->d;
    const uint8_t *l = d->line;
    size_t n = d->line_len;
    if (++mp->nheaders > d->h->lim->max_headers) {
        if (mp->nheaders == d->h->lim->max_headers + 1)
            lw_http_count(d, LW_HTTP_CTR_TOO_MANY_HEADERS);
        return;
    }
    const uint8_t *name, *v;
    size_t nl, vl;
    if (!lw_http_split_field(l, n, &name, &nl, &v, &vl)) {
        body_out(d, l, n);
        lw_http_item_end(d);
        return;
    }
    body_out(d, v, vl);
    lw_http_item_end(d);
    if (lw_http_ieq(name, nl, "content-disposition")) {
        /* the field name and file name, unquoted, each on its own */
        static const char *const params[] = {"name", "filename"};
        for (size_t i = 0; i < 2; i++) {
            uint8_t out[256];
            size_t ol = 0;
            if (lw_http_param(v, vl, params[i], out, sizeof(out), &ol)) {
                body_out(d, out, ol);
                lw_http_item_end(d);
            }
        }
    } else if (lw_http_ieq(name, nl, "content-transfer-encoding")) {
        if (lw_http_ieq(v, vl, "base64"))
            mp->cte = CTE_B64;
        else if (lw_http_ieq(v, vl, "quoted-printable"))
            mp->cte = CTE_QP;
        else
            mp->cte = CTE_NONE;
    } else if (lw_http_ieq(name, nl, "content-type")) {
        uint8_t ct, blen;
        uint8_t boundary[HTTP_BOUNDARY_MAX];
        bool bad;
        lw_http_parse_ctype(v, vl, &ct, boundary, &blen, &bad);
        mp->leaf = ct == CT_JSON ? LEAF_JSON : LEAF_RAW;
        if (ct == CT_MULTIPART && bad) {
            lw_http_count(d, LW_HTTP_CTR_MULTIPART_INVALID);
        } else if (ct == CT_MULTIPART && mp->level + 1 >= d->body.mp_depth) {
            lw_http_count(d, LW_HTTP_CTR_TOO_MANY_ENCODINGS);
        } else if (ct == CT_MULTIPART) {
            mp_init(d, (uint8_t)(mp->level + 1), boundary, blen);
            mp->leaf = LEAF_NESTED;
        }
    }
}

/* Reads the rest of a delimiter line or a part header line; returns the
 * bytes consumed (up to and including LF). */
static size_t mp_line(http_mp *mp, const uint8_t *p, size_t n)
{
    http_dir *d = mp->d;
    const uint8_t *lf = memchr(p, '\n', n);
    size_t len = lf ? (size_t)(lf - p) : n;
    if (mp->state == MP_AFTER) {
        /* transport padding up to the line end is ignored */
        if (!lf)
            return n;
        if (mp->closing) {
            mp->state = MP_EPILOGUE;
        } else {
            mp->state = MP_HEADERS;
            mp->nheaders = 0;
            mp->cte = CTE_NONE;
            mp->leaf = LEAF_RAW;
            d->line_len = 0;
            mp->line_over = false;
        }
        return len + 1;
    }
    /* MP_HEADERS (no folding: form-data part headers are short and single) */
    size_t room = d->h->max_line - d->line_len;
    size_t take = len < room ? len : room;
    if (take && !lw_http_line_reserve(d, d->line_len + take))
        take = 0; /* no memory for the line: handled as too long */
    if (take)
        memcpy(d->line + d->line_len, p, take);
    d->line_len += (uint32_t)take;
    if (take < len) {
        if (!mp->line_over)
            lw_http_count(d, LW_HTTP_CTR_LINE_TOO_LONG);
        mp->line_over = true;
        body_out(d, p + take, len - take); /* scanned, as its own item */
    }
    if (!lf)
        return n;
    if (mp->line_over)
        lw_http_item_end(d);
    if (d->line_len > 0 && d->line[d->line_len - 1] == '\r')
        d->line_len--;
    if (d->line_len == 0 && !mp->line_over) {
        mp->state = MP_BODY; /* blank line: the part body follows */
        mp->m = 0;
        mp->phantom = false;
        lw_b64_init(&mp->b64);
        lw_qp_init(&mp->qp);
        lw_jsonesc_init(&mp->js);
    } else {
        mp_part_header(mp);
    }
    d->line_len = 0;
    mp->line_over = false;
    return len + 1;
}

/* What follows the delimiter makes it one: "--" (the close delimiter),
 * or transport padding and the line end. The part it ends is finished. */
static void mp_commit(http_mp *mp, bool closing)
{
    if (mp->prev == MP_BODY)
        part_finish(mp);
    else
        lw_http_item_end(mp->d); /* the preamble */
    mp->found = true;
    mp->committed = true;
    mp->closing = closing;
    mp->phantom = false;
}

/* The delimiter was followed by something else ("--b" inside "--bx"): its
 * bytes, and a '-' after it, were data of the part after all. */
static void mp_unmatch(http_mp *mp, bool dash)
{
    mp->state = mp->prev;
    mp_release_delim(mp, mp->dlen);
    if (dash)
        mp_release(mp, (const uint8_t *)"-", 1);
    mp->m = 0;
}

/* MP_AFTER before the delimiter is confirmed; c is not consumed unless
 * the function says so. Returns the bytes consumed (0 or 1). */
static size_t mp_confirm(http_mp *mp, uint8_t c)
{
    if (mp->after_n == 0) {
        if (c == '-') {
            mp->after_n = 1;
            return 1;
        }
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            mp_commit(mp, false);
        else
            mp_unmatch(mp, false);
        return 0;
    }
    if (c == '-') {
        mp_commit(mp, true);
        return 1;
    }
    mp_unmatch(mp, true);
    return 0;
}

static void mp_feed(http_dir *d, uint8_t level, const uint8_t *p, size_t n)
{
    http_mp *mp = &d->body.mp[level];
    size_t i = 0;
    while (i < n && !d->body.dead) {
        switch (mp->state) {
        case MP_EPILOGUE:
            mp_release(mp, p + i, n - i);
            return;
        case MP_AFTER:
            if (!mp->committed) {
                i += mp_confirm(mp, p[i]);
                break;
            }
            i += mp_line(mp, p + i, n - i);
            break;
        case MP_HEADERS:
            i += mp_line(mp, p + i, n - i);
            break;
        default: { /* preamble, part body: look for the delimiter */
            if (mp->m == 0) {
                const uint8_t *cr = memchr(p + i, '\r', n - i);
                size_t run = cr ? (size_t)(cr - (p + i)) : n - i;
                if (run > 0) {
                    mp_release(mp, p + i, run);
                    i += run;
                    break;
                }
            }
            uint8_t c = p[i++];
            while (mp->m > 0 && mp->delim[mp->m] != c) {
                uint8_t k = mp->fail[mp->m];
                mp_release_delim(mp, (size_t)(mp->m - k));
                mp->m = k;
            }
            if (mp->delim[mp->m] == c) {
                if (++mp->m == mp->dlen) {
                    mp->m = 0;
                    mp->prev = mp->state;
                    mp->state = MP_AFTER;
                    mp->after_n = 0;
                    mp->committed = false;
                }
            } else {
                mp_release(mp, &c, 1);
            }
            break;
        }
        }
    }
}

static void mp_finish(http_dir *d, uint8_t level)
{
    http_mp *mp = &d->body.mp[level];
    if (mp->state == MP_AFTER && !mp->committed)
        mp_commit(mp, false); /* the body ended right after a delimiter */
    if ((mp->state == MP_PREAMBLE || mp->state == MP_BODY) && mp->m > 0) {
        mp_release_delim(mp, mp->m);
        mp->m = 0;
    }
    bool closed = mp->state == MP_EPILOGUE || (mp->state == MP_AFTER && mp->closing);
    if (!closed)
        lw_http_count(d, LW_HTTP_CTR_MULTIPART_INVALID); /* no delimiter, or no close */
    if (mp->state == MP_BODY)
        part_finish(mp);
    lw_http_item_end(d);
    mp->state = MP_EPILOGUE;
}

/* ---- encoding layers ---------------------------------------------------------- */

static void layer_feed(http_dir *d, int idx, const uint8_t *p, size_t n);

/* Output of a layer goes to the next one down, or to the content type. */
static void layer_next(http_dir *d, int idx, const uint8_t *p, size_t n)
{
    if (d->body.dead || n == 0)
        return;
    if (idx > 0)
        layer_feed(d, idx - 1, p, n);
    else
        ct_feed(d, p, n);
}

static void layer_out(void *ctx, const uint8_t *data, size_t len)
{
    http_layer *l = ctx;
    layer_next(l->d, l->idx, data, len);
}

static void layer_status(http_layer *l, lw_inflate_status st)
{
    http_dir *d = l->d;
    switch (st) {
    case LW_INFLATE_OK:
        break;
    case LW_INFLATE_DONE:
        l->state = LAYER_DEAD; /* trailing bytes after the stream are ignored */
        break;
    case LW_INFLATE_BOMB:
        if (!d->body.bombed)
            lw_http_count(d, LW_HTTP_CTR_DECOMPRESS_BOMB);
        d->body.bombed = true;
        d->body.dead = true;
        l->state = LAYER_DEAD;
        break;
    default: /* CORRUPT, NOMEM */
        lw_http_count(d, LW_HTTP_CTR_GZIP_CORRUPT);
        d->body.dead = true;
        l->state = LAYER_DEAD;
        break;
    }
}

/* Inflates the held first bytes; refused before any output means plain. */
static void layer_probe(http_layer *l)
{
    http_dir *d = l->d;
    uint8_t n = l->nprobe;
    l->nprobe = 0;
    lw_inflate_status st = lw_inflate_feed(l->z, l->probe, n, layer_out, l);
    if ((st == LW_INFLATE_CORRUPT) && lw_inflate_total_out(l->z) == 0) {
        lw_http_count(d, LW_HTTP_CTR_DECOMPRESS_PLAIN);
        l->state = LAYER_PLAIN;
        layer_next(d, l->idx, l->probe, n);
        return;
    }
    l->state = LAYER_INFLATE;
    layer_status(l, st);
}

static void layer_feed(http_dir *d, int idx, const uint8_t *p, size_t n)
{
    http_layer *l = &d->ext->layer[idx];
    if (l->state == LAYER_PROBE) {
        size_t take = HTTP_PROBE - l->nprobe;
        if (take > n)
            take = n;
        memcpy(l->probe + l->nprobe, p, take);
        l->nprobe = (uint8_t)(l->nprobe + take);
        p += take;
        n -= take;
        if (l->nprobe < HTTP_PROBE)
            return;
        layer_probe(l);
    }
    if (n == 0 || d->body.dead)
        return;
    if (l->state == LAYER_PLAIN)
        layer_next(d, idx, p, n);
    else if (l->state == LAYER_INFLATE)
        layer_status(l, lw_inflate_feed(l->z, p, n, layer_out, l));
}

/* ---- body life cycle ------------------------------------------------------------ */

/* Ends the body's transient state; the ext stays for the next body. */
static void body_free(http_dir *d)
{
    http_body *b = &d->body;
    for (uint8_t i = 0; i < b->nlayers; i++) {
        lw_inflate_free(d->ext->layer[i].z);
        memset(&d->ext->layer[i], 0, sizeof(d->ext->layer[i]));
    }
    if (b->mp) {
        free(b->mp);
        d->h->mem_changed = true;
    }
    memset(b, 0, sizeof(*b));
}

void lw_http_body_begin(http_dir *d)
{
    http_body *b = &d->body;
    const lw_app_limits *lim = d->h->lim;
    body_free(d);
    if (!d->inspect)
        return; /* framing only */
    b->on = true;
    b->ctype = d->ctype;

    bool as_sent = false;
    uint32_t ncoded = 0;
    for (uint8_t i = 0; i < d->nenc; i++) {
        if (d->enc[i] == ENC_UNKNOWN && !as_sent) {
            lw_http_count(d, LW_HTTP_CTR_UNKNOWN_ENCODING);
            as_sent = true;
        }
        ncoded++;
    }
    if (!as_sent && (d->enc_overflow || ncoded > lim->max_encodings)) {
        lw_http_count(d, LW_HTTP_CTR_TOO_MANY_ENCODINGS);
        as_sent = true;
    }
    /* the layers live in the ext, made at the first encoded body */
    http_ext *x = NULL;
    if (!as_sent && d->nenc > 0) {
        x = lw_http_ext(d);
        if (!x || d->nenc > x->nlayer_max)
            as_sent = true; /* out of memory: scan what was sent */
    }
    if (!as_sent) {
        for (uint8_t i = 0; i < d->nenc; i++) {
            http_layer *l = &x->layer[i];
            l->d = d;
            l->idx = i;
            l->state = LAYER_PROBE;
            l->z = lw_inflate_new(d->enc[i] == ENC_GZIP ? LW_INFLATE_GZIP : LW_INFLATE_DEFLATE,
                                  lim->max_decompressed, lim->max_ratio);
            b->nlayers = (uint8_t)(i + 1);
            if (!l->z) {
                as_sent = true; /* out of memory: scan what was sent */
                break;
            }
        }
    }
    if (as_sent) {
        body_free(d);
        b->on = true;
        b->ctype = CT_RAW; /* compressed bytes are not a form or JSON */
        return;
    }

    switch (b->ctype) {
    case CT_JSON:
        lw_jsonesc_init(&b->js);
        break;
    case CT_FORM:
        lw_pct_init(&b->pct, true);
        break;
    case CT_MULTIPART: {
        uint32_t depth = lim->max_encodings < 1 ? 1 : lim->max_encodings;
        if (depth > HTTP_MP_DEPTH_MAX)
            depth = HTTP_MP_DEPTH_MAX;
        if (d->boundary_bad || d->blen == 0) {
            lw_http_count(d, LW_HTTP_CTR_MULTIPART_INVALID);
            b->ctype = CT_RAW;
            break;
        }
        b->mp = calloc(depth, sizeof(*b->mp));
        if (!b->mp) {
            b->ctype = CT_RAW;
            break;
        }
        b->mp_depth = (uint8_t)depth;
        d->h->mem_changed = true;
        mp_init(d, 0, d->ext->boundary, d->blen);
        break;
    }
    default:
        break;
    }
}

void lw_http_body_data(http_dir *d, const uint8_t *data, size_t len)
{
    if (!d->body.on || d->body.dead)
        return;
    layer_next(d, d->body.nlayers, data, len);
}

void lw_http_body_end(http_dir *d)
{
    http_body *b = &d->body;
    if (b->on) {
        /* Bodies shorter than a probe are inflated now, outermost first. */
        for (int i = b->nlayers - 1; i >= 0 && !b->dead; i--)
            if (d->ext->layer[i].state == LAYER_PROBE)
                layer_probe(&d->ext->layer[i]);
        if (!b->dead)
            ct_finish(d);
    }
    lw_http_item_end(d);
    body_free(d);
}

void lw_http_body_abort(http_dir *d)
{
    lw_http_item_end(d);
    body_free(d);
}
