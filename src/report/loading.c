/* loading.c — reading data-loading and pipeline results, and the report's
 * data-loading section (loading.h). */
#include "report/loading.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "report/one_setting.h"
#include "stats/stats.h"

static const cJSON *at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

static double num(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = at(j, a, b);
    return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

static void str(const cJSON *j, const char *a, const char *b, char *dst, size_t len)
{
    const cJSON *v = at(j, a, b);
    snprintf(dst, len, "%s", cJSON_IsString(v) ? v->valuestring : "?");
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (!m || fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

/* Copies the numbers of a JSON array into a malloc'd array. */
static double *numbers(const cJSON *arr, int *n)
{
    *n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    double *v = malloc(sizeof(double) * (size_t)(*n ? *n : 1));
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) if (v && cJSON_IsNumber(e)) v[k++] = e->valuedouble;
    *n = v ? k : 0;
    return v;
}

static int dl_row(const cJSON *j, const char *path, bb_dl_row *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%.1023s", path);
    str(j, "status", NULL, r->status, sizeof r->status);
    str(j, "config", "kind", r->kind, sizeof r->kind);
    str(j, "config", "mode", r->mode, sizeof r->mode);
    str(j, "config", "worker_kind", r->worker_kind, sizeof r->worker_kind);
    if (!strcmp(r->worker_kind, "?")) /* written before worker kinds existed */
        snprintf(r->worker_kind, sizeof r->worker_kind, "thread");
    r->batch_size = (int64_t)num(j, "config", "batch_size");
    r->workers = (int)num(j, "config", "workers");
    r->sleep_s = num(j, "config", "sleep_s");
    r->start_s = num(j, "start_s", NULL);
    r->first_wait_s = num(j, "first_wait_s", NULL);
    r->items_per_s = num(j, "items_per_s", NULL), r->mb_per_s = num(j, "mb_per_s", NULL);
    r->cpu_s = num(j, "cpu_s", NULL), r->skipped = (int64_t)num(j, "skipped", NULL);
    if (!(r->waits_s = numbers(at(j, "waits_s", NULL), &r->n_waits)))
        return -1;
    bb_stats st;
    int have = r->n_waits > 1 && bb_stats_compute(r->waits_s + 1, r->n_waits - 1, &st) == 0;
    r->median_wait_s = have ? st.median : -1, r->mean_wait_s = have ? st.mean : -1, r->max_wait_s = have ? st.max : -1;
    return r->batch_size > 0 && r->workers > 0 ? 0 : 1;
}

static int pl_row(const cJSON *j, const char *path, bb_pl_row *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%.1023s", path);
    str(j, "status", NULL, r->status, sizeof r->status);
    str(j, "config", "model", r->model, sizeof r->model);
    str(j, "config", "device", r->device, sizeof r->device);
    str(j, "pipeline", "mode", r->mode, sizeof r->mode);
    str(j, "pipeline", "worker_kind", r->worker_kind, sizeof r->worker_kind);
    if (!strcmp(r->worker_kind, "?")) /* written before worker kinds existed */
        snprintf(r->worker_kind, sizeof r->worker_kind, "thread");
    r->batch_size = (int64_t)num(j, "config", "batch_size");
    r->workers = (int)num(j, "pipeline", "workers");
    r->items_per_s = num(j, "pipeline", "items_per_s");
    r->wait_fraction = num(j, "pipeline", "wait_fraction");
    r->first_result_s = num(j, "pipeline", "first_result_s");
    int n = 0;
    double *t = numbers(at(j, "times_s", NULL), &n);
    bb_stats st;
    r->forward_items_per_s = t && n > 0 && bb_stats_compute(t, n, &st) == 0 && st.median > 0
                                 ? (double)r->batch_size / st.median : -1;
    free(t);
    return r->batch_size > 0 && r->workers > 0 ? 0 : 1;
}

static int grow(void **arr, int n, size_t elem)
{
    void *p = realloc(*arr, elem * (size_t)(n + 1));
    return p ? (*arr = p, 0) : -1;
}

/* One file: 0 added or skipped (bad counted), -1 OOM. */
static int load_file(bb_loading *l, const char *path, int pipeline, FILE *warn)
{
    cJSON *j = read_json(path);
    int rc = 0, bad = !j;
    if (j && pipeline) {
        if ((rc = grow((void **)&l->pl, l->n_pl, sizeof *l->pl)) == 0)
            (bad = pl_row(j, path, &l->pl[l->n_pl]) != 0) ? (void)0 : (void)l->n_pl++;
    } else if (j) {
        if ((rc = grow((void **)&l->dl, l->n_dl, sizeof *l->dl)) == 0) {
            int r = dl_row(j, path, &l->dl[l->n_dl]);
            rc = r < 0 ? -1 : 0, bad = r != 0;
            r == 0 ? (void)l->n_dl++ : free(l->dl[l->n_dl].waits_s);
        }
    }
    cJSON_Delete(j);
    if (bad && rc == 0) {
        l->n_bad++;
        if (warn)
            fprintf(warn, "warning: %s: not a readable data-loading result, skipped\n", path);
    }
    return rc;
}

int bb_loading_load(bb_loading *l, const char *const *dirs, int n_dirs, FILE *warn, bb_err *err)
{
    memset(l, 0, sizeof *l);
    for (int d = 0; d < n_dirs; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            size_t n = strlen(e->d_name);
            int dl = !strncmp(e->d_name, "dataload-", 9), pl = !strncmp(e->d_name, "pipeline-", 9);
            if ((!dl && !pl) || n < 6 || strcmp(e->d_name + n - 5, ".json"))
                continue;
            char path[1024];
            if (snprintf(path, sizeof path, "%s/%s", dirs[d], e->d_name) >= (int)sizeof path)
                continue;
            if (load_file(l, path, pl, warn) != 0) {
                closedir(dir);
                return bb_err_oom(err, "out of memory reading %s", path);
            }
        }
        if (dir)
            closedir(dir);
    }
    return 0;
}

void bb_loading_free(bb_loading *l)
{
    for (int i = 0; i < l->n_dl; i++)
        free(l->dl[i].waits_s);
    free(l->dl), free(l->pl);
    memset(l, 0, sizeof *l);
}

int bb_loading_empty(const bb_loading *l)
{
    return l->n_dl == 0 && l->n_pl == 0;
}

int bb_dl_spikes(const bb_dl_row *r, double *period)
{
    *period = 0;
    if (r->n_waits < 4 || r->max_wait_s < 1e-3)
        return 0;
    int high = 0, low = 0, first_high = -1, last_high = -1;
    for (int i = 1; i < r->n_waits; i++) {
        if (r->waits_s[i] > 0.5 * r->max_wait_s) {
            high++, last_high = i;
            first_high = first_high < 0 ? i : first_high;
        } else if (r->waits_s[i] < 0.1 * r->max_wait_s) {
            low++;
        }
    }
    if (high < 2 || low < 1)
        return 0;
    *period = (double)(last_high - first_high) / (double)(high - 1);
    return 1;
}

/* ---- the report's section ------------------------------------------------------ */

/* Embeds the figures of `kind` whose name contains key (at its end, with
 * at_end: "-sleep0" must not pick "-sleep0.5"). */
static int name_has(const char *name, const char *key, int at_end)
{
    size_t n = strlen(name), k = strlen(key);
    return at_end ? n >= k && strcmp(name + n - k, key) == 0 : strstr(name, key) != NULL;
}

static void embed_kind(FILE *f, const bb_figures *figs, unsigned formats, bb_chart kind, const char *key, int at_end)
{
    for (int i = 0; figs && i < figs->n_figs; i++)
        if (figs->figs[i].kind == kind && name_has(figs->figs[i].name, key, at_end))
            fprintf(f, "![%s](%s.%s)\n\n", figs->figs[i].caption, figs->figs[i].name,
                    formats & BB_FMT_PNG ? "png" : "svg");
}

static int dl_same_group(const bb_dl_row *a, const bb_dl_row *b)
{
    return !strcmp(a->kind, b->kind) && !strcmp(a->mode, b->mode) && a->sleep_s == b->sleep_s &&
           !strcmp(a->worker_kind, b->worker_kind);
}

static int dl_procs(const bb_dl_row *r)
{
    return !strcmp(r->worker_kind, "process");
}

static const bb_dl_row *dl_find(const bb_loading *l, const bb_dl_row *a, int64_t batch, int workers)
{
    for (int i = 0; i < l->n_dl; i++)
        if (dl_same_group(a, &l->dl[i]) && l->dl[i].batch_size == batch && l->dl[i].workers == workers &&
            !strcmp(l->dl[i].status, "ok"))
            return &l->dl[i];
    return NULL;
}

/* Smallest and largest batch size of the group with `workers`. */
static void dl_extremes(const bb_loading *l, const bb_dl_row *a, int workers, const bb_dl_row **lo,
                        const bb_dl_row **hi)
{
    *lo = *hi = NULL;
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *r = &l->dl[i];
        if (!dl_same_group(a, r) || r->workers != workers || strcmp(r->status, "ok") || r->mean_wait_s < 0)
            continue;
        *lo = !*lo || r->batch_size < (*lo)->batch_size ? r : *lo;
        *hi = !*hi || r->batch_size > (*hi)->batch_size ? r : *hi;
    }
}

