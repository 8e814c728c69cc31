/*
 * liveset.c - lock-free map of recorded live blocks to their pairs.
 *
 * 2^22 slots (sampled mode) or 2^27 (full mode: every live block of the
 * program) of 8 bytes in an anonymous MAP_NORESERVE mapping (only touched
 * pages cost memory), and beside them as many 4-byte pair ids. Slot
 * values: 0 empty, 1 tombstone, else an address.
 * A key lives at one of PROBE consecutive slots after its hash; an insert
 * takes the first empty or tombstone slot by CAS, a remove stores
 * a tombstone. Keys are unique (a live block has one address), so reusing
 * tombstones cannot create duplicates. A slot's pair is written after its
 * key is taken and read before it is released: only the block's owner,
 * which got the pointer from the allocation that inserted it, removes it.
 * It does not grow: a full window means the block goes untracked (it then looks leaked; see
 * docs/sampling.md). In front of the table, a counting filter (one 8-bit
 * counter per 512-byte granule of addresses, saturating; liveset.h)
 * answers "certainly absent" for most unrecorded frees that reach it with
 * one cached load; in full mode it is saturated and every free probes the
 * map. It does not allocate or lock.
 */
#include "liveset.h"

#include <stddef.h>
#include <string.h>

#include "heapprof/error.h"
#include "vmem.h"

#define SLOTS_LOG_SAMPLED 22
#define SLOTS_LOG_FULL 27
#define PROBE 64

uint8_t hp_liveset_filter[1u << HP_LIVESET_FILTER_LOG];
static uintptr_t *slots;
static uint32_t *pairs;
static unsigned slots_log;
static uint32_t mask;       /* slots - 1 */
static unsigned key_shift; /* log2 of the granule of address a slot stands for */

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
    return ((size_t)1 << log) * (sizeof(uintptr_t) + sizeof(uint32_t));
}


int hp_liveset_init(int full, unsigned granule_log)
{
    if (slots)
        return 0;
    key_shift = granule_log;
    /* Full mode wants room for every live block; a system that refuses
     * that much address space gets the small table (blocks beyond it then
     * go untracked). */
    unsigned log = full ? SLOTS_LOG_FULL : SLOTS_LOG_SAMPLED;
    void *m = hp_vmem_map(table_bytes(log), 1);
    if (!m && full)
        m = hp_vmem_map(table_bytes(log = SLOTS_LOG_SAMPLED), 1);
    if (!m)
        return HP_ERR_NOMEM;
    slots_log = log;
    mask = (1u << log) - 1;
    pairs = (uint32_t *)((uintptr_t *)m + ((size_t)1 << log));
    __atomic_store_n(&slots, (uintptr_t *)m, __ATOMIC_RELEASE);
    return 0;
}

void hp_liveset_reset(void)
{
    if (!slots)
        return;
    if (hp_vmem_zero(slots, table_bytes(slots_log)))
        slots = NULL;
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

int hp_liveset_insert(uintptr_t p, uint32_t pair)
{
    if (!__atomic_load_n(&slots, __ATOMIC_ACQUIRE))
        return -1;
    uint32_t h = slot_of(p);
    filter_add(p, 1); /* before the slot: a remove that finds p sees the filter */
    for (uint32_t i = 0; i < PROBE; i++) {
        uint32_t at = (h + i) & mask;
        /* CAS before any load: the first touch of a page of the table is
         * then one write fault. A load first would map the zero page and
         * the CAS take a second, copy-on-write fault (with a TLB
         * shootdown of every CPU running a thread of the process). */
        uintptr_t v = 0;
        while (v <= 1) {
            /* Acquire: the remove that left a tombstone here read its
             * pair before releasing the slot. */
            if (__atomic_compare_exchange_n(&slots[at], &v, p, 0, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED)) {
                /* The block's free comes after its allocation returned,
                 * so after this store. */
                pairs[at] = pair;
                return 0;
            }
        }
    }
    filter_add(p, -1);
    return -1;
}

int hp_liveset_remove(uintptr_t p, uint32_t *pair)
{
    if (!__atomic_load_n(&slots, __ATOMIC_ACQUIRE) || !hp_liveset_maybe(p))
        return 0;
    uint32_t h = slot_of(p);
    for (uint32_t i = 0; i < PROBE; i++) {
        uint32_t at = (h + i) & mask;
        uintptr_t v = __atomic_load_n(&slots[at], __ATOMIC_ACQUIRE);
        if (v == 0)
            return 0;
        if (v == p) {
            /* Only the block's owner frees it (two racing frees of one
             * block are a double free: both may record it, the analyzer
             * counts the second as unknown), so a store releases the slot;
             * the pair is read before it can be reused. */
            *pair = pairs[at];
            __atomic_store_n(&slots[at], (uintptr_t)1, __ATOMIC_RELEASE);
            filter_add(p, -1);
            return 1;
        }
    }
    return 0;
}
