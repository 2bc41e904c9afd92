/*
 * defrag.c - IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5) fragment
 * reassembly for one worker.
 *
 * A datagram in progress is a "train", keyed by (family, source,
 * destination, identification, protocol) - the tuple both RFCs use to say
 * which fragments belong together. Trains are found through a hash table
 * whose bucket hash is SipHash-2-4 (libsodium's crypto_shorthash) under a
 * key drawn from the system CSPRNG per table: a sender choosing ids and addresses
 * cannot aim every train at one bucket. Every train is also on one list in
 * the order it was created (its first fragment's time), so the oldest is at
 * the head: expiry and eviction at max_trains are O(1) per train.
 *
 * A train holds its bytes as pieces (offset, length, copy of the bytes),
 * sorted by offset and never overlapping. A new fragment is cut to the
 * holes between the pieces it overlaps: the copy that arrived first wins,
 * as Suricata's "first" policy and the BSD stacks' older behaviour do. Every
 * fragment that overlaps held bytes counts once in defrag.overlap; if any
 * overlapped byte differs from the held copy it also counts once in
 * defrag.overlap_mismatch - two different versions of the same datagram on
 * the wire, which is how fragment evasion looks (Ptacek and Newsham, 1998).
 * A receiver with another policy (Linux now discards the whole datagram)
 * would see something else; the counter is the signal to look.
 *
 * Lengths: a fragment covers [offset, offset + frag_data_wire_len) of the
 * datagram's payload, of which the first frag_data_len bytes were captured.
 * Only captured bytes are held, so a fragment cut by the snaplen leaves a
 * hole that only another copy can fill (otherwise the train times out). The
 * fragment without MF fixes the end; after that a fragment reaching past
 * the end, a second last fragment with another end, or a last fragment
 * ending before bytes already seen contradict the datagram and the train is
 * dropped (defrag.invalid). Invariant: all pieces lie inside [0, max_end)
 * and, once the end is known, max_end == end; so the train is complete
 * exactly when the end is known and the held bytes add up to it.
 *
 * Bounds (every one counted):
 * - payload end past 65535 bytes (IPv4: 65515, so that the rebuilt header
 *   fits in a total length) drops the train: defrag.too_large;
 * - more than max_fragments fragments for one train drops it (duplicates
 *   count: the cost of a fragment is a walk over the pieces, and the pieces
 *   number at most 2 * max_fragments + 1, so a train costs O(max_fragments^2)
 *   work at worst): defrag.too_many_fragments;
 * - a fragment at a non-zero offset below 16 of a TCP datagram would rewrite
 *   the TCP header's ports or flags (RFC 1858, "overlapping fragment
 *   attack"; RFC 791 offsets are multiples of 8, so it is offset 8): it is
 *   dropped, the train kept: defrag.transport_header_overlap;
 * - memory: each train costs sizeof(train), each piece sizeof(piece) plus
 *   its bytes; a fragment whose cost would take the total past memcap
 *   counts defrag.memcap_reached and evicts the oldest other trains until
 *   it fits (defrag.trains_evicted): dropping the new fragment instead would
 *   let a slow flood of never-completed first fragments stop every
 *   reassembly. Only a fragment that does not fit even then (its own train
 *   is the oldest) is dropped. defrag.buffered_bytes is that total,
 *   defrag.trains_active the number of trains (gauges);
 * - at most max_trains trains: a new one evicts the oldest
 *   (defrag.trains_evicted);
 * - a train is timed out `timeout` after its first fragment, by
 *   lw_defrag_expire() or by the next fragment that finds it
 *   (defrag.timeouts), so the outcome does not depend on how often the
 *   engine calls expire. Edge: a train exactly `timeout` old has expired.
 *
 * A view that decode could not have produced (no family, captured bytes
 * longer than declared, an IPv6 fragment of a Fragment header - RFC 8200
 * allows one) is dropped as defrag.invalid.
 *
 * Output: one buffer per lw_defrag holds the rebuilt datagram - a fresh
 * IPv4 header (IHL 5, total length, the id, no flags, TTL 64, protocol,
 * addresses, header checksum) or IPv6 header (payload length, next header =
 * the fragmented protocol, hop limit 64, addresses) and the payload. Options
 * and unfragmentable IPv6 headers are not kept: nothing leakwatch inspects
 * is in them. The train is freed as soon as it is copied out.
 *
 * Time is packet time. Captures are not always sorted: every age test is
 * `now >= first && now - first >= timeout`, so a clock going backwards
 * makes a train look young (expires late), never wraps around.
 */
