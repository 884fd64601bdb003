/*
 * fuzz_results.c — libFuzzer target for the result-file reader: the
 * folder loader the report and the charts read results through
 * (bb_table_load, src/report/results_load.c), and bb_result_read_status
 * (src/results/result.c), which `run --resume` uses.
 *
 * Why this file exists: result files may be hand-edited, truncated by a
 * full disk or come from another version. Whatever their bytes, loading a
 * folder must skip what it cannot use with a warning and never crash or
 * leak. Both readers take paths, so the input is written into a fresh
 * temporary folder (under $TMPDIR, else /dev/shm when there is one: a
 * crash leaves it behind, so run_fuzz.sh points TMPDIR at a folder it
 * removes), cut at NUL bytes into
 * up to three files: two result files (so that the table's grouping,
 * duplicate and recommendation code see two rows) and a sharded sweep's
 * plan-*.json, which the folder loader checks the results against.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz_files.h"
#include "report/results_load.h"
#include "results/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_table(const bb_table *t)
{
    for (int s = 0; s < t->n_setups; s++)
        for (int m = 0; m < t->setups[s].n_models; m++) {
            bb_recommendation r;
            (void)bb_table_recommend(t, s, t->setups[s].models[m], &r);
        }
    (void)bb_table_incomplete(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[3] = {"inference_time-fuzz-cpu-model_name-resnet18-batch_size-1.json",
                                         "inference_time-fuzz-cpu-model_name-resnet18-batch_size-2.json",
                                         "plan-fuzz.json"};
    char dir[1024], path[3][1200], status[16];
    fuzz_scratch_dir(dir, sizeof dir, "results");
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
        size_t start = at, len = fuzz_next_part(data, size, &at);
        if (i == 0 || start < size)
            fuzz_write_file(path[i], data + start, len);
    }
    bb_table t;
    bb_err err = {0};
    const char *dirs[1] = {dir};
    if (bb_table_load(&t, dirs, 1, NULL, &err) == 0) {
        use_table(&t);
        bb_table_free(&t);
    }
    double median;
    if (bb_result_read_status(path[0], status, sizeof status, &median, &err) != 0 && !strstr(err.msg, path[0]))
        abort(); /* every error names the file */
    for (int i = 0; i < 3; i++)
        unlink(path[i]);
    if (rmdir(dir) != 0)
        abort();
    return 0;
}
