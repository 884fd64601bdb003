/*
 * loader.c — workers that turn a bb_source into batches (loader.h): the
 * schedule, the workers' loop, the consumer, and worker threads; worker
 * processes are loader_process.c's (the same loop in forked children).
 *
 * Why this file exists: the seed's data-loading experiment measured how long
 * an inference loop waits for its next batch when a pool of workers loads
 * them. This is that pool, with PyTorch DataLoader's scheduling, so the wait
 * pattern it produces (near-constant with one worker, a spike every W
 * batches with W workers and a fast consumer, a costly first batch) can be
 * measured in C without Python in the way.
 *
 * Scheduling. Batches in flight (claimed by a worker but not yet handed to
 * the consumer) live in a ring of `window` slots: batch b uses slot
 * b % window and may be started only when b < delivered + window, so the
 * slot is free by then. BB_LOAD_BATCHES: window = workers * prefetch and
 * worker w loads batches w, w+W, ... whole (at most `prefetch` of its own
 * ahead, as PyTorch keeps prefetch_factor * num_workers indices
 * outstanding). BB_LOAD_ITEMS: window = prefetch and every worker claims
 * the next position b*batch+p from one shared counter.
 *
 * Skips. Position p of batch b holds item (b*batch + p) mod n. When that
 * load fails, the position takes the batch's next spare item, (b+1)*batch,
 * (b+1)*batch+1, ... (mod n), until one loads: the batch stays full and is
 * completed with the next items. Each failing item is reported once on the
 * log (the first BB_LOADER_MAX_REPORTS of them; a worker process queues the
 * line in the shared mapping and next() prints it); once every item of the
 * source has failed, the loader fails and next() returns -1 with the last
 * message.
 *
 * Stopping. Workers check a quit flag between items; close, an error and a
 * stop seen by next() set it and wake every waiter. Workers are started
 * with all signals blocked, so SIGINT runs its handler on the consumer's
 * thread; next() polls *stop every 10 ms while it waits (and, with worker
 * processes, reaps any that died).
 */
#include "data/loader.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/dataset.h"
#include "data/loader_internal.h"
#include "util/clock.h"

#define POLL_NS 10000000L   /* next() looks at *stop (and dead workers) this often while waiting */

struct bb_loader_thread {
    bb_loader *l;
    int id;
};

static int is_proc(const bb_loader *l)
{
    return l->cfg.worker_kind == BB_WORKERS_PROCESS;
}

const char *bb_worker_kind_name(bb_worker_kind k)
{
    return k == BB_WORKERS_PROCESS ? "process" : "thread";
}

int bb_worker_kind_parse(const char *s, bb_worker_kind *k)
{
    if (!strcmp(s, "thread") || !strcmp(s, "process")) {
        *k = s[0] == 'p' ? BB_WORKERS_PROCESS : BB_WORKERS_THREAD;
        return 0;
    }
    return -1;
}

/* ---- locking (a robust mutex for processes: a dead owner fails the loader) ---- */

static void wake_all(bb_loader *l)
{
    pthread_cond_broadcast(&l->sh->work_cv);
    pthread_cond_broadcast(&l->sh->ready_cv);
}

void bb_loader_fail_locked(bb_loader *l, const char *msg)
{
    if (!l->sh->failed) {
        l->sh->failed = 1;
        bb_err_set(&l->sh->error, "%s", msg);
    }
    atomic_store(&l->sh->quit, 1);
    wake_all(l);
}

/* After a lock or a wait returned rc: EOWNERDEAD means a worker process
 * died holding the lock; we hold it now, its state may be half-changed. */
static void owner_dead(bb_loader *l, int rc)
{
    if (rc != EOWNERDEAD)
        return;
    pthread_mutex_consistent(&l->sh->mu);
    bb_loader_fail_locked(l, "loader: a worker process died while holding the loader's lock");
}

void bb_loader_lock(bb_loader *l)
{
    owner_dead(l, pthread_mutex_lock(&l->sh->mu));
}

static void unlock(bb_loader *l)
{
    pthread_mutex_unlock(&l->sh->mu);
}

static void wait_work(bb_loader *l)
{
    owner_dead(l, pthread_cond_wait(&l->sh->work_cv, &l->sh->mu));
}

static int quitting(const bb_loader *l)
{
    return atomic_load(&l->sh->quit);
}

/* ---- helpers (called with mu held) ---------------------------------------- */

