/*
 * churn: a deterministic malloc/free churn of small random sizes, the
 * workload of the overhead benchmark (bench/run.sh, issue 2 "What will be
 * measured").
 *
 * Each thread owns a pool of live slots. Every iteration picks a slot at
 * random: an empty slot gets a new block (malloc, or calloc one time in
 * sixteen) of 16..512 bytes; a full slot is freed, or one time in eight
 * resized with realloc. Allocations and frees therefore interleave, about
 * half the pool is live at any moment, and the live set stays small enough
 * to sit in cache, so the run measures the allocator path and not memory
 * traffic. The random stream is a fixed-seed xorshift per thread, so the
 * sequence of calls (and the totals a profiler must report) are the same on
 * every run; only the interleaving between threads varies.
 *
 * It does not measure large allocations, mmap'd blocks or allocator
 * contention on shared blocks: every block is freed by the thread that
 * allocated it.
 *
 * Usage: churn [THREADS [ITERATIONS]]  (defaults 1 and 60000000).
 * ITERATIONS is the total over all threads, so the amount of work does not
 * depend on THREADS. Prints one line: threads, iterations, a checksum.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SLOTS 4096u
#define MIN_SIZE 16u
#define MAX_SIZE 512u

typedef struct {
    unsigned id;
    uint64_t iterations;
    uint64_t checksum;
} worker_t;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    unsigned char **slot = calloc(POOL_SLOTS, sizeof *slot);
    uint64_t rng = 0x9e3779b97f4a7c15ull * (w->id + 1);
    uint64_t sum = 0;

    if (slot == NULL)
        return NULL;
    for (uint64_t i = 0; i < w->iterations; i++) {
        uint64_t r = xorshift(&rng);
        unsigned k = (unsigned)(r % POOL_SLOTS);
        size_t size = MIN_SIZE + (size_t)((r >> 12) % (MAX_SIZE - MIN_SIZE + 1));
        unsigned op = (unsigned)(r >> 40) & 15u;

        if (slot[k] == NULL) {
            slot[k] = op == 0 ? calloc(1, size) : malloc(size);
            if (slot[k] == NULL)
                abort();
            /* Touch the block so the call cannot be optimised away. */
            slot[k][0] = (unsigned char)i;
            slot[k][size - 1] = (unsigned char)k;
        } else if (op < 2) {
            unsigned char *p = realloc(slot[k], size);
            if (p == NULL)
                abort();
            p[size - 1] = (unsigned char)i;
            slot[k] = p;
        } else {
            sum += slot[k][0];
            free(slot[k]);
            slot[k] = NULL;
        }
    }
    for (unsigned k = 0; k < POOL_SLOTS; k++) {
        if (slot[k] != NULL)
            sum += slot[k][0];
        free(slot[k]);
    }
    free(slot);
    w->checksum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    uint64_t iterations = argc > 2 ? strtoull(argv[2], NULL, 10) : 60000000ull;
    pthread_t tid[256];
    worker_t w[256];
    uint64_t sum = 0;

    if (threads < 1 || threads > 256) {
        fprintf(stderr, "usage: churn [THREADS (1..256) [ITERATIONS]]\n");
        return 2;
    }
    for (unsigned t = 0; t < threads; t++) {
        w[t].id = t;
        w[t].iterations = iterations / threads + (t < iterations % threads);
        w[t].checksum = 0;
    }
    if (threads == 1) {
        work(&w[0]);
    } else {
        for (unsigned t = 0; t < threads; t++)
            if (pthread_create(&tid[t], NULL, work, &w[t]) != 0) {
                perror("churn: pthread_create");
                return 1;
            }
        for (unsigned t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
    }
    for (unsigned t = 0; t < threads; t++)
        sum += w[t].checksum;
    printf("churn threads=%u iterations=%llu checksum=%llu\n", threads,
           (unsigned long long)iterations, (unsigned long long)sum);
    return 0;
}
