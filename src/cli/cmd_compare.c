/*
 * cmd_compare.c — `batchbench compare BASE NEW`: the performance gate of a
 * CI job.
 *
 * Why this file exists: it is the command-line face of report/compare.h. It
 * checks the arguments, loads the two folders, prints the markdown table,
 * writes compare.md and the chart, and turns the outcome into an exit code
 * a CI job can act on: 4 when a configuration got significantly slower by
 * more than the threshold, distinct from 1 (could not compare at all).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/compare.h"
#include "util/json_out.h"
#include "util/atomic_file.h"
#include "util/error.h"

enum { EXIT_REGRESSION = 4 };

typedef struct {
    const char *base, *new_, *out;
    double threshold; /* fraction */
    unsigned formats;
} compare_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench compare BASE NEW [--threshold PCT] [--out DIR] [--format png,svg,pdf]\n\n"
            "Compares two result folders (e.g. the main branch's and this commit's `batchbench run`).\n"
            "A configuration is the same model, batch size, engine, device, precision, head and\n"
            "threads; the host is not part of it, so two machines may be compared (the ratios then\n"
            "include the difference between the machines). For each configuration usable in both:\n"
            "the ratio NEW / BASE of the batch times (Hodges-Lehmann estimate, 95%% confidence\n"
            "interval, Mann-Whitney p-value) and a verdict: slower or faster when p < 0.05 and the\n"
            "interval excludes 1, else no significant change. Configurations in one folder only,\n"
            "or not ok (oom, timeout, error) in either, are listed and do not affect the gate.\n\n"
            "Prints a markdown table on stdout, the same text written to DIR/compare.md (its last\n"
            "line is the gate's outcome, naming every configuration that failed it), and draws the\n"
            "chart DIR/compare.png, .svg (--format); the paths written go to stderr.\n\n"
            "  --threshold PCT  a significant slowdown fails the gate when the ratio exceeds\n"
            "                   1 + PCT/100 (default 5; 0 <= PCT < 1000; \"5%%\" also reads 5)\n"
            "  --out DIR        where compare.md and the chart go (default: NEW; created if missing)\n"
            "  --format LIST    chart formats, any of png,svg,pdf (default png,svg)\n\n"
            "exit codes: 0 no configuration significantly slower by more than the threshold;\n"
            "4 a regression (at least one configuration is); 1 failure (a folder unreadable, no\n"
            "readable results in one, no configuration usable in both, cannot write); 2 bad arguments.\n");
}

static int parse_threshold(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    end += end != s && *end == '%'; /* "5%" */
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v >= 1000) {
        fprintf(stderr, "batchbench compare: --threshold: '%s' is not a percentage in [0, 1000)\n", s);
        return -1;
    }
    *out = v / 100.0;
    return 0;
}

/* 0: parsed; 1: --help printed; -1: bad arguments (message printed). */
static int parse(int argc, char **argv, compare_args *a)
{
    static const struct option opts[] = {{"threshold", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    bb_err e = {0};
    int c;
    a->threshold = 0.05, a->formats = BB_FMT_PNG | BB_FMT_SVG;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 1;
        case 't': if (parse_threshold(optarg, &a->threshold) != 0) return -1; break;
        case 'o': a->out = optarg; break;
        case 'f':
            if (bb_plot_parse_formats(optarg, &a->formats, &e) != 0) {
                fprintf(stderr, "batchbench compare: --format: %s\n", e.msg);
                return -1;
            }
            break;
        default: usage(stderr); return -1;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "batchbench compare: need two result folders, BASE and NEW (got %d; see --help)\n",
                argc - optind);
        return -1;
    }
    a->base = argv[optind], a->new_ = argv[optind + 1];
    if (a->out && !*a->out) {
        fprintf(stderr, "batchbench compare: --out: empty path\n");
        return -1;
    }
    return 0;
}

/* Loads one folder; 0, or -1 with a message (unreadable, or no results). */
static int load(bb_table *t, const char *dir, const char *side)
{
    bb_err e = {0};
    const char *dirs[1] = {dir};
    if (bb_table_load(t, dirs, 1, stderr, &e) != 0) {
        fprintf(stderr, "batchbench compare: %s: %s\n", side, e.msg);
        return -1;
    }
    if (t->n_rows == 0) {
        fprintf(stderr, "batchbench compare: %s: no readable result files (inference_time-*.json) in %s\n", side,
                dir);
        bb_table_free(t);
        return -1;
    }
    return 0;
}

/* Prints the markdown, writes it and the chart into out; 0 or -1. */
static int write_outputs(const bb_compare *c, const compare_args *a, const char *out)
{
    bb_err e = {0};
    char *md = NULL, *md_path = NULL, *chart = NULL;
    size_t len = 0;
    bb_figures figs = {0};
    int rc = bb_compare_markdown(c, &md, &len, &e);
    if (rc == 0) {
        fputs(md, stdout);
        fflush(stdout);
        md_path = bb_path_join(out, "compare.md"), chart = bb_path_join(out, "compare");
        rc = md_path && chart ? 0 : bb_err_oom(&e, "out of memory");
    }
    if (rc == 0 && (rc = bb_write_atomic(md_path, md, len, "comparison", &e)) == 0)
        fprintf(stderr, "batchbench compare: wrote %s\n", md_path);
    if (rc == 0 && (rc = bb_compare_chart(c, chart, a->formats, &figs, &e)) == 0)
        for (int i = 0; i < figs.n_paths; i++)
            fprintf(stderr, "batchbench compare: wrote %s\n", figs.paths[i]);
    if (rc != 0)
        fprintf(stderr, "batchbench compare: %s\n", e.msg);
    bb_figures_free(&figs);
    free(md), free(md_path), free(chart);
    return rc;
}

/* Compares the loaded tables; an exit code. */
static int compare_tables(const bb_table *base, const bb_table *nw, const compare_args *a)
{
    bb_compare c = {.base_name = a->base, .new_name = a->new_};
    bb_err e = {0};
    if (bb_compare_run(&c, base, nw, a->threshold, &e) != 0) {
        fprintf(stderr, "batchbench compare: %s\n", e.msg);
        return BB_EXIT_FAILURE;
    }
    int rc = BB_EXIT_FAILURE;
    const char *out = a->out ? a->out : a->new_;
    if (c.n_items == 0)
        fprintf(stderr,
                "batchbench compare: no configuration usable in both folders (%d in BASE, %d in NEW; %d listed "
                "as only in one or not ok)\n",
                base->n_rows, nw->n_rows, c.n_notes);
    else if (cli_prepare_out("compare", out) == 0 && write_outputs(&c, a, out) == 0)
        rc = c.n_gate_fail ? EXIT_REGRESSION : BB_EXIT_OK;
    bb_compare_free(&c);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    compare_args a = {0};
    int p = parse(argc, argv, &a);
    if (p != 0)
        return p > 0 ? BB_EXIT_OK : BB_EXIT_USAGE;
    bb_table base, nw;
    if (load(&base, a.base, "BASE") != 0)
        return BB_EXIT_FAILURE;
    if (load(&nw, a.new_, "NEW") != 0) {
        bb_table_free(&base);
        return BB_EXIT_FAILURE;
    }
    int rc = compare_tables(&base, &nw, &a);
    bb_table_free(&base);
    bb_table_free(&nw);
    bb_plot_release();
    return rc;
}
