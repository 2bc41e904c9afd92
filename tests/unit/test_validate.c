/*
 * test_validate.c - validators, normalisers and lw_pick_value.
 *
 * Every validator gets a table of values it must accept and a table of
 * look-alikes it must refuse (timestamps, UUID pieces, versions, addresses,
 * ids that fail their check digits). Values are public test data: well-known
 * test card numbers, the IBAN registry's examples, 555 numbers, example.com
 * addresses. Failures report the table and index, never the value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "leakwatch/validate.h"
#include "leakwatch/mask.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool val(lw_validator v, const char *s)
{
    return lw_validate(v, (const uint8_t *)s, strlen(s));
}

static void expect_all(lw_validator v, const char *const *vec, size_t n, bool want,
                       const char *table)
{
    for (size_t i = 0; i < n; i++)
        if (val(v, vec[i]) != want)
            fail_msg("%s[%zu]: expected %s", table, i, want ? "valid" : "invalid");
}

#define EXPECT_VALID(v, vec)   expect_all(v, vec, N(vec), true, #vec)
#define EXPECT_INVALID(v, vec) expect_all(v, vec, N(vec), false, #vec)

/* ---- names -------------------------------------------------------------- */

static void test_validator_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < LW_VALIDATOR_MAX; i++)
        assert_int_equal(lw_validator_from_name(lw_validator_name((lw_validator)i)), i);
    assert_int_equal(lw_validator_from_name("credit_card"), LW_VALIDATOR_CARD);
    assert_int_equal(lw_validator_from_name("email"), LW_VALIDATOR_EMAIL);
    assert_string_equal(lw_validator_name(LW_VALIDATOR_IBAN), "iban");
}

static void test_normaliser_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < LW_NORM_MAX; i++)
        assert_int_equal(lw_normaliser_from_name(lw_normaliser_name((lw_normaliser)i)), i);
    assert_int_equal(lw_normaliser_from_name("e164"), LW_NORM_E164);
    assert_int_equal(lw_normaliser_from_name("alnum_upper"), LW_NORM_ALNUM_UPPER);
}

static void test_unknown_names(void **state)
{
    (void)state;
    assert_int_equal(lw_validator_from_name("Email"), -1);
    assert_int_equal(lw_validator_from_name("card"), -1);
    assert_int_equal(lw_validator_from_name(""), -1);
    assert_int_equal(lw_validator_from_name(NULL), -1);
    assert_int_equal(lw_normaliser_from_name("digit"), -1);
    assert_int_equal(lw_normaliser_from_name(NULL), -1);
    assert_string_equal(lw_validator_name(LW_VALIDATOR_MAX), "unknown");
    assert_string_equal(lw_normaliser_name(LW_NORM_MAX), "unknown");
}

/* ---- none --------------------------------------------------------------- */

static void test_none(void **state)
{
    (void)state;
    assert_true(val(LW_VALIDATOR_NONE, "x"));
    assert_true(val(LW_VALIDATOR_NONE, "anything at all"));
    assert_false(val(LW_VALIDATOR_NONE, ""));
    assert_false(lw_validate(LW_VALIDATOR_NONE, NULL, 3));
    assert_false(lw_validate(LW_VALIDATOR_MAX, (const uint8_t *)"x", 1));
}

static void test_too_long_is_refused(void **state)
{
    uint8_t big[LW_PII_VALUE_MAX + 1];
    (void)state;
    memset(big, 'a', sizeof(big));
    assert_true(lw_validate(LW_VALIDATOR_NONE, big, LW_PII_VALUE_MAX));
    assert_false(lw_validate(LW_VALIDATOR_NONE, big, sizeof(big)));
}

/* ---- email -------------------------------------------------------------- */

static const char *const email_ok[] = {
    "john.doe@example.com",
    "j@example.com",
    "first_last+tag@mail.example.org",
    "x%y@example.co.uk",
    "a-b@sub-domain.example.com",
    "UPPER@EXAMPLE.COM",
    "1234@example.io",
    "user@xn--bcher-kva.example",
    "me@a.bc",
    "o.brien@example.com",
};

