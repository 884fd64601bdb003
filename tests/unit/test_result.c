/*
 * test_result.c — unit tests for src/report/result.c.
 *
 * Why this file exists: result files are the sweep's product and what
 * --resume and summary.csv trust, so the tests check that a written file
 * holds every documented field (docs/result-schema.md) with the right type
 * and no undocumented ones, that raw times round-trip exactly, that failures
 * (missing, unwritable or file-as-directory paths, a failing rename, a full
 * disk) name the path and leave no partial file, and that summary.csv has
 * its exact header, one sorted row per good file and a warning per bad one.
 * Every test works in its own temporary directory (passed as the state).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stats/stats.h"
#include "results/result.h"
#include "fake_result.h"
#include "remove_tree.h"

/* ---- helpers ---------------------------------------------------------------- */

static int setup_dir(void **state)
{
    char *dir = malloc(64);
    if (!dir)
        return -1;
    snprintf(dir, 64, "/tmp/bb_result_test_XXXXXX");
    *state = dir;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    remove_tree(*state);
    free(*state);
    return 0;
}

/* Number of entries in dir (without . and ..). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* "a.b" inside j, or NULL. */
static const cJSON *at(const cJSON *j, const char *path)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = cJSON_GetObjectItemCaseSensitive(j, k);
    return j;
}

static cJSON *parse_file(const char *path)
{
    char *text = slurp(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

/* ---- the documented fields ------------------------------------------------ */

/* Every field of docs/result-schema.md: path and type (s string, n number,
 * b bool, a array, o object, O object keyed by option name (checked in
 * test_backend_options), z null: environment.gpu on a CPU run; its
 * fields when present are checked in test_gpu_env.c). */
static const struct {
    const char *path;
    char type;
} fields[] = {
    {"schema_version", 'n'}, {"tool", 'o'}, {"tool.name", 's'}, {"tool.version", 's'}, {"tool.git_commit", 's'},
    {"created_utc", 's'}, {"status", 's'}, {"message", 's'}, {"config", 'o'}, {"config.model", 's'},
    {"config.family", 's'}, {"config.head", 's'}, {"config.device", 's'}, {"config.engine", 's'},
    {"config.precision", 's'}, {"config.math_mode", 's'}, {"config.input_source", 's'}, {"config.data_dir", 's'}, {"config.preset", 's'}, {"config.batch_size", 'n'},
    {"config.warmup", 'n'}, {"config.reps", 'n'}, {"config.min_time_s", 'n'}, {"config.max_time_s", 'n'},
    {"config.threads", 'n'}, {"config.seed", 'n'}, {"config.backend_options", 'O'}, {"config.identity", 's'}, {"config.reps_mode", 's'}, {"config.min_reps", 'n'},
    {"config.target_ci", 'n'}, {"config.warmup_time_s", 'n'}, {"config.max_config_time_s", 'n'},
    {"config.budget_s", 'n'}, {"config.order_seed", 'n'}, {"config.idle_s", 'n'}, {"measurement", 'o'}, {"measurement.warmup_passes", 'n'},
    {"measurement.warmup_s", 'n'}, {"measurement.interleaved", 'b'}, {"measurement.interleave_fallback", 's'},
    {"measurement.rounds", 'n'}, {"measurement.stop_reason", 's'}, {"measurement.ci_half_width", 'n'},
    {"measurement.measured_wall_s", 'n'}, {"stats.p50_s", 'n'}, {"stats.p90_s", 'n'}, {"stats.p99_s", 'n'},
    {"stats.percentiles", 'a'}, {"environment", 'o'}, {"environment.host", 's'},
    {"environment.cpu_model", 's'}, {"environment.os", 's'}, {"environment.kernel", 's'},
    {"environment.compiler", 's'}, {"environment.onednn", 's'}, {"environment.batchbench_version", 's'},
    {"environment.git_commit", 's'}, {"environment.cores_logical", 'n'}, {"environment.threads_used", 'n'},
    {"environment.mem_total_bytes", 'n'}, {"environment.has_avx512", 'b'}, {"environment.has_avx512_bf16", 'b'},
    {"environment.has_amx", 'b'}, {"environment.peak_gflops", 'z'}, {"environment.peak_source", 's'},
    {"environment.gpu", 'z'}, {"model", 'o'}, {"model.params", 'n'},
    {"model.macs_per_item", 'n'}, {"model.gmac_per_item", 'n'}, {"model.feature_dim", 'n'},
    {"model.weight_bytes", 'n'}, {"model.activation_bytes", 'n'}, {"prepare_s", 'n'}, {"memory", 'o'},
    {"memory.weight_bytes", 'n'}, {"memory.arena_bytes", 'n'}, {"memory.workspace_bytes", 'n'},
    {"memory.peak_bytes", 'n'}, {"stats", 'o'},
    {"stats.n", 'n'}, {"stats.median_s", 'n'},
    {"stats.mean_s", 'n'}, {"stats.std_s", 'n'}, {"stats.min_s", 'n'}, {"stats.max_s", 'n'}, {"stats.p5_s", 'n'},
    {"stats.p95_s", 'n'}, {"stats.ci95_median_lo_s", 'n'}, {"stats.ci95_median_hi_s", 'n'}, {"stats.cv", 'n'},
    {"stats.per_item_median_s", 'n'}, {"stats.items_per_s", 'n'}, {"stats.gflops", 'n'}, {"times_s", 'a'},
    {"input_copy_s", 'a'},
};
#define N_FIELDS (sizeof fields / sizeof *fields)

static int has_type(const cJSON *v, char type)
{
    switch (type) {
    case 's': return cJSON_IsString(v);
    case 'n': return cJSON_IsNumber(v);
    case 'b': return cJSON_IsBool(v);
    case 'a': return cJSON_IsArray(v);
    case 'z': return cJSON_IsNull(v);
    default: return cJSON_IsObject(v);
    }
}

/* Documented children of object `prefix` ("" = top level). */
static int documented_children(const char *prefix)
{
    int n = 0;
    size_t k = strlen(prefix);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const char *p = fields[i].path;
        if (k == 0 ? !strchr(p, '.') : (!strncmp(p, prefix, k) && p[k] == '.' && !strchr(p + k + 1, '.')))
            n++;
    }
    return n;
}

static void check_all_fields(const cJSON *j)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        const cJSON *v = at(j, fields[i].path);
        if (!v || !has_type(v, fields[i].type))
            fail_msg("field %s missing or not of type '%c'", fields[i].path, fields[i].type);
        if (fields[i].type == 'o' && cJSON_GetArraySize(v) != documented_children(fields[i].path))
            fail_msg("object %s has %d fields, %d documented", fields[i].path, cJSON_GetArraySize(v),
                     documented_children(fields[i].path));
    }
    assert_int_equal(cJSON_GetArraySize(j), documented_children(""));
}

