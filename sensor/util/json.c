/*
 * json.c - the JSON line writer behind every EVE-style line leakwatch emits.
 *
 * An alert or stats line is built into one caller-owned buffer and handed to
 * output only when it is complete, so the writer's job is to make a line that
 * is either entirely valid or entirely absent. Three invariants do that:
 *
 *  - Room for the closing "\n" and NUL is reserved from the start: buf[0..cap-2)
 *    holds content, so lw_json_finish can never fail for lack of two bytes.
 *  - Every failure is sticky in j->overflow: a write that does not fit, nesting
 *    past LW_JSON_MAX_DEPTH, or a call that would make the text invalid JSON
 *    (a value without a key in an object, a key in an array, a mismatched end,
 *    a second top-level value). After that nothing more is written and
 *    lw_json_finish returns 0 with buf set to "". A caller checks once.
 *  - Strings are escaped per RFC 8259 section 7 so the output is one line of
 *    valid UTF-8 whatever bytes come in: quote and backslash get a backslash,
 *    \b \f \n \r \t their short forms, other C0 controls and DEL become \u00XX.
 *    Input is decoded as UTF-8 per RFC 3629 section 4 (overlong forms,
 *    surrogates U+D800..U+DFFF and code points above U+10FFFF are invalid);
 *    each byte that does not start a well-formed sequence becomes \ufffd and
 *    decoding resumes at the next byte. U+2028 and U+2029 are legal JSON but
 *    end a line in JavaScript (before ES2019), so they are written escaped.
 *
 * Commas follow from one flag per nesting level (was a value written here?)
 * and one flag for "a key is waiting for its value", so callers never think
 * about separators. Numbers are written with a small digit loop, not printf,
 * so nothing depends on the locale.
 *
 * Time stamps follow Suricata's EVE form, "YYYY-MM-DDTHH:MM:SS.uuuuuu+0000",
 * always UTC. The date comes from days since 1970-01-01 by proleptic
 * Gregorian arithmetic (400-year eras of 146097 days, years counted from
 * March so the leap day falls last), so the result depends on neither TZ nor
 * the C library's range of time_t, and every uint64 microsecond value (up to
 * the year 586524) has a well-defined text.
 */
#include "leakwatch/json.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Content never uses the last two bytes: they are for "\n" and NUL. */
#define TAIL_RESERVE 2

static void fail(lw_json *j)
{
    j->overflow = true;
}

