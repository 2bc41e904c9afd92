/*
 * test_burst.c - distinct values per key in a sliding window: the threshold
 * edge, repeats, the window edge, the cool-down and its edge, per-kind
 * counts, masked samples, the key and value caps, budgeted expiry, packet
 * time going backwards, and keys kept apart.
 *
 * Values are synthetic strings ("value-NN"), not PII; no test prints one.
 * Defaults: window 1000 us, threshold 3, 4 keys, 8 values per key,
 * 4 samples.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "leakwatch/burst.h"

#define WINDOW     1000
#define THRESHOLD  3
#define MAX_KEYS   4
#define MAX_VALUES 8
#define SAMPLES    4

typedef struct fixture {
    uint64_t ctr[LW_BURST_CTR_MAX];
    lw_burst_config cfg;
    lw_burst *b;
    lw_burst_report r;
} fixture;

static void default_config(lw_burst_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->window_us = WINDOW;
    cfg->threshold = THRESHOLD;
    cfg->max_keys = MAX_KEYS;
    cfg->max_values = MAX_VALUES;
    cfg->samples = SAMPLES;
    for (int i = 0; i < 16; i++)
        cfg->hash_key[i] = (uint8_t)(0xa0 + i);
}

static int setup(void **state)
{
    fixture *fx = test_calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    default_config(&fx->cfg);
    fx->b = lw_burst_new(&fx->cfg, fx->ctr);
    if (!fx->b) {
        test_free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    lw_burst_free(fx->b);
    test_free(fx);
    return 0;
}

/* Replaces the fixture's table with one made from cfg. */
static void remake(fixture *fx, const lw_burst_config *cfg)
{
    lw_burst_free(fx->b);
    memset(fx->ctr, 0, sizeof(fx->ctr));
    fx->cfg = *cfg;
    fx->b = lw_burst_new(cfg, fx->ctr);
    assert_non_null(fx->b);
}

/* Synthetic value n of `kind`: norm "value-<n>", masked "v***<n % 100>". */
static lw_pii_value val(uint16_t kind, unsigned n)
{
    lw_pii_value v;
    memset(&v, 0, sizeof(v));
    v.kind = kind;
    int len = snprintf(v.norm, sizeof(v.norm), "value-%u", n);
    v.norm_len = (uint16_t)len;
    snprintf(v.masked, sizeof(v.masked), "v***%02u", n % 100);
    return v;
}

static const char KEY_A[] = "A:inside->outside";
static const char KEY_B[] = "B:inside->outside";

static bool add_to(fixture *fx, const char *key, uint16_t kind, unsigned n, uint64_t t)
{
    lw_pii_value v = val(kind, n);
    return lw_burst_add(fx->b, key, strlen(key), &v, t, &fx->r);
}

static bool add(fixture *fx, unsigned n, uint64_t t)
{
    return add_to(fx, KEY_A, 0, n, t);
}

static uint32_t distinct(fixture *fx, const char *key)
{
    return lw_burst_distinct(fx->b, key, strlen(key));
}

/* ---- threshold and repeats ---------------------------------------------- */

static void test_alert_exactly_at_threshold(void **state)
{
    fixture *fx = *state;
    assert_false(add(fx, 1, 10));
    assert_false(add(fx, 2, 20));
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 0);
    assert_true(add(fx, 3, 30));
    assert_int_equal(fx->r.distinct, 3);
    assert_int_equal(fx->r.first_ts_us, 10);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES], 3);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 3);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_CREATED], 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_SUPPRESSED], 0);
}

static void test_threshold_one(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = 1;
    remake(fx, &cfg);
    assert_true(add(fx, 1, 10));
    assert_int_equal(fx->r.distinct, 1);
}

static void test_repeated_value_counts_once(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < 10; i++)
        assert_false(add(fx, 7, (uint64_t)(10 + i)));
    assert_false(add(fx, 8, 30));
    assert_int_equal(distinct(fx, KEY_A), 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES], 11);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 0);
}

static void test_same_text_other_kind_is_distinct(void **state)
{
    fixture *fx = *state;
    assert_false(add_to(fx, KEY_A, 0, 5, 10));
    assert_false(add_to(fx, KEY_A, 1, 5, 11));
    assert_int_equal(distinct(fx, KEY_A), 2);
}

static void test_value_compared_by_norm_not_mask(void **state)
{
    fixture *fx = *state;
    lw_pii_value a = val(0, 1), b = val(0, 101); /* same masked form "v***01" */
    assert_string_equal(a.masked, b.masked);
    assert_false(lw_burst_add(fx->b, "k", 1, &a, 10, NULL));
    assert_false(lw_burst_add(fx->b, "k", 1, &b, 11, NULL));
    assert_int_equal(lw_burst_distinct(fx->b, "k", 1), 2);
    /* bytes past norm_len are not part of the value */
    lw_pii_value c = val(0, 1);
    c.norm[c.norm_len + 1] = 'x';
    assert_false(lw_burst_add(fx->b, "k", 1, &c, 12, NULL));
    assert_int_equal(lw_burst_distinct(fx->b, "k", 1), 2);
}

/* ---- the window ----------------------------------------------------------- */

static void test_value_expired_exactly_at_window(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    /* at now = 0 + WINDOW value 1 has left the window */
    assert_false(add(fx, 3, WINDOW));
    assert_int_equal(distinct(fx, KEY_A), 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 0);
}

static void test_value_live_just_inside_window(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    assert_true(add(fx, 3, WINDOW - 1));
    assert_int_equal(fx->r.first_ts_us, 0);
}

static void test_repeat_refreshes_time(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 1, 900); /* seen again: now lives until 1900 */
    add(fx, 2, 1500);
    assert_true(add(fx, 3, 1600));
    assert_int_equal(fx->r.first_ts_us, 900);
    assert_int_equal(fx->r.distinct, 3);
}

/* ---- cool-down ------------------------------------------------------------ */

static void test_no_second_alert_within_window(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    assert_true(add(fx, 3, 2));
    for (unsigned i = 4; i <= 8; i++)
        assert_false(add(fx, i, 100 * i));
    assert_false(add(fx, 3, 900)); /* a repeat above the threshold: suppressed too */
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_SUPPRESSED], 6);
}

