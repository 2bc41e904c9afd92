/*
 * engine_alert.c - from validated values to alert lines.
 *
 * First the policy: a value bound for an allow-listed destination is only
 * counted (policy.allowed_values); a per-destination rule may lower the
 * threshold or raise the severity. The verdict is taken once per egress
 * direction of a flow, at its first value, from what the flow revealed by
 * then (HTTP Host, TLS SNI, SMTP recipient domains, the DNS registered
 * domain) and the destination's address, ASN and country.
 *
 * Then each detector of the policy counts the value under its key: a
 * "pair" detector under (inside sender, outside receiver) - or for DNS
 * (inside sender, registered domain of the query), so exfiltration through
 * a resolver adds up per domain rather than per resolver - and a "source"
 * detector under the inside sender alone, wherever the value went. A burst
 * that crosses its threshold is held in a small ring (see pending_alert)
 * and written when its flow ends or burst.window later, with the growth it
 * had since the crossing.
 *
 * Incidents: alerts from one inside host within the longest detector
 * window share a pii.incident_id, so a SOC sees the pair, source and
 * customer-record alerts of one leak as one case. The id is a keyed hash of
 * the host and the incident's first alert time (a fixed key: the same
 * replay gives the same ids). Incidents live in a direct-mapped table of
 * INCIDENT_SLOTS per worker; two hosts that share a slot within a window
 * only cost one of them a fresh id.
 */
#include <sodium.h>
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
    uint8_t detector; /* index into e->det, or DETECTOR_CUSTOMERS */
    uint64_t crossed_us;
    const char *dns_domain;
    uint32_t dns_queries;
    const uint8_t *key; /* pair burst key, for the customer-record count */
    size_t key_len;
    const char *canary_label; /* set: a honeytoken alert */
    int16_t rule;             /* policy rule that applied, -1 = none */
    uint8_t severity;         /* the rule's severity, 0 = none */
    uint32_t threshold;       /* the rule's threshold, 0 = the detector's */
} alert_why;

/* Fixed key of the incident id hash: ids must not depend on the run. */
static const unsigned char incident_key[crypto_shorthash_KEYBYTES] = {
    'l', 'e', 'a', 'k', 'w', 'a', 't', 'c', 'h', '-', 'i', 'n', 'c', 'i', 'd', '1'};

/* The incident of inside host h at e->now_us: the running one, or a new one. */
static const char *incident_of(lw_engine *e, const lw_addr *h)
{
    unsigned char hash[crypto_shorthash_BYTES];
    crypto_shorthash(hash, (const unsigned char *)h, sizeof(*h), incident_key);
    uint32_t slot_no;
    memcpy(&slot_no, hash, sizeof(slot_no));
    incident_slot *s = &e->incidents[slot_no % INCIDENT_SLOTS];
    if (!(s->last_us && memcmp(&s->host, h, sizeof(*h)) == 0 &&
          e->now_us - s->last_us <= e->incident_window_us)) {
        unsigned char buf[sizeof(lw_addr) + 8];
        memcpy(buf, h, sizeof(*h));
        for (int i = 0; i < 8; i++)
            buf[sizeof(lw_addr) + (size_t)i] = (unsigned char)(e->now_us >> (8 * i));
        crypto_shorthash(hash, buf, sizeof(buf), incident_key);
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < 8; i++) {
            s->id[2 * i] = hex[hash[i] >> 4];
            s->id[2 * i + 1] = hex[hash[i] & 15];
        }
        s->id[16] = '\0';
        s->host = *h;
    }
    s->last_us = e->now_us ? e->now_us : 1;
    return s->id;
}

