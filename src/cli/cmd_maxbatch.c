/*
 * cmd_maxbatch.c — `batchbench maxbatch`: the largest batch size of a model
 * that runs on this device within a memory limit.
 *
 * Why this file exists: before a sweep one needs to know which batch sizes
 * are worth asking for. This command finds the largest one exactly, by the
 * very criterion `run` applies (bench/measure.h: bb_measure_probe, i.e.
 * bb_measure_prepare's --mem-limit checks, the backend's prepare() and one
 * forward()), so that `run --mem-limit L --batch-sizes A,A+1` records A ok
 * and A+1 oom for the answer A found under the same limit. The search is
 * bench/maxbatch.h's (doubling, then bisection); this file parses the
 * flags, resolves the limit (the flag; on the CPU the memory available now;
 * on a GPU its own memory), prints each probe as it happens and writes one
 * JSON file (maxbatch-<model>-<device>[-<precision>][-classifier]-<host>.json).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_env.h"
#include "bench/maxbatch.h"
#include "bench/measure.h"
#include "cli/cli.h"
#include "env/env.h"
#include "models/model.h"
#include "models/zoo.h"
#include "onnx/onnx_import.h"
#include "util/clock.h"
#include "util/json_out.h"

#define CMD "maxbatch"

typedef struct {
    const char *model, *device, *out_dir;
    bb_run_config config;
    cli_backend_flags backend_opts;
    int64_t mem_limit, start, max; /* mem_limit 0: not given */
    int help;
    int head_set; /* --head given (an ONNX model refuses it) */
} mb_args;

/* One probe as printed and written. */
typedef struct {
    int64_t batch_size;
    int bisecting;
    char status[16], message[512];
    int64_t activation_bytes, weight_bytes;       /* the memory plan */
    int64_t prep_weight, prep_arena, prep_workspace; /* the prepared model (all 0: not prepared) */
    double seconds, forward_s;                     /* forward_s < 0: no forward ran */
} mb_probe;

typedef struct {
    const mb_args *a;
    bb_sweep_cfg cfg;         /* one model, one batch size at a time: what `run` fills a result from */
    bb_measure_ctx ctx;
    bb_env env;
    const bb_graph *g;
    int64_t limit;            /* the limit recorded (bytes) */
    const char *limit_source; /* flag, MemAvailable or device memory */
    bb_config_run run;
    mb_probe probes[BB_MAXBATCH_MAX_STEPS];
    int n_probes;
    double t0;
} mb_state;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench maxbatch --model M|PATH.onnx [--device cpu|cuda|auto]\n"
            "                           [--precision fp32|tf32|fp16|bf16] [--head features|classifier]\n"
            "                           [--threads T] [--mem-limit BYTES] [--start N] [--max N]\n"
            "                           [--backend-opt KEY=VALUE ...] [--out DIR]\n"
            "\n"
            "Finds the largest batch size of model M that runs: batch sizes --start (default\n"
            "1), twice that, ... up to the first that fails or --max (default 65536, at most\n"
            "1048576), then bisection between the last that ran and the first that failed,\n"
            "to the exact integer. Each probe is what `run` does before it measures: the\n"
            "model prepared for that batch size, checked against the memory limit as `run\n"
            "--mem-limit` checks it (the memory plan's activation + weight bytes, then the\n"
            "prepared model's), an input batch set and one forward pass. A probe over the\n"
            "limit, or whose allocation fails, is oom; any other failure is error.\n"
            "\n"
            "--mem-limit BYTES (e.g. 512M, 2G): the limit. Without it: on the CPU the\n"
            "          memory available once the model is loaded (MemAvailable in\n"
            "          /proc/meminfo), so probes stay out of swap; on cuda the GPU's own\n"
            "          memory (an allocation that fails).\n"
            "--device: auto (default: cuda when this build has it and a GPU is usable,\n"
            "          else cpu), cpu or cuda. --precision: fp32 (default, strict), tf32,\n"
            "          fp16 (cuda only), bf16 (cuda, or a CPU with AVX512-BF16 or AMX).\n"
            "--model: a zoo model or the path of an ONNX file (ending .onnx; no --head; the\n"
            "          file is named by its base name and SHA-256 in the JSON and its name).\n"
            "--head: features (default) or classifier. --threads: CPU threads (default:\n"
            "          OMP_NUM_THREADS, else all cores).\n");
    cli_backend_opts_help(f);
    fprintf(f,
            "\nOn the CPU the prepared model's size depends on the conv and linear algorithms\n"
            "cpu.algo=measured (the default) times faster, which can differ from run to\n"
            "run near the limit; --backend-opt cpu.algo=never or always makes it exact.\n"
            "\n"
            "Each probe is printed as it happens (batch size, ok/oom/error, the bytes it\n"
            "needs: the memory plan's activations + weights = total, and the prepared\n"
            "model's; seconds), then the answer. The JSON\n"
            "maxbatch-<model>[-sha256-<8 hex>]-<device>[-<precision>][-classifier]-<host>.json\n"
            "goes to --out\n"
            "(default results/): the configuration, the limit and where it came from,\n"
            "every probe and max_batch_size.\n"
            "\n"
            "exit codes: 0 found, 1 even --start does not run or a runtime failure, 2 bad\n"
            "arguments (or an unknown model), 130 interrupted (no file written)\n");
}

