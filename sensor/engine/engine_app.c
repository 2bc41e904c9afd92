/*
 * engine_app.c - what reaches the matcher: application decoders or raw bytes.
 *
 * Protocol detection looks at the first bytes of each direction (never at
 * ports alone). Once a flow is HTTP, SMTP, FTP or DNS-over-TCP its ordered
 * bytes of BOTH directions go to that decoder (only egress directions are
 * decoded into content; the other is parsed for framing so the two stay in
 * step), and the decoded content - each header value, form field, body,
 * MIME part or DNS name an item of its own - goes to the direction's
 * Hyperscan stream. Everything else is scanned raw. A gap is passed to the
 * decoder (it resynchronises) and to the matcher (nothing is joined across
 * it). What decoders say about the transaction (HTTP host, SMTP recipients)
 * is kept per flow for the alert, masked where it may hold PII.
 *
 * An HTTP flow that waits between messages, or for a response, gives its
 * decoder back (to the worker's spares) and takes one again at its next
 * bytes, keeping only a 24-byte carry: a million concurrent connections
 * must fit flow.memcap.
 *
 * TLS is tracked, not decoded: its cleartext handshake is scanned, the
 * ClientHello's server name is kept for the alert and the policy, and
 * every byte after the handshake is skipped (counted as
 * engine.bytes_encrypted_not_inspected): ciphertext cannot carry PII in
 * clear, and scanning it costs as much as scanning anything else. Bytes
 * that merely start like TLS but do not keep to its record framing are
 * scanned raw.
 *
 * FTP control sessions announce their data connections; the announcement is
 * remembered (bounded table, 60 s of packet time) and the connection, when
 * it comes, is labelled ftp-data and scanned raw.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "leakwatch/mask.h"

/* Stop looking for the protocol after this many payload bytes each way. */
#define APP_DETECT_LIMIT 4096
#define FTP_EXPECT_US    (60ull * 1000000u)

/* Context of the decoder sink and the DNS question callback. */
typedef struct app_ctx {
    lw_engine *e;
    lw_flow *f;
} app_ctx;

/*
 * The flow's app slot, made on first use. It is first used once the
 * protocol is known (a decoder starts, or says something), so an SMTP flow's
 * slot gets the room for its recipients then. engine.c declares
 * sizeof(flow_app) of it to flow.memcap when it sees the slot appear; the
 * recipients' room is declared here.
 */
static flow_app *app_of(lw_engine *e, lw_flow *f)
{
    flow_app *fa = f->slot[LW_FLOW_SLOT_APP];
    if (!fa) {
        bool smtp = f->app_proto == LW_APP_SMTP;
        fa = calloc(1, sizeof(*fa) + (smtp ? APP_SMTP_EXTRA : 0));
        if (!fa) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return NULL;
        }
        fa->decoder = LW_APP_UNKNOWN;
        if (smtp) {
            fa->m.smtp.rcpt_to = fa->rcpt_room;
            lw_flow_account(e->flows, f, APP_SMTP_EXTRA);
        }
        f->slot[LW_FLOW_SLOT_APP] = fa;
    }
    return fa;
}

/* Declares to flow.memcap what the direction's match stream holds now: its
 * look-back history comes and goes with the items it scans. */
static void account_match(lw_engine *e, lw_flow *f, flow_match *fm, int dir)
{
    uint32_t now = fm->dir[dir] ? (uint32_t)lw_match_stream_bytes(e->matcher, fm->dir[dir]) : 0;
    if (now != fm->match_bytes[dir]) {
        lw_flow_account(e->flows, f, (int64_t)now - (int64_t)fm->match_bytes[dir]);
        fm->match_bytes[dir] = now;
    }
}

