/*
 * tls.c - the cleartext part of a TLS connection (see tls.h).
 *
 * A TLS byte stream is a run of records (RFC 8446 section 5.1, RFC 5246
 * section 6.2.1), each a 5-byte header and a body:
 *   content_type(1)  20 change_cipher_spec, 21 alert, 22 handshake,
 *                    23 application_data, 24 heartbeat (RFC 6520)
 *   legacy_version(2) major 3, minor 0..4 (SSL 3.0 .. TLS 1.3 drafts)
 *   length(2)        1 .. 2^14 + 2048 (the TLSCiphertext limit)
 * Any header outside these values means the stream is not TLS: the state
 * becomes LW_TLS_NOT_TLS (counted once), the call returns its whole length
 * and so does every later call, and the engine scans the bytes raw. A
 * zero-length record is refused too: RFC 8446 forbids empty handshake and
 * alert records, and an empty application_data record (allowed by
 * RFC 5246) could only come after encryption has begun, when no header is
 * read any more. An SSLv2-compatible ClientHello (first byte 0x80, RFC 5246
 * appendix E.2) is obsolete and falls out as NOT_TLS by the same rule.
 *
 * Where encryption starts. A direction is ENCRYPTED from the header of its
 * first application_data record, or of the first record of any type after
 * a change_cipher_spec record (TLS 1.2 sends the encrypted Finished as a
 * handshake record; TLS 1.3 sends a dummy CCS for middleboxes and then only
 * type 23). The decision needs the whole header (it is validated first), so
 * the call that completes that header returns the number of its bytes that
 * come before the header - or 0 when the header began in an earlier call:
 * those first 1..4 header bytes were returned as cleartext because nothing
 * said otherwise yet. That is the precise rule: the cleartext handed out
 * over all calls is every byte before the encrypting record's header, plus
 * the part of that header delivered by earlier calls (at most 4 bytes of
 * framing); never a byte of an encrypted body. After that, every call
 * returns 0 and nothing is parsed. (After a TLS 1.3 HelloRetryRequest the
 * second ClientHello may follow the client's dummy CCS in clear; it is
 * treated as encrypted, which loses nothing: its server name is the first
 * one's.)
 *
 * The server name. In the client direction the first handshake message
 * must be a ClientHello (RFC 8446 section 4.1.2); handshake messages may be
 * split over several records and must not be interleaved with other record
 * types (section 5.1). When the whole message lies inside one call's part
 * of one record it is parsed in place; otherwise it is gathered on the heap
 * (its declared size, at most LW_TLS_HELLO_MAX bytes including the 4-byte
 * handshake header) and the buffer is freed as soon as it is parsed or the
 * gathering stops, so an established connection holds no buffer. A larger
 * message is HELLO_TOO_LONG (so is a failed allocation: the hello cannot be
 * held either way) and the records are still tracked. A first record that
 * is not a handshake, a first message that is not a ClientHello, another
 * record type in the middle of the message, or a ClientHello whose vectors
 * do not add up is HELLO_INVALID; tracking continues in every case.
 *
 * ClientHello body: legacy_version(2) random(32) session_id<0..32>
 * cipher_suites<2..2^16-2> (even) compression_methods<1..2^8-1>, then an
 * optional extensions<0..2^16-1> block (absent in old hellos; TLS 1.3 needs
 * at least 8 bytes but an empty block is harmless to accept) that must end
 * exactly at the end of the message. The server_name extension (type 0,
 * RFC 6066 section 3) holds server_name_list<1..2^16-1> of {name_type(1),
 * opaque<1..2^16-1>}; every name type is length-prefixed that way (RFC 6066
 * requires it of future types), so unknown types are skipped and the first
 * host_name (0) is taken. An empty host_name breaks the vector's lower
 * bound but is judged as a name (SNI_INVALID), not as a broken hello: the
 * counter is about names, and the rest of the hello still parses. Two server_name extensions make
 * the hello invalid (RFC 8446 section 4.2).
 *
 * Host name policy (SNI_INVALID otherwise, and nothing reported): one
 * trailing dot is removed; then 1..253 characters in labels of 1..63
 * characters from [A-Za-z0-9-_], no label starting or ending with '-', and
 * a last label that is not all digits (RFC 6066 forbids IP literals; an
 * IPv6 literal fails on ':'). The underscore is tolerated although it is
 * not LDH: real names carry it (service labels, some CDN and intranet
 * hosts), and it needs no escaping where the name is written. The name is
 * reported lower-cased. It is copied into sni only when sni_cap holds it
 * and its NUL; the SNI counter counts valid names either way.
 *
 * Bounded work: every input byte is looked at once by the record walk; a
 * ClientHello is parsed once, in time linear in its size. All reads of wire
 * bytes go through the cursor. No global state; the only allocation is the
 * hello buffer described above.
 */
