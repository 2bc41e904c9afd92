/*
 * err.h - the one error vocabulary of leakwatch.
 *
 * Every fallible function returns 0 on success or a negative LW_ERR_* value.
 * Functions whose result must not be ignored carry LW_MUST_CHECK so the
 * compiler rejects a caller that forgets to look.
 */
#ifndef LEAKWATCH_ERR_H
#define LEAKWATCH_ERR_H

#define LW_MUST_CHECK __attribute__((warn_unused_result))

typedef enum lw_err {
    LW_OK = 0,
    LW_ERR_NOMEM = -1,     /* an allocation failed */
    LW_ERR_INVAL = -2,     /* a bad argument or value */
    LW_ERR_IO = -3,        /* a read or write failed */
    LW_ERR_PARSE = -4,     /* a file could not be parsed */
    LW_ERR_CAP = -5,       /* a configured cap was reached */
    LW_ERR_TRUNCATED = -6, /* input ended early */
    LW_ERR_NOTFOUND = -7,  /* a lookup found nothing */
    LW_ERR_HYPERSCAN = -8, /* Hyperscan refused a call */
    LW_ERR_PCAP = -9,      /* libpcap refused a call */
} lw_err;

/* A static, human-readable name for an LW_ERR_* value. */
const char *lw_strerror(int err);

#endif
