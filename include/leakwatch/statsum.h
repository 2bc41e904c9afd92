/*
 * statsum.h - adding up counters by name.
 *
 * Each worker's stats are a list of (name, value) in a fixed order; the
 * totals line is their sum, and a worker's figures must survive a reload
 * that replaces its engine (and perhaps its signature kinds, so names come
 * and go). A sum keeps its own copy of every name, so it never points into
 * an engine that has since been freed.
 */
#ifndef LEAKWATCH_STATSUM_H
#define LEAKWATCH_STATSUM_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/alert.h"

#define LW_STAT_SUM_MAX      640
#define LW_STAT_SUM_NAME_MAX 72 /* longer names are cut (none of ours is) */

typedef struct lw_stat_sum {
    size_t n;
    uint64_t dropped; /* names that found no room */
    struct {
        char name[LW_STAT_SUM_NAME_MAX];
        uint64_t value;
    } e[LW_STAT_SUM_MAX];
} lw_stat_sum;

/* Adds v to the counter `name`, appending it when new (first-seen order). */
void lw_stat_sum_add(lw_stat_sum *s, const char *name, uint64_t v);

/* Adds a whole snapshot (as lw_engine_stats gives it). Linear when the
 * snapshot has the order the sum already has. */
void lw_stat_sum_add_all(lw_stat_sum *s, const lw_stat *st, size_t n);

/* dst += src, name by name. */
void lw_stat_sum_merge(lw_stat_sum *dst, const lw_stat_sum *src);

/* The value of `name`, or 0 when absent. */
uint64_t lw_stat_sum_get(const lw_stat_sum *s, const char *name);

/* Fills out[] with views of the entries (valid while s is unchanged);
 * returns how many (at most cap). */
size_t lw_stat_sum_view(const lw_stat_sum *s, lw_stat *out, size_t cap);

#endif
