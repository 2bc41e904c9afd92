/*
 * tls.h - what a TLS connection reveals in clear: the server name of the
 * ClientHello, and the moment the rest becomes ciphertext.
 *
 * Fed one direction's reassembled bytes in any split, the tracker walks the
 * TLS record layer (RFC 8446 section 5.1, RFC 5246 section 6.2): 5-byte
 * headers (content type, legacy version, length <= 2^14 + 2048), and in
 * the client direction reassembles the first handshake message across
 * records up to a cap, parses the ClientHello (RFC 8446 section 4.1.2) and
 * its server_name extension (RFC 6066 section 3; host_name entries only).
 *
 * "Encrypted from here": once a direction carries an application_data
 * record (type 23), or a change_cipher_spec (type 20) followed by anything,
 * every later byte of it is ciphertext and not worth scanning; the engine
 * stops handing that direction to the matcher. Bytes that do not parse as
 * TLS records make the tracker give up (lw_tls_state LW_TLS_NOT_TLS): the
 * engine then scans them raw, so a tunnel that merely starts like TLS is
 * still inspected.
 */
#ifndef LEAKWATCH_TLS_H
#define LEAKWATCH_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_TLS_SNI_MAX 256 /* longest server name kept (RFC 6066: up to 2^16 - 1) */

typedef enum lw_tls_state {
    LW_TLS_HANDSHAKE = 0, /* records parse; nothing encrypted yet */
    LW_TLS_ENCRYPTED,     /* the rest of this direction is ciphertext */
    LW_TLS_NOT_TLS,       /* the bytes are not a TLS record stream */
} lw_tls_state;

#define LW_TLS_COUNTERS(X)                                                                         \
    X(CLIENT_HELLOS, "app.tls.client_hellos")                                                      \
    X(SNI, "app.tls.sni")                                                                          \
    X(SNI_INVALID, "app.tls.sni_invalid")                                                          \
    X(HELLO_TOO_LONG, "app.tls.hello_too_long")                                                    \
    X(HELLO_INVALID, "app.tls.hello_invalid")                                                      \
    X(NOT_TLS, "app.tls.not_tls")                                                                  \
    X(ENCRYPTED_DIRECTIONS, "app.tls.encrypted_directions")

#define LW_TLS_ENUM_(name, str) LW_TLS_CTR_##name,
enum lw_tls_counter { LW_TLS_COUNTERS(LW_TLS_ENUM_) LW_TLS_CTR_MAX };
#undef LW_TLS_ENUM_

extern const char *const lw_tls_counter_names[LW_TLS_CTR_MAX];

#define LW_TLS_HELLO_MAX 16384 /* a larger ClientHello is counted and its SNI not read */

/* One direction's tracker, zero-initialised = fresh. The ClientHello is
 * gathered on the heap (post-quantum key shares make it 2 KiB and more)
 * only while it is incomplete; lw_tls_dir_free() releases it. */
typedef struct lw_tls_dir {
    uint8_t state; /* lw_tls_state */
    uint8_t hdr[5];
    uint8_t hdr_len;
    uint8_t record_type;
    uint32_t record_left; /* body bytes of the current record still to come */
    bool ccs_seen;
    bool hello_done;
    uint32_t hello_len;  /* bytes of the first handshake message gathered */
    uint32_t hello_need; /* its total size once the 4-byte header is in; 0 = unknown */
    uint8_t *hello;      /* NULL except while gathering */
} lw_tls_dir;

/* Frees what the tracker holds; it stays usable (as at its current state). */
void lw_tls_dir_free(lw_tls_dir *t);

/*
 * Feeds len bytes of direction `client` (true = the ClientHello side).
 * Returns how many leading bytes of data are still cleartext (the rest is
 * ciphertext: not to be scanned): len while the records are cleartext or
 * the stream is NOT_TLS; the offset of the first encrypted record's header
 * in the call that completes that header (0 if it began in an earlier
 * call, whose share of it, at most 4 bytes, was already returned); 0 in
 * every call after. *sni_found is cleared on entry. When the ClientHello's
 * server name has just been parsed, copies it (lower-cased, validated as a
 * host name: labels of letters, digits, '-' and '_', no trailing dot, see
 * tls.c) into sni if sni_cap holds it with its NUL, and sets *sni_found.
 * counters (LW_TLS_CTR_MAX entries) may be NULL.
 */
size_t lw_tls_feed(lw_tls_dir *t, bool client, const uint8_t *data, size_t len, char *sni,
                   size_t sni_cap, bool *sni_found, uint64_t *counters);

#endif
