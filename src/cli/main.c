/*
 * main.c — the batchbench command: dispatches to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/version.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} subcommand;

static const subcommand commands[] = {
    {"run", cmd_run, "sweep batch size x model; JSON results, summary.csv and a table"},
    {"dataset", cmd_dataset, "make a data set (stored items or JPEGs); the ImageNet transform of a JPEG"},
    {"dataload", cmd_dataload, "how long inference waits for its next batch: loader workers x batch size"},
    {"models", cmd_models, "list the 12 models (parameters, GMAC/item, ...); --describe an ONNX file"},
    {"infer", cmd_infer, "run one forward pass (npy in, npy out) and time it"},
    {"env", cmd_env, "print the environment block recorded in every result file"},
    {"plot", cmd_plot, "draw the charts of result folders (PNG/SVG/PDF)"},
    {"profile", cmd_profile, "time every step of a forward pass: where the time goes"},
    {"peak", cmd_peak, "this machine's fp32 peak: sgemm and a convolution"},
    {"report", cmd_report, "charts + report.md: which batch size to pick, per model"},
    {"compare", cmd_compare, "NEW / BASE per configuration, with a verdict: a CI gate on regressions"},
    {"maxbatch", cmd_maxbatch, "the largest batch size that runs (doubling, then bisection)"},
    {"serve", cmd_serve, "a real serving run: open-loop load, a dynamic batcher, every latency"},
};

static void usage(FILE *f)
{
    fprintf(f, "batchbench %s — how does the batch size change inference time per item?\n\n"
               "usage: batchbench <command> [options]   (batchbench <command> --help)\n\ncommands:\n",
            BB_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nexit codes: 0 ok, 1 runtime failure, 2 bad arguments, 3 plot/report: something skipped,\n4 compare: a regression, 130 interrupted\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return BB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("batchbench %s\n", BB_VERSION);
        return BB_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "batchbench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return BB_EXIT_USAGE;
}
