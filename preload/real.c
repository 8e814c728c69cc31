/*
 * real.c - resolves the real allocator and serves the bootstrap arena.
 *
 * dlsym() itself may call calloc/malloc before any real function pointer is
 * known; those calls land in a 1 MiB static arena (bump allocator with an
 * 16-byte size header per block, each block at the start of a page).
 * free() and realloc() recognize arena blocks by address (on their slow
 * path, where the page start sends them: tbuf.h, HP_PLACE_MASK) and never
 * pass them to the real allocator. This module
 * does not count or record anything: it only finds the functions.
 */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "guard.h"
#include "heapprof/error.h"

int hp_real_state; /* 0 unresolved, 1 resolving, 2 ready, 3 failed */

/*
 * malloc, calloc, free and realloc start out pointing at these stubs, so the hooks
 * call through hp_real without first testing whether it is resolved (that
 * test would be on every call). A stub resolves everything, then forwards;
 * called re-entrantly by dlsym on the resolving thread it serves the arena.
 */
static void *boot_malloc(size_t n)
{
    hp_guard_enter();
    int rc = hp_real_init();
    hp_guard_leave();
    if (rc == 0)
        return hp_real.malloc(n);
    void *p = hp_real_arena_alloc(n, 16);
    if (!p)
        errno = ENOMEM;
    return p;
}

static void *boot_calloc(size_t nmemb, size_t size)
{
    hp_guard_enter();
    int rc = hp_real_init();
    hp_guard_leave();
    if (rc == 0)
        return hp_real.calloc(nmemb, size);
    size_t n;
    void *p = __builtin_mul_overflow(nmemb, size, &n) ? NULL : hp_real_arena_alloc(n, 16);
    if (!p)
        errno = ENOMEM;
    return p; /* static storage: already zero */
}

static void boot_free(void *p)
{
    if (!p || hp_real_in_arena(p))
        return;
    hp_guard_enter();
    int rc = hp_real_init();
    hp_guard_leave();
    if (rc == 0)
        hp_real.free(p);
}

static void *boot_realloc(void *p, size_t n)
{
    hp_guard_enter();
    int rc = hp_real_init();
    hp_guard_leave();
    if (rc == 0)
        return hp_real.realloc(p, n);
    if (p && !hp_real_in_arena(p)) {
        errno = ENOMEM; /* cannot happen: such a block came from the real malloc */
        return NULL;
    }
    void *q = hp_real_arena_alloc(n, 16);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    if (p) {
        size_t old = hp_real_arena_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

hp_real_t hp_real = {
    .malloc = boot_malloc, .calloc = boot_calloc, .free = boot_free, .realloc = boot_realloc};

#define ARENA_SIZE HP_REAL_ARENA_SIZE
_Alignas(4096) unsigned char hp_real_arena[ARENA_SIZE];
#define arena hp_real_arena
static size_t arena_used;

void *hp_real_arena_alloc(size_t size, size_t align)
{
    if (align < HP_PLACE_ALIGN)
        align = HP_PLACE_ALIGN; /* free()'s fast path must not take it */
    if (size > ARENA_SIZE)
        return NULL;
    size_t old = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
    for (;;) {
        size_t start = (old + 16 + align - 1) & ~(align - 1);
        size_t end = start + ((size + 15) & ~(size_t)15);
        if (end > ARENA_SIZE)
            return NULL;
        if (__atomic_compare_exchange_n(&arena_used, &old, end, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            *(size_t *)(arena + start - 16) = size;
            return arena + start; /* static storage: already zero */
        }
    }
}

size_t hp_real_arena_size(const void *p)
{
    return *(const size_t *)((const unsigned char *)p - 16);
}

#define RESOLVE(name) (*(void **)&hp_real.name = dlsym(RTLD_NEXT, #name))

static __thread int resolving;

int hp_real_init(void)
{
    int st = __atomic_load_n(&hp_real_state, __ATOMIC_ACQUIRE);
    if (st == 2)
        return 0;
    if (resolving)
        return HP_ERR_NOMEM; /* dlsym allocating: the caller uses the arena */
    if (st == 3)
        return HP_ERR_UNSUPPORTED;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&hp_real_state, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        /* Another thread resolves; dlsym is quick. Our caller uses the arena
         * until then if it is the resolving thread itself (state 1). */
        while ((st = __atomic_load_n(&hp_real_state, __ATOMIC_ACQUIRE)) == 1)
            sched_yield();
        return st == 2 ? 0 : HP_ERR_UNSUPPORTED;
    }
    resolving = 1;
    /* The stubbed pointers are replaced only by a resolved function, so a
     * concurrent caller never sees NULL. */
    void *m = dlsym(RTLD_NEXT, "malloc"), *f = dlsym(RTLD_NEXT, "free"),
         *c = dlsym(RTLD_NEXT, "calloc"), *r = dlsym(RTLD_NEXT, "realloc");
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    RESOLVE(memalign);
    RESOLVE(valloc);
    RESOLVE(pvalloc);
    RESOLVE(malloc_usable_size);
    RESOLVE(dlopen);
    RESOLVE(dlclose);
    RESOLVE(execve);
    RESOLVE(execvpe);
    RESOLVE(mmap);
    RESOLVE(munmap);
    RESOLVE(mremap);
    resolving = 0;
    if (m && f && c && r) {
        *(void **)&hp_real.malloc = m;
        *(void **)&hp_real.free = f;
        *(void **)&hp_real.calloc = c;
        *(void **)&hp_real.realloc = r;
    }
    /* An allocator preloaded behind us may lack pvalloc (jemalloc does):
     * then RTLD_NEXT finds glibc's, whose blocks the other allocator's free
     * cannot take. Serve pvalloc from that allocator's memalign instead. */
    Dl_info a, b;
    if (hp_real.pvalloc && hp_real.malloc && dladdr((void *)hp_real.malloc, &a) &&
        dladdr((void *)hp_real.pvalloc, &b) && a.dli_fbase != b.dli_fbase)
        hp_real.pvalloc = NULL;
    int ok = m && f && c && r && hp_real.posix_memalign && hp_real.memalign;
    __atomic_store_n(&hp_real_state, ok ? 2 : 3, __ATOMIC_RELEASE);
    return ok ? 0 : HP_ERR_UNSUPPORTED;
}

unsigned hp_real_spacing_log(void)
{
    Dl_info a;
    if (!hp_real.malloc || !dladdr((void *)hp_real.malloc, &a) || !a.dli_fname)
        return 3;
    const char *slash = strrchr(a.dli_fname, '/');
    return strncmp(slash ? slash + 1 : a.dli_fname, "libc.so", 7) == 0 ? 5 : 3;
}
