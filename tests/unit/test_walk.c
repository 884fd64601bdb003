/*
 * test_walk.c — engine/walk.h's descriptions against the ops written out
 * index by index.
 *
 * Why this file exists: the CUDA backend runs slices, pads, expands,
 * transposes and broadcast binary ops as walks evaluated element by
 * element with bb_walk_offset (cuda_generic_kernels.cu), and no GPU is here to run
 * them. The same function on the CPU, over every output element, must give
 * what the op means; and bb_walk_simplify must not change the result. The
 * mean reduction's pair of walks (bb_walk_reduce) likewise.
 * Random shapes (seeded), every op kind, with and without simplification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/walk.h"

#define R BB_WALK_DIMS
#define CASES 400
#define BIG 65536 /* elements: a 5-d output of 8s (4 + pads of 2 and 2) fits */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static int rnd(uint64_t *s, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

static int64_t numel(int nd, const int64_t *d)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= d[i];
    return n;
}

/* index of element e of dims d, row-major */
static void unflatten(int nd, const int64_t *d, int64_t e, int64_t *idx)
{
    for (int i = nd - 1; i >= 0; i--) {
        idx[i] = e % d[i];
        e /= d[i];
    }
}

static int64_t flatten(int nd, const int64_t *d, const int64_t *idx)
{
    int64_t e = 0;
    for (int i = 0; i < nd; i++)
        e = e * d[i] + idx[i];
    return e;
}

static float binop(bb_binop op, float a, float b)
{
    return op == BB_BIN_ADD ? a + b : op == BB_BIN_SUB ? a - b : op == BB_BIN_MUL ? a * b : a / b;
}

/* The walk evaluated as the CUDA kernel does, element by element. */
static void run_walk(const bb_walk *w, const float *a, const float *b, float *y)
{
    for (int64_t e = 0; e < bb_walk_numel(w); e++) {
        int in0, in1;
        int64_t o0 = bb_walk_offset(w, 0, e, &in0);
        if (w->mode == BB_WALK_PAD && !in0)
            y[e] = w->value;
        else if (w->mode == BB_WALK_BINARY)
            y[e] = binop(w->binop, a[o0], b[bb_walk_offset(w, 1, e, &in1)]);
        else
            y[e] = a[o0];
    }
}

/* y by the walk, then by the simplified walk (not for pads): both must
 * equal want. */
static void check_walk(bb_walk *w, const float *a, const float *b, const float *want, int64_t n)
{
    static float y[BIG];
    assert_int_equal(bb_walk_numel(w), n);
    run_walk(w, a, b, y);
    assert_memory_equal(y, want, (size_t)n * sizeof(float));
    bb_walk s = *w;
    bb_walk_simplify(&s);
    assert_true(s.nd <= w->nd);
    memset(y, 0, sizeof y);
    run_walk(&s, a, b, y);
    assert_memory_equal(y, want, (size_t)n * sizeof(float));
}

static void random_shape(uint64_t *s, int *nd, int64_t *d)
{
    *nd = rnd(s, 1, 5);
    for (int i = 0; i < *nd; i++)
        d[i] = rnd(s, 1, 4);
}

/* A walk writing o from one source read densely as d. */
static void start_walk(bb_walk *w, bb_walk_mode mode, int nd, const int64_t *o, const int64_t *d)
{
    bb_walk_init(w, mode, nd, o);
    bb_walk_source(w, 0, d);
}

static void fill(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(i + 1);
}

/* The source index of output index idx on axis i of a slice or a reflect
 * / edge pad (op's starts and steps, or pads and pad_mode). */
typedef int64_t (*source_index)(const bb_op *op, int nd, int i, int64_t idx, const int64_t *d);

/* A slice or a mirroring pad of an input of 1, 2, ... (shape d) into o,
 * against the element source() names for every output index. */