static void put(lw_json *j, const char *s, size_t n)
{
    if (j->overflow) {
        return;
    }
    /* cap >= TAIL_RESERVE and len <= cap - TAIL_RESERVE hold after init. */
    if (n > j->cap - TAIL_RESERVE - j->len) {
        fail(j);
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void put_char(lw_json *j, char c)
{
    put(j, &c, 1);
}

void lw_json_init(lw_json *j, char *buf, size_t cap)
{
    memset(j, 0, sizeof(*j));
    j->buf = buf;
    j->cap = cap;
    if (buf == NULL || cap < TAIL_RESERVE) {
        j->cap = buf == NULL ? 0 : cap;
        j->overflow = true;
    } else {
        buf[0] = '\0';
    }
}

/*
 * Called before every value (scalar or container begin). Checks that a value
 * is allowed here and writes the comma that separates it from the previous
 * one. Returns false when the writer is (now) failed.
 */
static bool begin_value(lw_json *j)
{
    if (j->overflow || j->finished) {
        fail(j);
        return false;
    }
    int d = j->depth;
    if (j->in_object[d]) {
        /* Inside an object a value must follow its key; the key already
         * wrote the comma. */
        if (!j->have_key) {
            fail(j);
            return false;
        }
        j->have_key = false;
    } else if (j->need_comma[d]) {
        if (d == 0) {
            /* A line holds exactly one top-level value. */
            fail(j);
            return false;
        }
        put_char(j, ',');
    }
    j->need_comma[d] = true;
    return !j->overflow;
}

static void container_begin(lw_json *j, char open, bool is_object)
{
    if (!begin_value(j)) {
        return;
    }
    if (j->depth >= LW_JSON_MAX_DEPTH) {
        fail(j);
        return;
    }
    put_char(j, open);
    j->depth++;
    j->need_comma[j->depth] = false;
    j->in_object[j->depth] = is_object;
}

static void container_end(lw_json *j, char close, bool is_object)
{
    if (j->overflow || j->finished || j->depth == 0 || j->in_object[j->depth] != is_object ||
        j->have_key) {
        fail(j);
        return;
    }
    put_char(j, close);
    j->depth--;
}

void lw_json_object_begin(lw_json *j)
{
    container_begin(j, '{', true);
}

void lw_json_object_end(lw_json *j)
{
    container_end(j, '}', true);
}

void lw_json_array_begin(lw_json *j)
{
    container_begin(j, '[', false);
}

void lw_json_array_end(lw_json *j)
{
    container_end(j, ']', false);
}

/* ---- string escaping ---------------------------------------------------- */

static const char hex_digits[] = "0123456789abcdef";

static void put_u_escape(lw_json *j, unsigned cp)
{
    char e[6] = {'\\',
                 'u',
                 hex_digits[(cp >> 12) & 0xf],
                 hex_digits[(cp >> 8) & 0xf],
                 hex_digits[(cp >> 4) & 0xf],
                 hex_digits[cp & 0xf]};
    put(j, e, sizeof(e));
}

/* True for bytes that are copied as they are: printable ASCII other than
 * the quote and the backslash. */
static bool is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static bool is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

/*
 * Length of the well-formed UTF-8 sequence starting at s[0] (a byte >= 0x80),
 * or 0 if it is not one. The second-byte ranges encode the RFC 3629 table:
 * E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogates), F0 needs
 * 90..BF (no overlong), F4 needs 80..8F (nothing above U+10FFFF); C0, C1 and
 * F5..FF never start a sequence.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return 0;
    }
    if (avail < need || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < need; i++) {
        if (!is_cont(s[i])) {
            return 0;
        }
    }
    return need;
}

static void put_escaped(lw_json *j, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    put_char(j, '"');
    while (i < len && !j->overflow) {
        /* Copy the longest run of plain ASCII in one go. */
        size_t run = i;
        while (run < len && is_plain(s[run])) {
            run++;
        }
        if (run > i) {
            put(j, str + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            switch (c) {
            case '"':
                put(j, "\\\"", 2);
                break;
            case '\\':
                put(j, "\\\\", 2);
                break;
            case '\b':
                put(j, "\\b", 2);
                break;
            case '\f':
                put(j, "\\f", 2);
                break;
            case '\n':
                put(j, "\\n", 2);
                break;
            case '\r':
                put(j, "\\r", 2);
                break;
            case '\t':
                put(j, "\\t", 2);
                break;
            default: /* other C0 controls and DEL */
                put_u_escape(j, c);
                break;
            }
            i++;
            continue;
        }
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0) {
            put_u_escape(j, 0xfffd);
            i++;
        } else if (n == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
            put_u_escape(j, s[i + 2] == 0xa8 ? 0x2028 : 0x2029);
            i += 3;
        } else {
            put(j, str + i, n);
            i += n;
        }
    }
    put_char(j, '"');
}

void lw_json_key(lw_json *j, const char *key)
{
    if (j->overflow || j->finished || key == NULL || !j->in_object[j->depth] || j->have_key) {
        fail(j);
        return;
    }
    if (j->need_comma[j->depth]) {
        put_char(j, ',');
    }
    put_escaped(j, key, strlen(key));
    put_char(j, ':');
    j->have_key = true;
}

void lw_json_string_len(lw_json *j, const char *s, size_t len)
{
    if (s == NULL) {
        lw_json_null(j);
        return;
    }
    if (begin_value(j)) {
        put_escaped(j, s, len);
    }
}

void lw_json_string(lw_json *j, const char *s)
{
    lw_json_string_len(j, s, s == NULL ? 0 : strlen(s));
}

/* ---- numbers and literals ----------------------------------------------- */

