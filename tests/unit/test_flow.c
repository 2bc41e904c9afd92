/*
 * test_flow.c - the flow table: orientation, both directions to one flow,
 * IPv4 and IPv6, idle and closed time-outs at their exact edges, eviction
 * at the cap (closed first, then least recently seen), the release callback
 * (exactly once per flow), deterministic flow ids, budgeted expiry, port
 * reuse, and packet time that goes backwards; the memory cap (records in
 * blocks under it, declared slot bytes, eviction over it) and the per-flow
 * memory budget: a flow record plus its hash-table share plus the slots an
 * egress HTTP flow allocates stay within 1 KiB (Hyperscan stream state and
 * the decoders' own allocations excluded; see docs/performance.md), and a
 * million concurrent flows fit under a 1 GiB memcap; the bucket array:
 * small at first, doubled incrementally as flows come (every flow found
 * from both directions while two arrays are in use; eviction, expiry and
 * flush orders unchanged), capped by max_flows, and a refused doubling
 * leaves a working table.
 *
 * This program replaces the allocator (as alloc_count.h's hooks do) so
 * that a test can refuse one allocation size: the doubled bucket array.
 *
 * Every test ends by checking the accounting invariant: flows created =
 * flows in the table + flows that left it under one of the reasons.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/flow.h"

#include "leakwatch/alloc_count.h"

/* The engine's per-flow slot types, to hold them to the budget. */
#include "../../sensor/engine/engine_internal.h"

/* Allocation hooks: alloc_count.h's forwarders, except that while
 * fail_bytes is non-zero a malloc or calloc of exactly that many bytes
 * fails (counted in refused). Test-only state, per thread. */
static _Thread_local size_t fail_bytes;
static _Thread_local unsigned refused;

static bool refuse(size_t bytes)
{
    if (fail_bytes == 0 || bytes != fail_bytes)
        return false;
    refused++;
    return true;
}

void *malloc(size_t n)
{
    return refuse(n) ? NULL : lw_alloc_count_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (size && n <= SIZE_MAX / size && refuse(n * size))
        return NULL;
    return lw_alloc_count_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return lw_alloc_count_realloc(p, n);
}

void free(void *p)
{
    lw_alloc_count_free(p);
}

int posix_memalign(void **p, size_t align, size_t n)
{
    return lw_alloc_count_posix_memalign(p, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return lw_alloc_count_aligned_alloc(align, n);
}

#define MAX_FLOWS    4
#define IDLE_US      100
#define CLOSED_US    10
#define MAX_RELEASED 64
/* An idle time-out of 64 x 1024 us gives a relink interval of 1024 us
 * (IDLE_US gives 1 us: the exact order). */
#define LONG_IDLE_US (64u * 1024u)
#define INTERVAL_US  1024u

typedef struct fixture {
    uint64_t ctr[LW_FLOW_CTR_MAX];
    lw_flow_table *t;
    size_t released; /* release callback calls */
    lw_flow *released_rec[MAX_RELEASED];
    uint64_t released_id[MAX_RELEASED];
    /* test_interval_random_against_model: what its model knows, per nth() flow */
    bool model;
    bool *model_live;
    const uint64_t *model_touch;   /* lookups made up to its last packet */
    const uint64_t *model_last_ts; /* time of its last packet */
    uint64_t model_now;            /* now_us of the expiry under way; 0 = a flush */
    uint64_t last_touch_released;  /* flush: model_touch of the previous release */
} fixture;

static void on_release(lw_flow *f, void *ctx)
{
    fixture *fx = ctx;
    /* the record is still intact when the callback runs */
    assert_int_not_equal(f->flow_id, 0);
    if (fx->released < MAX_RELEASED) {
        fx->released_rec[fx->released] = f;
        fx->released_id[fx->released] = f->flow_id;
    }
    fx->released++;
    if (fx->model) {
        size_t k = (size_t)(f->sport - 50000);
        assert_true(fx->model_live[k]);
        assert_int_equal(f->ts_last_us, fx->model_last_ts[k]);
        if (fx->model_now) { /* expiry: never early */
            assert_true(fx->model_now - f->ts_last_us >= LONG_IDLE_US);
        } else { /* flush: least recently seen first, exactly */
            assert_true(fx->model_touch[k] > fx->last_touch_released);
            fx->last_touch_released = fx->model_touch[k];
        }
        fx->model_live[k] = false;
    }
}

static lw_flow_table *make_table(fixture *fx, uint32_t max_flows)
{
    lw_flow_table_config cfg = {
        .max_flows = max_flows,
        .idle_timeout_us = IDLE_US,
        .closed_timeout_us = CLOSED_US,
        .release = on_release,
        .release_ctx = fx,
    };
    return lw_flow_table_new(&cfg, fx->ctr);
}

static int setup(void **state)
{
    fail_bytes = 0; /* a failed test may have left it set */
    fixture *fx = test_calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->t = make_table(fx, MAX_FLOWS);
    if (!fx->t) {
        test_free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static uint64_t left_table(const uint64_t *c)
{
    return c[LW_FLOW_CTR_EXPIRED_IDLE] + c[LW_FLOW_CTR_EXPIRED_CLOSED] + c[LW_FLOW_CTR_EVICTED] +
           c[LW_FLOW_CTR_FLUSHED] + c[LW_FLOW_CTR_TCP_REUSED] + c[LW_FLOW_CTR_MEMCAP_EVICTED];
}

static void check_invariants_n(const fixture *fx, size_t max_flows)
{
    size_t n = lw_flow_table_count(fx->t);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_ACTIVE], n);
    assert_true(n <= max_flows);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_CREATED], n + left_table(fx->ctr));
    assert_int_equal(fx->released, left_table(fx->ctr));
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMUSE], lw_flow_table_memuse(fx->t));
}

static void check_invariants(const fixture *fx)
{
    check_invariants_n(fx, MAX_FLOWS);
}

static int teardown(void **state)
{
    fixture *fx = *state;
    check_invariants(fx);
    size_t before = lw_flow_table_count(fx->t);
    uint64_t flushed = fx->ctr[LW_FLOW_CTR_FLUSHED];
    lw_flow_table_free(fx->t);
    /* free releases every flow still in the table, as flushed */
    assert_int_equal(fx->ctr[LW_FLOW_CTR_FLUSHED], flushed + before);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_CREATED], left_table(fx->ctr));
    assert_int_equal(fx->released, left_table(fx->ctr));
    test_free(fx);
    return 0;
}

/* ---- packets ------------------------------------------------------------ */

static lw_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    lw_addr x;
    memset(&x, 0, sizeof(x));
    x.family = 4;
    x.b[0] = a;
    x.b[1] = b;
    x.b[2] = c;
    x.b[3] = d;
    return x;
}

/* 2001:db8::<last> (documentation prefix, RFC 3849) */
static lw_addr v6(uint8_t last)
{
    lw_addr x;
    memset(&x, 0, sizeof(x));
    x.family = 6;
    x.b[0] = 0x20;
    x.b[1] = 0x01;
    x.b[2] = 0x0d;
    x.b[3] = 0xb8;
    x.b[15] = last;
    return x;
}

static lw_packet pkt(uint64_t ts, lw_addr src, uint16_t sport, lw_addr dst, uint16_t dport,
                     uint8_t proto, uint8_t flags, uint32_t wirelen)
{
    lw_packet p;
    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.wirelen = wirelen;
    p.ip_version = src.family;
    p.proto = proto;
    p.src = src;
    p.dst = dst;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    return p;
}

/* client 192.0.2.1:40000 <-> server 198.51.100.7:80 (RFC 5737 addresses) */
#define CLI v4(192, 0, 2, 1)
#define SRV v4(198, 51, 100, 7)

static lw_packet c2s(uint64_t ts, uint8_t flags)
{
    return pkt(ts, CLI, 40000, SRV, 80, LW_PROTO_TCP, flags, 60);
}

static lw_packet s2c(uint64_t ts, uint8_t flags)
{
    return pkt(ts, SRV, 80, CLI, 40000, LW_PROTO_TCP, flags, 1500);
}

/* The n-th of several independent TCP flows from one client. */
static lw_packet nth(uint64_t ts, uint16_t n)
{
    return pkt(ts, CLI, (uint16_t)(50000 + n), SRV, 443, LW_PROTO_TCP, LW_TCP_ACK, 100);
}

static lw_flow *get(fixture *fx, lw_packet p, int *dir, bool *created)
{
    lw_flow *f = lw_flow_get(fx->t, &p, dir, created);
    assert_non_null(f);
    return f;
}

/* ---- orientation and lookup --------------------------------------------- */

static void test_first_packet_sender_is_client(void **state)
{
    fixture *fx = *state;
    int dir = -1;
    bool created = false;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_SYN), &dir, &created);
    assert_true(created);
    assert_int_equal(dir, LW_DIR_TOSERVER);
    lw_addr cli = CLI, srv = SRV;
    assert_memory_equal(&f->src, &cli, sizeof(cli));
    assert_memory_equal(&f->dst, &srv, sizeof(srv));
    assert_int_equal(f->sport, 40000);
    assert_int_equal(f->dport, 80);
    assert_int_equal(f->proto, LW_PROTO_TCP);
    assert_int_equal(f->ts_start_us, 1000);
    assert_int_equal(f->ts_last_us, 1000);
    assert_false(f->closed);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_CREATED], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_ACTIVE], 1);
}

