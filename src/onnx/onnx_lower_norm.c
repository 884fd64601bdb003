/*
 * onnx_lower_norm.c — ONNX's normalisations over an item's values, lowered
 * to the engine's layer norm (plus a per-channel affine as a BatchNorm where
 * one is left): LayerNormalization over the last axis or over several
 * trailing ones, InstanceNormalization and GroupNormalization.
 *
 * Why it exists: these three share the trick of seeing the normalised axes
 * as one row of a layer norm and the helpers that build its constants; the
 * rest of the lowering (onnx_lower.c) has no use for them.
 */
#include <stdlib.h>

#include "onnx/onnx_params.h"

#include "onnx/onnx_import_internal.h"

/* A float constant of n copies of v. */
static int const_fill(ox_ctx *c, const char *name, int64_t n, float v)
{
    float *f = malloc(sizeof(float) * (size_t)n);
    if (!f)
        return bb_err_oom(c->err, "out of memory");
    for (int64_t i = 0; i < n; i++)
        f[i] = v;
    int t = ox_const_tensor(c, name, BB_T_BUFFER, 1, &n, f);
    free(f);
    return t;
}

/* A constant input k (scale or bias) broadcast to dims[ndim] (leading 1s
 * beyond them allowed), as n floats. */
static int param_broadcast(ox_ctx *c, const bb_ox_node *nd, int k, int ndim, const int64_t *dims, int64_t n,
                           const char *what)
{
    const bb_ox_val *v = ox_in_static(c, nd, k, what);
    if (!v)
        return -1;
    int ok = v->dtype == BB_OX_F32;
    for (int d = 0; ok && d < v->ndim; d++) {
        int a = ndim - v->ndim + d; /* the axis of dims it meets; < 0: in front of them */
        ok = v->dims[d] == 1 || (a >= 0 && v->dims[d] == dims[a]);
    }
    if (!ok)
        return bb_ox_node_err(c->err, c->m, nd, "its %s does not broadcast to the normalised axes", what);
    int64_t st[BB_OX_MAX_DIMS], idx[BB_OX_MAX_DIMS] = {0};
    bb_ox_bcast_strides(v, ndim, dims, st);
    float *f = malloc(sizeof(float) * (size_t)n);
    if (!f)
        return bb_err_oom(c->err, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < ndim; d++)
            off += idx[d] * st[d];
        f[i] = ((const float *)v->data)[off];
        for (int d = ndim - 1; d >= 0 && ++idx[d] == dims[d]; d--)
            idx[d] = 0;
    }
    int t = ox_const_tensor(c, ox_value_name(c, nd, k), BB_T_PARAM, 1, &n, f);
    free(f);
    return t;
}

/* LayerNormalization over the axes from `axis` on: the zoo's layer norm
 * over the last axis, its scale and bias broadcast to the normalised axes.
 * Over several (nn.LayerNorm([C, H, W])) they are flattened into one
 * around it, and the shape put back. */
int ox_lower_layernorm(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    for (int k = 1; k < nd->n_out; k++) /* an output left out is -1 */
        if (nd->out[k] >= 0 && c->readers[nd->out[k]])
            return bb_ox_node_err(c->err, c->m, nd, "its mean / inverse std outputs are read (not supported)");
    const bb_ox_val *xv = &c->v2[nd->in[0]];
    int last = p.axis == xv->ndim - 1, nn = xv->ndim - (int)p.axis;
    if (!last && (c->g->tensors[x].full_rank || p.axis < 1))
        return bb_ox_node_err(c->err, c->m, nd, "batchbench normalises over the last axis, or over axes after "
                              "the batch's (axis %lld)", (long long)p.axis);
    const int64_t *norm = xv->dims + p.axis;
    int64_t k = 1;
    for (int a = 0; a < nn; a++)
        k *= norm[a];
    int w = param_broadcast(c, nd, 1, nn, norm, k, "scale"), b = -1;
    if (w >= 0 && nd->n_in > 2 && nd->in[2] >= 0)
        b = param_broadcast(c, nd, 2, nn, norm, k, "bias");
    else if (w >= 0)
        b = const_fill(c, "bias", k, 0.f);
    if (b < 0)
        return -1;
    if (last) {
        bb_op *ln = ox_op(c, nd, BB_OP_LAYERNORM, &x, 1, nd->out[0]);
        if (ln)
            ln->w = w, ln->b = b, ln->eps = p.epsilon;
        return ln ? 0 : -1;
    }
    int64_t flat[BB_OX_MAX_DIMS]; /* per item [d1 .. d(axis-1), k] */
    int nf = 0;
    for (int a = 1; a < p.axis; a++)
        flat[nf++] = xv->dims[a];
    flat[nf++] = k;
    int t = bb_graph_add_tensor(c->g, "", BB_T_ACT, nf, flat), y = bb_graph_add_tensor(c->g, "", BB_T_ACT, nf, flat);
    ox_op_into(c, nd, BB_OP_RESHAPE, x, t);
    bb_op *ln = ox_op_into(c, nd, BB_OP_LAYERNORM, t, y);
    ln->w = w, ln->b = b, ln->eps = p.epsilon;
    return ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1;
}

