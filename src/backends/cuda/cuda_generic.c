/*
 * cuda_generic.c — lowering the generic ops an imported ONNX graph brings
 * (engine/graph.h, BB_OP_BINARY and after), and the zoo ops in forms only
 * imports produce (a BatchNorm no conv took, pooling windows that are not
 * square, activations with parameters), to the kernels of cuda_generic_kernels.cu,
 * cuBLASLt and copies on the stream:
 *   binary, slice, pad, expand, transpose : engine/walk.h walks (the same
 *                                            descriptions the CPU runs)
 *   reshape                               : a device-to-device copy
 *   concat                                : one 2-D copy per input
 *   matmul                                : cuBLASLt, strided-batched; an
 *                                            operand broadcast over some
 *                                            batch axes copied out first
 *   softmax, reduce mean, pools, affine   : their kernels
 * Every activation is dense row-major in its full shape (bb_tensor_shape):
 * graphs with these ops never run channels-last (cu_channels_last).
 * Constant operands are uploaded once in the activation type.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"
#include "engine/fuse.h"

#define R (BB_MAX_DIMS + 2) /* a full shape, or a matmul's padded one */

static int is_const(const bb_graph *g, int t)
{
    return bb_tensor_is_const(&g->tensors[t]);
}

static int full(const bb_backend *b, int t, int64_t *d)
{
    return bb_tensor_shape(b->g, t, b->batch, d);
}

static int64_t numel(int nd, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= d[i];
    return n;
}

/* Tensor t's shape with leading 1s up to nd axes; -1 when it has more. */
static int padded(const bb_backend *b, int t, int nd, int64_t *d)
{
    int64_t s[R];
    int n = full(b, t, s);
    return bb_shape_lead_ones(n, s, nd, d);
}

static int op_at(const bb_backend *b, const bb_op *op)
{
    return (int)(op - b->g->ops);
}

/* Source k of step s: tensor t's buffer, or a constant uploaded once. */
static int operand(bb_backend *b, cu_step *s, int k, int t, bb_err *err)
{
    const bb_tensor *x = &b->g->tensors[t];
    if (!is_const(b->g, t)) {
        s->in[k] = cu_use(b, t, op_at(b, s->op));
        return 0;
    }
    if (!x->data)
        return bb_err_set(err, "cuda: constant '%s' of '%s' has no data", x->name, s->op->label);
    return cu_upload(b, x->data, bb_tensor_numel(x), 1, &s->konst[k], err);
}

static const void *src(const bb_backend *b, const cu_step *s, int k)
{
    return s->konst[k] ? s->konst[k] : cu_ptr(b, s->in[k]);
}

static cu_step *new_step(bb_backend *b, const bb_op *op, cu_step_kind kind, int (*run)(bb_backend *, const cu_step *),
                         bb_err *err)
{
    cu_step *s = cu_new_step(b, op, kind, err);
    if (s)
        s->enqueue = run;
    return s;
}

static int finish(bb_backend *b, const bb_op *op, cu_step *s, bb_err *err)
{
    return (s->out = cu_output(b, op, 0, err)) < 0 ? -1 : 0;
}

/* ---- walks: binary, slice, pad, expand, transpose ---------------------------- */

static int run_walk(bb_backend *b, const cu_step *s)
{
    return cuk_walk(b->dt, &s->walk[0], src(b, s, 0), s->walk[0].n_src > 1 ? src(b, s, 1) : NULL,
                    cu_ptr(b, s->out), b->stream);
}

/* The walk of op over its input of shape d (o: the output's) into w; -1
 * when the op's attributes do not fit the shapes. */
