/*
 * test_cpu_backend.c — the oneDNN CPU backend against a naive reference.
 *
 * Why this file exists: the backend lowers fused ops to oneDNN primitives
 * with folded BatchNorm, fused post-ops, in-place residual sums, blocked
 * layouts, reorders and a shared activation arena; any slip there gives
 * wrong numbers without an error. Each test builds a tiny graph with random
 * weights, computes the expected output with plain loops in double
 * precision on the unfused graph, then fuses it and runs it through
 * prepare / set_input / forward / get_output at batch 1 and 3.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/backend.h"
#include "backends/cpu/cpu_internal.h"
#include "engine/fuse.h"
#include "engine/graph.h"
#include "engine/weights.h"
#include "models/model.h"
#include "models/zoo.h"

#include "fused_ref.h"

/* ---- harness ------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bb_graph *new_graph(int nd, int64_t d0, int64_t d1, int64_t d2)
{
    bb_graph *g = bb_graph_new("test", BB_FAMILY_CONV, BB_HEAD_FEATURES);
    int64_t d[3] = {d0, d1, d2};
    g->input = bb_graph_add_tensor(g, "input", BB_T_INPUT, nd, d);
    return g;
}

/* Random weights, reference, fuse, backend at batch 1, 3 and 4 (4: the
 * batch split over the two threads where cpu.split=auto splits it); frees g.
 * Returns the number of ops after fusion. With reforward, after the checked
 * passes forward runs once more without set_input and is checked again. */
