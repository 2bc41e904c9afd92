/*
 * types.c - names for the enums in types.h.
 */
#include "leakwatch/types.h"

const char *lw_app_proto_name(lw_app_proto p)
{
    static const char *const names[LW_APP_MAX] = {
        [LW_APP_UNKNOWN] = "unknown",   [LW_APP_HTTP] = "http",     [LW_APP_SMTP] = "smtp",
        [LW_APP_DNS] = "dns",           [LW_APP_TLS] = "tls",       [LW_APP_FTP] = "ftp",
        [LW_APP_FTP_DATA] = "ftp-data", [LW_APP_FAILED] = "failed",
    };
    if ((unsigned)p >= LW_APP_MAX)
        return "unknown";
    return names[p];
}
