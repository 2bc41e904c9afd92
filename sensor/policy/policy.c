/*
 * policy.c - loads the policy file and decides, per destination, whether a
 * burst of PII going there is allowed, or alerts with another threshold or
 * severity.
 *
 * The file's shape is documented in policy.h and etc/policy.yaml. It is
 * read with the config loader's YAML tree (sensor/config/yaml_util.h), so
 * it refuses what that refuses (anchors, aliases, tags, more than 1 MiB),
 * and every error is one line "FILE:LINE: what: message" naming the entry
 * ("allow 'crm'", "rule #2" while its name is unknown, "detector 'pair'"),
 * the key and the value. Values:
 *   name         [a-z0-9_-]{1,47}; required; unique among allow entries,
 *                among rules and among detectors
 *   cidrs        list of CIDRs, host bits clear (at most 4096)
 *   asns         list of AS numbers 1..4294967295, "AS64500" too (at most
 *                4096)
 *   countries    list of ISO 3166-1 alpha-2 codes, any case (at most 256)
 *   domains      list of "name" or "*.name" patterns
 *   domains_file one pattern a line, '#' comments, at most 8 MiB; relative
 *                to the policy file's directory. domains and domains_file
 *                together hold at most 100,000 patterns per entry.
 *   threshold    rules: 1..1000000; detectors: default burst.threshold
 *   severity     rules: 1..4
 *   key          detectors: pair | source (required)
 *   window       detectors: duration 1s..24h ("60", "90s", "5m", "1h");
 *                default burst.window
 *   sid          detectors: 1..4294967295, unique (required)
 *   exact_limit  detectors: 16..16777216; default burst.max_values
 * An allow entry or rule needs at least one criterion key. At most 1024
 * allow entries and 1024 rules; 1..LW_POLICY_MAX_DETECTORS detectors when
 * `detectors:` is given as a list (absent or null: the default detector).
 *
 * Decisions are bounded: the destination's names are normalised and hashed
 * once (at most LW_POLICY_MAX_NAMES names of at most 127 labels), then each
 * entry is tried in file order: CIDRs linearly, ASNs by binary search,
 * countries in a 26x26 bitmap, domains by hash probes. Nothing allocates.
 * A loaded policy is immutable, so workers share it without locks.
 */
#include "leakwatch/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "../config/yaml_util.h"
#include "policy_domains.h"

#define MSG_MAX         384
#define MAX_ENTRIES     1024
#define MAX_CIDRS       4096
#define MAX_ASNS        4096
#define MAX_COUNTRIES   256
#define DEFAULT_SID     9000001u
#define COUNTRY_BITS    (26 * 26)
#define PATH_MAX_POLICY 4096

struct entry {
    char name[LW_POLICY_NAME_MAX];
    lw_cidr *cidrs;
    size_t n_cidrs;
    uint32_t *asns; /* sorted, unique */
    size_t n_asns;
    uint8_t countries[(COUNTRY_BITS + 7) / 8];
    bool any_country;
    bool any_domain;
    lw_domset domains;
    uint32_t threshold; /* rules: 0 = the detector's */
    uint8_t severity;   /* rules: 0 = the signature's */
};

struct lw_policy {
    struct entry *allow, *rules;
    size_t n_allow, n_rules;
    lw_detector det[LW_POLICY_MAX_DETECTORS];
    size_t n_det;
    bool any_domain; /* some entry has a domain: decide must hash names */
    uint8_t key[LW_DOMAIN_KEY_BYTES];
};

struct ctx {
    const char *name; /* policy file name, for messages */
    size_t dirlen;    /* its directory part with the '/'; 0 = none */
    const lw_config *cfg;
    lw_policy *p;
    char *err;
    size_t errlen;
    char label[96]; /* "allow 'crm'", "rule #2", "" at the top level */
};

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *x, int line, const char *f, ...)
{
    char msg[MSG_MAX];
    va_list ap;

    va_start(ap, f);
    vsnprintf(msg, sizeof(msg), f, ap);
    va_end(ap);
    if (x->err != NULL && x->errlen > 0) {
        if (x->label[0] != '\0')
            snprintf(x->err, x->errlen, "%s:%d: %s: %s", x->name, line, x->label, msg);
        else
            snprintf(x->err, x->errlen, "%s:%d: %s", x->name, line, msg);
    }
    return LW_ERR_INVAL;
}

