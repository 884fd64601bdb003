/*
 * loader.c — worker threads that turn a bb_source into batches (loader.h).
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
 * log (the first MAX_REPORTS of them); once every item of the source has
 * failed, the loader fails and next() returns -1 with the last message.
 *
 * Stopping. Workers check a quit flag between items; close, an error and a
 * stop seen by next() set it and wake every waiter. Workers are created
 * with all signals blocked, so SIGINT runs its handler on the consumer's
 * thread; next() polls *stop every 10 ms while it waits.
 */
#include "data/loader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/dataset.h"
#include "util/clock.h"

#define MAX_REPORTS 20      /* skipped items named on the log, at most */
#define POLL_NS 10000000L   /* next() looks at *stop this often while waiting */

typedef struct {
    int64_t batch;          /* -1: free */
    float *buf;
    int64_t done;           /* positions loaded */
    int64_t spare;          /* next replacement item (before mod n) */
    int64_t skipped, bytes;
    double t_start, t_end;
} slot;

typedef struct {
    bb_loader *l;
    int id;
} worker_arg;

struct bb_loader {
    bb_loader_cfg cfg;
    int64_t n_items, item_floats;
    int64_t window;
    slot *slots;
    pthread_t *threads;
    worker_arg *args;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* workers: the window moved, or quit */
    pthread_cond_t ready_cv; /* consumer: a batch is complete, or an error */
    int64_t delivered;       /* batches handed to the consumer */
    int64_t next_pos;        /* BB_LOAD_ITEMS: next position b*batch+p */
    float **bufs;            /* every buffer allocated, for close */
    float **free_bufs;       /* released ones, for reuse */
    int n_bufs, n_free, cap_bufs;
    unsigned char *bad;      /* bitmap: items that failed to load */
    int64_t n_bad;
    int failed, stopped;
    bb_err error;
    atomic_int quit;
    atomic_llong skipped;
};

/* ---- helpers (called with mu held) ---------------------------------------- */

static void wake_all(bb_loader *l)
{
    pthread_cond_broadcast(&l->work_cv);
    pthread_cond_broadcast(&l->ready_cv);
}

/* Records the loader's error (the first one wins) and makes everyone leave. */
static void fail_locked(bb_loader *l, const char *msg)
{
    if (!l->failed) {
        l->failed = 1;
        bb_err_set(&l->error, "%s", msg);
    }
    atomic_store(&l->quit, 1);
    wake_all(l);
}

