/*
 * config.h - the sensor's configuration: defaults, YAML file, --set overrides.
 *
 * One table describes every key (dotted path, type, bounds, default, doc),
 * so the YAML loader, --set KEY=VALUE and the documentation in
 * etc/leakwatch.yaml all agree. Unknown keys and bad values are errors that
 * name the file and line (or the --set argument) and the value.
 *
 * The loaded config is the only global state the sensor has; it is read-only
 * once the engine starts.
 */
#ifndef LEAKWATCH_CONFIG_H
#define LEAKWATCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"
#include "leakwatch/types.h"

typedef struct lw_cidr {
    lw_addr net; /* host bits cleared */
    uint8_t prefix_len;
} lw_cidr;

#define LW_CONFIG_MAX_HOME_NET 256

/* A list of short strings (output specs, interface names). */
#define LW_STRLIST_MAX      16
#define LW_STRLIST_ITEM_MAX 512
typedef struct lw_strlist {
    char item[LW_STRLIST_MAX][LW_STRLIST_ITEM_MAX];
    size_t count;
} lw_strlist;

typedef struct lw_config {
    /* home_net: the inside networks (IPv4 and IPv6 CIDRs) */
    lw_cidr home_net[LW_CONFIG_MAX_HOME_NET];
    size_t home_net_count;

    /* signatures: path of the PII signature file. A relative path given in
     * a config file is resolved against that file's directory. */
    char signatures[4096];

    struct {
        /* match.cache_dir: compiled Hyperscan databases are kept here (dbcache.h);
         * "" = compile at every start and reload */
        char cache_dir[4096];
    } match;

    struct {
        uint32_t window_s;   /* burst.window: seconds of packet time */
        uint32_t threshold;  /* burst.threshold: distinct values that make an alert */
        uint32_t max_pairs;  /* burst.max_pairs: (inside, outside) pairs tracked */
        uint32_t max_values; /* burst.max_values: distinct values kept per pair */
        uint32_t samples;    /* burst.samples: masked samples per alert (0..16) */
    } burst;

    struct {
        uint64_t memcap;           /* flow.memcap: record + per-flow state bytes per worker */
        uint32_t max_flows;        /* flow.max_flows: table cap; the oldest idle flow is evicted */
        uint32_t idle_timeout_s;   /* flow.idle_timeout */
        uint32_t closed_timeout_s; /* flow.closed_timeout: after FIN both ways or RST */
    } flow;

    struct {
        uint64_t depth;        /* stream.depth: bytes inspected per direction; 0 = all */
        uint64_t memcap;       /* stream.memcap: out-of-order bytes per worker */
        uint64_t max_buffer;   /* stream.max_buffer: out-of-order bytes per direction */
        uint32_t max_segments; /* stream.max_segments: out-of-order segments per direction */
        bool reassembly;       /* stream.reassembly: no = scan each segment alone */
        bool overlap_event;    /* stream.overlap_event: anomaly event on differing overlaps */
    } stream;

    struct {
        uint64_t memcap;        /* defrag.memcap: fragment bytes per worker */
        uint32_t max_trains;    /* defrag.max_trains */
        uint32_t timeout_s;     /* defrag.timeout */
        uint32_t max_fragments; /* defrag.max_fragments: per datagram */
    } defrag;

    struct {
        uint32_t max_line;         /* app.max_line: one protocol line or header, bytes */
        uint32_t max_headers;      /* app.max_headers: header lines per message */
        uint64_t max_decompressed; /* app.max_decompressed: bytes out of one compressed body */
        uint32_t max_ratio;        /* app.max_ratio: decompressed bytes per compressed byte */
        uint32_t max_encodings;    /* app.max_encodings: nested encodings / MIME depth */
    } app;

    struct {
        char index[4096];   /* edm.index: "" = exact data matching off */
        char key[4096];     /* edm.key */
        uint32_t threshold; /* edm.threshold: customer records per pair per window */
    } edm;

    struct {
        uint32_t interval_s; /* stats.interval: seconds of packet time; 0 = only at exit */
    } stats;

    /* policy: allow-lists, per-destination rules and detectors (policy.h);
     * "" = the default policy (one pair detector from burst.*) */
    char policy[4096];

    struct {
        char country_db[4096]; /* geoip.country_db: Country or City .mmdb; "" = none */
        char asn_db[4096];     /* geoip.asn_db */
        char city_db[4096];    /* geoip.city_db */
        bool required;         /* geoip.required: a database that fails to open stops start-up */
    } geoip;

    /* outputs: sink specs (see output.h); -o replaces the list */
    lw_strlist outputs;

    struct {
        uint32_t workers;   /* runmode.workers: 0 = one per core but one, at least 1 */
        uint64_t ring_size; /* runmode.ring_size: bytes of packet queue per worker */
    } runmode;

    struct {
        lw_strlist interfaces; /* capture.interfaces: live capture; -i adds to it */
        uint32_t snaplen;      /* capture.snaplen */
        uint64_t buffer_size;  /* capture.buffer_size: kernel ring per interface */
        bool promisc;          /* capture.promisc */
        bool immediate;        /* capture.immediate */
        char bpf[1024];        /* capture.bpf: "" = every packet */
    } capture;

    struct {
        char user[256];     /* run.user: "" = stay as started */
        char group[256];    /* run.group: "" = the user's primary group */
        char pidfile[4096]; /* run.pidfile: "" = none */
    } run;
} lw_config;

