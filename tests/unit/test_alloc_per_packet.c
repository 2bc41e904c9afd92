/*
 * test_alloc_per_packet.c - no heap allocation per packet on the hot path.
 *
 * This program replaces malloc and friends with counting forwarders
 * (LW_ALLOC_COUNT_HOOKS, include/leakwatch/alloc_count.h): they count on
 * this thread, then hand the call to AddressSanitizer's allocator in the
 * sanitizer build that `make test` runs, or to glibc's in a plain build, so
 * the test runs and proves the same thing in both.
 *
 * The engine is the real one: shipped signatures, the default policy with a
 * threshold of 2, HTTP detection and decoding, reassembly, Hyperscan
 * streams, bursts. 100 synthetic keep-alive HTTP connections from inside
 * hosts (10.1.0.0/16) to an outside server (203.0.113.80, RFC 5737) are
 * opened with a three-way handshake and warmed up: each flow's first
 * request creates its slots, decoder, Hyperscan stream and burst keys, and
 * the same few email addresses are sent again and again. Then 100,000 more
 * in-order data segments (requests carrying the emails and their
 * responses, alternating over the flows) must cause no allocation and no
 * free at all.
 *
 * The other tests check that the counter counts (a malloc is seen, and the
 * flow setup path is seen allocating), so the zero cannot come from hooks
 * that are not installed. Packets are built in static buffers: the test
 * itself allocates nothing while it measures. No value is printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "leakwatch/alloc_count.h"
#include "leakwatch/config.h"
#include "leakwatch/decode.h"
#include "leakwatch/engine.h"
#include "leakwatch/match.h"
#include "leakwatch/output.h"
#include "leakwatch/policy.h"
#include "leakwatch/signatures.h"

LW_ALLOC_COUNT_HOOKS()

#define FLOWS         100
#define WARMUP_ROUNDS 10     /* request + response per flow before measuring */
#define MEASURED_PKTS 100000 /* data segments replayed while counting */
#define STEP_US       10     /* packet time between packets */

typedef struct conn {
    uint8_t cli[4], srv[4];
    uint16_t cport, sport;
    uint32_t cseq, sseq; /* next sequence number each way */
} conn;

typedef struct fixture {
    lw_config cfg;
    lw_signature_set *sigs;
    lw_matcher *matcher;
    lw_policy *policy;
    lw_output *out;
    lw_engine *e;
    conn c[FLOWS];
    uint64_t ts;
    uint8_t buf[2048];
    char body[512], text[1024];
} fixture;

/* ---- packets ------------------------------------------------------------ */

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

/* One IPv4 + TCP packet (no options) with `len` payload bytes, into fx->buf,
 * then through the engine. */
static void send_tcp(fixture *fx, const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
                     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const char *payload,
                     size_t len)
{
    uint8_t *b = fx->buf;
    size_t total = 40 + len;
    memset(b, 0, 40);
    b[0] = 0x45;                   /* version 4, IHL 5 */
    put16(b + 2, (uint16_t)total); /* total length */
    b[8] = 64;                     /* TTL */
    b[9] = 6;                      /* TCP */
    memcpy(b + 12, src, 4);
    memcpy(b + 16, dst, 4);
    put16(b + 20, sport);
    put16(b + 22, dport);
    put32(b + 24, seq);
    put32(b + 28, ack);
    b[32] = 0x50; /* data offset 5 */
    b[33] = flags;
    put16(b + 34, 65535); /* window */
    memcpy(b + 40, payload, len);
    lw_packet p;
    memset(&p, 0, sizeof(p));
    fx->ts += STEP_US;
    p.ts_us = fx->ts;
    p.data = b;
    p.caplen = p.wirelen = (uint32_t)total;
    p.linktype = LW_DECODE_LINKTYPE_RAW;
    lw_engine_packet(fx->e, &p);
}

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

static void handshake(fixture *fx, conn *c)
{
    send_tcp(fx, c->cli, c->cport, c->srv, c->sport, c->cseq - 1, 0, SYN, "", 0);
    send_tcp(fx, c->srv, c->sport, c->cli, c->cport, c->sseq - 1, c->cseq, SYN | ACK, "", 0);
    send_tcp(fx, c->cli, c->cport, c->srv, c->sport, c->cseq, c->sseq, ACK, "", 0);
}

/* A form POST carrying the flow's two email addresses (RFC 2606 names). */
static void request(fixture *fx, conn *c, int i)
{
    int bl = snprintf(fx->body, sizeof(fx->body),
                      "name=Customer+%d&email=alice.smith%d%%40example.com&cc=bob.jones%d%%"
                      "40example.org&note=please+call+back",
                      i, i, i);
    int n = snprintf(fx->text, sizeof(fx->text),
                     "POST /api/contact HTTP/1.1\r\nHost: crm.example.net\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     bl, fx->body);
    send_tcp(fx, c->cli, c->cport, c->srv, c->sport, c->cseq, c->sseq, PSH | ACK, fx->text,
             (size_t)n);
    c->cseq += (uint32_t)n;
}

static void response(fixture *fx, conn *c)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 18\r\n\r\nthanks, recorded.\n";
    send_tcp(fx, c->srv, c->sport, c->cli, c->cport, c->sseq, c->cseq, PSH | ACK, r, sizeof(r) - 1);
    c->sseq += (uint32_t)(sizeof(r) - 1);
}

/* ---- fixture -------------------------------------------------------------- */

