/*
 * out_prog.c - the program the outputs' integration tests profile
 * (out_*.sh). Its allocations are known, so the flamegraph, folded stacks,
 * pprof profile, timeline and diff of its traces can be checked exactly:
 *
 *   out_prog SCALE
 *   - grow_list:     100 * SCALE blocks of 1000 bytes, held, then freed
 *   - fixed_buffers: 50 blocks of 4096 bytes, each freed at once
 *   - leak_some:     one block of 1000 * SCALE bytes, never freed
 *   - recurse:       a 12-deep call chain allocating 512 bytes at the bottom
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile leaked_block;

NOINLINE static void **grow_list(int scale)
{
    void **list = calloc((size_t)(100 * scale), sizeof(*list));
    for (int i = 0; i < 100 * scale; i++) {
        list[i] = malloc(1000);
        memset(list[i], i, 1000);
    }
    return list;
}

NOINLINE static void free_list(void **list, int scale)
{
    for (int i = 0; i < 100 * scale; i++)
        free(list[i]);
    free(list);
}

NOINLINE static void fixed_buffers(void)
{
    for (int i = 0; i < 50; i++) {
        char *volatile p = malloc(4096);
        p[0] = (char)i;
        free(p);
    }
}

NOINLINE static void leak_some(int scale)
{
    leaked_block = malloc((size_t)(1000 * scale));
    memset(leaked_block, 1, (size_t)(1000 * scale));
}

NOINLINE static int recurse(int depth)
{
    if (depth == 0) {
        char *volatile p = malloc(512);
        p[0] = 1;
        free(p);
        return 1;
    }
    return recurse(depth - 1) + 1;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    void **list = grow_list(scale);
    fixed_buffers();
    leak_some(scale);
    recurse(12);
    free_list(list, scale);
    printf("done %d\n", scale);
    return 0;
}
