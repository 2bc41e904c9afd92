/*
 * test_stream.c - TCP reassembly: matrices of segment orders checked
 * against a byte-by-byte model, then focused tests of each policy (ACK
 * gaps, caps, snaplen cuts, depth, FIN, SYN, mid-stream pick-up) and one
 * negative test per counter.
 *
 * The matrices cut a known 20-byte text into segments and deliver them in
 * every order. The model below knows nothing of the buffer records: it
 * keeps one slot per stream byte (delivered, buffered with its value, or
 * absent) and applies the policy of stream.h literally, first copy wins.
 * For each order the delivered bytes, the gap marks and the counters must
 * equal the model's, and where the answer is known without the model (no
 * differing copies) they must equal the text itself.
 *
 * Every call is followed by the buffer's invariant check
 * (stream_internal.h) and the memory accounting check; every test ends
 * with lw_stream_release and pool->used == 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "leakwatch/stream.h"
#include "../../sensor/stream/stream_internal.h"

#define OH LW_STREAM_SEG_OVERHEAD

enum { SINK_MAX = 512, GAPS_MAX = 32 };

typedef struct sink {
    uint8_t buf[2][SINK_MAX];
    size_t len[2];
    int runs[2];
    int gaps[2];                 /* runs delivered with gap_before */
    size_t gap_at[2][GAPS_MAX];  /* output offset of each gap mark */
    const uint8_t *last_data[2]; /* pointer of the last run (zero copy) */
} sink;

typedef struct t_ctx {
    lw_stream_pool pool;
    lw_stream st;
    sink out;
} t_ctx;

static void collect(void *ctx, int dir, const uint8_t *data, size_t len, bool gap_before)
{
    sink *s = ctx;
    assert_true(dir == 0 || dir == 1);
    assert_true(len > 0);
    assert_true(s->len[dir] + len <= SINK_MAX);
    if (gap_before) {
        assert_true(s->gaps[dir] < GAPS_MAX);
        s->gap_at[dir][s->gaps[dir]++] = s->len[dir];
    }
    memcpy(s->buf[dir] + s->len[dir], data, len);
    s->len[dir] += len;
    s->runs[dir]++;
    s->last_data[dir] = data;
}

static void pool_defaults(lw_stream_pool *pool)
{
    memset(pool, 0, sizeof(*pool));
    pool->memcap = 1u << 20;
    pool->max_buffer = 1u << 16;
    pool->max_segments = 64;
    pool->depth = 0;
}

static void check_state(const lw_stream_pool *pool, const lw_stream *st)
{
    assert_true(lw_stream_dir_consistent(&st->dir[0]));
    assert_true(lw_stream_dir_consistent(&st->dir[1]));
    assert_true(pool->used <= pool->memcap);
}

/* Sends one segment. The payload is copied into a buffer of its exact
 * size, freed after the call: ASan then catches a read past it or a
 * pointer kept beyond the call. */
static void send_seg(lw_stream_pool *pool, lw_stream *st, sink *out, int dir, uint32_t seq,
                     uint32_t ack, uint8_t flags, const char *data, uint32_t len, uint32_t wire)
{
    lw_packet p;
    memset(&p, 0, sizeof(p));
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, data, len);
    }
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.tcp_flags = flags;
    p.payload = copy;
    p.payload_len = len;
    p.payload_wire_len = wire > len ? wire : len;
    lw_stream_segment(pool, st, dir, &p, collect, out);
    free(copy);
    check_state(pool, st);
}

static void seg(t_ctx *t, int dir, uint32_t seq, uint8_t flags, const char *data)
{
    send_seg(&t->pool, &t->st, &t->out, dir, seq, 0, flags, data, data ? (uint32_t)strlen(data) : 0,
             0);
}

static void seg_ack(t_ctx *t, int dir, uint32_t seq, uint32_t ack, uint8_t flags)
{
    send_seg(&t->pool, &t->st, &t->out, dir, seq, ack, flags, NULL, 0, 0);
}

static void seg_cut(t_ctx *t, int dir, uint32_t seq, const char *data, uint32_t wire)
{
    send_seg(&t->pool, &t->st, &t->out, dir, seq, 0, LW_TCP_ACK, data, (uint32_t)strlen(data),
             wire);
}

static void flush(t_ctx *t, int dir)
{
    lw_stream_flush(&t->pool, &t->st, dir, collect, &t->out);
    check_state(&t->pool, &t->st);
    assert_null(t->st.dir[dir].ooo);
}

static uint64_t C(const t_ctx *t, enum lw_stream_counter c)
{
    return t->pool.counters[c];
}

static int setup(void **state)
{
    t_ctx *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    pool_defaults(&t->pool);
    *state = t;
    return 0;
}

/* Releases, then checks that nothing is left accounted. */
static int teardown(void **state)
{
    t_ctx *t = *state;
    lw_stream_release(&t->pool, &t->st);
    int bad = t->pool.used != 0 || t->pool.counters[LW_STREAM_CTR_BUFFERED_BYTES] != 0 ||
              t->st.dir[0].ooo || t->st.dir[1].ooo;
    free(t);
    return bad ? -1 : 0;
}

static void assert_out(const t_ctx *t, int dir, const char *want)
{
    assert_int_equal(t->out.len[dir], strlen(want));
    assert_memory_equal(t->out.buf[dir], want, strlen(want));
}

/* ---- the matrices ------------------------------------------------------ */

static const char TEXT[] = "the quick brown fox!"; /* 20 bytes */
enum { TEXT_LEN = 20, MSEG_MAX = 8 };

