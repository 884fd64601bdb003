/*
 * cmd_profile.c — `batchbench profile`: where a forward pass spends its
 * time. Per step (one oneDNN primitive, kernel or reorder): the median time
 * over the profiled passes, its share, MACs and GFLOP/s; then the same by op
 * kind, and the profiled total against an unprofiled pass (the profiler
 * syncs after every step). Also home of the per-step table, which
 * `infer --profile` prints the same way (cli_print_steps).
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "stats/stats.h"
#include "cli/cli.h"
#include "models/model.h"
#include "onnx/onnx_import.h"
#include "util/clock.h"

/* GFLOP/s of `macs` multiply-accumulates in `s` seconds; 0 when unknown. */
static double gflops(int64_t macs, double s)
{
    return s > 0 && macs > 0 ? 2.0 * (double)macs / s / 1e9 : 0.0;
}

/* "-" for steps without MACs (pooling, reorders...), else the number. */
static void print_rate_cols(int64_t macs, double s)
{
    if (macs > 0)
        printf(" %10.1f %9.1f", (double)macs / 1e6, gflops(macs, s));
    else
        printf(" %10s %9s", "-", "-");
}

void cli_print_steps(const bb_step_time *st, const double *seconds, int n, double total, int stats)
{
    printf("%-5s %-44s %-10s %10s %6s %10s %9s", "step", "op", "kind", "ms", "share", "MMAC", "GFLOP/s");
    if (stats)
        printf(" %9s %9s %6s", "out rms", "max |x|", "subn");
    printf("  %s\n", "impl");
    for (int i = 0; i < n; i++) {
        double s = seconds ? seconds[i] : st[i].seconds;
        printf("%-5d %-44.44s %-10s %10.3f %5.1f%%", i, st[i].label, st[i].kind, s * 1e3, 100.0 * s / total);
        print_rate_cols(st[i].macs, s);
        if (stats)
            printf(" %9.3g %9.3g %6lld", st[i].out_rms, st[i].out_absmax, (long long)st[i].out_subnormal);
        printf("  %s\n", st[i].impl ? st[i].impl : "-");
    }
}

typedef struct {
    bb_model_spec spec;
    int64_t batch, threads, warmup, reps;
    int json;
    int head_set; /* --head given (an ONNX model refuses it) */
    const char *device;
    cli_backend_flags backend_opts;
    bb_run_config config; /* backend, precision, threads, options: resolved after parsing */
} profile_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench profile --model M|PATH.onnx [--batch N] [--head features|classifier]\n"
               "                          [--threads T] [--warmup W] [--reps R] [--json]\n"
               "                          [--device cpu|cuda|auto] [--precision fp32|tf32|fp16|bf16]\n"
               "                          [--backend-opt KEY=VALUE ...]\n"
               "\n"
               "Times every step of the forward pass (median over R profiled passes after W\n"
               "warm-up passes; defaults batch 8, W 2, R 5): time, share, MACs and GFLOP/s per\n"
               "step and per op kind, and the profiled total against the median of R unprofiled\n"
               "passes (the profiler waits for every step to finish). --json: the same data.\n"
               "--model: a zoo model or the path of an ONNX file (ending .onnx; no --head),\n"
               "fed a seeded random batch of its own input shape.\n"
               "--device: auto (default: cuda when this build has it and a GPU is usable,\n"
               "else cpu), cpu or cuda (steps timed with CUDA events).\n"
               "--precision: fp32 (default), bf16 (cuda, or a CPU with AVX512-BF16 or AMX),\n"
               "tf32 and fp16 (cuda only).\n");
    cli_backend_opts_help(f);
    fprintf(f, "Exit codes: 0 ok, 1 runtime failure, 2 bad arguments.\n");
}

