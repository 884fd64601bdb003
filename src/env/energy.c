/*
 * energy.c — energy counters around a measured region (env/energy.h):
 * RAPL package zones read from Linux powercap files, and NVML's total
 * energy counter loaded with dlopen.
 *
 * Why this file exists: a result's items per joule must come from a
 * counter, over exactly the measured region, with the counter's wraps
 * accounted for; when a counter cannot be read the result must say which
 * file or call failed instead of carrying a number. The files are read
 * from a root a test can fake, and NVML is loaded, not linked, so
 * batchbench builds and runs where there is no NVIDIA driver.
 */
#include "env/energy.h"
#include "env/nvml.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/json_out.h"

enum { KIND_NONE = 0, KIND_RAPL = 1, KIND_NVML = 2, PATH_LEN = 512 };

/* ---- small helpers ---------------------------------------------------- */

/* Appends s to buf (of len bytes), as much as fits; always terminated. */
static void append(char *buf, size_t len, const char *s)
{
    size_t used = strnlen(buf, len - 1), room = len - 1 - used, k = strlen(s);
    if (k > room)
        k = room;
    memcpy(buf + used, s, k);
    buf[used + k] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
/* Sets s->why (cut to fit) and marks the source or the region failed. */
static void fail(bb_energy_src *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(s->why, sizeof s->why, fmt, ap) < 0)
        snprintf(s->why, sizeof s->why, "energy: could not format the reason");
    va_end(ap);
    s->failed = 1;
}

/* Reads the small text file path into buf (terminated, trailing blanks
 * and newline removed); 0, or -1 with errno set. A directory fails with
 * EISDIR, an empty file with ENODATA. */
static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    int err = errno;
    close(fd);
    if (n < 0) {
        errno = err;
        return -1;
    }
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (n == 0) {
        errno = ENODATA;
        return -1;
    }
    return 0;
}

/* The whole of buf as an unsigned decimal; 0 or -1. */
static int parse_u64(const char *buf, uint64_t *v)
{
    if (!isdigit((unsigned char)buf[0]))
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || *end)
        return -1;
    *v = (uint64_t)x;
    return 0;
}

/* "<root>/<dir>/<file>" */
static void zone_path(const bb_energy_src *s, const bb_energy_zone *z, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s", s->root, z->dir, file);
}

/* Reads <zone>/<file> as a number; on failure s->why names the path. */
static int read_zone_u64(bb_energy_src *s, const bb_energy_zone *z, const char *file, uint64_t *v)
{
    char p[PATH_LEN], buf[64];
    zone_path(s, z, file, p, sizeof p);
    if (read_text(p, buf, sizeof buf) != 0) {
        int e = errno;
        fail(s, "cannot read %s: %s%s", p, strerror(e),
             e == EACCES ? " (RAPL energy is root-only since Linux 5.10, CVE-2020-8694)" : "");
        return -1;
    }
    if (parse_u64(buf, v) != 0) {
        fail(s, "%s: not a count of microjoules: \"%.24s\"", p, buf);
        return -1;
    }
    return 0;
}

/* ---- RAPL: finding the package zones ----------------------------------- */

/* Is name a top-level package zone folder, "intel-rapl:N" or "amd-rapl:N"
 * (not "intel-rapl:N:M", not "intel-rapl-mmio:N")? *index receives N. */
static int is_zone_dir(const char *name, int *index)
{
    const char *p = strncmp(name, "intel-rapl:", 11) == 0 ? name + 11
                    : strncmp(name, "amd-rapl:", 9) == 0  ? name + 9
                                                          : NULL;
    if (!p || !*p || strlen(p) > 6)
        return 0;
    for (const char *c = p; *c; c++)
        if (!isdigit((unsigned char)*c))
            return 0;
    *index = atoi(p);
    return 1;
}

/* Adds the zone in folder dir when its name is "package-N" (a "psys"
 * zone, the whole platform, is left out); 0, or -1 (s->why). */
static int add_zone(bb_energy_src *s, const char *dir, int index)
{
    bb_energy_zone z = {.index = index};
    char p[PATH_LEN], name[sizeof z.name];
    snprintf(z.dir, sizeof z.dir, "%s", dir);
    zone_path(s, &z, "name", p, sizeof p);
    if (read_text(p, name, sizeof name) != 0) {
        fail(s, "cannot read %s: %s", p, strerror(errno));
        return -1;
    }
    if (strncmp(name, "package-", 8) != 0)
        return 0;
    if (s->n_zones == BB_ENERGY_MAX_ZONES) {
        fail(s, "more than %d RAPL package zones under %s", BB_ENERGY_MAX_ZONES, s->root);
        return -1;
    }
    snprintf(z.name, sizeof z.name, "%s", name);
    s->zones[s->n_zones++] = z;
    return 0;
}

