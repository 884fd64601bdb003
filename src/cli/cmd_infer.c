/*
 * cmd_infer.c — `batchbench infer`: one forward pass of one model, from and
 * to .npy files; the building block of the parity tests.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/backend.h"
#include "cli/cli.h"
#include "io/npy.h"
#include "models/model.h"
#include "onnx/onnx_import.h"
#include "results/model_ref.h"
#include "stats/stats.h"
#include "util/clock.h"

typedef struct {
    bb_model_spec spec;
    int64_t batch, threads, warmup, reps;
    int head_set;           /* --head given (an ONNX model refuses it) */
    const char *input, *output;
    const char *device;
    cli_backend_flags backend_opts;
    bb_run_config config; /* precision, threads, profile; backend and options resolved after parsing */
} infer_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench infer --model M|PATH.onnx [--batch N] [--head features|classifier]\n"
            "                        [--weights F.safetensors] [--input X.npy] [--output Y.npy]\n"
            "                        [--seed S] [--threads T] [--warmup W] [--reps R] [--profile]\n"
            "                        [--check-activations] [--device cpu|cuda|auto]\n"
            "                        [--precision fp32|tf32|fp16|bf16] [--backend-opt KEY=VALUE ...]\n"
            "\n"
            "Runs one forward pass on the device and prints the output shape, a checksum and\n"
            "the time of the pass. --model: a zoo model (batchbench models) or the path of\n"
            "an ONNX file (ending .onnx; its weights come from the file; it has no --head\n"
            "and no --weights). --input is float32 [N, the model's input shape] ([N,3,224,224]\n"
            "for the zoo; its N wins over --batch); without it a batch seeded by --seed is\n"
            "used. --output writes the result as .npy in the graph's output shape ([N,D]\n"
            "for the zoo; an ONNX file's declared output, e.g. [N,21,224,224] for a\n"
            "segmentation model). --weights loads torchvision\n"
            "state_dict names from a safetensors file; without it weights are seeded\n"
            "random. --profile prints\n"
            "the time of every step. --warmup W untimed passes first, then --reps R\n"
            "timed passes (default 0 and 1): the median is reported, and every\n"
            "pass's time on the line 'times_ms' (in run order).\n"
            "--check-activations scans every step's output: RMS range, max |x|, NaN/Inf\n"
            "and subnormal counts; exit 1 if any value is not finite or subnormal.\n"
            "--device: auto (default: cuda when this build has it and a GPU is usable,\n"
            "else cpu), cpu or cuda; on cuda\n"
            "the time is the CUDA-event time of the forward pass. --precision: fp32\n"
            "(default, strict), tf32, fp16 (cuda only) or bf16 (cuda, or a CPU with\n"
            "AVX512-BF16 or AMX).\n");
    cli_backend_opts_help(f);
    fprintf(f, "Exit codes: 0 ok, 1 runtime failure (bad file, an ONNX file that cannot be imported, --input\n"
               "of the wrong shape...), 2 bad arguments (unknown model, a missing .onnx file, --head or\n"
               "--weights with an ONNX model).\n");
}

static int parse(int argc, char **argv, infer_args *a)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"batch", required_argument, 0, 'b'},
        {"head", required_argument, 0, 'H'},   {"weights", required_argument, 0, 'w'},
        {"input", required_argument, 0, 'i'},  {"output", required_argument, 0, 'o'},
        {"seed", required_argument, 0, 's'},   {"threads", required_argument, 0, 't'},
        {"profile", no_argument, 0, 'p'},      {"help", no_argument, 0, 'h'},
        {"warmup", required_argument, 0, 'W'}, {"reps", required_argument, 0, 'R'},
        {"check-activations", no_argument, 0, 'A'},
        {"device", required_argument, 0, 'd'}, {"precision", required_argument, 0, 'P'},
        {"backend-opt", required_argument, 0, 'O'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': a->spec.name = optarg; bad = cli_model("infer", optarg); break;
        case 'b': bad = cli_int64("infer", "--batch", optarg, 1, 1 << 20, &a->batch); break;
        case 'H': bad = cli_head("infer", optarg, &a->spec.head), a->head_set = 1; break;
        case 'w': a->spec.weights_path = optarg; break;
        case 'i': a->input = optarg; break;
        case 'o': a->output = optarg; break;
        case 's': bad = cli_u64("infer", "--seed", optarg, &a->spec.seed); break;
        case 't': bad = cli_int64("infer", "--threads", optarg, 1, 4096, &a->threads); break;
        case 'p': a->config.profile = 1; break;
        case 'A': a->config.activation_stats = 1; break;
        case 'd': a->device = optarg; bad = cli_device("infer", optarg); break;
        case 'P': bad = cli_precision("infer", optarg, &a->config.precision); break;
        case 'O': bad = cli_backend_opt_add("infer", &a->backend_opts, optarg); break;
        case 'W': bad = cli_int64("infer", "--warmup", optarg, 0, 1000000, &a->warmup); break;
        case 'R': bad = cli_int64("infer", "--reps", optarg, 1, 1000000, &a->reps); break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
        if (bad)
            return -1;
    }
    if (cli_no_positionals("infer", optind, argc, argv) != 0)
        return -1;
    if (!a->spec.name) {
        fprintf(stderr, "batchbench infer: --model is required (see batchbench models)\n");
        return -1;
    }
    if (bb_onnx_is_path(a->spec.name) && a->head_set)
        return cli_no_head_for_onnx("infer", a->spec.name);
    if (bb_onnx_is_path(a->spec.name) && a->spec.weights_path) {
        fprintf(stderr, "batchbench infer: --weights does not go with an ONNX model ('%s'): its weights come from "
                        "the file\n", a->spec.name);
        return -1;
    }
    return 0;
}

