/*
 * config.c - defaults, the YAML config file and --set overrides.
 *
 * One static table (`keys` below) lists every key: its dotted path, its
 * type, its bounds, its default written as a --set value, where it lives in
 * lw_config and a line of documentation. Defaults are applied by parsing
 * the default strings through the same code that parses --set values and
 * YAML scalars, so the three cannot disagree; tests load etc/leakwatch.yaml
 * and compare it with the defaults so the shipped documentation cannot
 * drift either.
 *
 * Value syntax:
 *   integer    decimal digits only, no sign
 *   duration   seconds: "90", or with one suffix s, m or h ("90s", "5m", "2h")
 *   size       bytes: "65536", or with a suffix kb, mb, gb (powers of 1024;
 *              also k, m, g, any case)
 *   path       any non-empty string; a relative one in a config file is
 *              taken relative to that file's directory
 *   cidr-list  a YAML list of CIDRs, or (as in --set) one string of CIDRs
 *              separated by commas; a CIDR with host bits set is refused
 * In YAML, sections are nested mappings (burst: {window: 60}); the dotted
 * form belongs to --set. A section left empty (every key commented out) is
 * fine. Unknown keys, duplicate keys, values of the wrong shape or out of
 * range are errors naming the file, the 1-based line, the key and the value.
 *
 * Every entry point works on a copy and commits it only on success, so a
 * failed load or --set leaves the config as it was.
 */
#include "leakwatch/config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_util.h"

#define MSG_MAX        384          /* one message without its "FILE:LINE: " prefix */
#define KEY_MAX        64           /* longest dotted key we ever build */
#define ITEM_MAX       128          /* longest single CIDR we accept in a list */
#define SIZE_MAX_BYTES (1ull << 40) /* stream.depth: 1 TiB is "everything" */

enum ktype { KT_CIDRS, KT_PATH, KT_U32, KT_DURATION, KT_SIZE, KT_BOOL, KT_STRING, KT_STRLIST };

/* min/max: the numeric bounds; for paths and strings min 1 = required,
 * min 0 = may be empty; for string lists the bounds on the item count. */
struct key {
    lw_config_key_info info;
    enum ktype type;
    uint64_t min, max;
    size_t off;
    size_t size; /* bytes of the field (string capacity) */
};

#define KEY(name, tname, t, lo, hi, def, field, doc)                                               \
    {                                                                                              \
        {name, tname, def, doc}, t, lo, hi, offsetof(lw_config, field),                            \
            sizeof(((lw_config *)0)->field)                                                        \
    }

