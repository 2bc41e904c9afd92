/*
 * main.c - the command line: options, --check-config, then the runtime.
 *
 * Exit status (a contract for scripts and service managers):
 *   0  the input was processed, or a stop signal ended a live capture
 *      (a truncated last record is a warning)
 *   2  usage, config, signature, input, output or user error: one line on
 *      stderr naming the file and line, or the bad value
 *   1  runtime failure (out of memory, output lost, every interface gone)
 * Order of configuration: defaults, then the -c file, then each --set in
 * the order given; -i adds interfaces, -o replaces the outputs, --user,
 * --group and --pidfile replace the run.* keys.
 */
#include <getopt.h>
#include <hs/hs.h>
#include <pcap/pcap.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/generation.h"
#include "leakwatch/runtime.h"

#define MAX_INPUTS 4096
#define MAX_SETS   256
#define MAX_IFACES 16

static void usage(FILE *f)
{
    fputs("usage: leakwatch [options] -r FILE [-r FILE ...]\n"
          "       leakwatch [options] -i IFACE [-i IFACE ...]\n"
          "       leakwatch --check-config [-c FILE] [--set KEY=VALUE ...]\n"
          "\n"
          "Reports bursts of customer PII leaving home_net as JSON lines (Suricata EVE\n"
          "names where one exists), from capture files or live interfaces.\n"
          "\n"
          "  -r, --read FILE      capture to replay (pcap or pcapng; '-' = stdin);\n"
          "                       repeat for several files, read in the order given\n"
          "  -i, --interface IF   capture live on IF (a SPAN or TAP port); repeatable\n"
          "  -c, --config FILE    YAML config (etc/leakwatch.yaml documents every key)\n"
          "  -o, --output FILE    write events to FILE, appending ('-' = stdout);\n"
          "                       replaces the `outputs` list of the config\n"
          "      --set KEY=VALUE  override one config key by dotted path (repeatable),\n"
          "                       e.g. --set burst.threshold=10 --set runmode.workers=2\n"
          "      --user USER      switch to USER once captures and files are open\n"
          "      --group GROUP    and to GROUP (default: USER's primary group)\n"
          "      --pidfile FILE   write the process id to FILE\n"
          "      --check-config   load and check config, signatures and EDM index, then exit\n"
          "  -V, --version        print the version and the libraries in use\n"
          "  -h, --help           this help\n"
          "\n"
          "signals: INT/TERM finish and exit; HUP reopen outputs and reload config and\n"
          "signatures; USR1 write stats now. See leakwatch(8).\n"
          "exit status: 0 ok; 2 usage, config, signature, input or output error;\n"
          "1 runtime failure\n",
          f);
}

static void version(void)
{
    printf("leakwatch %s\n  hyperscan %s\n  %s\n  libsodium %s\n", LW_VERSION, hs_version(),
           pcap_lib_version(), sodium_version_string());
}

/* --check-config: everything the start would load, without capturing. */
static int check_config(const lw_load_spec *spec)
{
    char err[1024];
    lw_generation *g;
    if (lw_generation_load(spec, &g, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "leakwatch: %s\n", err);
        return 2;
    }
    int status = 0;
    if (g->cfg->capture.bpf[0]) {
        /* Compile the filter as the capture would, against Ethernet. */
        pcap_t *dead = pcap_open_dead(1 /* DLT_EN10MB */, (int)g->cfg->capture.snaplen);
        struct bpf_program prog;
        if (!dead) {
            fprintf(stderr, "leakwatch: out of memory checking capture.bpf\n");
            status = 1;
        } else if (pcap_compile(dead, &prog, g->cfg->capture.bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            fprintf(stderr, "leakwatch: capture.bpf '%s': %s\n", g->cfg->capture.bpf,
                    pcap_geterr(dead));
            status = 2;
        } else {
            pcap_freecode(&prog);
        }
        if (dead)
            pcap_close(dead);
    }
    if (status == 0)
        printf("leakwatch: configuration OK: %zu signatures, %zu home_net networks%s\n",
               g->sigs->count, g->cfg->home_net_count, g->edm ? ", exact data matching on" : "");
    lw_generation_unref(g);
    return status;
}

int main(int argc, char **argv)
{
    enum { OPT_SET = 256, OPT_USER, OPT_GROUP, OPT_PIDFILE, OPT_CHECK };
    static const struct option longopts[] = {
        {"read", required_argument, NULL, 'r'},
        {"interface", required_argument, NULL, 'i'},
        {"config", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"set", required_argument, NULL, OPT_SET},
        {"user", required_argument, NULL, OPT_USER},
        {"group", required_argument, NULL, OPT_GROUP},
        {"pidfile", required_argument, NULL, OPT_PIDFILE},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *inputs[MAX_INPUTS];
    const char *sets[MAX_SETS], *ifaces[MAX_IFACES];
    size_t n_inputs = 0, n_sets = 0, n_ifaces = 0;
    lw_runtime_opts o;
    bool check = false;
    int opt;

    memset(&o, 0, sizeof(o));
    opterr = 0; /* one line of our own instead of getopt's */
    while ((opt = getopt_long(argc, argv, ":r:i:c:o:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            if (n_inputs == MAX_INPUTS) {
                fprintf(stderr, "leakwatch: too many -r files (at most %d)\n", MAX_INPUTS);
                return 2;
            }
            inputs[n_inputs++] = optarg;
            break;
        case 'i':
            if (n_ifaces == MAX_IFACES) {
                fprintf(stderr, "leakwatch: too many -i interfaces (at most %d)\n", MAX_IFACES);
                return 2;
            }
            ifaces[n_ifaces++] = optarg;
            break;
        case 'c':
            o.load.config_path = optarg;
            break;
        case 'o':
            o.output = optarg;
            break;
        case OPT_SET:
            if (n_sets == MAX_SETS) {
                fprintf(stderr, "leakwatch: too many --set options (at most %d)\n", MAX_SETS);
                return 2;
            }
            sets[n_sets++] = optarg;
            break;
        case OPT_USER:
            o.user = optarg;
            break;
        case OPT_GROUP:
            o.group = optarg;
            break;
        case OPT_PIDFILE:
            o.pidfile = optarg;
            break;
        case OPT_CHECK:
            check = true;
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
        fprintf(stderr,
                "leakwatch: unexpected argument '%s' (captures are given with -r, interfaces "
                "with -i)\n",
                argv[optind]);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "leakwatch: libsodium could not be initialised\n");
        return 1;
    }
    o.load.sets = sets;
    o.load.n_sets = n_sets;
    if (check)
        return check_config(&o.load);
    o.files = inputs;
    o.n_files = n_inputs;
    o.ifaces = ifaces;
    o.n_ifaces = n_ifaces;
    if (o.group && !o.user) {
        fprintf(stderr, "leakwatch: --group needs --user\n");
        return 2;
    }
    return lw_runtime_run(&o);
}
