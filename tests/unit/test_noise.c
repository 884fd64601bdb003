/*
 * test_noise.c — unit tests for src/bench/noise.c.
 *
 * Why this file exists: the "noise" object in every result file says
 * whether a configuration was disturbed by steal, other processes or GPU
 * throttling; a wrong delta or a mis-parsed /proc line would blame (or
 * clear) the machine wrongly. Each test builds a fake /proc and /sys tree
 * in a temporary folder, takes marks, rewrites the files between marks with
 * known deltas and checks the exact sums, fractions and JSON; one test
 * reads the real /proc. NVML is exercised through a missing library, a
 * library without NVML's symbols, and a fake libnvidia-ml compiled at test
 * time with cc (skipped when no compiler runs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/noise.h"
#include "util/clock.h"
#include "remove_tree.h"

typedef struct {
    char root[64], proc[96], sys[96];
    bb_noise_src src;
} fixture;

/* /proc/stat's "cpu" line fields: user nice system idle iowait irq softirq steal guest guest_nice. */
typedef struct {
    unsigned long long v[10];
} cpu_line;

static const cpu_line k_stat_a = {{1000, 10, 500, 5000, 20, 5, 5, 30, 0, 0}};
/* +300 user, +100 system, +100 idle, +40 steal: busy +440 ticks, steal +40. */
static const cpu_line k_stat_b = {{1300, 10, 600, 5100, 20, 5, 5, 70, 0, 0}};
/* +50 user only: busy +50, steal +0. */
static const cpu_line k_stat_c = {{1350, 10, 600, 5200, 20, 5, 5, 70, 0, 0}};

static double hz(void)
{
    return (double)sysconf(_SC_CLK_TCK);
}

static void check_near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
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