/* Writes v in decimal; no locale, no printf. */
static void put_u64(lw_json *j, uint64_t v, bool negative)
{
    char tmp[21]; /* '-' plus 20 digits of UINT64_MAX */
    size_t pos = sizeof(tmp);

    do {
        tmp[--pos] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    if (negative) {
        tmp[--pos] = '-';
    }
    put(j, tmp + pos, sizeof(tmp) - pos);
}

void lw_json_uint(lw_json *j, uint64_t v)
{
    if (begin_value(j)) {
        put_u64(j, v, false);
    }
}

void lw_json_int(lw_json *j, int64_t v)
{
    if (begin_value(j)) {
        /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        put_u64(j, mag, v < 0);
    }
}

void lw_json_bool(lw_json *j, bool v)
{
    if (begin_value(j)) {
        if (v) {
            put(j, "true", 4);
        } else {
            put(j, "false", 5);
        }
    }
}

void lw_json_null(lw_json *j)
{
    if (begin_value(j)) {
        put(j, "null", 4);
    }
}

void lw_json_kv_string(lw_json *j, const char *key, const char *s)
{
    lw_json_key(j, key);
    lw_json_string(j, s);
}

void lw_json_kv_uint(lw_json *j, const char *key, uint64_t v)
{
    lw_json_key(j, key);
    lw_json_uint(j, v);
}

size_t lw_json_finish(lw_json *j)
{
    if (j->finished) {
        /* Misuse, but the line already handed out stays intact. */
        fail(j);
        return 0;
    }
    bool ok = !j->overflow && j->depth == 0 && !j->have_key && j->len > 0;
    if (!ok) {
        fail(j);
        if (j->buf != NULL && j->cap > 0) {
            j->buf[0] = '\0';
        }
        return 0;
    }
    /* The reserve guarantees room for both bytes. */
    j->buf[j->len++] = '\n';
    j->buf[j->len] = '\0';
    j->finished = true;
    return j->len;
}

/* ---- time stamps and addresses ------------------------------------------ */

/*
 * Civil date (proleptic Gregorian) from days since 1970-01-01. Counting years
 * from 1 March puts the leap day at the end of the year, so the month follows
 * from the day of the year by one linear formula; 719468 is the number of
 * days from 0000-03-01 to 1970-01-01.
 */
static void civil_from_days(uint64_t days, uint64_t *year, unsigned *month, unsigned *day)
{
    uint64_t z = days + 719468u;
    uint64_t era = z / 146097u;       /* 400-year eras */
    uint64_t doe = z - era * 146097u; /* day of era, 0..146096 */
    uint64_t yoe =                    /* year of era, 0..399 */
        (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    uint64_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u); /* from 1 March, 0..365 */
    uint64_t mp = (5u * doy + 2u) / 153u;                      /* March = 0 */

    *day = (unsigned)(doy - (153u * mp + 2u) / 5u + 1u);
    *month = (unsigned)(mp < 10u ? mp + 3u : mp - 9u);
    *year = yoe + era * 400u + (*month <= 2u ? 1u : 0u);
}

/* Writes v as exactly `width` decimal digits (v must fit) and returns the
 * position after them. */
static char *put_fixed(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    }
    return p + width;
}

void lw_json_format_ts(uint64_t ts_us, char out[40])
{
    uint64_t secs = ts_us / 1000000u;
    unsigned usec = (unsigned)(ts_us % 1000000u);
    unsigned sod = (unsigned)(secs % 86400u);
    uint64_t year;
    unsigned month, day;
    char *p = out;

    civil_from_days(secs / 86400u, &year, &month, &day);

    /* At least four year digits; the largest year (586524) has six, so the
     * longest text is 33 characters and 40 always suffices. */
    int ydigits = 4;
    for (uint64_t y = year / 10000u; y != 0; y /= 10u) {
        ydigits++;
    }
    p = put_fixed(p, (unsigned)year, ydigits);
    *p++ = '-';
    p = put_fixed(p, month, 2);
    *p++ = '-';
    p = put_fixed(p, day, 2);
    *p++ = 'T';
    p = put_fixed(p, sod / 3600u, 2);
    *p++ = ':';
    p = put_fixed(p, sod / 60u % 60u, 2);
    *p++ = ':';
    p = put_fixed(p, sod % 60u, 2);
    *p++ = '.';
    p = put_fixed(p, usec, 6);
    memcpy(p, "+0000", 6); /* with the NUL */
}

void lw_json_format_addr(const lw_addr *a, char out[46])
{
    out[0] = '\0';
    if (a == NULL) {
        return;
    }
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
    if (af < 0 || inet_ntop(af, a->b, out, 46) == NULL) {
        out[0] = '\0';
    }
}
