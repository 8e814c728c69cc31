/*
 * place.c - moves sampled blocks to their place, and keeps a few freed
 * ones for the next samples (place.h).
 */
#include "place.h"

#include <stdint.h>
#include <string.h>

#include "heapprof/trace_format.h"
#include "real.h"
#include "tbuf.h"

void *hp_place(hp_place_kept_t *k, int fn, void *p, size_t n)
{
    int best = -1; /* the smallest kept block that fits */
    for (int i = 0; i < HP_PLACE_KEEP; i++)
        if (k->p[i] && k->size[i] >= n && (best < 0 || k->size[i] < k->size[best]))
            best = i;
    void *q;
    if (best >= 0) {
        q = k->p[best];
        k->p[best] = NULL;
    } else {
        if (!hp_real.memalign)
            return NULL;
        q = hp_real.memalign(HP_PLACE_ALIGN, n);
        if (!q)
            return NULL;
    }
    if (fn == HP_FN_CALLOC)
        memset(q, 0, n);
    else if (fn == HP_FN_REALLOC || fn == HP_FN_REALLOCARRAY)
        memcpy(q, p, n);
    hp_real.free(p);
    return q;
}

/* Page offset 0 only: offset 16 (also a place) would not keep the
 * alignment of a memalign'd sample. */
size_t hp_place_keepable(const void *p)
{
    if (((uintptr_t)p & (HP_PLACE_ALIGN - 1)) || !hp_real.malloc_usable_size)
        return 0;
    size_t size = hp_real.malloc_usable_size((void *)p);
    return size <= HP_PLACE_KEEP_MAX ? size : 0;
}

int hp_place_keep(hp_place_kept_t *k, void *p)
{
    size_t size = hp_place_keepable(p);
    for (int i = 0; size && i < HP_PLACE_KEEP; i++) {
        if (!k->p[i]) {
            k->p[i] = p;
            k->size[i] = size;
            return 1;
        }
    }
    return 0;
}

void hp_place_release(hp_place_kept_t *k)
{
    for (int i = 0; i < HP_PLACE_KEEP; i++) {
        if (k->p[i])
            hp_real.free(k->p[i]);
        k->p[i] = NULL;
    }
}
