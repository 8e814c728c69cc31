/*
 * leakscan.h - reachability scan of the live blocks at exit (full mode).
 *
 * In full mode with HEAPPROF_LEAK_SCAN=1 (what `heapprof --leak-check`
 * sets; init.c decides) the map of live blocks (liveset.h) keeps each
 * block's requested size too. At a normal exit the library destructor calls
 * hp_leakscan_run(), which scans the roots (writable segments of the loaded
 * modules, the calling thread's stack, registers and static TLS, the other
 * threads' stacks, the memory the program mapped itself) and,
 * transitively, the blocks they reach, the way LeakSanitizer does, and
 * writes one or more HP_REC_UNREACHABLE records listing, by pair, the live
 * blocks no pointer reaches. When the map missed a block (more live blocks
 * than it can hold), the scan is skipped and nothing is written: the analyzer then
 * falls back to "live at exit".
 */
#ifndef HP_PRELOAD_LEAKSCAN_H
#define HP_PRELOAD_LEAKSCAN_H

#include <stdint.h>

/*
 * Enables the scan: the map of live blocks (liveset.h) keeps each block's
 * requested size from now on. Call once, from init, under the guard, in
 * full mode only, before the first allocation is recorded. Returns 0, or
 * HP_ERR_NOMEM (the scan then stays off). Never allocates through malloc.
 */
int hp_leakscan_init(void);

/*
 * Runs the scan and writes its HP_REC_UNREACHABLE records as process
 * frames. Call at a normal exit, under the guard, after recording stopped
 * (hp_tbuf_mode is 0) and before HP_REC_END is written; not at exec.
 * Returns 0 when the records were written, 1 when the scan was skipped
 * (tracking off, a block missing from the map, or memory could not be read safely), or
 * a negative hp_err (HP_ERR_NOMEM: scratch memory; HP_ERR_IO: write).
 * Uses only mmap'd scratch memory, never the program's heap for its own
 * arrays.
 */
int hp_leakscan_run(void);

#endif
