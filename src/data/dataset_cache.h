/*
 * dataset_cache.h — the data set the paper preset reads, made once and
 * reused.
 *
 * Why this file exists: the seed read 10,240 random items stored on disk
 * through its data loader, so `run --preset paper` (and `--input dataset`
 * without --data) needs such a data set without asking the user to make
 * one. It lives in a cache folder shared by every run on the machine:
 *
 *   $BATCHBENCH_CACHE, else $XDG_CACHE_HOME/batchbench, else
 *   $HOME/.cache/batchbench;  the set itself: <cache>/random-<items>
 *
 * A folder already there is reused when it is valid: its manifest says
 * preprocessed, the same number of items and the fixed seed, and every
 * shard has the size the manifest implies. Otherwise it is made again in a
 * temporary folder beside it and renamed into place, so two runs making it
 * at once, or one interrupted half-way, never leave a half-made set where a
 * run would read it.
 */
#ifndef BB_DATASET_CACHE_H
#define BB_DATASET_CACHE_H

#include <stdint.h>
#include <stdio.h>

#include "util/error.h"

#define BB_DATASET_CACHE_SEED 10240u /* fixed: every run reads the same items */

/* The cache folder (see above) into buf. -1 when no variable names one. */
int bb_dataset_cache_root(char *buf, size_t len, bb_err *err);

/* Is dir a complete preprocessed set of `items` items with the cache's seed?
 * 1 yes; 0 no, with why in why[len] ("" when the folder is absent). */
int bb_dataset_cache_valid(const char *dir, int64_t items, char *why, size_t len);

/* The path of a valid set of `items` random items under root, made (with a
 * line on log) when absent or invalid. 0, or -1 with a message naming the
 * folder. */
int bb_dataset_cache_get(const char *root, int64_t items, char *path, size_t len, FILE *log, bb_err *err);

#endif