static int describe(const bb_backend *b, const bb_op *op, int nd, const int64_t *d, const int64_t *o, bb_walk *w)
{
    int64_t s0[R], s1[R];
    switch (op->type) {
    case BB_OP_BINARY:
        if (op->n_in != 2 || padded(b, op->in[0], nd, s0) || padded(b, op->in[1], nd, s1) ||
            !bb_broadcasts_to(nd, s0, o) || !bb_broadcasts_to(nd, s1, o))
            return -1;
        bb_walk_init(w, BB_WALK_BINARY, nd, o);
        w->n_src = 2, w->binop = op->binop;
        bb_walk_source(w, 0, s0);
        bb_walk_source(w, 1, s1);
        return 0;
    case BB_OP_EXPAND:
        if (padded(b, op->in[0], nd, s0) || !bb_broadcasts_to(nd, s0, o))
            return -1;
        bb_walk_init(w, BB_WALK_GATHER, nd, o);
        bb_walk_source(w, 0, s0);
        return 0;
    case BB_OP_SLICE:
    case BB_OP_PAD:
        bb_walk_init(w, op->type == BB_OP_PAD ? BB_WALK_PAD : BB_WALK_GATHER, nd, o);
        bb_walk_source(w, 0, d);
        return op->type == BB_OP_PAD ? bb_walk_pad(w, op, d) : bb_walk_slice(w, op, d);
    default: /* transpose */
        bb_walk_init(w, BB_WALK_GATHER, nd, o);
        return bb_walk_transpose(w, op->perm, d);
    }
}

static int lower_walk(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = full(b, op->out, o), ni = full(b, op->in[0], d);
    if (op->type != BB_OP_BINARY && op->type != BB_OP_EXPAND && ni != nd)
        return bb_err_set(err, "cuda: %s '%s': the input's rank is not the output's", bb_op_type_name(op->type),
                          op->label);
    cu_step *s = new_step(b, op, ST_GENERIC, run_walk, err);
    if (!s)
        return -1;
    if (describe(b, op, nd, d, o, &s->walk[0]) != 0)
        return bb_err_set(err, "cuda: %s '%s': its attributes do not fit its input and output shapes",
                          bb_op_type_name(op->type), op->label);
    bb_walk_simplify(&s->walk[0]);
    for (int k = 0; k < s->walk[0].n_src; k++)
        if (operand(b, s, k, op->in[k], err) != 0)
            return -1;
    return finish(b, op, s, err);
}

/* ---- copies: reshape, concat --------------------------------------------------- */

static int run_copy(bb_backend *b, const cu_step *s)
{
    return (int)cudaMemcpyAsync(cu_ptr(b, s->out), src(b, s, 0), (size_t)s->shape[0], cudaMemcpyDeviceToDevice,
                                b->stream);
}

static int lower_reshape(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = full(b, op->in[0], d), no = full(b, op->out, o);
    if (numel(nd, d) != numel(no, o))
        return bb_err_set(err, "cuda: reshape '%s': %lld elements in, %lld out", op->label, (long long)numel(nd, d),
                          (long long)numel(no, o));
    cu_step *s = new_step(b, op, ST_GENERIC, run_copy, err);
    if (!s || operand(b, s, 0, op->in[0], err) != 0)
        return -1;
    s->shape[0] = numel(no, o) * (int64_t)b->es;
    return finish(b, op, s, err);
}

/* Each input's rows (everything from the axis on) copied side by side into
 * the output's shape[0] rows of shape[1] bytes. */
static int run_concat(bb_backend *b, const cu_step *s)
{
    const bb_op *op = s->op;
    const int64_t rows = s->shape[0], out_row = s->shape[1];
    int64_t at = 0;
    for (int j = 0; j < op->n_in; j++) {
        int64_t d[R];
        int nd = full(b, op->in[j], d);
        int64_t row = numel(nd - op->axis, d + op->axis) * (int64_t)b->es;
        cudaError_t e = cudaMemcpy2DAsync((char *)cu_ptr(b, s->out) + at, (size_t)out_row,
                                          cu_ptr(b, b->tbuf[op->in[j]]), (size_t)row, (size_t)row, (size_t)rows,
                                          cudaMemcpyDeviceToDevice, b->stream);
        if (e != cudaSuccess)
            return (int)e;
        at += row;
    }
    return 0;
}

