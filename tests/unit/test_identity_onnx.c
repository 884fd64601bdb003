/*
 * test_identity_onnx.c — the identity of an imported (ONNX) model's results.
 *
 * Why this file exists: a user's model is named by its file's base name, so
 * two files of one name (other weights, another export) are easy to have,
 * and their results must never be taken for one another or overwrite each
 * other. These tests check the file's SHA-256 in the identity: two result
 * JSONs that differ only in config.model_sha256 get different keys (from
 * the writer's struct and from the files, the same); a zoo result's key and
 * file name are what they were before imports existed; two such results in
 * one folder get two files (the "-sha256-" tag), both kept, and the folder's
 * table (report) holds them as two models ("<name>@<hash>") in the same
 * setup as the zoo's features results, the imported model ordered after
 * the zoo's. Also the model reference's helpers (input shape, data-set
 * check, family names) without the importer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_result.h"
#include "remove_tree.h"
#include "models/zoo.h"
#include "report/results_load.h"
#include "results/model_ref.h"
#include "results/result.h"
#include "results/result_identity.h"

#define SHA_A "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_B "2222222222222222222222222222222222222222222222222222222222222222"

static double g_times[3] = {0.040, 0.039, 0.041};

/* An imported model's result: base name, file, hash, family and head as run records them. */
static void imported(bb_result *r, const char *file, const char *sha, int64_t bs)
{
    fake_result(r, bb_path_base(file), bs, g_times, 3);
    snprintf(r->family, sizeof r->family, "imported");
    snprintf(r->head, sizeof r->head, "graph");
    snprintf(r->model_file, sizeof r->model_file, "%s", file);
    snprintf(r->model_sha256, sizeof r->model_sha256, "%s", sha);
}

static void key_of_json(const bb_result *r, const bb_env *env, char *key, size_t len)
{
    cJSON *j = bb_result_to_json(r, env);
    assert_non_null(j);
    bb_identity id;
    assert_int_equal(bb_identity_of_json(j, &id), 0);
    bb_identity_key(&id, key, len);
    const cJSON *written = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "config"), "identity");
    assert_string_equal(written->valuestring, key); /* config.identity is the key the reader derives */
    cJSON_Delete(j);
}

static void test_keys_differ_only_by_hash(void **state)
{
    (void)state;
    bb_env env;
    bb_result a, b;
    char ka[BB_IDENTITY_LEN], kb[BB_IDENTITY_LEN], sa[BB_IDENTITY_LEN], sb[BB_IDENTITY_LEN];
    fake_env(&env);
    imported(&a, "models/my_resnet.onnx", SHA_A, 8);
    imported(&b, "other/my_resnet.onnx", SHA_B, 8);
    snprintf(b.model_file, sizeof b.model_file, "%s", a.model_file); /* only the hash differs */
    key_of_json(&a, &env, ka, sizeof ka);
    key_of_json(&b, &env, kb, sizeof kb);
    assert_string_not_equal(ka, kb);
    assert_non_null(strstr(ka, ";model_sha256=" SHA_A));
    assert_non_null(strstr(kb, ";model_sha256=" SHA_B));
    assert_non_null(strstr(ka, "model=my_resnet.onnx;"));
    assert_non_null(strstr(ka, ";head=graph;"));
    bb_identity ia, ib; /* the same from the struct */
    bb_identity_of_result(&a, env.host, &ia);
    bb_identity_of_result(&b, env.host, &ib);
    bb_identity_key(&ia, sa, sizeof sa);
    assert_string_equal(sa, ka);
    bb_identity_plan_key(&ia, sa, sizeof sa); /* a sharded sweep's plan tells them apart too */
    bb_identity_plan_key(&ib, sb, sizeof sb);
    assert_string_not_equal(sa, sb);
    bb_identity_setup_key(&ia, sa, sizeof sa); /* one setup: the model's file is not part of it */
    bb_identity_setup_key(&ib, sb, sizeof sb);
    assert_string_equal(sa, sb);
}

