/*
 * fuzz_edm.c - libFuzzer harness for loading an EDM index
 * (lw_edm_open_mem) and for every query on an index that loaded.
 *
 * The input is the index file itself, opened with a fixed key. A mutated
 * file almost never keeps a valid checksum, so each input is opened twice:
 * as it is (magic, version, size and checksum checks), and as a copy whose
 * checksum field is recomputed, which lets the fuzzer reach the structural
 * checks behind the checksum (section offsets, kind names, entry order and
 * ranges, the label table) - the checks that stand between a crafted but
 * well-sealed file and an out-of-bounds read. The seed corpus
 * (tests/fuzz/corpus/edm/) holds valid indexes built with this key, so the
 * key check passes until the fuzzer touches it. After a successful open the
 * harness looks values of every kind up, reads labels and stats, and checks
 * that a label is NUL-terminated printable text and the stats add up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/edm.h"

#include "../../sensor/edm/edm_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed corpus was built with this key (bytes 0x00..0x1f). */
static const uint8_t KEY[LW_EDM_KEY_BYTES] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static void check_label(const char *l)
{
    size_t n = strlen(l);

    if (n >= 1u << 20)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)l[i] < 0x20 || l[i] == 0x7f)
            abort();
}

static void query(const lw_edm *e)
{
    static const char *const probes[][2] = {
        {"email", "a@example.com"},
        {"phone", "+14155550132"},
        {"credit_card", "4111111111111111"},
        {"ssn", "536221234"},
        {"iban", "GB82WEST12345698765432"},
        {"account_number", "AC-0001"},
        {"email", ""},
    };
    lw_edm_info info;
    uint64_t sum = 0;

    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        lw_edm_hit hit = {0, false};
        if (lw_edm_lookup(e, probes[i][0], probes[i][1], strlen(probes[i][1]), &hit)) {
            check_label(lw_edm_label(e, hit.record));
            if (hit.canary && lw_edm_label(e, hit.record)[0] == '\0')
                abort(); /* a canary always has a label */
        }
    }
    lw_edm_stats(e, &info);
    if (info.kinds > 8 || info.canaries > info.records)
        abort();
    for (size_t k = 0; k < info.kinds; k++)
        sum += info.entries_per_kind[k];
    if (sum != info.entries)
        abort();
    for (uint64_t r = 0; r < info.records && r < 64; r++)
        check_label(lw_edm_label(e, (uint32_t)r));
    check_label(lw_edm_label(e, UINT32_MAX));
    (void)lw_edm_key_matches(e, KEY);
}

static void try_open(const uint8_t *d, size_t len, const uint8_t *key)
{
    char err[256];
    lw_edm *e = NULL;

    if (lw_edm_open_mem(d, len, key, &e, err, sizeof(err)) == LW_OK) {
        query(e);
        lw_edm_close(e);
    } else if (e != NULL || err[0] == '\0') {
        abort(); /* a failure leaves nothing open and says why */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    try_open(data, size, KEY);
    if (size < LW_EDMF_HEADER_SIZE)
        return 0;
    /* An exact-size heap copy, so ASan sees any read past the end. */
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    lw_edmf_checksum(copy, size, copy + LW_EDMF_OFF_CHECKSUM);
    try_open(copy, size, KEY);
    try_open(copy, size, NULL);
    free(copy);
    return 0;
}
