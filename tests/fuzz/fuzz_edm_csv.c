/*
 * fuzz_edm_csv.c - libFuzzer harness for the EDM builder: its CSV reader,
 * header mapping, validation, sorting and serialisation, all in memory.
 *
 * Input: byte 0 chooses options, the rest is CSV text.
 *   bit 0  small caps (max_line 64, max_field 16) so the too-long paths run
 *   bit 1  --canary-column c
 *   bit 2  --label-column l
 *   bit 3  named columns (e=email, p=phone, k=credit_card, s=ssn, i=iban,
 *          a=account_number normalised upper), not detection by header name
 *   bit 4  the text after the first NUL byte is a second CSV, all canaries
 * A header the builder refuses is a normal outcome. Anything it finishes
 * must open with the same key (the builder never writes an index the
 * reader rejects) and answer lookups; the report must add up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/edm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t KEY[LW_EDM_KEY_BYTES] = {0x42, 0x17};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const lw_edm_column cols[] = {
        {"e", "email", NULL}, {"p", "phone", NULL}, {"k", "credit_card", NULL},
        {"s", "ssn", NULL},   {"i", "iban", NULL},  {"a", "account_number", "upper"}};
    lw_edm_build_opts o = {0};
    lw_edm_builder *b = NULL;
    lw_edm_build_report rep;
    const uint8_t *csv2 = NULL;
    size_t len1, len2 = 0;
    uint8_t *idx = NULL, *exact;
    size_t idxlen = 0;
    char err[256];
    uint8_t mode;
    int rc;

    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    len1 = size;
    if (mode & 1) {
        o.max_line = 64;
        o.max_field = 16;
    }
    if (mode & 2)
        o.canary_column = "c";
    if (mode & 4)
        o.label_column = "l";
    if (mode & 8) {
        o.columns = cols;
        o.ncolumns = sizeof(cols) / sizeof(cols[0]);
    }
    if (mode & 16) {
        const uint8_t *nul = memchr(data, 0, size);
        if (nul != NULL) {
            len1 = (size_t)(nul - data);
            csv2 = nul + 1;
            len2 = size - len1 - 1;
        }
    }
    if (lw_edm_builder_new(KEY, &o, &b, err, sizeof(err)) != LW_OK)
        abort();
    rc = lw_edm_builder_add_csv(b, "f.csv", data, len1, false, err, sizeof(err));
    if (rc == LW_OK && csv2 != NULL)
        rc = lw_edm_builder_add_csv(b, "c.csv", csv2, len2, true, err, sizeof(err));
    if (rc == LW_OK) {
        lw_edm *e = NULL;
        uint64_t vals = 0;

        if (lw_edm_builder_finish(b, &idx, &idxlen, err, sizeof(err)) != LW_OK)
            abort();
        lw_edm_builder_report(b, &rep);
        for (size_t k = 0; k < rep.kinds; k++)
            vals += rep.values[k];
        if (rep.entries + rep.duplicates > vals || rep.canaries > rep.records ||
            rep.rows_malformed + rep.rows_too_long + rep.rows_bad_fields > rep.rows)
            abort();
        /* Exact-size copy so an over-read in the reader is caught. */
        exact = malloc(idxlen);
        if (exact == NULL)
            abort();
        memcpy(exact, idx, idxlen);
        if (lw_edm_open_mem(exact, idxlen, KEY, &e, err, sizeof(err)) != LW_OK)
            abort(); /* the builder wrote what the reader refuses */
        (void)lw_edm_lookup(e, "email", "a@example.com", 13, NULL);
        (void)lw_edm_label(e, 0);
        lw_edm_close(e);
        free(exact);
        free(idx);
    } else if (err[0] == '\0') {
        abort();
    }
    lw_edm_builder_free(b);
    return 0;
}
