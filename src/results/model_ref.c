/*
 * model_ref.c — a model's name, file, hash, family, input and facts, once
 * per command (model_ref.h).
 */
#include "results/model_ref.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "models/model.h"
#include "onnx/onnx_import.h"

/* A data set's item (data/dataset.h): [3,224,224]. */
static const int64_t ITEM_DIMS[3] = {3, 224, 224};

void bb_model_input_of(const bb_graph *g, bb_model_input *in)
{
    const bb_tensor *t = &g->tensors[g->input];
    memset(in, 0, sizeof *in);
    in->ndim = t->ndim;
    memcpy(in->dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    in->floats = bb_tensor_numel(t);
}

void bb_shape_str(const int64_t *dims, int ndim, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%" PRId64 "%s", dims[i], i + 1 < ndim ? "," : "");
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

void bb_model_input_str(const bb_model_input *in, int64_t batch, char *buf, size_t len)
{
    int64_t dims[BB_MAX_DIMS + 1];
    int n = 0;
    if (batch > 0)
        dims[n++] = batch;
    for (int i = 0; i < in->ndim; i++)
        dims[n++] = in->dims[i];
    bb_shape_str(dims, n, buf, len);
}

int bb_model_input_check_item(const bb_model_input *in, const char *model, bb_err *err)
{
    if (in->ndim == 3 && !memcmp(in->dims, ITEM_DIMS, sizeof ITEM_DIMS))
        return 0;
    char shape[96];
    bb_model_input_str(in, 0, shape, sizeof shape);
    return bb_err_set(err, "%s takes inputs of %s per item, but a data set's items are [3,224,224]; run it on "
                      "random input (run --input memory)", model, shape);
}

const char *bb_path_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int bb_family_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n >= BB_FAMILY_LEN)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int bb_model_ref_of_graph(bb_model_ref *ref, const char *name, const bb_graph *g, const char *family, bb_err *err)
{
    memset(ref, 0, sizeof *ref);
    ref->imported = g->family == BB_FAMILY_IMPORTED;
    snprintf(ref->name, sizeof ref->name, "%s", ref->imported ? bb_path_base(name) : name);
    snprintf(ref->family, sizeof ref->family, "%s", ref->imported && family ? family : bb_family_name(g->family));
    bb_model_input_of(g, &ref->input);
    if (bb_model_facts_compute(g, 1, &ref->facts) != 0)
        return bb_err_oom(err, "%s: out of memory computing its facts", name);
    if (!ref->imported)
        return 0;
    snprintf(ref->file, sizeof ref->file, "%s", name);
    return bb_sha256_file(name, ref->sha256, err);
}

int bb_model_ref_resolve(bb_model_ref *ref, const char *name, bb_head head, const char *family, bb_err *err)
{
    bb_graph *g = bb_model_build(name, head, err);
    if (!g)
        return -1;
    int rc = bb_model_ref_of_graph(ref, name, g, family, err);
    bb_graph_free(g);
    return rc;
}

const char *bb_model_ref_head(const bb_model_ref *ref, bb_head head)
{
    return ref->imported ? "graph" : bb_head_name(head);
}
