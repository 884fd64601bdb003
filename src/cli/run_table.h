/*
 * run_table.h — the answer `batchbench run` prints after its sweep (see
 * run_table.c): per model the time per item at each batch size, the batch
 * sizes tied within noise and the one to use.
 */
#ifndef BB_RUN_TABLE_H
#define BB_RUN_TABLE_H

#include <stdio.h>

#include "bench/sweep.h"

/* Reads cfg->out_dir back (so configurations kept by --resume count too)
 * and prints the table and one sentence per model; margin as in
 * bench/recommend.h (e.g. 0.02). */
void cli_print_run_table(FILE *f, const bb_sweep_cfg *cfg, const bb_sweep_result *res, double margin);

#endif
