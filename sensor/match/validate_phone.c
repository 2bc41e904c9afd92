/*
 * validate_phone.c - the phone-number validator: NANP and E.164.
 *
 * A phone candidate is accepted in one of two shapes.
 *
 * NANP (ITU-T country code 1; the North American Numbering Plan rules as
 * published by NANPA):
 *   [ "+1" | "1" ] [sep] ( "(" NPA ")" [" "] | NPA [sep1] ) NXX [sep2] XXXX
 * where sep is one of ' ', '.', '-'. The area code NPA is [2-9][0-8][0-9]
 * and is not an N11 service code, not in the reserved 37X and 96X blocks and
 * not 555; the exchange NXX is [2-9]XX and not N11. Without parentheses the
 * two separators must agree (both absent, both the same, or the common
 * "202 555-0143"), and a prefix glued to the number ("1202-555-0143") is
 * refused unless the whole number is ungrouped. A bare run of 10 digits
 * ("2025550143") or of "1" and 10 digits IS accepted when the NPA and NXX
 * rules hold: plenty of forms and APIs send numbers that way, and the rules
 * turn away most counters and timestamps (a 10-digit Unix time starts with
 * 1, which no NPA does). Parentheses must balance around exactly the NPA.
 *
 * E.164 (ITU-T E.164 with the country codes of ITU-T E.164 Annex / the ITU
 * list of assigned codes): '+', an assigned country code of 1..3 digits
 * (the codes are prefix-free), then the national significant number; 8..15
 * digits in all, groups separated by single spaces or dashes (none inside
 * the country code, none leading or trailing). For the countries most often
 * seen the national number's length is checked against the national plan
 * and a leading trunk '0' is refused (Italy keeps its 0, so it is allowed
 * there); other countries get only the generic 8..15 range.
 *
 * Every function here looks at no more than LW_PII_VALUE_MAX bytes.
 */
#include "leakwatch/validate.h"

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_sep(uint8_t c)
{
    return c == ' ' || c == '.' || c == '-';
}

/*
 * Assigned ITU-T E.164 country codes (geographic and global services),
 * ascending. Code 1 is NANP and is handled by the NANP grammar, but it is
 * listed so that masks can name it.
 */
static const uint16_t country_codes[] = {
    1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,  44,  45,  46,  47,
    48,  49,  51,  52,  53,  54,  55,  56,  57,  58,  60,  61,  62,  63,  64,  65,  66,  81,
    82,  84,  86,  90,  91,  92,  93,  94,  95,  98,  211, 212, 213, 216, 218, 220, 221, 222,
    223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240,
    241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258,
    260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352,
    353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 380,
    381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505, 506, 507,
    508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676,
    677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965,
    966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
};

/* National significant number rules for the countries checked closely. */
typedef struct nsn_rule {
    uint16_t cc;
    uint8_t min, max; /* digits after the country code */
    bool lead0_ok;    /* may the national number start with 0 */
} nsn_rule;

static const nsn_rule nsn_rules[] = {
    {7, 10, 10, false},  /* Russia, Kazakhstan */
    {27, 9, 9, false},   /* South Africa */
    {31, 9, 9, false},   /* Netherlands */
    {33, 9, 9, false},   /* France */
    {34, 9, 9, false},   /* Spain */
    {39, 6, 11, true},   /* Italy: landlines keep their leading 0 */
    {41, 9, 9, false},   /* Switzerland */
    {44, 9, 10, false},  /* United Kingdom */
    {45, 8, 8, false},   /* Denmark */
    {46, 7, 10, false},  /* Sweden */
    {47, 8, 8, false},   /* Norway */
    {49, 6, 13, false},  /* Germany: open plan, variable length */
    {52, 10, 10, false}, /* Mexico */
    {55, 10, 11, false}, /* Brazil */
    {61, 9, 9, false},   /* Australia */
    {65, 8, 8, false},   /* Singapore */
    {81, 9, 10, false},  /* Japan */
    {86, 10, 11, false}, /* China */
    {91, 10, 10, false}, /* India */
    {353, 7, 9, false},  /* Ireland */
};

