/*
 * test_policy.c - the policy loader and lw_policy_decide.
 *
 * Each criterion (CIDR, ASN, country, exact and wildcard domain) is tested
 * alone, at its edges, and in the order rules are tried (first match,
 * allow before rules). Every error the loader knows has a test that checks
 * the whole "FILE:LINE: ..." message. The shipped etc/policy.yaml is loaded
 * (LW_SOURCE_DIR) and its detectors compared with the default ones, so the
 * documented file cannot drift from the code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leakwatch/policy.h"

#define ERRLEN 512

struct fx {
    lw_config cfg;
    lw_policy *p;
    char err[ERRLEN];
    char dir[64]; /* temporary directory, "" when none */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    lw_config_defaults(&f->cfg);
    *state = f;
    return 0;
}

static void rm_tree(const char *dir)
{
    char cmd[128];
    /* only our own mkdtemp directory under /tmp */
    if (strncmp(dir, "/tmp/lw_policy_", 15) == 0 && strchr(dir, '\'') == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
}

static int teardown(void **state)
{
    struct fx *f = *state;
    lw_policy_free(f->p);
    if (f->dir[0] != '\0')
        rm_tree(f->dir);
    free(f);
    return 0;
}

/* Parses text as "t.yaml" into f->p; returns the result code. */
static int parse(struct fx *f, const char *text)
{
    lw_policy_free(f->p);
    f->p = NULL;
    f->err[0] = '\0';
    return lw_policy_parse("t.yaml", text, strlen(text), &f->cfg, &f->p, f->err, sizeof(f->err));
}

static void must_parse(struct fx *f, const char *text)
{
    if (parse(f, text) != 0)
        fail_msg("unexpected error: %s", f->err);
    assert_non_null(f->p);
}

static void expect_error(struct fx *f, const char *text, const char *msg)
{
    assert_int_not_equal(parse(f, text), 0);
    assert_null(f->p);
    assert_string_equal(f->err, msg);
}

static void make_dir(struct fx *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/lw_policy_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* ------------------------------------------------------------ destinations */

struct dest {
    lw_policy_dest d;
    lw_geo geo;
};

static void dest_init(struct dest *t, const char *addr)
{
    memset(t, 0, sizeof(*t));
    if (strchr(addr, ':') != NULL) {
        t->d.addr.family = 6;
        assert_int_equal(inet_pton(AF_INET6, addr, t->d.addr.b), 1);
    } else {
        t->d.addr.family = 4;
        assert_int_equal(inet_pton(AF_INET, addr, t->d.addr.b), 1);
    }
}

static void dest_name(struct dest *t, const char *name)
{
    assert_true(t->d.n_names < LW_POLICY_MAX_NAMES);
    t->d.names[t->d.n_names++] = name;
}

static void dest_geo(struct dest *t, const char *iso, uint32_t asn)
{
    snprintf(t->geo.country_iso, sizeof(t->geo.country_iso), "%s", iso);
    t->geo.asn = asn;
    t->d.geo = &t->geo;
}

/* The allow index, or 100 + the rule index, or -1. */
static int decide(const lw_policy *p, const struct dest *t)
{
    lw_policy_verdict v;
    memset(&v, 0x5a, sizeof(v));
    lw_policy_decide(p, &t->d, &v);
    if (v.allow >= 0) {
        assert_int_equal(v.rule, -1);
        assert_int_equal(v.threshold, 0);
        assert_int_equal(v.severity, 0);
        return v.allow;
    }
    if (v.rule >= 0)
        return 100 + v.rule;
    assert_int_equal(v.threshold, 0);
    assert_int_equal(v.severity, 0);
    return -1;
}

static int decide_addr(const lw_policy *p, const char *addr)
{
    struct dest t;
    dest_init(&t, addr);
    return decide(p, &t);
}

static int decide_name(const lw_policy *p, const char *name)
{
    struct dest t;
    dest_init(&t, "192.0.2.1");
    dest_name(&t, name);
    return decide(p, &t);
}

/* ---------------------------------------------------------------- defaults */

static void check_default_detector(const lw_policy *p, const lw_config *c)
{
    const lw_detector *d;

    assert_int_equal(lw_policy_detector_count(p), 1);
    d = lw_policy_detector(p, 0);
    assert_non_null(d);
    assert_string_equal(d->name, "pair");
    assert_int_equal(d->key, LW_DETECTOR_PAIR);
    assert_int_equal(d->window_s, c->burst.window_s);
    assert_int_equal(d->threshold, c->burst.threshold);
    assert_int_equal(d->sid, 9000001);
    assert_int_equal(d->exact_limit, c->burst.max_values);
    assert_null(lw_policy_detector(p, 1));
}

static void test_default_policy(void **state)
{
    struct fx *f = *state;

    f->cfg.burst.window_s = 120;
    f->cfg.burst.threshold = 7;
    f->cfg.burst.max_values = 999;
    assert_int_equal(lw_policy_load(NULL, &f->cfg, &f->p, f->err, ERRLEN), 0);
    check_default_detector(f->p, &f->cfg);
    assert_int_equal(lw_policy_allow_count(f->p), 0);
    assert_int_equal(lw_policy_rule_count(f->p), 0);
    assert_null(lw_policy_allow_name(f->p, 0));
    assert_null(lw_policy_rule_name(f->p, 0));
    assert_int_equal(decide_name(f->p, "pastebin.com"), -1);
    lw_policy_free(f->p);
    f->p = NULL;
    assert_int_equal(lw_policy_load("", &f->cfg, &f->p, f->err, ERRLEN), 0);
    check_default_detector(f->p, &f->cfg);
}

static void test_empty_file_is_default(void **state)
{
    struct fx *f = *state;

    must_parse(f, "# nothing\n");
    check_default_detector(f->p, &f->cfg);
    must_parse(f, "allow:\nrules:\ndetectors:\n");
    check_default_detector(f->p, &f->cfg);
    must_parse(f, "allow: []\nrules: []\n");
    check_default_detector(f->p, &f->cfg);
}

static void test_shipped_policy(void **state)
{
    struct fx *f = *state;
    const char *src = getenv("LW_SOURCE_DIR");
    char path[4096];
    lw_policy_verdict v;
    struct dest t;

    if (src == NULL)
        skip();
    snprintf(path, sizeof(path), "%s/etc/policy.yaml", src);
    /* Twice: the detector follows the config, default or not. */
    if (lw_policy_load(path, &f->cfg, &f->p, f->err, ERRLEN) != 0)
        fail_msg("%s", f->err);
    check_default_detector(f->p, &f->cfg);
    lw_policy_free(f->p);
    f->p = NULL;
    f->cfg.burst.window_s = 300;
    f->cfg.burst.threshold = 50;
    f->cfg.burst.max_values = 8192;
    if (lw_policy_load(path, &f->cfg, &f->p, f->err, ERRLEN) != 0)
        fail_msg("%s", f->err);
    check_default_detector(f->p, &f->cfg);

    assert_int_equal(lw_policy_allow_count(f->p), 0);
    assert_int_equal(lw_policy_rule_count(f->p), 1);
    assert_string_equal(lw_policy_rule_name(f->p, 0), "paste-and-file-sharing");
    dest_init(&t, "198.51.100.7");
    dest_name(&t, "PasteBin.com.");
    lw_policy_decide(f->p, &t.d, &v);
    assert_int_equal(v.allow, -1);
    assert_int_equal(v.rule, 0);
    assert_int_equal(v.threshold, 5);
    assert_int_equal(v.severity, 1);
    assert_int_equal(decide_name(f->p, "transfer.sh"), 100);
    assert_int_equal(decide_name(f->p, "0x0.st"), 100);
    assert_int_equal(decide_name(f->p, "example.com"), -1);
    assert_int_equal(decide_name(f->p, "notpastebin.com"), -1);
}

/* --------------------------------------------------------------- criteria */

static void test_cidr_v4_edges(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    cidrs: [203.0.113.0/24, 198.51.100.128/25]\n");
    assert_int_equal(decide_addr(f->p, "203.0.113.0"), 0);
    assert_int_equal(decide_addr(f->p, "203.0.113.255"), 0);
    assert_int_equal(decide_addr(f->p, "203.0.112.255"), -1);
    assert_int_equal(decide_addr(f->p, "203.0.114.0"), -1);
    assert_int_equal(decide_addr(f->p, "198.51.100.128"), 0);
    assert_int_equal(decide_addr(f->p, "198.51.100.255"), 0);
    assert_int_equal(decide_addr(f->p, "198.51.100.127"), -1);
    /* the same bytes as IPv6 are another address */
    assert_int_equal(decide_addr(f->p, "cb00:7100::"), -1);
}

static void test_cidr_v6_edges(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    cidrs: [\"2001:db8::/33\", \"2001:db8:ffff::1\"]\n");
    assert_int_equal(decide_addr(f->p, "2001:db8::"), 0);
    assert_int_equal(decide_addr(f->p, "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"), 0);
    assert_int_equal(decide_addr(f->p, "2001:db8:8000::"), -1);
    assert_int_equal(decide_addr(f->p, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), -1);
    assert_int_equal(decide_addr(f->p, "2001:db8:ffff::1"), 0); /* host route */
    assert_int_equal(decide_addr(f->p, "2001:db8:ffff::2"), -1);
    assert_int_equal(decide_addr(f->p, "32.1.13.184"), -1);
}

static void test_cidr_zero_prefix(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    cidrs: [0.0.0.0/0]\n");
    assert_int_equal(decide_addr(f->p, "255.255.255.255"), 0);
    assert_int_equal(decide_addr(f->p, "::1"), -1);
}

static void test_asn(void **state)
{
    struct fx *f = *state;
    struct dest t;

    must_parse(f, "allow:\n  - name: a\n    asns: [64501, AS64500, 4294967295, 64500]\n");
    dest_init(&t, "192.0.2.1");
    dest_geo(&t, "", 64500);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "", 64501);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "", 4294967295u);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "", 64502);
    assert_int_equal(decide(f->p, &t), -1);
    dest_geo(&t, "", 0); /* unknown */
    assert_int_equal(decide(f->p, &t), -1);
    t.d.geo = NULL;
    assert_int_equal(decide(f->p, &t), -1);
}

