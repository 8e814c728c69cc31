/*
 * vmem.c - address hints for the recorder's mappings (vmem.h).
 *
 * A bump pointer from 16 TiB up, in 2 MiB steps, shared by all threads:
 * mmap's top-down search never reaches that far down in a 47-bit address
 * space, and the executable and its brk heap sit far below it. Mappings
 * are never returned to the region (the recorder keeps its tables for the
 * life of the process, and remaps in place to empty them).
 */
#include "vmem.h"

#include <stdint.h>
#include <sys/mman.h>

#define REGION_BASE ((uintptr_t)1 << 44)
#define STEP ((uintptr_t)2 << 20)

static uintptr_t next_hint = REGION_BASE;

void *hp_vmem_map(size_t size, int noreserve)
{
    uintptr_t len = ((uintptr_t)size + STEP - 1) & ~(STEP - 1);
    uintptr_t hint = __atomic_fetch_add(&next_hint, len ? len : STEP, __ATOMIC_RELAXED);
    void *m = mmap((void *)hint, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0), -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

int hp_vmem_zero(void *at, size_t size)
{
    void *m = mmap(at, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return m == MAP_FAILED ? -1 : 0;
}
