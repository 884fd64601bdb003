/* hardware.c — the same sweep on several machines, side by side
 * (hardware.h). */
#include "report/hardware.h"

#include <string.h>

#include "report/plot.h"
#include "report/report.h"

/* Everything but the machine: what must agree for a comparison. */
static int same_measurement(const bb_setup *a, const bb_setup *b)
{
    return !strcmp(a->engine, b->engine) && !strcmp(a->precision, b->precision) && !strcmp(a->head, b->head) &&
           !strcmp(a->input, b->input) && !strcmp(a->options, b->options);
}

static int same_machine(const bb_setup *a, const bb_setup *b)
{
    return !strcmp(a->host, b->host) && !strcmp(a->device, b->device) && !strcmp(a->gpu, b->gpu);
}

void bb_hw_group_of(const bb_table *t, int first, bb_hw_group *g)
{
    g->n = 0;
    if (first < 0 || first >= t->n_setups)
        return;
    const bb_setup *s0 = &t->setups[first];
    for (int i = 0; i < first; i++)
        if (same_measurement(&t->setups[i], s0))
            return; /* an earlier setup starts this group */
    g->setup[g->n++] = first;
    for (int j = first + 1; j < t->n_setups && g->n < BB_HW_MAX; j++) {
        int known = !same_measurement(&t->setups[j], s0);
        for (int k = 0; !known && k < g->n; k++)
            known = same_machine(&t->setups[g->setup[k]], &t->setups[j]);
        if (!known)
            g->setup[g->n++] = j;
    }
}

void bb_hw_label(const bb_setup *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", s->host, s->gpu[0] ? s->gpu : s->device);
}

int bb_hw_pick(const bb_table *t, int setup, const char *model, int64_t *batch, double *per_item_s)
{
    bb_recommendation rec;
    if (bb_table_recommend(t, setup, model, &rec) != 0)
        return 1;
    const bb_row *r = bb_table_ok(t, setup, model, rec.recommended_batch);
    if (!r)
        return 1;
    *batch = rec.recommended_batch, *per_item_s = r->per_item_s;
    return 0;
}

/* The slowest machine's time for model (each at its batch size to use); 0
 * when fewer than two machines have it. */
static double slowest(const bb_table *t, const bb_hw_group *g, const char *model)
{
    double worst = 0;
    int n = 0;
    for (int k = 0; k < g->n; k++) {
        int64_t b;
        double s;
        if (bb_hw_pick(t, g->setup[k], model, &b, &s) == 0)
            worst = s > worst ? s : worst, n++;
    }
    return n >= 2 ? worst : 0;
}

static int has_model(const bb_setup *s, const char *model)
{
    for (int m = 0; m < s->n_models; m++)
        if (!strcmp(s->models[m], model))
            return 1;
    return 0;
}

int bb_hw_models(const bb_table *t, const bb_hw_group *g, const char **out, int max)
{
    int n = 0;
    for (int k = 0; k < g->n; k++) {
        const bb_setup *s = &t->setups[g->setup[k]];
        for (int m = 0; m < s->n_models && n < max; m++) {
            int seen = 0;
            for (int i = 0; i < n && !seen; i++)
                seen = !strcmp(out[i], s->models[m]);
            if (!seen)
                out[n++] = s->models[m];
        }
    }
    return n;
}

static void model_row(FILE *f, const bb_table *t, const bb_hw_group *g, const char *model)
{
    double worst = slowest(t, g, model), best = 0, second = 0;
    int fastest = -1;
    fprintf(f, "| %s |", model);
    for (int k = 0; k < g->n; k++) {
        int64_t b;
        double s;
        if (bb_hw_pick(t, g->setup[k], model, &b, &s) != 0) {
            fprintf(f, " %s |", has_model(&t->setups[g->setup[k]], model) ? "no usable result" : "not measured");
            continue;
        }
        fprintf(f, " %lld: %.3f ms", (long long)b, s * 1e3);
        if (worst > 0)
            fprintf(f, " (%.2f\xC3\x97)", worst / s);
        fprintf(f, " |");
        if (fastest < 0 || s < best)
            second = fastest < 0 ? 0 : best, fastest = k, best = s;
        else if (second == 0 || s < second)
            second = s;
    }
    if (worst > 0 && second > best * (1.0 + t->margin))
        fprintf(f, " %s |\n", t->setups[g->setup[fastest]].host);
    else
        fprintf(f, " %s |\n", worst > 0 ? "tied (within the margin)" : "-");
}

static void hw_section(FILE *f, const bb_table *t, const bb_report_opts *o, const bb_hw_group *g)
{
    const bb_setup *s0 = &t->setups[g->setup[0]];
    fprintf(f, "## Across hardware: %s, %s\n\nThe same measurement on %d machines. Each cell: the batch size to use "
               "on that machine (its own answer, the rule above) and its median time per item; in brackets the "
               "speed-up over the slowest machine for that model, each at its own batch size to use. The fastest "
               "machine is named when it is ahead of the next by more than the %.0f%% margin.\n\n| model |",
            s0->engine, s0->precision, g->n, t->margin * 100);
    for (int k = 0; k < g->n; k++) {
        char label[320];
        bb_hw_label(&t->setups[g->setup[k]], label, sizeof label);
        fprintf(f, " %s |", label);
    }
    fprintf(f, " fastest |\n|---|");
    for (int k = 0; k < g->n; k++)
        fprintf(f, "--:|");
    fprintf(f, "---|\n");
    const char *models[64];
    int nm = bb_hw_models(t, g, models, 64);
    for (int m = 0; m < nm; m++)
        model_row(f, t, g, models[m]);
    fprintf(f, "\nMachines:\n\n");
    for (int k = 0; k < g->n; k++) {
        const bb_setup *s = &t->setups[g->setup[k]];
        fprintf(f, "- %s: %s%s%s, %d thread%s, %s\n", s->host, s->device, s->gpu[0] ? " " : "", s->gpu, s->threads,
                s->threads == 1 ? "" : "s", s->cpu_model);
    }
    bb_report_embed(f, o, BB_CHART_HARDWARE, g->setup[0]);
    fputc('\n', f);
}

void bb_hw_sections(FILE *f, const bb_table *t, const bb_report_opts *o)
{
    for (int s = 0; s < t->n_setups; s++) {
        bb_hw_group g;
        bb_hw_group_of(t, s, &g);
        if (g.n >= 2)
            hw_section(f, t, o, &g);
    }
}