/* A free batch buffer: a released one, else (threads) a new one. NULL: out
 * of memory, or (processes, whose pool is fixed) none free. */
static float *get_buffer(bb_loader *l)
{
    if (l->sh->n_free > 0)
        return l->free_bufs[--l->sh->n_free];
    if (is_proc(l))
        return NULL;
    if (l->n_bufs == l->cap_bufs) {
        int cap = l->cap_bufs ? 2 * l->cap_bufs : 8;
        float **a = realloc(l->bufs, sizeof *a * (size_t)cap);
        if (a)
            l->bufs = a;
        float **f = a ? realloc(l->free_bufs, sizeof *f * (size_t)cap) : NULL;
        if (!f)
            return NULL;
        l->free_bufs = f, l->cap_bufs = cap;
    }
    float *b = malloc(sizeof(float) * (size_t)(l->cfg.batch * l->item_floats));
    if (b)
        l->bufs[l->n_bufs++] = b;
    return b;
}

/* Puts batch b into its slot with a buffer; NULL after an error. */
static bb_loader_slot *start_batch(bb_loader *l, int64_t b)
{
    bb_loader_slot *s = &l->slots[b % l->window];
    float *buf = get_buffer(l);
    if (!buf) {
        char msg[200];
        if (is_proc(l))
            snprintf(msg, sizeof msg, "loader: no free batch buffer in the %d shared with the worker processes",
                     l->n_bufs);
        else
            snprintf(msg, sizeof msg, "out of memory for a batch of %lld items (%.0f MB)", (long long)l->cfg.batch,
                     (double)l->cfg.batch * (double)l->item_floats * 4.0 / 1e6);
        bb_loader_fail_locked(l, msg);
        return NULL;
    }
    *s = (bb_loader_slot){.batch = b, .buf = buf, .spare = (b + 1) * l->cfg.batch, .t_start = bb_now_s()};
    return s;
}

/* One skipped item on the log: at once from a thread; queued in the shared
 * mapping by a process, for next() to print. */
static void report_bad(bb_loader *l, int64_t i, const char *msg)
{
    char line[BB_LOADER_REPORT_LEN];
    snprintf(line, sizeof line, "batchbench: warning: skipped item %lld: %.1000s%s\n", (long long)i, msg,
             l->sh->n_bad == BB_LOADER_MAX_REPORTS ? " (further skipped items are counted, not named)" : "");
    if (!is_proc(l))
        fputs(line, l->cfg.log);
    else if (l->sh->n_reports < BB_LOADER_MAX_REPORTS)
        memcpy(l->reports[l->sh->n_reports++], line, sizeof line);
}

/* Marks item i bad, names it on the log the first time; -1 once every item
 * of the source has failed. */
static int note_bad(bb_loader *l, int64_t i, const char *msg)
{
    unsigned char bit = (unsigned char)(1u << (i & 7));
    if (!(l->bad[i >> 3] & bit)) {
        l->bad[i >> 3] |= bit;
        l->sh->n_bad++;
        if (l->cfg.log && l->sh->n_bad <= BB_LOADER_MAX_REPORTS)
            report_bad(l, i, msg);
    }
    if (l->sh->n_bad < l->n_items)
        return 0;
    char all[sizeof l->sh->error.msg];
    snprintf(all, sizeof all, "all %lld items of the data set failed to load; the last: %.900s",
             (long long)l->n_items, msg);
    bb_loader_fail_locked(l, all);
    return -1;
}

/* ---- workers ----------------------------------------------------------------- */

/* Loads one position into dst, falling back to the batch's spare items.
 * 0, or -1 when the loader quits (error, close, stop). */
static int load_position(bb_loader *l, bb_loader_slot *s, int64_t item, float *dst, int64_t *bytes,
                         int64_t *skipped)
{
    for (;;) {
        if (quitting(l))
            return -1;
        bb_err e = {0};
        int64_t got = bb_source_load(l->cfg.source, item, dst, &e);
        if (got >= 0) {
            *bytes += got;
            return 0;
        }
        (*skipped)++;
        atomic_fetch_add(&l->sh->skipped, 1);
        bb_loader_lock(l);
        int rc = note_bad(l, item, e.msg);
        item = s->spare++ % l->n_items;
        unlock(l);
        if (rc != 0)
            return -1;
    }
}

/* Loads positions [p0, p1) of the slot's batch, then adds them to it; the
 * batch is ready for the consumer when every position is in. */