static void test_zoo_unchanged(void **state)
{
    (void)state;
    bb_result r;
    bb_identity id;
    char key[BB_IDENTITY_LEN], setup[BB_IDENTITY_LEN], gsetup[BB_IDENTITY_LEN];
    fake_result(&r, "resnet50", 64, g_times, 3);
    bb_identity_of_result(&r, "h1", &id);
    bb_identity_key(&id, key, sizeof key);
    assert_string_equal(key, "model=resnet50;batch_size=64;host=h1;device=cpu;precision=fp32;head=features;"
                             "engine=batchbench;input=random;threads=4;options=");
    char *name = bb_result_filename(&r, "h1");
    assert_string_equal(name, "inference_time-h1-cpu-model_name-resnet50-batch_size-64.json");
    free(name);
    bb_identity_setup_key(&id, setup, sizeof setup);
    imported(&r, "x.onnx", SHA_A, 64); /* an imported model of the same run: the same setup */
    bb_identity_of_result(&r, "h1", &id);
    bb_identity_setup_key(&id, gsetup, sizeof gsetup);
    assert_string_equal(setup, gsetup);
    assert_string_equal(bb_identity_setup_head("graph"), "features");
    assert_string_equal(bb_identity_setup_head("classifier"), "classifier");
    name = bb_result_filename(&r, "h1");
    assert_string_equal(name, "inference_time-h1-cpu-model_name-x.onnx-batch_size-64-sha256-11111111.json");
    free(name);
}

static int mkdir_tmp(void **state)
{
    char *d = malloc(64);
    snprintf(d, 64, "/tmp/bb_identity_onnx_XXXXXX");
    if (!mkdtemp(d))
        return free(d), -1;
    *state = d;
    return 0;
}

static int rm_tmp(void **state)
{
    remove_tree(*state);
    free(*state);
    return 0;
}

/* Two files of one base name, and a zoo model, into one folder: three files, one table. */
static void test_same_name_two_files(void **state)
{
    const char *dir = *state;
    bb_env env;
    bb_result a, b, z;
    bb_err err = {0};
    char pa[1024], pb[1024], pz[1024];
    fake_env(&env);
    imported(&a, "a/net.onnx", SHA_A, 4);
    imported(&b, "b/net.onnx", SHA_B, 4);
    fake_result(&z, "resnet18", 4, g_times, 3);
    assert_int_equal(bb_result_write(dir, &a, &env, pa, sizeof pa, &err), 0);
    assert_int_equal(bb_result_write(dir, &b, &env, pb, sizeof pb, &err), 0);
    assert_int_equal(bb_result_write(dir, &z, &env, pz, sizeof pz, &err), 0);
    assert_string_not_equal(pa, pb);
    assert_non_null(strstr(pa, "-sha256-11111111"));
    assert_non_null(strstr(pb, "-sha256-22222222"));
    assert_int_equal(access(pa, R_OK), 0); /* the first is still there */
    double per_item;
    assert_int_equal(bb_result_done(dir, &a, env.host, &per_item), 1); /* --resume finds each one's own */
    assert_int_equal(bb_result_done(dir, &b, env.host, &per_item), 1);
    bb_table t;
    const char *dirs[] = {dir};
    assert_int_equal(bb_table_load(&t, dirs, 1, NULL, &err), 0);
    assert_int_equal(t.n_rows, 3);
    assert_int_equal(t.n_duplicate, 0);
    assert_int_equal(t.n_setups, 1); /* graph and features: one setup */
    assert_int_equal(t.setups[0].n_models, 3);
    assert_string_equal(t.setups[0].models[0], "resnet18"); /* the zoo first, then by name */
    assert_string_equal(t.setups[0].models[1], "net.onnx@11111111");
    assert_string_equal(t.setups[0].models[2], "net.onnx@22222222");
    assert_string_equal(bb_table_family(&t, 0, "net.onnx@11111111"), "imported");
    char label[BB_MODEL_NAME_LEN];
    bb_table_model_label(&t, "net.onnx", SHA_B, label, sizeof label);
    assert_string_equal(label, "net.onnx@22222222");
    bb_table_model_label(&t, "resnet18", "", label, sizeof label);
    assert_string_equal(label, "resnet18");
    bb_recommendation rec;
    assert_int_equal(bb_table_recommend(&t, 0, "net.onnx@22222222", &rec), 0);
    bb_table_free(&t);
    assert_int_equal(bb_summary_csv_write(dir, &err), 0);
}

