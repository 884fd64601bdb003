/*
 * fuzz_onnx_import.c — libFuzzer target for everything after the ONNX
 * reader: the op check, the flattening of If, Loop and sequences
 * (onnx_flatten.c), the evaluation at two batch sizes (constant
 * folding, shape inference, attribute parsing in src/onnx/onnx_eval.c, onnx_ops.c,
 * onnx_fold.c, onnx_params.c), the lowering to graph ops and the fusion
 * pass, on any model the reader accepts.
 *
 * Why this file exists: a file that parses can still carry absurd
 * attributes, shapes that disagree or shape arithmetic that explodes; the
 * import must answer each with an error naming the file, never crash, leak
 * or loop (ASan, UBSan and libFuzzer's timeout watch).
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine/fuse.h"
#include "onnx/onnx_import_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bb_err err = {0};
    bb_ox_model *m = bb_ox_load_buffer(data, size, "fuzz.onnx", NULL, &err);
    if (!m)
        return 0;
    if ((m = ox_checked_flat(m, &err)) != NULL) {
        bb_graph *g = ox_import_model(m, &err);
        if (g) {
            bb_fuse(g);
            if (g->input < 0 || g->output < 0 || bb_graph_macs(g) < 0)
                abort();
            bb_graph_free(g);
        }
    }
    bb_ox_free(m);
    return 0;
}