/* The Hyperscan stream of an egress direction, opened on first use. */
static lw_match_stream *match_stream(lw_engine *e, lw_flow *f, int dir)
{
    flow_match *fm = eng_flow_match(e, f);
    if (!fm)
        return NULL;
    if (!fm->dir[dir]) {
        fm->dir[dir] = lw_match_stream_open(e->match);
        if (!fm->dir[dir]) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return NULL;
        }
        account_match(e, f, fm, dir);
        fm->gap[dir] = false;
    } else if (fm->gap[dir]) {
        lw_match_stream_gap(e->match, fm->dir[dir]);
        account_match(e, f, fm, dir);
        fm->gap[dir] = false;
    }
    return fm->dir[dir];
}

static void scan(lw_engine *e, lw_flow *f, int dir, const uint8_t *data, size_t len)
{
    lw_match_stream *ms = match_stream(e, f, dir);
    if (!ms)
        return;
    e->ctr[CTR_EGRESS_BYTES] += len;
    found_ctx fc = {e, f, dir};
    lw_match_stream_scan(e->match, ms, data, len, eng_on_value, &fc);
    account_match(e, f, f->slot[LW_FLOW_SLOT_MATCH], dir);
}

static void mark_gap(lw_engine *e, lw_flow *f, int dir)
{
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (fm && fm->dir[dir])
        fm->gap[dir] = true;
    (void)e;
}

/* ---- the decoder sink ----------------------------------------------------- */

static void sink_content(void *arg, int dir, const uint8_t *data, size_t len)
{
    app_ctx *ac = arg;
    if (dir < 0 || dir > 1 || !ac->f->egress[dir] || len == 0)
        return;
    scan(ac->e, ac->f, dir, data, len);
}

static void sink_item_end(void *arg, int dir)
{
    app_ctx *ac = arg;
    if (dir < 0 || dir > 1 || !ac->f->egress[dir])
        return;
    flow_match *fm = ac->f->slot[LW_FLOW_SLOT_MATCH];
    if (!fm || !fm->dir[dir] || fm->gap[dir])
        return;
    found_ctx fc = {ac->e, ac->f, dir};
    lw_match_stream_end_item(ac->e->match, fm->dir[dir], eng_on_value, &fc);
    account_match(ac->e, ac->f, fm, dir);
}

/* Copies a value for the alert: printable ASCII only, cut to fit. */
static void copy_text(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++)
        dst[n++] = (v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"') ? (char)v[i] : '?';
    dst[n] = '\0';
}

/* An email address as an alert may show it: masked. */
static void mask_address(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    char norm[LW_PII_VALUE_MAX];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < sizeof(norm); i++)
        norm[n++] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]);
    norm[n] = '\0';
    lw_mask(LW_VALIDATOR_EMAIL, norm, n, dst, cap);
    memset(norm, 0, sizeof(norm));
}

static void sink_meta(void *arg, int dir, lw_app_meta key, const uint8_t *v, size_t len)
{
    app_ctx *ac = arg;
    (void)dir;
    flow_app *fa = app_of(ac->e, ac->f);
    if (!fa)
        return;
    /* the meta union holds one protocol's facts: the flow's */
    bool http = ac->f->app_proto == LW_APP_HTTP, smtp = ac->f->app_proto == LW_APP_SMTP;
    if (key <= LW_META_HTTP_CONTENT_TYPE ? !http : key <= LW_META_SMTP_STARTTLS ? !smtp : true)
        return;
    switch (key) {
    case LW_META_HTTP_HOST:
        copy_text(fa->m.http.host, sizeof(fa->m.http.host), v, len);
        break;
    case LW_META_HTTP_URL:
        lw_mask_url(v, len, fa->m.http.url, sizeof(fa->m.http.url));
        break;
    case LW_META_HTTP_METHOD:
        copy_text(fa->m.http.method, sizeof(fa->m.http.method), v, len);
        break;
    case LW_META_HTTP_STATUS: {
        unsigned st = 0;
        for (size_t i = 0; i < len && i < 3 && v[i] >= '0' && v[i] <= '9'; i++)
            st = st * 10 + (unsigned)(v[i] - '0');
        fa->m.http.status = (uint16_t)st;
        break;
    }
    case LW_META_HTTP_CONTENT_TYPE:
        copy_text(fa->m.http.content_type, sizeof(fa->m.http.content_type), v, len);
        break;
    case LW_META_SMTP_HELO:
        copy_text(fa->m.smtp.helo, sizeof(fa->m.smtp.helo), v, len);
        break;
    case LW_META_SMTP_MAIL_FROM:
        mask_address(fa->m.smtp.mail_from, sizeof(fa->m.smtp.mail_from), v, len);
        break;
    case LW_META_SMTP_RCPT_TO:
        if (fa->m.smtp.rcpt_to && fa->m.smtp.rcpt_count < APP_RCPT_MAX) {
            mask_address(fa->m.smtp.rcpt_to[fa->m.smtp.rcpt_count], sizeof(fa->m.smtp.rcpt_to[0]),
                         v, len);
            fa->m.smtp.rcpt_count++;
        }
        break;
    default:
        break;
    }
}

