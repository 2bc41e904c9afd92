/*
 * dispatch.h - which worker gets a packet.
 *
 * All flows of one inside host must land on one worker, so that a worker's
 * burst state (per inside host) needs no lock. The capture thread therefore
 * decodes just enough of each packet to find its IP addresses (link layer,
 * VLAN tags, the IPv4/IPv6 header; no transport, no IPv6 extension chain)
 * and hashes the inside address:
 *   - src in home_net and dst not: the src;  dst in home_net and src not: the dst;
 *   - both or neither inside: the smaller of the two addresses, so both
 *     directions of a flow (and every fragment of a datagram, which carries
 *     the same addresses) still meet on one worker.
 * A packet with no IP header decodes nowhere useful: it goes to worker 0,
 * whose decoder counts why it was dropped.
 *
 * The hash is keyed with a fixed key: the mapping is the same from run to
 * run, which keeps multi-worker replays reproducible.
 */
#ifndef LEAKWATCH_DISPATCH_H
#define LEAKWATCH_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "leakwatch/config.h"
#include "leakwatch/types.h"

/*
 * Fills *key with the address the packet is dispatched by (see above) and
 * returns true; returns false when the packet has no IP header it can read
 * (then *key is zeroed). Reads at most the captured bytes; never writes
 * them.
 */
bool lw_dispatch_key(const lw_config *cfg, const uint8_t *data, uint32_t caplen, int linktype,
                     lw_addr *key);

/* The worker (0..nworkers-1) for a packet; nworkers >= 1. */
unsigned lw_dispatch_worker(const lw_config *cfg, const uint8_t *data, uint32_t caplen,
                            int linktype, unsigned nworkers);

#endif
