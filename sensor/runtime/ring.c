/*
 * ring.c - bounded single-producer single-consumer queue of byte records.
 *
 * Layout. The buffer is a power of two `cap` bytes (>= 4 KiB). `head` and
 * `tail` are 64-bit byte counters that only ever grow; a position in the
 * buffer is `counter & (cap - 1)`, and `head - tail` is the number of bytes
 * in use, so "full" and "empty" never need a spare slot to tell them apart
 * and the counters cannot wrap in the life of a process (2^64 bytes).
 *
 * Each record is an 8-byte header (uint32 length, uint32 flags) followed by
 * the body padded to 8 bytes, so every header and every body is 8-byte
 * aligned and a record occupies 8 + round_up(len, 8) bytes. Records never
 * wrap: when one does not fit between its position and the end of the
 * buffer, the producer writes a header with LW_RING_SKIP there ("the rest
 * of this lap is padding") and puts the record at offset 0. Since offsets
 * are multiples of 8, at least 8 bytes always remain before the end, so the
 * skip header itself always fits.
 *
 * Largest record. With the skip rule, a record of total size T fits in an
 * empty ring from any start offset iff T <= cap / 2: either it fits before
 * the end, or the remainder before the end is < T and remainder + T < cap.
 * Hence lw_ring_max_record() = cap / 2 - 8. The ring is limited to 2 GiB so
 * that any length fits the uint32 header.
 *
 * Memory ordering (C11). The producer writes header and body as plain
 * memory and then publishes them with a release store of `head`; the
 * consumer's acquire load of `head` makes them visible. Symmetrically the
 * consumer releases `tail` after it has finished reading, and the producer's
 * acquire load of `tail` orders those reads before its overwrite. Each side
 * keeps a private copy of the other side's counter and reloads it only when
 * the copy says full (producer) or empty (consumer), so in steady state the
 * shared lines move between cores once per batch, not once per record. The
 * shared counters, each side's private state, and the wake-up words sit on
 * separate cache lines to avoid false sharing.
 *
 * Publishing in batches. lw_ring_commit_deferred() only moves the
 * producer's private head; the shared one is stored (with the fence and
 * the look at `sleeping` below) once 1/PUBLISH_FRACTION of the ring is
 * waiting, when lw_ring_reserve() finds the ring full, and at
 * lw_ring_flush(). Publishing every packet cost the capture thread a full
 * fence per packet; batching made two workers about 9% faster (wall) on
 * the bench capture. Unpublished records are simply not there yet for the
 * consumer, so none of the reasoning below changes.
 *
 * Sleeping without lost wake-ups. The consumer spins briefly, then:
 *   s = seq; sleeping = 1; fence(seq_cst); if (!empty) return;
 *   futex_wait(&seq, s, deadline); sleeping = 0;
 * and the producer's publish does:
 *   head = new (release); fence(seq_cst); if (sleeping) { seq++; futex_wake }
 * The two fences form a Dekker pair: either the consumer's re-check sees
 * the new head, or the producer sees `sleeping` and bumps `seq`, in which
 * case the kernel's compare in FUTEX_WAIT fails (the consumer saw the old
 * seq) or the wake finds the consumer queued. The producer therefore pays a
 * syscall only while the consumer is (or is about to be) asleep; a stale
 * `sleeping` costs at most one spurious wake. The deadline is absolute on
 * CLOCK_MONOTONIC (FUTEX_WAIT_BITSET), so signals and spurious wake-ups do
 * not stretch the timeout.
 */
#include "leakwatch/ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CACHELINE   64
#define HDR_SIZE    8u
#define MIN_CAP     ((size_t)4096)
#define MAX_CAP     ((size_t)1 << 31)
#define SKIP_FLAG   1u
#define SPIN_ROUNDS 512
/* lw_ring_commit_deferred() publishes once 1/PUBLISH_FRACTION of the ring
 * waits unpublished: 128 KiB (about 150 full-size packets) of a 4 MiB ring. */
#define PUBLISH_FRACTION 32
#define NSEC_PER_SEC     1000000000L

