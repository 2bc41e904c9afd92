/*
 * test_config.c - defaults, CIDRs, the YAML loader and --set.
 *
 * Every error path has a test that checks both the return value and the
 * message (file, line, key, value), and every test that loads something
 * also checks that a failed load left the config untouched. The shipped
 * etc/leakwatch.yaml is loaded (LW_SOURCE_DIR) and compared with the
 * built-in defaults, so the documented file and the code cannot drift.
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
#include <unistd.h>

#include "leakwatch/config.h"

#define ERRLEN 512

struct fx {
    lw_config c;
    lw_config before;
    char err[ERRLEN];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    lw_config_defaults(&f->c);
    f->before = f->c;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Parses text as "t.yaml"; returns the result code. */
static int parse(struct fx *f, const char *text)
{
    f->before = f->c;
    f->err[0] = '\0';
    return lw_config_parse(&f->c, "t.yaml", text, strlen(text), f->err, sizeof(f->err));
}

/* Expects a parse error with exactly this message and an unchanged config. */
static void expect_error(struct fx *f, const char *text, const char *msg)
{
    assert_int_not_equal(parse(f, text), 0);
    assert_string_equal(f->err, msg);
    assert_memory_equal(&f->c, &f->before, sizeof(lw_config));
}

static void expect_error_prefix(struct fx *f, const char *text, const char *prefix)
{
    assert_int_not_equal(parse(f, text), 0);
    if (strncmp(f->err, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", f->err, prefix);
    assert_memory_equal(&f->c, &f->before, sizeof(lw_config));
}

static lw_addr addr(const char *s)
{
    lw_addr a;
    memset(&a, 0, sizeof(a));
    if (strchr(s, ':') != NULL) {
        a.family = 6;
        assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
    } else {
        a.family = 4;
        assert_int_equal(inet_pton(AF_INET, s, a.b), 1);
    }
    return a;
}

/* ------------------------------------------------------------- defaults */

static void test_defaults_values(void **state)
{
    struct fx *f = *state;
    lw_cidr n;

    assert_int_equal(f->c.home_net_count, 5);
    assert_int_equal(lw_cidr_parse("10.0.0.0/8", &n), 0);
    assert_memory_equal(&f->c.home_net[0], &n, sizeof(n));
    assert_int_equal(lw_cidr_parse("fc00::/7", &n), 0);
    assert_memory_equal(&f->c.home_net[4], &n, sizeof(n));
    assert_string_equal(f->c.signatures, "signatures/pii.yaml");
    assert_int_equal(f->c.burst.window_s, 60);
    assert_int_equal(f->c.burst.threshold, 20);
    assert_int_equal(f->c.burst.max_pairs, 65536);
    assert_int_equal(f->c.burst.max_values, 4096);
    assert_int_equal(f->c.burst.samples, 5);
    assert_int_equal(f->c.flow.max_flows, 262144);
    assert_int_equal(f->c.flow.idle_timeout_s, 120);
    assert_int_equal(f->c.flow.closed_timeout_s, 10);
    assert_true(f->c.flow.memcap == 1ull << 30);
    assert_true(f->c.stream.depth == 0);
    assert_int_equal(f->c.stats.interval_s, 0);
    assert_int_equal(lw_config_check(&f->c, f->err, sizeof(f->err)), 0);
}

/* Each default string in the table parses as a --set value to the default. */
static void test_boolean_keys(void **state)
{
    struct fx *f = *state;
    assert_true(f->c.stream.reassembly);
    assert_true(f->c.stream.overlap_event);
    assert_int_equal(lw_config_set(&f->c, "stream.overlap_event=no", f->err, ERRLEN), 0);
    assert_false(f->c.stream.overlap_event);
    assert_int_equal(lw_config_set(&f->c, "stream.overlap_event=On", f->err, ERRLEN), 0);
    assert_true(f->c.stream.overlap_event);
    assert_int_equal(lw_config_set(&f->c, "stream.reassembly=false", f->err, ERRLEN), 0);
    assert_false(f->c.stream.reassembly);
    assert_int_not_equal(lw_config_set(&f->c, "stream.reassembly=maybe", f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "stream.reassembly"));
    assert_non_null(strstr(f->err, "yes or no"));
    assert_false(f->c.stream.reassembly); /* unchanged by the failed --set */
}

/* String lists: YAML lists, one comma-separated string, --set; bounds. */
static void test_string_lists(void **state)
{
    struct fx *f = *state;
    assert_int_equal(f->c.outputs.count, 1);
    assert_string_equal(f->c.outputs.item[0], "stdout");
    assert_int_equal(f->c.capture.interfaces.count, 0);
    assert_int_equal(parse(f, "outputs:\n  - file:/var/log/eve.json\n  - syslog:local5\n"), 0);
    assert_int_equal(f->c.outputs.count, 2);
    assert_string_equal(f->c.outputs.item[0], "file:/var/log/eve.json");
    assert_string_equal(f->c.outputs.item[1], "syslog:local5");
    assert_int_equal(lw_config_set(&f->c, "capture.interfaces=eth1, eth2", f->err, ERRLEN), 0);
    assert_int_equal(f->c.capture.interfaces.count, 2);
    assert_string_equal(f->c.capture.interfaces.item[1], "eth2");
    assert_int_equal(lw_config_set(&f->c, "capture.interfaces=", f->err, ERRLEN), 0);
    assert_int_equal(f->c.capture.interfaces.count, 0);
    /* outputs may not be empty: nothing would be reported */
    assert_int_not_equal(lw_config_set(&f->c, "outputs=", f->err, ERRLEN), 0);
    assert_int_not_equal(parse(f, "outputs: []\n"), 0);
    assert_non_null(strstr(f->err, "the list is empty"));
    assert_int_not_equal(lw_config_set(&f->c, "outputs=stdout,,stdout", f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "empty item"));
    assert_int_not_equal(
        lw_config_set(&f->c, "outputs=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "more than 16 items"));
    assert_int_not_equal(parse(f, "outputs:\n  - {a: 1}\n"), 0);
    assert_non_null(strstr(f->err, "expected a string"));
    assert_int_equal(f->c.outputs.count, 2); /* unchanged by the failures */
}

/* Plain strings are not paths: a BPF filter is kept as written. */
static void test_string_keys(void **state)
{
    struct fx *f = *state;
    assert_int_equal(parse(f, "capture:\n  bpf: not port 22\nrun:\n  user: nobody\n"), 0);
    assert_string_equal(f->c.capture.bpf, "not port 22");
    assert_string_equal(f->c.run.user, "nobody");
    assert_int_equal(lw_config_set(&f->c, "run.user=", f->err, ERRLEN), 0);
    assert_string_equal(f->c.run.user, "");
    assert_int_not_equal(lw_config_set(&f->c, "capture.bpf=a\tb", f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "control character"));
    assert_int_equal(parse(f, "run:\n  pidfile: run/lw.pid\n"), 0);
    assert_string_equal(f->c.run.pidfile, "run/lw.pid"); /* "t.yaml" has no directory */
}

/* match.cache_dir: empty by default; a path, so relative to the config
 * file's directory in YAML and kept as given by --set. */
static void test_match_cache_dir(void **state)
{
    struct fx *f = *state;
    const char *y = "match:\n  cache_dir: cache\n";

    assert_string_equal(f->c.match.cache_dir, "");
    assert_int_equal(lw_config_parse(&f->c, "/etc/lw/lw.yaml", y, strlen(y), f->err, ERRLEN), 0);
    assert_string_equal(f->c.match.cache_dir, "/etc/lw/cache");
    assert_int_equal(lw_config_set(&f->c, "match.cache_dir=/var/cache/leakwatch", f->err, ERRLEN),
                     0);
    assert_string_equal(f->c.match.cache_dir, "/var/cache/leakwatch");
    assert_int_equal(lw_config_set(&f->c, "match.cache_dir=", f->err, ERRLEN), 0);
    assert_string_equal(f->c.match.cache_dir, "");
    /* a list is the wrong shape, and the key has no siblings */
    expect_error_prefix(f, "match:\n  cache_dir: [a, b]\n", "t.yaml:2:");
    expect_error_prefix(f, "match:\n  cache: x\n", "t.yaml:2:");
    char set[4200] = "match.cache_dir=";
    memset(set + strlen(set), 'd', 4096); /* longer than the field holds */
    set[sizeof(set) - 1] = '\0';
    assert_int_not_equal(lw_config_set(&f->c, set, f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "match.cache_dir"));
    assert_string_equal(f->c.match.cache_dir, "");
}

static void test_stream_and_defrag_caps(void **state)
{
    struct fx *f = *state;
    assert_int_equal(f->c.stream.memcap, 64ull << 20);
    assert_int_equal(f->c.defrag.timeout_s, 30);
    assert_int_equal(lw_config_set(&f->c, "stream.max_buffer=256kb", f->err, ERRLEN), 0);
    assert_int_equal(f->c.stream.max_buffer, 256u << 10);
    assert_int_not_equal(lw_config_set(&f->c, "stream.max_buffer=2gb", f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "out of range"));
    assert_int_not_equal(lw_config_set(&f->c, "defrag.max_fragments=1", f->err, ERRLEN), 0);
    assert_int_equal(lw_config_set(&f->c, "defrag.timeout=2m", f->err, ERRLEN), 0);
    assert_int_equal(f->c.defrag.timeout_s, 120);
    assert_int_equal(lw_config_set(&f->c, "flow.memcap=64mb", f->err, ERRLEN), 0);
    assert_true(f->c.flow.memcap == 64ull << 20);
    assert_int_not_equal(lw_config_set(&f->c, "flow.memcap=512kb", f->err, ERRLEN), 0);
    assert_non_null(strstr(f->err, "out of range"));
    assert_true(f->c.flow.memcap == 64ull << 20);
}

static void test_defaults_parse(void **state)
{
    struct fx *f = *state;
    const lw_config_key_info *k;
    char a[512];
    size_t i;

    for (i = 0; (k = lw_config_key_at(i)) != NULL; i++) {
        lw_config c;
        memset(&c, 0, sizeof(c));
        snprintf(a, sizeof(a), "%s=%s", k->key, k->def);
        if (lw_config_set(&c, a, f->err, sizeof(f->err)) != 0)
            fail_msg("default of %s does not parse: %s", k->key, f->err);
        assert_non_null(k->doc);
        assert_non_null(k->type);
    }
    assert_int_equal(i, 48);
}

static void test_key_table_unique(void **state)
{
    const lw_config_key_info *a, *b;
    size_t i, j;

    (void)state;
    for (i = 0; (a = lw_config_key_at(i)) != NULL; i++)
        for (j = i + 1; (b = lw_config_key_at(j)) != NULL; j++)
            assert_string_not_equal(a->key, b->key);
    assert_null(lw_config_key_at(1000));
}

/* ---------------------------------------------------------------- CIDRs */

static void test_cidr_v4(void **state)
{
    lw_cidr n;

    (void)state;
    assert_int_equal(lw_cidr_parse("192.168.0.0/16", &n), 0);
    assert_int_equal(n.net.family, 4);
    assert_int_equal(n.prefix_len, 16);
    assert_int_equal(n.net.b[0], 192);
    assert_int_equal(n.net.b[1], 168);
    assert_int_equal(n.net.b[4], 0);
    assert_int_equal(lw_cidr_parse("0.0.0.0/0", &n), 0);
    assert_int_equal(n.prefix_len, 0);
    assert_int_equal(lw_cidr_parse("10.1.2.3/32", &n), 0);
    assert_int_equal(n.prefix_len, 32);
}

static void test_cidr_bare_host(void **state)
{
    lw_cidr n;

    (void)state;
    assert_int_equal(lw_cidr_parse("10.1.2.3", &n), 0);
    assert_int_equal(n.prefix_len, 32);
    assert_int_equal(n.net.b[3], 3);
    assert_int_equal(lw_cidr_parse("2001:db8::1", &n), 0);
    assert_int_equal(n.net.family, 6);
    assert_int_equal(n.prefix_len, 128);
    assert_int_equal(n.net.b[15], 1);
}

static void test_cidr_v6(void **state)
{
    lw_cidr n;

    (void)state;
    assert_int_equal(lw_cidr_parse("fc00::/7", &n), 0);
    assert_int_equal(n.net.family, 6);
    assert_int_equal(n.prefix_len, 7);
    assert_int_equal(n.net.b[0], 0xfc);
    assert_int_equal(lw_cidr_parse("::/0", &n), 0);
    assert_int_equal(lw_cidr_parse("2001:db8::/32", &n), 0);
    assert_int_equal(n.net.b[1], 0x01);
    assert_int_equal(lw_cidr_parse("::ffff:10.0.0.0/104", &n), 0);
    assert_int_equal(n.net.family, 6);
}

static void test_cidr_host_bits(void **state)
{
    lw_cidr n;

    (void)state;
    assert_int_equal(lw_cidr_parse("10.1.0.0/8", &n), LW_ERR_INVAL);
    assert_int_equal(n.net.b[0], 10);
    assert_int_equal(n.net.b[1], 0);
    assert_int_equal(lw_cidr_parse("172.31.0.0/12", &n), LW_ERR_INVAL);
    assert_int_equal(n.net.b[1], 16);
    assert_int_equal(lw_cidr_parse("fd00::/7", &n), LW_ERR_INVAL);
    assert_int_equal(n.net.b[0], 0xfc);
    assert_int_equal(lw_cidr_parse("2001:db8::1/127", &n), LW_ERR_INVAL);
    assert_int_equal(n.net.b[15], 0);
}

static void test_cidr_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/33",
        "10.0.0.0/8x",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0/8",
        "10.0.0.256",
        "::/129",
        "fe80::1%eth0",
        " 10.0.0.0/8",
        "10.0.0.0/8 ",
        "10.0.0.0/0008",
        "hello",
        "10.0.0.0//8",
        "1::2::3",
        "010.0.0.0/8",
    };
    lw_cidr n;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lw_cidr_parse(bad[i], &n) != LW_ERR_PARSE)
            fail_msg("'%s' was accepted", bad[i]);
}

static void test_is_home_defaults(void **state)
{
    struct fx *f = *state;
    lw_addr a;

    a = addr("10.255.255.255");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("11.0.0.0");
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("172.31.255.255"); /* last of 172.16.0.0/12 */
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("172.32.0.0"); /* first after it */
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("172.15.255.255");
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("100.127.0.1"); /* 100.64.0.0/10 */
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("100.128.0.1");
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("fdff::1"); /* fc00::/7 covers fc and fd */
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("fe00::1");
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("8.8.8.8");
    assert_false(lw_config_is_home(&f->c, &a));
}

static void test_is_home_family_and_edges(void **state)
{
    struct fx *f = *state;
    lw_addr a;

    assert_int_equal(lw_config_set(&f->c, "home_net=0.0.0.0/0,2001:db8::1", f->err, ERRLEN), 0);
    a = addr("203.0.113.9");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("2001:db8::1");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("2001:db8::2");
    assert_false(lw_config_is_home(&f->c, &a));
    /* An IPv4 address never matches an IPv6 prefix of the same bytes. */
    assert_int_equal(lw_config_set(&f->c, "home_net=::/0", f->err, ERRLEN), 0);
    a = addr("10.0.0.1");
    assert_false(lw_config_is_home(&f->c, &a));
    memset(&a, 0, sizeof(a)); /* family unset */
    assert_false(lw_config_is_home(&f->c, &a));
}

static void test_is_home_odd_prefix(void **state)
{
    struct fx *f = *state;
    lw_addr a;

    assert_int_equal(
        lw_config_set(&f->c, "home_net=192.0.2.64/26,2001:db8:8000::/33", f->err, ERRLEN), 0);
    a = addr("192.0.2.64");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("192.0.2.127");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("192.0.2.128");
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("192.0.2.63");
    assert_false(lw_config_is_home(&f->c, &a));
    a = addr("2001:db8:ffff::1");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("2001:db8:7fff::1");
    assert_false(lw_config_is_home(&f->c, &a));
}

/* --------------------------------------------------------- YAML: valid */

static void test_parse_empty(void **state)
{
    struct fx *f = *state;

    assert_int_equal(parse(f, ""), 0);
    assert_memory_equal(&f->c, &f->before, sizeof(lw_config));
    assert_int_equal(parse(f, "# only a comment\n\n   # another\n"), 0);
    assert_memory_equal(&f->c, &f->before, sizeof(lw_config));
    assert_int_equal(parse(f, "---\n...\n"), 0);
    assert_memory_equal(&f->c, &f->before, sizeof(lw_config));
}

static void test_parse_full(void **state)
{
    struct fx *f = *state;
    lw_addr a;
    const char *y = "home_net:\n"
                    "  - 192.0.2.0/24\n"
                    "  - 2001:db8::/32\n"
                    "signatures: /etc/lw/sigs.yaml\n"
                    "burst:\n"
                    "  window: 5m\n"
                    "  threshold: 7\n"
                    "  max_pairs: 10\n"
                    "  max_values: 7\n"
                    "  samples: 0\n"
                    "flow: {max_flows: 1000, idle_timeout: 1h, closed_timeout: 0}\n"
                    "stream:\n"
                    "  depth: 1mb\n"
                    "stats:\n"
                    "  interval: 30s\n";

    assert_int_equal(parse(f, y), 0);
    assert_int_equal(f->c.home_net_count, 2);
    a = addr("192.0.2.200");
    assert_true(lw_config_is_home(&f->c, &a));
    a = addr("10.0.0.1");
    assert_false(lw_config_is_home(&f->c, &a));
    assert_string_equal(f->c.signatures, "/etc/lw/sigs.yaml");
    assert_int_equal(f->c.burst.window_s, 300);
    assert_int_equal(f->c.burst.threshold, 7);
    assert_int_equal(f->c.burst.max_pairs, 10);
    assert_int_equal(f->c.burst.max_values, 7);
    assert_int_equal(f->c.burst.samples, 0);
    assert_int_equal(f->c.flow.max_flows, 1000);
    assert_int_equal(f->c.flow.idle_timeout_s, 3600);
    assert_int_equal(f->c.flow.closed_timeout_s, 0);
    assert_true(f->c.stream.depth == 1048576);
    assert_int_equal(f->c.stats.interval_s, 30);
}

static void test_parse_partial_keeps_others(void **state)
{
    struct fx *f = *state;

    assert_int_equal(parse(f, "burst:\n  threshold: 3\n"), 0);
    assert_int_equal(f->c.burst.threshold, 3);
    assert_int_equal(f->c.burst.window_s, 60);
    assert_int_equal(f->c.home_net_count, 5);
    /* A section whose keys are all commented out is empty, not an error. */
    assert_int_equal(parse(f, "burst:\n  # window: 5\nflow:\n"), 0);
    assert_int_equal(f->c.burst.threshold, 3);
}

static void test_parse_home_net_string(void **state)
{
    struct fx *f = *state;

    assert_int_equal(parse(f, "home_net: \"10.0.0.0/8, fd00::/8\"\n"), 0);
    assert_int_equal(f->c.home_net_count, 2);
    assert_int_equal(f->c.home_net[1].net.family, 6);
    assert_int_equal(parse(f, "home_net: [192.0.2.0/24]\n"), 0);
    assert_int_equal(f->c.home_net_count, 1);
}

static void test_parse_quoted_number(void **state)
{
    struct fx *f = *state;

    assert_int_equal(parse(f, "burst: {window: '90', threshold: \"4\"}\n"), 0);
    assert_int_equal(f->c.burst.window_s, 90);
    assert_int_equal(f->c.burst.threshold, 4);
}

static void test_parse_sizes(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        uint64_t want;
    } t[] = {
        {"0", 0},          {"512", 512},        {"4kb", 4096},          {"4KB", 4096}, {"4k", 4096},
        {"2mb", 2u << 20}, {"3gb", 3ull << 30}, {"1024gb", 1ull << 40}, {"100b", 100},
    };
    char a[64];
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(a, sizeof(a), "stream.depth=%s", t[i].v);
        assert_int_equal(lw_config_set(&f->c, a, f->err, ERRLEN), 0);
        assert_true(f->c.stream.depth == t[i].want);
    }
}

