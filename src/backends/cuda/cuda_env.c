/*
 * cuda_env.c — bb_gpu_env_collect (bench/gpu_env.h) for a build with CUDA:
 * the current device's facts from the CUDA runtime, the versions of the
 * cuDNN and cuBLASLt libraries actually loaded, and clocks and the driver
 * version from NVML when libnvidia-ml.so.1 is there.
 *
 * Why this file exists: a GPU timing is tied to the card, its clocks and
 * the library versions. NVML is opened with dlopen, not linked, so that
 * batchbench still runs where only the CUDA driver is installed; without it
 * current clocks read 0, max clocks come from the runtime's attributes and
 * the driver is the CUDA driver API version ("13.0").
 */
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn_graph.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "backends/cuda/cuda_env.h"

/* The few NVML declarations used (nvml.h is not needed to build): opaque
 * device handle, nvmlReturn_t NVML_SUCCESS = 0, nvmlClockType_t values. */
typedef struct nvmlDevice_st *nvml_device;
enum { NVML_OK = 0, NVML_CLOCK_SM_ = 1, NVML_CLOCK_MEM_ = 2 };

typedef struct {
    void *lib;
    int (*init)(void);
    int (*shutdown)(void);
    int (*driver_version)(char *version, unsigned int length);
    int (*by_pci)(const char *pci_bus_id, nvml_device *dev);
    int (*clock)(nvml_device dev, int type, unsigned int *mhz);
    int (*max_clock)(nvml_device dev, int type, unsigned int *mhz);
} nvml_api;

/* Opens and initializes NVML; 0, or -1 (nothing left open) when absent. */
static int nvml_open(nvml_api *n)
{
    memset(n, 0, sizeof *n);
    n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!n->lib)
        return -1;
    n->init = (int (*)(void))dlsym(n->lib, "nvmlInit_v2");
    n->shutdown = (int (*)(void))dlsym(n->lib, "nvmlShutdown");
    n->driver_version = (int (*)(char *, unsigned int))dlsym(n->lib, "nvmlSystemGetDriverVersion");
    n->by_pci = (int (*)(const char *, nvml_device *))dlsym(n->lib, "nvmlDeviceGetHandleByPciBusId_v2");
    n->clock = (int (*)(nvml_device, int, unsigned int *))dlsym(n->lib, "nvmlDeviceGetClockInfo");
    n->max_clock = (int (*)(nvml_device, int, unsigned int *))dlsym(n->lib, "nvmlDeviceGetMaxClockInfo");
    if (!n->init || !n->shutdown || !n->driver_version || !n->by_pci || !n->clock || !n->max_clock ||
        n->init() != NVML_OK) {
        dlclose(n->lib);
        n->lib = NULL;
        return -1;
    }
    return 0;
}

static void nvml_close(nvml_api *n)
{
    if (n->lib) {
        n->shutdown();
        dlclose(n->lib);
        n->lib = NULL;
    }
}

/* NVML's clock of this type in MHz, or 0 when it cannot say. */
static int nvml_mhz(int (*fn)(nvml_device, int, unsigned int *), nvml_device d, int type)
{
    unsigned int mhz = 0;
    return fn(d, type, &mhz) == NVML_OK && mhz < 1000000 ? (int)mhz : 0;
}

/* Current and max clocks and the driver version from NVML, where it has them. */
static void collect_nvml(bb_gpu_env *g)
{
    nvml_api n;
    if (nvml_open(&n) != 0)
        return;
    char v[96] = "";
    if (n.driver_version(v, sizeof v) == NVML_OK && v[0])
        snprintf(g->driver, sizeof g->driver, "%.31s", v);
    nvml_device d = NULL;
    if (n.by_pci(g->pci_bus_id, &d) == NVML_OK && d) {
        g->clock_sm_mhz = nvml_mhz(n.clock, d, NVML_CLOCK_SM_);
        g->clock_mem_mhz = nvml_mhz(n.clock, d, NVML_CLOCK_MEM_);
        int sm_max = nvml_mhz(n.max_clock, d, NVML_CLOCK_SM_), mem_max = nvml_mhz(n.max_clock, d, NVML_CLOCK_MEM_);
        if (sm_max > 0)
            g->clock_sm_max_mhz = sm_max;
        if (mem_max > 0)
            g->clock_mem_max_mhz = mem_max;
    }
    nvml_close(&n);
}

