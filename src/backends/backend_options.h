/*
 * backend_options.h — the typed knobs of the backends (which convolution
 * algorithms to allow, which layout, how attention runs, ...), in one table.
 *
 * Why this file exists: these choices shape what a measurement measures, so
 * they must be set on purpose (`--backend-opt KEY=VALUE`), validated once,
 * handed to prepare() inside the run's configuration, recorded whole in every
 * result (config.backend_options) and, where not at their default, be part
 * of the result's identity. Before, the backends read eight BATCHBENCH_*
 * environment variables with getenv() while lowering a model, each parsed its
 * own way. Those variables remain as documented fallbacks, parsed here by the
 * same code as the flag (a flag wins over the variable).
 *
 * Every option is one of a short list of named choices; the first choice is
 * the default. An option belongs to one backend ("cpu." or "cuda." prefix);
 * options of the other backend are refused on the command line and ignored
 * from the environment.
 */
#ifndef BB_BACKEND_OPTIONS_H
#define BB_BACKEND_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

typedef enum {
    BB_OPT_CPU_ALGO,         /* cpu.algo: measured | always | never */
    BB_OPT_CUDNN_ALGO,       /* cuda.cudnn_algo: preferred | implicit | fastest */
    BB_OPT_CUDA_LAYOUT,      /* cuda.layout: auto | nchw | nhwc */
    BB_OPT_CUDA_ATTENTION,   /* cuda.attention: fused | unfused | cudnn | measured */
    BB_OPT_CUDNN_GRAPH,      /* cuda.cudnn_graph: on | off */
    BB_OPT_CUDA_PATCH_EMBED, /* cuda.patch_embed: gemm | conv */
    BB_OPT_CUDA_PAD_INPUT,   /* cuda.pad_input: off | on */
    BB_OPT_CUDNN_LOG,        /* cuda.cudnn_log: off | choices | candidates */
    BB_OPT_CUDA_GELU,        /* cuda.gelu: exact | epilogue */
    BB_OPT_CPU_SPLIT,        /* cpu.split: auto | batch | layers */
    BB_OPT_CPU_WINOGRAD,     /* cpu.winograd: auto | own */
    BB_OPT_COUNT
} bb_opt_id;

typedef enum { BB_OPT_FROM_DEFAULT, BB_OPT_FROM_FLAG, BB_OPT_FROM_ENV } bb_opt_source;

/* The value of every option: an index into its choices (0 = the default)
 * and where it came from. All zero = every option at its default. */
typedef struct {
    unsigned char value[BB_OPT_COUNT];
    unsigned char source[BB_OPT_COUNT]; /* bb_opt_source */
} bb_backend_options;

/* The table's entry of one option. */
typedef struct {
    const char *key;          /* "cpu.algo" */
    const char *backend;      /* "cpu" or "cuda": the backend that reads it */
    const char *env;          /* fallback environment variable */
    const char *choices[4];   /* up to 4, NULL after the last; [0] is the default */
    const char *env_alias[4]; /* the variable's old spelling of each choice ("0", "1"), or NULL */
    int identity;             /* 1: shapes the measurement, so a non-default value is part of the result's identity */
    const char *help;         /* one line for --help and the README */
    const char *absent;       /* the choice a result file without this option ran with (it
                                 predates the option), when not the default; else NULL */
} bb_opt_info;

const bb_opt_info *bb_opt_info_of(bb_opt_id id);

/* The chosen value's name, e.g. "never". */
const char *bb_opt_value(const bb_backend_options *o, bb_opt_id id);

/* Parses "KEY=VALUE" (a --backend-opt) for a run on `backend` ("cpu" or
 * "cuda"). 0, or -1 with a message naming the key or value and listing what
 * is accepted: an unknown key, a value not among its choices, or an option
 * of the other backend. */
int bb_opt_set(bb_backend_options *o, const char *kv, const char *backend, bb_err *err);

/* Fills options not set by a flag from their environment variables, for a
 * run on `backend` (the other backend's variables are ignored). A variable
 * whose value is not one of the choices is -1 with a message naming it.
 * The variables also take their old spellings (1, 0, 2) of the choices. */
int bb_opt_from_env(bb_backend_options *o, const char *backend, bb_err *err);

/* The non-default options of `backend` that shape a measurement, as
 * "key=value,key=value" in table order ("" when none): the identity part. */
void bb_opt_identity(const bb_backend_options *o, const char *backend, char *buf, size_t len);

/* Every option, two lines each with `indent` before them: the key, its
 * choices (default first) and variable, then what it does. For --help. */
void bb_opt_print_help(FILE *f, const char *indent);

#endif
