/*
 * loader.h — a pool of workers (threads, or forked processes as PyTorch's
 * DataLoader has) that turns a data source into batches, with the
 * semantics the seed's data-loading experiment studied.
 *
 *   BB_LOAD_BATCHES  like PyTorch's DataLoader: worker w loads whole batches
 *                    w, w+W, w+2W, ... and the consumer takes them in order;
 *                    at most `prefetch` batches per worker are loaded ahead
 *   BB_LOAD_ITEMS    all workers cooperate on the next batch (item-level
 *                    parallelism), up to `prefetch` batches ahead in total
 *
 * "Ahead" counts batches a worker has started or finished that next() has
 * not handed out yet (PyTorch: prefetch_factor * num_workers outstanding
 * indices in total). Batch b holds items b*batch ... b*batch+batch-1 (mod
 * the source's items). An item that fails to load (corrupt file) is
 * skipped, counted and reported once on the log with its path (the first
 * 20 such items); its position
 * gets the batch's next spare item, (b+1)*batch, (b+1)*batch+1, ..., so the
 * batch stays full. Once every item of the source has failed, next()
 * returns -1. Workers stop cleanly on close, on an error, or when *stop
 * becomes non-zero (seen by next(), which polls it every 10 ms while it
 * waits; the workers block all signals, so a SIGINT handler runs on the
 * caller's thread).
 *
 * Worker kinds (cfg.worker_kind): BB_WORKERS_THREAD (the default) runs the
 * workers as threads of the caller's process. BB_WORKERS_PROCESS forks them
 * in bb_loader_open, as PyTorch's DataLoader starts worker processes: the
 * schedule, the batch contents, skipped items, the stop flag and errors are
 * the same; batches are handed over in a MAP_SHARED mapping made before the
 * fork (no copy) with process-shared locks. A child only calls
 * bb_source_load (pread, libjpeg: never OpenMP, oneDNN or CUDA), names
 * skipped items through the mapping (next() prints them on the log), and
 * leaves with _exit; close kills and reaps every child, and a child dies
 * with the thread that opened the loader (PR_SET_PDEATHSIG), so none is
 * left running after a crash or SIGKILL of the caller. Its buffer pool is
 * fixed at open (bb_loader_buffers): the caller may hold at most two
 * batches at once (next() refuses a third with an error).
 */
#ifndef BB_LOADER_H
#define BB_LOADER_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "data/source.h"
#include "util/error.h"

typedef enum { BB_LOAD_BATCHES, BB_LOAD_ITEMS } bb_load_mode;
typedef enum { BB_WORKERS_THREAD = 0, BB_WORKERS_PROCESS } bb_worker_kind;

typedef struct {
    const bb_source *source;  /* outlives the loader */
    int workers;              /* >= 1 */
    int64_t batch;            /* items per batch, >= 1 */
    int64_t n_batches;        /* batches to deliver, >= 1 */
    bb_load_mode mode;
    int prefetch;             /* per worker (BATCHES) or in total (ITEMS); >= 1; 0 = 2 */
    volatile sig_atomic_t *stop; /* may be NULL */
    FILE *log;                /* skipped-item messages; may be NULL */
    bb_worker_kind worker_kind; /* threads (0, the default) or processes */
} bb_loader_cfg;

typedef struct {
    int64_t index;            /* batch number, from 0 */
    int64_t skipped;          /* items skipped (failed to load) in this batch */
    int64_t bytes;            /* bytes read from storage for this batch */
    double load_s;            /* wall time from the start of its first item to
                                 the end of its last (one worker, or several) */
} bb_batch_info;

typedef struct bb_loader bb_loader;

/* "thread" or "process"; and back (-1 for anything else). */
const char *bb_worker_kind_name(bb_worker_kind k);
int bb_worker_kind_parse(const char *s, bb_worker_kind *k);

/* Batch buffers bb_loader_open allocates and touches for cfg (a valid one):
 * the window in flight plus the consumer's (threads: one, more allocated
 * when the caller holds more; processes: two, fixed). For memory checks. */
int64_t bb_loader_buffers(const bb_loader_cfg *cfg);

/* Allocates the buffers and starts the workers (threads created, or
 * processes forked); loading begins at once. */
int bb_loader_open(bb_loader **out, const bb_loader_cfg *cfg, bb_err *err);
/* Seconds bb_loader_open spent starting the workers (creating the threads
 * or forking the processes), a part of its time; and when it began to
 * (bb_now_s(), CLOCK_MONOTONIC), after the buffers were allocated and
 * touched: a consumer timing its first wait from there has the workers'
 * start in it, as PyTorch's first next() has, and not the buffer pool
 * (PyTorch has none: its workers allocate each batch as they load it). */
double bb_loader_start_s(const bb_loader *l);
double bb_loader_started_at(const bb_loader *l);
/* Blocks until the next batch is ready and hands it to the caller:
 * *data is [batch,3,224,224] float32, valid until bb_loader_release(data)
 * (release each batch once; one held longer costs the pool a buffer).
 * Returns 0, 1 when all n_batches were delivered (or stop was set), -1 on
 * an error (e.g. every item of the source failing). */
int bb_loader_next(bb_loader *l, float **data, bb_batch_info *info, bb_err *err);
void bb_loader_release(bb_loader *l, float *data);
/* Items skipped so far (failed loads in every batch loaded, delivered or
 * not). */
int64_t bb_loader_skipped(const bb_loader *l);
/* Stops and joins the workers (processes: kills and reaps them), frees
 * everything (NULL is fine). */
void bb_loader_close(bb_loader *l);

#endif
