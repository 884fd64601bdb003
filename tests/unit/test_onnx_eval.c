/*
 * test_onnx_eval.c — unit tests for src/onnx/onnx_eval.c, onnx_ops.c, onnx_fold.c and
 * onnx_params.c (shape inference, constant folding, attribute normalisation).
 *
 * Why this file exists: the importer trusts these shapes and folded values to
 * lay out every tensor, and learns which dims scale with the batch by
 * evaluating at N=2 and N=3, so each rule (broadcasting, Reshape's 0/-1,
 * windows with ceil_mode/auto_pad/dilation, Slice clamping, the attribute vs
 * input forms of each opset) is checked against PyTorch's or ONNX's known
 * answers, and each malformed node must fail with an error naming it. Models
 * are built by hand (tiny_onnx.h), so the tests need no ONNX file or reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_eval.h"
#include "tiny_onnx.h"

/* ---- the exporters' shape chain ---------------------------------------------- */

static void shape_chain(int64_t opset, int64_t n)
{
    tm *t = tm_new(opset);
    tm_input(t, "x", 4, I(-1, 768, 1, 1));
    tm_consts(t, "i0=0 minus1=[-1] ax0=[0]");
    tm_graph(t, "Shape x>s; Gather s,i0>g");
    tm_graph(t, opset >= 13 ? "Unsqueeze g,ax0>u" : "Unsqueeze g>u axes=[0]");
    tm_graph(t, "Concat u,minus1>shp axis=0; Reshape x,shp>y");
    bb_ox_val *v = eval_ok(t, n);
    char want[128];
    snprintf(want, sizeof want, "s=%lld,768,1,1 g[]=%lld shp=%lld,-1 y[%lld,768]~", (long long)n, (long long)n,
             (long long)n, (long long)n);
    check(t, v, want);
    assert_int_equal(V(t, v, "y")->dtype, BB_OX_F32);
    assert_true(!V(t, v, "i0")->owned && V(t, v, "shp")->owned);
    bb_ox_vals_free(v, t->m.n_values);
    tm_free(t);
}

TEST(test_shape_chain)
{
    for (int64_t n = 2; n <= 3; n++) {
        shape_chain(17, n);
        shape_chain(11, n);
    }
}

/* With drop_dead, the chain's integers that only integer nodes read are
 * freed as it goes; the shape the Reshape (a float node) reads is kept,
 * and so are the initializers. */
TEST(test_drop_dead)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 4, I(-1, 768, 1, 1));
    tm_consts(t, "i0=0 minus1=[-1] ax0=[0]");
    tm_graph(t, "Shape x>s; Gather s,i0>g; Unsqueeze g,ax0>u; Concat u,minus1>shp axis=0; Reshape x,shp>y");
    bb_err err = {0};
    bb_ox_val *v = bb_ox_eval(&t->m, 2, 1, &err);
    if (!v)
        fail_msg("eval failed: %s", err.msg);
    check(t, v, "shp=2,-1 y[2,768]~");
    const char *dropped[] = {"s", "g", "u"};
    for (int i = 0; i < 3; i++)
        if (V(t, v, dropped[i])->is_const || V(t, v, dropped[i])->data)
            fail_msg("%s was not freed", dropped[i]);
    assert_true(V(t, v, "i0")->is_const && V(t, v, "minus1")->is_const && V(t, v, "ax0")->is_const);
    bb_ox_vals_free(v, t->m.n_values);
    tm_free(t);
}

/* torch's `x[:, 1:] += u` in small (onnx_need.c): the sum of ranges that
 * only a Shape reads, the Expands and the indices are left shape only
 * for the import; the ranges the block is read from, and what shape
 * functions read (the index shape), are computed. Without for_import
 * everything is. */
