/*
 * cmd_dataload.c — `batchbench dataload`: the seed's data-loading
 * experiment from the command line: flags, the presets (--preset seed: the
 * seed's configuration with worker processes; --preset quick, also
 * --quick), worker threads or processes, signal handling, the output
 * folder, and the table at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/dataload.h"
#include "cli/cli.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench dataload --data DIR [--batch-sizes LIST] [--workers LIST]\n"
            "                           [--sleep LIST] [--sleep-scale F] [--batches N]\n"
            "                           [--mode batches|items|batches,items] [--prefetch N]\n"
            "                           [--worker-kind thread|process|thread,process]\n"
            "                           [--dct-scale] [--out DIR] [--preset seed|quick] [--quick]\n"
            "\n"
            "How long does an inference loop wait for its next batch? For every mode x\n"
            "worker kind x simulated inference time x batch size x workers, a pool of\n"
            "workers loads the data set (made with `batchbench dataset make`,\n"
            "preprocessed or jpeg) and the consumer takes N batches: each wait is timed\n"
            "(the first from just before the workers start, so their start is in it),\n"
            "then the consumer sleeps for the simulated inference time. One JSON file\n"
            "per configuration and summary.csv go to --out (default results-dataload/).\n"
            "\n"
            "--batch-sizes  default 32,128,256,512,1024 (the seed's)\n"
            "--workers      default 1,2,4,8, those up to the online core count; any list\n"
            "               given explicitly is used as is (e.g. 32,48,64)\n"
            "--sleep        simulated inference after each batch, seconds; default 0,2\n"
            "--sleep-scale  multiplies every --sleep value (e.g. 0.1 for a quick look)\n"
            "--batches      batches measured per configuration, default 11 (the seed's\n"
            "               loop recorded 11 waits per configuration)\n"
            "--mode         batches: worker w loads whole batches w, w+W, ... (PyTorch's\n"
            "               DataLoader); items: all workers load the items of the next\n"
            "               batch; default batches\n"
            "--prefetch     batches: per worker, as PyTorch's prefetch_factor; items: in\n"
            "               total; default 2\n"
            "--worker-kind  thread (default): worker threads; process: worker processes\n"
            "               forked when the loader starts, batches handed over in shared\n"
            "               memory, as PyTorch's DataLoader workers (the seed's); both:\n"
            "               thread,process (files of the two kinds have different names)\n"
            "--dct-scale    jpeg: let libjpeg-turbo decode at a reduced scale (faster)\n"
            "--preset seed  the seed's experiment: batch sizes 32,128,256,512,1024, workers\n"
            "               1,2,4,8,32,48,64 (as given, whatever the cores), sleep 0,2,\n"
            "               11 batches, worker processes\n"
            "--preset quick batch sizes 32,128, workers 1,2, sleep 0,0.2, 6 batches,\n"
            "               threads; --quick is the same\n"
            "               (flags given with a preset override it; each file records it)\n"
            "\n"
            "exit codes: 0 all ok, 1 a configuration failed or a fatal error, 2 bad\n"
            "arguments, 130 interrupted (finished files are kept)\n");
}

typedef enum { PRESET_NONE, PRESET_QUICK, PRESET_SEED } dl_preset;

typedef struct {
    bb_dl_cfg cfg;
    int have_bs, have_workers, have_sleep, have_batches, have_kind;
    dl_preset preset;
    const char *preset_flag; /* how the preset was asked for, for a conflict's message */
    double sleep_scale;
} dl_args;

static int bad(const char *flag, const char *what, const char *arg)
{
    fprintf(stderr, "batchbench dataload: %s: '%s' %s\n", flag, arg, what);
    return -1;
}

/* A comma-separated list of integers in [min, max], at most cap of them. */
static int parse_ints(const char *flag, const char *arg, int64_t min, int64_t max, int64_t *out, int cap, int *n)
{
    char buf[1024];
    if (strlen(arg) >= sizeof buf)
        return bad(flag, "is too long", "...");
    snprintf(buf, sizeof buf, "%s", arg);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == cap)
            return fprintf(stderr, "batchbench dataload: %s: at most %d values\n", flag, cap), -1;
        if (cli_int64("dataload", flag, tok, min, max, &out[(*n)++]) != 0)
            return -1;
    }
    return *n ? 0 : bad(flag, "is an empty list", arg);
}

static int parse_real(const char *flag, const char *s, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > max)
        return bad(flag, "is not a number >= 0", s);
    *out = v;
    return 0;
}

