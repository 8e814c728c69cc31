/*
 * tbuf.h - per-thread event buffers, exact counters and the stack table.
 *
 * Every thread that calls the malloc family gets a thread record (mmap'd,
 * registered in a global lock-free list so exit() from any thread can flush
 * it) holding the address of its exact counters (kept in its TLS block),
 * its sampler, a cache of the pairs it defined and a 1 MiB buffer of
 * encoded records. The hot path is inline here: a subtraction from the
 * countdown word (countdown.h) with its branch, which counts malloc's fast
 * calls too, and for the other functions two counter adds, all on the
 * initial-exec TLS block.
 * Everything else (attaching a thread, sampling, stacks, records, flushing)
 * is out of line in tbuf.c and runs under the reentrancy guard.
 */
#ifndef HP_PRELOAD_TBUF_H
#define HP_PRELOAD_TBUF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "countdown.h"
#include "heapprof/trace_format.h"
#include "liveset.h"

/* Exact per-thread counters, in hp_fn order. Written only by their thread,
 * read by the exit path from another thread (relaxed loads). */
typedef struct hp_counters_s {
    uint64_t calls[HP_FN_COUNT];
    uint64_t bytes[HP_FN_COUNT];
} hp_counters_t;

/* hp_tls.guard: the reentrancy depth (guard.h) in the low bits, plus this
 * flag while the thread is not attached yet. free() tests the whole word
 * once: either reason sends it to the slow path. */
#define HP_TLS_DETACHED (1u << 30)
#define HP_TLS_DEPTH (HP_TLS_DETACHED - 1u)

/* hp_tls.countdown while the guard is held (the real one waits in
 * hp_tls.held): every allocation then crosses it, so the allocation hot
 * path needs no separate guard test. 2^62 below any real word
 * (countdown.h) and 2^61 above the overflow end; the slow path puts a
 * parked word back here when guarded calls have moved it. */
#define HP_TLS_GUARDED (INT64_MIN + ((int64_t)1 << 61))

/*
 * Where sampled blocks sit. In sampled mode (RATE >= HP_PLACE_MIN_RATE) a
 * block that is recorded is placed at the start of a page (tbuf.c moves it
 * there when the allocator put it elsewhere, the way jemalloc and tcmalloc
 * give their sampled allocations a place of their own), so free() can tell
 * "certainly not sampled" from the pointer alone: p & HP_PLACE_MASK != 0.
 * Page offset 16, where glibc puts mmap'd blocks, is let through to the
 * slow path too, so a large sampled block never needs moving. The few
 * unsampled blocks at those offsets (2 in 256 small blocks, every mmap'd
 * one) find out from the liveset filter on the slow path.
 */
#define HP_PLACE_MASK ((uintptr_t)0xfef)
#define HP_PLACE_ALIGN_LOG 12
#define HP_PLACE_ALIGN ((size_t)1 << HP_PLACE_ALIGN_LOG)

/* Below this rate, placing would cost a page per live sample (up to
 * 4096/RATE of the heap): frees then all take the slow path and its
 * filter instead, as in full mode. */
#define HP_PLACE_MIN_RATE 65536

/*
 * The hot, initial-exec thread-local state, read through one TLS address
 * per call. The counters are inline, so counting is an add to a %fs-relative
 * address; the owner registers their address in its thread record for the
 * exit path (tbuf.c). The initial value sends the first allocation (zero
 * countdown) and the first free (DETACHED) to the slow path, which attaches
 * the thread.
 */
typedef struct hp_tls_s {
    int64_t countdown;      /* the countdown word (countdown.h), or HP_TLS_GUARDED */
    uint32_t guard;         /* depth | HP_TLS_DETACHED */
    uint32_t unused;
    int64_t held;           /* the countdown while guarded */
    hp_counters_t counters; /* this thread's exact counts, but malloc's fast ones */
    int64_t armed;          /* the word at its last settle (countdown.h) */
    uint64_t seen;          /* the explicit sum at its last settle */
    uint64_t untaken;       /* bytes counted less bytes taken, by explicit calls */
    int64_t carry;          /* bytes of the last draw not armed yet */
    uintptr_t last_alloc;   /* latest recorded allocation (temporaries) */
    uint64_t last_calls;    /* allocation calls counted when it was made */
    uintptr_t fmask;        /* free()'s fast path: p & fmask != 0 (see below) */
    uintptr_t fmask_held;   /* fmask while guarded */
} hp_tls_t;

extern __thread hp_tls_t hp_tls __attribute__((visibility("hidden")));

