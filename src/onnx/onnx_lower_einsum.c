/*
 * onnx_lower_einsum.c — an Einsum on activations lowered to the engine's
 * ops (the equation read by onnx_einsum.c): one matrix product between a
 * transpose and reshape of each operand and a reshape and transpose of the
 * result.
 *
 * Why it exists: the engine has no Einsum, and needs none. With X the
 * operand that is an activation (its batch axis's letter n) and Y the
 * other, every letter but n is one of: B, in X, Y and the output (a batch
 * of products); K, in X and Y only (summed); L, in X and the output; R, in
 * Y and the output. Then
 *   X -> [n, B..., L..., K...] -> [N, B..., |L|, |K|]
 *   Y -> [(n,) B..., K..., R...] -> [(N,) B..., |K|, |R|]  (a constant: permuted here)
 *   X @ Y = [N, B..., |L|, |R|] -> [n, B..., L..., R...] -> the output's order.
 * Transposes and reshapes that change nothing are left out. A letter
 * summed in one operand alone, and the batch's letter summed or in a
 * constant, are refused by name. One operand: a transpose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

/* The letters of an equation sorted into the lowering's groups. */
typedef struct {
    char n;                               /* X's batch axis */
    char b[BB_OX_MAX_DIMS + 1], l[BB_OX_MAX_DIMS + 1], k[BB_OX_MAX_DIMS + 1], r[BB_OX_MAX_DIMS + 1];
    int nb, nl, nk, nr;
} groups;

static int has(const char *s, char ch)
{
    return ch && strchr(s, ch) != NULL;
}

static int64_t product(const bb_ox_einsum *e, const char *s, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= e->dim[(unsigned char)s[i]];
    return p;
}

static int sort_letters(ox_ctx *c, const bb_ox_node *nd, const bb_ox_einsum *e, const char *x, const char *y,
                        groups *g)
{
    for (const char *p = e->out; *p; p++) {
        if (*p == g->n)
            continue;
        if (has(x, *p) && has(y, *p))
            g->b[g->nb++] = *p;
        else if (has(x, *p))
            g->l[g->nl++] = *p;
        else
            g->r[g->nr++] = *p;
    }
    for (const char *p = x; *p; p++)
        if (!has(e->out, *p) && has(y, *p))
            g->k[g->nk++] = *p;
    const char *terms[2] = {x, y};
    for (int t = 0; t < 2; t++)
        for (const char *p = terms[t]; *p; p++)
            if (!has(e->out, *p) && !has(terms[1 - t], *p))
                return bb_ox_node_err(c->err, c->m, nd, "its equation sums '%c' of one operand alone (not "
                                      "supported)", *p);
    if (!has(e->out, g->n))
        return bb_ox_node_err(c->err, c->m, nd, "its equation sums over '%c', the batch's axis (not supported)",
                              g->n);
    g->b[g->nb] = g->l[g->nl] = g->k[g->nk] = g->r[g->nr] = '\0';
    return 0;
}

/* perm[i] = where letters[i] sits in term. */
static void perm_of(const char *term, const char *letters, int *perm)
{
    for (int i = 0; letters[i]; i++)
        perm[i] = (int)(strchr(term, letters[i]) - term);
}

static int is_identity(const int *perm, int n)
{
    for (int i = 0; i < n; i++)
        if (perm[i] != i)
            return 0;
    return 1;
}

/* A per-item activation of full shape d (nd axes, the batch first). */
static int act(ox_ctx *c, int nd, const int64_t *d)
{
    return bb_graph_add_tensor(c->g, "", BB_T_ACT, nd - 1, d + 1);
}

static bb_op *emit(ox_ctx *c, const bb_ox_node *nd, bb_op_type type, int a, int b, int y)
{
    bb_op *op = bb_graph_add_op(c->g, type, nd->name);
    op->n_in = b >= 0 ? 2 : 1, op->in[0] = a, op->in[1] = b, op->out = y;
    return op;
}

