/*
 * cmd_env.c — `batchbench env`: prints the environment block that every
 * result file records (host, CPU, memory, OS, compiler, oneDNN, version,
 * threads; with --device cuda the GPU block too), so a user can check what a
 * sweep would record before running it.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_env.h"
#include "env/env.h"
#include "cli/cli.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench env [--json] [--threads T] [--device cpu|cuda]\n"
               "                      [--precision fp32|tf32|fp16|bf16]\n"
               "\n"
               "Prints the environment recorded in every result file: host, CPU model,\n"
               "logical cores, AVX-512 / AVX-512 BF16 / AMX support, memory, OS, kernel,\n"
               "compiler, oneDNN version, batchbench version and git commit, and the\n"
               "threads a run would use (--threads T, default OMP_NUM_THREADS or all\n"
               "cores). --json prints the same block as a JSON object.\n"
               "\n"
               "--device cuda (default cpu) adds the GPU a CUDA run would record: the\n"
               "current CUDA device's name, PCI bus id, compute capability, SMs, memory,\n"
               "clocks, driver, CUDA runtime, cuDNN and cuBLASLt versions, and its dense\n"
               "peak FLOP/s for --precision (default fp32); exit 1 if there is no GPU.\n");
}

static const char *yes_no(int v)
{
    return v ? "yes" : "no";
}

static void print_text(const bb_env *e)
{
    printf("host: %s\ncpu_model: %s\ncores_logical: %d\nthreads_used: %d\n", e->host, e->cpu_model,
           e->cores_logical, e->threads_used);
    printf("has_avx512: %s\nhas_avx512_bf16: %s\nhas_amx: %s\n", yes_no(e->has_avx512), yes_no(e->has_avx512_bf16),
           yes_no(e->has_amx));
    printf("mem_total_bytes: %lld (%.1f GiB)\n", (long long)e->mem_total_bytes,
           (double)e->mem_total_bytes / (1024.0 * 1024.0 * 1024.0));
    printf("os: %s\nkernel: %s\ncompiler: %s\nonednn: %s\nbatchbench_version: %s\ngit_commit: %s\n", e->os,
           e->kernel, e->compiler, e->onednn, e->batchbench_version, e->git_commit);
}

static void print_gpu_text(const bb_gpu_env *g)
{
    printf("gpu_device: %d\ngpu_name: %s\ngpu_pci_bus_id: %s\ngpu_compute_capability: %d.%d\ngpu_sm_count: %d\n",
           g->device, g->name, g->pci_bus_id, g->cc_major, g->cc_minor, g->sm_count);
    printf("gpu_mem_total_bytes: %lld (%.1f GiB)\n", (long long)g->mem_total_bytes,
           (double)g->mem_total_bytes / (1024.0 * 1024.0 * 1024.0));
    printf("gpu_clock_sm_mhz: %d (max %d)\ngpu_clock_mem_mhz: %d (max %d)\n", g->clock_sm_mhz, g->clock_sm_max_mhz,
           g->clock_mem_mhz, g->clock_mem_max_mhz);
    printf("gpu_driver: %s\ngpu_cuda_runtime: %s\ngpu_cudnn: %s\ngpu_cublas: %s\n", g->driver, g->cuda_runtime,
           g->cudnn, g->cublas);
    printf("gpu_peak_flops: %.4g (%.1f TFLOP/s %s; %s)\n", g->peak_flops, g->peak_flops / 1e12, g->precision,
           g->peak_basis);
}

static int print_json(const bb_env *e)
{
    cJSON *j = bb_env_to_json(e);
    char *s = j ? cJSON_Print(j) : NULL;
    if (s)
        printf("%s\n", s);
    else
        fprintf(stderr, "batchbench env: out of memory\n");
    cJSON_free(s);
    cJSON_Delete(j);
    return s ? BB_EXIT_OK : BB_EXIT_FAILURE;
}

int cmd_env(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"threads", required_argument, 0, 't'},
                                         {"device", required_argument, 0, 'd'},
                                         {"precision", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, cuda = 0, c;
    int64_t threads = 0;
    bb_precision precision = BB_PREC_FP32;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return BB_EXIT_OK;
        case 'j': json = 1; break;
        case 't': if (cli_int64("env", "--threads", optarg, 1, 4096, &threads) != 0) return BB_EXIT_USAGE; break;
        case 'd':
            if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "cuda") != 0) {
                fprintf(stderr, "batchbench env: --device: '%s' is not one of cpu, cuda\n", optarg);
                return BB_EXIT_USAGE;
            }
            cuda = strcmp(optarg, "cuda") == 0;
            break;
        case 'p':
            if (bb_precision_parse(optarg, &precision) != 0) {
                fprintf(stderr, "batchbench env: --precision: '%s' is not one of fp32, tf32, fp16, bf16\n", optarg);
                return BB_EXIT_USAGE;
            }
            break;
        default: usage(stderr); return BB_EXIT_USAGE;
        }
    }
    if (cli_no_positionals("env", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    bb_env e;
    bb_env_collect(&e, (int)threads);
    bb_err err = {0};
    if (cuda && bb_gpu_env_collect(&e.gpu, precision, &err) != 0) {
        fprintf(stderr, "batchbench env: --device cuda: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    if (json)
        return print_json(&e);
    print_text(&e);
    if (e.gpu.present)
        print_gpu_text(&e.gpu);
    return BB_EXIT_OK;
}
