/*
 * capture.h - packets from capture files or network interfaces (libpcap).
 *
 * Offline: pcap and pcapng files (libpcap opens both), or standard input
 * when the path is "-". A pcap file on disk (version 2.4, a link type
 * libpcap hands over unchanged) is mapped into memory at its first read
 * and its records are handed over where they lie (pcapfile.h), exactly as
 * libpcap would hand them over; a file that shrinks while it is read ends
 * as a truncated one, and one that grows is read as large as it was when
 * its reading started. Everything else is read by libpcap.
 *
 * Live: an interface opened with pcap_create() and pcap_activate(), so
 * snaplen, promiscuous mode, kernel buffer size and immediate mode are set
 * before activation (on Linux libpcap then uses its TPACKET_V3
 * memory-mapped ring). Timestamps are delivered in microseconds whatever
 * the source's precision, and they are the only clock the rest of the
 * sensor sees, so a replay is deterministic.
 *
 * A file that ends inside a record (a capture cut short by a full disk or a
 * killed tcpdump) is not fatal: every packet before the cut is delivered,
 * then lw_capture_next() returns LW_ERR_TRUNCATED once, with the message in
 * lw_capture_error(), and the caller moves on.
 */
#ifndef LEAKWATCH_CAPTURE_H
#define LEAKWATCH_CAPTURE_H

#include <stdbool.h>
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

/* Options of a live capture; see etc/leakwatch.yaml (capture.*). */
typedef struct lw_capture_live_opts {
    const char *iface;    /* interface name, e.g. "eth1" */
    uint32_t snaplen;     /* bytes kept per packet */
    uint64_t buffer_size; /* kernel ring, bytes (pcap_set_buffer_size) */
    bool promisc;         /* promiscuous mode (a SPAN port needs it) */
    bool immediate;       /* deliver each packet at once instead of in blocks */
    int timeout_ms;       /* longest wait for a block of packets */
} lw_capture_live_opts;

/*
 * Opens and activates an interface. Non-blocking: lw_capture_next() returns
 * LW_CAPTURE_IDLE instead of waiting; wait on lw_capture_fd(). A libpcap
 * warning (e.g. promiscuous mode not supported) is written into err with
 * LW_OK returned. On failure returns LW_ERR_PCAP with "IFACE: reason".
 */
int lw_capture_open_live(const lw_capture_live_opts *opts, lw_capture **out, char *err,
                         size_t errlen) LW_MUST_CHECK;

/*
 * Applies a BPF filter (capture.bpf; "" = none) to a live or offline
 * capture. Returns LW_ERR_PCAP with "NAME: bpf 'EXPR': reason" when it does
 * not compile.
 */
int lw_capture_set_filter(lw_capture *c, const char *expr, char *err, size_t errlen) LW_MUST_CHECK;

/* lw_capture_next()'s "no packet right now" for live captures. */
#define LW_CAPTURE_IDLE 2

/*
 * Reads the next packet into p's capture fields (ts_us, data, caplen,
 * wirelen, linktype). p->data stays valid until the next call (a mapped
 * file's pages behind the current record are released as it goes).
 * Returns 1 for a packet, 0 at the end of the file, LW_CAPTURE_IDLE when a
 * live capture has nothing now, LW_ERR_TRUNCATED when the file ends inside
 * a record, LW_ERR_PCAP on another read error.
 */
int lw_capture_next(lw_capture *c, lw_packet *p);

/* True for an interface, false for a file. */
bool lw_capture_is_live(const lw_capture *c);

/* True while the packets come from the file mapped into memory (from the
 * first lw_capture_next() of a plain pcap file on disk): the next read
 * cannot block. A pipe, a FIFO or libpcap's own reading may wait for
 * bytes, so a caller holding work back in batches must hand it on first. */
bool lw_capture_is_mapped(const lw_capture *c);

/* A descriptor to poll(2) for readability (live), or -1 (files). */
int lw_capture_fd(const lw_capture *c);

/*
 * Kernel counters of a live capture since it was opened, widened to 64 bits
 * (libpcap's are 32-bit and wrap): packets received, dropped because the
 * ring was full (ps_drop) and dropped by the interface (ps_ifdrop). Call
 * at least once per 2^32 packets. Returns LW_ERR_PCAP when libpcap cannot
 * say (files: all zero and LW_OK).
 */
int lw_capture_kernel_stats(lw_capture *c, uint64_t *recv, uint64_t *drop,
                            uint64_t *ifdrop) LW_MUST_CHECK;

/* The interface or file name it was opened with. */
const char *lw_capture_name(const lw_capture *c);

/* The libpcap message of the last error, with the file name. */
const char *lw_capture_error(const lw_capture *c);

/* The file's DLT_* link type. */
int lw_capture_linktype(const lw_capture *c);

/* Bytes of the file read so far and its size (0 when unknown, e.g. stdin);
 * for progress reports. */
void lw_capture_progress(const lw_capture *c, uint64_t *done, uint64_t *total);

void lw_capture_close(lw_capture *c);

#endif