static int run_case_ex(bb_graph *g, const char *what, int reforward, char *math_mode, size_t mode_len,
                       const bb_backend_options *options)
{
    bb_weights_random(g, 42);
    const int64_t ni = bb_tensor_numel(&g->tensors[g->input]);
    const int64_t no = bb_tensor_numel(&g->tensors[g->output]);
    const int64_t batches[3] = {1, 3, 4};
    uint64_t seed = 99;
    float *in = malloc(sizeof(float) * (size_t)(4 * ni));
    float *out = malloc(sizeof(float) * (size_t)(4 * no));
    assert_true(in && out);
    for (int64_t i = 0; i < 4 * ni; i++)
        in[i] = (float)((double)(rnd(&seed) >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    double *ref = reference(g, 4, in);
    const int before = g->n_ops, removed = bb_fuse(g), fused_ops = g->n_ops;
    assert_int_equal(fused_ops, before - removed);
    /* failures are reported after cleanup, so a failing case leaks nothing */
    char failed[1200] = "";
    for (int bi = 0; bi < 3 && !failed[0]; bi++) {
        const int64_t n = batches[bi];
        bb_backend *b = NULL;
        bb_err err = {0};
        bb_run_config opts = {.threads = 2};
        if (options)
            opts.options = *options;
        if (bb_cpu_backend.prepare(&b, g, n, &opts, &err) != 0) {
            snprintf(failed, sizeof failed, "%s: prepare at batch %lld failed: %s", what, (long long)n, err.msg);
            break;
        }
        /* run twice: the second forward must not see the first's leftovers;
         * with reforward, forward once more without set_input */
        for (int rep = 0; rep < 2 + reforward && !failed[0]; rep++) {
            memset(out, 0xff, sizeof(float) * (size_t)(n * no));
            if ((rep < 2 && bb_cpu_backend.set_input(b, in, &err) != 0) || bb_cpu_backend.forward(b, &err) != 0 ||
                bb_cpu_backend.get_output(b, out, &err) != 0) {
                snprintf(failed, sizeof failed, "%s: batch %lld: %s", what, (long long)n, err.msg);
                break;
            }
            double maxref = 1.0, maxdiff = 0.0;
            int64_t worst = 0;
            for (int64_t i = 0; i < n * no; i++) {
                maxref = fmax(maxref, fabs(ref[i]));
                double d = fabs((double)out[i] - ref[i]);
                if (!(d <= maxdiff)) /* NaN counts as worst */
                    maxdiff = isnan(d) ? INFINITY : d, worst = i;
            }
            if (maxdiff > 1e-4 * maxref)
                snprintf(failed, sizeof failed,
                         "%s: batch %lld, pass %d: max |diff| %g at %lld (got %g, want %g), tolerance %g", what,
                         (long long)n, rep, maxdiff, (long long)worst, (double)out[worst], ref[worst],
                         1e-4 * maxref);
        }
        bb_backend_report r;
        bb_cpu_backend.report(b, &r);
        if (!failed[0] && !(r.arena_bytes > 0 && r.n_steps >= g->n_ops && r.threads == 2))
            snprintf(failed, sizeof failed, "%s: bad report", what);
        if (math_mode)
            snprintf(math_mode, mode_len, "%s", r.math_mode);
        bb_cpu_backend.destroy(b);
    }
    free(in);
    free(out);
    free(ref);
    bb_graph_free(g);
    if (failed[0])
        fail_msg("%s", failed);
    return fused_ops;
}

static int run_case(bb_graph *g, const char *what)
{
    return run_case_ex(g, what, 0, NULL, 0, NULL);
}

/* ---- cases --------------------------------------------------------------- */

static const bb_act acts[] = {BB_ACT_RELU, BB_ACT_RELU6, BB_ACT_SILU, BB_ACT_SIGMOID, BB_ACT_GELU};

/* conv 3x3/2/1 -> BN -> act, 1x1 -> BN -> act, depthwise 3x3 -> BN -> act */
static void test_conv_bn_act(void **state)
{
    (void)state;
    for (int a = 0; a < 5; a++) {
        for (int bias = 0; bias < 2; bias++) {
            bb_graph *g = new_graph(3, 3, 16, 16);
            int x = bb_conv(g, "c1", g->input, 8, 3, 2, 1, 1, bias);
            x = bb_batchnorm(g, "c1.bn", x, 1e-5f);
            x = bb_activation(g, x, acts[a]);
            x = bb_conv(g, "c2", x, 16, 1, 1, 0, 1, !bias);
            x = bb_batchnorm(g, "c2.bn", x, 1e-3f);
            x = bb_activation(g, x, acts[(a + 1) % 5]);
            x = bb_conv(g, "dw", x, 16, 3, 1, 1, 16, bias);
            x = bb_batchnorm(g, "dw.bn", x, 1e-5f);
            g->output = bb_activation(g, x, acts[a]);
            char what[64];
            snprintf(what, sizeof what, "conv/bn/%s bias=%d", bb_act_name(acts[a]), bias);
            assert_int_equal(run_case(g, what), 3);
        }
    }
    /* plain convs: no BN, no act; a grouped (non-depthwise) conv; stride 2
     * depthwise; 5x5 kernel */
    bb_graph *g = new_graph(3, 4, 11, 9);
    int x = bb_conv(g, "a", g->input, 8, 3, 1, 1, 1, 1);
    x = bb_conv(g, "b", x, 12, 3, 2, 1, 4, 0);
    x = bb_conv(g, "c", x, 12, 3, 2, 1, 12, 1);
    g->output = bb_conv(g, "d", x, 6, 5, 1, 2, 1, 1);
    assert_int_equal(run_case(g, "plain convs"), 4);
}

/* BasicBlock-style residual fused as in-place sum, then a downsample block
 * (conv 3x3/2 + 1x1/2 shortcut) and maxpool 3/2/1, global average pool. */
static void test_residual(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 3, 16, 16);
    int x = bb_conv(g, "stem", g->input, 8, 3, 1, 1, 1, 0);
    x = bb_batchnorm(g, "stem.bn", x, 1e-5f);
    x = bb_activation(g, x, BB_ACT_RELU);
    x = bb_maxpool(g, x, 3, 2, 1);
    int y = bb_conv(g, "b1.c1", x, 8, 3, 1, 1, 1, 0);
    y = bb_batchnorm(g, "b1.n1", y, 1e-5f);
    y = bb_activation(g, y, BB_ACT_RELU);
    y = bb_conv(g, "b1.c2", y, 8, 3, 1, 1, 1, 0);
    y = bb_batchnorm(g, "b1.n2", y, 1e-5f);
    x = bb_activation(g, bb_add(g, y, x), BB_ACT_RELU);
    g->output = x;
    assert_int_equal(run_case(g, "basic block"), 4);

    g = new_graph(3, 3, 16, 16);
    x = bb_conv(g, "stem", g->input, 8, 3, 1, 1, 1, 0);
    x = bb_maxpool(g, bb_activation(g, x, BB_ACT_RELU), 3, 2, 1);
    y = bb_conv(g, "b.c1", x, 16, 3, 2, 1, 1, 0);
    y = bb_activation(g, bb_batchnorm(g, "b.n1", y, 1e-5f), BB_ACT_RELU);
    y = bb_batchnorm(g, "b.n2", bb_conv(g, "b.c2", y, 16, 3, 1, 1, 1, 0), 1e-5f);
    int d = bb_batchnorm(g, "b.ds.1", bb_conv(g, "b.ds.0", x, 16, 1, 2, 0, 1, 0), 1e-5f);
    x = bb_activation(g, bb_add(g, y, d), BB_ACT_RELU);
    g->output = bb_gap(g, x);
    assert_int_equal(run_case(g, "downsample block + gap"), 6);

    /* an add that cannot be fused (residual read later) and a standalone act */
    g = new_graph(3, 4, 8, 8);
    x = bb_maxpool(g, g->input, 3, 1, 1);
    y = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 1);
    int s = bb_add(g, y, x);
    s = bb_activation(g, bb_add(g, s, x), BB_ACT_SILU);
    g->output = s;
    assert_int_equal(run_case(g, "unfused add"), 5);
}

/* EfficientNet-style squeeze-excitation. */
static void test_se(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 3, 12, 12);
    int x = bb_conv(g, "c", g->input, 16, 3, 1, 1, 1, 0);
    x = bb_activation(g, bb_batchnorm(g, "bn", x, 1e-3f), BB_ACT_SILU);
    int s = bb_gap(g, x);
    s = bb_activation(g, bb_linear(g, "se.fc1", "weight", "bias", s, 4, 1), BB_ACT_SILU);
    s = bb_activation(g, bb_linear(g, "se.fc2", "weight", "bias", s, 16, 1), BB_ACT_SIGMOID);
    x = bb_se_scale(g, x, s);
    x = bb_batchnorm(g, "proj.bn", bb_conv(g, "proj", x, 8, 1, 1, 0, 1, 0), 1e-3f);
    g->output = bb_gap(g, x);
    assert_int_equal(run_case(g, "squeeze-excitation"), 7);
}