TEST(test_data_needed)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 2, I(-1, 12288));
    tm_consts(t, "zero=0 one=1 k0=0 k1=1 col=[-1,1] last=[-1] from1=[1] big=[max] ax0=[0] two=2f");
    tm_graph(t, "Shape x>s; Gather s,k0>d0 axis=0; Range zero,d0,one>r0; Gather s,k1>d1 axis=0; "
                "Range zero,d1,one>full1; Slice full1,from1,big,ax0>r1; Reshape r0,col>v0; Add v0,r1>b; Shape b>to; "
                "Expand v0,to>e0; Unsqueeze e0,last>u0; Expand r1,to>e1; Unsqueeze e1,last>u1; "
                "Concat u0,u1>idx axis=-1; Slice x,from1,big,k1>blk; Mul blk,two>upd; ScatterND x,idx,upd>y; "
                "Shape idx>unused");
    bb_ox_io out = {.value = tm_val(t, "y"), .elem_type = 1, .ndim = -1};
    t->m.outputs = &out, t->m.n_outputs = 1;
    for (int for_import = 0; for_import <= 1; for_import++) {
        bb_err err = {0};
        bb_ox_val *v = bb_ox_eval(&t->m, 2, for_import, &err);
        if (!v)
            fail_msg("eval failed: %s", err.msg);
        check(t, v, "b[2,12287] idx[2,12287,2] to=2,12287 unused=2,12287,2 y[2,12288]~");
        const char *big[] = {"b", "e0", "e1", "u0", "u1", "idx"};
        for (int i = 0; i < 6; i++)
            if (V(t, v, big[i])->is_const == for_import || V(t, v, big[i])->shape_only != for_import)
                fail_msg("%s: is_const %d, shape_only %d (for_import %d)", big[i], V(t, v, big[i])->is_const,
                         V(t, v, big[i])->shape_only, for_import);
        assert_true(V(t, v, "v0")->is_const && V(t, v, "r1")->is_const && !V(t, v, "y")->shape_only);
        bb_ox_vals_free(v, t->m.n_values);
    }
    tm_free(t);
}

/* ---- windows -------------------------------------------------------------------- */

/* The window of nd on a [1,ch,h,h] input (w: Conv's weight dims). */
static bb_ox_win window(tm *t, bb_ox_node *nd, int64_t ch, int64_t h, const int64_t *w, int expect_ok)
{
    bb_ox_win win;
    bb_err err = {0};
    int rc = bb_ox_window(&t->m, nd, I(1, ch, h, h), w, &win, &err);
    if (expect_ok && rc)
        fail_msg("window: %s", err.msg);
    if (!expect_ok && (rc != -1 || !strstr(err.msg, nd->name)))
        fail_msg("window should fail naming the node: %d '%s'", rc, err.msg);
    return win;
}

/* Pools against PyTorch's output sizes (nn.MaxPool2d / nn.AvgPool2d). */
static const struct {
    const char *op, *attrs;
    int64_t in, out, pad_t, pad_b, extra;
} POOLS[] = {
    {"MaxPool", "kernel_shape=[3,3] strides=[2,2] ceil_mode=1", 112, 56, 0, 1, 1}, /* googlenet */
    {"MaxPool", "kernel_shape=[3,3] strides=[2,2] ceil_mode=1", 111, 55, 0, 0, 0}, /* squeezenet */
    {"MaxPool", "kernel_shape=[3,3] strides=[2,2] ceil_mode=1", 14, 7, 0, 1, 1},
    {"MaxPool", "kernel_shape=[2,2] strides=[2,2] ceil_mode=1", 7, 4, 0, 1, 1},
    /* the last window must start inside the input or the left padding */
    {"MaxPool", "kernel_shape=[2,2] strides=[2,2] pads=[1,1,1,1] ceil_mode=1", 5, 3, 1, 1, 0},
    {"MaxPool", "kernel_shape=[3,3] strides=[2,2]", 35, 17, 0, 0, 0}, /* inception, 35x35 */
    {"AveragePool", "kernel_shape=[3,3] pads=[1,1,1,1] count_include_pad=1", 35, 35, 1, 1, 0},
    {"MaxPool", "kernel_shape=[3,3] strides=[2,2] pads=[1,1,1,1]", 112, 56, 1, 1, 0}, /* resnet */
};

