/*
 * decoder_bench.c - throughput of each application decoder, in one run
 * with its own baseline.
 *
 * Each case builds its input in memory (fictional records), feeds it to the
 * decoder in 1448-byte pieces (one TCP segment each) with a sink that only
 * counts the content bytes, and repeats until at least 0.3 s of CPU time
 * has passed. The baseline is a plain pass over the same bytes (a sum of
 * every byte) in the same process, so the ratio decoder/baseline says what
 * decoding costs on this machine whatever its speed that minute.
 * Figures: input MB/s (10^6 bytes per CPU second), content MB/s, and the
 * input ratio to the baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "leakwatch/app.h"
#include "leakwatch/codec.h"
#include "leakwatch/dns.h"
#include "leakwatch/http.h"
#include "leakwatch/smtp.h"

#define SEGMENT 1448

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t content_bytes;
static void on_content(void *ctx, int dir, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)dir;
    (void)d;
    content_bytes += n;
}
static void on_item(void *ctx, int dir)
{
    (void)ctx;
    (void)dir;
}
static void on_meta(void *ctx, int dir, lw_app_meta k, const uint8_t *v, size_t n)
{
    (void)ctx;
    (void)dir;
    (void)k;
    (void)v;
    (void)n;
}
static const lw_app_sink sink = {on_content, on_item, on_meta, NULL};
static void on_content_codec(void *ctx, const uint8_t *d, size_t n)
{
    on_content(ctx, 0, d, n);
}
static const lw_app_limits limits = {8192, 100, 1u << 30, 100000, 3};

/* CSV text of n fictional records. */
static void csv(buf *b, int n)
{
    char line[160];
    for (int i = 0; i < n; i++) {
        int len = snprintf(line, sizeof(line),
                           "Customer %d,customer%d@example.com,(415) 555-01%02d,"
                           "4111 1111 1111 %04d,Street %d\r\n",
                           i, i, i % 100, i % 10000, i);
        put(b, line, (size_t)len);
    }
}

static size_t gzip(const buf *in, buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    out->cap = deflateBound(&z, in->len) + 64;
    out->p = malloc(out->cap);
    z.next_in = in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = out->p;
    z.avail_out = (uInt)out->cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    out->len = z.total_out;
    deflateEnd(&z);
    return out->len;
}

typedef void (*run_fn)(const buf *in);

static volatile uint64_t sink_sum;
static void run_baseline(const buf *in)
{
    uint64_t s = 0;
    for (size_t i = 0; i < in->len; i++)
        s += in->p[i];
    sink_sum += s;
}

static void run_http(const buf *in)
{
    uint64_t ctr[LW_HTTP_CTR_MAX] = {0};
    lw_http *h = lw_http_new(&limits, ctr);
    for (size_t off = 0; off < in->len; off += SEGMENT) {
        size_t n = in->len - off < SEGMENT ? in->len - off : SEGMENT;
        lw_http_feed(h, LW_DIR_TOSERVER, in->p + off, n, true, &sink);
    }
    lw_http_free(h, &sink);
}

static void run_smtp(const buf *in)
{
    uint64_t ctr[LW_SMTP_CTR_MAX] = {0};
    lw_smtp *s = lw_smtp_new(&limits, ctr);
    for (size_t off = 0; off < in->len; off += SEGMENT) {
        size_t n = in->len - off < SEGMENT ? in->len - off : SEGMENT;
        lw_smtp_feed(s, LW_DIR_TOSERVER, in->p + off, n, true, &sink);
    }
    lw_smtp_free(s, &sink);
}

/* DNS: the input is a sequence of [2-byte length][message]. */
static void run_dns(const buf *in)
{
    uint64_t ctr[LW_DNS_CTR_MAX] = {0};
    size_t off = 0;
    while (off + 2 <= in->len) {
        size_t n = (size_t)in->p[off] << 8 | in->p[off + 1];
        lw_dns_message(in->p + off + 2, n, LW_DIR_TOSERVER, true, &sink, NULL, NULL, ctr);
        off += 2 + n;
    }
}

static void run_b64(const buf *in)
{
    lw_b64 d;
    lw_b64_init(&d);
    for (size_t off = 0; off < in->len; off += SEGMENT) {
        size_t n = in->len - off < SEGMENT ? in->len - off : SEGMENT;
        lw_b64_feed(&d, in->p + off, n, on_content_codec, NULL);
    }
}

static double measure(run_fn fn, const buf *in, uint64_t *content)
{
    fn(in); /* warm-up */
    content_bytes = 0;
    double start = cpu_now(), t;
    int iters = 0;
    do {
        fn(in);
        iters++;
        t = cpu_now() - start;
    } while (t < 0.3);
    *content = content_bytes / (uint64_t)iters;
    return (double)in->len * iters / t / 1e6;
}

static void percent_encode(buf *out, const buf *in)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < in->len; i++) {
        uint8_t c = in->p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-') {
            put(out, &c, 1);
        } else if (c == ' ') {
            put(out, "+", 1);
        } else if (c == ',') {
            put(out, "&f=", 3);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(out, e, 3);
        }
    }
}

