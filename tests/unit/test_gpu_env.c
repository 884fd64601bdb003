/*
 * test_gpu_env.c — unit tests for src/bench/gpu_env.c and the "gpu" member
 * of the environment block (src/bench/env.c).
 *
 * Why this file exists: the peak FLOP/s a GPU run's efficiency is measured
 * against must match NVIDIA's datasheets, and the GPU block's JSON must
 * hold every documented field (docs/result-schema.md) with its type. The
 * datasheet figures (dense, no sparsity, at the max boost clock): A100 SXM
 * 108 SMs 1410 MHz: fp32 19.5, tf32 156, bf16 312 TFLOP/s; A40 84 SMs
 * 1740 MHz: fp32 37.4, tf32 74.8, bf16 149.7; H100 SXM 132 SMs 1980 MHz:
 * fp32 67. Collecting (cuda_env.c) needs a GPU and is not tested here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "env/env.h"
#include "env/gpu_env.h"

static void check_rel(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * want))
        fail_msg("%s: got %.6g, want %.6g (within %g)", what, got, want, rel);
}

static void test_peak_h100(void **state)
{
    (void)state;
    char basis[160];
    assert_true(bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_FP32, basis, sizeof basis) == 132.0 * 256 * 1980e6);
    assert_string_equal(basis, "132 SMs x 256 FLOP/clk/SM (sm_90 dense fp32 FMA on CUDA cores) x 1980 MHz SM clock");
    assert_true(bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_TF32, NULL, 0) == 132.0 * 2048 * 1980e6);
    assert_true(bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_FP16, NULL, 0) == 132.0 * 4096 * 1980e6);
    assert_true(bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_BF16, basis, sizeof basis) == 132.0 * 4096 * 1980e6);
    assert_string_equal(basis, "132 SMs x 4096 FLOP/clk/SM (sm_90 dense bf16 tensor cores) x 1980 MHz SM clock");
    check_rel(bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_FP32, NULL, 0), 67e12, 0.002, "H100 fp32");
}

static void test_peak_datasheets(void **state)
{
    (void)state;
    check_rel(bb_gpu_peak_flops(8, 0, 108, 1410, BB_PREC_FP32, NULL, 0), 19.49e12, 0.0005, "A100 fp32");
    check_rel(bb_gpu_peak_flops(8, 0, 108, 1410, BB_PREC_TF32, NULL, 0), 155.9e12, 0.0005, "A100 tf32");
    check_rel(bb_gpu_peak_flops(8, 0, 108, 1410, BB_PREC_BF16, NULL, 0), 311.9e12, 0.0005, "A100 bf16");
    check_rel(bb_gpu_peak_flops(8, 0, 108, 1410, BB_PREC_FP16, NULL, 0), 311.9e12, 0.0005, "A100 fp16");
    check_rel(bb_gpu_peak_flops(8, 6, 84, 1740, BB_PREC_FP32, NULL, 0), 37.4e12, 0.002, "A40 fp32");
    check_rel(bb_gpu_peak_flops(8, 6, 84, 1740, BB_PREC_TF32, NULL, 0), 74.8e12, 0.002, "A40 tf32");
    check_rel(bb_gpu_peak_flops(8, 6, 84, 1740, BB_PREC_BF16, NULL, 0), 149.7e12, 0.002, "A40 bf16");
    char basis[160];
    assert_true(bb_gpu_peak_flops(8, 9, 142, 2520, BB_PREC_BF16, basis, sizeof basis) == 142.0 * 1024 * 2520e6);
    assert_non_null(strstr(basis, "sm_89"));
    assert_non_null(strstr(basis, "GeForce: half"));
    bb_gpu_peak_flops(8, 6, 84, 1740, BB_PREC_FP32, basis, sizeof basis); /* no tensor-core note on fp32 */
    assert_string_equal(basis, "84 SMs x 256 FLOP/clk/SM (sm_86 dense fp32 FMA on CUDA cores) x 1740 MHz SM clock");
}

static void test_peak_unknown(void **state)
{
    (void)state;
    char basis[160];
    assert_true(bb_gpu_peak_flops(7, 5, 40, 1590, BB_PREC_FP16, basis, sizeof basis) == 0.0);
    assert_string_equal(basis, "unknown architecture sm_75");
    assert_true(bb_gpu_peak_flops(10, 0, 148, 1965, BB_PREC_BF16, basis, sizeof basis) == 0.0);
    assert_string_equal(basis, "unknown architecture sm_100");
    assert_true(bb_gpu_peak_flops(9, 0, 0, 1980, BB_PREC_FP32, basis, sizeof basis) == 0.0);
    assert_non_null(strstr(basis, "unknown SM count"));
    assert_true(bb_gpu_peak_flops(9, 0, 132, 0, BB_PREC_FP32, NULL, 0) == 0.0);
    assert_true(bb_gpu_peak_flops(9, 0, 132, 1980, (bb_precision)42, basis, sizeof basis) == 0.0);
    char tiny[12];
    bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_BF16, tiny, sizeof tiny); /* truncated, terminated */
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