/* A CUDA version integer (1000 x major + 10 x minor) as "13.0". */
static void cuda_version(char *out, size_t len, int v)
{
    snprintf(out, len, "%d.%d", v / 1000, (v % 1000) / 10);
}

/* A library version integer (10000 x major + 100 x minor + patch, as
 * CUDNN_VERSION and CUBLAS_VERSION encode it) as "9.13.0". */
static void lib_version(char *out, size_t len, size_t v)
{
    snprintf(out, len, "%zu.%zu.%zu", v / 10000, v / 100 % 100, v % 100);
}

/* An attribute in kHz as MHz, or 0 when the runtime cannot say. */
static int attr_mhz(enum cudaDeviceAttr a, int dev)
{
    int khz = 0;
    if (cudaDeviceGetAttribute(&khz, a, dev) != cudaSuccess) {
        cudaGetLastError(); /* do not leave the error for a later check */
        return 0;
    }
    return khz > 0 ? (int)((khz + 500LL) / 1000) : 0;
}

int bb_gpu_env_collect(bb_gpu_env *g, bb_precision precision, bb_err *err)
{
    *g = (bb_gpu_env){0};
    int count = 0, dev = 0, v = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc == cudaSuccess && count <= 0)
        rc = cudaErrorNoDevice;
    if (rc == cudaSuccess)
        rc = cudaGetDevice(&dev);
    struct cudaDeviceProp p;
    memset(&p, 0, sizeof p);
    if (rc == cudaSuccess)
        rc = cudaGetDeviceProperties(&p, dev);
    if (rc != cudaSuccess) {
        cudaGetLastError();
        return bb_err_set(err, "no CUDA device: %s", cudaGetErrorString(rc));
    }
    g->present = 1;
    g->device = dev;
    snprintf(g->name, sizeof g->name, "%.127s", p.name);
    g->cc_major = p.major, g->cc_minor = p.minor;
    g->sm_count = p.multiProcessorCount;
    g->mem_total_bytes = (int64_t)p.totalGlobalMem;
    char pci[32] = "";
    if (cudaDeviceGetPCIBusId(pci, (int)sizeof pci, dev) != cudaSuccess) {
        cudaGetLastError();
        snprintf(pci, sizeof pci, "unknown");
    }
    snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%.31s", pci);
    g->clock_sm_max_mhz = attr_mhz(cudaDevAttrClockRate, dev);
    g->clock_mem_max_mhz = attr_mhz(cudaDevAttrMemoryClockRate, dev);

    snprintf(g->driver, sizeof g->driver, "unknown");
    if (cudaDriverGetVersion(&v) == cudaSuccess && v > 0)
        cuda_version(g->driver, sizeof g->driver, v);
    snprintf(g->cuda_runtime, sizeof g->cuda_runtime, "unknown");
    if (cudaRuntimeGetVersion(&v) == cudaSuccess && v > 0)
        cuda_version(g->cuda_runtime, sizeof g->cuda_runtime, v);
    cudaGetLastError();
    lib_version(g->cudnn, sizeof g->cudnn, cudnnGetVersion());
    lib_version(g->cublas, sizeof g->cublas, cublasLtGetVersion());

    if (strcmp(g->pci_bus_id, "unknown") != 0)
        collect_nvml(g); /* prefers NVML's max clocks and driver version */

    snprintf(g->precision, sizeof g->precision, "%s", bb_precision_name(precision));
    g->peak_flops = bb_gpu_peak_flops(g->cc_major, g->cc_minor, g->sm_count, g->clock_sm_max_mhz, precision,
                                      g->peak_basis, sizeof g->peak_basis);
    return 0;
}
