/*
 * engine_internal.h - the worker engine's state, shared by its three files:
 *   engine.c        the packet path: decode, defrag, flow, stream; stats;
 *   engine_app.c    application decoders and what reaches the matcher;
 *   engine_alert.c  values to bursts, held alerts, alert and anomaly lines.
 * Nothing outside sensor/engine/ includes this.
 */
#ifndef LEAKWATCH_ENGINE_INTERNAL_H
#define LEAKWATCH_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/alert.h"
#include "leakwatch/app.h"
#include "leakwatch/burst.h"
#include "leakwatch/config.h"
#include "leakwatch/decode.h"
#include "leakwatch/defrag.h"
#include "leakwatch/edm.h"
#include "leakwatch/dns.h"
#include "leakwatch/engine.h"
#include "leakwatch/flow.h"
#include "leakwatch/ftp.h"
#include "leakwatch/http.h"
#include "leakwatch/match.h"
#include "leakwatch/output.h"
#include "leakwatch/signatures.h"
#include "leakwatch/smtp.h"
#include "leakwatch/stream.h"
#include "leakwatch/tls.h"

#define LW_ENGINE_COUNTERS(X)                                                                      \
    X(NOT_TRANSPORT, "engine.not_tcp_udp")                                                         \
    X(REASSEMBLED_DROPPED, "engine.reassembled_not_decoded")                                       \
    X(EGRESS_BYTES, "engine.egress_bytes_inspected")                                               \
    X(UNINSPECTED_BYTES, "engine.bytes_not_egress")                                                \
    X(ENCRYPTED_BYTES, "engine.bytes_encrypted_not_inspected")                                     \
    X(STATE_ALLOC_FAILED, "engine.state_alloc_failed")                                             \
    X(ANOMALIES, "engine.anomaly_events")                                                          \
    X(FTP_EXPECTED, "engine.ftp_data_expected")                                                    \
    X(FTP_DATA_FLOWS, "engine.ftp_data_flows")                                                     \
    X(FTP_EXPECT_FULL, "engine.ftp_expectations_full")                                             \
    X(EDM_CUSTOMER_VALUES, "edm.customer_values")                                                  \
    X(EDM_CANARY_VALUES, "edm.canary_values")                                                      \
    X(CANARY_ALERTS, "alert.canary_alerts")                                                        \
    X(ALERTS, "alert.alerts")                                                                      \
    X(ALERT_TOO_LONG, "alert.too_long")                                                            \
    X(POLICY_ALLOWED_VALUES, "policy.allowed_values")                                              \
    X(POLICY_RULE_VALUES, "policy.rule_values")

#define ENGINE_ENUM_(name, str) CTR_##name,
enum engine_counter { LW_ENGINE_COUNTERS(ENGINE_ENUM_) CTR_MAX };
#undef ENGINE_ENUM_

/* The policy's word on one egress direction's destination, decided at its
 * first value (a DNS flow decides per value: its domain changes). */
typedef struct flow_verdict {
    bool done;
    uint8_t severity;   /* 0 = the signature's */
    int16_t allow;      /* allow entry index, -1 = none */
    int16_t rule;       /* rule index, -1 = none */
    uint32_t threshold; /* 0 = the detector's */
} flow_verdict;

/* Per-flow match state: one Hyperscan stream per egress direction. */
typedef struct flow_match {
    lw_match_stream *dir[2];
    uint32_t match_bytes[2]; /* what dir[d] holds, as declared to flow.memcap */
    bool gap[2];             /* a hole is pending before the next scan */
    uint16_t pending;        /* alerts of this flow waiting in the pending ring */
    flow_verdict verdict[2];
} flow_match;

/* Per-flow TCP state: the reassembler and which directions have had their
 * anomaly reported (one event per direction is enough for a SOC). */
typedef struct flow_stream {
    lw_stream s;
    uint8_t anomaly_reported; /* bit d */
} flow_stream;

#define APP_RCPT_MAX 4
#define APP_TEXT_MAX 96

