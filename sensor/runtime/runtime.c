/*
 * runtime.c - capture thread, workers, signals and stats (see runtime.h).
 *
 * Everything a worker is told travels through its ring as a record: a
 * packet, a tick (the capture clock moved), a stats request, a reload or
 * the end. Records are handled in order, so "write stats", "switch to the
 * new signatures" and "end of input" happen at one well-defined point of
 * each worker's packet stream, and what a worker writes does not depend on
 * thread timing. Only the interleaving of lines of different workers does.
 *
 * Stats: a request carries a snapshot of the capture thread's own counters;
 * each worker adds its snapshot and the last one to do so writes the lines
 * (per worker when there are several, then the totals), so no thread ever
 * reads another's live counters. A worker's counters survive reloads: the
 * retiring engine's figures are folded into a per-worker base.
 *
 * The signal handlers only set flags; the capture thread acts on them
 * between packets (or within 100 ms on a quiet interface). The flags are
 * the one piece of file-scope state here, because a handler has nowhere
 * else to put them.
 */
#include "leakwatch/runtime.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch/alert.h"
#include "leakwatch/capture.h"
#include "leakwatch/dispatch.h"
#include "leakwatch/engine.h"
#include "leakwatch/output.h"
#include "leakwatch/privdrop.h"
#include "leakwatch/ring.h"
#include "leakwatch/statsum.h"

#define MAX_WORKERS      64
#define MAX_SOURCES      4096
#define LIVE_BATCH       256     /* packets read from one interface before looking at the next */
#define POLL_MS          100     /* longest sleep on a quiet interface */
#define TICK_WALL_US     100000u /* live: wall-clock ticks while the link is quiet */
#define DROP_CHECK_US    1000000u
#define DROP_WARN_GAP_US 10000000u
#define STATS_LINE_MAX   (64 * 1024)
#define OUTPUT_CLOSE_MS  2000

/* ------------------------------------------------------------ signals */

static volatile sig_atomic_t sig_stop, sig_hup, sig_usr1;

static void on_signal(int sig)
{
    if (sig == SIGINT || sig == SIGTERM)
        sig_stop = 1;
    else if (sig == SIGHUP)
        sig_hup = 1;
    else if (sig == SIGUSR1)
        sig_usr1 = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* A stop must cut short a read that waits on an idle pipe or FIFO (and
     * poll() on a quiet interface): no SA_RESTART. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* HUP and USR1 must not: an interrupted read would end the capture
     * file early. They take effect at the next packet (or within 100 ms on
     * an interface, where poll() returns on every signal anyway). */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    /* a closed stdout pipe is a write error to count, not a reason to die */
    sigaction(SIGPIPE, &sa, NULL);
    sig_stop = sig_hup = sig_usr1 = 0;
}

/* Counters of one engine added into a sum. */
static void sum_engine(lw_stat_sum *a, lw_engine *e)
{
    lw_stat st[LW_ENGINE_STATS_MAX];
    lw_stat_sum_add_all(a, st, lw_engine_stats(e, st, LW_ENGINE_STATS_MAX));
}

/* ----------------------------------------------------------- records */

enum rec_kind { REC_PACKET = 1, REC_TICK, REC_STATS, REC_RELOAD, REC_FINISH };

typedef struct rec_hdr {
    uint8_t kind;
    uint32_t caplen, wirelen;
    int32_t linktype;
    uint64_t ts_us;
    void *ptr; /* REC_STATS: stats_req; REC_RELOAD: lw_generation (one reference) */
} rec_hdr;

/* What the capture thread counts (it alone writes these). */
typedef struct capture_counters {
    uint64_t files, truncated, read_errors;
    uint64_t packets, bytes;
    uint64_t ring_full[MAX_WORKERS];
    uint64_t dispatched[MAX_WORKERS];
    uint64_t kernel_recv, kernel_drop, kernel_ifdrop;
    uint64_t reloads, reload_failures;
} capture_counters;

typedef struct stats_req {
    atomic_int left; /* workers still to add their snapshot */
    uint64_t ts_us;
    capture_counters cap;
    uint64_t output_errors;
    lw_stat_sum per_worker[]; /* one per worker */
} stats_req;

struct runtime;

