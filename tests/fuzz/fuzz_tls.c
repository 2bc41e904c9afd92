/*
 * fuzz_tls.c - the TLS tracker on hostile record streams, split anywhere.
 *
 * Input: one control byte (the seed of the split points), then the bytes
 * of one direction. They are fed to a client and to a server tracker,
 * first whole, then cut at seeded random points (every piece an exact-size
 * copy, so ASan sees a read past it). Checks, for each tracker:
 *   - every call returns at most its length; once a call returns less, or
 *     the state is ENCRYPTED, later calls return 0; in NOT_TLS they return
 *     their length; the state never goes back to HANDSHAKE or changes
 *     between ENCRYPTED and NOT_TLS;
 *   - both runs end in the same state with the same counters and the same
 *     server name; the split run's cleartext total is the whole run's, or
 *     at most 4 bytes more (a record header split before encryption is
 *     known);
 *   - a reported server name is a valid lower-case host name, reported at
 *     most once, and only by the client tracker;
 *   - no hello buffer is held once the state has left HANDSHAKE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct out {
    lw_tls_dir t;
    uint64_t ctr[LW_TLS_CTR_MAX];
    size_t clear;
    int nfound;
    char sni[LW_TLS_SNI_MAX];
} out;

static void check_host(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
        abort();
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                abort();
            label = 0;
            continue;
        }
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok || (label == 0 && ch == '-') || ++label > 63)
            abort();
    }
    if (s[n - 1] == '-')
        abort();
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void feed(out *o, bool client, const uint8_t *d, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (!c)
        abort();
    memcpy(c, d, n);
    lw_tls_state before = (lw_tls_state)o->t.state;
    char sni[LW_TLS_SNI_MAX];
    bool found = true;
    size_t ret = lw_tls_feed(&o->t, client, c, n, sni, sizeof(sni), &found, o->ctr);
    free(c);
    lw_tls_state after = (lw_tls_state)o->t.state;
    if (ret > n)
        abort();
    if (before == LW_TLS_ENCRYPTED && (ret != 0 || after != LW_TLS_ENCRYPTED))
        abort();
    if (before == LW_TLS_NOT_TLS && (ret != n || after != LW_TLS_NOT_TLS))
        abort();
    if (after == LW_TLS_HANDSHAKE && ret != n)
        abort();
    if (after == LW_TLS_NOT_TLS && ret != n)
        abort();
    if (after != LW_TLS_HANDSHAKE && o->t.hello)
        abort();
    if (found) {
        if (!client || ++o->nfound > 1)
            abort();
        check_host(sni);
        memcpy(o->sni, sni, sizeof(sni));
    }
    o->clear += ret;
}

static void run(out *o, bool client, const uint8_t *d, size_t n, uint32_t seed, bool split)
{
    if (!split) {
        feed(o, client, d, n);
    } else {
        uint32_t x = seed * 2654435761u + 7;
        size_t at = 0;
        while (at < n) {
            size_t piece = 1 + next(&x) % 64;
            if (piece > n - at)
                piece = n - at;
            feed(o, client, d + at, piece);
            at += piece;
        }
    }
    lw_tls_dir_free(&o->t);
    if (o->t.hello)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = data[0];
    for (int client = 0; client < 2; client++) {
        out a, b;
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        run(&a, client, data + 1, size - 1, seed, false);
        run(&b, client, data + 1, size - 1, seed, true);
        if (a.t.state != b.t.state || memcmp(a.ctr, b.ctr, sizeof(a.ctr)) != 0)
            abort();
        if (a.nfound != b.nfound || (a.nfound && strcmp(a.sni, b.sni) != 0))
            abort();
        if (b.clear < a.clear || b.clear > a.clear + 4)
            abort();
        if (a.t.state != LW_TLS_ENCRYPTED && a.clear != size - 1)
            abort();
    }
    return 0;
}
