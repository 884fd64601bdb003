/* dataset_cache.c — the paper preset's stored data set, made once per
 * machine and reused (dataset_cache.h). */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset_cache.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"

#define ITEMS_PER_SHARD 1024

int bb_dataset_cache_root(char *buf, size_t len, bb_err *err)
{
    const char *v;
    if ((v = getenv("BATCHBENCH_CACHE")) && *v)
        snprintf(buf, len, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v)
        snprintf(buf, len, "%s/batchbench", v);
    else if ((v = getenv("HOME")) && *v)
        snprintf(buf, len, "%s/.cache/batchbench", v);
    else
        return bb_err_set(err, "no cache folder for the data set: set BATCHBENCH_CACHE (or pass --data DIR)");
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n + 1)))
            text[fread(text, 1, (size_t)n, f)] = '\0';
    }
    if (f)
        fclose(f);
    return text;
}

static double number(const cJSON *m, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The manifest's promises against the request; "" when they agree. */
static void check_manifest(const cJSON *m, int64_t items, char *why, size_t len)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(m, "kind");
    if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "preprocessed")))
        snprintf(why, len, "it is not a preprocessed data set");
    else if (number(m, "items") != (double)items)
        snprintf(why, len, "it holds %.0f items, not %lld", number(m, "items"), (long long)items);
    else if (number(m, "seed") != (double)BB_DATASET_CACHE_SEED)
        snprintf(why, len, "its seed is %.0f, not %u", number(m, "seed"), BB_DATASET_CACHE_SEED);
    else if (number(m, "items_per_shard") < 1)
        snprintf(why, len, "its manifest has no items_per_shard");
}

/* Every shard the size the manifest implies; "" when so. */
static void check_shards(const char *dir, const cJSON *m, int64_t items, char *why, size_t len)
{
    int64_t per = (int64_t)number(m, "items_per_shard"), n_shards = (items + per - 1) / per;
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(m, "shards");
    if (!cJSON_IsArray(shards) || cJSON_GetArraySize(shards) != n_shards) {
        snprintf(why, len, "its manifest lists %d shards, not %lld", cJSON_GetArraySize(shards), (long long)n_shards);
        return;
    }
    for (int64_t s = 0; s < n_shards; s++) {
        const cJSON *name = cJSON_GetArrayItem(shards, (int)s);
        int64_t n = items - s * per < per ? items - s * per : per;
        char path[1200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, cJSON_IsString(name) ? name->valuestring : "");
        if (stat(path, &st) != 0 || st.st_size != n * BB_ITEM_FLOATS * (int64_t)sizeof(float)) {
            snprintf(why, len, "shard %s is missing or has the wrong size", path);
            return;
        }
    }
}

int bb_dataset_cache_valid(const char *dir, int64_t items, char *why, size_t len)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    *why = '\0';
    struct stat st;
    if (stat(dir, &st) != 0)
        return 0;
    char *text = slurp(path);
    cJSON *m = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!m)
        snprintf(why, len, "%s is missing or not JSON", path);
    else
        check_manifest(m, items, why, len);
    if (m && !*why)
        check_shards(dir, m, items, why, len);
    cJSON_Delete(m);
    return *why == '\0';
}

/* Removes a flat folder of files (a data set); errors are ignored. */
static void remove_flat(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1400];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int mkdir_p(const char *dir, bb_err *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return bb_err_set(err, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return bb_err_set(err, "%s: cannot create folder: %s", buf, strerror(errno));
    return 0;
}

/* Makes the set in a temporary folder and renames it into place; when
 * another run got there first with a valid set, its set is kept. */
static int make_into(const char *path, int64_t items, bb_err *err)
{
    char tmp[1100], why[256];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    remove_flat(tmp);
    if (bb_dataset_make(tmp, items, ITEMS_PER_SHARD, BB_DATASET_CACHE_SEED, err) != 0)
        return remove_flat(tmp), -1;
    if (bb_dataset_cache_valid(path, items, why, sizeof why))
        return remove_flat(tmp), 0;
    remove_flat(path); /* an invalid set: replaced */
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove_flat(tmp);
        if (bb_dataset_cache_valid(path, items, why, sizeof why))
            return 0;
        return bb_err_set(err, "%s: cannot move the new data set into place: %s", path, strerror(e));
    }
    return 0;
}

int bb_dataset_cache_get(const char *root, int64_t items, char *path, size_t len, FILE *log, bb_err *err)
{
    char why[512];
    if (snprintf(path, len, "%s/random-%lld", root, (long long)items) >= (int)len)
        return bb_err_set(err, "%s: cache folder name too long", root);
    if (bb_dataset_cache_valid(path, items, why, sizeof why))
        return 0;
    if (mkdir_p(root, err) != 0)
        return -1;
    if (log)
        fprintf(log, "making the data set %s once for this machine: %lld random items (%.2f GB)%s%s\n", path,
                (long long)items, (double)items * BB_ITEM_FLOATS * sizeof(float) / 1e9,
                *why ? "; the one there was not usable: " : "", why);
    return make_into(path, items, err);
}
