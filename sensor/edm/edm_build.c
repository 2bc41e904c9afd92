/*
 * edm_build.c - building an EDM index from customer CSV files.
 *
 * Pipeline: CSV bytes -> records (a push parser, so a file is read in
 * blocks and an in-memory buffer takes the same path) -> header mapping ->
 * per cell: trim, validate, normalise, keyed hash -> entries -> sort,
 * deduplicate -> serialise (edm_format.h) -> checksum -> atomic write.
 *
 * CSV (RFC 4180, with the leniencies real exports need):
 *   - a record ends at LF or CRLF outside quotes; a lone CR in an unquoted
 *     field is data; blank lines are skipped (not rows);
 *   - a field starting with '"' (after optional spaces) is quoted: it ends
 *     at a '"' not followed by another '"'; "" is one quote; commas, CR and
 *     LF inside are data; spaces may follow the closing quote;
 *   - a '"' inside an unquoted field is data (5'11" exports exist);
 *   - anything else after a closing quote, or a quote still open at the end
 *     of the input, makes the row malformed (rows_malformed);
 *   - a record over max_line bytes (quoted newlines included) is dropped
 *     and the parser resynchronises at the next LF without regard to quotes,
 *     so one stray quote costs at most max_line bytes of input, not the rest
 *     of the file (rows_too_long); so is a row with a field over max_field;
 *   - the first record is the header and is required; a UTF-8 byte order
 *     mark before it is skipped; a row whose field count differs from the
 *     header's is dropped (rows_bad_fields).
 * Memory is bounded by max_line (one record buffer) plus 24 bytes per kept
 * value (max_entries; twice that while sorting, and the serialised index
 * once more at the end) plus the canaries' labels.
 *
 * Cells are validated and normalised with the sensor's own functions
 * (validate.h) and the pairs the sensor's signatures use for each kind, so
 * that a value found on the wire and the same value in the CSV hash alike.
 * A site kind (any other name) is validated by nothing and normalised by
 * nothing unless its column names the normaliser its signature uses.
 * Cells are trimmed of spaces and tabs first (the wire picker never starts
 * or ends a value with one). A cell that fails is counted per kind and
 * forgotten; no value is ever printed or kept in clear beyond the stack
 * buffer that hashes it, which is wiped.
 *
 * Records are numbered by data row over all files in the order added
 * (rejected rows keep their number, so a record is the 0-based data row of
 * the concatenated input). The same (kind, value) in two rows keeps the
 * first row (duplicates). Canary rows get a label from the label column,
 * or "row N" (N the 1-based data row in its file; "canaries row N" for a
 * file added as all-canaries); labels are made printable (control bytes
 * become '?') and cut to LW_EDM_LABEL_MAX - 1 bytes on a UTF-8 boundary.
 */
#include "leakwatch/edm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "leakwatch/types.h"
#include "leakwatch/validate.h"

#include "edm_format.h"

#define MAX_FIELDS 4096 /* fields per record */

/* ---- CSV push parser ------------------------------------------------------ */

enum csv_state {
    CSV_FIELD_START, /* at the start of a field, leading spaces skipped */
    CSV_UNQUOTED,
    CSV_QUOTED,
    CSV_QUOTE_SEEN,  /* a '"' inside a quoted field: closing, or the first of "" */
    CSV_AFTER_QUOTE, /* after a closing quote: only spaces, ',' or the end */
    CSV_SKIP_LINE,   /* a record too long: discard up to the next LF */
};

typedef struct csv {
    size_t max_line, max_field;
    enum csv_state state;
    bool cr_pending;  /* a CR outside quotes, not yet known to be a line end */
    bool at_start;    /* nothing read yet (byte order mark check) */
    size_t bom;       /* bytes of a byte order mark matched so far */
    uint8_t *buf;     /* the record's field bytes, back to back (max_line) */
    size_t len;       /* bytes in buf */
    uint32_t *fstart; /* field i is buf[fstart[i], fstart[i+1] or len) */
    size_t nfields;
    size_t raw; /* input bytes of this record so far */
    bool malformed, too_long, nonempty;
    uint64_t line;     /* physical line of the next byte, 1-based */
    uint64_t rec_line; /* line the current record started on */
} csv;

typedef int (*csv_row_fn)(void *ctx, csv *c);

static void csv_reset_record(csv *c)
{
    c->state = CSV_FIELD_START;
    c->len = 0;
    c->nfields = 1;
    c->fstart[0] = 0;
    c->raw = 0;
    c->malformed = c->too_long = c->nonempty = false;
    c->rec_line = c->line;
}

static size_t csv_field_len(const csv *c, size_t i)
{
    size_t end = i + 1 < c->nfields ? c->fstart[i + 1] : c->len;
    return end - c->fstart[i];
}

static void csv_put(csv *c, uint8_t b)
{
    /* raw counts every input byte, and len <= raw <= max_line here, so buf
     * (max_line bytes) cannot overflow. */
    if (csv_field_len(c, c->nfields - 1) >= c->max_field) {
        c->too_long = true;
        return;
    }
    c->buf[c->len++] = b;
}