/* ------------------------------------------------------------- values */

static bool valid_name(const char *s)
{
    size_t i;

    if (s[0] == '\0' || strlen(s) >= LW_POLICY_NAME_MAX)
        return false;
    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* Decimal digits, or with duration one suffix s, m or h; false when not. */
static bool parse_num(const char *s, bool duration, uint64_t *v)
{
    size_t n = 0, i;
    uint64_t mult = 1;

    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0 || n > 19)
        return false;
    for (*v = 0, i = 0; i < n; i++)
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    if (s[n] == '\0')
        return true;
    if (!duration || s[n + 1] != '\0')
        return false;
    if (s[n] == 's')
        mult = 1;
    else if (s[n] == 'm')
        mult = 60;
    else if (s[n] == 'h')
        mult = 3600;
    else
        return false;
    *v = *v > UINT64_MAX / mult ? UINT64_MAX : *v * mult;
    return true;
}

/* The scalar of key `k`, or NULL after an error. */
static const char *scalar(struct ctx *x, const char *k, const lw_ynode *v, int *rc)
{
    if (v->type != LW_YNODE_SCALAR || lw_yaml_is_null(v)) {
        *rc = fail(x, v->line, "key '%s': expected a single value, got %s", k, lw_yaml_kind(v));
        return NULL;
    }
    return v->str;
}

/* Parses s (the value of key k, at line) as a number in lo..hi. */
static int num_value(struct ctx *x, const char *k, const char *s, int line, bool duration,
                     uint64_t lo, uint64_t hi, uint32_t *out)
{
    char q[80];
    uint64_t n;

    lw_yaml_quote(q, sizeof(q), s);
    if (!parse_num(s, duration, &n))
        return fail(x, line, "key '%s': '%s' is not %s", k, q,
                    duration ? "a duration (60, 90s, 5m, 1h)" : "an integer");
    if (n < lo || n > hi)
        return fail(x, line, "key '%s': '%s' is out of range %llu..%llu%s", k, q,
                    (unsigned long long)lo, (unsigned long long)hi, duration ? " seconds" : "");
    *out = (uint32_t)n;
    return 0;
}

static int get_u32(struct ctx *x, const char *k, const lw_ynode *v, bool duration, uint64_t lo,
                   uint64_t hi, uint32_t *out)
{
    int rc = 0;
    const char *s = scalar(x, k, v, &rc);

    if (s == NULL)
        return rc;
    return num_value(x, k, s, v->line, duration, lo, hi, out);
}

/* The items of list key `k` (at most max), or an error. */
static int get_list(struct ctx *x, const char *k, const lw_ynode *v, size_t max)
{
    if (lw_yaml_is_null(v))
        return 0;
    if (v->type != LW_YNODE_SEQ)
        return fail(x, v->line, "key '%s': expected a list, got %s", k, lw_yaml_kind(v));
    if (v->nkids > max)
        return fail(x, v->kids[max]->line, "key '%s': more than %zu items", k, max);
    for (size_t i = 0; i < v->nkids; i++)
        if (v->kids[i]->type != LW_YNODE_SCALAR || lw_yaml_is_null(v->kids[i]))
            return fail(x, v->kids[i]->line, "key '%s': expected a single value, got %s", k,
                        lw_yaml_kind(v->kids[i]));
    return 0;
}

static size_t list_len(const lw_ynode *v)
{
    return v->type == LW_YNODE_SEQ ? v->nkids : 0;
}

/* ------------------------------------------------------------ criteria */

