/*
 * rec_sampled.c - a deterministic workload for sampled mode: 400000
 * mallocs of 1..2048 bytes (a fixed xorshift sequence, about 410 MB in
 * all), each freed after the next 16 allocations.
 */
#include <stdint.h>
#include <stdlib.h>

int main(void)
{
    uint64_t x = 88172645463325252u;
    void *ring[16] = {0};
    for (int i = 0; i < 400000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        free(ring[i % 16]);
        ring[i % 16] = malloc(1 + x % 2048);
    }
    for (int i = 0; i < 16; i++)
        free(ring[i]);
    return 0;
}
