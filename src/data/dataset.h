/*
 * dataset.h — a data set of stored input items, as the seed's experiment
 * read 10,240 random 3x224x224 float32 items from disk.
 *
 * On disk (documented in README.md):
 *   DIR/manifest.json          {"format": "batchbench-dataset", "version": 1,
 *                               "kind": "preprocessed" (absent = preprocessed),
 *                               "items": N, "item_shape": [3,224,224],
 *                               "dtype": "float32", "items_per_shard": K,
 *                               "shards": ["items-00000.f32", ...], "seed": S}
 *   DIR/items-00000.f32 ...    raw little-endian float32, C order [k,3,224,224]
 *                               (numpy: np.fromfile(f, np.float32).reshape(-1,3,224,224))
 */
#ifndef BB_DATASET_H
#define BB_DATASET_H

#include <stdint.h>

#include "util/error.h"

#define BB_ITEM_FLOATS (3 * 224 * 224)

typedef struct {
    char dir[512];
    int64_t items, items_per_shard;
    int64_t seed;     /* the manifest's "seed" (-1 when it has none) */
    int n_shards;
    char (*shards)[64];
} bb_dataset;

/* Writes `items` seeded random items into dir (created if missing). */
int bb_dataset_make(const char *dir, int64_t items, int64_t items_per_shard, uint64_t seed, bb_err *err);

int bb_dataset_open(bb_dataset *ds, const char *dir, bb_err *err);
/* Reads n items starting at item `first` (wrapping around the end, as an
 * epoch would) into dst [n,3,224,224]. */
int bb_dataset_read(const bb_dataset *ds, int64_t first, int64_t n, float *dst, bb_err *err);
void bb_dataset_close(bb_dataset *ds);

#endif
