/*
 * capture.c - packet source on top of libpcap: files and interfaces.
 *
 * libpcap does the file formats (pcap in either byte order and precision,
 * pcapng with several interfaces) and the kernel interface (on Linux a
 * TPACKET memory-mapped ring); this file only turns its records into packet
 * views and its errors into our vocabulary.
 *
 * Live handles are built with pcap_create() + pcap_set_*() + pcap_activate()
 * rather than pcap_open_live(), because the kernel buffer size and immediate
 * mode can only be set before activation. Activation warnings (promiscuous
 * mode not supported, ...) are handed back as text with success: the
 * capture works, the operator should know. The handle is then made
 * non-blocking so that the capture thread never sleeps inside libpcap: it
 * gets LW_CAPTURE_IDLE and waits on the selectable descriptor itself, which
 * lets it also watch for a stop request.
 *
 * BPF filters are compiled with PCAP_NETMASK_UNKNOWN (we have no netmask for
 * a SPAN port, and only "ip broadcast" needs one). On a file libpcap applies
 * the filter in userspace, so the same expression works for a replay.
 *
 * pcap_stats() counters are 32-bit and wrap on a busy link within hours.
 * We keep the last raw values and add each delta modulo 2^32 to 64-bit
 * totals, which is exact as long as the counters are read at least once
 * per 2^32 packets.
 *
 * libpcap reports a record cut short by the end of the file as a generic
 * read error whose message says "truncated dump file"; we map that to
 * LW_ERR_TRUNCATED so the caller can say what happened and carry on. A
 * record whose caplen exceeds the snapshot length is rejected by libpcap
 * itself before it reaches us, so caplen is always bounded.
 */
#include "leakwatch/capture.h"

#include <errno.h>
#include <limits.h>
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
    bool live;
    /* kernel counters: last raw 32-bit readings and their 64-bit totals */
    uint32_t raw_recv, raw_drop, raw_ifdrop;
    uint64_t tot_recv, tot_drop, tot_ifdrop;
    char *iobuf; /* a file's stdio buffer (see FILE_BUFFER), freed after pcap_close */
};

/*
 * stdio buffer of a capture file. libpcap reads a file with two fread()s a
 * packet; with glibc's default buffer (st_blksize, 4 KiB) that is a read()
 * system call every few packets - 65,536 of them for a 256 MiB file. One
 * MiB makes it 256.
 */
#define FILE_BUFFER (1u << 20)

/* Snaplen when the options say 0: libpcap's own maximum for Ethernet. */
#define LIVE_DEFAULT_SNAPLEN 262144

/*
 * Adds the growth of a wrapping 32-bit counter since the last reading to a
 * 64-bit total. Unsigned subtraction is modulo 2^32, so a counter that
 * wrapped from 0xFFFFFFF0 to 0x10 contributes 0x20.
 */
