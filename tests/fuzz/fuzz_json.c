/*
 * fuzz_json.c - libFuzzer harness for the JSON line writer.
 *
 * The input is a program for the writer. Byte 0 picks a small buffer size;
 * then each op byte selects a call (begin/end object or array, key, string,
 * uint, int, bool, null, kv shorthands) and string ops take a length byte and
 * that many bytes of arbitrary content as key or value.
 *
 * Four properties are checked, each by code independent of json.c:
 *
 *  1. Any line the writer finishes is one line of strict JSON (RFC 8259, in
 *     the compact form the writer promises: no whitespace) and valid UTF-8
 *     (RFC 3629, checked by decoding to code points), ends in exactly one
 *     '\n', contains no raw U+2028/U+2029, and its length is what
 *     lw_json_finish returned.
 *  2. Misuse is detected exactly: a model of the JSON grammar replays the
 *     ops; the writer must succeed precisely when the model says the ops form
 *     one complete value within LW_JSON_MAX_DEPTH.
 *  3. All or nothing: the legal subset of the ops, closed properly, is run
 *     with room to spare and with the small buffer; the small one yields the
 *     same line or 0, and it yields 0 only when the line did not fit.
 *  4. Strings round-trip: each string, written alone and decoded by the
 *     validator, equals its input with each byte that does not start a
 *     well-formed UTF-8 sequence replaced by U+FFFD.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/json.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- independent UTF-8 decoder ------------------------------------------ */

/*
 * Decodes one code point at s[0..n). Returns its length, or 0 if s[0] does
 * not start a well-formed sequence: the value is assembled first and then
 * range-checked (shortest form, no surrogates, at most U+10FFFF).
 */
static size_t decode_cp(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return len;
}

static size_t encode_cp(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static bool valid_utf8_line(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = decode_cp(s + i, n - i, &cp);
        if (l == 0 || cp == 0x2028 || cp == 0x2029) {
            return false;
        }
        i += l;
    }
    return true;
}

/* ---- strict compact JSON validator -------------------------------------- */

struct parser {
    const uint8_t *p, *end;
    uint8_t *dec; /* when set, the decoded bytes of a top-level string */
    size_t dec_len, dec_cap;
};

static bool parse_value(struct parser *ps, int depth);

static bool take(struct parser *ps, uint8_t c)
{
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool parse_hex4(struct parser *ps, uint32_t *v)
{
    if (ps->end - ps->p < 4) {
        return false;
    }
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) {
            return false;
        }
        *v = (*v << 4) | (uint32_t)h;
    }
    ps->p += 4;
    return true;
}

static void emit(struct parser *ps, uint32_t cp)
{
    if (ps->dec != NULL) {
        CHECK(ps->dec_len + 4 <= ps->dec_cap);
        ps->dec_len += encode_cp(cp, ps->dec + ps->dec_len);
    }
}

static bool parse_string(struct parser *ps)
{
    if (!take(ps, '"')) {
        return false;
    }
    while (ps->p < ps->end) {
        uint8_t c = *ps->p;
        if (c == '"') {
            ps->p++;
            return true;
        }
        if (c < 0x20) {
            return false;
        }
        if (c != '\\') {
            uint32_t cp;
            size_t l = decode_cp(ps->p, (size_t)(ps->end - ps->p), &cp);
            if (l == 0) {
                return false;
            }
            emit(ps, cp);
            ps->p += l;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) {
            return false;
        }
        uint8_t e = *ps->p++;
        uint32_t cp;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            cp = e;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (!parse_hex4(ps, &cp)) {
                return false;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (!take(ps, '\\') || !take(ps, 'u') || !parse_hex4(ps, &lo) || lo < 0xdc00 ||
                    lo > 0xdfff) {
                    return false;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return false; /* lone low surrogate */
            }
            break;
        default:
            return false;
        }
        emit(ps, cp);
    }
    return false;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool parse_number(struct parser *ps)
{
    take(ps, '-');
    if (take(ps, '0')) {
        /* no leading zeros */
    } else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9') {
        while (ps->p < ps->end && is_digit(*ps->p)) {
            ps->p++;
        }
    } else {
        return false;
    }
    if (take(ps, '.')) {
        if (ps->p >= ps->end || !is_digit(*ps->p)) {
            return false;
        }
        while (ps->p < ps->end && is_digit(*ps->p)) {
            ps->p++;
        }
    }
    if (take(ps, 'e') || take(ps, 'E')) {
        if (!take(ps, '+')) {
            take(ps, '-');
        }
        if (ps->p >= ps->end || !is_digit(*ps->p)) {
            return false;
        }
        while (ps->p < ps->end && is_digit(*ps->p)) {
            ps->p++;
        }
    }
    return true;
}

