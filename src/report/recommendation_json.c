/*
 * recommendation_json.c — recommendation.json from a results table
 * (recommendation_json.h).
 *
 * Why this file exists: it turns bb_table_recommend's answer into the
 * file's fields, under the conventions every batchbench JSON file follows
 * (report/json_out.h), so programs get exactly what report.md states.
 */
#include "report/recommendation_json.h"

#include <math.h>
#include <stdio.h>

#include "stats/recommend.h"
#include "util/json_out.h"

#define CONFIDENCE 0.95 /* of every interval bench/ratio.h computes */

static cJSON *batch_entry(const bb_recommendation *r, int i)
{
    const bb_ratio *v = &r->vs_best[i];
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "batch", r->batch[i]) &&
                               bb_json_num(o, "per_item_median_s", r->per_item_s[i]) &&
                               bb_json_num(o, "ratio_vs_best", v->ratio) && bb_json_num(o, "ci95_lo", v->ci_lo) &&
                               bb_json_num(o, "ci95_hi", v->ci_hi) && bb_json_num(o, "p_value", v->p_value) &&
                               cJSON_AddBoolToObject(o, "tied", r->tied[i]) != NULL &&
                               cJSON_AddBoolToObject(o, "borderline", r->borderline[i]) != NULL);
}

/* "rounds": how the rounds were judged (stats/rounds.h); null when they
 * were not known (one configuration at a time, older result files). */
static cJSON *rounds_json(const bb_recommendation *r)
{
    if (!r->screened)
        return cJSON_CreateNull();
    const bb_round_screen *s = &r->rounds;
    int disturbed[BB_ROUNDS_MAX], faster[BB_ROUNDS_MAX], far[BB_ROUNDS_MAX], n = 0, nf = 0, nr = 0;
    double rtt[BB_ROUNDS_MAX];
    for (int i = 0; i < s->n_rounds; i++) { /* 1-based, as the sentence numbers them */
        if (s->disturbed[i])
            disturbed[n++] = i + 1;
        if (s->faster[i])
            faster[nf++] = i + 1;
        if (s->far[i])
            far[nr++] = i + 1;
        rtt[i] = s->core_rtt_ns[i] > 0 ? s->core_rtt_ns[i] : NAN; /* written as null */
    }
    cJSON *o = cJSON_CreateObject();
    int ok = o && (s->n_rtt == 0 ? cJSON_AddNullToObject(o, "core_rtt_ns") != NULL
                                 : bb_json_obj(o, "core_rtt_ns", bb_json_reals(rtt, s->n_rounds)) &&
                                       bb_json_num(o, "far_above", BB_ROUNDS_FAR_RTT) &&
                                       bb_json_obj(o, "far", cJSON_CreateIntArray(far, nr)) &&
                                       bb_json_num(o, "near_rtt_ns", s->near_rtt_ns > 0 ? s->near_rtt_ns : NAN) &&
                                       bb_json_num(o, "far_rtt_ns", nr ? s->far_rtt_ns : NAN));
    return bb_json_done(o, ok && bb_json_str(o, "method", BB_ROUNDS_METHOD) && bb_json_int(o, "rounds", s->n_rounds) &&
                               bb_json_num(o, "disturbed_above", 1.0 + BB_DISTURBED_SLOWDOWN) &&
                               bb_json_obj(o, "slowdown", cJSON_CreateDoubleArray(s->slowdown, s->n_rounds)) &&
                               bb_json_obj(o, "disturbed", cJSON_CreateIntArray(disturbed, n)) &&
                               bb_json_num(o, "disturbed_slowdown", n ? s->disturbed_slowdown : NAN) &&
                               cJSON_AddBoolToObject(o, "left_out", s->applied) != NULL &&
                               bb_json_obj(o, "faster", cJSON_CreateIntArray(faster, nf)) &&
                               bb_json_num(o, "faster_slowdown", nf ? s->faster_slowdown : NAN));
}

/* The batch sizes set in mask ("tied_batches": r->tied, "rerun_may_answer":
 * r->rerun), or with mask NULL "batches": every batch size in full. */
static cJSON *batch_array(const bb_recommendation *r, const int *mask)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = 0; ok && i < r->n; i++) {
        if (mask && !mask[i])
            continue;
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)r->batch[i]);
        cJSON *e = mask ? cJSON_CreateRaw(num) : batch_entry(r, i);
        ok = e && cJSON_AddItemToArray(a, e);
        if (e && !ok)
            cJSON_Delete(e);
    }
    return bb_json_done(a, ok);
}

static int add_setup(cJSON *o, const bb_setup *s)
{
    return bb_json_str(o, "engine", s->engine) && bb_json_str(o, "device", s->device) &&
           bb_json_str(o, "precision", s->precision) && bb_json_str(o, "head", s->head) &&
           bb_json_str(o, "host", s->host) && bb_json_int(o, "threads", s->threads);
}

static cJSON *entry(const bb_setup *s, const char *model, const bb_recommendation *r)
{
    char sentence[BB_RECOMMEND_SENTENCE_LEN];
    bb_recommend_sentence(r, model, sentence, sizeof sentence);
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_str(o, "model", model) && add_setup(o, s) &&
                               bb_json_int(o, "best_batch", r->best_batch) &&
                               bb_json_obj(o, "tied_batches", batch_array(r, r->tied)) &&
                               bb_json_int(o, "recommended_batch", r->recommended_batch) &&
                               bb_json_obj(o, "rerun_may_answer", batch_array(r, r->rerun)) &&
                               bb_json_int(o, "knee_batch", r->knee_batch) && bb_json_num(o, "margin", r->margin) &&
                               bb_json_num(o, "confidence", CONFIDENCE) &&
                               bb_json_str(o, "method", BB_RECOMMEND_METHOD) &&
                               bb_json_str(o, "sentence", sentence) && bb_json_obj(o, "rounds", rounds_json(r)) &&
                               bb_json_obj(o, "batches", batch_array(r, NULL)));
}

/* Every (setup, model) with an answer; 0 on OOM. */
static int add_entries(cJSON *list, const bb_table *t)
{
    for (int s = 0; s < t->n_setups; s++)
        for (int m = 0; m < t->setups[s].n_models; m++) {
            bb_recommendation r;
            int rc = bb_table_recommend(t, s, t->setups[s].models[m], &r);
            if (rc < 0)
                return 0;
            if (rc > 0)
                continue; /* no usable result: nothing to recommend */
            cJSON *e = entry(&t->setups[s], t->setups[s].models[m], &r);
            if (!e || !cJSON_AddItemToArray(list, e))
                return cJSON_Delete(e), 0;
        }
    return 1;
}

cJSON *bb_recommendation_json(const bb_table *t)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
    int ok = o && list && bb_json_int(o, "schema_version", BB_RECOMMENDATION_SCHEMA_VERSION) &&
             bb_json_obj(o, "tool", bb_json_tool()) && bb_json_created(o) && add_entries(list, t);
    if (ok)
        ok = bb_json_obj(o, "recommendations", list);
    else
        cJSON_Delete(list);
    return bb_json_done(o, ok);
}

int bb_recommendation_json_write(const bb_table *t, const char *dir, char *path_out, size_t path_len, bb_err *err)
{
    cJSON *j = bb_recommendation_json(t);
    if (!j)
        return bb_err_oom(err, "out of memory building %s", BB_RECOMMENDATION_FILE);
    int rc = bb_json_write(dir, BB_RECOMMENDATION_FILE, j, path_out, path_len, err);
    cJSON_Delete(j);
    return rc;
}
