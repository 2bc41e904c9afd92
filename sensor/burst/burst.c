/*
 * burst.c - distinct PII values per key inside a sliding window of packet
 * time.
 *
 * Keys. A key (up to LW_BURST_KEY_MAX bytes, compared exactly) lives in a
 * chained hash table whose bucket count doubles (rehashing every key once)
 * whenever keys outnumber buckets, up to the power of two >= max_keys,
 * and on one LRU list ordered by last activity (the time of its last
 * lw_burst_add). The bucket hash is SipHash-2-4 keyed with the caller's
 * secret, so a sender cannot aim many keys at one chain. At max_keys the
 * least recently active key is evicted for a new one (burst.keys_evicted);
 * an evicted key loses its cool-down, which is the price of the cap.
 * Key records are recycled through a free list and each keeps a small id
 * for life; the LRU links live by id in one dense array (ids[]).
 *
 * Cache behaviour. Values for one key arrive far apart (other pairs'
 * traffic in between), so an add nearly always finds its key cold. Before
 * this layout an add cost over 1 us: a chain of about six dependent misses
 * (bucket, key record, a second line of it for the value pointers, the
 * oldest value's time, the index slot, the value the slot named) plus the
 * two neighbouring key records the LRU move writes. Now:
 *   - the bucket array grows with the keys instead of being sized for
 *     max_keys, so it stays small enough to stay cached, and the bucket is
 *     prefetched while the value is hashed;
 *   - what an add reads fills the first four lines of a 64-byte aligned
 *     record (see bkey), prefetched together once the record is known;
 *   - the oldest value's time is cached in the record, so the expiry test
 *     reads no value;
 *   - the index of a key with up to 8 values is a line of the record; a
 *     larger one shares the values' block; index slots carry 3 hash bits,
 *     so a probe seldom reads a value that is not the one sought;
 *   - the LRU neighbours are 16-byte slots of ids[], not key records;
 *   - then everything else the add will touch is prefetched at once.
 * None of this changes what is computed.
 *
 * Values. Per key, each distinct value is one entry: its keyed hash
 * (crypto_shorthash over kind as 2 big-endian bytes || norm, with
 * cfg->hash_key), its kind, its last-seen time and its *masked* form (safe to
 * print, kept for the alert's samples). The clear value is never stored. The
 * entries sit in one array per key, linked into an intrusive LRU list by
 * last-seen time (head = oldest), and indexed by an open-addressing table
 * (linear probing, backward-shift deletion so no tombstones pile up). So a
 * refresh is O(1), and expiry pops the head in O(1) per value. The array
 * grows by doubling from 8 up to max_values - a few reallocations over a
 * key's life, not one per add - and is freed when the key goes. A new value
 * beyond max_values is counted (burst.values_capped) and not tracked;
 * refreshing a value already tracked still works at the cap.
 *
 * Memory bound: one value entry is at most 128 bytes (8 hash + 8 time + 2 x 4
 * links + 2 kind + LW_PII_MASK_MAX (96) masked, padded) plus at most 16 bytes
 * of index (a power of two >= 2 x capacity of 4-byte slots), so a table uses
 * at most max_keys * (sizeof key record (512 bytes) + 16 bytes of id slot
 * (at most 32 while ids[] doubles) + max_values * 144 bytes) plus its
 * bucket array.
 *
 * Window edge: a value seen at t is in the window at time now while
 * now - t < window_us; at now = t + window_us it has expired. The cool-down
 * after an alert at time a runs while now - a < window_us, so at exactly
 * a + window_us a new alert may fire. Distinct and per-kind counts are
 * maintained on every insert and removal, never recounted.
 *
 * Time: packet time may go backwards (unsorted captures); the table treats
 * now as max(now, latest time seen), so every time difference below is
 * non-negative and the key LRU stays sorted by last activity, which lets
 * lw_burst_expire stop at the first key still alive.
 *
 * Estimated keys (cfg->exact_limit > 0). The value limit is then
 * exact_limit instead of max_values, and a new value beyond it switches the
 * key to estimation instead of being capped: the exact values are added to a
 * windowed HyperLogLog (hll.h) oldest first, each at its own time (the LRU
 * order makes the times non-decreasing, as the sketch needs), then freed;
 * so is the new value, and burst.keys_estimated counts the switch. What an
 * estimated key keeps and how it answers:
 *   distinct   - the sketch's estimate at the last add, capped to
 *                UINT32_MAX; the threshold and cool-down use it unchanged.
 *   per_kind   - the estimate split by kind, kept summing to `distinct`:
 *                the exact counts at the switch, then each rise of the
 *                estimate is credited to the kind of the value whose add
 *                raised it, and a fall (sub-windows leaving) scales all kinds
 *                down in proportion (largest remainder). A rise happens only
 *                when a value lifts a register, and its size is about the
 *                number of values such a lift stands for, so the split
 *                follows the kind mix of new values; expiry is assumed to
 *                remove kinds in proportion, which it need not.
 *   growth     - the sum of the estimate's rises since the alert, credited
 *                per kind the same way (lw_burst_growth).
 *   values_new - counts adds that lifted a register above the window (a
 *                proof the value is new); most new values of a large set do
 *                not, so this counter undercounts for estimated keys.
 *   samples    - up to cfg->samples live values (hash, time, masked form),
 *                taken oldest first from the exact set at the switch and then
 *                from new values while there is room; a repeat refreshes its
 *                sample's time and a sample leaves with the window.
 *   first_ts   - the earliest add time among the sub-windows the estimate
 *                counts (up to one sub-window before the true oldest value).
 * A key never goes back to exact counting; it leaves with expiry or
 * eviction, which frees the sketch. With exact_limit the per-key memory
 * bound is max(exact_limit * 144 bytes, sizeof(hmode) + lw_hll_bytes: about
 * 19 KiB); lw_burst_bytes reports what the table holds.
 *
 * Work per call is bounded: lw_burst_add expires at most max_values values
 * of its own key (amortized O(1): each value is removed once) and fills a
 * report in O(max_values); a switch is O(exact_limit) once per key; an add
 * to an estimated key is O(samples) plus the sketch's bounded work; an add
 * that doubles the buckets rehashes the keys there are (amortized O(1), at
 * most log2(max_keys / 64) times in the table's life);
 * lw_burst_expire drops at most `budget` keys.
 */
