/*
 * test_backend_options.c — the backend options (backends/backend_options.h)
 * and a result's identity (results/result_identity.h): a bad key, value or
 * variable is refused naming it; a flag wins over its environment variable;
 * only non-default options that shape a measurement enter the identity; the
 * identity survives the round trip through a result file; results of other
 * identities get their own files and are never overwritten; --resume
 * (bb_result_done) matches exact identities only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/backend_options.h"
#include "env/env.h"
#include "results/result.h"
#include "results/result_identity.h"
#include "fake_result.h"
#include "remove_tree.h"

static void test_flags(void **state)
{
    (void)state;
    bb_backend_options o;
    memset(&o, 0, sizeof o);
    bb_err err = {0};
    assert_int_equal(bb_opt_set(&o, "cpu.algo=never", "cpu", &err), 0);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CPU_ALGO), "never");
    assert_int_equal(o.source[BB_OPT_CPU_ALGO], BB_OPT_FROM_FLAG);
    assert_int_equal(bb_opt_set(&o, "cpu.nope=1", "cpu", &err), -1);
    assert_non_null(strstr(err.msg, "unknown key 'cpu.nope'"));
    assert_non_null(strstr(err.msg, "cuda.layout")); /* the keys are listed */
    assert_int_equal(bb_opt_set(&o, "cpu.algo=sometimes", "cpu", &err), -1);
    assert_non_null(strstr(err.msg, "cpu.algo: 'sometimes' is not one of measured, always, never"));
    assert_int_equal(bb_opt_set(&o, "cpu.algo", "cpu", &err), -1);
    assert_non_null(strstr(err.msg, "has no value"));
    assert_int_equal(bb_opt_set(&o, "cuda.layout=nchw", "cpu", &err), -1);
    assert_non_null(strstr(err.msg, "option of the cuda backend"));
    assert_int_equal(bb_opt_set(&o, "cuda.layout=nchw", "cuda", &err), 0);
    assert_int_equal(bb_opt_set(&o, "cuda.cudnn_graph=0", "cuda", &err), -1); /* flags take the names only */
}

static void test_environment(void **state)
{
    (void)state;
    bb_backend_options o;
    memset(&o, 0, sizeof o);
    bb_err err = {0};
    setenv("BATCHBENCH_CUDNN_GRAPH", "0", 1);  /* the variable's old spelling of "off" */
    setenv("BATCHBENCH_CUDA_LAYOUT", "nhwc", 1);
    setenv("BATCHBENCH_CPU_ALGO", "always", 1); /* another backend's: ignored on cuda */
    assert_int_equal(bb_opt_set(&o, "cuda.layout=nchw", "cuda", &err), 0);
    assert_int_equal(bb_opt_from_env(&o, "cuda", &err), 0);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CUDNN_GRAPH), "off");
    assert_int_equal(o.source[BB_OPT_CUDNN_GRAPH], BB_OPT_FROM_ENV);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CUDA_LAYOUT), "nchw"); /* the flag wins */
    assert_int_equal(o.source[BB_OPT_CUDA_LAYOUT], BB_OPT_FROM_FLAG);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CPU_ALGO), "measured");
    setenv("BATCHBENCH_CUDA_PATCH_CONV", "0", 1); /* once "on" for any value: now exactly "gemm" */
    assert_int_equal(bb_opt_from_env(&o, "cuda", &err), 0);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CUDA_PATCH_EMBED), "gemm");
    setenv("BATCHBENCH_CUDA_PAD_INPUT", "yes", 1);
    assert_int_equal(bb_opt_from_env(&o, "cuda", &err), -1);
    assert_non_null(strstr(err.msg, "BATCHBENCH_CUDA_PAD_INPUT"));
    assert_non_null(strstr(err.msg, "'yes' is not one of off, on"));
    unsetenv("BATCHBENCH_CUDNN_GRAPH"), unsetenv("BATCHBENCH_CUDA_LAYOUT"), unsetenv("BATCHBENCH_CPU_ALGO");
    unsetenv("BATCHBENCH_CUDA_PATCH_CONV"), unsetenv("BATCHBENCH_CUDA_PAD_INPUT");
}