/* The SiLU our kernels apply in place of oneDNN's swish post-op (cpu_kernels.c):
 * after a Winograd conv (left to the next reader: a conv, an unfused add),
 * after a depthwise conv read by an SE block's pooling, and before the
 * head's pooling. The option cpu.algo=always takes Winograd wherever oneDNN
 * offers it, so the deferred paths run whatever the timing says. */
static void test_silu_left_to_reader(void **state)
{
    (void)state;
    for (int policy = 0; policy < 2; policy++) {
        bb_graph *g = new_graph(3, 3, 14, 14);
        int x = bb_conv(g, "stem", g->input, 32, 3, 1, 1, 1, 0);
        x = bb_activation(g, bb_batchnorm(g, "stem.bn", x, 1e-3f), BB_ACT_SILU);
        int y = bb_conv(g, "fused", x, 32, 3, 1, 1, 1, 0); /* read by an unfused add */
        y = bb_activation(g, bb_batchnorm(g, "fused.bn", y, 1e-3f), BB_ACT_SILU);
        x = bb_add(g, y, x);
        y = bb_conv(g, "expand", x, 64, 3, 1, 1, 1, 0); /* read by a 1x1 conv */
        y = bb_activation(g, bb_batchnorm(g, "expand.bn", y, 1e-3f), BB_ACT_SILU);
        y = bb_conv(g, "reduce", y, 48, 1, 1, 0, 1, 0);
        y = bb_conv(g, "dw", y, 48, 3, 1, 1, 48, 0); /* read by the SE pool */
        y = bb_activation(g, bb_batchnorm(g, "dw.bn", y, 1e-3f), BB_ACT_SILU);
        int s = bb_gap(g, y);
        s = bb_activation(g, bb_linear(g, "se.fc1", "weight", "bias", s, 12, 1), BB_ACT_SILU);
        s = bb_activation(g, bb_linear(g, "se.fc2", "weight", "bias", s, 48, 1), BB_ACT_SIGMOID);
        y = bb_se_scale(g, y, s);
        y = bb_conv(g, "head", y, 40, 1, 1, 0, 1, 0);
        y = bb_activation(g, bb_batchnorm(g, "head.bn", y, 1e-3f), BB_ACT_SILU);
        g->output = bb_gap(g, y);
        char mode[256] = "";
        bb_backend_options o = {0};
        o.value[BB_OPT_CPU_ALGO] = (unsigned char)policy; /* cpu.algo: measured, always */
        run_case_ex(g, policy ? "silu left to readers (always)" : "silu left to readers", 1, mode, sizeof mode, &o);
        /* oneDNN 2.6 has Winograd only in AVX-512 code; on an AVX2 CPU
         * ours (cpu_winograd.c) takes the two convs with 32 input channels
         * (not the stem's 3: whole 8-channel blocks only), SiLU applied in
         * its output pass */
        const char *want = cpu_has_avx512() ? "Winograd for 3 of 3" : "Winograd for 2 of 3";
        if (policy && !strstr(mode, want))
            fail_msg("expected '%s', math mode '%s'", want, mode);
    }
}

/* Our Winograd F(4x4, 3x3) (cpu_winograd.c), taken for every conv it fits
 * (cpu.algo=always, cpu.winograd=own: on any CPU): output sizes that are
 * and are not multiples of the 4x4 tile, padding 0, 1 and 2, a residual
 * sum with the ReLU after it, ReLU, SiLU, none, BatchNorm folded, the batch
 * split and not, 8 to 24 channels in and out. */
