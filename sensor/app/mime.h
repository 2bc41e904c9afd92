/*
 * mime.h - streaming MIME entity parser (RFC 2045, 2046, 2047, RFC 5322
 * header syntax), private to sensor/app.
 *
 * One lw_mime walks the tree of one message at a time: header fields
 * (unfolded; values emitted with RFC 2047 encoded words decoded, each value
 * one content item), multipart bodies split on their boundary lines with a
 * stack of the boundaries in force, message/rfc822 parts parsed as nested
 * messages, and every leaf body decoded by its Content-Transfer-Encoding
 * (base64, quoted-printable, anything else as is) and emitted as one item.
 * Preambles and epilogues, which a mail reader does not show but a sender
 * can fill, are emitted as they are, each as an item.
 *
 * It is a push parser: the caller feeds the message bytes (already
 * dot-unstuffed, or the BDAT chunks) split anywhere, then calls
 * lw_mime_end. It never holds the caller's buffer. Memory is what the
 * caller hands over at init: one line buffer of `cap` bytes (a header
 * field, unfolded, or a body line that may be a boundary) and a stack of
 * `max_depth` levels, each with a boundary of at most 70 bytes (RFC 2046
 * section 5.1.1). Body lines that cannot be boundary lines are never
 * copied: they go from the input to the decoder.
 *
 * The counters are the caller's: `map` gives, for each LW_MIME_CTR_*, the
 * index in `counters` to add to, so one parser can serve SMTP and HTTP
 * multipart with their own counter names.
 */
#ifndef LEAKWATCH_APP_MIME_H
#define LEAKWATCH_APP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/app.h"
#include "leakwatch/codec.h"

#define LW_MIME_BOUNDARY_MAX 70 /* RFC 2046 section 5.1.1 */
#define LW_MIME_DEPTH_CAP    32 /* stack levels at most, whatever the config says */

enum lw_mime_ctr {
    LW_MIME_CTR_PARTS,            /* body parts started after a boundary line */
    LW_MIME_CTR_DECODED_BYTES,    /* content bytes emitted */
    LW_MIME_CTR_LINE_TOO_LONG,    /* header field or body line longer than cap */
    LW_MIME_CTR_TOO_DEEP,         /* multipart or message/rfc822 past max_depth */
    LW_MIME_CTR_BAD_BASE64,       /* base64 part with bytes outside the alphabet */
    LW_MIME_CTR_BAD_QP,           /* quoted-printable part with a broken escape */
    LW_MIME_CTR_BAD_ENCODED_WORD, /* "=?cs?X?...?=" that does not decode */
    LW_MIME_CTR_BAD_BOUNDARY,     /* multipart without a usable boundary */
    LW_MIME_CTR_TOO_MANY_HEADERS, /* entity with more than max_headers fields */
    LW_MIME_CTR_MAX
};

typedef struct lw_mime_level {
    uint8_t blen; /* 0: a message/rfc822 level, which has no boundary */
    bool digest;  /* multipart/digest: parts default to message/rfc822 */
    uint8_t boundary[LW_MIME_BOUNDARY_MAX];
} lw_mime_level;

/* Where content goes during one call. */
typedef struct lw_mime_io {
    const lw_app_sink *sink;
    int dir;
    bool inspect; /* false: parse the structure, emit nothing, decode nothing */
} lw_mime_io;

typedef struct lw_mime {
    /* set at init */
    uint8_t *buf;
    size_t cap;
    uint32_t max_headers;
    uint32_t max_depth;
    lw_mime_level *levels; /* max_depth entries */
    uint64_t *counters;
    const uint8_t *map;
    const lw_mime_io *io; /* valid during a call only */

    /* the entity being parsed */
    uint8_t mode;      /* headers or body */
    uint8_t enc;       /* body: none, base64, quoted-printable */
    uint32_t depth;    /* levels in use */
    uint32_t nheaders; /* header fields of this entity so far */
    uint8_t ct;        /* from Content-Type: text (any leaf), multipart, message */
    uint8_t cte;       /* from Content-Transfer-Encoding */
    bool ct_digest;
    uint8_t ct_blen; /* 0: no usable boundary parameter */
    uint8_t ct_boundary[LW_MIME_BOUNDARY_MAX];
    bool item_open; /* content emitted since the last item_end */
    lw_b64 b64;
    lw_qp qp;

    /* the line being read */
    bool at_sol;       /* next byte starts a line */
    bool buffering;    /* body: this line is kept in buf (it may be a boundary) */
    bool long_counted; /* this line was counted as too long */
    bool cr_held;      /* body: a CR ended the input; it may start the EOL */
    bool hdr_skip;     /* headers: this field overflowed, drop it */
    bool hdr_cont;     /* headers: this physical line continues a field */
    uint8_t pend_eol;  /* body: EOL of the previous line, not yet emitted */
    uint8_t last;      /* last byte of this line so far */
    size_t len;        /* bytes in buf */
    size_t phys;       /* headers: where this physical line starts in buf */
    uint64_t line_len; /* bytes of this physical line so far, without LF */
} lw_mime;

/* buf of cap bytes and levels of max_depth entries (at most
 * LW_MIME_DEPTH_CAP) must outlive m, as must counters and map. */
void lw_mime_init(lw_mime *m, uint8_t *buf, size_t cap, lw_mime_level *levels, uint32_t max_depth,
                  uint32_t max_headers, uint64_t *counters, const uint8_t *map);
/* Starts a new message: top-level header fields come first. */
void lw_mime_begin(lw_mime *m);
void lw_mime_feed(lw_mime *m, const uint8_t *data, size_t len, const lw_mime_io *io);
/* Bytes were lost: the line being read is dropped, the part being decoded
 * ends its item and restarts its decoder at the next line (base64 lines
 * realign there); the next byte fed starts a line. */
void lw_mime_gap(lw_mime *m, const lw_mime_io *io);
/* The message ended: a pending field or line is completed, items end. */
void lw_mime_end(lw_mime *m, const lw_mime_io *io);

#endif
