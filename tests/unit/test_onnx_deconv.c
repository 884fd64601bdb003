/*
 * test_onnx_deconv.c — unit tests for src/onnx/onnx_deconv.c: the shapes
 * the evaluator gives ConvTranspose, DepthToSpace and SpaceToDepth, and
 * each attribute or shape batchbench refuses, with an error naming the
 * node and the file.
 *
 * Why this file exists: the importer lays out the sub-pixel conv and its
 * interleave from these shapes (onnx_lower_deconv.c), so each output-size
 * rule is checked against ONNX's definition, out = s*(in-1) +
 * output_padding + k - pad_begin - pad_end, on the cases
 * tests/onnx/upsample_cases.py also runs end to end. Models are built by
 * hand (tiny_onnx.h).
 */
#include "tiny_onnx.h"

#define TEST(name) static void name(void **state __attribute__((unused)))

/* x [N,3,8,8] into ConvTranspose with weight w (dims wd) and bias b of nb
 * elements, and the node's attributes. */
static tm *deconv_model(const int64_t wd[4], int64_t nb, const char *attrs)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 4, I(-1, 3, 8, 8));
    tm_init(t, "w", BB_OX_F32, 4, wd, NULL);
    tm_init(t, "b", BB_OX_F32, 1, &nb, NULL);
    tm_node(t, "ConvTranspose", "x,w,b", "y", attrs);
    return t;
}

static void deconv_shape(const int64_t wd[4], int64_t nb, const char *attrs, const char *want)
{
    tm *t = deconv_model(wd, nb, attrs);
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, want);
    bb_ox_vals_free(v, t->m.n_values);
    tm_free(t);
}

static void deconv_refused(const int64_t wd[4], int64_t nb, const char *attrs, const char *why)
{
    tm *t = deconv_model(wd, nb, attrs);
    expect_error(t, 2, "ConvTranspose_0", why);
    tm_free(t);
}

TEST(test_convtranspose_shapes)
{
    deconv_shape(I(3, 4, 2, 2), 4, "strides=[2,2]", "y[2,4,16,16]~");                       /* U-Net */
    deconv_shape(I(3, 5, 4, 4), 5, "strides=[2,2] pads=[1,1,1,1]", "y[2,5,16,16]~");        /* DCGAN */
    deconv_shape(I(3, 4, 3, 3), 4, "strides=[2,2] pads=[1,1,1,1] output_padding=[1,1]", "y[2,4,16,16]~");
    deconv_shape(I(3, 2, 3, 3), 6, "strides=[2,3] pads=[0,1,2,0] output_padding=[1,0] group=3",
                 "y[2,6,16,23]~");                                                          /* 15+1, 21+3-1 */
    deconv_shape(I(3, 4, 3, 3), 4, "", "y[2,4,10,10]~");                                     /* stride 1 */
    deconv_shape(I(3, 4, 3, 3), 4, "pads=[0,0,3,1] kernel_shape=[3,3]", "y[2,4,7,9]~");
}

TEST(test_convtranspose_refused)
{
    deconv_refused(I(3, 4, 3, 3), 4, "dilations=[2,2]", "dilation 1 only");
    deconv_refused(I(3, 4, 3, 3), 4, "strides=[2,2] output_shape=[16,16]", "output_shape");
    deconv_refused(I(3, 4, 3, 3), 4, "auto_pad=SAME_UPPER", "explicit pads");
    deconv_refused(I(3, 4, 3, 3), 4, "strides=[2,2] output_padding=[2,0]", "smaller than the strides");
    deconv_refused(I(3, 4, 3, 3), 4, "kernel_shape=[2,2]", "differs from the weight's");
    deconv_refused(I(4, 4, 3, 3), 4, "", "[C, M/group, kh, kw]");                            /* 3 channels in */
    deconv_refused(I(3, 4, 3, 3), 4, "group=2", "with group 2");                             /* 3 % 2 */
    deconv_refused(I(3, 4, 3, 3), 5, "", "bias has 5 elements");
    deconv_refused(I(3, 4, 3, 3), 4, "pads=[6,0,6,0]", "output size");                       /* 10 - 12 */
    deconv_refused(I(3, 4, 3, 3), 4, "strides=[2]", "has 1 values, expected 2");
}

TEST(test_convtranspose_rank)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 3, I(-1, 3, 8));
    tm_init(t, "w", BB_OX_F32, 3, I(3, 4, 3), NULL);
    tm_graph(t, "ConvTranspose x,w>y");
    expect_error(t, 2, "ConvTranspose_0", "[N,C,H,W]");
    tm_free(t);
}

/* x [N,C,H,W] into op with the attributes given; its output checked, or
 * (want NULL) its error holding why. */
static void depthspace(const char *op, const int64_t x[4], const char *attrs, const char *want, const char *why)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 4, x);
    tm_node(t, op, "x", "y", attrs);
    if (want) {
        bb_ox_val *v = eval_ok(t, 2);
        check(t, v, want);
        bb_ox_vals_free(v, t->m.n_values);
    } else {
        char node[32];
        snprintf(node, sizeof node, "%s_0", op);
        expect_error(t, 2, node, why);
    }
    tm_free(t);
}

TEST(test_depth_space)
{
    depthspace("DepthToSpace", I(-1, 12, 4, 5), "blocksize=2", "y[2,3,8,10]~", NULL);
    depthspace("DepthToSpace", I(-1, 18, 4, 4), "blocksize=3 mode=CRD", "y[2,2,12,12]~", NULL);
    depthspace("SpaceToDepth", I(-1, 3, 8, 6), "blocksize=2", "y[2,12,4,3]~", NULL);
    depthspace("DepthToSpace", I(-1, 3, 4, 4), "blocksize=2", NULL, "3 channels do not split into blocks of 2x2");
    depthspace("DepthToSpace", I(-1, 12, 4, 4), "blocksize=2 mode=RDC", NULL, "mode='RDC'");
    depthspace("DepthToSpace", I(-1, 12, 4, 4), "mode=DCR", NULL, "'blocksize' is missing");
    depthspace("DepthToSpace", I(-1, 12, 4, 4), "blocksize=0", NULL, "not in 1..1024");
    depthspace("SpaceToDepth", I(-1, 3, 8, 7), "blocksize=2", NULL, "not multiples of the block size 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convtranspose_shapes),
        cmocka_unit_test(test_convtranspose_refused),
        cmocka_unit_test(test_convtranspose_rank),
        cmocka_unit_test(test_depth_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
