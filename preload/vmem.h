/*
 * vmem.h - the recorder's own memory mappings, kept out of the program's way.
 *
 * Every table and buffer of the recorder is an anonymous mapping. Placed
 * where mmap places the program's mappings, they would move every later
 * mapping of the program, and some programs allocate according to where
 * their mappings land (gcc's cc1 adds a 32 KiB page-table block per 16 MiB
 * region of its garbage-collected pages): profiling would change what the
 * program does. So each mapping asks for an address in a region far below
 * that area, handed out in increasing order.
 */
#ifndef HP_PRELOAD_VMEM_H
#define HP_PRELOAD_VMEM_H

#include <stddef.h>

/*
 * Maps size bytes of zeroed, private, read-write memory (MAP_NORESERVE
 * when noreserve: only touched pages cost memory). The address is a hint:
 * when its range is taken or does not exist, the kernel picks another.
 * Returns NULL on failure. Lock-free, never allocates; async-signal-safe.
 */
void *hp_vmem_map(size_t size, int noreserve);

/*
 * Empties the mapping [at, at + size) made by hp_vmem_map(size, 1): fresh
 * zero pages replace the old ones, which go back without being copied
 * (a fork child drops its parent's tables this way). Returns 0, or -1 when
 * the kernel refused (the range is then unmapped: drop the pointer).
 */
int hp_vmem_zero(void *at, size_t size);

/*
 * Makes the first touch of p's page a write, for memory a thread reads
 * before it writes (a lookup, then an insert). A read of an untouched page
 * maps the shared zero page, and the write after it then takes a second,
 * copy-on-write fault whose TLB flush interrupts every CPU running a
 * thread of the process: 18 us a page on a 2-CPU VM with another thread
 * running, against 1.4 us for a first write. Only for memory that no other
 * thread writes: on x86-64 the or is not atomic.
 */
static inline void hp_vmem_touch(void *p)
{
#if defined(__x86_64__)
    __asm__ volatile("orb $0, %0" : "+m"(*(unsigned char *)p));
#else
    __atomic_fetch_or((unsigned char *)p, 0, __ATOMIC_RELAXED);
#endif
}

#endif
