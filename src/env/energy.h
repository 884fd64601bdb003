/*
 * energy.h — the energy a measured region used, from the hardware's own
 * counters: RAPL through Linux powercap for the CPU packages, NVML's total
 * energy counter for an NVIDIA GPU.
 *
 * Why this file exists: items per second says how fast; items per joule
 * says at what cost, and only a counter can say that honestly. Where no
 * counter can be read (no RAPL, RAPL readable only by root — the usual case
 * since Linux 5.10 and CVE-2020-8694 — no NVML, a GPU before Volta), the
 * result says "unavailable" and why, naming the file or call that failed;
 * it never reports an estimate.
 *
 * Use, once per sweep (s need not be initialised):
 *     bb_energy_src s;
 *     bb_energy_open(&s, "cpu", NULL);      // or "cuda", gpu->pci_bus_id
 *     per measured region:
 *         bb_energy_begin(&s);
 *         for each batch: run it; bb_energy_sample(&s);
 *         bb_energy e; bb_energy_end(&s, &e);
 *         bb_energy_json(&e, items) into the result file;
 *     bb_energy_close(&s);                  // before any second open
 * Every call is safe on a source that could not be opened (or failed in
 * the region): bb_energy_end then gives available = 0 with the reason.
 *
 * CPU (device "cpu"): the powercap root is /sys/class/powercap, or the
 * environment variable BATCHBENCH_POWERCAP_ROOT (read by bb_energy_open
 * only; tests point it at a fake tree). Counted: the top-level zones
 * "intel-rapl:N" and "amd-rapl:N" whose name is "package-N" — AMD Zen
 * parts appear as intel-rapl:N under the same driver. Not counted: their
 * sub-zones "intel-rapl:N:M" (core, uncore, dram: parts of, or beside, a
 * package; counting them would count twice), "intel-rapl-mmio:N" (the same
 * package counter read through MMIO) and a top-level "psys" zone (the whole
 * platform, which includes the packages). All package zones must be
 * readable, or none is used: a partial sum is not the CPU's energy.
 *
 * RAPL wraps: energy_uj counts microjoules and wraps to 0 after
 * max_energy_range_uj. A decrease between two reads is taken as one wrap
 * (max_energy_range_uj is added; exact to one counter unit, ~15-61 uJ),
 * so the counters must be read at least once per range: that is what
 * bb_energy_sample is for. Typical ranges are 262 kJ (Intel, 2^32 units of
 * 61 uJ: 22 minutes at 200 W) and 65.5 kJ (AMD Zen, 2^32 units of 15.3 uJ:
 * 5.5 minutes at 200 W, under 3 at 400 W); the range a zone reports is the
 * one used, however small. Call bb_energy_sample after every batch, and at
 * least every 10 seconds. When two reads of a zone are further apart than
 * its range lasts at BB_ENERGY_RAPL_MAX_W, a wrap may have been missed and
 * the region is reported unavailable rather than possibly short by a range.
 *
 * GPU (device "cuda"): NVML, loaded with dlopen (never linked), the device
 * by PCI bus id or NVML's index 0 (which is not CUDA's device 0 under
 * CUDA_VISIBLE_DEVICES: pass the PCI bus id). Energy is
 * nvmlDeviceGetTotalEnergyConsumption (mJ since the driver loaded, Volta
 * and newer; 64-bit, no wrap) at begin and end; power for the peak is
 * nvmlDeviceGetPowerUsage (mW) in bb_energy_sample and at end. The driver
 * updates both at its own rate, not continuously: measure regions of
 * seconds, not milliseconds. Only the GPU is counted, not the host CPU.
 *
 * Power: mean_power_w = joules / seconds. peak_power_w is the largest of
 * n_samples power readings: for RAPL the energy over a window divided by
 * its length, for NVML the driver's power reading. A window or reading is
 * taken at most every BB_ENERGY_MIN_WINDOW_S (in bb_energy_sample and at
 * bb_energy_end), so that millisecond batches do not give a noise-sized
 * window; peak_power_w is NAN when n_samples < 2 (one window is the mean).
 */
#ifndef BB_ENERGY_H
#define BB_ENERGY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#define BB_ENERGY_MIN_WINDOW_S 0.1 /* shortest power window / gap between power readings */
#define BB_ENERGY_RAPL_MAX_W 1000.0 /* more than any one package draws: bounds the time a range lasts */

