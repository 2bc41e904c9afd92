/*
 * match.c - Hyperscan scanning and candidate extraction (see match.h).
 *
 * Why no SOM: Hyperscan's start-of-match tracking doubles the scan cost and
 * grows stream state; the patterns here have bounded length and a known
 * character set, so the start can be recovered by walking back from the
 * reported end. To walk back across chunk boundaries each stream keeps the
 * last LW_MATCH_HISTORY bytes it scanned (more than the longest value), so
 * a value that straddles any number of segments is still found whole.
 *
 * Offsets: Hyperscan reports end offsets relative to the stream start (or
 * the last reset). `base` is the offset of the first byte of the chunk being
 * scanned; bytes before it come from the history.
 */
#include "leakwatch/match.h"

#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/validate.h"

/* Longest value (max_len <= 255) plus the byte before it. */
#define LW_MATCH_HISTORY 256

struct lw_matcher {
    const lw_signature_set *set;
    hs_database_t *stream_db;
    hs_database_t *block_db;
    size_t stream_size;
};

struct lw_match_worker {
    const lw_matcher *m;
    hs_scratch_t *scratch;
    uint64_t candidates[LW_SIG_MAX_KINDS];
    uint64_t validated[LW_SIG_MAX_KINDS];
    uint64_t errors;
};

struct lw_match_stream {
    hs_stream_t *hs;
    uint64_t base; /* Hyperscan offset of the next byte to scan */
    uint16_t history_len;
    uint8_t history[LW_MATCH_HISTORY];
};

/* What the Hyperscan callback needs to see the bytes around a match. */
typedef struct scan_view {
    lw_match_worker *w;
    const uint8_t *data; /* the chunk being scanned */
    size_t len;
    uint64_t base; /* offset of data[0] */
    const uint8_t *history;
    size_t history_len; /* bytes immediately before data[0] */
    lw_match_found_fn found;
    void *ctx;
} scan_view;

/* The byte at stream offset off, or -1 when it is no longer (or not yet) held. */
static int byte_at(const scan_view *v, uint64_t off)
{
    if (off >= v->base) {
        uint64_t i = off - v->base;
        return i < v->len ? v->data[i] : -1;
    }
    uint64_t back = v->base - off;
    if (back > v->history_len)
        return -1;
    return v->history[v->history_len - back];
}

static int is_alnum(int b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *arg)
{
    (void)from;
    (void)flags;
    scan_view *v = arg;
    const lw_signature *sig = &v->w->m->set->sigs[id];
    v->w->candidates[sig->kind]++;

    /* The report ends after the delimiter, or at the end of the data. */
    uint64_t end = to;
    int last = end ? byte_at(v, end - 1) : -1;
    if (last < 0)
        return 0;
    if (!lw_charset_has(sig->boundary_map, (uint8_t)last))
        end--;

    /* Walk back over the charset, at most max_len bytes. */
    uint64_t start = end;
    while (end - start < sig->max_len && start > 0) {
        int b = byte_at(v, start - 1);
        if (b < 0 || !lw_charset_has(sig->charset_map, (uint8_t)b))
            break;
        start--;
    }
    if (start == end)
        return 0;

    bool start_ok;
    if (start == 0) {
        start_ok = true; /* the stream (or datagram) starts with the value */
    } else {
        int before = byte_at(v, start - 1);
        /* Unknown, still inside the charset (cut at max_len), or glued to a
         * letter or digit: run[0] is not where a value starts. */
        start_ok =
            before >= 0 && !lw_charset_has(sig->charset_map, (uint8_t)before) && !is_alnum(before);
        /* The fraction of a decimal number ("0.4111111111111111", a
         * JavaScript Math.random(), a float in JSON) is not a value: a
         * digit run right after a '.' that follows a digit. (Not ',': in a
         * CSV a card follows a numeric field and a comma.) Only for
         * signatures whose values cannot hold a '.' themselves. */
        if (start_ok && before == '.' && start >= 2) {
            int two = byte_at(v, start - 2);
            if (two >= '0' && two <= '9')
                start_ok = false;
        }
    }

    uint8_t run[LW_MATCH_HISTORY];
    size_t n = (size_t)(end - start);
    for (size_t i = 0; i < n; i++)
        run[i] = (uint8_t)byte_at(v, start + i);

    lw_pii_value value;
    if (lw_pick_value(sig->validator, sig->normaliser, run, n, start_ok, &value)) {
        value.sig_index = (uint16_t)id;
        value.kind = sig->kind;
        v->w->validated[sig->kind]++;
        v->found(v->ctx, &value);
        /* The clear value lived only for the callback. */
        memset(value.norm, 0, sizeof(value.norm));
    }
    memset(run, 0, n);
    return 0;
}