static const char *const email_bad[] = {
    "",
    "@example.com",
    "john@",
    "john",
    "john@@example.com",
    "john@doe@example.com",
    ".john@example.com",
    "john.@example.com",
    "jo..hn@example.com",
    "john@example",
    "john@example.c",
    "john@example.c0m",
    "john@1.2.3.4",
    "john@example.123",
    "john@-example.com",
    "john@example-.com",
    "john@example..com",
    "john@.example.com",
    "john@example.com.",
    "jo hn@example.com",
    "jo\"hn@example.com",
    "john@exa_mple.com",
    "john@exam ple.com",
    "v1.2.3@4",
};

static void test_email_valid(void **state)
{
    (void)state;
    EXPECT_VALID(LW_VALIDATOR_EMAIL, email_ok);
}

static void test_email_invalid(void **state)
{
    (void)state;
    EXPECT_INVALID(LW_VALIDATOR_EMAIL, email_bad);
}

static void test_email_length_limits(void **state)
{
    char buf[400];
    (void)state;

    /* local part: 64 ok, 65 not */
    memset(buf, 'a', 64);
    strcpy(buf + 64, "@example.com");
    assert_true(val(LW_VALIDATOR_EMAIL, buf));
    memset(buf, 'a', 65);
    strcpy(buf + 65, "@example.com");
    assert_false(val(LW_VALIDATOR_EMAIL, buf));

    /* label: 63 ok, 64 not */
    strcpy(buf, "a@");
    memset(buf + 2, 'b', 63);
    strcpy(buf + 65, ".com");
    assert_true(val(LW_VALIDATOR_EMAIL, buf));
    strcpy(buf, "a@");
    memset(buf + 2, 'b', 64);
    strcpy(buf + 66, ".com");
    assert_false(val(LW_VALIDATOR_EMAIL, buf));

    /* TLD: 63 letters ok, 64 not */
    strcpy(buf, "a@b.");
    memset(buf + 4, 'c', 63);
    buf[67] = '\0';
    assert_true(val(LW_VALIDATOR_EMAIL, buf));
    memset(buf + 4, 'c', 64);
    buf[68] = '\0';
    assert_false(val(LW_VALIDATOR_EMAIL, buf));

    /* whole address over 254: 60 local + '@' + 4 labels of 50 + ".com" = 265 */
    memset(buf, 'a', 60);
    buf[60] = '@';
    size_t p = 61;
    for (int i = 0; i < 4; i++) {
        memset(buf + p, 'd', 50);
        p += 50;
        buf[p++] = '.';
    }
    strcpy(buf + p, "com");
    assert_false(val(LW_VALIDATOR_EMAIL, buf));
    /* the same with 3 such labels (215 bytes) is fine */
    memset(buf, 'a', 60);
    buf[60] = '@';
    p = 61;
    for (int i = 0; i < 3; i++) {
        memset(buf + p, 'd', 50);
        p += 50;
        buf[p++] = '.';
    }
    strcpy(buf + p, "com");
    assert_true(val(LW_VALIDATOR_EMAIL, buf));
}

/* ---- phone -------------------------------------------------------------- */

static const char *const phone_ok[] = {
    "202-555-0143",      "(202) 555-0143",   "(202)555-0143",
    "202.555.0143",      "202 555 0143",     "202 555-0143",
    "+1 202 555 0143",   "+1-202-555-0143",  "+1 202-555-0143",
    "+1 (202) 555-0143", "+12025550143",     "2025550143",
    "12025550143",       "1-800-555-0199",   "1 (415) 555-0100",
    "+44 20 7946 0958",  "+442079460958",    "+44 7700 900123",
    "+49 30 901820",     "+49-89-12345678",  "+33 1 23 45 67 89",
    "+61 2 9876 5432",   "+91 98765 43210",  "+81 3-1234-5678",
    "+86 138 0013 8000", "+34 912 345 678",  "+39 06 1234 5678",
    "+39 312 345 6789",  "+31 20 123 4567",  "+55 11 91234 5678",
    "+52 55 1234 5678",  "+7 495 123-45-67", "+27 21 123 4567",
    "+65 6123 4567",     "+353 1 234 5678",  "+41 44 668 18 00",
    "+46 8 123 456 78",  "+47 22 12 34 56",  "+45 32 12 34 56",
    "+380 44 123 4567", /* generic range */
    "+971 4 123 4567",
};

