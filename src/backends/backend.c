/*
 * backend.c — what every backend shares: the names of the precisions.
 */
#include <string.h>

#include "backends/backend.h"

static const char *const precision_names[] = {"fp32", "tf32", "fp16", "bf16"};

const char *bb_precision_name(bb_precision p)
{
    return (unsigned)p < sizeof precision_names / sizeof *precision_names ? precision_names[p] : "?";
}

int bb_precision_parse(const char *s, bb_precision *out)
{
    for (unsigned i = 0; s && i < sizeof precision_names / sizeof *precision_names; i++)
        if (strcmp(s, precision_names[i]) == 0) {
            *out = (bb_precision)i;
            return 0;
        }
    return -1;
}

const char *bb_config_device(const bb_run_config *c)
{
    return c && c->backend ? c->backend->name : "?";
}
