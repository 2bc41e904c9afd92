/*
 * policy.h - where the data may go: allow-lists, per-destination rules and
 * the detectors that count bursts.
 *
 * The policy file (YAML, `policy:` in the config; see etc/policy.yaml):
 *
 *   allow:                      # destinations that never alert (counted instead)
 *     - name: crm-vendor
 *       cidrs: [203.0.113.0/24]
 *       asns: [64500]
 *       countries: [DE]         # ISO 3166-1 alpha-2
 *       domains: ["crm.example.com", "*.example.org"]
 *   rules:                      # destinations that change threshold/severity
 *     - name: paste-sites
 *       domains_file: paste_sites.txt   # one domain per line, '#' comments;
 *                                        # relative to the policy file
 *       threshold: 5            # replaces the detector's threshold
 *       severity: 1             # 1 (highest) .. 4
 *   detectors:                  # default: one "pair" from burst.window/threshold
 *     - name: pair
 *       key: pair               # pair: inside -> outside host; source: inside -> anywhere
 *       window: 60              # duration
 *       threshold: 20
 *       sid: 9000001            # alert.signature_id
 *       exact_limit: 4096       # distinct values held exactly; more are estimated
 *                                # (HyperLogLog), see hll.h
 *
 * An entry matches a destination when ANY of its criteria does (cidrs OR
 * asns OR countries OR domains). The first allow entry that matches wins;
 * then the first rule that matches. Domain patterns: "example.com" matches
 * that name only; "*.example.com" matches every name under it (not
 * example.com itself). Names are compared lower-case, without a trailing
 * dot. Unknown keys, bad CIDRs, countries that are not two letters, domain
 * patterns that are not host names, duplicate names and a detector list
 * with two detectors of one name are errors naming the file and line.
 *
 * Limits: per allow entry or rule at most 4096 CIDRs, 4096 ASNs, 256
 * countries and 100,000 domain patterns (domains and domains_file
 * together; a domains_file is at most 8 MiB); at most 1024 allow entries
 * and 1024 rules; 1..LW_POLICY_MAX_DETECTORS detectors. The policy file
 * itself is at most 1 MiB of YAML without anchors, aliases or tags.
 *
 * A loaded policy is immutable: any number of threads may call
 * lw_policy_decide and the accessors on it at once.
 */
#ifndef LEAKWATCH_POLICY_H
#define LEAKWATCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/config.h"
#include "leakwatch/err.h"
#include "leakwatch/geoip.h"
#include "leakwatch/types.h"

#define LW_POLICY_MAX_DETECTORS 8
#define LW_POLICY_NAME_MAX      48
#define LW_POLICY_MAX_NAMES     8 /* names of one destination looked at */

typedef enum lw_detector_key {
    LW_DETECTOR_PAIR = 0, /* (inside host, outside host) */
    LW_DETECTOR_SOURCE,   /* inside host, any outside host */
} lw_detector_key;

typedef struct lw_detector {
    char name[LW_POLICY_NAME_MAX];
    lw_detector_key key;
    uint32_t window_s;
    uint32_t threshold;
    uint32_t sid;
    uint32_t exact_limit;
} lw_detector;

/* What is known about a destination when a value goes to it. */
typedef struct lw_policy_dest {
    lw_addr addr;
    const lw_geo *geo;                      /* NULL: no GeoIP */
    const char *names[LW_POLICY_MAX_NAMES]; /* HTTP Host, TLS SNI, SMTP recipient domains,
                                               DNS registered domain; any case */
    size_t n_names;
} lw_policy_dest;

typedef struct lw_policy_verdict {
    int allow;          /* index of the allow entry that matched, or -1 */
    int rule;           /* index of the rule that matched, or -1 (only when allow == -1) */
    uint32_t threshold; /* the rule's threshold; 0 = the detector's */
    uint8_t severity;   /* the rule's severity; 0 = the signature's */
} lw_policy_verdict;

typedef struct lw_policy lw_policy;

/*
 * Loads the policy file (path "" or NULL = the default policy: no
 * allow-list, no rules, one pair detector from cfg's burst.window and
 * burst.threshold, sid 9000001, exact_limit burst.max_values). Errors:
 * "FILE:LINE: message" in err.
 */
int lw_policy_load(const char *path, const lw_config *cfg, lw_policy **out, char *err,
                   size_t errlen) LW_MUST_CHECK;

/*
 * Parses policy YAML held in memory, exactly as lw_policy_load does with a
 * file's contents (the fuzz harness and tests use it). `name` is used in
 * messages, and its directory anchors a relative domains_file.
 */
int lw_policy_parse(const char *name, const char *text, size_t len, const lw_config *cfg,
                    lw_policy **out, char *err, size_t errlen) LW_MUST_CHECK;

void lw_policy_free(lw_policy *p);

/* The detectors, in file order. */
size_t lw_policy_detector_count(const lw_policy *p);
const lw_detector *lw_policy_detector(const lw_policy *p, size_t i);

/* Names of allow entries and rules, for stats and alerts. */
size_t lw_policy_allow_count(const lw_policy *p);
const char *lw_policy_allow_name(const lw_policy *p, size_t i);
size_t lw_policy_rule_count(const lw_policy *p);
const char *lw_policy_rule_name(const lw_policy *p, size_t i);

/* Decides for one destination. Bounded work: CIDRs and ASNs/countries are
 * linear in the entry sizes; domains are looked up in a hash set per
 * entry, one lookup per label suffix of each name. */
void lw_policy_decide(const lw_policy *p, const lw_policy_dest *d, lw_policy_verdict *v);

#endif
