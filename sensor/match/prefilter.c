/*
 * prefilter.c - byte-class masks, scalar and vectorised (see prefilter.h).
 *
 * A byte b is in the class [lo, lo + n) exactly when (uint8_t)(b - lo) < n.
 * The vector versions test that as min_epu8(b - lo, n - 1) == b - lo (SSE2
 * has unsigned min but no unsigned compare) and gather one bit per byte
 * with movemask, so every implementation computes the same function; the
 * unit test compares them on random and edge bytes.
 */
#include "leakwatch/prefilter.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define LW_HAVE_X86 1
#else
#define LW_HAVE_X86 0
#endif

static uint64_t class_mask(const uint8_t *p, uint8_t lo, uint8_t n)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < 64; i++)
        m |= (uint64_t)((uint8_t)(p[i] - lo) < n) << i;
    return m;
}

static void classify_scalar(const uint8_t *buf, size_t nblocks, int letters,
                            lw_prefilter_block *out)
{
    for (size_t j = 0; j < nblocks; j++) {
        const uint8_t *p = buf + 64 * j;
        out[j].digit = class_mask(p, '0', 10);
        out[j].upper = letters ? class_mask(p, 'A', 26) : 0;
    }
}

static void bytes_scalar(const uint8_t *buf, size_t nblocks, const uint8_t *set, size_t nset,
                         uint64_t *out)
{
    for (size_t j = 0; j < nblocks; j++) {
        uint64_t m = 0;
        for (unsigned i = 0; i < 64; i++) {
            uint8_t b = buf[64 * j + i];
            for (size_t k = 0; k < nset; k++)
                if (b == set[k])
                    m |= (uint64_t)1 << i;
        }
        out[j] = m;
    }
}

#if LW_HAVE_X86
static void bytes_sse2(const uint8_t *buf, size_t nblocks, const uint8_t *set, size_t nset,
                       uint64_t *out)
{
    __m128i want[LW_PREFILTER_SET_MAX];
    for (size_t k = 0; k < nset; k++)
        want[k] = _mm_set1_epi8((char)set[k]);
    for (size_t j = 0; j < nblocks; j++) {
        uint64_t m = 0;
        for (unsigned q = 0; q < 4; q++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + 64 * j + 16 * q));
            __m128i hit = _mm_cmpeq_epi8(v, want[0]);
            for (size_t k = 1; k < nset; k++)
                hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, want[k]));
            m |= (uint64_t)(uint16_t)_mm_movemask_epi8(hit) << (16 * q);
        }
        out[j] = m;
    }
}

__attribute__((target("avx2"))) static void
bytes_avx2(const uint8_t *buf, size_t nblocks, const uint8_t *set, size_t nset, uint64_t *out)
{
    __m256i want[LW_PREFILTER_SET_MAX];
    for (size_t k = 0; k < nset; k++)
        want[k] = _mm256_set1_epi8((char)set[k]);
    for (size_t j = 0; j < nblocks; j++) {
        const uint8_t *p = buf + 64 * j;
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
        __m256i ha = _mm256_cmpeq_epi8(a, want[0]), hb = _mm256_cmpeq_epi8(b, want[0]);
        for (size_t k = 1; k < nset; k++) {
            ha = _mm256_or_si256(ha, _mm256_cmpeq_epi8(a, want[k]));
            hb = _mm256_or_si256(hb, _mm256_cmpeq_epi8(b, want[k]));
        }
        out[j] = (uint64_t)(uint32_t)_mm256_movemask_epi8(ha) |
                 (uint64_t)(uint32_t)_mm256_movemask_epi8(hb) << 32;
    }
}

static uint64_t mask16(__m128i v, uint8_t lo, uint8_t n)
{
    __m128i t = _mm_sub_epi8(v, _mm_set1_epi8((char)lo));
    __m128i in = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8((char)(n - 1))), t);
    return (uint64_t)(uint16_t)_mm_movemask_epi8(in);
}

static void classify_sse2(const uint8_t *buf, size_t nblocks, int letters, lw_prefilter_block *out)
{
    for (size_t j = 0; j < nblocks; j++) {
        uint64_t d = 0, u = 0;
        for (unsigned k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + 64 * j + 16 * k));
            d |= mask16(v, '0', 10) << (16 * k);
            if (letters)
                u |= mask16(v, 'A', 26) << (16 * k);
        }
        out[j].digit = d;
        out[j].upper = u;
    }
}

__attribute__((target("avx2"))) static uint64_t mask32(__m256i v, uint8_t lo, uint8_t n)
{
    __m256i t = _mm256_sub_epi8(v, _mm256_set1_epi8((char)lo));
    __m256i in = _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8((char)(n - 1))), t);
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(in);
}