static void test_both_directions_one_flow(void **state)
{
    fixture *fx = *state;
    int dir;
    bool created;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_SYN), &dir, &created);
    lw_flow *g = get(fx, s2c(1001, LW_TCP_SYN | LW_TCP_ACK), &dir, &created);
    assert_ptr_equal(f, g);
    assert_false(created);
    assert_int_equal(dir, LW_DIR_TOCLIENT);
    lw_flow *h = get(fx, c2s(1002, LW_TCP_ACK), &dir, &created);
    assert_ptr_equal(f, h);
    assert_int_equal(dir, LW_DIR_TOSERVER);
    assert_int_equal(f->pkts[0], 2);
    assert_int_equal(f->pkts[1], 1);
    assert_int_equal(f->bytes[0], 120);
    assert_int_equal(f->bytes[1], 1500);
    assert_int_equal(f->ts_start_us, 1000);
    assert_int_equal(f->ts_last_us, 1002);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_CREATED], 1);
}

static void test_synack_first_makes_receiver_client(void **state)
{
    fixture *fx = *state;
    int dir = -1;
    bool created = false;
    /* the SYN was missed: the SYN-ACK's receiver initiated the connection */
    lw_flow *f = get(fx, s2c(1000, LW_TCP_SYN | LW_TCP_ACK), &dir, &created);
    assert_true(created);
    assert_int_equal(dir, LW_DIR_TOCLIENT);
    lw_addr cli = CLI;
    assert_memory_equal(&f->src, &cli, sizeof(cli));
    assert_int_equal(f->sport, 40000);
    assert_int_equal(f->dport, 80);
    assert_int_equal(f->bytes[1], 1500);
    assert_int_equal(f->pkts[0], 0);
    get(fx, c2s(1001, LW_TCP_ACK), &dir, &created);
    assert_int_equal(dir, LW_DIR_TOSERVER);
    assert_false(created);
}

static void test_midstream_first_packet_sender_is_client(void **state)
{
    fixture *fx = *state;
    int dir = -1;
    bool created;
    /* a plain ACK from the server first: nothing tells who initiated */
    lw_flow *f = get(fx, s2c(1000, LW_TCP_ACK), &dir, &created);
    assert_int_equal(dir, LW_DIR_TOSERVER);
    lw_addr srv = SRV;
    assert_memory_equal(&f->src, &srv, sizeof(srv));
    assert_int_equal(f->sport, 80);
}

static void test_syn_ack_bits_on_udp_do_not_swap(void **state)
{
    fixture *fx = *state;
    int dir = -1;
    bool created;
    /* tcp_flags means nothing for UDP even if a caller left bits set */
    lw_packet p = pkt(1000, SRV, 53, CLI, 5353, LW_PROTO_UDP, LW_TCP_SYN | LW_TCP_ACK, 80);
    lw_flow *f = get(fx, p, &dir, &created);
    assert_int_equal(dir, LW_DIR_TOSERVER);
    assert_int_equal(f->sport, 53);
}

static void test_ipv6_flow(void **state)
{
    fixture *fx = *state;
    int dir;
    bool created;
    lw_addr a = v6(1), b = v6(2);
    lw_flow *f = get(fx, pkt(1000, a, 5000, b, 25, LW_PROTO_TCP, LW_TCP_SYN, 80), &dir, &created);
    assert_true(created);
    lw_flow *g = get(fx, pkt(1001, b, 25, a, 5000, LW_PROTO_TCP, LW_TCP_ACK, 70), &dir, &created);
    assert_ptr_equal(f, g);
    assert_int_equal(dir, LW_DIR_TOCLIENT);
    assert_int_equal(f->src.family, 6);
    assert_memory_equal(&f->src, &a, sizeof(a));
    assert_int_equal(f->bytes[0], 80);
    assert_int_equal(f->bytes[1], 70);
}

static void test_family_proto_and_ports_distinguish_flows(void **state)
{
    fixture *fx = *state;
    int dir;
    bool created;
    lw_addr a4 = v4(32, 1, 13, 184), b4 = v4(0, 0, 0, 2);
    lw_addr a6 = a4, b6 = b4;
    a6.family = b6.family = 6; /* same address bytes, other family */
    lw_flow *f1 = get(fx, pkt(1, a4, 1, b4, 2, LW_PROTO_TCP, 0, 1), &dir, &created);
    lw_flow *f2 = get(fx, pkt(1, a6, 1, b6, 2, LW_PROTO_TCP, 0, 1), &dir, &created);
    lw_flow *f3 = get(fx, pkt(1, a4, 1, b4, 2, LW_PROTO_UDP, 0, 1), &dir, &created);
    lw_flow *f4 = get(fx, pkt(1, a4, 3, b4, 2, LW_PROTO_TCP, 0, 1), &dir, &created);
    assert_ptr_not_equal(f1, f2);
    assert_ptr_not_equal(f1, f3);
    assert_ptr_not_equal(f1, f4);
    assert_ptr_not_equal(f2, f3);
    assert_int_equal(lw_flow_table_count(fx->t), 4);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 0);
}

static void test_wirelen_counted_not_caplen(void **state)
{
    fixture *fx = *state;
    lw_packet p = c2s(1, LW_TCP_SYN);
    p.caplen = 10;
    p.wirelen = 9000;
    lw_flow *f = get(fx, p, NULL, NULL); /* dir and created are optional */
    assert_int_equal(f->bytes[0], 9000);
}

/* ---- time-outs ------------------------------------------------------------ */

static void test_idle_expiry_exact_edge(void **state)
{
    fixture *fx = *state;
    get(fx, c2s(1000, LW_TCP_SYN), NULL, NULL);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + IDLE_US - 1, 10), 0);
    assert_int_equal(fx->released, 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + IDLE_US, 10), 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED], 0);
    assert_int_equal(fx->released, 1);
    assert_int_equal(lw_flow_table_count(fx->t), 0);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_ACTIVE], 0);
}

static void test_activity_postpones_idle_expiry(void **state)
{
    fixture *fx = *state;
    get(fx, c2s(1000, LW_TCP_SYN), NULL, NULL);
    get(fx, s2c(1050, LW_TCP_ACK), NULL, NULL);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + IDLE_US, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 1050 + IDLE_US, 10), 1);
}

static void test_closed_expiry_exact_edge(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_RST), NULL, NULL);
    lw_flow_mark_closed(fx->t, f);
    assert_true(f->closed);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + CLOSED_US - 1, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + CLOSED_US, 10), 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], 0);
}

static void test_closed_flow_expires_before_older_open_flow(void **state)
{
    fixture *fx = *state;
    get(fx, nth(1000, 1), NULL, NULL);              /* open, idle from 1000 */
    lw_flow *c = get(fx, nth(1050, 2), NULL, NULL); /* closed at 1050 */
    lw_flow_mark_closed(fx->t, c);
    assert_int_equal(lw_flow_table_expire(fx->t, 1060, 10), 1);
    assert_ptr_equal(fx->released_rec[0], c);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
}

static void test_mark_closed_twice_is_harmless(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_FIN), NULL, NULL);
    lw_flow_mark_closed(fx->t, f);
    lw_flow_mark_closed(fx->t, f);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + CLOSED_US, 10), 1);
    assert_int_equal(lw_flow_table_count(fx->t), 0);
}

static void test_packet_on_closed_flow_keeps_it_closed(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_FIN), NULL, NULL);
    lw_flow_mark_closed(fx->t, f);
    lw_flow *g = get(fx, s2c(1005, LW_TCP_ACK), NULL, NULL);
    assert_ptr_equal(f, g);
    assert_true(g->closed);
    /* the last packet restarted the closed time-out */
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + CLOSED_US, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 1005 + CLOSED_US, 10), 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED], 1);
}

static void test_budgeted_expiry(void **state)
{
    fixture *fx = *state;
    uint64_t id[4];
    for (uint16_t i = 0; i < 4; i++)
        id[i] = get(fx, nth(1000 + i, i), NULL, NULL)->flow_id;
    assert_int_equal(lw_flow_table_expire(fx->t, 5000, 3), 3);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
    assert_int_equal(lw_flow_table_expire(fx->t, 5000, 0), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 5000, 3), 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], 4);
    for (size_t i = 0; i < 4; i++) /* least recently seen first */
        assert_int_equal(fx->released_id[i], id[i]);
}

static void test_expiry_stops_at_first_live_flow(void **state)
{
    fixture *fx = *state;
    get(fx, nth(1000, 1), NULL, NULL);
    get(fx, nth(1200, 2), NULL, NULL);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + IDLE_US, 10), 1);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
}

static void test_time_going_backwards(void **state)
{
    fixture *fx = *state;
    int dir;
    bool created;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_SYN), &dir, &created);
    /* an earlier packet of the same flow: counted, but time stays at 1000 */
    get(fx, s2c(900, LW_TCP_SYN | LW_TCP_ACK), &dir, &created);
    assert_false(created);
    assert_int_equal(f->ts_last_us, 1000);
    assert_int_equal(f->ts_start_us, 1000);
    assert_int_equal(f->pkts[1], 1);
    /* expiry at a time before the flow's last packet must not wrap */
    assert_int_equal(lw_flow_table_expire(fx->t, 0, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 999, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + IDLE_US - 1, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + IDLE_US, 10), 1);
}

static void test_huge_timeout_does_not_wrap(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table_config cfg = {
        .max_flows = 2, .idle_timeout_us = UINT64_MAX, .closed_timeout_us = UINT64_MAX};
    lw_flow_table *t = lw_flow_table_new(&cfg, ctr);
    assert_non_null(t);
    lw_packet p = c2s(UINT64_MAX - 5, LW_TCP_SYN);
    assert_non_null(lw_flow_get(t, &p, NULL, NULL));
    assert_int_equal(lw_flow_table_expire(t, UINT64_MAX, 10), 0);
    assert_int_equal(lw_flow_table_expire(t, 0, 10), 0);
    lw_flow_table_free(t);
}

