/*
 * cpu_lower.c — the tools op lowering is built from: buffers and their
 * lifetimes, steps and their arguments, reorders, fused post-ops and weight
 * packing. The per-op lowerings that use them are in cpu_ops.c.
 *
 * Layout policy: convolutions and pools take their input in whatever layout
 * its producer chose and let oneDNN pick the output layout ("any"), so
 * blocked layouts flow through a conv net without reorders. Matmul-based
 * ops (linear, layer norm, attention) work on dense row-major tensors; a
 * reorder is inserted only where a tensor must change layout (the edges).
 * Weights are folded (BatchNorm) and packed once, into the layout the
 * primitive asked for.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "engine/fuse.h"
#include "util/grow.h"

cpu_step *cpu_add_step(bb_backend *b, const char *label, const char *kind)
{
    b->steps = bb_grow(b->steps, &b->cap_steps, b->n_steps + 1, sizeof *b->steps);
    cpu_step *s = &b->steps[b->n_steps++];
    memset(s, 0, sizeof *s);
    s->label = label, s->kind = kind, s->impl = "batchbench", s->kin = s->kout = -1;
    return s;
}

static int cur_step(const bb_backend *b)
{
    return b->n_steps; /* index of the step about to be added */
}

int cpu_new_buf(bb_backend *b, const dnnl_memory_desc_t *md)
{
    dnnl_memory_desc_t copy = *md; /* md may point into b->bufs, which grows */
    b->bufs = bb_grow(b->bufs, &b->cap_bufs, b->n_bufs + 1, sizeof *b->bufs);
    cpu_buf *c = &b->bufs[b->n_bufs];
    memset(c, 0, sizeof *c);
    c->md = copy;
    c->first = c->last = cur_step(b);
    c->alias = -1;
    return b->n_bufs++;
}

void cpu_touch(bb_backend *b, int buf)
{
    if (b->bufs[buf].last < cur_step(b))
        b->bufs[buf].last = cur_step(b);
}

void cpu_arg_buf(bb_backend *b, cpu_step *s, int arg, int buf)
{
    s->args[s->n_args++] = (cpu_arg){arg, buf, NULL};
    cpu_touch(b, buf);
}

void cpu_arg_mem(cpu_step *s, int arg, dnnl_memory_t mem)
{
    s->args[s->n_args++] = (cpu_arg){arg, -1, mem};
}

/* The channel block of a 4-d nChw16c / nChw8c (any one-level block of
 * dimension 1) layout, 0 for any other layout. */
static int64_t channel_block(const dnnl_memory_desc_t *md)
{
    const dnnl_blocking_desc_t *blk = &md->format_desc.blocking;
    return md->ndims == 4 && md->format_kind == dnnl_blocked && blk->inner_nblks == 1 && blk->inner_idxs[0] == 1
               ? blk->inner_blks[0] : 0;
}

/* md: a 4-d tensor of dims d in like's nChw16c / nChw8c layout; 0 (md
 * untouched) when like is in neither. */
int cpu_md_blocked_like(dnnl_memory_desc_t *md, const int64_t d[4], const dnnl_memory_desc_t *like,
                        dnnl_data_type_t dt)
{
    int64_t block = channel_block(like);
    if (block != 16 && block != 8)
        return 0;
    dnnl_dims_t dd = {d[0], d[1], d[2], d[3]};
    dnnl_memory_desc_init_by_tag(md, 4, dd, dt, block == 16 ? dnnl_aBcd16b : dnnl_aBcd8b);
    return 1;
}

/* A per-(item, channel) operand [N or 1, C, 1, 1] of a binary op on x (an
 * SE block's scales, a per-channel constant), described in x's layout when
 * that costs nothing: with 1x1 spatial and C a multiple of the channel
 * block, nChw16c (8c) holds the same bytes as the dense array, and oneDNN's
 * binary primitive has a fast kernel only for matching layouts (a blocked
 * x against a dense operand gets its reference code). */
