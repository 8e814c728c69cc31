/*
 * churn.c - temporary allocations: a buffer allocated and freed per line.
 *
 *   heapprof --full ./churn && heapanalyze heapprof.churn.*.zst
 *
 * parse_line() mallocs a 128-byte scratch buffer and frees it before the
 * next allocation, 100000 times: the report's temporary section names it
 * with 100000 temporary allocations (12.2 MiB allocated in all).
 * keep_results() makes an 800-byte array and 100 allocations of 32 bytes
 * that stay alive until the end of main (not temporary, not leaked: they
 * are freed before exit). The peak is 4128 bytes: those 4000 bytes plus one
 * 128-byte line buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINES 100000

__attribute__((noinline)) static int parse_line(int n)
{
    char *buf = malloc(128); /* TEMPORARY */
    int len;
    if (!buf)
        return 0;
    len = snprintf(buf, 128, "line %d: some text to parse", n);
    free(buf);
    return len;
}

__attribute__((noinline)) static char **keep_results(int n)
{
    char **v = calloc((size_t)n, sizeof(char *)); /* KEPT ARRAY */
    for (int i = 0; v && i < n; i++)
        v[i] = malloc(32); /* KEPT */
    return v;
}

int main(void)
{
    long total = 0;
    char **kept = keep_results(100);
    for (int i = 0; i < LINES; i++)
        total += parse_line(i);
    for (int i = 0; kept && i < 100; i++)
        free(kept[i]);
    free(kept);
    printf("churn: parsed %ld bytes\n", total);
    return 0;
}