static const struct key keys[] = {
    KEY("home_net", "cidr-list", KT_CIDRS, 1, LW_CONFIG_MAX_HOME_NET,
        "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7", home_net,
        "inside networks; traffic from them to elsewhere is inspected"),
    KEY("signatures", "path", KT_PATH, 1, 0, "signatures/pii.yaml", signatures,
        "PII signature file"),
    KEY("match.cache_dir", "path", KT_PATH, 0, 0, "", match.cache_dir,
        "directory of compiled signature databases reused across starts and reloads; empty = "
        "compile every time"),
    KEY("burst.window", "duration", KT_DURATION, 1, 86400, "60", burst.window_s,
        "sliding window of packet time over which distinct values are counted"),
    KEY("burst.threshold", "integer", KT_U32, 1, 1000000, "20", burst.threshold,
        "distinct values per (inside, outside) pair within the window that make an alert"),
    KEY("burst.max_pairs", "integer", KT_U32, 1, 16777216, "65536", burst.max_pairs,
        "(inside, outside) pairs tracked at once"),
    KEY("burst.max_values", "integer", KT_U32, 1, 16777216, "4096", burst.max_values,
        "distinct values kept per pair; at least burst.threshold"),
    KEY("burst.samples", "integer", KT_U32, 0, 16, "5", burst.samples,
        "masked sample values per alert"),
    KEY("flow.max_flows", "integer", KT_U32, 1, 16777216, "262144", flow.max_flows,
        "flows tracked per worker; the oldest idle flow is evicted"),
    KEY("flow.memcap", "size", KT_SIZE, 1ull << 20, SIZE_MAX_BYTES, "1gb", flow.memcap,
        "bytes of flow records and their per-flow state per worker; the oldest flow is evicted"),
    KEY("flow.idle_timeout", "duration", KT_DURATION, 1, 86400, "120", flow.idle_timeout_s,
        "a flow with no packet for this long is closed"),
    KEY("flow.closed_timeout", "duration", KT_DURATION, 0, 3600, "10", flow.closed_timeout_s,
        "a flow is kept this long after FIN both ways or RST"),
    KEY("stream.depth", "size", KT_SIZE, 0, SIZE_MAX_BYTES, "0", stream.depth,
        "bytes inspected per direction of a flow; 0 = all"),
    KEY("stream.memcap", "size", KT_SIZE, 1ull << 16, SIZE_MAX_BYTES, "64mb", stream.memcap,
        "out-of-order TCP bytes buffered per worker, all flows together"),
    KEY("stream.max_buffer", "size", KT_SIZE, 1ull << 12, 1ull << 30, "1mb", stream.max_buffer,
        "out-of-order TCP bytes buffered per flow direction"),
    KEY("stream.max_segments", "integer", KT_U32, 1, 65535, "2048", stream.max_segments,
        "out-of-order TCP segments buffered per flow direction"),
    KEY("stream.reassembly", "boolean", KT_BOOL, 0, 1, "yes", stream.reassembly,
        "reassemble TCP; no scans each segment on its own (for comparison only)"),
    KEY("stream.overlap_event", "boolean", KT_BOOL, 0, 1, "yes", stream.overlap_event,
        "write an anomaly event when overlapping TCP segments carry different bytes"),
    KEY("defrag.memcap", "size", KT_SIZE, 1ull << 16, SIZE_MAX_BYTES, "32mb", defrag.memcap,
        "IP fragment bytes buffered per worker"),
    KEY("defrag.max_trains", "integer", KT_U32, 1, 16777216, "16384", defrag.max_trains,
        "datagrams being reassembled at once; the oldest is evicted"),
    KEY("defrag.timeout", "duration", KT_DURATION, 1, 3600, "30", defrag.timeout_s,
        "a datagram not complete this long after its first fragment is dropped"),
    KEY("defrag.max_fragments", "integer", KT_U32, 2, 8192, "64", defrag.max_fragments,
        "fragments per datagram; a datagram with more is dropped"),
    KEY("app.max_line", "integer", KT_U32, 256, 1048576, "8192", app.max_line,
        "longest protocol line or header decoders accept, bytes"),
    KEY("app.max_headers", "integer", KT_U32, 1, 10000, "100", app.max_headers,
        "header lines per HTTP or MIME message"),
    KEY("app.max_decompressed", "size", KT_SIZE, 1ull << 16, 1ull << 32, "16mb",
        app.max_decompressed, "bytes inflated out of one compressed body"),
    KEY("app.max_ratio", "integer", KT_U32, 10, 1000000, "1000", app.max_ratio,
        "inflated bytes per compressed byte before a body counts as a bomb"),
    KEY("app.max_encodings", "integer", KT_U32, 1, 16, "5", app.max_encodings,
        "nested Content-Encodings and MIME multipart depth"),
    KEY("edm.index", "path", KT_PATH, 0, 0, "", edm.index,
        "exact-data-matching index of the customer table (leakwatch-edm build); empty = off"),
    KEY("edm.key", "path", KT_PATH, 0, 0, "", edm.key,
        "key file the index was built with (mode 0600)"),
    KEY("edm.threshold", "integer", KT_U32, 1, 1000000, "5", edm.threshold,
        "customer records from one inside host to one outside host within burst.window that "
        "make an alert"),
    KEY("stats.interval", "duration", KT_DURATION, 0, 86400, "0", stats.interval_s,
        "interval of stats lines in packet time; 0 = only at exit"),
    KEY("policy", "path", KT_PATH, 0, 0, "", policy,
        "policy file: allow-lists, per-destination rules, detectors; empty = one pair detector "
        "from burst.*"),
    KEY("geoip.country_db", "path", KT_PATH, 0, 0, "", geoip.country_db,
        "MaxMind Country or City database (.mmdb) for alerts' geo section; empty = none"),
    KEY("geoip.asn_db", "path", KT_PATH, 0, 0, "", geoip.asn_db,
        "MaxMind ASN database (.mmdb); empty = none"),
    KEY("geoip.city_db", "path", KT_PATH, 0, 0, "", geoip.city_db,
        "MaxMind City database for city names; empty = none"),
    KEY("geoip.required", "boolean", KT_BOOL, 0, 1, "yes", geoip.required,
        "a GeoIP database that cannot be opened stops start-up; no = warn and go on without"),
    KEY("outputs", "string-list", KT_STRLIST, 1, LW_STRLIST_MAX, "stdout", outputs,
        "where event lines go: file:PATH, stdout, unix-stream:PATH, unix-dgram:PATH, "
        "syslog[:FACILITY][@PATH]; -o FILE replaces the list"),
    KEY("runmode.workers", "integer", KT_U32, 0, 64, "0", runmode.workers,
        "worker threads; 0 = one per core but one, at least 1"),
    KEY("runmode.ring_size", "size", KT_SIZE, 1ull << 20, 1ull << 32, "4mb", runmode.ring_size,
        "packet queue between the capture thread and each worker, bytes"),
    KEY("capture.interfaces", "string-list", KT_STRLIST, 0, LW_STRLIST_MAX, "", capture.interfaces,
        "interfaces to capture on live; -i IFACE adds one"),
    KEY("capture.snaplen", "integer", KT_U32, 64, 262144, "65535", capture.snaplen,
        "bytes kept of each live packet"),
    KEY("capture.buffer_size", "size", KT_SIZE, 1ull << 20, 1ull << 32, "64mb", capture.buffer_size,
        "kernel capture ring per interface, bytes"),
    KEY("capture.promisc", "boolean", KT_BOOL, 0, 1, "yes", capture.promisc,
        "promiscuous mode (a SPAN or TAP port needs it)"),
    KEY("capture.immediate", "boolean", KT_BOOL, 0, 1, "no", capture.immediate,
        "hand over each packet at once instead of in blocks (more wake-ups)"),
    KEY("capture.bpf", "string", KT_STRING, 0, 0, "", capture.bpf,
        "BPF filter applied to interfaces and files; empty = every packet"),
    KEY("run.user", "string", KT_STRING, 0, 0, "", run.user,
        "user to switch to once captures and files are open; empty = stay"),
    KEY("run.group", "string", KT_STRING, 0, 0, "", run.group,
        "group to switch to; empty = the user's primary group"),
    KEY("run.pidfile", "path", KT_PATH, 0, 0, "", run.pidfile,
        "file to write the process id to; empty = none"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const lw_config_key_info *lw_config_key_at(size_t i)
{
    return i < NKEYS ? &keys[i].info : NULL;
}

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;

    if (buf == NULL || cap == 0)
        return;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
}

static const struct key *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].info.key, name) == 0)
            return &keys[i];
    return NULL;
}

