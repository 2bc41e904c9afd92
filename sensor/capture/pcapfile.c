/*
 * pcapfile.c - the record walk of a classic pcap file in memory (see
 * pcapfile.h).
 *
 * Every check is on lengths read from the file, so a hostile record can
 * only end the walk: a record is taken only when its 16-byte header and
 * all caplen bytes after it lie inside the buffer, and the walk never
 * moves backwards (offsets only grow, by at least 16 a record).
 */
#include "leakwatch/pcapfile.h"

#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "leakwatch/cursor.h"
#include "leakwatch/err.h"

#define FILE_HEADER   24u
#define RECORD_HEADER 16u

bool lw_pcapfile_init(lw_pcapfile *f, const uint8_t *buf, size_t len, uint32_t snaplen)
{
    memset(f, 0, sizeof(*f));
    if (len < FILE_HEADER || snaplen == 0 || snaplen > LW_PCAPFILE_MAX_CAPLEN)
        return false;
    static const uint8_t usec_be[4] = {0xa1, 0xb2, 0xc3, 0xd4};
    static const uint8_t nsec_be[4] = {0xa1, 0xb2, 0x3c, 0x4d};
    static const uint8_t usec_le[4] = {0xd4, 0xc3, 0xb2, 0xa1};
    static const uint8_t nsec_le[4] = {0x4d, 0x3c, 0xb2, 0xa1};
    if (memcmp(buf, usec_be, 4) == 0 || memcmp(buf, nsec_be, 4) == 0) {
        f->big_endian = true;
    } else if (memcmp(buf, usec_le, 4) != 0 && memcmp(buf, nsec_le, 4) != 0) {
        return false; /* pcapng, the patched-libpcap magic, not a capture */
    }
    f->nsec = buf[f->big_endian ? 2 : 1] == 0x3c;
    lw_cursor c = lw_cur_make(buf + 4, 4);
    uint16_t major = f->big_endian ? lw_cur_u16be(&c) : lw_cur_u16le(&c);
    uint16_t minor = f->big_endian ? lw_cur_u16be(&c) : lw_cur_u16le(&c);
    if (major != 2 || minor != 4)
        return false; /* 2.0-2.3 may have caplen and len swapped */
    f->buf = buf;
    f->len = len;
    f->off = FILE_HEADER;
    f->snaplen = snaplen;
    return true;
}

/*
 * Link types the walker hands over as they lie: those libpcap passes
 * through untouched whatever the file's byte order (it rewrites the
 * pseudo-headers of a few others, Linux cooked capture among them, when
 * the file was written in the other byte order), all with libpcap's
 * 262,144-byte record maximum.
 */
bool lw_pcapfile_link_ok(int linktype, bool swapped)
{
    switch (linktype) {
    case DLT_EN10MB:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
        return !swapped;
    default:
        return false;
    }
}

static uint32_t u32_at(lw_cursor *c, bool big_endian)
{
    return big_endian ? lw_cur_u32be(c) : lw_cur_u32le(c);
}

int lw_pcapfile_next(lw_pcapfile *f, lw_pcapfile_rec *rec)
{
    if (f->failed)
        return f->failed;
    size_t left = f->len - f->off;
    if (left == 0)
        return 0;
    if (left < RECORD_HEADER) {
        snprintf(f->error, sizeof(f->error),
                 "truncated dump file; tried to read %u header bytes, only got %zu", RECORD_HEADER,
                 left);
        return f->failed = LW_ERR_TRUNCATED;
    }
    lw_cursor c = lw_cur_make(f->buf + f->off, RECORD_HEADER);
    uint32_t sec = u32_at(&c, f->big_endian);
    uint32_t frac = u32_at(&c, f->big_endian);
    uint32_t caplen = u32_at(&c, f->big_endian);
    uint32_t len = u32_at(&c, f->big_endian);
    if (caplen > LW_PCAPFILE_MAX_CAPLEN) {
        /* above the maximum means above the snapshot length too */
        snprintf(f->error, sizeof(f->error),
                 "invalid packet capture length %u, bigger than snaplen of %u", caplen, f->snaplen);
        return f->failed = LW_ERR_PCAP;
    }
    left -= RECORD_HEADER;
    uint32_t keep = caplen < f->snaplen ? caplen : f->snaplen;
    if (left < caplen) {
        /* libpcap names the bytes it wanted: the snapshot's worth when it
         * cuts the record, else the record's; and what it got of those
         * (of the whole record when it cuts, since it read on to discard) */
        uint32_t want = caplen > f->snaplen && left < f->snaplen ? f->snaplen : caplen;
        snprintf(f->error, sizeof(f->error),
                 "truncated dump file; tried to read %u captured bytes, only got %zu", want, left);
        return f->failed = LW_ERR_TRUNCATED;
    }
    /* libpcap reads the fields of a file in the host's byte order as
     * signed 32-bit numbers, and byte-swaps the others as unsigned ones */
    const uint16_t probe = 1;
    bool host_big = *(const uint8_t *)&probe == 0;
    int64_t s = f->big_endian == host_big ? (int64_t)(int32_t)sec : (int64_t)sec;
    int64_t us = f->big_endian == host_big ? (int64_t)(int32_t)frac : (int64_t)frac;
    if (f->nsec)
        us /= 1000;
    rec->ts_us = (uint64_t)s * 1000000u + (uint64_t)us;
    rec->caplen = keep;
    rec->len = len;
    rec->data = f->buf + f->off + RECORD_HEADER;
    f->off += RECORD_HEADER + (size_t)caplen;
    return 1;
}