#include "leakwatch/burst.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "leakwatch/hll.h"

#define NAME_(name, str) [LW_BURST_CTR_##name] = str,
const char *const lw_burst_counter_names[LW_BURST_CTR_MAX] = {LW_BURST_COUNTERS(NAME_)};
#undef NAME_

#define NIL            UINT32_MAX
#define INITIAL_VALUES 8u
#define SMALL_IDX      16u /* index slots kept in the key record: 2 x INITIAL_VALUES */
#define MIN_BUCKETS    64u
#define MAX_LIMIT      (1u << 28) /* max_keys and max_values: bucket/index counts fit uint32_t */

/* An index slot holds entry index + 1 (at most MAX_LIMIT, 29 bits) under
 * the top 3 bits of the value's hash, so most probes that meet another
 * value are settled without reading that value's entry. */
#define IDX_TAG_SHIFT 29
#define IDX_ENTRY     ((UINT32_C(1) << IDX_TAG_SHIFT) - 1)
_Static_assert(MAX_LIMIT <= IDX_ENTRY, "an entry index + 1 fits below the tag");

#define PREFETCH(p)  __builtin_prefetch((p), 0, 3)
#define PREFETCHW(p) __builtin_prefetch((p), 1, 3)

typedef struct bval {
    uint64_t h;          /* keyed hash of kind || norm */
    uint64_t ts;         /* last seen */
    uint32_t prev, next; /* LRU by ts; `next` also links the free slots */
    uint16_t kind;
    char masked[LW_PII_MASK_MAX]; /* NUL-terminated masked sample */
} bval;

_Static_assert(sizeof(bval) <= 128, "value entry size documented above");

/* A live sample of an estimated key. */
typedef struct hsample {
    uint64_t h, ts;
    char masked[LW_PII_MASK_MAX];
} hsample;

/* What an estimated key keeps instead of its values. */
typedef struct hmode {
    lw_hll *hll;
    uint32_t nsamples;
    hsample s[LW_BURST_MAX_SAMPLES]; /* oldest first */
} hmode;

/* A key id's entry: its record and its links in the key LRU. */
typedef struct idslot {
    struct bkey *key;
    uint32_t prev, next; /* key ids, NIL at the ends */
} idslot;

/*
 * A key record. An add to a key that is not the most recent one finds it
 * cold in memory, so the fields an add reads come first, laid out in whole
 * cache lines (the record is 64-byte aligned): line 0 what the chain walk,
 * the expiry test and the value lookup need, line 1 the cool-down, the id
 * and the allocation counts, line 2 the key bytes, line 3 the index of a
 * key with up to 8 values; the per-kind counts follow. The add prefetches the lines it will need as
 * soon as it knows their addresses, so the misses overlap instead of following one another.
 */
typedef struct bkey {
    /* line 0 */
    uint64_t khash;
    struct bkey *hnext; /* bucket chain; free list link */
    bval *vals;         /* values */
    uint32_t *idx;      /* open addressing: tag << IDX_TAG_SHIFT | (entry index + 1), 0 = empty */
    uint64_t last_us;   /* time of the last add */
    uint64_t oldest_ts; /* vals[head].ts when head != NIL: the expiry test reads no value */
    uint32_t idx_mask;
    uint32_t distinct;
    uint32_t head, tail; /* oldest, newest */
    /* line 1 */
    uint64_t alert_us;  /* time of the last alert, when `cooling` */
    hmode *hm;          /* estimated key: the sketch; values and idx are then empty */
    uint32_t id;        /* index in the table's ids[], kept for the record's life */
    uint32_t cap;       /* entries allocated in vals */
    uint32_t used;      /* entries [0, used) have been handed out at least once */
    uint32_t free_slot; /* free entries below `used`, linked by next */
    uint32_t grown;     /* new distinct values since the last alert (lw_burst_growth) */
    bool cooling;
    uint8_t key_len;
    /* line 2 */
    _Alignas(64) uint8_t key[LW_BURST_KEY_MAX];
    /* line 3: the index while it has at most SMALL_IDX slots (up to 8
     * values), fetched with the record instead of after it */
    uint32_t small_idx[SMALL_IDX];
    uint32_t per_kind[LW_BURST_MAX_KINDS];
    uint32_t grown_per_kind[LW_BURST_MAX_KINDS];
} bkey;