static void test_cool_down_exact_edge(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    assert_true(add(fx, 3, 2)); /* alert at 2: cool-down while now - 2 < WINDOW */
    assert_false(add(fx, 4, 500));
    assert_false(add(fx, 5, 600));
    assert_false(add(fx, 6, WINDOW + 1)); /* live 3,4,5,6: still cooling */
    assert_int_equal(fx->ctr[LW_BURST_CTR_SUPPRESSED], 3);
    assert_true(add(fx, 7, WINDOW + 2)); /* cool-down over exactly now */
    assert_int_equal(fx->r.distinct, 4); /* 4, 5, 6, 7 */
    assert_int_equal(fx->r.first_ts_us, 500);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 2);
}

static void test_new_alert_after_cool_down_with_fresh_values(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    assert_true(add(fx, 3, 2));
    /* much later: the old values are gone, fresh ones build up again */
    assert_false(add(fx, 11, 5000));
    assert_false(add(fx, 12, 5001));
    assert_int_equal(distinct(fx, KEY_A), 2);
    assert_true(add(fx, 13, 5002));
    assert_int_equal(fx->r.distinct, 3);
    assert_int_equal(fx->r.first_ts_us, 5000);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_SUPPRESSED], 0);
}

static void test_below_threshold_in_cool_down_not_suppressed(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    assert_true(add(fx, 3, 2));
    /* at 1001 values 1 and 2 have left; cool-down still runs, but with two
     * live values there is nothing to suppress */
    assert_false(add(fx, 9, 1001));
    assert_int_equal(distinct(fx, KEY_A), 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_SUPPRESSED], 0);
}

/* ---- the report ----------------------------------------------------------- */

static void test_per_kind_counts(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = 5;
    remake(fx, &cfg);
    add_to(fx, KEY_A, 0, 1, 10);
    add_to(fx, KEY_A, 2, 2, 11);
    add_to(fx, KEY_A, 0, 3, 12);
    add_to(fx, KEY_A, 31, 4, 13);
    assert_true(add_to(fx, KEY_A, 2, 5, 14));
    assert_int_equal(fx->r.distinct, 5);
    assert_int_equal(fx->r.per_kind[0], 2);
    assert_int_equal(fx->r.per_kind[1], 0);
    assert_int_equal(fx->r.per_kind[2], 2);
    assert_int_equal(fx->r.per_kind[31], 1);
}

static void test_per_kind_counts_drop_with_expiry(void **state)
{
    fixture *fx = *state;
    add_to(fx, KEY_A, 1, 1, 0);
    add_to(fx, KEY_A, 1, 2, 500);
    assert_false(add_to(fx, KEY_A, 2, 3, 1000)); /* value 1 (kind 1) expired */
    assert_true(add_to(fx, KEY_A, 3, 4, 1001));
    assert_int_equal(fx->r.distinct, 3);
    assert_int_equal(fx->r.per_kind[1], 1);
    assert_int_equal(fx->r.per_kind[2], 1);
    assert_int_equal(fx->r.per_kind[3], 1);
}

static void test_kind_out_of_range_rejected(void **state)
{
    fixture *fx = *state;
    assert_false(add_to(fx, KEY_A, LW_BURST_MAX_KINDS, 1, 10));
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES], 0);
    assert_int_equal(lw_burst_key_count(fx->b), 0);
}

static void test_samples_are_masked_and_distinct(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = 4;
    remake(fx, &cfg);
    add(fx, 1, 10);
    add(fx, 101, 11); /* masked like value 1 */
    add(fx, 2, 12);
    assert_true(add(fx, 3, 13));
    assert_int_equal(fx->r.distinct, 4);
    assert_int_equal(fx->r.sample_count, 3);
    assert_string_equal(fx->r.samples[0], "v***01");
    assert_string_equal(fx->r.samples[1], "v***02");
    assert_string_equal(fx->r.samples[2], "v***03");
    for (size_t i = 0; i < fx->r.sample_count; i++)
        assert_null(strstr(fx->r.samples[i], "value-")); /* never the clear value */
    assert_string_equal(fx->r.samples[3], "");
}

static void test_samples_limited_to_config(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = 6;
    cfg.samples = 2;
    remake(fx, &cfg);
    for (unsigned i = 1; i < 6; i++)
        add(fx, i, i);
    assert_true(add(fx, 6, 6));
    assert_int_equal(fx->r.sample_count, 2);
    assert_string_equal(fx->r.samples[0], "v***01");
    assert_string_equal(fx->r.samples[1], "v***02");
}

static void test_samples_zero(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.samples = 0;
    remake(fx, &cfg);
    add(fx, 1, 1);
    add(fx, 2, 2);
    assert_true(add(fx, 3, 3));
    assert_int_equal(fx->r.sample_count, 0);
}

static void test_samples_only_live_values(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 500);
    assert_false(add(fx, 3, 1000));
    /* value 1 left the window before the alert: its mask must not be shown */
    assert_true(add(fx, 4, 1001));
    assert_int_equal(fx->r.sample_count, 3);
    assert_string_equal(fx->r.samples[0], "v***02");
    for (size_t i = 0; i < fx->r.sample_count; i++)
        assert_string_not_equal(fx->r.samples[i], "v***01");
}

static void test_unterminated_mask_is_cut(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = 1;
    remake(fx, &cfg);
    lw_pii_value v = val(0, 1);
    memset(v.masked, '*', sizeof(v.masked)); /* no NUL */
    assert_true(lw_burst_add(fx->b, "k", 1, &v, 1, &fx->r));
    assert_int_equal(fx->r.sample_count, 1);
    assert_int_equal(strlen(fx->r.samples[0]), LW_PII_MASK_MAX - 1);
}

static void test_null_report_allowed(void **state)
{
    fixture *fx = *state;
    lw_pii_value v1 = val(0, 1), v2 = val(0, 2), v3 = val(0, 3);
    assert_false(lw_burst_add(fx->b, "k", 1, &v1, 1, NULL));
    assert_false(lw_burst_add(fx->b, "k", 1, &v2, 2, NULL));
    assert_true(lw_burst_add(fx->b, "k", 1, &v3, 3, NULL));
}

