/*
 * main.c - start-up: options, config, signatures, captures; then the loop.
 *
 * Exit status (a contract for scripts and service managers):
 *   0  the input was processed (a truncated last record is a warning)
 *   2  usage, config, signature or input error: one line on stderr naming
 *      the file and line, or the bad value
 *   1  runtime failure (out of memory, output lost)
 * Order of configuration: defaults, then the -c file, then each --set in
 * the order given.
 */
#include <getopt.h>
#include <hs/hs.h>
#include <pcap/pcap.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leakwatch/capture.h"
#include "leakwatch/config.h"
#include "leakwatch/edm.h"
#include "leakwatch/engine.h"
#include "leakwatch/match.h"
#include "leakwatch/output.h"
#include "leakwatch/signatures.h"

#define MAX_INPUTS 4096
#define MAX_SETS   256

static void usage(FILE *f)
{
    fputs("usage: leakwatch [options] -r FILE [-r FILE ...]\n"
          "\n"
          "Replays pcap/pcapng captures and reports bursts of customer PII leaving\n"
          "home_net as JSON lines (Suricata EVE names where one exists).\n"
          "\n"
          "  -r, --read FILE      capture to replay (pcap or pcapng; '-' = stdin);\n"
          "                       repeat for several files, read in the order given\n"
          "  -c, --config FILE    YAML config (etc/leakwatch.yaml documents every key)\n"
          "  -o, --output FILE    write events to FILE, appending (default: stdout)\n"
          "      --set KEY=VALUE  override one config key by dotted path (repeatable),\n"
          "                       e.g. --set burst.threshold=10 --set home_net=10.0.0.0/8\n"
          "  -V, --version        print the version and the libraries in use\n"
          "  -h, --help           this help\n"
          "\n"
          "exit status: 0 ok; 2 usage, config, signature or input error; 1 runtime failure\n",
          f);
}

static void version(void)
{
    printf("leakwatch %s\n  hyperscan %s\n  %s\n  libsodium %s\n", LW_VERSION, hs_version(),
           pcap_lib_version(), sodium_version_string());
}