static void put_stat(const fixture *f, const cpu_line *c, int cpus)
{
    char text[2048];
    const unsigned long long *v = c->v;
    int k = snprintf(text, sizeof text, "cpu  %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n", v[0], v[1],
                     v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
    for (int i = 0; i < cpus; i++)
        k += snprintf(text + k, sizeof text - (size_t)k, "cpu%d 1 2 3 4 5 6 7 8 0 0\n", i);
    snprintf(text + k, sizeof text - (size_t)k, "intr 12345 1 2 3\nctxt 999\nbtime 1700000000\n");
    put(f, "proc/stat", "%s", text);
}

/* A comm holding blanks and ')' — fields must be counted after the last ')'. */
static void put_self(const fixture *f, unsigned long long utime, unsigned long long stime)
{
    put(f, "proc/self/stat",
        "4242 (bb (x) y) z) R 1 4242 4242 0 -1 4194304 100 0 7 0 %llu %llu 0 0 20 0 5 0 12345 1000 50\n", utime,
        stime);
}

static void put_cpufreq(const fixture *f, const unsigned *khz, int n)
{
    char rel[128];
    for (int i = 0; i < n; i++) {
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", i);
        put(f, rel, "%u\n", khz[i]);
    }
}

/* A sys tree with cpu0..cpu3 (cpufreq), cpu4 (offline: no cpufreq), cpuidle. */
static void make_sys(const fixture *f)
{
    const char *dirs[] = {"sys/devices", "sys/devices/system", "sys/devices/system/cpu",
                          "sys/devices/system/cpu/cpuidle", "sys/devices/system/cpu/cpu4"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        mk(f, dirs[i]);
    char rel[64];
    for (int i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d", i);
        mk(f, rel);
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/cpufreq", i);
        mk(f, rel);
    }
    put(f, "sys/devices/system/cpu/online", "0-3\n");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/bb_noise_test_XXXXXX");
    *state = f;
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->proc, sizeof f->proc, "%s/proc", f->root);
    snprintf(f->sys, sizeof f->sys, "%s/sys", f->root);
    mk(f, "proc");
    mk(f, "proc/self");
    mk(f, "sys");
    f->src.proc_root = f->proc;
    f->src.sys_root = f->sys;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bb_noise_src_close(&f->src);
    remove_tree(f->root);
    free(f);
    return 0;
}

static void mark_at(const fixture *f, bb_noise_mark *m, double wall)
{
    bb_noise_mark_now(&f->src, m);
    m->wall_s = wall; /* a known slice length */
}

/* Two slices: (A -> B, 2 s) with steal 40 and other 200 ticks, loadavg
 * 1.25, clocks 2000/3000/2500/2500 MHz; (B -> C, 1 s) where this process
 * used more than the machine's busy time (other clamps to 0), loadavg 0.75,
 * clocks 1000 MHz. */
static void two_slices(const fixture *f, bb_noise *n)
{
    const unsigned khz1[4] = {2000000, 3000000, 2500000, 2500000}, khz2[4] = {1000000, 1000000, 1000000, 1000000};
    bb_noise_mark a, b, c;
    make_sys(f);
    put_stat(f, &k_stat_a, 4), put_self(f, 100, 50), put(f, "proc/loadavg", "0.50 0.40 0.30 1/100 999\n");
    mark_at(f, &a, 100.0);
    assert_true(a.have_stat && a.have_self);
    assert_string_equal(a.why, "");
    check_near(a.self_cpu_s, 150 / hz(), "a.self_cpu_s");
    put_stat(f, &k_stat_b, 4), put_self(f, 250, 100), put(f, "proc/loadavg", "1.25 0.40 0.30 2/100 999\n");
    put_cpufreq(f, khz1, 4);
    mark_at(f, &b, 102.0);
    bb_noise_init(n);
    bb_noise_add(&f->src, &a, &b, n);
    put_stat(f, &k_stat_c, 4), put_self(f, 350, 100), put(f, "proc/loadavg", "0.75 0.40 0.30 1/100 999\n");
    put_cpufreq(f, khz2, 4);
    mark_at(f, &c, 103.0);
    bb_noise_add(&f->src, &b, &c, n);
}

static void test_two_slices(void **state)
{
    bb_noise n;
    two_slices(*state, &n);
    assert_int_equal(n.slices, 2);
    assert_int_equal(n.cpu_slices, 2);
    assert_true(n.have_cpu);
    assert_int_equal(n.cores, 4);
    check_near(n.wall_s, 3.0, "wall_s");
    check_near(n.cpu_wall_s, 3.0, "cpu_wall_s");
    check_near(n.steal_s, 40 / hz(), "steal_s");
    check_near(n.other_cpu_s, 200 / hz(), "other_cpu_s"); /* 440 - 40 - 200, then max(50 - 0 - 100, 0) */
    check_near(bb_noise_steal_frac(&n), 40 / hz() / (3.0 * 4), "steal_frac");
    check_near(bb_noise_other_frac(&n), 200 / hz() / (3.0 * 4), "other_frac");
    check_near(n.load1_min, 0.75, "load1_min");
    check_near(n.load1_max, 1.25, "load1_max");
    assert_int_equal(n.cpu_mhz_n, 2);
    check_near(n.cpu_mhz_sum / n.cpu_mhz_n, (2500.0 + 1000.0) / 2, "cpu_mhz_mean");
    assert_false(n.have_gpu);
    assert_string_equal(n.why_unavailable, "");
}

/* No cpufreq (no sys tree, then one without scaling_cur_freq): cpuinfo's "cpu MHz" lines. */
static void test_cpuinfo_fallback(void **state)
{
    fixture *f = *state;
    put(f, "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Fake CPU @ 2.40GHz\ncpu MHz\t\t: 2400.000\n\n"
        "processor\t: 1\ncpu MHz\t\t: 2400.000\n\nprocessor\t: 2\ncpu MHz\t\t: 3600.000\nflags\t\t: fpu\n");
    put_stat(f, &k_stat_a, 3), put_self(f, 1, 1), put(f, "proc/loadavg", "0.10 0 0 1/1 1\n");
    f->src.sys_root = f->root; /* no devices/system/cpu there */
    bb_noise_mark a, b;
    mark_at(f, &a, 0), mark_at(f, &b, 1);
    bb_noise n;
    bb_noise_init(&n);
    bb_noise_add(&f->src, &a, &b, &n);
    assert_int_equal(n.cpu_mhz_n, 1);
    check_near(n.cpu_mhz_sum, 2800.0, "cpuinfo mean");
    assert_int_equal(n.cores, 3);
    f->src.sys_root = f->sys;
    make_sys(f); /* cpuN folders, but no scaling_cur_freq */
    bb_noise_add(&f->src, &a, &b, &n);
    assert_int_equal(n.cpu_mhz_n, 2);
    check_near(n.cpu_mhz_sum, 5600.0, "cpuinfo mean, empty cpufreq");
    assert_string_equal(n.why_unavailable, "");
}

/* Nothing there: every part unavailable, with reasons; no crash. */
static void test_missing_files(void **state)
{
    fixture *f = *state;
    f->src.sys_root = f->root;
    bb_noise_mark a, b;
    mark_at(f, &a, 0), mark_at(f, &b, 1);
    assert_false(a.have_stat || a.have_self);
    check_has(a.why, "/proc/stat: No such file or directory");
    check_has(a.why, "/proc/self/stat: No such file or directory");
    bb_noise n;
    bb_noise_init(&n);
    bb_noise_add(&f->src, &a, &b, &n);
    assert_int_equal(n.slices, 1);
    assert_false(n.have_cpu);
    assert_int_equal(n.cpu_slices, 0);
    check_has(n.why_unavailable, "/proc/stat");
    check_has(n.why_unavailable, "/proc/loadavg unreadable");
    check_has(n.why_unavailable, "no CPU clock");
    assert_true(bb_noise_steal_frac(&n) == -1.0 && bb_noise_other_frac(&n) == -1.0);
    assert_true(n.load1_min < 0 && n.load1_max < 0);
    assert_int_equal(n.cpu_mhz_n, 0);
    char why[64] = "x";
    assert_false(bb_noise_disturbed(&n, why, sizeof why));
    assert_string_equal(why, "");
}

/* /proc/stat a folder (opens, cannot be read); self/stat missing on its own. */
static void test_unreadable(void **state)
{
    fixture *f = *state;
    mk(f, "proc/stat");
    put_self(f, 1, 2);
    bb_noise_mark m;
    bb_noise_mark_now(&f->src, &m);
    assert_false(m.have_stat);
    assert_true(m.have_self);
    check_has(m.why, "/proc/stat: unreadable or malformed");
    bb_noise n;
    bb_noise_init(&n);
    bb_noise_add(&f->src, &m, &m, &n);
    assert_false(n.have_cpu);
    check_near(n.steal_s, 0, "steal_s");

    remove_tree(f->proc);
    mk(f, "proc"), mk(f, "proc/self");
    put_stat(f, &k_stat_a, 2);
    put(f, "proc/loadavg", "nan 0 0 1/1 1\n"); /* not a load: unavailable */
    bb_noise_mark_now(&f->src, &m);
    assert_true(m.have_stat);
    assert_int_equal(m.cores, 2);
    assert_false(m.have_self);
    check_has(m.why, "/proc/self/stat: No such file");
    bb_noise_add(&f->src, &m, &m, &n);
    assert_true(n.load1_min < 0);
    check_has(n.why_unavailable, "/proc/loadavg unreadable");
}

static int stat_ok(const fixture *f, const char *text)
{
    put(f, "proc/stat", "%s", text);
    bb_noise_mark m;
    bb_noise_mark_now(&f->src, &m);
    return m.have_stat;
}

static int self_ok(const fixture *f, const char *text, double *cpu_s)
{
    put(f, "proc/self/stat", "%s", text);
    bb_noise_mark m;
    bb_noise_mark_now(&f->src, &m);
    *cpu_s = m.self_cpu_s;
    return m.have_self;
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    assert_false(stat_ok(f, "cpu  1 2 x 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"));
    assert_false(stat_ok(f, "cpu  1 2 3\n"));                       /* before steal */
    assert_false(stat_ok(f, "intr 1 2 3\ncpu  1 2 3 4 5 6 7 8\n")); /* not first */
    assert_false(stat_ok(f, "cpu  1 2 3 4 5 6 7 8 9 10 junk\n"));
    assert_false(stat_ok(f, "cpu0 1 2 3 4 5 6 7 8 0 0\n"));  /* no aggregate line */
    assert_false(stat_ok(f, "cpu  -1 2 3 4 5 6 7 8 0 0\n")); /* negative counter */
    assert_false(stat_ok(f, ""));
    assert_true(stat_ok(f, "cpu 1 2 3 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\n")); /* older kernels: no guest */

    double s = 0;
    assert_false(self_ok(f, "1 (no paren S 1 2 3 4 5 6 7 8 9 10 11 12 13\n", &s));
    assert_false(self_ok(f, "1 (x) S 1 2 3 4 5\n", &s));
    assert_false(self_ok(f, "1 (x) S 1 2 3 4 5 6 7 8 9 10 abc 12\n", &s));
    assert_false(self_ok(f, "", &s));
    assert_true(self_ok(f, "1 ()) S 1 1 1 0 -1 0 0 0 0 0 30 20 0 0\n", &s)); /* comm ")" */
    check_near(s, 50 / hz(), "self_cpu_s");
}

/* Counters going back (a reset or a different tree): the slice adds no CPU
 * time and is left out of the fractions; the others still count. */
static void test_backwards(void **state)
{
    fixture *f = *state;
    bb_noise_mark a, b, c;
    put_stat(f, &k_stat_a, 2), put_self(f, 100, 50), put(f, "proc/loadavg", "1 1 1 1/1 1\n");
    mark_at(f, &a, 0);
    put_stat(f, &k_stat_b, 2), put_self(f, 250, 100);
    mark_at(f, &b, 2);
    bb_noise n;
    bb_noise_init(&n);
    bb_noise_add(&f->src, &a, &b, &n);
    bb_noise_add(&f->src, &b, &a, &n); /* everything backwards, wall negative */
    put_stat(f, &k_stat_c, 2), put_self(f, 10, 10);
    mark_at(f, &c, 5);
    bb_noise_add(&f->src, &b, &c, &n); /* only this process's time backwards */
    assert_int_equal(n.slices, 3);
    assert_int_equal(n.cpu_slices, 1);
    check_near(n.wall_s, 5.0, "wall_s"); /* 2 + 0 + 3 */
    check_near(n.cpu_wall_s, 2.0, "cpu_wall_s");
    check_near(n.steal_s, 40 / hz(), "steal_s");
    check_near(n.other_cpu_s, 200 / hz(), "other_cpu_s");
    check_near(bb_noise_other_frac(&n), 200 / hz() / (2.0 * 2), "other_frac");
    check_has(n.why_unavailable, "backwards");
    const char *first = strstr(n.why_unavailable, "backwards");
    assert_null(strstr(first + 1, "backwards")); /* noted once */
}

/* A noise with CPU figures set by hand (4 cores, 10 s). */
static bb_noise cpu_noise(double steal_s, double other_s)
{
    bb_noise n;
    bb_noise_init(&n);
    n.have_cpu = 1, n.cores = 4, n.slices = n.cpu_slices = 1;
    n.wall_s = n.cpu_wall_s = 10.0;
    n.steal_s = steal_s, n.other_cpu_s = other_s;
    return n;
}

static void test_disturbed_thresholds(void **state)
{
    (void)state;
    char why[160];
    bb_noise n = cpu_noise(2.0, 4.0); /* exactly 5% and 10%: not beyond */
    assert_true(bb_noise_steal_frac(&n) == BB_NOISE_STEAL_MAX && bb_noise_other_frac(&n) == BB_NOISE_OTHER_MAX);
    assert_false(bb_noise_disturbed(&n, why, sizeof why));
    n = cpu_noise(2.2, 0);
    assert_true(bb_noise_disturbed(&n, why, sizeof why));
    assert_string_equal(why, "steal 5.5%");
    n = cpu_noise(0, 4.4);
    assert_true(bb_noise_disturbed(&n, why, sizeof why));
    assert_string_equal(why, "other processes 11.0%");
    n = cpu_noise(3.0, 8.0);
    assert_true(bb_noise_disturbed(&n, NULL, 0));
    assert_true(bb_noise_disturbed(&n, why, 12)); /* cut, terminated */
    assert_string_equal(why, "steal 7.5%,");
    assert_true(bb_noise_disturbed(&n, why, sizeof why));
    assert_string_equal(why, "steal 7.5%, other processes 20.0%");
    n.cores = 0; /* fractions unavailable: not disturbed */
    assert_false(bb_noise_disturbed(&n, why, sizeof why));
}

static void test_gpu_reasons(void **state)
{
    (void)state;
    char why[160];
    const unsigned long long quiet[] = {0x1, 0x2, 0x10, 0x100}, loud[] = {0x4, 0x8, 0x20, 0x40, 0x80};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        bb_noise n = cpu_noise(0, 0);
        bb_noise_add_gpu_sample(&n, 1980, quiet[i]);
        assert_false(bb_noise_disturbed(&n, why, sizeof why));
        assert_int_equal(n.gpu_throttle_reasons, quiet[i] & ~3ULL);
    }
    for (size_t i = 0; i < sizeof loud / sizeof loud[0]; i++) {
        bb_noise n = cpu_noise(0, 0);
        bb_noise_add_gpu_sample(&n, 1980, loud[i] | 0x1);
        assert_true(bb_noise_disturbed(&n, why, sizeof why));
        check_has(why, "GPU throttled: ");
    }
    bb_noise n = cpu_noise(3.0, 0);
    bb_noise_add_gpu_sample(&n, 1980, 0x3);
    bb_noise_add_gpu_sample(&n, 1500, 0x110);
    bb_noise_add_gpu_sample(&n, 0, 0x44); /* clock not read */
    assert_true(n.have_gpu);
    check_near(n.gpu_sm_mhz_min, 1500, "sm min");
    check_near(n.gpu_sm_mhz_max, 1980, "sm max");
    assert_int_equal(n.gpu_throttle_reasons, 0x154);
    assert_true(bb_noise_disturbed(&n, why, sizeof why));
    assert_string_equal(why, "steal 7.5%, GPU throttled: sw_power_cap, hw_thermal");
}

