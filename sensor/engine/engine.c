/*
 * engine.c - the worker loop's sequencer (see engine.h): the packet path.
 *
 * decode -> (defrag -> decode) -> flow -> TCP reassembly -> application
 * decoders or raw bytes (engine_app.c) -> match -> burst -> held alerts
 * (engine_alert.c) -> output. Each stage is a leaf that returns its result
 * here; stages never call each other.
 *
 * Per-flow state lives in the flow record's slots and is filled lazily: the
 * TCP reassembler (LW_FLOW_SLOT_STREAM), the application decoder and what it
 * said (LW_FLOW_SLOT_APP), and the Hyperscan streams of egress directions
 * (LW_FLOW_SLOT_MATCH). A flow that never carries egress bytes costs little
 * more than its record. When a flow ends (FIN both ways, RST, time-out,
 * eviction, end of input) end_flow_inspection() inspects what the
 * reassembler still holds, lets the decoder finish (a body framed by the
 * connection's end is complete), closes the Hyperscan streams (values that
 * end at the last byte are reported) and writes the flow's held alerts - in
 * that order, since each step can still produce values for the next.
 *
 * Memory: the flow table counts its records against flow.memcap; the engine
 * declares each slot it sees allocated with lw_flow_account() (its size plus
 * the allocator's overhead), and the table forgets a flow's bytes when it
 * leaves. The reassembler slot is declared where it is allocated; the app
 * and match slots are allocated in engine_app.c and engine_alert.c, so
 * transport_packet() declares them when it sees them appear during a
 * packet. What the decoders and Hyperscan allocate behind those slots is
 * not counted (docs/performance.md gives the figures).
 */
#include "leakwatch/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

/* Work done for time-outs per packet: enough to keep up with any arrival
 * rate, small enough that no packet pays for a mass expiry. */
#define EXPIRE_BUDGET 64

/* What one slot costs against flow.memcap: its struct plus the allocator's
 * header and rounding (glibc: an 8-byte header, 16-byte steps). */
#define SLOT_OVERHEAD   16
#define SLOT_COST(type) ((int64_t)sizeof(type) + SLOT_OVERHEAD)

#define ENGINE_NAME_(name, str) str,
static const char *const engine_counter_names[CTR_MAX] = {LW_ENGINE_COUNTERS(ENGINE_NAME_)};
#undef ENGINE_NAME_

static void end_flow_inspection(lw_engine *e, lw_flow *f)
{
    flow_stream *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (fs) {
        /* Out-of-order data still waiting for a hole is inspected now. */
        deliver_ctx dc = {e, f};
        lw_stream_flush(&e->stream_pool, &fs->s, LW_DIR_TOSERVER, eng_on_stream_bytes, &dc);
        lw_stream_flush(&e->stream_pool, &fs->s, LW_DIR_TOCLIENT, eng_on_stream_bytes, &dc);
    }
    eng_end_app(e, f);
    eng_end_match(e, f);
    eng_finish_flow_pending(e, f);
}

static void release_flow(lw_flow *f, void *arg)
{
    lw_engine *e = arg;
    end_flow_inspection(e, f);
    flow_stream *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (fs)
        lw_stream_release(&e->stream_pool, &fs->s);
    free(fs);
    free(f->slot[LW_FLOW_SLOT_APP]);
    free(f->slot[LW_FLOW_SLOT_MATCH]);
    for (int s = 0; s < LW_FLOW_SLOT_MAX; s++)
        f->slot[s] = NULL;
}

