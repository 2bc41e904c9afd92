/*
 * test_edm.c - exact data matching: building an index from CSV, loading it
 * with every check, and looking values up.
 *
 * Indexes are built in memory from small CSV texts (the builder's in-memory
 * path is the same parser as the file path) and opened with
 * lw_edm_open_mem; a few tests go through files in a temporary directory
 * (key files, the atomic write, lw_edm_open). Values are fictional test
 * data: example.com addresses, 555 numbers, published test card numbers,
 * the IBAN registry's examples. A failing check names the kind and the
 * line of the test, never the value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leakwatch/edm.h"

#include "../../sensor/edm/edm_format.h"

static const uint8_t KEY[LW_EDM_KEY_BYTES] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t KEY2[LW_EDM_KEY_BYTES] = {0xff, 0xfe, 0xfd};

/* The customer table most tests use. Row 0 and row 1 have one value of
 * every kind; row 2 has values that fail their validators. */
static const char CUSTOMERS[] =
    "Name,Email,Phone,Card,SSN,IBAN,honeypot,tag\r\n"
    "Al Able,A@B.COM,(415) 555-0132,4111 1111 1111 1111,536-22-1234,GB82 WEST 1234 5698 7654 "
    "32,,\r\n"
    "Bo Baker,bo@example.com,+1 212 555 0199,5555555555554444,536-22-1235,DE89370400440532013000,"
    "yes,trap one\r\n"
    "Cy Cole,not-an-email,12,4111111111111112,000-00-0000,GB00WEST12345698765432,,\r\n";

typedef struct built {
    uint8_t *data;
    size_t len;
    lw_edm *e;
    lw_edm_build_report rep;
} built;

