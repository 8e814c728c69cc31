/*
 * rec_hotpath.c - what the recorder's fast paths must still get right.
 *
 * Phase 1: the main thread mallocs 20000 blocks of 64 bytes; a worker that
 * never allocates frees them all (its first call to the recorder is a
 * free, so the thread attaches on a free, and its counts must reach the
 * trace after it exited). Phase 2: 1000 malloc(24)+free pairs
 * (temporaries), then 1000 pairs with a malloc(8) in between that stays
 * live until the end (not temporaries: the thread allocated again before
 * the free). Phase 3: 100 malloc(0) blocks, freed; free(NULL) 1000 times
 * (not counted). Output: nothing.
 */
#include <pthread.h>
#include <stdlib.h>

#define BLOCKS 20000
#define PAIRS 1000

static void *blocks[BLOCKS];
static void *keep[PAIRS];

static void *free_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < BLOCKS; i++)
        if (!(blocks[i] = malloc(64)))
            return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, free_all, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 3;
    for (int i = 0; i < PAIRS; i++) {
        void *volatile p = malloc(24);
        free(p);
    }
    for (int i = 0; i < PAIRS; i++) {
        void *volatile p = malloc(24);
        keep[i] = malloc(8);
        free(p);
    }
    for (int i = 0; i < 100; i++) {
        void *volatile p = malloc(0);
        free(p);
    }
    for (int i = 0; i < 1000; i++)
        free(NULL);
    for (int i = 0; i < PAIRS; i++)
        free(keep[i]);
    return 0;
}