static void csv_next_field(csv *c)
{
    if (c->nfields >= MAX_FIELDS) {
        c->too_long = true;
        return; /* further fields run into the last one; the row is dropped */
    }
    c->fstart[c->nfields++] = (uint32_t)c->len;
}

static int csv_end_record(csv *c, csv_row_fn fn, void *ctx)
{
    int rc = 0;

    /* Only the end of the input ends a record inside quotes (a quoted LF is
     * data); CSV_QUOTE_SEEN there is a proper closing quote. */
    if (c->state == CSV_QUOTED)
        c->malformed = true;
    if (c->nonempty || c->nfields > 1 || c->too_long || c->malformed)
        rc = fn(ctx, c);
    csv_reset_record(c);
    return rc;
}

/* One byte outside the lone-CR logic. Returns the callback's result. */
static int csv_byte(csv *c, uint8_t b, csv_row_fn fn, void *ctx)
{
    if (c->state == CSV_SKIP_LINE) {
        if (b == '\n') {
            c->line++;
            c->state = CSV_FIELD_START;
            return csv_end_record(c, fn, ctx);
        }
        return 0;
    }
    if (++c->raw > c->max_line) {
        c->too_long = true;
        c->state = CSV_SKIP_LINE;
        return csv_byte(c, b, fn, ctx); /* this byte may be the LF */
    }
    if (b == '\n')
        c->line++;
    switch (c->state) {
    case CSV_FIELD_START:
        if (b == ' ' || b == '\t')
            return 0; /* a line of blanks is a blank line */
        if (b == '"') {
            c->nonempty = true;
            c->state = CSV_QUOTED;
            return 0;
        }
        /* fall through */
    case CSV_UNQUOTED:
        if (b == ',') {
            csv_next_field(c);
            c->state = CSV_FIELD_START;
        } else if (b == '\n') {
            return csv_end_record(c, fn, ctx);
        } else if (b == '\r') {
            c->cr_pending = true;
        } else {
            c->nonempty = true;
            c->state = CSV_UNQUOTED;
            csv_put(c, b);
        }
        return 0;
    case CSV_QUOTED:
        if (b == '"')
            c->state = CSV_QUOTE_SEEN;
        else
            csv_put(c, b);
        return 0;
    case CSV_QUOTE_SEEN:
        if (b == '"') {
            csv_put(c, '"');
            c->state = CSV_QUOTED;
            return 0;
        }
        c->state = CSV_AFTER_QUOTE;
        /* fall through */
    case CSV_AFTER_QUOTE:
        if (b == ',') {
            csv_next_field(c);
            c->state = CSV_FIELD_START;
        } else if (b == '\n') {
            return csv_end_record(c, fn, ctx);
        } else if (b == '\r') {
            c->cr_pending = true;
        } else if (b != ' ' && b != '\t') {
            /* Text after a closing quote: keep reading the record as
             * unquoted so it ends where a reader would end it. */
            c->malformed = true;
            c->state = CSV_UNQUOTED;
        }
        return 0;
    case CSV_SKIP_LINE:
        break;
    }
    return 0;
}

static int csv_feed(csv *c, const uint8_t *p, size_t n, csv_row_fn fn, void *ctx)
{
    static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};

    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        int rc;

        if (c->at_start) {
            /* Hold back a possible byte order mark; replay it if it was not one. */
            if (b == bom[c->bom]) {
                if (++c->bom == sizeof(bom))
                    c->at_start = false;
                continue;
            }
            c->at_start = false;
            for (size_t j = 0; j < c->bom; j++) {
                rc = csv_byte(c, bom[j], fn, ctx);
                if (rc != 0)
                    return rc;
            }
        }
        if (c->cr_pending) {
            c->cr_pending = false;
            if (b != '\n') {
                /* A lone CR: data in an unquoted field, an error after a
                 * closing quote. */
                if (c->state == CSV_AFTER_QUOTE) {
                    c->malformed = true;
                    c->state = CSV_UNQUOTED;
                } else {
                    c->state = CSV_UNQUOTED;
                    c->nonempty = true;
                    csv_put(c, '\r');
                }
            }
        }
        rc = csv_byte(c, b, fn, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int csv_finish(csv *c, csv_row_fn fn, void *ctx)
{
    static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};

    c->cr_pending = false; /* a final CR ends the last record */
    if (c->at_start) {
        /* The input was a prefix of a byte order mark: it was data. */
        c->at_start = false;
        for (size_t j = 0; j < c->bom; j++) {
            int rc = csv_byte(c, bom[j], fn, ctx);
            if (rc != 0)
                return rc;
        }
    }
    if (c->state == CSV_SKIP_LINE) {
        c->state = CSV_FIELD_START;
        return csv_end_record(c, fn, ctx);
    }
    return csv_end_record(c, fn, ctx);
}

/* ---- the builder ---------------------------------------------------------- */