void cpu_md_per_channel(dnnl_memory_desc_t *md, const int64_t d[4], const dnnl_memory_desc_t *x, dnnl_data_type_t dt)
{
    int64_t block = channel_block(x);
    int same_bytes = block && d[1] % block == 0 && d[2] == 1 && d[3] == 1;
    if (!same_bytes || !cpu_md_blocked_like(md, d, x, dt)) /* nChw4c and the rest: dense */
        cpu_md_plain(md, 4, d, dt);
}

void cpu_md_plain(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_data_type_t dt)
{
    static const dnnl_format_tag_t tags[] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc,
                                             dnnl_abcd, dnnl_abcde, dnnl_abcdef, dnnl_abcdefg, dnnl_abcdefgh};
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    if (ndims < (int)(sizeof tags / sizeof *tags)) {
        dnnl_memory_desc_init_by_tag(md, ndims, d, dt, tags[ndims]);
        return;
    }
    dnnl_dims_t st;
    int64_t s = 1;
    for (int i = ndims - 1; i >= 0; s *= d[i], i--)
        st[i] = s;
    dnnl_memory_desc_init_by_strides(md, ndims, d, dt, st);
}

int cpu_md_is_plain(const dnnl_memory_desc_t *md)
{
    if (md->format_kind != dnnl_blocked || md->format_desc.blocking.inner_nblks != 0)
        return 0;
    int64_t stride = 1;
    for (int i = md->ndims - 1; i >= 0; i--) {
        if (md->padded_dims[i] != md->dims[i] || md->format_desc.blocking.strides[i] != stride)
            return 0;
        stride *= md->dims[i];
    }
    return 1;
}

/* Appends a reorder of buffer `src` into a new buffer of layout `want`. */
static int add_reorder(bb_backend *b, int src, const dnnl_memory_desc_t *want, bb_err *err)
{
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, &b->bufs[src].md, b->eng, want, b->eng, b->attr),
               err, "reorder", "layout change");
    int dst = cpu_new_buf(b, want);
    cpu_step *s = cpu_add_step(b, "reorder", "reorder");
    dnnl_status_t st = dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        return bb_err_set(err, "oneDNN: reorder primitive failed (status %d)", (int)st);
    cpu_arg_buf(b, s, DNNL_ARG_FROM, src);
    cpu_arg_buf(b, s, DNNL_ARG_TO, dst);
    return dst;
}

/* Buffer holding buffer buf's values in exactly layout `want`: buf, or a
 * reorder of it. */
int cpu_buf_as(bb_backend *b, int buf, const dnnl_memory_desc_t *want, bb_err *err)
{
    return dnnl_memory_desc_equal(&b->bufs[buf].md, want) ? buf : add_reorder(b, buf, want, err);
}

/* Buffer holding tensor t in exactly layout `want` (reorders if needed;
 * later readers get the reordered buffer). */
int cpu_tensor_as(bb_backend *b, int t, const dnnl_memory_desc_t *want, bb_err *err)
{
    int nb = cpu_buf_as(b, b->tbuf[t], want, err);
    if (nb >= 0)
        b->tbuf[t] = nb;
    return nb;
}

int cpu_tensor_plain(bb_backend *b, int t, dnnl_data_type_t dt, bb_err *err)
{
    int cur = b->tbuf[t];
    if (cpu_md_is_plain(&b->bufs[cur].md) && b->bufs[cur].md.data_type == dt)
        return cur;
    dnnl_memory_desc_t want;
    cpu_md_plain(&want, b->bufs[cur].md.ndims, b->bufs[cur].md.dims, dt);
    return cpu_tensor_as(b, t, &want, err);
}

/* Dense [rows, last-dim] view of a plain tensor. */
void cpu_md_2d(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, dnnl_data_type_t dt)
{
    int64_t d[2] = {rows, cols};
    cpu_md_plain(md, 2, d, dt);
}

