/*
 * engine.c - the worker loop's sequencer (see engine.h).
 *
 * Per-flow state: the flow record's slots hold, for TCP, the stream
 * tracker (LW_FLOW_SLOT_STREAM) and, for each egress direction that has
 * carried bytes, a Hyperscan stream (LW_FLOW_SLOT_MATCH). Slots are filled
 * lazily, so flows that never carry egress bytes cost nothing but their
 * record; they are emptied in release_flow(), which the flow table calls
 * for every flow that leaves it (time-out, eviction, end of input). Closing
 * a Hyperscan stream can still report a value that ended at the last byte,
 * so release_flow() runs the same found() path as a scan.
 *
 * Bursts are keyed by (inside sender, outside receiver) addresses: the
 * direction that carried the value decides who is who, not who opened the
 * connection.
 */
#include "leakwatch/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/alert.h"
#include "leakwatch/app.h"
#include "leakwatch/burst.h"
#include "leakwatch/community_id.h"
#include "leakwatch/decode.h"
#include "leakwatch/defrag.h"
#include "leakwatch/flow.h"
#include "leakwatch/stream.h"

/* Work done for time-outs per packet: enough to keep up with any arrival
 * rate, small enough that no packet pays for a mass expiry. */
#define EXPIRE_BUDGET 64
/* Stop looking for the protocol after this many payload bytes each way. */
#define APP_DETECT_LIMIT 2048

#define LW_ENGINE_COUNTERS(X)                                                                      \
    X(FILES, "capture.files")                                                                      \
    X(FILES_TRUNCATED, "capture.truncated")                                                        \
    X(FILES_ERROR, "capture.read_errors")                                                          \
    X(NOT_TRANSPORT, "engine.not_tcp_udp")                                                         \
    X(REASSEMBLED_DROPPED, "engine.reassembled_not_decoded")                                       \
    X(ANOMALIES, "engine.anomaly_events")                                                          \
    X(EGRESS_BYTES, "engine.egress_bytes_inspected")                                               \
    X(UNINSPECTED_BYTES, "engine.bytes_not_egress")                                                \
    X(STATE_ALLOC_FAILED, "engine.state_alloc_failed")                                             \
    X(ALERTS, "alert.alerts")                                                                      \
    X(ALERT_TOO_LONG, "alert.too_long")                                                            \
    X(OUTPUT_ERRORS, "output.write_errors")

#define ENGINE_ENUM_(name, str) CTR_##name,
enum engine_counter { LW_ENGINE_COUNTERS(ENGINE_ENUM_) CTR_MAX };
#undef ENGINE_ENUM_
#define ENGINE_NAME_(name, str) str,
static const char *const engine_counter_names[CTR_MAX] = {LW_ENGINE_COUNTERS(ENGINE_NAME_)};
#undef ENGINE_NAME_

#define PAIR_SIGNATURE_ID 9000001u
#define PAIR_SIGNATURE    "LEAKWATCH PII burst from one inside host to one outside host"

/* Per-flow match state: one Hyperscan stream per egress direction. */
typedef struct flow_match {
    lw_match_stream *dir[2];
    bool gap[2];      /* a hole is pending before the next scan */
    uint16_t pending; /* alerts of this flow waiting in the pending ring */
} flow_match;

/* Per-flow TCP state: the reassembler and which directions have had their
 * anomaly reported (one event per direction is enough for a SOC). */
typedef struct flow_stream {
    lw_stream s;
    uint8_t anomaly_reported; /* bit d */
} flow_stream;

/*
 * An alert whose burst crossed the threshold but is still going on. It is
 * written when the flow that crossed it leaves the table (the transfer is
 * over) or one window after the crossing, whichever comes first, so that it
 * reports how big the leak was rather than just the threshold; the delay is
 * bounded by burst.window.
 */
#define MAX_PENDING   256
#define BURST_KEY_LEN (2 * sizeof(lw_addr))
typedef struct pending_alert {
    lw_flow *flow; /* NULL once written */
    int dir;
    uint64_t crossed_us;
    uint8_t key[BURST_KEY_LEN];
    lw_burst_report report; /* as at the crossing */
} pending_alert;

