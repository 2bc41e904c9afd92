/*
 * privdrop.c - giving up root after the capture handles are open, and the
 * pid file.
 *
 * Order matters (POSIX setresuid/setresgid, Linux capabilities(7)):
 *   1. resolve the user and group first, while /etc/passwd and NSS are
 *      still readable, and fail before changing anything if they are
 *      unknown;
 *   2. clear the supplementary groups (setgroups needs CAP_SETGID, so it
 *      must come before the uid change);
 *   3. set real, effective and saved gid (also needs privilege);
 *   4. set real, effective and saved uid: with all three non-zero, the
 *      kernel clears the permitted and effective capability sets;
 *   5. clear the capability sets and the ambient set explicitly anyway,
 *      for the case where securebits (SECBIT_KEEP_CAPS) kept them, and
 *      read them back to verify;
 *   6. verify that setuid(0) now fails: a drop that can be undone is not a
 *      drop, and we would rather refuse to run than run believing it;
 *   7. PR_SET_NO_NEW_PRIVS, so that nothing executed later (there should
 *      be nothing) can gain privilege through set-uid bits or file caps.
 * Switching to uid 0 is refused outright: it would verify nothing.
 *
 * A sensor started unprivileged (with file capabilities, for instance) and
 * asked to "switch" to the user it already is does no switch, but still
 * drops its capabilities and sets NO_NEW_PRIVS, so the post-condition in
 * privdrop.h holds either way. Asked for another user, it cannot comply
 * and says so.
 *
 * The pid file is checked before it is written: a pid that names a live
 * process (kill(pid, 0) succeeds, or fails with EPERM, which means the
 * process exists but belongs to someone else) means another sensor holds
 * it. Anything else in the file (a dead pid, garbage, nothing) is stale
 * and replaced. The file is opened with O_NOFOLLOW so that a symlink
 * planted in a shared directory cannot redirect the write.
 */
#include "leakwatch/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define NSS_BUF_START 4096
#define NSS_BUF_MAX   (1u << 20) /* a group with thousands of members still fits */

/* Parses a decimal id ("65534"); false for anything else or an overflow. */
static bool parse_id(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v >= UINT32_MAX) /* (uid_t)-1 means "unchanged" to setresuid */
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/*
 * Looks a user up by name, or by number when `name` is all digits.
 * Returns 1 found (uid, primary gid set), 0 unknown name, or a negative
 * errno for a lookup failure. A numeric uid without an entry is found with
 * has_gid false.
 */
static int lookup_user(const char *name, uid_t *uid, gid_t *gid, bool *has_gid)
{
    uint32_t num;
    bool numeric = parse_id(name, &num);
    size_t cap = NSS_BUF_START;
    int rc;

    for (;;) {
        char *buf = malloc(cap);
        if (!buf)
            return -ENOMEM;
        struct passwd pw, *res = NULL;
        rc = numeric ? getpwuid_r((uid_t)num, &pw, buf, cap, &res)
                     : getpwnam_r(name, &pw, buf, cap, &res);
        if (rc == 0 && res) {
            *uid = pw.pw_uid;
            *gid = pw.pw_gid;
            *has_gid = true;
            free(buf);
            return 1;
        }
        free(buf);
        if (rc == ERANGE && cap < NSS_BUF_MAX) {
            cap *= 2;
            continue;
        }
        break;
    }
    /* glibc reports "no such entry" as 0 with no result; some NSS modules
     * as ENOENT or ESRCH. */
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return -rc;
    if (numeric) {
        *uid = (uid_t)num;
        *has_gid = false;
        return 1;
    }
    return 0;
}

/* As lookup_user, for a group. */
static int lookup_group(const char *name, gid_t *gid)
{
    uint32_t num;
    if (parse_id(name, &num)) {
        *gid = (gid_t)num;
        return 1;
    }
    size_t cap = NSS_BUF_START;
    int rc;
    for (;;) {
        char *buf = malloc(cap);
        if (!buf)
            return -ENOMEM;
        struct group gr, *res = NULL;
        rc = getgrnam_r(name, &gr, buf, cap, &res);
        if (rc == 0 && res) {
            *gid = gr.gr_gid;
            free(buf);
            return 1;
        }
        free(buf);
        if (rc == ERANGE && cap < NSS_BUF_MAX) {
            cap *= 2;
            continue;
        }
        break;
    }
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return -rc;
    return 0;
}

/* Empties the permitted, effective, inheritable and ambient capability
 * sets, then reads them back. Lowering capabilities needs no privilege. */