static void test_parse_durations(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *v;
        uint32_t want;
    } t[] = {{"1", 1}, {"45s", 45}, {"2m", 120}, {"24h", 86400}, {"86400", 86400}};
    char a[64];
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(a, sizeof(a), "burst.window=%s", t[i].v);
        assert_int_equal(lw_config_set(&f->c, a, f->err, ERRLEN), 0);
        assert_int_equal(f->c.burst.window_s, t[i].want);
    }
}

/* ------------------------------------------------------ YAML: errors */

static void test_err_not_a_duration(void **state)
{
    expect_error(*state, "burst:\n  threshold: 5\n  window: abc\n",
                 "t.yaml:3: key 'burst.window': value 'abc' is not a duration");
}

static void test_err_bad_duration_forms(void **state)
{
    static const char *const bad[] = {
        "-5", "5d", "5 s", "1.5m", "s", "5ms", "0x10", "5S", "99999999999999999999"};
    struct fx *f = *state;
    char y[128], want[160];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(y, sizeof(y), "flow:\n  idle_timeout: '%s'\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.yaml:2: key 'flow.idle_timeout': value '%s' is not a duration", bad[i]);
        expect_error(f, y, want);
    }
}

static void test_err_not_an_integer(void **state)
{
    expect_error(*state, "burst:\n  threshold: 1e3\n",
                 "t.yaml:2: key 'burst.threshold': value '1e3' is not an integer");
    expect_error(*state, "burst:\n  samples: 5s\n",
                 "t.yaml:2: key 'burst.samples': value '5s' is not an integer");
}

