/*
 * pcapfile.h - the records of a classic pcap file held in memory.
 *
 * A capture file replayed offline is mapped into memory and its records are
 * handed on where they lie, instead of being copied by the kernel into a
 * stdio buffer and again by libpcap into its own (see capture.c for when).
 * libpcap still opens the file, checks its header and maps its link type;
 * this walker only steps from record to record after the 24-byte header, and
 * does exactly what libpcap 1.10's reader does with each one, down to its
 * error messages:
 *  - a record header cut short: "truncated dump file; tried to read 16
 *    header bytes, only got N" (LW_ERR_TRUNCATED);
 *  - caplen above the largest libpcap accepts (262,144): "invalid packet
 *    capture length C, bigger than snaplen of S" (LW_ERR_PCAP);
 *  - caplen above the file's snapshot length but within that: the first
 *    snapshot-length bytes, the rest of the record skipped;
 *  - data cut short: "truncated dump file; tried to read C captured bytes,
 *    only got N" (LW_ERR_TRUNCATED);
 *  - time stamps: the two fields are signed 32-bit numbers in a file in
 *    the host's byte order and unsigned ones in the other (as libpcap
 *    reads them), and nanoseconds become microseconds by C's division, as
 *    libpcap gives them when asked for microseconds; lw_capture_next()
 *    then adds them up in 64-bit unsigned arithmetic, and so does this.
 * Only version 2.4 files with one of the two standard magic numbers, in
 * either byte order, are walked here; lw_pcapfile_init() says no to the
 * rest (older versions swap length fields, other magics have other record
 * headers), which libpcap then reads.
 */
#ifndef LEAKWATCH_PCAPFILE_H
#define LEAKWATCH_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

/* libpcap's largest record for every link type the walker is used for. */
#define LW_PCAPFILE_MAX_CAPLEN 262144u

typedef struct lw_pcapfile {
    const uint8_t *buf;
    size_t len;
    size_t off;       /* the next record header */
    uint32_t snaplen; /* the snapshot length libpcap adjusted (pcap_snapshot) */
    bool big_endian;  /* the byte order the file was written in */
    bool nsec;        /* nanosecond time stamps */
    int failed;       /* the error returned, once one was */
    char error[128];  /* the last error, libpcap's words */
} lw_pcapfile;

/* The record's fields as libpcap reports them (for pcap_offline_filter). */
typedef struct lw_pcapfile_rec {
    uint64_t ts_us;  /* seconds * 10^6 + microseconds, from libpcap's signed fields */
    uint32_t caplen; /* after the cut to snaplen */
    uint32_t len;    /* the wire length field, as written */
    const uint8_t *data;
} lw_pcapfile_rec;

/*
 * Whether records of this DLT_* link type may be handed over as they lie in
 * a file written in the other byte order (swapped) or not: libpcap rewrites
 * the pseudo-headers of some link types of swapped files, and allows more
 * than LW_PCAPFILE_MAX_CAPLEN bytes for a few others.
 */
bool lw_pcapfile_link_ok(int linktype, bool swapped);

/*
 * Sets f up to walk buf[0 .. len), a whole file, when its header is one the
 * walker handles and snaplen (libpcap's adjusted snapshot length) is at
 * most LW_PCAPFILE_MAX_CAPLEN; returns false otherwise.
 */
bool lw_pcapfile_init(lw_pcapfile *f, const uint8_t *buf, size_t len, uint32_t snaplen);

/*
 * The next record: 1 with rec filled in, 0 at the end of the file,
 * LW_ERR_TRUNCATED or LW_ERR_PCAP with f->error set. After an error the
 * walk stays at the failed record and keeps returning the error.
 */
int lw_pcapfile_next(lw_pcapfile *f, lw_pcapfile_rec *rec);

#endif