static void base64_lines(buf *out, const buf *in)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;
    for (size_t i = 0; i < in->len; i += 3) {
        uint32_t v = (uint32_t)in->p[i] << 16;
        size_t n = in->len - i;
        if (n > 1)
            v |= (uint32_t)in->p[i + 1] << 8;
        if (n > 2)
            v |= in->p[i + 2];
        char q[4] = {al[v >> 18], al[(v >> 12) & 63], n > 1 ? al[(v >> 6) & 63] : '=',
                     n > 2 ? al[v & 63] : '='};
        put(out, q, 4);
        col += 4;
        if (col >= 76) {
            put(out, "\r\n", 2);
            col = 0;
        }
    }
    put(out, "\r\n", 2);
}

static void dns_queries(buf *out, int n)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        uint8_t m[300];
        size_t k = 0;
        const uint8_t hdr[12] = {(uint8_t)(i >> 8), (uint8_t)i, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
        memcpy(m, hdr, 12);
        k = 12;
        char email[64];
        int el = snprintf(email, sizeof(email), "customer%d@example.com", i);
        /* hex of the email in labels of at most 60 characters */
        size_t pos = 0;
        while (pos < (size_t)el) {
            size_t take = (size_t)el - pos > 30 ? 30 : (size_t)el - pos;
            m[k++] = (uint8_t)(take * 2);
            for (size_t j = 0; j < take; j++) {
                m[k++] = (uint8_t)hex[(uint8_t)email[pos + j] >> 4];
                m[k++] = (uint8_t)hex[(uint8_t)email[pos + j] & 15];
            }
            pos += take;
        }
        static const uint8_t tail[] = {5,   'e', 'x', 'f', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p',
                                       'l', 'e', 3,   'n', 'e', 't', 0, 0,   1,   0,   1};
        memcpy(m + k, tail, sizeof(tail));
        k += sizeof(tail);
        uint8_t len2[2] = {(uint8_t)(k >> 8), (uint8_t)k};
        put(out, len2, 2);
        put(out, m, k);
    }
}

static void report(const char *name, run_fn fn, const buf *in, double base)
{
    uint64_t content;
    double mbs = measure(fn, in, &content);
    double secs = (double)in->len / (mbs * 1e6);
    printf("%-22s %8.2f %10.1f %12.1f %8.3f\n", name, (double)in->len / 1e6, mbs,
           (double)content / secs / 1e6, mbs / base);
}

int main(void)
{
    buf text = {0}, gz = {0}, form = {0}, http_form = {0}, http_gzip = {0}, smtp = {0}, dns = {0},
        b64 = {0};
    csv(&text, 20000);

    /* HTTP: a form POST of the records, percent-encoded */
    percent_encode(&form, &text);
    char hdr[256];
    snprintf(hdr, sizeof(hdr),
             "POST /submit HTTP/1.1\r\nHost: upload.example.com\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n",
             form.len + 2);
    puts_(&http_form, hdr);
    puts_(&http_form, "f=");
    put(&http_form, form.p, form.len);

    /* HTTP: the CSV gzip'd and chunked in 4000-byte chunks */
    gzip(&text, &gz);
    puts_(&http_gzip, "POST /upload HTTP/1.1\r\nHost: upload.example.com\r\n"
                      "Content-Type: text/csv\r\nContent-Encoding: gzip\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0; off < gz.len; off += 4000) {
        size_t n = gz.len - off < 4000 ? gz.len - off : 4000;
        char sz[32];
        snprintf(sz, sizeof(sz), "%zx\r\n", n);
        puts_(&http_gzip, sz);
        put(&http_gzip, gz.p + off, n);
        puts_(&http_gzip, "\r\n");
    }
    puts_(&http_gzip, "0\r\n\r\n");

    /* SMTP: the CSV as a base64 attachment */
    puts_(&smtp, "EHLO ws1.example.com\r\nMAIL FROM:<a@example.com>\r\n"
                 "RCPT TO:<b@example.net>\r\nDATA\r\n"
                 "Subject: list\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
                 "--XYZ\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
                 "--XYZ\r\nContent-Type: text/csv\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    base64_lines(&smtp, &text);
    puts_(&smtp, "--XYZ--\r\n.\r\nQUIT\r\n");

    dns_queries(&dns, 20000);
    base64_lines(&b64, &text);

    uint64_t dummy;
    double base = measure(run_baseline, &text, &dummy);
    printf("%-22s %8s %10s %12s %8s\n", "case", "input MB", "in MB/s", "content MB/s", "vs base");
    printf("%-22s %8.2f %10.1f %12s %8.3f\n", "baseline (byte sum)", (double)text.len / 1e6, base,
           "-", 1.0);
    report("http form-urlencoded", run_http, &http_form, base);
    report("http chunked+gzip", run_http, &http_gzip, base);
    report("smtp base64 attachment", run_smtp, &smtp, base);
    report("dns hex labels", run_dns, &dns, base);
    report("base64 codec", run_b64, &b64, base);
    return 0;
}
