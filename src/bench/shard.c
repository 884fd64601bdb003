/* shard.c — one deterministic part of a sweep, its plan file and what a
 * sharded sweep already finished (shard.h). */
#include "bench/shard.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "engine/facts.h"
#include "results/result.h"
#include "results/result_identity.h"
#include "results/summary_csv.h"
#include "util/atomic_file.h"
#include "util/json_out.h"

int bb_shard_parse(const char *arg, int allow_all, int *index, int *count)
{
    char *end;
    const char *slash = arg ? strchr(arg, '/') : NULL;
    if (!slash || slash == arg)
        return -1;
    long i = 0;
    if (allow_all && (size_t)(slash - arg) == 3 && !strncmp(arg, "all", 3))
        i = 0;
    else if ((i = strtol(arg, &end, 10)) < 1 || end != slash)
        return -1;
    long n = strtol(slash + 1, &end, 10);
    if (*end || slash[1] < '0' || slash[1] > '9' || n < 1 || n > BB_SHARD_MAX || i > n)
        return -1;
    *index = (int)i, *count = (int)n;
    return 0;
}

typedef struct {
    int m, b;
    long long cost_us; /* whole microseconds: the order may not hang on a float's last bit */
} shard_item;

static int by_cost(const void *x, const void *y)
{
    const shard_item *a = x, *b = y;
    if (a->cost_us != b->cost_us)
        return a->cost_us < b->cost_us ? 1 : -1;
    return a->m != b->m ? a->m - b->m : a->b - b->b;
}

static double nominal_rate(const bb_sweep_cfg *cfg)
{
    return strcmp(bb_config_device(&cfg->config), "cuda") == 0 ? BB_SHARD_GPU_GFLOPS : BB_SHARD_CPU_GFLOPS;
}

/* The nominal cost of every configuration into p->cost, items[] filled. */
static int costs(const bb_sweep_cfg *cfg, bb_shard_plan *p, shard_item *items, bb_err *err)
{
    int n = 0;
    bb_model_ref tmp;
    for (int m = 0; m < cfg->n_models; m++) {
        bb_err e = {0};
        const bb_model_ref *ref = bb_sweep_model_ref(cfg, m, &tmp, &e);
        if (!ref)
            return bb_err_set(err, "--shard: model '%s' cannot be built: %s", cfg->models[m], e.msg);
        for (int b = 0; b < cfg->n_batches; b++) { /* the cost needs MACs and weight bytes: the same at any batch */
            p->cost[m][b] = bb_sweep_config_estimate(cfg, &ref->facts, cfg->batches[b], nominal_rate(cfg));
            items[n++] = (shard_item){m, b, (long long)(p->cost[m][b] * 1e6 + 0.5)};
        }
    }
    return n;
}

int bb_shard_partition(const bb_sweep_cfg *cfg, int count, bb_shard_plan *p, bb_err *err)
{
    memset(p, 0, sizeof *p);
    p->count = count;
    shard_item items[BB_SWEEP_MAX * BB_SWEEP_MAX];
    int n = costs(cfg, p, items, err);
    if (n < 0)
        return -1;
    qsort(items, (size_t)n, sizeof *items, by_cost);
    long long load_us[BB_SHARD_MAX] = {0};
    for (int i = 0; i < n; i++) { /* the longest first, to the least loaded shard */
        int best = 0;
        for (int s = 1; s < count; s++)
            if (load_us[s] < load_us[best])
                best = s;
        load_us[best] += items[i].cost_us;
        p->owner[items[i].m][items[i].b] = best + 1;
        p->load[best] += p->cost[items[i].m][items[i].b];
        p->n_configs[best]++;
    }
    return 0;
}

void bb_shard_print(FILE *f, const bb_sweep_cfg *cfg, const bb_shard_plan *p, int index, double rate_gflops)
{
    double scale = rate_gflops > 0 ? nominal_rate(cfg) / rate_gflops : 1.0, total = 0.0;
    int n_all = 0;
    for (int s = 0; s < p->count; s++)
        total += p->load[s], n_all += p->n_configs[s];
    double mean = total / p->count;
    if (index > 0) {
        fprintf(f, "shard %d/%d: %d of %d configurations, estimated %.0f s (%.2fx the mean shard)\n", index, p->count,
                p->n_configs[index - 1], n_all, p->load[index - 1] * scale,
                mean > 0 ? p->load[index - 1] / mean : 0.0);
        for (int m = 0; m < cfg->n_models; m++)
            for (int b = 0; b < cfg->n_batches; b++)
                if (p->owner[m][b] == index)
                    fprintf(f, "  %-18s batch %-6lld estimated %8.1f s\n", bb_sweep_model_name(cfg, m),
                            (long long)cfg->batches[b], p->cost[m][b] * scale);
        return;
    }
    fprintf(f, "%d configurations in %d shards, estimated %.0f s in all, %.0f s per shard on average\n", n_all,
            p->count, total * scale, mean * scale);
    fprintf(f, "%-7s %14s %12s %12s\n", "shard", "configurations", "estimated_s", "vs_mean");
    for (int s = 0; s < p->count; s++)
        fprintf(f, "%3d/%-3d %14d %12.1f %11.3fx\n", s + 1, p->count, p->n_configs[s], p->load[s] * scale,
                mean > 0 ? p->load[s] / mean : 0.0);
}

