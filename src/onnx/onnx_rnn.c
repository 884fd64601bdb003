/*
 * onnx_rnn.c — ONNX's recurrent ops (LSTM, GRU, RNN) written out at import:
 * the common LSTM and GRU as one node per direction for the backends' own
 * recurrence kernels, every other form as the plain nodes of each time
 * step, which both backends run with the ops they already have (linear,
 * matmul, slices, sigmoid, tanh, products and sums).
 *
 * Why here: the number of steps is the sequence length, a dim of X known
 * once shapes are, like a Loop's trip count; onnx_flatten.c walks the graph
 * evaluating it at batch 2 and 3 and hands each recurrent node to bb_oxf_rnn.
 *
 * What a node becomes, per direction d (X made batch first, [B, S, I]):
 *   XW = X @ W[d]^T + biases       one matmul by a constant for all steps
 *   step t (forward 0..S-1, reverse S-1..0), from the previous H (and C):
 *     LSTM  g = XW[:, t] + H @ R[d]^T;  i, o, f, c = g's quarters (+ peepholes)
 *           C = sigmoid(i) * tanh(c) + sigmoid(f) * C;  H = sigmoid(o) * tanh(C)
 *     GRU   z, r from XW[:, t] + H @ R_zr^T; h = tanh(XW_h + r * (H @ R_h^T + Rb_h))
 *           (linear_before_reset) or tanh(XW_h + (r * H) @ R_h^T); H = h + z * (H - h)
 *     RNN   H = tanh(XW[:, t] + H @ R[d]^T)
 * A missing or all-zero initial state drops the terms it multiplies at the
 * first step. Y stacks the steps' H in time order ([S, D, B, H], or
 * [B, S, D, H] with layout 1); Y_h and Y_c are the last step's.
 *
 * The common LSTM and GRU (no initial state or clip; LSTM: no peepholes,
 * Y_c unread; GRU: linear_before_reset: what torch exports for nn.LSTM and
 * nn.GRU) are not written out step by step: each direction becomes one
 * node of its own, forward or reverse and batch first, which the importer
 * lowers to a linear (X W^T + biases) and the backends' recurrence kernel
 * (BB_OP_LSTM, BB_OP_GRU): at batch 1 a step's dozen small ops cost more
 * than its arithmetic.
 * Refused, naming the node: activations other than the defaults (the
 * activations attributes), input_forget, a sequence_lens that is not the
 * full length for every item, a sequence axis that scales with the batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_flatten_internal.h"
#include "onnx/onnx_tensor.h"

typedef enum { RNN_LSTM, RNN_GRU, RNN_PLAIN } rnn_kind;

typedef struct {
    int64_t key;
    int v;
} cached_int;

typedef struct {
    flat *fl;
    const bb_ox_node *nd;
    rnn_kind kind;
    int gates;              /* 4 (LSTM: i, o, f, c), 3 (GRU: z, r, h), 1 (RNN) */
    int64_t seq, hidden;
    int dirs, reverse;      /* directions; 1: the one direction is reverse */
    int layout, lbr;        /* lbr: GRU's linear_before_reset */
    int x;                  /* X batch first, [B, S, I] */
    int w, r, b, p;         /* inputs (f values), -1 when omitted */
    int h0, c0;             /* initial states, -1 when omitted or all zeros */
    int clip_lo, clip_hi;   /* the clip's bounds (float constants), -1 without one */
    int whole;              /* each direction one node (whole_form), Y's parts [B, S, 1, H] */
    cached_int *ints;       /* 1-element int64 constants made so far */
    int n_ints, cap_ints;
    char tag[160];          /* the name of the nodes emitted now */
} rnn;

int bb_oxf_is_rnn(const char *op_type)
{
    return !strcmp(op_type, "LSTM") || !strcmp(op_type, "GRU") || !strcmp(op_type, "RNN");
}

