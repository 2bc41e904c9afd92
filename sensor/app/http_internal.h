/*
 * http_internal.h - the state the two halves of the HTTP/1.x decoder share:
 * http.c (message framing: lines, headers, Content-Length, chunks, the
 * request FIFO, resynchronisation) and http_body.c (what happens to body
 * bytes once framed: Content-Encoding layers, content types, multipart).
 * Private to sensor/app; tests may include it to check invariants.
 *
 * Ownership: one lw_http holds both directions' framing state; what a
 * direction needs only for some messages is allocated the first time a
 * message needs it:
 *   - its line buffer, grown on demand up to max_line; released after a
 *     call that leaves no partial line in it, until the direction has
 *     needed it twice (then a connection of many messages keeps it, so
 *     its later packets allocate nothing);
 *   - its http_ext (the encoding layers and the multipart boundary), at
 *     the first body with Content-Encodings to undo or the first multipart
 *     Content-Type, then kept for the parser's life.
 * A body that needs them adds inflate objects (one per encoding layer) and
 * a multipart level stack; both are freed when the body ends, is
 * abandoned, or the parser is freed. lw_http_footprint() counts all of it
 * but the inflate objects, each allocation with the allocator's overhead;
 * every place that changes one of those allocations sets h->mem_changed,
 * so that a caller need not recount after each call (test_http_mem.c
 * checks that no change goes unflagged).
 */
#ifndef LEAKWATCH_HTTP_INTERNAL_H
#define LEAKWATCH_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/app.h"
#include "leakwatch/codec.h"
#include "leakwatch/http.h"

#define HTTP_ENC_MAX      8   /* encodings remembered per message, whatever max_encodings says */
#define HTTP_MP_DEPTH_MAX 8   /* multipart levels, whatever max_encodings says */
#define HTTP_FIFO_MAX     64  /* requests awaiting their response */
#define HTTP_PROBE        16  /* compressed bytes held to tell "gzip" from plain text */
#define HTTP_BOUNDARY_MAX 70  /* RFC 2046 section 5.1.1 */
#define HTTP_LINE_MIN     64  /* floor for max_line: a request line must fit its method */
#define HTTP_LINE_FIRST   256 /* first size of a line buffer; doubled up to max_line */
#define HTTP_LINE_KEEP    2   /* line buffer allocations after which it is kept */
/* What one allocation costs beyond its bytes (glibc: an 8-byte header and
 * 16-byte steps), as the engine counts its own slots. */
#define HTTP_ALLOC_OVERHEAD 16

enum http_state {
    HS_START,      /* before a request/status line (also: resynchronising) */
    HS_HEADERS,    /* header fields, or trailer fields when `trailers` */
    HS_BODY_LEN,   /* Content-Length body: `remain` bytes left */
    HS_CHUNK_SIZE, /* chunk-size [ext] CRLF */
    HS_CHUNK_DATA, /* chunk data: `remain` bytes left */
    HS_CHUNK_CRLF, /* CRLF after chunk data */
    HS_BODY_CLOSE, /* body until the connection ends */
    HS_PASSTHROUGH /* CONNECT tunnel or 101 upgrade: not HTTP any more */
};

enum http_method { M_OTHER, M_HEAD, M_CONNECT };
enum http_enc { ENC_GZIP = 1, ENC_DEFLATE, ENC_UNKNOWN };
enum http_ctype { CT_RAW, CT_JSON, CT_FORM, CT_MULTIPART };

typedef struct http_dir http_dir;

/* One Content-Encoding layer of a body being decoded. */
typedef struct http_layer {
    lw_inflate *z;
    http_dir *d;
    uint8_t idx;   /* position in the list as sent; output goes to idx - 1 */
    uint8_t state; /* probing, inflating, plain (passed as is), dead */
    uint8_t nprobe;
    uint8_t probe[HTTP_PROBE];
} http_layer;

/* One level of a multipart body (RFC 2046 section 5.1). */
typedef struct http_mp {
    http_dir *d;
    uint8_t level;
    uint8_t delim[4 + HTTP_BOUNDARY_MAX];    /* CRLF "--" boundary */
    uint8_t fail[4 + HTTP_BOUNDARY_MAX + 1]; /* KMP failure function of delim */
    uint8_t dlen;
    uint8_t m;       /* bytes of delim matched so far */
    uint8_t state;   /* preamble, after delimiter, part headers, part body, epilogue */
    bool phantom;    /* the first two matched bytes (CRLF) were not in the input */
    bool found;      /* a delimiter was seen */
    uint8_t prev;    /* MP_AFTER: the state the delimiter interrupted */
    uint8_t after_n; /* '-' seen right after the delimiter (0 or 1) */
    bool committed;  /* what followed makes it a delimiter */
    bool closing;    /* "--" followed the delimiter */
    bool line_over;  /* part header line longer than max_line */
    uint32_t nheaders;
    uint8_t cte;  /* none, base64, quoted-printable */
    uint8_t leaf; /* raw, json, nested multipart */
    lw_b64 b64;
    lw_qp qp;
    lw_jsonesc js;
} http_mp;

/* What a direction needs only for some bodies: allocated at the first one
 * that does (Content-Encodings to undo, a multipart type), then kept. */
typedef struct http_ext {
    uint8_t boundary[HTTP_BOUNDARY_MAX]; /* of the message being read (blen bytes) */
    uint8_t nlayer_max;                  /* entries of layer: min(max_encodings, HTTP_ENC_MAX) */
    http_layer layer[];                  /* the body's layers, nlayers of them in use */
} http_ext;

