/*
 * source.c — items from a data set folder of either kind (source.h).
 *
 * preprocessed: the manifest and shards are checked by bb_dataset_open
 * (bench/dataset.c); every shard is opened once here and an item is one
 * pread (thread-safe: no shared file offset). jpeg: the manifest lists the
 * files relative to DIR; an item is read, decoded and transformed per call
 * (data/image_transform.h). After open the struct is read-only, so any
 * number of threads may call bb_source_load at once.
 *
 * The jpeg manifest (written by data/jpeg_synth.c, or by hand for a folder
 * of real photographs): {"format": "batchbench-dataset", "version": 1,
 * "kind": "jpeg", "items": N, "files": ["images/img-00000.jpg", ...],
 * "bytes": total}; "bytes" is optional (then the files are stat'ed at open).
 */
#include "data/source.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/image_transform.h"

#define ITEM_BYTES ((int64_t)BB_ITEM_FLOATS * (int64_t)sizeof(float))
#define MAX_MANIFEST (64 << 20)

struct bb_source {
    char *dir;
    int jpeg, dct_scale;
    int64_t items;
    double item_bytes;
    bb_dataset ds; /* preprocessed */
    int *fds;      /* preprocessed: one per shard */
    char **files;  /* jpeg: paths relative to dir */
};

static char *read_text(const char *path, bb_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bb_err_set(err, "%s: cannot open: %s (make one with `batchbench dataset make`)", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 0 && len < MAX_MANIFEST && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1)))
        text[fread(text, 1, (size_t)len, f)] = '\0';
    fclose(f);
    if (!text)
        bb_err_set(err, "%s: cannot read", path);
    return text;
}

/* "kind": absent = preprocessed. */
static int manifest_kind(const cJSON *m, const char *path, int *jpeg, bb_err *err)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "format"),
                *kind = cJSON_GetObjectItemCaseSensitive(m, "kind");
    if (fmt && !(cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "batchbench-dataset")))
        return bb_err_set(err, "%s: not a batchbench data set manifest (format)", path);
    if (kind && !cJSON_IsString(kind))
        return bb_err_set(err, "%s: \"kind\" must be a string", path);
    const char *k = kind ? kind->valuestring : "preprocessed";
    if (strcmp(k, "preprocessed") != 0 && strcmp(k, "jpeg") != 0)
        return bb_err_set(err, "%s: unknown kind '%s' (expected preprocessed or jpeg)", path, k);
    *jpeg = !strcmp(k, "jpeg");
    return 0;
}

static int open_preprocessed(bb_source *s, bb_err *err)
{
    if (bb_dataset_open(&s->ds, s->dir, err) != 0)
        return -1;
    s->items = s->ds.items;
    s->item_bytes = (double)ITEM_BYTES;
    s->fds = malloc(sizeof(int) * (size_t)s->ds.n_shards);
    if (!s->fds)
        return bb_err_oom(err, "out of memory");
    for (int i = 0; i < s->ds.n_shards; i++)
        s->fds[i] = -1;
    for (int i = 0; i < s->ds.n_shards; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", s->dir, s->ds.shards[i]);
        if ((s->fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            return bb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    }
    return 0;
}

/* A relative path inside DIR: not absolute, no "..", not empty. */
static int safe_name(const char *f)
{
    if (!*f || *f == '/' || strlen(f) > 1024)
        return 0;
    for (const char *p = f; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == f || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 0;
    return 1;
}

/* Total bytes: the manifest's "bytes", else the files' sizes (missing = 0). */
static double total_bytes(const bb_source *s, const cJSON *bytes)
{
    if (cJSON_IsNumber(bytes) && bytes->valuedouble >= 0)
        return bytes->valuedouble;
    double total = 0;
    for (int64_t i = 0; i < s->items; i++) {
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", s->dir, s->files[i]);
        if (stat(path, &st) == 0)
            total += (double)st.st_size;
    }
    return total;
}

static int open_jpeg(bb_source *s, const cJSON *m, const char *path, bb_err *err)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(m, "items"),
                *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) < 1)
        return bb_err_set(err, "%s: a jpeg data set needs a non-empty \"files\" list", path);
    s->items = cJSON_GetArraySize(files);
    if (items && !(cJSON_IsNumber(items) && items->valuedouble == (double)s->items))
        return bb_err_set(err, "%s: \"items\" does not match the %lld files listed", path, (long long)s->items);
    if (!(s->files = calloc((size_t)s->items, sizeof *s->files)))
        return bb_err_oom(err, "out of memory");
    int64_t i = 0;
    for (const cJSON *f = files->child; f; f = f->next, i++) {
        if (!cJSON_IsString(f) || !safe_name(f->valuestring))
            return bb_err_set(err, "%s: file %lld is not a relative path inside the folder", path, (long long)i);
        if (!(s->files[i] = strdup(f->valuestring)))
            return bb_err_oom(err, "out of memory");
    }
    s->item_bytes = total_bytes(s, cJSON_GetObjectItemCaseSensitive(m, "bytes")) / (double)s->items;
    return 0;
}

