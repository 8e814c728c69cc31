/*
 * tbuf.h - per-thread event buffers, exact counters and the stack table.
 *
 * Every thread that calls the malloc family gets a thread record (mmap'd,
 * registered in a global lock-free list so exit() from any thread can flush
 * it) holding its exact counters, its sampler and a 256 KiB buffer of
 * encoded records. The hot path is inline here: a countdown subtraction, a
 * branch, two relaxed counter stores and the "last allocation" store.
 * Everything else (attaching a thread, sampling, stacks, records, flushing)
 * is out of line in tbuf.c and runs under the reentrancy guard.
 */
#ifndef HP_PRELOAD_TBUF_H
#define HP_PRELOAD_TBUF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "heapprof/trace_format.h"
#include "liveset.h"

/* Exact per-thread counters, in hp_fn order. Written only by their thread
 * (relaxed atomic stores), read by the exit path from another thread. */
typedef struct hp_counters_s {
    uint64_t calls[HP_FN_COUNT];
    uint64_t bytes[HP_FN_COUNT];
} hp_counters_t;

/* The hot, initial-exec thread-local state. Zero-initialized: a zero
 * countdown sends the thread's first allocation to the slow path, which
 * attaches the thread. */
typedef struct hp_tls_s {
    int64_t countdown;       /* bytes until the next sample */
    int guard;               /* reentrancy guard depth (guard.h) */
    uintptr_t last_alloc;    /* this thread's latest allocation (temporaries) */
    hp_counters_t *counters; /* NULL until attached */
} hp_tls_t;

extern __thread hp_tls_t hp_tls;

/* What free() must do: 0 nothing recorded, 1 sampled mode, 2 full mode. */
extern int hp_tbuf_mode;

/* ---- hot path ---- */

static inline void hp_tbuf_bump(hp_counters_t *c, int fn, uint64_t bytes)
{
    __atomic_store_n(&c->calls[fn], c->calls[fn] + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&c->bytes[fn], c->bytes[fn] + bytes, __ATOMIC_RELAXED);
}

/* Slow half of hp_tbuf_alloc. */
void hp_tbuf_alloc_slow(int fn, void *p, size_t n, uint64_t ts);

/*
 * Accounts a successful allocation p of n requested bytes by function fn,
 * made by the application (guard not active). ts: 0, or the time to use for
 * the record if one is written (0 = now).
 */
static inline void hp_tbuf_alloc(int fn, void *p, size_t n)
{
    hp_tls_t *t = &hp_tls;
    t->countdown -= n ? (int64_t)n : 1;
    if (__builtin_expect(t->countdown <= 0, 0)) {
        hp_tbuf_alloc_slow(fn, p, n, 0);
        return;
    }
    hp_tbuf_bump(t->counters, fn, n);
    t->last_alloc = (uintptr_t)p;
}

/* Slow halves of the free path. */
int hp_tbuf_free_begin_slow(void *p, uint64_t *ts);
void hp_tbuf_free_end_slow(void *p, int tracked, uint64_t ts);
void hp_tbuf_free_abort(void *p, int tracked);

/*
 * First half of a free of non-NULL p, called BEFORE the real free/realloc
 * (so a concurrent allocation reusing the address cannot be confused with
 * it). Returns non-zero when the free must be recorded, and then sets *ts.
 */
static inline int hp_tbuf_free_begin(void *p, uint64_t *ts)
{
    int m = __atomic_load_n(&hp_tbuf_mode, __ATOMIC_RELAXED);
    if (__builtin_expect(m == 0, 0))
        return 0;
    if (m == 1 && __builtin_expect(!hp_liveset_maybe((uintptr_t)p), 1))
        return 0;
    return hp_tbuf_free_begin_slow(p, ts);
}

/* Second half: counts the free and writes its record when tracked. */
static inline void hp_tbuf_free_end(void *p, int tracked, uint64_t ts)
{
    hp_tls_t *t = &hp_tls;
    if (__builtin_expect(!t->counters || tracked, 0)) {
        hp_tbuf_free_end_slow(p, tracked, ts);
        return;
    }
    hp_counters_t *c = t->counters;
    __atomic_store_n(&c->calls[HP_FN_FREE], c->calls[HP_FN_FREE] + 1, __ATOMIC_RELAXED);
}

/* CLOCK_MONOTONIC in ns (vdso, no system call). */
static inline uint64_t hp_tbuf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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

/* ---- record encoders (also used by the unit tests) ---- */

uint8_t *hp_tbuf_enc_alloc(uint8_t *p, hp_delta_t *d, uint64_t ts, uint64_t addr, uint64_t size,
                           uint64_t stack);
uint8_t *hp_tbuf_enc_free(uint8_t *p, hp_delta_t *d, int temp, uint64_t ts, uint64_t addr);
uint8_t *hp_tbuf_enc_stack(uint8_t *p, hp_delta_t *d, uint64_t id, uint64_t gen,
                           const uintptr_t *pcs, int n);
uint8_t *hp_tbuf_enc_counters(uint8_t *p, uint32_t tid, const uint64_t *calls,
                              const uint64_t *bytes);
uint8_t *hp_tbuf_enc_end(uint8_t *p, uint64_t ts, int reason);

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
