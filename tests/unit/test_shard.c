/*
 * test_shard.c — unit tests for src/bench/shard.c.
 *
 * Why this file exists: N processes that never talk must agree on the
 * partition of a sweep, so it has to be a function of the options alone,
 * give every configuration to exactly one shard and balance the shards by
 * cost (the greedy longest-first rule: no shard above the mean by more than
 * the largest single configuration). The "I/N" argument is checked here
 * too, and the plan key: the identity without host and threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench/shard.h"
#include "results/result_identity.h"

static void test_parse(void **state)
{
    (void)state;
    int i = -1, n = -1;
    assert_int_equal(bb_shard_parse("2/3", 0, &i, &n), 0);
    assert_int_equal(i, 2);
    assert_int_equal(n, 3);
    assert_int_equal(bb_shard_parse("all/4", 1, &i, &n), 0);
    assert_int_equal(i, 0);
    assert_int_equal(n, 4);
    const char *bad[] = {"all/4", "0/3", "4/3", "1/0", "-1/3", "1/-3", "1/3x", "x/3", "/3", "1/", "13", "", "1/1025"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        assert_int_equal(bb_shard_parse(bad[k], 0, &i, &n), -1);
    assert_int_equal(bb_shard_parse(NULL, 1, &i, &n), -1);
    assert_int_equal(bb_shard_parse("1/1024", 0, &i, &n), 0);
}

static void paper_sweep(bb_sweep_cfg *c)
{
    static const char *const models[] = {"resnet18", "resnet50", "mobilenet_v2", "vit_b_16", "vit_b_32"};
    static const int64_t batches[] = {32, 128, 256, 512, 1024};
    memset(c, 0, sizeof *c);
    c->n_models = 5, c->n_batches = 5;
    for (int m = 0; m < 5; m++)
        c->models[m] = models[m];
    for (int b = 0; b < 5; b++)
        c->batches[b] = batches[b];
    c->warmup = 2, c->reps = 10, c->reps_auto = 1, c->warmup_time_s = 1.0;
    c->config.backend = &bb_cpu_backend;
    c->config.head = BB_HEAD_FEATURES;
    c->config.threads = 2;
    c->out_dir = ".";
}

static void test_partition(void **state)
{
    (void)state;
    bb_sweep_cfg c;
    paper_sweep(&c);
    bb_shard_plan *p = malloc(sizeof *p), *q = malloc(sizeof *q);
    bb_err e = {0};
    for (int n = 1; n <= 30; n += 7) {
        assert_int_equal(bb_shard_partition(&c, n, p, &e), 0);
        assert_int_equal(bb_shard_partition(&c, n, q, &e), 0);
        assert_memory_equal(p->owner, q->owner, sizeof p->owner); /* a function of the options */
        double total = 0, largest = 0, load[BB_SHARD_MAX] = {0};
        int count = 0;
        for (int m = 0; m < c.n_models; m++)
            for (int b = 0; b < c.n_batches; b++) {
                int s = p->owner[m][b];
                assert_true(s >= 1 && s <= n); /* in exactly one shard */
                load[s - 1] += p->cost[m][b], total += p->cost[m][b], count++;
                largest = p->cost[m][b] > largest ? p->cost[m][b] : largest;
                assert_true(p->cost[m][b] > 0);
            }
        int sum = 0;
        for (int s = 0; s < n; s++) {
            assert_float_equal(load[s], p->load[s], 1e-9 * total);
            assert_true(p->load[s] <= total / n + largest + 1e-9); /* longest-first greedy bound */
            sum += p->n_configs[s];
        }
        assert_int_equal(sum, count);
    }
    free(p), free(q);
}

/* Shards agree whatever machine runs them: the plan key leaves out the host
 * and the thread count, and the sweep id changes with the hardware. */
static void test_plan_key_and_id(void **state)
{
    (void)state;
    bb_sweep_cfg c;
    paper_sweep(&c);
    char k1[BB_IDENTITY_LEN], k2[BB_IDENTITY_LEN], a[9], b[9], a2[9];
    bb_shard_plan_key(&c, 1, 2, k1, sizeof k1);
    c.config.threads = 7;
    bb_shard_plan_key(&c, 1, 2, k2, sizeof k2);
    assert_string_equal(k1, k2);
    assert_non_null(strstr(k1, "model=resnet50;batch_size=256;host=;"));
    assert_non_null(strstr(k1, "threads=0;"));
    bb_shard_sweep_id(&c, "CPU X, 2 threads", a);
    bb_shard_sweep_id(&c, "CPU X, 2 threads", a2);
    bb_shard_sweep_id(&c, "NVIDIA H100", b);
    assert_string_equal(a, a2);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_partition),
        cmocka_unit_test(test_plan_key_and_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
