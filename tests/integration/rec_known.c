/*
 * rec_known.c - a program whose heap numbers are known in advance.
 *
 * Used by rec_known.sh (full mode must report exactly these totals, peak,
 * leaks and temporaries) and rec_unwritable.sh (with an argument, it also
 * prints a line and exits with status 3, to check heapprof changes neither).
 * It uses no stdio so that libc's buffers do not add allocations.
 *
 * Expected (see the arithmetic in the comments below):
 *   total_allocations 109, total_bytes 104864, total_frees 48,
 *   peak_bytes 100000, leaked_bytes 60512, leaked_blocks 61,
 *   temporary_allocations 5.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep[100];
/* Every block escapes here, so the compiler cannot elide or merge calls. */
static void *volatile sink;
#define USE(p) (sink = (p))

int main(int argc, char **argv)
{
    (void)argv;
    /* 100 mallocs of 1000 bytes: live 100000 (the peak); free 40: 60000. */
    for (int i = 0; i < 100; i++)
        USE(keep[i] = malloc(1000));
    for (int i = 0; i < 40; i++)
        free(keep[i]);
    /* calloc 10 x 100 = 1000 bytes, freed at once: a temporary (1). */
    char *c = calloc(10, 100);
    USE(c);
    free(c);
    /* realloc(NULL, 500): an allocation; realloc to 2000: one allocation and
     * one free of a temporary (2); realloc(p, 0): a free, temporary (3). */
    char *r = realloc(NULL, 500);
    USE(r);
    r = realloc(r, 2000);
    USE(r);
    r = realloc(r, 0);
    USE(r);
    /* reallocarray(NULL, 10, 30) = 300 bytes, freed at once: temporary (4). */
    char *ra = reallocarray(NULL, 10, 30);
    USE(ra);
    free(ra);
    /* Aligned variants: 256 + 512 + 96 + 100 + 100 = 1064 bytes. */
    void *pm = NULL;
    if (posix_memalign(&pm, 64, 256))
        return 10;
    void *aa = aligned_alloc(128, 512);
    void *ma = memalign(32, 96);
    void *va = valloc(100);
    void *pv = pvalloc(100);
    USE(pm);
    USE(aa);
    USE(ma);
    USE(va);
    USE(pv);
    /* pv was the last allocation: temporary (5); the others are not. */
    free(pv);
    free(va);
    free(ma);
    free(pm);
    /* Leaked: 60 x 1000 + aa's 512 = 60512 bytes in 61 blocks. Totals:
     * allocations 100+1+2+1+5 = 109; bytes 100000+1000+2500+300+1064 =
     * 104864; frees 40+1+2+1+4 = 48. */
    (void)aa;
    if (argc > 1) {
        const char msg[] = "rec_known: output unchanged\n";
        if (write(1, msg, sizeof msg - 1) < 0)
            return 11;
        return 3;
    }
    return 0;
}
