/*
 * test_output.c - sinks of lw_output: files (append, 0640, full disk taken
 * back, pipes closed with a newline, reopen after rotation), spec parsing,
 * fan-out to several sinks, unix-stream and unix-dgram peers that go away
 * and come back (backlog in order, back-off, overflow counted), syslog
 * framing (RFC 5424), and 8 threads writing at once.
 *
 * Sockets live in a fresh mkdtemp directory per test; nothing depends on
 * /dev/log. Lines are synthetic counters, never PII. LW_TEST_FILTER=pattern
 * runs a subset (used for the ThreadSanitizer run of the thread test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch/output.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

static char *slurp_alloc(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    *len = fread(buf, 1, (size_t)sz, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

struct tmpdir {
    char dir[64];
    char path[128]; /* dir/sock */
    char spec[160];
};

static void tmpdir_make(struct tmpdir *t, const char *scheme)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/lw_out_XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/sock", t->dir);
    snprintf(t->spec, sizeof(t->spec), "%s%s", scheme, t->path);
}

static void tmpdir_drop(struct tmpdir *t)
{
    unlink(t->path);
    rmdir(t->dir);
}

static int bind_unix(const char *path, int type)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 16), 0);
    return fd;
}

/* Accepts one connection within timeout_ms; -1 when none came. */
static int accept_within(int lfd, int timeout_ms)
{
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Reads from fd until buf holds `lines` newlines or 5 s pass. */
static size_t read_lines(int fd, char *buf, size_t cap, size_t lines)
{
    size_t len = 0, seen = 0;
    while (seen < lines && len < cap - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1)
            break;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            seen += buf[len + (size_t)i] == '\n';
        len += (size_t)n;
    }
    buf[len] = 0;
    return len;
}

/* Receives one datagram within 5 s; returns its length or -1. */
static ssize_t recv_dgram(int fd, char *buf, size_t cap)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1)
        return -1;
    ssize_t n = recv(fd, buf, cap - 1, 0);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

/* A peer in its own thread: accepts one stream connection (or reads a
 * datagram socket) and keeps everything until EOF, `want` datagrams, or
 * 20 s of silence. */
struct reader {
    int fd; /* listening stream socket or bound datagram socket */
    bool dgram;
    size_t want; /* datagrams to read (dgram only) */
    char *buf;
    size_t len, cap, count;
};

static void reader_keep(struct reader *r, const char *p, size_t n)
{
    while (r->len + n + 1 > r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1 << 16;
        r->buf = realloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = 0;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char chunk[1 << 16];
    int fd = r->dgram ? r->fd : accept_within(r->fd, 20000);
    if (fd < 0)
        return NULL;
    for (;;) {
        if (r->dgram && r->count >= r->want)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20000) != 1)
            break;
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break;
        reader_keep(r, chunk, (size_t)n);
        r->count++;
    }
    if (!r->dgram)
        close(fd);
    return NULL;
}

/* Sends fd 2 to a temp file until stderr_back, so messages can be counted. */
static void stderr_to(const char *path, int *saved)
{
    fflush(stderr);
    *saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    close(fd);
}

static void stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

static int count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* files                                                               */

static void test_append_and_mode(void **state)
{
    (void)state;
    char path[256], err[256], buf[256];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_%d.json", (int)getpid());
    unlink(path);
    lw_output *o;
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "{\"a\":1}\n", 8), LW_OK);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "{\"b\":2}\n", 8), LW_OK);
    assert_int_equal(lw_output_lines(o), 1);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    assert_int_equal(slurp(path, buf, sizeof(buf)), 16);
    assert_string_equal(buf, "{\"a\":1}\n{\"b\":2}\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0077 & ~0040, 0); /* no write/any bits for group/other */
    unlink(path);
}

static void test_file_scheme_same_as_bare_path(void **state)
{
    (void)state;
    char path[256], spec[300], err[256], buf[256];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_scheme_%d.json", (int)getpid());
    snprintf(spec, sizeof(spec), "file:%s", path);
    unlink(path);
    lw_output *o;
    assert_int_equal(lw_output_open(spec, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "s\n", 2), LW_OK);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "s\n");
    unlink(path);
}

static void test_reopen_after_rotation(void **state)
{
    (void)state;
    char path[256], rotated[300], err[256], buf[256];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_rot_%d.json", (int)getpid());
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    unlink(path);
    lw_output *o;
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "old\n", 4), LW_OK);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    assert_int_equal(lw_output_write(o, "new\n", 4), LW_OK);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    slurp(rotated, buf, sizeof(buf));
    assert_string_equal(buf, "old\n");
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "new\n");
    unlink(path);
    unlink(rotated);
}