/* True when name is a section: the part before a dot of some key. */
static bool is_section(const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].info.key, name, n) == 0 && keys[i].info.key[n] == '.')
            return true;
    return false;
}

/* ------------------------------------------------------------------ CIDRs */

int lw_cidr_parse(const char *s, lw_cidr *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned max, plen, i;
    bool host_bits = false;

    memset(out, 0, sizeof(*out));
    if (alen == 0 || alen >= sizeof(buf))
        return LW_ERR_PARSE;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    if (strchr(buf, ':') != NULL) {
        out->net.family = 6;
        max = 128;
        if (inet_pton(AF_INET6, buf, out->net.b) != 1)
            return LW_ERR_PARSE;
    } else {
        out->net.family = 4;
        max = 32;
        if (inet_pton(AF_INET, buf, out->net.b) != 1)
            return LW_ERR_PARSE;
    }
    plen = max;
    if (slash != NULL) {
        const char *p = slash + 1;
        if (*p == '\0' || strlen(p) > 3)
            return LW_ERR_PARSE;
        for (plen = 0; *p != '\0'; p++) {
            if (*p < '0' || *p > '9')
                return LW_ERR_PARSE;
            plen = plen * 10 + (unsigned)(*p - '0');
        }
        if (plen > max)
            return LW_ERR_PARSE;
    }
    out->prefix_len = (uint8_t)plen;
    /* Clear the host bits, noting whether any was set. */
    for (i = 0; i < max / 8; i++) {
        unsigned keep = plen >= (i + 1) * 8 ? 8 : (plen > i * 8 ? plen - i * 8 : 0);
        uint8_t mask = keep ? (uint8_t)(0xffu << (8 - keep)) : 0;
        if (out->net.b[i] & (uint8_t)~mask)
            host_bits = true;
        out->net.b[i] &= mask;
    }
    return host_bits ? LW_ERR_INVAL : 0;
}

bool lw_cidr_contains(const lw_cidr *n, const lw_addr *a)
{
    unsigned full = n->prefix_len / 8, rest = n->prefix_len % 8;

    if (a->family != n->net.family)
        return false;
    if (memcmp(a->b, n->net.b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a->b[full] & mask) == n->net.b[full];
}

bool lw_config_is_home(const lw_config *c, const lw_addr *addr)
{
    size_t i;

    for (i = 0; i < c->home_net_count && i < LW_CONFIG_MAX_HOME_NET; i++)
        if (lw_cidr_contains(&c->home_net[i], addr))
            return true;
    return false;
}

/* ----------------------------------------------------------- scalar values */

/* Parses decimal digits s[0..n) into *v; false on no digits or overflow. */
static bool parse_digits(const char *s, size_t n, uint64_t *v)
{
    size_t i;

    *v = 0;
    if (n == 0 || n > 19)
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    }
    return true;
}

