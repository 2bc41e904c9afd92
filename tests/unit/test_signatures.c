/*
 * test_signatures.c - the signature file loader and lw_charset_parse.
 *
 * Every error message has a test (file, line, signature label, text), the
 * per-validator defaults and the kind table are checked, and the shipped
 * signatures/pii.yaml (through LW_SOURCE_DIR) is loaded and each regex,
 * with the boundary suffix the match stage appends, is compiled by
 * Hyperscan in stream mode. Known-fake sample values (documentation numbers
 * and test cards) are scanned to check that each shipped regex ends a match
 * where the value ends; failures name the sample by index, never by value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/signatures.h"

#define ERRLEN 512

/* One complete, valid entry; tests splice fields in or out. */
#define HEAD "signatures:\n"
#define SIG_1001                                                                                   \
    "  - id: 1001\n"                                                                               \
    "    name: Card\n"                                                                             \
    "    type: credit_card\n"                                                                      \
    "    regex: '[2-6](?:[ -]?[0-9]){12,18}'\n"                                                    \
    "    validator: credit_card\n"                                                                 \
    "    normaliser: digits\n"

struct fx {
    lw_signature_set *set;
    char err[ERRLEN];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lw_signatures_free(f->set);
    free(f);
    return 0;
}

static int parse(struct fx *f, const char *text)
{
    lw_signatures_free(f->set);
    f->set = NULL;
    f->err[0] = '\0';
    return lw_signatures_parse("s.yaml", text, strlen(text), &f->set, f->err, sizeof(f->err));
}

static void expect_error(struct fx *f, const char *text, const char *msg)
{
    assert_int_not_equal(parse(f, text), 0);
    assert_null(f->set);
    assert_string_equal(f->err, msg);
}