static int drop_caps(const char **step)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));

    /* Older kernels without ambient capabilities say EINVAL: nothing to clear. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        *step = "prctl(PR_CAP_AMBIENT_CLEAR_ALL)";
        return -1;
    }
    if (syscall(SYS_capset, &hdr, data) != 0) {
        *step = "capset";
        return -1;
    }
    if (syscall(SYS_capget, &hdr, data) != 0) {
        *step = "capget";
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (data[i].permitted || data[i].effective || data[i].inheritable) {
            *step = "capabilities still held after capset";
            errno = EPERM;
            return -1;
        }
    }
    return 0;
}

static int fail_step(char *err, size_t errlen, const char *user, const char *step, int e)
{
    snprintf(err, errlen, "--user %s: %s: %s", user, step, strerror(e));
    return LW_ERR_IO;
}

/* Capabilities and NO_NEW_PRIVS: the end state for both paths. */
static int seal(char *err, size_t errlen, const char *user)
{
    const char *step = NULL;
    if (drop_caps(&step) != 0)
        return fail_step(err, errlen, user, step, errno);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_step(err, errlen, user, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
    return LW_OK;
}

int lw_privdrop(const char *user, const char *group, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (!user || user[0] == '\0') {
        snprintf(err, errlen, "--user: no user given");
        return LW_ERR_INVAL;
    }

    /* 1. resolve everything before changing anything */
    uid_t uid = 0; /* set by lookup_user; 0 would be refused below anyway */
    gid_t gid = 0;
    bool has_gid = false;
    int rc = lookup_user(user, &uid, &gid, &has_gid);
    if (rc < 0)
        return fail_step(err, errlen, user, "user lookup", -rc);
    if (rc == 0) {
        snprintf(err, errlen, "--user %s: no such user", user);
        return LW_ERR_INVAL;
    }
    bool explicit_group = group && group[0] != '\0';
    if (explicit_group) {
        rc = lookup_group(group, &gid);
        if (rc < 0) {
            snprintf(err, errlen, "--group %s: group lookup: %s", group, strerror(-rc));
            return LW_ERR_IO;
        }
        if (rc == 0) {
            snprintf(err, errlen, "--group %s: no such group", group);
            return LW_ERR_INVAL;
        }
    } else if (!has_gid) {
        snprintf(err, errlen, "--user %s: uid has no passwd entry; give a group too", user);
        return LW_ERR_INVAL;
    }
    if (uid == 0) {
        snprintf(err, errlen, "--user %s: refusing to switch to uid 0 (root)", user);
        return LW_ERR_INVAL;
    }

    /* Not root: only "become who we already are" can be honoured. */
    if (geteuid() != 0) {
        bool same_user = getuid() == uid && geteuid() == uid;
        bool same_group = !explicit_group || (getgid() == gid && getegid() == gid);
        if (!same_user || !same_group) {
            snprintf(err, errlen,
                     "--user %s: cannot switch user: not running as root (uid %u); "
                     "start as root or drop --user",
                     user, (unsigned)geteuid());
            return LW_ERR_IO;
        }
        return seal(err, errlen, user);
    }

    /* 2..4: groups, gid, uid, in that order */
    if (setgroups(0, NULL) != 0)
        return fail_step(err, errlen, user, "setgroups", errno);
    if (setresgid(gid, gid, gid) != 0)
        return fail_step(err, errlen, user, "setgid", errno);
    if (setresuid(uid, uid, uid) != 0)
        return fail_step(err, errlen, user, "setuid", errno);

    /* 5, 7 */
    rc = seal(err, errlen, user);
    if (rc != LW_OK)
        return rc;

    /* 6: it must not be undoable */
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid)
        return fail_step(err, errlen, user, "getresuid after setuid", EPERM);
    if (setuid(0) == 0 || seteuid(0) == 0) {
        snprintf(err, errlen, "--user %s: could switch back to root after dropping", user);
        return LW_ERR_IO;
    }
    if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
        snprintf(err, errlen, "--user %s: could switch back to group root after dropping", user);
        return LW_ERR_IO;
    }
    return LW_OK;
}

/* ---------------------------------------------------------------- pid file */

/* Reads the pid a pid file names; 0 when it is missing, empty or garbage. */
static pid_t read_pidfile(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';

    uint64_t v = 0;
    ssize_t i = 0;
    for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        v = v * 10 + (uint64_t)(buf[i] - '0');
        if (v > INT32_MAX)
            return 0;
    }
    if (i == 0)
        return 0;
    for (; i < n; i++) /* only whitespace may follow the number */
        if (buf[i] != '\n' && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\t')
            return 0;
    return (pid_t)v;
}

static bool pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

int lw_pidfile_write(const char *path, char *err, size_t errlen)
{
    pid_t self = getpid();
    pid_t old = read_pidfile(path);
    if (old > 0 && old != self && pid_alive(old)) {
        snprintf(err, errlen, "%s: leakwatch already running as pid %ld", path, (long)old);
        return LW_ERR_INVAL;
    }

    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return LW_ERR_IO;
    }
    /* umask may have narrowed the mode; others read it to find us */
    (void)fchmod(fd, 0644);

    char line[32];
    int len = snprintf(line, sizeof(line), "%ld\n", (long)self);
    ssize_t w = write(fd, line, (size_t)len);
    int e = errno;
    if (close(fd) != 0 && w == len) {
        w = -1;
        e = errno;
    }
    if (w != len) {
        snprintf(err, errlen, "%s: write: %s", path, w < 0 ? strerror(e) : "short write");
        (void)unlink(path);
        return LW_ERR_IO;
    }
    return LW_OK;
}

void lw_pidfile_remove(const char *path)
{
    if (read_pidfile(path) == getpid())
        (void)unlink(path);
}