/* Builds from csv (and canaries, if any) with opts; opens with KEY. */
static void build2(built *b, const char *csv, const char *canaries, const lw_edm_build_opts *opts)
{
    lw_edm_builder *bl = NULL;
    char err[256];

    memset(b, 0, sizeof(*b));
    assert_int_equal(lw_edm_builder_new(KEY, opts, &bl, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_add_csv(bl, "t.csv", (const uint8_t *)csv, strlen(csv), false,
                                            err, sizeof(err)),
                     LW_OK);
    if (canaries != NULL)
        assert_int_equal(lw_edm_builder_add_csv(bl, "c.csv", (const uint8_t *)canaries,
                                                strlen(canaries), true, err, sizeof(err)),
                         LW_OK);
    assert_int_equal(lw_edm_builder_finish(bl, &b->data, &b->len, err, sizeof(err)), LW_OK);
    lw_edm_builder_report(bl, &b->rep);
    lw_edm_builder_free(bl);
    assert_int_equal(lw_edm_open_mem(b->data, b->len, KEY, &b->e, err, sizeof(err)), LW_OK);
}

static void build(built *b, const char *csv, const lw_edm_build_opts *opts)
{
    build2(b, csv, NULL, opts);
}

static void unbuild(built *b)
{
    lw_edm_close(b->e);
    free(b->data);
}

/* Builder error: returns the code, leaves the message in err. */
static int build_err(const char *csv, const lw_edm_build_opts *opts, char *err, size_t errlen)
{
    lw_edm_builder *bl = NULL;
    int rc;

    assert_int_equal(lw_edm_builder_new(KEY, opts, &bl, err, errlen), LW_OK);
    rc = lw_edm_builder_add_csv(bl, "bad.csv", (const uint8_t *)csv, strlen(csv), false, err,
                                errlen);
    lw_edm_builder_free(bl);
    return rc;
}

static bool look(const lw_edm *e, const char *kind, const char *v, lw_edm_hit *hit)
{
    lw_edm_hit h = {UINT32_MAX, false};
    bool r = lw_edm_lookup(e, kind, v, strlen(v), &h);

    if (hit != NULL)
        *hit = h;
    return r;
}

/* Failure messages carry the kind and the test line, not the value. */
#define HIT(e, kind, v)                                                                            \
    do {                                                                                           \
        if (!look(e, kind, v, NULL))                                                               \
            fail_msg("line %d: expected a %s hit", __LINE__, kind);                                \
    } while (0)
#define MISS(e, kind, v)                                                                           \
    do {                                                                                           \
        if (look(e, kind, v, NULL))                                                                \
            fail_msg("line %d: expected a %s miss", __LINE__, kind);                               \
    } while (0)

static void expect_open_err(const uint8_t *d, size_t len, const uint8_t *key, const char *want)
{
    lw_edm *e = NULL;
    char err[256] = "";

    assert_int_not_equal(lw_edm_open_mem(d, len, key, &e, err, sizeof(err)), LW_OK);
    assert_null(e);
    if (strstr(err, want) == NULL)
        fail_msg("open error '%s' does not say '%s'", err, want);
}

/* ---- lookups -------------------------------------------------------------- */

static void test_lookup_hits_each_kind(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    HIT(b.e, "email", "bo@example.com");
    HIT(b.e, "phone", "+12125550199");
    HIT(b.e, "credit_card", "4111111111111111");
    HIT(b.e, "credit_card", "5555555555554444");
    HIT(b.e, "ssn", "536221234");
    HIT(b.e, "iban", "GB82WEST12345698765432");
    HIT(b.e, "iban", "DE89370400440532013000");
    unbuild(&b);
}

static void test_lookup_misses(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    MISS(b.e, "email", "nobody@example.com");
    MISS(b.e, "phone", "+14155550133");
    MISS(b.e, "credit_card", "378282246310005");
    MISS(b.e, "ssn", "536221236");
    MISS(b.e, "iban", "GB33BUKB20201555555555");
    /* Unnormalised forms are not what the sensor asks with. */
    MISS(b.e, "email", "A@B.COM");
    MISS(b.e, "phone", "(415) 555-0132");
    MISS(b.e, "email", "");
    assert_false(lw_edm_lookup(b.e, "email", NULL, 0, NULL));
    unbuild(&b);
}

static void test_lookup_kind_is_part_of_the_key(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    MISS(b.e, "ssn", "4111111111111111");     /* a card asked as another kind */
    MISS(b.e, "account_number", "536221234"); /* a kind the index does not hold */
    MISS(b.e, "", "536221234");
    unbuild(&b);
}

static void test_same_record_for_a_row(void **state)
{
    built b;
    lw_edm_hit h1, h2, h3;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    assert_true(look(b.e, "email", "a@b.com", &h1));
    assert_true(look(b.e, "phone", "+14155550132", &h2));
    assert_true(look(b.e, "iban", "GB82WEST12345698765432", &h3));
    assert_int_equal(h1.record, 0);
    assert_int_equal(h2.record, 0);
    assert_int_equal(h3.record, 0);
    assert_true(look(b.e, "email", "bo@example.com", &h1));
    assert_true(look(b.e, "ssn", "536221235", &h2));
    assert_int_equal(h1.record, 1);
    assert_int_equal(h2.record, 1);
    unbuild(&b);
}

static void test_normalisation_matches_the_sensor(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    HIT(b.e, "email", "a@b.com");                /* "A@B.COM" in the CSV */
    HIT(b.e, "phone", "+14155550132");           /* "(415) 555-0132" */
    HIT(b.e, "credit_card", "4111111111111111"); /* grouped by spaces */
    HIT(b.e, "iban", "GB82WEST12345698765432");  /* grouped by spaces */
    unbuild(&b);
}

static void test_invalid_values_skipped_and_counted(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    MISS(b.e, "email", "not-an-email");
    MISS(b.e, "credit_card", "4111111111111112"); /* fails Luhn */
    MISS(b.e, "ssn", "000000000");
    assert_int_equal(b.rep.kinds, 5);
    for (size_t k = 0; k < b.rep.kinds; k++) {
        assert_int_equal(b.rep.values[k], 2);
        assert_int_equal(b.rep.rejected[k], 1);
    }
    assert_int_equal(b.rep.rows, 3);
    assert_int_equal(b.rep.entries, 10);
    unbuild(&b);
}

static void test_empty_cells_are_not_rejects(void **state)
{
    built b;
    (void)state;
    build(&b, "email,phone\na@example.com,\n,+14155550132\n", NULL);
    assert_int_equal(b.rep.rejected[0], 0);
    assert_int_equal(b.rep.rejected[1], 0);
    assert_int_equal(b.rep.entries, 2);
    unbuild(&b);
}

/* ---- canaries ------------------------------------------------------------- */

static void test_canary_flag_and_label(void **state)
{
    lw_edm_build_opts o = {.canary_column = "honeypot", .label_column = "TAG"};
    built b;
    lw_edm_hit h;
    (void)state;
    build(&b, CUSTOMERS, &o);
    assert_true(look(b.e, "email", "bo@example.com", &h));
    assert_true(h.canary);
    assert_int_equal(h.record, 1);
    assert_string_equal(lw_edm_label(b.e, 1), "trap one");
    assert_true(look(b.e, "email", "a@b.com", &h));
    assert_false(h.canary);
    assert_string_equal(lw_edm_label(b.e, 0), "");
    assert_string_equal(lw_edm_label(b.e, 99), "");
    assert_int_equal(b.rep.canaries, 1);
    unbuild(&b);
}

static void test_canary_truthy_values_and_default_label(void **state)
{
    static const char csv[] = "email,c\n"
                              "r0@example.com,1\n"
                              "r1@example.com, YES \n"
                              "r2@example.com,true\n"
                              "r3@example.com,Y\n"
                              "r4@example.com,x\n"
                              "r5@example.com,no\n"
                              "r6@example.com,0\n"
                              "r7@example.com,\n"
                              "r8@example.com,yess\n";
    lw_edm_build_opts o = {.canary_column = "c"};
    built b;
    lw_edm_hit h;
    char v[32];
    (void)state;
    build(&b, csv, &o);
    for (int i = 0; i <= 8; i++) {
        snprintf(v, sizeof(v), "r%d@example.com", i);
        assert_true(look(b.e, "email", v, &h));
        assert_int_equal(h.record, i);
        assert_int_equal(h.canary, i <= 4);
    }
    assert_string_equal(lw_edm_label(b.e, 3), "row 4"); /* 1-based data row */
    assert_int_equal(b.rep.canaries, 5);
    unbuild(&b);
}

static void test_canaries_file(void **state)
{
    built b;
    lw_edm_hit h;
    lw_edm_info info;
    (void)state;
    build2(&b, "email\nreal@example.com\n", "email\nbait@example.net\nbait2@example.net\n", NULL);
    assert_true(look(b.e, "email", "real@example.com", &h));
    assert_false(h.canary);
    assert_true(look(b.e, "email", "bait2@example.net", &h));
    assert_true(h.canary);
    assert_int_equal(h.record, 2); /* numbering continues over files */
    assert_string_equal(lw_edm_label(b.e, 1), "canaries row 1");
    assert_string_equal(lw_edm_label(b.e, 2), "canaries row 2");
    lw_edm_stats(b.e, &info);
    assert_int_equal(info.canaries, 2);
    assert_int_equal(info.records, 3);
    unbuild(&b);
}

static void test_label_made_printable_and_cut(void **state)
{
    char csv[600];
    char longlab[300];
    lw_edm_build_opts o = {.canary_column = "c", .label_column = "l"};
    built b;
    (void)state;
    memset(longlab, 'L', sizeof(longlab) - 1);
    longlab[sizeof(longlab) - 1] = '\0';
    snprintf(csv, sizeof(csv), "email,c,l\na@example.com,1,\"tab\there\"\nb@example.com,1,%s\n",
             longlab);
    build(&b, csv, &o);
    assert_string_equal(lw_edm_label(b.e, 0), "tab?here");
    assert_int_equal(strlen(lw_edm_label(b.e, 1)), LW_EDM_LABEL_MAX - 1);
    unbuild(&b);
}

static void test_duplicate_keeps_first_row(void **state)
{
    lw_edm_build_opts o = {.canary_column = "c"};
    built b;
    lw_edm_hit h;
    (void)state;
    build(&b, "email,c\nsame@example.com,\nother@example.com,\nSAME@example.com,1\n", &o);
    assert_true(look(b.e, "email", "same@example.com", &h));
    assert_int_equal(h.record, 0);
    assert_false(h.canary);
    assert_int_equal(b.rep.duplicates, 1);
    assert_int_equal(b.rep.entries, 2);
    unbuild(&b);
}

static void test_no_duplicates_counted_for_distinct_values(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    assert_int_equal(b.rep.duplicates, 0);
    unbuild(&b);
}

/* ---- columns -------------------------------------------------------------- */

static void test_site_kind_by_column(void **state)
{
    lw_edm_column cols[] = {{"acct", "account_number", NULL}, {"Mail", "email", NULL}};
    lw_edm_build_opts o = {.columns = cols, .ncolumns = 2};
    built b;
    lw_edm_hit h;
    lw_edm_info info;
    (void)state;
    build(&b, "acct,mail,phone\nAC-0001,a@example.com,+14155550132\nAC-0002,,\n", &o);
    assert_true(look(b.e, "account_number", "AC-0002", &h));
    assert_int_equal(h.record, 1);
    HIT(b.e, "account_number", "AC-0001");
    MISS(b.e, "account_number", "ac-0001"); /* normaliser none: bytes as they are */
    HIT(b.e, "email", "a@example.com");
    MISS(b.e, "phone", "+14155550132"); /* not named, so not indexed */
    lw_edm_stats(b.e, &info);
    assert_int_equal(info.kinds, 2);
    assert_string_equal(info.kind_names[0], "account_number");
    assert_int_equal(info.entries_per_kind[0], 2);
    assert_int_equal(info.entries_per_kind[1], 1);
    unbuild(&b);
}

static void test_site_kind_with_normaliser(void **state)
{
    lw_edm_column cols[] = {{"acct", "account_number", "upper"}};
    lw_edm_build_opts o = {.columns = cols, .ncolumns = 1};
    built b;
    (void)state;
    build(&b, "acct\nac-0001\n", &o);
    HIT(b.e, "account_number", "AC-0001"); /* as a signature with normaliser upper finds it */
    MISS(b.e, "account_number", "ac-0001");
    unbuild(&b);
}

static void test_column_normaliser_refused(void **state)
{
    lw_edm_column builtin[] = {{"mail", "email", "upper"}};
    lw_edm_column unknown[] = {{"acct", "account_number", "rot13"}};
    lw_edm_build_opts o1 = {.columns = builtin, .ncolumns = 1};
    lw_edm_build_opts o2 = {.columns = unknown, .ncolumns = 1};
    lw_edm_builder *bl = NULL;
    char err[256];
    (void)state;
    assert_int_equal(lw_edm_builder_new(KEY, &o1, &bl, err, sizeof(err)), LW_ERR_INVAL);
    assert_non_null(strstr(err, "for site kinds"));
    assert_int_equal(lw_edm_builder_new(KEY, &o2, &bl, err, sizeof(err)), LW_ERR_INVAL);
    assert_non_null(strstr(err, "unknown normaliser"));
    assert_null(bl);
}

static void test_bad_column_kind_refused(void **state)
{
    lw_edm_column cols[] = {{"acct", "Account Number", NULL}};
    lw_edm_build_opts o = {.columns = cols, .ncolumns = 1};
    lw_edm_builder *bl = NULL;
    char err[256];
    (void)state;
    assert_int_equal(lw_edm_builder_new(KEY, &o, &bl, err, sizeof(err)), LW_ERR_INVAL);
    assert_null(bl);
}

static void test_detect_kind(void **state)
{
    static const char *const yes[][2] = {
        {"Email", "email"},
        {"E-Mail Address", "email"},
        {"mail", "email"},
        {"PHONE", "phone"},
        {"mobile_no", "phone"},
        {"tel", "phone"},
        {"Cell", "phone"},
        {"home tel", "phone"},
        {"card_number", "credit_card"},
        {"CC_NUMBER", "credit_card"},
        {"pan", "credit_card"},
        {"SSN", "ssn"},
        {"social_security", "ssn"},
        {"IBAN", "iban"},
    };
    static const char *const no[] = {"Company", "hotel", "cancellation", "classname",
                                     "name",    "",      "address",      "expand"};
    (void)state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        const char *k = lw_edm_detect_kind(yes[i][0]);
        if (k == NULL || strcmp(k, yes[i][1]) != 0)
            fail_msg("header '%s' not detected as %s", yes[i][0], yes[i][1]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (lw_edm_detect_kind(no[i]) != NULL)
            fail_msg("header '%s' detected", no[i]);
    assert_null(lw_edm_detect_kind(NULL));
}

static void test_header_errors(void **state)
{
    lw_edm_column cols[] = {{"missing", "email", NULL}};
    lw_edm_build_opts named = {.columns = cols, .ncolumns = 1};
    lw_edm_build_opts canary = {.canary_column = "nope"};
    lw_edm_build_opts label = {.label_column = "nope"};
    char err[256];
    (void)state;
    assert_int_equal(build_err("", NULL, err, sizeof(err)), LW_ERR_PARSE);
    assert_non_null(strstr(err, "bad.csv:1: no header row"));
    assert_int_equal(build_err("\n\nname,city\nx,y\n", NULL, err, sizeof(err)), LW_ERR_PARSE);
    assert_non_null(strstr(err, "bad.csv:3: no column looks like"));
    assert_int_equal(build_err("email\n", &named, err, sizeof(err)), LW_ERR_PARSE);
    assert_non_null(strstr(err, "no column 'missing'"));
    assert_int_equal(build_err("email\n", &canary, err, sizeof(err)), LW_ERR_PARSE);
    assert_non_null(strstr(err, "no canary column"));
    assert_int_equal(build_err("email\n", &label, err, sizeof(err)), LW_ERR_PARSE);
    assert_non_null(strstr(err, "no label column"));
    assert_int_equal(build_err("\"email\" x,phone\n", NULL, err, sizeof(err)), LW_ERR_PARSE);
    assert_non_null(strstr(err, "bad.csv:1: header row is malformed"));
}

/* ---- CSV grammar ---------------------------------------------------------- */

static void test_csv_quotes_commas_newlines(void **state)
{
    static const char csv[] = "name,email,phone\r\n"
                              "\"Doe, Jane\",\"a@example.com\",\"+1 415\n555 0132\"\r\n"
                              "\"say \"\"hi\"\"\",  \"b@example.com\"  ,\r\n"
                              "\"multi\r\nline\",c@example.com,\n";
    built b;
    lw_edm_hit h;
    (void)state;
    build(&b, csv, NULL);
    assert_int_equal(b.rep.rows, 3);
    assert_int_equal(b.rep.rows_malformed + b.rep.rows_bad_fields + b.rep.rows_too_long, 0);
    assert_true(look(b.e, "email", "a@example.com", &h));
    assert_int_equal(h.record, 0);
    /* A newline inside quotes is data; it makes this phone invalid. */
    MISS(b.e, "phone", "+14155550132");
    assert_int_equal(b.rep.rejected[1], 1);
    assert_true(look(b.e, "email", "b@example.com", &h));
    assert_int_equal(h.record, 1);
    assert_true(look(b.e, "email", "c@example.com", &h));
    assert_int_equal(h.record, 2);
    unbuild(&b);
}

static void test_csv_lf_crlf_bom_blank_lines(void **state)
{
    static const char csv[] = "\xef\xbb\xbf"
                              "Email\n\n"
                              "a@example.com\r\n"
                              "   \n"
                              "b@example.com"; /* no final newline */
    /* Named, so a byte order mark left in the header would not match. */
    lw_edm_column cols[] = {{"email", "email", NULL}};
    lw_edm_build_opts o = {.columns = cols, .ncolumns = 1};
    built b;
    lw_edm_hit h;
    (void)state;
    build(&b, csv, &o);
    assert_int_equal(b.rep.rows, 2);
    assert_true(look(b.e, "email", "b@example.com", &h));
    assert_int_equal(h.record, 1);
    HIT(b.e, "email", "a@example.com");
    unbuild(&b);
}

static void test_csv_lone_cr_is_data(void **state)
{
    built b;
    (void)state;
    build(&b, "email,x\na@exa\rmple.com,1\r", NULL);
    assert_int_equal(b.rep.rows, 1);
    assert_int_equal(b.rep.rejected[0], 1); /* the CR stayed in the value */
    unbuild(&b);
}

static void test_csv_rows_malformed(void **state)
{
    built b;
    (void)state;
    /* Text after a closing quote (line 3), then an unterminated quote (line 4). */
    build(&b, "email,x\na@example.com,1\n\"b@example.com\"junk,1\n\"c@example.com,1\n", NULL);
    assert_int_equal(b.rep.rows, 3);
    assert_int_equal(b.rep.rows_malformed, 2);
    assert_int_equal(b.rep.first_rejected_line, 3);
    assert_string_equal(b.rep.first_rejected_file, "t.csv");
    HIT(b.e, "email", "a@example.com");
    MISS(b.e, "email", "b@example.com");
    unbuild(&b);
}

static void test_csv_rows_bad_fields(void **state)
{
    built b;
    lw_edm_hit h;
    (void)state;
    build(&b, "email,x\n\"multi\nline\",1,extra\nb@example.com,1\n", NULL);
    assert_int_equal(b.rep.rows_bad_fields, 1);
    assert_int_equal(b.rep.first_rejected_line, 2);
    /* The rejected row keeps its record number. */
    assert_true(look(b.e, "email", "b@example.com", &h));
    assert_int_equal(h.record, 1);
    assert_int_equal(b.rep.records, 2);
    unbuild(&b);
}

static void test_csv_rows_too_long(void **state)
{
    lw_edm_build_opts line = {.max_line = 32};
    lw_edm_build_opts field = {.max_field = 16};
    built b;
    (void)state;
    /* An unterminated quote costs one max_line, then the parser resyncs. */
    build(&b, "email\n\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb@example.com\n", &line);
    assert_int_equal(b.rep.rows_too_long, 1);
    assert_int_equal(b.rep.first_rejected_line, 2);
    HIT(b.e, "email", "b@example.com");
    unbuild(&b);
    build(&b, "email,x\nlong-address@example.com,1\nb@example.com,1\n", &field);
    assert_int_equal(b.rep.rows_too_long, 1);
    MISS(b.e, "email", "long-address@example.com");
    HIT(b.e, "email", "b@example.com");
    unbuild(&b);
}

static void test_csv_value_too_long_for_a_value(void **state)
{
    lw_edm_column cols[] = {{"acct", "account_number", NULL}};
    lw_edm_build_opts o = {.columns = cols, .ncolumns = 1};
    char csv[700];
    built b;
    (void)state;
    strcpy(csv, "acct\n");
    memset(csv + 5, 'A', 400);
    strcpy(csv + 405, "\n");
    build(&b, csv, &o);
    assert_int_equal(b.rep.rejected[0], 1);
    assert_int_equal(b.rep.entries, 0);
    unbuild(&b);
}

static void test_builder_cap(void **state)
{
    lw_edm_build_opts o = {.max_entries = 2};
    lw_edm_builder *bl = NULL;
    static const char csv[] = "email\na@example.com\nb@example.com\nc@example.com\n";
    char err[256];
    (void)state;
    assert_int_equal(lw_edm_builder_new(KEY, &o, &bl, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_add_csv(bl, "cap.csv", (const uint8_t *)csv, strlen(csv), false,
                                            err, sizeof(err)),
                     LW_ERR_CAP);
    assert_non_null(strstr(err, "cap.csv:4:"));
    lw_edm_builder_free(bl);
}

/* ---- loading -------------------------------------------------------------- */

static void test_wrong_key(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    expect_open_err(b.data, b.len, KEY2, "wrong key");
    unbuild(&b);
}

static void test_open_without_key(void **state)
{
    built b;
    lw_edm *e = NULL;
    lw_edm_info info;
    char err[256];
    (void)state;
    build(&b, CUSTOMERS, NULL);
    assert_int_equal(lw_edm_open_mem(b.data, b.len, NULL, &e, err, sizeof(err)), LW_OK);
    MISS(e, "email", "a@b.com"); /* no key, no lookups */
    assert_true(lw_edm_key_matches(e, KEY));
    assert_false(lw_edm_key_matches(e, KEY2));
    lw_edm_stats(e, &info);
    assert_int_equal(info.entries, 10);
    lw_edm_close(e);
    unbuild(&b);
}

static void test_checksum_mismatch_body_and_header(void **state)
{
    built b;
    size_t spots[] = {LW_EDMF_HEADER_SIZE, LW_EDMF_HEADER_SIZE + 17, 0, 1, 2};
    (void)state;
    build(&b, CUSTOMERS, NULL);
    spots[2] = b.len - 1;                  /* last label byte */
    spots[3] = LW_EDMF_OFF_RECORDS;        /* a header count */
    spots[4] = LW_EDMF_OFF_KIND_NAMES + 1; /* a kind name */
    for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
        b.data[spots[i]] ^= 0x01;
        expect_open_err(b.data, b.len, KEY, "checksum mismatch");
        b.data[spots[i]] ^= 0x01;
    }
    unbuild(&b);
}

static void test_truncated(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    expect_open_err(b.data, b.len - 1, KEY, "truncated");
    expect_open_err(b.data, b.len / 2, KEY, "truncated");
    expect_open_err(b.data, LW_EDMF_HEADER_SIZE - 1, KEY, "truncated");
    expect_open_err(b.data, 10, KEY, "truncated");
    expect_open_err(b.data, 3, KEY, "truncated");
    expect_open_err(NULL, 0, KEY, "truncated");
    unbuild(&b);
}

static void test_trailing_bytes(void **state)
{
    built b;
    uint8_t *big;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    big = calloc(1, b.len + 4);
    assert_non_null(big);
    memcpy(big, b.data, b.len);
    expect_open_err(big, b.len + 4, KEY, "after the end");
    free(big);
    unbuild(&b);
}

static void test_bad_magic(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    b.data[0] = 'X';
    expect_open_err(b.data, b.len, KEY, "bad magic");
    b.data[0] = 'L';
    b.data[6] = '\n'; /* "\r\n" turned into "\n\n" */
    expect_open_err(b.data, b.len, KEY, "bad magic");
    unbuild(&b);
}

static void test_future_version(void **state)
{
    built b;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    lw_edmf_put32(b.data + LW_EDMF_OFF_VERSION, 7);
    expect_open_err(b.data, b.len, KEY, "version 7 not supported");
    unbuild(&b);
}

/* Structural checks behind a valid checksum: a crafted file. */
static void reseal(built *b)
{
    lw_edmf_checksum(b->data, b->len, b->data + LW_EDMF_OFF_CHECKSUM);
}

static void test_crafted_entries_out_of_order(void **state)
{
    built b;
    uint8_t tmp[LW_EDMF_ENTRY_SIZE];
    uint8_t *e0;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    e0 = b.data + LW_EDMF_HEADER_SIZE;
    memcpy(tmp, e0, sizeof(tmp));
    memcpy(e0, e0 + LW_EDMF_ENTRY_SIZE, sizeof(tmp));
    memcpy(e0 + LW_EDMF_ENTRY_SIZE, tmp, sizeof(tmp));
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "out of order");
    unbuild(&b);
}

static void test_crafted_fields_out_of_range(void **state)
{
    built b;
    uint8_t *e0;
    (void)state;
    build(&b, CUSTOMERS, NULL);
    e0 = b.data + LW_EDMF_HEADER_SIZE;
    e0[20] = 9; /* kind beyond the kind table */
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "corrupt: entry 0");
    e0[20] = 0;
    lw_edmf_put32(e0 + 16, 1000); /* record beyond records */
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "corrupt: entry 0");
    lw_edmf_put32(e0 + 16, 0);
    e0[21] = LW_EDMF_CANARY; /* a canary without a label */
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "no label");
    e0[21] = 0;
    lw_edmf_put64(b.data + LW_EDMF_OFF_ENTRIES, 1000); /* sections no longer add up */
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "section offsets");
    unbuild(&b);
}

