/*
 * cpu_generic.c — the generic ops of imported (ONNX) graphs on the CPU
 * backend (BB_OP_BINARY and below in engine/graph.h): the ops a model
 * built by hand in the zoo never needs, each lowered to one oneDNN
 * primitive where oneDNN has a fast one, else to a kernel of
 * cpu_generic_kernels.c.
 *
 * Generic ops are defined on full shapes (bb_tensor_shape). Their inputs
 * are read as dense row-major fp32 views of that shape (a buffer a linear
 * wrote as [N*L, D] is the same bytes as [N, L, D]: a view, no copy), except
 * where a primitive takes any layout as it comes (concat, a same-shape
 * binary, transpose, a slice's submemory, batch norm, activations): then a
 * conv's blocked output is read in place. Their outputs are fp32 (a bf16
 * model converts on the way in and out: the generic ops compute in fp32).
 * Constant operands (params / buffers) are packed once, at prepare.
 * Data movement, here: transpose = a reorder from a permuted view; reshape
 * = a view of the same bytes when its input dies there (else a copy);
 * concat = oneDNN's concat; slice = a reorder from a submemory view (steps
 * 1) or the walk kernel; pad and expand = the walk kernel. The math
 * (activations, batch norm, binary, matmul, softmax, reduce mean) is in
 * cpu_generic_math.c; the helpers both use are declared in cpu_generic.h.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_generic.h"
#include "engine/fuse.h"

#define R CPU_R

int cpu_is_const(const bb_graph *g, int t)
{
    return bb_tensor_is_const(&g->tensors[t]);
}

int cpu_full_shape(const bb_backend *b, int t, int64_t *dims)
{
    return bb_tensor_shape(b->g, t, b->batch, dims);
}

int64_t cpu_numel(int nd, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= d[i];
    return n;
}

int cpu_buf_plain_f32(const bb_backend *b, int buf)
{
    return buf >= 0 && b->dt == dnnl_f32 && b->bufs[buf].md.data_type == dnnl_f32 && cpu_md_is_plain(&b->bufs[buf].md);
}

int cpu_md_has_dims(const dnnl_memory_desc_t *md, int nd, const int64_t *d)
{
    if (md->ndims != nd)
        return 0;
    for (int i = 0; i < nd; i++)
        if (md->dims[i] != d[i])
            return 0;
    return 1;
}

int cpu_view_buf(bb_backend *b, int src, const dnnl_memory_desc_t *md)
{
    int v = cpu_new_buf(b, md);
    b->bufs[v].alias = src;
    cpu_touch(b, src);
    return v;
}

int cpu_tensor_full_plain(bb_backend *b, int t, dnnl_data_type_t dt, bb_err *err)
{
    int64_t d[R];
    int nd = cpu_full_shape(b, t, d);
    int p = cpu_tensor_plain(b, t, dt, err);
    if (p < 0 || cpu_md_has_dims(&b->bufs[p].md, nd, d))
        return p;
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, nd, d, dt);
    if (dnnl_memory_desc_get_size(&md) != dnnl_memory_desc_get_size(&b->bufs[p].md))
        return bb_err_set(err, "cpu backend: tensor %d ('%s') holds a different number of elements than its shape",
                          t, b->g->tensors[t].name);
    b->tbuf[t] = cpu_view_buf(b, p, &md);
    return b->tbuf[t];
}

int cpu_tensor_full(bb_backend *b, int t, bb_err *err)
{
    int64_t d[R];
    int nd = cpu_full_shape(b, t, d), cur = b->tbuf[t];
    if (cpu_md_has_dims(&b->bufs[cur].md, nd, d))
        return cur;
    return cpu_tensor_full_plain(b, t, b->bufs[cur].md.data_type, err);
}

/* Activation t in any layout with its full shape, fp32. */
int cpu_tensor_f32(bb_backend *b, int t, bb_err *err)
{
    int cur = cpu_tensor_full(b, t, err);
    if (cur < 0 || b->bufs[cur].md.data_type == dnnl_f32)
        return cur;
    return cpu_tensor_full_plain(b, t, dnnl_f32, err);
}

/* ---- operands ------------------------------------------------------------ */

/* The shape of tensor t (a constant's dims, an activation's full shape)
 * with leading 1s up to nd axes; -1 when it has more. */
int cpu_padded_shape(const bb_backend *b, int t, int nd, int64_t *d)
{
    int64_t s[R];
    int n = cpu_full_shape(b, t, s);
    return bb_shape_lead_ones(n, s, nd, d);
}