/* Every number in j (recursively) finite? */
static int all_finite(const cJSON *j)
{
    if (cJSON_IsNumber(j) && !isfinite(j->valuedouble))
        return 0;
    for (const cJSON *c = j->child; c; c = c->next)
        if (!all_finite(c))
            return 0;
    return 1;
}

/* Serialises n and parses it back (a "nan" or "inf" token would not
 * parse); checks every number is finite. */
static cJSON *round_trip(const bb_noise *n)
{
    cJSON *j = bb_noise_to_json(n);
    assert_non_null(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(text);
    j = cJSON_Parse(text);
    if (!j)
        fail_msg("not JSON: %s", text);
    free(text);
    assert_true(all_finite(j));
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
    bb_noise n;
    two_slices(*state, &n);
    cJSON *j = round_trip(&n);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "available")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "why_unavailable")->valuestring, "");
    assert_true(num(j, "slices") == 2 && num(j, "cpu_slices") == 2 && num(j, "cores") == 4);
    check_near(num(j, "wall_s"), 3.0, "wall_s");
    check_near(num(j, "steal_s"), 40 / hz(), "steal_s");
    check_near(num(j, "steal_frac"), 40 / hz() / 12, "steal_frac");
    check_near(num(j, "other_cpu_s"), 200 / hz(), "other_cpu_s");
    check_near(num(j, "other_frac"), 200 / hz() / 12, "other_frac");
    check_near(num(j, "load1_min"), 0.75, "load1_min");
    check_near(num(j, "load1_max"), 1.25, "load1_max");
    check_near(num(j, "cpu_mhz_mean"), 1750, "cpu_mhz_mean");
    assert_true(is_null(j, "gpu"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "disturbed"))); /* other = 2/12 (hz 100) */
    check_has(cJSON_GetObjectItemCaseSensitive(j, "disturbed_why")->valuestring, "other processes 16.7%");
    cJSON_Delete(j);

    bb_noise_add_gpu_sample(&n, 1410, 0x1 | 0x10 | 0x40);
    j = round_trip(&n);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gpu");
    assert_true(num(g, "sm_mhz_min") == 1410 && num(g, "sm_mhz_max") == 1410 && num(g, "throttle_reasons") == 0x50);
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(g, "throttle_names");
    assert_int_equal(cJSON_GetArraySize(names), 2);
    assert_string_equal(cJSON_GetArrayItem(names, 0)->valuestring, "sync_boost");
    assert_string_equal(cJSON_GetArrayItem(names, 1)->valuestring, "hw_thermal");
    check_has(cJSON_GetObjectItemCaseSensitive(j, "disturbed_why")->valuestring, "GPU throttled: hw_thermal");
    cJSON_Delete(j);
}

