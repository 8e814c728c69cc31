/*
 * acc_peak: a deterministic program with a known shape of heap use, for the
 * accuracy check against valgrind's DHAT (bench/accuracy.sh,
 * tests/integration/acc_dhat.sh).
 *
 * It builds a working set up to a peak, frees part of it, grows again to a
 * second, higher peak, and frees everything; in between it churns short-lived
 * blocks. It calls every common member of the malloc family (malloc, calloc,
 * realloc, posix_memalign, aligned_alloc, memalign, valloc) and makes one
 * large block that glibc serves with mmap. Everything is freed before exit,
 * so the leak figures should be zero (apart from the C runtime's own
 * buffers, which a native run never frees).
 *
 * It does not use threads; its numbers are the same on every run.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBLOCKS 6000

/* Global so the compiler cannot prove the blocks unused and drop the calls. */
void *hold[NBLOCKS];
volatile unsigned char sink;

static size_t size_of(unsigned i)
{
    return 1 + (i * 2654435761u) % 3000u;
}

static void *get(unsigned i)
{
    void *p = NULL;
    size_t n = size_of(i);

    switch (i % 7) {
    case 0: p = calloc(1 + n / 8, 8); break;
    case 1:
        if (posix_memalign(&p, 64, n) != 0)
            p = NULL;
        break;
    case 2: p = aligned_alloc(32, (n + 31) & ~(size_t)31); break;
    case 3: p = memalign(128, n); break;
    default: p = malloc(n); break;
    }
    if (p == NULL)
        abort();
    memset(p, (int)i, 1);
    return p;
}

int main(void)
{
    unsigned i;

    /* First peak: 4000 blocks. */
    for (i = 0; i < 4000; i++)
        hold[i] = get(i);
    /* Drop every other one. */
    for (i = 0; i < 4000; i += 2) {
        free(hold[i]);
        hold[i] = NULL;
    }
    /* Temporaries: allocated and freed at once. */
    for (i = 0; i < 50000; i++) {
        unsigned char *t = malloc(size_of(i * 7) + 100);
        if (t == NULL)
            abort();
        t[0] = (unsigned char)i;
        sink = t[0];
        free(t);
    }
    /* Grow the odd survivors, then the second, higher peak. */
    for (i = 1; i < 4000; i += 2) {
        void *q = realloc(hold[i], size_of(i) * 2);
        if (q == NULL)
            abort();
        hold[i] = q;
    }
    for (i = 4000; i < NBLOCKS; i++)
        hold[i] = get(i);
    {
        void *v = valloc(10000);
        unsigned char *big = malloc(8u << 20); /* served by mmap */
        if (v == NULL || big == NULL)
            abort();
        memset(big, 1, 4096);
        sink = big[100];
        free(big);
        free(v);
    }
    for (i = 0; i < NBLOCKS; i++)
        free(hold[i]);
    printf("acc_peak done\n");
    return 0;
}