/* ---- the cap ------------------------------------------------------------- */

static void test_eviction_at_cap_prefers_closed(void **state)
{
    fixture *fx = *state;
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++)
        f[i] = get(fx, nth(1000 + i, i), NULL, NULL);
    lw_flow_mark_closed(fx->t, f[2]); /* newest-but-one, yet closed */
    uint64_t closed_id = f[2]->flow_id;
    bool created;
    get(fx, nth(2000, 9), NULL, &created);
    assert_true(created);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 1);
    assert_int_equal(fx->released, 1);
    assert_int_equal(fx->released_id[0], closed_id);
    assert_int_equal(lw_flow_table_count(fx->t), MAX_FLOWS);
    /* the open flows are all still there */
    get(fx, nth(2001, 0), NULL, &created);
    assert_false(created);
    get(fx, nth(2002, 1), NULL, &created);
    assert_false(created);
    get(fx, nth(2003, 3), NULL, &created);
    assert_false(created);
}

static void test_eviction_at_cap_takes_least_recently_seen(void **state)
{
    fixture *fx = *state;
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++)
        f[i] = get(fx, nth(1000 + i, i), NULL, NULL);
    get(fx, nth(1010, 0), NULL, NULL); /* flow 0 seen again: flow 1 is now the oldest */
    uint64_t victim = f[1]->flow_id;
    get(fx, nth(1011, 9), NULL, NULL);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 1);
    assert_int_equal(fx->released_id[0], victim);
    bool created;
    get(fx, nth(1012, 0), NULL, &created);
    assert_false(created);
}

static void test_evicted_record_is_reused_with_slots_zeroed(void **state)
{
    fixture *fx = *state;
    static int marker;
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++) {
        f[i] = get(fx, nth(1000 + i, i), NULL, NULL);
        f[i]->slot[LW_FLOW_SLOT_STREAM] = &marker;
        f[i]->slot[LW_FLOW_SLOT_MATCH] = &marker;
        f[i]->egress[0] = true;
        f[i]->app_proto = LW_APP_HTTP;
    }
    lw_flow *g = get(fx, nth(2000, 9), NULL, NULL);
    assert_ptr_equal(g, f[0]); /* no allocation at the cap: the victim's record */
    for (int s = 0; s < LW_FLOW_SLOT_MAX; s++)
        assert_null(g->slot[s]);
    assert_false(g->egress[0]);
    assert_int_equal(g->app_proto, LW_APP_UNKNOWN);
    assert_int_equal(g->pkts[0], 1);
    assert_int_equal(g->sport, 50009);
}

static void test_expired_record_is_reused(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, nth(1000, 1), NULL, NULL);
    lw_flow_table_expire(fx->t, 5000, 10);
    lw_flow *g = get(fx, nth(5000, 2), NULL, NULL);
    assert_ptr_equal(f, g);
}

static void test_many_flows_at_larger_cap(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table_config cfg = {.max_flows = 1000, .idle_timeout_us = 10, .closed_timeout_us = 1};
    lw_flow_table *t = lw_flow_table_new(&cfg, ctr);
    assert_non_null(t);
    for (uint32_t i = 0; i < 1000; i++) {
        lw_packet p = pkt(1, v4(10, 0, (uint8_t)(i >> 8), (uint8_t)i), (uint16_t)(1024 + i),
                          v4(203, 0, 113, 9), 443, LW_PROTO_TCP, LW_TCP_SYN, 60);
        bool created = false;
        assert_non_null(lw_flow_get(t, &p, NULL, &created));
        assert_true(created);
    }
    for (uint32_t i = 0; i < 1000; i++) {
        lw_packet p = pkt(2, v4(203, 0, 113, 9), 443, v4(10, 0, (uint8_t)(i >> 8), (uint8_t)i),
                          (uint16_t)(1024 + i), LW_PROTO_TCP, LW_TCP_ACK, 60);
        bool created = true;
        int dir = 0;
        lw_flow *f = lw_flow_get(t, &p, &dir, &created);
        assert_non_null(f);
        assert_false(created);
        assert_int_equal(dir, LW_DIR_TOCLIENT);
        assert_int_equal(f->sport, 1024 + i);
    }
    assert_int_equal(lw_flow_table_count(t), 1000);
    assert_int_equal(ctr[LW_FLOW_CTR_ACTIVE], 1000);
    assert_int_equal(ctr[LW_FLOW_CTR_EVICTED], 0);
    lw_flow_table_free(t); /* no release callback configured: allowed */
    assert_int_equal(ctr[LW_FLOW_CTR_FLUSHED], 1000);
    assert_int_equal(ctr[LW_FLOW_CTR_ACTIVE], 0);
}

/* ---- release, flush, reuse ------------------------------------------------ */

static void test_flush_releases_every_flow_once(void **state)
{
    fixture *fx = *state;
    for (uint16_t i = 0; i < 3; i++)
        get(fx, nth(1000 + i, i), NULL, NULL);
    lw_flow_mark_closed(fx->t, get(fx, nth(1003, 0), NULL, NULL));
    lw_flow_table_flush(fx->t);
    assert_int_equal(fx->released, 3);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_FLUSHED], 3);
    assert_int_equal(lw_flow_table_count(fx->t), 0);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_ACTIVE], 0);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = i + 1; j < 3; j++)
            assert_int_not_equal(fx->released_id[i], fx->released_id[j]);
    /* the table is usable after a flush */
    bool created;
    get(fx, nth(2000, 0), NULL, &created);
    assert_true(created);
}

static void test_release_once_across_all_reasons(void **state)
{
    fixture *fx = *state;
    for (uint16_t i = 0; i < 6; i++) /* 2 evictions */
        get(fx, nth(1000 + i, i), NULL, NULL);
    lw_flow_mark_closed(fx->t, get(fx, nth(1010, 5), NULL, NULL));
    lw_flow_table_expire(fx->t, 1010 + CLOSED_US, 10); /* 1 closed */
    lw_flow_table_expire(fx->t, 1003 + IDLE_US, 10);   /* flows 2, 3 idle */
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 2);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], 2);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
    assert_int_equal(fx->released, 5);
    for (size_t i = 0; i < fx->released; i++)
        for (size_t j = i + 1; j < fx->released; j++)
            assert_int_not_equal(fx->released_id[i], fx->released_id[j]);
}

static void test_syn_on_closed_flow_starts_new_flow(void **state)
{
    fixture *fx = *state;
    bool created;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_SYN), NULL, NULL);
    uint64_t old_id = f->flow_id;
    lw_flow_mark_closed(fx->t, f);
    lw_flow *g = get(fx, c2s(1003, LW_TCP_SYN), NULL, &created);
    assert_true(created);
    assert_false(g->closed);
    assert_int_equal(g->ts_start_us, 1003);
    assert_int_not_equal(g->flow_id, old_id);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_TCP_REUSED], 1);
    assert_int_equal(fx->released, 1);
    assert_int_equal(fx->released_id[0], old_id);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
}

static void test_syn_on_open_flow_or_synack_on_closed_is_same_flow(void **state)
{
    fixture *fx = *state;
    bool created;
    lw_flow *f = get(fx, c2s(1000, LW_TCP_SYN), NULL, NULL);
    get(fx, c2s(1001, LW_TCP_SYN), NULL, &created); /* retransmitted SYN */
    assert_false(created);
    lw_flow_mark_closed(fx->t, f);
    get(fx, s2c(1002, LW_TCP_SYN | LW_TCP_ACK), NULL, &created);
    assert_false(created);
    lw_packet u = pkt(1003, CLI, 40000, SRV, 80, LW_PROTO_UDP, LW_TCP_SYN, 60);
    get(fx, u, NULL, &created); /* UDP: another flow, never "reuse" */
    assert_true(created);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_TCP_REUSED], 0);
}

/* ---- flow ids ------------------------------------------------------------- */

