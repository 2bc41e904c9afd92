/*
 * capture.h - reading packets from capture files with libpcap.
 *
 * Offline only for now: pcap and pcapng files (libpcap reads both), or
 * standard input when the path is "-". Timestamps are delivered in
 * microseconds whatever the file's precision, and they are the only clock
 * the rest of the sensor sees, so a replay is deterministic.
 *
 * A file that ends inside a record (a capture cut short by a full disk or a
 * killed tcpdump) is not fatal: every packet before the cut is delivered,
 * then lw_capture_next() returns LW_ERR_TRUNCATED once, with the message in
 * lw_capture_error(), and the caller moves on.
 */
#ifndef LEAKWATCH_CAPTURE_H
#define LEAKWATCH_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leakwatch/err.h"
#include "leakwatch/types.h"

typedef struct lw_capture lw_capture;

/*
 * Opens a capture file ("-" = stdin). On failure returns LW_ERR_PCAP (or
 * LW_ERR_NOMEM) and writes "PATH: reason" into err.
 */
int lw_capture_open_offline(const char *path, lw_capture **out, char *err,
                            size_t errlen) LW_MUST_CHECK;

/*
 * Opens a capture from an already open stream (a pipe, fmemopen for the
 * fuzzer); the capture owns f from then on, also on failure. `name` is used
 * in messages.
 */
int lw_capture_open_stream(FILE *f, const char *name, lw_capture **out, char *err,
                           size_t errlen) LW_MUST_CHECK;

/*
 * Reads the next packet into p's capture fields (ts_us, data, caplen,
 * wirelen, linktype). p->data stays valid until the next call.
 * Returns 1 for a packet, 0 at the end of the file, LW_ERR_TRUNCATED when
 * the file ends inside a record, LW_ERR_PCAP on another read error.
 */
int lw_capture_next(lw_capture *c, lw_packet *p);

/* The libpcap message of the last error, with the file name. */
const char *lw_capture_error(const lw_capture *c);

/* The file's DLT_* link type. */
int lw_capture_linktype(const lw_capture *c);

/* Bytes of the file read so far and its size (0 when unknown, e.g. stdin);
 * for progress reports. */
void lw_capture_progress(const lw_capture *c, uint64_t *done, uint64_t *total);

void lw_capture_close(lw_capture *c);

#endif
