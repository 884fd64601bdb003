/*
 * cpu_groupnorm.c — a group norm (BB_OP_GROUPNORM: torch's GroupNorm as
 * exporters write it, Reshape -> InstanceNormalization -> Reshape -> Mul ->
 * Add, which the importer takes as one op) lowered to our kernel (K_GNORM
 * in cpu_generic_kernels.c).
 *
 * It runs in the layout its input comes in when it can: the plain tensor,
 * or oneDNN's nChw16c (8c) when every group is whole channel blocks (then a
 * group is one contiguous run there too, K_GNORM) or every block whole
 * groups (BiT's 32 groups of 256 channels: K_GNORM_LANES). The output keeps that layout, so
 * PoolFormer's average pool and the convs after a norm read the blocked
 * tensor a conv wrote, with no reorder around the norm: before, its
 * decomposed form made every norm's input plain (a copy), ran the scale and
 * the shift as two more passes, and left the pool on the plain tensor,
 * where oneDNN's pooling is 4x slower.
 */
#include "backends/cpu/cpu_generic.h"
#include "backends/cpu/cpu_internal.h"

/* The channel block of buffer md when it is exactly nChw16c / nChw8c over
 * dims d, the channels fill whole blocks, and each group of cg channels is
 * whole blocks or each block whole groups; 0 otherwise. */
static int64_t group_block(const dnnl_memory_desc_t *md, const int64_t d[4], int64_t cg)
{
    dnnl_memory_desc_t want;
    if (md->ndims != 4 || !cpu_md_blocked_like(&want, d, md, dnnl_f32) || !dnnl_memory_desc_equal(&want, md))
        return 0;
    int64_t block = want.format_desc.blocking.inner_blks[0];
    if (d[1] % block) /* padded channels: the kernels take whole blocks */
        return 0;
    return cg % block == 0 || block % cg == 0 ? block : 0;
}

int cpu_lower_groupnorm(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_graph *g = b->g;
    int64_t x[BB_MAX_DIMS + 1], plane = 1;
    int nd = cpu_full_shape(b, op->in[0], x);
    for (int i = 2; i < nd; i++)
        plane *= x[i];
    const int64_t groups = op->groups, c = nd > 1 ? x[1] : 0;
    if (nd < 3 || g->tensors[op->in[0]].full_rank || groups < 1 || c % groups != 0)
        return bb_err_set(err, "cpu backend: groupnorm '%s': needs an [N, C, ...] input whose %lld channels split "
                               "into %d groups", op->label, (long long)c, op->groups);
    if (op->w < 0 || op->b < 0 || !g->tensors[op->w].data || !g->tensors[op->b].data ||
        bb_tensor_numel(&g->tensors[op->w]) != c || bb_tensor_numel(&g->tensors[op->b]) != c)
        return bb_err_set(err, "cpu backend: groupnorm '%s': needs a scale and a shift of %lld values", op->label,
                          (long long)c);
    if (op->post_act != BB_ACT_NONE && op->post_act != BB_ACT_RELU)
        return bb_err_set(err, "cpu backend: groupnorm '%s': a fused %s cannot run with it", op->label,
                          bb_act_name(op->post_act));
    const int64_t cg = c / groups;
    int src = cpu_tensor_f32(b, op->in[0], err);
    if (src < 0)
        return -1;
    int64_t lanes = nd == 4 ? group_block(&b->bufs[src].md, x, cg) : 0;
    if (!lanes && !cpu_md_is_plain(&b->bufs[src].md) && (src = cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err)) < 0)
        return -1;
    lanes = lanes ? lanes : 1;
    int dst = cpu_dst_buf(b, op, &b->bufs[src].md);
    cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
    s->kin = src, s->kout = dst;
    if (cg % lanes == 0) { /* runs of whole planes (plain) or whole blocks */
        s->kernel = K_GNORM;
        s->p[0] = x[0] * groups, s->p[1] = cg / lanes * plane, s->p[2] = plane, s->p[3] = lanes, s->p[4] = groups;
    } else { /* blocks of whole groups */
        s->kernel = K_GNORM_LANES;
        s->p[0] = x[0] * c / lanes, s->p[1] = plane, s->p[2] = lanes, s->p[3] = cg, s->p[4] = c;
    }
    s->p[5] = op->post_act == BB_ACT_RELU;
    s->kw = g->tensors[op->w].data, s->kb = g->tensors[op->b].data, s->keps = op->eps;
    cpu_touch(b, src);
    cpu_touch(b, dst);
    return 0;
}