/* Operand t as fp32 of dims d (as many elements as t has), dense or in the
 * layout `want` describes over the dense array's bytes (NULL: dense): a view
 * of the dense activation, or the constant packed once. */
int cpu_operand_as(bb_backend *b, const bb_op *op, int t, int nd, const int64_t *d, const dnnl_memory_desc_t *want,
                   cpu_gsrc *o, bb_err *err)
{
    dnnl_memory_desc_t dense, md; /* want may point at o->md */
    cpu_md_plain(&dense, nd, d, dnnl_f32);
    md = want ? *want : dense;
    o->buf = -1, o->mem = NULL, o->md = md;
    if (cpu_is_const(b->g, t)) {
        if (!b->g->tensors[t].data)
            return bb_err_set(err, "cpu backend: '%s': constant '%s' has no data", op->label, b->g->tensors[t].name);
        return cpu_pack_shared(b, &dense, b->g->tensors[t].data, &o->md, &o->mem, err);
    }
    int p = cpu_tensor_full_plain(b, t, dnnl_f32, err);
    if (p < 0)
        return -1;
    o->buf = dnnl_memory_desc_equal(&b->bufs[p].md, &o->md) ? p : cpu_view_buf(b, p, &o->md);
    return 0;
}

int cpu_operand(bb_backend *b, const bb_op *op, int t, int nd, const int64_t *d, cpu_gsrc *o, bb_err *err)
{
    return cpu_operand_as(b, op, t, nd, d, NULL, o, err);
}

void cpu_arg_src(bb_backend *b, cpu_step *s, int arg, const cpu_gsrc *o)
{
    if (o->buf >= 0)
        cpu_arg_buf(b, s, arg, o->buf);
    else
        cpu_arg_mem(s, arg, o->mem);
}

int cpu_pd_is_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return cpu_is_ref_impl(impl);
}

/* A step running pd from src to a new buffer of md for op's output;
 * destroys pd. */
int cpu_unary_step(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, int src, const dnnl_memory_desc_t *md,
                      int arg_in, int arg_out, bb_err *err)
{
    int dst = cpu_dst_buf(b, op, md);
    cpu_step *s = cpu_step_from_pd(b, op, pd, err);
    dnnl_primitive_desc_destroy(pd);
    if (!s)
        return -1;
    cpu_arg_buf(b, s, arg_in, src);
    cpu_arg_buf(b, s, arg_out, dst);
    return 0;
}

int cpu_reorder_op(bb_backend *b, const bb_op *op, int from, const dnnl_memory_desc_t *to, bb_err *err)
{
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, &b->bufs[from].md, b->eng, to, b->eng, b->attr), err, "reorder",
               op->label);
    return cpu_unary_step(b, op, pd, from, to, DNNL_ARG_FROM, DNNL_ARG_TO, err);
}

/* A walk kernel step writing op's output, dense fp32 of its full shape;
 * takes w. */
int cpu_walk_step(bb_backend *b, const bb_op *op, cpu_walk *w)
{
    int64_t d[R];
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, cpu_full_shape(b, op->out, d), d, dnnl_f32);
    bb_walk_simplify(&w->w);
    int dst = cpu_dst_buf(b, op, &md);
    cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
    s->kernel = K_WALK, s->walk = w, s->kin = w->src[0], s->kout = dst;
    for (int k = 0; k < w->w.n_src; k++)
        if (w->src[k] >= 0)
            cpu_touch(b, w->src[k]);
    cpu_touch(b, dst);
    return 0;
}

/* Source k of a walk: tensor t, whose shape s (padded to w->nd axes)
 * broadcasts to w->dims: dense strides, 0 on broadcast axes. */
int cpu_walk_source(bb_backend *b, cpu_walk *w, int k, int t, const int64_t *s, bb_err *err)
{
    w->src[k] = -1, w->cdata[k] = NULL;
    if (cpu_is_const(b->g, t)) {
        if (!(w->cdata[k] = b->g->tensors[t].data))
            return bb_err_set(err, "cpu backend: constant '%s' has no data", b->g->tensors[t].name);
    } else if ((w->src[k] = cpu_tensor_full_plain(b, t, dnnl_f32, err)) < 0) {
        return -1;
    }
    bb_walk_source(&w->w, k, s);
    return 0;
}

