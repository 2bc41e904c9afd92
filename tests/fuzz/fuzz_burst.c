/*
 * fuzz_burst.c - drives the burst table with a random sequence of adds and
 * expiries under tiny caps and checks it against a naive model.
 *
 * Input layout:
 *   byte 0  threshold = 1 + (b & 3); max_values = threshold + (b >> 2 & 7),
 *           at most 8; max_keys = 1 + (b >> 5 & 3); bit 7: estimating mode
 *           (below)
 *   byte 1  samples = (b & 7), at most 4; window = 1 + 2 * (b >> 3) us
 *   byte 2  starting time: 0, near UINT64_MAX (wrap checks), or b * 1000
 *   then operations, each starting with an op byte:
 *     op & 3 in 0..2: add - kind = op >> 2 & 3, per-call threshold
 *       (op & 16 ? 1 + (op >> 5) : 0 = the table's), then a key byte
 *       (length 1 + (k >> 6) % 3, content k & 3), a value length byte (& 7)
 *       and that many value bytes (& 3, so values repeat), then a signed
 *       time delta byte (time may go backwards)
 *     op & 3 == 3: expire - a signed time delta byte and a budget byte (& 3)
 *
 * Estimating mode (byte 0 bit 7): exact_limit = 1 + (b >> 2 & 7), max_values
 * 0 (ignored), threshold = 1 + 4 * (b & 3), window = 1 + 8 * (b1 >> 3) us,
 * so keys switch to the HyperLogLog often. Estimates are not exact, so a
 * looser model checks bounds instead: it keeps every value with its last
 * time and mirrors the key LRU, taking alert times from the table (the
 * cool-down must hold); the key count, expiry results and evictions must
 * match exactly; every key's distinct count must lie within a factor of two
 * (plus 3) of the true count, measured over the window (lower bound) and
 * over twice the window (upper bound, as the sketch's window runs up to
 * 1/15 longer); reports must be consistent (per-kind counts summing to the
 * distinct count, distinct masked samples, first time not in the future).
 *
 * The model keeps keys and values in plain arrays in LRU order and compares
 * values by their bytes, so it shares no code or idea of hashing with the
 * table. Checked after every operation: alert decisions, report contents
 * (distinct, per-kind counts, first time, samples), key count, every key's
 * distinct count, distinct <= max_values, keys <= max_keys, and that a key
 * never alerts twice within the window unless it was evicted in between
 * (eviction drops a key's cool-down, by design).
 */
#include "leakwatch/burst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MK      4 /* most keys the harness configures */
#define MV      8 /* most values per key */
#define MAX_OPS 4096

typedef struct mval {
    uint16_t kind;
    uint8_t len;
    uint8_t b[8];
    uint64_t ts;
    char masked[8];
} mval;

typedef struct mkey {
    uint8_t len;
    uint8_t k[4];
    uint64_t last, alert;
    bool cooling;
    int n;
    mval v[MV]; /* oldest first */
} mkey;

typedef struct model {
    lw_burst_config cfg;
    int nkeys;
    mkey keys[MK]; /* least recently active first */
    uint64_t latest;
} model;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_burst: check failed: %s (line %d)\n", #c, __LINE__);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint8_t next(reader *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

static uint64_t step(uint64_t t, int8_t d)
{
    if (d < 0)
        return t >= (uint64_t)(-(int)d) ? t - (uint64_t)(-(int)d) : 0;
    return t <= UINT64_MAX - (uint64_t)d ? t + (uint64_t)d : UINT64_MAX;
}

static void remove_key(model *m, int i)
{
    memmove(&m->keys[i], &m->keys[i + 1], (size_t)(m->nkeys - i - 1) * sizeof(mkey));
    m->nkeys--;
}

static void remove_val(mkey *k, int i)
{
    memmove(&k->v[i], &k->v[i + 1], (size_t)(k->n - i - 1) * sizeof(mval));
    k->n--;
}

static int find_key(const model *m, const uint8_t *key, uint8_t len)
{
    for (int i = 0; i < m->nkeys; i++)
        if (m->keys[i].len == len && memcmp(m->keys[i].k, key, len) == 0)
            return i;
    return -1;
}

