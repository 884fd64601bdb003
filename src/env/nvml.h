/*
 * nvml.h — NVML, loaded at run time and bound to one GPU, for the two
 * parts of env/ that read it: noise sensing (SM clock, throttle reasons:
 * env/noise.h) and energy (the total-energy counter, power: env/energy.h).
 *
 * Why this file exists: batchbench must run where there is no NVIDIA
 * driver, so NVML is dlopen'ed, never linked; loading it, initialising it,
 * finding the device by PCI bus id and saying why any of that failed is
 * the same for every reader, and lives here once. Each reader looks up the
 * functions it needs itself (bb_nvml_sym). nvml.h is not needed to build.
 */
#ifndef BB_NVML_H
#define BB_NVML_H

#include <stddef.h>

typedef struct nvmlDevice_st *bb_nvml_device;
enum { BB_NVML_OK = 0 };

typedef struct {
    void *lib;
    int inited;                           /* nvmlInit succeeded: shut down on close */
    int (*shutdown)(void);
    const char *(*error_string)(int rc);  /* NULL when the library lacks it */
    bb_nvml_device dev;
} bb_nvml;

/* dlopen(lib; NULL: "libnvidia-ml.so.1"), nvmlInit_v2 and the device by
 * PCI bus id (NULL or "": NVML's index 0, which is not CUDA's device 0
 * under CUDA_VISIBLE_DEVICES). NULL with why set, e.g. "NVML not available
 * (libnvidia-ml.so.1: cannot open shared object file ...)", "NVML library
 * lacks nvmlInit_v2", "NVML: nvmlInit_v2 failed: ... (NVML error 1)",
 * "NVML: no device 0000:01:00.0: ... (NVML error 6)". */
bb_nvml *bb_nvml_open(const char *lib, const char *pci_bus_id, char *why, size_t len);

/* The library's function name, or NULL; when missing and *missing is 0,
 * why says "NVML library lacks <name>" and *missing becomes 1. */
void *bb_nvml_sym(const bb_nvml *n, const char *name, int *missing, char *why, size_t len);

/* NVML's name for rc ("error" without nvmlErrorString). */
const char *bb_nvml_error(const bb_nvml *n, int rc);

/* nvmlShutdown and dlclose; NULL is fine. */
void bb_nvml_close(bb_nvml *n);

#endif