/* Does arr hold [N, in...] with N >= 1? */
static int input_matches(const bb_npy *arr, const bb_model_input *in)
{
    if (arr->ndim != in->ndim + 1 || arr->dims[0] < 1)
        return 0;
    for (int i = 0; i < in->ndim; i++)
        if (arr->dims[i + 1] != in->dims[i])
            return 0;
    return 1;
}

/* The input batch: from --input (checked against the model's input, [N,3,224,224] for the zoo) or seeded. */
static float *load_input(const infer_args *a, const bb_graph *g, int64_t *batch, bb_err *err)
{
    bb_model_input in;
    bb_model_input_of(g, &in);
    if (!a->input) {
        float *x = malloc((size_t)(*batch * in.floats) * sizeof(float));
        if (!x)
            bb_err_set(err, "out of memory for a batch of %lld", (long long)*batch);
        else
            bb_random_input(x, *batch * in.floats, a->spec.seed + 1);
        return x;
    }
    bb_npy arr;
    if (bb_npy_read(a->input, &arr, err) != 0)
        return NULL;
    if (!input_matches(&arr, &in)) {
        char want[128], got[160];
        bb_model_input_str(&in, 0, want, sizeof want);
        bb_shape_str(arr.dims, arr.ndim, got, sizeof got);
        bb_err_set(err, "%s: input must have shape [N,%s with N >= 1 (model %s), got %s", a->input, want + 1,
                   a->spec.name, got);
        bb_npy_free(&arr);
        return NULL;
    }
    *batch = arr.dims[0];
    return arr.data; /* ownership moves to the caller */
}

static void print_profile(const bb_backend_ops *be, const bb_backend *b, double total, int stats)
{
    const bb_step_time *st;
    int n = be->profile(b, &st);
    cli_print_steps(st, NULL, n, total, stats);
}