static int rnn_err(rnn *r, const char *fmt, const char *what)
{
    return bb_ox_node_err(r->fl->err, r->fl->f, r->nd, fmt, what);
}

/* ---- emitting nodes ------------------------------------------------------------------ */

/* op_type(in[0..n_in)) with at most one int or ints attribute (attr NULL:
 * none; n_attr_ints < 0: one int), into a new value, or into m's value
 * out_m (>= 0). Its f value, or -1. */
static int emit_attr(rnn *r, const char *op_type, int n_in, const int *in, int out_m, const char *attr,
                     const int64_t *ints, int n_attr_ints)
{
    flat *fl = r->fl;
    bb_ox_node *n = bb_oxf_node(fl, r->tag, op_type, n_in, 1, attr ? 1 : 0);
    if (!n)
        return -1;
    memcpy(n->in, in, sizeof(int) * (size_t)n_in);
    if (attr) {
        bb_ox_attr *a = &n->attrs[0];
        if (!(a->name = strdup(attr)))
            return bb_oxf_oom(fl);
        if (n_attr_ints < 0) {
            a->type = BB_OX_ATTR_INT, a->i = ints[0];
        } else {
            a->type = BB_OX_ATTR_INTS, a->n = n_attr_ints;
            if (!(a->ints = malloc(sizeof(int64_t) * (size_t)n_attr_ints)))
                return bb_oxf_oom(fl);
            memcpy(a->ints, ints, sizeof(int64_t) * (size_t)n_attr_ints);
        }
    }
    char suffix[40];
    snprintf(suffix, sizeof suffix, "/%s", op_type);
    int v = out_m >= 0 ? bb_oxf_define(fl, out_m) : bb_oxf_value(fl, r->tag, suffix);
    if (v < 0)
        return -1;
    n->out[0] = v;
    return bb_oxf_step(fl) ? -1 : v;
}

/* op_type(a, b) into a new value; -1 when either is -1 (an error before). */
static int emit(rnn *r, const char *op_type, int a, int b)
{
    int in[2] = {a, b};
    return a < 0 || b < 0 ? -1 : emit_attr(r, op_type, 2, in, -1, NULL, NULL, 0);
}

static int emit1(rnn *r, const char *op_type, int a)
{
    return a < 0 ? -1 : emit_attr(r, op_type, 1, &a, -1, NULL, NULL, 0);
}

/* A 1-D int64 constant [k] (shared by every node that reads it). */
static int int_const(rnn *r, int64_t k)
{
    for (int i = 0; i < r->n_ints; i++)
        if (r->ints[i].key == k)
            return r->ints[i].v;
    if (r->n_ints == r->cap_ints) {
        int cap = r->cap_ints ? 2 * r->cap_ints : 32;
        cached_int *c = realloc(r->ints, sizeof *c * (size_t)cap);
        if (!c)
            return bb_oxf_oom(r->fl);
        r->ints = c, r->cap_ints = cap;
    }
    char name[200];
    snprintf(name, sizeof name, "%s/const%lld", r->nd->name, (long long)k);
    int v = bb_oxf_ints(r->fl, name, 1, &k, 1);
    if (v >= 0)
        r->ints[r->n_ints++] = (cached_int){k, v};
    return v;
}

/* x[from:to] along axis. */
static int slice(rnn *r, int x, int64_t axis, int64_t from, int64_t to)
{
    int in[4] = {x, int_const(r, from), int_const(r, to), int_const(r, axis)};
    return x < 0 || in[1] < 0 || in[2] < 0 || in[3] < 0 ? -1 : emit_attr(r, "Slice", 4, in, -1, NULL, NULL, 0);
}

/* x[d] along axis 0 (the direction's weights). */
static int direction(rnn *r, int x, int d)
{
    int64_t k = d;
    int idx = x < 0 ? -1 : bb_oxf_ints(r->fl, r->tag, 0, &k, 1), in[2] = {x, idx};
    return idx < 0 ? -1 : emit_attr(r, "Gather", 2, in, -1, NULL, NULL, 0);
}

