/*
 * blockidx.c - constant-time lookup of the block an address falls in.
 *
 * A page entry holds `base`, the number (plus one; 0: none) of the last
 * block starting before the page, and one bit per 16-byte granule where a
 * block starts in it. For an address w in the page, the blocks starting at
 * or before w's granule are the set bits up to it: their count k names
 * block base - 1 + k (the one before it, when w lies in that granule ahead
 * of the start), whose bounds then say whether it holds w. Pages inside a
 * block have an entry too (no bits), up to MAX_SPAN pages per block;
 * beyond that, and for pages where two blocks start in one granule, a
 * lookup falls back to binary search. The table is open addressing over
 * page numbers, at most half full. It does not allocate through malloc
 * (mmap).
 */
#include "blockidx.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE_LOG 12
#define GRANULE_LOG 4
#define GRANULES (1u << (PAGE_LOG - GRANULE_LOG)) /* per page: 256 bits */

typedef struct hp_blockidx_page_s {
    uint64_t key;      /* page number + 1; 0: empty */
    uint32_t base;     /* 1 + the last block starting before the page; 0: none */
    uint32_t shared;   /* two blocks start in one granule: search instead */
    uint64_t starts[GRANULES / 64];
    uint64_t pad[2];   /* one entry per cache line */
} page_t;

/* Interior pages indexed per block: a larger block's other pages search. */
#define MAX_SPAN 256

/* Without a popcnt instruction to assume, the compiler's builtin is a
 * library call; this is a dozen inline instructions. */
static inline unsigned popcount64(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

static inline size_t home(const hp_blockidx_t *ix, uint64_t key)
{
    return (size_t)((key * 0x9e3779b97f4a7c15u) >> 20) & (ix->npage - 1);
}

/* The entry of page key - 1; when it has none, NULL, or with `fresh` a new
 * entry (and *fresh set). */
static page_t *page_of(const hp_blockidx_t *ix, uint64_t key, int *fresh)
{
    for (size_t i = home(ix, key);; i = (i + 1) & (ix->npage - 1)) {
        page_t *e = &ix->page[i];
        if (e->key == key)
            return e;
        if (e->key == 0) {
            if (!fresh)
                return NULL;
            *fresh = 1;
            e->key = key;
            return e;
        }
    }
}

/* The last block starting at or below w, by binary search; blk[0] starts
 * at or below w. */
static size_t search(const hp_blockidx_t *ix, uintptr_t w)
{
    size_t lo = 0, hi = ix->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->blk[mid].addr <= w)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int hp_blockidx_build(hp_blockidx_t *ix, const hp_block_t *blk, size_t n)
{
    memset(ix, 0, sizeof *ix);
    ix->blk = blk;
    ix->n = n;
    if (n == 0)
        return 0;
    ix->lo = blk[0].addr;
    size_t pages = 0;
    for (size_t i = 0; i < n; i++) {
        if (blk[i].end > ix->hi)
            ix->hi = blk[i].end;
        uintptr_t first = blk[i].addr >> PAGE_LOG, last = (blk[i].end - 1) >> PAGE_LOG;
        pages += (i == 0 || first != blk[i - 1].addr >> PAGE_LOG) +
                 (last - first < MAX_SPAN ? last - first : MAX_SPAN);
    }
    size_t cap = 1;
    while (cap < 2 * pages)
        cap <<= 1;
    void *m = mmap(NULL, cap * sizeof(page_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    ix->page = m;
    ix->npage = cap;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = (blk[i].addr >> PAGE_LOG) + 1;
        int fresh = 0;
        page_t *e = page_of(ix, key, &fresh);
        if (fresh)
            e->base = (uint32_t)i; /* block i - 1 came last before it */
        unsigned g = (unsigned)(blk[i].addr >> GRANULE_LOG) & (GRANULES - 1);
        uint64_t bit = (uint64_t)1 << (g % 64);
        if (e->starts[g / 64] & bit)
            e->shared = 1;
        e->starts[g / 64] |= bit;
        uint64_t last = ((blk[i].end - 1) >> PAGE_LOG) + 1;
        for (uint64_t k = key + 1; k <= last && k - key <= MAX_SPAN; k++)
            page_of(ix, k, &fresh)->base = (uint32_t)i + 1; /* block i covers its start */
    }
    return 0;
}

long hp_blockidx_find(const hp_blockidx_t *ix, uintptr_t w)
{
    if (w < ix->lo || w >= ix->hi)
        return -1;
    size_t i;
    const page_t *e = ix->npage ? page_of(ix, (w >> PAGE_LOG) + 1, NULL) : NULL;
    if (!e || e->shared) {
        i = search(ix, w);
    } else {
        unsigned g = (unsigned)(w >> GRANULE_LOG) & (GRANULES - 1);
        unsigned k = 0; /* blocks starting in the page up to w's granule */
        for (unsigned j = 0; j < g / 64; j++)
            k += popcount64(e->starts[j]);
        k += popcount64(e->starts[g / 64] & (~(uint64_t)0 >> (63 - g % 64)));
        i = (size_t)e->base + k; /* one past the candidate */
        if (k > 0 && ix->blk[i - 1].addr > w)
            i--; /* w lies in that block's granule, ahead of its start */
        if (i == 0)
            return -1;
        i--;
    }
    const hp_block_t *b = &ix->blk[i];
    return w >= b->addr && w < b->end ? (long)i : -1;
}

void hp_blockidx_free(hp_blockidx_t *ix)
{
    if (ix->page)
        munmap(ix->page, ix->npage * sizeof(page_t));
    memset(ix, 0, sizeof *ix);
}