static int lower_concat(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t o[R], d[R], along = 0;
    int nd = full(b, op->out, o), ok = op->axis >= 0 && op->axis < nd;
    for (int j = 0; ok && j < op->n_in; j++) {
        ok = !is_const(b->g, op->in[j]) && full(b, op->in[j], d) == nd;
        for (int i = 0; ok && i < nd; i++)
            ok = i == op->axis || d[i] == o[i];
        along += ok ? d[op->axis] : 0;
    }
    if (!ok || along != o[op->axis])
        return bb_err_set(err, "cuda: concat '%s': the inputs (activations of the output's rank) do not join "
                               "into the output's shape along axis %d", op->label, op->axis);
    cu_step *s = new_step(b, op, ST_GENERIC, run_concat, err);
    if (!s)
        return -1;
    for (int j = 0; j < op->n_in; j++)
        cu_use(b, op->in[j], op_at(b, op));
    s->in[0] = b->tbuf[op->in[0]];
    s->shape[0] = numel(op->axis, o), s->shape[1] = numel(nd - op->axis, o + op->axis) * (int64_t)b->es;
    return finish(b, op, s, err);
}

/* ---- kernels: activations, affine, softmax, reduce mean, pools ------------------ */

static int run_act(bb_backend *b, const cu_step *s)
{
    const bb_op *op = s->op;
    return cuk_act(b->dt, src(b, s, 0), cu_ptr(b, s->out), s->shape[0], op->act, op->alpha, op->beta, b->stream);
}

static int run_affine(bb_backend *b, const cu_step *s)
{
    return cuk_affine(b->dt, src(b, s, 0), cu_ptr(b, s->out), s->p0, s->p1, s->shape[0], s->shape[1], s->shape[2],
                      s->act, b->stream);
}

static int run_softmax(bb_backend *b, const cu_step *s)
{
    return cuk_softmax_axis(b->dt, src(b, s, 0), cu_ptr(b, s->out), s->shape[0], s->shape[1], s->shape[2],
                            s->op->log_softmax, b->stream);
}

static int run_reduce_mean(bb_backend *b, const cu_step *s)
{
    return cuk_reduce_mean(b->dt, src(b, s, 0), cu_ptr(b, s->out), &s->walk[0], &s->walk[1], s->op->reduce_sum,
                           b->stream);
}

static int run_pool(bb_backend *b, const cu_step *s)
{
    const bb_op *op = s->op;
    const int64_t *p = s->shape;
    cuk_window w = {(int)p[1], (int)p[2], (int)p[3], (int)p[4], op->kh, op->kw, op->sh, op->sw, op->pad_t, op->pad_l,
                    op->dil_h, op->dil_w, op->type == BB_OP_AVGPOOL, op->count_include_pad};
    return cuk_pool(b->dt, src(b, s, 0), cu_ptr(b, s->out), p[0], &w, b->stream);
}

/* The BatchNorm as y = x * scale + shift per channel (axis 1), then its
 * fused activation. */
static int lower_affine(bb_backend *b, const bb_op *op, cu_step *s, int nd, const int64_t *d, bb_err *err)
{
    const bb_graph *g = b->g;
    const int64_t c = nd > 1 ? d[1] : 0;
    const bb_tensor *ts[4] = {op->w >= 0 ? &g->tensors[op->w] : NULL, op->b >= 0 ? &g->tensors[op->b] : NULL,
                              op->aux[0] >= 0 ? &g->tensors[op->aux[0]] : NULL,
                              op->aux[1] >= 0 ? &g->tensors[op->aux[1]] : NULL};
    for (int i = 0; i < 4; i++)
        if (!ts[i] || !ts[i]->data || bb_tensor_numel(ts[i]) != c)
            return bb_err_set(err, "cuda: batch norm '%s': it needs gamma, beta, mean and variance of %lld channels",
                              op->label, (long long)c);
    float *scale = malloc((size_t)c * 2 * sizeof(float));
    if (!scale)
        return bb_err_set(err, "out of memory");
    float *shift = scale + c;
    for (int64_t i = 0; i < c; i++) {
        double sc, sh;
        bb_bn_channel(ts[0]->data, ts[1]->data, ts[2]->data, ts[3]->data, op->eps, i, &sc, &sh);
        scale[i] = (float)sc, shift[i] = (float)sh;
    }
    int rc = cu_upload(b, scale, c, 0, (void **)&s->p0, err);
    if (rc == 0)
        rc = cu_upload(b, shift, c, 0, (void **)&s->p1, err);
    free(scale);
    s->shape[1] = numel(nd - 2, d + 2), s->shape[2] = c, s->act = op->post_act;
    return rc;
}

