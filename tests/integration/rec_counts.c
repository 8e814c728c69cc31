/*
 * rec_counts.c - a known mix of calls whose exact counts must reach the
 * trace at every rate, from threads still alive at exit.
 *
 * Three workers and then the main thread each make the same mix: small
 * mallocs (the fast path, whose calls and bytes the countdown word counts),
 * callocs, reallocs, zero-byte mallocs, large ones (64 KiB and more, counted
 * after the call), a huge one (512 MiB, never taken from the word), one that
 * fails, and an aligned one. The workers then block on a pipe, so their
 * counts since their last sample are still in their words when the main
 * thread calls exit(): the exit flush reads them from another thread.
 *
 * With the argument "big", the main thread mallocs 64 GiB in 64 KiB - 1 byte
 * blocks, freed at once (for the sample count at rates above what the word
 * arms at a time).
 *
 * Output: one line "malloc C B calloc C B realloc C B memalign C B free C",
 * the successful calls and their bytes, as the program counted them.
 */
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define WORKERS 3

typedef struct {
    uint64_t calls, bytes;
} tally_t;

typedef struct {
    tally_t malloc, calloc, realloc, memalign;
    uint64_t frees;
} counts_t;

static counts_t counts[WORKERS + 1];
static int ready[2], never[2];

static void *counted_malloc(counts_t *c, size_t n)
{
    void *p = malloc(n);
    if (p) { /* a call that fails counts nothing */
        c->malloc.calls++;
        c->malloc.bytes += n;
    }
    return p;
}

static void counted_free(counts_t *c, void *p)
{
    if (p)
        c->frees++;
    free(p);
}

static void mix(counts_t *c)
{
    for (int i = 0; i < 200000; i++) { /* about 100 MB: many samples */
        void *p = counted_malloc(c, 1 + (size_t)(i * 7919) % 1000);
        counted_free(c, p);
    }
    for (int i = 0; i < 1000; i++) {
        void *p = calloc(1 + i % 4, 16);
        if (p) {
            c->calloc.calls++;
            c->calloc.bytes += (uint64_t)(1 + i % 4) * 16;
        }
        void *q = realloc(p, 100 + (size_t)i);
        if (q) {
            if (p)
                c->frees++; /* the old block */
            c->realloc.calls++;
            c->realloc.bytes += 100 + (uint64_t)i;
        }
        counted_free(c, q ? q : p);
    }
    for (int i = 0; i < 100; i++)
        counted_free(c, counted_malloc(c, 0));
    for (int i = 0; i < 20; i++)
        counted_free(c, counted_malloc(c, 65536 + (size_t)i * 4096));
    counted_free(c, counted_malloc(c, (size_t)1 << 29)); /* NULL where memory is short */
    if (malloc(SIZE_MAX / 2)) /* fails: counts nothing */
        abort();
    void *a = memalign(64, 200);
    if (a) {
        c->memalign.calls++;
        c->memalign.bytes += 200;
    }
    counted_free(c, a);
    /* And a tail of fast mallocs that no sample follows (at the default
     * rate, 100 bytes in all is most likely below the countdown). */
    for (int i = 0; i < 100; i++)
        counted_free(c, counted_malloc(c, 1));
}

static void *worker(void *arg)
{
    mix(arg);
    char b = 0;
    if (write(ready[1], &b, 1) != 1)
        abort();
    (void)!read(never[0], &b, 1); /* alive until exit */
    return NULL;
}

int main(int argc, char **argv)
{
    if (pipe(ready) != 0 || pipe(never) != 0)
        return 2;
    if (argc > 1 && strcmp(argv[1], "big") == 0) {
        counts_t *c = &counts[WORKERS];
        for (int i = 0; i < (1 << 20); i++)
            counted_free(c, counted_malloc(c, 65535));
    }
    pthread_t th;
    for (int i = 0; i < WORKERS; i++)
        if (pthread_create(&th, NULL, worker, &counts[i]) != 0)
            return 3;
    for (int i = 0; i < WORKERS; i++) {
        char b;
        if (read(ready[0], &b, 1) != 1)
            return 4;
    }
    mix(&counts[WORKERS]);
    counts_t t = {0};
    for (int i = 0; i <= WORKERS; i++) {
        t.malloc.calls += counts[i].malloc.calls, t.malloc.bytes += counts[i].malloc.bytes;
        t.calloc.calls += counts[i].calloc.calls, t.calloc.bytes += counts[i].calloc.bytes;
        t.realloc.calls += counts[i].realloc.calls, t.realloc.bytes += counts[i].realloc.bytes;
        t.memalign.calls += counts[i].memalign.calls, t.memalign.bytes += counts[i].memalign.bytes;
        t.frees += counts[i].frees;
    }
    printf("malloc %llu %llu calloc %llu %llu realloc %llu %llu memalign %llu %llu free %llu\n",
           (unsigned long long)t.malloc.calls, (unsigned long long)t.malloc.bytes,
           (unsigned long long)t.calloc.calls, (unsigned long long)t.calloc.bytes,
           (unsigned long long)t.realloc.calls, (unsigned long long)t.realloc.bytes,
           (unsigned long long)t.memalign.calls, (unsigned long long)t.memalign.bytes,
           (unsigned long long)t.frees);
    fflush(stdout);
    exit(0); /* the workers still block in read() */
}
