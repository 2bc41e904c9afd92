/*
 * engine.h - the worker loop's sequencer: the only code that knows the order
 * of the stages.
 *
 * For each packet: decode -> flow -> (TCP) stream -> app detection -> match
 * (egress directions only) -> burst -> alert -> output. Each stage is a leaf
 * that returns its result here; stages never call each other. The engine
 * owns the per-worker state of every stage (flow table, burst table, match
 * scratch, counters) and the per-flow slots' lifecycle.
 *
 * Time is packet time. The engine's clock is the largest packet time seen,
 * so a capture whose timestamps step backwards cannot run time-outs
 * backwards.
 */
#ifndef LEAKWATCH_ENGINE_H
#define LEAKWATCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/alert.h"
#include "leakwatch/config.h"
#include "leakwatch/edm.h"
#include "leakwatch/err.h"
#include "leakwatch/geoip.h"
#include "leakwatch/match.h"
#include "leakwatch/output.h"
#include "leakwatch/policy.h"
#include "leakwatch/signatures.h"
#include "leakwatch/types.h"

typedef struct lw_engine lw_engine;

/* What an engine reads and never changes; all of it must outlive the
 * engine (a configuration generation holds it). */
typedef struct lw_engine_deps {
    const lw_config *cfg;
    const lw_signature_set *sigs;
    const lw_matcher *matcher;
    const lw_edm *edm;       /* NULL: exact data matching off */
    const lw_policy *policy; /* required: detectors, allow-lists, rules */
    const lw_geoip *geoip;   /* NULL: no geo section in alerts */
    bool deterministic;      /* replaying files: fixed burst hash keys, so estimated counts
                                (and so alerts) are the same every run; live: random keys */
} lw_engine_deps;

/*
 * Creates a worker engine writing to out (which must outlive it). Returns
 * NULL on allocation failure with a message in err.
 */
lw_engine *lw_engine_new(const lw_engine_deps *deps, lw_output *out, char *err, size_t errlen);

/* Runs one captured packet through the pipeline. */
void lw_engine_packet(lw_engine *e, lw_packet *p);

/*
 * Advances the engine's clock to ts_us (if later) and does the work that
 * time alone triggers - flow, fragment and burst time-outs, held alerts
 * whose window passed - without a packet. A worker that sees no packet for
 * a while still needs this: the capture thread sends it every advance of
 * its clock, so each worker's clock moves exactly as a single worker's
 * would.
 */
void lw_engine_tick(lw_engine *e, uint64_t ts_us);

/* End of input: releases every flow (closing streams, which may still
 * alert). Stats are the caller's to write (lw_engine_stats). */
void lw_engine_finish(lw_engine *e);

/* Upper bound of the counters lw_engine_stats() reports. */
#define LW_ENGINE_STATS_MAX 512

/*
 * A snapshot of every counter, in a fixed order for a given signature set:
 * names are static or owned by the engine (valid until lw_engine_free).
 * Returns how many were written (at most cap).
 */
size_t lw_engine_stats(lw_engine *e, lw_stat *st, size_t cap);

/* The engine's clock: the largest packet or tick time seen. */
uint64_t lw_engine_now(const lw_engine *e);

/* Alerts written so far. */
uint64_t lw_engine_alerts(const lw_engine *e);

void lw_engine_free(lw_engine *e);

#endif
