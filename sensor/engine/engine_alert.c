/*
 * engine_alert.c - from validated values to alert lines.
 *
 * Each value goes to the burst table under a key: (inside sender address,
 * outside receiver address), or for DNS (inside sender, registered domain
 * of the query), so exfiltration through a resolver adds up per domain
 * rather than per resolver. A burst that crosses the threshold is held in
 * a small ring (see pending_alert) and written when its flow ends or one
 * window later, with the growth it had since the crossing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "leakwatch/community_id.h"

#define PAIR_SIGNATURE_ID 9000001u
#define PAIR_SIGNATURE    "LEAKWATCH PII burst from one inside host to one outside host"
#define DNS_SIGNATURE_ID  9000002u
#define DNS_SIGNATURE     "LEAKWATCH PII burst from one inside host to one domain over DNS"
#define CUST_SIGNATURE_ID 9000003u
#define CUST_SIGNATURE    "LEAKWATCH customer records sent from one inside host to one destination"
#define CANARY_SIG_ID     9000010u
#define CANARY_SIGNATURE  "LEAKWATCH honeytoken customer record left the network"

flow_match *eng_flow_match(lw_engine *e, lw_flow *f)
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

static void write_line(lw_engine *e, size_t n)
{
    /* A failed write is counted by the output itself (output.write_errors). */
    (void)lw_output_write(e->out, e->line, n);
}

/* How an alert came about, beyond the burst report. */
typedef struct alert_why {
    uint8_t detector; /* DETECTOR_PAIR, DETECTOR_CUSTOMERS */
    uint64_t crossed_us;
    const char *dns_domain;
    uint32_t dns_queries;
    const uint8_t *key; /* burst key, for the customer-record count */
    size_t key_len;
    const char *canary_label; /* set: a honeytoken alert */
} alert_why;

static void emit_alert(lw_engine *e, lw_flow *f, int dir, const lw_burst_report *r,
                       const alert_why *why)
{
    uint64_t crossed_us = why->crossed_us;
    const char *dns_domain = why->dns_domain;
    uint32_t dns_queries = why->dns_queries;
    const lw_addr *sender = dir == LW_DIR_TOSERVER ? &f->src : &f->dst;
    const lw_addr *receiver = dir == LW_DIR_TOSERVER ? &f->dst : &f->src;
    char cid[LW_COMMUNITY_ID_LEN];
    bool have_cid =
        lw_community_id_v1(0, f->proto, &f->src, f->sport, &f->dst, f->dport, cid) == LW_OK;

    uint8_t severity = 4;
    for (size_t k = 0; k < e->sigs->kind_count && k < LW_BURST_MAX_KINDS; k++)
        if (r->per_kind[k] && e->kind_severity[k] < severity)
            severity = e->kind_severity[k];

    lw_alert_app app;
    memset(&app, 0, sizeof(app));
    const flow_app *fa = f->slot[LW_FLOW_SLOT_APP];
    if (fa && f->app_proto == LW_APP_HTTP) {
        app.http_hostname = fa->m.http.host;
        app.http_url = fa->m.http.url;
        app.http_method = fa->m.http.method;
        app.http_content_type = fa->m.http.content_type;
        app.http_status = fa->m.http.status;
    } else if (fa && f->app_proto == LW_APP_SMTP) {
        app.smtp_helo = fa->m.smtp.helo;
        app.smtp_mail_from = fa->m.smtp.mail_from;
        app.smtp_rcpt_to = fa->m.smtp.rcpt_to;
        app.smtp_rcpt_count = fa->m.smtp.rcpt_count;
    }
    bool dns = dns_domain && dns_domain[0] && why->detector == DETECTOR_PAIR;
    if (dns_domain && dns_domain[0]) {
        app.dns_rrname_domain = dns_domain;
        app.dns_query_count = dns_queries;
    }

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
        .signature_id = dns ? DNS_SIGNATURE_ID : PAIR_SIGNATURE_ID,
        .signature = dns ? DNS_SIGNATURE : PAIR_SIGNATURE,
        .severity = severity,
        .detector = dns ? "dns_domain" : "pair",
        .has_customer_records = e->edm != NULL,
        .customer_records =
            e->edm && why->key ? lw_burst_distinct(e->customers, why->key, why->key_len) : 0,
        .canary_label = why->canary_label,
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
        .app = &app,
        .pkts_toserver = f->pkts[0],
        .pkts_toclient = f->pkts[1],
        .bytes_toserver = f->bytes[0],
        .bytes_toclient = f->bytes[1],
        .flow_start_us = f->ts_start_us,
    };
    if (why->canary_label) {
        a.signature_id = CANARY_SIG_ID;
        a.signature = CANARY_SIGNATURE;
        a.severity = 1;
        a.detector = "canary";
        a.threshold = 1;
    } else if (why->detector == DETECTOR_CUSTOMERS) {
        a.signature_id = CUST_SIGNATURE_ID;
        a.signature = CUST_SIGNATURE;
        a.severity = 1;
        a.detector = "customer_records";
        a.threshold = e->cfg->edm.threshold;
    }
    size_t n = lw_alert_format(&a, e->line, sizeof(e->line));
    if (n == 0) {
        e->ctr[CTR_ALERT_TOO_LONG]++;
        return;
    }
    e->ctr[CTR_ALERTS]++;
    write_line(e, n);
}