static int parse_flag(int c, mb_args *a)
{
    int64_t v;
    switch (c) {
    case 'm': return cli_model(CMD, optarg) ? -1 : (a->model = cli_model_name(optarg), 0);
    case 'd': return cli_device(CMD, optarg) ? -1 : (a->device = optarg, 0);
    case 'q': return cli_precision(CMD, optarg, &a->config.precision);
    case 'H': return a->head_set = 1, cli_head(CMD, optarg, &a->config.head);
    case 't': return cli_int64(CMD, "--threads", optarg, 1, 4096, &v) ? -1 : (a->config.threads = (int)v, 0);
    case 'L': return cli_bytes(CMD, "--mem-limit", optarg, &a->mem_limit);
    case 's': return cli_int64(CMD, "--start", optarg, 1, BB_MAXBATCH_LIMIT, &a->start);
    case 'x': return cli_int64(CMD, "--max", optarg, 1, BB_MAXBATCH_LIMIT, &a->max);
    case 'O': return cli_backend_opt_add(CMD, &a->backend_opts, optarg);
    case 'o': a->out_dir = optarg; return 0;
    default: usage(stderr); return -1;
    }
}

static int parse(int argc, char **argv, mb_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"device", required_argument, 0, 'd'},
        {"precision", required_argument, 0, 'q'}, {"head", required_argument, 0, 'H'},
        {"threads", required_argument, 0, 't'},   {"mem-limit", required_argument, 0, 'L'},
        {"start", required_argument, 0, 's'},     {"max", required_argument, 0, 'x'},
        {"backend-opt", required_argument, 0, 'O'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(stdout), a->help = 1, BB_EXIT_OK;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (parse_flag(c, a) != 0)
            return BB_EXIT_USAGE;
    if (cli_no_positionals(CMD, optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    if (!a->model)
        return fprintf(stderr, "batchbench " CMD ": --model is required (see --help)\n"), BB_EXIT_USAGE;
    if (bb_onnx_is_path(a->model) && a->head_set)
        return cli_no_head_for_onnx(CMD, a->model), BB_EXIT_USAGE;
    if (a->start > a->max)
        return fprintf(stderr, "batchbench " CMD ": --start %lld is above --max %lld\n", (long long)a->start,
                       (long long)a->max), BB_EXIT_USAGE;
    return cli_config_resolve(CMD, a->device, &a->backend_opts, &a->config);
}

/* ---- the limit ------------------------------------------------------------------ */

/* The limit and where it came from; cfg.mem_limit is what the probes
 * check (0 on a GPU without the flag: its allocations decide). */
static int resolve_limit(mb_state *s)
{
    const mb_args *a = s->a;
    if (a->mem_limit > 0) {
        s->limit = s->cfg.mem_limit = a->mem_limit, s->limit_source = "flag";
    } else if (s->env.gpu.present) {
        s->limit = s->env.gpu.mem_total_bytes, s->limit_source = "device memory";
    } else if ((s->limit = s->cfg.mem_limit = bb_mem_available()) > 0) {
        s->limit_source = "MemAvailable";
    } else {
        fprintf(stderr, "batchbench " CMD ": cannot read MemAvailable from /proc/meminfo; give --mem-limit\n");
        return -1;
    }
    return 0;
}

/* ---- probing -------------------------------------------------------------------- */

static double mib(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static int64_t prepared_bytes(const mb_probe *p)
{
    return p->prep_weight + p->prep_arena + p->prep_workspace;
}

static void print_probe(const mb_probe *p, int n)
{
    printf("  probe %-3d %-9s batch %-7lld %-5s activations %9.1f MiB + weights %7.1f MiB = %9.1f MiB", n,
           p->bisecting ? "bisection" : "doubling", (long long)p->batch_size, p->status, mib(p->activation_bytes),
           mib(p->weight_bytes), mib(p->activation_bytes + p->weight_bytes));
    if (prepared_bytes(p) > 0)
        printf(", prepared %9.1f MiB", mib(prepared_bytes(p)));
    else
        printf(", prepared %9s    ", "-");
    printf("  %7.2f s", p->seconds);
    if (p->message[0])
        printf("  (%s)", p->message);
    printf("\n");
    fflush(stdout);
}

/* One probe through bb_measure_probe: `run`'s criterion, recorded and printed. */
static bb_probe_verdict probe(int64_t bs, int bisecting, void *user)
{
    mb_state *s = user;
    if (bb_measure_stopped(&s->cfg) || s->n_probes == BB_MAXBATCH_MAX_STEPS)
        return BB_PROBE_ABORT;
    bb_config_run *run = &s->run;
    memset(run, 0, sizeof *run);
    s->cfg.batches[0] = bs;
    bb_sweep_fill_result(&s->cfg, s->env.threads_used, s->g, 0, 0, &run->r);
    double t0 = bb_now_s();
    int rc = bb_measure_probe(&s->ctx, s->g, run);
    mb_probe *p = &s->probes[s->n_probes++];
    p->batch_size = bs, p->bisecting = bisecting, p->seconds = bb_now_s() - t0;
    snprintf(p->status, sizeof p->status, "%s", run->r.status);
    snprintf(p->message, sizeof p->message, "%s", run->r.message);
    p->activation_bytes = run->r.activation_bytes, p->weight_bytes = run->r.weight_bytes;
    p->prep_weight = run->r.mem_weight_bytes, p->prep_arena = run->r.mem_arena_bytes;
    p->prep_workspace = run->r.mem_workspace_bytes;
    p->forward_s = rc == 0 ? run->pass_s : -1.0;
    bb_config_run_free(run);
    print_probe(p, s->n_probes);
    if (bb_measure_stopped(&s->cfg))
        return BB_PROBE_ABORT;
    return rc == 0 ? BB_PROBE_OK : BB_PROBE_FAILED;
}

/* ---- the result file ------------------------------------------------------------ */

static const mb_probe *find_probe(const mb_state *s, int64_t bs)
{
    for (int i = s->n_probes - 1; i >= 0; i--)
        if (s->probes[i].batch_size == bs)
            return &s->probes[i];
    return NULL;
}

static cJSON *config_json(const mb_state *s)
{
    const mb_args *a = s->a;
    char opts[512];
    bb_opt_identity(&a->config.options, bb_config_device(&a->config), opts, sizeof opts);
    const bb_model_ref *ref = &s->cfg.refs[0];
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_str(o, "model", ref->name) &&
                               (!ref->imported || (bb_json_str(o, "model_file", ref->file) &&
                                                   bb_json_str(o, "model_sha256", ref->sha256))) &&
                               bb_json_str(o, "family", ref->family) &&
                               bb_json_str(o, "device", bb_config_device(&a->config)) &&
                               bb_json_str(o, "precision", bb_precision_name(a->config.precision)) &&
                               bb_json_str(o, "head", bb_model_ref_head(ref, a->config.head)) &&
                               bb_json_int(o, "threads", s->env.threads_used) && bb_json_str(o, "backend_options", opts) &&
                               bb_json_int(o, "mem_limit_bytes", s->limit) &&
                               bb_json_str(o, "mem_limit_source", s->limit_source) && bb_json_int(o, "start", a->start) &&
                               bb_json_int(o, "max", a->max) && bb_json_u64(o, "seed", s->cfg.seed));
}

static int int_or_null(cJSON *o, const char *key, int64_t v, int present)
{
    return present ? bb_json_int(o, key, v) : cJSON_AddNullToObject(o, key) != NULL;
}

/* The prepared model's bytes (null when it was not prepared): what the
 * second --mem-limit check compares. */
static int prepared_json(cJSON *o, const mb_probe *p)
{
    int64_t all = prepared_bytes(p);
    return int_or_null(o, "prepared_bytes", all, all > 0) &&
           int_or_null(o, "prepared_weight_bytes", p->prep_weight, all > 0) &&
           int_or_null(o, "prepared_arena_bytes", p->prep_arena, all > 0) &&
           int_or_null(o, "prepared_workspace_bytes", p->prep_workspace, all > 0);
}

static cJSON *probe_json(const mb_probe *p)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "batch_size", p->batch_size) &&
                               bb_json_str(o, "phase", p->bisecting ? "bisection" : "doubling") &&
                               bb_json_str(o, "status", p->status) && bb_json_str(o, "message", p->message) &&
                               bb_json_int(o, "activation_bytes", p->activation_bytes) &&
                               bb_json_int(o, "weight_bytes", p->weight_bytes) &&
                               bb_json_int(o, "total_bytes", p->activation_bytes + p->weight_bytes) &&
                               prepared_json(o, p) &&
                               bb_json_num(o, "seconds", p->seconds) &&
                               (p->forward_s >= 0 ? bb_json_num(o, "forward_s", p->forward_s)
                                                  : cJSON_AddNullToObject(o, "forward_s") != NULL));
}