static void test_own_winograd(void **state)
{
    (void)state;
    bb_backend_options o = {0};
    o.value[BB_OPT_CPU_ALGO] = 1, o.value[BB_OPT_CPU_WINOGRAD] = 1;
    bb_graph *g = new_graph(3, 8, 13, 11);
    int x = bb_conv(g, "a", g->input, 16, 3, 1, 1, 1, 0); /* 13x11: partial tiles */
    x = bb_activation(g, bb_batchnorm(g, "a.bn", x, 1e-5f), BB_ACT_RELU);
    int y = bb_conv(g, "b", x, 16, 3, 1, 1, 1, 1);
    y = bb_activation(g, bb_batchnorm(g, "b.bn", y, 1e-5f), BB_ACT_RELU);
    y = bb_batchnorm(g, "c.bn", bb_conv(g, "c", y, 16, 3, 1, 1, 1, 0), 1e-5f);
    x = bb_activation(g, bb_add(g, y, x), BB_ACT_RELU); /* summed in place, then ReLU */
    x = bb_conv(g, "d", x, 24, 3, 1, 0, 1, 1);           /* no padding: 11x9 */
    x = bb_conv(g, "e", x, 8, 3, 1, 2, 1, 0);            /* padding 2: 13x11 */
    x = bb_activation(g, x, BB_ACT_SILU);
    x = bb_activation(g, bb_conv(g, "f", x, 16, 3, 1, 1, 1, 1), BB_ACT_SILU); /* SiLU, both */
    g->output = bb_conv(g, "g", x, 8, 3, 1, 1, 1, 0);
    char mode[256] = "";
    assert_int_equal(run_case_ex(g, "own winograd", 1, mode, sizeof mode, &o), 7);
    if (!strstr(mode, "Winograd for 7 of 7 3x3 stride-1 convs (batchbench's"))
        fail_msg("expected the 7 convs as our Winograd, math mode '%s'", mode);

    g = new_graph(3, 16, 8, 8); /* exact tiles; the output is the conv's */
    x = bb_conv(g, "a", g->input, 16, 3, 1, 1, 1, 1);
    g->output = bb_conv(g, "b", bb_activation(g, x, BB_ACT_RELU), 8, 3, 1, 1, 1, 1);
    run_case_ex(g, "own winograd, exact tiles", 0, mode, sizeof mode, &o);
    if (!strstr(mode, "Winograd for 2 of 2"))
        fail_msg("expected the 2 convs as our Winograd, math mode '%s'", mode);

    /* 64 channels on 40x40: 1.8 MB of V and M per item, so the batch runs
     * in chunks (CHUNK_BYTES): 1 item at batch 1 and 3, 2 at batch 4 */
    g = new_graph(3, 64, 40, 40);
    x = bb_activation(g, bb_conv(g, "a", g->input, 64, 3, 1, 1, 1, 1), BB_ACT_RELU);
    g->output = bb_gap(g, bb_conv(g, "b", x, 64, 3, 1, 1, 1, 1));
    run_case_ex(g, "own winograd, in chunks", 0, mode, sizeof mode, &o);
    if (!strstr(mode, "Winograd for 2 of 2"))
        fail_msg("expected the 2 convs as our Winograd, math mode '%s'", mode);
}

/* The memo of measured choices: a conv with the same shape, fused ops and
 * input layout (and residual layout) gets the earlier pick; anything else
 * is measured anew. */
static void test_choice_memo(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 16, 8, 8);
    int x = bb_conv(g, "a", g->input, 16, 3, 1, 1, 1, 0);
    x = bb_conv(g, "b", x, 16, 3, 1, 1, 1, 0);
    g->output = bb_conv(g, "c", x, 32, 3, 1, 1, 1, 0);
    bb_backend *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->g = g;
    dnnl_dims_t d = {8, 16, 8, 8};
    dnnl_memory_desc_t m16, m8;
    dnnl_memory_desc_init_by_tag(&m16, 4, d, dnnl_f32, dnnl_aBcd16b);
    dnnl_memory_desc_init_by_tag(&m8, 4, d, dnnl_f32, dnnl_aBcd8b);
    int64_t ka[CPU_CHOICE_KEY], kb[CPU_CHOICE_KEY], kc[CPU_CHOICE_KEY], kl[CPU_CHOICE_KEY];
    cpu_choice_key(b, &g->ops[0], CPU_PICK_WINOGRAD, 0, 0, ka);
    cpu_choice_key(b, &g->ops[1], CPU_PICK_WINOGRAD, 0, 0, kb);
    cpu_choice_key(b, &g->ops[2], CPU_PICK_WINOGRAD, 0, 0, kc);
    cpu_choice_key(b, &g->ops[1], CPU_PICK_LAYOUT, 0, 0, kl);
    assert_int_equal(cpu_choice_get(b, ka, &m16, NULL), -1);
    cpu_choice_put(b, ka, &m16, NULL, 1);
    cpu_choice_put(b, ka, &m8, &m8, 0);
    assert_int_equal(cpu_choice_get(b, kb, &m16, NULL), 1);  /* same shape and layout */
    assert_int_equal(cpu_choice_get(b, kb, &m8, &m8), 0);    /* ... with a residual */
    assert_int_equal(cpu_choice_get(b, kb, &m8, NULL), -1);  /* another layout */
    assert_int_equal(cpu_choice_get(b, kb, &m16, &m16), -1); /* a residual */
    assert_int_equal(cpu_choice_get(b, kc, &m16, NULL), -1); /* 32 output channels */
    assert_int_equal(cpu_choice_get(b, kl, &m16, NULL), -1); /* another decision */
    free(b->choices);
    free(b);
    bb_graph_free(g);
}

/* cpu_silu_apply on each layout it walks (NHWC, nChw16c with padded
 * channels, nChw8c), at one item and at three, with the SiLU (silu_gap)
 * and without (gap: x left as it was), against double. The 120 x 120
 * planes of values around 1 check the means' summation: one float sum
 * over the plane, as oneDNN's pooling does, is off by about 1e-6. */
