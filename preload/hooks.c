/*
 * hooks.c - the exported malloc family, mmap/munmap/mremap, dlopen/dlclose,
 * exec*, heapprof_*.
 *
 * Every hook forwards to the real function (real.h) with its exact
 * semantics - return value, errno, alignment, zeroing, overflow checks all
 * come from the real allocator - and then tells tbuf.h what happened. A
 * failed call counts nothing. Allocations made while the reentrancy guard
 * is held (the profiler's own) are forwarded only. Frees are accounted
 * before the real free, so a concurrent allocation that reuses the address
 * is always recorded after it. This file holds no state and makes no
 * recording decisions.
 *
 * posix_spawn and system() create their child inside libc (clone + an
 * internal execve), which no hook here sees: such children are profiled
 * only if they inherit LD_PRELOAD (with HEAPPROF_NO_CHILDREN=1 they find
 * out at init that they are children, init.c), and the parent's trace is
 * not flushed first (it does not need to be: the parent keeps running).
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard.h"
#include "heapprof/error.h"
#include "heapprof/heapprof.h"
#include "init.h"
#include "progmaps.h"
#include "real.h"
#include "tbuf.h"

#define HP_EXPORT __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Resolves the real functions; returns -1 when the caller must use the
 * bootstrap arena instead (dlsym is allocating on this very thread). */
static int boot(void)
{
    hp_guard_enter();
    int rc = hp_real_init();
    hp_guard_leave();
    return rc == 0 ? 0 : -1;
}

static void *arena(size_t n, size_t align)
{
    void *p = hp_real_arena_alloc(n, align);
    if (!p)
        errno = ENOMEM;
    return p;
}

/*
 * malloc, calloc, free and realloc are the hot path: no test of "resolved"
 * (the pointers start as bootstrap stubs, real.c) and none of the guard (a
 * held guard parks the countdown and free()'s mask, so a guarded call takes
 * the slow half, which forwards it uncounted).
 *
 * A request of 1 to TAIL_MAX - 1 bytes that is not sampled is counted
 * before the real call, which then ends the hook as a tail call: no frame
 * of ours around the allocator. Such a request refused by the allocator
 * (out of memory) is still counted, as a call and its bytes. Larger
 * requests, zero-byte ones (which count one byte towards the countdown,
 * tbuf.h) and every request in full mode (each one is sampled) are counted
 * after a successful call only: a failed call counts nothing.
 */
#define TAIL_MAX ((size_t)1 << 16)

/* The fast takes are made in the word (countdown.h). */
_Static_assert(TAIL_MAX <= HP_CD_BIG, "a fast take must fit the countdown word");

/* n is 0 or TAIL_MAX or more: one compare (n - 1 wraps for 0). */
#define NOT_TAIL(n) UNLIKELY((n) - 1 >= TAIL_MAX - 1)

/* The result p of a call counted after it: a failed call counts nothing. */
static inline void *counted_after(int fn, void *p, size_t n)
{
    return UNLIKELY(!p) ? p : hp_tbuf_alloc(fn, p, n);
}

/* The result p of a call whose n bytes crossed the countdown before it
 * (take hp_cd_take(n)): sampled, or the take given back when the call
 * failed. Not to a parked word (a guarded call): it would drift up from
 * where every call crosses it. */
static inline void *crossed_before(int fn, void *p, size_t n)
{
    if (UNLIKELY(!p)) {
        if (hp_tls.countdown >= HP_CD_REAL_MIN)
            hp_tbuf_untake(hp_cd_take(n));
        return p;
    }
    return hp_tbuf_alloc_slow(fn, p, n);
}

/* Large and zero-byte requests. */
__attribute__((noinline)) static void *malloc_exact(size_t n)
{
    return counted_after(HP_FN_MALLOC, hp_real.malloc(n), n);
}

/* The call part of the fast take goes back first: the slow half counts
 * the call itself. */
__attribute__((noinline)) static void *malloc_crossed(size_t n)
{
    hp_tbuf_untake(1);
    return crossed_before(HP_FN_MALLOC, hp_real.malloc(n), n);
}

