/*
 * alloc_count.h - counting the heap allocations of one thread, for tests
 * that prove a path allocates nothing ("no allocation per packet").
 *
 * A test program installs the counting hooks by expanding
 * LW_ALLOC_COUNT_HOOKS() once at file scope: that defines malloc, calloc,
 * realloc, free, posix_memalign and aligned_alloc in the executable, which
 * takes precedence over the C library's (and the sanitizer's) for every
 * caller in the process: the sensor's code, libhs, libsodium, libc itself.
 * Each hook counts, then forwards to the allocator that would otherwise
 * have run: AddressSanitizer's when the program is built with it (its
 * __interceptor_* entry points, found through weak references), else
 * glibc's (__libc_*). No link flag (--wrap) and no CMake change is needed,
 * and ASan keeps checking every block.
 *
 * Nothing else expands the macro, so the sensor's own binaries never carry
 * the hooks; sensor/util/alloc_count.c holds only the forwarders and the
 * counters, and is linked only into a program that calls them.
 *
 * Counts are per thread (thread-local), so a test measures its own thread
 * alone. They are the one piece of mutable state outside an object in the
 * code base, and exist only in a test. Not hooked: memalign, valloc,
 * pvalloc (obsolete; nothing in the sensor or its libraries calls them on
 * a packet path) and allocations the sanitizer runtime makes for itself.
 * glibc only: __libc_malloc and friends are its exported names.
 */
#ifndef LEAKWATCH_ALLOC_COUNT_H
#define LEAKWATCH_ALLOC_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lw_alloc_counts {
    uint64_t malloc_calls;
    uint64_t calloc_calls;
    uint64_t realloc_calls; /* every call, including realloc(NULL, n) and shrinking */
    uint64_t aligned_calls; /* posix_memalign and aligned_alloc */
    uint64_t free_calls;    /* of non-NULL pointers */
} lw_alloc_counts;

/* This thread's counts so far. */
void lw_alloc_count_get(lw_alloc_counts *out);

/* Calls that may have allocated: all but free. */
uint64_t lw_alloc_count_allocs(const lw_alloc_counts *c);

/* True once a hook has run on this thread: a test asserts it, so that a
 * program built without the hooks cannot pass for one that allocates
 * nothing. */
bool lw_alloc_count_hooked(void);

/* The counting forwarders the hooks call. */
void *lw_alloc_count_malloc(size_t n);
void *lw_alloc_count_calloc(size_t n, size_t size);
void *lw_alloc_count_realloc(void *p, size_t n);
void lw_alloc_count_free(void *p);
int lw_alloc_count_posix_memalign(void **p, size_t align, size_t n);
void *lw_alloc_count_aligned_alloc(size_t align, size_t n);

/* Expand once, at file scope, in a test program (needs <stdlib.h>). */
#define LW_ALLOC_COUNT_HOOKS()                                                                     \
    void *malloc(size_t n)                                                                         \
    {                                                                                              \
        return lw_alloc_count_malloc(n);                                                           \
    }                                                                                              \
    void *calloc(size_t n, size_t size)                                                            \
    {                                                                                              \
        return lw_alloc_count_calloc(n, size);                                                     \
    }                                                                                              \
    void *realloc(void *p, size_t n)                                                               \
    {                                                                                              \
        return lw_alloc_count_realloc(p, n);                                                       \
    }                                                                                              \
    void free(void *p)                                                                             \
    {                                                                                              \
        lw_alloc_count_free(p);                                                                    \
    }                                                                                              \
    int posix_memalign(void **p, size_t align, size_t n)                                           \
    {                                                                                              \
        return lw_alloc_count_posix_memalign(p, align, n);                                         \
    }                                                                                              \
    void *aligned_alloc(size_t align, size_t n)                                                    \
    {                                                                                              \
        return lw_alloc_count_aligned_alloc(align, n);                                             \
    }

#endif