dnnl_alg_kind_t cpu_act_alg(bb_act a, float *alpha, float *beta)
{
    *alpha = 0.f, *beta = 0.f;
    switch (a) {
    case BB_ACT_RELU: return dnnl_eltwise_relu;
    case BB_ACT_RELU6: *beta = 6.f; return dnnl_eltwise_clip;
    case BB_ACT_SILU: *alpha = 1.f; return dnnl_eltwise_swish;
    case BB_ACT_SIGMOID: return dnnl_eltwise_logistic;
    case BB_ACT_GELU: return dnnl_eltwise_gelu_erf;
    case BB_ACT_TANH: return dnnl_eltwise_tanh;
    case BB_ACT_HARDSWISH: return dnnl_eltwise_hardswish; /* x * relu6(x + 3) / 6, as ONNX's */
    case BB_ACT_SQRT: return dnnl_eltwise_sqrt;
    case BB_ACT_EXP: return dnnl_eltwise_exp;
    case BB_ACT_ABS: return dnnl_eltwise_abs;
    case BB_ACT_NEG: *alpha = -1.f; return dnnl_eltwise_linear;
    case BB_ACT_RECIPROCAL: *alpha = 1.f, *beta = -1.f; return dnnl_eltwise_pow;
    case BB_ACT_SOFTPLUS: return dnnl_eltwise_soft_relu;
    case BB_ACT_MISH: return dnnl_eltwise_mish;
    case BB_ACT_LOG: return dnnl_eltwise_log;
    case BB_ACT_GELU_TANH: return dnnl_eltwise_gelu_tanh;
    default: return dnnl_alg_kind_undef;
    }
}

/* Attributes with the scratchpad left to us (DNNL_ARG_SCRATCHPAD, bound by
 * cpu_backend.c): oneDNN's own scratchpad is per thread and sized when a
 * primitive is created, so a primitive it manages must run on the thread
 * that created it, which the batch split's parts (cpu_split.c) do not. */
void cpu_attr_create(dnnl_primitive_attr_t *attr)
{
    dnnl_primitive_attr_create(attr);
    dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
}

/* Attributes carrying the op's fused activation and residual sum. */
dnnl_primitive_attr_t cpu_post_ops_attr(const bb_op *op)
{
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    float alpha, beta;
    cpu_attr_create(&attr);
    dnnl_post_ops_create(&po);
    if (op->post_act) {
        dnnl_alg_kind_t alg = cpu_act_alg(op->post_act, &alpha, &beta);
        dnnl_post_ops_append_eltwise(po, 1.f, alg, alpha, beta);
    }
    if (op->sum_in >= 0)
        dnnl_post_ops_append_sum(po, 1.f);
    if (op->sum_act) {
        dnnl_alg_kind_t alg = cpu_act_alg(op->sum_act, &alpha, &beta);
        dnnl_post_ops_append_eltwise(po, 1.f, alg, alpha, beta);
    }
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    return attr;
}

void cpu_keep_weight(bb_backend *b, dnnl_memory_t mem)
{
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(mem, &md);
    b->weights = bb_grow(b->weights, &b->cap_weights, b->n_weights + 1, sizeof *b->weights);
    b->weights[b->n_weights++] = mem;
    b->weight_bytes += (int64_t)dnnl_memory_desc_get_size(md);
}

/* Copies `data` (laid out as `user`) into a new memory of layout `want`. */
int cpu_pack(bb_backend *b, const dnnl_memory_desc_t *user, const float *data,
                const dnnl_memory_desc_t *want, dnnl_memory_t *out, bb_err *err)
{
    dnnl_memory_t src = NULL, dst = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_status_t st = dnnl_memory_create(&src, user, b->eng, (void *)data);
    if (st == dnnl_success)
        st = dnnl_memory_create(&dst, want, b->eng, DNNL_MEMORY_ALLOCATE);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&pd, user, b->eng, want, b->eng, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, pd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
        st = dnnl_primitive_execute(r, b->stream, 2, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(b->stream);
    }
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(src);
    if (st != dnnl_success) {
        dnnl_memory_destroy(dst);
        if (st == dnnl_out_of_memory)
            return bb_err_oom(err, "out of memory packing weights");
        return bb_err_set(err, "oneDNN: packing weights failed (status %d)", (int)st);
    }
    cpu_keep_weight(b, dst);
    *out = dst;
    return 0;
}