typedef struct bent {
    uint64_t hi, lo; /* the hash as two big-endian halves: sorts as memcmp */
    uint32_t record;
    uint8_t kind, flags;
} bent;

typedef struct blabel {
    uint32_t record, off, len;
} blabel;

typedef struct kind_def {
    const char *name;
    lw_validator v;
    lw_normaliser n;
} kind_def;

/* The pairs the sensor's shipped signatures use for each built-in kind. */
static const kind_def builtin_kinds[] = {
    {"email", LW_VALIDATOR_EMAIL, LW_NORM_LOWER},       {"phone", LW_VALIDATOR_PHONE, LW_NORM_E164},
    {"credit_card", LW_VALIDATOR_CARD, LW_NORM_DIGITS}, {"ssn", LW_VALIDATOR_SSN, LW_NORM_DIGITS},
    {"iban", LW_VALIDATOR_IBAN, LW_NORM_ALNUM_UPPER},
};

struct lw_edm_builder {
    uint8_t key[LW_EDM_KEY_BYTES];
    size_t max_entries;
    lw_edm_column *cols;
    int col_norm[LW_EDM_MAX_COLUMNS]; /* a normaliser named for a column, or -1 */
    size_t ncols;
    char *canary_col, *label_col;

    size_t nkinds;
    char kinds[LW_EDM_MAX_KINDS][LW_EDM_KIND_MAX];
    lw_validator val[LW_EDM_MAX_KINDS];
    lw_normaliser norm[LW_EDM_MAX_KINDS];

    bent *ents;
    size_t nents, ecap;
    blabel *labels;
    size_t nlabels, lcap;
    char *text;
    size_t tlen, tcap;

    lw_edm_build_report rep;
    bool finished;
    csv csv;

    /* The file being added. */
    const char *name;
    bool file_canaries;
    bool have_header;
    size_t header_fields;
    uint64_t file_rows;
    size_t nmap;
    size_t map_idx[LW_EDM_MAX_COLUMNS];
    uint8_t map_kind[LW_EDM_MAX_COLUMNS];
    long canary_idx, label_idx;
    char *err;
    size_t errlen;
    int fatal; /* an LW_ERR_* a row callback hit (cap, memory) */
};

__attribute__((format(printf, 4, 5))) static int bfail(char *err, size_t errlen, int rc,
                                                       const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static void trim(const uint8_t **p, size_t *n)
{
    while (*n > 0 && is_space((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*p)[*n - 1]))
        (*n)--;
}

static bool eq_nocase(const uint8_t *a, size_t an, const char *b)
{
    size_t bn = strlen(b);

    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower((char)a[i]) != lower(b[i]))
            return false;
    return true;
}