static void test_identity_options(void **state)
{
    (void)state;
    bb_backend_options o;
    memset(&o, 0, sizeof o);
    bb_err err = {0};
    char buf[256];
    bb_opt_identity(&o, "cuda", buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(bb_opt_set(&o, "cuda.cudnn_log=candidates", "cuda", &err), 0); /* logging: not identity */
    assert_int_equal(bb_opt_set(&o, "cuda.attention=unfused", "cuda", &err), 0);
    assert_int_equal(bb_opt_set(&o, "cuda.layout=nchw", "cuda", &err), 0);
    bb_opt_identity(&o, "cuda", buf, sizeof buf);
    assert_string_equal(buf, "cuda.layout=nchw,cuda.attention=unfused");
    bb_opt_identity(&o, "cpu", buf, sizeof buf);
    assert_string_equal(buf, "");
    /* cuda.gelu=epilogue computes another GELU (tanh form): part of the identity */
    assert_int_equal(bb_opt_set(&o, "cuda.gelu=epilogue", "cuda", &err), 0);
    bb_opt_identity(&o, "cuda", buf, sizeof buf);
    assert_string_equal(buf, "cuda.layout=nchw,cuda.attention=unfused,cuda.gelu=epilogue");
    memset(&o, 0, sizeof o);
    setenv("BATCHBENCH_CUDA_GELU", "1", 1); /* the variable's 0/1 spelling */
    assert_int_equal(bb_opt_from_env(&o, "cuda", &err), 0);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CUDA_GELU), "epilogue");
    assert_int_equal(bb_opt_set(&o, "cuda.gelu=tanh", "cuda", &err), -1);
    assert_non_null(strstr(err.msg, "exact, epilogue"));
    unsetenv("BATCHBENCH_CUDA_GELU");
    /* a fourth choice: the table holds up to four, each one accepted and named */
    assert_int_equal(bb_opt_set(&o, "cuda.attention=measured", "cuda", &err), 0);
    assert_string_equal(bb_opt_value(&o, BB_OPT_CUDA_ATTENTION), "measured");
    bb_opt_identity(&o, "cuda", buf, sizeof buf);
    assert_string_equal(buf, "cuda.attention=measured,cuda.gelu=epilogue");
    assert_int_equal(bb_opt_set(&o, "cuda.attention=flash", "cuda", &err), -1);
    assert_non_null(strstr(err.msg, "fused, unfused, cudnn, measured"));
}

/* A result of resnet18 at batch 4 on host h1 (4 threads, the defaults). */
static void fake(bb_result *r, bb_env *e, double *t)
{
    fake_result(r, "resnet18", 4, t, 2);
    fake_env(e);
    snprintf(e->host, sizeof e->host, "h1");
}

static char *name_of(const bb_result *r)
{
    char *n = bb_result_filename(r, "h1");
    assert_non_null(n);
    return n;
}

static void test_file_names(void **state)
{
    (void)state;
    double t[] = {0.1, 0.2};
    bb_result r;
    bb_env e;
    fake(&r, &e, t);
    char *n = name_of(&r);
    assert_string_equal(n, "inference_time-h1-cpu-model_name-resnet18-batch_size-4.json"); /* the seed's name */
    free(n);
    snprintf(r.precision, sizeof r.precision, "bf16");
    snprintf(r.head, sizeof r.head, "classifier");
    snprintf(r.input_source, sizeof r.input_source, "dataset");
    snprintf(r.engine, sizeof r.engine, "pytorch");
    n = name_of(&r);
    assert_string_equal(n, "inference_time-h1-cpu-model_name-resnet18-batch_size-4-bf16-classifier-engine-pytorch-"
                           "dataset.json");
    free(n);
    fake(&r, &e, t);
    bb_err err = {0};
    assert_int_equal(bb_opt_set(&r.options, "cpu.algo=always", "cpu", &err), 0);
    n = name_of(&r);
    char hash[9];
    bb_identity_hash("cpu.algo=always", hash);
    char want[256];
    snprintf(want, sizeof want, "inference_time-h1-cpu-model_name-resnet18-batch_size-4-opts-%s.json", hash);
    assert_string_equal(n, want);
    free(n);
}

