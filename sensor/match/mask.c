/*
 * mask.c - masked samples of PII values for alerts (see mask.h for the shapes).
 *
 * Each kind keeps what identifies the *kind* of value and what lets an
 * analyst tell two samples apart, and no more: the first character of an
 * email's local part and its domain, a phone's country code and last four
 * digits, a card's IIN and last four (the most PCI DSS 3.4 lets be shown),
 * an SSN's serial, an IBAN's country, check digits and last four.
 *
 * Invariants, whatever the input:
 *   - out is NUL-terminated and holds only printable ASCII (bytes copied from
 *     the value that are not printable become '?');
 *   - out never contains the whole value when the value is 2 or more bytes
 *     long: a last check looks for the value inside the sample and, if found
 *     (possible only for odd inputs such as a value made of '*'), replaces the
 *     sample with len - 1 '*', which is too short to contain it;
 *   - a value that does not have the shape its masker expects (the masker is
 *     chosen by validator, the value shaped by a normaliser that may not
 *     match) falls back to the generic mask rather than guessing.
 * The generic mask shows the last 2 characters of a value of 8 or more and
 * nothing of a shorter one; it is capped at LW_PII_MASK_MAX - 1 characters,
 * dropping stars rather than the visible tail.
 */
#include "leakwatch/mask.h"

#include <string.h>

/* A small bounded writer: keeps the last byte for the NUL. */
typedef struct mask_buf {
    char *p;
    size_t cap, n;
} mask_buf;

static void put(mask_buf *b, char c)
{
    if (c < 0x20 || c > 0x7e)
        c = '?';
    if (b->n + 1 < b->cap)
        b->p[b->n++] = c;
}

static void put_str(mask_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(b, s[i]);
}

static void put_stars(mask_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(b, '*');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Copies up to `max` digits of norm into d; returns how many there were. */
static size_t digits_of(const char *norm, size_t len, char *d, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (!is_digit(norm[i]))
            continue;
        if (n == max)
            return max + 1;
        d[n++] = norm[i];
    }
    return n;
}

static void mask_generic(const char *norm, size_t len, mask_buf *b)
{
    size_t room = b->cap > 0 ? b->cap - 1 : 0;
    size_t out_len = min_sz(min_sz(len, room), LW_PII_MASK_MAX - 1);

    if (len < 8 || out_len < 8) {
        put_stars(b, out_len);
        return;
    }
    put_stars(b, out_len - 2);
    put_str(b, norm + len - 2, 2);
}

static bool mask_email(const char *norm, size_t len, mask_buf *b)
{
    const char *at = memchr(norm, '@', len);

    if (at == NULL || at == norm || at + 1 == norm + len ||
        memchr(at + 1, '@', (size_t)(norm + len - at - 1)) != NULL)
        return false;
    put(b, norm[0]);
    put_stars(b, 3);
    put_str(b, at, (size_t)(norm + len - at));
    return true;
}

static bool mask_phone(const char *norm, size_t len, mask_buf *b)
{
    char d[16];
    size_t n = digits_of(norm, len, d, 15);
    bool plus = len > 0 && norm[0] == '+';
    size_t cc;

    if (n > 15 || n < 8)
        return false;
    if ((n == 11 && d[0] == '1') || (!plus && n == 10)) {
        put_str(b, "+1-***-***-", 11);
        put_str(b, d + n - 4, 4);
        return true;
    }
    if (!plus)
        return false;
    cc = lw_phone_cc_len(d, n);
    if (cc == 0 || n < cc + 6)
        return false; /* keep at least two national digits hidden */
    put(b, '+');
    put_str(b, d, cc);
    put_str(b, "-***-", 5);
    put_str(b, d + n - 4, 4);
    return true;
}

static bool mask_card(const char *norm, size_t len, mask_buf *b)
{
    char d[20];
    size_t n = digits_of(norm, len, d, 19);
    size_t seen = 0;

    if (n < 13 || n > 19)
        return false;
    /* digits outside the IIN and the last 4 become '*'; separators stay */
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(norm[i])) {
            put(b, norm[i]);
            continue;
        }
        put(b, (seen < 6 || seen >= n - 4) ? norm[i] : '*');
        seen++;
    }
    return true;
}