/* True when tok is one of the words of s (split at non-alphanumerics). */
static bool has_token(const char *s, const char *tok)
{
    size_t tn = strlen(tok);

    for (const char *p = s; (p = strstr(p, tok)) != NULL; p++) {
        bool left = p == s || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
        char r = p[tn];
        bool right = !((r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'));
        if (left && right)
            return true;
    }
    return false;
}

const char *lw_edm_detect_kind(const char *header)
{
    char s[128];
    size_t n = 0;

    if (header == NULL)
        return NULL;
    for (; header[n] != '\0' && n < sizeof(s) - 1; n++)
        s[n] = lower(header[n]);
    s[n] = '\0';
    /* Short words only as whole words: "pan" is in "company", "tel" in
     * "hotel", "cell" in "cancellation", "ssn" in "classname". */
    if (strstr(s, "mail") != NULL) /* email, e-mail, mail */
        return "email";
    if (strstr(s, "phone") != NULL || strstr(s, "mobile") != NULL || has_token(s, "tel") ||
        has_token(s, "cell"))
        return "phone";
    if (strstr(s, "card") != NULL || strstr(s, "cc_number") != NULL || has_token(s, "pan"))
        return "credit_card";
    if (has_token(s, "ssn") || strstr(s, "social") != NULL)
        return "ssn";
    if (strstr(s, "iban") != NULL)
        return "iban";
    return NULL;
}

static bool builtin_kind(const char *kind)
{
    for (size_t i = 0; i < sizeof(builtin_kinds) / sizeof(builtin_kinds[0]); i++)
        if (strcmp(builtin_kinds[i].name, kind) == 0)
            return true;
    return false;
}

static int kind_index(lw_edm_builder *b, const char *kind, char *err, size_t errlen)
{
    size_t k;

    for (k = 0; k < b->nkinds; k++)
        if (strcmp(b->kinds[k], kind) == 0)
            return (int)k;
    if (b->nkinds == LW_EDM_MAX_KINDS)
        return bfail(err, errlen, LW_ERR_CAP, "more than %d kinds", LW_EDM_MAX_KINDS);
    snprintf(b->kinds[k], sizeof(b->kinds[k]), "%s", kind);
    b->val[k] = LW_VALIDATOR_NONE;
    b->norm[k] = LW_NORM_NONE;
    for (size_t i = 0; i < sizeof(builtin_kinds) / sizeof(builtin_kinds[0]); i++)
        if (strcmp(builtin_kinds[i].name, kind) == 0) {
            b->val[k] = builtin_kinds[i].v;
            b->norm[k] = builtin_kinds[i].n;
        }
    b->nkinds++;
    b->rep.kinds = b->nkinds;
    memcpy(b->rep.kind_names[k], b->kinds[k], LW_EDM_KIND_MAX);
    return (int)k;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

int lw_edm_builder_new(const uint8_t key[LW_EDM_KEY_BYTES], const lw_edm_build_opts *opts,
                       lw_edm_builder **out, char *err, size_t errlen)
{
    lw_edm_build_opts none = {0};
    lw_edm_builder *b;
    size_t max_line, max_field;

    *out = NULL;
    if (opts == NULL)
        opts = &none;
    if (sodium_init() < 0)
        return bfail(err, errlen, LW_ERR_IO, "libsodium failed to initialise");
    max_line = opts->max_line ? opts->max_line : LW_EDM_DEF_MAX_LINE;
    max_field = opts->max_field ? opts->max_field : LW_EDM_DEF_MAX_FIELD;
    if (max_line > UINT32_MAX)
        return bfail(err, errlen, LW_ERR_INVAL, "max_line over 4 GiB");
    if (opts->ncolumns > LW_EDM_MAX_COLUMNS)
        return bfail(err, errlen, LW_ERR_INVAL, "more than %d columns", LW_EDM_MAX_COLUMNS);
    for (size_t i = 0; i < opts->ncolumns; i++) {
        const char *h = opts->columns[i].header, *k = opts->columns[i].kind;
        if (h == NULL || h[0] == '\0')
            return bfail(err, errlen, LW_ERR_INVAL, "column %zu: empty header name", i + 1);
        if (k == NULL || !lw_edmf_kind_ok(k, strlen(k)))
            return bfail(err, errlen, LW_ERR_INVAL,
                         "column '%s': type must be 1..31 of [a-z0-9_.-]", h);
        if (opts->columns[i].normaliser != NULL) {
            if (builtin_kind(k))
                return bfail(err, errlen, LW_ERR_INVAL,
                             "column '%s': %s is normalised as the sensor does; a normaliser "
                             "is for site kinds",
                             h, k);
            if (lw_normaliser_from_name(opts->columns[i].normaliser) < 0)
                return bfail(err, errlen, LW_ERR_INVAL, "column '%s': unknown normaliser '%s'", h,
                             opts->columns[i].normaliser);
        }
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return bfail(err, errlen, LW_ERR_NOMEM, "out of memory");
    memcpy(b->key, key, LW_EDM_KEY_BYTES);
    b->max_entries = opts->max_entries ? opts->max_entries : LW_EDM_DEF_MAX_ENTRIES;
    b->csv.max_line = max_line;
    b->csv.max_field = max_field;
    b->csv.buf = malloc(max_line);
    b->csv.fstart = malloc(MAX_FIELDS * sizeof(uint32_t));
    if (opts->ncolumns > 0)
        b->cols = calloc(opts->ncolumns, sizeof(*b->cols));
    if (b->csv.buf == NULL || b->csv.fstart == NULL || (opts->ncolumns > 0 && b->cols == NULL))
        goto nomem;
    for (size_t i = 0; i < opts->ncolumns; i++) {
        b->cols[i].header = dup_str(opts->columns[i].header);
        b->cols[i].kind = dup_str(opts->columns[i].kind);
        b->col_norm[i] = opts->columns[i].normaliser != NULL
                             ? lw_normaliser_from_name(opts->columns[i].normaliser)
                             : -1;
        b->ncols++;
        if (b->cols[i].header == NULL || b->cols[i].kind == NULL)
            goto nomem;
    }
    if (opts->canary_column != NULL && (b->canary_col = dup_str(opts->canary_column)) == NULL)
        goto nomem;
    if (opts->label_column != NULL && (b->label_col = dup_str(opts->label_column)) == NULL)
        goto nomem;
    *out = b;
    return LW_OK;
nomem:
    lw_edm_builder_free(b);
    return bfail(err, errlen, LW_ERR_NOMEM, "out of memory");
}

void lw_edm_builder_free(lw_edm_builder *b)
{
    if (b == NULL)
        return;
    sodium_memzero(b->key, sizeof(b->key));
    for (size_t i = 0; i < b->ncols; i++) {
        free((void *)b->cols[i].header);
        free((void *)b->cols[i].kind);
    }
    free(b->cols);
    free(b->canary_col);
    free(b->label_col);
    free(b->ents);
    free(b->labels);
    free(b->text);
    if (b->csv.buf != NULL)
        sodium_memzero(b->csv.buf, b->csv.max_line); /* it held clear values */
    free(b->csv.buf);
    free(b->csv.fstart);
    free(b);
}

void lw_edm_builder_report(const lw_edm_builder *b, lw_edm_build_report *rep)
{
    *rep = b->rep;
}

/* ---- rows ----------------------------------------------------------------- */

static long find_header(const csv *c, const char *name)
{
    for (size_t i = 0; i < c->nfields; i++) {
        const uint8_t *p = c->buf + c->fstart[i];
        size_t n = csv_field_len(c, i);
        trim(&p, &n);
        if (eq_nocase(p, n, name))
            return (long)i;
    }
    return -1;
}

static int add_map(lw_edm_builder *b, size_t idx, const char *kind, int norm, const char *header,
                   size_t hlen)
{
    size_t before = b->nkinds;
    int k;

    if (b->nmap == LW_EDM_MAX_COLUMNS)
        return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: more than %d PII columns", b->name,
                     (unsigned long long)b->csv.rec_line, LW_EDM_MAX_COLUMNS);
    k = kind_index(b, kind, NULL, 0);
    if (k < 0)
        return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: more than %d kinds", b->name,
                     (unsigned long long)b->csv.rec_line, LW_EDM_MAX_KINDS);
    if (norm >= 0) {
        /* Only site kinds get here (checked in lw_edm_builder_new). */
        if (b->nkinds > before)
            b->norm[k] = (lw_normaliser)norm;
        else if (b->norm[k] != (lw_normaliser)norm)
            return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: kind '%s' normalised two ways",
                         b->name, (unsigned long long)b->csv.rec_line, kind);
    }
    b->map_idx[b->nmap] = idx;
    b->map_kind[b->nmap] = (uint8_t)k;
    snprintf(b->rep.columns[b->nmap].header, sizeof(b->rep.columns[b->nmap].header), "%.*s",
             (int)(hlen < 63 ? hlen : 63), header);
    snprintf(b->rep.columns[b->nmap].kind, sizeof(b->rep.columns[b->nmap].kind), "%s", kind);
    b->nmap++;
    b->rep.mapped = b->nmap;
    return LW_OK;
}

static int header_row(lw_edm_builder *b, csv *c)
{
    unsigned long long line = (unsigned long long)c->rec_line;
    int rc;

    if (c->malformed || c->too_long)
        return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: header row is %s", b->name, line,
                     c->too_long ? "too long" : "malformed");
    b->header_fields = c->nfields;
    b->nmap = 0;
    b->rep.mapped = 0;
    if (b->ncols > 0) {
        for (size_t i = 0; i < b->ncols; i++) {
            long idx = find_header(c, b->cols[i].header);
            if (idx < 0)
                return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: no column '%s'", b->name,
                             line, b->cols[i].header);
            rc = add_map(b, (size_t)idx, b->cols[i].kind, b->col_norm[i], b->cols[i].header,
                         strlen(b->cols[i].header));
            if (rc != LW_OK)
                return rc;
        }
    } else {
        for (size_t i = 0; i < c->nfields; i++) {
            const uint8_t *p = c->buf + c->fstart[i];
            size_t n = csv_field_len(c, i);
            char h[128];
            const char *kind;
            trim(&p, &n);
            snprintf(h, sizeof(h), "%.*s", (int)(n < sizeof(h) - 1 ? n : sizeof(h) - 1),
                     (const char *)p);
            if (strlen(h) != n && n < sizeof(h) - 1)
                continue; /* a NUL inside a header name: not a column we know */
            kind = lw_edm_detect_kind(h);
            if (kind == NULL)
                continue;
            rc = add_map(b, i, kind, -1, h, strlen(h));
            if (rc != LW_OK)
                return rc;
        }
        if (b->nmap == 0)
            return bfail(b->err, b->errlen, LW_ERR_PARSE,
                         "%s:%llu: no column looks like email, phone, card, ssn or iban "
                         "(name them with --column HEADER=TYPE)",
                         b->name, line);
    }
    b->canary_idx = b->label_idx = -1;
    if (b->canary_col != NULL && (b->canary_idx = find_header(c, b->canary_col)) < 0)
        return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: no canary column '%s'", b->name,
                     line, b->canary_col);
    if (b->label_col != NULL && (b->label_idx = find_header(c, b->label_col)) < 0)
        return bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:%llu: no label column '%s'", b->name,
                     line, b->label_col);
    b->have_header = true;
    return LW_OK;
}

