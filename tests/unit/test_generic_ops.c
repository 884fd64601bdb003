/*
 * test_generic_ops.c — the CPU backend on every op of the extended graph IR
 * (the ops an ONNX import emits), against a naive reference.
 *
 * Why this file exists: the generic ops are lowered through views of other
 * buffers' bytes, permuted and submemory descriptors, broadcasts that swap
 * operands, packed constants, blocked layouts read in place and a strided
 * kernel; any slip gives wrong numbers without an error. Each case builds
 * a tiny graph by hand (general conv/pool windows, full-rank tensors whose
 * batch is not axis 0, constants as operands), computes the expected
 * output with the plain loops of generic_ref.h (double precision, full
 * shapes), then fuses the graph and runs it through the backend at batch 1
 * and 3 (twice each: the second pass must not see the first's leftovers in
 * the arena).
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
#include "generic_ref.h"

#include "generic_build.h"

/* ---- cases ----------------------------------------------------------------- */

/* conv: rectangular kernel, asymmetric pads, dilation, groups; a dilated
 * 1x3 depthwise conv with a fused ReLU; a square 3x3 after them (a Winograd
 * candidate: taken always under cpu.algo=always). Convs that differ only in
 * their window never share a measured pick. */
static void test_conv(void **state)
{
    (void)state;
    for (int algo = 0; algo < 2; algo++) {
        bb_graph *g = INPUT(4, 9, 11);
        int x = conv(g, g->input, 6, 2, 1, (const int[]){3, 2, 2, 1, 1, 0, 2, 1, 2, 1});
        x = act_op(g, conv(g, x, 6, 6, 0, (const int[]){1, 3, 1, 1, 0, 2, 0, 1, 1, 2}), BB_ACT_RELU, 0, 0);
        g->output = conv(g, x, 16, 1, 1, W3);
        run_with(g, algo ? "conv windows, cpu.algo=always" : "conv windows", (run_opts){-2, 2, 1e-5, algo, BB_PREC_FP32, 0});
    }
    bb_graph *g = INPUT(8, 8, 8);
    conv(g, g->input, 8, 1, 0, W3);
    conv(g, g->input, 8, 1, 0, (const int[]){3, 3, 1, 1, 1, 1, 2, 0, 1, 1});
    conv(g, g->input, 8, 1, 0, (const int[]){3, 3, 1, 1, 2, 2, 2, 2, 2, 2});
    bb_backend *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->g = g;
    int64_t k[3][CPU_CHOICE_KEY];
    for (int i = 0; i < 3; i++)
        cpu_choice_key(b, &g->ops[i], CPU_PICK_WINOGRAD, 0, 0, k[i]);
    assert_true(memcmp(k[0], k[1], sizeof k[0]) && memcmp(k[0], k[2], sizeof k[0]) && memcmp(k[1], k[2], sizeof k[0]));
    free(b);
    bb_graph_free(g);
}

/* grouped convs narrower than the SIMD block, which the CPU backend runs
 * with neighbouring groups merged (block-diagonal weights): 4 input and 8
 * output channels per group, 2 and 2 (merged 4 at a time on AVX2), then
 * 4 and 4 with a residual sum and ReLU; and a group count no merge factor
 * divides (3 groups of 4), which stays as it is */
static void test_narrow_groups(void **state)
{
    (void)state;
    bb_graph *g = INPUT(16, 9, 10);
    int x = conv(g, g->input, 32, 4, 1, W3);
    x = act_op(g, conv(g, x, 32, 16, 0, W3), BB_ACT_RELU, 0, 0);
    int r = conv(g, x, 32, 1, 0, (const int[]){1, 1, 2, 1, 0, 0, 0, 0, 1, 1});
    int y = act_op(g, add(g, conv(g, x, 32, 8, 1, (const int[]){3, 3, 2, 1, 1, 1, 1, 1, 1, 1}), r), BB_ACT_RELU, 0, 0);
    g->output = conv(g, conv(g, y, 12, 1, 0, W3), 12, 3, 1, W3);
    run(g, "narrow groups");
}

/* max / avg (include, exclude padding) with asymmetric pads; average pools
 * of stride 1 on a plain input: 3x3 pad 1, 3x2 with
 * asymmetric pads, and an overhang past the input as ceil_mode leaves; a
 * dilated max pool on a conv's blocked output */
