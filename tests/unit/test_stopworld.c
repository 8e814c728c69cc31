/*
 * test_stopworld.c - stopping the other threads for the exit scan
 * (preload/stopworld.c) with real threads: every other thread is stopped
 * and its registers read (a value held only in a register is there), a
 * stopped thread makes no progress and runs again after the resume; the
 * threads blocked in read, poll, nanosleep and a condition wait go on
 * waiting as if nothing happened, and one in epoll_wait (which a stop
 * would end with EINTR) is not stopped at all; a signal sent meanwhile reaches its
 * handler after the resume; and when one thread cannot be stopped (a
 * debugger already traces it) no thread stays stopped.
 *
 * Skipped where ptrace is not allowed at all (a seccomp filter, Yama's
 * ptrace_scope 2 or 3): the scan then does without (stopworld.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "stopworld.h"

#define MARKER 0x5eed0000c0ffee11ull
#define NAP_NS 400000000ll

typedef struct worker_s {
    pthread_t th;
    volatile int tid;
    volatile uintptr_t stack; /* an address on its stack */
    volatile long result;
    volatile int err;
    volatile long count; /* the spinner's progress */
} worker_t;

static volatile int quit;
static int read_pipe[2], poll_pipe[2], epoll_pipe[2], epfd;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cv_go;
static volatile sig_atomic_t got_usr1;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void started(worker_t *w)
{
    int local;
    w->stack = (uintptr_t)&local;
    w->tid = (int)syscall(SYS_gettid);
}

/* Counts in memory with MARKER held in r15 only, until quit. */
static void *spinner(void *arg)
{
    worker_t *w = arg;
    started(w);
#if defined(__x86_64__)
    __asm__ volatile("mov %[m], %%r15\n"
                     "1: incq %[c]\n"
                     "cmpl $0, %[q]\n"
                     "je 1b\n"
                     : [c] "+m"(w->count)
                     : [m] "r"(MARKER), [q] "m"(quit)
                     : "r15", "cc", "memory");
#else
    while (!quit)
        w->count++;
#endif
    return NULL;
}

static void *reader(void *arg)
{
    worker_t *w = arg;
    char c;
    started(w);
    w->result = read(read_pipe[0], &c, 1);
    w->err = errno;
    return NULL;
}

static void *poller(void *arg)
{
    worker_t *w = arg;
    struct pollfd p = {poll_pipe[0], POLLIN, 0};
    started(w);
    w->result = poll(&p, 1, -1);
    w->err = errno;
    return NULL;
}

/* epoll_wait would return EINTR after a stop: left running. */
static void *epoller(void *arg)
{
    worker_t *w = arg;
    struct epoll_event ev;
    started(w);
    w->result = epoll_wait(epfd, &ev, 1, -1);
    w->err = errno;
    return NULL;
}

static void *sleeper(void *arg)
{
    worker_t *w = arg;
    struct timespec ts = {0, NAP_NS};
    started(w);
    long long t0 = now_ns();
    w->err = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL); /* the error, or 0 */
    w->result = now_ns() - t0;
    return NULL;
}