/* Per-flow application state: the decoder and what it said, masked. A flow
 * speaks one protocol, so what is kept for the alert is a union, sized by
 * its HTTP member. SMTP's recipients would double it, so they live after
 * the struct, in room only an SMTP flow's slot is allocated with (the slot
 * is one allocation either way, freed with the flow). */
typedef struct flow_app {
    union {
        lw_http *http;
        lw_smtp *smtp;
        lw_ftp *ftp;
        lw_dns_tcp *dns_tcp;
        lw_tls_dir *tls; /* [2]: one tracker per direction */
    } d;
    uint32_t decoder_mem; /* decoder bytes declared to flow.memcap */
    uint8_t decoder;      /* lw_app_proto: which member of `d` is live; LW_APP_UNKNOWN = none */
    bool raw[2];          /* the decoder gave up on this direction: scan the rest raw */
    union {
        struct {
            char host[APP_TEXT_MAX];
            char url[APP_TEXT_MAX * 2]; /* masked */
            char method[16];
            char content_type[64];
            uint16_t status;
            /* while d.http is NULL (the decoder was idle and was given
             * back, engine_app.c): what the connection carries into the
             * decoder it resumes with */
            lw_http_carry carry;
        } http;
        struct {
            char helo[APP_TEXT_MAX];
            char mail_from[LW_PII_MASK_MAX]; /* masked */
            /* APP_RCPT_MAX masked recipients: rcpt_room of an SMTP flow's
             * slot, NULL in any other flow's */
            char (*rcpt_to)[LW_PII_MASK_MAX];
            uint8_t rcpt_count;
        } smtp;
        struct {
            char domain[APP_TEXT_MAX]; /* registered domain of the question being decoded */
        } dns;
        struct {
            char sni[LW_TLS_SNI_MAX];
        } tls;
    } m;
    char rcpt_room[][LW_PII_MASK_MAX]; /* SMTP flows only: APP_RCPT_MAX rows */
} flow_app;

/* Parked HTTP decoders a worker keeps for reuse (the rest are freed). */
#define ENG_HTTP_SPARE 64

/* Bytes of an SMTP flow's slot beyond sizeof(flow_app). */
#define APP_SMTP_EXTRA (APP_RCPT_MAX * LW_PII_MASK_MAX)

/*
 * An alert whose burst crossed the threshold but is still going on. It is
 * written when the flow that crossed it ends or one window after the
 * crossing, whichever comes first, so that it reports how big the leak was
 * rather than just the threshold; the delay is bounded by burst.window.
 */
#define MAX_PENDING 256
/* A held alert's detector: an index into the engine's detectors, or this. */
#define DETECTOR_CUSTOMERS 255

typedef struct pending_alert {
    lw_flow *flow; /* NULL once written */
    uint8_t detector;
    uint8_t severity; /* the policy rule's, 0 = none */
    int16_t rule;     /* the policy rule that applied, -1 = none */
    uint32_t threshold;
    int dir;
    uint64_t crossed_us;
    uint8_t key[LW_BURST_KEY_MAX];
    uint8_t key_len;
    char dns_domain[APP_TEXT_MAX]; /* set when the burst is counted per DNS domain */
    lw_burst_report report;        /* as at the crossing */
} pending_alert;

/* A data connection an FTP control session announced. */
#define MAX_FTP_EXPECT 64
typedef struct ftp_expect {
    lw_addr addr; /* the listening side */
    uint16_t port;
    uint64_t expires_us; /* 0 = free */
} ftp_expect;

/* One detector of the policy and its burst table. */
typedef struct detector_state {
    const lw_detector *d;
    lw_burst *table;
    uint64_t ctr[LW_BURST_CTR_MAX];
    char alerts_stat[96]; /* "detector.NAME.alerts" */
    char signature[160];
} detector_state;

/* Which incident an inside host's alerts belong to (see engine_alert.c). */
#define INCIDENT_SLOTS 4096
typedef struct incident_slot {
    lw_addr host;
    uint64_t last_us; /* 0 = free */
    char id[17];
} incident_slot;