static void test_country(void **state)
{
    struct fx *f = *state;
    struct dest t;

    must_parse(f, "allow:\n  - name: a\n    countries: [de, FR]\n");
    dest_init(&t, "192.0.2.1");
    dest_geo(&t, "DE", 0);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "fr", 0);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "US", 0);
    assert_int_equal(decide(f->p, &t), -1);
    dest_geo(&t, "", 0);
    assert_int_equal(decide(f->p, &t), -1);
    dest_geo(&t, "D", 0);
    assert_int_equal(decide(f->p, &t), -1);
    t.geo.country_iso[0] = '1';
    t.geo.country_iso[1] = 'E';
    assert_int_equal(decide(f->p, &t), -1);
    t.d.geo = NULL;
    assert_int_equal(decide(f->p, &t), -1);
}

static void test_exact_domain(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    domains: [crm.example.com]\n");
    assert_int_equal(decide_name(f->p, "crm.example.com"), 0);
    assert_int_equal(decide_name(f->p, "x.crm.example.com"), -1);
    assert_int_equal(decide_name(f->p, "example.com"), -1);
    assert_int_equal(decide_name(f->p, "crm.example.co"), -1);
    assert_int_equal(decide_addr(f->p, "192.0.2.1"), -1); /* no names */
}

static void test_wildcard_domain(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    domains: [\"*.example.com\"]\n");
    assert_int_equal(decide_name(f->p, "example.com"), -1);
    assert_int_equal(decide_name(f->p, "x.example.com"), 0);
    assert_int_equal(decide_name(f->p, "a.b.example.com"), 0);
    assert_int_equal(decide_name(f->p, "badexample.com"), -1);
    assert_int_equal(decide_name(f->p, "example.com.evil.net"), -1);
    assert_int_equal(decide_name(f->p, "com"), -1);
}

