/*
 * output.h - where event lines go: files, stdout, unix sockets, syslog.
 *
 * An lw_output is the set of sinks the `outputs:` config list names; every
 * line goes to each of them. It is shared by all workers: a line is written
 * to every sink under one lock, so lines of different workers never
 * interleave, and each sink gets whole lines or nothing.
 *
 * Sink specs (one string each):
 *   file:PATH              append to PATH (created 0640: alerts describe
 *                          customer data flows, not for every local user)
 *   stdout  (or "-")       standard output
 *   unix-stream:PATH       connect to a listening unix stream socket
 *   unix-dgram:PATH        send one datagram per line to a unix socket
 *   syslog[:FACILITY][@PATH]  RFC 5424 over the local syslog socket
 *                          (default facility local0, PATH /dev/log)
 * A bare path with no scheme is a file.
 *
 * Failures never stop the sensor. A file write that fails is counted and
 * reported once per failure streak on stderr; a line cut short by a full
 * disk is taken back, so a file never holds half a line; writing resumes
 * when space returns. A socket whose peer is gone is reconnected with
 * back-off (100 ms doubling to 30 s, on the monotonic clock); lines meanwhile
 * wait in a bounded backlog (1 MiB per sink) and are sent in order once it
 * is back; a line that does not fit in the backlog is dropped and counted.
 * Opening a socket sink whose peer is not listening yet is not an error.
 */
#ifndef LEAKWATCH_OUTPUT_H
#define LEAKWATCH_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"

typedef struct lw_output lw_output;

#define LW_OUTPUT_MAX_SINKS 16

/*
 * Opens every sink of specs[0..n-1] (n >= 1). A file that cannot be
 * opened or a spec that does not parse is an error: "SPEC: reason" in err,
 * nothing left open. Sockets connect lazily.
 */
int lw_output_open_specs(const char *const *specs, size_t n, lw_output **out, char *err,
                         size_t errlen) LW_MUST_CHECK;

/* One sink: "-" = standard output, anything else a spec as above. */
int lw_output_open(const char *spec, lw_output **out, char *err, size_t errlen) LW_MUST_CHECK;

/*
 * Writes one line (which must end in '\n') to every sink. Thread-safe.
 * Returns 0 when every sink took the line (or queued it for a peer that
 * is away), LW_ERR_IO when at least one sink lost it.
 */
int lw_output_write(lw_output *o, const char *line, size_t len);

/*
 * Reopens files by name (after logrotate moved them) and retries sockets
 * now. Thread-safe. A file that cannot be reopened keeps the old
 * descriptor; returns LW_ERR_IO and says which on stderr.
 */
int lw_output_reopen(lw_output *o) LW_MUST_CHECK;

/* Lines every sink took / lines lost by at least one sink (write errors
 * and backlog overflows). Thread-safe. */
uint64_t lw_output_lines(const lw_output *o);
uint64_t lw_output_errors(const lw_output *o);

/* Per-sink figures for stats: spec, lines written, lines lost,
 * reconnects. Returns false past the last sink. */
typedef struct lw_output_sink_stats {
    const char *spec;
    uint64_t written, lost, reconnects;
} lw_output_sink_stats;
bool lw_output_sink_at(const lw_output *o, size_t i, lw_output_sink_stats *st);

/* Sends what is in the socket backlogs (waiting up to timeout_ms for an
 * absent peer), then closes every sink. Returns LW_ERR_IO when a final
 * close failed or lines were left unsent. */
int lw_output_close(lw_output *o, int timeout_ms);

#endif
