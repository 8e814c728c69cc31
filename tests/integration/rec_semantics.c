/*
 * rec_semantics.c - every function of the malloc family keeps glibc's
 * behaviour under the preload: alignment, zeroing, overflow checks,
 * realloc's edge cases, errno; and so do the mapping calls it hooks. Prints one line per failed check and exits
 * with the number of failures (0 = all good). rec_semantics.sh runs it
 * unprofiled, in full mode and in sampled mode.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
static void *volatile sink;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "rec_semantics:%d: %s\n", __LINE__, #cond);                            \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* Hides a size from the optimizer, so overflow checks happen at run time. */
static size_t opaque(size_t v)
{
    __asm__("" : "+r"(v));
    return v;
}

/* Hides a pointer from the optimizer: a failed realloc leaves the block
 * valid, which -Wuse-after-free cannot know. */
static void *opaque_ptr(void *p)
{
    __asm__("" : "+r"(p));
    return p;
}

/* mmap, mmap64, munmap and mremap (hooked for the leak scan) keep the
 * system's results and errno. */
static void check_mappings(size_t pg)
{
    errno = EILSEQ;
    unsigned char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    CHECK(m != MAP_FAILED && m[0] == 0 && m[2 * pg - 1] == 0 && errno == EILSEQ);
    if (m == MAP_FAILED)
        return;
    m[0] = 7;
    m[2 * pg - 1] = 9;
    unsigned char *g = mremap(m, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
    CHECK(g != MAP_FAILED && g[0] == 7 && g[2 * pg - 1] == 9 && g[64 * pg - 1] == 0);
    if (g != MAP_FAILED)
        m = g;
    unsigned char *to = mmap64(NULL, 128 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(to != MAP_FAILED);
    if (to != MAP_FAILED) {
        g = mremap(m, 64 * pg, 64 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, to + 32 * pg);
        CHECK(g == to + 32 * pg && g[0] == 7);
        if (g == to + 32 * pg)
            m = g;
        /* Growing in place into the mapping after it fails, m untouched. */
        errno = 0;
        CHECK(mremap(to, 32 * pg, 33 * pg, 0) == MAP_FAILED && errno == ENOMEM);
        CHECK(munmap(to, 32 * pg) == 0 && munmap(to + 96 * pg, 32 * pg) == 0);
    }
    errno = 0;
    CHECK(mmap(NULL, pg, PROT_READ, MAP_PRIVATE, -1, 0) == MAP_FAILED && errno == EBADF);
    errno = 0;
    CHECK(mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1) == MAP_FAILED &&
          errno == EINVAL);
    errno = 0;
    CHECK(munmap(m + 1, pg) == -1 && errno == EINVAL);
    errno = EILSEQ;
    CHECK(munmap(m, 64 * pg) == 0 && errno == EILSEQ);
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);

    /* malloc: 16-byte alignment, malloc(0) is a unique freeable pointer,
     * huge requests fail with ENOMEM. */
    for (size_t n = 0; n < 5000; n += 37) {
        char *p = malloc(n);
        CHECK(p != NULL);
        CHECK(aligned(p, 16));
        CHECK(malloc_usable_size(p) >= n);
        memset(p, 0xab, n);
        free(p);
    }
    errno = 0;
    sink = malloc(opaque(SIZE_MAX - 4096));
    CHECK(sink == NULL && errno == ENOMEM);
    free(NULL);

    /* calloc: zeroed even when the memory is reused; overflow -> ENOMEM. */
    for (int round = 0; round < 50; round++) {
        size_t n = 64 + (size_t)round * 1000;
        char *d = malloc(n * 8);
        memset(d, 0x5a, n * 8);
        free(d);
        unsigned char *z = calloc(n, 8);
        CHECK(z != NULL);
        size_t bad = 0;
        for (size_t i = 0; i < n * 8; i++)
            bad += z[i] != 0;
        CHECK(bad == 0);
        free(z);
    }
    errno = 0;
    sink = calloc(opaque(SIZE_MAX / 2), 3);
    CHECK(sink == NULL && errno == ENOMEM);
    sink = calloc(0, 10);
    CHECK(sink != NULL);
    free(sink);

    /* realloc: NULL acts as malloc, growth and shrink keep contents,
     * size 0 frees and returns NULL, failure leaves the block intact. */
    char *r = realloc(NULL, 100);
    CHECK(r != NULL);
    for (int i = 0; i < 100; i++)
        r[i] = (char)i;
    r = realloc(r, 100000);
    CHECK(r != NULL);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= r[i] == (char)i;
    CHECK(same);
    r = realloc(r, 10);
    CHECK(r != NULL && r[9] == 9);
    errno = 0;
    char *fail = realloc(opaque_ptr(r), opaque(SIZE_MAX - 4096));
    CHECK(fail == NULL && errno == ENOMEM);
    CHECK(r[9] == 9);
    sink = realloc(r, 0);
    CHECK(sink == NULL);

    /* reallocarray: overflow -> ENOMEM and the block is untouched. */
    int *a = reallocarray(NULL, 10, sizeof(int));
    CHECK(a != NULL);
    a[9] = 42;
    errno = 0;
    int *b = reallocarray(opaque_ptr(a), opaque(SIZE_MAX / 2), 4);
    CHECK(b == NULL && errno == ENOMEM && a[9] == 42);
    a = reallocarray(a, 1000, sizeof(int));
    CHECK(a != NULL && a[9] == 42);
    free(a);

    /* posix_memalign: every power-of-two alignment; EINVAL for bad ones;
     * it returns the error, and leaves *out alone on failure. */
    for (size_t al = sizeof(void *); al <= 65536; al *= 2) {
        void *p = NULL;
        CHECK(posix_memalign(&p, al, 100) == 0);
        CHECK(p != NULL && aligned(p, al));
        free(p);
    }
    void *keep = (void *)0x1234;
    CHECK(posix_memalign(&keep, opaque(24), 100) == EINVAL);
    CHECK(posix_memalign(&keep, opaque(2), 100) == EINVAL);
    CHECK(keep == (void *)0x1234);
    CHECK(posix_memalign(&keep, 64, opaque(SIZE_MAX - 4096)) == ENOMEM);

    /* aligned_alloc, memalign, valloc, pvalloc. */
    for (size_t al = 1; al <= 8192; al *= 2) {
        void *p = aligned_alloc(al, al * 3);
        CHECK(p != NULL && aligned(p, al));
        free(p);
        p = memalign(al, 77);
        CHECK(p != NULL && aligned(p, al));
        free(p);
    }
    void *v = valloc(10);
    CHECK(v != NULL && aligned(v, (size_t)page));
    free(v);
    void *pv = pvalloc(10);
    CHECK(pv != NULL && aligned(pv, (size_t)page) && malloc_usable_size(pv) >= (size_t)page);
    free(pv);
    errno = 0;
    sink = memalign(64, opaque(SIZE_MAX - 4096));
    CHECK(sink == NULL && errno == ENOMEM);

    /* libc's own allocations (strdup, stdio) round-trip through the hooks. */
    char *s = strdup("heapprof");
    CHECK(s && strcmp(s, "heapprof") == 0);
    free(s);
    char *line = NULL;
    size_t cap = 0;
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    if (f) {
        CHECK(getline(&line, &cap, f) > 0);
        fclose(f);
    }
    free(line);

    /* Successful calls leave errno alone (free must, per POSIX.1-2024). */
    int errno_kept = 1;
    for (int i = 0; i < 20000; i++) {
        errno = EILSEQ;
        void *p = malloc((size_t)i % 300);
        sink = p;
        free(p);
        errno_kept &= errno == EILSEQ;
    }
    CHECK(errno_kept);

    check_mappings((size_t)page);

    if (failures == 0)
        printf("rec_semantics: all checks passed\n");
    return failures;
}