static void fake_gpu(bb_gpu_env *g)
{
    memset(g, 0, sizeof *g);
    g->present = 1, g->device = 0;
    snprintf(g->name, sizeof g->name, "NVIDIA H100 80GB HBM3");
    snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "0000:19:00.0");
    g->cc_major = 9, g->cc_minor = 0, g->sm_count = 132;
    g->mem_total_bytes = 85045231616LL; /* more than 2^32 */
    g->clock_sm_mhz = 345, g->clock_sm_max_mhz = 1980, g->clock_mem_mhz = 2619, g->clock_mem_max_mhz = 2619;
    snprintf(g->driver, sizeof g->driver, "580.65.06");
    snprintf(g->cuda_runtime, sizeof g->cuda_runtime, "13.0");
    snprintf(g->cudnn, sizeof g->cudnn, "9.13.0");
    snprintf(g->cublas, sizeof g->cublas, "13.1.0");
    snprintf(g->precision, sizeof g->precision, "bf16");
    g->peak_flops = bb_gpu_peak_flops(9, 0, 132, 1980, BB_PREC_BF16, g->peak_basis, sizeof g->peak_basis);
}

/* The documented fields of environment.gpu and their types (s string,
 * n number, b bool). */
static const struct {
    const char *key;
    char type;
} gpu_fields[] = {
    {"present", 'b'},         {"device", 'n'},       {"name", 's'},          {"pci_bus_id", 's'},
    {"compute_capability", 's'}, {"sm_count", 'n'},  {"mem_total_bytes", 'n'}, {"clock_sm_mhz", 'n'},
    {"clock_sm_max_mhz", 'n'}, {"clock_mem_mhz", 'n'}, {"clock_mem_max_mhz", 'n'}, {"driver", 's'},
    {"cuda_runtime", 's'},    {"cudnn", 's'},        {"cublas", 's'},        {"precision", 's'},
    {"peak_flops", 'n'},      {"peak_basis", 's'},
};
#define N_GPU_FIELDS (int)(sizeof gpu_fields / sizeof *gpu_fields)

static void check_gpu_json(const cJSON *j, const bb_gpu_env *g)
{
    assert_true(cJSON_IsObject(j));
    assert_int_equal(cJSON_GetArraySize(j), N_GPU_FIELDS);
    for (int i = 0; i < N_GPU_FIELDS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, gpu_fields[i].key);
        int ok = gpu_fields[i].type == 's' ? cJSON_IsString(v) : gpu_fields[i].type == 'n' ? cJSON_IsNumber(v)
                                                                                           : cJSON_IsBool(v);
        if (!ok)
            fail_msg("gpu.%s missing or not of type '%c'", gpu_fields[i].key, gpu_fields[i].type);
    }
#define GET(k) cJSON_GetObjectItemCaseSensitive(j, k)
    assert_true(cJSON_IsTrue(GET("present")));
    assert_string_equal(GET("name")->valuestring, g->name);
    assert_string_equal(GET("pci_bus_id")->valuestring, g->pci_bus_id);
    assert_string_equal(GET("compute_capability")->valuestring, "9.0");
    assert_true(GET("sm_count")->valuedouble == 132.0);
    assert_true(GET("mem_total_bytes")->valuedouble == 85045231616.0);
    assert_true(GET("clock_sm_mhz")->valuedouble == 345.0 && GET("clock_sm_max_mhz")->valuedouble == 1980.0);
    assert_true(GET("clock_mem_mhz")->valuedouble == 2619.0 && GET("clock_mem_max_mhz")->valuedouble == 2619.0);
    assert_string_equal(GET("driver")->valuestring, "580.65.06");
    assert_string_equal(GET("cuda_runtime")->valuestring, "13.0");
    assert_string_equal(GET("cudnn")->valuestring, "9.13.0");
    assert_string_equal(GET("cublas")->valuestring, "13.1.0");
    assert_string_equal(GET("precision")->valuestring, "bf16");
    assert_true(GET("peak_flops")->valuedouble == 132.0 * 4096 * 1980e6);
    assert_string_equal(GET("peak_basis")->valuestring, g->peak_basis);
#undef GET
}

static void test_gpu_json(void **state)
{
    (void)state;
    bb_gpu_env g;
    fake_gpu(&g);
    cJSON *j = bb_gpu_env_to_json(&g);
    check_gpu_json(j, &g);
    /* through text and back: the printed numbers are exact */
    char *text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"mem_total_bytes\":85045231616,"));
    cJSON *back = cJSON_Parse(text);
    check_gpu_json(back, &g);
    cJSON_free(text);
    cJSON_Delete(back);
    cJSON_Delete(j);
}

/* environment.gpu: null on a CPU run, the block on a GPU run. */
static void test_env_gpu(void **state)
{
    (void)state;
    bb_env e;
    bb_env_collect(&e, 1);
    assert_int_equal(e.gpu.present, 0);
    cJSON *j = bb_env_to_json(&e);
    assert_non_null(j);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "gpu")));
    int n_cpu = cJSON_GetArraySize(j);
    cJSON_Delete(j);
    fake_gpu(&e.gpu);
    j = bb_env_to_json(&e);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(j), n_cpu);
    check_gpu_json(cJSON_GetObjectItemCaseSensitive(j, "gpu"), &e.gpu);
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_h100), cmocka_unit_test(test_peak_datasheets), cmocka_unit_test(test_peak_unknown),
        cmocka_unit_test(test_gpu_json),  cmocka_unit_test(test_env_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
