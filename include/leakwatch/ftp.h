/*
 * ftp.h - FTP control channel (RFC 959, RFC 2428).
 *
 * Parses commands (client, LW_DIR_TOSERVER) and replies (server) line by
 * line. It reports each data connection the control session announces, so
 * the engine can label that connection "ftp-data" and inspect it:
 *   PORT h1,h2,h3,h4,p1,p2 and EPRT |af|addr|port|: the client will listen
 *     at that address (active mode);
 *   227 (...h1,h2,h3,h4,p1,p2...) and 229 (|||port|): the server listens
 *     (passive mode; 229 uses the control connection's server address).
 * Transfer commands (STOR, STOU, APPE, RETR) are reported as meta with their
 * argument. Lines longer than max_line are counted and skipped.
 *
 * Policies (see ftp.c for the reasons):
 *   - PORT/EPRT naming any host but the control connection's client is an
 *     FTP bounce attempt: BAD_PORT, nothing announced;
 *   - a 227 reply's address is not used: the data connection is expected at
 *     the control connection's server (NAT'd servers announce private
 *     addresses; clients connect to the control peer), and nothing is counted;
 *   - a port of 0, above 65535 or a malformed number: BAD_PORT;
 *   - the arguments of USER, STOR, STOU, APPE and RETR from the client are
 *     emitted as content items (user names and file names can be PII); the
 *     engine decides whether that direction is inspected;
 *   - after a 234 reply (AUTH TLS accepted, RFC 4217) the session is TLS and
 *     both directions are ignored.
 * Memory: one block allocated by lw_ftp_new, 3 * max_line + a few bytes
 * (a line buffer per direction and one for the meta value), nothing later.
 */
#ifndef LEAKWATCH_FTP_H
#define LEAKWATCH_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/app.h"
#include "leakwatch/types.h"

#define LW_FTP_COUNTERS(X)                                                                         \
    X(COMMANDS, "app.ftp.commands")                                                                \
    X(REPLIES, "app.ftp.replies")                                                                  \
    X(DATA_ANNOUNCED, "app.ftp.data_connections_announced")                                        \
    X(BAD_PORT, "app.ftp.invalid_port_argument")                                                   \
    X(LINE_TOO_LONG, "app.ftp.line_too_long")                                                      \
    X(AUTH_TLS, "app.ftp.auth_tls")

#define LW_FTP_ENUM_(name, str) LW_FTP_CTR_##name,
enum lw_ftp_counter { LW_FTP_COUNTERS(LW_FTP_ENUM_) LW_FTP_CTR_MAX };
#undef LW_FTP_ENUM_

extern const char *const lw_ftp_counter_names[LW_FTP_CTR_MAX];

/* A data connection will be made to addr:port (the listening side). */
typedef void (*lw_ftp_expect_fn)(void *ctx, const lw_addr *addr, uint16_t port);

typedef struct lw_ftp lw_ftp;

/* max_line when lim is NULL or its max_line is 0 */
#define LW_FTP_DEFAULT_LINE 4096

/* client/server: the control connection's endpoints (for 227/229 replies
 * and to ignore PORT arguments that name a third host, counted as
 * BAD_PORT); copied. NULL on allocation failure. */
lw_ftp *lw_ftp_new(const lw_app_limits *lim, const lw_addr *client, const lw_addr *server,
                   uint64_t *counters);
/* dir: LW_DIR_TOSERVER for commands, LW_DIR_TOCLIENT for replies. Input
 * may be split anywhere; the callbacks are the same as for one call. */
void lw_ftp_feed(lw_ftp *f, int dir, const uint8_t *data, size_t len, const lw_app_sink *sink,
                 lw_ftp_expect_fn expect, void *ectx);
/* Drops the partial line of dir and skips to the next line feed. */
void lw_ftp_gap(lw_ftp *f, int dir);
void lw_ftp_free(lw_ftp *f);

/* Bytes the decoder holds for its flow now (for flow.memcap); transient
 * per-body state (inflate windows, multipart levels) is not included. */
size_t lw_ftp_footprint(const lw_ftp *f);

#endif
