/*
 * result_identity.h — what makes two results the same configuration, and
 * the file name that follows from it.
 *
 * Why this file exists: a result folder holds results of many
 * configurations (fp32 and bf16, features and classifier, a backend option
 * on and off, batchbench and its peers), and none may be mistaken for,
 * or overwrite, another. A result's identity is everything that shapes its
 * measurement: host, device, model, batch size, precision, head, engine,
 * input source, threads (on the CPU), the non-default backend options that
 * shape a measurement, for an imported model its file's SHA-256 (two files
 * of one name are two models), and for an end-to-end result the loader's workers,
 * mode, prefetch and worker kind (threads or processes), and the idle time
 * slept before each timed batch (run --idle-ms) when there is one. The identity key is that list as one string; it is
 * written into the result (config.identity), compared by --resume (exact
 * matches only) and by the writer (a finished result of another identity is
 * never overwritten), and the loader groups results by it.
 *
 * File names stay readable: the seed's name for the default configuration,
 * with a tag for each non-default part ("-bf16", "-classifier", "-dataset",
 * "-engine-pytorch", "-opts-<hash>", "-procs" for loader worker processes,
 * "-sha256-<its first 8 hex digits>" for an imported model's file,
 * "-idle-<MS>ms" for batches timed after an idle time, ...). Should a finished file of another
 * identity (e.g. another thread count) already hold that name, the result
 * goes to the same name with "-id-<hash of the identity key>".
 */
#ifndef BB_RESULT_IDENTITY_H
#define BB_RESULT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/error.h"

struct bb_result_s;

#define BB_IDENTITY_LEN 1024
/* What results store of a model's name (an ONNX file's base name may be
 * long) and of its family (run --family names one). */
#define BB_MODEL_NAME_LEN 128
#define BB_FAMILY_LEN 32

typedef struct {
    char host[128], device[16], model[BB_MODEL_NAME_LEN], engine[32], precision[16], head[16], input[32];
    char model_sha256[65]; /* an imported model's file (results/model_ref.h); "" for a zoo model */
    int64_t batch_size;
    int threads;           /* CPU threads; 0 on a GPU (not part of its identity) */
    char options[256];     /* non-default options that shape a measurement, "k=v,k=v" */
    int workers, prefetch; /* end-to-end results; workers 0: an inference result */
    char load_mode[16];
    char worker_kind[16];  /* end-to-end: "thread" (also files without one) or "process" */
    int64_t idle_us;       /* run --idle-ms, in microseconds; 0: back to back (also files without one) */
} bb_identity;

/* The identity of a result about to be written on `host`. */
void bb_identity_of_result(const struct bb_result_s *r, const char *host, bb_identity *id);

/* The identity of a result file's JSON (files written before identities
 * existed included: missing fields take their defaults). -1 when the
 * object lacks the configuration. */
int bb_identity_of_json(const cJSON *root, bb_identity *id);

/* The identity key, e.g. "host=vm;device=cpu;model=resnet18;batch_size=1;
 * precision=bf16;head=features;engine=batchbench;input=random;threads=2;options=";
 * an end-to-end result adds ";workers=W;load_mode=M;prefetch=P", and
 * ";worker_kind=process" for worker processes (thread keys are those written
 * before worker kinds existed); batches timed after an idle time add
 * ";idle_ms=MS" (back-to-back keys are those written before it existed); an imported model ends it with
 * ";model_sha256=<hex>" (zoo keys are those written before imports existed). */
void bb_identity_key(const bb_identity *id, char *buf, size_t len);

/* The setup part of the key (all but model, batch size and model file):
 * results that share it are one series in a chart. An imported model's
 * head "graph" counts as "features" here, so that it is charted and ranked
 * next to the zoo's models of the same run. */
void bb_identity_setup_key(const bb_identity *id, char *buf, size_t len);

/* The head a setup is grouped under: "features" for an imported model's
 * "graph", else head itself. */
const char *bb_identity_setup_head(const char *head);

/* The plan key (run --shard, bench/shard.h): the identity key without the
 * host and the thread count, so that a configuration planned once is the
 * same whichever node of the cluster measures it. */
void bb_identity_plan_key(const bb_identity *id, char *buf, size_t len);

/* 8 hex digits of FNV-1a over s: short and stable across runs and machines. */
void bb_identity_hash(const char *s, char out[9]);

/* The file name for the identity: the readable one (alt 0) or the one
 * disambiguated by the key's hash (alt 1). malloc'd; NULL on OOM. */
char *bb_identity_filename(const bb_identity *id, int alt);

/* Where a result of this identity lives or goes in dir: the first of the
 * two names that is free or holds the same identity. *exists says whether
 * that file is there. -1 (message naming both files) when both hold
 * results of other identities. */
int bb_identity_place(const char *dir, const bb_identity *id, char *path, size_t len, int *exists, bb_err *err);

#endif
