/*
 * noise.c — reads what else the machine was doing around each measured
 * slice (bench/noise.h): /proc/stat and /proc/self/stat at the marks, the
 * load average, the CPU clock (cpufreq, else /proc/cpuinfo) and, through
 * NVML opened with dlopen, the GPU's SM clock and throttle reasons.
 *
 * Why this file exists: a slow or noisy configuration is either the model
 * or the machine; this gathers the machine's side, from files a test can
 * fake, and marks anything it could not read as unavailable instead of
 * guessing. NVML is loaded, not linked, so batchbench runs (and this file
 * builds) where there is no NVIDIA driver.
 */
#include "env/noise.h"
#include "env/nvml.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/json_out.h"
#include "util/clock.h"

enum { PATH_LEN = 1024 };

/* ---- small helpers ---------------------------------------------------- */

/* Appends s to buf (of len bytes), as much as fits; always terminated. */
static void append(char *buf, size_t len, const char *s)
{
    if (!buf || len == 0)
        return;
    size_t used = strnlen(buf, len - 1), room = len - 1 - used, k = strlen(s);
    if (k > room)
        k = room;
    memcpy(buf + used, s, k);
    buf[used + k] = '\0';
}

/* Adds reason to n->why_unavailable ("; " between), once. */
static void note(bb_noise *n, const char *reason)
{
    if (!reason || !reason[0] || strstr(n->why_unavailable, reason))
        return;
    if (n->why_unavailable[0])
        append(n->why_unavailable, sizeof n->why_unavailable, "; ");
    append(n->why_unavailable, sizeof n->why_unavailable, reason);
}

static const char *proc_root(const bb_noise_src *src)
{
    return src && src->proc_root ? src->proc_root : "/proc";
}

static const char *sys_root(const bb_noise_src *src)
{
    return src && src->sys_root ? src->sys_root : "/sys";
}

/* "<root>/<rel>" into out; -1 when it does not fit. */
static int path_of(char *out, size_t len, const char *root, const char *rel)
{
    int k = snprintf(out, len, "%s/%s", root, rel);
    return k < 0 || (size_t)k >= len ? -1 : 0;
}

/* Opens <root>/<rel> for reading; on failure why receives "/proc/<rel>:
 * <error>" (files are named by their usual path, whatever the root, to
 * keep the reasons short). */
static FILE *open_in(const char *root, const char *rel, char *why, size_t why_len)
{
    char p[PATH_LEN];
    int fits = path_of(p, sizeof p, root, rel) == 0;
    FILE *f = fits ? fopen(p, "r") : NULL;
    if (!f) {
        const char *e = fits ? strerror(errno) : "path too long";
        why[0] = '\0';
        append(why, why_len, "/proc/");
        append(why, why_len, rel);
        append(why, why_len, ": ");
        append(why, why_len, e);
    }
    return f;
}

/* Parses an unsigned decimal at *p (after blanks); advances *p. 0 or -1. */
static int next_ull(const char **p, unsigned long long *v)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    *p = end;
    return 0;
}

/* Only blanks (and a newline) left at s? */
static int rest_blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    return *s == '\0';
}

/* USER_HZ, or 0 when sysconf cannot say. */
static double ticks_per_s(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? (double)t : 0.0;
}

/* ---- /proc/stat and /proc/self/stat ----------------------------------- */

/* Parses the aggregate "cpu" line into m's busy and steal; 0 or -1. */
static int parse_cpu_line(const char *line, double hz, bb_noise_mark *m)
{
    if (strncmp(line, "cpu", 3) != 0 || (line[3] != ' ' && line[3] != '\t'))
        return -1;
    unsigned long long v[10] = {0};
    const char *p = line + 3;
    int k = 0;
    while (k < 10 && next_ull(&p, &v[k]) == 0)
        k++;
    if (k < 8 || !rest_blank(p)) /* user .. steal at least; nothing odd after */
        return -1;
    m->total_busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
    m->steal_s = (double)v[7] / hz;
    return 0;
}

/* Is line a per-CPU line ("cpuN ...")? */
static int is_cpu_n(const char *line)
{
    return strncmp(line, "cpu", 3) == 0 && isdigit((unsigned char)line[3]);
}