struct lw_engine {
    const lw_config *cfg;
    const lw_signature_set *sigs;
    lw_output *out;
    lw_flow_table *flows;
    lw_burst *burst;
    lw_match_worker *match;
    lw_defrag *defrag;
    lw_stream_pool stream_pool;
    uint64_t now_us;        /* largest packet time seen */
    uint64_t next_stats_us; /* packet time of the next periodic stats line */
    uint8_t kind_severity[LW_SIG_MAX_KINDS];

    uint64_t decode_ctr[LW_DECODE_CTR_MAX];
    uint64_t flow_ctr[LW_FLOW_CTR_MAX];
    uint64_t defrag_ctr[LW_DEFRAG_CTR_MAX];
    uint64_t burst_ctr[LW_BURST_CTR_MAX];
    uint64_t ctr[CTR_MAX];

    pending_alert pending[MAX_PENDING]; /* ring, oldest at pending_head */
    size_t pending_head, pending_count;

    /* stats names for per-kind match counters, built once */
    char (*kind_stat_names)[2][80];

    char line[16384];
};

/* Where a value was found: what the alert needs to describe it. */
typedef struct found_ctx {
    lw_engine *e;
    lw_flow *flow;
    int dir;
} found_ctx;

static void emit_alert(lw_engine *e, lw_flow *f, int dir, const lw_burst_report *r,
                       uint64_t crossed_us)
{
    const lw_addr *sender = dir == LW_DIR_TOSERVER ? &f->src : &f->dst;
    const lw_addr *receiver = dir == LW_DIR_TOSERVER ? &f->dst : &f->src;
    char cid[LW_COMMUNITY_ID_LEN];
    bool have_cid =
        lw_community_id_v1(0, f->proto, &f->src, f->sport, &f->dst, f->dport, cid) == LW_OK;

    uint8_t severity = 4;
    for (size_t k = 0; k < e->sigs->kind_count && k < LW_BURST_MAX_KINDS; k++)
        if (r->per_kind[k] && e->kind_severity[k] < severity)
            severity = e->kind_severity[k];

    lw_alert a = {
        .ts_us = e->now_us,
        .flow_id = f->flow_id,
        .src_ip = sender,
        .src_port = dir == LW_DIR_TOSERVER ? f->sport : f->dport,
        .dest_ip = receiver,
        .dest_port = dir == LW_DIR_TOSERVER ? f->dport : f->sport,
        .proto = f->proto,
        .app_proto = f->app_proto == LW_APP_UNKNOWN ? LW_APP_FAILED : f->app_proto,
        .community_id = have_cid ? cid : NULL,
        .signature_id = PAIR_SIGNATURE_ID,
        .signature = PAIR_SIGNATURE,
        .severity = severity,
        .detector = "pair",
        .window_s = e->cfg->burst.window_s,
        .threshold = e->cfg->burst.threshold,
        .distinct = r->distinct,
        .kind_names = (const char *const *)e->sigs->kinds,
        .per_kind = r->per_kind,
        .kind_count = e->sigs->kind_count,
        .samples = r->samples,
        .sample_count = r->sample_count,
        .first_ts_us = r->first_ts_us,
        .crossed_ts_us = crossed_us,
        .pkts_toserver = f->pkts[0],
        .pkts_toclient = f->pkts[1],
        .bytes_toserver = f->bytes[0],
        .bytes_toclient = f->bytes[1],
        .flow_start_us = f->ts_start_us,
    };
    size_t n = lw_alert_format(&a, e->line, sizeof(e->line));
    if (n == 0) {
        e->ctr[CTR_ALERT_TOO_LONG]++;
        return;
    }
    e->ctr[CTR_ALERTS]++;
    if (lw_output_write(e->out, e->line, n) != LW_OK)
        e->ctr[CTR_OUTPUT_ERRORS]++;
}

static flow_match *flow_match_of(lw_engine *e, lw_flow *f);