static const char *const phone_bad[] = {
    "",
    "+",
    "+1",
    "202-555-014",
    "202-555-01435",
    "102-555-0143",  /* NPA starts with 1 */
    "211-555-0143",  /* N11 NPA */
    "292-555-0143",  /* NPA middle digit 9 */
    "372-555-0143",  /* 37X reserved */
    "965-555-0143",  /* 96X reserved */
    "555-555-0143",  /* NPA 555 */
    "202-155-0143",  /* NXX starts with 1 */
    "202-055-0143",  /* NXX starts with 0 */
    "202-411-0143",  /* N11 NXX */
    "(202 555-0143", /* unbalanced */
    "202) 555-0143", /* unbalanced */
    "((202)) 555-0143",
    "(202)) 555-0143",
    "202-555.0143", /* mixed separators */
    "202.555-0143",
    "202--555-0143",
    "202 - 555 - 0143",
    "1202-555-0143", /* glued prefix on a grouped number */
    "+1.202-555-0143",
    "1700000000",    /* Unix time */
    "1700000000000", /* Unix time in ms */
    "0123456789",
    "9999999999",
    "2020-05-01", /* date */
    "10.0.0.1",
    "192.168.100.200",
    "+0 123 456 789",  /* no country code 0 */
    "+28 123 456 789", /* unassigned 28 */
    "+4 4 20 7946 0958",
    "+44 20 7946 09581234", /* too many digits */
    "+44 1234",             /* too few */
    "+44 020 7946 0958",    /* trunk 0 kept */
    "+44  20 7946 0958",    /* double space */
    "+44 20 7946 0958 ",    /* trailing separator */
    "+ 44 20 7946 0958",
    "+44.20.7946.0958", /* dots are not E.164 separators */
    "+33 1 23 45 67 8", /* France: 8 national digits */
    "+91 98765 4321",   /* India: 9 */
    "+65 6123 456",     /* Singapore: 7 */
    "+49 0301 234567",  /* Germany: trunk 0 */
    "+1 202 555 01",
    "2025550143x",
    "v1.2.3.4",
};

static void test_phone_valid(void **state)
{
    (void)state;
    EXPECT_VALID(LW_VALIDATOR_PHONE, phone_ok);
}

static void test_phone_invalid(void **state)
{
    (void)state;
    EXPECT_INVALID(LW_VALIDATOR_PHONE, phone_bad);
}

static void test_phone_country_codes(void **state)
{
    (void)state;
    assert_int_equal(lw_phone_cc_len("12025550143", 11), 1);
    assert_int_equal(lw_phone_cc_len("74951234567", 11), 1);
    assert_int_equal(lw_phone_cc_len("442079460958", 12), 2);
    assert_int_equal(lw_phone_cc_len("35312345678", 11), 3);
    assert_int_equal(lw_phone_cc_len("97141234567", 11), 3);
    assert_int_equal(lw_phone_cc_len("28123", 5), 0);
    assert_int_equal(lw_phone_cc_len("0", 1), 0);
    assert_int_equal(lw_phone_cc_len("35", 2), 0);
    assert_int_equal(lw_phone_cc_len("", 0), 0);
}

/* ---- payment cards ------------------------------------------------------ */

static const char *const card_ok[] = {
    "4111111111111111",    /* Visa */
    "4012888888881881",    /* Visa */
    "4222222222222",       /* Visa 13 */
    "4111 1111 1111 1111", /* grouped by spaces */
    "4111-1111-1111-1111", /* grouped by dashes */
    "5555555555554444",    /* Mastercard */
    "5105105105105100",    /* Mastercard */
    "2223003122003222",    /* Mastercard 2-series */
    "378282246310005",     /* Amex */
    "3782 822463 10005",   /* Amex 4-6-5 */
    "371449635398431",     /* Amex */
    "6011111111111117",    /* Discover */
    "6011000990139424",    /* Discover */
    "6445644564456445",    /* Discover 644-649 */
    "6500000000000002",    /* Discover 65 */
    "3530111333300000",    /* JCB */
    "3566002020360505",    /* JCB */
    "36227206271667",      /* Diners 36, 14 digits */
    "30569309025904",      /* Diners 300-305 */
    "38520000023237",      /* Diners 38 */
    "6200000000000005",    /* UnionPay */
    "6221260000000000",    /* Discover/UnionPay 622126 */
    "6759649826438453",    /* Maestro UK */
    "6304000000000000",    /* Maestro */
    "5018000000000009",    /* Maestro 50 */
    "2201382000000013",    /* Mir */
    "4000056655665556",    /* Visa debit */
};

