/*
 * test_energy.c — unit tests for src/env/energy.c.
 *
 * Why this file exists: items per joule in a result file is only worth
 * printing if the joules are the counters' exact difference over the
 * region: package zones summed once (not with their sub-zones, the MMIO
 * copy or psys), wraps added back, and an unreadable counter reported as
 * unavailable with the file named, never as a number. Each test builds a
 * fake powercap tree in a temporary folder (BATCHBENCH_POWERCAP_ROOT),
 * rewrites the counters between begin, samples and end with known deltas
 * and checks the exact joules, powers and JSON. NVML is exercised through
 * the real library name (absent on a machine without a driver), a missing
 * library, one without NVML's symbols, and a fake libnvidia-ml compiled at
 * test time with cc (skipped when no compiler runs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/energy.h"
#include "remove_tree.h"

#define BIG_RANGE 262143328850ULL /* Intel's usual max_energy_range_uj */

typedef struct {
    char root[64];
    bb_energy_src src;
} fixture;

static void check_near(double got, double want, const char *what)
{
    if (!(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want))))
        fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static void check_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" lacks \"%s\"", text, part);
}

/* "<root>/<rel>" */
static void at(const fixture *f, const char *rel, char *out, size_t len)
{
    int k = snprintf(out, len, "%s/%s", f->root, rel);
    assert_true(k > 0 && (size_t)k < len);
}

static void mk(const fixture *f, const char *rel)
{
    char p[512];
    at(f, rel, p, sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const fixture *f, const char *rel, const char *fmt, ...)
{
    char p[512];
    at(f, rel, p, sizeof p);
    FILE *o = fopen(p, "w");
    assert_non_null(o);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o, fmt, ap);
    va_end(ap);
    assert_int_equal(fclose(o), 0);
}

static void set_uj(const fixture *f, const char *dir, unsigned long long uj)
{
    char rel[128];
    snprintf(rel, sizeof rel, "%s/energy_uj", dir);
    put(f, rel, "%llu\n", uj);
}

/* A zone folder as the kernel shows it: name, max_energy_range_uj, energy_uj. */
static void zone(const fixture *f, const char *dir, const char *name, unsigned long long range, unsigned long long uj)
{
    char rel[128];
    mk(f, dir);
    snprintf(rel, sizeof rel, "%s/name", dir);
    put(f, rel, "%s\n", name);
    snprintf(rel, sizeof rel, "%s/max_energy_range_uj", dir);
    put(f, rel, "%llu\n", range);
    snprintf(rel, sizeof rel, "%s/enabled", dir);
    put(f, rel, "1\n");
    set_uj(f, dir, uj);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/bb_energy_test_XXXXXX");
    *state = f;
    if (!mkdtemp(f->root) || setenv("BATCHBENCH_POWERCAP_ROOT", f->root, 1) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bb_energy_close(&f->src);
    unsetenv("BATCHBENCH_POWERCAP_ROOT");
    remove_tree(f->root);
    free(f);
    return 0;
}

/* Two packages, each with a core sub-zone; the control-type folder, an
 * MMIO copy of package-0 and a psys zone, none of which may be counted. */
static void test_two_packages(void **state)
{
    fixture *f = *state;
    mk(f, "intel-rapl"); /* the control type: no colon, no counter */
    zone(f, "intel-rapl:1", "package-1", BIG_RANGE, 7000000);
    zone(f, "intel-rapl:0", "package-0", BIG_RANGE, 1000000);
    zone(f, "intel-rapl:0:0", "core", BIG_RANGE, 5);
    zone(f, "intel-rapl:1:0", "dram", BIG_RANGE, 5);
    zone(f, "intel-rapl-mmio:0", "package-0", BIG_RANGE, 1000000);
    zone(f, "intel-rapl:2", "psys", BIG_RANGE, 100);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), 0);
    assert_string_equal(s->why, "");
    assert_int_equal(s->n_zones, 2);
    bb_energy_begin(s);
    set_uj(f, "intel-rapl:0", 1000000 + 1500000);
    set_uj(f, "intel-rapl:1", 7000000 + 2500000);
    set_uj(f, "intel-rapl:0:0", 900000005);
    set_uj(f, "intel-rapl:1:0", 900000005);
    set_uj(f, "intel-rapl-mmio:0", 900000000);
    set_uj(f, "intel-rapl:2", 900000000);
    bb_energy e;
    bb_energy_end(s, &e);
    assert_true(e.available);
    assert_string_equal(e.why_unavailable, "");
    assert_string_equal(e.source, "rapl:package-0,package-1");
    check_near(e.joules, 4.0, "joules");
    assert_true(e.seconds >= 0 && e.seconds < 60);
    assert_int_equal(e.n_samples, 0);
    assert_true(isnan(e.peak_power_w));
    assert_true(e.seconds == 0 ? isnan(e.mean_power_w) : fabs(e.mean_power_w - 4.0 / e.seconds) < 1e-6);
}