/* The directory vanished: reopen fails, the old descriptor keeps working. */
static void test_reopen_failure_keeps_old_file(void **state)
{
    (void)state;
    char dir[64], dir2[80], path[128], path2[160], err[256], buf[64], log[128];
    snprintf(dir, sizeof(dir), "/tmp/lw_out_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(dir2, sizeof(dir2), "%s.moved", dir);
    snprintf(path, sizeof(path), "%s/x.json", dir);
    snprintf(path2, sizeof(path2), "%s/x.json", dir2);
    snprintf(log, sizeof(log), "%s.stderr", dir);
    lw_output *o;
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, "a\n", 2), LW_OK);
    assert_int_equal(rename(dir, dir2), 0);
    int saved;
    stderr_to(log, &saved);
    int rc = lw_output_reopen(o);
    stderr_back(saved);
    assert_int_equal(rc, LW_ERR_IO);
    assert_int_equal(lw_output_write(o, "b\n", 2), LW_OK);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    slurp(path2, buf, sizeof(buf));
    assert_string_equal(buf, "a\nb\n");
    char msg[512];
    slurp(log, msg, sizeof(msg));
    assert_non_null(strstr(msg, "reopen failed"));
    unlink(path2);
    unlink(log);
    rmdir(dir2);
}

static void test_open_failure_names_path(void **state)
{
    (void)state;
    char err[256];
    lw_output *o = (lw_output *)1;
    assert_int_equal(lw_output_open("/nonexistent-dir/x.json", &o, err, sizeof(err)), LW_ERR_IO);
    assert_null(o);
    assert_non_null(strstr(err, "/nonexistent-dir/x.json"));
}

static void test_write_errors_counted_not_fatal(void **state)
{
    (void)state;
    char err[256], log[128];
    lw_output *o;
    if (access("/dev/full", W_OK) != 0)
        skip();
    snprintf(log, sizeof(log), "/tmp/lw_test_output_full_%d.stderr", (int)getpid());
    assert_int_equal(lw_output_open("/dev/full", &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    int r1 = lw_output_write(o, "x\n", 2);
    int r2 = lw_output_write(o, "y\n", 2);
    int r3 = lw_output_write(o, "z\n", 2);
    stderr_back(saved);
    assert_int_equal(r1, LW_ERR_IO);
    assert_int_equal(r2, LW_ERR_IO);
    assert_int_equal(r3, LW_ERR_IO);
    assert_int_equal(lw_output_errors(o), 3);
    assert_int_equal(lw_output_lines(o), 0);
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.lost, 3);
    assert_int_equal(st.written, 0);
    char msg[1024];
    slurp(log, msg, sizeof(msg));
    assert_int_equal(count_str(msg, "write failed"), 1); /* once per streak */
    lw_output_close(o, 0);
    unlink(log);
}

/*
 * A real partial write to a regular file: RLIMIT_FSIZE lets the kernel
 * take only part of the line, then fails (EFBIG). The part must be taken
 * back, two failures make one stderr message, and when room returns the
 * next line follows the last whole one, with one "writing again" message.
 */
static void test_full_disk_takes_back_half_line(void **state)
{
    (void)state;
    char path[128], log[160], err[256], buf[512], msg[1024];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_fsize_%d.json", (int)getpid());
    snprintf(log, sizeof(log), "%s.stderr", path);
    unlink(path);
    char l1[61], l2[61], l3[61];
    memset(l1, 'a', 59), l1[59] = '\n', l1[60] = 0;
    memset(l2, 'b', 59), l2[59] = '\n', l2[60] = 0;
    memset(l3, 'c', 59), l3[59] = '\n', l3[60] = 0;

    struct sigaction ign, old_sa;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
    struct rlimit old_rl, rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_rl), 0);

    lw_output *o;
    assert_int_equal(lw_output_open(path, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, l1, 60), LW_OK);
    rl = old_rl;
    rl.rlim_cur = 100; /* room for 40 bytes of the next line */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
    int saved;
    stderr_to(log, &saved);
    int r2 = lw_output_write(o, l2, 60);
    int r2b = lw_output_write(o, l2, 60);
    setrlimit(RLIMIT_FSIZE, &old_rl);
    int r3 = lw_output_write(o, l3, 60);
    stderr_back(saved);
    sigaction(SIGXFSZ, &old_sa, NULL);

    assert_int_equal(r2, LW_ERR_IO);
    assert_int_equal(r2b, LW_ERR_IO);
    assert_int_equal(r3, LW_OK);
    assert_int_equal(lw_output_errors(o), 2);
    assert_int_equal(lw_output_lines(o), 2);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    assert_int_equal(slurp(path, buf, sizeof(buf)), 120);
    assert_memory_equal(buf, l1, 60);
    assert_memory_equal(buf + 60, l3, 60);
    slurp(log, msg, sizeof(msg));
    assert_int_equal(count_str(msg, "write failed"), 1);
    assert_int_equal(count_str(msg, "writing again"), 1);
    unlink(path);
    unlink(log);
}

/*
 * stdout on a full non-blocking pipe: a line cut short cannot be taken
 * back, so the next successful write ends it with '\n' first.
 */