/* The memory made earlier from data laid out as user into want, or NULL. */
static dnnl_memory_t packed_find(const bb_backend *b, const float *data, const dnnl_memory_desc_t *user,
                                 const dnnl_memory_desc_t *want)
{
    for (int i = 0; i < b->n_packed; i++) {
        const cpu_packed *p = &b->packed[i];
        if (p->data == data && dnnl_memory_desc_equal(&p->user, user) && dnnl_memory_desc_equal(&p->want, want))
            return p->mem;
    }
    return NULL;
}

/* A new one recorded (mem already in b->weights). */
static void packed_add(bb_backend *b, const float *data, const dnnl_memory_desc_t *user,
                       const dnnl_memory_desc_t *want, dnnl_memory_t mem)
{
    b->packed = bb_grow(b->packed, &b->cap_packed, b->n_packed + 1, sizeof *b->packed);
    b->packed[b->n_packed++] = (cpu_packed){data, *user, *want, mem};
}

int cpu_pack_shared(bb_backend *b, const dnnl_memory_desc_t *user, const float *data,
                    const dnnl_memory_desc_t *want, dnnl_memory_t *out, bb_err *err)
{
    if ((*out = packed_find(b, data, user, want)))
        return 0;
    if (cpu_pack(b, user, data, want, out, err) != 0)
        return -1;
    packed_add(b, data, user, want, *out);
    return 0;
}

const float *cpu_pack_own(bb_backend *b, const float *data, const dnnl_memory_desc_t *user,
                          const dnnl_memory_desc_t *want, cpu_pack_fn pack, int64_t m, int64_t n, bb_err *err)
{
    dnnl_memory_t mem = packed_find(b, data, user, want);
    void *p = NULL;
    if (!mem) {
        if (dnnl_memory_create(&mem, want, b->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) {
            bb_err_oom(err, "cpu backend: out of memory packing weights");
            return NULL;
        }
        dnnl_memory_get_data_handle(mem, &p);
        memset(p, 0, dnnl_memory_desc_get_size(want));
        pack(data, m, n, p);
        cpu_keep_weight(b, mem);
        packed_add(b, data, user, want, mem);
    }
    dnnl_memory_get_data_handle(mem, &p);
    return p;
}

cpu_step *cpu_add_kernel_step(bb_backend *b, const bb_op *op, cpu_kernel kernel, int src, int dst)
{
    cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
    s->macs = bb_op_macs(b->g, op) * b->batch;
    s->kernel = kernel;
    s->kin = src, s->kout = dst;
    cpu_touch(b, src);
    cpu_touch(b, dst);
    return s;
}

/* Creates the primitive for `pd` on a new step; destroys pd. */
cpu_step *cpu_step_from_pd(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, bb_err *err)
{
    cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
    s->macs = bb_op_macs(b->g, op) * b->batch;
    dnnl_status_t st = dnnl_primitive_create(&s->prim, pd);
    if (st != dnnl_success) {
        bb_err_set(err, "oneDNN: primitive creation failed for '%s' (status %d)", op->label, (int)st);
        return NULL;
    }
    return s;
}

/* The destination buffer: in place on the residual when the op sums one. */
int cpu_dst_buf(bb_backend *b, const bb_op *op, const dnnl_memory_desc_t *md)
{
    int d = cpu_new_buf(b, md);
    if (op->sum_in >= 0) {
        b->bufs[d].alias = b->tbuf[op->sum_in];
        cpu_touch(b, b->tbuf[op->sum_in]);
    }
    b->tbuf[op->out] = d;
    cpu_cat_place(b, op, d);
    return d;
}

const dnnl_memory_desc_t *cpu_q_md(dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