static bool take_word(struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0) {
        return false;
    }
    ps->p += n;
    return true;
}

static bool parse_container(struct parser *ps, int depth, bool object)
{
    uint8_t close = object ? '}' : ']';
    if (depth > LW_JSON_MAX_DEPTH) {
        return false; /* the writer promises no deeper nesting */
    }
    if (take(ps, close)) {
        return true;
    }
    for (;;) {
        if (object) {
            if (!parse_string(ps) || !take(ps, ':')) {
                return false;
            }
        }
        if (!parse_value(ps, depth)) {
            return false;
        }
        if (take(ps, close)) {
            return true;
        }
        if (!take(ps, ',')) {
            return false;
        }
    }
}

static bool parse_value(struct parser *ps, int depth)
{
    if (ps->p >= ps->end) {
        return false;
    }
    uint8_t *dec = ps->dec;
    switch (*ps->p) {
    case '{':
        ps->p++;
        ps->dec = NULL; /* decode only a top-level string */
        bool ok_o = parse_container(ps, depth + 1, true);
        ps->dec = dec;
        return ok_o;
    case '[':
        ps->p++;
        ps->dec = NULL;
        bool ok_a = parse_container(ps, depth + 1, false);
        ps->dec = dec;
        return ok_a;
    case '"':
        return parse_string(ps);
    case 't':
        return take_word(ps, "true");
    case 'f':
        return take_word(ps, "false");
    case 'n':
        return take_word(ps, "null");
    default:
        return parse_number(ps);
    }
}

/* Checks property 1 for a finished line of n bytes. */
static void check_line(const char *buf, size_t n, uint8_t *dec, size_t dec_cap, size_t *dec_len)
{
    const uint8_t *s = (const uint8_t *)buf;
    CHECK(n >= 2);
    CHECK(strlen(buf) == n);
    CHECK(s[n - 1] == '\n');
    CHECK(memchr(s, '\n', n - 1) == NULL);
    CHECK(valid_utf8_line(s, n - 1));
    struct parser ps = {.p = s, .end = s + n - 1, .dec = dec, .dec_cap = dec_cap};
    CHECK(parse_value(&ps, 0));
    CHECK(ps.p == ps.end);
    if (dec_len != NULL) {
        *dec_len = ps.dec_len;
    }
}

/* ---- the op program and its grammar model ------------------------------- */

enum {
    OP_OBJ_BEGIN,
    OP_OBJ_END,
    OP_ARR_BEGIN,
    OP_ARR_END,
    OP_KEY,
    OP_STRING,
    OP_UINT,
    OP_INT,
    OP_BOOL,
    OP_NULL,
    OP_KV_STRING,
    OP_KV_UINT,
    OP_COUNT
};

struct op {
    int kind;
    const char *s1, *s2; /* key / string bytes */
    size_t n1, n2;
    uint64_t num;
};

struct reader {
    const uint8_t *p, *end;
};

static const char *read_str(struct reader *r, size_t *n)
{
    size_t want = r->p < r->end ? *r->p++ : 0;
    size_t have = (size_t)(r->end - r->p);
    *n = want < have ? want : have;
    const char *s = (const char *)r->p;
    r->p += *n;
    return s;
}

