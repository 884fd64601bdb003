/* cmd_peak.c — `batchbench peak`: this machine's fp32 peak (bench/peak.h). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/backend.h"
#include "bench/peak.h"
#include "cli/cli.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench peak [--threads T] [--json]\n"
               "\n"
               "Measures this machine's fp32 rate: oneDNN sgemm on 1024^3 and 2048^3 (best of 5\n"
               "after a warm-up) and a ResNet-shaped 3x3 convolution (256 channels, 14x14,\n"
               "batch 8, ReLU) through batchbench's CPU backend. bf16 is not measured yet.\n");
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
    int t = threads > 0 ? (int)threads : bb_cpu_default_threads();
    double g1 = bb_peak_sgemm_gflops(t, 1024, 5), g2 = bb_peak_sgemm_gflops(t, 2048, 5);
    double cv = bb_peak_conv_gflops(t, 5);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "threads", t);
        cJSON_AddNumberToObject(o, "sgemm_gflops", g1 > g2 ? g1 : g2);
        cJSON_AddNumberToObject(o, "sgemm_1024_gflops", g1);
        cJSON_AddNumberToObject(o, "sgemm_2048_gflops", g2);
        cJSON_AddNumberToObject(o, "conv_gflops", cv);
        cJSON_AddNullToObject(o, "bf16_matmul_gflops");
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("threads: %d\nsgemm 1024^3: %.1f GFLOP/s\nsgemm 2048^3: %.1f GFLOP/s\n", t, g1, g2);
        printf("conv 3x3 256ch 14x14 batch 8 (batchbench CPU backend): %.1f GFLOP/s\n", cv);
        printf("bf16: not measured (batchbench has no bf16 path yet)\n");
    }
    return g1 > 0 && cv > 0 ? BB_EXIT_OK : BB_EXIT_FAILURE;
}