typedef struct mseg {
    uint32_t off;      /* offset of the first byte in the stream */
    uint32_t len;      /* bytes */
    const char *bytes; /* NULL: the text's own bytes; else a different copy */
} mseg;

typedef struct model {
    bool have[TEXT_LEN];
    uint8_t val[TEXT_LEN];
    uint32_t next;
    uint8_t out[TEXT_LEN];
    size_t out_len;
    size_t gap_at[GAPS_MAX];
    int gaps;
    uint64_t retrans, overlap, mismatch, ooo, segments;
} model;

static uint8_t mseg_byte(const mseg *m, uint32_t i)
{
    return m->bytes ? (uint8_t)m->bytes[i] : (uint8_t)TEXT[m->off + i];
}

static void model_seg(model *m, const mseg *s)
{
    uint32_t old = 0, fresh = 0;
    bool mism = false;
    bool ahead = s->off > m->next;
    for (uint32_t i = 0; i < s->len; i++) {
        uint32_t at = s->off + i;
        uint8_t b = mseg_byte(s, i);
        if (at < m->next) {
            old++; /* delivered: the copy is gone, nothing to compare */
        } else if (m->have[at]) {
            old++;
            if (m->val[at] != b)
                mism = true;
        } else {
            fresh++;
            m->have[at] = true;
            m->val[at] = b;
        }
    }
    m->segments++;
    if (fresh == 0)
        m->retrans++;
    else if (old)
        m->overlap++;
    if (mism)
        m->mismatch++;
    if (ahead && fresh)
        m->ooo++;
    while (m->next < TEXT_LEN && m->have[m->next]) {
        m->out[m->out_len++] = m->val[m->next];
        m->next++;
    }
}

static void model_flush(model *m)
{
    uint32_t cur = m->next;
    for (uint32_t i = m->next; i < TEXT_LEN; i++) {
        if (!m->have[i])
            continue;
        if (i != cur)
            m->gap_at[m->gaps++] = m->out_len;
        m->out[m->out_len++] = m->val[i];
        cur = i + 1;
    }
}

static bool next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return false;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int tmp = a[i];
    a[i] = a[j];
    a[j] = tmp;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) {
        tmp = a[l];
        a[l] = a[r];
        a[r] = tmp;
    }
    return true;
}

typedef struct mstats {
    unsigned orders;
    unsigned with_mismatch; /* orders where the model saw differing copies meet */
    unsigned with_gap;
} mstats;

/* One order: SYN at isn, the segments (then all again when resend), flush;
 * the result must equal the model's. */
static void run_order(const mseg *segs, const int *order, int n, uint32_t isn, bool resend,
                      mstats *ms)
{
    lw_stream_pool pool;
    lw_stream st;
    sink *out = calloc(1, sizeof(*out));
    model m;
    assert_non_null(out);
    pool_defaults(&pool);
    memset(&st, 0, sizeof(st));
    memset(&m, 0, sizeof(m));

    send_seg(&pool, &st, out, 0, isn, 0, LW_TCP_SYN, NULL, 0, 0);
    for (int round = 0; round < (resend ? 2 : 1); round++) {
        for (int k = 0; k < n; k++) {
            const mseg *s = &segs[order[k]];
            char buf[TEXT_LEN];
            for (uint32_t i = 0; i < s->len; i++)
                buf[i] = (char)mseg_byte(s, i);
            send_seg(&pool, &st, out, 0, isn + 1 + s->off, 0, LW_TCP_ACK | LW_TCP_PSH, buf, s->len,
                     0);
            model_seg(&m, s);
            /* in-order bytes are out as soon as they can be */
            assert_int_equal(out->len[0], m.out_len);
        }
    }
    lw_stream_flush(&pool, &st, 0, collect, out);
    check_state(&pool, &st);
    model_flush(&m);

    assert_int_equal(out->len[0], m.out_len);
    assert_memory_equal(out->buf[0], m.out, m.out_len);
    assert_int_equal(out->gaps[0], m.gaps);
    for (int g = 0; g < m.gaps; g++)
        assert_int_equal(out->gap_at[0][g], m.gap_at[g]);
    assert_int_equal(pool.counters[LW_STREAM_CTR_SEGMENTS], m.segments);
    assert_int_equal(pool.counters[LW_STREAM_CTR_BYTES], m.out_len);
    assert_int_equal(pool.counters[LW_STREAM_CTR_RETRANSMIT], m.retrans);
    assert_int_equal(pool.counters[LW_STREAM_CTR_OVERLAP], m.overlap);
    assert_int_equal(pool.counters[LW_STREAM_CTR_OVERLAP_MISMATCH], m.mismatch);
    assert_int_equal(st.dir[0].overlap_mismatch, m.mismatch > 0);
    assert_int_equal(pool.counters[LW_STREAM_CTR_OOO_SEGMENTS], m.ooo);
    assert_int_equal(pool.counters[LW_STREAM_CTR_GAP], (uint64_t)m.gaps);
    assert_int_equal(pool.counters[LW_STREAM_CTR_MIDSTREAM], 0);
    assert_int_equal(pool.counters[LW_STREAM_CTR_FLOW_CAP], 0);
    assert_int_equal(pool.counters[LW_STREAM_CTR_MEMCAP], 0);
    assert_int_equal(pool.counters[LW_STREAM_CTR_ACK_GAP], 0);
    assert_int_equal(pool.counters[LW_STREAM_CTR_BUFFERED_BYTES], 0);
    assert_int_equal(pool.used, 0);
    assert_int_equal(out->len[1], 0);

    ms->orders++;
    if (m.mismatch)
        ms->with_mismatch++;
    if (m.gaps)
        ms->with_gap++;
    lw_stream_release(&pool, &st);
    assert_int_equal(pool.used, 0);
    free(out);
}