/* The take counts the call and its bytes too (countdown.h). */
HP_EXPORT void *malloc(size_t n)
{
    if (NOT_TAIL(n))
        return malloc_exact(n);
    if (UNLIKELY(hp_tbuf_take_nz(&hp_tls.countdown, hp_cd_malloc_take(n))))
        return malloc_crossed(n);
    return hp_real.malloc(n);
}

/* Large and zero-byte requests, and nmemb * size overflows. */
__attribute__((noinline)) static void *calloc_exact(size_t nmemb, size_t size)
{
    return counted_after(HP_FN_CALLOC, hp_real.calloc(nmemb, size), nmemb * size);
}

__attribute__((noinline)) static void *calloc_crossed(size_t nmemb, size_t size)
{
    return crossed_before(HP_FN_CALLOC, hp_real.calloc(nmemb, size), nmemb * size);
}

HP_EXPORT void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (UNLIKELY(__builtin_mul_overflow(nmemb, size, &n)) || NOT_TAIL(n))
        return calloc_exact(nmemb, size);
    if (UNLIKELY(hp_tbuf_take_nz(&hp_tls.countdown, hp_cd_take(n))))
        return calloc_crossed(nmemb, size);
    hp_tbuf_count(HP_FN_CALLOC, n);
    return hp_real.calloc(nmemb, size);
}

/* Accounts the free of p; returns whether p was a recorded block. */
static inline int account_free(void *p)
{
    uint32_t pair = 0;
    int tracked = hp_tbuf_free_begin(p, &pair);
    hp_tbuf_free_end(p, tracked, pair);
    return tracked;
}

/* Everything free()'s test sends here: NULL, arena blocks, a held guard,
 * an unattached thread, a pointer that may be recorded; and every free in
 * full mode or at rates below HP_PLACE_MIN_RATE. A recorded block may be
 * kept for a later sample instead of freed (tbuf.h). */
__attribute__((noinline)) static void free_slow(void *p)
{
    if (!p || hp_real_in_arena(p))
        return;
    if (!hp_guard_active() && account_free(p) && hp_tbuf_keep(p))
        return;
    hp_real.free(p);
}

/* One test of the address against the thread's mask (tbuf.h), which NULL,
 * the arena's blocks, recorded blocks, a held guard and an unattached
 * thread all fail; then a count and a tail call. */
HP_EXPORT void free(void *p)
{
    if (UNLIKELY(!hp_tbuf_free_fast(p))) {
        free_slow(p);
        return;
    }
    hp_tbuf_add(&hp_tls.counters.calls[HP_FN_FREE], 1);
    hp_real.free(p);
}

/*
 * realloc of p, a recorded block of the kind a thread keeps for its next
 * sample (tbuf.h), with old usable bytes: a new block, a copy and p kept
 * (freed when the thread's list is full), which realloc may always do
 * instead of resizing in place. Without it a program that resizes its
 * blocks sends every sample it resizes back to the allocator, and the next
 * sample needs a page-aligned block again (in the churn benchmark, one
 * sample in eight).
 */
static void *realloc_keeping(void *p, size_t old, size_t n, int fn,
                             void *(*call)(void *, size_t, size_t), size_t a, size_t b,
                             uint32_t pair)
{
    void *q = call(NULL, a, b);
    if (!q) { /* failed: p is untouched, nothing happened */
        hp_tbuf_free_abort(p, 1, pair);
        return NULL;
    }
    memcpy(q, p, old < n ? old : n);
    hp_tbuf_free_end(p, 1, pair);
    if (!hp_tbuf_keep(p))
        hp_real.free(p);
    return hp_tbuf_alloc(fn, q, n);
}

/* realloc/reallocarray share this: real is the call to make. */
static void *realloc_common(void *p, size_t n, int fn, void *(*call)(void *, size_t, size_t),
                            size_t a, size_t b)
{
    if (!p) {
        void *q = call(NULL, a, b);
        if (q && !hp_guard_active())
            q = hp_tbuf_alloc(fn, q, n);
        return q;
    }
    if (hp_guard_active())
        return call(p, a, b);
    uint32_t pair = 0;
    int tracked = hp_tbuf_free_begin(p, &pair);
    size_t old = tracked && n != 0 ? hp_tbuf_keepable(p) : 0;
    if (old)
        return realloc_keeping(p, old, n, fn, call, a, b, pair);
    void *q = call(p, a, b);
    if (!q && n != 0) { /* failed: p is untouched, nothing happened */
        hp_tbuf_free_abort(p, tracked, pair);
        return NULL;
    }
    hp_tbuf_free_end(p, tracked, pair);
    if (q)
        q = hp_tbuf_alloc(fn, q, n);
    return q;
}