__attribute__((target("avx2"))) static void classify_avx2(const uint8_t *buf, size_t nblocks,
                                                          int letters, lw_prefilter_block *out)
{
    for (size_t j = 0; j < nblocks; j++) {
        const uint8_t *p = buf + 64 * j;
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
        out[j].digit = mask32(a, '0', 10) | mask32(b, '0', 10) << 32;
        out[j].upper = letters ? mask32(a, 'A', 26) | mask32(b, 'A', 26) << 32 : 0;
    }
}
__attribute__((target("avx2"))) static void scan_avx2(const uint8_t *buf, size_t nblocks,
                                                      uint64_t *digit, uint64_t *upper,
                                                      const lw_prefilter_set *sets, size_t nsets,
                                                      uint64_t *const *set_out)
{
    __m256i want[LW_PREFILTER_SETS_MAX][LW_PREFILTER_SET_MAX];
    for (size_t k = 0; k < nsets; k++)
        for (size_t b = 0; b < sets[k].n; b++)
            want[k][b] = _mm256_set1_epi8((char)sets[k].bytes[b]);
    for (size_t j = 0; j < nblocks; j++) {
        const uint8_t *p = buf + 64 * j;
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
        digit[j] = mask32(a, '0', 10) | mask32(b, '0', 10) << 32;
        if (upper)
            upper[j] = mask32(a, 'A', 26) | mask32(b, 'A', 26) << 32;
        for (size_t k = 0; k < nsets; k++) {
            __m256i ha = _mm256_cmpeq_epi8(a, want[k][0]), hb = _mm256_cmpeq_epi8(b, want[k][0]);
            for (size_t q = 1; q < sets[k].n; q++) {
                ha = _mm256_or_si256(ha, _mm256_cmpeq_epi8(a, want[k][q]));
                hb = _mm256_or_si256(hb, _mm256_cmpeq_epi8(b, want[k][q]));
            }
            set_out[k][j] = (uint64_t)(uint32_t)_mm256_movemask_epi8(ha) |
                            (uint64_t)(uint32_t)_mm256_movemask_epi8(hb) << 32;
        }
    }
}

#endif

lw_prefilter_impl lw_prefilter_resolve(lw_prefilter_impl want)
{
#if LW_HAVE_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2");
    if (want == LW_PREFILTER_AUTO || want == LW_PREFILTER_AVX2)
        return avx2 ? LW_PREFILTER_AVX2 : LW_PREFILTER_SSE2;
    return want;
#else
    (void)want;
    return LW_PREFILTER_SCALAR;
#endif
}

void lw_prefilter_classify(lw_prefilter_impl impl, const uint8_t *buf, size_t nblocks, int letters,
                           lw_prefilter_block *out)
{
#if LW_HAVE_X86
    if (impl == LW_PREFILTER_AVX2) {
        classify_avx2(buf, nblocks, letters, out);
        return;
    }
    if (impl == LW_PREFILTER_SSE2) {
        classify_sse2(buf, nblocks, letters, out);
        return;
    }
#endif
    (void)impl;
    classify_scalar(buf, nblocks, letters, out);
}

void lw_prefilter_bytes(lw_prefilter_impl impl, const uint8_t *buf, size_t nblocks,
                        const uint8_t *set, size_t nset, uint64_t *out)
{
    if (nset > LW_PREFILTER_SET_MAX)
        nset = LW_PREFILTER_SET_MAX; /* the caller's promise; never overrun want[] */
#if LW_HAVE_X86
    if (nset && impl == LW_PREFILTER_AVX2) {
        bytes_avx2(buf, nblocks, set, nset, out);
        return;
    }
    if (nset && impl == LW_PREFILTER_SSE2) {
        bytes_sse2(buf, nblocks, set, nset, out);
        return;
    }
#endif
    (void)impl;
    bytes_scalar(buf, nblocks, set, nset, out);
}

void lw_prefilter_scan(lw_prefilter_impl impl, const uint8_t *buf, size_t nblocks, uint64_t *digit,
                       uint64_t *upper, const lw_prefilter_set *sets, size_t nsets,
                       uint64_t *const *set_out)
{
    if (nsets > LW_PREFILTER_SETS_MAX)
        nsets = LW_PREFILTER_SETS_MAX; /* the caller's promise; never overrun want[] */
#if LW_HAVE_X86
    if (impl == LW_PREFILTER_AVX2) {
        scan_avx2(buf, nblocks, digit, upper, sets, nsets, set_out);
        return;
    }
#endif
    /* the portable and SSE2 ways: one pass per output, in L1 */
    for (size_t j = 0; j < nblocks; j++) {
        lw_prefilter_block blk;
        lw_prefilter_classify(impl, buf + 64 * j, 1, upper != NULL, &blk);
        digit[j] = blk.digit;
        if (upper)
            upper[j] = blk.upper;
    }
    for (size_t k = 0; k < nsets; k++)
        lw_prefilter_bytes(impl, buf, nblocks, sets[k].bytes, sets[k].n, set_out[k]);
}