TEST(test_windows)
{
    tm *t = tm_new(17);
    for (size_t i = 0; i < sizeof POOLS / sizeof *POOLS; i++) {
        bb_ox_win w = window(t, tm_node(t, POOLS[i].op, "x", "y", POOLS[i].attrs), 8, POOLS[i].in, NULL, 1);
        t->m.n_nodes--;
        assert_true(w.out_h == POOLS[i].out && w.out_w == POOLS[i].out && w.out_c == 8);
        assert_true(w.pad_t == POOLS[i].pad_t && w.pad_b == POOLS[i].pad_b && w.pad_r == POOLS[i].pad_b);
        assert_true(w.ceil_extra_b == POOLS[i].extra && w.ceil_extra_r == POOLS[i].extra);
    }
    /* Conv 3x3 stride 2 on 35 -> 17, kernel from the weight */
    bb_ox_win w = window(t, tm_node(t, "Conv", "x,w", "y", "strides=[2,2]"), 8, 35, I(192, 8, 3, 3), 1);
    assert_true(w.out_h == 17 && w.kh == 3 && w.sw == 2 && w.out_c == 192 && w.group == 1);
    /* asymmetric pads [t, l, b, r] */
    w = window(t, tm_node(t, "Conv", "x,w", "y", "pads=[0,1,2,3]"), 8, 10, I(4, 8, 3, 3), 1);
    assert_true(w.out_h == 10 && w.out_w == 12 && w.pad_t == 0 && w.pad_l == 1 && w.pad_b == 2 && w.pad_r == 3);
    /* auto_pad SAME_UPPER / SAME_LOWER on 8, k3 s2 -> 4, one pad at the end / the beginning */
    bb_ox_node *cv = tm_node(t, "Conv", "x,w", "y", "auto_pad=SAME_UPPER strides=[2,2]");
    w = window(t, cv, 8, 8, I(4, 8, 3, 3), 1);
    assert_true(w.out_h == 4 && w.pad_t == 0 && w.pad_b == 1);
    cv->attrs[0].s = "SAME_LOWER";
    w = window(t, cv, 8, 8, I(4, 8, 3, 3), 1);
    assert_true(w.out_h == 4 && w.pad_t == 1 && w.pad_b == 0);
    cv->attrs[0].s = "VALID";
    assert_int_equal(window(t, cv, 8, 8, I(4, 8, 3, 3), 1).out_h, 3);
    /* dilation 2, 3x3 on 10 -> 6; depthwise group */
    cv = tm_node(t, "Conv", "x,w", "y", "dilations=[2,2] group=8");
    w = window(t, cv, 8, 10, I(8, 1, 3, 3), 1);
    assert_true(w.out_h == 6 && w.dil_h == 2 && w.dil_w == 2 && w.group == 8);
    assert_true(w.kd == 1 && w.sd == 1 && w.dil_d == 1 && w.out_d == 1 && !w.pad_f && !w.pad_k);
    /* 3-D windows against PyTorch (nn.MaxPool3d(3, 2, 1, ceil_mode=True), r3d_18's stem Conv3d) */
    bb_ox_win w3;
    bb_err err = {0};
    bb_ox_node *mp = tm_node(t, "MaxPool", "x", "y", "kernel_shape=[3,3,3] strides=[2,2,2] pads=[1,1,1,1,1,1] ceil_mode=1");
    assert_int_equal(bb_ox_window_3d(&t->m, mp, I(1, 8, 16, 112, 112), NULL, &w3, &err), 0);
    assert_true(w3.out_d == 9 && w3.out_h == 57 && w3.out_w == 57 && w3.ceil_extra_k == 1 && w3.pad_k == 2 &&
                w3.ceil_extra_b == 1 && w3.pad_f == 1);
    bb_ox_node *c3 = tm_node(t, "Conv", "x,w", "y", "strides=[1,2,2] pads=[1,3,3,1,3,3]");
    assert_int_equal(bb_ox_window_3d(&t->m, c3, I(1, 8, 16, 112, 112), I(4, 8, 3, 7, 7), &w3, &err), 0);
    assert_true(w3.out_d == 16 && w3.out_h == 56 && w3.out_w == 56 && w3.kd == 3 && w3.kh == 7 && w3.sd == 1 &&
                w3.sh == 2 && w3.pad_f == 1 && w3.pad_t == 3 && w3.out_c == 4);
    /* a 3-D kernel_shape that differs from the weight's, named */
    assert_int_equal(bb_ox_window_3d(&t->m, c3, I(1, 8, 16, 112, 112), I(4, 8, 3, 5, 7), &w3, &err), 0);
    bb_ox_node *bad3 = tm_node(t, "Conv", "x,w", "y", "kernel_shape=[3,7,7]");
    assert_int_equal(bb_ox_window_3d(&t->m, bad3, I(1, 8, 16, 112, 112), I(4, 8, 3, 5, 7), &w3, &err), -1);
    assert_non_null(strstr(err.msg, "differs from the weight's [3,5,7]"));
    /* errors: channels vs group, 1-D kernel, bad auto_pad, window larger than the input, stride 0 */
    window(t, cv, 8, 10, I(8, 2, 3, 3), 0);
    window(t, tm_node(t, "MaxPool", "x", "y", "kernel_shape=[3]"), 8, 10, NULL, 0);
    window(t, tm_node(t, "Conv", "x,w", "y", "auto_pad=SAME"), 8, 10, I(8, 8, 3, 3), 0);
    window(t, tm_node(t, "MaxPool", "x", "y", "kernel_shape=[5,5]"), 8, 3, NULL, 0);
    window(t, tm_node(t, "MaxPool", "x", "y", "kernel_shape=[3,3] strides=[0,1]"), 8, 10, NULL, 0);
    tm_free(t);
}