static inline void widen_counter(uint64_t *total, uint32_t *last, uint32_t now)
{
    *total += (uint32_t)(now - *last);
    *last = now;
}

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
    if (strcmp(path, "-") == 0) {
        c->pcap =
            pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
    } else {
        FILE *f = fopen(path, "rbe");
        if (!f) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(c);
            return LW_ERR_PCAP;
        }
        c->iobuf = malloc(FILE_BUFFER);
        if (c->iobuf)
            setvbuf(f, c->iobuf, _IOFBF, FILE_BUFFER);
        c->pcap =
            pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
        if (!c->pcap)
            fclose(f); /* libpcap closes nothing it failed to open */
    }
    if (!c->pcap) {
        snprintf(err, errlen, "%s: %s", path, pcap_err);
        free(c->iobuf);
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

static int clamp_int(uint64_t v)
{
    return v > (uint64_t)INT_MAX ? INT_MAX : (int)v;
}

int lw_capture_open_live(const lw_capture_live_opts *opts, lw_capture **out, char *err,
                         size_t errlen)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    const char *iface = opts->iface ? opts->iface : "";
    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';

    if (iface[0] == '\0') {
        snprintf(err, errlen, "(no interface): no interface name given");
        return LW_ERR_PCAP;
    }
    lw_capture *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", iface);
        return LW_ERR_NOMEM;
    }
    snprintf(c->path, sizeof(c->path), "%s", iface);
    c->live = true;

    c->pcap = pcap_create(iface, pcap_err);
    if (!c->pcap) {
        snprintf(err, errlen, "%s: %s", iface, pcap_err);
        free(c);
        return LW_ERR_PCAP;
    }

    /* The setters only fail on an already activated handle, which this is
     * not; their results are checked anyway so a libpcap change is loud. */
    uint32_t snaplen = opts->snaplen ? opts->snaplen : LIVE_DEFAULT_SNAPLEN;
    const char *step = NULL;
    if (pcap_set_snaplen(c->pcap, clamp_int(snaplen)) != 0)
        step = "pcap_set_snaplen";
    else if (pcap_set_promisc(c->pcap, opts->promisc ? 1 : 0) != 0)
        step = "pcap_set_promisc";
    else if (opts->buffer_size > 0 &&
             pcap_set_buffer_size(c->pcap, clamp_int(opts->buffer_size)) != 0)
        step = "pcap_set_buffer_size";
    else if (pcap_set_immediate_mode(c->pcap, opts->immediate ? 1 : 0) != 0)
        step = "pcap_set_immediate_mode";
    else if (pcap_set_timeout(c->pcap, opts->timeout_ms > 0 ? opts->timeout_ms : 0) != 0)
        step = "pcap_set_timeout";
    if (step) {
        snprintf(err, errlen, "%s: %s: %s", iface, step, pcap_geterr(c->pcap));
        goto fail;
    }
    /* Microseconds are libpcap's default; asking makes it explicit. A
     * platform without precision selection delivers microseconds anyway. */
    (void)pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_MICRO);

    int rc = pcap_activate(c->pcap);
    if (rc < 0) {
        /* pcap_geterr() has the detail for PCAP_ERROR and the permission
         * and device errors; for the others it may be empty. */
        const char *detail = pcap_geterr(c->pcap);
        if (detail && detail[0])
            snprintf(err, errlen, "%s: %s (%s)", iface, pcap_statustostr(rc), detail);
        else
            snprintf(err, errlen, "%s: %s", iface, pcap_statustostr(rc));
        goto fail;
    }
    if (rc > 0) {
        const char *detail = pcap_geterr(c->pcap);
        if (detail && detail[0])
            snprintf(err, errlen, "%s: warning: %s (%s)", iface, pcap_statustostr(rc), detail);
        else
            snprintf(err, errlen, "%s: warning: %s", iface, pcap_statustostr(rc));
    }

    if (pcap_setnonblock(c->pcap, 1, pcap_err) != 0) {
        snprintf(err, errlen, "%s: pcap_setnonblock: %s", iface, pcap_err);
        goto fail;
    }
    c->linktype = pcap_datalink(c->pcap);
    *out = c;
    return LW_OK;

fail:
    pcap_close(c->pcap);
    free(c);
    return LW_ERR_PCAP;
}

int lw_capture_set_filter(lw_capture *c, const char *expr, char *err, size_t errlen)
{
    if (!expr || expr[0] == '\0')
        return LW_OK;

    struct bpf_program prog;
    if (pcap_compile(c->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "%s: bpf '%s': %s", c->path, expr, pcap_geterr(c->pcap));
        return LW_ERR_PCAP;
    }
    int rc = pcap_setfilter(c->pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "%s: bpf '%s': %s", c->path, expr, pcap_geterr(c->pcap));
        return LW_ERR_PCAP;
    }
    return LW_OK;
}

bool lw_capture_is_live(const lw_capture *c)
{
    return c->live;
}

int lw_capture_fd(const lw_capture *c)
{
    return c->live ? pcap_get_selectable_fd(c->pcap) : -1;
}

int lw_capture_kernel_stats(lw_capture *c, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop)
{
    *recv = *drop = *ifdrop = 0;
    if (!c->live)
        return LW_OK;

    struct pcap_stat st;
    if (pcap_stats(c->pcap, &st) != 0) {
        snprintf(c->error, sizeof(c->error), "%s: pcap_stats: %s", c->path, pcap_geterr(c->pcap));
        return LW_ERR_PCAP;
    }
    widen_counter(&c->tot_recv, &c->raw_recv, (uint32_t)st.ps_recv);
    widen_counter(&c->tot_drop, &c->raw_drop, (uint32_t)st.ps_drop);
    widen_counter(&c->tot_ifdrop, &c->raw_ifdrop, (uint32_t)st.ps_ifdrop);
    *recv = c->tot_recv;
    *drop = c->tot_drop;
    *ifdrop = c->tot_ifdrop;
    return LW_OK;
}

const char *lw_capture_name(const lw_capture *c)
{
    return c->path;
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
    if (rc == 0) /* live, non-blocking: nothing in the ring now */
        return c->live ? LW_CAPTURE_IDLE : 0;
    if (rc == PCAP_ERROR_BREAK) /* end of file, or pcap_breakloop() on a live handle */
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
    free(c->iobuf); /* after the FILE that used it is closed */
    free(c);
}