static char *build_expression(const lw_signature *sig)
{
    size_t n = strlen(sig->regex) + strlen(sig->boundary) + 32;
    char *e = malloc(n);
    if (e)
        snprintf(e, n, "(?:%s)(?:[^%s]|\\z)", sig->regex, sig->boundary);
    return e;
}

static int compile_db(const lw_signature_set *set, char **exprs, unsigned int *ids,
                      unsigned int *flags, unsigned int mode, hs_database_t **db, char *err,
                      size_t errlen)
{
    hs_compile_error_t *cerr = NULL;
    if (hs_compile_multi((const char *const *)exprs, flags, ids, (unsigned int)set->count, mode,
                         NULL, db, &cerr) == HS_SUCCESS)
        return LW_OK;
    if (cerr && cerr->expression >= 0 && (size_t)cerr->expression < set->count) {
        const lw_signature *s = &set->sigs[cerr->expression];
        snprintf(err, errlen, "signature %u (line %d): regex rejected: %s", s->id, s->line,
                 cerr->message);
    } else {
        snprintf(err, errlen, "signatures could not be compiled: %s",
                 cerr ? cerr->message : "unknown error");
    }
    hs_free_compile_error(cerr);
    return LW_ERR_HYPERSCAN;
}

int lw_matcher_compile(const lw_signature_set *set, lw_matcher **out, char *err, size_t errlen)
{
    int rc = LW_ERR_NOMEM;
    char **exprs = NULL;
    unsigned int *ids = NULL, *flags = NULL;
    lw_matcher *m = NULL;

    *out = NULL;
    if (set->count == 0) {
        snprintf(err, errlen, "no signatures to compile");
        return LW_ERR_INVAL;
    }
    m = calloc(1, sizeof(*m));
    exprs = calloc(set->count, sizeof(*exprs));
    ids = calloc(set->count, sizeof(*ids));
    flags = calloc(set->count, sizeof(*flags));
    if (!m || !exprs || !ids || !flags) {
        snprintf(err, errlen, "out of memory compiling signatures");
        goto fail;
    }
    m->set = set;
    for (size_t i = 0; i < set->count; i++) {
        exprs[i] = build_expression(&set->sigs[i]);
        if (!exprs[i]) {
            snprintf(err, errlen, "out of memory compiling signatures");
            goto fail;
        }
        ids[i] = (unsigned int)i;
        flags[i] = 0;
    }
    rc = compile_db(set, exprs, ids, flags, HS_MODE_STREAM, &m->stream_db, err, errlen);
    if (rc)
        goto fail;
    rc = compile_db(set, exprs, ids, flags, HS_MODE_BLOCK, &m->block_db, err, errlen);
    if (rc)
        goto fail;
    if (hs_stream_size(m->stream_db, &m->stream_size) != HS_SUCCESS)
        m->stream_size = 0;
    *out = m;
    rc = LW_OK;
    m = NULL;
fail:
    if (exprs)
        for (size_t i = 0; i < set->count; i++)
            free(exprs[i]);
    free(exprs);
    free(ids);
    free(flags);
    lw_matcher_free(m);
    return rc;
}

void lw_matcher_free(lw_matcher *m)
{
    if (!m)
        return;
    hs_free_database(m->stream_db);
    hs_free_database(m->block_db);
    free(m);
}

size_t lw_matcher_stream_size(const lw_matcher *m)
{
    return m->stream_size;
}

lw_match_worker *lw_match_worker_new(const lw_matcher *m)
{
    lw_match_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->m = m;
    if (hs_alloc_scratch(m->stream_db, &w->scratch) != HS_SUCCESS ||
        hs_alloc_scratch(m->block_db, &w->scratch) != HS_SUCCESS) {
        lw_match_worker_free(w);
        return NULL;
    }
    return w;
}

