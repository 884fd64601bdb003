/*
 * cpu_conv_algo.c — per convolution, the faster of oneDNN's direct and
 * Winograd algorithms, measured.
 *
 * Winograd F(4x4, 3x3) does a 3x3 stride-1 convolution with about 2-4x
 * fewer multiplications, at the cost of transforms whose share grows when
 * channels are few or the image is small; whether it wins depends on the
 * shape and the machine (on the 2-core AVX-512 VM: ResNet's 64-256 channel
 * layers run ~2x faster, EfficientNet's 24-48 channel ones slower). So,
 * like cuDNN's algorithm search, both primitives run on scratch memory of
 * their own layouts at prepare time and the faster one is kept. Its error
 * stays within the fp32 parity bound (tested: resnet18-152).
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "util/clock.h"

/* Seconds of one run of the primitive on zeroed scratch memory: the fastest
 * of four runs after a warm-up (the minimum is what survives the noise of a
 * shared machine); -1 when it cannot run. */
double cpu_time_pd(bb_backend *b, const_dnnl_primitive_desc_t pd)
{
    static const int args[6] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST,
                                DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS};
    dnnl_exec_arg_t ex[6];
    dnnl_primitive_t prim = NULL;
    int n = 0, ok = dnnl_primitive_create(&prim, pd) == dnnl_success;
    for (int i = 0; ok && i < 6; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, args[i]);
        if (!md || md->ndims == 0)
            continue;
        void *h = NULL;
        ok = dnnl_memory_create(&ex[n].memory, md, b->eng, DNNL_MEMORY_ALLOCATE) == dnnl_success;
        if (ok) {
            ex[n++].arg = args[i];
            dnnl_memory_get_data_handle(ex[n - 1].memory, &h);
            memset(h, 0, dnnl_memory_desc_get_size(md));
        }
    }
    double best = -1.0;
    for (int r = 0; ok && r < 5; r++) {
        double t0 = bb_now_s();
        ok = dnnl_primitive_execute(prim, b->stream, n, ex) == dnnl_success &&
             dnnl_stream_wait(b->stream) == dnnl_success;
        double t = bb_now_s() - t0;
        if (ok && r > 0 && (best < 0 || t < best))
            best = t;
    }
    for (int i = 0; i < n; i++)
        dnnl_memory_destroy(ex[i].memory);
    dnnl_primitive_destroy(prim);
    return ok ? best : -1.0;
}

double cpu_reorder_seconds(bb_backend *b, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_reorder_primitive_desc_create(&pd, from, b->eng, to, b->eng, NULL) != dnnl_success)
        return -1.0;
    double t = cpu_time_pd(b, pd);
    dnnl_primitive_desc_destroy(pd);
    return t;
}

/* Does pd read and write exactly these layouts (so choosing it moves no data)? */
static int same_io(const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst)
{
    return dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), src) &&
           dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), dst);
}

dnnl_primitive_desc_t cpu_conv_faster(bb_backend *b, dnnl_primitive_desc_t direct, dnnl_primitive_desc_t wino)
{
    const char *impl = NULL;
    if (wino)
        dnnl_primitive_desc_query(wino, dnnl_query_impl_info_str, 0, &impl);
    int usable = wino && impl && strncmp(impl, "ref", 3) != 0 &&
                 same_io(wino, dnnl_primitive_desc_query_md(direct, dnnl_query_src_md, 0),
                         dnnl_primitive_desc_query_md(direct, dnnl_query_dst_md, 0));
    b->n_wino_candidates++;
    if (usable && b->algo_policy >= 0) {
        double td = b->algo_policy ? 1 : cpu_time_pd(b, direct), tw = b->algo_policy ? 0.5 : cpu_time_pd(b, wino);
        if (td > 0 && tw > 0 && tw < 0.95 * td) { /* a clear win only: the timing is noisy */
            b->n_wino++;
            dnnl_primitive_desc_destroy(direct);
            return wino;
        }
    }
    if (wino)
        dnnl_primitive_desc_destroy(wino);
    return direct;
}
