/*
 * liveset.c - lock-free set of sampled block addresses.
 *
 * 2^22 slots of 8 bytes in an anonymous MAP_NORESERVE mapping (only touched
 * pages cost memory). Slot values: 0 empty, 1 tombstone, else an address.
 * A key lives at one of PROBE consecutive slots after its hash; an insert
 * takes the first empty or tombstone slot by CAS, a remove CASes the key to
 * a tombstone. Keys are unique (a live block has one address), so reusing
 * tombstones cannot create duplicates. It does not grow: a full window
 * means the block goes untracked (it then looks leaked; see
 * docs/sampling.md). In front of the table, a counting filter (one 16-bit
 * counter per hash bucket of addresses, saturating) answers "certainly
 * absent" for most unsampled frees with one cached load; saturated
 * ("pinned") buckets also route NULL, bootstrap arena blocks and, in full
 * mode, every pointer to free()'s slow path. It does not
 * allocate or lock.
 */
#include "liveset.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "heapprof/error.h"

#define SLOTS_LOG 22
#define SLOTS (1u << SLOTS_LOG)
#define PROBE 64

long hp_liveset_n;
uint16_t hp_liveset_filter[1u << HP_LIVESET_FILTER_LOG];
static uintptr_t *slots;

static inline uint16_t *filter_of(uintptr_t p)
{
    return &hp_liveset_filter[((uint64_t)p * 0x9e3779b97f4a7c15u) >> (64 - HP_LIVESET_FILTER_LOG)];
}

static void filter_add(uintptr_t p, int d)
{
    uint16_t *f = filter_of(p), v = __atomic_load_n(f, __ATOMIC_RELAXED);
    /* A saturated counter stays saturated: the bucket then always probes. */
    while (v != UINT16_MAX && !__atomic_compare_exchange_n(f, &v, (uint16_t)(v + d), 0,
                                                           __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

int hp_liveset_init(void)
{
    if (slots)
        return 0;
    void *m = mmap(NULL, (size_t)SLOTS * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return HP_ERR_NOMEM;
    slots = m;
    return 0;
}

void hp_liveset_reset(void)
{
    if (!slots)
        return;
    /* Fresh zero pages; the old ones go back without being copied. */
    void *m = mmap(slots, (size_t)SLOTS * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (m == MAP_FAILED)
        slots = NULL;
    for (size_t i = 0; i < sizeof hp_liveset_filter / sizeof hp_liveset_filter[0]; i++)
        if (hp_liveset_filter[i] != UINT16_MAX)
            hp_liveset_filter[i] = 0;
    __atomic_store_n(&hp_liveset_n, 0, __ATOMIC_RELAXED);
}

void hp_liveset_pin(uintptr_t p)
{
    __atomic_store_n(filter_of(p), UINT16_MAX, __ATOMIC_RELEASE);
}

void hp_liveset_saturate(void)
{
    memset(hp_liveset_filter, 0xff, sizeof hp_liveset_filter);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/*
 * The home slot keeps address locality: within one 64 MiB window (SLOTS
 * granules of 16 bytes) nearby blocks get nearby slots, so a program whose
 * heap spans a few MiB touches a few pages of the table instead of one
 * page per sample (each first touch is a page fault: thousands per second
 * at the default rate). Windows are spread by a multiplicative hash of the
 * window number, so equal offsets in different windows (thread arenas) do
 * not collide.
 */
static inline uint32_t slot_of(uintptr_t p)
{
    uint64_t win = (uint64_t)p >> (4 + SLOTS_LOG);
    return (uint32_t)(((uint64_t)p >> 4) + win * 0x9e3779b1u) & (SLOTS - 1);
}

int hp_liveset_insert(uintptr_t p)
{
    if (!slots)
        return -1;
    uint32_t h = slot_of(p);
    filter_add(p, 1); /* before the slot: a remove that finds p sees the filter */
    for (uint32_t i = 0; i < PROBE; i++) {
        uintptr_t *s = &slots[(h + i) & (SLOTS - 1)];
        uintptr_t v = __atomic_load_n(s, __ATOMIC_RELAXED);
        while (v <= 1) {
            if (__atomic_compare_exchange_n(s, &v, p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
                __atomic_fetch_add(&hp_liveset_n, 1, __ATOMIC_RELAXED);
                return 0;
            }
        }
    }
    filter_add(p, -1);
    return -1;
}

int hp_liveset_remove(uintptr_t p)
{
    if (!slots || !hp_liveset_maybe(p))
        return 0;
    uint32_t h = slot_of(p);
    for (uint32_t i = 0; i < PROBE; i++) {
        uintptr_t *s = &slots[(h + i) & (SLOTS - 1)];
        uintptr_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);
        if (v == 0)
            return 0;
        if (v == p) {
            if (__atomic_compare_exchange_n(s, &v, (uintptr_t)1, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED)) {
                __atomic_fetch_sub(&hp_liveset_n, 1, __ATOMIC_RELAXED);
                filter_add(p, -1);
                return 1;
            }
            return 0; /* a racing free of the same block: not ours to record */
        }
    }
    return 0;
}
