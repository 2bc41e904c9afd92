/*
 * alert.h - building EVE JSON lines: alerts and stats.
 *
 * Field names follow Suricata's EVE format where one exists (timestamp,
 * flow_id, event_type, src_ip, src_port, dest_ip, dest_port, proto,
 * app_proto, community_id, alert.{signature_id, signature, category,
 * severity}, flow.{bytes_toserver, ...}); what is ours lives under "pii".
 * src_ip is always the inside host that sent the PII, dest_ip the outside
 * host that received it, whichever side opened the connection.
 *
 * The builder only ever sees masked samples and counts: no clear value can
 * reach an alert line through this interface.
 */
#ifndef LEAKWATCH_ALERT_H
#define LEAKWATCH_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/geoip.h"
#include "leakwatch/types.h"

#define LW_ALERT_CATEGORY "pii-exfiltration"

/* What the application layer said about the transaction that carried the
 * leak. Every string is already safe to print (PII masked); NULL or empty =
 * not known. A section is written only when something in it is known. */
typedef struct lw_alert_app {
    const char *http_hostname;
    const char *http_url; /* PII-masked */
    const char *http_method;
    const char *http_content_type;
    uint16_t http_status; /* 0 = none */
    const char *smtp_helo;
    const char *smtp_mail_from;                  /* masked */
    const char (*smtp_rcpt_to)[LW_PII_MASK_MAX]; /* masked */
    size_t smtp_rcpt_count;
    const char *dns_rrname_domain;
    uint32_t dns_query_count;
    const char *tls_sni; /* server name of the ClientHello */
} lw_alert_app;

typedef struct lw_alert {
    uint64_t ts_us; /* packet time of the packet that completed the burst */
    uint64_t flow_id;
    const lw_addr *src_ip; /* inside sender */
    uint16_t src_port;
    const lw_addr *dest_ip; /* outside receiver */
    uint16_t dest_port;
    uint8_t proto;
    lw_app_proto app_proto;
    const char *community_id;

    uint32_t signature_id;
    const char *signature;
    uint8_t severity;
    const char *detector;    /* "pair", "source", "dns_domain", a policy detector's name */
    const char *incident_id; /* links alerts of one leak across detectors; NULL = none */
    const char *policy_rule; /* the per-destination rule that applied; NULL = none */
    uint32_t destinations;   /* source detector: distinct outside hosts in the window; 0 = omit */

    uint32_t window_s;
    uint32_t threshold;
    uint32_t distinct;
    const char *const *kind_names; /* kind_count names */
    const uint32_t *per_kind;      /* distinct values per kind */
    size_t kind_count;
    const char (*samples)[LW_PII_MASK_MAX];
    size_t sample_count;
    uint64_t first_ts_us;   /* oldest value in the window at the crossing */
    uint64_t crossed_ts_us; /* when the distinct count reached the threshold */

    const lw_alert_app *app;   /* may be NULL */
    const lw_geo *geo;         /* the outside host (dest_ip); NULL = no GeoIP */
    bool has_customer_records; /* exact data matching is on */
    uint32_t customer_records; /* distinct customer rows in the window */
    const char *canary_label;  /* a honeytoken alert: which canary (never its value) */

    uint64_t pkts_toserver, pkts_toclient;
    uint64_t bytes_toserver, bytes_toclient;
    uint64_t flow_start_us;
} lw_alert;

/* An anomaly worth a SOC's eye that is not a leak by itself (evasion). */
typedef struct lw_anomaly {
    uint64_t ts_us;
    uint64_t flow_id;
    const lw_addr *src_ip; /* sender of the anomalous bytes */
    uint16_t src_port;
    const lw_addr *dest_ip;
    uint16_t dest_port;
    uint8_t proto;
    const char *community_id;
    const char *type;  /* "stream", "defrag" */
    const char *event; /* "overlap_mismatch" */
} lw_anomaly;

typedef struct lw_stat {
    const char *name; /* dotted */
    uint64_t value;
} lw_stat;

/* Writes the alert as one JSON line ending in '\n' into buf; returns its
 * length, or 0 when it did not fit. */
size_t lw_alert_format(const lw_alert *a, char *buf, size_t cap);

/* Writes an anomaly event line (EVE event_type "anomaly"); returns its
 * length, or 0 when it did not fit. */
size_t lw_anomaly_format(const lw_anomaly *a, char *buf, size_t cap);

/*
 * Writes a stats event line; returns its length, or 0 when it did not fit.
 * worker >= 0 adds "worker": N (one worker's counters); -1 is the totals
 * line, which has no "worker" key.
 */
size_t lw_stats_format(uint64_t ts_us, int worker, const lw_stat *stats, size_t count, char *buf,
                       size_t cap);

/* Suricata's EVE name for an IP protocol number ("TCP", "UDP", or the number). */
const char *lw_alert_proto_name(uint8_t proto, char tmp[8]);

#endif
