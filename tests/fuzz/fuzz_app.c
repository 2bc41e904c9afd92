/*
 * fuzz_app.c - protocol detection on hostile first bytes. The first input
 * byte picks TCP or UDP; the rest is what the peer sent first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t transport = data[0] & 1 ? LW_PROTO_UDP : LW_PROTO_TCP;
    /* an exact-size copy so that ASan catches a read past the end */
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    lw_app_proto p = lw_app_detect(transport, buf, size - 1);
    free(buf);
    if ((unsigned)p >= LW_APP_MAX)
        abort();
    return 0;
}
