/*
 * test_json.c - the JSON line writer: structure, escaping, limits, time.
 *
 * Each test builds a line and compares the whole output byte for byte, so a
 * stray comma, a missing escape or a half-written line fails. Invalid UTF-8
 * vectors follow RFC 3629's table (overlongs, surrogates, beyond U+10FFFF,
 * truncated sequences) and the boundaries just inside it. The misuse tests
 * check that every way of making invalid JSON loses the whole line. Time
 * stamps are checked against fixed strings (computed with GNU date) and
 * against gmtime_r over a spread of values, including under another TZ.
 */
#include "leakwatch/json.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ---- helpers ------------------------------------------------------------ */

/* Writes {"v":<s>} with s given by bytes and returns the finished line. */
static const char *one_string(char *buf, size_t cap, const char *s, size_t len)
{
    lw_json j;
    lw_json_init(&j, buf, cap);
    lw_json_object_begin(&j);
    lw_json_key(&j, "v");
    lw_json_string_len(&j, s, len);
    lw_json_object_end(&j);
    assert_true(lw_json_finish(&j) > 0);
    return buf;
}

#define ESC(bytes, expect)                                                                         \
    do {                                                                                           \
        char b_[256];                                                                              \
        one_string(b_, sizeof(b_), bytes, sizeof(bytes) - 1);                                      \
        assert_string_equal(b_, "{\"v\":\"" expect "\"}\n");                                       \
    } while (0)

/* ---- structure ---------------------------------------------------------- */

static void test_empty_object(void **state)
{
    (void)state;
    char buf[16];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 3);
    assert_string_equal(buf, "{}\n");
}

static void test_flat_object(void **state)
{
    (void)state;
    char buf[128];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "event_type", "alert");
    lw_json_kv_uint(&j, "flow_id", 42);
    lw_json_key(&j, "ok");
    lw_json_bool(&j, true);
    lw_json_key(&j, "no");
    lw_json_bool(&j, false);
    lw_json_key(&j, "nil");
    lw_json_null(&j);
    lw_json_object_end(&j);
    const char *want =
        "{\"event_type\":\"alert\",\"flow_id\":42,\"ok\":true,\"no\":false,\"nil\":null}\n";
    assert_int_equal(lw_json_finish(&j), strlen(want));
    assert_string_equal(buf, want);
}

static void test_nested_commas(void **state)
{
    (void)state;
    char buf[128];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_key(&j, "a");
    lw_json_array_begin(&j);
    lw_json_uint(&j, 1);
    lw_json_int(&j, -2);
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "b", "c");
    lw_json_object_end(&j);
    lw_json_array_begin(&j);
    lw_json_array_end(&j);
    lw_json_object_begin(&j);
    lw_json_object_end(&j);
    lw_json_array_end(&j);
    lw_json_key(&j, "d");
    lw_json_object_begin(&j);
    lw_json_kv_uint(&j, "e", 0);
    lw_json_kv_uint(&j, "f", 5);
    lw_json_object_end(&j);
    lw_json_object_end(&j);
    assert_true(lw_json_finish(&j) > 0);
    assert_string_equal(buf, "{\"a\":[1,-2,{\"b\":\"c\"},[],{}],\"d\":{\"e\":0,\"f\":5}}\n");
}

static void test_top_level_array_and_scalar(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_array_begin(&j);
    lw_json_string(&j, "x");
    lw_json_string(&j, "y");
    lw_json_array_end(&j);
    assert_int_equal(lw_json_finish(&j), 10);
    assert_string_equal(buf, "[\"x\",\"y\"]\n");

    lw_json_init(&j, buf, sizeof(buf));
    lw_json_uint(&j, 7);
    assert_int_equal(lw_json_finish(&j), 2);
    assert_string_equal(buf, "7\n");
}

static void test_null_string_is_null(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "s", NULL);
    lw_json_key(&j, "t");
    lw_json_string_len(&j, NULL, 5);
    lw_json_object_end(&j);
    assert_true(lw_json_finish(&j) > 0);
    assert_string_equal(buf, "{\"s\":null,\"t\":null}\n");
}