static void test_flow_id_deterministic_across_tables(void **state)
{
    fixture *fx = *state;
    uint64_t c2[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table_config cfg = {.max_flows = 8, .idle_timeout_us = 1, .closed_timeout_us = 1};
    lw_flow_table *t2 = lw_flow_table_new(&cfg, c2);
    assert_non_null(t2);
    for (uint16_t i = 0; i < 4; i++) {
        lw_packet p = nth(1000 + i, i);
        lw_flow *a = get(fx, p, NULL, NULL);
        lw_flow *b = lw_flow_get(t2, &p, NULL, NULL);
        assert_non_null(b);
        assert_int_equal(a->flow_id, b->flow_id);
        assert_int_not_equal(a->flow_id, 0);
        assert_true(a->flow_id < (UINT64_C(1) << 51));
    }
    lw_flow_table_free(t2);
}

static void test_flow_id_depends_on_tuple_and_start(void **state)
{
    fixture *fx = *state;
    uint64_t a = get(fx, nth(1000, 1), NULL, NULL)->flow_id;
    uint64_t b = get(fx, nth(1000, 2), NULL, NULL)->flow_id;
    lw_flow_table_flush(fx->t);
    uint64_t c = get(fx, nth(1001, 1), NULL, NULL)->flow_id;
    lw_flow_table_flush(fx->t);
    uint64_t d = get(fx, nth(1000, 1), NULL, NULL)->flow_id;
    assert_int_not_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_equal(a, d);
}

/* ---- random operations ------------------------------------------------------ */

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Many packets over 32 tuples (either direction, with time jitter), random
 * closes and expiries: the table must always hand back the packet's own
 * flow and keep its accounting. */
static void test_random_operations_keep_invariants(void **state)
{
    fixture *fx = *state;
    uint32_t seed = 12345;
    uint64_t now = 1000;
    for (int i = 0; i < 20000; i++) {
        uint32_t r = xorshift(&seed);
        now += r % 7 + ((r >> 26) == 0 ? IDLE_US : 0); /* now and then a lull */
        uint64_t ts = now - (r >> 3) % 3;              /* a little out of order */
        uint16_t n = (uint16_t)((r >> 5) % 32);
        bool rev = (r >> 10) & 1;
        uint8_t flags = (uint8_t)((r >> 11) & 0x17);
        lw_addr a = v4(10, 0, 0, (uint8_t)(n % 4)), b = v6((uint8_t)(n / 4));
        b.family = 4;
        uint16_t ap = (uint16_t)(1000 + n), bp = 80;
        lw_packet p = rev ? pkt(ts, b, bp, a, ap, LW_PROTO_TCP, flags, 1)
                          : pkt(ts, a, ap, b, bp, LW_PROTO_TCP, flags, 1);
        int dir = -1;
        lw_flow *f = get(fx, p, &dir, NULL);
        bool fwd = f->sport == p.sport && memcmp(&f->src, &p.src, sizeof(p.src)) == 0 &&
                   f->dport == p.dport && memcmp(&f->dst, &p.dst, sizeof(p.dst)) == 0;
        bool bwd = f->sport == p.dport && memcmp(&f->src, &p.dst, sizeof(p.dst)) == 0 &&
                   f->dport == p.sport && memcmp(&f->dst, &p.src, sizeof(p.src)) == 0;
        assert_true(fwd || bwd);
        assert_int_equal(dir, fwd ? LW_DIR_TOSERVER : LW_DIR_TOCLIENT);
        assert_true(f->ts_last_us >= f->ts_start_us);
        if ((r >> 16) % 8 == 0)
            lw_flow_mark_closed(fx->t, f);
        if ((r >> 19) % 16 == 0)
            lw_flow_table_expire(fx->t, now, (r >> 23) % 3);
        check_invariants(fx);
    }
    assert_true(fx->ctr[LW_FLOW_CTR_EVICTED] > 0);
    assert_true(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE] + fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED] > 0);
    assert_true(fx->ctr[LW_FLOW_CTR_TCP_REUSED] > 0);
}

/* ---- memory cap and budget ------------------------------------------------ */

/* What a block of records costs beyond its records: one link pointer. */
#define BLOCK_HEADER sizeof(void *)
/* Records per block (flow.c's RECORDS_PER_BLOCK). */
#define RECORDS_PER_BLOCK_TEST 256u

static lw_flow_table *make_capped(fixture *fx, uint32_t max_flows, uint64_t memcap)
{
    lw_flow_table_config cfg = {
        .max_flows = max_flows,
        .memcap = memcap,
        .idle_timeout_us = IDLE_US,
        .closed_timeout_us = CLOSED_US,
        .release = on_release,
        .release_ctx = fx,
    };
    return lw_flow_table_new(&cfg, fx->ctr);
}

/* Swaps the fixture's table for one with a memcap (teardown frees it). */
static void use_capped(fixture *fx, uint32_t max_flows, uint64_t memcap)
{
    lw_flow_table_free(fx->t);
    memset(fx, 0, sizeof(*fx));
    fx->t = make_capped(fx, max_flows, memcap);
    assert_non_null(fx->t);
}

static void test_records_come_in_blocks_counted_in_memuse(void **state)
{
    fixture *fx = *state;
    assert_int_equal(lw_flow_table_memuse(fx->t), 0); /* lazily: nothing yet */
    get(fx, nth(1000, 0), NULL, NULL);
    /* one block of MAX_FLOWS records, never more than the cap */
    assert_int_equal(lw_flow_table_memuse(fx->t), BLOCK_HEADER + MAX_FLOWS * sizeof(lw_flow));
    for (uint16_t i = 1; i < 3 * MAX_FLOWS; i++)
        get(fx, nth(1000 + i, i), NULL, NULL);
    assert_int_equal(lw_flow_table_memuse(fx->t), BLOCK_HEADER + MAX_FLOWS * sizeof(lw_flow));
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMUSE], lw_flow_table_memuse(fx->t));
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMCAP_EVICTED], 0); /* no memcap: only the cap */
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 2 * MAX_FLOWS);
}

static void test_memcap_limits_records_and_evicts_lru(void **state)
{
    fixture *fx = *state;
    /* room for the block header and three records, not four */
    use_capped(fx, MAX_FLOWS, BLOCK_HEADER + 3 * sizeof(lw_flow) + sizeof(lw_flow) - 1);
    lw_flow *f[3];
    for (uint16_t i = 0; i < 3; i++)
        f[i] = get(fx, nth(1000 + i, i), NULL, NULL);
    get(fx, nth(1003, 1), NULL, NULL); /* f[1] seen: f[0] is now least recently seen */
    assert_int_equal(lw_flow_table_memuse(fx->t), BLOCK_HEADER + 3 * sizeof(lw_flow));
    lw_flow *g = get(fx, nth(1004, 7), NULL, NULL);
    assert_ptr_equal(g, f[0]); /* the victim's record, no new memory */
    assert_ptr_equal(fx->released_rec[0], f[0]);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMCAP_EVICTED], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 0); /* max_flows was not the limit */
    assert_int_equal(lw_flow_table_count(fx->t), 3);
    assert_true(lw_flow_table_memuse(fx->t) <= BLOCK_HEADER + 4 * sizeof(lw_flow) - 1);
}

static void test_memcap_eviction_prefers_closed(void **state)
{
    fixture *fx = *state;
    use_capped(fx, MAX_FLOWS, BLOCK_HEADER + 2 * sizeof(lw_flow));
    lw_flow *a = get(fx, nth(1000, 0), NULL, NULL);
    lw_flow *b = get(fx, nth(1001, 1), NULL, NULL);
    lw_flow_mark_closed(fx->t, b); /* seen later than a, but closed */
    lw_flow *g = get(fx, nth(1002, 2), NULL, NULL);
    assert_ptr_equal(g, b);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMCAP_EVICTED], 1);
    assert_int_equal(lw_flow_table_count(fx->t), 2);
    assert_int_equal(a->sport, 50000); /* a is still there */
}

static void test_account_counts_slot_bytes(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, nth(1000, 0), NULL, NULL);
    uint64_t base = lw_flow_table_memuse(fx->t);
    lw_flow_account(fx->t, f, 100);
    lw_flow_account(fx->t, f, 28);
    assert_int_equal(f->mem, 128);
    assert_int_equal(lw_flow_table_memuse(fx->t), base + 128);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMUSE], base + 128);
    lw_flow_account(fx->t, f, -28);
    assert_int_equal(lw_flow_table_memuse(fx->t), base + 100);
    /* more given back than declared: saturates at 0, the total stays right */
    lw_flow_account(fx->t, f, INT64_MIN);
    assert_int_equal(f->mem, 0);
    assert_int_equal(lw_flow_table_memuse(fx->t), base);
    lw_flow_account(fx->t, f, INT64_MAX);
    assert_int_equal(f->mem, UINT32_MAX);
    assert_int_equal(lw_flow_table_memuse(fx->t), base + UINT32_MAX);
    lw_flow_account(fx->t, f, -(int64_t)UINT32_MAX);
    assert_int_equal(lw_flow_table_memuse(fx->t), base);
}

static void test_leaving_flow_gives_back_its_slot_bytes(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, nth(1000, 0), NULL, NULL);
    lw_flow *g = get(fx, nth(1000, 1), NULL, NULL);
    uint64_t base = lw_flow_table_memuse(fx->t);
    lw_flow_account(fx->t, f, 500);
    lw_flow_account(fx->t, g, 700);
    lw_flow_mark_closed(fx->t, f);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000 + CLOSED_US, 10), 1);
    assert_int_equal(lw_flow_table_memuse(fx->t), base + 700);
    lw_flow_table_flush(fx->t);
    assert_int_equal(lw_flow_table_memuse(fx->t), base); /* the records stay for reuse */
    lw_flow *h = get(fx, nth(2000, 2), NULL, NULL);
    assert_int_equal(h->mem, 0);
}

static void test_expire_evicts_while_over_memcap(void **state)
{
    fixture *fx = *state;
    uint64_t cap = BLOCK_HEADER + MAX_FLOWS * sizeof(lw_flow) + 1000;
    use_capped(fx, MAX_FLOWS, cap);
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++) {
        f[i] = get(fx, nth(1000 + i, i), NULL, NULL);
        lw_flow_account(fx->t, f[i], 400);
    }
    /* 1600 slot bytes against 1000 of room: over, but account never evicts */
    assert_int_equal(lw_flow_table_count(fx->t), MAX_FLOWS);
    assert_true(lw_flow_table_memuse(fx->t) > cap);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMCAP_EVICTED], 0);
    /* within the budget, the least recently seen go until it fits */
    assert_int_equal(lw_flow_table_expire(fx->t, 1000, 1), 1);
    assert_true(lw_flow_table_memuse(fx->t) > cap);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000, 10), 1);
    assert_true(lw_flow_table_memuse(fx->t) <= cap);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMCAP_EVICTED], 2);
    assert_int_equal(fx->released_rec[0], f[0]);
    assert_int_equal(fx->released_rec[1], f[1]);
    /* under the cap: nothing more goes (the time-outs have not passed) */
    assert_int_equal(lw_flow_table_expire(fx->t, 1000, 10), 0);
}