static void expect_error_prefix(struct fx *f, const char *text, const char *prefix)
{
    assert_int_not_equal(parse(f, text), 0);
    assert_null(f->set);
    if (strncmp(f->err, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", f->err, prefix);
}

static bool has(const uint8_t map[32], int b)
{
    return lw_charset_has(map, (uint8_t)b) != 0;
}

static int popcount(const uint8_t map[32])
{
    int n = 0;
    for (int b = 0; b < 256; b++)
        n += has(map, b);
    return n;
}

/* -------------------------------------------------------------- charset */

static void test_charset_ranges(void **state)
{
    uint8_t m[32];

    (void)state;
    assert_int_equal(lw_charset_parse("A-Za-z0-9", m), 0);
    assert_int_equal(popcount(m), 62);
    assert_true(has(m, 'A') && has(m, 'z') && has(m, '0') && has(m, '9'));
    assert_false(has(m, '@') || has(m, '[') || has(m, '`') || has(m, '/') || has(m, ':'));
    assert_int_equal(lw_charset_parse("a-a", m), 0);
    assert_int_equal(popcount(m), 1);
    assert_int_equal(lw_charset_parse(" -~", m), 0); /* all printable ASCII */
    assert_int_equal(popcount(m), 95);
}

static void test_charset_literals(void **state)
{
    uint8_t m[32];

    (void)state;
    assert_int_equal(lw_charset_parse("0-9 ().+-", m), 0);
    assert_int_equal(popcount(m), 16);
    assert_true(has(m, ' ') && has(m, '(') && has(m, ')') && has(m, '.') && has(m, '+') &&
                has(m, '-'));
    assert_int_equal(lw_charset_parse("-a", m), 0); /* '-' first */
    assert_int_equal(popcount(m), 2);
    assert_true(has(m, '-'));
    assert_int_equal(lw_charset_parse("-", m), 0);
    assert_int_equal(popcount(m), 1);
    assert_int_equal(lw_charset_parse("a^", m), 0); /* '^' not first is literal */
    assert_true(has(m, '^'));
}

static void test_charset_escapes(void **state)
{
    uint8_t m[32];

    (void)state;
    assert_int_equal(lw_charset_parse("\\\\\\-\\]\\^", m), 0);
    assert_int_equal(popcount(m), 4);
    assert_true(has(m, '\\') && has(m, '-') && has(m, ']') && has(m, '^'));
    assert_int_equal(lw_charset_parse("\\[\\.", m), 0);
    assert_true(has(m, '[') && has(m, '.'));
    /* An escaped byte can end a range: '!' .. '-'. */
    assert_int_equal(lw_charset_parse("!-\\-", m), 0);
    assert_int_equal(popcount(m), '-' - '!' + 1);
}

static void test_charset_errors(void **state)
{
    static const char *const bad[] = {
        "",            /* empty */
        "z-a",         /* reversed */
        "9-0",         /* reversed */
        "ab\\",        /* dangling backslash */
        "\\",          /* only a backslash */
        "a]b",         /* unescaped ] */
        "[:alpha:]",   /* unescaped [ */
        "^a",          /* would negate */
        "a-z-0",       /* '-' in the middle, not a range */
        "a--z",        /* '-' as a range end in the middle */
        "\\d",         /* PCRE class escape */
        "\\x41",       /* PCRE hex escape */
        "\\n",         /* letter escape */
        "a\tb",        /* control byte */
        "caf\xc3\xa9", /* non-ASCII */
    };
    uint8_t m[32];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(m, 0xff, sizeof(m));
        if (lw_charset_parse(bad[i], m) != LW_ERR_PARSE)
            fail_msg("charset #%zu was accepted", i);
        assert_int_equal(popcount(m), 0); /* no half-filled map */
    }
}

/* ---------------------------------------------------------- valid files */

static void test_minimal_and_defaults(void **state)
{
    struct fx *f = *state;
    const lw_signature *s;

    assert_int_equal(parse(f, HEAD SIG_1001), 0);
    assert_non_null(f->set);
    assert_int_equal(f->set->count, 1);
    s = &f->set->sigs[0];
    assert_int_equal(s->id, 1001);
    assert_string_equal(s->name, "Card");
    assert_string_equal(s->regex, "[2-6](?:[ -]?[0-9]){12,18}");
    assert_int_equal(s->validator, LW_VALIDATOR_CARD);
    assert_int_equal(s->normaliser, LW_NORM_DIGITS);
    assert_int_equal(s->severity, 2);
    assert_int_equal(s->max_len, 23);
    assert_string_equal(s->boundary, "A-Za-z0-9");
    assert_int_equal(popcount(s->charset_map), 12); /* "0-9 -" */
    assert_int_equal(popcount(s->boundary_map), 62);
    assert_int_equal(s->line, 2);
    assert_int_equal(f->set->kind_count, 1);
    assert_string_equal(f->set->kinds[s->kind], "credit_card");
}

static void test_validator_defaults(void **state)
{
    static const struct {
        const char *validator;
        int charset_bytes;
        int boundary_bytes;
        int max_len;
    } t[] = {
        {"email", 62 + 6, 62 + 6, 254}, {"phone", 10 + 6, 62, 24},
        {"credit_card", 12, 62, 23},    {"ssn", 11, 62, 11},
        {"iban", 63, 62, 42},           {"luhn", 12, 62, 32},
    };
    struct fx *f = *state;
    char y[512];
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(y, sizeof(y),
                 HEAD "  - {id: 7, name: x, type: t, regex: 'x', validator: %s, normaliser: "
                      "none}\n",
                 t[i].validator);
        if (parse(f, y) != 0)
            fail_msg("%s: %s", t[i].validator, f->err);
        assert_int_equal(popcount(f->set->sigs[0].charset_map), t[i].charset_bytes);
        assert_int_equal(popcount(f->set->sigs[0].boundary_map), t[i].boundary_bytes);
        assert_int_equal(f->set->sigs[0].max_len, t[i].max_len);
    }
    assert_true(has(f->set->sigs[0].charset_map, '-'));
}

static void test_email_boundary_default(void **state)
{
    struct fx *f = *state;

    assert_int_equal(parse(f, HEAD "  - {id: 1, name: e, type: email, regex: 'x', validator: "
                                   "email, normaliser: lower}\n"),
                     0);
    assert_string_equal(f->set->sigs[0].boundary, "A-Za-z0-9._%+@-");
    assert_true(has(f->set->sigs[0].boundary_map, '.'));
    assert_true(has(f->set->sigs[0].boundary_map, '@'));
    assert_int_equal(f->set->sigs[0].normaliser, LW_NORM_LOWER);
}

