/*
 * model_ref.h — what a command knows of a model before it runs it: the
 * name its results record, for a user's ONNX file the file and its SHA-256,
 * the family, the per-item input shape and the facts the estimates need.
 *
 * Why this file exists: `--model` takes a zoo name or a path to an ONNX
 * file, and every command that writes results (run, serve, maxbatch) must
 * record an imported model the same way: the file's base name as the model
 * ("my_resnet.onnx"), the path as given, the file's SHA-256 (part of the
 * identity, so that two files of one name never overwrite each other's
 * results), family "imported" (or `run --family`) and head "graph". Import
 * and hashing are expensive for big files, so a command resolves each model
 * once (bb_model_ref_resolve, or bb_model_ref_of_graph when it holds the
 * graph anyway) and reuses the reference for every configuration.
 *
 * The input shape comes from the graph, not from the zoo's [3,224,224]:
 * an inception_v3 export takes [3,299,299]. A data set's items are
 * [3,224,224] (data/dataset.h), so a model of another input cannot read one
 * (bb_model_input_check_item says so, naming the model and both shapes).
 */
#ifndef BB_MODEL_REF_H
#define BB_MODEL_REF_H

#include <stddef.h>
#include <stdint.h>

#include "engine/facts.h"
#include "engine/graph.h"
#include "results/result_identity.h"
#include "util/error.h"
#include "util/sha256.h"

/* The per-item input of a graph: g->tensors[g->input]'s dims. */
typedef struct {
    int ndim;
    int64_t dims[BB_MAX_DIMS];
    int64_t floats; /* their product */
} bb_model_input;

typedef struct {
    char name[BB_MODEL_NAME_LEN];      /* results' config.model: a zoo name or the file's base name */
    char file[1024];                   /* the ONNX file as given; "" for a zoo model */
    char sha256[BB_SHA256_HEX_LEN];    /* of that file; "" for a zoo model */
    char family[BB_FAMILY_LEN];        /* conv, transformer, imported, or the family the user named */
    int imported;                      /* 1: an ONNX file (head "graph", no --head, no --weights) */
    bb_model_input input;
    bb_model_facts facts;              /* at batch 1 (MACs and weight bytes for the estimates) */
} bb_model_ref;

/* The input of g. */
void bb_model_input_of(const bb_graph *g, bb_model_input *in);

/* "[3,224,224]" of dims[0..ndim-1] ("[]" for ndim 0). */
void bb_shape_str(const int64_t *dims, int ndim, char *buf, size_t len);

/* "[3,224,224]", or with batch > 0 "[8,3,224,224]". */
void bb_model_input_str(const bb_model_input *in, int64_t batch, char *buf, size_t len);

/* 0 when in is a data set's item ([3,224,224]); else -1 with err naming
 * model, its input shape and the item's. */
int bb_model_input_check_item(const bb_model_input *in, const char *model, bb_err *err);

/* The reference of model `name` (zoo name or ONNX path) whose graph g the
 * caller holds: hashes the file of an imported model. family: the family
 * recorded for an imported model (NULL: "imported"). -1 with err set when
 * the file cannot be hashed. */
int bb_model_ref_of_graph(bb_model_ref *ref, const char *name, const bb_graph *g, const char *family, bb_err *err);

/* The same, building the graph (one import for an ONNX file) and freeing
 * it. -1 with err set ("<path>: ...") when the model cannot be built. */
int bb_model_ref_resolve(bb_model_ref *ref, const char *name, bb_head head, const char *family, bb_err *err);

/* The head results record: "graph" for an imported model, else head's name. */
const char *bb_model_ref_head(const bb_model_ref *ref, bb_head head);

/* A family name for --family: 1..31 characters of [A-Za-z0-9_.-]. */
int bb_family_name_ok(const char *s);

/* The base name of a path (after its last '/'). */
const char *bb_path_base(const char *path);

#endif
