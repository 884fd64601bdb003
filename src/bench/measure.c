/*
 * measure.c — one model's configurations, prepared, warmed up and measured
 * in interleaved rounds (measure.h).
 *
 * Why this file exists: it is the timed heart of `batchbench run`. The
 * sweep (sweep.c) decides what to measure and records it; this file decides
 * how long and in which order, and is the only place a forward pass is
 * timed for an inference result file (the pipeline's, fed by the loader,
 * are timed in pipeline.c with the pieces exported here).
 */
#include "bench/measure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/dataset.h"
#include "env/core_rtt.h"
#include "stats/stats.h"
#include "models/model.h"
#include "util/clock.h"

#define MAX_ROUNDS 100000

/* ---- small pieces ------------------------------------------------------------ */

int bb_measure_stopped(const bb_sweep_cfg *cfg)
{
    return cfg->stop && *cfg->stop;
}

void bb_measure_set_status(bb_result *r, const char *status, const char *msg)
{
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->message, sizeof r->message, "%.*s", (int)sizeof r->message - 1, msg ? msg : "");
}

int bb_measure_push(double **v, int *n, int *cap, double t)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        double *nv = realloc(*v, sizeof(double) * (size_t)nc);
        if (!nv)
            return -1;
        *v = nv, *cap = nc;
    }
    (*v)[(*n)++] = t;
    return 0;
}

double bb_ci_half_width(const double *times, int n)
{
    bb_stats st;
    if (n < 2 || bb_stats_compute(times, n, &st) != 0 || st.median <= 0)
        return INFINITY;
    double lo = st.median - st.ci_lo, hi = st.ci_hi - st.median;
    return (lo > hi ? lo : hi) / st.median;
}

/* splitmix64: the shuffled order of each round from --seed and the round. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(int *order, int n, uint64_t seed, int round)
{
    uint64_t s = seed ^ (0xA24BAED4963EE407ull * (uint64_t)(round + 1));
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(mix(&s) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j], order[j] = t;
    }
}

/* On a TTY, a live line (between batches, outside the clock). */
static void live(const bb_measure_ctx *c, const bb_config_run *run, const char *phase)
{
    if (!c->tty)
        return;
    fprintf(c->cfg->log, "\r\033[K%-18s batch %-5lld %s (%d measured)", run->r.model, (long long)run->r.batch_size,
            phase, run->n_times);
    fflush(c->cfg->log);
}

/* The seed's warm-up batch: random, already in memory, whatever the input;
 * n floats, the graph's input for the whole batch. */
static void random_batch(const bb_measure_ctx *c, bb_config_run *run, int64_t n)
{
    bb_random_input(run->x, n, c->cfg->seed + 1);
}

/* One forward pass on the batch already set; *t its time (the device's
 * timer where the backend has one). */
static int forward_timed(const bb_measure_ctx *c, bb_config_run *run, double *t, bb_err *err)
{
    double t0 = bb_now_s();
    if (c->be->forward(run->b, err) != 0)
        return -1;
    *t = c->be->forward_seconds ? c->be->forward_seconds(run->b) : bb_now_s() - t0;
    if (*t < 0)
        return bb_err_set(err, "the device's timer gave no time for the forward pass");
    return 0;
}

/* The energy per item of run's configuration: forward passes back to back
 * on the batch already in place, after its timed batches and outside them,
 * for at least BB_ENERGY_PASS_S and one batch, with the counters read
 * around them. Not the timed batches' region: between those the next batch
 * is read and copied in, and an H200 computed for only 12-78% of it
 * (bf16: 12-32%), so their J/item counted it waiting. Where no counter can be read,
 * no pass runs and the energy says why. */
