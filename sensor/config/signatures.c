/*
 * signatures.c - loads and checks the PII signature file.
 *
 * The file is one mapping with one key, `signatures:`, holding a list of
 * entries (see signatures/pii.yaml for a commented example). Each entry is a
 * mapping of these fields:
 *   id          required, 1..4294967295, unique in the file
 *   name        required, printable, at most LW_SIG_NAME_MAX bytes
 *   type        required, the kind of value: [a-z0-9_]+ (built-in kinds are
 *               email, phone, credit_card, ssn, iban; any other is a site's)
 *   regex       required, Hyperscan syntax (compiled by the match stage)
 *   validator   required, none|email|phone|credit_card|ssn|iban|luhn
 *   normaliser  required, none|lower|upper|digits|e164|alnum_upper
 *   charset     bytes a value may contain; default from the validator,
 *               required with validator none
 *   boundary    bytes that may not follow a value; default from the
 *               validator, else "A-Za-z0-9"
 *   max_len     1..LW_PII_VALUE_MAX-1; default from the validator,
 *               required with validator none
 *   severity    1..4, default 2
 *   prefilter   optional mapping: count (digits|alnum_upper), min (1..64),
 *               joiners (bytes), gap (1..4, with joiners), lead (bytes): a
 *               promise about every match (lw_sig_prefilter in
 *               signatures.h); the match stage then scans only runs of
 *               text that could hold a match
 * Every error names the file, the line and the signature ("signature 1003",
 * or "signature #3" for the third entry when its id is missing or bad).
 *
 * Charset and boundary are bracket-expression bodies. The match stage pastes
 * the boundary into "(?:[^BOUNDARY]|\z)", so lw_charset_parse accepts only a
 * syntax that means the same to it and to Hyperscan's PCRE-style classes:
 * printable ASCII, ranges "a-z" (not reversed), escapes of punctuation
 * ("\\", "\-", "\]", "\^", ...), '-' unescaped only first or last, no
 * unescaped '[' or ']', no unescaped '^' first. Escapes like "\d" or "\x41"
 * are refused rather than half-understood.
 *
 * One cheap sanity check stands in for what cannot be proven without the
 * regex: the boundary must share a byte with the charset, since a value's
 * last byte must be in both. (A boundary can never cover every byte, so
 * [^BOUNDARY] always has members: the syntax admits printable ASCII only.)
 */
#include "leakwatch/signatures.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_util.h"

#define LW_SIG_NAME_MAX  128
#define LW_SIG_KIND_MAX  32
#define LW_SIG_REGEX_MAX 8192
#define MSG_MAX          384

/* ------------------------------------------------------------- charsets */

static void map_set(uint8_t map[32], unsigned b)
{
    map[b >> 3] |= (uint8_t)(1u << (b & 7));
}

/*
 * Reads one member of a bracket body at *i: a printable byte or an escaped
 * punctuation byte. Returns the byte, or -1 on a syntax error.
 */
