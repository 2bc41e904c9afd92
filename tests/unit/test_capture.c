/*
 * test_capture.c - offline capture reading: packets and times delivered,
 * a truncated last record reported after the packets before it, errors
 * that name the file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leakwatch/capture.h"

/* Writes n Ethernet-sized records of 60 bytes, one second apart. */
static void write_pcap(const char *path, int n, int linktype)
{
    pcap_t *dead = pcap_open_dead(linktype, 65535);
    assert_non_null(dead);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    assert_non_null(d);
    uint8_t frame[60];
    for (int i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof(h));
        h.ts.tv_sec = 1709283600 + i;
        h.ts.tv_usec = 250000;
        h.caplen = sizeof(frame);
        h.len = 1514; /* wire length larger than captured */
        memset(frame, i, sizeof(frame));
        pcap_dump((u_char *)d, &h, frame);
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/lw_test_capture_%d_%s", (int)getpid(), name);
}

static void test_reads_packets_in_order(void **state)
{
    (void)state;
    char path[256], err[512];
    tmp_path(path, sizeof(path), "ok.pcap");
    write_pcap(path, 3, DLT_EN10MB);

    lw_capture *c;
    assert_int_equal(lw_capture_open_offline(path, &c, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_capture_linktype(c), DLT_EN10MB);
    lw_packet p;
    for (int i = 0; i < 3; i++) {
        memset(&p, 0, sizeof(p));
        assert_int_equal(lw_capture_next(c, &p), 1);
        assert_int_equal(p.ts_us, (uint64_t)(1709283600 + i) * 1000000u + 250000u);
        assert_int_equal(p.caplen, 60);
        assert_int_equal(p.wirelen, 1514);
        assert_int_equal(p.data[0], i);
        assert_int_equal(p.linktype, DLT_EN10MB);
    }
    assert_int_equal(lw_capture_next(c, &p), 0);
    uint64_t done, total;
    lw_capture_progress(c, &done, &total);
    assert_true(total > 0);
    lw_capture_close(c);
    unlink(path);
}

static void test_truncated_last_record(void **state)
{
    (void)state;
    char path[256], err[512];
    tmp_path(path, sizeof(path), "trunc.pcap");
    write_pcap(path, 3, DLT_EN10MB);
    /* 24-byte file header + 3 x (16 + 60); cut 10 bytes into the last data. */
    assert_int_equal(truncate(path, 24 + 2 * 76 + 16 + 10), 0);

    lw_capture *c;
    assert_int_equal(lw_capture_open_offline(path, &c, err, sizeof(err)), LW_OK);
    lw_packet p;
    assert_int_equal(lw_capture_next(c, &p), 1);
    assert_int_equal(lw_capture_next(c, &p), 1);
    assert_int_equal(lw_capture_next(c, &p), LW_ERR_TRUNCATED);
    assert_non_null(strstr(lw_capture_error(c), path));
    lw_capture_close(c);
    unlink(path);
}

static void test_truncated_record_header(void **state)
{
    (void)state;
    char path[256], err[512];
    tmp_path(path, sizeof(path), "trunchdr.pcap");
    write_pcap(path, 2, DLT_EN10MB);
    assert_int_equal(truncate(path, 24 + 76 + 5), 0); /* 5 bytes of a record header */

    lw_capture *c;
    assert_int_equal(lw_capture_open_offline(path, &c, err, sizeof(err)), LW_OK);
    lw_packet p;
    assert_int_equal(lw_capture_next(c, &p), 1);
    assert_int_equal(lw_capture_next(c, &p), LW_ERR_TRUNCATED);
    lw_capture_close(c);
    unlink(path);
}

static void test_missing_file_names_it(void **state)
{
    (void)state;
    char err[512];
    lw_capture *c = (lw_capture *)1;
    assert_int_equal(lw_capture_open_offline("/nonexistent/x.pcap", &c, err, sizeof(err)),
                     LW_ERR_PCAP);
    assert_null(c);
    assert_non_null(strstr(err, "/nonexistent/x.pcap"));
}

static void test_not_a_capture(void **state)
{
    (void)state;
    char path[256], err[512];
    tmp_path(path, sizeof(path), "garbage.pcap");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a capture file at all, just text\n", f);
    fclose(f);
    lw_capture *c;
    assert_int_equal(lw_capture_open_offline(path, &c, err, sizeof(err)), LW_ERR_PCAP);
    assert_non_null(strstr(err, path));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_packets_in_order),
        cmocka_unit_test(test_truncated_last_record),
        cmocka_unit_test(test_truncated_record_header),
        cmocka_unit_test(test_missing_file_names_it),
        cmocka_unit_test(test_not_a_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