static void check_gather(bb_walk_mode mode, const bb_op *op, int nd, const int64_t *o, const int64_t *d,
                         source_index source)
{
    static float x[BIG], want[BIG];
    int64_t idx[R], src[R];
    fill(x, numel(nd, d));
    for (int64_t e = 0; e < numel(nd, o); e++) {
        unflatten(nd, o, e, idx);
        for (int i = 0; i < nd; i++)
            src[i] = source(op, nd, i, idx[i], d);
        want[e] = x[flatten(nd, d, src)];
    }
    bb_walk w;
    start_walk(&w, mode, nd, o, d);
    assert_int_equal(mode == BB_WALK_PAD ? bb_walk_pad(&w, op, d) : bb_walk_slice(&w, op, d), 0);
    check_walk(&w, x, NULL, want, numel(nd, o));
}

static int64_t slice_source(const bb_op *op, int nd, int i, int64_t idx, const int64_t *d)
{
    (void)nd, (void)d;
    return op->starts[i] + idx * op->steps[i];
}

/* reflect: mirrored about the first and last element; edge: clamped */
static int64_t mirror_source(const bb_op *op, int nd, int i, int64_t idx, const int64_t *d)
{
    int64_t j = idx - op->pads[i], n = d[i];
    (void)nd;
    if (op->pad_mode == BB_PAD_EDGE)
        return j < 0 ? 0 : j >= n ? n - 1 : j;
    return j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;
}

