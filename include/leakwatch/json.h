/*
 * json.h - a small JSON writer for EVE-style lines.
 *
 * Writes into a caller-owned fixed buffer; never allocates. If the buffer
 * fills, the writer stops writing and sets `overflow`, so a caller checks
 * once at the end and drops (and counts) the whole line rather than emit
 * half an object. Commas are inserted automatically.
 *
 * The flag is sticky and also covers misuse that would make the line invalid
 * JSON: nesting deeper than LW_JSON_MAX_DEPTH, a key outside an object or two
 * keys in a row, a value in an object without a key, an end that does not
 * match its begin, a second top-level value, or writing after lw_json_finish.
 * In every such case lw_json_finish returns 0 and the buffer holds "".
 *
 * Strings are escaped per RFC 8259: '"', '\\' and control bytes are escaped
 * (\n, \t, ... or \u00XX, and DEL as \u007f), bytes that are not valid UTF-8
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) become
 * \ufffd one byte at a time, and U+2028/U+2029 are escaped so a line is safe
 * for JavaScript consumers too. Output is therefore always one line of valid
 * UTF-8 JSON.
 */
#ifndef LEAKWATCH_JSON_H
#define LEAKWATCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

#define LW_JSON_MAX_DEPTH 16

/* Fields are private to json.c; they are visible only so a writer can live
 * on the stack. Level 0 is the top level, level d the d-th open container. */
typedef struct lw_json {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow; /* sticky: the line is lost (full, too deep or misused) */
    int depth;
    bool need_comma[LW_JSON_MAX_DEPTH + 1]; /* a value was written at this level */
    bool in_object[LW_JSON_MAX_DEPTH + 1];  /* this level is an object, not an array */
    bool have_key;                          /* a key was written; its value is due */
    bool finished;                          /* lw_json_finish succeeded */
} lw_json;

/* Starts an empty line in buf[0..cap). cap must leave room for the final
 * "\n" and NUL; a buffer smaller than 2 bytes is an immediate overflow. */
void lw_json_init(lw_json *j, char *buf, size_t cap);

void lw_json_object_begin(lw_json *j); /* '{' */
void lw_json_object_end(lw_json *j);   /* '}' */
void lw_json_array_begin(lw_json *j);
void lw_json_array_end(lw_json *j);

/* A key inside an object; the next value call writes its value. The key is
 * escaped like any string. A NULL key is misuse. */
void lw_json_key(lw_json *j, const char *key);

/* A string value; NULL writes JSON null. string_len may contain NUL bytes
 * (written as \u0000). */
void lw_json_string(lw_json *j, const char *s);
void lw_json_string_len(lw_json *j, const char *s, size_t len);
void lw_json_uint(lw_json *j, uint64_t v);
void lw_json_int(lw_json *j, int64_t v);
void lw_json_bool(lw_json *j, bool v);
void lw_json_null(lw_json *j);

/* Shorthands: key then value. */
void lw_json_kv_string(lw_json *j, const char *key, const char *s);
void lw_json_kv_uint(lw_json *j, const char *key, uint64_t v);

/*
 * Ends the line: appends '\n' and a NUL. Returns the line length (without
 * the NUL), or 0 when the buffer overflowed, the writer was misused, the
 * nesting is unbalanced, a key has no value or nothing was written; then
 * buf holds the empty string, never half a line. A second call after a
 * successful one returns 0 and leaves the finished line alone.
 */
size_t lw_json_finish(lw_json *j);

/* Formats packet time as EVE does: "2024-01-31T12:00:00.123456+0000" (UTC).
 * Pure arithmetic: independent of TZ and locale; any uint64 value fits. */
void lw_json_format_ts(uint64_t ts_us, char out[40]);

/* Formats an address as text (inet_ntop); out has room for 46 bytes.
 * Family 0 (unset), an unknown family or NULL give "". */
void lw_json_format_addr(const lw_addr *a, char out[46]);

#endif
