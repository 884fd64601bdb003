/* dataset.c — making and reading stored input items (dataset.h). */
#include "data/dataset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/model.h"
#include "util/atomic_file.h"
#include "util/make_dirs.h"

#define MANIFEST "manifest.json"

static int write_manifest(const char *dir, int64_t items, int64_t per, int n_shards, uint64_t seed, bb_err *err)
{
    cJSON *m = cJSON_CreateObject(), *shape = cJSON_AddArrayToObject(m, "item_shape"),
          *sh;
    cJSON_AddStringToObject(m, "format", "batchbench-dataset");
    cJSON_AddNumberToObject(m, "version", 1);
    cJSON_AddStringToObject(m, "kind", "preprocessed");
    cJSON_AddNumberToObject(m, "items", (double)items);
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(3));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(224));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(224));
    cJSON_AddStringToObject(m, "dtype", "float32");
    cJSON_AddNumberToObject(m, "items_per_shard", (double)per);
    cJSON_AddNumberToObject(m, "seed", (double)seed);
    sh = cJSON_AddArrayToObject(m, "shards");
    for (int i = 0; i < n_shards; i++) {
        char name[64];
        snprintf(name, sizeof name, "items-%05d.f32", i);
        cJSON_AddItemToArray(sh, cJSON_CreateString(name));
    }
    char *text = cJSON_Print(m), path[600];
    cJSON_Delete(m);
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST);
    int rc = text ? bb_write_atomic(path, text, strlen(text), "data set manifest", err) : bb_err_set(err, "out of memory");
    free(text);
    return rc;
}

int bb_dataset_make(const char *dir, int64_t items, int64_t per, uint64_t seed, bb_err *err)
{
    if (items < 1 || per < 1)
        return bb_err_set(err, "a data set needs at least one item per shard and one item");
    if (bb_make_dirs(dir, err) != 0)
        return -1;
    int n_shards = (int)((items + per - 1) / per);
    float *buf = malloc((size_t)per * BB_ITEM_FLOATS * sizeof(float));
    if (!buf)
        return bb_err_set(err, "out of memory for a shard of %lld items", (long long)per);
    int rc = 0;
    for (int s = 0; s < n_shards && rc == 0; s++) {
        int64_t n = items - (int64_t)s * per < per ? items - (int64_t)s * per : per;
        char path[600];
        snprintf(path, sizeof path, "%s/items-%05d.f32", dir, s);
        bb_random_input(buf, n * BB_ITEM_FLOATS, seed * 1000003ULL + (uint64_t)s);
        rc = bb_write_atomic(path, buf, (size_t)n * BB_ITEM_FLOATS * sizeof(float), "data set shard", err);
    }
    free(buf);
    return rc ? rc : write_manifest(dir, items, per, n_shards, seed, err);
}

static char *slurp(const char *path, bb_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bb_err_set(err, "%s: cannot open: %s (make one with `batchbench dataset make`)", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && len < (1 << 24) && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1))) {
            text[fread(text, 1, (size_t)len, f)] = '\0';
        }
    }
    fclose(f);
    if (!text)
        bb_err_set(err, "%s: cannot read", path);
    return text;
}

/* Says the manifest other items than the ones batchbench stores? (Both
 * fields are optional: older manifests have neither.) */
static int item_layout_differs(const cJSON *m)
{
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(m, "item_shape"),
                *dtype = cJSON_GetObjectItemCaseSensitive(m, "dtype");
    static const double want[3] = {3, 224, 224};
    if (dtype && !(cJSON_IsString(dtype) && !strcmp(dtype->valuestring, "float32")))
        return 1;
    if (!shape)
        return 0;
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 3)
        return 1;
    for (int i = 0; i < 3; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valuedouble != want[i])
            return 1;
    }
    return 0;
}