static int set_cidrs(struct ctx *x, struct entry *e, const lw_ynode *v)
{
    char q[80], net[INET6_ADDRSTRLEN];
    size_t i, n;
    int rc = get_list(x, "cidrs", v, MAX_CIDRS);

    if (rc != 0)
        return rc;
    n = list_len(v);
    if (n == 0)
        return 0;
    e->cidrs = calloc(n, sizeof(*e->cidrs));
    if (e->cidrs == NULL)
        return fail(x, v->line, "key 'cidrs': out of memory");
    for (i = 0; i < n; i++) {
        const lw_ynode *it = v->kids[i];
        lw_cidr *c = &e->cidrs[i];

        lw_yaml_quote(q, sizeof(q), it->str);
        rc = lw_cidr_parse(it->str, c);
        if (rc == LW_ERR_INVAL) {
            inet_ntop(c->net.family == 6 ? AF_INET6 : AF_INET, c->net.b, net, sizeof(net));
            return fail(x, it->line, "key 'cidrs': '%s' has host bits set (did you mean %s/%u?)", q,
                        net, (unsigned)c->prefix_len);
        }
        if (rc != 0)
            return fail(x, it->line, "key 'cidrs': '%s' is not a CIDR (a.b.c.d/len or v6/len)", q);
    }
    e->n_cidrs = n;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int set_asns(struct ctx *x, struct entry *e, const lw_ynode *v)
{
    size_t i, n, u = 0;
    int rc = get_list(x, "asns", v, MAX_ASNS);

    if (rc != 0)
        return rc;
    n = list_len(v);
    if (n == 0)
        return 0;
    e->asns = calloc(n, sizeof(*e->asns));
    if (e->asns == NULL)
        return fail(x, v->line, "key 'asns': out of memory");
    for (i = 0; i < n; i++) {
        const char *s = v->kids[i]->str;
        /* "AS64500" is how AS numbers are often written; take it too. */
        if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
            s += 2;
        rc = num_value(x, "asns", s, v->kids[i]->line, false, 1, UINT32_MAX, &e->asns[i]);
        if (rc != 0)
            return rc;
    }
    qsort(e->asns, n, sizeof(*e->asns), cmp_u32);
    for (i = 0; i < n; i++)
        if (u == 0 || e->asns[u - 1] != e->asns[i])
            e->asns[u++] = e->asns[i];
    e->n_asns = u;
    return 0;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Bit index of a two-letter code, or -1. */
static int country_bit(const char *s)
{
    if (!is_alpha(s[0]) || !is_alpha(s[1]) || s[2] != '\0')
        return -1;
    return ((s[0] | 0x20) - 'a') * 26 + ((s[1] | 0x20) - 'a');
}

static int set_countries(struct ctx *x, struct entry *e, const lw_ynode *v)
{
    char q[80];
    size_t i;
    int rc = get_list(x, "countries", v, MAX_COUNTRIES);

    if (rc != 0)
        return rc;
    for (i = 0; i < list_len(v); i++) {
        int b = country_bit(v->kids[i]->str);
        if (b < 0) {
            lw_yaml_quote(q, sizeof(q), v->kids[i]->str);
            return fail(x, v->kids[i]->line,
                        "key 'countries': '%s' is not an ISO 3166-1 alpha-2 code (two letters)", q);
        }
        e->countries[b / 8] |= (uint8_t)(1u << (b % 8));
        e->any_country = true;
    }
    return 0;
}

static int set_domains(struct ctx *x, struct entry *e, const lw_ynode *v)
{
    char q[80];
    size_t i;
    int rc = get_list(x, "domains", v, LW_DOMSET_MAX);

    if (rc != 0)
        return rc;
    for (i = 0; i < list_len(v); i++) {
        const lw_ynode *it = v->kids[i];
        rc = lw_domset_add(&e->domains, x->p->key, it->str, it->len);
        lw_yaml_quote(q, sizeof(q), it->str);
        if (rc == LW_ERR_PARSE)
            return fail(x, it->line, "key 'domains': '%s' is not a domain pattern (name or *.name)",
                        q);
        if (rc == LW_ERR_CAP)
            return fail(x, it->line, "key 'domains': more than %u domains", LW_DOMSET_MAX);
        if (rc != 0)
            return fail(x, it->line, "key 'domains': out of memory");
    }
    return 0;
}

static int set_domains_file(struct ctx *x, struct entry *e, const lw_ynode *v)
{
    char path[PATH_MAX_POLICY], q[80], why[160];
    size_t n;
    int rc = 0, bad = 0;
    const char *s = scalar(x, "domains_file", v, &rc);

    if (s == NULL)
        return rc;
    n = strlen(s);
    if (s[0] == '/' || x->dirlen == 0) {
        if (n >= sizeof(path))
            goto too_long;
        memcpy(path, s, n + 1);
    } else {
        if (x->dirlen + n >= sizeof(path))
            goto too_long;
        memcpy(path, x->name, x->dirlen);
        memcpy(path + x->dirlen, s, n + 1);
    }
    rc = lw_domset_load_file(&e->domains, x->p->key, path, x->label, &bad, x->err, x->errlen);
    if (rc == 0 || bad > 0)
        return rc; /* a bad line: the message names the domains file's line */
    /* The file could not be read: point at the line that names it. */
    snprintf(why, sizeof(why), "%s", x->err != NULL && x->errlen > 0 ? x->err : "unreadable");
    lw_yaml_quote(q, sizeof(q), path);
    fail(x, v->line, "key 'domains_file': '%s': %s", q, why);
    return rc;
too_long:
    lw_yaml_quote(q, sizeof(q), s);
    return fail(x, v->line, "key 'domains_file': '%s': path longer than %d bytes", q,
                PATH_MAX_POLICY - 1);
}

/* -------------------------------------------------------------- mappings */

/* Checks a mapping's keys against names[] (duplicates, unknown ones) and
 * fills val[i] with the value of names[i] or NULL. */
static int map_keys(struct ctx *x, const lw_ynode *map, const char *const *names, size_t n,
                    const lw_ynode **val)
{
    char q[80];
    size_t i, j;
    int lines[16] = {0};

    for (j = 0; j < n; j++)
        val[j] = NULL;
    for (i = 0; i + 1 < map->nkids; i += 2) {
        const lw_ynode *k = map->kids[i];
        lw_yaml_quote(q, sizeof(q), k->str);
        for (j = 0; j < n && strcmp(names[j], k->str) != 0; j++)
            ;
        if (j == n)
            return fail(x, k->line, "unknown key '%s'", q);
        if (val[j] != NULL)
            return fail(x, k->line, "duplicate key '%s' (first at line %d)", q, lines[j]);
        val[j] = map->kids[i + 1];
        lines[j] = k->line;
    }
    return 0;
}

/* The key node named k in a mapping, or NULL. */
static const lw_ynode *find_key(const lw_ynode *map, const char *k)
{
    for (size_t i = 0; i + 1 < map->nkids; i += 2)
        if (strcmp(map->kids[i]->str, k) == 0)
            return map->kids[i];
    return NULL;
}

/* Names the entry in messages by its name when it has a valid one, so that
 * even an error before the name is checked says which entry it is in. */
static void label_from_map(struct ctx *x, const char *kind, const lw_ynode *map)
{
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        const lw_ynode *v = map->kids[i + 1];
        if (strcmp(map->kids[i]->str, "name") == 0 && v->type == LW_YNODE_SCALAR &&
            valid_name(v->str)) {
            snprintf(x->label, sizeof(x->label), "%s '%s'", kind, v->str);
            return;
        }
    }
}

enum { E_NAME, E_CIDRS, E_ASNS, E_COUNTRIES, E_DOMAINS, E_DOMAINS_FILE, E_THRESHOLD, E_SEVERITY };

static const char *const entry_keys[] = {"name",    "cidrs",        "asns",      "countries",
                                         "domains", "domains_file", "threshold", "severity"};

/* Reads the name of entry i (kind "allow", "rule" or "detector") into out
 * and sets the label; errors when missing, bad or not unique among the
 * names[0..i). */
static int entry_name(struct ctx *x, const char *kind, size_t i, const lw_ynode *map,
                      const lw_ynode *v, char *out, const char *prev, size_t stride)
{
    char q[80];
    int rc = 0;
    const char *s;

    snprintf(x->label, sizeof(x->label), "%s #%zu", kind, i + 1);
    if (v == NULL)
        return fail(x, map->line, "key 'name' is missing");
    s = scalar(x, "name", v, &rc);
    if (s == NULL)
        return rc;
    lw_yaml_quote(q, sizeof(q), s);
    if (!valid_name(s))
        return fail(x, v->line, "key 'name': '%s' is not [a-z0-9_-]{1,%d}", q,
                    LW_POLICY_NAME_MAX - 1);
    for (size_t j = 0; j < i; j++)
        if (strcmp(prev + j * stride, s) == 0)
            return fail(x, v->line, "key 'name': '%s' is used twice", q);
    memcpy(out, s, strlen(s) + 1);
    snprintf(x->label, sizeof(x->label), "%s '%s'", kind, s);
    return 0;
}

static int parse_entry(struct ctx *x, bool is_rule, size_t i, const lw_ynode *map,
                       struct entry *all)
{
    const char *kind = is_rule ? "rule" : "allow";
    const lw_ynode *val[8];
    struct entry *e = &all[i];
    int rc;

    snprintf(x->label, sizeof(x->label), "%s #%zu", kind, i + 1);
    if (map->type != LW_YNODE_MAP)
        return fail(x, map->line, "expected a mapping, got %s", lw_yaml_kind(map));
    label_from_map(x, kind, map);
    if (!is_rule) {
        const lw_ynode *k = find_key(map, "threshold");
        if (k == NULL)
            k = find_key(map, "severity");
        if (k != NULL)
            return fail(x, k->line, "key '%s': allow entries never alert; it belongs to a rule",
                        k->str);
    }
    rc = map_keys(x, map, entry_keys, is_rule ? 8 : 6, val);
    if (rc != 0)
        return rc;
    rc = entry_name(x, kind, i, map, val[E_NAME], e->name, all[0].name, sizeof(*all));
    if (rc != 0)
        return rc;
    if (!val[E_CIDRS] && !val[E_ASNS] && !val[E_COUNTRIES] && !val[E_DOMAINS] &&
        !val[E_DOMAINS_FILE])
        return fail(x, map->line, "no cidrs, asns, countries, domains or domains_file");
    if ((val[E_CIDRS] && (rc = set_cidrs(x, e, val[E_CIDRS])) != 0) ||
        (val[E_ASNS] && (rc = set_asns(x, e, val[E_ASNS])) != 0) ||
        (val[E_COUNTRIES] && (rc = set_countries(x, e, val[E_COUNTRIES])) != 0) ||
        (val[E_DOMAINS] && (rc = set_domains(x, e, val[E_DOMAINS])) != 0) ||
        (val[E_DOMAINS_FILE] && (rc = set_domains_file(x, e, val[E_DOMAINS_FILE])) != 0))
        return rc;
    if (is_rule && val[E_THRESHOLD] &&
        (rc = get_u32(x, "threshold", val[E_THRESHOLD], false, 1, 1000000, &e->threshold)) != 0)
        return rc;
    if (is_rule && val[E_SEVERITY]) {
        uint32_t sev;
        rc = get_u32(x, "severity", val[E_SEVERITY], false, 1, 4, &sev);
        if (rc != 0)
            return rc;
        e->severity = (uint8_t)sev;
    }
    e->any_domain = lw_domset_count(&e->domains) > 0;
    x->p->any_domain |= e->any_domain;
    return 0;
}

static int parse_entries(struct ctx *x, bool is_rule, const lw_ynode *list)
{
    const char *key = is_rule ? "rules" : "allow";
    struct entry *e;
    size_t i;
    int rc;

    if (lw_yaml_is_null(list))
        return 0;
    if (list->type != LW_YNODE_SEQ)
        return fail(x, list->line, "key '%s': expected a list, got %s", key, lw_yaml_kind(list));
    if (list->nkids > MAX_ENTRIES)
        return fail(x, list->kids[MAX_ENTRIES]->line, "key '%s': more than %d entries", key,
                    MAX_ENTRIES);
    if (list->nkids == 0)
        return 0;
    e = calloc(list->nkids, sizeof(*e));
    if (e == NULL)
        return fail(x, list->line, "key '%s': out of memory", key);
    if (is_rule)
        x->p->rules = e;
    else
        x->p->allow = e;
    for (i = 0; i < list->nkids; i++) {
        rc = parse_entry(x, is_rule, i, list->kids[i], e);
        /* Count it before a failure so lw_policy_free frees its parts. */
        if (is_rule)
            x->p->n_rules = i + 1;
        else
            x->p->n_allow = i + 1;
        if (rc != 0)
            return rc;
    }
    x->label[0] = '\0';
    return 0;
}

enum { D_NAME, D_KEY, D_WINDOW, D_THRESHOLD, D_SID, D_EXACT_LIMIT };

static const char *const det_keys[] = {"name", "key", "window", "threshold", "sid", "exact_limit"};

static int parse_detector(struct ctx *x, size_t i, const lw_ynode *map)
{
    lw_detector *d = &x->p->det[i];
    const lw_ynode *val[6];
    char q[80];
    int rc = 0;
    const char *s;

    snprintf(x->label, sizeof(x->label), "detector #%zu", i + 1);
    if (map->type != LW_YNODE_MAP)
        return fail(x, map->line, "expected a mapping, got %s", lw_yaml_kind(map));
    label_from_map(x, "detector", map);
    rc = map_keys(x, map, det_keys, 6, val);
    if (rc != 0)
        return rc;
    rc = entry_name(x, "detector", i, map, val[D_NAME], d->name, x->p->det[0].name, sizeof(*d));
    if (rc != 0)
        return rc;
    if (val[D_KEY] == NULL)
        return fail(x, map->line, "key 'key' is missing (pair or source)");
    s = scalar(x, "key", val[D_KEY], &rc);
    if (s == NULL)
        return rc;
    if (strcmp(s, "pair") == 0) {
        d->key = LW_DETECTOR_PAIR;
    } else if (strcmp(s, "source") == 0) {
        d->key = LW_DETECTOR_SOURCE;
    } else {
        lw_yaml_quote(q, sizeof(q), s);
        return fail(x, val[D_KEY]->line, "key 'key': '%s' is not pair or source", q);
    }
    d->window_s = x->cfg->burst.window_s;
    d->threshold = x->cfg->burst.threshold;
    d->exact_limit = x->cfg->burst.max_values;
    if ((val[D_WINDOW] &&
         (rc = get_u32(x, "window", val[D_WINDOW], true, 1, 86400, &d->window_s)) != 0) ||
        (val[D_THRESHOLD] &&
         (rc = get_u32(x, "threshold", val[D_THRESHOLD], false, 1, 1000000, &d->threshold)) != 0) ||
        (val[D_EXACT_LIMIT] && (rc = get_u32(x, "exact_limit", val[D_EXACT_LIMIT], false, 16,
                                             16777216, &d->exact_limit)) != 0))
        return rc;
    if (val[D_SID] == NULL)
        return fail(x, map->line, "key 'sid' is missing");
    rc = get_u32(x, "sid", val[D_SID], false, 1, UINT32_MAX, &d->sid);
    if (rc != 0)
        return rc;
    for (size_t j = 0; j < i; j++)
        if (x->p->det[j].sid == d->sid)
            return fail(x, val[D_SID]->line, "key 'sid': %u is used twice (detector '%s')", d->sid,
                        x->p->det[j].name);
    return 0;
}

static int parse_detectors(struct ctx *x, const lw_ynode *list)
{
    size_t i;
    int rc;

    if (list->type != LW_YNODE_SEQ)
        return fail(x, list->line, "key 'detectors': expected a list, got %s", lw_yaml_kind(list));
    if (list->nkids == 0)
        return fail(x, list->line,
                    "key 'detectors': the list is empty (leave the key out "
                    "for the default detector)");
    if (list->nkids > LW_POLICY_MAX_DETECTORS)
        return fail(x, list->kids[LW_POLICY_MAX_DETECTORS]->line,
                    "key 'detectors': more than %d detectors", LW_POLICY_MAX_DETECTORS);
    for (i = 0; i < list->nkids; i++) {
        rc = parse_detector(x, i, list->kids[i]);
        if (rc != 0)
            return rc;
    }
    x->p->n_det = list->nkids;
    x->label[0] = '\0';
    return 0;
}

static void default_detector(lw_detector *d, const lw_config *cfg)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "pair");
    d->key = LW_DETECTOR_PAIR;
    d->window_s = cfg->burst.window_s;
    d->threshold = cfg->burst.threshold;
    d->sid = DEFAULT_SID;
    d->exact_limit = cfg->burst.max_values;
}