/* The decoding pipeline of the body being read. */
typedef struct http_body {
    http_mp *mp; /* mp_depth levels, allocated for a multipart body */
    union {      /* by ctype: one of them at a time */
        lw_jsonesc js;
        lw_pct pct;
    };
    bool on;         /* decoding and emitting (the direction was inspected at body start) */
    bool dead;       /* output was cut (bomb, corrupt data): the rest is ignored */
    bool bombed;     /* DECOMPRESS_BOMB counted for this body */
    uint8_t nlayers; /* layers of d->ext in use */
    uint8_t ctype;
    bool form_value; /* form: inside a value (after '=') */
    uint8_t mp_depth;
} http_body;

/* Fields are ordered by size so that the two directions pack tightly. */
struct http_dir {
    lw_http *h;

    /* the line being read: grown on demand up to max_line (most lines are
     * short, and a flow holding 2 x max_line would be the biggest thing in
     * it); see the ownership note above for when it is released */
    uint8_t *line;
    http_ext *ext; /* NULL until a body needs it */

    /* output budget: content never exceeds in_total x max_ratio + max_decompressed */
    uint64_t in_total, out_total;
    uint64_t clen;
    uint64_t remain;
    uint64_t cs_size; /* chunk-size line */

    http_body body;

    uint32_t line_cap;
    uint32_t line_len;
    uint32_t pl_start; /* where the current physical line starts in line */
    uint32_t nheaders;
    uint32_t cs_len;

    uint16_t status;
    uint8_t dir;
    uint8_t state;
    uint8_t line_allocs; /* times the line buffer was allocated, up to HTTP_LINE_KEEP */
    bool inspect;        /* the last feed's inspect flag */
    bool resync;         /* looking for a message start after an error or gap */
    bool line_raw;       /* START: the rest of this line is not HTTP, emit it raw */
    bool line_over;      /* the line (logical header) outgrew max_line */
    bool over_emitted;   /* bytes past max_line of this physical line were emitted raw */
    bool item_open;      /* content emitted since the last item_end */
    bool cut_counted;    /* output budget exhaustion counted for this message */
    bool pl_cont;        /* the physical line continues a folded header */
    bool pl_skipws;      /* skipping the folding whitespace */
    bool hdr_pending;    /* a complete header waits to see if the next line folds into it */
    bool trailers;       /* HEADERS reads a chunked body's trailer section */
    bool hdr_capped;     /* TOO_MANY_HEADERS counted for this message */

    /* the message being read */
    uint8_t method; /* request: its own; response: its request's from the FIFO */
    bool chunked, te_present, has_clen, clen_bad;
    uint8_t enc[HTTP_ENC_MAX]; /* encodings in the order the sender applied them */
    uint8_t nenc;
    bool enc_overflow;
    uint8_t ctype;
    bool boundary_bad;
    uint8_t blen; /* boundary bytes in ext (0: none) */

    /* chunk-size line */
    uint8_t cs_phase; /* digits, extension */
    uint8_t cs_digits;
    bool cs_long;
};

struct lw_http {
    const lw_app_limits *lim;
    uint64_t *ctr;
    const lw_app_sink *sink; /* valid during a call */
    uint32_t max_line;
    bool upgraded;
    /* the footprint changed since lw_http_mem_changed() last said so: set
     * wherever an allocation counted by lw_http_footprint() is made, grown
     * or freed (it sits in what was padding: the struct keeps its size) */
    bool mem_changed;
    uint8_t fifo_head, fifo_n;
    uint8_t fifo[HTTP_FIFO_MAX / 4]; /* 2 bits per request: its enum http_method */
    http_dir d[2];
};

/* http.c */
/* The direction's http_ext, allocated on first use; NULL when memory ran
 * out (the caller then handles the body as sent). */
http_ext *lw_http_ext(http_dir *d);
void lw_http_emit(http_dir *d, const uint8_t *data, size_t len);
/* Room for `need` bytes in d's line buffer (need <= max_line); false when
 * memory ran out (the line is then handled as too long). */
bool lw_http_line_reserve(http_dir *d, size_t need);
void lw_http_emit_cb(void *ctx, const uint8_t *data, size_t len); /* ctx: http_dir */
void lw_http_item_end(http_dir *d);
void lw_http_count(http_dir *d, int ctr);
bool lw_http_ieq(const uint8_t *a, size_t alen, const char *b);
void lw_http_trim(const uint8_t **p, size_t *n);
/* Splits a header line at its first ':' into a trimmed name and value;
 * false when the line has no ':' (it is not a field). */
bool lw_http_split_field(const uint8_t *l, size_t n, const uint8_t **name, size_t *nl,
                         const uint8_t **v, size_t *vl);

/* http_body.c */
/* Parses a Content-Type value into ctype and boundary (blen 0 and bad set
 * when a multipart type has no usable boundary). */
void lw_http_parse_ctype(const uint8_t *v, size_t n, uint8_t *ctype, uint8_t *boundary,
                         uint8_t *blen, bool *bad);
/* Finds parameter `name` of a header value ("type; a=b; c=\"d\""), unquoted
 * into out (cap bytes, truncated); returns false when absent. */
bool lw_http_param(const uint8_t *v, size_t n, const char *name, uint8_t *out, size_t cap,
                   size_t *outlen);
void lw_http_body_begin(http_dir *d);
void lw_http_body_data(http_dir *d, const uint8_t *data, size_t len);
void lw_http_body_end(http_dir *d);   /* the body is complete (or the connection ended) */
void lw_http_body_abort(http_dir *d); /* the body is abandoned (gap, bad chunk) */

#endif
