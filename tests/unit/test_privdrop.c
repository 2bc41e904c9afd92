/*
 * test_privdrop.c - user switching and pid files.
 *
 * Dropping privileges cannot be undone, so every test that really drops
 * runs in a fork()ed child, which reports through its exit status (a
 * distinct code per failed check, so a failure says which one); cmocka
 * asserts stay in the parent. Those tests need root and are skipped
 * otherwise. Pid-file tests use a child that is alive (paused) or dead
 * (reaped) to stand for another sensor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leakwatch/privdrop.h"

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/lw_test_privdrop_%d_%s", (int)getpid(), name);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void read_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
}

/* Runs fn in a child and returns its exit status (or 100 + signal). */
static int run_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        return 100 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* A child that waits to be killed: a live pid that is not ours. */
static pid_t spawn_sleeper(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

/* A pid that was alive a moment ago and is now gone (reaped). */
static pid_t dead_pid(void)
{
    pid_t pid = spawn_sleeper();
    kill(pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return pid;
}

/* ---------------------------------------------------------------- pidfile */

static void test_pidfile_write_new(void **state)
{
    (void)state;
    char path[256], err[256] = "", buf[64], want[32];
    tmp_path(path, sizeof(path), "new.pid");
    unlink(path);
    mode_t old = umask(077);
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_OK);
    umask(old);
    read_file(path, buf, sizeof(buf));
    snprintf(want, sizeof(want), "%d\n", (int)getpid());
    assert_string_equal(buf, want);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* writing again over our own pid is fine */
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_OK);
    unlink(path);
}

static void test_pidfile_stale_replaced(void **state)
{
    (void)state;
    char path[256], err[256] = "", buf[64], want[32], stale[32];
    tmp_path(path, sizeof(path), "stale.pid");
    snprintf(stale, sizeof(stale), "%d\n", (int)dead_pid());
    write_file(path, stale);
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_OK);
    read_file(path, buf, sizeof(buf));
    snprintf(want, sizeof(want), "%d\n", (int)getpid());
    assert_string_equal(buf, want);
    unlink(path);
}

static void test_pidfile_garbage_replaced(void **state)
{
    (void)state;
    static const char *const junk[] = {
        "", "\n", "abc\n", "12x\n", "-5\n", "0\n", "99999999999999999999\n"};
    char path[256], err[256] = "", buf[64], want[32];
    tmp_path(path, sizeof(path), "junk.pid");
    snprintf(want, sizeof(want), "%d\n", (int)getpid());
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        write_file(path, junk[i]);
        assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_OK);
        read_file(path, buf, sizeof(buf));
        assert_string_equal(buf, want);
    }
    unlink(path);
}

static void test_pidfile_alive_refused(void **state)
{
    (void)state;
    char path[256], err[256] = "", buf[64], held[32], needle[64];
    tmp_path(path, sizeof(path), "alive.pid");
    pid_t other = spawn_sleeper();
    snprintf(held, sizeof(held), "%d\n", (int)other);
    write_file(path, held);

    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_ERR_INVAL);
    snprintf(needle, sizeof(needle), "already running as pid %d", (int)other);
    assert_non_null(strstr(err, needle));
    assert_non_null(strstr(err, path));
    read_file(path, buf, sizeof(buf));
    assert_string_equal(buf, held); /* untouched */

    kill(other, SIGKILL);
    int st;
    waitpid(other, &st, 0);
    /* once it is gone the file is ours to take */
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_OK);
    unlink(path);
}

static void test_pidfile_parent_pid_is_alive(void **state)
{
    (void)state;
    char path[256], err[256] = "", held[32];
    tmp_path(path, sizeof(path), "ppid.pid");
    snprintf(held, sizeof(held), "%d", (int)getppid()); /* no newline: still a pid */
    write_file(path, held);
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_ERR_INVAL);
    unlink(path);
}

