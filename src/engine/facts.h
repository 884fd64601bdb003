/*
 * facts.h — what a model costs, per batch size: parameters, MACs, feature
 * dimension, weight bytes and the peak activation bytes under the memory plan
 * (measured on the fused graph, in plain float32 layout, input included).
 */
#ifndef BB_FACTS_H
#define BB_FACTS_H

#include <stdint.h>

#include "engine/graph.h"

typedef struct bb_model_facts_s {
    int64_t params;           /* learned parameters (torchvision's count) */
    int64_t macs_per_item;    /* conv + linear + attention products */
    int64_t feature_dim;      /* output elements per item */
    int64_t weight_bytes;     /* params + BN running stats, float32 */
    int64_t activation_bytes; /* arena size of the memory plan at batch n */
    int64_t activation_bytes_no_reuse; /* every activation its own buffer */
} bb_model_facts;

/* g should be fused (bb_fuse) so in-place residual sums are accounted. */
int bb_model_facts_compute(const bb_graph *g, int64_t batch, bb_model_facts *f);

#endif