static const uint32_t ISNS[] = {
    1000,        /* plain */
    0xfffffff5u, /* data starts at 0xfffffff6: the stream wraps at byte 10 */
    0xffffffffu, /* the SYN is the last number: data starts at 0 */
};

/* Every order of segs, with each ISN, once plain and once resent in full. */
static mstats run_matrix(const mseg *segs, int n, bool resend)
{
    mstats ms = {0, 0, 0};
    int order[MSEG_MAX];
    assert_true(n <= MSEG_MAX);
    for (size_t k = 0; k < sizeof(ISNS) / sizeof(ISNS[0]); k++) {
        for (int i = 0; i < n; i++)
            order[i] = i;
        do {
            run_order(segs, order, n, ISNS[k], false, &ms);
            if (resend)
                run_order(segs, order, n, ISNS[k], true, &ms);
        } while (next_perm(order, n));
    }
    return ms;
}

/* Cut into contiguous pieces, every order: always the text, no gap. */
static void test_matrix_contiguous(void **state)
{
    (void)state;
    static const mseg six[] = {{0, 3, NULL},  {3, 4, NULL},  {7, 3, NULL},
                               {10, 4, NULL}, {14, 3, NULL}, {17, 3, NULL}};
    mstats ms = run_matrix(six, 6, true);
    assert_int_equal(ms.orders, 720 * 3 * 2);
    assert_int_equal(ms.with_mismatch, 0);
    assert_int_equal(ms.with_gap, 0);
}

/* A segment sent twice, every order: the text once, one retransmission. */
static void test_matrix_duplicate(void **state)
{
    (void)state;
    static const mseg segs[] = {{0, 4, NULL},  {4, 4, NULL},  {8, 4, NULL},
                                {12, 4, NULL}, {16, 4, NULL}, {8, 4, NULL}};
    mstats ms = run_matrix(segs, 6, false);
    assert_int_equal(ms.orders, 720 * 3);
    assert_int_equal(ms.with_mismatch, 0);
}

/* Overlapping segments carrying the same bytes, every order. */
static void test_matrix_overlap_same(void **state)
{
    (void)state;
    static const mseg segs[] = {{0, 6, NULL},  {4, 6, NULL},  {8, 6, NULL},
                                {12, 6, NULL}, {16, 4, NULL}, {2, 13, NULL}};
    mstats ms = run_matrix(segs, 6, false);
    assert_int_equal(ms.orders, 720 * 3);
    assert_int_equal(ms.with_mismatch, 0);
    assert_int_equal(ms.with_gap, 0);
}

/* Overlaps whose bytes differ: the first copy wins, order by order, and
 * the mismatch is counted only when a buffered copy met a different one. */
static void test_matrix_overlap_differ(void **state)
{
    (void)state;
    static const mseg segs[] = {{0, 5, NULL},  {5, 5, NULL},    {10, 5, NULL},
                                {15, 5, NULL}, {3, 5, "XXXXX"}, {12, 5, "YYYYY"}};
    mstats ms = run_matrix(segs, 6, false);
    assert_int_equal(ms.orders, 720 * 3);
    /* both outcomes occur: the matrix exercises the comparison */
    assert_true(ms.with_mismatch > 0);
    assert_true(ms.with_mismatch < ms.orders);
}

/* One-byte segments (all six orders of the first bytes' pieces) and a mix
 * of one-byte and longer segments. */
static void test_matrix_one_byte(void **state)
{
    (void)state;
    static const mseg ones[] = {{0, 1, NULL}, {1, 1, NULL}, {2, 1, NULL},
                                {3, 1, NULL}, {4, 1, NULL}, {5, 15, NULL}};
    static const mseg mix[] = {{0, 1, NULL},  {1, 8, NULL},  {9, 1, NULL},
                               {10, 9, NULL}, {19, 1, NULL}, {9, 2, NULL}};
    mstats a = run_matrix(ones, 6, true);
    mstats b = run_matrix(mix, 6, false);
    assert_int_equal(a.orders + b.orders, 720 * 3 * 3);
    assert_int_equal(a.with_gap + b.with_gap, 0);
}

/* One segment never arrives: after the flush the text with that range
 * absent and exactly one gap mark where it was (none when it was last). */
static void test_matrix_missing(void **state)
{
    (void)state;
    static const mseg six[] = {{0, 3, NULL},  {3, 4, NULL},  {7, 3, NULL},
                               {10, 4, NULL}, {14, 3, NULL}, {17, 3, NULL}};
    unsigned orders = 0;
    for (int miss = 0; miss < 6; miss++) {
        mseg five[5];
        int n = 0;
        for (int i = 0; i < 6; i++)
            if (i != miss)
                five[n++] = six[i];
        for (size_t k = 0; k < sizeof(ISNS) / sizeof(ISNS[0]); k++) {
            int order[5] = {0, 1, 2, 3, 4};
            do {
                lw_stream_pool pool;
                lw_stream st;
                sink *out = calloc(1, sizeof(*out));
                assert_non_null(out);
                pool_defaults(&pool);
                memset(&st, 0, sizeof(st));
                send_seg(&pool, &st, out, 0, ISNS[k], 0, LW_TCP_SYN, NULL, 0, 0);
                for (int j = 0; j < 5; j++) {
                    const mseg *s = &five[order[j]];
                    send_seg(&pool, &st, out, 0, ISNS[k] + 1 + s->off, 0, LW_TCP_ACK, TEXT + s->off,
                             s->len, 0);
                }
                lw_stream_flush(&pool, &st, 0, collect, out);
                check_state(&pool, &st);

                uint32_t hole_off = six[miss].off, hole_len = six[miss].len;
                size_t want_len = TEXT_LEN - hole_len;
                assert_int_equal(out->len[0], want_len);
                assert_memory_equal(out->buf[0], TEXT, hole_off);
                assert_memory_equal(out->buf[0] + hole_off, TEXT + hole_off + hole_len,
                                    want_len - hole_off);
                int want_gaps = miss == 5 ? 0 : 1;
                assert_int_equal(out->gaps[0], want_gaps);
                if (want_gaps)
                    assert_int_equal(out->gap_at[0][0], hole_off);
                assert_int_equal(pool.counters[LW_STREAM_CTR_GAP], want_gaps);
                assert_int_equal(pool.counters[LW_STREAM_CTR_OVERLAP], 0);
                assert_int_equal(pool.counters[LW_STREAM_CTR_RETRANSMIT], 0);
                assert_int_equal(pool.used, 0);
                lw_stream_release(&pool, &st);
                free(out);
                orders++;
            } while (next_perm(order, 5));
        }
    }
    assert_int_equal(orders, 6 * 120 * 3);
}

