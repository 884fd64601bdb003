/*
 * test_cuda_host.c — the CUDA backend's decisions that need no GPU.
 *
 * Why this file exists: CI builds the CUDA backend but has no GPU, so its
 * kernels are only checked by scripts/gpu-check.sh on a device machine.
 * What the host decides before any kernel runs can be checked here: which
 * models keep their feature maps channels-last (cu_channels_last: 16-bit
 * ResNets only, as measured on an H200, see cuda_ops.c) and the filter
 * rearrangement cuDNN's NHWC convolutions read (cu_filter_to_krsc, with
 * the zero channels of a padded input), and when attention is offered to
 * cuDNN's SDPA and how the report names what ran (cuda_sdpa.c).
 * In a build without CUDA (make CUDA=0) the tests are reported as skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#ifdef BB_HAVE_CUDA
#include "backends/cuda/cuda_internal.h"
#include "engine/fuse.h"
#include "models/zoo.h"

/* cu_channels_last for a model (fused, as the backend gets it), at a
 * precision and with the option cuda.layout set to `layout` (NULL: default). */
static int channels_last(const char *model, bb_head head, cu_dtype dt, const char *layout)
{
    bb_graph *g = bb_zoo_build(model, head);
    assert_non_null(g);
    bb_fuse(g);
    bb_backend b;
    memset(&b, 0, sizeof b);
    b.g = g, b.dt = dt, b.batch = 2;
    if (layout) {
        char kv[64];
        bb_err err = {0};
        snprintf(kv, sizeof kv, "cuda.layout=%s", layout);
        assert_int_equal(bb_opt_set(&b.opt, kv, "cuda", &err), 0);
    }
    int r = cu_channels_last(&b);
    bb_graph_free(g);
    return r;
}

static void test_channels_last_choice(void **state)
{
    (void)state;
    static const char *resnets[] = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"};
    static const char *others[] = {"mobilenet_v2", "efficientnet_v2_s", "efficientnet_v2_l",
                                   "vit_b_16",     "vit_b_32",          "vit_l_16", "vit_l_32"};
    for (size_t i = 0; i < sizeof resnets / sizeof *resnets; i++)
        for (int h = 0; h < 2; h++) {
            if (!channels_last(resnets[i], (bb_head)h, CU_BF16, NULL) ||
                !channels_last(resnets[i], (bb_head)h, CU_F16, NULL))
                fail_msg("%s head %d: 16-bit should be channels-last", resnets[i], h);
            if (channels_last(resnets[i], (bb_head)h, CU_F32, NULL))
                fail_msg("%s head %d: fp32 should stay NCHW", resnets[i], h);
        }
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        if (channels_last(others[i], BB_HEAD_FEATURES, CU_BF16, NULL))
            fail_msg("%s: should stay NCHW in bf16", others[i]);
}

static void test_channels_last_setting(void **state)
{
    (void)state;
    assert_false(channels_last("resnet50", BB_HEAD_FEATURES, CU_BF16, "nchw"));
    /* =nhwc lifts the rule on grouped convolutions, not the others */
    assert_true(channels_last("mobilenet_v2", BB_HEAD_CLASSIFIER, CU_BF16, "nhwc"));
    assert_true(channels_last("efficientnet_v2_s", BB_HEAD_FEATURES, CU_BF16, "nhwc"));
    assert_false(channels_last("mobilenet_v2", BB_HEAD_FEATURES, CU_F32, "nhwc"));
    assert_false(channels_last("vit_b_16", BB_HEAD_FEATURES, CU_BF16, "nhwc"));
}

/* cu_channels_last on resnet18 bf16 (channels-last as built) after `edit`
 * changed its graph. */
static int channels_last_edited(void (*edit)(bb_graph *g))
{
    bb_graph *g = bb_zoo_build("resnet18", BB_HEAD_FEATURES);
    assert_non_null(g);
    bb_fuse(g);
    edit(g);
    bb_backend b;
    memset(&b, 0, sizeof b);
    b.g = g, b.dt = CU_BF16, b.batch = 2;
    int r = cu_channels_last(&b);
    bb_graph_free(g);
    return r;
}

static bb_op *first_op(bb_graph *g, bb_op_type t)
{
    for (int i = 0; i < g->n_ops; i++)
        if (g->ops[i].type == t)
            return &g->ops[i];
    fail_msg("no %s op", bb_op_type_name(t));
    return NULL;
}

static void edit_nothing(bb_graph *g) { (void)g; }
static void conv_1x3(bb_graph *g) { first_op(g, BB_OP_CONV)->kw = 3, first_op(g, BB_OP_CONV)->kh = 1; }
static void conv_dilated(bb_graph *g) { first_op(g, BB_OP_CONV)->dil_w = 2; }
static void pool_ceil(bb_graph *g) { first_op(g, BB_OP_MAXPOOL)->pad_b += 1; }
static void gap_as_reduce_mean(bb_graph *g) { first_op(g, BB_OP_GAP)->type = BB_OP_REDUCE_MEAN; }

/* An imported graph's ops the channels-last kernels do not take keep the
 * whole graph NCHW: windows that are not square (cuda_generic.c pools
 * them, cuDNN's graphs are built for square ones) and generic ops (which
 * read dense row-major tensors). */
