/*
 * cmd_profile.c — `batchbench profile`: where a forward pass spends its
 * time. Per step (one oneDNN primitive, kernel or reorder): the median time
 * over the profiled passes, its share, MACs and GFLOP/s; then the same by op
 * kind, and the profiled total against an unprofiled pass (the profiler
 * syncs after every step). `infer --profile` prints its rows the same way.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "bench/stats.h"
#include "cli/cli.h"
#include "models/model.h"
#include "util/clock.h"

void cli_print_steps(const bb_step_time *st, const double *seconds, int n, double total, int stats)
{
    printf("%-5s %-44s %-10s %10s %6s %9s", "step", "op", "kind", "ms", "share", "GFLOP/s");
    printf(stats ? " %9s %9s %6s\n" : "\n", "out rms", "max |x|", "subn");
    for (int i = 0; i < n; i++) {
        double s = seconds ? seconds[i] : st[i].seconds;
        printf("%-5d %-44.44s %-10s %10.3f %5.1f%% %9.1f", i, st[i].label, st[i].kind, s * 1e3, 100.0 * s / total,
               s > 0 ? 2.0 * (double)st[i].macs / s / 1e9 : 0.0);
        if (stats)
            printf(" %9.3g %9.3g %6lld", st[i].out_rms, st[i].out_absmax, (long long)st[i].out_subnormal);
        printf("\n");
    }
}

typedef struct {
    bb_model_spec spec;
    int64_t batch, threads, warmup, reps;
    int json;
} profile_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench profile --model M [--batch N] [--head features|classifier]\n"
               "                          [--threads T] [--warmup W] [--reps R] [--json]\n"
               "\n"
               "Times every step of the forward pass (median over R profiled passes after W\n"
               "warm-up passes; defaults 8, 2, 5): time, share, MACs and GFLOP/s per step and\n"
               "per op kind, and the profiled total against an unprofiled pass.\n");
}

static int parse(int argc, char **argv, profile_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},   {"batch", required_argument, 0, 'b'},
        {"head", required_argument, 0, 'H'},    {"threads", required_argument, 0, 't'},
        {"warmup", required_argument, 0, 'W'},  {"reps", required_argument, 0, 'R'},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': a->spec.name = optarg; bad = cli_model("profile", optarg); break;
        case 'b': bad = cli_int64("profile", "--batch", optarg, 1, 1 << 20, &a->batch); break;
        case 'H': bad = cli_head("profile", optarg, &a->spec.head); break;
        case 't': bad = cli_int64("profile", "--threads", optarg, 1, 4096, &a->threads); break;
        case 'W': bad = cli_int64("profile", "--warmup", optarg, 0, 100000, &a->warmup); break;
        case 'R': bad = cli_int64("profile", "--reps", optarg, 1, 100000, &a->reps); break;
        case 'j': a->json = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
        if (bad)
            return -1;
    }
    if (cli_no_positionals("profile", optind, argc, argv) != 0)
        return -1;
    if (!a->spec.name) {
        fprintf(stderr, "batchbench profile: --model is required (see batchbench models)\n");
        return -1;
    }
    return 0;
}

/* Median forward time over reps passes of a backend prepared with `profile`;
 * with profile, step_sec[reps][n] gets every step's time. */
static int passes(const bb_graph *g, const profile_args *a, int profile, const float *x, double *fwd,
                  double **step_sec, int *n_steps, const bb_step_time **names, bb_backend **keep, bb_err *err)
{
    bb_backend *b = NULL;
    bb_backend_opts o = {.threads = (int)a->threads, .profile = profile};
    double *t = malloc(sizeof(double) * (size_t)a->reps);
    int rc = t ? bb_cpu_backend.prepare(&b, g, a->batch, &o, err) : bb_err_set(err, "out of memory");
    if (rc == 0)
        rc = bb_cpu_backend.set_input(b, x, err);
    for (int64_t i = 0; rc == 0 && i < a->warmup; i++)
        rc = bb_cpu_backend.forward(b, err);
    for (int64_t i = 0; rc == 0 && i < a->reps; i++) {
        double t0 = bb_now_s();
        rc = bb_cpu_backend.forward(b, err);
        t[i] = bb_now_s() - t0;
        if (rc == 0 && profile) {
            *n_steps = bb_cpu_backend.profile(b, names);
            if (i == 0 && !(*step_sec = malloc(sizeof(double) * (size_t)(a->reps * *n_steps))))
                rc = bb_err_set(err, "out of memory");
            for (int s = 0; rc == 0 && s < *n_steps; s++)
                (*step_sec)[i * *n_steps + s] = (*names)[s].seconds;
        }
    }
    bb_stats st;
    if (rc == 0 && bb_stats_compute(t, (int)a->reps, &st) == 0)
        *fwd = st.median;
    free(t);
    if (keep && rc == 0)
        *keep = b;
    else if (b)
        bb_cpu_backend.destroy(b);
    return rc;
}

/* Per-step medians over the reps (column medians of step_sec). */
static double *step_medians(const double *step_sec, int reps, int n)
{
    double *med = malloc(sizeof(double) * (size_t)n), *col = malloc(sizeof(double) * (size_t)reps);
    for (int s = 0; med && col && s < n; s++) {
        bb_stats st;
        for (int r = 0; r < reps; r++)
            col[r] = step_sec[r * n + s];
        med[s] = bb_stats_compute(col, reps, &st) == 0 ? st.median : 0.0;
    }
    free(col);
    return med;
}

