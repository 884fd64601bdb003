/*
 * test_loader.c — unit tests for src/data/loader.c.
 *
 * Why this file exists: the data-loading benchmark is only as honest as
 * the loader's schedule. These tests check that batches arrive in order
 * with the right items in both modes and any worker count, that worker w
 * loads batches w, w+W, ..., that a slow consumer never has more than the
 * prefetch window loaded ahead (and does have it), that failing items are
 * counted, named once and replaced by the batch's next items, that a source
 * whose every item fails ends in an error, and that close and the stop flag
 * return promptly.
 *
 * The data source is a fake defined here: this file provides
 * bb_source_items and bb_source_load, so the linker never pulls the real
 * src/data/source.o from the library. An item's floats hold its index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "util/clock.h"

/* ---- the fake source ---------------------------------------------------------- */

#define MAX_ITEMS 4096

struct bb_source {
    int64_t n;
    const unsigned char *fails; /* fails[i]: item i fails to load (may be NULL) */
    int fail_all;
    long delay_ns;              /* per item */
    atomic_llong loads;         /* loads started */
    pthread_t *who;             /* who[i]: the thread that last loaded item i (may be NULL) */
};

int64_t bb_source_items(const bb_source *s)
{
    return s->n;
}

int64_t bb_source_load(const bb_source *cs, int64_t i, float *dst, bb_err *err)
{
    bb_source *s = (bb_source *)cs; /* the counter: a test's instrument */
    atomic_fetch_add(&s->loads, 1);
    if (s->delay_ns) {
        struct timespec ts = {s->delay_ns / 1000000000L, s->delay_ns % 1000000000L};
        nanosleep(&ts, NULL);
    }
    if (s->who)
        s->who[i] = pthread_self();
    if (s->fail_all || (s->fails && s->fails[i]))
        return bb_err_set(err, "fake/item-%05lld.jpg: corrupt", (long long)i);
    dst[0] = dst[BB_ITEM_FLOATS / 2] = dst[BB_ITEM_FLOATS - 1] = (float)i;
    return 1000;
}

static void fake_init(bb_source *s, int64_t n)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    atomic_init(&s->loads, 0);
}

static bb_loader_cfg make_cfg(const bb_source *s, bb_load_mode mode, int workers, int64_t batch, int64_t n,
                              int prefetch)
{
    return (bb_loader_cfg){.source = s, .workers = workers, .batch = batch, .n_batches = n, .mode = mode,
                           .prefetch = prefetch};
}

static float item_at(const float *data, int64_t p)
{
    const float *x = data + p * BB_ITEM_FLOATS;
    assert_true(x[0] == x[BB_ITEM_FLOATS / 2] && x[0] == x[BB_ITEM_FLOATS - 1]);
    return x[0];
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- order and content -------------------------------------------------------- */

static void check_in_order(bb_load_mode mode, int workers)
{
    bb_source src;
    fake_init(&src, 23); /* not a multiple of the batch: the items wrap */
    bb_loader_cfg cfg = make_cfg(&src, mode, workers, 5, 13, 2);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    for (int64_t b = 0; b < 13; b++) {
        float *data;
        bb_batch_info info;
        assert_int_equal(bb_loader_next(l, &data, &info, &err), 0);
        assert_int_equal(info.index, b);
        assert_int_equal(info.skipped, 0);
        assert_int_equal(info.bytes, 5 * 1000);
        assert_true(info.load_s >= 0.0);
        for (int64_t p = 0; p < 5; p++)
            assert_int_equal((int64_t)item_at(data, p), (b * 5 + p) % 23);
        bb_loader_release(l, data);
    }
    float *data;
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), 1);
    assert_null(data);
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), 1);
    assert_int_equal(bb_loader_skipped(l), 0);
    bb_loader_close(l);
    assert_int_equal(atomic_load(&src.loads), 13 * 5);
}

static void test_order_batches(void **state)
{
    (void)state;
    for (int w = 1; w <= 4; w++)
        check_in_order(BB_LOAD_BATCHES, w);
    check_in_order(BB_LOAD_BATCHES, 20); /* more workers than batches */
}

static void test_order_items(void **state)
{
    (void)state;
    for (int w = 1; w <= 4; w++)
        check_in_order(BB_LOAD_ITEMS, w);
}

/* BB_LOAD_BATCHES: one thread loads a whole batch, batches b and b+W share
 * a thread, consecutive batches do not. */
