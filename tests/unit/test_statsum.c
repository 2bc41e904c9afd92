/*
 * test_statsum.c - adding counters up by name (statsum.h): the totals line
 * of several workers and a worker's figures across reloads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "leakwatch/statsum.h"

static lw_stat_sum *new_sum(void)
{
    lw_stat_sum *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    return s;
}

static void test_two_workers_same_order(void **state)
{
    (void)state;
    lw_stat w0[] = {{"decode.pkts", 10}, {"alert.alerts", 1}, {"flow.active", 3}};
    lw_stat w1[] = {{"decode.pkts", 32}, {"alert.alerts", 0}, {"flow.active", 4}};
    lw_stat_sum *t = new_sum();
    lw_stat_sum_add_all(t, w0, 3);
    lw_stat_sum_add_all(t, w1, 3);
    assert_int_equal(t->n, 3);
    assert_int_equal(lw_stat_sum_get(t, "decode.pkts"), 42);
    assert_int_equal(lw_stat_sum_get(t, "alert.alerts"), 1);
    assert_int_equal(lw_stat_sum_get(t, "flow.active"), 7);
    /* the order is the first snapshot's */
    lw_stat v[8];
    assert_int_equal(lw_stat_sum_view(t, v, 8), 3);
    assert_string_equal(v[0].name, "decode.pkts");
    assert_string_equal(v[2].name, "flow.active");
    free(t);
}

/* A reload can change the signature kinds: counters come and go. */
static void test_names_differ(void **state)
{
    (void)state;
    lw_stat old[] = {{"match.validated.email", 5}, {"alert.alerts", 2}};
    lw_stat nw[] = {{"match.validated.iban", 7}, {"match.validated.email", 1}, {"alert.alerts", 1}};
    lw_stat_sum *s = new_sum();
    lw_stat_sum_add_all(s, old, 2);
    lw_stat_sum_add_all(s, nw, 3);
    assert_int_equal(s->n, 3);
    assert_int_equal(lw_stat_sum_get(s, "match.validated.email"), 6);
    assert_int_equal(lw_stat_sum_get(s, "match.validated.iban"), 7);
    assert_int_equal(lw_stat_sum_get(s, "alert.alerts"), 3);
    assert_int_equal(lw_stat_sum_get(s, "absent"), 0);
    free(s);
}

static void test_merge(void **state)
{
    (void)state;
    lw_stat_sum *a = new_sum(), *b = new_sum();
    lw_stat_sum_add(a, "x", 1);
    lw_stat_sum_add(a, "y", 2);
    lw_stat_sum_add(b, "y", 40);
    lw_stat_sum_add(b, "z", 5);
    lw_stat_sum_merge(a, b);
    assert_int_equal(a->n, 3);
    assert_int_equal(lw_stat_sum_get(a, "x"), 1);
    assert_int_equal(lw_stat_sum_get(a, "y"), 42);
    assert_int_equal(lw_stat_sum_get(a, "z"), 5);
    /* summing is by value: b is unchanged */
    assert_int_equal(lw_stat_sum_get(b, "y"), 40);
    free(a);
    free(b);
}

/* The sum owns its names: the source strings may go away. */
static void test_names_copied(void **state)
{
    (void)state;
    lw_stat_sum *s = new_sum();
    char name[32];
    strcpy(name, "match.candidates.phone");
    lw_stat_sum_add(s, name, 9);
    memset(name, 'X', sizeof(name) - 1);
    assert_int_equal(lw_stat_sum_get(s, "match.candidates.phone"), 9);
    free(s);
}

/* Full: new names are counted as dropped, known ones still add up. */
static void test_full(void **state)
{
    (void)state;
    lw_stat_sum *s = new_sum();
    char name[32];
    for (int i = 0; i < LW_STAT_SUM_MAX; i++) {
        snprintf(name, sizeof(name), "c.%d", i);
        lw_stat_sum_add(s, name, 1);
    }
    assert_int_equal(s->n, LW_STAT_SUM_MAX);
    lw_stat_sum_add(s, "one.too.many", 1);
    assert_int_equal(s->n, LW_STAT_SUM_MAX);
    assert_int_equal(s->dropped, 1);
    lw_stat_sum_add(s, "c.7", 1);
    assert_int_equal(lw_stat_sum_get(s, "c.7"), 2);
    free(s);
}

/* An over-long name is cut, consistently, so it still sums. */
static void test_long_name(void **state)
{
    (void)state;
    char name[200];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    lw_stat_sum *s = new_sum();
    lw_stat st[] = {{name, 1}};
    lw_stat_sum_add_all(s, st, 1);
    lw_stat_sum_add_all(s, st, 1);
    lw_stat_sum_add(s, name, 1);
    assert_int_equal(s->n, 1);
    assert_int_equal(strlen(s->e[0].name), LW_STAT_SUM_NAME_MAX - 1);
    assert_int_equal(s->e[0].value, 3);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers_same_order),
        cmocka_unit_test(test_names_differ),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_names_copied),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_long_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
