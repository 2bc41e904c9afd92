/*
 * fuzz_burst.c - drives the burst table with a random sequence of adds and
 * expiries under tiny caps and checks it against a naive model.
 *
 * Input layout:
 *   byte 0  threshold = 1 + (b & 3); max_values = threshold + (b >> 2 & 7),
 *           at most 8; max_keys = 1 + (b >> 5 & 3)
 *   byte 1  samples = (b & 7), at most 4; window = 1 + 2 * (b >> 3) us
 *   byte 2  starting time: 0, near UINT64_MAX (wrap checks), or b * 1000
 *   then operations, each starting with an op byte:
 *     op & 3 in 0..2: add - kind = op >> 2 & 3, then a key byte (length
 *       1 + (k >> 6) % 3, content k & 3), a value length byte (& 7) and
 *       that many value bytes (& 3, so values repeat), then a signed time
 *       delta byte (time may go backwards)
 *     op & 3 == 3: expire - a signed time delta byte and a budget byte (& 3)
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
                      int *ki, mkey *evicted)
{
    const lw_burst_config *c = &m->cfg;
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
    if (k.n >= (int)c->threshold && !(k.cooling && now - k.alert < c->window_us)) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader rd = {data, data + size};
    model m;
    memset(&m, 0, sizeof(m));
    uint8_t b0 = next(&rd), b1 = next(&rd), b2 = next(&rd);
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
    uint64_t t = b2 == 0 ? 0 : b2 == 1 ? UINT64_MAX - 4096 : (uint64_t)b2 * 1000;

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
        uint8_t kb = next(&rd);
        uint8_t klen = (uint8_t)(1 + (kb >> 6) % 3);
        uint8_t key[4];
        memset(key, kb & 3, sizeof(key));
        mval v;
        memset(&v, 0, sizeof(v));
        v.kind = (op >> 2) & 3u;
        v.len = next(&rd) & 7u;
        for (int i = 0; i < v.len; i++)
            v.b[i] = next(&rd) & 3u;
        if (v.len > 0)
            snprintf(v.masked, sizeof(v.masked), "m%u%u", v.len, v.b[0]);
        t = step(t, (int8_t)next(&rd));

        lw_pii_value pv;
        memset(&pv, 0, sizeof(pv));
        pv.kind = v.kind;
        pv.norm_len = v.len;
        memcpy(pv.norm, v.b, v.len);
        memcpy(pv.masked, v.masked, sizeof(v.masked));

        lw_burst_report r;
        memset(&r, 0xee, sizeof(r));
        bool got = lw_burst_add(b, key, klen, &pv, t, &r);
        int ki = -1;
        mkey ev;
        ev.len = 0;
        bool want = model_add(&m, key, klen, &v, t, &ki, &ev);
        CHECK(got == want);
        if (ev.len)
            log.set[ev.len - 1][ev.k[0]] = false;
        if (got) {
            check_report(&m, &m.keys[ki], &r);
            int a = klen - 1, c = kb & 3;
            if (log.set[a][c])
                CHECK(m.latest - log.at[a][c] >= m.cfg.window_us);
            log.set[a][c] = true;
            log.at[a][c] = m.latest;
        }
        check_state(&m, b);
    }
    CHECK(ctr[LW_BURST_CTR_KEYS_CREATED] ==
          ctr[LW_BURST_CTR_KEYS_EVICTED] + ctr[LW_BURST_CTR_KEYS_EXPIRED] + lw_burst_key_count(b));
    CHECK(ctr[LW_BURST_CTR_VALUES] >=
          ctr[LW_BURST_CTR_VALUES_NEW] + ctr[LW_BURST_CTR_VALUES_CAPPED]);
    CHECK(ctr[LW_BURST_CTR_ALLOC_FAILED] == 0);
    lw_burst_free(b);
    return 0;
}
