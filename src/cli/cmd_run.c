/*
 * cmd_run.c — `batchbench run`: the batch-size sweep from the command line:
 * presets, flags that override them, signal handling, the estimate before,
 * progress during and the summary table after; with --pipeline the same
 * driver (bench/sweep.h) fed by loader workers, and the flags that only the
 * sweep's measurement has refused by name.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_env.h"
#include "bench/pipeline.h"
#include "bench/shard.h"
#include "bench/sweep.h"
#include "data/dataset_cache.h"
#include "stats/recommend.h"
#include "cli/cli.h"
#include "cli/run_table.h"
#include "models/zoo.h"
#include "onnx/onnx_import.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench run [--preset quick|paper] [--device cpu|cuda|auto]\n"
            "                      [--precision fp32|tf32|fp16|bf16]\n"
            "                      [--models LIST] [--batch-sizes LIST] [--warmup N] [--warmup-time S]\n"
            "                      [--reps N|auto] [--reps-min N] [--target-ci PCT] [--max-config-time S]\n"
            "                      [--budget S]\n"
            "                      [--interleave on|off] [--margin PCT]\n"
            "                      [--min-time S] [--max-time S] [--pause S] [--idle-ms MS]\n"
            "                      [--mem-limit BYTES]\n"
            "                      [--threads T] [--head features|classifier] [--family NAME] [--seed S]\n"
            "                      [--input memory|dataset] [--data DIR] [--dataset-items N]\n"
            "                      [--out DIR] [--resume] [--no-report] [--shard I/N] [--plan]\n"
            "                      [--backend-opt KEY=VALUE ...]\n"
            "                      [--pipeline [--workers LIST] [--load-mode batches|items] [--prefetch N]\n"
            "                                  [--worker-kind thread|process]]\n"
            "\n"
            "Sweeps batch size x model: for each configuration the model is prepared for\n"
            "that batch size, warmed up, then only the forward pass of each measured\n"
            "batch is timed. One JSON result per configuration and summary.csv go to\n"
            "--out (default results/; missing folders above it are made).\n"
            "\n"
            "--device: auto (default) runs on the GPU when this build has CUDA and a\n"
            "          GPU is usable, else on the CPU. On cuda each batch is copied\n"
            "          from pinned memory before its forward pass (timed apart, as\n"
            "          input_copy_s) and the forward pass is timed with CUDA events.\n"
            "--precision: fp32 (default; strict, TF32 off), tf32, fp16 (cuda only), bf16\n"
            "             (cuda, or a CPU with AVX512-BF16 or AMX)\n"
            "\n"
            "presets (flags override them):\n"
            "  quick  (default on the CPU) resnet18, mobilenet_v2, vit_b_32; batch sizes\n"
            "         1,2,4,8,16,32,64; warm-up 2 passes and 1 s; reps auto (at least 10,\n"
            "         target +-2%%, cap 30 s per configuration), budget 200 s: at most 4\n"
            "         minutes on 2 cores\n"
            "  paper  the seed's experiment: all 12 models; 32,128,256,512,1024; warm-up\n"
            "         10 passes on a random batch, reps 10 (fixed) read from a stored data\n"
            "         set of 10,240 random items (--input dataset); features; 2 s pause\n"
            "         between models; charts of the mean +- 2 sd in seconds, as the seed's\n"
            "         (default on cuda)\n"
            "Measuring (both presets): a model's batch sizes are all prepared, warmed up,\n"
            "then timed in rounds, each giving every batch size ~0.25 s of batches in an\n"
            "order shuffled by --seed, so drift hits all alike (--interleave off: one\n"
            "configuration at a time, as the seed did; also used, and recorded, when the\n"
            "prepared configurations would not fit in memory together).\n"
            "--warmup N, --warmup-time S: untimed passes until both are reached\n"
            "--reps auto: measure until the 95%% CI of the median is within +/- --target-ci\n"
            "          PCT (default 2) %% of it, after at least --reps-min N (10) batches; a\n"
            "          model's batch sizes stop together once all are there, or each at\n"
            "          --max-config-time S, or at its share of the sweep's --budget S (wall\n"
            "          clock, shared between models by their estimated round time); each\n"
            "          result records the CI reached and why it stopped. With --pipeline\n"
            "          the preset's auto becomes a fixed --reps of its minimum (10), and\n"
            "          its warm-up time is not applied (only an explicit --warmup-time)\n"
            "--margin PCT: a batch size is tied with the fastest when the 95%% CI of their\n"
            "          time-per-item ratio overlaps 1 +/- PCT%% (default 2); the smallest\n"
            "          tied one is the one to use (table, report.md, recommendation.json)\n"
            "--models: names, 'all', 'conv' or 'transformer', or paths of ONNX files (ending\n"
            "          .onnx), comma-separated. An ONNX model runs as exported (no --head;\n"
            "          results: model = the file's base name, model_file, its SHA-256, head\n"
            "          \"graph\"), on random batches of its own input shape; --data needs\n"
            "          [3,224,224] inputs. A missing or unreadable file is exit 2, one that\n"
            "          cannot be imported exit 1, both before anything runs\n"
            "--family NAME: the family recorded for the ONNX models (default imported),\n"
            "          e.g. conv to chart them with the zoo's convolutional models\n"
            "--min-time: keep measuring until both --reps batches and S seconds\n"
            "--max-time: per configuration; past it the result is recorded as timeout\n"
            "--idle-ms MS: sleep MS before each timed batch (not timed): the batch times\n"
            "          of a server that idles between requests, which run slower than\n"
            "          back to back (caches, clocks). Part of the result's identity\n"
            "          (config.idle_s, files tagged -idle-<MS>ms); the report's serving\n"
            "          simulation draws from them after an idle gap (report --slo-p99)\n"
            "--mem-limit: a configuration needing more (e.g. 2G) is recorded as oom\n"
            "--input memory|dataset: memory (the quick preset's): one seeded random batch\n"
            "            is reused; dataset (the paper preset's): warm-up on a random batch,\n"
            "            then each measured batch is the data set's next one, read on this\n"
            "            thread and copied to the device outside the clock, as the seed's\n"
            "            DataLoader (main process, no shuffle). Recorded in each result\n"
            "--data DIR: the data set to read (batchbench dataset make: preprocessed or\n"
            "            jpeg, the kinds --pipeline reads); implies --input dataset. Without\n"
            "            it --input dataset reads --dataset-items N random items (default\n"
            "            10240, the seed's) made once in $BATCHBENCH_CACHE (else\n"
            "            $XDG_CACHE_HOME/batchbench, else ~/.cache/batchbench) and reused\n"
            "--resume: skip configurations whose exact identity (model, batch size, device,\n"
            "          precision, head, engine, input, threads, non-default backend\n"
            "          options) already has an ok result in --out\n"
            "--shard I/N: run only shard I (1..N) of a partition of the configurations\n"
            "          balanced by their estimated cost (the same on every machine), so\n"
            "          that N processes (scripts/slurm/submit.sh, scripts/multi-gpu.sh)\n"
            "          run every configuration once into one shared --out. Each writes\n"
            "          plan-<sweep>.json (the whole sweep: report names what is missing)\n"
            "          and records config.sweep and config.shard; with --resume a\n"
            "          configuration any node of the same sweep finished is kept\n"
            "--plan:  print the partition (--shard all/N: each shard's estimated time\n"
            "          against the mean; --shard I/N: shard I's configurations) and exit\n"
            "--pipeline: end to end: --data is read by --workers loader threads (default\n"
            "            1,2,4,... up to the cores; --load-mode batches: each worker loads\n"
            "            whole batches, items: all workers fill one batch; --prefetch\n"
            "            batches ahead per worker, default 2) while the model runs; per\n"
            "            (model, batch size, workers) one pipeline-*.json with items/s, the\n"
            "            time to the first result and the share of time spent waiting for\n"
            "            data, and pipeline-summary.csv. The sweep's driver: --resume,\n"
            "            --mem-limit (the loader's buffers counted), --max-time, --min-time,\n"
            "            --pause, --warmup/--warmup-time (batches through the loader),\n"
            "            Ctrl-C and the report work alike; each configuration measures a\n"
            "            fixed --reps N batches, one configuration at a time. Refused with\n"
            "            --pipeline (exit 2): --reps auto, --reps-min, --target-ci,\n"
            "            --max-config-time, --budget, --interleave, --margin\n"
            "--worker-kind (with --pipeline): thread (default) or process: the loader's\n"
            "            workers forked as processes, as PyTorch's DataLoader (-procs files)\n");
    cli_backend_opts_help(f);
    fprintf(f,
            "After the sweep the charts and report.md are written into --out, as\n"
            "`batchbench report --out` would (--no-report: skip them).\n"
            "\n"
            "exit codes: 0 all ok, 1 a configuration failed or a fatal error (also an ONNX\n"
            "file that cannot be imported, or --data with a model of another input), 2 bad\n"
            "arguments (an unknown model, a missing .onnx file, --head with an ONNX model,\n"
            "--family without one), 130 interrupted (finished results are kept; use --resume)\n");
}

static void preset_quick(bb_sweep_cfg *c)
{
    static const char *const models[] = {"resnet18", "mobilenet_v2", "vit_b_32"};
    static const int64_t batches[] = {1, 2, 4, 8, 16, 32, 64};
    c->n_models = 3, c->n_batches = 7;
    memcpy(c->models, models, sizeof models);
    memcpy(c->batches, batches, sizeof batches);
    c->warmup = 2, c->warmup_time_s = 1.0, c->reps = 10, c->pause_s = 0.0;
    c->reps_auto = 1, c->max_config_time_s = 30.0, c->budget_s = 200.0;
}

static void preset_paper(bb_sweep_cfg *c)
{
    static const int64_t batches[] = {32, 128, 256, 512, 1024};
    c->n_models = 0;
    for (int i = 0; i < bb_zoo_count(); i++)
        c->models[c->n_models++] = bb_zoo_at(i)->name;
    c->n_batches = 5;
    memcpy(c->batches, batches, sizeof batches);
    c->warmup = 10, c->warmup_time_s = 0.0, c->reps = 10, c->pause_s = 2.0;
    c->reps_auto = 0, c->max_config_time_s = 60.0, c->budget_s = 0.0;
}

/* --models: names, ONNX file paths and the groups all / conv / transformer.
 * The list is kept in c->model_arg, split in place: the paths in
 * c->models point there. */