static void test_key_is_escaped(void **state)
{
    (void)state;
    char buf[64];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_kv_uint(&j, "a\"b\n", 1);
    lw_json_object_end(&j);
    assert_true(lw_json_finish(&j) > 0);
    assert_string_equal(buf, "{\"a\\\"b\\n\":1}\n");
}

/* ---- numbers ------------------------------------------------------------ */

static void test_number_extremes(void **state)
{
    (void)state;
    char buf[160];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_array_begin(&j);
    lw_json_uint(&j, 0);
    lw_json_uint(&j, 9);
    lw_json_uint(&j, 10);
    lw_json_uint(&j, UINT64_MAX);
    lw_json_int(&j, 0);
    lw_json_int(&j, -1);
    lw_json_int(&j, INT64_MAX);
    lw_json_int(&j, INT64_MIN);
    lw_json_int(&j, INT64_MIN + 1);
    lw_json_array_end(&j);
    assert_true(lw_json_finish(&j) > 0);
    assert_string_equal(buf, "[0,9,10,18446744073709551615,0,-1,9223372036854775807,"
                             "-9223372036854775808,-9223372036854775807]\n");
}

/* ---- escaping ----------------------------------------------------------- */

static void test_escape_short_forms(void **state)
{
    (void)state;
    ESC("\"\\\b\f\n\r\t", "\\\"\\\\\\b\\f\\n\\r\\t");
}

static void test_escape_other_controls(void **state)
{
    (void)state;
    ESC("\x01\x1f\x0b\x7f", "\\u0001\\u001f\\u000b\\u007f");
}

static void test_escape_nul_inside(void **state)
{
    (void)state;
    ESC("a\0b", "a\\u0000b");
}

static void test_plain_ascii_untouched(void **state)
{
    (void)state;
    ESC(" !#/:<>?@[]^_`{|}~'", " !#/:<>?@[]^_`{|}~'");
}

static void test_empty_string(void **state)
{
    (void)state;
    ESC("", "");
}