/* Nothing read, then non-finite values forced in: all null, never NaN. */
static void test_json_unavailable(void **state)
{
    (void)state;
    bb_noise n;
    bb_noise_init(&n);
    snprintf(n.why_unavailable, sizeof n.why_unavailable, "/proc/stat: No such file or directory");
    cJSON *j = round_trip(&n);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "available")));
    check_has(cJSON_GetObjectItemCaseSensitive(j, "why_unavailable")->valuestring, "/proc/stat");
    const char *nulls[] = {"steal_s", "steal_frac", "other_cpu_s", "other_frac", "cores",
                           "load1_min", "load1_max", "cpu_mhz_mean", "gpu"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!is_null(j, nulls[i]))
            fail_msg("%s is not null", nulls[i]);
    assert_true(num(j, "slices") == 0 && num(j, "wall_s") == 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "disturbed")));
    cJSON_Delete(j);

    n = cpu_noise(NAN, INFINITY);
    n.wall_s = NAN;
    n.cpu_mhz_sum = INFINITY, n.cpu_mhz_n = 1;
    j = round_trip(&n);
    assert_true(is_null(j, "wall_s") && is_null(j, "steal_s") && is_null(j, "steal_frac") &&
                is_null(j, "other_cpu_s") && is_null(j, "other_frac") && is_null(j, "cpu_mhz_mean"));
    cJSON_Delete(j);
}