/* ---- focused tests ------------------------------------------------------ */

static void test_in_order_after_syn_zero_copy(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 1000, LW_TCP_SYN, NULL);
    seg(t, 0, 1001, LW_TCP_ACK, "hello ");
    assert_int_equal(t->pool.used, 0);
    seg(t, 0, 1007, LW_TCP_ACK, "world");
    assert_out(t, 0, "hello world");
    assert_int_equal(t->out.gaps[0], 0);
    assert_int_equal(t->pool.used, 0); /* in order: nothing buffered */
    assert_int_equal(C(t, LW_STREAM_CTR_MIDSTREAM), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_OOO_SEGMENTS), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_BYTES), 11);
    assert_int_equal(C(t, LW_STREAM_CTR_SEGMENTS), 2);

    /* the run points into the packet itself */
    lw_packet p;
    memset(&p, 0, sizeof(p));
    static const uint8_t more[] = {'!'};
    p.tcp_seq = 1012;
    p.tcp_flags = LW_TCP_ACK;
    p.payload = more;
    p.payload_len = p.payload_wire_len = 1;
    lw_stream_segment(&t->pool, &t->st, 0, &p, collect, &t->out);
    assert_ptr_equal(t->out.last_data[0], more);
}

static void test_midstream_pickup(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 5000, LW_TCP_ACK, "abc");
    seg(t, 0, 5003, LW_TCP_ACK, "def");
    assert_out(t, 0, "abcdef");
    assert_int_equal(C(t, LW_STREAM_CTR_MIDSTREAM), 1);
    assert_int_equal(t->out.gaps[0], 0);
}

static void test_pure_ack_is_not_a_segment(void **state)
{
    t_ctx *t = *state;
    seg_ack(t, 0, 77, 0, LW_TCP_ACK);
    assert_int_equal(C(t, LW_STREAM_CTR_SEGMENTS), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_MIDSTREAM), 0);
    assert_false(t->st.dir[0].seq_known);
}

static void test_out_of_order_buffered_then_drained(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 4, LW_TCP_ACK, "def");
    assert_int_equal(t->out.len[0], 0);
    assert_int_equal(t->st.dir[0].seg_count, 1);
    assert_int_equal(t->st.dir[0].buffered, 3);
    assert_int_equal(t->pool.used, 3 + OH);
    assert_int_equal(C(t, LW_STREAM_CTR_BUFFERED_BYTES), 3);
    assert_int_equal(C(t, LW_STREAM_CTR_OOO_SEGMENTS), 1);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    assert_out(t, 0, "abcdef");
    assert_int_equal(t->out.gaps[0], 0);
    assert_int_equal(t->pool.used, 0);
    assert_int_equal(C(t, LW_STREAM_CTR_BUFFERED_BYTES), 0);
    assert_int_equal(t->st.dir[0].next_seq, 7);
}

static void test_retransmission_not_delivered_twice(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 4, LW_TCP_ACK, "def");
    assert_out(t, 0, "abcdef");
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_BYTES), 6);
}

static void test_retransmission_of_buffered_segment(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 10, LW_TCP_ACK, "xyz");
    seg(t, 0, 10, LW_TCP_ACK, "xyz");
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_OOO_SEGMENTS), 1);
    assert_int_equal(t->st.dir[0].buffered, 3);
}

static void test_partial_retransmission_is_overlap(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    seg(t, 0, 3, LW_TCP_ACK, "XXef"); /* "XX" over delivered "cd": not comparable */
    assert_out(t, 0, "abcdef");
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP_MISMATCH), 0);
}

static void test_overlap_mismatch_first_copy_wins(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 5, LW_TCP_ACK, "efgh");    /* buffered [5,9) */
    seg(t, 0, 4, LW_TCP_ACK, "dXfghij"); /* 'X' differs from 'e' */
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP_MISMATCH), 1);
    assert_true(t->st.dir[0].overlap_mismatch);
    assert_false(t->st.dir[1].overlap_mismatch);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    assert_out(t, 0, "abcdefghij");
    assert_true(t->st.dir[0].overlap_mismatch); /* sticky */
}

static void test_overlap_same_bytes_no_mismatch(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 5, LW_TCP_ACK, "efgh");
    seg(t, 0, 4, LW_TCP_ACK, "defghij");
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    assert_out(t, 0, "abcdefghij");
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP_MISMATCH), 0);
    assert_false(t->st.dir[0].overlap_mismatch);
}