static void test_no_memcap_never_evicts_for_memory(void **state)
{
    fixture *fx = *state;
    lw_flow *f = get(fx, nth(1000, 0), NULL, NULL);
    lw_flow_account(fx->t, f, 1 << 30);
    assert_int_equal(lw_flow_table_expire(fx->t, 1000, 10), 0);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_MEMCAP_EVICTED], 0);
}

static void test_memcap_below_one_record_fails_counted(void **state)
{
    fixture *fx = *state;
    use_capped(fx, MAX_FLOWS, sizeof(lw_flow)); /* no room for the header too */
    lw_packet p = nth(1000, 0);
    assert_null(lw_flow_get(fx->t, &p, NULL, NULL));
    assert_int_equal(fx->ctr[LW_FLOW_CTR_ALLOC_FAILED], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_CREATED], 0);
}

/*
 * The per-flow budget of the performance goal: 1 KiB for what one flow
 * that carries egress HTTP bytes costs in the flow table and the engine's
 * slots, each slot as glibc hands it out (8-byte header, 16-byte rounding,
 * 32 bytes at least), plus the worst bucket share of a full table (the
 * array stops at the power of two >= max_flows: up to two pointers per
 * flow; below the cap, past its first 1,024 buckets, it holds over one
 * flow per four buckets, and while doubling the old array adds half as
 * much again). The Hyperscan
 * stream state and what the HTTP decoder and the match stream allocate for
 * themselves are outside it (docs/performance.md gives their sizes).
 */
static size_t glibc_chunk(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static void test_per_flow_state_within_budget(void **state)
{
    (void)state;
    size_t record = sizeof(lw_flow); /* in blocks: no allocator overhead */
    size_t buckets = 2 * sizeof(lw_flow *);
    size_t slots = glibc_chunk(sizeof(flow_stream)) + glibc_chunk(sizeof(flow_app)) +
                   glibc_chunk(sizeof(flow_match));
    print_message("per flow: lw_flow %zu + buckets <= %zu + flow_stream %zu (%zu) + flow_app %zu "
                  "(%zu) + flow_match %zu (%zu) = %zu bytes\n",
                  record, buckets, sizeof(flow_stream), glibc_chunk(sizeof(flow_stream)),
                  sizeof(flow_app), glibc_chunk(sizeof(flow_app)), sizeof(flow_match),
                  glibc_chunk(sizeof(flow_match)), record + buckets + slots);
    assert_true(sizeof(lw_flow) <= 160);
    /* flow_app is sized by its HTTP member since SMTP's recipients moved
     * out of its union (with the 24 bytes an idle HTTP decoder leaves
     * behind when it is released); the whole must stay well inside the
     * 1 KiB budget */
    assert_true(sizeof(flow_app) <= 416);
    assert_true(record + buckets + slots <= 768);
}

/* A million SYNs from distinct tuples: 10.x.y.z:port -> 203.0.113.9:443. */
static lw_packet syn_n(uint32_t i, uint64_t ts)
{
    return pkt(ts, v4(10, (uint8_t)(i >> 14), (uint8_t)(i >> 6), (uint8_t)(i & 63)),
               (uint16_t)(1024 + (i & 0x3fff)), v4(203, 0, 113, 9), 443, LW_PROTO_TCP, LW_TCP_SYN,
               60);
}

#define MILLION 1000000u
/* What the engine declares for a flow that saw a SYN: its reassembler. */
#define SYN_SLOT_BYTES (sizeof(flow_stream) + 16)

static void test_million_flows_fit_under_1gib(void **state)
{
    (void)state;
    uint64_t *ctr = calloc(LW_FLOW_CTR_MAX, sizeof(*ctr));
    assert_non_null(ctr);
    lw_flow_table_config cfg = {.max_flows = 2 * MILLION,
                                .memcap = 1ull << 30,
                                .idle_timeout_us = 120000000,
                                .closed_timeout_us = 10000000};
    lw_flow_table *t = lw_flow_table_new(&cfg, ctr);
    assert_non_null(t);
    for (uint32_t i = 0; i < MILLION; i++) {
        lw_packet p = syn_n(i, 1000 + i);
        lw_flow_table_expire(t, p.ts_us, 64);
        bool created = false;
        lw_flow *f = lw_flow_get(t, &p, NULL, &created);
        assert_non_null(f);
        if (!created)
            fail_msg("tuple %u collided", i);
        lw_flow_account(t, f, (int64_t)SYN_SLOT_BYTES);
    }
    assert_int_equal(lw_flow_table_count(t), MILLION);
    assert_int_equal(ctr[LW_FLOW_CTR_MEMCAP_EVICTED] + ctr[LW_FLOW_CTR_EVICTED], 0);
    uint64_t use = lw_flow_table_memuse(t);
    /* the array followed the flows to the cap's 2^21 buckets (load < 1/2),
     * the last doubling done */
    size_t old = 1;
    assert_int_equal(lw_flow_table_buckets(t, &old), 1u << 21);
    assert_int_equal(old, 0);
    uint64_t bucket_bytes = (1u << 21) * sizeof(lw_flow *);
    print_message("1M flows: flow.memuse %llu bytes (%.1f per flow), buckets %llu (%.1f per "
                  "flow)\n",
                  (unsigned long long)use, (double)use / MILLION, (unsigned long long)bucket_bytes,
                  (double)bucket_bytes / MILLION);
    assert_true(use <= cfg.memcap);
    /* whole blocks of records (the last one partly free) and the slots */
    uint64_t blocks = (MILLION + RECORDS_PER_BLOCK_TEST - 1) / RECORDS_PER_BLOCK_TEST;
    assert_int_equal(use, blocks * (BLOCK_HEADER + RECORDS_PER_BLOCK_TEST * sizeof(lw_flow)) +
                              (uint64_t)MILLION * SYN_SLOT_BYTES);
    lw_flow_table_free(t);
    assert_int_equal(ctr[LW_FLOW_CTR_FLUSHED], MILLION);
    free(ctr);
}

static void test_million_flows_under_64mib_memcap_evict(void **state)
{
    (void)state;
    uint64_t *ctr = calloc(LW_FLOW_CTR_MAX, sizeof(*ctr));
    assert_non_null(ctr);
    const uint64_t cap = 64ull << 20;
    lw_flow_table_config cfg = {.max_flows = 2 * MILLION,
                                .memcap = cap,
                                .idle_timeout_us = 120000000,
                                .closed_timeout_us = 10000000};
    lw_flow_table *t = lw_flow_table_new(&cfg, ctr);
    assert_non_null(t);
    uint64_t peak = 0;
    for (uint32_t i = 0; i < MILLION; i++) {
        lw_packet p = syn_n(i, 1000 + i);
        lw_flow_table_expire(t, p.ts_us, 64);
        if (lw_flow_table_memuse(t) > cap)
            fail_msg("over the memcap after expiry: %llu",
                     (unsigned long long)lw_flow_table_memuse(t));
        lw_flow *f = lw_flow_get(t, &p, NULL, NULL);
        assert_non_null(f);
        lw_flow_account(t, f, (int64_t)SYN_SLOT_BYTES);
        if (lw_flow_table_memuse(t) > peak)
            peak = lw_flow_table_memuse(t);
    }
    /* between two expiries only one flow's slot can push it over */
    assert_true(peak <= cap + SYN_SLOT_BYTES);
    assert_true(ctr[LW_FLOW_CTR_MEMCAP_EVICTED] > 0);
    assert_int_equal(ctr[LW_FLOW_CTR_EVICTED], 0);
    size_t held = lw_flow_table_count(t);
    assert_true(held < MILLION);
    /* it holds as many as fit: at most a block of records and a flow are lost */
    assert_true(held * (sizeof(lw_flow) + SYN_SLOT_BYTES) >
                cap - RECORDS_PER_BLOCK_TEST * sizeof(lw_flow) - 4096);
    assert_int_equal(ctr[LW_FLOW_CTR_CREATED], held + ctr[LW_FLOW_CTR_MEMCAP_EVICTED]);
    print_message("64 MiB memcap: %zu flows held, %llu evicted, peak %llu bytes\n", held,
                  (unsigned long long)ctr[LW_FLOW_CTR_MEMCAP_EVICTED], (unsigned long long)peak);
    lw_flow_table_free(t);
    free(ctr);
}

/* ---- configuration and names ---------------------------------------------- */

/* ---- relink interval ------------------------------------------------------ */

/* Swaps the fixture's table for one whose open flows move at most once per
 * INTERVAL_US (teardown frees it). */
static void use_interval(fixture *fx, uint32_t max_flows)
{
    lw_flow_table_free(fx->t);
    memset(fx, 0, sizeof(*fx));
    lw_flow_table_config cfg = {
        .max_flows = max_flows,
        .idle_timeout_us = LONG_IDLE_US,
        .closed_timeout_us = CLOSED_US,
        .release = on_release,
        .release_ctx = fx,
    };
    fx->t = lw_flow_table_new(&cfg, fx->ctr);
    assert_non_null(fx->t);
}

static void test_flow_seen_within_interval_not_expired_early(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *a = get(fx, nth(0, 0), NULL, NULL);
    lw_flow *b = get(fx, nth(10, 1), NULL, NULL);
    get(fx, nth(500, 0), NULL, NULL); /* same interval: a keeps its place ahead of b */
    assert_int_equal(a->ts_last_us, 500);
    /* b is due but waits behind a, which is not: a must not go early */
    assert_int_equal(lw_flow_table_expire(fx->t, 10 + LONG_IDLE_US, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 500 + LONG_IDLE_US - 1, 10), 0);
    assert_int_equal(fx->released, 0);
    /* at a's edge both go, a first; b is late by less than one interval */
    assert_int_equal(lw_flow_table_expire(fx->t, 500 + LONG_IDLE_US, 10), 2);
    assert_true(500 + LONG_IDLE_US < 10 + LONG_IDLE_US + INTERVAL_US);
    assert_ptr_equal(fx->released_rec[0], a);
    assert_ptr_equal(fx->released_rec[1], b);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], 2);
}

