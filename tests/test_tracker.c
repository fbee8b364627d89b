/* test_tracker.c - unit tests of the per-partition offset tracker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tracker.h"

/* ---- scripted scenarios ------------------------------------------------ */

enum op {
    OP_END = 0, /* end of a script */
    OP_ADD,     /* tracker_add(arg = offset, n = actions) */
    OP_DONE,    /* tracker_done(seq of the arg-th successful add) */
    OP_MORE,    /* tracker_more(seq of the arg-th successful add, n) */
    OP_DONE_RAW /* tracker_done(arg as a raw seq) */
};

/* One step and the state expected right after it. */
struct step {
    enum op op;
    int64_t arg;
    unsigned n;
    int ret;         /* expected return value */
    int64_t commit;  /* expected tracker_commit_offset() */
    size_t inflight; /* expected tracker_inflight() */
    int64_t oldest;  /* expected tracker_oldest_pending() */
};

#define MAX_STEPS 32

struct scenario {
    const char *name;
    struct step steps[MAX_STEPS];
};

static const struct scenario scenarios[] = {
    {"in order completion advances one by one",
     {{OP_ADD, 10, 1, 0, -1, 1, 10},
      {OP_ADD, 11, 1, 0, -1, 2, 10},
      {OP_ADD, 12, 1, 0, -1, 3, 10},
      {OP_DONE, 0, 0, 0, 11, 2, 11},
      {OP_DONE, 1, 0, 0, 12, 1, 12},
      {OP_DONE, 2, 0, 0, 13, 0, -1}}},
    {"out of order: commit waits for the oldest then jumps",
     {{OP_ADD, 1, 1, 0, -1, 1, 1},
      {OP_ADD, 2, 1, 0, -1, 2, 1},
      {OP_ADD, 3, 1, 0, -1, 3, 1},
      {OP_DONE, 2, 0, 0, -1, 3, 1},
      {OP_DONE, 1, 0, 0, -1, 3, 1},
      {OP_DONE, 0, 0, 0, 4, 0, -1}}},
    {"out of order: partial jump stops at the next pending",
     {{OP_ADD, 1, 1, 0, -1, 1, 1},
      {OP_ADD, 2, 1, 0, -1, 2, 1},
      {OP_ADD, 3, 1, 0, -1, 3, 1},
      {OP_ADD, 4, 1, 0, -1, 4, 1},
      {OP_DONE, 1, 0, 0, -1, 4, 1},
      {OP_DONE, 3, 0, 0, -1, 4, 1},
      {OP_DONE, 0, 0, 0, 3, 2, 3},
      {OP_DONE, 2, 0, 0, 5, 0, -1}}},
    {"fan-out: an offset with 3 actions is done after the third",
     {{OP_ADD, 7, 3, 0, -1, 1, 7},
      {OP_DONE, 0, 0, 0, -1, 1, 7},
      {OP_DONE, 0, 0, 0, -1, 1, 7},
      {OP_DONE, 0, 0, 0, 8, 0, -1},
      {OP_DONE, 0, 0, -1, 8, 0, -1}}},
    {"more: a failed produce adds a dead-letter action",
     {{OP_ADD, 5, 1, 0, -1, 1, 5},
      {OP_ADD, 6, 1, 0, -1, 2, 5},
      {OP_MORE, 0, 1, 0, -1, 2, 5},
      {OP_DONE, 0, 0, 0, -1, 2, 5}, /* the failed produce */
      {OP_DONE, 1, 0, 0, -1, 2, 5},
      {OP_DONE, 0, 0, 0, 7, 0, -1}, /* the dead letter */
      {OP_MORE, 0, 1, -1, 7, 0, -1}}},
    {"more on a done entry held behind a pending one is rejected",
     {{OP_ADD, 1, 1, 0, -1, 1, 1},
      {OP_ADD, 2, 1, 0, -1, 2, 1},
      {OP_DONE, 1, 0, 0, -1, 2, 1},
      {OP_MORE, 1, 1, -1, -1, 2, 1},
      {OP_DONE, 1, 0, -1, -1, 2, 1},
      {OP_DONE, 0, 0, 0, 3, 0, -1}}},
    {"zero-action entries (dropped by rule) advance the watermark",
     {{OP_ADD, 0, 0, 0, 1, 0, -1},
      {OP_ADD, 1, 0, 0, 2, 0, -1},
      {OP_ADD, 2, 1, 0, 2, 1, 2},
      {OP_ADD, 3, 0, 0, 2, 2, 2},
      {OP_ADD, 4, 0, 0, 2, 3, 2},
      {OP_DONE, 2, 0, 0, 5, 0, -1},
      {OP_DONE, 3, 0, -1, 5, 0, -1}}},
    {"offset gaps: commit is last done + 1, not the next offset",
     {{OP_ADD, 5, 1, 0, -1, 1, 5},
      {OP_ADD, 9, 1, 0, -1, 2, 5},
      {OP_DONE, 0, 0, 0, 6, 1, 9},
      {OP_ADD, 100, 0, 0, 6, 2, 9},
      {OP_DONE, 1, 0, 0, 101, 0, -1},
      {OP_ADD, 1000, 1, 0, 101, 1, 1000},
      {OP_DONE, 3, 0, 0, 1001, 0, -1}}},
    {"non-increasing and negative offsets are rejected",
     {{OP_ADD, 10, 1, 0, -1, 1, 10},
      {OP_ADD, 10, 1, -1, -1, 1, 10},
      {OP_ADD, 9, 1, -1, -1, 1, 10},
      {OP_ADD, -1, 1, -1, -1, 1, 10},
      {OP_ADD, 11, 0, 0, -1, 2, 10},
      {OP_ADD, 11, 0, -1, -1, 2, 10},
      {OP_DONE, 0, 0, 0, 12, 0, -1},
      {OP_ADD, 11, 1, -1, 12, 0, -1},
      {OP_ADD, 12, 1, 0, 12, 1, 12}}},
    {"negative first offset is rejected",
     {{OP_ADD, -5, 1, -1, -1, 0, -1},
      {OP_ADD, 0, 1, 0, -1, 1, 0},
      {OP_DONE, 0, 0, 0, 1, 0, -1}}},
    {"double done is rejected and changes nothing",
     {{OP_ADD, 1, 1, 0, -1, 1, 1},
      {OP_ADD, 2, 1, 0, -1, 2, 1},
      {OP_DONE, 1, 0, 0, -1, 2, 1},
      {OP_DONE, 1, 0, -1, -1, 2, 1},
      {OP_DONE, 0, 0, 0, 3, 0, -1},
      {OP_DONE, 0, 0, -1, 3, 0, -1},
      {OP_DONE, 1, 0, -1, 3, 0, -1}}},
    {"unknown seq is rejected",
     {{OP_DONE_RAW, 0, 0, -1, -1, 0, -1},
      {OP_ADD, 1, 1, 0, -1, 1, 1},
      {OP_DONE_RAW, 1, 0, -1, -1, 1, 1},
      {OP_DONE_RAW, 12345, 0, -1, -1, 1, 1},
      {OP_DONE_RAW, (int64_t)INT64_MAX, 0, -1, -1, 1, 1},
      {OP_DONE_RAW, 0, 0, 0, 2, 0, -1},
      {OP_DONE_RAW, 0, 0, -1, 2, 0, -1}}},
    {"oldest pending follows the head",
     {{OP_ADD, 3, 2, 0, -1, 1, 3},
      {OP_ADD, 4, 1, 0, -1, 2, 3},
      {OP_ADD, 8, 1, 0, -1, 3, 3},
      {OP_DONE, 0, 0, 0, -1, 3, 3},
      {OP_DONE, 1, 0, 0, -1, 3, 3},
      {OP_DONE, 0, 0, 0, 5, 1, 8},
      {OP_DONE, 2, 0, 0, 9, 0, -1}}},
    /* The partition is revoked while 1 and 3 are still pending: the
     * commit offset stays at the last contiguous done; the pipeline waits
     * for tracker_inflight() == 0 before destroying the tracker. */
    {"partition revoked mid-flight: commit waits, then reaches the end",
     {{OP_ADD, 0, 1, 0, -1, 1, 0},
      {OP_ADD, 1, 2, 0, -1, 2, 0},
      {OP_ADD, 2, 1, 0, -1, 3, 0},
      {OP_ADD, 3, 1, 0, -1, 4, 0},
      {OP_DONE, 0, 0, 0, 1, 3, 1},
      {OP_DONE, 2, 0, 0, 1, 3, 1},
      {OP_DONE, 1, 0, 0, 1, 3, 1},
      /* revoked here: no more adds */
      {OP_DONE, 3, 0, 0, 1, 3, 1},
      {OP_DONE, 1, 0, 0, 4, 0, -1}}},
};