static lw_app_sink make_sink(app_ctx *ac)
{
    lw_app_sink s = {sink_content, sink_item_end, sink_meta, ac};
    return s;
}

/* ---- FTP data connections -------------------------------------------------- */

static void ftp_expect_cb(void *arg, const lw_addr *addr, uint16_t port)
{
    app_ctx *ac = arg;
    lw_engine *e = ac->e;
    ftp_expect *slot = NULL, *oldest = &e->ftp_expect[0];
    for (size_t i = 0; i < MAX_FTP_EXPECT; i++) {
        ftp_expect *x = &e->ftp_expect[i];
        if (x->expires_us <= e->now_us) {
            slot = x;
            break;
        }
        if (x->expires_us < oldest->expires_us)
            oldest = x;
    }
    if (!slot) {
        e->ctr[CTR_FTP_EXPECT_FULL]++;
        slot = oldest;
    }
    slot->addr = *addr;
    slot->port = port;
    slot->expires_us = e->now_us + FTP_EXPECT_US;
    e->ctr[CTR_FTP_EXPECTED]++;
}

void eng_flow_created(lw_engine *e, lw_flow *f)
{
    if (f->proto != LW_PROTO_TCP)
        return;
    for (size_t i = 0; i < MAX_FTP_EXPECT; i++) {
        ftp_expect *x = &e->ftp_expect[i];
        if (x->expires_us > e->now_us && x->port == f->dport &&
            memcmp(&x->addr, &f->dst, sizeof(lw_addr)) == 0) {
            f->app_proto = LW_APP_FTP_DATA;
            x->expires_us = 0;
            e->ctr[CTR_FTP_DATA_FLOWS]++;
            return;
        }
    }
}

/* ---- decoders -------------------------------------------------------------- */

/* What the flow's decoder holds, as flow.memcap should see it. */
static size_t decoder_footprint(const flow_app *fa)
{
    switch (fa->decoder) {
    case LW_APP_HTTP:
        return lw_http_footprint(fa->d.http);
    case LW_APP_SMTP:
        return lw_smtp_footprint(fa->d.smtp);
    case LW_APP_FTP:
        return lw_ftp_footprint(fa->d.ftp);
    case LW_APP_DNS:
        return lw_dns_tcp_footprint(fa->d.dns_tcp);
    case LW_APP_TLS:
        return 2 * sizeof(lw_tls_dir);
    default:
        return 0;
    }
}

/* Declares a change in the decoder's size (HTTP line buffers grow and are
 * released, its body tables appear) to the flow table, which evicts beyond
 * flow.memcap. Called after each call into the decoder that may change it;
 * after an HTTP feed only when the decoder says its footprint changed
 * (lw_http_mem_changed), since most feeds allocate nothing. */
static void account_decoder(lw_engine *e, lw_flow *f, flow_app *fa)
{
    size_t now = fa->decoder == LW_APP_UNKNOWN ? 0 : decoder_footprint(fa);
    if (now != fa->decoder_mem) {
        lw_flow_account(e->flows, f, (int64_t)now - (int64_t)fa->decoder_mem);
        fa->decoder_mem = (uint32_t)now;
    }
}