static void energy_pass(const bb_measure_ctx *c, bb_config_run *run)
{
    bb_energy *e = &run->energy;
    bb_err err = {0};
    double t, t0 = bb_now_s();
    int k = 0;
    bb_energy_begin(c->energy);
    run->energy_forward_s = 0;
    while (c->energy->kind != 0 && (k == 0 || bb_now_s() - t0 < BB_ENERGY_PASS_S)) {
        if (bb_measure_stopped(c->cfg)) {
            bb_err_set(&err, "the energy pass was interrupted");
            break;
        }
        if (forward_timed(c, run, &t, &err) != 0)
            break;
        run->energy_forward_s += t, k++;
        bb_energy_sample(c->energy);
    }
    bb_energy_end(c->energy, e);
    run->energy_batches = k;
    run->has_energy = 1;
    if (err.msg[0] && e->available) {
        e->available = 0;
        snprintf(e->why_unavailable, sizeof e->why_unavailable, "%.*s", (int)sizeof e->why_unavailable - 1, err.msg);
    }
}

/* Whether each slice of run ends with the threads' round trip: the CPU
 * backend with 2 threads or more (env/core_rtt.h). */
static int probes_threads(const bb_config_run *run)
{
    return !strcmp(run->r.device, "cpu") && run->r.threads >= 2;
}

/* A status is final: release the backend and tell the caller. */
void bb_measure_finish(const bb_measure_ctx *c, bb_config_run *run)
{
    if (run->b && c->energy && !strcmp(run->r.status, "ok"))
        energy_pass(c, run);
    if (run->b)
        c->be->destroy(run->b);
    run->b = NULL;
    free(run->x);
    run->x = NULL;
    run->active = 0;
    run->r.times_s = run->times, run->r.n_times = run->n_times;
    run->r.input_copy_s = run->copies, run->r.n_input_copy = run->n_copies;
    run->r.noise = &run->noise;
    run->r.energy = run->has_energy ? &run->energy : NULL;
    run->r.energy_batches = run->energy_batches, run->r.energy_forward_s = run->energy_forward_s;
    run->r.measure.ci_half_width = bb_ci_half_width(run->times, run->n_times);
    run->r.measure.slice_batches = run->slices, run->r.measure.n_slices = run->n_slices;
    run->r.measure.slice_core_rtt_ns = probes_threads(run) ? run->slice_rtt : NULL;
    run->finished = 1;
    if (strcmp(run->r.status, "interrupted") != 0 && !run->reported && !run->hold && c->on_done) {
        run->reported = 1;
        c->on_done(run, c->user);
    }
}

static void fail(const bb_measure_ctx *c, bb_config_run *run, const char *status, const char *msg)
{
    bb_measure_set_status(&run->r, status, msg);
    bb_measure_finish(c, run);
}

/* ---- prepare and warm up ----------------------------------------------------- */

static void over_limit(char *msg, size_t len, const char *what, int64_t need, int64_t limit)
{
    snprintf(msg, len, "%s needs %lld bytes, over --mem-limit %lld", what, (long long)need, (long long)limit);
}

int bb_measure_prepare(const bb_measure_ctx *c, const bb_graph *g, bb_result *r, bb_backend **out, int *err_oom)
{
    const bb_sweep_cfg *cfg = c->cfg;
    char msg[256];
    int64_t need = r->activation_bytes + r->weight_bytes;
    *out = NULL, *err_oom = 0;
    if (cfg->mem_limit > 0 && need > cfg->mem_limit) {
        over_limit(msg, sizeof msg, "the memory plan", need, cfg->mem_limit);
        return bb_measure_set_status(r, "oom", msg), -1;
    }
    bb_err err = {0};
    double t0 = bb_now_s();
    bb_backend *b = NULL;
    if (c->be->prepare(&b, g, r->batch_size, &cfg->config, &err) != 0) {
        *err_oom = err.oom;
        return bb_measure_set_status(r, err.oom ? "oom" : "error", err.msg), -1;
    }
    bb_backend_report rep;
    c->be->report(b, &rep);
    r->prepare_s = bb_now_s() - t0;
    snprintf(r->math_mode, sizeof r->math_mode, "%s", rep.math_mode);
    r->mem_weight_bytes = rep.weight_bytes, r->mem_arena_bytes = rep.arena_bytes;
    r->mem_workspace_bytes = rep.workspace_bytes;
    need = rep.arena_bytes + rep.weight_bytes + rep.workspace_bytes;
    if (cfg->mem_limit > 0 && need > cfg->mem_limit) {
        c->be->destroy(b);
        over_limit(msg, sizeof msg, "the prepared model", need, cfg->mem_limit);
        return bb_measure_set_status(r, "oom", msg), -1;
    }
    *out = b;
    return 0;
}