static void test_silu_kernel(void **state)
{
    (void)state;
    dnnl_engine_t eng;
    dnnl_stream_t st;
    assert_int_equal(dnnl_engine_create(&eng, dnnl_cpu, 0), dnnl_success);
    assert_int_equal(dnnl_stream_create(&st, eng, dnnl_stream_default_flags), dnnl_success);
    const dnnl_format_tag_t tags[3] = {dnnl_acdb, dnnl_aBcd16b, dnnl_aBcd8b};
    uint64_t seed = 7;
    for (int silu = 1; silu >= 0; silu--)
    for (int big = 0; big < 2; big++)
    for (int t = 0; t < 3; t++)
        for (int64_t n = 1; n <= 3; n += 2) {
            const int64_t c = 24, h = big ? 120 : 3, w = big ? 120 : 5, count = n * c * h * w;
            dnnl_dims_t d = {n, c, h, w};
            dnnl_memory_desc_t plain, md;
            dnnl_memory_desc_init_by_tag(&plain, 4, d, dnnl_f32, dnnl_nchw);
            dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, tags[t]);
            assert_true(cpu_silu_layout_ok(&md));
            float *x = malloc(sizeof(float) * (size_t)count), *back = malloc(sizeof(float) * (size_t)count);
            float *mean = malloc(sizeof(float) * (size_t)(n * c));
            assert_true(x && back && mean);
            for (int64_t i = 0; i < count; i++) /* small: includes -100 and 100 */
                x[i] = big ? (float)(1.0 + (double)(rnd(&seed) >> 11) / 9007199254740992.0)
                           : i % 97 == 0 ? (i % 2 ? 100.f : -100.f)
                                         : (float)((double)(rnd(&seed) >> 11) / 9007199254740992.0 * 40.0 - 20.0);
            dnnl_memory_t m_plain, m_lay, m_back;
            assert_int_equal(dnnl_memory_create(&m_plain, &plain, eng, x), dnnl_success);
            assert_int_equal(dnnl_memory_create(&m_lay, &md, eng, DNNL_MEMORY_ALLOCATE), dnnl_success);
            assert_int_equal(dnnl_memory_create(&m_back, &plain, eng, back), dnnl_success);
            void *h_lay = NULL;
            dnnl_memory_get_data_handle(m_lay, &h_lay);
            memset(h_lay, 0, dnnl_memory_desc_get_size(&md)); /* padding zero, as in the arena */
            dnnl_primitive_desc_t to_pd, from_pd;
            dnnl_primitive_t to, from;
            assert_int_equal(dnnl_reorder_primitive_desc_create(&to_pd, &plain, eng, &md, eng, NULL), dnnl_success);
            assert_int_equal(dnnl_reorder_primitive_desc_create(&from_pd, &md, eng, &plain, eng, NULL), dnnl_success);
            assert_int_equal(dnnl_primitive_create(&to, to_pd), dnnl_success);
            assert_int_equal(dnnl_primitive_create(&from, from_pd), dnnl_success);
            dnnl_exec_arg_t a1[2] = {{DNNL_ARG_FROM, m_plain}, {DNNL_ARG_TO, m_lay}};
            dnnl_exec_arg_t a2[2] = {{DNNL_ARG_FROM, m_lay}, {DNNL_ARG_TO, m_back}};
            assert_int_equal(dnnl_primitive_execute(to, st, 2, a1), dnnl_success);
            cpu_silu_apply(2, &md, h_lay, mean, silu);
            assert_int_equal(dnnl_primitive_execute(from, st, 2, a2), dnnl_success);
            dnnl_stream_wait(st);
            for (int64_t i = 0; i < n * c; i++) {
                double sum = 0.0;
                for (int64_t p = 0; p < h * w; p++) {
                    double v = x[i * h * w + p], want = silu ? v / (1.0 + exp(-v)) : v;
                    double got = back[i * h * w + p];
                    if (fabs(got - want) > 2e-6 * fmax(1.0, fabs(want)))
                        fail_msg("layout %d, n %lld: silu(%g) = %g, want %g", t, (long long)n, v, got, want);
                    sum += silu ? want : v;
                }
                double m = sum / (double)(h * w), tol = (big ? 2e-7 : 2e-6) * fmax(1.0, fabs(m));
                if (fabs(mean[i] - m) > tol)
                    fail_msg("silu %d, layout %d, %lldx%lld, n %lld: mean %lld = %.9g, want %.9g", silu, t,
                             (long long)h, (long long)w, (long long)n, (long long)i, (double)mean[i], m);
            }
            dnnl_primitive_destroy(to);
            dnnl_primitive_destroy(from);
            dnnl_primitive_desc_destroy(to_pd);
            dnnl_primitive_desc_destroy(from_pd);
            dnnl_memory_destroy(m_plain);
            dnnl_memory_destroy(m_lay);
            dnnl_memory_destroy(m_back);
            free(x);
            free(back);
            free(mean);
        }
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
}

/* Linear with bias on [L,K] (input given directly as [L,K]), with fused
 * act, layer norm, and a linear head on a 1-d vector. */
static void test_linear_layernorm(void **state)
{
    (void)state;
    bb_graph *g = new_graph(2, 5, 12, 0);
    int x = bb_linear(g, "fc1", "weight", "bias", g->input, 7, 0);
    x = bb_layernorm(g, "ln", x, 1e-6f);
    x = bb_activation(g, bb_linear(g, "fc2", "weight", NULL, x, 9, 0), BB_ACT_GELU);
    g->output = x;
    assert_int_equal(run_case(g, "linear [L,K]"), 3);

    g = new_graph(3, 6, 5, 5);
    x = bb_gap(g, g->input);
    g->output = bb_linear(g, "head", "weight", "bias", x, 10, 0);
    assert_int_equal(run_case(g, "gap + linear head"), 2);
}