/* NVML missing, or a library without NVML's symbols: open fails with a
 * reason, sampling notes it, the GPU part stays null. */
static void test_gpu_unavailable(void **state)
{
    fixture *f = *state;
    put_stat(f, &k_stat_a, 1), put_self(f, 1, 1);
    bb_noise_src *s = &f->src;
    assert_int_equal(bb_noise_src_open(s), 0); /* gpu not asked for */
    assert_null(s->nvml);
    s->gpu = 1;
    bb_noise n;
    bb_noise_mark m;
    bb_noise_mark_now(s, &m);
    bb_noise_init(&n);
    bb_noise_add(s, &m, &m, &n); /* never opened */
    check_has(n.why_unavailable, "GPU: NVML not opened");
    s->nvml_lib = "libbb-no-such-nvml.so.1";
    assert_int_equal(bb_noise_src_open(s), -1);
    assert_null(s->nvml);
    check_has(s->gpu_why, "GPU: NVML not available (libbb-no-such-nvml.so.1");
    bb_noise_init(&n);
    bb_noise_add(s, &m, &m, &n);
    assert_false(n.have_gpu);
    check_has(n.why_unavailable, "GPU: NVML not available");
    cJSON *j = round_trip(&n);
    assert_true(is_null(j, "gpu"));
    cJSON_Delete(j);
    s->nvml_lib = "libm.so.6";
    assert_int_equal(bb_noise_src_open(s), -1);
    check_has(s->gpu_why, "GPU: NVML library lacks nvmlInit_v2");
    s->nvml_lib = NULL; /* the real one: absent here, present on a GPU machine */
    if (bb_noise_src_open(s) == 0) {
        bb_noise_add(s, &m, &m, &n);
        assert_true(n.have_gpu);
    } else {
        check_has(s->gpu_why, "GPU: ");
    }
    bb_noise_src_close(s);
    bb_noise_src_close(s);
    assert_null(s->nvml);
}

