/*
 * generation.h - one loaded configuration: config, signatures, the compiled
 * Hyperscan database and the exact-data-matching index, as one unit.
 *
 * Start-up loads the first generation; SIGHUP loads the next one beside it
 * and, only when every part of it loaded, hands it to the workers. A
 * generation is reference-counted: the capture thread holds the current one,
 * each worker the one its engine was built from, and the last holder frees
 * it. A bad new file therefore never disturbs the running generation.
 */
#ifndef LEAKWATCH_GENERATION_H
#define LEAKWATCH_GENERATION_H

#include <stdatomic.h>
#include <stddef.h>

#include "leakwatch/config.h"
#include "leakwatch/edm.h"
#include "leakwatch/err.h"
#include "leakwatch/geoip.h"
#include "leakwatch/match.h"
#include "leakwatch/policy.h"
#include "leakwatch/signatures.h"

/* What to load: defaults, then the file (NULL = none), then each --set. */
typedef struct lw_load_spec {
    const char *config_path;
    const char *const *sets;
    size_t n_sets;
} lw_load_spec;

typedef struct lw_generation {
    lw_config *cfg;
    lw_signature_set *sigs;
    lw_matcher *matcher;
    lw_edm *edm; /* NULL: exact data matching off */
    lw_policy *policy;
    lw_geoip *geoip; /* never NULL; may have no database open */
    atomic_int refs;
} lw_generation;

/*
 * Loads and checks everything; *out holds one reference. On failure returns
 * a negative LW_ERR_* with one line in err naming the file (and line) or
 * the --set argument. A GeoIP database that fails to open with
 * geoip.required off is a warning on stderr, not a failure.
 */
int lw_generation_load(const lw_load_spec *spec, lw_generation **out, char *err,
                       size_t errlen) LW_MUST_CHECK;

lw_generation *lw_generation_ref(lw_generation *g);
void lw_generation_unref(lw_generation *g);

#endif