static void test_pidfile_unwritable(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(lw_pidfile_write("/nonexistent-dir/x.pid", err, sizeof(err)), LW_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent-dir/x.pid"));
}

static void test_pidfile_symlink_not_followed(void **state)
{
    (void)state;
    char path[256], target[256], err[256] = "";
    tmp_path(path, sizeof(path), "link.pid");
    tmp_path(target, sizeof(target), "link_target");
    write_file(target, "keep\n");
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_ERR_IO);
    char buf[32];
    read_file(target, buf, sizeof(buf));
    assert_string_equal(buf, "keep\n");
    unlink(path);
    unlink(target);
}

static void test_pidfile_remove_only_ours(void **state)
{
    (void)state;
    char path[256], err[256] = "", other[32];
    tmp_path(path, sizeof(path), "rm.pid");
    assert_int_equal(lw_pidfile_write(path, err, sizeof(err)), LW_OK);
    lw_pidfile_remove(path);
    assert_int_equal(access(path, F_OK), -1);

    /* another process's file is left alone */
    snprintf(other, sizeof(other), "%d\n", (int)getppid());
    write_file(path, other);
    lw_pidfile_remove(path);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);

    lw_pidfile_remove(path); /* missing: nothing happens */
    assert_int_equal(access(path, F_OK), -1);
}

/* --------------------------------------------------- lookups (no switching) */

static void test_unknown_user(void **state)
{
    (void)state;
    char err[256] = "";
    uid_t before = geteuid();
    assert_int_equal(lw_privdrop("lw-no-such-user-x", NULL, err, sizeof(err)), LW_ERR_INVAL);
    assert_non_null(strstr(err, "lw-no-such-user-x"));
    assert_int_equal(geteuid(), before); /* resolved first: nothing changed */
}

static void test_unknown_group(void **state)
{
    (void)state;
    char err[256] = "";
    uid_t before = geteuid();
    assert_int_equal(lw_privdrop("nobody", "lw-no-such-group-x", err, sizeof(err)), LW_ERR_INVAL);
    assert_non_null(strstr(err, "lw-no-such-group-x"));
    assert_int_equal(geteuid(), before);
}

static void test_empty_user(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(lw_privdrop("", NULL, err, sizeof(err)), LW_ERR_INVAL);
    assert_int_equal(lw_privdrop(NULL, NULL, err, sizeof(err)), LW_ERR_INVAL);
}

static void test_root_target_refused(void **state)
{
    (void)state;
    char err[256] = "";
    uid_t before = geteuid();
    assert_int_equal(lw_privdrop("root", NULL, err, sizeof(err)), LW_ERR_INVAL);
    assert_int_equal(lw_privdrop("0", "0", err, sizeof(err)), LW_ERR_INVAL);
    assert_int_equal(geteuid(), before);
}

static void test_numeric_uid_without_entry_needs_group(void **state)
{
    (void)state;
    char err[256] = "";
    if (getpwuid(54321) != NULL)
        skip();
    assert_int_equal(lw_privdrop("54321", NULL, err, sizeof(err)), LW_ERR_INVAL);
    assert_non_null(strstr(err, "54321"));
}

/* ----------------------------------------------- real drops, in a child */

/* 0 when /proc/self/status has `key` followed by exactly `want`. */
static int status_is(const char *key, const char *want)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    int rc = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            rc = strncmp(v, want, strlen(want)) == 0 && v[strlen(want)] == '\n' ? 0 : -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* After a drop to nobody: every check the header promises. */
static int check_dropped(uid_t uid, gid_t gid)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid)
        return 10;
    if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid)
        return 11;
    if (getgroups(0, NULL) != 0)
        return 12;
    if (status_is("CapPrm", "0000000000000000") != 0)
        return 13;
    if (status_is("CapEff", "0000000000000000") != 0)
        return 14;
    if (status_is("CapAmb", "0000000000000000") != 0)
        return 15;
    if (status_is("NoNewPrivs", "1") != 0)
        return 16;
    if (setuid(0) == 0 || seteuid(0) == 0)
        return 17;
    if (setgid(0) == 0)
        return 18;
    return 0;
}

