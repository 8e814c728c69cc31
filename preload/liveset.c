/*
 * liveset.c - lock-free map of recorded live blocks to their pairs.
 *
 * 2^22 slots (sampled mode) or 2^27 (full mode: every live block of the
 * program) of 8 bytes in an anonymous MAP_NORESERVE mapping (only touched
 * pages cost memory). A slot holds 0 (empty), 1 (tombstone) or a block:
 *
 *     bit 63      1, so a block is never 0 or 1
 *     bits 38-62  the rest of the block's address (tag_of)
 *     bits 32-37  the probe distance: the block's home slot is this one
 *                 minus it
 *     bits 0-31   the block's pair id
 *
 * The home slot stands for the address bits between key_shift and
 * key_shift + slots_log (slot_of); the rest holds those above and below
 * them, so the word names its block exactly, and a free finds the pair in
 * the same cache line as the key, claimed by the same CAS. Addresses whose
 * rest does not fit in 25 bits (above 2^50) or not 8-byte aligned are not
 * kept (insert fails; no allocator this runs on returns one).
 * A block lives at one of PROBE consecutive slots after its home; an
 * insert takes the first empty or tombstone slot (by CAS unless it is the
 * only inserting thread), a remove stores a tombstone. Keys are unique (a live block has one address), so reusing
 * tombstones cannot create duplicates. Only the block's owner, which got
 * the pointer from the allocation that inserted it, removes it.
 * It does not grow: a full window means the block goes untracked (it then looks leaked; see
 * docs/sampling.md). In front of the table, a counting filter (one 8-bit
 * counter per 512-byte granule of addresses, saturating; liveset.h)
 * answers "certainly absent" for most unrecorded frees that reach it with
 * one cached load; in full mode it is saturated and every free probes the
 * map. A bitmap marks the pages of slots ever written: a lone inserter
 * (tbuf.c) claims slots on those with a load and a store, and the exit
 * scan walks only those (hp_liveset_each). With the leak scan on, a second
 * array keeps each slot's block's requested size. It does not allocate or
 * lock.
 */
#include "liveset.h"

#include <stddef.h>
#include <string.h>

#include "heapprof/error.h"
#include "vmem.h"

#define SLOTS_LOG_SAMPLED 22
#define SLOTS_LOG_FULL 27
#define PROBE_LOG 6
#define PROBE (1u << PROBE_LOG)
#define REST_BITS 25
#define BLOCK ((uint64_t)1 << 63)
#define TAG_SHIFT 32 /* probe distance and rest sit above the pair */

uint8_t hp_liveset_filter[1u << HP_LIVESET_FILTER_LOG];
static uint64_t *slots;
/* One bit per page of slots ever written (claimed by a CAS); and, for the
 * leak scan only (hp_liveset_keep_sizes), each slot's block's requested
 * size. */
static uint64_t *touched;
static uint64_t *sizes;
static int incomplete; /* an insert failed */
static unsigned slots_log;
static uint32_t mask;       /* slots - 1 */
static unsigned key_shift; /* log2 of the granule of address a slot stands for, >= 3 */

static inline uint8_t *filter_of(uintptr_t p)
{
    return &hp_liveset_filter[hp_liveset_bucket(p)];
}

