/*
 * atomic_file.h — the one way batchbench writes a file that someone may be
 * reading: to <path>.tmp.<pid>, flushed and fsync'ed, then renamed over
 * <path> (and the directory synced), so a reader sees the old file or the
 * whole new one, never a part. On any failure the temporary file is removed
 * and the error names the path. Result files, summary.csv, data-set shards,
 * charts and report.md all go through it.
 */
#ifndef BB_ATOMIC_FILE_H
#define BB_ATOMIC_FILE_H

#include <stddef.h>

#include "util/error.h"

/* `what` names the file in the message ("result file", "chart", ...). */
int bb_write_atomic(const char *path, const void *data, size_t len, const char *what, bb_err *err);

#endif