/* Fills c with the documented defaults. */
void lw_config_defaults(lw_config *c);

/*
 * Loads a YAML file (at most 1 MiB) over the current values of c. On error
 * returns a negative LW_ERR_* and writes one line "FILE:LINE: message" into
 * err; c is then left unchanged. Runs lw_config_check on the result.
 */
int lw_config_load_file(lw_config *c, const char *path, char *err, size_t errlen) LW_MUST_CHECK;

/*
 * Parses YAML text held in memory over the current values of c, exactly as
 * lw_config_load_file does with a file's contents. `name` is used in
 * messages, and its directory anchors a relative `signatures:` path.
 */
int lw_config_parse(lw_config *c, const char *name, const char *text, size_t len, char *err,
                    size_t errlen) LW_MUST_CHECK;

/*
 * Applies one "dotted.key=value" override (as given to --set). Lists take a
 * comma-separated value ("home_net=10.0.0.0/8,fd00::/8"). A relative
 * signatures path stays relative to the working directory. On error returns
 * a negative LW_ERR_* and writes "--set KEY=VALUE: message" into err; c is
 * then left unchanged.
 *
 * Rules that tie two keys together (burst.max_values >= burst.threshold) are
 * not checked here, so overrides may come in any order: call
 * lw_config_check after the last one.
 */
int lw_config_set(lw_config *c, const char *assignment, char *err, size_t errlen) LW_MUST_CHECK;

/* Checks the rules that tie keys together. Returns 0 or LW_ERR_INVAL with a
 * message naming both keys in err. */
int lw_config_check(const lw_config *c, char *err, size_t errlen) LW_MUST_CHECK;

/*
 * Parses "a.b.c.d/len" or "v6/len" (a bare address is a host route).
 * Returns 0, LW_ERR_PARSE for bad syntax or a prefix length out of range,
 * or LW_ERR_INVAL when host bits are set: *out then holds the network with
 * the host bits cleared, to suggest in a message.
 */
int lw_cidr_parse(const char *s, lw_cidr *out) LW_MUST_CHECK;

/* True when addr lies inside the network n (same family, prefix bits equal). */
bool lw_cidr_contains(const lw_cidr *n, const lw_addr *a);

/* True when addr lies inside one of the home_net CIDRs. */
bool lw_config_is_home(const lw_config *c, const lw_addr *addr);

/* One key of the config table, for --help output and tests. */
typedef struct lw_config_key_info {
    const char *key;  /* dotted path, e.g. "burst.window" */
    const char *type; /* "cidr-list", "path", "integer", "duration", "size", "boolean",
                         "string", "string-list" */
    const char *def;  /* default in --set syntax */
    const char *doc;  /* one-line meaning */
} lw_config_key_info;

/* The i-th key of the table, or NULL past the last one. */
const lw_config_key_info *lw_config_key_at(size_t i);

#endif