static void test_adjacent_segments_no_overlap(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 7, LW_TCP_ACK, "ghi");
    seg(t, 0, 4, LW_TCP_ACK, "def");
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    assert_out(t, 0, "abcdefghi");
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_OOO_SEGMENTS), 2);
}

/* A segment spanning several holes fills each and keeps the buffered
 * bytes: the buffer never holds a byte twice. */
static void test_segment_fills_several_holes(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 4, LW_TCP_ACK, "de");
    seg(t, 0, 8, LW_TCP_ACK, "hi");
    seg(t, 0, 3, LW_TCP_ACK, "cdefghijk"); /* fills [3,4) [6,8) [10,12) */
    assert_int_equal(t->st.dir[0].seg_count, 5);
    assert_int_equal(t->st.dir[0].buffered, 9);
    assert_int_equal(t->pool.used, 9 + 5 * OH);
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP), 1);
    seg(t, 0, 1, LW_TCP_ACK, "ab");
    assert_out(t, 0, "abcdefghijk");
    assert_int_equal(t->pool.used, 0);
}

/* An in-order segment that runs over buffered records delivers their first
 * copies and its own bytes in between. */
static void test_in_order_segment_over_buffered(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 4, LW_TCP_ACK, "DE");         /* first copies of [4,6) */
    seg(t, 0, 1, LW_TCP_ACK, "abcdefghij"); /* in order, spans the record */
    assert_out(t, 0, "abcDEfghij");
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP_MISMATCH), 1);
    assert_int_equal(t->pool.used, 0);
}

static void test_flush_marks_gap(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 10, LW_TCP_ACK, "xyz");
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 0); /* the hole may still fill */
    flush(t, 0);
    assert_out(t, 0, "abcxyz");
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(t->out.gap_at[0][0], 3);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
    assert_int_equal(t->pool.used, 0);
}

static void test_flush_without_hole_no_gap(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    flush(t, 0);
    flush(t, 1);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 0);
    assert_int_equal(t->out.gaps[0], 0);
}

static void test_release_frees_without_delivery(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 1, 500, LW_TCP_SYN | LW_TCP_ACK, NULL);
    seg(t, 0, 10, LW_TCP_ACK, "xyz");
    seg(t, 1, 510, LW_TCP_ACK, "uvw");
    assert_int_equal(t->pool.used, 6 + 2 * OH);
    lw_stream_release(&t->pool, &t->st);
    assert_int_equal(t->pool.used, 0);
    assert_int_equal(C(t, LW_STREAM_CTR_BUFFERED_BYTES), 0);
    assert_int_equal(t->out.len[0] + t->out.len[1], 0);
    assert_int_equal(t->st.dir[0].seg_count + t->st.dir[1].seg_count, 0);
}

/* ---- ACK-based gaps ---------------------------------------------------- */

static void handshake(t_ctx *t)
{
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    send_seg(&t->pool, &t->st, &t->out, 1, 500, 1, LW_TCP_SYN | LW_TCP_ACK, NULL, 0, 0);
    seg_ack(t, 0, 1, 501, LW_TCP_ACK);
}

static void test_ack_declares_gap(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 7, LW_TCP_ACK, "ghi"); /* "def" at 4 never captured */
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 0);
    seg_ack(t, 1, 501, 10, LW_TCP_ACK); /* the server has everything below 10 */
    assert_out(t, 0, "abcghi");
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(t->out.gap_at[0][0], 3);
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
    assert_int_equal(t->st.dir[0].next_seq, 10);
    assert_int_equal(t->pool.used, 0);
    seg(t, 0, 4, LW_TCP_ACK, "def"); /* too late */
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 1);
    assert_out(t, 0, "abcghi");
}

static void test_ack_beyond_buffer_marks_next_run(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 20, LW_TCP_ACK, "uvw"); /* buffered, beyond the ACK */
    seg_ack(t, 1, 501, 10, LW_TCP_ACK);
    assert_int_equal(t->st.dir[0].next_seq, 10);
    assert_true(t->st.dir[0].hole);
    assert_int_equal(t->st.dir[0].seg_count, 1);
    seg(t, 0, 10, LW_TCP_ACK, "klmnopqrst");
    assert_out(t, 0, "abcklmnopqrstuvw");
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(t->out.gap_at[0][0], 3);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
}

static void test_ack_ignored_without_ack_flag(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg_ack(t, 1, 501, 100, LW_TCP_PSH); /* ack field set, flag not */
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 0);
    assert_int_equal(t->st.dir[0].next_seq, 4);
}

static void test_ack_equal_or_behind_is_no_gap(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg_ack(t, 1, 501, 4, LW_TCP_ACK);
    seg_ack(t, 1, 501, 2, LW_TCP_ACK);
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 0);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 0);
}

static void test_ack_absurdly_far_ignored(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg_ack(t, 1, 501, 4 + (1u << 30) + 1, LW_TCP_ACK);
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 0);
    assert_int_equal(t->st.dir[0].next_seq, 4);
}

static void test_ack_of_fin_is_no_gap(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 0, 1, LW_TCP_ACK | LW_TCP_FIN, "abc"); /* FIN takes number 4 */
    seg_ack(t, 1, 501, 5, LW_TCP_ACK);
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 0);
    assert_false(t->st.dir[0].hole);
}

static void test_ack_for_unknown_direction_ignored(void **state)
{
    t_ctx *t = *state;
    seg_ack(t, 1, 501, 12345, LW_TCP_ACK);
    assert_int_equal(C(t, LW_STREAM_CTR_ACK_GAP), 0);
    assert_false(t->st.dir[0].seq_known);
}

/* ---- caps ------------------------------------------------------------- */