/* Prepares run for its batch size and hands it its first input batch.
 * 0: ready; -1: failed (status set, finished). err_oom tells an out-of-
 * memory failure apart (the caller may retry it alone). */
static int prepare(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *run, int *err_oom)
{
    bb_result *r = &run->r;
    int64_t bs = r->batch_size;
    bb_err err = {0};
    if (bb_measure_prepare(c, g, r, &run->b, err_oom) != 0)
        return bb_measure_finish(c, run), -1;
    int64_t n = bs * bb_tensor_numel(&g->tensors[g->input]); /* the model's input, not the zoo's [3,224,224] */
    if (!(run->x = malloc((size_t)n * sizeof(float))))
        return fail(c, run, "oom", "out of memory for the input batch"), -1;
    random_batch(c, run, n);
    if (c->be->set_input(run->b, run->x, &err) != 0)
        return fail(c, run, "error", err.msg), -1;
    run->next = 0;
    run->active = 1;
    return 0;
}

int bb_measure_probe(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *run)
{
    bb_err err = {0};
    int oom = 0;
    if (prepare(c, g, run, &oom) != 0)
        return -1;
    double t0 = bb_now_s();
    if (c->be->forward(run->b, &err) != 0)
        return fail(c, run, err.oom ? "oom" : "error", err.msg), -1;
    run->pass_s = bb_now_s() - t0;
    bb_measure_set_status(&run->r, "ok", NULL);
    bb_measure_finish(c, run);
    return 0;
}

/* Untimed passes until both --warmup passes and --warmup-time are reached. */
static int warm_up(const bb_measure_ctx *c, bb_config_run *run)
{
    const bb_sweep_cfg *cfg = c->cfg;
    bb_err err = {0};
    double t0 = bb_now_s();
    int i = 0;
    for (; i < cfg->warmup || bb_now_s() - t0 < cfg->warmup_time_s; i++) {
        live(c, run, "warm-up");
        double tp = bb_now_s();
        if (c->be->forward(run->b, &err) != 0)
            return fail(c, run, "error", err.msg), -1;
        run->pass_s = bb_now_s() - tp;
        if (bb_measure_stopped(cfg))
            return bb_measure_set_status(&run->r, "interrupted", "stopped by a signal"), -1;
        if (cfg->max_time_s > 0 && bb_now_s() - t0 > cfg->max_time_s)
            return fail(c, run, "timeout", "--max-time reached during warm-up"), -1;
    }
    run->r.measure.warmup_passes = i;
    run->r.measure.warmup_s = run->spent_s = bb_now_s() - t0;
    return 0;
}

/* ---- measuring ------------------------------------------------------------------ */

/* One timed batch: with a data set, its next batch read on this thread (as
 * the seed's DataLoader in the main process: items next .. next+bs-1,
 * wrapping around) and copied to the device, both outside the clock; then
 * forward() alone inside it. Without one the random batch stays. */
static int timed_batch(const bb_measure_ctx *c, bb_config_run *run)
{
    bb_err err = {0};
    int64_t bs = run->r.batch_size;
    int new_batch = c->src != NULL;
    if (c->cfg->idle_s > 0) /* a server idle before this request: the sleep is not timed */
        bb_sleep_until(bb_now_s() + c->cfg->idle_s, c->cfg->stop);
    if (new_batch) {
        if (bb_source_read(c->src, run->next, bs, run->x, &err) != 0)
            return fail(c, run, "error", err.msg), -1;
        run->next += bs;
    }
    if ((c->be->input_seconds || new_batch) && c->be->set_input(run->b, run->x, &err) != 0)
        return fail(c, run, "error", err.msg), -1;
    if (c->be->input_seconds &&
        bb_measure_push(&run->copies, &run->n_copies, &run->cap_copies, c->be->input_seconds(run->b)))
        return fail(c, run, "error", "out of memory for copy times"), -1;
    double t;
    if (forward_timed(c, run, &t, &err) != 0)
        return fail(c, run, "error", err.msg), -1;
    if (bb_measure_push(&run->times, &run->n_times, &run->cap_times, t) != 0)
        return fail(c, run, "error", "out of memory for batch times"), -1;
    run->pass_s = t;
    run->r.measure.measured_wall_s += t;
    return 0;
}