typedef struct rec_hdr {
    uint32_t len;
    uint32_t flags;
} rec_hdr;

struct lw_ring {
    /* Read-only after lw_ring_new(). */
    uint8_t *buf;
    size_t cap;
    uint64_t mask;

    /* Written by the producer at each commit. */
    alignas(CACHELINE) _Atomic uint64_t head;

    /* Producer-private. */
    alignas(CACHELINE) struct {
        uint64_t head;       /* == head, without an atomic load */
        uint64_t tail_cache; /* last tail seen; <= the real tail */
        uint64_t pending;    /* head after the outstanding reservation */
        uint64_t published;  /* the last value stored to head */
        uint64_t batch;      /* deferred commits publish once this many bytes wait */
        bool reserved;
    } p;

    /* Written by the consumer at each release. */
    alignas(CACHELINE) _Atomic uint64_t tail;

    /* Consumer-private. */
    alignas(CACHELINE) struct {
        uint64_t tail;       /* == tail, without an atomic load */
        uint64_t head_cache; /* last head seen; <= the real head */
        uint64_t peek_end;   /* tail after the peeked record */
        bool peeked;
    } c;

    /* Wake-up: the futex word and the "consumer may be asleep" flag. */
    alignas(CACHELINE) _Atomic uint32_t seq;
    _Atomic uint32_t sleeping;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline uint64_t rec_total(size_t len)
{
    return HDR_SIZE + (((uint64_t)len + 7u) & ~(uint64_t)7u);
}

static inline void hdr_write(lw_ring *r, uint64_t pos, uint32_t len, uint32_t flags)
{
    rec_hdr h = {.len = len, .flags = flags};
    memcpy(r->buf + (pos & r->mask), &h, sizeof(h));
}

static inline rec_hdr hdr_read(const lw_ring *r, uint64_t pos)
{
    rec_hdr h;
    memcpy(&h, r->buf + (pos & r->mask), sizeof(h));
    return h;
}

lw_ring *lw_ring_new(size_t bytes)
{
    if (bytes > MAX_CAP)
        return NULL;
    size_t cap = MIN_CAP;
    while (cap < bytes)
        cap <<= 1;

    lw_ring *r = aligned_alloc(CACHELINE, sizeof(*r));
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->buf = aligned_alloc(CACHELINE, cap);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->cap = cap;
    r->mask = cap - 1;
    r->p.batch = cap / PUBLISH_FRACTION;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->seq, 0);
    atomic_init(&r->sleeping, 0);
    return r;
}