static int parse_models(const char *arg, bb_sweep_cfg *c)
{
    if (strlen(arg) >= sizeof c->model_arg)
        return fprintf(stderr, "batchbench run: --models: longer than %zu characters\n", sizeof c->model_arg - 1), -1;
    snprintf(c->model_arg, sizeof c->model_arg, "%s", arg);
    c->n_models = 0;
    for (char *save = NULL, *tok = strtok_r(c->model_arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int group = !strcmp(tok, "all") || !strcmp(tok, "conv") || !strcmp(tok, "transformer");
        for (int i = 0; group && i < bb_zoo_count(); i++) {
            const bb_model_info *m = bb_zoo_at(i);
            if (!strcmp(tok, "all") || !strcmp(tok, bb_family_name(m->family)))
                c->models[c->n_models++] = m->name;
        }
        if (!group) {
            if (cli_model_flag("run", "--models", tok) != 0)
                return -1;
            c->models[c->n_models++] = cli_model_name(tok); /* a path points into c->model_arg */
        }
        if (c->n_models > BB_SWEEP_MAX - 12)
            return fprintf(stderr, "batchbench run: --models: too many models\n"), -1;
    }
    return c->n_models ? 0 : (fprintf(stderr, "batchbench run: --models: empty list\n"), -1);
}

static int parse_batches(const char *arg, bb_sweep_cfg *c)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    c->n_batches = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (c->n_batches == BB_SWEEP_MAX)
            return fprintf(stderr, "batchbench run: --batch-sizes: at most %d\n", BB_SWEEP_MAX), -1;
        if (cli_int64("run", "--batch-sizes", tok, 1, 1 << 20, &c->batches[c->n_batches++]) != 0)
            return -1;
    }
    return c->n_batches ? 0 : (fprintf(stderr, "batchbench run: --batch-sizes: empty list\n"), -1);
}