static const char *const card_bad[] = {
    "",
    "4111111111111112",  /* Luhn */
    "1234567812345678",  /* no brand, no Luhn */
    "0000000000000000",  /* Luhn passes, same digit, no brand */
    "411111111111111",   /* Visa 15 not issued */
    "41111111111111111", /* Visa 17 not issued */
    "378282246310005 ",
    " 378282246310005",
    "37828224631000",       /* Amex 14 */
    "5555555555554444000",  /* Mastercard 19 */
    "4111 1111-1111 1111",  /* mixed separators */
    "4111  1111 1111 1111", /* double separator */
    "41 1111 1111 1111 11", /* first group not 4 */
    "4111.1111.1111.1111",  /* dots */
    "4111111111111111111111",
    "411111111111",     /* 12 digits */
    "9111111111111111", /* no brand with 9 */
    "1111111111111111",
    "1700000000123456", /* timestamp-like id */
    "5500000000000000", /* Mastercard prefix, Luhn fails */
    "2721000000000000", /* just past the 2-series */
    "550e8400e29b41d4", /* UUID piece */
};

static void test_card_valid(void **state)
{
    (void)state;
    EXPECT_VALID(LW_VALIDATOR_CARD, card_ok);
}

static void test_card_invalid(void **state)
{
    (void)state;
    EXPECT_INVALID(LW_VALIDATOR_CARD, card_bad);
}

/* ---- Luhn --------------------------------------------------------------- */

static void test_luhn(void **state)
{
    (void)state;
    assert_true(val(LW_VALIDATOR_LUHN, "4111111111111111"));
    assert_true(val(LW_VALIDATOR_LUHN, "490154203237518")); /* IMEI-shaped */
    assert_true(val(LW_VALIDATOR_LUHN, "123456789015"));
    assert_true(val(LW_VALIDATOR_LUHN, "1234-5678-9015"));
    assert_true(val(LW_VALIDATOR_LUHN, "1234 5678 9015"));
    assert_true(val(LW_VALIDATOR_LUHN, "12 3456 789015"));   /* no first-group rule here */
    assert_false(val(LW_VALIDATOR_LUHN, "79927398713"));     /* 11 digits */
    assert_false(val(LW_VALIDATOR_LUHN, "123456789012"));    /* Luhn fails */
    assert_false(val(LW_VALIDATOR_LUHN, "1234-5678 9015"));  /* mixed */
    assert_false(val(LW_VALIDATOR_LUHN, "1234--5678-9015")); /* doubled */
    assert_false(val(LW_VALIDATOR_LUHN, "-123456789015"));
    assert_false(val(LW_VALIDATOR_LUHN, "123456789015-"));
    assert_false(val(LW_VALIDATOR_LUHN, "12345678901234567893")); /* 20 digits */
    assert_false(val(LW_VALIDATOR_LUHN, "1234567890a5"));
}

static void test_luhn_same_digit_refused(void **state)
{
    (void)state;
    /* each of these passes Luhn; one digit repeated is a filler, not an id */
    assert_false(val(LW_VALIDATOR_LUHN, "0000000000000000"));
    assert_false(val(LW_VALIDATOR_LUHN, "888888888888"));
    assert_false(val(LW_VALIDATOR_LUHN, "6666666666666"));
    assert_false(val(LW_VALIDATOR_CARD, "0000000000000000"));
}

/* ---- SSN ---------------------------------------------------------------- */

static const char *const ssn_ok[] = {
    "001-01-0001", "123-45-6788", "665-12-3456", "667-12-3456",
    "899-99-9999", "078-05-1121", "219-09-9998", "457-55-5463",
};

static const char *const ssn_bad[] = {
    "",
    "123456789", /* bare digits are too noisy */
    "123 45 6789",
    "123-456-789",
    "123-45-678",
    "123-45-67890",
    "000-12-3456", /* area 000 */
    "666-12-3456", /* area 666 */
    "900-12-3456", /* ITIN range */
    "999-12-3456",
    "123-00-4567", /* group 00 */
    "123-45-0000", /* serial 0000 */
    "078-05-1120", /* the Woolworth wallet card */
    "219-09-9999", /* published in an advertisement */
    "457-55-5462", /* LifeLock */
    "123-45-6789",
    "987-65-4320",
    "987-65-4325",
    "987-65-4329",
    "12a-45-6789",
    "2024-01-1500",
};