static void test_channels_last_imported(void **state)
{
    (void)state;
    assert_true(channels_last_edited(edit_nothing));
    assert_false(channels_last_edited(conv_1x3));
    assert_false(channels_last_edited(conv_dilated));
    assert_false(channels_last_edited(pool_ceil));
    assert_false(channels_last_edited(gap_as_reduce_mean));
}

/* Checks out = w [o][c][k][k] as [o][k][k][cpad], zero beyond c. */
static void check_krsc(int o_n, int c_n, int cpad, int k)
{
    int n = o_n * c_n * k * k, un = o_n * cpad * k * k;
    float *w = malloc((size_t)n * sizeof *w), *out = malloc((size_t)un * sizeof *out);
    assert_non_null(w);
    assert_non_null(out);
    for (int i = 0; i < n; i++)
        w[i] = (float)(i + 1);
    for (int i = 0; i < un; i++)
        out[i] = -1.f;
    cu_filter_to_krsc(w, out, o_n, c_n, cpad, k);
    for (int o = 0; o < o_n; o++)
        for (int c = 0; c < cpad; c++)
            for (int y = 0; y < k; y++)
                for (int x = 0; x < k; x++) {
                    float want = c < c_n ? (float)(((o * c_n + c) * k + y) * k + x + 1) : 0.f; /* [o][c][y][x] */
                    float got = out[((o * k + y) * k + x) * cpad + c];                            /* [o][y][x][c] */
                    if (got != want)
                        fail_msg("o %d c %d y %d x %d (c %d of %d): got %g, want %g", o, c, y, x, c_n, cpad, got,
                                 want);
                }
    free(w);
    free(out);
}

static void test_filter_to_krsc(void **state)
{
    (void)state;
    check_krsc(3, 4, 4, 3);  /* a 3x3 conv */
    check_krsc(5, 1, 1, 3);  /* depthwise: one channel per group */
    check_krsc(2, 3, 8, 7);  /* ResNet's first conv, input padded to 8 channels */
    check_krsc(4, 16, 16, 1);
}

/* cuDNN graphs for channels-last convs: on unless cuda.cudnn_graph=off. */
static void test_conv_graph_setting(void **state)
{
    (void)state;
    bb_backend b;
    memset(&b, 0, sizeof b);
    assert_int_equal(cu_conv_graph_on(&b), 1);
    const char *values[] = {"cuda.cudnn_graph=off", "cuda.cudnn_graph=on"};
    const int on[] = {0, 1};
    for (int i = 0; i < 2; i++) {
        bb_err err = {0};
        assert_int_equal(bb_opt_set(&b.opt, values[i], "cuda", &err), 0);
        assert_int_equal(cu_conv_graph_on(&b), on[i]);
    }
}

/* cuda.attention: cuDNN's SDPA offered under cudnn and measured only, and
 * the report's note on how attention ran, with what was timed. */
static void test_attention_choice(void **state)
{
    (void)state;
    bb_backend b;
    memset(&b, 0, sizeof b);
    assert_int_equal(cu_sdpa_wanted(&b), 0); /* the default: the kernel */
    const char *values[] = {"cuda.attention=cudnn", "cuda.attention=unfused", "cuda.attention=measured"};
    const int wanted[] = {1, 0, 1};
    for (int i = 0; i < 3; i++) {
        bb_err err = {0};
        assert_int_equal(bb_opt_set(&b.opt, values[i], "cuda", &err), 0);
        assert_int_equal(cu_sdpa_wanted(&b), wanted[i]);
    }
    char note[128];
    cu_step steps[2];
    memset(steps, 0, sizeof steps);
    steps[0].kind = ST_GEMM;
    b.steps = steps, b.n_steps = 1;
    cu_attention_note(&b, note, sizeof note);
    assert_string_equal(note, ""); /* no attention */
    steps[1].kind = ST_ATTENTION_FUSED, b.n_steps = 2;
    cu_attention_note(&b, note, sizeof note);
    assert_string_equal(note, "; attention: one kernel (mma)");
    cu_attn_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.ms_cudnn = -1, plan.ms_kernel = -1; /* cuDNN built no plan; not timed */
    b.attn_plans = &plan, b.n_attn_plans = 1;
    cu_attention_note(&b, note, sizeof note);
    assert_string_equal(note, "; attention: one kernel (mma) (cuDNN: no engine)");
    plan.plan = (cudnnBackendDescriptor_t)&plan, plan.ms_cudnn = 0.31, plan.ms_kernel = 0.38; /* never dereferenced */
    steps[1].kind = ST_ATTENTION_CUDNN;
    cu_attention_note(&b, note, sizeof note);
    assert_string_equal(note, "; attention: cuDNN SDPA (cuDNN 0.310 ms, kernel 0.380 ms)");
    steps[1].kind = ST_ATTENTION;
    cu_attention_note(&b, note, sizeof note);
    assert_string_equal(note, "; attention: cuBLASLt products per head");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_graph_setting),
        cmocka_unit_test(test_attention_choice),
        cmocka_unit_test(test_channels_last_choice),
        cmocka_unit_test(test_channels_last_setting),
        cmocka_unit_test(test_channels_last_imported),
        cmocka_unit_test(test_filter_to_krsc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
static void test_no_cuda(void **state)
{
    (void)state;
    skip(); /* built with CUDA=0: no CUDA backend to test */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_cuda)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
