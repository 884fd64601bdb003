/*
 * one_setting.h — one loader setting (batch size, worker count) for all
 * models, from end-to-end `run --pipeline` results.
 *
 * Why this file exists: the seed's third experiment (workers x batch size
 * end to end, eval/top_n_configs.py) does not stop at each model's fastest
 * setting: a deployment runs many models through one data loader, so it
 * ranks the settings measured for every model by their average regret
 * across models and by how many models have them among their top 3, and
 * names one (its readme: batch 128 with 12 workers for Imagenette). The
 * report does the same for every group of pipeline results holding two or
 * more models, and says why a setting could not be ranked.
 *
 * Regret of a setting for a model: its time per item there over the
 * model's best time per item (over all of the model's ok settings in the
 * group), minus 1; time per item = 1 / items_per_s end to end. A setting
 * is a candidate only when it ended ok for every model of the group. Order:
 * the lowest average regret; candidates within BB_OS_TIE of the lowest
 * remaining one tie, and a tie goes to more top-3 appearances, then the
 * smaller batch, then fewer workers.
 */
#ifndef BB_ONE_SETTING_H
#define BB_ONE_SETTING_H

#include <stdint.h>
#include <stdio.h>

#include "report/loading.h"

#define BB_OS_TIE 0.01 /* average regrets closer than this (1 percentage point) tie */
#define BB_OS_TOP 3    /* "top 3": the settings counted per model */

typedef struct {
    int64_t batch;
    int workers;
    double avg_regret;   /* mean over the models of (time / best time - 1) */
    double worst_regret; /* the largest of them */
    int worst_model;     /* index into bb_os_ranking.models */
    int top;             /* models that have this setting among their BB_OS_TOP fastest */
} bb_os_candidate;

typedef struct {
    int64_t batch;
    int workers;
    char why[256]; /* e.g. "not measured for resnet18; mobilenet_v2: oom" */
} bb_os_excluded;

typedef struct {
    char (*models)[BB_MODEL_NAME_LEN]; /* models with at least one ok setting, in the zoo's order */
    int n_models;
    bb_os_candidate *cand;  /* ranked, the setting to use first */
    int n_cand;
    bb_os_excluded *excl;   /* settings not ranked, by batch then workers */
    int n_excl;
} bb_os_ranking;

/* Ranks the settings of one group of pipeline rows (same device, loader
 * mode, folder). Returns 0; 1 when fewer than two models have an ok
 * setting (nothing to rank; out is empty); -1 when memory runs out. Free
 * with bb_os_free in every case. */
int bb_os_rank(const bb_pl_row *const *rows, int n, bb_os_ranking *out);
void bb_os_free(bb_os_ranking *r);

/* The report's "One setting for all models" section: one subsection per
 * group of l->pl with two or more models; nothing when there is none. */
void bb_os_report(FILE *f, const bb_loading *l);

#endif