static void test_stdout_pipe_cut_line_closed(void **state)
{
    (void)state;
    char err[256], log[128];
    snprintf(log, sizeof(log), "/tmp/lw_test_output_pipe_%d.stderr", (int)getpid());
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    int cap = fcntl(p[1], F_SETPIPE_SZ, 4096);
    assert_true(cap >= 4096);
    fflush(stdout);
    int saved_out = dup(1);
    assert_true(saved_out >= 0);
    dup2(p[1], 1);

    char *l1 = malloc((size_t)cap), *l2 = malloc((size_t)cap + 4096);
    size_t n1 = (size_t)cap - 1000, n2 = (size_t)cap + 1000;
    memset(l1, '1', n1 - 1), l1[n1 - 1] = '\n';
    memset(l2, '2', n2 - 1), l2[n2 - 1] = '\n';

    lw_output *o;
    assert_int_equal(lw_output_open("stdout", &o, err, sizeof(err)), LW_OK);
    int saved_err;
    stderr_to(log, &saved_err);
    int r1 = lw_output_write(o, l1, n1);
    int r2 = lw_output_write(o, l2, n2); /* 1000 bytes fit, then EAGAIN */
    int r3 = lw_output_write(o, "x\n", 2);
    char *got = malloc((size_t)cap * 2);
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], got + len, (size_t)cap * 2 - len)) > 0)
        len += (size_t)n;
    int r4 = lw_output_write(o, "ok\n", 3);
    int r5 = lw_output_write(o, "ok2\n", 4);
    while ((n = read(p[0], got + len, (size_t)cap * 2 - len)) > 0)
        len += (size_t)n;
    stderr_back(saved_err);
    fflush(stdout);
    dup2(saved_out, 1);
    close(saved_out);

    assert_int_equal(r1, LW_OK);
    assert_int_equal(r2, LW_ERR_IO);
    assert_int_equal(r3, LW_ERR_IO);
    assert_int_equal(r4, LW_OK);
    assert_int_equal(r5, LW_OK);
    /* line 1 whole, a cut prefix of line 2, then "\n" and the next lines */
    assert_true(len > n1 + 8);
    assert_memory_equal(got, l1, n1);
    size_t cut = len - n1 - 8;
    assert_true(cut > 0 && cut < n2);
    assert_memory_equal(got + n1, l2, cut);
    assert_memory_equal(got + n1 + cut, "\nok\nok2\n", 8);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    close(p[0]);
    close(p[1]);
    free(l1);
    free(l2);
    free(got);
    unlink(log);
}

/* ------------------------------------------------------------------ */
/* spec parsing                                                        */

static void test_spec_good(void **state)
{
    (void)state;
    char err[256], path[128];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_spec_%d.json", (int)getpid());
    const char *good[] = {"-",
                          "stdout",
                          "unix-stream:/nonexistent-dir/s.sock",
                          "unix-dgram:/nonexistent-dir/d.sock",
                          "syslog",
                          "syslog:auth",
                          "syslog:local7",
                          "syslog@/nonexistent-dir/log",
                          "syslog:kern@/nonexistent-dir/log",
                          path};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        lw_output *o = NULL;
        assert_int_equal(lw_output_open(good[i], &o, err, sizeof(err)), LW_OK);
        lw_output_sink_stats st;
        assert_true(lw_output_sink_at(o, 0, &st));
        assert_string_equal(st.spec, good[i]);
        assert_false(lw_output_sink_at(o, 1, &st));
        /* nothing written, so nothing is left over even with no peer */
        assert_int_equal(lw_output_close(o, 0), LW_OK);
    }
    unlink(path);
}