void eng_report_anomaly(lw_engine *e, lw_flow *f, int dir, const char *type, const char *event)
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
        .type = type,
        .event = event,
    };
    size_t n = lw_anomaly_format(&a, e->line, sizeof(e->line));
    if (n == 0)
        return;
    e->ctr[CTR_ANOMALIES]++;
    write_line(e, n);
}

/* The burst key: inside sender, then 'A' + outside receiver address or
 * 'D' + registered domain (cut to fit; two domains sharing their first 45
 * bytes would share a key, which only ever merges bursts). */
static size_t burst_key(const lw_flow *f, int dir, const char *dns_domain,
                        uint8_t key[LW_BURST_KEY_MAX])
{
    const lw_addr *sender = dir == LW_DIR_TOSERVER ? &f->src : &f->dst;
    const lw_addr *receiver = dir == LW_DIR_TOSERVER ? &f->dst : &f->src;
    size_t n = 0;
    memcpy(key, sender, sizeof(lw_addr));
    n += sizeof(lw_addr);
    if (dns_domain && dns_domain[0]) {
        size_t dl = strlen(dns_domain);
        if (dl > LW_BURST_KEY_MAX - n - 1)
            dl = LW_BURST_KEY_MAX - n - 1;
        key[n++] = 'D';
        memcpy(key + n, dns_domain, dl);
        n += dl;
    } else {
        key[n++] = 'A';
        memcpy(key + n, receiver, sizeof(lw_addr));
        n += sizeof(lw_addr);
    }
    return n;
}

/* Distinct query names the inside sender sent under the domain (window). */
static uint32_t dns_query_count(lw_engine *e, const pending_alert *pa)
{
    return lw_burst_distinct(e->dns_names, pa->key, pa->key_len);
}

static void finish_pending(lw_engine *e, pending_alert *pa)
{
    uint32_t added, per_kind[LW_BURST_MAX_KINDS];
    lw_burst *table = pa->detector == DETECTOR_CUSTOMERS ? e->customers : e->burst;
    if (lw_burst_growth(table, pa->key, pa->key_len, &added, per_kind)) {
        pa->report.distinct += added;
        for (size_t k = 0; k < LW_BURST_MAX_KINDS; k++)
            pa->report.per_kind[k] += per_kind[k];
    }
    alert_why why = {pa->detector,
                     pa->crossed_us,
                     pa->dns_domain,
                     pa->dns_domain[0] ? dns_query_count(e, pa) : 0,
                     pa->key,
                     pa->key_len,
                     NULL};
    emit_alert(e, pa->flow, pa->dir, &pa->report, &why);
    flow_match *fm = pa->flow->slot[LW_FLOW_SLOT_MATCH];
    if (fm && fm->pending)
        fm->pending--;
    pa->flow = NULL;
}

void eng_advance_pending(lw_engine *e, bool check_age)
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

void eng_finish_flow_pending(lw_engine *e, lw_flow *f)
{
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (!fm || !fm->pending)
        return;
    for (size_t i = 0; i < e->pending_count && fm->pending; i++) {
        pending_alert *pa = &e->pending[(e->pending_head + i) % MAX_PENDING];
        if (pa->flow == f)
            finish_pending(e, pa);
    }
    eng_advance_pending(e, false);
}

