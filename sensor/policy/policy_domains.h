/*
 * policy_domains.h - host name normalisation and the domain sets of the
 * policy's allow entries and rules.
 *
 * Private to sensor/policy/. A domain set holds two open-addressing hash
 * sets over one string arena: exact names ("crm.example.com") and wildcard
 * suffixes ("*.example.org" is stored as "example.org" in the wildcard
 * set). Both are keyed with SipHash-2-4 (libsodium's crypto_shorthash)
 * under a random 128-bit key chosen once per loaded policy, so the slot a
 * name lands in cannot be predicted by whoever writes the names on the wire
 * or, for that matter, the domain lists. All sets of one policy share the
 * key, which lets lw_policy_decide hash each queried name and suffix once
 * and probe every entry's sets with the same hashes.
 */
#ifndef LEAKWATCH_POLICY_DOMAINS_H
#define LEAKWATCH_POLICY_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"

#define LW_DOMAIN_MAX        253 /* RFC 1035 2.3.4, text form without the root dot */
#define LW_DOMAIN_LABEL_MAX  63
#define LW_DOMAIN_MAX_LABELS 127                  /* 253 bytes hold at most 127 one-byte labels */
#define LW_DOMSET_MAX        100000u              /* patterns per entry */
#define LW_DOMFILE_MAX_BYTES (8u * 1024u * 1024u) /* one domains_file */
#define LW_DOMAIN_KEY_BYTES  16

struct lw_domslot;

typedef struct lw_domtable {
    struct lw_domslot *slot; /* cap slots; NULL while empty */
    size_t cap;              /* power of two, or 0 */
    size_t count;
} lw_domtable;

typedef struct lw_domset {
    lw_domtable exact, wild;
    char *arena; /* the stored names, each NUL-terminated */
    size_t arena_len, arena_cap;
} lw_domset;

/*
 * Normalises a host name: strips one trailing dot, lower-cases ASCII and
 * checks that what is left is a host name: 1..253 bytes of labels of 1..63
 * bytes from [a-z0-9_-] separated by single dots. (The underscore is
 * outside RFC 952 but common in real DNS names, so it is taken.) Writes
 * the result NUL-terminated into out and returns its length, or 0 when s is
 * not a host name.
 */
size_t lw_domain_normalise(const char *s, size_t len, char out[LW_DOMAIN_MAX + 1]);

uint64_t lw_domain_hash(const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *s, size_t len);

/*
 * Adds one pattern ("name" or "*.name", any case, one trailing dot
 * allowed). Returns 0 (also when it was already there), LW_ERR_PARSE for a
 * pattern that is not a host name or a wildcard over one, LW_ERR_CAP past
 * LW_DOMSET_MAX patterns, LW_ERR_NOMEM.
 */
int lw_domset_add(lw_domset *s, const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *pattern,
                  size_t len) LW_MUST_CHECK;

size_t lw_domset_count(const lw_domset *s);

void lw_domset_free(lw_domset *s);

/*
 * Adds every pattern of a domains file: one per line, blank lines and
 * '#' comments (whole lines or after the pattern) ignored, at most
 * LW_DOMFILE_MAX_BYTES, a regular file. On a bad line writes
 * "PATH:LINE: LABEL: message" into err and sets *bad_line to the line; when
 * the file cannot be read at all writes only the reason ("cannot open: No
 * such file or directory") and sets *bad_line to 0, so the caller can point
 * at the policy line that names the file.
 */
int lw_domset_load_file(lw_domset *s, const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *path,
                        const char *label, int *bad_line, char *err, size_t errlen) LW_MUST_CHECK;

/* One destination name, normalised and hashed once for every set. */
typedef struct lw_domquery {
    char name[LW_DOMAIN_MAX + 1];
    uint8_t len;
    uint8_t nsuf;                          /* proper suffixes: one per dot */
    uint8_t suf_off[LW_DOMAIN_MAX_LABELS]; /* start of suffix i within name */
    uint64_t h_exact;
    uint64_t h_suf[LW_DOMAIN_MAX_LABELS];
} lw_domquery;

/* Prepares q from a raw name; false when it is not a host name. */
bool lw_domquery_init(lw_domquery *q, const uint8_t key[LW_DOMAIN_KEY_BYTES], const char *s,
                      size_t len);

/* True when q's name is in the exact set, or one of its proper suffixes is
 * in the wildcard set. At most 1 + LW_DOMAIN_MAX_LABELS probes. */
bool lw_domset_match(const lw_domset *s, const lw_domquery *q);

#endif