static int parse(int argc, char **argv, profile_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},   {"batch", required_argument, 0, 'b'},
        {"head", required_argument, 0, 'H'},    {"threads", required_argument, 0, 't'},
        {"warmup", required_argument, 0, 'W'},  {"reps", required_argument, 0, 'R'},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {"precision", required_argument, 0, 'P'}, {"device", required_argument, 0, 'd'},
        {"backend-opt", required_argument, 0, 'O'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': a->spec.name = optarg; bad = cli_model("profile", optarg); break;
        case 'b': bad = cli_int64("profile", "--batch", optarg, 1, 1 << 20, &a->batch); break;
        case 'H': bad = cli_head("profile", optarg, &a->spec.head), a->head_set = 1; break;
        case 't': bad = cli_int64("profile", "--threads", optarg, 1, 4096, &a->threads); break;
        case 'W': bad = cli_int64("profile", "--warmup", optarg, 0, 100000, &a->warmup); break;
        case 'R': bad = cli_int64("profile", "--reps", optarg, 1, 100000, &a->reps); break;
        case 'j': a->json = 1; break;
        case 'P': bad = cli_precision("profile", optarg, &a->config.precision); break;
        case 'd': a->device = optarg; bad = cli_device("profile", optarg); break;
        case 'O': bad = cli_backend_opt_add("profile", &a->backend_opts, optarg); break;
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
    if (bb_onnx_is_path(a->spec.name) && a->head_set)
        return cli_no_head_for_onnx("profile", a->spec.name);
    return 0;
}

/* What one series of passes gave. With profile, step_s[rep * n + step]
 * holds every step's time and steps (owned by b, kept alive) names them. */
typedef struct {
    const bb_backend_ops *be;
    bb_backend *b;
    double forward_s; /* median wall time of a whole pass */
    double *step_s;
    const bb_step_time *steps;
    int n, threads;
} pass_series;

static void series_free(pass_series *p)
{
    if (p->b)
        p->be->destroy(p->b);
    free(p->step_s);
    p->b = NULL, p->step_s = NULL, p->steps = NULL;
}

/* After profiled pass `rep`: copies its step times into p->step_s. */
static int keep_steps(pass_series *p, int64_t rep, int64_t reps, bb_err *err)
{
    int n = p->be->profile(p->b, &p->steps);
    if (rep == 0) {
        p->n = n;
        if (!(p->step_s = malloc(sizeof(double) * (size_t)(reps * (n > 0 ? n : 1)))))
            return bb_err_oom(err, "out of memory for %lld x %d step times", (long long)reps, n);
    }
    if (n != p->n)
        return bb_err_set(err, "profiled pass %lld had %d steps, the first had %d", (long long)rep, n, p->n);
    for (int s = 0; s < n; s++)
        p->step_s[rep * n + s] = p->steps[s].seconds;
    return 0;
}

/* W warm-up passes, then R timed passes of a backend prepared with or
 * without the profiler; p->forward_s gets the median pass time. */
static int run_series(const bb_graph *g, const profile_args *a, int profile, const float *x, pass_series *p,
                      bb_err *err)
{
    bb_run_config o = a->config;
    o.profile = profile;
    const bb_backend_ops *be = p->be = o.backend;
    bb_backend_report r;
    bb_stats st;
    double *t = malloc(sizeof(double) * (size_t)a->reps);
    int rc = t ? be->prepare(&p->b, g, a->batch, &o, err) : bb_err_oom(err, "out of memory");
    if (rc == 0)
        rc = be->set_input(p->b, x, err);
    for (int64_t i = 0; rc == 0 && i < a->warmup; i++)
        rc = be->forward(p->b, err);
    for (int64_t i = 0; rc == 0 && i < a->reps; i++) {
        double t0 = bb_now_s();
        rc = be->forward(p->b, err);
        t[i] = be->forward_seconds ? be->forward_seconds(p->b) : bb_now_s() - t0;
        if (rc == 0 && profile)
            rc = keep_steps(p, i, a->reps, err);
    }
    if (rc == 0 && bb_stats_compute(t, (int)a->reps, &st) == 0)
        p->forward_s = st.median;
    if (rc == 0) {
        be->report(p->b, &r);
        p->threads = r.threads;
    }
    free(t);
    return rc;
}

