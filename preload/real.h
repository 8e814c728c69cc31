/*
 * real.h - the functions libheapprof.so forwards to.
 *
 * The real allocator is whatever comes next in the symbol search order
 * (dlsym(RTLD_NEXT)): glibc's malloc, or another allocator preloaded after
 * heapprof, or jemalloc when built with JEMALLOC=1. While the pointers are
 * being resolved, dlsym's own allocations are served from a static
 * bootstrap arena that is never handed to the real allocator.
 */
#ifndef HP_PRELOAD_REAL_H
#define HP_PRELOAD_REAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HP_REAL_ARENA_SIZE (1024u * 1024u)

typedef struct hp_real_s {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    void *(*dlopen)(const char *, int);
    int (*dlclose)(void *);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*mremap)(void *, size_t, size_t, int, ...);
} hp_real_t;

/* The resolved functions. Valid after hp_real_init() returned 0, except
 * malloc, free, calloc and realloc, which start as bootstrap stubs and are
 * always callable. Hidden: the hooks call through it RIP-relative. */
extern hp_real_t hp_real __attribute__((visibility("hidden")));

/*
 * Resolves every pointer of hp_real once (thread-safe, idempotent; a thread
 * that calls it while another resolves waits). Returns 0; HP_ERR_NOMEM when
 * called re-entrantly by dlsym on the resolving thread (serve the request
 * from the arena); HP_ERR_UNSUPPORTED when the real malloc cannot be found.
 */
int hp_real_init(void);

/* Non-zero once hp_real is usable. Never allocates. */
static inline int hp_real_ready(void)
{
    extern int hp_real_state;
    return __atomic_load_n(&hp_real_state, __ATOMIC_ACQUIRE) == 2;
}

/*
 * Bootstrap arena, used only while hp_real_init() runs: returns zeroed memory
 * aligned to align (a power of two <= 4096) or NULL when the arena is full.
 * Its blocks are never freed.
 */
void *hp_real_arena_alloc(size_t size, size_t align);

/* Non-zero when p points into the bootstrap arena. */
static inline int hp_real_in_arena(const void *p)
{
    extern unsigned char hp_real_arena[];
    return (uintptr_t)p - (uintptr_t)hp_real_arena < HP_REAL_ARENA_SIZE;
}

/* Usable size of an arena block (its requested size). */
size_t hp_real_arena_size(const void *p);

/*
 * log2 of the smallest distance between two blocks of the real allocator:
 * 5 for glibc's malloc (16-byte aligned chunks of at least 32 bytes), 3
 * for any other (jemalloc, tcmalloc and mimalloc hand out 8-byte blocks
 * side by side). Valid after hp_real_init() returned 0; takes the loader's
 * lock (dladdr).
 */
unsigned hp_real_spacing_log(void);

#endif
