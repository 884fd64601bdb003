/*
 * fuzz_files.h — for the fuzz targets whose readers take a folder (result
 * files, data sets): a fresh scratch folder, the input cut at NUL bytes
 * into parts, and a part written as a file.
 *
 * Why this file exists: fuzz_results.c and fuzz_dataset.c need the same
 * three steps; a crash leaves the folder behind, so it goes under $TMPDIR
 * (run_fuzz.sh points it at one it removes), else /dev/shm or /tmp.
 */
#ifndef BB_FUZZ_FILES_H
#define BB_FUZZ_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new folder "<TMPDIR>/bb_fuzz_<what>_XXXXXX" into dir; aborts on failure. */
static inline void fuzz_scratch_dir(char *dir, size_t len, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, len, "%.900s/bb_fuzz_%.32s_XXXXXX", tmp, what);
    if (!mkdtemp(dir))
        abort();
}

/* The next part of the input, up to a NUL byte or the end: *at moves past it. */
static inline size_t fuzz_next_part(const uint8_t *data, size_t size, size_t *at)
{
    const uint8_t *nul = *at < size ? memchr(data + *at, 0, size - *at) : NULL;
    size_t len = nul ? (size_t)(nul - (data + *at)) : size - *at;
    *at += len + (nul != NULL);
    return len;
}

/* Writes size bytes into path; aborts when it cannot. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

#endif
