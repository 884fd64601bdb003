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
 * return promptly. Each with worker threads and with worker processes
 * (BB_WORKERS_PROCESS); for processes also that close leaves no child (none
 * running, no zombie), that a worker that dies fails the loader naming it,
 * and that the caller may hold at most two batches of the shared pool.
 *
 * The data source is a fake defined here: this file provides
 * bb_source_items and bb_source_load, so the linker never pulls the real
 * src/data/source.o from the library. An item's floats hold its index. The
 * fake lives in a MAP_SHARED mapping, so that the loads counted and the
 * loaders recorded by worker processes are seen by the test.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

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
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

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
    int64_t die_at;             /* > 0: a worker process loading item die_at-1 exits with status 3 */
    pid_t parent;               /* the test's process */
    atomic_llong loads;         /* loads started */
    int record;                 /* who[] and pid[] are written (items < MAX_ITEMS) */
    pthread_t who[MAX_ITEMS];   /* the thread that last loaded item i */
    pid_t pid[MAX_ITEMS];       /* the process that last loaded item i */
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
    if (s->record && i < MAX_ITEMS)
        s->who[i] = pthread_self(), s->pid[i] = getpid();
    if (s->die_at && i == s->die_at - 1 && getpid() != s->parent)
        _exit(3);
    if (s->fail_all || (s->fails && s->fails[i]))
        return bb_err_set(err, "fake/item-%05lld.jpg: corrupt", (long long)i);
    dst[0] = dst[BB_ITEM_FLOATS / 2] = dst[BB_ITEM_FLOATS - 1] = (float)i;
    return 1000;
}

/* A fake of n items in a shared mapping (worker processes write to it too). */
static bb_source *fake_new(int64_t n)
{
    bb_source *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(s != MAP_FAILED);
    memset(s, 0, sizeof *s);
    s->n = n;
    s->parent = getpid();
    atomic_init(&s->loads, 0);
    return s;
}

static void fake_free(bb_source *s)
{
    munmap(s, sizeof *s);
}

static bb_loader_cfg make_cfg(const bb_source *s, bb_load_mode mode, int workers, int64_t batch, int64_t n,
                              int prefetch)
{
    return (bb_loader_cfg){.source = s, .workers = workers, .batch = batch, .n_batches = n, .mode = mode,
                           .prefetch = prefetch};
}

static bb_loader_cfg make_kind_cfg(const bb_source *s, bb_load_mode mode, int workers, int64_t batch, int64_t n,
                                   int prefetch, bb_worker_kind kind)
{
    bb_loader_cfg c = make_cfg(s, mode, workers, batch, n, prefetch);
    c.worker_kind = kind;
    return c;
}

/* After closing a loader of worker processes: no child of this process is
 * left, running or as a zombie (waitpid finds none to wait for). */
static void expect_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static const bb_worker_kind kinds[2] = {BB_WORKERS_THREAD, BB_WORKERS_PROCESS};

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

static void check_in_order(bb_load_mode mode, int workers, bb_worker_kind kind)
{
    bb_source *src = fake_new(23); /* not a multiple of the batch: the items wrap */
    bb_loader_cfg cfg = make_kind_cfg(src, mode, workers, 5, 13, 2, kind);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    assert_true(bb_loader_start_s(l) >= 0.0);
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
    assert_int_equal(atomic_load(&src->loads), 13 * 5);
    expect_no_children();
    fake_free(src);
}

static void test_order_batches(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        for (int w = 1; w <= 4; w++)
            check_in_order(BB_LOAD_BATCHES, w, kinds[k]);
        check_in_order(BB_LOAD_BATCHES, 20, kinds[k]); /* more workers than batches */
    }
}

static void test_order_items(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++)
        for (int w = 1; w <= 4; w++)
            check_in_order(BB_LOAD_ITEMS, w, kinds[k]);
}

/* BB_LOAD_BATCHES: one worker loads a whole batch, batches b and b+W share
 * a worker, consecutive batches do not (threads by pthread_self, processes
 * by pid: W distinct children, none of them the test). */
