/*
 * test_ring.c - the single-producer single-consumer record ring: sizing,
 * empty and full rings, round trips, records that would cross the end of
 * the buffer (skip padding), the largest record from every start offset,
 * refused lengths, odd lengths and alignment, abandoned reservations,
 * lw_ring_used(), lw_ring_wait() (time-out, wake-up by commit, no lost
 * wake-up when commits race the switch to sleep), and two threads moving
 * 2,000,000 records of pseudo-random sizes whose order and content the
 * consumer checks.
 *
 * Timing asserts are loose on purpose: a lower bound for a time-out, and
 * "well under the time-out" for a wake-up, so a slow sanitizer build or a
 * busy machine cannot make them flaky. Records carry synthetic bytes only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "leakwatch/ring.h"

#define SMALL_RING 4096
#define HDR        8

static size_t rec_total(size_t len)
{
    return HDR + ((len + 7) & ~(size_t)7);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* splitmix64: the record size and body bytes derive from the sequence
 * number, so the consumer can recompute what it should have received. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void fill(uint8_t *p, size_t len, uint64_t seq)
{
    uint64_t h = mix(seq);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((h >> ((i & 7) * 8)) ^ i);
}

static bool check_fill(const uint8_t *p, size_t len, uint64_t seq)
{
    uint64_t h = mix(seq);
    for (size_t i = 0; i < len; i++)
        if (p[i] != (uint8_t)((h >> ((i & 7) * 8)) ^ i))
            return false;
    return true;
}

static int setup(void **state)
{
    lw_ring *r = lw_ring_new(SMALL_RING);
    if (!r)
        return -1;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    lw_ring_free(*state);
    return 0;
}

/* Push one record of len bytes filled from seq; false when full. */
static bool push(lw_ring *r, size_t len, uint64_t seq)
{
    uint8_t *p = lw_ring_reserve(r, len);
    if (!p)
        return false;
    fill(p, len, seq);
    lw_ring_commit(r);
    return true;
}

/* push(), committed with lw_ring_commit_deferred(). */
static bool push_deferred(lw_ring *r, size_t len, uint64_t seq)
{
    uint8_t *p = lw_ring_reserve(r, len);
    if (!p)
        return false;
    fill(p, len, seq);
    lw_ring_commit_deferred(r);
    return true;
}

/* Pop one record and check its length and bytes against seq. */
static void pop_expect(lw_ring *r, size_t len, uint64_t seq)
{
    size_t got = 0;
    const uint8_t *p = lw_ring_peek(r, &got);
    assert_non_null(p);
    assert_int_equal(got, len);
    assert_true(check_fill(p, len, seq));
    lw_ring_release(r);
}

/* ---- sizing ------------------------------------------------------------ */

static void test_new_rounds_up(void **state)
{
    (void)state;
    lw_ring *r = lw_ring_new(1);
    assert_non_null(r);
    assert_int_equal(lw_ring_max_record(r), 4096 / 2 - HDR);
    lw_ring_free(r);

    r = lw_ring_new(5000);
    assert_non_null(r);
    assert_int_equal(lw_ring_max_record(r), 8192 / 2 - HDR);
    lw_ring_free(r);

    r = lw_ring_new(65536);
    assert_non_null(r);
    assert_int_equal(lw_ring_max_record(r), 65536 / 2 - HDR);
    lw_ring_free(r);
}

static void test_new_too_big(void **state)
{
    (void)state;
    assert_null(lw_ring_new(SIZE_MAX));
    assert_null(lw_ring_new(((size_t)1 << 31) + 1));
    lw_ring_free(NULL); /* allowed, does nothing */
}

/* ---- single-thread behaviour -------------------------------------------- */

static void test_empty_peek_null(void **state)
{
    lw_ring *r = *state;
    size_t len = 12345;
    assert_null(lw_ring_peek(r, &len));
    assert_int_equal(len, 12345); /* untouched */
    assert_null(lw_ring_peek(r, NULL));
    assert_int_equal(lw_ring_used(r), 0);
    lw_ring_release(r); /* nothing peeked: no effect */
    assert_int_equal(lw_ring_used(r), 0);
    assert_null(lw_ring_peek(r, &len));
}

