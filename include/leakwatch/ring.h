/*
 * ring.h - a bounded single-producer single-consumer queue of byte records.
 *
 * The capture thread hands each packet to its worker through one of these.
 * Records are variable-sized and contiguous (a record never wraps: when it
 * does not fit before the end of the buffer, the producer skips to the
 * start), so the consumer reads a packet in place with no copy. Exactly one
 * thread may produce and one may consume; the two synchronise only through
 * the head and tail indexes (C11 acquire/release atomics), so neither takes
 * a lock on the fast path.
 *
 * A full ring is the producer's problem: lw_ring_reserve() returns NULL at
 * once and the caller counts the drop (capture.ring_full). The consumer may
 * sleep in lw_ring_wait() when the ring is empty; a producer that publishes
 * wakes it. Waking costs a syscall only when the consumer is asleep.
 */
#ifndef LEAKWATCH_RING_H
#define LEAKWATCH_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lw_ring lw_ring;

/* A ring of at least `bytes` bytes (rounded up to a power of two, at least
 * 4 KiB). Returns NULL on allocation failure or when bytes exceeds 2 GiB. */
lw_ring *lw_ring_new(size_t bytes);
void lw_ring_free(lw_ring *r);

/* Largest record lw_ring_reserve() can ever accept for this ring:
 * capacity / 2 - 8. Each record costs an 8-byte header plus its length
 * rounded up to 8; a record that would cross the end of the buffer is
 * preceded by padding to the end, and capacity / 2 is the largest record
 * that fits an empty ring whatever the position of the previous one. */
size_t lw_ring_max_record(const lw_ring *r);

/*
 * Producer: room for one record of len bytes (len > 0), aligned to 8 bytes,
 * or NULL when the ring is full (or len exceeds lw_ring_max_record). The
 * record becomes visible to the consumer only at lw_ring_commit(). At most
 * one reservation is outstanding: calling lw_ring_reserve() again before
 * committing abandons the first one (nothing of it is ever seen), and
 * lw_ring_commit() without a reservation does nothing. Never blocks.
 */
void *lw_ring_reserve(lw_ring *r, size_t len);
void lw_ring_commit(lw_ring *r);

/*
 * Producer: lw_ring_commit_deferred() commits the reserved record without
 * publishing it yet; lw_ring_flush() publishes every record committed so
 * far (lw_ring_commit() is the two in one). Deferred records are published
 * by themselves once 1/32 of the ring waits, and whenever lw_ring_reserve()
 * finds the ring full, so a producer that waits for room never waits on
 * records the consumer cannot see. A producer that goes idle, or that must
 * be sure the consumer sees a record (a control message it then waits on),
 * calls lw_ring_flush(). Publishing costs a release store and a full fence,
 * and a wake-up when the consumer sleeps: once per batch instead of once
 * per packet.
 */
void lw_ring_commit_deferred(lw_ring *r);
void lw_ring_flush(lw_ring *r);

/*
 * Consumer: the oldest committed record and its length, or NULL when the
 * ring is empty. The record stays valid until lw_ring_release(); peeking
 * again before releasing returns the same record. lw_ring_release() frees
 * the record last returned by lw_ring_peek() and does nothing otherwise.
 */
const void *lw_ring_peek(lw_ring *r, size_t *len);
void lw_ring_release(lw_ring *r);

/* Consumer: sleeps until a record is committed or timeout_ms passes
 * (returns at once when the ring is not empty). timeout_ms == 0 only
 * checks; timeout_ms < 0 waits without limit. It spins briefly before
 * sleeping on a futex. Returns true when the ring is not empty on return. */
bool lw_ring_wait(lw_ring *r, int timeout_ms);

/* Bytes in use, headers and end-of-buffer padding included (approximate
 * when read by the other side or a third thread); for stats. */
size_t lw_ring_used(const lw_ring *r);

#endif
