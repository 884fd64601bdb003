/*
 * cmd_plot.c — `batchbench plot` (charts from result folders) and
 * `batchbench report` (the charts plus report.md and recommendation.json).
 *
 * Why this file exists: it is the command-line face of src/report: it
 * checks the arguments, loads the folders, draws, writes, prints what it
 * wrote, and turns "something could not be used" into its own exit code (3)
 * so scripts can tell a complete report from one with gaps.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "report/plot.h"
#include "report/report.h"
#include "report/loading.h"
#include "report/recommendation_json.h"
#include "report/results_load.h"
#include "report/time_view.h"
#include "util/error.h"
#include "util/make_dirs.h"

enum { EXIT_INCOMPLETE = 3 }; /* outputs written, but something was skipped */

typedef struct {
    const char *cmd;     /* "plot" or "report" */
    const char *out;     /* plot: a folder; report: the report file */
    unsigned formats;
    double max_latency_s;
    double margin;       /* tie margin, a fraction (report --margin PCT / 100) */
    bb_stat stat;        /* --stat, when has_stat */
    bb_unit unit;        /* --units, when has_unit */
    int has_stat, has_unit;
    double slo_p99_s;    /* report --slo-p99 MS (s; 0: none), --rate, --timeouts (report/slo.h) */
    double rates[16], timeouts_s[16];
    int n_rates, n_timeouts;
    const char **dirs;
    int n_dirs;
} plot_args;

static void usage(FILE *f, const char *cmd)
{
    if (!strcmp(cmd, "plot"))
        fprintf(f, "usage: batchbench plot DIR... [--out DIR] [--format png,svg,pdf] [--stat median|mean]\n"
                   "                      [--units ms|s]\n\n"
                   "Draws charts from the result files (inference_time-*.json) of the folders into\n"
                   "--out (default: the first DIR; created if missing), in each --format (default\n"
                   "png,svg): inf_times_conv_models, inf_times_trans_models (time per item,\n"
                   "one group per model, one bar per batch size), time_per_item_vs_batch (and\n"
                   "normalised to each model's best), throughput_vs_latency, and ratio (first\n"
                   "setup over the second) when the folders hold two engines, devices or hosts.\n"
                   "Further setups get their charts with -<engine>-<device>-<host>-t<threads>.\n");
    else
        fprintf(f, "usage: batchbench report DIR... [--out FILE] [--max-latency MS] [--margin PCT]\n"
                   "                        [--format png,svg,pdf] [--stat median|mean] [--units ms|s]\n"
                   "                        [--slo-p99 MS --rate R[,R...] [--timeouts MS,MS,...]]\n\n"
                   "Writes the charts of `batchbench plot` next to FILE (default: DIR/report.md), then\n"
                   "report.md: the environment, per family a table of ms per item for each batch\n"
                   "size with the batch size to use (the smallest one tied with the fastest within\n"
                   "noise), the tied set, the fastest, its gain over the smallest batch, GFLOP/s\n"
                   "and the knee (smallest batch within 5%% of the best), sentences computed from\n"
                   "them, the measurement quality and the charts; and recommendation.json, the\n"
                   "same answer per model as data. --margin PCT: batch sizes whose time per item\n"
                   "may be within PCT%% of the fastest count as tied (default %g; 0 < PCT < 50).\n"
                   "--max-latency MS adds, per model, the batch size with the best throughput\n"
                   "whose median batch latency stays under MS milliseconds. With end-to-end results\n"
                   "(run --pipeline) of two or more models it names one batch size and worker count\n"
                   "for all of them: lowest average regret across the models, then the most top-3\n"
                   "appearances (the seed's eval/top_n_configs.py).\n"
                   "--slo-p99 MS --rate R[,R...] [--timeouts MS,MS,...] adds \"Serving under a p99\n"
                   "target\": from the measured batch times, a simulated dynamic batcher (one server,\n"
                   "Poisson arrivals at each rate R items/s) gives the p99 latency of each max batch\n"
                   "size B (the measured ones) and timeout T (default 0,1,2,5,10,20,50 ms), and the\n"
                   "report names the (B, T) that meets MS at every rate with the most headroom, with\n"
                   "the chart slo_p99 (at most 16 rates and 16 timeouts).\n",
                BB_TIE_MARGIN_DEFAULT * 100);
    fprintf(f, "\n--stat median|mean: what the charts show of the time per item (batch time /\n"
               "batch size): the median with p5-p95 whiskers, or the seed's mean with error\n"
               "bars of 2 standard deviations (numpy std, ddof 0; a lower end below 0 is drawn\n"
               "at 0 and said so). --units ms|s: the unit of those times. Default: mean and s\n"
               "when every ok result has config.preset \"paper\" (the seed's charts), else\n"
               "median and ms. The batch size to use is always chosen from the medians.\n");
    fprintf(f, "\nPrints the paths it wrote. Files are written to a temporary name and renamed.\n"
               "exit codes: 0 all written from complete results; 3 all written, but something\n"
               "was skipped or marked (an unreadable or duplicate result file, a configuration\n"
               "with status oom/timeout/error, a batch size missing for a model; each is named\n"
               "in a warning on stderr); 1 failure (no readable results, cannot write);\n"
               "2 bad arguments.\n");
}