static int child_drop_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        return 2;
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    char err[256] = "";
    if (lw_privdrop("nobody", NULL, err, sizeof(err)) != LW_OK)
        return 3;
    int rc = check_dropped(uid, gid);
    if (rc)
        return rc;

    /* as nobody: becoming nobody again is a no-op that succeeds... */
    if (lw_privdrop("nobody", NULL, err, sizeof(err)) != LW_OK)
        return 20;
    /* ...becoming someone else is refused with a reason */
    err[0] = '\0';
    if (lw_privdrop("12345", "12345", err, sizeof(err)) != LW_ERR_IO)
        return 21;
    if (strstr(err, "not running as root") == NULL)
        return 22;
    if (getuid() != uid)
        return 23;
    return 0;
}

static void test_drop_to_nobody(void **state)
{
    (void)state;
    if (geteuid() != 0 || getpwnam("nobody") == NULL)
        skip();
    assert_int_equal(run_child(child_drop_nobody), 0);
}

static int child_drop_numeric(void)
{
    char err[256] = "";
    if (lw_privdrop("65533", "65532", err, sizeof(err)) != LW_OK)
        return 3;
    return check_dropped(65533, 65532);
}

static void test_drop_to_numeric_ids(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(run_child(child_drop_numeric), 0);
}

static int child_drop_group_by_name(void)
{
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("nogroup");
    if (!pw || !gr)
        return 2;
    uid_t uid = pw->pw_uid;
    gid_t gid = gr->gr_gid;
    char err[256] = "";
    if (lw_privdrop("nobody", "nogroup", err, sizeof(err)) != LW_OK)
        return 3;
    return check_dropped(uid, gid);
}

static void test_drop_with_named_group(void **state)
{
    (void)state;
    if (geteuid() != 0 || getpwnam("nobody") == NULL || getgrnam("nogroup") == NULL)
        skip();
    assert_int_equal(run_child(child_drop_group_by_name), 0);
}

/* After the drop, a pid file naming a root-owned live process (pid 1) is
 * answered with EPERM by kill(): that still means alive. */
static char eperm_path[256];

static int child_pidfile_eperm(void)
{
    char err[256] = "";
    if (lw_privdrop("nobody", NULL, err, sizeof(err)) != LW_OK)
        return 3;
    if (kill(1, 0) == 0 || errno != EPERM)
        return 4;
    if (lw_pidfile_write(eperm_path, err, sizeof(err)) != LW_ERR_INVAL)
        return 5;
    if (strstr(err, "already running as pid 1") == NULL)
        return 6;
    return 0;
}

static void test_pidfile_eperm_is_alive(void **state)
{
    (void)state;
    if (geteuid() != 0 || getpwnam("nobody") == NULL)
        skip();
    tmp_path(eperm_path, sizeof(eperm_path), "eperm.pid");
    write_file(eperm_path, "1\n");
    assert_int_equal(chmod(eperm_path, 0644), 0);
    assert_int_equal(run_child(child_pidfile_eperm), 0);
    unlink(eperm_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pidfile_write_new),
        cmocka_unit_test(test_pidfile_stale_replaced),
        cmocka_unit_test(test_pidfile_garbage_replaced),
        cmocka_unit_test(test_pidfile_alive_refused),
        cmocka_unit_test(test_pidfile_parent_pid_is_alive),
        cmocka_unit_test(test_pidfile_unwritable),
        cmocka_unit_test(test_pidfile_symlink_not_followed),
        cmocka_unit_test(test_pidfile_remove_only_ours),
        cmocka_unit_test(test_unknown_user),
        cmocka_unit_test(test_unknown_group),
        cmocka_unit_test(test_empty_user),
        cmocka_unit_test(test_root_target_refused),
        cmocka_unit_test(test_numeric_uid_without_entry_needs_group),
        cmocka_unit_test(test_drop_to_nobody),
        cmocka_unit_test(test_drop_to_numeric_ids),
        cmocka_unit_test(test_drop_with_named_group),
        cmocka_unit_test(test_pidfile_eperm_is_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