static void test_round_trip(void **state)
{
    lw_ring *r = *state;
    uint8_t *p = lw_ring_reserve(r, 5);
    assert_non_null(p);
    memcpy(p, "abcde", 5);
    /* Not visible before commit. */
    assert_null(lw_ring_peek(r, NULL));
    assert_int_equal(lw_ring_used(r), 0);
    lw_ring_commit(r);
    assert_int_equal(lw_ring_used(r), rec_total(5));

    size_t len = 0;
    const uint8_t *q = lw_ring_peek(r, &len);
    assert_non_null(q);
    assert_ptr_equal(q, p); /* in place, no copy */
    assert_int_equal(len, 5);
    assert_memory_equal(q, "abcde", 5);
    lw_ring_release(r);
    assert_int_equal(lw_ring_used(r), 0);
    assert_null(lw_ring_peek(r, &len));
}

static void test_fifo_order(void **state)
{
    lw_ring *r = *state;
    for (uint64_t i = 0; i < 10; i++)
        assert_true(push(r, 20 + i, i));
    for (uint64_t i = 0; i < 10; i++)
        pop_expect(r, 20 + i, i);
    assert_null(lw_ring_peek(r, NULL));
}

static void test_peek_twice_same_record(void **state)
{
    lw_ring *r = *state;
    assert_true(push(r, 9, 1));
    assert_true(push(r, 10, 2));
    size_t l1 = 0, l2 = 0;
    const void *a = lw_ring_peek(r, &l1);
    const void *b = lw_ring_peek(r, &l2);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_int_equal(l1, 9);
    assert_int_equal(l2, 9);
    lw_ring_release(r);
    pop_expect(r, 10, 2);
}

static void test_release_twice_frees_one(void **state)
{
    lw_ring *r = *state;
    assert_true(push(r, 8, 1));
    assert_true(push(r, 8, 2));
    assert_non_null(lw_ring_peek(r, NULL));
    lw_ring_release(r);
    lw_ring_release(r); /* no peek in between: must not drop record 2 */
    pop_expect(r, 8, 2);
}

static void test_full_ring_then_recover(void **state)
{
    lw_ring *r = *state;
    /* 100-byte records cost 112 bytes: 36 fit (4032), 64 bytes remain. */
    size_t n = 0;
    while (push(r, 100, n))
        n++;
    assert_int_equal(n, SMALL_RING / rec_total(100));
    assert_int_equal(lw_ring_used(r), n * rec_total(100));
    assert_null(lw_ring_reserve(r, 100));
    assert_null(lw_ring_reserve(r, 57)); /* also 112 bytes */
    /* 56 bytes (64 total) fit exactly before the end. */
    assert_true(push(r, 56, 1000));
    assert_null(lw_ring_reserve(r, 1));

    /* Releasing one frees 112 bytes at the start: a 100-byte record now
     * fits there, after skip padding at the end of the lap. */
    pop_expect(r, 100, 0);
    assert_true(push(r, 100, 2000));
    assert_int_equal(lw_ring_used(r), SMALL_RING);
    assert_null(lw_ring_reserve(r, 1));

    for (size_t i = 1; i < n; i++)
        pop_expect(r, 100, i);
    pop_expect(r, 56, 1000);
    pop_expect(r, 100, 2000);
    assert_null(lw_ring_peek(r, NULL));
    assert_int_equal(lw_ring_used(r), 0);
}

