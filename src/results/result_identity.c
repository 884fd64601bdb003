/* result_identity.c — a result's identity key and file name (result_identity.h). */
#include "results/result_identity.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/backend_options.h"
#include "backends/backend.h"
#include "util/json_out.h"
#include "results/result.h"
#include "results/summary_csv.h"

static int is_gpu(const char *device)
{
    return strcmp(device, "cpu") != 0;
}

void bb_identity_of_result(const bb_result *r, const char *host, bb_identity *id)
{
    memset(id, 0, sizeof *id);
    snprintf(id->host, sizeof id->host, "%s", host && *host ? host : "unknown");
    snprintf(id->device, sizeof id->device, "%s", r->device);
    snprintf(id->model, sizeof id->model, "%s", r->model);
    snprintf(id->model_sha256, sizeof id->model_sha256, "%s", r->model_sha256);
    snprintf(id->engine, sizeof id->engine, "%s", r->engine[0] ? r->engine : "batchbench");
    snprintf(id->precision, sizeof id->precision, "%s", r->precision[0] ? r->precision : "fp32");
    snprintf(id->head, sizeof id->head, "%s", r->head[0] ? r->head : "features");
    snprintf(id->input, sizeof id->input, "%s", r->input_source[0] ? r->input_source : "random");
    id->batch_size = r->batch_size;
    id->threads = is_gpu(r->device) ? 0 : r->threads;
    bb_opt_identity(&r->options, r->device, id->options, sizeof id->options);
    id->idle_us = llround(r->measure.idle_s * 1e6);
    if (r->pipeline) {
        id->workers = r->pipeline->workers, id->prefetch = r->pipeline->prefetch;
        snprintf(id->load_mode, sizeof id->load_mode, "%s", r->pipeline->mode);
        snprintf(id->worker_kind, sizeof id->worker_kind, "%s",
                 r->pipeline->worker_kind[0] ? r->pipeline->worker_kind : "thread");
    }
}

static const char *str_at(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring && v->valuestring[0] ? v->valuestring : dflt;
}

/* A number, parsed from a file or as the writer holds it (a raw literal). */
static int64_t int_at(const cJSON *o, const char *key, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsRaw(v) && v->valuestring)
        return strtoll(v->valuestring, NULL, 10);
    /* a number no int64 holds (a damaged or crafted file) reads as absent:
     * the cast would be undefined (found by the fuzz_results target) */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18))
        return dflt;
    return (int64_t)v->valuedouble;
}

/* config.backend_options: the non-default ones that shape a measurement, in
 * the table's order. An option a batchbench result lacks ran as the option's
 * `absent` choice (cpu.split: before it existed every op was split over the
 * threads); other engines have no backend options. */
static void options_of_json(const cJSON *opts, const char *device, const char *engine, char *buf, size_t len)
{
    int ours = !strcmp(engine, "batchbench");
    bb_backend_options o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < BB_OPT_COUNT; i++) {
        const bb_opt_info *in = bb_opt_info_of((bb_opt_id)i);
        const cJSON *entry = cJSON_GetObjectItemCaseSensitive(opts, in->key);
        const char *v = str_at(entry, "value", entry || !ours ? NULL : in->absent);
        for (int c = 0; v && c < 4 && in->choices[c]; c++)
            if (!strcmp(v, in->choices[c]))
                o.value[i] = (unsigned char)c;
    }
    bb_opt_identity(&o, device, buf, len);
}

int bb_identity_of_json(const cJSON *root, bb_identity *id)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "environment");
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(root, "pipeline");
    memset(id, 0, sizeof *id);
    if (!cJSON_IsObject(cfg))
        return -1;
    snprintf(id->host, sizeof id->host, "%s", str_at(env, "host", "unknown"));
    snprintf(id->device, sizeof id->device, "%s", str_at(cfg, "device", "?"));
    snprintf(id->model, sizeof id->model, "%s", str_at(cfg, "model", "?"));
    snprintf(id->model_sha256, sizeof id->model_sha256, "%s", str_at(cfg, "model_sha256", ""));
    snprintf(id->engine, sizeof id->engine, "%s", str_at(cfg, "engine", "batchbench"));
    snprintf(id->precision, sizeof id->precision, "%s", str_at(cfg, "precision", "fp32"));
    snprintf(id->head, sizeof id->head, "%s", str_at(cfg, "head", "features"));
    snprintf(id->input, sizeof id->input, "%s", str_at(cfg, "input_source", "random"));
    id->batch_size = int_at(cfg, "batch_size", 0);
    id->threads = is_gpu(id->device) ? 0 : (int)int_at(cfg, "threads", 0);
    options_of_json(cJSON_GetObjectItemCaseSensitive(cfg, "backend_options"), id->device, id->engine, id->options,
                    sizeof id->options);
    const cJSON *idle = cJSON_GetObjectItemCaseSensitive(cfg, "idle_s");
    if (cJSON_IsNumber(idle) && idle->valuedouble > 0 && idle->valuedouble <= 1e6) /* else absent: back to back */
        id->idle_us = llround(idle->valuedouble * 1e6);
    if (cJSON_IsObject(pl)) {
        id->workers = (int)int_at(pl, "workers", 0), id->prefetch = (int)int_at(pl, "prefetch", 0);
        snprintf(id->load_mode, sizeof id->load_mode, "%s", str_at(pl, "mode", "batches"));
        snprintf(id->worker_kind, sizeof id->worker_kind, "%s", str_at(pl, "worker_kind", "thread"));
    }
    return 0;
}

const char *bb_identity_setup_head(const char *head)
{
    return strcmp(head, "graph") ? head : "features";
}