static void check_assignment(bb_worker_kind kind)
{
    enum { W = 3, B = 4, N = 9 };
    bb_source *src = fake_new(B * N);
    src->record = 1;
    src->delay_ns = 200000; /* so that no worker finishes before the others start */
    bb_loader_cfg cfg = make_kind_cfg(src, BB_LOAD_BATCHES, W, B, N, 1, kind);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    float *data;
    for (int b = 0; b < N; b++) {
        assert_int_equal(bb_loader_next(l, &data, NULL, &err), 0);
        bb_loader_release(l, data);
    }
    bb_loader_close(l);
    int proc = kind == BB_WORKERS_PROCESS;
    for (int b = 0; b < N; b++) {
        int i = b * B;
        assert_true(proc ? src->pid[i] != getpid() : src->pid[i] == getpid());
        for (int p = 1; p < B; p++)
            assert_true(proc ? src->pid[i] == src->pid[i + p] : pthread_equal(src->who[i], src->who[i + p]));
        if (b + W < N)
            assert_true(proc ? src->pid[i] == src->pid[i + W * B] : pthread_equal(src->who[i], src->who[i + W * B]));
        if (b + 1 < N)
            assert_false(proc ? src->pid[i] == src->pid[i + B] : pthread_equal(src->who[i], src->who[i + B]));
    }
    expect_no_children();
    fake_free(src);
}

static void test_worker_assignment(void **state)
{
    (void)state;
    check_assignment(BB_WORKERS_THREAD);
    check_assignment(BB_WORKERS_PROCESS);
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

static void check_window(bb_load_mode mode, int workers, int prefetch, int64_t window, bb_worker_kind kind)
{
    enum { B = 4, N = 12 };
    bb_source *src = fake_new(1000);
    bb_loader_cfg cfg = make_kind_cfg(src, mode, workers, B, N, prefetch, kind);
    assert_int_equal(bb_loader_buffers(&cfg), window + (kind == BB_WORKERS_PROCESS ? 2 : 1));
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    expect_loads(src, (window < N ? window : N) * B);
    for (int64_t k = 0; k < N; k++) {
        float *data;
        assert_int_equal(bb_loader_next(l, &data, NULL, &err), 0);
        int64_t ahead = k + 1 + window; /* delivered + window */
        assert_true(atomic_load(&src->loads) <= (ahead < N ? ahead : N) * B);
        expect_loads(src, (ahead < N ? ahead : N) * B);
        bb_loader_release(l, data);
    }
    bb_loader_close(l);
    expect_no_children();
    fake_free(src);
}

static void test_prefetch_bound(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        check_window(BB_LOAD_BATCHES, 3, 2, 6, kinds[k]);
        check_window(BB_LOAD_BATCHES, 2, 1, 2, kinds[k]);
        check_window(BB_LOAD_BATCHES, 1, 0, 2, kinds[k]); /* 0 = the default, 2 */
        check_window(BB_LOAD_ITEMS, 3, 2, 2, kinds[k]);
        check_window(BB_LOAD_ITEMS, 2, 3, 3, kinds[k]);
    }
}

/* ---- skipped items -------------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int count_lines(const char *log)
{
    int lines = 0;
    for (const char *c = log; *c; c++)
        lines += *c == '\n';
    return lines;
}

/* Items 3, 9 and 10 of 20 fail; batches of 5, two passes. Batch 0 replaces
 * 3 by its first spare, 5; batch 1 replaces 9 by 10, which fails too, then
 * 11; batch 2 replaces 10 by 15. */
static void check_skips(bb_load_mode mode, int workers, bb_worker_kind kind)
{
    static const float want[4][5] = {{0, 1, 2, 4, 5}, {5, 6, 7, 8, 11}, {11, 12, 13, 14, 15}, {15, 16, 17, 18, 19}};
    static const int64_t want_skipped[4] = {1, 2, 1, 0};
    unsigned char fails[20] = {0};
    fails[3] = fails[9] = fails[10] = 1;
    bb_source *src = fake_new(20);
    src->fails = fails;
    char *log = NULL;
    size_t log_len = 0;
    FILE *logf = open_memstream(&log, &log_len);
    assert_non_null(logf);
    bb_loader_cfg cfg = make_kind_cfg(src, mode, workers, 5, 8, 2, kind);
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
    assert_int_equal(count_lines(log), 3);
    free(log);
    expect_no_children();
    fake_free(src);
}