TEST(test_conv_graph)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 4, I(-1, 3, 224, 224));
    tm_consts(t, "w:64x3x7x7 b:64 fw:1000x64 fb:1000");
    tm_graph(t, "Conv x,w,b>c strides=[2,2] pads=[3,3,3,3]; Relu c>r; "
                "MaxPool r>p kernel_shape=[3,3] strides=[2,2] pads=[1,1,1,1]; GlobalAveragePool p>g; "
                "Flatten g>f");
    bb_ox_node *gm = tm_node(t, "Gemm", "f,fw,fb", "out", "transB=1");
    bb_ox_val *v = eval_ok(t, 3);
    check(t, v, "c[3,64,112,112] p[3,64,56,56] g[3,64,1,1] f[3,64] out[3,1000]");
    bb_ox_vals_free(v, t->m.n_values);
    gm->attrs[0].i = 0; /* [3,64] x [1000,64]: K differs */
    expect_error(t, 3, "Gemm", "shape mismatch");
    tm_free(t);
}

/* ---- selecting: Slice, Gather, Split ------------------------------------------- */

TEST(test_slice)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 3, I(-1, 10, 20));
    tm_consts(t, "seq=[0,1,2,3,4,5,6,7,8,9] st=[-3,2] en=[max,-1] ax=[1,-1] st2=[-1] en2=[min] ax2=[0] sp2=[-2]");
    tm_consts(t, "st3=[100] en3=[200] sp0=[0]");
    /* axis1 [7,10), axis2 [2,19) */
    /* 9,7,5,3,1 */
    /* opset 1 attribute form */
    tm_graph(t, "Slice x,st,en,ax>a; Slice seq,st2,en2,ax2,sp2>rev; Slice seq,st3,en3>empty; "
                "Slice x>o starts=[1] ends=[1000] axes=[2]");
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, "a[2,3,17] rev=9,7,5,3,1 empty[0] o[2,10,19]");
    bb_ox_slice s;
    bb_err err;
    assert_int_equal(bb_ox_slice_get(&t->m, &t->nodes[0], v, &s, &err), 0);
    assert_true(s.start[1] == 7 && s.count[1] == 3 && s.start[2] == 2 && s.count[2] == 17);
    assert_true(s.start[0] == 0 && s.step[0] == 1 && s.count[0] == 2);
    assert_int_equal(bb_ox_slice_get(&t->m, &t->nodes[1], v, &s, &err), 0);
    assert_true(s.start[0] == 9 && s.step[0] == -2 && s.count[0] == 5);
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Slice", "seq,st3,en3,ax2,sp0", "bad", "");
    expect_error(t, 2, "Slice", "step 0");
    tm_free(t);
}

TEST(test_gather)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 3, I(-1, 5, 7));
    tm_consts(t, "d=[10,20,30,40] s=-1 big=4 m:2x3=[2,0,-3,1,1,3]");
    /* scalar index: scalar */
    /* [2,3] */
    /* [N,5,2,3] */
    /* [N,7] */
    tm_graph(t, "Gather d,s>g0; Gather d,m>g1; Gather x,m>g2 axis=2; Gather x,s>g3 axis=-2");
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, "g0[]=40 g1[2,3]=30,10,20,20,20,40 g2[2,5,2,3] g3[2,7]");
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Gather", "d,big", "bad", "");
    expect_error(t, 2, "Gather", "out of range");
    tm_free(t);
}

TEST(test_split)
{
    tm *t = tm_new(18);
    tm_input(t, "x", 2, I(-1, 10));
    tm_consts(t, "d=[1,2,3,4,5] sz=[3,7]");
    /* opset < 13 attribute */
    /* 18: 2, 2, 1 */
    /* even, on the batch */
    tm_graph(t, "Split x,sz>a,b axis=1; Split d>c,e split=[1,4]; Split d>f,g,h num_outputs=3; Split x>i,j");
    bb_ox_val *v = eval_ok(t, 4);
    check(t, v, "a[4,3] b[4,7] c=1 e=2,3,4,5 f=1,2 h=5 i[2,10]");
    bb_ox_vals_free(v, t->m.n_values);
    expect_error(t, 3, "Split", "evenly");
    tm_free(t);
}

/* ---- arithmetic on constants: Range, Where/Equal, ScatterND, Expand ---------------- */