static int lower_reduce_mean(const bb_op *op, cu_step *s, int nd, const int64_t *d, const int64_t *o, bb_err *err)
{
    if (bb_walk_reduce(&s->walk[0], &s->walk[1], op->axes_mask, nd, d, o) != 0)
        return bb_err_set(err, "cuda: reduce_mean '%s': axes_mask and the output's shape do not match the input's",
                          op->label);
    return 0;
}

static int lower_pool(const bb_op *op, cu_step *s, int nd, const int64_t *d, const int64_t *o, bb_err *err)
{
    if (nd != 4 || o[0] != d[0] || o[1] != d[1] || op->kh < 1 || op->kw < 1 || op->sh < 1 || op->sw < 1 ||
        op->dil_h < 1 || op->dil_w < 1)
        return bb_err_set(err, "cuda: %s '%s': a 2-d window over [N, C, H, W] is expected", bb_op_type_name(op->type),
                          op->label);
    s->shape[0] = d[0] * d[1], s->shape[1] = d[2], s->shape[2] = d[3], s->shape[3] = o[2], s->shape[4] = o[3];
    return 0;
}

static int run_groupnorm(bb_backend *b, const cu_step *s)
{
    return cuk_groupnorm(b->dt, src(b, s, 0), cu_ptr(b, s->out), s->p0, s->p1, s->shape[0], s->shape[1],
                         s->shape[2], s->shape[3], s->op->eps, s->act, b->stream);
}

/* [N, C, ...] in groups: shape = runs, groups, channels per group, values
 * per channel; the scale and shift per channel uploaded. */
static int lower_groupnorm(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_graph *g = b->g;
    int64_t d[R];
    int nd = full(b, op->in[0], d);
    const int64_t c = nd > 2 ? d[1] : 0;
    if (nd < 3 || op->groups < 1 || c % op->groups != 0 || op->w < 0 || op->b < 0 || !g->tensors[op->w].data ||
        !g->tensors[op->b].data || bb_tensor_numel(&g->tensors[op->w]) != c ||
        bb_tensor_numel(&g->tensors[op->b]) != c || (op->post_act != BB_ACT_NONE && op->post_act != BB_ACT_RELU))
        return bb_err_set(err, "cuda: groupnorm '%s': needs [N, C, ...] in %d groups, a scale and a shift per "
                               "channel, and no activation but ReLU", op->label, op->groups);
    cu_step *s = new_step(b, op, ST_GENERIC, run_groupnorm, err);
    if (!s || operand(b, s, 0, op->in[0], err) != 0)
        return -1;
    s->shape[0] = d[0] * op->groups, s->shape[1] = op->groups, s->shape[2] = c / op->groups;
    s->shape[3] = numel(nd - 2, d + 2), s->act = op->post_act;
    if (cu_upload(b, g->tensors[op->w].data, c, 0, (void **)&s->p0, err) != 0 ||
        cu_upload(b, g->tensors[op->b].data, c, 0, (void **)&s->p1, err) != 0)
        return -1;
    return finish(b, op, s, err);
}

static int run_resize(bb_backend *b, const cu_step *s)
{
    return cuk_resize(b->dt, src(b, s, 0), cu_ptr(b, s->out), (const bb_resize_tap *)s->p0, s->shape[0],
                      s->shape[1], s->shape[2], s->shape[3], s->shape[4], (int)s->shape[5], b->stream);
}

/* [N, C, H, W] -> [N, C, H', W'] through the taps of engine/resize.c,
 * computed here as the CPU backend computes them and uploaded as they are
 * (p0 holds them: ow columns', then oh rows'). */
