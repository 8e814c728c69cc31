/*
 * place.h - moves sampled blocks to their place (HP_PLACE_MASK, tbuf.h),
 * and keeps a few freed ones for the next samples.
 *
 * Getting a page-aligned block from glibc costs a large request, which
 * first merges every fast-bin chunk of the arena (malloc_consolidate) and
 * so also slows the program's next small allocations: in a churn of small
 * blocks that was half of all a sample cost. A recorded block that the
 * program frees is therefore not given back at once: each thread keeps up
 * to HP_PLACE_KEEP of them (page-aligned, at most HP_PLACE_KEEP_MAX bytes)
 * for its next samples that fit in them, until it exits. A recorded block
 * the program resizes with realloc is kept the same way: the realloc
 * becomes a new block, a copy and the old block kept (hooks.c). They stay the
 * real allocator's blocks throughout, so a pointer that escapes every hook
 * still reaches an allocator that knows it. Only the owning thread touches
 * its list, under the reentrancy guard.
 */
#ifndef HP_PRELOAD_PLACE_H
#define HP_PRELOAD_PLACE_H

#include <stddef.h>

#define HP_PLACE_KEEP 16
#define HP_PLACE_KEEP_MAX 1024

/* A thread's kept blocks (in its thread record, tbuf.c); zero: empty. */
typedef struct hp_place_kept_s {
    void *p[HP_PLACE_KEEP];     /* NULL: empty slot */
    size_t size[HP_PLACE_KEEP]; /* usable bytes */
} hp_place_kept_t;

/*
 * The block p of n bytes that function fn (HP_FN_*) returned, moved to its
 * place with what the caller may rely on (calloc's zeroes, realloc's
 * contents): a block from k when one fits, else a new one; p is freed.
 * Returns the new block, or NULL when there is no room (p then stays where
 * it is and must not be recorded).
 */
void *hp_place(hp_place_kept_t *k, int fn, void *p, size_t n);

/*
 * The program frees p, a recorded block: returns 1 when it is kept in k
 * for a later sample (the caller must not free it), 0 when the caller
 * frees it.
 */
int hp_place_keep(hp_place_kept_t *k, void *p);

/* p's usable size when it is a block a thread keeps (page start, at most
 * HP_PLACE_KEEP_MAX bytes), else 0; hp_place_keep also needs room in the
 * list. */
size_t hp_place_keepable(const void *p);

/* Frees the blocks kept in k (the thread exits). */
void hp_place_release(hp_place_kept_t *k);

#endif