static void *call_realloc(void *p, size_t a, size_t b)
{
    (void)b;
    return hp_real.realloc(p, a);
}

static void *arena_realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q && p) {
        size_t old = hp_real_arena_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

/* What free()'s test sends here, and sizes 0 (realloc(p, 0) frees p) and
 * TAIL_MAX or more: counted after the call. */
__attribute__((noinline)) static void *realloc_slow(void *p, size_t n)
{
    if (UNLIKELY(p && hp_real_in_arena(p)))
        return arena_realloc(p, n);
    return realloc_common(p, n, HP_FN_REALLOC, call_realloc, n, 0);
}

/* p is unrecorded and the thread attached; the countdown was crossed. */
__attribute__((noinline)) static void *realloc_crossed(void *p, size_t n)
{
    void *q = hp_real.realloc(p, n);
    if (q) /* else failed: p is untouched */
        hp_tbuf_add(&hp_tls.counters.calls[HP_FN_FREE], 1);
    return crossed_before(HP_FN_REALLOC, q, n);
}

/* The same test as free() selects the slow path; hp_real.realloc starts as
 * a bootstrap stub like malloc's. */
HP_EXPORT void *realloc(void *p, size_t n)
{
    if (UNLIKELY(!hp_tbuf_free_fast(p)) || NOT_TAIL(n))
        return realloc_slow(p, n);
    if (UNLIKELY(hp_tbuf_take_nz(&hp_tls.countdown, hp_cd_take(n))))
        return realloc_crossed(p, n);
    hp_tbuf_add(&hp_tls.counters.calls[HP_FN_FREE], 1);
    hp_tbuf_count(HP_FN_REALLOC, n);
    return hp_real.realloc(p, n);
}

HP_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    if (UNLIKELY(!hp_real_ready()) && boot())
        return arena_realloc(p, n);
    if (UNLIKELY(p && hp_real_in_arena(p)))
        return arena_realloc(p, n);
    /* glibc's reallocarray is the overflow check above plus a call to
     * realloc through the PLT - which would reach our realloc hook and count
     * the call twice - so call the real realloc directly. */
    return realloc_common(p, n, HP_FN_REALLOCARRAY, call_realloc, n, 0);
}

HP_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (UNLIKELY(!hp_real_ready()) && boot()) {
        if (align < sizeof(void *) || (align & (align - 1)))
            return EINVAL;
        void *p = hp_real_arena_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    int rc = hp_real.posix_memalign(out, align, n);
    if (rc == 0 && !hp_guard_active())
        *out = hp_tbuf_alloc(HP_FN_POSIX_MEMALIGN, *out, n);
    return rc;
}

HP_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (UNLIKELY(!hp_real_ready()) && boot())
        return arena(n, align);
    void *p = hp_real.aligned_alloc ? hp_real.aligned_alloc(align, n) : hp_real.memalign(align, n);
    if (p && !hp_guard_active())
        p = hp_tbuf_alloc(HP_FN_ALIGNED_ALLOC, p, n);
    return p;
}

HP_EXPORT void *memalign(size_t align, size_t n)
{
    if (UNLIKELY(!hp_real_ready()) && boot())
        return arena(n, align);
    void *p = hp_real.memalign(align, n);
    if (p && !hp_guard_active())
        p = hp_tbuf_alloc(HP_FN_MEMALIGN, p, n);
    return p;
}

HP_EXPORT void *valloc(size_t n)
{
    if (UNLIKELY(!hp_real_ready()) && boot())
        return arena(n, 4096);
    void *p = hp_real.valloc(n);
    if (p && !hp_guard_active())
        p = hp_tbuf_alloc(HP_FN_VALLOC, p, n);
    return p;
}

