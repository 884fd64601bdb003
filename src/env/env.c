/*
 * env.c — collects the environment block of a result file (env.h).
 *
 * Why this file exists: the facts that decide how fast a model runs (CPU,
 * vector extensions, memory, threads, library and compiler versions) must be
 * recorded with each result, read from the same sources every time:
 * /proc/cpuinfo, /proc/meminfo, /etc/os-release, uname(2), the compiler's
 * __VERSION__ and oneDNN's dnnl_version(). The GPU block is collected
 * apart (gpu_env.h) and only written here.
 */
#include "env/env.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "backends/backend.h"
#include "util/version.h"

#if defined(__GNUC__) && !defined(__clang__)
#define BB_COMPILER "gcc " __VERSION__
#elif defined(__VERSION__)
#define BB_COMPILER __VERSION__
#else
#define BB_COMPILER "unknown"
#endif

static void set_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src && *src ? src : "unknown");
}

/* Trims spaces, tabs, newlines and one pair of surrounding quotes, in place. */
static char *trim(char *s)
{
    s += strspn(s, " \t\"'");
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n\"'", s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* If line is "<key><blanks><sep>value", returns the trimmed value. */
static char *match_key(char *line, const char *key, char sep)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0)
        return NULL;
    char *p = line + k + strspn(line + k, " \t");
    return *p == sep ? trim(p + 1) : NULL;
}

/* Copies the value of the first line of `path` with this key into out;
 * returns 0, or -1 (out untouched) when the file or key is missing. */
static int read_key(const char *path, const char *key, char sep, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL, *v = NULL;
    size_t cap = 0;
    while (!v && getline(&line, &cap, f) > 0)
        if ((v = match_key(line, key, sep)) != NULL)
            snprintf(out, len, "%s", v);
    free(line);
    fclose(f);
    return v ? 0 : -1;
}

/* Is `flag` one of the space-separated words of `flags`? */
static int has_word(const char *flags, const char *flag)
{
    size_t k = strlen(flag);
    for (const char *p = flags; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n == k && strncmp(p, flag, k) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static void collect_cpu(bb_env *e)
{
    char buf[160], flags[8192] = "";
    set_str(e->cpu_model, sizeof e->cpu_model,
            read_key("/proc/cpuinfo", "model name", ':', buf, sizeof buf) == 0 ? buf : NULL);
    read_key("/proc/cpuinfo", "flags", ':', flags, sizeof flags);
    e->has_avx512 = has_word(flags, "avx512f");
    e->has_avx512_bf16 = has_word(flags, "avx512_bf16");
    e->has_amx = has_word(flags, "amx_tile");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    e->cores_logical = n > 0 ? (int)n : 0;
}

static void collect_system(bb_env *e)
{
    char buf[160];
    struct utsname u;
    int have_u = uname(&u) == 0;
    set_str(e->host, sizeof e->host, have_u ? u.nodename : NULL);
    if (have_u)
        snprintf(e->kernel, sizeof e->kernel, "%.60s %.60s %.30s", u.sysname, u.release, u.machine);
    else
        set_str(e->kernel, sizeof e->kernel, NULL);
    set_str(e->os, sizeof e->os, read_key("/etc/os-release", "PRETTY_NAME", '=', buf, sizeof buf) == 0 ? buf : NULL);
    e->mem_total_bytes = 0;
    if (read_key("/proc/meminfo", "MemTotal", ':', buf, sizeof buf) == 0)
        e->mem_total_bytes = (int64_t)strtoll(buf, NULL, 10) * 1024; /* the value is in kB */
}

static void collect_build(bb_env *e)
{
    const dnnl_version_t *v = dnnl_version();
    set_str(e->compiler, sizeof e->compiler, BB_COMPILER);
    if (v)
        snprintf(e->onednn, sizeof e->onednn, "%d.%d.%d (%.40s)", v->major, v->minor, v->patch,
                 v->hash ? v->hash : "?");
    else
        set_str(e->onednn, sizeof e->onednn, NULL);
    set_str(e->batchbench_version, sizeof e->batchbench_version, BB_VERSION);
    set_str(e->git_commit, sizeof e->git_commit, bb_git_commit());
}

void bb_env_collect(bb_env *e, int threads_used)
{
    memset(e, 0, sizeof *e);
    collect_cpu(e);
    collect_system(e);
    collect_build(e);
    e->threads_used = threads_used > 0 ? threads_used : bb_cpu_default_threads();
}

cJSON *bb_env_to_json(const bb_env *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = cJSON_AddStringToObject(o, "host", e->host) && cJSON_AddStringToObject(o, "cpu_model", e->cpu_model) &&
             cJSON_AddStringToObject(o, "os", e->os) && cJSON_AddStringToObject(o, "kernel", e->kernel) &&
             cJSON_AddStringToObject(o, "compiler", e->compiler) && cJSON_AddStringToObject(o, "onednn", e->onednn) &&
             cJSON_AddStringToObject(o, "batchbench_version", e->batchbench_version) &&
             cJSON_AddStringToObject(o, "git_commit", e->git_commit) &&
             cJSON_AddNumberToObject(o, "cores_logical", e->cores_logical) &&
             cJSON_AddNumberToObject(o, "threads_used", e->threads_used) &&
             cJSON_AddNumberToObject(o, "mem_total_bytes", (double)e->mem_total_bytes) &&
             cJSON_AddBoolToObject(o, "has_avx512", e->has_avx512) &&
             cJSON_AddBoolToObject(o, "has_avx512_bf16", e->has_avx512_bf16) &&
             cJSON_AddBoolToObject(o, "has_amx", e->has_amx) &&
             (e->peak_gflops > 0 ? cJSON_AddNumberToObject(o, "peak_gflops", e->peak_gflops)
                                 : cJSON_AddNullToObject(o, "peak_gflops")) &&
             cJSON_AddStringToObject(o, "peak_source", e->peak_source);
    if (ok) {
        cJSON *gpu = e->gpu.present ? bb_gpu_env_to_json(&e->gpu) : cJSON_CreateNull();
        ok = gpu && cJSON_AddItemToObject(o, "gpu", gpu);
        if (!ok)
            cJSON_Delete(gpu); /* NULL-safe; not attached */
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int64_t bb_mem_available(void)
{
    long long kb = 0;
    char line[256];
    FILE *f = fopen("/proc/meminfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb > 0 ? (int64_t)kb * 1024 : 0;
}