static void test_wildcard_and_exact_together(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    domains: [\"*.example.com\", example.com]\n");
    assert_int_equal(decide_name(f->p, "example.com"), 0);
    assert_int_equal(decide_name(f->p, "w.example.com"), 0);
}

static void test_any_name_matches(void **state)
{
    struct fx *f = *state;
    struct dest t;

    must_parse(f, "allow:\n  - name: a\n    domains: [crm.example.com]\n");
    dest_init(&t, "192.0.2.1");
    dest_name(&t, "other.example.net");
    dest_name(&t, "bad name");
    dest_name(&t, "crm.example.com");
    assert_int_equal(decide(f->p, &t), 0);
    /* only the first n_names count */
    t.d.n_names = 2;
    assert_int_equal(decide(f->p, &t), -1);
    /* more than LW_POLICY_MAX_NAMES: the extra ones are never read */
    t.d.n_names = 1000;
    for (size_t i = 3; i < LW_POLICY_MAX_NAMES; i++)
        t.d.names[i] = "x.invalid";
    assert_int_equal(decide(f->p, &t), 0);
}

static void test_case_and_trailing_dot(void **state)
{
    struct fx *f = *state;

    must_parse(f,
               "allow:\n  - name: a\n    domains: [\"CRM.Example.COM.\", \"*.Files.Example.\"]\n");
    assert_int_equal(decide_name(f->p, "crm.example.com"), 0);
    assert_int_equal(decide_name(f->p, "CRM.EXAMPLE.COM"), 0);
    assert_int_equal(decide_name(f->p, "crm.example.com."), 0);
    assert_int_equal(decide_name(f->p, "crm.example.com.."), -1);
    assert_int_equal(decide_name(f->p, "A.FILES.example"), 0);
    assert_int_equal(decide_name(f->p, "files.example."), -1);
}

