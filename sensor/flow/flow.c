/*
 * flow.c - the bidirectional flow table of one worker.
 *
 * A flow is found from either direction of its 5-tuple. The bucket is chosen
 * by a keyed hash over the *canonical* tuple - the smaller (address, port)
 * endpoint first - so both directions land in the same chain. The key is
 * drawn from the system CSPRNG when the table is made: an attacker who can
 * choose ports and addresses cannot predict which bucket a tuple falls in,
 * so cannot build one long chain (the hash-flooding attack on tables with a
 * public hash function). The hash is SipHash-1-3, computed inline over the
 * fixed 38-byte tuple: the same keyed PRF construction as SipHash-2-4 with
 * fewer rounds (8 SipRounds instead of 14 for five message words), the
 * variant Rust's HashMap and CPython's str hash chose for exactly this use:
 * the output is never shown, so the attacker can only learn bucket
 * collisions through timing, far from the chosen-output access a
 * cryptanalysis of reduced rounds would need. Inline, it also skips
 * libsodium's generic call and the byte buffer it needs: on a web replay
 * the bucket hash fell from about 0.7% of the samples to 0.25%.
 * Records keep no hash: a chain is under one record long on average, so
 * comparing tuples costs no more, and a leaving flow's bucket is hashed
 * again from its tuple.
 *
 * Records: at most max_flows are ever allocated, lazily, in blocks of up to
 * RECORDS_PER_BLOCK (a table that sees ten flows holds one block of ten or
 * more records, never more than the cap). A block saves the allocator's
 * header and 16-byte rounding per record (a 160-byte record costs 176
 * bytes from glibc alone) and 255 of every 256 calls to it. A record
 * leaving the table goes to a free list and is reused; once a record
 * exists no packet allocates.
 *
 * Buckets: the array follows the flows in the table, not max_flows. It
 * starts at INITIAL_BUCKETS and doubles when a new flow takes the load
 * (flows / buckets) past 1/2, up to the power of two >= max_flows, and
 * never shrinks. A replay with a few thousand live flows thus keeps its
 * buckets in cache instead of missing into a 2 MiB array sized for the
 * default 262,144 flows (on the web bench capture, ~4,100 live flows, 16 Ki
 * buckets: lw_flow_get fell from about 12% to 9% of a worker). The load
 * bound is 1/2, not 1, because a table too big for the cache pays a miss
 * per record it walks: with 1 the million-flow capture took about 10% more
 * CPU than with the array fixed at its cap, with 1/2 within 4%.
 * Records keep no hash, so moving a flow means hashing its tuple again and
 * a cache miss on its record (about 150 ns a flow on the million-flow
 * capture): a full rehash of 2^20 flows would stall one packet for over
 * 100 ms. Growth is therefore incremental, as in
 * Redis's dict: the old array stays while its buckets are moved,
 * MIGRATE_BUCKETS of them (lowest index first) at each new flow, with the
 * next step's records prefetched; old bucket i splits into new buckets i
 * and i + old size. A tuple's chain is in the old array while its old
 * bucket has not been moved yet, else in the new one, so a lookup, an
 * insertion and a removal each still walk exactly one chain. Moving n old
 * buckets ends within n / MIGRATE_BUCKETS new flows, long before the n / 2
 * more that could call for the next doubling (which never starts while one
 * is under way). Only a new flow allocates the doubled array, never a
 * packet of an existing flow. When that allocation fails the table keeps
 * its current array (longer chains, nothing lost, nothing counted) and
 * tries again after another 1/GROW_RETRY_DIVISOR of its bucket count of
 * new flows. The arrays are not part of flow.memuse, which counts records
 * and slots exactly as before: at most 8 bytes x the power of two >=
 * max_flows, plus the half-size old array while a doubling is under way.
 * Flooding: the keyed hash still spreads any chosen tuples evenly, and
 * growth bounds the load, hence the expected chain: under 1/2 at rest,
 * under 5/8 in an old array being emptied (1/2 plus the flows added during
 * its migration) and, at the cap where the array cannot grow, at most 1.
 *
 * Memory cap: `used` is the bytes of every block allocated plus the slot
 * bytes the engine declared for flows in the table (lw_flow_account). A
 * block is only allocated when it fits under the memcap (a smaller block
 * when a full one would not), so records alone never exceed it; a new flow
 * that can get neither a free record nor a block evicts the least recently
 * seen flow, counted flow.evicted when max_flows is the limit and
 * flow.memcap_evicted when memory is. Slot bytes grow after a flow was
 * created, outside the table's control: lw_flow_table_expire() evicts
 * while they have pushed `used` over the memcap, so the excess is bounded
 * by what one packet's stages allocate between two calls.
 *
 * Order: every flow is on exactly one of two LRU lists, `active` or
 * `closed`, least recently seen at the head. lw_flow_get() moves a closed
 * flow to the tail on every packet. Moving a flow touches its two
 * neighbours, cold records of other flows, on every packet, so an open flow
 * moves only when its packet takes ts_last_us into a later *relink
 * interval* (2^epoch_shift us, at most ~1 s and 1/64 of the idle time-out):
 * a busy flow moves about once an interval, not once a packet. An open
 * flow was thus last moved by its first packet in the interval of its
 * ts_last_us, so `active` is ordered by interval, and inside one interval
 * by first packet in it. Hence:
 * - expiry still looks only at heads, checks the head's real ts_last_us and
 *   stops at the first flow still alive: never early, O(released + 1) per
 *   call, capped by `budget`. A flow behind a live head of the same
 *   interval waits for it: at most one interval late. A live head needs no
 *   re-queueing: its place is already that of its ts_last_us's interval.
 * - a new flow at the cap evicts the head of `closed` (a finished
 *   connection is the cheapest loss), else the head of `active`: a flow
 *   whose last packet is within one interval of the least recent one.
 * - flush is exact: it sorts the open flows by (ts_last_us, order of last
 *   packet) using `seq`, the table's lookup count at each flow's last
 *   packet, so the alerts flows write when released keep the order a
 *   list moved on every packet gives on a time-ordered capture. `seq` wraps after
 *   2^32 lookups; it only breaks ties of equal ts_last_us, which are a few
 *   packets apart.
 *
 * Time: packet time only. Captures are not always sorted, so a packet may be
 * a little older than the flow's last one: ts_last_us never moves backwards,
 * and every time-out test is written as `now >= last && now - last >= T` so
 * unsigned arithmetic cannot wrap. A packet older than ts_last_us moves no
 * open flow. The lists stay ordered up to such jitter; a flow that is
 * slightly out of place expires slightly late, never early. Edge: a flow
 * idle for exactly its time-out has expired.
 *
 * Orientation: the first packet's sender is the client, except that a TCP
 * SYN+ACK creating the flow names its receiver the client (we missed the
 * SYN, but the SYN-ACK tells who initiated). Direction 0 is client to
 * server. A pure SYN on a *closed* TCP flow starts a new connection on a
 * reused tuple: the old flow is released (flow.tcp_reused) and a new one
 * begins, so stages never see two connections spliced together.
 *
 * flow_id: a SipHash with a fixed key over the client-first tuple and
 * ts_start_us, cut to 51 bits (exact in a JSON double) and never 0. Unlike
 * the bucket hash it is the same in every run, so offline output is
 * byte-identical.
 *
 * Release: every flow leaving the table - idle or closed time-out,
 * eviction, reuse, flush - is counted once under its reason and handed to
 * the release callback exactly once, before its record is unlinked and
 * reused. The callback must not call back into the table (except
 * lw_flow_account on the flow being released). Invariant:
 * flow.created = flow.active + expired_idle + expired_closed + evicted +
 * flushed + tcp_reused + memcap_evicted.
 */