static cJSON *probes_json(const mb_state *s)
{
    cJSON *arr = cJSON_CreateArray();
    int ok = arr != NULL;
    for (int i = 0; ok && i < s->n_probes; i++) {
        cJSON *p = probe_json(&s->probes[i]);
        ok = p && cJSON_AddItemToArray(arr, p);
        if (p && !ok)
            cJSON_Delete(p);
    }
    return bb_json_done(arr, ok);
}

/* What stopped the search: the first failure's status, or --max. */
static const char *limited_by(const mb_state *s, const bb_maxbatch_result *res)
{
    const mb_probe *f = res->min_fail ? find_probe(s, res->min_fail) : NULL;
    return f ? f->status : "--max";
}

static cJSON *result_json(const mb_state *s, const bb_maxbatch_result *res, const char *message, const char *why)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "schema_version", 1) && bb_json_str(o, "kind", "maxbatch") &&
                               bb_json_obj(o, "tool", bb_json_tool()) && bb_json_created(o) &&
                               bb_json_str(o, "status", res->max_ok > 0 ? "ok" : "failure") &&
                               bb_json_str(o, "message", message) && bb_json_obj(o, "config", config_json(s)) &&
                               bb_json_obj(o, "environment", bb_env_to_json(&s->env)) &&
                               bb_json_obj(o, "probes", probes_json(s)) &&
                               bb_json_int(o, "max_batch_size", res->max_ok) &&
                               int_or_null(o, "first_failed_batch_size", res->min_fail, res->min_fail > 0) &&
                               bb_json_str(o, "limited_by", limited_by(s, res)) && bb_json_str(o, "note", why) &&
                               bb_json_num(o, "seconds", bb_now_s() - s->t0));
}

