/*
 * test_geoip.c - country, city and AS lookups in MaxMind DB files: the
 * committed fixtures under pcaps/geoip/ (made by tests/tools/make_mmdb.pl,
 * documentation ranges and fictional organisations only), each database
 * alone and together, IPv4 in an IPv6 tree, addresses in no network, no
 * database at all, missing, random, truncated and damaged files, a database
 * in the wrong role, hostile strings (control bytes, ESC sequences, broken
 * UTF-8, overlong text), values of the wrong type, and four threads looking
 * up at once.
 *
 * Fixtures are read from $LW_SOURCE_DIR/pcaps/geoip/ (ctest sets it). When
 * it is set and a fixture is missing the tests fail; when it is not set and
 * ./pcaps/geoip/ has no fixtures they skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "leakwatch/geoip.h"

#define ERRLEN 512

typedef struct fx {
    char src[4096]; /* fixture directory */
    char tmp[256];  /* private temp directory */
    char err[ERRLEN];
    bool missing; /* a fixture is not there */
    bool strict;  /* LW_SOURCE_DIR is set: missing fixtures fail */
    lw_geoip *g;
} fx;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static void fixture_path(const fx *f, const char *name, char *buf, size_t len)
{
    if (f->missing) {
        if (f->strict)
            fail_msg("fixture missing under %s", f->src);
        skip();
    }
    int n = snprintf(buf, len, "%s/%s", f->src, name);
    assert_true(n > 0 && (size_t)n < len);
}

static void tmp_path(const fx *f, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", f->tmp, name);
    assert_true(n > 0 && (size_t)n < len);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const uint8_t *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    if (len > 0)
        assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static lw_addr addr_of(const char *text)
{
    lw_addr a;

    memset(&a, 0, sizeof a);
    if (strchr(text, ':') != NULL) {
        a.family = 6;
        assert_int_equal(inet_pton(AF_INET6, text, a.b), 1);
    } else {
        a.family = 4;
        assert_int_equal(inet_pton(AF_INET, text, a.b), 1);
    }
    return a;
}

static int open_dbs(fx *f, const char *country, const char *asn, const char *city)
{
    char pc[4200], pa[4200], py[4200];
    lw_geoip_paths p = {NULL, NULL, NULL};

    if (country != NULL) {
        fixture_path(f, country, pc, sizeof pc);
        p.country_db = pc;
    }
    if (asn != NULL) {
        fixture_path(f, asn, pa, sizeof pa);
        p.asn_db = pa;
    }
    if (city != NULL) {
        fixture_path(f, city, py, sizeof py);
        p.city_db = py;
    }
    return lw_geoip_open(&p, &f->g, f->err, sizeof f->err);
}

static int open_path(fx *f, const char *country_path)
{
    lw_geoip_paths p = {country_path, NULL, NULL};
    return lw_geoip_open(&p, &f->g, f->err, sizeof f->err);
}

/* Looks up text; out is poisoned first so that "zeroed" is really checked. */
static bool lookup(const fx *f, const char *text, lw_geo *out)
{
    lw_addr a = addr_of(text);

    memset(out, 0xa5, sizeof *out);
    return lw_geoip_lookup(f->g, &a, out);
}

static void assert_zeroed(const lw_geo *g)
{
    lw_geo z;
    memset(&z, 0, sizeof z);
    assert_memory_equal(g, &z, sizeof z);
}

/* Every string field NUL-terminated inside its array, with no C0 control
 * byte or DEL before the NUL. */
static void assert_clean_str(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    assert_true(n < cap);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        assert_true(c >= 0x20 && c != 0x7f);
    }
}

static void assert_clean(const lw_geo *g)
{
    assert_clean_str(g->country_iso, sizeof g->country_iso);
    assert_clean_str(g->country, sizeof g->country);
    assert_clean_str(g->city, sizeof g->city);
    assert_clean_str(g->as_org, sizeof g->as_org);
}

