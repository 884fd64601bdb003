/* model.c — zoo + weights + fusion in one call (model.h). */
#include "models/model.h"

#include <math.h>
#include <stddef.h>

#include "engine/fuse.h"
#include "engine/weights.h"
#include "models/zoo.h"
#include "onnx/onnx_import.h"

bb_graph *bb_model_build(const char *name, bb_head head, bb_err *err)
{
    if (bb_onnx_is_path(name))
        return bb_onnx_import(name, err);
    bb_graph *g = bb_zoo_build(name, head);
    if (!g)
        bb_err_set(err, "unknown model '%s' (see `batchbench models`)", name);
    return g;
}

bb_graph *bb_model_open(const bb_model_spec *spec, bb_err *err)
{
    bb_graph *g = bb_model_build(spec->name, spec->head, err);
    if (!g)
        return NULL;
    if (g->family == BB_FAMILY_IMPORTED) {
        if (spec->weights_path) {
            bb_err_set(err, "%s: --weights: an ONNX model's weights come from its file", spec->name);
            bb_graph_free(g);
            return NULL;
        }
    } else if (spec->weights_path) {
        if (bb_weights_load(g, spec->weights_path, err) != 0) {
            bb_graph_free(g);
            return NULL;
        }
    } else {
        bb_weights_random(g, spec->seed);
    }
    bb_fuse(g);
    return g;
}

void bb_random_input(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    for (int64_t i = 0; i < n; i++) {
        /* sum of 4 uniforms: mean 0, variance 1 after scaling, cheap */
        double acc = 0.0;
        for (int k = 0; k < 4; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            acc += (double)(s >> 11) / 9007199254740992.0 - 0.5;
        }
        x[i] = (float)(acc * sqrt(3.0));
    }
}
