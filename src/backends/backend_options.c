/*
 * backend_options.c — the table of backend options and the one parser of
 * their values, from --backend-opt and from the environment (backend_options.h).
 */
#include "backends/backend_options.h"

#include <stdlib.h>
#include <string.h>

static const bb_opt_info options[BB_OPT_COUNT] = {
    [BB_OPT_CPU_ALGO] = {"cpu.algo", "cpu", "BATCHBENCH_CPU_ALGO", {"measured", "always", "never"}, {0}, 1,
                         "Winograd, fused conv+depthwise, a linear's way (matmul in either weight layout, or a 1x1 conv): timed per layer shape (measured), or forced on/off"},
    [BB_OPT_CUDNN_ALGO] = {"cuda.cudnn_algo", "cuda", "BATCHBENCH_CUDNN_ALGO", {"preferred", "implicit", "fastest"},
                           {0}, 1, "cuDNN algorithms: 16-bit prefers implicit GEMM; implicit GEMM only; the fastest of all"},
    [BB_OPT_CUDA_LAYOUT] = {"cuda.layout", "cuda", "BATCHBENCH_CUDA_LAYOUT", {"auto", "nchw", "nhwc"}, {0}, 1,
                            "16-bit feature maps: channels-last where it pays (auto), never, or also with grouped convs"},
    [BB_OPT_CUDA_ATTENTION] = {"cuda.attention", "cuda", "BATCHBENCH_CUDA_ATTENTION",
                               {"fused", "unfused", "cudnn", "measured"}, {0}, 1,
                               "16-bit attention as one kernel, as cuBLASLt products per head, as cuDNN's SDPA where "
                               "it has an engine, or the faster of cuDNN's and the kernel, timed per shape"},
    [BB_OPT_CUDNN_GRAPH] = {"cuda.cudnn_graph", "cuda", "BATCHBENCH_CUDNN_GRAPH", {"on", "off"}, {"1", "0"}, 1,
                            "channels-last convs as cuDNN graphs with the epilogue fused, or the legacy API"},
    [BB_OPT_CUDA_PATCH_EMBED] = {"cuda.patch_embed", "cuda", "BATCHBENCH_CUDA_PATCH_CONV", {"gemm", "conv"},
                                 {"0", "1"}, 1, "a ViT's patch embedding as one product, or as a cuDNN convolution"},
    [BB_OPT_CUDA_PAD_INPUT] = {"cuda.pad_input", "cuda", "BATCHBENCH_CUDA_PAD_INPUT", {"off", "on"}, {"0", "1"}, 1,
                               "channels-last first conv reads its input padded from 3 to 8 channels"},
    [BB_OPT_CUDNN_LOG] = {"cuda.cudnn_log", "cuda", "BATCHBENCH_CUDNN_LOG", {"off", "choices", "candidates"},
                          {"0", "1", "2"}, 0, "print cuDNN's choice per convolution (or every candidate) on stderr"},
    [BB_OPT_CUDA_GELU] = {"cuda.gelu", "cuda", "BATCHBENCH_CUDA_GELU", {"exact", "epilogue"}, {"0", "1"}, 1,
                          "16-bit linear + GELU: exact (erf) in the bias pass, or cuBLASLt's bias+GELU epilogue (tanh form)"},
    [BB_OPT_CPU_SPLIT] = {"cpu.split", "cpu", "BATCHBENCH_CPU_SPLIT", {"auto", "batch", "layers"}, {0}, 1,
                          "threads share the batch (each runs the whole network on its items) where the batch is a "
                          "multiple of them and the layers are light (auto), wherever it is a multiple, or never: they share every layer",
                          "layers"},
    [BB_OPT_CPU_WINOGRAD] = {"cpu.winograd", "cpu", "BATCHBENCH_CPU_WINOGRAD", {"auto", "own"}, {0}, 1,
                             "3x3 stride-1 Winograd: oneDNN's where it has one (AVX-512) and batchbench's elsewhere "
                             "(auto), or batchbench's everywhere"},
};