/* Activation t (letters term) to [n, letters...] and then to the full
 * shape `to` (nt axes); the tensor of the result. */
static int arrange(ox_ctx *c, const bb_ox_node *nd, const bb_ox_einsum *e, int t, const char *term,
                   const char *letters, const int64_t *to, int nt)
{
    int perm[BB_OX_MAX_DIMS + 1], n = (int)strlen(letters);
    int64_t d[BB_OX_MAX_DIMS + 1];
    perm_of(term, letters, perm);
    for (int i = 0; i < n; i++)
        d[i] = i == 0 ? 1 : e->dim[(unsigned char)letters[i]];
    if (!is_identity(perm, n)) {
        int y = act(c, n, d);
        bb_op *op = emit(c, nd, BB_OP_TRANSPOSE, t, -1, y);
        memcpy(op->perm, perm, sizeof(int) * (size_t)n);
        t = y;
    }
    if (nt == n && !memcmp(d + 1, to + 1, sizeof(int64_t) * (size_t)(n - 1)))
        return t;
    int y = act(c, nt, to);
    emit(c, nd, BB_OP_RESHAPE, t, -1, y);
    return y;
}

/* Constant Y (letters term, data y) permuted to letters, as a buffer of
 * shape to (nt axes). */
static int arrange_const(ox_ctx *c, const bb_ox_einsum *e, const float *y, const char *term, const char *letters,
                         const int64_t *to, int nt)
{
    int n = (int)strlen(letters), perm[BB_OX_MAX_DIMS];
    int64_t st[BB_OX_MAX_DIMS], idx[BB_OX_MAX_DIMS] = {0}, s = 1, total = product(e, letters, n);
    for (int a = (int)strlen(term) - 1; a >= 0; a--)
        st[a] = s, s *= e->dim[(unsigned char)term[a]];
    perm_of(term, letters, perm);
    float *data = malloc(sizeof(float) * (size_t)(total > 0 ? total : 1));
    if (!data)
        return bb_err_set(c->err, "out of memory");
    for (int64_t o = 0; o < total; o++) {
        int64_t off = 0;
        for (int i = 0; i < n; i++)
            off += idx[i] * st[perm[i]];
        data[o] = y[off];
        for (int i = n - 1; i >= 0 && ++idx[i] == e->dim[(unsigned char)letters[i]]; i--)
            idx[i] = 0;
    }
    int t = ox_const_tensor(c, "einsum_operand", BB_T_BUFFER, nt, to, data);
    free(data);
    return t;
}

/* The full shape [(N,) B..., |first|, |second|] into d; its rank. */
static int matrix_shape(const bb_ox_einsum *e, int batch, const groups *g, const char *first, int nf,
                        const char *second, int ns, int64_t *d)
{
    int n = 0;
    if (batch)
        d[n++] = 1;
    for (int i = 0; i < g->nb; i++)
        d[n++] = e->dim[(unsigned char)g->b[i]];
    d[n++] = product(e, first, nf);
    d[n++] = product(e, second, ns);
    return n;
}

static int one_operand(ox_ctx *c, const bb_ox_node *nd, const bb_ox_einsum *e, int x)
{
    if (e->out_nd != e->nd[0])
        return bb_ox_node_err(c->err, c->m, nd, "its equation sums axes of its one operand (not supported)");
    bb_op *op = ox_op(c, nd, BB_OP_TRANSPOSE, &x, 1, nd->out[0]);
    if (op)
        perm_of(e->in[0], e->out, op->perm);
    return op ? 0 : -1;
}

/* The letter of the batch axis of activation input k (graph tensor t),
 * which must hold one row per item; -1 with the error set. */
static int batch_letter(ox_ctx *c, const bb_ox_node *nd, const bb_ox_einsum *e, int k, int t)
{
    const bb_tensor *xt = &c->g->tensors[t];
    const int ba = xt->full_rank ? xt->batch_axis : 0;
    if (c->v2[nd->in[k]].dims[ba] != 2 || c->v3[nd->in[k]].dims[ba] != 3)
        return bb_ox_node_err(c->err, c->m, nd, "input %d's batch axis holds more than one row per item (not "
                              "supported in Einsum)", k);
    return e->in[k][ba];
}