/*
 * Idle HTTP decoders. A connection waiting between messages (or for the
 * response to its request) needs none of its decoder's ~400 bytes: when a
 * feed leaves it idle (lw_http_idle: both directions at a message boundary,
 * no HEAD or CONNECT answer owed, nothing open), its output budget and
 * count of pending requests go into the flow's carry, the decoder to the
 * worker's spares (freed when they are full), and d.http becomes NULL while
 * decoder stays LW_APP_HTTP. The flow's next bytes (or gap) take a spare, or a new
 * one, and resume it from the carry: lw_http guarantees the results are
 * those of the decoder it gave back. Every other use of d.http (the
 * footprint, the end of the flow, the prefetch) takes NULL as "nothing
 * held". A keep-alive flow thus swaps decoders with the spares and
 * allocates nothing.
 */
static lw_http *http_take(lw_engine *e, const lw_http_carry *carry)
{
    lw_http *h =
        e->http_nspare ? e->http_spare[--e->http_nspare] : lw_http_new(&e->app_limits, e->http_ctr);
    if (h)
        lw_http_resume(h, carry);
    return h;
}

static void http_give_back(lw_engine *e, lw_flow *f, flow_app *fa)
{
    lw_http *h = fa->d.http;
    lw_http_park(h, &fa->m.http.carry);
    if (e->http_nspare < ENG_HTTP_SPARE)
        e->http_spare[e->http_nspare++] = h;
    else
        lw_http_free(h, NULL); /* parked: nothing left to flush */
    fa->d.http = NULL;
    account_decoder(e, f, fa);
}

/* The flow's HTTP decoder, taken back if it was given back; NULL (and
 * counted) when memory ran out: the bytes are then scanned raw. */
static lw_http *http_decoder(lw_engine *e, lw_flow *f, flow_app *fa)
{
    if (!fa->d.http) {
        fa->d.http = http_take(e, &fa->m.http.carry);
        if (!fa->d.http) {
            e->ctr[CTR_STATE_ALLOC_FAILED]++;
            return NULL;
        }
        memset(&fa->m.http.carry, 0, sizeof(fa->m.http.carry));
        account_decoder(e, f, fa);
    }
    return fa->d.http;
}

static void start_decoder(lw_engine *e, lw_flow *f)
{
    if (f->proto != LW_PROTO_TCP)
        return;
    if (f->app_proto != LW_APP_HTTP && f->app_proto != LW_APP_SMTP && f->app_proto != LW_APP_FTP &&
        f->app_proto != LW_APP_DNS && f->app_proto != LW_APP_TLS)
        return;
    flow_app *fa = app_of(e, f);
    if (!fa || fa->decoder != LW_APP_UNKNOWN)
        return;
    bool ok = false;
    switch (f->app_proto) {
    case LW_APP_HTTP: {
        lw_http_carry fresh = {{0, 0}, 0}; /* a new connection carries nothing */
        ok = (fa->d.http = http_take(e, &fresh)) != NULL;
        break;
    }
    case LW_APP_SMTP:
        ok = (fa->d.smtp = lw_smtp_new(&e->app_limits, e->smtp_ctr)) != NULL;
        break;
    case LW_APP_FTP:
        ok = (fa->d.ftp = lw_ftp_new(&e->app_limits, &f->src, &f->dst, e->ftp_ctr)) != NULL;
        break;
    case LW_APP_DNS:
        ok = (fa->d.dns_tcp = lw_dns_tcp_new(e->dns_ctr)) != NULL;
        break;
    case LW_APP_TLS:
        ok = (fa->d.tls = calloc(2, sizeof(lw_tls_dir))) != NULL;
        break;
    default:
        break;
    }
    if (ok) {
        fa->decoder = (uint8_t)f->app_proto;
        account_decoder(e, f, fa);
    } else {
        e->ctr[CTR_STATE_ALLOC_FAILED]++;
    }
}

