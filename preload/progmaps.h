/*
 * progmaps.h - the anonymous memory the program maps itself, a root of the
 * leak scan.
 *
 * A program that runs an allocator of its own on top of mmap (CPython's
 * object arenas, pool and arena allocators in C) keeps pointers to
 * malloc'd blocks inside those mappings. A scan that does not read them
 * reports such blocks as lost where memcheck, which reads every mapping of
 * the program, finds them reachable. While the leak scan is on, the mmap,
 * mmap64, munmap and mremap hooks (hooks.c) report here the anonymous
 * ranges the program maps, and the exit scan (leakscan.c) reads them.
 *
 * Only the program's calls are noted: glibc maps its malloc heaps,
 * its mmap'd chunks, thread stacks and loaded libraries through internal
 * calls, so heaps (whose free chunks still hold stale pointers) never
 * become roots; the profiler's own mappings are made under the guard and
 * are not noted. File mappings are not noted (their pages hold file data,
 * and reading them could mean gigabytes of I/O at exit).
 */
#ifndef HP_PRELOAD_PROGMAPS_H
#define HP_PRELOAD_PROGMAPS_H

#include <stddef.h>
#include <stdint.h>

/* The most separate ranges the set holds (the kernel's default limit is
 * 65,530 mappings in all). */
#define HP_PROGMAPS_MAX (1u << 16)

typedef struct hp_range_s {
    uintptr_t lo, hi; /* [lo, hi), page-aligned */
} hp_range_t;

/* Non-zero once hp_progmaps_enable() succeeded: the hooks then report. */
static inline int hp_progmaps_noting(void)
{
    extern int hp_progmaps_on;
    return __builtin_expect(__atomic_load_n(&hp_progmaps_on, __ATOMIC_RELAXED), 0);
}

/* Starts noting (init.c, under the guard, when the leak scan is on, after
 * the real functions are resolved). Returns 0, or HP_ERR_NOMEM (nothing is
 * noted then). */
int hp_progmaps_enable(void);

/*
 * What a hook saw succeed: mmap's result p of len bytes with its flags (an
 * anonymous mapping the program made is added; a MAP_FIXED one of a file
 * replaces what it covers), munmap's range, mremap's old and new ranges
 * (the new one is added when the old one was noted). A new mapping is not
 * added under the guard (it is the profiler's own) nor when caller, the
 * hook's return address, lies in the real allocator's module: an
 * allocator other than glibc's (jemalloc, tcmalloc) maps its heaps through
 * mmap, and a heap's free blocks hold stale pointers that would hide
 * leaks.
 */
void hp_progmaps_mapped(void *p, size_t len, int flags, const void *caller);
void hp_progmaps_unmapped(void *p, size_t len);
void hp_progmaps_remapped(void *old, size_t oldlen, void *p, size_t newlen, int flags);

/*
 * Copies the noted ranges, sorted and disjoint, into out[0..cap): returns
 * how many there are (which may exceed cap), or -1 when the set cannot be
 * trusted: a change was missed (more ranges than the set holds, or a lock
 * left held by another thread at fork), and a range it still lists may be
 * somebody else's memory by now.
 */
long hp_progmaps_snapshot(hp_range_t *out, size_t cap);

/* The fork child: a lock another thread held at fork is released. */
void hp_progmaps_postfork_child(void);

#endif
