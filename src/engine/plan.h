/*
 * plan.h — the memory plan: place buffers with known lifetimes in one arena
 * so that buffers whose lifetimes do not overlap share bytes.
 *
 * It is generic (sizes and op-index lifetimes only), so the graph's model
 * facts and every backend (whose buffer sizes depend on its layouts) use the
 * same planner.
 */
#ifndef BB_PLAN_H
#define BB_PLAN_H

#include <stdint.h>

typedef struct {
    int64_t size;  /* bytes */
    int first;     /* index of the step that writes it first */
    int last;      /* index of the last step that reads it */
    int alias;     /* -1, or a buffer whose storage this one takes over in
                      place (that buffer must die where this one is born),
                      or whose bytes it is part of (alias_off) */
    int64_t alias_off; /* bytes from its alias's start (a concat's source
                          written in place into the concat, a view of it) */
} bb_plan_buf;

/* Fills offsets[n] (aligned to `align`) and returns the arena size. A buffer
 * with alias >= 0 gets its alias's offset plus alias_off; an alias group
 * lives as long as any member and spans the furthest member's end. Greedy by size: the largest
 * buffers are placed first at the lowest offset that does not collide with
 * any placed buffer alive at the same time. */
int64_t bb_plan_place(const bb_plan_buf *bufs, int n, int64_t align, int64_t *offsets);

/* Plain sum of sizes: what the arena would be with no reuse. */
int64_t bb_plan_total(const bb_plan_buf *bufs, int n);

#endif