static void test_non_host_names_ignored(void **state)
{
    struct fx *f = *state;
    char long_name[400];
    struct dest t;

    must_parse(f, "allow:\n  - name: a\n    domains: [\"*.example.com\", crm.example.com]\n");
    assert_int_equal(decide_name(f->p, ""), -1);
    assert_int_equal(decide_name(f->p, "."), -1);
    assert_int_equal(decide_name(f->p, "crm.example.com/path"), -1);
    assert_int_equal(decide_name(f->p, "crm.example.com:443"), -1);
    assert_int_equal(decide_name(f->p, "a..example.com"), -1);
    assert_int_equal(decide_name(f->p, ".crm.example.com"), -1);
    assert_int_equal(decide_name(f->p, "x y.example.com"), -1);
    assert_int_equal(decide_name(f->p, "\xc3\xa9.example.com"), -1);
    assert_int_equal(decide_name(f->p, "*.example.com"), -1);
    /* a 64-byte label */
    memset(long_name, 'a', 64);
    snprintf(long_name + 64, sizeof(long_name) - 64, ".example.com");
    assert_int_equal(decide_name(f->p, long_name), -1);
    long_name[0] = '.';
    assert_int_equal(decide_name(f->p, long_name + 1), 0); /* 63 bytes is fine */
    /* longer than 253 bytes */
    for (size_t i = 0; i < 244; i += 2)
        memcpy(long_name + i, "a.", 2);
    snprintf(long_name + 244, sizeof(long_name) - 244, "example.com");
    assert_int_equal(strlen(long_name), 255);
    assert_int_equal(decide_name(f->p, long_name), -1);
    /* 253 bytes: the longest host name */
    for (size_t i = 0; i < 242; i += 2)
        memcpy(long_name + i, "a.", 2);
    snprintf(long_name + 242, sizeof(long_name) - 242, "example.com");
    assert_int_equal(strlen(long_name), 253);
    assert_int_equal(decide_name(f->p, long_name), 0);
    /* 127 one-byte labels: the most suffixes a lookup ever walks */
    must_parse(f, "allow:\n  - name: a\n    domains: [\"*.a\", \"*.b\"]\n");
    for (size_t i = 0; i < 252; i += 2)
        memcpy(long_name + i, "b.", 2);
    snprintf(long_name + 252, sizeof(long_name) - 252, "a");
    assert_int_equal(strlen(long_name), 253);
    assert_int_equal(decide_name(f->p, long_name), 0);
    long_name[252] = 'c';
    assert_int_equal(decide_name(f->p, long_name), -1); /* "*.b" never covers "...b.c" */
    long_name[252] = 'a';
    /* a NULL name is skipped */
    must_parse(f, "allow:\n  - name: a\n    domains: [\"*.example.com\", crm.example.com]\n");
    dest_init(&t, "192.0.2.1");
    t.d.n_names = 2;
    t.d.names[0] = NULL;
    t.d.names[1] = "crm.example.com";
    assert_int_equal(decide(f->p, &t), 0);
}

static void test_underscore_and_digits(void **state)
{
    struct fx *f = *state;

    must_parse(f, "allow:\n  - name: a\n    domains: [_dmarc.example.com, 0x0.st, 1.2.3.4]\n");
    assert_int_equal(decide_name(f->p, "_DMARC.example.com"), 0);
    assert_int_equal(decide_name(f->p, "0X0.ST"), 0);
    assert_int_equal(decide_name(f->p, "1.2.3.4"), 0);
}

static void test_criteria_are_ored(void **state)
{
    struct fx *f = *state;
    struct dest t;

    must_parse(f, "allow:\n"
                  "  - name: a\n"
                  "    cidrs: [203.0.113.0/24]\n"
                  "    asns: [64500]\n"
                  "    countries: [DE]\n"
                  "    domains: [crm.example.com]\n");
    assert_int_equal(decide_addr(f->p, "203.0.113.9"), 0);
    assert_int_equal(decide_name(f->p, "crm.example.com"), 0);
    dest_init(&t, "192.0.2.1");
    dest_geo(&t, "de", 1);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "US", 64500);
    assert_int_equal(decide(f->p, &t), 0);
    dest_geo(&t, "US", 1);
    assert_int_equal(decide(f->p, &t), -1);
}

static void test_first_match_wins(void **state)
{
    struct fx *f = *state;
    lw_policy_verdict v;
    struct dest t;

    must_parse(f, "allow:\n"
                  "  - name: first\n"
                  "    domains: [\"*.example.com\"]\n"
                  "  - name: second\n"
                  "    domains: [crm.example.com]\n"
                  "rules:\n"
                  "  - name: r1\n"
                  "    cidrs: [198.51.100.0/24]\n"
                  "    threshold: 3\n"
                  "  - name: r2\n"
                  "    cidrs: [198.51.100.0/25]\n"
                  "    severity: 4\n"
                  "  - name: r3\n"
                  "    cidrs: [198.51.100.200/32]\n"
                  "    threshold: 9\n"
                  "    severity: 2\n");
    assert_int_equal(lw_policy_allow_count(f->p), 2);
    assert_string_equal(lw_policy_allow_name(f->p, 1), "second");
    assert_int_equal(lw_policy_rule_count(f->p), 3);
    assert_string_equal(lw_policy_rule_name(f->p, 2), "r3");
    assert_int_equal(decide_name(f->p, "crm.example.com"), 0);
    assert_int_equal(decide_addr(f->p, "198.51.100.1"), 100);
    dest_init(&t, "198.51.100.1");
    lw_policy_decide(f->p, &t.d, &v);
    assert_int_equal(v.threshold, 3);
    assert_int_equal(v.severity, 0);
    /* r2 never matches before r1; r3 neither */
    assert_int_equal(decide_addr(f->p, "198.51.100.200"), 100);
}

static void test_rule_fields(void **state)
{
    struct fx *f = *state;
    lw_policy_verdict v;
    struct dest t;

    must_parse(f, "rules:\n"
                  "  - name: r1\n"
                  "    cidrs: [198.51.100.0/25]\n"
                  "    severity: 4\n"
                  "  - name: r2\n"
                  "    cidrs: [198.51.100.0/24]\n"
                  "    threshold: 1000000\n"
                  "    severity: 2\n");
    dest_init(&t, "198.51.100.1");
    lw_policy_decide(f->p, &t.d, &v);
    assert_int_equal(v.rule, 0);
    assert_int_equal(v.threshold, 0);
    assert_int_equal(v.severity, 4);
    dest_init(&t, "198.51.100.129");
    lw_policy_decide(f->p, &t.d, &v);
    assert_int_equal(v.rule, 1);
    assert_int_equal(v.threshold, 1000000);
    assert_int_equal(v.severity, 2);
}