#include "leakwatch/defrag.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NAME_(name, str) [LW_DEFRAG_CTR_##name] = str,
const char *const lw_defrag_counter_names[LW_DEFRAG_CTR_MAX] = {LW_DEFRAG_COUNTERS(NAME_)};
#undef NAME_

#define IPV4_HDR_LEN   20
#define IPV6_HDR_LEN   40
#define IP_MAX_TOTAL   65535u
#define IPV4_MAX_PLOAD (IP_MAX_TOTAL - IPV4_HDR_LEN)
#define IPV6_MAX_PLOAD IP_MAX_TOTAL
#define OUT_MAX        (IPV6_HDR_LEN + IPV6_MAX_PLOAD)

#define TCP_TINY_LIMIT   16 /* RFC 1858: ports, sequence, ack, offset and flags */
#define PROTO_FRAGMENT6  44 /* IPv6 Fragment header */
#define MAX_TRAINS_LIMIT (1u << 24)

/* Key bytes: family, protocol, 2 x 16 address bytes, id. */
#define KEY_BYTES (2 + 16 + 16 + 4)

/* Bytes [off, off + len) of the datagram's payload, as first seen. */
typedef struct piece {
    struct piece *next; /* next by offset */
    uint32_t off;
    uint32_t len;
    uint8_t data[];
} piece;

typedef struct train {
    struct train *hnext;         /* bucket chain */
    struct train *lprev, *lnext; /* creation order */
    piece *pieces;               /* sorted by offset, disjoint */
    uint64_t first_us;           /* time of the first fragment */
    uint64_t mem;                /* accounted bytes: train, pieces, data */
    lw_addr src, dst;
    uint32_t hash;
    uint32_t id;
    uint32_t end;     /* payload length, once the last fragment was seen */
    uint32_t max_end; /* highest offset + declared length seen */
    uint32_t held;    /* bytes in pieces */
    uint16_t nfrags;  /* fragments taken */
    uint8_t family;
    uint8_t proto;
    bool have_end;
} train;

struct lw_defrag {
    lw_defrag_config cfg;
    uint64_t *ctr;
    train **buckets;
    uint32_t mask;  /* bucket count - 1 */
    uint32_t count; /* trains */
    uint64_t mem;   /* sum of the trains' mem */
    train *oldest, *newest;
    uint8_t *out; /* OUT_MAX bytes: the last reassembled datagram */
    unsigned char seed[crypto_shorthash_KEYBYTES];
};

/* ---- table -------------------------------------------------------------- */

static bool expired(const lw_defrag *d, const train *t, uint64_t now_us)
{
    return now_us >= t->first_us && now_us - t->first_us >= d->cfg.timeout_us;
}

static void set_gauges(lw_defrag *d)
{
    d->ctr[LW_DEFRAG_CTR_TRAINS_ACTIVE] = d->count;
    d->ctr[LW_DEFRAG_CTR_BUFFERED_BYTES] = d->mem;
}

static uint32_t key_hash(const lw_defrag *d, uint8_t family, uint8_t proto, const lw_addr *src,
                         const lw_addr *dst, uint32_t id)
{
    unsigned char buf[KEY_BYTES], out[crypto_shorthash_BYTES];
    buf[0] = family;
    buf[1] = proto;
    memcpy(buf + 2, src->b, 16);
    memcpy(buf + 18, dst->b, 16);
    for (int i = 0; i < 4; i++)
        buf[34 + i] = (unsigned char)(id >> (8 * (3 - i)));
    crypto_shorthash(out, buf, sizeof(buf), d->seed);
    return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
           (uint32_t)out[3] << 24;
}

/* Seeds the bucket hash with libsodium's CSPRNG (getrandom underneath),
 * so an attacker cannot aim many keys at one chain. */
static void fill_seed(lw_defrag *d)
{
    randombytes_buf(d->seed, sizeof(d->seed));
}