/* max_energy_range_uj 1 J: one wrap between begin and end, then two wraps
 * (1.301 J, more than the range) seen only through samples. */
static void test_wrap(void **state)
{
    fixture *f = *state;
    zone(f, "intel-rapl:0", "package-0", 1000000, 999000);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), 0);
    bb_energy e;
    bb_energy_begin_at(s, 0.0);
    set_uj(f, "intel-rapl:0", 500);
    bb_energy_end_at(s, 0.0005, &e);
    assert_true(e.available);
    check_near(e.joules, (1000000 - 999000 + 500) * 1e-6, "one wrap");
    check_near(e.seconds, 0.0005, "seconds");
    check_near(e.mean_power_w, 1500e-6 / 0.0005, "mean power");

    set_uj(f, "intel-rapl:0", 999000);
    bb_energy_begin_at(s, 1.0);
    set_uj(f, "intel-rapl:0", 600000); /* +601000, wrapped */
    bb_energy_sample_at(s, 1.0004);
    set_uj(f, "intel-rapl:0", 200000); /* +600000, wrapped */
    bb_energy_sample_at(s, 1.0008);
    set_uj(f, "intel-rapl:0", 300000); /* +100000 */
    bb_energy_end_at(s, 1.0009, &e);
    assert_true(e.available);
    check_near(e.joules, 1.301, "two wraps");
    assert_int_equal(e.n_samples, 0); /* windows under BB_ENERGY_MIN_WINDOW_S */
    assert_true(isnan(e.peak_power_w));
}

/* Reads further apart than the range lasts at BB_ENERGY_RAPL_MAX_W (1 ms
 * for a 1 J range): a wrap may be missed, so no number. */
static void test_missed_wrap(void **state)
{
    fixture *f = *state;
    zone(f, "intel-rapl:0", "package-0", 1000000, 10);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), 0);
    bb_energy e;
    bb_energy_begin_at(s, 5.0);
    set_uj(f, "intel-rapl:0", 20);
    bb_energy_sample_at(s, 5.5);
    set_uj(f, "intel-rapl:0", 30);
    bb_energy_end_at(s, 5.5005, &e); /* this gap alone would be fine */
    assert_false(e.available);
    check_has(e.why_unavailable, "RAPL package-0 read 0.5 s apart");
    check_has(e.why_unavailable, "a wrap may be missed");
    assert_true(e.joules == 0 && isnan(e.mean_power_w) && isnan(e.peak_power_w));
    check_near(e.seconds, 0.5005, "seconds");
    bb_energy_begin_at(s, 6.0); /* the next region starts clean */
    set_uj(f, "intel-rapl:0", 40);
    bb_energy_end_at(s, 6.0001, &e);
    assert_true(e.available);
    check_near(e.joules, 10e-6, "next region");
}

/* Windows of 1 s (100 W), 1 s (50 W; a 0.05 s sample inside does not close
 * it) and 2 s (50 W): peak 100 W over 3 samples, mean 62.5 W. */