static int ci_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        if (x != *b)
            return 0;
    }
    return *a == *b;
}

/* Parses one number with the suffixes of key type t; false when unparsable. */
static bool parse_number(enum ktype t, const char *s, uint64_t *v)
{
    size_t n = 0;
    uint64_t mult = 1;

    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (!parse_digits(s, n, v))
        return false;
    const char *suf = s + n;
    if (*suf == '\0')
        return true;
    if (t == KT_DURATION) {
        if (strcmp(suf, "s") == 0)
            mult = 1;
        else if (strcmp(suf, "m") == 0)
            mult = 60;
        else if (strcmp(suf, "h") == 0)
            mult = 3600;
        else
            return false;
    } else if (t == KT_SIZE) {
        if (ci_eq(suf, "b"))
            mult = 1;
        else if (ci_eq(suf, "k") || ci_eq(suf, "kb"))
            mult = 1ull << 10;
        else if (ci_eq(suf, "m") || ci_eq(suf, "mb"))
            mult = 1ull << 20;
        else if (ci_eq(suf, "g") || ci_eq(suf, "gb"))
            mult = 1ull << 30;
        else
            return false;
    } else {
        return false;
    }
    /* 19 digits fit; an overflowing product is certainly out of range. */
    if (*v > UINT64_MAX / mult)
        *v = UINT64_MAX;
    else
        *v *= mult;
    return true;
}

static const char *type_noun(enum ktype t)
{
    switch (t) {
    case KT_DURATION:
        return "a duration";
    case KT_SIZE:
        return "a size";
    case KT_BOOL:
        return "yes or no";
    case KT_U32:
    default:
        return "an integer";
    }
}

/* Parses one CIDR for key k into *out, or writes why not into msg. */
static int parse_cidr_item(const struct key *k, const char *s, lw_cidr *out, char *msg, size_t cap)
{
    char q[80], net[INET6_ADDRSTRLEN];
    int rc = lw_cidr_parse(s, out);

    lw_yaml_quote(q, sizeof(q), s);
    if (rc == LW_ERR_INVAL) {
        inet_ntop(out->net.family == 6 ? AF_INET6 : AF_INET, out->net.b, net, sizeof(net));
        fmt(msg, cap, "key '%s': '%s' has host bits set (did you mean %s/%u?)", k->info.key, q, net,
            (unsigned)out->prefix_len);
        return LW_ERR_INVAL;
    }
    if (rc != 0) {
        fmt(msg, cap,
            "key '%s': value '%s' is not a CIDR (a.b.c.d/len, prefix 0..32, or v6/len, "
            "prefix 0..128)",
            k->info.key, q);
        return LW_ERR_INVAL;
    }
    return 0;
}