static void test_utf8_valid_passes(void **state)
{
    (void)state;
    ESC("\xc3\xa9", "\xc3\xa9");                 /* U+00E9 */
    ESC("\xc2\x80", "\xc2\x80");                 /* U+0080, smallest 2-byte */
    ESC("\xdf\xbf", "\xdf\xbf");                 /* U+07FF */
    ESC("\xe0\xa0\x80", "\xe0\xa0\x80");         /* U+0800, smallest 3-byte */
    ESC("\xe2\x82\xac", "\xe2\x82\xac");         /* U+20AC euro */
    ESC("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, below surrogates */
    ESC("\xee\x80\x80", "\xee\x80\x80");         /* U+E000, above surrogates */
    ESC("\xef\xbf\xbf", "\xef\xbf\xbf");         /* U+FFFF */
    ESC("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"); /* U+10000, smallest 4-byte */
    ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */
    ESC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last */
}

static void test_utf8_line_separators_escaped(void **state)
{
    (void)state;
    ESC("a\xe2\x80\xa8"
        "b\xe2\x80\xa9",
        "a\\u2028b\\u2029");
    /* Neighbours are ordinary. */
    ESC("\xe2\x80\xa7\xe2\x80\xaa", "\xe2\x80\xa7\xe2\x80\xaa");
}

static void test_utf8_lone_continuation(void **state)
{
    (void)state;
    ESC("\x80", "\\ufffd");
    ESC("a\xbf"
        "b",
        "a\\ufffdb");
}

static void test_utf8_overlong_rejected(void **state)
{
    (void)state;
    ESC("\xc0\xaf", "\\ufffd\\ufffd");                       /* '/' in 2 bytes */
    ESC("\xc1\xbf", "\\ufffd\\ufffd");                       /* U+007F in 2 */
    ESC("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");            /* '/' in 3 */
    ESC("\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd");            /* U+07FF in 3 */
    ESC("\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* U+FFFF in 4 */
}

static void test_utf8_surrogates_rejected(void **state)
{
    (void)state;
    ESC("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"); /* U+D800 */
    ESC("\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd"); /* U+DFFF */
}

static void test_utf8_above_max_rejected(void **state)
{
    (void)state;
    ESC("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* U+110000 */
    ESC("\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
    ESC("\xf8\x88\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
    ESC("\xfe\xff", "\\ufffd\\ufffd");
}

static void test_utf8_truncated(void **state)
{
    (void)state;
    ESC("\xe2\x82", "\\ufffd\\ufffd");   /* at the end */
    ESC("\xe2\x82x", "\\ufffd\\ufffdx"); /* cut by ASCII */
    ESC("\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd");
    ESC("\xc3", "\\ufffd");
    ESC("\xc3\xc3\xa9", "\\ufffd\xc3\xa9"); /* the second lead starts over */
}

/* string_len stops at len even where the bytes go on: no sequence is read
 * past the given length. */
static void test_utf8_not_read_past_len(void **state)
{
    (void)state;
    char buf[64];
    one_string(buf, sizeof(buf), "\xc3\xa9", 1);
    assert_string_equal(buf, "{\"v\":\"\\ufffd\"}\n");
}

/* ---- limits ------------------------------------------------------------- */

static size_t build_reference(char *buf, size_t cap)
{
    lw_json j;
    lw_json_init(&j, buf, cap);
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "k", "v\n\xe2\x80\xa8");
    lw_json_key(&j, "a");
    lw_json_array_begin(&j);
    lw_json_int(&j, INT64_MIN);
    lw_json_array_end(&j);
    lw_json_object_end(&j);
    return lw_json_finish(&j);
}

/* For every capacity the line is either complete and identical to the one
 * built with room to spare, or absent; it fits exactly when cap = len + 1. */
static void test_every_capacity_all_or_nothing(void **state)
{
    (void)state;
    char ref[256];
    size_t len = build_reference(ref, sizeof(ref));
    assert_true(len > 0);
    for (size_t cap = 0; cap <= len + 4; cap++) {
        char *buf = malloc(cap + 1);
        assert_non_null(buf);
        memset(buf, '#', cap + 1);
        size_t n = build_reference(buf, cap);
        if (cap >= len + 1) {
            assert_int_equal(n, len);
            assert_string_equal(buf, ref);
        } else {
            assert_int_equal(n, 0);
            if (cap > 0) {
                assert_int_equal(buf[0], '\0');
            }
        }
        assert_int_equal(buf[cap], '#'); /* nothing written past cap */
        free(buf);
    }
}

static void test_overflow_is_sticky(void **state)
{
    (void)state;
    char buf[16];
    char big[64];
    memset(big, 'a', sizeof(big));
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_key(&j, "k");
    lw_json_string_len(&j, big, sizeof(big));
    assert_true(j.overflow);
    /* Later small writes would fit but must not revive the line. */
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
    assert_string_equal(buf, "");
}

static void test_tiny_buffers(void **state)
{
    (void)state;
    char buf[4];
    lw_json j;
    lw_json_init(&j, buf, 0);
    lw_json_uint(&j, 1);
    assert_int_equal(lw_json_finish(&j), 0);
    lw_json_init(&j, buf, 1);
    lw_json_uint(&j, 1);
    assert_int_equal(lw_json_finish(&j), 0);
    assert_int_equal(buf[0], '\0');
    lw_json_init(&j, buf, 3); /* "1\n" needs 3 with the NUL */
    lw_json_uint(&j, 1);
    assert_int_equal(lw_json_finish(&j), 2);
    assert_string_equal(buf, "1\n");
    lw_json_init(&j, NULL, 100);
    lw_json_uint(&j, 1);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void nest(lw_json *j, int levels)
{
    for (int i = 0; i < levels; i++) {
        lw_json_array_begin(j);
    }
    for (int i = 0; i < levels; i++) {
        lw_json_array_end(j);
    }
}

static void test_depth_at_limit(void **state)
{
    (void)state;
    char buf[128];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    nest(&j, LW_JSON_MAX_DEPTH);
    assert_int_equal(lw_json_finish(&j), 2 * LW_JSON_MAX_DEPTH + 1);
}

static void test_depth_past_limit(void **state)
{
    (void)state;
    char buf[128];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    nest(&j, LW_JSON_MAX_DEPTH + 1);
    assert_true(j.overflow);
    assert_int_equal(lw_json_finish(&j), 0);
    assert_string_equal(buf, "");
}

/* ---- misuse ------------------------------------------------------------- */

static void test_unclosed_object(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_kv_uint(&j, "a", 1);
    assert_int_equal(lw_json_finish(&j), 0);
    assert_string_equal(buf, "");
}

static void test_extra_end(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_object_end(&j);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_mismatched_end(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_array_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_array_begin(&j);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_value_without_key(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_uint(&j, 1);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_key_in_array(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_array_begin(&j);
    lw_json_key(&j, "a");
    lw_json_uint(&j, 1);
    lw_json_array_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_key_at_top_level(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_key(&j, "a");
    lw_json_uint(&j, 1);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_two_keys_in_a_row(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_key(&j, "a");
    lw_json_key(&j, "b");
    lw_json_uint(&j, 1);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_key_without_value(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_key(&j, "a");
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_null_key(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_kv_uint(&j, NULL, 1);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_two_top_level_values(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_object_end(&j);
    lw_json_object_begin(&j);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 0);
}

static void test_nothing_written(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    assert_int_equal(lw_json_finish(&j), 0);
    assert_string_equal(buf, "");
}

static void test_finish_twice_keeps_line(void **state)
{
    (void)state;
    char buf[32];
    lw_json j;
    lw_json_init(&j, buf, sizeof(buf));
    lw_json_object_begin(&j);
    lw_json_object_end(&j);
    assert_int_equal(lw_json_finish(&j), 3);
    lw_json_uint(&j, 5); /* write after finish: ignored */
    assert_int_equal(lw_json_finish(&j), 0);
    assert_string_equal(buf, "{}\n");
}

/* ---- time stamps -------------------------------------------------------- */

static void test_ts_epoch(void **state)
{
    (void)state;
    char out[40];
    lw_json_format_ts(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000+0000");
}

static void test_ts_known_values(void **state)
{
    (void)state;
    char out[40];
    lw_json_format_ts(1706702400123456ull, out);
    assert_string_equal(out, "2024-01-31T12:00:00.123456+0000");
    lw_json_format_ts(951782400000001ull, out); /* leap day of a 400-year */
    assert_string_equal(out, "2000-02-29T00:00:00.000001+0000");
    lw_json_format_ts(4107542400000000ull, out); /* 2100 is not leap */
    assert_string_equal(out, "2100-03-01T00:00:00.000000+0000");
    lw_json_format_ts(946684799999999ull, out);
    assert_string_equal(out, "1999-12-31T23:59:59.999999+0000");
    lw_json_format_ts(253402300799000000ull, out);
    assert_string_equal(out, "9999-12-31T23:59:59.000000+0000");
}

static void test_ts_far_future(void **state)
{
    (void)state;
    char out[40];
    lw_json_format_ts(253402300800000000ull, out); /* five-digit year */
    assert_string_equal(out, "10000-01-01T00:00:00.000000+0000");
    memset(out, '#', sizeof(out));
    lw_json_format_ts(UINT64_MAX, out);
    assert_string_equal(out, "586524-01-19T08:01:49.551615+0000");
}

/* Cross-check with the C library over a spread of values, with TZ set to a
 * zone with DST: the writer must not notice. */
static void test_ts_matches_gmtime_any_tz(void **state)
{
    (void)state;
    const char *old = getenv("TZ");
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv("TZ", "America/New_York", 1);
    tzset();

    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; i++) {
        /* xorshift over the whole range, and dense near the epoch */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t ts = (i & 1) ? x : x % (4102444800ull * 1000000ull);
        char got[40], want[64];
        lw_json_format_ts(ts, got);

        time_t t = (time_t)(ts / 1000000u);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        snprintf(want, sizeof(want), "%04lld-%02d-%02dT%02d:%02d:%02d.%06u+0000",
                 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (unsigned)(ts % 1000000u));
        assert_string_equal(got, want);
    }

    if (saved != NULL) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

/* ---- addresses ---------------------------------------------------------- */

static void test_addr_v4(void **state)
{
    (void)state;
    lw_addr a = {.family = 4, .b = {192, 0, 2, 33}};
    char out[46];
    lw_json_format_addr(&a, out);
    assert_string_equal(out, "192.0.2.33");
}

static void test_addr_v6(void **state)
{
    (void)state;
    lw_addr a = {.family = 6};
    char out[46];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a.b), 1);
    lw_json_format_addr(&a, out);
    assert_string_equal(out, "2001:db8::1");
    /* The longest text form fits. */
    assert_int_equal(inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", a.b), 1);
    lw_json_format_addr(&a, out);
    assert_int_equal(strlen(out), 39);
}

static void test_addr_unset_and_unknown(void **state)
{
    (void)state;
    lw_addr a = {.family = 0, .b = {10, 0, 0, 1}};
    char out[46];
    memset(out, 'x', sizeof(out));
    lw_json_format_addr(&a, out);
    assert_string_equal(out, "");
    a.family = 5;
    memset(out, 'x', sizeof(out));
    lw_json_format_addr(&a, out);
    assert_string_equal(out, "");
    memset(out, 'x', sizeof(out));
    lw_json_format_addr(NULL, out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_object),
        cmocka_unit_test(test_flat_object),
        cmocka_unit_test(test_nested_commas),
        cmocka_unit_test(test_top_level_array_and_scalar),
        cmocka_unit_test(test_null_string_is_null),
        cmocka_unit_test(test_key_is_escaped),
        cmocka_unit_test(test_number_extremes),
        cmocka_unit_test(test_escape_short_forms),
        cmocka_unit_test(test_escape_other_controls),
        cmocka_unit_test(test_escape_nul_inside),
        cmocka_unit_test(test_plain_ascii_untouched),
        cmocka_unit_test(test_empty_string),
        cmocka_unit_test(test_utf8_valid_passes),
        cmocka_unit_test(test_utf8_line_separators_escaped),
        cmocka_unit_test(test_utf8_lone_continuation),
        cmocka_unit_test(test_utf8_overlong_rejected),
        cmocka_unit_test(test_utf8_surrogates_rejected),
        cmocka_unit_test(test_utf8_above_max_rejected),
        cmocka_unit_test(test_utf8_truncated),
        cmocka_unit_test(test_utf8_not_read_past_len),
        cmocka_unit_test(test_every_capacity_all_or_nothing),
        cmocka_unit_test(test_overflow_is_sticky),
        cmocka_unit_test(test_tiny_buffers),
        cmocka_unit_test(test_depth_at_limit),
        cmocka_unit_test(test_depth_past_limit),
        cmocka_unit_test(test_unclosed_object),
        cmocka_unit_test(test_extra_end),
        cmocka_unit_test(test_mismatched_end),
        cmocka_unit_test(test_value_without_key),
        cmocka_unit_test(test_key_in_array),
        cmocka_unit_test(test_key_at_top_level),
        cmocka_unit_test(test_two_keys_in_a_row),
        cmocka_unit_test(test_key_without_value),
        cmocka_unit_test(test_null_key),
        cmocka_unit_test(test_two_top_level_values),
        cmocka_unit_test(test_nothing_written),
        cmocka_unit_test(test_finish_twice_keeps_line),
        cmocka_unit_test(test_ts_epoch),
        cmocka_unit_test(test_ts_known_values),
        cmocka_unit_test(test_ts_far_future),
        cmocka_unit_test(test_ts_matches_gmtime_any_tz),
        cmocka_unit_test(test_addr_v4),
        cmocka_unit_test(test_addr_v6),
        cmocka_unit_test(test_addr_unset_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
