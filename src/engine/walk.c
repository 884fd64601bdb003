/*
 * walk.c — building the strided descriptions of walk.h from an op and its
 * shapes, and simplifying them, for both backends.
 */
#include "engine/walk.h"

#include <string.h>

void bb_walk_init(bb_walk *w, bb_walk_mode mode, int nd, const int64_t *dims)
{
    memset(w, 0, sizeof *w);
    w->mode = mode, w->nd = nd, w->n_src = 1;
    memcpy(w->dims, dims, sizeof(int64_t) * (size_t)nd);
}

void bb_walk_source(bb_walk *w, int k, const int64_t *s)
{
    int64_t st = 1;
    for (int i = w->nd - 1; i >= 0; i--) {
        w->st[k][i] = s[i] == 1 && w->dims[i] != 1 ? 0 : st;
        st *= s[i];
    }
    w->off[k] = 0;
}

int bb_walk_slice(bb_walk *w, const bb_op *op, const int64_t *d)
{
    for (int i = 0; i < w->nd; i++) {
        int64_t n = w->dims[i], first = op->starts[i], last = first + (n - 1) * op->steps[i];
        if (n <= 0 || op->steps[i] == 0 || first < 0 || first >= d[i] || last < 0 || last >= d[i])
            return -1;
    }
    for (int i = 0; i < w->nd; i++) {
        w->off[0] += op->starts[i] * w->st[0][i];
        w->st[0][i] *= op->steps[i];
    }
    return 0;
}

int bb_walk_pad(bb_walk *w, const bb_op *op, const int64_t *d)
{
    const int nd = w->nd;
    const int64_t *o = w->dims;
    for (int i = 0; i < nd; i++)
        if (o[i] != d[i] + op->pads[i] + op->pads[nd + i])
            return -1;
    w->value = op->alpha;
    w->pad_mode = op->pad_mode;
    for (int i = 0; i < nd && op->pad_mode != BB_PAD_CONSTANT; i++) {
        int64_t most = op->pad_mode == BB_PAD_REFLECT ? d[i] - 1 : d[i] > 0 ? INT64_MAX : 0;
        if (op->pads[i] < 0 || op->pads[nd + i] < 0 || op->pads[i] > most || op->pads[nd + i] > most)
            return -1;
    }
    for (int i = 0; i < nd; i++) {
        int64_t before = op->pads[i];
        w->lo[i] = before > 0 ? before : 0;
        w->hi[i] = before + d[i] < o[i] ? before + d[i] : o[i];
        w->off[0] -= before * w->st[0][i];
    }
    return 0;
}

int bb_walk_transpose(bb_walk *w, const int *perm, const int64_t *d)
{
    int64_t dense[BB_WALK_DIMS], st = 1;
    unsigned seen = 0;
    for (int i = w->nd - 1; i >= 0; i--) {
        dense[i] = st;
        st *= d[i];
    }
    for (int i = 0; i < w->nd; i++) {
        int p = perm[i];
        if (p < 0 || p >= w->nd || (seen & (1u << p)) || w->dims[i] != d[p])
            return -1;
        seen |= 1u << p;
        w->st[0][i] = dense[p];
    }
    w->off[0] = 0;
    return 0;
}

/* Axes (outer, inner) can run as one when every source steps through them
 * as through one axis. */
static int mergeable(const bb_walk *w, int outer, int inner)
{
    for (int k = 0; k < w->n_src; k++)
        if (w->st[k][outer] != w->st[k][inner] * w->dims[inner])
            return 0;
    return 1;
}

static void copy_axis(bb_walk *w, int to, int from)
{
    w->dims[to] = w->dims[from];
    for (int k = 0; k < w->n_src; k++)
        w->st[k][to] = w->st[k][from];
}

void bb_walk_simplify(bb_walk *w)
{
    if (w->mode == BB_WALK_PAD)
        return;
    int n = 0;
    for (int i = 0; i < w->nd; i++)
        if (w->dims[i] != 1)
            copy_axis(w, n++, i);
    if (n == 0) {
        w->dims[0] = 1;
        w->st[0][0] = w->st[1][0] = 0;
        w->nd = 1;
        return;
    }
    int m = 0;
    for (int i = 1; i < n; i++) {
        if (mergeable(w, m, i)) {
            w->dims[m] *= w->dims[i];
            for (int k = 0; k < w->n_src; k++)
                w->st[k][m] = w->st[k][i];
        } else {
            copy_axis(w, ++m, i);
        }
    }
    w->nd = m + 1;
}

int bb_walk_reduce(bb_walk *kept, bb_walk *box, unsigned mask, int nd, const int64_t *d, const int64_t *o)
{
    int64_t whole[BB_WALK_DIMS];
    if (nd < 1 || nd > BB_WALK_DIMS || (mask >> nd) != 0)
        return -1;
    for (int i = 0; i < nd; i++) {
        int reduced = (mask >> i) & 1u;
        if (o[i] != (reduced ? 1 : d[i]))
            return -1;
        whole[i] = reduced ? d[i] : 1;
    }
    bb_walk_init(kept, BB_WALK_GATHER, nd, o);
    bb_walk_source(kept, 0, d);
    bb_walk_init(box, BB_WALK_GATHER, nd, whole);
    bb_walk_source(box, 0, d);
    bb_walk_simplify(kept);
    bb_walk_simplify(box);
    return 0;
}

int64_t bb_walk_numel(const bb_walk *w)
{
    int64_t n = 1;
    for (int i = 0; i < w->nd; i++)
        n *= w->dims[i];
    return n;
}

int bb_shape_lead_ones(int n, const int64_t *s, int nd, int64_t *d)
{
    if (n > nd)
        return -1;
    for (int i = nd - 1, j = n - 1; i >= 0; i--, j--)
        d[i] = j >= 0 ? s[j] : 1;
    return 0;
}

int bb_broadcasts_to(int nd, const int64_t *s, const int64_t *o)
{
    for (int i = 0; i < nd; i++)
        if (s[i] != o[i] && s[i] != 1)
            return 0;
    return 1;
}

int bb_matmul_shapes(int na, const int64_t *a, int nc, const int64_t *c, int64_t *A, int64_t *B, int64_t *D)
{
    int64_t x[BB_WALK_DIMS + 1], y[BB_WALK_DIMS + 1];
    if (na < 1 || nc < 1 || na > BB_WALK_DIMS || nc > BB_WALK_DIMS)
        return -1;
    memcpy(x, a, sizeof(int64_t) * (size_t)na);
    memcpy(y, c, sizeof(int64_t) * (size_t)nc);
    if (na == 1)
        x[1] = x[0], x[0] = 1, na = 2;
    if (nc == 1)
        y[1] = 1, nc = 2;
    int nd = na > nc ? na : nc;
    bb_shape_lead_ones(na, x, nd, A);
    bb_shape_lead_ones(nc, y, nd, B);
    for (int i = 0; i < nd; i++) {
        if (i < nd - 2 && A[i] != B[i] && A[i] != 1 && B[i] != 1)
            return -1;
        D[i] = A[i] > B[i] ? A[i] : B[i];
    }
    D[nd - 2] = A[nd - 2], D[nd - 1] = B[nd - 1];
    return A[nd - 1] == B[nd - 2] ? nd : -1;
}
