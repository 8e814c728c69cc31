/*
 * unwind.c - stack capture for sampled allocations.
 *
 * Uses libunwind's unw_backtrace (DWARF CFI, with libunwind's per-thread
 * trace cache), which does not need frame pointers in the profiled
 * program. Frames whose pc lies in our own module are skipped by address,
 * so inlining decisions in the preload do not change the recorded stacks.
 * The capture itself is inline in unwind.h (fewer frames to walk); this
 * file holds its settings. It does not deduplicate stacks (tbuf.c does) or
 * symbolize (the analyzer).
 */
#include "unwind.h"

uintptr_t hp_unwind_lo, hp_unwind_hi;
int hp_unwind_on = 1;

void hp_unwind_enable(int on)
{
    __atomic_store_n(&hp_unwind_on, on, __ATOMIC_RELAXED);
}

void hp_unwind_init(uintptr_t lo, uintptr_t hi)
{
    hp_unwind_lo = lo;
    hp_unwind_hi = hi;
}