static int by_index(const void *a, const void *b)
{
    const bb_energy_zone *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Lists the package zones under s->root, in index order; 0 or -1. */
static int find_zones(bb_energy_src *s)
{
    DIR *d = opendir(s->root);
    if (!d) {
        fail(s, "no RAPL: cannot open %s: %s", s->root, strerror(errno));
        return -1;
    }
    int rc = 0, index;
    for (struct dirent *e; rc == 0 && (e = readdir(d));)
        if (strlen(e->d_name) < sizeof s->zones[0].dir && is_zone_dir(e->d_name, &index))
            rc = add_zone(s, e->d_name, index);
    closedir(d);
    if (rc == 0 && s->n_zones == 0) {
        fail(s, "no RAPL package zone (intel-rapl:N or amd-rapl:N named package-N) under %s", s->root);
        rc = -1;
    }
    qsort(s->zones, (size_t)s->n_zones, sizeof s->zones[0], by_index);
    return rc;
}

/* Finds the zones and reads each one's range and counter once. */
static int rapl_open(bb_energy_src *s)
{
    const char *root = getenv("BATCHBENCH_POWERCAP_ROOT");
    if (!root || !*root)
        root = "/sys/class/powercap";
    if (strlen(root) >= sizeof s->root) {
        fail(s, "no RAPL: powercap root longer than %zu bytes: %.60s...", sizeof s->root - 1, root);
        return -1;
    }
    snprintf(s->root, sizeof s->root, "%s", root);
    if (find_zones(s) != 0)
        return -1;
    for (int i = 0; i < s->n_zones; i++) {
        bb_energy_zone *z = &s->zones[i];
        if (read_zone_u64(s, z, "max_energy_range_uj", &z->range_uj) != 0 ||
            read_zone_u64(s, z, "energy_uj", &z->last_uj) != 0)
            return -1;
        if (z->range_uj == 0) {
            fail(s, "%s/%s/max_energy_range_uj is 0", s->root, z->dir);
            return -1;
        }
    }
    return 0;
}

/* ---- RAPL: reading -------------------------------------------------- */

/* Energy of zone z since its last read (one wrap allowed); 0 or -1. */
static int zone_delta(bb_energy_src *s, bb_energy_zone *z, double dt, uint64_t *delta)
{
    uint64_t now;
    if (read_zone_u64(s, z, "energy_uj", &now) != 0)
        return -1;
    if (now > z->range_uj) {
        fail(s, "%s/%s/energy_uj reads %llu, above max_energy_range_uj %llu", s->root, z->dir,
             (unsigned long long)now, (unsigned long long)z->range_uj);
        return -1;
    }
    double lasts_s = (double)z->range_uj * 1e-6 / BB_ENERGY_RAPL_MAX_W;
    if (dt > lasts_s) {
        fail(s, "RAPL %s read %.3g s apart, longer than its %.0f J range lasts at %.0f W: a wrap may be missed "
                "(call bb_energy_sample more often)", z->name, dt, (double)z->range_uj * 1e-6,
             BB_ENERGY_RAPL_MAX_W);
        return -1;
    }
    *delta = now >= z->last_uj ? now - z->last_uj : z->range_uj - z->last_uj + now;
    z->last_uj = now;
    return 0;
}

/* Reads every zone at time now, adding to the region and the window. */
static int rapl_read(bb_energy_src *s, double now)
{
    uint64_t sum = 0, d;
    for (int i = 0; i < s->n_zones; i++) {
        if (zone_delta(s, &s->zones[i], now - s->t_read, &d) != 0)
            return -1;
        sum += d;
    }
    s->total_uj += sum;
    s->window_uj += sum;
    s->t_read = now;
    return 0;
}

/* ---- NVML ------------------------------------------------------------- */

/* NVML (env/nvml.h) and the two functions energy reads. */
struct bb_energy_nvml {
    bb_nvml *nvml;
    int (*energy)(bb_nvml_device dev, unsigned long long *mj);
    int (*power)(bb_nvml_device dev, unsigned int *mw);
};

static void nvml_free(bb_energy_nvml *g)
{
    if (g)
        bb_nvml_close(g->nvml);
    free(g);
}

/* NVML bound to the GPU, its energy and power functions, and one read of
 * the energy counter; 0 or -1 (s->why). */
static int nvml_open(bb_energy_src *s, const char *pci, const char *lib)
{
    bb_energy_nvml *g = s->nvml = calloc(1, sizeof *s->nvml);
    char why[192] = "";
    int miss = 0;
    if (g && (g->nvml = bb_nvml_open(lib, pci, why, sizeof why))) {
        g->energy = (int (*)(bb_nvml_device, unsigned long long *))bb_nvml_sym(
            g->nvml, "nvmlDeviceGetTotalEnergyConsumption", &miss, why, sizeof why);
        g->power = (int (*)(bb_nvml_device, unsigned int *))bb_nvml_sym(g->nvml, "nvmlDeviceGetPowerUsage", &miss, why,
                                                                        sizeof why);
    }
    unsigned long long mj;
    int rc = g && g->nvml && !miss ? g->energy(g->nvml->dev, &mj) : -1;
    if (g && g->nvml && !miss && rc != BB_NVML_OK)
        snprintf(why, sizeof why, "NVML: nvmlDeviceGetTotalEnergyConsumption failed: %s (NVML error %d%s)",
                 bb_nvml_error(g->nvml, rc), rc, rc == 3 ? "; needs a Volta or newer GPU" : "");
    if (rc == BB_NVML_OK)
        return 0;
    fail(s, "%s", g ? why : "NVML: out of memory");
    nvml_free(g);
    s->nvml = NULL;
    return -1;
}

/* NVML's energy counter; 0 or -1 (s->why). */
static int nvml_energy(bb_energy_src *s, unsigned long long *mj)
{
    int rc = s->nvml->energy(s->nvml->nvml->dev, mj);
    if (rc != BB_NVML_OK)
        fail(s, "NVML: nvmlDeviceGetTotalEnergyConsumption failed: %s (NVML error %d)", bb_nvml_error(s->nvml->nvml, rc),
             rc);
    return rc == BB_NVML_OK ? 0 : -1;
}

/* ---- the region ------------------------------------------------------- */

int bb_energy_open_lib(bb_energy_src *s, const char *device, const char *pci_bus_id, const char *nvml_lib)
{
    memset(s, 0, sizeof *s);
    int rc;
    if (device && strcmp(device, "cpu") == 0)
        rc = rapl_open(s), s->kind = KIND_RAPL;
    else if (device && strcmp(device, "cuda") == 0)
        rc = nvml_open(s, pci_bus_id, nvml_lib), s->kind = KIND_NVML;
    else
        rc = -1, fail(s, "no energy counter for device \"%.32s\"", device ? device : "(none)");
    if (rc != 0)
        s->kind = KIND_NONE;
    s->failed = 0; /* kind 0 says the source failed; failed is for a region */
    return rc;
}

int bb_energy_open(bb_energy_src *s, const char *device, const char *pci_bus_id)
{
    return bb_energy_open_lib(s, device, pci_bus_id, NULL);
}

void bb_energy_close(bb_energy_src *s)
{
    nvml_free(s->nvml);
    s->nvml = NULL;
    s->kind = KIND_NONE;
    s->begun = 0;
    snprintf(s->why, sizeof s->why, "energy source closed");
}

/* Counts one power reading of w watts. */
static void add_power(bb_energy_src *s, double w)
{
    if (!isfinite(w))
        return;
    if (s->n_samples == 0 || w > s->peak_w)
        s->peak_w = w;
    s->n_samples++;
}

/* Closes the power window (RAPL) or takes a power reading (NVML) when
 * BB_ENERGY_MIN_WINDOW_S has passed since the last. */
static void power_at(bb_energy_src *s, double now)
{
    double dt = now - s->t_window;
    if (!(dt >= BB_ENERGY_MIN_WINDOW_S))
        return;
    unsigned int mw;
    if (s->kind == KIND_RAPL)
        add_power(s, (double)s->window_uj * 1e-6 / dt);
    else if (s->nvml->power(s->nvml->nvml->dev, &mw) == BB_NVML_OK)
        add_power(s, mw * 1e-3); /* a failed reading is left out of the peak */
    s->window_uj = 0;
    s->t_window = now;
}

void bb_energy_begin_at(bb_energy_src *s, double now_s)
{
    if (s->kind == KIND_NONE)
        return;
    s->begun = 1, s->failed = 0, s->why[0] = '\0';
    s->t_begin = s->t_read = s->t_window = now_s;
    s->total_uj = s->window_uj = 0;
    s->peak_w = 0, s->n_samples = 0;
    if (s->kind == KIND_NVML) {
        nvml_energy(s, &s->begin_mj);
        return;
    }
    uint64_t v;
    for (int i = 0; i < s->n_zones && !s->failed; i++)
        if (read_zone_u64(s, &s->zones[i], "energy_uj", &v) == 0)
            s->zones[i].last_uj = v;
}

void bb_energy_begin(bb_energy_src *s)
{
    bb_energy_begin_at(s, bb_now_s());
}

void bb_energy_sample_at(bb_energy_src *s, double now_s)
{
    if (s->kind == KIND_NONE || !s->begun || s->failed)
        return;
    if (s->kind == KIND_RAPL && rapl_read(s, now_s) != 0)
        return;
    power_at(s, now_s);
}

void bb_energy_sample(bb_energy_src *s)
{
    bb_energy_sample_at(s, bb_now_s());
}

/* "rapl:package-0,package-1" or "nvml" */
static void source_name(const bb_energy_src *s, char *out, size_t len)
{
    out[0] = '\0';
    if (s->kind == KIND_NVML)
        append(out, len, "nvml");
    for (int i = 0; s->kind == KIND_RAPL && i < s->n_zones; i++) {
        append(out, len, i ? "," : "rapl:");
        append(out, len, s->zones[i].name);
    }
}

/* The region's energy in joules from the counters at now; 0 or -1. */
static int final_joules(bb_energy_src *s, double now, double *joules)
{
    if (s->kind == KIND_RAPL) {
        if (rapl_read(s, now) != 0)
            return -1;
        *joules = (double)s->total_uj * 1e-6;
        return 0;
    }
    unsigned long long mj;
    if (nvml_energy(s, &mj) != 0)
        return -1;
    if (mj < s->begin_mj) {
        fail(s, "NVML: the energy counter went back from %llu to %llu mJ (driver reloaded?)", s->begin_mj, mj);
        return -1;
    }
    *joules = (double)(mj - s->begin_mj) * 1e-3;
    return 0;
}

void bb_energy_end_at(bb_energy_src *s, double now_s, bb_energy *out)
{
    memset(out, 0, sizeof *out);
    out->mean_power_w = out->peak_power_w = NAN;
    source_name(s, out->source, sizeof out->source);
    if (s->kind != KIND_NONE && !s->begun)
        snprintf(s->why, sizeof s->why, "bb_energy_end without bb_energy_begin");
    double joules = 0;
    int ok = s->kind != KIND_NONE && s->begun && !s->failed && final_joules(s, now_s, &joules) == 0;
    if (s->begun)
        out->seconds = now_s - s->t_begin;
    s->begun = 0;
    if (!ok) {
        snprintf(out->why_unavailable, sizeof out->why_unavailable, "%s", s->why);
        return;
    }
    power_at(s, now_s);
    out->available = 1;
    out->joules = joules;
    out->mean_power_w = out->seconds > 0 ? joules / out->seconds : NAN;
    out->n_samples = s->n_samples;
    out->peak_power_w = s->n_samples >= 2 ? s->peak_w : NAN;
}

void bb_energy_end(bb_energy_src *s, bb_energy *out)
{
    bb_energy_end_at(s, bb_now_s(), out);
}

/* ---- JSON ------------------------------------------------------------- */

/* key: v when finite, else null. */
static int num_or_null(cJSON *o, const char *key, double v)
{
    return isfinite(v) ? bb_json_num(o, key, v) : cJSON_AddNullToObject(o, key) != NULL;
}

cJSON *bb_energy_json(const bb_energy *e, int64_t items)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (!e->available)
        return bb_json_done(o, cJSON_AddFalseToObject(o, "available") && bb_json_str(o, "why", e->why_unavailable));
    double n = (double)items, j = e->joules;
    int ok = cJSON_AddTrueToObject(o, "available") && bb_json_str(o, "source", e->source) &&
             num_or_null(o, "joules", j) && num_or_null(o, "seconds", e->seconds) &&
             num_or_null(o, "joules_per_item", items > 0 ? j / n : NAN) &&
             num_or_null(o, "items_per_joule", items > 0 && j > 0 ? n / j : NAN) &&
             num_or_null(o, "mean_power_w", e->mean_power_w) && num_or_null(o, "peak_power_w", e->peak_power_w) &&
             bb_json_int(o, "samples", e->n_samples);
    return bb_json_done(o, ok);
}