typedef struct {
    const char *kind;
    double seconds;
    int64_t macs;
    int steps;
} kind_sum;

static int by_kind(const bb_step_time *st, const double *med, int n, kind_sum *k, int cap)
{
    int nk = 0;
    for (int s = 0; s < n; s++) {
        int j = 0;
        while (j < nk && strcmp(k[j].kind, st[s].kind) != 0)
            j++;
        if (j == nk && nk < cap)
            k[nk++] = (kind_sum){st[s].kind, 0.0, 0, 0};
        if (j < nk)
            k[j].seconds += med[s], k[j].macs += st[s].macs, k[j].steps++;
    }
    return nk;
}

static void print_text(const profile_args *a, const bb_step_time *st, const double *med, int n, double total,
                       double unprofiled)
{
    kind_sum k[32];
    int nk = by_kind(st, med, n, k, 32);
    printf("%s, batch %lld, %s head: median of %lld profiled passes\n\n", a->spec.name, (long long)a->batch,
           bb_head_name(a->spec.head), (long long)a->reps);
    cli_print_steps(st, med, n, total, 0);
    printf("\n%-12s %6s %10s %6s %9s\n", "kind", "steps", "ms", "share", "GFLOP/s");
    for (int j = 0; j < nk; j++)
        printf("%-12s %6d %10.3f %5.1f%% %9.1f\n", k[j].kind, k[j].steps, k[j].seconds * 1e3,
               100.0 * k[j].seconds / total, k[j].seconds > 0 ? 2.0 * (double)k[j].macs / k[j].seconds / 1e9 : 0.0);
    printf("\nsum of steps %.3f ms; unprofiled forward %.3f ms (the per-step sync adds %.1f%%)\n", total * 1e3,
           unprofiled * 1e3, unprofiled > 0 ? 100.0 * (total - unprofiled) / unprofiled : 0.0);
}

static void print_json(const profile_args *a, const bb_step_time *st, const double *med, int n, double total,
                       double unprofiled)
{
    cJSON *o = cJSON_CreateObject(), *steps = cJSON_CreateArray(), *kinds = cJSON_CreateArray();
    kind_sum k[32];
    int nk = by_kind(st, med, n, k, 32);
    cJSON_AddStringToObject(o, "model", a->spec.name);
    cJSON_AddNumberToObject(o, "batch_size", (double)a->batch);
    cJSON_AddNumberToObject(o, "reps", (double)a->reps);
    for (int s = 0; s < n; s++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "op", st[s].label);
        cJSON_AddStringToObject(e, "kind", st[s].kind);
        cJSON_AddNumberToObject(e, "median_s", med[s]);
        cJSON_AddNumberToObject(e, "share", med[s] / total);
        cJSON_AddNumberToObject(e, "macs", (double)st[s].macs);
        cJSON_AddItemToArray(steps, e);
    }
    for (int j = 0; j < nk; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", k[j].kind);
        cJSON_AddNumberToObject(e, "steps", k[j].steps);
        cJSON_AddNumberToObject(e, "seconds", k[j].seconds);
        cJSON_AddNumberToObject(e, "share", k[j].seconds / total);
        cJSON_AddNumberToObject(e, "gflops", k[j].seconds > 0 ? 2.0 * (double)k[j].macs / k[j].seconds / 1e9 : 0);
        cJSON_AddItemToArray(kinds, e);
    }
    cJSON_AddItemToObject(o, "steps", steps);
    cJSON_AddItemToObject(o, "by_kind", kinds);
    cJSON_AddNumberToObject(o, "sum_of_steps_s", total);
    cJSON_AddNumberToObject(o, "unprofiled_forward_s", unprofiled);
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

static int run(const profile_args *a, bb_err *err)
{
    bb_graph *g = bb_model_open(&a->spec, err);
    float *x = g ? malloc(sizeof(float) * (size_t)(a->batch * 3 * 224 * 224)) : NULL;
    if (!x) {
        bb_graph_free(g);
        return g ? bb_err_set(err, "out of memory") : -1;
    }
    bb_random_input(x, a->batch * 3 * 224 * 224, a->spec.seed + 1);
    double plain = 0, prof = 0, *step_sec = NULL, *med = NULL;
    int n = 0;
    const bb_step_time *names = NULL;
    bb_backend *b = NULL;
    int rc = passes(g, a, 0, x, &plain, NULL, NULL, NULL, NULL, err);
    if (rc == 0)
        rc = passes(g, a, 1, x, &prof, &step_sec, &n, &names, &b, err);
    if (rc == 0 && !(med = step_medians(step_sec, (int)a->reps, n)))
        rc = bb_err_set(err, "out of memory");
    if (rc == 0) {
        double total = 0;
        for (int s = 0; s < n; s++)
            total += med[s];
        (a->json ? print_json : print_text)(a, names, med, n, total > 0 ? total : 1e-12, plain);
    }
    if (b)
        bb_cpu_backend.destroy(b);
    free(med);
    free(step_sec);
    free(x);
    bb_graph_free(g);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    profile_args a;
    memset(&a, 0, sizeof a);
    a.batch = 8, a.warmup = 2, a.reps = 5;
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p > 0 ? BB_EXIT_OK : BB_EXIT_USAGE;
    bb_err err = {0};
    if (run(&a, &err) != 0) {
        fprintf(stderr, "batchbench profile: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    return BB_EXIT_OK;
}
