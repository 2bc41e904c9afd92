/*
 * runtime.h - the running sensor: capture thread, workers, signals, stats.
 *
 * One capture thread reads the sources (files in the order given, or every
 * live interface at once), finds each packet's inside host (dispatch.h) and
 * hands the packet to that host's worker through the worker's ring
 * (ring.h). Each worker owns one engine (engine.h), so burst state is never
 * shared. With one worker there is no ring and no thread: the capture
 * thread runs the engine itself, which keeps one-worker replays
 * byte-identical from run to run.
 *
 * Time: packet time only. The capture thread's clock is the largest packet
 * time seen (on a live interface, also the wall clock while the link is
 * quiet); every advance reaches every worker (a "tick" when it has no
 * packet for it), so a worker's time-outs fire exactly when a single
 * worker's would. Stats requests, reloads and the end of input travel
 * through the rings too, so each worker sees them at the same point of the
 * packet stream.
 *
 * Back-pressure: replaying files, a full ring makes the capture thread wait
 * (an analyst wants every packet). On a live interface it never waits: the
 * packet is dropped and counted (capture.ring_full).
 *
 * Signals: SIGINT/SIGTERM stop reading, drain the rings, end every flow
 * (held alerts are written), write the final stats and return 0. SIGHUP
 * reopens the outputs and reloads config, signatures and EDM index: the new
 * generation is loaded beside the old and only a complete one replaces it
 * (a bad file is reported on stderr and the old one kept). A reload ends
 * every flow as the end of input would and starts burst windows afresh.
 * Keys read only at start (outputs, runmode, capture, run) keep their old
 * values until restart. SIGUSR1 writes stats lines now. Signals arriving
 * faster than they are handled are coalesced.
 */
#ifndef LEAKWATCH_RUNTIME_H
#define LEAKWATCH_RUNTIME_H

#include <stddef.h>

#include "leakwatch/generation.h"

typedef struct lw_runtime_opts {
    lw_load_spec load;        /* -c and --set, kept for reloads */
    const char *const *files; /* -r, in order */
    size_t n_files;
    const char *const *ifaces; /* -i, added to capture.interfaces */
    size_t n_ifaces;
    const char *output;  /* -o: replaces `outputs` (NULL = config) */
    const char *user;    /* --user (NULL = run.user) */
    const char *group;   /* --group (NULL = run.group) */
    const char *pidfile; /* --pidfile (NULL = run.pidfile) */
} lw_runtime_opts;

/*
 * Runs the sensor until the input ends or SIGINT/SIGTERM. Returns the exit
 * status of main.c's contract: 0 done, 2 a start-up error (config,
 * signatures, input, output, user; one line on stderr), 1 a runtime
 * failure (out of memory, lines lost, every interface gone).
 */
int lw_runtime_run(const lw_runtime_opts *opts);

#endif