/* Stores the scalar value s for key k (any type but the CIDR list). */
static int set_scalar(lw_config *c, const struct key *k, const char *s, char *msg, size_t cap)
{
    char q[80];
    uint64_t v;
    char *base = (char *)c + k->off;

    lw_yaml_quote(q, sizeof(q), s);
    if (k->type == KT_PATH) {
        /* min 1: the path is required; min 0: empty turns the feature off */
        if (s[0] == '\0' && k->min > 0) {
            fmt(msg, cap, "key '%s': empty path", k->info.key);
            return LW_ERR_INVAL;
        }
        if (strlen(s) >= k->size) {
            fmt(msg, cap, "key '%s': path longer than %zu bytes", k->info.key, k->size - 1);
            return LW_ERR_INVAL;
        }
        memcpy(base, s, strlen(s) + 1);
        return 0;
    }
    if (k->type == KT_STRING) {
        if (s[0] == '\0' && k->min > 0) {
            fmt(msg, cap, "key '%s': empty value", k->info.key);
            return LW_ERR_INVAL;
        }
        if (strlen(s) >= k->size) {
            fmt(msg, cap, "key '%s': value longer than %zu bytes", k->info.key, k->size - 1);
            return LW_ERR_INVAL;
        }
        for (const char *q2 = s; *q2; q2++) {
            if ((unsigned char)*q2 < 0x20 || *q2 == 0x7f) {
                fmt(msg, cap, "key '%s': control character in the value", k->info.key);
                return LW_ERR_INVAL;
            }
        }
        memcpy(base, s, strlen(s) + 1);
        return 0;
    }
    if (k->type == KT_BOOL) {
        bool b;
        if (ci_eq(s, "yes") || ci_eq(s, "true") || ci_eq(s, "on"))
            b = true;
        else if (ci_eq(s, "no") || ci_eq(s, "false") || ci_eq(s, "off"))
            b = false;
        else {
            fmt(msg, cap, "key '%s': value '%s' is not %s", k->info.key, q, type_noun(k->type));
            return LW_ERR_INVAL;
        }
        memcpy(base, &b, sizeof(b));
        return 0;
    }
    if (!parse_number(k->type, s, &v)) {
        fmt(msg, cap, "key '%s': value '%s' is not %s", k->info.key, q, type_noun(k->type));
        return LW_ERR_INVAL;
    }
    if (v < k->min || v > k->max) {
        fmt(msg, cap, "key '%s': value '%s' is out of range (%llu..%llu)", k->info.key, q,
            (unsigned long long)k->min, (unsigned long long)k->max);
        return LW_ERR_INVAL;
    }
    if (k->type == KT_SIZE) {
        memcpy(base, &v, sizeof(uint64_t));
    } else {
        uint32_t v32 = (uint32_t)v;
        memcpy(base, &v32, sizeof(v32));
    }
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Parses a comma-separated CIDR list (the --set and one-string YAML form). */
static int set_cidr_string(lw_config *c, const struct key *k, const char *s, char *msg, size_t cap)
{
    lw_cidr list[LW_CONFIG_MAX_HOME_NET];
    size_t count = 0;
    const char *p = s;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *item = p;
        char buf[ITEM_MAX];

        trim(&item, &n);
        if (n == 0) {
            fmt(msg, cap, "key '%s': empty item in the list", k->info.key);
            return LW_ERR_INVAL;
        }
        if (count == LW_CONFIG_MAX_HOME_NET) {
            fmt(msg, cap, "key '%s': more than %d networks", k->info.key, LW_CONFIG_MAX_HOME_NET);
            return LW_ERR_INVAL;
        }
        if (n >= sizeof(buf))
            n = sizeof(buf) - 1; /* too long for any CIDR: fails to parse below */
        memcpy(buf, item, n);
        buf[n] = '\0';
        if (parse_cidr_item(k, buf, &list[count], msg, cap) != 0)
            return LW_ERR_INVAL;
        count++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    memcpy(c->home_net, list, count * sizeof(list[0]));
    c->home_net_count = count;
    return 0;
}

/* Adds one item to a string list being built, or says why not. */
static int strlist_add(const struct key *k, lw_strlist *l, const char *item, size_t n, char *msg,
                       size_t cap)
{
    if (n == 0) {
        fmt(msg, cap, "key '%s': empty item in the list", k->info.key);
        return LW_ERR_INVAL;
    }
    if (l->count >= k->max) {
        fmt(msg, cap, "key '%s': more than %llu items", k->info.key, (unsigned long long)k->max);
        return LW_ERR_INVAL;
    }
    if (n >= LW_STRLIST_ITEM_MAX) {
        fmt(msg, cap, "key '%s': item longer than %d bytes", k->info.key, LW_STRLIST_ITEM_MAX - 1);
        return LW_ERR_INVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)item[i] < 0x20 || item[i] == 0x7f) {
            fmt(msg, cap, "key '%s': control character in an item", k->info.key);
            return LW_ERR_INVAL;
        }
    }
    memcpy(l->item[l->count], item, n);
    l->item[l->count][n] = '\0';
    l->count++;
    return 0;
}

/* Parses a comma-separated string list (the --set and one-string YAML form);
 * "" is the empty list where the key allows one. */
static int set_strlist_string(lw_config *c, const struct key *k, const char *s, char *msg,
                              size_t cap)
{
    lw_strlist *l = malloc(sizeof(*l));
    const char *p = s;
    int rc = 0;

    if (l == NULL) {
        fmt(msg, cap, "key '%s': out of memory", k->info.key);
        return LW_ERR_NOMEM;
    }
    l->count = 0;
    while (*s != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *item = p;

        trim(&item, &n);
        rc = strlist_add(k, l, item, n, msg, cap);
        if (rc != 0 || comma == NULL)
            break;
        p = comma + 1;
    }
    if (rc == 0 && l->count < k->min) {
        fmt(msg, cap, "key '%s': the list is empty", k->info.key);
        rc = LW_ERR_INVAL;
    }
    if (rc == 0)
        memcpy((char *)c + k->off, l, sizeof(*l));
    free(l);
    return rc;
}

/* ------------------------------------------------------------------- YAML */