static void test_skipped_items(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        check_skips(BB_LOAD_BATCHES, 1, kinds[k]);
        check_skips(BB_LOAD_BATCHES, 3, kinds[k]);
        check_skips(BB_LOAD_ITEMS, 1, kinds[k]);
        check_skips(BB_LOAD_ITEMS, 3, kinds[k]);
    }
}

static void check_all_fail(bb_load_mode mode, int workers, bb_worker_kind kind)
{
    bb_source *src = fake_new(30);
    src->fail_all = 1;
    char *log = NULL;
    size_t log_len = 0;
    FILE *logf = open_memstream(&log, &log_len);
    assert_non_null(logf);
    bb_loader_cfg cfg = make_kind_cfg(src, mode, workers, 8, 5, 2, kind);
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
    assert_int_equal(count_lines(log), 20); /* named up to 20, then only counted */
    assert_non_null(strstr(log, "further skipped items are counted"));
    free(log);
    expect_no_children();
    fake_free(src);
}

static void test_all_failing(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        check_all_fail(BB_LOAD_BATCHES, 1, kinds[k]);
        check_all_fail(BB_LOAD_BATCHES, 3, kinds[k]);
        check_all_fail(BB_LOAD_ITEMS, 2, kinds[k]);
    }
}

/* ---- close and stop ------------------------------------------------------------- */

static void check_close(bb_load_mode mode, long delay_ns, int wait_ms, bb_worker_kind kind)
{
    bb_source *src = fake_new(5000);
    src->delay_ns = delay_ns;
    bb_loader_cfg cfg = make_kind_cfg(src, mode, 2, 100, 100, 1, kind);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    sleep_ms(wait_ms);
    double t0 = bb_now_s();
    bb_loader_close(l);
    assert_true(bb_now_s() - t0 < 0.5);
    expect_no_children();
    fake_free(src);
}

static void check_close_idle(bb_worker_kind kind)
{
    /* workers waiting for the window to move (fast items, nobody consumes):
     * 2 workers x prefetch 1: two batches of 3 items in, then blocked */
    bb_source *src = fake_new(100);
    bb_loader_cfg cfg = make_kind_cfg(src, BB_LOAD_BATCHES, 2, 3, 100, 1, kind);
    bb_loader *l;
    bb_err err = {0};
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    expect_loads(src, 2 * 3);
    double t0 = bb_now_s();
    bb_loader_close(l);
    assert_true(bb_now_s() - t0 < 0.5);
    expect_no_children();
    fake_free(src);
}

static void test_close_prompt(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        check_close_idle(kinds[k]);
        /* workers in the middle of a 100-item batch at 20 ms per item */
        check_close(BB_LOAD_BATCHES, 20000000, 50, kinds[k]);
        check_close(BB_LOAD_ITEMS, 20000000, 50, kinds[k]);
        check_close(BB_LOAD_ITEMS, 0, 0, kinds[k]); /* closed at once */
    }
    bb_loader_close(NULL);
}

/* Processes: the caller holds two batches (the most the shared pool allows),
 * a third next() is refused, a release lets it go on; close with both
 * batches still held leaves no child. */
