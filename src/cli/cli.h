/*
 * cli.h — shared pieces of the command-line interface: the subcommands and
 * the strict argument parsers they all use (a bad value is a message that
 * names the flag and exit code 2, never a silent default).
 */
#ifndef BB_CLI_H
#define BB_CLI_H

#include <signal.h>
#include <stdio.h>
#include <stdint.h>

#include "backends/backend.h"
#include "engine/graph.h"
#include "util/error.h"

int cmd_models(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_dataload(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_peak(int argc, char **argv);
int cmd_maxbatch(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Per-step table of a profiled forward (seconds[i], or st[i].seconds when
 * NULL); stats adds the output-statistics columns. In cmd_profile.c. */
void cli_print_steps(const bb_step_time *st, const double *seconds, int n, double total, int stats);

/* Each returns 0, or prints "batchbench <cmd>: <flag>: ..." and returns -1. */
int cli_int64(const char *cmd, const char *flag, const char *s, int64_t min, int64_t max, int64_t *out);
int cli_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);
/* A size in bytes: "100000", "512K", "512M", "2G" (what --mem-limit takes). */
int cli_bytes(const char *cmd, const char *flag, const char *s, int64_t *out);
int cli_head(const char *cmd, const char *s, bb_head *out);
/* A zoo model name, or a path ending in ".onnx" that exists and is a
 * readable file? Else prints why, naming the flag and the file, and -1. */
int cli_model(const char *cmd, const char *s); /* the flag --model */
int cli_model_flag(const char *cmd, const char *flag, const char *s);
/* A valid model argument as kept: the zoo's own name, or s (an ONNX path). */
const char *cli_model_name(const char *s);
/* --head given with an ONNX model (its graph runs as exported): prints why, -1. */
int cli_no_head_for_onnx(const char *cmd, const char *model);
/* --family NAME: 1..31 characters of [A-Za-z0-9_.-]? Else prints why, -1. */
int cli_family(const char *cmd, const char *s);
int cli_precision(const char *cmd, const char *s, bb_precision *out);
/* cpu, cuda or auto? */
int cli_device(const char *cmd, const char *s);
/* The backend for a valid --device: auto is cuda when this build has it
 * and a GPU is usable, else the CPU. NULL with a message naming the flag
 * when cuda is asked for and unusable, or the CPU is given a precision
 * other than fp32 (a runtime failure: exit 1). */
const bb_backend_ops *cli_backend(const char *device, bb_precision precision, bb_err *err);
/* cli_config.c: the run configuration shared by run, infer and profile.
 * --backend-opt values are kept as given until the backend is known. */
#define CLI_MAX_BACKEND_OPTS 32
typedef struct {
    const char *kv[CLI_MAX_BACKEND_OPTS];
    int n;
} cli_backend_flags;
/* Remembers one --backend-opt; -1 (message printed) when there are too many. */
int cli_backend_opt_add(const char *cmd, cli_backend_flags *f, const char *kv);
/* --device (cpu|cuda|auto) to c->backend for c->precision: BB_EXIT_OK,
 * BB_EXIT_USAGE for a bad name, BB_EXIT_FAILURE when the device cannot run
 * it (cli_backend); the message is printed. */
int cli_config_backend(const char *cmd, const char *device, bb_run_config *c);
/* c->options from the flags, then from the environment, for c->backend:
 * BB_EXIT_OK, or BB_EXIT_USAGE with a message naming the key, value or
 * variable. */
int cli_config_options(const char *cmd, const cli_backend_flags *f, bb_run_config *c);
/* Both of the above. */
int cli_config_resolve(const char *cmd, const char *device, const cli_backend_flags *f, bb_run_config *c);
/* The --backend-opt paragraph of a command's --help, with every key. */
void cli_backend_opts_help(FILE *f);

/* cli_sweep.c: the output folder exists and is writable (else a message
 * naming --out and -1); SIGINT/SIGTERM handlers that set the returned flag. */
int cli_prepare_out(const char *cmd, const char *dir);
volatile sig_atomic_t *cli_stop_on_signals(void);

/* Prints "unexpected argument" for leftover positionals; returns -1 if any. */
int cli_no_positionals(const char *cmd, int optind_, int argc, char **argv);

#endif
