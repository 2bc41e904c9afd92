/*
 * test_alert.c - EVE alert and stats lines: field names and order, src/dest
 * as given (inside sender, outside receiver), per-kind counts only for kinds
 * present, masked samples escaped, and an over-long line refused whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "leakwatch/alert.h"

static lw_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    lw_addr x;
    memset(&x, 0, sizeof(x));
    x.family = 4;
    x.b[0] = a;
    x.b[1] = b;
    x.b[2] = c;
    x.b[3] = d;
    return x;
}

static const char *const kinds[] = {"email", "phone", "credit_card"};
static const uint32_t per_kind[] = {3, 0, 2};
static const char samples[2][LW_PII_MASK_MAX] = {"j***@example.com", "411111******1111"};

static lw_alert sample_alert(const lw_addr *src, const lw_addr *dst)
{
    lw_alert a = {
        .ts_us = 1709283600123456ull,
        .flow_id = 42,
        .src_ip = src,
        .src_port = 8080,
        .dest_ip = dst,
        .dest_port = 51001,
        .proto = LW_PROTO_TCP,
        .app_proto = LW_APP_HTTP,
        .community_id = "1:abc=",
        .signature_id = 9000001,
        .signature = "sig",
        .severity = 1,
        .detector = "pair",
        .window_s = 60,
        .threshold = 5,
        .distinct = 5,
        .kind_names = kinds,
        .per_kind = per_kind,
        .kind_count = 3,
        .samples = samples,
        .sample_count = 2,
        .first_ts_us = 1709283600000000ull,
        .crossed_ts_us = 1709283600100000ull,
        .pkts_toserver = 3,
        .pkts_toclient = 4,
        .bytes_toserver = 300,
        .bytes_toclient = 4000,
        .flow_start_us = 1709283599000000ull,
    };
    return a;
}

static void test_alert_line_exact(void **state)
{
    (void)state;
    lw_addr src = v4(10, 9, 9, 9), dst = v4(198, 51, 100, 7);
    lw_alert a = sample_alert(&src, &dst);
    char buf[4096];
    size_t n = lw_alert_format(&a, buf, sizeof(buf));
    const char *want =
        "{\"timestamp\":\"2024-03-01T09:00:00.123456+0000\",\"flow_id\":42,"
        "\"event_type\":\"alert\",\"src_ip\":\"10.9.9.9\",\"src_port\":8080,"
        "\"dest_ip\":\"198.51.100.7\",\"dest_port\":51001,\"proto\":\"TCP\","
        "\"app_proto\":\"http\",\"community_id\":\"1:abc=\","
        "\"alert\":{\"action\":\"allowed\",\"signature_id\":9000001,\"rev\":1,"
        "\"signature\":\"sig\",\"category\":\"pii-exfiltration\",\"severity\":1},"
        "\"pii\":{\"detector\":\"pair\",\"window_s\":60,\"threshold\":5,\"distinct\":5,"
        "\"first_seen\":\"2024-03-01T09:00:00.000000+0000\","
        "\"threshold_reached\":\"2024-03-01T09:00:00.100000+0000\","
        "\"types\":{\"email\":3,\"credit_card\":2},"
        "\"samples\":[\"j***@example.com\",\"411111******1111\"]},"
        "\"flow\":{\"pkts_toserver\":3,\"pkts_toclient\":4,\"bytes_toserver\":300,"
        "\"bytes_toclient\":4000,\"start\":\"2024-03-01T08:59:59.000000+0000\"}}\n";
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void test_alert_ipv6_and_udp(void **state)
{
    (void)state;
    lw_addr src, dst;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    src.family = dst.family = 6;
    src.b[0] = 0xfd;
    src.b[15] = 0x10;
    dst.b[0] = 0x20;
    dst.b[1] = 0x01;
    dst.b[2] = 0x0d;
    dst.b[3] = 0xb8;
    dst.b[15] = 0x50;
    lw_alert a = sample_alert(&src, &dst);
    a.proto = LW_PROTO_UDP;
    a.community_id = NULL; /* omitted when it could not be computed */
    char buf[4096];
    assert_true(lw_alert_format(&a, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"src_ip\":\"fd00::10\""));
    assert_non_null(strstr(buf, "\"dest_ip\":\"2001:db8::50\""));
    assert_non_null(strstr(buf, "\"proto\":\"UDP\""));
    assert_null(strstr(buf, "community_id"));
}