TEST(test_range)
{
    tm *t = tm_new(17);
    tm_consts(t, "a=2 b=-5 c=-2 z=0 one=1 huge=max f0=0f f1=1f f2=0.25f");
    /* 2, 0, -2, -4 */
    /* -5, -3, -1, 1 */
    /* empty */
    tm_graph(t, "Range a,b,c>r; Range b,a,a>q; Range a,b,a>e; Range f0,f1,f2>fr");
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, "r=2,0,-2,-4 q=-5,-3,-1,1 e[0] fr[4]");
    assert_true(F(V(t, v, "fr"), 3) == 0.75f);
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Range", "z,huge,one", "bad", "");
    expect_error(t, 2, "Range", "too large");
    t->m.n_nodes--;
    tm_node(t, "Range", "z,one,z", "bad2", "");
    expect_error(t, 2, "Range", "not supported");
    tm_free(t);
}

TEST(test_where_equal_expand)
{
    /* how torch exports x.expand(N, -1, -1): Where(Equal(shape, -1), 1, shape) */
    tm *t = tm_new(17);
    tm_input(t, "x", 3, I(-1, 197, 768));
    tm_consts(t, "tok:1x1x768 i0=[0] m1=[-1,-1] ones=[1,1,1] neg=[-1,-1,-1] bad=[5,768]");
    tm_graph(t, "Shape x>s; Gather s,i0>n; Concat n,m1>want axis=0; Equal want,neg>eq; Where eq,ones,want>shp; "
                "Expand tok,shp>e; Not eq>ne");
    bb_ox_val *v = eval_ok(t, 3);
    check(t, v, "eq=0,1,1 ne=1,0,0 shp=3,1,1 e[3,1,768]");
    assert_true(V(t, v, "e")->is_const); /* expand of a constant is computed */
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Expand", "x,bad", "e2", "");
    expect_error(t, 3, "Expand", "do not broadcast");
    tm_free(t);
}

TEST(test_scatternd)
{
    tm *t = tm_new(17);
    tm_consts(t, "d=[0,0,0,0,0,0] up=[7,9] up3=[1]");
    tm_consts(t, "m:2x3=[0,0,0,0,0,0] ix:2x1=[4,-1] ix2:1x1=[1] up2:1x3=[1,2,3] ix3:1x1=[6]");
    tm_graph(t, "ScatterND d,ix,up>s; ScatterND m,ix2,up2>s2; ScatterND s,ix,up>s3 reduction=add");
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, "s=0,0,0,0,7,9 s2=0,0,0,1,2,3 s3=0,0,0,0,14,18");
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "ScatterND", "d,ix3,up3", "bad", "");
    expect_error(t, 2, "ScatterND", "out of range");
    tm_free(t);
}

/* ---- MatMul, Transpose, Squeeze/Unsqueeze, Reshape ---------------------------------- */

TEST(test_matmul)
{
    tm *t = tm_new(17);
    tm_input(t, "q", 4, I(-1, 12, 197, 64));
    tm_consts(t, "w:64x32 v:64 b3:1x64x5");
    /* reversed */
    tm_graph(t, "Transpose q>qt; Transpose q>kt perm=[0,1,3,2]; MatMul q,kt>att; MatMul q,w>p; MatMul q,v>pv; "
                "MatMul v,w>vw; MatMul q,b3>pb");
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, "qt[64,197,12,2] att[2,12,197,197] p[2,12,197,32] pv[2,12,197] vw[32] pb[2,12,197,5]");
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "MatMul", "q,q", "bad", "");
    expect_error(t, 2, "MatMul", "shape mismatch: [2,12,197,64] x [2,12,197,64]");
    tm_free(t);
}

TEST(test_moves_fold)
{
    tm *t = tm_new(17);
    tm_consts(t, "a:2x3=[1,2,3,4,5,6] rep=[2,1] pads=[0,1,0,0] crop=[0,0,-1,-1] ax1=[1] lo=2 hi=5 e=[] x0=[1]");
    /* the opset 18 input form */
    tm_graph(t, "Transpose a>at; Tile a,rep>tl; Pad a,pads>pd; Pad a,crop>cr; ReduceSum a>rs keepdims=0; "
                "ReduceMax a,ax1>rm; ReduceMean a>mean axes=[0]; Clip a,lo,hi>cl; Concat a,a>cc axis=1; "
                "Dropout a>dr,mask; Flatten a>fl axis=0; Reshape x0,e>scalar");
    bb_ox_val *v = eval_ok(t, 2);
    check(t, v, "at[3,2]=1,4,2,5,3,6 tl=1,2,3,4,5,6,1,2,3,4,5,6 pd=0,1,2,3,0,4,5,6 cr=1,2 rs[]=21 rm[2,1]=3,6 "
                "mean=2,3,4 cl=2,2,3,4,5,5 cc=1,2,3,1,2,3,4,5,6,4,5,6 dr=1,2,3,4,5,6 mask=1,1,1,1,1,1 fl[1,6] "
                "scalar[]");
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Transpose", "a", "bad", "perm=[0,0]");
    expect_error(t, 2, "Transpose", "permutation");
    t->m.n_nodes--;
    tm_node(t, "Concat", "a,rep", "bad2", "axis=0");
    expect_error(t, 2, "Concat", "shape mismatch: input 1 [2] does not concatenate with [2,3]");
    tm_free(t);
}