static void test_transpose(void **state)
{
    (void)state;
    uint64_t s = 11;
    static float x[BIG], want[BIG];
    for (int c = 0; c < CASES; c++) {
        int nd, perm[R];
        int64_t d[R], o[R], idx[R], src[R];
        random_shape(&s, &nd, d);
        for (int i = 0; i < nd; i++)
            perm[i] = i;
        for (int i = nd - 1; i > 0; i--) { /* Fisher-Yates */
            int j = rnd(&s, 0, i), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        for (int i = 0; i < nd; i++)
            o[i] = d[perm[i]];
        fill(x, numel(nd, d));
        for (int64_t e = 0; e < numel(nd, o); e++) {
            unflatten(nd, o, e, idx);
            for (int i = 0; i < nd; i++)
                src[perm[i]] = idx[i];
            want[e] = x[flatten(nd, d, src)];
        }
        bb_walk w;
        bb_walk_init(&w, BB_WALK_GATHER, nd, o);
        assert_int_equal(bb_walk_transpose(&w, perm, d), 0);
        check_walk(&w, x, NULL, want, numel(nd, o));
    }
    /* not a permutation, or a wrong output shape */
    int64_t d[2] = {2, 3}, o[2] = {3, 2};
    int twice[2] = {0, 0}, same[2] = {0, 1};
    bb_walk w;
    bb_walk_init(&w, BB_WALK_GATHER, 2, o);
    assert_int_equal(bb_walk_transpose(&w, twice, d), -1);
    assert_int_equal(bb_walk_transpose(&w, same, d), -1);
}

static void test_slice(void **state)
{
    (void)state;
    uint64_t s = 12;
    for (int c = 0; c < CASES; c++) {
        int nd;
        int64_t d[R], o[R];
        bb_op op;
        memset(&op, 0, sizeof op);
        random_shape(&s, &nd, d);
        for (int i = 0; i < nd; i++) {
            int64_t step = rnd(&s, 1, 2) * (rnd(&s, 0, 1) ? -1 : 1);
            int64_t start = rnd(&s, 0, (int)d[i] - 1);
            int64_t room = step > 0 ? (d[i] - 1 - start) / step : start / -step;
            op.starts[i] = start, op.steps[i] = step, o[i] = 1 + rnd(&s, 0, (int)room);
        }
        check_gather(BB_WALK_GATHER, &op, nd, o, d, slice_source);
    }
    /* leaving the input */
    int64_t d[1] = {4}, o[1] = {3};
    bb_op op;
    memset(&op, 0, sizeof op);
    op.starts[0] = 2, op.steps[0] = 1;
    bb_walk w;
    start_walk(&w, BB_WALK_GATHER, 1, o, d);
    assert_int_equal(bb_walk_slice(&w, &op, d), -1);
}

static void test_pad(void **state)
{
    (void)state;
    uint64_t s = 13;
    static float x[BIG], want[BIG];
    for (int c = 0; c < CASES; c++) {
        int nd;
        int64_t d[R], o[R], idx[R], src[R];
        bb_op op;
        memset(&op, 0, sizeof op);
        random_shape(&s, &nd, d);
        op.alpha = -7.f;
        for (int i = 0; i < nd; i++) { /* negative pads crop, never below one element */
            op.pads[i] = rnd(&s, d[i] > 1 ? -1 : 0, 2);
            op.pads[nd + i] = rnd(&s, d[i] + op.pads[i] > 1 ? -1 : 0, 2);
            o[i] = d[i] + op.pads[i] + op.pads[nd + i];
        }
        fill(x, numel(nd, d));
        for (int64_t e = 0; e < numel(nd, o); e++) {
            int inside = 1;
            unflatten(nd, o, e, idx);
            for (int i = 0; i < nd; i++) {
                src[i] = idx[i] - op.pads[i];
                inside &= src[i] >= 0 && src[i] < d[i];
            }
            want[e] = inside ? x[flatten(nd, d, src)] : op.alpha;
        }
        bb_walk w;
        start_walk(&w, BB_WALK_PAD, nd, o, d);
        assert_int_equal(bb_walk_pad(&w, &op, d), 0);
        check_walk(&w, x, NULL, want, numel(nd, o));
    }
    int64_t d[1] = {4}, o[1] = {5};
    bb_op op;
    memset(&op, 0, sizeof op);
    op.pads[0] = 2; /* 4 + 2 != 5 */
    bb_walk w;
    start_walk(&w, BB_WALK_PAD, 1, o, d);
    assert_int_equal(bb_walk_pad(&w, &op, d), -1);
}

static void test_pad_reflect_edge(void **state)
{
    (void)state;
    uint64_t s = 17;
    for (int c = 0; c < 2 * CASES; c++) {
        int nd;
        int64_t d[R], o[R];
        bb_op op;
        memset(&op, 0, sizeof op);
        op.pad_mode = c % 2 ? BB_PAD_EDGE : BB_PAD_REFLECT;
        random_shape(&s, &nd, d);
        for (int i = 0; i < nd; i++) { /* reflect: at most the axis less one */
            int64_t most = op.pad_mode == BB_PAD_REFLECT ? (d[i] - 1 < 2 ? d[i] - 1 : 2) : 2;
            op.pads[i] = rnd(&s, 0, (int)most), op.pads[nd + i] = rnd(&s, 0, (int)most);
            o[i] = d[i] + op.pads[i] + op.pads[nd + i];
        }
        check_gather(BB_WALK_PAD, &op, nd, o, d, mirror_source);
    }
    int64_t d[1] = {3}, o[1] = {6};
    bb_op op;
    memset(&op, 0, sizeof op);
    op.pad_mode = BB_PAD_REFLECT;
    op.pads[0] = 3; /* reflect past the far end: refused */
    bb_walk w;
    start_walk(&w, BB_WALK_PAD, 1, o, d);
    assert_int_equal(bb_walk_pad(&w, &op, d), -1);
    op.pad_mode = BB_PAD_EDGE; /* edge repeats the first element as often as asked */
    start_walk(&w, BB_WALK_PAD, 1, o, d);
    assert_int_equal(bb_walk_pad(&w, &op, d), 0);
}

/* Expand and binary: sources whose axes are 1 where the output's are not. */
static void test_broadcast(void **state)
{
    (void)state;
    uint64_t s = 14;
    static float a[BIG], b[BIG], want[BIG], want2[BIG];
    for (int c = 0; c < CASES; c++) {
        int nd;
        int64_t o[R], sa[R], sb[R], idx[R], ia[R], ib[R];
        random_shape(&s, &nd, o);
        for (int i = 0; i < nd; i++) {
            sa[i] = rnd(&s, 0, 2) ? o[i] : 1;
            sb[i] = rnd(&s, 0, 2) ? o[i] : 1;
        }
        assert_true(bb_broadcasts_to(nd, sa, o) && bb_broadcasts_to(nd, sb, o));
        fill(a, numel(nd, sa));
        for (int64_t i = 0; i < numel(nd, sb); i++)
            b[i] = 0.5f + (float)i;
        bb_binop op = (bb_binop)rnd(&s, BB_BIN_ADD, BB_BIN_DIV);
        for (int64_t e = 0; e < numel(nd, o); e++) {
            unflatten(nd, o, e, idx);
            for (int i = 0; i < nd; i++)
                ia[i] = sa[i] == 1 ? 0 : idx[i], ib[i] = sb[i] == 1 ? 0 : idx[i];
            want[e] = a[flatten(nd, sa, ia)];
            want2[e] = binop(op, want[e], b[flatten(nd, sb, ib)]);
        }
        bb_walk w;
        bb_walk_init(&w, BB_WALK_GATHER, nd, o);
        bb_walk_source(&w, 0, sa);
        check_walk(&w, a, NULL, want, numel(nd, o));
        bb_walk_init(&w, BB_WALK_BINARY, nd, o);
        w.n_src = 2, w.binop = op;
        bb_walk_source(&w, 0, sa);
        bb_walk_source(&w, 1, sb);
        check_walk(&w, a, b, want2, numel(nd, o));
    }
    int64_t s3[2] = {3, 1}, o2[2] = {2, 4};
    assert_false(bb_broadcasts_to(2, s3, o2));
}

/* Mean over random axes: the kept walk's base plus the box walk. */
static void test_reduce(void **state)
{
    (void)state;
    uint64_t s = 15;
    static float x[BIG];
    for (int c = 0; c < CASES; c++) {
        int nd;
        int64_t d[R], o[R], idx[R], src[R];
        random_shape(&s, &nd, d);
        unsigned mask = (unsigned)rnd(&s, 0, (1 << nd) - 1);
        for (int i = 0; i < nd; i++)
            o[i] = (mask >> i) & 1u ? 1 : d[i];
        for (int64_t i = 0; i < numel(nd, d); i++)
            x[i] = (float)((i * 7) % 13);
        bb_walk kept, box;
        assert_int_equal(bb_walk_reduce(&kept, &box, mask, nd, d, o), 0);
        assert_int_equal(bb_walk_numel(&kept), numel(nd, o));
        for (int64_t e = 0; e < numel(nd, o); e++) {
            double want = 0;
            int64_t count = 0;
            for (int64_t f = 0; f < numel(nd, d); f++) { /* every input element that maps to e */
                unflatten(nd, d, f, src);
                for (int i = 0; i < nd; i++)
                    idx[i] = (mask >> i) & 1u ? 0 : src[i];
                if (flatten(nd, o, idx) == e)
                    want += x[f], count++;
            }
            int in;
            double got = 0;
            int64_t base = bb_walk_offset(&kept, 0, e, &in);
            for (int64_t j = 0; j < bb_walk_numel(&box); j++)
                got += x[base + bb_walk_offset(&box, 0, j, &in)];
            assert_int_equal(bb_walk_numel(&box), count);
            assert_true(got == want);
        }
    }
    int64_t d[2] = {2, 3}, o[2] = {2, 3};
    bb_walk kept, box;
    assert_int_equal(bb_walk_reduce(&kept, &box, 2u, 2, d, o), -1); /* axis 1 not kept as 1 */
    assert_int_equal(bb_walk_reduce(&kept, &box, 4u, 2, d, o), -1); /* no axis 2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_pad_reflect_edge),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_reduce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
