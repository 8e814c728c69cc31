/*
 * ana_threads.c - 8 threads allocating at once, for ana_threads.sh. Thread i
 * (0..7) allocates 1000 blocks of (i+1)*16 bytes in worker_alloc, frees 900
 * of them and leaks 100: 800 leaked blocks, 57,600 leaked bytes in all.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define THREADS 8

__attribute__((noinline)) void *worker_alloc(size_t size)
{
    return malloc(size);
}

static void *worker(void *arg)
{
    size_t size = ((size_t)(uintptr_t)arg + 1) * 16;
    static __thread void *blocks[1000];
    for (int i = 0; i < 1000; i++)
        blocks[i] = worker_alloc(size);
    for (int i = 0; i < 900; i++)
        free(blocks[i]);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i))
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
