/*
 * tmp_file.c - the scratch file of tmp_file.h. One per test binary; tests run
 * one after another, each with a fresh file.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmp_file.h"

char hp_tmp_path[64];

int hp_tmp_setup(void **state)
{
    (void)state;
    strcpy(hp_tmp_path, "/tmp/heapprof-test.XXXXXX");
    int fd = mkstemp(hp_tmp_path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int hp_tmp_teardown(void **state)
{
    (void)state;
    unlink(hp_tmp_path);
    return 0;
}