static void filter_add(uintptr_t p, int d)
{
    uint8_t *f = filter_of(p), v = __atomic_load_n(f, __ATOMIC_RELAXED);
    /* A saturated counter stays saturated: the bucket then always probes. */
    while (v != UINT8_MAX && !__atomic_compare_exchange_n(f, &v, (uint8_t)(v + d), 0,
                                                          __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

static size_t table_bytes(unsigned log)
{
    return ((size_t)1 << log) * sizeof(uint64_t);
}

#define SLOTS_PER_PAGE (4096u / sizeof(uint64_t))

static size_t touched_bytes(unsigned log)
{
    return (((size_t)1 << log) / SLOTS_PER_PAGE + 63) / 64 * sizeof(uint64_t);
}

int hp_liveset_init(int full, unsigned granule_log)
{
    if (slots)
        return 0;
    key_shift = granule_log < 3 ? 3 : granule_log;
    /* Full mode wants room for every live block; a system that refuses
     * that much address space gets the small table (blocks beyond it then
     * go untracked). */
    unsigned log = full ? SLOTS_LOG_FULL : SLOTS_LOG_SAMPLED;
    void *t = hp_vmem_map(touched_bytes(log), 1); /* 32 KiB at most */
    void *m = t ? hp_vmem_map(table_bytes(log), 1) : NULL;
    if (!m && t && full)
        m = hp_vmem_map(table_bytes(log = SLOTS_LOG_SAMPLED), 1);
    if (!m)
        return HP_ERR_NOMEM;
    touched = t;
    slots_log = log;
    mask = (1u << log) - 1;
    __atomic_store_n(&slots, (uint64_t *)m, __ATOMIC_RELEASE);
    return 0;
}

int hp_liveset_keep_sizes(void)
{
    if (!slots)
        return HP_ERR_NOMEM;
    if (sizes)
        return 0;
    uint64_t *s = hp_vmem_map(table_bytes(slots_log), 1);
    if (!s)
        return HP_ERR_NOMEM;
    __atomic_store_n(&sizes, s, __ATOMIC_RELEASE);
    return 0;
}

void hp_liveset_reset(void)
{
    if (!slots)
        return;
    incomplete = 0;
    if (hp_vmem_zero(slots, table_bytes(slots_log)))
        slots = NULL;
    memset(touched, 0, touched_bytes(slots_log)); /* the slots' pages are fresh again */
    for (size_t i = 0; i < sizeof hp_liveset_filter / sizeof hp_liveset_filter[0]; i++)
        if (hp_liveset_filter[i] != UINT8_MAX)
            hp_liveset_filter[i] = 0;
}

void hp_liveset_saturate(void)
{
    memset(hp_liveset_filter, 0xff, sizeof hp_liveset_filter);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/*
 * The home slot keeps address locality: within one window of 2^slots_log
 * granules (128 MiB sampled, 4 GiB full, of glibc's 32-byte granules; 16
 * TiB of pages when sampled blocks are placed at page starts, tbuf.h) nearby
 * blocks get nearby slots, so a program whose heap spans a few MiB touches
 * a few pages of the table instead of one page per sample (each first
 * touch is a page fault, and in a threaded program one that competes with
 * the allocator's own mprotect calls for the address space lock). Windows
 * are spread by a multiplicative hash of the window number, so equal
 * offsets in different windows (thread arenas) do not collide.
 */
static inline uint32_t slot_of(uintptr_t p)
{
    uint64_t win = (uint64_t)p >> (key_shift + slots_log);
    return (uint32_t)(((uint64_t)p >> key_shift) + win * 0x9e3779b1u) & mask;
}

/*
 * The bits of p its home slot does not stand for, in the upper half of a
 * slot's word (probe distance 0): the window number above the granule
 * offset (in 8-byte units). Together with the home slot they give back p
 * (the window fixes the hash's offset, the slot then p >> key_shift).
 * Returns 0 for an address that has no such word.
 */
static inline uint64_t tag_of(uintptr_t p)
{
    unsigned low = key_shift - 3;
    uint64_t win = (uint64_t)p >> (key_shift + slots_log);
    if ((p & 7) || win >> (REST_BITS - low))
        return 0;
    uint64_t rest = win << low | ((uint64_t)p & (((uint64_t)1 << key_shift) - 1)) >> 3;
    return BLOCK | rest << (TAG_SHIFT + PROBE_LOG);
}

/* The block a slot's word v names, at slot `at` (the inverse of slot_of
 * and tag_of). */
static uintptr_t block_at(uint32_t at, uint64_t v)
{
    unsigned low = key_shift - 3;
    uint32_t i = (uint32_t)(v >> TAG_SHIFT) & (PROBE - 1);
    uint64_t rest = (v >> (TAG_SHIFT + PROBE_LOG)) & (((uint64_t)1 << REST_BITS) - 1);
    uint64_t win = rest >> low;
    uint64_t mid = ((at - i) - (uint32_t)(win * 0x9e3779b1u)) & mask;
    return (uintptr_t)(win << (key_shift + slots_log) | mid << key_shift |
                       (rest & (((uint64_t)1 << low) - 1)) << 3);
}

static inline int page_written(uint32_t at)
{
    return (__atomic_load_n(&touched[at / SLOTS_PER_PAGE / 64], __ATOMIC_RELAXED) >>
            (at / SLOTS_PER_PAGE % 64)) & 1;
}

static void page_write(uint32_t at)
{
    if (!page_written(at))
        __atomic_fetch_or(&touched[at / SLOTS_PER_PAGE / 64],
                          (uint64_t)1 << (at / SLOTS_PER_PAGE % 64), __ATOMIC_RELAXED);
}

static int insert_failed(void)
{
    __atomic_store_n(&incomplete, 1, __ATOMIC_RELAXED);
    return -1;
}

int hp_liveset_insert(uintptr_t p, uint32_t pair, uint64_t size, int alone)
{
    if (!__atomic_load_n(&slots, __ATOMIC_ACQUIRE))
        return insert_failed();
    uint64_t tag = tag_of(p);
    if (!tag)
        return insert_failed();
    uint32_t h = slot_of(p);
    filter_add(p, 1); /* before the slot: a remove that finds p sees the filter */
    for (uint32_t i = 0; i < PROBE; i++) {
        uint32_t at = (h + i) & mask;
        uint64_t *s = &slots[at];
        uint64_t word = tag | (uint64_t)i << TAG_SHIFT | pair;
        if (alone && page_written(at)) {
            /* No other inserter: a slot that is empty or a tombstone now
             * stays so until this store (removers only write slots that
             * hold their own block). Not on a page never written: the
             * load would map the zero page and the store then take a
             * second, copy-on-write fault. */
            if (__atomic_load_n(s, __ATOMIC_RELAXED) > 1)
                continue;
            __atomic_store_n(s, word, __ATOMIC_RELEASE);
        } else {
            /* CAS before any load: the first touch of a page of the table
             * is then one write fault (and with other threads running, a
             * load first would cost a TLB shootdown of every CPU running
             * one of them as well). */
            uint64_t v = 0;
            while (v <= 1 && !__atomic_compare_exchange_n(s, &v, word, 0, __ATOMIC_RELEASE,
                                                          __ATOMIC_RELAXED))
                ;
            if (v > 1)
                continue;
            page_write(at);
        }
        /* The block's free, on whichever thread, comes after its
         * allocation returned (the program's own synchronisation hands
         * the pointer over), so after these stores. */
        if (sizes)
            sizes[at] = size;
        return 0;
    }
    filter_add(p, -1);
    return insert_failed();
}

int hp_liveset_remove(uintptr_t p, uint32_t *pair)
{
    if (!__atomic_load_n(&slots, __ATOMIC_ACQUIRE) || !hp_liveset_maybe(p))
        return 0;
    uint64_t tag = tag_of(p) >> TAG_SHIFT;
    if (!tag)
        return 0;
    uint32_t h = slot_of(p);
    for (uint32_t i = 0; i < PROBE; i++) {
        uint64_t *s = &slots[(h + i) & mask];
        uint64_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);
        if (v == 0)
            return 0;
        if (v >> TAG_SHIFT == (tag | i)) {
            /* Only the block's owner frees it (two racing frees of one
             * block are a double free: both may record it, the analyzer
             * counts the second as unknown), so a store releases the slot. */
            *pair = (uint32_t)v;
            __atomic_store_n(s, (uint64_t)1, __ATOMIC_RELAXED);
            filter_add(p, -1);
            return 1;
        }
    }
    return 0;
}

int hp_liveset_complete(void)
{
    return !__atomic_load_n(&incomplete, __ATOMIC_RELAXED);
}

size_t hp_liveset_each(hp_liveset_fn *fn, void *ctx)
{
    size_t n = 0;
    if (!slots)
        return 0;
    for (uint32_t pg = 0; pg < ((uint32_t)1 << slots_log) / SLOTS_PER_PAGE; pg++) {
        if (!(__atomic_load_n(&touched[pg / 64], __ATOMIC_RELAXED) & ((uint64_t)1 << (pg % 64))))
            continue;
        for (uint32_t at = pg * SLOTS_PER_PAGE; at < (pg + 1) * SLOTS_PER_PAGE; at++) {
            uint64_t v = __atomic_load_n(&slots[at], __ATOMIC_ACQUIRE);
            if (v <= 1)
                continue;
            n++;
            if (fn)
                fn(ctx, block_at(at, v), sizes ? sizes[at] : 0, (uint32_t)v);
        }
    }
    return n;
}