static void burst_key(const lw_flow *f, int dir, uint8_t key[BURST_KEY_LEN])
{
    /* inside sender address, then outside receiver address */
    const lw_addr *sender = dir == LW_DIR_TOSERVER ? &f->src : &f->dst;
    const lw_addr *receiver = dir == LW_DIR_TOSERVER ? &f->dst : &f->src;
    memcpy(key, sender, sizeof(lw_addr));
    memcpy(key + sizeof(lw_addr), receiver, sizeof(lw_addr));
}

/* Writes pending alert i with the growth its burst had since the crossing. */
static void finish_pending(lw_engine *e, pending_alert *pa)
{
    uint32_t added, per_kind[LW_BURST_MAX_KINDS];
    if (lw_burst_growth(e->burst, pa->key, sizeof(pa->key), &added, per_kind)) {
        pa->report.distinct += added;
        for (size_t k = 0; k < LW_BURST_MAX_KINDS; k++)
            pa->report.per_kind[k] += per_kind[k];
    }
    emit_alert(e, pa->flow, pa->dir, &pa->report, pa->crossed_us);
    flow_match *fm = pa->flow->slot[LW_FLOW_SLOT_MATCH];
    if (fm && fm->pending)
        fm->pending--;
    pa->flow = NULL;
}

/* Drops written entries from the front of the ring; writes the ones whose
 * window has run out when `now` is set. */
static void advance_pending(lw_engine *e, bool check_age)
{
    uint64_t window = (uint64_t)e->cfg->burst.window_s * 1000000u;
    while (e->pending_count) {
        pending_alert *pa = &e->pending[e->pending_head];
        if (pa->flow) {
            if (!check_age || e->now_us - pa->crossed_us < window)
                break;
            finish_pending(e, pa);
        }
        e->pending_head = (e->pending_head + 1) % MAX_PENDING;
        e->pending_count--;
    }
}

/* Writes every pending alert of flow f (it is leaving the table). */
static void finish_flow_pending(lw_engine *e, lw_flow *f)
{
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (!fm || !fm->pending)
        return;
    for (size_t i = 0; i < e->pending_count && fm->pending; i++) {
        pending_alert *pa = &e->pending[(e->pending_head + i) % MAX_PENDING];
        if (pa->flow == f)
            finish_pending(e, pa);
    }
    advance_pending(e, false);
}

static void add_pending(lw_engine *e, lw_flow *f, int dir, const uint8_t key[BURST_KEY_LEN],
                        const lw_burst_report *r)
{
    flow_match *fm = flow_match_of(e, f);
    if (!fm || e->pending_count == MAX_PENDING) {
        /* No room to wait: write the oldest now (or this one as it is). */
        if (!fm) {
            emit_alert(e, f, dir, r, e->now_us);
            return;
        }
        finish_pending(e, &e->pending[e->pending_head]);
        advance_pending(e, false);
    }
    pending_alert *pa = &e->pending[(e->pending_head + e->pending_count) % MAX_PENDING];
    pa->flow = f;
    pa->dir = dir;
    pa->crossed_us = e->now_us;
    memcpy(pa->key, key, BURST_KEY_LEN);
    pa->report = *r;
    e->pending_count++;
    fm->pending++;
}

static void on_value(void *arg, const lw_pii_value *v)
{
    found_ctx *fc = arg;
    lw_engine *e = fc->e;
    uint8_t key[BURST_KEY_LEN];
    burst_key(fc->flow, fc->dir, key);

    lw_burst_report report;
    if (lw_burst_add(e->burst, key, sizeof(key), v, e->now_us, &report))
        add_pending(e, fc->flow, fc->dir, key, &report);
}

static flow_match *flow_match_of(lw_engine *e, lw_flow *f)
{
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (!fm) {
        fm = calloc(1, sizeof(*fm));
        if (!fm) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return NULL;
        }
        f->slot[LW_FLOW_SLOT_MATCH] = fm;
    }
    return fm;
}