static const char *const top_keys[] = {"allow", "rules", "detectors"};

int lw_policy_parse(const char *name, const char *text, size_t len, const lw_config *cfg,
                    lw_policy **out, char *err, size_t errlen)
{
    const char *slash = strrchr(name, '/');
    const lw_ynode *val[3] = {NULL, NULL, NULL};
    lw_ynode *root = NULL;
    struct ctx x;
    lw_policy *p;
    int rc;

    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "%s: libsodium could not be initialised", name);
        return LW_ERR_INVAL;
    }
    rc = lw_yaml_parse(name, text, len, &root, err, errlen);
    if (rc != 0)
        return rc;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        lw_yaml_free(root);
        snprintf(err, errlen, "%s: out of memory", name);
        return LW_ERR_NOMEM;
    }
    randombytes_buf(p->key, sizeof(p->key));
    memset(&x, 0, sizeof(x));
    x.name = name;
    x.dirlen = slash ? (size_t)(slash - name) + 1 : 0;
    x.cfg = cfg;
    x.p = p;
    x.err = err;
    x.errlen = errlen;
    if (root != NULL && !lw_yaml_is_null(root)) {
        if (root->type != LW_YNODE_MAP) {
            rc = fail(&x, root->line, "expected a mapping of allow, rules and detectors, got %s",
                      lw_yaml_kind(root));
            goto fail;
        }
        rc = map_keys(&x, root, top_keys, 3, val);
        if (rc != 0)
            goto fail;
    }
    if ((val[0] && (rc = parse_entries(&x, false, val[0])) != 0) ||
        (val[1] && (rc = parse_entries(&x, true, val[1])) != 0))
        goto fail;
    if (val[2] != NULL && !lw_yaml_is_null(val[2])) {
        rc = parse_detectors(&x, val[2]);
        if (rc != 0)
            goto fail;
    } else {
        default_detector(&p->det[0], cfg);
        p->n_det = 1;
    }
    lw_yaml_free(root);
    *out = p;
    return 0;
