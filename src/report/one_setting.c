/*
 * one_setting.c — the ranking of loader settings across models and its
 * report section (one_setting.h).
 *
 * Why this file exists: see one_setting.h. The ranking works on a small
 * matrix (models x settings) of end-to-end items/s built from the rows of
 * one group; everything the report says comes from that matrix.
 */
#include "report/one_setting.h"

#include <stdlib.h>
#include <string.h>

#include "report/results_load.h"

#define SHOWN 10 /* rows of the report's table */

typedef struct {
    int64_t batch;
    int workers;
} setting;

/* The group's matrix: ips[m * n_set + s] > 0 where model m ended ok at setting s. */
typedef struct {
    const bb_pl_row *const *rows;
    int n;
    setting *set;
    int n_set;
    double *ips;
    int *top;    /* top[m * n_set + s]: s is among model m's BB_OS_TOP fastest */
    double *best; /* per model: its highest items/s */
} matrix;

static int row_ok(const bb_pl_row *r)
{
    return !strcmp(r->status, "ok") && r->items_per_s > 0;
}

static int cmp_setting(const void *a, const void *b)
{
    const setting *x = a, *y = b;
    if (x->batch != y->batch)
        return (x->batch > y->batch) - (x->batch < y->batch);
    return (x->workers > y->workers) - (x->workers < y->workers);
}

static int cmp_model(const void *a, const void *b)
{
    return bb_model_order(a, b);
}

/* Models with an ok row, in the zoo's order; returns how many, -1 on OOM. */
static int collect_models(const bb_pl_row *const *rows, int n, bb_os_ranking *out)
{
    out->models = calloc((size_t)(n > 0 ? n : 1), sizeof *out->models);
    if (!out->models)
        return -1;
    for (int i = 0; i < n; i++) {
        int seen = !row_ok(rows[i]);
        for (int m = 0; m < out->n_models && !seen; m++)
            seen = !strcmp(out->models[m], rows[i]->model);
        if (!seen)
            snprintf(out->models[out->n_models++], sizeof out->models[0], "%s", rows[i]->model);
    }
    qsort(out->models, (size_t)out->n_models, sizeof *out->models, cmp_model);
    return out->n_models;
}

/* Distinct (batch, workers) of every row, sorted; -1 on OOM. */
static int collect_settings(matrix *x)
{
    x->set = malloc(sizeof *x->set * (size_t)(x->n > 0 ? x->n : 1));
    if (!x->set)
        return -1;
    x->n_set = 0;
    for (int i = 0; i < x->n; i++) {
        setting s = {x->rows[i]->batch_size, x->rows[i]->workers};
        int seen = 0;
        for (int k = 0; k < x->n_set && !seen; k++)
            seen = !cmp_setting(&x->set[k], &s);
        if (!seen)
            x->set[x->n_set++] = s;
    }
    qsort(x->set, (size_t)x->n_set, sizeof *x->set, cmp_setting);
    return 0;
}

/* The highest ok items/s of (model, s), or 0; *status: the status of a
 * row that did not end ok (NULL when there is no row at all). */
static double lookup(const matrix *x, const char *model, const setting *s, const char **status)
{
    double ips = 0;
    *status = NULL;
    for (int i = 0; i < x->n; i++) {
        const bb_pl_row *r = x->rows[i];
        if (strcmp(r->model, model) || r->batch_size != s->batch || r->workers != s->workers)
            continue;
        if (row_ok(r))
            ips = r->items_per_s > ips ? r->items_per_s : ips;
        else if (!*status)
            *status = r->status;
    }
    return ips;
}

/* Is setting s among model m's BB_OS_TOP fastest (ties: the earlier setting first)? */
static int in_top(const matrix *x, int m, int s)
{
    const double *v = &x->ips[(size_t)m * (size_t)x->n_set];
    int ahead = 0;
    for (int k = 0; k < x->n_set; k++)
        ahead += v[k] > v[s] || (v[k] == v[s] && k < s);
    return v[s] > 0 && ahead < BB_OS_TOP;
}

