/*
 * err.c - names for the LW_ERR_* values, for messages.
 */
#include "leakwatch/err.h"

const char *lw_strerror(int err)
{
    switch (err) {
    case LW_OK:
        return "success";
    case LW_ERR_NOMEM:
        return "out of memory";
    case LW_ERR_INVAL:
        return "invalid argument";
    case LW_ERR_IO:
        return "input/output error";
    case LW_ERR_PARSE:
        return "parse error";
    case LW_ERR_CAP:
        return "cap reached";
    case LW_ERR_TRUNCATED:
        return "truncated input";
    case LW_ERR_NOTFOUND:
        return "not found";
    case LW_ERR_HYPERSCAN:
        return "hyperscan error";
    case LW_ERR_PCAP:
        return "libpcap error";
    default:
        return "unknown error";
    }
}
