/*
 * ana_sampled.c - a workload for ana_sampled.sh: hold_big keeps 64 MiB live
 * (4096 blocks of 16 KiB) at the peak, leak_some leaks 8 MiB (512 blocks of
 * 16 KiB), and churn_small allocates 32 MiB in small temporary blocks. Under
 * sampling the report must still name those functions.
 */
#include <stdlib.h>
#include <string.h>

void *volatile sink;

__attribute__((noinline)) void leak_some(void)
{
    for (int i = 0; i < 512; i++)
        sink = malloc(16384);
}

__attribute__((noinline)) void hold_big(void)
{
    static void *blocks[4096];
    for (int i = 0; i < 4096; i++) {
        blocks[i] = malloc(16384);
        memset(blocks[i], 1, 64);
    }
    for (int i = 0; i < 4096; i++)
        free(blocks[i]);
}

__attribute__((noinline)) void churn_small(void)
{
    for (int i = 0; i < 262144; i++) {
        char *p = malloc(128);
        sink = p;
        p[0] = (char)i;
        free(sink);
    }
}

int main(void)
{
    leak_some();
    hold_big();
    churn_small();
    return 0;
}