void lw_match_worker_free(lw_match_worker *w)
{
    if (!w)
        return;
    hs_free_scratch(w->scratch);
    free(w);
}

uint64_t lw_match_worker_candidates(const lw_match_worker *w, size_t kind)
{
    return kind < LW_SIG_MAX_KINDS ? w->candidates[kind] : 0;
}

uint64_t lw_match_worker_validated(const lw_match_worker *w, size_t kind)
{
    return kind < LW_SIG_MAX_KINDS ? w->validated[kind] : 0;
}

uint64_t lw_match_worker_errors(const lw_match_worker *w)
{
    return w->errors;
}

lw_match_stream *lw_match_stream_open(lw_match_worker *w)
{
    lw_match_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (hs_open_stream(w->m->stream_db, 0, &s->hs) != HS_SUCCESS) {
        free(s);
        return NULL;
    }
    return s;
}

/* Keeps the last LW_MATCH_HISTORY bytes of the stream for walking back. */
static void remember(lw_match_stream *s, const uint8_t *data, size_t len)
{
    if (len >= LW_MATCH_HISTORY) {
        memcpy(s->history, data + len - LW_MATCH_HISTORY, LW_MATCH_HISTORY);
        s->history_len = LW_MATCH_HISTORY;
        return;
    }
    size_t keep = s->history_len;
    if (keep + len > LW_MATCH_HISTORY)
        keep = LW_MATCH_HISTORY - len;
    memmove(s->history, s->history + s->history_len - keep, keep);
    memcpy(s->history + keep, data, len);
    s->history_len = (uint16_t)(keep + len);
}

void lw_match_stream_scan(lw_match_worker *w, lw_match_stream *s, const uint8_t *data, size_t len,
                          lw_match_found_fn found, void *ctx)
{
    if (len == 0)
        return;
    scan_view v = {w, data, len, s->base, s->history, s->history_len, found, ctx};
    /* Hyperscan takes an unsigned int length; feed huge buffers in pieces. */
    size_t done = 0;
    while (done < len) {
        size_t piece = len - done;
        if (piece > (1u << 30))
            piece = 1u << 30;
        if (hs_scan_stream(s->hs, (const char *)data + done, (unsigned int)piece, 0, w->scratch,
                           on_match, &v) != HS_SUCCESS) {
            w->errors++;
            break;
        }
        done += piece;
    }
    s->base += len;
    remember(s, data, len);
}

void lw_match_stream_gap(lw_match_worker *w, lw_match_stream *s)
{
    (void)w;
    /* No scratch and no callback: end-anchored reports are dropped, since a
     * value cut by the hole may have gone on after it. */
    hs_reset_stream(s->hs, 0, NULL, NULL, NULL);
    s->base = 0;
    s->history_len = 0;
}

void lw_match_stream_end_item(lw_match_worker *w, lw_match_stream *s, lw_match_found_fn found,
                              void *ctx)
{
    if (s->base == 0)
        return; /* nothing scanned since the last item */
    scan_view v = {w, NULL, 0, s->base, s->history, s->history_len, found, ctx};
    /* hs_reset_stream reports the end-of-data (\z) matches, then resets. */
    if (hs_reset_stream(s->hs, 0, w->scratch, on_match, &v) != HS_SUCCESS)
        w->errors++;
    s->base = 0;
    s->history_len = 0;
}

void lw_match_stream_close(lw_match_worker *w, lw_match_stream *s, lw_match_found_fn found,
                           void *ctx)
{
    if (!s)
        return;
    scan_view v = {w, NULL, 0, s->base, s->history, s->history_len, found, ctx};
    if (hs_close_stream(s->hs, w->scratch, found ? on_match : NULL, found ? &v : NULL) !=
        HS_SUCCESS)
        w->errors++;
    memset(s->history, 0, sizeof(s->history));
    free(s);
}

void lw_match_block_scan(lw_match_worker *w, const uint8_t *data, size_t len,
                         lw_match_found_fn found, void *ctx)
{
    if (len == 0 || len > UINT32_MAX)
        return;
    scan_view v = {w, data, len, 0, NULL, 0, found, ctx};
    if (hs_scan(w->m->block_db, (const char *)data, (unsigned int)len, 0, w->scratch, on_match,
                &v) != HS_SUCCESS)
        w->errors++;
}