static void test_worker_assignment(void **state)
{
    (void)state;
    enum { W = 3, B = 4, N = 9 };
    pthread_t who[B * N];
    bb_source src;
    fake_init(&src, B * N);
    src.who = who;
    src.delay_ns = 200000; /* so that no worker finishes before the others start */
    bb_loader_cfg cfg = make_cfg(&src, BB_LOAD_BATCHES, W, B, N, 1);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    float *data;
    for (int b = 0; b < N; b++) {
        assert_int_equal(bb_loader_next(l, &data, NULL, &err), 0);
        bb_loader_release(l, data);
    }
    bb_loader_close(l);
    for (int b = 0; b < N; b++) {
        for (int p = 1; p < B; p++)
            assert_true(pthread_equal(who[b * B], who[b * B + p]));
        if (b + W < N)
            assert_true(pthread_equal(who[b * B], who[(b + W) * B]));
        if (b + 1 < N)
            assert_false(pthread_equal(who[b * B], who[(b + 1) * B]));
    }
}

/* ---- the prefetch window ------------------------------------------------------- */

/* Waits (up to 5 s) until the source has started `want` loads, then a little
 * longer, and checks it never went past it. */
static void expect_loads(bb_source *src, long long want)
{
    for (int i = 0; i < 500 && atomic_load(&src->loads) < want; i++)
        sleep_ms(10);
    sleep_ms(30);
    assert_int_equal(atomic_load(&src->loads), want);
}

static void check_window(bb_load_mode mode, int workers, int prefetch, int64_t window)
{
    enum { B = 4, N = 12 };
    bb_source src;
    fake_init(&src, 1000);
    bb_loader_cfg cfg = make_cfg(&src, mode, workers, B, N, prefetch);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    expect_loads(&src, (window < N ? window : N) * B);
    for (int64_t k = 0; k < N; k++) {
        float *data;
        assert_int_equal(bb_loader_next(l, &data, NULL, &err), 0);
        int64_t ahead = k + 1 + window; /* delivered + window */
        assert_true(atomic_load(&src.loads) <= (ahead < N ? ahead : N) * B);
        expect_loads(&src, (ahead < N ? ahead : N) * B);
        bb_loader_release(l, data);
    }
    bb_loader_close(l);
}

static void test_prefetch_bound(void **state)
{
    (void)state;
    check_window(BB_LOAD_BATCHES, 3, 2, 6);
    check_window(BB_LOAD_BATCHES, 2, 1, 2);
    check_window(BB_LOAD_BATCHES, 1, 0, 2); /* 0 = the default, 2 */
    check_window(BB_LOAD_ITEMS, 3, 2, 2);
    check_window(BB_LOAD_ITEMS, 2, 3, 3);
}

/* ---- skipped items -------------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Items 3, 9 and 10 of 20 fail; batches of 5, two passes. Batch 0 replaces
 * 3 by its first spare, 5; batch 1 replaces 9 by 10, which fails too, then
 * 11; batch 2 replaces 10 by 15. */
static void check_skips(bb_load_mode mode, int workers)
{
    static const float want[4][5] = {{0, 1, 2, 4, 5}, {5, 6, 7, 8, 11}, {11, 12, 13, 14, 15}, {15, 16, 17, 18, 19}};
    static const int64_t want_skipped[4] = {1, 2, 1, 0};
    unsigned char fails[20] = {0};
    fails[3] = fails[9] = fails[10] = 1;
    bb_source src;
    fake_init(&src, 20);
    src.fails = fails;
    char *log = NULL;
    size_t log_len = 0;
    FILE *logf = open_memstream(&log, &log_len);
    assert_non_null(logf);
    bb_loader_cfg cfg = make_cfg(&src, mode, workers, 5, 8, 2);
    cfg.log = logf;
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    for (int b = 0; b < 8; b++) {
        float *data, got[5];
        bb_batch_info info;
        assert_int_equal(bb_loader_next(l, &data, &info, &err), 0);
        for (int p = 0; p < 5; p++)
            got[p] = item_at(data, p);
        qsort(got, 5, sizeof *got, cmp_float); /* items mode fills failed positions in any order */
        for (int p = 0; p < 5; p++)
            assert_true(got[p] == want[b % 4][p]);
        assert_int_equal(info.skipped, want_skipped[b % 4]);
        assert_int_equal(info.bytes, 5 * 1000);
        bb_loader_release(l, data);
    }
    assert_int_equal(bb_loader_skipped(l), 8);
    bb_loader_close(l);
    fclose(logf);
    /* each failing item named once, with the source's message */
    assert_non_null(strstr(log, "skipped item 3: fake/item-00003.jpg: corrupt"));
    assert_non_null(strstr(log, "skipped item 9: fake/item-00009.jpg: corrupt"));
    assert_non_null(strstr(log, "skipped item 10: fake/item-00010.jpg: corrupt"));
    int lines = 0;
    for (const char *c = log; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 3);
    free(log);
}

static void test_skipped_items(void **state)
{
    (void)state;
    check_skips(BB_LOAD_BATCHES, 1);
    check_skips(BB_LOAD_BATCHES, 3);
    check_skips(BB_LOAD_ITEMS, 1);
    check_skips(BB_LOAD_ITEMS, 3);
}