#include "leakwatch/tls.h"

#include <stdlib.h>
#include <string.h>

#include "leakwatch/cursor.h"

#define TLS_NAME_(name, str) str,
const char *const lw_tls_counter_names[LW_TLS_CTR_MAX] = {LW_TLS_COUNTERS(TLS_NAME_)};
#undef TLS_NAME_

enum {
    CT_CHANGE_CIPHER_SPEC = 20,
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APPLICATION_DATA = 23,
    CT_HEARTBEAT = 24,
};

#define RECORD_HDR      5
#define RECORD_MAX      (16384u + 2048u) /* RFC 5246 section 6.2.3 */
#define HS_HDR          4                /* msg_type(1) length(3) */
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define NAME_HOST       0
#define HOST_MAX        253
#define LABEL_MAX       63

/* Everything a feed call passes down to the hello parser. */
typedef struct feed_out {
    char *sni;
    size_t sni_cap;
    bool *sni_found;
    uint64_t *counters;
} feed_out;

static void count(uint64_t *counters, enum lw_tls_counter id)
{
    if (counters)
        counters[id]++;
}

/* Stops gathering the hello for good and lets go of its buffer. */
static void hello_stop(lw_tls_dir *t)
{
    free(t->hello);
    t->hello = NULL;
    t->hello_done = true;
}

void lw_tls_dir_free(lw_tls_dir *t)
{
    if (!t)
        return;
    /* A partly gathered hello cannot resume without its first bytes. */
    if (t->hello || t->hello_len > 0)
        t->hello_done = true;
    free(t->hello);
    t->hello = NULL;
}

/* ---- host name ---------------------------------------------------------- */

static bool host_char(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/*
 * Validates the HostName in c (the whole cursor) and writes it lower-cased
 * with a NUL into out (HOST_MAX + 1 bytes). Returns its length, 0 if the
 * name is not a host name.
 */
static size_t host_name(lw_cursor c, char *out)
{
    size_t n = lw_cur_left(&c);
    if (n > 0 && c.ptr[n - 1] == '.')
        n--;
    if (n == 0 || n > HOST_MAX)
        return 0;
    lw_cur_clamp(&c, n);
    size_t label = 0;   /* length of the label being read */
    bool digits = true; /* the label so far is all digits */
    uint8_t prev = '.'; /* the byte before, '.' at a label start */
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = lw_cur_u8(&c);
        if (ch == '.') {
            if (label == 0 || prev == '-')
                return 0;
            label = 0;
            digits = true;
        } else {
            if (!host_char(ch) || (ch == '-' && prev == '.') || ++label > LABEL_MAX)
                return 0;
            if (ch < '0' || ch > '9')
                digits = false;
        }
        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        prev = ch;
    }
    if (c.error || label == 0 || prev == '-' || digits)
        return 0;
    out[n] = '\0';
    return n;
}

/* ---- ClientHello -------------------------------------------------------- */

/*
 * The server_name extension body. Returns false when it is malformed.
 * Sets *name to the first host_name entry (an empty cursor if none).
 */
static bool server_name_ext(lw_cursor ext, lw_cursor *name, bool *have)
{
    uint16_t list_len = lw_cur_u16be(&ext);
    if (ext.error || list_len == 0 || list_len != lw_cur_left(&ext))
        return false;
    while (lw_cur_left(&ext) > 0) {
        uint8_t type = lw_cur_u8(&ext);
        uint16_t len = lw_cur_u16be(&ext);
        lw_cursor v = lw_cur_sub(&ext, len);
        if (ext.error)
            return false;
        if (type == NAME_HOST && !*have) {
            *name = v;
            *have = true;
        }
    }
    return true;
}

/*
 * Parses one whole ClientHello message (handshake header included) and
 * reports its server name.
 */
