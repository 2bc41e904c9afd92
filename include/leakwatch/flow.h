/*
 * flow.h - the bidirectional flow table of one worker.
 *
 * A flow is keyed by its 5-tuple in either direction. The *client* is the
 * side that sent the first packet seen, except that a SYN-ACK seen first
 * makes its receiver the client, so direction 0 (LW_DIR_TOSERVER) is the
 * initiator's bytes whenever the capture lets us know who that was.
 *
 * Stages keep per-flow state in the flow's slots; the flow table never looks
 * inside a slot. Whenever a flow leaves the table (idle or closed time-out,
 * eviction at the cap, a pure SYN reusing a closed TCP flow's tuple, flush)
 * the table first calls the release callback, exactly once, so the engine
 * can flush and free the stages' state. The callback must not call back
 * into the table.
 *
 * Time is packet time (microseconds), passed in by the caller: the table
 * never reads a clock. Work per call is bounded: a lookup is O(1) expected;
 * a new flow may also move a few buckets of a growing bucket array (never
 * the whole array at once); expiry releases at most `budget` flows per call.
 *
 * Order: "least recently seen" below is exact for closed flows and, for
 * open ones, exact to within the relink interval: the largest power of two
 * microseconds within 1/64 of the idle time-out, at most 2^20 us (~1 s);
 * 1 us, i.e. exact, for an idle time-out under 128 us. Only time-outs and
 * evictions see that tolerance; flush releases in the exact order.
 *
 * Memory: at most max_flows records; a new flow at the cap evicts the least
 * recently seen flow (closed ones first) and counts flow.evicted. With a
 * memcap, the table also keeps the bytes of its records plus the slot bytes
 * the engine declares with lw_flow_account() (flow.memuse) at or under the
 * memcap: a new flow that would need memory beyond it evicts the least
 * recently seen flow instead, and lw_flow_table_expire() first evicts while
 * slot growth has pushed the total over; both count flow.memcap_evicted.
 * The bucket array is not part of flow.memuse: it starts at 1,024 buckets
 * (fewer when max_flows is smaller), doubles (allocating, at a new flow
 * only) when the flows in the table pass half its buckets, and never
 * passes the power of two >= max_flows: at most 8 bytes x that, plus half
 * as much while a doubling is under way. A failed doubling leaves the
 * table working on its current array.
 */
#ifndef LEAKWATCH_FLOW_H
#define LEAKWATCH_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"
#include "leakwatch/types.h"

/* Stage slots in a flow record. */
enum { LW_FLOW_SLOT_STREAM = 0, LW_FLOW_SLOT_APP, LW_FLOW_SLOT_MATCH, LW_FLOW_SLOT_MAX };

typedef struct lw_flow {
    /* key, as first seen (client = src) */
    lw_addr src, dst;
    uint16_t sport, dport;
    uint8_t proto;

    bool egress[2];   /* direction d carries bytes from home_net to outside (set by engine) */
    bool closed;      /* FIN both ways or RST seen; on the closed list */
    uint8_t fin_seen; /* bit d: FIN seen in direction d */
    lw_app_proto app_proto;

    uint64_t flow_id;     /* deterministic 51-bit id (fits a JSON double exactly) */
    uint64_t ts_start_us; /* first packet */
    uint64_t ts_last_us;  /* last packet */
    uint64_t bytes[2];    /* wire bytes per direction */
    uint64_t pkts[2];

    void *slot[LW_FLOW_SLOT_MAX]; /* per-stage state, owned by that stage via the engine */

    /* table-private links; do not touch */
    struct lw_flow *hnext;
    struct lw_flow *lprev, *lnext;
    uint32_t seq; /* the table's lookup count at its last packet, modulo 2^32 */
    uint32_t mem; /* slot bytes declared with lw_flow_account(); fills the tail padding */
} lw_flow;

#define LW_FLOW_COUNTERS(X)                                                                        \
    X(CREATED, "flow.created")                                                                     \
    X(EXPIRED_IDLE, "flow.expired_idle")                                                           \
    X(EXPIRED_CLOSED, "flow.expired_closed")                                                       \
    X(EVICTED, "flow.evicted")                                                                     \
    X(FLUSHED, "flow.flushed")                                                                     \
    X(ALLOC_FAILED, "flow.alloc_failed")                                                           \
    X(TCP_REUSED, "flow.tcp_reused")                                                               \
    X(MEMCAP_EVICTED, "flow.memcap_evicted")                                                       \
    X(ACTIVE, "flow.active")                                                                       \
    X(MEMUSE, "flow.memuse")