/* 1 when every element of float constant a is v. */
static int all_equal(const bb_ox_val *a, float v)
{
    const float *f = a->data;
    for (int64_t i = 0; i < a->numel; i++)
        if (f[i] != v)
            return 0;
    return 1;
}

/* InstanceNormalization over [N,C,S...]: each (item, channel) normalised
 * over S as a layer norm of [C, prod S], then the per-channel scale and
 * bias as a BatchNorm with mean 0, variance 1 and epsilon 0 (left out when
 * they are 1 and 0, as in torch's GroupNorm export, which reshapes to
 * [N, groups, -1] around it). */
/* GroupNormalization: one BB_OP_GROUPNORM (as torch's decomposed GroupNorm,
 * onnx_patterns.c), a scale and bias per group (opset 18) repeated over
 * its channels. */
int ox_lower_groupnorm(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    const bb_tensor *xt = &c->g->tensors[x];
    if (xt->full_rank || xt->ndim < 2)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs GroupNormalization on [N,C,S...]");
    const int64_t ch = xt->dims[0], per = ch / p.groups;
    const bb_ox_val *sc = ox_in_static(c, nd, 1, "scale"), *bi = sc ? ox_in_static(c, nd, 2, "bias") : NULL;
    float *f = bi ? malloc(sizeof(float) * (size_t)(2 * ch)) : NULL;
    if (!f)
        return bi ? bb_err_oom(c->err, "%s: out of memory", c->m->path) : -1;
    for (int64_t j = 0; j < ch; j++) {
        f[j] = ((const float *)sc->data)[sc->numel == ch ? j : j / per];
        f[ch + j] = ((const float *)bi->data)[bi->numel == ch ? j : j / per];
    }
    int w = ox_const_tensor(c, "gn_scale", BB_T_PARAM, 1, &ch, f);
    int b = w < 0 ? -1 : ox_const_tensor(c, "gn_shift", BB_T_PARAM, 1, &ch, f + ch);
    free(f);
    bb_op *op = b < 0 ? NULL : ox_op(c, nd, BB_OP_GROUPNORM, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    op->w = w, op->b = b, op->groups = (int)p.groups, op->eps = p.epsilon;
    return 0;
}

int ox_lower_instancenorm(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    const bb_tensor xt = c->g->tensors[x];
    if (xt.full_rank || xt.ndim < 2)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs InstanceNormalization on [N,C,...]");
    int64_t ch = xt.dims[0], k = bb_tensor_numel(&xt) / ch, flat[2] = {ch, k};
    const bb_ox_val *sc = ox_in_static(c, nd, 1, "scale"), *bi = sc ? ox_in_static(c, nd, 2, "bias") : NULL;
    if (!bi)
        return -1;
    int affine = !all_equal(sc, 1.f) || !all_equal(bi, 0.f), t = x;
    if (xt.ndim > 2) { /* [C, S...] -> [C, prod S] */
        t = bb_graph_add_tensor(c->g, "", BB_T_ACT, 2, flat);
        ox_op_into(c, nd, BB_OP_RESHAPE, x, t);
    }
    int w = const_fill(c, "ones", k, 1.f), b = w < 0 ? -1 : const_fill(c, "zeros", k, 0.f);
    if (b < 0)
        return -1;
    int direct = xt.ndim == 2 && !affine, y;
    bb_op *ln = direct ? ox_op(c, nd, BB_OP_LAYERNORM, &t, 1, nd->out[0]) : NULL;
    if (!direct) {
        y = bb_graph_add_tensor(c->g, "", BB_T_ACT, 2, flat);
        ln = ox_op_into(c, nd, BB_OP_LAYERNORM, t, y);
    }
    if (!ln)
        return -1;
    ln->w = w, ln->b = b, ln->eps = p.epsilon;
    if (direct)
        return 0;
    if (xt.ndim > 2 && !affine)
        return ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1;
    if (xt.ndim > 2) {
        int z = bb_graph_add_tensor(c->g, "", BB_T_ACT, xt.ndim, xt.dims);
        ox_op_into(c, nd, BB_OP_RESHAPE, y, z);
        y = z;
    }
    int sw = ox_param_1d(c, nd, 1, ch, BB_T_PARAM, "scale"), sb = sw < 0 ? -1 : ox_param_1d(c, nd, 2, ch, BB_T_PARAM, "bias");
    int mean = sb < 0 ? -1 : const_fill(c, "mean", ch, 0.f), var = mean < 0 ? -1 : const_fill(c, "var", ch, 1.f);
    bb_op *bn = var < 0 ? NULL : ox_op(c, nd, BB_OP_BATCHNORM, &y, 1, nd->out[0]);
    if (!bn)
        return -1;
    bn->w = sw, bn->b = sb, bn->aux[0] = mean, bn->aux[1] = var, bn->eps = 0.f;
    return 0;
}
