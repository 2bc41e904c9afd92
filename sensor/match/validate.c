/*
 * validate.c - validators, normalisers and the value picker for PII runs.
 *
 * A regex finds shapes; this file decides which shapes are values. Each
 * validator is strict on purpose: a false positive in a burst counter turns
 * into an alert a person has to read, so a value must look like something a
 * system would really emit.
 *
 *   email        RFC 5321 sizes (local part <= 64, domain <= 253, path
 *                <= 254) with the common dot-atom subset of RFC 5322 for the
 *                local part ([A-Za-z0-9._%+-], no leading, trailing or double
 *                dot) and RFC 1035/1123 host labels (1..63 of [A-Za-z0-9-],
 *                no leading or trailing '-'), at least two labels and an
 *                alphabetic TLD of 2..63 (so dotted quads never pass).
 *   phone        validate_phone.c (NANP and E.164).
 *   credit_card  13..19 digits, bare or grouped by one kind of single
 *                separator (first group of 4), brand found by IIN range with
 *                the lengths that brand issues, Luhn (ISO/IEC 7812-1), and
 *                not one digit repeated.
 *   ssn          ddd-dd-dddd with the SSA's rules: area not 000, 666 or
 *                900-999, group not 00, serial not 0000, and not one of the
 *                numbers the SSA lists as published or advertised.
 *   iban         ISO 13616: country code with the exact length the SWIFT
 *                IBAN registry gives it, check digits 02..98, alphanumeric
 *                BBAN, either no spaces or a space after every 4 characters,
 *                and ISO 7064 MOD 97-10 == 1, computed digit by digit so no
 *                big number is needed. Letters may be upper or lower case.
 *   luhn         12..19 digits, bare or split by one kind of single separator,
 *                passing Luhn and not one digit repeated.
 *   none         anything non-empty.
 *
 * Normalisers map a value to the form that is hashed for "distinct values"
 * counting, so that "(202) 555-0143" and "+1 202 555 0143" count once.
 *
 * lw_pick_value() tries candidate starts longest first (see validate.h); at
 * most LW_PII_VALUE_MAX - 1 bytes of a run are looked at, so the work per run
 * is bounded by that length squared.
 *
 * Nothing here allocates or keeps state; every table is const.
 */
#include "leakwatch/validate.h"

#include <string.h>

#include "leakwatch/mask.h"

static const char *const validator_names[LW_VALIDATOR_MAX] = {
    [LW_VALIDATOR_NONE] = "none",   [LW_VALIDATOR_EMAIL] = "email",
    [LW_VALIDATOR_PHONE] = "phone", [LW_VALIDATOR_CARD] = "credit_card",
    [LW_VALIDATOR_SSN] = "ssn",     [LW_VALIDATOR_IBAN] = "iban",
    [LW_VALIDATOR_LUHN] = "luhn",
};

static const char *const normaliser_names[LW_NORM_MAX] = {
    [LW_NORM_NONE] = "none",     [LW_NORM_LOWER] = "lower", [LW_NORM_UPPER] = "upper",
    [LW_NORM_DIGITS] = "digits", [LW_NORM_E164] = "e164",   [LW_NORM_ALNUM_UPPER] = "alnum_upper",
};

const char *lw_validator_name(lw_validator v)
{
    if ((unsigned)v >= LW_VALIDATOR_MAX)
        return "unknown";
    return validator_names[v];
}

const char *lw_normaliser_name(lw_normaliser n)
{
    if ((unsigned)n >= LW_NORM_MAX)
        return "unknown";
    return normaliser_names[n];
}

int lw_validator_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < LW_VALIDATOR_MAX; i++)
        if (strcmp(name, validator_names[i]) == 0)
            return i;
    return -1;
}

int lw_normaliser_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < LW_NORM_MAX; i++)
        if (strcmp(name, normaliser_names[i]) == 0)
            return i;
    return -1;
}

/* ASCII classes, independent of the locale. */
static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_alnum(uint8_t c)
{
    return is_digit(c) || is_alpha(c);
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static uint8_t to_upper(uint8_t c)
{
    return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 'a' + 'A') : c;
}

static uint8_t to_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/* ---- email -------------------------------------------------------------- */

static bool email_local_ok(const uint8_t *s, size_t len)
{
    if (len < 1 || len > 64 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (is_alnum(c) || c == '_' || c == '%' || c == '+' || c == '-')
            continue;
        if (c == '.' && s[i - 1] != '.') /* i > 0: s[0] is not '.' */
            continue;
        return false;
    }
    return true;
}