lw_defrag *lw_defrag_new(const lw_defrag_config *cfg, uint64_t *counters)
{
    if (!cfg || !counters || cfg->max_trains == 0 || cfg->max_trains > MAX_TRAINS_LIMIT ||
        cfg->memcap == 0 || cfg->timeout_us == 0 || cfg->max_fragments == 0)
        return NULL;
    lw_defrag *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cfg = *cfg;
    d->ctr = counters;
    uint32_t n = 1;
    while (n < cfg->max_trains)
        n <<= 1;
    d->buckets = calloc(n, sizeof(*d->buckets));
    d->out = malloc(OUT_MAX);
    if (!d->buckets || !d->out)
        goto fail;
    d->mask = n - 1;
    fill_seed(d);
    set_gauges(d);
    return d;
fail:
    free(d->buckets);
    free(d->out);
    free(d);
    return NULL;
}

/* Unlinks t from its chain and the age list and frees it. */
static void drop_train(lw_defrag *d, train *t)
{
    train **pp = &d->buckets[t->hash & d->mask];
    while (*pp && *pp != t)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = t->hnext;
    if (t->lprev)
        t->lprev->lnext = t->lnext;
    else
        d->oldest = t->lnext;
    if (t->lnext)
        t->lnext->lprev = t->lprev;
    else
        d->newest = t->lprev;
    piece *pc = t->pieces;
    while (pc) {
        piece *next = pc->next;
        free(pc);
        pc = next;
    }
    d->mem -= t->mem;
    d->count--;
    free(t);
    set_gauges(d);
}

static void drop_counted(lw_defrag *d, train *t, enum lw_defrag_counter why)
{
    d->ctr[why]++;
    drop_train(d, t);
}

void lw_defrag_free(lw_defrag *d)
{
    if (!d)
        return;
    while (d->oldest)
        drop_train(d, d->oldest);
    free(d->buckets);
    free(d->out);
    free(d);
}

size_t lw_defrag_expire(lw_defrag *d, uint64_t now_us, size_t budget)
{
    size_t n = 0;
    while (n < budget && d->oldest && expired(d, d->oldest, now_us)) {
        drop_counted(d, d->oldest, LW_DEFRAG_CTR_TIMEOUTS);
        n++;
    }
    return n;
}

static train *find(lw_defrag *d, uint32_t hash, const lw_packet *p)
{
    for (train *t = d->buckets[hash & d->mask]; t; t = t->hnext) {
        if (t->hash == hash && t->id == p->frag_id && t->proto == p->frag_proto &&
            t->family == p->ip_version && memcmp(&t->src, &p->src, sizeof(t->src)) == 0 &&
            memcmp(&t->dst, &p->dst, sizeof(t->dst)) == 0)
            return t;
    }
    return NULL;
}

/* ---- pieces ------------------------------------------------------------- */

/* What adding [s, s + n) of `data` to a train does. */
typedef struct walk_result {
    uint32_t pieces;   /* new pieces (holes filled) */
    uint32_t bytes;    /* new bytes */
    bool overlap;      /* some bytes were held already */
    bool mismatch;     /* and some of those differ */
    bool alloc_failed; /* commit only: stopped early */
} walk_result;

/*
 * Walks the pieces once over [s, s + n): held ranges are compared, holes
 * are counted - and, with commit, filled with new pieces in place. O(pieces).
 */
static walk_result walk(lw_defrag *d, train *t, uint32_t s, const uint8_t *data, uint32_t n,
                        bool commit)
{
    walk_result r = {0, 0, false, false, false};
    uint32_t e = s + n;
    piece **link = &t->pieces;
    while (*link && (*link)->off + (*link)->len <= s)
        link = &(*link)->next;
    uint32_t pos = s;
    while (pos < e) {
        piece *cur = *link;
        if (cur && cur->off <= pos) {
            uint32_t ov_end = cur->off + cur->len < e ? cur->off + cur->len : e;
            r.overlap = true;
            if (memcmp(data + (pos - s), cur->data + (pos - cur->off), ov_end - pos) != 0)
                r.mismatch = true;
            pos = ov_end;
            link = &cur->next;
            continue;
        }
        uint32_t hole_end = cur && cur->off < e ? cur->off : e;
        uint32_t len = hole_end - pos;
        r.pieces++;
        r.bytes += len;
        if (commit) {
            piece *pc = malloc(sizeof(*pc) + len);
            if (!pc) {
                r.alloc_failed = true;
                return r;
            }
            pc->off = pos;
            pc->len = len;
            memcpy(pc->data, data + (pos - s), len);
            pc->next = cur;
            *link = pc;
            link = &pc->next;
            t->held += len;
            uint64_t cost = sizeof(*pc) + (uint64_t)len;
            t->mem += cost;
            d->mem += cost;
        }
        pos = hole_end;
    }
    return r;
}