struct ctx {
    const char *name; /* file name for messages */
    size_t dirlen;    /* length of the directory part of name, with its '/'; 0 = none */
    lw_config *c;
    char *err;
    size_t errlen;
    int lines[NKEYS]; /* line where each key was set; 0 = not in the file */
};

static int fail_at(struct ctx *x, int line, const char *msg)
{
    fmt(x->err, x->errlen, "%s:%d: %s", x->name, line, msg);
    return LW_ERR_INVAL;
}

static int set_cidr_seq(struct ctx *x, const struct key *k, const lw_ynode *seq)
{
    lw_cidr list[LW_CONFIG_MAX_HOME_NET];
    char msg[MSG_MAX];
    size_t i;

    if (seq->nkids == 0) {
        fmt(msg, sizeof(msg), "key '%s': the list is empty", k->info.key);
        return fail_at(x, seq->line, msg);
    }
    if (seq->nkids > LW_CONFIG_MAX_HOME_NET) {
        fmt(msg, sizeof(msg), "key '%s': more than %d networks", k->info.key,
            LW_CONFIG_MAX_HOME_NET);
        return fail_at(x, seq->kids[LW_CONFIG_MAX_HOME_NET]->line, msg);
    }
    for (i = 0; i < seq->nkids; i++) {
        const lw_ynode *it = seq->kids[i];
        if (it->type != LW_YNODE_SCALAR || lw_yaml_is_null(it)) {
            fmt(msg, sizeof(msg), "key '%s': expected a CIDR, got %s", k->info.key,
                lw_yaml_kind(it));
            return fail_at(x, it->line, msg);
        }
        if (parse_cidr_item(k, it->str, &list[i], msg, sizeof(msg)) != 0)
            return fail_at(x, it->line, msg);
    }
    memcpy(x->c->home_net, list, seq->nkids * sizeof(list[0]));
    x->c->home_net_count = seq->nkids;
    return 0;
}

static int set_strlist_seq(struct ctx *x, const struct key *k, const lw_ynode *seq)
{
    lw_strlist *l = malloc(sizeof(*l));
    char msg[MSG_MAX];
    int rc = 0;

    if (l == NULL) {
        fmt(msg, sizeof(msg), "key '%s': out of memory", k->info.key);
        return fail_at(x, seq->line, msg);
    }
    l->count = 0;
    for (size_t i = 0; i < seq->nkids && rc == 0; i++) {
        const lw_ynode *it = seq->kids[i];
        if (it->type != LW_YNODE_SCALAR || lw_yaml_is_null(it)) {
            fmt(msg, sizeof(msg), "key '%s': expected a string, got %s", k->info.key,
                lw_yaml_kind(it));
            rc = fail_at(x, it->line, msg);
        } else if (strlist_add(k, l, it->str, strlen(it->str), msg, sizeof(msg)) != 0) {
            rc = fail_at(x, it->line, msg);
        }
    }
    if (rc == 0 && l->count < k->min) {
        fmt(msg, sizeof(msg), "key '%s': the list is empty", k->info.key);
        rc = fail_at(x, seq->line, msg);
    }
    if (rc == 0)
        memcpy((char *)x->c + k->off, l, sizeof(*l));
    free(l);
    return rc;
}

static int set_from_node(struct ctx *x, const struct key *k, const lw_ynode *v)
{
    char msg[MSG_MAX];

    if (k->type == KT_CIDRS && v->type == LW_YNODE_SEQ)
        return set_cidr_seq(x, k, v);
    if (k->type == KT_STRLIST && v->type == LW_YNODE_SEQ)
        return set_strlist_seq(x, k, v);
    if (k->type == KT_STRLIST && lw_yaml_is_null(v) && k->min == 0) {
        ((lw_strlist *)(void *)((char *)x->c + k->off))->count = 0;
        return 0;
    }
    if (v->type != LW_YNODE_SCALAR || lw_yaml_is_null(v)) {
        fmt(msg, sizeof(msg), "key '%s': expected %s, got %s", k->info.key,
            k->type == KT_CIDRS     ? "a list of CIDRs"
            : k->type == KT_STRLIST ? "a list of strings"
                                    : "a single value",
            lw_yaml_kind(v));
        return fail_at(x, v->line, msg);
    }
    if (k->type == KT_CIDRS) {
        if (set_cidr_string(x->c, k, v->str, msg, sizeof(msg)) != 0)
            return fail_at(x, v->line, msg);
        return 0;
    }
    if (k->type == KT_STRLIST) {
        if (set_strlist_string(x->c, k, v->str, msg, sizeof(msg)) != 0)
            return fail_at(x, v->line, msg);
        return 0;
    }
    if (k->type == KT_PATH && v->str[0] != '/' && v->str[0] != '\0' && x->dirlen > 0) {
        /* Relative to the config file's directory. */
        size_t n = strlen(v->str);
        if (x->dirlen + n >= k->size) {
            fmt(msg, sizeof(msg), "key '%s': path longer than %zu bytes", k->info.key, k->size - 1);
            return fail_at(x, v->line, msg);
        }
        char *dst = (char *)x->c + k->off;
        memcpy(dst, x->name, x->dirlen);
        memcpy(dst + x->dirlen, v->str, n + 1);
        return 0;
    }
    if (set_scalar(x->c, k, v->str, msg, sizeof(msg)) != 0)
        return fail_at(x, v->line, msg);
    return 0;
}

