/*
 * unwind.h - call stack capture.
 *
 * Captures the return addresses of the current thread's stack, innermost
 * first, dropping every frame inside libheapprof.so itself so that the
 * first pc is the return address into the caller of the allocation
 * function. The pcs are exactly those libunwind's unw_backtrace reports
 * (unwind.c explains how, and why it is cheaper). Callers hold the
 * reentrancy guard (libunwind may allocate).
 */
#ifndef HP_PRELOAD_UNWIND_H
#define HP_PRELOAD_UNWIND_H

#include <stdint.h>

#ifndef UNW_LOCAL_ONLY
#define UNW_LOCAL_ONLY
#endif
#include <libunwind.h>

#include "heapprof/trace_format.h"

/*
 * Records libheapprof.so's own address range [lo, hi) (frames to skip) and
 * sets up the rule table of the fast walk (when its mapping fails, every
 * capture uses unw_backtrace). Called once, before the first capture.
 */
void hp_unwind_init(uintptr_t lo, uintptr_t hi);

/*
 * Capture modes. NO_LIBUNWIND walks by the cached rules and the rules read
 * from the CFI (cfi.c, through the lock-free _dl_find_object) only, and
 * cuts a stack where those end: for the child of a fork made while other
 * threads ran, where one of them may have held the dynamic loader's lock,
 * which libunwind's dl_iterate_phdr takes, and the child would hang (see
 * init.c).
 */
enum { HP_UNWIND_OFF = 0, HP_UNWIND_ON = 1, HP_UNWIND_NO_LIBUNWIND = 2 };

/* Sets the capture mode (HP_UNWIND_*). */
void hp_unwind_enable(int mode);

/* In a fork child: releases what a thread of the parent held at fork time
 * (the lock that guards learning new rules). */
void hp_unwind_postfork_child(void);

/*
 * Fills buf[0..max) with the return addresses of the caller's stack,
 * innermost first, starting with the return address into the caller, and
 * returns how many (0 <= n <= max). The result equals what unw_backtrace
 * called at the same place would give (from the return address into its
 * caller on). Walks by the unwind rules (cached, or read from the CFI for a
 * frame seen for the first time) when every frame has one this walk
 * handles, else calls unw_backtrace (and learns the rules of the frames it
 * saw).
 * Precondition: 1 <= max <= HP_UNWIND_BUF; the caller holds the reentrancy
 * guard.
 */
int hp_unwind_walk(uintptr_t *buf, int max);

/* The calling thread's captures so far: by the cached rules (fast), those
 * of them that reused a recent stack, whole or its outer part (reused),
 * and by unw_backtrace (slow). For tests and benchmarks. */
void hp_unwind_stats(uint64_t *fast, uint64_t *slow, uint64_t *reused);

/* Our own frames that may lie above the first foreign one. */
#define HP_UNWIND_SKIP_MAX 24
/* Room hp_unwind_capture needs in its buffer. */
#define HP_UNWIND_BUF (HP_MAX_FRAMES + HP_UNWIND_SKIP_MAX)

/* State set by hp_unwind_init/hp_unwind_enable (unwind.c). */
extern uintptr_t hp_unwind_lo, hp_unwind_hi;
extern int hp_unwind_on; /* HP_UNWIND_*, read relaxed */

/*
 * Fills buf (HP_UNWIND_BUF entries) and sets *pcs to the first return
 * address outside libheapprof.so in it. Returns the number of pcs from
 * there (<= HP_MAX_FRAMES; 0 when the stack cannot be read or capture is
 * off).
 */
static inline __attribute__((always_inline)) int hp_unwind_capture(uintptr_t *buf,
                                                                   const uintptr_t **pcs)
{
    *pcs = buf;
    if (!__atomic_load_n(&hp_unwind_on, __ATOMIC_RELAXED))
        return 0;
    int n = hp_unwind_walk(buf, HP_UNWIND_BUF);
    int i = 0;
    while (i < n && buf[i] >= hp_unwind_lo && buf[i] < hp_unwind_hi)
        i++;
    *pcs = buf + i;
    n -= i;
    return n < HP_MAX_FRAMES ? n : HP_MAX_FRAMES;
}

#endif