/* A stand-in libnvidia-ml: one device (index 0, PCI 00000000:65:00.0);
 * nvmlInit's code, the SM clock (0: "not supported") and the throttle
 * reasons come from the state file. Only the pre-12.2 reasons name. */
static const char k_fake_nvml[] =
    "#include <stdio.h>\n#include <string.h>\n"
    "typedef struct dev *dev_t_;\nstatic char the_dev;\n#define D ((dev_t_)(void *)&the_dev)\n"
    "static int state(int *i, unsigned *m, unsigned long long *r) {\n"
    "  FILE *f = fopen(STATE, \"r\"); int ok = f && fscanf(f, \"%d %u %llx\", i, m, r) == 3;\n"
    "  if (f) fclose(f); return ok ? 0 : 999; }\n"
    "int nvmlInit_v2(void) { int i; unsigned m; unsigned long long r; return state(&i, &m, &r) ? 999 : i; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
    "int nvmlDeviceGetHandleByIndex_v2(unsigned i, dev_t_ *d) { if (i) return 2; *d = D; return 0; }\n"
    "int nvmlDeviceGetHandleByPciBusId_v2(const char *id, dev_t_ *d) {\n"
    "  if (strcmp(id, \"00000000:65:00.0\")) return 6; *d = D; return 0; }\n"
    "int nvmlDeviceGetClockInfo(dev_t_ d, int type, unsigned *m) { int i; unsigned long long r;\n"
    "  return d != D || type != 1 || state(&i, m, &r) || !*m ? 3 : 0; }\n"
    "int nvmlDeviceGetCurrentClocksThrottleReasons(dev_t_ d, unsigned long long *r) { int i; unsigned m;\n"
    "  return d != D || state(&i, &m, r) ? 3 : 0; }\n";

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

