/* cmd_dataset.c — `batchbench dataset make`: a data set of stored items. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/dataset.h"
#include "cli/cli.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: batchbench dataset make --out DIR [--items N] [--items-per-shard K] [--seed S]\n"
               "\n"
               "Writes N (default 10240, as the seed) seeded random 3x224x224 float32 items\n"
               "to DIR as raw float32 shards of K items (default 1024) plus manifest.json;\n"
               "`batchbench run --data DIR` reads its input batches from it. In numpy:\n"
               "np.fromfile('DIR/items-00000.f32', np.float32).reshape(-1, 3, 224, 224)\n");
}

int cmd_dataset(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},   {"items", required_argument, 0, 'n'},
                                         {"items-per-shard", required_argument, 0, 'k'},
                                         {"seed", required_argument, 0, 's'},  {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    if (argc < 2 || strcmp(argv[1], "make") != 0) {
        if (argc >= 2 && !strcmp(argv[1], "--help"))
            return usage(stdout), BB_EXIT_OK;
        fprintf(stderr, "batchbench dataset: expected the subcommand 'make'\n");
        usage(stderr);
        return BB_EXIT_USAGE;
    }
    const char *out = NULL;
    int64_t items = 10240, per = 1024;
    uint64_t seed = 0;
    int c;
    argc--, argv++;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': bad = cli_int64("dataset", "--items", optarg, 1, 100000000, &items); break;
        case 'k': bad = cli_int64("dataset", "--items-per-shard", optarg, 1, 1 << 20, &per); break;
        case 's': bad = cli_u64("dataset", "--seed", optarg, &seed); break;
        case 'h': usage(stdout); return BB_EXIT_OK;
        default: usage(stderr); return BB_EXIT_USAGE;
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (cli_no_positionals("dataset", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    if (!out) {
        fprintf(stderr, "batchbench dataset make: --out is required\n");
        return BB_EXIT_USAGE;
    }
    bb_err err = {0};
    if (bb_dataset_make(out, items, per, seed, &err) != 0) {
        fprintf(stderr, "batchbench dataset make: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    printf("wrote %lld items (%.1f MB) to %s\n", (long long)items, (double)items * BB_ITEM_FLOATS * 4 / 1e6, out);
    return BB_EXIT_OK;
}