const bb_opt_info *bb_opt_info_of(bb_opt_id id)
{
    return (unsigned)id < BB_OPT_COUNT ? &options[id] : NULL;
}

const char *bb_opt_value(const bb_backend_options *o, bb_opt_id id)
{
    return options[id].choices[o ? o->value[id] : 0];
}

/* The choice named s (or, with aliases, spelled the variable's old way): its index, else -1. */
static int choice_index(const bb_opt_info *in, const char *s, int aliases)
{
    for (int c = 0; c < 4 && in->choices[c]; c++)
        if (!strcmp(s, in->choices[c]) || (aliases && in->env_alias[c] && !strcmp(s, in->env_alias[c])))
            return c;
    return -1;
}

static void list_choices(const bb_opt_info *in, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int c = 0; c < 4 && in->choices[c] && n < len; c++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", c ? ", " : "", in->choices[c]);
}

static void list_keys(const char *backend, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < BB_OPT_COUNT && n < len; i++)
        if (!backend || !strcmp(options[i].backend, backend))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", options[i].key);
}

int bb_opt_set(bb_backend_options *o, const char *kv, const char *backend, bb_err *err)
{
    const char *eq = strchr(kv, '=');
    char keys[512], choices[128];
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    int id = -1;
    for (int i = 0; i < BB_OPT_COUNT && id < 0; i++)
        if (strlen(options[i].key) == klen && !strncmp(kv, options[i].key, klen))
            id = i;
    if (id < 0) {
        list_keys(NULL, keys, sizeof keys);
        return bb_err_set(err, "--backend-opt: unknown key '%.*s' (keys: %s)", (int)klen, kv, keys);
    }
    const bb_opt_info *in = &options[id];
    list_choices(in, choices, sizeof choices);
    if (!eq)
        return bb_err_set(err, "--backend-opt: '%s' has no value: use %s=VALUE (one of %s)", kv, in->key, choices);
    if (strcmp(in->backend, backend) != 0) {
        list_keys(backend, keys, sizeof keys);
        return bb_err_set(err, "--backend-opt: %s is an option of the %s backend, and this run uses %s (its keys: %s)",
                          in->key, in->backend, backend, keys);
    }
    int c = choice_index(in, eq + 1, 0);
    if (c < 0)
        return bb_err_set(err, "--backend-opt: %s: '%s' is not one of %s", in->key, eq + 1, choices);
    o->value[id] = (unsigned char)c, o->source[id] = BB_OPT_FROM_FLAG;
    return 0;
}

int bb_opt_from_env(bb_backend_options *o, const char *backend, bb_err *err)
{
    for (int i = 0; i < BB_OPT_COUNT; i++) {
        const bb_opt_info *in = &options[i];
        const char *v = getenv(in->env);
        if (!v || o->source[i] == BB_OPT_FROM_FLAG || strcmp(in->backend, backend) != 0)
            continue;
        int c = choice_index(in, v, 1);
        if (c < 0) {
            char choices[128];
            list_choices(in, choices, sizeof choices);
            return bb_err_set(err, "environment variable %s (option %s): '%s' is not one of %s", in->env, in->key, v,
                              choices);
        }
        o->value[i] = (unsigned char)c, o->source[i] = BB_OPT_FROM_ENV;
    }
    return 0;
}

void bb_opt_identity(const bb_backend_options *o, const char *backend, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < BB_OPT_COUNT && n < len; i++)
        if (options[i].identity && o->value[i] != 0 && !strcmp(options[i].backend, backend))
            n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? "," : "", options[i].key,
                                  options[i].choices[o->value[i]]);
}

void bb_opt_print_help(FILE *f, const char *indent)
{
    for (int i = 0; i < BB_OPT_COUNT; i++) {
        char choices[128];
        list_choices(&options[i], choices, sizeof choices);
        fprintf(f, "%s%-17s %s (env %s)\n%s    %s\n", indent, options[i].key, choices, options[i].env, indent,
                options[i].help);
    }
}