/* Progress on stderr, only when a person is watching. */
typedef struct progress {
    bool enabled;
    struct timespec last;
    uint64_t pkts_at_last;
} progress;

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_tick(progress *pr, const lw_capture *cap, const char *path, uint64_t pkts)
{
    double dt = seconds_since(&pr->last);
    if (dt < 1.0)
        return;
    uint64_t done, total;
    lw_capture_progress(cap, &done, &total);
    double rate = (double)(pkts - pr->pkts_at_last) / dt;
    if (total)
        fprintf(stderr, "\rleakwatch: %s: %.1f/%.1f MB (%.0f%%), %.0f packets/s   ", path,
                (double)done / 1e6, (double)total / 1e6, 100.0 * (double)done / (double)total,
                rate);
    else
        fprintf(stderr, "\rleakwatch: %s: %.1f MB, %.0f packets/s   ", path, (double)done / 1e6,
                rate);
    clock_gettime(CLOCK_MONOTONIC, &pr->last);
    pr->pkts_at_last = pkts;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"read", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"set", required_argument, NULL, 'S'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *inputs[MAX_INPUTS];
    const char *sets[MAX_SETS];
    size_t n_inputs = 0, n_sets = 0;
    const char *config_path = NULL, *output_path = "-";
    char err[1024] = "";
    int opt, status = 2;

    opterr = 0; /* one line of our own instead of getopt's */
    while ((opt = getopt_long(argc, argv, ":r:c:o:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            if (n_inputs == MAX_INPUTS) {
                fprintf(stderr, "leakwatch: too many -r files (at most %d)\n", MAX_INPUTS);
                return 2;
            }
            inputs[n_inputs++] = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            output_path = optarg;
            break;
        case 'S':
            if (n_sets == MAX_SETS) {
                fprintf(stderr, "leakwatch: too many --set options (at most %d)\n", MAX_SETS);
                return 2;
            }
            sets[n_sets++] = optarg;
            break;
        case 'V':
            version();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "leakwatch: option '%s' needs a value (see -h)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "leakwatch: unknown option '%s' (see -h)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "leakwatch: unexpected argument '%s' (captures are given with -r)\n",
                argv[optind]);
        return 2;
    }
    if (n_inputs == 0) {
        fprintf(stderr, "leakwatch: no input: give a capture with -r FILE (see -h)\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "leakwatch: libsodium could not be initialised\n");
        return 1;
    }

    lw_config *cfg = calloc(1, sizeof(*cfg));
    lw_signature_set *sigs = NULL;
    lw_matcher *matcher = NULL;
    lw_output *out = NULL;
    lw_engine *engine = NULL;
    lw_edm *edm = NULL;
    lw_capture *caps[MAX_INPUTS] = {0};
    if (!cfg) {
        fprintf(stderr, "leakwatch: out of memory\n");
        return 1;
    }

    lw_config_defaults(cfg);
    if (config_path && lw_config_load_file(cfg, config_path, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: %s\n", err);
        goto done;
    }
    for (size_t i = 0; i < n_sets; i++) {
        if (lw_config_set(cfg, sets[i], err, sizeof(err)) != LW_OK) {
            fprintf(stderr, "leakwatch: %s\n", err);
            goto done;
        }
    }
    if (lw_config_check(cfg, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: %s\n", err);
        goto done;
    }
    if (lw_signatures_load(cfg->signatures, &sigs, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: %s\n", err);
        goto done;
    }
    if (lw_matcher_compile(sigs, &matcher, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: %s: %s\n", cfg->signatures, err);
        goto done;
    }
    if (cfg->edm.index[0]) {
        uint8_t key[LW_EDM_KEY_BYTES];
        if (!cfg->edm.key[0]) {
            fprintf(stderr, "leakwatch: edm.index is set but edm.key is not\n");
            goto done;
        }
        int krc = lw_edm_key_load(cfg->edm.key, key, err, sizeof(err));
        if (krc == LW_OK)
            krc = lw_edm_open(cfg->edm.index, key, &edm, err, sizeof(err));
        sodium_memzero(key, sizeof(key));
        if (krc != LW_OK) {
            fprintf(stderr, "leakwatch: %s\n", err);
            goto done;
        }
    }
    /* Open every input before writing anything, so a typo in the last -r
     * fails at once instead of after hours of replay. */
    for (size_t i = 0; i < n_inputs; i++) {
        if (lw_capture_open_offline(inputs[i], &caps[i], err, sizeof(err)) != LW_OK) {
            fprintf(stderr, "leakwatch: %s\n", err);
            goto done;
        }
    }
    if (lw_output_open(output_path, &out, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: %s\n", err);
        goto done;
    }
    engine = lw_engine_new(cfg, sigs, matcher, edm, out, err, sizeof(err));
    if (!engine) {
        fprintf(stderr, "leakwatch: %s\n", err);
        status = 1;
        goto done;
    }

    progress pr = {.enabled = isatty(STDERR_FILENO) == 1};
    clock_gettime(CLOCK_MONOTONIC, &pr.last);
    uint64_t pkts = 0;
    for (size_t i = 0; i < n_inputs; i++) {
        lw_packet p;
        uint64_t file_pkts = 0;
        int rc;
        memset(&p, 0, sizeof(p));
        while ((rc = lw_capture_next(caps[i], &p)) == 1) {
            lw_engine_packet(engine, &p);
            file_pkts++;
            if (pr.enabled && (++pkts & 0xffff) == 0)
                progress_tick(&pr, caps[i], inputs[i], pkts);
        }
        if (pr.enabled)
            fputs("\r\033[K", stderr);
        if (rc == LW_ERR_TRUNCATED) {
            fprintf(stderr, "leakwatch: warning: %s (after %llu packets; those were processed)\n",
                    lw_capture_error(caps[i]), (unsigned long long)file_pkts);
            lw_engine_event(engine, LW_ENGINE_FILE_TRUNCATED);
        } else if (rc < 0) {
            fprintf(stderr, "leakwatch: warning: %s (after %llu packets; stopped reading it)\n",
                    lw_capture_error(caps[i]), (unsigned long long)file_pkts);
            lw_engine_event(engine, LW_ENGINE_FILE_ERROR);
        } else {
            lw_engine_event(engine, LW_ENGINE_FILE_DONE);
        }
        lw_capture_close(caps[i]);
        caps[i] = NULL;
    }
    lw_engine_finish(engine);
    status = 0;
    if (lw_output_errors(out)) {
        fprintf(stderr, "leakwatch: %llu event line(s) could not be written to %s\n",
                (unsigned long long)lw_output_errors(out), output_path);
        status = 1;
    }

done:
    lw_engine_free(engine);
    for (size_t i = 0; i < n_inputs; i++)
        lw_capture_close(caps[i]);
    if (out && lw_output_close(out) != LW_OK && status == 0) {
        fprintf(stderr, "leakwatch: %s: closing failed\n", output_path);
        status = 1;
    }
    lw_edm_close(edm);
    lw_matcher_free(matcher);
    lw_signatures_free(sigs);
    free(cfg);
    return status;
}