static void detect(lw_engine *e, lw_flow *f, const uint8_t *data, size_t len)
{
    if (f->app_proto != LW_APP_UNKNOWN && f->app_proto != LW_APP_FAILED)
        return;
    if (f->app_proto == LW_APP_FAILED && f->bytes[0] + f->bytes[1] > 2 * APP_DETECT_LIMIT)
        return;
    lw_app_proto p = lw_app_detect(f->proto, data, len);
    if (p == LW_APP_UNKNOWN)
        return;
    f->app_proto = p;
    start_decoder(e, f);
}

/* DNS question callback: the burst key of what follows is this domain. */
static void on_question(void *arg, const char *name, const char *domain)
{
    app_ctx *ac = arg;
    flow_app *fa = app_of(ac->e, ac->f);
    if (!fa || ac->f->app_proto != LW_APP_DNS)
        return;
    snprintf(fa->m.dns.domain, sizeof(fa->m.dns.domain), "%s", domain);
    /* the direction that carries questions is the one being decoded */
    for (int d = 0; d < 2; d++)
        if (ac->f->egress[d] && domain[0])
            eng_count_dns_name(ac->e, ac->f, d, name, domain);
}

static void decoder_gap(lw_engine *e, flow_app *fa, int dir, const lw_app_sink *sink)
{
    (void)e;
    switch (fa->decoder) {
    case LW_APP_HTTP:
        lw_http_gap(fa->d.http, dir, sink);
        break;
    case LW_APP_SMTP:
        lw_smtp_gap(fa->d.smtp, dir, sink);
        break;
    case LW_APP_FTP:
        lw_ftp_gap(fa->d.ftp, dir);
        break;
    case LW_APP_DNS:
        lw_dns_tcp_gap(fa->d.dns_tcp, dir);
        break;
    case LW_APP_TLS:
        /* the record framing is lost: what follows is scanned raw, unless
         * the direction was already encrypted */
        if (fa->d.tls[dir].state == LW_TLS_HANDSHAKE)
            fa->raw[dir] = true;
        break;
    default:
        break;
    }
}

/* TLS: scan the cleartext handshake, skip what is encrypted; remember the
 * server name for the alert and the policy. */
static void tls_bytes(lw_engine *e, lw_flow *f, flow_app *fa, int dir, const uint8_t *data,
                      size_t len)
{
    char sni[LW_TLS_SNI_MAX];
    bool found = false;
    size_t clear = lw_tls_feed(&fa->d.tls[dir], dir == LW_DIR_TOSERVER, data, len, sni, sizeof(sni),
                               &found, e->tls_ctr);
    if (found)
        snprintf(fa->m.tls.sni, sizeof(fa->m.tls.sni), "%s", sni);
    if (fa->d.tls[dir].state == LW_TLS_NOT_TLS)
        fa->raw[dir] = true; /* not TLS after all: inspect it like any bytes */
    if (clear > len)
        clear = len;
    if (clear) {
        if (f->egress[dir])
            scan(e, f, dir, data, clear);
        else
            e->ctr[CTR_UNINSPECTED_BYTES] += clear;
    }
    e->ctr[CTR_ENCRYPTED_BYTES] += len - clear;
}

