/*
 * output.h - writing whole event lines to a file or standard output.
 *
 * A line is written with as few write(2) calls as the kernel allows and is
 * never interleaved with another line of ours. Files are opened for append
 * with mode 0640 (alerts describe customer data flows; they are not for
 * every local user). A failed write is counted and reported once per
 * failure streak on stderr; it never stops the sensor. lw_output_reopen()
 * is what logrotate's SIGHUP needs.
 */
#ifndef LEAKWATCH_OUTPUT_H
#define LEAKWATCH_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"

typedef struct lw_output lw_output;

/* Opens path for append ("-" = standard output). On failure writes
 * "PATH: reason" into err. */
int lw_output_open(const char *path, lw_output **out, char *err, size_t errlen) LW_MUST_CHECK;

/* Writes one line (which must end in '\n'). Returns 0 or LW_ERR_IO. */
int lw_output_write(lw_output *o, const char *line, size_t len);

/* Reopens the file by name (after rotation); no-op for stdout. */
int lw_output_reopen(lw_output *o) LW_MUST_CHECK;

uint64_t lw_output_lines(const lw_output *o);
uint64_t lw_output_errors(const lw_output *o);

/* Flushes and closes; returns LW_ERR_IO when the final close failed. */
int lw_output_close(lw_output *o);

#endif
