/*
 * fuzz_onnx.c — libFuzzer target for the ONNX reader (src/onnx/onnx_model.c):
 * any bytes, read from memory with external data refused.
 *
 * Why this file exists: ONNX files come from outside. Whatever the bytes,
 * bb_ox_load_buffer must return a checked model or an error naming the
 * file, never crash, leak or read out of bounds (ASan and UBSan watch), and
 * a model it returns must be consistent: every index in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_node(const bb_ox_model *m, const bb_ox_node *n)
{
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] < -1 || n->in[i] >= m->n_values)
            abort();
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] < -1 || n->out[i] >= m->n_values)
            abort();
    for (int i = 0; i < n->n_attr; i++) {
        const bb_ox_attr *a = &n->attrs[i];
        if (a->type == BB_OX_ATTR_TENSOR && a->t->numel > 0 && a->t->dtype == BB_OX_F32)
            (void)((volatile float *)a->t->data)[a->t->numel - 1];
        if (a->type == BB_OX_ATTR_INTS && a->n > 0)
            (void)((volatile int64_t *)a->ints)[a->n - 1];
    }
    (void)bb_ox_attr_int(n, "axis", 0);
    (void)bb_ox_attr_float(n, "alpha", 0.f);
}

/* Every index the model holds points inside it; the last element of every
 * tensor is readable. */
static void check_model(const bb_ox_model *m)
{
    for (int k = 0; k < m->n_nodes; k++)
        check_node(m, &m->nodes[k]);
    for (int i = 0; i < m->n_inits; i++) {
        const bb_ox_tensor *t = &m->inits[i];
        if (m->init_value[i] < 0 || m->init_value[i] >= m->n_values || t->numel > BB_OX_MAX_ELEMS)
            abort();
        if (t->numel > 0)
            (void)(t->dtype == BB_OX_F32 ? ((volatile float *)t->data)[t->numel - 1]
                                         : (float)((volatile int64_t *)t->data)[t->numel - 1]);
    }
    for (int i = 0; i < m->n_inputs; i++)
        if (m->inputs[i].value < 0 || m->inputs[i].value >= m->n_values)
            abort();
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i].value < 0 || m->outputs[i].value >= m->n_values)
            abort();
    if (m->n_values > 0 && bb_ox_value_find(m, m->values[m->n_values - 1].name) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bb_err err = {0};
    bb_ox_model *m = bb_ox_load_buffer(data, size, "fuzz.onnx", NULL, &err);
    if (m)
        check_model(m);
    else if (strncmp(err.msg, "fuzz.onnx: ", 11) != 0)
        abort(); /* every error names the file */
    bb_ox_free(m);
    return 0;
}
