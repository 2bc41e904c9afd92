/*
 * privdrop.h - running with least privilege: switching user, pid files.
 *
 * The sensor needs root (or CAP_NET_RAW/CAP_NET_ADMIN) only to open capture
 * handles. Once they and every input file are open, lw_privdrop() switches
 * to an unprivileged user and group (as tcpdump -Z does): supplementary
 * groups are cleared, the group is set before the user, and the result is
 * verified (switching back to root must fail). After it returns, the
 * process holds no capability in its permitted or effective set, and
 * PR_SET_NO_NEW_PRIVS is set so that nothing it executes can regain any.
 */
#ifndef LEAKWATCH_PRIVDROP_H
#define LEAKWATCH_PRIVDROP_H

#include <stddef.h>

#include "leakwatch/err.h"

/*
 * Switches to `user` (name or numeric uid) and `group` (name or numeric
 * gid; NULL or "" = the user's primary group). Returns 0, or LW_ERR_INVAL
 * for an unknown user/group, or LW_ERR_IO when a step failed (message in
 * err: "--user nobody: setuid: Operation not permitted").
 */
int lw_privdrop(const char *user, const char *group, char *err, size_t errlen) LW_MUST_CHECK;

/*
 * Writes the pid to `path` (created 0644, truncated), refusing to start when
 * it names a live process already (LW_ERR_INVAL: "PATH: leakwatch already
 * running as pid N"). A stale file (process gone) is replaced.
 */
int lw_pidfile_write(const char *path, char *err, size_t errlen) LW_MUST_CHECK;

/* Removes the pid file if it still holds our pid. */
void lw_pidfile_remove(const char *path);

#endif