/* The model's lw_burst_add; returns the key's final slot via *ki, and
 * whether a key was evicted via *evicted. */
static bool model_add(model *m, const uint8_t *key, uint8_t klen, const mval *v, uint64_t now,
                      uint32_t threshold, int *ki, mkey *evicted)
{
    const lw_burst_config *c = &m->cfg;
    if (threshold == 0)
        threshold = c->threshold;
    if (now < m->latest)
        now = m->latest;
    m->latest = now;
    int i = find_key(m, key, klen);
    mkey k;
    if (i < 0) {
        if (m->nkeys == (int)c->max_keys) {
            *evicted = m->keys[0];
            remove_key(m, 0);
        }
        memset(&k, 0, sizeof(k));
        k.len = klen;
        memcpy(k.k, key, klen);
    } else {
        k = m->keys[i];
        remove_key(m, i);
    }
    k.last = now;
    while (k.n > 0 && now - k.v[0].ts >= c->window_us)
        remove_val(&k, 0);
    int j;
    for (j = 0; j < k.n; j++)
        if (k.v[j].kind == v->kind && k.v[j].len == v->len && memcmp(k.v[j].b, v->b, v->len) == 0)
            break;
    if (j < k.n) {
        mval x = k.v[j];
        remove_val(&k, j);
        x.ts = now;
        k.v[k.n++] = x;
    } else if (k.n < (int)c->max_values) {
        k.v[k.n] = *v;
        k.v[k.n].ts = now;
        k.n++;
    }
    bool alert = false;
    if (k.n >= (int)threshold && !(k.cooling && now - k.alert < c->window_us)) {
        k.cooling = true;
        k.alert = now;
        alert = true;
    }
    m->keys[m->nkeys] = k;
    *ki = m->nkeys;
    m->nkeys++;
    return alert;
}

static size_t model_expire(model *m, uint64_t now, size_t budget)
{
    if (now < m->latest)
        now = m->latest;
    m->latest = now;
    size_t n = 0;
    while (n < budget && m->nkeys > 0) {
        const mkey *k = &m->keys[0];
        if (now - k->last < m->cfg.window_us || (k->cooling && now - k->alert < m->cfg.window_us))
            break;
        remove_key(m, 0);
        n++;
    }
    return n;
}

static void check_report(const model *m, const mkey *k, const lw_burst_report *r)
{
    CHECK(r->distinct == (uint32_t)k->n);
    CHECK(r->distinct <= m->cfg.max_values);
    uint32_t per_kind[LW_BURST_MAX_KINDS] = {0};
    for (int i = 0; i < k->n; i++)
        per_kind[k->v[i].kind]++;
    CHECK(memcmp(per_kind, r->per_kind, sizeof(per_kind)) == 0);
    CHECK(r->first_ts_us == k->v[0].ts);
    size_t want = 0;
    for (int i = 0; i < k->n && want < m->cfg.samples; i++) {
        const char *s = k->v[i].masked;
        bool dup = s[0] == '\0';
        for (size_t j = 0; j < want && !dup; j++)
            dup = strcmp(r->samples[j], s) == 0;
        if (dup)
            continue;
        CHECK(want < r->sample_count);
        CHECK(strcmp(r->samples[want], s) == 0);
        want++;
    }
    CHECK(r->sample_count == want);
}

static void check_state(const model *m, const lw_burst *b)
{
    CHECK(lw_burst_key_count(b) == (size_t)m->nkeys);
    CHECK(lw_burst_key_count(b) <= m->cfg.max_keys);
    for (int i = 0; i < m->nkeys; i++) {
        uint32_t d = lw_burst_distinct(b, m->keys[i].k, m->keys[i].len);
        CHECK(d == (uint32_t)m->keys[i].n);
        CHECK(d <= m->cfg.max_values);
    }
}

/* Last alert time per possible key (3 lengths x 4 contents), when `set`:
 * the model-free check that alerts are a window apart. */
typedef struct alert_log {
    bool set[3][4];
    uint64_t at[3][4];
} alert_log;

