/*
 * signatures.h - loading the PII signature file (signatures/pii.yaml).
 *
 * A signature describes one shape of PII: its regex (Hyperscan syntax), the
 * kind of value it finds ("email", "phone", ... or a site's own kind), how a
 * candidate is validated and normalised, and how the match stage finds the
 * value's start without Hyperscan's costly start-of-match tracking:
 *   charset   the bytes a value may contain (a bracket-expression body,
 *             e.g. "0-9 -"); the match stage walks back over them from the
 *             reported end, at most max_len bytes;
 *   boundary  the bytes that may not directly follow a value (default
 *             "A-Za-z0-9"); the match stage appends (?:[^boundary]|\z) to the
 *             regex so that a value is reported once, when it has ended.
 *             A value's last byte must itself be in boundary.
 *   prefilter an optional promise about every match of the regex that lets
 *             the match stage skip text where no match can be (see
 *             lw_sig_prefilter); a wrong promise loses values.
 * The file is a YAML list under the key `signatures:`; see signatures/pii.yaml.
 */
#ifndef LEAKWATCH_SIGNATURES_H
#define LEAKWATCH_SIGNATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"
#include "leakwatch/validate.h"

#define LW_SIG_MAX_KINDS      32
#define LW_SIG_MAX_SIGNATURES 1024

/* Most distinct joiner (and lead) bytes a prefilter may name. */
#define LW_SIG_JOINERS_MAX 8
/* Most counted bytes a prefilter may require in one run. */
#define LW_SIG_RUN_MIN_MAX 64
/* Most joiners in a row a prefilter may allow. */
#define LW_SIG_GAP_MAX 4

/* The bytes a prefilter counts. */
typedef enum lw_sig_count_class {
    LW_SIG_COUNT_NONE = 0,
    LW_SIG_COUNT_DIGITS,      /* '0'..'9' */
    LW_SIG_COUNT_ALNUM_UPPER, /* '0'..'9', 'A'..'Z' */
} lw_sig_count_class;

/*
 * A promise about every match of a signature's regex, stated in the file,
 * that lets the match stage scan only the runs of text that could hold a
 * match (see match.c, "the gate"):
 *   count    the class of bytes counted;
 *   min      every match holds at least `min` counted bytes (1..64);
 *   joiners  the bytes that may stand between two counted bytes of a match
 *            (none of them counted, at most 8);
 *   gap      how many joiners may stand in a row there (1..4; 0 when there
 *            are no joiners): between two consecutive counted bytes of a
 *            match there are at most `gap` bytes, all joiners;
 *   lead     optional: a match's first counted byte directly follows one of
 *            these bytes (neither counted nor joiners), e.g. the '+' of an
 *            E.164 number.
 * So every match lies in one run of counted bytes joined by at most `gap`
 * joiners in a row, and that run holds at least `min` counted bytes. `set`
 * is true when the entry had a prefilter field.
 */
typedef struct lw_sig_prefilter {
    bool set;
    uint8_t count; /* lw_sig_count_class */
    uint8_t min;
    uint8_t gap;
    uint8_t njoiners;
    uint8_t nlead;
    char joiners[LW_SIG_JOINERS_MAX + 1];
    char lead[LW_SIG_JOINERS_MAX + 1];
} lw_sig_prefilter;

typedef struct lw_signature {
    uint32_t id;              /* signature_id in alerts; unique in the file */
    char *name;               /* human-readable, e.g. "Payment card number" */
    uint16_t kind;            /* index into lw_signature_set.kinds */
    char *regex;              /* as written in the file */
    char *boundary;           /* bracket-expression body as written (or the default) */
    uint8_t charset_map[32];  /* bit b set: byte b may be part of a value */
    uint8_t boundary_map[32]; /* bit b set: byte b may not follow a value */
    uint16_t max_len;         /* longest value in bytes, 1..LW_PII_VALUE_MAX-1 */
    lw_validator validator;
    lw_normaliser normaliser;
    uint8_t severity;           /* 1 (most severe) .. 4; default 2 */
    lw_sig_prefilter prefilter; /* optional; zero when absent */
    int line;                   /* line of the entry in the file, for messages */
} lw_signature;

typedef struct lw_signature_set {
    lw_signature *sigs;
    size_t count;
    char *kinds[LW_SIG_MAX_KINDS]; /* distinct kind names in order of first use */
    size_t kind_count;
} lw_signature_set;

/*
 * Loads and checks a signature file (everything but regex syntax, which the
 * match stage checks when it compiles). On error returns a negative LW_ERR_*
 * and writes one line "FILE:LINE: message" (naming the signature id where
 * there is one) into err.
 */
int lw_signatures_load(const char *path, lw_signature_set **out, char *err,
                       size_t errlen) LW_MUST_CHECK;

/* Parses a signature file held in memory (for tests and fuzzing); `name` is
 * used in messages. */
int lw_signatures_parse(const char *name, const char *text, size_t len, lw_signature_set **out,
                        char *err, size_t errlen) LW_MUST_CHECK;

void lw_signatures_free(lw_signature_set *set);

/* Parses a bracket-expression body ("A-Za-z0-9._%+-", "\\-", "\\]") into a
 * 256-bit map. Returns 0 or LW_ERR_PARSE. */
int lw_charset_parse(const char *body, uint8_t map[32]) LW_MUST_CHECK;

static inline int lw_charset_has(const uint8_t map[32], uint8_t b)
{
    return (map[b >> 3] >> (b & 7)) & 1;
}

#endif
