/*
 * launcher_argv.c - prints what the launcher passed: each argument as
 * "arg[i]=<...>", then LD_PRELOAD, HEAPPROF_RATE, HEAPPROF_NO_CHILDREN and
 * LAUNCHER_MARKER (set by liblauncher_marker.so's constructor when that
 * library was preloaded too). Allocates a little so a trace is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "(unset)";
}

int main(int argc, char **argv)
{
    char *p = malloc(1000);
    for (int i = 1; i < argc; i++)
        printf("arg[%d]=<%s>\n", i, argv[i]);
    printf("LD_PRELOAD=<%s>\n", env("LD_PRELOAD"));
    printf("HEAPPROF_RATE=<%s>\n", env("HEAPPROF_RATE"));
    printf("HEAPPROF_NO_CHILDREN=<%s>\n", env("HEAPPROF_NO_CHILDREN"));
    printf("LAUNCHER_MARKER=<%s>\n", env("LAUNCHER_MARKER"));
    if (p)
        memset(p, 0, 1000);
    free(p);
    return 0;
}
