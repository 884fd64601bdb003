/*
 * source.h — where input items come from: a data set folder of either kind,
 * read one item at a time into the model's input layout.
 *
 *   preprocessed  3x224x224 float32 items in raw shards (bench/dataset.h):
 *                 an item is one pread of 602,112 bytes
 *   jpeg          JPEG files through the ImageNet inference transform
 *                 (data/image_transform.h): decode, resize the shorter side
 *                 to 256 (antialiased bilinear, as torchvision on PIL),
 *                 centre crop 224, scale to [0,1], normalise, CHW float32
 *
 * Why this file exists: the loader (data/loader.h), `batchbench dataload`,
 * `run --data` and `run --pipeline --data` read items without caring which
 * kind the folder holds; they all open DIR here, so they accept the same
 * kinds and refuse a folder with the same message. bb_source_load is
 * thread-safe: worker threads call it concurrently.
 */
#ifndef BB_SOURCE_H
#define BB_SOURCE_H

#include <stdint.h>

#include "util/error.h"

typedef struct bb_source bb_source;

typedef struct {
    int dct_scale; /* jpeg: let libjpeg-turbo decode at a reduced scale (M/8)
                      when the shorter side stays >= 256 (faster on large
                      photographs only; the result differs within a
                      documented tolerance: data/image_transform.h); 0 = off */
} bb_source_opts;

/* Opens DIR (reads DIR/manifest.json; "kind" absent = preprocessed).
 * opts may be NULL. -1 with a message naming the file on failure, and what
 * was found instead: another kind ("unknown kind 'x'"), or with no
 * manifest, what the folder holds (e.g. "3 .jpg files and no manifest"). */
int bb_source_open(bb_source **out, const char *dir, const bb_source_opts *opts, bb_err *err);
int64_t bb_source_items(const bb_source *s);
const char *bb_source_kind(const bb_source *s); /* "preprocessed" or "jpeg" */
/* Mean stored bytes per item (file size / items), for MB/s figures. */
double bb_source_item_bytes(const bb_source *s);
/* Loads item i (0 <= i < items) into dst[3*224*224]. Returns the bytes read
 * from storage (>= 0), or -1 with a message naming the file (a corrupt or
 * truncated JPEG, a short shard): the caller counts it and moves on. */
int64_t bb_source_load(const bb_source *s, int64_t i, float *dst, bb_err *err);
/* Loads items first, first+1, ... (wrapping around the end, as an epoch
 * would) into dst [n,3,224,224]. 0, or -1 with the message of the first
 * item that failed (its file named). */
int bb_source_read(const bb_source *s, int64_t first, int64_t n, float *dst, bb_err *err);
void bb_source_close(bb_source *s);

#endif