/* An activation operand [N*k, ...] whose first axis holds k rows per item
 * (SAM's relative positions over [N*heads, H, W, C]), that axis's letter
 * first in the output too and not in the other operand, a constant: per
 * item the operand is [k, ...], that letter an axis of k like any other,
 * and a new letter of one row per item stands for the batch in front of
 * the operand and the output. Rewrites e, and *x (viewed per item); the new
 * letter, or 0 when the operand is not of this form. */
static int merged_rows(ox_ctx *c, const bb_ox_node *nd, bb_ox_einsum *e, int kx, int *x)
{
    const bb_tensor *xt = &c->g->tensors[*x];
    const int64_t rows2 = c->v2[nd->in[kx]].dims[0], rows3 = c->v3[nd->in[kx]].dims[0];
    const char l = e->in[kx][0];
    if (!xt->full_rank || xt->batch_axis != 0 || rows2 % 2 || rows2 <= 2 || rows3 != rows2 / 2 * 3 ||
        e->out[0] != l || ox_is_act(c, nd->in[1 - kx]) || has(e->in[1 - kx], l) || e->nd[kx] >= BB_OX_MAX_DIMS ||
        e->out_nd >= BB_OX_MAX_DIMS || xt->ndim > BB_MAX_DIMS)
        return 0;
    char z = 0;
    for (int ch = 'A'; ch <= 'z' && !z; ch++)
        z = (ch <= 'Z' || ch >= 'a') && e->dim[ch] < 0 ? (char)ch : 0;
    if (!z)
        return 0;
    int64_t d[BB_MAX_DIMS + 1] = {1};
    memcpy(d + 1, xt->dims, sizeof(int64_t) * (size_t)xt->ndim);
    int y = act(c, xt->ndim + 1, d);
    emit(c, nd, BB_OP_RESHAPE, *x, -1, y);
    *x = y;
    e->dim[(unsigned char)l] = rows2 / 2, e->dim[(unsigned char)z] = 1;
    memmove(e->in[kx] + 1, e->in[kx], (size_t)e->nd[kx] + 1);
    memmove(e->out + 1, e->out, (size_t)e->out_nd + 1);
    e->in[kx][0] = e->out[0] = z;
    e->nd[kx]++, e->out_nd++;
    return z;
}

/* Operand Y (input ky) as [(N,) B..., |K|, |R|]: an activation arranged by
 * ops, a constant permuted here. */
static int operand_y(ox_ctx *c, const bb_ox_node *nd, const bb_ox_einsum *e, int ky, const groups *g)
{
    const int yv = nd->in[ky], y_act = ox_is_act(c, yv);
    char yl[4 * BB_OX_MAX_DIMS + 8]; /* at most BB_OX_MAX_DIMS letters */
    int64_t yd[BB_MAX_DIMS + 1];     /* g->nb + 3 axes at most: checked by the caller */
    snprintf(yl, sizeof yl, "%s%s%s%s", y_act ? (char[2]){g->n, '\0'} : "", g->b, g->k, g->r);
    int nyd = matrix_shape(e, y_act, g, g->k, g->nk, g->r, g->nr, yd);
    if (!y_act && has(e->in[ky], g->n))
        return bb_ox_node_err(c->err, c->m, nd, "its constant operand has the batch's axis '%c'", g->n);
    if (!y_act && !ox_is_static(c, yv))
        return bb_ox_node_err(c->err, c->m, nd, "input %d is a constant that differs with the batch size", ky);
    if (!y_act)
        return arrange_const(c, e, c->v2[yv].data, e->in[ky], yl, yd, nyd);
    int y = ox_in_act(c, nd, ky);
    if (y < 0)
        return -1;
    int n = batch_letter(c, nd, e, ky, y);
    if (n < 0)
        return -1;
    if (n != g->n)
        return bb_ox_node_err(c->err, c->m, nd, "its operands' batch axes are '%c' and '%c' (not supported)", g->n,
                              n);
    return arrange(c, nd, e, y, e->in[ky], yl, yd, nyd);
}

