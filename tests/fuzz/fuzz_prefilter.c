/*
 * fuzz_prefilter.c - the match stage's gate on hostile bytes: the shipped
 * signatures compiled with the prefilter (best classifier and the scalar
 * one) must report exactly what they report without it, in the same order,
 * for the same chunking, gaps and item ends, and for a whole-buffer block
 * scan.
 *
 * The first input byte seeds the script (chunk sizes 1..512, now and then
 * a gap or an item end). Values are compared in memory and never printed;
 * a difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/match.h"
#include "leakwatch/prefilter.h"
#include "leakwatch/signatures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_SEEN 4096

typedef struct seen {
    size_t n;
    uint64_t hash[MAX_SEEN]; /* kind, signature and value folded */
} seen;

static lw_signature_set *sigs;
static lw_match_worker *workers[3]; /* ungated, gated (best), gated (scalar) */
static seen results[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024], path[4096];
    const char *top = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/signatures/pii.yaml", top ? top : LW_SOURCE_DIR_DEFAULT);
    if (lw_signatures_load(path, &sigs, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "fuzz_prefilter: %s\n", err);
        abort();
    }
    const lw_match_opts opts[3] = {{.prefilter = false},
                                   {.prefilter = true, .prefilter_impl = LW_PREFILTER_AUTO},
                                   {.prefilter = true, .prefilter_impl = LW_PREFILTER_SCALAR}};
    for (int i = 0; i < 3; i++) {
        lw_matcher *m;
        if (lw_matcher_compile_opts(sigs, &opts[i], &m, err, sizeof(err)) != LW_OK) {
            fprintf(stderr, "fuzz_prefilter: %s\n", err);
            abort();
        }
        workers[i] = lw_match_worker_new(m); /* the matchers live as long as the process */
        if (!workers[i])
            abort();
    }
    return 0;
}

static void record(void *ctx, const lw_pii_value *v)
{
    seen *s = ctx;
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)v->kind << 16 | v->sig_index);
    for (size_t i = 0; i < v->norm_len; i++) {
        h ^= (uint8_t)v->norm[i];
        h *= 1099511628211ull;
    }
    if (s->n < MAX_SEEN)
        s->hash[s->n] = h;
    s->n++;
}

static void run(int k, const uint8_t *data, size_t size, uint32_t seed)
{
    lw_match_worker *w = workers[k];
    seen *out = &results[k];
    out->n = 0;
    lw_match_stream *s = lw_match_stream_open(w);
    if (!s)
        abort(); /* all three must run the same script */
    size_t off = 0;
    while (off < size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 512;
        if (n > size - off)
            n = size - off;
        uint32_t ev = (seed >> 8) & 63;
        if (ev == 0)
            lw_match_stream_gap(w, s);
        else if (ev == 1)
            lw_match_stream_end_item(w, s, record, out);
        /* a private copy: the stage must not keep the caller's buffer */
        uint8_t *chunk = malloc(n);
        if (!chunk)
            abort();
        memcpy(chunk, data + off, n);
        lw_match_stream_scan(w, s, chunk, n, record, out);
        free(chunk);
        off += n;
    }
    lw_match_stream_close(w, s, record, out);
    lw_match_block_scan(w, data, size, record, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t seed = data[0];
    for (int k = 0; k < 3; k++)
        run(k, data + 1, size - 1, seed);
    for (int k = 1; k < 3; k++) {
        if (results[k].n != results[0].n)
            abort();
        size_t n = results[0].n < MAX_SEEN ? results[0].n : MAX_SEEN;
        if (memcmp(results[k].hash, results[0].hash, n * sizeof(uint64_t)) != 0)
            abort();
    }
    return 0;
}