static int parse_sleeps(const char *arg, bb_dl_cfg *c)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    c->n_sleeps = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (c->n_sleeps == BB_DL_MAX_SLEEPS)
            return fprintf(stderr, "batchbench dataload: --sleep: at most %d values\n", BB_DL_MAX_SLEEPS), -1;
        if (parse_real("--sleep", tok, 1e5, &c->sleeps_s[c->n_sleeps++]) != 0)
            return -1;
    }
    return c->n_sleeps ? 0 : bad("--sleep", "is an empty list", arg);
}

static int parse_modes(const char *arg, bb_dl_cfg *c)
{
    if (!strcmp(arg, "batches") || !strcmp(arg, "items"))
        c->modes[0] = arg[0] == 'i' ? BB_LOAD_ITEMS : BB_LOAD_BATCHES, c->n_modes = 1;
    else if (!strcmp(arg, "batches,items") || !strcmp(arg, "items,batches"))
        c->modes[0] = BB_LOAD_BATCHES, c->modes[1] = BB_LOAD_ITEMS, c->n_modes = 2;
    else
        return bad("--mode", "is not one of batches, items, batches,items", arg);
    return 0;
}

static int parse_kinds(const char *arg, dl_args *a)
{
    bb_dl_cfg *c = &a->cfg;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", arg);
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = '\0';
    c->n_kinds = comma ? 2 : 1;
    if (strlen(arg) >= sizeof buf || bb_worker_kind_parse(buf, &c->kinds[0]) != 0 ||
        (comma && (bb_worker_kind_parse(comma + 1, &c->kinds[1]) != 0 || c->kinds[1] == c->kinds[0])))
        return bad("--worker-kind", "is not one of thread, process, thread,process", arg);
    a->have_kind = 1;
    return 0;
}

/* --preset NAME or --quick (= --preset quick); two different ones conflict. */
static int set_preset(dl_args *a, const char *flag, const char *name)
{
    dl_preset p = !strcmp(name, "seed") ? PRESET_SEED : !strcmp(name, "quick") ? PRESET_QUICK : PRESET_NONE;
    if (p == PRESET_NONE)
        return bad("--preset", "is not one of seed, quick", name);
    if (a->preset != PRESET_NONE && a->preset != p)
        return fprintf(stderr, "batchbench dataload: %s does not go with %s (one preset at a time)\n", flag,
                       a->preset_flag), -1;
    a->preset = p, a->preset_flag = flag;
    return 0;
}

static int parse_workers(const char *arg, bb_dl_cfg *c)
{
    int64_t v[BB_DL_MAX];
    if (parse_ints("--workers", arg, 1, 4096, v, BB_DL_MAX, &c->n_workers) != 0)
        return -1;
    for (int i = 0; i < c->n_workers; i++)
        c->workers[i] = (int)v[i];
    return 0;
}

static int parse_flag(int c, dl_args *a)
{
    bb_dl_cfg *cfg = &a->cfg;
    int64_t v;
    switch (c) {
    case 'D': cfg->data_dir = optarg; return 0;
    case 'o': cfg->out_dir = optarg; return 0;
    case 'Q': return set_preset(a, "--quick", "quick");
    case 'P': return set_preset(a, "--preset", optarg);
    case 'k': return parse_kinds(optarg, a);
    case 'C': cfg->dct_scale = 1; return 0;
    case 'b': a->have_bs = 1;
        return parse_ints("--batch-sizes", optarg, 1, 1 << 20, cfg->batch_sizes, BB_DL_MAX, &cfg->n_batch_sizes);
    case 'w': a->have_workers = 1; return parse_workers(optarg, cfg);
    case 's': a->have_sleep = 1; return parse_sleeps(optarg, cfg);
    case 'S': return parse_real("--sleep-scale", optarg, 1e6, &a->sleep_scale);
    case 'n': a->have_batches = 1;
        return cli_int64("dataload", "--batches", optarg, 1, 1000000, &v) ? -1 : (cfg->batches = (int)v, 0);
    case 'm': return parse_modes(optarg, cfg);
    case 'p': return cli_int64("dataload", "--prefetch", optarg, 1, 4096, &v) ? -1 : (cfg->prefetch = (int)v, 0);
    default: usage(stderr); return -1;
    }
}

