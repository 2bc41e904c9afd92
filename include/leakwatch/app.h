/*
 * app.h - application protocol detection by content.
 *
 * The protocol of a flow is decided from the first bytes each side sends,
 * never from port numbers alone (HTTP on 8080 or 4444 is still HTTP, and a
 * tunnel on port 443 that is not TLS must still be inspected). The decoders
 * that turn HTTP, SMTP, DNS and FTP into content build on this; until a
 * decoder exists for a protocol, its bytes are inspected raw.
 */
#ifndef LEAKWATCH_APP_H
#define LEAKWATCH_APP_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch/types.h"

/*
 * Looks at the first bytes of one direction of a flow (transport proto
 * LW_PROTO_TCP or LW_PROTO_UDP). Returns the protocol, LW_APP_FAILED when the
 * bytes match nothing known, or LW_APP_UNKNOWN when there are too few bytes
 * to tell yet.
 */
lw_app_proto lw_app_detect(uint8_t transport, const uint8_t *data, size_t len);

#endif