/* Writes the rebuilt datagram of a complete train into d->out. */
static size_t build(lw_defrag *d, const train *t)
{
    uint8_t *o = d->out;
    size_t hlen;
    if (t->family == 4) {
        hlen = IPV4_HDR_LEN;
        uint32_t total = IPV4_HDR_LEN + t->end; /* end <= 65515: fits */
        o[0] = 0x45;                            /* version 4, IHL 5 */
        o[1] = 0;                               /* TOS */
        o[2] = (uint8_t)(total >> 8);
        o[3] = (uint8_t)total;
        o[4] = (uint8_t)(t->id >> 8);
        o[5] = (uint8_t)t->id;
        o[6] = 0; /* no flags, offset 0: a whole datagram */
        o[7] = 0;
        o[8] = 64; /* TTL */
        o[9] = t->proto;
        o[10] = 0; /* checksum, summed below */
        o[11] = 0;
        memcpy(o + 12, t->src.b, 4);
        memcpy(o + 16, t->dst.b, 4);
        /* RFC 1071: one's complement of the one's complement sum */
        uint32_t sum = 0;
        for (size_t i = 0; i < IPV4_HDR_LEN; i += 2)
            sum += (uint32_t)o[i] << 8 | o[i + 1];
        while (sum >> 16)
            sum = (sum & 0xFFFF) + (sum >> 16);
        o[10] = (uint8_t)(~sum >> 8);
        o[11] = (uint8_t)~sum;
    } else {
        hlen = IPV6_HDR_LEN;
        o[0] = 0x60; /* version 6, traffic class and flow label 0 */
        o[1] = 0;
        o[2] = 0;
        o[3] = 0;
        o[4] = (uint8_t)(t->end >> 8); /* payload length */
        o[5] = (uint8_t)t->end;
        o[6] = t->proto; /* next header */
        o[7] = 64;       /* hop limit */
        memcpy(o + 8, t->src.b, 16);
        memcpy(o + 24, t->dst.b, 16);
    }
    for (const piece *pc = t->pieces; pc; pc = pc->next)
        memcpy(o + hlen + pc->off, pc->data, pc->len);
    return hlen + t->end;
}

/* ---- fragments ---------------------------------------------------------- */

/* A new train for p, evicting the oldest at the cap; NULL on failure. */
static train *new_train(lw_defrag *d, uint32_t hash, const lw_packet *p, uint64_t now_us)
{
    if (d->count >= d->cfg.max_trains && d->oldest)
        drop_counted(d, d->oldest, LW_DEFRAG_CTR_TRAINS_EVICTED);
    train *t = calloc(1, sizeof(*t));
    if (!t) {
        d->ctr[LW_DEFRAG_CTR_ALLOC_FAILED]++;
        return NULL;
    }
    t->hash = hash;
    t->id = p->frag_id;
    t->proto = p->frag_proto;
    t->family = p->ip_version;
    t->src = p->src;
    t->dst = p->dst;
    t->first_us = now_us;
    t->mem = sizeof(*t);
    t->hnext = d->buckets[hash & d->mask];
    d->buckets[hash & d->mask] = t;
    t->lprev = d->newest;
    if (d->newest)
        d->newest->lnext = t;
    else
        d->oldest = t;
    d->newest = t;
    d->count++;
    d->mem += t->mem;
    return t;
}

/* A view decode could have made: a family, captured <= declared, bytes. */
static bool view_valid(const lw_packet *p)
{
    if (p->ip_version != 4 && p->ip_version != 6)
        return false;
    if (p->frag_data_len > p->frag_data_wire_len)
        return false;
    if (p->frag_data_len > 0 && p->frag_data == NULL)
        return false;
    /* RFC 8200: one Fragment header per packet; a fragmented Fragment
     * header would rebuild into a fragment again */
    return !(p->ip_version == 6 && p->frag_proto == PROTO_FRAGMENT6);
}