static void test_spec_bad(void **state)
{
    (void)state;
    char longp[200 + 16];
    snprintf(longp, sizeof(longp), "unix-stream:/%0200d", 0);
    const struct {
        const char *spec, *want;
    } bad[] = {
        {"unix-stream:", "unix-stream:: empty path"},
        {"unix-dgram:", "unix-dgram:: empty path"},
        {"file:", "file:: empty path"},
        {"syslog:local9", "syslog:local9: unknown facility \"local9\""},
        {"syslog:local9@/x", "syslog:local9@/x: unknown facility \"local9\""},
        {"syslog:", "syslog:: empty facility"},
        {"syslog:@/x", "empty facility"},
        {"syslog@", "syslog@: empty path"},
        {"syslog:user@", "syslog:user@: empty path"},
        {"udp:127.0.0.1:514", "unknown output type \"udp\""},
        {"", "empty output spec"},
        {longp, "socket path longer than 107 bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";
        lw_output *o = (lw_output *)1;
        assert_int_equal(lw_output_open(bad[i].spec, &o, err, sizeof(err)), LW_ERR_INVAL);
        assert_null(o);
        if (!strstr(err, bad[i].want))
            fail_msg("spec %zu: got \"%s\"", i, err);
    }
}

static void test_spec_count_limits(void **state)
{
    (void)state;
    char err[256];
    const char *specs[LW_OUTPUT_MAX_SINKS + 1];
    for (size_t i = 0; i <= LW_OUTPUT_MAX_SINKS; i++)
        specs[i] = "-";
    lw_output *o = (lw_output *)1;
    assert_int_equal(lw_output_open_specs(specs, LW_OUTPUT_MAX_SINKS + 1, &o, err, sizeof(err)),
                     LW_ERR_INVAL);
    assert_null(o);
    assert_int_equal(lw_output_open_specs(specs, 0, &o, err, sizeof(err)), LW_ERR_INVAL);
    assert_int_equal(lw_output_open_specs(specs, LW_OUTPUT_MAX_SINKS, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
}

/* A later spec failing closes the sinks opened before it. */
static void test_spec_failure_closes_earlier(void **state)
{
    (void)state;
    char err[256], path[128];
    snprintf(path, sizeof(path), "/tmp/lw_test_output_earlier_%d.json", (int)getpid());
    const char *specs[] = {path, "syslog:bogus"};
    lw_output *o = (lw_output *)1;
    assert_int_equal(lw_output_open_specs(specs, 2, &o, err, sizeof(err)), LW_ERR_INVAL);
    assert_null(o);
    assert_non_null(strstr(err, "syslog:bogus: unknown facility"));
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* fan-out                                                             */

static void test_multiple_sinks_same_lines(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-dgram:");
    char f1[128], f2[128], err[256], b1[256], b2[256], d[256];
    snprintf(f1, sizeof(f1), "%s/a.json", t.dir);
    snprintf(f2, sizeof(f2), "file:%s/b.json", t.dir);
    int rx = bind_unix(t.path, SOCK_DGRAM);
    const char *specs[] = {f1, f2, t.spec};
    lw_output *o;
    assert_int_equal(lw_output_open_specs(specs, 3, &o, err, sizeof(err)), LW_OK);
    const char *lines[] = {"{\"n\":0}\n", "{\"n\":1}\n", "{\"n\":2}\n"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(lw_output_write(o, lines[i], strlen(lines[i])), LW_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(recv_dgram(rx, d, sizeof(d)), (ssize_t)strlen(lines[i]));
        assert_string_equal(d, lines[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        lw_output_sink_stats st;
        assert_true(lw_output_sink_at(o, i, &st));
        assert_int_equal(st.written, 3);
        assert_int_equal(st.lost, 0);
    }
    assert_int_equal(lw_output_lines(o), 3);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    slurp(f1, b1, sizeof(b1));
    slurp(f2 + 5, b2, sizeof(b2));
    assert_string_equal(b1, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
    assert_string_equal(b1, b2);
    close(rx);
    unlink(f1);
    unlink(f2 + 5);
    tmpdir_drop(&t);
}

/* One sink failing makes the line an error, while the other still gets it. */
static void test_one_sink_failing_is_error(void **state)
{
    (void)state;
    char err[256], path[128], buf[64], log[160];
    if (access("/dev/full", W_OK) != 0)
        skip();
    snprintf(path, sizeof(path), "/tmp/lw_test_output_mixed_%d.json", (int)getpid());
    snprintf(log, sizeof(log), "%s.stderr", path);
    unlink(path);
    const char *specs[] = {path, "/dev/full"};
    lw_output *o;
    assert_int_equal(lw_output_open_specs(specs, 2, &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    int rc = lw_output_write(o, "m\n", 2);
    stderr_back(saved);
    assert_int_equal(rc, LW_ERR_IO);
    assert_int_equal(lw_output_errors(o), 1);
    assert_int_equal(lw_output_lines(o), 0);
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.written, 1);
    assert_true(lw_output_sink_at(o, 1, &st));
    assert_int_equal(st.lost, 1);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    slurp(path, buf, sizeof(buf));
    assert_string_equal(buf, "m\n");
    unlink(path);
    unlink(log);
}

/* ------------------------------------------------------------------ */
/* unix-stream                                                         */

static void line_n(char *buf, size_t cap, int n, size_t *len)
{
    *len = (size_t)snprintf(buf, cap, "{\"seq\":%d}\n", n);
}

static void check_seq(const char *buf, int from, int to)
{
    const char *p = buf;
    for (int i = from; i < to; i++) {
        char want[64];
        size_t len;
        line_n(want, sizeof(want), i, &len);
        if (strncmp(p, want, len) != 0)
            fail_msg("line %d missing or out of order", i);
        p += len;
    }
    assert_int_equal(*p, 0);
}

static void test_stream_peer_gone_and_back(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256], buf[4096], line[64], log[128];
    size_t len;
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    int l1 = bind_unix(t.path, SOCK_STREAM);
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    for (int i = 0; i < 10; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
    }
    int c1 = accept_within(l1, 5000);
    assert_true(c1 >= 0);
    read_lines(c1, buf, sizeof(buf), 10);
    check_seq(buf, 0, 10);
    /* the peer goes away */
    close(c1);
    close(l1);
    unlink(t.path);
    for (int i = 10; i < 20; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
    }
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.written, 10);
    assert_int_equal(st.lost, 0);
    assert_int_equal(lw_output_errors(o), 0);
    /* it comes back; reopen retries at once instead of waiting out the
     * back-off */
    int l2 = bind_unix(t.path, SOCK_STREAM);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    for (int i = 20; i < 30; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
    }
    int c2 = accept_within(l2, 5000);
    assert_true(c2 >= 0);
    read_lines(c2, buf, sizeof(buf), 20);
    stderr_back(saved);
    check_seq(buf, 10, 30);
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.written, 30);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(lw_output_lines(o), 30);
    assert_int_equal(lw_output_close(o, 1000), LW_OK);
    char msg[2048];
    slurp(log, msg, sizeof(msg));
    assert_int_equal(count_str(msg, "peer gone"), 1);
    assert_int_equal(count_str(msg, "connected again"), 1);
    close(c2);
    close(l2);
    unlink(log);
    tmpdir_drop(&t);
}

/*
 * Without reopen the retry waits for the back-off: 100 ms after the first
 * failure, 200 ms after the second. A listener that appears in between is
 * not tried early, and is found once the wait is over.
 */
static void test_stream_lazy_backoff(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256], buf[4096], line[64], log[128];
    size_t len;
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    line_n(line, sizeof(line), 0, &len);
    assert_int_equal(lw_output_write(o, line, len), LW_OK); /* attempt 1 fails */
    sleep_ms(130);
    line_n(line, sizeof(line), 1, &len);
    assert_int_equal(lw_output_write(o, line, len), LW_OK); /* attempt 2 fails */
    int l = bind_unix(t.path, SOCK_STREAM);
    sleep_ms(100);
    line_n(line, sizeof(line), 2, &len);
    assert_int_equal(lw_output_write(o, line, len), LW_OK); /* 200 ms not over */
    assert_int_equal(accept_within(l, 0), -1);
    sleep_ms(170);
    line_n(line, sizeof(line), 3, &len);
    assert_int_equal(lw_output_write(o, line, len), LW_OK); /* connects, flushes */
    stderr_back(saved);
    int c = accept_within(l, 5000);
    assert_true(c >= 0);
    read_lines(c, buf, sizeof(buf), 4);
    check_seq(buf, 0, 4);
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.reconnects, 0); /* the first connection is not a reconnect */
    assert_int_equal(st.written, 4);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    close(c);
    close(l);
    unlink(log);
    tmpdir_drop(&t);
}

/*
 * With no peer, 1 KiB lines fill the 1 MiB backlog; the rest are dropped
 * and counted. When a peer appears, exactly the queued lines arrive, in
 * order.
 */
static void test_stream_backlog_overflow(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256], line[1024], log[128];
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    int ok = 0, lost = 0;
    bool ok_after_lost = false;
    for (int i = 0; i < 1100; i++) {
        memset(line, ' ', sizeof(line));
        int n = snprintf(line, sizeof(line), "{\"seq\":%d}", i);
        line[n] = ' ';
        line[sizeof(line) - 1] = '\n';
        if (lw_output_write(o, line, sizeof(line)) == LW_OK) {
            ok++;
            ok_after_lost = ok_after_lost || lost > 0;
        } else {
            lost++;
        }
    }
    assert_true(ok >= 1000 && ok < 1024); /* 1 MiB of 1 KiB lines, less framing */
    assert_false(ok_after_lost);          /* same size: once full, stays full */
    assert_int_equal(lost, 1100 - ok);
    assert_int_equal(lw_output_errors(o), (uint64_t)lost);
    assert_int_equal(lw_output_lines(o), (uint64_t)ok);
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.lost, (uint64_t)lost);
    assert_int_equal(st.written, 0);

    struct reader r = {.fd = bind_unix(t.path, SOCK_STREAM)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    int rc = lw_output_close(o, 10000);
    stderr_back(saved);
    assert_int_equal(rc, LW_OK);
    pthread_join(th, NULL);
    close(r.fd);
    assert_int_equal(r.len, (size_t)ok * sizeof(line));
    for (int i = 0; i < ok; i++) {
        int seq = -1;
        assert_int_equal(sscanf(r.buf + (size_t)i * sizeof(line), "{\"seq\":%d}", &seq), 1);
        assert_int_equal(seq, i);
        assert_int_equal(r.buf[(size_t)(i + 1) * sizeof(line) - 1], '\n');
    }
    free(r.buf);
    unlink(log);
    tmpdir_drop(&t);
}

/* Lines still queued when close gives up are reported. */
static void test_close_with_lines_left_is_error(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256], log[128];
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    assert_int_equal(lw_output_write(o, "q\n", 2), LW_OK);
    assert_int_equal(lw_output_write(o, "r\n", 2), LW_OK);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = lw_output_close(o, 150);
    clock_gettime(CLOCK_MONOTONIC, &b);
    stderr_back(saved);
    assert_int_equal(rc, LW_ERR_IO);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms >= 140 && ms < 2000); /* waited for the peer, then gave up */
    char msg[512];
    slurp(log, msg, sizeof(msg));
    assert_non_null(strstr(msg, "2 line(s) left unsent"));
    unlink(log);
    tmpdir_drop(&t);
}

/*
 * A slow peer: lines much bigger than the socket buffer force partial
 * sends; the rest of a cut line must go before any other line, so the
 * bytes the peer reads are exactly the lines, whole and in order.
 */
static void test_stream_partial_sends_keep_lines_whole(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256];
    enum { N = 40, LEN = 100000 };
    struct reader r = {.fd = bind_unix(t.path, SOCK_STREAM)};
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    char *line = malloc(LEN);
    pthread_t th;
    for (int i = 0; i < N; i++) {
        memset(line, 'A' + i % 26, LEN - 1);
        line[LEN - 1] = '\n';
        /* nobody reads yet: at ~10 lines the 1 MiB backlog fills */
        int rc = lw_output_write(o, line, LEN);
        if (i < 8)
            assert_int_equal(rc, LW_OK);
        if (i == 9) {
            assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
            sleep_ms(50);
        }
    }
    uint64_t ok = lw_output_lines(o);
    assert_true(ok >= 10);
    assert_int_equal(lw_output_close(o, 10000), LW_OK);
    pthread_join(th, NULL); /* the reader stops at EOF */
    assert_int_equal(r.len, ok * LEN);
    /* each line is one letter throughout; letters follow the write order
     * of the lines that were taken */
    for (uint64_t i = 0; i < ok; i++) {
        const char *p = r.buf + i * LEN;
        for (int k = 1; k < LEN - 1; k++)
            if (p[k] != p[0])
                fail_msg("line %llu mixed at byte %d", (unsigned long long)i, k);
        assert_int_equal(p[LEN - 1], '\n');
        if (i > 0)
            assert_true((p[0] - r.buf[(i - 1) * LEN] + 26) % 26 >= 1);
    }
    free(line);
    close(r.fd);
    free(r.buf);
    tmpdir_drop(&t);
}

