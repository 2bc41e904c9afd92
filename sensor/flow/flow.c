/*
 * flow.c - the bidirectional flow table of one worker.
 *
 * A flow is found from either direction of its 5-tuple. The bucket is chosen
 * by a keyed hash (SipHash-2-4, libsodium's crypto_shorthash) over the
 * *canonical* tuple - the smaller (address, port) endpoint first - so both
 * directions land in the same chain. The hash key is drawn from the system CSPRNG
 * when the table is made: an attacker who can choose ports and addresses
 * cannot predict which bucket a tuple falls in, so cannot build one long
 * chain (the hash-flooding attack on tables with a public hash function).
 *
 * Records: at most max_flows are ever allocated, lazily, in blocks of up to
 * RECORDS_PER_BLOCK (a table that sees ten flows holds one block of ten or
 * more records, never more than the cap). A block saves the allocator's
 * header and 16-byte rounding per record (a 160-byte record costs 176
 * bytes from glibc alone) and 255 of every 256 calls to it. A record
 * leaving the table goes to a free list and is reused; once a record
 * exists no packet allocates. The bucket array is a power of two >=
 * max_flows, so the expected chain length stays below one at the cap.
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
 * `closed`, ordered by ts_last_us (head = least recently seen).
 * lw_flow_get() moves the flow to the tail, so expiry only looks at heads
 * and stops at the first flow still alive: O(released + 1) per call, capped
 * by `budget`. A new flow at the cap evicts the head of `closed` (a finished
 * connection is the cheapest loss), else the head of `active`.
 *
 * Time: packet time only. Captures are not always sorted, so a packet may be
 * a little older than the flow's last one: ts_last_us never moves backwards,
 * and every time-out test is written as `now >= last && now - last >= T` so
 * unsigned arithmetic cannot wrap. The lists stay ordered up to such
 * jitter; a flow that is slightly out of place expires slightly late, never
 * early. Edge: a flow idle for exactly its time-out has expired.
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

/* Records per allocation: 256 x 160 bytes = 40 KiB, small enough that the
 * last, partly used block of a small table wastes little. */
#define RECORDS_PER_BLOCK 256u

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
    lw_flow **buckets;
    uint32_t mask;                                 /* bucket count - 1 */
    uint32_t count;                                /* flows in the table */
    uint32_t allocated;                            /* records ever allocated, <= max_flows */
    lw_flow *free_list;                            /* records not in the table, linked by hnext */
    record_block *blocks;                          /* every allocation of records */
    uint64_t block_bytes;                          /* bytes of all blocks */
    uint64_t slot_bytes;                           /* declared slot bytes of flows in the table */
    flow_list active;                              /* open flows, least recently seen first */
    flow_list closed;                              /* closed flows, least recently seen first */
    unsigned char seed[crypto_shorthash_KEYBYTES]; /* bucket hash key, random per table */
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

static uint32_t bucket_hash(const lw_flow_table *t, const lw_packet *p)
{
    unsigned char buf[TUPLE_BYTES], out[crypto_shorthash_BYTES];
    if (endpoint_cmp(&p->src, p->sport, &p->dst, p->dport) <= 0)
        tuple_bytes(buf, p->proto, &p->src, p->sport, &p->dst, p->dport);
    else
        tuple_bytes(buf, p->proto, &p->dst, p->dport, &p->src, p->sport);
    crypto_shorthash(out, buf, sizeof(buf), t->seed);
    return (uint32_t)get_u64le(out);
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
    randombytes_buf(t->seed, sizeof(t->seed));
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
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = n - 1;
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

/* Unlinks f from its bucket chain. */
static void hash_remove(lw_flow_table *t, lw_flow *f)
{
    lw_flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->hnext = NULL;
}

/* Takes f out of the table: counts `why`, calls release, then recycles. */
static void release_flow(lw_flow_table *t, lw_flow *f, enum lw_flow_counter why)
{
    t->ctr[why]++;
    if (t->cfg.release)
        t->cfg.release(f, t->cfg.release_ctx);
    hash_remove(t, f);
    list_remove(list_of(t, f), f);
    t->count--;
    t->ctr[LW_FLOW_CTR_ACTIVE] = t->count;
    t->slot_bytes -= f->mem;
    f->mem = 0;
    update_memuse(t);
    f->hnext = t->free_list;
    t->free_list = f;
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
    f->hash = h;
    lw_flow **b = &t->buckets[h & t->mask];
    f->hnext = *b;
    *b = f;
    list_append(&t->active, f);
    t->count++;
    t->ctr[LW_FLOW_CTR_CREATED]++;
    t->ctr[LW_FLOW_CTR_ACTIVE] = t->count;
    return f;
}

static bool is_pure_syn(const lw_packet *p)
{
    return p->proto == LW_PROTO_TCP && (p->tcp_flags & (LW_TCP_SYN | LW_TCP_ACK)) == LW_TCP_SYN;
}

lw_flow *lw_flow_get(lw_flow_table *t, const lw_packet *p, int *dir, bool *created)
{
    uint32_t h = bucket_hash(t, p);
    lw_flow *f = t->buckets[h & t->mask];
    while (f && !(f->hash == h && flow_matches(f, p)))
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
        /* move to the most recently seen end of its list */
        flow_list *l = list_of(t, f);
        if (l->tail != f) {
            list_remove(l, f);
            list_append(l, f);
        }
        if (p->ts_us > f->ts_last_us)
            f->ts_last_us = p->ts_us;
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

void lw_flow_table_flush(lw_flow_table *t)
{
    while (t->closed.head)
        release_flow(t, t->closed.head, LW_FLOW_CTR_FLUSHED);
    while (t->active.head)
        release_flow(t, t->active.head, LW_FLOW_CTR_FLUSHED);
}

size_t lw_flow_table_count(const lw_flow_table *t)
{
    return t->count;
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
    free(t->buckets);
    free(t);
}
