/*
 * launcher_forker.c - a parent with four children: one forked child that
 * allocates and exits, one that execs this program again ("exec" mode)
 * which allocates and exits, and two that libc starts without passing our
 * exec hooks: one by posix_spawn, one by system() (through /bin/sh).
 * Prints "pids PARENT A B C" (C: the posix_spawn child) so the test knows
 * which traces to expect. With LAUNCHER_FOREIGN_TRACE set, it also writes
 * a trace header of an unrelated process (pid 999999) under that name, as
 * another profiled run in the same directory would.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapprof/trace_format.h"

static void write_foreign_trace(const char *path)
{
    uint8_t buf[HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE];
    hp_file_header_t h;
    FILE *f;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, HP_TRACE_MAGIC, 8);
    h.version = HP_TRACE_VERSION;
    h.pid = 999999;
    h.ppid = 1;
    h.clock = HP_CLOCK_MONOTONIC_NS;
    h.rate = 1;
    hp_put_le32(buf, HP_SKIP_MAGIC_HEADER);
    hp_put_le32(buf + 4, HP_FILE_HEADER_SIZE);
    hp_encode_file_header(buf + HP_SKIP_HEADER_SIZE, &h);
    f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, sizeof(buf), f);
        fclose(f);
    }
}

__attribute__((noinline)) static void work(size_t n)
{
    for (int i = 0; i < 10; i++) {
        char *p = malloc(n);
        if (p)
            memset(p, i, n);
        free(p);
    }
}

int main(int argc, char **argv)
{
    pid_t a, b;
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        work(300);
        return 0;
    }
    work(100);
    if (getenv("LAUNCHER_FOREIGN_TRACE"))
        write_foreign_trace(getenv("LAUNCHER_FOREIGN_TRACE"));
    fflush(stdout);
    a = fork();
    if (a == 0) {
        work(200);
        exit(0);
    }
    b = fork();
    if (b == 0) {
        execl("/proc/self/exe", argv[0], "exec", (char *)NULL);
        _exit(127);
    }
    waitpid(a, NULL, 0);
    waitpid(b, NULL, 0);

    extern char **environ;
    char self[4096], cmd[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *spawn_argv[] = {argv[0], "exec", NULL};
    pid_t c;
    if (posix_spawn(&c, self, NULL, NULL, spawn_argv, environ) != 0)
        c = -1;
    else
        waitpid(c, NULL, 0);
    snprintf(cmd, sizeof cmd, "'%s' exec", self);
    if (system(cmd) != 0)
        return 1;
    printf("pids %d %d %d %d\n", (int)getpid(), (int)a, (int)b, (int)c);
    return 0;
}