/* Sorted distinct batch sizes of a's group. */
static int dl_batches(const bb_loading *l, const bb_dl_row *a, int64_t *b, int max)
{
    int n = 0;
    for (int i = 0; i < l->n_dl; i++) {
        int64_t v = l->dl[i].batch_size;
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= b[k] == v;
        if (!dl_same_group(a, &l->dl[i]) || seen || n == max)
            continue;
        int k = n++;
        for (; k > 0 && b[k - 1] > v; k--)
            b[k] = b[k - 1];
        b[k] = v;
    }
    return n;
}

static void dl_table(FILE *f, const bb_loading *l, const bb_dl_row *a, const int *w, int nw)
{
    fprintf(f, "| batch |");
    for (int k = 0; k < nw; k++)
        fprintf(f, " %d worker%s |", w[k], w[k] == 1 ? "" : "s");
    fprintf(f, "\n|---:|");
    for (int k = 0; k < nw; k++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    int64_t b[64];
    int nb = dl_batches(l, a, b, 64);
    for (int i = 0; i < nb; i++) {
        fprintf(f, "| %lld |", (long long)b[i]);
        for (int k = 0; k < nw; k++) {
            const bb_dl_row *c = dl_find(l, a, b[i], w[k]);
            if (c)
                fprintf(f, " %.1f ms (max %.1f, first %.1f), %.0f items/s |", c->mean_wait_s * 1e3,
                        c->max_wait_s * 1e3, c->first_wait_s * 1e3, c->items_per_s);
            else
                fprintf(f, " - |");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\nCells: mean wait per batch after the first (its largest, and the first batch's wait), and the "
               "items/s delivered.\n\n");
}

static void dl_sentences(FILE *f, const bb_loading *l, const bb_dl_row *a, const int *w, int nw)
{
    for (int k = 0; k < nw; k++) {
        const bb_dl_row *lo, *hi;
        dl_extremes(l, a, w[k], &lo, &hi);
        if (!lo)
            continue;
        fprintf(f, "- %d worker%s: ", w[k], w[k] == 1 ? "" : "s");
        if (hi->max_wait_s < 1e-3)
            fprintf(f, "loading keeps up with the consumer: after the first batch no wait reaches 1 ms. ");
        else
            fprintf(f, "mean wait %.1f ms at batch %lld and %.1f ms at batch %lld (%.0fx the items). ",
                    lo->mean_wait_s * 1e3, (long long)lo->batch_size, hi->mean_wait_s * 1e3,
                    (long long)hi->batch_size, (double)hi->batch_size / (double)lo->batch_size);
        double period;
        if (bb_dl_spikes(hi, &period))
            fprintf(f, "At batch %lld the waits spike: about every %.1f batches one waits up to %.0f ms while the "
                    "others wait almost nothing (the consumer is faster than the workers). ", (long long)hi->batch_size,
                    period, hi->max_wait_s * 1e3);
        else if (hi->max_wait_s >= 1e-3)
            fprintf(f, "At batch %lld the waits are even (largest %.1f ms). ", (long long)hi->batch_size,
                    hi->max_wait_s * 1e3);
        fprintf(f, "The first batch took %.0f ms at batch %lld and %.0f ms at batch %lld.\n", lo->first_wait_s * 1e3,
                (long long)lo->batch_size, hi->first_wait_s * 1e3, (long long)hi->batch_size);
    }
    fprintf(f, "\n");
}

static int dl_workers(const bb_loading *l, const bb_dl_row *a, int *w)
{
    int n = 0;
    for (int i = 0; i < l->n_dl; i++) {
        int seen = 0, v = l->dl[i].workers;
        for (int k = 0; k < n; k++)
            seen |= w[k] == v;
        if (dl_same_group(a, &l->dl[i]) && !seen && n < 16) {
            int k = n++;
            for (; k > 0 && w[k - 1] > v; k--)
                w[k] = w[k - 1];
            w[k] = v;
        }
    }
    return n;
}

static void dataload_section(FILE *f, const bb_loading *l, const bb_figures *figs, unsigned formats)
{
    fprintf(f, "## Data loading (`batchbench dataload`)\n\n");
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *a = &l->dl[i];
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= !dl_same_group(a, &l->dl[j]);
        if (!first)
            continue;
        int w[16], nw = dl_workers(l, a, w);
        fprintf(f, "### %s items, loader mode %s,%s simulated inference %g s per batch\n\n", a->kind, a->mode,
                dl_procs(a) ? " worker processes," : "", a->sleep_s);
        dl_table(f, l, a, w, nw);
        dl_sentences(f, l, a, w, nw);
        char key[96];
        snprintf(key, sizeof key, "-%s-%s%s-sleep%g", a->kind, a->mode, dl_procs(a) ? "-procs" : "", a->sleep_s);
        for (char *p = key; *p; p++)
            *p = (*p == '.' || *p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= 'A' && *p <= 'Z') || *p == '_') ? *p : '_';
        embed_kind(f, figs, formats, BB_CHART_LOAD_VS_BATCH, key, 1);
        strncat(key, "-b", sizeof key - strlen(key) - 1);
        embed_kind(f, figs, formats, BB_CHART_LOAD_WAITS, key, 0);
    }
}

/* JPEG against preprocessed items: one worker, no simulated inference, the
 * largest batch size both kinds have. */
static void kinds_section(FILE *f, const bb_loading *l)
{
    const bb_dl_row *j = NULL, *p = NULL;
    for (int a = 0; a < l->n_dl; a++)
        for (int b = 0; b < l->n_dl; b++) {
            const bb_dl_row *x = &l->dl[a], *y = &l->dl[b];
            if (strcmp(x->kind, "jpeg") || strcmp(y->kind, "preprocessed") || x->workers != 1 || y->workers != 1 ||
                x->sleep_s != 0 || y->sleep_s != 0 || x->batch_size != y->batch_size || strcmp(x->mode, y->mode) ||
                strcmp(x->worker_kind, y->worker_kind) ||
                strcmp(x->status, "ok") || strcmp(y->status, "ok") || x->items_per_s <= 0 || y->items_per_s <= 0)
                continue;
            if (!j || x->batch_size > j->batch_size)
                j = x, p = y;
        }
    if (!j)
        return;
    double jb = j->mb_per_s / j->items_per_s, pb = p->mb_per_s / p->items_per_s; /* MB per item */
    fprintf(f, "### JPEG against preprocessed items\n\nOne worker at batch %lld: JPEG %.0f items/s (%.1f MB/s read), "
            "preprocessed %.0f items/s (%.1f MB/s). A JPEG item is %.1fx smaller on disk, yet %s %.1fx %s: %s\n\n",
            (long long)j->batch_size, j->items_per_s, j->mb_per_s, p->items_per_s, p->mb_per_s, jb > 0 ? pb / jb : 0,
            j->items_per_s < p->items_per_s ? "loading it is" : "it loads",
            j->items_per_s < p->items_per_s ? p->items_per_s / j->items_per_s : j->items_per_s / p->items_per_s,
            j->items_per_s < p->items_per_s ? "slower" : "faster",
            j->items_per_s < p->items_per_s ? "decoding and the transform are compute-bound, so JPEG loading is where "
                                              "workers (cores) pay."
                                            : "storage, not decoding, limits the preprocessed items here.");
}

/* The thread row of the same configuration as process row p, ok; or NULL. */
static const bb_dl_row *dl_thread_twin(const bb_loading *l, const bb_dl_row *p)
{
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *t = &l->dl[i];
        if (!dl_procs(t) && !strcmp(t->kind, p->kind) && !strcmp(t->mode, p->mode) && t->sleep_s == p->sleep_s &&
            t->batch_size == p->batch_size && t->workers == p->workers && !strcmp(t->status, "ok"))
            return t;
    }
    return NULL;
}