static void test_flow_seen_in_later_interval_moves_behind(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *a = get(fx, nth(0, 0), NULL, NULL);
    lw_flow *b = get(fx, nth(10, 1), NULL, NULL);
    get(fx, nth(INTERVAL_US + 5, 0), NULL, NULL); /* next interval: a moves to the tail */
    /* so b expires exactly at its edge */
    assert_int_equal(lw_flow_table_expire(fx->t, 10 + LONG_IDLE_US - 1, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, 10 + LONG_IDLE_US, 10), 1);
    assert_ptr_equal(fx->released_rec[0], b);
    assert_int_equal(lw_flow_table_expire(fx->t, INTERVAL_US + 5 + LONG_IDLE_US - 1, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, INTERVAL_US + 5 + LONG_IDLE_US, 10), 1);
    assert_ptr_equal(fx->released_rec[1], a);
}

static void test_older_packet_moves_no_open_flow(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *a = get(fx, nth(5000, 0), NULL, NULL);
    get(fx, nth(5001, 1), NULL, NULL);
    get(fx, nth(10, 0), NULL, NULL); /* far older: ts_last_us stays, a stays first */
    assert_int_equal(a->ts_last_us, 5000);
    assert_int_equal(lw_flow_table_expire(fx->t, 5000 + LONG_IDLE_US, 10), 1);
    assert_ptr_equal(fx->released_rec[0], a);
    assert_int_equal(lw_flow_table_count(fx->t), 1);
}

static void test_closed_flow_moves_on_every_packet(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *a = get(fx, nth(0, 0), NULL, NULL);
    lw_flow *b = get(fx, nth(1, 1), NULL, NULL);
    lw_flow_mark_closed(fx->t, a);
    lw_flow_mark_closed(fx->t, b);
    get(fx, nth(2, 0), NULL, NULL); /* same interval, yet a moves behind b */
    assert_int_equal(lw_flow_table_expire(fx->t, 1 + CLOSED_US, 10), 1);
    assert_ptr_equal(fx->released_rec[0], b);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED], 1);
}

static void test_eviction_within_interval_of_least_recent(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++)
        f[i] = get(fx, nth(i, i), NULL, NULL);
    get(fx, nth(10, 0), NULL, NULL); /* same interval: flow 0 stays at the head */
    uint64_t id0 = f[0]->flow_id, ts0 = f[0]->ts_last_us;
    get(fx, nth(11, 9), NULL, NULL);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 1);
    /* the head goes: not the least recent (flow 1, at 1) but within one
     * interval of it */
    assert_int_equal(fx->released_id[0], id0);
    assert_true(ts0 - 1 < INTERVAL_US);
}

static void test_eviction_after_later_interval_takes_least_recent(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++)
        f[i] = get(fx, nth(i, i), NULL, NULL);
    get(fx, nth(INTERVAL_US, 0), NULL, NULL); /* next interval: flow 0 moves to the tail */
    uint64_t id1 = f[1]->flow_id;
    bool created;
    get(fx, nth(INTERVAL_US + 1, 9), NULL, &created);
    assert_true(created);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 1);
    assert_int_equal(fx->released_id[0], id1);
    get(fx, nth(INTERVAL_US + 2, 0), NULL, &created);
    assert_false(created);
}

static void test_flush_order_exact_despite_interval(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *f[MAX_FLOWS];
    for (uint16_t i = 0; i < MAX_FLOWS; i++)
        f[i] = get(fx, nth(i, i), NULL, NULL);
    /* all in one interval, so the list keeps creation order 0 1 2 3 */
    get(fx, nth(5, 2), NULL, NULL);
    get(fx, nth(6, 0), NULL, NULL);
    get(fx, nth(6, 3), NULL, NULL); /* a tie on ts: arrival order decides */
    lw_flow_table_flush(fx->t);
    assert_int_equal(fx->released, 4);
    assert_ptr_equal(fx->released_rec[0], f[1]);
    assert_ptr_equal(fx->released_rec[1], f[2]);
    assert_ptr_equal(fx->released_rec[2], f[0]);
    assert_ptr_equal(fx->released_rec[3], f[3]);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_FLUSHED], 4);
}

static void test_flush_releases_closed_before_open(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    lw_flow *a = get(fx, nth(0, 0), NULL, NULL);
    lw_flow *b = get(fx, nth(1, 1), NULL, NULL);
    lw_flow_mark_closed(fx->t, b);
    lw_flow_table_flush(fx->t);
    assert_ptr_equal(fx->released_rec[0], b);
    assert_ptr_equal(fx->released_rec[1], a);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_FLUSHED], 2);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_CLOSED], 0);
}

/* Flushes a table holding `n` flows and checks it is empty and usable:
 * the same tuples make new flows, found again on their next packet. */
static void flush_and_reuse(fixture *fx, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++)
        get(fx, nth(100 + i, i), NULL, NULL);
    if (n > 1)
        lw_flow_mark_closed(fx->t, get(fx, nth(200, 1), NULL, NULL));
    lw_flow_table_flush(fx->t);
    assert_int_equal(fx->released, n);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_FLUSHED], n);
    assert_int_equal(lw_flow_table_count(fx->t), 0);
    bool created;
    for (uint16_t i = 0; i < n; i++) {
        get(fx, nth(300 + i, i), NULL, &created);
        assert_true(created);
        get(fx, nth(400 + i, i), NULL, &created);
        assert_false(created);
    }
    assert_int_equal(lw_flow_table_count(fx->t), n);
    lw_flow_table_flush(fx->t);
    lw_flow_table_flush(fx->t); /* empty: nothing to do */
    assert_int_equal(fx->ctr[LW_FLOW_CTR_FLUSHED], 2u * n);
}

static void test_flush_few_flows_unlinks_each(void **state)
{
    fixture *fx = *state;
    use_interval(fx, 1024); /* 2 flows in 1024 buckets: unlinked one by one */
    flush_and_reuse(fx, 2);
}

static void test_flush_full_table_clears_buckets(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS); /* a flow per bucket: the array is cleared */
    flush_and_reuse(fx, MAX_FLOWS);
}

static void test_packets_in_and_across_intervals_count_nothing(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MAX_FLOWS);
    uint64_t ts;
    for (ts = 0; ts < 10 * INTERVAL_US; ts += 100)
        get(fx, nth(ts, 0), NULL, NULL);
    ts -= 100; /* the last packet's */
    assert_int_equal(fx->ctr[LW_FLOW_CTR_CREATED], 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_ACTIVE], 1);
    assert_int_equal(left_table(fx->ctr), 0);
    assert_int_equal(fx->released, 0);
    assert_int_equal(lw_flow_table_expire(fx->t, ts + LONG_IDLE_US - 1, 10), 0);
    assert_int_equal(lw_flow_table_expire(fx->t, ts + LONG_IDLE_US, 10), 1);
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], 1);
}

#define MODEL_FLOWS 48

/* Random packets on MODEL_FLOWS open flows (eight busy, the rest now and
 * then, often twice in a row with another in between, which puts a flow
 * that goes idle behind one seen later in its interval) against a model of when each was last seen:
 * expiry is never early (checked in on_release) and at most one interval late, and flush releases
 * in the exact order of last packets. */
static void test_interval_random_against_model(void **state)
{
    fixture *fx = *state;
    use_interval(fx, MODEL_FLOWS);
    uint64_t touch[MODEL_FLOWS] = {0}, last_ts[MODEL_FLOWS] = {0};
    bool live[MODEL_FLOWS] = {false};
    fx->model = true;
    fx->model_live = live;
    fx->model_touch = touch;
    fx->model_last_ts = last_ts;
    uint32_t seed = 4242;
    uint64_t now = 1, lookups = 0, late = 0, expired = 0;
    uint16_t rare[2] = {8, 9}; /* the last two quiet flows picked */
    for (int i = 0; i < 60000; i++) {
        uint32_t r = xorshift(&seed);
        now += (r >> 21) == 0 ? LONG_IDLE_US * 3 / 4 : r % 60; /* now and then a lull */
        uint16_t n = (uint16_t)((r >> 8) % ((r >> 20) % 8 ? 8 : MODEL_FLOWS));
        if (n >= 8) {
            if ((r >> 30) & 1)
                n = rare[0]; /* the one before last, again */
            rare[0] = rare[1];
            rare[1] = n;
        }
        bool created;
        get(fx, nth(now, n), NULL, &created);
        assert_true(created == !live[n]);
        live[n] = true;
        touch[n] = ++lookups;
        last_ts[n] = now;
        if ((r >> 24) % 4 == 0) {
            fx->model_now = now;
            expired += lw_flow_table_expire(fx->t, now, SIZE_MAX);
            fx->model_now = 0;
            size_t in_table = 0;
            for (uint16_t k = 0; k < MODEL_FLOWS; k++) {
                if (!live[k])
                    continue;
                in_table++;
                assert_true(now - last_ts[k] < LONG_IDLE_US + INTERVAL_US);
                if (now - last_ts[k] >= LONG_IDLE_US)
                    late++;
            }
            assert_int_equal(in_table, lw_flow_table_count(fx->t));
        }
    }
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EXPIRED_IDLE], expired);
    assert_true(expired > 100);
    assert_true(late > 0); /* the tolerance was exercised, and stayed in bounds */
    assert_int_equal(fx->ctr[LW_FLOW_CTR_EVICTED], 0);
    lw_flow_table_flush(fx->t);
    for (uint16_t k = 0; k < MODEL_FLOWS; k++)
        assert_false(live[k]);
    check_invariants_n(fx, MODEL_FLOWS);
    fx->model = false;
}

