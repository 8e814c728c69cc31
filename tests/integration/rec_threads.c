/*
 * rec_threads.c - 8 threads allocating at once (exact totals), or, with
 * argument "exit", exit() called from a worker while the others allocate.
 *
 * Default mode: each worker mallocs 20000 blocks of 1 + i % 200 bytes
 * (2010000 bytes) and frees all but those with i % 1000 == 0 (20 blocks of
 * 1 byte). 8 workers: 160000 mallocs, 16080000 bytes, 160 bytes leaked in
 * 160 blocks by worker(). Output: nothing.
 *
 * With argument "busy-main", the same workers, while the main thread
 * allocates and frees without pause from before the first one starts
 * until the last one is done, and frees everything: the moment the
 * recorder's map of live blocks goes from one inserting thread to many
 * (tbuf.c) falls inside the main thread's stream of allocations.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define PER_THREAD 20000

static pthread_barrier_t start;
static void *volatile sink;
static long progress[THREADS];

static void *worker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < PER_THREAD; i++) {
        char *p = malloc(1 + (size_t)(i % 200));
        sink = p;
        if (i % 1000)
            free(p);
    }
    return NULL;
}

static void *spinner(void *arg)
{
    long id = (long)arg;
    void *slots[16] = {0};
    for (unsigned long i = 0;; i++) {
        free(slots[i % 16]);
        slots[i % 16] = malloc(8 + i % 100);
        __atomic_store_n(&progress[id], (long)i, __ATOMIC_RELAXED);
        if (id == 0 && i == 50000) {
            /* Wait until everyone runs, then exit from this worker. */
            for (int k = 1; k < THREADS; k++)
                while (__atomic_load_n(&progress[k], __ATOMIC_RELAXED) < 10000)
                    ;
            exit(0);
        }
    }
    return NULL;
}

static int workers_done;

static void *counted_worker(void *arg)
{
    worker(arg);
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Allocates and frees 64 blocks in turn; all freed at the end. */
static void churn_main(void **ring, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++) {
        free(ring[i % 64]);
        ring[i % 64] = malloc(16 + i % 300);
    }
}

int main(int argc, char **argv)
{
    pthread_t th[THREADS];
    int exit_mode = argc > 1 && strcmp(argv[1], "exit") == 0;
    int busy_main = argc > 1 && strcmp(argv[1], "busy-main") == 0;
    void *ring[64] = {0};
    pthread_barrier_init(&start, NULL, THREADS);
    for (long i = 0; i < THREADS; i++) {
        if (busy_main)
            churn_main(ring, 5000);
        if (pthread_create(&th[i], NULL, exit_mode ? spinner : busy_main ? counted_worker : worker,
                           (void *)i))
            return 2;
    }
    while (busy_main && __atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < THREADS)
        churn_main(ring, 1000);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 64; i++)
        free(ring[i]);
    return 0;
}