/* fc1 (131 -> 150), fc2 (150 -> 150), fc3 with fc2's weight tensor and fc1's
 * output added to it (fused as a residual sum). */
static bb_graph *gemv_graph(void)
{
    bb_graph *g = new_graph(1, 131, 0, 0);
    int a = bb_linear(g, "fc1", "weight", "bias", g->input, 150, 0);
    int y = bb_linear(g, "fc2", "weight", NULL, a, 150, 0);
    int fc2 = g->n_ops - 1;
    y = bb_linear(g, "fc3", "weight", "bias", y, 150, 0);
    g->ops[g->n_ops - 1].w = g->ops[fc2].w;
    g->output = bb_add(g, y, a);
    return g;
}

/* Linears of at most 4 rows in all run batchbench's kernel (cpu_gemv.c):
 * K odd, O past two panels of 64 with a partial third, a bias, a residual
 * sum fused in, and a weight two linears share, packed once. */
static void test_gemv(void **state)
{
    (void)state;
    assert_int_equal(run_case(gemv_graph(), "linears of 1, 3 and 4 rows"), 3);
    bb_graph *g = gemv_graph();
    bb_weights_random(g, 42);
    bb_fuse(g);
    bb_backend *b = NULL;
    bb_err err = {0};
    bb_run_config opts = {.threads = 2};
    assert_int_equal(bb_cpu_backend.prepare(&b, g, 2, &opts, &err), 0);
    const bb_backend *run = b->n_parts ? b->parts[0] : b; /* the batch split: an item per thread */
    const cpu_step *gemv[3];
    int n = 0;
    for (int i = 0; i < run->n_steps; i++)
        if (run->steps[i].kernel == K_GEMV && n < 3)
            gemv[n++] = &run->steps[i];
    assert_int_equal(n, 3);
    assert_ptr_not_equal(gemv[1]->panels, gemv[0]->panels);
    assert_ptr_equal(gemv[2]->panels, gemv[1]->panels); /* fc3 reads fc2's panels */
    assert_int_equal(run->n_packed, 2);                 /* fc1's and fc2's weights, once each */
    assert_int_equal(gemv[2]->p[3], 1); /* the residual sum */
    bb_cpu_backend.destroy(b);
    bb_graph_free(g);
}

/* A pre-norm ViT encoder layer on a 16x16 image with 4x4 patches (L = 17). */
static bb_graph *vit_graph(int heads, int d)
{
    bb_graph *g = new_graph(3, 3, 16, 16);
    int x = bb_conv(g, "proj", g->input, d, 4, 4, 0, 1, 1);
    x = bb_tokens(g, "cls", "pos", x);
    int y = bb_layernorm(g, "ln1", x, 1e-6f);
    y = bb_linear(g, "attn", "in_proj_weight", "in_proj_bias", y, 3 * d, 0);
    y = bb_attention(g, y, heads);
    y = bb_linear(g, "attn.out_proj", "weight", "bias", y, d, 0);
    x = bb_add(g, y, x);
    y = bb_layernorm(g, "ln2", x, 1e-6f);
    y = bb_activation(g, bb_linear(g, "mlp.0", "weight", "bias", y, 2 * d, 0), BB_ACT_GELU);
    y = bb_linear(g, "mlp.3", "weight", "bias", y, d, 0);
    x = bb_add(g, y, x);
    x = bb_layernorm(g, "ln", x, 1e-6f);
    g->output = bb_cls_select(g, x);
    return g;
}

static void test_transformer(void **state)
{
    (void)state;
    for (int h = 2; h <= 4; h++) {
        char what[32];
        snprintf(what, sizeof what, "vit layer, %d heads", h);
        /* proj, tokens, ln1, attn, attention, out_proj(+sum), ln2,
         * mlp.0(+gelu), mlp.3(+sum), ln, cls */
        assert_int_equal(run_case(vit_graph(h, 24), what), 11);
    }
    /* tokens + cls_select alone, and attention on the patch grid directly */
    bb_graph *g = new_graph(3, 3, 8, 8);
    int x = bb_tokens(g, "cls", "pos", bb_conv(g, "p", g->input, 6, 2, 2, 0, 1, 1));
    g->output = bb_cls_select(g, x);
    assert_int_equal(run_case(g, "tokens + cls"), 3);
    g = new_graph(3, 3, 8, 8);
    x = bb_tokens(g, "cls", "pos", bb_conv(g, "p", g->input, 6, 4, 4, 0, 1, 1));
    x = bb_attention(g, bb_linear(g, "qkv", "weight", NULL, x, 18, 0), 2);
    g->output = x;
    assert_int_equal(run_case(g, "attention L=5"), 4);
}

/* Residual add where one side is the tokens tensor ([N,L,D]) and the other
 * a matmul result ([N*L,D]) and the add cannot be fused: a valid graph. */
static void test_unfused_add_2d_3d(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 3, 8, 8);
    int t = bb_tokens(g, "cls", "pos", bb_conv(g, "p", g->input, 8, 4, 4, 0, 1, 1));
    int y = bb_linear(g, "fc", "weight", "bias", t, 8, 0);
    int s = bb_add(g, y, t);
    g->output = bb_add(g, s, t);
    assert_int_equal(run_case(g, "unfused add [N*L,D] + [N,L,D]"), 5);
}