/* ---- bucket array growth -------------------------------------------------- */

#define FIRST_BUCKETS 1024u /* flow.c's INITIAL_BUCKETS */
#define STEP_BUCKETS  8u    /* flow.c's MIGRATE_BUCKETS */
/* The index of the flow whose creation passes a load of 1/2 */
#define GROW_AT (FIRST_BUCKETS / 2)

/* The i-th (i < 2^24) of many distinct tuples 10.x.y.z:40000 ->
 * 203.0.113.9:443; `back` gives the server's packet. */
static lw_packet grow_pkt(uint32_t i, uint64_t ts, bool back)
{
    lw_addr c = v4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
    lw_addr s = v4(203, 0, 113, 9);
    return back ? pkt(ts, s, 443, c, 40000, LW_PROTO_TCP, LW_TCP_ACK, 60)
                : pkt(ts, c, 40000, s, 443, LW_PROTO_TCP, LW_TCP_ACK, 60);
}

static uint32_t grow_index(const lw_flow *f)
{
    return (uint32_t)f->src.b[1] << 16 | (uint32_t)f->src.b[2] << 8 | f->src.b[3];
}

/* Release order, as tuple indices. */
typedef struct grow_log {
    uint32_t order[4096];
    size_t n;
} grow_log;

static void on_grow_release(lw_flow *f, void *ctx)
{
    grow_log *g = ctx;
    if (g->n < sizeof(g->order) / sizeof(g->order[0]))
        g->order[g->n] = grow_index(f);
    g->n++;
}

static lw_flow_table *grow_table(uint64_t *ctr, uint32_t max_flows, grow_log *log)
{
    lw_flow_table_config cfg = {.max_flows = max_flows,
                                .idle_timeout_us = 1000000,
                                .closed_timeout_us = 1000,
                                .release = log ? on_grow_release : NULL,
                                .release_ctx = log};
    lw_flow_table *t = lw_flow_table_new(&cfg, ctr);
    assert_non_null(t);
    return t;
}

/* Creates flow i at ts (it must be new) and returns its record. */
static lw_flow *grow_new(lw_flow_table *t, uint32_t i, uint64_t ts)
{
    lw_packet p = grow_pkt(i, ts, false);
    bool created = false;
    lw_flow *f = lw_flow_get(t, &p, NULL, &created);
    assert_non_null(f);
    if (!created)
        fail_msg("flow %u already there", i);
    return f;
}

/* Flows [from, to) are found, not created, from both directions, as the
 * records in rec. Packet time 0 moves no flow in the lists. */
static void check_findable(lw_flow_table *t, uint32_t from, uint32_t to, lw_flow *const *rec)
{
    for (uint32_t i = from; i < to; i++) {
        for (int back = 0; back < 2; back++) {
            lw_packet p = grow_pkt(i, 0, back);
            bool created = true;
            int dir = -1;
            lw_flow *f = lw_flow_get(t, &p, &dir, &created);
            if (f != rec[i] || created || dir != (back ? LW_DIR_TOCLIENT : LW_DIR_TOSERVER))
                fail_msg("flow %u lost from direction %d", i, back);
        }
    }
}

static size_t old_buckets(const lw_flow_table *t)
{
    size_t old = 1;
    lw_flow_table_buckets(t, &old);
    return old;
}

static void test_buckets_start_small_and_double_incrementally(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table *t = grow_table(ctr, 100000, NULL);
    lw_flow *rec[1300];
    assert_int_equal(lw_flow_table_buckets(t, NULL), FIRST_BUCKETS);
    for (uint32_t i = 0; i < GROW_AT; i++)
        rec[i] = grow_new(t, i, 10);
    /* a load of exactly 1/2 has not passed 1/2 */
    assert_int_equal(lw_flow_table_buckets(t, NULL), FIRST_BUCKETS);
    assert_int_equal(old_buckets(t), 0);
    rec[GROW_AT] = grow_new(t, GROW_AT, 10);
    assert_int_equal(lw_flow_table_buckets(t, NULL), 2 * FIRST_BUCKETS);
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    /* mid-migration: both arrays in use; lookups neither move nor allocate */
    lw_alloc_counts a, b;
    lw_alloc_count_get(&a);
    check_findable(t, 0, GROW_AT + 1, rec);
    lw_alloc_count_get(&b);
    assert_true(lw_alloc_count_hooked());
    assert_int_equal(lw_alloc_count_allocs(&b), lw_alloc_count_allocs(&a));
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    /* STEP_BUCKETS old buckets per new flow: the last moves at flow `done` */
    uint32_t done = GROW_AT + FIRST_BUCKETS / STEP_BUCKETS - 1;
    for (uint32_t i = GROW_AT + 1; i < done; i++)
        rec[i] = grow_new(t, i, 20);
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    check_findable(t, 0, done, rec);
    rec[done] = grow_new(t, done, 20);
    assert_int_equal(old_buckets(t), 0);
    assert_int_equal(lw_flow_table_buckets(t, NULL), 2 * FIRST_BUCKETS);
    check_findable(t, 0, done + 1, rec);
    assert_int_equal(ctr[LW_FLOW_CTR_CREATED], done + 1);
    lw_flow_table_free(t);
}

static void test_growth_keeps_every_flow_findable(void **state)
{
    (void)state;
    enum { N = 20000 };
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table *t = grow_table(ctr, 1u << 20, NULL);
    lw_flow **rec = calloc(N, sizeof(*rec));
    assert_non_null(rec);
    unsigned growths = 0;
    for (uint32_t i = 0; i < N; i++) {
        bool was = old_buckets(t) != 0;
        rec[i] = grow_new(t, i, 10 + i);
        if (!was && old_buckets(t) != 0) { /* a doubling began: look all up */
            growths++;
            check_findable(t, 0, i + 1, rec);
        }
    }
    assert_int_equal(growths, 6); /* 1,024 -> 65,536 */
    assert_int_equal(lw_flow_table_buckets(t, NULL), 65536);
    check_findable(t, 0, N, rec);
    /* release every third flow (closed, then expired) */
    for (uint32_t i = 0; i < N; i += 3)
        lw_flow_mark_closed(t, rec[i]);
    assert_int_equal(lw_flow_table_expire(t, N + 5000, N), (N + 2) / 3);
    assert_int_equal(ctr[LW_FLOW_CTR_EXPIRED_CLOSED], (N + 2) / 3);
    for (uint32_t i = 0; i < N; i++) {
        if (i % 3 != 0) {
            check_findable(t, i, i + 1, rec);
        } else {
            lw_packet p = grow_pkt(i, N + 6000, true);
            bool created = false;
            assert_non_null(lw_flow_get(t, &p, NULL, &created));
            assert_true(created); /* gone: a new flow */
        }
    }
    assert_int_equal(lw_flow_table_count(t), N);
    lw_flow_table_flush(t);
    assert_int_equal(lw_flow_table_count(t), 0);
    assert_int_equal(ctr[LW_FLOW_CTR_CREATED],
                     ctr[LW_FLOW_CTR_EXPIRED_CLOSED] + ctr[LW_FLOW_CTR_FLUSHED]);
    rec[0] = grow_new(t, 0, N + 7000); /* usable after the flush */
    check_findable(t, 0, 1, rec);
    lw_flow_table_free(t);
    free(rec);
}

/* Checks that the log holds flows 0..n-1 released in that order. */
static void check_log_in_order(const grow_log *log, uint32_t n)
{
    assert_int_equal(log->n, n);
    for (uint32_t k = 0; k < n; k++)
        if (log->order[k] != k)
            fail_msg("release %u was flow %u", k, log->order[k]);
}

/* Eviction at the cap, idle expiry and a bulk flush after a growth
 * release the same flows in the same order as without one: by last
 * packet. (A doubling ends before the table can reach max_flows, so
 * eviction at the cap never meets one.) */
static void test_evict_expire_flush_order_across_growth(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    grow_log *log = calloc(1, sizeof(*log));
    assert_non_null(log);
    lw_flow_table *t = grow_table(ctr, 1100, log); /* cap 2,048 buckets */
    lw_flow *rec[1200];
    for (uint32_t i = 0; i < 1200; i++) /* evicts flows 0..99 */
        rec[i] = grow_new(t, i, 10 + i);
    assert_int_equal(lw_flow_table_buckets(t, NULL), 2048);
    assert_int_equal(ctr[LW_FLOW_CTR_EVICTED], 100);
    check_findable(t, 100, 1200, rec);
    /* idle time-out 1 s: flows last seen at 10 + i <= 309 expire */
    assert_int_equal(lw_flow_table_expire(t, 1000000 + 309, 1000), 200);
    assert_int_equal(ctr[LW_FLOW_CTR_EXPIRED_IDLE], 200);
    check_findable(t, 300, 1200, rec);
    lw_flow_table_flush(t); /* 900 flows in 2,048 buckets: the bulk path */
    check_log_in_order(log, 1200);
    lw_flow_table_free(t);
    free(log);
}

/* Expiry and flush while a doubling is under way: removals from either
 * array, the per-flow flush (few flows) leaving the move to go on, the
 * bulk flush (many) dropping the old array. */