typedef struct worker {
    struct runtime *rt;
    unsigned id;
    lw_ring *ring; /* NULL with one worker: the capture thread runs it inline */
    pthread_t thread;
    bool started;
    lw_engine *engine;
    lw_generation *gen;
    lw_stat_sum base;  /* counters of engines retired by reloads */
    lw_stat_sum final; /* at REC_FINISH */
    uint64_t last_ts_sent;
} worker;

typedef struct source {
    lw_capture *cap;
    const char *name;
    uint64_t kernel_recv, kernel_drop, kernel_ifdrop;
    uint64_t drops_warned_at_us, drops_at_warn;
    bool gone;
} source;

typedef struct runtime {
    const lw_runtime_opts *opts;
    lw_generation *gen; /* the capture thread's current generation */
    lw_output *out;
    unsigned nworkers;
    worker *workers;
    source *sources;
    size_t nsources;
    bool live;
    uint64_t clock_us;      /* largest packet time (live: or wall time) */
    uint64_t next_stats_us; /* 0 = not yet armed */
    capture_counters cap;
    bool finished;              /* the workers were told to end and joined */
    pthread_mutex_t stats_lock; /* serialises stats line writing */
} runtime;

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------ stats lines */

static void add_capture_counters(lw_stat_sum *a, const capture_counters *c, unsigned nworkers,
                                 uint64_t output_errors)
{
    uint64_t full = 0;
    for (unsigned i = 0; i < nworkers; i++)
        full += c->ring_full[i];
    lw_stat_sum_add(a, "capture.files", c->files);
    lw_stat_sum_add(a, "capture.truncated", c->truncated);
    lw_stat_sum_add(a, "capture.read_errors", c->read_errors);
    lw_stat_sum_add(a, "capture.packets", c->packets);
    lw_stat_sum_add(a, "capture.bytes", c->bytes);
    lw_stat_sum_add(a, "capture.ring_full", full);
    lw_stat_sum_add(a, "capture.kernel_packets", c->kernel_recv);
    lw_stat_sum_add(a, "capture.kernel_drops", c->kernel_drop);
    lw_stat_sum_add(a, "capture.kernel_ifdrops", c->kernel_ifdrop);
    lw_stat_sum_add(a, "runtime.workers", nworkers);
    lw_stat_sum_add(a, "runtime.reloads", c->reloads);
    lw_stat_sum_add(a, "runtime.reload_failures", c->reload_failures);
    lw_stat_sum_add(a, "output.write_errors", output_errors);
}

static void write_sum(runtime *rt, uint64_t ts, int worker_id, const lw_stat_sum *a, char *line)
{
    lw_stat st[LW_STAT_SUM_MAX];
    size_t n = lw_stat_sum_view(a, st, LW_STAT_SUM_MAX);
    size_t len = lw_stats_format(ts, worker_id, st, n, line, STATS_LINE_MAX);
    if (len)
        (void)lw_output_write(rt->out, line, len);
}

/* Writes the per-worker lines (when there are several) and the totals. */
static void write_stats_lines(runtime *rt, stats_req *req)
{
    char *line = malloc(STATS_LINE_MAX);
    lw_stat_sum *total = calloc(1, sizeof(*total));
    lw_stat_sum *one = malloc(sizeof(*one));
    if (!line || !total || !one) {
        fprintf(stderr, "leakwatch: out of memory writing stats\n");
        goto out;
    }
    pthread_mutex_lock(&rt->stats_lock);
    for (unsigned w = 0; w < rt->nworkers; w++) {
        lw_stat_sum_merge(total, &req->per_worker[w]);
        if (rt->nworkers > 1) {
            *one = req->per_worker[w];
            lw_stat_sum_add(one, "capture.dispatched", req->cap.dispatched[w]);
            lw_stat_sum_add(one, "capture.ring_full", req->cap.ring_full[w]);
            write_sum(rt, req->ts_us, (int)w, one, line);
        }
    }
    add_capture_counters(total, &req->cap, rt->nworkers, req->output_errors);
    write_sum(rt, req->ts_us, -1, total, line);
    pthread_mutex_unlock(&rt->stats_lock);
out:
    free(line);
    free(total);
    free(one);
}

static stats_req *new_stats_req(runtime *rt)
{
    stats_req *req = calloc(1, sizeof(*req) + rt->nworkers * sizeof(lw_stat_sum));
    if (!req)
        return NULL;
    atomic_init(&req->left, (int)rt->nworkers);
    req->ts_us = rt->clock_us;
    req->cap = rt->cap;
    req->output_errors = lw_output_errors(rt->out);
    return req;
}

