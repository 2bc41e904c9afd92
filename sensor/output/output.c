/*
 * output.c - whole-line event output to files, stdout, unix sockets and
 * syslog (see output.h).
 *
 * One lw_output is a fan-out over up to LW_OUTPUT_MAX_SINKS sinks behind a
 * single mutex. A line is handed to every sink while the lock is held, so
 * two workers' lines can never interleave inside any sink, and the order
 * of lines is the same in all of them.
 *
 * Files and stdout. Lines go out with write(2), looping over short writes
 * and EINTR. When the disk fills in the middle of a line the write error is
 * counted and the part already written is cut off again (ftruncate to where
 * the line began), so a regular file never holds half a line; on a pipe or
 * terminal, where nothing can be taken back, the cut line is ended with a
 * newline on the next successful write so it cannot merge with a later
 * line. stdout is never truncated: it may be a file other programs write
 * too. Writing resumes by itself when space returns; stderr hears of a
 * failure streak once when it starts and once when it ends.
 *
 * Sockets (unix-stream, unix-dgram, syslog). Every socket is non-blocking
 * and every send carries MSG_NOSIGNAL, so neither a slow nor a vanished
 * peer can stall a worker or raise SIGPIPE. A line the socket does not
 * take right now (peer away, EAGAIN, ENOBUFS) waits in the sink's backlog:
 * a byte ring of LW_OUTPUT_BACKLOG bytes holding records of
 * [u32 length][payload]. Invariants:
 *   - while the backlog is not empty, new lines go behind it, never past
 *     it, so the peer sees lines in write order;
 *   - on a stream, a partial send leaves the rest of that line at the head
 *     of the backlog (head_sent says how much went), and nothing else is
 *     sent until that rest has gone, so the stream never carries half a
 *     line followed by another line. If the connection breaks in the
 *     middle of a line, the whole line is sent again on the next
 *     connection, which therefore also starts on a line boundary;
 *   - a line that does not fit is dropped (the new one: the queued ones
 *     are older and may already be half sent) and counted as lost.
 * A peer that is gone (EPIPE, ECONNRESET, ECONNREFUSED, ENOENT, ...) is
 * reconnected lazily from lw_output_write: the first attempt right away,
 * then after 100 ms, doubling up to 30 s, on CLOCK_MONOTONIC so that a
 * wall-clock step can neither stall nor hurry the retries; a successful
 * connect resets the back-off. lw_output_reopen retries at once. There is
 * no thread of our own: a backlog moves only when a line is written, on
 * reopen and on close, which the periodic stats line makes often enough.
 * A queued line lost later (EMSGSIZE, or left at close) counts once per
 * sink in lw_output_errors, as no other sink's fate is known by then.
 *
 * syslog follows RFC 5424 section 6 over a unix datagram socket (the
 * transport of RFC 5426 minus UDP): "<PRI>1 TIMESTAMP HOSTNAME APP-NAME
 * PROCID MSGID SD MSG" with PRI = facility * 8 + severity, TIMESTAMP in
 * RFC 3339 UTC with microseconds taken when the line is written (not when
 * a backlog is flushed), MSGID and STRUCTURED-DATA nil ("-"), and MSG the
 * line without its newline. Alerts are severity 4 (warning), everything
 * else 6 (info). A unix-dgram sink sends the line itself, newline
 * included, one datagram per line, so receivers may concatenate datagrams
 * into a JSON-lines file unchanged.
 *
 * Counters are C11 atomics written under the lock and read without it, so
 * the stats reader never waits for a sink.
 */
#include "leakwatch/output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Bytes of queued records one socket sink may hold while its peer is away
 * or slow. Allocated on first use, kept until close. */
#define LW_OUTPUT_BACKLOG (1u << 20)
#define REC_HDR           4u /* u32 payload length in front of each record */

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 30000u

#define SYSLOG_DEFAULT_PATH     "/dev/log"
#define SYSLOG_DEFAULT_FACILITY 16 /* local0 */
#define SYSLOG_SEV_WARNING      4
#define SYSLOG_SEV_INFO         6
#define SYSLOG_HDR_MAX          512 /* "<191>1 " + 27 + 255 + "leakwatch" + pid + "- - " */