/* A new dense fp32 buffer [N, C*m, H, W] holding tensor t's [N, C, H, W]
 * with every channel repeated m times in a row (channel c*m + j is channel
 * c): the input of a channel-multiplier conv run as a depthwise one
 * (cpu_ops.c, lower_conv). The walk kernel's step, labelled `label`. The
 * next conv on the same t and m (FastViT's 7x7 and 3x3 branches) gets the
 * same buffer, in the layout the last one left it (b->rep_buf). */
int cpu_repeat_channels(bb_backend *b, int t, int64_t m, const char *label, bb_err *err)
{
    if (b->rep_t == t && b->rep_m == m) {
        cpu_touch(b, b->rep_buf);
        return b->rep_buf;
    }
    int64_t x[R];
    if (cpu_full_shape(b, t, x) != 4)
        return bb_err_set(err, "cpu backend: '%s': repeating channels needs a 4-d tensor", label);
    int64_t rep[5] = {x[0], x[1], m, x[2], x[3]}, one[5] = {x[0], x[1], 1, x[2], x[3]};
    int64_t out[4] = {x[0], x[1] * m, x[2], x[3]};
    cpu_walk *w = cpu_walk_new(BB_WALK_GATHER, 5, rep, err);
    if (!w || (w->src[0] = cpu_tensor_full_plain(b, t, dnnl_f32, err)) < 0) {
        free(w);
        return -1;
    }
    bb_walk_source(&w->w, 0, one); /* stride 0 along the repeats */
    bb_walk_simplify(&w->w);
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, 4, out, dnnl_f32);
    int dst = cpu_new_buf(b, &md);
    cpu_step *s = cpu_add_step(b, label, "repeat");
    s->kernel = K_WALK, s->walk = w, s->kin = w->src[0], s->kout = dst;
    cpu_touch(b, w->src[0]);
    cpu_touch(b, dst);
    b->rep_t = t, b->rep_m = m, b->rep_buf = dst;
    return dst;
}

cpu_walk *cpu_walk_new(bb_walk_mode mode, int nd, const int64_t *dims, bb_err *err)
{
    cpu_walk *w = calloc(1, sizeof *w);
    if (!w) {
        bb_err_set(err, "out of memory");
        return NULL;
    }
    bb_walk_init(&w->w, mode, nd, dims);
    w->src[0] = w->src[1] = -1;
    return w;
}

int cpu_same_shape(int nd, const int64_t *a, const int64_t *c)
{
    return memcmp(a, c, sizeof(int64_t) * (size_t)nd) == 0;
}

/* ---- data movement ---------------------------------------------------------- */

static int lower_reshape(bb_backend *b, const bb_op *op, bb_err *err);

/* Whether a permutation keeps the axes longer than 1 in their order: then
 * it moves no bytes (ViT's [1, L, D] -> [L, 1, D] at batch 1). */
static int perm_keeps_order(int nd, const int *perm, const int64_t *d)
{
    for (int i = 0, last = -1; i < nd; i++) {
        if (d[perm[i]] == 1)
            continue;
        if (perm[i] < last)
            return 0;
        last = perm[i];
    }
    return 1;
}

/* Whether op's input comes from a reshape (which leaves either a dense
 * tensor or strided_view's view). A conv's channels-last output read by a
 * transpose directly (ConvNeXt's NCHW to NHWC) stays with oneDNN's reorder:
 * often a plain copy, which it does faster than the walk. */
static int reads_strided_view(const bb_backend *b, const bb_op *op)
{
    int p = bb_producer(b->g, op->in[0]);
    return p >= 0 && b->g->ops[p].type == BB_OP_RESHAPE;
}

/* A transpose of a strided view (strided_view) into a dense output, as a
 * gather walk: in tiles (K_WALK_TILED) where other axes than the last two
 * step through the source by less than the next-to-last does (an
 * interleave's channels), row by row otherwise. */
static int transpose_strided(bb_backend *b, const bb_op *op, int src, int nd, const int64_t *o, bb_err *err)
{
    cpu_walk *w = calloc(1, sizeof *w);
    if (!w)
        return bb_err_oom(err, "out of memory");
    bb_walk_init(&w->w, BB_WALK_GATHER, nd, o);
    for (int i = 0; i < nd; i++)
        w->w.st[0][i] = b->bufs[src].md.format_desc.blocking.strides[op->perm[i]];
    w->src[0] = src, w->src[1] = -1;
    if (cpu_walk_step(b, op, w) != 0)
        return -1;
    const bb_walk *sw = &w->w;
    for (int i = 0; sw->nd >= 3 && i < sw->nd - 2; i++)
        if (sw->st[0][i] < sw->st[0][sw->nd - 2])
            b->steps[b->n_steps - 1].kernel = K_WALK_TILED;
    return 0;
}

