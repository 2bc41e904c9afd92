/*
 * test_dbcache.c - the compiled-database cache: keys, the file header,
 * hits and misses, what a stored database scans like, and every way a file
 * or directory is refused.
 *
 * Each test works in a fresh mkdtemp directory (mode 0700, ours) and
 * removes it. The patterns are plain words and digits, no PII. Tests that
 * need another owner (a file or directory owned by another uid, a
 * directory its owner cannot write) need root to chown, and skip without
 * it; the unwritable-directory case as root runs in a child that has
 * dropped to uid 65534, since root writes through any mode bits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <hs/hs.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leakwatch/dbcache.h"

#define OTHER_UID 65534u

static const char *const EXPRS[] = {"foo[0-9]{2,8}bar", "b(a|e)z\\b", "qu+x"};
static const unsigned int FLAGS[] = {0, HS_FLAG_CASELESS, HS_FLAG_SINGLEMATCH};
static const unsigned int IDS[] = {7, 11, 3};
#define NEXPR 3u

typedef struct fx {
    char dir[64];
    char file[192]; /* dir/<key>.hsdb of EXPRS in block mode */
    uint8_t key[LW_DBCACHE_KEY_BYTES];
    lw_dbcache_stats st;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (f == NULL || sodium_init() < 0)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/lw_dbcache_XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    if (lw_dbcache_key(EXPRS, FLAGS, IDS, NEXPR, HS_MODE_BLOCK, f->key) != LW_OK)
        return -1;
    char hex[2 * LW_DBCACHE_KEY_BYTES + 1];
    sodium_bin2hex(hex, sizeof(hex), f->key, sizeof(f->key));
    snprintf(f->file, sizeof(f->file), "%s/%s.hsdb", f->dir, hex);
    *state = f;
    return 0;
}