/* `batchbench infer` calls set_input once, then forward for every warm-up
 * and timed pass, then get_output: the input buffer must still hold the
 * input after a forward (backend.h: prepared once, then run many times). */
static void test_input_survives_forward(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 3, 16, 16);
    int x = bb_conv(g, "c1", g->input, 8, 3, 2, 1, 1, 0);
    x = bb_activation(g, bb_batchnorm(g, "c1.bn", x, 1e-5f), BB_ACT_RELU);
    g->output = bb_conv(g, "c2", x, 16, 1, 1, 0, 1, 0);
    run_case_ex(g, "conv net, forward without set_input", 1, NULL, 0, NULL);
    g = new_graph(2, 5, 12, 0);
    g->output = bb_linear(g, "fc2", "weight", "bias", bb_linear(g, "fc1", "weight", "bias", g->input, 7, 0), 3, 0);
    run_case_ex(g, "linear, forward without set_input", 1, NULL, 0, NULL);
    run_case_ex(vit_graph(2, 16), "vit layer, forward without set_input", 1, NULL, 0, NULL);
}

static void test_errors(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 3, 8, 8);
    g->output = bb_conv(g, "c", g->input, 4, 3, 1, 1, 1, 1);
    bb_weights_random(g, 1);
    bb_fuse(g);
    for (int64_t n = 0; n >= -1; n--) {
        bb_backend *b = (bb_backend *)g; /* must be reset to NULL */
        bb_err err = {0};
        assert_int_equal(bb_cpu_backend.prepare(&b, g, n, NULL, &err), -1);
        assert_null(b);
        assert_non_null(strstr(err.msg, "batch"));
    }
    /* a graph op the backend cannot run (a BatchNorm without its running
     * variance; a standalone BatchNorm itself runs, see test_generic_ops) */
    bb_graph *h = new_graph(3, 3, 8, 8);
    h->output = bb_batchnorm(h, "bn", bb_maxpool(h, h->input, 3, 1, 1), 1e-5f);
    bb_weights_random(h, 1);
    bb_fuse(h);
    h->ops[h->n_ops - 1].aux[1] = -1;
    bb_backend *b = NULL;
    bb_err err = {0};
    assert_int_equal(bb_cpu_backend.prepare(&b, h, 2, NULL, &err), -1);
    assert_null(b);
    assert_non_null(strstr(err.msg, "batchnorm"));
    bb_graph_free(h);
    /* profiling records one entry per step */
    bb_run_config opts = {.threads = 1, .profile = 1};
    assert_int_equal(bb_cpu_backend.prepare(&b, g, 2, &opts, &err), 0);
    float in[2 * 3 * 8 * 8] = {0}, out[2 * 4 * 8 * 8];
    assert_int_equal(bb_cpu_backend.set_input(b, in, &err), 0);
    assert_int_equal(bb_cpu_backend.forward(b, &err), 0);
    assert_int_equal(bb_cpu_backend.get_output(b, out, &err), 0);
    const bb_step_time *st = NULL;
    bb_backend_report r;
    bb_cpu_backend.report(b, &r);
    assert_int_equal(bb_cpu_backend.profile(b, &st), r.n_steps);
    assert_non_null(st);
    int64_t macs = 0;
    for (int i = 0; i < r.n_steps; i++)
        macs += st[i].macs, assert_true(st[i].seconds >= 0);
    assert_int_equal(macs, 2 * bb_graph_macs(g));
    /* zero input: every output is the conv bias */
    for (int i = 0; i < 2 * 4 * 64; i++)
        assert_float_equal(out[i], P(g, g->ops[0].b)[(i / 64) % 4], 1e-6);
    bb_cpu_backend.destroy(b);
    bb_cpu_backend.destroy(NULL);
    bb_graph_free(g);
}

/* Runs g at batch n with cfg on a seeded input; the output (malloc'ed, n *
 * outputs) and the backend's report. */
static float *run_model(const bb_graph *g, int64_t n, const bb_run_config *cfg, bb_backend_report *r)
{
    const int64_t ni = bb_tensor_numel(&g->tensors[g->input]), no = bb_tensor_numel(&g->tensors[g->output]);
    float *in = malloc(sizeof(float) * (size_t)(n * ni)), *out = malloc(sizeof(float) * (size_t)(n * no));
    assert_true(in && out);
    bb_random_input(in, n * ni, 7);
    bb_backend *b = NULL;
    bb_err err = {0};
    assert_int_equal(bb_cpu_backend.prepare(&b, g, n, cfg, &err), 0);
    for (int pass = 0; pass < 2; pass++) /* a second pass sees no leftovers of the first */
        assert_true(bb_cpu_backend.set_input(b, in, &err) == 0 && bb_cpu_backend.forward(b, &err) == 0 &&
                    bb_cpu_backend.get_output(b, out, &err) == 0);
    bb_cpu_backend.report(b, r);
    const bb_step_time *st = NULL;
    int steps = bb_cpu_backend.profile(b, &st);
    if (cfg->profile) { /* the steps of one part, with the whole batch's work */
        int64_t macs = 0;
        assert_int_equal(steps, r->n_steps);
        for (int i = 0; i < steps; i++)
            macs += st[i].macs;
        assert_int_equal(macs, n * bb_graph_macs(g));
    }
    bb_cpu_backend.destroy(b);
    free(in);
    return out;
}

