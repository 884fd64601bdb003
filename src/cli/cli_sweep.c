/*
 * cli_sweep.c — what the long-running commands (`run`, `dataload`) share:
 * the output folder checked before any work, and Ctrl-C (SIGINT/SIGTERM)
 * turned into a flag the sweeps poll, so they stop after the current batch
 * and keep every finished result.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/make_dirs.h"

/* Set by SIGINT/SIGTERM. A signal handler can only reach static storage:
 * the one global POSIX forces on us. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

volatile sig_atomic_t *cli_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_requested;
}

int cli_prepare_out(const char *cmd, const char *dir)
{
    bb_err err = {0};
    if (bb_make_dirs(dir, &err) != 0) {
        fprintf(stderr, "batchbench %s: --out %s: %s\n", cmd, dir, err.msg);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "batchbench %s: --out %s: not a writable directory: %s\n", cmd, dir, strerror(errno));
        return -1;
    }
    return 0;
}