/* Has run measured its minimum (batches and --min-time)? */
static int has_minimum(const bb_measure_ctx *c, const bb_config_run *run)
{
    return run->n_times >= run->r.measure.min_reps && run->r.measure.measured_wall_s >= c->cfg->min_time_s;
}

/* Why run should stop now on its own, or NULL to go on. With --reps auto
 * reaching the CI target does not stop a configuration by itself: the
 * model's batch sizes stop together once all of them have (see rounds()),
 * so they are measured over the same stretch of time. */
static const char *stop_reason(const bb_measure_ctx *c, const bb_config_run *run)
{
    const bb_sweep_cfg *cfg = c->cfg;
    const bb_measure_info *m = &run->r.measure;
    if (!has_minimum(c, run))
        return NULL;
    if (!cfg->reps_auto)
        return cfg->min_time_s > 0 && run->n_times > cfg->reps ? "min-time" : "reps";
    if (cfg->max_config_time_s > 0 && m->measured_wall_s >= cfg->max_config_time_s)
        return "cap";
    if (run->deadline > 0 && bb_now_s() >= run->deadline)
        return "budget";
    return NULL;
}

/* --reps auto: have all active runs their minimum and their CI target? */
static int group_on_target(const bb_measure_ctx *c, const bb_config_run *runs, int n)
{
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (!runs[i].active)
            continue;
        if (!has_minimum(c, &runs[i]) || bb_ci_half_width(runs[i].times, runs[i].n_times) > c->cfg->target_ci)
            return 0;
        any = 1;
    }
    return any && c->cfg->reps_auto;
}

static void stop_ok(const bb_measure_ctx *c, bb_config_run *run, const char *why)
{
    snprintf(run->r.measure.stop_reason, sizeof run->r.measure.stop_reason, "%s", why);
    bb_measure_set_status(&run->r, "ok", NULL);
    bb_measure_finish(c, run);
}

/* Batches in one slice: about BB_SLICE_S of work, at least one; in fixed mode
 * never past --reps unless --min-time asks for more. (One configuration at
 * a time is measured in slices too: its rule is checked after each; with a
 * fixed --reps and nothing else to stop it, its batches are one slice, back
 * to back, as the seed measured them.) */
static int slice_batches(const bb_measure_ctx *c, const bb_config_run *run)
{
    int k = run->pass_s > 0 ? (int)(BB_SLICE_S / run->pass_s) : 1;
    if (k < 1)
        k = 1;
    int left = run->r.measure.min_reps - run->n_times, fixed = !c->cfg->reps_auto && c->cfg->min_time_s <= 0;
    if (fixed && left > 0 && (k > left || !run->r.measure.interleaved))
        k = left;
    return k;
}

/* Starts a slice's count at `batches`; -1 when memory runs out. */
static int push_slice(bb_config_run *run, int batches)
{
    if (run->n_slices == run->cap_slices) {
        int cap = run->cap_slices ? 2 * run->cap_slices : 64;
        int *p = realloc(run->slices, sizeof *p * (size_t)cap);
        if (p)
            run->slices = p;
        double *q = p ? realloc(run->slice_rtt, sizeof *q * (size_t)cap) : NULL;
        if (!q)
            return -1;
        run->slice_rtt = q, run->cap_slices = cap;
    }
    run->slice_rtt[run->n_slices] = -1.0;
    run->slices[run->n_slices++] = batches;
    return 0;
}

/* One slice of run: up to k batches, stopping early when its rule holds.
 * Returns -1 when the sweep is interrupted. */