void eng_on_stream_bytes(void *arg, int dir, const uint8_t *data, size_t len, bool gap_before)
{
    deliver_ctx *dc = arg;
    lw_engine *e = dc->e;
    lw_flow *f = dc->f;

    detect(e, f, data, len);
    if (gap_before)
        mark_gap(e, f, dir);

    flow_app *fa = f->slot[LW_FLOW_SLOT_APP];
    if (fa && fa->decoder == LW_APP_HTTP && !fa->raw[dir] && !http_decoder(e, f, fa))
        fa = NULL; /* no memory for a decoder: these bytes go raw */
    if (fa && fa->decoder != LW_APP_UNKNOWN && !fa->raw[dir]) {
        app_ctx ac = {e, f};
        lw_app_sink sink = make_sink(&ac);
        bool inspect = f->egress[dir];
        if (gap_before)
            decoder_gap(e, fa, dir, &sink);
        switch (fa->decoder) {
        case LW_APP_HTTP:
            lw_http_feed(fa->d.http, dir, data, len, inspect, &sink);
            if (lw_http_passthrough(fa->d.http, dir))
                fa->raw[dir] = true;
            if (lw_http_mem_changed(fa->d.http))
                account_decoder(e, f, fa);
            if (lw_http_idle(fa->d.http))
                http_give_back(e, f, fa);
            /* what flow.memcap holds for the decoder is what it holds */
            assert(fa->decoder_mem == decoder_footprint(fa));
            return;
        case LW_APP_SMTP:
            if (lw_smtp_encrypted(fa->d.smtp)) {
                e->ctr[CTR_ENCRYPTED_BYTES] += len;
                return;
            }
            lw_smtp_feed(fa->d.smtp, dir, data, len, inspect, &sink);
            return;
        case LW_APP_FTP:
            lw_ftp_feed(fa->d.ftp, dir, data, len, &sink, ftp_expect_cb, &ac);
            return;
        case LW_APP_DNS:
            lw_dns_tcp_feed(fa->d.dns_tcp, dir, data, len, inspect, &sink, on_question, &ac);
            return;
        case LW_APP_TLS:
            tls_bytes(e, f, fa, dir, data, len);
            return;
        default:
            break;
        }
    }
    if (f->egress[dir])
        scan(e, f, dir, data, len);
    else
        e->ctr[CTR_UNINSPECTED_BYTES] += len;
}

void eng_udp_payload(lw_engine *e, lw_flow *f, int dir, const uint8_t *data, size_t len)
{
    detect(e, f, data, len);
    if (f->app_proto == LW_APP_DNS) {
        app_ctx ac = {e, f};
        lw_app_sink sink = make_sink(&ac);
        if (lw_dns_message(data, len, dir, f->egress[dir], &sink, on_question, &ac, e->dns_ctr)) {
            /* every datagram stands alone */
            sink_item_end(&ac, dir);
            return;
        }
    }
    if (!f->egress[dir]) {
        e->ctr[CTR_UNINSPECTED_BYTES] += len;
        return;
    }
    e->ctr[CTR_EGRESS_BYTES] += len;
    found_ctx fc = {e, f, dir};
    lw_match_block_scan(e->match, data, len, eng_on_value, &fc);
}

void eng_end_app(lw_engine *e, lw_flow *f)
{
    flow_app *fa = f->slot[LW_FLOW_SLOT_APP];
    if (!fa || fa->decoder == LW_APP_UNKNOWN)
        return;
    app_ctx ac = {e, f};
    lw_app_sink sink = make_sink(&ac);
    switch (fa->decoder) {
    case LW_APP_HTTP:
        lw_http_free(fa->d.http, &sink);
        break;
    case LW_APP_SMTP:
        lw_smtp_free(fa->d.smtp, &sink);
        break;
    case LW_APP_FTP:
        lw_ftp_free(fa->d.ftp);
        break;
    case LW_APP_DNS:
        lw_dns_tcp_free(fa->d.dns_tcp);
        break;
    case LW_APP_TLS:
        lw_tls_dir_free(&fa->d.tls[0]);
        lw_tls_dir_free(&fa->d.tls[1]);
        free(fa->d.tls);
        break;
    default:
        break;
    }
    fa->decoder = LW_APP_UNKNOWN;
    account_decoder(e, f, fa);
}

void eng_end_match(lw_engine *e, lw_flow *f)
{
    flow_match *fm = f->slot[LW_FLOW_SLOT_MATCH];
    if (!fm)
        return;
    for (int d = 0; d < 2; d++) {
        if (!fm->dir[d])
            continue;
        found_ctx fc = {e, f, d};
        /* A pending hole means the last value may be cut: do not report
         * end-anchored matches for it. */
        lw_match_stream_close(e->match, fm->dir[d], fm->gap[d] ? NULL : eng_on_value, &fc);
        fm->dir[d] = NULL;
        account_match(e, f, fm, d);
    }
}