/* A free batch buffer: a released one, else a new one (NULL: out of memory). */
static float *get_buffer(bb_loader *l)
{
    if (l->n_free > 0)
        return l->free_bufs[--l->n_free];
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
static slot *start_batch(bb_loader *l, int64_t b)
{
    slot *s = &l->slots[b % l->window];
    float *buf = get_buffer(l);
    if (!buf) {
        char msg[160];
        snprintf(msg, sizeof msg, "out of memory for a batch of %lld items (%.0f MB)", (long long)l->cfg.batch,
                 (double)l->cfg.batch * (double)l->item_floats * 4.0 / 1e6);
        fail_locked(l, msg);
        return NULL;
    }
    *s = (slot){.batch = b, .buf = buf, .spare = (b + 1) * l->cfg.batch, .t_start = bb_now_s()};
    return s;
}

/* Marks item i bad, names it on the log the first time; -1 once every item
 * of the source has failed. */
static int note_bad(bb_loader *l, int64_t i, const char *msg)
{
    unsigned char bit = (unsigned char)(1u << (i & 7));
    if (!(l->bad[i >> 3] & bit)) {
        l->bad[i >> 3] |= bit;
        l->n_bad++;
        if (l->cfg.log && l->n_bad <= MAX_REPORTS)
            fprintf(l->cfg.log, "batchbench: warning: skipped item %lld: %s%s\n", (long long)i, msg,
                    l->n_bad == MAX_REPORTS ? " (further skipped items are counted, not named)" : "");
    }
    if (l->n_bad < l->n_items)
        return 0;
    char all[sizeof l->error.msg];
    snprintf(all, sizeof all, "all %lld items of the data set failed to load; the last: %.900s",
             (long long)l->n_items, msg);
    fail_locked(l, all);
    return -1;
}

/* ---- workers ----------------------------------------------------------------- */

/* Loads one position into dst, falling back to the batch's spare items.
 * 0, or -1 when the loader quits (error, close, stop). */
static int load_position(bb_loader *l, slot *s, int64_t item, float *dst, int64_t *bytes, int64_t *skipped)
{
    for (;;) {
        if (atomic_load(&l->quit))
            return -1;
        bb_err e = {0};
        int64_t got = bb_source_load(l->cfg.source, item, dst, &e);
        if (got >= 0) {
            *bytes += got;
            return 0;
        }
        (*skipped)++;
        atomic_fetch_add(&l->skipped, 1);
        pthread_mutex_lock(&l->mu);
        int rc = note_bad(l, item, e.msg);
        item = s->spare++ % l->n_items;
        pthread_mutex_unlock(&l->mu);
        if (rc != 0)
            return -1;
    }
}

/* Loads positions [p0, p1) of the slot's batch, then adds them to it; the
 * batch is ready for the consumer when every position is in. */
static int load_range(bb_loader *l, slot *s, int64_t b, int64_t p0, int64_t p1)
{
    int64_t bytes = 0, skipped = 0, batch = l->cfg.batch;
    for (int64_t p = p0; p < p1; p++)
        if (load_position(l, s, (b * batch + p) % l->n_items, s->buf + p * l->item_floats, &bytes, &skipped) != 0)
            return -1;
    pthread_mutex_lock(&l->mu);
    s->done += p1 - p0, s->bytes += bytes, s->skipped += skipped;
    double now = bb_now_s();
    if (now > s->t_end)
        s->t_end = now;
    if (s->done == batch)
        pthread_cond_broadcast(&l->ready_cv);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

/* BB_LOAD_BATCHES: worker w loads batches w, w+W, ... whole. */
static void run_batches(bb_loader *l, int w)
{
    for (int64_t b = w; b < l->cfg.n_batches; b += l->cfg.workers) {
        pthread_mutex_lock(&l->mu);
        while (!atomic_load(&l->quit) && b >= l->delivered + l->window)
            pthread_cond_wait(&l->work_cv, &l->mu);
        slot *s = atomic_load(&l->quit) ? NULL : start_batch(l, b);
        pthread_mutex_unlock(&l->mu);
        if (!s || load_range(l, s, b, 0, l->cfg.batch) != 0)
            return;
    }
}

/* BB_LOAD_ITEMS: every worker takes the next position of the next batch. */
static void run_items(bb_loader *l)
{
    int64_t batch = l->cfg.batch, end = l->cfg.n_batches * batch;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        while (!atomic_load(&l->quit) && l->next_pos < end && l->next_pos / batch >= l->delivered + l->window)
            pthread_cond_wait(&l->work_cv, &l->mu);
        slot *s = NULL;
        int64_t pos = l->next_pos;
        if (!atomic_load(&l->quit) && pos < end) {
            l->next_pos++;
            s = pos % batch == 0 ? start_batch(l, pos / batch) : &l->slots[(pos / batch) % l->window];
        }
        pthread_mutex_unlock(&l->mu);
        if (!s || load_range(l, s, pos / batch, pos % batch, pos % batch + 1) != 0)
            return;
    }
}

static void *worker_main(void *p)
{
    worker_arg *a = p;
    if (a->l->cfg.mode == BB_LOAD_ITEMS)
        run_items(a->l);
    else
        run_batches(a->l, a->id);
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
    if (bb_source_items(c->source) < 1)
        return bb_err_set(err, "loader: the data source has no items");
    return 0;
}

/* Mutex and condition variables (the consumer's clock: CLOCK_MONOTONIC). */
static int init_sync(bb_loader *l)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_mutex_init(&l->mu, NULL);
    if (rc == 0 && pthread_cond_init(&l->work_cv, &ca) != 0)
        rc = -1, pthread_mutex_destroy(&l->mu);
    if (rc == 0 && pthread_cond_init(&l->ready_cv, &ca) != 0)
        rc = -1, pthread_cond_destroy(&l->work_cv), pthread_mutex_destroy(&l->mu);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

/* Starts the workers with every signal blocked (they inherit the mask). */
static int start_workers(bb_loader *l, bb_err *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = 0;
    for (int w = 0; w < l->cfg.workers && rc == 0; w++) {
        l->args[w] = (worker_arg){l, w};
        if (pthread_create(&l->threads[w], NULL, worker_main, &l->args[w]) != 0)
            rc = bb_err_set(err, "loader: cannot start worker thread %d of %d", w + 1, l->cfg.workers);
        else
            l->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* The window's buffers plus the consumer's, allocated and touched now, so
 * that loading a batch measures reading, not the kernel's first-touch page
 * faults (which would make the first window+1 batches slower than the rest). */
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
    l->n_free = l->n_bufs;
    return 0;
}

static void free_loader(bb_loader *l)
{
    for (int i = 0; i < l->n_bufs; i++)
        free(l->bufs[i]);
    free(l->bufs), free(l->free_bufs), free(l->bad);
    free(l->slots), free(l->threads), free(l->args);
    free(l);
}

/* After init_sync, with no worker running. */
static void destroy(bb_loader *l)
{
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    pthread_mutex_destroy(&l->mu);
    free_loader(l);
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
    l->window = (int64_t)l->cfg.prefetch * (cfg->mode == BB_LOAD_BATCHES ? cfg->workers : 1);
    if (l->window > cfg->n_batches) /* the same schedule with fewer slots */
        l->window = cfg->n_batches;
    l->slots = calloc((size_t)l->window, sizeof *l->slots);
    l->threads = calloc((size_t)cfg->workers, sizeof *l->threads);
    l->args = calloc((size_t)cfg->workers, sizeof *l->args);
    l->bad = calloc((size_t)(l->n_items / 8 + 1), 1);
    if (!l->slots || !l->threads || !l->args || !l->bad || init_sync(l) != 0) {
        free_loader(l);
        return bb_err_oom(err, "loader: out of memory");
    }
    for (int64_t i = 0; i < l->window; i++)
        l->slots[i].batch = -1;
    if (fill_pool(l, err) != 0) {
        destroy(l);
        return -1;
    }
    atomic_init(&l->quit, 0);
    atomic_init(&l->skipped, 0);
    if (start_workers(l, err) != 0) {
        bb_loader_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

void bb_loader_close(bb_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    atomic_store(&l->quit, 1);
    wake_all(l);
    pthread_mutex_unlock(&l->mu);
    for (int w = 0; w < l->n_threads; w++)
        pthread_join(l->threads[w], NULL);
    destroy(l);
}

/* ---- the consumer ----------------------------------------------------------- */

static void wait_ready(bb_loader *l)
{
    if (!l->cfg.stop) {
        pthread_cond_wait(&l->ready_cv, &l->mu);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += POLL_NS;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&l->ready_cv, &l->mu, &ts);
}

int bb_loader_next(bb_loader *l, float **data, bb_batch_info *info, bb_err *err)
{
    *data = NULL;
    pthread_mutex_lock(&l->mu);
    slot *s = NULL;
    int rc = 0;
    while (!s && rc == 0) {
        slot *c = &l->slots[l->delivered % l->window];
        if (l->failed)
            rc = bb_err_set(err, "%s", l->error.msg);
        else if (l->stopped || l->delivered >= l->cfg.n_batches)
            rc = 1;
        else if (l->cfg.stop && *l->cfg.stop) {
            l->stopped = 1, rc = 1;
            atomic_store(&l->quit, 1);
            wake_all(l);
        } else if (c->batch == l->delivered && c->done == l->cfg.batch)
            s = c;
        else
            wait_ready(l);
    }
    if (s) {
        *data = s->buf;
        if (info)
            *info = (bb_batch_info){s->batch, s->skipped, s->bytes, s->t_end - s->t_start};
        *s = (slot){.batch = -1};
        l->delivered++;
        pthread_cond_broadcast(&l->work_cv);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void bb_loader_release(bb_loader *l, float *data)
{
    if (!l || !data)
        return;
    pthread_mutex_lock(&l->mu);
    if (l->n_free < l->n_bufs) /* a buffer handed out by next(), released once */
        l->free_bufs[l->n_free++] = data;
    pthread_mutex_unlock(&l->mu);
}

int64_t bb_loader_skipped(const bb_loader *l)
{
    return l ? (int64_t)atomic_load(&((bb_loader *)l)->skipped) : 0;
}