static int parse_latency(const char *cmd, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0) {
        fprintf(stderr, "batchbench %s: --max-latency: '%s' is not a positive number of milliseconds\n", cmd, s);
        return -1;
    }
    *out = v / 1000.0;
    return 0;
}

/* --margin PCT: a percentage, 0 < PCT < 50, into a fraction. */
static int parse_margin(const char *cmd, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v >= 50) {
        fprintf(stderr, "batchbench %s: --margin: '%s' is not a percentage above 0 and below 50\n", cmd, s);
        return -1;
    }
    *out = v / 100.0;
    return 0;
}

/* --rate / --timeouts: up to 16 comma-separated numbers, each > 0 (rates)
 * or >= 0 (timeouts, ms, into s). */
static int parse_list(plot_args *a, int c, const char *s)
{
    const char *flag = c == 'R' ? "--rate" : "--timeouts";
    double *out = c == 'R' ? a->rates : a->timeouts_s;
    int *n = c == 'R' ? &a->n_rates : &a->n_timeouts;
    *n = 0;
    for (const char *p = s;; p++) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || (*end && *end != ',') || !isfinite(v) || v < 0 || (c == 'R' && v == 0) ||
            *n == 16) {
            fprintf(stderr, "batchbench %s: %s: '%s' is not a list of at most 16 %s\n", a->cmd, flag, s,
                    c == 'R' ? "rates above 0 (items/s)" : "timeouts of 0 ms or more");
            return -1;
        }
        out[(*n)++] = c == 'R' ? v : v / 1000.0;
        if (!*(p = end))
            return 0;
    }
}

/* --slo-p99 MS (> 0), and --rate / --timeouts only with it. */
static int parse_slo(plot_args *a, int c, const char *s)
{
    if (c != 'P')
        return parse_list(a, c, s);
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0) {
        fprintf(stderr, "batchbench %s: --slo-p99: '%s' is not a positive number of milliseconds\n", a->cmd, s);
        return -1;
    }
    a->slo_p99_s = v / 1000.0;
    return 0;
}

static int check_slo(const plot_args *a)
{
    const char *bad = a->slo_p99_s > 0 && !a->n_rates ? "--slo-p99 needs --rate R[,R...]"
                      : !(a->slo_p99_s > 0) && a->n_rates ? "--rate needs --slo-p99 MS"
                      : !(a->slo_p99_s > 0) && a->n_timeouts ? "--timeouts needs --slo-p99 MS"
                                                               : NULL;
    if (bad)
        fprintf(stderr, "batchbench %s: %s\n", a->cmd, bad);
    return bad ? -1 : 0;
}

