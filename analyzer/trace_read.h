/*
 * trace_read.h - streaming reader of heapprof trace files.
 *
 * hp_trace_open() walks the file's skippable frames once (pass 1) and keeps
 * only the frame indexes; no data frame is decompressed then. hp_trace_next()
 * then merges the threads' frames by time (pass 2): a data frame is
 * decompressed when the merge reaches its first timestamp and released when
 * its last record has been returned, so memory is bounded by the frames that
 * overlap in time (about one per live thread), not by the size of the trace.
 *
 * Allocation and free records are returned one by one in global time order:
 * by (ts, tid, frame seq), each thread's records in their recorded order.
 * An event's ts is the current tick of its frame (HP_REC_TICK), so events
 * of several threads often share a ts; the tid then orders them, which is
 * not necessarily the order they happened in (model.c repairs a free met
 * before its allocation). Pairs, stacks, module snapshots, counters, thread
 * names and the end record are collected into tables as the merge meets
 * them; query them with the getters below (complete only once
 * hp_trace_next() has returned 0).
 *
 * The reader never trusts its input: every length is bounded by the format's
 * limits (HP_MAX_FRAME_RAW, HP_MAX_FRAMES, HP_MAX_PATH, HP_TRACE_MAX_PAIRS)
 * before anything is allocated, and every inconsistency is an HP_ERR_FORMAT
 * with a message naming the frame number and the file offset.
 *
 * Only version 2 traces are read (HP_ERR_VERSION for any other version).
 */
#ifndef HP_TRACE_READ_H
#define HP_TRACE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "heapprof/trace_format.h"
#include "symbols.h"

typedef struct hp_trace_s hp_trace_t;

/* Most distinct pair ids one trace may name (defined or only used): the
 * bound of the pair table, about 64 bytes each with the model's state. */
#define HP_TRACE_MAX_PAIRS (1u << 27)

/* One allocation or free, as hp_trace_next() returns it. */
typedef struct hp_trace_event_s {
    int tag;           /* HP_REC_ALLOC, HP_REC_FREE or HP_REC_FREE_TEMP */
    uint32_t tid;      /* thread (from the frame index) */
    uint64_t ts;       /* absolute trace clock: the frame's current tick */
    uint32_t pair;     /* the block's pair id (>= 1) */
    uint32_t slot;     /* the pair's dense number in this trace: 0, 1, ... in
                          the order the reader first met each id (PAIR record
                          or event); < hp_trace_npairs() */
    int defined;       /* 1: size and stack_id below are the pair's. Always 1
                          for HP_REC_ALLOC (an allocation of a pair its
                          thread did not define first is a format error); a
                          free may be met before another thread's PAIR */
    uint32_t stack_id; /* when defined: 0 = no stack; else 0 */
    uint64_t size;     /* when defined: requested bytes; else 0 */
} hp_trace_event_t;

/* One call stack of the stack table. */
typedef struct hp_trace_stack_s {
    uint32_t id;
    uint32_t gen;        /* module map generation it was captured under */
    uint32_t n;          /* <= HP_MAX_FRAMES */
    const uint64_t *pcs; /* return addresses, innermost first */
} hp_trace_stack_t;

/*
 * Opens the trace at path and runs pass 1 (header and frame indexes).
 * Returns 0 and sets *out (close with hp_trace_close), or a negative hp_err
 * (HP_ERR_IO, HP_ERR_FORMAT, HP_ERR_VERSION, HP_ERR_NOMEM) with a message in
 * err (errlen bytes, always NUL-terminated). A trace whose last (index,
 * data) pair is cut short opens fine: hp_trace_truncated() says so and
 * hp_trace_warning() describes it.
 */
int hp_trace_open(const char *path, hp_trace_t **out, char *err, size_t errlen);

/* Closes t and frees everything it owns (the tables too). NULL is a no-op. */
void hp_trace_close(hp_trace_t *t);

/*
 * Returns the next allocation or free in global time order: 1 and fills
 * *ev, 0 at the end of the trace, or a negative hp_err with a message in err
 * naming the frame and offset. After an error, do not call it again.
 */
