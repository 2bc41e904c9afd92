/*
 * test_pcapfile.c - the in-memory pcap record walker on its own: which
 * headers it takes, the records it hands over from a buffer, the cut of a
 * record to the snapshot length, and errors that stay. (That it hands over
 * what libpcap does is checked in test_capture.c, file by file, and by
 * fuzz_pcapfile.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "leakwatch/err.h"
#include "leakwatch/pcapfile.h"

/* Little-endian microsecond header, version 2.4. */
static size_t header(uint8_t *b, uint32_t snaplen)
{
    static const uint8_t h[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                                  0,    0,    0,    0,    0, 0, 0, 0, 1, 0, 0, 0};
    memcpy(b, h, sizeof(h));
    memcpy(b + 16, &snaplen, 4); /* the tests run on little-endian hosts */
    return sizeof(h);
}

static size_t record(uint8_t *b, uint32_t sec, uint32_t usec, uint32_t caplen, uint32_t len,
                     uint8_t fill, size_t data)
{
    uint32_t f[4] = {sec, usec, caplen, len};
    memcpy(b, f, sizeof(f));
    memset(b + 16, fill, data);
    return 16 + data;
}

static void test_headers_taken_and_refused(void **state)
{
    (void)state;
    uint8_t b[64];
    lw_pcapfile f;
    size_t n = header(b, 65535);
    assert_true(lw_pcapfile_init(&f, b, n, 65535));
    assert_false(f.big_endian);
    assert_false(f.nsec);
    assert_false(lw_pcapfile_init(&f, b, n - 1, 65535)); /* header cut short */
    assert_false(lw_pcapfile_init(&f, b, n, 0));         /* no snapshot length */
    assert_false(lw_pcapfile_init(&f, b, n, LW_PCAPFILE_MAX_CAPLEN + 1));
    b[6] = 3; /* 2.3 */
    assert_false(lw_pcapfile_init(&f, b, n, 65535));
    b[6] = 4;
    b[0] = 0x34; /* the patched-libpcap magic a1b2cd34 */
    b[1] = 0xcd;
    assert_false(lw_pcapfile_init(&f, b, n, 65535));
    static const uint8_t nsec_be[8] = {0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4};
    memcpy(b, nsec_be, sizeof(nsec_be));
    assert_true(lw_pcapfile_init(&f, b, n, 65535));
    assert_true(f.big_endian);
    assert_true(f.nsec);
    static const uint8_t pcapng[4] = {0x0a, 0x0d, 0x0d, 0x0a};
    memcpy(b, pcapng, sizeof(pcapng));
    assert_false(lw_pcapfile_init(&f, b, n, 65535));
}

static void test_records_in_place(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = header(b, 100);
    n += record(b + n, 10, 20, 3, 60, 0xaa, 3);
    n += record(b + n, 11, 999999, 150, 1500, 0xbb, 150); /* above the snapshot length */
    n += record(b + n, 12, 0, 0, 0, 0, 0);
    lw_pcapfile f;
    assert_true(lw_pcapfile_init(&f, b, n, 100));
    lw_pcapfile_rec r;
    assert_int_equal(lw_pcapfile_next(&f, &r), 1);
    assert_int_equal(r.ts_us, 10000020);
    assert_int_equal(r.caplen, 3);
    assert_int_equal(r.len, 60);
    assert_ptr_equal(r.data, b + 24 + 16); /* no copy */
    assert_int_equal(lw_pcapfile_next(&f, &r), 1);
    assert_int_equal(r.ts_us, 11999999);
    assert_int_equal(r.caplen, 100); /* cut to the snapshot length */
    assert_int_equal(r.data[99], 0xbb);
    assert_int_equal(lw_pcapfile_next(&f, &r), 1);
    assert_int_equal(r.caplen, 0);
    assert_int_equal(f.off, n);
    assert_int_equal(lw_pcapfile_next(&f, &r), 0);
    assert_int_equal(lw_pcapfile_next(&f, &r), 0);
}

static void test_errors_stay(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = header(b, 65535);
    n += record(b + n, 1, 2, 300000, 300000, 0, 4); /* beyond libpcap's largest */
    lw_pcapfile f;
    assert_true(lw_pcapfile_init(&f, b, n, 65535));
    lw_pcapfile_rec r;
    assert_int_equal(lw_pcapfile_next(&f, &r), LW_ERR_PCAP);
    assert_string_equal(f.error,
                        "invalid packet capture length 300000, bigger than snaplen of 65535");
    assert_int_equal(lw_pcapfile_next(&f, &r), LW_ERR_PCAP);

    n = header(b, 65535);
    n += record(b + n, 1, 2, 40, 40, 0, 30); /* ten bytes missing */
    assert_true(lw_pcapfile_init(&f, b, n, 65535));
    assert_int_equal(lw_pcapfile_next(&f, &r), LW_ERR_TRUNCATED);
    assert_string_equal(f.error,
                        "truncated dump file; tried to read 40 captured bytes, only got 30");
    assert_int_equal(lw_pcapfile_next(&f, &r), LW_ERR_TRUNCATED);

    n = header(b, 65535) + 5; /* five bytes of a record header */
    assert_true(lw_pcapfile_init(&f, b, n, 65535));
    assert_int_equal(lw_pcapfile_next(&f, &r), LW_ERR_TRUNCATED);
    assert_string_equal(f.error, "truncated dump file; tried to read 16 header bytes, only got 5");
}

static void test_link_types(void **state)
{
    (void)state;
    assert_true(lw_pcapfile_link_ok(1, false)); /* Ethernet */
    assert_true(lw_pcapfile_link_ok(1, true));
    assert_true(lw_pcapfile_link_ok(113, false));  /* Linux cooked, host order */
    assert_false(lw_pcapfile_link_ok(113, true));  /* libpcap rewrites its header */
    assert_false(lw_pcapfile_link_ok(249, false)); /* USBPcap: larger records allowed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_taken_and_refused),
        cmocka_unit_test(test_records_in_place),
        cmocka_unit_test(test_errors_stay),
        cmocka_unit_test(test_link_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