/* --stat and --units; -1 (message printed) when the value is not one of the choices. */
static int parse_view(plot_args *a, int c, const char *s)
{
    if (c == 's' && bb_view_parse_stat(s, &a->stat) == 0)
        return a->has_stat = 1, 0;
    if (c == 'u' && bb_view_parse_unit(s, &a->unit) == 0)
        return a->has_unit = 1, 0;
    fprintf(stderr, "batchbench %s: %s: '%s' is not %s\n", a->cmd, c == 's' ? "--stat" : "--units", s,
            c == 's' ? "median or mean" : "ms or s");
    return -1;
}

/* 0: parsed; 1: --help printed; -1: bad arguments (message printed). */
static int parse(int argc, char **argv, plot_args *a)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},    {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},         {"stat", required_argument, 0, 's'},
                                         {"units", required_argument, 0, 'u'},  {"max-latency", required_argument, 0, 'l'},
                                         {"margin", required_argument, 0, 'm'}, {"slo-p99", required_argument, 0, 'P'},
                                         {"rate", required_argument, 0, 'R'},   {"timeouts", required_argument, 0, 'T'},
                                         {0, 0, 0, 0}};
    struct option plot_opts[6];
    memcpy(plot_opts, opts, sizeof plot_opts);
    memset(&plot_opts[5], 0, sizeof plot_opts[5]); /* plot has no --max-latency, no --margin */
    int report = !strcmp(a->cmd, "report"), c;
    bb_err e = {0};
    a->formats = BB_FMT_PNG | BB_FMT_SVG;
    a->margin = BB_TIE_MARGIN_DEFAULT;
    while ((c = getopt_long(argc, argv, "", report ? opts : plot_opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout, a->cmd); return 1;
        case 'o': a->out = optarg; break;
        case 'f':
            if (bb_plot_parse_formats(optarg, &a->formats, &e) != 0) {
                fprintf(stderr, "batchbench %s: --format: %s\n", a->cmd, e.msg);
                return -1;
            }
            break;
        case 'l': if (parse_latency(a->cmd, optarg, &a->max_latency_s) != 0) return -1; break;
        case 'm': if (parse_margin(a->cmd, optarg, &a->margin) != 0) return -1; break;
        case 'P':
        case 'R':
        case 'T': if (parse_slo(a, c, optarg) != 0) return -1; break;
        case 's':
        case 'u': if (parse_view(a, c, optarg) != 0) return -1; break;
        default: usage(stderr, a->cmd); return -1;
        }
    }
    if (check_slo(a) != 0)
        return -1;
    a->dirs = (const char **)argv + optind;
    a->n_dirs = argc - optind;
    if (a->n_dirs < 1) {
        fprintf(stderr, "batchbench %s: no results folder given (see --help)\n", a->cmd);
        return -1;
    }
    if (a->out && !*a->out) {
        fprintf(stderr, "batchbench %s: --out: empty path\n", a->cmd);
        return -1;
    }
    return 0;
}

/* The folder a file is in ("." when none), into buf. */
static void dir_of(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, len, ".");
    else if (slash == path)
        snprintf(buf, len, "/");
    else
        snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

static int ensure_dir(const char *cmd, const char *dir)
{
    bb_err err = {0};
    if (bb_make_dirs(dir, &err) == 0)
        return 0;
    fprintf(stderr, "batchbench %s: cannot create output folder '%s': %s\n", cmd, dir, err.msg);
    return -1;
}

static void print_incomplete(const char *cmd, const bb_table *t)
{
    fprintf(stderr,
            "batchbench %s: incomplete results: %d file%s skipped, %d configuration%s not ok, %d missing "
            "(marked in the charts; exit code 3)\n",
            cmd, t->n_corrupt + t->n_duplicate, t->n_corrupt + t->n_duplicate == 1 ? "" : "s", t->n_failed,
            t->n_failed == 1 ? "" : "s", t->n_missing);
}

