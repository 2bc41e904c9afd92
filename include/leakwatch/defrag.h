/*
 * defrag.h - IPv4 and IPv6 fragment reassembly.
 *
 * Fragments are collected per datagram, keyed by (address family, source,
 * destination, identification, protocol) as RFC 791 and RFC 8200 section
 * 4.5 define a datagram. When the last hole is filled, lw_defrag_add()
 * returns the whole datagram as a raw IP packet - a fresh IPv4 header
 * (no options, total length set, not fragmented) or a fresh IPv6 header
 * (payload length set, next header = the fragmented protocol, no extension
 * headers) followed by the reassembled payload - which the engine decodes
 * again as if it had arrived whole (link type raw IP).
 *
 * Hostile fragments are bounded:
 *   - overlaps keep the first copy (counted; differing bytes counted as
 *     defrag.overlap_mismatch, the evasion signal);
 *   - a fragment that would rewrite the first 16 bytes of the transport
 *     header (RFC 1858's tiny/overlapping-first-fragment attack) is dropped
 *     and counted;
 *   - a datagram over 65,535 bytes of payload, or with more than
 *     max_fragments fragments, is dropped whole and counted;
 *   - at most max_trains datagrams are in progress and their buffered bytes
 *     stay under memcap: past either cap the oldest datagrams are evicted
 *     (counted) to make room, so a flood of fragments that never complete
 *     cannot stop reassembly of fresh datagrams;
 *   - a datagram not completed within `timeout` of its first fragment is
 *     dropped (defrag.timeouts).
 * Time is packet time, passed in.
 */
#ifndef LEAKWATCH_DEFRAG_H
#define LEAKWATCH_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

#define LW_DEFRAG_COUNTERS(X)                                                                      \
    X(FRAGMENTS, "defrag.fragments")                                                               \
    X(REASSEMBLED, "defrag.reassembled")                                                           \
    X(TIMEOUTS, "defrag.timeouts")                                                                 \
    X(OVERLAP, "defrag.overlap")                                                                   \
    X(OVERLAP_MISMATCH, "defrag.overlap_mismatch")                                                 \
    X(TINY_OVERLAP, "defrag.transport_header_overlap")                                             \
    X(TOO_MANY_FRAGMENTS, "defrag.too_many_fragments")                                             \
    X(TOO_LARGE, "defrag.too_large")                                                               \
    X(INVALID, "defrag.invalid")                                                                   \
    X(TRAINS_EVICTED, "defrag.trains_evicted")                                                     \
    X(MEMCAP, "defrag.memcap_reached")                                                             \
    X(ALLOC_FAILED, "defrag.alloc_failed")                                                         \
    X(TRAINS_ACTIVE, "defrag.trains_active")                                                       \
    X(BUFFERED_BYTES, "defrag.buffered_bytes")

#define LW_DEFRAG_ENUM_(name, str) LW_DEFRAG_CTR_##name,
enum lw_defrag_counter { LW_DEFRAG_COUNTERS(LW_DEFRAG_ENUM_) LW_DEFRAG_CTR_MAX };
#undef LW_DEFRAG_ENUM_

extern const char *const lw_defrag_counter_names[LW_DEFRAG_CTR_MAX];

typedef struct lw_defrag_config {
    uint32_t max_trains;    /* defrag.max_trains */
    uint64_t memcap;        /* defrag.memcap: buffered fragment bytes */
    uint64_t timeout_us;    /* defrag.timeout */
    uint16_t max_fragments; /* defrag.max_fragments: per datagram */
} lw_defrag_config;

typedef struct lw_defrag lw_defrag;

/* NULL on allocation failure or a zero cap. counters: LW_DEFRAG_CTR_MAX
 * entries owned by the caller. */
lw_defrag *lw_defrag_new(const lw_defrag_config *cfg, uint64_t *counters);
void lw_defrag_free(lw_defrag *d);

/*
 * Takes one decoded fragment (p->is_fragment; p->frag_data/frag_data_len/
 * frag_proto set by decode). Returns the reassembled raw IP packet and sets
 * *len when this fragment completed its datagram; the bytes stay valid
 * until the next call. Otherwise returns NULL.
 */
const uint8_t *lw_defrag_add(lw_defrag *d, const lw_packet *p, uint64_t now_us, size_t *len);

/* Drops datagrams older than the time-out, at most `budget`; returns how many. */
size_t lw_defrag_expire(lw_defrag *d, uint64_t now_us, size_t budget);

#endif
