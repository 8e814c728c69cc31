/*
 * leak.c - three leak sites at known lines, and one block freed properly.
 *
 *   heapprof --leak-check ./leak          # fails: 3 leaks, 4066 bytes in 6 blocks
 *   heapprof --leak-check ./leak --fixed  # passes: everything is freed
 *
 * The leaks (lines marked LEAK below):
 *   make_table  4000 bytes in 1 block  (malloc of 1000 ints)
 *   copy_name   18 bytes in 3 blocks   (strdup of three 5-letter names)
 *   new_node    48 bytes in 2 blocks   (calloc of two 24-byte list nodes)
 * valgrind --leak-check=full reports the same 4066 bytes (definitely lost
 * 4000 + 18 + 24, indirectly lost 24: the second node hangs off the first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    long value;
    long spare;
};

__attribute__((noinline)) static int *make_table(size_t n)
{
    int *t = malloc(n * sizeof(int)); /* LEAK 1 */
    for (size_t i = 0; t && i < n; i++)
        t[i] = (int)i;
    return t;
}

__attribute__((noinline)) static char *copy_name(const char *name)
{
    return strdup(name); /* LEAK 2 */
}

__attribute__((noinline)) static struct node *new_node(struct node *next, long value)
{
    struct node *n = calloc(1, sizeof(*n)); /* LEAK 3 */
    if (n) {
        n->next = next;
        n->value = value;
    }
    return n;
}

__attribute__((noinline)) static long scratch_sum(size_t n)
{
    long *tmp = malloc(n * sizeof(long)), sum = 0;
    for (size_t i = 0; tmp && i < n; i++)
        sum += tmp[i] = (long)i;
    free(tmp);
    return sum;
}

int main(int argc, char **argv)
{
    int fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    const char *names[3] = {"alpha", "bravo", "delta"};
    char *copies[3];
    int *table = make_table(1000);
    struct node *list = NULL;
    long total = table ? table[999] : 0;

    for (int i = 0; i < 3; i++) {
        copies[i] = copy_name(names[i]);
        total += copies[i] ? (long)strlen(copies[i]) : 0;
    }
    for (int i = 0; i < 2; i++)
        list = new_node(list, i);
    total += scratch_sum(256);
    printf("leak: total %ld\n", total);

    if (fixed) {
        free(table);
        for (int i = 0; i < 3; i++)
            free(copies[i]);
        while (list) {
            struct node *next = list->next;
            free(list);
            list = next;
        }
    }
    /* Without --fixed the pointers die here: the blocks are lost. */
    return 0;
}