/*
 * The peer breaks off while a line is half sent: the new connection must
 * start with that line again, whole, not with its remainder.
 */
static void test_stream_break_mid_line_resends_whole_line(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256], log[128];
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    enum { N = 6, LEN = 100000 };
    int l1 = bind_unix(t.path, SOCK_STREAM);
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    char *line = malloc(LEN);
    int saved;
    stderr_to(log, &saved);
    for (int i = 0; i < N; i++) {
        memset(line, 'a' + i, LEN - 1);
        line[LEN - 1] = '\n';
        assert_int_equal(lw_output_write(o, line, LEN), LW_OK);
    }
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    uint64_t gone = st.written; /* in the old socket, never read */
    assert_true(gone < N);
    int c1 = accept_within(l1, 5000);
    assert_true(c1 >= 0);
    close(c1); /* unread: its bytes die with it */
    close(l1);
    unlink(t.path);
    memset(line, 'a' + N, LEN - 1);
    assert_int_equal(lw_output_write(o, line, LEN), LW_OK); /* EPIPE: queued */

    struct reader r = {.fd = bind_unix(t.path, SOCK_STREAM)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    int rc = lw_output_close(o, 10000);
    stderr_back(saved);
    assert_int_equal(rc, LW_OK);
    pthread_join(th, NULL);
    /* whole lines, from the first one not fully sent before the break */
    assert_int_equal(r.len, (size_t)(N + 1 - gone) * LEN);
    for (size_t i = 0; i < r.len / LEN; i++) {
        const char *p = r.buf + i * LEN;
        assert_int_equal(p[0], 'a' + (int)gone + (int)i);
        for (int k = 1; k < LEN - 1; k++)
            if (p[k] != p[0])
                fail_msg("line %zu mixed at byte %d", i, k);
        assert_int_equal(p[LEN - 1], '\n');
    }
    free(line);
    free(r.buf);
    close(r.fd);
    unlink(log);
    tmpdir_drop(&t);
}