static void test_all_fields_given(void **state)
{
    struct fx *f = *state;
    const lw_signature *s;

    assert_int_equal(parse(f, HEAD "  - id: 2001\n"
                                   "    name: \"Account number\"\n"
                                   "    type: account_number\n"
                                   "    regex: 'ACCT-[0-9]{8}'\n"
                                   "    validator: none\n"
                                   "    normaliser: upper\n"
                                   "    charset: 'A-Z0-9-'\n"
                                   "    boundary: 'A-Z0-9\\-'\n"
                                   "    max_len: 13\n"
                                   "    severity: 4\n"),
                     0);
    s = &f->set->sigs[0];
    assert_int_equal(s->id, 2001);
    assert_int_equal(s->validator, LW_VALIDATOR_NONE);
    assert_int_equal(s->normaliser, LW_NORM_UPPER);
    assert_int_equal(s->max_len, 13);
    assert_int_equal(s->severity, 4);
    assert_string_equal(s->boundary, "A-Z0-9\\-");
    assert_true(has(s->boundary_map, '-'));
    assert_false(has(s->boundary_map, 'a'));
    assert_int_equal(popcount(s->charset_map), 37);
    assert_string_equal(f->set->kinds[s->kind], "account_number");
}

static void test_kinds_in_order_of_first_use(void **state)
{
    struct fx *f = *state;

    assert_int_equal(
        parse(
            f, HEAD
            "  - {id: 1, name: a, type: phone, regex: x, validator: phone, normaliser: e164}\n"
            "  - {id: 2, name: b, type: email, regex: x, validator: email, normaliser: lower}\n"
            "  - {id: 3, name: c, type: phone, regex: x, validator: phone, normaliser: e164}\n"
            "  - {id: 4, name: d, type: site_x, regex: x, validator: luhn, normaliser: digits}\n"),
        0);
    assert_int_equal(f->set->count, 4);
    assert_int_equal(f->set->kind_count, 3);
    assert_string_equal(f->set->kinds[0], "phone");
    assert_string_equal(f->set->kinds[1], "email");
    assert_string_equal(f->set->kinds[2], "site_x");
    assert_int_equal(f->set->sigs[0].kind, 0);
    assert_int_equal(f->set->sigs[1].kind, 1);
    assert_int_equal(f->set->sigs[2].kind, 0);
    assert_int_equal(f->set->sigs[3].kind, 2);
    assert_int_equal(f->set->sigs[2].line, 4);
}

static void test_max_signatures_ok(void **state)
{
    struct fx *f = *state;
    size_t cap = 16 + 100 * (LW_SIG_MAX_SIGNATURES + 1), n, i;
    char *y = malloc(cap);

    assert_non_null(y);
    n = (size_t)snprintf(y, cap, HEAD);
    for (i = 1; i <= LW_SIG_MAX_SIGNATURES; i++)
        n += (size_t)snprintf(y + n, cap - n,
                              "  - {id: %zu, name: n, type: k, regex: x, validator: ssn, "
                              "normaliser: digits}\n",
                              i);
    assert_int_equal(parse(f, y), 0);
    assert_int_equal(f->set->count, LW_SIG_MAX_SIGNATURES);
    snprintf(y + n, cap - n,
             "  - {id: 99999, name: n, type: k, regex: x, validator: ssn, normaliser: digits}\n");
    expect_error(f, y, "s.yaml:1026: signature #1025: too many signatures (max 1024)");
    free(y);
}

/* ---------------------------------------------------------------- errors */

static void test_err_duplicate_id(void **state)
{
    expect_error(*state, HEAD SIG_1001 SIG_1001,
                 "s.yaml:8: signature 1001: duplicate id (first at line 2)");
}

static void test_err_missing_required(void **state)
{
    static const char *const fields[] = {"name", "type", "regex", "validator", "normaliser"};
    struct fx *f = *state;
    char y[512], want[128];
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        /* Drop the one line of SIG_1001 that sets this field. */
        const char *full = HEAD SIG_1001;
        char needle[32];
        snprintf(needle, sizeof(needle), "    %s:", fields[i]);
        const char *at = strstr(full, needle);
        const char *eol = strchr(at, '\n') + 1;
        snprintf(y, sizeof(y), "%.*s%s", (int)(at - full), full, eol);
        snprintf(want, sizeof(want), "s.yaml:2: signature 1001: missing required field '%s'",
                 fields[i]);
        expect_error(f, y, want);
    }
    expect_error(f, HEAD "  - name: x\n    type: t\n",
                 "s.yaml:2: signature #1: missing required field 'id'");
}