/* No readable manifest: add what DIR holds instead (a folder of images,
 * another tool's files), so the message names the kind of folder found. */
static void describe_folder(const char *dir, bb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return; /* the message already says why */
    int jpeg = 0, other = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *x = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.')
            continue;
        if (x && (!strcasecmp(x, ".jpg") || !strcasecmp(x, ".jpeg")))
            jpeg++;
        else
            other++;
    }
    closedir(d);
    char was[sizeof err->msg];
    snprintf(was, sizeof was, "%s", err->msg);
    if (jpeg)
        bb_err_set(err, "%s; the folder holds %d JPEG file%s and %d other entr%s but no manifest: a folder of images "
                   "is read as kind jpeg through a manifest.json that lists them (README: dataset make)", was, jpeg,
                   jpeg == 1 ? "" : "s", other, other == 1 ? "y" : "ies");
    else
        bb_err_set(err, "%s; the folder holds %d entr%s and no manifest", was, other, other == 1 ? "y" : "ies");
}

static int open_manifest(bb_source *s, bb_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", s->dir);
    char *text = read_text(path, err);
    if (!text)
        return describe_folder(s->dir, err), -1;
    cJSON *m = cJSON_Parse(text);
    free(text);
    int rc = m ? manifest_kind(m, path, &s->jpeg, err) : bb_err_set(err, "%s: not valid JSON", path);
    if (rc == 0)
        rc = s->jpeg ? open_jpeg(s, m, path, err) : open_preprocessed(s, err);
    cJSON_Delete(m);
    return rc;
}

int bb_source_open(bb_source **out, const char *dir, const bb_source_opts *opts, bb_err *err)
{
    *out = NULL;
    if (strlen(dir) >= sizeof(((bb_dataset *)0)->dir))
        return bb_err_set(err, "%s: folder name too long", dir);
    bb_source *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return bb_err_oom(err, "out of memory");
    }
    s->dct_scale = opts ? opts->dct_scale : 0;
    if (open_manifest(s, err) != 0) {
        bb_source_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int64_t bb_source_items(const bb_source *s)
{
    return s->items;
}

const char *bb_source_kind(const bb_source *s)
{
    return s->jpeg ? "jpeg" : "preprocessed";
}

double bb_source_item_bytes(const bb_source *s)
{
    return s->item_bytes;
}

static int64_t load_preprocessed(const bb_source *s, int64_t i, float *dst, bb_err *err)
{
    int shard = (int)(i / s->ds.items_per_shard);
    off_t off = (off_t)((i % s->ds.items_per_shard) * ITEM_BYTES);
    char *p = (char *)dst;
    int64_t got = 0;
    while (got < ITEM_BYTES) {
        ssize_t r = pread(s->fds[shard], p + got, (size_t)(ITEM_BYTES - got), off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return bb_err_set(err, "%s/%s: %s reading item %lld", s->dir, s->ds.shards[shard],
                              r < 0 ? strerror(errno) : "short read", (long long)i);
        got += r;
    }
    return ITEM_BYTES;
}

int64_t bb_source_load(const bb_source *s, int64_t i, float *dst, bb_err *err)
{
    if (i < 0 || i >= s->items)
        return bb_err_set(err, "%s: item %lld is out of range (%lld items)", s->dir, (long long)i,
                          (long long)s->items);
    if (!s->jpeg)
        return load_preprocessed(s, i, dst, err);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, s->files[i]);
    return bb_imagenet_transform_file(path, s->dct_scale, dst, err);
}

int bb_source_read(const bb_source *s, int64_t first, int64_t n, float *dst, bb_err *err)
{
    for (int64_t i = 0; i < n; i++)
        if (bb_source_load(s, (first + i) % s->items, dst + i * BB_ITEM_FLOATS, err) < 0)
            return -1;
    return 0;
}

void bb_source_close(bb_source *s)
{
    if (!s)
        return;
    for (int i = 0; s->fds && i < s->ds.n_shards; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    free(s->fds);
    bb_dataset_close(&s->ds);
    for (int64_t i = 0; s->files && i < s->items; i++)
        free(s->files[i]);
    free(s->files);
    free(s->dir);
    free(s);
}
