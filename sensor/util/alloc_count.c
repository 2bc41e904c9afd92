/*
 * alloc_count.c - the counting forwarders behind LW_ALLOC_COUNT_HOOKS (see
 * alloc_count.h).
 *
 * Which allocator to forward to is decided per call from weak references:
 * when the program is built with AddressSanitizer its runtime defines
 * __interceptor_malloc and friends (gcc's libasan.so and clang's static
 * runtime alike), and forwarding there keeps ASan's red zones, quarantine
 * and leak check on every block; otherwise the weak references are NULL
 * and glibc's __libc_malloc family is used. Resolving by weak reference
 * rather than dlsym(RTLD_NEXT) matters: dlsym may itself allocate, which
 * would re-enter a hook before it knows where to go.
 *
 * Invariant: a block is always freed by the allocator that made it, since
 * the choice depends only on how the program was linked, never on time.
 * Counters are thread-local (no lock, no sharing); they are only written by
 * the hooks, which exist only in test programs.
 */
#include "leakwatch/alloc_count.h"

#include <errno.h>
#include <stdlib.h>

/* AddressSanitizer's entry points, when it is linked in. */
extern void *__interceptor_malloc(size_t n) __attribute__((weak));
extern void *__interceptor_calloc(size_t n, size_t size) __attribute__((weak));
extern void *__interceptor_realloc(void *p, size_t n) __attribute__((weak));
extern void __interceptor_free(void *p) __attribute__((weak));
extern int __interceptor_posix_memalign(void **p, size_t align, size_t n) __attribute__((weak));
extern void *__interceptor_aligned_alloc(size_t align, size_t n) __attribute__((weak));

/* glibc's allocator under its exported internal names. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);

static _Thread_local lw_alloc_counts counts;
static _Thread_local bool hooked;

void lw_alloc_count_get(lw_alloc_counts *out)
{
    *out = counts;
}

uint64_t lw_alloc_count_allocs(const lw_alloc_counts *c)
{
    return c->malloc_calls + c->calloc_calls + c->realloc_calls + c->aligned_calls;
}

bool lw_alloc_count_hooked(void)
{
    return hooked;
}

void *lw_alloc_count_malloc(size_t n)
{
    hooked = true;
    counts.malloc_calls++;
    return __interceptor_malloc ? __interceptor_malloc(n) : __libc_malloc(n);
}

void *lw_alloc_count_calloc(size_t n, size_t size)
{
    hooked = true;
    counts.calloc_calls++;
    return __interceptor_calloc ? __interceptor_calloc(n, size) : __libc_calloc(n, size);
}

void *lw_alloc_count_realloc(void *p, size_t n)
{
    hooked = true;
    counts.realloc_calls++;
    return __interceptor_realloc ? __interceptor_realloc(p, n) : __libc_realloc(p, n);
}

void lw_alloc_count_free(void *p)
{
    hooked = true;
    if (!p)
        return;
    counts.free_calls++;
    if (__interceptor_free)
        __interceptor_free(p);
    else
        __libc_free(p);
}

/* glibc has no exported posix_memalign under another name: its checks,
 * then __libc_memalign. */
static bool valid_alignment(size_t align)
{
    return align >= sizeof(void *) && (align & (align - 1)) == 0;
}

int lw_alloc_count_posix_memalign(void **p, size_t align, size_t n)
{
    hooked = true;
    counts.aligned_calls++;
    if (__interceptor_posix_memalign)
        return __interceptor_posix_memalign(p, align, n);
    if (!valid_alignment(align))
        return EINVAL;
    void *m = __libc_memalign(align, n);
    if (!m)
        return ENOMEM;
    *p = m;
    return 0;
}

void *lw_alloc_count_aligned_alloc(size_t align, size_t n)
{
    hooked = true;
    counts.aligned_calls++;
    if (__interceptor_aligned_alloc)
        return __interceptor_aligned_alloc(align, n);
    if (align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return __libc_memalign(align, n);
}