static void test_allow_beats_rule(void **state)
{
    struct fx *f = *state;

    must_parse(f, "rules:\n"
                  "  - name: paste\n"
                  "    domains: [pastebin.com]\n"
                  "    threshold: 5\n"
                  "allow:\n"
                  "  - name: paste\n" /* names are unique per list only */
                  "    cidrs: [203.0.113.0/24]\n");
    struct dest t;
    dest_init(&t, "203.0.113.5");
    dest_name(&t, "pastebin.com");
    assert_int_equal(decide(f->p, &t), 0);
    dest_init(&t, "192.0.2.5");
    dest_name(&t, "pastebin.com");
    assert_int_equal(decide(f->p, &t), 100);
}

static void test_decide_null(void **state)
{
    struct fx *f = *state;
    lw_policy_verdict v;

    must_parse(f, "allow:\n  - name: a\n    cidrs: [0.0.0.0/0]\n");
    lw_policy_decide(f->p, NULL, &v);
    assert_int_equal(v.allow, -1);
    assert_int_equal(v.rule, -1);
    lw_policy_decide(NULL, NULL, &v);
    assert_int_equal(v.allow, -1);
    assert_int_equal(lw_policy_detector_count(NULL), 0);
    lw_policy_free(NULL);
}

/* -------------------------------------------------------------- detectors */

static void test_detectors(void **state)
{
    struct fx *f = *state;
    const lw_detector *d;

    must_parse(f, "detectors:\n"
                  "  - name: pair\n"
                  "    key: pair\n"
                  "    sid: 9000001\n"
                  "  - name: source\n"
                  "    key: source\n"
                  "    window: 60\n"
                  "    threshold: 40\n"
                  "    sid: 9000002\n"
                  "  - name: slow-drip\n"
                  "    key: pair\n"
                  "    window: 1h\n"
                  "    threshold: 100\n"
                  "    sid: 4294967295\n"
                  "    exact_limit: 16\n");
    assert_int_equal(lw_policy_detector_count(f->p), 3);
    d = lw_policy_detector(f->p, 1);
    assert_string_equal(d->name, "source");
    assert_int_equal(d->key, LW_DETECTOR_SOURCE);
    assert_int_equal(d->window_s, 60);
    assert_int_equal(d->threshold, 40);
    assert_int_equal(d->sid, 9000002);
    assert_int_equal(d->exact_limit, f->cfg.burst.max_values);
    d = lw_policy_detector(f->p, 2);
    assert_string_equal(d->name, "slow-drip");
    assert_int_equal(d->window_s, 3600);
    assert_int_equal(d->threshold, 100);
    assert_int_equal(d->sid, 4294967295u);
    assert_int_equal(d->exact_limit, 16);
}

static void test_detector_durations(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        uint32_t s;
    } cases[] = {{"1", 1}, {"90s", 90}, {"5m", 300}, {"24h", 86400}, {"86400", 86400}};
    char text[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "detectors:\n  - {name: d, key: pair, sid: 1, window: %s}\n",
                 cases[i].v);
        must_parse(f, text);
        assert_int_equal(lw_policy_detector(f->p, 0)->window_s, cases[i].s);
    }
}

static void test_eight_detectors(void **state)
{
    struct fx *f = *state;
    char text[2048];
    size_t o = 0;

    o += (size_t)snprintf(text + o, sizeof(text) - o, "detectors:\n");
    for (int i = 0; i < LW_POLICY_MAX_DETECTORS; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "  - {name: d%d, key: pair, sid: %d}\n",
                              i, i + 1);
    must_parse(f, text);
    assert_int_equal(lw_policy_detector_count(f->p), LW_POLICY_MAX_DETECTORS);
    snprintf(text + o, sizeof(text) - o, "  - {name: d9, key: pair, sid: 99}\n");
    expect_error(f, text, "t.yaml:10: key 'detectors': more than 8 detectors");
}

/* ------------------------------------------------------------ domains_file */

static void test_domains_file_relative(void **state)
{
    struct fx *f = *state;
    char path[256], sub[256];

    make_dir(f);
    snprintf(sub, sizeof(sub), "%s/lists", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof(path), "%s/lists/sites.txt", f->dir);
    write_file(path, "# comment line\n"
                     "\n"
                     "  paste.example   # trailing comment\n"
                     "\t*.files.example\t\r\n"
                     "UPPER.example.\n"
                     "last.example");
    snprintf(path, sizeof(path), "%s/policy.yaml", f->dir);
    write_file(path, "rules:\n  - name: r\n    domains_file: lists/sites.txt\n    "
                     "domains: [inline.example]\n    threshold: 2\n");
    if (lw_policy_load(path, &f->cfg, &f->p, f->err, ERRLEN) != 0)
        fail_msg("%s", f->err);
    assert_int_equal(decide_name(f->p, "paste.example"), 100);
    assert_int_equal(decide_name(f->p, "a.files.example"), 100);
    assert_int_equal(decide_name(f->p, "files.example"), -1);
    assert_int_equal(decide_name(f->p, "upper.example"), 100);
    assert_int_equal(decide_name(f->p, "last.example"), 100);
    assert_int_equal(decide_name(f->p, "inline.example"), 100);
    assert_int_equal(decide_name(f->p, "comment"), -1);
    assert_int_equal(decide_name(f->p, "trailing"), -1);
}