static void parse_hello(lw_cursor msg, const feed_out *o)
{
    count(o->counters, LW_TLS_CTR_CLIENT_HELLOS);
    lw_cur_skip(&msg, HS_HDR); /* type and length were checked by the caller */
    uint8_t major = lw_cur_u8(&msg);
    lw_cur_skip(&msg, 1 + 32); /* legacy_version minor, random */
    uint8_t sid_len = lw_cur_u8(&msg);
    lw_cur_skip(&msg, sid_len);
    uint16_t cs_len = lw_cur_u16be(&msg);
    lw_cur_skip(&msg, cs_len);
    uint8_t comp_len = lw_cur_u8(&msg);
    lw_cur_skip(&msg, comp_len);
    if (msg.error || major != 3 || sid_len > 32 || cs_len < 2 || (cs_len & 1) || comp_len == 0)
        goto invalid;

    bool have = false;
    lw_cursor name = {NULL, NULL, false};
    if (lw_cur_left(&msg) > 0) {
        uint16_t ext_len = lw_cur_u16be(&msg);
        if (msg.error || ext_len != lw_cur_left(&msg))
            goto invalid;
        bool seen = false;
        while (lw_cur_left(&msg) > 0) {
            uint16_t type = lw_cur_u16be(&msg);
            uint16_t len = lw_cur_u16be(&msg);
            lw_cursor body = lw_cur_sub(&msg, len);
            if (msg.error)
                goto invalid;
            if (type != EXT_SERVER_NAME)
                continue;
            if (seen || !server_name_ext(body, &name, &have))
                goto invalid;
            seen = true;
        }
    }
    if (!have)
        return;

    char host[HOST_MAX + 1];
    size_t n = host_name(name, host);
    if (n == 0) {
        count(o->counters, LW_TLS_CTR_SNI_INVALID);
        return;
    }
    count(o->counters, LW_TLS_CTR_SNI);
    if (o->sni && o->sni_cap > n) {
        memcpy(o->sni, host, n + 1);
        if (o->sni_found)
            *o->sni_found = true;
    }
    return;
invalid:
    count(o->counters, LW_TLS_CTR_HELLO_INVALID);
}

/*
 * Checks the handshake header once its 4 bytes are known. Returns false
 * (gathering stopped and counted) when the message is not a ClientHello
 * that fits the cap.
 */
static bool hello_header(lw_tls_dir *t, lw_cursor h, uint64_t *counters)
{
    uint8_t type = lw_cur_u8(&h);
    uint32_t len = (uint32_t)lw_cur_u8(&h) << 16;
    len |= lw_cur_u16be(&h);
    if (h.error || type != HS_CLIENT_HELLO) {
        count(counters, LW_TLS_CTR_HELLO_INVALID);
        hello_stop(t);
        return false;
    }
    if (len > LW_TLS_HELLO_MAX - HS_HDR) {
        count(counters, LW_TLS_CTR_HELLO_TOO_LONG);
        hello_stop(t);
        return false;
    }
    t->hello_need = HS_HDR + len;
    return true;
}

/*
 * Takes this call's bytes of a handshake record body (body: all of them)
 * into the ClientHello.
 */
static void hello_take(lw_tls_dir *t, lw_cursor body, const feed_out *o)
{
    /* The common case: the whole message is here. Parse it where it lies. */
    if (t->hello_len == 0 && lw_cur_left(&body) >= HS_HDR) {
        if (!hello_header(t, body, o->counters))
            return;
        if (lw_cur_left(&body) >= t->hello_need) {
            parse_hello(lw_cur_sub(&body, t->hello_need), o);
            hello_stop(t);
            return;
        }
    }
    /* Otherwise gather: the 4-byte header first, then the declared size. */
    if (t->hello_len < HS_HDR) {
        if (!t->hello) {
            t->hello = malloc(HS_HDR);
            if (!t->hello) {
                count(o->counters, LW_TLS_CTR_HELLO_TOO_LONG);
                hello_stop(t);
                return;
            }
        }
        size_t k = HS_HDR - t->hello_len;
        if (k > lw_cur_left(&body))
            k = lw_cur_left(&body);
        lw_cur_copy(&body, t->hello + t->hello_len, k);
        t->hello_len += (uint32_t)k;
        if (t->hello_len < HS_HDR)
            return;
        if (!hello_header(t, lw_cur_make(t->hello, HS_HDR), o->counters))
            return;
        uint8_t *grown = realloc(t->hello, t->hello_need);
        if (!grown) {
            count(o->counters, LW_TLS_CTR_HELLO_TOO_LONG);
            hello_stop(t);
            return;
        }
        t->hello = grown;
    }
    /* Also reached with nothing left: an empty body is complete here. */
    size_t k = t->hello_need - t->hello_len;
    if (k > lw_cur_left(&body))
        k = lw_cur_left(&body);
    lw_cur_copy(&body, t->hello + t->hello_len, k);
    t->hello_len += (uint32_t)k;
    if (t->hello_len == t->hello_need) {
        parse_hello(lw_cur_make(t->hello, t->hello_need), o);
        hello_stop(t);
    }
}

