/*
 * peak.c - a program whose heap peaks at a known size, then shrinks.
 *
 *   heapprof --full ./peak && heapanalyze heapprof.peak.*.zst
 *
 * load_images() holds 8 buffers of 1 MiB at once, frees them, then
 * index_words() allocates 64 blocks of 4 KiB one after another, never more
 * than one at a time. The report's peak is 8.0 MiB (8,388,608 bytes) in 8
 * blocks, all of it held by load_images at its PEAK line; index_words
 * allocates 256 KiB in total, 64 temporary allocations, and holds nothing
 * at the peak. Nothing of the program's leaks (the 4 KiB stdout buffer
 * printf allocates is the C runtime's; the leak gate does not count it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGES 8
#define IMAGE_SIZE (1 << 20)

__attribute__((noinline)) static long load_images(void)
{
    char *img[IMAGES];
    long sum = 0;
    for (int i = 0; i < IMAGES; i++) {
        img[i] = malloc(IMAGE_SIZE); /* PEAK */
        if (img[i])
            memset(img[i], i, IMAGE_SIZE);
    }
    for (int i = 0; i < IMAGES; i++) {
        sum += img[i] ? img[i][IMAGE_SIZE - 1] : 0;
        free(img[i]);
    }
    return sum;
}

__attribute__((noinline)) static long index_words(void)
{
    long sum = 0;
    for (int i = 0; i < 64; i++) {
        char *page = malloc(4096); /* SMALL */
        if (!page)
            continue;
        memset(page, 'a' + i % 26, 4096);
        sum += page[4095];
        free(page);
    }
    return sum;
}

int main(void)
{
    long s = load_images();
    s += index_words();
    printf("peak: checksum %ld\n", s);
    return 0;
}
