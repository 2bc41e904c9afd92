/*
 * http.h - HTTP/1.x decoder (RFC 9112 message syntax, RFC 9110 semantics).
 *
 * A push parser over both directions of one connection: requests on
 * LW_DIR_TOSERVER, responses on LW_DIR_TOCLIENT (a response an inside
 * server sends is egress too). It handles keep-alive and pipelined
 * transactions, folded/repeated/oversized header lines (capped, counted),
 * bodies framed by Content-Length, chunked (with trailers) or the end of the
 * connection, Content-Encoding gzip/x-gzip/deflate nested up to
 * max_encodings (decompression bombs cut and counted), and content types
 * application/x-www-form-urlencoded (names and values percent-decoded, each
 * an item), multipart/form-data (each part with its own headers and
 * Content-Transfer-Encoding), JSON (string escapes decoded), anything else
 * as is. The request target is emitted percent-decoded (query '+' as space).
 *
 * Directions with inspect=false are parsed for framing only (so pipelining
 * and HEAD/204/304 responses stay in step) and emit no content (meta still).
 * Never buffers a whole body: memory per connection is the parser (under
 * 400 bytes), a line buffer per direction while a line is being read (grown
 * on demand up to max_line, at least 64; kept once a direction has needed
 * it twice), the encoding layers and multipart boundary of a direction once
 * one of its bodies needed them, and the codecs' state of the body being
 * decoded.
 *
 * Policies, each with its counter:
 *   - a line longer than max_line: its first max_line bytes are processed,
 *     the rest is emitted raw as an item of its own (line_too_long);
 *   - bytes that are not HTTP where a message should start (a broken start
 *     line, the tail of a message abandoned after a bad chunk size or a gap)
 *     are emitted raw, line by line, until a line starts with a method token
 *     and a space (requests) or "HTTP/1." (responses);
 *   - a bad or conflicting Content-Length: the body runs to the connection's
 *     end; Transfer-Encoding without a final "chunked" likewise;
 *   - unknown or too many Content-Encodings: the body is emitted as sent;
 *     gzip/deflate that is corrupt from its first bytes is taken as plain
 *     text (decompress_plain), corrupt later: the rest is dropped;
 *   - output of one direction never exceeds its input bytes x max_ratio +
 *     max_decompressed (max_ratio 0: no such cap); the body that reaches it
 *     is cut (decompress_bomb);
 *   - a multipart body without a usable boundary (absent, over 70 bytes) is
 *     emitted as sent (multipart_invalid, also counted for a missing close
 *     delimiter); multipart nested deeper than max_encodings levels: the
 *     inner part is emitted as is (too_many_encodings);
 *   - more than 64 requests awaiting responses: the extra ones are not
 *     remembered (pipeline_overflow), so a HEAD among them may be misread.
 */
#ifndef LEAKWATCH_HTTP_H
#define LEAKWATCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/app.h"

#define LW_HTTP_COUNTERS(X)                                                                        \
    X(REQUESTS, "app.http.requests")                                                               \
    X(RESPONSES, "app.http.responses")                                                             \
    X(BODY_BYTES, "app.http.body_bytes")                                                           \
    X(DECODED_BYTES, "app.http.decoded_bytes")                                                     \
    X(LINE_TOO_LONG, "app.http.line_too_long")                                                     \
    X(TOO_MANY_HEADERS, "app.http.too_many_headers")                                               \
    X(BAD_REQUEST_LINE, "app.http.invalid_request_line")                                           \
    X(BAD_STATUS_LINE, "app.http.invalid_status_line")                                             \
    X(BAD_CONTENT_LENGTH, "app.http.invalid_content_length")                                       \
    X(BAD_CHUNK, "app.http.invalid_chunk")                                                         \
    X(GZIP_CORRUPT, "app.http.decompress_corrupt")                                                 \
    X(DECOMPRESS_BOMB, "app.http.decompress_bomb")                                                 \
    X(TOO_MANY_ENCODINGS, "app.http.too_many_encodings")                                           \
    X(UNKNOWN_ENCODING, "app.http.unknown_encoding")                                               \
    X(MULTIPART_INVALID, "app.http.multipart_invalid")                                             \
    X(GAP, "app.http.gap")                                                                         \
    X(UPGRADE, "app.http.upgrade")                                                                 \
    X(DECOMPRESS_PLAIN, "app.http.decompress_plain")                                               \
    X(PIPELINE_OVERFLOW, "app.http.pipeline_overflow")