#include "leakwatch/flow.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NAME_(name, str) [LW_FLOW_CTR_##name] = str,
const char *const lw_flow_counter_names[LW_FLOW_CTR_MAX] = {LW_FLOW_COUNTERS(NAME_)};
#undef NAME_

/* Largest accepted max_flows: the bucket count must fit in uint32_t. */
#define MAX_FLOWS_LIMIT (1u << 30)

/* First bucket count (or the cap's, when smaller): 8 KiB of pointers. */
#define INITIAL_BUCKETS 1024u

/* The array doubles when flows pass buckets >> LOAD_SHIFT: a load of 1/2. */
#define LOAD_SHIFT 1u

/* Old buckets moved to the doubled array at each new flow while growing:
 * one cache line of old pointers. */
#define MIGRATE_BUCKETS 8u

/* After a failed growth, wait for (buckets / this) new flows to retry. */
#define GROW_RETRY_DIVISOR 16u

/* Records per allocation: 256 x 160 bytes = 40 KiB, small enough that the
 * last, partly used block of a small table wastes little. */
#define RECORDS_PER_BLOCK 256u

/* An open flow is relinked at most once per 2^epoch_shift us of packet
 * time: the largest power of two within 1/64 of the idle time-out (so an
 * idle expiry is late by under 1/64 of it), and at most 2^20 us (~1 s). */
