/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader
 * (src/io/safetensors.c).
 *
 * Why this file exists: weight files come from outside and bb_st_open
 * promises that after a successful open every tensor can be read without
 * further checks. Whatever the bytes, it must either keep that promise
 * (each tensor's byte range inside the data section, of the size its shape
 * needs) or fail with an error naming the file. The reader maps a path, so
 * each input is written to an in-memory file (memfd).
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/memfd_input.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tensors(const bb_safetensors *st)
{
    for (int i = 0; i < st->n; i++) {
        const bb_st_tensor *t = &st->tensors[i];
        uint64_t bytes = (uint64_t)bb_st_numel(t) * bb_dtype_size(t->dtype);
        if (t->begin > t->end || t->end > st->data_len || t->end - t->begin != bytes)
            abort();
        if (bb_st_find(st, t->name) == NULL)
            abort();
        const volatile unsigned char *p = bb_st_data(st, t);
        if (bytes)
            (void)(p[0] + p[bytes - 1]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, "fuzz.safetensors", path);
    bb_safetensors st;
    bb_err err = {0};
    if (bb_st_open(&st, path, &err) == 0) {
        check_tensors(&st);
        bb_st_close(&st);
    } else if (strncmp(err.msg, path, strlen(path)) != 0) {
        abort(); /* every error names the file */
    }
    close(fd);
    return 0;
}
