/*
 * fuzz_dns.c - DNS messages and TCP framing on hostile bytes.
 *
 * Input: one control byte, then the bytes.
 *   bit 0   0: the bytes are one UDP message; 1: a TCP byte stream
 *   bit 1   inspect
 *   bits 2-7  seed for the TCP split points
 * UDP: the message goes to lw_dns_message as an exact-size copy (ASan
 * sees a read past its end). TCP: the stream is fed whole, then in chunks
 * cut at seeded random points (each chunk an exact-size copy); the two
 * runs must hand out exactly the same callbacks and counters. A third run
 * drops a seeded chunk as a gap, to exercise resynchronisation.
 *
 * Checks on every run: content chunks shorter than a name, total content
 * per message within the bound the caps give, meta printable and
 * NUL-free, question names and registered domains shorter than
 * LW_DNS_NAME_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* name item plus every try's three decodings, per question */
#define CONTENT_BOUND                                                                              \
    ((uint64_t)LW_DNS_MAX_QUESTIONS * LW_DNS_NAME_MAX * (1 + 3 * LW_DNS_MAX_TRIES))

typedef struct out {
    uint64_t hash; /* FNV-1a over every callback and its bytes */
    uint64_t content;
    uint64_t ctr[LW_DNS_CTR_MAX];
} out;

static void mix(out *o, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        o->hash ^= b[i];
        o->hash *= 1099511628211ull;
    }
}

static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    out *o = ctx;
    if (n == 0 || n >= LW_DNS_NAME_MAX || (dir != 0 && dir != 1))
        abort();
    o->content += n;
    mix(o, "c", 1);
    mix(o, d, n);
}

static void on_item_end(void *ctx, int dir)
{
    (void)dir;
    mix(ctx, "e", 1);
}

static void on_meta(void *ctx, int dir, lw_app_meta key, const uint8_t *v, size_t n)
{
    (void)dir;
    if (key != LW_META_DNS_QUERY || n == 0 || n >= LW_DNS_NAME_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7e)
            abort();
    mix(ctx, "m", 1);
    mix(ctx, v, n);
}

static void on_question(void *ctx, const char *name, const char *rd)
{
    size_t n = strlen(name), r = strlen(rd);
    if (n == 0 || n >= LW_DNS_NAME_MAX || r >= LW_DNS_NAME_MAX || r > n)
        abort();
    mix(ctx, "q", 1);
    mix(ctx, name, n);
    mix(ctx, rd, r);
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void feed_copy(lw_dns_tcp *t, int dir, const uint8_t *d, size_t n, bool inspect,
                      const lw_app_sink *s, out *o)
{
    uint8_t *c = malloc(n ? n : 1);
    if (!c)
        abort();
    memcpy(c, d, n);
    lw_dns_tcp_feed(t, dir, c, n, inspect, s, on_question, o);
    free(c);
}

/* mode 0: whole; 1: random chunks; 2: random chunks, one dropped as a gap */
static void run_tcp(const uint8_t *d, size_t n, bool inspect, uint32_t seed, int mode, out *o)
{
    lw_app_sink s = {on_content, on_item_end, on_meta, o};
    lw_dns_tcp *t = lw_dns_tcp_new(o->ctr);
    if (!t)
        return;
    int dir = mode == 2 ? 1 : 0;
    if (mode == 0) {
        feed_copy(t, dir, d, n, inspect, &s, o);
    } else {
        uint32_t x = seed * 2654435761u + 1;
        uint32_t drop = next(&x) % 8;
        size_t at = 0;
        for (uint32_t k = 0; at < n; k++) {
            size_t len = 1 + next(&x) % 64;
            if (len > n - at)
                len = n - at;
            if (mode == 2 && k == drop)
                lw_dns_tcp_gap(t, dir);
            else
                feed_copy(t, dir, d + at, len, inspect, &s, o);
            at += len;
        }
    }
    lw_dns_tcp_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool tcp = data[0] & 1;
    bool inspect = data[0] & 2;
    uint32_t seed = data[0] >> 2;
    const uint8_t *d = data + 1;
    size_t n = size - 1;

    if (!tcp) {
        out o = {.hash = 14695981039346656037ull};
        lw_app_sink s = {on_content, on_item_end, on_meta, &o};
        uint8_t *c = malloc(n ? n : 1);
        if (!c)
            return 0;
        memcpy(c, d, n);
        lw_dns_message(c, n, 0, inspect, &s, on_question, &o, o.ctr);
        free(c);
        if (o.content > CONTENT_BOUND)
            abort();
        return 0;
    }

    out whole = {.hash = 14695981039346656037ull};
    out split = whole;
    out gap = whole;
    run_tcp(d, n, inspect, seed, 0, &whole);
    run_tcp(d, n, inspect, seed, 1, &split);
    run_tcp(d, n, inspect, seed, 2, &gap);
    if (memcmp(&whole, &split, sizeof(whole)) != 0)
        abort();
    /* every framed message is at least two bytes of input */
    if (whole.content > CONTENT_BOUND * (n / 2 + 1))
        abort();
    return 0;
}
