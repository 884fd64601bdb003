/*
 * safetensors.c — the safetensors reader and F32 writer (see safetensors.h).
 *
 * Why this file exists: it is the only place weight files are parsed, so all
 * the distrust lives here. The file is mapped read-only; the JSON header is
 * parsed with cJSON straight from the mapping (bounded by its length) and
 * every entry is checked before bb_st_open succeeds. Duplicate names (cJSON
 * keeps them) and overlapping byte ranges are found by sorting pointers.
 */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: doubles are exact below */

static const struct {
    const char *name;
    size_t size;
} DTYPES[] = {
    [BB_DT_F32] = {"F32", 4},  [BB_DT_F16] = {"F16", 2}, [BB_DT_BF16] = {"BF16", 2},
    [BB_DT_F64] = {"F64", 8},  [BB_DT_I64] = {"I64", 8}, [BB_DT_I32] = {"I32", 4},
    [BB_DT_I16] = {"I16", 2},  [BB_DT_I8] = {"I8", 1},   [BB_DT_U8] = {"U8", 1},
    [BB_DT_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof DTYPES / sizeof DTYPES[0]))

size_t bb_dtype_size(bb_dtype d)
{
    return ((int)d >= 0 && (int)d < N_DTYPES) ? DTYPES[d].size : 0;
}

const char *bb_dtype_name(bb_dtype d)
{
    return ((int)d >= 0 && (int)d < N_DTYPES) ? DTYPES[d].name : "?";
}

int64_t bb_st_numel(const bb_st_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

/* ---- small helpers ------------------------------------------------------ */

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* a*b into *out; 0 on success, -1 on uint64 overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* A JSON number that is an exact non-negative integer (<= 2^53). */
static int json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0 && d <= MAX_EXACT_INT) || (double)(uint64_t)d != d)
        return -1;
    *out = (uint64_t)d;
    return 0;
}

/* "[10,5]" */
static const char *shape_str(const bb_st_tensor *t, char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "",
                              (long long)t->dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, "]");
    return buf;
}

/* ---- mapping ------------------------------------------------------------ */

static int map_file(bb_safetensors *st, const char *path, bb_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return bb_err_set(err, "%s: not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return bb_err_set(err, "%s: file is %lld bytes, shorter than the 8-byte header length",
                          path, (long long)sb.st_size);
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (m == MAP_FAILED)
        return bb_err_set(err, "%s: cannot map: %s", path, strerror(saved));
    st->map = m;
    st->map_len = (size_t)sb.st_size;
    return 0;
}

/* ---- one tensor entry --------------------------------------------------- */

/* Fails if a key we rely on appears twice inside one entry. */
static int check_entry_keys(const char *path, const char *name, const cJSON *obj,
                            bb_err *err)
{
    static const char *const keys[] = {"dtype", "shape", "data_offsets"};
    for (int k = 0; k < 3; k++) {
        int count = 0;
        for (const cJSON *c = obj->child; c; c = c->next)
            count += c->string && strcmp(c->string, keys[k]) == 0;
        if (count > 1)
            return bb_err_set(err, "%s: tensor '%s': duplicate key '%s'", path, name, keys[k]);
    }
    return 0;
}

static int parse_dtype(const char *path, const cJSON *obj, bb_st_tensor *t, bb_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
    if (!v)
        return bb_err_set(err, "%s: tensor '%s': missing 'dtype'", path, t->name);
    if (!cJSON_IsString(v))
        return bb_err_set(err, "%s: tensor '%s': 'dtype' is not a string", path, t->name);
    for (int i = 0; i < N_DTYPES; i++) {
        if (strcmp(v->valuestring, DTYPES[i].name) == 0) {
            t->dtype = (bb_dtype)i;
            return 0;
        }
    }
    return bb_err_set(err, "%s: tensor '%s': unknown dtype '%.64s'", path, t->name,
                      v->valuestring);
}

static int parse_shape(const char *path, const cJSON *obj, bb_st_tensor *t, bb_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "shape");
    if (!v)
        return bb_err_set(err, "%s: tensor '%s': missing 'shape'", path, t->name);
    if (!cJSON_IsArray(v))
        return bb_err_set(err, "%s: tensor '%s': 'shape' is not an array", path, t->name);
    int n = cJSON_GetArraySize(v);
    if (n > BB_ST_MAX_DIMS)
        return bb_err_set(err, "%s: tensor '%s': shape has %d dims, at most %d supported",
                          path, t->name, n, BB_ST_MAX_DIMS);
    int i = 0;
    for (const cJSON *d = v->child; d; d = d->next, i++) {
        uint64_t u;
        if (json_uint(d, &u) != 0)
            return bb_err_set(err, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                              path, t->name, i);
        t->dims[i] = (int64_t)u;
    }
    t->ndim = n;
    return 0;
}

