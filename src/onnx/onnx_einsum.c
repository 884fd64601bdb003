/*
 * onnx_einsum.c — ONNX's Einsum as batchbench reads it: the equation
 * parsed and checked once, for the shape evaluation, the constant folder
 * (both here) and the lowering into transposes, reshapes and one matrix
 * product (onnx_lower_einsum.c).
 *
 * Why it exists: torch.onnx writes every torch.einsum as an Einsum node
 * (MViTv2's relative positions: "byhwc,hkc->byhwk"), and one reading of its
 * equation must serve all three. Supported: one or two operands, letters
 * only, each at most once per operand, the same size wherever it appears,
 * the output explicit ("->") or implicit (the letters seen once, in
 * alphabetical order). Refused, by name: an ellipsis, a diagonal (a letter
 * twice in one operand).
 */
#include <string.h>

#include "onnx/onnx_fold.h"

static int is_letter(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Operand or output text [s, e) into letters (spaces skipped): 0, or -1
 * with the error set. */
static int read_term(const bb_ox_ctx *c, const char *s, const char *e, char *out, int *n)
{
    *n = 0;
    for (; s < e; s++) {
        if (*s == ' ')
            continue;
        if (*s == '.')
            return bb_ox_cerr(c, "an ellipsis ('...') in its equation is not supported");
        if (!is_letter(*s))
            return bb_ox_cerr(c, "its equation has '%c' (letters, ',' and '->' only)", *s);
        if (*n == BB_OX_MAX_DIMS)
            return bb_ox_cerr(c, "a term of its equation has more than %d axes", BB_OX_MAX_DIMS);
        for (int k = 0; k < *n; k++)
            if (out[k] == *s)
                return bb_ox_cerr(c, "its equation repeats '%c' within one term (a diagonal or a repeated "
                                     "output axis: not supported)", *s);
        out[(*n)++] = *s;
    }
    out[*n] = '\0';
    return 0;
}

/* The implicit output: the letters that occur once in all, sorted. */
static void implicit_output(bb_ox_einsum *e)
{
    e->out_nd = 0;
    for (int ch = 'A'; ch <= 'z'; ch++) {
        int seen = 0;
        for (int k = 0; k < e->n_in; k++)
            seen += strchr(e->in[k], ch) != NULL;
        if (is_letter((char)ch) && seen == 1 && e->out_nd < BB_OX_MAX_DIMS)
            e->out[e->out_nd++] = (char)ch;
    }
    e->out[e->out_nd] = '\0';
}

/* Each letter's size, from the operands (the same wherever it appears). */
static int letter_sizes(const bb_ox_ctx *c, bb_ox_einsum *e)
{
    for (int i = 0; i < 128; i++)
        e->dim[i] = -1;
    for (int k = 0; k < e->n_in; k++) {
        const bb_ox_val *x = bb_ox_in(c, k);
        if (!x || x->ndim != e->nd[k])
            return bb_ox_cerr(c, "input %d has rank %d, its term '%s' in the equation %d letters", k,
                              x ? x->ndim : -1, e->in[k], e->nd[k]);
        if (x->dtype != BB_OX_F32)
            return bb_ox_cerr(c, "input %d is not float (batchbench: float Einsum only)", k);
        for (int a = 0; a < e->nd[k]; a++) {
            int64_t *d = &e->dim[(unsigned char)e->in[k][a]];
            if (*d >= 0 && *d != x->dims[a])
                return bb_ox_cerr(c, "'%c' has size %lld in one operand and %lld in another (batchbench does not "
                                  "broadcast in Einsum)", e->in[k][a], (long long)*d, (long long)x->dims[a]);
            *d = x->dims[a];
        }
    }
    for (int a = 0; a < e->out_nd; a++)
        if (e->dim[(unsigned char)e->out[a]] < 0)
            return bb_ox_cerr(c, "its output has '%c', which no operand has", e->out[a]);
    return 0;
}

int bb_ox_einsum_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_einsum *e,
                     bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    const char *eq;
    memset(e, 0, sizeof *e);
    if (bb_ox_a_str(&c, "equation", NULL, &eq) < 0)
        return -1;
    if (!eq)
        return bb_ox_cerr(&c, "has no 'equation' attribute");
    if (nd->n_in < 1 || nd->n_in > 2)
        return bb_ox_cerr(&c, "has %d operands (batchbench: one or two)", nd->n_in);
    const char *arrow = strstr(eq, "->"), *end = arrow ? arrow : eq + strlen(eq), *s = eq;
    for (e->n_in = 0; e->n_in < 2; e->n_in++) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (read_term(&c, s, stop, e->in[e->n_in], &e->nd[e->n_in]) < 0)
            return -1;
        if (!comma) {
            e->n_in++;
            break;
        }
        s = comma + 1;
    }
    if (s < end && memchr(s, ',', (size_t)(end - s)))
        return bb_ox_cerr(&c, "its equation '%s' has more than two operands", eq);
    if (e->n_in != nd->n_in)
        return bb_ox_cerr(&c, "its equation '%s' has %d operands for %d inputs", eq, e->n_in, nd->n_in);
    if (arrow) {
        if (read_term(&c, arrow + 2, arrow + strlen(arrow), e->out, &e->out_nd) < 0)
            return -1;
    } else {
        implicit_output(e);
    }
    return letter_sizes(&c, e);
}

