/*
 * jpeg_synth.h — a seeded data set of synthetic photograph-like JPEGs.
 *
 * Why this file exists: the seed's data-loading experiment decoded
 * Imagenette's train split (9,469 photographs of about 117 KB each, shuffled
 * with seed 42) through the ImageNet transform. Shipping photographs is not an option, so
 * `batchbench dataset make --kind jpeg` writes images that cost the decoder
 * about the same: sizes drawn uniformly in 350..500 px per side (ImageNet's
 * typical 500x375 and its portrait twin fall inside), content of smooth
 * structure (a colour gradient, blurred blobs, low-frequency waves), multi-
 * scale texture and pixel noise, encoded by libjpeg at quality 95 with 4:2:0
 * chroma, so that the mean file is about 116 KB (the seed's: about 117 KB).
 * Decode time depends on pixels and on entropy-coded bytes, and both match.
 *
 * On disk:
 *   DIR/images/img-00000.jpg ...
 *   DIR/manifest.json   {"format": "batchbench-dataset", "version": 1,
 *                        "kind": "jpeg", "items": N, "files": [...],
 *                        "bytes": total, "seed": S, "quality": Q}
 * Every file is written atomically (util/atomic_file.h). The same seed,
 * index and quality give the same file (on the same libjpeg and libm).
 */
#ifndef BB_JPEG_SYNTH_H
#define BB_JPEG_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BB_JPEG_SYNTH_ITEMS 1000  /* default --items: quick to make; the seed read 9,469 (Imagenette train) */
#define BB_JPEG_SYNTH_QUALITY 95

/* Image `index` of the data set `seed` as JPEG bytes (*jpeg malloc'd). */
int bb_jpeg_synth_image(uint64_t seed, int64_t index, int quality, unsigned char **jpeg, size_t *len, bb_err *err);

/* Writes `items` images and the manifest into dir (created if missing),
 * in parallel over OpenMP threads; *total_bytes gets the files' sum. */
int bb_jpeg_synth_make(const char *dir, int64_t items, uint64_t seed, int quality, int64_t *total_bytes,
                       bb_err *err);

#endif
