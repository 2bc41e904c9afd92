/*
 * test_stream.c - in-order TCP delivery: retransmissions, overlaps, gaps,
 * sequence wrap-around, mid-stream pick-up, snaplen cuts and depth.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "leakwatch/stream.h"

typedef struct sink {
    uint8_t buf[4096];
    size_t len;
    int runs;
    int gaps; /* runs delivered with gap_before */
} sink;

static void collect(void *ctx, int dir, const uint8_t *data, size_t len, bool gap_before)
{
    sink *s = ctx;
    assert_int_equal(dir, 0);
    assert_true(s->len + len <= sizeof(s->buf));
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->runs++;
    if (gap_before)
        s->gaps++;
}

static void seg(lw_stream *st, uint32_t seq, uint8_t flags, const char *data, uint32_t wire_len,
                uint64_t depth, uint64_t *ctr, sink *out)
{
    lw_packet p;
    memset(&p, 0, sizeof(p));
    p.tcp_seq = seq;
    p.tcp_flags = flags;
    p.payload = (const uint8_t *)data;
    p.payload_len = data ? (uint32_t)strlen(data) : 0;
    p.payload_wire_len = wire_len ? wire_len : p.payload_len;
    lw_stream_segment(st, 0, &p, depth, ctr, collect, out);
}

static void test_in_order_after_syn(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 1000, LW_TCP_SYN, NULL, 0, 0, ctr, &out);
    seg(&st, 1001, LW_TCP_ACK, "hello ", 0, 0, ctr, &out);
    seg(&st, 1007, LW_TCP_ACK, "world", 0, 0, ctr, &out);
    assert_int_equal(out.len, 11);
    assert_memory_equal(out.buf, "hello world", 11);
    assert_int_equal(out.gaps, 0);
    assert_int_equal(ctr[LW_STREAM_CTR_MIDSTREAM], 0);
    assert_int_equal(ctr[LW_STREAM_CTR_BYTES], 11);
}

static void test_midstream_pickup(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 5000, LW_TCP_ACK, "abc", 0, 0, ctr, &out);
    seg(&st, 5003, LW_TCP_ACK, "def", 0, 0, ctr, &out);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.buf, "abcdef", 6);
    assert_int_equal(ctr[LW_STREAM_CTR_MIDSTREAM], 1);
}

static void test_retransmission_not_delivered_twice(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 1, LW_TCP_ACK, "abc", 0, 0, ctr, &out);
    seg(&st, 1, LW_TCP_ACK, "abc", 0, 0, ctr, &out);
    seg(&st, 4, LW_TCP_ACK, "def", 0, 0, ctr, &out);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.buf, "abcdef", 6);
    assert_int_equal(ctr[LW_STREAM_CTR_RETRANSMIT], 1);
}

static void test_overlap_first_copy_wins(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 1, LW_TCP_ACK, "abcd", 0, 0, ctr, &out);
    seg(&st, 3, LW_TCP_ACK, "XXef", 0, 0, ctr, &out); /* "XX" overlaps "cd" */
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.buf, "abcdef", 6);
    assert_int_equal(ctr[LW_STREAM_CTR_OVERLAP], 1);
}

static void test_gap_is_marked(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 1, LW_TCP_ACK, "abc", 0, 0, ctr, &out);
    seg(&st, 10, LW_TCP_ACK, "xyz", 0, 0, ctr, &out);
    assert_int_equal(out.len, 6);
    assert_int_equal(out.gaps, 1);
    assert_int_equal(ctr[LW_STREAM_CTR_GAP], 1);
}

static void test_snaplen_cut_marks_next_run(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    /* 3 bytes captured of 10 on the wire; the next segment follows the 10. */
    seg(&st, 1, LW_TCP_ACK, "abc", 10, 0, ctr, &out);
    seg(&st, 11, LW_TCP_ACK, "def", 0, 0, ctr, &out);
    assert_int_equal(out.len, 6);
    assert_int_equal(out.runs, 2);
    assert_int_equal(out.gaps, 1);
    assert_int_equal(ctr[LW_STREAM_CTR_GAP], 1);
}

static void test_sequence_wraps(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 0xfffffffdu, LW_TCP_ACK, "abcd", 0, 0, ctr, &out); /* crosses 2^32 */
    seg(&st, 1, LW_TCP_ACK, "ef", 0, 0, ctr, &out);
    seg(&st, 0xffffffffu, LW_TCP_ACK, "cd", 0, 0, ctr, &out); /* old: retransmission */
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.buf, "abcdef", 6);
    assert_int_equal(out.gaps, 0);
    assert_int_equal(ctr[LW_STREAM_CTR_RETRANSMIT], 1);
}

static void test_depth_limits_delivery(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 1, LW_TCP_ACK, "abcd", 0, 6, ctr, &out);
    seg(&st, 5, LW_TCP_ACK, "efgh", 0, 6, ctr, &out);
    seg(&st, 9, LW_TCP_ACK, "ijkl", 0, 6, ctr, &out);
    assert_int_equal(out.len, 6);
    assert_memory_equal(out.buf, "abcdef", 6);
    assert_int_equal(ctr[LW_STREAM_CTR_DEPTH_REACHED], 1);
}

static void test_data_after_fin_not_delivered(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 1, LW_TCP_ACK | LW_TCP_FIN, "abc", 0, 0, ctr, &out);
    seg(&st, 5, LW_TCP_ACK, "def", 0, 0, ctr, &out);
    assert_int_equal(out.len, 3);
    assert_int_equal(ctr[LW_STREAM_CTR_AFTER_CLOSE], 1);
}

static void test_data_on_syn(void **state)
{
    (void)state;
    lw_stream st = {0};
    uint64_t ctr[LW_STREAM_CTR_MAX] = {0};
    sink out = {0};
    seg(&st, 100, LW_TCP_SYN, "tfo", 0, 0, ctr, &out); /* TCP Fast Open data */
    seg(&st, 104, LW_TCP_ACK, "rest", 0, 0, ctr, &out);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.buf, "tforest", 7);
    assert_int_equal(out.gaps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_after_syn),
        cmocka_unit_test(test_midstream_pickup),
        cmocka_unit_test(test_retransmission_not_delivered_twice),
        cmocka_unit_test(test_overlap_first_copy_wins),
        cmocka_unit_test(test_gap_is_marked),
        cmocka_unit_test(test_snaplen_cut_marks_next_run),
        cmocka_unit_test(test_sequence_wraps),
        cmocka_unit_test(test_depth_limits_delivery),
        cmocka_unit_test(test_data_after_fin_not_delivered),
        cmocka_unit_test(test_data_on_syn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
