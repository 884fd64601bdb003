/*
 * fake_result.h — for unit tests of result files: an environment and a
 * result with every field set to a known value (resnet50-like facts, a
 * --reps auto measurement that met its target), so that tests check what
 * the writer makes of them.
 */
#ifndef BB_TEST_FAKE_RESULT_H
#define BB_TEST_FAKE_RESULT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "env/env.h"
#include "results/result.h"

static void fake_env(bb_env *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->host, sizeof e->host, "bench host/1");
    snprintf(e->cpu_model, sizeof e->cpu_model, "Test CPU");
    snprintf(e->os, sizeof e->os, "Test OS");
    snprintf(e->kernel, sizeof e->kernel, "Linux 6.1 x86_64");
    snprintf(e->compiler, sizeof e->compiler, "gcc 12");
    snprintf(e->onednn, sizeof e->onednn, "2.6.3 (N/A)");
    snprintf(e->batchbench_version, sizeof e->batchbench_version, "0.1.0");
    snprintf(e->git_commit, sizeof e->git_commit, "abc");
    e->cores_logical = 8, e->threads_used = 4, e->mem_total_bytes = 1LL << 34, e->has_avx512 = 1;
}

static void fake_result(bb_result *r, const char *model, int64_t bs, double *times, int n)
{
    memset(r, 0, sizeof *r);
    snprintf(r->model, sizeof r->model, "%s", model);
    snprintf(r->family, sizeof r->family, "conv");
    snprintf(r->head, sizeof r->head, "features");
    snprintf(r->device, sizeof r->device, "cpu");
    snprintf(r->engine, sizeof r->engine, "batchbench");
    snprintf(r->precision, sizeof r->precision, "fp32");
    snprintf(r->input_source, sizeof r->input_source, "random");
    snprintf(r->status, sizeof r->status, "ok");
    r->batch_size = bs, r->warmup = 2, r->reps = n, r->min_time_s = 0.5, r->max_time_s = 60.0, r->threads = 4;
    r->seed = UINT64_MAX;
    r->params = 25557032, r->macs_per_item = 4089184256LL, r->feature_dim = 2048;
    r->weight_bytes = 102228128, r->activation_bytes = 1LL << 31;
    r->times_s = times, r->n_times = n, r->prepare_s = 0.125;
    r->measure.reps_auto = 1, r->measure.min_reps = 10, r->measure.target_ci = 0.02;
    r->measure.warmup_time_s = 1.0, r->measure.max_config_time_s = 20.0, r->measure.budget_s = 150.0;
    r->measure.warmup_passes = 3, r->measure.warmup_s = 1.25, r->measure.interleaved = 1, r->measure.rounds = 4;
    r->measure.order_seed = 7, r->measure.ci_half_width = 0.015, r->measure.measured_wall_s = 2.5;
    snprintf(r->measure.stop_reason, sizeof r->measure.stop_reason, "target");
}

#endif