static void test_err_not_a_size(void **state)
{
    expect_error(*state, "stream:\n  depth: 5tb\n",
                 "t.yaml:2: key 'stream.depth': value '5tb' is not a size");
}

static void test_err_out_of_range(void **state)
{
    expect_error(*state, "burst:\n  window: 0\n",
                 "t.yaml:2: key 'burst.window': value '0' is out of range (1..86400)");
    expect_error(*state, "burst:\n  window: 25h\n",
                 "t.yaml:2: key 'burst.window': value '25h' is out of range (1..86400)");
    expect_error(*state, "burst:\n  samples: 17\n",
                 "t.yaml:2: key 'burst.samples': value '17' is out of range (0..16)");
    expect_error(*state, "flow:\n  closed_timeout: 3601\n",
                 "t.yaml:2: key 'flow.closed_timeout': value '3601' is out of range (0..3600)");
    expect_error(*state, "burst:\n  max_pairs: 4294967296\n",
                 "t.yaml:2: key 'burst.max_pairs': value '4294967296' is out of range "
                 "(1..16777216)");
    expect_error(*state, "stream:\n  depth: 9999999999gb\n",
                 "t.yaml:2: key 'stream.depth': value '9999999999gb' is out of range "
                 "(0..1099511627776)");
}

static void test_err_unknown_key(void **state)
{
    expect_error(*state, "burst:\n  window: 5\n\nbogus: 1\n", "t.yaml:4: unknown key 'bogus'");
    expect_error(*state, "flow:\n  idle: 5\n", "t.yaml:2: unknown key 'flow.idle'");
    /* A section name is not a key of another section. */
    expect_error(*state, "burst:\n  flow: {}\n", "t.yaml:2: unknown key 'burst.flow'");
}

