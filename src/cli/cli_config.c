/*
 * cli_config.c — the run configuration from the command line, one way for
 * every command that prepares a model (run, infer, profile): --device
 * resolved to a backend once, the precision checked against it, and the
 * backend options from --backend-opt KEY=VALUE and their environment
 * variables (backends/backend_options.h), validated against that backend.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_backend_opt_add(const char *cmd, cli_backend_flags *f, const char *kv)
{
    if (f->n == CLI_MAX_BACKEND_OPTS)
        return fprintf(stderr, "batchbench %s: --backend-opt: at most %d\n", cmd, CLI_MAX_BACKEND_OPTS), -1;
    f->kv[f->n++] = kv;
    return 0;
}

int cli_config_backend(const char *cmd, const char *device, bb_run_config *c)
{
    bb_err err = {0};
    if (cli_device(cmd, device) != 0)
        return BB_EXIT_USAGE;
    if (!(c->backend = cli_backend(device, c->precision, &err))) {
        fprintf(stderr, "batchbench %s: %s\n", cmd, err.msg);
        return BB_EXIT_FAILURE;
    }
    return BB_EXIT_OK;
}

int cli_config_options(const char *cmd, const cli_backend_flags *f, bb_run_config *c)
{
    bb_err err = {0};
    const char *backend = bb_config_device(c);
    memset(&c->options, 0, sizeof c->options);
    for (int i = 0; i < f->n; i++)
        if (bb_opt_set(&c->options, f->kv[i], backend, &err) != 0)
            return fprintf(stderr, "batchbench %s: %s\n", cmd, err.msg), BB_EXIT_USAGE;
    if (bb_opt_from_env(&c->options, backend, &err) != 0)
        return fprintf(stderr, "batchbench %s: %s\n", cmd, err.msg), BB_EXIT_USAGE;
    return BB_EXIT_OK;
}

int cli_config_resolve(const char *cmd, const char *device, const cli_backend_flags *f, bb_run_config *c)
{
    int rc = cli_config_backend(cmd, device, c);
    return rc != BB_EXIT_OK ? rc : cli_config_options(cmd, f, c);
}

void cli_backend_opts_help(FILE *f)
{
    fprintf(f, "--backend-opt KEY=VALUE (repeatable): a backend's option, validated against the\n"
               "          backend that runs (the first value is the default; a non-default one\n"
               "          is recorded in config.backend_options and in the result's identity;\n"
               "          the environment variable is the fallback when the flag is not given):\n");
    bb_opt_print_help(f, "  ");
}