static void detect_app(lw_flow *f, int dir, const uint8_t *data, size_t len)
{
    (void)dir;
    if (f->app_proto != LW_APP_UNKNOWN && f->app_proto != LW_APP_FAILED)
        return;
    if (f->bytes[0] + f->bytes[1] > APP_DETECT_LIMIT * 2 && f->app_proto == LW_APP_FAILED)
        return;
    lw_app_proto p = lw_app_detect(f->proto, data, len);
    if (p != LW_APP_UNKNOWN)
        f->app_proto = p;
}

/* Scans one ordered run of an egress direction. */
static void inspect_run(lw_engine *e, lw_flow *f, int dir, const uint8_t *data, size_t len,
                        bool gap_before)
{
    flow_match *fm = flow_match_of(e, f);
    if (!fm)
        return;
    if (!fm->dir[dir]) {
        fm->dir[dir] = lw_match_stream_open(e->match);
        if (!fm->dir[dir]) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return;
        }
    } else if (gap_before || fm->gap[dir]) {
        lw_match_stream_gap(e->match, fm->dir[dir]);
    }
    fm->gap[dir] = false;
    e->ctr[CTR_EGRESS_BYTES] += len;
    found_ctx fc = {e, f, dir};
    lw_match_stream_scan(e->match, fm->dir[dir], data, len, on_value, &fc);
}

typedef struct deliver_ctx {
    lw_engine *e;
    lw_flow *f;
} deliver_ctx;

static void on_stream_bytes(void *arg, int dir, const uint8_t *data, size_t len, bool gap_before)
{
    deliver_ctx *dc = arg;
    detect_app(dc->f, dir, data, len);
    if (dc->f->egress[dir])
        inspect_run(dc->e, dc->f, dir, data, len, gap_before);
    else
        dc->e->ctr[CTR_UNINSPECTED_BYTES] += len;
}

/*
 * The flow's transfer is over (closed, or leaving the table): close its
 * Hyperscan streams, which reports values ending at the last byte, then
 * write the alerts it had pending. Idempotent.
 */
static void end_flow_inspection(lw_engine *e, lw_flow *f)
{
    flow_stream *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (fs) {
        /* Out-of-order data still waiting for a hole is inspected now. */
        deliver_ctx dc = {e, f};
        lw_stream_flush(&e->stream_pool, &fs->s, LW_DIR_TOSERVER, on_stream_bytes, &dc);
        lw_stream_flush(&e->stream_pool, &fs->s, LW_DIR_TOCLIENT, on_stream_bytes, &dc);
    }
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (!fm)
        return;
    for (int d = 0; d < 2; d++) {
        if (!fm->dir[d])
            continue;
        found_ctx fc = {e, f, d};
        /* A pending hole means the last value may be cut: do not report
         * end-anchored matches for it. */
        lw_match_stream_close(e->match, fm->dir[d], fm->gap[d] ? NULL : on_value, &fc);
        fm->dir[d] = NULL;
    }
    finish_flow_pending(e, f);
}

static void release_flow(lw_flow *f, void *arg)
{
    lw_engine *e = arg;
    end_flow_inspection(e, f);
    flow_stream *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (fs)
        lw_stream_release(&e->stream_pool, &fs->s);
    free(f->slot[LW_FLOW_SLOT_MATCH]);
    free(fs);
    for (int s = 0; s < LW_FLOW_SLOT_MAX; s++)
        f->slot[s] = NULL;
}

