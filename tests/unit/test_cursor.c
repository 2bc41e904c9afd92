/*
 * test_cursor.c - the bounds-checked reader every decoder relies on.
 *
 * What must hold: each read either has its bytes or sets the sticky error,
 * returns zero and leaves the cursor at its end; once set the error stays
 * set; multi-byte reads are big-endian (or little-endian for the _le ones)
 * at any alignment; sub-cursors and clamps never reach past the parent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leakwatch/cursor.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void test_make_and_left(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, sizeof bytes);
    assert_int_equal(lw_cur_left(&c), sizeof bytes);
    assert_false(c.error);
    assert_true(lw_cur_has(&c, sizeof bytes));
    assert_false(lw_cur_has(&c, sizeof bytes + 1));
}

static void test_empty_cursor(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 0);
    assert_int_equal(lw_cur_left(&c), 0);
    assert_true(lw_cur_has(&c, 0));
    assert_int_equal(lw_cur_u8(&c), 0);
    assert_true(c.error);
}

static void test_u8_reads_in_order(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 2);
    assert_int_equal(lw_cur_u8(&c), 0x01);
    assert_int_equal(lw_cur_u8(&c), 0x02);
    assert_false(c.error);
    assert_int_equal(lw_cur_left(&c), 0);
}

static void test_u16be_and_le(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 4);
    assert_int_equal(lw_cur_u16be(&c), 0x0102);
    assert_int_equal(lw_cur_u16le(&c), 0x0403);
    assert_false(c.error);
}

static void test_u32be_and_le(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 8);
    assert_int_equal(lw_cur_u32be(&c), 0x01020304u);
    assert_int_equal(lw_cur_u32le(&c), 0x08070605u);
    assert_false(c.error);
}

static void test_unaligned_reads(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes + 1, sizeof bytes - 1); /* odd address */
    assert_int_equal(lw_cur_u32be(&c), 0x02030405u);
    assert_int_equal(lw_cur_u16be(&c), 0x0607);
    assert_false(c.error);
}

static void test_high_bit_values(void **state)
{
    (void)state;
    static const uint8_t ff[] = {0xff, 0xfe, 0xfd, 0xfc};
    lw_cursor c = lw_cur_make(ff, sizeof ff);
    assert_int_equal(lw_cur_u32be(&c), 0xfffefdfcu);
    c = lw_cur_make(ff, sizeof ff);
    assert_int_equal(lw_cur_u32le(&c), 0xfcfdfeffu);
    c = lw_cur_make(ff, sizeof ff);
    assert_int_equal(lw_cur_u16le(&c), 0xfeff);
}

static void test_short_u16_fails_and_moves_to_end(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 1);
    assert_int_equal(lw_cur_u16be(&c), 0);
    assert_true(c.error);
    assert_int_equal(lw_cur_left(&c), 0);
    c = lw_cur_make(bytes, 1);
    assert_int_equal(lw_cur_u16le(&c), 0);
    assert_true(c.error);
}

static void test_short_u32_fails(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 3);
    assert_int_equal(lw_cur_u32be(&c), 0);
    assert_true(c.error);
    assert_int_equal(lw_cur_left(&c), 0);
    c = lw_cur_make(bytes, 3);
    assert_int_equal(lw_cur_u32le(&c), 0);
    assert_true(c.error);
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 2);
    (void)lw_cur_u32be(&c);
    assert_true(c.error);
    /* Even a read that would fit now fails: the block is already bad. */
    c.ptr = bytes;
    assert_int_equal(lw_cur_u8(&c), 0);
    assert_true(c.error);
    assert_false(lw_cur_has(&c, 0));
}

static void test_copy(void **state)
{
    (void)state;
    uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    lw_cursor c = lw_cur_make(bytes, sizeof bytes);
    lw_cur_copy(&c, out, 3);
    assert_memory_equal(out, bytes, 3);
    assert_int_equal(out[3], 0xaa);
    assert_int_equal(lw_cur_left(&c), sizeof bytes - 3);
}

static void test_copy_short_copies_nothing(void **state)
{
    (void)state;
    uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    lw_cursor c = lw_cur_make(bytes, 3);
    lw_cur_copy(&c, out, 4);
    assert_true(c.error);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xaa);
}

static void test_skip(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, sizeof bytes);
    lw_cur_skip(&c, 8);
    assert_int_equal(lw_cur_u8(&c), 0x09);
    assert_false(c.error);
    lw_cur_skip(&c, 1);
    assert_true(c.error);
}

static void test_sub_splits_and_advances(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, sizeof bytes);
    lw_cursor s = lw_cur_sub(&c, 2);
    assert_int_equal(lw_cur_left(&s), 2);
    assert_int_equal(lw_cur_u16be(&s), 0x0102);
    /* the sub-cursor cannot read its parent's bytes */
    assert_int_equal(lw_cur_u8(&s), 0);
    assert_true(s.error);
    assert_false(c.error);
    assert_int_equal(lw_cur_u8(&c), 0x03);
}

static void test_sub_short_is_empty_and_errors(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, 3);
    lw_cursor s = lw_cur_sub(&c, 4);
    assert_true(s.error);
    assert_true(c.error);
    assert_int_equal(lw_cur_left(&s), 0);
    assert_int_equal(lw_cur_left(&c), 0);
}

static void test_clamp_shortens_only(void **state)
{
    (void)state;
    lw_cursor c = lw_cur_make(bytes, sizeof bytes);
    lw_cur_clamp(&c, 4);
    assert_int_equal(lw_cur_left(&c), 4);
    lw_cur_clamp(&c, 100); /* a longer declared length never extends */
    assert_int_equal(lw_cur_left(&c), 4);
    (void)lw_cur_u32be(&c);
    assert_int_equal(lw_cur_u8(&c), 0);
    assert_true(c.error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_and_left),
        cmocka_unit_test(test_empty_cursor),
        cmocka_unit_test(test_u8_reads_in_order),
        cmocka_unit_test(test_u16be_and_le),
        cmocka_unit_test(test_u32be_and_le),
        cmocka_unit_test(test_unaligned_reads),
        cmocka_unit_test(test_high_bit_values),
        cmocka_unit_test(test_short_u16_fails_and_moves_to_end),
        cmocka_unit_test(test_short_u32_fails),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_copy_short_copies_nothing),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_sub_splits_and_advances),
        cmocka_unit_test(test_sub_short_is_empty_and_errors),
        cmocka_unit_test(test_clamp_shortens_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