size_t lw_engine_stats(lw_engine *e, lw_stat *st, size_t cap)
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
    for (size_t i = 0; i < LW_HTTP_CTR_MAX; i++)
        ADD(lw_http_counter_names[i], e->http_ctr[i]);
    for (size_t i = 0; i < LW_SMTP_CTR_MAX; i++)
        ADD(lw_smtp_counter_names[i], e->smtp_ctr[i]);
    for (size_t i = 0; i < LW_DNS_CTR_MAX; i++)
        ADD(lw_dns_counter_names[i], e->dns_ctr[i]);
    for (size_t i = 0; i < LW_FTP_CTR_MAX; i++)
        ADD(lw_ftp_counter_names[i], e->ftp_ctr[i]);
    for (size_t k = 0; k < e->sigs->kind_count; k++) {
        ADD(e->kind_stat_names[k][0], lw_match_worker_candidates(e->match, k));
        ADD(e->kind_stat_names[k][1], lw_match_worker_validated(e->match, k));
    }
    ADD("match.scan_errors", lw_match_worker_errors(e->match));
    /* the pre-filter: bytes that came to gated signatures, and those of
     * them that had to go through Hyperscan */
    ADD("match.gate.in_bytes", lw_match_worker_gate_in(e->match));
    ADD("match.gate.scanned_bytes", lw_match_worker_gate_scanned(e->match));
    /* burst.*: every detector's table together; detector.NAME.alerts each */
    for (size_t i = 0; i < LW_BURST_CTR_MAX; i++) {
        uint64_t sum = 0;
        for (size_t d = 0; d < e->det_count; d++)
            sum += e->det[d].ctr[i];
        ADD(lw_burst_counter_names[i], sum);
    }
    for (size_t d = 0; d < e->det_count; d++)
        ADD(e->det[d].alerts_stat, e->det[d].ctr[LW_BURST_CTR_ALERTS]);
    for (size_t i = 0; i < LW_TLS_CTR_MAX; i++)
        ADD(lw_tls_counter_names[i], e->tls_ctr[i]);
    for (size_t i = 0; i < CTR_MAX; i++)
        ADD(engine_counter_names[i], e->ctr[i]);
#undef ADD
    return n;
}

/*
 * The keyed-hash key of one burst table. Live, a fresh random key per table
 * and run: the hashes never leave the process, and nobody can craft values
 * that collide (or, for an estimated count, that leave the estimate flat).
 * Replaying files, a key derived from a fixed constant and the table's
 * number instead: an analyst's replay must give the same alerts every
 * time, and an estimated count depends on the key. A capture is evidence
 * recorded before anyone knew which key would look at it.
 */
static void table_key(const lw_engine *e, unsigned table_no, uint8_t key[16])
{
    if (!e->deterministic) {
        randombytes_buf(key, 16);
        return;
    }
    static const unsigned char fixed[crypto_shorthash_KEYBYTES] = {
        'l', 'e', 'a', 'k', 'w', 'a', 't', 'c', 'h', '-', 'r', 'e', 'p', 'l', 'a', 'y'};
    unsigned char in[4] = {(unsigned char)table_no, (unsigned char)(table_no >> 8), 0x5a, 0xa5};
    unsigned char half[crypto_shorthash_BYTES];
    crypto_shorthash(half, in, sizeof(in), fixed);
    memcpy(key, half, 8);
    in[2] = 0xa5;
    crypto_shorthash(half, in, sizeof(in), fixed);
    memcpy(key + 8, half, 8);
}

/* The signature text of a detector's alerts. */
static void detector_signature(const lw_detector *d, char *buf, size_t cap)
{
    const char *what = d->key == LW_DETECTOR_SOURCE
                           ? "LEAKWATCH PII burst from one inside host to any outside hosts"
                           : "LEAKWATCH PII burst from one inside host to one outside host";
    const char *plain = d->key == LW_DETECTOR_SOURCE ? "source" : "pair";
    if (strcmp(d->name, plain) == 0)
        snprintf(buf, cap, "%s", what);
    else
        snprintf(buf, cap, "%s (%s)", what, d->name);
}

static bool new_detectors(lw_engine *e, const lw_burst_config *base)
{
    uint64_t longest = (uint64_t)e->cfg->burst.window_s * 1000000u;
    e->det_count = lw_policy_detector_count(e->policy);
    for (size_t i = 0; i < e->det_count; i++) {
        detector_state *ds = &e->det[i];
        const lw_detector *d = lw_policy_detector(e->policy, i);
        lw_burst_config c = *base;
        ds->d = d;
        c.window_us = (uint64_t)d->window_s * 1000000u;
        c.threshold = d->threshold;
        c.exact_limit = d->exact_limit;
        if (c.max_values < c.threshold)
            c.max_values = c.threshold;
        /* one key per table: a pair detector's values never mix with
         * another's, and a fresh hash key per table costs nothing */
        table_key(e, (unsigned)i, c.hash_key);
        ds->table = lw_burst_new(&c, ds->ctr);
        sodium_memzero(c.hash_key, sizeof(c.hash_key));
        if (!ds->table)
            return false;
        snprintf(ds->alerts_stat, sizeof(ds->alerts_stat), "detector.%s.alerts", d->name);
        detector_signature(d, ds->signature, sizeof(ds->signature));
        if (d->key == LW_DETECTOR_SOURCE)
            e->has_source_detector = true;
        if (c.window_us > longest)
            longest = c.window_us;
    }
    /* alerts of one inside host within the longest window are one incident */
    e->incident_window_us = longest;
    e->incidents = calloc(INCIDENT_SLOTS, sizeof(*e->incidents));
    if (!e->incidents)
        return false;
    if (e->has_source_detector) {
        lw_burst_config c = *base;
        c.threshold = c.max_values = 65536; /* a count for the alert, never an alert */
        c.samples = 0;
        c.exact_limit = 0;
        table_key(e, 100, c.hash_key);
        e->src_dests = lw_burst_new(&c, e->src_dests_ctr);
        sodium_memzero(c.hash_key, sizeof(c.hash_key));
        if (!e->src_dests)
            return false;
    }
    return true;
}