static size_t collect_stats(lw_engine *e, lw_stat *st, size_t cap)
{
    size_t n = 0;
#define ADD(nm, v)                                                                                 \
    do {                                                                                           \
        if (n < cap)                                                                               \
            st[n++] = (lw_stat){(nm), (v)};                                                        \
    } while (0)
    for (size_t i = 0; i < LW_DECODE_CTR_MAX; i++)
        ADD(lw_decode_counter_names[i], e->decode_ctr[i]);
    for (size_t i = 0; i < LW_FLOW_CTR_MAX; i++)
        ADD(lw_flow_counter_names[i], e->flow_ctr[i]);
    for (size_t i = 0; i < LW_STREAM_CTR_MAX; i++)
        ADD(lw_stream_counter_names[i], e->stream_pool.counters[i]);
    for (size_t i = 0; i < LW_DEFRAG_CTR_MAX; i++)
        ADD(lw_defrag_counter_names[i], e->defrag_ctr[i]);
    for (size_t k = 0; k < e->sigs->kind_count; k++) {
        ADD(e->kind_stat_names[k][0], lw_match_worker_candidates(e->match, k));
        ADD(e->kind_stat_names[k][1], lw_match_worker_validated(e->match, k));
    }
    ADD("match.scan_errors", lw_match_worker_errors(e->match));
    for (size_t i = 0; i < LW_BURST_CTR_MAX; i++)
        ADD(lw_burst_counter_names[i], e->burst_ctr[i]);
    e->ctr[CTR_OUTPUT_ERRORS] = lw_output_errors(e->out);
    for (size_t i = 0; i < CTR_MAX; i++)
        ADD(engine_counter_names[i], e->ctr[i]);
#undef ADD
    return n;
}

static void write_stats(lw_engine *e)
{
    lw_stat st[LW_DECODE_CTR_MAX + LW_FLOW_CTR_MAX + LW_STREAM_CTR_MAX + LW_DEFRAG_CTR_MAX +
               LW_BURST_CTR_MAX + CTR_MAX + 2 * LW_SIG_MAX_KINDS + 1];
    size_t n = collect_stats(e, st, sizeof(st) / sizeof(st[0]));
    size_t len = lw_stats_format(e->now_us, st, n, e->line, sizeof(e->line));
    if (len && lw_output_write(e->out, e->line, len) != LW_OK)
        e->ctr[CTR_OUTPUT_ERRORS]++;
}

lw_engine *lw_engine_new(const lw_config *cfg, const lw_signature_set *sigs,
                         const lw_matcher *matcher, lw_output *out, char *err, size_t errlen)
{
    lw_engine *e = calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->cfg = cfg;
    e->sigs = sigs;
    e->out = out;

    e->kind_stat_names =
        calloc(sigs->kind_count ? sigs->kind_count : 1, sizeof(*e->kind_stat_names));
    if (!e->kind_stat_names)
        goto nomem;
    for (size_t k = 0; k < sigs->kind_count; k++) {
        snprintf(e->kind_stat_names[k][0], 80, "match.candidates.%s", sigs->kinds[k]);
        snprintf(e->kind_stat_names[k][1], 80, "match.validated.%s", sigs->kinds[k]);
        e->kind_severity[k] = 4;
    }
    for (size_t i = 0; i < sigs->count; i++) {
        const lw_signature *s = &sigs->sigs[i];
        if (s->kind < LW_SIG_MAX_KINDS && s->severity < e->kind_severity[s->kind])
            e->kind_severity[s->kind] = s->severity;
    }

    lw_flow_table_config fcfg = {
        .max_flows = cfg->flow.max_flows,
        .idle_timeout_us = (uint64_t)cfg->flow.idle_timeout_s * 1000000u,
        .closed_timeout_us = (uint64_t)cfg->flow.closed_timeout_s * 1000000u,
        .release = release_flow,
        .release_ctx = e,
    };
    e->flows = lw_flow_table_new(&fcfg, e->flow_ctr);
    if (!e->flows)
        goto nomem;

    lw_burst_config bcfg = {
        .window_us = (uint64_t)cfg->burst.window_s * 1000000u,
        .threshold = cfg->burst.threshold,
        .max_keys = cfg->burst.max_pairs,
        .max_values = cfg->burst.max_values,
        .samples = cfg->burst.samples,
    };
    /* A fresh key per run: the hashes never leave the process, and an
     * attacker cannot precompute collisions. */
    randombytes_buf(bcfg.hash_key, sizeof(bcfg.hash_key));
    e->burst = lw_burst_new(&bcfg, e->burst_ctr);
    sodium_memzero(bcfg.hash_key, sizeof(bcfg.hash_key));
    if (!e->burst)
        goto nomem;

    e->match = lw_match_worker_new(matcher);
    if (!e->match)
        goto nomem;

    e->stream_pool.memcap = cfg->stream.memcap;
    e->stream_pool.max_buffer =
        cfg->stream.max_buffer > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->stream.max_buffer;
    e->stream_pool.max_segments = cfg->stream.max_segments;
    e->stream_pool.depth = cfg->stream.depth;

    lw_defrag_config dcfg = {
        .max_trains = cfg->defrag.max_trains,
        .memcap = cfg->defrag.memcap,
        .timeout_us = (uint64_t)cfg->defrag.timeout_s * 1000000u,
        .max_fragments =
            (uint16_t)(cfg->defrag.max_fragments > UINT16_MAX ? UINT16_MAX
                                                              : cfg->defrag.max_fragments),
    };
    e->defrag = lw_defrag_new(&dcfg, e->defrag_ctr);
    if (!e->defrag)
        goto nomem;
    return e;

nomem:
    snprintf(err, errlen, "out of memory setting up the engine");
    lw_engine_free(e);
    return NULL;
}