static bool truthy(const uint8_t *p, size_t n)
{
    static const char *const yes[] = {"1", "yes", "true", "y", "x"};

    trim(&p, &n);
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (eq_nocase(p, n, yes[i]))
            return true;
    return false;
}

static int add_label(lw_edm_builder *b, uint32_t record, const uint8_t *p, size_t n)
{
    char def[64];

    trim(&p, &n);
    if (n == 0) {
        snprintf(def, sizeof(def), "%srow %llu", b->file_canaries ? "canaries " : "",
                 (unsigned long long)b->file_rows);
        p = (const uint8_t *)def;
        n = strlen(def);
    }
    if (n > LW_EDM_LABEL_MAX - 1) {
        n = LW_EDM_LABEL_MAX - 1;
        while (n > 0 && (p[n] & 0xc0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
    }
    if (b->nlabels == b->lcap) {
        size_t nc = b->lcap ? 2 * b->lcap : 64;
        blabel *nl = realloc(b->labels, nc * sizeof(*nl));
        if (nl == NULL)
            return LW_ERR_NOMEM;
        b->labels = nl;
        b->lcap = nc;
    }
    if (b->tlen + n + 1 > UINT32_MAX)
        return LW_ERR_CAP;
    if (b->tlen + n + 1 > b->tcap) {
        size_t nc = b->tcap ? 2 * b->tcap : 4096;
        char *nt;
        while (nc < b->tlen + n + 1)
            nc *= 2;
        nt = realloc(b->text, nc);
        if (nt == NULL)
            return LW_ERR_NOMEM;
        b->text = nt;
        b->tcap = nc;
    }
    for (size_t i = 0; i < n; i++)
        b->text[b->tlen + i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
    b->text[b->tlen + n] = '\0';
    b->labels[b->nlabels++] = (blabel){record, (uint32_t)b->tlen, (uint32_t)n};
    b->tlen += n + 1;
    return LW_OK;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int add_value(lw_edm_builder *b, uint8_t k, const uint8_t *p, size_t n, uint32_t record,
                     bool canary)
{
    char norm[LW_PII_VALUE_MAX];
    uint8_t h[LW_EDM_HASH_BYTES];
    size_t nl;

    trim(&p, &n);
    if (n == 0)
        return LW_OK;
    if (n >= LW_PII_VALUE_MAX || !lw_validate(b->val[k], p, n) ||
        (nl = lw_normalise(b->norm[k], p, n, norm, sizeof(norm))) == 0) {
        b->rep.rejected[k]++;
        return LW_OK;
    }
    lw_edm_hash(b->key, b->kinds[k], norm, nl, h);
    sodium_memzero(norm, sizeof(norm));
    if (b->nents == b->ecap) {
        size_t nc = b->ecap ? 2 * b->ecap : 1024;
        bent *ne;
        if (nc > b->max_entries)
            nc = b->max_entries;
        if (b->nents >= nc)
            return LW_ERR_CAP;
        ne = realloc(b->ents, nc * sizeof(*ne));
        if (ne == NULL)
            return LW_ERR_NOMEM;
        b->ents = ne;
        b->ecap = nc;
    }
    b->ents[b->nents++] = (bent){be64(h), be64(h + 8), record, k, canary ? LW_EDMF_CANARY : 0};
    b->rep.values[k]++;
    return LW_OK;
}

static void reject(lw_edm_builder *b, const csv *c, uint64_t *counter)
{
    (*counter)++;
    if (b->rep.first_rejected_line == 0) {
        b->rep.first_rejected_line = c->rec_line;
        snprintf(b->rep.first_rejected_file, sizeof(b->rep.first_rejected_file), "%s", b->name);
    }
}

static int row_cb(void *ctx, csv *c)
{
    lw_edm_builder *b = ctx;
    uint32_t record;
    bool canary;
    int rc;

    if (!b->have_header)
        return header_row(b, c);
    if (b->rep.rows > UINT32_MAX) {
        b->fatal = LW_ERR_CAP;
        return bfail(b->err, b->errlen, LW_ERR_CAP, "%s:%llu: more than %u rows", b->name,
                     (unsigned long long)c->rec_line, UINT32_MAX);
    }
    record = (uint32_t)b->rep.rows++;
    b->rep.records = b->rep.rows;
    b->file_rows++;
    if (c->too_long) {
        reject(b, c, &b->rep.rows_too_long);
        return 0;
    }
    if (c->malformed) {
        reject(b, c, &b->rep.rows_malformed);
        return 0;
    }
    if (c->nfields != b->header_fields) {
        reject(b, c, &b->rep.rows_bad_fields);
        return 0;
    }
    canary = b->file_canaries;
    if (!canary && b->canary_idx >= 0)
        canary = truthy(c->buf + c->fstart[b->canary_idx], csv_field_len(c, (size_t)b->canary_idx));
    for (size_t m = 0; m < b->nmap; m++) {
        size_t i = b->map_idx[m];
        rc = add_value(b, b->map_kind[m], c->buf + c->fstart[i], csv_field_len(c, i), record,
                       canary);
        if (rc != LW_OK)
            goto fatal;
    }
    if (canary) {
        const uint8_t *lp = (const uint8_t *)"";
        size_t ln = 0;
        if (b->label_idx >= 0) {
            lp = c->buf + c->fstart[b->label_idx];
            ln = csv_field_len(c, (size_t)b->label_idx);
        }
        rc = add_label(b, record, lp, ln);
        if (rc != LW_OK)
            goto fatal;
        b->rep.canaries++;
    }
    return 0;
fatal:
    b->fatal = rc;
    if (rc == LW_ERR_CAP)
        return bfail(b->err, b->errlen, rc, "%s:%llu: more than %zu values (max_entries)", b->name,
                     (unsigned long long)c->rec_line, b->max_entries);
    return bfail(b->err, b->errlen, rc, "%s:%llu: %s", b->name, (unsigned long long)c->rec_line,
                 lw_strerror(rc));
}

static void begin_file(lw_edm_builder *b, const char *name, bool canaries, char *err, size_t errlen)
{
    b->name = name;
    b->file_canaries = canaries;
    b->have_header = false;
    b->file_rows = 0;
    b->err = err;
    b->errlen = errlen;
    b->fatal = 0;
    b->csv.line = 1;
    b->csv.at_start = true;
    b->csv.bom = 0;
    b->csv.cr_pending = false;
    csv_reset_record(&b->csv);
}

static int end_file(lw_edm_builder *b, int rc)
{
    if (rc == 0)
        rc = csv_finish(&b->csv, row_cb, b);
    if (rc == 0 && !b->have_header)
        rc = bfail(b->err, b->errlen, LW_ERR_PARSE, "%s:1: no header row", b->name);
    sodium_memzero(b->csv.buf, b->csv.max_line);
    b->err = NULL;
    return rc < 0 ? rc : (rc == 0 ? LW_OK : LW_ERR_PARSE);
}

int lw_edm_builder_add_csv(lw_edm_builder *b, const char *name, const uint8_t *data, size_t len,
                           bool canaries, char *err, size_t errlen)
{
    if (b->finished)
        return bfail(err, errlen, LW_ERR_INVAL, "%s: builder already finished", name);
    begin_file(b, name, canaries, err, errlen);
    return end_file(b, csv_feed(&b->csv, data, len, row_cb, b));
}

int lw_edm_builder_add_file(lw_edm_builder *b, const char *path, bool canaries, char *err,
                            size_t errlen)
{
    bool read_failed = false;
    uint8_t *blk;
    int rc = 0;
    int fd;

    if (b->finished)
        return bfail(err, errlen, LW_ERR_INVAL, "%s: builder already finished", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bfail(err, errlen, LW_ERR_IO, "%s: %s", path, strerror(errno));
    blk = malloc(1 << 20);
    if (blk == NULL) {
        close(fd);
        return bfail(err, errlen, LW_ERR_NOMEM, "%s: out of memory", path);
    }
    begin_file(b, path, canaries, err, errlen);
    for (;;) {
        ssize_t n = read(fd, blk, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", path, strerror(errno));
            read_failed = true;
            break;
        }
        if (n == 0)
            break;
        rc = csv_feed(&b->csv, blk, (size_t)n, row_cb, b);
        if (rc != 0)
            break;
    }
    sodium_memzero(blk, 1 << 20);
    free(blk);
    close(fd);
    if (read_failed) {
        sodium_memzero(b->csv.buf, b->csv.max_line);
        return rc;
    }
    return end_file(b, rc);
}

/* ---- finishing ------------------------------------------------------------ */

static int bent_cmp(const void *pa, const void *pb)
{
    const bent *a = pa, *b = pb;

    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->record != b->record)
        return a->record < b->record ? -1 : 1;
    return 0;
}

/*
 * Sorts by hash with one pass of a most-significant-byte radix split on the
 * top 16 bits (the hashes are uniform, so buckets hold entries/65536 each)
 * followed by qsort inside each bucket: about twice as fast as one qsort
 * over millions of entries.
 */
static int sort_entries(bent *v, size_t n)
{
    enum { BUCKETS = 1 << 16 };
    size_t *cnt;
    bent *tmp;

    if (n < 2)
        return LW_OK; /* nothing to sort (and v may be NULL) */
    if (n < 4096) {
        qsort(v, n, sizeof(*v), bent_cmp);
        return LW_OK;
    }
    cnt = calloc(BUCKETS + 1, sizeof(*cnt));
    tmp = malloc(n * sizeof(*tmp));
    if (cnt == NULL || tmp == NULL) {
        free(cnt);
        free(tmp);
        qsort(v, n, sizeof(*v), bent_cmp); /* no memory for the fast path */
        return LW_OK;
    }
    for (size_t i = 0; i < n; i++)
        cnt[(v[i].hi >> 48) + 1]++;
    for (size_t i = 1; i <= BUCKETS; i++)
        cnt[i] += cnt[i - 1];
    for (size_t i = 0; i < n; i++)
        tmp[cnt[v[i].hi >> 48]++] = v[i];
    /* cnt[b] is now the end of bucket b, which is the start of bucket b + 1. */
    for (size_t bk = 0, start = 0; bk < BUCKETS; bk++) {
        size_t end = cnt[bk];
        if (end - start > 1)
            qsort(tmp + start, end - start, sizeof(*tmp), bent_cmp);
        start = end;
    }
    memcpy(v, tmp, n * sizeof(*v));
    free(tmp);
    free(cnt);
    return LW_OK;
}

/* Keeps the first row of each (hash, kind); counts the other rows' copies. */
static size_t dedupe(lw_edm_builder *b)
{
    size_t w = 0;

    for (size_t i = 0; i < b->nents; i++) {
        if (w > 0 && b->ents[w - 1].hi == b->ents[i].hi && b->ents[w - 1].lo == b->ents[i].lo &&
            b->ents[w - 1].kind == b->ents[i].kind) {
            if (b->ents[w - 1].record != b->ents[i].record)
                b->rep.duplicates++;
            continue;
        }
        b->ents[w++] = b->ents[i];
    }
    return w;
}

int lw_edm_builder_finish(lw_edm_builder *b, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    uint64_t eoff = LW_EDMF_HEADER_SIZE, loff, llen, size;
    uint8_t *d, *p;
    int rc;

    *data = NULL;
    *len = 0;
    if (b->finished)
        return bfail(err, errlen, LW_ERR_INVAL, "builder already finished");
    b->finished = true;
    rc = sort_entries(b->ents, b->nents);
    if (rc != LW_OK)
        return bfail(err, errlen, rc, "%s", lw_strerror(rc));
    b->nents = dedupe(b);
    b->rep.entries = b->nents;
    loff = eoff + (uint64_t)b->nents * LW_EDMF_ENTRY_SIZE;
    llen = 8 + (uint64_t)b->nlabels * LW_EDMF_LABEL_REC_SIZE + b->tlen;
    size = loff + llen;
    if (size > SIZE_MAX)
        return bfail(err, errlen, LW_ERR_CAP, "index too large");
    d = calloc(1, (size_t)size);
    if (d == NULL)
        return bfail(err, errlen, LW_ERR_NOMEM, "out of memory (%llu bytes)",
                     (unsigned long long)size);

    memcpy(d, LW_EDMF_MAGIC, LW_EDMF_MAGIC_LEN);
    lw_edmf_put32(d + LW_EDMF_OFF_VERSION, LW_EDM_VERSION);
    lw_edmf_put32(d + LW_EDMF_OFF_HEADER_SIZE, LW_EDMF_HEADER_SIZE);
    lw_edmf_put64(d + LW_EDMF_OFF_FILE_SIZE, size);
    lw_edmf_put64(d + LW_EDMF_OFF_RECORDS, b->rep.records);
    lw_edmf_put64(d + LW_EDMF_OFF_ENTRIES, b->nents);
    lw_edmf_put64(d + LW_EDMF_OFF_CANARIES, b->nlabels);
    lw_edmf_put64(d + LW_EDMF_OFF_ENTRIES_OFF, eoff);
    lw_edmf_put64(d + LW_EDMF_OFF_LABELS_OFF, loff);
    lw_edmf_put64(d + LW_EDMF_OFF_LABELS_LEN, llen);
    lw_edmf_put32(d + LW_EDMF_OFF_KINDS, (uint32_t)b->nkinds);
    lw_edmf_key_check(b->key, d + LW_EDMF_OFF_KEY_CHECK);
    for (size_t k = 0; k < b->nkinds; k++)
        memcpy(d + LW_EDMF_OFF_KIND_NAMES + k * LW_EDM_KIND_MAX, b->kinds[k], strlen(b->kinds[k]));

    p = d + eoff;
    for (size_t i = 0; i < b->nents; i++, p += LW_EDMF_ENTRY_SIZE) {
        const bent *e = &b->ents[i];
        for (int j = 0; j < 8; j++) {
            p[j] = (uint8_t)(e->hi >> (56 - 8 * j));
            p[8 + j] = (uint8_t)(e->lo >> (56 - 8 * j));
        }
        lw_edmf_put32(p + 16, e->record);
        p[20] = e->kind;
        p[21] = e->flags;
    }
    lw_edmf_put32(p, (uint32_t)b->nlabels);
    p += 8;
    for (size_t i = 0; i < b->nlabels; i++, p += LW_EDMF_LABEL_REC_SIZE) {
        lw_edmf_put32(p, b->labels[i].record);
        lw_edmf_put32(p + 4, b->labels[i].off);
        lw_edmf_put32(p + 8, b->labels[i].len);
    }
    if (b->tlen > 0)
        memcpy(p, b->text, b->tlen);
    lw_edmf_checksum(d, (size_t)size, d + LW_EDMF_OFF_CHECKSUM);
    *data = d;
    *len = (size_t)size;
    return LW_OK;
}

int lw_edm_write_file(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    size_t off = 0;
    int fd, rc = LW_OK;

    if (tmp == NULL)
        return bfail(err, errlen, LW_ERR_NOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", tmp,
                       w < 0 ? strerror(errno) : "short write");
            break;
        }
        off += (size_t)w;
    }
    /* The index holds no clear value; readable like any config file. */
    if (rc == LW_OK && fchmod(fd, 0644) != 0)
        rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (rc == LW_OK && fsync(fd) != 0)
        rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == LW_OK)
        rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (rc == LW_OK && rename(tmp, path) != 0)
        rc = bfail(err, errlen, LW_ERR_IO, "%s: %s", path, strerror(errno));
    if (rc != LW_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}
