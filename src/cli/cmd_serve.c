/*
 * cmd_serve.c — `batchbench serve`: a real serving run of one model under
 * an open-loop load, with a dynamic batcher (serve/serve.h).
 *
 * Why this file exists: the sweep says how long a batch takes; this
 * command answers what latency requests see at rate R when a server batches
 * up to B of them, waiting at most T ms for a batch to fill. It parses and
 * validates the flags (a bad value is a message naming the flag, exit 2),
 * collects the environment, runs serve/serve.c, prints a summary and writes
 * one JSON file (serve/serve_json.h, docs/serve-schema.md).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_env.h"
#include "cli/cli.h"
#include "env/env.h"
#include "models/model.h"
#include "results/model_ref.h"
#include "serve/serve.h"
#include "serve/serve_json.h"

#define CMD "serve"
#define LEAD_S 0.05 /* the schedule's zero, after warm-up */

typedef struct {
    const char *model, *device, *out_dir;
    bb_run_config config;
    cli_backend_flags backend_opts;
    bb_serve_cfg s;
    int have_rate, have_batch, have_timeout, have_duration, have_drain, help;
} serve_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench serve --model M [--device cpu|cuda|auto] [--precision P] [--threads T]\n"
            "                        [--backend-opt KEY=VALUE ...] --rate R --max-batch B --timeout-ms T\n"
            "                        --duration S [--arrivals poisson|uniform] [--seed N] [--slo-ms MS]\n"
            "                        [--drain S] [--out DIR] [--warmup N]\n"
            "\n"
            "Serves model M (a zoo model, or the path of an ONNX file ending .onnx) for real\n"
            "under an open-loop load: ceil(R x S) requests of one item\n"
            "each arrive at R per second (--arrivals poisson, seeded by --seed, the default;\n"
            "or uniform, exactly 1/R apart), on a schedule fixed before the run, so a slow\n"
            "answer never delays the next request (no coordinated omission). A dynamic\n"
            "batcher starts a batch when B requests wait or the oldest has waited T ms,\n"
            "whichever comes first; one server runs one batch at a time, oldest requests\n"
            "first (the rule of src/serve/batcher.h, which the report simulates). A\n"
            "request's latency runs from its scheduled arrival to the end of its batch.\n"
            "\n"
            "The model is prepared for every batch size up to B when B <= 16, else for the\n"
            "powers of two below B and B itself (a batch runs padded at the next prepared\n"
            "size), each warmed up with --warmup passes (default 3). On cuda each batch's\n"
            "copy to the GPU is part of its time; on the CPU the input stays in place.\n"
            "\n"
            "--rate R (> 0, per second)   --max-batch B (1..4096)   --timeout-ms T (>= 0)\n"
            "--duration S (> 0 s): the schedule's length (R x S: at most 2000000 requests).\n"
            "--drain S (>= 0; default 10 s or 5 x duration, whichever is smaller): a batch\n"
            "          that would start after duration + drain is not run; its requests and\n"
            "          all later ones are dropped (an overloaded server's backlog) and the\n"
            "          run ends there.\n"
            "--slo-ms MS (> 0): requests slower than MS count as late (else not counted).\n"
            "--seed N (default 0): seeds the schedule, the model's random weights and the input.\n"
            "--device: auto (default: cuda when this build has it and a GPU is usable,\n"
            "          else cpu), cpu or cuda. --precision: fp32 (default, strict), tf32,\n"
            "          fp16 (cuda only), bf16 (cuda, or a CPU with AVX512-BF16 or AMX).\n"
            "--threads: CPU threads (default: OMP_NUM_THREADS, else all cores).\n");
    cli_backend_opts_help(f);
    fprintf(f,
            "\nPrints each prepared size's memory, then served/dropped/late, latency p50/p90/\n"
            "p99/max, achieved vs offered throughput, the batch sizes formed and how late\n"
            "the harness started batches. The JSON file serve-<host>-<device>-model_name-<M>-\n"
            "rate-<R>-max_batch-<B>-timeout_ms-<T>[-uniform][-<precision>].json goes to --out\n"
            "(default results-serve/): every latency, the schedule, every batch\n"
            "(docs/serve-schema.md).\n"
            "\n"
            "exit codes: 0 ok (also when requests were dropped), 1 runtime failure (a batch\n"
            "size cannot be prepared, the file cannot be written), 2 bad arguments,\n"
            "130 interrupted (no file written)\n");
}