/* ------------------------------------------------------------------ */
/* unix-dgram                                                          */

static void test_dgram_peer_gone_and_back(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-dgram:");
    char err[256], buf[256], line[64], log[128];
    size_t len;
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    int rx = bind_unix(t.path, SOCK_DGRAM);
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    for (int i = 0; i < 3; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
        assert_int_equal(recv_dgram(rx, buf, sizeof(buf)), (ssize_t)len);
        assert_memory_equal(buf, line, len);
    }
    close(rx);
    unlink(t.path);
    int saved;
    stderr_to(log, &saved);
    for (int i = 3; i < 8; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
    }
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.written, 3);
    rx = bind_unix(t.path, SOCK_DGRAM);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    line_n(line, sizeof(line), 8, &len);
    assert_int_equal(lw_output_write(o, line, len), LW_OK);
    stderr_back(saved);
    for (int i = 3; i < 9; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(recv_dgram(rx, buf, sizeof(buf)), (ssize_t)len);
        assert_memory_equal(buf, line, len);
    }
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_int_equal(st.written, 9);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    close(rx);
    unlink(log);
    tmpdir_drop(&t);
}

/* A peer that does not read: EAGAIN queues lines, none is lost, and they
 * come out in order once it reads. */
static void test_dgram_slow_peer_queues(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-dgram:");
    char err[256], line[64];
    size_t len;
    enum { N = 300 };
    struct reader r = {.fd = bind_unix(t.path, SOCK_DGRAM), .dgram = true, .want = N};
    lw_output *o;
    assert_int_equal(lw_output_open(t.spec, &o, err, sizeof(err)), LW_OK);
    for (int i = 0; i < N; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
    }
    lw_output_sink_stats st;
    assert_true(lw_output_sink_at(o, 0, &st));
    assert_true(st.written < N); /* the peer's queue filled */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
    assert_int_equal(lw_output_close(o, 10000), LW_OK);
    pthread_join(th, NULL);
    assert_int_equal(r.count, N);
    check_seq(r.buf, 0, N);
    close(r.fd);
    free(r.buf);
    tmpdir_drop(&t);
}

/* ------------------------------------------------------------------ */
/* syslog                                                              */