enum sink_kind { SINK_FILE, SINK_STDOUT, SINK_STREAM, SINK_DGRAM, SINK_SYSLOG };

/* What one send attempt came to. */
enum send_res { SEND_ALL, SEND_PART, SEND_AGAIN, SEND_TOOBIG, SEND_GONE };

struct sink {
    enum sink_kind kind;
    char *spec;        /* as given, for messages and stats */
    char *path;        /* file or socket path; NULL for stdout */
    int fd;            /* -1 while a socket is not connected */
    bool failing;      /* inside a failure streak (stderr told once) */
    bool partial_line; /* file/pipe: last write stopped inside a line */
    bool ever_connected;
    uint64_t streak_lost; /* lines lost in the current streak */

    /* sockets */
    int facility;        /* syslog only */
    uint64_t next_try;   /* monotonic ms of the next connect attempt */
    uint32_t backoff_ms; /* wait after the next failed attempt */
    uint8_t *ring;       /* backlog, LW_OUTPUT_BACKLOG bytes, lazily */
    size_t ring_head;    /* offset of the oldest record */
    size_t ring_used;    /* bytes in use, headers included */
    size_t queued;       /* records in the ring */
    size_t head_sent;    /* payload bytes of the head record already sent */

    _Atomic uint64_t written, lost, reconnects;
};

