/* plan.c — greedy-by-size offset assignment for the memory plan (plan.h). */
#include "engine/plan.h"

#include <stdlib.h>

typedef struct {
    int64_t size;
    int first, last;
    int64_t offset;
    int placed;
} group;

static int root_of(const bb_plan_buf *b, int i)
{
    while (b[i].alias >= 0)
        i = b[i].alias;
    return i;
}

/* Bytes from the start of its alias group's root to buffer i. */
static int64_t off_in_root(const bb_plan_buf *b, int i)
{
    int64_t off = 0;
    for (; b[i].alias >= 0; i = b[i].alias)
        off += b[i].alias_off;
    return off;
}

/* Lifetimes and sizes of alias groups, merged into their root buffers. */
static group *make_groups(const bb_plan_buf *bufs, int n)
{
    group *g = calloc((size_t)(n ? n : 1), sizeof *g);
    if (!g)
        return NULL;
    for (int i = 0; i < n; i++)
        g[i].first = bufs[i].first, g[i].last = bufs[i].last, g[i].size = -1;
    for (int i = 0; i < n; i++) {
        group *r = &g[root_of(bufs, i)];
        int64_t end = off_in_root(bufs, i) + bufs[i].size;
        if (end > r->size)
            r->size = end;
        if (bufs[i].first < r->first)
            r->first = bufs[i].first;
        if (bufs[i].last > r->last)
            r->last = bufs[i].last;
    }
    return g;
}

static int64_t align_up(int64_t x, int64_t a)
{
    return (x + a - 1) / a * a;
}

/* Lowest aligned offset where `size` bytes fit beside placed, co-live groups. */
static int64_t lowest_fit(const group *g, int n, int me, int64_t align)
{
    int64_t off = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int j = 0; j < n; j++) {
            if (!g[j].placed || j == me || g[j].size < 0)
                continue;
            if (g[j].last < g[me].first || g[me].last < g[j].first)
                continue; /* not alive at the same time */
            if (off < g[j].offset + g[j].size && g[j].offset < off + g[me].size) {
                off = align_up(g[j].offset + g[j].size, align);
                moved = 1;
            }
        }
    }
    return off;
}

int64_t bb_plan_place(const bb_plan_buf *bufs, int n, int64_t align, int64_t *offsets)
{
    group *g = make_groups(bufs, n);
    if (!g)
        return -1;
    int64_t arena = 0;
    for (;;) {
        int best = -1; /* the largest unplaced root */
        for (int i = 0; i < n; i++)
            if (g[i].size >= 0 && !g[i].placed && (best < 0 || g[i].size > g[best].size))
                best = i;
        if (best < 0)
            break;
        g[best].offset = lowest_fit(g, n, best, align);
        g[best].placed = 1;
        if (g[best].offset + g[best].size > arena)
            arena = g[best].offset + g[best].size;
    }
    for (int i = 0; i < n; i++)
        offsets[i] = g[root_of(bufs, i)].offset + off_in_root(bufs, i);
    free(g);
    return align_up(arena, align);
}

int64_t bb_plan_total(const bb_plan_buf *bufs, int n)
{
    int64_t t = 0;
    for (int i = 0; i < n; i++)
        t += bufs[i].size;
    return t;
}