static void close_db(fx *f)
{
    lw_geoip_close(f->g);
    f->g = NULL;
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */

static int setup(void **state)
{
    static const char *const names[] = {"test-country.mmdb", "test-asn.mmdb", "test-city.mmdb",
                                        "test-hostile.mmdb"};
    const char *top = getenv("LW_SOURCE_DIR");
    const char *tmpdir = getenv("TMPDIR");
    fx *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    snprintf(f->src, sizeof f->src, "%s/pcaps/geoip", top != NULL ? top : ".");
    snprintf(f->tmp, sizeof f->tmp, "%s/lw_geoip_XXXXXX",
             tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
    if (mkdtemp(f->tmp) == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    f->strict = top != NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", f->src, names[i]);
        if (access(p, R_OK) != 0)
            f->missing = true;
    }
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[512];

    lw_geoip_close(f->g);
    /* The temp directory holds only files these tests wrote. */
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", f->tmp);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Lookups in the fixtures                                                   */

static void test_country_v4(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-country.mmdb", NULL, NULL), LW_OK);
    assert_true(lw_geoip_enabled(f->g));
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_string_equal(g.country_iso, "DE");
    assert_string_equal(g.country, "Germany");
    assert_string_equal(g.city, "");
    assert_int_equal(g.asn, 0);
    assert_string_equal(g.as_org, "");
    assert_true(lookup(f, "198.51.100.255", &g));
    assert_string_equal(g.country_iso, "US");
    assert_string_equal(g.country, "United States");
    assert_true(lookup(f, "192.0.2.0", &g));
    assert_string_equal(g.country_iso, "NL");
    assert_string_equal(g.country, "Netherlands");
}

static void test_country_v6(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-country.mmdb", NULL, NULL), LW_OK);
    assert_true(lookup(f, "2001:db8::1", &g));
    assert_string_equal(g.country_iso, "FR");
    assert_string_equal(g.country, "France");
    assert_true(lookup(f, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &g));
    assert_string_equal(g.country_iso, "FR");
    assert_false(lookup(f, "2001:db9::1", &g));
    assert_zeroed(&g);
}

/* IPv4 data lives under ::/96; the aliases make ::ffff:a.b.c.d find it. */
static void test_v4_mapped_in_v6(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-country.mmdb", NULL, NULL), LW_OK);
    assert_true(lookup(f, "::ffff:203.0.113.7", &g));
    assert_string_equal(g.country_iso, "DE");
    assert_true(lookup(f, "::203.0.113.7", &g));
    assert_string_equal(g.country_iso, "DE");
}

static void test_no_network(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-country.mmdb", "test-asn.mmdb", "test-city.mmdb"), LW_OK);
    assert_false(lookup(f, "100.64.1.1", &g));
    assert_zeroed(&g);
    assert_false(lookup(f, "203.0.114.0", &g)); /* just past a network */
    assert_zeroed(&g);
    assert_false(lookup(f, "203.0.112.255", &g)); /* just before one */
    assert_zeroed(&g);
}

static void test_asn_only(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, NULL, "test-asn.mmdb", NULL), LW_OK);
    assert_true(lw_geoip_enabled(f->g));
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_int_equal(g.asn, 64500);
    assert_string_equal(g.as_org, "Example CRM Vendor GmbH");
    assert_string_equal(g.country_iso, "");
    assert_string_equal(g.country, "");
    assert_true(lookup(f, "198.51.100.1", &g));
    assert_int_equal(g.asn, 64501);
    assert_string_equal(g.as_org, "Example Paste Hosting");
    assert_true(lookup(f, "192.0.2.1", &g));
    assert_int_equal(g.asn, 64502);
    assert_string_equal(g.as_org, "Example Transit");
    assert_false(lookup(f, "2001:db8::1", &g)); /* France is in the country db only */
    assert_zeroed(&g);
}

static void test_all_three(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-country.mmdb", "test-asn.mmdb", "test-city.mmdb"), LW_OK);
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_string_equal(g.country_iso, "DE");
    assert_string_equal(g.country, "Germany");
    assert_string_equal(g.city, "Berlin");
    assert_int_equal(g.asn, 64500);
    assert_string_equal(g.as_org, "Example CRM Vendor GmbH");
    assert_true(lookup(f, "198.51.100.1", &g));
    assert_string_equal(g.country_iso, "US");
    assert_string_equal(g.city, "");
    assert_int_equal(g.asn, 64501);
}

/* A city database alone gives the city, and the country it also knows. */
static void test_city_only(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, NULL, NULL, "test-city.mmdb"), LW_OK);
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_string_equal(g.city, "Berlin");
    assert_string_equal(g.country_iso, "DE");
    assert_int_equal(g.asn, 0);
    assert_false(lookup(f, "198.51.100.1", &g));
    assert_zeroed(&g);
}

