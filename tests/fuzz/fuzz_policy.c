/*
 * fuzz_policy.c - libFuzzer harness for the policy loader and decisions.
 *
 * The input is parsed as a policy file (lw_policy_parse, under a name in a
 * directory that does not exist, so a relative domains_file is never
 * found). When it loads, the harness checks what a loaded policy promises
 * (1..LW_POLICY_MAX_DETECTORS detectors with values in range, named
 * entries) and decides for a few destinations: addresses and names made
 * from the input's own bytes plus fixed ones, with and without GeoIP data.
 * Verdicts must point at existing entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_verdict(const lw_policy *p, const lw_policy_verdict *v)
{
    if (v->allow >= 0 && ((size_t)v->allow >= lw_policy_allow_count(p) || v->rule != -1))
        abort();
    if (v->rule >= 0 && (size_t)v->rule >= lw_policy_rule_count(p))
        abort();
    if (v->severity > 4 || v->threshold > 1000000)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fixed[] = {"pastebin.com", "A.B.Example.COM.", "crm.example.com", "..",
                                        ""};
    lw_config cfg;
    lw_policy *p;
    lw_policy_dest d;
    lw_policy_verdict v;
    lw_geo geo;
    char err[512], name[300];
    size_t i, n;

    lw_config_defaults(&cfg);
    if (lw_policy_parse("/nonexistent-fuzz-dir/policy.yaml", (const char *)data, size, &cfg, &p,
                        err, sizeof(err)) != 0) {
        if (p != NULL || err[0] == '\0')
            abort();
        return 0;
    }
    n = lw_policy_detector_count(p);
    if (n == 0 || n > LW_POLICY_MAX_DETECTORS)
        abort();
    for (i = 0; i < n; i++) {
        const lw_detector *det = lw_policy_detector(p, i);
        if (det->window_s == 0 || det->window_s > 86400 || det->threshold == 0 || det->sid == 0 ||
            det->name[0] == '\0')
            abort();
    }
    for (i = 0; i < lw_policy_allow_count(p); i++)
        if (lw_policy_allow_name(p, i)[0] == '\0')
            abort();
    for (i = 0; i < lw_policy_rule_count(p); i++)
        if (lw_policy_rule_name(p, i)[0] == '\0')
            abort();

    /* A name from the input's last bytes (the part most likely to be a
     * domain written in a list) and an address from its first. */
    n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
    memcpy(name, data + size - n, n);
    name[n] = '\0';
    memset(&d, 0, sizeof(d));
    memset(&geo, 0, sizeof(geo));
    memcpy(d.addr.b, data, size < sizeof(d.addr.b) ? size : sizeof(d.addr.b));
    for (int fam = 4; fam <= 6; fam += 2) {
        d.addr.family = (uint8_t)fam;
        d.n_names = 0;
        d.names[d.n_names++] = name;
        for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
            d.names[d.n_names++] = fixed[i];
        d.geo = NULL;
        lw_policy_decide(p, &d, &v);
        check_verdict(p, &v);
        geo.asn = size >= 4 ? (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                                  (uint32_t)data[2] << 8 | data[3]
                            : 64500;
        geo.country_iso[0] = size > 4 ? (char)data[4] : 'D';
        geo.country_iso[1] = size > 5 ? (char)data[5] : 'E';
        d.geo = &geo;
        lw_policy_decide(p, &d, &v);
        check_verdict(p, &v);
    }
    lw_policy_free(p);
    return 0;
}