/* The identity written into a file is the one read back from it. */
static void test_round_trip(void **state)
{
    (void)state;
    double t[] = {0.1, 0.2};
    bb_result r;
    bb_env e;
    fake(&r, &e, t);
    bb_err err = {0};
    assert_int_equal(bb_opt_set(&r.options, "cpu.algo=never", "cpu", &err), 0);
    cJSON *j = bb_result_to_json(&r, &e);
    assert_non_null(j);
    bb_identity a, b;
    char ka[BB_IDENTITY_LEN], kb[BB_IDENTITY_LEN];
    bb_identity_of_result(&r, "h1", &a);
    assert_int_equal(bb_identity_of_json(j, &b), 0);
    bb_identity_key(&a, ka, sizeof ka), bb_identity_key(&b, kb, sizeof kb);
    assert_string_equal(ka, kb);
    assert_string_equal(ka, "model=resnet18;batch_size=4;host=h1;device=cpu;precision=fp32;head=features;"
                            "engine=batchbench;input=random;threads=4;options=cpu.algo=never");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cfg, "identity")->valuestring, ka);
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "backend_options"),
                                                        "cpu.algo");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(opt, "value")->valuestring, "never");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(opt, "default")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(opt, "source")->valuestring, "flag");
    /* a file from before cpu.split existed ran every op split over the
     * threads: it is cpu.split=layers, not the default's configuration */
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(cfg, "backend_options");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(opts, "cpu.split"));
    cJSON_DeleteItemFromObjectCaseSensitive(opts, "cpu.split");
    assert_int_equal(bb_identity_of_json(j, &b), 0);
    assert_string_equal(b.options, "cpu.algo=never,cpu.split=layers");
    cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)cfg, "backend_options");
    assert_int_equal(bb_identity_of_json(j, &b), 0);
    assert_string_equal(b.options, "cpu.split=layers");
    cJSON_Delete(j);
}

/* Two identities with one readable name (threads differ): both kept, and
 * --resume finds each one exactly. */
static void test_no_overwrite_and_resume(void **state)
{
    const char *dir = *state;
    double t[] = {0.1, 0.2}, per_item;
    bb_result r1, r2;
    bb_env e;
    fake(&r1, &e, t);
    fake(&r2, &e, t);
    r2.threads = 1;
    bb_err err = {0};
    char p1[1024], p2[1024];
    assert_int_equal(bb_result_done(dir, &r1, "h1", &per_item), 0);
    assert_int_equal(bb_result_write(dir, &r1, &e, p1, sizeof p1, &err), 0);
    assert_int_equal(bb_result_done(dir, &r1, "h1", &per_item), 1);
    assert_true(per_item > 0.0374 && per_item < 0.0376); /* median 0.15 s / 4 items */
    assert_int_equal(bb_result_done(dir, &r2, "h1", &per_item), 0);
    assert_int_equal(bb_result_write(dir, &r2, &e, p2, sizeof p2, &err), 0);
    assert_string_not_equal(p1, p2);
    assert_non_null(strstr(p2, "-id-"));
    assert_int_equal(bb_result_done(dir, &r1, "h1", &per_item), 1);
    assert_int_equal(bb_result_done(dir, &r2, "h1", &per_item), 1);
    char again[1024];
    assert_int_equal(bb_result_write(dir, &r1, &e, again, sizeof again, &err), 0); /* the same identity: replaced */
    assert_string_equal(again, p1);
    bb_result r3;
    fake(&r3, &e, t);
    r3.threads = 3; /* a third identity: its own "-id-" name ... */
    bb_identity id3;
    bb_identity_of_result(&r3, "h1", &id3);
    char *alt = bb_identity_filename(&id3, 1), p3[1024], cmd[2200];
    assert_non_null(alt);
    snprintf(p3, sizeof p3, "%s/%s", dir, alt);
    free(alt);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p1, p3); /* ... taken by r1's result (a hash collision) */
    assert_int_equal(system(cmd), 0);
    assert_int_equal(bb_result_write(dir, &r3, &e, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "not overwriting"));
    assert_int_equal(bb_result_done(dir, &r1, "h1", &per_item), 1); /* both still there */
    assert_int_equal(bb_result_done(dir, &r2, "h1", &per_item), 1);
}

static int setup(void **state)
{
    char tmpl[] = "/tmp/bb_opts_XXXXXX";
    char *d = mkdtemp(tmpl);
    *state = d ? strdup(d) : NULL;
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    remove_tree(*state);
    free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),          cmocka_unit_test(test_environment),
        cmocka_unit_test(test_identity_options), cmocka_unit_test(test_file_names),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test_setup_teardown(test_no_overwrite_and_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
