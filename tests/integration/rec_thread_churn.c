/*
 * rec_thread_churn.c - detached threads that come and go (rec_thread_churn.sh).
 *
 * A detached thread that exits frees, in glibc's last stage of thread exit,
 * the thread descriptors of other exited threads that it evicts from
 * glibc's stack cache; those frees come after the thread's exit callbacks.
 *
 * Mode "bursts": ten rounds of 64 detached threads started at once; each
 * mallocs 100 + i bytes (i: its index in the round), waits for the round
 * to start, frees its block and exits; main waits for each round. Known:
 * 640 malloc calls of 84160 bytes in all, every block freed.
 *
 * Mode "spawners": four threads start detached threads that call nothing
 * (so their first call into the allocator is glibc's, at their exit) as
 * fast as they can, and main returns after 300 ms while they do.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int done, go;
static pthread_attr_t detached;

static void *member(void *arg)
{
    void *volatile p = malloc(100 + (size_t)arg);
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        usleep(1000);
    free(p);
    __atomic_add_fetch(&done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *idle(void *arg)
{
    return arg;
}

static void *spawner(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, &detached, idle, NULL) != 0)
            usleep(100);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    if (argc > 1 && strcmp(argv[1], "spawners") == 0) {
        for (int i = 0; i < 4; i++) {
            pthread_t t;
            if (pthread_create(&t, &detached, spawner, NULL) != 0)
                return 1;
        }
        usleep(300000);
        return 0;
    }
    for (int r = 0; r < 10; r++) {
        __atomic_store_n(&go, 0, __ATOMIC_RELEASE);
        for (long i = 0; i < 64; i++) {
            pthread_t t;
            if (pthread_create(&t, &detached, member, (void *)i) != 0)
                return 1;
        }
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < 64 * (r + 1))
            usleep(1000);
    }
    usleep(20000); /* the last ones are through glibc's exit */
    return 0;
}