static void test_city_db_as_country_db(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-city.mmdb", NULL, NULL), LW_OK);
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_string_equal(g.city, "Berlin");
    assert_string_equal(g.country, "Germany");
}

static void test_bad_address(void **state)
{
    fx *f = *state;
    lw_addr a = addr_of("203.0.113.7");
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-country.mmdb", NULL, NULL), LW_OK);
    a.family = 0;
    memset(&g, 0xa5, sizeof g);
    assert_false(lw_geoip_lookup(f->g, &a, &g));
    assert_zeroed(&g);
    a.family = 5;
    assert_false(lw_geoip_lookup(f->g, &a, &g));
    memset(&g, 0xa5, sizeof g);
    assert_false(lw_geoip_lookup(f->g, NULL, &g));
    assert_zeroed(&g);
    memset(&g, 0xa5, sizeof g);
    assert_false(lw_geoip_lookup(NULL, &a, &g));
    assert_zeroed(&g);
    assert_false(lw_geoip_lookup(f->g, &a, NULL));
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */

static void test_open_none(void **state)
{
    fx *f = *state;
    lw_geoip_paths empty = {"", "", ""};
    lw_geoip_paths nulls = {NULL, NULL, NULL};
    lw_addr a = addr_of("203.0.113.7");
    lw_geo g;

    assert_int_equal(lw_geoip_open(&nulls, &f->g, f->err, sizeof f->err), LW_OK);
    assert_non_null(f->g);
    assert_false(lw_geoip_enabled(f->g));
    memset(&g, 0xa5, sizeof g);
    assert_false(lw_geoip_lookup(f->g, &a, &g));
    assert_zeroed(&g);
    close_db(f);

    assert_int_equal(lw_geoip_open(&empty, &f->g, f->err, sizeof f->err), LW_OK);
    assert_false(lw_geoip_enabled(f->g));
    close_db(f);

    assert_int_equal(lw_geoip_open(NULL, &f->g, f->err, sizeof f->err), LW_OK);
    assert_false(lw_geoip_enabled(f->g));
    close_db(f);

    assert_false(lw_geoip_enabled(NULL));
    lw_geoip_close(NULL);
}

static void test_open_no_out(void **state)
{
    fx *f = *state;
    lw_geoip_paths nulls = {NULL, NULL, NULL};

    assert_int_equal(lw_geoip_open(&nulls, NULL, f->err, sizeof f->err), LW_ERR_INVAL);
    assert_true(f->err[0] != '\0');
}

static void test_missing_file(void **state)
{
    fx *f = *state;
    char p[512];

    tmp_path(f, "no-such.mmdb", p, sizeof p);
    f->g = (lw_geoip *)f; /* must be reset to NULL */
    assert_int_equal(open_path(f, p), LW_ERR_IO);
    assert_null(f->g);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, "No such file"));
}

/* A good country db followed by a missing ASN db: an error, nothing open
 * (the sanitizer build would report the first handle leaking). */