struct lw_engine {
    const lw_config *cfg;
    const lw_signature_set *sigs;
    const lw_policy *policy;
    const lw_geoip *geoip;     /* NULL: no enrichment */
    bool deterministic;        /* fixed burst hash keys (file replay) */
    const lw_matcher *matcher; /* what lw_match_stream_bytes needs */
    lw_output *out;
    lw_flow_table *flows;
    detector_state det[LW_POLICY_MAX_DETECTORS];
    size_t det_count;
    bool has_source_detector;
    lw_burst *src_dests; /* distinct outside hosts per inside host, for source alerts */
    uint64_t src_dests_ctr[LW_BURST_CTR_MAX];
    uint64_t incident_window_us;
    incident_slot *incidents;
    lw_burst *dns_names; /* distinct query names per (inside host, domain) */
    const lw_edm *edm;   /* NULL: exact data matching off */
    lw_burst *customers; /* distinct customer rows per burst key */
    lw_burst *canaries;  /* one canary alert per (burst key, canary row) per window */
    uint64_t customers_ctr[LW_BURST_CTR_MAX];
    uint64_t canaries_ctr[LW_BURST_CTR_MAX];
    lw_match_worker *match;
    lw_defrag *defrag;
    lw_stream_pool stream_pool;
    lw_app_limits app_limits;
    /* HTTP decoders given back by idle flows (lw_http_park), for the next
     * flow that needs one: a keep-alive flow parks its decoder between
     * messages and takes one back at its next bytes, and neither allocates */
    lw_http *http_spare[ENG_HTTP_SPARE];
    uint32_t http_nspare;
    uint64_t now_us; /* largest packet or tick time seen */
    uint8_t kind_severity[LW_SIG_MAX_KINDS];

    uint64_t decode_ctr[LW_DECODE_CTR_MAX];
    uint64_t flow_ctr[LW_FLOW_CTR_MAX];
    uint64_t defrag_ctr[LW_DEFRAG_CTR_MAX];
    uint64_t tls_ctr[LW_TLS_CTR_MAX];
    uint64_t dns_names_ctr[LW_BURST_CTR_MAX];
    uint64_t http_ctr[LW_HTTP_CTR_MAX];
    uint64_t smtp_ctr[LW_SMTP_CTR_MAX];
    uint64_t dns_ctr[LW_DNS_CTR_MAX];
    uint64_t ftp_ctr[LW_FTP_CTR_MAX];
    uint64_t ctr[CTR_MAX];

    pending_alert pending[MAX_PENDING]; /* ring, oldest at pending_head */
    size_t pending_head, pending_count;

    ftp_expect ftp_expect[MAX_FTP_EXPECT];

    /* stats names for per-kind match counters, built once */
    char (*kind_stat_names)[2][80];

    char line[16384];
};

/* Where a value was found: what the burst key and the alert need. */
typedef struct found_ctx {
    lw_engine *e;
    lw_flow *flow;
    int dir;
} found_ctx;

/* engine_alert.c */
void eng_on_value(void *arg, const lw_pii_value *v);
void eng_advance_pending(lw_engine *e, bool check_age);
void eng_finish_flow_pending(lw_engine *e, lw_flow *f);
void eng_report_anomaly(lw_engine *e, lw_flow *f, int dir, const char *type, const char *event);
flow_match *eng_flow_match(lw_engine *e, lw_flow *f);
void eng_count_dns_name(lw_engine *e, lw_flow *f, int dir, const char *name, const char *domain);

/* engine_app.c */
void eng_on_stream_bytes(void *arg, int dir, const uint8_t *data, size_t len, bool gap_before);
void eng_udp_payload(lw_engine *e, lw_flow *f, int dir, const uint8_t *data, size_t len);
void eng_flow_created(lw_engine *e, lw_flow *f);
void eng_end_app(lw_engine *e, lw_flow *f);   /* flushes and frees the decoder */
void eng_end_match(lw_engine *e, lw_flow *f); /* closes the Hyperscan streams */

/* The context the stream stage hands back to eng_on_stream_bytes. */
typedef struct deliver_ctx {
    lw_engine *e;
    lw_flow *f;
} deliver_ctx;

#endif
