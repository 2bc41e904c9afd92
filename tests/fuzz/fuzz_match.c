/*
 * fuzz_match.c - Hyperscan scanning and walk-back extraction with the
 * shipped signatures on hostile bytes and hostile chunking.
 *
 * The first input byte seeds the chunk sizes; a chunk boundary may also be
 * turned into a gap. The same bytes are then scanned whole in block mode.
 * Checks: every reported value is non-empty, shorter than the limits, its
 * masked sample is printable, terminated and (for values of 8 bytes or more)
 * does not contain the value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/match.h"
#include "leakwatch/signatures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static lw_signature_set *sigs;
static lw_matcher *matcher;
static lw_match_worker *worker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024], path[4096];
    const char *top = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/signatures/pii.yaml", top ? top : LW_SOURCE_DIR_DEFAULT);
    if (lw_signatures_load(path, &sigs, err, sizeof(err)) != LW_OK ||
        lw_matcher_compile(sigs, &matcher, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "fuzz_match: %s\n", err);
        abort();
    }
    worker = lw_match_worker_new(matcher);
    if (!worker)
        abort();
    return 0;
}

static void check_value(void *ctx, const lw_pii_value *v)
{
    (void)ctx;
    if (v->norm_len == 0 || v->norm_len >= LW_PII_VALUE_MAX)
        abort();
    size_t mlen = strnlen(v->masked, LW_PII_MASK_MAX);
    if (mlen == 0 || mlen >= LW_PII_MASK_MAX)
        abort();
    for (size_t i = 0; i < mlen; i++)
        if (v->masked[i] < 0x20 || v->masked[i] > 0x7e)
            abort();
    if (v->norm_len >= 8 && memmem(v->masked, mlen, v->norm, v->norm_len))
        abort();
    if (v->kind >= sigs->kind_count || v->sig_index >= sigs->count)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t seed = data[0];
    data++;
    size--;

    lw_match_stream *s = lw_match_stream_open(worker);
    if (!s)
        return 0;
    size_t off = 0;
    while (off < size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        if (n > size - off)
            n = size - off;
        if (((seed >> 8) & 31) == 0)
            lw_match_stream_gap(worker, s);
        uint8_t *chunk = malloc(n);
        if (!chunk)
            break;
        memcpy(chunk, data + off, n);
        lw_match_stream_scan(worker, s, chunk, n, check_value, NULL);
        free(chunk);
        off += n;
    }
    lw_match_stream_close(worker, s, check_value, NULL);

    uint8_t *whole = malloc(size);
    if (whole) {
        memcpy(whole, data, size);
        lw_match_block_scan(worker, whole, size, check_value, NULL);
        free(whole);
    }
    return 0;
}