/* ---- tests ---------------------------------------------------------------- */

static void test_filename(void **state)
{
    (void)state;
    bb_result r;
    fake_result(&r, "resnet50", 64, NULL, 0);
    char *n = bb_result_filename(&r, "node-1.example.org");
    assert_string_equal(n, "inference_time-node-1.example.org-cpu-model_name-resnet50-batch_size-64.json");
    free(n);
    snprintf(r.device, sizeof r.device, "cpu/0");
    n = bb_result_filename(&r, "my host/x:1");
    assert_string_equal(n, "inference_time-my_host_x_1-cpu_0-model_name-resnet50-batch_size-64.json");
    free(n);
    n = bb_result_filename(&r, NULL);
    assert_string_equal(n, "inference_time-unknown-cpu_0-model_name-resnet50-batch_size-64.json");
    free(n);
}

static void check_values(const cJSON *j, const bb_result *r)
{
    assert_int_equal(at(j, "schema_version")->valueint, 1);
    assert_string_equal(at(j, "tool.name")->valuestring, "batchbench");
    const char *c = at(j, "created_utc")->valuestring;
    assert_int_equal(strlen(c), 20);
    assert_true(c[4] == '-' && c[10] == 'T' && c[13] == ':' && c[19] == 'Z');
    assert_string_equal(at(j, "config.model")->valuestring, r->model);
    assert_string_equal(at(j, "status")->valuestring, "ok");
    assert_true(at(j, "config.batch_size")->valuedouble == 32.0);
    assert_true(at(j, "model.macs_per_item")->valuedouble == 4089184256.0);
    assert_true(at(j, "model.activation_bytes")->valuedouble == 2147483648.0);
    assert_string_equal(at(j, "environment.host")->valuestring, "bench host/1");
    assert_true(cJSON_IsTrue(at(j, "environment.has_avx512")) && cJSON_IsFalse(at(j, "environment.has_amx")));
    bb_stats s;
    assert_int_equal(bb_stats_compute(r->times_s, r->n_times, &s), 0);
    assert_true(at(j, "stats.n")->valueint == r->n_times);
    assert_true(at(j, "stats.median_s")->valuedouble == s.median);
    assert_true(at(j, "stats.ci95_median_lo_s")->valuedouble == s.ci_lo);
    assert_true(at(j, "stats.per_item_median_s")->valuedouble == s.median / 32.0);
    assert_true(at(j, "stats.items_per_s")->valuedouble == 32.0 / s.median);
    assert_true(at(j, "stats.gflops")->valuedouble == 2.0 * 4089184256.0 * 32.0 / s.median / 1e9);
}