/* Rows by data set, mode, simulated inference, batch size, workers. */
static int cmp_dl_rows(const void *a, const void *b)
{
    const bb_dl_row *x = *(const bb_dl_row *const *)a, *y = *(const bb_dl_row *const *)b;
    int c = strcmp(x->kind, y->kind);
    c = c ? c : strcmp(x->mode, y->mode);
    c = c ? c : bb_cmp_double(&x->sleep_s, &y->sleep_s);
    c = c ? c : (x->batch_size > y->batch_size) - (x->batch_size < y->batch_size);
    return c ? c : (x->workers > y->workers) - (x->workers < y->workers);
}

/* Worker processes against threads, where the folders hold both for the same
 * (data set, mode, simulated inference, batch size, workers): the first wait
 * and the mean wait after it per kind, and what starting processes costs. */
static void worker_kinds_section(FILE *f, const bb_loading *l)
{
    double *extra = malloc(sizeof(double) * (size_t)(l->n_dl ? l->n_dl : 1));
    const bb_dl_row **rows = malloc(sizeof *rows * (size_t)(l->n_dl ? l->n_dl : 1));
    const bb_dl_row *most = NULL, *most_t = NULL; /* the pair with the most workers */
    int n = 0, n_rows = 0;
    for (int i = 0; rows && i < l->n_dl; i++)
        rows[n_rows++] = &l->dl[i];
    if (rows)
        qsort(rows, (size_t)n_rows, sizeof *rows, cmp_dl_rows);
    for (int i = 0; extra && i < n_rows; i++) {
        const bb_dl_row *p = rows[i], *t = dl_procs(p) && !strcmp(p->status, "ok") ? dl_thread_twin(l, p) : NULL;
        if (!t || p->mean_wait_s < 0 || t->mean_wait_s < 0)
            continue;
        if (n == 0)
            fprintf(f, "### Worker processes against threads\n\n| data set | mode | sleep s | batch | workers | first "
                       "wait, threads | first wait, processes | mean wait after it, threads | processes |\n"
                       "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        fprintf(f, "| %s | %s | %g | %lld | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", p->kind, p->mode,
                p->sleep_s, (long long)p->batch_size, p->workers, t->first_wait_s * 1e3, p->first_wait_s * 1e3,
                t->mean_wait_s * 1e3, p->mean_wait_s * 1e3);
        extra[n++] = p->first_wait_s - t->first_wait_s;
        if (!most || p->workers > most->workers)
            most = p, most_t = t;
    }
    if (n > 0) {
        qsort(extra, (size_t)n, sizeof *extra, bb_cmp_double);
        char threads[64] = "";
        if (most_t->start_s >= 0)
            snprintf(threads, sizeof threads, " against %.1f ms for as many threads", most_t->start_s * 1e3);
        fprintf(f, "\nThe first wait includes the workers' start. With processes it was a median %.1f ms %s than with "
                "threads over these %d configuration%s; starting %d worker processes (fork) took %.1f ms%s, a cost "
                "paid once, in the first batch, while later waits depend on loading alone.\n\n",
                fabs(extra[n / 2]) * 1e3, extra[n / 2] >= 0 ? "longer" : "shorter", n, n == 1 ? "" : "s", most->workers,
                most->start_s * 1e3, threads);
    }
    free(extra), free(rows);
}