static void check_all_fail(bb_load_mode mode, int workers)
{
    bb_source src;
    fake_init(&src, 30);
    src.fail_all = 1;
    char *log = NULL;
    size_t log_len = 0;
    FILE *logf = open_memstream(&log, &log_len);
    assert_non_null(logf);
    bb_loader_cfg cfg = make_cfg(&src, mode, workers, 8, 5, 2);
    cfg.log = logf;
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    float *data = (float *)&err;
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), -1);
    assert_null(data);
    assert_non_null(strstr(err.msg, "all 30 items of the data set failed to load"));
    assert_non_null(strstr(err.msg, "corrupt"));
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), -1);
    assert_true(bb_loader_skipped(l) >= 30);
    bb_loader_close(l);
    fclose(logf);
    int lines = 0;
    for (const char *c = log; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 20); /* named up to 20, then only counted */
    assert_non_null(strstr(log, "further skipped items are counted"));
    free(log);
}

static void test_all_failing(void **state)
{
    (void)state;
    check_all_fail(BB_LOAD_BATCHES, 1);
    check_all_fail(BB_LOAD_BATCHES, 3);
    check_all_fail(BB_LOAD_ITEMS, 2);
}

/* ---- close and stop ------------------------------------------------------------- */

static void check_close(bb_load_mode mode, long delay_ns, int wait_ms)
{
    bb_source src;
    fake_init(&src, 5000);
    src.delay_ns = delay_ns;
    bb_loader_cfg cfg = make_cfg(&src, mode, 2, 100, 100, 1);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    sleep_ms(wait_ms);
    double t0 = bb_now_s();
    bb_loader_close(l);
    assert_true(bb_now_s() - t0 < 0.5);
}

static void test_close_prompt(void **state)
{
    (void)state;
    /* workers waiting for the window to move (fast items, nobody consumes):
     * 2 workers x prefetch 1: two batches of 3 items in, then blocked */
    bb_source src;
    fake_init(&src, 100);
    bb_loader_cfg cfg = make_cfg(&src, BB_LOAD_BATCHES, 2, 3, 100, 1);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    expect_loads(&src, 2 * 3);
    double t0 = bb_now_s();
    bb_loader_close(l);
    assert_true(bb_now_s() - t0 < 0.5);
    /* workers in the middle of a 100-item batch at 20 ms per item */
    check_close(BB_LOAD_BATCHES, 20000000, 50);
    check_close(BB_LOAD_ITEMS, 20000000, 50);
    check_close(BB_LOAD_ITEMS, 0, 0); /* closed at once */
    bb_loader_close(NULL);
}

static volatile sig_atomic_t alarm_stop;

static void on_alarm(int sig)
{
    (void)sig;
    alarm_stop = 1;
}

static void test_stop_flag(void **state)
{
    (void)state;
    bb_source src;
    fake_init(&src, 5000);
    alarm_stop = 0;
    bb_loader_cfg cfg = make_cfg(&src, BB_LOAD_BATCHES, 2, 10, 50, 2);
    cfg.stop = &alarm_stop;
    bb_loader *l;
    bb_err err = {0};
    float *data;
    /* set between batches: the next call returns 1 */
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), 0);
    bb_loader_release(l, data);
    alarm_stop = 1;
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), 1);
    assert_null(data);
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), 1);
    bb_loader_close(l);
    /* set by a signal while next() waits for a slow batch (100 items at
     * 20 ms: 2 s): it returns within a few polls */
    alarm_stop = 0;
    src.delay_ns = 20000000;
    cfg.batch = 100, cfg.prefetch = 1;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = bb_now_s();
    assert_int_equal(bb_loader_next(l, &data, NULL, &err), 1);
    double waited = bb_now_s() - t0;
    assert_true(waited >= 0.05 && waited < 0.6);
    bb_loader_close(l);
    sigaction(SIGALRM, &old, NULL);
}

static void test_bad_config(void **state)
{
    (void)state;
    bb_source src;
    fake_init(&src, 10);
    bb_loader *l = (bb_loader *)&src;
    bb_err err = {0};
    bb_loader_cfg cfg = make_cfg(&src, BB_LOAD_BATCHES, 0, 4, 2, 2);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    assert_null(l);
    assert_non_null(strstr(err.msg, "workers"));
    cfg = make_cfg(&src, BB_LOAD_ITEMS, 1, 0, 2, 2);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    cfg = make_cfg(&src, BB_LOAD_ITEMS, 1, 4, 2, -1);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    fake_init(&src, 0);
    cfg = make_cfg(&src, BB_LOAD_ITEMS, 1, 4, 2, 2);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "no items"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_batches), cmocka_unit_test(test_order_items),
        cmocka_unit_test(test_worker_assignment), cmocka_unit_test(test_prefetch_bound),
        cmocka_unit_test(test_skipped_items), cmocka_unit_test(test_all_failing),
        cmocka_unit_test(test_close_prompt), cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