static void run_scenario(const struct scenario *sc)
{
    uint64_t seqs[MAX_STEPS];
    size_t nseq = 0;
    tracker_t *tr;
    size_t i;

    tr = tracker_create("t", 0);
    assert_non_null(tr);
    for (i = 0; i < MAX_STEPS && sc->steps[i].op != OP_END; i++) {
        const struct step *st = &sc->steps[i];
        uint64_t seq = UINT64_MAX;
        int ret = -2;

        switch (st->op) {
        case OP_ADD:
            ret = tracker_add(tr, st->arg, st->n, &seq);
            if (ret == 0)
                seqs[nseq++] = seq;
            else
                assert_int_equal(seq, UINT64_MAX);
            break;
        case OP_DONE:
            assert_true((size_t)st->arg < nseq);
            ret = tracker_done(tr, seqs[st->arg]);
            break;
        case OP_MORE:
            assert_true((size_t)st->arg < nseq);
            ret = tracker_more(tr, seqs[st->arg], st->n);
            break;
        case OP_DONE_RAW:
            ret = tracker_done(tr, (uint64_t)st->arg);
            break;
        case OP_END:
            break;
        }
        if (ret != st->ret || tracker_commit_offset(tr) != st->commit ||
            tracker_inflight(tr) != st->inflight ||
            tracker_oldest_pending(tr) != st->oldest)
            fail_msg(
                "%s: step %zu: ret %d (want %d) commit %lld (want "
                "%lld) inflight %zu (want %zu) oldest %lld (want %lld)",
                sc->name, i, ret, st->ret, (long long)tracker_commit_offset(tr),
                (long long)st->commit, tracker_inflight(tr), st->inflight,
                (long long)tracker_oldest_pending(tr), (long long)st->oldest);
    }
    tracker_destroy(tr);
}

