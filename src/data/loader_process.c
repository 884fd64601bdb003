/*
 * loader_process.c — worker processes for the loader (loader.h,
 * BB_WORKERS_PROCESS): the shared mapping, fork, reaping and killing.
 *
 * Why this file exists: PyTorch's DataLoader runs its workers as processes,
 * and the seed's data-loading experiment timed their start in its first
 * wait. Worker threads (loader.c) share memory for free; processes need
 * everything they share made before fork(): one MAP_SHARED|MAP_ANONYMOUS
 * mapping holds the loader's state (a process-shared, robust mutex and
 * process-shared conditions, CLOCK_MONOTONIC), the slot ring, the free list,
 * the bad-item bitmap, the queued skipped-item lines and a fixed pool of
 * window + BB_LOADER_HELD_MAX batch buffers. It sits at the same address in
 * every process, so the buffer pointers workers put in slots are the
 * consumer's too: a batch is handed over without a copy.
 *
 * A child runs the same loop as a thread (bb_loader_work) over the source it
 * inherited: preprocessed items are pread() on inherited descriptors (no
 * shared offset), JPEGs opened per item and decoded by libjpeg; nothing else
 * (no OpenMP, oneDNN or CUDA, which do not survive a fork). It blocks every
 * signal, asks to be killed when the thread that forked it ends
 * (PR_SET_PDEATHSIG, so none outlives a crashed or SIGKILLed caller), never
 * writes to stdio (skipped items are queued for the consumer to print) and
 * leaves with _exit (no atexit handlers, no stdio flush of the parent's
 * buffers). The consumer reaps children while it waits: one that dies (a
 * signal, a non-zero status) fails the loader with its pid and cause. Close
 * sets quit, then kills (SIGKILL) and reaps every child still there, so
 * nothing is left running and no zombie remains; the locks are not destroyed
 * (a killed waiter would make pthread_cond_destroy wait forever) but go with
 * the mapping.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/loader_internal.h"

/* Byte offsets of the parts of the mapping. */
typedef struct {
    size_t slots, free_list, bufs, bad, reports, pool, len, batch_bytes;
    int n_bufs;
} layout;

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* -1 when the pool would not fit in an address space. */
static int plan(const bb_loader *l, layout *m)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    m->n_bufs = (int)(l->window + BB_LOADER_HELD_MAX);
    m->batch_bytes = sizeof(float) * (size_t)(l->cfg.batch * l->item_floats);
    if ((double)m->n_bufs * (double)m->batch_bytes > (double)(SIZE_MAX / 4))
        return -1;
    m->slots = align_up(sizeof(bb_loader_shared), 64);
    m->free_list = align_up(m->slots + sizeof(bb_loader_slot) * (size_t)l->window, 64);
    m->bufs = align_up(m->free_list + sizeof(float *) * (size_t)m->n_bufs, 64);
    m->bad = align_up(m->bufs + sizeof(float *) * (size_t)m->n_bufs, 64);
    m->reports = align_up(m->bad + (size_t)(l->n_items / 8 + 1), 64);
    m->pool = align_up(m->reports + (size_t)BB_LOADER_MAX_REPORTS * BB_LOADER_REPORT_LEN, pg);
    m->len = m->pool + (size_t)m->n_bufs * m->batch_bytes;
    return 0;
}

/* The parts of the mapping at base, as the loader's pointers. */
static void carve(bb_loader *l, const layout *m, char *base)
{
    l->sh = (bb_loader_shared *)(void *)base;
    l->slots = (bb_loader_slot *)(void *)(base + m->slots);
    l->free_bufs = (float **)(void *)(base + m->free_list);
    l->bufs = (float **)(void *)(base + m->bufs);
    l->bad = (unsigned char *)(base + m->bad);
    l->reports = (char(*)[BB_LOADER_REPORT_LEN])(void *)(base + m->reports);
    for (int i = 0; i < m->n_bufs; i++)
        l->bufs[i] = l->free_bufs[i] = (float *)(void *)(base + m->pool + (size_t)i * m->batch_bytes);
    l->n_bufs = l->cap_bufs = l->sh->n_free = m->n_bufs;
    for (int64_t i = 0; i < l->window; i++)
        l->slots[i].batch = -1;
    atomic_init(&l->sh->quit, 0);
    atomic_init(&l->sh->skipped, 0);
}