static void test_second_db_fails(void **state)
{
    fx *f = *state;
    char pc[4200], pa[512];
    lw_geoip_paths p;

    fixture_path(f, "test-country.mmdb", pc, sizeof pc);
    tmp_path(f, "absent-asn.mmdb", pa, sizeof pa);
    p = (lw_geoip_paths){pc, pa, NULL};
    assert_int_equal(lw_geoip_open(&p, &f->g, f->err, sizeof f->err), LW_ERR_IO);
    assert_null(f->g);
    assert_non_null(strstr(f->err, pa));
    assert_null(strstr(f->err, pc));
}

static void test_random_bytes(void **state)
{
    fx *f = *state;
    uint8_t buf[4096];
    uint32_t x = 0x12345678u;
    char p[512];

    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 24);
    }
    tmp_path(f, "random.mmdb", p, sizeof p);
    write_all(p, buf, sizeof buf);
    assert_int_equal(open_path(f, p), LW_ERR_PARSE);
    assert_null(f->g);
    assert_non_null(strstr(f->err, p));

    tmp_path(f, "empty.mmdb", p, sizeof p);
    write_all(p, buf, 0);
    assert_int_not_equal(open_path(f, p), LW_OK);
    assert_null(f->g);
    assert_non_null(strstr(f->err, p));
}

/* Cut anywhere, the metadata at the end is gone or broken: always an error. */
static void test_truncated_fixture(void **state)
{
    fx *f = *state;
    char src[4200], p[512];
    size_t len;
    uint8_t *buf;

    fixture_path(f, "test-country.mmdb", src, sizeof src);
    buf = read_all(src, &len);
    const size_t cuts[] = {1, 16, len / 2, len - 200, len - 40, len - 1};
    tmp_path(f, "cut.mmdb", p, sizeof p);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_all(p, buf, cuts[i]);
        assert_int_not_equal(open_path(f, p), LW_OK);
        assert_null(f->g);
        assert_non_null(strstr(f->err, p));
    }
    free(buf);
}

/* Damage inside the tree and data section (metadata intact): open may
 * succeed, lookups must stay in bounds and answer printable strings. */
static void test_damaged_body(void **state)
{
    fx *f = *state;
    static const char *const addrs[] = {"203.0.113.7", "198.51.100.1", "192.0.2.1",
                                        "2001:db8::1", "100.64.0.1",   "::1"};
    char src[4200], p[512];
    size_t len;
    uint8_t *orig, *buf;
    uint32_t x = 7;
    int opened = 0;

    fixture_path(f, "test-hostile.mmdb", src, sizeof src);
    orig = read_all(src, &len);
    buf = malloc(len);
    assert_non_null(buf);
    tmp_path(f, "damaged.mmdb", p, sizeof p);
    for (int round = 0; round < 64; round++) {
        memcpy(buf, orig, len);
        /* flip a few bytes in the first half (tree + data, not metadata) */
        for (int k = 0; k < 4; k++) {
            x = x * 1103515245u + 12345u;
            buf[(x >> 8) % (len / 2)] ^= (uint8_t)(1u + (x >> 24) % 255u);
        }
        write_all(p, buf, len);
        if (open_path(f, p) != LW_OK)
            continue;
        opened++;
        for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
            lw_geo g;
            (void)lookup(f, addrs[i], &g);
            assert_clean(&g);
        }
        close_db(f);
    }
    assert_true(opened > 0); /* the damage really reached lookups */
    free(buf);
    free(orig);
}

static void test_wrong_role(void **state)
{
    fx *f = *state;
    char p[4200];

    fixture_path(f, "test-asn.mmdb", p, sizeof p);
    assert_int_equal(open_dbs(f, "test-asn.mmdb", NULL, NULL), LW_ERR_PARSE);
    assert_null(f->g);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, "\"LeakwatchTest-ASN\""));
    assert_non_null(strstr(f->err, "country_db"));
    assert_non_null(strstr(f->err, "\"Country\""));

    fixture_path(f, "test-country.mmdb", p, sizeof p);
    assert_int_equal(open_dbs(f, NULL, "test-country.mmdb", NULL), LW_ERR_PARSE);
    assert_null(f->g);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, "\"LeakwatchTest-Country\""));
    assert_non_null(strstr(f->err, "\"ASN\""));

    assert_int_equal(open_dbs(f, NULL, NULL, "test-country.mmdb"), LW_ERR_PARSE);
    assert_non_null(strstr(f->err, "city_db"));
    assert_non_null(strstr(f->err, "\"City\""));

    assert_int_equal(open_dbs(f, NULL, NULL, "test-asn.mmdb"), LW_ERR_PARSE);
    assert_int_equal(open_dbs(f, NULL, "test-city.mmdb", NULL), LW_ERR_PARSE);
}