/* Per-step medians over the reps (column medians of step_s). */
static double *step_medians(const double *step_s, int reps, int n)
{
    double *med = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *col = malloc(sizeof(double) * (size_t)reps);
    for (int s = 0; med && col && s < n; s++) {
        bb_stats st;
        for (int r = 0; r < reps; r++)
            col[r] = step_s[r * n + s];
        med[s] = bb_stats_compute(col, reps, &st) == 0 ? st.median : 0.0;
    }
    if (!col) {
        free(med);
        med = NULL;
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

enum { MAX_KINDS = 64 };

/* Sums the steps by kind, in order of first appearance. */
static int by_kind(const bb_step_time *st, const double *med, int n, kind_sum *k)
{
    int nk = 0;
    for (int s = 0; s < n; s++) {
        int j = 0;
        while (j < nk && strcmp(k[j].kind, st[s].kind) != 0)
            j++;
        if (j == nk && nk < MAX_KINDS)
            k[nk++] = (kind_sum){st[s].kind, 0.0, 0, 0};
        if (j < nk)
            k[j].seconds += med[s], k[j].macs += st[s].macs, k[j].steps++;
    }
    return nk;
}

/* Everything the report needs, computed once for both outputs. */
typedef struct {
    const profile_args *a;
    const bb_step_time *st;
    const double *med;
    int n, nk, threads;
    kind_sum k[MAX_KINDS];
    double total;      /* sum of the step medians */
    double profiled;   /* median profiled pass */
    double unprofiled; /* median unprofiled pass */
} profile_report;

static double overhead_pct(const profile_report *r)
{
    return r->unprofiled > 0 ? 100.0 * (r->profiled - r->unprofiled) / r->unprofiled : 0.0;
}

static void print_text(const profile_report *r)
{
    const profile_args *a = r->a;
    printf("%s, batch %lld, %s head, %s %s, %d threads: median of %lld profiled passes after %lld warm-up\n\n",
           a->spec.name, (long long)a->batch, bb_head_name(a->spec.head), bb_config_device(&a->config),
           bb_precision_name(a->config.precision), r->threads, (long long)a->reps, (long long)a->warmup);
    cli_print_steps(r->st, r->med, r->n, r->total, 0);
    printf("\n%-12s %6s %10s %6s %10s %9s\n", "kind", "steps", "ms", "share", "MMAC", "GFLOP/s");
    for (int j = 0; j < r->nk; j++) {
        const kind_sum *k = &r->k[j];
        printf("%-12s %6d %10.3f %5.1f%%", k->kind, k->steps, k->seconds * 1e3, 100.0 * k->seconds / r->total);
        print_rate_cols(k->macs, k->seconds);
        printf("\n");
    }
    printf("\nsum of step medians %.3f ms; profiled forward %.3f ms, unprofiled forward %.3f ms (medians)\n"
           "profiled vs unprofiled: %+.1f%% (the per-step sync's cost, plus run-to-run noise)\n",
           r->total * 1e3, r->profiled * 1e3, r->unprofiled * 1e3, overhead_pct(r));
}

static cJSON *json_steps(const profile_report *r)
{
    cJSON *steps = cJSON_CreateArray();
    for (int s = 0; s < r->n; s++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "step", s);
        cJSON_AddStringToObject(e, "op", r->st[s].label);
        cJSON_AddStringToObject(e, "kind", r->st[s].kind);
        cJSON_AddNumberToObject(e, "median_s", r->med[s]);
        cJSON_AddNumberToObject(e, "share", r->med[s] / r->total);
        cJSON_AddNumberToObject(e, "macs", (double)r->st[s].macs);
        cJSON_AddNumberToObject(e, "gflops", gflops(r->st[s].macs, r->med[s]));
        if (r->st[s].impl)
            cJSON_AddStringToObject(e, "impl", r->st[s].impl);
        else
            cJSON_AddNullToObject(e, "impl");
        cJSON_AddItemToArray(steps, e);
    }
    return steps;
}

static cJSON *json_kinds(const profile_report *r)
{
    cJSON *kinds = cJSON_CreateArray();
    for (int j = 0; j < r->nk; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", r->k[j].kind);
        cJSON_AddNumberToObject(e, "steps", r->k[j].steps);
        cJSON_AddNumberToObject(e, "seconds", r->k[j].seconds);
        cJSON_AddNumberToObject(e, "share", r->k[j].seconds / r->total);
        cJSON_AddNumberToObject(e, "macs", (double)r->k[j].macs);
        cJSON_AddNumberToObject(e, "gflops", gflops(r->k[j].macs, r->k[j].seconds));
        cJSON_AddItemToArray(kinds, e);
    }
    return kinds;
}

static void print_json(const profile_report *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", r->a->spec.name);
    cJSON_AddStringToObject(o, "head", bb_head_name(r->a->spec.head));
    cJSON_AddNumberToObject(o, "batch_size", (double)r->a->batch);
    cJSON_AddStringToObject(o, "device", bb_config_device(&r->a->config));
    cJSON_AddStringToObject(o, "precision", bb_precision_name(r->a->config.precision));
    cJSON_AddNumberToObject(o, "threads", r->threads);
    cJSON_AddNumberToObject(o, "warmup", (double)r->a->warmup);
    cJSON_AddNumberToObject(o, "reps", (double)r->a->reps);
    cJSON_AddItemToObject(o, "steps", json_steps(r));
    cJSON_AddItemToObject(o, "by_kind", json_kinds(r));
    cJSON_AddNumberToObject(o, "sum_of_steps_s", r->total);
    cJSON_AddNumberToObject(o, "profiled_forward_s", r->profiled);
    cJSON_AddNumberToObject(o, "unprofiled_forward_s", r->unprofiled);
    cJSON_AddNumberToObject(o, "profiling_overhead", overhead_pct(r) / 100.0);
    char *s = cJSON_Print(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

static void report(const profile_args *a, const pass_series *plain, const pass_series *prof, const double *med)
{
    profile_report r = {.a = a, .st = prof->steps, .med = med, .n = prof->n, .threads = prof->threads,
                        .profiled = prof->forward_s, .unprofiled = plain->forward_s};
    for (int s = 0; s < r.n; s++)
        r.total += med[s];
    r.total = r.total > 0 ? r.total : 1e-12;
    r.nk = by_kind(r.st, med, r.n, r.k);
    (a->json ? print_json : print_text)(&r);
}

static int run(const profile_args *a, bb_err *err)
{
    bb_graph *g = bb_model_open(&a->spec, err);
    int64_t n_in = g ? a->batch * bb_tensor_numel(&g->tensors[g->input]) : 0; /* the model's input shape */
    float *x = g ? malloc(sizeof(float) * (size_t)n_in) : NULL;
    if (!x) {
        bb_graph_free(g);
        return g ? bb_err_oom(err, "out of memory for a batch of %lld", (long long)a->batch) : -1;
    }
    bb_random_input(x, n_in, a->spec.seed + 1);
    pass_series plain = {0}, prof = {0};
    double *med = NULL;
    int rc = run_series(g, a, 0, x, &plain, err);
    series_free(&plain); /* only one backend's memory at a time */
    if (rc == 0)
        rc = run_series(g, a, 1, x, &prof, err);
    if (rc == 0 && !(med = step_medians(prof.step_s, (int)a->reps, prof.n)))
        rc = bb_err_oom(err, "out of memory");
    if (rc == 0)
        report(a, &plain, &prof, med);
    series_free(&prof);
    free(med);
    free(x);
    bb_graph_free(g);
    return rc;
}

int cmd_profile(int argc, char **argv)
{
    profile_args a;
    memset(&a, 0, sizeof a);
    a.batch = 8, a.warmup = 2, a.reps = 5, a.device = "auto";
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p > 0 ? BB_EXIT_OK : BB_EXIT_USAGE;
    a.config.threads = (int)a.threads, a.config.head = a.spec.head;
    if ((p = cli_config_resolve("profile", a.device, &a.backend_opts, &a.config)) != BB_EXIT_OK)
        return p;
    bb_err err = {0};
    if (run(&a, &err) != 0) {
        fprintf(stderr, "batchbench profile: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    return BB_EXIT_OK;
}
