/*
 * edm.h - exact data matching: is this validated value one of OUR
 * customers' values, and is it a honeytoken?
 *
 * An index is built offline from the site's customer table (a CSV) by
 * `leakwatch-edm build`: every value is normalised exactly as the sensor
 * normalises what it finds on the wire, then stored only as a keyed hash -
 * BLAKE2b-128 keyed with a 32-byte site secret (libsodium's
 * crypto_generichash: a PRF, so the index reveals nothing to whoever lacks
 * the key, and it is already a dependency). The index holds no clear value.
 *
 * File layout (little-endian, mapped read-only by the sensor):
 *   header     magic "LWEDM\0\r\n", version, counts, section offsets,
 *              the kind names, a key check value (BLAKE2b of a fixed text
 *              under the key: a wrong key is detected at load, the key itself
 *              is not recoverable from it) and a BLAKE2b-256 checksum of the
 *              whole file except the checksum field itself (so the header's
 *              counts and kind names are covered too);
 *   entries    sorted by (hash, kind): {hash[16], record u32, kind u8,
 *              flags u8, pad[2]}; binary search, so a lookup is
 *              ~log2(entries) probes;
 *   labels     for canary rows only: record -> label text (never a value).
 * sensor/edm/edm_format.h gives the exact offsets.
 * A record is one row: its email and its phone map to the same record, so a
 * customer is counted once whatever leaks of them.
 *
 * Key files must be mode 0600 (or stricter) and owned by the reader; the
 * key never appears in any output.
 */
#ifndef LEAKWATCH_EDM_H
#define LEAKWATCH_EDM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"

#define LW_EDM_KEY_BYTES  32
#define LW_EDM_HASH_BYTES 16
#define LW_EDM_VERSION    1

typedef struct lw_edm lw_edm; /* a loaded (mapped) index */

/*
 * Reads a key file: 64 hex digits (a trailing newline allowed). Refuses a
 * file readable or writable by group or others. On error writes
 * "PATH: reason" into err.
 */
int lw_edm_key_load(const char *path, uint8_t key[LW_EDM_KEY_BYTES], char *err,
                    size_t errlen) LW_MUST_CHECK;

/* Writes a new random key file with mode 0600 (fails if it exists). */
int lw_edm_key_generate(const char *path, char *err, size_t errlen) LW_MUST_CHECK;

/* The keyed hash of one normalised value of a kind ("email", ...). */
void lw_edm_hash(const uint8_t key[LW_EDM_KEY_BYTES], const char *kind, const char *norm,
                 size_t norm_len, uint8_t out[LW_EDM_HASH_BYTES]);

/*
 * Maps and checks an index: magic, version, sizes against the file size,
 * checksum, and the key check value against key. On error writes one line
 * naming the file and the problem ("wrong key", "checksum mismatch",
 * "truncated", "version 7 not supported") into err.
 *
 * The index keeps a copy of the key (wiped by lw_edm_close) to hash the
 * values it is asked about. key may be NULL to read an index without its
 * key (`leakwatch-edm stats`): the key check is then skipped and every
 * lookup misses. Opening reads the whole file once (checksum, order of the
 * entries, label table), so lookups need no further checks.
 */
int lw_edm_open(const char *path, const uint8_t key[LW_EDM_KEY_BYTES], lw_edm **out, char *err,
                size_t errlen) LW_MUST_CHECK;

/* Opens an index held in memory (tests, fuzzing); the bytes must outlive it. */
int lw_edm_open_mem(const uint8_t *data, size_t len, const uint8_t key[LW_EDM_KEY_BYTES],
                    lw_edm **out, char *err, size_t errlen) LW_MUST_CHECK;

void lw_edm_close(lw_edm *e);

typedef struct lw_edm_hit {
    uint32_t record; /* row number in the CSV, 0-based, not counting the header */
    bool canary;     /* the row is a honeytoken */
} lw_edm_hit;

/* Looks a normalised value of a kind up. True when it is a customer's. */
bool lw_edm_lookup(const lw_edm *e, const char *kind, const char *norm, size_t norm_len,
                   lw_edm_hit *hit);

/* The label of a canary record ("" for others): safe to print. */
const char *lw_edm_label(const lw_edm *e, uint32_t record);

typedef struct lw_edm_info {
    uint32_t version;
    uint64_t records;
    uint64_t entries;
    uint64_t canaries;
    uint64_t entries_per_kind[8]; /* in the order of kind_names */
    char kind_names[8][32];
    size_t kinds;
} lw_edm_info;

void lw_edm_stats(const lw_edm *e, lw_edm_info *info);

/*
 * Building an index (the `leakwatch-edm build` tool; sensor/edm/edm_build.c).
 *
 * The builder reads one or more CSV files (RFC 4180: a header row, then
 * records; fields may be quoted, with "" for a quote and commas, CR and LF
 * inside quotes; records end in LF or CRLF). Each CSV's header is mapped to
 * kinds by the columns given in the options, or, when none are given, by
 * header name (see lw_edm_detect_kind). Every mapped cell is validated and
 * normalised exactly as the sensor does for its kind (email: email + lower;
 * phone: phone + e164; credit_card: credit_card + digits; ssn: ssn + digits;
 * iban: iban + alnum_upper; any other kind: none + none, or the normaliser
 * its column names), hashed with lw_edm_hash, and kept as one entry of the
 * row's record. Values that fail are counted in the report, never kept or
 * printed. A value seen for an earlier row keeps that row (counted as a
 * duplicate). Rows that break the CSV grammar, have the wrong number of
 * fields or exceed the line or field cap are counted and skipped. Only a
 * bad header, max_entries, more than 2^32 rows or a failed allocation stop
 * a build.
 *
 * Memory: the builder holds 24 bytes per value until finished (twice that
 * while sorting); at max_entries values adding fails with LW_ERR_CAP.
 */
