/*
 * make_seeds.c — writes the seed corpus of the ONNX, .npy, safetensors and
 * data set fuzzers: `make_seeds DIR` fills DIR/onnx, DIR/npy,
 * DIR/safetensors and DIR/dataset (the folders must exist).
 * tests/fuzz/run_fuzz.sh adds the result files.
 *
 * Why this file exists: a fuzzer starting from valid inputs reaches the
 * checks deep inside a reader within seconds instead of never. The ONNX
 * models are built with tests/fuzz/onnx_build.h (no .onnx file is
 * committed), the arrays and weight files with the project's own writers,
 * plus a few hand-made variants those writers do not produce.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/jpeg_synth.h"
#include "fuzz/onnx_build.h"
#include "io/npy.h"
#include "io/safetensors.h"

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };

static int write_bytes(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
    return ok ? 0 : -1;
}

static int write_model(const char *dir, const char *name, oxb *b)
{
    size_t len;
    uint8_t *buf = oxb_pack(b, &len);
    int rc = write_bytes(dir, name, buf, len);
    free(buf);
    oxb_free(b);
    return rc;
}

/* x -> Identity -> y, with initializers of every element type read. */
static void dtypes_model(oxb *b)
{
    static const int types[] = {ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
                                ONNX__TENSOR_PROTO__DATA_TYPE__INT32,  ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
                                ONNX__TENSOR_PROTO__DATA_TYPE__INT8,   ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
                                ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,   I64};
    static const int64_t two[] = {2}, d1[] = {1, 4};
    static const uint8_t raw[16] = {0, 0x3c, 1, 0, 0xff, 0x7f, 2, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    char name[32];
    oxb_init(b, 13);
    oxb_io(b, 0, "x", F32, 2, d1, NULL);
    oxb_io(b, 1, "y", F32, 2, d1, NULL);
    oxb_node(b, "Identity", "id", "x", "y");
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        snprintf(name, sizeof name, "raw%zu", i);
        Onnx__TensorProto *t = oxb_tensor(b, name, types[i], 1, two);
        size_t es = types[i] == I64 || types[i] == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? 8
                    : types[i] == ONNX__TENSOR_PROTO__DATA_TYPE__INT32                 ? 4
                    : types[i] == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
                            types[i] == ONNX__TENSOR_PROTO__DATA_TYPE__INT16
                        ? 2
                        : 1;
        oxb_raw(b, t, raw, 2 * es);
        oxb_init_add(b, t);
        snprintf(name, sizeof name, "typed%zu", i);
        t = oxb_tensor(b, name, types[i], 1, two);
        if (types[i] == I64)
            oxb_int64s(b, t, 2, (const int64_t[]){-1, 1});
        else if (types[i] != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            oxb_int32s(b, t, 2, (const int32_t[]){0x3c00, 1});
        else
            t->n_double_data = 2, t->double_data = oxb_dup(b, (const double[]){0.5, -1e300}, 2 * sizeof(double));
        oxb_init_add(b, t);
    }
}

/* An If node whose branches are graphs, lists of strings, a Constant of
 * each attribute form, and a graph input of a nested sequence type. */
static void attrs_model(oxb *b, oxb *sub)
{
    static const int64_t d1[] = {1, 4}, one[] = {1};
    oxb_init(sub, 13);
    oxb_io(sub, 1, "x", F32, 2, d1, NULL);
    oxb_init(b, 13);
    oxb_io(b, 0, "x", F32, 2, d1, NULL);
    oxb_io(b, 0, "cond", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 0, NULL, NULL);
    oxb_io(b, 1, "y", F32, 2, d1, NULL);
    Onnx__NodeProto *n = oxb_node(b, "If", "branch", "cond", "y");
    oxb_attr(b, n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = &sub->graph;
    oxb_attr(b, n, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = &sub->graph;
    Onnx__AttributeProto *a = oxb_attr(b, n, "names", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = 1;
    a->strings = oxb_new(b, sizeof *a->strings);
    a->strings[0].len = 2, a->strings[0].data = (uint8_t *)oxb_str(b, "ab");
    n = oxb_node(b, "Constant", "", NULL, "c1");
    oxb_attr_f(b, n, "value_float", 0.5f);
    n = oxb_node(b, "Constant", "", NULL, "c2");
    oxb_attr_ints(b, n, "value_ints", 1, one);
    n = oxb_node(b, "ConstantOfShape", "fill", "c2", "c3");
    Onnx__TensorProto *t = oxb_tensor(b, NULL, F32, 1, one);
    oxb_floats(b, t, 1, (const float[]){2.0f});
    oxb_attr_t(b, n, "value", t);
    n->domain = oxb_str(b, "ai.onnx");
}

/* An initializer in external data (refused from memory: the fuzzer still
 * walks the message). */
static void external_model(oxb *b)
{
    static const int64_t d1[] = {1, 4};
    oxb_init(b, 17);
    oxb_io(b, 0, "x", F32, 2, d1, NULL);
    oxb_io(b, 1, "y", F32, 2, d1, NULL);
    Onnx__TensorProto *t = oxb_tensor(b, "w", F32, 2, d1);
    oxb_external(b, t, "weights.bin", 0, 16);
    oxb_init_add(b, t);
    oxb_node(b, "Add", "add", "x,w", "y");
}

static int onnx_seeds(const char *dir)
{
    oxb b, sub;
    int rc = 0;
    oxb_small_model(&b);
    rc |= write_model(dir, "small.onnx", &b);
    dtypes_model(&b);
    rc |= write_model(dir, "dtypes.onnx", &b);
    attrs_model(&b, &sub);
    rc |= write_model(dir, "attrs.onnx", &b);
    oxb_free(&sub);
    external_model(&b);
    rc |= write_model(dir, "external.onnx", &b);
    return rc;
}

static int npy_seeds(const char *dir)
{
    static const float v[24] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const int64_t d3[] = {2, 3, 4}, d1[] = {5}, d0[] = {0, 3};
    char path[1024];
    bb_err err = {0};
    int rc = 0;
    const struct { const char *name; int ndim; const int64_t *dims; } a[] = {
        {"scalar.npy", 0, NULL}, {"vector.npy", 1, d1}, {"cube.npy", 3, d3}, {"empty.npy", 2, d0}};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, a[i].name);
        if (bb_npy_write(path, a[i].ndim, a[i].dims, v, &err) != 0)
            rc = -1, fprintf(stderr, "make_seeds: %s\n", err.msg);
    }
    /* format 2.0 (a 4-byte header length), which the writer never uses */
    char hdr[64] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    memset(hdr + strlen(hdr), ' ', sizeof hdr - strlen(hdr));
    hdr[sizeof hdr - 1] = '\n';
    uint8_t file[12 + 64 + 8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 64, 0, 0, 0};
    memcpy(file + 12, hdr, 64);
    memcpy(file + 76, v, 8);
    return rc | write_bytes(dir, "v2.npy", file, sizeof file);
}

static int safetensors_seeds(const char *dir)
{
    static const float w[6] = {1, 2, 3, 4, 5, 6};
    static const int64_t d23[] = {2, 3}, d6[] = {6};
    const char *names[] = {"a.weight", "a.bias"};
    const int ndims[] = {2, 1};
    const int64_t *dims[] = {d23, d6};
    const float *data[] = {w, w};
    char path[1024];
    bb_err err = {0};
    snprintf(path, sizeof path, "%s/two.safetensors", dir);
    int rc = bb_st_write_f32(path, 2, names, ndims, dims, data, &err);
    if (rc != 0)
        fprintf(stderr, "make_seeds: %s\n", err.msg);
    /* other dtypes and metadata, which the writer never produces */
    const char json[] = "{\"__metadata__\":{\"format\":\"pt\"},\"h\":{\"dtype\":\"F16\",\"shape\":[2],"
                        "\"data_offsets\":[0,4]},\"i\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}}";
    uint8_t file[8 + sizeof json - 1 + 12] = {sizeof json - 1};
    memcpy(file + 8, json, sizeof json - 1);
    return rc | write_bytes(dir, "mixed.safetensors", file, sizeof file);
}

/* A data set seed (fuzz_dataset.c's input): the manifest, NUL, one file's
 * name, NUL, then its bytes or its size in decimal. */
static int write_dataset_seed(const char *dir, const char *name, const char *manifest, const char *file,
                              const void *rest, size_t rest_len)
{
    size_t m = strlen(manifest), f = strlen(file), len = m + 1 + f + 1 + rest_len;
    char *buf = malloc(len);
    if (!buf)
        return -1;
    memcpy(buf, manifest, m + 1);
    memcpy(buf + m + 1, file, f + 1);
    memcpy(buf + m + 1 + f + 1, rest, rest_len);
    int rc = write_bytes(dir, name, buf, len);
    free(buf);
    return rc;
}

/* Preprocessed: two items in one shard as `dataset make` writes them, the
 * shard short, and three items in two shards of which one is missing;
 * jpeg: one synthetic photograph, and one file that is not a JPEG. */
static int dataset_seeds(const char *dir)
{
    static const char *const one_shard =
        "{\"format\": \"batchbench-dataset\", \"version\": 1, \"kind\": \"preprocessed\", \"items\": 2, "
        "\"item_shape\": [3, 224, 224], \"dtype\": \"float32\", \"items_per_shard\": 2, \"seed\": 0, "
        "\"shards\": [\"items-00000.f32\"]}";
    static const char *const two_shards =
        "{\"kind\": \"preprocessed\", \"items\": 3, \"items_per_shard\": 2, "
        "\"shards\": [\"items-00000.f32\", \"items-00001.f32\"]}";
    static const char *const jpeg = "{\"kind\": \"jpeg\", \"items\": 1, \"files\": [\"a.jpg\"]}";
    char size[32];
    int rc = 0;
    snprintf(size, sizeof size, "%lld", (long long)(2 * BB_ITEM_FLOATS * sizeof(float)));
    rc |= write_dataset_seed(dir, "two-items", one_shard, "items-00000.f32", size, strlen(size));
    rc |= write_dataset_seed(dir, "short-shard", one_shard, "items-00000.f32", "1000", 4);
    rc |= write_dataset_seed(dir, "missing-shard", two_shards, "items-00000.f32", size, strlen(size));
    rc |= write_dataset_seed(dir, "not-a-jpeg", jpeg, "a.jpg", "not a JPEG", 10);
    unsigned char *img = NULL;
    size_t img_len = 0;
    bb_err err = {0};
    if (bb_jpeg_synth_image(0, 0, 90, &img, &img_len, &err) != 0) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        return -1;
    }
    rc |= write_dataset_seed(dir, "jpeg", jpeg, "a.jpg", img, img_len);
    free(img);
    return rc;
}

int main(int argc, char **argv)
{
    char sub[512];
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR (with DIR/onnx, DIR/npy, DIR/safetensors, DIR/dataset)\n");
        return 2;
    }
    int rc = 0;
    snprintf(sub, sizeof sub, "%.480s/onnx", argv[1]);
    rc |= onnx_seeds(sub);
    snprintf(sub, sizeof sub, "%.480s/npy", argv[1]);
    rc |= npy_seeds(sub);
    snprintf(sub, sizeof sub, "%.480s/safetensors", argv[1]);
    rc |= safetensors_seeds(sub);
    snprintf(sub, sizeof sub, "%.480s/dataset", argv[1]);
    rc |= dataset_seeds(sub);
    return rc ? 1 : 0;
}