/* A reorder from a view of the input with its axes permuted (perm[i] = the
 * input axis that becomes output axis i) into a dense output; a reshape
 * when no bytes move. */
static int lower_transpose(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = cpu_full_shape(b, op->in[0], d), seen = 0, inv[DNNL_MAX_NDIMS];
    int ok = cpu_full_shape(b, op->out, o) == nd;
    for (int i = 0; ok && i < nd; i++) {
        int p = op->perm[i];
        ok = p >= 0 && p < nd && !(seen & (1 << p)) && o[i] == d[p];
        seen |= ok ? 1 << p : 0;
        if (ok)
            inv[p] = i;
    }
    if (!ok)
        return bb_err_set(err, "cpu backend: transpose '%s': perm is not a permutation of the input's axes "
                               "giving the output's shape", op->label);
    if (perm_keeps_order(nd, op->perm, d))
        return lower_reshape(b, op, err);
    int src = cpu_tensor_f32(b, op->in[0], err);
    if (src < 0)
        return -1;
    const dnnl_memory_desc_t *smd = &b->bufs[src].md;
    if (reads_strided_view(b, op) && smd->format_kind == dnnl_blocked &&
        smd->format_desc.blocking.inner_nblks == 0 && !cpu_md_is_plain(smd))
        return transpose_strided(b, op, src, nd, o, err);
    dnnl_memory_desc_t pmd, out;
    DNNL_CHECK(dnnl_memory_desc_permute_axes(&pmd, &b->bufs[src].md, inv), err, "permuted view", op->label);
    cpu_md_plain(&out, nd, o, dnnl_f32);
    return cpu_reorder_op(b, op, cpu_view_buf(b, src, &pmd), &out, err);
}

static int root_buf(const bb_backend *b, int i)
{
    while (b->bufs[i].alias >= 0)
        i = b->bufs[i].alias;
    return i;
}

/* A reshape may share its input's bytes when nothing else ever reads them
 * again: the input dies here, and is neither the graph's input (which a
 * later in-place write must not change: it is set once, run many times)
 * nor its output. Else an in-place residual sum into one name could change
 * what the other still reads. */
static int reshape_may_alias(const bb_backend *b, const bb_op *op, int buf)
{
    const bb_graph *g = b->g;
    int t = op->in[0], at = -1;
    for (int i = 0; i < g->n_ops && at < 0; i++)
        at = &g->ops[i] == op ? i : -1;
    if (at < 0 || t == g->input || t == g->output)
        return 0;
    return bb_last_reader(g, t) == at && root_buf(b, buf) != root_buf(b, b->input_buf);
}

/* Strides ost for dims o that view the same bytes as dims d with strides
 * st, as numpy's no-copy reshape finds them: every run of output dims must
 * split or merge a run of input dims that lies contiguous in memory (axes
 * of size 1 aside). 0 when they exist, -1 when the bytes must move. */
static int view_strides(int nd, const int64_t *d, const int64_t *st, int no, const int64_t *o, int64_t *ost)
{
    int64_t od[R], os[R];
    int n = 0, oi = 0, ni = 0;
    for (int i = 0; i < nd; i++) /* size-1 input axes take no part */
        if (d[i] != 1)
            od[n] = d[i], os[n++] = st[i];
    for (int i = 0; i < no; i++)
        ost[i] = 1;
    while (oi < n && ni < no) {
        if (o[ni] == 1) { /* any stride serves */
            ni++;
            continue;
        }
        int oj = oi + 1, nj = ni + 1;
        int64_t pi = od[oi], pn = o[ni];
        while (pi != pn) {
            if (pn < pi && nj < no)
                pn *= o[nj++];
            else if (pi < pn && oj < n)
                pi *= od[oj++];
            else
                return -1;
        }
        for (int k = oi; k < oj - 1; k++) /* the merged input run must be contiguous */
            if (os[k] != od[k + 1] * os[k + 1])
                return -1;
        ost[nj - 1] = os[oj - 1];
        for (int k = nj - 1; k > ni; k--)
            ost[k - 1] = ost[k] * o[k];
        oi = oj, ni = nj;
    }
    return oi == n ? 0 : -1;
}