static void test_err_unknown_field(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    colour: red\n",
                 "s.yaml:8: signature 1001: unknown field 'colour'");
    /* Reported with the id even when the unknown field comes first. */
    expect_error(*state, HEAD "  - colour: red\n    id: 5\n",
                 "s.yaml:2: signature 5: unknown field 'colour'");
}

static void test_err_duplicate_field(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    name: again\n",
                 "s.yaml:8: signature 1001: duplicate field 'name'");
}

static void test_err_bad_id(void **state)
{
    expect_error(*state, HEAD "  - id: 0\n",
                 "s.yaml:2: signature #1: field 'id': '0' is not a positive integer");
    expect_error(*state, HEAD "  - id: -3\n",
                 "s.yaml:2: signature #1: field 'id': '-3' is not a positive integer");
    expect_error(*state, HEAD "  - id: 4294967296\n",
                 "s.yaml:2: signature #1: field 'id': '4294967296' is not a positive integer");
    expect_error(*state, HEAD SIG_1001 "  - id: abc\n",
                 "s.yaml:8: signature #2: field 'id': 'abc' is not a positive integer");
    expect_error(*state, HEAD "  - id: [1]\n",
                 "s.yaml:2: signature #1: field 'id': expected a single value, got a list");
}

static void test_err_bad_validator(void **state)
{
    expect_error(*state,
                 HEAD
                 "  - {id: 3, name: n, type: t, regex: x, validator: mod97, normaliser: none}\n",
                 "s.yaml:2: signature 3: field 'validator': unknown validator 'mod97' (none, "
                 "email, phone, credit_card, ssn, iban, luhn)");
}

static void test_err_bad_normaliser(void **state)
{
    expect_error(*state,
                 HEAD
                 "  - {id: 3, name: n, type: t, regex: x, validator: ssn, normaliser: Digits}\n",
                 "s.yaml:2: signature 3: field 'normaliser': unknown normaliser 'Digits' (none, "
                 "lower, upper, digits, e164, alnum_upper)");
}

static void test_err_bad_charset(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    charset: 'z-a'\n",
                 "s.yaml:8: signature 1001: field 'charset': 'z-a' is not a bracket-expression "
                 "body (ranges a-z, escapes \\\\ \\- \\] \\^, '-' only first or last)");
}

static void test_err_bad_boundary(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    boundary: 'a]'\n",
                 "s.yaml:8: signature 1001: field 'boundary': 'a]' is not a bracket-expression "
                 "body (ranges a-z, escapes \\\\ \\- \\] \\^, '-' only first or last)");
}

static void test_err_boundary_disjoint(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    boundary: 'A-Z'\n",
                 "s.yaml:8: signature 1001: field 'boundary': shares no byte with the charset, "
                 "but a value's last byte must be in both");
}

/* The widest boundary the syntax can express (printable ASCII) still
 * leaves control and high bytes for [^BOUNDARY]. */
static void test_boundary_widest_ok(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, HEAD SIG_1001 "    boundary: ' -~'\n"), 0);
    assert_int_equal(popcount(f->set->sigs[0].boundary_map), 95);
}

static void test_err_bad_type(void **state)
{
    expect_error(*state,
                 HEAD "  - {id: 3, name: n, type: Credit-Card, regex: x, validator: ssn, "
                      "normaliser: none}\n",
                 "s.yaml:2: signature 3: field 'type': 'Credit-Card' is not a kind name "
                 "([a-z0-9_]+, at most 31 bytes)");
    expect_error(*state,
                 HEAD "  - {id: 3, name: n, type: abcdefghijklmnopqrstuvwxyz_abcdef, regex: x, "
                      "validator: ssn, normaliser: none}\n",
                 "s.yaml:2: signature 3: field 'type': 'abcdefghijklmnopqrstuvwxyz_abcdef' is "
                 "not a kind name ([a-z0-9_]+, at most 31 bytes)");
}