struct lw_output {
    pthread_mutex_t lock;
    size_t n;
    struct sink sinks[LW_OUTPUT_MAX_SINKS];
    char hostname[256]; /* RFC 5424 HOSTNAME, "-" when unknown */
    _Atomic uint64_t lines, errors;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void bump(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static bool is_socket(const struct sink *s)
{
    return s->kind == SINK_STREAM || s->kind == SINK_DGRAM || s->kind == SINK_SYSLOG;
}

/* Bounded search: lines are not NUL-terminated. */
static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0 || m > n)
        return m == 0;
    for (size_t i = 0; i + m <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* spec parsing                                                        */

static const struct {
    const char *name;
    int code;
} facilities[] = {
    {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
    {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
    {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
};

static int facility_code(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
        if (strlen(facilities[i].name) == len && memcmp(facilities[i].name, name, len) == 0)
            return facilities[i].code;
    return -1;
}

static bool has_prefix(const char *s, const char *p, const char **rest)
{
    size_t n = strlen(p);
    if (strncmp(s, p, n) != 0)
        return false;
    *rest = s + n;
    return true;
}

__attribute__((format(printf, 5, 6))) static int
fail_spec(char *err, size_t errlen, const char *spec, int rc, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", spec, why);
    return rc;
}

static int socket_path_ok(const char *spec, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (*path == '\0')
        return fail_spec(err, errlen, spec, LW_ERR_INVAL, "empty path");
    if (strlen(path) >= sizeof(sa.sun_path))
        return fail_spec(err, errlen, spec, LW_ERR_INVAL, "socket path longer than %zu bytes",
                         sizeof(sa.sun_path) - 1);
    return LW_OK;
}

/*
 * Fills kind, path and facility from spec. A word of lower-case letters,
 * digits and '-' before the first ':' is a scheme and must be one we know:
 * "udp:host" is a typo to report, not a file to create. A file whose name
 * looks like that is written "./name:x" or "file:name:x".
 */
static int parse_spec(const char *spec, struct sink *s, char *err, size_t errlen)
{
    const char *rest = "";
    const char *path = NULL;
    s->facility = SYSLOG_DEFAULT_FACILITY;
    if (*spec == '\0')
        return fail_spec(err, errlen, spec, LW_ERR_INVAL, "empty output spec");
    if (strcmp(spec, "-") == 0 || strcmp(spec, "stdout") == 0) {
        s->kind = SINK_STDOUT;
        return LW_OK;
    }
    if (has_prefix(spec, "file:", &rest)) {
        if (*rest == '\0')
            return fail_spec(err, errlen, spec, LW_ERR_INVAL, "empty path");
        s->kind = SINK_FILE;
        path = rest;
    } else if (has_prefix(spec, "unix-stream:", &rest)) {
        int rc = socket_path_ok(spec, rest, err, errlen);
        if (rc != LW_OK)
            return rc;
        s->kind = SINK_STREAM;
        path = rest;
    } else if (has_prefix(spec, "unix-dgram:", &rest)) {
        int rc = socket_path_ok(spec, rest, err, errlen);
        if (rc != LW_OK)
            return rc;
        s->kind = SINK_DGRAM;
        path = rest;
    } else if (strcmp(spec, "syslog") == 0 || has_prefix(spec, "syslog:", &rest) ||
               has_prefix(spec, "syslog@", &rest)) {
        s->kind = SINK_SYSLOG;
        path = SYSLOG_DEFAULT_PATH;
        if (spec[6] == ':') {
            const char *at = strchr(rest, '@');
            size_t flen = at ? (size_t)(at - rest) : strlen(rest);
            if (flen == 0)
                return fail_spec(err, errlen, spec, LW_ERR_INVAL, "empty facility");
            char fac[32];
            snprintf(fac, sizeof(fac), "%.*s", (int)(flen < 31 ? flen : 31), rest);
            s->facility = facility_code(rest, flen);
            if (s->facility < 0)
                return fail_spec(err, errlen, spec, LW_ERR_INVAL,
                                 "unknown facility \"%s\" (kern user mail daemon auth syslog "
                                 "lpr news uucp cron authpriv ftp local0..local7)",
                                 fac);
            if (at) {
                path = at + 1;
                int rc = socket_path_ok(spec, path, err, errlen);
                if (rc != LW_OK)
                    return rc;
            }
        } else if (spec[6] == '@') {
            path = rest;
            int rc = socket_path_ok(spec, path, err, errlen);
            if (rc != LW_OK)
                return rc;
        }
    } else {
        const char *colon = strchr(spec, ':');
        size_t i = 0;
        while (colon && spec + i < colon &&
               ((spec[i] >= 'a' && spec[i] <= 'z') || (spec[i] >= '0' && spec[i] <= '9') ||
                spec[i] == '-'))
            i++;
        if (colon && i > 0 && spec + i == colon) {
            char scheme[32];
            snprintf(scheme, sizeof(scheme), "%.*s", (int)(i < 31 ? i : 31), spec);
            return fail_spec(err, errlen, spec, LW_ERR_INVAL,
                             "unknown output type \"%s\" (file, stdout, unix-stream, "
                             "unix-dgram, syslog; write ./NAME for a file)",
                             scheme);
        }
        s->kind = SINK_FILE;
        path = spec;
    }
    s->path = strdup(path);
    if (!s->path)
        return fail_spec(err, errlen, spec, LW_ERR_NOMEM, "out of memory");
    return LW_OK;
}

/* ------------------------------------------------------------------ */
/* files and stdout                                                    */

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
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

static void streak_start(struct sink *s, const char *what, int e)
{
    if (!s->failing)
        fprintf(stderr, "leakwatch: %s: %s: %s (counting until it recovers)\n", s->spec, what,
                strerror(e));
    s->failing = true;
}

static void streak_end(struct sink *s, const char *what)
{
    if (s->failing)
        fprintf(stderr, "leakwatch: %s: %s after %llu lost line(s)\n", s->spec, what,
                (unsigned long long)s->streak_lost);
    s->failing = false;
    s->streak_lost = 0;
}

static bool file_take(struct sink *s, const char *line, size_t len)
{
    size_t written;
    /* Where the line starts in a regular file, so that a line cut short by
     * a full disk can be taken back whole (ftruncate) instead of left half
     * written; for pipes and terminals the cut line is closed with a
     * newline on the next success instead. */
    off_t start = s->kind == SINK_STDOUT ? -1 : lseek(s->fd, 0, SEEK_END);
    if (s->partial_line) {
        if (write_all(s->fd, "\n", 1, &written) != LW_OK)
            goto fail;
        s->partial_line = false;
    }
    if (write_all(s->fd, line, len, &written) != LW_OK) {
        int e = errno;
        if (written > 0 && !(start >= 0 && ftruncate(s->fd, start) == 0))
            s->partial_line = true;
        errno = e;
        goto fail;
    }
    streak_end(s, "writing again");
    bump(&s->written);
    return true;
fail:
    streak_start(s, "write failed", errno);
    s->streak_lost++;
    bump(&s->lost);
    return false;
}

/* ------------------------------------------------------------------ */
/* backlog ring                                                        */

static void ring_copy_in(struct sink *s, size_t off, const void *src, size_t n)
{
    size_t at = (s->ring_head + off) % LW_OUTPUT_BACKLOG;
    size_t first = LW_OUTPUT_BACKLOG - at < n ? LW_OUTPUT_BACKLOG - at : n;
    memcpy(s->ring + at, src, first);
    memcpy(s->ring, (const uint8_t *)src + first, n - first);
}

/* Up to two iovecs covering n ring bytes starting off bytes past the head. */
static int ring_iov(const struct sink *s, size_t off, size_t n, struct iovec *iov)
{
    size_t at = (s->ring_head + off) % LW_OUTPUT_BACKLOG;
    size_t first = LW_OUTPUT_BACKLOG - at < n ? LW_OUTPUT_BACKLOG - at : n;
    iov[0].iov_base = s->ring + at;
    iov[0].iov_len = first;
    if (first == n)
        return 1;
    iov[1].iov_base = s->ring;
    iov[1].iov_len = n - first;
    return 2;
}

static uint32_t ring_head_len(const struct sink *s)
{
    uint8_t h[REC_HDR];
    struct iovec iov[2];
    int k = ring_iov(s, 0, REC_HDR, iov);
    memcpy(h, iov[0].iov_base, iov[0].iov_len);
    if (k == 2)
        memcpy(h + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
    uint32_t len;
    memcpy(&len, h, sizeof(len));
    return len;
}

static void ring_pop(struct sink *s)
{
    size_t rec = REC_HDR + ring_head_len(s);
    s->ring_head = (s->ring_head + rec) % LW_OUTPUT_BACKLOG;
    s->ring_used -= rec;
    s->queued--;
    s->head_sent = 0;
}

/* Queues the payload iov[0..cnt-1] as one record; false when it does not
 * fit (or the ring cannot be allocated). */
static bool ring_push(struct sink *s, const struct iovec *iov, int cnt)
{
    size_t len = 0;
    for (int i = 0; i < cnt; i++)
        len += iov[i].iov_len;
    if (len > LW_OUTPUT_BACKLOG - REC_HDR || s->ring_used + REC_HDR + len > LW_OUTPUT_BACKLOG)
        return false;
    if (!s->ring) {
        s->ring = malloc(LW_OUTPUT_BACKLOG);
        if (!s->ring)
            return false;
    }
    uint32_t l32 = (uint32_t)len;
    size_t off = s->ring_used;
    ring_copy_in(s, off, &l32, REC_HDR);
    off += REC_HDR;
    for (int i = 0; i < cnt; i++) {
        ring_copy_in(s, off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    s->ring_used += REC_HDR + len;
    s->queued++;
    return true;
}

/* ------------------------------------------------------------------ */
/* sockets                                                             */

static void sock_drop(struct sink *s, int e, uint64_t now)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    /* A line cut by the break is sent again whole on the next connection. */
    s->head_sent = 0;
    s->next_try = now; /* the peer may just have restarted: try at once */
    s->backoff_ms = BACKOFF_MIN_MS;
    streak_start(s, "peer gone, queueing lines", e);
}

static void sock_connect(struct sink *s, uint64_t now)
{
    int type = s->kind == SINK_STREAM ? SOCK_STREAM : SOCK_DGRAM;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1); /* length checked at parse */
    int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        s->fd = fd;
        s->backoff_ms = BACKOFF_MIN_MS;
        s->head_sent = 0;
        if (s->ever_connected)
            bump(&s->reconnects);
        s->ever_connected = true;
        streak_end(s, "connected again");
        return;
    }
    /* Unix connect does not go in progress: it succeeds, or the listener
     * is absent (ENOENT, ECONNREFUSED) or its queue is full (EAGAIN). Any
     * of these waits for the back-off. */
    int e = errno;
    if (fd >= 0)
        close(fd);
    s->next_try = now + s->backoff_ms;
    s->backoff_ms = s->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : s->backoff_ms * 2;
    streak_start(s, "cannot connect, queueing lines", e);
}

static enum send_res sock_send(struct sink *s, struct iovec *iov, int cnt, size_t want,
                               size_t *sent)
{
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)cnt;
    *sent = 0;
    for (;;) {
        ssize_t n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            *sent = (size_t)n;
            return (size_t)n == want ? SEND_ALL : SEND_PART;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
            return SEND_AGAIN;
        if (errno == EMSGSIZE)
            return SEND_TOOBIG;
        return SEND_GONE;
    }
}

/* Sends queued records in order until the backlog is empty or the socket
 * stops taking. Returns the number of records lost to EMSGSIZE. */
static uint64_t sock_flush(struct sink *s, uint64_t now)
{
    uint64_t lost = 0;
    while (s->fd >= 0 && s->queued > 0) {
        uint32_t len = ring_head_len(s);
        struct iovec iov[2];
        size_t want = len - s->head_sent;
        int cnt = ring_iov(s, REC_HDR + s->head_sent, want, iov);
        size_t sent;
        switch (sock_send(s, iov, cnt, want, &sent)) {
        case SEND_ALL:
            ring_pop(s);
            bump(&s->written);
            break;
        case SEND_PART:
            s->head_sent += sent;
            return lost;
        case SEND_AGAIN:
            return lost;
        case SEND_TOOBIG:
            ring_pop(s);
            bump(&s->lost);
            lost++;
            break;
        case SEND_GONE:
            sock_drop(s, errno, now);
            return lost;
        }
    }
    return lost;
}

/* RFC 5424 header up to and including the space before MSG. */
static size_t syslog_header(const struct lw_output *o, const struct sink *s, const char *line,
                            size_t len, char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int sev =
        contains(line, len, "\"event_type\":\"alert\"") ? SYSLOG_SEV_WARNING : SYSLOG_SEV_INFO;
    int n =
        snprintf(buf, cap, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s leakwatch %ld - - ",
                 s->facility * 8 + sev, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000), o->hostname, (long)getpid());
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

/* Returns true when the sink sent or queued the line. */
static bool sock_take(lw_output *o, struct sink *s, const char *line, size_t len, uint64_t now)
{
    char hdr[SYSLOG_HDR_MAX];
    struct iovec iov[2];
    int cnt = 0;
    if (s->kind == SINK_SYSLOG) {
        iov[cnt].iov_base = hdr;
        iov[cnt++].iov_len = syslog_header(o, s, line, len, hdr, sizeof(hdr));
        if (len > 0 && line[len - 1] == '\n')
            len--;
    }
    iov[cnt].iov_base = (void *)line;
    iov[cnt++].iov_len = len;
    size_t want = iov[0].iov_len + (cnt == 2 ? iov[1].iov_len : 0);

    if (want > LW_OUTPUT_BACKLOG - REC_HDR)
        goto lost; /* could neither wait nor be resent after a partial send */
    if (s->fd < 0 && now >= s->next_try)
        sock_connect(s, now);
    if (s->fd >= 0) {
        uint64_t flush_lost = sock_flush(s, now);
        for (uint64_t i = 0; i < flush_lost; i++)
            bump(&o->errors);
    }
    if (s->fd >= 0 && s->queued == 0) {
        size_t sent;
        switch (sock_send(s, iov, cnt, want, &sent)) {
        case SEND_ALL:
            bump(&s->written);
            return true;
        case SEND_PART:
            /* The peer has the first part; the rest must be next on the
             * stream. The ring is empty and the line fits, so this push
             * cannot fail. */
            if (!ring_push(s, iov, cnt))
                goto lost;
            s->head_sent = sent;
            return true;
        case SEND_TOOBIG:
            goto lost;
        case SEND_GONE:
            sock_drop(s, errno, now);
            break;
        case SEND_AGAIN:
            break;
        }
    }
    if (ring_push(s, iov, cnt))
        return true;
lost:
    bump(&s->lost);
    s->streak_lost++;
    return false;
}

/* ------------------------------------------------------------------ */
/* open / write / reopen / close                                       */

static void sink_free(struct sink *s)
{
    if (s->fd >= 0 && s->kind != SINK_STDOUT)
        close(s->fd);
    s->fd = -1;
    free(s->ring);
    free(s->spec);
    free(s->path);
    s->ring = NULL;
    s->spec = s->path = NULL;
}

static int sink_open(struct sink *s, const char *spec, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->backoff_ms = BACKOFF_MIN_MS;
    int rc = parse_spec(spec, s, err, errlen);
    if (rc == LW_OK) {
        s->spec = strdup(spec);
        if (!s->spec)
            rc = fail_spec(err, errlen, spec, LW_ERR_NOMEM, "out of memory");
    }
    if (rc == LW_OK && s->kind == SINK_STDOUT)
        s->fd = STDOUT_FILENO;
    if (rc == LW_OK && s->kind == SINK_FILE) {
        s->fd = open_file(s->path);
        if (s->fd < 0)
            rc = fail_spec(err, errlen, spec, LW_ERR_IO, "%s", strerror(errno));
    }
    if (rc != LW_OK)
        sink_free(s);
    return rc;
}

static void set_hostname(lw_output *o)
{
    char h[256] = "";
    if (gethostname(h, sizeof(h) - 1) != 0)
        h[0] = '\0';
    h[sizeof(h) - 1] = '\0';
    /* RFC 5424 HOSTNAME is 1*255PRINTUSASCII: no spaces, no controls. */
    for (char *p = h; *p; p++)
        if (*p < 33 || *p > 126)
            *p = '_';
    snprintf(o->hostname, sizeof(o->hostname), "%s", h[0] ? h : "-");
}

int lw_output_open_specs(const char *const *specs, size_t n, lw_output **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    if (n == 0 || n > LW_OUTPUT_MAX_SINKS) {
        snprintf(err, errlen, "outputs: %s", n == 0 ? "no output given" : "more than 16 outputs");
        return LW_ERR_INVAL;
    }
    lw_output *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, errlen, "%s: out of memory", specs[0]);
        return LW_ERR_NOMEM;
    }
    if (pthread_mutex_init(&o->lock, NULL) != 0) {
        snprintf(err, errlen, "%s: cannot create lock", specs[0]);
        free(o);
        return LW_ERR_NOMEM;
    }
    set_hostname(o);
    for (size_t i = 0; i < n; i++) {
        int rc = sink_open(&o->sinks[i], specs[i] ? specs[i] : "", err, errlen);
        if (rc != LW_OK) {
            for (size_t j = 0; j < i; j++)
                sink_free(&o->sinks[j]);
            pthread_mutex_destroy(&o->lock);
            free(o);
            return rc;
        }
        o->n = i + 1;
    }
    *out = o;
    return LW_OK;
}

int lw_output_open(const char *spec, lw_output **out, char *err, size_t errlen)
{
    return lw_output_open_specs(&spec, 1, out, err, errlen);
}

int lw_output_write(lw_output *o, const char *line, size_t len)
{
    bool all = true;
    pthread_mutex_lock(&o->lock);
    uint64_t now = mono_ms();
    for (size_t i = 0; i < o->n; i++) {
        struct sink *s = &o->sinks[i];
        bool took = is_socket(s) ? sock_take(o, s, line, len, now) : file_take(s, line, len);
        all = all && took;
    }
    bump(all ? &o->lines : &o->errors);
    pthread_mutex_unlock(&o->lock);
    return all ? LW_OK : LW_ERR_IO;
}

int lw_output_reopen(lw_output *o)
{
    int rc = LW_OK;
    pthread_mutex_lock(&o->lock);
    uint64_t now = mono_ms();
    for (size_t i = 0; i < o->n; i++) {
        struct sink *s = &o->sinks[i];
        if (s->kind == SINK_FILE) {
            int fd = open_file(s->path);
            if (fd < 0) {
                fprintf(stderr, "leakwatch: %s: reopen failed, keeping the old file: %s\n", s->spec,
                        strerror(errno));
                rc = LW_ERR_IO;
                continue;
            }
            close(s->fd);
            s->fd = fd;
            s->partial_line = false; /* the cut line stays in the old file */
        } else if (is_socket(s)) {
            if (s->fd < 0)
                sock_connect(s, now);
            for (uint64_t k = sock_flush(s, now); k > 0; k--)
                bump(&o->errors);
        }
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

uint64_t lw_output_lines(const lw_output *o)
{
    return get(&o->lines);
}

uint64_t lw_output_errors(const lw_output *o)
{
    return get(&o->errors);
}

bool lw_output_sink_at(const lw_output *o, size_t i, lw_output_sink_stats *st)
{
    if (i >= o->n)
        return false;
    const struct sink *s = &o->sinks[i];
    st->spec = s->spec;
    st->written = get(&s->written);
    st->lost = get(&s->lost);
    st->reconnects = get(&s->reconnects);
    return true;
}

/*
 * One round of the final flush: connect what is due, send what the
 * sockets take, and wait (at most until the deadline) for the next thing
 * that could make progress: a socket becoming writable or a connect
 * attempt falling due. Returns false when nothing is left to send.
 */
static bool close_round(lw_output *o, uint64_t deadline)
{
    struct pollfd pfd[LW_OUTPUT_MAX_SINKS];
    nfds_t nfd = 0;
    uint64_t now = mono_ms();
    uint64_t wake = deadline;
    for (size_t i = 0; i < o->n; i++) {
        struct sink *s = &o->sinks[i];
        if (!is_socket(s) || s->queued == 0)
            continue;
        if (s->fd < 0 && now >= s->next_try)
            sock_connect(s, now);
        for (uint64_t k = sock_flush(s, now); k > 0; k--)
            bump(&o->errors);
        if (s->queued == 0)
            continue;
        if (s->fd >= 0) {
            pfd[nfd].fd = s->fd;
            pfd[nfd].events = POLLOUT;
            pfd[nfd++].revents = 0;
        } else if (s->next_try < wake) {
            wake = s->next_try;
        }
    }
    if (nfd == 0 && wake == deadline) {
        bool left = false;
        for (size_t i = 0; i < o->n; i++)
            left = left || (is_socket(&o->sinks[i]) && o->sinks[i].queued > 0);
        if (!left)
            return false;
    }
    now = mono_ms();
    if (now >= deadline)
        return true;
    uint64_t wait = (wake > now ? wake - now : 0) + 1;
    poll(nfd ? pfd : NULL, nfd, (int)(wait > 1000 ? 1000 : wait));
    return true;
}

int lw_output_close(lw_output *o, int timeout_ms)
{
    int rc = LW_OK;
    if (!o)
        return rc;
    pthread_mutex_lock(&o->lock);
    uint64_t now = mono_ms();
    uint64_t deadline = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    /* One immediate attempt for every absent peer, whatever the back-off
     * says: this is the last chance to deliver the backlog. */
    for (size_t i = 0; i < o->n; i++)
        if (is_socket(&o->sinks[i]) && o->sinks[i].fd < 0)
            o->sinks[i].next_try = now;
    while (close_round(o, deadline) && mono_ms() < deadline)
        ;
    for (size_t i = 0; i < o->n; i++) {
        struct sink *s = &o->sinks[i];
        if (is_socket(s) && s->queued > 0) {
            fprintf(stderr, "leakwatch: %s: %zu line(s) left unsent at exit\n", s->spec, s->queued);
            atomic_fetch_add_explicit(&s->lost, s->queued, memory_order_relaxed);
            rc = LW_ERR_IO;
        }
        if (s->kind == SINK_FILE && s->fd >= 0 && close(s->fd) != 0)
            rc = LW_ERR_IO;
        if (s->kind == SINK_FILE)
            s->fd = -1;
        sink_free(s);
    }
    pthread_mutex_unlock(&o->lock);
    pthread_mutex_destroy(&o->lock);
    free(o);
    return rc;
}
