/* nvml.c — NVML loaded with dlopen and bound to one GPU (nvml.h). */
#include "env/nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void *bb_nvml_sym(const bb_nvml *n, const char *name, int *missing, char *why, size_t len)
{
    void *p = dlsym(n->lib, name);
    if (!p && !*missing) {
        snprintf(why, len, "NVML library lacks %s", name);
        *missing = 1;
    }
    return p;
}

const char *bb_nvml_error(const bb_nvml *n, int rc)
{
    const char *e = n->error_string ? n->error_string(rc) : NULL;
    return e ? e : "error";
}

/* nvmlInit and the device; 0 or -1 (why). */
static int bind(bb_nvml *n, const char *pci, char *why, size_t len)
{
    int miss = 0;
    int (*init)(void) = (int (*)(void))bb_nvml_sym(n, "nvmlInit_v2", &miss, why, len);
    int (*by_pci)(const char *, bb_nvml_device *) =
        (int (*)(const char *, bb_nvml_device *))bb_nvml_sym(n, "nvmlDeviceGetHandleByPciBusId_v2", &miss, why, len);
    int (*by_index)(unsigned int, bb_nvml_device *) =
        (int (*)(unsigned int, bb_nvml_device *))bb_nvml_sym(n, "nvmlDeviceGetHandleByIndex_v2", &miss, why, len);
    n->shutdown = (int (*)(void))bb_nvml_sym(n, "nvmlShutdown", &miss, why, len);
    if (miss)
        return -1;
    int rc = init();
    if (rc != BB_NVML_OK) {
        snprintf(why, len, "NVML: nvmlInit_v2 failed: %s (NVML error %d)", bb_nvml_error(n, rc), rc);
        return -1;
    }
    n->inited = 1;
    int use_pci = pci && pci[0];
    rc = use_pci ? by_pci(pci, &n->dev) : by_index(0, &n->dev);
    if (rc != BB_NVML_OK || !n->dev) {
        snprintf(why, len, "NVML: no device %.40s: %s (NVML error %d)", use_pci ? pci : "0", bb_nvml_error(n, rc), rc);
        return -1;
    }
    return 0;
}

bb_nvml *bb_nvml_open(const char *lib, const char *pci_bus_id, char *why, size_t len)
{
    bb_nvml *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(why, len, "NVML: out of memory");
        return NULL;
    }
    const char *name = lib ? lib : "libnvidia-ml.so.1";
    n->lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!n->lib) {
        const char *e = dlerror();
        snprintf(why, len, "NVML not available (%s)", e ? e : name);
        free(n);
        return NULL;
    }
    n->error_string = (const char *(*)(int))dlsym(n->lib, "nvmlErrorString");
    if (bind(n, pci_bus_id, why, len) != 0) {
        bb_nvml_close(n);
        return NULL;
    }
    return n;
}

void bb_nvml_close(bb_nvml *n)
{
    if (!n)
        return;
    if (n->inited && n->shutdown)
        n->shutdown();
    if (n->lib)
        dlclose(n->lib);
    free(n);
}
