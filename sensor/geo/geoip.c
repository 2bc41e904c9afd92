/*
 * geoip.c - country, city and autonomous system of an address, read from
 * MaxMind DB files through libmaxminddb.
 *
 * Format: the MaxMind DB format (a binary search tree over address bits
 * followed by a data section of typed values, and a metadata map at the
 * end; maxmind.github.io/MaxMind-DB). libmaxminddb parses it; this file
 * only decides which file plays which role and which typed values it will
 * believe.
 *
 * Roles. Each database is checked once at open by its metadata
 * database_type, so that an ASN database configured as the country database
 * is refused at start-up instead of silently finding nothing for years:
 *   country_db  type contains "Country", "City" or "Enterprise"
 *               (GeoLite2-Country, GeoIP2-City, GeoIP2-Enterprise and
 *               look-alikes such as DBIP-Country-Lite); a City database in
 *               this role also gives city names;
 *   asn_db      type contains "ASN" (GeoLite2-ASN, DBIP-ASN-Lite);
 *   city_db     type contains "City".
 *
 * Invariants.
 * - After lw_geoip_open returns, struct lw_geoip is never written again:
 *   the MMDB_s handles are read-only, libmaxminddb lookups in
 *   MMDB_MODE_MMAP neither allocate nor mutate, so any number of workers may
 *   call lw_geoip_lookup on one handle at once.
 * - A database file is untrusted input. Every value is looked up by path
 *   and its entry_data.type checked before it is read; a field with a wrong
 *   type counts as absent. Strings are copied with a byte cap, never split
 *   in the middle of a UTF-8 sequence, with C0 and C1 control characters,
 *   DEL and bytes that are not well-formed UTF-8 (RFC 3629) replaced by
 *   '?'. So a hostile database cannot put a control character or broken
 *   UTF-8 into a log line or alert, even before the JSON writer escapes it.
 *   The country code must be two ASCII capital letters (ISO 3166-1
 *   alpha-2) or it is dropped. An AS number must fit 32 bits and not be 0.
 * - Work per lookup is bounded: at most three tree walks (depth <= 128
 *   bits each) and a fixed number of value look-ups.
 * - The files are mapped read-only. Truncating a file in place while it is
 *   mapped would fault (SIGBUS); update it by writing a new file and
 *   renaming it over the old one, as geoipupdate does.
 *
 * IPv4 addresses are looked up with a sockaddr_in; in an IPv6 database
 * libmaxminddb walks to the ::/96 subtree first, which is where IPv4 data
 * lives in MaxMind's databases. An IPv6 address in an IPv4-only database
 * finds nothing.
 */
#include "leakwatch/geoip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <maxminddb.h>

enum { DB_COUNTRY, DB_ASN, DB_CITY, DB_MAX };

struct lw_geoip {
    MMDB_s db[DB_MAX];
    bool open[DB_MAX];
};

/* What each role needs from database_type; NULL ends a list. */
static const char *const role_names[DB_MAX] = {"country_db", "asn_db", "city_db"};
static const char *const role_types[DB_MAX][4] = {
    [DB_COUNTRY] = {"Country", "City", "Enterprise", NULL},
    [DB_ASN] = {"ASN", NULL},
    [DB_CITY] = {"City", NULL},
};

/* ------------------------------------------------------------------------ */
/* Strings from the database                                                 */

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0 when the bytes
 * there are not one (RFC 3629 table 3-7: no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Copies src[0..len) into dst (cap bytes including the NUL), printable. */
static void copy_clean(char *dst, size_t cap, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;

    while (i < len) {
        size_t n = utf8_seq_len(s + i, len - i);
        bool bad = n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f)) ||
                   (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0); /* C1: U+0080..U+009F */

        if (bad) {
            if (o + 1 >= cap)
                break;
            dst[o++] = '?';
            i += n == 0 ? 1 : n;
            continue;
        }
        if (o + n >= cap)
            break; /* cut before the sequence, never inside it */
        memcpy(dst + o, s + i, n);
        o += n;
        i += n;
    }
    dst[o] = '\0';
}

