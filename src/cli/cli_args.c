/* cli_args.c — strict parsers for command-line values (cli.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "models/zoo.h"
#include "onnx/onnx_import.h"
#include "results/model_ref.h"

int cli_int64(const char *cmd, const char *flag, const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') {
        fprintf(stderr, "batchbench %s: %s: '%s' is not an integer\n", cmd, flag, s);
        return -1;
    }
    if (v < min || v > max) {
        fprintf(stderr, "batchbench %s: %s: %lld is out of range [%" PRId64 ", %" PRId64 "]\n",
                cmd, flag, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_bytes(const char *cmd, const char *flag, const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    double mult = 1.0;
    if (end && *end && !end[1])
        mult = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 0.0;
    else if (end && *end)
        mult = 0.0;
    if (errno || end == s || mult == 0.0 || v <= 0 || v * mult < 1.0 || v * mult > 9.0e18) {
        fprintf(stderr, "batchbench %s: %s: '%s' is not a size like 512M or 2G\n", cmd, flag, s);
        return -1;
    }
    *out = (int64_t)(v * mult);
    return 0;
}

int cli_u64(const char *cmd, const char *flag, const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (*s == '-') {
        fprintf(stderr, "batchbench %s: %s: '%s' must not be negative\n", cmd, flag, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0') {
        fprintf(stderr, "batchbench %s: %s: '%s' is not a non-negative integer\n", cmd, flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_head(const char *cmd, const char *s, bb_head *out)
{
    if (strcmp(s, "features") == 0)
        *out = BB_HEAD_FEATURES;
    else if (strcmp(s, "classifier") == 0)
        *out = BB_HEAD_CLASSIFIER;
    else {
        fprintf(stderr, "batchbench %s: --head: '%s' is not one of features, classifier\n", cmd, s);
        return -1;
    }
    return 0;
}

/* A user's model file: it exists, is a file and can be read. */
static int onnx_file_ok(const char *cmd, const char *flag, const char *s)
{
    struct stat st;
    const char *why = stat(s, &st) != 0 ? strerror(errno) : S_ISDIR(st.st_mode) ? "is a directory"
                      : access(s, R_OK) != 0 ? strerror(errno) : NULL;
    if (!why)
        return 0;
    fprintf(stderr, "batchbench %s: %s: ONNX file '%s': %s\n", cmd, flag, s, why);
    return -1;
}

int cli_model_flag(const char *cmd, const char *flag, const char *s)
{
    if (bb_zoo_find(s))
        return 0;
    if (bb_onnx_is_path(s))
        return onnx_file_ok(cmd, flag, s);
    fprintf(stderr, "batchbench %s: %s: unknown model '%s'; known:", cmd, flag, s);
    for (int i = 0; i < bb_zoo_count(); i++)
        fprintf(stderr, " %s", bb_zoo_at(i)->name);
    fprintf(stderr, "; or the path of an ONNX file (ending .onnx)\n");
    return -1;
}

const char *cli_model_name(const char *s)
{
    const bb_model_info *m = bb_zoo_find(s);
    return m ? m->name : s;
}

int cli_model(const char *cmd, const char *s)
{
    return cli_model_flag(cmd, "--model", s);
}

int cli_no_head_for_onnx(const char *cmd, const char *model)
{
    fprintf(stderr, "batchbench %s: --head does not go with an ONNX model ('%s'): its graph runs as exported "
                    "(results record head \"graph\")\n", cmd, model);
    return -1;
}

int cli_family(const char *cmd, const char *s)
{
    if (bb_family_name_ok(s))
        return 0;
    fprintf(stderr, "batchbench %s: --family: '%s' is not 1 to %d characters of letters, digits, '_', '.' and '-'\n",
            cmd, s, BB_FAMILY_LEN - 1);
    return -1;
}

int cli_no_positionals(const char *cmd, int optind_, int argc, char **argv)
{
    if (optind_ >= argc)
        return 0;
    fprintf(stderr, "batchbench %s: unexpected argument '%s' (see --help)\n", cmd, argv[optind_]);
    return -1;
}

int cli_precision(const char *cmd, const char *s, bb_precision *out)
{
    if (bb_precision_parse(s, out) == 0)
        return 0;
    fprintf(stderr, "batchbench %s: --precision: '%s' is not one of fp32, tf32, fp16, bf16\n", cmd, s);
    return -1;
}

int cli_device(const char *cmd, const char *s)
{
    if (!strcmp(s, "cpu") || !strcmp(s, "cuda") || !strcmp(s, "auto"))
        return 0;
    fprintf(stderr, "batchbench %s: --device: '%s' is not one of cpu, cuda, auto\n", cmd, s);
    return -1;
}

const bb_backend_ops *cli_backend(const char *device, bb_precision precision, bb_err *err)
{
    char why[256];
    int gpu = bb_cuda_available(why, sizeof why), is_auto = !strcmp(device, "auto");
    if (!strcmp(device, "cuda") && !gpu) {
        bb_err_set(err, "--device cuda: %s", why);
        return NULL;
    }
    if (!strcmp(device, "cpu") || (is_auto && !gpu)) {
        if (precision != BB_PREC_FP32 && precision != BB_PREC_BF16) {
            bb_err_set(err, "--precision %s: the CPU backend runs fp32 or bf16%s%s%s", bb_precision_name(precision),
                       is_auto ? ", and --device auto found no GPU (" : "", is_auto ? why : "", is_auto ? ")" : "");
            return NULL;
        }
        if (precision == BB_PREC_BF16 && !bb_cpu_has_bf16()) {
            bb_err_set(err, "--precision bf16: this CPU has neither AVX512-BF16 nor AMX, so bf16 would run "
                            "emulated; use fp32");
            return NULL;
        }
        return &bb_cpu_backend;
    }
    return &bb_cuda_backend;
}