/* One add operation as read from the input. */
typedef struct add_op {
    uint8_t kb, klen;
    uint8_t key[4];
    uint32_t threshold; /* 0 = the table's */
    mval v;
    lw_pii_value pv;
} add_op;

static void read_add(reader *rd, uint8_t op, add_op *a, uint64_t *t)
{
    memset(a, 0, sizeof(*a));
    a->threshold = (op & 16) ? 1u + (op >> 5) : 0;
    a->kb = next(rd);
    a->klen = (uint8_t)(1 + (a->kb >> 6) % 3);
    memset(a->key, a->kb & 3, sizeof(a->key));
    a->v.kind = (op >> 2) & 3u;
    a->v.len = next(rd) & 7u;
    for (int i = 0; i < a->v.len; i++)
        a->v.b[i] = next(rd) & 3u;
    if (a->v.len > 0)
        snprintf(a->v.masked, sizeof(a->v.masked), "m%u%u", a->v.len, a->v.b[0]);
    *t = step(*t, (int8_t)next(rd));
    a->pv.kind = a->v.kind;
    a->pv.norm_len = a->v.len;
    memcpy(a->pv.norm, a->v.b, a->v.len);
    memcpy(a->pv.masked, a->v.masked, sizeof(a->v.masked));
}

static void check_counters(const uint64_t *ctr, const lw_burst *b)
{
    CHECK(ctr[LW_BURST_CTR_KEYS_CREATED] ==
          ctr[LW_BURST_CTR_KEYS_EVICTED] + ctr[LW_BURST_CTR_KEYS_EXPIRED] + lw_burst_key_count(b));
    CHECK(ctr[LW_BURST_CTR_VALUES] >=
          ctr[LW_BURST_CTR_VALUES_NEW] + ctr[LW_BURST_CTR_VALUES_CAPPED]);
    CHECK(ctr[LW_BURST_CTR_KEYS_ESTIMATED] <= ctr[LW_BURST_CTR_KEYS_CREATED]);
    CHECK(ctr[LW_BURST_CTR_ALLOC_FAILED] == 0);
}

/* ---- estimating mode: the loose model ------------------------------------ */

#define LOOSE_OPS 1024 /* at most this many values per key, too */

typedef struct lkey {
    uint8_t len;
    uint8_t k[4];
    uint64_t last, alert;
    bool cooling;
    int n;
    mval *v; /* every value with its last time, LOOSE_OPS of room */
} lkey;

typedef struct loose {
    lw_burst_config cfg;
    int nkeys;
    lkey keys[MK]; /* least recently active first; v arrays travel with them */
    uint64_t latest;
} loose;

static void loose_remove_key(loose *m, int i)
{
    mval *v = m->keys[i].v;
    memmove(&m->keys[i], &m->keys[i + 1], (size_t)(m->nkeys - i - 1) * sizeof(lkey));
    m->nkeys--;
    m->keys[m->nkeys].v = v; /* keep the storage for a later key */
}

/* Distinct values of k seen within `span` before now. */
static uint32_t loose_count(const lkey *k, uint64_t now, uint64_t span)
{
    uint32_t n = 0;
    for (int i = 0; i < k->n; i++)
        n += now - k->v[i].ts < span;
    return n;
}

static void loose_check_distinct(const loose *m, const lkey *k, uint32_t d)
{
    uint64_t w = m->cfg.window_us;
    uint64_t lo = loose_count(k, k->last, w);
    uint64_t hi = loose_count(k, k->last, w <= UINT64_MAX / 2 ? 2 * w : UINT64_MAX);
    CHECK(d <= 2 * hi + 3);
    CHECK(lo <= 2 * (uint64_t)d + 3);
}