static void test_skip_padding_counts_as_used(void **state)
{
    lw_ring *r = *state;
    /* Head at 4032: 64 bytes before the end. */
    for (uint64_t i = 0; i < 36; i++)
        assert_true(push(r, 100, i));
    for (uint64_t i = 0; i < 36; i++)
        pop_expect(r, 100, i);
    assert_int_equal(lw_ring_used(r), 0);
    /* 200 bytes do not fit in 64: 64 of padding, then 208 at offset 0. */
    uint8_t *p = lw_ring_reserve(r, 200);
    assert_non_null(p);
    fill(p, 200, 7);
    lw_ring_commit(r);
    assert_int_equal(lw_ring_used(r), 64 + rec_total(200));
    size_t len = 0;
    const void *q = lw_ring_peek(r, &len);
    assert_ptr_equal(q, p);
    /* The padding is freed once the consumer passes it. */
    assert_int_equal(lw_ring_used(r), rec_total(200));
    assert_int_equal(len, 200);
    assert_true(check_fill(q, 200, 7));
    lw_ring_release(r);
    assert_int_equal(lw_ring_used(r), 0);
}

static void test_oversize_refused(void **state)
{
    lw_ring *r = *state;
    size_t max = lw_ring_max_record(r);
    assert_null(lw_ring_reserve(r, max + 1));
    assert_null(lw_ring_reserve(r, SIZE_MAX));
    assert_null(lw_ring_reserve(r, (size_t)UINT32_MAX + 1));
    lw_ring_commit(r); /* nothing reserved: no effect */
    assert_null(lw_ring_peek(r, NULL));
    assert_true(push(r, max, 1));
    pop_expect(r, max, 1);
}

/* The largest record fits an empty ring wherever the last record ended.
 * Head offsets are multiples of 8 and at least 16 apart from a lap start
 * (8 is unreachable: the smallest record costs 16 bytes), so fillers are
 * pushed and popped until head sits at `off`, then the max record must
 * fit: in place when it reaches the end at most, else at offset 0 after
 * skip padding. */
static void test_max_record_fits_from_every_offset(void **state)
{
    (void)state;
    for (size_t off = 0; off < SMALL_RING; off += 8) {
        if (off == 8)
            continue;
        lw_ring *x = lw_ring_new(SMALL_RING);
        assert_non_null(x);
        size_t max = lw_ring_max_record(x);
        const uint8_t *base = NULL;
        size_t remaining = off;
        while (remaining > 0) {
            size_t t = remaining > SMALL_RING / 2 ? SMALL_RING / 2 : remaining;
            if (remaining - t != 0 && remaining - t < 16)
                t = remaining - 16;
            uint8_t *p = lw_ring_reserve(x, t - HDR);
            assert_non_null(p);
            if (!base)
                base = p - HDR;
            fill(p, t - HDR, t);
            lw_ring_commit(x);
            pop_expect(x, t - HDR, t);
            remaining -= t;
        }
        assert_int_equal(lw_ring_used(x), 0);
        uint8_t *p = lw_ring_reserve(x, max);
        assert_non_null(p);
        if (base) {
            size_t want = off + rec_total(max) <= SMALL_RING ? off + HDR : HDR;
            assert_ptr_equal(p, base + want);
        }
        fill(p, max, 3);
        lw_ring_commit(x);
        pop_expect(x, max, 3);
        lw_ring_free(x);
    }
}

static void test_zero_length_refused(void **state)
{
    lw_ring *r = *state;
    assert_null(lw_ring_reserve(r, 0));
    lw_ring_commit(r);
    assert_null(lw_ring_peek(r, NULL));
    assert_int_equal(lw_ring_used(r), 0);
}

static void test_odd_lengths_and_alignment(void **state)
{
    lw_ring *r = *state;
    for (size_t round = 0; round < 50; round++) {
        for (size_t len = 1; len <= 17; len++) {
            uint8_t *p = lw_ring_reserve(r, len);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % 8, 0);
            fill(p, len, len + round);
            lw_ring_commit(r);
            size_t got = 0;
            const uint8_t *q = lw_ring_peek(r, &got);
            assert_non_null(q);
            assert_int_equal((uintptr_t)q % 8, 0);
            assert_int_equal(got, len);
            assert_true(check_fill(q, len, len + round));
            lw_ring_release(r);
        }
    }
}

