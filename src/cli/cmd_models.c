/* cmd_models.c — `batchbench models`: the zoo with its model facts, and
 * `--describe` of one model: a zoo row, or a user's ONNX file as the
 * importer sees it (onnx/onnx_import.h). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/facts.h"
#include "engine/fuse.h"
#include "models/zoo.h"
#include "onnx/onnx_import.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench models [--head features|classifier] [--batch N] [--json]\n"
               "       batchbench models --describe NAME|PATH.onnx [--head H] [--batch N] [--json]\n"
               "\n"
               "Lists the 12 models with family, parameters, GMAC per item (multiply-\n"
               "accumulates of convolutions, linear layers and attention products),\n"
               "feature dimension, weight MiB and activation MiB at batch N (default 1)\n"
               "under the memory plan.\n"
               "--describe NAME: that zoo model's row alone. --describe PATH.onnx: your own\n"
               "model, as batchbench would import it: its inputs and outputs with their\n"
               "shapes, parameters, MACs per item, the op types it uses (how many of each)\n"
               "and whether every one is supported (text; no --head, no --json). Any\n"
               "command's --model (run's --models) takes the same path.\n"
               "\n"
               "exit codes: 0 ok, 1 the ONNX file cannot be read or described (the message\n"
               "names it), 2 bad arguments (an unknown model name)\n");
}

static int facts_of(const bb_model_info *m, bb_head head, int64_t batch, bb_model_facts *f)
{
    bb_graph *g = m->build(head);
    bb_fuse(g); /* structural only: in-place sums shape the memory plan */
    int rc = bb_model_facts_compute(g, batch, f);
    bb_graph_free(g);
    return rc;
}

static cJSON *facts_json(const bb_model_info *m, bb_head head, int64_t batch, const bb_model_facts *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m->name);
    cJSON_AddStringToObject(o, "family", bb_family_name(m->family));
    cJSON_AddStringToObject(o, "head", bb_head_name(head));
    cJSON_AddNumberToObject(o, "params", (double)f->params);
    cJSON_AddNumberToObject(o, "macs_per_item", (double)f->macs_per_item);
    cJSON_AddNumberToObject(o, "gmac_per_item", (double)f->macs_per_item / 1e9);
    cJSON_AddNumberToObject(o, "feature_dim", (double)f->feature_dim);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)f->weight_bytes);
    cJSON_AddNumberToObject(o, "batch_size", (double)batch);
    cJSON_AddNumberToObject(o, "activation_bytes", (double)f->activation_bytes);
    return o;
}

/* The table's header, or the JSON array. */
static void print_header(int json)
{
    if (!json)
        printf("%-18s %-11s %13s %10s %8s %11s %14s\n", "model", "family", "params", "GMAC/item", "feat",
               "weights MiB", "act MiB @b=N");
}

/* The zoo's models (only `only` when not NULL) as rows or a JSON array. */
static int print_zoo(const char *only, bb_head head, int64_t batch, int json)
{
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    print_header(json);
    for (int i = 0; i < bb_zoo_count(); i++) {
        const bb_model_info *m = bb_zoo_at(i);
        bb_model_facts f;
        if (only && strcmp(only, m->name) != 0)
            continue;
        if (facts_of(m, head, batch, &f) != 0) {
            fprintf(stderr, "batchbench models: %s: out of memory\n", m->name);
            cJSON_Delete(arr);
            return BB_EXIT_FAILURE;
        }
        if (json)
            cJSON_AddItemToArray(arr, facts_json(m, head, batch, &f));
        else
            printf("%-18s %-11s %13lld %10.3f %8lld %11.1f %14.1f\n", m->name, bb_family_name(m->family),
                   (long long)f.params, (double)f.macs_per_item / 1e9, (long long)f.feature_dim,
                   (double)f.weight_bytes / 1048576.0, (double)f.activation_bytes / 1048576.0);
    }
    if (json) {
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    }
    return BB_EXIT_OK;
}

/* --describe PATH.onnx: the importer's description (exit 1 naming the file
 * when it cannot be read); --describe NAME: the zoo model's row. */
static int describe(const char *what, int head_set, bb_head head, int64_t batch, int json)
{
    if (!bb_onnx_is_path(what)) {
        if (!bb_zoo_find(what))
            return cli_model_flag("models", "--describe", what), BB_EXIT_USAGE;
        return print_zoo(what, head, batch, json);
    }
    if (head_set || json)
        return fprintf(stderr, "batchbench models: --describe %s: %s does not go with an ONNX file (its graph is "
                       "described as exported, in text)\n", what, head_set ? "--head" : "--json"), BB_EXIT_USAGE;
    bb_err err = {0};
    fflush(stdout);
    if (bb_onnx_describe(what, stdout, &err) == 0)
        return BB_EXIT_OK;
    int named = strstr(err.msg, what) != NULL;
    fprintf(stderr, "batchbench models: --describe: %s%s%s\n", named ? "" : what, named ? "" : ": ", err.msg);
    return BB_EXIT_FAILURE;
}

int cmd_models(int argc, char **argv)
{
    static const struct option opts[] = {{"head", required_argument, 0, 'H'}, {"batch", required_argument, 0, 'b'},
                                         {"json", no_argument, 0, 'j'},       {"help", no_argument, 0, 'h'},
                                         {"describe", required_argument, 0, 'D'}, {0, 0, 0, 0}};
    bb_head head = BB_HEAD_FEATURES;
    int json = 0, head_set = 0, c;
    int64_t batch = 1;
    const char *what = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return BB_EXIT_OK;
        case 'j': json = 1; break;
        case 'D': what = optarg; break;
        case 'H': if (cli_head("models", optarg, &head) != 0) return BB_EXIT_USAGE; head_set = 1; break;
        case 'b': if (cli_int64("models", "--batch", optarg, 1, 1 << 20, &batch) != 0) return BB_EXIT_USAGE; break;
        default: usage(stderr); return BB_EXIT_USAGE;
        }
    }
    if (cli_no_positionals("models", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    return what ? describe(what, head_set, head, batch, json) : print_zoo(NULL, head, batch, json);
}
