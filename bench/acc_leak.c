/*
 * acc_leak: a deterministic leaky program, for the accuracy check against
 * valgrind's DHAT (bench/accuracy.sh, tests/integration/acc_dhat.sh).
 *
 * It allocates 20000 blocks of varied sizes, frees two thirds of them and
 * leaks the rest: some stay reachable from a global array, some are lost
 * when their only pointer is overwritten. It also leaks through the C
 * library (strdup, an fopen'd stream left open), the allocations a profiler
 * must see because glibc routes them through the interposable malloc.
 *
 * It does not use threads; its numbers are the same on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBLOCKS 20000

void *kept[NBLOCKS];
void *volatile lost;

int main(void)
{
    unsigned i;
    FILE *f;

    for (i = 0; i < NBLOCKS; i++) {
        size_t n = 8 + (i * 40503u) % 700u;
        unsigned char *p = (i % 5 == 0) ? calloc(n, 1) : malloc(n);
        if (p == NULL)
            abort();
        p[0] = (unsigned char)i;
        kept[i] = p;
    }
    for (i = 0; i < NBLOCKS; i++) {
        if (i % 3 != 0) {
            free(kept[i]);
            kept[i] = NULL;
        } else if (i % 2 == 0) {
            lost = kept[i];   /* the only pointer, overwritten next time */
            kept[i] = NULL;
        }
    }
    for (i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "leaked string %u", i);
        lost = strdup(name);
    }
    f = fopen("/proc/self/status", "r");
    if (f != NULL) {
        char line[256];
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = 0;
    }
    printf("acc_leak done\n");
    return 0;
}
