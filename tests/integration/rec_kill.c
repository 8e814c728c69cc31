/*
 * rec_kill.c - killed with SIGKILL mid-run. Mallocs 2000000 blocks of 16
 * bytes (a record of a byte or two each: more than one full buffer,
 * flushed as it fills), then, unless the
 * argument is "noflush", calls heapprof_flush(); then SIGKILLs itself.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof/heapprof.h"

static void *volatile sink;

int main(int argc, char **argv)
{
    for (int i = 0; i < 2000000; i++)
        sink = malloc(16);
    if (!(argc > 1 && strcmp(argv[1], "noflush") == 0)) {
        if (!heapprof_active || !heapprof_active())
            return 3;
        if (heapprof_flush() != 0)
            return 4;
    }
    raise(SIGKILL);
    return 5;
}