static int setup(void **state)
{
    const char *src = getenv("LW_SOURCE_DIR");
    char err[1024], path[4096];
    if (!src)
        return -1;
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || sodium_init() < 0)
        return -1;
    lw_config_defaults(&fx->cfg);
    if (lw_config_set(&fx->cfg, "burst.threshold=2", err, sizeof(err)) != LW_OK)
        return -1;
    snprintf(path, sizeof(path), "%s/signatures/pii.yaml", src);
    if (lw_signatures_load(path, &fx->sigs, err, sizeof(err)) != LW_OK ||
        lw_matcher_compile(fx->sigs, &fx->matcher, err, sizeof(err)) != LW_OK ||
        lw_policy_load(NULL, &fx->cfg, &fx->policy, err, sizeof(err)) != LW_OK ||
        lw_output_open("/dev/null", &fx->out, err, sizeof(err)) != LW_OK) {
        print_error("setup: %s\n", err);
        return -1;
    }
    lw_engine_deps deps = {&fx->cfg, fx->sigs, fx->matcher, NULL, fx->policy, NULL, true};
    fx->e = lw_engine_new(&deps, fx->out, err, sizeof(err));
    if (!fx->e)
        return -1;
    for (int i = 0; i < FLOWS; i++) {
        conn *c = &fx->c[i];
        memcpy(c->cli, (uint8_t[4]){10, 1, (uint8_t)(i / 200), (uint8_t)(i % 200 + 1)}, 4);
        memcpy(c->srv, (uint8_t[4]){203, 0, 113, 80}, 4);
        c->cport = (uint16_t)(40000 + i);
        c->sport = 80;
        c->cseq = 1000u + (uint32_t)i * 7919u;
        c->sseq = 0xfffff000u + (uint32_t)i; /* the server side wraps 2^32 */
    }
    fx->ts = 1700000000000000ull;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    lw_engine_finish(fx->e);
    lw_engine_free(fx->e);
    (void)lw_output_close(fx->out, 0);
    lw_policy_free(fx->policy);
    lw_matcher_free(fx->matcher);
    lw_signatures_free(fx->sigs);
    free(fx);
    return 0;
}

static uint64_t stat_of(fixture *fx, const char *name)
{
    static lw_stat st[1024];
    size_t n = lw_engine_stats(fx->e, st, sizeof(st) / sizeof(st[0]));
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].name, name) == 0)
            return st[i].value;
    fail_msg("no stat %s", name);
    return 0;
}

static uint64_t allocs_now(void)
{
    lw_alloc_counts c;
    lw_alloc_count_get(&c);
    return lw_alloc_count_allocs(&c);
}

static uint64_t frees_now(void)
{
    lw_alloc_counts c;
    lw_alloc_count_get(&c);
    return c.free_calls;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_hooks_count(void **state)
{
    (void)state;
    uint64_t a = allocs_now(), f = frees_now();
    void *volatile p = malloc(24);
    assert_non_null(p);
    p = realloc(p, 4096);
    assert_non_null(p);
    free(p);
    void *q = NULL;
    assert_int_equal(posix_memalign(&q, 64, 100), 0);
    free(q);
    free(NULL); /* not a free */
    assert_true(lw_alloc_count_hooked());
    assert_int_equal(allocs_now() - a, 3);
    assert_int_equal(frees_now() - f, 2);
}

static void test_new_flows_do_allocate(void **state)
{
    fixture *fx = *state;
    /* the counter sees the engine: a new HTTP flow allocates its slots */
    uint64_t a = allocs_now();
    handshake(fx, &fx->c[0]);
    request(fx, &fx->c[0], 0);
    assert_true(allocs_now() - a > 0);
}

static void test_no_allocation_per_packet(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < FLOWS; i++)
        handshake(fx, &fx->c[i]);
    for (int r = 0; r < WARMUP_ROUNDS; r++)
        for (int i = 0; i < FLOWS; i++) {
            request(fx, &fx->c[i], i);
            response(fx, &fx->c[i]);
        }
    assert_int_equal(stat_of(fx, "flow.active"), FLOWS);
    uint64_t validated = stat_of(fx, "match.validated.email");
    assert_true(validated >= 2 * FLOWS); /* the emails are seen: the path is the hot one */
    print_message("warm: %llu flows, flow.memuse %llu (%llu per flow)\n",
                  (unsigned long long)stat_of(fx, "flow.active"),
                  (unsigned long long)stat_of(fx, "flow.memuse"),
                  (unsigned long long)(stat_of(fx, "flow.memuse") / FLOWS));

    uint64_t a = allocs_now(), f = frees_now();
    for (int k = 0; k < MEASURED_PKTS / 2; k++) {
        conn *c = &fx->c[k % FLOWS];
        request(fx, c, k % FLOWS);
        response(fx, c);
    }
    uint64_t da = allocs_now() - a, df = frees_now() - f;
    print_message("%d packets: %llu allocations, %llu frees\n", MEASURED_PKTS,
                  (unsigned long long)da, (unsigned long long)df);
    assert_true(stat_of(fx, "match.validated.email") >= validated + MEASURED_PKTS / 2);
    assert_int_equal(stat_of(fx, "flow.active"), FLOWS);
    assert_int_equal(da, 0);
    assert_int_equal(df, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hooks_count),
        cmocka_unit_test_setup_teardown(test_new_flows_do_allocate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_allocation_per_packet, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