/* "2G", "512M", "100000" -> bytes */
static int parse_seconds(const char *flag, const char *arg, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || v < 0 || v > 1e7) {
        fprintf(stderr, "batchbench run: %s: '%s' is not a number of seconds >= 0\n", flag, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* --reps N or --reps auto (adaptive; the preset's N stays the minimum). */
static int parse_reps(const char *arg, bb_sweep_cfg *c)
{
    int64_t v;
    if (!strcmp(arg, "auto"))
        return c->reps_auto = 1, 0;
    if (cli_int64("run", "--reps", arg, 1, 100000, &v) != 0)
        return -1;
    c->reps = (int)v, c->reps_auto = 0;
    return 0;
}

/* "2" or "2%" -> 0.02; 0 < PCT < 50. */
static int parse_percent(const char *flag, const char *arg, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (end && *end == '%')
        end++;
    if (errno || end == arg || *end || !(v > 0 && v < 50)) {
        fprintf(stderr, "batchbench run: %s: '%s' is not a percentage between 0 and 50 (e.g. 2)\n", flag, arg);
        return -1;
    }
    *out = v / 100.0;
    return 0;
}

static int parse_on_off(const char *flag, const char *arg, int *out)
{
    if (!strcmp(arg, "on") || !strcmp(arg, "off"))
        return *out = !strcmp(arg, "on"), 0;
    return fprintf(stderr, "batchbench run: %s: '%s' is not one of on, off\n", flag, arg), -1;
}

typedef struct {
    bb_sweep_cfg cfg;          /* cfg.config: the run configuration, its backend resolved before the preset */
    const char *device;
    cli_backend_flags backend_opts;
    int help;                  /* --help was printed */
    int no_report;
    int pipeline;
    int load_mode_set;         /* --load-mode given */
    int worker_kind_set;       /* --worker-kind given */
    int warmup_time_set;       /* --warmup-time given */
    int reps_auto_given;       /* the last --reps was auto */
    const char *sweep_only;    /* the first flag given that --pipeline refuses, and why */
    const char *sweep_only_why;
    double margin;
    const char *input;         /* --input, or NULL */
    int64_t dataset_items;     /* --dataset-items (cached data set) */
    int dataset_items_set;
    int use_cache;             /* read the cached data set (resolved in check_input) */
    char cache_path[1100];     /* its folder, once made or found */
    int plan;                  /* --plan: print the partition, run nothing */
    const char *shard_arg;     /* --shard, as given */
    int head_set;              /* --head given (an ONNX model refuses it) */
} run_args;

/* --idle-ms: milliseconds slept before each timed batch, 0 .. 60 s. */
static int parse_idle_ms(const char *arg, double *out_s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= 0 && v <= 60000))
        return fprintf(stderr, "batchbench run: --idle-ms: '%s' is not a number of milliseconds in 0..60000\n", arg),
               -1;
    *out_s = v / 1000.0;
    return 0;
}

/* A flag that only the inference sweep's measurement has: noted, so that
 * --pipeline can refuse it by name (parse_flag's rc passes through). */
static int sweep_only(run_args *a, const char *flag, const char *why, int rc)
{
    if (!a->sweep_only)
        a->sweep_only = flag, a->sweep_only_why = why;
    return rc;
}

static int parse_workers(const char *arg, bb_sweep_pipeline *p)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", arg);
    p->n_workers = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int64_t v;
        if (p->n_workers == BB_PIPELINE_MAX_WORKERS)
            return fprintf(stderr, "batchbench run: --workers: at most %d\n", BB_PIPELINE_MAX_WORKERS), -1;
        if (cli_int64("run", "--workers", tok, 1, 1024, &v) != 0)
            return -1;
        p->workers[p->n_workers++] = (int)v;
    }
    return p->n_workers ? 0 : (fprintf(stderr, "batchbench run: --workers: empty list\n"), -1);
}

