/*
 * liveset.h - the recorded blocks that are still live, with their pairs.
 *
 * A free is recorded only when its pointer was recorded (every allocation
 * in full mode, the sampled ones otherwise), and its record names the
 * block's pair (trace_format.h), which the set keeps beside the address.
 * The set is a lock-free open-addressing hash map in mmap'd memory: insert
 * by CAS, delete by tombstone, probes bounded so that every operation is
 * constant time.
 */
#ifndef HP_PRELOAD_LIVESET_H
#define HP_PRELOAD_LIVESET_H

#include <stddef.h>
#include <stdint.h>

/* Maps the table (lazily committed): a small one for sampled mode, one
 * sized for every live block of the program when full != 0. A slot stands
 * for 2^granule_log bytes of address, at most the distance between two
 * blocks: 12 when they sit at page starts (tbuf.h, HP_PLACE_MASK), else
 * the real allocator's spacing (real.h); were it larger, blocks side by
 * side would pile up in one probe window. Returns 0 or HP_ERR_NOMEM. */
int hp_liveset_init(int full, unsigned granule_log);

/* Drops every entry (fork child: the parent's samples are not ours).
 * Saturated filter buckets stay saturated (full mode). */
void hp_liveset_reset(void);

/* Keeps each block's requested size beside it as well, for the exit
 * scan (leakscan.h; full mode with HEAPPROF_LEAK_SCAN=1). Call once, at
 * init, before the first insert. Returns 0 or HP_ERR_NOMEM. */
int hp_liveset_keep_sizes(void);

/* Adds p (non-NULL, not already present) with its pair id and requested
 * size (kept only after hp_liveset_keep_sizes). `alone` != 0 promises that
 * no other thread inserts meanwhile (tbuf.c): slots are then claimed by a
 * load and a store instead of a CAS. Returns 0, or -1 when the probe window
 * is full (the block is then not tracked and its free not recorded). */
int hp_liveset_insert(uintptr_t p, uint32_t pair, uint64_t size, int alone);

/* Removes p. Returns 1 and sets *pair when p was present (its free must be
 * recorded), else 0. */
int hp_liveset_remove(uintptr_t p, uint32_t *pair);

/* Saturates every bucket: every free probes the map (full mode). */
void hp_liveset_saturate(void);

/* Zero when an insert failed since init or the last reset: the set then
 * misses live blocks. */
int hp_liveset_complete(void);

/* Calls fn for every block in the set (after hp_liveset_keep_sizes; else
 * none) and returns how many there were. Blocks inserted or removed by
 * other threads meanwhile may or may not be seen. Reads only the pages of
 * the table that ever held a block. */
typedef void hp_liveset_fn(void *ctx, uintptr_t p, uint64_t size, uint32_t pair);
size_t hp_liveset_each(hp_liveset_fn *fn, void *ctx);

/*
 * The filter of free()'s slow path: 2^HP_LIVESET_FILTER_LOG 8-bit counters
 * (32 KiB), one per granule of 2^HP_LIVESET_GRANULE_LOG (512) bytes of
 * address space, saturating. The index keeps address locality: within a window of
 * 2^(GRANULE_LOG + FILTER_LOG) bytes (16 MiB) consecutive granules have
 * consecutive buckets, so a 32 KiB stretch of heap shares one cache line of
 * the filter and the lines a program's frees touch stay in L1d (a hashed
 * index touched a random line of a table larger than L1d on nearly every
 * free). Each window is rotated by a multiplicative hash of its number, so
 * heaps at equal offsets of nearby windows (glibc's thread arenas, 64 MiB
 * apart) do not share buckets (else each thread's frees would probe the
 * map for the other threads' samples too). A free that merely shares a
 * granule with a live sampled block probes the map for nothing: about
 * GRANULE / RATE of the frees (0.1% at the default rate), plus aliasing
 * between windows as the live samples approach the number of buckets.
 */
#define HP_LIVESET_FILTER_LOG 15
#define HP_LIVESET_GRANULE_LOG 9

extern uint8_t hp_liveset_filter[1u << HP_LIVESET_FILTER_LOG] __attribute__((visibility("hidden")));

/* The filter bucket of p, in [0, 2^HP_LIVESET_FILTER_LOG); liveset.c counts
 * in the same buckets. */
static inline uint32_t hp_liveset_bucket(uintptr_t p)
{
    uint32_t win = (uint32_t)(p >> (HP_LIVESET_GRANULE_LOG + HP_LIVESET_FILTER_LOG));
    uint32_t rot = (win * 0x9e3779b1u) >> (32 - HP_LIVESET_FILTER_LOG);
    return ((uint32_t)(p >> HP_LIVESET_GRANULE_LOG) + rot) & ((1u << HP_LIVESET_FILTER_LOG) - 1);
}

/*
 * Returns 0 when p is certainly not in the set, 1 when it may be (then call
 * hp_liveset_remove): one load from the filter, instead of a probe into the
 * map, for the frees that free()'s address test could not clear (tbuf.h,
 * HP_PLACE_MASK) and that were not recorded.
 */
static inline int hp_liveset_maybe(uintptr_t p)
{
#if defined(__x86_64__)
    /* A compare with memory (one byte load, as relaxed as the atomic one)
     * instead of a load and a test. */
    int ne;
    __asm__("cmpb $0, %1" : "=@ccne"(ne) : "m"(hp_liveset_filter[hp_liveset_bucket(p)]));
    return ne;
#else
    return __atomic_load_n(&hp_liveset_filter[hp_liveset_bucket(p)], __ATOMIC_RELAXED) != 0;
#endif
}

#endif
