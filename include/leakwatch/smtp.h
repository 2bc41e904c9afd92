/*
 * smtp.h - SMTP/LMTP/submission decoder (RFC 5321, RFC 2033, RFC 6409) with
 * the MIME tree of the messages it carries (RFC 2045-2047, RFC 2046, RFC
 * 3030 BDAT, RFC 2920 pipelining, RFC 3207 STARTTLS, RFC 4954 AUTH).
 *
 * Client side (LW_DIR_TOSERVER), commands case-insensitive, one per line:
 *   HELO/EHLO/LHLO    meta LW_META_SMTP_HELO (the argument);
 *   MAIL FROM:<a>     meta LW_META_SMTP_MAIL_FROM and a content item (the
 *   RCPT TO:<a>       address without brackets or source route), likewise
 *                     LW_META_SMTP_RCPT_TO, one per recipient;
 *   DATA              the message follows at once: the 354 is not waited
 *                     for (pipelining clients and one-sided captures), but a
 *                     4xx/5xx reply to DATA seen before any message byte
 *                     cancels it. Lines up to "\r\n.\r\n" (a bare
 *                     "\n.\n" too), dot-unstuffed ("..x" is ".x");
 *   BDAT n [LAST]     exactly n message bytes follow; chunks are joined
 *                     until LAST (an unreadable size is app.smtp.invalid_bdat
 *                     and the line is ignored);
 *   AUTH mech [ir]    the initial response and the SASL responses that
 *                     follow (while no final reply to AUTH was seen and a
 *                     line is base64, not a command) are base64-decoded and
 *                     emitted, each NUL-separated field an item (PLAIN's
 *                     authzid, authcid, password; LOGIN's user name);
 *   STARTTLS          when the server's reply to it is 220 - or, if that
 *                     reply is not seen, when the next client line starts
 *                     with a TLS record header 16 03 - the session is
 *                     encrypted: counter and meta LW_META_SMTP_STARTTLS
 *                     (empty value), lw_smtp_encrypted() turns true and all
 *                     later bytes of both directions are ignored;
 *   RSET              abandons a BDAT message; QUIT, NOOP ... are counted.
 * Replies to commands are matched by order (pipelining keeps it), which is
 * how DATA, STARTTLS and AUTH learn their outcome.
 *
 * The message is MIME: header fields unfolded, each value one content item
 * with RFC 2047 encoded words (B and Q) decoded; multipart bodies split on
 * their boundaries, nested up to max_encodings levels, a message/rfc822
 * part parsed as a nested message (a level too); a level past that is
 * app.smtp.mime_too_deep and its body is emitted as it is. Every leaf body
 * is decoded by its Content-Transfer-Encoding (base64, quoted-printable,
 * else as is) and is one item; preamble and epilogue are items as they are.
 * Past max_headers fields in one entity, values are emitted undecoded.
 *
 * Lines: a command line or header field (unfolded) longer than max_line is
 * counted and skipped; a body line longer than max_line is counted and
 * still decoded and emitted, in pieces (one-line base64 is common). Server
 * replies (LW_DIR_TOCLIENT) are read for their codes; their text is content
 * only when that direction is inspected.
 *
 * inspect=false parses the direction (framing and state stay in step) and
 * emits no content and decodes nothing; meta is still emitted.
 * lw_smtp_gap: the line being read is dropped and parsing resumes at the
 * next line. Inside a DATA message the MIME state is kept and the part
 * being decoded restarts its decoder there (base64 realigns at a line);
 * a BDAT message, whose byte count is lost with the gap, is abandoned.
 *
 * Memory per session, allocated once by lw_smtp_new: a command line buffer
 * and a MIME line buffer of max_line bytes each, a stack of up to
 * max_encodings boundaries (70 bytes each, RFC 2046), codec state. The
 * server direction needs no buffer. A message is never buffered whole.
 */
#ifndef LEAKWATCH_SMTP_H
#define LEAKWATCH_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/app.h"

#define LW_SMTP_COUNTERS(X)                                                                        \
    X(COMMANDS, "app.smtp.commands")                                                               \
    X(MESSAGES, "app.smtp.messages")                                                               \
    X(MIME_PARTS, "app.smtp.mime_parts")                                                           \
    X(DECODED_BYTES, "app.smtp.decoded_bytes")                                                     \
    X(LINE_TOO_LONG, "app.smtp.line_too_long")                                                     \
    X(MIME_TOO_DEEP, "app.smtp.mime_too_deep")                                                     \
    X(BAD_BASE64, "app.smtp.invalid_base64")                                                       \
    X(BAD_QP, "app.smtp.invalid_quoted_printable")                                                 \
    X(BAD_ENCODED_WORD, "app.smtp.invalid_encoded_word")                                           \
    X(BAD_BDAT, "app.smtp.invalid_bdat")                                                           \
    X(STARTTLS, "app.smtp.starttls")                                                               \
    X(GAP, "app.smtp.gap")                                                                         \
    X(BAD_BOUNDARY, "app.smtp.invalid_boundary")                                                   \
    X(TOO_MANY_HEADERS, "app.smtp.too_many_headers")

#define LW_SMTP_ENUM_(name, str) LW_SMTP_CTR_##name,
enum lw_smtp_counter { LW_SMTP_COUNTERS(LW_SMTP_ENUM_) LW_SMTP_CTR_MAX };
#undef LW_SMTP_ENUM_

extern const char *const lw_smtp_counter_names[LW_SMTP_CTR_MAX];

typedef struct lw_smtp lw_smtp;

/* lim and counters (LW_SMTP_CTR_MAX entries) must outlive the parser.
 * NULL on allocation failure. */
lw_smtp *lw_smtp_new(const lw_app_limits *lim, uint64_t *counters);
/* Feeds the next ordered bytes of dir; inspect=false parses without
 * emitting content (meta is still emitted). */
void lw_smtp_feed(lw_smtp *s, int dir, const uint8_t *data, size_t len, bool inspect,
                  const lw_app_sink *sink);
/* Bytes of dir were lost (see above). */
void lw_smtp_gap(lw_smtp *s, int dir, const lw_app_sink *sink);
/* True once STARTTLS took effect: the engine stops feeding both directions. */
bool lw_smtp_encrypted(const lw_smtp *s);
/* The connection ended: a message in progress is completed (pending
 * content flushed, items ended), then s is freed. NULL is ignored. */
void lw_smtp_free(lw_smtp *s, const lw_app_sink *sink);

/* Bytes the decoder holds for its flow now (for flow.memcap); transient
 * per-body state (inflate windows, multipart levels) is not included. */
size_t lw_smtp_footprint(const lw_smtp *s);

#endif