static int parse_manifest(bb_dataset *ds, const cJSON *m, const char *path, bb_err *err)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(m, "items"),
                *per = cJSON_GetObjectItemCaseSensitive(m, "items_per_shard"),
                *shards = cJSON_GetObjectItemCaseSensitive(m, "shards"),
                *kind = cJSON_GetObjectItemCaseSensitive(m, "kind"),
                *seed = cJSON_GetObjectItemCaseSensitive(m, "seed");
    if (kind && !(cJSON_IsString(kind) && !strcmp(kind->valuestring, "preprocessed")))
        return bb_err_set(err, "%s: kind '%s': not a data set of preprocessed items", path,
                          cJSON_IsString(kind) ? kind->valuestring : "?");
    if (item_layout_differs(m))
        return bb_err_set(err, "%s: items are not float32 [3, 224, 224] (item_shape, dtype)", path);
    /* counts up to 2^52 (exact in a double; the casts below stay defined),
     * and a shard's bytes within 2^62 (its offsets fit a long) */
    const double most = 4503599627370496.0, most_per = 4611686018427387904.0 / (BB_ITEM_FLOATS * sizeof(float));
    if (!cJSON_IsNumber(items) || !cJSON_IsNumber(per) || !cJSON_IsArray(shards) || !(items->valuedouble >= 1) ||
        !(per->valuedouble >= 1) || items->valuedouble > most || per->valuedouble > most_per)
        return bb_err_set(err, "%s: not a batchbench data set manifest (items, items_per_shard, shards)", path);
    ds->items = (int64_t)items->valuedouble, ds->items_per_shard = (int64_t)per->valuedouble;
    ds->seed = cJSON_IsNumber(seed) && seed->valuedouble >= 0 && seed->valuedouble <= most
                   ? (int64_t)seed->valuedouble
                   : -1;
    ds->n_shards = cJSON_GetArraySize(shards);
    if ((int64_t)ds->n_shards != (ds->items + ds->items_per_shard - 1) / ds->items_per_shard)
        return bb_err_set(err, "%s: %d shards listed for %lld items", path, ds->n_shards, (long long)ds->items);
    ds->shards = calloc((size_t)ds->n_shards, sizeof *ds->shards);
    if (!ds->shards)
        return bb_err_set(err, "out of memory");
    for (int i = 0; i < ds->n_shards; i++) {
        const cJSON *s = cJSON_GetArrayItem(shards, i);
        if (!cJSON_IsString(s) || strchr(s->valuestring, '/') || strlen(s->valuestring) >= sizeof ds->shards[0])
            return bb_err_set(err, "%s: shard %d is not a plain file name", path, i);
        snprintf(ds->shards[i], sizeof ds->shards[i], "%s", s->valuestring);
    }
    return 0;
}

/* Every shard exists with exactly the bytes its items need. */
static int check_shards(const bb_dataset *ds, bb_err *err)
{
    for (int i = 0; i < ds->n_shards; i++) {
        char path[600];
        struct stat st;
        int64_t n = i == ds->n_shards - 1 ? ds->items - (int64_t)i * ds->items_per_shard : ds->items_per_shard;
        snprintf(path, sizeof path, "%s/%s", ds->dir, ds->shards[i]);
        if (stat(path, &st) != 0)
            return bb_err_set(err, "%s: missing shard: %s", path, strerror(errno));
        if ((int64_t)st.st_size != n * BB_ITEM_FLOATS * (int64_t)sizeof(float))
            return bb_err_set(err, "%s: %lld bytes, expected %lld for %lld items", path, (long long)st.st_size,
                              (long long)(n * BB_ITEM_FLOATS * (int64_t)sizeof(float)), (long long)n);
    }
    return 0;
}

int bb_dataset_open(bb_dataset *ds, const char *dir, bb_err *err)
{
    memset(ds, 0, sizeof *ds);
    snprintf(ds->dir, sizeof ds->dir, "%s", dir);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST);
    char *text = slurp(path, err);
    if (!text)
        return -1;
    cJSON *m = cJSON_Parse(text);
    free(text);
    int rc = m ? parse_manifest(ds, m, path, err) : bb_err_set(err, "%s: not valid JSON", path);
    cJSON_Delete(m);
    if (rc == 0)
        rc = check_shards(ds, err);
    if (rc != 0)
        bb_dataset_close(ds);
    return rc;
}

static int read_run(const bb_dataset *ds, int64_t item, int64_t n, float *dst, bb_err *err)
{
    int shard = (int)(item / ds->items_per_shard);
    int64_t off = item % ds->items_per_shard;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", ds->dir, ds->shards[shard]);
    FILE *f = fopen(path, "rb");
    if (!f)
        return bb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    size_t want = (size_t)n * BB_ITEM_FLOATS;
    int ok = fseek(f, (long)(off * BB_ITEM_FLOATS * (int64_t)sizeof(float)), SEEK_SET) == 0 &&
             fread(dst, sizeof(float), want, f) == want;
    fclose(f);
    return ok ? 0 : bb_err_set(err, "%s: short read at item %lld", path, (long long)off);
}

int bb_dataset_read(const bb_dataset *ds, int64_t first, int64_t n, float *dst, bb_err *err)
{
    int64_t item = first % ds->items;
    while (n > 0) {
        int64_t in_shard = ds->items_per_shard - item % ds->items_per_shard;
        int64_t to_end = ds->items - item;
        int64_t k = n < in_shard ? n : in_shard;
        k = k < to_end ? k : to_end;
        if (read_run(ds, item, k, dst, err) != 0)
            return -1;
        dst += k * BB_ITEM_FLOATS, n -= k;
        item = (item + k) % ds->items;
    }
    return 0;
}

void bb_dataset_close(bb_dataset *ds)
{
    free(ds->shards);
    ds->shards = NULL;
}