static bool email_domain_ok(const uint8_t *s, size_t len)
{
    size_t labels = 0, start = 0;

    if (len < 4 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!is_alnum(s[i]) && s[i] != '-')
                return false;
            continue;
        }
        size_t l = i - start;
        if (l < 1 || l > 63 || s[start] == '-' || s[i - 1] == '-')
            return false;
        labels++;
        if (i == len) {
            /* the TLD: alphabetic, 2..63 */
            if (l < 2)
                return false;
            for (size_t k = start; k < len; k++)
                if (!is_alpha(s[k]))
                    return false;
        }
        start = i + 1;
    }
    return labels >= 2;
}

static bool email_ok(const uint8_t *s, size_t len)
{
    const uint8_t *at = NULL;

    if (len > 254)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '@') {
            if (at != NULL)
                return false;
            at = s + i;
        }
    }
    if (at == NULL)
        return false;
    size_t llen = (size_t)(at - s);
    return email_local_ok(s, llen) && email_domain_ok(at + 1, len - llen - 1);
}

/* ---- digit runs: cards and Luhn ----------------------------------------- */

/*
 * Collects the digits of a bare or single-separator-grouped number into
 * digits[] (up to 19). Separators come from `seps`; only one kind may be used;
 * no leading, trailing or doubled separator. When first_group is non-zero a
 * grouped number must start with a group of exactly that many digits.
 * Returns the digit count, or 0 when the shape is wrong.
 */
static size_t collect_digits(const uint8_t *s, size_t len, const char *seps, size_t first_group,
                             char digits[20])
{
    size_t n = 0, group = 0;
    uint8_t sep = 0;

    if (len == 0 || !is_digit(s[0]) || !is_digit(s[len - 1]))
        return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (is_digit(c)) {
            if (n == 19)
                return 0;
            digits[n++] = (char)c;
            group++;
            continue;
        }
        if (c == 0 || strchr(seps, c) == NULL)
            return 0;
        if (sep != 0 && c != sep)
            return 0;
        if (!is_digit(s[i - 1]))
            return 0;
        if (sep == 0 && first_group != 0 && group != first_group)
            return 0;
        sep = c;
        group = 0;
    }
    digits[n] = '\0';
    return n;
}