static int parse_load_mode(const char *arg, bb_sweep_pipeline *p)
{
    if (!strcmp(arg, "batches") || !strcmp(arg, "items")) {
        p->mode = !strcmp(arg, "items") ? BB_LOAD_ITEMS : BB_LOAD_BATCHES;
        return 0;
    }
    return fprintf(stderr, "batchbench run: --load-mode: '%s' is not one of batches, items\n", arg), -1;
}

/* The value of --flag V or --flag=V in argv, or NULL. */
static const char *flag_value(int argc, char **argv, const char *flag)
{
    const char *v = NULL;
    size_t n = strlen(flag);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], flag) && i + 1 < argc)
            v = argv[i + 1];
        else if (!strncmp(argv[i], flag, n) && argv[i][n] == '=')
            v = argv[i] + n + 1;
    }
    return v;
}

/* The preset first (it may come after other flags), then the overrides.
 * Without --preset: quick on the CPU, paper (the seed's sweep) on cuda. */
static int apply_preset(int argc, char **argv, int on_gpu, bb_sweep_cfg *c)
{
    const char *preset = flag_value(argc, argv, "--preset");
    if (!preset)
        preset = on_gpu ? "paper" : "quick";
    c->preset = preset;
    if (!strcmp(preset, "quick"))
        preset_quick(c);
    else if (!strcmp(preset, "paper"))
        preset_paper(c);
    else
        return fprintf(stderr, "batchbench run: --preset: '%s' is not one of quick, paper\n", preset), -1;
    return 0;
}

static int parse_input(const char *arg, run_args *a)
{
    if (strcmp(arg, "memory") && strcmp(arg, "dataset"))
        return fprintf(stderr, "batchbench run: --input: '%s' is not one of memory, dataset\n", arg), -1;
    a->input = arg;
    return 0;
}

/* Where the batches come from: --input, else a data set when --data names
 * one or the paper preset asks for the seed's (the cached one). */
static int check_input(run_args *a)
{
    const char *data = a->cfg.config.data_dir;
    int paper = a->cfg.preset && !strcmp(a->cfg.preset, "paper");
    int dataset = a->input ? !strcmp(a->input, "dataset") : (data || paper);
    if (!dataset && data)
        return fprintf(stderr, "batchbench run: --input memory does not go with --data (it reads a data set)\n"), -1;
    if (!dataset && a->pipeline)
        return fprintf(stderr, "batchbench run: --pipeline needs --data DIR (batchbench dataset make) or --input "
                       "dataset\n"), -1;
    if (a->dataset_items_set && (!dataset || data))
        return fprintf(stderr, "batchbench run: --dataset-items sizes the cached data set of --input dataset; it does "
                       "not go with %s\n", data ? "--data" : "--input memory"), -1;
    a->use_cache = dataset && !data;
    return 0;
}

#define AUTO_ONLY "it goes with --reps auto, and --pipeline measures a fixed --reps N"

