/*
 * rec_jemalloc.c - many small blocks side by side, for an allocator that
 * packs 8-byte blocks 8 bytes apart (rec_jemalloc.sh runs it with jemalloc
 * behind the preload). Holds BLOCKS blocks of 8 bytes at once, frees all
 * but KEEP of them, and leaks those: the first LOST of them with no
 * pointer left to them, the others still reachable. Prints nothing.
 */
#include <stdlib.h>

#define BLOCKS 100000
#define KEEP 10
#define LOST 5

static void *block[BLOCKS];

static __attribute__((noinline)) void hold_small(void)
{
    for (int i = 0; i < BLOCKS; i++)
        if (!(block[i] = malloc(8)))
            abort();
}

int main(void)
{
    hold_small();
    for (int i = KEEP; i < BLOCKS; i++)
        free(block[i]);
    for (int i = 0; i < LOST; i++)
        block[i] = NULL;
    return 0;
}
