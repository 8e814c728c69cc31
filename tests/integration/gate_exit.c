/*
 * gate_exit.c - a program for the leak gate's exit-status tests.
 *
 *   gate_exit clean        frees everything, exits 0
 *   gate_exit leak         leaks 100 bytes (lost_block), exits 0
 *   gate_exit exit N       leaks 100 bytes, exits N
 *   gate_exit kill SIG     leaks 100 bytes, dies of signal SIG (a number)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void lost_block(void)
{
    char *p = malloc(100);
    if (p)
        memset(p, 1, 100);
    __asm__ volatile("" : : "r"(p) : "memory");
}

int main(int argc, char **argv)
{
    char *keep = malloc(64);
    if (argc < 2)
        return 100;
    if (keep)
        memset(keep, 0, 64);
    free(keep);
    if (strcmp(argv[1], "clean") == 0)
        return 0;
    lost_block();
    if (strcmp(argv[1], "leak") == 0)
        return 0;
    if (strcmp(argv[1], "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    if (strcmp(argv[1], "kill") == 0 && argc > 2) {
        signal(atoi(argv[2]), SIG_DFL);
        raise(atoi(argv[2]));
    }
    return 100;
}
