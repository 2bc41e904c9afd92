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
 * A regular pcap file (not pcapng, not stdin) is mapped into memory when
 * its reading starts, and its records are walked in place (pcapfile.h):
 * replaying then costs no copy of the bytes at all, where reading through
 * libpcap costs two (the kernel's into the stdio buffer, libpcap's into its
 * own): walking 256 MiB in place took 0.02-0.03 s here, reading it through
 * libpcap 0.09-0.10 s. libpcap has opened the file and checked its header
 * first, and it is still what reads pcapng, pipes and the link types whose
 * headers it rewrites. A
 * mapped file that shrinks while it is read (truncated by another program)
 * would raise SIGBUS at the first missing page; a handler maps zeros over
 * the rest of the mapping instead, and the reader, which touches every page
 * of a record before handing it over, reports the file as truncated. One
 * page of zeros after the mapping keeps any read just past the last record
 * (a vector load) inside mapped memory.
 *
 * libpcap reports a record cut short by the end of the file as a generic
 * read error whose message says "truncated dump file"; we map that to
 * LW_ERR_TRUNCATED so the caller can say what happened and carry on. A
 * record whose caplen exceeds libpcap's maximum is rejected by libpcap
 * itself (one above the file's snapshot length is cut to it), so caplen is
 * always bounded; the walker of mapped files does the same.
 */
#include "leakwatch/capture.h"

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leakwatch/pcapfile.h"

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
    /* a regular file read from memory */
    bool may_map;       /* a regular file whose link type the walker may read */
    bool map_tried;     /* the mapping was attempted (at the first read) */
    uint8_t *map;       /* NULL: libpcap reads */
    size_t map_len;     /* the file's size when it was mapped */
    size_t map_span;    /* map_len rounded up to pages, plus one page of zeros */
    size_t map_dropped; /* the pages before this were released (see DROP_BEHIND) */
    size_t map_touched; /* every page below this offset was read once (next_mapped) */
    int guard;          /* its slot in shrink_guard */
    lw_pcapfile walk;
    bool has_filter; /* prog holds the offline filter */
    struct bpf_program prog;
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

/* ------------------------------------------------- mapped capture files */

/*
 * The mappings being read, for the SIGBUS handler: process-wide because a
 * signal handler can reach nothing else. Slots are taken and given back by
 * the thread that reads captures; the handler only loads them.
 */
#define GUARD_SLOTS 8
static struct {
    _Atomic uintptr_t lo, hi; /* [lo, hi): the file's pages; 0, 0: free */
    volatile sig_atomic_t shrank;
} shrink_guard[GUARD_SLOTS];
static struct sigaction sigbus_before; /* chained to for faults not ours */
static uintptr_t guard_page_size;      /* set before the handler is installed */

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)sig;
    (void)uctx;
    uintptr_t at = (uintptr_t)si->si_addr;
    for (size_t i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t lo = atomic_load(&shrink_guard[i].lo), hi = atomic_load(&shrink_guard[i].hi);
        if (at >= lo && at < hi) {
            /* The file lost the page: zeros from it to the end, so the
             * faulting load and every later one succeed (mmap is a plain
             * system call on Linux, safe here). */
            uintptr_t page = at & ~(guard_page_size - 1);
            if (mmap((void *)page, hi - page, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
                     -1, 0) == MAP_FAILED)
                break;
            shrink_guard[i].shrank = 1;
            return;
        }
    }
    /* Not a mapped capture: the fault is retried under the handler that
     * was there before ours (the default one dumps core). */
    sigaction(SIGBUS, &sigbus_before, NULL);
}

static int guard_take(uintptr_t lo, uintptr_t hi)
{
    /* Installed at every mapping, unless it still is: whoever replaced it
     * in between (a test framework does) becomes the one chained to. */
    struct sigaction now;
    if (sigaction(SIGBUS, NULL, &now) != 0)
        return -1;
    guard_page_size = (uintptr_t)sysconf(_SC_PAGESIZE); /* sysconf is no signal-safe call */
    if (!(now.sa_flags & SA_SIGINFO) || now.sa_sigaction != on_sigbus) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigbus_before = now;
        if (sigaction(SIGBUS, &sa, NULL) != 0)
            return -1;
    }
    for (int i = 0; i < GUARD_SLOTS; i++) {
        if (atomic_load(&shrink_guard[i].hi) == 0) {
            shrink_guard[i].shrank = 0;
            atomic_store(&shrink_guard[i].lo, lo);
            atomic_store(&shrink_guard[i].hi, hi);
            return i;
        }
    }
    return -1;
}

static void guard_give(int i)
{
    atomic_store(&shrink_guard[i].hi, 0);
    atomic_store(&shrink_guard[i].lo, 0);
}

static void unmap_file(lw_capture *c)
{
    if (!c->map)
        return;
    guard_give(c->guard);
    munmap(c->map, c->map_span);
    c->map = NULL;
}

/*
 * Maps the file for the walker; on any refusal libpcap goes on reading it
 * (its stream stands right after the header, where the walk would start).
 */