void lw_ring_free(lw_ring *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

size_t lw_ring_max_record(const lw_ring *r)
{
    return r->cap / 2 - HDR_SIZE;
}

/* ---- producer ---------------------------------------------------------- */

void *lw_ring_reserve(lw_ring *r, size_t len)
{
    /* A second reservation abandons the first: nothing was published. */
    r->p.reserved = false;
    if (len == 0 || len > lw_ring_max_record(r))
        return NULL;

    uint64_t head = r->p.head;
    uint64_t total = rec_total(len);
    uint64_t to_end = r->cap - (head & r->mask);
    uint64_t need = total <= to_end ? total : to_end + total;

    if (need > r->cap - (head - r->p.tail_cache)) {
        r->p.tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (need > r->cap - (head - r->p.tail_cache)) {
            /* The consumer must see everything committed, or a producer
             * waiting for room could wait on records it never published. */
            lw_ring_flush(r);
            return NULL;
        }
    }

    uint64_t start = head;
    if (total > to_end) {
        hdr_write(r, head, 0, SKIP_FLAG);
        start = head + to_end;
    }
    hdr_write(r, start, (uint32_t)len, 0);
    r->p.pending = start + total;
    r->p.reserved = true;
    return r->buf + (start & r->mask) + HDR_SIZE;
}

static void wake_consumer(lw_ring *r)
{
    atomic_fetch_add_explicit(&r->seq, 1, memory_order_release);
    syscall(SYS_futex, &r->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void lw_ring_flush(lw_ring *r)
{
    if (r->p.published == r->p.head)
        return;
    r->p.published = r->p.head;
    atomic_store_explicit(&r->head, r->p.head, memory_order_release);
    /* Pairs with the fence in lw_ring_wait(): see the file comment. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sleeping, memory_order_relaxed))
        wake_consumer(r);
}

void lw_ring_commit_deferred(lw_ring *r)
{
    if (!r->p.reserved)
        return;
    r->p.reserved = false;
    r->p.head = r->p.pending;
    if (r->p.head - r->p.published >= r->p.batch)
        lw_ring_flush(r);
}

void lw_ring_commit(lw_ring *r)
{
    if (!r->p.reserved)
        return;
    lw_ring_commit_deferred(r);
    lw_ring_flush(r);
}

/* ---- consumer ---------------------------------------------------------- */

/* True when the consumer has something to read (reloads head if needed). */
static bool has_data(lw_ring *r)
{
    if (r->c.tail != r->c.head_cache)
        return true;
    r->c.head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    return r->c.tail != r->c.head_cache;
}

const void *lw_ring_peek(lw_ring *r, size_t *len)
{
    for (;;) {
        if (!has_data(r)) {
            r->c.peeked = false;
            return NULL;
        }
        uint64_t t = r->c.tail;
        rec_hdr h = hdr_read(r, t);
        if (h.flags & SKIP_FLAG) {
            /* Padding to the end of the lap: free it and start over at 0.
             * The producer commits the skip and its record together, so a
             * record follows. */
            r->c.tail = t + (r->cap - (t & r->mask));
            atomic_store_explicit(&r->tail, r->c.tail, memory_order_release);
            continue;
        }
        r->c.peek_end = t + rec_total(h.len);
        r->c.peeked = true;
        if (len)
            *len = h.len;
        return r->buf + (t & r->mask) + HDR_SIZE;
    }
}

void lw_ring_release(lw_ring *r)
{
    if (!r->c.peeked)
        return;
    r->c.peeked = false;
    r->c.tail = r->c.peek_end;
    atomic_store_explicit(&r->tail, r->c.tail, memory_order_release);
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= NSEC_PER_SEC) {
        ts->tv_sec++;
        ts->tv_nsec -= NSEC_PER_SEC;
    }
}

bool lw_ring_wait(lw_ring *r, int timeout_ms)
{
    if (has_data(r))
        return true;
    if (timeout_ms == 0)
        return false;

    /* Data usually arrives within microseconds on a busy sensor: a short
     * spin saves two syscalls per wake-up. */
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        cpu_relax();
        if (has_data(r))
            return true;
    }

    struct timespec deadline;
    if (timeout_ms > 0)
        deadline_after(&deadline, timeout_ms);

    for (;;) {
        uint32_t s = atomic_load_explicit(&r->seq, memory_order_acquire);
        atomic_store_explicit(&r->sleeping, 1, memory_order_relaxed);
        /* Pairs with the fence in lw_ring_commit(). */
        atomic_thread_fence(memory_order_seq_cst);
        if (has_data(r)) {
            atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
            return true;
        }
        /* Absolute CLOCK_MONOTONIC deadline: FUTEX_WAIT_BITSET without
         * FUTEX_CLOCK_REALTIME. NULL waits without limit. */
        long rc = syscall(SYS_futex, &r->seq, FUTEX_WAIT_BITSET_PRIVATE, s,
                          timeout_ms > 0 ? &deadline : NULL, NULL, FUTEX_BITSET_MATCH_ANY);
        int err = rc == -1 ? errno : 0;
        atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
        if (has_data(r))
            return true;
        if (err == ETIMEDOUT)
            return false;
        /* Woken, EAGAIN (seq moved), EINTR or spurious: look again. */
    }
}

size_t lw_ring_used(const lw_ring *r)
{
    /* Tail first: head only grows, so the later head load is >= the tail
     * we saw and the difference cannot go negative. */
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t used = h - t;
    return used > r->cap ? r->cap : (size_t)used;
}
