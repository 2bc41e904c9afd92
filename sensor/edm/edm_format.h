/*
 * edm_format.h - the on-disk layout of an EDM index, shared by the reader
 * (edm.c) and the builder (edm_build.c). Internal to sensor/edm/.
 *
 * All integers are little-endian and read through the byte loaders below,
 * never through a struct overlay: the file is untrusted input (it may be
 * truncated, corrupted or crafted) and a mapping gives no alignment promise
 * beyond the page.
 *
 * Header (LW_EDMF_HEADER_SIZE bytes):
 *     0  magic[8]        "LWEDM\0\r\n" (the CR LF catches text-mode mangling)
 *     8  u32 version     LW_EDM_VERSION
 *    12  u32 header_size LW_EDMF_HEADER_SIZE
 *    16  u64 file_size   the whole file; shorter is "truncated"
 *    24  u64 records     rows numbered by the builder
 *    32  u64 entries
 *    40  u64 canaries    canary records == labels
 *    48  u64 entries_off == header_size
 *    56  u64 labels_off  == entries_off + entries * LW_EDMF_ENTRY_SIZE
 *    64  u64 labels_len  labels_off + labels_len == file_size
 *    72  u32 kinds       1..LW_EDM_MAX_KINDS
 *    76  u32 reserved    0
 *    80  key_check[32]   BLAKE2b-256 keyed with the key over LW_EDMF_KEY_CHECK_TEXT
 *   112  checksum[32]    BLAKE2b-256 of bytes [0,112) || [144,file_size)
 *   144  kind names      LW_EDM_MAX_KINDS x LW_EDM_KIND_MAX, NUL-padded;
 *                        the first `kinds` are [a-z0-9_.-]{1,31}, distinct,
 *                        the rest all zero
 *   400  reserved        zero up to header_size
 *
 * Entries (LW_EDMF_ENTRY_SIZE bytes each), strictly increasing by
 * (hash bytes compared as memcmp does, kind):
 *     0  hash[16]   lw_edm_hash of (kind name, normalised value)
 *    16  u32 record < records
 *    20  u8 kind    < kinds
 *    21  u8 flags   LW_EDMF_CANARY or 0
 *    22  pad[2]     0
 *
 * Labels:
 *     0  u32 count   == canaries
 *     4  u32 reserved 0
 *     8  count x {u32 record, u32 off, u32 len}, records strictly increasing,
 *        each < records
 *        then the text area: each label is text[off, off+len), len >= 1
 *        (a canary is never unnamed), followed by a
 *        NUL at text[off+len]; no byte of a label is below 0x20 or 0x7f, so a
 *        label can be printed as it is and returned straight from the map.
 */
#ifndef LEAKWATCH_EDM_FORMAT_H
#define LEAKWATCH_EDM_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "leakwatch/edm.h"

#define LW_EDMF_MAGIC          "LWEDM\0\r\n"
#define LW_EDMF_MAGIC_LEN      8
#define LW_EDMF_HEADER_SIZE    512
#define LW_EDMF_ENTRY_SIZE     24
#define LW_EDMF_LABEL_REC_SIZE 12
#define LW_EDMF_CANARY         0x01

#define LW_EDMF_OFF_VERSION     8
#define LW_EDMF_OFF_HEADER_SIZE 12
#define LW_EDMF_OFF_FILE_SIZE   16
#define LW_EDMF_OFF_RECORDS     24
#define LW_EDMF_OFF_ENTRIES     32
#define LW_EDMF_OFF_CANARIES    40
#define LW_EDMF_OFF_ENTRIES_OFF 48
#define LW_EDMF_OFF_LABELS_OFF  56
#define LW_EDMF_OFF_LABELS_LEN  64
#define LW_EDMF_OFF_KINDS       72
#define LW_EDMF_OFF_RESERVED    76
#define LW_EDMF_OFF_KEY_CHECK   80
#define LW_EDMF_OFF_CHECKSUM    112
#define LW_EDMF_OFF_KIND_NAMES  144
#define LW_EDMF_CHECK_BYTES     32

/* The text whose keyed hash is the key check value. */
#define LW_EDMF_KEY_CHECK_TEXT "leakwatch edm key check v1"

_Static_assert(LW_EDMF_OFF_KIND_NAMES + LW_EDM_MAX_KINDS * LW_EDM_KIND_MAX <= LW_EDMF_HEADER_SIZE,
               "kind names fit the header");

static inline uint32_t lw_edmf_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t lw_edmf_le64(const uint8_t *p)
{
    return (uint64_t)lw_edmf_le32(p) | (uint64_t)lw_edmf_le32(p + 4) << 32;
}

static inline void lw_edmf_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void lw_edmf_put64(uint8_t *p, uint64_t v)
{
    lw_edmf_put32(p, (uint32_t)v);
    lw_edmf_put32(p + 4, (uint32_t)(v >> 32));
}

/* A kind name as the format allows it: [a-z0-9_.-]{1,31}. */
static inline int lw_edmf_kind_ok(const char *s, size_t n)
{
    if (n == 0 || n >= LW_EDM_KIND_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* The checksum and key check computations (edm.c); the builder uses them too. */
void lw_edmf_checksum(const uint8_t *file, size_t len, uint8_t out[LW_EDMF_CHECK_BYTES]);
void lw_edmf_key_check(const uint8_t key[LW_EDM_KEY_BYTES], uint8_t out[LW_EDMF_CHECK_BYTES]);

#endif
