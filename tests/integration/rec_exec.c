/*
 * rec_exec.c - exec: the first image's trace is flushed before exec, the
 * new image writes its own. Stage 1 (no argument): 30 mallocs of 100
 * bytes, leaked, then exec of itself with "2" (execv; or execlp, execl,
 * execle, execve, execvp, execvpe with argument "lp", "l", "le", "ve", "vp",
 * "vpe"). Stage 2: 20 mallocs of 50 bytes, leaked; writes
 * "LD_PRELOAD=<value>" (or "LD_PRELOAD unset") on stdout. No stdio.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void *volatile sink;

static void say(const char *a, const char *b)
{
    if (write(1, a, strlen(a)) < 0 || write(1, b, strlen(b)) < 0 || write(1, "\n", 1) < 0)
        _exit(9);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "2") == 0) {
        for (int i = 0; i < 20; i++)
            sink = malloc(50);
        const char *pre = getenv("LD_PRELOAD");
        say(pre ? "LD_PRELOAD=" : "LD_PRELOAD unset", pre ? pre : "");
        return 0;
    }
    for (int i = 0; i < 30; i++)
        sink = malloc(100);
    /* A failed exec first: recording must go on. */
    char *bad[] = {"/nonexistent/rec_exec", NULL};
    execv(bad[0], bad);
    sink = malloc(100); /* counted: 31 mallocs in stage 1 */
    const char *how = argc > 1 ? argv[1] : "";
    if (strcmp(how, "lp") == 0)
        execlp(argv[0], argv[0], "2", (char *)NULL);
    else if (strcmp(how, "l") == 0)
        execl(argv[0], argv[0], "2", (char *)NULL);
    else if (strcmp(how, "le") == 0)
        execle(argv[0], argv[0], "2", (char *)NULL, environ);
    else if (strcmp(how, "ve") == 0 || strcmp(how, "vp") == 0 || strcmp(how, "vpe") == 0) {
        char *args[] = {argv[0], "2", NULL};
        if (how[1] == 'e')
            execve(argv[0], args, environ);
        else if (how[2] == 'e')
            execvpe(argv[0], args, environ);
        else
            execvp(argv[0], args);
    } else {
        char *args[] = {argv[0], "2", NULL};
        execv(argv[0], args);
    }
    return 5;
}