/* ------------------------------------------------------------------------ */
/* Hostile databases                                                         */

static void test_control_bytes_sanitised(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-hostile.mmdb", "test-hostile.mmdb", NULL), LW_OK);
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_clean(&g);
    assert_string_equal(g.country_iso, ""); /* "D\nE" is no ISO 3166 code */
    assert_string_equal(g.country, "Ger?[31mmany?");
    assert_int_equal(g.asn, 64666);
    assert_int_equal(strlen(g.as_org), sizeof g.as_org - 1);
    static const char want[] = "Evil??{\"org\":1}?Corpxxx";
    assert_memory_equal(g.as_org, want, sizeof want - 1);
}

/* 100 two-byte characters into a 64-byte field: cut at 31 characters,
 * never inside one. */
static void test_long_utf8_cut_on_boundary(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, NULL, NULL, "test-hostile.mmdb"), LW_OK);
    assert_true(lookup(f, "203.0.113.7", &g));
    assert_int_equal(strlen(g.city), 62);
    for (size_t i = 0; i < 62; i += 2) {
        assert_int_equal((unsigned char)g.city[i], 0xc3);
        assert_int_equal((unsigned char)g.city[i + 1], 0xa9);
    }
}

static void test_registered_country_fallback(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-hostile.mmdb", NULL, NULL), LW_OK);
    assert_true(lookup(f, "198.51.100.1", &g));
    assert_string_equal(g.country_iso, "SE");
    assert_string_equal(g.country, "Sweden");
}

static void test_wrong_value_types_ignored(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, "test-hostile.mmdb", "test-hostile.mmdb", "test-hostile.mmdb"),
                     LW_OK);
    assert_false(lookup(f, "192.0.2.1", &g));
    assert_zeroed(&g);
}

static void test_asn_over_32_bits_rejected(void **state)
{
    fx *f = *state;
    lw_geo g;

    assert_int_equal(open_dbs(f, NULL, "test-hostile.mmdb", NULL), LW_OK);
    assert_true(lookup(f, "2001:db8::1", &g));
    assert_int_equal(g.asn, 0);
    assert_string_equal(g.as_org, "Wide Org");
}

/* Bytes the writer cannot produce (it only writes valid UTF-8) patched into
 * a copy: a stray 0xff, an overlong 0xc0 0xaf and a C1 control 0xc2 0x9b. */
static void test_invalid_utf8_replaced(void **state)
{
    fx *f = *state;
    static const struct {
        uint8_t b[2];
        const char *want;
    } cases[] = {
        {{0xff, 'i'}, "?ide Org"},
        {{0xc0, 0xaf}, "??de Org"},
        {{0xc2, 0x9b}, "?de Org"},
        {{0xc3, 0xa9},
         "\xc3\xa9"
         "de Org"},
    };
    char src[4200], p[512];
    size_t len;
    uint8_t *orig = NULL;

    fixture_path(f, "test-hostile.mmdb", src, sizeof src);
    orig = read_all(src, &len);
    uint8_t *at = memmem(orig, len, "Wide Org", 8);
    assert_non_null(at);
    tmp_path(f, "utf8.mmdb", p, sizeof p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t save[2] = {at[0], at[1]};
        lw_geo g;
        at[0] = cases[i].b[0];
        at[1] = cases[i].b[1];
        write_all(p, orig, len);
        at[0] = save[0];
        at[1] = save[1];
        lw_geoip_paths paths = {NULL, p, NULL};
        assert_int_equal(lw_geoip_open(&paths, &f->g, f->err, sizeof f->err), LW_OK);
        assert_true(lookup(f, "2001:db8::1", &g));
        assert_string_equal(g.as_org, cases[i].want);
        close_db(f);
    }
    free(orig);
}

