/*
 * onnx_lower_move.c — the ONNX nodes that move data rather than compute it,
 * lowered to graph ops (onnx_lower.c has the table and the rest): Reshape
 * and its kin, Transpose, Concat, Slice (backwards too), Split, Gather of
 * constant indices (as slices), Pad (constant, reflect, edge), Expand,
 * Tile of axes of one element, Resize (engine/resize.h describes what it
 * computes), and ScatterND writing a whole tensor or one block of it.
 *
 * Why it exists: onnx_lower.c outgrew one file; these share no helper with
 * the arithmetic there beyond the ox_* ones in onnx_import_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

static bb_op *emit_slice(ox_ctx *c, const bb_ox_node *nd, int x, const int64_t *start, const int64_t *step,
                         int ndim, int out_v)
{
    bb_op *op = ox_op(c, nd, BB_OP_SLICE, &x, 1, out_v);
    for (int a = 0; op && a < ndim; a++)
        op->starts[a] = start[a], op->steps[a] = step[a];
    return op;
}

int ox_lower_resize(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_resize r;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_resize_get(c->m, nd, c->v2, &r, c->err) != 0)
        return -1;
    if (c->g->tensors[x].full_rank || c->g->tensors[x].ndim != 3)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench resizes [N,C,H,W] inputs only");
    bb_op *op = ox_op(c, nd, BB_OP_RESIZE, &x, 1, nd->out[0]);
    if (op)
        op->resize = r.rs;
    return op ? 0 : -1;
}


int ox_lower_reshape(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    return x >= 0 && ox_reshape_to(c, nd, x, nd->out[0]) ? 0 : -1;
}

int ox_lower_transpose(ox_ctx *c, const bb_ox_node *nd)
{
    int64_t perm[BB_OX_MAX_DIMS];
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_perm_get(c->m, nd, c->v2, perm, c->err) != 0)
        return -1;
    bb_op *op = ox_op(c, nd, BB_OP_TRANSPOSE, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    for (int i = 0; i < c->v2[nd->out[0]].ndim; i++)
        op->perm[i] = (int)perm[i];
    return 0;
}

int ox_lower_concat(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    if (nd->n_in > BB_MAX_IN)
        return bb_ox_node_err(c->err, c->m, nd, "joins %d inputs (at most %d)", nd->n_in, BB_MAX_IN);
    if (bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    int in[BB_MAX_IN];
    for (int k = 0; k < nd->n_in; k++)
        if ((in[k] = ox_in_t(c, nd, k)) < 0)
            return -1;
    bb_op *op = ox_op(c, nd, BB_OP_CONCAT, in, nd->n_in, nd->out[0]);
    if (!op)
        return -1;
    op->axis = (int)p.axis;
    return 0;
}

/* A slice of activation x into value out_v: start/step per full axis. */

int ox_lower_slice(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_slice s2, s3;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_slice_get(c->m, nd, c->v2, &s2, c->err) != 0 ||
        bb_ox_slice_get(c->m, nd, c->v3, &s3, c->err) != 0)
        return -1;
    const bb_tensor *t = &c->g->tensors[x];
    int whole = ox_same_shape(c, nd->in[0], nd->out[0]), batch = t->full_rank ? t->batch_axis : 0;
    for (int a = 0; a < s2.ndim; a++) {
        if (s2.step[a] < 0 && a == batch)
            return bb_ox_node_err(c->err, c->m, nd, "slices the batch axis backwards (not supported: each item "
                                  "would read another's)");
        if (s2.start[a] != s3.start[a] || s2.step[a] != s3.step[a])
            return bb_ox_node_err(c->err, c->m, nd, "slices axis %d differently at each batch size", a);
        whole &= s2.start[a] == 0 && s2.step[a] == 1;
    }
    if (whole) { /* everything (GhostNet's cat(x1, x2)[:, :oup] where the two give oup channels) */
        c->tmap[nd->out[0]] = x;
        return 0;
    }
    return emit_slice(c, nd, x, s2.start, s2.step, s2.ndim, nd->out[0]) ? 0 : -1;
}

