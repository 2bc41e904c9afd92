/*
 * test_app.c - protocol detection by content, never by port.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "leakwatch/app.h"

static lw_app_proto tcp(const char *s)
{
    return lw_app_detect(LW_PROTO_TCP, (const uint8_t *)s, strlen(s));
}

static void test_http_requests_and_responses(void **state)
{
    (void)state;
    assert_int_equal(tcp("POST /upload HTTP/1.1\r\n"), LW_APP_HTTP);
    assert_int_equal(tcp("GET / HTTP/1.0\r\n"), LW_APP_HTTP);
    assert_int_equal(tcp("HTTP/1.1 200 OK\r\n"), LW_APP_HTTP);
    assert_int_equal(tcp("PUT /x HTTP/1.1\r\n"), LW_APP_HTTP);
    /* lower-case methods are not HTTP (methods are case-sensitive) */
    assert_int_not_equal(tcp("get / HTTP/1.1\r\n"), LW_APP_HTTP);
}

static void test_smtp_and_ftp(void **state)
{
    (void)state;
    assert_int_equal(tcp("220 mail.example.com ESMTP Postfix\r\n"), LW_APP_SMTP);
    assert_int_equal(tcp("EHLO client.example.com\r\n"), LW_APP_SMTP);
    assert_int_equal(tcp("ehlo client\r\n"), LW_APP_SMTP);
    assert_int_equal(tcp("220 ProFTPD Server ready\r\n"), LW_APP_FTP);
    assert_int_equal(tcp("USER anonymous\r\n"), LW_APP_FTP);
}

static void test_tls_record_header(void **state)
{
    (void)state;
    const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    assert_int_equal(lw_app_detect(LW_PROTO_TCP, hello, sizeof(hello)), LW_APP_TLS);
    const uint8_t appdata[] = {0x17, 0x03, 0x03, 0x00, 0x20, 0xaa};
    assert_int_equal(lw_app_detect(LW_PROTO_TCP, appdata, sizeof(appdata)), LW_APP_TLS);
    const uint8_t bad_version[] = {0x16, 0x07, 0x01, 0x00, 0x20, 0xaa};
    assert_int_equal(lw_app_detect(LW_PROTO_TCP, bad_version, sizeof(bad_version)), LW_APP_FAILED);
}

static void test_dns_query_by_content(void **state)
{
    (void)state;
    /* id, flags RD, qd=1, an=ns=ar=0, "www.example.com" A IN */
    const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,
                         0,    3,    'w',  'w',  'w', 7,   'e', 'x', 'a', 'm', 'p',
                         'l',  'e',  3,    'c',  'o', 'm', 0,   0,   1,   0,   1};
    assert_int_equal(lw_app_detect(LW_PROTO_UDP, q, sizeof(q)), LW_APP_DNS);
    /* same message cut inside the name */
    assert_int_equal(lw_app_detect(LW_PROTO_UDP, q, 20), LW_APP_FAILED);
    /* a compression pointer in a question name is not a plain query */
    uint8_t ptr[sizeof(q)];
    memcpy(ptr, q, sizeof(q));
    ptr[12] = 0xc0;
    assert_int_equal(lw_app_detect(LW_PROTO_UDP, ptr, sizeof(ptr)), LW_APP_FAILED);
}

static void test_short_and_unknown(void **state)
{
    (void)state;
    assert_int_equal(tcp("GE"), LW_APP_UNKNOWN);
    assert_int_equal(tcp("\x01\x02\x03\x04\x05 random"), LW_APP_FAILED);
    assert_int_equal(lw_app_detect(LW_PROTO_UDP, (const uint8_t *)"hello", 5), LW_APP_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_requests_and_responses),
        cmocka_unit_test(test_smtp_and_ftp),
        cmocka_unit_test(test_tls_record_header),
        cmocka_unit_test(test_dns_query_by_content),
        cmocka_unit_test(test_short_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