static void test_flow_cap_bytes(void **state)
{
    t_ctx *t = *state;
    t->pool.max_buffer = 8;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    seg(t, 0, 9, LW_TCP_ACK, "ijkl");
    seg(t, 0, 17, LW_TCP_ACK, "qrst"); /* exactly the cap: buffered */
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 0);
    assert_int_equal(t->st.dir[0].buffered, 8);
    seg(t, 0, 25, LW_TCP_ACK, "yz"); /* one past: give up the holes */
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 1);
    assert_out(t, 0, "abcdijklqrstyz");
    assert_int_equal(t->out.gaps[0], 3);
    assert_int_equal(t->out.gap_at[0][0], 4);
    assert_int_equal(t->out.gap_at[0][1], 8);
    assert_int_equal(t->out.gap_at[0][2], 12);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 3);
    assert_int_equal(t->pool.used, 0);
    assert_int_equal(t->st.dir[0].next_seq, 27);
}

static void test_flow_cap_segments(void **state)
{
    t_ctx *t = *state;
    t->pool.max_segments = 2;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 5, LW_TCP_ACK, "e");
    seg(t, 0, 7, LW_TCP_ACK, "g");
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 0);
    seg(t, 0, 9, LW_TCP_ACK, "i");
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 1);
    assert_out(t, 0, "egi");
    assert_int_equal(t->out.gaps[0], 3);
    assert_int_equal(t->pool.used, 0);
}

/* The capped segment lies between buffered records and overlaps one: its
 * new bytes are delivered in their place, the first copies kept. */
static void test_flow_cap_segment_between_records(void **state)
{
    t_ctx *t = *state;
    t->pool.max_segments = 2;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 5, LW_TCP_ACK, "efgh");
    seg(t, 0, 15, LW_TCP_ACK, "opq");
    seg(t, 0, 7, LW_TCP_ACK, "GHijk"); /* needs a third record for [9,12) */
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_OVERLAP_MISMATCH), 1);
    assert_out(t, 0, "efghijkopq");
    assert_int_equal(t->out.gaps[0], 2);
    assert_int_equal(t->out.gap_at[0][0], 0);
    assert_int_equal(t->out.gap_at[0][1], 7);
    assert_int_equal(t->pool.used, 0);
}

static void test_zero_caps_never_buffer(void **state)
{
    t_ctx *t = *state;
    t->pool.max_segments = 0;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 5, LW_TCP_ACK, "efg");
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 1);
    assert_out(t, 0, "efg");
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(t->pool.used, 0);
}

static void test_memcap_across_two_streams(void **state)
{
    t_ctx *t = *state;
    lw_stream other;
    sink *out2 = calloc(1, sizeof(*out2));
    assert_non_null(out2);
    memset(&other, 0, sizeof(other));
    t->pool.memcap = 2 * (4 + OH);

    seg(t, 0, 0, LW_TCP_SYN, NULL);
    send_seg(&t->pool, &other, out2, 0, 100, 0, LW_TCP_SYN, NULL, 0, 0);
    seg(t, 0, 5, LW_TCP_ACK, "efgh");
    send_seg(&t->pool, &other, out2, 0, 105, 0, LW_TCP_ACK, "EFGH", 4, 0);
    assert_int_equal(t->pool.used, t->pool.memcap); /* full, not over */
    assert_int_equal(C(t, LW_STREAM_CTR_MEMCAP), 0);

    send_seg(&t->pool, &other, out2, 0, 110, 0, LW_TCP_ACK, "J", 1, 0);
    assert_int_equal(C(t, LW_STREAM_CTR_MEMCAP), 1);
    assert_int_equal(C(t, LW_STREAM_CTR_FLOW_CAP), 0);
    assert_int_equal(out2->len[0], 5);
    assert_memory_equal(out2->buf[0], "EFGHJ", 5);
    assert_int_equal(out2->gaps[0], 2);
    assert_int_equal(t->pool.used, 4 + OH); /* the first stream keeps its record */
    assert_int_equal(t->out.len[0], 0);
    assert_true(t->pool.used <= t->pool.memcap);

    lw_stream_release(&t->pool, &other);
    assert_int_equal(t->pool.used, 4 + OH);
    lw_stream_release(&t->pool, &t->st);
    assert_int_equal(t->pool.used, 0);
    assert_int_equal(C(t, LW_STREAM_CTR_BUFFERED_BYTES), 0);
    free(out2);
}

/* ---- snaplen cuts ------------------------------------------------------ */

static void test_snaplen_cut_in_order(void **state)
{
    t_ctx *t = *state;
    seg_cut(t, 0, 1, "abc", 10); /* 3 captured of 10 */
    assert_true(t->st.dir[0].hole);
    assert_int_equal(t->st.dir[0].next_seq, 11);
    seg(t, 0, 11, LW_TCP_ACK, "klm");
    assert_out(t, 0, "abcklm");
    assert_int_equal(t->out.runs[0], 2);
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(t->out.gap_at[0][0], 3);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
    seg(t, 0, 5, LW_TCP_ACK, "efg"); /* in the cut range: seen, old */
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 1);
}

static void test_snaplen_cut_out_of_order(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg_cut(t, 0, 5, "ef", 4); /* [5,7) captured, [7,9) cut */
    assert_int_equal(t->st.dir[0].buffered, 2);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 0);
    seg(t, 0, 7, LW_TCP_ACK, "gh"); /* the cut tail was seen: old */
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 1);
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    assert_out(t, 0, "abcdef");
    assert_true(t->st.dir[0].hole);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
    seg(t, 0, 9, LW_TCP_ACK, "ijk");
    assert_out(t, 0, "abcdefijk");
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(t->out.gap_at[0][0], 6);
}

