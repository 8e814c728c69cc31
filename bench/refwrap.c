/*
 * refwrap.c - the reference of issue 2's overhead target, built as
 * librefwrap.so: a bare pass-through wrapper of malloc, calloc, realloc and
 * free with one initial-exec thread-local counter ("a bare pass-through
 * wrapper with an initial-exec thread-local counter costs 1.03x on such a
 * churn"). bench/run.sh runs it as mode "wrapper", so that heapprof's
 * default rate is compared with it in the same run, on the same machine.
 * Not part of heapprof.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static __thread uint64_t calls __attribute__((tls_model("initial-exec")));

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym may allocate before the pointers are known: a static bump arena. */
static unsigned char boot[65536] __attribute__((aligned(16)));
static size_t boot_used;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > sizeof boot - boot_used)
        return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p; /* static storage: zero */
}

static int in_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

static void resolve(void)
{
    static int busy;
    if (busy)
        return;
    busy = 1;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    busy = 0;
}

EXPORT void *malloc(size_t n)
{
    calls++;
    if (__builtin_expect(!real_malloc, 0)) {
        resolve();
        if (!real_malloc)
            return boot_alloc(n);
    }
    return real_malloc(n);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
    calls++;
    if (__builtin_expect(!real_malloc, 0)) {
        resolve();
        if (!real_malloc)
            return nmemb && size > SIZE_MAX / nmemb ? NULL : boot_alloc(nmemb * size);
    }
    return real_calloc(nmemb, size);
}

EXPORT void *realloc(void *p, size_t n)
{
    calls++;
    if (__builtin_expect(!real_malloc || in_boot(p), 0)) {
        void *q = malloc(n);
        if (q && p) {
            size_t left = (size_t)(boot + sizeof boot - (const unsigned char *)p);
            memcpy(q, p, n < left ? n : left); /* a boot block: its size is not kept */
        }
        return q;
    }
    return real_realloc(p, n);
}

EXPORT void free(void *p)
{
    calls++;
    if (__builtin_expect(!real_malloc || in_boot(p), 0))
        return;
    real_free(p);
}
