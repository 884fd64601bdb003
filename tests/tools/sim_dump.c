/*
 * sim_dump.c — runs the report's serving simulation (src/report/serve_sim.h)
 * for one model of a result folder and one (B, T, rate), and prints what it
 * predicts as JSON.
 *
 * Why this file exists: report.md's "Serving under a p99 target" rests on
 * a simulation of the server that `batchbench serve` runs for real. A test
 * that compares the two needs the simulation's numbers for exactly the
 * setting, load, seed and request count of a real run; this prints them.
 * With the same seed and --arrivals, the simulated arrival schedule is the
 * real run's (bb_arrival_schedule); give --warmup 0 and --n equal to the
 * run's request count to simulate the same requests.
 *
 * usage: sim_dump DIR MODEL B T_MS RATE [--seed S] [--n N] [--warmup W]
 *                 [--arrivals poisson|uniform] [--setup K] [--gap size|free]
 * --gap: a batch's idle gap since its prepared size last ran (size, the
 * report's) or since the server last finished a batch (free).
 * Defaults: seed 1 (the report's), n 20000, warm-up 2000, Poisson, the
 * first setup of DIR with usable results of MODEL. Output: one JSON object
 * (times in ms, 17 significant digits; after_idle: how many results
 * measured after an idle time it drew on). Exit 1 on bad input or when the
 * model has no usable result or B exceeds its largest measured batch size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/results_load.h"
#include "report/serve_sim.h"
#include "report/slo.h"

typedef struct {
    const char *dir, *model;
    int max_batch, setup, gap_since_free;
    double timeout_s, rate;
    uint64_t seed;
    int64_t n, warmup;
    bb_arrivals arrivals;
} args;

static int num(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && !*end ? 0 : -1;
}

static int parse(int argc, char **argv, args *a)
{
    double v[3], x;
    if (argc < 6 || num(argv[3], &v[0]) || num(argv[4], &v[1]) || num(argv[5], &v[2]))
        return -1;
    *a = (args){argv[1], argv[2], (int)v[0], -1, 0, v[1] / 1000.0, v[2], 1, 0, -1, BB_ARRIVALS_POISSON};
    for (int i = 6; i < argc; i += 2) {
        if (i + 1 >= argc)
            return -1;
        const char *k = argv[i], *s = argv[i + 1];
        if (!strcmp(k, "--arrivals") && (!strcmp(s, "poisson") || !strcmp(s, "uniform")))
            a->arrivals = !strcmp(s, "poisson") ? BB_ARRIVALS_POISSON : BB_ARRIVALS_UNIFORM;
        else if (!strcmp(k, "--gap") && (!strcmp(s, "size") || !strcmp(s, "free")))
            a->gap_since_free = !strcmp(s, "free");
        else if (num(s, &x) != 0 || x < 0)
            return -1;
        else if (!strcmp(k, "--seed"))
            a->seed = strtoull(s, NULL, 10);
        else if (!strcmp(k, "--n"))
            a->n = (int64_t)x;
        else if (!strcmp(k, "--warmup"))
            a->warmup = (int64_t)x;
        else if (!strcmp(k, "--setup"))
            a->setup = (int)x;
        else
            return -1;
    }
    return 0;
}

/* What the report's simulation of (setup, model) draws on (bb_slo_collect:
 * its back-to-back rows, and its after-idle twins' rows); how many rows. */
static int samples_of(const bb_table *t, int setup, const char *model, bb_slo_eval *e)
{
    memset(e, 0, sizeof *e);
    if (t->setups[setup].idle_s > 0) /* drawn on by its back-to-back twin */
        return 0;
    bb_slo_collect(t, setup, model, e);
    return e->n_b;
}

static int run_with(const bb_table *t, const args *a, bb_slo_eval *ev);

static int run(const bb_table *t, const args *a)
{
    bb_slo_eval *e = calloc(1, sizeof *e); /* large: on the heap */
    if (!e) {
        fprintf(stderr, "sim_dump: out of memory\n");
        return 1;
    }
    int rc = run_with(t, a, e);
    free(e);
    return rc;
}

static int run_with(const bb_table *t, const args *a, bb_slo_eval *ev)
{
    int n = 0, setup = a->setup;
    for (int s = 0; setup < 0 && s < t->n_setups; s++)
        setup = samples_of(t, s, a->model, ev) > 0 ? s : -1;
    if (setup >= 0 && setup < t->n_setups)
        n = samples_of(t, setup, a->model, ev);
    const bb_sim_sample *m = ev->samples;
    bb_sim_config c = {m, n, a->max_batch, a->timeout_s, a->rate, a->arrivals, a->n, a->warmup, a->seed,
                       ev->after_idle, ev->n_after_idle, a->gap_since_free};
    bb_sim_result r;
    if (n == 0 || bb_sim_run(&c, &r) != 0) {
        fprintf(stderr, "sim_dump: %s: no usable result of %s, or B %d / T / rate out of range\n", a->dir,
                a->model, a->max_batch);
        return 1;
    }
    printf("{\"model\": \"%s\", \"setup\": %d, \"max_batch\": %d, \"timeout_ms\": %.17g, \"rate\": %.17g, "
           "\"seed\": %llu, \"n\": %lld, \"warmup\": %lld, \"arrivals\": \"%s\",\n \"p50_ms\": %.17g, "
           "\"p90_ms\": %.17g, \"p99_ms\": %.17g, \"mean_ms\": %.17g, \"throughput\": %.17g, \"utilisation\": "
           "%.17g, \"mean_batch\": %.17g, \"padded\": %s, \"capacity\": %.17g, \"after_idle\": %d, \"gap\": \"%s\"}\n",
           a->model, setup, a->max_batch, a->timeout_s * 1e3, a->rate, (unsigned long long)a->seed,
           (long long)(a->n > 0 ? a->n : BB_SIM_REQUESTS), (long long)(a->warmup >= 0 ? a->warmup : BB_SIM_WARMUP),
           a->arrivals == BB_ARRIVALS_POISSON ? "poisson" : "uniform", r.p50_s * 1e3, r.p90_s * 1e3, r.p99_s * 1e3,
           r.mean_s * 1e3, r.throughput, r.utilisation, r.mean_batch, r.padded ? "true" : "false",
           bb_sim_capacity(m, n, a->max_batch), ev->n_after_idle, a->gap_since_free ? "free" : "size");
    return 0;
}

int main(int argc, char **argv)
{
    args a;
    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: sim_dump DIR MODEL B T_MS RATE [--seed S] [--n N] [--warmup W]\n"
                        "                [--arrivals poisson|uniform] [--setup K] [--gap size|free]\n");
        return 1;
    }
    bb_table t;
    bb_err e = {0};
    const char *dirs[] = {a.dir};
    if (bb_table_load(&t, dirs, 1, NULL, &e) != 0) {
        fprintf(stderr, "sim_dump: %s\n", e.msg);
        return 1;
    }
    int rc = run(&t, &a);
    bb_table_free(&t);
    return rc;
}
