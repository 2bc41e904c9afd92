/*
 * fuzz_geoip.c - a hostile MaxMind DB file: the input is the whole file.
 *
 * The bytes go into an anonymous memory file (memfd_create), which
 * lw_geoip_open maps through /proc/self/fd/N, first in the country role and,
 * when its database_type does not fit that, in the ASN role. Every database
 * that opens is asked for a fixed set of addresses (the networks the
 * fixtures use, one in no network, IPv4-mapped IPv6) and for two addresses
 * taken from the input itself, and every answer must be NUL-terminated and
 * free of control bytes. Seeds: the fixtures from pcaps/geoip/ and cut
 * copies of them (tests/fuzz/corpus/geoip/).
 *
 * libmaxminddb is the system library, not instrumented: a fault inside it
 * shows as a crash, not as an ASan report. Its versions before 1.12 (Debian
 * 12 ships 1.7.1) leak the metadata description pool when MMDB_open fails on
 * a broken description map (upstream libmaxminddb PR #356), a bounded leak
 * once per failed open; LeakSanitizer is told to ignore allocations made
 * inside that library so that leaks of our own still stop the run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include "leakwatch/geoip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:libmaxminddb.so\n";
}

static void check_str(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            abort();
    }
}

static void probe(const lw_geoip *g, const lw_addr *a)
{
    lw_geo out;
    bool found = lw_geoip_lookup(g, a, &out);

    check_str(out.country_iso, sizeof out.country_iso);
    check_str(out.country, sizeof out.country);
    check_str(out.city, sizeof out.city);
    check_str(out.as_org, sizeof out.as_org);
    if (!found && (out.country_iso[0] || out.country[0] || out.city[0] || out.asn || out.as_org[0]))
        abort();
}

static void probe_all(const lw_geoip *g, const uint8_t *data, size_t size)
{
    static const uint8_t v4[][4] = {
        {203, 0, 113, 7}, {198, 51, 100, 1}, {192, 0, 2, 1}, {100, 64, 0, 1}, {0, 0, 0, 0}};
    static const uint8_t v6[][16] = {
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff},
    };
    lw_addr a;

    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
        memset(&a, 0, sizeof a);
        a.family = 4;
        memcpy(a.b, v4[i], 4);
        probe(g, &a);
    }
    for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
        memset(&a, 0, sizeof a);
        a.family = 6;
        memcpy(a.b, v6[i], 16);
        probe(g, &a);
    }
    if (size >= 16) { /* addresses from the input: reach the corners of its tree */
        memset(&a, 0, sizeof a);
        a.family = 4;
        memcpy(a.b, data, 4);
        probe(g, &a);
        a.family = 6;
        memcpy(a.b, data, 16);
        probe(g, &a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    lw_geoip *g = NULL;
    int fd = memfd_create("fuzz_geoip", MFD_CLOEXEC);

    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    lw_geoip_paths as_country = {path, NULL, NULL};
    lw_geoip_paths as_asn = {NULL, path, NULL};
    if (lw_geoip_open(&as_country, &g, err, sizeof err) == LW_OK ||
        lw_geoip_open(&as_asn, &g, err, sizeof err) == LW_OK) {
        if (!lw_geoip_enabled(g))
            abort();
        probe_all(g, data, size);
        lw_geoip_close(g);
    } else if (g != NULL || strstr(err, path) == NULL) {
        abort(); /* a failed open leaves nothing and names the file */
    }
    close(fd);
    return 0;
}
