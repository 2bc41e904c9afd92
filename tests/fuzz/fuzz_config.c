/*
 * fuzz_config.c - libFuzzer harness for the config loader.
 *
 * The input is parsed as a config file (lw_config_parse, over the
 * defaults); its first line is also tried as a --set assignment and as a
 * CIDR. Beyond "no crash, no leak, no sanitizer report" the harness checks
 * what a successful load promises: the cross-key rules hold and home_net
 * stays within its cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lw_config c;
    char err[256], line[512];
    lw_addr a;
    lw_cidr n;
    size_t len = 0;

    lw_config_defaults(&c);
    if (lw_config_parse(&c, "fuzz/config.yaml", (const char *)data, size, err, sizeof(err)) == 0) {
        if (lw_config_check(&c, err, sizeof(err)) != 0 || c.home_net_count == 0 ||
            c.home_net_count > LW_CONFIG_MAX_HOME_NET || c.signatures[0] == '\0')
            abort();
    }

    while (len < size && len < sizeof(line) - 1 && data[len] != '\n' && data[len] != '\0')
        len++;
    memcpy(line, data, len);
    line[len] = '\0';
    if (lw_config_set(&c, line, err, sizeof(err)) == 0 && c.home_net_count == 0)
        abort();
    if (lw_cidr_parse(line, &n) == 0 && n.prefix_len > (n.net.family == 4 ? 32 : 128))
        abort();

    /* Look up an address made of the first bytes, in both families. */
    memset(&a, 0, sizeof(a));
    memcpy(a.b, data, size < sizeof(a.b) ? size : sizeof(a.b));
    a.family = 6;
    (void)lw_config_is_home(&c, &a);
    memset(a.b + 4, 0, sizeof(a.b) - 4);
    a.family = 4;
    (void)lw_config_is_home(&c, &a);
    return 0;
}
