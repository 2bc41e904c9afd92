/*
 * alert.c - EVE JSON lines for alerts and stats (see alert.h).
 *
 * Field order is fixed so that the same capture and config give the same
 * bytes on every run (the offline determinism the e2e tests rely on).
 */
#include "leakwatch/alert.h"

#include <stdio.h>

#include "leakwatch/json.h"

const char *lw_alert_proto_name(uint8_t proto, char tmp[8])
{
    switch (proto) {
    case LW_PROTO_TCP:
        return "TCP";
    case LW_PROTO_UDP:
        return "UDP";
    case LW_PROTO_ICMP:
        return "ICMP";
    case LW_PROTO_ICMPV6:
        return "IPv6-ICMP";
    default:
        snprintf(tmp, 8, "%u", proto);
        return tmp;
    }
}

static bool known(const char *s)
{
    return s && s[0];
}

static void kv_if(lw_json *j, const char *key, const char *value)
{
    if (known(value))
        lw_json_kv_string(j, key, value);
}

/* The application sections, EVE-style names (http.hostname, ...). */
static void write_app(lw_json *j, const lw_alert_app *app)
{
    if (known(app->http_hostname) || known(app->http_url) || known(app->http_method) ||
        app->http_status) {
        lw_json_key(j, "http");
        lw_json_object_begin(j);
        kv_if(j, "hostname", app->http_hostname);
        kv_if(j, "url", app->http_url);
        kv_if(j, "http_method", app->http_method);
        if (app->http_status)
            lw_json_kv_uint(j, "status", app->http_status);
        kv_if(j, "http_content_type", app->http_content_type);
        lw_json_object_end(j);
    }
    if (known(app->smtp_helo) || known(app->smtp_mail_from) || app->smtp_rcpt_count) {
        lw_json_key(j, "smtp");
        lw_json_object_begin(j);
        kv_if(j, "helo", app->smtp_helo);
        kv_if(j, "mail_from", app->smtp_mail_from);
        lw_json_key(j, "rcpt_to");
        lw_json_array_begin(j);
        for (size_t i = 0; i < app->smtp_rcpt_count; i++)
            lw_json_string(j, app->smtp_rcpt_to[i]);
        lw_json_array_end(j);
        lw_json_object_end(j);
    }
    if (known(app->dns_rrname_domain)) {
        lw_json_key(j, "dns");
        lw_json_object_begin(j);
        lw_json_kv_string(j, "rrname_domain", app->dns_rrname_domain);
        lw_json_kv_uint(j, "query_count", app->dns_query_count);
        lw_json_object_end(j);
    }
    if (known(app->tls_sni)) {
        lw_json_key(j, "tls");
        lw_json_object_begin(j);
        lw_json_kv_string(j, "sni", app->tls_sni);
        lw_json_object_end(j);
    }
}

/* The outside host's place: only what the databases knew. */
static void write_geo(lw_json *j, const lw_geo *g)
{
    if (!g->country_iso[0] && !g->country[0] && !g->asn && !g->as_org[0] && !g->city[0])
        return;
    lw_json_key(j, "geo");
    lw_json_object_begin(j);
    kv_if(j, "country_iso", g->country_iso);
    kv_if(j, "country", g->country);
    kv_if(j, "city", g->city);
    if (g->asn)
        lw_json_kv_uint(j, "asn", g->asn);
    kv_if(j, "as_org", g->as_org);
    lw_json_object_end(j);
}

/* The fields every flow event starts with, in EVE order. */
typedef struct flow_fields {
    uint64_t ts_us;
    uint64_t flow_id;
    const char *event_type;
    const lw_addr *src_ip;
    uint16_t src_port;
    const lw_addr *dest_ip;
    uint16_t dest_port;
    uint8_t proto;
} flow_fields;

static void write_flow_fields(lw_json *j, const flow_fields *f)
{
    char ts[40], src[46], dst[46], proto_tmp[8];
    lw_json_format_ts(f->ts_us, ts);
    lw_json_format_addr(f->src_ip, src);
    lw_json_format_addr(f->dest_ip, dst);
    lw_json_kv_string(j, "timestamp", ts);
    lw_json_kv_uint(j, "flow_id", f->flow_id);
    lw_json_kv_string(j, "event_type", f->event_type);
    lw_json_kv_string(j, "src_ip", src);
    lw_json_kv_uint(j, "src_port", f->src_port);
    lw_json_kv_string(j, "dest_ip", dst);
    lw_json_kv_uint(j, "dest_port", f->dest_port);
    lw_json_kv_string(j, "proto", lw_alert_proto_name(f->proto, proto_tmp));
}

