/*
 * make_dirs.h — a folder and the folders above it, like `mkdir -p`: the one
 * way batchbench makes the folders it writes into (run/plot/report --out,
 * the data-set cache), so `--out results/2026/cpu` works without making
 * results/2026 first.
 */
#ifndef BB_MAKE_DIRS_H
#define BB_MAKE_DIRS_H

#include "util/error.h"

/* Makes dir and its missing parents (mode 0755); 0 when dir exists as a
 * folder afterwards, else -1 with err naming the folder that could not be
 * made and why. */
int bb_make_dirs(const char *dir, bb_err *err);

#endif
