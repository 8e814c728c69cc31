/*
 * guard.h - thread-local reentrancy guard.
 *
 * While a thread runs profiler code (unwinding, compressing, writing,
 * reading the module map), every allocation it makes must be forwarded to
 * the real allocator and never counted or recorded, or the profiler would
 * recurse into itself and show up in its own trace (issue 2, item 2).
 * Profiler code brackets itself with hp_guard_enter()/hp_guard_leave(). The
 * depth is part of the hot initial-exec TLS block (tbuf.h), so reading it
 * never allocates and shares the TLS address computation with the hot path;
 * the hot paths do not even read it (the guard parks the countdown and
 * free()'s mask).
 */
#ifndef HP_PRELOAD_GUARD_H
#define HP_PRELOAD_GUARD_H

#include "tbuf.h" /* the guard lives in the hot TLS block, hp_tls.guard */

/* Returns non-zero while the calling thread runs profiler code. */
static inline int hp_guard_active(void)
{
    return __builtin_expect((hp_tls.guard & HP_TLS_DEPTH) != 0, 0);
}

/*
 * Marks the calling thread as running profiler code. Nests. The outermost
 * enter parks the countdown in hp_tls.held and replaces it with
 * HP_TLS_GUARDED, and free()'s mask in hp_tls.fmask_held and replaces it
 * with 0, so every hook takes its slow path (which forwards without
 * counting) while the guard is held; profiler code therefore reads and sets
 * them as hp_tls.held and hp_tls.fmask_held.
 */
static inline void hp_guard_enter(void)
{
    hp_tls_t *t = &hp_tls;
    int outer = (t->guard & HP_TLS_DEPTH) == 0;
    /* Depth first: a signal handler's allocation in between is then either
     * counted normally or forwarded, and never sees a parked countdown
     * without the guard. */
    t->guard++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (outer) {
        /* One exchange: a signal handler's take lands either in the parked
         * word or on the guarded one, never between (the word counts
         * malloc's fast calls, countdown.h). */
        t->held = __atomic_exchange_n(&t->countdown, HP_TLS_GUARDED, __ATOMIC_RELAXED);
        t->fmask_held = t->fmask;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        t->fmask = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
}

/* Ends a hp_guard_enter() bracket. */
static inline void hp_guard_leave(void)
{
    hp_tls_t *t = &hp_tls;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if ((t->guard & HP_TLS_DEPTH) == 1) {
        t->countdown = t->held;
        t->fmask = t->fmask_held;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
    t->guard--;
}

#endif