static int parse_flag(int c, run_args *a)
{
    bb_sweep_cfg *cfg = &a->cfg;
    int64_t v;
    switch (c) {
    case 'P': return 0; /* applied first */
    case 'd': return 0; /* resolved first */
    case 'q': return 0; /* resolved first */
    case 'm': return parse_models(optarg, cfg);
    case 'b': return parse_batches(optarg, cfg);
    case 'w': return cli_int64("run", "--warmup", optarg, 0, 100000, &v) ? -1 : (cfg->warmup = (int)v, 0);
    case 'r': return a->reps_auto_given = !strcmp(optarg, "auto"), parse_reps(optarg, cfg);
    case 'Q': return sweep_only(a, "--reps-min", AUTO_ONLY,
                                cli_int64("run", "--reps-min", optarg, 1, 100000, &v) ? -1 : (cfg->reps = (int)v, 0));
    case 'W': return a->warmup_time_set = 1, parse_seconds("--warmup-time", optarg, &cfg->warmup_time_s);
    case 'T': return sweep_only(a, "--target-ci", AUTO_ONLY, parse_percent("--target-ci", optarg, &cfg->target_ci));
    case 'C': return sweep_only(a, "--max-config-time", AUTO_ONLY,
                                parse_seconds("--max-config-time", optarg, &cfg->max_config_time_s));
    case 'B': return sweep_only(a, "--budget", AUTO_ONLY, parse_seconds("--budget", optarg, &cfg->budget_s));
    case 'I': return sweep_only(a, "--interleave", "--pipeline measures one configuration at a time (its loader and "
                                "the model share the machine)", parse_on_off("--interleave", optarg, &cfg->interleave));
    case 'M': return sweep_only(a, "--margin", "it is the sweep's tie rule between batch sizes; --pipeline names the "
                                "configuration with the most items/s", parse_percent("--margin", optarg, &a->margin));
    case 'n': return parse_seconds("--min-time", optarg, &cfg->min_time_s);
    case 'x': return parse_seconds("--max-time", optarg, &cfg->max_time_s);
    case 'p': return parse_seconds("--pause", optarg, &cfg->pause_s);
    case 'Z': return sweep_only(a, "--idle-ms", "--pipeline's loader keeps the model fed; idling between batches is "
                                "what the inference sweep measures", parse_idle_ms(optarg, &cfg->idle_s));
    case 'L': return cli_bytes("run", "--mem-limit", optarg, &cfg->mem_limit);
    case 't': return cli_int64("run", "--threads", optarg, 1, 4096, &v) ? -1 : (cfg->config.threads = (int)v, 0);
    case 'H': return a->head_set = 1, cli_head("run", optarg, &cfg->config.head);
    case 'f': return cli_family("run", optarg) ? -1 : (cfg->family = optarg, 0);
    case 'O': return cli_backend_opt_add("run", &a->backend_opts, optarg);
    case 's': return cli_u64("run", "--seed", optarg, &cfg->seed);
    case 'D': cfg->config.data_dir = optarg; return 0;
    case 'i': return parse_input(optarg, a);
    case 'Y': return a->dataset_items_set = 1,
                     cli_int64("run", "--dataset-items", optarg, 1, 100000000, &a->dataset_items);
    case 'o': cfg->out_dir = optarg; return 0;
    case 'R': cfg->resume = 1; return 0;
    case 'N': a->no_report = 1; return 0;
    case 'S': a->shard_arg = optarg; return 0;
    case 'A': a->plan = 1; return 0;
    case 'E': a->pipeline = 1; return 0;
    case 'K': return parse_workers(optarg, &cfg->pipeline);
    case 'J': return a->load_mode_set = 1, parse_load_mode(optarg, &cfg->pipeline);
    case 'F': return cli_int64("run", "--prefetch", optarg, 1, 64, &v) ? -1 : (cfg->pipeline.prefetch = (int)v, 0);
    case 'G':
        a->worker_kind_set = 1;
        if (bb_worker_kind_parse(optarg, &cfg->pipeline.worker_kind) == 0)
            return 0;
        return fprintf(stderr, "batchbench run: --worker-kind: '%s' is not one of thread, process\n", optarg), -1;
    default: usage(stderr); return -1;
    }
}

/* --head and --family against the models: an ONNX model has no --head (its
 * graph runs as exported); --family names the family of ONNX models. */
static int check_models(const run_args *a)
{
    const bb_sweep_cfg *c = &a->cfg;
    int onnx = 0;
    for (int m = 0; m < c->n_models; m++) {
        if (bb_onnx_is_path(c->models[m]) && a->head_set)
            return cli_no_head_for_onnx("run", c->models[m]);
        onnx |= bb_onnx_is_path(c->models[m]);
    }
    if (c->family && !onnx)
        return fprintf(stderr, "batchbench run: --family names the family of an ONNX model (a .onnx path in "
                       "--models); the zoo's models have their own\n"), -1;
    return 0;
}

/* Every flag works in both modes, or --pipeline (or its absence) refuses
 * it naming the flag. With --pipeline the preset's settings for the sweep's
 * measurement fall back: its --reps auto becomes a fixed --reps of its
 * minimum, and its warm-up time is not applied (warm-up by --warmup
 * batches, unless --warmup-time is given). */