static int lower_resize(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    if (full(b, op->in[0], d) != 4 || full(b, op->out, o) != 4 || o[0] != d[0] || o[1] != d[1])
        return bb_err_set(err, "cuda: resize '%s' takes [N, C, H, W] to [N, C, H', W']", op->label);
    int nt;
    bb_resize_tap *taps = bb_resize_plan(&op->resize, d + 2, o + 2, &nt);
    if (!taps)
        return bb_err_set(err, "out of memory");
    cu_step *s = new_step(b, op, ST_GENERIC, run_resize, err);
    int rc = !s || operand(b, s, 0, op->in[0], err) != 0 ? -1 : 0;
    if (rc == 0) {
        s->shape[5] = nt;
        s->shape[0] = d[0] * d[1], s->shape[1] = d[2], s->shape[2] = d[3], s->shape[3] = o[2], s->shape[4] = o[3];
        /* uploaded as raw words: a tap is 48 bytes */
        rc = cu_upload(b, (const float *)taps, (o[3] + o[2]) * (int64_t)(sizeof *taps / sizeof(float)), 0,
                       (void **)&s->p0, err);
    }
    free(taps);
    return rc == 0 ? finish(b, op, s, err) : -1;
}

static int lower_kernel_op(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = full(b, op->in[0], d), rc = 0;
    full(b, op->out, o);
    int (*run)(bb_backend *, const cu_step *) =
        op->type == BB_OP_ACT ? run_act : op->type == BB_OP_BATCHNORM ? run_affine
        : op->type == BB_OP_SOFTMAX ? run_softmax : op->type == BB_OP_REDUCE_MEAN ? run_reduce_mean : run_pool;
    cu_step *s = new_step(b, op, ST_GENERIC, run, err);
    if (!s || operand(b, s, 0, op->in[0], err) != 0)
        return -1;
    s->shape[0] = numel(nd, d);
    if (op->type == BB_OP_BATCHNORM) {
        rc = lower_affine(b, op, s, nd, d, err);
    } else if (op->type == BB_OP_SOFTMAX) {
        if (op->axis < 0 || op->axis >= nd)
            return bb_err_set(err, "cuda: softmax '%s': axis %d is not one of the input's %d", op->label, op->axis,
                              nd);
        s->shape[0] = numel(op->axis, d), s->shape[1] = d[op->axis], s->shape[2] = numel(nd - op->axis - 1,
                                                                                        d + op->axis + 1);
    } else if (op->type == BB_OP_REDUCE_MEAN) {
        rc = lower_reduce_mean(op, s, nd, d, o, err);
    } else if (op->type != BB_OP_ACT) {
        rc = lower_pool(op, s, nd, d, o, err);
    }
    return rc == 0 ? finish(b, op, s, err) : -1;
}

/* ---- matmul ---------------------------------------------------------------------- */

/* Copies a broadcast operand out to the full batch first (walk[k] into
 * scratch[k]) when shape[4 + k] says so; then the batched product. */
static int run_matmul(bb_backend *b, const cu_step *s)
{
    const void *x[2];
    for (int k = 0; k < 2; k++) {
        x[k] = src(b, s, k);
        if (s->shape[4 + k]) {
            int rc = cuk_walk(b->dt, &s->walk[k], x[k], NULL, cu_ptr(b, s->scratch[k]), b->stream);
            if (rc)
                return rc;
            x[k] = cu_ptr(b, s->scratch[k]);
        }
    }
    return cu_gemm_run(b, &s->gemm[0], x[1], x[0], cu_ptr(b, s->out));
}

int cu_setup_matmul(bb_backend *b, cu_step *s, bb_err *err)
{
    const int64_t *p = s->shape;
    const void *a = s->shape[4] ? cu_ptr(b, s->scratch[0]) : src(b, s, 0);
    const void *bm = s->shape[5] ? cu_ptr(b, s->scratch[1]) : src(b, s, 1);
    cu_batched bt = {p[0], p[1], p[2], p[3], p[1] * p[2], p[2] * p[3]};
    cu_gemm_ptrs ptrs = {bm, a, cu_ptr(b, s->out)};
    return cu_gemm_batched(b, &s->gemm[0], &bt, &ptrs, s->op->label, err);
}