static void test_err_dotted_key_in_yaml(void **state)
{
    expect_error(*state, "burst.window: 5\n",
                 "t.yaml:1: key 'burst.window': in YAML write it nested (section: {key: value})");
}

static void test_err_wrong_shape(void **state)
{
    expect_error(*state, "burst:\n  window: [1, 2]\n",
                 "t.yaml:2: key 'burst.window': expected a single value, got a list");
    expect_error(*state, "home_net:\n  a: 10.0.0.0/8\n",
                 "t.yaml:2: key 'home_net': expected a list of CIDRs, got a mapping");
    expect_error(*state, "burst: 5\n", "t.yaml:1: key 'burst': expected a mapping, got a scalar");
    expect_error(*state, "burst:\n  window:\n",
                 "t.yaml:2: key 'burst.window': expected a single value, got nothing");
    expect_error(*state, "home_net:\n  - [10.0.0.0/8]\n",
                 "t.yaml:2: key 'home_net': expected a CIDR, got a list");
    expect_error(*state, "- a\n- b\n",
                 "t.yaml:1: expected a mapping of keys at the top level, got a list");
    expect_error(*state, "just text\n",
                 "t.yaml:1: expected a mapping of keys at the top level, got a scalar");
}

static void test_err_duplicate_key(void **state)
{
    expect_error(*state, "burst:\n  window: 5\n  window: 6\n",
                 "t.yaml:3: duplicate key 'burst.window' (first at line 2)");
    expect_error(*state, "burst: {window: 5}\nflow: {}\nburst: {threshold: 4}\n",
                 "t.yaml:3: duplicate key 'burst' (first at line 1)");
}