TEST(test_squeeze_unsqueeze)
{
    for (int64_t opset = 11; opset <= 13; opset += 2) {
        tm *t = tm_new(opset);
        tm_input(t, "x", 4, I(-1, 1, 7, 1));
        tm_consts(t, "sa=[-1] ua=[0,-1]");
        tm_node(t, "Squeeze", opset >= 13 ? "x,sa" : "x", "s", opset >= 13 ? "" : "axes=[-1]");
        tm_node(t, "Unsqueeze", opset >= 13 ? "s,ua" : "s", "u", opset >= 13 ? "" : "axes=[0,-1]");
        tm_node(t, "Squeeze", "x", "all", "");
        bb_ox_val *v = eval_ok(t, 2);
        check(t, v, "s[2,1,7] u[1,2,1,7,1] all[2,7]");
        bb_ox_axes ax;
        bb_err err;
        assert_int_equal(bb_ox_axes_get(&t->m, &t->nodes[1], v, &ax, &err), 0);
        assert_true(ax.n == 2 && ax.axes[0] == 0 && ax.axes[1] == 4);
        bb_ox_vals_free(v, t->m.n_values);
        tm_node(t, "Squeeze", "x", "bad", "axes=[2]");
        expect_error(t, 1, "Squeeze", "cannot squeeze axis 2 of size 7");
        t->m.n_nodes--;
        tm_node(t, "Unsqueeze", "x", "bad2", "axes=[1,1]");
        expect_error(t, 1, "Unsqueeze", "repeated");
        tm_free(t);
    }
}

TEST(test_reshape)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 4, I(-1, 3, 4, 5));
    tm_consts(t, "s1=[0,-1,5] s2=[0,60] s3=[-1,7] z=[4,0] s4=[-1,-1] e:0x4");
    tm_graph(t, "Reshape x,s1>a; Reshape x,s2>b; Reshape e,z>c allowzero=1");
    bb_ox_val *v = eval_ok(t, 3);
    check(t, v, "a[3,12,5] b[3,60] c[4,0]");
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Reshape", "x,s3", "bad", "");
    expect_error(t, 3, "Reshape", "cannot reshape [3,3,4,5] (180 elements) to [-1,7]");
    t->m.n_nodes--;
    tm_node(t, "Reshape", "x,s4", "bad2", "");
    expect_error(t, 3, "Reshape", "invalid shape");
    tm_free(t);
}

/* ---- scalars, casts, integer arithmetic ---------------------------------------------- */

TEST(test_arith)
{
    tm *t = tm_new(17);
    tm_consts(t, "a=[7,-7,7,-7] b=[2,2,-2,-2] f=[-1.5f,2.7f,1e30f] mn=min m1=-1 zero=[0] w=[4294967301,-1]");
    tm_consts(t, "sm=[1f,2f,3f,1f]");
    tm_graph(t, "Div a,b>div; Mod a,b>mod; Mod a,b>fmod fmod=1; Sum a,b,a>sum; Max a,b>max; Pow b,b>pow; "
                "Cast f>fi to=7; Cast f>fb to=9; Cast a>af to=1; Cast w>i32 to=6; Cast w>u8 to=2; "
                "Div mn,m1>wrap; Less a,b>lt; Relu a>relu; Softmax sm>soft; Sqrt f>sq; "
                "ReduceL2 sm>l2 keepdims=0; Sin sm>sin; Cos sm>cos");
    bb_ox_val *v = eval_ok(t, 2);
    /* Div truncates toward zero; Mod takes the divisor's sign (fmod=0) or the dividend's */
    check(t, v, "div=3,-3,-3,3 mod=1,1,-1,-1 fmod=1,-1,1,-1 sum=16,-12,12,-16 max=7,2,7,-2 pow=4,4,0,0 "
                "fi=-1,2,max fb=1,1,1 i32=5,-1 u8=5,255 wrap=min lt=0,1,0,1 relu=7,0,7,0");
    assert_true(F(V(t, v, "af"), 1) == -7.f);
    assert_false(V(t, v, "soft")->is_const); /* Softmax is shape only */
    assert_true(isnan(F(V(t, v, "sq"), 0)) && fabsf(F(V(t, v, "sq"), 2) / 1e15f - 1) < 1e-6f);
    check(t, v, "l2[] sin[4] cos[4]");
    assert_float_equal(F(V(t, v, "l2"), 0), sqrtf(15.f), 1e-6); /* 1 + 4 + 9 + 1 */
    assert_float_equal(F(V(t, v, "sin"), 1), sinf(2.f), 1e-7);
    assert_float_equal(F(V(t, v, "cos"), 2), cosf(3.f), 1e-7);
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Div", "a,zero", "bad", "");
    expect_error(t, 2, "Div", "division by zero");
    tm_free(t);
}