int ox_lower_einsum(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_einsum e;
    if (bb_ox_einsum_get(c->m, nd, c->v2, &e, c->err) != 0)
        return -1;
    const int kx = ox_is_act(c, nd->in[0]) ? 0 : 1, ky = 1 - kx;
    int x = ox_in_act(c, nd, kx);
    if (x < 0)
        return -1;
    if (e.n_in == 1)
        return one_operand(c, nd, &e, x);
    const int merged = merged_rows(c, nd, &e, kx, &x);
    int n = merged ? merged : batch_letter(c, nd, &e, kx, x);
    groups g = {.n = (char)n};
    if (n < 0 || sort_letters(c, nd, &e, e.in[kx], e.in[ky], &g) != 0)
        return -1;
    char xl[4 * BB_OX_MAX_DIMS + 8], pl[4 * BB_OX_MAX_DIMS + 8]; /* each at most BB_OX_MAX_DIMS letters */
    snprintf(xl, sizeof xl, "%c%s%s%s", g.n, g.b, g.l, g.k);
    snprintf(pl, sizeof pl, "%c%s%s%s", g.n, g.b, g.l, g.r);
    if ((int)strlen(xl) > BB_MAX_DIMS + 1 || (int)strlen(pl) > BB_MAX_DIMS + 1 || e.nd[ky] > BB_MAX_DIMS + 1 ||
        g.nb + 3 > BB_MAX_DIMS + 1) /* then every shape below fits BB_MAX_DIMS + 1 axes */
        return bb_ox_node_err(c->err, c->m, nd, "an operand or its result has more than %d axes (not supported)",
                              BB_MAX_DIMS + 1);
    int64_t xd[BB_MAX_DIMS + 1], pd[BB_MAX_DIMS + 1];
    int nxd = matrix_shape(&e, 1, &g, g.l, g.nl, g.k, g.nk, xd);
    int npd = matrix_shape(&e, 1, &g, g.l, g.nl, g.r, g.nr, pd);
    int a = arrange(c, nd, &e, x, e.in[kx], xl, xd, nxd);
    int b = a < 0 ? -1 : operand_y(c, nd, &e, ky, &g);
    if (a < 0 || b < 0)
        return -1;
    int p = act(c, npd, pd);
    emit(c, nd, BB_OP_MATMUL, a, b, p);
    int64_t full[BB_MAX_DIMS + 1];
    int nf = (int)strlen(pl), perm[BB_MAX_DIMS + 1];
    for (int i = 0; i < nf; i++)
        full[i] = i == 0 ? 1 : e.dim[(unsigned char)pl[i]];
    perm_of(pl, e.out, perm);
    if (is_identity(perm, nf))
        return ox_reshape_to(c, nd, p, nd->out[0]) ? 0 : -1;
    int q = act(c, nf, full);
    emit(c, nd, BB_OP_RESHAPE, p, -1, q);
    if (merged) { /* per item, then viewed as the node's [N*k, ...] */
        int64_t out[BB_MAX_DIMS + 1];
        for (int i = 0; i < nf; i++)
            out[i] = full[perm[i]];
        int r = act(c, nf, out);
        memcpy(emit(c, nd, BB_OP_TRANSPOSE, q, -1, r)->perm, perm, sizeof(int) * (size_t)nf);
        return ox_reshape_to(c, nd, r, nd->out[0]) ? 0 : -1;
    }
    bb_op *op = ox_op(c, nd, BB_OP_TRANSPOSE, &q, 1, nd->out[0]);
    if (op)
        memcpy(op->perm, perm, sizeof(int) * (size_t)nf);
    return op ? 0 : -1;
}
