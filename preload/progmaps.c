/*
 * progmaps.c - the set of anonymous ranges the program mapped through the
 * mmap hooks (progmaps.h, hooks.c).
 *
 * The hooks report a call only when it succeeded and the leak scan is on,
 * so a program without it pays a load and a branch per call. The set is a
 * sorted array of disjoint ranges in one mapping of the recorder's, under
 * a spin lock taken with every signal blocked (two system calls more per
 * mapping call, in leak-check runs only), so that a signal handler that
 * maps memory never meets its own thread's half-done update. A change that
 * cannot be made (the set is full) marks the set untrusted: a range it
 * still lists may be somebody else's memory by now. Mappings by the
 * profiler itself (made under the guard) are not noted; unmaps always are,
 * whoever makes them.
 */
#include "progmaps.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard.h"
#include "heapprof/error.h"
#include "modules.h"
#include "real.h"
#include "vmem.h"

static hp_range_t *ranges; /* sorted by lo, disjoint */
static size_t nranges;
int hp_progmaps_on;
static int untrusted;
static int locked;
static uintptr_t alloc_lo, alloc_hi; /* the real allocator's module */
static uintptr_t page;

int hp_progmaps_enable(void)
{
    if (hp_modules_range_of((uintptr_t)hp_real.malloc, &alloc_lo, &alloc_hi) != 0)
        alloc_lo = alloc_hi = 0;
    page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (!ranges) {
        ranges = hp_vmem_map(HP_PROGMAPS_MAX * sizeof(hp_range_t), 1);
        if (!ranges)
            return HP_ERR_NOMEM;
    }
    __atomic_store_n(&hp_progmaps_on, 1, __ATOMIC_RELEASE);
    return 0;
}

/* Takes the lock with every signal blocked (their mask saved in *old). */
static void lock(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
    while (__atomic_exchange_n(&locked, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void unlock(const sigset_t *old)
{
    __atomic_store_n(&locked, 0, __ATOMIC_RELEASE);
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The first range whose end is at or after lo. */
static size_t first_from(uintptr_t lo)
{
    size_t a = 0, b = nranges;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (ranges[mid].hi < lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

/* Replaces ranges[i, j) by the k ranges of with. */
static int splice(size_t i, size_t j, const hp_range_t *with, size_t k)
{
    if (nranges - (j - i) + k > HP_PROGMAPS_MAX)
        return -1;
    memmove(&ranges[i + k], &ranges[j], (nranges - j) * sizeof(hp_range_t));
    memcpy(&ranges[i], with, k * sizeof(hp_range_t));
    nranges = nranges - (j - i) + k;
    return 0;
}

/* Adds [lo, hi), merged with the ranges it overlaps or touches. */
static int add(uintptr_t lo, uintptr_t hi)
{
    size_t i = first_from(lo), j = i;
    hp_range_t r = {lo, hi};
    for (; j < nranges && ranges[j].lo <= hi; j++) {
        if (ranges[j].lo < r.lo)
            r.lo = ranges[j].lo;
        if (ranges[j].hi > r.hi)
            r.hi = ranges[j].hi;
    }
    return splice(i, j, &r, 1);
}

/* The first range that overlaps [lo, ...) or lies after it. */
static size_t first_over(uintptr_t lo)
{
    size_t i = first_from(lo);
    return i < nranges && ranges[i].hi == lo ? i + 1 : i; /* touching only */
}

static int overlaps(uintptr_t lo, uintptr_t hi)
{
    size_t i = first_over(lo);
    return i < nranges && ranges[i].lo < hi;
}

/* Takes [lo, hi) out. */
static int remove_range(uintptr_t lo, uintptr_t hi)
{
    size_t i = first_over(lo), j = i;
    while (j < nranges && ranges[j].lo < hi)
        j++;
    if (j == i)
        return 0;
    hp_range_t keep[2];
    size_t k = 0;
    if (ranges[i].lo < lo)
        keep[k++] = (hp_range_t){ranges[i].lo, lo};
    if (ranges[j - 1].hi > hi)
        keep[k++] = (hp_range_t){hi, ranges[j - 1].hi};
    return splice(i, j, keep, k);
}

static uintptr_t page_end(uintptr_t p, size_t len)
{
    uintptr_t e = p + len;
    return e < p ? UINTPTR_MAX & ~(page - 1) : (e + page - 1) & ~(page - 1);
}

enum { ADD, REMOVE, MOVE };

/* One change to the set; MOVE adds [lo2, hi2) when [lo, hi) overlapped a
 * range, and takes [lo, hi) out unless keep_old. The hook's errno is kept. */
static void change(int op, uintptr_t lo, uintptr_t hi, uintptr_t lo2, uintptr_t hi2,
                   int keep_old)
{
    int e = errno;
    sigset_t old;
    lock(&old);
    int rc = 0;
    if (op == ADD) {
        rc = add(lo, hi);
    } else if (op == REMOVE) {
        rc = remove_range(lo, hi);
    } else if (overlaps(lo, hi)) {
        rc = keep_old ? 0 : remove_range(lo, hi);
        if (rc == 0)
            rc = add(lo2, hi2);
    }
    if (rc != 0) /* full */
        __atomic_store_n(&untrusted, 1, __ATOMIC_RELAXED);
    unlock(&old);
    errno = e;
}

long hp_progmaps_snapshot(hp_range_t *out, size_t cap)
{
    sigset_t old;
    if (!hp_progmaps_noting())
        return -1;
    lock(&old);
    long n = __atomic_load_n(&untrusted, __ATOMIC_RELAXED) ? -1 : (long)nranges;
    if (n > 0 && cap > 0)
        memcpy(out, ranges, ((size_t)n < cap ? (size_t)n : cap) * sizeof(hp_range_t));
    unlock(&old);
    return n;
}

void hp_progmaps_postfork_child(void)
{
    /* Only another thread can have held it (fork is not called inside the
     * hooks), and its update is lost half-done. */
    if (__atomic_load_n(&locked, __ATOMIC_RELAXED))
        __atomic_store_n(&untrusted, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&locked, 0, __ATOMIC_RELEASE);
}

/* ---- what the hooks (hooks.c) report ---- */

void hp_progmaps_mapped(void *p, size_t len, int flags, const void *caller)
{
    uintptr_t lo = (uintptr_t)p, hi = page_end(lo, len), c = (uintptr_t)caller;
    int heap = c >= alloc_lo && c < alloc_hi; /* the real allocator's own */
    if ((flags & MAP_ANONYMOUS) && !heap && !hp_guard_active())
        change(ADD, lo, hi, 0, 0, 0);
    else if (flags & MAP_FIXED) /* whatever was there is gone */
        change(REMOVE, lo, hi, 0, 0, 0);
}

void hp_progmaps_unmapped(void *p, size_t len)
{
    change(REMOVE, (uintptr_t)p, page_end((uintptr_t)p, len), 0, 0, 0);
}

void hp_progmaps_remapped(void *old, size_t oldlen, void *p, size_t newlen, int flags)
{
#ifdef MREMAP_DONTUNMAP
    int keep_old = (flags & MREMAP_DONTUNMAP) != 0;
#else
    int keep_old = 0;
    (void)flags;
#endif
    uintptr_t lo = (uintptr_t)old, lo2 = (uintptr_t)p;
    change(MOVE, lo, page_end(lo, oldlen), lo2, page_end(lo2, newlen), keep_old);
}