static int parse_offsets(const char *path, const cJSON *obj, bb_st_tensor *t, bb_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "data_offsets");
    if (!v)
        return bb_err_set(err, "%s: tensor '%s': missing 'data_offsets'", path, t->name);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
        json_uint(v->child, &t->begin) != 0 || json_uint(v->child->next, &t->end) != 0)
        return bb_err_set(err, "%s: tensor '%s': 'data_offsets' is not an array of two "
                          "non-negative integers", path, t->name);
    return 0;
}

/* Range inside the data section and exactly the size the shape needs. */
static int check_extent(const char *path, const bb_st_tensor *t, uint64_t data_len,
                        bb_err *err)
{
    char sh[256];
    if (t->begin > t->end)
        return bb_err_set(err, "%s: tensor '%s': data_offsets [%llu,%llu]: begin > end", path,
                          t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_len)
        return bb_err_set(err, "%s: tensor '%s': data_offsets [%llu,%llu] end beyond the "
                          "%llu-byte data section (truncated data)", path, t->name,
                          (unsigned long long)t->begin, (unsigned long long)t->end,
                          (unsigned long long)data_len);
    uint64_t need = bb_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++)
        if (mul_u64(need, (uint64_t)t->dims[i], &need) != 0)
            return bb_err_set(err, "%s: tensor '%s': shape %s of %s: size overflows", path,
                              t->name, shape_str(t, sh, sizeof sh), bb_dtype_name(t->dtype));
    if (t->end - t->begin != need)
        return bb_err_set(err, "%s: tensor '%s': data_offsets [%llu,%llu] but shape %s of %s "
                          "needs %llu bytes", path, t->name, (unsigned long long)t->begin,
                          (unsigned long long)t->end, shape_str(t, sh, sizeof sh),
                          bb_dtype_name(t->dtype), (unsigned long long)need);
    return 0;
}

static int parse_entry(const char *path, const cJSON *item, bb_st_tensor *t,
                       uint64_t data_len, bb_err *err)
{
    size_t len = strlen(item->string);
    if (len >= BB_ST_NAME_LEN)
        return bb_err_set(err, "%s: tensor '%.64s...': name is %zu bytes, at most %d", path,
                          item->string, len, BB_ST_NAME_LEN - 1);
    memcpy(t->name, item->string, len + 1);
    if (!cJSON_IsObject(item))
        return bb_err_set(err, "%s: tensor '%s': entry is not an object", path, t->name);
    if (check_entry_keys(path, t->name, item, err) != 0 || parse_dtype(path, item, t, err) != 0 ||
        parse_shape(path, item, t, err) != 0 || parse_offsets(path, item, t, err) != 0)
        return -1;
    return check_extent(path, t, data_len, err);
}

static int check_metadata(const char *path, const cJSON *item, bb_err *err)
{
    if (!cJSON_IsObject(item))
        return bb_err_set(err, "%s: '__metadata__' is not an object", path);
    for (const cJSON *c = item->child; c; c = c->next)
        if (!cJSON_IsString(c))
            return bb_err_set(err, "%s: '__metadata__' value '%.64s' is not a string", path,
                              c->string);
    return 0;
}

/* ---- whole-file checks -------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const bb_st_tensor *const *)a)->name,
                  (*(const bb_st_tensor *const *)b)->name);
}

static int cmp_range(const void *a, const void *b)
{
    const bb_st_tensor *x = *(const bb_st_tensor *const *)a;
    const bb_st_tensor *y = *(const bb_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int find_overlap(const char *path, const bb_st_tensor **v, int n, bb_err *err)
{
    qsort(v, (size_t)n, sizeof *v, cmp_range);
    const bb_st_tensor *prev = NULL; /* non-empty tensor reaching furthest */
    for (int i = 0; i < n; i++) {
        const bb_st_tensor *t = v[i];
        if (t->begin == t->end)
            continue;
        if (prev && t->begin < prev->end)
            return bb_err_set(err, "%s: tensors '%s' [%llu,%llu] and '%s' [%llu,%llu] have "
                              "overlapping data_offsets", path, prev->name,
                              (unsigned long long)prev->begin, (unsigned long long)prev->end,
                              t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
        if (!prev || t->end > prev->end)
            prev = t;
    }
    return 0;
}