/* ---- caps ------------------------------------------------------------------ */

static void test_key_eviction_at_max_keys(void **state)
{
    fixture *fx = *state;
    char key[8];
    for (unsigned i = 0; i < MAX_KEYS; i++) {
        snprintf(key, sizeof(key), "key%u", i);
        add_to(fx, key, 0, 1, 10 + i);
        add_to(fx, key, 0, 2, 10 + i);
    }
    add_to(fx, "key0", 0, 3, 20); /* key0 active again: key1 is now the oldest */
    assert_int_equal(lw_burst_key_count(fx->b), MAX_KEYS);
    add_to(fx, "new", 0, 1, 30);
    assert_int_equal(lw_burst_key_count(fx->b), MAX_KEYS);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_EVICTED], 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_CREATED], MAX_KEYS + 1);
    assert_int_equal(distinct(fx, "key1"), 0); /* gone */
    assert_int_equal(distinct(fx, "key0"), 3);
    assert_int_equal(distinct(fx, "key2"), 2);
    assert_int_equal(distinct(fx, "new"), 1);
}

static void test_values_capped_per_key(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = MAX_VALUES;
    remake(fx, &cfg);
    for (unsigned i = 1; i < MAX_VALUES; i++)
        assert_false(add(fx, i, i));
    assert_true(add(fx, MAX_VALUES, MAX_VALUES));
    assert_int_equal(fx->r.distinct, MAX_VALUES);
    assert_false(add(fx, 100, 20)); /* new value at the cap: not tracked */
    assert_false(add(fx, 101, 21));
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 2);
    assert_int_equal(distinct(fx, KEY_A), MAX_VALUES);
    /* a value already tracked is refreshed at the cap, not capped */
    assert_false(add(fx, 1, 22));
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], MAX_VALUES);
}

static void test_cap_frees_room_as_values_expire(void **state)
{
    fixture *fx = *state;
    for (unsigned i = 1; i <= MAX_VALUES; i++)
        add(fx, i, i);
    add(fx, 50, 500); /* capped */
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 1);
    add(fx, 51, 1001); /* values 1 expired: room for one */
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 1);
    assert_int_equal(distinct(fx, KEY_A), MAX_VALUES);
}

static void test_large_key_grows_and_shrinks(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.max_values = 1000;
    cfg.threshold = 1000;
    cfg.window_us = 10000;
    remake(fx, &cfg);
    for (unsigned i = 0; i < 999; i++)
        assert_false(add(fx, i, i));
    for (unsigned i = 0; i < 999; i += 2) /* refresh the even ones */
        assert_false(add(fx, i, 5000));
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 999);
    assert_true(add(fx, 999, 5001));
    assert_int_equal(fx->r.first_ts_us, 1);
    /* the odd ones leave, the even ones stay */
    assert_false(add(fx, 2000, 10999));
    assert_int_equal(distinct(fx, KEY_A), 500 + 1 + 1);
    for (unsigned i = 0; i < 999; i += 2)
        add(fx, i, 11000);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 1001);
    assert_false(add(fx, 999, 20000)); /* last seen at 5001: gone, so new again */
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 1002);
    assert_int_equal(distinct(fx, KEY_A), 502);
}

/* ---- key expiry ------------------------------------------------------------ */

static void test_expire_key_exact_edge(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 100);
    assert_int_equal(lw_burst_expire(fx->b, 100 + WINDOW - 1, 10), 0);
    assert_int_equal(lw_burst_key_count(fx->b), 1);
    assert_int_equal(lw_burst_expire(fx->b, 100 + WINDOW, 10), 1);
    assert_int_equal(lw_burst_key_count(fx->b), 0);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_EXPIRED], 1);
}

static void test_expire_budget(void **state)
{
    fixture *fx = *state;
    char key[8];
    for (unsigned i = 0; i < MAX_KEYS; i++) {
        snprintf(key, sizeof(key), "key%u", i);
        add_to(fx, key, 0, 1, 10 + i);
    }
    assert_int_equal(lw_burst_expire(fx->b, 5000, 3), 3);
    assert_int_equal(lw_burst_key_count(fx->b), 1);
    assert_int_equal(distinct(fx, "key3"), 1); /* the newest stays */
    assert_int_equal(lw_burst_expire(fx->b, 5000, 0), 0);
    assert_int_equal(lw_burst_expire(fx->b, 5000, 3), 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_EXPIRED], 4);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_EVICTED], 0);
}

static void test_expire_keeps_active_and_cooling_keys(void **state)
{
    fixture *fx = *state;
    add_to(fx, KEY_B, 0, 1, 0);
    add(fx, 1, 10);
    add(fx, 2, 11);
    assert_true(add(fx, 3, 12));
    /* B is idle, A is cooling and has live values */
    assert_int_equal(lw_burst_expire(fx->b, WINDOW + 11, 10), 1);
    assert_int_equal(distinct(fx, KEY_B), 0);
    assert_int_equal(distinct(fx, KEY_A), 3);
    assert_int_equal(lw_burst_expire(fx->b, WINDOW + 12, 10), 1);
    assert_int_equal(lw_burst_key_count(fx->b), 0);
}

static void test_expired_key_starts_fresh(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 2, 1);
    assert_true(add(fx, 3, 2));
    lw_burst_expire(fx->b, 10000, 10);
    add(fx, 1, 10001);
    add(fx, 2, 10002);
    assert_true(add(fx, 3, 10003));
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_CREATED], 2);
}

/* ---- time going backwards ----------------------------------------------- */

static void test_time_backwards_uses_latest(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 1000);
    add(fx, 2, 100); /* treated as seen at 1000 */
    /* were value 2 kept at 100 it would have expired by 1500 */
    assert_true(add(fx, 3, 1500));
    assert_int_equal(fx->r.distinct, 3);
    assert_int_equal(fx->r.first_ts_us, 1000);
}

static void test_expire_before_latest_does_not_wrap(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 5000);
    assert_int_equal(lw_burst_expire(fx->b, 0, 10), 0);
    assert_int_equal(lw_burst_expire(fx->b, 5999, 10), 0);
    assert_int_equal(lw_burst_key_count(fx->b), 1);
}

