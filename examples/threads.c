/*
 * threads.c - four threads allocating at once; one of them leaks.
 *
 *   heapprof --leak-check ./threads      # fails: 1 leak, 10 blocks of 1000 bytes
 *
 * Each worker allocates an array and 1000 blocks of 256 bytes (worker_fill)
 * and frees them, and worker 2 also keeps 10 blocks of 1000 bytes that it
 * never frees (worker_leak). Allocation calls by the workers: 4 x 1001 + 10
 * = 4014 (a full trace also counts the 4 threads' TLS blocks and stdout's
 * buffer: 4019).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 4
#define BLOCKS 1000

__attribute__((noinline)) static void worker_leak(void)
{
    for (int i = 0; i < 10; i++) {
        char *p = malloc(1000); /* LEAK */
        if (p)
            memset(p, i, 1000);
    }
}

__attribute__((noinline)) static long worker_fill(int id)
{
    char **v = malloc(BLOCKS * sizeof(char *)); /* WORKER ARRAY */
    long sum = 0;
    if (!v)
        return 0;
    for (int i = 0; i < BLOCKS; i++) {
        v[i] = malloc(256); /* WORKER */
        if (v[i]) {
            memset(v[i], id, 256);
            sum += v[i][255];
        }
    }
    for (int i = 0; i < BLOCKS; i++)
        free(v[i]);
    free(v);
    return sum;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    long sum = worker_fill(id);
    if (id == 2)
        worker_leak();
    return (void *)sum;
}

int main(void)
{
    pthread_t t[WORKERS];
    long total = 0;
    for (long i = 0; i < WORKERS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 1;
    for (int i = 0; i < WORKERS; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (long)r;
    }
    printf("threads: checksum %ld\n", total);
    return 0;
}
