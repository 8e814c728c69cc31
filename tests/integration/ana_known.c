/*
 * ana_known.c - a program whose heap figures are known exactly, for
 * ana_known.sh: 7 leaked blocks of 1000 bytes from leaky_function, a peak of
 * 1,007,000 live bytes built by hold_peak, 500 temporary allocations of 64
 * bytes in churn, a calloc and a growing realloc. No stdio: nothing else
 * allocates.
 */
#include <stdlib.h>
#include <string.h>

void *volatile sink; /* keeps the compiler from eliding malloc/free pairs */

__attribute__((noinline)) void leaky_function(void)
{
    for (int i = 0; i < 7; i++) {
        sink = malloc(1000); /* LEAK-LINE */
    }
}

__attribute__((noinline)) void hold_peak(void)
{
    void *blocks[100];
    for (int i = 0; i < 100; i++) {
        blocks[i] = malloc(10000); /* PEAK-LINE */
        sink = blocks[i];
    }
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
}

__attribute__((noinline)) void churn(void)
{
    for (int i = 0; i < 500; i++) {
        char *p = malloc(64); /* TEMP-LINE */
        sink = p;
        memset(p, i, 64);
        free(sink);
    }
}

__attribute__((noinline)) void others(void)
{
    sink = calloc(10, 100);
    free(sink);
    char *p = malloc(10);
    sink = p;
    p = realloc(p, 20);
    sink = p;
    free(p);
}

int main(void)
{
    leaky_function();
    hold_peak();
    churn();
    others();
    return 0;
}