static void test_reserve_twice_abandons_first(void **state)
{
    lw_ring *r = *state;
    uint8_t *a = lw_ring_reserve(r, 30);
    assert_non_null(a);
    fill(a, 30, 1);
    uint8_t *b = lw_ring_reserve(r, 12);
    assert_non_null(b);
    fill(b, 12, 2);
    lw_ring_commit(r);
    pop_expect(r, 12, 2);
    assert_null(lw_ring_peek(r, NULL));
}

static void test_failed_reserve_drops_pending(void **state)
{
    lw_ring *r = *state;
    assert_non_null(lw_ring_reserve(r, 30));
    assert_null(lw_ring_reserve(r, 0)); /* refused: the first is gone too */
    lw_ring_commit(r);
    assert_null(lw_ring_peek(r, NULL));
    lw_ring_commit(r); /* second commit: still nothing */
    assert_null(lw_ring_peek(r, NULL));
}

/* Many laps of pseudo-random sizes up to the maximum with a changing
 * backlog: records cross the end of the buffer in every position. */
static void test_wrap_varied_sizes(void **state)
{
    lw_ring *r = *state;
    size_t max = lw_ring_max_record(r);
    uint64_t pushed = 0, popped = 0, bytes = 0;
    for (uint64_t step = 0; step < 20000; step++) {
        uint64_t h = mix(step * 7 + 3);
        /* Mostly small records, sometimes large ones. */
        size_t len = (h & 3) == 0 ? 1 + (size_t)(h >> 8) % max : 1 + (size_t)(h >> 8) % 300;
        int burst = 1 + (int)((h >> 40) % 6);
        for (int i = 0; i < burst; i++) {
            size_t l = i == 0 ? len : 1 + (size_t)mix(pushed) % 64;
            uint8_t *p = lw_ring_reserve(r, l);
            if (!p)
                break;
            assert_int_equal((uintptr_t)p % 8, 0);
            /* Length is re-derived by the consumer from the sequence. */
            fill(p, l, pushed);
            if (l >= 8)
                memcpy(p, &pushed, 8);
            lw_ring_commit(r);
            pushed++;
            bytes += rec_total(l);
        }
        int drain = 1 + (int)((h >> 48) % 6);
        for (int i = 0; i < drain; i++) {
            size_t got = 0;
            const uint8_t *q = lw_ring_peek(r, &got);
            if (!q)
                break;
            assert_int_equal((uintptr_t)q % 8, 0);
            if (got >= 8) {
                uint64_t s;
                memcpy(&s, q, 8);
                assert_int_equal(s, popped);
                /* The first 8 bytes hold the sequence; check the rest. */
                uint8_t ref[4096];
                fill(ref, got, popped);
                assert_memory_equal(q + 8, ref + 8, got - 8);
            } else {
                assert_true(check_fill(q, got, popped));
            }
            lw_ring_release(r);
            popped++;
        }
    }
    while (lw_ring_peek(r, NULL)) {
        lw_ring_release(r);
        popped++;
    }
    assert_int_equal(pushed, popped);
    assert_true(bytes > 100 * (uint64_t)SMALL_RING); /* many laps */
    assert_int_equal(lw_ring_used(r), 0);
}

/* ---- waiting ------------------------------------------------------------- */

static void test_wait_returns_at_once_when_not_empty(void **state)
{
    lw_ring *r = *state;
    assert_true(push(r, 4, 1));
    uint64_t t0 = now_ms();
    assert_true(lw_ring_wait(r, 10000));
    assert_true(lw_ring_wait(r, 0));
    assert_true(lw_ring_wait(r, -1));
    assert_true(now_ms() - t0 < 5000);
    /* A peeked, unreleased record still counts. */
    assert_non_null(lw_ring_peek(r, NULL));
    assert_true(lw_ring_wait(r, 10000));
    lw_ring_release(r);
    assert_false(lw_ring_wait(r, 0));
}