#define LW_HTTP_ENUM_(name, str) LW_HTTP_CTR_##name,
enum lw_http_counter { LW_HTTP_COUNTERS(LW_HTTP_ENUM_) LW_HTTP_CTR_MAX };
#undef LW_HTTP_ENUM_

extern const char *const lw_http_counter_names[LW_HTTP_CTR_MAX];

typedef struct lw_http lw_http;

/* lim and counters (LW_HTTP_CTR_MAX entries) must outlive the parser.
 * NULL on allocation failure. */
lw_http *lw_http_new(const lw_app_limits *lim, uint64_t *counters);

/* Feeds the next ordered bytes of direction dir. */
void lw_http_feed(lw_http *h, int dir, const uint8_t *data, size_t len, bool inspect,
                  const lw_app_sink *sink);

/*
 * True once direction dir stopped being HTTP: a CONNECT request (its
 * direction), a 2xx answer to CONNECT (the response direction) or a 101
 * Switching Protocols response (both directions). From the first byte after
 * that message, lw_http_feed emits the direction's bytes unchanged (when
 * inspecting) as one item, so an engine may either keep feeding them or,
 * once this returns true, stop calling lw_http_feed for that direction and
 * scan its later runs raw itself: the tail of the run that made the switch
 * was already emitted. Known limit: a CONNECT request's direction switches
 * at once, even if the proxy then refuses the tunnel.
 */
bool lw_http_passthrough(const lw_http *h, int dir);

/* Bytes of dir were lost: the current message of that direction is
 * abandoned and the parser resynchronises on the next message start. */
void lw_http_gap(lw_http *h, int dir, const lw_app_sink *sink);

/* The connection ended: a body framed by the connection's end is complete;
 * pending content is flushed (item_end); then h is freed. */
void lw_http_free(lw_http *h, const lw_app_sink *sink);

/* Bytes the decoder holds for its flow now (for flow.memcap), each
 * allocation with the allocator's overhead (16 bytes); the inflate objects
 * of a body being decoded are not included. It changes only inside the
 * calls above (lines grow and are released, a body's multipart levels come
 * and go); lw_http_mem_changed() tells when. */
size_t lw_http_footprint(const lw_http *h);

/* True when lw_http_footprint() may differ from what it was when this last
 * returned true (or, the first time, since lw_http_new); clears the mark.
 * A caller that declares the footprint reads it only then: most feeds of a
 * connection allocate nothing and leave it as it was. False for NULL. */
bool lw_http_mem_changed(lw_http *h);

/*
 * Releasing an idle parser. A connection that waits between messages needs
 * none of the parser's framing state, only its output budget (in_total x
 * max_ratio + max_decompressed of each direction, which spans messages).
 * A caller holding many such connections may keep just that (an
 * lw_http_carry, 16 bytes) and give the parser back:
 *
 *   if (lw_http_idle(h)) { lw_http_park(h, &carry); ...reuse or free h... }
 *   later: h = a parked parser or lw_http_new(); lw_http_resume(h, &carry);
 *
 * The resumed parser then behaves as the original would have, byte for
 * byte (content, item ends, meta, counters), for any later input, gaps and
 * the end of the connection; only its footprint may differ (it keeps the
 * line buffers of the connection it last served).
 */
typedef struct lw_http_carry {
    /* per direction: in_total x max_ratio - out_total (0 when max_ratio is 0) */
    int64_t credit[2];
    /* requests awaiting their response (none of them a HEAD or CONNECT) */
    uint8_t pending;
} lw_http_carry;

/* True when h may be parked: both directions between messages with no
 * partial line, no response owed to a HEAD or CONNECT (responses owed to
 * other requests are carried), no tunnel or upgrade, nothing open or
 * counted that a new parser would not match. False for NULL. */
bool lw_http_idle(const lw_http *h);

/* h must be idle: writes what the connection carries into *carry and resets
 * h to the state of a new parser (same limits and counters), keeping its
 * line buffers and http_ext, so that it may serve any connection of the
 * same caller. Its footprint is unchanged. */
void lw_http_park(lw_http *h, lw_http_carry *carry);

/* h is new or parked: it continues the connection *carry was parked from
 * (a zeroed carry: a new connection). Marks the footprint changed. */
void lw_http_resume(lw_http *h, const lw_http_carry *carry);

/* A hint, no effect on results: starts loading the state lw_http_feed()
 * reads first for direction dir, so that a caller which knows the next
 * feed early can overlap the cache misses with other work. NULL: nothing. */
void lw_http_prefetch(const lw_http *h, int dir);

#endif