/* ------------------------------------------------------------- workers */

static void worker_snapshot(worker *w, lw_stat_sum *dst)
{
    *dst = w->base;
    sum_engine(dst, w->engine);
}

static void worker_reload(worker *w, lw_generation *g)
{
    char err[512];
    lw_generation *ng = g;
    lw_engine_deps deps = {ng->cfg,    ng->sigs,  ng->matcher, ng->edm,
                           ng->policy, ng->geoip, !w->rt->live};
    lw_engine *ne = lw_engine_new(&deps, w->rt->out, err, sizeof(err));
    if (!ne) {
        fprintf(stderr, "leakwatch: worker %u: reload: %s; keeping the old configuration\n", w->id,
                err);
        lw_generation_unref(ng);
        return;
    }
    uint64_t now = lw_engine_now(w->engine);
    lw_engine_finish(w->engine);
    sum_engine(&w->base, w->engine);
    lw_engine_free(w->engine);
    lw_generation_unref(w->gen);
    w->engine = ne;
    w->gen = ng;
    lw_engine_tick(ne, now);
}

/* Handles one record; returns true at REC_FINISH. */
static bool worker_handle(worker *w, const rec_hdr *h, const uint8_t *data)
{
    switch (h->kind) {
    case REC_PACKET: {
        lw_packet p;
        memset(&p, 0, sizeof(p));
        p.ts_us = h->ts_us;
        p.data = data;
        p.caplen = h->caplen;
        p.wirelen = h->wirelen;
        p.linktype = h->linktype;
        lw_engine_packet(w->engine, &p);
        return false;
    }
    case REC_TICK:
        lw_engine_tick(w->engine, h->ts_us);
        return false;
    case REC_STATS: {
        stats_req *req = h->ptr;
        lw_engine_tick(w->engine, h->ts_us);
        worker_snapshot(w, &req->per_worker[w->id]);
        if (atomic_fetch_sub_explicit(&req->left, 1, memory_order_acq_rel) == 1) {
            write_stats_lines(w->rt, req);
            free(req);
        }
        return false;
    }
    case REC_RELOAD:
        worker_reload(w, h->ptr);
        return false;
    case REC_FINISH:
        lw_engine_tick(w->engine, h->ts_us);
        lw_engine_finish(w->engine);
        worker_snapshot(w, &w->final);
        return true;
    default:
        return false;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (;;) {
        size_t len;
        const void *rec = lw_ring_peek(w->ring, &len);
        if (!rec) {
            lw_ring_wait(w->ring, POLL_MS);
            continue;
        }
        const rec_hdr *h = rec;
        bool fin = worker_handle(w, h, (const uint8_t *)rec + sizeof(rec_hdr));
        lw_ring_release(w->ring);
        if (fin)
            break;
    }
    return NULL;
}

/* ------------------------------------------------------ sending records */

/*
 * Sends one record to worker w. With one worker it is handled at once. A
 * full ring: wait when `wait` (files, control records), else give up and
 * return false.
 */
static bool send_rec(worker *w, const rec_hdr *h, const uint8_t *data, bool wait)
{
    if (!w->ring) {
        worker_handle(w, h, data);
        return true;
    }
    size_t len = sizeof(*h) + (h->kind == REC_PACKET ? h->caplen : 0);
    unsigned spins = 0;
    void *slot;
    while ((slot = lw_ring_reserve(w->ring, len)) == NULL) {
        if (!wait)
            return false;
        /* The worker is busy with what is already queued: let it run. */
        if (++spins < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    memcpy(slot, h, sizeof(*h));
    if (h->kind == REC_PACKET && data)
        memcpy((uint8_t *)slot + sizeof(*h), data, h->caplen);
    /* Packets and ticks are published in batches (the ring does it as they
     * pile up; run_live() at every pass, the file loop at each packet of a
     * source that may block); a control record is published at once, with
     * everything before it, because its sender waits on it. */
    if (h->kind == REC_PACKET || h->kind == REC_TICK)
        lw_ring_commit_deferred(w->ring);
    else
        lw_ring_commit(w->ring);
    return true;
}

/* Publishes what was queued for every worker (see send_rec). */
static void flush_workers(runtime *rt)
{
    for (unsigned j = 0; j < rt->nworkers; j++)
        if (rt->workers[j].ring)
            lw_ring_flush(rt->workers[j].ring);
}

/* Brings every worker's clock (but `except`) up to the capture clock. */
static void tick_workers(runtime *rt, unsigned except, bool wait)
{
    for (unsigned j = 0; j < rt->nworkers; j++) {
        worker *w = &rt->workers[j];
        if (j == except || w->last_ts_sent >= rt->clock_us)
            continue;
        rec_hdr h = {.kind = REC_TICK, .ts_us = rt->clock_us};
        if (send_rec(w, &h, NULL, wait))
            w->last_ts_sent = rt->clock_us;
    }
}

static void request_stats(runtime *rt)
{
    stats_req *req = new_stats_req(rt);
    if (!req) {
        fprintf(stderr, "leakwatch: out of memory requesting stats\n");
        return;
    }
    for (unsigned j = 0; j < rt->nworkers; j++) {
        rec_hdr h = {.kind = REC_STATS, .ts_us = rt->clock_us, .ptr = req};
        send_rec(&rt->workers[j], &h, NULL, true);
        rt->workers[j].last_ts_sent = rt->clock_us;
    }
}

/* Moves the capture clock to ts and does what time alone triggers here:
 * periodic stats. */
static void advance_clock(runtime *rt, uint64_t ts)
{
    if (ts > rt->clock_us)
        rt->clock_us = ts;
    uint32_t interval = rt->gen->cfg->stats.interval_s;
    if (!interval)
        return;
    if (rt->next_stats_us == 0) {
        rt->next_stats_us = rt->clock_us + (uint64_t)interval * 1000000u;
    } else if (rt->clock_us >= rt->next_stats_us) {
        request_stats(rt);
        rt->next_stats_us = rt->clock_us + (uint64_t)interval * 1000000u;
    }
}

static void dispatch_packet(runtime *rt, const lw_packet *p)
{
    unsigned wi = rt->nworkers == 1 ? 0
                                    : lw_dispatch_worker(rt->gen->cfg, p->data, p->caplen,
                                                         p->linktype, rt->nworkers);
    worker *w = &rt->workers[wi];
    bool wait = !rt->live;

    advance_clock(rt, p->ts_us);
    rt->cap.packets++;
    rt->cap.bytes += p->caplen;
    if (rt->nworkers > 1) {
        tick_workers(rt, wi, wait);
        /* A packet stamped earlier than the clock: bring its worker up to
         * the clock first, as a single worker's clock would be. */
        if (p->ts_us < rt->clock_us && w->last_ts_sent < rt->clock_us) {
            rec_hdr t = {.kind = REC_TICK, .ts_us = rt->clock_us};
            if (send_rec(w, &t, NULL, wait))
                w->last_ts_sent = rt->clock_us;
        }
    }
    rec_hdr h = {.kind = REC_PACKET,
                 .caplen = p->caplen,
                 .wirelen = p->wirelen,
                 .linktype = p->linktype,
                 .ts_us = p->ts_us};
    if (send_rec(w, &h, p->data, wait)) {
        rt->cap.dispatched[wi]++;
        if (w->last_ts_sent < p->ts_us)
            w->last_ts_sent = p->ts_us;
    } else {
        rt->cap.ring_full[wi]++;
    }
}

/* ------------------------------------------------------------- reload */

/* Keys read only at start keep their running values; say so when the new
 * file changes them. */
static bool strlist_differs(const lw_strlist *a, const lw_strlist *b)
{
    if (a->count != b->count)
        return true;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->item[i], b->item[i]) != 0)
            return true;
    return false;
}

static void note_restart_only_changes(const lw_config *old, const lw_config *nw)
{
    bool outputs = strlist_differs(&old->outputs, &nw->outputs);
    bool runmode = old->runmode.workers != nw->runmode.workers ||
                   old->runmode.ring_size != nw->runmode.ring_size;
    bool capture = strlist_differs(&old->capture.interfaces, &nw->capture.interfaces) ||
                   old->capture.snaplen != nw->capture.snaplen ||
                   old->capture.buffer_size != nw->capture.buffer_size ||
                   old->capture.promisc != nw->capture.promisc ||
                   old->capture.immediate != nw->capture.immediate ||
                   strcmp(old->capture.bpf, nw->capture.bpf) != 0;
    bool run = strcmp(old->run.user, nw->run.user) != 0 ||
               strcmp(old->run.group, nw->run.group) != 0 ||
               strcmp(old->run.pidfile, nw->run.pidfile) != 0;
    if (outputs || runmode || capture || run)
        fprintf(stderr, "leakwatch: reload: changes to%s%s%s%s take effect at the next restart\n",
                outputs ? " outputs" : "", runmode ? " runmode" : "", capture ? " capture" : "",
                run ? " run" : "");
}

static void handle_hup(runtime *rt)
{
    char err[1024];
    if (lw_output_reopen(rt->out) != LW_OK)
        fprintf(stderr, "leakwatch: SIGHUP: an output could not be reopened (kept the old one)\n");
    lw_generation *g;
    if (lw_generation_load(&rt->opts->load, &g, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: reload failed, keeping the running configuration: %s\n", err);
        rt->cap.reload_failures++;
        return;
    }
    note_restart_only_changes(rt->gen->cfg, g->cfg);
    for (unsigned j = 0; j < rt->nworkers; j++) {
        rec_hdr h = {.kind = REC_RELOAD, .ts_us = rt->clock_us, .ptr = lw_generation_ref(g)};
        send_rec(&rt->workers[j], &h, NULL, true);
    }
    lw_generation_unref(rt->gen);
    rt->gen = g;
    rt->cap.reloads++;
    fprintf(stderr, "leakwatch: reloaded configuration (%zu signatures)\n", g->sigs->count);
}

/* Acts on the signal flags; returns true when it is time to stop. */
static bool handle_signals(runtime *rt)
{
    if (sig_hup) {
        sig_hup = 0;
        handle_hup(rt);
    }
    if (sig_usr1) {
        sig_usr1 = 0;
        request_stats(rt);
    }
    return sig_stop != 0;
}

/* ------------------------------------------------------------ sources */

typedef struct progress {
    bool enabled;
    struct timespec last;
    uint64_t pkts_at_last;
} progress;

static void progress_tick(progress *pr, const source *s, uint64_t pkts)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt =
        (double)(now.tv_sec - pr->last.tv_sec) + (double)(now.tv_nsec - pr->last.tv_nsec) / 1e9;
    if (dt < 1.0)
        return;
    uint64_t done, total;
    lw_capture_progress(s->cap, &done, &total);
    double rate = (double)(pkts - pr->pkts_at_last) / dt;
    if (total)
        fprintf(stderr, "\rleakwatch: %s: %.1f/%.1f MB (%.0f%%), %.0f packets/s   ", s->name,
                (double)done / 1e6, (double)total / 1e6, 100.0 * (double)done / (double)total,
                rate);
    else
        fprintf(stderr, "\rleakwatch: %s: %.1f MB, %.0f packets/s   ", s->name, (double)done / 1e6,
                rate);
    pr->last = now;
    pr->pkts_at_last = pkts;
}

/* Reads the files in order, or until a stop signal. */
static void run_files(runtime *rt)
{
    progress pr = {.enabled = isatty(STDERR_FILENO) == 1};
    clock_gettime(CLOCK_MONOTONIC, &pr.last);
    for (size_t i = 0; i < rt->nsources; i++) {
        source *s = &rt->sources[i];
        lw_packet p;
        uint64_t file_pkts = 0;
        int rc;
        memset(&p, 0, sizeof(p));
        while ((rc = lw_capture_next(s->cap, &p)) == 1) {
            dispatch_packet(rt, &p);
            /* The next read of a pipe or a growing file may wait for
             * bytes: what the workers can have, they get before it. */
            if (!lw_capture_is_mapped(s->cap))
                flush_workers(rt);
            file_pkts++;
            if (pr.enabled && (rt->cap.packets & 0xffff) == 0)
                progress_tick(&pr, s, rt->cap.packets);
            if ((sig_stop | sig_hup | sig_usr1) && handle_signals(rt)) {
                if (pr.enabled)
                    fputs("\r\033[K", stderr);
                return;
            }
        }
        /* before the next source, whose opening or reading may block */
        flush_workers(rt);
        if (pr.enabled)
            fputs("\r\033[K", stderr);
        if (rc < 0 && sig_stop) {
            /* the read was cut short by SIGINT/SIGTERM: a stop, not an error */
            handle_signals(rt);
            return;
        }
        rt->cap.files++;
        if (rc == LW_ERR_TRUNCATED) {
            fprintf(stderr, "leakwatch: warning: %s (after %llu packets; those were processed)\n",
                    lw_capture_error(s->cap), (unsigned long long)file_pkts);
            rt->cap.truncated++;
        } else if (rc < 0) {
            fprintf(stderr, "leakwatch: warning: %s (after %llu packets; stopped reading it)\n",
                    lw_capture_error(s->cap), (unsigned long long)file_pkts);
            rt->cap.read_errors++;
        }
        lw_capture_close(s->cap);
        s->cap = NULL;
    }
}

static void poll_kernel_stats(runtime *rt, bool warn)
{
    uint64_t recv = 0, drop = 0, ifdrop = 0;
    for (size_t i = 0; i < rt->nsources; i++) {
        source *s = &rt->sources[i];
        if (s->cap && !s->gone &&
            lw_capture_kernel_stats(s->cap, &s->kernel_recv, &s->kernel_drop, &s->kernel_ifdrop) ==
                LW_OK &&
            warn) {
            uint64_t lost = s->kernel_drop + s->kernel_ifdrop;
            uint64_t now = wall_us();
            if (lost > s->drops_at_warn && now - s->drops_warned_at_us >= DROP_WARN_GAP_US) {
                fprintf(stderr,
                        "leakwatch: warning: %s: the kernel dropped %llu packets since the last "
                        "warning (%llu in all); raise capture.buffer_size or add workers\n",
                        s->name, (unsigned long long)(lost - s->drops_at_warn),
                        (unsigned long long)lost);
                s->drops_at_warn = lost;
                s->drops_warned_at_us = now;
            }
        }
        recv += s->kernel_recv;
        drop += s->kernel_drop;
        ifdrop += s->kernel_ifdrop;
    }
    rt->cap.kernel_recv = recv;
    rt->cap.kernel_drop = drop;
    rt->cap.kernel_ifdrop = ifdrop;
}

/* Reads every interface until a stop signal. Returns false when every
 * interface failed. */
static bool run_live(runtime *rt)
{
    struct pollfd fds[MAX_SOURCES];
    uint64_t last_tick = wall_us(), last_drop_check = last_tick;
    size_t alive = rt->nsources;

    while (!handle_signals(rt)) {
        bool got = false;
        for (size_t i = 0; i < rt->nsources; i++) {
            source *s = &rt->sources[i];
            if (s->gone)
                continue;
            for (int k = 0; k < LIVE_BATCH; k++) {
                lw_packet p;
                memset(&p, 0, sizeof(p));
                int rc = lw_capture_next(s->cap, &p);
                if (rc == 1) {
                    dispatch_packet(rt, &p);
                    got = true;
                    continue;
                }
                if (rc < 0 || rc == 0) {
                    fprintf(stderr, "leakwatch: %s: capture stopped: %s\n", s->name,
                            rc < 0 ? lw_capture_error(s->cap) : "end of capture");
                    s->gone = true;
                    alive--;
                }
                break;
            }
        }
        if (alive == 0)
            return false;
        uint64_t now = wall_us();
        if (now - last_tick >= TICK_WALL_US) {
            /* A quiet link still moves time on: flows time out, held
             * alerts are written, stats come on schedule. */
            last_tick = now;
            advance_clock(rt, now);
            tick_workers(rt, UINT32_MAX, false);
        }
        /* What this pass queued reaches the workers now, not when a
         * batch fills: a slow link must not hold packets back. */
        flush_workers(rt);
        if (now - last_drop_check >= DROP_CHECK_US) {
            last_drop_check = now;
            poll_kernel_stats(rt, true);
        }
        if (got)
            continue;
        size_t n = 0;
        for (size_t i = 0; i < rt->nsources; i++) {
            int fd = rt->sources[i].gone ? -1 : lw_capture_fd(rt->sources[i].cap);
            if (fd >= 0)
                fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        if (n)
            poll(fds, n, POLL_MS);
        else {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return true;
}

/* ---------------------------------------------------------- start, end */

static int open_sources(runtime *rt, const lw_config *cfg, char *err, size_t errlen)
{
    const lw_runtime_opts *o = rt->opts;
    size_t n_if = cfg->capture.interfaces.count + o->n_ifaces;

    if (o->n_files && n_if) {
        snprintf(err, errlen,
                 "give capture files (-r) or interfaces (-i, capture.interfaces), "
                 "not both");
        return LW_ERR_INVAL;
    }
    if (!o->n_files && !n_if) {
        snprintf(err, errlen,
                 "no input: give a capture with -r FILE or an interface with -i IFACE (see -h)");
        return LW_ERR_INVAL;
    }
    rt->live = n_if > 0;
    rt->nsources = rt->live ? n_if : o->n_files;
    if (rt->nsources > MAX_SOURCES) {
        snprintf(err, errlen, "too many inputs (at most %d)", MAX_SOURCES);
        return LW_ERR_INVAL;
    }
    rt->sources = calloc(rt->nsources, sizeof(*rt->sources));
    if (!rt->sources) {
        snprintf(err, errlen, "out of memory");
        return LW_ERR_NOMEM;
    }
    /* Open every input before reading any, so a typo in the last one fails
     * at once instead of after hours of replay. */
    for (size_t i = 0; i < rt->nsources; i++) {
        source *s = &rt->sources[i];
        int rc;
        if (rt->live) {
            s->name = i < cfg->capture.interfaces.count
                          ? cfg->capture.interfaces.item[i]
                          : o->ifaces[i - cfg->capture.interfaces.count];
            lw_capture_live_opts lo = {
                .iface = s->name,
                .snaplen = cfg->capture.snaplen,
                .buffer_size = cfg->capture.buffer_size,
                .promisc = cfg->capture.promisc,
                .immediate = cfg->capture.immediate,
                .timeout_ms = POLL_MS,
            };
            err[0] = '\0';
            rc = lw_capture_open_live(&lo, &s->cap, err, errlen);
            if (rc == LW_OK && err[0])
                fprintf(stderr, "leakwatch: warning: %s\n", err);
        } else {
            s->name = o->files[i];
            rc = lw_capture_open_offline(s->name, &s->cap, err, errlen);
        }
        if (rc != LW_OK)
            return rc;
        rc = lw_capture_set_filter(s->cap, cfg->capture.bpf, err, errlen);
        if (rc != LW_OK)
            return rc;
    }
    return LW_OK;
}

static int open_outputs(runtime *rt, const lw_config *cfg, char *err, size_t errlen)
{
    if (rt->opts->output)
        return lw_output_open(rt->opts->output, &rt->out, err, errlen);
    const char *specs[LW_STRLIST_MAX];
    for (size_t i = 0; i < cfg->outputs.count; i++)
        specs[i] = cfg->outputs.item[i];
    return lw_output_open_specs(specs, cfg->outputs.count, &rt->out, err, errlen);
}

static unsigned worker_count(const lw_config *cfg)
{
    if (cfg->runmode.workers)
        return cfg->runmode.workers;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* one core for the capture thread (and the rest of the machine) */
    if (cores > MAX_WORKERS + 1)
        cores = MAX_WORKERS + 1;
    return cores > 2 ? (unsigned)(cores - 1) : 1;
}

static int start_workers(runtime *rt, char *err, size_t errlen)
{
    const lw_config *cfg = rt->gen->cfg;
    rt->nworkers = worker_count(cfg);
    rt->workers = calloc(rt->nworkers, sizeof(*rt->workers));
    if (!rt->workers) {
        snprintf(err, errlen, "out of memory starting workers");
        return LW_ERR_NOMEM;
    }
    for (unsigned i = 0; i < rt->nworkers; i++) {
        worker *w = &rt->workers[i];
        w->rt = rt;
        w->id = i;
        w->gen = lw_generation_ref(rt->gen);
        lw_engine_deps deps = {cfg,         w->gen->sigs,   w->gen->matcher,
                               w->gen->edm, w->gen->policy, w->gen->geoip,
                               !rt->live};
        w->engine = lw_engine_new(&deps, rt->out, err, errlen);
        if (!w->engine)
            return LW_ERR_NOMEM;
        if (rt->nworkers == 1)
            continue;
        w->ring = lw_ring_new(cfg->runmode.ring_size);
        if (!w->ring) {
            snprintf(err, errlen, "out of memory for a %llu-byte worker ring",
                     (unsigned long long)cfg->runmode.ring_size);
            return LW_ERR_NOMEM;
        }
        if (lw_ring_max_record(w->ring) < sizeof(rec_hdr) + 262144u) {
            snprintf(err, errlen, "runmode.ring_size is too small for one packet");
            return LW_ERR_INVAL;
        }
    }
    if (rt->nworkers == 1)
        return LW_OK;
    /* Workers leave the signals to the capture thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = LW_OK;
    for (unsigned i = 0; i < rt->nworkers && rc == LW_OK; i++) {
        worker *w = &rt->workers[i];
        int e = pthread_create(&w->thread, NULL, worker_main, w);
        if (e != 0) {
            snprintf(err, errlen, "starting worker %u: %s", i, strerror(e));
            rc = LW_ERR_NOMEM;
        } else {
            w->started = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Ends every worker (their flows end, held alerts are written) and joins. */
static void finish_workers(runtime *rt)
{
    if (rt->finished)
        return;
    rt->finished = true;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        worker *w = &rt->workers[i];
        if (!w->engine)
            continue;
        if (w->ring && !w->started)
            continue;
        rec_hdr h = {.kind = REC_FINISH, .ts_us = rt->clock_us};
        send_rec(w, &h, NULL, true);
    }
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (rt->workers[i].started)
            pthread_join(rt->workers[i].thread, NULL);
}

static void free_runtime(runtime *rt)
{
    for (unsigned i = 0; rt->workers && i < rt->nworkers; i++) {
        worker *w = &rt->workers[i];
        lw_engine_free(w->engine);
        lw_ring_free(w->ring);
        lw_generation_unref(w->gen);
    }
    free(rt->workers);
    for (size_t i = 0; rt->sources && i < rt->nsources; i++)
        lw_capture_close(rt->sources[i].cap);
    free(rt->sources);
    lw_generation_unref(rt->gen);
}

int lw_runtime_run(const lw_runtime_opts *opts)
{
    char err[1024] = "";
    int status = 2;
    const char *pidfile = NULL;
    runtime *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        fprintf(stderr, "leakwatch: out of memory\n");
        return 1;
    }
    rt->opts = opts;
    pthread_mutex_init(&rt->stats_lock, NULL);
    install_signals();

    if (lw_generation_load(&opts->load, &rt->gen, err, sizeof(err)) != LW_OK)
        goto fail;
    const lw_config *cfg = rt->gen->cfg;
    if (open_sources(rt, cfg, err, sizeof(err)) != LW_OK)
        goto fail;
    if (open_outputs(rt, cfg, err, sizeof(err)) != LW_OK)
        goto fail;
    pidfile = opts->pidfile ? opts->pidfile : cfg->run.pidfile;
    if (pidfile && !pidfile[0])
        pidfile = NULL;
    if (pidfile && lw_pidfile_write(pidfile, err, sizeof(err)) != LW_OK) {
        pidfile = NULL;
        goto fail;
    }
    /* Everything privileged is open: captures, inputs, outputs, pid file. */
    const char *user = opts->user ? opts->user : cfg->run.user;
    const char *group = opts->group ? opts->group : cfg->run.group;
    if (user && user[0] && lw_privdrop(user, group, err, sizeof(err)) != LW_OK)
        goto fail;
    if (start_workers(rt, err, sizeof(err)) != LW_OK) {
        status = 1;
        goto fail;
    }

    bool ok = true;
    if (rt->live)
        ok = run_live(rt);
    else
        run_files(rt);
    if (rt->live)
        poll_kernel_stats(rt, false);
    finish_workers(rt);

    /* The final lines: every worker's last snapshot, then the totals. */
    stats_req *req = new_stats_req(rt);
    if (req) {
        for (unsigned i = 0; i < rt->nworkers; i++)
            req->per_worker[i] = rt->workers[i].final;
        write_stats_lines(rt, req);
        free(req);
    }
    status = ok ? 0 : 1;
    if (!ok)
        fprintf(stderr, "leakwatch: every capture interface failed\n");
    if (lw_output_errors(rt->out)) {
        fprintf(stderr, "leakwatch: %llu event line(s) could not be written\n",
                (unsigned long long)lw_output_errors(rt->out));
        status = 1;
    }
    goto done;

fail:
    if (err[0])
        fprintf(stderr, "leakwatch: %s\n", err);
done:
    finish_workers(rt);
    free_runtime(rt);
    if (rt->out && lw_output_close(rt->out, OUTPUT_CLOSE_MS) != LW_OK && status == 0) {
        fprintf(stderr, "leakwatch: closing an output failed or left lines unsent\n");
        status = 1;
    }
    if (pidfile)
        lw_pidfile_remove(pidfile);
    pthread_mutex_destroy(&rt->stats_lock);
    free(rt);
    return status;
}
