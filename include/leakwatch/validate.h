/*
 * validate.h - validators and normalisers for PII candidates.
 *
 * Hyperscan only says "something shaped like a card ends here". The match
 * stage then hands over the *run*: the longest stretch of the signature's
 * character set that ends at the reported offset (at most the signature's
 * max_len bytes). The value ends where the run ends (an email run may carry
 * one sentence-ending '.', which the email path drops). lw_pick_value()
 * finds the value's start: it tries the suffixes of the run that start at a
 * candidate start, longest first, and keeps the first one that validates and
 * normalises. Candidate starts are the run's first byte when start_ok, and
 * every later byte that is not whitespace and follows a byte that is not a
 * letter or digit (so "+44..." and "(202)..." can start after a space). A
 * value glued to a neighbouring letter or digit is therefore never taken:
 * its start is not a candidate. With LW_VALIDATOR_NONE only the whole run
 * is a candidate (the regex, not a validator, is then the only evidence).
 *
 * All functions are pure: no allocation, no global state, bounded work
 * (at most LW_PII_VALUE_MAX bytes of input are looked at).
 */
#ifndef LEAKWATCH_VALIDATE_H
#define LEAKWATCH_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

typedef enum lw_validator {
    LW_VALIDATOR_NONE = 0, /* any candidate the regex found */
    LW_VALIDATOR_EMAIL,    /* local@domain: label and TLD rules */
    LW_VALIDATOR_PHONE,    /* NANP (area/exchange rules; bare 10 digits too) or E.164 (+cc) */
    LW_VALIDATOR_CARD,     /* payment card: IIN/brand length table and Luhn */
    LW_VALIDATOR_SSN,      /* US SSN ddd-dd-dddd (dashes required): area, group, serial */
    LW_VALIDATOR_IBAN,     /* country length table and ISO 7064 mod-97 */
    LW_VALIDATOR_LUHN,     /* 12..19 digits (space/dash separators) passing Luhn */
    LW_VALIDATOR_MAX
} lw_validator;

typedef enum lw_normaliser {
    LW_NORM_NONE = 0,    /* bytes as found */
    LW_NORM_LOWER,       /* ASCII lower-case (emails) */
    LW_NORM_UPPER,       /* ASCII upper-case */
    LW_NORM_DIGITS,      /* digits only (cards, SSNs, account numbers) */
    LW_NORM_E164,        /* '+' and digits; NANP numbers get +1 */
    LW_NORM_ALNUM_UPPER, /* letters and digits only, upper-case (IBAN) */
    LW_NORM_MAX
} lw_normaliser;

/* Names as written in signature files ("email", "luhn", "e164", ...). */
const char *lw_validator_name(lw_validator v);
const char *lw_normaliser_name(lw_normaliser n);
/* Returns the enum value, or -1 for an unknown name. */
int lw_validator_from_name(const char *name);
int lw_normaliser_from_name(const char *name);

/* True when s[0..len) is exactly one valid value of that kind. */
bool lw_validate(lw_validator v, const uint8_t *s, size_t len);

/*
 * Writes the normalised form of s[0..len) into out (NUL-terminated) and
 * returns its length, or 0 when it does not fit in cap-1 bytes or the
 * normaliser cannot apply (E164 without enough digits).
 */
size_t lw_normalise(lw_normaliser n, const uint8_t *s, size_t len, char *out, size_t cap);

/*
 * Finds the value in a run (see the top of this file), validates it with v,
 * normalises it with n and masks it (lw_mask with the masker that suits v).
 * Fills out->norm, norm_len and masked; leaves sig_index and kind alone.
 * Returns true when a value was found. A candidate counts only when it both
 * validates and normalises. On false, norm_len is 0 and norm and masked are
 * empty strings, so nothing of a half-found value stays behind.
 */
bool lw_pick_value(lw_validator v, lw_normaliser n, const uint8_t *run, size_t len, bool start_ok,
                   lw_pii_value *out);

/*
 * Phone helpers shared by validate.c, validate_phone.c and mask.c.
 * lw_phone_validate is lw_validate(LW_VALIDATOR_PHONE, ...).
 * lw_phone_cc_len returns the length (1..3) of the assigned ITU-T E.164
 * country code that digits[0..n) starts with, or 0 when none does (country
 * codes are prefix-free, so at most one matches).
 */
bool lw_phone_validate(const uint8_t *s, size_t len);
size_t lw_phone_cc_len(const char *digits, size_t n);

#endif
