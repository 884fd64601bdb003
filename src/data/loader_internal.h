/*
 * loader_internal.h — the loader's state, shared by loader.c (the schedule,
 * the workers' loop, the consumer, worker threads) and loader_process.c
 * (worker processes: the shared mapping, fork, reaping). Not a public
 * header: only these two files include it.
 *
 * Why this file exists: the same worker loop runs in a thread or in a
 * forked child. What the workers and the consumer share is one struct
 * (bb_loader_shared) and the arrays it indexes: in the heap for threads, in
 * one MAP_SHARED mapping made before fork() for processes (at the same
 * address in the parent and every child, so pointers into it stay valid).
 */
#ifndef BB_LOADER_INTERNAL_H
#define BB_LOADER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "data/loader.h"

#define BB_LOADER_MAX_REPORTS 20    /* skipped items named on the log, at most */
#define BB_LOADER_REPORT_LEN 1200   /* one such line */
#define BB_LOADER_HELD_MAX 2        /* processes: batches the consumer may hold */

typedef struct {
    int64_t batch;          /* -1: free */
    float *buf;
    int64_t done;           /* positions loaded */
    int64_t spare;          /* next replacement item (before mod n) */
    int64_t skipped, bytes;
    double t_start, t_end;
} bb_loader_slot;

/* Everything workers change, under mu (quit and skipped also without). */
typedef struct {
    pthread_mutex_t mu;      /* processes: process-shared and robust */
    pthread_cond_t work_cv;  /* workers: the window moved, or quit */
    pthread_cond_t ready_cv; /* consumer: a batch is complete, or an error */
    int64_t delivered;       /* batches handed to the consumer */
    int64_t next_pos;        /* BB_LOAD_ITEMS: next position b*batch+p */
    int64_t n_bad;           /* items in the bad bitmap */
    int failed, stopped;
    int n_free;              /* entries of the free list */
    int n_held;              /* batches handed out and not released */
    int n_reports, n_shown;  /* processes: lines queued by workers, printed by next() */
    bb_err error;
    atomic_int quit;
    atomic_llong skipped;
} bb_loader_shared;

typedef struct bb_loader_thread bb_loader_thread;

struct bb_loader {
    bb_loader_cfg cfg;
    int64_t n_items, item_floats;
    int64_t window;          /* batches in flight at most */
    bb_loader_shared *sh;
    bb_loader_slot *slots;   /* [window] */
    float **bufs;            /* every buffer, for close (threads: grown on demand) */
    float **free_bufs;       /* released ones, for reuse */
    int n_bufs, cap_bufs;
    unsigned char *bad;      /* bitmap: items that failed to load */
    char (*reports)[BB_LOADER_REPORT_LEN]; /* processes: [BB_LOADER_MAX_REPORTS] */
    int sync_ready;          /* sh's mutex and conditions are initialised */
    double start_s;          /* starting the workers, within open */
    double started_at;       /* bb_now_s() when that began */
    /* threads */
    pthread_t *threads;
    bb_loader_thread *args;
    int n_threads;
    /* processes */
    void *map;
    size_t map_len;
    pid_t *pids;             /* 0: reaped */
    int n_pids;
};

/* ---- loader.c --------------------------------------------------------------- */

/* Worker w's loop (batches: w, w+W, ...; items: the shared counter) until
 * its work is done or the loader quits. */
void bb_loader_work(bb_loader *l, int w);
/* Locks sh->mu; a process that died holding it fails the loader. */
void bb_loader_lock(bb_loader *l);
/* Records the loader's error (the first wins) and wakes everyone; mu held. */
void bb_loader_fail_locked(bb_loader *l, const char *msg);
/* The mutex and conditions (CLOCK_MONOTONIC; process-shared and robust when
 * pshared). 0 or -1. */
int bb_loader_sync_init(bb_loader_shared *sh, int pshared);
void bb_loader_sync_destroy(bb_loader_shared *sh);

/* ---- loader_process.c ------------------------------------------------------- */

/* The mapping: sh, slots, free list, bad bitmap, reports and the pool of
 * window + BB_LOADER_HELD_MAX buffers (touched now), sync initialised. */
int bb_loader_proc_alloc(bb_loader *l, bb_err *err);
/* Forks the workers (signals blocked in them). -1 with err when one cannot
 * be started (those started are left for bb_loader_proc_free). */
int bb_loader_proc_start(bb_loader *l, bb_err *err);
/* With mu held: reaps workers that ended; one that died (a signal, a
 * non-zero status) while the loader runs fails it. */
void bb_loader_proc_check(bb_loader *l);
/* With mu held: prints the skipped-item lines workers queued. */
void bb_loader_proc_reports(bb_loader *l);
/* Kills and reaps every worker, destroys the sync, unmaps; frees pids. */
void bb_loader_proc_free(bb_loader *l);

#endif