int hp_trace_next(hp_trace_t *t, hp_trace_event_t *ev, char *err, size_t errlen);

/*
 * Limits the decompressed frames one trace holds at once (default 2 GiB) for
 * the traces opened afterwards, in this process (the fuzz target lowers it).
 * A trace that needs more (frames of more threads overlap in time than fit)
 * makes hp_trace_next fail with HP_ERR_NOMEM and a message.
 */
void hp_trace_set_max_open(size_t bytes);

/*
 * Limits the distinct pair ids one trace may name (default and maximum
 * HP_TRACE_MAX_PAIRS) for the traces opened afterwards, in this process
 * (tests and the fuzz target lower it). A trace that names more makes
 * hp_trace_next fail with HP_ERR_FORMAT and a message.
 */
void hp_trace_set_max_pairs(size_t n);

/* The file header. Valid until hp_trace_close. */
const hp_file_header_t *hp_trace_header(const hp_trace_t *t);

/* The executable path of the header (NUL-terminated, maybe ""). */
const char *hp_trace_exe(const hp_trace_t *t);

/* Number of data frames found by pass 1. */
size_t hp_trace_nframes(const hp_trace_t *t);

/* 1 when the last pair was cut short (pass 1) and ignored. */
int hp_trace_truncated(const hp_trace_t *t);

/* A warning for the user ("" when none). Owned by t. */
const char *hp_trace_warning(const hp_trace_t *t);

/* 1 when an HP_REC_END was read; *end_ts (may be NULL) gets its timestamp. */
int hp_trace_complete(const hp_trace_t *t, uint64_t *end_ts);

/* Largest timestamp seen so far (events, frame indexes, END). */
uint64_t hp_trace_last_ts(const hp_trace_t *t);

/* The stack with this id, or NULL when the trace defines none. Owned by t. */
const hp_trace_stack_t *hp_trace_stack(const hp_trace_t *t, uint32_t id);

/*
 * The module snapshot in force for stacks of generation gen: the snapshot
 * with the largest generation <= gen (else the oldest one). Sets *n and
 * returns the modules sorted by start address, or NULL with *n = 0 when the
 * trace holds no snapshot. Owned by t.
 */
const hp_module_t *hp_trace_modules(const hp_trace_t *t, uint32_t gen, size_t *n);

/*
 * Sums of every HP_REC_COUNTERS read so far into calls and bytes (arrays of
 * HP_FN_COUNT). Returns the number of counter records read.
 */
size_t hp_trace_counters(const hp_trace_t *t, uint64_t *calls, uint64_t *bytes);

/* The name recorded for thread tid, or NULL. Owned by t. */
const char *hp_trace_thread_name(const hp_trace_t *t, uint32_t tid);

/*
 * Number of pair slots assigned so far (every event's slot is below it).
 * Do not call it while another thread runs hp_trace_next() on t.
 */
size_t hp_trace_npairs(const hp_trace_t *t);

/*
 * Looks up pair id as far as the trace has been read. Returns 1 when a PAIR
 * record defined it, and then sets *size and *stack_id; 0 otherwise. *slot
 * gets the id's slot when the reader has met the id (defined or used by an
 * event), else UINT32_MAX. Any output pointer may be NULL. Do not call it
 * while another thread runs hp_trace_next() on t.
 */
int hp_trace_pair(const hp_trace_t *t, uint32_t id, uint32_t *slot, uint64_t *size,
                  uint32_t *stack_id);

/*
 * The reachability scan of a full-mode trace (HP_REC_UNREACHABLE records):
 * returns 1 when the trace holds one, and then sets *pairs (owned by t,
 * valid until hp_trace_close) and *n to the pair ids of the blocks live at
 * exit that no pointer reached, one entry per block (an id appears once per
 * lost block of that pair; possibly no entry); returns 0 when the trace has
 * no scan. Complete only once hp_trace_next() has returned 0.
 */
int hp_trace_unreachable(const hp_trace_t *t, const uint32_t **pairs, size_t *n);

#endif /* HP_TRACE_READ_H */