static void test_ssn_valid(void **state)
{
    (void)state;
    EXPECT_VALID(LW_VALIDATOR_SSN, ssn_ok);
}

static void test_ssn_invalid(void **state)
{
    (void)state;
    EXPECT_INVALID(LW_VALIDATOR_SSN, ssn_bad);
}

/* ---- IBAN --------------------------------------------------------------- */

static const char *const iban_ok[] = {
    "GB82 WEST 1234 5698 7654 32",
    "GB82WEST12345698765432",
    "gb82west12345698765432",
    "DE89 3704 0044 0532 0130 00",
    "DE89370400440532013000",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
    "BE68 5390 0754 7034",
    "ES91 2100 0418 4502 0005 1332",
    "IT60 X054 2811 1010 0000 0123 456",
    "CH93 0076 2011 6238 5295 7",
    "AT61 1904 3002 3457 3201",
    "NO93 8601 1117 947",
    "SE45 5000 0000 0583 9825 7466",
    "DK50 0040 0440 1162 43",
    "FI21 1234 5600 0007 85",
    "PL61 1090 1014 0000 0712 1981 2874",
    "IE29 AIBK 9311 5212 3456 78",
    "PT50 0002 0123 1234 5678 9015 4",
    "SA03 8000 0000 6080 1016 7519",
    "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
    "LC55 HEMM 0001 0001 0012 0012 0002 3015",
    "BR18 0036 0305 0000 1000 9795 493C 1",
    "LU28 0019 4006 4475 0000",
    "GR16 0110 1250 0000 0001 2300 695",
    "HU42 1177 3016 1111 1018 0000 0000",
    "CZ65 0800 0000 1920 0014 5399",
    "RO49 AAAA 1B31 0075 9384 0000",
    "AE07 0331 2345 6789 0123 456",
    "IL62 0108 0000 0009 9999 999",
    "TR33 0006 1005 1978 6457 8413 26",
};

static const char *const iban_bad[] = {
    "",
    "GB82 WEST 1234 5698 7654 33", /* mod 97 */
    "GB28 WEST 1234 5698 7654 32", /* check digits swapped */
    "NO93 8601 1117 948",          /* mod 97 */
    "GB82 WEST 1234 5698 7654 3",  /* GB is 22 */
    "GB82 WEST 1234 5698 7654 321",
    "DE89 3704 0044 0532 0130 0",
    "XX82 WEST 1234 5698 7654 32", /* no such country */
    "US12 3456 7890 1234 5678 90",
    "GB82 WEST 12345698 7654 32", /* irregular grouping */
    "GB82WEST 1234 5698 7654 32",
    "GB82  WEST 1234 5698 7654 32",
    "GB82 WEST 1234 5698 7654 32 ",
    " GB82 WEST 1234 5698 7654 32",
    "GB82-WEST-1234-5698-7654-32",
    "GB00 WEST 1234 5698 7654 32", /* check digits 00 */
    "GB01 WEST 1234 5698 7654 32",
    "GB99 WEST 1234 5698 7654 32",
    "1B82 WEST 1234 5698 7654 32",
    "GBX2 WEST 1234 5698 7654 32",
    "GB82 WE$T 1234 5698 7654 32",
    "DE8937040044053201300012345678901234567",
};

static void test_iban_valid(void **state)
{
    (void)state;
    EXPECT_VALID(LW_VALIDATOR_IBAN, iban_ok);
}

static void test_iban_invalid(void **state)
{
    (void)state;
    EXPECT_INVALID(LW_VALIDATOR_IBAN, iban_bad);
}

/* ---- noise that no validator may take ----------------------------------- */

static const char *const noise[] = {
    "2024-01-15T10:30:00Z",
    "1705314600",
    "1705314600123",
    "550e8400-e29b-41d4-a716-446655440000",
    "550e8400",
    "446655440000",
    "1.2.3",
    "10.2.33",
    "v2.14.1",
    "192.168.1.254",
    "127.0.0.1",
    "::1",
    "fe80::1ff:fe23:4567:890a",
    "1234567890123456", /* 16-digit id, not Luhn */
    "9876543210987654",
    "12:34:56.789",
    "0x7fffffff",
    "3.14159265358979",
};

