/*
 * ana_killed.c - allocates forever, for ana_killed.sh: after 2,000,000
 * allocations (enough to fill and flush recorder buffers) it creates the
 * file named by argv[1], then keeps allocating until it is killed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void *volatile sink;

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    for (long i = 0;; i++) {
        sink = malloc(32 + (size_t)(i % 64));
        if (i % 4)
            free(sink);
        if (i == 2000000) {
            int fd = open(argv[1], O_CREAT | O_WRONLY, 0600);
            if (fd >= 0)
                close(fd);
        }
    }
}