_Static_assert(offsetof(bkey, alert_us) == 64, "line 0 of a key record is full");
_Static_assert(offsetof(bkey, key) == 128, "the key bytes start line 2");
_Static_assert(sizeof(bkey) % 64 == 0, "key records tile cache lines");
_Static_assert(offsetof(bkey, small_idx) == 192 && SMALL_IDX * 4 == 64, "line 3: small index");

struct lw_burst {
    lw_burst_config cfg;
    uint64_t *ctr;
    bkey **buckets;
    uint32_t mask;        /* buckets - 1 */
    uint32_t max_buckets; /* the power of two >= max_keys: where growth stops */
    uint32_t count;
    bkey *free_keys;
    /* Key records by id, with the key LRU as links by id: an add moves its
     * key to the tail, and the neighbours it relinks are 16-byte entries of
     * one dense array, not two other cold key records. */
    idslot *ids;
    uint32_t nids;               /* records ever allocated: ids [0, nids) */
    uint32_t ids_cap;            /* entries in ids[] */
    uint32_t lru_head, lru_tail; /* ids, least recently active first; NIL: none */
    uint64_t latest;             /* latest packet time seen */
    uint32_t vlimit;             /* values per key: exact_limit, else max_values */
    size_t bytes;                /* allocated, for lw_burst_bytes */
};

/* ---- hashing ------------------------------------------------------------ */

static uint64_t get_u64le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static uint64_t key_hash(const lw_burst *b, const void *key, size_t len)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, key, len, b->cfg.hash_key);
    return get_u64le(out);
}

static uint64_t value_hash(const lw_burst *b, const lw_pii_value *v)
{
    unsigned char buf[2 + LW_PII_VALUE_MAX], out[crypto_shorthash_BYTES];
    size_t n = v->norm_len < LW_PII_VALUE_MAX ? v->norm_len : LW_PII_VALUE_MAX;
    buf[0] = (unsigned char)(v->kind >> 8);
    buf[1] = (unsigned char)v->kind;
    memcpy(buf + 2, v->norm, n);
    crypto_shorthash(out, buf, 2 + n, b->cfg.hash_key);
    sodium_memzero(buf, 2 + n); /* the clear value must not linger on the stack */
    return get_u64le(out);
}

/* ---- key LRU ------------------------------------------------------------ */

static void lru_remove(lw_burst *b, uint32_t id)
{
    idslot *l = &b->ids[id];
    if (l->prev != NIL)
        b->ids[l->prev].next = l->next;
    else
        b->lru_head = l->next;
    if (l->next != NIL)
        b->ids[l->next].prev = l->prev;
    else
        b->lru_tail = l->prev;
    l->prev = l->next = NIL;
}

static void lru_append(lw_burst *b, uint32_t id)
{
    idslot *l = &b->ids[id];
    l->next = NIL;
    l->prev = b->lru_tail;
    if (b->lru_tail != NIL)
        b->ids[b->lru_tail].next = id;
    else
        b->lru_head = id;
    b->lru_tail = id;
}

/* Room for one more key id in ids[] (doubling, so a few
 * reallocations over the table's life; never more than max_keys ids, since
 * a record is only allocated when the free list is empty). */
static bool grow_ids(lw_burst *b)
{
    if (b->nids < b->ids_cap)
        return true;
    uint32_t ncap = b->ids_cap ? b->ids_cap * 2 : 16;
    idslot *ids = realloc(b->ids, (size_t)ncap * sizeof(*ids));
    if (!ids)
        return false;
    b->bytes += (size_t)(ncap - b->ids_cap) * sizeof(*ids);
    b->ids = ids;
    b->ids_cap = ncap;
    return true;
}

/* ---- value index -------------------------------------------------------- */

static uint32_t idx_home(const bkey *k, uint64_t h)
{
    return (uint32_t)h & k->idx_mask;
}

static uint32_t idx_tag(uint64_t h)
{
    return (uint32_t)(h >> (64 - (32 - IDX_TAG_SHIFT))) << IDX_TAG_SHIFT;
}

/* Position in idx of the entry with hash h, or NIL. */
static uint32_t idx_find(const bkey *k, uint64_t h)
{
    if (!k->idx)
        return NIL;
    uint32_t tag = idx_tag(h);
    for (uint32_t i = idx_home(k, h);; i = (i + 1) & k->idx_mask) {
        uint32_t e = k->idx[i];
        if (e == 0)
            return NIL;
        if ((e & ~IDX_ENTRY) == tag && k->vals[(e & IDX_ENTRY) - 1].h == h)
            return i;
    }
}