/* The source detector's key: the inside sender and a tag. */
static size_t source_key(const lw_flow *f, int dir, uint8_t key[LW_BURST_KEY_MAX])
{
    const lw_addr *sender = dir == LW_DIR_TOSERVER ? &f->src : &f->dst;
    memcpy(key, sender, sizeof(lw_addr));
    key[sizeof(lw_addr)] = 'S';
    return sizeof(lw_addr) + 1;
}

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
    if (why->severity && why->severity < severity)
        severity = why->severity;

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
    if (fa && f->app_proto == LW_APP_TLS)
        app.tls_sni = fa->m.tls.sni;
    const detector_state *ds = why->detector < e->det_count ? &e->det[why->detector] : NULL;
    bool pair = ds && ds->d->key == LW_DETECTOR_PAIR;
    bool dns = dns_domain && dns_domain[0] && pair;
    if (dns_domain && dns_domain[0]) {
        app.dns_rrname_domain = dns_domain;
        app.dns_query_count = dns_queries;
    }
    /* the default pair detector keeps its DNS name and signature */
    bool default_dns = dns && strcmp(ds->d->name, "pair") == 0;
    lw_geo geo;
    bool have_geo = e->geoip && lw_geoip_lookup(e->geoip, receiver, &geo);
    uint32_t destinations = 0;
    if (ds && ds->d->key == LW_DETECTOR_SOURCE && e->src_dests) {
        uint8_t skey[LW_BURST_KEY_MAX];
        destinations = lw_burst_distinct(e->src_dests, skey, source_key(f, dir, skey));
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
        .signature_id = default_dns ? DNS_SIGNATURE_ID
                        : ds        ? ds->d->sid
                                    : PAIR_SIGNATURE_ID,
        .signature = default_dns ? DNS_SIGNATURE
                     : ds        ? ds->signature
                                 : PAIR_SIGNATURE,
        .severity = severity,
        .detector = default_dns ? "dns_domain"
                    : ds        ? ds->d->name
                                : "pair",
        .incident_id = incident_of(e, sender),
        .policy_rule = why->rule >= 0 ? lw_policy_rule_name(e->policy, (size_t)why->rule) : NULL,
        .destinations = destinations,
        .geo = have_geo ? &geo : NULL,
        .has_customer_records = e->edm != NULL && (pair || why->detector == DETECTOR_CUSTOMERS),
        .customer_records =
            e->edm && why->key ? lw_burst_distinct(e->customers, why->key, why->key_len) : 0,
        .canary_label = why->canary_label,
        .window_s = ds ? ds->d->window_s : e->cfg->burst.window_s,
        .threshold = why->threshold ? why->threshold
                     : ds           ? ds->d->threshold
                                    : 0,
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
        a.window_s = e->cfg->burst.window_s;
    } else if (why->detector == DETECTOR_CUSTOMERS) {
        a.signature_id = CUST_SIGNATURE_ID;
        a.signature = CUST_SIGNATURE;
        a.severity = 1;
        a.detector = "customer_records";
        a.threshold = e->cfg->edm.threshold;
        a.window_s = e->cfg->burst.window_s;
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
    lw_burst *table =
        pa->detector == DETECTOR_CUSTOMERS ? e->customers : e->det[pa->detector].table;
    if (lw_burst_growth(table, pa->key, pa->key_len, &added, per_kind)) {
        pa->report.distinct += added;
        for (size_t k = 0; k < LW_BURST_MAX_KINDS; k++)
            pa->report.per_kind[k] += per_kind[k];
    }
    alert_why why = {pa->detector,   pa->crossed_us,
                     pa->dns_domain, pa->dns_domain[0] ? dns_query_count(e, pa) : 0,
                     pa->key,        pa->key_len,
                     NULL,           pa->rule,
                     pa->severity,   pa->threshold};
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
                        size_t key_len, const char *dns_domain, const lw_burst_report *r,
                        const flow_verdict *v)
{
    flow_match *fm = eng_flow_match(e, f);
    int16_t rule = v ? v->rule : -1;
    uint8_t severity = v ? v->severity : 0;
    /* a rule's threshold applies to pair detectors (it is per destination) */
    uint32_t threshold = v && detector < e->det_count && e->det[detector].d->key == LW_DETECTOR_PAIR
                             ? v->threshold
                             : 0;
    if (!fm) {
        alert_why why = {detector, e->now_us, dns_domain, 0,        key,
                         key_len,  NULL,      rule,       severity, threshold};
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
    pa->rule = rule;
    pa->severity = severity;
    pa->threshold = threshold;
    e->pending_count++;
    fm->pending++;
}

/*
 * Exact data matching: a customer's value counts its row (not the value)
 * toward the customer-record detector under the same burst key; a canary's
 * value alerts at once, once per (key, canary) per window.
 */
static void customer_value(lw_engine *e, found_ctx *fc, const lw_pii_value *v, const uint8_t *key,
                           size_t key_len, const char *dns_domain, bool canary_only)
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
    if (!canary_only && lw_burst_add(e->customers, key, key_len, &row, e->now_us, &report))
        add_pending(e, fc->flow, fc->dir, DETECTOR_CUSTOMERS, key, key_len, dns_domain, &report,
                    NULL);

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
                             lw_edm_label(e->edm, hit.record),
                             -1,
                             0,
                             0};
            emit_alert(e, fc->flow, fc->dir, &report, &why);
        }
    }
    memset(row.norm, 0, sizeof(row.norm));
}