int bb_pl_same_setup(const bb_pl_row *a, const bb_pl_row *b)
{
    return !strcmp(a->model, b->model) && !strcmp(a->device, b->device) && !strcmp(a->worker_kind, b->worker_kind);
}

static void pipeline_section(FILE *f, const bb_loading *l, const bb_figures *figs, unsigned formats)
{
    fprintf(f, "## End to end (`run --pipeline`): loading overlapped with inference\n\n");
    for (int i = 0; i < l->n_pl; i++) {
        const bb_pl_row *a = &l->pl[i], *best = NULL;
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= !bb_pl_same_setup(a, &l->pl[j]);
        if (!first)
            continue;
        for (int j = 0; j < l->n_pl; j++) {
            const bb_pl_row *r = &l->pl[j];
            if (bb_pl_same_setup(r, a) && !strcmp(r->status, "ok") &&
                (!best || r->items_per_s > best->items_per_s))
                best = r;
        }
        fprintf(f, "### %s on %s%s\n\n", a->model, a->device,
                strcmp(a->worker_kind, "process") ? "" : ", loader worker processes");
        if (!best) {
            fprintf(f, "No configuration ended ok.\n\n");
            continue;
        }
        fprintf(f, "Best: **batch %lld with %d loader worker%s, %.1f items/s**; the model waited for data %.0f%% of "
                "the time and the first result came after %.2f s. The forward passes alone ran at %.1f items/s "
                "there (sharing the processor with the loader when the model runs on the CPU). %s\n\n",
                (long long)best->batch_size, best->workers, best->workers == 1 ? "" : "s", best->items_per_s,
                100.0 * best->wait_fraction, best->first_result_s, best->forward_items_per_s,
                best->wait_fraction > 0.25 ? "Loading is the bottleneck: more workers (or cheaper items) would pay, "
                                             "a larger batch would not."
                                           : "Inference is the bottleneck: loading keeps up.");
        char key[192];
        snprintf(key, sizeof key, "-%s-%s%s", a->model, a->device, strcmp(a->worker_kind, "process") ? "" : "-procs");
        embed_kind(f, figs, formats, BB_CHART_PIPELINE_GRID, key, 1);
    }
}

void bb_loading_report(FILE *f, const bb_loading *l, const bb_figures *figs, unsigned formats)
{
    if (l->n_dl) {
        dataload_section(f, l, figs, formats);
        kinds_section(f, l);
        worker_kinds_section(f, l);
    }
    if (l->n_pl)
        pipeline_section(f, l, figs, formats);
    bb_os_report(f, l); /* one setting for all models (report/one_setting.h) */
    if (l->n_bad)
        fprintf(f, "%d data-loading result file%s could not be read (named in the warnings).\n\n", l->n_bad,
                l->n_bad == 1 ? "" : "s");
}