static int fill_matrix(matrix *x, const bb_os_ranking *out)
{
    size_t cells = (size_t)out->n_models * (size_t)x->n_set;
    x->ips = calloc(cells ? cells : 1, sizeof *x->ips);
    x->top = calloc(cells ? cells : 1, sizeof *x->top);
    x->best = calloc((size_t)out->n_models, sizeof *x->best);
    if (!x->ips || !x->top || !x->best)
        return -1;
    for (int m = 0; m < out->n_models; m++)
        for (int s = 0; s < x->n_set; s++) {
            const char *st;
            double v = lookup(x, out->models[m], &x->set[s], &st);
            x->ips[(size_t)m * (size_t)x->n_set + (size_t)s] = v;
            x->best[m] = v > x->best[m] ? v : x->best[m];
        }
    for (int m = 0; m < out->n_models; m++)
        for (int s = 0; s < x->n_set; s++)
            x->top[(size_t)m * (size_t)x->n_set + (size_t)s] = in_top(x, m, s);
    return 0;
}

/* "not measured for a; b: oom" for the models setting s lacks. */
static void why_excluded(const matrix *x, const bb_os_ranking *out, int s, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int m = 0; m < out->n_models && n < len; m++) {
        const char *st;
        if (lookup(x, out->models[m], &x->set[s], &st) > 0)
            continue;
        int k = st ? snprintf(buf + n, len - n, "%s%s: %s", n ? "; " : "", out->models[m], st)
                   : snprintf(buf + n, len - n, "%snot measured for %s", n ? "; " : "", out->models[m]);
        n += k > 0 ? (size_t)k : 0;
    }
}

/* The candidate of setting s (ok for every model). */
static bb_os_candidate candidate(const matrix *x, const bb_os_ranking *out, int s)
{
    bb_os_candidate c = {x->set[s].batch, x->set[s].workers, 0, -1, 0, 0};
    for (int m = 0; m < out->n_models; m++) {
        size_t i = (size_t)m * (size_t)x->n_set + (size_t)s;
        double regret = x->best[m] / x->ips[i] - 1; /* (1/ips) / (1/best) - 1 */
        c.avg_regret += regret / out->n_models;
        if (regret > c.worst_regret)
            c.worst_regret = regret, c.worst_model = m;
        c.top += x->top[i];
    }
    return c;
}

/* Splits the settings into candidates and excluded ones; -1 on OOM. */
static int split(const matrix *x, bb_os_ranking *out)
{
    out->cand = malloc(sizeof *out->cand * (size_t)(x->n_set > 0 ? x->n_set : 1));
    out->excl = malloc(sizeof *out->excl * (size_t)(x->n_set > 0 ? x->n_set : 1));
    if (!out->cand || !out->excl)
        return -1;
    for (int s = 0; s < x->n_set; s++) {
        int all = 1;
        for (int m = 0; m < out->n_models; m++)
            all &= x->ips[(size_t)m * (size_t)x->n_set + (size_t)s] > 0;
        if (all) {
            out->cand[out->n_cand++] = candidate(x, out, s);
        } else {
            bb_os_excluded *e = &out->excl[out->n_excl++];
            e->batch = x->set[s].batch, e->workers = x->set[s].workers;
            why_excluded(x, out, s, e->why, sizeof e->why);
        }
    }
    return 0;
}

/* Is a preferred to b among tied candidates: more top-3, smaller batch, fewer workers? */
static int preferred(const bb_os_candidate *a, const bb_os_candidate *b)
{
    if (a->top != b->top)
        return a->top > b->top;
    if (a->batch != b->batch)
        return a->batch < b->batch;
    return a->workers < b->workers;
}

