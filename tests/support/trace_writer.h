/*
 * trace_writer.h - builds synthetic heapprof traces for the analyzer's tests.
 *
 * A test writes records per thread, in each thread's order, with the
 * encoding helpers of trace_format.h; each thread's buffer becomes one
 * (index, zstd data frame) pair when it is flushed (explicitly, when it
 * reaches the frame limit, or at close). The writer is independent of the
 * recorder in preload/, so the analyzer is tested against the format, not
 * against one implementation of it.
 *
 * Two levels of events. hp_tw_alloc / hp_tw_free take addresses, as a
 * recorder sees them, and do what a recorder does: each thread defines a
 * pair id (HP_REC_PAIR, ids from one counter for the whole trace) for each
 * (size, stack) it allocates, before its first use, and a free names the
 * pair of the live block at its address. hp_tw_pair / hp_tw_alloc_pair /
 * hp_tw_free_pair write exactly the pair records and events a test asks
 * for, valid or not. Timestamps are absolute: the writer starts a frame at
 * its first event's time and writes an HP_REC_TICK whenever an event's time
 * differs from the frame's current tick.
 */
#ifndef HP_TRACE_WRITER_H
#define HP_TRACE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "heapprof/trace_format.h"
#include "symbols.h"

typedef struct hp_tw_s hp_tw_t;

/*
 * Creates the trace file path (truncating it) and writes the file header
 * (version HP_TRACE_VERSION, coarse clock) with the given rate, pid,
 * executable (may be NULL) and start time. Returns NULL on failure (errno
 * set).
 */
hp_tw_t *hp_tw_open(const char *path, uint64_t rate, uint32_t pid, const char *exe,
                    uint64_t start_ns);

/* Flushes a thread's buffer when it would exceed limit bytes (default and
 * maximum HP_MAX_FRAME_RAW). */
void hp_tw_set_frame_limit(hp_tw_t *w, size_t limit);

/*
 * Recorder-like events: each returns 0 or a negative hp_err. An allocation
 * at addr of size bytes with stack (0 = none) uses the thread's pair for
 * (size, stack), defined first when new. A free names the pair of the block
 * live at addr; a free of an address with no live block names a pair id
 * that the trace never defines (its allocation is not in the trace).
 */
int hp_tw_alloc(hp_tw_t *w, uint32_t tid, uint64_t ts, uint64_t addr, uint64_t size,
                uint32_t stack);
int hp_tw_free(hp_tw_t *w, uint32_t tid, uint64_t ts, uint64_t addr, int temporary);

/* The pair id of the block live at addr, 0 when none. */
uint32_t hp_tw_pair_of(hp_tw_t *w, uint64_t addr);

/*
 * Raw pair records and events: exactly what is asked, in thread tid's
 * stream (ids are not checked; hp_tw_alloc never draws an id used here).
 */
int hp_tw_pair(hp_tw_t *w, uint32_t tid, uint32_t id, uint64_t size, uint32_t stack);
int hp_tw_alloc_pair(hp_tw_t *w, uint32_t tid, uint64_t ts, uint32_t pair);
int hp_tw_free_pair(hp_tw_t *w, uint32_t tid, uint64_t ts, uint32_t pair, int temporary);

/* An HP_REC_UNREACHABLE record of n pair ids (one per lost block). */
int hp_tw_unreachable(hp_tw_t *w, uint32_t tid, const uint32_t *pairs, size_t n);

/* Other record writers: each returns 0 or a negative hp_err. */
int hp_tw_stack(hp_tw_t *w, uint32_t tid, uint32_t id, uint32_t gen, uint32_t n,
                const uint64_t *pcs);
int hp_tw_modules(hp_tw_t *w, uint32_t tid, uint32_t gen, size_t n, const hp_module_t *mods);
int hp_tw_counters(hp_tw_t *w, uint32_t tid, const uint64_t *calls, const uint64_t *bytes);
int hp_tw_end(hp_tw_t *w, uint32_t tid, uint64_t ts, unsigned reason);
int hp_tw_thread_name(hp_tw_t *w, uint32_t tid, const char *name);

/* Appends raw bytes to a thread's buffer (for corrupt-input tests). */
int hp_tw_raw(hp_tw_t *w, uint32_t tid, const void *bytes, size_t n);

/* Writes the thread's buffered records as one (index, data) pair now. */
int hp_tw_flush(hp_tw_t *w, uint32_t tid);

/* Flushes every thread (in the order they first appeared) and closes the
 * file. Frees w. Returns 0 or a negative hp_err. */
int hp_tw_close(hp_tw_t *w);

#endif