fail:
    lw_yaml_free(root);
    lw_policy_free(p);
    return rc;
}

int lw_policy_load(const char *path, const lw_config *cfg, lw_policy **out, char *err,
                   size_t errlen)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return lw_policy_parse("(default policy)", "", 0, cfg, out, err, errlen);
    rc = lw_yaml_read_file(path, &text, &len, err, errlen);
    if (rc != 0)
        return rc;
    rc = lw_policy_parse(path, text, len, cfg, out, err, errlen);
    free(text);
    return rc;
}

static void free_entries(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].cidrs);
        free(e[i].asns);
        lw_domset_free(&e[i].domains);
    }
    free(e);
}

void lw_policy_free(lw_policy *p)
{
    if (p == NULL)
        return;
    free_entries(p->allow, p->n_allow);
    free_entries(p->rules, p->n_rules);
    sodium_memzero(p->key, sizeof(p->key));
    free(p);
}

/* ------------------------------------------------------------ accessors */

size_t lw_policy_detector_count(const lw_policy *p)
{
    return p ? p->n_det : 0;
}

const lw_detector *lw_policy_detector(const lw_policy *p, size_t i)
{
    return p && i < p->n_det ? &p->det[i] : NULL;
}

size_t lw_policy_allow_count(const lw_policy *p)
{
    return p ? p->n_allow : 0;
}

