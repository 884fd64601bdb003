/* weights.c — random and safetensors weights for a graph (weights.h). */
#include "engine/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

/* ---- deterministic random values --------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t name_hash(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* uniform in [lo, hi) */
static void fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t state)
{
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(splitmix64(&state) >> 40) / (double)(1ULL << 24);
        x[i] = (float)(lo + (hi - lo) * u);
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Variance gain of a conv/linear weight, from what its output feeds:
 * 2 before a ReLU-like activation (it halves the second moment), small
 * before a sigmoid gate and at the end of a residual branch (each block then adds a little to
 * the stream instead of doubling it), 1 otherwise. BatchNorm in between is
 * looked through: its random statistics are near (0, 1). */
#define RESIDUAL_BRANCH_GAIN 0.1
#define SIGMOID_GAIN 0.1 /* squeeze-excitation logits stay small: no gate
                            saturates to a subnormal (sigmoid(-90) ~ 1e-39) */

static int first_reader(const bb_graph *g, int t)
{
    for (int i = 0; i < g->n_ops; i++)
        if (g->ops[i].in[0] == t || (g->ops[i].n_in > 1 && g->ops[i].in[1] == t))
            return i;
    return -1;
}

static double weight_gain(const bb_graph *g, const bb_op *op)
{
    int r = first_reader(g, op->out);
    if (r >= 0 && g->ops[r].type == BB_OP_BATCHNORM)
        r = first_reader(g, g->ops[r].out);
    if (r < 0)
        return 1.0;
    const bb_op *next = &g->ops[r];
    if (next->type == BB_OP_ADD)
        return RESIDUAL_BRANCH_GAIN;
    if (next->type == BB_OP_ACT && next->act == BB_ACT_SIGMOID)
        return SIGMOID_GAIN;
    if (next->type == BB_OP_ACT)
        return 2.0;
    return 1.0;
}

static void random_tensor(bb_tensor *t, double gain, uint64_t seed)
{
    int64_t n = bb_tensor_numel(t);
    uint64_t st = name_hash(t->name, seed);
    if (t->ndim >= 2 && t->ndim != 3) { /* conv / linear weight */
        double fan_in = (double)n / (double)t->dims[0];
        float a = (float)sqrt(3.0 * gain / fan_in);
        fill_uniform(t->data, n, -a, a, st);
    } else if (t->ndim == 3) { /* class token, position embedding */
        fill_uniform(t->data, n, -0.1f, 0.1f, st);
    } else if (ends_with(t->name, "running_var")) {
        fill_uniform(t->data, n, 0.75f, 1.25f, st);
    } else if (ends_with(t->name, "running_mean") || ends_with(t->name, "bias")) {
        fill_uniform(t->data, n, -0.1f, 0.1f, st);
    } else { /* BN / LN gamma */
        fill_uniform(t->data, n, 0.75f, 1.25f, st);
    }
}

static int alloc_tensor(bb_tensor *t)
{
    free(t->data);
    t->data = malloc((size_t)bb_tensor_numel(t) * sizeof(float));
    return t->data ? 0 : -1;
}

void bb_weights_random(bb_graph *g, uint64_t seed)
{
    double *gain = malloc(sizeof(double) * (size_t)g->n_tensors);
    if (!gain)
        abort();
    for (int i = 0; i < g->n_tensors; i++)
        gain[i] = 1.0;
    for (int i = 0; i < g->n_ops; i++)
        if ((g->ops[i].type == BB_OP_CONV || g->ops[i].type == BB_OP_LINEAR) && g->ops[i].w >= 0)
            gain[g->ops[i].w] = weight_gain(g, &g->ops[i]);
    for (int i = 0; i < g->n_tensors; i++) {
        bb_tensor *t = &g->tensors[i];
        if (!bb_tensor_is_const(t))
            continue;
        if (alloc_tensor(t) != 0) {
            fprintf(stderr, "batchbench: out of memory for weights\n");
            abort();
        }
        random_tensor(t, gain[i], seed);
    }
    free(gain);
}

/* ---- safetensors -------------------------------------------------------- */

const char *bb_head_prefix(const char *model)
{
    if (strncmp(model, "resnet", 6) == 0)
        return "fc.";
    if (strncmp(model, "vit", 3) == 0)
        return "heads.";
    return "classifier.";
}

static void format_dims(char *buf, size_t len, int ndim, const int64_t *dims)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (o < len)
        snprintf(buf + o, len - o, "]");
}

static int load_one(bb_tensor *t, const bb_safetensors *st, bb_err *err)
{
    const bb_st_tensor *s = bb_st_find(st, t->name);
    char want[128], got[128];
    format_dims(want, sizeof want, t->ndim, t->dims);
    if (!s)
        return bb_err_set(err, "%s: missing tensor '%s' (expected shape %s)", st->path, t->name, want);
    if (s->dtype != BB_DT_F32)
        return bb_err_set(err, "%s: tensor '%s': dtype %s, expected F32", st->path, t->name,
                          bb_dtype_name(s->dtype));
    int same = s->ndim == t->ndim;
    for (int i = 0; same && i < t->ndim; i++)
        same = s->dims[i] == t->dims[i];
    if (!same) {
        format_dims(got, sizeof got, s->ndim, s->dims);
        return bb_err_set(err, "%s: tensor '%s': shape %s, expected %s", st->path, t->name, got, want);
    }
    if (alloc_tensor(t) != 0)
        return bb_err_set(err, "%s: tensor '%s': out of memory", st->path, t->name);
    memcpy(t->data, bb_st_data(st, s), (size_t)bb_tensor_numel(t) * sizeof(float));
    return 0;
}

/* Tensors in the file that the graph does not have: allowed only for the
 * bookkeeping counters and, for the features head, the classifier. */
static int check_unexpected(const bb_graph *g, const bb_safetensors *st, bb_err *err)
{
    const char *head = bb_head_prefix(g->model);
    for (int i = 0; i < st->n; i++) {
        const bb_st_tensor *s = &st->tensors[i];
        if (bb_graph_find_tensor(g, s->name) >= 0)
            continue;
        if (ends_with(s->name, "num_batches_tracked"))
            continue;
        if (g->head == BB_HEAD_FEATURES && strncmp(s->name, head, strlen(head)) == 0)
            continue;
        return bb_err_set(err, "%s: unexpected tensor '%s' (not part of %s with the %s head)",
                          st->path, s->name, g->model, bb_head_name(g->head));
    }
    return 0;
}

int bb_weights_load(bb_graph *g, const char *path, bb_err *err)
{
    bb_safetensors st;
    memset(&st, 0, sizeof st);
    if (bb_st_open(&st, path, err) != 0)
        return -1;
    int rc = check_unexpected(g, &st, err);
    for (int i = 0; rc == 0 && i < g->n_tensors; i++) {
        bb_tensor *t = &g->tensors[i];
        if (bb_tensor_is_const(t))
            rc = load_one(t, &st, err);
    }
    bb_st_close(&st);
    return rc;
}