static int measure_slice(const bb_measure_ctx *c, bb_config_run *run, int k)
{
    const bb_sweep_cfg *cfg = c->cfg;
    bb_noise_mark a, b;
    bb_noise_mark_now(c->noise, &a);
    double t0 = bb_now_s();
    int before = run->n_times;
    if (push_slice(run, 0) != 0) /* counted below; in place now, so a result written on failure points at it */
        return fail(c, run, "error", "out of memory for slice sizes"), 0;
    const char *why = NULL;
    for (int i = 0; i < k && run->active && !(why = stop_reason(c, run)); i++) {
        live(c, run, "measuring");
        if (timed_batch(c, run) != 0)
            break;
        if (bb_measure_stopped(cfg))
            break;
        if (cfg->max_time_s > 0 && run->spent_s + bb_now_s() - t0 > cfg->max_time_s) {
            run->spent_s += bb_now_s() - t0;
            return fail(c, run, "timeout", "--max-time reached"), 0;
        }
    }
    bb_noise_mark_now(c->noise, &b);
    bb_noise_add(c->noise, &a, &b, &run->noise);
    if (probes_threads(run))
        run->slice_rtt[run->n_slices - 1] = bb_core_rtt_ns(run->r.threads);
    run->spent_s += bb_now_s() - t0;
    run->r.measure.rounds++;
    run->slices[run->n_slices - 1] = run->n_times - before;
    if (bb_measure_stopped(cfg)) {
        bb_measure_set_status(&run->r, "interrupted", "stopped by a signal");
        return -1;
    }
    if (run->active && (why || (why = stop_reason(c, run))))
        stop_ok(c, run, why);
    return 0;
}

/* Rounds over the active runs, each round in its own shuffled order, until
 * none is active; with a budget they get here / (here + after) of what is
 * left of it. Returns -1 when interrupted. */
static int rounds(const bb_measure_ctx *c, bb_config_run *runs, int n, double here, double after)
{
    int *order = malloc(sizeof(int) * (size_t)n), any = 1;
    if (c->budget_end > 0 && c->cfg->reps_auto) { /* this share of what is left of the budget */
        double now = bb_now_s(), left = c->budget_end - now, all = here + after;
        double deadline = now + (left > 0 && all > 0 ? left * here / all : 0.0);
        for (int i = 0; i < n; i++)
            runs[i].deadline = deadline;
    }
    if (!order) {
        for (int i = 0; i < n; i++)
            if (runs[i].active)
                fail(c, &runs[i], "error", "out of memory");
        return 0;
    }
    for (int round = 0; any && round < MAX_ROUNDS; round++) {
        shuffle(order, n, c->cfg->seed, round);
        any = 0;
        for (int i = 0; i < n; i++) {
            bb_config_run *run = &runs[order[i]];
            if (!run->active)
                continue;
            if (measure_slice(c, run, slice_batches(c, run)) != 0) {
                free(order);
                return -1;
            }
            any |= run->active;
        }
        if (any && group_on_target(c, runs, n)) {
            for (int i = 0; i < n; i++)
                if (runs[i].active)
                    stop_ok(c, &runs[i], "target");
            any = 0;
        }
    }
    free(order);
    return 0;
}

/* ---- the model ------------------------------------------------------------------ */

static void init_run(const bb_measure_ctx *c, bb_config_run *run, int interleaved, const char *fallback)
{
    const bb_sweep_cfg *cfg = c->cfg;
    bb_measure_info *m = &run->r.measure;
    m->reps_auto = cfg->reps_auto;
    m->min_reps = cfg->reps;
    m->target_ci = cfg->target_ci;
    m->warmup_time_s = cfg->warmup_time_s;
    m->max_config_time_s = cfg->max_config_time_s;
    m->budget_s = cfg->budget_s;
    m->order_seed = cfg->seed;
    m->idle_s = cfg->idle_s;
    m->interleaved = interleaved;
    snprintf(m->interleave_fallback, sizeof m->interleave_fallback, "%s", fallback);
    m->round_group[0] = '\0';
    run->n_slices = 0;
    bb_noise_init(&run->noise);
}

