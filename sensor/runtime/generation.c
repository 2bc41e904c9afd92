/*
 * generation.c - loading one configuration generation (see generation.h).
 *
 * The order is the documented one: defaults, the -c file, each --set, the
 * cross-key checks, the signature file, the Hyperscan compile, then the EDM
 * key and index. Each step's error is one line that names what was wrong;
 * nothing half-loaded escapes.
 */
#include "leakwatch/generation.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

static void free_parts(lw_generation *g)
{
    lw_geoip_close(g->geoip);
    lw_policy_free(g->policy);
    lw_edm_close(g->edm);
    lw_matcher_free(g->matcher);
    lw_signatures_free(g->sigs);
    free(g->cfg);
    free(g);
}

int lw_generation_load(const lw_load_spec *spec, lw_generation **out, char *err, size_t errlen)
{
    char msg[1024];
    int rc;

    *out = NULL;
    lw_generation *g = calloc(1, sizeof(*g));
    if (g)
        g->cfg = calloc(1, sizeof(*g->cfg));
    if (!g || !g->cfg) {
        free(g);
        snprintf(err, errlen, "out of memory loading the configuration");
        return LW_ERR_NOMEM;
    }
    lw_config_defaults(g->cfg);
    if (spec->config_path) {
        rc = lw_config_load_file(g->cfg, spec->config_path, err, errlen);
        if (rc != LW_OK)
            goto fail;
    }
    for (size_t i = 0; i < spec->n_sets; i++) {
        rc = lw_config_set(g->cfg, spec->sets[i], err, errlen);
        if (rc != LW_OK)
            goto fail;
    }
    rc = lw_config_check(g->cfg, err, errlen);
    if (rc != LW_OK)
        goto fail;
    rc = lw_signatures_load(g->cfg->signatures, &g->sigs, err, errlen);
    if (rc != LW_OK)
        goto fail;
    lw_dbcache_stats cache = {0};
    lw_match_opts mopts = {
        .prefilter = true, .cache_dir = g->cfg->match.cache_dir, .cache_stats = &cache};
    rc = lw_matcher_compile_opts(g->sigs, &mopts, &g->matcher, msg, sizeof(msg));
    if (rc != LW_OK) {
        snprintf(err, errlen, "%s: %s", g->cfg->signatures, msg);
        goto fail;
    }
    if (cache.warning[0])
        fprintf(stderr, "leakwatch: warning: match.cache_dir: %s\n", cache.warning);
    if (g->cfg->edm.index[0]) {
        uint8_t key[LW_EDM_KEY_BYTES];
        if (!g->cfg->edm.key[0]) {
            snprintf(err, errlen, "edm.index is set but edm.key is not");
            rc = LW_ERR_INVAL;
            goto fail;
        }
        rc = lw_edm_key_load(g->cfg->edm.key, key, err, errlen);
        if (rc == LW_OK)
            rc = lw_edm_open(g->cfg->edm.index, key, &g->edm, err, errlen);
        sodium_memzero(key, sizeof(key));
        if (rc != LW_OK)
            goto fail;
    }
    rc = lw_policy_load(g->cfg->policy, g->cfg, &g->policy, err, errlen);
    if (rc != LW_OK)
        goto fail;
    lw_geoip_paths gp = {g->cfg->geoip.country_db, g->cfg->geoip.asn_db, g->cfg->geoip.city_db};
    rc = lw_geoip_open(&gp, &g->geoip, err, errlen);
    if (rc != LW_OK && !g->cfg->geoip.required) {
        fprintf(stderr,
                "leakwatch: warning: %s (geoip.required is off: alerts go out without "
                "the geo section)\n",
                err);
        lw_geoip_paths none = {NULL, NULL, NULL};
        rc = lw_geoip_open(&none, &g->geoip, err, errlen);
    }
    if (rc != LW_OK)
        goto fail;
    atomic_init(&g->refs, 1);
    *out = g;
    return LW_OK;
fail:
    free_parts(g);
    return rc;
}

lw_generation *lw_generation_ref(lw_generation *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

void lw_generation_unref(lw_generation *g)
{
    if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        free_parts(g);
}