static void map_file(lw_capture *c)
{
    c->map_tried = true;
    FILE *f = pcap_file(c->pcap);
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 24 ||
        (uint64_t)st.st_size > SIZE_MAX / 2)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = (size_t)st.st_size;
    size_t span = (len + page - 1) / page * page + page;
    /* zeros for the whole span first, then the file over its start */
    uint8_t *area = mmap(NULL, span, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        return;
    if (mmap(area, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fileno(f), 0) == MAP_FAILED ||
        !lw_pcapfile_init(&c->walk, area, len, (uint32_t)pcap_snapshot(c->pcap))) {
        munmap(area, span);
        return;
    }
    int slot = guard_take((uintptr_t)area, (uintptr_t)area + (len + page - 1) / page * page);
    if (slot < 0) {
        munmap(area, span);
        return;
    }
    (void)madvise(area, len, MADV_SEQUENTIAL);
    c->map = area;
    c->map_len = len;
    c->map_span = span;
    c->map_dropped = 0;
    c->map_touched = 0;
    c->guard = slot;
}

/*
 * Pages of a mapped file behind the record being read are released every
 * DROP_BEHIND bytes: they stay in the page cache, but no longer count in
 * the sensor's resident size, which would otherwise grow to the size of
 * the file and hide what the sensor's own tables use. Nothing keeps a
 * pointer into a record once the next one is read (reassembly copies what
 * it holds, workers get copies through their rings).
 */
#define DROP_BEHIND (4u << 20)

static void drop_behind(lw_capture *c, size_t upto)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    upto = upto / page * page;
    if (upto - c->map_dropped < DROP_BEHIND)
        return;
    (void)madvise(c->map + c->map_dropped, upto - c->map_dropped, MADV_DONTNEED);
    c->map_dropped = upto;
}

/* The next record of a mapped file, filtered as libpcap would. */
static int next_mapped(lw_capture *c, lw_packet *p)
{
    const size_t page = 4096; /* touching more often than once a page is harmless */
    for (;;) {
        lw_pcapfile_rec rec;
        drop_behind(c, c->walk.off);
        int rc = lw_pcapfile_next(&c->walk, &rec);
        if (rc == 1) {
            /* Every page of the record is read once, here, so that a file
             * shrunk under us shows before the record is handed on. Records
             * are consecutive, so only pages past the last one read are
             * touched: about one load per page instead of one per record
             * (that load of the record's last byte missed the cache on
             * every packet). */
            size_t end = (size_t)(rec.data - c->map) + rec.caplen;
            volatile const uint8_t *m = c->map;
            while (c->map_touched < end) {
                (void)m[c->map_touched];
                c->map_touched = (c->map_touched / page + 1) * page;
            }
        }
        if (shrink_guard[c->guard].shrank) {
            snprintf(c->error, sizeof(c->error),
                     "%s: truncated dump file; it shrank below %zu bytes while it was read",
                     c->path, c->map_len);
            unmap_file(c);
            c->walk.failed = LW_ERR_TRUNCATED;
            return LW_ERR_TRUNCATED;
        }
        if (rc != 1) {
            if (rc < 0)
                snprintf(c->error, sizeof(c->error), "%s: %s", c->path, c->walk.error);
            return rc;
        }
        if (c->has_filter) {
            struct pcap_pkthdr h;
            memset(&h, 0, sizeof(h));
            h.caplen = rec.caplen;
            h.len = rec.len;
            if (!pcap_offline_filter(&c->prog, &h, rec.data))
                continue;
        }
        p->ts_us = rec.ts_us;
        p->data = rec.data;
        p->caplen = rec.caplen;
        p->wirelen = rec.len < rec.caplen ? rec.caplen : rec.len;
        p->linktype = c->linktype;
        return 1;
    }
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
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        c->size = (uint64_t)st.st_size;
        c->may_map = lw_pcapfile_link_ok(c->linktype, pcap_is_swapped(c->pcap) == 1);
    }
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
    if (rc != 0) {
        pcap_freecode(&prog);
        snprintf(err, errlen, "%s: bpf '%s': %s", c->path, expr, pcap_geterr(c->pcap));
        return LW_ERR_PCAP;
    }
    /* a file may be walked in place: it then runs the program itself */
    if (c->has_filter)
        pcap_freecode(&c->prog);
    if (c->may_map) {
        c->prog = prog;
        c->has_filter = true;
    } else {
        pcap_freecode(&prog);
        c->has_filter = false;
    }
    return LW_OK;
}

bool lw_capture_is_live(const lw_capture *c)
{
    return c->live;
}

bool lw_capture_is_mapped(const lw_capture *c)
{
    return c->map != NULL;
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
    if (c->may_map && !c->map_tried)
        map_file(c);
    if (c->map)
        return next_mapped(c, p);
    if (c->map_tried && c->walk.failed)
        return c->walk.failed; /* shrank: unmapped, libpcap's stream is behind */

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
    if (c->map) {
        *done = c->walk.off;
        return;
    }
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
    unmap_file(c);
    if (c->has_filter)
        pcap_freecode(&c->prog);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c->iobuf); /* after the FILE that used it is closed */
    free(c);
}