static int walk_map(struct ctx *x, const lw_ynode *map, const char *prefix)
{
    char msg[MSG_MAX], full[KEY_MAX], q[80];
    size_t i, j;

    for (i = 0; i + 1 < map->nkids; i += 2) {
        const lw_ynode *kn = map->kids[i], *vn = map->kids[i + 1];
        int rc;

        lw_yaml_quote(q, sizeof(q), kn->str);
        /* Every earlier key of this map was known, so this loop is short. */
        for (j = 0; j < i; j += 2) {
            if (strcmp(map->kids[j]->str, kn->str) == 0) {
                fmt(msg, sizeof(msg), "duplicate key '%s%s%s' (first at line %d)",
                    prefix ? prefix : "", prefix ? "." : "", q, map->kids[j]->line);
                return fail_at(x, kn->line, msg);
            }
        }
        if (strchr(kn->str, '.') != NULL && find_key(kn->str) != NULL) {
            fmt(msg, sizeof(msg), "key '%s': in YAML write it nested (section: {key: value})", q);
            return fail_at(x, kn->line, msg);
        }
        if (strchr(kn->str, '.') != NULL ||
            (size_t)snprintf(full, sizeof(full), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
                             kn->str) >= sizeof(full)) {
            fmt(msg, sizeof(msg), "unknown key '%s%s%s'", prefix ? prefix : "", prefix ? "." : "",
                q);
            return fail_at(x, kn->line, msg);
        }
        const struct key *k = find_key(full);
        if (k != NULL) {
            rc = set_from_node(x, k, vn);
            if (rc != 0)
                return rc;
            x->lines[k - keys] = kn->line;
        } else if (prefix == NULL && is_section(full)) {
            if (lw_yaml_is_null(vn))
                continue; /* every key of the section commented out */
            if (vn->type != LW_YNODE_MAP) {
                fmt(msg, sizeof(msg), "key '%s': expected a mapping, got %s", full,
                    lw_yaml_kind(vn));
                return fail_at(x, vn->line, msg);
            }
            rc = walk_map(x, vn, full);
            if (rc != 0)
                return rc;
        } else {
            fmt(msg, sizeof(msg), "unknown key '%s%s%s'", prefix ? prefix : "", prefix ? "." : "",
                q);
            return fail_at(x, kn->line, msg);
        }
    }
    return 0;
}

int lw_config_check(const lw_config *c, char *err, size_t errlen)
{
    if (c->burst.max_values < c->burst.threshold) {
        fmt(err, errlen,
            "burst.max_values (%u) must be at least burst.threshold (%u): a pair must be able "
            "to hold enough values to reach the threshold",
            c->burst.max_values, c->burst.threshold);
        return LW_ERR_INVAL;
    }
    if (c->home_net_count == 0) {
        fmt(err, errlen, "home_net is empty: no traffic would be inspected");
        return LW_ERR_INVAL;
    }
    return 0;
}