static void test_wait_timeout_on_empty(void **state)
{
    lw_ring *r = *state;
    uint64_t t0 = now_ms();
    assert_false(lw_ring_wait(r, 60));
    assert_true(now_ms() - t0 >= 50); /* loose lower bound only */
    assert_null(lw_ring_peek(r, NULL));
}

typedef struct delayed_push {
    lw_ring *r;
    int delay_ms;
    bool deferred; /* commit deferred, then flush after a second delay */
} delayed_push;

static void *delayed_push_main(void *arg)
{
    delayed_push *d = arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)d->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    if (d->deferred) {
        push_deferred(d->r, 33, 99);
        nanosleep(&ts, NULL);
        lw_ring_flush(d->r);
    } else {
        push(d->r, 33, 99);
    }
    return NULL;
}

/* A consumer sleeping with a long time-out is woken when another thread
 * publishes a record: without the wake-up the wait would last 20 s. */
static void expect_woken(lw_ring *r, int delay_ms, bool deferred)
{
    delayed_push d = {.r = r, .delay_ms = delay_ms, .deferred = deferred};
    pthread_t th;
    uint64_t t0 = now_ms();
    assert_int_equal(pthread_create(&th, NULL, delayed_push_main, &d), 0);
    bool ok = lw_ring_wait(r, 20000);
    uint64_t dt = now_ms() - t0;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(ok);
    assert_true(dt < 10000);
    pop_expect(r, 33, 99);
}

static void test_wait_woken_by_commit(void **state)
{
    expect_woken(*state, 50, false);
}

/* lw_ring_flush() of a deferred record wakes the sleeper too. */
static void test_wait_woken_by_flush(void **state)
{
    expect_woken(*state, 30, true);
}

static void test_wait_forever_woken_by_commit(void **state)
{
    lw_ring *r = *state;
    delayed_push d = {.r = r, .delay_ms = 20};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, delayed_push_main, &d), 0);
    assert_true(lw_ring_wait(r, -1));
    assert_int_equal(pthread_join(th, NULL), 0);
    pop_expect(r, 33, 99);
}

/* Lost wake-up hunt. For each of HANDSHAKES rounds the consumer announces
 * "about to wait" and calls lw_ring_wait(); the producer sees the
 * announcement, busy-waits a pseudo-random 0-8 us and commits one record,
 * so commits land at varied points of the consumer's spin, its switch to
 * sleeping and its sleep. A lost wake-up shows as a wait lasting its whole
 * 3 s time-out. Timing-based, so it finds ordering bugs only by chance
 * (it did catch a producer that reads the sleeping flag before publishing
 * head); the argument in ring.c is the real guarantee. */
#define HANDSHAKES 10000

typedef struct handshake {
    lw_ring *r;
    atomic_uint_fast64_t entering; /* round + 1 the consumer is waiting in */
} handshake;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *handshake_producer(void *arg)
{
    handshake *hs = arg;
    for (uint64_t i = 0; i < HANDSHAKES; i++) {
        while (atomic_load(&hs->entering) != i + 1)
            ;
        uint64_t at = now_ns() + mix(i) % 8000;
        while (now_ns() < at)
            ;
        uint8_t *p;
        while (!(p = lw_ring_reserve(hs->r, 8)))
            sched_yield();
        memcpy(p, &i, 8);
        lw_ring_commit(hs->r);
    }
    return NULL;
}

static void test_no_lost_wakeup(void **state)
{
    handshake hs = {.r = *state};
    atomic_init(&hs.entering, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, handshake_producer, &hs), 0);
    int stalls = 0, errors = 0;
    for (uint64_t i = 0; i < HANDSHAKES; i++) {
        atomic_store(&hs.entering, i + 1);
        uint64_t t0 = now_ms();
        while (!lw_ring_wait(hs.r, 3000))
            ;
        if (now_ms() - t0 >= 1500)
            stalls++;
        size_t len = 0;
        const void *p = lw_ring_peek(hs.r, &len);
        uint64_t got = UINT64_MAX;
        if (p && len == 8)
            memcpy(&got, p, 8);
        lw_ring_release(hs.r);
        errors += got != i;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(errors, 0);
    assert_int_equal(stalls, 0);
}