/* Duplicate names, then overlapping byte ranges. */
static int check_tensor_set(const char *path, const bb_safetensors *st, bb_err *err)
{
    if (st->n < 2)
        return 0;
    const bb_st_tensor **v = malloc((size_t)st->n * sizeof *v);
    if (!v)
        return bb_err_set(err, "%s: out of memory", path);
    for (int i = 0; i < st->n; i++)
        v[i] = &st->tensors[i];
    int rc = 0;
    qsort(v, (size_t)st->n, sizeof *v, cmp_name);
    for (int i = 1; i < st->n && rc == 0; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            rc = bb_err_set(err, "%s: duplicate tensor name '%s'", path, v[i]->name);
    if (rc == 0)
        rc = find_overlap(path, v, st->n, err);
    free(v);
    return rc;
}

/* Walks the root object: metadata checked, tensors filled in. */
static int parse_entries(bb_safetensors *st, const char *path, const cJSON *root, bb_err *err)
{
    int count = 0, n_meta = 0;
    for (const cJSON *c = root->child; c; c = c->next)
        count += strcmp(c->string, "__metadata__") != 0;
    st->tensors = calloc(count ? (size_t)count : 1, sizeof *st->tensors);
    if (!st->tensors)
        return bb_err_set(err, "%s: out of memory for %d tensors", path, count);
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            if (++n_meta > 1)
                return bb_err_set(err, "%s: duplicate key '__metadata__'", path);
            if (check_metadata(path, c, err) != 0)
                return -1;
        } else if (parse_entry(path, c, &st->tensors[st->n++], st->data_len, err) != 0) {
            return -1;
        }
    }
    return check_tensor_set(path, st, err);
}

static int is_json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int parse_header(bb_safetensors *st, const char *path, const char *hdr, size_t len,
                        bb_err *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, len, &end, 0);
    if (!root) {
        size_t at = (end && end >= hdr && end <= hdr + len) ? (size_t)(end - hdr) : 0;
        return bb_err_set(err, "%s: header is not valid JSON (error near byte %zu)", path, at);
    }
    int rc = 0;
    for (const char *p = end; p && p < hdr + len && rc == 0; p++)
        if (!is_json_space((unsigned char)*p))
            rc = bb_err_set(err, "%s: header is not valid JSON (trailing bytes after the "
                            "object at byte %zu)", path, (size_t)(p - hdr));
    if (rc == 0 && !cJSON_IsObject(root))
        rc = bb_err_set(err, "%s: header JSON is not an object", path);
    if (rc == 0)
        rc = parse_entries(st, path, root, err);
    cJSON_Delete(root);
    return rc;
}

/* ---- public ------------------------------------------------------------- */

int bb_st_open(bb_safetensors *st, const char *path, bb_err *err)
{
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    if (map_file(st, path, err) != 0)
        goto fail;
    const unsigned char *base = st->map;
    uint64_t hlen = get_le64(base), room = (uint64_t)st->map_len - 8;
    if (hlen == 0) {
        bb_err_set(err, "%s: header length is 0", path);
        goto fail;
    }
    if (hlen > BB_ST_MAX_HEADER) {
        bb_err_set(err, "%s: oversized header: %llu bytes, at most %u", path,
                   (unsigned long long)hlen, BB_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > room) {
        bb_err_set(err, "%s: header length %llu is beyond the file (%llu bytes after the "
                   "length field)", path, (unsigned long long)hlen, (unsigned long long)room);
        goto fail;
    }
    st->data = base + 8 + hlen;
    st->data_len = room - hlen;
    if (parse_header(st, path, (const char *)base + 8, (size_t)hlen, err) != 0)
        goto fail;
    return 0;
fail:
    bb_st_close(st);
    return -1;
}

const bb_st_tensor *bb_st_find(const bb_safetensors *st, const char *name)
{
    for (int i = 0; st && name && i < st->n; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

const void *bb_st_data(const bb_safetensors *st, const bb_st_tensor *t)
{
    return st->data + t->begin;
}

void bb_st_close(bb_safetensors *st)
{
    if (!st)
        return;
    free(st->tensors);
    if (st->map && st->map_len)
        munmap(st->map, st->map_len);
    memset(st, 0, sizeof *st);
}

/* ---- writer ------------------------------------------------------------- */

/* Checks the writer's arguments; bytes[i] gets tensor i's byte count. */
static int writer_sizes(const char *path, int n, const char *const *names, const int *ndims,
                        const int64_t *const *dims, const float *const *data,
                        uint64_t *bytes, bb_err *err)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!names[i] || strlen(names[i]) >= BB_ST_NAME_LEN || !strcmp(names[i], "__metadata__"))
            return bb_err_set(err, "%s: tensor %d: missing, reserved or too long name", path, i);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return bb_err_set(err, "%s: duplicate tensor name '%s'", path, names[i]);
        if (ndims[i] < 0 || ndims[i] > BB_ST_MAX_DIMS || (ndims[i] > 0 && !dims[i]))
            return bb_err_set(err, "%s: tensor '%s': bad ndim %d", path, names[i], ndims[i]);
        uint64_t b = 4;
        for (int d = 0; d < ndims[i]; d++)
            if (dims[i][d] < 0 || mul_u64(b, (uint64_t)dims[i][d], &b) != 0)
                return bb_err_set(err, "%s: tensor '%s': negative or overflowing shape", path,
                                  names[i]);
        if (b > 0 && !data[i])
            return bb_err_set(err, "%s: tensor '%s': no data", path, names[i]);
        bytes[i] = b;
        total += b;
        if (total > (uint64_t)MAX_EXACT_INT)
            return bb_err_set(err, "%s: tensors too large", path);
    }
    return 0;
}