static void test_noise_rejected_everywhere(void **state)
{
    (void)state;
    for (int v = LW_VALIDATOR_EMAIL; v < LW_VALIDATOR_MAX; v++)
        for (size_t i = 0; i < N(noise); i++)
            if (val((lw_validator)v, noise[i]))
                fail_msg("noise[%zu] accepted by %s", i, lw_validator_name((lw_validator)v));
}

/* ---- normalisers -------------------------------------------------------- */

static size_t norm(lw_normaliser n, const char *s, char *out, size_t cap)
{
    return lw_normalise(n, (const uint8_t *)s, strlen(s), out, cap);
}

static void expect_norm(lw_normaliser n, const char *in, const char *want)
{
    char out[LW_PII_VALUE_MAX];
    size_t len = norm(n, in, out, sizeof(out));
    assert_int_equal(len, strlen(want));
    assert_true(strcmp(out, want) == 0);
}

static void test_norm_case_and_filters(void **state)
{
    (void)state;
    expect_norm(LW_NORM_NONE, "Ab-1", "Ab-1");
    expect_norm(LW_NORM_LOWER, "John.Doe@Example.COM", "john.doe@example.com");
    expect_norm(LW_NORM_UPPER, "gb82west", "GB82WEST");
    expect_norm(LW_NORM_DIGITS, "4111 1111-1111 1111", "4111111111111111");
    expect_norm(LW_NORM_DIGITS, "123-45-6788", "123456788");
    expect_norm(LW_NORM_ALNUM_UPPER, "gb82 west 1234", "GB82WEST1234");
}

static void test_norm_e164(void **state)
{
    (void)state;
    expect_norm(LW_NORM_E164, "(202) 555-0143", "+12025550143");
    expect_norm(LW_NORM_E164, "202.555.0143", "+12025550143");
    expect_norm(LW_NORM_E164, "+1 202 555 0143", "+12025550143");
    expect_norm(LW_NORM_E164, "1-202-555-0143", "+12025550143");
    expect_norm(LW_NORM_E164, "+44 20 7946 0958", "+442079460958");
    expect_norm(LW_NORM_E164, "+7 495 123-45-67", "+74951234567");
}