static void test_write_and_parse(void **state)
{
    const char *dir = *state;
    double t[] = {0.1234567890123456789, 0.2, 1.0 / 3.0, 0.15, 1e-7, 0.11, 0.12, 0.13, 0.14, 0.16};
    bb_result r;
    bb_env env;
    bb_err err = {0};
    char path[1024], want[1024];
    fake_result(&r, "resnet50", 32, t, 10);
    fake_env(&env);
    assert_int_equal(bb_result_write(dir, &r, &env, path, sizeof path, &err), 0);
    snprintf(want, sizeof want, "%s/inference_time-bench_host_1-cpu-model_name-resnet50-batch_size-32.json", dir);
    assert_string_equal(path, want);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left */
    char *text = slurp(path);
    assert_non_null(strstr(text, "\"seed\":\t18446744073709551615")); /* exact, not rounded */
    free(text);
    cJSON *j = parse_file(path);
    check_all_fields(j);
    check_values(j, &r);
    const cJSON *times = at(j, "times_s");
    assert_int_equal(cJSON_GetArraySize(times), 10);
    for (int i = 0; i < 10; i++) /* bit-exact round trip */
        assert_memory_equal(&cJSON_GetArrayItem(times, i)->valuedouble, &t[i], sizeof(double));
    cJSON_Delete(j);
}

/* No times (e.g. an oom before the first batch): no stats, empty times_s. */
static void test_no_times(void **state)
{
    const char *dir = *state;
    bb_result r;
    bb_err err = {0};
    char path[1024];
    fake_result(&r, "vit_l_16", 1024, NULL, 0);
    snprintf(r.status, sizeof r.status, "oom");
    snprintf(r.message, sizeof r.message, "needs 80 GB");
    assert_int_equal(bb_result_write(dir, &r, NULL, path, sizeof path, &err), 0);
    cJSON *j = parse_file(path);
    assert_null(at(j, "stats"));
    assert_int_equal(cJSON_GetArraySize(at(j, "times_s")), 0);
    assert_true(cJSON_IsNull(at(j, "environment")));
    assert_string_equal(at(j, "message")->valuestring, "needs 80 GB");
    cJSON_Delete(j);
    char status[16];
    assert_int_equal(bb_result_read_status(path, status, sizeof status, NULL, &err), 0);
    assert_string_equal(status, "oom");
}