/* ---- deferred publishing ------------------------------------------------- */

static void test_deferred_commit_unseen_until_flush(void **state)
{
    lw_ring *r = *state;
    assert_true(push_deferred(r, 24, 1));
    assert_true(push_deferred(r, 8, 2));
    assert_null(lw_ring_peek(r, NULL));
    assert_false(lw_ring_wait(r, 0));
    assert_int_equal(lw_ring_used(r), 0);
    lw_ring_flush(r);
    assert_int_equal(lw_ring_used(r), rec_total(24) + rec_total(8));
    pop_expect(r, 24, 1);
    pop_expect(r, 8, 2);
    lw_ring_flush(r); /* nothing new: harmless */
    assert_null(lw_ring_peek(r, NULL));
}

/* A 4 KiB ring publishes by itself once 4096 / 32 = 128 bytes wait. */
static void test_deferred_commits_publish_in_batches(void **state)
{
    lw_ring *r = *state;
    for (uint64_t i = 0; i < 7; i++) /* 7 x 16 = 112 bytes */
        assert_true(push_deferred(r, 8, i));
    assert_null(lw_ring_peek(r, NULL));
    assert_true(push_deferred(r, 8, 7)); /* 128 */
    for (uint64_t i = 0; i < 8; i++)
        pop_expect(r, 8, i);
    assert_true(push_deferred(r, 8, 8)); /* a new batch starts */
    assert_null(lw_ring_peek(r, NULL));
    /* a plain commit publishes what was deferred before it */
    assert_true(push(r, 8, 9));
    pop_expect(r, 8, 8);
    pop_expect(r, 8, 9);
}

/* A producer that finds the ring full must have published everything, or
 * it would wait for room the consumer cannot make. */
static void test_full_ring_publishes_deferred(void **state)
{
    lw_ring *r = *state;
    size_t n = 0;
    while (push_deferred(r, 100, n))
        n++;
    assert_int_equal(n, SMALL_RING / rec_total(100));
    for (size_t i = 0; i < n; i++)
        pop_expect(r, 100, i);
    assert_null(lw_ring_peek(r, NULL));
}

/* ---- two threads, 2,000,000 records --------------------------------------- */

#define STRESS_RECORDS 2000000u
#define STRESS_RING    65536

/* Record: u64 sequence, u32 FNV-1a of the body, u32 body length, body. */
#define STRESS_HDR 16

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static size_t stress_len(uint64_t seq)
{
    uint64_t h = mix(seq ^ 0x5555);
    /* 16..271 bytes, every residue mod 8; now and then a large one. */
    if ((h & 0xff) == 0)
        return STRESS_HDR + (size_t)((h >> 8) % 4000);
    return STRESS_HDR + (size_t)((h >> 8) % 256);
}

typedef struct stress {
    lw_ring *r;
    bool deferred; /* commit deferred, flush only at the end */
    atomic_uint_fast64_t producer_full_spins;
    uint64_t bad_seq, bad_len, bad_sum, bad_align, received;
} stress;

static void *stress_producer(void *arg)
{
    stress *s = arg;
    uint64_t spins = 0;
    for (uint64_t seq = 0; seq < STRESS_RECORDS; seq++) {
        size_t len = stress_len(seq);
        uint8_t *p;
        unsigned tries = 0;
        while (!(p = lw_ring_reserve(s->r, len))) {
            spins++;
            if (++tries % 64 == 0)
                sched_yield();
        }
        uint8_t *body = p + STRESS_HDR;
        size_t blen = len - STRESS_HDR;
        fill(body, blen, seq);
        uint32_t sum = fnv1a(body, blen);
        uint32_t bl = (uint32_t)blen;
        memcpy(p, &seq, 8);
        memcpy(p + 8, &sum, 4);
        memcpy(p + 12, &bl, 4);
        if (s->deferred)
            lw_ring_commit_deferred(s->r);
        else
            lw_ring_commit(s->r);
    }
    lw_ring_flush(s->r);
    atomic_store(&s->producer_full_spins, spins);
    return NULL;
}

