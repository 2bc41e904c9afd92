/*
 * yaml_util.c - builds the loaders' YAML tree from libyaml events.
 *
 * libyaml's document loader would resolve aliases into a graph whose walk
 * can be exponential (the "billion laughs" file), accepts any depth and any
 * tag. The event parser lets us refuse those things as soon as they appear,
 * before the rest of the input is even read:
 *   - an alias or an anchor is an error (nothing here needs them);
 *   - an explicit tag is an error (a value's type comes from the key table);
 *   - a second document is an error;
 *   - nesting deeper than LW_YAML_MAX_DEPTH, or more than LW_YAML_MAX_NODES
 *     nodes, is an error, so memory and the loaders' recursion are bounded;
 *   - a list or mapping used as a mapping key is an error;
 *   - a scalar with a NUL byte inside ("\0" in a double-quoted string) is an
 *     error, because every consumer treats values as C strings.
 * Everything else (block and flow style, quoting, comments) is YAML 1.1 as
 * libyaml implements it. Lines are libyaml's 0-based marks plus one.
 *
 * Invariant: every node created is linked into the tree (or is the root)
 * before anything else can fail, so freeing the root frees everything.
 */
#include "yaml_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

__attribute__((format(printf, 3, 4))) static void fmt(char *err, size_t errlen, const char *f, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, f);
    vsnprintf(err, errlen, f, ap);
    va_end(ap);
}

