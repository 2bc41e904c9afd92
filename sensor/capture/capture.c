/*
 * capture.c - offline packet source on top of libpcap.
 *
 * libpcap does the file formats (pcap in either byte order and precision,
 * pcapng with several interfaces); this file only turns its records into
 * packet views and its errors into our vocabulary.
 *
 * libpcap reports a record cut short by the end of the file as a generic
 * read error whose message says "truncated dump file"; we map that to
 * LW_ERR_TRUNCATED so the caller can say what happened and carry on. A
 * record whose caplen exceeds the snapshot length is rejected by libpcap
 * itself before it reaches us, so caplen is always bounded.
 */
#include "leakwatch/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct lw_capture {
    pcap_t *pcap;
    char path[1024];
    char error[PCAP_ERRBUF_SIZE + 1100];
    uint64_t size; /* file size, 0 when unknown */
    int linktype;
};

int lw_capture_open_offline(const char *path, lw_capture **out, char *err, size_t errlen)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    *out = NULL;

    lw_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        return LW_ERR_NOMEM;
    }
    snprintf(c->path, sizeof(c->path), "%s", path);

    /* Ask for microseconds: nanosecond files are converted by libpcap, so
     * the rest of the sensor has one unit of time. */
    c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
    if (!c->pcap) {
        snprintf(err, errlen, "%s: %s", path, pcap_err);
        free(c);
        return LW_ERR_PCAP;
    }
    c->linktype = pcap_datalink(c->pcap);

    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        c->size = (uint64_t)st.st_size;
    *out = c;
    return LW_OK;
}

int lw_capture_open_stream(FILE *f, const char *name, lw_capture **out, char *err, size_t errlen)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    *out = NULL;

    lw_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", name);
        return LW_ERR_NOMEM;
    }
    snprintf(c->path, sizeof(c->path), "%s", name);
    c->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
    if (!c->pcap) {
        /* libpcap closes nothing it failed to open */
        fclose(f);
        snprintf(err, errlen, "%s: %s", name, pcap_err);
        free(c);
        return LW_ERR_PCAP;
    }
    c->linktype = pcap_datalink(c->pcap);
    *out = c;
    return LW_OK;
}

int lw_capture_next(lw_capture *c, lw_packet *p)
{
    struct pcap_pkthdr *hdr;
    const u_char *data;

    int rc = pcap_next_ex(c->pcap, &hdr, &data);
    if (rc == 1) {
        p->ts_us = (uint64_t)hdr->ts.tv_sec * 1000000u + (uint64_t)hdr->ts.tv_usec;
        p->data = data;
        p->caplen = hdr->caplen;
        p->wirelen = hdr->len < hdr->caplen ? hdr->caplen : hdr->len;
        p->linktype = c->linktype;
        return 1;
    }
    if (rc == PCAP_ERROR_BREAK) /* end of file */
        return 0;

    const char *msg = pcap_geterr(c->pcap);
    snprintf(c->error, sizeof(c->error), "%s: %s", c->path, msg);
    if (strstr(msg, "truncated"))
        return LW_ERR_TRUNCATED;
    return LW_ERR_PCAP;
}

const char *lw_capture_error(const lw_capture *c)
{
    return c->error;
}

int lw_capture_linktype(const lw_capture *c)
{
    return c->linktype;
}

void lw_capture_progress(const lw_capture *c, uint64_t *done, uint64_t *total)
{
    *total = c->size;
    *done = 0;
    FILE *f = pcap_file(c->pcap);
    if (f) {
        long pos = ftell(f);
        if (pos > 0)
            *done = (uint64_t)pos;
    }
}

void lw_capture_close(lw_capture *c)
{
    if (!c)
        return;
    if (c->pcap)
        pcap_close(c->pcap);
    free(c);
}