static void test_backwards_time_does_not_end_cool_down(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 5000);
    add(fx, 2, 5001);
    assert_true(add(fx, 3, 5002));
    assert_false(add(fx, 4, 0)); /* time jumps back: still the cool-down */
    assert_int_equal(fx->ctr[LW_BURST_CTR_SUPPRESSED], 1);
    assert_int_equal(distinct(fx, KEY_A), 4);
}

/* ---- keys ------------------------------------------------------------------ */

static void test_two_keys_independent(void **state)
{
    fixture *fx = *state;
    add_to(fx, KEY_A, 0, 1, 1);
    add_to(fx, KEY_A, 0, 2, 2);
    add_to(fx, KEY_B, 0, 1, 3);
    assert_false(add_to(fx, KEY_B, 0, 2, 4));
    assert_true(add_to(fx, KEY_A, 0, 3, 5));
    assert_int_equal(fx->r.distinct, 3);
    assert_int_equal(distinct(fx, KEY_B), 2);
    assert_true(add_to(fx, KEY_B, 0, 3, 6)); /* A's cool-down is not B's */
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 2);
}

static void test_keys_compared_exactly(void **state)
{
    fixture *fx = *state;
    lw_pii_value v = val(0, 1);
    lw_burst_add(fx->b, "ab", 2, &v, 1, NULL);
    lw_burst_add(fx->b, "abc", 3, &v, 1, NULL);
    lw_burst_add(fx->b, "ab\0", 3, &v, 1, NULL); /* embedded NUL is a byte like any other */
    lw_burst_add(fx->b, "", 0, &v, 1, NULL);
    assert_int_equal(lw_burst_key_count(fx->b), 4);
    assert_int_equal(lw_burst_distinct(fx->b, "ab", 2), 1);
    assert_int_equal(lw_burst_distinct(fx->b, "a", 1), 0);
}

static void test_key_too_long_rejected(void **state)
{
    fixture *fx = *state;
    uint8_t key[LW_BURST_KEY_MAX + 1];
    memset(key, 'k', sizeof(key));
    lw_pii_value v = val(0, 1);
    assert_false(lw_burst_add(fx->b, key, sizeof(key), &v, 1, NULL));
    assert_int_equal(lw_burst_key_count(fx->b), 0);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES], 0);
    assert_int_equal(lw_burst_distinct(fx->b, key, sizeof(key)), 0);
    lw_burst_add(fx->b, key, LW_BURST_KEY_MAX, &v, 1, NULL);
    assert_int_equal(lw_burst_distinct(fx->b, key, LW_BURST_KEY_MAX), 1);
}

/* ---- configuration ---------------------------------------------------------- */

static void test_bad_config_rejected(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.threshold = 0;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    default_config(&cfg);
    cfg.window_us = 0;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    default_config(&cfg);
    cfg.max_values = THRESHOLD - 1;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    default_config(&cfg);
    cfg.max_keys = 0;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    default_config(&cfg);
    cfg.samples = LW_BURST_MAX_SAMPLES + 1;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    default_config(&cfg);
    cfg.max_keys = UINT32_MAX;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    default_config(&cfg);
    assert_null(lw_burst_new(&cfg, NULL));
    assert_null(lw_burst_new(NULL, fx->ctr));
    cfg.max_values = THRESHOLD; /* the smallest valid */
    cfg.samples = LW_BURST_MAX_SAMPLES;
    lw_burst *b = lw_burst_new(&cfg, fx->ctr);
    assert_non_null(b);
    lw_burst_free(b);
    lw_burst_free(NULL);
}

static void test_hash_key_changes_nothing_observable(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    memset(cfg.hash_key, 0x5c, sizeof(cfg.hash_key));
    remake(fx, &cfg);
    add(fx, 1, 1);
    add(fx, 1, 2);
    add(fx, 2, 3);
    assert_true(add(fx, 3, 4));
    assert_int_equal(fx->r.distinct, 3);
}

static void test_counter_names(void **state)
{
    (void)state;
    for (int i = 0; i < LW_BURST_CTR_MAX; i++) {
        assert_non_null(lw_burst_counter_names[i]);
        assert_memory_equal(lw_burst_counter_names[i], "burst.", 6);
        for (int j = i + 1; j < LW_BURST_CTR_MAX; j++)
            assert_string_not_equal(lw_burst_counter_names[i], lw_burst_counter_names[j]);
    }
    assert_string_equal(lw_burst_counter_names[LW_BURST_CTR_SUPPRESSED], "burst.suppressed");
}

/* ---- growth after an alert ----------------------------------------------- */

static void test_growth_counts_new_values_after_alert(void **state)
{
    fixture *fx = *state;
    uint32_t added, per_kind[LW_BURST_MAX_KINDS];
    /* no alert yet: nothing to report */
    add(fx, 1, 10);
    assert_false(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    add(fx, 2, 20);
    assert_true(add(fx, 3, 30));
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_int_equal(added, 0);
    /* two new values of kind 1, one repeat: growth 2, all of kind 1 */
    add_to(fx, KEY_A, 1, 4, 40);
    add_to(fx, KEY_A, 1, 5, 50);
    add(fx, 3, 60);
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_int_equal(added, 2);
    assert_int_equal(per_kind[0], 0);
    assert_int_equal(per_kind[1], 2);
    /* another key is unaffected and unknown */
    assert_false(lw_burst_growth(fx->b, KEY_B, strlen(KEY_B), &added, per_kind));
}

static void test_growth_resets_at_next_alert(void **state)
{
    fixture *fx = *state;
    uint32_t added, per_kind[LW_BURST_MAX_KINDS];
    add(fx, 1, 10);
    add(fx, 2, 20);
    assert_true(add(fx, 3, 30));
    add(fx, 4, 40);
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_int_equal(added, 1);
    /* after the cool-down, values 4 (still live), 5 and 6 alert again and
     * growth restarts from zero */
    assert_false(add(fx, 5, 30 + WINDOW));
    assert_true(add(fx, 6, 31 + WINDOW));
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_int_equal(added, 0);
    add(fx, 7, 32 + WINDOW);
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_int_equal(added, 1);
}

/* ---- per-call threshold ------------------------------------------------- */

static bool add_th(fixture *fx, unsigned n, uint64_t t, uint32_t threshold)
{
    lw_pii_value v = val(0, n);
    return lw_burst_add_threshold(fx->b, KEY_A, strlen(KEY_A), &v, t, threshold, &fx->r);
}

static void test_add_threshold_lower(void **state)
{
    fixture *fx = *state;
    assert_false(add_th(fx, 1, 10, 2));
    assert_true(add_th(fx, 2, 11, 2)); /* table threshold is 3 */
    assert_int_equal(fx->r.distinct, 2);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 1);
}