/* A reshape that only the transpose after it reads (an interleave:
 * ConvTranspose's sub-pixel phases, DepthToSpace), of an f32 layout with
 * strides and no blocks (a conv's channels-last output), as a view with
 * strides: lower_transpose then reads those bytes once in tiles, instead
 * of a reorder to dense first and the transpose after it. Only where the
 * transpose's output rows (its last two axes) hold at least TILED_ROW
 * floats: on shorter ones the tiles did not beat oneDNN's two passes (a
 * DCGAN at batch 8, 2 threads: 4x4 to 8x8 0.080 ms against 0.067, 8x8 to
 * 16x16 0.126 against 0.113; 16x16 to 32x32 0.259 against 0.262). 1 when
 * it is a view. */
enum { TILED_ROW = 32 };

static int strided_view(bb_backend *b, const bb_op *op, int nd, const int64_t *d, int no, const int64_t *o)
{
    const bb_graph *g = b->g;
    int cur = b->tbuf[op->in[0]], at = (int)(op - g->ops), next = bb_next_reader(g, op->out, at), nt = 0;
    const dnnl_memory_desc_t *md = &b->bufs[cur].md;
    dnnl_dims_t ost = {0}, od = {0};
    int64_t to[R];
    if (next >= 0 && g->ops[next].type == BB_OP_TRANSPOSE)
        nt = cpu_full_shape(b, g->ops[next].out, to);
    if (nt < 2 || to[nt - 1] * to[nt - 2] < TILED_ROW || bb_last_reader(g, op->out) != next ||
        md->data_type != dnnl_f32 || md->format_kind != dnnl_blocked || md->format_desc.blocking.inner_nblks != 0 ||
        cpu_md_is_plain(md) || !cpu_md_has_dims(md, nd, d) || !reshape_may_alias(b, op, cur) ||
        view_strides(nd, d, md->format_desc.blocking.strides, no, o, ost) != 0)
        return 0;
    dnnl_memory_desc_t view;
    memcpy(od, o, sizeof(int64_t) * (size_t)no);
    if (dnnl_memory_desc_init_by_strides(&view, no, od, dnnl_f32, ost) != dnnl_success)
        return 0;
    b->tbuf[op->out] = cpu_view_buf(b, cur, &view);
    return 1;
}

static int lower_reshape(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = cpu_full_shape(b, op->in[0], d), no = cpu_full_shape(b, op->out, o);
    if (cpu_numel(nd, d) != cpu_numel(no, o))
        return bb_err_set(err, "cpu backend: reshape '%s': %lld elements in, %lld out", op->label,
                          (long long)cpu_numel(nd, d), (long long)cpu_numel(no, o));
    if (strided_view(b, op, nd, d, no, o))
        return 0;
    dnnl_data_type_t dt = b->bufs[b->tbuf[op->in[0]]].md.data_type;
    int src = cpu_tensor_full_plain(b, op->in[0], dt, err);
    if (src < 0)
        return -1;
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, no, o, dt);
    if (reshape_may_alias(b, op, src)) {
        b->tbuf[op->out] = cpu_view_buf(b, src, &md);
        return 0;
    }
    int dst = cpu_dst_buf(b, op, &md);
    cpu_step *s = cpu_add_step(b, op->label, "reshape");
    s->kernel = K_COPY, s->kin = src, s->kout = dst;
    s->p[0] = (int64_t)dnnl_memory_desc_get_size(&md);
    cpu_touch(b, src);
    cpu_touch(b, dst);
    return 0;
}

/* Source i of a concat: its buffer as it is (a conv's blocked layout may
 * do: oneDNN picks the output layout), dense fp32 when `dense`, or the
 * packed constant. Its shape must be the output's but on the axis. */
static int concat_src(bb_backend *b, const bb_op *op, int i, int dense, cpu_gsrc *s, bb_err *err)
{
    int64_t d[R];
    int t = op->in[i], nd = cpu_full_shape(b, t, d);
    if (cpu_is_const(b->g, t))
        return cpu_operand(b, op, t, nd, d, s, err);
    s->mem = NULL;
    s->buf = dense ? cpu_tensor_full_plain(b, t, dnnl_f32, err) : cpu_tensor_f32(b, t, err);
    if (s->buf >= 0)
        s->md = b->bufs[s->buf].md;
    return s->buf >= 0 ? 0 : -1;
}