void bb_shard_plan_key(const bb_sweep_cfg *cfg, int m, int bi, char *buf, size_t len)
{
    bb_result r;
    bb_identity id;
    bb_sweep_fill_result(cfg, cfg->config.threads, NULL, m, bi, &r);
    bb_identity_of_result(&r, "", &id);
    bb_identity_plan_key(&id, buf, len);
}

void bb_shard_sweep_id(const bb_sweep_cfg *cfg, const char *hardware, char out[9])
{
    size_t cap = strlen(hardware) + 2 + (size_t)(cfg->n_models * cfg->n_batches) * (BB_IDENTITY_LEN + 1);
    char *all = malloc(cap), key[BB_IDENTITY_LEN];
    if (!all) { /* the hardware alone still tells sweeps on different machines apart */
        bb_identity_hash(hardware, out);
        return;
    }
    size_t n = (size_t)snprintf(all, cap, "%s\n", hardware);
    for (int m = 0; m < cfg->n_models; m++)
        for (int b = 0; b < cfg->n_batches; b++) {
            bb_shard_plan_key(cfg, m, b, key, sizeof key);
            n += (size_t)snprintf(all + n, cap - n, "%s\n", key);
        }
    bb_identity_hash(all, out);
    free(all);
}

static cJSON *plan_json(const bb_sweep_cfg *cfg, const bb_shard_plan *p, const char *sweep, const char *hardware)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
    char key[BB_IDENTITY_LEN];
    int ok = o && list && bb_json_str(o, "kind", "batchbench-plan") && bb_json_int(o, "schema_version", 1) &&
             bb_json_str(o, "sweep", sweep) && bb_json_str(o, "hardware", hardware) && bb_json_int(o, "shards", p->count);
    for (int m = 0; ok && m < cfg->n_models; m++)
        for (int b = 0; ok && b < cfg->n_batches; b++) {
            cJSON *c = cJSON_CreateObject();
            bb_shard_plan_key(cfg, m, b, key, sizeof key);
            ok = c && bb_json_str(c, "model", bb_sweep_model_name(cfg, m)) &&
                 bb_json_int(c, "batch_size", cfg->batches[b]) &&
                 bb_json_int(c, "shard", p->owner[m][b]) && bb_json_num(c, "nominal_cost_s", p->cost[m][b]) &&
                 bb_json_str(c, "plan_key", key);
            if (c && !cJSON_AddItemToArray(list, c))
                cJSON_Delete(c), ok = 0;
        }
    if (ok && cJSON_AddItemToObject(o, "configurations", list))
        return o;
    cJSON_Delete(list);
    cJSON_Delete(o);
    return NULL;
}

int bb_shard_write_plan(const bb_sweep_cfg *cfg, const bb_shard_plan *p, const char *sweep, const char *hardware,
                        bb_err *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/plan-%s.json", cfg->out_dir, sweep);
    cJSON *o = plan_json(cfg, p, sweep, hardware);
    char *text = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return bb_err_oom(err, "out of memory writing '%s'", path);
    int rc = bb_write_atomic(path, text, strlen(text), "plan", err);
    free(text);
    return rc;
}

/* ---- what a sharded sweep already finished ---------------------------------- */

struct bb_shard_done {
    char (*keys)[BB_IDENTITY_LEN];
    char **paths;
    int n;
};

static int is_inference_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return !strncmp(e->d_name, "inference_time-", 15) && n > 20 && !strcmp(e->d_name + n - 5, ".json");
}

/* Adds path when it is an ok result of the sweep; -1 on OOM. */
static int consider(bb_shard_done *d, const char *path, const char *sweep)
{
    bb_err e = {0};
    cJSON *j = bb_json_read_checked(path, 1, "result", &e);
    const cJSON *sw = bb_json_field(j, "config", "sweep"), *st = bb_json_field(j, NULL, "status");
    bb_identity id;
    int mine = cJSON_IsString(sw) && !strcmp(sw->valuestring, sweep) && cJSON_IsString(st) &&
               !strcmp(st->valuestring, "ok") && bb_identity_of_json(j, &id) == 0;
    cJSON_Delete(j);
    if (!mine)
        return 0;
    void *k = realloc(d->keys, sizeof *d->keys * (size_t)(d->n + 1));
    if (k)
        d->keys = k;
    char **p = k ? realloc(d->paths, sizeof *d->paths * (size_t)(d->n + 1)) : NULL;
    if (p)
        d->paths = p;
    if (!k || !p || !(d->paths[d->n] = strdup(path)))
        return -1;
    bb_identity_plan_key(&id, d->keys[d->n], sizeof d->keys[0]);
    d->n++;
    return 0;
}

bb_shard_done *bb_shard_done_scan(const char *dir, const char *sweep, bb_err *err)
{
    bb_shard_done *d = calloc(1, sizeof *d);
    struct dirent **names = NULL;
    int n = d ? scandir(dir, &names, is_inference_file, alphasort) : 0, rc = d ? 0 : -1;
    for (int i = 0; i < n; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (rc == 0)
            rc = consider(d, path, sweep);
        free(names[i]);
    }
    free(names);
    if (rc != 0) {
        bb_shard_done_free(d);
        bb_err_oom(err, "out of memory reading '%s'", dir);
        return NULL;
    }
    return d;
}

const char *bb_shard_done_find(const bb_shard_done *d, const char *plan_key)
{
    for (int i = 0; d && i < d->n; i++)
        if (!strcmp(d->keys[i], plan_key))
            return d->paths[i];
    return NULL;
}

void bb_shard_done_free(bb_shard_done *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->n; i++)
        free(d->paths[i]);
    free(d->paths);
    free(d->keys);
    free(d);
}