/* maxbatch-<model>[-sha256-<8 hex>]-<device>[-<precision>][-classifier]-<host>.json */
static void file_name(const mb_state *s, char *name, size_t len)
{
    const bb_run_config *c = &s->a->config;
    const bb_model_ref *ref = &s->cfg.refs[0];
    char host[128], model[BB_MODEL_NAME_LEN], sha[24] = "";
    bb_json_sanitise(host, sizeof host, s->env.host);
    bb_json_sanitise(model, sizeof model, ref->name);
    if (ref->imported) /* two files of one name never share a result */
        snprintf(sha, sizeof sha, "-sha256-%.8s", ref->sha256);
    snprintf(name, len, "maxbatch-%s%s-%s%s%s%s-%s.json", model, sha, bb_config_device(c),
             c->precision != BB_PREC_FP32 ? "-" : "", c->precision != BB_PREC_FP32 ? bb_precision_name(c->precision) : "",
             c->head == BB_HEAD_CLASSIFIER ? "-classifier" : "", host);
}

static int write_result(const mb_state *s, const bb_maxbatch_result *res, const char *message, const char *why)
{
    char name[512], path[1024];
    bb_err err = {0};
    file_name(s, name, sizeof name);
    cJSON *j = result_json(s, res, message, why);
    int rc = j ? bb_json_write(s->a->out_dir, name, j, path, sizeof path, &err)
               : bb_err_oom(&err, "%s/%s: out of memory encoding the result", s->a->out_dir, name);
    cJSON_Delete(j);
    if (rc != 0)
        return fprintf(stderr, "batchbench " CMD ": %s\n", err.msg), -1;
    printf("result: %s\n", path);
    return 0;
}

