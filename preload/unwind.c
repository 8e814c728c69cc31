/*
 * unwind.c - stack capture for sampled allocations.
 *
 * Uses libunwind's unw_backtrace (DWARF CFI, with libunwind's per-thread
 * trace cache), which does not need frame pointers in the profiled
 * program. Frames whose pc lies in our own module are skipped by address,
 * so inlining decisions in the preload do not change the recorded stacks.
 * It does not deduplicate stacks (tbuf.c does) or symbolize (the analyzer).
 */
#define UNW_LOCAL_ONLY
#include "unwind.h"

#include <libunwind.h>

#include "heapprof/trace_format.h"

static uintptr_t self_lo, self_hi;
static int enabled = 1;

void hp_unwind_enable(int on)
{
    __atomic_store_n(&enabled, on, __ATOMIC_RELAXED);
}

void hp_unwind_init(uintptr_t lo, uintptr_t hi)
{
    self_lo = lo;
    self_hi = hi;
}

#define SKIP_MAX 24 /* our own frames above the first foreign one */

int hp_unwind_capture(uintptr_t *pcs, int max)
{
    void *raw[HP_MAX_FRAMES + SKIP_MAX];
    if (!__atomic_load_n(&enabled, __ATOMIC_RELAXED))
        return 0;
    if (max > HP_MAX_FRAMES)
        max = HP_MAX_FRAMES;
    int n = unw_backtrace(raw, max + SKIP_MAX);
    int i = 0;
    while (i < n && (uintptr_t)raw[i] >= self_lo && (uintptr_t)raw[i] < self_hi)
        i++;
    int k = 0;
    for (; i < n && k < max; i++)
        pcs[k++] = (uintptr_t)raw[i];
    return k;
}