/* Mirrors the key LRU for an add; returns the key's slot. */
static lkey *loose_touch(loose *m, const add_op *a, uint64_t now)
{
    if (now < m->latest)
        now = m->latest;
    m->latest = now;
    int i;
    for (i = 0; i < m->nkeys; i++)
        if (m->keys[i].len == a->klen && memcmp(m->keys[i].k, a->key, a->klen) == 0)
            break;
    lkey k;
    if (i == m->nkeys) {
        if (m->nkeys == (int)m->cfg.max_keys)
            loose_remove_key(m, 0);
        k = m->keys[m->nkeys]; /* a free slot: its storage */
        mval *v = k.v;
        memset(&k, 0, sizeof(k));
        k.v = v;
        k.len = a->klen;
        memcpy(k.k, a->key, a->klen);
    } else {
        k = m->keys[i];
        memmove(&m->keys[i], &m->keys[i + 1], (size_t)(m->nkeys - i - 1) * sizeof(lkey));
        m->nkeys--;
    }
    k.last = now;
    int j;
    for (j = 0; j < k.n; j++)
        if (k.v[j].kind == a->v.kind && k.v[j].len == a->v.len &&
            memcmp(k.v[j].b, a->v.b, a->v.len) == 0)
            break;
    if (j == k.n)
        k.v[k.n++] = a->v;
    k.v[j].ts = now;
    m->keys[m->nkeys++] = k;
    return &m->keys[m->nkeys - 1];
}

static size_t loose_expire(loose *m, uint64_t now, size_t budget)
{
    if (now < m->latest)
        now = m->latest;
    m->latest = now;
    size_t n = 0;
    while (n < budget && m->nkeys > 0) {
        const lkey *k = &m->keys[0];
        if (now - k->last < m->cfg.window_us || (k->cooling && now - k->alert < m->cfg.window_us))
            break;
        loose_remove_key(m, 0);
        n++;
    }
    return n;
}

static void loose_check_report(const loose *m, const lkey *k, const lw_burst_report *r,
                               uint32_t threshold)
{
    CHECK(r->distinct >= threshold);
    uint64_t sum = 0;
    for (int i = 0; i < LW_BURST_MAX_KINDS; i++) {
        sum += r->per_kind[i];
        if (i >= 4)
            CHECK(r->per_kind[i] == 0);
    }
    CHECK(sum == r->distinct);
    CHECK(r->first_ts_us <= m->latest);
    CHECK(r->sample_count <= m->cfg.samples);
    for (size_t i = 0; i < r->sample_count; i++) {
        CHECK(r->samples[i][0] == 'm');
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(r->samples[i], r->samples[j]) != 0);
    }
    loose_check_distinct(m, k, r->distinct);
}

static void loose_check_state(const loose *m, const lw_burst *b)
{
    CHECK(lw_burst_key_count(b) == (size_t)m->nkeys);
    for (int i = 0; i < m->nkeys; i++)
        loose_check_distinct(m, &m->keys[i], lw_burst_distinct(b, m->keys[i].k, m->keys[i].len));
}

static void run_loose(reader *rd, uint8_t b0, uint8_t b1, uint64_t t)
{
    loose m;
    memset(&m, 0, sizeof(m));
    m.cfg.threshold = 1u + 4u * (b0 & 3u);
    m.cfg.exact_limit = 1u + ((b0 >> 2) & 7u);
    m.cfg.max_keys = 1u + ((b0 >> 5) & 3u);
    m.cfg.samples = b1 & 7u;
    if (m.cfg.samples > 4)
        m.cfg.samples = 4;
    m.cfg.window_us = 1u + 8u * (uint64_t)(b1 >> 3);
    for (int i = 0; i < 16; i++)
        m.cfg.hash_key[i] = (uint8_t)(i * 5 + 3);
    for (int i = 0; i < MK; i++) {
        m.keys[i].v = malloc(LOOSE_OPS * sizeof(mval));
        CHECK(m.keys[i].v != NULL);
    }
    uint64_t ctr[LW_BURST_CTR_MAX] = {0};
    lw_burst *b = lw_burst_new(&m.cfg, ctr);
    CHECK(b != NULL);

    for (int ops = 0; rd->p < rd->end && ops < LOOSE_OPS; ops++) {
        uint8_t op = next(rd);
        if ((op & 3) == 3) {
            t = step(t, (int8_t)next(rd));
            size_t budget = next(rd) & 3u;
            CHECK(lw_burst_expire(b, t, budget) == loose_expire(&m, t, budget));
            loose_check_state(&m, b);
            continue;
        }
        add_op a;
        read_add(rd, op, &a, &t);
        lw_burst_report r;
        memset(&r, 0xee, sizeof(r));
        bool got = lw_burst_add_threshold(b, a.key, a.klen, &a.pv, t, a.threshold, &r);
        lkey *k = loose_touch(&m, &a, t);
        uint32_t threshold = a.threshold ? a.threshold : m.cfg.threshold;
        bool cooling = k->cooling && m.latest - k->alert < m.cfg.window_us;
        uint32_t d = lw_burst_distinct(b, a.key, a.klen);
        if (got) {
            CHECK(!cooling);
            CHECK(r.distinct == d);
            loose_check_report(&m, k, &r, threshold);
            k->cooling = true;
            k->alert = m.latest;
        } else {
            CHECK(d < threshold || cooling);
        }
        loose_check_state(&m, b);
    }
    CHECK(ctr[LW_BURST_CTR_VALUES_CAPPED] == 0);
    check_counters(ctr, b);
    lw_burst_free(b);
    for (int i = 0; i < MK; i++)
        free(m.keys[i].v);
}

