/*
 * fuzz_npy.c — libFuzzer target for the .npy reader (src/io/npy.c).
 *
 * Why this file exists: .npy files are exchanged with Python and read back
 * as trusted arrays. Whatever the bytes, bb_npy_read must return an array
 * whose data holds exactly the elements its shape says, or an error naming
 * the file. The reader takes a path, so each input is written to an
 * in-memory file (memfd) and read through /proc/self/fd.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/memfd_input.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, "fuzz.npy", path);
    bb_npy a;
    bb_err err = {0};
    if (bb_npy_read(path, &a, &err) == 0) {
        int64_t n = bb_npy_numel(&a);
        if (n < 0 || a.ndim < 0 || a.ndim > BB_NPY_MAX_DIMS)
            abort();
        if (n > 0)
            (void)((volatile float *)a.data)[n - 1]; /* ASan: the buffer holds them all */
        bb_npy_free(&a);
    } else if (strncmp(err.msg, path, strlen(path)) != 0) {
        abort(); /* every error names the file */
    }
    close(fd);
    return 0;
}