static int load_range(bb_loader *l, bb_loader_slot *s, int64_t b, int64_t p0, int64_t p1)
{
    int64_t bytes = 0, skipped = 0, batch = l->cfg.batch;
    for (int64_t p = p0; p < p1; p++)
        if (load_position(l, s, (b * batch + p) % l->n_items, s->buf + p * l->item_floats, &bytes, &skipped) != 0)
            return -1;
    bb_loader_lock(l);
    s->done += p1 - p0, s->bytes += bytes, s->skipped += skipped;
    double now = bb_now_s();
    if (now > s->t_end)
        s->t_end = now;
    if (s->done == batch)
        pthread_cond_broadcast(&l->sh->ready_cv);
    unlock(l);
    return 0;
}

/* BB_LOAD_BATCHES: worker w loads batches w, w+W, ... whole. */
static void run_batches(bb_loader *l, int w)
{
    for (int64_t b = w; b < l->cfg.n_batches; b += l->cfg.workers) {
        bb_loader_lock(l);
        while (!quitting(l) && b >= l->sh->delivered + l->window)
            wait_work(l);
        bb_loader_slot *s = quitting(l) ? NULL : start_batch(l, b);
        unlock(l);
        if (!s || load_range(l, s, b, 0, l->cfg.batch) != 0)
            return;
    }
}

/* BB_LOAD_ITEMS: every worker takes the next position of the next batch. */
static void run_items(bb_loader *l)
{
    int64_t batch = l->cfg.batch, end = l->cfg.n_batches * batch;
    for (;;) {
        bb_loader_lock(l);
        bb_loader_shared *sh = l->sh;
        while (!quitting(l) && sh->next_pos < end && sh->next_pos / batch >= sh->delivered + l->window)
            wait_work(l);
        bb_loader_slot *s = NULL;
        int64_t pos = sh->next_pos;
        if (!quitting(l) && pos < end) {
            sh->next_pos++;
            s = pos % batch == 0 ? start_batch(l, pos / batch) : &l->slots[(pos / batch) % l->window];
        }
        unlock(l);
        if (!s || load_range(l, s, pos / batch, pos % batch, pos % batch + 1) != 0)
            return;
    }
}

void bb_loader_work(bb_loader *l, int w)
{
    if (l->cfg.mode == BB_LOAD_ITEMS)
        run_items(l);
    else
        run_batches(l, w);
}

static void *thread_main(void *p)
{
    bb_loader_thread *a = p;
    bb_loader_work(a->l, a->id);
    return NULL;
}

/* ---- open / close ----------------------------------------------------------- */

static int check_cfg(const bb_loader_cfg *c, bb_err *err)
{
    if (!c || !c->source)
        return bb_err_set(err, "loader: no data source");
    if (c->workers < 1 || c->workers > 4096)
        return bb_err_set(err, "loader: workers must be in [1, 4096], got %d", c->workers);
    if (c->batch < 1 || c->batch > (1 << 20) || c->n_batches < 1 || c->n_batches > ((int64_t)1 << 40))
        return bb_err_set(err, "loader: batch (%lld) and n_batches (%lld) must be >= 1", (long long)c->batch,
                          (long long)c->n_batches);
    if (c->prefetch < 0 || c->prefetch > 4096)
        return bb_err_set(err, "loader: prefetch must be in [0, 4096], got %d", c->prefetch);
    if (c->mode != BB_LOAD_BATCHES && c->mode != BB_LOAD_ITEMS)
        return bb_err_set(err, "loader: unknown mode %d", (int)c->mode);
    if (c->worker_kind != BB_WORKERS_THREAD && c->worker_kind != BB_WORKERS_PROCESS)
        return bb_err_set(err, "loader: unknown worker kind %d", (int)c->worker_kind);
    if (bb_source_items(c->source) < 1)
        return bb_err_set(err, "loader: the data source has no items");
    return 0;
}

static int64_t window_of(const bb_loader_cfg *c)
{
    int prefetch = c->prefetch > 0 ? c->prefetch : 2;
    int64_t w = (int64_t)prefetch * (c->mode == BB_LOAD_BATCHES ? c->workers : 1);
    return w > c->n_batches ? c->n_batches : w; /* the same schedule with fewer slots */
}

int64_t bb_loader_buffers(const bb_loader_cfg *cfg)
{
    return window_of(cfg) + (cfg->worker_kind == BB_WORKERS_PROCESS ? BB_LOADER_HELD_MAX : 1);
}

