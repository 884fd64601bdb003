/*
 * memfd_input.h — for the fuzz targets whose reader takes a path (npy,
 * safetensors): the input bytes as an in-memory file and its
 * /proc/self/fd path, so that no fuzz run touches the disk.
 */
#ifndef BB_FUZZ_MEMFD_INPUT_H
#define BB_FUZZ_MEMFD_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data into a new memfd named name; its path into path. Returns the
 * fd (close it after use); aborts when the memfd cannot be made. */
static inline int fuzz_memfd(const uint8_t *data, size_t size, const char *name, char path[64])
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        abort();
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