static bool luhn_ok(const char *d, size_t n)
{
    unsigned sum = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static bool all_same(const char *d, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (d[i] != d[0])
            return false;
    return true;
}

/* Lengths as a bit mask: bit k set when k digits are issued. */
#define LEN(k)    (1u << (k))
#define LEN_16_19 (LEN(16) | LEN(17) | LEN(18) | LEN(19))

/* IIN ranges of the major brands (ISO/IEC 7812 issuer prefixes). */
typedef struct iin_range {
    uint32_t lo, hi;  /* inclusive, as numbers of `digits` digits */
    uint8_t digits;   /* prefix length compared */
    uint32_t lengths; /* LEN() mask */
} iin_range;

static const iin_range iin_ranges[] = {
    {4, 4, 1, LEN(13) | LEN(16) | LEN(19)},                   /* Visa */
    {51, 55, 2, LEN(16)},                                     /* Mastercard */
    {2221, 2720, 4, LEN(16)},                                 /* Mastercard 2-series */
    {34, 34, 2, LEN(15)},                                     /* American Express */
    {37, 37, 2, LEN(15)},                                     /* American Express */
    {6011, 6011, 4, LEN_16_19},                               /* Discover */
    {644, 649, 3, LEN_16_19},                                 /* Discover */
    {65, 65, 2, LEN_16_19},                                   /* Discover */
    {622126, 622925, 6, LEN_16_19},                           /* Discover / UnionPay co-brand */
    {3528, 3589, 4, LEN_16_19},                               /* JCB */
    {36, 36, 2, LEN(14) | LEN(15) | LEN_16_19},               /* Diners Club International */
    {300, 305, 3, LEN(14) | LEN(15) | LEN_16_19},             /* Diners Club Carte Blanche */
    {3095, 3095, 4, LEN(14) | LEN(15) | LEN_16_19},           /* Diners Club */
    {38, 39, 2, LEN(14) | LEN(15) | LEN_16_19},               /* Diners Club */
    {62, 62, 2, LEN_16_19},                                   /* UnionPay */
    {50, 50, 2, LEN(13) | LEN(14) | LEN(15) | LEN_16_19},     /* Maestro */
    {56, 58, 2, LEN(13) | LEN(14) | LEN(15) | LEN_16_19},     /* Maestro */
    {6304, 6304, 4, LEN(13) | LEN(14) | LEN(15) | LEN_16_19}, /* Maestro */
    {6759, 6759, 4, LEN(13) | LEN(14) | LEN(15) | LEN_16_19}, /* Maestro UK */
    {6761, 6763, 4, LEN(13) | LEN(14) | LEN(15) | LEN_16_19}, /* Maestro */
    {2200, 2204, 4, LEN_16_19},                               /* Mir */
};

static bool brand_ok(const char *d, size_t n)
{
    for (size_t i = 0; i < sizeof(iin_ranges) / sizeof(iin_ranges[0]); i++) {
        const iin_range *r = &iin_ranges[i];
        uint32_t p = 0;
        if (!(r->lengths & LEN(n)))
            continue;
        for (size_t k = 0; k < r->digits; k++)
            p = p * 10 + (uint32_t)(d[k] - '0');
        if (p >= r->lo && p <= r->hi)
            return true;
    }
    return false;
}

static bool card_ok(const uint8_t *s, size_t len)
{
    char d[20];
    size_t n = collect_digits(s, len, " -", 4, d);

    if (n < 13 || n > 19)
        return false;
    return !all_same(d, n) && brand_ok(d, n) && luhn_ok(d, n);
}

static bool luhn_run_ok(const uint8_t *s, size_t len)
{
    char d[20];
    size_t n = collect_digits(s, len, " -", 0, d);

    if (n < 12 || n > 19)
        return false;
    return !all_same(d, n) && luhn_ok(d, n);
}

/* ---- US SSN ------------------------------------------------------------- */

static bool ssn_ok(const uint8_t *s, size_t len)
{
    int area = 0, group = 0, serial = 0;

    if (len != 11 || s[3] != '-' || s[6] != '-')
        return false;
    for (size_t i = 0; i < 11; i++) {
        if (i == 3 || i == 6)
            continue;
        if (!is_digit(s[i]))
            return false;
        int v = s[i] - '0';
        if (i < 3)
            area = area * 10 + v;
        else if (i < 6)
            group = group * 10 + v;
        else
            serial = serial * 10 + v;
    }
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    /* numbers the SSA lists as used in advertising or published in error */
    if ((area == 78 && group == 5 && serial == 1120) ||
        (area == 219 && group == 9 && serial == 9999) ||
        (area == 457 && group == 55 && serial == 5462) ||
        (area == 123 && group == 45 && serial == 6789) ||
        (area == 987 && group == 65 && serial >= 4320 && serial <= 4329))
        return false;
    return true;
}

/* ---- IBAN --------------------------------------------------------------- */

/* SWIFT IBAN registry: country and total IBAN length. Sorted by country. */
typedef struct iban_country {
    char cc[3];
    uint8_t len;
} iban_country;

static const iban_country iban_countries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

static int iban_length(uint8_t a, uint8_t b)
{
    for (size_t i = 0; i < sizeof(iban_countries) / sizeof(iban_countries[0]); i++)
        if (iban_countries[i].cc[0] == a && iban_countries[i].cc[1] == b)
            return iban_countries[i].len;
    return -1;
}

/* Feeds one IBAN character into a running ISO 7064 MOD 97-10 remainder. */
static unsigned mod97_step(unsigned rem, uint8_t c)
{
    if (is_digit(c))
        return (rem * 10 + (unsigned)(c - '0')) % 97;
    return (rem * 100 + (unsigned)(c - 'A' + 10)) % 97; /* A=10 .. Z=35 */
}

static bool iban_ok(const uint8_t *s, size_t len)
{
    uint8_t c[34];
    size_t n = 0;
    bool grouped = memchr(s, ' ', len) != NULL;

    /* compact form, or a space after every 4 characters and nowhere else */
    if (grouped && s[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (grouped && (i % 5 == 4) != (s[i] == ' '))
            return false;
        if (s[i] == ' ')
            continue;
        if (!is_alnum(s[i]) || n == sizeof(c))
            return false;
        c[n++] = to_upper(s[i]);
    }
    if (n < 15)
        return false;
    if (!is_alpha(c[0]) || !is_alpha(c[1]) || !is_digit(c[2]) || !is_digit(c[3]))
        return false;
    int want_len = iban_length(c[0], c[1]);
    if (want_len < 0 || (size_t)want_len != n)
        return false;
    int check = (c[2] - '0') * 10 + (c[3] - '0');
    if (check < 2 || check > 98)
        return false;

    unsigned rem = 0;
    for (size_t i = 4; i < n; i++)
        rem = mod97_step(rem, c[i]);
    for (size_t i = 0; i < 4; i++)
        rem = mod97_step(rem, c[i]);
    return rem == 1;
}

/* ---- dispatch ----------------------------------------------------------- */

bool lw_validate(lw_validator v, const uint8_t *s, size_t len)
{
    if (s == NULL || len == 0 || len > LW_PII_VALUE_MAX)
        return false;
    switch (v) {
    case LW_VALIDATOR_NONE:
        return true;
    case LW_VALIDATOR_EMAIL:
        return email_ok(s, len);
    case LW_VALIDATOR_PHONE:
        return lw_phone_validate(s, len);
    case LW_VALIDATOR_CARD:
        return card_ok(s, len);
    case LW_VALIDATOR_SSN:
        return ssn_ok(s, len);
    case LW_VALIDATOR_IBAN:
        return iban_ok(s, len);
    case LW_VALIDATOR_LUHN:
        return luhn_run_ok(s, len);
    case LW_VALIDATOR_MAX:
        break;
    }
    return false;
}

/* ---- normalisers -------------------------------------------------------- */

static size_t norm_e164(const uint8_t *s, size_t len, char *out, size_t cap)
{
    char d[16];
    size_t n = 0, i = 0;
    const char *prefix;

    while (i < len && is_space(s[i]))
        i++;
    bool plus = i < len && s[i] == '+';
    for (; i < len; i++) {
        if (!is_digit(s[i]))
            continue;
        if (n == 15)
            return 0;
        d[n++] = (char)s[i];
    }
    if (plus && n >= 8)
        prefix = "+"; /* already international */
    else if (!plus && n == 10)
        prefix = "+1"; /* NANP without its country code */
    else if (!plus && n == 11 && d[0] == '1')
        prefix = "+"; /* NANP with a bare "1" */
    else
        return 0;
    size_t plen = strlen(prefix);
    if (plen + n + 1 > cap)
        return 0;
    memcpy(out, prefix, plen);
    memcpy(out + plen, d, n);
    out[plen + n] = '\0';
    return plen + n;
}

size_t lw_normalise(lw_normaliser n, const uint8_t *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    if (out == NULL || cap == 0)
        return 0;
    out[0] = '\0';
    if (s == NULL || len == 0 || len > LW_PII_VALUE_MAX)
        return 0;
    if (n == LW_NORM_E164) {
        o = norm_e164(s, len, out, cap);
        if (o == 0)
            out[0] = '\0';
        return o;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        switch (n) {
        case LW_NORM_LOWER:
            c = to_lower(c);
            break;
        case LW_NORM_UPPER:
            c = to_upper(c);
            break;
        case LW_NORM_DIGITS:
            if (!is_digit(c))
                continue;
            break;
        case LW_NORM_ALNUM_UPPER:
            if (!is_alnum(c))
                continue;
            c = to_upper(c);
            break;
        case LW_NORM_NONE:
            break;
        default:
            out[0] = '\0';
            return 0;
        }
        if (o + 1 >= cap) {
            out[0] = '\0';
            return 0;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o;
}

/* ---- picking the value in a run ----------------------------------------- */

bool lw_pick_value(lw_validator v, lw_normaliser n, const uint8_t *run, size_t len, bool start_ok,
                   lw_pii_value *out)
{
    size_t end;

    if (out == NULL)
        return false;
    out->norm_len = 0;
    out->norm[0] = '\0';
    out->masked[0] = '\0';
    if (run == NULL || len == 0)
        return false;
    /* bounded work: only the tail that can hold a value is looked at */
    if (len > LW_PII_VALUE_MAX - 1) {
        run += len - (LW_PII_VALUE_MAX - 1);
        len = LW_PII_VALUE_MAX - 1;
        start_ok = false;
    }
    end = len;
    if (v == LW_VALIDATOR_EMAIL && run[end - 1] == '.')
        end--; /* one sentence-ending dot */

    /* Without a validator the regex match is the only evidence, and it may
     * have matched just a suffix of the run ("ACCT-1" inside "XACCT-1..."):
     * only a run that starts on a boundary is taken, and only whole. */
    size_t last_start = v == LW_VALIDATOR_NONE ? 1 : end;
    for (size_t i = 0; i < last_start; i++) {
        if (i == 0 ? !start_ok : (is_alnum(run[i - 1]) || is_space(run[i])))
            continue;
        if (!lw_validate(v, run + i, end - i))
            continue;
        size_t nl = lw_normalise(n, run + i, end - i, out->norm, sizeof(out->norm));
        if (nl == 0)
            continue;
        out->norm_len = (uint16_t)nl;
        lw_mask(v, out->norm, nl, out->masked, sizeof(out->masked));
        return true;
    }
    return false;
}