/* Parses "<PRI>1 TS HOST APP PID - - MSG"; returns MSG or NULL. */
static const char *parse_5424(const char *d, int *pri, char *host, size_t hostcap, long *pid)
{
    int ver, used = 0;
    if (sscanf(d, "<%d>%d %n", pri, &ver, &used) != 2 || ver != 1 || used == 0)
        return NULL;
    const char *p = d + used;
    /* TIMESTAMP: RFC 3339, UTC, microseconds */
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int us = -1, tsl = 0;
    if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us, &tsl) != 7 ||
        tsl != 27 || p[27] != ' ')
        return NULL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t ts = timegm(&tm);
    time_t now = time(NULL);
    if (ts < now - 60 || ts > now + 60 || us < 0 || us > 999999)
        return NULL;
    p += 28;
    const char *sp = strchr(p, ' ');
    if (!sp || sp == p || (size_t)(sp - p) >= hostcap)
        return NULL;
    memcpy(host, p, (size_t)(sp - p));
    host[sp - p] = 0;
    p = sp + 1;
    if (strncmp(p, "leakwatch ", 10) != 0)
        return NULL;
    p += 10;
    char *end;
    *pid = strtol(p, &end, 10);
    if (end == p || strncmp(end, " - - ", 5) != 0)
        return NULL;
    return end + 5;
}

static void test_syslog_rfc5424(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "");
    char err[256], spec[200], d[1024], host[300];
    int rx = bind_unix(t.path, SOCK_DGRAM);
    snprintf(spec, sizeof(spec), "syslog:local5@%s", t.path);
    lw_output *o;
    assert_int_equal(lw_output_open(spec, &o, err, sizeof(err)), LW_OK);
    const char *alert = "{\"event_type\":\"alert\",\"n\":1}\n";
    const char *stats = "{\"event_type\":\"stats\",\"n\":2}\n";
    assert_int_equal(lw_output_write(o, alert, strlen(alert)), LW_OK);
    assert_int_equal(lw_output_write(o, stats, strlen(stats)), LW_OK);

    int pri;
    long pid;
    assert_true(recv_dgram(rx, d, sizeof(d)) > 0);
    const char *msg = parse_5424(d, &pri, host, sizeof(host), &pid);
    assert_non_null(msg);
    assert_int_equal(pri, 8 * 21 + 4); /* local5.warning */
    assert_int_equal(pid, (long)getpid());
    assert_memory_equal(msg, alert, strlen(alert) - 1);
    assert_int_equal(strlen(msg), strlen(alert) - 1); /* no newline */
    char me[256] = "";
    gethostname(me, sizeof(me) - 1);
    if (me[0] && !strchr(me, ' '))
        assert_string_equal(host, me);

    assert_true(recv_dgram(rx, d, sizeof(d)) > 0);
    msg = parse_5424(d, &pri, host, sizeof(host), &pid);
    assert_non_null(msg);
    assert_int_equal(pri, 8 * 21 + 6); /* local5.info */
    assert_string_equal(msg, "{\"event_type\":\"stats\",\"n\":2}");
    assert_int_equal(lw_output_close(o, 0), LW_OK);

    /* default facility local0 */
    snprintf(spec, sizeof(spec), "syslog@%s", t.path);
    assert_int_equal(lw_output_open(spec, &o, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_output_write(o, stats, strlen(stats)), LW_OK);
    assert_true(recv_dgram(rx, d, sizeof(d)) > 0);
    assert_non_null(parse_5424(d, &pri, host, sizeof(host), &pid));
    assert_int_equal(pri, 8 * 16 + 6);
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    close(rx);
    tmpdir_drop(&t);
}

/* syslog with its socket absent: lines wait and arrive framed, in order. */
static void test_syslog_peer_absent_then_back(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "");
    char err[256], spec[200], d[1024], host[300], line[64], log[128];
    size_t len;
    snprintf(log, sizeof(log), "%s.stderr", t.dir);
    snprintf(spec, sizeof(spec), "syslog:daemon@%s", t.path);
    lw_output *o;
    assert_int_equal(lw_output_open(spec, &o, err, sizeof(err)), LW_OK);
    int saved;
    stderr_to(log, &saved);
    for (int i = 0; i < 3; i++) {
        line_n(line, sizeof(line), i, &len);
        assert_int_equal(lw_output_write(o, line, len), LW_OK);
    }
    int rx = bind_unix(t.path, SOCK_DGRAM);
    assert_int_equal(lw_output_reopen(o), LW_OK);
    stderr_back(saved);
    for (int i = 0; i < 3; i++) {
        int pri;
        long pid;
        assert_true(recv_dgram(rx, d, sizeof(d)) > 0);
        const char *msg = parse_5424(d, &pri, host, sizeof(host), &pid);
        assert_non_null(msg);
        assert_int_equal(pri, 8 * 3 + 6);
        line_n(line, sizeof(line), i, &len);
        line[len - 1] = 0;
        assert_string_equal(msg, line);
    }
    assert_int_equal(lw_output_close(o, 0), LW_OK);
    close(rx);
    unlink(log);
    tmpdir_drop(&t);
}

/* ------------------------------------------------------------------ */
/* threads                                                             */

enum { WRITERS = 8, PER_WRITER = 20000 };

struct writer {
    lw_output *o;
    int id;
    int failures;
};