static bb_ox_params params_ok(tm *t, const bb_ox_node *nd, const bb_ox_val *v)
{
    bb_ox_params p;
    bb_err err = {0};
    if (bb_ox_params_get(&t->m, nd, v, &p, &err))
        fail_msg("params: %s", err.msg);
    return p;
}

static void params_fail(tm *t, const bb_ox_node *nd, const bb_ox_val *v, const char *want)
{
    bb_ox_params p;
    bb_err err = {0};
    assert_int_equal(bb_ox_params_get(&t->m, nd, v, &p, &err), -1);
    if (!strstr(err.msg, want) || !strstr(err.msg, nd->name))
        fail_msg("'%s' lacks '%s'", err.msg, want);
}

TEST(test_params)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 3, I(-1, 4, 8));
    tm_consts(t, "m2:4x8 six=6f");
    tm_graph(t, "Gemm m2,m2>y alpha=2f transB=1; Clip x>c; Clip x,,six>c2; Clip x>c3 min=-1f; Softmax x>sm; "
                "LayerNormalization x,six>ln,mean,isd; HardSigmoid x>hs; Cast x>ct to=6; Flatten x>fl axis=-3; "
                "Pad x>pd pads=[0,1,2,0,3,4] value=1.5f; Transpose x>tr; Split x>s0,s1 axis=-1");
    bb_ox_node *nd = t->nodes;
    bb_ox_val *v = eval_ok(t, 2);
    bb_ox_params p = params_ok(t, &nd[0], v);
    assert_true(p.alpha == 2.f && p.beta == 1.f && !p.trans_a && p.trans_b);
    p = params_ok(t, &nd[1], v);
    assert_true(isinf(p.lo) && p.lo < 0 && isinf(p.hi) && p.hi > 0);
    p = params_ok(t, &nd[2], v);
    assert_true(isinf(p.lo) && p.hi == 6.f);
    p = params_ok(t, &nd[3], v); /* opset < 11 attributes */
    assert_true(p.lo == -1.f && isinf(p.hi) && params_ok(t, &nd[4], v).axis == 2);
    p = params_ok(t, &nd[5], v);
    assert_true(p.axis == 2 && p.epsilon == 1e-5f);
    p = params_ok(t, &nd[6], v);
    assert_true(p.alpha == 0.2f && p.beta == 0.5f);
    p = params_ok(t, &nd[7], v);
    assert_true(p.to == BB_OX_I64 && p.onnx_to == 6 && V(t, v, "ct")->dtype == BB_OX_I64);
    assert_int_equal(params_ok(t, &nd[8], v).axis, 0);
    check(t, v, "y[4,4] mean[2,4,1] fl[1,64] pd[2,8,14]");
    bb_ox_pad pd;
    bb_err err = {0};
    assert_int_equal(bb_ox_pad_get(&t->m, &nd[9], v, &pd, &err), 0);
    assert_true(pd.begin[1] == 1 && pd.begin[2] == 2 && pd.end[2] == 4 && pd.value == 1.5);
    int64_t perm[BB_OX_MAX_DIMS], axis, sizes[2];
    assert_int_equal(bb_ox_perm_get(&t->m, &nd[10], v, perm, &err), 0);
    assert_true(perm[0] == 2 && perm[1] == 1 && perm[2] == 0);
    assert_int_equal(bb_ox_split_get(&t->m, &nd[11], v, &axis, sizes, &err), 0);
    assert_true(axis == 2 && sizes[0] == 4 && sizes[1] == 4);
    t->m.opset = 11; /* Softmax's axis 1 with flatten semantics: refused on [2,4,8] */
    params_fail(t, &nd[4], v, "only the last axis");
    nd[7].attrs[0].i = 8; /* string */
    params_fail(t, &nd[7], v, "to=8");
    tm_attrs(t, &nd[0], "transA=yes");
    params_fail(t, &nd[0], v, "'transA' is not an int");
    tm_attrs(t, &nd[9], "mode=reflect");
    assert_int_equal(bb_ox_pad_get(&t->m, &nd[9], v, &pd, &err), 0);
    assert_int_equal(pd.mode, BB_OX_PAD_REFLECT);
    static char wrap[] = "wrap"; /* opset 19's: not run */
    nd[9].attrs[nd[9].n_attr - 1].s = wrap;
    assert_int_equal(bb_ox_pad_get(&t->m, &nd[9], v, &pd, &err), -1);
    assert_true(strstr(err.msg, "wrap") && strstr(err.msg, nd[9].name));
    bb_ox_vals_free(v, t->m.n_values);
    tm_free(t);
}