static void test_domains_file_absolute(void **state)
{
    struct fx *f = *state;
    char path[256], text[512];

    make_dir(f);
    snprintf(path, sizeof(path), "%s/abs.txt", f->dir);
    write_file(path, "abs.example\n");
    snprintf(text, sizeof(text), "allow:\n  - name: a\n    domains_file: %s\n", path);
    must_parse(f, text);
    assert_int_equal(decide_name(f->p, "abs.example"), 0);
}

static void test_domains_file_errors(void **state)
{
    struct fx *f = *state;
    char path[256], text[512], want[768];

    make_dir(f);
    snprintf(path, sizeof(path), "%s/bad.txt", f->dir);
    write_file(path, "# ok\ngood.example\n*foo.com\n");
    snprintf(text, sizeof(text), "rules:\n  - name: r\n    domains_file: %s\n", path);
    snprintf(want, sizeof(want),
             "%s:3: rule 'r': '*foo.com' is not a domain pattern (name or *.name)", path);
    expect_error(f, text, want);

    snprintf(path, sizeof(path), "%s/missing.txt", f->dir);
    snprintf(text, sizeof(text), "rules:\n  - name: r\n    domains_file: %s\n", path);
    snprintf(want, sizeof(want),
             "t.yaml:3: rule 'r': key 'domains_file': '%s': cannot open: No such file or "
             "directory",
             path);
    expect_error(f, text, want);

    /* a directory is not a list */
    snprintf(text, sizeof(text), "rules:\n  - name: r\n    domains_file: %s\n", f->dir);
    snprintf(want, sizeof(want), "t.yaml:3: rule 'r': key 'domains_file': '%s': not a regular file",
             f->dir);
    expect_error(f, text, want);
}

static void test_domains_file_too_big(void **state)
{
    struct fx *f = *state;
    char path[256], text[512], want[768];
    FILE *fp;

    make_dir(f);
    snprintf(path, sizeof(path), "%s/big.txt", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    /* 8 MiB of comment plus one byte */
    for (int i = 0; i < 8 * 1024; i++) {
        char line[1024];
        memset(line, '#', sizeof(line) - 1);
        line[sizeof(line) - 1] = '\n';
        assert_int_equal(fwrite(line, 1, sizeof(line), fp), sizeof(line));
    }
    assert_int_equal(fputc('\n', fp), '\n');
    assert_int_equal(fclose(fp), 0);
    snprintf(text, sizeof(text), "rules:\n  - name: r\n    domains_file: %s\n", path);
    snprintf(want, sizeof(want),
             "t.yaml:3: rule 'r': key 'domains_file': '%s': larger than 8388608 bytes", path);
    expect_error(f, text, want);
}

/* 100,000 names load; one more is refused; lookups still work. */
static void test_hundred_thousand_domains(void **state)
{
    struct fx *f = *state;
    char path[256], text[512], name[64], want[768];
    FILE *fp;

    make_dir(f);
    snprintf(path, sizeof(path), "%s/many.txt", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 100000; i++)
        fprintf(fp, i % 2 ? "host%d.example.com\n" : "*.zone%d.example.net\n", i);
    assert_int_equal(fclose(fp), 0);
    snprintf(text, sizeof(text), "rules:\n  - name: many\n    domains_file: %s\n", path);
    must_parse(f, text);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "host%d.example.com", 2 * i + 1);
        assert_int_equal(decide_name(f->p, name), 100);
        snprintf(name, sizeof(name), "a.b.zone%d.example.net", 2 * i);
        assert_int_equal(decide_name(f->p, name), 100);
        snprintf(name, sizeof(name), "host%d.example.com", 2 * i);
        assert_int_equal(decide_name(f->p, name), -1);
        snprintf(name, sizeof(name), "zone%d.example.net", 2 * i);
        assert_int_equal(decide_name(f->p, name), -1);
    }
    /* duplicates do not count against the cap ... */
    fp = fopen(path, "a");
    assert_non_null(fp);
    fprintf(fp, "host1.example.com\nHOST3.example.com.\n");
    assert_int_equal(fclose(fp), 0);
    must_parse(f, text);
    /* ... a new name does */
    fp = fopen(path, "a");
    assert_non_null(fp);
    fprintf(fp, "one-more.example.com\n");
    assert_int_equal(fclose(fp), 0);
    snprintf(want, sizeof(want), "%s:100003: rule 'many': more than 100000 domains", path);
    expect_error(f, text, want);
}

/* ----------------------------------------------------------------- errors */