lw_engine *lw_engine_new(const lw_engine_deps *deps, lw_output *out, char *err, size_t errlen)
{
    const lw_config *cfg = deps->cfg;
    const lw_signature_set *sigs = deps->sigs;
    const lw_edm *edm = deps->edm;
    lw_engine *e = calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->cfg = cfg;
    e->sigs = sigs;
    e->policy = deps->policy;
    e->geoip = deps->geoip && lw_geoip_enabled(deps->geoip) ? deps->geoip : NULL;
    e->deterministic = deps->deterministic;
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
        .memcap = cfg->flow.memcap,
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
    if (!new_detectors(e, &bcfg))
        goto nomem;

    /* Distinct DNS names per (inside host, domain): only for the alert's
     * query_count, so the threshold is never reached. */
    lw_burst_config ncfg = bcfg;
    ncfg.threshold = ncfg.max_values = 65536;
    ncfg.max_keys = cfg->burst.max_pairs;
    ncfg.samples = 0;
    table_key(e, 101, ncfg.hash_key);
    e->dns_names = lw_burst_new(&ncfg, e->dns_names_ctr);
    sodium_memzero(ncfg.hash_key, sizeof(ncfg.hash_key));
    if (!e->dns_names)
        goto nomem;

    if (edm) {
        /* Customer rows per burst key, with their own threshold; canaries
         * alert at the first value, once per window. */
        e->edm = edm;
        lw_burst_config ccfg = bcfg;
        ccfg.threshold = cfg->edm.threshold;
        if (ccfg.max_values < ccfg.threshold)
            ccfg.max_values = ccfg.threshold;
        table_key(e, 102, ccfg.hash_key);
        e->customers = lw_burst_new(&ccfg, e->customers_ctr);
        ccfg.threshold = 1;
        ccfg.max_values = 1;
        table_key(e, 103, ccfg.hash_key);
        e->canaries = lw_burst_new(&ccfg, e->canaries_ctr);
        sodium_memzero(ccfg.hash_key, sizeof(ccfg.hash_key));
        if (!e->customers || !e->canaries)
            goto nomem;
    }

    e->app_limits.max_line = cfg->app.max_line;
    e->app_limits.max_headers = cfg->app.max_headers;
    e->app_limits.max_decompressed = cfg->app.max_decompressed;
    e->app_limits.max_ratio = cfg->app.max_ratio;
    e->app_limits.max_encodings = cfg->app.max_encodings;

    e->match = lw_match_worker_new(deps->matcher);
    e->matcher = deps->matcher;
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

/*
 * A flow's per-stage state lives in blocks of its own that other flows'
 * packets have since pushed out of the cache, and a packet with payload
 * reads them one after the other: the reassembler, the decoder's slot, the
 * decoder, the Hyperscan stream. Asking for the first three at once, as
 * soon as the flow is known, overlaps those misses instead of paying them
 * in turn; the decoder and the match stream are asked for once their slots
 * have arrived, before reassembly starts. Hints only: nothing depends on
 * them.
 */
static void prefetch_slots(const lw_flow *f, const lw_packet *p)
{
    const uint8_t *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (fs) {
        __builtin_prefetch(fs, 1);
        __builtin_prefetch(fs + 64, 1); /* lw_stream spans two lines */
    }
    if (p->payload_len == 0)
        return;
    if (f->slot[LW_FLOW_SLOT_APP])
        __builtin_prefetch(f->slot[LW_FLOW_SLOT_APP], 1);
    if (f->slot[LW_FLOW_SLOT_MATCH])
        __builtin_prefetch(f->slot[LW_FLOW_SLOT_MATCH], 1);
}

static void prefetch_consumers(const lw_flow *f, int dir)
{
    const flow_app *fa = f->slot[LW_FLOW_SLOT_APP];
    if (fa && fa->decoder == LW_APP_HTTP && !fa->raw[dir])
        lw_http_prefetch(fa->d.http, dir);
    const flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (fm && fm->dir[dir])
        __builtin_prefetch(fm->dir[dir], 1);
}

static void tcp_segment(lw_engine *e, lw_flow *f, int dir, const lw_packet *p)
{
    if (p->payload_len)
        prefetch_consumers(f, dir);
    flow_stream *fs = f->slot[LW_FLOW_SLOT_STREAM];
    if (!fs) {
        fs = calloc(1, sizeof(*fs));
        if (!fs) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return;
        }
        f->slot[LW_FLOW_SLOT_STREAM] = fs;
        lw_flow_account(e->flows, f, SLOT_COST(flow_stream));
    }
    deliver_ctx dc = {e, f};
    lw_stream_segment(&e->stream_pool, &fs->s, dir, p, eng_on_stream_bytes, &dc);

    if (fs->s.dir[dir].overlap_mismatch && !(fs->anomaly_reported & (1u << dir))) {
        fs->anomaly_reported |= (uint8_t)(1u << dir);
        if (e->cfg->stream.overlap_event && f->egress[dir])
            eng_report_anomaly(e, f, dir, "stream", "overlap_mismatch");
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
    /* Slots are only freed when the flow leaves the table, which cannot
     * happen during its own packet: one that appears below is new. */
    bool had_app = f->slot[LW_FLOW_SLOT_APP] != NULL;
    bool had_match = f->slot[LW_FLOW_SLOT_MATCH] != NULL;
    prefetch_slots(f, p);
    if (created) {
        bool src_home = is_home(e, &f->src), dst_home = is_home(e, &f->dst);
        f->egress[LW_DIR_TOSERVER] = src_home && !dst_home;
        f->egress[LW_DIR_TOCLIENT] = dst_home && !src_home;
        eng_flow_created(e, f);
    }

    if (p->proto == LW_PROTO_TCP && e->cfg->stream.reassembly)
        tcp_segment(e, f, dir, p);
    else if (p->payload_len) /* UDP, and TCP when reassembly is off: each payload alone */
        eng_udp_payload(e, f, dir, p->payload, p->payload_len);

    if (!had_app && f->slot[LW_FLOW_SLOT_APP])
        lw_flow_account(e->flows, f, SLOT_COST(flow_app));
    if (!had_match && f->slot[LW_FLOW_SLOT_MATCH])
        lw_flow_account(e->flows, f, SLOT_COST(flow_match));
}

void lw_engine_tick(lw_engine *e, uint64_t ts_us)
{
    if (ts_us > e->now_us)
        e->now_us = ts_us;
    eng_advance_pending(e, true);
    lw_flow_table_expire(e->flows, e->now_us, EXPIRE_BUDGET);
    for (size_t i = 0; i < e->det_count; i++)
        lw_burst_expire(e->det[i].table, e->now_us, EXPIRE_BUDGET);
    lw_defrag_expire(e->defrag, e->now_us, EXPIRE_BUDGET);
}

uint64_t lw_engine_now(const lw_engine *e)
{
    return e->now_us;
}

void lw_engine_packet(lw_engine *e, lw_packet *p)
{
    lw_engine_tick(e, p->ts_us);

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

void lw_engine_finish(lw_engine *e)
{
    lw_flow_table_flush(e->flows);
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
    for (uint32_t i = 0; i < e->http_nspare; i++)
        lw_http_free(e->http_spare[i], NULL);
    for (size_t i = 0; i < e->det_count; i++)
        lw_burst_free(e->det[i].table);
    lw_burst_free(e->src_dests);
    free(e->incidents);
    lw_burst_free(e->dns_names);
    lw_burst_free(e->customers);
    lw_burst_free(e->canaries);
    lw_match_worker_free(e->match);
    lw_defrag_free(e->defrag);
    free(e->kind_stat_names);
    free(e);
}