static bool cc_known(unsigned code)
{
    size_t lo = 0, hi = sizeof(country_codes) / sizeof(country_codes[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (country_codes[mid] == code)
            return true;
        if (country_codes[mid] < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

size_t lw_phone_cc_len(const char *digits, size_t n)
{
    unsigned code = 0;

    for (size_t i = 0; i < 3 && i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return 0;
        code = code * 10 + (unsigned)(digits[i] - '0');
        if (i == 0 && code == 0)
            return 0;
        if (cc_known(code))
            return i + 1;
    }
    return 0;
}

/* Reads exactly n digits at s[*p]; returns their value or -1. */
static int take_digits(const uint8_t *s, size_t len, size_t *p, size_t n)
{
    int v = 0;

    if (len - *p < n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[*p + i]))
            return -1;
        v = v * 10 + (s[*p + i] - '0');
    }
    *p += n;
    return v;
}

/* Optional separator at s[*p]: returns it (and steps over it) or 0. */
static uint8_t take_sep(const uint8_t *s, size_t len, size_t *p)
{
    if (*p < len && is_sep(s[*p]))
        return s[(*p)++];
    return 0;
}

static bool npa_ok(int npa)
{
    int a = npa / 100, b = npa / 10 % 10, c = npa % 10;

    if (a < 2 || b > 8)
        return false;
    if (b == 1 && c == 1) /* N11 service codes */
        return false;
    if (npa / 10 == 37 || npa / 10 == 96) /* reserved for expansion */
        return false;
    return npa != 555;
}

static bool nxx_ok(int nxx)
{
    return nxx / 100 >= 2 && nxx % 100 != 11;
}

static bool nanp_ok(const uint8_t *s, size_t len)
{
    size_t p = 0;
    bool prefix = false, parens = false;
    uint8_t psep = 0, s1 = 0, s2 = 0;
    int npa, nxx, line;

    if (len >= 2 && s[0] == '+' && s[1] == '1') {
        prefix = true;
        p = 2;
    } else if (len >= 1 && s[0] == '1') {
        prefix = true; /* no NPA starts with 1, so a leading 1 is the prefix */
        p = 1;
    }
    if (prefix)
        psep = take_sep(s, len, &p);

    if (p < len && s[p] == '(') {
        parens = true;
        p++;
        npa = take_digits(s, len, &p, 3);
        if (npa < 0 || p >= len || s[p] != ')')
            return false;
        p++;
        if (p < len && s[p] == ' ')
            s1 = s[p++];
    } else {
        npa = take_digits(s, len, &p, 3);
        if (npa < 0)
            return false;
        s1 = take_sep(s, len, &p);
    }
    nxx = take_digits(s, len, &p, 3);
    if (nxx < 0)
        return false;
    s2 = take_sep(s, len, &p);
    line = take_digits(s, len, &p, 4);
    if (line < 0 || p != len)
        return false;

    if (!parens) {
        if (s1 != s2 && !(s1 == ' ' && s2 == '-'))
            return false;
        /* "1202-555-0143": a glued prefix only on an ungrouped number */
        if (prefix && psep == 0 && s1 != 0)
            return false;
        /* "+1 202-555-0143" and "+1-202-555-0143" but not "+1.202-555-0143" */
        if (psep != 0 && s1 != 0 && psep != ' ' && psep != s1)
            return false;
    }
    return npa_ok(npa) && nxx_ok(nxx);
}

static bool e164_ok(const uint8_t *s, size_t len)
{
    char digits[16];
    size_t n = 0, first_sep = 0;
    size_t cclen;

    if (len < 2 || s[0] != '+' || !is_digit(s[1]))
        return false;
    for (size_t i = 1; i < len; i++) {
        uint8_t c = s[i];
        if (is_digit(c)) {
            if (n == sizeof(digits) - 1)
                return false; /* more than 15 digits */
            digits[n++] = (char)c;
        } else if (c == ' ' || c == '-') {
            /* single separators between digits only */
            if (i + 1 >= len || !is_digit(s[i + 1]) || !is_digit(s[i - 1]))
                return false;
            if (first_sep == 0)
                first_sep = n;
        } else {
            return false;
        }
    }
    if (n < 8)
        return false;
    cclen = lw_phone_cc_len(digits, n);
    if (cclen == 0 || digits[0] == '1')
        return false; /* NANP goes through its own grammar */
    if (first_sep != 0 && first_sep < cclen)
        return false; /* "+4 4..." splits the country code */

    unsigned cc = 0;
    for (size_t i = 0; i < cclen; i++)
        cc = cc * 10 + (unsigned)(digits[i] - '0');
    size_t nsn = n - cclen;
    for (size_t i = 0; i < sizeof(nsn_rules) / sizeof(nsn_rules[0]); i++) {
        if (nsn_rules[i].cc != cc)
            continue;
        if (nsn < nsn_rules[i].min || nsn > nsn_rules[i].max)
            return false;
        if (!nsn_rules[i].lead0_ok && digits[cclen] == '0')
            return false;
        return true;
    }
    return true;
}

bool lw_phone_validate(const uint8_t *s, size_t len)
{
    if (s == NULL || len == 0 || len > LW_PII_VALUE_MAX)
        return false;
    if (s[0] == '+' && (len < 2 || s[1] != '1'))
        return e164_ok(s, len);
    return nanp_ok(s, len);
}