static void test_snaplen_cut_whole_payload(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    send_seg(&t->pool, &t->st, &t->out, 0, 1, 0, LW_TCP_ACK, NULL, 0, 5); /* 0 of 5 */
    assert_int_equal(t->st.dir[0].next_seq, 6);
    send_seg(&t->pool, &t->st, &t->out, 0, 6, 0, LW_TCP_ACK, NULL, 0, 5); /* again */
    assert_int_equal(t->st.dir[0].next_seq, 11);
    /* two holes with no run between them are one gap mark, counted once */
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
    seg(t, 0, 11, LW_TCP_ACK, "kl");
    assert_out(t, 0, "kl");
    assert_int_equal(t->out.gaps[0], 1);
    assert_int_equal(C(t, LW_STREAM_CTR_GAP), 1);
}

/* ---- depth ------------------------------------------------------------- */

static void test_depth_limits_delivery(void **state)
{
    t_ctx *t = *state;
    t->pool.depth = 6;
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    seg(t, 0, 5, LW_TCP_ACK, "efgh");
    seg(t, 0, 9, LW_TCP_ACK, "ijkl");
    assert_out(t, 0, "abcdef");
    assert_int_equal(C(t, LW_STREAM_CTR_DEPTH_REACHED), 1); /* once per direction */
    assert_int_equal(C(t, LW_STREAM_CTR_BYTES), 6);
    seg(t, 1, 1, LW_TCP_ACK, "1234567");
    assert_int_equal(C(t, LW_STREAM_CTR_DEPTH_REACHED), 2);
}

static void test_depth_exactly_reached_not_counted(void **state)
{
    t_ctx *t = *state;
    t->pool.depth = 8;
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    seg(t, 0, 5, LW_TCP_ACK, "efgh");
    assert_int_equal(C(t, LW_STREAM_CTR_DEPTH_REACHED), 0);
    seg(t, 0, 9, LW_TCP_ACK, "i");
    assert_int_equal(C(t, LW_STREAM_CTR_DEPTH_REACHED), 1);
    assert_out(t, 0, "abcdefgh");
}

static void test_depth_not_buffered_beyond(void **state)
{
    t_ctx *t = *state;
    t->pool.depth = 6;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 9, LW_TCP_ACK, "ijkl"); /* would land at bytes 8..11 */
    assert_int_equal(t->pool.used, 0);
    assert_int_equal(C(t, LW_STREAM_CTR_DEPTH_REACHED), 1);
    seg(t, 0, 5, LW_TCP_ACK, "efgh"); /* only [5,7) is worth a copy */
    assert_int_equal(t->st.dir[0].buffered, 2);
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    assert_out(t, 0, "abcdef");
    assert_int_equal(t->pool.used, 0);
}

/* ---- FIN, SYN, windows ------------------------------------------------- */

static void test_fin_before_late_data(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 7, LW_TCP_ACK | LW_TCP_FIN, "ghi"); /* FIN at 10, "def" still due */
    assert_true(t->st.dir[0].fin);
    assert_int_equal(t->st.dir[0].fin_seq, 10);
    seg(t, 0, 4, LW_TCP_ACK, "def");
    assert_out(t, 0, "abcdefghi");
    assert_int_equal(C(t, LW_STREAM_CTR_AFTER_CLOSE), 0);
}

static void test_data_after_fin_not_delivered(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 1, LW_TCP_ACK | LW_TCP_FIN, "abc");
    seg(t, 0, 5, LW_TCP_ACK, "def");
    assert_out(t, 0, "abc");
    assert_int_equal(C(t, LW_STREAM_CTR_AFTER_CLOSE), 1);
    seg(t, 0, 3, LW_TCP_ACK, "cXYZ"); /* straddles the FIN: nothing new below it */
    assert_out(t, 0, "abc");
    assert_int_equal(C(t, LW_STREAM_CTR_AFTER_CLOSE), 2);
}

static void test_fin_drops_buffered_beyond_it(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 8, LW_TCP_ACK, "hijk");
    seg(t, 0, 20, LW_TCP_ACK, "uvw");
    seg(t, 0, 4, LW_TCP_ACK | LW_TCP_FIN, "def"); /* FIN at 7... */
    assert_int_equal(C(t, LW_STREAM_CTR_AFTER_CLOSE), 1);
    assert_int_equal(t->pool.used, 3 + OH); /* only "def" stays */
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    assert_out(t, 0, "abcdef");
}

static void test_fin_cuts_buffered_record_it_falls_in(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0, LW_TCP_SYN, NULL);
    seg(t, 0, 4, LW_TCP_ACK, "de");   /* before the FIN: kept whole */
    seg(t, 0, 8, LW_TCP_ACK, "hijk"); /* the FIN falls inside: [8,10) kept */
    seg_ack(t, 0, 10, 0, LW_TCP_FIN); /* bare FIN, fin_seq 10 */
    assert_int_equal(C(t, LW_STREAM_CTR_AFTER_CLOSE), 1);
    assert_int_equal(t->st.dir[0].buffered, 4);
    assert_int_equal(t->pool.used, 4 + 2 * OH);
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 6, LW_TCP_ACK, "fg");
    assert_out(t, 0, "abcdefghi");
    assert_int_equal(t->out.gaps[0], 0);
}

static void test_forged_fin_behind_ignored(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 1, LW_TCP_ACK, "abcdef");
    seg_ack(t, 0, 2, 0, LW_TCP_FIN); /* fin_seq 2, below next_seq 7 */
    assert_false(t->st.dir[0].fin);
    assert_int_equal(C(t, LW_STREAM_CTR_OUT_OF_WINDOW), 1);
    seg(t, 0, 7, LW_TCP_ACK, "g");
    assert_out(t, 0, "abcdefg");
    assert_int_equal(C(t, LW_STREAM_CTR_AFTER_CLOSE), 0);
}