static void test_scripted_scenarios(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run_scenario(&scenarios[i]);
}

/* ---- single behaviours --------------------------------------------------- */

static void test_create_keeps_topic_and_partition(void **state)
{
    char name[] = "music.events";
    tracker_t *tr;

    (void)state;
    tr = tracker_create(name, 7);
    assert_non_null(tr);
    name[0] = 'X'; /* the tracker owns a copy */
    assert_string_equal(tracker_topic(tr), "music.events");
    assert_int_equal(tracker_partition(tr), 7);
    assert_int_equal(tracker_commit_offset(tr), -1);
    assert_int_equal(tracker_inflight(tr), 0);
    assert_int_equal(tracker_oldest_pending(tr), -1);
    tracker_destroy(tr);
    tracker_destroy(NULL);
}

static void test_add_without_seq_pointer(void **state)
{
    tracker_t *tr = tracker_create("t", 1);

    (void)state;
    assert_non_null(tr);
    assert_int_equal(tracker_add(tr, 4, 0, NULL), 0);
    assert_int_equal(tracker_commit_offset(tr), 5);
    assert_int_equal(tracker_add(tr, 5, 1, NULL), 0);
    /* The first add got seq 0, so this one has seq 1. */
    assert_int_equal(tracker_done(tr, 1), 0);
    assert_int_equal(tracker_commit_offset(tr), 6);
    tracker_destroy(tr);
}

