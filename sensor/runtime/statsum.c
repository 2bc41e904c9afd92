/*
 * statsum.c - counters added up by name (see statsum.h).
 *
 * Lookups are linear, but snapshots arrive in the order the sum already
 * has, so the entry at the same position is tried first and a whole
 * snapshot is added in one pass. Sums are built a few times a second at
 * most, never per packet.
 */
#include "leakwatch/statsum.h"

#include <stdio.h>
#include <string.h>

static void add_at(lw_stat_sum *s, size_t hint, const char *name, uint64_t v)
{
    if (hint < s->n && strncmp(s->e[hint].name, name, LW_STAT_SUM_NAME_MAX - 1) == 0 &&
        strlen(name) < LW_STAT_SUM_NAME_MAX) {
        s->e[hint].value += v;
        return;
    }
    char cut[LW_STAT_SUM_NAME_MAX];
    snprintf(cut, sizeof(cut), "%s", name);
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->e[i].name, cut) == 0) {
            s->e[i].value += v;
            return;
        }
    }
    if (s->n == LW_STAT_SUM_MAX) {
        s->dropped++;
        return;
    }
    memcpy(s->e[s->n].name, cut, sizeof(cut));
    s->e[s->n].value = v;
    s->n++;
}

void lw_stat_sum_add(lw_stat_sum *s, const char *name, uint64_t v)
{
    add_at(s, SIZE_MAX, name, v);
}

void lw_stat_sum_add_all(lw_stat_sum *s, const lw_stat *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_at(s, i, st[i].name, st[i].value);
}

void lw_stat_sum_merge(lw_stat_sum *dst, const lw_stat_sum *src)
{
    for (size_t i = 0; i < src->n; i++)
        add_at(dst, i, src->e[i].name, src->e[i].value);
    dst->dropped += src->dropped;
}

uint64_t lw_stat_sum_get(const lw_stat_sum *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].name, name) == 0)
            return s->e[i].value;
    return 0;
}

size_t lw_stat_sum_view(const lw_stat_sum *s, lw_stat *out, size_t cap)
{
    size_t n = s->n < cap ? s->n : cap;
    for (size_t i = 0; i < n; i++)
        out[i] = (lw_stat){s->e[i].name, s->e[i].value};
    return n;
}
