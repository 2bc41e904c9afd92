/*
 * codec.h - the content codecs application decoders share.
 *
 * Streaming decoders (base64, quoted-printable, percent-encoding, JSON
 * string escapes, gzip/deflate) keep a few bytes of state between calls, so
 * their input may be split anywhere and the output is the same; output goes
 * to a callback in chunks, valid during the call. None of them allocates
 * except inflate, which owns a zlib stream. Every malformed input is
 * counted in the decoder's state and skipped, never fatal.
 *
 * One-shot helpers (hex, base32, base64 of a short string) serve DNS label
 * payloads: they refuse anything that is not entirely valid.
 */
#ifndef LEAKWATCH_CODEC_H
#define LEAKWATCH_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*lw_codec_out_fn)(void *ctx, const uint8_t *data, size_t len);

/* ---- base64 (RFC 4648 section 4 and 5: both alphabets accepted) --------- */
typedef struct lw_b64 {
    uint32_t acc;     /* bits gathered */
    uint8_t nbits;    /* bits in acc */
    bool ended;       /* '=' padding seen: the rest of the item is ignored */
    uint64_t invalid; /* bytes outside both alphabets (whitespace is not counted) */
} lw_b64;
void lw_b64_init(lw_b64 *d);
void lw_b64_feed(lw_b64 *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx);
/* Ends the item: each byte was written as soon as its 8 bits were in, so
 * this only drops leftover bits that do not make a byte. A '=' makes the
 * decoder ignore everything until lw_b64_init. */
void lw_b64_finish(lw_b64 *d, lw_codec_out_fn out, void *ctx);

/* ---- quoted-printable (RFC 2045 section 6.7) ---------------------------- */
typedef struct lw_qp {
    uint8_t state;    /* 0 text, 1 after '=', 2 after '=X', 3 after '=\r' */
    uint8_t hi;       /* the first hex digit, as it came */
    uint64_t invalid; /* '=' not followed by two hex digits or a line break */
} lw_qp;
void lw_qp_init(lw_qp *d);
void lw_qp_feed(lw_qp *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx);
/* Ends the item: a final lone '=' is a soft line break whose CRLF belongs to
 * the MIME boundary (dropped, not counted); "=X" or "=\r" at the end are
 * counted and written as they stand. The decoder is ready for a new item. */
void lw_qp_finish(lw_qp *d, lw_codec_out_fn out, void *ctx);

/* ---- percent-encoding (RFC 3986 section 2.1; '+' as space in forms) ----- */
typedef struct lw_pct {
    uint8_t state;      /* 0 text, 1 after '%', 2 after '%X' */
    uint8_t hi;         /* the first hex digit, as it came */
    bool plus_is_space; /* application/x-www-form-urlencoded */
    uint64_t invalid;   /* '%' not followed by two hex digits (passed through as is) */
} lw_pct;
void lw_pct_init(lw_pct *d, bool plus_is_space);
void lw_pct_feed(lw_pct *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx);
/* Ends the item: a trailing "%" or "%X" is counted and written as it stands. */
void lw_pct_finish(lw_pct *d, lw_codec_out_fn out, void *ctx);

/* ---- JSON string escapes (RFC 8259 section 7), over a whole JSON text --- */
/* Outside strings bytes pass through; inside strings \" \\ \/ \b \f \n \r \t
 * and \uXXXX (surrogate pairs joined, written as UTF-8) are decoded. A lone
 * surrogate or a malformed \u escape becomes U+FFFD, an unknown escape \x
 * is written as the two bytes; both are counted in `invalid`. */
typedef struct lw_jsonesc {
    uint8_t state; /* outside, in string, after '\\', in \u (count in nhex) */
    uint8_t nhex;
    uint32_t cp;   /* code point being read */
    uint32_t high; /* pending high surrogate, 0 = none */
    uint64_t invalid;
} lw_jsonesc;
void lw_jsonesc_init(lw_jsonesc *d);
void lw_jsonesc_feed(lw_jsonesc *d, const uint8_t *in, size_t len, lw_codec_out_fn out, void *ctx);
/* Ends the JSON text: a pending escape is counted (a high surrogate or \u
 * becomes U+FFFD, a lone '\' is written) and the decoder is back outside
 * strings, ready for a new text. */
void lw_jsonesc_finish(lw_jsonesc *d, lw_codec_out_fn out, void *ctx);

/* ---- gzip / deflate (zlib) with decompression-bomb caps ----------------- */
typedef enum lw_inflate_kind {
    LW_INFLATE_GZIP,    /* RFC 1952 (Content-Encoding: gzip, x-gzip) */
    LW_INFLATE_DEFLATE, /* RFC 1950 zlib, or raw RFC 1951 when the zlib header is absent
                         * (decided on the first 2 bytes; a gzip header 1f 8b is gzip) */
} lw_inflate_kind;

typedef enum lw_inflate_status {
    LW_INFLATE_OK = 0,  /* more input welcome */
    LW_INFLATE_DONE,    /* the compressed stream ended; later input is ignored */
    LW_INFLATE_BOMB,    /* max_out or max_ratio reached: output was cut there */
    LW_INFLATE_CORRUPT, /* zlib refused the data: output stops */
    LW_INFLATE_NOMEM,
} lw_inflate_status;

typedef struct lw_inflate lw_inflate;
/* max_out: most bytes written in all (output is cut at exactly max_out);
 * max_ratio: most output bytes per input byte once past the first 64 KiB of
 * output (checked per 16 KiB of output; 0 = no ratio cap). Only the first
 * gzip member is decoded. NULL on allocation failure. */
lw_inflate *lw_inflate_new(lw_inflate_kind kind, uint64_t max_out, uint32_t max_ratio);
/* Returns the status after this input; once it is not OK it stays, and later
 * input is ignored. Output written before BOMB or CORRUPT stands. */
lw_inflate_status lw_inflate_feed(lw_inflate *z, const uint8_t *in, size_t len, lw_codec_out_fn out,
                                  void *ctx);
uint64_t lw_inflate_total_out(const lw_inflate *z);
void lw_inflate_free(lw_inflate *z);

/* ---- one-shot decoders for short strings (DNS labels) ------------------- */
/* Each returns the decoded length, or 0 when the input is empty, is not
 * entirely and canonically of that encoding (bad character or length,
 * wrong padding, non-zero unused low bits), or does not fit in cap. */
size_t lw_hex_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* RFC 4648 base32, case-insensitive, padding optional */
size_t lw_base32_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* RFC 4648 base64 or base64url, padding optional */
size_t lw_base64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

#endif