HP_EXPORT void *pvalloc(size_t n)
{
    if (UNLIKELY(!hp_real_ready()) && boot())
        return arena(n, 4096);
    void *p;
    if (hp_real.pvalloc) {
        p = hp_real.pvalloc(n);
    } else {
        size_t page = (size_t)sysconf(_SC_PAGESIZE), r;
        if (__builtin_add_overflow(n, page - 1, &r)) {
            errno = ENOMEM;
            return NULL;
        }
        p = hp_real.memalign(page, (r & ~(page - 1)) ? (r & ~(page - 1)) : page);
    }
    if (p && !hp_guard_active())
        p = hp_tbuf_alloc(HP_FN_PVALLOC, p, n);
    return p;
}

HP_EXPORT size_t malloc_usable_size(void *p)
{
    if (p && hp_real_in_arena(p))
        return hp_real_arena_size(p);
    if (UNLIKELY(!hp_real_ready()) && boot())
        return 0;
    return hp_real.malloc_usable_size(p);
}

/* ---- mappings: forwarded, and reported to progmaps.h for the leak scan ----
 * Until the real functions are resolved (malloc resolves them), the system
 * call itself: these hooks never start the resolution. */

HP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = hp_real_ready() ? hp_real.mmap(addr, len, prot, flags, fd, off)
                              : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    if (hp_progmaps_noting() && p != MAP_FAILED)
        hp_progmaps_mapped(p, len, flags, __builtin_return_address(0));
    return p;
}

/* The same function where off_t has 64 bits, as in glibc. */
_Static_assert(sizeof(off_t) == 8, "mmap64 is mmap only where off_t has 64 bits");
HP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
    __attribute__((alias("mmap")));

HP_EXPORT int munmap(void *addr, size_t len)
{
    int rc = hp_real_ready() ? hp_real.munmap(addr, len) : (int)syscall(SYS_munmap, addr, len);
    if (hp_progmaps_noting() && rc == 0)
        hp_progmaps_unmapped(addr, len);
    return rc;
}

/* new_address is there only with MREMAP_FIXED (glibc reads it the same way). */
HP_EXPORT void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
    void *want = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        want = va_arg(ap, void *);
        va_end(ap);
    }
    void *p = hp_real_ready() ? hp_real.mremap(old, oldlen, newlen, flags, want)
                              : (void *)syscall(SYS_mremap, old, oldlen, newlen, flags, want);
    if (hp_progmaps_noting() && p != MAP_FAILED)
        hp_progmaps_remapped(old, oldlen, p, newlen, flags);
    return p;
}

/* ---- dynamic loading: refresh the module map ---- */

HP_EXPORT void *dlopen(const char *file, int flags)
{
    if (UNLIKELY(!hp_real_ready()) && boot())
        return NULL;
    void *h = hp_real.dlopen(file, flags);
    if (h && !hp_guard_active())
        hp_init_modules_refresh();
    return h;
}

HP_EXPORT int dlclose(void *h)
{
    if (UNLIKELY(!hp_real_ready()) && boot())
        return -1;
    int rc = hp_real.dlclose(h);
    if (rc == 0 && !hp_guard_active())
        hp_init_modules_refresh();
    return rc;
}

/* ---- exec: flush first; with HEAPPROF_NO_CHILDREN=1, drop the preload ---- */

/* Is this LD_PRELOAD token our library? */
static int is_us(const char *tok, size_t len)
{
    static const char name[] = "libheapprof.so";
    const size_t nl = sizeof name - 1;
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(tok + i, name, nl) == 0)
            return 1;
    return 0;
}

/* Copies LD_PRELOAD=value without our library into dst (room: strlen(src)+1).
 * Returns 0 when nothing is left (the variable is then dropped). */
static int strip_preload(const char *src, char *dst)
{
    const char *v = src + sizeof "LD_PRELOAD=" - 1;
    size_t n = (size_t)(v - src);
    memcpy(dst, src, n);
    int kept = 0;
    while (*v) {
        size_t len = strcspn(v, ": ");
        if (len && !is_us(v, len)) {
            if (kept)
                dst[n++] = ':';
            memcpy(dst + n, v, len);
            n += len;
            kept++;
        }
        v += len;
        if (*v)
            v++;
    }
    dst[n] = 0;
    return kept;
}

static int preload_index(char *const envp[])
{
    for (int i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0)
            return i;
    return -1;
}

