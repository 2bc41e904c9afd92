/*
 * burst.h - counting distinct PII values per key inside a sliding window.
 *
 * A key is a small byte string chosen by the caller (the engine uses the
 * pair "inside address, outside address"). For each key the table keeps the
 * set of distinct values seen in the last `window` microseconds of packet
 * time, as 64-bit keyed hashes (SipHash-2-4 via libsodium's crypto_shorthash
 * with a key the caller supplies): never the value itself. A value seen
 * again refreshes its time; values older than the window fall out.
 *
 * When a key's distinct count reaches `threshold`, lw_burst_add() reports an
 * alert once; further alerts for that key are suppressed until `window` has
 * passed since the alert (the cool-down), so a continuing leak gives at most
 * one alert per key per window.
 *
 * Memory is capped: at most max_keys keys (the least recently active key is
 * evicted for a new one, counted) and max_values values per key (a value
 * beyond it is counted and not tracked; the count stays at the cap).
 * Every operation does bounded work.
 *
 * Long windows (exact_limit > 0). Then max_values is ignored: a key keeps
 * its values exactly up to exact_limit, and a new value beyond that switches
 * the key to an estimate (burst.keys_estimated): its exact values are folded
 * into a windowed HyperLogLog (hll.h: about 3.25 % standard error, 16 KiB,
 * a window up to 1/15 longer than `window`) and freed. From then on the
 * key's distinct count is the estimate, the threshold and the cool-down
 * work as before on it, and the key stays estimated until it expires or
 * is evicted. Per-kind counts, growth and first_ts_us become approximate
 * (burst.c says how); samples keep working. So a slow drip over a long
 * window still alerts while a key's memory stays under about
 * max(exact_limit * 144 bytes, 20 KiB).
 */
#ifndef LEAKWATCH_BURST_H
#define LEAKWATCH_BURST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

#define LW_BURST_KEY_MAX     64 /* longest key in bytes */
#define LW_BURST_MAX_KINDS   32 /* same as LW_SIG_MAX_KINDS */
#define LW_BURST_MAX_SAMPLES 16

typedef struct lw_burst_config {
    uint64_t window_us;
    uint32_t threshold;
    uint32_t max_keys;
    uint32_t max_values;  /* per key; ignored when exact_limit > 0 */
    uint32_t exact_limit; /* 0: exact up to max_values; else exact up to this, then estimated */
    uint32_t samples;     /* masked samples kept per key, <= LW_BURST_MAX_SAMPLES */
    uint8_t hash_key[16];
} lw_burst_config;

/* What an alert needs to say about the burst that triggered it. */
typedef struct lw_burst_report {
    uint32_t distinct;                     /* distinct values in the window (estimated keys:
                                              the estimate) */
    uint32_t per_kind[LW_BURST_MAX_KINDS]; /* of which, per kind index */
    uint64_t first_ts_us;                  /* oldest value still in the window */
    size_t sample_count;
    char samples[LW_BURST_MAX_SAMPLES][LW_PII_MASK_MAX]; /* masked, distinct values */
} lw_burst_report;

#define LW_BURST_COUNTERS(X)                                                                       \
    X(VALUES, "burst.values")                                                                      \
    X(VALUES_NEW, "burst.values_new")                                                              \
    X(VALUES_CAPPED, "burst.values_capped")                                                        \
    X(KEYS_CREATED, "burst.keys_created")                                                          \
    X(KEYS_EVICTED, "burst.keys_evicted")                                                          \
    X(KEYS_EXPIRED, "burst.keys_expired")                                                          \
    X(ALERTS, "burst.alerts")                                                                      \
    X(SUPPRESSED, "burst.suppressed")                                                              \
    X(ALLOC_FAILED, "burst.alloc_failed")                                                          \
    X(KEYS_ESTIMATED, "burst.keys_estimated")

#define LW_BURST_ENUM_(name, str) LW_BURST_CTR_##name,
enum lw_burst_counter { LW_BURST_COUNTERS(LW_BURST_ENUM_) LW_BURST_CTR_MAX };
#undef LW_BURST_ENUM_

extern const char *const lw_burst_counter_names[LW_BURST_CTR_MAX];

typedef struct lw_burst lw_burst;

/* Returns NULL on allocation failure or a bad config (threshold 0, window 0,
 * max_values < threshold without exact_limit, ...). counters:
 * LW_BURST_CTR_MAX entries owned by the caller. */
lw_burst *lw_burst_new(const lw_burst_config *cfg, uint64_t *counters);
void lw_burst_free(lw_burst *b);

/*
 * Records value v (its kind, norm and masked sample are read; norm is
 * hashed, never kept) for key at packet time now_us. Returns true and fills
 * *report (when not NULL) when, with this value, the key holds at least
 * `threshold` distinct values and no cool-down is running; the alert starts
 * one. A value seen at t is in the window while now - t < window_us (at
 * exactly window_us it has left); the cool-down after an alert at a runs
 * while now - a < window_us. Packet time that goes backwards is treated as
 * now = the latest time seen (captures are not always sorted). A key longer
 * than LW_BURST_KEY_MAX or a kind >= LW_BURST_MAX_KINDS is ignored (false,
 * nothing counted). An evicted key loses its cool-down with its values.
 */
bool lw_burst_add(lw_burst *b, const void *key, size_t key_len, const lw_pii_value *v,
                  uint64_t now_us, lw_burst_report *report);

/* lw_burst_add with this call's threshold instead of the table's (0 = the
 * table's), for per-destination rules. Without exact_limit a threshold
 * above max_values is never reached. */
bool lw_burst_add_threshold(lw_burst *b, const void *key, size_t key_len, const lw_pii_value *v,
                            uint64_t now_us, uint32_t threshold, lw_burst_report *report);

/* Drops keys with no value in the window and no cool-down running, at most
 * `budget` of them; returns how many. */
size_t lw_burst_expire(lw_burst *b, uint64_t now_us, size_t budget);

/* Number of keys tracked. */
size_t lw_burst_key_count(const lw_burst *b);

/* Bytes the table holds allocated (keys, values, indexes, estimators). */
size_t lw_burst_bytes(const lw_burst *b);

/* Distinct values tracked for key as of the last call that touched it (no
 * expiry is run; the estimate for an estimated key); 0 for a key not
 * tracked. For stats, tests and fuzzing. */
uint32_t lw_burst_distinct(const lw_burst *b, const void *key, size_t key_len);

/*
 * New distinct values the key gained since its last alert (values that
 * expired and came back count again), in all and per kind. The engine adds
 * them to the alert's report when it writes the alert at the end of the
 * burst, so the alert gives the leak's size, not just the threshold. For an
 * estimated key it is the sum of the estimate's rises since the alert.
 * Returns false when the key is not tracked (expired or evicted) or has
 * never alerted.
 */
bool lw_burst_growth(const lw_burst *b, const void *key, size_t key_len, uint32_t *added,
                     uint32_t per_kind_added[LW_BURST_MAX_KINDS]);

#endif