static bool is_home(const lw_engine *e, const lw_addr *a)
{
    return lw_config_is_home(e->cfg, a);
}

static void report_overlap_anomaly(lw_engine *e, lw_flow *f, int dir)
{
    char cid[LW_COMMUNITY_ID_LEN];
    bool have_cid =
        lw_community_id_v1(0, f->proto, &f->src, f->sport, &f->dst, f->dport, cid) == LW_OK;
    lw_anomaly a = {
        .ts_us = e->now_us,
        .flow_id = f->flow_id,
        .src_ip = dir == LW_DIR_TOSERVER ? &f->src : &f->dst,
        .src_port = dir == LW_DIR_TOSERVER ? f->sport : f->dport,
        .dest_ip = dir == LW_DIR_TOSERVER ? &f->dst : &f->src,
        .dest_port = dir == LW_DIR_TOSERVER ? f->dport : f->sport,
        .proto = f->proto,
        .community_id = have_cid ? cid : NULL,
        .type = "stream",
        .event = "overlap_mismatch",
    };
    size_t n = lw_anomaly_format(&a, e->line, sizeof(e->line));
    if (n == 0)
        return;
    e->ctr[CTR_ANOMALIES]++;
    if (lw_output_write(e->out, e->line, n) != LW_OK)
        e->ctr[CTR_OUTPUT_ERRORS]++;
}

static void tcp_segment(lw_engine *e, lw_flow *f, int dir, const lw_packet *p)
{
    flow_stream *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (!fs) {
        fs = calloc(1, sizeof(*fs));
        if (!fs) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return;
        }
        f->slot[LW_FLOW_SLOT_STREAM] = fs;
    }
    deliver_ctx dc = {e, f};
    lw_stream_segment(&e->stream_pool, &fs->s, dir, p, on_stream_bytes, &dc);

    if (fs->s.dir[dir].overlap_mismatch && !(fs->anomaly_reported & (1u << dir))) {
        fs->anomaly_reported |= (uint8_t)(1u << dir);
        if (e->cfg->stream.overlap_event && f->egress[dir])
            report_overlap_anomaly(e, f, dir);
    }
    if (p->tcp_flags & LW_TCP_FIN)
        f->fin_seen |= (uint8_t)(1u << dir);
    if (!f->closed && ((p->tcp_flags & LW_TCP_RST) || f->fin_seen == 3)) {
        lw_flow_mark_closed(e->flows, f);
        /* No more data will be delivered: alert now rather than at the
         * closed time-out. */
        end_flow_inspection(e, f);
    }
}

