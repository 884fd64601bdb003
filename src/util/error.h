/*
 * error.h — how batchbench reports a failure: functions that can fail return
 * 0 on success and -1 on failure, after writing a one-line message into a
 * caller-owned bb_err. Messages name the file, tensor or flag and what was
 * wrong, e.g. "weights.safetensors: tensor 'fc.weight': shape [10,512], expected [1000,512]".
 */
#ifndef BB_ERROR_H
#define BB_ERROR_H

#include <stddef.h>

typedef struct {
    char msg[1024];
    int oom; /* set (by bb_err_oom) when the failure was running out of memory */
} bb_err;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int bb_err_set(bb_err *e, const char *fmt, ...); /* always returns -1 */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int bb_err_oom(bb_err *e, const char *fmt, ...); /* same, and marks it OOM */

/* Process exit codes, documented in README.md. */
enum {
    BB_EXIT_OK = 0,
    BB_EXIT_FAILURE = 1,    /* runtime failure: bad file, failed primitive */
    BB_EXIT_USAGE = 2,      /* bad command-line arguments */
    BB_EXIT_INTERRUPTED = 130
};

#endif
