/*
 * noise.h — what else was happening on the machine while a configuration
 * was measured.
 *
 * Why this file exists: a slow batch is either the model or the machine.
 * Around every measured slice the sweep takes a mark before and after and
 * adds the difference into the configuration's bb_noise: CPU time stolen
 * by the hypervisor (/proc/stat "steal"), CPU time other processes used
 * (all busy time in /proc/stat minus this process's own, from
 * /proc/self/stat), the load average, the CPU clock where the kernel shows
 * it, and on a GPU the SM clock and NVML's throttle reasons. The report
 * names configurations that were disturbed beyond a threshold, so a
 * surprising number comes with its likely cause.
 *
 * Everything is read from a proc root (normally "/proc", and "/sys" for
 * cpufreq) that tests point at a fake tree. A value that cannot be read
 * is marked unavailable, never guessed.
 *
 * Use, once per sweep:
 *     bb_noise_src src = {.gpu = 1, .gpu_pci_bus_id = pci};
 *     bb_noise_src_open(&src);           // NVML, when src.gpu; may fail
 *     per configuration: bb_noise_init(&n); per slice:
 *         bb_noise_mark_now(&src, &a); ...measured slice...; bb_noise_mark_now(&src, &b);
 *         bb_noise_add(&src, &a, &b, &n);
 *     then bb_noise_to_json(&n) into the result file;
 *     bb_noise_src_close(&src);
 *
 * Definitions (all CPU times in seconds, from USER_HZ ticks):
 *   busy  = user + nice + system + irq + softirq + steal   (the "cpu" line)
 *   self  = utime + stime of /proc/self/stat (all of this process's threads)
 *   other = busy delta - steal delta - self delta, clamped at 0, per slice
 * A slice whose counters went backwards, or whose marks lack a counter,
 * adds nothing to steal/other and is not in the fractions' denominator.
 */
#ifndef BB_NOISE_H
#define BB_NOISE_H

#include <cjson/cJSON.h>

/* Thresholds above which the report names a configuration. */
#define BB_NOISE_STEAL_MAX 0.05 /* steal / (wall x cores) */
#define BB_NOISE_OTHER_MAX 0.10 /* other processes' CPU time / (wall x cores) */

/* NVML clocksThrottleReasons (clocksEventReasons) bits. Recorded: all but
 * GPU idle (0x1) and the applications-clocks setting (0x2); a
 * configuration is disturbed by SW power cap 0x4, HW slowdown 0x8, SW
 * thermal 0x20, HW thermal 0x40 and HW power brake 0x80 (not by sync
 * boost 0x10 or display clocks 0x100). */
#define BB_NOISE_GPU_RECORDED 0x1FCULL
#define BB_NOISE_GPU_DISTURBING 0xECULL

/* NVML, loaded and bound to one device by bb_noise_src_open (opaque). */
typedef struct bb_noise_nvml bb_noise_nvml;

typedef struct {
    const char *proc_root;      /* "/proc" when NULL */
    const char *sys_root;       /* "/sys" when NULL */
    int gpu;                    /* also sample the GPU (NVML, when loadable) */
    const char *gpu_pci_bus_id; /* the GPU to watch; NULL or "": NVML's device 0 */
    const char *nvml_lib;       /* NULL: "libnvidia-ml.so.1" (tests name another) */
    /* Set by bb_noise_src_open: */
    bb_noise_nvml *nvml;        /* NULL: no GPU sampling */
    char gpu_why[128];          /* why nvml is NULL although gpu was asked for */
} bb_noise_src;

/* Opens NVML (dlopen, nvmlInit, the device by PCI bus id or index 0) when
 * src->gpu; once per sweep, not per mark. src->nvml must be NULL (a src
 * zero-initialized as above) or from an earlier open, which this closes.
 * 0 when the GPU can be sampled or was not asked for; -1 when it cannot
 * (src->gpu_why says why; marks and bb_noise_add still work, the GPU part
 * stays unavailable). */
int bb_noise_src_open(bb_noise_src *src);
/* Shuts NVML down and unloads it; safe on a src never opened or closed twice. */
void bb_noise_src_close(bb_noise_src *src);

/* A snapshot taken before or after a measured slice. */
typedef struct {
    double wall_s;                /* CLOCK_MONOTONIC (util/clock.h) */
    double total_busy_s, steal_s; /* machine-wide, from /proc/stat (all CPUs) */
    double self_cpu_s;            /* this process, utime + stime */
    int have_stat, have_self;
    int cores;                    /* CPUs in /proc/stat ("cpuN" lines) */
    char why[128];                /* what could not be read ("" when all was) */
} bb_noise_mark;

/* Accumulated over all slices of one configuration. */
typedef struct {
    int slices;
    double wall_s;          /* sum of slice wall times */
    double steal_s;         /* CPU seconds stolen, all CPUs */
    double other_cpu_s;     /* CPU seconds used by other processes, all CPUs */
    int have_cpu;           /* /proc/stat and /proc/self/stat were readable (in >= 1 slice) */
    int cpu_slices;         /* slices whose CPU counters were usable */
    double cpu_wall_s;      /* their wall time: the fractions' denominator */
    int cores;
    double load1_min, load1_max; /* 1-minute load average, read once per slice by bb_noise_add; <0: unavailable */
    double cpu_mhz_sum;     /* sum of samples of the mean CPU clock, MHz */
    int cpu_mhz_n;          /* samples; 0: unavailable */
    double gpu_sm_mhz_min, gpu_sm_mhz_max; /* NVML; 0: unavailable */
    unsigned long long gpu_throttle_reasons; /* OR of NVML's clocksThrottleReasons seen (& BB_NOISE_GPU_RECORDED) */
    int have_gpu;           /* at least one GPU sample was read */
    char why_unavailable[160]; /* what could not be read, for the result file ("" when all was) */
} bb_noise;

void bb_noise_init(bb_noise *n);

/* Takes a snapshot (reads /proc/stat, /proc/self/stat). Here and in
 * bb_noise_add, src may be NULL: /proc and /sys, no GPU. */
void bb_noise_mark_now(const bb_noise_src *src, bb_noise_mark *m);

/* Adds the slice between a and b (taken by bb_noise_mark_now) to n, and
 * samples load average, CPU clock and (src->gpu) the GPU's state. */
void bb_noise_add(const bb_noise_src *src, const bb_noise_mark *a, const bb_noise_mark *b, bb_noise *n);

/* Adds one GPU reading (what bb_noise_add does with NVML's): sm_mhz 0 is
 * "not read"; the ignored throttle bits are dropped. */
void bb_noise_add_gpu_sample(bb_noise *n, unsigned sm_mhz, unsigned long long throttle_reasons);

/* Fractions the thresholds apply to; -1 when unavailable. */
double bb_noise_steal_frac(const bb_noise *n);  /* steal_s / (cpu_wall_s x cores) */
double bb_noise_other_frac(const bb_noise *n);  /* other_cpu_s / (cpu_wall_s x cores) */

/* Was the configuration disturbed beyond the thresholds (or the GPU
 * throttled by a BB_NOISE_GPU_DISTURBING reason)? why (may be NULL)
 * receives e.g. "steal 7.2%" when it was, "" when not. */
int bb_noise_disturbed(const bb_noise *n, char *why, unsigned long len);

/* The result file's "noise" object (docs/result-schema.md); NULL on OOM. */
cJSON *bb_noise_to_json(const bb_noise *n);

#endif