/* Operand k's batch axes (the first nd - 2 of X) against the product's D:
 * the same (strided), or anything else (copied out to D's batch). */
static int matmul_operand(bb_backend *b, cu_step *s, int k, int nd, const int64_t *X, const int64_t *D, bb_err *err)
{
    int64_t want[R];
    int same = 1;
    for (int i = 0; i < nd - 2; i++)
        same &= X[i] == D[i], want[i] = D[i];
    if (same)
        return 0;
    want[nd - 2] = X[nd - 2], want[nd - 1] = X[nd - 1];
    bb_walk_init(&s->walk[k], BB_WALK_GATHER, nd, want);
    bb_walk_source(&s->walk[k], 0, X);
    bb_walk_simplify(&s->walk[k]);
    s->shape[4 + k] = 1;
    s->scratch[k] = cu_scratch(b, s->op, numel(nd, want) * (int64_t)b->es, err);
    return s->scratch[k] < 0 ? -1 : 0;
}

static int lower_matmul(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t a[R], c[R], A[R], B[R], D[R], o[R];
    int nd = op->n_in == 2 ? bb_matmul_shapes(full(b, op->in[0], a), a, full(b, op->in[1], c), c, A, B, D) : -1;
    if (nd < 0 || numel(nd, D) != numel(full(b, op->out, o), o))
        return bb_err_set(err, "cuda: matmul '%s': operand shapes do not multiply to the output's", op->label);
    cu_step *s = new_step(b, op, ST_MATMUL, run_matmul, err);
    if (!s || operand(b, s, 0, op->in[0], err) != 0 || operand(b, s, 1, op->in[1], err) != 0)
        return -1;
    int64_t count = numel(nd - 2, D), b_shared = numel(nd - 2, B) == 1;
    s->shape[1] = A[nd - 2], s->shape[2] = A[nd - 1], s->shape[3] = B[nd - 1];
    if (b_shared && numel(nd - 2, A) == count) {
        /* one weight for every row of every item: a single product */
        s->shape[0] = 1, s->shape[1] *= count;
    } else {
        s->shape[0] = count;
        if (matmul_operand(b, s, 0, nd, A, D, err) != 0 || matmul_operand(b, s, 1, nd, B, D, err) != 0)
            return -1;
    }
    return finish(b, op, s, err);
}

/* ---- LSTM and GRU ------------------------------------------------------------------ */

/* Per time step: g = H R^T (cuBLASLt, from the previous step's H; none at
 * the first), then the cell kernel. */
static int run_rnn(bb_backend *b, const cu_step *s)
{
    const int64_t rows = s->shape[0], steps = s->shape[1], h = s->shape[2];
    void *hbuf = cu_ptr(b, s->scratch[0]), *g = cu_ptr(b, s->scratch[1]);
    for (int64_t step = 0; step < steps; step++) {
        const int64_t at = s->shape[3] ? steps - 1 - step : step;
        int rc = step ? cu_gemm_run(b, &s->gemm[0], s->w, hbuf, g) : 0;
        if (!rc)
            rc = cuk_rnn_step(b->dt, (int)s->shape[4], src(b, s, 0), step ? g : NULL, s->p0, s->p1, hbuf,
                              cu_ptr(b, s->out), rows, steps, h, at, b->stream);
        if (rc)
            return rc;
    }
    return 0;
}

int cu_setup_rnn(bb_backend *b, cu_step *s, bb_err *err)
{
    cu_gemm_ptrs p = {s->w, cu_ptr(b, s->scratch[0]), cu_ptr(b, s->scratch[1])};
    return cu_gemm_linear(b, &s->gemm[0], s->shape[0], s->shape[2], s->shape[4] * s->shape[2], NULL, BB_ACT_NONE, 0,
                          &p, s->op->label, err);
}

/* BB_OP_LSTM and BB_OP_GRU: shape = rows, steps, H, reverse, gates; w = R
 * [G*H, H] in the activation type; p0 = an LSTM's C (fp32, rows x H); p1 =
 * a GRU's R bias of h (fp32 [H]) or NULL; scratch = H ([rows, H]) and
 * H R^T ([rows, G*H]). */
