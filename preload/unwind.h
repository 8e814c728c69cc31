/*
 * unwind.h - call stack capture with libunwind.
 *
 * Captures the return addresses of the current thread's stack, innermost
 * first, dropping every frame inside libheapprof.so itself so that the
 * first pc is the return address into the caller of the allocation
 * function. Callers hold the reentrancy guard (libunwind may allocate).
 * The capture is inline: every frame of ours between the allocation hook
 * and unw_backtrace is one more step for libunwind on every recorded
 * allocation, so the caller inlines it (and tbuf.c its own helpers).
 */
#ifndef HP_PRELOAD_UNWIND_H
#define HP_PRELOAD_UNWIND_H

#include <stdint.h>

#ifndef UNW_LOCAL_ONLY
#define UNW_LOCAL_ONLY
#endif
#include <libunwind.h>

#include "heapprof/trace_format.h"

/* Records libheapprof.so's own address range [lo, hi) (frames to skip). */
void hp_unwind_init(uintptr_t lo, uintptr_t hi);

/*
 * Turns capture off (on = 0) or back on. Off in the child of a fork made
 * while other threads ran: one of them may have held the dynamic loader's
 * lock, which libunwind needs, and the child would hang (see init.c).
 */
void hp_unwind_enable(int on);

/* Our own frames that may lie above the first foreign one. */
#define HP_UNWIND_SKIP_MAX 24
/* Room hp_unwind_capture needs in its buffer. */
#define HP_UNWIND_BUF (HP_MAX_FRAMES + HP_UNWIND_SKIP_MAX)

/* State set by hp_unwind_init/hp_unwind_enable (unwind.c). */
extern uintptr_t hp_unwind_lo, hp_unwind_hi;
extern int hp_unwind_on;

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
    int n = unw_backtrace((void **)buf, HP_UNWIND_BUF);
    int i = 0;
    while (i < n && buf[i] >= hp_unwind_lo && buf[i] < hp_unwind_hi)
        i++;
    *pcs = buf + i;
    n -= i;
    return n < HP_MAX_FRAMES ? n : HP_MAX_FRAMES;
}

#endif
