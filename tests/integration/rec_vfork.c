/*
 * rec_vfork.c - regression program for "a vfork child's exec stops the
 * parent's recording" (the exec hook ran in the parent's memory, wrote
 * END(EXEC) into the parent's trace and left it stopped). The parent
 * mallocs 10 blocks of 100 bytes, vforks a child that execs this program
 * with "2" (which mallocs 5 blocks of 10 bytes), then mallocs 10 more: its
 * trace must hold all 20 allocations. All blocks leak.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "2") == 0) {
        for (int i = 0; i < 5; i++)
            sink = malloc(10);
        return 0;
    }
    for (int i = 0; i < 10; i++)
        sink = malloc(100);
    char *args[] = {argv[0], "2", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execv(argv[0], args);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
        return 3;
    for (int i = 0; i < 10; i++)
        sink = malloc(100);
    return 0;
}
