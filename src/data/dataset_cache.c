/* dataset_cache.c — the paper preset's stored data set, made once per
 * machine and reused (dataset_cache.h). */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset_cache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "util/make_dirs.h"

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

int bb_dataset_cache_valid(const char *dir, int64_t items, char *why, size_t len)
{
    struct stat st;
    bb_dataset ds;
    bb_err err = {0};
    *why = '\0';
    if (stat(dir, &st) != 0)
        return 0;
    if (bb_dataset_open(&ds, dir, &err) != 0) /* the manifest, the kind and every shard's size */
        return snprintf(why, len, "%s", err.msg), 0;
    if (ds.items != items)
        snprintf(why, len, "it holds %lld items, not %lld", (long long)ds.items, (long long)items);
    else if (ds.seed != BB_DATASET_CACHE_SEED)
        snprintf(why, len, "its seed is %lld, not %u", (long long)ds.seed, BB_DATASET_CACHE_SEED);
    bb_dataset_close(&ds);
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
    if (bb_make_dirs(root, err) != 0)
        return -1;
    if (log)
        fprintf(log, "making the data set %s once for this machine: %lld random items (%.2f GB)%s%s\n", path,
                (long long)items, (double)items * BB_ITEM_FLOATS * sizeof(float) / 1e9,
                *why ? "; the one there was not usable: " : "", why);
    return make_into(path, items, err);
}