static int read_atom(const char *s, size_t n, size_t *i)
{
    unsigned char b = (unsigned char)s[*i];

    if (b < 0x20 || b >= 0x7f)
        return -1;
    if (b == '\\') {
        if (*i + 1 >= n)
            return -1; /* dangling backslash */
        b = (unsigned char)s[*i + 1];
        /* Only punctuation: "\d", "\x41", "\n" mean other things to PCRE. */
        if (b < 0x21 || b >= 0x7f || (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
            (b >= 'a' && b <= 'z'))
            return -1;
        *i += 2;
        return b;
    }
    if (b == ']' || b == '[')
        return -1;
    if (b == '^' && *i == 0)
        return -1;
    if (b == '-' && *i != 0 && *i != n - 1)
        return -1;
    (*i)++;
    return b;
}

int lw_charset_parse(const char *body, uint8_t map[32])
{
    size_t n = strlen(body), i = 0;

    memset(map, 0, 32);
    if (n == 0)
        return LW_ERR_PARSE;
    while (i < n) {
        int lo = read_atom(body, n, &i), hi;

        if (lo < 0)
            goto fail;
        /* A '-' followed by something is a range; a last '-' is literal. */
        if (i + 1 < n && body[i] == '-') {
            i++;
            hi = read_atom(body, n, &i);
            if (hi < 0 || hi < lo)
                goto fail;
        } else {
            hi = lo;
        }
        for (int b = lo; b <= hi; b++)
            map_set(map, (unsigned)b);
    }
    return 0;
fail:
    memset(map, 0, 32);
    return LW_ERR_PARSE;
}

/* ---------------------------------------------------------------- fields */

enum field {
    F_ID,
    F_NAME,
    F_TYPE,
    F_REGEX,
    F_VALIDATOR,
    F_NORMALISER,
    F_CHARSET,
    F_BOUNDARY,
    F_MAX_LEN,
    F_SEVERITY,
    F_PREFILTER,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    [F_ID] = "id",
    [F_NAME] = "name",
    [F_TYPE] = "type",
    [F_REGEX] = "regex",
    [F_VALIDATOR] = "validator",
    [F_NORMALISER] = "normaliser",
    [F_CHARSET] = "charset",
    [F_BOUNDARY] = "boundary",
    [F_MAX_LEN] = "max_len",
    [F_SEVERITY] = "severity",
    [F_PREFILTER] = "prefilter",
};

static const bool field_required[F_COUNT] = {
    [F_ID] = true,    [F_NAME] = true,      [F_TYPE] = true,
    [F_REGEX] = true, [F_VALIDATOR] = true, [F_NORMALISER] = true,
};

/* What a built-in validator implies when the entry does not say. */
static const struct {
    const char *charset;  /* NULL: the entry must give one */
    const char *boundary; /* NULL: DEFAULT_BOUNDARY */
    uint16_t max_len;     /* 0: the entry must give one */
} vdefaults[LW_VALIDATOR_MAX] = {
    [LW_VALIDATOR_NONE] = {NULL, NULL, 0},
    [LW_VALIDATOR_EMAIL] = {"A-Za-z0-9._%+@-", "A-Za-z0-9._%+@-", 254},
    [LW_VALIDATOR_PHONE] = {"0-9 ().+-", NULL, 24},
    [LW_VALIDATOR_CARD] = {"0-9 -", NULL, 23},
    [LW_VALIDATOR_SSN] = {"0-9-", NULL, 11},
    [LW_VALIDATOR_IBAN] = {"A-Za-z0-9 ", NULL, 42},
    [LW_VALIDATOR_LUHN] = {"0-9 -", NULL, 32},
};

#define DEFAULT_BOUNDARY "A-Za-z0-9"

struct ctx {
    const char *name;
    char *err;
    size_t errlen;
    lw_signature_set *set;
    char label[32]; /* "signature 1003" or "signature #3" */
};

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *x, int line, const char *f, ...)
{
    char msg[MSG_MAX];
    va_list ap;

    va_start(ap, f);
    vsnprintf(msg, sizeof(msg), f, ap);
    va_end(ap);
    if (x->err != NULL && x->errlen > 0)
        snprintf(x->err, x->errlen, "%s:%d: %s: %s", x->name, line, x->label, msg);
    return LW_ERR_PARSE;
}

__attribute__((format(printf, 3, 4))) static int fail_top(struct ctx *x, int line, const char *f,
                                                          ...)
{
    char msg[MSG_MAX];
    va_list ap;

    va_start(ap, f);
    vsnprintf(msg, sizeof(msg), f, ap);
    va_end(ap);
    if (x->err != NULL && x->errlen > 0)
        snprintf(x->err, x->errlen, "%s:%d: %s", x->name, line, msg);
    return LW_ERR_PARSE;
}

/* The scalar text of field f, or NULL after writing an error. */
static const char *scalar(struct ctx *x, const lw_ynode *v, enum field f, int *rc)
{
    if (v->type != LW_YNODE_SCALAR || lw_yaml_is_null(v)) {
        *rc = fail(x, v->line, "field '%s': expected a single value, got %s", field_names[f],
                   lw_yaml_kind(v));
        return NULL;
    }
    return v->str;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *v)
{
    size_t i;

    *v = 0;
    if (s[0] == '\0' || strlen(s) > 10)
        return false;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    }
    return *v <= max;
}

