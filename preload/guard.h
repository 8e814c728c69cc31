/*
 * guard.h - thread-local reentrancy guard.
 *
 * While a thread runs profiler code (unwinding, compressing, writing,
 * reading the module map), every allocation it makes must be forwarded to
 * the real allocator and never counted or recorded, or the profiler would
 * recurse into itself and show up in its own trace (issue 2, item 2). The
 * hooks test hp_guard_active() first; profiler code brackets itself with
 * hp_guard_enter()/hp_guard_leave(). The depth is part of the hot
 * initial-exec TLS block (tbuf.h), so reading it never allocates and shares
 * the TLS address computation with the hot path.
 */
#ifndef HP_PRELOAD_GUARD_H
#define HP_PRELOAD_GUARD_H

#include "tbuf.h" /* the guard lives in the hot TLS block, hp_tls.guard */

/* Returns non-zero while the calling thread runs profiler code. */
static inline int hp_guard_active(void)
{
    return __builtin_expect(hp_tls.guard != 0, 0);
}

/* Marks the calling thread as running profiler code. Nests. */
static inline void hp_guard_enter(void)
{
    hp_tls.guard++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Ends a hp_guard_enter() bracket. */
static inline void hp_guard_leave(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    hp_tls.guard--;
}

#endif