static int lower_rnn(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    const int64_t gates = op->type == BB_OP_LSTM ? 4 : 3;
    const int nd = full(b, op->in[0], d), no = full(b, op->out, o);
    const int64_t steps = nd >= 2 ? d[nd - 2] : 0, h = d[nd - 1] / gates;
    const int64_t rows = steps > 0 && h > 0 ? numel(nd, d) / (steps * gates * h) : 0;
    const bb_tensor *r = op->w >= 0 ? &b->g->tensors[op->w] : NULL, *rb = op->b >= 0 ? &b->g->tensors[op->b] : NULL;
    if (nd < 2 || d[nd - 1] != gates * h || rows < 1 || !r || !r->data || r->ndim != 2 || r->dims[0] != gates * h ||
        r->dims[1] != h || numel(no, o) != rows * steps * h || (rb && (!rb->data || bb_tensor_numel(rb) != h)))
        return bb_err_set(err, "cuda: %s '%s': needs input gates [..., S, %lldH], R [%lldH, H] and an output "
                               "[..., S, H]", bb_op_type_name(op->type), op->label, (long long)gates, (long long)gates);
    cu_step *s = new_step(b, op, ST_RNN, run_rnn, err);
    if (!s || operand(b, s, 0, op->in[0], err) != 0)
        return -1;
    s->shape[0] = rows, s->shape[1] = steps, s->shape[2] = h, s->shape[3] = op->reverse, s->shape[4] = gates;
    float *zeros = gates == 4 ? calloc((size_t)(rows * h), sizeof(float)) : NULL;
    if (gates == 4 && !zeros)
        return bb_err_set(err, "out of memory lowering '%s'", op->label);
    int rc = cu_upload(b, r->data, gates * h * h, 1, &s->w, err) != 0 ||
             (zeros && cu_upload(b, zeros, rows * h, 0, (void **)&s->p0, err) != 0) ||
             (rb && cu_upload(b, rb->data, h, 0, (void **)&s->p1, err) != 0) ? -1 : 0;
    free(zeros);
    if (rc != 0 || (s->scratch[0] = cu_scratch(b, op, rows * h * (int64_t)b->es, err)) < 0 ||
        (s->scratch[1] = cu_scratch(b, op, rows * gates * h * (int64_t)b->es, err)) < 0)
        return -1;
    return finish(b, op, s, err);
}

int cu_lower_generic(bb_backend *b, const bb_op *op, bb_err *err)
{
    if (op->type != BB_OP_BINARY && op->type != BB_OP_MATMUL && op->type != BB_OP_CONCAT && op->n_in != 1)
        return bb_err_set(err, "cuda: %s '%s' takes one input, not %d", bb_op_type_name(op->type), op->label,
                          op->n_in);
    switch (op->type) {
    case BB_OP_BINARY:
    case BB_OP_SLICE:
    case BB_OP_PAD:
    case BB_OP_EXPAND:
    case BB_OP_TRANSPOSE: return lower_walk(b, op, err);
    case BB_OP_RESHAPE: return lower_reshape(b, op, err);
    case BB_OP_CONCAT: return lower_concat(b, op, err);
    case BB_OP_MATMUL: return lower_matmul(b, op, err);
    case BB_OP_ACT:
    case BB_OP_BATCHNORM:
    case BB_OP_SOFTMAX:
    case BB_OP_REDUCE_MEAN:
    case BB_OP_AVGPOOL:
    case BB_OP_MAXPOOL: return lower_kernel_op(b, op, err);
    case BB_OP_GROUPNORM: return lower_groupnorm(b, op, err);
    case BB_OP_RESIZE: return lower_resize(b, op, err);
    case BB_OP_LSTM:
    case BB_OP_GRU: return lower_rnn(b, op, err);
    default:
        return bb_err_set(err, "cuda: op '%s' (%s) has no CUDA lowering", op->label, bb_op_type_name(op->type));
    }
}