static void test_expire_and_flush_during_migration(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    grow_log *log = calloc(1, sizeof(*log));
    assert_non_null(log);
    lw_flow_table *t = grow_table(ctr, 4096, log);
    lw_flow *rec[1000];
    for (uint32_t i = 0; i < 600; i++)
        rec[i] = grow_new(t, i, 10 + i);
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    assert_int_equal(lw_flow_table_expire(t, 1000000 + 509, 2000), 500);
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    check_findable(t, 500, 600, rec);
    lw_flow_table_flush(t); /* 100 flows in 2,048 buckets: one by one */
    assert_int_equal(lw_flow_table_count(t), 0);
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    check_log_in_order(log, 600);
    for (uint32_t i = 0; i < 1000; i++) /* the move goes on and ends */
        rec[i] = grow_new(t, i, 3000000 + i);
    assert_int_equal(old_buckets(t), 0);
    check_findable(t, 0, 1000, rec);
    lw_flow_table_free(t);

    memset(log, 0, sizeof(*log));
    t = grow_table(ctr, 4096, log);
    for (uint32_t i = 0; i < 600; i++)
        rec[i] = grow_new(t, i, 10 + i);
    assert_int_equal(old_buckets(t), FIRST_BUCKETS);
    lw_flow_table_flush(t); /* 600 flows: the bulk path */
    assert_int_equal(old_buckets(t), 0);
    check_log_in_order(log, 600);
    for (uint32_t i = 0; i < 1000; i++)
        rec[i] = grow_new(t, i, 3000000 + i);
    check_findable(t, 0, 1000, rec);
    lw_flow_table_free(t);
    free(log);
}

/* A refused doubling keeps the table working on its array, counts
 * nothing, and is tried again 1/16 of its buckets new flows later. */
static void test_refused_growth_leaves_working_table(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table *t = grow_table(ctr, 100000, NULL);
    lw_flow *rec[1500];
    refused = 0;
    fail_bytes = 2 * FIRST_BUCKETS * sizeof(lw_flow *);
    for (uint32_t i = 0; i <= GROW_AT; i++)
        rec[i] = grow_new(t, i, 10);
    assert_int_equal(refused, 1);
    assert_int_equal(lw_flow_table_buckets(t, NULL), FIRST_BUCKETS);
    assert_int_equal(old_buckets(t), 0);
    uint32_t retry = GROW_AT + 1 + FIRST_BUCKETS / 16; /* the next attempt */
    for (uint32_t i = GROW_AT + 1; i < retry; i++)
        rec[i] = grow_new(t, i, 10);
    assert_int_equal(refused, 1);
    rec[retry] = grow_new(t, retry, 10);
    assert_int_equal(refused, 2);
    check_findable(t, 0, retry + 1, rec); /* load above 1, all there */
    assert_int_equal(ctr[LW_FLOW_CTR_ALLOC_FAILED], 0);
    fail_bytes = 0;
    uint32_t next = retry + 1 + FIRST_BUCKETS / 16;
    for (uint32_t i = retry + 1; i < next; i++)
        rec[i] = grow_new(t, i, 10);
    assert_int_equal(lw_flow_table_buckets(t, NULL), FIRST_BUCKETS);
    rec[next] = grow_new(t, next, 10);
    assert_int_equal(lw_flow_table_buckets(t, NULL), 2 * FIRST_BUCKETS);
    for (uint32_t i = next + 1; i < 1500; i++)
        rec[i] = grow_new(t, i, 10);
    check_findable(t, 0, 1500, rec);
    assert_int_equal(refused, 2);
    assert_int_equal(ctr[LW_FLOW_CTR_CREATED], 1500);
    lw_flow_table_free(t);
}

static void test_bucket_array_capped_by_max_flows(void **state)
{
    (void)state;
    uint64_t ctr[LW_FLOW_CTR_MAX] = {0};
    lw_flow_table *t = grow_table(ctr, 4, NULL); /* a small cap starts at its size */
    assert_int_equal(lw_flow_table_buckets(t, NULL), 4);
    for (uint32_t i = 0; i < 10; i++)
        grow_new(t, i, 10 + i);
    assert_int_equal(lw_flow_table_buckets(t, NULL), 4);
    lw_flow_table_free(t);
    t = grow_table(ctr, FIRST_BUCKETS, NULL); /* load 1 at the cap: no growth */
    for (uint32_t i = 0; i < 3000; i++)
        grow_new(t, i, 10 + i);
    assert_int_equal(lw_flow_table_buckets(t, NULL), FIRST_BUCKETS);
    assert_int_equal(old_buckets(t), 0);
    lw_flow_table_free(t);
    t = grow_table(ctr, 1500, NULL); /* cap 2,048, reached and kept */
    for (uint32_t i = 0; i < 6000; i++)
        grow_new(t, i, 10 + i);
    assert_int_equal(lw_flow_table_buckets(t, NULL), 2048);
    assert_int_equal(old_buckets(t), 0);
    assert_int_equal(lw_flow_table_count(t), 1500);
    lw_flow_table_free(t);
    t = grow_table(ctr, 1u << 30, NULL); /* the largest cap starts small */
    assert_int_equal(lw_flow_table_buckets(t, NULL), FIRST_BUCKETS);
    lw_flow_table_free(t);
}

static void test_bad_config_rejected(void **state)
{
    fixture *fx = *state;
    lw_flow_table_config cfg = {.max_flows = 0, .idle_timeout_us = 1, .closed_timeout_us = 1};
    assert_null(lw_flow_table_new(&cfg, fx->ctr));
    assert_null(lw_flow_table_new(NULL, fx->ctr));
    cfg.max_flows = 4;
    assert_null(lw_flow_table_new(&cfg, NULL));
    cfg.max_flows = UINT32_MAX;
    assert_null(lw_flow_table_new(&cfg, fx->ctr));
    lw_flow_table_free(NULL);
}

static void test_counter_names(void **state)
{
    (void)state;
    for (int i = 0; i < LW_FLOW_CTR_MAX; i++) {
        assert_non_null(lw_flow_counter_names[i]);
        assert_memory_equal(lw_flow_counter_names[i], "flow.", 5);
        for (int j = i + 1; j < LW_FLOW_CTR_MAX; j++)
            assert_string_not_equal(lw_flow_counter_names[i], lw_flow_counter_names[j]);
    }
    assert_string_equal(lw_flow_counter_names[LW_FLOW_CTR_EVICTED], "flow.evicted");
    assert_string_equal(lw_flow_counter_names[LW_FLOW_CTR_MEMCAP_EVICTED], "flow.memcap_evicted");
    assert_string_equal(lw_flow_counter_names[LW_FLOW_CTR_MEMUSE], "flow.memuse");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_first_packet_sender_is_client),
        T(test_both_directions_one_flow),
        T(test_synack_first_makes_receiver_client),
        T(test_midstream_first_packet_sender_is_client),
        T(test_syn_ack_bits_on_udp_do_not_swap),
        T(test_ipv6_flow),
        T(test_family_proto_and_ports_distinguish_flows),
        T(test_wirelen_counted_not_caplen),
        T(test_idle_expiry_exact_edge),
        T(test_activity_postpones_idle_expiry),
        T(test_closed_expiry_exact_edge),
        T(test_closed_flow_expires_before_older_open_flow),
        T(test_mark_closed_twice_is_harmless),
        T(test_packet_on_closed_flow_keeps_it_closed),
        T(test_budgeted_expiry),
        T(test_expiry_stops_at_first_live_flow),
        T(test_time_going_backwards),
        T(test_huge_timeout_does_not_wrap),
        T(test_eviction_at_cap_prefers_closed),
        T(test_eviction_at_cap_takes_least_recently_seen),
        T(test_evicted_record_is_reused_with_slots_zeroed),
        T(test_expired_record_is_reused),
        T(test_many_flows_at_larger_cap),
        T(test_flush_releases_every_flow_once),
        T(test_release_once_across_all_reasons),
        T(test_syn_on_closed_flow_starts_new_flow),
        T(test_syn_on_open_flow_or_synack_on_closed_is_same_flow),
        T(test_flow_id_deterministic_across_tables),
        T(test_flow_id_depends_on_tuple_and_start),
        T(test_random_operations_keep_invariants),
        T(test_records_come_in_blocks_counted_in_memuse),
        T(test_memcap_limits_records_and_evicts_lru),
        T(test_memcap_eviction_prefers_closed),
        T(test_account_counts_slot_bytes),
        T(test_leaving_flow_gives_back_its_slot_bytes),
        T(test_expire_evicts_while_over_memcap),
        T(test_no_memcap_never_evicts_for_memory),
        T(test_memcap_below_one_record_fails_counted),
        T(test_per_flow_state_within_budget),
        T(test_million_flows_fit_under_1gib),
        T(test_million_flows_under_64mib_memcap_evict),
        T(test_flow_seen_within_interval_not_expired_early),
        T(test_flow_seen_in_later_interval_moves_behind),
        T(test_older_packet_moves_no_open_flow),
        T(test_closed_flow_moves_on_every_packet),
        T(test_eviction_within_interval_of_least_recent),
        T(test_eviction_after_later_interval_takes_least_recent),
        T(test_flush_order_exact_despite_interval),
        T(test_flush_releases_closed_before_open),
        T(test_flush_few_flows_unlinks_each),
        T(test_flush_full_table_clears_buckets),
        T(test_packets_in_and_across_intervals_count_nothing),
        T(test_interval_random_against_model),
        T(test_buckets_start_small_and_double_incrementally),
        T(test_growth_keeps_every_flow_findable),
        T(test_evict_expire_flush_order_across_growth),
        T(test_expire_and_flush_during_migration),
        T(test_refused_growth_leaves_working_table),
        T(test_bucket_array_capped_by_max_flows),
        T(test_bad_config_rejected),
        T(test_counter_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