size_t lw_alert_format(const lw_alert *a, char *buf, size_t cap)
{
    lw_json j;
    char first[40], crossed[40], start[40];

    lw_json_format_ts(a->first_ts_us, first);
    lw_json_format_ts(a->crossed_ts_us, crossed);
    lw_json_format_ts(a->flow_start_us, start);

    lw_json_init(&j, buf, cap);
    lw_json_object_begin(&j);
    flow_fields ff = {a->ts_us,    a->flow_id, "alert",      a->src_ip,
                      a->src_port, a->dest_ip, a->dest_port, a->proto};
    write_flow_fields(&j, &ff);
    lw_json_kv_string(&j, "app_proto", lw_app_proto_name(a->app_proto));
    if (a->community_id)
        lw_json_kv_string(&j, "community_id", a->community_id);

    lw_json_key(&j, "alert");
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "action", "allowed");
    lw_json_kv_uint(&j, "signature_id", a->signature_id);
    lw_json_kv_uint(&j, "rev", 1);
    lw_json_kv_string(&j, "signature", a->signature);
    lw_json_kv_string(&j, "category", LW_ALERT_CATEGORY);
    lw_json_kv_uint(&j, "severity", a->severity);
    lw_json_object_end(&j);

    lw_json_key(&j, "pii");
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "detector", a->detector);
    if (a->incident_id)
        lw_json_kv_string(&j, "incident_id", a->incident_id);
    if (a->policy_rule)
        lw_json_kv_string(&j, "policy_rule", a->policy_rule);
    lw_json_kv_uint(&j, "window_s", a->window_s);
    lw_json_kv_uint(&j, "threshold", a->threshold);
    lw_json_kv_uint(&j, "distinct", a->distinct);
    if (a->destinations)
        lw_json_kv_uint(&j, "destinations", a->destinations);
    if (a->has_customer_records)
        lw_json_kv_uint(&j, "customer_records", a->customer_records);
    if (a->canary_label)
        lw_json_kv_string(&j, "canary_label", a->canary_label);
    lw_json_kv_string(&j, "first_seen", first);
    lw_json_kv_string(&j, "threshold_reached", crossed);
    lw_json_key(&j, "types");
    lw_json_object_begin(&j);
    for (size_t i = 0; i < a->kind_count; i++)
        if (a->per_kind[i])
            lw_json_kv_uint(&j, a->kind_names[i], a->per_kind[i]);
    lw_json_object_end(&j);
    lw_json_key(&j, "samples");
    lw_json_array_begin(&j);
    for (size_t i = 0; i < a->sample_count; i++)
        lw_json_string(&j, a->samples[i]);
    lw_json_array_end(&j);
    lw_json_object_end(&j);

    if (a->app)
        write_app(&j, a->app);
    if (a->geo)
        write_geo(&j, a->geo);

    lw_json_key(&j, "flow");
    lw_json_object_begin(&j);
    lw_json_kv_uint(&j, "pkts_toserver", a->pkts_toserver);
    lw_json_kv_uint(&j, "pkts_toclient", a->pkts_toclient);
    lw_json_kv_uint(&j, "bytes_toserver", a->bytes_toserver);
    lw_json_kv_uint(&j, "bytes_toclient", a->bytes_toclient);
    lw_json_kv_string(&j, "start", start);
    lw_json_object_end(&j);

    lw_json_object_end(&j);
    return lw_json_finish(&j);
}

size_t lw_anomaly_format(const lw_anomaly *a, char *buf, size_t cap)
{
    lw_json j;
    lw_json_init(&j, buf, cap);
    lw_json_object_begin(&j);
    flow_fields ff = {a->ts_us,    a->flow_id, "anomaly",    a->src_ip,
                      a->src_port, a->dest_ip, a->dest_port, a->proto};
    write_flow_fields(&j, &ff);
    if (a->community_id)
        lw_json_kv_string(&j, "community_id", a->community_id);
    lw_json_key(&j, "anomaly");
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "type", a->type);
    lw_json_kv_string(&j, "event", a->event);
    lw_json_object_end(&j);
    lw_json_object_end(&j);
    return lw_json_finish(&j);
}

size_t lw_stats_format(uint64_t ts_us, int worker, const lw_stat *stats, size_t count, char *buf,
                       size_t cap)
{
    lw_json j;
    char ts[40];

    lw_json_format_ts(ts_us, ts);
    lw_json_init(&j, buf, cap);
    lw_json_object_begin(&j);
    lw_json_kv_string(&j, "timestamp", ts);
    lw_json_kv_string(&j, "event_type", "stats");
    if (worker >= 0)
        lw_json_kv_uint(&j, "worker", (uint64_t)worker);
    lw_json_key(&j, "stats");
    lw_json_object_begin(&j);
    for (size_t i = 0; i < count; i++)
        lw_json_kv_uint(&j, stats[i].name, stats[i].value);
    lw_json_object_end(&j);
    lw_json_object_end(&j);
    return lw_json_finish(&j);
}