/* Charts (and for report, report.md) from a loaded table; an exit code. */
static int produce(const plot_args *a, const bb_table *t, const bb_loading *l, const char *out_dir,
                   const char *report_path)
{
    bb_figures figs = {0};
    bb_err e = {0};
    int rc = t->n_rows > 0 ? bb_plot_all(t, out_dir, a->formats, &figs, &e) : 0;
    if (rc == 0 && !bb_loading_empty(l))
        rc = bb_loading_plot(l, out_dir, a->formats, &figs, &e);
    for (int i = 0; i < figs.n_paths; i++)
        printf("%s\n", figs.paths[i]);
    if (rc == 0 && report_path) {
        bb_report_opts o = {report_path, a->dirs, a->n_dirs, a->max_latency_s, &figs, a->formats, l};
        rc = bb_report_write(t, &o, &e);
        if (rc == 0)
            printf("%s\n", report_path);
    }
    char rec_path[4096];
    if (rc == 0 && report_path && t->n_rows > 0) {
        rc = bb_recommendation_json_write(t, out_dir, rec_path, sizeof rec_path, &e);
        if (rc == 0)
            printf("%s\n", rec_path);
    }
    bb_figures_free(&figs);
    if (rc != 0) {
        fprintf(stderr, "batchbench %s: %s\n", a->cmd, e.msg);
        return BB_EXIT_FAILURE;
    }
    if (bb_table_incomplete(t))
        print_incomplete(a->cmd, t);
    return bb_table_incomplete(t) ? EXIT_INCOMPLETE : BB_EXIT_OK;
}

static int run(int argc, char **argv, const char *cmd)
{
    plot_args a = {.cmd = cmd};
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p > 0 ? BB_EXIT_OK : BB_EXIT_USAGE;
    char report_path[4096], out_dir[4096];
    if (!strcmp(cmd, "report")) {
        snprintf(report_path, sizeof report_path, "%s%s", a.out ? a.out : a.dirs[0], a.out ? "" : "/report.md");
        dir_of(report_path, out_dir, sizeof out_dir);
    } else {
        snprintf(out_dir, sizeof out_dir, "%s", a.out ? a.out : a.dirs[0]);
    }
    bb_table t;
    bb_loading l;
    bb_err e = {0};
    if (bb_table_load(&t, a.dirs, a.n_dirs, stderr, &e) != 0) {
        fprintf(stderr, "batchbench %s: %s\n", cmd, e.msg);
        return BB_EXIT_FAILURE;
    }
    t.margin = a.margin; /* the charts and the report read it from the table */
    t.slo_p99_s = a.slo_p99_s, t.n_slo_rates = a.n_rates, t.n_slo_timeouts = a.n_timeouts;
    memcpy(t.slo_rates, a.rates, sizeof a.rates), memcpy(t.slo_timeouts_s, a.timeouts_s, sizeof a.timeouts_s);
    if (a.has_stat || a.has_unit) /* an explicit flag wins over the preset's default */
        bb_table_set_view(&t, a.has_stat ? a.stat : t.stat, a.has_unit ? a.unit : t.unit);
    if (bb_loading_load(&l, a.dirs, a.n_dirs, stderr, &e) != 0) {
        fprintf(stderr, "batchbench %s: %s\n", cmd, e.msg);
        bb_table_free(&t);
        return BB_EXIT_FAILURE;
    }
    int rc = BB_EXIT_FAILURE;
    if (t.n_rows == 0 && bb_loading_empty(&l))
        fprintf(stderr, "batchbench %s: no readable result files (inference_time-*.json, dataload-*.json, "
                "pipeline-*.json) in %s%s\n", cmd, a.dirs[0], a.n_dirs > 1 ? " and the other folders" : "");
    else if (ensure_dir(cmd, out_dir) == 0)
        rc = produce(&a, &t, &l, out_dir, !strcmp(cmd, "report") ? report_path : NULL);
    bb_table_free(&t);
    bb_loading_free(&l);
    bb_plot_release();
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    return run(argc, argv, "plot");
}

int cmd_report(int argc, char **argv)
{
    return run(argc, argv, "report");
}