static void test_add_threshold_higher_and_zero(void **state)
{
    fixture *fx = *state;
    assert_false(add_th(fx, 1, 10, 5));
    assert_false(add_th(fx, 2, 11, 5));
    assert_false(add_th(fx, 3, 12, 5)); /* 3 would alert at the table's */
    assert_false(add_th(fx, 4, 13, 5));
    assert_true(add_th(fx, 5, 14, 5));
    assert_int_equal(fx->r.distinct, 5);
    /* 0 is the table's threshold: on another key it alerts at 3 */
    lw_pii_value v = val(0, 1);
    for (unsigned i = 1; i <= 3; i++) {
        v = val(0, i);
        bool got = lw_burst_add_threshold(fx->b, KEY_B, strlen(KEY_B), &v, 20 + i, 0, NULL);
        assert_int_equal(got, i == 3);
    }
}

static void test_add_threshold_above_cap_never_reached(void **state)
{
    fixture *fx = *state;
    /* without exact_limit the count stops at max_values (8) */
    for (unsigned i = 1; i <= 20; i++)
        assert_false(add_th(fx, i, i, MAX_VALUES + 1));
    assert_int_equal(distinct(fx, KEY_A), MAX_VALUES);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 0);
}

/* ---- exact_limit: exact below it, estimated beyond -------------------------- */

#define HOUR_US (3600 * UINT64_C(1000000))

static void estimating_config(lw_burst_config *cfg, uint32_t exact_limit, uint32_t threshold)
{
    default_config(cfg);
    cfg->window_us = HOUR_US;
    cfg->threshold = threshold;
    cfg->max_values = 0; /* ignored with exact_limit */
    cfg->exact_limit = exact_limit;
}

static uint32_t kinds_sum(const uint32_t per_kind[LW_BURST_MAX_KINDS])
{
    uint32_t sum = 0;
    for (int i = 0; i < LW_BURST_MAX_KINDS; i++)
        sum += per_kind[i];
    return sum;
}

/* One step of a scripted run: kind, value, time delta, expire budget. */
typedef struct step {
    uint16_t kind;
    unsigned n;
    uint64_t dt;
} step;

static const step SCRIPT[] = {
    {0, 1, 0},  {1, 2, 10},  {0, 1, 5},   {2, 3, 100}, {0, 4, 300},  {0, 5, 200},
    {0, 6, 50}, {1, 7, 400}, {0, 3, 0},   {0, 8, 300}, {3, 9, 900},  {0, 10, 1},
    {0, 11, 1}, {0, 12, 1},  {0, 13, 1},  {0, 14, 2},  {0, 15, 3},   {0, 1, 2000},
    {0, 16, 1}, {0, 17, 1},  {2, 18, 10}, {2, 19, 10}, {2, 20, 999}, {2, 21, 1},
};

/* Runs SCRIPT on a table made from cfg and records every observable. */
typedef struct run_log {
    bool alert[sizeof(SCRIPT) / sizeof(SCRIPT[0])];
    lw_burst_report r[sizeof(SCRIPT) / sizeof(SCRIPT[0])];
    uint32_t d[sizeof(SCRIPT) / sizeof(SCRIPT[0])];
    uint64_t ctr[LW_BURST_CTR_MAX];
} run_log;

static void run_script(const lw_burst_config *cfg, run_log *log)
{
    memset(log, 0, sizeof(*log));
    lw_burst *b = lw_burst_new(cfg, log->ctr);
    assert_non_null(b);
    uint64_t t = 1000;
    for (size_t i = 0; i < sizeof(SCRIPT) / sizeof(SCRIPT[0]); i++) {
        t += SCRIPT[i].dt;
        lw_pii_value v = val(SCRIPT[i].kind, SCRIPT[i].n);
        log->alert[i] = lw_burst_add(b, "k", 1, &v, t, &log->r[i]);
        log->d[i] = lw_burst_distinct(b, "k", 1);
        lw_burst_expire(b, t, 1);
    }
    lw_burst_free(b);
}

static void test_exact_limit_below_limit_identical(void **state)
{
    (void)state;
    /* the script never holds more than 8 values, so exact_limit 8 (and 100)
     * must behave exactly like max_values 8 */
    lw_burst_config plain, limited;
    default_config(&plain);
    run_log *a = test_malloc(sizeof(*a)), *b = test_malloc(sizeof(*b));
    run_script(&plain, a);
    for (uint32_t limit = MAX_VALUES; limit <= 100; limit += 92) {
        limited = plain;
        limited.max_values = 0;
        limited.exact_limit = limit;
        run_script(&limited, b);
        assert_memory_equal(a->alert, b->alert, sizeof(a->alert));
        assert_memory_equal(a->d, b->d, sizeof(a->d));
        for (size_t i = 0; i < sizeof(SCRIPT) / sizeof(SCRIPT[0]); i++)
            if (a->alert[i])
                assert_memory_equal(&a->r[i], &b->r[i], sizeof(a->r[i]));
        assert_memory_equal(a->ctr, b->ctr, sizeof(a->ctr));
        assert_int_equal(b->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 0);
    }
    assert_true(a->ctr[LW_BURST_CTR_ALERTS] >= 2); /* the script does exercise alerts */
    test_free(a);
    test_free(b);
}