static void test_process_held_batches(void **state)
{
    (void)state;
    bb_source *src = fake_new(100);
    bb_loader_cfg cfg = make_kind_cfg(src, BB_LOAD_BATCHES, 2, 4, 10, 1, BB_WORKERS_PROCESS);
    bb_loader *l;
    bb_err err = {0};
    float *a, *b, *c;
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    assert_int_equal(bb_loader_next(l, &a, NULL, &err), 0);
    assert_int_equal(bb_loader_next(l, &b, NULL, &err), 0);
    assert_true(a != b && (int64_t)item_at(b, 0) == 4);
    assert_int_equal(bb_loader_next(l, &c, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "release one before taking the next"));
    bb_loader_release(l, a);
    assert_int_equal(bb_loader_next(l, &c, NULL, &err), 0);
    assert_int_equal((int64_t)item_at(c, 0), 8);
    bb_loader_close(l); /* b and c still held */
    expect_no_children();
    fake_free(src);
}

/* Processes: a worker that dies (here: exits with status 3 while loading
 * item 9, in batch 2 of worker 0) fails the loader with its pid and cause,
 * once the batches before it are delivered. */
static void test_process_dies(void **state)
{
    (void)state;
    bb_source *src = fake_new(100);
    src->die_at = 10;
    bb_loader_cfg cfg = make_kind_cfg(src, BB_LOAD_BATCHES, 2, 4, 10, 1, BB_WORKERS_PROCESS);
    bb_loader *l;
    bb_err err = {0};
    float *data;
    int rc = 0, got = 0;
    assert_int_equal(bb_loader_open(&l, &cfg, &err), 0);
    while ((rc = bb_loader_next(l, &data, NULL, &err)) == 0)
        bb_loader_release(l, data), got++;
    assert_int_equal(rc, -1);
    assert_true(got <= 2);
    assert_non_null(strstr(err.msg, "worker process 1 of 2 (pid "));
    assert_non_null(strstr(err.msg, "exited with status 3"));
    bb_loader_close(l);
    expect_no_children();
    fake_free(src);
}

static volatile sig_atomic_t alarm_stop;

static void on_alarm(int sig)
{
    (void)sig;
    alarm_stop = 1;
}

static void check_stop(bb_worker_kind kind)
{
    bb_source *src = fake_new(5000);
    alarm_stop = 0;
    bb_loader_cfg cfg = make_kind_cfg(src, BB_LOAD_BATCHES, 2, 10, 50, 2, kind);
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
    src->delay_ns = 20000000;
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
    expect_no_children();
    fake_free(src);
}

static void test_stop_flag(void **state)
{
    (void)state;
    check_stop(BB_WORKERS_THREAD);
    check_stop(BB_WORKERS_PROCESS);
}

static void test_bad_config(void **state)
{
    (void)state;
    bb_source *src = fake_new(10);
    bb_loader *l = (bb_loader *)src;
    bb_err err = {0};
    bb_loader_cfg cfg = make_cfg(src, BB_LOAD_BATCHES, 0, 4, 2, 2);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    assert_null(l);
    assert_non_null(strstr(err.msg, "workers"));
    cfg = make_cfg(src, BB_LOAD_ITEMS, 1, 0, 2, 2);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    cfg = make_cfg(src, BB_LOAD_ITEMS, 1, 4, 2, -1);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    cfg = make_kind_cfg(src, BB_LOAD_ITEMS, 1, 4, 2, 2, (bb_worker_kind)7);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "worker kind"));
    fake_free(src);
    src = fake_new(0);
    cfg = make_cfg(src, BB_LOAD_ITEMS, 1, 4, 2, 2);
    assert_int_equal(bb_loader_open(&l, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "no items"));
    fake_free(src);
    bb_worker_kind k = BB_WORKERS_THREAD;
    assert_int_equal(bb_worker_kind_parse("process", &k), 0);
    assert_int_equal(k, BB_WORKERS_PROCESS);
    assert_string_equal(bb_worker_kind_name(k), "process");
    assert_int_equal(bb_worker_kind_parse("fork", &k), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_batches), cmocka_unit_test(test_order_items),
        cmocka_unit_test(test_worker_assignment), cmocka_unit_test(test_prefetch_bound),
        cmocka_unit_test(test_skipped_items), cmocka_unit_test(test_all_failing),
        cmocka_unit_test(test_close_prompt), cmocka_unit_test(test_process_held_batches),
        cmocka_unit_test(test_process_dies), cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