/* The entry an index slot points to. */
static uint32_t idx_entry(const bkey *k, uint32_t i)
{
    return (k->idx[i] & IDX_ENTRY) - 1;
}

static void idx_insert(bkey *k, uint32_t slot)
{
    uint64_t h = k->vals[slot].h;
    uint32_t i = idx_home(k, h);
    while (k->idx[i] != 0)
        i = (i + 1) & k->idx_mask;
    k->idx[i] = idx_tag(h) | (slot + 1);
}

/* Backward-shift deletion: moves later members of the probe run up so that
 * every entry stays reachable from its home without tombstones. */
static void idx_delete(bkey *k, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & k->idx_mask;
        uint32_t e = k->idx[j];
        if (e == 0)
            break;
        uint32_t home = idx_home(k, k->vals[(e & IDX_ENTRY) - 1].h);
        /* e may fill the hole at i unless its home lies cyclically in (i, j] */
        bool home_in_between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!home_in_between) {
            k->idx[i] = e;
            i = j;
        }
    }
    k->idx[i] = 0;
}

/* Bytes of k's index that are allocated outside the record. */
static size_t idx_bytes(const bkey *k)
{
    return k->idx && k->idx != k->small_idx ? ((size_t)k->idx_mask + 1) * sizeof(*k->idx) : 0;
}

/* Grows the value storage to `newcap` entries and rebuilds the index. A
 * small index lives in the key record (small_idx); a larger one in the
 * same block as the entries, right after them, so an add finds both in one
 * region of memory (fewer pages to translate, one allocation). */
static bool grow_values(lw_burst *b, bkey *k, uint32_t newcap)
{
    uint32_t isize = 1;
    while (isize < 2 * newcap)
        isize <<= 1;
    bool small = isize <= SMALL_IDX;
    size_t vbytes = (size_t)newcap * sizeof(bval);
    size_t ibytes = small ? 0 : (size_t)isize * sizeof(uint32_t);
    bval *vals = realloc(k->vals, vbytes + ibytes); /* the old index is rebuilt, not kept */
    if (!vals)
        return false;
    b->bytes += (size_t)(newcap - k->cap) * sizeof(*vals) + ibytes;
    b->bytes -= idx_bytes(k);
    uint32_t *idx = small ? k->small_idx : (uint32_t *)(void *)((unsigned char *)vals + vbytes);
    memset(idx, 0, (size_t)isize * sizeof(uint32_t));
    k->vals = vals;
    k->cap = newcap;
    k->idx = idx;
    k->idx_mask = isize - 1;
    for (uint32_t s = k->head; s != NIL; s = k->vals[s].next)
        idx_insert(k, s);
    return true;
}

/* A free entry index, growing the storage if needed; NIL on failure. The
 * caller guarantees distinct < vlimit, so growth is allowed. */
static uint32_t alloc_slot(lw_burst *b, bkey *k)
{
    if (k->free_slot != NIL) {
        uint32_t s = k->free_slot;
        k->free_slot = k->vals[s].next;
        return s;
    }
    if (k->used == k->cap) {
        uint32_t newcap = k->cap ? k->cap * 2 : INITIAL_VALUES;
        if (newcap > b->vlimit)
            newcap = b->vlimit;
        if (newcap <= k->cap || !grow_values(b, k, newcap)) {
            b->ctr[LW_BURST_CTR_ALLOC_FAILED]++;
            return NIL;
        }
    }
    return k->used++;
}

static void val_unlink(bkey *k, uint32_t s)
{
    bval *v = &k->vals[s];
    if (v->prev != NIL) {
        k->vals[v->prev].next = v->next;
    } else {
        k->head = v->next;
        if (v->next != NIL)
            k->oldest_ts = k->vals[v->next].ts;
    }
    if (v->next != NIL)
        k->vals[v->next].prev = v->prev;
    else
        k->tail = v->prev;
}

static void val_append(bkey *k, uint32_t s)
{
    bval *v = &k->vals[s];
    v->next = NIL;
    v->prev = k->tail;
    if (k->tail != NIL) {
        k->vals[k->tail].next = s;
    } else {
        k->head = s;
        k->oldest_ts = v->ts;
    }
    k->tail = s;
}

/* Drops the values of k that have left the window at `now`. */
static void expire_values(lw_burst *b, bkey *k, uint64_t now)
{
    /* the common case: the oldest value is still in, and no value is read */
    if (k->head == NIL || now < k->oldest_ts || now - k->oldest_ts < b->cfg.window_us)
        return;
    while (k->head != NIL) {
        uint32_t s = k->head;
        bval *v = &k->vals[s];
        if (now < v->ts || now - v->ts < b->cfg.window_us)
            break;
        uint32_t pos = idx_find(k, v->h);
        if (pos != NIL)
            idx_delete(k, pos);
        val_unlink(k, s);
        k->distinct--;
        k->per_kind[v->kind]--;
        v->next = k->free_slot;
        k->free_slot = s;
    }
}