/* Inputs of the output's rank and shape but on the axis, adding up to it. */
static int concat_check(const bb_backend *b, const bb_op *op, int nd, const int64_t *o, bb_err *err)
{
    int64_t d[R], along = 0;
    if (op->n_in < 1 || op->n_in > BB_MAX_IN || op->axis < 0 || op->axis >= nd)
        return bb_err_set(err, "cpu backend: concat '%s': needs 1 to %d inputs and an axis of the output",
                          op->label, BB_MAX_IN);
    for (int i = 0; i < op->n_in; i++) {
        int ok = op->in[i] >= 0 && cpu_full_shape(b, op->in[i], d) == nd;
        for (int k = 0; ok && k < nd; k++)
            ok = k == op->axis || d[k] == o[k];
        if (!ok)
            return bb_err_set(err, "cpu backend: concat '%s': input %d differs from the output off the axis",
                              op->label, i);
        along += d[op->axis];
    }
    if (along != o[op->axis])
        return bb_err_set(err, "cpu backend: concat '%s': the inputs add up to %lld along axis %d, the output has %lld",
                          op->label, (long long)along, op->axis, (long long)o[op->axis]);
    return 0;
}

/* The concat of the sources (dst NULL: oneDNN's pick); with fast_only, -1
 * where oneDNN has only reference code for it. */
static int concat_pd(bb_backend *b, const bb_op *op, const cpu_gsrc *src, const dnnl_memory_desc_t *dst,
                     int fast_only, dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t mds[BB_MAX_IN];
    for (int i = 0; i < op->n_in; i++)
        mds[i] = src[i].md;
    *pd = NULL;
    if (dnnl_concat_primitive_desc_create(pd, dst, op->n_in, op->axis, mds, b->attr, b->eng) != dnnl_success)
        return -1;
    if (fast_only && cpu_pd_is_ref(*pd)) {
        dnnl_primitive_desc_destroy(*pd);
        return -1;
    }
    return 0;
}

/* The output layout for sources in one of the layouts convs pick (given
 * the output's dims: oneDNN's own pick for blocked sources is dense, which
 * it concatenates with reference code only); format "any" otherwise. */
static void concat_dst(const cpu_gsrc *src, int nd, const int64_t *o, dnnl_memory_desc_t *dst)
{
    static const dnnl_format_tag_t t4[] = {dnnl_aBcd16b, dnnl_aBcd8b, dnnl_acdb};
    static const dnnl_format_tag_t t5[] = {dnnl_aBcde16b, dnnl_aBcde8b, dnnl_acdeb};
    dnnl_dims_t od;
    for (int i = 0; i < nd; i++)
        od[i] = o[i];
    dnnl_memory_desc_init_by_tag(dst, nd, od, dnnl_f32, dnnl_format_tag_any);
    for (int k = 0; (nd == 4 || nd == 5) && k < 3; k++) {
        dnnl_memory_desc_t probe;
        dnnl_memory_desc_init_by_tag(&probe, nd, src[0].md.dims, dnnl_f32, nd == 4 ? t4[k] : t5[k]);
        if (dnnl_memory_desc_equal(&probe, &src[0].md)) {
            dnnl_memory_desc_init_by_tag(dst, nd, od, dnnl_f32, nd == 4 ? t4[k] : t5[k]);
            return;
        }
    }
}

/* A dense output, each activation source reordered into its part of it (a
 * submemory view) from whatever layout it has: oneDNN's concat of dense
 * tensors is reference code (shufflenet_v2's [1,116,28,28] from two halves:
 * 0.10 ms, after a 0.02 ms reorder of the blocked half to dense; each
 * reorder into the view takes about what that reorder did). 1 when a
 * source is a constant (the caller concatenates), else 0 or -1. */
static int concat_by_reorders(bb_backend *b, const bb_op *op, const cpu_gsrc *src, int nd, const int64_t *o,
                              bb_err *err)
{
    for (int i = 0; i < op->n_in; i++)
        if (src[i].buf < 0)
            return 1;
    dnnl_memory_desc_t out;
    cpu_md_plain(&out, nd, o, dnnl_f32);
    int dst = cpu_dst_buf(b, op, &out);
    dnnl_dims_t part, at = {0};
    for (int i = 0; i < op->n_in; i++) {
        int64_t d[R];
        cpu_full_shape(b, op->in[i], d);
        for (int k = 0; k < nd; k++)
            part[k] = d[k];
        dnnl_memory_desc_t sub;
        DNNL_CHECK(dnnl_memory_desc_init_submemory(&sub, &out, part, at), err, "submemory", op->label);
        dnnl_primitive_desc_t pd;
        DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, &src[i].md, b->eng, &sub, b->eng, b->attr), err,
                   "reorder", op->label);
        int view = cpu_view_buf(b, dst, &sub);
        cpu_step *s = cpu_step_from_pd(b, op, pd, err);
        dnnl_primitive_desc_destroy(pd);
        if (!s)
            return -1;
        cpu_arg_buf(b, s, DNNL_ARG_FROM, src[i].buf);
        cpu_arg_buf(b, s, DNNL_ARG_TO, view);
        at[op->axis] += d[op->axis];
    }
    cpu_touch(b, dst);
    return 0;
}

