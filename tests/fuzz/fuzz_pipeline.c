/*
 * fuzz_pipeline.c - the whole sensor on one input treated as a capture file.
 *
 * The input is read by libpcap through fmemopen (so pcap and pcapng file
 * parsing is fuzzed too) and every packet runs through the engine with the
 * shipped signatures, a threshold of 2 and tiny tables, so that alerts,
 * eviction and expiry paths are reached, and a policy with a pair, a source
 * and a long-window detector (tiny exact limit: the estimate path), an
 * allow entry and a rule. Output goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "leakwatch/capture.h"
#include "leakwatch/config.h"
#include "leakwatch/engine.h"
#include "leakwatch/match.h"
#include "leakwatch/output.h"
#include "leakwatch/policy.h"
#include "leakwatch/signatures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static lw_config cfg;
static lw_signature_set *sigs;
static lw_matcher *matcher;
static lw_policy *policy;

static const char policy_text[] =
    "allow:\n"
    "  - name: vendor\n"
    "    cidrs: [203.0.113.0/28]\n"
    "    domains: [\"*.example.org\"]\n"
    "rules:\n"
    "  - name: paste\n"
    "    domains: [\"paste.example.com\"]\n"
    "    cidrs: [198.51.100.0/24]\n"
    "    threshold: 1\n"
    "    severity: 1\n"
    "detectors:\n"
    "  - {name: pair, key: pair, window: 60, threshold: 2, sid: 9000001}\n"
    "  - {name: source, key: source, window: 60, threshold: 3, sid: "
    "9000004}\n"
    "  - {name: slow, key: pair, window: 3600, threshold: 20, sid: "
    "9000005, exact_limit: 16}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024], path[4096];
    const char *top = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/signatures/pii.yaml", top ? top : LW_SOURCE_DIR_DEFAULT);
    if (sodium_init() < 0)
        abort();
    lw_config_defaults(&cfg);
    static const char *const sets[] = {
        "burst.threshold=2",   "burst.max_pairs=4",     "burst.max_values=8",
        "flow.max_flows=8",    "flow.idle_timeout=2",   "flow.closed_timeout=1",
        "stream.memcap=64kb",  "stream.max_buffer=4kb", "stream.max_segments=8",
        "defrag.max_trains=4", "defrag.memcap=64kb",    "defrag.max_fragments=8"};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        if (lw_config_set(&cfg, sets[i], err, sizeof(err)) != LW_OK)
            abort();
    char ppath[] = "/tmp/fuzz_pipeline_policy.XXXXXX";
    int fd = mkstemp(ppath);
    if (fd < 0 ||
        write(fd, policy_text, sizeof(policy_text) - 1) != (ssize_t)sizeof(policy_text) - 1)
        abort();
    close(fd);
    int prc = lw_policy_load(ppath, &cfg, &policy, err, sizeof(err));
    unlink(ppath);
    if (prc != LW_OK) {
        fprintf(stderr, "fuzz_pipeline: %s\n", err);
        abort();
    }
    if (lw_signatures_load(path, &sigs, err, sizeof(err)) != LW_OK ||
        lw_matcher_compile(sigs, &matcher, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "fuzz_pipeline: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    lw_capture *cap;
    if (lw_capture_open_stream(f, "fuzz", &cap, err, sizeof(err)) != LW_OK)
        return 0;
    lw_output *out;
    if (lw_output_open("/dev/null", &out, err, sizeof(err)) != LW_OK)
        abort();
    lw_engine_deps deps = {&cfg, sigs, matcher, NULL, policy, NULL, true};
    lw_engine *e = lw_engine_new(&deps, out, err, sizeof(err));
    if (!e)
        abort();
    lw_packet p;
    memset(&p, 0, sizeof(p));
    while (lw_capture_next(cap, &p) == 1)
        lw_engine_packet(e, &p);
    lw_engine_finish(e);
    lw_engine_free(e);
    lw_capture_close(cap);
    lw_output_close(out, 0);
    return 0;
}