const char *lw_policy_allow_name(const lw_policy *p, size_t i)
{
    return p && i < p->n_allow ? p->allow[i].name : NULL;
}

size_t lw_policy_rule_count(const lw_policy *p)
{
    return p ? p->n_rules : 0;
}

const char *lw_policy_rule_name(const lw_policy *p, size_t i)
{
    return p && i < p->n_rules ? p->rules[i].name : NULL;
}

/* -------------------------------------------------------------- decide */

static bool has_asn(const struct entry *e, uint32_t asn)
{
    size_t lo = 0, hi = e->n_asns;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->asns[mid] == asn)
            return true;
        if (e->asns[mid] < asn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* What decide looks at, prepared once per destination. */
struct query {
    const lw_addr *addr;
    uint32_t asn; /* 0 = unknown */
    int country;  /* bit index, -1 = unknown */
    size_t n_names;
    lw_domquery names[LW_POLICY_MAX_NAMES];
};

static bool entry_matches(const struct entry *e, const struct query *q)
{
    size_t i;

    for (i = 0; i < e->n_cidrs; i++)
        if (lw_cidr_contains(&e->cidrs[i], q->addr))
            return true;
    if (q->asn != 0 && e->n_asns > 0 && has_asn(e, q->asn))
        return true;
    if (q->country >= 0 && e->any_country &&
        (e->countries[q->country / 8] & (1u << (q->country % 8))) != 0)
        return true;
    if (e->any_domain)
        for (i = 0; i < q->n_names; i++)
            if (lw_domset_match(&e->domains, &q->names[i]))
                return true;
    return false;
}

void lw_policy_decide(const lw_policy *p, const lw_policy_dest *d, lw_policy_verdict *v)
{
    struct query q;
    size_t i, n;

    v->allow = -1;
    v->rule = -1;
    v->threshold = 0;
    v->severity = 0;
    if (p == NULL || d == NULL || (p->n_allow == 0 && p->n_rules == 0))
        return;
    q.addr = &d->addr;
    q.asn = d->geo ? d->geo->asn : 0;
    q.country = d->geo ? country_bit(d->geo->country_iso) : -1;
    q.n_names = 0;
    n = d->n_names < LW_POLICY_MAX_NAMES ? d->n_names : LW_POLICY_MAX_NAMES;
    for (i = 0; p->any_domain && i < n; i++) {
        const char *s = d->names[i];
        /* A name longer than 254 bytes cannot be a host name: skip the
         * whole scan of a hostile one. */
        size_t len = s ? strnlen(s, LW_DOMAIN_MAX + 2) : 0;
        if (len > 0 && len <= LW_DOMAIN_MAX + 1 &&
            lw_domquery_init(&q.names[q.n_names], p->key, s, len))
            q.n_names++;
    }
    for (i = 0; i < p->n_allow; i++) {
        if (entry_matches(&p->allow[i], &q)) {
            v->allow = (int)i;
            return;
        }
    }
    for (i = 0; i < p->n_rules; i++) {
        if (entry_matches(&p->rules[i], &q)) {
            v->rule = (int)i;
            v->threshold = p->rules[i].threshold;
            v->severity = p->rules[i].severity;
            return;
        }
    }
}