/* Frees a key's exact values and index, leaving it with none. */
static void free_values(lw_burst *b, bkey *k)
{
    b->bytes -= (size_t)k->cap * sizeof(*k->vals) + idx_bytes(k);
    free(k->vals); /* and a large index, which is in the same block */
    k->vals = NULL;
    k->idx = NULL;
    k->cap = k->used = k->idx_mask = 0;
    k->free_slot = k->head = k->tail = NIL;
}

/* ---- keys --------------------------------------------------------------- */

static bkey *find_key(const lw_burst *b, uint64_t kh, const void *key, size_t len)
{
    for (bkey *k = b->buckets[kh & b->mask]; k; k = k->hnext) {
        /* lines 1 to 3 are wanted next if this is the key */
        PREFETCH(k->key);
        PREFETCH(&k->alert_us);
        PREFETCH(k->small_idx);
        if (k->khash == kh && k->key_len == len && memcmp(k->key, key, len) == 0)
            return k;
    }
    return NULL;
}

static void drop_key(lw_burst *b, bkey *k)
{
    bkey **pp = &b->buckets[k->khash & b->mask];
    while (*pp && *pp != k)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = k->hnext;
    lru_remove(b, k->id);
    /* masked samples only, but there is no reason to keep them */
    free_values(b, k);
    if (k->hm) {
        b->bytes -= sizeof(*k->hm) + lw_hll_bytes(k->hm->hll);
        lw_hll_free(k->hm->hll);
        free(k->hm);
    }
    uint32_t id = k->id;
    memset(k, 0, sizeof(*k));
    k->id = id; /* the record keeps its slot in ids[] */
    k->hnext = b->free_keys;
    b->free_keys = k;
    b->count--;
}

/* Doubles the bucket array once keys outnumber buckets. A table sized for
 * max_keys from the start would be mostly empty and, being large, miss the
 * cache on nearly every lookup; grown with the keys it stays as small as
 * the load allows. Chains only hold keys compared in full, so their order
 * does not matter. On allocation failure the table keeps its buckets
 * (longer chains, same answers). */
static void grow_buckets(lw_burst *b)
{
    uint32_t n = b->mask + 1, n2 = n * 2;
    bkey **nb = calloc(n2, sizeof(*nb));
    if (!nb) {
        b->ctr[LW_BURST_CTR_ALLOC_FAILED]++;
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        for (bkey *k = b->buckets[i], *next; k; k = next) {
            next = k->hnext;
            bkey **bucket = &nb[k->khash & (n2 - 1)];
            k->hnext = *bucket;
            *bucket = k;
        }
    }
    free(b->buckets);
    b->buckets = nb;
    b->mask = n2 - 1;
    b->bytes += (size_t)(n2 - n) * sizeof(*nb);
}

static bkey *new_key(lw_burst *b, uint64_t kh, const void *key, size_t len)
{
    if (b->count >= b->cfg.max_keys && b->lru_head != NIL) {
        drop_key(b, b->ids[b->lru_head].key);
        b->ctr[LW_BURST_CTR_KEYS_EVICTED]++;
    }
    bkey *k = b->free_keys;
    if (k) {
        b->free_keys = k->hnext;
    } else {
        k = grow_ids(b) ? aligned_alloc(_Alignof(bkey), sizeof(*k)) : NULL; /* whole lines */
        if (!k) {
            b->ctr[LW_BURST_CTR_ALLOC_FAILED]++;
            return NULL;
        }
        memset(k, 0, sizeof(*k));
        b->bytes += sizeof(*k);
        k->id = b->nids++;
        b->ids[k->id].key = k;
    }
    k->khash = kh;
    k->key_len = (uint8_t)len;
    memcpy(k->key, key, len);
    k->free_slot = k->head = k->tail = NIL;
    bkey **bucket = &b->buckets[kh & b->mask];
    k->hnext = *bucket;
    *bucket = k;
    lru_append(b, k->id);
    b->count++;
    if (b->count > b->mask + 1 && b->mask + 1 < b->max_buckets)
        grow_buckets(b);
    b->ctr[LW_BURST_CTR_KEYS_CREATED]++;
    return k;
}

/* ---- public ------------------------------------------------------------- */

lw_burst *lw_burst_new(const lw_burst_config *cfg, uint64_t *counters)
{
    if (!cfg || !counters || cfg->window_us == 0 || cfg->threshold == 0 || cfg->max_keys == 0 ||
        cfg->max_keys > MAX_LIMIT || cfg->samples > LW_BURST_MAX_SAMPLES ||
        cfg->exact_limit > MAX_LIMIT)
        return NULL;
    /* estimated keys reach any threshold; capped ones only up to the cap */
    if (cfg->exact_limit == 0 && (cfg->max_values < cfg->threshold || cfg->max_values > MAX_LIMIT))
        return NULL;
    lw_burst *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cfg = *cfg;
    b->ctr = counters;
    b->vlimit = cfg->exact_limit ? cfg->exact_limit : cfg->max_values;
    uint32_t n = 1;
    while (n < cfg->max_keys)
        n <<= 1;
    b->max_buckets = n;
    if (n > MIN_BUCKETS)
        n = MIN_BUCKETS; /* grown with the keys (grow_buckets) */
    b->buckets = calloc(n, sizeof(*b->buckets));
    if (!b->buckets) {
        free(b);
        return NULL;
    }
    b->mask = n - 1;
    b->lru_head = b->lru_tail = NIL;
    b->bytes = sizeof(*b) + (size_t)n * sizeof(*b->buckets);
    return b;
}