enum { BB_ENERGY_MAX_ZONES = 16 };

/* One RAPL package zone. */
typedef struct {
    int index;              /* N of intel-rapl:N */
    char dir[32];           /* "intel-rapl:0" */
    char name[32];          /* "package-0" */
    uint64_t range_uj;      /* max_energy_range_uj */
    uint64_t last_uj;       /* energy_uj at the last read */
} bb_energy_zone;

/* NVML, loaded and bound to one device (opaque; energy.c). */
typedef struct bb_energy_nvml bb_energy_nvml;

/* What can be read on this machine, and the region being measured. All
 * fields are set by bb_energy_open and the calls after it. */
typedef struct {
    int kind;               /* 0: nothing readable; 1: RAPL; 2: NVML */
    char why[192];          /* why not (kind 0), or why the current region failed */
    int failed;             /* a read in the current region failed: why says which */
    char root[256];         /* the powercap root (RAPL) */
    bb_energy_zone zones[BB_ENERGY_MAX_ZONES];
    int n_zones;
    bb_energy_nvml *nvml;   /* kind 2 */
    /* The region (bb_energy_begin .. bb_energy_end): */
    int begun;
    double t_begin, t_read; /* wall clock at begin, at the last counter read */
    uint64_t total_uj;      /* RAPL: energy since begin, all zones */
    unsigned long long begin_mj; /* NVML: the counter at begin */
    double t_window;        /* start of the current power window / time of the last power reading */
    uint64_t window_uj;     /* RAPL: energy in the current window */
    double peak_w;
    int n_samples;
} bb_energy_src;

/* The energy of one region. */
typedef struct {
    int available;          /* 1: joules is a measurement */
    char source[128];       /* "rapl:package-0,package-1" or "nvml" (also set when unavailable, if known) */
    char why_unavailable[192]; /* when !available: the file or call that failed, and how */
    double joules;          /* energy over the region; 0 when unavailable */
    double seconds;         /* wall time of the region */
    double mean_power_w;    /* joules / seconds; NAN when unavailable or seconds is 0 */
    double peak_power_w;    /* largest power reading; NAN when n_samples < 2 */
    int n_samples;          /* power readings peak_power_w is the largest of */
} bb_energy;

/* Finds the counters of device "cpu" (RAPL) or "cuda" (NVML; pci_bus_id
 * may be NULL or "": NVML's device 0) and reads them once. 0 when they can
 * be read; -1 when not (s->why says why; the other calls still work and
 * report the region unavailable). */
int bb_energy_open(bb_energy_src *s, const char *device, const char *pci_bus_id);
/* The same with another NVML library than "libnvidia-ml.so.1" (tests). */
int bb_energy_open_lib(bb_energy_src *s, const char *device, const char *pci_bus_id, const char *nvml_lib);

/* Starts a region: reads the counters, records the time. */
void bb_energy_begin(bb_energy_src *s);
/* Between batches: reads the counters (RAPL: accumulates, catching
 * wraps) and, once per BB_ENERGY_MIN_WINDOW_S, a power reading. */
void bb_energy_sample(bb_energy_src *s);
/* Ends the region: reads the counters and fills out. */
void bb_energy_end(bb_energy_src *s, bb_energy *out);
/* Unloads NVML; safe on a source whose open failed, and twice. */
void bb_energy_close(bb_energy_src *s);

/* begin / sample / end at a given time now_s (bb_now_s's clock) instead of
 * the current one, for tests that need known window lengths. */
void bb_energy_begin_at(bb_energy_src *s, double now_s);
void bb_energy_sample_at(bb_energy_src *s, double now_s);
void bb_energy_end_at(bb_energy_src *s, double now_s, bb_energy *out);

/* The result file's energy object, for a region that processed items:
 * {"available": true, "source", "joules", "seconds", "joules_per_item",
 * "items_per_joule", "mean_power_w", "peak_power_w", "samples"} (a value
 * that cannot be computed, e.g. per item for items <= 0, is null) or
 * {"available": false, "why"}. NULL on OOM. */
cJSON *bb_energy_json(const bb_energy *e, int64_t items);

#endif