static void test_peak(void **state)
{
    fixture *f = *state;
    zone(f, "intel-rapl:0", "package-0", BIG_RANGE, 0);
    zone(f, "intel-rapl:1", "package-1", BIG_RANGE, 0);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), 0);
    bb_energy e;
    bb_energy_begin_at(s, 10.0);
    set_uj(f, "intel-rapl:0", 60000000), set_uj(f, "intel-rapl:1", 40000000);
    bb_energy_sample_at(s, 11.0);
    set_uj(f, "intel-rapl:0", 61000000);
    bb_energy_sample_at(s, 11.05);
    set_uj(f, "intel-rapl:1", 89000000);
    bb_energy_sample_at(s, 12.0);
    set_uj(f, "intel-rapl:0", 161000000);
    bb_energy_end_at(s, 14.0, &e);
    assert_true(e.available);
    check_near(e.joules, 250.0, "joules");
    check_near(e.seconds, 4.0, "seconds");
    check_near(e.mean_power_w, 62.5, "mean");
    assert_int_equal(e.n_samples, 3);
    check_near(e.peak_power_w, 100.0, "peak");

    bb_energy_begin_at(s, 20.0); /* one window: no peak */
    set_uj(f, "intel-rapl:0", 171000000);
    bb_energy_end_at(s, 21.0, &e);
    assert_true(e.available);
    check_near(e.joules, 10.0, "second region");
    assert_int_equal(e.n_samples, 1);
    assert_true(isnan(e.peak_power_w));
    bb_energy_end_at(s, 22.0, &e); /* a second end */
    assert_false(e.available);
    check_has(e.why_unavailable, "without bb_energy_begin");
}

/* Opening with energy_uj unreadable in one of two zones: nothing is used. */
static void expect_open_fails(fixture *f, const char *why_part)
{
    char path[256];
    at(f, "intel-rapl:1/energy_uj", path, sizeof path);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), -1);
    check_has(s->why, path);
    check_has(s->why, why_part);
    bb_energy e;
    bb_energy_begin(s), bb_energy_sample(s), bb_energy_end(s, &e);
    assert_false(e.available);
    check_has(e.why_unavailable, path);
    check_has(e.why_unavailable, why_part);
    assert_true(e.joules == 0 && isnan(e.mean_power_w));
    bb_energy_close(s);
}

static void test_unreadable(void **state)
{
    fixture *f = *state;
    char p[256];
    zone(f, "intel-rapl:0", "package-0", BIG_RANGE, 1);
    zone(f, "intel-rapl:1", "package-1", BIG_RANGE, 1);
    at(f, "intel-rapl:1/energy_uj", p, sizeof p);
    assert_int_equal(unlink(p), 0);
    expect_open_fails(f, "No such file or directory");
    assert_int_equal(symlink("/nonexistent/bb/energy_uj", p), 0); /* dangling */
    expect_open_fails(f, "No such file or directory");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    expect_open_fails(f, "Is a directory");
    assert_int_equal(rmdir(p), 0);
    put(f, "intel-rapl:1/energy_uj", "12abc\n");
    expect_open_fails(f, "not a count of microjoules");
    put(f, "intel-rapl:1/energy_uj", "\n");
    expect_open_fails(f, "No data");
    put(f, "intel-rapl:1/energy_uj", "5\n");
    if (geteuid() != 0) { /* root reads mode 000 files */
        assert_int_equal(chmod(p, 0), 0);
        expect_open_fails(f, "Permission denied (RAPL energy is root-only");
        assert_int_equal(chmod(p, 0644), 0);
    }
    assert_int_equal(bb_energy_open(&f->src, "cpu", NULL), 0);
}

/* Counters that become unreadable, or read above their range, in a region. */
static void test_unreadable_in_region(void **state)
{
    fixture *f = *state;
    char p[256];
    zone(f, "intel-rapl:0", "package-0", 1000000000, 1);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), 0);
    bb_energy e;
    bb_energy_begin_at(s, 0);
    at(f, "intel-rapl:0/energy_uj", p, sizeof p);
    assert_int_equal(unlink(p), 0);
    bb_energy_sample_at(s, 0.1);
    set_uj(f, "intel-rapl:0", 7); /* back, but the region already failed */
    bb_energy_end_at(s, 0.2, &e);
    assert_false(e.available);
    check_has(e.why_unavailable, p);
    check_has(e.why_unavailable, "No such file");
    assert_string_equal(e.source, "rapl:package-0");

    bb_energy_begin_at(s, 1);
    set_uj(f, "intel-rapl:0", 1000000001);
    bb_energy_end_at(s, 1.1, &e);
    assert_false(e.available);
    check_has(e.why_unavailable, "reads 1000000001, above max_energy_range_uj 1000000000");
}