static void test_sample_is_escaped(void **state)
{
    (void)state;
    static const char odd[1][LW_PII_MASK_MAX] = {"a\"b\\c\n"};
    lw_addr src = v4(10, 0, 0, 1), dst = v4(203, 0, 113, 1);
    lw_alert a = sample_alert(&src, &dst);
    a.samples = odd;
    a.sample_count = 1;
    char buf[4096];
    assert_true(lw_alert_format(&a, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"samples\":[\"a\\\"b\\\\c\\n\"]"));
    assert_int_equal(strchr(buf, '\n'), buf + strlen(buf) - 1); /* one line */
}

static void test_too_small_buffer_gives_nothing(void **state)
{
    (void)state;
    lw_addr src = v4(10, 0, 0, 1), dst = v4(203, 0, 113, 1);
    lw_alert a = sample_alert(&src, &dst);
    char full[4096];
    size_t n = lw_alert_format(&a, full, sizeof(full));
    char buf[4096];
    for (size_t cap = 0; cap <= n; cap++)
        assert_int_equal(lw_alert_format(&a, buf, cap), 0); /* room for n+NUL needed */
    assert_int_equal(lw_alert_format(&a, buf, n + 1), n);
}

static void test_stats_line(void **state)
{
    (void)state;
    lw_stat st[] = {{"decode.pkts", 11}, {"decode.ipv4.truncated", 0}, {"alert.alerts", 1}};
    char buf[512];
    size_t n = lw_stats_format(1709283600000000ull, -1, st, 3, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "{\"timestamp\":\"2024-03-01T09:00:00.000000+0000\","
                             "\"event_type\":\"stats\",\"stats\":{\"decode.pkts\":11,"
                             "\"decode.ipv4.truncated\":0,\"alert.alerts\":1}}\n");
    /* one worker's line says which */
    n = lw_stats_format(1709283600000000ull, 3, st, 1, buf, sizeof(buf));
    assert_true(n > 0);
    assert_string_equal(buf, "{\"timestamp\":\"2024-03-01T09:00:00.000000+0000\","
                             "\"event_type\":\"stats\",\"worker\":3,\"stats\":{"
                             "\"decode.pkts\":11}}\n");
    /* too small a buffer: 0, never a cut line */
    assert_int_equal(lw_stats_format(1709283600000000ull, -1, st, 3, buf, 40), 0);
}

static void test_proto_names(void **state)
{
    (void)state;
    char tmp[8];
    assert_string_equal(lw_alert_proto_name(6, tmp), "TCP");
    assert_string_equal(lw_alert_proto_name(17, tmp), "UDP");
    assert_string_equal(lw_alert_proto_name(58, tmp), "IPv6-ICMP");
    assert_string_equal(lw_alert_proto_name(132, tmp), "132");
}

static void test_app_sections(void **state)
{
    (void)state;
    lw_addr src = v4(10, 1, 2, 3), dst = v4(203, 0, 113, 25);
    lw_alert a = sample_alert(&src, &dst);
    static const char rcpt[2][LW_PII_MASK_MAX] = {"b***@example.net", "c***@example.org"};
    lw_alert_app app = {
        .http_hostname = "upload.example.com",
        .http_url = "/users/***?id=***",
        .http_method = "POST",
        .http_status = 200,
        .smtp_helo = "ws1.example.com",
        .smtp_mail_from = "a***@example.com",
        .smtp_rcpt_to = rcpt,
        .smtp_rcpt_count = 2,
        .dns_rrname_domain = "example.net",
        .dns_query_count = 30,
    };
    a.app = &app;
    char buf[4096];
    assert_true(lw_alert_format(&a, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"http\":{\"hostname\":\"upload.example.com\","
                                "\"url\":\"/users/***?id=***\",\"http_method\":\"POST\","
                                "\"status\":200}"));
    assert_non_null(strstr(buf, "\"smtp\":{\"helo\":\"ws1.example.com\","
                                "\"mail_from\":\"a***@example.com\","
                                "\"rcpt_to\":[\"b***@example.net\",\"c***@example.org\"]}"));
    assert_non_null(strstr(buf, "\"dns\":{\"rrname_domain\":\"example.net\","
                                "\"query_count\":30}"));
    /* nothing known: no section at all */
    lw_alert_app empty;
    memset(&empty, 0, sizeof(empty));
    a.app = &empty;
    assert_true(lw_alert_format(&a, buf, sizeof(buf)) > 0);
    assert_null(strstr(buf, "\"http\":{"));
    assert_null(strstr(buf, "\"smtp\":{"));
    assert_null(strstr(buf, "\"dns\":{"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_line_exact),
        cmocka_unit_test(test_alert_ipv6_and_udp),
        cmocka_unit_test(test_sample_is_escaped),
        cmocka_unit_test(test_too_small_buffer_gives_nothing),
        cmocka_unit_test(test_stats_line),
        cmocka_unit_test(test_proto_names),
        cmocka_unit_test(test_app_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