/* Orders out->cand: repeatedly the preferred one of those within BB_OS_TIE
 * of the lowest remaining average regret (a well-defined order even though
 * "within 1 point" is not transitive). */
static void order(bb_os_ranking *out)
{
    for (int pos = 0; pos < out->n_cand; pos++) {
        double lo = out->cand[pos].avg_regret;
        for (int i = pos + 1; i < out->n_cand; i++)
            lo = out->cand[i].avg_regret < lo ? out->cand[i].avg_regret : lo;
        int pick = -1;
        for (int i = pos; i < out->n_cand; i++)
            if (out->cand[i].avg_regret <= lo + BB_OS_TIE && (pick < 0 || preferred(&out->cand[i], &out->cand[pick])))
                pick = i;
        bb_os_candidate tmp = out->cand[pos];
        out->cand[pos] = out->cand[pick], out->cand[pick] = tmp;
    }
}

int bb_os_rank(const bb_pl_row *const *rows, int n, bb_os_ranking *out)
{
    memset(out, 0, sizeof *out);
    int nm = collect_models(rows, n, out);
    if (nm < 2)
        return nm < 0 ? -1 : 1;
    matrix x = {rows, n, NULL, 0, NULL, NULL, NULL};
    int rc = collect_settings(&x) != 0 || fill_matrix(&x, out) != 0 || split(&x, out) != 0 ? -1 : 0;
    if (rc == 0)
        order(out);
    free(x.set), free(x.ips), free(x.top), free(x.best);
    return rc;
}

void bb_os_free(bb_os_ranking *r)
{
    free(r->models), free(r->cand), free(r->excl);
    memset(r, 0, sizeof *r);
}

/* ---- the report's section ------------------------------------------------------ */

/* Length of the folder part of a row's path ("dir" of "dir/file"). */
static int dir_len(const bb_pl_row *r)
{
    const char *slash = strrchr(r->path, '/');
    return slash ? (int)(slash - r->path) : 0;
}

static int same_group(const bb_pl_row *a, const bb_pl_row *b)
{
    return !strcmp(a->device, b->device) && !strcmp(a->mode, b->mode) && !strcmp(a->worker_kind, b->worker_kind) &&
           dir_len(a) == dir_len(b) &&
           !strncmp(a->path, b->path, (size_t)dir_len(a));
}

