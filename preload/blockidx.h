/*
 * blockidx.h - which of a set of blocks an address falls in (the leak
 * scan's lookup, done once for every word of the live heap it reads).
 *
 * The blocks are sorted by address and do not overlap. Beside them the
 * index keeps, for every 4 KiB page in which a block starts, one 64-byte
 * entry of a hash table: the number of the first block starting in the
 * page and a bitmap of the 16-byte granules where blocks start. A lookup
 * is then one entry and one block, where a binary search over all blocks
 * took a cache miss at each of its last ten or so steps. Pages in which no
 * block starts (the inside of a large block), and pages where two blocks
 * start in one granule (an allocator spacing blocks 8 bytes apart), fall
 * back to the binary search.
 */
#ifndef HP_PRELOAD_BLOCKIDX_H
#define HP_PRELOAD_BLOCKIDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct hp_block_s {
    uintptr_t addr, end; /* [addr, end), end > addr */
    uint32_t pair;
} hp_block_t;

typedef struct hp_blockidx_s {
    const hp_block_t *blk; /* sorted by addr, disjoint */
    size_t n;
    uintptr_t lo, hi;      /* lowest start, highest end */
    struct hp_blockidx_page_s *page; /* the hash table, mmap'd */
    size_t npage;          /* a power of two, or 0: no table */
} hp_blockidx_t;

/* Indexes the n blocks of blk (kept, not copied). Returns 0, or -1 when
 * the table could not be mapped: lookups then use the binary search. */
int hp_blockidx_build(hp_blockidx_t *ix, const hp_block_t *blk, size_t n);

/* The index of the block that contains w, or -1. */
long hp_blockidx_find(const hp_blockidx_t *ix, uintptr_t w);

void hp_blockidx_free(hp_blockidx_t *ix);

#endif
