/*
 * test_mask.c - masked samples: their shapes, their limits, and the promise
 * that no sample ever holds the whole value.
 *
 * Only masked output is compared with assert_string_equal; values are fed in
 * and never printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "leakwatch/mask.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void mask(lw_validator v, const char *norm, char *out, size_t cap)
{
    memset(out, 0x5a, cap);
    lw_mask(v, norm, strlen(norm), out, cap);
}

static void expect_mask(lw_validator v, const char *norm, const char *want)
{
    char out[LW_PII_MASK_MAX];
    mask(v, norm, out, sizeof(out));
    assert_string_equal(out, want);
}

/* True when out is NUL-terminated within cap and printable ASCII. */
static bool printable(const char *out, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        if (out[i] == '\0')
            return true;
        if (out[i] < 0x20 || out[i] > 0x7e)
            return false;
    }
    return false;
}

static void test_mask_email(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_EMAIL, "john.doe@example.com", "j***@example.com");
    expect_mask(LW_VALIDATOR_EMAIL, "j@example.com", "j***@example.com");
}

static void test_mask_email_odd_shapes_fall_back(void **state)
{
    (void)state;
    /* no '@', empty local part, two '@': the generic mask */
    expect_mask(LW_VALIDATOR_EMAIL, "johndoeexample", "************le");
    expect_mask(LW_VALIDATOR_EMAIL, "@example.com", "**********om");
    expect_mask(LW_VALIDATOR_EMAIL, "a@b@example.com", "*************om");
    expect_mask(LW_VALIDATOR_EMAIL, "abc@", "****");
}

static void test_mask_phone_nanp(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_PHONE, "+12025550143", "+1-***-***-0143");
    expect_mask(LW_VALIDATOR_PHONE, "2025550143", "+1-***-***-0143");
    expect_mask(LW_VALIDATOR_PHONE, "(202) 555-0143", "+1-***-***-0143");
}

static void test_mask_phone_international(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_PHONE, "+442079460958", "+44-***-0958");
    expect_mask(LW_VALIDATOR_PHONE, "+74951234567", "+7-***-4567");
    expect_mask(LW_VALIDATOR_PHONE, "+35312345678", "+353-***-5678");
    expect_mask(LW_VALIDATOR_PHONE, "+44 20 7946 0958", "+44-***-0958");
}

static void test_mask_phone_odd_shapes_fall_back(void **state)
{
    (void)state;
    /* no country code, too short, unknown code */
    expect_mask(LW_VALIDATOR_PHONE, "442079460958", "**********58");
    expect_mask(LW_VALIDATOR_PHONE, "+4412", "*****");
    expect_mask(LW_VALIDATOR_PHONE, "+281234567890", "***********90");
}

static void test_mask_card(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_CARD, "4111111111111111", "411111******1111");
    expect_mask(LW_VALIDATOR_CARD, "378282246310005", "378282*****0005");
    expect_mask(LW_VALIDATOR_CARD, "4222222222222", "422222***2222");
    expect_mask(LW_VALIDATOR_CARD, "4111 1111 1111 1111", "4111 11** **** 1111");
    expect_mask(LW_VALIDATOR_LUHN, "4111111111111111", "411111******1111");
}

static void test_mask_card_length_preserved(void **state)
{
    static const char *const cards[] = {"4222222222222", "36227206271667", "378282246310005",
                                        "6011111111111117", "6200000000000000005"};
    char out[LW_PII_MASK_MAX];
    (void)state;
    for (size_t i = 0; i < N(cards); i++) {
        mask(LW_VALIDATOR_CARD, cards[i], out, sizeof(out));
        assert_int_equal(strlen(out), strlen(cards[i]));
    }
}

static void test_mask_card_short_falls_back(void **state)
{
    (void)state;
    /* 12 digits would leave 2 hidden: generic instead */
    expect_mask(LW_VALIDATOR_LUHN, "123456789015", "**********15");
}

static void test_mask_ssn(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_SSN, "123456788", "***-**-6788");
    expect_mask(LW_VALIDATOR_SSN, "123-45-6788", "***-**-6788");
    expect_mask(LW_VALIDATOR_SSN, "12345678", "******78");
}

static void test_mask_iban(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_IBAN, "DE89370400440532013000", "DE89**************3000");
    expect_mask(LW_VALIDATOR_IBAN, "GB82WEST12345698765432", "GB82**************5432");
    expect_mask(LW_VALIDATOR_IBAN, "NO9386011117947", "NO93*******7947");
    expect_mask(LW_VALIDATOR_IBAN, "GB82 WEST 1234 5698 7654 32", "GB82**************5432");
    expect_mask(LW_VALIDATOR_IBAN, "GB82WEST", "******ST");
}

static void test_mask_generic(void **state)
{
    (void)state;
    expect_mask(LW_VALIDATOR_NONE, "abcdefgh", "******gh");
    expect_mask(LW_VALIDATOR_NONE, "abcdefg", "*******");
    expect_mask(LW_VALIDATOR_NONE, "a", "*");
    expect_mask(LW_VALIDATOR_NONE, "", "");
}

static void test_mask_generic_capped(void **state)
{
    char big[LW_PII_VALUE_MAX];
    char out[LW_PII_MASK_MAX];
    (void)state;
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[sizeof(big) - 2] = 'z';
    mask(LW_VALIDATOR_NONE, big, out, sizeof(out));
    assert_int_equal(strlen(out), LW_PII_MASK_MAX - 1);
    /* the visible tail survives the cap */
    assert_int_equal(out[LW_PII_MASK_MAX - 2], 'z');
    assert_int_equal(out[LW_PII_MASK_MAX - 3], 'q');
    assert_int_equal(out[LW_PII_MASK_MAX - 4], '*');
}