void lw_burst_free(lw_burst *b)
{
    if (!b)
        return;
    while (b->lru_head != NIL)
        drop_key(b, b->ids[b->lru_head].key);
    while (b->free_keys) {
        bkey *k = b->free_keys;
        b->free_keys = k->hnext;
        free(k);
    }
    free(b->buckets);
    free(b->ids);
    sodium_memzero(b->cfg.hash_key, sizeof(b->cfg.hash_key));
    free(b);
}

static uint64_t advance_time(lw_burst *b, uint64_t now_us)
{
    if (now_us > b->latest)
        b->latest = now_us;
    return b->latest;
}

static bool masked_seen(const lw_burst_report *r, const char *m)
{
    for (size_t i = 0; i < r->sample_count; i++)
        if (strcmp(r->samples[i], m) == 0)
            return true;
    return false;
}

static void fill_report(const lw_burst *b, const bkey *k, uint64_t now, lw_burst_report *r)
{
    memset(r, 0, sizeof(*r));
    r->distinct = k->distinct;
    memcpy(r->per_kind, k->per_kind, sizeof(r->per_kind));
    if (k->hm) {
        if (!lw_hll_first(k->hm->hll, now, &r->first_ts_us))
            r->first_ts_us = 0;
        /* kept live, distinct and non-empty when added */
        for (uint32_t i = 0; i < k->hm->nsamples && r->sample_count < b->cfg.samples; i++) {
            memcpy(r->samples[r->sample_count], k->hm->s[i].masked, LW_PII_MASK_MAX);
            r->sample_count++;
        }
        return;
    }
    r->first_ts_us = k->head != NIL ? k->vals[k->head].ts : 0;
    /* oldest first: the values that started the burst; identical masked
     * forms of different values (two cards ending 1234) are shown once */
    for (uint32_t s = k->head; s != NIL && r->sample_count < b->cfg.samples; s = k->vals[s].next) {
        const char *m = k->vals[s].masked;
        if (m[0] == '\0' || masked_seen(r, m))
            continue;
        memcpy(r->samples[r->sample_count], m, LW_PII_MASK_MAX);
        r->sample_count++;
    }
}

static void copy_masked(char *dst, const char *src)
{
    size_t mlen = strnlen(src, LW_PII_MASK_MAX - 1);
    memcpy(dst, src, mlen);
    dst[mlen] = '\0';
}

/* Records a new value in k; false when it could not be tracked. */
static bool insert_value(lw_burst *b, bkey *k, const lw_pii_value *v, uint64_t h, uint64_t now)
{
    uint32_t s = alloc_slot(b, k);
    if (s == NIL)
        return false;
    bval *e = &k->vals[s];
    e->h = h;
    e->ts = now;
    e->kind = v->kind;
    copy_masked(e->masked, v->masked);
    val_append(k, s);
    idx_insert(k, s);
    k->distinct++;
    k->per_kind[v->kind]++;
    if (k->cooling) {
        k->grown++;
        k->grown_per_kind[v->kind]++;
    }
    return true;
}

/* ---- estimated keys ------------------------------------------------------ */

/* Scales per_kind (which sums to `from` > 0) to sum to `to`: floors, then
 * the remainder (fewer than LW_BURST_MAX_KINDS) to the largest fractions. */
static void scale_kinds(uint32_t per_kind[LW_BURST_MAX_KINDS], uint32_t from, uint32_t to)
{
    uint64_t frac[LW_BURST_MAX_KINDS];
    uint32_t sum = 0;
    for (int i = 0; i < LW_BURST_MAX_KINDS; i++) {
        uint64_t x = (uint64_t)per_kind[i] * to;
        per_kind[i] = (uint32_t)(x / from);
        frac[i] = x % from;
        sum += per_kind[i];
    }
    while (sum < to) {
        int best = 0;
        for (int i = 1; i < LW_BURST_MAX_KINDS; i++)
            if (frac[i] > frac[best])
                best = i;
        per_kind[best]++;
        frac[best] = 0;
        sum++;
    }
}

/* Moves distinct to the estimate `est`, crediting a rise to `kind`; a fall
 * scales all kinds. */
static void follow_estimate(bkey *k, uint32_t est, uint16_t kind)
{
    if (est > k->distinct) {
        uint32_t up = est - k->distinct;
        k->per_kind[kind] += up;
        if (k->cooling) {
            k->grown += up;
            k->grown_per_kind[kind] += up;
        }
    } else if (est < k->distinct) {
        scale_kinds(k->per_kind, k->distinct, est);
    }
    k->distinct = est;
}