/* The pipeline after decode, for a whole (not fragmented) TCP/UDP packet. */
static void transport_packet(lw_engine *e, const lw_packet *p)
{
    int dir;
    bool created;
    lw_flow *f = lw_flow_get(e->flows, p, &dir, &created);
    if (!f)
        return;
    if (created) {
        bool src_home = is_home(e, &f->src), dst_home = is_home(e, &f->dst);
        f->egress[LW_DIR_TOSERVER] = src_home && !dst_home;
        f->egress[LW_DIR_TOCLIENT] = dst_home && !src_home;
    }

    if (p->proto == LW_PROTO_TCP && e->cfg->stream.reassembly) {
        tcp_segment(e, f, dir, p);
        return;
    }
    /* UDP, and TCP when reassembly is off: each payload on its own. */
    if (p->payload_len == 0)
        return;
    detect_app(f, dir, p->payload, p->payload_len);
    if (f->egress[dir]) {
        e->ctr[CTR_EGRESS_BYTES] += p->payload_len;
        found_ctx fc = {e, f, dir};
        lw_match_block_scan(e->match, p->payload, p->payload_len, on_value, &fc);
    } else {
        e->ctr[CTR_UNINSPECTED_BYTES] += p->payload_len;
    }
}

void lw_engine_packet(lw_engine *e, lw_packet *p)
{
    if (p->ts_us > e->now_us)
        e->now_us = p->ts_us;
    if (e->cfg->stats.interval_s) {
        if (e->next_stats_us == 0) {
            e->next_stats_us = e->now_us + (uint64_t)e->cfg->stats.interval_s * 1000000u;
        } else if (e->now_us >= e->next_stats_us) {
            write_stats(e);
            e->next_stats_us = e->now_us + (uint64_t)e->cfg->stats.interval_s * 1000000u;
        }
    }
    advance_pending(e, true);
    lw_flow_table_expire(e->flows, e->now_us, EXPIRE_BUDGET);
    lw_burst_expire(e->burst, e->now_us, EXPIRE_BUDGET);
    lw_defrag_expire(e->defrag, e->now_us, EXPIRE_BUDGET);

    if (lw_decode(p, e->decode_ctr) != LW_DECODE_OK)
        return;
    if (p->is_fragment) {
        size_t len;
        const uint8_t *whole = lw_defrag_add(e->defrag, p, e->now_us, &len);
        if (!whole)
            return;
        /* The reassembled datagram is decoded again as if it had arrived
         * whole; decode.pkts counts it too. */
        lw_packet q;
        memset(&q, 0, sizeof(q));
        q.ts_us = p->ts_us;
        q.data = whole;
        q.caplen = q.wirelen = (uint32_t)len;
        q.linktype = LW_DECODE_LINKTYPE_RAW;
        if (lw_decode(&q, e->decode_ctr) != LW_DECODE_OK || q.is_fragment) {
            e->ctr[CTR_REASSEMBLED_DROPPED]++;
            return;
        }
        if (q.proto == LW_PROTO_TCP || q.proto == LW_PROTO_UDP)
            transport_packet(e, &q);
        else
            e->ctr[CTR_NOT_TRANSPORT]++;
        return;
    }
    if (p->proto != LW_PROTO_TCP && p->proto != LW_PROTO_UDP) {
        e->ctr[CTR_NOT_TRANSPORT]++;
        return;
    }
    transport_packet(e, p);
}

void lw_engine_event(lw_engine *e, lw_engine_event_kind ev)
{
    switch (ev) {
    case LW_ENGINE_FILE_DONE:
        e->ctr[CTR_FILES]++;
        break;
    case LW_ENGINE_FILE_TRUNCATED:
        e->ctr[CTR_FILES]++;
        e->ctr[CTR_FILES_TRUNCATED]++;
        break;
    case LW_ENGINE_FILE_ERROR:
        e->ctr[CTR_FILES]++;
        e->ctr[CTR_FILES_ERROR]++;
        break;
    }
}

void lw_engine_finish(lw_engine *e)
{
    lw_flow_table_flush(e->flows);
    write_stats(e);
}

uint64_t lw_engine_alerts(const lw_engine *e)
{
    return e->ctr[CTR_ALERTS];
}

void lw_engine_free(lw_engine *e)
{
    if (!e)
        return;
    /* Flows must go before the match worker: releasing them closes streams. */
    if (e->flows)
        lw_flow_table_free(e->flows);
    lw_burst_free(e->burst);
    lw_match_worker_free(e->match);
    lw_defrag_free(e->defrag);
    free(e->kind_stat_names);
    free(e);
}
