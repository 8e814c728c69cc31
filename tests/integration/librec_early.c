/*
 * librec_early.c - a library whose constructor allocates before main, and
 * starts threads that allocate while the program starts up. Loaded with
 * LD_PRELOAD before or after libheapprof.so by rec_early.sh. Constructor:
 * an mmap and munmap of a page, 10 mallocs of 333 bytes (leaked); 4 threads x 1000 mallocs of 77 bytes
 * (freed). rec_early_join() waits for the threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

static void *volatile sink;
static pthread_t threads[4];

static void *early_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(77);
        sink = p;
        free(p);
    }
    return NULL;
}

__attribute__((constructor)) static void early_ctor(void)
{
    /* A mapping first, perhaps before anything resolved the real functions:
     * the mmap hooks then make the system calls themselves. */
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || munmap(m, 4096) != 0)
        abort();
    for (int i = 0; i < 10; i++)
        sink = malloc(333);
    for (int i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, early_thread, NULL);
}

void rec_early_join(void)
{
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
}
