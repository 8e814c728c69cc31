/*
 * acc_realloc: a deterministic realloc-heavy program, for the accuracy
 * check against valgrind's DHAT (bench/accuracy.sh,
 * tests/integration/acc_dhat.sh).
 *
 * It grows 300 buffers the way a dynamic array or a string builder does,
 * in small irregular steps and by doubling, starting from realloc(NULL, n);
 * then shrinks each to fit, frees most of them and leaks 30. Every realloc
 * counts as one allocation of the new size and one free of the old block
 * (DESIGN.md), so the totals exercise exactly that rule, including
 * reallocs that shrink or keep the size.
 *
 * It does not use threads or realloc(p, 0) (whose meaning differs between
 * glibc and valgrind); its numbers are the same on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUF 300

void *buf[NBUF];

static void *grow(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL)
        abort();
    memset(q, 7, 1);
    return q;
}

int main(void)
{
    size_t len[NBUF] = { 0 };
    unsigned i, step;

    for (step = 0; step < 60; step++)
        for (i = 0; i < NBUF; i++) {
            size_t n = len[i] + 1 + (i * 31u + step * 17u) % 97u;
            buf[i] = grow(buf[i], n);
            len[i] = n;
        }
    for (i = 0; i < NBUF; i += 3) {
        size_t cap = 16;
        while (cap < len[i] * 4)
            cap *= 2;
        buf[i] = grow(buf[i], cap);
        len[i] = cap;
    }
    for (i = 0; i < NBUF; i++) {
        len[i] = len[i] / 2 + 1;
        buf[i] = grow(buf[i], len[i]);   /* shrink to fit */
        buf[i] = grow(buf[i], len[i]);   /* same size */
    }
    for (i = 0; i < NBUF; i++)
        if (i % 10 != 0) {
            free(buf[i]);
            buf[i] = NULL;
        }
    printf("acc_realloc done\n");
    return 0;
}