/* Reads <proc>/stat's "cpu" line and counts its "cpuN" lines. */
static void read_stat(const bb_noise_src *src, double hz, bb_noise_mark *m)
{
    char why[sizeof m->why] = "";
    FILE *f = open_in(proc_root(src), "stat", why, sizeof why);
    if (!f) {
        append(m->why, sizeof m->why, why);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    int ok = getline(&line, &cap, f) > 0 && parse_cpu_line(line, hz, m) == 0;
    int cores = 0;
    while (ok && getline(&line, &cap, f) > 0 && is_cpu_n(line))
        cores++;
    free(line);
    fclose(f);
    if (!ok) {
        append(m->why, sizeof m->why, "/proc/stat: unreadable or malformed \"cpu\" line");
        return;
    }
    m->cores = cores;
    m->have_stat = 1;
}

/* Skips n blank-separated fields at *p; 0, or -1 when the line ends first. */
static int skip_fields(const char **p, int n)
{
    const char *s = *p;
    for (int i = 0; i < n; i++) {
        while (*s == ' ')
            s++;
        if (!*s || *s == '\n')
            return -1;
        while (*s && *s != ' ' && *s != '\n')
            s++;
    }
    *p = s;
    return 0;
}

/* utime + stime (fields 14, 15) from a /proc/<pid>/stat line, in ticks.
 * Field 2 is "(comm)", which may hold blanks and ')': fields are counted
 * from after the last ')'. 0 or -1. */
static int parse_self_line(const char *line, unsigned long long *ticks)
{
    const char *p = strrchr(line, ')');
    unsigned long long ut, st;
    if (!p)
        return -1;
    p++;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt(13) */
    if (skip_fields(&p, 11) != 0 || next_ull(&p, &ut) != 0 || (*p != ' ' && *p != '\t') || next_ull(&p, &st) != 0)
        return -1;
    *ticks = ut + st;
    return 0;
}

static void read_self(const bb_noise_src *src, double hz, bb_noise_mark *m)
{
    char why[sizeof m->why] = "";
    FILE *f = open_in(proc_root(src), "self/stat", why, sizeof why);
    if (!f) {
        append(m->why, sizeof m->why, m->why[0] ? "; " : "");
        append(m->why, sizeof m->why, why);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned long long ticks = 0;
    int ok = getline(&line, &cap, f) > 0 && parse_self_line(line, &ticks) == 0;
    free(line);
    fclose(f);
    if (!ok) {
        append(m->why, sizeof m->why, m->why[0] ? "; " : "");
        append(m->why, sizeof m->why, "/proc/self/stat: unreadable or malformed");
        return;
    }
    m->self_cpu_s = (double)ticks / hz;
    m->have_self = 1;
}

void bb_noise_mark_now(const bb_noise_src *src, bb_noise_mark *m)
{
    memset(m, 0, sizeof *m);
    m->wall_s = bb_now_s();
    double hz = ticks_per_s();
    if (hz <= 0) {
        append(m->why, sizeof m->why, "sysconf(_SC_CLK_TCK) failed");
        return;
    }
    read_stat(src, hz, m);
    read_self(src, hz, m);
}

/* ---- accumulating a slice --------------------------------------------- */

void bb_noise_init(bb_noise *n)
{
    memset(n, 0, sizeof *n);
    n->load1_min = n->load1_max = -1.0;
}

/* Adds the slice's steal and other processes' CPU time, when both marks
 * have the counters and none went backwards. */
static void add_cpu(const bb_noise_mark *a, const bb_noise_mark *b, double wall, bb_noise *n)
{
    if (!a->have_stat || !a->have_self || !b->have_stat || !b->have_self) {
        note(n, a->why[0] ? a->why : b->why[0] ? b->why : "CPU counters not read");
        return;
    }
    double busy = b->total_busy_s - a->total_busy_s, steal = b->steal_s - a->steal_s;
    double self = b->self_cpu_s - a->self_cpu_s;
    if (!(busy >= 0) || !(steal >= 0) || !(self >= 0)) {
        note(n, "CPU counters went backwards (slice not counted)");
        return;
    }
    double other = busy - steal - self;
    n->steal_s += steal;
    n->other_cpu_s += other > 0 ? other : 0.0;
    n->cpu_wall_s += wall;
    n->cpu_slices++;
    n->have_cpu = 1;
    if (b->cores > 0)
        n->cores = b->cores;
}

/* Reads the first number of <root>/<rel> (e.g. loadavg, scaling_cur_freq). */
static int read_first_number(const char *root, const char *rel, double *v)
{
    char why[8];
    FILE *f = open_in(root, rel, why, sizeof why);
    if (!f)
        return -1;
    int ok = fscanf(f, "%lf", v) == 1 && isfinite(*v) && *v >= 0;
    fclose(f);
    return ok ? 0 : -1;
}

static void sample_load(const bb_noise_src *src, bb_noise *n)
{
    double l;
    if (read_first_number(proc_root(src), "loadavg", &l) != 0) {
        note(n, "/proc/loadavg unreadable");
        return;
    }
    if (n->load1_min < 0 || l < n->load1_min)
        n->load1_min = l;
    if (n->load1_max < 0 || l > n->load1_max)
        n->load1_max = l;
}

/* A "cpuN" directory name? */
static int is_cpu_dir(const char *name)
{
    if (strncmp(name, "cpu", 3) != 0 || !name[3])
        return 0;
    for (const char *s = name + 3; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Mean of <sys>/devices/system/cpu/cpuN/cpufreq/scaling_cur_freq, MHz. */
static int mhz_cpufreq(const char *sys, double *mhz)
{
    char dir[PATH_LEN], rel[300];
    if (path_of(dir, sizeof dir, sys, "devices/system/cpu") != 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    double sum = 0, khz;
    int k = 0;
    for (struct dirent *e; (e = readdir(d));) {
        int w = snprintf(rel, sizeof rel, "%s/cpufreq/scaling_cur_freq", e->d_name);
        if (is_cpu_dir(e->d_name) && w > 0 && (size_t)w < sizeof rel && read_first_number(dir, rel, &khz) == 0 &&
            khz > 0)
            sum += khz, k++;
    }
    closedir(d);
    if (k == 0)
        return -1;
    *mhz = sum / k / 1000.0;
    return 0;
}

/* Mean of <proc>/cpuinfo's "cpu MHz : x" lines. */
static int mhz_cpuinfo(const char *proc, double *mhz)
{
    char why[8];
    FILE *f = open_in(proc, "cpuinfo", why, sizeof why);
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    double sum = 0;
    int k = 0;
    while (getline(&line, &cap, f) > 0) {
        const char *colon = strchr(line, ':');
        char *end = NULL;
        double v = colon && strncmp(line, "cpu MHz", 7) == 0 ? strtod(colon + 1, &end) : 0;
        if (v > 0 && isfinite(v) && end != colon + 1)
            sum += v, k++;
    }
    free(line);
    fclose(f);
    if (k == 0)
        return -1;
    *mhz = sum / k;
    return 0;
}

static void sample_mhz(const bb_noise_src *src, bb_noise *n)
{
    double mhz;
    if (mhz_cpufreq(sys_root(src), &mhz) != 0 && mhz_cpuinfo(proc_root(src), &mhz) != 0) {
        note(n, "no CPU clock (cpufreq, /proc/cpuinfo)");
        return;
    }
    n->cpu_mhz_sum += mhz;
    n->cpu_mhz_n++;
}

/* ---- NVML ------------------------------------------------------------- */

enum { NVML_CLOCK_SM_ = 1 };

/* NVML (env/nvml.h) and the two functions noise sensing reads. */
struct bb_noise_nvml {
    bb_nvml *nvml;
    int (*clock)(bb_nvml_device dev, int type, unsigned int *mhz);
    int (*reasons)(bb_nvml_device dev, unsigned long long *reasons);
};

/* NVML bound to the GPU, and its clock and throttle-reason functions; 0 or
 * -1 (why says why, "GPU: ..."). */
static int nvml_load(bb_noise_nvml *g, const char *lib, const char *pci, char *why, size_t len)
{
    char e[160] = "";
    int miss = 0;
    if (!(g->nvml = bb_nvml_open(lib, pci, e, sizeof e)))
        return snprintf(why, len, "GPU: %.120s", e), -1;
    g->clock = (int (*)(bb_nvml_device, int, unsigned int *))bb_nvml_sym(g->nvml, "nvmlDeviceGetClockInfo", &miss, e,
                                                                        sizeof e);
    /* Renamed "clocks event reasons" in CUDA 12.2's NVML; the old name stays. */
    void *r = dlsym(g->nvml->lib, "nvmlDeviceGetCurrentClocksEventReasons");
    g->reasons = (int (*)(bb_nvml_device, unsigned long long *))(
        r ? r : bb_nvml_sym(g->nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", &miss, e, sizeof e));
    if (miss)
        snprintf(why, len, "GPU: %.120s", e);
    return miss ? -1 : 0;
}

static void nvml_free(bb_noise_nvml *g)
{
    if (g)
        bb_nvml_close(g->nvml);
    free(g);
}

int bb_noise_src_open(bb_noise_src *src)
{
    bb_noise_src_close(src); /* a second open replaces the first */
    src->gpu_why[0] = '\0';
    if (!src->gpu)
        return 0;
    bb_noise_nvml *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(src->gpu_why, sizeof src->gpu_why, "GPU: out of memory");
        return -1;
    }
    if (nvml_load(g, src->nvml_lib, src->gpu_pci_bus_id, src->gpu_why, sizeof src->gpu_why) != 0) {
        nvml_free(g);
        return -1;
    }
    src->nvml = g;
    return 0;
}

void bb_noise_src_close(bb_noise_src *src)
{
    nvml_free(src->nvml);
    src->nvml = NULL;
}

void bb_noise_add_gpu_sample(bb_noise *n, unsigned sm_mhz, unsigned long long throttle_reasons)
{
    n->have_gpu = 1;
    n->gpu_throttle_reasons |= throttle_reasons & BB_NOISE_GPU_RECORDED;
    if (sm_mhz == 0)
        return;
    double mhz = (double)sm_mhz;
    if (n->gpu_sm_mhz_min <= 0 || mhz < n->gpu_sm_mhz_min)
        n->gpu_sm_mhz_min = mhz;
    if (mhz > n->gpu_sm_mhz_max)
        n->gpu_sm_mhz_max = mhz;
}

/* The SM clock and throttle reasons now; what NVML cannot say is noted. */
static void sample_gpu(const bb_noise_src *src, bb_noise *n)
{
    const bb_noise_nvml *g = src->nvml;
    if (!g) {
        note(n, src->gpu_why[0] ? src->gpu_why : "GPU: NVML not opened (bb_noise_src_open)");
        return;
    }
    unsigned int mhz = 0;
    unsigned long long reasons = 0;
    int clock_ok = g->clock(g->nvml->dev, NVML_CLOCK_SM_, &mhz) == BB_NVML_OK && mhz < 1000000;
    int reasons_ok = g->reasons(g->nvml->dev, &reasons) == BB_NVML_OK;
    if (!clock_ok)
        note(n, "GPU: NVML could not read the SM clock"), mhz = 0;
    if (!reasons_ok)
        note(n, "GPU: NVML could not read the throttle reasons"), reasons = 0;
    if (clock_ok || reasons_ok)
        bb_noise_add_gpu_sample(n, mhz, reasons);
}

void bb_noise_add(const bb_noise_src *src, const bb_noise_mark *a, const bb_noise_mark *b, bb_noise *n)
{
    double wall = b->wall_s - a->wall_s;
    if (!(wall >= 0) || !isfinite(wall))
        wall = 0;
    n->slices++;
    n->wall_s += wall;
    add_cpu(a, b, wall, n);
    sample_load(src, n);
    sample_mhz(src, n);
    if (src && src->gpu)
        sample_gpu(src, n);
}

/* ---- fractions, verdict, JSON ----------------------------------------- */

static double cpu_frac(const bb_noise *n, double cpu_s)
{
    if (!n->have_cpu || n->cores <= 0 || !(n->cpu_wall_s > 0))
        return -1.0;
    double f = cpu_s / (n->cpu_wall_s * n->cores);
    return isfinite(f) && f >= 0 ? f : -1.0;
}

double bb_noise_steal_frac(const bb_noise *n)
{
    return cpu_frac(n, n->steal_s);
}

double bb_noise_other_frac(const bb_noise *n)
{
    return cpu_frac(n, n->other_cpu_s);
}

/* NVML's throttle reasons this file names, in bit order. */
static const struct {
    unsigned long long bit;
    const char *name;
} k_reasons[] = {
    {0x4, "sw_power_cap"}, {0x8, "hw_slowdown"},     {0x10, "sync_boost"},      {0x20, "sw_thermal"},
    {0x40, "hw_thermal"},  {0x80, "hw_power_brake"}, {0x100, "display_clocks"},
};
enum { N_REASONS = sizeof k_reasons / sizeof k_reasons[0] };

/* Appends "<label> <pct>%" to why (", " between). */
static void why_pct(char *why, unsigned long len, const char *label, double frac)
{
    char b[64];
    snprintf(b, sizeof b, "%s%s %.1f%%", why[0] ? ", " : "", label, 100.0 * frac);
    append(why, len, b);
}

/* Appends "GPU throttled: a, b" for the reasons in mask. */
static void why_gpu(char *why, unsigned long len, unsigned long long mask)
{
    append(why, len, why[0] ? ", GPU throttled:" : "GPU throttled:");
    const char *sep = " ";
    for (int i = 0; i < N_REASONS; i++)
        if (mask & k_reasons[i].bit) {
            append(why, len, sep);
            append(why, len, k_reasons[i].name);
            sep = ", ";
        }
}

int bb_noise_disturbed(const bb_noise *n, char *why, unsigned long len)
{
    char local[160] = "";
    double steal = bb_noise_steal_frac(n), other = bb_noise_other_frac(n);
    unsigned long long gpu = n->have_gpu ? n->gpu_throttle_reasons & BB_NOISE_GPU_DISTURBING : 0;
    if (steal > BB_NOISE_STEAL_MAX)
        why_pct(local, sizeof local, "steal", steal);
    if (other > BB_NOISE_OTHER_MAX)
        why_pct(local, sizeof local, "other processes", other);
    if (gpu)
        why_gpu(local, sizeof local, gpu);
    if (why && len > 0) {
        why[0] = '\0';
        append(why, len, local);
    }
    return local[0] != '\0';
}

/* key: v when have and finite, else null. */
static int num_or_null(cJSON *o, const char *key, double v, int have)
{
    if (have && isfinite(v))
        return bb_json_num(o, key, v);
    return cJSON_AddNullToObject(o, key) != NULL;
}

static cJSON *gpu_json(const bb_noise *n)
{
    if (!n->have_gpu)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject(), *names = cJSON_CreateArray();
    int ok = o && names && cJSON_AddItemToObject(o, "throttle_names", names);
    if (!ok)
        cJSON_Delete(names);
    ok = ok && num_or_null(o, "sm_mhz_min", n->gpu_sm_mhz_min, n->gpu_sm_mhz_min > 0) &&
         num_or_null(o, "sm_mhz_max", n->gpu_sm_mhz_max, n->gpu_sm_mhz_max > 0) &&
         bb_json_u64(o, "throttle_reasons", n->gpu_throttle_reasons);
    for (int i = 0; ok && i < N_REASONS; i++)
        if (n->gpu_throttle_reasons & k_reasons[i].bit)
            ok = cJSON_AddItemToArray(names, cJSON_CreateString(k_reasons[i].name)); /* false on OOM */
    return bb_json_done(o, ok);
}

/* The CPU-side members, in the schema's order. */
static int cpu_json(cJSON *o, const bb_noise *n)
{
    int c = n->have_cpu;
    double steal = bb_noise_steal_frac(n), other = bb_noise_other_frac(n);
    return bb_json_int(o, "slices", n->slices) && bb_json_int(o, "cpu_slices", n->cpu_slices) &&
           num_or_null(o, "wall_s", n->wall_s, 1) && num_or_null(o, "steal_s", n->steal_s, c) &&
           num_or_null(o, "steal_frac", steal, steal >= 0) && num_or_null(o, "other_cpu_s", n->other_cpu_s, c) &&
           num_or_null(o, "other_frac", other, other >= 0) &&
           (n->cores > 0 ? bb_json_int(o, "cores", n->cores) : cJSON_AddNullToObject(o, "cores") != NULL) &&
           num_or_null(o, "load1_min", n->load1_min, n->load1_min >= 0) &&
           num_or_null(o, "load1_max", n->load1_max, n->load1_max >= 0) &&
           num_or_null(o, "cpu_mhz_mean", n->cpu_mhz_n > 0 ? n->cpu_mhz_sum / n->cpu_mhz_n : 0, n->cpu_mhz_n > 0);
}

cJSON *bb_noise_to_json(const bb_noise *n)
{
    char why[160];
    int disturbed = bb_noise_disturbed(n, why, sizeof why);
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddBoolToObject(o, "available", n->have_cpu) &&
             bb_json_str(o, "why_unavailable", n->why_unavailable) && cpu_json(o, n) &&
             bb_json_obj(o, "gpu", gpu_json(n)) && cJSON_AddBoolToObject(o, "disturbed", disturbed) &&
             bb_json_str(o, "disturbed_why", why);
    return bb_json_done(o, ok);
}
