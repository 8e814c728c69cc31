/*
 * rec_bulk.c - a program whose full-mode trace is large: 2000000 iterations
 * over a pool of 4096 slots, each freeing the slot's block or allocating one
 * of a pseudo-random size (1-4096 bytes, fixed seed), so the records name
 * thousands of pairs in an order zstd cannot predict (a few MB of trace).
 * Exits 0 after freeing everything; prints nothing.
 */
#include <stdint.h>
#include <stdlib.h>

#define SLOTS 4096
#define ITERATIONS 2000000

static void *slot[SLOTS];

int main(void)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < ITERATIONS; i++) {
        x ^= x << 13; /* xorshift64 */
        x ^= x >> 7;
        x ^= x << 17;
        size_t s = (size_t)(x >> 32) % SLOTS;
        if (slot[s]) {
            free(slot[s]);
            slot[s] = NULL;
        } else {
            slot[s] = malloc(1 + (size_t)(x & 4095));
        }
    }
    for (int s = 0; s < SLOTS; s++)
        free(slot[s]);
    return 0;
}
