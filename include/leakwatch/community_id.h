/*
 * community_id.h - Community ID flow hashing, version 1.
 *
 * The spec (corelight/community-id-spec): SHA-1 over seed (16-bit, network
 * order), source address, destination address, protocol, one zero byte of
 * padding, source port, destination port, where the endpoints are ordered so
 * that the smaller (address, port) comes first; the result is "1:" and the
 * base64 of the digest. SHA-1 and base64 come from OpenSSL's libcrypto.
 */
#ifndef LEAKWATCH_COMMUNITY_ID_H
#define LEAKWATCH_COMMUNITY_ID_H

#include <stdint.h>

#include "leakwatch/types.h"

#define LW_COMMUNITY_ID_LEN 64

/*
 * Writes "1:<base64>" (30 characters and a NUL) for the flow into out.
 *
 * Ports: TCP, UDP and SCTP use sport/dport. For ICMP/ICMPv6 pass the message
 * type as sport and the code as dport; request/reply types are mapped as the
 * spec (after Zeek) says, so both halves of an exchange share one ID, and
 * other types are hashed one-way as (type, code). For every other protocol
 * the spec hashes no port fields at all, so sport/dport are ignored.
 *
 * Returns 0, or LW_ERR_INVAL (with out set to "") for a NULL or unset
 * address, mixed address families, or if libcrypto refuses SHA-1.
 */
int lw_community_id_v1(uint16_t seed, uint8_t proto, const lw_addr *src, uint16_t sport,
                       const lw_addr *dst, uint16_t dport, char out[LW_COMMUNITY_ID_LEN]);

#endif