/* Calls real with envp, or with a stack copy of envp whose LD_PRELOAD no
 * longer names us when HEAPPROF_NO_CHILDREN=1 (no allocation; the caller's
 * strings are not modified). */
static int exec_common(const char *path, char *const argv[], char *const envp[], int search)
{
    if (UNLIKELY(!hp_real_ready()) && boot()) {
        errno = ENOSYS;
        return -1;
    }
    int (*call)(const char *, char *const[], char *const[]) =
        search ? hp_real.execvpe : hp_real.execve;
    if (!call) {
        errno = ENOSYS;
        return -1;
    }
    hp_init_exec_prepare();
    int rc, err;
    int at = hp_init_no_children() ? preload_index(envp) : -1;
    if (at >= 0) {
        int n = 0;
        while (envp[n])
            n++;
        char *env2[n + 1];
        char var[strlen(envp[at]) + 1];
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (i == at) {
                if (!strip_preload(envp[i], var))
                    continue;
                env2[k++] = var;
            } else {
                env2[k++] = envp[i];
            }
        }
        env2[k] = NULL;
        rc = call(path, argv, env2);
    } else {
        rc = call(path, argv, envp);
    }
    err = errno;
    hp_init_exec_failed();
    errno = err;
    return rc;
}

HP_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return exec_common(path, argv, envp, 0);
}

HP_EXPORT int execv(const char *path, char *const argv[])
{
    return exec_common(path, argv, environ, 0);
}

HP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return exec_common(file, argv, envp, 1);
}

HP_EXPORT int execvp(const char *file, char *const argv[])
{
    return exec_common(file, argv, environ, 1);
}

/* Counts the variadic arguments up to the terminating NULL. */
#define COUNT_ARGS(first, ap, n)                                                                   \
    do {                                                                                           \
        va_list c_;                                                                                \
        va_copy(c_, ap);                                                                           \
        n = 1;                                                                                     \
        if (first)                                                                                 \
            while (va_arg(c_, const char *))                                                       \
                n++;                                                                               \
        va_end(c_);                                                                                \
    } while (0)

/* glibc declares the first exec argument nonnull, but a caller may still
 * pass NULL (an empty argv); hide the value from the optimizer. */
static inline const char *launder(const char *p)
{
    __asm__("" : "+r"(p));
    return p;
}

/* Declares char *argv[] holding arg and the variadic arguments up to their
 * NULL (consumed from ap), and a0, the laundered arg. execl* share it. */
#define EXEC_ARGV(argv, a0, arg, ap)                                                               \
    const char *a0 = launder(arg);                                                                 \
    int argc_;                                                                                     \
    COUNT_ARGS(a0, ap, argc_);                                                                     \
    char *argv[argc_ + 1];                                                                         \
    argv[0] = (char *)a0;                                                                          \
    for (int i_ = 1; i_ < argc_; i_++)                                                             \
        argv[i_] = va_arg(ap, char *);                                                             \
    argv[a0 ? argc_ : 0] = NULL

HP_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    EXEC_ARGV(argv, a0, arg, ap);
    va_end(ap);
    return exec_common(path, argv, environ, 0);
}

HP_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    EXEC_ARGV(argv, a0, arg, ap);
    va_end(ap);
    return exec_common(file, argv, environ, 1);
}

HP_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    EXEC_ARGV(argv, a0, arg, ap);
    if (a0)
        (void)va_arg(ap, char *); /* the NULL */
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return exec_common(path, argv, envp, 0);
}

/* ---- load and unload of libheapprof.so ---- */

/* In this file (not init.c) so that unit tests, which link every preload
 * object but this one, do not start recording themselves. */
__attribute__((constructor)) static void hooks_at_load(void)
{
    hp_init_at_load();
}

__attribute__((destructor)) static void hooks_at_exit(void)
{
    hp_init_at_exit();
}

/* ---- optional API ---- */

HP_EXPORT int heapprof_active(void)
{
    return hp_init_state_get() == HP_ST_RECORDING;
}

HP_EXPORT int heapprof_flush(void)
{
    if (hp_init_state_get() != HP_ST_RECORDING)
        return HP_ERR_IO;
    hp_guard_enter();
    int rc = hp_tbuf_flush_self();
    hp_guard_leave();
    return rc;
}