static void test_err_alias_anchor(void **state)
{
    expect_error_prefix(*state, "a: &x [1, 2]\nb: *x\n",
                        "t.yaml:1: YAML anchors are not supported");
    expect_error_prefix(*state, "burst:\n  window: *x\n",
                        "t.yaml:2: YAML aliases are not supported");
}

static void test_err_billion_laughs(void **state)
{
    const char *y = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
    expect_error_prefix(*state, y, "t.yaml:1: YAML anchors are not supported");
}

static void test_err_tag(void **state)
{
    expect_error(*state, "burst:\n  window: !!int 5\n", "t.yaml:2: YAML tags are not supported");
}

static void test_err_deep_nesting(void **state)
{
    char y[256];
    size_t i, n = 0;

    for (i = 0; i < 40; i++)
        y[n++] = '[';
    for (i = 0; i < 40; i++)
        y[n++] = ']';
    y[n] = '\0';
    expect_error(*state, y, "t.yaml:1: YAML nested deeper than 16 levels");
}

static void test_err_two_documents(void **state)
{
    expect_error(*state, "burst: {window: 5}\n---\nburst: {window: 6}\n",
                 "t.yaml:2: more than one YAML document");
}

static void test_err_syntax(void **state)
{
    expect_error_prefix(*state, "burst:\n  window: 5\n   threshold: [\n", "t.yaml:");
    expect_error_prefix(*state, "burst: {window: 5\n", "t.yaml:");
    assert_non_null(strstr(((struct fx *)*state)->err, "YAML syntax error"));
}

static void test_err_nul_in_value(void **state)
{
    expect_error(*state, "signatures: \"a\\0b\"\n", "t.yaml:1: a value contains a NUL byte");
}

static void test_err_complex_key(void **state)
{
    expect_error(*state, "? [a, b]\n: 1\n", "t.yaml:1: a mapping key must be a plain string");
}

static void test_err_host_bits(void **state)
{
    expect_error(*state, "home_net:\n  - 10.0.0.0/8\n  - 10.1.2.0/8\n",
                 "t.yaml:3: key 'home_net': '10.1.2.0/8' has host bits set (did you mean "
                 "10.0.0.0/8?)");
    expect_error(*state, "home_net: [fd00::/7]\n",
                 "t.yaml:1: key 'home_net': 'fd00::/7' has host bits set (did you mean fc00::/7?)");
}

static void test_err_bad_cidr(void **state)
{
    expect_error(*state, "home_net:\n  - 10.0.0.0/33\n",
                 "t.yaml:2: key 'home_net': value '10.0.0.0/33' is not a CIDR (a.b.c.d/len, "
                 "prefix 0..32, or v6/len, prefix 0..128)");
}

static void test_err_home_net_empty(void **state)
{
    expect_error(*state, "home_net: []\n", "t.yaml:1: key 'home_net': the list is empty");
    expect_error(*state, "home_net: \"10.0.0.0/8,,fd00::/8\"\n",
                 "t.yaml:1: key 'home_net': empty item in the list");
}

