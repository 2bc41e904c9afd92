/*
 * output.c - whole-line event output (see output.h).
 *
 * Lines go out with write(2), looping over short writes and EINTR. When the
 * disk fills in the middle of a line, the write error is counted and the
 * part already written is cut off again (ftruncate to where the line
 * began), so a regular file never holds half a line; on a pipe the cut line
 * is ended with a newline on the next successful write, so it cannot merge
 * with a later line. Writing resumes by itself when space returns.
 */
#include "leakwatch/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lw_output {
    int fd;
    bool is_stdout;
    bool failing;      /* inside a streak of failed writes */
    bool partial_line; /* the last write stopped inside a line */
    uint64_t lines;
    uint64_t errors;
    char path[4096];
};

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int lw_output_open(const char *path, lw_output **out, char *err, size_t errlen)
{
    *out = NULL;
    lw_output *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, errlen, "%s: out of memory", path);
        return LW_ERR_NOMEM;
    }
    if (strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        o->is_stdout = true;
    } else {
        o->fd = open_file(path);
        if (o->fd < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(o);
            return LW_ERR_IO;
        }
    }
    snprintf(o->path, sizeof(o->path), "%s", path);
    *out = o;
    return LW_OK;
}

static int write_all(int fd, const char *p, size_t len, size_t *written)
{
    *written = 0;
    while (*written < len) {
        ssize_t n = write(fd, p + *written, len - *written);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return LW_ERR_IO;
        }
        *written += (size_t)n;
    }
    return LW_OK;
}

int lw_output_write(lw_output *o, const char *line, size_t len)
{
    size_t written;
    /* Where the line starts in a regular file, so that a line cut short by
     * a full disk can be taken back whole (ftruncate) instead of left half
     * written; for pipes and terminals the cut line is closed with a
     * newline on the next success instead. */
    off_t start = o->is_stdout ? -1 : lseek(o->fd, 0, SEEK_END);
    if (o->partial_line) {
        if (write_all(o->fd, "\n", 1, &written) != LW_OK)
            goto fail;
        o->partial_line = false;
    }
    if (write_all(o->fd, line, len, &written) != LW_OK) {
        if (written > 0 && !(start >= 0 && ftruncate(o->fd, start) == 0))
            o->partial_line = true;
        goto fail;
    }
    if (o->failing) {
        fprintf(stderr, "leakwatch: %s: writing again after %llu failed line(s)\n", o->path,
                (unsigned long long)o->errors);
        o->failing = false;
    }
    o->lines++;
    return LW_OK;
fail:
    if (!o->failing)
        fprintf(stderr, "leakwatch: %s: write failed: %s (counting until it recovers)\n", o->path,
                strerror(errno));
    o->failing = true;
    o->errors++;
    return LW_ERR_IO;
}

int lw_output_reopen(lw_output *o)
{
    if (o->is_stdout)
        return LW_OK;
    int fd = open_file(o->path);
    if (fd < 0)
        return LW_ERR_IO;
    close(o->fd);
    o->fd = fd;
    o->partial_line = false;
    return LW_OK;
}

uint64_t lw_output_lines(const lw_output *o)
{
    return o->lines;
}

uint64_t lw_output_errors(const lw_output *o)
{
    return o->errors;
}

int lw_output_close(lw_output *o)
{
    int rc = LW_OK;
    if (!o)
        return rc;
    if (!o->is_stdout && close(o->fd) != 0)
        rc = LW_ERR_IO;
    free(o);
    return rc;
}