/* Reads a UTF-8 string at path into dst; false when absent or not a string. */
static bool get_string(MMDB_entry_s *entry, const char *const *path, char *dst, size_t cap)
{
    MMDB_entry_data_s d;

    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return false;
    copy_clean(dst, cap, d.utf8_string, d.data_size);
    return dst[0] != '\0';
}

/* ISO 3166-1 alpha-2: exactly two ASCII capital letters, nothing else. */
static bool get_iso(MMDB_entry_s *entry, const char *const *path, char dst[3])
{
    MMDB_entry_data_s d;

    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
        return false;
    for (size_t i = 0; i < 2; i++) {
        char c = d.utf8_string[i];
        if (c < 'A' || c > 'Z')
            return false;
    }
    dst[0] = d.utf8_string[0];
    dst[1] = d.utf8_string[1];
    dst[2] = '\0';
    return true;
}

/* An AS number: any unsigned integer type, as long as it fits 32 bits. */
static uint32_t get_asn(MMDB_entry_s *entry)
{
    static const char *const path[] = {"autonomous_system_number", NULL};
    MMDB_entry_data_s d;

    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
        return 0;
    switch (d.type) {
    case MMDB_DATA_TYPE_UINT16:
        return d.uint16;
    case MMDB_DATA_TYPE_UINT32:
        return d.uint32;
    case MMDB_DATA_TYPE_UINT64:
        return d.uint64 <= UINT32_MAX ? (uint32_t)d.uint64 : 0;
    case MMDB_DATA_TYPE_INT32:
        return d.int32 > 0 ? (uint32_t)d.int32 : 0;
    default:
        return 0;
    }
}

/* Country code and name from one object ("country" or "registered_country"),
 * taken together so that a code and a name never come from different ones. */
static bool get_country(MMDB_entry_s *entry, const char *object, lw_geo *out)
{
    const char *const iso_path[] = {object, "iso_code", NULL};
    const char *const name_path[] = {object, "names", "en", NULL};
    bool iso = get_iso(entry, iso_path, out->country_iso);
    bool name = get_string(entry, name_path, out->country, sizeof out->country);

    return iso || name;
}

static void fill_location(MMDB_entry_s *entry, lw_geo *out)
{
    static const char *const city_path[] = {"city", "names", "en", NULL};

    if (out->country_iso[0] == '\0' && out->country[0] == '\0' &&
        !get_country(entry, "country", out))
        (void)get_country(entry, "registered_country", out);
    if (out->city[0] == '\0')
        (void)get_string(entry, city_path, out->city, sizeof out->city);
}