static void test_crafted_label_without_nul(void **state)
{
    lw_edm_build_opts o = {.canary_column = "honeypot", .label_column = "tag"};
    built b;
    (void)state;
    build(&b, CUSTOMERS, &o);
    b.data[b.len - 1] = 'x'; /* the label's terminating NUL */
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "corrupt: label 0");
    unbuild(&b);
}

static void test_crafted_empty_label(void **state)
{
    lw_edm_build_opts o = {.canary_column = "honeypot", .label_column = "tag"};
    built b;
    uint8_t *lrec;
    (void)state;
    build(&b, CUSTOMERS, &o);
    lrec = b.data + lw_edmf_le64(b.data + LW_EDMF_OFF_LABELS_OFF) + 8;
    lw_edmf_put32(lrec + 8, 0); /* label 0 has length 0: a canary without a name */
    reseal(&b);
    expect_open_err(b.data, b.len, KEY, "corrupt: label 0");
    unbuild(&b);
}

static void test_stats(void **state)
{
    lw_edm_build_opts o = {.canary_column = "honeypot"};
    built b;
    lw_edm_info info;
    (void)state;
    build(&b, CUSTOMERS, &o);
    lw_edm_stats(b.e, &info);
    assert_int_equal(info.version, LW_EDM_VERSION);
    assert_int_equal(info.records, 3);
    assert_int_equal(info.entries, 10);
    assert_int_equal(info.canaries, 1);
    assert_int_equal(info.kinds, 5);
    assert_string_equal(info.kind_names[0], "email");
    assert_string_equal(info.kind_names[4], "iban");
    for (size_t k = 0; k < info.kinds; k++)
        assert_int_equal(info.entries_per_kind[k], 2);
    unbuild(&b);
}