int bb_loader_sync_init(bb_loader_shared *sh, int pshared)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    if (pthread_mutexattr_init(&ma) != 0)
        return -1;
    if (pthread_condattr_init(&ca) != 0)
        return pthread_mutexattr_destroy(&ma), -1;
    int bad = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), made = 0;
    if (pshared && !bad)
        bad = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) ||
              pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) ||
              pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    if (!bad && !(bad = pthread_mutex_init(&sh->mu, &ma)))
        made = 1;
    if (!bad && !(bad = pthread_cond_init(&sh->work_cv, &ca)))
        made = 2;
    if (!bad)
        bad = pthread_cond_init(&sh->ready_cv, &ca);
    if (bad && made == 2)
        pthread_cond_destroy(&sh->work_cv);
    if (bad && made >= 1)
        pthread_mutex_destroy(&sh->mu);
    pthread_condattr_destroy(&ca);
    pthread_mutexattr_destroy(&ma);
    return bad ? -1 : 0;
}

void bb_loader_sync_destroy(bb_loader_shared *sh)
{
    pthread_cond_destroy(&sh->work_cv);
    pthread_cond_destroy(&sh->ready_cv);
    pthread_mutex_destroy(&sh->mu);
}

/* Starts the threads with every signal blocked (they inherit the mask). */
static int start_threads(bb_loader *l, bb_err *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = 0;
    for (int w = 0; w < l->cfg.workers && rc == 0; w++) {
        l->args[w] = (bb_loader_thread){l, w};
        if (pthread_create(&l->threads[w], NULL, thread_main, &l->args[w]) != 0)
            rc = bb_err_set(err, "loader: cannot start worker thread %d of %d", w + 1, l->cfg.workers);
        else
            l->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Threads: the window's buffers plus the consumer's, allocated and touched
 * now, so that loading a batch measures reading, not the kernel's
 * first-touch page faults (which would make the first window+1 batches
 * slower than the rest). */
static int fill_pool(bb_loader *l, bb_err *err)
{
    size_t bytes = sizeof(float) * (size_t)(l->cfg.batch * l->item_floats);
    for (int64_t i = 0; i <= l->window; i++) {
        float *b = get_buffer(l);
        if (!b)
            return bb_err_oom(err, "loader: out of memory for %lld batches of %lld items (%.1f GB)",
                              (long long)l->window + 1, (long long)l->cfg.batch,
                              (double)(l->window + 1) * (double)bytes / 1e9);
        memset(b, 0, bytes);
    }
    memcpy(l->free_bufs, l->bufs, sizeof *l->bufs * (size_t)l->n_bufs);
    l->sh->n_free = l->n_bufs;
    return 0;
}

/* Threads: the state in the heap, the pool filled, the threads started. */
static int open_threads(bb_loader *l, bb_err *err)
{
    l->sh = calloc(1, sizeof *l->sh);
    l->slots = calloc((size_t)l->window, sizeof *l->slots);
    l->threads = calloc((size_t)l->cfg.workers, sizeof *l->threads);
    l->args = calloc((size_t)l->cfg.workers, sizeof *l->args);
    l->bad = calloc((size_t)(l->n_items / 8 + 1), 1);
    if (!l->sh || !l->slots || !l->threads || !l->args || !l->bad || bb_loader_sync_init(l->sh, 0) != 0)
        return bb_err_oom(err, "loader: out of memory");
    l->sync_ready = 1;
    atomic_init(&l->sh->quit, 0);
    atomic_init(&l->sh->skipped, 0);
    for (int64_t i = 0; i < l->window; i++)
        l->slots[i].batch = -1;
    if (fill_pool(l, err) != 0)
        return -1;
    l->started_at = bb_now_s();
    int rc = start_threads(l, err);
    l->start_s = bb_now_s() - l->started_at;
    return rc;
}

static int open_processes(bb_loader *l, bb_err *err)
{
    if (bb_loader_proc_alloc(l, err) != 0)
        return -1;
    l->started_at = bb_now_s();
    int rc = bb_loader_proc_start(l, err);
    l->start_s = bb_now_s() - l->started_at;
    return rc;
}

int bb_loader_open(bb_loader **out, const bb_loader_cfg *cfg, bb_err *err)
{
    *out = NULL;
    if (check_cfg(cfg, err) != 0)
        return -1;
    bb_loader *l = calloc(1, sizeof *l);
    if (!l)
        return bb_err_oom(err, "loader: out of memory");
    l->cfg = *cfg;
    if (l->cfg.prefetch == 0)
        l->cfg.prefetch = 2;
    l->n_items = bb_source_items(cfg->source);
    l->item_floats = BB_ITEM_FLOATS;
    l->window = window_of(&l->cfg);
    if ((is_proc(l) ? open_processes(l, err) : open_threads(l, err)) != 0) {
        bb_loader_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

static void free_threads(bb_loader *l)
{
    for (int w = 0; w < l->n_threads; w++)
        pthread_join(l->threads[w], NULL);
    if (l->sync_ready)
        bb_loader_sync_destroy(l->sh);
    for (int i = 0; i < l->n_bufs; i++)
        free(l->bufs[i]);
    free(l->bufs), free(l->free_bufs), free(l->bad);
    free(l->slots), free(l->threads), free(l->args), free(l->sh);
}

void bb_loader_close(bb_loader *l)
{
    if (!l)
        return;
    if (l->sync_ready) {
        bb_loader_lock(l);
        atomic_store(&l->sh->quit, 1);
        wake_all(l);
        if (is_proc(l))
            bb_loader_proc_reports(l);
        unlock(l);
    }
    if (is_proc(l))
        bb_loader_proc_free(l);
    else
        free_threads(l);
    free(l);
}

double bb_loader_start_s(const bb_loader *l)
{
    return l ? l->start_s : 0.0;
}

double bb_loader_started_at(const bb_loader *l)
{
    return l ? l->started_at : 0.0;
}

/* ---- the consumer ----------------------------------------------------------- */

static void wait_ready(bb_loader *l)
{
    if (!l->cfg.stop && !is_proc(l)) {
        owner_dead(l, pthread_cond_wait(&l->sh->ready_cv, &l->sh->mu));
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += POLL_NS;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    owner_dead(l, pthread_cond_timedwait(&l->sh->ready_cv, &l->sh->mu, &ts));
}

/* The next batch when it is complete; else NULL with *rc set when next()
 * must return without one (an error, the end, a stop, too many held). */
static bb_loader_slot *ready_slot(bb_loader *l, int *rc, bb_err *err)
{
    bb_loader_shared *sh = l->sh;
    bb_loader_slot *c = &l->slots[sh->delivered % l->window];
    if (is_proc(l)) {
        bb_loader_proc_reports(l);
        bb_loader_proc_check(l);
    }
    if (sh->failed) {
        *rc = bb_err_set(err, "%s", sh->error.msg);
    } else if (sh->stopped || sh->delivered >= l->cfg.n_batches) {
        *rc = 1;
    } else if (l->cfg.stop && *l->cfg.stop) {
        sh->stopped = 1, *rc = 1;
        atomic_store(&sh->quit, 1);
        wake_all(l);
    } else if (is_proc(l) && sh->n_held >= BB_LOADER_HELD_MAX) {
        *rc = bb_err_set(err, "loader: the caller holds %d batches from worker processes, the most their shared "
                         "pool allows; release one before taking the next", sh->n_held);
    } else if (c->batch == sh->delivered && c->done == l->cfg.batch) {
        return c;
    }
    return NULL;
}

int bb_loader_next(bb_loader *l, float **data, bb_batch_info *info, bb_err *err)
{
    *data = NULL;
    bb_loader_lock(l);
    bb_loader_slot *s = NULL;
    int rc = 0;
    while (!(s = ready_slot(l, &rc, err)) && rc == 0)
        wait_ready(l);
    if (s) {
        *data = s->buf;
        if (info)
            *info = (bb_batch_info){s->batch, s->skipped, s->bytes, s->t_end - s->t_start};
        *s = (bb_loader_slot){.batch = -1};
        l->sh->delivered++, l->sh->n_held++;
        pthread_cond_broadcast(&l->sh->work_cv);
    }
    unlock(l);
    return rc;
}

void bb_loader_release(bb_loader *l, float *data)
{
    if (!l || !data)
        return;
    bb_loader_lock(l);
    if (l->sh->n_free < l->n_bufs) { /* a buffer handed out by next(), released once */
        l->free_bufs[l->sh->n_free++] = data;
        l->sh->n_held -= l->sh->n_held > 0;
    }
    unlock(l);
}

int64_t bb_loader_skipped(const bb_loader *l)
{
    return l ? (int64_t)atomic_load(&l->sh->skipped) : 0;
}