static void test_seqs_increase_by_one(void **state)
{
    tracker_t *tr = tracker_create("t", 0);
    uint64_t seq, prev = 0;
    int64_t off;

    (void)state;
    assert_non_null(tr);
    for (off = 0; off < 10; off++) {
        assert_int_equal(tracker_add(tr, off * 2, off % 2, &seq), 0);
        if (off > 0)
            assert_int_equal(seq, prev + 1);
        prev = seq;
    }
    tracker_destroy(tr);
}

static void test_more_overflow_is_rejected(void **state)
{
    tracker_t *tr = tracker_create("t", 0);
    uint64_t seq;

    (void)state;
    assert_non_null(tr);
    assert_int_equal(tracker_add(tr, 1, 1, &seq), 0);
    assert_int_equal(tracker_more(tr, seq, (unsigned)-1), -1);
    assert_int_equal(tracker_more(tr, seq, (unsigned)-2), 0);
    assert_int_equal(tracker_more(tr, seq, 1), -1);
    assert_int_equal(tracker_more(tr, seq + 1, 1), -1);
    tracker_destroy(tr);
}

/* A released entry's slot is reused by a later seq: the stale seq must be
 * refused and must not touch the entry now in that slot. */
static void test_stale_seq_does_not_touch_reused_slot(void **state)
{
    enum { N = 200 };
    tracker_t *tr = tracker_create("t", 0);
    uint64_t seqs[N];
    int i, j;

    (void)state;
    assert_non_null(tr);
    for (i = 0; i < N; i++) {
        assert_int_equal(tracker_add(tr, i, 1, &seqs[i]), 0);
        for (j = 0; j < i; j++) {
            assert_int_equal(tracker_done(tr, seqs[j]), -1);
            assert_int_equal(tracker_more(tr, seqs[j], 1), -1);
        }
        assert_int_equal(tracker_inflight(tr), 1);
        assert_int_equal(tracker_oldest_pending(tr), i);
        assert_int_equal(tracker_done(tr, seqs[i]), 0);
        assert_int_equal(tracker_commit_offset(tr), i + 1);
    }
    tracker_destroy(tr);
}

/* The ring wraps (head past slot 0) before it has to grow: entries must keep
 * their seq -> slot mapping across the growth. */
static void test_growth_after_wraparound(void **state)
{
    enum { FIRST = 50, DONE_FIRST = 40, MORE = 300 };
    tracker_t *tr = tracker_create("t", 0);
    uint64_t seqs[FIRST + MORE];
    int i;

    (void)state;
    assert_non_null(tr);
    for (i = 0; i < FIRST; i++)
        assert_int_equal(tracker_add(tr, 1000 + i, 1, &seqs[i]), 0);
    for (i = 0; i < DONE_FIRST; i++)
        assert_int_equal(tracker_done(tr, seqs[i]), 0);
    assert_int_equal(tracker_commit_offset(tr), 1000 + DONE_FIRST);
    for (i = FIRST; i < FIRST + MORE; i++)
        assert_int_equal(tracker_add(tr, 1000 + i, 1, &seqs[i]), 0);
    assert_int_equal(tracker_inflight(tr), FIRST + MORE - DONE_FIRST);
    assert_int_equal(tracker_oldest_pending(tr), 1000 + DONE_FIRST);
    /* Complete newest first: the commit must not move until the oldest. */
    for (i = FIRST + MORE - 1; i > DONE_FIRST; i--) {
        assert_int_equal(tracker_done(tr, seqs[i]), 0);
        assert_int_equal(tracker_commit_offset(tr), 1000 + DONE_FIRST);
    }
    assert_int_equal(tracker_done(tr, seqs[DONE_FIRST]), 0);
    assert_int_equal(tracker_commit_offset(tr), 1000 + FIRST + MORE);
    assert_int_equal(tracker_inflight(tr), 0);
    /* All released: every seq is now unknown. */
    for (i = 0; i < FIRST + MORE; i++)
        assert_int_equal(tracker_done(tr, seqs[i]), -1);
    tracker_destroy(tr);
}