void lw_yaml_quote(char *out, size_t cap, const char *s)
{
    const size_t max = 64;
    size_t i, o = 0;

    if (cap == 0)
        return;
    for (i = 0; s[i] != '\0' && o + 1 < cap; i++) {
        if (i == max) {
            if (o + 4 < cap) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        unsigned char b = (unsigned char)s[i];
        out[o++] = (b >= 0x20 && b < 0x7f) ? (char)b : '?';
    }
    out[o] = '\0';
}

bool lw_yaml_is_null(const lw_ynode *n)
{
    if (n == NULL)
        return true;
    if (n->type != LW_YNODE_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *lw_yaml_kind(const lw_ynode *n)
{
    if (lw_yaml_is_null(n))
        return "nothing";
    switch (n->type) {
    case LW_YNODE_SEQ:
        return "a list";
    case LW_YNODE_MAP:
        return "a mapping";
    case LW_YNODE_SCALAR:
    default:
        return "a scalar";
    }
}

void lw_yaml_free(lw_ynode *n)
{
    size_t i;

    if (n == NULL)
        return;
    /* Recursion depth is bounded by LW_YAML_MAX_DEPTH. */
    for (i = 0; i < n->nkids; i++)
        lw_yaml_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static int add_kid(lw_ynode *parent, lw_ynode *kid)
{
    if (parent->nkids == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 8;
        lw_ynode **k = realloc(parent->kids, ncap * sizeof(*k));
        if (k == NULL)
            return LW_ERR_NOMEM;
        parent->kids = k;
        parent->cap = ncap;
    }
    parent->kids[parent->nkids++] = kid;
    return 0;
}

/* The anchor and tag of a node event, whichever kind it is. */
static void event_props(const yaml_event_t *ev, const yaml_char_t **anchor, const yaml_char_t **tag)
{
    *anchor = NULL;
    *tag = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        *anchor = ev->data.scalar.anchor;
        *tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        *anchor = ev->data.sequence_start.anchor;
        *tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        *anchor = ev->data.mapping_start.anchor;
        *tag = ev->data.mapping_start.tag;
        break;
    default:
        break;
    }
}

struct builder {
    const char *name;
    char *err;
    size_t errlen;
    lw_ynode *root;
    lw_ynode *stack[LW_YAML_MAX_DEPTH];
    size_t depth;
    size_t nodes;
    int docs;
};

/* Creates the node for a scalar / list start / mapping start and links it. */
static int node_event(struct builder *b, const yaml_event_t *ev)
{
    const yaml_char_t *anchor, *tag;
    int line = (int)ev->start_mark.line + 1;
    lw_ynode *parent = b->depth ? b->stack[b->depth - 1] : NULL;
    lw_ynode *n;

    event_props(ev, &anchor, &tag);
    if (anchor != NULL) {
        fmt(b->err, b->errlen,
            "%s:%d: YAML anchors are not supported (aliases could expand without bound)", b->name,
            line);
        return LW_ERR_PARSE;
    }
    if (tag != NULL) {
        fmt(b->err, b->errlen, "%s:%d: YAML tags are not supported", b->name, line);
        return LW_ERR_PARSE;
    }
    if (parent != NULL && parent->type == LW_YNODE_MAP && parent->nkids % 2 == 0 &&
        ev->type != YAML_SCALAR_EVENT) {
        fmt(b->err, b->errlen, "%s:%d: a mapping key must be a plain string", b->name, line);
        return LW_ERR_PARSE;
    }
    if (b->nodes >= LW_YAML_MAX_NODES) {
        fmt(b->err, b->errlen, "%s:%d: more than %d YAML nodes", b->name, line, LW_YAML_MAX_NODES);
        return LW_ERR_CAP;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        goto nomem;
    n->line = line;
    if (ev->type == YAML_SCALAR_EVENT) {
        size_t len = ev->data.scalar.length;
        n->type = LW_YNODE_SCALAR;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->str = malloc(len + 1);
        if (n->str == NULL) {
            free(n);
            goto nomem;
        }
        memcpy(n->str, ev->data.scalar.value, len);
        n->str[len] = '\0';
        n->len = len;
    } else {
        n->type = ev->type == YAML_SEQUENCE_START_EVENT ? LW_YNODE_SEQ : LW_YNODE_MAP;
    }
    if (parent == NULL) {
        b->root = n;
    } else if (add_kid(parent, n) != 0) {
        lw_yaml_free(n);
        goto nomem;
    }
    b->nodes++;
    /* Checked once the node is linked, so the error path frees it. */
    if (n->type == LW_YNODE_SCALAR && strlen(n->str) != n->len) {
        fmt(b->err, b->errlen, "%s:%d: a value contains a NUL byte", b->name, line);
        return LW_ERR_PARSE;
    }
    if (n->type != LW_YNODE_SCALAR) {
        if (b->depth == LW_YAML_MAX_DEPTH) {
            fmt(b->err, b->errlen, "%s:%d: YAML nested deeper than %d levels", b->name, line,
                LW_YAML_MAX_DEPTH);
            return LW_ERR_PARSE;
        }
        b->stack[b->depth++] = n;
    }
    return 0;
nomem:
    fmt(b->err, b->errlen, "%s:%d: out of memory", b->name, line);
    return LW_ERR_NOMEM;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
    int line = (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";

    if (p->error == YAML_MEMORY_ERROR) {
        fmt(b->err, b->errlen, "%s: out of memory while parsing YAML", b->name);
        return;
    }
    if (p->context != NULL)
        fmt(b->err, b->errlen, "%s:%d: YAML syntax error: %s %s", b->name, line, p->context,
            problem);
    else
        fmt(b->err, b->errlen, "%s:%d: YAML syntax error: %s", b->name, line, problem);
}

/* Handles one event; returns 1 at the end of the stream, 0 to go on, <0 on error. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;

    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
        return 0;
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        if (++b->docs > 1) {
            fmt(b->err, b->errlen, "%s:%d: more than one YAML document", b->name, line);
            return LW_ERR_PARSE;
        }
        return 0;
    case YAML_ALIAS_EVENT:
        fmt(b->err, b->errlen,
            "%s:%d: YAML aliases are not supported (they could expand without bound)", b->name,
            line);
        return LW_ERR_PARSE;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        return node_event(b, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

int lw_yaml_parse(const char *name, const char *text, size_t len, lw_ynode **root, char *err,
                  size_t errlen)
{
    struct builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0;

    *root = NULL;
    memset(&b, 0, sizeof(b));
    b.name = name;
    b.err = err;
    b.errlen = errlen;
    if (len > LW_YAML_MAX_BYTES) {
        fmt(err, errlen, "%s: larger than %u bytes", name, LW_YAML_MAX_BYTES);
        return LW_ERR_CAP;
    }
    if (!yaml_parser_initialize(&parser)) {
        fmt(err, errlen, "%s: out of memory", name);
        return LW_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            syntax_error(&b, &parser);
            rc = parser.error == YAML_MEMORY_ERROR ? LW_ERR_NOMEM : LW_ERR_PARSE;
            break;
        }
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc != 0)
            break;
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        lw_yaml_free(b.root);
        return rc;
    }
    *root = b.root;
    return 0;
}

int lw_yaml_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc;

    *text = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        fmt(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return LW_ERR_IO;
    }
    /* One byte more than the cap tells "exactly the cap" from "larger". */
    buf = malloc(LW_YAML_MAX_BYTES + 2);
    if (buf == NULL) {
        fclose(f);
        fmt(err, errlen, "%s: out of memory", path);
        return LW_ERR_NOMEM;
    }
    n = fread(buf, 1, LW_YAML_MAX_BYTES + 1, f);
    if (ferror(f)) {
        fmt(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = LW_ERR_IO;
        goto fail;
    }
    if (n > LW_YAML_MAX_BYTES) {
        fmt(err, errlen, "%s: larger than %u bytes", path, LW_YAML_MAX_BYTES);
        rc = LW_ERR_CAP;
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
fail:
    fclose(f);
    free(buf);
    return rc;
}