int bb_loader_proc_alloc(bb_loader *l, bb_err *err)
{
    layout m;
    int bad = plan(l, &m);
    double gb = (double)(l->window + BB_LOADER_HELD_MAX) * (double)l->cfg.batch * (double)l->item_floats * 4.0 / 1e9;
    /* MAP_POPULATE: the pool is touched now, as the threads' is (loader.c, fill_pool) */
    void *p = bad ? MAP_FAILED
                  : mmap(NULL, m.len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        return bb_err_oom(err, "loader: out of memory for %lld batches of %lld items (%.1f GB) shared with the "
                          "worker processes%s%s", (long long)(l->window + BB_LOADER_HELD_MAX),
                          (long long)l->cfg.batch, gb, bad ? "" : ": ", bad ? "" : strerror(errno));
    l->map = p, l->map_len = m.len;
    carve(l, &m, p);
    if (!(l->pids = calloc((size_t)l->cfg.workers, sizeof *l->pids)))
        return bb_err_oom(err, "loader: out of memory");
    if (bb_loader_sync_init(l->sh, 1) != 0)
        return bb_err_set(err, "loader: cannot create the locks shared with the worker processes");
    l->sync_ready = 1;
    return 0;
}

/* A child: dies with the thread that forked it, loads, leaves. */
_Noreturn static void child_main(bb_loader *l, int w, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    bb_loader_work(l, w);
    _exit(0);
}

int bb_loader_proc_start(bb_loader *l, bb_err *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the children keep this mask */
    pid_t parent = getpid();
    int rc = 0;
    for (int w = 0; w < l->cfg.workers && rc == 0; w++) {
        pid_t pid = fork();
        if (pid == 0)
            child_main(l, w, parent);
        if (pid < 0)
            rc = bb_err_set(err, "loader: cannot start worker process %d of %d: %s", w + 1, l->cfg.workers,
                            strerror(errno));
        else
            l->pids[l->n_pids++] = pid;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Why child i ended, when that is a failure (else ""). */
static void ended(const bb_loader *l, int i, pid_t pid, int st, char *msg, size_t len)
{
    msg[0] = '\0';
    if (WIFSIGNALED(st))
        snprintf(msg, len, "loader: worker process %d of %d (pid %d) was killed by signal %d (%s)", i + 1,
                 l->cfg.workers, (int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        snprintf(msg, len, "loader: worker process %d of %d (pid %d) exited with status %d", i + 1, l->cfg.workers,
                 (int)pid, WEXITSTATUS(st));
}

void bb_loader_proc_check(bb_loader *l)
{
    for (int i = 0; i < l->n_pids; i++) {
        int st = 0;
        pid_t pid = l->pids[i];
        if (pid <= 0 || waitpid(pid, &st, WNOHANG) != pid)
            continue;
        l->pids[i] = 0; /* reaped: its batches are done, or it failed */
        char msg[200];
        ended(l, i, pid, st, msg, sizeof msg);
        if (msg[0] && !atomic_load(&l->sh->quit))
            bb_loader_fail_locked(l, msg);
    }
}

void bb_loader_proc_reports(bb_loader *l)
{
    bb_loader_shared *sh = l->sh;
    for (; sh->n_shown < sh->n_reports; sh->n_shown++)
        if (l->cfg.log)
            fputs(l->reports[sh->n_shown], l->cfg.log);
}

void bb_loader_proc_free(bb_loader *l)
{
    for (int i = 0; i < l->n_pids; i++)
        if (l->pids[i] > 0)
            kill(l->pids[i], SIGKILL);
    for (int i = 0; i < l->n_pids; i++)
        while (l->pids[i] > 0 && waitpid(l->pids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    free(l->pids);
    if (l->map)
        munmap(l->map, l->map_len);
}
