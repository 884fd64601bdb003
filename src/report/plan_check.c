/* plan_check.c — planned configurations of sharded sweeps without an ok
 * result (plan_check.h). */
#include "report/plan_check.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "results/summary_csv.h"

static int is_plan_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return !strncmp(e->d_name, "plan-", 5) && n > 10 && !strcmp(e->d_name + n - 5, ".json");
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static int done(const bb_table *t, const char *sweep, const char *key)
{
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        if (!strcmp(r->sweep, sweep) && !strcmp(r->plan_key, key) && !strcmp(r->status, "ok"))
            return 1;
    }
    return 0;
}

static int add_missing(bb_table *t, const char *text)
{
    char **nm = realloc(t->plan_missing, sizeof *nm * (size_t)(t->n_plan_missing + 1));
    if (!nm)
        return -1;
    t->plan_missing = nm;
    return (nm[t->n_plan_missing] = strdup(text)) ? (t->n_plan_missing++, 0) : -1;
}

/* One planned configuration: counted, and named when nothing answers it. */
static int check_one(bb_table *t, const cJSON *c, const char *sweep, int shards, const char *path, FILE *warn)
{
    const char *model = str_of(c, "model"), *key = str_of(c, "plan_key");
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(c, "batch_size"), *sh = cJSON_GetObjectItemCaseSensitive(c, "shard");
    if (!model || !key || !cJSON_IsNumber(bs) || !cJSON_IsNumber(sh) || !(bs->valuedouble >= 1 && bs->valuedouble <= 1e9))
        return 1;
    t->n_planned++;
    if (done(t, sweep, key))
        return 0;
    char text[512];
    snprintf(text, sizeof text, "%.40s batch %lld (shard %d/%d of sweep %.16s, `%.380s`)", model,
             (long long)bs->valuedouble, sh->valueint, shards, sweep, path);
    if (warn)
        fprintf(warn, "batchbench: warning: %s: %s batch %lld, planned for shard %d/%d, has no ok result\n", path,
                model, (long long)bs->valuedouble, sh->valueint, shards);
    return add_missing(t, text) != 0 ? -1 : 0;
}

/* One plan file; 1 when it is not a plan (skipped), -1 on OOM. */
static int check_plan(bb_table *t, const char *path, FILE *warn)
{
    bb_err e = {0};
    cJSON *j = bb_json_read_checked(path, 1, "plan", &e);
    const char *kind = str_of(j, "kind"), *sweep = str_of(j, "sweep");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "configurations");
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(j, "shards");
    int rc = j && kind && !strcmp(kind, "batchbench-plan") && sweep && cJSON_IsArray(list) && cJSON_IsNumber(shards) ? 0 : 1;
    const cJSON *c;
    if (rc == 0) {
        t->n_plans++;
        cJSON_ArrayForEach(c, list)
            if ((rc = check_one(t, c, sweep, shards->valueint, path, warn)) != 0)
                break;
    }
    cJSON_Delete(j);
    if (rc == 1) {
        t->n_corrupt++;
        return bb_table_skip(t, warn, path, e.msg[0] ? e.msg : "not a batchbench plan (kind, sweep, shards, "
                                                       "configurations with model, batch_size, shard, plan_key)");
    }
    return rc;
}

int bb_plan_check(bb_table *t, const char *const *dirs, int n_dirs, FILE *warn, bb_err *err)
{
    for (int d = 0; d < n_dirs; d++) {
        struct dirent **names = NULL;
        int n = scandir(dirs[d], &names, is_plan_file, alphasort), rc = 0;
        if (n < 0)
            return bb_err_set(err, "cannot read directory '%s': %s", dirs[d], strerror(errno));
        for (int i = 0; i < n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]->d_name);
            if (rc == 0)
                rc = check_plan(t, path, warn);
            free(names[i]);
        }
        free(names);
        if (rc < 0)
            return bb_err_oom(err, "out of memory reading plans in '%s'", dirs[d]);
    }
    return 0;
}