/* Everything but model and batch size, with the head as given. */
static void setup_part(const bb_identity *id, const char *head, char *buf, size_t len)
{
    int n = snprintf(buf, len, "host=%s;device=%s;precision=%s;head=%s;engine=%s;input=%s;threads=%d;options=%s",
                     id->host, id->device, id->precision, head, id->engine, id->input, id->threads, id->options);
    if (id->workers > 0 && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, ";workers=%d;load_mode=%s;prefetch=%d", id->workers, id->load_mode,
                      id->prefetch);
    if (id->workers > 0 && !strcmp(id->worker_kind, "process") && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, ";worker_kind=process");
    if (id->idle_us > 0 && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ";idle_ms=%.10g", (double)id->idle_us / 1000.0);
}

void bb_identity_setup_key(const bb_identity *id, char *buf, size_t len)
{
    setup_part(id, bb_identity_setup_head(id->head), buf, len);
}

void bb_identity_key(const bb_identity *id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "model=%s;batch_size=%" PRId64 ";", id->model, id->batch_size);
    if (n >= 0 && (size_t)n < len)
        setup_part(id, id->head, buf + n, len - (size_t)n);
    n = (int)strlen(buf);
    if (id->model_sha256[0] && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ";model_sha256=%s", id->model_sha256);
}

void bb_identity_plan_key(const bb_identity *id, char *buf, size_t len)
{
    bb_identity c = *id;
    c.host[0] = '\0';
    c.threads = 0;
    bb_identity_key(&c, buf, len);
}

void bb_identity_hash(const char *s, char out[9])
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    snprintf(out, 9, "%08" PRIx32, h);
}

char *bb_identity_filename(const bb_identity *id, int alt)
{
    char h[128], d[16], m[BB_MODEL_NAME_LEN], e[32], p[16], hd[16], tags[256] = "", hash[9], key[BB_IDENTITY_LEN];
    bb_json_sanitise(h, sizeof h, id->host);
    bb_json_sanitise(d, sizeof d, id->device);
    bb_json_sanitise(m, sizeof m, id->model);
    bb_json_sanitise(e, sizeof e, id->engine);
    bb_json_sanitise(p, sizeof p, id->precision);
    bb_json_sanitise(hd, sizeof hd, id->head);
    size_t n = 0;
    if (id->workers > 0)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-workers-%d%s", id->workers,
                              strcmp(id->worker_kind, "process") ? "" : "-procs");
    if (id->model_sha256[0])
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-sha256-%.8s", id->model_sha256);
    if (strcmp(id->precision, "fp32") != 0)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-%s", p);
    if (strcmp(bb_identity_setup_head(id->head), "features") != 0) /* "graph": said by the -sha256 tag */
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-%s", hd);
    if (strcmp(id->engine, "batchbench") != 0)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-engine-%s", e);
    if (strcmp(id->input, "random") != 0)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-%s", strcmp(id->input, "dataset") ? "input" : "dataset");
    if (id->workers > 0 && strcmp(id->load_mode, "batches") != 0)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-%s", strcmp(id->load_mode, "items") ? "mode" : "items");
    if (id->workers > 0 && id->prefetch != 2)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-prefetch-%d", id->prefetch);
    if (id->idle_us > 0 && n < sizeof tags)
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-idle-%.10gms", (double)id->idle_us / 1000.0);
    if (id->options[0] && n < sizeof tags) {
        bb_identity_hash(id->options, hash);
        n += (size_t)snprintf(tags + n, sizeof tags - n, "-opts-%s", hash);
    }
    if (alt && n < sizeof tags) {
        bb_identity_key(id, key, sizeof key);
        bb_identity_hash(key, hash);
        snprintf(tags + n, sizeof tags - n, "-id-%s", hash);
    }
    const char *fmt = id->workers > 0 ? "pipeline-%s-%s-model_name-%s-batch_size-%" PRId64 "%s.json"
                                      : "inference_time-%s-%s-model_name-%s-batch_size-%" PRId64 "%s.json";
    int len = snprintf(NULL, 0, fmt, h, d, m, id->batch_size, tags);
    char *s = len > 0 ? malloc((size_t)len + 1) : NULL;
    if (s)
        snprintf(s, (size_t)len + 1, fmt, h, d, m, id->batch_size, tags);
    return s;
}

/* 1 when path holds a result of identity `key`, 0 when it holds another
 * (or an unreadable file: it is not ours to replace), -1 when there is no
 * file (nothing, or something a rename cannot replace, where the write then
 * fails naming it). */
static int holds(const char *path, const char *key)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    bb_err err = {0};
    cJSON *j = bb_json_read_checked(path, BB_RESULT_SCHEMA_VERSION, "result", &err);
    bb_identity other;
    char other_key[BB_IDENTITY_LEN];
    int same = j && bb_identity_of_json(j, &other) == 0 &&
               (bb_identity_key(&other, other_key, sizeof other_key), strcmp(other_key, key) == 0);
    cJSON_Delete(j);
    return same;
}

int bb_identity_place(const char *dir, const bb_identity *id, char *path, size_t len, int *exists, bb_err *err)
{
    char key[BB_IDENTITY_LEN], first[1024] = "";
    bb_identity_key(id, key, sizeof key);
    for (int alt = 0; alt < 2; alt++) {
        char *name = bb_identity_filename(id, alt);
        if (!name)
            return bb_err_oom(err, "out of memory naming a result in '%s'", dir);
        snprintf(path, len, "%s/%s", dir, name);
        free(name);
        int h = holds(path, key);
        if (h != 0) {
            *exists = h == 1;
            return 0;
        }
        if (!alt)
            snprintf(first, sizeof first, "%s", path);
    }
    return bb_err_set(err, "'%s' and '%s' hold results of other configurations; not overwriting them (identity %s)",
                      first, path, key);
}