static int transpose(rnn *r, int x, const int64_t *perm, int n, int out_m)
{
    return x < 0 ? -1 : emit_attr(r, "Transpose", 1, &x, out_m, "perm", perm, n);
}

static int concat(rnn *r, const int *parts, int n, int64_t axis, int out_m)
{
    for (int i = 0; i < n; i++)
        if (parts[i] < 0)
            return -1;
    return emit_attr(r, "Concat", n, parts, out_m, "axis", &axis, -1);
}

/* A gate's pre-activation clipped to [-clip, clip] when the node has a clip. */
static int clipped(rnn *r, int g)
{
    int in[3] = {g, r->clip_lo, r->clip_hi};
    return g < 0 || r->clip_lo < 0 ? g : emit_attr(r, "Clip", 3, in, -1, NULL, NULL, 0);
}

/* a + b, or a alone when b is absent (a term of an omitted state). */
static int add_opt(rnn *r, int a, int b)
{
    return b < 0 ? a : emit(r, "Add", a, b);
}

/* ---- reading the node ---------------------------------------------------------------- */

static int input(const rnn *r, int k)
{
    return r->nd->n_in > k && r->nd->in[k] >= 0 ? r->fl->map[r->nd->in[k]] : -1;
}

static const bb_ox_val *val(const rnn *r, int fv, int at3)
{
    return fv < 0 ? NULL : bb_ox_step_val(at3 ? r->fl->s3 : r->fl->s2, fv);
}

/* f value fv has the same shape at both batch sizes: ndim dims, each
 * want[i]. */
static int check_shape(rnn *r, int fv, const char *what, int ndim, const int64_t *want)
{
    const bb_ox_val *a = val(r, fv, 0), *b = val(r, fv, 1);
    int ok = a && b && a->ndim == ndim && b->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = a->dims[i] == want[i] && b->dims[i] == want[i];
    if (ok)
        return 0;
    char dims[160];
    bb_oxt_dims_str(want, ndim, dims, sizeof dims);
    return bb_ox_node_err(r->fl->err, r->fl->f, r->nd, "its %s is not %s at every batch size", what, dims);
}

/* Whether f value fv is a constant of zeros at both batch sizes. */
static int all_zeros(const rnn *r, int fv)
{
    for (int at3 = 0; at3 < 2; at3++) {
        const bb_ox_val *a = val(r, fv, at3);
        if (!a || !a->is_const || a->dtype != BB_OX_F32)
            return 0;
        for (int64_t i = 0; i < a->numel; i++)
            if (((const float *)a->data)[i] != 0.0f)
                return 0;
    }
    return 1;
}

/* sequence_lens, when given, is the full length for every item. */
static int check_lengths(rnn *r)
{
    int fv = input(r, 4);
    for (int at3 = 0; fv >= 0 && at3 < 2; at3++) {
        const bb_ox_val *a = val(r, fv, at3);
        int ok = a && a->is_const && a->dtype == BB_OX_I64 && a->ndim == 1;
        for (int64_t i = 0; ok && i < a->numel; i++)
            ok = ((const int64_t *)a->data)[i] == r->seq;
        if (!ok)
            return rnn_err(r, "its %s is not the full sequence length for every item (batchbench runs every "
                           "sequence to its end)", "sequence_lens");
    }
    return 0;
}

