/*
 * ascii.h - the few byte-classification helpers several stages need
 * (hex digits in codecs, key files, HTTP chunk sizes, MIME encodings).
 * Locale-free on purpose: wire bytes are not text in any locale.
 */
#ifndef LEAKWATCH_ASCII_H
#define LEAKWATCH_ASCII_H

#include <stdint.h>

/* The value of a hex digit (either case), or -1. */
static inline int lw_hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