static int check_mode(run_args *a)
{
    const bb_sweep_pipeline *p = &a->cfg.pipeline;
    if (!a->pipeline && (p->n_workers || p->prefetch))
        return fprintf(stderr, "batchbench run: --workers and --prefetch go with --pipeline\n"), BB_EXIT_USAGE;
    if (!a->pipeline && a->load_mode_set)
        return fprintf(stderr, "batchbench run: --load-mode goes with --pipeline\n"), BB_EXIT_USAGE;
    if (!a->pipeline && a->worker_kind_set)
        return fprintf(stderr, "batchbench run: --worker-kind goes with --pipeline\n"), BB_EXIT_USAGE;
    if (!a->pipeline)
        return BB_EXIT_OK;
    if (a->reps_auto_given) /* named first: the flag that decides how everything is measured */
        a->sweep_only = "--reps auto", a->sweep_only_why = "--pipeline measures a fixed --reps N (the preset's auto "
                                                           "becomes its minimum)";
    if (a->sweep_only)
        return fprintf(stderr, "batchbench run: %s does not go with --pipeline: %s\n", a->sweep_only, a->sweep_only_why),
               BB_EXIT_USAGE;
    a->cfg.pipeline.on = 1;
    a->cfg.reps_auto = 0;
    if (!a->warmup_time_set)
        a->cfg.warmup_time_s = 0.0;
    return BB_EXIT_OK;
}

/* --shard I/N (all/N only with --plan); the inference sweep only. */
static int check_shard(run_args *a)
{
    bb_sweep_cfg *c = &a->cfg;
    if (!a->shard_arg) {
        c->shard_count = a->plan ? 1 : 0;
        return BB_EXIT_OK;
    }
    if (bb_shard_parse(a->shard_arg, a->plan, &c->shard_index, &c->shard_count) != 0)
        return fprintf(stderr, "batchbench run: --shard: '%s' is not I/N with 1 <= I <= N <= %d%s\n", a->shard_arg,
                       BB_SHARD_MAX, a->plan ? " (or all/N)" : ""), BB_EXIT_USAGE;
    if (a->pipeline)
        return fprintf(stderr, "batchbench run: --shard does not go with --pipeline (it splits the inference "
                       "sweep)\n"), BB_EXIT_USAGE;
    return BB_EXIT_OK;
}