static void *stress_consumer(void *arg)
{
    stress *s = arg;
    uint64_t expect = 0;
    while (expect < STRESS_RECORDS) {
        size_t len = 0;
        const uint8_t *p = lw_ring_peek(s->r, &len);
        if (!p) {
            lw_ring_wait(s->r, 1000);
            continue;
        }
        if ((uintptr_t)p % 8 != 0)
            s->bad_align++;
        uint64_t seq = UINT64_MAX;
        uint32_t sum = 0, bl = 0;
        if (len >= STRESS_HDR) {
            memcpy(&seq, p, 8);
            memcpy(&sum, p + 8, 4);
            memcpy(&bl, p + 12, 4);
        }
        if (seq != expect)
            s->bad_seq++;
        if (len != stress_len(expect) || bl != len - STRESS_HDR)
            s->bad_len++;
        else if (fnv1a(p + STRESS_HDR, bl) != sum || !check_fill(p + STRESS_HDR, bl, expect))
            s->bad_sum++;
        lw_ring_release(s->r);
        s->received++;
        expect++;
        if (s->bad_seq + s->bad_len + s->bad_sum > 100)
            break; /* broken: stop early, the asserts say why */
    }
    return NULL;
}

static void run_stress(bool deferred)
{
    stress s = {.r = lw_ring_new(STRESS_RING), .deferred = deferred};
    assert_non_null(s.r);
    atomic_init(&s.producer_full_spins, 0);
    pthread_t prod, cons;
    assert_int_equal(pthread_create(&cons, NULL, stress_consumer, &s), 0);
    assert_int_equal(pthread_create(&prod, NULL, stress_producer, &s), 0);
    assert_int_equal(pthread_join(prod, NULL), 0);
    assert_int_equal(pthread_join(cons, NULL), 0);
    assert_int_equal(s.bad_seq, 0);
    assert_int_equal(s.bad_len, 0);
    assert_int_equal(s.bad_sum, 0);
    assert_int_equal(s.bad_align, 0);
    assert_int_equal(s.received, STRESS_RECORDS);
    assert_null(lw_ring_peek(s.r, NULL));
    assert_int_equal(lw_ring_used(s.r), 0);
    lw_ring_free(s.r);
}

static void test_two_threads_stress(void **state)
{
    (void)state;
    run_stress(false);
}

/* Batches publish on their own and a full ring publishes: the consumer
 * gets every record though the producer flushes only once, at the end. */
static void test_two_threads_stress_deferred(void **state)
{
    (void)state;
    run_stress(true);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rounds_up),
        cmocka_unit_test(test_new_too_big),
        T(test_empty_peek_null),
        T(test_round_trip),
        T(test_fifo_order),
        T(test_peek_twice_same_record),
        T(test_release_twice_frees_one),
        T(test_full_ring_then_recover),
        T(test_skip_padding_counts_as_used),
        T(test_oversize_refused),
        T(test_max_record_fits_from_every_offset),
        T(test_zero_length_refused),
        T(test_odd_lengths_and_alignment),
        T(test_reserve_twice_abandons_first),
        T(test_failed_reserve_drops_pending),
        T(test_wrap_varied_sizes),
        T(test_wait_returns_at_once_when_not_empty),
        T(test_wait_timeout_on_empty),
        T(test_wait_woken_by_commit),
        T(test_wait_forever_woken_by_commit),
        T(test_no_lost_wakeup),
        T(test_deferred_commit_unseen_until_flush),
        T(test_deferred_commits_publish_in_batches),
        T(test_full_ring_publishes_deferred),
        T(test_wait_woken_by_flush),
        cmocka_unit_test(test_two_threads_stress),
        cmocka_unit_test(test_two_threads_stress_deferred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