static int read_attrs(rnn *r)
{
    const bb_ox_node *nd = r->nd;
    static const char *const fixed[] = {"activations", "activation_alpha", "activation_beta"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (bb_ox_attr_find(nd, fixed[i]))
            return rnn_err(r, "has the attribute '%s': batchbench runs the default activations only", fixed[i]);
    if (bb_ox_attr_int(nd, "input_forget", 0))
        return rnn_err(r, "has %s set (not supported)", "input_forget");
    const bb_ox_attr *dir = bb_ox_attr_find(nd, "direction");
    const char *d = dir && dir->type == BB_OX_ATTR_STRING ? dir->s : "forward";
    r->dirs = !strcmp(d, "bidirectional") ? 2 : 1;
    r->reverse = !strcmp(d, "reverse");
    if (strcmp(d, "forward") && strcmp(d, "reverse") && r->dirs != 2)
        return rnn_err(r, "has direction '%s' (expected forward, reverse or bidirectional)", d);
    r->layout = (int)bb_ox_attr_int(nd, "layout", 0);
    r->lbr = (int)bb_ox_attr_int(nd, "linear_before_reset", 0);
    if (r->layout != 0 && r->layout != 1)
        return rnn_err(r, "has a layout other than 0 or 1 (%s)", "attribute 'layout'");
    return 0;
}

/* X, W, R, B, P and the initial states read and checked; X made batch first. */
static int read_inputs(rnn *r)
{
    int x = input(r, 0);
    r->w = input(r, 1), r->r = input(r, 2), r->b = input(r, 3);
    r->p = r->kind == RNN_LSTM ? input(r, 7) : -1;
    const bb_ox_val *x2 = val(r, x, 0), *x3 = val(r, x, 1), *w = val(r, r->w, 0), *rr = val(r, r->r, 0);
    if (!x2 || !x3 || x2->ndim != 3 || x3->ndim != 3)
        return rnn_err(r, "its input %s is not of rank 3", "X");
    if (!w || !rr || w->ndim != 3 || rr->ndim != 3)
        return rnn_err(r, "its %s are not of rank 3", "weights W and R");
    int seq_axis = r->layout ? 1 : 0;
    if (x2->dims[seq_axis] != x3->dims[seq_axis])
        return rnn_err(r, "runs its sequence along %s: batchbench runs a recurrence over a fixed-length axis of "
                       "each item (export with batch_first, or the batch on X's axis 1)", "the batch axis");
    r->seq = x2->dims[seq_axis];
    if (r->seq > r->fl->max_nodes / 8)
        return bb_ox_node_err(r->fl->err, r->fl->f, r->nd, "a sequence of %lld steps, written out, passes the "
                              "%d nodes batchbench unrolls a graph to", (long long)r->seq, r->fl->max_nodes);
    r->hidden = rr->dims[2];
    int64_t gh = r->gates * r->hidden, h = r->hidden, in_size = x2->dims[2], d = r->dirs;
    if (bb_ox_attr_int(r->nd, "hidden_size", h) != h || r->seq < 1 || h < 1)
        return rnn_err(r, "has a hidden_size that is not R's last dim, or an empty %s", "sequence");
    if (check_shape(r, r->w, "W", 3, (int64_t[]){d, gh, in_size}) || check_shape(r, r->r, "R", 3, (int64_t[]){d, gh, h}) ||
        (r->b >= 0 && check_shape(r, r->b, "B", 2, (int64_t[]){d, 2 * gh})) ||
        (r->p >= 0 && check_shape(r, r->p, "P", 2, (int64_t[]){d, 3 * h})) || check_lengths(r))
        return -1;
    r->h0 = input(r, 5), r->c0 = r->kind == RNN_LSTM ? input(r, 6) : -1;
    r->h0 = r->h0 >= 0 && all_zeros(r, r->h0) ? -1 : r->h0;
    r->c0 = r->c0 >= 0 && all_zeros(r, r->c0) ? -1 : r->c0;
    snprintf(r->tag, sizeof r->tag, "%s/X", r->nd->name);
    r->x = r->layout ? x : transpose(r, x, (const int64_t[]){1, 0, 2}, 3, -1);
    return r->x < 0 ? -1 : 0;
}

/* Direction d's initial state from init ([D, B, H], or [B, D, H] with
 * layout 1) as [B, 1, H] into *out; -1 without one. */
static int initial(rnn *r, int init, int d, int *out)
{
    *out = -1;
    if (init < 0)
        return 0;
    if (r->layout) {
        *out = slice(r, init, 1, d, d + 1);
    } else {
        int64_t dims[3] = {0, 1, r->hidden};
        int in[2] = {direction(r, init, d), bb_oxf_ints(r->fl, r->tag, 1, dims, 3)};
        *out = in[0] < 0 || in[1] < 0 ? -1 : emit_attr(r, "Reshape", 2, in, -1, NULL, NULL, 0);
    }
    return *out < 0 ? -1 : 0;
}

/* ---- one direction ------------------------------------------------------------------- */

typedef struct {
    int xw;          /* X @ W^T + the biases that add to it, [B, S, G*H] */
    int rt;          /* R^T [H, G*H] (GRU without linear_before_reset: R_zr^T [H, 2H]) */
    int rht;         /* GRU without linear_before_reset: R_h^T [H, H] */
    int rb;          /* GRU with linear_before_reset: R's bias [G*H], added to H @ R^T */
    int pi, po, pf;  /* LSTM's peepholes [H], -1 without */
} dir_consts;

/* The time step direction d computes at its step-th step. */
static int t_of(const rnn *r, int d, int64_t step)
{
    return (int)(d == 1 || r->reverse ? r->seq - 1 - step : step);
}

static int weights(rnn *r, int d, dir_consts *k)
{
    const int64_t tr[2] = {1, 0}, gh = r->gates * r->hidden, h = r->hidden;
    *k = (dir_consts){-1, -1, -1, -1, -1, -1, -1};
    snprintf(r->tag, sizeof r->tag, "%s/d%d", r->nd->name, d);
    k->xw = emit(r, "MatMul", r->x, transpose(r, direction(r, r->w, d), tr, 2, -1));
    int rd = direction(r, r->r, d);
    if (r->kind == RNN_GRU && !r->lbr) {
        k->rt = transpose(r, slice(r, rd, 0, 0, 2 * h), tr, 2, -1);
        k->rht = transpose(r, slice(r, rd, 0, 2 * h, 3 * h), tr, 2, -1);
    } else {
        k->rt = transpose(r, rd, tr, 2, -1);
    }
    if (k->xw < 0 || k->rt < 0 || (r->kind == RNN_GRU && !r->lbr && k->rht < 0))
        return -1;
    if (r->b >= 0) {
        int bd = direction(r, r->b, d), wb = slice(r, bd, 0, 0, gh), rb = slice(r, bd, 0, gh, 2 * gh);
        if (r->kind == RNN_GRU && r->lbr)
            k->rb = rb, k->xw = emit(r, "Add", k->xw, wb);
        else
            k->xw = emit(r, "Add", k->xw, emit(r, "Add", wb, rb));
    }
    if (r->p >= 0) {
        int pd = direction(r, r->p, d);
        k->pi = slice(r, pd, 0, 0, h), k->po = slice(r, pd, 0, h, 2 * h), k->pf = slice(r, pd, 0, 2 * h, 3 * h);
        if (k->pi < 0 || k->po < 0 || k->pf < 0)
            return -1;
    }
    return k->xw < 0 || (r->b >= 0 && r->kind == RNN_GRU && r->lbr && k->rb < 0) ? -1 : 0;
}

/* One LSTM step: g (the gates' pre-activations [B, 1, 4H]), *h and *c
 * updated (-1 on entry: zero). Without peepholes the gates' sigmoid is one
 * op over all four (c's quarter unread), sliced after. */
static int lstm_step(rnn *r, const dir_consts *k, int g, int *h, int *c)
{
    const int64_t q = r->hidden;
    int si, so, sf, gc;
    if (k->pi < 0) {
        int all = clipped(r, g), s = emit1(r, "Sigmoid", all);
        si = slice(r, s, 2, 0, q), so = slice(r, s, 2, q, 2 * q), sf = slice(r, s, 2, 2 * q, 3 * q);
        gc = slice(r, all, 2, 3 * q, 4 * q);
    } else {
        int gi = slice(r, g, 2, 0, q), gf = slice(r, g, 2, 2 * q, 3 * q);
        if (*c >= 0)
            gi = emit(r, "Add", gi, emit(r, "Mul", k->pi, *c)), gf = emit(r, "Add", gf, emit(r, "Mul", k->pf, *c));
        si = emit1(r, "Sigmoid", clipped(r, gi)), sf = emit1(r, "Sigmoid", clipped(r, gf)), so = -1;
        gc = clipped(r, slice(r, g, 2, 3 * q, 4 * q));
    }
    int cn = emit(r, "Mul", si, emit1(r, "Tanh", gc));
    if (*c >= 0)
        cn = emit(r, "Add", cn, emit(r, "Mul", sf, *c));
    if (k->po >= 0) /* o's peephole reads the new C */
        so = emit1(r, "Sigmoid", clipped(r, emit(r, "Add", slice(r, g, 2, q, 2 * q), emit(r, "Mul", k->po, cn))));
    *h = emit(r, "Mul", so, emit1(r, "Tanh", cn));
    *c = cn;
    return *h < 0 || cn < 0 ? -1 : 0;
}

/* One GRU step from xt (XW's step, [B, 1, 3H]); *h updated. */
static int gru_step(rnn *r, const dir_consts *k, int xt, int *h)
{
    const int64_t q = r->hidden;
    int gzr = slice(r, xt, 2, 0, 2 * q), gh = slice(r, xt, 2, 2 * q, 3 * q), zr, hn;
    if (r->lbr) {
        int hr = *h >= 0 ? add_opt(r, emit(r, "MatMul", *h, k->rt), k->rb) : k->rb;
        if (hr >= 0)
            gzr = emit(r, "Add", gzr, slice(r, hr, hr == k->rb ? 0 : 2, 0, 2 * q));
        zr = emit1(r, "Sigmoid", clipped(r, gzr));
        if (hr >= 0)
            gh = emit(r, "Add", gh, emit(r, "Mul", slice(r, zr, 2, q, 2 * q), slice(r, hr, hr == k->rb ? 0 : 2, 2 * q, 3 * q)));
    } else {
        if (*h >= 0)
            gzr = emit(r, "Add", gzr, emit(r, "MatMul", *h, k->rt));
        zr = emit1(r, "Sigmoid", clipped(r, gzr));
        if (*h >= 0)
            gh = emit(r, "Add", gh, emit(r, "MatMul", emit(r, "Mul", slice(r, zr, 2, q, 2 * q), *h), k->rht));
    }
    hn = emit1(r, "Tanh", clipped(r, gh));
    int z = slice(r, zr, 2, 0, q);
    *h = *h >= 0 ? emit(r, "Add", hn, emit(r, "Mul", z, emit(r, "Sub", *h, hn)))
                 : emit(r, "Sub", hn, emit(r, "Mul", z, hn));
    return *h < 0 ? -1 : 0;
}

/* Direction d: ys[t] its H at each time t, *h and *c the last step's. */
static int run_direction(rnn *r, int d, int *ys, int *h, int *c)
{
    dir_consts k;
    if (weights(r, d, &k) != 0 || initial(r, r->h0, d, h) != 0 || initial(r, r->c0, d, c) != 0)
        return -1;
    for (int64_t s = 0; s < r->seq; s++) {
        int t = t_of(r, d, s);
        snprintf(r->tag, sizeof r->tag, "%s/d%d/t%d", r->nd->name, d, t);
        int xt = slice(r, k.xw, 1, t, t + 1), rc;
        if (r->kind == RNN_GRU)
            rc = gru_step(r, &k, xt, h);
        else {
            int g = *h >= 0 ? emit(r, "Add", xt, emit(r, "MatMul", *h, k.rt)) : xt;
            if (r->kind == RNN_LSTM) /* clipped per gate, after the peepholes */
                rc = lstm_step(r, &k, g, h, c);
            else
                rc = (*h = emit1(r, "Tanh", clipped(r, g))) < 0 ? -1 : 0;
        }
        if (rc != 0)
            return -1;
        ys[t] = *h;
    }
    return 0;
}

/* ---- a direction as one node --------------------------------------------------------- */

/* Whether the model reads the node's output k. */
static int wanted(const rnn *r, int k)
{
    return r->nd->n_out > k && r->nd->out[k] >= 0 && r->fl->need[r->nd->out[k]];
}

/* Whether each direction runs as one node: no initial state or clip; an
 * LSTM without peepholes whose Y_c nothing reads; a GRU with
 * linear_before_reset (its three products of H at once). */
static int whole_form(const rnn *r)
{
    return r->h0 < 0 && r->clip_lo < 0 &&
           ((r->kind == RNN_LSTM && r->c0 < 0 && r->p < 0 && !wanted(r, 2)) || (r->kind == RNN_GRU && r->lbr));
}

/* Direction d as LSTM or GRU (X, W[d:d+1], R[d:d+1], B[d:d+1]), forward or
 * reverse, layout 1: *y its Y [B, S, 1, H], *h its last step's H [B, 1, H]
 * when the model reads Y_h. */
static int whole_direction(rnn *r, int d, int *y, int *h)
{
    flat *fl = r->fl;
    snprintf(r->tag, sizeof r->tag, "%s/d%d", r->nd->name, d);
    const int n_in = r->b >= 0 ? 4 : 3, n_attr = r->kind == RNN_GRU ? 4 : 3;
    int in[4] = {r->x, slice(r, r->w, 0, d, d + 1), slice(r, r->r, 0, d, d + 1),
                 r->b >= 0 ? slice(r, r->b, 0, d, d + 1) : 0};
    for (int i = 0; i < n_in; i++)
        if (in[i] < 0)
            return -1;
    bb_ox_node *n = bb_oxf_node(fl, r->tag, r->nd->op_type, n_in, 1, n_attr);
    if (!n)
        return -1;
    memcpy(n->in, in, sizeof(int) * (size_t)n_in);
    static const char *const names[4] = {"direction", "hidden_size", "layout", "linear_before_reset"};
    for (int a = 0; a < n_attr; a++)
        if (!(n->attrs[a].name = strdup(names[a])))
            return bb_oxf_oom(fl);
    n->attrs[0].type = BB_OX_ATTR_STRING;
    if (!(n->attrs[0].s = strdup(d == 1 || r->reverse ? "reverse" : "forward")))
        return bb_oxf_oom(fl);
    for (int a = 1; a < n_attr; a++)
        n->attrs[a].type = BB_OX_ATTR_INT, n->attrs[a].i = 1;
    n->attrs[1].i = r->hidden;
    if ((*y = n->out[0] = bb_oxf_value(fl, r->tag, "/Y")) < 0 || bb_oxf_step(fl) != 0)
        return -1;
    if (!wanted(r, 1))
        return 0;
    const int64_t last = t_of(r, d, r->seq - 1), dims[3] = {0, 1, r->hidden};
    int shape = bb_oxf_ints(fl, r->tag, 1, dims, 3), ins[2] = {slice(r, *y, 1, last, last + 1), shape};
    *h = shape < 0 || ins[1] < 0 ? -1 : emit_attr(r, "Reshape", 2, ins, -1, NULL, NULL, 0);
    return *h < 0 ? -1 : 0;
}

/* ---- the outputs --------------------------------------------------------------------- */

/* The node's output k, when wanted: the directions' parts, [B, S, H] (Y)
 * or [B, 1, H] (Y_h, Y_c), stacked on a direction axis and laid out. */
static int output(rnn *r, int k, const int *parts)
{
    if (!wanted(r, k))
        return 0;
    int out = r->nd->out[k], y[2] = {parts[0], parts[1]}, n = r->dirs;
    snprintf(r->tag, sizeof r->tag, "%s/out%d", r->nd->name, k);
    if (k == 0 && !r->whole) { /* [B, S, H] -> [B, S, 1, H] */
        int64_t dims[4] = {0, 0, 1, r->hidden};
        int shape = bb_oxf_ints(r->fl, r->tag, 1, dims, 4);
        for (int i = 0; i < n; i++) {
            int in[2] = {y[i], shape};
            if (shape < 0 || (y[i] = emit_attr(r, "Reshape", 2, in, -1, NULL, NULL, 0)) < 0)
                return -1;
        }
    }
    /* batch first: [B, S, D, H] and [B, D, H], the layout-1 outputs */
    int into = r->layout ? out : -1;
    int first = n == 2     ? concat(r, y, 2, k == 0 ? 2 : 1, into)
                : r->layout ? emit_attr(r, "Identity", 1, y, into, NULL, NULL, 0)
                            : y[0];
    if (first < 0 || r->layout)
        return first < 0 ? -1 : 0;
    static const int64_t y_perm[4] = {1, 2, 0, 3}, h_perm[3] = {1, 0, 2};
    return transpose(r, first, k == 0 ? y_perm : h_perm, k == 0 ? 4 : 3, out) < 0 ? -1 : 0;
}

int bb_oxf_rnn(flat *fl, const bb_ox_node *nd)
{
    rnn r = {.fl = fl, .nd = nd, .clip_lo = -1, .clip_hi = -1};
    r.kind = !strcmp(nd->op_type, "LSTM") ? RNN_LSTM : !strcmp(nd->op_type, "GRU") ? RNN_GRU : RNN_PLAIN;
    r.gates = r.kind == RNN_LSTM ? 4 : r.kind == RNN_GRU ? 3 : 1;
    if (read_attrs(&r) != 0 || read_inputs(&r) != 0)
        return -1;
    const bb_ox_attr *clip = bb_ox_attr_find(nd, "clip");
    if (clip && clip->type == BB_OX_ATTR_FLOAT) {
        if (!(clip->f >= 0))
            return rnn_err(&r, "has a negative %s", "clip");
        const float lo = -clip->f;
        r.clip_lo = bb_oxf_const(fl, r.tag, BB_OX_F32, 0, &lo, 1);
        r.clip_hi = r.clip_lo < 0 ? -1 : bb_oxf_const(fl, r.tag, BB_OX_F32, 0, &clip->f, 1);
        if (r.clip_hi < 0)
            return -1;
    }
    int *ys = malloc(sizeof(int) * (size_t)(2 * r.seq)), rc = ys ? 0 : bb_oxf_oom(fl);
    int hs[2] = {-1, -1}, cs[2] = {-1, -1}, y[2] = {-1, -1};
    r.whole = whole_form(&r);
    for (int d = 0; rc == 0 && r.whole && d < r.dirs; d++)
        rc = whole_direction(&r, d, &y[d], &hs[d]);
    for (int d = 0; rc == 0 && !r.whole && d < r.dirs; d++) {
        rc = run_direction(&r, d, ys + d * r.seq, &hs[d], &cs[d]);
        snprintf(r.tag, sizeof r.tag, "%s/d%d", nd->name, d);
        if (rc == 0 && wanted(&r, 0) && (y[d] = concat(&r, ys + d * r.seq, (int)r.seq, 1, -1)) < 0)
            rc = -1;
    }
    if (rc == 0)
        rc = output(&r, 0, y) || output(&r, 1, hs) || (r.kind == RNN_LSTM && output(&r, 2, cs)) ? -1 : 0;
    free(ys);
    free(r.ints);
    return rc;
}