/* ---- the command ---------------------------------------------------------------- */

/* The answer, in words (also the file's message). */
static void answer(const mb_state *s, const bb_maxbatch_result *res, char *msg, size_t len)
{
    const mb_probe *f = res->min_fail ? find_probe(s, res->min_fail) : NULL;
    if (res->max_ok == 0)
        snprintf(msg, len, "even batch size %lld (--start) does not run: %s: %s%s", (long long)s->a->start,
                 f ? f->status : "?", f ? f->message : "", s->a->start > 1 ? "; try a smaller --start" : "");
    else if (!f)
        snprintf(msg, len, "every probe up to --max %lld ran; raise --max to look further", (long long)s->a->max);
    else
        snprintf(msg, len, "batch size %lld runs, %lld does not (%s: %s)", (long long)res->max_ok,
                 (long long)res->min_fail, f->status, f->message);
}

/* On the CPU with cpu.algo=measured the prepared size of any model, zoo or
 * imported, depends on which algorithms were timed faster in this process
 * (Winograd and fused depthwise for a conv, the weight layout or a 1x1 conv
 * for a linear layer): near the limit another process (a later `run`) may
 * decide otherwise. Said when the first failure was the prepared model's
 * (not the memory plan's). */
static void note(const mb_state *s, const bb_maxbatch_result *res, char *buf, size_t len)
{
    const bb_run_config *c = &s->a->config;
    const mb_probe *f = res->min_fail ? find_probe(s, res->min_fail) : NULL;
    buf[0] = '\0';
    if (f && prepared_bytes(f) > 0 && !strcmp(bb_config_device(c), "cpu") &&
        !strcmp(bb_opt_value(&c->options, BB_OPT_CPU_ALGO), "measured"))
        snprintf(buf, len, "the prepared model's size depends on the conv and linear algorithms cpu.algo=measured timed "
                           "faster in this process, so near the limit another run may differ; --backend-opt "
                           "cpu.algo=never (or always) makes the answer reproducible");
}

