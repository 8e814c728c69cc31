/*
 * rec_fork_threads.c - regression program for "a fork child hangs when
 * another thread held the loader's lock at fork time" (the child used to
 * call dl_iterate_phdr for its module map and stacks). Two threads
 * allocate and one walks the loaded objects without pause while the main
 * thread forks 30 children; each child mallocs 1000 blocks (some sampled,
 * so stacks are wanted) and exits. Exit status 0 when every child exited.
 */
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;
static volatile int stop;

static void *allocate(void *arg)
{
    (void)arg;
    while (!stop) {
        void *p = malloc(64);
        sink = p;
        free(p);
    }
    return NULL;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info, (void)size, (void)data;
    return 0;
}

static void *walk(void *arg)
{
    (void)arg;
    while (!stop)
        dl_iterate_phdr(visit, NULL);
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    pthread_create(&t[0], NULL, allocate, NULL);
    pthread_create(&t[1], NULL, allocate, NULL);
    pthread_create(&t[2], NULL, walk, NULL);
    int bad = 0;
    for (int i = 0; i < 30; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int k = 0; k < 1000; k++)
                sink = malloc(1000);
            exit(0);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
    }
    stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    return bad;
}