static void test_switch_at_exact_limit_plus_one(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 16, 1000);
    remake(fx, &cfg);
    for (unsigned i = 1; i <= 16; i++)
        add_to(fx, KEY_A, (uint16_t)(i % 2), i, 10 * i);
    assert_int_equal(distinct(fx, KEY_A), 16);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 0);
    size_t exact_bytes = lw_burst_bytes(fx->b);
    add_to(fx, KEY_A, 0, 17, 200);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 17);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 0);
    uint32_t d = distinct(fx, KEY_A);
    assert_in_range(d, 15, 19);                       /* the estimate continues from about 17 */
    assert_true(lw_burst_bytes(fx->b) > exact_bytes); /* the sketch is bigger than 16 values */
    /* repeats, old and new, do not move it; a second switch does not happen */
    add_to(fx, KEY_A, 1, 3, 300);
    add_to(fx, KEY_A, 0, 17, 301);
    assert_int_equal(distinct(fx, KEY_A), d);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 1);
    /* another key stays exact */
    add_to(fx, KEY_B, 0, 1, 302);
    assert_int_equal(distinct(fx, KEY_B), 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 1);
}

static void test_no_switch_without_exact_limit(void **state)
{
    fixture *fx = *state;
    for (unsigned i = 1; i <= MAX_VALUES + 5; i++)
        add(fx, i, i);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 0);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 5);
}

/* One new value every 20 s for 40 minutes; returns the value number (1..)
 * that alerted, 0 for none, and checks there was only one alert. */
static unsigned slow_drip(fixture *fx, uint32_t exact_limit)
{
    lw_burst_config cfg;
    estimating_config(&cfg, exact_limit, 100);
    remake(fx, &cfg);
    unsigned alerted = 0;
    for (unsigned i = 1; i <= 120; i++) {
        if (add(fx, i, HOUR_US + (uint64_t)i * 20 * 1000000)) {
            assert_int_equal(alerted, 0);
            alerted = i;
            assert_true(fx->r.distinct >= 100);
            assert_int_equal(kinds_sum(fx->r.per_kind), fx->r.distinct);
            assert_int_equal(fx->r.per_kind[0], fx->r.distinct);
        }
    }
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 1);
    return alerted;
}

static void test_slow_drip_exact(void **state)
{
    fixture *fx = *state;
    assert_int_equal(slow_drip(fx, 4096), 100);
    assert_int_equal(fx->r.first_ts_us, HOUR_US + 20 * 1000000);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 0);
}

static void test_slow_drip_estimated(void **state)
{
    fixture *fx = *state;
    unsigned at = slow_drip(fx, 16);
    assert_in_range(at, 90, 110);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 1);
    /* the oldest value's sub-window is still counted: first_ts is exact here */
    assert_int_equal(fx->r.first_ts_us, HOUR_US + 20 * 1000000);
    /* samples: the oldest distinct masks, as an exact key would show them */
    assert_int_equal(fx->r.sample_count, SAMPLES);
    assert_string_equal(fx->r.samples[0], "v***01");
    assert_string_equal(fx->r.samples[3], "v***04");
}

static void test_many_values_bounded_memory(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 4096, 150000);
    remake(fx, &cfg);
    size_t peak = 0, at_switch = 0;
    bool alerted = false;
    for (unsigned i = 0; i < 200000; i++) {
        lw_pii_value v = val((uint16_t)(i % 3), i);
        alerted |= lw_burst_add(fx->b, KEY_A, strlen(KEY_A), &v, HOUR_US + i, &fx->r);
        size_t bytes = lw_burst_bytes(fx->b);
        peak = bytes > peak ? bytes : peak;
        if (i == 4096)
            at_switch = bytes;
    }
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 1);
    /* exact: 4096 entries of <= 128 bytes plus an index of 8192 x 4 */
    assert_true(peak < 4096 * 144 + 64 * 1024);
    assert_true(at_switch < 64 * 1024); /* the sketch replaced the values */
    assert_int_equal(lw_burst_bytes(fx->b), at_switch);
    uint32_t d = distinct(fx, KEY_A);
    assert_true(d > 180000 && d < 220000);
    assert_true(alerted);
    assert_true(fx->r.distinct >= 150000 && fx->r.distinct < 165000);
    assert_int_equal(kinds_sum(fx->r.per_kind), fx->r.distinct);
    /* kinds were added in equal shares */
    for (int k = 0; k < 3; k++)
        assert_true(fx->r.per_kind[k] > fx->r.distinct / 4);
    assert_int_equal(fx->r.per_kind[3], 0);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 0);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALLOC_FAILED], 0);
}

static void test_estimated_key_slides_and_expires(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 16, 1000);
    remake(fx, &cfg);
    size_t empty = lw_burst_bytes(fx->b);
    for (unsigned i = 0; i < 1000; i++)
        add_to(fx, KEY_A, 1, i, HOUR_US + i);
    assert_in_range(distinct(fx, KEY_A), 900, 1100);
    /* a window later only the new value is left: the count falls, and the
     * per-kind split with it */
    add_to(fx, KEY_A, 2, 5000, 3 * HOUR_US);
    assert_int_equal(distinct(fx, KEY_A), 1);
    /* the key expires like any other and frees its sketch */
    assert_int_equal(lw_burst_expire(fx->b, 4 * HOUR_US, 10), 1);
    assert_true(lw_burst_bytes(fx->b) < empty + 1024); /* only the key record stays, free-listed */
    /* back as an exact key */
    for (unsigned i = 0; i < 10; i++)
        add_to(fx, KEY_A, 0, i, 4 * HOUR_US + i);
    assert_int_equal(distinct(fx, KEY_A), 10);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_ESTIMATED], 1);
}

static void test_estimated_per_kind_follows_fall(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 16, 1);
    remake(fx, &cfg);
    for (unsigned i = 0; i < 600; i++)
        add_to(fx, KEY_A, (uint16_t)(i < 300 ? 4 : 5), i, HOUR_US + i);
    /* two windows later all 600 have left: the fall scales kinds 4 and 5
     * to nothing, and the new value's rise is credited to its kind 6 */
    assert_true(add_to(fx, KEY_A, 6, 10000, 3 * HOUR_US)); /* cool-down over: alerts */
    assert_int_equal(kinds_sum(fx->r.per_kind), fx->r.distinct);
    assert_int_equal(fx->r.distinct, 1);
    assert_int_equal(fx->r.per_kind[6], 1);
}