/* The configuration line, the search (a line per probe), the answer and its file. */
static int search(mb_state *s)
{
    const mb_args *a = s->a;
    bb_maxbatch_result res;
    char msg[1024], why[512];
    printf("batchbench " CMD ": %s on %s (%s, %s, %d threads); limit %.2f GiB (%s); batch sizes %lld..%lld, "
           "doubling then bisection\n", a->model, bb_config_device(&a->config), bb_precision_name(a->config.precision),
           bb_head_name(a->config.head), s->env.threads_used, (double)s->limit / (1 << 30),
           !strcmp(s->limit_source, "flag") ? "--mem-limit" : s->limit_source,
           (long long)a->start, (long long)a->max);
    fflush(stdout);
    s->t0 = bb_now_s();
    if (bb_maxbatch_search(a->start, a->max, probe, s, &res) != 0) {
        fprintf(stderr, "batchbench " CMD ": interrupted after %d probes; no result written\n", s->n_probes);
        return BB_EXIT_INTERRUPTED;
    }
    answer(s, &res, msg, sizeof msg);
    note(s, &res, why, sizeof why);
    if (res.max_ok > 0)
        printf("max batch size: %lld (%s)\n", (long long)res.max_ok, msg);
    else
        fprintf(stderr, "batchbench " CMD ": %s: %s\n", a->model, msg);
    if (why[0])
        printf("note: %s\n", why);
    if (write_result(s, &res, msg, why) != 0)
        return BB_EXIT_FAILURE;
    return res.max_ok > 0 ? BB_EXIT_OK : BB_EXIT_FAILURE;
}

/* The state `run` would have for this one model: configuration, environment
 * (the GPU's on cuda), the limit and the model's graph. */
static int setup(mb_state *s, bb_graph **g)
{
    const mb_args *a = s->a;
    bb_err err = {0};
    s->cfg.models[0] = a->model, s->cfg.n_models = 1, s->cfg.n_batches = 1;
    s->cfg.config = a->config;
    s->cfg.stop = cli_stop_on_signals();
    s->cfg.log = stderr;
    bb_env_collect(&s->env, a->config.threads);
    if (!strcmp(bb_config_device(&a->config), "cuda") && bb_gpu_env_collect(&s->env.gpu, a->config.precision, &err) != 0)
        return fprintf(stderr, "batchbench " CMD ": --device cuda: %s\n", err.msg), -1;
    bb_model_spec spec = {a->model, a->config.head, NULL, s->cfg.seed};
    if (!(*g = bb_model_open(&spec, &err)))
        return fprintf(stderr, "batchbench " CMD ": --model %s: %s\n", a->model, err.msg), -1;
    if (bb_model_ref_of_graph(&s->cfg.refs[0], a->model, *g, NULL, &err) != 0) /* hashed once, not per probe */
        return fprintf(stderr, "batchbench " CMD ": --model %s: %s\n", a->model, err.msg), -1;
    s->cfg.refs_ready = 1;
    if (resolve_limit(s) != 0) /* after the model is loaded: MemAvailable no longer counts its weights */
        return -1;
    s->g = *g;
    s->ctx = (bb_measure_ctx){.cfg = &s->cfg, .be = a->config.backend};
    return 0;
}

int cmd_maxbatch(int argc, char **argv)
{
    mb_args a = {.device = "auto", .out_dir = "results", .start = 1, .max = 65536};
    a.config.head = BB_HEAD_FEATURES;
    int rc = parse(argc, argv, &a);
    if (rc != BB_EXIT_OK || a.help)
        return rc;
    if (a.config.threads == 0)
        a.config.threads = bb_cpu_default_threads();
    if (cli_prepare_out(CMD, a.out_dir) != 0)
        return BB_EXIT_FAILURE;
    mb_state *s = calloc(1, sizeof *s);
    if (!s)
        return fprintf(stderr, "batchbench " CMD ": out of memory\n"), BB_EXIT_FAILURE;
    s->a = &a;
    bb_graph *g = NULL;
    rc = setup(s, &g) != 0 ? BB_EXIT_FAILURE : search(s);
    bb_graph_free(g);
    free(s);
    return rc;
}