static void test_err_too_many_kinds(void **state)
{
    struct fx *f = *state;
    char y[8192];
    size_t n, i;

    n = (size_t)snprintf(y, sizeof(y), HEAD);
    for (i = 1; i <= LW_SIG_MAX_KINDS + 1; i++)
        n += (size_t)snprintf(y + n, sizeof(y) - n,
                              "  - {id: %zu, name: n, type: k%zu, regex: x, validator: ssn, "
                              "normaliser: digits}\n",
                              i, i);
    expect_error(f, y, "s.yaml:34: signature 33: too many kinds (max 32)");
}

static void test_err_none_needs_charset_and_max_len(void **state)
{
    expect_error(
        *state, HEAD "  - {id: 9, name: n, type: t, regex: x, validator: none, normaliser: none}\n",
        "s.yaml:2: signature 9: missing field 'charset' (required with validator none)");
    expect_error(*state,
                 HEAD "  - {id: 9, name: n, type: t, regex: x, validator: none, normaliser: none, "
                      "charset: 'A-Z'}\n",
                 "s.yaml:2: signature 9: missing field 'max_len' (required with validator none)");
}

static void test_err_max_len(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    max_len: 0\n",
                 "s.yaml:8: signature 1001: field 'max_len': '0' is not in 1..255");
    expect_error(*state, HEAD SIG_1001 "    max_len: 256\n",
                 "s.yaml:8: signature 1001: field 'max_len': '256' is not in 1..255");
    struct fx *f = *state;
    assert_int_equal(parse(f, HEAD SIG_1001 "    max_len: 255\n"), 0);
    assert_int_equal(f->set->sigs[0].max_len, 255);
}

static void test_err_severity(void **state)
{
    expect_error(*state, HEAD SIG_1001 "    severity: 0\n",
                 "s.yaml:8: signature 1001: field 'severity': '0' is not in 1..4");
    expect_error(*state, HEAD SIG_1001 "    severity: 5\n",
                 "s.yaml:8: signature 1001: field 'severity': '5' is not in 1..4");
    expect_error(*state, HEAD SIG_1001 "    severity: high\n",
                 "s.yaml:8: signature 1001: field 'severity': 'high' is not in 1..4");
}

static void test_err_name(void **state)
{
    char y[1024], longname[130];

    expect_error(*state, HEAD SIG_1001 "    name: \"a\\tb\"\n",
                 "s.yaml:8: signature 1001: duplicate field 'name'");
    expect_error(*state,
                 HEAD "  - {id: 3, name: \"a\\tb\", type: t, regex: x, validator: ssn, "
                      "normaliser: none}\n",
                 "s.yaml:2: signature 3: field 'name': must be 1..128 printable characters");
    expect_error(*state,
                 HEAD "  - {id: 3, name: , type: t, regex: x, validator: ssn, normaliser: none}\n",
                 "s.yaml:2: signature 3: field 'name': expected a single value, got nothing");
    memset(longname, 'n', 129);
    longname[129] = '\0';
    snprintf(y, sizeof(y),
             HEAD "  - {id: 3, name: %s, type: t, regex: x, validator: ssn, normaliser: none}\n",
             longname);
    expect_error(*state, y,
                 "s.yaml:2: signature 3: field 'name': must be 1..128 printable characters");
}

static void test_err_regex_shape(void **state)
{
    expect_error(*state,
                 HEAD
                 "  - {id: 3, name: n, type: t, regex: {a: b}, validator: ssn, normaliser: none}\n",
                 "s.yaml:2: signature 3: field 'regex': expected a single value, got a mapping");
}

static void test_err_entry_not_mapping(void **state)
{
    expect_error(*state, HEAD SIG_1001 "  - just a string\n",
                 "s.yaml:8: signature #2: expected a mapping of fields, got a scalar");
}

static void test_err_top_level(void **state)
{
    expect_error(*state, "", "s.yaml:1: no signatures (expected a list under 'signatures:')");
    expect_error(*state, "# nothing\n",
                 "s.yaml:1: no signatures (expected a list under 'signatures:')");
    expect_error(*state, "- a\n",
                 "s.yaml:1: expected a mapping with the key 'signatures', got a list");
    expect_error(*state, "rules: []\n", "s.yaml:1: unknown key 'rules'");
    expect_error(*state, "signatures:\n",
                 "s.yaml:1: 'signatures' must be a list of signatures, got nothing");
    expect_error(*state, "signatures: {a: b}\n",
                 "s.yaml:1: 'signatures' must be a list of signatures, got a mapping");
    expect_error(*state, "signatures: []\n", "s.yaml:1: the signature list is empty");
    expect_error(*state, HEAD SIG_1001 "signatures: []\n", "s.yaml:8: duplicate key 'signatures'");
}

