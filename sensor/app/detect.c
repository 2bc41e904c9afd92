/*
 * detect.c - telling protocols apart by their first bytes (see app.h).
 *
 * Each probe looks for what the protocol's specification makes the sender
 * put first: an HTTP/1.x method token and a space, or "HTTP/1." for a
 * response (RFC 9112 section 3 and 4); an SMTP greeting "220" or EHLO/HELO
 * (RFC 5321 section 4.1, 4.2) - an FTP greeting is also "220", so the
 * banner text or the USER command decides; a TLS record header with content
 * type 20-23 and major version 3 (RFC 8446 section 5.1); a DNS message whose
 * header and first question parse (RFC 1035 section 4.1). Probes read
 * through the cursor and look at no more than the first 512 bytes.
 */
#include "leakwatch/app.h"

#include <string.h>

#include "leakwatch/cursor.h"

#define PROBE_MAX 512

static int has_prefix_ci(const uint8_t *d, size_t len, const char *p)
{
    size_t n = strlen(p);
    if (len < n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = d[i], b = (uint8_t)p[i];
        if (a >= 'a' && a <= 'z')
            a = (uint8_t)(a - 32);
        if (b >= 'a' && b <= 'z')
            b = (uint8_t)(b - 32);
        if (a != b)
            return 0;
    }
    return 1;
}

static int contains_ci(const uint8_t *d, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (has_prefix_ci(d + i, len - i, word))
            return 1;
    return 0;
}

static lw_app_proto probe_http(const uint8_t *d, size_t len)
{
    static const char *const methods[] = {"GET ",    "POST ",     "PUT ",     "HEAD ",
                                          "DELETE ", "PATCH ",    "OPTIONS ", "CONNECT ",
                                          "TRACE ",  "PROPFIND ", "HTTP/1."};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);
        if (len >= n && memcmp(d, methods[i], n) == 0)
            return LW_APP_HTTP;
    }
    return LW_APP_FAILED;
}

static lw_app_proto probe_mail_ftp(const uint8_t *d, size_t len)
{
    if (has_prefix_ci(d, len, "EHLO ") || has_prefix_ci(d, len, "HELO ") ||
        has_prefix_ci(d, len, "LHLO "))
        return LW_APP_SMTP;
    if (has_prefix_ci(d, len, "USER ") || has_prefix_ci(d, len, "AUTH TLS"))
        return LW_APP_FTP;
    if (len >= 4 && memcmp(d, "220", 3) == 0 && (d[3] == ' ' || d[3] == '-')) {
        size_t line = 0;
        while (line < len && d[line] != '\n')
            line++;
        if (contains_ci(d, line, "FTP"))
            return LW_APP_FTP;
        if (contains_ci(d, line, "SMTP") || contains_ci(d, line, "MAIL"))
            return LW_APP_SMTP;
        return LW_APP_SMTP; /* a bare 220 greeting is SMTP's by far most often */
    }
    return LW_APP_FAILED;
}

static lw_app_proto probe_tls(const uint8_t *d, size_t len)
{
    if (len < 5)
        return LW_APP_FAILED;
    /* ContentType change_cipher_spec(20) .. application_data(23), version 3.x. */
    if (d[0] >= 20 && d[0] <= 23 && d[1] == 3 && d[2] <= 4)
        return LW_APP_TLS;
    return LW_APP_FAILED;
}

static lw_app_proto probe_dns(const uint8_t *d, size_t len)
{
    lw_cursor c = lw_cur_make(d, len);
    lw_cur_skip(&c, 2); /* id */
    uint16_t flags = lw_cur_u16be(&c);
    uint16_t qd = lw_cur_u16be(&c);
    uint16_t an = lw_cur_u16be(&c);
    uint16_t ns = lw_cur_u16be(&c);
    uint16_t ar = lw_cur_u16be(&c);
    if (c.error)
        return LW_APP_FAILED;
    unsigned opcode = (flags >> 11) & 0xf;
    if (qd != 1 || opcode > 5 || an > 256 || ns > 256 || ar > 256)
        return LW_APP_FAILED;
    /* The question's name: labels of 1..63 bytes, ending with the root. */
    size_t total = 0;
    for (int labels = 0; labels < 128; labels++) {
        uint8_t l = lw_cur_u8(&c);
        if (c.error || (l & 0xc0))
            return LW_APP_FAILED;
        if (l == 0) {
            lw_cur_skip(&c, 4); /* qtype, qclass */
            return c.error ? LW_APP_FAILED : LW_APP_DNS;
        }
        total += (size_t)l + 1;
        if (total > 255)
            return LW_APP_FAILED;
        lw_cur_skip(&c, l);
    }
    return LW_APP_FAILED;
}

lw_app_proto lw_app_detect(uint8_t transport, const uint8_t *data, size_t len)
{
    if (len > PROBE_MAX)
        len = PROBE_MAX;
    if (transport == LW_PROTO_UDP)
        return probe_dns(data, len);
    if (len < 4)
        return LW_APP_UNKNOWN;
    lw_app_proto p = probe_http(data, len);
    if (p == LW_APP_FAILED)
        p = probe_tls(data, len);
    if (p == LW_APP_FAILED)
        p = probe_mail_ftp(data, len);
    return p;
}
