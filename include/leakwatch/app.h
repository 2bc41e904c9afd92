/*
 * app.h - application protocol detection by content.
 *
 * The protocol of a flow is decided from the first bytes each side sends,
 * never from port numbers alone (HTTP on 8080 or 4444 is still HTTP, and a
 * tunnel on port 443 that is not TLS must still be inspected). The decoders
 * that turn HTTP, SMTP, DNS and FTP into content build on this; until a
 * decoder exists for a protocol, its bytes are inspected raw.
 */
#ifndef LEAKWATCH_APP_H
#define LEAKWATCH_APP_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

/*
 * What an application decoder hands back, through the engine's callbacks:
 *   content   decoded content of direction dir (what the receiver will see:
 *             a URI percent-decoded, a body de-chunked and gunzipped, a mail
 *             attachment base64-decoded); valid during the call;
 *   item_end  the current content item (a header value, a form field, a
 *             body, a MIME part, a DNS name) ended: a value cannot continue
 *             into the next item, and a value ending here is complete;
 *   meta      a fact about the transaction for the alert (HTTP host, SMTP
 *             recipient, DNS query name ...). Values may hold PII: the engine
 *             masks them before they reach an alert.
 * dir is the flow direction (LW_DIR_TOSERVER = the client's bytes).
 */
typedef enum lw_app_meta {
    LW_META_HTTP_HOST,
    LW_META_HTTP_URL, /* as sent (percent-encoded), request line target */
    LW_META_HTTP_METHOD,
    LW_META_HTTP_STATUS, /* decimal text */
    LW_META_HTTP_CONTENT_TYPE,
    LW_META_SMTP_HELO,
    LW_META_SMTP_MAIL_FROM, /* address only, no angle brackets */
    LW_META_SMTP_RCPT_TO,   /* one per recipient */
    LW_META_SMTP_STARTTLS,  /* value empty: the session switched to TLS */
    LW_META_DNS_QUERY,      /* one per question name, dotted, lower-case */
    LW_META_FTP_COMMAND,    /* e.g. "STOR" with the file name as value after a space */
    LW_META_MAX
} lw_app_meta;

typedef struct lw_app_sink {
    void (*content)(void *ctx, int dir, const uint8_t *data, size_t len);
    void (*item_end)(void *ctx, int dir);
    void (*meta)(void *ctx, int dir, lw_app_meta key, const uint8_t *value, size_t len);
    void *ctx;
} lw_app_sink;

/* Caps every decoder honours (from config, app.*). */
typedef struct lw_app_limits {
    uint32_t max_line;         /* request/status/command line and one header line, bytes */
    uint32_t max_headers;      /* header lines per message */
    uint64_t max_decompressed; /* bytes out of one compressed body or part */
    uint32_t max_ratio;        /* output bytes per input byte of one compressed body */
    uint32_t max_encodings;    /* nested Content-Encodings / MIME depth */
} lw_app_limits;

/*
 * Looks at the first bytes of one direction of a flow (transport proto
 * LW_PROTO_TCP or LW_PROTO_UDP). Returns the protocol, LW_APP_FAILED when the
 * bytes match nothing known, or LW_APP_UNKNOWN when there are too few bytes
 * to tell yet.
 */
lw_app_proto lw_app_detect(uint8_t transport, const uint8_t *data, size_t len);

#endif