static void test_no_zones(void **state)
{
    fixture *f = *state;
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), -1);
    check_has(s->why, "no RAPL package zone");
    check_has(s->why, f->root);
    mk(f, "intel-rapl:0");
    put(f, "intel-rapl:0/name", "psys\n"); /* a platform zone only */
    assert_int_equal(bb_energy_open(s, "cpu", NULL), -1);
    check_has(s->why, "no RAPL package zone");
    char missing[128];
    at(f, "nope", missing, sizeof missing);
    setenv("BATCHBENCH_POWERCAP_ROOT", missing, 1);
    assert_int_equal(bb_energy_open(s, "cpu", NULL), -1);
    check_has(s->why, missing);
    check_has(s->why, "No such file or directory");
    bb_energy e;
    bb_energy_begin(s), bb_energy_end(s, &e);
    assert_false(e.available);
    check_has(e.why_unavailable, missing);
    assert_string_equal(e.source, "");
}

static void test_amd_naming(void **state)
{
    fixture *f = *state;
    zone(f, "amd-rapl:0", "package-0", 65532610987ULL, 100);
    zone(f, "amd-rapl:0:0", "core", 65532610987ULL, 100);
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "cpu", NULL), 0);
    bb_energy e;
    bb_energy_begin_at(s, 0);
    set_uj(f, "amd-rapl:0", 100 + 2000000);
    set_uj(f, "amd-rapl:0:0", 100 + 1000000);
    bb_energy_end_at(s, 1, &e);
    assert_true(e.available);
    assert_string_equal(e.source, "rapl:package-0");
    check_near(e.joules, 2.0, "amd joules");
}

static void test_bad_device(void **state)
{
    fixture *f = *state;
    bb_energy_src *s = &f->src;
    assert_int_equal(bb_energy_open(s, "tpu", NULL), -1);
    check_has(s->why, "no energy counter for device \"tpu\"");
    assert_int_equal(bb_energy_open(s, NULL, NULL), -1);
    bb_energy e;
    bb_energy_end(s, &e); /* no begin, no source */
    assert_false(e.available);
    check_has(e.why_unavailable, "no energy counter");
    bb_energy_close(s);
    bb_energy_close(s);
}

/* Serialises and parses back (a "nan" token would not parse). */
static cJSON *round_trip(const bb_energy *e, int64_t items)
{
    cJSON *j = bb_energy_json(e, items);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(text);
    j = cJSON_Parse(text);
    if (!j)
        fail_msg("not JSON: %s", text);
    free(text);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", key);
    return v->valuedouble;
}

static int is_null(const cJSON *o, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void test_json(void **state)
{
    (void)state;
    bb_energy e = {.available = 1, .source = "rapl:package-0", .joules = 4.0, .seconds = 2.0,
                   .mean_power_w = 2.0, .peak_power_w = NAN, .n_samples = 1};
    cJSON *j = round_trip(&e, 8);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "available")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring, "rapl:package-0");
    assert_true(num(j, "joules") == 4.0 && num(j, "seconds") == 2.0 && num(j, "mean_power_w") == 2.0);
    assert_true(num(j, "joules_per_item") == 0.5 && num(j, "items_per_joule") == 2.0);
    assert_true(is_null(j, "peak_power_w"));
    assert_true(num(j, "samples") == 1);
    assert_int_equal(cJSON_GetArraySize(j), 9);
    cJSON_Delete(j);

    e.peak_power_w = 3.5, e.n_samples = 4;
    j = round_trip(&e, 0); /* no items: nothing per item */
    assert_true(num(j, "peak_power_w") == 3.5 && num(j, "samples") == 4);
    assert_true(is_null(j, "joules_per_item") && is_null(j, "items_per_joule"));
    cJSON_Delete(j);
    e.joules = 0;
    j = round_trip(&e, 5);
    assert_true(num(j, "joules_per_item") == 0 && is_null(j, "items_per_joule"));
    cJSON_Delete(j);

    bb_energy u = {.available = 0, .why_unavailable = "cannot read /x/intel-rapl:0/energy_uj: Permission denied",
                   .joules = 0, .mean_power_w = NAN, .peak_power_w = NAN};
    j = round_trip(&u, 8);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "available")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "why")->valuestring, u.why_unavailable);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
}