int ox_lower_split(ox_ctx *c, const bb_ox_node *nd)
{
    int64_t axis, sizes[64], start[BB_OX_MAX_DIMS] = {0}, step[BB_OX_MAX_DIMS];
    int x = ox_in_act(c, nd, 0);
    if (nd->n_out > 64)
        return bb_ox_node_err(c->err, c->m, nd, "%d outputs (at most 64)", nd->n_out);
    if (x < 0 || bb_ox_split_get(c->m, nd, c->v2, &axis, sizes, c->err) != 0)
        return -1;
    int nd_in = c->v2[nd->in[0]].ndim;
    for (int a = 0; a < nd_in; a++)
        step[a] = 1;
    for (int k = 0; k < nd->n_out; k++) {
        if (nd->out[k] >= 0 && c->readers[nd->out[k]] && !emit_slice(c, nd, x, start, step, nd_in, nd->out[k]))
            return -1;
        start[axis] += sizes[k];
    }
    return 0;
}

/* Index i of an axis of dim elements, a negative one counted from its end. */
static int64_t axis_index(int64_t i, int64_t dim)
{
    return i < 0 ? i + dim : i;
}

/* Whether 2-D indices ix [A, B] are first + a + b * A: a block read
 * column by column. */
static int block_by_columns(const int64_t *ix, const int64_t *ab, int64_t dim, int64_t first)
{
    for (int64_t a = 0; a < ab[0]; a++)
        for (int64_t b = 0; b < ab[1]; b++) {
            if (axis_index(ix[a * ab[1] + b], dim) != first + a + b * ab[0] || first < 0 ||
                first + ab[0] * ab[1] > dim)
                return 0;
        }
    return 1;
}

/* Slice [N, ..., A*B, ...] (y, sliced already, the axis at full axis
 * `axis`) as [.., B, A, ..] transposed into value out_v's [.., A, B, ..]. */
static int split_swapped(ox_ctx *c, const bb_ox_node *nd, int y, int axis, const int64_t *ab, int out_v)
{
    bb_tensor t = c->g->tensors[y];
    int off = t.full_rank ? 0 : 1, k = axis - off;
    if (t.ndim + 1 > BB_MAX_DIMS)
        return bb_ox_node_err(c->err, c->m, nd, "its result has more than %d axes per item", BB_MAX_DIMS);
    int64_t d[BB_MAX_DIMS];
    for (int i = 0, j = 0; i < t.ndim; i++) {
        d[j++] = i == k ? ab[1] : t.dims[i];
        if (i == k)
            d[j++] = ab[0];
    }
    int z = bb_graph_add_tensor(c->g, "", BB_T_ACT, t.ndim + 1, d);
    c->g->tensors[z].full_rank = t.full_rank;
    c->g->tensors[z].batch_axis = t.batch_axis + (t.full_rank && t.batch_axis > axis);
    bb_op *r = bb_graph_add_op(c->g, BB_OP_RESHAPE, nd->name);
    r->n_in = 1, r->in[0] = y, r->out = z;
    bb_op *op = ox_op(c, nd, BB_OP_TRANSPOSE, &z, 1, out_v);
    for (int i = 0; op && i < t.ndim + 1 + off; i++)
        op->perm[i] = i == axis ? axis + 1 : i == axis + 1 ? axis : i;
    return op ? 0 : -1;
}

/* At most a concat of BB_MAX_IN concats of BB_MAX_IN runs each. */
#define GATHER_MAX_RUNS (BB_MAX_IN * BB_MAX_IN)
/* A run of a gather's indices: first, first + step, ... (n of them). */
typedef struct {
    int64_t first, step, n;
} gather_run;

/* The n indices ix (into an axis of dim elements) as maximal runs with a
 * step other than 0 (a repeated index starts a new run): how many, at most
 * max + 1 (then runs holds the first max); -1 when an index is outside the
 * axis. */