#define LW_FLOW_ENUM_(name, str) LW_FLOW_CTR_##name,
enum lw_flow_counter { LW_FLOW_COUNTERS(LW_FLOW_ENUM_) LW_FLOW_CTR_MAX };
#undef LW_FLOW_ENUM_

extern const char *const lw_flow_counter_names[LW_FLOW_CTR_MAX];

typedef struct lw_flow_table lw_flow_table;

/* Called for each flow leaving the table, before its record is reused. */
typedef void (*lw_flow_release_fn)(lw_flow *f, void *ctx);

typedef struct lw_flow_table_config {
    uint32_t max_flows;
    uint64_t memcap; /* bytes of records + declared slot bytes; 0 = no cap but max_flows */
    uint64_t idle_timeout_us;
    uint64_t closed_timeout_us;
    lw_flow_release_fn release;
    void *release_ctx;
} lw_flow_table_config;

/* Returns NULL on allocation failure. `counters` has LW_FLOW_CTR_MAX entries
 * owned by the caller and outliving the table. */
lw_flow_table *lw_flow_table_new(const lw_flow_table_config *cfg, uint64_t *counters);

/* Releases every flow (counted as flow.flushed) and frees the table. */
void lw_flow_table_free(lw_flow_table *t);

/*
 * Finds the flow of a decoded TCP/UDP packet, creating it when absent (at the
 * cap after evicting one). Sets *dir to the packet's direction and *created
 * when the flow is new; updates ts_last_us (which never moves backwards),
 * bytes and pkts from the packet and moves it to the most-recently-seen end
 * (an open flow only when ts_last_us enters a later relink interval).
 * A pure SYN matching a closed TCP flow releases it (flow.tcp_reused) and
 * starts a new flow. Returns NULL only when memory for a record could not
 * be had (counted flow.alloc_failed).
 */
lw_flow *lw_flow_get(lw_flow_table *t, const lw_packet *p, int *dir, bool *created);

/* Marks a flow closed (FIN both ways or RST): it now expires after the
 * closed time-out instead of the idle one. */
void lw_flow_mark_closed(lw_flow_table *t, lw_flow *f);

/* Declares that a stage's state for f grew (delta > 0) or shrank by |delta|
 * bytes; counted in flow.memuse against the memcap. The table forgets a
 * flow's declared bytes when the flow leaves, so the engine need not undo
 * them in the release callback (it may: this is the one call the callback
 * is allowed to make). Never allocates and never evicts: the memcap is
 * enforced at the next new flow or lw_flow_table_expire(). A flow's total
 * saturates at 0 and UINT32_MAX. */
void lw_flow_account(lw_flow_table *t, lw_flow *f, int64_t delta);

/* Bytes counted against the memcap now: records allocated (in the table or
 * free for reuse) plus the declared slot bytes of flows in the table. */
uint64_t lw_flow_table_memuse(const lw_flow_table *t);

/* Releases flows while flow.memuse exceeds the memcap (least recently seen
 * first, closed ones first; flow.memcap_evicted), then flows whose time-out
 * has passed at `now_us` (a flow idle for exactly its time-out has
 * expired), closed ones first; at most `budget` flows in all. Never early;
 * an open flow may be released up to one relink interval late (when a flow
 * seen later in the same interval is ahead of it). Returns how many were
 * released. */
size_t lw_flow_table_expire(lw_flow_table *t, uint64_t now_us, size_t budget);

/* Releases every flow now (end of input), counted as flow.flushed: the
 * closed ones, then the open ones, each least recently seen first, by
 * ts_last_us with ties in the order of their last packets (exactly: the
 * relink interval does not apply). May allocate a temporary array for the
 * sort; without it, list order is used. */
void lw_flow_table_flush(lw_flow_table *t);

/* Number of flows in the table. */
size_t lw_flow_table_count(const lw_flow_table *t);

/* Buckets of the current array; with `old` non-NULL, also stores those of
 * the array still being migrated from (0 when no doubling is under way).
 * For tests and diagnostics. */
size_t lw_flow_table_buckets(const lw_flow_table *t, size_t *old);

#endif