/* The machine's own NVML: absent here (a why naming NVML), present on a
 * GPU machine (then it opened, or says why not). Then a missing library
 * and one without NVML's symbols. */
static void test_nvml_absent(void **state)
{
    fixture *f = *state;
    bb_energy_src *s = &f->src;
    bb_energy e;
    if (bb_energy_open(s, "cuda", NULL) == 0) {
        bb_energy_begin(s), bb_energy_end(s, &e);
        assert_true(e.available || strstr(e.why_unavailable, "NVML"));
    } else {
        check_has(s->why, "NVML");
        bb_energy_begin(s), bb_energy_end(s, &e);
        assert_false(e.available);
        check_has(e.why_unavailable, "NVML");
    }
    bb_energy_close(s);
    assert_int_equal(bb_energy_open_lib(s, "cuda", NULL, "libbb-no-such-nvml.so.1"), -1);
    check_has(s->why, "NVML not available (");
    check_has(s->why, "libbb-no-such-nvml.so.1");
    assert_int_equal(bb_energy_open_lib(s, "cuda", "00000000:65:00.0", "libm.so.6"), -1);
    check_has(s->why, "NVML library lacks nvmlInit_v2");
    bb_energy_close(s);
}

/* A stand-in libnvidia-ml: one device (index 0, PCI 00000000:65:00.0);
 * nvmlInit's code, the energy call's code, the energy (mJ) and the power
 * (mW) come from the state file. */
static const char k_fake_nvml[] =
    "#include <stdio.h>\n#include <string.h>\n"
    "typedef struct dev *dev_t_;\nstatic char the_dev;\n#define D ((dev_t_)(void *)&the_dev)\n"
    "static int st(int *i, int *e, unsigned long long *mj, unsigned *mw) {\n"
    "  FILE *f = fopen(STATE, \"r\"); int ok = f && fscanf(f, \"%d %d %llu %u\", i, e, mj, mw) == 4;\n"
    "  if (f) fclose(f); return ok ? 0 : 999; }\n"
    "int nvmlInit_v2(void) { int i, e; unsigned long long m; unsigned w; return st(&i, &e, &m, &w) ? 999 : i; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
    "const char *nvmlErrorString(int rc) { return rc == 3 ? \"Not Supported\" : \"Unknown Error\"; }\n"
    "int nvmlDeviceGetHandleByIndex_v2(unsigned i, dev_t_ *d) { if (i) return 2; *d = D; return 0; }\n"
    "int nvmlDeviceGetHandleByPciBusId_v2(const char *id, dev_t_ *d) {\n"
    "  if (strcmp(id, \"00000000:65:00.0\")) return 6; *d = D; return 0; }\n"
    "int nvmlDeviceGetTotalEnergyConsumption(dev_t_ d, unsigned long long *mj) { int i, e; unsigned w;\n"
    "  return d != D || st(&i, &e, mj, &w) ? 999 : e; }\n"
    "int nvmlDeviceGetPowerUsage(dev_t_ d, unsigned *mw) { int i, e; unsigned long long m;\n"
    "  return d != D || st(&i, &e, &m, mw) ? 999 : 0; }\n";