static void test_estimated_growth(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 16, 50);
    remake(fx, &cfg);
    uint32_t added, per_kind[LW_BURST_MAX_KINDS];
    unsigned i = 0;
    while (!add(fx, i, HOUR_US + i))
        i++;
    assert_in_range(i, 40, 60);
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_int_equal(added, 0);
    for (unsigned j = 0; j < 500; j++)
        add_to(fx, KEY_A, 7, 10000 + j, HOUR_US + 1000 + j);
    assert_true(lw_burst_growth(fx->b, KEY_A, strlen(KEY_A), &added, per_kind));
    assert_in_range(added, 450, 550);
    assert_int_equal(per_kind[7], added);
    assert_int_equal(per_kind[0], 0);
}

static void test_estimated_samples_refresh_and_leave(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 4, 6);
    cfg.samples = 2;
    remake(fx, &cfg);
    add(fx, 1, HOUR_US);
    add(fx, 101, HOUR_US + 1); /* same mask as 1: not a second sample */
    add(fx, 2, HOUR_US + 2);
    add(fx, 3, HOUR_US + 3);
    add(fx, 4, HOUR_US + 4);                           /* switch: samples v***01, v***02 */
    add(fx, 1, 2 * HOUR_US - 1);                       /* refresh value 1: its sample lives on */
    const uint64_t later = 2 * HOUR_US + HOUR_US / 15; /* one sub-window on: 2, 3, 4 left */
    /* value 2's sample leaves with the window; 5 takes its place */
    add(fx, 5, later);
    add(fx, 6, later + 1);
    add(fx, 7, later + 2);
    add(fx, 8, later + 3);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALERTS], 0);
    assert_true(add(fx, 9, later + 4)); /* 1, 5, 6, 7, 8, 9 */
    assert_int_equal(fx->r.sample_count, 2);
    assert_string_equal(fx->r.samples[0], "v***01");
    assert_string_equal(fx->r.samples[1], "v***05");
    assert_true(fx->r.distinct >= 6);
    for (size_t i = 0; i < fx->r.sample_count; i++)
        assert_null(strstr(fx->r.samples[i], "value-"));
}

static void test_estimated_time_backwards(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 2, 100);
    remake(fx, &cfg);
    add(fx, 1, 5 * HOUR_US);
    add(fx, 2, 5 * HOUR_US);
    add(fx, 3, 5 * HOUR_US); /* switched */
    add(fx, 4, 0);           /* treated as 5 h */
    assert_int_equal(distinct(fx, KEY_A), 4);
    add(fx, 5, 6 * HOUR_US + HOUR_US / 10); /* all four gone */
    assert_int_equal(distinct(fx, KEY_A), 1);
}

static void test_exact_limit_config(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    estimating_config(&cfg, 16, 100); /* threshold above exact_limit, max_values 0: fine */
    lw_burst *b = lw_burst_new(&cfg, fx->ctr);
    assert_non_null(b);
    lw_burst_free(b);
    cfg.exact_limit = UINT32_MAX;
    assert_null(lw_burst_new(&cfg, fx->ctr));
    cfg.exact_limit = 0; /* max_values 0 < threshold again */
    assert_null(lw_burst_new(&cfg, fx->ctr));
}

static void test_bytes_track_growth(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.max_values = 64;
    remake(fx, &cfg);
    size_t empty = lw_burst_bytes(fx->b);
    assert_true(empty > 0);
    add(fx, 1, 1);
    size_t one = lw_burst_bytes(fx->b);
    assert_true(one > empty);
    for (unsigned i = 2; i <= 64; i++)
        add(fx, i, i);
    assert_true(lw_burst_bytes(fx->b) > one + 56 * 100); /* grown to 64 entries */
    lw_burst_expire(fx->b, 10 * WINDOW, 10);
    assert_true(lw_burst_bytes(fx->b) < one);
}

/* ---- layout: growing buckets, the id-indexed LRU, the index tags ----------- */

/* Keys stay findable while the bucket array doubles under them (64 buckets
 * at first, 4096 at max_keys 3000), and the bucket memory is counted. */
static void test_keys_found_across_bucket_growth(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.max_keys = 3000;
    remake(fx, &cfg);
    size_t empty = lw_burst_bytes(fx->b);
    char key[16];
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "key%u", i);
        add_to(fx, key, 0, 1, 10);
        if (i % 2)
            add_to(fx, key, 0, 2, 10);
    }
    assert_int_equal(lw_burst_key_count(fx->b), 3000);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_CREATED], 3000);
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_EVICTED], 0);
    assert_int_equal(fx->ctr[LW_BURST_CTR_ALLOC_FAILED], 0);
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "key%u", i);
        assert_int_equal(distinct(fx, key), i % 2 ? 2 : 1);
    }
    assert_int_equal(distinct(fx, "key3000"), 0);
    /* at least the 4096 buckets and one record per key */
    assert_true(lw_burst_bytes(fx->b) >= empty + 4096 * sizeof(void *) + 3000 * 400);
    /* all expire, and the buckets they leave still find new keys */
    assert_int_equal(lw_burst_expire(fx->b, 10 * WINDOW, 5000), 3000);
    add_to(fx, "key7", 0, 5, 10 * WINDOW);
    assert_int_equal(distinct(fx, "key7"), 1);
}

/* Eviction takes the least recently active key among many, after
 * activity in an order unlike creation (the LRU links are by key id). */