#define RELINK_FRACTION  64u
#define MAX_RELINK_SHIFT 20u

/* Canonical tuple bytes: family, proto, 2 x 16 address bytes, 2 x port. */
#define TUPLE_BYTES (2 + 16 + 16 + 2 + 2)

typedef struct flow_list {
    lw_flow *head, *tail;
} flow_list;

/* A run of records from one allocation, kept only to free them. */
typedef struct record_block {
    struct record_block *next;
    lw_flow rec[];
} record_block;

struct lw_flow_table {
    lw_flow_table_config cfg;
    uint64_t *ctr;
    lw_flow **buckets;    /* the current (largest) array */
    uint32_t mask;        /* its bucket count - 1 */
    uint32_t max_mask;    /* the largest array's: power of two >= max_flows, - 1 */
    lw_flow **old;        /* array being migrated from; NULL when not growing */
    uint32_t old_mask;    /* its bucket count - 1 */
    uint32_t migrated;    /* old buckets [0, migrated) have been moved */
    uint32_t grow_wait;   /* new flows to wait for after a failed growth */
    uint32_t count;       /* flows in the table */
    uint32_t allocated;   /* records ever allocated, <= max_flows */
    lw_flow *free_list;   /* records not in the table, linked by hnext */
    record_block *blocks; /* every allocation of records */
    uint64_t block_bytes; /* bytes of all blocks */
    uint64_t slot_bytes;  /* declared slot bytes of flows in the table */
    flow_list active;     /* open flows, least recently seen first */
    flow_list closed;     /* closed flows, least recently seen first */
    uint64_t k0, k1;      /* bucket hash key, random per table */
    uint32_t seq;         /* lookups so far, modulo 2^32: the order of last packets */
    unsigned epoch_shift; /* log2 of the relink interval of open flows, in us */
};

/* Fixed key of the flow_id hash: the id must not depend on the run. */
static const unsigned char flow_id_key[crypto_shorthash_KEYBYTES] = {
    'l', 'e', 'a', 'k', 'w', 'a', 't', 'c', 'h', '-', 'f', 'l', 'o', 'w', 'i', 'd'};

#define FLOW_ID_MASK ((UINT64_C(1) << 51) - 1)

/* ---- lists -------------------------------------------------------------- */

static void list_append(flow_list *l, lw_flow *f)
{
    f->lnext = NULL;
    f->lprev = l->tail;
    if (l->tail)
        l->tail->lnext = f;
    else
        l->head = f;
    l->tail = f;
}

static void list_remove(flow_list *l, lw_flow *f)
{
    if (f->lprev)
        f->lprev->lnext = f->lnext;
    else
        l->head = f->lnext;
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        l->tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static flow_list *list_of(lw_flow_table *t, const lw_flow *f)
{
    return f->closed ? &t->closed : &t->active;
}

/* ---- hashing ------------------------------------------------------------ */

static void put_u16be(unsigned char *b, uint16_t v)
{
    b[0] = (unsigned char)(v >> 8);
    b[1] = (unsigned char)v;
}

static uint64_t get_u64le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* Writes the tuple a->b into buf, endpoint a first. */
static void tuple_bytes(unsigned char *buf, uint8_t proto, const lw_addr *a, uint16_t ap,
                        const lw_addr *b, uint16_t bp)
{
    buf[0] = a->family;
    buf[1] = proto;
    memcpy(buf + 2, a->b, 16);
    memcpy(buf + 18, b->b, 16);
    put_u16be(buf + 34, ap);
    put_u16be(buf + 36, bp);
}

/* Orders endpoints by (address, port); negative when a < b. */
static int endpoint_cmp(const lw_addr *a, uint16_t ap, const lw_addr *b, uint16_t bp)
{
    int c = memcmp(a, b, sizeof(*a));
    if (c != 0)
        return c;
    return (int)ap - (int)bp;
}

/* One SipRound (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012, section 2). */
#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3)                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = ROTL64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = ROTL64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = ROTL64(v2, 32);                                                                       \
    } while (0)