/* ------------------------------------------------------------------------ */
/* Threads and the generator                                                 */

#define N_THREADS 4
#define N_ROUNDS  2000

static const char *const thread_addrs[] = {"203.0.113.7", "198.51.100.1", "192.0.2.1",
                                           "2001:db8::1", "100.64.0.1",   "::ffff:192.0.2.200"};
#define N_ADDRS (sizeof thread_addrs / sizeof thread_addrs[0])

typedef struct worker {
    const lw_geoip *g;
    lw_addr addr[N_ADDRS];
    lw_geo want[N_ADDRS];
    bool want_found[N_ADDRS];
    int mismatches;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;

    for (int r = 0; r < N_ROUNDS; r++) {
        size_t i = (size_t)r % N_ADDRS;
        lw_geo got;
        bool found = lw_geoip_lookup(w->g, &w->addr[i], &got);
        if (found != w->want_found[i] || memcmp(&got, &w->want[i], sizeof got) != 0)
            w->mismatches++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    fx *f = *state;
    worker w[N_THREADS];
    pthread_t t[N_THREADS];
    lw_geo ref[N_ADDRS];
    bool ref_found[N_ADDRS];

    assert_int_equal(open_dbs(f, "test-country.mmdb", "test-asn.mmdb", "test-city.mmdb"), LW_OK);
    for (size_t i = 0; i < N_ADDRS; i++)
        ref_found[i] = lookup(f, thread_addrs[i], &ref[i]);
    assert_true(ref_found[0] && ref_found[3] && !ref_found[4]);
    for (int k = 0; k < N_THREADS; k++) {
        memset(&w[k], 0, sizeof w[k]);
        w[k].g = f->g;
        for (size_t i = 0; i < N_ADDRS; i++) {
            /* each thread starts at a different address */
            size_t j = (i + (size_t)k) % N_ADDRS;
            w[k].addr[i] = addr_of(thread_addrs[j]);
            w[k].want[i] = ref[j];
            w[k].want_found[i] = ref_found[j];
        }
    }
    for (int k = 0; k < N_THREADS; k++)
        assert_int_equal(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
    for (int k = 0; k < N_THREADS; k++)
        assert_int_equal(pthread_join(t[k], NULL), 0);
    for (int k = 0; k < N_THREADS; k++)
        assert_int_equal(w[k].mismatches, 0);
}

/* The committed fixtures are exactly what the generator writes (it fixes
 * build_epoch). Needs perl and libmaxmind-db-writer-perl; skips without. */
static void test_fixtures_match_generator(void **state)
{
    fx *f = *state;
    static const char *const names[] = {"test-country.mmdb", "test-asn.mmdb", "test-city.mmdb",
                                        "test-hostile.mmdb"};
    const char *top = getenv("LW_SOURCE_DIR");
    char cmd[9000];

    if (top == NULL || system("perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null") != 0)
        skip();
    snprintf(cmd, sizeof cmd,
             "perl '%s/tests/tools/make_mmdb.pl' '%s' && "
             "perl '%s/tests/tools/make_mmdb.pl' --hostile '%s'",
             top, f->tmp, top, f->tmp);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char a[4200], b[512];
        size_t la, lb;
        fixture_path(f, names[i], a, sizeof a);
        tmp_path(f, names[i], b, sizeof b);
        uint8_t *ba = read_all(a, &la);
        uint8_t *bb = read_all(b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ba, bb, la);
        free(ba);
        free(bb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_country_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_country_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4_mapped_in_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asn_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_three, setup, teardown),
        cmocka_unit_test_setup_teardown(test_city_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_city_db_as_country_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_no_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_db_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_bytes_sanitised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_utf8_cut_on_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registered_country_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_value_types_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asn_over_32_bits_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixtures_match_generator, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