const uint8_t *lw_defrag_add(lw_defrag *d, const lw_packet *p, uint64_t now_us, size_t *len)
{
    d->ctr[LW_DEFRAG_CTR_FRAGMENTS]++;
    if (!view_valid(p)) {
        d->ctr[LW_DEFRAG_CTR_INVALID]++;
        return NULL;
    }
    if (p->frag_proto == LW_PROTO_TCP && p->frag_offset > 0 && p->frag_offset < TCP_TINY_LIMIT) {
        d->ctr[LW_DEFRAG_CTR_TINY_OVERLAP]++;
        return NULL;
    }

    uint64_t fend = (uint64_t)p->frag_offset + p->frag_data_wire_len;
    uint32_t hash = key_hash(d, p->ip_version, p->frag_proto, &p->src, &p->dst, p->frag_id);
    train *t = find(d, hash, p);
    if (t && expired(d, t, now_us)) {
        drop_counted(d, t, LW_DEFRAG_CTR_TIMEOUTS);
        t = NULL;
    }

    if (fend > (p->ip_version == 4 ? IPV4_MAX_PLOAD : IPV6_MAX_PLOAD)) {
        d->ctr[LW_DEFRAG_CTR_TOO_LARGE]++;
        if (t)
            drop_train(d, t);
        return NULL;
    }
    uint32_t off = p->frag_offset; /* fend fits: both fit in 32 bits now */
    uint32_t end = (uint32_t)fend;

    if (t) {
        if (t->nfrags >= d->cfg.max_fragments) {
            drop_counted(d, t, LW_DEFRAG_CTR_TOO_MANY_FRAGMENTS);
            return NULL;
        }
        bool bad = p->frag_more ? t->have_end && end > t->end
                                : (t->have_end && end != t->end) || end < t->max_end;
        if (bad) {
            drop_counted(d, t, LW_DEFRAG_CTR_INVALID);
            return NULL;
        }
    }

    /* memory: the new pieces, plus the train itself if there is none yet */
    uint64_t cost;
    if (t) {
        walk_result dry = walk(d, t, off, p->frag_data, p->frag_data_len, false);
        cost = (uint64_t)dry.pieces * sizeof(piece) + dry.bytes;
    } else {
        cost = sizeof(train) + (p->frag_data_len > 0 ? sizeof(piece) + p->frag_data_len : 0);
    }
    if (d->mem + cost > d->cfg.memcap) {
        d->ctr[LW_DEFRAG_CTR_MEMCAP]++;
        /* Make room from the oldest trains (most likely never to complete:
         * a flood of first fragments must not stop all reassembly), but
         * never from the train this fragment belongs to. */
        while (d->mem + cost > d->cfg.memcap && d->oldest && d->oldest != t)
            drop_counted(d, d->oldest, LW_DEFRAG_CTR_TRAINS_EVICTED);
        if (d->mem + cost > d->cfg.memcap)
            return NULL;
    }
    if (!t) {
        t = new_train(d, hash, p, now_us);
        if (!t)
            return NULL;
    }

    walk_result r = walk(d, t, off, p->frag_data, p->frag_data_len, true);
    t->nfrags++;
    if (end > t->max_end)
        t->max_end = end;
    if (!p->frag_more) {
        t->have_end = true;
        t->end = end;
    }
    if (r.overlap)
        d->ctr[LW_DEFRAG_CTR_OVERLAP]++;
    if (r.mismatch)
        d->ctr[LW_DEFRAG_CTR_OVERLAP_MISMATCH]++;
    if (r.alloc_failed)
        d->ctr[LW_DEFRAG_CTR_ALLOC_FAILED]++; /* the bytes before the failure stay */
    set_gauges(d);

    if (!t->have_end || t->held != t->end)
        return NULL;
    size_t n = build(d, t);
    drop_train(d, t);
    d->ctr[LW_DEFRAG_CTR_REASSEMBLED]++;
    *len = n;
    return d->out;
}