/* A view when the sources were written in place (cpu_concat_inplace.c);
 * else oneDNN's concat on the inputs' layouts when it has fast code for them
 * (same blocked layout, block-aligned channel counts); else each source
 * reordered into its part of a dense output (concat_by_reorders); else,
 * with a constant among the sources, oneDNN's concat on dense inputs into a
 * dense output (reference code). */
static int lower_concat(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t o[R];
    int nd = cpu_full_shape(b, op->out, o), dense = b->dt != dnnl_f32;
    if (concat_check(b, op, nd, o, err) != 0)
        return -1;
    if (cpu_cat_view(b, op) == 0)
        return 0;
    cpu_gsrc src[BB_MAX_IN];
    for (int i = 0; i < op->n_in; i++)
        if (concat_src(b, op, i, dense, &src[i], err) != 0)
            return -1;
    dnnl_primitive_desc_t pd;
    dnnl_memory_desc_t out;
    concat_dst(src, nd, o, &out);
    if (concat_pd(b, op, src, &out, 1, &pd) != 0) {
        int rc = b->dt == dnnl_f32 ? concat_by_reorders(b, op, src, nd, o, err) : 1;
        if (rc <= 0)
            return rc;
        cpu_md_plain(&out, nd, o, dnnl_f32);
        for (int i = 0; i < op->n_in; i++)
            if (src[i].buf >= 0 && !cpu_md_is_plain(&src[i].md) && concat_src(b, op, i, 1, &src[i], err) != 0)
                return -1;
        if (concat_pd(b, op, src, &out, 0, &pd) != 0)
            return bb_err_set(err, "oneDNN: concat failed for '%s'", op->label);
    }
    int dst = cpu_dst_buf(b, op, cpu_q_md(pd, dnnl_query_dst_md));
    cpu_step *s = cpu_step_from_pd(b, op, pd, err);
    dnnl_primitive_desc_destroy(pd);
    if (!s)
        return -1;
    for (int i = 0; i < op->n_in; i++)
        cpu_arg_src(b, s, DNNL_ARG_MULTIPLE_SRC + i, &src[i]);
    cpu_arg_buf(b, s, DNNL_ARG_DST, dst);
    return 0;
}

/* Whether a part (dims d at offsets at) of a tensor in layout md takes
 * whole blocks along its blocked axes. oneDNN 2.6 makes a view of a part
 * that splits a block (mixnet's split of 16 channels in nChw16c into
 * 8 + 8), but reorders out of it with its element-by-element simple:any
 * code: 34 ms for [4, 8, 112, 112], against about 1 ms to reorder the
 * whole tensor to a plain layout and slice that. */
static int blocks_whole(const dnnl_memory_desc_t *md, const dnnl_dims_t d, const dnnl_dims_t at)
{
    if (md->format_kind != dnnl_blocked)
        return 0;
    const dnnl_blocking_desc_t *bk = &md->format_desc.blocking;
    for (int i = 0; i < bk->inner_nblks; i++) {
        int64_t blk = bk->inner_blks[i], a = bk->inner_idxs[i];
        if (at[a] % blk || (d[a] % blk && at[a] + d[a] != md->dims[a]))
            return 0;
    }
    return 1;
}

/* Steps of 1: a reorder from the submemory view (of a blocked layout when
 * it takes whole blocks, else of the dense input). Other steps: the walk
 * kernel with the input's strides times the steps. */