static void test_gpu_fake_nvml(void **state)
{
    fixture *f = *state;
    char lib[256];
    if (build_fake_nvml(f, lib, sizeof lib) != 0)
        skip();
    bb_noise_src *s = &f->src;
    s->gpu = 1, s->nvml_lib = lib;
    put(f, "nvml-state", "1 0 0\n"); /* nvmlInit fails */
    assert_int_equal(bb_noise_src_open(s), -1);
    check_has(s->gpu_why, "GPU: NVML: nvmlInit_v2 failed: ");
    check_has(s->gpu_why, "(NVML error 1)");
    put(f, "nvml-state", "0 1980 0x5\n");
    s->gpu_pci_bus_id = "0000:01:00.0";
    assert_int_equal(bb_noise_src_open(s), -1);
    check_has(s->gpu_why, "no device 0000:01:00.0: ");
    check_has(s->gpu_why, "(NVML error 6)");
    s->gpu_pci_bus_id = NULL; /* index 0 */
    assert_int_equal(bb_noise_src_open(s), 0);
    s->gpu_pci_bus_id = "00000000:65:00.0";
    assert_int_equal(bb_noise_src_open(s), 0); /* replaces the open above (valgrind: no leak) */
    assert_non_null(s->nvml);

    put_stat(f, &k_stat_a, 1), put_self(f, 1, 1);
    bb_noise_mark m;
    bb_noise_mark_now(s, &m);
    bb_noise n;
    bb_noise_init(&n);
    bb_noise_add(s, &m, &m, &n);
    put(f, "nvml-state", "0 1410 0x102\n");
    bb_noise_add(s, &m, &m, &n);
    assert_true(n.have_gpu);
    check_near(n.gpu_sm_mhz_min, 1410, "sm min"), check_near(n.gpu_sm_mhz_max, 1980, "sm max");
    assert_int_equal(n.gpu_throttle_reasons, 0x104);
    assert_null(strstr(n.why_unavailable, "GPU"));
    put(f, "nvml-state", "0 0 0x8\n"); /* clock "not supported" */
    bb_noise_add(s, &m, &m, &n);
    check_has(n.why_unavailable, "GPU: NVML could not read the SM clock");
    assert_int_equal(n.gpu_throttle_reasons, 0x10C);
    check_near(n.gpu_sm_mhz_min, 1410, "sm min kept");
    char why[160];
    assert_true(bb_noise_disturbed(&n, why, sizeof why));
    assert_string_equal(why, "GPU throttled: sw_power_cap, hw_slowdown");
    bb_noise_src_close(s);
}

/* The real /proc: whatever the machine does, the figures are sane. */
static void test_real_proc(void **state)
{
    (void)state;
    bb_noise_mark a, b;
    bb_noise_mark_now(NULL, &a); /* NULL: /proc and /sys */
    volatile double x = 0;
    for (double t0 = bb_now_s(); bb_now_s() - t0 < 0.05;)
        x += 1.0;
    bb_noise_mark_now(NULL, &b);
    assert_true(a.have_stat && a.have_self && b.have_stat && b.have_self);
    assert_true(b.self_cpu_s >= a.self_cpu_s && b.total_busy_s >= a.total_busy_s);
    bb_noise n;
    bb_noise_init(&n);
    bb_noise_add(NULL, &a, &b, &n);
    assert_true(n.have_cpu);
    assert_true(n.cores >= 1);
    assert_true(n.wall_s >= 0.05);
    assert_true(n.steal_s >= 0 && n.other_cpu_s >= 0);
    assert_true(bb_noise_steal_frac(&n) >= 0 && bb_noise_other_frac(&n) >= 0);
    assert_true(n.load1_max >= 0 || strstr(n.why_unavailable, "loadavg"));
    assert_true(n.cpu_mhz_n == 0 || n.cpu_mhz_sum > 0);
    cJSON *j = round_trip(&n);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "available")));
    assert_true(num(j, "cores") >= 1);
    cJSON_Delete(j);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_two_slices),       T(test_cpuinfo_fallback), T(test_missing_files),   T(test_unreadable),
        T(test_malformed),        T(test_backwards),        T(test_disturbed_thresholds), T(test_gpu_reasons),
        T(test_json),             T(test_json_unavailable), T(test_gpu_unavailable), T(test_gpu_fake_nvml),
        T(test_real_proc),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