static uint32_t estimate(bkey *k, uint64_t now)
{
    uint64_t e = lw_hll_estimate(k->hm->hll, now);
    return e > UINT32_MAX ? UINT32_MAX : (uint32_t)e;
}

static bool sample_mask_seen(const hmode *hm, const char *m)
{
    for (uint32_t i = 0; i < hm->nsamples; i++)
        if (strcmp(hm->s[i].masked, m) == 0)
            return true;
    return false;
}

/* Keeps a sample of value (h, masked) seen at now: refreshes it when it is
 * one, else takes it while there is room and its masked form is new. */
static void keep_sample(const lw_burst *b, hmode *hm, uint64_t h, const char *masked, uint64_t now)
{
    for (uint32_t i = 0; i < hm->nsamples; i++) {
        if (hm->s[i].h != h)
            continue;
        hsample x = hm->s[i];
        memmove(&hm->s[i], &hm->s[i + 1], (hm->nsamples - i - 1) * sizeof(hsample));
        x.ts = now;
        hm->s[hm->nsamples - 1] = x;
        return;
    }
    if (hm->nsamples >= b->cfg.samples || masked[0] == '\0')
        return;
    hsample *s = &hm->s[hm->nsamples];
    copy_masked(s->masked, masked);
    if (sample_mask_seen(hm, s->masked))
        return;
    s->h = h;
    s->ts = now;
    hm->nsamples++;
}

static void expire_samples(const lw_burst *b, hmode *hm, uint64_t now)
{
    uint32_t n = 0;
    while (n < hm->nsamples && now - hm->s[n].ts >= b->cfg.window_us)
        n++;
    memmove(&hm->s[0], &hm->s[n], (hm->nsamples - n) * sizeof(hsample));
    hm->nsamples -= n;
}

/* A value for an estimated key. */
static void add_estimated(lw_burst *b, bkey *k, const lw_pii_value *v, uint64_t h, uint64_t now)
{
    hmode *hm = k->hm;
    expire_samples(b, hm, now);
    /* first what left the window (it can only fall), then what the value
     * added: so a value arriving as old ones leave is still credited */
    follow_estimate(k, estimate(k, now), v->kind);
    if (lw_hll_add(hm->hll, h, now))
        b->ctr[LW_BURST_CTR_VALUES_NEW]++;
    keep_sample(b, hm, h, v->masked, now);
    follow_estimate(k, estimate(k, now), v->kind);
}

/*
 * Switches k, which holds vlimit exact values, to estimation and adds the
 * new value v (hash h) to it. False, with k unchanged, when the sketch
 * cannot be allocated.
 */
static bool to_estimated(lw_burst *b, bkey *k, const lw_pii_value *v, uint64_t h, uint64_t now)
{
    hmode *hm = calloc(1, sizeof(*hm));
    lw_hll *hll = hm ? lw_hll_new(b->cfg.window_us) : NULL;
    if (!hll) {
        free(hm);
        b->ctr[LW_BURST_CTR_ALLOC_FAILED]++;
        return false;
    }
    hm->hll = hll;
    b->bytes += sizeof(*hm) + lw_hll_bytes(hll);
    /* oldest first, so the times the sketch sees never go back */
    for (uint32_t s = k->head; s != NIL; s = k->vals[s].next) {
        const bval *e = &k->vals[s];
        lw_hll_add(hll, e->h, e->ts);
        keep_sample(b, hm, e->h, e->masked, e->ts);
    }
    free_values(b, k);
    k->hm = hm;
    /* the exact counts, scaled to the sketch's view of the same values */
    uint32_t folded = estimate(k, now);
    if (folded != k->distinct && k->distinct > 0)
        scale_kinds(k->per_kind, k->distinct, folded);
    k->distinct = folded;
    /* the new value is certainly new: it was not in the exact set */
    b->ctr[LW_BURST_CTR_VALUES_NEW]++;
    lw_hll_add(hll, h, now);
    keep_sample(b, hm, h, v->masked, now);
    follow_estimate(k, estimate(k, now), v->kind);
    b->ctr[LW_BURST_CTR_KEYS_ESTIMATED]++;
    return true;
}

/* ---- adding -------------------------------------------------------------- */

/* Starts fetching, all at once, what an add of value hash h to the cold key
 * k will touch: the LRU neighbours, the kind's count, the index slot, and
 * the entries a refresh or an insert writes. Hints only: no behaviour
 * depends on them. */
static void prefetch_add(const lw_burst *b, const bkey *k, const lw_pii_value *v, uint64_t h)
{
    if (b->lru_tail == k->id)
        return; /* just used: all in cache */
    const idslot *l = &b->ids[k->id];
    if (l->prev != NIL)
        PREFETCHW(&b->ids[l->prev]);
    if (l->next != NIL)
        PREFETCHW(&b->ids[l->next]);
    PREFETCHW(&k->per_kind[v->kind]);
    if (k->cooling)
        PREFETCHW(&k->grown_per_kind[v->kind]);
    if (!k->idx)
        return;
    PREFETCH(&k->idx[idx_home(k, h)]);
    if (k->tail != NIL)
        PREFETCHW(&k->vals[k->tail].next);
    uint32_t s = k->free_slot != NIL ? k->free_slot : k->used < k->cap ? k->used : NIL;
    if (s != NIL) {
        PREFETCHW(&k->vals[s]);
        PREFETCHW((const char *)&k->vals[s] + sizeof(bval) - 1);
    }
}

