/*
 * yaml_util.h - the small YAML tree the config and signature loaders share.
 *
 * Private to sensor/config/. libyaml's event parser feeds a tree of scalars,
 * lists and mappings that remembers the 1-based line of every node, so that
 * the loaders can say "FILE:LINE: ..." about any value. The builder refuses
 * what a configuration file has no use for and what makes YAML dangerous to
 * load: aliases and anchors (the "billion laughs" expansion), tags, more
 * than one document, non-scalar mapping keys, NUL bytes inside a value,
 * nesting deeper than LW_YAML_MAX_DEPTH and more than LW_YAML_MAX_NODES
 * nodes. Files are capped at LW_YAML_MAX_BYTES before parsing starts.
 *
 * Duplicate keys are not rejected here: the loaders know their key sets and
 * check duplicates there in bounded time.
 */
#ifndef LEAKWATCH_CONFIG_YAML_UTIL_H
#define LEAKWATCH_CONFIG_YAML_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "leakwatch/err.h"

#define LW_YAML_MAX_BYTES (1024u * 1024u) /* 1 MiB */
#define LW_YAML_MAX_DEPTH 16
#define LW_YAML_MAX_NODES 131072

typedef enum lw_ynode_type { LW_YNODE_SCALAR, LW_YNODE_SEQ, LW_YNODE_MAP } lw_ynode_type;

typedef struct lw_ynode {
    lw_ynode_type type;
    int line;   /* 1-based line where the node starts */
    bool plain; /* scalar written without quotes (so "~" and "" may mean null) */
    char *str;  /* scalar: NUL-terminated, no NUL inside; NULL otherwise */
    size_t len; /* scalar: strlen(str) */
    /* list: the items; mapping: key0, value0, key1, value1, ... (keys are scalars) */
    struct lw_ynode **kids;
    size_t nkids;
    size_t cap;
} lw_ynode;

/*
 * Parses text[0..len) (one YAML document at most) into a tree. *root is
 * NULL for an empty stream (an empty file, or one with only comments). On
 * error returns LW_ERR_PARSE (or LW_ERR_NOMEM) and writes "NAME:LINE: ..."
 * into err.
 */
int lw_yaml_parse(const char *name, const char *text, size_t len, lw_ynode **root, char *err,
                  size_t errlen) LW_MUST_CHECK;

void lw_yaml_free(lw_ynode *n);

/*
 * Reads a whole file of at most LW_YAML_MAX_BYTES into a malloc'd,
 * NUL-terminated buffer the caller frees. On error returns LW_ERR_IO (or
 * LW_ERR_CAP, LW_ERR_NOMEM) and writes "PATH: ..." into err.
 */
int lw_yaml_read_file(const char *path, char **text, size_t *len, char *err,
                      size_t errlen) LW_MUST_CHECK;

/* True for a missing value: an unquoted empty scalar, "~" or "null". */
bool lw_yaml_is_null(const lw_ynode *n);

/* "a scalar", "a list", "a mapping" or "nothing" (null), for messages. */
const char *lw_yaml_kind(const lw_ynode *n);

/*
 * Copies s into out for quoting in a message: printable ASCII only (other
 * bytes become '?') and at most 64 bytes, "..." marking a cut.
 */
void lw_yaml_quote(char *out, size_t cap, const char *s);

#endif