static int parse(int argc, char **argv, run_args *a)
{
    static const struct option opts[] = {
        {"preset", required_argument, 0, 'P'},   {"device", required_argument, 0, 'd'},
        {"models", required_argument, 0, 'm'},   {"batch-sizes", required_argument, 0, 'b'},
        {"warmup", required_argument, 0, 'w'},   {"reps", required_argument, 0, 'r'},
        {"min-time", required_argument, 0, 'n'}, {"max-time", required_argument, 0, 'x'},
        {"pause", required_argument, 0, 'p'},    {"mem-limit", required_argument, 0, 'L'},
        {"threads", required_argument, 0, 't'},  {"head", required_argument, 0, 'H'},
        {"seed", required_argument, 0, 's'},     {"data", required_argument, 0, 'D'},
        {"out", required_argument, 0, 'o'},      {"resume", no_argument, 0, 'R'},
        {"no-report", no_argument, 0, 'N'},     {"precision", required_argument, 0, 'q'},
        {"pipeline", no_argument, 0, 'E'},      {"workers", required_argument, 0, 'K'},
        {"load-mode", required_argument, 0, 'J'}, {"prefetch", required_argument, 0, 'F'},
        {"worker-kind", required_argument, 0, 'G'},
        {"reps-min", required_argument, 0, 'Q'}, {"warmup-time", required_argument, 0, 'W'},
        {"target-ci", required_argument, 0, 'T'}, {"max-config-time", required_argument, 0, 'C'},
        {"budget", required_argument, 0, 'B'},   {"interleave", required_argument, 0, 'I'},
        {"margin", required_argument, 0, 'M'},   {"backend-opt", required_argument, 0, 'O'},
        {"input", required_argument, 0, 'i'},   {"dataset-items", required_argument, 0, 'Y'},
        {"shard", required_argument, 0, 'S'},   {"plan", no_argument, 0, 'A'},
        {"family", required_argument, 0, 'f'},  {"idle-ms", required_argument, 0, 'Z'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help"))
            return usage(stdout), a->help = 1, BB_EXIT_OK;
    /* the device first: it picks the preset */
    const char *dev = flag_value(argc, argv, "--device"), *prec = flag_value(argc, argv, "--precision");
    a->device = dev ? dev : "auto";
    if (prec && cli_precision("run", prec, &a->cfg.config.precision) != 0)
        return BB_EXIT_USAGE;
    int rc = cli_config_backend("run", a->device, &a->cfg.config);
    if (rc != BB_EXIT_OK)
        return rc;
    if (apply_preset(argc, argv, a->cfg.config.backend == &bb_cuda_backend, &a->cfg) != 0)
        return BB_EXIT_USAGE;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (parse_flag(c, a) != 0)
            return BB_EXIT_USAGE;
    if (cli_no_positionals("run", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    if (check_input(a) != 0 || check_models(a) != 0)
        return BB_EXIT_USAGE;
    int rc2 = check_mode(a);
    if (rc2 == BB_EXIT_OK)
        rc2 = check_shard(a);
    if (rc2 != BB_EXIT_OK)
        return rc2;
    return cli_config_options("run", &a->backend_opts, &a->cfg.config);
}

/* The charts and report.md of the folder, through `batchbench report`;
 * the paper preset's charts as the seed drew them (mean +- 2 sd, seconds). */
static int write_report(const bb_sweep_cfg *cfg, double margin)
{
    char cmd[] = "report", dir[1024], flag[] = "--margin", pct[32], stat[] = "--stat", mean[] = "mean",
         units[] = "--units", sec[] = "s";
    snprintf(dir, sizeof dir, "%s", cfg->out_dir);
    snprintf(pct, sizeof pct, "%g", margin * 100.0);
    char *argv[] = {cmd, dir, flag, pct, stat, mean, units, sec, NULL};
    int argc = cfg->preset && !strcmp(cfg->preset, "paper") ? 8 : 4;
    argv[argc] = NULL;
    printf("\n");
    fflush(stdout);
    optind = 0; /* glibc: reinitialise getopt for the second parse */
    return cmd_report(argc, argv);
}

/* --input dataset without --data: the cached set, made the first time. */
static int use_cached_dataset(run_args *a)
{
    char root[1024];
    bb_err err = {0};
    int64_t items = a->dataset_items_set ? a->dataset_items : 10240;
    if (bb_dataset_cache_root(root, sizeof root, &err) != 0 ||
        bb_dataset_cache_get(root, items, a->cache_path, sizeof a->cache_path, stderr, &err) != 0)
        return fprintf(stderr, "batchbench run: --input dataset: %s\n", err.msg), -1;
    a->cfg.config.data_dir = a->cache_path;
    return 0;
}

/* Each model's reference (results/model_ref.h), once for the whole command:
 * built, an ONNX file imported and hashed. A model whose input is not a
 * data set's item cannot read one. -1 with a message naming the model. */
static int resolve_models(run_args *a)
{
    bb_err err = {0};
    if (bb_sweep_resolve_models(&a->cfg, &err) != 0)
        return fprintf(stderr, "batchbench run: --models: %s\n", err.msg), -1;
    const char *flag = a->cfg.config.data_dir ? "--data" : "--input dataset";
    for (int m = 0; (a->use_cache || a->cfg.config.data_dir) && m < a->cfg.n_models; m++)
        if (bb_model_input_check_item(&a->cfg.refs[m].input, a->cfg.refs[m].name, &err) != 0)
            return fprintf(stderr, "batchbench run: %s: %s\n", flag, err.msg), -1;
    return 0;
}

/* On a GPU the estimate assumes half the card's peak for the precision. */
static int set_gpu_rate(bb_sweep_cfg *c)
{
    if (c->config.backend != &bb_cuda_backend)
        return 0;
    bb_gpu_env gpu;
    bb_err err = {0};
    if (bb_gpu_env_collect(&gpu, c->config.precision, &err) != 0)
        return fprintf(stderr, "batchbench run: --device cuda: %s\n", err.msg), -1;
    c->gflops_hint = gpu.peak_flops > 0 ? 0.5 * gpu.peak_flops / 1e9 : 20000.0;
    fprintf(stderr, "batchbench run: %s, %d SMs, %.1f GiB; peak %.1f TFLOP/s (%s)\n", gpu.name, gpu.sm_count,
            (double)gpu.mem_total_bytes / (1 << 30), gpu.peak_flops / 1e12, gpu.precision);
    return 0;
}

/* `run --pipeline`: the same driver as the sweep (bench/sweep.h), its
 * batches from loader workers over --data, per worker count. */
static int run_pipeline(run_args *a)
{
    bb_sweep_pipeline *p = &a->cfg.pipeline;
    if (p->n_workers == 0) /* default: 1, 2, 4, 8 up to the cores */
        for (int w = 1; p->n_workers == 0 || (w <= 8 && w <= bb_cpu_default_threads()); w *= 2)
            p->workers[p->n_workers++] = w;
    bb_sweep_result *res = malloc(sizeof *res);
    bb_err err = {0};
    fprintf(stderr, "batchbench run --pipeline: %d models x %d batch sizes x %d worker counts on %s (%s), data %s; "
            "warm-up %d batches and %g s, %d measured\n", a->cfg.n_models, a->cfg.n_batches, p->n_workers,
            bb_config_device(&a->cfg.config), bb_precision_name(a->cfg.config.precision), a->cfg.config.data_dir,
            a->cfg.warmup, a->cfg.warmup_time_s, a->cfg.reps);
    int rc = res ? bb_sweep_run(&a->cfg, res, &err) : bb_err_set(&err, "out of memory");
    if (rc != 0) {
        fprintf(stderr, "batchbench run: %s\n", err.msg);
        free(res);
        return BB_EXIT_FAILURE;
    }
    bb_pipeline_print_table(stdout, &a->cfg, res);
    printf("\nresults: %s/pipeline-*.json (%d done, %d kept from earlier runs, %d not ok); summary: "
           "%s/pipeline-summary.csv\n", a->cfg.out_dir, res->done, res->skipped, res->failed, a->cfg.out_dir);
    int code = res->interrupted ? BB_EXIT_INTERRUPTED : res->failed ? BB_EXIT_FAILURE : BB_EXIT_OK;
    if (res->interrupted)
        fprintf(stderr, "batchbench run: interrupted; finished results are kept, rerun with --resume\n");
    else if (!a->no_report && write_report(&a->cfg, a->margin) == BB_EXIT_FAILURE)
        code = BB_EXIT_FAILURE;
    free(res);
    return code;
}

/* run --plan: the partition, nothing run. */
static int print_plan(const bb_sweep_cfg *cfg)
{
    bb_shard_plan *p = malloc(sizeof *p);
    bb_err err = {0};
    if (!p || bb_shard_partition(cfg, cfg->shard_count, p, &err) != 0) {
        fprintf(stderr, "batchbench run: %s\n", p ? err.msg : "out of memory");
        free(p);
        return BB_EXIT_FAILURE;
    }
    double gflops;
    bb_sweep_estimate(cfg, &gflops);
    printf("estimates at ~%.0f GFLOP/s (this machine)\n", gflops);
    bb_shard_print(stdout, cfg, p, cfg->shard_index, gflops);
    free(p);
    return BB_EXIT_OK;
}

/* A shard's line before it runs: its share of the sweep. */
static int announce_shard(const bb_sweep_cfg *cfg, double gflops)
{
    if (cfg->shard_count <= 0)
        return 0;
    bb_shard_plan *p = malloc(sizeof *p);
    bb_err err = {0};
    if (!p || bb_shard_partition(cfg, cfg->shard_count, p, &err) != 0) {
        fprintf(stderr, "batchbench run: %s\n", p ? err.msg : "out of memory");
        free(p);
        return -1;
    }
    fprintf(stderr, "batchbench run: ");
    bb_shard_print(stderr, cfg, p, cfg->shard_index, gflops);
    free(p);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    a.device = "auto";
    a.cfg.out_dir = "results";
    a.cfg.config.head = BB_HEAD_FEATURES;
    a.cfg.interleave = 1;
    a.cfg.target_ci = 0.02;
    a.margin = BB_TIE_MARGIN_DEFAULT;
    int p = parse(argc, argv, &a);
    if (p != BB_EXIT_OK || a.help)
        return p;
    if (resolve_models(&a) != 0 || set_gpu_rate(&a.cfg) != 0)
        return BB_EXIT_FAILURE;
    if (a.cfg.config.threads == 0)
        a.cfg.config.threads = bb_cpu_default_threads();
    if (a.plan)
        return print_plan(&a.cfg);
    a.cfg.log = stderr;
    a.cfg.stop = cli_stop_on_signals();
    if (cli_prepare_out("run", a.cfg.out_dir) != 0 || (a.use_cache && use_cached_dataset(&a) != 0))
        return BB_EXIT_FAILURE;
    if (a.pipeline)
        return run_pipeline(&a);
    double gflops, est = bb_sweep_estimate(&a.cfg, &gflops);
    fprintf(stderr, "batchbench run: %d models x %d batch sizes on %s (%s); estimated %.0f s (%.1f min) at ~%.0f GFLOP/s\n",
            a.cfg.n_models, a.cfg.n_batches, bb_config_device(&a.cfg.config), bb_precision_name(a.cfg.config.precision), est, est / 60.0,
            gflops);
    if (announce_shard(&a.cfg, gflops) != 0)
        return BB_EXIT_FAILURE;
    bb_sweep_result *res = malloc(sizeof *res);
    bb_err err = {0};
    int rc = res ? bb_sweep_run(&a.cfg, res, &err) : bb_err_set(&err, "out of memory");
    if (rc != 0) {
        fprintf(stderr, "batchbench run: %s\n", err.msg);
        free(res);
        return BB_EXIT_FAILURE;
    }
    cli_print_run_table(stdout, &a.cfg, res, a.margin);
    printf("\nresults: %s/ (%d done, %d kept from earlier runs, %d not ok); summary: %s/summary.csv\n", a.cfg.out_dir,
           res->done, res->skipped, res->failed, a.cfg.out_dir);
    int code = res->interrupted ? BB_EXIT_INTERRUPTED : res->failed ? BB_EXIT_FAILURE : BB_EXIT_OK;
    if (res->interrupted)
        fprintf(stderr, "batchbench run: interrupted; finished results are kept, rerun with --resume\n");
    else if (!a.no_report && write_report(&a.cfg, a.margin) == BB_EXIT_FAILURE)
        code = BB_EXIT_FAILURE;
    free(res);
    return code;
}