static int gather_runs(const int64_t *ix, int64_t n, int64_t dim, gather_run *runs, int max)
{
    int k = 0;
    for (int64_t i = 0; i < n; k++) {
        int64_t a = axis_index(ix[i], dim), len = 1, step = 1;
        if (a < 0 || a >= dim)
            return -1;
        if (i + 1 < n && axis_index(ix[i + 1], dim) != a) {
            step = axis_index(ix[i + 1], dim) - a;
            while (i + len < n && axis_index(ix[i + len], dim) == a + len * step && a + len * step >= 0 &&
                   a + len * step < dim)
                len++;
        }
        if (k == max)
            return max + 1;
        runs[k] = (gather_run){a, step, len};
        i += len;
    }
    return k;
}

/* A new activation tensor shaped as t (a copy: adding a tensor may move
 * the graph's array), with n elements on its axis k. */
static int tensor_like(ox_ctx *c, const bb_tensor *t, int k, int64_t n)
{
    int64_t d[BB_MAX_DIMS];
    memcpy(d, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    d[k] = n;
    int y = bb_graph_add_tensor(c->g, "", BB_T_ACT, t->ndim, d);
    c->g->tensors[y].full_rank = t->full_rank, c->g->tensors[y].batch_axis = t->batch_axis;
    return y;
}

/* The n tensors in[] (shaped as t but for axis k) joined along full axis
 * `axis` into value out_v, or (out_v < 0) into a new tensor of total
 * elements on axis k, returned. -1 on error. */
static int join(ox_ctx *c, const bb_ox_node *nd, const int *in, int n, int axis, const bb_tensor *t, int k,
                int64_t total, int out_v)
{
    bb_op *cat;
    int y = -1;
    if (out_v >= 0) {
        cat = ox_op(c, nd, BB_OP_CONCAT, in, n, out_v);
    } else {
        y = tensor_like(c, t, k, total);
        cat = bb_graph_add_op(c->g, BB_OP_CONCAT, nd->name);
        cat->n_in = n, cat->out = y;
        memcpy(cat->in, in, sizeof(int) * (size_t)n);
    }
    if (!cat)
        return -1;
    cat->axis = axis;
    return out_v >= 0 ? 0 : y;
}

/* x along full axis `axis` at the runs' indices, in their order: one
 * slice per run, joined by a concat when there are several (a concat of
 * concats of BB_MAX_IN runs each past BB_MAX_IN runs), into value out_v,
 * or (out_v < 0) into a new tensor, returned. -1 on error. */
static int gather_by_slices(ox_ctx *c, const bb_ox_node *nd, int x, int axis, const gather_run *runs, int n_runs,
                            int out_v)
{
    const int ndim = c->v2[nd->in[0]].ndim;
    const bb_tensor t = c->g->tensors[x];
    int in[BB_MAX_IN], n_in = 0, k = axis - (t.full_rank ? 0 : 1);
    int64_t start[BB_OX_MAX_DIMS] = {0}, step[BB_OX_MAX_DIMS], total = 0;
    for (int a = 0; a < ndim; a++)
        step[a] = 1;
    if (n_runs == 1 && out_v >= 0) {
        start[axis] = runs[0].first, step[axis] = runs[0].step;
        return emit_slice(c, nd, x, start, step, ndim, out_v) ? 0 : -1;
    }
    for (int r = 0; r < n_runs; r += n_runs > BB_MAX_IN ? BB_MAX_IN : 1) {
        int64_t n = 0;
        if (n_runs > BB_MAX_IN) { /* BB_MAX_IN runs (or what is left) as one part */
            const int part = n_runs - r < BB_MAX_IN ? n_runs - r : BB_MAX_IN;
            for (int i = 0; i < part; i++)
                n += runs[r + i].n;
            in[n_in] = gather_by_slices(c, nd, x, axis, runs + r, part, -1);
            if (in[n_in++] < 0)
                return -1;
        } else {
            start[axis] = runs[r].first, step[axis] = runs[r].step, n = runs[r].n;
            in[n_in] = tensor_like(c, &t, k, n);
            bb_op *op = ox_op_into(c, nd, BB_OP_SLICE, x, in[n_in++]);
            for (int a = 0; a < ndim; a++)
                op->starts[a] = start[a], op->steps[a] = step[a];
        }
        total += n;
    }
    return n_in == 1 ? in[0] : join(c, nd, in, n_in, axis, &t, k, total, out_v);
}

/* Gather with constant indices along an axis other than the batch's: the
 * indices as runs of evenly spaced ones (gather_runs), each a strided
 * slice, joined by a concat (torch's x[:, [2, 1, 0]], a permutation, a
 * repeated index); a scalar index drops the axis and a 2-D one [A, B]
 * makes it two (the same, then a reshape). A 2-D block of first + a + b * A
 * is one slice into [B, A], then a transpose (torch's nn.Unfold with its
 * stride equal to its kernel, as TNT's pixel embedding). */
int ox_lower_gather(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    int iv = nd->n_in > 1 ? nd->in[1] : -1;
    if (!ox_is_static(c, iv) || c->v2[iv].dtype != BB_OX_I64)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench gathers with constant indices only");
    const bb_ox_val *xv = &c->v2[nd->in[0]], *idx = &c->v2[iv];
    const bb_tensor *t = &c->g->tensors[x];
    if (p.axis - (t->full_rank ? 0 : 1) < 0 || (t->full_rank && p.axis == t->batch_axis))
        return bb_ox_node_err(c->err, c->m, nd, "gathers along the batch axis (not supported)");
    if (idx->ndim > 2 || idx->numel < 1)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench gathers with 1 or more indices in 0 to 2 axes");
    const int64_t *ix = idx->data;
    int64_t dim = xv->dims[p.axis];
    gather_run *runs = malloc(sizeof *runs * GATHER_MAX_RUNS);
    if (!runs)
        return bb_err_set(c->err, "out of memory");
    int n_runs = gather_runs(ix, idx->numel, dim, runs, GATHER_MAX_RUNS), rc = -1, y;
    if (n_runs < 0) {
        bb_ox_node_err(c->err, c->m, nd, "an index is outside the axis of %lld", (long long)dim);
    } else if (idx->ndim == 2 && !(n_runs == 1 && runs[0].step == 1) &&
               block_by_columns(ix, idx->dims, dim, runs[0].first)) {
        gather_run block = {runs[0].first, 1, idx->numel};
        y = gather_by_slices(c, nd, x, (int)p.axis, &block, 1, -1);
        rc = y < 0 ? -1 : split_swapped(c, nd, y, (int)p.axis, idx->dims, nd->out[0]);
    } else if (n_runs > GATHER_MAX_RUNS) {
        bb_ox_node_err(c->err, c->m, nd, "its %lld indices make more than %d runs of evenly spaced ones "
                       "(batchbench gathers each run as a slice and joins at most %d)", (long long)idx->numel,
                       GATHER_MAX_RUNS, GATHER_MAX_RUNS);
    } else if (idx->ndim == 1) {
        rc = gather_by_slices(c, nd, x, (int)p.axis, runs, n_runs, nd->out[0]) < 0 ? -1 : 0;
    } else {
        y = gather_by_slices(c, nd, x, (int)p.axis, runs, n_runs, -1);
        rc = y >= 0 && ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1;
    }
    free(runs);
    return rc;
}

int ox_lower_pad(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_pad pad;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_pad_get(c->m, nd, c->v2, &pad, c->err) != 0)
        return -1;
    for (int a = 0; a < pad.ndim; a++)
        if (pad.begin[a] < 0 || pad.end[a] < 0)
            return bb_ox_node_err(c->err, c->m, nd, "negative pads (cropping) are not supported");
    const int64_t *d = c->v2[nd->in[0]].dims;
    for (int a = 0; a < pad.ndim; a++)
        if ((pad.mode == BB_OX_PAD_REFLECT && (pad.begin[a] >= d[a] || pad.end[a] >= d[a])) ||
            (pad.mode == BB_OX_PAD_EDGE && d[a] == 0 && (pad.begin[a] || pad.end[a])))
            return bb_ox_node_err(c->err, c->m, nd, "pads axis %d of %lld by %lld and %lld in mode %s (reflect "
                                  "pads at most the axis less one, edge pads need an element)", a,
                                  (long long)d[a], (long long)pad.begin[a], (long long)pad.end[a],
                                  pad.mode == BB_OX_PAD_REFLECT ? "reflect" : "edge");
    bb_op *op = ox_op(c, nd, BB_OP_PAD, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    for (int a = 0; a < pad.ndim; a++)
        op->pads[a] = pad.begin[a], op->pads[pad.ndim + a] = pad.end[a];
    op->alpha = (float)pad.value;
    op->pad_mode = pad.mode == BB_OX_PAD_REFLECT ? BB_PAD_REFLECT : pad.mode == BB_OX_PAD_EDGE ? BB_PAD_EDGE
                                                                                             : BB_PAD_CONSTANT;
    return 0;
}

/* Tile: an Expand where every repeated axis has one element. Repeating
 * a longer axis (interleaving copies) is not supported, nor repeating the
 * batch axis: each item would then read the others (GCViT's global query). */
int ox_lower_tile(ox_ctx *c, const bb_ox_node *nd)
{
    const bb_ox_val *x2 = &c->v2[nd->in[0]], *x3 = &c->v3[nd->in[0]], *r2 = &c->v2[nd->in[1]],
                    *r3 = &c->v3[nd->in[1]];
    if (r2->dtype != BB_OX_I64 || !r2->is_const || !r3->is_const)
        return bb_ox_node_err(c->err, c->m, nd, "its repeats must be constant");
    for (int a = 0; a < x2->ndim && a < r2->numel; a++) {
        int64_t k2 = ((const int64_t *)r2->data)[a], k3 = ((const int64_t *)r3->data)[a];
        if (k2 == 1 && k3 == 1)
            continue;
        if (x2->dims[a] != x3->dims[a])
            return bb_ox_node_err(c->err, c->m, nd, "repeats axis %d, the batch's: each item would read the "
                                  "others (not supported)", a);
        if (x2->dims[a] != 1)
            return bb_ox_node_err(c->err, c->m, nd, "repeats axis %d of %lld elements (batchbench tiles axes "
                                  "of one element only)", a, (long long)x2->dims[a]);
    }
    int x = ox_in_t(c, nd, 0);
    return x >= 0 && ox_op(c, nd, BB_OP_EXPAND, &x, 1, nd->out[0]) ? 0 : -1;
}

/* The block ScatterND's constant indices iv (at one batch size) write, in
 * order, into data: a full index per update ([u0, ..., u(r-1), r]), the
 * updates' element (i0, ..., i(r-1)) going to start + i. Its start per
 * axis (its size is iv's dims), or 0 when the indices are anything else. */
static int block_of(const bb_ox_val *iv, const bb_ox_val *data, int64_t start[BB_OX_MAX_DIMS])
{
    const int r = data->ndim;
    if (!iv->is_const || iv->dtype != BB_OX_I64 || iv->ndim != r + 1 || iv->dims[r] != r || iv->numel < r)
        return 0;
    const int64_t *ix = iv->data;
    for (int a = 0; a < r; a++)
        if ((start[a] = ix[a]) < 0 || iv->dims[a] > data->dims[a] - start[a])
            return 0;
    int64_t idx[BB_OX_MAX_DIMS] = {0};
    for (int64_t e = 0; e < iv->numel / r; e++) {
        for (int a = 0; a < r; a++)
            if (ix[e * r + a] != start[a] + idx[a])
                return 0;
        for (int a = r - 1; a >= 0 && ++idx[a] == iv->dims[a]; a--)
            idx[a] = 0;
    }
    return 1;
}

/* The same for indices built as torch builds a block's (bb_ox_block_parts:
 * expand[k] the Expand whose values are column k, of the indices' shape
 * or with a last axis of 1 more), at one batch size (values v): column k
 * must be, over the indices' shape, its start plus the position along axis
 * k. Each Expand's input is small (a range, reshaped to lie along its
 * axis) where the indices, left uncomputed, are not. */
static int block_from_parts(const bb_ox_model *m, const bb_ox_val *v, const bb_ox_node *nd, const int *expand,
                            int r, int64_t start[BB_OX_MAX_DIMS])
{
    const bb_ox_val *iv = &v[nd->in[1]], *data = &v[nd->in[0]];
    const bb_ox_node *cat = &m->nodes[m->values[nd->in[1]].producer];
    const int64_t axis = bb_ox_attr_int(cat, "axis", 0);
    if (r != data->ndim || iv->ndim != r + 1 || iv->dims[r] != r || (axis != -1 && axis != r))
        return 0;
    for (int k = 0; k < r; k++) {
        const bb_ox_node *ex = &m->nodes[expand[k]];
        const bb_ox_val *a = &v[ex->in[0]], *e = &v[ex->out[0]];
        const int q = e->ndim; /* r, or r + 1 with a last axis of 1 */
        if (!a->is_const || a->dtype != BB_OX_I64 || a->ndim > q || a->numel < 1 || (q != r && q != r + 1) ||
            (q == r + 1 && e->dims[r] != 1) || memcmp(e->dims, iv->dims, sizeof(int64_t) * (size_t)r) ||
            v[cat->in[k]].ndim != r + 1 || memcmp(v[cat->in[k]].dims, iv->dims, sizeof(int64_t) * (size_t)r) ||
            v[cat->in[k]].dims[r] != 1)
            return 0;
        /* a's axes are e's last a->ndim; along axis k its whole length, elsewhere one element */
        const int kk = k - (q - a->ndim);
        for (int j = 0; j < a->ndim; j++)
            if (j == kk ? a->dims[j] != iv->dims[k] : a->dims[j] != 1)
                return 0;
        if (kk < 0 && iv->dims[k] != 1)
            return 0;
        const int64_t *x = a->data;
        if ((start[k] = x[0]) < 0 || iv->dims[k] > data->dims[k] - start[k])
            return 0;
        for (int64_t i = 1; i < a->numel; i++)
            if (x[i] != x[0] + i)
                return 0;
    }
    return 1;
}

/* block_of or block_from_parts, whichever the indices of ScatterND nd are
 * for (values v). */
static int scatter_start(const ox_ctx *c, const bb_ox_val *v, const bb_ox_node *nd, int64_t start[BB_OX_MAX_DIMS])
{
    int expand[BB_OX_MAX_DIMS];
    if (v[nd->in[1]].is_const)
        return block_of(&v[nd->in[1]], &v[nd->in[0]], start);
    int r = bb_ox_block_parts(c->m, nd->in[1], expand);
    return r && block_from_parts(c->m, v, nd, expand, r, start);
}

/* What a ScatterND of a block writes: per full axis the block's start and
 * size, and the data's size. */
typedef struct {
    int r;
    int64_t start[BB_OX_MAX_DIMS], size[BB_OX_MAX_DIMS], dim[BB_OX_MAX_DIMS];
} scatter_block;

/* A tensor of data x's form (per item or full rank) whose full axes
 * before a are the block's and whose axis a is n long. */
static int region(ox_ctx *c, int x, const scatter_block *b, int a, int64_t n)
{
    bb_tensor t = c->g->tensors[x];
    const int o = !t.full_rank; /* full axis i is dims[i - o]: a per-item tensor holds no batch axis */
    for (int i = o; i < a; i++)
        t.dims[i - o] = b->size[i];
    t.dims[a - o] = n;
    int y = bb_graph_add_tensor(c->g, "", BB_T_ACT, t.ndim, t.dims);
    c->g->tensors[y].full_rank = t.full_rank, c->g->tensors[y].batch_axis = t.batch_axis;
    return y;
}

/* Whether an axis from `a` on is written in part. */
static int partial_from(const scatter_block *b, int a)
{
    for (; a < b->r; a++)
        if (b->size[a] != b->dim[a])
            return 1;
    return 0;
}

/* Data x restricted to the block on the axes before a, with the block
 * written by u: along the first axis from a written in part, the rows before
 * the block, the block's rows (recursively), the rows after, joined by a
 * concat into out (a new tensor when out_v < 0, else the node's output).
 * Each piece is sliced from x itself: no copy of the block's rows is made
 * only to be cut again. */
static int write_block(ox_ctx *c, const bb_ox_node *nd, const scatter_block *b, int x, int u, int a, int out_v)
{
    while (a < b->r && b->size[a] == b->dim[a])
        a++;
    int parts[3], n = 0;
    const int64_t from[3] = {0, b->start[a], b->start[a] + b->size[a]};
    const int64_t len[3] = {b->start[a], b->size[a], b->dim[a] - b->start[a] - b->size[a]};
    for (int k = 0; k < 3; k++) {
        if (!len[k])
            continue;
        if (k == 1) {
            parts[n++] = partial_from(b, a + 1) ? write_block(c, nd, b, x, u, a + 1, -1) : u;
        } else {
            bb_op *op = ox_op_into(c, nd, BB_OP_SLICE, x, region(c, x, b, a, len[k]));
            for (int i = 0; i < b->r; i++)
                op->starts[i] = i < a ? b->start[i] : i == a ? from[k] : 0, op->steps[i] = 1;
            parts[n++] = op->out;
        }
        if (parts[n - 1] < 0)
            return -1;
    }
    bb_op *cat;
    if (out_v >= 0) {
        cat = ox_op(c, nd, BB_OP_CONCAT, parts, n, out_v);
    } else {
        cat = bb_graph_add_op(c->g, BB_OP_CONCAT, nd->name);
        cat->n_in = n, cat->out = region(c, x, b, a, b->dim[a]);
        memcpy(cat->in, parts, sizeof(int) * (size_t)n);
    }
    if (!cat)
        return -1;
    cat->axis = a;
    return cat->out;
}

/* ScatterND on an activation with indices that write, in order, every
 * element of its input (then it is its updates: torch's x[:, :, 0:, 0:] = y;
 * timm MViTv2's relative positions) or one block of it that spans the batch
 * (torch's x[:, :, 1:, 1:] = y: slices of the input around the block and
 * concats): constant indices, or ones built as torch builds them
 * (bb_ox_block_parts: torchvision's mvit_v2_s). */
int ox_lower_scatternd(ox_ctx *c, const bb_ox_node *nd)
{
    const bb_ox_attr *red = bb_ox_attr_find(nd, "reduction");
    if (red && (red->type != BB_OX_ATTR_STRING || !red->s || strcmp(red->s, "none")))
        return bb_ox_node_err(c->err, c->m, nd, "a reduction other than 'none' is not supported on activations");
    int x = ox_in_act(c, nd, 0), u = x < 0 ? -1 : ox_in_t(c, nd, 2);
    if (u < 0)
        return -1;
    scatter_block b = {.r = c->v2[nd->in[0]].ndim};
    const int batch = c->g->tensors[x].full_rank ? c->g->tensors[x].batch_axis : 0;
    int64_t s3[BB_OX_MAX_DIMS];
    int ok = scatter_start(c, c->v2, nd, b.start) && scatter_start(c, c->v3, nd, s3);
    for (int a = 0; ok && a < b.r; a++) {
        b.size[a] = c->v2[nd->in[1]].dims[a], b.dim[a] = c->v2[nd->in[0]].dims[a];
        ok = s3[a] == b.start[a] && (a != batch || (b.start[a] == 0 && b.size[a] == b.dim[a] &&
                                                    c->v3[nd->in[1]].dims[a] == c->v3[nd->in[0]].dims[a]));
    }
    if (!ok)
        return bb_ox_node_err(c->err, c->m, nd, "writes its input other than in one block spanning the batch "
                              "(batchbench runs a ScatterND on activations whose constant indices list, in order, "
                              "every element of a block)");
    if (!partial_from(&b, 0)) {
        c->tmap[nd->out[0]] = u;
        return 0;
    }
    return write_block(c, nd, &b, x, u, 0, nd->out[0]) >= 0 ? 0 : -1;
}

int ox_lower_expand(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_t(c, nd, 0);
    return x >= 0 && ox_op(c, nd, BB_OP_EXPAND, &x, 1, nd->out[0]) ? 0 : -1;
}