static void test_err_home_net_too_many(void **state)
{
    struct fx *f = *state;
    size_t cap = 16 + 20 * (LW_CONFIG_MAX_HOME_NET + 1), n, i;
    char *y = malloc(cap);
    char want[128];

    assert_non_null(y);
    n = (size_t)snprintf(y, cap, "home_net:\n");
    for (i = 0; i <= LW_CONFIG_MAX_HOME_NET; i++)
        n += (size_t)snprintf(y + n, cap - n, "  - 10.%zu.%zu.0/24\n", i / 256, i % 256);
    snprintf(want, sizeof(want), "t.yaml:%d: key 'home_net': more than %d networks",
             LW_CONFIG_MAX_HOME_NET + 2, LW_CONFIG_MAX_HOME_NET);
    expect_error(f, y, want);
    /* Exactly the cap is fine. */
    y[n - strlen("  - 10.1.0.0/24\n")] = '\0';
    assert_int_equal(parse(f, y), 0);
    assert_int_equal(f->c.home_net_count, LW_CONFIG_MAX_HOME_NET);
    free(y);
}

static void test_err_max_values_below_threshold(void **state)
{
    expect_error(*state, "burst:\n  threshold: 100\n  max_values: 50\n",
                 "t.yaml:3: burst.max_values (50) must be at least burst.threshold (100): a "
                 "pair must be able to hold enough values to reach the threshold");
    /* The threshold alone, against the default max_values (4096). */
    expect_error_prefix(*state, "burst:\n  threshold: 5000\n",
                        "t.yaml:2: burst.max_values (4096) must be at least burst.threshold "
                        "(5000)");
}

static void test_err_empty_path(void **state)
{
    expect_error(*state, "signatures: ''\n", "t.yaml:1: key 'signatures': empty path");
    expect_error(*state, "signatures: ~\n",
                 "t.yaml:1: key 'signatures': expected a single value, got nothing");
}

static void test_err_value_quoted_safely(void **state)
{
    struct fx *f = *state;
    char y[512], want[256];
    char longv[201];

    memset(longv, '7', 200);
    longv[200] = '\0';
    snprintf(y, sizeof(y), "burst:\n  window: \"x\\ty%s\"\n", longv);
    snprintf(want, sizeof(want),
             "t.yaml:2: key 'burst.window': value 'x?y%.*s...' is not a duration", 61, longv);
    expect_error(f, y, want);
}

static void test_err_too_large(void **state)
{
    struct fx *f = *state;
    size_t n = 1024 * 1024 + 1;
    char *y = malloc(n);

    assert_non_null(y);
    memset(y, '#', n);
    assert_int_equal(lw_config_parse(&f->c, "big.yaml", y, n, f->err, ERRLEN), LW_ERR_CAP);
    assert_string_equal(f->err, "big.yaml: larger than 1048576 bytes");
    /* Exactly 1 MiB of comment is fine. */
    assert_int_equal(lw_config_parse(&f->c, "big.yaml", y, n - 1, f->err, ERRLEN), 0);
    free(y);
}

/* ---------------------------------------------------- signatures path */

static void test_sigpath_relative_to_file(void **state)
{
    struct fx *f = *state;
    const char *y = "signatures: ../signatures/pii.yaml\n";

    assert_int_equal(lw_config_parse(&f->c, "etc/leakwatch.yaml", y, strlen(y), f->err, ERRLEN), 0);
    assert_string_equal(f->c.signatures, "etc/../signatures/pii.yaml");
    assert_int_equal(lw_config_parse(&f->c, "/opt/lw/lw.yaml", y, strlen(y), f->err, ERRLEN), 0);
    assert_string_equal(f->c.signatures, "/opt/lw/../signatures/pii.yaml");
}

static void test_sigpath_no_dir_or_absolute(void **state)
{
    struct fx *f = *state;
    const char *y = "signatures: s.yaml\n", *abs = "signatures: /x/s.yaml\n";

    assert_int_equal(lw_config_parse(&f->c, "lw.yaml", y, strlen(y), f->err, ERRLEN), 0);
    assert_string_equal(f->c.signatures, "s.yaml");
    assert_int_equal(lw_config_parse(&f->c, "etc/lw.yaml", abs, strlen(abs), f->err, ERRLEN), 0);
    assert_string_equal(f->c.signatures, "/x/s.yaml");
}

static void test_sigpath_too_long(void **state)
{
    struct fx *f = *state;
    size_t n = 4200;
    char *y = malloc(n + 32);

    assert_non_null(y);
    memcpy(y, "signatures: ", 12);
    memset(y + 12, 'a', 4090);
    strcpy(y + 12 + 4090, "\n");
    /* 4090 bytes fit alone but not behind "some/dir/". */
    assert_int_equal(lw_config_parse(&f->c, "x.yaml", y, strlen(y), f->err, ERRLEN), 0);
    f->before = f->c;
    assert_int_not_equal(lw_config_parse(&f->c, "some/dir/x.yaml", y, strlen(y), f->err, ERRLEN),
                         0);
    assert_string_equal(f->err, "some/dir/x.yaml:1: key 'signatures': path longer than 4095 bytes");
    assert_memory_equal(&f->c, &f->before, sizeof(lw_config));
    free(y);
}

/* ---------------------------------------------------------------- --set */

static void test_set_ok(void **state)
{
    struct fx *f = *state;

    assert_int_equal(lw_config_set(&f->c, "burst.threshold=5", f->err, ERRLEN), 0);
    assert_int_equal(f->c.burst.threshold, 5);
    assert_int_equal(lw_config_set(&f->c, " flow.idle_timeout = 2m ", f->err, ERRLEN), 0);
    assert_int_equal(f->c.flow.idle_timeout_s, 120);
    assert_int_equal(lw_config_set(&f->c, "home_net=10.0.0.0/8, fd00::/8", f->err, ERRLEN), 0);
    assert_int_equal(f->c.home_net_count, 2);
    assert_int_equal(lw_config_set(&f->c, "signatures=../x.yaml", f->err, ERRLEN), 0);
    assert_string_equal(f->c.signatures, "../x.yaml"); /* stays relative to the cwd */
}