static bool mask_ssn(const char *norm, size_t len, mask_buf *b)
{
    char d[10];
    size_t n = digits_of(norm, len, d, 9);

    if (n != 9)
        return false;
    put_str(b, "***-**-", 7);
    put_str(b, d + 5, 4);
    return true;
}

static bool mask_iban(const char *norm, size_t len, mask_buf *b)
{
    char c[35];
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (!is_alnum(norm[i]))
            continue;
        if (n == sizeof(c))
            return false;
        c[n++] = norm[i];
    }
    if (n < 15)
        return false;
    put_str(b, c, 4);
    put_stars(b, n - 8);
    put_str(b, c + n - 4, 4);
    return true;
}

void lw_mask(lw_validator v, const char *norm, size_t len, char *out, size_t cap)
{
    mask_buf b = {out, cap, 0};
    bool done = false;

    if (out == NULL || cap == 0)
        return;
    if (norm == NULL)
        len = 0;
    switch (v) {
    case LW_VALIDATOR_EMAIL:
        done = mask_email(norm, len, &b);
        break;
    case LW_VALIDATOR_PHONE:
        done = mask_phone(norm, len, &b);
        break;
    case LW_VALIDATOR_CARD:
    case LW_VALIDATOR_LUHN:
        done = mask_card(norm, len, &b);
        break;
    case LW_VALIDATOR_SSN:
        done = mask_ssn(norm, len, &b);
        break;
    case LW_VALIDATOR_IBAN:
        done = mask_iban(norm, len, &b);
        break;
    default:
        break;
    }
    if (!done) {
        b.n = 0;
        mask_generic(norm, len, &b);
    }
    out[b.n] = '\0';

    /* the last word: a sample never contains the whole value */
    if (len >= 2 && b.n >= len && memmem(out, b.n, norm, len) != NULL) {
        b.n = 0;
        put_stars(&b, len - 1);
        out[b.n] = '\0';
    }
}

/* ---- URLs ---------------------------------------------------------------- */

typedef struct url_out {
    char *out;
    size_t cap, len;
    bool cut;
} url_out;

static void url_put(url_out *u, char c)
{
    if (u->len + 1 < u->cap)
        u->out[u->len++] = c;
    else
        u->cut = true;
}

static void url_puts(url_out *u, const char *s)
{
    while (*s)
        url_put(u, *s++);
}

/* True when a path segment could be (or hold) a value worth masking. */
static bool segment_sensitive(const uint8_t *s, size_t n)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '@')
            return true;
        if (s[i] == '%' && i + 2 < n && s[i + 1] == '4' && s[i + 2] == '0')
            return true;
        digits = (s[i] >= '0' && s[i] <= '9') ? digits + 1 : 0;
        if (digits >= 4)
            return true;
    }
    return false;
}

static void url_copy(url_out *u, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        url_put(u, (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?');
}

size_t lw_mask_url(const uint8_t *url, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    url_out u = {out, cap > 4 ? cap - 3 : cap, 0, false}; /* room for "..." */
    size_t i = 0;

    /* path: segment by segment */
    while (i < len && url[i] != '?' && url[i] != '#') {
        size_t start = i;
        while (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#')
            i++;
        if (segment_sensitive(url + start, i - start))
            url_puts(&u, "***");
        else
            url_copy(&u, url + start, i - start);
        if (i < len && url[i] == '/') {
            url_put(&u, '/');
            i++;
        }
    }
    /* query: names kept, values masked */
    if (i < len && url[i] == '?') {
        url_put(&u, '?');
        i++;
        while (i < len && url[i] != '#') {
            size_t start = i;
            while (i < len && url[i] != '=' && url[i] != '&' && url[i] != '#')
                i++;
            if (segment_sensitive(url + start, i - start))
                url_puts(&u, "***");
            else
                url_copy(&u, url + start, i - start);
            if (i < len && url[i] == '=') {
                url_put(&u, '=');
                i++;
                size_t vstart = i;
                while (i < len && url[i] != '&' && url[i] != '#')
                    i++;
                if (i > vstart)
                    url_puts(&u, "***");
            }
            if (i < len && url[i] == '&') {
                url_put(&u, '&');
                i++;
            }
        }
    }
    if (u.cut && cap > 4) {
        memcpy(out + u.len, "...", 3);
        u.len += 3;
    }
    out[u.len] = '\0';
    return u.len;
}