/* The workers no flag set: the preset's, else 1,2,4,8 up to the cores. */
static void default_workers(const dl_args *a, bb_dl_cfg *c)
{
    static const int seed_w[] = {1, 2, 4, 8, 32, 48, 64};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = a->preset == PRESET_SEED ? 7 : a->preset == PRESET_QUICK ? 2 : 4;
    for (int i = 0; i < n; i++)
        if (i == 0 || a->preset != PRESET_NONE || seed_w[i] <= cores)
            c->workers[c->n_workers++] = seed_w[i];
}

/* What no flag set: the preset's (seed or quick), else the defaults (the
 * seed's batch sizes, sleeps and batches, workers up to the cores, threads). */
static void apply_defaults(dl_args *a)
{
    static const int64_t seed_bs[] = {32, 128, 256, 512, 1024}, quick_bs[] = {32, 128};
    bb_dl_cfg *c = &a->cfg;
    int quick = a->preset == PRESET_QUICK;
    if (!a->have_bs) {
        c->n_batch_sizes = quick ? 2 : 5;
        memcpy(c->batch_sizes, quick ? quick_bs : seed_bs, sizeof(int64_t) * (size_t)c->n_batch_sizes);
    }
    if (!a->have_workers)
        default_workers(a, c);
    if (!a->have_sleep) {
        c->n_sleeps = 2;
        c->sleeps_s[0] = 0.0, c->sleeps_s[1] = quick ? 0.2 : 2.0;
    }
    if (!a->have_batches)
        c->batches = quick ? 6 : 11;
    if (!a->have_kind)
        c->kinds[0] = a->preset == PRESET_SEED ? BB_WORKERS_PROCESS : BB_WORKERS_THREAD, c->n_kinds = 1;
    c->preset = a->preset == PRESET_SEED ? "seed" : quick ? "quick" : "";
    for (int i = 0; i < c->n_sleeps; i++)
        c->sleeps_s[i] *= a->sleep_scale;
}

static int parse(int argc, char **argv, dl_args *a)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'D'},        {"batch-sizes", required_argument, 0, 'b'},
        {"workers", required_argument, 0, 'w'},     {"sleep", required_argument, 0, 's'},
        {"sleep-scale", required_argument, 0, 'S'}, {"batches", required_argument, 0, 'n'},
        {"mode", required_argument, 0, 'm'},        {"prefetch", required_argument, 0, 'p'},
        {"dct-scale", no_argument, 0, 'C'},         {"out", required_argument, 0, 'o'},
        {"quick", no_argument, 0, 'Q'},             {"help", no_argument, 0, 'h'},
        {"preset", required_argument, 0, 'P'},      {"worker-kind", required_argument, 0, 'k'},
        {0, 0, 0, 0}};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help"))
            return usage(stdout), 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (parse_flag(c, a) != 0)
            return -1;
    if (cli_no_positionals("dataload", optind, argc, argv) != 0)
        return -1;
    if (!a->cfg.data_dir) {
        fprintf(stderr, "batchbench dataload: --data is required (a folder made with `batchbench dataset make`)\n");
        return -1;
    }
    apply_defaults(a);
    return 0;
}

int cmd_dataload(int argc, char **argv)
{
    dl_args a;
    memset(&a, 0, sizeof a);
    a.sleep_scale = 1.0;
    a.cfg.out_dir = "results-dataload";
    a.cfg.prefetch = 2;
    a.cfg.modes[0] = BB_LOAD_BATCHES, a.cfg.n_modes = 1;
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p == 1 ? BB_EXIT_OK : BB_EXIT_USAGE;
    a.cfg.log = stderr;
    a.cfg.stop = cli_stop_on_signals();
    if (cli_prepare_out("dataload", a.cfg.out_dir) != 0)
        return BB_EXIT_FAILURE;
    bb_dl_result res;
    bb_err err = {0};
    if (bb_dl_run(&a.cfg, &res, &err) != 0) {
        fprintf(stderr, "batchbench dataload: %s\n", err.msg);
        bb_dl_result_free(&res);
        return BB_EXIT_FAILURE;
    }
    bb_dl_print_table(stdout, &a.cfg, &res);
    printf("\nresults: %s/ (%d done, %d not ok); summary: %s/summary.csv\n", a.cfg.out_dir, res.done, res.failed,
           a.cfg.out_dir);
    int code = res.interrupted ? BB_EXIT_INTERRUPTED : res.failed ? BB_EXIT_FAILURE : BB_EXIT_OK;
    if (res.interrupted)
        fprintf(stderr, "batchbench dataload: interrupted; finished files are kept\n");
    bb_dl_result_free(&res);
    return code;
}