static double median_of(const double *t, int64_t n)
{
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return t[0];
    memcpy(s, t, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, bb_cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static void print_summary(const infer_args *a, const bb_graph *g, int64_t batch, const float *y, double prep,
                          const double *t)
{
    int64_t n = batch * bb_graph_feature_dim(g), dims[BB_MAX_DIMS + 1];
    int nd = bb_tensor_shape(g, g->output, batch, dims);
    double sum = 0.0, asum = 0.0, fwd = median_of(t, a->reps);
    for (int64_t i = 0; i < n; i++)
        sum += y[i], asum += y[i] < 0 ? -y[i] : y[i];
    printf("model %s head %s batch %lld\n", a->spec.name, bb_head_name(a->spec.head), (long long)batch);
    printf("output shape [");
    for (int i = 0; i < nd; i++)
        printf("%s%lld", i ? "," : "", (long long)dims[i]);
    printf("]\n");
    printf("checksum sum %.6e abs_sum %.6e\n", sum, asum);
    printf("time prepare %.1f ms, forward %.3f ms (%.3f ms per item)%s\n", prep * 1e3, fwd * 1e3,
           fwd * 1e3 / (double)batch, a->reps > 1 ? ", median of reps" : "");
    printf("times_ms");
    for (int64_t i = 0; i < a->reps; i++)
        printf(" %.4f", t[i] * 1e3);
    printf("\n");
}

/* One line on the range of every step's output; fails on NaN/Inf/subnormal. */
static int check_activations(const bb_backend_ops *be, const bb_backend *b, bb_err *err)
{
    const bb_step_time *st;
    int n = be->profile(b, &st), lo = 0, hi = 0;
    int64_t bad = 0, sub = 0;
    for (int i = 0; i < n; i++) {
        lo = st[i].out_rms < st[lo].out_rms ? i : lo;
        hi = st[i].out_absmax > st[hi].out_absmax ? i : hi;
        bad += st[i].out_nonfinite, sub += st[i].out_subnormal;
    }
    if (n == 0)
        return 0;
    printf("activations: %d steps, min rms %.3g (%s), max |x| %.3g (%s), non-finite %lld, subnormal %lld\n", n,
           st[lo].out_rms, st[lo].label, st[hi].out_absmax, st[hi].label, (long long)bad, (long long)sub);
    if (bad || sub)
        return bb_err_set(err, "activations: %lld non-finite and %lld subnormal values", (long long)bad, (long long)sub);
    return 0;
}

/* Warm-up passes, then reps timed passes into t[0..reps) (in run order). */
static int timed_passes(const bb_backend_ops *be, bb_backend *b, const infer_args *a, double *t, bb_err *err)
{
    int rc = 0;
    for (int64_t i = 0; rc == 0 && i < a->warmup; i++)
        rc = be->forward(b, err);
    for (int64_t i = 0; rc == 0 && i < a->reps; i++) {
        double t0 = bb_now_s();
        rc = be->forward(b, err);
        t[i] = be->forward_seconds ? be->forward_seconds(b) : bb_now_s() - t0;
    }
    return rc;
}

static int run(const infer_args *a, bb_err *err)
{
    int64_t batch = a->batch;
    const bb_backend_ops *be = a->config.backend;
    bb_graph *g = bb_model_open(&a->spec, err); /* first: the input's shape is the model's */
    float *x = g ? load_input(a, g, &batch, err) : NULL, *y = NULL;
    if (!x)
        return bb_graph_free(g), -1;
    bb_backend *b = NULL;
    int rc = -1;
    double t0 = bb_now_s(), prep = 0, *t = calloc((size_t)a->reps, sizeof *t);
    if (!t)
        bb_err_set(err, "out of memory");
    if (g && t && be->prepare(&b, g, batch, &a->config, err) == 0 && be->set_input(b, x, err) == 0) {
        prep = bb_now_s() - t0;
        rc = timed_passes(be, b, a, t, err);
        if (rc == 0) {
            y = malloc((size_t)(batch * bb_graph_feature_dim(g)) * sizeof(float));
            rc = y ? be->get_output(b, y, err) : bb_err_set(err, "out of memory");
        }
    }
    if (rc == 0 && a->output) {
        int64_t dims[BB_MAX_DIMS + 1]; /* the output's shape: [N, D] for the zoo, the file's for ONNX */
        rc = bb_npy_write(a->output, bb_tensor_shape(g, g->output, batch, dims), dims, y, err);
    }
    if (rc == 0) {
        print_summary(a, g, batch, y, prep, t);
        bb_backend_report r = {0};
        be->report(b, &r);
        if (be == &bb_cpu_backend) /* a GPU's host threads are not what runs it */
            printf("backend %s, %d thread%s: %s\n", be->name, r.threads, r.threads == 1 ? "" : "s", r.math_mode);
        else
            printf("backend %s: %s\n", be->name, r.math_mode);
        if (a->config.profile)
            print_profile(be, b, median_of(t, a->reps), a->config.activation_stats);
        if (a->config.activation_stats)
            rc = check_activations(be, b, err);
    }
    if (b)
        be->destroy(b);
    bb_graph_free(g);
    free(x);
    free(y);
    free(t);
    return rc;
}

int cmd_infer(int argc, char **argv)
{
    infer_args a;
    memset(&a, 0, sizeof a);
    a.batch = 1;
    a.reps = 1;
    a.device = "auto";
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p > 0 ? BB_EXIT_OK : BB_EXIT_USAGE;
    a.config.threads = (int)a.threads, a.config.head = a.spec.head;
    if ((p = cli_config_resolve("infer", a.device, &a.backend_opts, &a.config)) != BB_EXIT_OK)
        return p;
    bb_err err = {0};
    if (run(&a, &err) != 0) {
        fprintf(stderr, "batchbench infer: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    return BB_EXIT_OK;
}
