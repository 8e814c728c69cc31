/*
 * leakscan.h - reachability scan of the live blocks at exit (full mode).
 *
 * In full mode with HEAPPROF_LEAK_SCAN=1 (what `heapprof --leak-check`
 * sets; init.c decides) every recorded allocation is entered into
 * a table of live blocks (address and requested size) and every free takes
 * it out again. At a normal exit the library destructor calls
 * hp_leakscan_run(), which scans the roots (writable segments of the loaded
 * modules, the calling thread's stack, registers and static TLS, the other
 * threads' stacks, the memory the program mapped itself) and,
 * transitively, the blocks they reach, the way LeakSanitizer does, and
 * writes one or more HP_REC_UNREACHABLE records listing, by pair, the live
 * blocks no pointer reaches. When the table overflowed (more live blocks than it can
 * hold), the scan is skipped and nothing is written: the analyzer then
 * falls back to "live at exit".
 */
#ifndef HP_PRELOAD_LEAKSCAN_H
#define HP_PRELOAD_LEAKSCAN_H

#include <stdint.h>

/*
 * Maps the table of live blocks and enables tracking. Call once, from init,
 * under the guard, in full mode only. A slot stands for 2^granule_log
 * bytes of address, at most the real allocator's spacing (real.h), as in
 * hp_liveset_init. Returns 0, or HP_ERR_NOMEM (tracking then stays off and
 * no scan is made). Never allocates through malloc.
 */
int hp_leakscan_init(unsigned granule_log);

/*
 * Enters block p (non-NULL) of `size` requested bytes and pair `pair`. A no-op unless
 * hp_leakscan_init() succeeded. Lock-free, never allocates. When p's probe
 * window is full, the table is marked overflowed and the exit scan will be
 * skipped.
 */
void hp_leakscan_note_alloc(uintptr_t p, uint64_t size, uint32_t pair);

/*
 * Takes block p out of the table. Call BEFORE the real free/realloc, so the
 * address cannot be reused by another thread before it is removed. A no-op
 * for NULL, for unknown addresses and while tracking is off. Lock-free,
 * never allocates.
 */
void hp_leakscan_note_free(uintptr_t p);

/*
 * Puts p back after a realloc that failed (p was taken out by
 * hp_leakscan_note_free() and is still live). Its extent becomes its usable
 * size (the requested size was dropped with the entry).
 */
void hp_leakscan_note_kept(uintptr_t p, uint32_t pair);

/*
 * Runs the scan and writes its HP_REC_UNREACHABLE records as process
 * frames. Call at a normal exit, under the guard, after recording stopped
 * (hp_tbuf_mode is 0) and before HP_REC_END is written; not at exec.
 * Returns 0 when the records were written, 1 when the scan was skipped
 * (tracking off, table overflowed, or memory could not be read safely), or
 * a negative hp_err (HP_ERR_NOMEM: scratch memory; HP_ERR_IO: write).
 * Uses only mmap'd scratch memory, never the program's heap for its own
 * arrays.
 */
int hp_leakscan_run(void);

#endif