/* Removes the directory's entries (one level) and the directory. */
static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (rmdir(p) != 0)
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state)
{
    fx *f = *state;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/sub", f->dir);
    rm_tree(sub);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Compiles EXPRS through the cache in dir; asserts success. */
static hs_database_t *compile_in(const char *dir, unsigned int mode, lw_dbcache_stats *st)
{
    hs_database_t *db = NULL;
    hs_compile_error_t *cerr = NULL;
    assert_int_equal(lw_dbcache_compile(dir, EXPRS, FLAGS, IDS, NEXPR, mode, &db, &cerr, st),
                     HS_SUCCESS);
    assert_non_null(db);
    assert_null(cerr);
    return db;
}

static void compile_ok(fx *f)
{
    hs_free_database(compile_in(f->dir, HS_MODE_BLOCK, &f->st));
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *buf = malloc(LW_DBCACHE_HEADER_BYTES + LW_DBCACHE_MAX_BYTES);
    assert_non_null(buf);
    *len = fread(buf, 1, LW_DBCACHE_HEADER_BYTES + LW_DBCACHE_MAX_BYTES, fp);
    fclose(fp);
    return buf;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    close(fd);
}

/* The stored file is complete and belongs to the key. */
static void assert_file_valid(const fx *f)
{
    size_t len;
    const uint8_t *payload;
    size_t plen;
    uint8_t *buf = read_file(f->file, &len);
    assert_int_equal(lw_dbcache_parse(buf, len, f->key, &payload, &plen), LW_OK);
    assert_int_equal(plen + LW_DBCACHE_HEADER_BYTES, len);
    free(buf);
}

/* ------------------------------------------------------------- no cache */

static void test_no_cache_dir_is_plain_compile(void **state)
{
    fx *f = *state;
    hs_database_t *db = compile_in(NULL, HS_MODE_BLOCK, &f->st);
    hs_free_database(db);
    db = compile_in("", HS_MODE_BLOCK, &f->st);
    hs_free_database(db);
    assert_int_equal(f->st.hits + f->st.misses + f->st.stores + f->st.dir_ignored, 0);
    assert_string_equal(f->st.warning, "");
    assert_int_equal(count_entries(f->dir), 0);
}

/* --------------------------------------------------------- miss and hit */

static void test_miss_then_hit(void **state)
{
    fx *f = *state;
    struct stat sb;

    compile_ok(f);
    assert_int_equal(f->st.misses, 1);
    assert_int_equal(f->st.stores, 1);
    assert_int_equal(f->st.hits, 0);
    assert_int_equal(f->st.store_failed, 0);
    assert_int_equal(f->st.rejected, 0);
    assert_int_equal(f->st.dir_ignored, 0);
    assert_int_equal(stat(f->file, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(count_entries(f->dir), 1); /* no temporary file left */
    assert_file_valid(f);

    compile_ok(f);
    assert_int_equal(f->st.hits, 1);
    assert_int_equal(f->st.misses, 1); /* the second call did not compile */
    assert_int_equal(f->st.stores, 1);
    assert_string_equal(f->st.warning, "");
}

/* Stream and block databases of the same expressions are two files. */
static void test_modes_are_separate_files(void **state)
{
    fx *f = *state;
    hs_free_database(compile_in(f->dir, HS_MODE_BLOCK, &f->st));
    hs_free_database(compile_in(f->dir, HS_MODE_STREAM, &f->st));
    assert_int_equal(f->st.misses, 2);
    assert_int_equal(count_entries(f->dir), 2);
    hs_database_t *db = compile_in(f->dir, HS_MODE_STREAM, &f->st);
    assert_int_equal(f->st.hits, 1);
    size_t ss = 0;
    assert_int_equal(hs_stream_size(db, &ss), HS_SUCCESS); /* really a stream database */
    assert_true(ss > 0);
    hs_free_database(db);
}

static void test_missing_dir_is_created(void **state)
{
    fx *f = *state;
    char sub[128];
    struct stat sb;
    snprintf(sub, sizeof(sub), "%s/sub/", f->dir); /* a trailing slash is fine */
    hs_free_database(compile_in(sub, HS_MODE_BLOCK, &f->st));
    assert_int_equal(stat(sub, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(f->st.stores, 1);
    assert_int_equal(count_entries(sub), 1);
}

/* ------------------------------------------------------------- scanning */

typedef struct hits {
    unsigned n;
    unsigned id[32];
    unsigned long long to[32];
} hits;

static int on_hit(unsigned int id, unsigned long long from, unsigned long long to,
                  unsigned int flags, void *ctx)
{
    (void)from;
    (void)flags;
    hits *h = ctx;
    if (h->n < 32) {
        h->id[h->n] = id;
        h->to[h->n] = to;
        h->n++;
    }
    return 0;
}

static hits scan(const hs_database_t *db, const char *text)
{
    hs_scratch_t *s = NULL;
    hits h;
    memset(&h, 0, sizeof(h));
    assert_int_equal(hs_alloc_scratch(db, &s), HS_SUCCESS);
    assert_int_equal(hs_scan(db, text, (unsigned)strlen(text), 0, s, on_hit, &h), HS_SUCCESS);
    hs_free_scratch(s);
    return h;
}

static void test_cached_scans_like_fresh(void **state)
{
    fx *f = *state;
    const char *text = "xx foo123bar BEZ baz quux quuux foo1bar foo99999999bar";
    hs_database_t *fresh = NULL;
    hs_compile_error_t *cerr = NULL;

    assert_int_equal(hs_compile_multi(EXPRS, FLAGS, IDS, NEXPR, HS_MODE_BLOCK, NULL, &fresh, &cerr),
                     HS_SUCCESS);
    compile_ok(f);
    hs_database_t *cached = compile_in(f->dir, HS_MODE_BLOCK, &f->st);
    assert_int_equal(f->st.hits, 1);

    hits a = scan(fresh, text), b = scan(cached, text);
    assert_int_equal(a.n, 5); /* foo123bar, BEZ, baz, quux (single match), foo99999999bar */
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.id, b.id, sizeof(a.id));
    assert_memory_equal(a.to, b.to, sizeof(a.to));
    hs_free_database(fresh);
    hs_free_database(cached);
}

/* ------------------------------------------------------------------ key */

static void key_of(const char *const *e, const unsigned *fl, const unsigned *id, unsigned n,
                   unsigned mode, uint8_t *k)
{
    assert_int_equal(lw_dbcache_key(e, fl, id, n, mode, k), LW_OK);
}

static void test_key_changes_with_every_input(void **state)
{
    (void)state;
    uint8_t base[32], again[32], k[32];
    key_of(EXPRS, FLAGS, IDS, NEXPR, HS_MODE_BLOCK, base);
    key_of(EXPRS, FLAGS, IDS, NEXPR, HS_MODE_BLOCK, again);
    assert_memory_equal(base, again, 32); /* deterministic */

    const char *e2[] = {"foo[0-9]{2,8}bar", "b(a|e)z\\b", "qu+y"};
    key_of(e2, FLAGS, IDS, NEXPR, HS_MODE_BLOCK, k);
    assert_memory_not_equal(base, k, 32);
    const unsigned fl2[] = {0, HS_FLAG_CASELESS, 0};
    key_of(EXPRS, fl2, IDS, NEXPR, HS_MODE_BLOCK, k);
    assert_memory_not_equal(base, k, 32);
    const unsigned id2[] = {7, 11, 4};
    key_of(EXPRS, FLAGS, id2, NEXPR, HS_MODE_BLOCK, k);
    assert_memory_not_equal(base, k, 32);
    key_of(EXPRS, FLAGS, IDS, NEXPR, HS_MODE_STREAM, k);
    assert_memory_not_equal(base, k, 32);
    key_of(EXPRS, FLAGS, IDS, NEXPR - 1, HS_MODE_BLOCK, k);
    assert_memory_not_equal(base, k, 32);
    /* reordering the expressions is another database (ids go with them) */
    const char *e3[] = {"b(a|e)z\\b", "foo[0-9]{2,8}bar", "qu+x"};
    const unsigned fl3[] = {HS_FLAG_CASELESS, 0, HS_FLAG_SINGLEMATCH};
    key_of(e3, fl3, IDS, NEXPR, HS_MODE_BLOCK, k);
    assert_memory_not_equal(base, k, 32);
}

/* Length prefixes: moving a byte from one expression to the next changes the key. */
static void test_key_is_length_prefixed(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    const char *ea[] = {"ab", "c"}, *eb[] = {"a", "bc"};
    key_of(ea, NULL, NULL, 2, HS_MODE_BLOCK, a);
    key_of(eb, NULL, NULL, 2, HS_MODE_BLOCK, b);
    assert_memory_not_equal(a, b, 32);
    /* NULL flags and ids mean zeros, as in hs_compile_multi */
    const unsigned z[] = {0, 0};
    key_of(ea, z, z, 2, HS_MODE_BLOCK, b);
    assert_memory_equal(a, b, 32);
}

static void test_key_rejects_null_expression(void **state)
{
    (void)state;
    uint8_t k[32];
    const char *e[] = {"a", NULL};
    assert_int_equal(lw_dbcache_key(e, NULL, NULL, 2, HS_MODE_BLOCK, k), LW_ERR_INVAL);
    assert_int_equal(lw_dbcache_key(NULL, NULL, NULL, 1, HS_MODE_BLOCK, k), LW_ERR_INVAL);
}

/* --------------------------------------------------------------- header */

static void test_parse_header(void **state)
{
    (void)state;
    uint8_t key[32], other[32], file[LW_DBCACHE_HEADER_BYTES + 16];
    const uint8_t *p;
    size_t n;
    memset(key, 0x11, sizeof(key));
    memset(other, 0x22, sizeof(other));
    memset(file + LW_DBCACHE_HEADER_BYTES, 0x5a, 16);
    lw_dbcache_header(key, file + LW_DBCACHE_HEADER_BYTES, 16, file);

    assert_int_equal(lw_dbcache_parse(file, sizeof(file), key, &p, &n), LW_OK);
    assert_ptr_equal(p, file + LW_DBCACHE_HEADER_BYTES);
    assert_int_equal(n, 16);
    /* another key */
    assert_int_equal(lw_dbcache_parse(file, sizeof(file), other, &p, &n), LW_ERR_PARSE);
    assert_null(p);
    /* truncated: inside the header, and inside the payload */
    assert_int_equal(lw_dbcache_parse(file, 40, key, &p, &n), LW_ERR_TRUNCATED);
    assert_int_equal(lw_dbcache_parse(file, 0, key, &p, &n), LW_ERR_TRUNCATED);
    assert_int_equal(lw_dbcache_parse(file, sizeof(file) - 1, key, &p, &n), LW_ERR_TRUNCATED);
    /* each header field, then the payload, altered */
    static const size_t at[] = {0, 7, 11, 15, 16, 47, 55, 56, 87, 88, 103};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        file[at[i]] ^= 0x40;
        assert_int_not_equal(lw_dbcache_parse(file, sizeof(file), key, &p, &n), LW_OK);
        file[at[i]] ^= 0x40;
    }
    assert_int_equal(lw_dbcache_parse(file, sizeof(file), key, &p, &n), LW_OK);
}

static void test_parse_length_bounds(void **state)
{
    (void)state;
    uint8_t key[32], file[LW_DBCACHE_HEADER_BYTES + 8];
    const uint8_t *p;
    size_t n;
    memset(key, 0x33, sizeof(key));
    memset(file + LW_DBCACHE_HEADER_BYTES, 1, 8);
    lw_dbcache_header(key, file + LW_DBCACHE_HEADER_BYTES, 4, file);
    /* 8 bytes follow a header that says 4: trailing bytes */
    assert_int_equal(lw_dbcache_parse(file, sizeof(file), key, &p, &n), LW_ERR_PARSE);
    assert_int_equal(lw_dbcache_parse(file, LW_DBCACHE_HEADER_BYTES + 4, key, &p, &n), LW_OK);
    /* a length over the cap is refused before it is compared with the size */
    file[48] = 0x7f;
    assert_int_equal(lw_dbcache_parse(file, sizeof(file), key, &p, &n), LW_ERR_PARSE);
    /* zero payload */
    lw_dbcache_header(key, file + LW_DBCACHE_HEADER_BYTES, 0, file);
    assert_int_equal(lw_dbcache_parse(file, LW_DBCACHE_HEADER_BYTES, key, &p, &n), LW_ERR_PARSE);
}

/* ------------------------------------------------- bad files: recompiled */

/* The file at f->file was tampered with: the next call rejects it,
 * recompiles, replaces it, and the call after that hits. */
static void expect_rejected_and_replaced(fx *f)
{
    lw_dbcache_stats before = f->st;
    compile_ok(f);
    assert_int_equal(f->st.rejected, before.rejected + 1);
    assert_int_equal(f->st.misses, before.misses + 1);
    assert_int_equal(f->st.stores, before.stores + 1);
    assert_int_equal(f->st.hits, before.hits);
    assert_string_not_equal(f->st.warning, "");
    assert_file_valid(f);
    compile_ok(f);
    assert_int_equal(f->st.hits, before.hits + 1);
    f->st.warning[0] = '\0';
}

static void test_truncated_file(void **state)
{
    fx *f = *state;
    size_t len;
    compile_ok(f);
    uint8_t *buf = read_file(f->file, &len);
    write_file(f->file, buf, len / 2);
    expect_rejected_and_replaced(f);
    write_file(f->file, buf, LW_DBCACHE_HEADER_BYTES - 1);
    expect_rejected_and_replaced(f);
    write_file(f->file, buf, 0);
    expect_rejected_and_replaced(f);
    free(buf);
}

static void test_corrupt_payload(void **state)
{
    fx *f = *state;
    size_t len;
    compile_ok(f);
    uint8_t *buf = read_file(f->file, &len);
    buf[len - 10] ^= 0x01;
    write_file(f->file, buf, len);
    expect_rejected_and_replaced(f);
    free(buf);
}

static void test_foreign_file(void **state)
{
    fx *f = *state;
    const char text[] = "this is not a database, but it is long enough to hold a header......."
                        "..........................................................";
    compile_ok(f);
    write_file(f->file, (const uint8_t *)text, sizeof(text));
    expect_rejected_and_replaced(f);
}

/* A valid file of another key, renamed to this key's name. */
static void test_file_of_another_key(void **state)
{
    fx *f = *state;
    size_t len;
    hs_free_database(compile_in(f->dir, HS_MODE_STREAM, &f->st));
    uint8_t k[32];
    char hex[65], path[160];
    key_of(EXPRS, FLAGS, IDS, NEXPR, HS_MODE_STREAM, k);
    sodium_bin2hex(hex, sizeof(hex), k, sizeof(k));
    snprintf(path, sizeof(path), "%s/%s.hsdb", f->dir, hex);
    uint8_t *buf = read_file(path, &len);
    write_file(f->file, buf, len);
    expect_rejected_and_replaced(f);
    free(buf);
}

/* A serialized database Hyperscan refuses (here: its bytes cut short, with
 * a header that matches the cut): the digest passes, Hyperscan says no. */
static void test_hyperscan_refuses_payload(void **state)
{
    fx *f = *state;
    size_t len;
    compile_ok(f);
    uint8_t *buf = read_file(f->file, &len);
    size_t plen = (len - LW_DBCACHE_HEADER_BYTES) / 2;
    lw_dbcache_header(f->key, buf + LW_DBCACHE_HEADER_BYTES, plen, buf);
    write_file(f->file, buf, LW_DBCACHE_HEADER_BYTES + plen);
    expect_rejected_and_replaced(f);
    free(buf);
}

static void test_file_group_writable(void **state)
{
    fx *f = *state;
    compile_ok(f);
    assert_int_equal(chmod(f->file, 0620), 0);
    expect_rejected_and_replaced(f);
}

static void test_file_symlink(void **state)
{
    fx *f = *state;
    char real[160];
    compile_ok(f);
    snprintf(real, sizeof(real), "%s/real", f->dir);
    assert_int_equal(rename(f->file, real), 0);
    assert_int_equal(symlink(real, f->file), 0);
    expect_rejected_and_replaced(f);
}

static void test_file_not_regular(void **state)
{
    fx *f = *state;
    assert_int_equal(mkfifo(f->file, 0600), 0);
    /* refused without blocking on the open; rename() replaces any non-directory */
    expect_rejected_and_replaced(f);
}

static void test_file_other_owner(void **state)
{
    fx *f = *state;
    if (geteuid() != 0)
        skip();
    compile_ok(f);
    assert_int_equal(chown(f->file, OTHER_UID, OTHER_UID), 0);
    expect_rejected_and_replaced(f);
}

/* --------------------------------------------- bad directories: ignored */

/* The cache in dir is ignored: the compile works, nothing is read or written. */
static void expect_dir_ignored(fx *f, const char *dir)
{
    lw_dbcache_stats st;
    memset(&st, 0, sizeof(st));
    hs_free_database(compile_in(dir, HS_MODE_BLOCK, &st));
    assert_int_equal(st.dir_ignored, 1);
    assert_int_equal(st.hits + st.misses + st.stores + st.store_failed + st.rejected, 0);
    assert_string_not_equal(st.warning, "");
    (void)f;
}

static void test_dir_group_or_other_writable(void **state)
{
    fx *f = *state;
    assert_int_equal(chmod(f->dir, 0770), 0);
    expect_dir_ignored(f, f->dir);
    assert_int_equal(chmod(f->dir, 0703), 0);
    expect_dir_ignored(f, f->dir);
    assert_int_equal(count_entries(f->dir), 0);
    assert_int_equal(chmod(f->dir, 0700), 0);
}

static void test_dir_symlink(void **state)
{
    fx *f = *state;
    char link[128], slash[130];
    snprintf(link, sizeof(link), "%s/sub", f->dir);
    assert_int_equal(symlink(f->dir, link), 0);
    expect_dir_ignored(f, link);
    snprintf(slash, sizeof(slash), "%s/", link); /* "link/" would follow it */
    expect_dir_ignored(f, slash);
    assert_int_equal(count_entries(f->dir), 1); /* only the link */
}

static void test_dir_not_a_directory(void **state)
{
    fx *f = *state;
    char p[128];
    snprintf(p, sizeof(p), "%s/sub", f->dir);
    write_file(p, (const uint8_t *)"x", 1);
    expect_dir_ignored(f, p);
    snprintf(p, sizeof(p), "%s/no/such/dir", f->dir); /* only the last level is created */
    expect_dir_ignored(f, p);
}

static void test_dir_other_owner(void **state)
{
    fx *f = *state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(chown(f->dir, OTHER_UID, OTHER_UID), 0);
    expect_dir_ignored(f, f->dir);
    assert_int_equal(chown(f->dir, 0, 0), 0);
}

/* ------------------------------------------------------- compile errors */

static void test_compile_error_like_hs(void **state)
{
    fx *f = *state;
    const char *bad[] = {"fine", "broken(", "also fine"};
    hs_database_t *db1 = NULL, *db2 = (hs_database_t *)1;
    hs_compile_error_t *e1 = NULL, *e2 = NULL;

    hs_error_t r1 = hs_compile_multi(bad, NULL, NULL, 3, HS_MODE_BLOCK, NULL, &db1, &e1);
    hs_error_t r2 =
        lw_dbcache_compile(f->dir, bad, NULL, NULL, 3, HS_MODE_BLOCK, &db2, &e2, &f->st);
    assert_int_equal(r1, HS_COMPILER_ERROR);
    assert_int_equal(r2, r1);
    assert_null(db2);
    assert_non_null(e2);
    assert_int_equal(e2->expression, e1->expression);
    assert_int_equal(e2->expression, 1);
    assert_string_equal(e2->message, e1->message);
    hs_free_compile_error(e1);
    hs_free_compile_error(e2);
    assert_int_equal(f->st.stores + f->st.store_failed + f->st.hits, 0);
    assert_int_equal(count_entries(f->dir), 0);
}

/* Zero expressions: hs_compile_multi's own refusal, unchanged. */
static void test_zero_expressions_like_hs(void **state)
{
    fx *f = *state;
    hs_database_t *db = NULL;
    hs_compile_error_t *e1 = NULL, *e2 = NULL;
    hs_error_t r1 = hs_compile_multi(EXPRS, NULL, NULL, 0, HS_MODE_BLOCK, NULL, &db, &e1);
    hs_error_t r2 =
        lw_dbcache_compile(f->dir, EXPRS, NULL, NULL, 0, HS_MODE_BLOCK, &db, &e2, &f->st);
    assert_int_equal(r1, r2);
    assert_int_not_equal(r1, HS_SUCCESS);
    assert_string_equal(e1->message, e2->message);
    hs_free_compile_error(e1);
    hs_free_compile_error(e2);
    assert_int_equal(count_entries(f->dir), 0);
}

/* ----------------------------------------------------- store failures */

/* Compiles into dir (ours, mode 0500) and returns the stats. */
static lw_dbcache_stats compile_unwritable(const char *dir)
{
    lw_dbcache_stats st;
    memset(&st, 0, sizeof(st));
    hs_database_t *db = NULL;
    hs_compile_error_t *cerr = NULL;
    hs_error_t rc =
        lw_dbcache_compile(dir, EXPRS, FLAGS, IDS, NEXPR, HS_MODE_BLOCK, &db, &cerr, &st);
    if (rc != HS_SUCCESS || db == NULL)
        st.hits = 999; /* flags the failure to the caller */
    hs_free_database(db);
    return st;
}

static void test_unwritable_dir_counts_store_failure(void **state)
{
    fx *f = *state;
    lw_dbcache_stats st;

    if (geteuid() != 0) {
        assert_int_equal(chmod(f->dir, 0500), 0);
        st = compile_unwritable(f->dir);
    } else {
        /* root writes through mode bits: a child as another uid that owns
         * the directory but may not write it */
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(chown(f->dir, OTHER_UID, OTHER_UID), 0);
        assert_int_equal(chmod(f->dir, 0500), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            if (setgid(OTHER_UID) != 0 || setuid(OTHER_UID) != 0)
                _exit(3);
            lw_dbcache_stats c = compile_unwritable(f->dir);
            _exit(write(fds[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 4);
        }
        close(fds[1]);
        memset(&st, 0, sizeof(st));
        assert_int_equal(read(fds[0], &st, sizeof(st)), (ssize_t)sizeof(st));
        close(fds[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(chown(f->dir, 0, 0), 0);
    }
    assert_int_equal(chmod(f->dir, 0700), 0);
    assert_int_equal(st.hits, 0); /* and the compile succeeded */
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.store_failed, 1);
    assert_int_equal(st.stores, 0);
    assert_int_equal(st.dir_ignored, 0);
    assert_non_null(strstr(st.warning, "could not be written"));
    assert_int_equal(count_entries(f->dir), 0);
}

/* Only the first problem is kept in the warning. */
static void test_warning_keeps_first(void **state)
{
    fx *f = *state;
    assert_int_equal(chmod(f->dir, 0777), 0);
    compile_ok(f);
    assert_int_equal(chmod(f->dir, 0700), 0);
    char first[LW_DBCACHE_WARNING_MAX];
    memcpy(first, f->st.warning, sizeof(first));
    assert_non_null(strstr(first, "group or others"));
    write_file(f->file, (const uint8_t *)"junk", 4);
    compile_ok(f);
    assert_int_equal(f->st.rejected, 1);
    assert_string_equal(f->st.warning, first);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_no_cache_dir_is_plain_compile),
        T(test_miss_then_hit),
        T(test_modes_are_separate_files),
        T(test_missing_dir_is_created),
        T(test_cached_scans_like_fresh),
        T(test_key_changes_with_every_input),
        T(test_key_is_length_prefixed),
        T(test_key_rejects_null_expression),
        T(test_parse_header),
        T(test_parse_length_bounds),
        T(test_truncated_file),
        T(test_corrupt_payload),
        T(test_foreign_file),
        T(test_file_of_another_key),
        T(test_hyperscan_refuses_payload),
        T(test_file_group_writable),
        T(test_file_symlink),
        T(test_file_not_regular),
        T(test_file_other_owner),
        T(test_dir_group_or_other_writable),
        T(test_dir_symlink),
        T(test_dir_not_a_directory),
        T(test_dir_other_owner),
        T(test_compile_error_like_hs),
        T(test_zero_expressions_like_hs),
        T(test_unwritable_dir_counts_store_failure),
        T(test_warning_keeps_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
