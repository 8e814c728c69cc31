/*
 * sym_stripped.c - leaks one block of 4096 bytes from stripped_leak() (line
 * marked SITE:leak) and frees another from main. sym_stripped.sh runs
 * copies of this program stripped in the two ways users strip binaries and
 * checks what the symbolizer makes of each.
 */
#include <stdlib.h>
#include <string.h>

void *volatile keep;

__attribute__((noinline)) void *stripped_leak(size_t n)
{
    char *p = malloc(n); /* SITE:leak */
    if (p)
        memset(p, 3, n);
    return p;
}

int main(void)
{
    keep = stripped_leak(4096);
    char *q = malloc(64);
    free(q);
    return keep ? 0 : 1;
}