/* A number in [lo, hi] (above lo when open), else a message naming the flag. */
static int real(const char *flag, const char *s, double lo, int open, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || (open && v <= lo) || v > hi) {
        fprintf(stderr, "batchbench " CMD ": %s: '%s' is not a number %s %g (at most %g)\n", flag, s,
                open ? ">" : ">=", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int arrivals(const char *s, bb_arrivals *out)
{
    if (!strcmp(s, "poisson") || !strcmp(s, "uniform"))
        return *out = !strcmp(s, "poisson") ? BB_ARRIVALS_POISSON : BB_ARRIVALS_UNIFORM, 0;
    fprintf(stderr, "batchbench " CMD ": --arrivals: '%s' is not one of poisson, uniform\n", s);
    return -1;
}

/* An integer flag into an int. */
static int int_flag(const char *flag, const char *s, int64_t lo, int64_t hi, int *out)
{
    int64_t v;
    if (cli_int64(CMD, flag, s, lo, hi, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* A flag in milliseconds into seconds. */
static int ms_flag(const char *flag, const char *s, int open, double *out_s)
{
    double ms;
    if (real(flag, s, 0, open, 1e9, &ms) != 0)
        return -1;
    *out_s = ms / 1e3;
    return 0;
}

/* The flags that shape the model and the device. */
static int parse_config_flag(int c, serve_args *a)
{
    switch (c) {
    case 'm': return cli_model(CMD, optarg) ? -1 : (a->model = cli_model_name(optarg), 0);
    case 'd': return cli_device(CMD, optarg) ? -1 : (a->device = optarg, 0);
    case 'q': return cli_precision(CMD, optarg, &a->config.precision);
    case 't': return int_flag("--threads", optarg, 1, 4096, &a->config.threads);
    case 'O': return cli_backend_opt_add(CMD, &a->backend_opts, optarg);
    case 'o': a->out_dir = optarg; return 0;
    default: usage(stderr); return -1;
    }
}

static int parse_flag(int c, serve_args *a)
{
    bb_serve_cfg *s = &a->s;
    switch (c) {
    case 'r': a->have_rate = 1; return real("--rate", optarg, 0, 1, 1e7, &s->rate);
    case 'b': a->have_batch = 1; return int_flag("--max-batch", optarg, 1, 4096, &s->max_batch);
    case 'T': a->have_timeout = 1; return ms_flag("--timeout-ms", optarg, 0, &s->timeout_s);
    case 'D': a->have_duration = 1; return real("--duration", optarg, 0, 1, 1e6, &s->duration_s);
    case 'n': a->have_drain = 1; return real("--drain", optarg, 0, 0, 1e6, &s->drain_s);
    case 'a': return arrivals(optarg, &s->arrivals);
    case 's': return cli_u64(CMD, "--seed", optarg, &s->seed);
    case 'S': return ms_flag("--slo-ms", optarg, 1, &s->slo_s);
    case 'W': return int_flag("--warmup", optarg, 0, 1000000, &s->warmup);
    default: return parse_config_flag(c, a);
    }
}

/* Every required flag given, and a schedule that fits. */
static int check(const serve_args *a)
{
    const char *missing = !a->model ? "--model" : !a->have_rate ? "--rate" : !a->have_batch ? "--max-batch"
                        : !a->have_timeout ? "--timeout-ms" : !a->have_duration ? "--duration" : NULL;
    if (missing)
        return fprintf(stderr, "batchbench " CMD ": %s is required (see --help)\n", missing), -1;
    double n = ceil(a->s.rate * a->s.duration_s);
    if (n > BB_SERVE_MAX_REQUESTS)
        return fprintf(stderr, "batchbench " CMD ": --rate %g x --duration %g schedules %.0f requests; at most %d\n",
                       a->s.rate, a->s.duration_s, n, BB_SERVE_MAX_REQUESTS), -1;
    return 0;
}

static int parse(int argc, char **argv, serve_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},      {"device", required_argument, 0, 'd'},
        {"precision", required_argument, 0, 'q'}, {"threads", required_argument, 0, 't'},
        {"backend-opt", required_argument, 0, 'O'}, {"rate", required_argument, 0, 'r'},
        {"max-batch", required_argument, 0, 'b'},  {"timeout-ms", required_argument, 0, 'T'},
        {"duration", required_argument, 0, 'D'},   {"arrivals", required_argument, 0, 'a'},
        {"seed", required_argument, 0, 's'},       {"slo-ms", required_argument, 0, 'S'},
        {"drain", required_argument, 0, 'n'},      {"out", required_argument, 0, 'o'},
        {"warmup", required_argument, 0, 'W'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(stdout), a->help = 1, BB_EXIT_OK;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (parse_flag(c, a) != 0)
            return BB_EXIT_USAGE;
    if (cli_no_positionals(CMD, optind, argc, argv) != 0 || check(a) != 0)
        return BB_EXIT_USAGE;
    if (!a->have_drain)
        a->s.drain_s = bb_serve_default_drain(a->s.duration_s);
    return cli_config_resolve(CMD, a->device, &a->backend_opts, &a->config);
}

/* ---- the summary ------------------------------------------------------------------ */

static void print_config(const serve_args *a, const bb_env *env, int64_t n)
{
    const bb_serve_cfg *s = &a->s;
    int64_t sizes[BB_SERVE_MAX_SIZES];
    int k = bb_batcher_sizes(s->max_batch, sizes);
    char slo[64] = "no SLO";
    if (s->slo_s > 0)
        snprintf(slo, sizeof slo, "SLO %g ms", s->slo_s * 1e3);
    printf("batchbench " CMD ": %s on %s (%s, %d threads); %lld requests at %g/s (%s, seed %llu) over %g s, "
           "drain %g s; max batch %d, timeout %g ms, %s; prepared sizes",
           a->model, bb_config_device(&a->config), bb_precision_name(a->config.precision), env->threads_used,
           (long long)n, s->rate, s->arrivals == BB_ARRIVALS_UNIFORM ? "uniform" : "poisson",
           (unsigned long long)s->seed, s->duration_s, s->drain_s, s->max_batch, s->timeout_s * 1e3, slo);
    for (int i = 0; i < k; i++)
        printf("%s%lld", i ? "," : " ", (long long)sizes[i]);
    printf("\n");
    fflush(stdout);
}

static void print_summary(const serve_args *a, const bb_serve_result *res, const bb_serve_summary *s)
{
    const bb_serve_dist *l = &s->latency;
    printf("served %lld of %lld, dropped %lld", (long long)res->n_served, (long long)res->n_scheduled,
           (long long)res->n_dropped);
    if (s->n_late >= 0)
        printf(", late %lld (> %g ms)", (long long)s->n_late, a->s.slo_s * 1e3);
    printf("\n");
    if (l->n > 0)
        printf("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (mean %.2f)\n", l->p50 * 1e3, l->p90 * 1e3,
               l->p99 * 1e3, l->max * 1e3, l->mean * 1e3);
    printf("throughput: %.1f/s achieved of %g/s offered\n", s->achieved_per_s, a->s.rate);
    printf("batches: %lld, mean size %.2f, histogram", (long long)res->n_batches, s->mean_size);
    for (int n = 1; n <= a->s.max_batch; n++)
        if (s->histogram[n])
            printf(" %d:%lld", n, (long long)s->histogram[n]);
    if (s->padded_items)
        printf("; %lld padding items", (long long)s->padded_items);
    printf("\n");
    if (s->service.n > 0)
        printf("service ms: p50 %.2f  max %.2f; batches started late by p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
               s->service.p50 * 1e3, s->service.max * 1e3, s->late_start.p50 * 1e3, s->late_start.p99 * 1e3,
               s->late_start.max * 1e3);
}

/* ---- the command ------------------------------------------------------------------ */

/* Runs, summarises and writes; the exit code. */
static int serve(serve_args *a, const bb_env *env)
{
    bb_serve_result res;
    bb_serve_summary *sum = calloc(1, sizeof *sum);
    bb_err err = {0};
    char path[1024];
    if (!sum)
        return fprintf(stderr, "batchbench " CMD ": out of memory\n"), BB_EXIT_FAILURE;
    print_config(a, env, (int64_t)ceil(a->s.rate * a->s.duration_s));
    int rc = bb_serve_run(&a->s, &res, &err);
    if (rc == 1) {
        fprintf(stderr, "batchbench " CMD ": interrupted; no result written\n");
        return free(sum), BB_EXIT_INTERRUPTED;
    }
    if (rc != 0) {
        fprintf(stderr, "batchbench " CMD ": %s\n", err.msg); /* names the batch size */
        return free(sum), BB_EXIT_FAILURE;
    }
    rc = BB_EXIT_OK;
    if (bb_serve_summarise(&a->s, &res, sum) != 0)
        rc = BB_EXIT_FAILURE, fprintf(stderr, "batchbench " CMD ": out of memory summarising the run\n");
    else if (print_summary(a, &res, sum), bb_serve_write(a->out_dir, &a->s, &res, sum, env, path, sizeof path, &err) != 0)
        rc = BB_EXIT_FAILURE, fprintf(stderr, "batchbench " CMD ": %s\n", err.msg);
    else
        printf("result: %s\n", path);
    bb_serve_result_free(&res);
    free(sum);
    return rc;
}

/* The environment (the GPU's on cuda) and the model, then the run. */
static int setup_and_serve(serve_args *a)
{
    bb_err err = {0};
    bb_env *env = calloc(1, sizeof *env);
    if (!env)
        return fprintf(stderr, "batchbench " CMD ": out of memory\n"), BB_EXIT_FAILURE;
    bb_env_collect(env, a->config.threads);
    bb_graph *g = NULL;
    bb_model_ref ref;
    int rc = BB_EXIT_FAILURE;
    bb_model_spec spec = {a->model, a->config.head, NULL, a->s.seed};
    if (!strcmp(bb_config_device(&a->config), "cuda") && bb_gpu_env_collect(&env->gpu, a->config.precision, &err) != 0)
        fprintf(stderr, "batchbench " CMD ": --device cuda: %s\n", err.msg);
    else if (!(g = bb_model_open(&spec, &err)))
        fprintf(stderr, "batchbench " CMD ": --model %s: %s\n", a->model, err.msg);
    else if (bb_model_ref_of_graph(&ref, a->model, g, NULL, &err) != 0)
        fprintf(stderr, "batchbench " CMD ": --model %s: %s\n", a->model, err.msg);
    else {
        a->s.g = g;
        if (ref.imported)
            a->s.model_file = ref.file, a->s.model_sha256 = ref.sha256;
        rc = serve(a, env);
    }
    bb_graph_free(g);
    free(env);
    return rc;
}

int cmd_serve(int argc, char **argv)
{
    serve_args a;
    memset(&a, 0, sizeof a);
    a.device = "auto", a.out_dir = "results-serve";
    a.config.head = BB_HEAD_FEATURES;
    a.s.warmup = 3, a.s.arrivals = BB_ARRIVALS_POISSON, a.s.lead_s = LEAD_S;
    int rc = parse(argc, argv, &a);
    if (rc != BB_EXIT_OK || a.help)
        return rc;
    if (a.config.threads == 0)
        a.config.threads = bb_cpu_default_threads();
    if (cli_prepare_out(CMD, a.out_dir) != 0)
        return BB_EXIT_FAILURE;
    a.s.config = &a.config;
    a.s.stop = cli_stop_on_signals();
    a.s.log = stdout;
    return setup_and_serve(&a);
}