/* One imported file alone keeps its plain name in the table. */
static void test_one_file_plain_name(void **state)
{
    const char *dir = *state;
    bb_env env;
    bb_result a;
    bb_err err = {0};
    fake_env(&env);
    imported(&a, "/abs/path/my_net.onnx", SHA_A, 2);
    assert_int_equal(bb_result_write(dir, &a, &env, NULL, 0, &err), 0);
    bb_table t;
    const char *dirs[] = {dir};
    assert_int_equal(bb_table_load(&t, dirs, 1, NULL, &err), 0);
    assert_int_equal(t.n_rows, 1);
    assert_string_equal(t.rows[0].model, "my_net.onnx");
    assert_string_equal(t.rows[0].model_sha256, SHA_A);
    assert_string_equal(t.setups[0].head, "features");
    bb_table_free(&t);
    assert_true(bb_model_order("my_net.onnx", "vit_l_32") > 0); /* after every zoo model */
    assert_true(bb_model_order("a.onnx", "b.onnx") < 0);
}

static void test_model_ref_helpers(void **state)
{
    (void)state;
    bb_model_ref ref;
    bb_err err = {0};
    char buf[64];
    assert_int_equal(bb_model_ref_resolve(&ref, "resnet18", BB_HEAD_FEATURES, "ignored", &err), 0);
    assert_string_equal(ref.name, "resnet18");
    assert_string_equal(ref.family, "conv"); /* --family is for imported models only */
    assert_string_equal(ref.sha256, "");
    assert_int_equal(ref.imported, 0);
    assert_int_equal(ref.input.floats, 3 * 224 * 224);
    assert_true(ref.facts.macs_per_item > 1000000000LL);
    assert_string_equal(bb_model_ref_head(&ref, BB_HEAD_CLASSIFIER), "classifier");
    bb_model_input_str(&ref.input, 0, buf, sizeof buf);
    assert_string_equal(buf, "[3,224,224]");
    bb_model_input_str(&ref.input, 8, buf, sizeof buf);
    assert_string_equal(buf, "[8,3,224,224]");
    assert_int_equal(bb_model_input_check_item(&ref.input, ref.name, &err), 0);
    bb_model_input other = {3, {3, 299, 299}, 3 * 299 * 299};
    assert_int_equal(bb_model_input_check_item(&other, "inception.onnx", &err), -1);
    assert_non_null(strstr(err.msg, "inception.onnx"));
    assert_non_null(strstr(err.msg, "[3,299,299]"));
    assert_non_null(strstr(err.msg, "[3,224,224]"));
    assert_int_equal(bb_model_ref_resolve(&ref, "/nonexistent/x.onnx", BB_HEAD_FEATURES, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/x.onnx"));
    assert_int_equal(bb_model_ref_resolve(&ref, "no_such_model", BB_HEAD_FEATURES, NULL, &err), -1);
    assert_true(bb_family_name_ok("imported") && bb_family_name_ok("my-detector_v2.1"));
    assert_false(bb_family_name_ok("") || bb_family_name_ok("a b") || bb_family_name_ok("a/b"));
    assert_false(bb_family_name_ok("0123456789012345678901234567890123")); /* 34 characters */
    assert_string_equal(bb_path_base("a/b/c.onnx"), "c.onnx");
    assert_string_equal(bb_path_base("c.onnx"), "c.onnx");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_differ_only_by_hash),
        cmocka_unit_test(test_zoo_unchanged),
        cmocka_unit_test_setup_teardown(test_same_name_two_files, mkdir_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(test_one_file_plain_name, mkdir_tmp, rm_tmp),
        cmocka_unit_test(test_model_ref_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
