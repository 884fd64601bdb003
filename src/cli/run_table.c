/*
 * run_table.c — the table `batchbench run` prints when its sweep is done:
 * ms per item per (model, batch size), the batch sizes tied within noise,
 * and the one to use, with a sentence per model.
 *
 * Why this file exists: the terminal is where most users read the answer,
 * so it must be the same answer as report.md and recommendation.json. It
 * therefore reads the results back through the report's loader and asks
 * bb_table_recommend, exactly as the report does, instead of taking an
 * argmin of its own. Configurations kept by --resume, and batch sizes of
 * the same setup measured earlier into the folder, are included (as in
 * the report). A shard (run --shard) prints its times but no answer: that
 * needs every shard's results.
 */
#include "cli/run_table.h"

#include <stdlib.h>
#include <string.h>

#include "stats/recommend.h"
#include "report/results_load.h"
#include "results/result.h"
#include "results/result_identity.h"

/* The setup of this sweep's results in the loaded folder (the same identity
 * but for model and batch size), or -1. */
static int find_setup(const bb_table *t, const bb_sweep_cfg *cfg, const bb_sweep_result *res)
{
    bb_result probe;
    bb_identity id;
    char key[BB_IDENTITY_LEN];
    bb_sweep_fill_result(cfg, res->threads_used, NULL, 0, 0, &probe);
    bb_identity_of_result(&probe, res->host, &id);
    bb_identity_setup_key(&id, key, sizeof key);
    for (int i = 0; i < t->n_setups; i++)
        if (!strcmp(t->setups[i].key, key))
            return i;
    return -1;
}

/* The model column: 18 wide, or the longest name (an imported file's). */
static int name_width(const bb_sweep_cfg *cfg)
{
    int w = 18;
    for (int m = 0; m < cfg->n_models; m++) {
        int n = (int)strlen(bb_sweep_model_name(cfg, m));
        w = n > w ? n : w;
    }
    return w;
}

static void print_row(FILE *f, const bb_sweep_cfg *cfg, const bb_sweep_result *res, int m,
                      const bb_recommendation *rec, int have)
{
    fprintf(f, "%-*s", name_width(cfg), bb_sweep_model_name(cfg, m));
    for (int b = 0; b < cfg->n_batches; b++) {
        double v = res->per_item_s[m][b];
        int tied = 0, use = 0;
        for (int k = 0; have && k < rec->n; k++)
            if (rec->batch[k] == cfg->batches[b])
                tied = rec->tied[k], use = rec->batch[k] == rec->recommended_batch;
        if (v >= 0)
            fprintf(f, " %8.3f%s", v * 1e3, use ? "*" : tied ? "~" : " ");
        else
            fprintf(f, " %8s ", res->status[m][b][0] ? res->status[m][b] : "-");
    }
    char tied[256] = "-";
    if (have)
        bb_recommend_tied_list(rec, tied, sizeof tied);
    if (have)
        fprintf(f, "   %-6lld %-6lld %s\n", (long long)rec->recommended_batch, (long long)rec->best_batch, tied);
    else
        fprintf(f, "   -\n");
}

void cli_print_run_table(FILE *f, const bb_sweep_cfg *cfg, const bb_sweep_result *res, double margin)
{
    bb_table t;
    bb_err err = {0};
    const char *dirs[] = {cfg->out_dir};
    /* a shard measured part of the sweep: the answer waits for them all */
    int loaded = cfg->shard_count == 0 && bb_table_load(&t, dirs, 1, NULL, &err) == 0;
    int setup = loaded ? find_setup(&t, cfg, res) : -1;
    if (loaded)
        t.margin = margin;
    bb_recommendation *rec = calloc((size_t)cfg->n_models, sizeof *rec);
    int *have = calloc((size_t)cfg->n_models, sizeof *have);
    fprintf(f, "\nms per item (median batch time / batch size); * the batch size to use, ~ tied with the fastest "
               "within noise (%.0f%% margin, 95%% confidence; rounds the machine disturbed left out, as said "
               "below)\n%-*s",
            margin * 100, name_width(cfg), "model");
    for (int b = 0; b < cfg->n_batches; b++)
        fprintf(f, " %8lld ", (long long)cfg->batches[b]);
    fprintf(f, "   use    best   tied within noise\n");
    for (int m = 0; m < cfg->n_models; m++) {
        char label[BB_MODEL_NAME_LEN];
        if (loaded) /* the name the folder's table gives it (two files of one name: "<name>@<hash>") */
            bb_table_model_label(&t, bb_sweep_model_name(cfg, m), cfg->refs_ready ? cfg->refs[m].sha256 : "", label,
                                 sizeof label);
        have[m] = rec && have && loaded && bb_table_recommend(&t, setup, label, &rec[m]) == 0;
        print_row(f, cfg, res, m, rec ? &rec[m] : NULL, have && have[m]);
    }
    fputc('\n', f);
    for (int m = 0; m < cfg->n_models && rec && have; m++) {
        char line[BB_RECOMMEND_SENTENCE_LEN];
        if (!have[m])
            continue;
        bb_recommend_sentence(&rec[m], bb_sweep_model_name(cfg, m), line, sizeof line);
        fprintf(f, "%s\n", line);
    }
    if (cfg->shard_count > 0)
        fprintf(f, "shard %d/%d: the batch size to use comes from every shard's results: `batchbench report %s` once "
                   "all %d are done (scripts/slurm/submit.sh and scripts/multi-gpu.sh run it)\n",
                cfg->shard_index, cfg->shard_count, cfg->out_dir, cfg->shard_count);
    free(rec), free(have);
    if (loaded)
        bb_table_free(&t);
}