static void test_eviction_order_among_many_keys(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.max_keys = 200;
    remake(fx, &cfg);
    char key[16];
    for (unsigned i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key%u", i);
        add_to(fx, key, 0, 1, 10);
    }
    /* touch every key again, in the order 7*i mod 200 (a permutation) */
    for (unsigned i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "key%u", (i * 7) % 200);
        add_to(fx, key, 0, 2, 20 + i);
    }
    /* three new keys evict the first three touched: key0, key7, key14 */
    for (unsigned i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "new%u", i);
        add_to(fx, key, 0, 1, 300);
    }
    assert_int_equal(fx->ctr[LW_BURST_CTR_KEYS_EVICTED], 3);
    assert_int_equal(distinct(fx, "key0"), 0);
    assert_int_equal(distinct(fx, "key7"), 0);
    assert_int_equal(distinct(fx, "key14"), 0);
    assert_int_equal(distinct(fx, "key21"), 2);
    assert_int_equal(distinct(fx, "key1"), 2);
    assert_int_equal(distinct(fx, "new2"), 1);
    /* a recycled record is a fresh key: no values, no cool-down */
    assert_false(
        lw_burst_growth(fx->b, "new0", 4, &(uint32_t){0}, (uint32_t[LW_BURST_MAX_KINDS]){0}));
}

/* A lone value refreshed stays in for a window from the refresh, and a
 * head that changes by refresh leaves exactly a window after its own time:
 * the key's cached oldest time follows both. */
static void test_oldest_time_follows_refresh(void **state)
{
    fixture *fx = *state;
    add(fx, 1, 0);
    add(fx, 1, WINDOW - 1);     /* refresh the only value */
    add(fx, 2, 2 * WINDOW - 2); /* value 1 is WINDOW - 1 old: still in */
    assert_int_equal(distinct(fx, KEY_A), 2);
    add(fx, 3, 2 * WINDOW - 1); /* value 1 is WINDOW old: gone */
    assert_int_equal(distinct(fx, KEY_A), 2);

    lw_burst_config cfg;
    default_config(&cfg);
    remake(fx, &cfg);
    add(fx, 1, 100);
    add(fx, 2, 110);
    add(fx, 1, 120); /* value 2 (t=110) is the oldest now */
    add(fx, 3, 110 + WINDOW - 1);
    assert_int_equal(distinct(fx, KEY_A), 3);
    add(fx, 3, 110 + WINDOW); /* value 2 leaves; value 1 (t=120) stays */
    assert_int_equal(distinct(fx, KEY_A), 2);
    add(fx, 3, 120 + WINDOW);
    assert_int_equal(distinct(fx, KEY_A), 1);
}

/* Many values in one key: inserts, repeats, expiry of half and their
 * return exercise the index (tags, probing, backward-shift deletion) and
 * the counters say exactly which adds were new. */
static void test_index_under_churn(void **state)
{
    fixture *fx = *state;
    lw_burst_config cfg;
    default_config(&cfg);
    cfg.max_values = 2048;
    cfg.threshold = 2048;
    remake(fx, &cfg);
    for (unsigned i = 0; i < 2000; i++)
        add(fx, i, i < 1000 ? 10 : 500);
    assert_int_equal(distinct(fx, KEY_A), 2000);
    for (unsigned i = 0; i < 2000; i += 3) /* repeats are not new */
        add(fx, i, 600);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 2000);
    assert_int_equal(distinct(fx, KEY_A), 2000);
    /* at 10 + WINDOW the first 1000 leave, except those refreshed at 600 */
    add(fx, 1, 10 + WINDOW); /* 1 was not refreshed (1 % 3 != 0): new again */
    assert_int_equal(distinct(fx, KEY_A), 1000 + 334 + 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 2001);
    for (unsigned i = 0; i < 1000; i++)
        add(fx, i, 10 + WINDOW);
    assert_int_equal(distinct(fx, KEY_A), 2000);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_NEW], 2001 + 1000 - 334 - 1);
    assert_int_equal(fx->ctr[LW_BURST_CTR_VALUES_CAPPED], 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_alert_exactly_at_threshold),
        T(test_threshold_one),
        T(test_repeated_value_counts_once),
        T(test_same_text_other_kind_is_distinct),
        T(test_value_compared_by_norm_not_mask),
        T(test_value_expired_exactly_at_window),
        T(test_value_live_just_inside_window),
        T(test_repeat_refreshes_time),
        T(test_no_second_alert_within_window),
        T(test_cool_down_exact_edge),
        T(test_new_alert_after_cool_down_with_fresh_values),
        T(test_below_threshold_in_cool_down_not_suppressed),
        T(test_per_kind_counts),
        T(test_per_kind_counts_drop_with_expiry),
        T(test_kind_out_of_range_rejected),
        T(test_samples_are_masked_and_distinct),
        T(test_samples_limited_to_config),
        T(test_samples_zero),
        T(test_samples_only_live_values),
        T(test_unterminated_mask_is_cut),
        T(test_null_report_allowed),
        T(test_key_eviction_at_max_keys),
        T(test_values_capped_per_key),
        T(test_cap_frees_room_as_values_expire),
        T(test_large_key_grows_and_shrinks),
        T(test_expire_key_exact_edge),
        T(test_expire_budget),
        T(test_expire_keeps_active_and_cooling_keys),
        T(test_expired_key_starts_fresh),
        T(test_time_backwards_uses_latest),
        T(test_expire_before_latest_does_not_wrap),
        T(test_backwards_time_does_not_end_cool_down),
        T(test_two_keys_independent),
        T(test_keys_compared_exactly),
        T(test_key_too_long_rejected),
        T(test_bad_config_rejected),
        T(test_hash_key_changes_nothing_observable),
        T(test_counter_names),
        T(test_growth_counts_new_values_after_alert),
        T(test_growth_resets_at_next_alert),
        T(test_add_threshold_lower),
        T(test_add_threshold_higher_and_zero),
        T(test_add_threshold_above_cap_never_reached),
        T(test_exact_limit_below_limit_identical),
        T(test_switch_at_exact_limit_plus_one),
        T(test_no_switch_without_exact_limit),
        T(test_slow_drip_exact),
        T(test_slow_drip_estimated),
        T(test_many_values_bounded_memory),
        T(test_estimated_key_slides_and_expires),
        T(test_estimated_per_kind_follows_fall),
        T(test_estimated_growth),
        T(test_estimated_samples_refresh_and_leave),
        T(test_estimated_time_backwards),
        T(test_exact_limit_config),
        T(test_bytes_track_growth),
        T(test_keys_found_across_bucket_growth),
        T(test_eviction_order_among_many_keys),
        T(test_oldest_time_follows_refresh),
        T(test_index_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
