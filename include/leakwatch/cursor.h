/*
 * cursor.h - the only way leakwatch reads bytes that came off the wire.
 *
 * A cursor is {ptr, end, error}. Every read checks that the bytes are there;
 * a read past the end sets the sticky error flag, returns zero and leaves the
 * cursor at its end, so a decoder can do a block of reads and check once.
 * Multi-byte reads are big-endian (network order) and never cast a pointer,
 * so unaligned packet bytes are safe. Nothing here allocates.
 */
#ifndef LEAKWATCH_CURSOR_H
#define LEAKWATCH_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lw_cursor {
    const uint8_t *ptr; /* next byte to read */
    const uint8_t *end; /* one past the last readable byte */
    bool error;         /* sticky: set by any read past end */
} lw_cursor;

static inline lw_cursor lw_cur_make(const uint8_t *data, size_t len)
{
    lw_cursor c = {data, data + len, false};
    return c;
}

static inline size_t lw_cur_left(const lw_cursor *c)
{
    return (size_t)(c->end - c->ptr);
}

static inline bool lw_cur_has(const lw_cursor *c, size_t n)
{
    return !c->error && lw_cur_left(c) >= n;
}

static inline void lw_cur_fail(lw_cursor *c)
{
    c->error = true;
    c->ptr = c->end;
}

static inline uint8_t lw_cur_u8(lw_cursor *c)
{
    if (!lw_cur_has(c, 1)) {
        lw_cur_fail(c);
        return 0;
    }
    return *c->ptr++;
}

static inline uint16_t lw_cur_u16be(lw_cursor *c)
{
    if (!lw_cur_has(c, 2)) {
        lw_cur_fail(c);
        return 0;
    }
    uint16_t v = (uint16_t)((uint16_t)c->ptr[0] << 8 | c->ptr[1]);
    c->ptr += 2;
    return v;
}

static inline uint16_t lw_cur_u16le(lw_cursor *c)
{
    if (!lw_cur_has(c, 2)) {
        lw_cur_fail(c);
        return 0;
    }
    uint16_t v = (uint16_t)((uint16_t)c->ptr[1] << 8 | c->ptr[0]);
    c->ptr += 2;
    return v;
}

static inline uint32_t lw_cur_u32be(lw_cursor *c)
{
    if (!lw_cur_has(c, 4)) {
        lw_cur_fail(c);
        return 0;
    }
    uint32_t v = (uint32_t)c->ptr[0] << 24 | (uint32_t)c->ptr[1] << 16 | (uint32_t)c->ptr[2] << 8 |
                 (uint32_t)c->ptr[3];
    c->ptr += 4;
    return v;
}

static inline uint32_t lw_cur_u32le(lw_cursor *c)
{
    if (!lw_cur_has(c, 4)) {
        lw_cur_fail(c);
        return 0;
    }
    uint32_t v = (uint32_t)c->ptr[3] << 24 | (uint32_t)c->ptr[2] << 16 | (uint32_t)c->ptr[1] << 8 |
                 (uint32_t)c->ptr[0];
    c->ptr += 4;
    return v;
}

/* Copies n bytes out; on a short read copies nothing and sets the error. */
static inline void lw_cur_copy(lw_cursor *c, void *dst, size_t n)
{
    if (!lw_cur_has(c, n)) {
        lw_cur_fail(c);
        return;
    }
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)dst)[i] = c->ptr[i];
    c->ptr += n;
}

static inline void lw_cur_skip(lw_cursor *c, size_t n)
{
    if (!lw_cur_has(c, n)) {
        lw_cur_fail(c);
        return;
    }
    c->ptr += n;
}

/*
 * Splits off the next n bytes as a cursor of their own and advances past
 * them. On a short read the result is an empty cursor with its error set.
 */
static inline lw_cursor lw_cur_sub(lw_cursor *c, size_t n)
{
    lw_cursor s;
    if (!lw_cur_has(c, n)) {
        lw_cur_fail(c);
        s.ptr = s.end = c->end;
        s.error = true;
        return s;
    }
    s.ptr = c->ptr;
    s.end = c->ptr + n;
    s.error = false;
    c->ptr += n;
    return s;
}

/* Shortens the readable range to at most n bytes (a declared length). */
static inline void lw_cur_clamp(lw_cursor *c, size_t n)
{
    if (lw_cur_left(c) > n)
        c->end = c->ptr + n;
}

#endif