#define LW_EDM_MAX_KINDS       8
#define LW_EDM_KIND_MAX        32  /* kind name buffer, NUL included */
#define LW_EDM_MAX_COLUMNS     16  /* mapped columns per CSV */
#define LW_EDM_LABEL_MAX       128 /* label buffer, NUL included */
#define LW_EDM_DEF_MAX_LINE    65536
#define LW_EDM_DEF_MAX_FIELD   4096
#define LW_EDM_DEF_MAX_ENTRIES (64u * 1024 * 1024)

typedef struct lw_edm_builder lw_edm_builder;

typedef struct lw_edm_column {
    const char *header; /* header text, compared case-insensitively after trimming */
    const char *kind;   /* "email", ..., or a site kind ([a-z0-9_.-], 1..31 bytes) */
    /* NULL: the kind's own ("none" for a site kind). A site kind may name
     * the normaliser its signature uses ("upper"), so the CSV's values and
     * the wire's hash alike; a built-in kind may not (it must stay the
     * sensor's). */
    const char *normaliser;
} lw_edm_column;

typedef struct lw_edm_build_opts {
    const lw_edm_column *columns; /* NULL or ncolumns 0: detect by header name */
    size_t ncolumns;
    const char *canary_column; /* rows with 1/yes/true/y/x here are canaries; NULL: none */
    const char *label_column;  /* a canary's label; NULL or empty cell: "row N" */
    size_t max_line;           /* bytes per record, quoted newlines included; 0: default */
    size_t max_field;          /* bytes per field; 0: default */
    size_t max_entries;        /* values held; 0: default */
} lw_edm_build_opts;

typedef struct lw_edm_build_report {
    uint64_t rows;                 /* data rows read, all files, rejected ones included */
    uint64_t rows_malformed;       /* CSV grammar: text after a closing quote, unterminated quote */
    uint64_t rows_too_long;        /* a record over max_line or a field over max_field bytes */
    uint64_t rows_bad_fields;      /* a field count other than the header's */
    uint64_t first_rejected_line;  /* physical line (1-based) of the first rejected row, 0: none */
    char first_rejected_file[128]; /* its file's name as given (truncated) */
    uint64_t records;    /* record numbers used: one per data row, rejected ones included */
    uint64_t canaries;   /* canary records */
    uint64_t duplicates; /* values already seen for an earlier row (dropped) */
    uint64_t entries;    /* entries written */
    size_t kinds;
    char kind_names[LW_EDM_MAX_KINDS][LW_EDM_KIND_MAX];
    uint64_t values[LW_EDM_MAX_KINDS];   /* cells that validated, per kind */
    uint64_t rejected[LW_EDM_MAX_KINDS]; /* non-empty cells that did not */
    size_t mapped;                       /* columns mapped in the last header read */
    struct {
        char header[64]; /* truncated header text (a column name, not a value) */
        char kind[LW_EDM_KIND_MAX];
    } columns[LW_EDM_MAX_COLUMNS];
} lw_edm_build_report;

/* The kind a header name suggests ("E-Mail Address" -> "email"), or NULL. */
const char *lw_edm_detect_kind(const char *header);

/* Copies opts (strings included); the key is copied and wiped on free. */
int lw_edm_builder_new(const uint8_t key[LW_EDM_KEY_BYTES], const lw_edm_build_opts *opts,
                       lw_edm_builder **out, char *err, size_t errlen) LW_MUST_CHECK;

/*
 * Adds one whole CSV held in memory; `name` is used in messages and
 * `canaries` marks every row a canary. On a bad header writes
 * "NAME:LINE: reason" into err and returns LW_ERR_PARSE.
 */
int lw_edm_builder_add_csv(lw_edm_builder *b, const char *name, const uint8_t *data, size_t len,
                           bool canaries, char *err, size_t errlen) LW_MUST_CHECK;

/* The same for a file, read in blocks. */
int lw_edm_builder_add_file(lw_edm_builder *b, const char *path, bool canaries, char *err,
                            size_t errlen) LW_MUST_CHECK;

/*
 * Sorts, deduplicates and serialises the index into a malloc'd buffer the
 * caller frees. May be called once; the report is complete afterwards.
 */
int lw_edm_builder_finish(lw_edm_builder *b, uint8_t **data, size_t *len, char *err,
                          size_t errlen) LW_MUST_CHECK;

/* Writes data atomically: PATH.tmp.XXXXXX, fsync, rename over PATH, mode 0644. */
int lw_edm_write_file(const char *path, const uint8_t *data, size_t len, char *err,
                      size_t errlen) LW_MUST_CHECK;

/* The counts so far (complete after lw_edm_builder_finish). */
void lw_edm_builder_report(const lw_edm_builder *b, lw_edm_build_report *rep);

void lw_edm_builder_free(lw_edm_builder *b);

/* True when the open index was built with key (a constant-time compare). */
bool lw_edm_key_matches(const lw_edm *e, const uint8_t key[LW_EDM_KEY_BYTES]);

#endif