static void fill_asn(MMDB_entry_s *entry, lw_geo *out)
{
    static const char *const org_path[] = {"autonomous_system_organization", NULL};

    out->asn = get_asn(entry);
    (void)get_string(entry, org_path, out->as_org, sizeof out->as_org);
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                            */

static bool type_fits(const char *type, int role)
{
    for (const char *const *t = role_types[role]; *t != NULL; t++)
        if (strstr(type, *t) != NULL)
            return true;
    return false;
}

/* "a" or "a" or "b": the accepted type words, for the error message. */
static void expected_types(int role, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (const char *const *t = role_types[role]; *t != NULL && used < len; t++) {
        int n =
            snprintf(buf + used, len - used, "%s\"%s\"", t == role_types[role] ? "" : " or ", *t);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int open_one(lw_geoip *g, int role, const char *path, char *err, size_t errlen)
{
    MMDB_s *db = &g->db[role];
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);

    if (rc != MMDB_SUCCESS) {
        /* MMDB_open has already freed whatever it had set up in *db. */
        int saved = errno;
        if (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) {
            snprintf(err, errlen, "%s: %s (%s)", path, MMDB_strerror(rc), strerror(saved));
            return LW_ERR_IO;
        }
        snprintf(err, errlen, "%s: %s", path, MMDB_strerror(rc));
        return rc == MMDB_OUT_OF_MEMORY_ERROR ? LW_ERR_NOMEM : LW_ERR_PARSE;
    }

    const char *type = db->metadata.database_type != NULL ? db->metadata.database_type : "";
    if (!type_fits(type, role)) {
        char clean[96], want[64];
        copy_clean(clean, sizeof clean, type, strlen(type));
        expected_types(role, want, sizeof want);
        snprintf(err, errlen,
                 "%s: database type \"%s\" does not fit %s (expected a type containing %s)", path,
                 clean, role_names[role], want);
        MMDB_close(db);
        return LW_ERR_PARSE;
    }
    g->open[role] = true;
    return LW_OK;
}

int lw_geoip_open(const lw_geoip_paths *paths, lw_geoip **out, char *err, size_t errlen)
{
    char scratch[1];
    lw_geoip *g;
    int rc;

    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (out == NULL) {
        snprintf(err, errlen, "geoip: no output handle");
        return LW_ERR_INVAL;
    }
    *out = NULL;
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        snprintf(err, errlen, "geoip: %s", lw_strerror(LW_ERR_NOMEM));
        return LW_ERR_NOMEM;
    }
    if (paths != NULL) {
        const char *const p[DB_MAX] = {paths->country_db, paths->asn_db, paths->city_db};
        for (int role = 0; role < DB_MAX; role++) {
            if (p[role] == NULL || p[role][0] == '\0')
                continue;
            rc = open_one(g, role, p[role], err, errlen);
            if (rc != LW_OK)
                goto fail;
        }
    }
    *out = g;
    return LW_OK;

fail:
    lw_geoip_close(g);
    return rc;
}

void lw_geoip_close(lw_geoip *g)
{
    if (g == NULL)
        return;
    for (int role = 0; role < DB_MAX; role++)
        if (g->open[role])
            MMDB_close(&g->db[role]);
    free(g);
}

bool lw_geoip_enabled(const lw_geoip *g)
{
    return g != NULL && (g->open[DB_COUNTRY] || g->open[DB_ASN] || g->open[DB_CITY]);
}

/* ------------------------------------------------------------------------ */
/* Lookup                                                                    */

static bool lookup_in(const MMDB_s *db, const struct sockaddr *sa, MMDB_entry_s *entry)
{
    int mmdb_err = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db, sa, &mmdb_err);

    /* An IPv6 address in an IPv4 database, or a tree walk that left the
     * file (a corrupt tree), is simply "not found". */
    if (mmdb_err != MMDB_SUCCESS || !r.found_entry)
        return false;
    *entry = r.entry;
    return true;
}

bool lw_geoip_lookup(const lw_geoip *g, const lw_addr *addr, lw_geo *out)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    MMDB_entry_s entry;

    if (out == NULL)
        return false;
    memset(out, 0, sizeof *out);
    if (!lw_geoip_enabled(g) || addr == NULL)
        return false;

    if (addr->family == 4) {
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, addr->b, 4);
        sa = (const struct sockaddr *)&sin;
    } else if (addr->family == 6) {
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, addr->b, 16);
        sa = (const struct sockaddr *)&sin6;
    } else {
        return false;
    }

    if (g->open[DB_COUNTRY] && lookup_in(&g->db[DB_COUNTRY], sa, &entry))
        fill_location(&entry, out);
    /* The city database names cities, and fills in the country when no
     * country database knew it (or none is configured). */
    if (g->open[DB_CITY] && lookup_in(&g->db[DB_CITY], sa, &entry))
        fill_location(&entry, out);
    if (g->open[DB_ASN] && lookup_in(&g->db[DB_ASN], sa, &entry))
        fill_asn(&entry, out);

    return out->country_iso[0] != '\0' || out->country[0] != '\0' || out->city[0] != '\0' ||
           out->asn != 0 || out->as_org[0] != '\0';
}