static void add_pending(lw_engine *e, lw_flow *f, int dir, uint8_t detector, const uint8_t *key,
                        size_t key_len, const char *dns_domain, const lw_burst_report *r)
{
    flow_match *fm = eng_flow_match(e, f);
    if (!fm) {
        alert_why why = {detector, e->now_us, dns_domain, 0, key, key_len, NULL};
        emit_alert(e, f, dir, r, &why);
        return;
    }
    if (e->pending_count == MAX_PENDING) {
        /* No room to wait: write the oldest now. */
        finish_pending(e, &e->pending[e->pending_head]);
        eng_advance_pending(e, false);
    }
    pending_alert *pa = &e->pending[(e->pending_head + e->pending_count) % MAX_PENDING];
    pa->flow = f;
    pa->detector = detector;
    pa->dir = dir;
    pa->crossed_us = e->now_us;
    memcpy(pa->key, key, key_len);
    pa->key_len = (uint8_t)key_len;
    snprintf(pa->dns_domain, sizeof(pa->dns_domain), "%s", dns_domain ? dns_domain : "");
    pa->report = *r;
    e->pending_count++;
    fm->pending++;
}

/*
 * Exact data matching: a customer's value counts its row (not the value)
 * toward the customer-record detector under the same burst key; a canary's
 * value alerts at once, once per (key, canary) per window.
 */
static void customer_value(lw_engine *e, found_ctx *fc, const lw_pii_value *v, const uint8_t *key,
                           size_t key_len, const char *dns_domain)
{
    lw_edm_hit hit;
    const char *kind = e->sigs->kinds[v->kind];
    if (!lw_edm_lookup(e->edm, kind, v->norm, v->norm_len, &hit))
        return;

    /* the row stands for the customer: email and phone count once */
    lw_pii_value row;
    memset(&row, 0, sizeof(row));
    row.kind = v->kind;
    row.norm_len = (uint16_t)snprintf(row.norm, sizeof(row.norm), "row:%u", hit.record);
    memcpy(row.masked, v->masked, sizeof(row.masked));
    lw_burst_report report;

    /* the row first, so a canary alert already counts it */
    e->ctr[CTR_EDM_CUSTOMER_VALUES]++;
    if (lw_burst_add(e->customers, key, key_len, &row, e->now_us, &report))
        add_pending(e, fc->flow, fc->dir, DETECTOR_CUSTOMERS, key, key_len, dns_domain, &report);

    if (hit.canary) {
        e->ctr[CTR_EDM_CANARY_VALUES]++;
        uint8_t ckey[LW_BURST_KEY_MAX];
        size_t cl = key_len > LW_BURST_KEY_MAX - 4 ? LW_BURST_KEY_MAX - 4 : key_len;
        memcpy(ckey, key, cl);
        memcpy(ckey + cl, &hit.record, 4);
        if (lw_burst_add(e->canaries, ckey, cl + 4, &row, e->now_us, &report)) {
            e->ctr[CTR_CANARY_ALERTS]++;
            uint32_t queries =
                dns_domain && dns_domain[0] ? lw_burst_distinct(e->dns_names, key, key_len) : 0;
            alert_why why = {DETECTOR_CUSTOMERS,
                             e->now_us,
                             dns_domain,
                             queries,
                             key,
                             key_len,
                             lw_edm_label(e->edm, hit.record)};
            emit_alert(e, fc->flow, fc->dir, &report, &why);
        }
    }
    memset(row.norm, 0, sizeof(row.norm));
}

void eng_on_value(void *arg, const lw_pii_value *v)
{
    found_ctx *fc = arg;
    lw_engine *e = fc->e;
    const flow_app *fa = fc->flow->slot[LW_FLOW_SLOT_APP];
    const char *dns_domain = fa && fc->flow->app_proto == LW_APP_DNS ? fa->m.dns.domain : NULL;
    uint8_t key[LW_BURST_KEY_MAX];
    size_t key_len = burst_key(fc->flow, fc->dir, dns_domain, key);

    lw_burst_report report;
    if (lw_burst_add(e->burst, key, key_len, v, e->now_us, &report))
        add_pending(e, fc->flow, fc->dir, DETECTOR_PAIR, key, key_len, dns_domain, &report);
    if (e->edm)
        customer_value(e, fc, v, key, key_len, dns_domain);
}

/* Counts a DNS question name under the burst key of its domain, for the
 * alert's dns.query_count (distinct names in the window). */
void eng_count_dns_name(lw_engine *e, lw_flow *f, int dir, const char *name, const char *domain)
{
    uint8_t key[LW_BURST_KEY_MAX];
    size_t key_len = burst_key(f, dir, domain, key);
    lw_pii_value v;
    memset(&v, 0, sizeof(v));
    size_t n = strlen(name);
    if (n >= sizeof(v.norm))
        n = sizeof(v.norm) - 1;
    memcpy(v.norm, name, n);
    v.norm_len = (uint16_t)n;
    lw_burst_add(e->dns_names, key, key_len, &v, e->now_us, NULL);
}