static void test_error_unknown_keys(void **state)
{
    struct fx *f = *state;

    expect_error(f, "allow: []\nallowed: []\n", "t.yaml:2: unknown key 'allowed'");
    expect_error(f, "allow:\n  - name: crm\n    cidr: [10.0.0.0/8]\n",
                 "t.yaml:3: allow 'crm': unknown key 'cidr'");
    expect_error(f, "rules:\n  - domains: [a.example]\n    nme: x\n",
                 "t.yaml:3: rule #1: unknown key 'nme'");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 1, windw: 5}\n",
                 "t.yaml:2: detector 'd': unknown key 'windw'");
    expect_error(f, "allow:\n  - name: a\n    cidrs: [10.0.0.0/8]\n    threshold: 5\n",
                 "t.yaml:4: allow 'a': key 'threshold': allow entries never alert; it belongs "
                 "to a rule");
    expect_error(f, "allow:\n  - name: a\n    cidrs: [10.0.0.0/8]\n    cidrs: [10.0.0.0/8]\n",
                 "t.yaml:4: allow 'a': duplicate key 'cidrs' (first at line 3)");
    expect_error(f, "rules: []\nrules: []\n", "t.yaml:2: duplicate key 'rules' (first at line 1)");
}

static void test_error_shapes(void **state)
{
    struct fx *f = *state;

    expect_error(f, "- a\n",
                 "t.yaml:1: expected a mapping of allow, rules and detectors, got a list");
    expect_error(f, "allow: x\n", "t.yaml:1: key 'allow': expected a list, got a scalar");
    expect_error(f, "allow:\n  - x\n", "t.yaml:2: allow #1: expected a mapping, got a scalar");
    expect_error(f, "allow:\n  - name: a\n    cidrs: 10.0.0.0/8\n",
                 "t.yaml:3: allow 'a': key 'cidrs': expected a list, got a scalar");
    expect_error(f, "allow:\n  - name: a\n    domains: [[a.example]]\n",
                 "t.yaml:3: allow 'a': key 'domains': expected a single value, got a list");
    expect_error(f, "allow:\n  - name: a\n",
                 "t.yaml:2: allow 'a': no cidrs, asns, countries, "
                 "domains or domains_file");
    expect_error(f, "allow:\n  - cidrs: [10.0.0.0/8]\n",
                 "t.yaml:2: allow #1: key 'name' is missing");
    expect_error(f, "allow:\n  - name: Bad Name\n    cidrs: [10.0.0.0/8]\n",
                 "t.yaml:2: allow #1: key 'name': 'Bad Name' is not [a-z0-9_-]{1,47}");
    expect_error(f,
                 "allow:\n  - name: a123456789012345678901234567890123456789012345678\n"
                 "    cidrs: [10.0.0.0/8]\n",
                 "t.yaml:2: allow #1: key 'name': "
                 "'a123456789012345678901234567890123456789012345678' is not [a-z0-9_-]{1,47}");
    expect_error(f, "detectors: []\n",
                 "t.yaml:1: key 'detectors': the list is empty (leave the key out for the "
                 "default detector)");
    expect_error(f, "detectors:\n  - {name: d, sid: 1}\n",
                 "t.yaml:2: detector 'd': key 'key' is missing (pair or source)");
    expect_error(f, "detectors:\n  - {name: d, key: pair}\n",
                 "t.yaml:2: detector 'd': key 'sid' is missing");
}

static void test_error_bad_cidr(void **state)
{
    struct fx *f = *state;

    expect_error(f, "allow:\n  - name: a\n    cidrs:\n      - 10.0.0.0/8\n      - 10.0.0.0/33\n",
                 "t.yaml:5: allow 'a': key 'cidrs': '10.0.0.0/33' is not a CIDR (a.b.c.d/len or "
                 "v6/len)");
    expect_error(f, "allow:\n  - name: a\n    cidrs: [10.1.2.3/8]\n",
                 "t.yaml:3: allow 'a': key 'cidrs': '10.1.2.3/8' has host bits set (did you mean "
                 "10.0.0.0/8?)");
    expect_error(f, "allow:\n  - name: a\n    cidrs: [example.com]\n",
                 "t.yaml:3: allow 'a': key 'cidrs': 'example.com' is not a CIDR (a.b.c.d/len or "
                 "v6/len)");
}

static void test_error_asn(void **state)
{
    struct fx *f = *state;

    expect_error(f, "allow:\n  - name: a\n    asns: [0]\n",
                 "t.yaml:3: allow 'a': key 'asns': '0' is out of range 1..4294967295");
    expect_error(f, "allow:\n  - name: a\n    asns: [4294967296]\n",
                 "t.yaml:3: allow 'a': key 'asns': '4294967296' is out of range 1..4294967295");
    expect_error(f, "allow:\n  - name: a\n    asns: [-1]\n",
                 "t.yaml:3: allow 'a': key 'asns': '-1' is not an integer");
}

