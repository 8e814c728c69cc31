/*
 * ana_handoff.c - blocks allocated by one thread and freed by another, for
 * ana_handoff.sh. Two producers allocate 100,000 blocks each in
 * handoff_alloc (sizes 16 to 64 bytes) and pass them through a small queue
 * to two consumers, which free every one of them at once; then the main
 * thread leaks 10 blocks of 4096 bytes. With a coarse clock most frees share
 * their allocation's tick, and a consumer with a lower thread id than its
 * producer is merged first: the analyzer must pair every free with its
 * allocation all the same.
 */
#include <pthread.h>
#include <stdlib.h>

#define PER_PRODUCER 100000
#define QCAP 64

static void *queue[QCAP];
static size_t qhead, qlen, produced_done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

__attribute__((noinline)) void *handoff_alloc(size_t size)
{
    return malloc(size);
}

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        void *p = handoff_alloc(16 + (size_t)(i % 4) * 16);
        pthread_mutex_lock(&mu);
        while (qlen == QCAP)
            pthread_cond_wait(&cv, &mu);
        queue[(qhead + qlen++) % QCAP] = p;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu);
    produced_done++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (qlen == 0 && produced_done < 2)
            pthread_cond_wait(&cv, &mu);
        if (qlen == 0) {
            pthread_mutex_unlock(&mu);
            return NULL;
        }
        void *p = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        free(p);
    }
}

int main(void)
{
    pthread_t c[2], p[2];
    /* consumers first: they usually get the lower thread ids */
    for (int i = 0; i < 2; i++)
        if (pthread_create(&c[i], NULL, consumer, NULL))
            return 1;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&p[i], NULL, producer, NULL))
            return 1;
    for (int i = 0; i < 2; i++)
        pthread_join(p[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
    static void *keep[10];
    for (int i = 0; i < 10; i++)
        keep[i] = malloc(4096);
    return keep[9] ? 0 : 1;
}