/* ---- random completion order against a reference model ----------------- */

/* xorshift64: deterministic, good enough for test schedules. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    uint64_t x = rnd_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rnd_state = x;
    return x;
}

/* Reference model: plain arrays of every entry ever added. */
struct model {
    int64_t *offset;
    unsigned *pending;
    uint64_t *seq;
    size_t n;     /* entries added */
    size_t first; /* first entry with a pending action, or n */
};

static void model_check(struct model *m, const tracker_t *tr)
{
    int64_t commit, oldest;

    while (m->first < m->n && m->pending[m->first] == 0)
        m->first++;
    commit = m->first > 0 ? m->offset[m->first - 1] + 1 : -1;
    oldest = m->first < m->n ? m->offset[m->first] : -1;
    assert_int_equal(tracker_commit_offset(tr), commit);
    assert_int_equal(tracker_oldest_pending(tr), oldest);
    assert_int_equal(tracker_inflight(tr), m->n - m->first);
}

static void test_random_order_matches_model(void **state)
{
    enum { N = 20000 };
    struct model m = {0};
    size_t *open; /* entries with pending actions, in no order */
    size_t nopen = 0, peak = 0;
    int64_t off = 0;
    tracker_t *tr;

    (void)state;
    m.offset = calloc(N, sizeof(*m.offset));
    m.pending = calloc(N, sizeof(*m.pending));
    m.seq = calloc(N, sizeof(*m.seq));
    open = calloc(N, sizeof(*open));
    tr = tracker_create("t", 3);
    assert_non_null(m.offset);
    assert_non_null(m.pending);
    assert_non_null(m.seq);
    assert_non_null(open);
    assert_non_null(tr);

    while (m.n < N || nopen > 0) {
        uint64_t r = rnd();

        if (m.n < N && (nopen == 0 || r % 10 < 6)) {
            unsigned actions = (unsigned)(rnd() % 4); /* 0..3 */

            off += 1 + (int64_t)(rnd() % 8 == 0 ? rnd() % 50 : 0);
            assert_int_equal(tracker_add(tr, off, actions, &m.seq[m.n]), 0);
            m.offset[m.n] = off;
            m.pending[m.n] = actions;
            if (actions)
                open[nopen++] = m.n;
            m.n++;
        } else {
            size_t k = (size_t)(rnd() % nopen), e = open[k];

            if (rnd() % 20 == 0) {
                /* A produce failed: its dead letter is one more action. */
                assert_int_equal(tracker_more(tr, m.seq[e], 1), 0);
                m.pending[e]++;
            }
            assert_int_equal(tracker_done(tr, m.seq[e]), 0);
            if (--m.pending[e] == 0) {
                open[k] = open[--nopen];
                /* Done twice is refused, held or released. */
                assert_int_equal(tracker_done(tr, m.seq[e]), -1);
                assert_int_equal(tracker_more(tr, m.seq[e], 1), -1);
            }
        }
        model_check(&m, tr);
        if (tracker_inflight(tr) > peak)
            peak = tracker_inflight(tr);
    }
    /* The window must have grown the ring many times over. */
    assert_true(peak > 2000);
    assert_int_equal(tracker_inflight(tr), 0);
    assert_int_equal(tracker_commit_offset(tr), off + 1);

    tracker_destroy(tr);
    free(open);
    free(m.seq);
    free(m.pending);
    free(m.offset);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripted_scenarios),
        cmocka_unit_test(test_create_keeps_topic_and_partition),
        cmocka_unit_test(test_add_without_seq_pointer),
        cmocka_unit_test(test_seqs_increase_by_one),
        cmocka_unit_test(test_more_overflow_is_rejected),
        cmocka_unit_test(test_stale_seq_does_not_touch_reused_slot),
        cmocka_unit_test(test_growth_after_wraparound),
        cmocka_unit_test(test_random_order_matches_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
