/*
 * fuzz_validate.c - libFuzzer harness for lw_pick_value, lw_validate,
 * lw_normalise and lw_mask.
 *
 * Input: the first byte picks the pair (low 7 bits: validator and
 * normaliser, high bit: start_ok); the rest is the run. The harness checks,
 * on every input, the promises the alert path relies on:
 *   - nothing crashes or reads out of bounds (ASan, UBSan);
 *   - a picked value's norm_len fits LW_PII_VALUE_MAX and norm is
 *     NUL-terminated there;
 *   - masked is NUL-terminated inside LW_PII_MASK_MAX and printable ASCII;
 *   - masked never contains the whole normalised value when that value is 8
 *     bytes or longer;
 * and the same mask properties for every masker applied to the raw run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/mask.h"
#include "leakwatch/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_masked(const char *masked, size_t cap, const char *norm, size_t len)
{
    size_t mlen = 0;

    while (mlen < cap && masked[mlen] != '\0')
        mlen++;
    if (mlen == cap)
        abort(); /* not NUL-terminated */
    for (size_t i = 0; i < mlen; i++)
        if (masked[i] < 0x20 || masked[i] > 0x7e)
            abort();
    if (len >= 8 && mlen >= len && memmem(masked, mlen, norm, len) != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lw_pii_value out;
    char buf[LW_PII_VALUE_MAX];
    char masked[LW_PII_MASK_MAX];

    if (size < 1)
        return 0;
    unsigned pair = data[0] & 0x7f;
    lw_validator v = (lw_validator)(pair % LW_VALIDATOR_MAX);
    lw_normaliser n = (lw_normaliser)((pair / LW_VALIDATOR_MAX) % LW_NORM_MAX);
    bool start_ok = (data[0] & 0x80) != 0;
    const uint8_t *run = data + 1;
    size_t len = size - 1;

    memset(&out, 0x5a, sizeof(out));
    if (lw_pick_value(v, n, run, len, start_ok, &out)) {
        if (out.norm_len == 0 || out.norm_len >= LW_PII_VALUE_MAX)
            abort();
        if (out.norm[out.norm_len] != '\0')
            abort();
        check_masked(out.masked, sizeof(out.masked), out.norm, out.norm_len);
    } else if (out.norm_len != 0 || out.masked[0] != '\0') {
        abort(); /* a miss leaves nothing behind */
    }

    /* the pieces on their own, on the whole run */
    (void)lw_validate(v, run, len);
    size_t nl = lw_normalise(n, run, len, buf, sizeof(buf));
    if (nl >= sizeof(buf) || buf[nl] != '\0')
        abort();
    for (int m = 0; m < LW_VALIDATOR_MAX; m++) {
        size_t ml = len < LW_PII_VALUE_MAX ? len : LW_PII_VALUE_MAX;
        lw_mask((lw_validator)m, (const char *)run, ml, masked, sizeof(masked));
        check_masked(masked, sizeof(masked), (const char *)run, ml);
        /* and into a small buffer */
        lw_mask((lw_validator)m, (const char *)run, ml, masked, 7);
        check_masked(masked, 7, (const char *)run, ml);
    }
    return 0;
}
