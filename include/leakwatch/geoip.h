/*
 * geoip.h - where an outside address is: country and autonomous system,
 * from MaxMind-format databases (libmaxminddb).
 *
 * The databases (GeoLite2/GeoIP2 Country or City, and ASN; or any .mmdb
 * with the same record layout) are opened once, memory-mapped read-only,
 * and shared by every worker: libmaxminddb lookups on an opened database
 * are thread-safe and allocate nothing. Any of the three may be absent.
 *
 * Fields read (the GeoLite2 layout):
 *   Country/City db: country.iso_code, country.names.en (falling back to
 *                    registered_country when the address has no country),
 *                    city.names.en (City db only)
 *   ASN db:          autonomous_system_number, autonomous_system_organization
 */
#ifndef LEAKWATCH_GEOIP_H
#define LEAKWATCH_GEOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/err.h"
#include "leakwatch/types.h"

typedef struct lw_geoip lw_geoip;

typedef struct lw_geoip_paths {
    const char *country_db; /* Country or City database; NULL or "" = none */
    const char *asn_db;     /* ASN database; NULL or "" = none */
    const char *city_db;    /* City database for city names; NULL or "" = none (a City
                               database given as country_db also gives cities) */
} lw_geoip_paths;

/* What is known about one address; empty strings and asn 0 = unknown. */
typedef struct lw_geo {
    char country_iso[3]; /* "DE" */
    char country[64];    /* "Germany" */
    char city[64];
    uint32_t asn;
    char as_org[128];
} lw_geo;

/*
 * Opens every database given. A missing, unreadable or corrupt file, or one
 * whose database_type does not fit its role (an ASN database given as
 * country_db), is an error: LW_ERR_IO / LW_ERR_PARSE with "PATH: reason"
 * in err, nothing left open. Roles by database_type: country_db must contain
 * "Country", "City" or "Enterprise"; asn_db "ASN"; city_db "City". Opening none at all is allowed
 * (*out is then a handle whose lookups find nothing).
 */
int lw_geoip_open(const lw_geoip_paths *paths, lw_geoip **out, char *err,
                  size_t errlen) LW_MUST_CHECK;

/* Fills *out (zeroed first); returns true when any field was filled.
 * Strings are cut to fit (never inside a UTF-8 sequence) and made printable:
 * control bytes, DEL and bytes that are not UTF-8 become '?'. country_iso is
 * two capital letters or empty; a value of the wrong type counts as absent.
 * The city database also gives the country when no country database did.
 * Safe to call from any number of threads at once; allocates nothing. */
bool lw_geoip_lookup(const lw_geoip *g, const lw_addr *addr, lw_geo *out);

/* True when at least one database is open. */
bool lw_geoip_enabled(const lw_geoip *g);

void lw_geoip_close(lw_geoip *g);

#endif
