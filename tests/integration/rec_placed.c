/*
 * rec_placed.c - the malloc family keeps its semantics for the blocks that
 * sampled mode moves to the start of a page (preload/tbuf.h,
 * HP_PLACE_MASK): calloc's zeroes on reused memory, realloc's and
 * reallocarray's contents, the aligned functions' alignment, the usable
 * size; and calloc's zeroes again for small blocks, which a thread keeps
 * for its next samples once the program frees them, and realloc's contents
 * for small blocks, which it keeps when the program resizes them
 * (preload/place.h).
 * rec_placed.sh runs it at a rate where many blocks are sampled.
 *
 * Leaks LEAK_BLOCKS blocks of LEAK_SIZE bytes and frees everything else.
 * Prints how many of its blocks were at a page start; exits with the
 * number of failed checks (0 = all good).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 6000
#define SMALL_ROUNDS 20000
#define RESIZE_ROUNDS 20000
#define LEAK_BLOCKS 4000
#define LEAK_SIZE 8192

static int failures;
static unsigned long at_page;

static void check(int ok, const char *what, size_t n)
{
    if (!ok && failures++ < 10)
        fprintf(stderr, "rec_placed: %s (size %zu)\n", what, n);
}

static void *note(void *p)
{
    if (p && ((uintptr_t)p & 4095) == 0)
        at_page++;
    return p;
}

/* Fills p[0..n) with a pattern of (n, seed). */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (unsigned char)(k * 31 + seed);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] != (unsigned char)(k * 31 + seed))
            return 0;
    return 1;
}

/* Checks that calloc's block c of n bytes came back, zeroed; returns c. */
static unsigned char *zeroed(unsigned char *c, size_t n, const char *what)
{
    check(c != NULL, what, n);
    unsigned char any = 0;
    for (size_t k = 0; c && k < n; k++)
        any |= c[k];
    check(any == 0, "calloc: not zeroed", n);
    return c;
}

static void round_of(int i)
{
    size_t n = 1024 + (size_t)(i * 7919u) % 15360; /* 1 KiB .. 16 KiB */
    size_t align = (size_t)16 << (i % 10);          /* 16 .. 8192 */

    unsigned char *a = note(malloc(n));
    check(a && malloc_usable_size(a) >= n, "malloc", n);
    memset(a, 0xa5, n); /* dirty memory that calloc may get back */
    free(a);

    unsigned char *c = zeroed(note(calloc(1, n)), n, "calloc");

    fill(c, n, (unsigned)i);
    unsigned char *r = note(realloc(c, 2 * n));
    check(r && holds(r, n, (unsigned)i), "realloc grow: contents", 2 * n);
    r = note(realloc(r, n / 2));
    check(r && holds(r, n / 2, (unsigned)i), "realloc shrink: contents", n / 2);
    unsigned char *ra = note(reallocarray(r, n / 16, 24));
    check(ra && holds(ra, n / 2, (unsigned)i), "reallocarray: contents", n / 16 * 24);
    free(ra);

    void *m = note(memalign(align, n));
    check(m && (uintptr_t)m % align == 0 && malloc_usable_size(m) >= n, "memalign", n);
    free(m);
    void *q = NULL;
    check(posix_memalign(&q, align, n) == 0 && (uintptr_t)q % align == 0, "posix_memalign", n);
    free(note(q));
    size_t rounded = (n + align - 1) / align * align;
    void *al = note(aligned_alloc(align, rounded));
    check(al && (uintptr_t)al % align == 0, "aligned_alloc", rounded);
    free(al);
}

/* A small block dirtied and freed, then a calloc of the same size. */
static void small_round(int i)
{
    size_t n = 16 + (size_t)(i * 7919u) % 1000;
    unsigned char *a = note(malloc(n));
    check(a != NULL, "malloc", n);
    memset(a, 0x5a, n);
    free(a);
    free(zeroed(note(calloc(1, n)), n, "calloc (small)"));
}

/* A small block filled, grown or shrunk twice with realloc, then freed. */
static void resize_round(int i)
{
    size_t n = 16 + (size_t)(i * 7919u) % 1000;
    size_t m = 16 + (size_t)(i * 104729u) % 1000;
    unsigned char *a = note(malloc(n));
    check(a != NULL, "malloc", n);
    fill(a, n, (unsigned)i);
    unsigned char *r = note(realloc(a, m));
    size_t kept = n < m ? n : m;
    check(r && malloc_usable_size(r) >= m && holds(r, kept, (unsigned)i),
          "realloc (small): contents", m);
    unsigned char *r2 = note(realloc(r, n));
    check(r2 && malloc_usable_size(r2) >= n && holds(r2, kept, (unsigned)i),
          "realloc (small) back: contents", n);
    free(r2);
}

int main(void)
{
    static unsigned char *leak[LEAK_BLOCKS];
    for (int i = 0; i < ROUNDS; i++)
        round_of(i);
    for (int i = 0; i < SMALL_ROUNDS; i++)
        small_round(i);
    for (int i = 0; i < RESIZE_ROUNDS; i++)
        resize_round(i);
    for (int i = 0; i < LEAK_BLOCKS; i++) {
        leak[i] = note(malloc(LEAK_SIZE));
        check(leak[i] != NULL, "malloc", LEAK_SIZE);
        fill(leak[i], LEAK_SIZE, (unsigned)i);
    }
    for (int i = 0; i < LEAK_BLOCKS; i++)
        check(holds(leak[i], LEAK_SIZE, (unsigned)i), "leaked block: contents", LEAK_SIZE);
    printf("%lu\n", at_page);
    return failures;
}