/* Records v (hash h) in the key's set at now. */
static void record_value(lw_burst *b, bkey *k, const lw_pii_value *v, uint64_t h, uint64_t now)
{
    if (k->hm) {
        add_estimated(b, k, v, h, now);
        return;
    }
    expire_values(b, k, now);
    uint32_t pos = idx_find(k, h);
    if (pos != NIL) {
        uint32_t s = idx_entry(k, pos);
        k->vals[s].ts = now;
        if (k->tail != s) {
            val_unlink(k, s);
            val_append(k, s);
        }
        if (k->head == s) /* the only value */
            k->oldest_ts = now;
    } else if (k->distinct >= b->vlimit) {
        if (!b->cfg.exact_limit || !to_estimated(b, k, v, h, now))
            b->ctr[LW_BURST_CTR_VALUES_CAPPED]++;
    } else if (insert_value(b, k, v, h, now)) {
        b->ctr[LW_BURST_CTR_VALUES_NEW]++;
    }
}

bool lw_burst_add_threshold(lw_burst *b, const void *key, size_t key_len, const lw_pii_value *v,
                            uint64_t now_us, uint32_t threshold, lw_burst_report *report)
{
    /* kinds come from the signature set, which has at most this many */
    if (key_len > LW_BURST_KEY_MAX || v->kind >= LW_BURST_MAX_KINDS)
        return false;
    if (threshold == 0)
        threshold = b->cfg.threshold;
    uint64_t now = advance_time(b, now_us);
    b->ctr[LW_BURST_CTR_VALUES]++;

    uint64_t kh = key_hash(b, key, key_len);
    /* the bucket is most likely not cached: fetch it while hashing the value */
    PREFETCH(&b->buckets[kh & b->mask]);
    uint64_t vh = value_hash(b, v);
    bkey *k = find_key(b, kh, key, key_len);
    if (!k) {
        k = new_key(b, kh, key, key_len);
        if (!k)
            return false;
    } else {
        prefetch_add(b, k, v, vh);
        if (b->lru_tail != k->id) {
            lru_remove(b, k->id);
            lru_append(b, k->id);
        }
    }
    k->last_us = now;
    record_value(b, k, v, vh, now);

    if (k->distinct < threshold)
        return false;
    if (k->cooling && now - k->alert_us < b->cfg.window_us) {
        b->ctr[LW_BURST_CTR_SUPPRESSED]++;
        return false;
    }
    k->cooling = true;
    k->alert_us = now;
    k->grown = 0;
    memset(k->grown_per_kind, 0, sizeof(k->grown_per_kind));
    b->ctr[LW_BURST_CTR_ALERTS]++;
    if (report)
        fill_report(b, k, now, report);
    return true;
}

bool lw_burst_add(lw_burst *b, const void *key, size_t key_len, const lw_pii_value *v,
                  uint64_t now_us, lw_burst_report *report)
{
    return lw_burst_add_threshold(b, key, key_len, v, now_us, 0, report);
}

size_t lw_burst_expire(lw_burst *b, uint64_t now_us, size_t budget)
{
    uint64_t now = advance_time(b, now_us);
    size_t n = 0;
    while (n < budget && b->lru_head != NIL) {
        bkey *k = b->ids[b->lru_head].key;
        /* alert_us <= last_us, so an idle key is also out of cool-down;
         * the second test keeps that true should the ordering change */
        if (now - k->last_us < b->cfg.window_us ||
            (k->cooling && now - k->alert_us < b->cfg.window_us))
            break;
        drop_key(b, k);
        b->ctr[LW_BURST_CTR_KEYS_EXPIRED]++;
        n++;
    }
    return n;
}

size_t lw_burst_key_count(const lw_burst *b)
{
    return b->count;
}

size_t lw_burst_bytes(const lw_burst *b)
{
    return b->bytes;
}

uint32_t lw_burst_distinct(const lw_burst *b, const void *key, size_t key_len)
{
    if (key_len > LW_BURST_KEY_MAX)
        return 0;
    const bkey *k = find_key(b, key_hash(b, key, key_len), key, key_len);
    return k ? k->distinct : 0;
}

bool lw_burst_growth(const lw_burst *b, const void *key, size_t key_len, uint32_t *added,
                     uint32_t per_kind_added[LW_BURST_MAX_KINDS])
{
    if (key_len > LW_BURST_KEY_MAX)
        return false;
    const bkey *k = find_key(b, key_hash(b, key, key_len), key, key_len);
    if (!k || !k->cooling)
        return false;
    *added = k->grown;
    memcpy(per_kind_added, k->grown_per_kind, sizeof(k->grown_per_kind));
    return true;
}