static void expect_set_error(struct fx *f, const char *a, const char *msg)
{
    lw_config before = f->c;
    assert_int_not_equal(lw_config_set(&f->c, a, f->err, ERRLEN), 0);
    assert_string_equal(f->err, msg);
    assert_memory_equal(&f->c, &before, sizeof(lw_config));
}

static void test_set_errors(void **state)
{
    struct fx *f = *state;

    expect_set_error(f, "burst.window", "--set burst.window: expected KEY=VALUE");
    expect_set_error(f, "burst.window=abc",
                     "--set burst.window=abc: key 'burst.window': value 'abc' is not a duration");
    expect_set_error(f, "burst.windw=5", "--set burst.windw=5: unknown key 'burst.windw'");
    expect_set_error(f, "burst=5", "--set burst=5: unknown key 'burst'");
    expect_set_error(f, "=5", "--set =5: unknown key");
    expect_set_error(f, "burst.window=", "--set burst.window=: key 'burst.window': no value");
    expect_set_error(f, "burst.samples=99",
                     "--set burst.samples=99: key 'burst.samples': value '99' is out of range "
                     "(0..16)");
    expect_set_error(f, "home_net=10.0.0.0/8,10.1.0.0/8",
                     "--set home_net=10.0.0.0/8,10.1.0.0/8: key 'home_net': '10.1.0.0/8' has "
                     "host bits set (did you mean 10.0.0.0/8?)");
    expect_set_error(f, "home_net=10.0.0.0/8,",
                     "--set home_net=10.0.0.0/8,: key 'home_net': empty item in the list");
}

/* Cross-key rules wait for lw_config_check, so overrides may come in any order. */
static void test_set_order_and_check(void **state)
{
    struct fx *f = *state;

    assert_int_equal(lw_config_set(&f->c, "burst.threshold=5000", f->err, ERRLEN), 0);
    assert_int_equal(lw_config_check(&f->c, f->err, ERRLEN), LW_ERR_INVAL);
    assert_string_equal(f->err, "burst.max_values (4096) must be at least burst.threshold (5000): "
                                "a pair must be able to hold enough values to reach the "
                                "threshold");
    assert_int_equal(lw_config_set(&f->c, "burst.max_values=8000", f->err, ERRLEN), 0);
    assert_int_equal(lw_config_check(&f->c, f->err, ERRLEN), 0);
}

static void test_check_empty_home_net(void **state)
{
    struct fx *f = *state;

    f->c.home_net_count = 0;
    assert_int_equal(lw_config_check(&f->c, f->err, ERRLEN), LW_ERR_INVAL);
    assert_string_equal(f->err, "home_net is empty: no traffic would be inspected");
}

/* ----------------------------------------------------------- files */

static void test_load_missing_file(void **state)
{
    struct fx *f = *state;

    assert_int_equal(lw_config_load_file(&f->c, "/nonexistent/lw.yaml", f->err, ERRLEN), LW_ERR_IO);
    assert_string_equal(f->err, "/nonexistent/lw.yaml: cannot open: No such file or directory");
}

static void test_load_file_ok_and_too_big(void **state)
{
    struct fx *f = *state;
    char dir[] = "/tmp/lwcfgXXXXXX", path[64];
    FILE *fp;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/lw.yaml", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("burst:\n  window: 7\nsignatures: s.yaml\n", fp);
    fclose(fp);
    assert_int_equal(lw_config_load_file(&f->c, path, f->err, ERRLEN), 0);
    assert_int_equal(f->c.burst.window_s, 7);
    assert_true(strncmp(f->c.signatures, dir, strlen(dir)) == 0);
    assert_string_equal(f->c.signatures + strlen(dir), "/s.yaml");

    fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < 1024 * 1024 / 8 + 1; i++)
        fputs("#234567\n", fp);
    fclose(fp);
    assert_int_equal(lw_config_load_file(&f->c, path, f->err, ERRLEN), LW_ERR_CAP);
    assert_non_null(strstr(f->err, "larger than 1048576 bytes"));
    unlink(path);
    rmdir(dir);
}

/* The shipped file, loaded over a poisoned config, equals the defaults:
 * every key is set in it (not commented out) and to its default. */