static void test_mask_small_buffers(void **state)
{
    char out[6];
    (void)state;
    mask(LW_VALIDATOR_CARD, "4111111111111111", out, sizeof(out));
    assert_string_equal(out, "41111");
    mask(LW_VALIDATOR_NONE, "abcdefghijk", out, sizeof(out));
    assert_string_equal(out, "*****");
    mask(LW_VALIDATOR_EMAIL, "john@example.com", out, 1);
    assert_int_equal(out[0], '\0');
    lw_mask(LW_VALIDATOR_EMAIL, "john@example.com", 16, NULL, 0); /* no crash */
    lw_mask(LW_VALIDATOR_NONE, NULL, 5, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_mask_non_printable_replaced(void **state)
{
    char out[LW_PII_MASK_MAX];
    (void)state;
    lw_mask(LW_VALIDATOR_NONE, "abcdef\x01\xff", 8, out, sizeof(out));
    assert_string_equal(out, "******??");
    lw_mask(LW_VALIDATOR_EMAIL, "\x7f@ex\tample.com", 14, out, sizeof(out));
    assert_string_equal(out, "?***@ex?ample.com");
}

static void test_mask_never_holds_value(void **state)
{
    /* every kind, with values of the shapes their normalisers give */
    static const struct {
        lw_validator v;
        const char *norm;
    } cases[] = {
        {LW_VALIDATOR_EMAIL, "john.doe@example.com"},
        {LW_VALIDATOR_EMAIL, "j@example.com"},
        {LW_VALIDATOR_PHONE, "+12025550143"},
        {LW_VALIDATOR_PHONE, "+442079460958"},
        {LW_VALIDATOR_PHONE, "+1 202 555 0143"},
        {LW_VALIDATOR_CARD, "4111111111111111"},
        {LW_VALIDATOR_CARD, "4222222222222"},
        {LW_VALIDATOR_CARD, "4111-1111-1111-1111"},
        {LW_VALIDATOR_SSN, "123456788"},
        {LW_VALIDATOR_IBAN, "NO9386011117947"},
        {LW_VALIDATOR_IBAN, "DE89370400440532013000"},
        {LW_VALIDATOR_LUHN, "123456789015"},
        {LW_VALIDATOR_NONE, "secret-token-1234"},
        {LW_VALIDATOR_NONE, "ab"},
    };
    char out[LW_PII_MASK_MAX];
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        mask(cases[i].v, cases[i].norm, out, sizeof(out));
        assert_true(printable(out, sizeof(out)));
        if (strstr(out, cases[i].norm) != NULL)
            fail_msg("case %zu: sample holds the value", i);
    }
}

static void test_mask_star_values_still_hidden(void **state)
{
    /* a value whose visible part lines up with the stars: the safety net */
    char out[LW_PII_MASK_MAX];
    (void)state;
    mask(LW_VALIDATOR_NONE, "******ab", out, sizeof(out));
    assert_string_equal(out, "*******");
    mask(LW_VALIDATOR_EMAIL, "j***@example.com", out, sizeof(out));
    assert_int_equal(strlen(out), 15);
    assert_null(strchr(out, '@'));
}

static void check_url(const char *in, const char *want)
{
    char out[128];
    size_t n = lw_mask_url((const uint8_t *)in, strlen(in), out, sizeof(out));
    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}

static void test_mask_url(void **state)
{
    (void)state;
    check_url("/api/v1/upload", "/api/v1/upload");
    check_url("/users/jane.doe@example.com/export", "/users/***/export");
    check_url("/users/jane%40example.com", "/users/***");
    check_url("/orders/4111111111111111?x=1", "/orders/***?x=***");
    check_url("/search?q=jane%40example.com&page=2&flag", "/search?q=***&page=***&flag");
    check_url("/a?email=b@example.com#frag", "/a?email=***");
    check_url("/v2/items", "/v2/items"); /* short digit runs stay */
    check_url("/x\x01y", "/x?y");
    /* a long URL is cut with "..." and stays within the buffer */
    char longurl[400], out[32];
    memset(longurl, 'a', sizeof(longurl) - 1);
    longurl[0] = '/';
    longurl[sizeof(longurl) - 1] = 0;
    size_t n = lw_mask_url((const uint8_t *)longurl, strlen(longurl), out, sizeof(out));
    assert_true(n < sizeof(out));
    assert_string_equal(out + n - 3, "...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_url),
        cmocka_unit_test(test_mask_email),
        cmocka_unit_test(test_mask_email_odd_shapes_fall_back),
        cmocka_unit_test(test_mask_phone_nanp),
        cmocka_unit_test(test_mask_phone_international),
        cmocka_unit_test(test_mask_phone_odd_shapes_fall_back),
        cmocka_unit_test(test_mask_card),
        cmocka_unit_test(test_mask_card_length_preserved),
        cmocka_unit_test(test_mask_card_short_falls_back),
        cmocka_unit_test(test_mask_ssn),
        cmocka_unit_test(test_mask_iban),
        cmocka_unit_test(test_mask_generic),
        cmocka_unit_test(test_mask_generic_capped),
        cmocka_unit_test(test_mask_small_buffers),
        cmocka_unit_test(test_mask_non_printable_replaced),
        cmocka_unit_test(test_mask_never_holds_value),
        cmocka_unit_test(test_mask_star_values_still_hidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
