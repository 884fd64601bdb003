/* json_out.c — the shared result-file conventions (json_out.h). */
#include "util/json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/atomic_file.h"
#include "util/version.h"

void bb_json_sanitise(char *dst, size_t len, const char *src)
{
    if (!src || !*src)
        src = "unknown";
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++) {
        char c = src[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                   c == '_' || c == '-';
        dst[i] = keep ? c : '_';
    }
    dst[i] = '\0';
}

int bb_json_int(cJSON *o, const char *key, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, v);
    return cJSON_AddRawToObject(o, key, b) != NULL;
}

int bb_json_u64(cJSON *o, const char *key, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRIu64, v);
    return cJSON_AddRawToObject(o, key, b) != NULL;
}

int bb_json_num(cJSON *o, const char *key, double v)
{
    return cJSON_AddNumberToObject(o, key, v) != NULL;
}

int bb_json_str(cJSON *o, const char *key, const char *v)
{
    return cJSON_AddStringToObject(o, key, v) != NULL;
}

int bb_json_obj(cJSON *o, const char *key, cJSON *child)
{
    if (!child)
        return 0;
    if (!cJSON_AddItemToObject(o, key, child)) {
        cJSON_Delete(child);
        return 0;
    }
    return 1;
}

cJSON *bb_json_done(cJSON *o, int ok)
{
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

cJSON *bb_json_tool(void)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_str(o, "name", "batchbench") && bb_json_str(o, "version", BB_VERSION) &&
                               bb_json_str(o, "git_commit", bb_git_commit()));
}

int bb_json_created(cJSON *o)
{
    char b[32];
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(b, sizeof b, "unknown");
    return bb_json_str(o, "created_utc", b);
}

cJSON *bb_json_reals(const double *v, int n)
{
    return n <= 0 ? cJSON_CreateArray() : cJSON_CreateDoubleArray(v, n);
}

char *bb_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int bb_write_text_line(const char *path, const char *text, const char *what, bb_err *err)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    if (!buf)
        return bb_err_oom(err, "out of memory writing %s '%s'", what, path);
    memcpy(buf, text, n);
    buf[n] = '\n';
    int rc = bb_write_atomic(path, buf, n + 1, what, err);
    free(buf);
    return rc;
}

int bb_json_write(const char *dir, const char *name, const cJSON *j, char *path_out, size_t path_len, bb_err *err)
{
    char *path = bb_path_join(dir, name);
    if (!path)
        return bb_err_oom(err, "out of memory naming the result file in '%s'", dir);
    int rc = 0;
    if (path_out && strlen(path) >= path_len)
        rc = bb_err_set(err, "result path too long: '%s'", path);
    char *text = rc == 0 ? cJSON_Print(j) : NULL;
    if (rc == 0 && !text)
        rc = bb_err_oom(err, "%s: could not encode the result (out of memory or a non-finite value)", path);
    if (rc == 0)
        rc = bb_write_text_line(path, text, "result file", err);
    if (rc == 0 && path_out)
        snprintf(path_out, path_len, "%s", path);
    cJSON_free(text);
    free(path);
    return rc;
}