static void test_norm_e164_refuses(void **state)
{
    char out[LW_PII_VALUE_MAX];
    (void)state;
    assert_int_equal(norm(LW_NORM_E164, "555-0143", out, sizeof(out)), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(norm(LW_NORM_E164, "22025550143", out, sizeof(out)), 0); /* 11, not 1.. */
    assert_int_equal(norm(LW_NORM_E164, "+44 1234", out, sizeof(out)), 0);
    assert_int_equal(norm(LW_NORM_E164, "+1234567890123456", out, sizeof(out)), 0);
    assert_int_equal(norm(LW_NORM_E164, "no digits", out, sizeof(out)), 0);
}

static void test_norm_capacity(void **state)
{
    char out[8];
    (void)state;
    /* 7 bytes fit in 8, 8 do not */
    assert_int_equal(norm(LW_NORM_NONE, "1234567", out, sizeof(out)), 7);
    assert_int_equal(norm(LW_NORM_NONE, "12345678", out, sizeof(out)), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(norm(LW_NORM_E164, "2025550143", out, sizeof(out)), 0);
    assert_int_equal(norm(LW_NORM_DIGITS, "abc", out, sizeof(out)), 0);
    assert_int_equal(lw_normalise(LW_NORM_NONE, (const uint8_t *)"x", 1, out, 0), 0);
    assert_int_equal(lw_normalise(LW_NORM_MAX, (const uint8_t *)"x", 1, out, sizeof(out)), 0);
}

/* ---- lw_pick_value ------------------------------------------------------ */

static bool pick(lw_validator v, lw_normaliser n, const char *run, bool start_ok, lw_pii_value *out)
{
    memset(out, 0x5a, sizeof(*out));
    return lw_pick_value(v, n, (const uint8_t *)run, strlen(run), start_ok, out);
}

static void expect_pick(lw_validator v, lw_normaliser n, const char *run, bool start_ok,
                        const char *want_norm, const char *want_mask)
{
    lw_pii_value out;
    assert_true(pick(v, n, run, start_ok, &out));
    assert_int_equal(out.norm_len, strlen(want_norm));
    assert_true(strcmp(out.norm, want_norm) == 0);
    assert_string_equal(out.masked, want_mask);
}

static void test_pick_whole_run(void **state)
{
    (void)state;
    expect_pick(LW_VALIDATOR_CARD, LW_NORM_DIGITS, "4111 1111 1111 1111", true, "4111111111111111",
                "411111******1111");
    expect_pick(LW_VALIDATOR_SSN, LW_NORM_DIGITS, "123-45-6788", true, "123456788", "***-**-6788");
    expect_pick(LW_VALIDATOR_IBAN, LW_NORM_ALNUM_UPPER, "DE89 3704 0044 0532 0130 00", true,
                "DE89370400440532013000", "DE89**************3000");
}

static void test_pick_email_drops_one_dot(void **state)
{
    lw_pii_value out;
    (void)state;
    expect_pick(LW_VALIDATOR_EMAIL, LW_NORM_LOWER, "John.Doe@Example.com.", true,
                "john.doe@example.com", "j***@example.com");
    assert_false(pick(LW_VALIDATOR_EMAIL, LW_NORM_LOWER, "john@example.com..", true, &out));
    /* only the email path drops a dot */
    assert_false(pick(LW_VALIDATOR_SSN, LW_NORM_DIGITS, "123-45-6788.", true, &out));
}

static void test_pick_later_start(void **state)
{
    (void)state;
    /* a leading word glued by '.' is skipped: the run start fails, "doe@" does not */
    expect_pick(LW_VALIDATOR_EMAIL, LW_NORM_LOWER, "x..doe@example.com", true, "doe@example.com",
                "d***@example.com");
    /* phone after a space: '+' and '(' may start a value */
    expect_pick(LW_VALIDATOR_PHONE, LW_NORM_E164, "99 +44 20 7946 0958", true, "+442079460958",
                "+44-***-0958");
    expect_pick(LW_VALIDATOR_PHONE, LW_NORM_E164, "00 (202) 555-0143", true, "+12025550143",
                "+1-***-***-0143");
    /* a card after an unrelated number */
    expect_pick(LW_VALIDATOR_CARD, LW_NORM_DIGITS, "12 4111-1111-1111-1111", true,
                "4111111111111111", "411111******1111");
}

static void test_pick_longest_first(void **state)
{
    (void)state;
    /* both "+1 202 555 0143" and "202 555 0143" validate: the longer wins */
    expect_pick(LW_VALIDATOR_PHONE, LW_NORM_NONE, "+1 202 555 0143", true, "+1 202 555 0143",
                "+1-***-***-0143");
}

static void test_pick_start_not_ok(void **state)
{
    lw_pii_value out;
    (void)state;
    /* the run was cut or glued: its first byte is not a start */
    assert_false(pick(LW_VALIDATOR_SSN, LW_NORM_DIGITS, "123-45-6788", false, &out));
    assert_int_equal(out.norm_len, 0);
    assert_int_equal(out.norm[0], '\0');
    assert_int_equal(out.masked[0], '\0');
    /* but a later boundary still is */
    expect_pick(LW_VALIDATOR_PHONE, LW_NORM_E164, "5 202-555-0143", false, "+12025550143",
                "+1-***-***-0143");
}

static void test_pick_glued_value_not_taken(void **state)
{
    lw_pii_value out;
    (void)state;
    /* "x4111..." : the card's start follows a letter */
    assert_false(pick(LW_VALIDATOR_CARD, LW_NORM_DIGITS, "x4111111111111111", true, &out));
    /* whitespace never starts a value */
    assert_false(pick(LW_VALIDATOR_NONE, LW_NORM_NONE, " ", false, &out));
}

/* Regression: with no validator a suffix of the run is not evidence of a
 * value ("87654321" inside "XACCT-87654321" matched a site regex only as a
 * suffix); only the whole run, starting on a boundary, counts. */
static void test_pick_none_takes_whole_run_only(void **state)
{
    lw_pii_value out;
    (void)state;
    expect_pick(LW_VALIDATOR_NONE, LW_NORM_NONE, "ACCT-12345678", true, "ACCT-12345678",
                "***********78");
    assert_false(pick(LW_VALIDATOR_NONE, LW_NORM_NONE, "ACCT-87654321", false, &out));
}

static void test_pick_needs_normaliser(void **state)
{
    lw_pii_value out;
    (void)state;
    /* "555-0143"-style runs validate as nothing; an SSN with e164 cannot normalise */
    assert_false(pick(LW_VALIDATOR_SSN, LW_NORM_E164, "123-45-6788", true, &out));
}

static void test_pick_long_run_bounded(void **state)
{
    uint8_t run[1000];
    lw_pii_value out;
    (void)state;
    memset(run, '-', sizeof(run));
    memcpy(run + sizeof(run) - 16, "4111111111111111", 16);
    run[sizeof(run) - 17] = ' ';
    assert_true(lw_pick_value(LW_VALIDATOR_CARD, LW_NORM_DIGITS, run, sizeof(run), true, &out));
    assert_int_equal(out.norm_len, 16);
    assert_string_equal(out.masked, "411111******1111");
    /* an over-long run is cut to its tail, whose first byte is then no start */
    memset(run, 'a', sizeof(run));
    assert_false(lw_pick_value(LW_VALIDATOR_NONE, LW_NORM_NONE, run, sizeof(run), true, &out));
    /* validator none takes only whole runs: a later start is no evidence */
    run[sizeof(run) - 101] = '-';
    assert_false(lw_pick_value(LW_VALIDATOR_NONE, LW_NORM_NONE, run, sizeof(run), true, &out));
    /* a whole 100-byte run is taken, and its mask is capped */
    assert_true(
        lw_pick_value(LW_VALIDATOR_NONE, LW_NORM_NONE, run + sizeof(run) - 100, 100, true, &out));
    assert_int_equal(out.norm_len, 100);
    assert_int_equal(strlen(out.masked), LW_PII_MASK_MAX - 1);
    assert_string_equal(out.masked + LW_PII_MASK_MAX - 4, "*aa");
}

static void test_pick_bad_args(void **state)
{
    lw_pii_value out;
    (void)state;
    assert_false(lw_pick_value(LW_VALIDATOR_NONE, LW_NORM_NONE, NULL, 4, true, &out));
    assert_false(
        lw_pick_value(LW_VALIDATOR_NONE, LW_NORM_NONE, (const uint8_t *)"x", 0, true, &out));
    assert_false(
        lw_pick_value(LW_VALIDATOR_NONE, LW_NORM_NONE, (const uint8_t *)"x", 1, true, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator_names_round_trip),
        cmocka_unit_test(test_normaliser_names_round_trip),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_too_long_is_refused),
        cmocka_unit_test(test_email_valid),
        cmocka_unit_test(test_email_invalid),
        cmocka_unit_test(test_email_length_limits),
        cmocka_unit_test(test_phone_valid),
        cmocka_unit_test(test_phone_invalid),
        cmocka_unit_test(test_phone_country_codes),
        cmocka_unit_test(test_card_valid),
        cmocka_unit_test(test_card_invalid),
        cmocka_unit_test(test_luhn),
        cmocka_unit_test(test_luhn_same_digit_refused),
        cmocka_unit_test(test_ssn_valid),
        cmocka_unit_test(test_ssn_invalid),
        cmocka_unit_test(test_iban_valid),
        cmocka_unit_test(test_iban_invalid),
        cmocka_unit_test(test_noise_rejected_everywhere),
        cmocka_unit_test(test_norm_case_and_filters),
        cmocka_unit_test(test_norm_e164),
        cmocka_unit_test(test_norm_e164_refuses),
        cmocka_unit_test(test_norm_capacity),
        cmocka_unit_test(test_pick_whole_run),
        cmocka_unit_test(test_pick_email_drops_one_dot),
        cmocka_unit_test(test_pick_later_start),
        cmocka_unit_test(test_pick_longest_first),
        cmocka_unit_test(test_pick_start_not_ok),
        cmocka_unit_test(test_pick_glued_value_not_taken),
        cmocka_unit_test(test_pick_none_takes_whole_run_only),
        cmocka_unit_test(test_pick_needs_normaliser),
        cmocka_unit_test(test_pick_long_run_bounded),
        cmocka_unit_test(test_pick_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