int bb_ox_shape_einsum(bb_ox_ctx *c)
{
    bb_ox_einsum e;
    int64_t d[BB_OX_MAX_DIMS];
    if (bb_ox_einsum_get(c->m, c->nd, c->v, &e, c->err) < 0)
        return -1;
    for (int a = 0; a < e.out_nd; a++)
        d[a] = e.dim[(unsigned char)e.out[a]];
    return bb_ox_set(c, 0, BB_OX_F32, e.out_nd, d);
}

/* Every letter of the equation once (output letters first), and their
 * product: the multiply-adds of computing it. */
static int all_letters(const bb_ox_einsum *e, char *l, int64_t *work)
{
    int n = 0;
    *work = 1;
    const char *terms[3] = {e->out, e->in[0], e->n_in > 1 ? e->in[1] : ""};
    for (int t = 0; t < 3; t++)
        for (const char *p = terms[t]; *p; p++)
            if (!memchr(l, *p, (size_t)n)) {
                int64_t d = e->dim[(unsigned char)*p];
                *work = d > 0 && *work <= (INT64_MAX / 4) / d ? *work * d : d > 0 ? INT64_MAX / 4 : 0;
                l[n++] = *p;
            }
    return n;
}

int64_t bb_ox_einsum_work(const bb_ox_ctx *c)
{
    bb_ox_einsum e;
    bb_err ignored; /* the shape function reports a bad equation */
    char l[3 * BB_OX_MAX_DIMS];
    int64_t work;
    if (bb_ox_einsum_get(c->m, c->nd, c->v, &e, &ignored) < 0)
        return 0;
    all_letters(&e, l, &work);
    return work;
}

/* Operand k's strides per letter of l (0 where it lacks the letter). */
static void strides_for(const bb_ox_einsum *e, int k, const char *l, int n, int64_t *st)
{
    int64_t s = 1;
    for (int i = 0; i < n; i++)
        st[i] = 0;
    for (int a = e->nd[k] - 1; a >= 0; a--) {
        st[(const char *)memchr(l, e->in[k][a], (size_t)n) - l] = s;
        s *= e->dim[(unsigned char)e->in[k][a]];
    }
}

/* In double, every combination of the letters once: the output's letters
 * come first in l, so each output element's terms are consecutive. */
int bb_ox_fold_einsum(bb_ox_ctx *c)
{
    bb_ox_einsum e;
    char l[3 * BB_OX_MAX_DIMS];
    int64_t work, st[2][3 * BB_OX_MAX_DIMS] = {{0}}, idx[3 * BB_OX_MAX_DIMS] = {0};
    if (bb_ox_einsum_get(c->m, c->nd, c->v, &e, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    const int n = all_letters(&e, l, &work);
    float *y = (float *)bb_ox_out(c, 0)->data;
    const float *x[2] = {bb_ox_in(c, 0)->data, e.n_in > 1 ? bb_ox_in(c, 1)->data : NULL};
    for (int k = 0; k < e.n_in; k++)
        strides_for(&e, k, l, n, st[k]);
    int64_t per = 1; /* terms per output element */
    for (int i = e.out_nd; i < n; i++)
        per *= e.dim[(unsigned char)l[i]];
    if (work == 0 || per == 0)
        return 0; /* no terms: zeros */
    for (int64_t t = 0, o = 0; t < work; o++) {
        double acc = 0.0;
        for (int64_t j = 0; j < per; j++, t++) {
            int64_t off[2] = {0, 0};
            for (int i = 0; i < n; i++)
                off[0] += idx[i] * st[0][i], off[1] += idx[i] * st[1][i];
            acc += (double)x[0][off[0]] * (x[1] ? (double)x[1][off[1]] : 1.0);
            for (int i = n - 1; i >= 0 && ++idx[i] == e.dim[(unsigned char)l[i]]; i--)
                idx[i] = 0;
        }
        y[o] = (float)acc;
    }
    return 0;
}
