/* cmd_models.c — `batchbench models`: the zoo with its model facts. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "engine/facts.h"
#include "engine/fuse.h"
#include "models/zoo.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench models [--head features|classifier] [--batch N] [--json]\n"
               "\n"
               "Lists the 12 models with family, parameters, GMAC per item (multiply-\n"
               "accumulates of convolutions, linear layers and attention products),\n"
               "feature dimension, weight MiB and activation MiB at batch N (default 1)\n"
               "under the memory plan.\n");
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

int cmd_models(int argc, char **argv)
{
    static const struct option opts[] = {{"head", required_argument, 0, 'H'}, {"batch", required_argument, 0, 'b'},
                                         {"json", no_argument, 0, 'j'},       {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    bb_head head = BB_HEAD_FEATURES;
    int json = 0, c;
    int64_t batch = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return BB_EXIT_OK;
        case 'j': json = 1; break;
        case 'H': if (cli_head("models", optarg, &head) != 0) return BB_EXIT_USAGE; break;
        case 'b': if (cli_int64("models", "--batch", optarg, 1, 1 << 20, &batch) != 0) return BB_EXIT_USAGE; break;
        default: usage(stderr); return BB_EXIT_USAGE;
        }
    }
    if (cli_no_positionals("models", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("%-18s %-11s %13s %10s %8s %11s %14s\n", "model", "family", "params", "GMAC/item", "feat",
               "weights MiB", "act MiB @b=N");
    for (int i = 0; i < bb_zoo_count(); i++) {
        const bb_model_info *m = bb_zoo_at(i);
        bb_model_facts f;
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
