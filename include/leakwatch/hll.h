/*
 * hll.h - a windowed HyperLogLog: about how many distinct 64-bit hashes were
 * added during the last `window` microseconds of packet time.
 *
 * HyperLogLog (Flajolet, Fusy, Gandouet, Meunier, "HyperLogLog: the analysis
 * of a near-optimal cardinality estimation algorithm", AofA 2007) with
 * precision p = 10: 1024 registers of one byte each. The top 10 bits of a
 * hash pick a register; the register keeps the largest "rank" (position of
 * the first 1 bit in the remaining 54 bits, 1..55) seen. The estimate is the
 * paper's alpha_m * m^2 / sum(2^-register), replaced by linear counting
 * m * ln(m / zero registers) while it is at most 2.5 m. With 64-bit hashes
 * no large-range correction is needed. Standard error 1.04 / sqrt(1024),
 * about 3.25 %.
 *
 * Window. Time is cut into sub-windows of S = ceil(window / 15) us; a ring of
 * LW_HLL_SLOTS (16) sketches holds one sub-window each, slot = sub-window
 * number mod 16, and remembers which one it holds, so a stale slot is
 * cleared when it is reused. The estimate is taken over the register-wise
 * maximum of the sketches whose sub-window overlaps (now - window, now]:
 * at most ceil((window - 1) / S) + 1 <= 16 of them, which is why S is
 * window / 15 and not window / 16 - with 16 slots of window / 16 the oldest
 * partial sub-window would not fit and values still inside the window would
 * be lost. So nothing added inside the window is ever missed, and a value
 * up to S older may still be counted: the window is effectively between
 * `window` and window * (1 + 1/15) (plus rounding for windows under 15 us).
 * A hash added again refreshes its time, as an exact set would.
 *
 * Time: a time before the latest one seen (unsorted captures) is treated as
 * the latest. Memory: 16 KiB of sketches plus a 1 KiB merged view and a few
 * hundred bytes of bookkeeping, allocated by lw_hll_new only; add and
 * estimate never allocate. Work: add reads 16 bytes; estimate reads the
 * 1 KiB view when something changed, and rebuilds the view (16 KiB) only
 * when the oldest sub-window in the window moves.
 */
#ifndef LEAKWATCH_HLL_H
#define LEAKWATCH_HLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_HLL_P     10               /* precision: index bits */
#define LW_HLL_M     (1u << LW_HLL_P) /* registers per sketch */
#define LW_HLL_SLOTS 16               /* sub-window sketches in the ring */

typedef struct lw_hll lw_hll;

/* NULL on allocation failure or window_us == 0. */
lw_hll *lw_hll_new(uint64_t window_us);
void lw_hll_free(lw_hll *h);

/* Bytes allocated for h (for memory accounting). */
size_t lw_hll_bytes(const lw_hll *h);

/*
 * Adds a hash at packet time now_us. Returns true when the hash raised its
 * register above every sketch in the window, which proves it was not added
 * during the window (false says nothing either way).
 */
bool lw_hll_add(lw_hll *h, uint64_t hash, uint64_t now_us);

/* The estimate of distinct hashes in the window at now_us (rounded). */
uint64_t lw_hll_estimate(lw_hll *h, uint64_t now_us);

/* Earliest add time among the sketches the estimate at now_us counts;
 * false when they are all empty. */
bool lw_hll_first(lw_hll *h, uint64_t now_us, uint64_t *first_us);

#endif