static void *waiter(void *arg)
{
    worker_t *w = arg;
    started(w);
    pthread_mutex_lock(&mu);
    while (!cv_go)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    w->result = 1;
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

static int ptrace_allowed(void)
{
    return hp_proc_number("/proc/thread-self/status", "Seccomp:") == 0 &&
           hp_proc_number("/proc/sys/kernel/yama/ptrace_scope", NULL) < 2;
}

static void start(worker_t *w, void *(*fn)(void *))
{
    assert_int_equal(pthread_create(&w->th, NULL, fn, w), 0);
    while (!w->tid)
        usleep(1000);
}

/* Waits up to 2 s for *v to change from `from`; returns whether it did. */
static int changes(volatile long *v, long from)
{
    for (int i = 0; i < 2000 && *v == from; i++)
        usleep(1000);
    return *v != from;
}

static void test_stopworld_stops_reads_and_resumes(void **state)
{
    (void)state;
    if (!ptrace_allowed())
        skip();
    worker_t w[6] = {0};
    void *(*fn[6])(void *) = {spinner, reader, poller, sleeper, waiter, epoller};
    assert_int_equal(pipe(read_pipe), 0);
    assert_int_equal(pipe(poll_pipe), 0);
    assert_int_equal(pipe(epoll_pipe), 0);
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    assert_int_equal(epoll_ctl(epfd, EPOLL_CTL_ADD, epoll_pipe[0], &ev), 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    quit = 0;
    for (int i = 0; i < 6; i++)
        start(&w[i], fn[i]);
    assert_true(changes(&w[0].count, 0));
    usleep(50000); /* the others are now blocked in their calls */

    const hp_stopped_t *t = NULL;
    int all = 0;
    int n = hp_stopworld_stop(&t, &all);
    assert_int_equal(n, 5);
    assert_false(all); /* the epoll_wait is left running */
    assert_null(hp_stopworld_find(t, n, w[5].tid));
    for (int i = 0; i < 5; i++) {
        const hp_stopped_t *s = hp_stopworld_find(t, n, w[i].tid);
        assert_non_null(s);
        /* its stack pointer is on its stack, below the address it took */
        assert_true(s->sp <= w[i].stack && w[i].stack - s->sp < 65536);
    }
    assert_null(hp_stopworld_find(t, n, (int)syscall(SYS_gettid)));
#if defined(__x86_64__)
    const hp_stopped_t *sp = hp_stopworld_find(t, n, w[0].tid);
    int seen = 0;
    for (int r = 0; r < HP_STOPWORLD_REGS; r++)
        seen |= sp->regs[r] == MARKER;
    assert_true(seen);
#endif
    long frozen = w[0].count;
    pthread_kill(w[1].th, SIGUSR1); /* arrives while the reader is stopped */
    usleep(100000);
    assert_int_equal(w[0].count, frozen);
    assert_int_equal(got_usr1, 0);
    hp_stopworld_resume();

    assert_true(changes(&w[0].count, frozen));
    for (int i = 0; i < 2000 && !got_usr1; i++)
        usleep(1000);
    assert_int_equal(got_usr1, 1);
    quit = 1;
    assert_int_equal(write(read_pipe[1], "x", 1), 1);
    assert_int_equal(write(poll_pipe[1], "x", 1), 1);
    assert_int_equal(write(epoll_pipe[1], "x", 1), 1);
    pthread_mutex_lock(&mu);
    cv_go = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 6; i++)
        pthread_join(w[i].th, NULL);
    assert_int_equal(w[1].result, 1); /* read restarted after the handler, no EINTR */
    assert_int_equal(w[2].result, 1); /* poll: no EINTR */
    assert_int_equal(w[3].err, 0);    /* nanosleep slept on */
    assert_true(w[3].result >= NAP_NS);
    assert_int_equal(w[4].result, 1);
    assert_int_equal(w[5].result, 1); /* epoll_wait: no EINTR */
    close(read_pipe[0]), close(read_pipe[1]), close(poll_pipe[0]), close(poll_pipe[1]);
    close(epoll_pipe[0]), close(epoll_pipe[1]), close(epfd);
}

static void test_stopworld_alone(void **state)
{
    (void)state;
    if (!ptrace_allowed())
        skip();
    const hp_stopped_t *t = NULL;
    int all = 0;
    assert_int_equal(hp_stopworld_stop(&t, &all), 0);
    assert_true(all);
    hp_stopworld_resume();
}

/* A thread already traced (as by a debugger) cannot be stopped: the stop
 * fails and leaves every thread running. */
static void test_stopworld_fails_whole(void **state)
{
    (void)state;
    if (!ptrace_allowed())
        skip();
    worker_t a = {0}, b = {0};
    quit = 0;
    start(&a, spinner);
    start(&b, spinner);
    int ready[2], done[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    pid_t child = fork();
    if (child == 0) {
        close(done[1]);
        char ok = ptrace(PTRACE_SEIZE, a.tid, 0, 0) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        char c;
        while (read(done[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    char ok = 'n';
    assert_int_equal(read(ready[0], &ok, 1), 1);
    if (ok == 'y') {
        const hp_stopped_t *t = NULL;
        int all;
        assert_int_equal(hp_stopworld_stop(&t, &all), -1);
        long from = b.count;
        assert_true(changes(&b.count, from)); /* b is not left stopped */
    }
    close(done[1]);
    waitpid(child, NULL, 0);
    quit = 1;
    pthread_join(a.th, NULL);
    pthread_join(b.th, NULL);
    close(ready[0]), close(ready[1]), close(done[0]);
    if (ok != 'y')
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stopworld_alone),
        cmocka_unit_test(test_stopworld_stops_reads_and_resumes),
        cmocka_unit_test(test_stopworld_fails_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