/* The receiver's names the flow revealed, for domain allow-lists and rules. */
static size_t dest_names(const lw_flow *f, const char *dns_domain,
                         const char *names[LW_POLICY_MAX_NAMES])
{
    const flow_app *fa = f->slot[LW_FLOW_SLOT_APP];
    size_t n = 0;
    if (dns_domain && dns_domain[0])
        names[n++] = dns_domain;
    if (!fa)
        return n;
    if (f->app_proto == LW_APP_HTTP && fa->m.http.host[0]) {
        names[n++] = fa->m.http.host;
    } else if (f->app_proto == LW_APP_TLS && fa->m.tls.sni[0]) {
        names[n++] = fa->m.tls.sni;
    } else if (f->app_proto == LW_APP_SMTP) {
        /* the masked recipients keep their domain */
        for (size_t i = 0; i < fa->m.smtp.rcpt_count && n < LW_POLICY_MAX_NAMES; i++) {
            const char *at = strchr(fa->m.smtp.rcpt_to[i], '@');
            if (at && at[1])
                names[n++] = at + 1;
        }
    }
    return n;
}

/* The policy's verdict for a direction's destination (cached per flow
 * direction, except for DNS whose domain changes per question). */
static flow_verdict verdict_of(lw_engine *e, lw_flow *f, int dir, const char *dns_domain)
{
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    bool cache = fm && f->app_proto != LW_APP_DNS;
    if (cache && fm->verdict[dir].done)
        return fm->verdict[dir];
    lw_policy_dest d;
    lw_geo geo;
    memset(&d, 0, sizeof(d));
    d.addr = dir == LW_DIR_TOSERVER ? f->dst : f->src;
    if (e->geoip && lw_geoip_lookup(e->geoip, &d.addr, &geo))
        d.geo = &geo;
    d.n_names = dest_names(f, dns_domain, d.names);
    lw_policy_verdict pv;
    lw_policy_decide(e->policy, &d, &pv);
    flow_verdict v = {true, pv.severity, (int16_t)pv.allow, (int16_t)pv.rule, pv.threshold};
    /* A name may still come (a value in the request line before Host, in
     * MAIL FROM before RCPT TO): keep asking until one is known. */
    bool names_may_come =
        d.n_names == 0 &&
        (f->app_proto == LW_APP_HTTP || f->app_proto == LW_APP_SMTP || f->app_proto == LW_APP_TLS);
    if (cache && !names_may_come)
        fm->verdict[dir] = v;
    return v;
}

void eng_on_value(void *arg, const lw_pii_value *v)
{
    found_ctx *fc = arg;
    lw_engine *e = fc->e;
    const flow_app *fa = fc->flow->slot[LW_FLOW_SLOT_APP];
    const char *dns_domain = fa && fc->flow->app_proto == LW_APP_DNS ? fa->m.dns.domain : NULL;
    uint8_t key[LW_BURST_KEY_MAX], skey[LW_BURST_KEY_MAX];
    size_t key_len = burst_key(fc->flow, fc->dir, dns_domain, key);
    size_t skey_len = source_key(fc->flow, fc->dir, skey);
    flow_verdict verdict = verdict_of(e, fc->flow, fc->dir, dns_domain);

    if (verdict.allow >= 0) {
        /* an allowed destination: counted, never alerted - but a canary
         * has no legitimate destination at all */
        e->ctr[CTR_POLICY_ALLOWED_VALUES]++;
        if (e->edm)
            customer_value(e, fc, v, key, key_len, dns_domain, true);
        return;
    }
    if (verdict.rule >= 0)
        e->ctr[CTR_POLICY_RULE_VALUES]++;
    if (e->src_dests) {
        /* the outside host as a "value" of the sender: distinct destinations */
        lw_pii_value dv;
        memset(&dv, 0, sizeof(dv));
        const lw_addr *receiver = fc->dir == LW_DIR_TOSERVER ? &fc->flow->dst : &fc->flow->src;
        memcpy(dv.norm, receiver, sizeof(*receiver));
        dv.norm_len = sizeof(*receiver);
        lw_burst_add(e->src_dests, skey, skey_len, &dv, e->now_us, NULL);
    }
    for (size_t i = 0; i < e->det_count; i++) {
        detector_state *ds = &e->det[i];
        bool pair = ds->d->key == LW_DETECTOR_PAIR;
        lw_burst_report report;
        if (lw_burst_add_threshold(ds->table, pair ? key : skey, pair ? key_len : skey_len, v,
                                   e->now_us, pair ? verdict.threshold : 0, &report))
            add_pending(e, fc->flow, fc->dir, (uint8_t)i, pair ? key : skey,
                        pair ? key_len : skey_len, pair ? dns_domain : NULL, &report, &verdict);
    }
    if (e->edm)
        customer_value(e, fc, v, key, key_len, dns_domain, false);
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