static void test_err_yaml_alias(void **state)
{
    expect_error_prefix(*state, HEAD "  - &a {id: 1}\n  - *a\n",
                        "s.yaml:2: YAML anchors are not supported");
}

static void test_err_yaml_syntax(void **state)
{
    expect_error_prefix(*state, HEAD "  - id: 1\n   name: [\n", "s.yaml:");
    assert_non_null(strstr(((struct fx *)*state)->err, "YAML syntax error"));
}

static void test_load_missing(void **state)
{
    struct fx *f = *state;

    assert_int_equal(lw_signatures_load("/nonexistent/pii.yaml", &f->set, f->err, ERRLEN),
                     LW_ERR_IO);
    assert_null(f->set);
    assert_string_equal(f->err, "/nonexistent/pii.yaml: cannot open: No such file or directory");
}

/* --------------------------------------------------------- shipped file */

static int load_shipped(struct fx *f)
{
    const char *src = getenv("LW_SOURCE_DIR");
    char path[4096];

    if (src == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/signatures/pii.yaml", src);
    if (lw_signatures_load(path, &f->set, f->err, sizeof(f->err)) != 0)
        fail_msg("%s", f->err);
    return 0;
}

static void test_shipped_loads(void **state)
{
    static const struct {
        uint32_t id;
        const char *kind;
        lw_validator v;
        lw_normaliser n;
        uint8_t severity;
    } want[] = {
        {1001, "email", LW_VALIDATOR_EMAIL, LW_NORM_LOWER, 3},
        {1002, "phone", LW_VALIDATOR_PHONE, LW_NORM_E164, 3},
        {1003, "phone", LW_VALIDATOR_PHONE, LW_NORM_E164, 3},
        {1004, "credit_card", LW_VALIDATOR_CARD, LW_NORM_DIGITS, 1},
        {1005, "ssn", LW_VALIDATOR_SSN, LW_NORM_DIGITS, 1},
        {1006, "iban", LW_VALIDATOR_IBAN, LW_NORM_ALNUM_UPPER, 2},
    };
    struct fx *f = *state;
    size_t i;

    if (load_shipped(f) != 0)
        skip();
    assert_int_equal(f->set->count, 6);
    assert_int_equal(f->set->kind_count, 5);
    for (i = 0; i < 6; i++) {
        const lw_signature *s = &f->set->sigs[i];
        assert_int_equal(s->id, want[i].id);
        assert_string_equal(f->set->kinds[s->kind], want[i].kind);
        assert_int_equal(s->validator, want[i].v);
        assert_int_equal(s->normaliser, want[i].n);
        assert_int_equal(s->severity, want[i].severity);
    }
}

/* regex + "(?:[^BOUNDARY]|$)", as the match stage builds it. */
static char *with_boundary(const lw_signature *s)
{
    size_t n = strlen(s->regex) + strlen(s->boundary) + 16;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s(?:[^%s]|\\z)", s->regex, s->boundary);
    return p;
}

static void test_shipped_compile_stream(void **state)
{
    struct fx *f = *state;
    size_t i;

    if (load_shipped(f) != 0)
        skip();
    for (i = 0; i < f->set->count; i++) {
        hs_database_t *db = NULL;
        hs_compile_error_t *ce = NULL;
        char *p = with_boundary(&f->set->sigs[i]);
        if (hs_compile(p, 0, HS_MODE_STREAM, NULL, &db, &ce) != HS_SUCCESS) {
            fail_msg("signature %u: %s", f->set->sigs[i].id, ce ? ce->message : "?");
        }
        hs_free_database(db);
        free(p);
    }
}

struct hit {
    unsigned id;
    unsigned long long to;
};
struct hits {
    struct hit h[64];
    size_t n;
};

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    struct hits *hs = ctx;
    (void)from;
    (void)flags;
    if (hs->n < 64)
        hs->h[hs->n++] = (struct hit){id, to};
    return 0;
}

/* The shipped regexes end a match right after each (fake) value, and the
 * boundary keeps them from firing inside a longer token. */