static int lower_slice(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = cpu_full_shape(b, op->in[0], d), unit = 1, ok = cpu_full_shape(b, op->out, o) == nd;
    bb_walk geometry; /* checks the slice stays inside the input */
    if (ok) {
        bb_walk_init(&geometry, BB_WALK_GATHER, nd, o);
        bb_walk_source(&geometry, 0, d);
        ok = bb_walk_slice(&geometry, op, d) == 0;
    }
    for (int i = 0; i < nd; i++)
        unit &= op->steps[i] == 1;
    if (!ok)
        return bb_err_set(err, "cpu backend: slice '%s': starts, steps and the output's shape must stay inside "
                               "the input (and select something)", op->label);
    dnnl_memory_desc_t sub, out;
    cpu_md_plain(&out, nd, o, dnnl_f32);
    const int in_buf = b->tbuf[op->in[0]];
    int small = cpu_numel(nd, o) <= CPU_SMALL_OP && cpu_buf_plain_f32(b, in_buf);
    if (unit && !small) { /* a small one: the walk kernel's one pass beats a reorder's call */
        dnnl_dims_t sd, so;
        for (int i = 0; i < nd; i++)
            sd[i] = o[i], so[i] = op->starts[i];
        int src = cpu_tensor_f32(b, op->in[0], err);
        if (src >= 0 && (!blocks_whole(&b->bufs[src].md, sd, so) ||
                         dnnl_memory_desc_init_submemory(&sub, &b->bufs[src].md, sd, so) != dnnl_success))
            src = cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err);
        if (src < 0)
            return -1;
        DNNL_CHECK(dnnl_memory_desc_init_submemory(&sub, &b->bufs[src].md, sd, so), err, "submemory", op->label);
        return cpu_reorder_op(b, op, cpu_view_buf(b, src, &sub), &out, err);
    }
    cpu_walk *w = cpu_walk_new(BB_WALK_GATHER, nd, o, err);
    if (!w || cpu_walk_source(b, w, 0, op->in[0], d, err) != 0) {
        free(w);
        return -1;
    }
    bb_walk_slice(&w->w, op, d);
    return cpu_walk_step(b, op, w);
}

/* Pad (constant, where negative pads crop; reflect; edge): the walk
 * kernel, which writes every output element on every run (the arena's
 * bytes are reused). */
static int lower_pad(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = cpu_full_shape(b, op->in[0], d), ok = cpu_full_shape(b, op->out, o) == nd;
    if (!ok)
        return bb_err_set(err, "cpu backend: pad '%s': the pads do not give the output's shape", op->label);
    cpu_walk *w = cpu_walk_new(BB_WALK_PAD, nd, o, err);
    if (!w || cpu_walk_source(b, w, 0, op->in[0], d, err) != 0) {
        free(w);
        return -1;
    }
    if (bb_walk_pad(&w->w, op, d) != 0) {
        free(w);
        return bb_err_set(err, "cpu backend: pad '%s': the pads do not give the output's shape", op->label);
    }
    return cpu_walk_step(b, op, w);
}

/* Broadcast copy (NumPy rules) of an activation or a constant. */
static int lower_expand(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t o[R], s[R];
    int nd = cpu_full_shape(b, op->out, o);
    if (cpu_padded_shape(b, op->in[0], nd, s) != 0 || !bb_broadcasts_to(nd, s, o))
        return bb_err_set(err, "cpu backend: expand '%s': the input does not broadcast to the output's shape",
                          op->label);
    cpu_walk *w = cpu_walk_new(BB_WALK_GATHER, nd, o, err);
    if (!w || cpu_walk_source(b, w, 0, op->in[0], s, err) != 0) {
        free(w);
        return -1;
    }
    return cpu_walk_step(b, op, w);
}

int cpu_lower_generic(bb_backend *b, const bb_op *op, bb_err *err)
{
    if (op->type != BB_OP_BINARY && op->type != BB_OP_MATMUL && op->type != BB_OP_CONCAT && op->n_in != 1)
        return bb_err_set(err, "cpu backend: %s '%s' takes one input, not %d", bb_op_type_name(op->type), op->label,
                          op->n_in);
    switch (op->type) {
    case BB_OP_BINARY: return cpu_lower_binary_op(b, op, err);
    case BB_OP_MATMUL: return cpu_lower_matmul(b, op, err);
    case BB_OP_TRANSPOSE: return lower_transpose(b, op, err);
    case BB_OP_RESHAPE: return lower_reshape(b, op, err);
    case BB_OP_CONCAT: return lower_concat(b, op, err);
    case BB_OP_SLICE: return lower_slice(b, op, err);
    case BB_OP_SOFTMAX: return cpu_lower_softmax(b, op, err);
    case BB_OP_REDUCE_MEAN: return cpu_lower_reduce_mean(b, op, err);
    case BB_OP_PAD: return lower_pad(b, op, err);
    case BB_OP_EXPAND: return lower_expand(b, op, err);
    case BB_OP_RESIZE: return cpu_lower_resize(b, op, err);
    default:
        return bb_err_set(err, "cpu backend: op '%s' (%s) is not a generic op", op->label, bb_op_type_name(op->type));
    }
}
