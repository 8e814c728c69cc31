/*
 * rec_fork.c - fork: the child writes its own trace, the parent's stays
 * valid. Parent: 100 mallocs of 100 bytes before fork, 10 of 1000 after
 * (all leaked): 110 mallocs, 20000 bytes. Child: 50 mallocs of 10 bytes,
 * leaked: 50 mallocs, 500 bytes. Prints the child's pid. No stdio before
 * the fork, so the child inherits no buffered output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

static void leak(int n, size_t size)
{
    for (int i = 0; i < n; i++)
        sink = malloc(size);
}

int main(void)
{
    leak(100, 100);
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        leak(50, 10);
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 3;
    leak(10, 1000);
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", (int)pid);
    return write(1, line, (size_t)n) == n ? 0 : 4;
}