static void test_empty_index_opens(void **state)
{
    built b;
    lw_edm_info info;
    (void)state;
    build(&b, "email\n", NULL);
    lw_edm_stats(b.e, &info);
    assert_int_equal(info.entries, 0);
    assert_int_equal(info.records, 0);
    MISS(b.e, "email", "a@example.com");
    unbuild(&b);
}

static void test_hash_separates_kind_and_value(void **state)
{
    uint8_t a[LW_EDM_HASH_BYTES], c[LW_EDM_HASH_BYTES];
    (void)state;
    lw_edm_hash(KEY, "ab", "c", 1, a);
    lw_edm_hash(KEY, "a", "bc", 2, c);
    assert_memory_not_equal(a, c, sizeof(a));
    lw_edm_hash(KEY2, "ab", "c", 1, c);
    assert_memory_not_equal(a, c, sizeof(a));
    lw_edm_hash(KEY, "ab", "c", 1, c);
    assert_memory_equal(a, c, sizeof(a));
}

/* ---- files ---------------------------------------------------------------- */

typedef struct tmpdir {
    char dir[64];
    char path[128];
} tmpdir;

static int tmp_setup(void **state)
{
    tmpdir *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    strcpy(t->dir, "/tmp/lw_test_edm.XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    tmpdir *t = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        return -1;
    free(t);
    return 0;
}

static const char *tpath(tmpdir *t, const char *name)
{
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
    return t->path;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_key_generate_and_load(void **state)
{
    tmpdir *t = *state;
    uint8_t k1[LW_EDM_KEY_BYTES], k2[LW_EDM_KEY_BYTES];
    struct stat st;
    char err[256];

    assert_int_equal(lw_edm_key_generate(tpath(t, "a.key"), err, sizeof(err)), LW_OK);
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(lw_edm_key_load(t->path, k1, err, sizeof(err)), LW_OK);
    /* It refuses to overwrite. */
    assert_int_not_equal(lw_edm_key_generate(t->path, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_key_load(t->path, k2, err, sizeof(err)), LW_OK);
    assert_memory_equal(k1, k2, sizeof(k1));
    assert_int_equal(lw_edm_key_generate(tpath(t, "b.key"), err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_key_load(t->path, k2, err, sizeof(err)), LW_OK);
    assert_memory_not_equal(k1, k2, sizeof(k1));
}

static void test_key_file_modes(void **state)
{
    static const char hex[] = "000102030405060708090a0b0c0d0e0f"
                              "101112131415161718191A1B1C1D1E1F\n";
    tmpdir *t = *state;
    uint8_t k[LW_EDM_KEY_BYTES];
    char err[256];

    write_text(tpath(t, "m.key"), hex, 0600);
    assert_int_equal(lw_edm_key_load(t->path, k, err, sizeof(err)), LW_OK);
    assert_memory_equal(k, KEY, sizeof(k));
    assert_int_equal(chmod(t->path, 0400), 0);
    assert_int_equal(lw_edm_key_load(t->path, k, err, sizeof(err)), LW_OK);
    assert_int_equal(chmod(t->path, 0644), 0);
    assert_int_not_equal(lw_edm_key_load(t->path, k, err, sizeof(err)), LW_OK);
    assert_non_null(strstr(err, "mode 0644"));
    assert_int_equal(chmod(t->path, 0640), 0);
    assert_int_not_equal(lw_edm_key_load(t->path, k, err, sizeof(err)), LW_OK);
    assert_int_equal(chmod(t->path, 0602), 0);
    assert_int_not_equal(lw_edm_key_load(t->path, k, err, sizeof(err)), LW_OK);
    /* The message never carries key material. */
    assert_null(strstr(err, "0001020304"));
}

static void test_key_file_contents(void **state)
{
    tmpdir *t = *state;
    uint8_t k[LW_EDM_KEY_BYTES];
    char err[256];
    static const char *const bad[] = {
        "",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   /* 63 */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0", /* 65 */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",  /* not hex */
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
        " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(tpath(t, "c.key"), bad[i], 0600);
        if (lw_edm_key_load(t->path, k, err, sizeof(err)) == LW_OK)
            fail_msg("bad key file %zu accepted", i);
        assert_non_null(strstr(err, "not a key file"));
    }
    write_text(tpath(t, "c.key"),
               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n", 0600);
    assert_int_equal(lw_edm_key_load(t->path, k, err, sizeof(err)), LW_OK);
    assert_memory_equal(k, KEY, sizeof(k));
    assert_int_not_equal(lw_edm_key_load(tpath(t, "absent.key"), k, err, sizeof(err)), LW_OK);
}

static void test_file_build_write_open(void **state)
{
    tmpdir *t = *state;
    char csvp[128], idxp[128], err[256];
    lw_edm_builder *bl = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    lw_edm *e = NULL;
    struct stat st;

    snprintf(csvp, sizeof(csvp), "%s", tpath(t, "c.csv"));
    snprintf(idxp, sizeof(idxp), "%s", tpath(t, "c.edm"));
    write_text(csvp, CUSTOMERS, 0600);
    assert_int_equal(lw_edm_builder_new(KEY, NULL, &bl, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_add_file(bl, csvp, false, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_finish(bl, &data, &len, err, sizeof(err)), LW_OK);
    free(data);
    /* A second finish is refused. */
    assert_int_not_equal(lw_edm_builder_finish(bl, &data, &len, err, sizeof(err)), LW_OK);
    assert_null(data);
    lw_edm_builder_free(bl);
    assert_int_equal(lw_edm_builder_new(KEY, NULL, &bl, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_add_file(bl, csvp, false, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_finish(bl, &data, &len, err, sizeof(err)), LW_OK);
    lw_edm_builder_free(bl);
    write_text(idxp, "old index", 0644);
    assert_int_equal(lw_edm_write_file(idxp, data, len, err, sizeof(err)), LW_OK);
    free(data);
    assert_int_equal(stat(idxp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(lw_edm_open(idxp, KEY, &e, err, sizeof(err)), LW_OK);
    HIT(e, "email", "a@b.com");
    HIT(e, "phone", "+12125550199");
    lw_edm_close(e);
    assert_int_not_equal(lw_edm_open(idxp, KEY2, &e, err, sizeof(err)), LW_OK);
    assert_non_null(strstr(err, "wrong key"));
    assert_non_null(strstr(err, idxp));
    assert_int_not_equal(lw_edm_open(csvp, KEY, &e, err, sizeof(err)), LW_OK);
    assert_non_null(strstr(err, "bad magic"));
    write_text(idxp, "LWEDM", 0644);
    assert_int_not_equal(lw_edm_open(idxp, KEY, &e, err, sizeof(err)), LW_OK);
    assert_non_null(strstr(err, "truncated"));
    assert_int_not_equal(lw_edm_open(tpath(t, "absent.edm"), KEY, &e, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_edm_builder_new(KEY, NULL, &bl, err, sizeof(err)), LW_OK);
    assert_int_not_equal(
        lw_edm_builder_add_file(bl, tpath(t, "absent.csv"), false, err, sizeof(err)), LW_OK);
    lw_edm_builder_free(bl);
}

/* The file path reads 1 MiB blocks: a CRLF split across two blocks must
 * still end the record (the CR is not left in the value). */
static void test_file_crlf_across_blocks(void **state)
{
    static const char head[] = "pad,email\r\n", tail[] = ",a@example.com";
    lw_edm_build_opts o = {.max_line = 2u << 20, .max_field = 2u << 20};
    tmpdir *t = *state;
    size_t cr = (1u << 20) - 1, pad = cr - (sizeof(head) - 1) - (sizeof(tail) - 1);
    size_t len = cr + 2 + strlen("x,b@example.com\r\n");
    char *csv = malloc(len + 1);
    built b;

    assert_non_null(csv);
    memcpy(csv, head, sizeof(head) - 1);
    memset(csv + sizeof(head) - 1, 'p', pad);
    memcpy(csv + cr - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
    strcpy(csv + cr, "\r\nx,b@example.com\r\n");
    assert_int_equal(strlen(csv), len);
    write_text(tpath(t, "big.csv"), csv, 0600);
    free(csv);

    memset(&b, 0, sizeof(b));
    {
        lw_edm_builder *bl = NULL;
        char err[256];
        assert_int_equal(lw_edm_builder_new(KEY, &o, &bl, err, sizeof(err)), LW_OK);
        assert_int_equal(lw_edm_builder_add_file(bl, t->path, false, err, sizeof(err)), LW_OK);
        assert_int_equal(lw_edm_builder_finish(bl, &b.data, &b.len, err, sizeof(err)), LW_OK);
        lw_edm_builder_report(bl, &b.rep);
        lw_edm_builder_free(bl);
        assert_int_equal(lw_edm_open_mem(b.data, b.len, KEY, &b.e, err, sizeof(err)), LW_OK);
    }
    assert_int_equal(b.rep.rows, 2);
    assert_int_equal(b.rep.rejected[0], 0);
    HIT(b.e, "email", "a@example.com");
    HIT(b.e, "email", "b@example.com");
    unbuild(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_hits_each_kind),
        cmocka_unit_test(test_lookup_misses),
        cmocka_unit_test(test_lookup_kind_is_part_of_the_key),
        cmocka_unit_test(test_same_record_for_a_row),
        cmocka_unit_test(test_normalisation_matches_the_sensor),
        cmocka_unit_test(test_invalid_values_skipped_and_counted),
        cmocka_unit_test(test_empty_cells_are_not_rejects),
        cmocka_unit_test(test_canary_flag_and_label),
        cmocka_unit_test(test_canary_truthy_values_and_default_label),
        cmocka_unit_test(test_canaries_file),
        cmocka_unit_test(test_label_made_printable_and_cut),
        cmocka_unit_test(test_duplicate_keeps_first_row),
        cmocka_unit_test(test_no_duplicates_counted_for_distinct_values),
        cmocka_unit_test(test_site_kind_by_column),
        cmocka_unit_test(test_site_kind_with_normaliser),
        cmocka_unit_test(test_column_normaliser_refused),
        cmocka_unit_test(test_bad_column_kind_refused),
        cmocka_unit_test(test_detect_kind),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_csv_quotes_commas_newlines),
        cmocka_unit_test(test_csv_lf_crlf_bom_blank_lines),
        cmocka_unit_test(test_csv_lone_cr_is_data),
        cmocka_unit_test(test_csv_rows_malformed),
        cmocka_unit_test(test_csv_rows_bad_fields),
        cmocka_unit_test(test_csv_rows_too_long),
        cmocka_unit_test(test_csv_value_too_long_for_a_value),
        cmocka_unit_test(test_builder_cap),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_open_without_key),
        cmocka_unit_test(test_checksum_mismatch_body_and_header),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_future_version),
        cmocka_unit_test(test_crafted_entries_out_of_order),
        cmocka_unit_test(test_crafted_fields_out_of_range),
        cmocka_unit_test(test_crafted_label_without_nul),
        cmocka_unit_test(test_crafted_empty_label),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_empty_index_opens),
        cmocka_unit_test(test_hash_separates_kind_and_value),
        cmocka_unit_test_setup_teardown(test_key_generate_and_load, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_modes, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_contents, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_file_build_write_open, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_file_crlf_across_blocks, tmp_setup, tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