/* Builds the stand-in into <root>/libfake-nvml.so; 0, or -1 without a compiler. */
static int build_fake_nvml(const fixture *f, char *lib, size_t len)
{
    char state_path[256], cmd[1024];
    at(f, "nvml-state", state_path, sizeof state_path);
    put(f, "fake_nvml.c", "#define STATE \"%s\"\n%s", state_path, k_fake_nvml);
    at(f, "libfake-nvml.so", lib, len);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o %s %s/fake_nvml.c >/dev/null 2>&1", lib, f->root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_fake_nvml(void **state)
{
    fixture *f = *state;
    char lib[256];
    if (build_fake_nvml(f, lib, sizeof lib) != 0)
        skip();
    bb_energy_src *s = &f->src;
    put(f, "nvml-state", "1 0 0 0\n");
    assert_int_equal(bb_energy_open_lib(s, "cuda", NULL, lib), -1);
    check_has(s->why, "NVML: nvmlInit_v2 failed: Unknown Error (NVML error 1)");
    put(f, "nvml-state", "0 0 0 0\n");
    assert_int_equal(bb_energy_open_lib(s, "cuda", "0000:01:00.0", lib), -1);
    check_has(s->why, "NVML: no device 0000:01:00.0");
    put(f, "nvml-state", "0 3 0 0\n");
    assert_int_equal(bb_energy_open_lib(s, "cuda", NULL, lib), -1);
    check_has(s->why, "Not Supported (NVML error 3; needs a Volta or newer GPU)");

    put(f, "nvml-state", "0 0 1000 90000\n");
    assert_int_equal(bb_energy_open_lib(s, "cuda", "00000000:65:00.0", lib), 0);
    bb_energy e;
    bb_energy_begin_at(s, 0);
    put(f, "nvml-state", "0 0 1000 250000\n");
    bb_energy_sample_at(s, 1.0);
    put(f, "nvml-state", "0 0 1000 400000\n");
    bb_energy_sample_at(s, 1.05); /* too soon: not read */
    put(f, "nvml-state", "0 0 1000 300000\n");
    bb_energy_sample_at(s, 2.0);
    put(f, "nvml-state", "0 0 901000 200000\n");
    bb_energy_end_at(s, 3.0, &e);
    assert_true(e.available);
    assert_string_equal(e.source, "nvml");
    check_near(e.joules, 900.0, "nvml joules");
    check_near(e.mean_power_w, 300.0, "nvml mean");
    assert_int_equal(e.n_samples, 3);
    check_near(e.peak_power_w, 300.0, "nvml peak");

    bb_energy_begin_at(s, 10);
    put(f, "nvml-state", "0 0 500 200000\n"); /* went back */
    bb_energy_end_at(s, 11, &e);
    assert_false(e.available);
    check_has(e.why_unavailable, "went back from 901000 to 500 mJ");
    bb_energy_begin_at(s, 12);
    put(f, "nvml-state", "0 15 500 200000\n");
    bb_energy_end_at(s, 13, &e);
    assert_false(e.available);
    check_has(e.why_unavailable, "nvmlDeviceGetTotalEnergyConsumption failed");
    bb_energy_close(s);
}

/* The machine's real powercap tree: either a measurement or a reason. */
static void test_real_machine(void **state)
{
    fixture *f = *state;
    unsetenv("BATCHBENCH_POWERCAP_ROOT");
    bb_energy_src *s = &f->src;
    int rc = bb_energy_open(s, "cpu", NULL);
    bb_energy e;
    bb_energy_begin(s);
    bb_energy_sample(s);
    bb_energy_end(s, &e);
    if (rc == 0) {
        assert_true(e.available);
        check_has(e.source, "rapl:package-");
        assert_true(e.joules >= 0);
    } else {
        assert_false(e.available);
        check_has(e.why_unavailable, "/sys/class/powercap");
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_two_packages), T(test_wrap),       T(test_missed_wrap),  T(test_peak),
        T(test_unreadable),   T(test_unreadable_in_region), T(test_no_zones), T(test_amd_naming),
        T(test_bad_device),   T(test_json),       T(test_nvml_absent),  T(test_fake_nvml),
        T(test_real_machine),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