/* ---- entry ------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader rd = {data, data + size};
    model m;
    memset(&m, 0, sizeof(m));
    uint8_t b0 = next(&rd), b1 = next(&rd), b2 = next(&rd);
    uint64_t t = b2 == 0 ? 0 : b2 == 1 ? UINT64_MAX - 4096 : (uint64_t)b2 * 1000;
    if (b0 & 0x80) {
        run_loose(&rd, b0, b1, t);
        return 0;
    }
    m.cfg.threshold = 1u + (b0 & 3u);
    m.cfg.max_values = m.cfg.threshold + ((b0 >> 2) & 7u);
    if (m.cfg.max_values > MV)
        m.cfg.max_values = MV;
    m.cfg.max_keys = 1u + ((b0 >> 5) & 3u);
    m.cfg.samples = b1 & 7u;
    if (m.cfg.samples > 4)
        m.cfg.samples = 4;
    m.cfg.window_us = 1u + 2u * (uint64_t)(b1 >> 3);
    for (int i = 0; i < 16; i++)
        m.cfg.hash_key[i] = (uint8_t)(i * 7 + 1);

    uint64_t ctr[LW_BURST_CTR_MAX] = {0};
    lw_burst *b = lw_burst_new(&m.cfg, ctr);
    CHECK(b != NULL);
    alert_log log;
    memset(&log, 0, sizeof(log));

    for (int ops = 0; rd.p < rd.end && ops < MAX_OPS; ops++) {
        uint8_t op = next(&rd);
        if ((op & 3) == 3) {
            t = step(t, (int8_t)next(&rd));
            size_t budget = next(&rd) & 3u;
            size_t got = lw_burst_expire(b, t, budget);
            CHECK(got == model_expire(&m, t, budget));
            CHECK(got <= budget);
            check_state(&m, b);
            continue;
        }
        add_op a;
        read_add(&rd, op, &a, &t);

        lw_burst_report r;
        memset(&r, 0xee, sizeof(r));
        bool got = lw_burst_add_threshold(b, a.key, a.klen, &a.pv, t, a.threshold, &r);
        int ki = -1;
        mkey ev;
        ev.len = 0;
        bool want = model_add(&m, a.key, a.klen, &a.v, t, a.threshold, &ki, &ev);
        CHECK(got == want);
        if (ev.len)
            log.set[ev.len - 1][ev.k[0]] = false;
        if (got) {
            check_report(&m, &m.keys[ki], &r);
            int x = a.klen - 1, c = a.kb & 3;
            if (log.set[x][c])
                CHECK(m.latest - log.at[x][c] >= m.cfg.window_us);
            log.set[x][c] = true;
            log.at[x][c] = m.latest;
        }
        check_state(&m, b);
    }
    CHECK(ctr[LW_BURST_CTR_KEYS_ESTIMATED] == 0);
    check_counters(ctr, b);
    lw_burst_free(b);
    return 0;
}