/*
 * Writers outrun the reader on a small machine (8 writers, one reader, two
 * CPUs under ASan), and a peer that slow is exactly when lines overflow
 * the backlog and are lost, by design. This test is about interleaving,
 * not overflow, so writers pause while more than ~300 KiB of lines wait
 * for the stream sink (sink 1), measured with the public stats.
 */
static void throttle(lw_output *o)
{
    lw_output_sink_stats st;
    for (;;) {
        uint64_t taken = lw_output_lines(o);
        if (!lw_output_sink_at(o, 1, &st) || taken < st.written || taken - st.written < 12000)
            return;
        sleep_ms(1);
        /* backlogs drain inside writes; with every writer paused, reopen
         * is the public way to push them on */
        if (lw_output_reopen(o) != LW_OK)
            return;
    }
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char line[64];
    for (int i = 0; i < PER_WRITER; i++) {
        if (i % 64 == 0)
            throttle(w->o);
        int n = snprintf(line, sizeof(line), "{\"w\":%d,\"i\":%d}\n", w->id, i);
        if (lw_output_write(w->o, line, (size_t)n) != LW_OK)
            w->failures++;
    }
    return NULL;
}

/* Every line whole, present once, and each writer's lines in its order. */
static void check_threads_output(const char *buf, size_t len)
{
    int next[WRITERS] = {0};
    size_t lines = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        int w = -1, i = -1, used = 0;
        if (sscanf(p, "{\"w\":%d,\"i\":%d}%n", &w, &i, &used) != 2 || p + used != nl)
            fail_msg("malformed line at byte %zu", (size_t)(p - buf));
        assert_true(w >= 0 && w < WRITERS);
        if (i != next[w])
            fail_msg("writer %d: line %d where %d was due", w, i, next[w]);
        next[w]++;
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, (size_t)WRITERS * PER_WRITER);
    for (int w = 0; w < WRITERS; w++)
        assert_int_equal(next[w], PER_WRITER);
}

static void test_threads_file_and_stream(void **state)
{
    (void)state;
    struct tmpdir t;
    tmpdir_make(&t, "unix-stream:");
    char err[256], file[128];
    snprintf(file, sizeof(file), "%s/out.json", t.dir);
    struct reader r = {.fd = bind_unix(t.path, SOCK_STREAM), .cap = 8u << 20};
    r.buf = malloc(r.cap);
    pthread_t rt;
    assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
    const char *specs[] = {file, t.spec};
    lw_output *o;
    assert_int_equal(lw_output_open_specs(specs, 2, &o, err, sizeof(err)), LW_OK);
    pthread_t th[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){o, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(lw_output_lines(o), (uint64_t)WRITERS * PER_WRITER);
    assert_int_equal(lw_output_errors(o), 0);
    assert_int_equal(lw_output_close(o, 20000), LW_OK);
    pthread_join(rt, NULL);
    close(r.fd);

    size_t flen;
    char *fbuf = slurp_alloc(file, &flen);
    assert_non_null(fbuf);
    check_threads_output(fbuf, flen);
    check_threads_output(r.buf, r.len);
    assert_int_equal(flen, r.len);
    assert_memory_equal(fbuf, r.buf, flen); /* same order in both sinks */
    free(fbuf);
    free(r.buf);
    unlink(file);
    tmpdir_drop(&t);
}

int main(void)
{
    /* A reader that went away must not kill the test through SIGPIPE:
     * this is what MSG_NOSIGNAL guarantees, so leave SIGPIPE at its
     * default and let a regression show as a crash. */
    const char *filter = getenv("LW_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_mode),
        cmocka_unit_test(test_file_scheme_same_as_bare_path),
        cmocka_unit_test(test_reopen_after_rotation),
        cmocka_unit_test(test_reopen_failure_keeps_old_file),
        cmocka_unit_test(test_open_failure_names_path),
        cmocka_unit_test(test_write_errors_counted_not_fatal),
        cmocka_unit_test(test_full_disk_takes_back_half_line),
        cmocka_unit_test(test_stdout_pipe_cut_line_closed),
        cmocka_unit_test(test_spec_good),
        cmocka_unit_test(test_spec_bad),
        cmocka_unit_test(test_spec_count_limits),
        cmocka_unit_test(test_spec_failure_closes_earlier),
        cmocka_unit_test(test_multiple_sinks_same_lines),
        cmocka_unit_test(test_one_sink_failing_is_error),
        cmocka_unit_test(test_stream_peer_gone_and_back),
        cmocka_unit_test(test_stream_lazy_backoff),
        cmocka_unit_test(test_stream_backlog_overflow),
        cmocka_unit_test(test_close_with_lines_left_is_error),
        cmocka_unit_test(test_stream_partial_sends_keep_lines_whole),
        cmocka_unit_test(test_stream_break_mid_line_resends_whole_line),
        cmocka_unit_test(test_dgram_peer_gone_and_back),
        cmocka_unit_test(test_dgram_slow_peer_queues),
        cmocka_unit_test(test_syslog_rfc5424),
        cmocka_unit_test(test_syslog_peer_absent_then_back),
        cmocka_unit_test(test_threads_file_and_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
