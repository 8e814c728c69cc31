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

#include <stdint.h>

/* Maps the table (lazily committed): a small one for sampled mode, one
 * sized for every live block of the program when full != 0. Returns 0 or
 * HP_ERR_NOMEM. */
int hp_liveset_init(int full);

/* Drops every entry (fork child: the parent's samples are not ours).
 * Saturated filter buckets stay saturated (pins). */
void hp_liveset_reset(void);

/* Adds p (non-NULL, not already present) with its pair id. Returns 0, or
 * -1 when the probe window is full (the block is then not tracked and its
 * free not recorded). */
int hp_liveset_insert(uintptr_t p, uint32_t pair);

/* Removes p. Returns 1 and sets *pair when p was present (its free must be
 * recorded), else 0. */
int hp_liveset_remove(uintptr_t p, uint32_t *pair);

/*
 * Makes the filter answer "maybe" for p's bucket for good (saturates its
 * counter). free() then takes its slow path for p: used for NULL and the
 * bootstrap arena's blocks, which the fast path must not hand to the real
 * free. Lock-free, never allocates; safe before hp_liveset_init().
 */
void hp_liveset_pin(uintptr_t p);

/* Saturates every bucket: every free takes the slow path (full mode). */
void hp_liveset_saturate(void);

#define HP_LIVESET_FILTER_LOG 15

/*
 * The free() fast path: returns 0 when p is certainly not in the set, 1
 * when it may be (then call hp_liveset_remove). A 64 KiB table of counters
 * indexed by a hash of the address: one load from a table that stays in
 * cache, instead of a probe into the 32 MiB set, for the common case of a
 * pointer that was not sampled.
 */
static inline int hp_liveset_maybe(uintptr_t p)
{
    extern uint16_t hp_liveset_filter[1u << HP_LIVESET_FILTER_LOG]
        __attribute__((visibility("hidden")));
    uint32_t i = (uint32_t)(((uint64_t)p * 0x9e3779b97f4a7c15u) >> (64 - HP_LIVESET_FILTER_LOG));
#if defined(__x86_64__)
    /* A compare with memory (one aligned 16-bit load, as relaxed as the
     * atomic one) instead of a load and a test. */
    int ne;
    __asm__("cmpw $0, %1" : "=@ccne"(ne) : "m"(hp_liveset_filter[i]));
    return ne;
#else
    return __atomic_load_n(&hp_liveset_filter[i], __ATOMIC_RELAXED) != 0;
#endif
}

#endif
