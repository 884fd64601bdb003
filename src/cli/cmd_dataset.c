/*
 * cmd_dataset.c — `batchbench dataset make`: a data set of stored items
 * (preprocessed float32 shards, or synthetic JPEGs); `batchbench dataset
 * transform`: the ImageNet inference transform of one JPEG into a .npy file
 * (what the parity test compares with torchvision, and handy for users).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "cli/cli.h"
#include "data/image_transform.h"
#include "data/jpeg_synth.h"
#include "io/npy.h"
#include "util/error.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: batchbench dataset make --out DIR [--kind preprocessed|jpeg] [--items N]\n"
            "                                [--items-per-shard K] [--quality Q] [--seed S]\n"
            "       batchbench dataset transform --in FILE.jpg --out X.npy [--dct-scale]\n"
            "\n"
            "make --kind preprocessed (the default) writes N (default 10240, as the seed)\n"
            "seeded random 3x224x224 float32 items to DIR as raw float32 shards of K items\n"
            "(default 1024) plus manifest.json; `batchbench run --data DIR` reads its input\n"
            "batches from it. In numpy:\n"
            "np.fromfile('DIR/items-00000.f32', np.float32).reshape(-1, 3, 224, 224)\n"
            "\n"
            "make --kind jpeg writes N (default %d; the seed read Imagenette's train split, 9,469)\n"
            "synthetic photograph-like JPEGs, 350..500 px per side, libjpeg quality Q\n"
            "(default %d; about 116 KB each), to DIR/images/ plus manifest.json.\n"
            "\n"
            "transform runs the ImageNet inference transform on one JPEG (decode, resize\n"
            "the shorter side to 256 as PIL's antialiased bilinear, centre crop 224,\n"
            "/255, normalise with the ImageNet mean and std) and writes the float32\n"
            "[3,224,224] tensor. --dct-scale lets libjpeg decode at a reduced scale M/8\n"
            "(M = 1, 2 or 4, keeping the shorter side >= 256) first: faster for large\n"
            "photographs, slightly different pixels.\n",
            BB_JPEG_SYNTH_ITEMS, BB_JPEG_SYNTH_QUALITY);
}

typedef struct {
    const char *out;
    int jpeg, quality;
    int64_t items, per;
    uint64_t seed;
    int set_items, set_per, set_quality;
} make_args;

static int make_kind(const char *s, int *jpeg)
{
    if (strcmp(s, "preprocessed") && strcmp(s, "jpeg")) {
        fprintf(stderr, "batchbench dataset make: --kind: '%s' is not preprocessed or jpeg\n", s);
        return -1;
    }
    *jpeg = !strcmp(s, "jpeg");
    return 0;
}

/* 0, or an exit code (the message printed). */
static int parse_make(int argc, char **argv, make_args *a)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},  {"items", required_argument, 0, 'n'},
        {"items-per-shard", required_argument, 0, 'k'}, {"seed", required_argument, 0, 's'},
        {"kind", required_argument, 0, 'K'}, {"quality", required_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    int c;
    int64_t q = BB_JPEG_SYNTH_QUALITY;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': a->out = optarg; break;
        case 'n': bad = cli_int64("dataset", "--items", optarg, 1, 100000000, &a->items), a->set_items = 1; break;
        case 'k': bad = cli_int64("dataset", "--items-per-shard", optarg, 1, 1 << 20, &a->per), a->set_per = 1; break;
        case 's': bad = cli_u64("dataset", "--seed", optarg, &a->seed); break;
        case 'K': bad = make_kind(optarg, &a->jpeg); break;
        case 'q': bad = cli_int64("dataset", "--quality", optarg, 1, 100, &q), a->set_quality = 1; break;
        case 'h': usage(stdout); return -1; /* done, exit 0 */
        default: usage(stderr); return BB_EXIT_USAGE;
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    a->quality = (int)q;
    if (cli_no_positionals("dataset", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    const char *wrong = a->jpeg && a->set_per ? "--items-per-shard" : !a->jpeg && a->set_quality ? "--quality" : NULL;
    if (wrong) {
        fprintf(stderr, "batchbench dataset make: %s does not apply to --kind %s\n", wrong,
                a->jpeg ? "jpeg" : "preprocessed");
        return BB_EXIT_USAGE;
    }
    if (!a->out) {
        fprintf(stderr, "batchbench dataset make: --out is required\n");
        return BB_EXIT_USAGE;
    }
    return 0;
}

static int dataset_make(int argc, char **argv)
{
    make_args a = {.items = 10240, .per = 1024};
    int rc = parse_make(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? BB_EXIT_OK : rc;
    bb_err err = {0};
    if (a.jpeg) {
        int64_t items = a.set_items ? a.items : BB_JPEG_SYNTH_ITEMS, bytes = 0;
        if (bb_jpeg_synth_make(a.out, items, a.seed, a.quality, &bytes, &err) != 0) {
            fprintf(stderr, "batchbench dataset make: %s\n", err.msg);
            return BB_EXIT_FAILURE;
        }
        printf("wrote %lld JPEG images (mean %.1f KB, %.1f MB in all, quality %d) to %s\n", (long long)items,
               (double)bytes / (double)items / 1e3, (double)bytes / 1e6, a.quality, a.out);
        return BB_EXIT_OK;
    }
    if (bb_dataset_make(a.out, a.items, a.per, a.seed, &err) != 0) {
        fprintf(stderr, "batchbench dataset make: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    printf("wrote %lld items (%.1f MB) to %s\n", (long long)a.items, (double)a.items * BB_ITEM_FLOATS * 4 / 1e6,
           a.out);
    return BB_EXIT_OK;
}

static int dataset_transform(int argc, char **argv)
{
    static const struct option opts[] = {{"in", required_argument, 0, 'i'},  {"out", required_argument, 0, 'o'},
                                         {"dct-scale", no_argument, 0, 'd'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *in = NULL, *out = NULL;
    int dct = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'd': dct = 1; break;
        case 'h': usage(stdout); return BB_EXIT_OK;
        default: usage(stderr); return BB_EXIT_USAGE;
        }
    }
    if (cli_no_positionals("dataset", optind, argc, argv) != 0)
        return BB_EXIT_USAGE;
    if (!in || !out) {
        fprintf(stderr, "batchbench dataset transform: %s is required\n", in ? "--out" : "--in");
        return BB_EXIT_USAGE;
    }
    float *x = malloc(sizeof(float) * BB_ITEM_FLOATS);
    bb_err err = {0};
    const int64_t dims[3] = {3, BB_CROP, BB_CROP};
    int rc = x ? 0 : bb_err_oom(&err, "out of memory");
    if (rc == 0 && bb_imagenet_transform_file(in, dct, x, &err) < 0)
        rc = -1;
    if (rc == 0)
        rc = bb_npy_write(out, 3, dims, x, &err);
    free(x);
    if (rc != 0) {
        fprintf(stderr, "batchbench dataset transform: %s\n", err.msg);
        return BB_EXIT_FAILURE;
    }
    printf("wrote %s [3,224,224] float32%s\n", out, dct ? " (--dct-scale)" : "");
    return BB_EXIT_OK;
}

int cmd_dataset(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h"))
        return usage(stdout), BB_EXIT_OK;
    if (strcmp(sub, "make") != 0 && strcmp(sub, "transform") != 0) {
        fprintf(stderr, "batchbench dataset: expected the subcommand 'make' or 'transform'\n");
        usage(stderr);
        return BB_EXIT_USAGE;
    }
    return !strcmp(sub, "make") ? dataset_make(argc - 1, argv + 1) : dataset_transform(argc - 1, argv + 1);
}
