/*
 * onnx_eval_dump.c — loads an ONNX file, evaluates it at a batch size with
 * bb_ox_eval, and prints the shape of every value computed at run time
 * (constants only counted), then the graph outputs.
 *
 * Why it exists: the end-to-end check of src/onnx/onnx_eval.c on real
 * exports (torchvision models through torch.onnx.export): every node must
 * evaluate and the output must be [N,1000]; comparing two batch sizes shows
 * which dims scale with the batch.
 *
 * Usage: onnx_eval_dump MODEL.onnx N [--quiet | --all]
 * Output lines: "value <name> <f32|i64> [d0,d1,...]" for each run-time value
 * (none with --quiet; with --all also "const <name> <dtype> [dims] <sum>" for
 * each constant, sum being the sum of its elements),
 * "output <name> <dtype> [dims]" for each graph output, then
 * "summary nodes=<n> values=<n> const=<n>". Exit 1 with the error on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_eval.h"
#include "onnx/onnx_model.h"

static void print_val(const char *tag, const char *name, const bb_ox_val *v)
{
    printf("%s %s %s [", tag, name, v->dtype == BB_OX_F32 ? "f32" : "i64");
    for (int d = 0; d < v->ndim; d++)
        printf("%s%lld", d ? "," : "", (long long)v->dims[d]);
    printf("]");
    double sum = 0;
    for (int64_t i = 0; v->is_const && i < v->numel; i++)
        sum += v->dtype == BB_OX_F32 ? (double)((const float *)v->data)[i] : (double)((const int64_t *)v->data)[i];
    if (v->is_const)
        printf(" %.17g", sum);
    printf("\n");
}

int main(int argc, char **argv)
{
    int quiet = argc == 4 && !strcmp(argv[3], "--quiet"), all = argc == 4 && !strcmp(argv[3], "--all");
    if (argc < 3 || argc > 4 || (argc == 4 && !quiet && !all)) {
        fprintf(stderr, "usage: %s MODEL.onnx N [--quiet | --all]\n", argv[0]);
        return 2;
    }
    char *end;
    long long n = strtoll(argv[2], &end, 10);
    if (*end || n < 1) {
        fprintf(stderr, "%s: bad batch size '%s'\n", argv[0], argv[2]);
        return 2;
    }
    bb_err err = {0};
    bb_ox_model *m = bb_ox_load(argv[1], &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    bb_ox_val *v = bb_ox_eval(m, n, 0, &err);
    if (!v) {
        fprintf(stderr, "%s\n", err.msg);
        bb_ox_free(m);
        return 1;
    }
    int n_const = 0;
    for (int i = 0; i < m->n_values; i++) {
        n_const += v[i].is_const;
        if (v[i].ndim >= 0 && !quiet && (all || !v[i].is_const))
            print_val(v[i].is_const ? "const" : "value", m->values[i].name, &v[i]);
    }
    for (int i = 0; i < m->n_outputs; i++)
        print_val("output", m->values[m->outputs[i].value].name, &v[m->outputs[i].value]);
    printf("summary nodes=%d values=%d const=%d\n", m->n_nodes, m->n_values, n_const);
    bb_ox_vals_free(v, m->n_values);
    bb_ox_free(m);
    return 0;
}
