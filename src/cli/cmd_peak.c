/*
 * cmd_peak.c — `batchbench peak`: this machine's peak rates (bench/peak.h),
 * the yardstick for the GFLOP/s that `profile` and the report show.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/backend.h"
#include "bench/peak.h"
#include "cli/cli.h"
#include "util/error.h"

enum { PEAK_SIZES = 2, PEAK_REPS = 5, PEAK_CONV_REPS = 10 };
static const int peak_sizes[PEAK_SIZES] = {1024, 2048};

typedef struct {
    int threads;
    double sgemm[PEAK_SIZES];
    bb_peak_result conv, bf16[PEAK_SIZES];
    const char *bf16_flag; /* NULL: the CPU has no native bf16 */
    int bf16_ok;           /* bf16 measured; else bf16_note.msg says why not */
    bb_err bf16_note;
    int failed;
} peak_out;

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench peak [--threads T] [--json]\n"
               "\n"
               "Measures this machine's peak rates, each the best of several calls after a\n"
               "warm-up: oneDNN sgemm on 1024^3 and 2048^3; a ResNet-shaped convolution\n"
               "primitive (batch 8, 256->256 channels, 14x14, 3x3, pad 1, ReLU, formats\n"
               "chosen by oneDNN); and where /proc/cpuinfo lists amx_bf16 or avx512_bf16, the\n"
               "oneDNN matmul primitive on 1024^3 and 2048^3 with bf16 inputs and f32 output.\n"
               "--json prints {threads, sgemm_gflops, conv_gflops, bf16_matmul_gflops|null, ...}\n"
               "(the best of the sizes). Exit codes: 0 ok, 1 a measurement failed, 2 bad arguments.\n");
}

static double best_of(const double *x, int n)
{
    double b = -1.0;
    for (int i = 0; i < n; i++)
        b = x[i] > b ? x[i] : b;
    return b;
}

static void measure_f32(peak_out *o)
{
    bb_err err = {0};
    for (int i = 0; i < PEAK_SIZES; i++) {
        o->sgemm[i] = bb_peak_sgemm_gflops(o->threads, peak_sizes[i], PEAK_REPS);
        if (o->sgemm[i] <= 0) {
            fprintf(stderr, "batchbench peak: sgemm %d^3: out of memory\n", peak_sizes[i]);
            o->failed = 1;
        }
    }
    o->conv.gflops = o->bf16[0].gflops = o->bf16[1].gflops = -1.0;
    if (bb_peak_conv(o->threads, PEAK_CONV_REPS, &o->conv, &err) != 0) {
        fprintf(stderr, "batchbench peak: %s\n", err.msg);
        o->failed = 1;
    }
}

/* bf16 only where the CPU has it natively; oneDNN lacking it is a note
 * (bf16 not available), any other failure fails the command. */
static void measure_bf16(peak_out *o)
{
    o->bf16_flag = bb_peak_bf16_flag();
    if (!o->bf16_flag) {
        bb_err_set(&o->bf16_note, "no amx_bf16 or avx512_bf16 in /proc/cpuinfo flags");
        return;
    }
    for (int i = 0; i < PEAK_SIZES; i++) {
        int rc = bb_peak_bf16_matmul(o->threads, peak_sizes[i], PEAK_REPS, &o->bf16[i], &o->bf16_note);
        if (rc < 0)
            fprintf(stderr, "batchbench peak: %s\n", o->bf16_note.msg);
        o->failed |= rc < 0;
        if (rc != 0)
            return;
    }
    o->bf16_ok = 1;
}

/* The best bf16 rate, or -1 when not measured. */
static double bf16_best(const peak_out *o)
{
    double x[PEAK_SIZES];
    for (int i = 0; i < PEAK_SIZES; i++)
        x[i] = o->bf16_ok ? o->bf16[i].gflops : -1.0;
    return best_of(x, PEAK_SIZES);
}

static void add_rate(cJSON *obj, const char *name, double gflops)
{
    if (gflops > 0)
        cJSON_AddNumberToObject(obj, name, gflops);
    else
        cJSON_AddNullToObject(obj, name);
}

static void add_text(cJSON *obj, const char *name, const char *s)
{
    if (s)
        cJSON_AddStringToObject(obj, name, s);
    else
        cJSON_AddNullToObject(obj, name);
}

static void print_json(const peak_out *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "threads", o->threads);
    add_rate(j, "sgemm_gflops", best_of(o->sgemm, PEAK_SIZES));
    add_rate(j, "sgemm_1024_gflops", o->sgemm[0]);
    add_rate(j, "sgemm_2048_gflops", o->sgemm[1]);
    add_rate(j, "conv_gflops", o->conv.gflops);
    cJSON_AddStringToObject(j, "conv_impl", o->conv.impl);
    add_rate(j, "bf16_matmul_gflops", bf16_best(o));
    add_rate(j, "bf16_matmul_1024_gflops", o->bf16_ok ? o->bf16[0].gflops : -1.0);
    add_rate(j, "bf16_matmul_2048_gflops", o->bf16_ok ? o->bf16[1].gflops : -1.0);
    add_text(j, "bf16_matmul_impl", o->bf16_ok ? o->bf16[1].impl : NULL);
    add_text(j, "bf16_cpu_flag", o->bf16_flag);
    add_text(j, "bf16_note", o->bf16_ok ? NULL : o->bf16_note.msg);
    char *s = cJSON_Print(j);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}

static void print_rate(const char *label, double gflops, const char *impl)
{
    printf("%-42s %8.1f GFLOP/s%s%s%s\n", label, gflops, impl ? "  [" : "", impl ? impl : "", impl ? "]" : "");
}

static void print_text(const peak_out *o)
{
    char label[64];
    printf("threads: %d\n", o->threads);
    for (int i = 0; i < PEAK_SIZES; i++) {
        snprintf(label, sizeof label, "sgemm %d^3 (f32)", peak_sizes[i]);
        print_rate(label, o->sgemm[i], NULL);
    }
    print_rate("conv 3x3 256->256 14x14 batch 8 + ReLU", o->conv.gflops, o->conv.impl);
    if (!o->bf16_ok) {
        printf("bf16: not available (%s)\n", o->bf16_note.msg);
        return;
    }
    for (int i = 0; i < PEAK_SIZES; i++) {
        snprintf(label, sizeof label, "matmul %d^3 (bf16 in, f32 out)", peak_sizes[i]);
        print_rate(label, o->bf16[i].gflops, o->bf16[i].impl);
    }
    printf("(bf16: cpu flag %s)\n", o->bf16_flag);
}

int cmd_peak(int argc, char **argv)
{
    static const struct option opts[] = {{"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    int64_t threads = 0;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': if (cli_int64("peak", "--threads", optarg, 1, 4096, &threads) != 0) return BB_EXIT_USAGE; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return BB_EXIT_OK;
        default: usage(stderr); return BB_EXIT_USAGE;
        }
    }
    if (cli_no_positionals("peak", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    peak_out o = {.threads = threads > 0 ? (int)threads : bb_cpu_default_threads()};
    measure_f32(&o);
    measure_bf16(&o);
    (json ? print_json : print_text)(&o);
    return o.failed ? BB_EXIT_FAILURE : BB_EXIT_OK;
}