/* Compact JSON header, space-padded to a multiple of 8 bytes; malloc'd. */
static char *writer_header(int n, const char *const *names, const int *ndims,
                           const int64_t *const *dims, const uint64_t *bytes, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    uint64_t off = 0;
    for (int i = 0; root && i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, names[i]);
        cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = e ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        int ok = shape && offs && cJSON_AddStringToObject(e, "dtype", "F32");
        for (int d = 0; ok && d < ndims[i]; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)dims[i][d]));
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes[i])));
        off += bytes[i];
        if (!ok) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    char *json = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json)
        return NULL;
    size_t jl = strlen(json), padded = (jl + 7) / 8 * 8;
    char *out = malloc(padded);
    if (out) {
        memcpy(out, json, jl);
        memset(out + jl, ' ', padded - jl);
        *len = padded;
    }
    free(json);
    return out;
}

static int write_floats_le(FILE *f, const float *v, uint64_t count)
{
    unsigned char buf[4096];
    while (count > 0) {
        size_t k = count < sizeof buf / 4 ? (size_t)count : sizeof buf / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            for (int b = 0; b < 4; b++)
                buf[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
        }
        if (fwrite(buf, 4, k, f) != k)
            return -1;
        v += k;
        count -= k;
    }
    return 0;
}

static int write_file(const char *tmp, const char *hdr, size_t hlen, int n,
                      const float *const *data, const uint64_t *bytes)
{
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    unsigned char lenbuf[8];
    put_le64(lenbuf, hlen);
    int rc = (fwrite(lenbuf, 1, 8, f) == 8 && fwrite(hdr, 1, hlen, f) == hlen) ? 0 : -1;
    for (int i = 0; i < n && rc == 0; i++)
        rc = write_floats_le(f, data[i], bytes[i] / 4);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int bb_st_write_f32(const char *path, int n, const char *const *names, const int *ndims,
                    const int64_t *const *dims, const float *const *data, bb_err *err)
{
    if (n < 0 || (n > 0 && (!names || !ndims || !dims || !data)))
        return bb_err_set(err, "%s: bad tensor list", path);
    uint64_t *bytes = calloc(n ? (size_t)n : 1, sizeof *bytes);
    char *tmp = malloc(strlen(path) + 5);
    char *hdr = NULL;
    size_t hlen = 0;
    int rc = -1;
    if (!bytes || !tmp) {
        bb_err_set(err, "%s: out of memory", path);
    } else if (writer_sizes(path, n, names, ndims, dims, data, bytes, err) == 0) {
        hdr = writer_header(n, names, ndims, dims, bytes, &hlen);
        sprintf(tmp, "%s.tmp", path);
        if (!hdr)
            bb_err_set(err, "%s: out of memory building the header", path);
        else if (write_file(tmp, hdr, hlen, n, data, bytes) != 0 || rename(tmp, path) != 0)
            bb_err_set(err, "%s: cannot write: %s", path, strerror(errno));
        else
            rc = 0;
        if (rc != 0)
            unlink(tmp);
    }
    free(hdr);
    free(tmp);
    free(bytes);
    return rc;
}