/* ---- constants and the fold limits ---------------------------------------------------- */

TEST(test_constants)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 2, I(-1, 3));
    tm_consts(t, "huge=[1048576,1024]");
    tm_graph(t, "Constant >ci value_ints=[4,5]; Constant >cf value_float=2.5f");
    tm_graph(t, "Constant >ct value=T[8,9]; ConstantOfShape ci>sevens value=T[7]");
    tm_node(t, "ConstantOfShape", "ci", "zeros", "");
    /* over the fold limit: shape only */
    tm_graph(t, "ConstantOfShape huge>big; Size x>sz; Shape x>tail start=-1; Add x,cf>xa");
    bb_ox_val *v = eval_ok(t, 3);
    check(t, v, "ci=4,5 cf[] ct[2]=8,9 zeros[4,5] sevens=7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7 "
                "big[1048576,1024]~ sz=9 tail=3 xa[3,3]~");
    assert_true(F(V(t, v, "cf"), 0) == 2.5f && F(V(t, v, "zeros"), 19) == 0.f && !V(t, v, "big")->data);
    bb_ox_vals_free(v, t->m.n_values);
    tm_node(t, "Constant", "", "bad", "value_string=hello");
    expect_error(t, 3, "Constant", "unsupported attribute");
    tm_free(t);
}

/* ---- errors ------------------------------------------------------------------------------ */

TEST(test_errors)
{
    tm *t = tm_new(17);
    tm_input(t, "x", 2, I(-1, 3));
    tm_consts(t, "w:4");
    tm_node(t, "Add", "x,w", "y", "");
    expect_error(t, 2, "node 'Add_0' (Add)", "shape mismatch: [2,3] and [4] do not broadcast");
    t->nodes[0].op_type = "NonMaxSuppression";
    expect_error(t, 2, "NonMaxSuppression", "unsupported op");
    t->nodes[0].op_type = "Add";
    t->nodes[0].domain = "com.microsoft";
    expect_error(t, 2, "unsupported op", "com.microsoft");
    t->nodes[0].domain = "";
    t->inputs[0].dims[1] = -1;
    expect_error(t, 2, "input 'x'", "not declared");
    t->inputs[0].dims[1] = 3;
    t->inits[0].dims[0] = t->inits[0].numel = 3; /* the Add is fine now */
    tm_consts(t, "sh=[-1] big=[1099511627776]");
    tm_graph(t, "Reshape x,sh>r; Expand r,big>e");
    expect_error(t, 2, "Expand", "shape mismatch");
    t->nodes[2].op_type = "Tile";
    expect_error(t, 2, "Tile", "repeat");
    t->nodes[2].op_type = "Relu";
    expect_error(t, 2, "Relu", "2 inputs");
    t->nodes[2].n_in = 1;
    t->nodes[2].out[0] = t->nodes[1].out[0];
    expect_error(t, 2, "Relu", "defined twice");
    assert_null(bb_ox_eval(&t->m, 0, 0, &(bb_err){0}));
    assert_true(bb_ox_eval_supports("ScatterND") && bb_ox_eval_supports("LayerNormalization"));
    assert_false(bb_ox_eval_supports("Loop"));
    tm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_chain), cmocka_unit_test(test_drop_dead), cmocka_unit_test(test_data_needed),     cmocka_unit_test(test_windows),
        cmocka_unit_test(test_conv_graph),      cmocka_unit_test(test_slice),
        cmocka_unit_test(test_gather),          cmocka_unit_test(test_split),
        cmocka_unit_test(test_range),           cmocka_unit_test(test_where_equal_expand),
        cmocka_unit_test(test_scatternd),       cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_moves_fold),      cmocka_unit_test(test_squeeze_unsqueeze),
        cmocka_unit_test(test_reshape),         cmocka_unit_test(test_arith),
        cmocka_unit_test(test_params),          cmocka_unit_test(test_constants),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