static void test_read_status_errors(void **state)
{
    const char *dir = *state;
    char path[512], status[16];
    bb_err err = {0};
    snprintf(path, sizeof path, "%s/missing.json", dir);
    assert_int_equal(bb_result_read_status(path, status, sizeof status, NULL, &err), -1);
    assert_non_null(strstr(err.msg, path));
    snprintf(path, sizeof path, "%s/bad.json", dir);
    write_text(path, "{\"schema_version\": 1, \"status\": \"ok\""); /* truncated */
    assert_int_equal(bb_result_read_status(path, status, sizeof status, NULL, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not valid JSON"));
    write_text(path, "{\"schema_version\": 2, \"status\": \"ok\"}");
    assert_int_equal(bb_result_read_status(path, status, sizeof status, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unsupported schema_version 2"));
    write_text(path, "{\"schema_version\": 1}");
    assert_int_equal(bb_result_read_status(path, status, sizeof status, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "no status"));
}

/* Expects bb_result_write into out_dir to fail naming out_dir, and `dir`
 * to hold `entries` entries afterwards (nothing partial left). */
static void expect_write_fails(const char *dir, const char *out_dir, int entries)
{
    double t[] = {0.1, 0.2};
    bb_result r;
    bb_env env;
    bb_err err = {0};
    char path[1024] = "";
    fake_result(&r, "resnet18", 8, t, 2);
    fake_env(&env);
    assert_int_equal(bb_result_write(out_dir, &r, &env, path, sizeof path, &err), -1);
    if (!strstr(err.msg, out_dir))
        fail_msg("message does not name '%s': %s", out_dir, err.msg);
    assert_int_equal(count_entries(dir), entries);
}

static void test_write_unwritable(void **state)
{
    const char *dir = *state;
    char sub[512];
    snprintf(sub, sizeof sub, "%s/does/not/exist", dir);
    expect_write_fails(dir, sub, 0);
    snprintf(sub, sizeof sub, "%s/plainfile", dir); /* a regular file used as a directory */
    write_text(sub, "x");
    expect_write_fails(dir, sub, 1);
    if (geteuid() != 0) { /* root ignores permission bits */
        snprintf(sub, sizeof sub, "%s/ro", dir);
        assert_int_equal(mkdir(sub, 0555), 0);
        expect_write_fails(sub, sub, 0);
    }
}

/* A late failure (rename onto a directory) still removes the temp file. */
static void test_rename_fails(void **state)
{
    const char *dir = *state;
    char blocker[1024];
    snprintf(blocker, sizeof blocker, "%s/inference_time-bench_host_1-cpu-model_name-resnet18-batch_size-8.json",
             dir);
    assert_int_equal(mkdir(blocker, 0755), 0);
    strcat(blocker, "/x");
    assert_int_equal(mkdir(blocker, 0755), 0); /* non-empty: rename cannot replace it */
    expect_write_fails(dir, dir, 1);
}

/* A full disk, simulated with RLIMIT_FSIZE (works as root too). */
static void test_disk_full(void **state)
{
    const char *dir = *state;
    struct rlimit old, small;
    struct sigaction ign = {0}, old_sa;
    ign.sa_handler = SIG_IGN;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
    double t[] = {0.1, 0.2};
    bb_result r;
    bb_err err = {0};
    fake_result(&r, "resnet18", 8, t, 2);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = bb_result_write(dir, &r, NULL, NULL, 0, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &old_sa, NULL);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "too large")); /* strerror(EFBIG): "File too large" */
    assert_int_equal(count_entries(dir), 0);
}

/* Runs bb_summary_csv_write with stderr captured into *warnings. */
static int summary_capturing(const char *dir, char **warnings, bb_err *err)
{
    char log[512];
    snprintf(log, sizeof log, "%s.stderr", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    int rc = bb_summary_csv_write(dir, err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    *warnings = slurp(log);
    unlink(log);
    return rc;
}

static void write_result(const char *dir, const char *model, int64_t bs, const char *device)
{
    double t[] = {0.5, 0.25, 0.75};
    bb_result r;
    bb_env env;
    bb_err err = {0};
    fake_result(&r, model, bs, t, 3);
    snprintf(r.device, sizeof r.device, "%s", device);
    fake_env(&env);
    assert_int_equal(bb_result_write(dir, &r, &env, NULL, 0, &err), 0);
}

static const char *csv_header =
    "file,model,family,head,device,engine,precision,batch_size,threads,status,n,median_s,mean_s,std_s,min_s,"
    "max_s,p5_s,p95_s,ci95_lo_s,ci95_hi_s,cv,per_item_median_s,items_per_s,gflops,params,macs_per_item,"
    "p50_s,p90_s,p99_s,stop_reason,ci_half_width,noise_disturbed,host,sweep,shard,best_batch,recommended_batch,tied,"
    "knee_batch,margin,identity\n";

static void test_summary_csv(void **state)
{
    const char *dir = *state;
    write_result(dir, "resnet50", 64, "cpu");
    write_result(dir, "resnet18", 128, "cpu");
    write_result(dir, "resnet18", 32, "cpu,\"0\""); /* quoted in the CSV */
    char p[512];
    snprintf(p, sizeof p, "%s/inference_time-h-cpu-model_name-broken-batch_size-1.json", dir);
    write_text(p, "{\"schema_version\": 1, \"config\": {");
    snprintf(p, sizeof p, "%s/notes.json", dir); /* not a result name: ignored silently */
    write_text(p, "garbage");
    char *warnings = NULL;
    bb_err err = {0};
    assert_int_equal(summary_capturing(dir, &warnings, &err), 0);
    assert_non_null(strstr(warnings, "model_name-broken-batch_size-1.json"));
    assert_null(strstr(warnings, "notes.json"));
    free(warnings);
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    char *csv = slurp(p), *line2 = strchr(csv, '\n') + 1;
    assert_memory_equal(csv, csv_header, strlen(csv_header));
    const char *want_rows =
        "inference_time-bench_host_1-cpu__0_-model_name-resnet18-batch_size-32.json,resnet18,conv,features,"
        "\"cpu,\"\"0\"\"\",batchbench,fp32,32,4,ok,3,0.5,0.5,0.25,0.25,0.75,0.275,0.725,0.25,0.75,0.5,"
        "0.015625,64,523.4155848,25557032,4089184256,0.5,0.7,0.745,target,0.015,,bench host/1,,,32,32,1,32,0.02,"
        "\"model=resnet18;batch_size=32;host=bench host/1;device=cpu,\"\"0\"\";precision=fp32;head=features;"
        "engine=batchbench;input=random;threads=0;options=\"\n"
        "inference_time-bench_host_1-cpu-model_name-resnet18-batch_size-128.json,resnet18,conv,features,cpu,"
        "batchbench,fp32,128,4,ok,3,0.5,0.5,0.25,0.25,0.75,0.275,0.725,0.25,0.75,0.5,0.00390625,256,2093.662339,"
        "25557032,4089184256,0.5,0.7,0.745,target,0.015,,bench host/1,,,128,128,1,128,0.02,model=resnet18;batch_size=128;"
        "host=bench host/1;device=cpu;precision=fp32;head=features;engine=batchbench;input=random;threads=4;options=\n"
        "inference_time-bench_host_1-cpu-model_name-resnet50-batch_size-64.json,resnet50,conv,features,cpu,"
        "batchbench,fp32,64,4,ok,3,0.5,0.5,0.25,0.25,0.75,0.275,0.725,0.25,0.75,0.5,0.0078125,128,1046.83117,"
        "25557032,4089184256,0.5,0.7,0.745,target,0.015,,bench host/1,,,64,64,1,64,0.02,model=resnet50;batch_size=64;"
        "host=bench host/1;device=cpu;precision=fp32;head=features;engine=batchbench;input=random;threads=4;options=\n";
    assert_string_equal(line2, want_rows);
    free(csv);
}

/* An empty directory gives a header-only summary; a missing one an error. */
static void test_summary_empty_and_missing(void **state)
{
    const char *dir = *state;
    bb_err err = {0};
    char p[512];
    assert_int_equal(bb_summary_csv_write(dir, &err), 0);
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    char *csv = slurp(p);
    assert_string_equal(csv, csv_header);
    free(csv);
    snprintf(p, sizeof p, "%s/nope", dir);
    assert_int_equal(bb_summary_csv_write(p, &err), -1);
    assert_non_null(strstr(err.msg, p));
}

/* measurement.slice_core_rtt_ns as the answer reads it: one positive
 * number or null per slice, anything else not read. */
static void test_slice_rtt_of_json(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc, n;
    } cases[] = {
        {"{\"measurement\": {\"slice_batches\": [3, 4], \"slice_core_rtt_ns\": [80.5, null]}}", 0, 2},
        {"{\"measurement\": {\"slice_batches\": [3, 4], \"slice_core_rtt_ns\": [80.5]}}", 1, 0},
        {"{\"measurement\": {\"slice_batches\": [3], \"slice_core_rtt_ns\": [-2]}}", 1, 0},
        {"{\"measurement\": {\"slice_batches\": [3], \"slice_core_rtt_ns\": [\"80\"]}}", 1, 0},
        {"{\"measurement\": {\"slice_core_rtt_ns\": [80]}}", 1, 0},
        {"{\"measurement\": {\"slice_batches\": [3]}}", 1, 0},
        {"{}", 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        double *rtt = (double *)&rtt;
        int n = -1;
        assert_int_equal(bb_result_slice_rtt_of_json(j, &rtt, &n), cases[i].rc);
        assert_int_equal(n, cases[i].n);
        if (cases[i].rc == 0) {
            assert_true(rtt[0] == 80.5 && rtt[1] == -1.0);
            free(rtt);
        } else {
            assert_null(rtt);
        }
        cJSON_Delete(j);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        T(test_filename),      T(test_write_and_parse), T(test_no_times),    T(test_read_status_errors),
        T(test_write_unwritable), T(test_rename_fails), T(test_disk_full),   T(test_summary_csv),
        T(test_summary_empty_and_missing), cmocka_unit_test(test_slice_rtt_of_json),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