static void test_pools(void **state)
{
    (void)state;
    const char *what[3] = {"maxpool", "avgpool include pad", "avgpool exclude pad"};
    for (int v = 0; v < 3; v++) {
        bb_graph *g = INPUT(3, 8, 7);
        g->output = pool(g, v ? BB_OP_AVGPOOL : BB_OP_MAXPOOL, g->input, ACT(g, 3, 5, 7),
                         (const int[]){3, 2, 2, 1, 1, 0, 2, 1, 1, 1}, v == 1);
        run(g, what[v]);
    }
    const int stride1[3][10] = {{3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {3, 2, 1, 1, 1, 0, 1, 1, 1, 1},
                                {3, 3, 1, 1, 0, 1, 2, 2, 1, 1}};
    for (int w = 0; w < 3; w++)
        for (int include = 0; include < 2; include++) {
            const int *k = stride1[w];
            bb_graph *g = INPUT(3, 8, 7);
            g->output = pool(g, BB_OP_AVGPOOL, g->input,
                             ACT(g, 3, win_out(8, k[0], 1, k[4], k[6], 1), win_out(7, k[1], 1, k[5], k[7], 1)), k,
                             include);
            run(g, include ? "avgpool stride 1, include pad" : "avgpool stride 1, exclude pad");
        }
    bb_graph *g = INPUT(3, 9, 9);
    int x = conv(g, g->input, 16, 1, 1, W3);
    g->output = pool(g, BB_OP_MAXPOOL, x, ACT(g, 16, 4, 3), (const int[]){2, 3, 2, 2, 0, 1, 1, 0, 2, 2}, 0);
    run(g, "dilated maxpool on blocked");
}

static int batchnorm(bb_graph *g, int x, int64_t c)
{
    bb_op *op = op1(g, BB_OP_BATCHNORM, "bn", x, like(g, x));
    op->w = CST(g, c), op->b = CST(g, c), op->aux[0] = CST(g, c);
    op->aux[1] = cst(g, "var", 1, D(c), 0.5, 1.5), op->eps = 1e-3f;
    return op->out;
}

/* standalone: [N,5,4,6], [N,7], and on a pool's blocked output; with and
 * without a ReLU on 10 channels blocked by 16 (oneDNN has only reference
 * code there: the backend makes them plain) */
static void test_batchnorm(void **state)
{
    (void)state;
    bb_graph *g = INPUT(5, 4, 6);
    g->output = batchnorm(g, g->input, 5);
    run(g, "batchnorm [N,5,4,6]");
    g = INPUT(7);
    g->output = batchnorm(g, g->input, 7);
    run(g, "batchnorm [N,7]");
    g = INPUT(3, 6, 6);
    int x = pool(g, BB_OP_MAXPOOL, conv(g, g->input, 16, 1, 1, W3), ACT(g, 16, 3, 3),
                 (const int[]){2, 2, 2, 2, 0, 0, 0, 0, 1, 1}, 0);
    g->output = batchnorm(g, x, 16);
    run(g, "batchnorm on blocked");
    for (int relu = 0; relu < 2; relu++) {
        g = INPUT(3, 6, 6);
        x = pool(g, BB_OP_MAXPOOL, conv(g, g->input, 10, 1, 1, W3), ACT(g, 10, 3, 3),
                 (const int[]){2, 2, 2, 2, 0, 0, 0, 0, 1, 1}, 0);
        g->output = batchnorm(g, x, 10);
        if (relu) /* fused into the batch norm */
            g->output = act_op(g, g->output, BB_ACT_RELU, 0.f, 0.f);
        run(g, relu ? "batchnorm + relu on 10 channels blocked" : "batchnorm on 10 channels blocked");
    }
}

/* every activation, on a full-rank tensor and on a blocked layout with
 * padded channels (12 of 16) between a 1x1 pool and a conv */
static void test_acts(void **state)
{
    (void)state;
    const struct { bb_act a; float alpha, beta; double lo, hi; } cases[] = {
        {BB_ACT_RELU, 0, 0, -2, 2},        {BB_ACT_RELU6, 0, 0, -3, 8},          {BB_ACT_SILU, 0, 0, -4, 4},
        {BB_ACT_SIGMOID, 0, 0, -4, 4},     {BB_ACT_GELU, 0, 0, -3, 3},           {BB_ACT_TANH, 0, 0, -3, 3},
        {BB_ACT_HARDSWISH, 0, 0, -5, 5},   {BB_ACT_HARDSIGMOID, .2f, .5f, -5, 5}, {BB_ACT_CLIP, -.5f, 1.2f, -2, 2},
        {BB_ACT_LEAKY_RELU, .1f, 0, -2, 2}, {BB_ACT_SQRT, 0, 0, .1, 4},           {BB_ACT_ERF, 0, 0, -2, 2},
        {BB_ACT_EXP, 0, 0, -2, 2},         {BB_ACT_ABS, 0, 0, -2, 2},            {BB_ACT_NEG, 0, 0, -2, 2},
        {BB_ACT_RECIPROCAL, 0, 0, .5, 2},  {BB_ACT_ELU, .8f, 0, -3, 3},          {BB_ACT_CELU, .7f, 0, -3, 3},
        {BB_ACT_SELU, 1.6732632f, 1.050701f, -3, 3},                             {BB_ACT_SOFTPLUS, 0, 0, -4, 4},
        {BB_ACT_SOFTSIGN, 0, 0, -4, 4},    {BB_ACT_MISH, 0, 0, -4, 4},           {BB_ACT_LOG, 0, 0, .1, 4},
        {BB_ACT_GELU_TANH, 0, 0, -3, 3},   {BB_ACT_THRESHOLDED_RELU, .3f, 0, -2, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char what[64];
        bb_graph *g = with_input(3, D(2, 1, 5), 1); /* [2, N, 5] */
        g->output = act_op(g, g->input, cases[i].a, cases[i].alpha, cases[i].beta);
        snprintf(what, sizeof what, "%s, full rank", bb_act_name(cases[i].a));
        run_with(g, what, (run_opts){cases[i].lo, cases[i].hi, 1e-5, 0, BB_PREC_FP32, 0});
        if (cases[i].lo > 0)
            continue; /* domain: not for a conv's output */
        g = INPUT(3, 6, 6);
        int x = pool(g, BB_OP_MAXPOOL, conv(g, g->input, 12, 1, 1, W3), ACT(g, 12, 6, 6), W1, 0);
        g->output = conv(g, act_op(g, x, cases[i].a, cases[i].alpha, cases[i].beta), 8, 1, 1, W1);
        snprintf(what, sizeof what, "%s, blocked", bb_act_name(cases[i].a));
        run(g, what);
    }
}

/* operands of the binary cases on input x [N,3,4] */
static int bin_operand(bb_graph *g, int kind)
{
    switch (kind) {
    case 0: return g->input;
    case 1: return cst(g, "c4", 1, D(4), .5, 2);
    case 2: return cst(g, "c31", 2, D(3, 1), .5, 2);
    case 3: return cst(g, "two", 0, D(0), 2, 2); /* 0-d scalar */
    case 4: return slice(g, g->input, ZEROS, ONES, ACT(g, 1, 4));                      /* [N,1,4] */
    case 5: return slice(g, g->input, (const int64_t[R]){0, 0, 1}, ONES, ACT(g, 3, 1)); /* [N,3,1] */
    default: return cst(g, "half", 1, D(1), .5, .5);
    }
}

/* NumPy broadcasting both ways: src1 broadcast (oneDNN), src0 broadcast
 * (swapped; sub negated), div / pow with src0 broadcast or both (walk),
 * pow by a constant scalar (eltwise); then on a conv's blocked output with
 * a per-channel constant and a same-shape activation */
static void test_binary(void **state)
{
    (void)state;
    const int cases[][3] = {{BB_BIN_SUB, 0, 1}, {BB_BIN_SUB, 2, 0}, {BB_BIN_SUB, 4, 0}, {BB_BIN_DIV, 1, 0},
                            {BB_BIN_DIV, 4, 5}, {BB_BIN_DIV, 0, 2}, {BB_BIN_POW, 0, 3}, {BB_BIN_POW, 0, 6},
                            {BB_BIN_POW, 0, 1}, {BB_BIN_POW, 2, 0}, {BB_BIN_POW, 4, 5}, {BB_BIN_MAX, 0, 2},
                            {BB_BIN_MIN, 2, 0}, {BB_BIN_ADD, 4, 0}, {BB_BIN_MUL, 5, 4}, {BB_BIN_ADD, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bb_graph *g = INPUT(3, 4);
        int a = bin_operand(g, cases[i][1]), c = bin_operand(g, cases[i][2]);
        bb_op *op = op2(g, BB_OP_BINARY, "binary", a, c, ACT(g, 3, 4));
        op->binop = (bb_binop)cases[i][0];
        g->output = op->out;
        char what[64];
        snprintf(what, sizeof what, "binary %d: operands %d, %d", cases[i][0], cases[i][1], cases[i][2]);
        run_with(g, what, (run_opts){.5, 2, 1e-5, 0, BB_PREC_FP32, 0});
    }
    for (int op_i = 0; op_i < 2; op_i++) { /* swin_t's mask: a broadcast across a middle axis */
        bb_graph *g = INPUT(4, 3, 5, 6);
        int m = cst(g, "mask", 5, D(1, 4, 1, 5, 6), -1, 1);
        bb_op *op = op_i ? op2(g, BB_OP_BINARY, "mask", m, g->input, ACT(g, 4, 3, 5, 6))
                         : op2(g, BB_OP_BINARY, "mask", g->input, m, ACT(g, 4, 3, 5, 6));
        op->binop = op_i ? BB_BIN_SUB : BB_BIN_ADD;
        g->output = op->out;
        run(g, op_i ? "binary: mask - x, broadcast over N and a middle axis" : "binary: x + mask, broadcast over N and a middle axis");
    }
    bb_graph *g = INPUT(3, 5, 5);
    int x = conv(g, g->input, 16, 1, 1, W3), y = conv(g, g->input, 16, 1, 0, W1);
    bb_op *op = op2(g, BB_OP_BINARY, "bias", x, cst(g, "c", 3, D(16, 1, 1), -1, 1), ACT(g, 16, 5, 5));
    op = op2(g, BB_OP_BINARY, "mul", op->out, y, ACT(g, 16, 5, 5));
    op->binop = BB_BIN_MUL;
    g->output = op->out;
    run(g, "binary on blocked");
    /* an SE block's scaling as exporters write it: a conv's blocked output
     * times a per-(item, channel) activation [16, 1, 1] (a 5x5 conv's 1x1
     * output), which runs in the blocked layout as well */
    g = INPUT(3, 5, 5);
    x = conv(g, g->input, 16, 1, 1, W3);
    int s = conv(g, g->input, 16, 1, 1, (const int[]){5, 5, 1, 1, 0, 0, 0, 0, 1, 1});
    op = op2(g, BB_OP_BINARY, "se", x, s, ACT(g, 16, 5, 5));
    op->binop = BB_BIN_MUL;
    g->output = op->out;
    run(g, "binary on blocked: per-channel activation");
}

/* PRelu: a constant slope per channel on a conv's blocked output and per
 * last axis, one for all, and per row (oneDNN's prelu); a slope that is an
 * activation (the walk kernel) */
static void test_prelu(void **state)
{
    (void)state;
    bb_graph *g = INPUT(3, 5, 5);
    int x = conv(g, g->input, 16, 1, 1, W3);
    bb_op *op = op2(g, BB_OP_BINARY, "prelu", x, cst(g, "slope", 3, D(16, 1, 1), -.5, .5), ACT(g, 16, 5, 5));
    op->binop = BB_BIN_PRELU;
    g->output = conv(g, op->out, 8, 1, 1, W1);
    run_with(g, "prelu on blocked", (run_opts){-2, 2, 1e-5, 0, BB_PREC_FP32, 0});
    const struct { int nd; int64_t d[3]; } slopes[] = {{1, {4}}, {1, {1}}, {2, {3, 1}}, {0, {0}}};
    for (size_t i = 0; i < sizeof slopes / sizeof *slopes; i++) {
        g = INPUT(3, 4);
        int sl = slopes[i].nd ? cst(g, "slope", slopes[i].nd, slopes[i].d, -.5, .5)
                              : slice(g, g->input, ZEROS, ONES, ACT(g, 1, 4)); /* [N,1,4] */
        op = op2(g, BB_OP_BINARY, "prelu", g->input, sl, ACT(g, 3, 4));
        op->binop = BB_BIN_PRELU;
        g->output = op->out;
        char what[64];
        snprintf(what, sizeof what, "prelu, slope %zu", i);
        run_with(g, what, (run_opts){-2, 2, 1e-5, 0, BB_PREC_FP32, 0});
    }
}

/* on x [N,2,4,4] and s = x[:, :1]: x@s, s@x (batch broadcast either way),
 * x@[4,6] (packed weights), x@[2,4,3], [3,4]@x, [4]@x, x@[4] (rank 1) */
static void test_matmul(void **state)
{
    (void)state;
    for (int v = 0; v < 7; v++) {
        bb_graph *g = INPUT(2, 4, 4);
        int x = g->input, s = slice(g, x, ZEROS, ONES, ACT(g, 1, 4, 4));
        int a[7] = {x, s, x, x, CST(g, 3, 4), CST(g, 4), x};
        int c[7] = {s, x, CST(g, 4, 6), CST(g, 2, 4, 3), x, x, CST(g, 4)};
        int y[7] = {ACT(g, 2, 4, 4), ACT(g, 2, 4, 4), ACT(g, 2, 4, 6), ACT(g, 2, 4, 3), ACT(g, 2, 3, 4),
                    ACT(g, 2, 4), ACT(g, 2, 4)};
        g->output = op2(g, BB_OP_MATMUL, "matmul", a[v], c[v], y[v])->out;
        char what[32];
        snprintf(what, sizeof what, "matmul case %d", v);
        run(g, what);
    }
}

/* perms that move the batch axis (full-rank tensors; at batch 1 the first
 * moves no bytes: a reshape), NCHW -> NHWC of a conv's blocked output, and
 * perms that never move bytes, of a tensor read twice */
static void test_transpose(void **state)
{
    (void)state;
    bb_graph *g = INPUT(3, 4, 5);
    int x = transpose(g, g->input, (const int[R]){1, 0, 2, 3}, FR(g, 1, 3, 1, 4, 5));
    x = transpose(g, act_op(g, x, BB_ACT_EXP, 0, 0), (const int[R]){2, 1, 0, 3}, FR(g, 1, 4, 1, 3, 5));
    g->output = transpose(g, x, (const int[R]){1, 3, 0, 2}, ACT(g, 5, 4, 3));
    run(g, "transposes through batch axis 1");
    g = INPUT(3, 5, 6);
    g->output = transpose(g, conv(g, g->input, 16, 1, 1, W3), (const int[R]){0, 2, 3, 1}, ACT(g, 5, 6, 16));
    run(g, "transpose of blocked");
    g = INPUT(1, 6); /* moves no bytes at any batch: a reshape, of a tensor read again */
    int r = act_op(g, g->input, BB_ACT_RELU, 0, 0);
    x = transpose(g, r, (const int[R]){0, 2, 1}, ACT(g, 6, 1));
    g->output = op2(g, BB_OP_BINARY, "mul", x, transpose(g, r, (const int[R]){0, 2, 1}, ACT(g, 6, 1)), ACT(g, 6, 1))->out;
    g->ops[g->n_ops - 1].binop = BB_BIN_MUL;
    run(g, "transposes that move no bytes");
}

/* A reshape shares its input's bytes only when the input dies there: here
 * a residual is summed in place into a reshape of `a` while `a` is read
 * later (must be a copy), a reshape of the graph input (a copy), and a
 * chain of reshapes of dying tensors (views: no step). */
static bb_graph *reshape_graph(void)
{
    bb_graph *g = INPUT(4, 6, 6);
    int a = act_op(g, g->input, BB_ACT_RELU, 0, 0);
    int v = op1(g, BB_OP_RESHAPE, "reshape", a, ACT(g, 4, 6, 6))->out;
    int s = add(g, conv(g, a, 4, 1, 1, W3), v); /* fused: conv sums into v */
    int r = op1(g, BB_OP_RESHAPE, "reshape", add(g, s, a), ACT(g, 144))->out;
    r = op1(g, BB_OP_RESHAPE, "reshape", r, ACT(g, 4, 36))->out;
    g->output = add(g, r, op1(g, BB_OP_RESHAPE, "reshape", g->input, ACT(g, 4, 36))->out);
    return g;
}

static void test_reshape(void **state)
{
    (void)state;
    run(reshape_graph(), "reshapes");
    bb_graph *g = reshape_graph();
    bb_fuse(g);
    bb_backend *b = NULL;
    bb_err err = {0};
    bb_run_config layers = {.threads = 2};
    layers.options.value[BB_OPT_CPU_SPLIT] = 2; /* one plan at batch 2, not two parts of 1 */
    assert_int_equal(bb_cpu_backend.prepare(&b, g, 2, &layers, &err), 0);
    int copies = 0;
    for (int i = 0; i < b->n_steps; i++)
        copies += b->steps[i].kernel == K_COPY;
    assert_int_equal(copies, 2);
    bb_cpu_backend.destroy(b);
    bb_graph_free(g);
}

/* concat of 3 conv outputs (blocked) along channels: 16 / 8 / 24 channels
 * (not block-aligned: dense), then 16 / 32 / 16 (in the blocked layout);
 * a constant class token expanded to [N,1,4] and concatenated with x
 * [N,3,4], plus x[:, :1] expanded to [N,4,4] */
static void test_concat_expand(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        bb_graph *g = v ? INPUT(16, 8, 8) : INPUT(3, 8, 8);
        int c1 = conv(g, g->input, 16, 1, 1, W3), c2 = conv(g, g->input, v ? 32 : 8, 1, 1, W1);
        int c3 = conv(g, g->input, v ? 16 : 24, 1, 1, W3);
        bb_op *op = op1(g, BB_OP_CONCAT, "concat", c1, ACT(g, v ? 64 : 48, 8, 8));
        op->n_in = 3, op->in[1] = c2, op->in[2] = c3, op->axis = 1;
        g->output = conv(g, op->out, 8, 1, 1, W1);
        run(g, v ? "concat of 3 convs, aligned" : "concat of 3 convs");
    }
    bb_graph *g = INPUT(3, 4);
    int cls = op1(g, BB_OP_EXPAND, "expand", cst(g, "cls", 3, D(1, 1, 4), -1, 1), ACT(g, 1, 4))->out;
    bb_op *op = op2(g, BB_OP_CONCAT, "concat", cls, g->input, ACT(g, 4, 4));
    op->axis = 1;
    int e = op1(g, BB_OP_EXPAND, "expand", slice(g, g->input, ZEROS, ONES, ACT(g, 1, 4)), ACT(g, 4, 4))->out;
    g->output = add(g, op->out, e);
    run(g, "expand + concat");
}

/* steps 1 (submemory), steps 2 and -3 (walk), a conv's blocked channels cut
 * inside a block and at one */
static void test_slice(void **state)
{
    (void)state;
    bb_graph *g = INPUT(6, 7, 8);
    g->output = slice(g, g->input, (const int64_t[R]){0, 1, 2, 1}, ONES, ACT(g, 4, 5, 6));
    run(g, "slice steps 1");
    g = INPUT(6, 7, 8);
    g->output = slice(g, g->input, (const int64_t[R]){0, 0, 1, 7}, (const int64_t[R]){1, 2, 1, -3}, ACT(g, 3, 6, 3));
    run(g, "slice steps 2 and -3");
    for (int64_t c0 = 5; c0 <= 16; c0 += 11) {
        g = INPUT(3, 5, 5);
        g->output = slice(g, conv(g, g->input, 32, 1, 1, W3), (const int64_t[R]){0, c0, 1, 0}, ONES, ACT(g, 16, 4, 5));
        run(g, c0 == 5 ? "slice of blocked, inside a block" : "slice of blocked, at a block");
    }
}

/* softmax on the last and a middle axis; mean over axes {1}, {2,3}, {1,3}
 * and over H, W of a conv's blocked output; sums over {1} (our kernel) and
 * {1,3} (oneDNN's); a pad with negative pads */
static void test_softmax_reduce_pad(void **state)
{
    (void)state;
    for (int axis = 1; axis <= 3; axis += 2)
        for (int log = 0; log < 2; log++) {
            bb_graph *g = INPUT(3, 4, 5);
            bb_op *op = op1(g, BB_OP_SOFTMAX, "softmax", g->input, ACT(g, 3, 4, 5));
            g->output = op->out, op->axis = axis, op->log_softmax = log;
            char what[64];
            snprintf(what, sizeof what, "%s %s axis", log ? "log-softmax" : "softmax", axis == 3 ? "last" : "middle");
            run(g, what);
        }
    /* log-softmax where the softmax underflows to 0 (spread 200): finite */
    for (int axis = 1; axis <= 3; axis += 2) {
        bb_graph *g = INPUT(3, 4, 5);
        bb_op *op = op1(g, BB_OP_SOFTMAX, "logsoftmax", g->input, ACT(g, 3, 4, 5));
        g->output = op->out, op->axis = axis, op->log_softmax = 1;
        run_with(g, axis == 3 ? "log-softmax, wide, last axis" : "log-softmax, wide, middle axis",
                 (run_opts){-100, 100, 1e-5, 0, BB_PREC_FP32, 0});
    }
    const unsigned masks[6] = {0x2, 0xc, 0xa, 0xc, 0x2, 0xa};
    for (int m = 0; m < 6; m++) {
        bb_graph *g = m != 3 ? INPUT(3, 4, 5) : INPUT(3, 5, 5);
        int x = m != 3 ? g->input : conv(g, g->input, 16, 1, 1, W3);
        const int64_t *d = g->tensors[x].dims; /* per item: axis i + 1 */
        bb_op *op = op1(g, BB_OP_REDUCE_MEAN, "mean", x,
                        ACT(g, masks[m] & 2 ? 1 : d[0], masks[m] & 4 ? 1 : d[1], masks[m] & 8 ? 1 : d[2]));
        g->output = op->out, op->axes_mask = masks[m], op->reduce_sum = m >= 4;
        run(g, m < 3 ? "reduce mean" : m == 3 ? "reduce mean of blocked over H, W" : "reduce sum");
    }
    bb_graph *g = INPUT(3, 4, 5);
    bb_op *op = op1(g, BB_OP_PAD, "pad", g->input, ACT(g, 4, 5, 6));
    memcpy(op->pads, (const int64_t[8]){0, 1, -1, 2, 0, 0, 2, -1}, 8 * sizeof(int64_t));
    g->output = op->out, op->alpha = .5f;
    run(g, "pad (negative pads crop)");
}

static int count_ops(const bb_graph *g, bb_op_type type)
{
    int n = 0;
    for (int i = 0; i < g->n_ops; i++)
        n += g->ops[i].type == type;
    return n;
}

/* x [N,C,H,W] zero-padded on H, W by p = {top, left, bottom, right} */
static int zero_pad(bb_graph *g, int x, const int64_t *p)
{
    const int64_t *d = g->tensors[x].dims;
    bb_op *op = op1(g, BB_OP_PAD, "pad", x, ACT(g, d[0], d[1] + p[0] + p[2], d[2] + p[1] + p[3]));
    op->pads[2] = p[0], op->pads[3] = p[1], op->pads[6] = p[2], op->pads[7] = p[3];
    return op->out;
}

/* The fusion pass moves a zero Pad into the conv or unpadded average pool
 * that alone reads it (the pool then counts its padding, as torch.onnx's
 * Pad + AveragePool for count_include_pad did) and drops one that pads
 * nothing; a Pad whose value is not 0, or read twice, stays. Each graph is
 * fused once here to see which ops remain, and built again to be run
 * against the reference. */
static void test_pad_folding(void **state)
{
    (void)state;
    for (int v = 0; v < 5; v++) {
        bb_graph *gs[2];
        for (int k = 0; k < 2; k++) {
            bb_graph *g = INPUT(3, 6, 7);
            int x = conv(g, g->input, 16, 1, 1, W3);
            int p = zero_pad(g, x, v == 2 ? D(0, 0, 0, 0) : D(1, 2, 0, 1));
            if (v == 3)
                g->ops[g->n_ops - 1].alpha = .25f;
            if (v == 1) {
                g->output = conv(g, p, 8, 1, 1, (const int[]){3, 2, 1, 2, 1, 0, 1, 1, 1, 1});
            } else {
                const int64_t *d = g->tensors[p].dims;
                g->output = pool(g, BB_OP_AVGPOOL, p, ACT(g, 16, (d[1] - 3) / 2 + 1, (d[2] - 2) + 1),
                                 (const int[]){3, 2, 2, 1, 0, 0, 0, 0, 1, 1}, 0);
                if (v == 4)
                    g->output = add(g, g->output, pool(g, BB_OP_AVGPOOL, p, like(g, g->output),
                                                       (const int[]){3, 2, 2, 1, 0, 0, 0, 0, 1, 1}, 1));
            }
            gs[k] = g;
        }
        static const char *what[5] = {"zero pad into avg pool", "zero pad into conv", "pad of nothing",
                                      "pad of 0.25 (kept)", "pad read twice (kept)"};
        bb_fuse(gs[0]);
        assert_int_equal(count_ops(gs[0], BB_OP_PAD), v >= 3);
        if (v == 0) {
            const bb_op *pl = &gs[0]->ops[gs[0]->n_ops - 1];
            assert_int_equal(pl->type, BB_OP_AVGPOOL);
            assert_true(pl->count_include_pad && pl->pad_t == 1 && pl->pad_l == 2 && pl->pad_b == 0 && pl->pad_r == 1);
        }
        bb_graph_free(gs[0]);
        run(gs[1], what[v]);
    }
}

static int concat(bb_graph *g, const int *srcs, int n)
{
    const int64_t *d = g->tensors[srcs[0]].dims;
    int64_t c = 0;
    for (int i = 0; i < n; i++)
        c += g->tensors[srcs[i]].dims[0];
    bb_op *op = op1(g, BB_OP_CONCAT, "concat", srcs[0], ACT(g, c, d[1], d[2]));
    op->n_in = n, op->axis = 1;
    memcpy(op->in, srcs, sizeof(int) * (size_t)n);
    return op->out;
}

/* A dense block: x0, then each layer's conv reads the concat of all
 * earlier maps and the block ends with the concat of all of them
 * (variant 0); variant 1 also joins two sources in the other order, which
 * rules that group out; variant 2 sums a conv in place into the block's
 * concat, which rules in-place concats out. */
static bb_graph *dense_block(int variant)
{
    bb_graph *g = INPUT(3, 6, 5);
    int m[4];
    m[0] = conv(g, g->input, 16, 1, 1, W3);
    for (int k = 1; k < 4; k++)
        m[k] = conv(g, act_op(g, concat(g, m, k), BB_ACT_RELU, 0, 0), 16, 1, 1, W3);
    g->output = concat(g, m, 4);
    if (variant == 1)
        g->output = add(g, concat(g, (const int[]){m[1], m[0], m[2], m[3]}, 4), g->output);
    if (variant == 2)
        g->output = add(g, conv(g, m[3], 64, 1, 1, W1), g->output); /* summed in place into the concat */
    return g;
}

/* steps of kind `kind` in the backend prepared for g at batch n (g fused),
 * under cpu.algo=never: the measured policy races conv layouts by timing
 * (a 3-channel input's conv may pick nChw8c or NHWC on a loaded machine,
 * which costs its concat a copy, as cpu_concat_inplace.c says), so a count
 * taken under it depends on the machine's load; never keeps oneDNN's own
 * choices. */
static int steps_of(bb_graph *g, int64_t n, const char *kind)
{
    bb_backend *be = NULL;
    bb_err err = {0};
    bb_run_config cfg = {.threads = 2};
    cfg.options.value[BB_OPT_CPU_ALGO] = 2, cfg.options.source[BB_OPT_CPU_ALGO] = BB_OPT_FROM_FLAG; /* never */
    if (bb_cpu_backend.prepare(&be, g, n, &cfg, &err) != 0)
        fail_msg("prepare: %s", err.msg);
    int c = 0;
    for (int i = 0; i < be->n_steps; i++)
        c += !strcmp(be->steps[i].kind, kind);
    bb_cpu_backend.destroy(be);
    return c;
}

/* At batch 1 the block's concats are views of one buffer its convs write
 * into (cpu_concat_inplace.c): no concat step runs; at batch 3, and where
 * the order of the sources differs, they copy. The numbers match the
 * reference either way. */
static void test_concat_in_place(void **state)
{
    (void)state;
    static const char *what[3] = {"dense block", "dense block, sources reordered", "dense block, into a residual"};
    for (int v = 0; v < 3; v++) {
        bb_graph *g = dense_block(v);
        bb_fuse(g);
        int at1 = steps_of(g, 1, "concat"), at3 = steps_of(g, 3, "concat");
        if (at1 != (v == 0 ? 0 : v == 1 ? 5 : 4) || at3 != (v == 1 ? 5 : 4))
            fail_msg("%s: %d concat steps at batch 1, %d at batch 3", what[v], at1, at3);
        bb_graph_free(g);
        run(dense_block(v), what[v]);
    }
}

/* [N,3,8] -> [3,N,8] (full rank, batch axis 1) -> linear -> layer norm,
 * plus an add of two full-rank tensors */
static void test_linear_layernorm_full_rank(void **state)
{
    (void)state;
    bb_graph *g = INPUT(3, 8);
    int x = transpose(g, g->input, (const int[R]){1, 0, 2}, FR(g, 1, 3, 1, 8));
    bb_op *op = op1(g, BB_OP_LINEAR, "linear", x, FR(g, 1, 3, 1, 6));
    op->w = CST(g, 6, 8), op->b = CST(g, 6);
    op = op1(g, BB_OP_LAYERNORM, "ln", op->out, FR(g, 1, 3, 1, 6));
    op->w = CST(g, 6), op->b = CST(g, 6), op->eps = 1e-5f;
    g->output = add(g, op->out, act_op(g, op->out, BB_ACT_RELU, 0, 0));
    run(g, "linear + layernorm, full rank");
}

/* A ViT-like MLP: linears with bias and GELU, with a residual sum and
 * ReLU, and widths that are not a multiple of 8 (10, 6). */
static bb_graph *mlp(void)
{
    bb_graph *g = INPUT(13, 24);
    bb_op *op = op1(g, BB_OP_LINEAR, "fc1", g->input, ACT(g, 13, 40));
    op->w = CST(g, 40, 24), op->b = CST(g, 40);
    int x = act_op(g, op->out, BB_ACT_GELU, 0, 0);
    op = op1(g, BB_OP_LINEAR, "fc2", x, ACT(g, 13, 24));
    op->w = CST(g, 24, 40), op->b = CST(g, 24);
    x = act_op(g, add(g, op->out, g->input), BB_ACT_RELU, 0, 0);
    op = op1(g, BB_OP_LINEAR, "fc3", x, ACT(g, 13, 10));
    op->w = CST(g, 10, 24), op->b = CST(g, 10);
    op = op1(g, BB_OP_LINEAR, "fc4", op->out, ACT(g, 13, 6));
    op->w = CST(g, 6, 10), op->b = -1;
    g->output = op->out;
    return g;
}

/* The impls of the linear steps of g (fused) prepared at batch 1 (not
 * split between the threads) under cpu.algo = algo, into out. */
static void linear_impls(bb_graph *g, int algo, char *out, size_t len)
{
    bb_backend *be = NULL;
    bb_err err = {0};
    bb_run_config cfg = {.threads = 2};
    cfg.options.value[BB_OPT_CPU_ALGO] = (unsigned char)algo, cfg.options.source[BB_OPT_CPU_ALGO] = BB_OPT_FROM_FLAG;
    if (bb_cpu_backend.prepare(&be, g, 1, &cfg, &err) != 0)
        fail_msg("prepare: %s", err.msg);
    out[0] = 0;
    for (int i = 0; i < be->n_steps; i++)
        if (!strcmp(be->steps[i].kind, "linear"))
            snprintf(out + strlen(out), len - strlen(out), "%s ", be->steps[i].impl);
    bb_cpu_backend.destroy(be);
}

/* A linear layer each way the CPU backend runs one (cpu_linear.c): under
 * cpu.algo=always as a 1x1 conv over the rows seen as NHWC, never as
 * oneDNN's matmul, measured whichever is fastest; against the reference
 * each time. */
static void test_linear_ways(void **state)
{
    (void)state;
    static const char *what[3] = {"linears, measured", "linears, cpu.algo=always", "linears, cpu.algo=never"};
    for (int algo = 0; algo < 3; algo++)
        run_with(mlp(), what[algo], (run_opts){-2, 2, 1e-5, algo, BB_PREC_FP32, 0});
    char impls[2][400];
    for (int algo = 1; algo < 3; algo++) {
        bb_graph *g = mlp();
        bb_fuse(g);
        linear_impls(g, algo, impls[algo - 1], sizeof impls[0]);
        bb_graph_free(g);
    }
    /* never: oneDNN's matmul, "gemm:jit" on AVX2, "brg:avx512_core" on AVX-512; no conv, no reference code */
    if (!strstr(impls[0], "1x1") || strstr(impls[1], "conv") || strstr(impls[1], "ref") ||
        (!strstr(impls[1], "gemm") && !strstr(impls[1], "brg:")))
        fail_msg("linear impls: always '%s', never '%s'", impls[0], impls[1]);
}

/* An LSTM or GRU direction (BB_OP_LSTM, BB_OP_GRU) after the linear that
 * gives its input gates, each way cpu_rnn.c runs one: hidden size 20 (a
 * whole panel of 16 units and a part) on one thread; 128 with 1 and 3 rows,
 * and 160 (an LSTM's R of 400 KB) with 8 and 24 rows (the threads share
 * each step's panels and wait for each other); 40 with 8 and 24 rows (each
 * thread its own rows); forward and reverse; a GRU with and without R's
 * bias of h; the last two also on 5 threads (more than a step's panels
 * or rows have for them). R is drawn as torch initialises it. The cells'
 * sigmoid and tanh are libmvec's, within a few ulp. */
static void test_rnn(void **state)
{
    (void)state;
    static const struct { int64_t h, per; int reverse, gru, rb; } cases[] = {
        {20, 1, 0, 0, 0}, {20, 1, 1, 0, 0}, {128, 1, 0, 0, 0}, {40, 8, 1, 0, 0}, {160, 8, 1, 0, 0},
        {20, 1, 1, 1, 1}, {128, 1, 0, 1, 1}, {40, 8, 0, 1, 0}, {160, 8, 1, 1, 1}};
    for (size_t v = 0; v < sizeof cases / sizeof *cases; v++) {
        const int64_t h = cases[v].h, seq = 5, in = 6, gh = (cases[v].gru ? 3 : 4) * h, per = cases[v].per;
        bb_graph *g = per == 1 ? INPUT(seq, in) : INPUT(per, seq, in);
        const int gates = per == 1 ? ACT(g, seq, gh) : ACT(g, per, seq, gh);
        bb_op *op = op1(g, BB_OP_LINEAR, "gates", g->input, gates);
        op->w = CST(g, gh, in), op->b = CST(g, gh);
        const int y = per == 1 ? ACT(g, seq, h) : ACT(g, per, seq, h);
        op = op1(g, cases[v].gru ? BB_OP_GRU : BB_OP_LSTM, "rnn", gates, y);
        const double bound = 1.0 / sqrt((double)h); /* R as torch initialises it: U(-1/sqrt(H), 1/sqrt(H)) */
        op->w = cst(g, "r", 2, (const int64_t[]){gh, h}, -bound, bound);
        op->b = cases[v].rb ? CST(g, h) : -1, op->reverse = cases[v].reverse;
        g->output = op->out;
        char what[80];
        snprintf(what, sizeof what, "%s, hidden %lld, %lld rows per item%s%s", cases[v].gru ? "gru" : "lstm",
                 (long long)h, (long long)per, cases[v].reverse ? ", reverse" : "", cases[v].rb ? ", R bias" : "");
        run_with(g, what, (run_opts){-2, 2, 1e-5, 0, BB_PREC_FP32, v + 2 >= sizeof cases / sizeof *cases ? 5 : 2});
    }
}

/* transposes, a matmul and a softmax in bf16 (where the CPU runs it): the
 * generic ops compute in fp32 inside a bf16 model, whose convs and pools
 * then take their fp32 outputs. A CPU without AVX512-BF16 or AMX must
 * refuse bf16 at prepare, saying so, rather than emulate it. */
static void test_bf16(void **state)
{
    (void)state;
    bb_graph *g = INPUT(3, 6, 6);
    int x = transpose(g, conv(g, g->input, 16, 1, 1, W3), (const int[R]){0, 2, 3, 1}, ACT(g, 6, 6, 16));
    x = op2(g, BB_OP_MATMUL, "matmul", x, CST(g, 16, 8), ACT(g, 6, 6, 8))->out;
    bb_op *op = op1(g, BB_OP_SOFTMAX, "softmax", x, ACT(g, 6, 6, 8));
    op->axis = 3;
    x = transpose(g, op->out, (const int[R]){0, 3, 1, 2}, ACT(g, 8, 6, 6));
    x = pool(g, BB_OP_AVGPOOL, conv(g, x, 16, 1, 1, W3), ACT(g, 16, 3, 3), (const int[]){2, 2, 2, 2, 0, 0, 0, 0, 1, 1}, 0);
    g->output = batchnorm(g, x, 16);
    if (bb_cpu_has_bf16()) {
        run_with(g, "bf16", (run_opts){-2, 2, 3e-2, 0, BB_PREC_BF16, 0});
        return;
    }
    bb_fuse(g);
    bb_backend *b = (bb_backend *)g;
    bb_err err = {0};
    bb_run_config cfg = {.threads = 2, .precision = BB_PREC_BF16};
    int rc = bb_cpu_backend.prepare(&b, g, 2, &cfg, &err);
    bb_graph_free(g);
    assert_int_equal(rc, -1);
    assert_null(b);
    if (!strstr(err.msg, "--precision bf16") || !strstr(err.msg, "use fp32"))
        fail_msg("bf16 refused without saying why: '%s'", err.msg);
}

/* Unsupported combinations: prepare fails with the op's label. */
static void expect_error(bb_graph *g, const char *label)
{
    bb_fuse(g);
    bb_backend *b = (bb_backend *)g;
    bb_err err = {0};
    assert_int_equal(bb_cpu_backend.prepare(&b, g, 2, NULL, &err), -1);
    assert_null(b);
    if (!strstr(err.msg, label))
        fail_msg("error '%s' does not name '%s'", err.msg, label);
    bb_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    bb_graph *g = INPUT(3, 4);
    g->output = op2(g, BB_OP_BINARY, "bad_bcast", g->input, CST(g, 3), ACT(g, 3, 4))->out;
    expect_error(g, "bad_bcast");
    g = INPUT(3, 4);
    g->output = transpose(g, g->input, (const int[R]){0, 0, 1}, ACT(g, 3, 4));
    expect_error(g, "transpose");
    g = INPUT(3, 6, 6); /* the fusion pass leaves a clip apart (it has bounds) ... */
    g->output = act_op(g, conv(g, g->input, 8, 1, 1, W3), BB_ACT_CLIP, 0, 1);
    bb_fuse(g);
    assert_int_equal(g->n_ops, 2);
    g->ops[0].post_act = BB_ACT_CLIP; /* ... and a conv given one by hand is refused, not run without them */
    g->ops[0].out = g->output;
    g->n_ops = 1;
    expect_error(g, "conv");
    g = INPUT(3, 4);
    g->output = op1(g, BB_OP_SOFTMAX, "sm_const", CST(g, 3, 4), ACT(g, 3, 4))->out;
    expect_error(g, "sm_const");
    g = INPUT(2, 4, 4);
    g->output = op2(g, BB_OP_MATMUL, "mm_bad", g->input, CST(g, 5, 3), ACT(g, 2, 4, 3))->out;
    expect_error(g, "mm_bad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv), cmocka_unit_test(test_narrow_groups),      cmocka_unit_test(test_pools),         cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_acts),      cmocka_unit_test(test_binary),        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_transpose), cmocka_unit_test(test_reshape),       cmocka_unit_test(test_concat_expand),
        cmocka_unit_test(test_slice),     cmocka_unit_test(test_softmax_reduce_pad), cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_pad_folding),
        cmocka_unit_test(test_concat_in_place),
        cmocka_unit_test(test_linear_layernorm_full_rank), cmocka_unit_test(test_linear_ways), cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_rnn),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("generic_ops", tests, NULL, NULL);
}