static void test_shipped_match_samples(void **state)
{
    static const struct {
        const char *text;
        unsigned id;
        int end; /* offset just past the value, -1: must not match */
    } t[] = {
        {"to jane.doe@example.com now", 1001, 23},
        {"mail me at a.b@example.org.", 1001, 27},
        {"x@example.co.uk", 1001, 15},
        {"user@localhost ", 1001, -1},
        {"call (415) 555-0132 today", 1002, 19},
        {"+1 415.555.0132", 1002, 15},
        {"415-555-01329", 1002, -1},
        {"+44 20 7946 0958", 1003, 16},
        {"tel:+4915112345678;", 1003, 18},
        {"+33 1 23 45 67 89 ", 1003, 17},
        {"card 4111 1111 1111 1111.", 1004, 24},
        {"5500-0000-0000-0004", 1004, 19},
        {"ssn=123-45-6789&", 1005, 15},
        {"123-45-67890", 1005, -1},
        {"GB82 WEST 1234 5698 7654 32", 1006, 27},
        {"iban DE89370400440532013000,", 1006, 27},
    };
    struct fx *f = *state;
    const char *pats[16];
    unsigned ids[16], flags[16];
    hs_database_t *db = NULL;
    hs_scratch_t *scratch = NULL;
    hs_compile_error_t *ce = NULL;
    size_t i, j;

    if (load_shipped(f) != 0)
        skip();
    for (i = 0; i < f->set->count; i++) {
        pats[i] = with_boundary(&f->set->sigs[i]);
        ids[i] = f->set->sigs[i].id;
        flags[i] = 0;
    }
    assert_int_equal(
        hs_compile_multi(pats, flags, ids, (unsigned)f->set->count, HS_MODE_BLOCK, NULL, &db, &ce),
        HS_SUCCESS);
    assert_int_equal(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct hits hs = {.n = 0};
        bool found = false;
        assert_int_equal(
            hs_scan(db, t[i].text, (unsigned)strlen(t[i].text), 0, scratch, on_match, &hs),
            HS_SUCCESS);
        for (j = 0; j < hs.n; j++) {
            if (hs.h[j].id != t[i].id)
                continue;
            if (t[i].end < 0)
                fail_msg("sample #%zu: signature %u matched a non-value", i, t[i].id);
            /* Reported one past the boundary byte, or at the end of data. */
            unsigned long long want = (size_t)t[i].end == strlen(t[i].text)
                                          ? (unsigned long long)t[i].end
                                          : (unsigned long long)t[i].end + 1;
            found = found || hs.h[j].to == want;
        }
        if (t[i].end >= 0 && !found)
            fail_msg("sample #%zu: signature %u did not end a match at %d", i, t[i].id, t[i].end);
    }
    hs_free_scratch(scratch);
    hs_free_database(db);
    for (i = 0; i < f->set->count; i++)
        free((void *)pats[i]);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charset_ranges),
        cmocka_unit_test(test_charset_literals),
        cmocka_unit_test(test_charset_escapes),
        cmocka_unit_test(test_charset_errors),
        T(test_minimal_and_defaults),
        T(test_validator_defaults),
        T(test_email_boundary_default),
        T(test_all_fields_given),
        T(test_kinds_in_order_of_first_use),
        T(test_max_signatures_ok),
        T(test_err_duplicate_id),
        T(test_err_missing_required),
        T(test_err_unknown_field),
        T(test_err_duplicate_field),
        T(test_err_bad_id),
        T(test_err_bad_validator),
        T(test_err_bad_normaliser),
        T(test_err_bad_charset),
        T(test_err_bad_boundary),
        T(test_err_boundary_disjoint),
        T(test_boundary_widest_ok),
        T(test_err_bad_type),
        T(test_err_too_many_kinds),
        T(test_err_none_needs_charset_and_max_len),
        T(test_err_max_len),
        T(test_err_severity),
        T(test_err_name),
        T(test_err_regex_shape),
        T(test_err_entry_not_mapping),
        T(test_err_top_level),
        T(test_err_yaml_alias),
        T(test_err_yaml_syntax),
        T(test_load_missing),
        T(test_shipped_loads),
        T(test_shipped_compile_stream),
        T(test_shipped_match_samples),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