int lw_config_parse(lw_config *c, const char *name, const char *text, size_t len, char *err,
                    size_t errlen)
{
    lw_config *tmp;
    lw_ynode *root = NULL;
    struct ctx x;
    const char *slash = strrchr(name, '/');
    char msg[MSG_MAX];
    int rc;

    rc = lw_yaml_parse(name, text, len, &root, err, errlen);
    if (rc != 0)
        return rc;
    /* The copy is about 30 KiB: on the heap, so a small thread stack is safe. */
    tmp = malloc(sizeof(*tmp));
    if (tmp == NULL) {
        lw_yaml_free(root);
        fmt(err, errlen, "%s: out of memory", name);
        return LW_ERR_NOMEM;
    }
    *tmp = *c;
    memset(&x, 0, sizeof(x));
    x.name = name;
    x.dirlen = slash ? (size_t)(slash - name) + 1 : 0;
    x.c = tmp;
    x.err = err;
    x.errlen = errlen;
    if (root != NULL && !lw_yaml_is_null(root)) {
        if (root->type != LW_YNODE_MAP) {
            fmt(msg, sizeof(msg), "expected a mapping of keys at the top level, got %s",
                lw_yaml_kind(root));
            rc = fail_at(&x, root->line, msg);
            goto out;
        }
        rc = walk_map(&x, root, NULL);
        if (rc != 0)
            goto out;
    }
    if (lw_config_check(tmp, msg, sizeof(msg)) != 0) {
        /* Point at the last line of the file that set a key the rules
         * involve (line 1 when the file set none of them). */
        static const char *const involved[] = {"burst.max_values", "burst.threshold", "home_net"};
        int line = 1;
        for (size_t i = 0; i < sizeof(involved) / sizeof(involved[0]); i++) {
            int l = x.lines[find_key(involved[i]) - keys];
            line = l > line ? l : line;
        }
        rc = fail_at(&x, line, msg);
        goto out;
    }
    *c = *tmp;
out:
    free(tmp);
    lw_yaml_free(root);
    return rc;
}

int lw_config_load_file(lw_config *c, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    int rc;

    rc = lw_yaml_read_file(path, &text, &len, err, errlen);
    if (rc != 0)
        return rc;
    rc = lw_config_parse(c, path, text, len, err, errlen);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ --set */

int lw_config_set(lw_config *c, const char *assignment, char *err, size_t errlen)
{
    char qa[80], msg[MSG_MAX], name[KEY_MAX];
    const char *eq = strchr(assignment, '=');
    const char *kp = assignment, *vp;
    size_t kn, vn;
    const struct key *k;
    lw_config *tmp;
    int rc;

    lw_yaml_quote(qa, sizeof(qa), assignment);
    if (eq == NULL) {
        fmt(err, errlen, "--set %s: expected KEY=VALUE", qa);
        return LW_ERR_INVAL;
    }
    kn = (size_t)(eq - assignment);
    trim(&kp, &kn);
    vp = eq + 1;
    vn = strlen(vp);
    trim(&vp, &vn);
    if (kn == 0 || kn >= sizeof(name)) {
        fmt(err, errlen, "--set %s: unknown key", qa);
        return LW_ERR_INVAL;
    }
    memcpy(name, kp, kn);
    name[kn] = '\0';
    k = find_key(name);
    if (k == NULL) {
        char qk[80];
        lw_yaml_quote(qk, sizeof(qk), name);
        fmt(err, errlen, "--set %s: unknown key '%s'", qa, qk);
        return LW_ERR_INVAL;
    }
    /* an empty value is allowed only where it means "off" (optional paths) */
    if (vn == 0 &&
        !((k->type == KT_PATH || k->type == KT_STRING || k->type == KT_STRLIST) && k->min == 0)) {
        fmt(err, errlen, "--set %s: key '%s': no value", qa, k->info.key);
        return LW_ERR_INVAL;
    }
    char *val = malloc(vn + 1);
    tmp = malloc(sizeof(*tmp));
    if (val == NULL || tmp == NULL) {
        free(val);
        free(tmp);
        fmt(err, errlen, "--set %s: out of memory", qa);
        return LW_ERR_NOMEM;
    }
    memcpy(val, vp, vn);
    val[vn] = '\0';
    *tmp = *c;
    if (k->type == KT_CIDRS)
        rc = set_cidr_string(tmp, k, val, msg, sizeof(msg));
    else if (k->type == KT_STRLIST)
        rc = set_strlist_string(tmp, k, val, msg, sizeof(msg));
    else
        rc = set_scalar(tmp, k, val, msg, sizeof(msg));
    if (rc == 0)
        *c = *tmp;
    else
        fmt(err, errlen, "--set %s: %s", qa, msg);
    free(val);
    free(tmp);
    return rc;
}

/* --------------------------------------------------------------- defaults */

void lw_config_defaults(lw_config *c)
{
    char msg[MSG_MAX];
    size_t i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        /* The default strings are checked by test_config (defaults_parse);
         * a failure here could only leave a zero, never corrupt c. */
        if (k->type == KT_CIDRS) {
            if (set_cidr_string(c, k, k->info.def, msg, sizeof(msg)) != 0)
                continue;
        } else if (k->type == KT_STRLIST) {
            if (set_strlist_string(c, k, k->info.def, msg, sizeof(msg)) != 0)
                continue;
        } else if (set_scalar(c, k, k->info.def, msg, sizeof(msg)) != 0) {
            continue;
        }
    }
}
