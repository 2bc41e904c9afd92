/*
 * dns.h - DNS queries as an exfiltration channel (RFC 1035, RFC 7766).
 *
 * Every question name of a message is decoded (labels, with compression
 * pointers followed only backwards and at most 16 times, so a pointer loop
 * ends) and emitted as content: the name in dotted form, then the "label
 * payload" - the labels left of the registered domain, concatenated - tried
 * as hex, base32 (RFC 4648, case-insensitive, unpadded) and base64/base64url
 * when it plausibly is one, each decoding that succeeds as its own item. So
 * an email hex-encoded across several labels is found. When the whole
 * payload gives nothing, runs of its leading labels and then single labels
 * are tried (a session or sequence label often sits before the domain).
 *
 * The registered domain (eTLD+1, from the Public Suffix List through
 * libpsl's built-in list) is what the engine counts bursts against instead
 * of the resolver's address: exfiltration through the site's own resolver
 * still adds up per destination domain.
 *
 * Over TCP, messages are framed by a 2-byte length; lw_dns_tcp splits them.
 * Only the header and the question section are ever read, and a question
 * section cannot be longer than LW_DNS_TCP_KEEP bytes (names only point
 * backwards), so that is all lw_dns_tcp buffers of a message; the rest of a
 * longer message (answers of a zone transfer, say) is skipped unbuffered.
 */
#ifndef LEAKWATCH_DNS_H
#define LEAKWATCH_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/app.h"

#define LW_DNS_NAME_MAX      256 /* dotted text of a name, NUL included */
#define LW_DNS_MAX_QUESTIONS 16  /* questions read per message; more are counted */
#define LW_DNS_MAX_JUMPS     16  /* compression pointers followed per name */
#define LW_DNS_MAX_TRIES     32  /* label runs tried as hex/base32/base64 per name */
#define LW_DNS_PAYLOAD_MIN   8   /* shortest label run worth decoding */
/* Header plus the largest question section: a name's wire bytes before its
 * first pointer are at most 255, then a 2-byte pointer, type and class. */
#define LW_DNS_TCP_KEEP (12 + LW_DNS_MAX_QUESTIONS * (255 + 2 + 4))

#define LW_DNS_COUNTERS(X)                                                                         \
    X(MESSAGES, "app.dns.messages")                                                                \
    X(QUESTIONS, "app.dns.questions")                                                              \
    X(DECODED_PAYLOADS, "app.dns.decoded_label_payloads")                                          \
    X(TRUNCATED, "app.dns.truncated")                                                              \
    X(BAD_NAME, "app.dns.invalid_name")                                                            \
    X(POINTER_LOOP, "app.dns.pointer_loop")                                                        \
    X(NOT_DNS, "app.dns.not_dns")                                                                  \
    X(TCP_TOO_LONG, "app.dns.tcp_message_too_long")                                                \
    X(TOO_MANY_QUESTIONS, "app.dns.too_many_questions")                                            \
    X(TRIES_CAPPED, "app.dns.decode_tries_capped")

#define LW_DNS_ENUM_(name, str) LW_DNS_CTR_##name,
enum lw_dns_counter { LW_DNS_COUNTERS(LW_DNS_ENUM_) LW_DNS_CTR_MAX };
#undef LW_DNS_ENUM_

extern const char *const lw_dns_counter_names[LW_DNS_CTR_MAX];

/* Called once per question with its name (dotted, lower-case, printable:
 * see dns.c for how odd bytes are shown; "." for the root) and its
 * registered domain (empty when the name has none, e.g. a bare TLD). */
typedef void (*lw_dns_question_fn)(void *ctx, const char *name, const char *registered_domain);

/*
 * Parses one DNS message (a UDP payload, or one TCP-framed message) sent in
 * direction dir; queries and responses alike, questions only. For each
 * question: calls question() (may be NULL), emits meta LW_META_DNS_QUERY,
 * and when inspect is set emits the content items described above.
 * Returns false when the bytes are not a DNS message: shorter than the
 * header (TRUNCATED) or a reserved opcode (NOT_DNS). A bad name in a
 * message that is DNS stops its question section and is counted, but the
 * message still returns true.
 */
bool lw_dns_message(const uint8_t *msg, size_t len, int dir, bool inspect, const lw_app_sink *sink,
                    lw_dns_question_fn question, void *qctx, uint64_t *counters);

/* Writes the registered domain of a dotted name into out (cap bytes,
 * NUL-terminated); returns its length, 0 when there is none or it does not
 * fit. Public Suffix List rules from libpsl's built-in list; should libpsl
 * have none, the last two labels. */
size_t lw_dns_registered_domain(const char *name, char *out, size_t cap);

/* TCP framing (RFC 7766 section 8): per direction, at most the first
 * LW_DNS_TCP_KEEP bytes of one message are buffered, allocated only while
 * a message spans feeds. NULL on allocation failure. A gap drops the partial
 * message and framing resumes with the next byte as a length. */
typedef struct lw_dns_tcp lw_dns_tcp;
lw_dns_tcp *lw_dns_tcp_new(uint64_t *counters);
void lw_dns_tcp_feed(lw_dns_tcp *t, int dir, const uint8_t *data, size_t len, bool inspect,
                     const lw_app_sink *sink, lw_dns_question_fn question, void *qctx);
void lw_dns_tcp_gap(lw_dns_tcp *t, int dir);
void lw_dns_tcp_free(lw_dns_tcp *t);

/* Bytes the decoder holds for its flow now (for flow.memcap); transient
 * per-body state (inflate windows, multipart levels) is not included. */
size_t lw_dns_tcp_footprint(const lw_dns_tcp *t);

#endif