static void test_shipped_config_is_defaults(void **state)
{
    struct fx *f = *state;
    const char *src = getenv("LW_SOURCE_DIR");
    char path[4096], want[4200];
    lw_config c, d;

    if (src == NULL)
        skip();
    snprintf(path, sizeof(path), "%s/etc/leakwatch.yaml", src);
    memset(&c, 0xa5, sizeof(c));
    if (lw_config_load_file(&c, path, f->err, ERRLEN) != 0)
        fail_msg("%s", f->err);
    lw_config_defaults(&d);
    assert_int_equal(c.home_net_count, d.home_net_count);
    assert_memory_equal(c.home_net, d.home_net, d.home_net_count * sizeof(lw_cidr));
    assert_memory_equal(&c.burst, &d.burst, sizeof(d.burst));
    /* field by field: flow's and stream's fields leave padding that memcmp
     * would see */
    assert_int_equal(c.flow.memcap, d.flow.memcap);
    assert_int_equal(c.flow.max_flows, d.flow.max_flows);
    assert_int_equal(c.flow.idle_timeout_s, d.flow.idle_timeout_s);
    assert_int_equal(c.flow.closed_timeout_s, d.flow.closed_timeout_s);
    assert_int_equal(c.stream.depth, d.stream.depth);
    assert_int_equal(c.stream.memcap, d.stream.memcap);
    assert_int_equal(c.stream.max_buffer, d.stream.max_buffer);
    assert_int_equal(c.stream.max_segments, d.stream.max_segments);
    assert_int_equal(c.stream.reassembly, d.stream.reassembly);
    assert_int_equal(c.stream.overlap_event, d.stream.overlap_event);
    assert_int_equal(c.defrag.memcap, d.defrag.memcap);
    assert_int_equal(c.defrag.max_trains, d.defrag.max_trains);
    assert_int_equal(c.defrag.timeout_s, d.defrag.timeout_s);
    assert_int_equal(c.defrag.max_fragments, d.defrag.max_fragments);
    assert_int_equal(c.app.max_line, d.app.max_line);
    assert_int_equal(c.app.max_headers, d.app.max_headers);
    assert_int_equal(c.app.max_decompressed, d.app.max_decompressed);
    assert_int_equal(c.app.max_ratio, d.app.max_ratio);
    assert_int_equal(c.app.max_encodings, d.app.max_encodings);
    assert_string_equal(c.edm.index, d.edm.index);
    assert_string_equal(c.edm.key, d.edm.key);
    assert_int_equal(c.edm.threshold, d.edm.threshold);
    assert_memory_equal(&c.stats, &d.stats, sizeof(d.stats));
    assert_string_equal(c.policy, d.policy);
    assert_string_equal(c.geoip.country_db, d.geoip.country_db);
    assert_string_equal(c.geoip.asn_db, d.geoip.asn_db);
    assert_string_equal(c.geoip.city_db, d.geoip.city_db);
    assert_int_equal(c.geoip.required, d.geoip.required);
    assert_int_equal(c.outputs.count, d.outputs.count);
    for (size_t i = 0; i < d.outputs.count; i++)
        assert_string_equal(c.outputs.item[i], d.outputs.item[i]);
    assert_int_equal(c.runmode.workers, d.runmode.workers);
    assert_int_equal(c.runmode.ring_size, d.runmode.ring_size);
    assert_int_equal(c.capture.interfaces.count, d.capture.interfaces.count);
    assert_int_equal(c.capture.snaplen, d.capture.snaplen);
    assert_int_equal(c.capture.buffer_size, d.capture.buffer_size);
    assert_int_equal(c.capture.promisc, d.capture.promisc);
    assert_int_equal(c.capture.immediate, d.capture.immediate);
    assert_string_equal(c.capture.bpf, d.capture.bpf);
    assert_string_equal(c.run.user, d.run.user);
    assert_string_equal(c.run.group, d.run.group);
    assert_string_equal(c.run.pidfile, d.run.pidfile);
    assert_string_equal(c.match.cache_dir, d.match.cache_dir);
    snprintf(want, sizeof(want), "%s/etc/../signatures/pii.yaml", src);
    assert_string_equal(c.signatures, want);
}

/* Every key of the table is written, uncommented, in etc/leakwatch.yaml
 * ("key:" at the top level, or "leaf:" indented under "section:"), and the
 * comment block right above it gives its default ("Default: ..."). */
static void test_shipped_config_documents_every_key(void **state)
{
    const char *src = getenv("LW_SOURCE_DIR");
    const lw_config_key_info *k;
    char path[4096], lines[512][256];
    size_t i, n = 0;
    FILE *fp;

    (void)state;
    if (src == NULL)
        skip();
    snprintf(path, sizeof(path), "%s/etc/leakwatch.yaml", src);
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (n < 512 && fgets(lines[n], sizeof(lines[n]), fp) != NULL)
        n++;
    fclose(fp);
    assert_true(n < 512);
    for (i = 0; (k = lw_config_key_at(i)) != NULL; i++) {
        const char *dot = strchr(k->key, '.');
        char section[64] = "", leaf[64];
        bool in_section = dot == NULL, doc = false;
        size_t l, at = n;

        snprintf(leaf, sizeof(leaf), "%s:", dot ? dot + 1 : k->key);
        if (dot != NULL)
            snprintf(section, sizeof(section), "%.*s:", (int)(dot - k->key), k->key);
        for (l = 0; l < n && at == n; l++) {
            const char *p = lines[l];
            bool top = p[0] != ' ' && p[0] != '#' && p[0] != '\n';
            if (dot != NULL && top) {
                in_section = strncmp(p, section, strlen(section)) == 0;
                continue;
            }
            if (dot != NULL) {
                if (p[0] != ' ')
                    continue;
                while (*p == ' ')
                    p++;
            } else if (!top) {
                continue;
            }
            if (in_section && strncmp(p, leaf, strlen(leaf)) == 0)
                at = l;
        }
        if (at == n)
            fail_msg("key %s is not set in etc/leakwatch.yaml", k->key);
        for (l = at; l-- > 0;) {
            const char *p = lines[l];
            while (*p == ' ')
                p++;
            if (*p != '#')
                break;
            doc = doc || strstr(p, "Default:") != NULL;
        }
        if (!doc)
            fail_msg("key %s has no 'Default:' in the comment above it", k->key);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boolean_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_and_defrag_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match_cache_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_parse, setup, teardown),
        cmocka_unit_test(test_key_table_unique),
        cmocka_unit_test(test_cidr_v4),
        cmocka_unit_test(test_cidr_bare_host),
        cmocka_unit_test(test_cidr_v6),
        cmocka_unit_test(test_cidr_host_bits),
        cmocka_unit_test(test_cidr_bad),
        cmocka_unit_test_setup_teardown(test_is_home_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_home_family_and_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_home_odd_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_partial_keeps_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_home_net_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_quoted_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_not_a_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_bad_duration_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_not_an_integer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_not_a_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_dotted_key_in_yaml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_wrong_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_duplicate_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_alias_anchor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_billion_laughs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_two_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_nul_in_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_complex_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_host_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_bad_cidr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_home_net_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_home_net_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_max_values_below_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_empty_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_value_quoted_safely, setup, teardown),
        cmocka_unit_test_setup_teardown(test_err_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigpath_relative_to_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigpath_no_dir_or_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigpath_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_order_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_empty_home_net, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file_ok_and_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_config_is_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_config_documents_every_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
