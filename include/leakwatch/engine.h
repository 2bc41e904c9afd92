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

#include "leakwatch/config.h"
#include "leakwatch/edm.h"
#include "leakwatch/err.h"
#include "leakwatch/match.h"
#include "leakwatch/output.h"
#include "leakwatch/signatures.h"
#include "leakwatch/types.h"

typedef struct lw_engine lw_engine;

/* Engine-level events the caller reports (capture problems). */
typedef enum lw_engine_event_kind {
    LW_ENGINE_FILE_DONE,      /* a capture file was read to its end */
    LW_ENGINE_FILE_TRUNCATED, /* a capture file ended inside a record */
    LW_ENGINE_FILE_ERROR,     /* a capture file could not be read on */
} lw_engine_event_kind;

/*
 * Creates a worker engine. cfg, sigs, matcher, edm (NULL = exact data
 * matching off) and out must outlive it. Returns NULL on allocation failure
 * with a message in err.
 */
lw_engine *lw_engine_new(const lw_config *cfg, const lw_signature_set *sigs,
                         const lw_matcher *matcher, const lw_edm *edm, lw_output *out, char *err,
                         size_t errlen);

/* Runs one captured packet through the pipeline. */
void lw_engine_packet(lw_engine *e, lw_packet *p);

void lw_engine_event(lw_engine *e, lw_engine_event_kind ev);

/* End of input: releases every flow (closing streams, which may still
 * alert) and writes the final stats line. */
void lw_engine_finish(lw_engine *e);

/* Alerts written so far. */
uint64_t lw_engine_alerts(const lw_engine *e);

void lw_engine_free(lw_engine *e);

#endif