static void test_error_country(void **state)
{
    struct fx *f = *state;

    expect_error(f, "allow:\n  - name: a\n    countries: [DE, DEU]\n",
                 "t.yaml:3: allow 'a': key 'countries': 'DEU' is not an ISO 3166-1 alpha-2 code "
                 "(two letters)");
    expect_error(f, "allow:\n  - name: a\n    countries: [\"D1\"]\n",
                 "t.yaml:3: allow 'a': key 'countries': 'D1' is not an ISO 3166-1 alpha-2 code "
                 "(two letters)");
}

static void test_error_domain_patterns(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"*foo.com", "a..b", "*.",  "*",       ".a.com",
                                      "a.*.com",  "a b",  "a/b", "**.a.com"};
    char text[256], want[384];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "rules:\n  - name: r\n    domains: [ok.example, \"%s\"]\n",
                 bad[i]);
        snprintf(want, sizeof(want),
                 "t.yaml:3: rule 'r': key 'domains': '%s' is not a domain pattern (name or "
                 "*.name)",
                 bad[i]);
        expect_error(f, text, want);
    }
}

static void test_error_duplicate_names(void **state)
{
    struct fx *f = *state;

    expect_error(f, "allow:\n  - name: a\n    cidrs: [10.0.0.0/8]\n  - name: a\n    asns: [1]\n",
                 "t.yaml:4: allow #2: key 'name': 'a' is used twice");
    expect_error(f,
                 "rules:\n  - name: r\n    asns: [1]\n  - name: q\n    asns: [2]\n"
                 "  - name: r\n    asns: [3]\n",
                 "t.yaml:6: rule #3: key 'name': 'r' is used twice");
    expect_error(f,
                 "detectors:\n  - {name: d, key: pair, sid: 1}\n  - {name: d, key: source, sid: "
                 "2}\n",
                 "t.yaml:3: detector #2: key 'name': 'd' is used twice");
}

static void test_error_duplicate_sid(void **state)
{
    struct fx *f = *state;

    expect_error(f,
                 "detectors:\n  - {name: a, key: pair, sid: 7}\n  - name: b\n    key: source\n"
                 "    sid: 7\n",
                 "t.yaml:5: detector 'b': key 'sid': 7 is used twice (detector 'a')");
}

static void test_error_detector_values(void **state)
{
    struct fx *f = *state;

    expect_error(f, "detectors:\n  - {name: d, key: bogus, sid: 1}\n",
                 "t.yaml:2: detector 'd': key 'key': 'bogus' is not pair or source");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 1, window: 0}\n",
                 "t.yaml:2: detector 'd': key 'window': '0' is out of range 1..86400 seconds");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 1, window: 25h}\n",
                 "t.yaml:2: detector 'd': key 'window': '25h' is out of range 1..86400 seconds");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 1, window: 5d}\n",
                 "t.yaml:2: detector 'd': key 'window': '5d' is not a duration (60, 90s, 5m, 1h)");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 1, threshold: 0}\n",
                 "t.yaml:2: detector 'd': key 'threshold': '0' is out of range 1..1000000");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 0}\n",
                 "t.yaml:2: detector 'd': key 'sid': '0' is out of range 1..4294967295");
    expect_error(f, "detectors:\n  - {name: d, key: pair, sid: 1, exact_limit: 15}\n",
                 "t.yaml:2: detector 'd': key 'exact_limit': '15' is out of range 16..16777216");
}

static void test_error_rule_values(void **state)
{
    struct fx *f = *state;

    expect_error(f, "rules:\n  - name: r\n    asns: [1]\n    threshold: 0\n",
                 "t.yaml:4: rule 'r': key 'threshold': '0' is out of range 1..1000000");
    expect_error(f, "rules:\n  - name: r\n    asns: [1]\n    threshold: 1000001\n",
                 "t.yaml:4: rule 'r': key 'threshold': '1000001' is out of range 1..1000000");
    expect_error(f, "rules:\n  - name: r\n    asns: [1]\n    severity: 5\n",
                 "t.yaml:4: rule 'r': key 'severity': '5' is out of range 1..4");
    expect_error(f, "rules:\n  - name: r\n    asns: [1]\n    severity: high\n",
                 "t.yaml:4: rule 'r': key 'severity': 'high' is not an integer");
    expect_error(f, "rules:\n  - name: r\n    asns: [1]\n    severity:\n",
                 "t.yaml:4: rule 'r': key 'severity': expected a single value, got nothing");
}

static void test_error_missing_file(void **state)
{
    struct fx *f = *state;

    assert_int_equal(lw_policy_load("/nonexistent/policy.yaml", &f->cfg, &f->p, f->err, ERRLEN),
                     LW_ERR_IO);
    assert_null(f->p);
    assert_non_null(strstr(f->err, "/nonexistent/policy.yaml: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_is_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cidr_v4_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cidr_v6_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cidr_zero_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_country, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exact_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wildcard_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wildcard_and_exact_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_name_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_and_trailing_dot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_host_names_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_underscore_and_digits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_criteria_are_ored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_match_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_beats_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detector_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eight_detectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains_file_relative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains_file_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains_file_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hundred_thousand_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bad_cidr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_asn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_country, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_domain_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_duplicate_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_duplicate_sid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_detector_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_rule_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_missing_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