static bool valid_kind_name(const char *s)
{
    size_t i;

    if (s[0] == '\0' || strlen(s) >= LW_SIG_KIND_MAX)
        return false;
    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static int kind_index(struct ctx *x, const char *kind, int line, uint16_t *out)
{
    lw_signature_set *set = x->set;
    size_t i;

    for (i = 0; i < set->kind_count; i++) {
        if (strcmp(set->kinds[i], kind) == 0) {
            *out = (uint16_t)i;
            return 0;
        }
    }
    if (set->kind_count == LW_SIG_MAX_KINDS)
        return fail(x, line, "too many kinds (max %d)", LW_SIG_MAX_KINDS);
    set->kinds[set->kind_count] = dup_str(kind);
    if (set->kinds[set->kind_count] == NULL)
        return fail(x, line, "out of memory");
    *out = (uint16_t)set->kind_count++;
    return 0;
}

/* Whether byte c is in the prefilter's counted class. */
static bool counted(uint8_t cls, unsigned char c)
{
    bool digit = c >= '0' && c <= '9';
    return cls == LW_SIG_COUNT_DIGITS ? digit : digit || (c >= 'A' && c <= 'Z');
}

/* Reads a joiners or lead byte list: 1..LW_SIG_JOINERS_MAX distinct
 * printable ASCII bytes, none counted. */
static int parse_byte_list(struct ctx *x, const lw_ynode *val, const char *field, uint8_t cls,
                           char *out, uint8_t *n)
{
    char q[80];
    size_t len = strlen(val->str);
    bool ok = len >= 1 && len <= LW_SIG_JOINERS_MAX;
    for (size_t k = 0; ok && k < len; k++) {
        unsigned char c = (unsigned char)val->str[k];
        ok = c >= 0x20 && c < 0x7f && !counted(cls, c) && memchr(val->str, c, k) == NULL;
    }
    if (!ok) {
        lw_yaml_quote(q, sizeof(q), val->str);
        return fail(x, val->line,
                    "field 'prefilter': %s '%s' is not 1..%d distinct printable bytes outside "
                    "the counted class",
                    field, q, LW_SIG_JOINERS_MAX);
    }
    memcpy(out, val->str, len + 1);
    *n = (uint8_t)len;
    return 0;
}

/*
 * Reads the optional `prefilter:` mapping: count, min, joiners, gap, lead
 * (see lw_sig_prefilter). count and min are required; gap is required with
 * joiners and refused without them.
 */
static int parse_prefilter(struct ctx *x, const lw_ynode *v, lw_sig_prefilter *pf)
{
    static const char *const keys[] = {"count", "min", "joiners", "gap", "lead"};
    const lw_ynode *f[5] = {NULL};
    char q[80];
    uint64_t n;

    if (v->type != LW_YNODE_MAP || v->nkids == 0)
        return fail(x, v->line,
                    "field 'prefilter': expected a mapping of count, min, joiners, gap, lead");
    for (size_t i = 0; i + 1 < v->nkids; i += 2) {
        const lw_ynode *key = v->kids[i], *val = v->kids[i + 1];
        size_t k = 0;
        while (k < 5 && strcmp(key->str, keys[k]) != 0)
            k++;
        if (k == 5) {
            lw_yaml_quote(q, sizeof(q), key->str);
            return fail(x, key->line,
                        "field 'prefilter': unknown key '%s' (count, min, joiners, gap, lead)", q);
        }
        if (f[k])
            return fail(x, key->line, "field 'prefilter': duplicate key '%s'", keys[k]);
        if (val->type != LW_YNODE_SCALAR || lw_yaml_is_null(val))
            return fail(x, val->line, "field 'prefilter': '%s' expects a single value", keys[k]);
        f[k] = val;
    }
    if (!f[0] || !f[1])
        return fail(x, v->line, "field 'prefilter': count and min are required");
    if (strcmp(f[0]->str, "digits") == 0) {
        pf->count = LW_SIG_COUNT_DIGITS;
    } else if (strcmp(f[0]->str, "alnum_upper") == 0) {
        pf->count = LW_SIG_COUNT_ALNUM_UPPER;
    } else {
        lw_yaml_quote(q, sizeof(q), f[0]->str);
        return fail(x, f[0]->line, "field 'prefilter': count '%s' is not digits or alnum_upper", q);
    }
    if (!parse_uint(f[1]->str, LW_SIG_RUN_MIN_MAX, &n) || n == 0) {
        lw_yaml_quote(q, sizeof(q), f[1]->str);
        return fail(x, f[1]->line, "field 'prefilter': min '%s' is not in 1..%d", q,
                    LW_SIG_RUN_MIN_MAX);
    }
    pf->min = (uint8_t)n;
    int rc;
    if (f[2] &&
        (rc = parse_byte_list(x, f[2], "joiners", pf->count, pf->joiners, &pf->njoiners)) != 0)
        return rc;
    if (f[2] && !f[3])
        return fail(x, f[2]->line, "field 'prefilter': joiners need a gap (1..%d)", LW_SIG_GAP_MAX);
    if (f[3]) {
        if (!f[2])
            return fail(x, f[3]->line, "field 'prefilter': gap without joiners");
        if (!parse_uint(f[3]->str, LW_SIG_GAP_MAX, &n) || n == 0) {
            lw_yaml_quote(q, sizeof(q), f[3]->str);
            return fail(x, f[3]->line, "field 'prefilter': gap '%s' is not in 1..%d", q,
                        LW_SIG_GAP_MAX);
        }
        pf->gap = (uint8_t)n;
    }
    if (f[4]) {
        if ((rc = parse_byte_list(x, f[4], "lead", pf->count, pf->lead, &pf->nlead)) != 0)
            return rc;
        for (size_t k = 0; k < pf->nlead; k++)
            if (memchr(pf->joiners, pf->lead[k], pf->njoiners))
                return fail(x, f[4]->line, "field 'prefilter': a lead byte is also a joiner");
    }
    pf->set = true;
    return 0;
}

/* Fills sig from one entry of the list. sig is zeroed and already counted in
 * the set, so whatever it owns is freed with the set on error. */
static int parse_entry(struct ctx *x, const lw_ynode *e, size_t index, lw_signature *sig)
{
    const lw_ynode *fv[F_COUNT] = {0};
    const char *unknown = NULL, *dup = NULL;
    int unknown_line = 0, dup_line = 0, rc = 0;
    const char *s, *charset, *boundary;
    uint64_t v;
    size_t i, f;
    char q[80];

    snprintf(x->label, sizeof(x->label), "signature #%zu", index + 1);
    sig->line = e->line;
    if (e->type != LW_YNODE_MAP)
        return fail(x, e->line, "expected a mapping of fields, got %s", lw_yaml_kind(e));
    for (i = 0; i + 1 < e->nkids; i += 2) {
        const lw_ynode *k = e->kids[i];
        for (f = 0; f < F_COUNT; f++)
            if (strcmp(k->str, field_names[f]) == 0)
                break;
        if (f == F_COUNT) {
            if (unknown == NULL) {
                unknown = k->str;
                unknown_line = k->line;
            }
        } else if (fv[f] != NULL) {
            if (dup == NULL) {
                dup = k->str;
                dup_line = k->line;
            }
        } else {
            fv[f] = e->kids[i + 1];
        }
    }
    /* The id first, so every later message can name the signature. */
    if (fv[F_ID] != NULL) {
        s = scalar(x, fv[F_ID], F_ID, &rc);
        if (s == NULL)
            return rc;
        if (!parse_uint(s, UINT32_MAX, &v) || v == 0) {
            lw_yaml_quote(q, sizeof(q), s);
            return fail(x, fv[F_ID]->line, "field 'id': '%s' is not a positive integer", q);
        }
        sig->id = (uint32_t)v;
        snprintf(x->label, sizeof(x->label), "signature %u", sig->id);
    }
    if (unknown != NULL) {
        lw_yaml_quote(q, sizeof(q), unknown);
        return fail(x, unknown_line, "unknown field '%s'", q);
    }
    if (dup != NULL)
        return fail(x, dup_line, "duplicate field '%s'", dup);
    for (f = 0; f < F_COUNT; f++)
        if (field_required[f] && fv[f] == NULL)
            return fail(x, e->line, "missing required field '%s'", field_names[f]);
    for (i = 0; i < (size_t)(sig - x->set->sigs); i++)
        if (x->set->sigs[i].id == sig->id)
            return fail(x, fv[F_ID]->line, "duplicate id (first at line %d)", x->set->sigs[i].line);

    /* name */
    if ((s = scalar(x, fv[F_NAME], F_NAME, &rc)) == NULL)
        return rc;
    if (strlen(s) > LW_SIG_NAME_MAX || !printable(s))
        return fail(x, fv[F_NAME]->line, "field 'name': must be 1..%d printable characters",
                    LW_SIG_NAME_MAX);
    if ((sig->name = dup_str(s)) == NULL)
        return fail(x, e->line, "out of memory");

    /* type */
    if ((s = scalar(x, fv[F_TYPE], F_TYPE, &rc)) == NULL)
        return rc;
    if (!valid_kind_name(s)) {
        lw_yaml_quote(q, sizeof(q), s);
        return fail(x, fv[F_TYPE]->line,
                    "field 'type': '%s' is not a kind name ([a-z0-9_]+, at most %d bytes)", q,
                    LW_SIG_KIND_MAX - 1);
    }
    if ((rc = kind_index(x, s, fv[F_TYPE]->line, &sig->kind)) != 0)
        return rc;

    /* regex */
    if ((s = scalar(x, fv[F_REGEX], F_REGEX, &rc)) == NULL)
        return rc;
    if (strlen(s) > LW_SIG_REGEX_MAX)
        return fail(x, fv[F_REGEX]->line, "field 'regex': longer than %d bytes", LW_SIG_REGEX_MAX);
    if ((sig->regex = dup_str(s)) == NULL)
        return fail(x, e->line, "out of memory");

    /* validator, normaliser */
    if ((s = scalar(x, fv[F_VALIDATOR], F_VALIDATOR, &rc)) == NULL)
        return rc;
    int vi = lw_validator_from_name(s);
    if (vi < 0 || vi >= LW_VALIDATOR_MAX) {
        lw_yaml_quote(q, sizeof(q), s);
        return fail(x, fv[F_VALIDATOR]->line,
                    "field 'validator': unknown validator '%s' (none, email, phone, "
                    "credit_card, ssn, iban, luhn)",
                    q);
    }
    sig->validator = (lw_validator)vi;
    if ((s = scalar(x, fv[F_NORMALISER], F_NORMALISER, &rc)) == NULL)
        return rc;
    int ni = lw_normaliser_from_name(s);
    if (ni < 0 || ni >= LW_NORM_MAX) {
        lw_yaml_quote(q, sizeof(q), s);
        return fail(x, fv[F_NORMALISER]->line,
                    "field 'normaliser': unknown normaliser '%s' (none, lower, upper, digits, "
                    "e164, alnum_upper)",
                    q);
    }
    sig->normaliser = (lw_normaliser)ni;

    /* charset */
    charset = vdefaults[vi].charset;
    if (fv[F_CHARSET] != NULL && (charset = scalar(x, fv[F_CHARSET], F_CHARSET, &rc)) == NULL)
        return rc;
    if (charset == NULL)
        return fail(x, e->line, "missing field 'charset' (required with validator none)");
    if (lw_charset_parse(charset, sig->charset_map) != 0) {
        lw_yaml_quote(q, sizeof(q), charset);
        return fail(x, fv[F_CHARSET] ? fv[F_CHARSET]->line : e->line,
                    "field 'charset': '%s' is not a bracket-expression body (ranges a-z, "
                    "escapes \\\\ \\- \\] \\^, '-' only first or last)",
                    q);
    }

    /* boundary */
    boundary = vdefaults[vi].boundary ? vdefaults[vi].boundary : DEFAULT_BOUNDARY;
    if (fv[F_BOUNDARY] != NULL && (boundary = scalar(x, fv[F_BOUNDARY], F_BOUNDARY, &rc)) == NULL)
        return rc;
    int bline = fv[F_BOUNDARY] ? fv[F_BOUNDARY]->line : e->line;
    if (lw_charset_parse(boundary, sig->boundary_map) != 0) {
        lw_yaml_quote(q, sizeof(q), boundary);
        return fail(x, bline,
                    "field 'boundary': '%s' is not a bracket-expression body (ranges a-z, "
                    "escapes \\\\ \\- \\] \\^, '-' only first or last)",
                    q);
    }
    bool shared = false;
    for (i = 0; i < 32; i++)
        shared = shared || (sig->charset_map[i] & sig->boundary_map[i]) != 0;
    if (!shared)
        return fail(x, bline,
                    "field 'boundary': shares no byte with the charset, but a value's last "
                    "byte must be in both");
    if ((sig->boundary = dup_str(boundary)) == NULL)
        return fail(x, e->line, "out of memory");

    /* max_len */
    sig->max_len = vdefaults[vi].max_len;
    if (fv[F_MAX_LEN] != NULL) {
        if ((s = scalar(x, fv[F_MAX_LEN], F_MAX_LEN, &rc)) == NULL)
            return rc;
        if (!parse_uint(s, LW_PII_VALUE_MAX - 1, &v) || v == 0) {
            lw_yaml_quote(q, sizeof(q), s);
            return fail(x, fv[F_MAX_LEN]->line, "field 'max_len': '%s' is not in 1..%d", q,
                        LW_PII_VALUE_MAX - 1);
        }
        sig->max_len = (uint16_t)v;
    }
    if (sig->max_len == 0)
        return fail(x, e->line, "missing field 'max_len' (required with validator none)");

    /* severity */
    sig->severity = 2;
    if (fv[F_SEVERITY] != NULL) {
        if ((s = scalar(x, fv[F_SEVERITY], F_SEVERITY, &rc)) == NULL)
            return rc;
        if (!parse_uint(s, 4, &v) || v == 0) {
            lw_yaml_quote(q, sizeof(q), s);
            return fail(x, fv[F_SEVERITY]->line, "field 'severity': '%s' is not in 1..4", q);
        }
        sig->severity = (uint8_t)v;
    }

    /* prefilter */
    if (fv[F_PREFILTER] != NULL && (rc = parse_prefilter(x, fv[F_PREFILTER], &sig->prefilter)) != 0)
        return rc;
    return 0;
}

void lw_signatures_free(lw_signature_set *set)
{
    size_t i;

    if (set == NULL)
        return;
    for (i = 0; i < set->count; i++) {
        free(set->sigs[i].name);
        free(set->sigs[i].regex);
        free(set->sigs[i].boundary);
    }
    for (i = 0; i < set->kind_count; i++)
        free(set->kinds[i]);
    free(set->sigs);
    free(set);
}

int lw_signatures_parse(const char *name, const char *text, size_t len, lw_signature_set **out,
                        char *err, size_t errlen)
{
    struct ctx x = {.name = name, .err = err, .errlen = errlen};
    const lw_ynode *list = NULL;
    lw_ynode *root = NULL;
    size_t i, n;
    int rc;

    *out = NULL;
    rc = lw_yaml_parse(name, text, len, &root, err, errlen);
    if (rc != 0)
        return rc;
    if (root == NULL || lw_yaml_is_null(root)) {
        rc = fail_top(&x, 1, "no signatures (expected a list under 'signatures:')");
        goto out;
    }
    if (root->type != LW_YNODE_MAP) {
        rc = fail_top(&x, root->line, "expected a mapping with the key 'signatures', got %s",
                      lw_yaml_kind(root));
        goto out;
    }
    for (i = 0; i + 1 < root->nkids; i += 2) {
        char q[80];
        lw_yaml_quote(q, sizeof(q), root->kids[i]->str);
        if (strcmp(root->kids[i]->str, "signatures") != 0) {
            rc = fail_top(&x, root->kids[i]->line, "unknown key '%s'", q);
            goto out;
        }
        if (list != NULL) {
            rc = fail_top(&x, root->kids[i]->line, "duplicate key 'signatures'");
            goto out;
        }
        list = root->kids[i + 1];
    }
    if (list == NULL || lw_yaml_is_null(list) || list->type != LW_YNODE_SEQ) {
        rc = fail_top(&x, list ? list->line : root->line,
                      "'signatures' must be a list of signatures, got %s",
                      list ? lw_yaml_kind(list) : "nothing");
        goto out;
    }
    if (list->nkids == 0) {
        rc = fail_top(&x, list->line, "the signature list is empty");
        goto out;
    }
    x.set = calloc(1, sizeof(*x.set));
    n = list->nkids < LW_SIG_MAX_SIGNATURES ? list->nkids : LW_SIG_MAX_SIGNATURES;
    if (x.set == NULL || (x.set->sigs = calloc(n, sizeof(lw_signature))) == NULL) {
        (void)fail_top(&x, 1, "out of memory");
        rc = LW_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < list->nkids; i++) {
        if (i == LW_SIG_MAX_SIGNATURES) {
            snprintf(x.label, sizeof(x.label), "signature #%zu", i + 1);
            rc = fail(&x, list->kids[i]->line, "too many signatures (max %d)",
                      LW_SIG_MAX_SIGNATURES);
            goto out;
        }
        lw_signature *sig = &x.set->sigs[x.set->count++];
        rc = parse_entry(&x, list->kids[i], i, sig);
        if (rc != 0)
            goto out;
    }
    *out = x.set;
    x.set = NULL;
out:
    lw_signatures_free(x.set);
    lw_yaml_free(root);
    return rc;
}

int lw_signatures_load(const char *path, lw_signature_set **out, char *err, size_t errlen)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    rc = lw_yaml_read_file(path, &text, &len, err, errlen);
    if (rc != 0)
        return rc;
    rc = lw_signatures_parse(path, text, len, out, err, errlen);
    free(text);
    return rc;
}