static uint64_t addr_word(const lw_addr *a, size_t at)
{
    uint64_t w;
    memcpy(&w, a->b + at, sizeof(w));
    return w;
}

/* SipHash-1-3 of the canonical tuple a->b under the table's key: the 38
 * bytes a.b[16], b.b[16], family, proto, a's port, b's port, read as four
 * full 8-byte words and a last word holding the six remaining bytes and the
 * length (38) in its top byte, as the paper pads. Words are read in host
 * order: the value differs between a little- and a big-endian host, which
 * is harmless for a per-process random key. */
static uint64_t tuple_siphash13(const lw_flow_table *t, uint8_t proto, const lw_addr *a,
                                uint16_t ap, const lw_addr *b, uint16_t bp)
{
    uint64_t v0 = t->k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = t->k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = t->k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = t->k1 ^ UINT64_C(0x7465646279746573);
    uint64_t m[5] = {addr_word(a, 0), addr_word(a, 8), addr_word(b, 0), addr_word(b, 8),
                     (uint64_t)a->family | (uint64_t)proto << 8 | (uint64_t)ap << 16 |
                         (uint64_t)bp << 32 | (uint64_t)TUPLE_BYTES << 56};
    for (int i = 0; i < 5; i++) {
        v3 ^= m[i];
        SIPROUND(v0, v1, v2, v3); /* c = 1 */
        v0 ^= m[i];
    }
    v2 ^= 0xff;
    SIPROUND(v0, v1, v2, v3); /* d = 3 */
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The bucket hash of a tuple in either direction: of its canonical form. */
static uint32_t bucket_hash(const lw_flow_table *t, uint8_t proto, const lw_addr *a, uint16_t ap,
                            const lw_addr *b, uint16_t bp)
{
    if (endpoint_cmp(a, ap, b, bp) <= 0)
        return (uint32_t)tuple_siphash13(t, proto, a, ap, b, bp);
    return (uint32_t)tuple_siphash13(t, proto, b, bp, a, ap);
}

static uint64_t make_flow_id(const lw_flow *f)
{
    unsigned char buf[TUPLE_BYTES + 8], out[crypto_shorthash_BYTES];
    tuple_bytes(buf, f->proto, &f->src, f->sport, &f->dst, f->dport);
    for (int i = 0; i < 8; i++)
        buf[TUPLE_BYTES + i] = (unsigned char)(f->ts_start_us >> (8 * (7 - i)));
    crypto_shorthash(out, buf, sizeof(buf), flow_id_key);
    uint64_t id = get_u64le(out) & FLOW_ID_MASK;
    return id ? id : 1;
}

static bool addr_eq(const lw_addr *a, const lw_addr *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static bool flow_matches(const lw_flow *f, const lw_packet *p)
{
    if (f->proto != p->proto)
        return false;
    if (f->sport == p->sport && f->dport == p->dport && addr_eq(&f->src, &p->src) &&
        addr_eq(&f->dst, &p->dst))
        return true;
    return f->sport == p->dport && f->dport == p->sport && addr_eq(&f->src, &p->dst) &&
           addr_eq(&f->dst, &p->src);
}

/* Seeds the bucket hash with libsodium's CSPRNG (getrandom underneath),
 * so an attacker cannot aim many keys at one chain. */
static void fill_seed(lw_flow_table *t)
{
    unsigned char seed[16];
    randombytes_buf(seed, sizeof(seed));
    t->k0 = get_u64le(seed);
    t->k1 = get_u64le(seed + 8);
    sodium_memzero(seed, sizeof(seed));
}

/* ---- table -------------------------------------------------------------- */

lw_flow_table *lw_flow_table_new(const lw_flow_table_config *cfg, uint64_t *counters)
{
    if (!cfg || !counters || cfg->max_flows == 0 || cfg->max_flows > MAX_FLOWS_LIMIT)
        return NULL;
    lw_flow_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cfg = *cfg;
    t->ctr = counters;
    uint32_t n = 1;
    while (n < cfg->max_flows)
        n <<= 1;
    t->max_mask = n - 1;
    if (n > INITIAL_BUCKETS)
        n = INITIAL_BUCKETS;
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
    /* the largest power of two <= idle_timeout / RELINK_FRACTION, at most
     * MAX_RELINK_SHIFT: 1 us (exact order) for time-outs below 64 us */
    while (t->epoch_shift < MAX_RELINK_SHIFT &&
           (UINT64_C(2) << t->epoch_shift) <= cfg->idle_timeout_us / RELINK_FRACTION)
        t->epoch_shift++;
    fill_seed(t);
    return t;
}

static uint64_t memuse(const lw_flow_table *t)
{
    return t->block_bytes + t->slot_bytes;
}

static void update_memuse(lw_flow_table *t)
{
    t->ctr[LW_FLOW_CTR_MEMUSE] = memuse(t);
}

/* The chain a tuple of hash h is on: in the old array while its old bucket
 * has not been moved yet, else in the current one. */
static inline lw_flow **chain_of(const lw_flow_table *t, uint32_t h)
{
    if (__builtin_expect(t->old != NULL, 0) && (h & t->old_mask) >= t->migrated)
        return &t->old[h & t->old_mask];
    return &t->buckets[h & t->mask];
}

static uint32_t flow_hash(const lw_flow_table *t, const lw_flow *f)
{
    return bucket_hash(t, f->proto, &f->src, f->sport, &f->dst, f->dport);
}

/* Prefetches the records at the heads of old buckets [from, from + n). */
static void prefetch_heads(const lw_flow_table *t, uint32_t from, uint32_t n)
{
    for (uint32_t j = from; j < from + n && j <= t->old_mask; j++) {
        const lw_flow *f = t->old[j];
        if (f) { /* the tuple (two lines at worst) and the chain link */
            __builtin_prefetch(f);
            __builtin_prefetch((const char *)f + TUPLE_BYTES);
            __builtin_prefetch(&f->hnext);
        }
    }
}

/* Moves up to MIGRATE_BUCKETS old buckets into the current array, hashing
 * each record's tuple again; frees the old array after its last bucket.
 * The records are cold, a cache miss each, and so is the old array: each
 * step prefetches the records of the next step's chain heads and the old
 * pointers of the step after it, so a step finds its memory in cache. */
static void migrate_step(lw_flow_table *t)
{
    uint32_t end = t->migrated + MIGRATE_BUCKETS;
    if (end > t->old_mask + 1u)
        end = t->old_mask + 1u;
    prefetch_heads(t, t->migrated, end - t->migrated); /* a no-op when cached */
    for (; t->migrated < end; t->migrated++) {
        lw_flow *f = t->old[t->migrated];
        t->old[t->migrated] = NULL;
        while (f) {
            lw_flow *next = f->hnext;
            lw_flow **b = &t->buckets[flow_hash(t, f) & t->mask];
            f->hnext = *b;
            *b = f;
            f = next;
        }
    }
    if (t->migrated > t->old_mask) {
        free(t->old);
        t->old = NULL;
        t->old_mask = t->migrated = 0;
        return;
    }
    for (uint32_t k = 1; k <= 2 && end + k * MIGRATE_BUCKETS <= t->old_mask; k++)
        __builtin_prefetch(&t->old[end + k * MIGRATE_BUCKETS], 1);
    prefetch_heads(t, end, MIGRATE_BUCKETS);
}

/* Starts doubling the bucket array when the load has passed 1/2, unless a
 * migration is under way, the array is at its cap, or a failed attempt
 * is still being waited out. Called for a new flow only. */
static void maybe_grow(lw_flow_table *t)
{
    if (t->old) {
        migrate_step(t);
        return;
    }
    if (t->count <= (t->mask + 1u) >> LOAD_SHIFT || t->mask == t->max_mask)
        return;
    if (t->grow_wait) {
        t->grow_wait--;
        return;
    }
    size_t n = ((size_t)t->mask + 1) * 2;
    lw_flow **b = calloc(n, sizeof(*b));
    if (!b) {
        /* keep the current array: chains grow longer, nothing is lost */
        t->grow_wait = (uint32_t)(n / 2 / GROW_RETRY_DIVISOR);
        return;
    }
    t->old = t->buckets;
    t->old_mask = t->mask;
    t->migrated = 0;
    t->buckets = b;
    t->mask = (uint32_t)(n - 1);
    migrate_step(t);
}

/* Unlinks f from its bucket chain. */
static void hash_remove(lw_flow_table *t, lw_flow *f)
{
    lw_flow **pp = chain_of(t, flow_hash(t, f));
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->hnext = NULL;
}

/* Puts a released flow's record on the free list; its links are left to
 * the caller. */
static void recycle(lw_flow_table *t, lw_flow *f)
{
    t->count--;
    t->ctr[LW_FLOW_CTR_ACTIVE] = t->count;
    t->slot_bytes -= f->mem;
    f->mem = 0;
    update_memuse(t);
    f->hnext = t->free_list;
    t->free_list = f;
}

/* Takes f out of the table: counts `why`, calls release, then recycles. */
static void release_flow(lw_flow_table *t, lw_flow *f, enum lw_flow_counter why)
{
    t->ctr[why]++;
    if (t->cfg.release)
        t->cfg.release(f, t->cfg.release_ctx);
    hash_remove(t, f);
    list_remove(list_of(t, f), f);
    recycle(t, f);
}

/* How many records the next block may hold: below max_flows and, with a
 * memcap, within the bytes still free under it. 0 when none fits. */
static uint32_t block_records(const lw_flow_table *t)
{
    uint64_t n = t->cfg.max_flows - t->allocated;
    if (n > RECORDS_PER_BLOCK)
        n = RECORDS_PER_BLOCK;
    if (t->cfg.memcap && n) {
        uint64_t used = memuse(t), room;
        room = used + sizeof(record_block) < t->cfg.memcap
                   ? t->cfg.memcap - used - sizeof(record_block)
                   : 0;
        if (room / sizeof(lw_flow) < n)
            n = room / sizeof(lw_flow);
    }
    return (uint32_t)n;
}

/* Allocates a block of n records onto the free list; false when the
 * allocator said no (counted flow.alloc_failed). */
static bool add_block(lw_flow_table *t, uint32_t n)
{
    size_t bytes = sizeof(record_block) + (size_t)n * sizeof(lw_flow);
    record_block *b = calloc(1, bytes);
    if (!b) {
        t->ctr[LW_FLOW_CTR_ALLOC_FAILED]++;
        return false;
    }
    b->next = t->blocks;
    t->blocks = b;
    t->block_bytes += bytes;
    t->allocated += n;
    for (uint32_t i = n; i-- > 0;) {
        b->rec[i].hnext = t->free_list;
        t->free_list = &b->rec[i];
    }
    update_memuse(t);
    return true;
}

/* The flow to give up for memory: the least recently seen closed one, else
 * the least recently seen open one; NULL when the table is empty. */
static lw_flow *victim_of(const lw_flow_table *t)
{
    return t->closed.head ? t->closed.head : t->active.head;
}

/* A record for a new flow, zeroed: from the free list, a fresh block below
 * the caps, or by evicting the least valuable flow at a cap. */
static lw_flow *take_record(lw_flow_table *t)
{
    if (!t->free_list) {
        uint32_t n = block_records(t);
        if (n > 0) {
            if (!add_block(t, n))
                return NULL;
        } else {
            lw_flow *victim = victim_of(t);
            if (!victim) {
                /* only with a memcap below one block's header and record */
                t->ctr[LW_FLOW_CTR_ALLOC_FAILED]++;
                return NULL;
            }
            release_flow(t, victim,
                         t->allocated >= t->cfg.max_flows ? LW_FLOW_CTR_EVICTED
                                                          : LW_FLOW_CTR_MEMCAP_EVICTED);
        }
    }
    lw_flow *f = t->free_list;
    t->free_list = f->hnext;
    memset(f, 0, sizeof(*f));
    return f;
}

static lw_flow *create_flow(lw_flow_table *t, const lw_packet *p, uint32_t h)
{
    lw_flow *f = take_record(t);
    if (!f)
        return NULL;
    bool synack = p->proto == LW_PROTO_TCP &&
                  (p->tcp_flags & (LW_TCP_SYN | LW_TCP_ACK)) == (LW_TCP_SYN | LW_TCP_ACK);
    if (synack) {
        f->src = p->dst;
        f->dst = p->src;
        f->sport = p->dport;
        f->dport = p->sport;
    } else {
        f->src = p->src;
        f->dst = p->dst;
        f->sport = p->sport;
        f->dport = p->dport;
    }
    f->proto = p->proto;
    f->ts_start_us = p->ts_us;
    f->ts_last_us = p->ts_us;
    f->flow_id = make_flow_id(f);
    f->seq = ++t->seq;
    lw_flow **b = chain_of(t, h);
    f->hnext = *b;
    *b = f;
    list_append(&t->active, f);
    t->count++;
    t->ctr[LW_FLOW_CTR_CREATED]++;
    t->ctr[LW_FLOW_CTR_ACTIVE] = t->count;
    maybe_grow(t);
    return f;
}

static bool is_pure_syn(const lw_packet *p)
{
    return p->proto == LW_PROTO_TCP && (p->tcp_flags & (LW_TCP_SYN | LW_TCP_ACK)) == LW_TCP_SYN;
}

lw_flow *lw_flow_get(lw_flow_table *t, const lw_packet *p, int *dir, bool *created)
{
    uint32_t h = bucket_hash(t, p->proto, &p->src, p->sport, &p->dst, p->dport);
    lw_flow *f = *chain_of(t, h);
    while (f && !flow_matches(f, p))
        f = f->hnext;

    if (f && f->closed && is_pure_syn(p)) {
        release_flow(t, f, LW_FLOW_CTR_TCP_REUSED);
        f = NULL;
    }

    bool fresh = false;
    if (!f) {
        f = create_flow(t, p, h);
        if (!f)
            return NULL;
        fresh = true;
    } else {
        /* A closed flow moves to the most recently seen end of its list on
         * every packet (they are few). An open one moves only when the
         * packet takes ts_last_us into a later relink interval, which
         * keeps the active list ordered by interval (see the top). */
        flow_list *l = NULL;
        if (f->closed)
            l = &t->closed;
        else if ((p->ts_us >> t->epoch_shift) > (f->ts_last_us >> t->epoch_shift))
            l = &t->active;
        if (l && l->tail != f) {
            list_remove(l, f);
            list_append(l, f);
        }
        if (p->ts_us > f->ts_last_us)
            f->ts_last_us = p->ts_us;
        f->seq = ++t->seq;
    }

    int d = (p->sport == f->sport && addr_eq(&p->src, &f->src)) ? LW_DIR_TOSERVER : LW_DIR_TOCLIENT;
    f->bytes[d] += p->wirelen;
    f->pkts[d]++;
    if (dir)
        *dir = d;
    if (created)
        *created = fresh;
    return f;
}

void lw_flow_mark_closed(lw_flow_table *t, lw_flow *f)
{
    if (f->closed)
        return;
    list_remove(&t->active, f);
    f->closed = true;
    list_append(&t->closed, f);
}

/* True when `last` is at least `timeout` before `now`; never wraps. */
static bool timed_out(uint64_t now, uint64_t last, uint64_t timeout)
{
    return now >= last && now - last >= timeout;
}

void lw_flow_account(lw_flow_table *t, lw_flow *f, int64_t delta)
{
    uint64_t before = f->mem, after;
    uint64_t mag =
        delta < 0 ? (uint64_t)0 - (uint64_t)delta : (uint64_t)delta; /* |INT64_MIN| too */
    if (delta < 0)
        after = mag >= before ? 0 : before - mag;
    else
        after = before + mag > UINT32_MAX ? UINT32_MAX : before + mag;
    f->mem = (uint32_t)after;
    t->slot_bytes = t->slot_bytes - before + after;
    update_memuse(t);
}

uint64_t lw_flow_table_memuse(const lw_flow_table *t)
{
    return memuse(t);
}

size_t lw_flow_table_expire(lw_flow_table *t, uint64_t now_us, size_t budget)
{
    size_t n = 0;
    while (n < budget && t->cfg.memcap && memuse(t) > t->cfg.memcap && victim_of(t)) {
        release_flow(t, victim_of(t), LW_FLOW_CTR_MEMCAP_EVICTED);
        n++;
    }
    while (n < budget && t->closed.head &&
           timed_out(now_us, t->closed.head->ts_last_us, t->cfg.closed_timeout_us)) {
        release_flow(t, t->closed.head, LW_FLOW_CTR_EXPIRED_CLOSED);
        n++;
    }
    while (n < budget && t->active.head &&
           timed_out(now_us, t->active.head->ts_last_us, t->cfg.idle_timeout_us)) {
        release_flow(t, t->active.head, LW_FLOW_CTR_EXPIRED_IDLE);
        n++;
    }
    return n;
}

/* An open flow's place in the exact flush order. */
typedef struct flush_key {
    uint64_t ts_last_us;
    uint32_t age; /* lookups since its last packet: larger = earlier */
    lw_flow *f;
} flush_key;

static int flush_key_cmp(const void *a, const void *b)
{
    const flush_key *x = a, *y = b;
    if (x->ts_last_us != y->ts_last_us)
        return x->ts_last_us < y->ts_last_us ? -1 : 1;
    return x->age > y->age ? -1 : x->age < y->age;
}

/* Flushes f: with `bulk`, counts, calls release and recycles it but leaves
 * it linked: the caller then empties the lists and the bucket array at
 * once. Sound because the release callback may not look flows up. */
static void flush_one(lw_flow_table *t, lw_flow *f, bool bulk)
{
    if (!bulk) {
        release_flow(t, f, LW_FLOW_CTR_FLUSHED);
        return;
    }
    t->ctr[LW_FLOW_CTR_FLUSHED]++;
    if (t->cfg.release)
        t->cfg.release(f, t->cfg.release_ctx);
    recycle(t, f);
}

/* Releases the open flows by ts_last_us, ties in the order of their last
 * packets: the order the active list would have if every packet moved its
 * flow to the tail. Offline output (the alerts a flow's release writes)
 * thus does not depend on the relink interval. Without memory for the
 * sort, list order (exact to within the interval) is used. */
static void flush_active(lw_flow_table *t, bool bulk)
{
    size_t n = t->count, i = 0;
    flush_key *k = n ? malloc(n * sizeof(*k)) : NULL;
    lw_flow *f = t->active.head;
    if (k) {
        for (; f && i < n; f = f->lnext, i++)
            k[i] = (flush_key){f->ts_last_us, t->seq - f->seq, f};
        qsort(k, i, sizeof(*k), flush_key_cmp);
        for (size_t j = 0; j < i; j++)
            flush_one(t, k[j].f, bulk);
        free(k);
        f = NULL;
    }
    while (f) { /* no memory for the sort */
        lw_flow *next = f->lnext;
        flush_one(t, f, bulk);
        f = next;
    }
}

void lw_flow_table_flush(lw_flow_table *t)
{
    if (t->count == 0)
        return;
    /* With a flow per 8 buckets (one per cache line of them) or more,
     * clearing the whole bucket array afterwards is cheaper than a cache
     * miss per flow to unlink each from its chain. */
    bool bulk = t->count >= (t->mask / 8) + 1;
    for (lw_flow *f = t->closed.head, *next; f; f = next) {
        next = f->lnext;
        flush_one(t, f, bulk);
    }
    flush_active(t, bulk);
    if (bulk) {
        t->closed.head = t->closed.tail = NULL;
        t->active.head = t->active.tail = NULL;
        memset(t->buckets, 0, ((size_t)t->mask + 1) * sizeof(*t->buckets));
        free(t->old); /* an empty table has nothing left to move */
        t->old = NULL;
        t->old_mask = t->migrated = 0;
    }
}

size_t lw_flow_table_count(const lw_flow_table *t)
{
    return t->count;
}

size_t lw_flow_table_buckets(const lw_flow_table *t, size_t *old)
{
    if (old)
        *old = t->old ? (size_t)t->old_mask + 1 : 0;
    return (size_t)t->mask + 1;
}

void lw_flow_table_free(lw_flow_table *t)
{
    if (!t)
        return;
    lw_flow_table_flush(t);
    while (t->blocks) {
        record_block *b = t->blocks;
        t->blocks = b->next;
        free(b);
    }
    free(t->old);
    free(t->buckets);
    free(t);
}
