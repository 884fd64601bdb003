/*
 * fuzz_dataset.c — libFuzzer target for the data set folders that `run
 * --data`, `dataload` and the loader open through bb_source_open
 * (src/data/source.c): a manifest.json and the files it lists, raw shards
 * of preprocessed items (src/data/dataset.c) or JPEGs.
 *
 * Why this file exists: a manifest may be hand-edited, cut short by a full
 * disk or written by another version, and a JPEG may be anything. Whatever
 * the bytes, opening the folder must refuse it with an error naming the
 * file, or give a source whose reads stay inside what they fill and fail
 * (naming the file) on an item they cannot decode. The input is the
 * manifest, then, after a NUL byte, one file's name, then after another NUL
 * byte the rest: that file's bytes, or, when the rest is all digits, its
 * size (at most 64 MiB; made as a sparse file), so that a manifest the
 * fuzzer gets right reaches the reads and the JPEG decoder too. Files go to
 * a fresh folder under $TMPDIR (run_fuzz.sh points it at one it removes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/source.h"
#include "fuzz/fuzz_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILE_BYTES (64LL << 20)

/* The file `name` (one plain name, not the manifest's) holding `rest`, or
 * of rest's decimal size, sparse; its path into path. 0, or -1 when the
 * parts do not say one. */
static int make_file(const char *dir, const uint8_t *name, size_t name_len, const uint8_t *rest, size_t rest_len,
                     char *path, size_t path_len)
{
    char nm[128], digits[24] = "";
    if (name_len == 0 || name_len >= sizeof nm)
        return -1;
    memcpy(nm, name, name_len), nm[name_len] = '\0';
    if (strlen(nm) != name_len || strchr(nm, '/') || !strcmp(nm, ".") || !strcmp(nm, "..") ||
        !strcmp(nm, "manifest.json"))
        return -1;
    snprintf(path, path_len, "%s/%s", dir, nm);
    if (rest_len > 0 && rest_len < sizeof digits)
        memcpy(digits, rest, rest_len); /* terminated: digits is longer */
    if (rest_len > 0 && strlen(digits) == rest_len && strspn(digits, "0123456789") == rest_len) {
        long long bytes = atoll(digits);
        FILE *f = bytes <= MAX_FILE_BYTES ? fopen(path, "wb") : NULL;
        if (bytes > MAX_FILE_BYTES)
            return -1;
        if (!f || ftruncate(fileno(f), (off_t)bytes) != 0 || fclose(f) != 0)
            abort();
        return 0;
    }
    fuzz_write_file(path, rest, rest_len);
    return 0;
}

/* Reads the first item, the last and a read that wraps around to the
 * first: ASan checks that every read stays in the buffer it fills. */
static void read_some(const bb_source *s, const char *dir)
{
    float *buf = malloc(2 * BB_ITEM_FLOATS * sizeof(float));
    if (!buf)
        abort();
    int64_t n = bb_source_items(s);
    if (n < 1)
        abort();
    const int64_t firsts[3] = {0, n - 1, n - 1}, counts[3] = {1, 1, 2};
    for (int i = 0; i < 3; i++) {
        bb_err err = {0};
        if (bb_source_read(s, firsts[i], counts[i], buf, &err) != 0 && !strstr(err.msg, dir))
            abort(); /* a failed read names the file */
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[1024], manifest[1200], file[1200] = "";
    fuzz_scratch_dir(dir, sizeof dir, "dataset");
    size_t at = 0, m_len = fuzz_next_part(data, size, &at), n_at = at;
    size_t n_len = fuzz_next_part(data, size, &at);
    snprintf(manifest, sizeof manifest, "%s/manifest.json", dir);
    fuzz_write_file(manifest, data, m_len);
    int have_file = make_file(dir, data + n_at, n_len, data + at, at < size ? size - at : 0, file, sizeof file) == 0;

    bb_source *s = NULL;
    bb_err err = {0};
    if (bb_source_open(&s, dir, NULL, &err) == 0) {
        read_some(s, dir);
        bb_source_close(s);
    } else if (!strstr(err.msg, dir) && strncmp(err.msg, "out of memory", 13) != 0) {
        abort(); /* every error names the file (or says it ran out of memory) */
    }
    if (have_file)
        unlink(file);
    unlink(manifest);
    rmdir(dir);
    return 0;
}