/* Why the runs cannot be held prepared together, or "" when they can. */
static void fallback_reason(const bb_measure_ctx *c, const bb_config_run *runs, int n, char *why, size_t len)
{
    int64_t need = 0;
    why[0] = '\0';
    if (!c->cfg->interleave || n < 2)
        return;
    for (int i = 0; i < n; i++)
        need += runs[i].r.activation_bytes + runs[i].r.weight_bytes;
    if (c->mem_budget > 0 && need > c->mem_budget)
        snprintf(why, len, "the %d configurations need %.2f GiB together, over the %.2f GiB they may hold", n,
                 (double)need / (1 << 30), (double)c->mem_budget / (1 << 30));
}

/* All prepared and warmed up, then measured in rounds. Returns 1 when a
 * preparation ran out of memory with others held (the caller then measures
 * one at a time), -1 when interrupted, 0 otherwise. */
static int interleaved(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *runs, int n)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (int i = 0; i < n; i++) /* one id for these rounds: the clock and the process */
        snprintf(runs[i].r.measure.round_group, sizeof runs[i].r.measure.round_group, "%llx-%lx",
                 (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec, (long)getpid());
    for (int i = 0; i < n; i++) {
        int oom = 0;
        runs[i].hold = i > 0; /* an oom here may be the others' doing: not final yet */
        int rc = prepare(c, g, &runs[i], &oom);
        runs[i].hold = 0;
        if (rc != 0 && oom && i > 0)
            return 1;
        if (rc != 0)
            bb_measure_finish(c, &runs[i]); /* final after all: report it */
    }
    for (int i = 0; i < n; i++)
        if (runs[i].active && warm_up(c, &runs[i]) != 0 && bb_measure_stopped(c->cfg))
            return -1;
    return rounds(c, runs, n, c->weight, c->weight_after);
}

/* One configuration at a time, as the seed ran them. */
static void one_at_a_time(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *runs, int n)
{
    for (int i = 0; i < n && !bb_measure_stopped(c->cfg); i++) {
        int oom = 0;
        if (runs[i].finished)
            continue;
        double here = c->weight / n; /* this configuration's part of the model's weight */
        if (prepare(c, g, &runs[i], &oom) == 0 && warm_up(c, &runs[i]) == 0)
            rounds(c, &runs[i], 1, here, here * (n - i - 1) + c->weight_after); /* -1: stopped, seen above */
    }
}

void bb_measure_model(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *runs, int n)
{
    char why[192];
    fallback_reason(c, runs, n, why, sizeof why);
    int inter = c->cfg->interleave && n > 1 && !why[0];
    for (int i = 0; i < n; i++)
        init_run(c, &runs[i], inter, why);
    if (inter) {
        int rc = interleaved(c, g, runs, n);
        if (rc == 1) {
            snprintf(why, sizeof why, "out of memory with several configurations prepared at once");
            for (int i = 0; i < n; i++) {
                if (runs[i].b)
                    c->be->destroy(runs[i].b);
                free(runs[i].x);
                runs[i].b = NULL, runs[i].x = NULL, runs[i].active = 0;
                if (!runs[i].reported) {
                    runs[i].finished = 0;
                    init_run(c, &runs[i], 0, why);
                }
            }
            one_at_a_time(c, g, runs, n);
        }
    } else {
        one_at_a_time(c, g, runs, n);
    }
    bb_measure_interrupt_rest(c, runs, n);
}

void bb_measure_interrupt_rest(const bb_measure_ctx *c, bb_config_run *runs, int n)
{
    for (int i = 0; i < n; i++)
        if (runs[i].active || !runs[i].finished) { /* interrupted: release what is held */
            if (strcmp(runs[i].r.status, "interrupted") != 0)
                bb_measure_set_status(&runs[i].r, "interrupted", "stopped by a signal");
            bb_measure_finish(c, &runs[i]);
        }
}

void bb_config_run_free(bb_config_run *run)
{
    free(run->times), free(run->copies), free(run->waits), free(run->slices), free(run->slice_rtt);
    run->times = run->copies = run->waits = run->slice_rtt = NULL, run->slices = NULL;
    run->r.times_s = run->r.input_copy_s = NULL, run->r.measure.slice_batches = NULL;
    run->r.measure.slice_core_rtt_ns = NULL;
}
