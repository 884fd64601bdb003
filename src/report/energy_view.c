/* energy_view.c — energy per item in the report (energy_view.h). */
#include "report/energy_view.h"

#include <math.h>
#include <string.h>

#include "report/plot.h"
#include "report/report.h"

static int has_energy(const bb_row *r)
{
    return r && r->energy_state == 1 && isfinite(r->joules_per_item);
}

int bb_energy_measured(const bb_table *t, int setup)
{
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].setup == setup && !strcmp(t->rows[i].status, "ok") && has_energy(&t->rows[i]))
            return 1;
    return 0;
}

int bb_energy_pick(const bb_table *t, int setup, const char *model, int64_t *use, double *use_jpi, int64_t *lowest)
{
    const bb_setup *s = &t->setups[setup];
    double min = INFINITY;
    for (int b = 0; b < s->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, s->batches[b]);
        if (has_energy(r) && r->joules_per_item < min)
            min = r->joules_per_item, *lowest = s->batches[b];
    }
    if (!isfinite(min))
        return 1;
    for (int b = 0; b < s->n_batches; b++) { /* ascending: the smallest within the margin */
        const bb_row *r = bb_table_ok(t, setup, model, s->batches[b]);
        if (has_energy(r) && r->joules_per_item <= min * (1.0 + t->margin)) {
            *use = s->batches[b], *use_jpi = r->joules_per_item;
            return 0;
        }
    }
    return 1;
}

static void energy_row(FILE *f, const bb_table *t, int setup, const char *model)
{
    const bb_setup *s = &t->setups[setup];
    int64_t use, lowest;
    double jpi;
    if (bb_energy_pick(t, setup, model, &use, &jpi, &lowest) != 0)
        return;
    fprintf(f, "| %s |", model);
    for (int b = 0; b < s->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, s->batches[b]);
        if (has_energy(r))
            fprintf(f, s->batches[b] == use ? " **%.4g** |" : " %.4g |", r->joules_per_item * 1e3);
        else
            fprintf(f, " - |");
    }
    bb_recommendation rec;
    int has_time = bb_table_recommend(t, setup, model, &rec) == 0;
    fprintf(f, " %lld | **%lld** | ", (long long)lowest, (long long)use);
    if (has_time)
        fprintf(f, "%lld%s |\n", (long long)rec.recommended_batch,
                rec.recommended_batch == use ? " (the same)" : "");
    else
        fprintf(f, "- |\n");
}

static void setup_section(FILE *f, const bb_table *t, const bb_report_opts *o, int setup)
{
    const bb_setup *s = &t->setups[setup];
    char label[512], source[192] = "";
    bb_setup_label(s, label, sizeof label);
    for (int i = 0; i < t->n_rows && !source[0]; i++)
        if (t->rows[i].setup == setup && has_energy(&t->rows[i]))
            snprintf(source, sizeof source, "%s", t->rows[i].energy_why);
    fprintf(f, "## Energy per item: %s\n\nEnergy of forward passes run back to back after the timed batches (the "
               "energy pass, at least 2 s per configuration; %s counters read around it) divided by the items they "
               "processed, in mJ per item. The batch size to use for energy is the smallest within "
               "the %.0f%% margin of the lowest (one reading per configuration: no interval); the batch size to "
               "use for time is the answer above.\n\n| model |",
            label, source, t->margin * 100);
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, " %lld |", (long long)s->batches[b]);
    fprintf(f, " lowest | use (energy) | use (time) |\n|---|");
    for (int b = 0; b < s->n_batches + 3; b++)
        fprintf(f, "--:|");
    fputc('\n', f);
    for (int m = 0; m < s->n_models; m++)
        energy_row(f, t, setup, s->models[m]);
    bb_report_embed(f, o, BB_CHART_ENERGY, setup);
    fputc('\n', f);
}

/* The reason the first unmeasured row gives, when no row was measured. */
static const bb_row *unmeasured(const bb_table *t)
{
    const bb_row *first = NULL;
    for (int i = 0; i < t->n_rows; i++) {
        if (has_energy(&t->rows[i]))
            return NULL;
        if (!first && t->rows[i].energy_state == 0)
            first = &t->rows[i];
    }
    return first;
}

void bb_energy_sections(FILE *f, const bb_table *t, const bb_report_opts *o)
{
    const bb_row *why = unmeasured(t);
    if (why) {
        fprintf(f, "## Energy per item\n\nNot measured: no energy counter could be read (%s). Results say "
                   "`\"energy\": {\"available\": false, ...}` rather than an estimate.\n\n",
                why->energy_why);
        return;
    }
    for (int s = 0; s < t->n_setups; s++)
        if (bb_energy_measured(t, s))
            setup_section(f, t, o, s);
}