/* What free() must do: 0 nothing recorded, 1 sampled mode, 2 full mode.
 * Set with hp_tbuf_set_mode(). */
extern int hp_tbuf_mode;

/* ---- hot path ---- */

/*
 * *m += v by the owning thread. On x86-64 one add to memory: a single
 * aligned store for the exit path's concurrent relaxed loads, and no
 * load/add/store sequence (the compiler does not fuse relaxed atomics).
 */
static inline void hp_tbuf_add(uint64_t *m, uint64_t v)
{
#if defined(__x86_64__)
    __asm__("addq %1, %0" : "+m"(*m) : "er"(v));
#else
    __atomic_store_n(m, __atomic_load_n(m, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
#endif
}

/*
 * *cd -= k for k >= 1; returns non-zero when the result is <= 0. On x86-64
 * one subtract on memory, whose flags give the branch. k is a take of the
 * countdown word (countdown.h).
 */
static inline int hp_tbuf_take_nz(int64_t *cd, uint64_t k)
{
#if defined(__x86_64__)
    int le;
    __asm__("subq %2, %0" : "+m"(*cd), "=@ccle"(le) : "r"(k) : "cc");
    return le;
#else
    return (*cd -= (int64_t)k) <= 0;
#endif
}

/* Non-zero when hp_tls.guard is (guard held or thread detached). */
static inline int hp_tbuf_held(void)
{
#if defined(__x86_64__)
    int ne;
    __asm__("cmpl $0, %1" : "=@ccne"(ne) : "m"(hp_tls.guard));
    return ne;
#else
    return hp_tls.guard != 0;
#endif
}

/*
 * Slow half of hp_tbuf_alloc, for an allocation p of n bytes whose take
 * (hp_cd_take(n); a fast malloc's call part given back first) crossed the
 * countdown: attaching, guarded calls, samples. Returns the block to hand
 * to the caller: p, or in sampled mode a copy of it at its place
 * (HP_PLACE_MASK) when it is recorded. The copy keeps what the caller may
 * rely on: zeroes for calloc, the first n bytes for realloc.
 */
void *hp_tbuf_alloc_slow(int fn, void *p, size_t n);

/* The same for n == 0 and n >= HP_CD_BIG, before any take. */
void *hp_tbuf_alloc_odd(int fn, void *p, size_t n);

/* Counts a call of fn for n bytes. */
static inline void hp_tbuf_count(int fn, size_t n)
{
    hp_tbuf_add(&hp_tls.counters.calls[fn], 1);
    hp_tbuf_add(&hp_tls.counters.bytes[fn], n);
}

/*
 * Accounts a successful allocation p of n requested bytes by function fn
 * and returns the block for the caller (see hp_tbuf_alloc_slow). A
 * zero-byte block counts one byte towards the countdown, so it can be
 * sampled. Guarded calls (the countdown is HP_TLS_GUARDED) are forwarded
 * by the slow half without counting.
 */
static inline void *hp_tbuf_alloc(int fn, void *p, size_t n)
{
    if (__builtin_expect(n - 1 >= HP_CD_BIG - 1, 0))
        return hp_tbuf_alloc_odd(fn, p, n);
    if (__builtin_expect(hp_tbuf_take_nz(&hp_tls.countdown, hp_cd_take(n)), 0))
        return hp_tbuf_alloc_slow(fn, p, n);
    hp_tbuf_count(fn, n);
    return p;
}

/* Gives back take k of an allocation that then failed. */
static inline void hp_tbuf_untake(uint64_t k)
{
    hp_tbuf_add((uint64_t *)&hp_tls.countdown, k);
}

/*
 * free()'s and realloc()'s first test: non-zero when p is certainly not a
 * recorded block and the call may be counted on the fast path. fmask is 0
 * (every pointer fails) while the guard is held, before the thread is
 * attached and when frees must all be looked up (full mode, low rates);
 * else HP_PLACE_MASK, which NULL and the bootstrap arena's blocks fail too.
 */
static inline int hp_tbuf_free_fast(const void *p)
{
    return ((uintptr_t)p & hp_tls.fmask) != 0;
}

/* Slow halves of the free path. */
int hp_tbuf_free_begin_slow(void *p, uint32_t *pair);
void hp_tbuf_free_end_slow(void *p, int tracked, uint32_t pair);
void hp_tbuf_free_abort(void *p, int tracked, uint32_t pair);

/*
 * First half of a free of non-NULL p, called BEFORE the real free/realloc
 * (so a concurrent allocation reusing the address cannot be confused with
 * it). Returns non-zero when the free must be recorded (p was recorded and
 * is live), and then sets *pair to the pair its allocation named.
 * The filter says "maybe" for every pointer in full mode (hp_tbuf_set_mode
 * saturates it), so only the slow half reads the mode.
 */
static inline int hp_tbuf_free_begin(void *p, uint32_t *pair)
{
    if (__builtin_expect(!hp_liveset_maybe((uintptr_t)p), 1))
        return 0;
    return hp_tbuf_free_begin_slow(p, pair);
}

/* Second half: counts the free and writes its record when tracked. */
static inline void hp_tbuf_free_end(void *p, int tracked, uint32_t pair)
{
    if (__builtin_expect(hp_tbuf_held() || tracked, 0)) {
        hp_tbuf_free_end_slow(p, tracked, pair);
        return;
    }
    hp_tbuf_add(&hp_tls.counters.calls[HP_FN_FREE], 1);
}

/*
 * The program frees p, a block hp_tbuf_free_begin found recorded: returns
 * 1 when the thread keeps it for a later sample (place.h), and the caller
 * must not free it; 0 when the caller frees it. Only sampled mode keeps
 * blocks: a full-mode free (every one is recorded) pays one load here.
 */
int hp_tbuf_keep_slow(void *p);
static inline int hp_tbuf_keep(void *p)
{
    return __atomic_load_n(&hp_tbuf_mode, __ATOMIC_RELAXED) == 1 && hp_tbuf_keep_slow(p);
}

/* p's usable size when it is a block hp_tbuf_keep keeps if the thread's
 * list has room, else 0; the same mode test inline. */
size_t hp_tbuf_keepable_slow(void *p);
static inline size_t hp_tbuf_keepable(void *p)
{
    return __atomic_load_n(&hp_tbuf_mode, __ATOMIC_RELAXED) == 1 ? hp_tbuf_keepable_slow(p) : 0;
}

/* Sets hp_tbuf_mode (init.c, under the guard) and, in sampled mode,
 * whether sampled blocks are placed (HP_PLACE_MASK). Full mode first makes
 * the liveset filter answer "maybe" for every pointer. */
void hp_tbuf_set_mode(int mode, int placed);

/* The trace clock, CLOCK_MONOTONIC_COARSE in ns: a read of the kernel's
 * last tick through the vdso, much cheaper than reading the clock source,
 * and repetitive enough to cost the trace almost nothing (HP_REC_TICK). */
static inline uint64_t hp_tbuf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- life cycle (called from init.c, under the guard) ---- */

/* Maps the stack table. Returns 0 or HP_ERR_NOMEM. */
int hp_tbuf_init(void);

/*
 * Writes every thread's buffered records and unwritten counters, then a
 * process frame holding HP_REC_END(reason). Recording stays stopped
 * afterwards (hp_tbuf_resume() undoes this after a failed exec).
 */
void hp_tbuf_flush_all(int reason);

/*
 * For the exit scan (leakscan.c): the live thread tid's hp_tls address and
 * an address on its stack, when it is attached. Returns 0, or -1.
 */
int hp_tbuf_thread_find(uint32_t tid, uintptr_t *tls, uintptr_t *stack_hint);

/* Restarts recording after hp_tbuf_flush_all (exec failed). */
void hp_tbuf_resume(void);

/* Thread-exit destructor work. Returns 1 when it wants to be called again
 * (the thread was active since the previous call), else 0. */
int hp_tbuf_thread_exit(void);

/* Writes the calling thread's buffer now. Returns 0 or HP_ERR_IO. */
int hp_tbuf_flush_self(void);

/* Writes a process-level frame (tid 0) holding raw[0..len) records. */
int hp_tbuf_write_process(const uint8_t *raw, size_t len, uint64_t ts);

/* Fork child: forget every thread but the caller, their buffers, counters,
 * the stack table (its records went to the parent's trace). */
void hp_tbuf_postfork_child(void);

/*
 * Stack table: returns the id (>= 1) of pcs[0..n), inserting it when new;
 * *inserted is set to 1 when this call inserted it (the caller then writes
 * the HP_REC_STACK record before its first use). Returns 0 when the table
 * is full. Lock-free; thread-safe.
 */
uint32_t hp_tbuf_stack_id(const uintptr_t *pcs, int n, int *inserted);

/* Empties the stack table (fork child, tests). */
void hp_tbuf_stack_reset(void);

#endif
