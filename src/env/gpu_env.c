/*
 * gpu_env.c — the GPU block of a result's environment (gpu_env.h): the
 * dense peak FLOP/s table and the block's JSON. Plain C, built in every
 * build; collecting the facts needs CUDA (backends/cuda/cuda_env.c).
 *
 * Why this file exists: "fraction of peak" is only honest if the peak is
 * computed the same way every time, from the card's SM count and clock and
 * a per-SM rate that matches NVIDIA's datasheets, and says how.
 */
#include "env/gpu_env.h"

#include <stdio.h>

/* Dense (no structured sparsity) FLOP per clock per SM; 1 FMA = 2 FLOP.
 * fp32 is the CUDA cores' FMA rate; tf32/fp16/bf16 the tensor cores' rate
 * with fp32 accumulation. Checked against the datasheets at the max boost
 * clock: A100 SXM (108 SMs, 1410 MHz) 19.5 / 156 / 312 TFLOP/s, A40 (84 SMs,
 * 1740 MHz) 37.4 / 74.8 / 149.7, H100 SXM fp32 67 (132 SMs, 1980 MHz). */
static const struct {
    int major, minor;
    int fp32, tf32, f16; /* FLOP/clk/SM; f16 = fp16 and bf16 */
    const char *note;    /* appended to a tensor-core basis, may be "" */
} rates[] = {
    {8, 0, 128, 1024, 2048, ""},
    /* GA102 / AD102: professional cards (A40, A6000, L40S, RTX 6000 Ada)
     * run fp32-accumulate tensor math at this rate; GeForce cards (and the
     * L40, by its datasheet) at half. */
    {8, 6, 256, 512, 1024, ", professional-card rate; GeForce: half"},
    {8, 9, 256, 512, 1024, ", L40S / RTX 6000 Ada rate; L40 and GeForce: half"},
    /* H100 / H200. NVIDIA's tensor-core datasheet figures for H100 SXM (989
     * TFLOP/s bf16) use 1830 MHz; at the 1980 MHz max SM clock it is 1070. */
    {9, 0, 256, 2048, 4096, ""},
};

double bb_gpu_peak_flops(int cc_major, int cc_minor, int sm_count, int clock_mhz, bb_precision precision,
                         char *basis, size_t basis_len)
{
    char dummy[8];
    if (!basis || basis_len == 0)
        basis = dummy, basis_len = sizeof dummy;
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        if (rates[i].major != cc_major || rates[i].minor != cc_minor)
            continue;
        if (sm_count <= 0 || clock_mhz <= 0) {
            snprintf(basis, basis_len, "unknown SM count (%d) or SM clock (%d MHz)", sm_count, clock_mhz);
            return 0.0;
        }
        int per_sm = 0;
        switch (precision) {
        case BB_PREC_FP32: per_sm = rates[i].fp32; break;
        case BB_PREC_TF32: per_sm = rates[i].tf32; break;
        case BB_PREC_FP16:
        case BB_PREC_BF16: per_sm = rates[i].f16; break;
        }
        if (per_sm == 0) {
            snprintf(basis, basis_len, "unknown precision %d", (int)precision);
            return 0.0;
        }
        snprintf(basis, basis_len, "%d SMs x %d FLOP/clk/SM (sm_%d%d dense %s %s%s) x %d MHz SM clock", sm_count,
                 per_sm, cc_major, cc_minor, bb_precision_name(precision),
                 precision == BB_PREC_FP32 ? "FMA on CUDA cores" : "tensor cores",
                 precision == BB_PREC_FP32 ? "" : rates[i].note, clock_mhz);
        return (double)sm_count * per_sm * clock_mhz * 1e6;
    }
    snprintf(basis, basis_len, "unknown architecture sm_%d%d", cc_major, cc_minor);
    return 0.0;
}

cJSON *bb_gpu_env_to_json(const bb_gpu_env *g)
{
    char cc[24];
    snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = cJSON_AddBoolToObject(o, "present", g->present != 0) && cJSON_AddNumberToObject(o, "device", g->device) &&
             cJSON_AddStringToObject(o, "name", g->name) && cJSON_AddStringToObject(o, "pci_bus_id", g->pci_bus_id) &&
             cJSON_AddStringToObject(o, "compute_capability", cc) &&
             cJSON_AddNumberToObject(o, "sm_count", g->sm_count) &&
             cJSON_AddNumberToObject(o, "mem_total_bytes", (double)g->mem_total_bytes) &&
             cJSON_AddNumberToObject(o, "clock_sm_mhz", g->clock_sm_mhz) &&
             cJSON_AddNumberToObject(o, "clock_sm_max_mhz", g->clock_sm_max_mhz) &&
             cJSON_AddNumberToObject(o, "clock_mem_mhz", g->clock_mem_mhz) &&
             cJSON_AddNumberToObject(o, "clock_mem_max_mhz", g->clock_mem_max_mhz) &&
             cJSON_AddStringToObject(o, "driver", g->driver) &&
             cJSON_AddStringToObject(o, "cuda_runtime", g->cuda_runtime) &&
             cJSON_AddStringToObject(o, "cudnn", g->cudnn) && cJSON_AddStringToObject(o, "cublas", g->cublas) &&
             cJSON_AddStringToObject(o, "precision", g->precision) &&
             cJSON_AddNumberToObject(o, "peak_flops", g->peak_flops) &&
             cJSON_AddStringToObject(o, "peak_basis", g->peak_basis);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