static void test_out_of_window_not_buffered(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 1, LW_TCP_ACK, "abc");
    seg(t, 0, 4 + (1u << 30) + 1, LW_TCP_ACK, "far");
    assert_int_equal(C(t, LW_STREAM_CTR_OUT_OF_WINDOW), 1);
    assert_int_equal(t->pool.used, 0);
    seg(t, 0, 4 + (1u << 30), LW_TCP_ACK, "edge"); /* at the window's edge */
    assert_int_equal(C(t, LW_STREAM_CTR_OUT_OF_WINDOW), 1);
    assert_int_equal(t->st.dir[0].seg_count, 1);
}

static void test_data_on_syn(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 100, LW_TCP_SYN, "tfo"); /* TCP Fast Open data */
    seg(t, 0, 104, LW_TCP_ACK, "rest");
    assert_out(t, 0, "tforest");
    assert_int_equal(t->out.gaps[0], 0);
    assert_int_equal(C(t, LW_STREAM_CTR_MIDSTREAM), 0);
}

static void test_syn_new_isn_after_data_ignored(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 100, LW_TCP_SYN, NULL);
    seg(t, 0, 101, LW_TCP_ACK, "abc");
    seg(t, 0, 9000, LW_TCP_SYN, NULL);
    assert_int_equal(t->st.dir[0].next_seq, 104);
    seg(t, 0, 104, LW_TCP_ACK, "def");
    assert_out(t, 0, "abcdef");
}

static void test_syn_retransmitted_before_data(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 100, LW_TCP_SYN, NULL);
    seg(t, 0, 700, LW_TCP_SYN, NULL); /* new ISN, nothing delivered yet */
    seg(t, 0, 701, LW_TCP_ACK, "abc");
    assert_out(t, 0, "abc");
    assert_int_equal(C(t, LW_STREAM_CTR_OOO_SEGMENTS), 0);
}

static void test_sequence_wraps(void **state)
{
    t_ctx *t = *state;
    seg(t, 0, 0xfffffffdu, LW_TCP_ACK, "abcd"); /* crosses 2^32 */
    seg(t, 0, 3, LW_TCP_ACK, "gh");             /* ahead across the wrap */
    seg(t, 0, 1, LW_TCP_ACK, "ef");
    seg(t, 0, 0xffffffffu, LW_TCP_ACK, "cd"); /* old: retransmission */
    assert_out(t, 0, "abcdefgh");
    assert_int_equal(t->out.gaps[0], 0);
    assert_int_equal(C(t, LW_STREAM_CTR_RETRANSMIT), 1);
}

static void test_directions_are_independent(void **state)
{
    t_ctx *t = *state;
    handshake(t);
    seg(t, 1, 501, LW_TCP_ACK, "srv");
    seg(t, 0, 5, LW_TCP_ACK, "efg");
    seg(t, 0, 1, LW_TCP_ACK, "abcd");
    assert_out(t, 0, "abcdefg");
    assert_out(t, 1, "srv");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_contiguous),
        cmocka_unit_test(test_matrix_duplicate),
        cmocka_unit_test(test_matrix_overlap_same),
        cmocka_unit_test(test_matrix_overlap_differ),
        cmocka_unit_test(test_matrix_one_byte),
        cmocka_unit_test(test_matrix_missing),
        T(test_in_order_after_syn_zero_copy),
        T(test_midstream_pickup),
        T(test_pure_ack_is_not_a_segment),
        T(test_out_of_order_buffered_then_drained),
        T(test_retransmission_not_delivered_twice),
        T(test_retransmission_of_buffered_segment),
        T(test_partial_retransmission_is_overlap),
        T(test_overlap_mismatch_first_copy_wins),
        T(test_overlap_same_bytes_no_mismatch),
        T(test_adjacent_segments_no_overlap),
        T(test_segment_fills_several_holes),
        T(test_in_order_segment_over_buffered),
        T(test_flush_marks_gap),
        T(test_flush_without_hole_no_gap),
        T(test_release_frees_without_delivery),
        T(test_ack_declares_gap),
        T(test_ack_beyond_buffer_marks_next_run),
        T(test_ack_ignored_without_ack_flag),
        T(test_ack_equal_or_behind_is_no_gap),
        T(test_ack_absurdly_far_ignored),
        T(test_ack_of_fin_is_no_gap),
        T(test_ack_for_unknown_direction_ignored),
        T(test_flow_cap_bytes),
        T(test_flow_cap_segments),
        T(test_flow_cap_segment_between_records),
        T(test_zero_caps_never_buffer),
        T(test_memcap_across_two_streams),
        T(test_snaplen_cut_in_order),
        T(test_snaplen_cut_out_of_order),
        T(test_snaplen_cut_whole_payload),
        T(test_depth_limits_delivery),
        T(test_depth_exactly_reached_not_counted),
        T(test_depth_not_buffered_beyond),
        T(test_fin_before_late_data),
        T(test_data_after_fin_not_delivered),
        T(test_fin_drops_buffered_beyond_it),
        T(test_fin_cuts_buffered_record_it_falls_in),
        T(test_forged_fin_behind_ignored),
        T(test_out_of_window_not_buffered),
        T(test_data_on_syn),
        T(test_syn_new_isn_after_data_ignored),
        T(test_syn_retransmitted_before_data),
        T(test_sequence_wraps),
        T(test_directions_are_independent),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
