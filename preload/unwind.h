/*
 * unwind.h - call stack capture with libunwind.
 *
 * Captures the return addresses of the current thread's stack, innermost
 * first, dropping every frame inside libheapprof.so itself so that the
 * first pc is the return address into the caller of the allocation
 * function. Callers hold the reentrancy guard (libunwind may allocate).
 */
#ifndef HP_PRELOAD_UNWIND_H
#define HP_PRELOAD_UNWIND_H

#include <stdint.h>

/* Records libheapprof.so's own address range [lo, hi) (frames to skip). */
void hp_unwind_init(uintptr_t lo, uintptr_t hi);

/*
 * Turns capture off (on = 0) or back on. Off in the child of a fork made
 * while other threads ran: one of them may have held the dynamic loader's
 * lock, which libunwind needs, and the child would hang (see init.c).
 */
void hp_unwind_enable(int on);

/*
 * Fills pcs with at most max (<= HP_MAX_FRAMES) return addresses. Returns
 * their number (0 when the stack cannot be read or capture is off).
 */
int hp_unwind_capture(uintptr_t *pcs, int max);

#endif
