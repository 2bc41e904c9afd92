/*
 * mask.h - turning a normalised PII value into a sample that is safe to write.
 *
 * A masked sample keeps only what a person needs to recognise the kind of
 * value and tell samples apart, and never enough to recover the value:
 *   email        j***@example.com        (first character of the local part)
 *   phone        +1-***-***-1234 (NANP), +44-***-7890 (other E.164): last 4
 *   credit_card  411111******1111        (IIN and last 4, as PCI DSS allows)
 *   ssn          ***-**-6789
 *   iban         DE89**************3000  (country, check digits, last 4)
 *   other        *******89               (last 2 of at least 8, else all '*')
 * Output is always NUL-terminated and printable ASCII (unprintable bytes of
 * the value show as '?'). A value without the shape its masker expects (say
 * an email masker given a value with no '@') gets the generic mask, and a
 * sample never contains the whole value once the value has 2 or more bytes.
 */
#ifndef LEAKWATCH_MASK_H
#define LEAKWATCH_MASK_H

#include <stddef.h>

#include "leakwatch/validate.h"

/*
 * Masks the normalised value norm[0..len) in the style that suits validator v
 * and writes it to out (cap bytes, NUL-terminated, truncated if need be).
 */
void lw_mask(lw_validator v, const char *norm, size_t len, char *out, size_t cap);

/*
 * Masks a URL (a request target as sent) for an alert: path segments that
 * hold an '@' (or %40) or a run of 4 or more digits become "***", every
 * query value becomes "***" (names are kept), the fragment is dropped,
 * bytes that are not printable ASCII become '?'. Writes a NUL-terminated
 * string of at most cap-1 bytes (cut with "..." when longer) and returns its
 * length.
 */
size_t lw_mask_url(const uint8_t *url, size_t len, char *out, size_t cap);

#endif