/* ---- record layer ------------------------------------------------------- */

static void give_up(lw_tls_dir *t, uint64_t *counters)
{
    count(counters, LW_TLS_CTR_NOT_TLS);
    t->state = LW_TLS_NOT_TLS;
    hello_stop(t);
}

/*
 * The record header in t->hdr is complete. Returns the state it leads to:
 * HANDSHAKE (a body follows), ENCRYPTED or NOT_TLS.
 */
static lw_tls_state record_start(lw_tls_dir *t, bool client, uint64_t *counters)
{
    lw_cursor h = lw_cur_make(t->hdr, RECORD_HDR);
    uint8_t type = lw_cur_u8(&h);
    uint8_t major = lw_cur_u8(&h);
    uint8_t minor = lw_cur_u8(&h);
    uint16_t len = lw_cur_u16be(&h);
    if (h.error || type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT || major != 3 || minor > 4 ||
        len == 0 || len > RECORD_MAX) {
        give_up(t, counters);
        return LW_TLS_NOT_TLS;
    }
    if (type == CT_APPLICATION_DATA || t->ccs_seen) {
        count(counters, LW_TLS_CTR_ENCRYPTED_DIRECTIONS);
        t->state = LW_TLS_ENCRYPTED;
        hello_stop(t);
        return LW_TLS_ENCRYPTED;
    }
    if (type == CT_CHANGE_CIPHER_SPEC)
        t->ccs_seen = true;
    if (client && !t->hello_done && type != CT_HANDSHAKE) {
        /* Before the ClientHello, or interleaved with its fragments. */
        count(counters, LW_TLS_CTR_HELLO_INVALID);
        hello_stop(t);
    }
    t->record_type = type;
    t->record_left = len;
    return LW_TLS_HANDSHAKE;
}

size_t lw_tls_feed(lw_tls_dir *t, bool client, const uint8_t *data, size_t len, char *sni,
                   size_t sni_cap, bool *sni_found, uint64_t *counters)
{
    if (sni_found)
        *sni_found = false;
    if (!t || t->state == LW_TLS_NOT_TLS)
        return len;
    if (t->state == LW_TLS_ENCRYPTED || !data)
        return 0;
    feed_out o = {sni, sni_cap, sni_found, counters};
    lw_cursor c = lw_cur_make(data, len);
    while (lw_cur_left(&c) > 0) {
        if (t->hdr_len < RECORD_HDR) {
            /* Where this header starts in data; 0 if it began in an
             * earlier call (then this call starts with its rest). */
            size_t hdr_at = t->hdr_len ? 0 : (size_t)(c.ptr - data);
            size_t k = RECORD_HDR - t->hdr_len;
            if (k > lw_cur_left(&c))
                k = lw_cur_left(&c);
            lw_cur_copy(&c, t->hdr + t->hdr_len, k);
            t->hdr_len = (uint8_t)(t->hdr_len + k);
            if (t->hdr_len < RECORD_HDR)
                break;
            lw_tls_state s = record_start(t, client, counters);
            if (s == LW_TLS_NOT_TLS)
                return len;
            if (s == LW_TLS_ENCRYPTED)
                return hdr_at;
            continue;
        }
        size_t k = t->record_left;
        if (k > lw_cur_left(&c))
            k = lw_cur_left(&c);
        lw_cursor body = lw_cur_sub(&c, k);
        if (client && !t->hello_done && t->record_type == CT_HANDSHAKE)
            hello_take(t, body, &o);
        t->record_left -= (uint32_t)k;
        if (t->record_left == 0)
            t->hdr_len = 0;
    }
    return len;
}