static bool read_op(struct reader *r, struct op *op)
{
    if (r->p >= r->end) {
        return false;
    }
    memset(op, 0, sizeof(*op));
    op->kind = *r->p++ % OP_COUNT;
    switch (op->kind) {
    case OP_KEY:
    case OP_STRING:
        op->s1 = read_str(r, &op->n1);
        break;
    case OP_KV_STRING:
        op->s1 = read_str(r, &op->n1);
        op->s2 = read_str(r, &op->n2);
        break;
    case OP_UINT:
    case OP_INT:
    case OP_BOOL:
    case OP_KV_UINT:
        for (int i = 0; i < 8 && r->p < r->end; i++) {
            op->num = (op->num << 8) | *r->p++;
        }
        if (op->kind == OP_KV_UINT) {
            op->s1 = read_str(r, &op->n1);
        }
        break;
    default:
        break;
    }
    return true;
}

/* What a correct writer must accept: one value, keys only before object
 * values, balanced ends, depth within LW_JSON_MAX_DEPTH. */
struct model {
    int depth;
    bool is_obj[LW_JSON_MAX_DEPTH + 1];
    bool have_key;
    bool top_done;
    bool bad;
};

static bool model_value_ok(const struct model *m)
{
    if (m->depth == 0) {
        return !m->top_done;
    }
    return m->is_obj[m->depth] ? m->have_key : true;
}

static void model_value(struct model *m)
{
    if (m->depth == 0) {
        m->top_done = true;
    }
    m->have_key = false;
}

static bool model_key_ok(const struct model *m, bool key_is_null)
{
    return !key_is_null && m->depth > 0 && m->is_obj[m->depth] && !m->have_key;
}

/* Keys given to the writer must be NUL-terminated: copy into a scratch
 * buffer and cut at the first NUL (the op's length is then what is seen). */
static const char *cstr(char *scratch, const char *s, size_t n)
{
    memcpy(scratch, s, n);
    scratch[n] = '\0';
    return scratch;
}

/*
 * Applies op to the writer. With `legal_only`, ops the model rejects are
 * skipped (and the model stays valid); otherwise they are applied and mark
 * the model bad. Returns whether the op was applied.
 */
static bool apply(lw_json *j, struct model *m, const struct op *op, bool legal_only)
{
    char k1[300], k2[300];
    bool ok;

    switch (op->kind) {
    case OP_OBJ_BEGIN:
    case OP_ARR_BEGIN:
        ok = model_value_ok(m) && m->depth < LW_JSON_MAX_DEPTH;
        break;
    case OP_OBJ_END:
    case OP_ARR_END:
        ok = m->depth > 0 && m->is_obj[m->depth] == (op->kind == OP_OBJ_END) && !m->have_key;
        break;
    case OP_KEY:
        ok = model_key_ok(m, false);
        break;
    case OP_KV_STRING:
    case OP_KV_UINT:
        ok = model_key_ok(m, false); /* the key makes the value legal */
        break;
    default:
        ok = model_value_ok(m);
        break;
    }
    if (!ok) {
        if (legal_only) {
            return false;
        }
        m->bad = true;
    }

    switch (op->kind) {
    case OP_OBJ_BEGIN:
        lw_json_object_begin(j);
        break;
    case OP_ARR_BEGIN:
        lw_json_array_begin(j);
        break;
    case OP_OBJ_END:
        lw_json_object_end(j);
        break;
    case OP_ARR_END:
        lw_json_array_end(j);
        break;
    case OP_KEY:
        lw_json_key(j, cstr(k1, op->s1, op->n1));
        break;
    case OP_STRING:
        lw_json_string_len(j, op->s1, op->n1);
        break;
    case OP_UINT:
        lw_json_uint(j, op->num);
        break;
    case OP_INT:
        lw_json_int(j, (int64_t)op->num);
        break;
    case OP_BOOL:
        lw_json_bool(j, (op->num & 1) != 0);
        break;
    case OP_NULL:
        lw_json_null(j);
        break;
    case OP_KV_STRING:
        lw_json_kv_string(j, cstr(k1, op->s1, op->n1), cstr(k2, op->s2, op->n2));
        break;
    case OP_KV_UINT:
        lw_json_kv_uint(j, cstr(k1, op->s1, op->n1), op->num);
        break;
    default:
        break;
    }

    if (m->bad) {
        return true;
    }
    switch (op->kind) {
    case OP_OBJ_BEGIN:
    case OP_ARR_BEGIN:
        model_value(m);
        m->depth++;
        m->is_obj[m->depth] = op->kind == OP_OBJ_BEGIN;
        break;
    case OP_OBJ_END:
    case OP_ARR_END:
        m->depth--;
        break;
    case OP_KEY:
        m->have_key = true;
        break;
    default:
        model_value(m);
        break;
    }
    return true;
}

