/*
 * plot.h — the charts of a results table, as PNG, SVG and PDF.
 *
 * Why this file exists: the study's conclusions are read off charts, so
 * batchbench draws them itself from the result files, with nothing but
 * Cairo: the seed's two grouped-bar figures (time per item per model and
 * batch size, conv and transformer models; a third for the models of other
 * families, e.g. imported ONNX models), time per item against batch
 * size with its spread and normalised to each model's best, throughput
 * against batch latency, and, when the folders hold two setups (engines,
 * devices or hosts), their ratio. Configurations without a usable result
 * (oom, timeout, error, missing) are marked where the value would be.
 */
#ifndef BB_PLOT_H
#define BB_PLOT_H

#include "report/plot_util.h"
#include "report/results_load.h"
#include "util/error.h"

typedef enum {
    BB_CHART_CONV,       /* inf_times_conv_models: bars, conv models */
    BB_CHART_TRANS,      /* inf_times_trans_models: bars, transformer models */
    BB_CHART_OTHER,      /* inf_times_other_models: bars, models of any other family (imported ones) */
    BB_CHART_VS_BATCH,   /* time_per_item_vs_batch: lines + normalised panel */
    BB_CHART_THROUGHPUT, /* throughput_vs_latency */
    BB_CHART_RATIO,      /* ratio: setup 0 over setup `setup` (>= 1) */
    BB_CHART_ENERGY,     /* energy_per_item: mJ per item by batch size, per model (report/energy_view.h) */
    BB_CHART_HARDWARE,   /* across_hardware: each machine's time per item at its batch size to use
                            (report/hardware.h; `setup` starts the group) */
    BB_CHART_SLO,        /* slo_p99: p99 latency against offered rate per max batch size, with
                            report --slo-p99 (report/slo.h, plot_slo.c) */
    /* data loading (plot_loading.c) */
    BB_CHART_LOAD_WAITS,     /* wait per batch over the batch index, a line per worker count */
    BB_CHART_LOAD_VS_BATCH,  /* median and first wait against batch size */
    BB_CHART_PIPELINE_GRID   /* end-to-end items/s over batch size x workers */
} bb_chart;

typedef struct {
    bb_chart kind;
    int setup;          /* the setup drawn (for RATIO: the first of the pair) */
    char name[192];     /* file name without extension */
    char caption[768];  /* one line saying what the chart shows (statistic, error bars, unit) */
} bb_figure;

typedef struct {
    bb_figure *figs;
    int n_figs;
    char **paths;       /* every file written, in order */
    int n_paths;
} bb_figures;

/* "png,svg,pdf" (any non-empty subset, any order) into a BB_FMT_* mask. */
int bb_plot_parse_formats(const char *s, unsigned *mask, bb_err *err);

/* Canvas size of a chart in units (= PNG pixels). */
void bb_plot_size(bb_chart kind, int *w, int *h);

/* Does the table hold something for this chart (e.g. conv models in setup)? */
int bb_plot_applies(const bb_table *t, bb_chart kind, int setup);

/* Draws one chart to path_noext + ".png"/".svg"/".pdf" for each format in
 * formats; the paths written are appended to out (may be NULL). */
int bb_plot_chart(const bb_table *t, bb_chart kind, int setup, const char *path_noext, unsigned formats,
                  bb_figures *out, bb_err *err);

/* Every chart that applies, into out_dir: for the first setup under the
 * plain names (inf_times_conv_models.png, ...), for further setups with
 * "-<engine>-<device>-<host>-t<threads>" appended; ratio.* when there are
 * two or more setups. out receives the figures and paths (free with
 * bb_figures_free). */
int bb_plot_all(const bb_table *t, const char *out_dir, unsigned formats, bb_figures *out, bb_err *err);

void bb_figures_free(bb_figures *f);
/* Appends a written file / a figure to out; -1 on OOM. */
int bb_figures_add_path(bb_figures *out, const char *path);
int bb_figures_add(bb_figures *out, bb_chart kind, int setup, const char *name, const char *caption);

#endif
