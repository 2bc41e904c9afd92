/*
 * fuzz_signatures.c - libFuzzer harness for the signature file loader.
 *
 * The input is parsed as a signature file; its first line is also tried as
 * a charset body. A successful load must keep the promises of
 * signatures.h: at least one signature, kinds in range, max_len and
 * severity in range, and a boundary that parses back to the same map.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/signatures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const lw_signature_set *set)
{
    uint8_t map[32];
    size_t i;

    if (set->count == 0 || set->count > LW_SIG_MAX_SIGNATURES || set->kind_count == 0 ||
        set->kind_count > LW_SIG_MAX_KINDS)
        abort();
    for (i = 0; i < set->count; i++) {
        const lw_signature *s = &set->sigs[i];
        if (s->id == 0 || s->kind >= set->kind_count || s->max_len == 0 ||
            s->max_len >= LW_PII_VALUE_MAX || s->severity < 1 || s->severity > 4 ||
            s->validator >= LW_VALIDATOR_MAX || s->normaliser >= LW_NORM_MAX || s->name == NULL ||
            s->regex == NULL || s->boundary == NULL)
            abort();
        if (lw_charset_parse(s->boundary, map) != 0 ||
            memcmp(map, s->boundary_map, sizeof(map)) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lw_signature_set *set = NULL;
    char err[256], line[512];
    uint8_t map[32];
    size_t len = 0;

    if (lw_signatures_parse("fuzz/pii.yaml", (const char *)data, size, &set, err, sizeof(err)) ==
        0) {
        check(set);
        lw_signatures_free(set);
    } else if (set != NULL) {
        abort();
    }

    while (len < size && len < sizeof(line) - 1 && data[len] != '\n' && data[len] != '\0')
        len++;
    memcpy(line, data, len);
    line[len] = '\0';
    if (lw_charset_parse(line, map) != 0) {
        for (size_t i = 0; i < sizeof(map); i++)
            if (map[i] != 0)
                abort();
    }
    return 0;
}