/* Closes whatever the legal run left open so the line is complete. */
static void close_all(lw_json *j, struct model *m)
{
    if (m->have_key) {
        lw_json_null(j);
        model_value(m);
    }
    while (m->depth > 0) {
        if (m->is_obj[m->depth]) {
            lw_json_object_end(j);
        } else {
            lw_json_array_end(j);
        }
        m->depth--;
    }
    if (!m->top_done) {
        lw_json_null(j);
        m->top_done = true;
    }
}

/* Property 4: string s alone, decoded, equals s with bad bytes -> U+FFFD. */
static void check_roundtrip(const char *s, size_t n)
{
    char buf[8 * 256 + 16];
    uint8_t dec[4 * 256 + 16], want[4 * 256 + 16];
    size_t dec_len = 0, want_len = 0;
    lw_json j;

    lw_json_init(&j, buf, sizeof(buf));
    lw_json_string_len(&j, s, n);
    size_t len = lw_json_finish(&j);
    CHECK(len > 0);
    check_line(buf, len, dec, sizeof(dec), &dec_len);

    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = decode_cp(u + i, n - i, &cp);
        if (l == 0) {
            cp = 0xfffd;
            l = 1;
        }
        want_len += encode_cp(cp, want + want_len);
        i += l;
    }
    CHECK(dec_len == want_len);
    CHECK(memcmp(dec, want, dec_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) {
        return 0;
    }
    size_t small_cap = data[0];
    struct reader prog = {data + 1, data + size};

    /* Every input byte expands to at most 6 output bytes, plus a comma or
     * colon and quotes per op; 16x is ample. */
    size_t big_cap = 16 * size + 256;
    char *big = malloc(big_cap);
    char *small = malloc(small_cap + 1);
    CHECK(big != NULL && small != NULL);

    /* Properties 1 and 2: the raw program against the model. */
    {
        lw_json j;
        struct model m = {0};
        struct reader r = prog;
        struct op op;
        lw_json_init(&j, big, big_cap);
        while (read_op(&r, &op)) {
            apply(&j, &m, &op, false);
        }
        bool expect = !m.bad && m.depth == 0 && !m.have_key && m.top_done;
        size_t n = lw_json_finish(&j);
        CHECK((n > 0) == expect);
        if (n > 0) {
            check_line(big, n, NULL, 0, NULL);
        } else {
            CHECK(big[0] == '\0');
        }
    }

    /* Properties 1, 3 and 4: the legal subset, closed, big and small. */
    {
        lw_json jb, js;
        struct model mb = {0}, ms = {0};
        struct reader r = prog;
        struct op op;
        lw_json_init(&jb, big, big_cap);
        lw_json_init(&js, small, small_cap);
        while (read_op(&r, &op)) {
            if (apply(&jb, &mb, &op, true)) {
                apply(&js, &ms, &op, true);
                if (op.kind == OP_STRING) {
                    check_roundtrip(op.s1, op.n1);
                } else if (op.kind == OP_KV_STRING) {
                    /* kv_string took a C string: it ends at a NUL. */
                    check_roundtrip(op.s2, strnlen(op.s2, op.n2));
                }
            }
        }
        close_all(&jb, &mb);
        close_all(&js, &ms);
        size_t nb = lw_json_finish(&jb);
        size_t ns = lw_json_finish(&js);
        CHECK(nb > 0);
        check_line(big, nb, NULL, 0, NULL);
        if (nb + 1 <= small_cap) {
            CHECK(ns == nb);
            CHECK(memcmp(small, big, nb + 1) == 0);
        } else {
            CHECK(ns == 0);
            CHECK(small_cap == 0 || small[0] == '\0');
        }
    }

    free(big);
    free(small);
    return 0;
}
