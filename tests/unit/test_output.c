/*
 * test_output.c - whole lines out, append mode 0640, reopen after rotation,
 * write errors counted (on /dev/full) and never fatal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leakwatch/output.h"

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

static void test_append_and_mode(void **state)
{
    (void)state;
    char path[256], err[256], buf[256];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_%d.json", (int)getpid());
    unlink(path);
    lw_output *o;
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "{\"a\":1}\n", 8), LW_OK);
    assert_int_equal(lw_output_close(o), LW_OK);
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "{\"b\":2}\n", 8), LW_OK);
    assert_int_equal(lw_output_lines(o), 1);
    assert_int_equal(lw_output_close(o), LW_OK);
    assert_int_equal(slurp(path, buf, sizeof(buf)), 16);
    assert_string_equal(buf, "{\"a\":1}\n{\"b\":2}\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0077 & ~0040, 0); /* no write/any bits for group/other */
    unlink(path);
}

static void test_reopen_after_rotation(void **state)
{
    (void)state;
    char path[256], rotated[300], err[256], buf[256];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_rot_%d.json", (int)getpid());
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    unlink(path);
    lw_output *o;
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "old\n", 4), LW_OK);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    assert_int_equal(lw_output_write(o, "new\n", 4), LW_OK);
    assert_int_equal(lw_output_close(o), LW_OK);
    slurp(rotated, buf, sizeof(buf));
    assert_string_equal(buf, "old\n");
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "new\n");
    unlink(path);
    unlink(rotated);
}

static void test_open_failure_names_path(void **state)
{
    (void)state;
    char err[256];
    lw_output *o = (lw_output *)1;
    assert_int_equal(lw_output_open("/nonexistent-dir/x.json", &o, err, sizeof(err)), LW_ERR_IO);
    assert_null(o);
    assert_non_null(strstr(err, "/nonexistent-dir/x.json"));
}

static void test_write_errors_counted_not_fatal(void **state)
{
    (void)state;
    char err[256];
    lw_output *o;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(lw_output_open("/dev/full", &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "x\n", 2), LW_ERR_IO);
    assert_int_equal(lw_output_write(o, "y\n", 2), LW_ERR_IO);
    assert_int_equal(lw_output_errors(o), 2);
    assert_int_equal(lw_output_lines(o), 0);
    lw_output_close(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_mode),
        cmocka_unit_test(test_reopen_after_rotation),
        cmocka_unit_test(test_open_failure_names_path),
        cmocka_unit_test(test_write_errors_counted_not_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