static const char *plural(int n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void intro(FILE *f)
{
    fprintf(f, "## One setting for all models (end to end)\n\nOne batch size and worker count for every model, as "
               "the seed's eval/top_n_configs.py chooses it. The regret of a setting for a model is its time per "
               "item there (1 / items/s end to end) over the model's best time per item, minus 1. The settings "
               "measured ok for every model are ranked by their average regret across the models; settings within "
               "%.0f point of the lowest average regret tie, and the tie goes to the one in more models' top %d, then "
               "the smaller batch, then fewer workers.\n\n",
            BB_OS_TIE * 100, BB_OS_TOP);
}

/* The answer in a sentence, and which candidates tied with it. */
static void answer(FILE *f, const bb_os_ranking *r)
{
    const bb_os_candidate *c = &r->cand[0];
    char all[32];
    snprintf(all, sizeof all, r->n_models == 2 ? "both models" : "all %d models", r->n_models);
    fprintf(f, "**Use batch %lld with %d worker%s for %s**: per item it is on average %.1f%% slower than each "
               "model's own best setting (worst: %s, %.1f%%), and %d of the %d models have it among their top %d.",
            (long long)c->batch, c->workers, plural(c->workers, "", "s"), all, c->avg_regret * 100,
            r->models[c->worst_model], c->worst_regret * 100, c->top, r->n_models, BB_OS_TOP);
    double lo = c->avg_regret;
    for (int i = 1; i < r->n_cand; i++)
        lo = r->cand[i].avg_regret < lo ? r->cand[i].avg_regret : lo;
    int n = 0;
    for (int i = 1; i < r->n_cand; i++)
        if (r->cand[i].avg_regret <= lo + BB_OS_TIE)
            fprintf(f, "%s batch %lld with %d worker%s (average regret %.1f%%, in the top %d of %d model%s)",
                    n++ ? "," : " Tied with it:", (long long)r->cand[i].batch, r->cand[i].workers,
                    plural(r->cand[i].workers, "", "s"), r->cand[i].avg_regret * 100, BB_OS_TOP, r->cand[i].top,
                    plural(r->cand[i].top, "", "s"));
    fprintf(f, "%s\n\n", n ? "; decided by the top-3 count, then the smaller batch, then fewer workers." : "");
}

static void table(FILE *f, const bb_os_ranking *r)
{
    fprintf(f, "| rank | batch | workers | average regret | worst-model regret | in the top %d of |\n"
               "|--:|--:|--:|--:|--:|--:|\n",
            BB_OS_TOP);
    for (int i = 0; i < r->n_cand && i < SHOWN; i++) {
        const bb_os_candidate *c = &r->cand[i];
        fprintf(f, "| %d | %lld | %d | %.1f%% | %.1f%% (%s) | %d of %d |\n", i + 1, (long long)c->batch, c->workers,
                c->avg_regret * 100, c->worst_regret * 100, r->models[c->worst_model], c->top, r->n_models);
    }
    if (r->n_cand > SHOWN)
        fprintf(f, "\n%d more candidate%s not shown.\n", r->n_cand - SHOWN, plural(r->n_cand - SHOWN, "", "s"));
    fputc('\n', f);
}

static void excluded(FILE *f, const bb_os_ranking *r)
{
    for (int i = 0; i < r->n_excl; i++)
        fprintf(f, "%sbatch %lld with %d worker%s (%s)", i ? "; " : "Not ranked, not ok for every model: ",
                (long long)r->excl[i].batch, r->excl[i].workers, plural(r->excl[i].workers, "", "s"), r->excl[i].why);
    if (r->n_excl)
        fprintf(f, ".\n\n");
}

/* One group's subsection. */
static void group(FILE *f, const bb_pl_row *a, const bb_os_ranking *r)
{
    fprintf(f, "### %s, loader mode %s, `%.*s`:", a->device, a->mode, dir_len(a) ? dir_len(a) : 1,
            dir_len(a) ? a->path : ".");
    for (int m = 0; m < r->n_models; m++)
        fprintf(f, "%s%s", m ? ", " : " ", r->models[m]);
    fprintf(f, "\n\n");
    if (r->n_cand > 0) {
        answer(f, r);
        table(f, r);
    } else {
        fprintf(f, "No setting ended ok for all %d models, so none can be named for all of them.\n\n", r->n_models);
    }
    excluded(f, r);
}

void bb_os_report(FILE *f, const bb_loading *l)
{
    const bb_pl_row **rows = malloc(sizeof *rows * (size_t)(l->n_pl > 0 ? l->n_pl : 1));
    int shown = 0;
    for (int i = 0; rows && i < l->n_pl; i++) {
        int first = 1, n = 0;
        for (int j = 0; j < i && first; j++)
            first = !same_group(&l->pl[i], &l->pl[j]);
        for (int j = i; first && j < l->n_pl; j++)
            if (same_group(&l->pl[i], &l->pl[j]))
                rows[n++] = &l->pl[j];
        bb_os_ranking r;
        int rc = first ? bb_os_rank(rows, n, &r) : 1;
        if (rc <= 0 && !shown++)
            intro(f);
        if (rc == 0)
            group(f, &l->pl[i], &r);
        else if (rc < 0)
            fprintf(f, "Out of memory ranking the settings of `%s`.\n\n", l->pl[i].path);
        if (first)
            bb_os_free(&r);
    }
    if (!rows && l->n_pl)
        fprintf(f, "Out of memory ranking the end-to-end settings.\n\n");
    free(rows);
}
