/*
 * edm_main.c - leakwatch-edm: make a key, build an exact-data-matching index
 * from the customer table, and describe an index.
 *
 *   leakwatch-edm keygen -o KEYFILE
 *   leakwatch-edm build -k KEYFILE -o OUT.edm [--column HEADER=TYPE[:NORM] ...]
 *                 [--canary-column HEADER] [--label-column HEADER]
 *                 [--canaries FILE.csv] CUSTOMERS.csv
 *   leakwatch-edm stats [-k KEYFILE] FILE.edm
 *
 * The tool handles the customer table in clear, so it is careful about what
 * it says: the build summary gives counts, column names and times, never a
 * value, and the key is never printed. The index is written atomically
 * (temporary file, fsync, rename), so a sensor that maps the old one keeps
 * a consistent view and a failed build leaves the old index in place.
 *
 * Exit status: 0 ok; 2 usage or input error (one line on stderr naming the
 * file, and the line for CSV errors; also a key that does not match in
 * `stats -k`); 1 runtime failure (out of memory, a write failed).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "leakwatch/edm.h"

#define PROG "leakwatch-edm"

static void usage(FILE *f)
{
    fputs("usage: " PROG " keygen -o KEYFILE\n"
          "       " PROG " build -k KEYFILE -o OUT.edm [--column HEADER=TYPE ...]\n"
          "                     [--canary-column HEADER] [--label-column HEADER]\n"
          "                     [--canaries FILE.csv] CUSTOMERS.csv\n"
          "       " PROG " stats [-k KEYFILE] FILE.edm\n"
          "\n"
          "keygen  writes a new random 32-byte key (64 hex digits) with mode 0600.\n"
          "build   hashes every email, phone, credit_card, ssn and iban of the CSV\n"
          "        (header row required) with the key into an index for the sensor.\n"
          "        Without --column, columns are found by header name. TYPE is one of\n"
          "        email, phone, credit_card, ssn, iban, or a site kind ([a-z0-9_.-])\n"
          "        taken as it is, or TYPE:NORMALISER (upper, lower, digits, ...) to\n"
          "        normalise a site kind as its signature does. Rows whose\n"
          "        --canary-column cell is 1/yes/true/y/x,\n"
          "        and every row of --canaries FILE, are honeytokens, labelled by\n"
          "        --label-column (default \"row N\").\n"
          "stats   describes an index; with -k also says whether the key matches.\n"
          "\n"
          "exit status: 0 ok; 2 usage or input error; 1 runtime failure\n",
          f);
}

static int exit_for(int rc)
{
    return (rc == LW_ERR_NOMEM || rc == LW_ERR_IO) ? 1 : 2;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_keygen(int argc, char **argv)
{
    static const struct option lopts[] = {{"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *out = NULL;
    char err[512];
    int c;

    while ((c = getopt_long(argc, argv, ":o:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, PROG ": option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, PROG ": unknown option '%s' (see -h)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (out == NULL || optind != argc) {
        fprintf(stderr, PROG ": keygen needs -o KEYFILE and nothing else\n");
        return 2;
    }
    if (lw_edm_key_generate(out, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    fprintf(stderr, PROG ": wrote a new key to %s (mode 0600)\n", out);
    return 0;
}

static void print_report(const lw_edm_build_report *r, const char *out, size_t len, double seconds)
{
    uint64_t rejected = r->rows_malformed + r->rows_too_long + r->rows_bad_fields;

    fprintf(stderr,
            PROG ": %llu rows, %llu rejected (malformed %llu, too long %llu, "
                 "wrong field count %llu)",
            (unsigned long long)r->rows, (unsigned long long)rejected,
            (unsigned long long)r->rows_malformed, (unsigned long long)r->rows_too_long,
            (unsigned long long)r->rows_bad_fields);
    if (r->first_rejected_line > 0)
        fprintf(stderr, "; first at %s:%llu", r->first_rejected_file,
                (unsigned long long)r->first_rejected_line);
    fputc('\n', stderr);
    for (size_t i = 0; i < r->mapped; i++)
        fprintf(stderr, PROG ": column '%s' -> %s\n", r->columns[i].header, r->columns[i].kind);
    for (size_t k = 0; k < r->kinds; k++)
        fprintf(stderr, PROG ": %-14s %llu values, %llu rejected\n", r->kind_names[k],
                (unsigned long long)r->values[k], (unsigned long long)r->rejected[k]);
    fprintf(stderr, PROG ": %llu canaries, %llu duplicate values, %llu entries\n",
            (unsigned long long)r->canaries, (unsigned long long)r->duplicates,
            (unsigned long long)r->entries);
    fprintf(stderr, PROG ": wrote %s (%zu bytes) in %.2f s\n", out, len, seconds);
}

static int cmd_build(int argc, char **argv)
{
    enum { OPT_COLUMN = 256, OPT_CANARY_COL, OPT_LABEL_COL, OPT_CANARIES };
    static const struct option lopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"column", required_argument, NULL, OPT_COLUMN},
        {"canary-column", required_argument, NULL, OPT_CANARY_COL},
        {"label-column", required_argument, NULL, OPT_LABEL_COL},
        {"canaries", required_argument, NULL, OPT_CANARIES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    lw_edm_column cols[LW_EDM_MAX_COLUMNS];
    char colbuf[LW_EDM_MAX_COLUMNS][256];
    lw_edm_build_opts opts = {0};
    const char *keyfile = NULL, *out = NULL, *canaries = NULL;
    uint8_t key[LW_EDM_KEY_BYTES];
    lw_edm_builder *b = NULL;
    lw_edm_build_report rep;
    uint8_t *data = NULL;
    size_t len = 0;
    char err[512];
    double t0 = now_s();
    int c, rc, status = 0;

    while ((c = getopt_long(argc, argv, ":k:o:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case OPT_COLUMN: {
            char *eq;
            if (opts.ncolumns == LW_EDM_MAX_COLUMNS) {
                fprintf(stderr, PROG ": too many --column options (at most %d)\n",
                        LW_EDM_MAX_COLUMNS);
                return 2;
            }
            if (strlen(optarg) >= sizeof(colbuf[0])) {
                fprintf(stderr, PROG ": --column value too long\n");
                return 2;
            }
            strcpy(colbuf[opts.ncolumns], optarg);
            eq = strrchr(colbuf[opts.ncolumns], '=');
            if (eq == NULL || eq == colbuf[opts.ncolumns] || eq[1] == '\0') {
                fprintf(stderr, PROG ": --column wants HEADER=TYPE, not '%s'\n", optarg);
                return 2;
            }
            *eq = '\0';
            cols[opts.ncolumns].header = colbuf[opts.ncolumns];
            cols[opts.ncolumns].kind = eq + 1;
            cols[opts.ncolumns].normaliser = NULL;
            /* TYPE:NORMALISER names a site kind's normaliser. */
            if ((eq = strchr(eq + 1, ':')) != NULL) {
                *eq = '\0';
                cols[opts.ncolumns].normaliser = eq + 1;
            }
            opts.ncolumns++;
            break;
        }
        case OPT_CANARY_COL:
            opts.canary_column = optarg;
            break;
        case OPT_LABEL_COL:
            opts.label_column = optarg;
            break;
        case OPT_CANARIES:
            canaries = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, PROG ": option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, PROG ": unknown option '%s' (see -h)\n", argv[optind - 1]);
            return 2;
        }
    }
    opts.columns = opts.ncolumns > 0 ? cols : NULL;
    if (keyfile == NULL || out == NULL) {
        fprintf(stderr, PROG ": build needs -k KEYFILE and -o OUT.edm\n");
        return 2;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, PROG ": build needs exactly one CSV file\n");
        return 2;
    }
    if (lw_edm_key_load(keyfile, key, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    rc = lw_edm_builder_new(key, &opts, &b, err, sizeof(err));
    sodium_memzero(key, sizeof(key));
    if (rc != LW_OK) {
        fprintf(stderr, PROG ": %s\n", err);
        return exit_for(rc);
    }
    rc = lw_edm_builder_add_file(b, argv[optind], false, err, sizeof(err));
    if (rc == LW_OK && canaries != NULL)
        rc = lw_edm_builder_add_file(b, canaries, true, err, sizeof(err));
    if (rc != LW_OK) {
        /* An input that cannot be read or parsed is an input error. */
        status = rc == LW_ERR_NOMEM ? 1 : 2;
    } else {
        rc = lw_edm_builder_finish(b, &data, &len, err, sizeof(err));
        if (rc == LW_OK)
            rc = lw_edm_write_file(out, data, len, err, sizeof(err));
        if (rc != LW_OK)
            status = exit_for(rc);
    }
    if (rc != LW_OK) {
        fprintf(stderr, PROG ": %s\n", err);
    } else {
        lw_edm_builder_report(b, &rep);
        print_report(&rep, out, len, now_s() - t0);
    }
    free(data);
    lw_edm_builder_free(b);
    return status;
}

static int cmd_stats(int argc, char **argv)
{
    static const struct option lopts[] = {{"key", required_argument, NULL, 'k'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *keyfile = NULL, *path;
    uint8_t key[LW_EDM_KEY_BYTES];
    lw_edm_info info;
    lw_edm *e = NULL;
    struct stat st;
    char err[512];
    double t0, t1;
    int c, rc, status = 0;

    while ((c = getopt_long(argc, argv, ":k:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, PROG ": option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, PROG ": unknown option '%s' (see -h)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, PROG ": stats needs exactly one index file\n");
        return 2;
    }
    path = argv[optind];
    if (keyfile != NULL && lw_edm_key_load(keyfile, key, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    /* Opened without the key so that a wrong key still shows the stats;
     * the key is compared afterwards. */
    t0 = now_s();
    rc = lw_edm_open(path, NULL, &e, err, sizeof(err));
    t1 = now_s();
    if (rc != LW_OK) {
        sodium_memzero(key, sizeof(key));
        fprintf(stderr, PROG ": %s\n", err);
        return exit_for(rc);
    }
    lw_edm_stats(e, &info);
    printf("file:      %s\n", path);
    if (stat(path, &st) == 0)
        printf("size:      %lld bytes\n", (long long)st.st_size);
    printf("version:   %u\n", info.version);
    printf("records:   %llu\n", (unsigned long long)info.records);
    printf("entries:   %llu\n", (unsigned long long)info.entries);
    for (size_t k = 0; k < info.kinds; k++)
        printf("  %-16s %llu\n", info.kind_names[k], (unsigned long long)info.entries_per_kind[k]);
    printf("canaries:  %llu\n", (unsigned long long)info.canaries);
    printf("checksum:  ok\n");
    printf("load:      %.3f s\n", t1 - t0);
    if (keyfile != NULL) {
        bool ok = lw_edm_key_matches(e, key);
        printf("key:       %s\n", ok ? "matches" : "does NOT match");
        if (!ok) {
            fprintf(stderr, PROG ": %s: wrong key (%s)\n", path, keyfile);
            status = 2;
        }
    }
    sodium_memzero(key, sizeof(key));
    lw_edm_close(e);
    return status;
}

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, PROG ": libsodium could not be initialised\n");
        return 1;
    }
    /* Each command parses its own options: argv[1] plays argv[0]. */
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "build") == 0)
        return cmd_build(argc - 1, argv + 1);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    fprintf(stderr, PROG ": unknown command '%s' (keygen, build or stats; see -h)\n", cmd);
    return 2;
}