/* The batch split (cpu_split.c): cpu.split=auto splits an even batch of a
 * light graph and leaves alone odd batches, one thread, a heavy graph and
 * cpu.split=layers; a split forward equals the unsplit one on a zoo model
 * (Winograd, fused depthwise pairs and SiLU kernels in play) and profiles
 * the whole batch's work. */
static void test_batch_split(void **state)
{
    (void)state;
    bb_run_config cfg = {.threads = 2};
    bb_err err = {0};
    bb_model_spec r50 = {"resnet50", BB_HEAD_FEATURES, NULL, 1}, mb2 = {"mobilenet_v2", BB_HEAD_FEATURES, NULL, 1};
    bb_graph *heavy = bb_model_open(&r50, &err), *light = bb_model_open(&mb2, &err);
    assert_true(heavy && light);
    /* resnet50's ops do many MACs per value they write: never split */
    assert_true(cpu_layer_work(heavy, 2, 2) < CPU_SPLIT_MAX_WORK && cpu_macs_per_value(heavy) > CPU_SPLIT_MAX_INTENSITY);
    assert_int_equal(cpu_split_parts(heavy, 2, 2, &cfg), 1);
    /* mobilenet_v2's few: split until a thread's share of an op is large */
    assert_true(cpu_macs_per_value(light) < CPU_SPLIT_MAX_INTENSITY);
    assert_true(cpu_layer_work(light, 32, 2) < CPU_SPLIT_MAX_WORK && cpu_layer_work(light, 64, 2) > CPU_SPLIT_MAX_WORK);
    assert_int_equal(cpu_split_parts(light, 32, 2, &cfg), 2);
    assert_int_equal(cpu_split_parts(light, 64, 2, &cfg), 1);
    assert_int_equal(cpu_split_parts(light, 3, 2, &cfg), 1);
    assert_int_equal(cpu_split_parts(light, 1, 2, &cfg), 1);
    assert_int_equal(cpu_split_parts(light, 32, 1, &cfg), 1);
    assert_int_equal(cpu_split_parts(light, 32, 4, &cfg), 4);
    cfg.options.value[BB_OPT_CPU_SPLIT] = 1; /* batch: wherever the batch divides */
    assert_int_equal(cpu_split_parts(heavy, 8, 2, &cfg), 2);
    assert_int_equal(cpu_split_parts(heavy, 7, 2, &cfg), 1);
    cfg.options.value[BB_OPT_CPU_SPLIT] = 2; /* layers: never */
    assert_int_equal(cpu_split_parts(light, 32, 2, &cfg), 1);
    bb_graph_free(heavy);
    bb_graph_free(light);

    const char *models[2] = {"mobilenet_v2", "efficientnet_v2_s"};
    for (int m = 0; m < 2; m++) {
        bb_model_spec spec = {models[m], BB_HEAD_FEATURES, NULL, 3};
        bb_graph *g = bb_model_open(&spec, &err);
        assert_non_null(g);
        bb_run_config split = {.threads = 2, .profile = 1}, layers = {.threads = 2};
        split.options.value[BB_OPT_CPU_ALGO] = layers.options.value[BB_OPT_CPU_ALGO] = 1; /* Winograd always */
        layers.options.value[BB_OPT_CPU_SPLIT] = 2;
        assert_int_equal(cpu_split_parts(g, 4, 2, &split), 2);
        bb_backend_report rs, rl;
        float *a = run_model(g, 4, &split, &rs), *b = run_model(g, 4, &layers, &rl);
        assert_non_null(strstr(rs.math_mode, "the batch split over 2 threads, 2 items each"));
        assert_null(strstr(rl.math_mode, "split"));
        assert_int_equal(rs.threads, 2);
        assert_int_equal(rs.weight_bytes, rl.weight_bytes);
        const int64_t no = 4 * bb_tensor_numel(&g->tensors[g->output]);
        double scale = 1.0, worst = 0.0;
        for (int64_t i = 0; i < no; i++)
            scale = fmax(scale, fabs(b[i])), worst = fmax(worst, fabs((double)a[i] - b[i]));
        if (!(worst <= 1e-4 * scale))
            fail_msg("%s: split and unsplit outputs differ by %g (scale %g)", models[m], worst, scale);
        free(a), free(b);
        bb_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_bn_act),
        cmocka_unit_test(test_residual),
        cmocka_unit_test(test_se),
        cmocka_unit_test(test_silu_left_to_reader),
        cmocka_unit_test(test_own_winograd),
        cmocka_unit_test(test_silu_kernel),
        cmocka_unit_test(test_choice_memo),
        cmocka_unit_test(test_linear_layernorm),
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_transformer),
        cmocka_unit_test(test_unfused_add_2d_3d),
        cmocka_unit_test(test_input_survives_forward),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_batch_split),
    };
    return cmocka_run_group_tests_name("cpu_backend", tests, NULL, NULL);
}
