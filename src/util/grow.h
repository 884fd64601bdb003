/*
 * grow.h — growing an array by doubling, for the few lists built once while
 * a graph or a backend is put together. Running out of memory there is not
 * recoverable in a useful way: it aborts with a message.
 */
#ifndef BB_GROW_H
#define BB_GROW_H

#include <stdio.h>
#include <stdlib.h>

/* Returns p (or its reallocation) with room for `need` elements of `elem`
 * bytes, updating *cap. */
static inline void *bb_grow(void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return p;
    int ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(p, (size_t)ncap * elem);
    if (!np) {
        fprintf(stderr, "batchbench: out of memory\n");
        abort();
    }
    *cap = ncap;
    return np;
}

#endif
