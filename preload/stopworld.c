/*
 * stopworld.c - stops the process's other threads for the exit scan
 * (stopworld.h).
 *
 * The tracer is a task that shares this address space and nothing else
 * that matters: it runs on a stack of its own but with the calling
 * thread's thread pointer (clone without CLONE_SETTLS), so it must not
 * write that thread's TLS. It therefore makes its system calls itself
 * (glibc's wrappers set errno and mark cancellation state, both in TLS)
 * and calls nothing in libc but what the compiler may emit (memcpy).
 * Every wait on either side has a deadline: a thread that does not stop
 * in time fails the stop (the tracer exits, and the kernel detaches what
 * it had attached), and a tracer that does not answer in time is killed.
 * PR_SET_PDEATHSIG ends the tracer if the thread that made it dies.
 */
#include "stopworld.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

#define STACK_SIZE (64u * 1024u)
#define STOP_WAIT_NS 2000000000ll   /* the tracer's wait for the threads */
#define ANSWER_WAIT_NS 5000000000ll /* the caller's wait for the tracer */
#define PASSES 64                   /* task-list rereads (threads starting meanwhile) */

enum { ST_START, ST_GO, ST_STOPPED, ST_FAILED, ST_RESUME };
enum { T_SEIZED, T_STOPPED, T_GONE, T_LEFT };

typedef struct ctl_s {
    int pid, self, skip;  /* the process; the caller; a zombie leader, or 0 */
    char task_dir[32];    /* /proc/PID/task */
    uint32_t state;       /* ST_*, a futex */
    uint32_t alive;       /* the tracer's tid until it exits, a futex */
    int n;                /* entries in t[] */
    int left;             /* threads left running (waits_interruptibly) */
    hp_stopped_t t[HP_STOPWORLD_MAX];
    int sig[HP_STOPWORLD_MAX];       /* a signal to hand back at detach */
    unsigned char phase[HP_STOPWORLD_MAX]; /* T_* */
} ctl_t;

static ctl_t *ctl;
static size_t ctl_size;
static int tracer_tid;
static sigset_t saved_mask;
static int yama_scope;

/* ---- the tracer's side: raw system calls only ---- */

static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret; /* -errno on failure */
}
#define SYS(nr, a, b, c, d) sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static long long now_ns(void)
{
    struct timespec ts;
    SYS(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0, 0);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void pause_briefly(void)
{
    struct timespec ts = {0, 500000};
    SYS(SYS_nanosleep, &ts, 0, 0, 0);
}

static void futex_wake(uint32_t *w)
{
    SYS(SYS_futex, w, FUTEX_WAKE, 1, 0);
}

/* Waits up to 10 ms while *w == v (a lost wake costs one slice). */
static void futex_wait_slice(uint32_t *w, uint32_t v)
{
    struct timespec ts = {0, 10000000};
    SYS(SYS_futex, w, FUTEX_WAIT, v, &ts);
}

static void set_state(ctl_t *c, uint32_t s)
{
    __atomic_store_n(&c->state, s, __ATOMIC_RELEASE);
    futex_wake(&c->state);
}

static int known(const ctl_t *c, int tid)
{
    for (int i = 0; i < c->n; i++)
        if (c->t[i].tid == tid)
            return 1;
    return 0;
}

/* Writes the decimal v at p; returns the end. */
static char *put_dec(char *p, int v)
{
    char d[12];
    int k = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (k)
        *p++ = d[--k];
    return p;
}

/*
 * Whether tid waits in a system call that a stop would end with EINTR
 * (signal(7)): epoll_wait, epoll_pwait, epoll_pwait2, rt_sigtimedwait,
 * semop, semtimedop, io_getevents, io_pgetevents, io_uring_enter. Such a
 * thread is left running, so that it does not see the scan.
 */
static int waits_interruptibly(const ctl_t *c, int tid)
{
    static const int nr[] = {232, 281, 441, 128, 65, 220, 208, 333, 426};
    char path[64], buf[32];
    size_t len = strlen(c->task_dir);
    memcpy(path, c->task_dir, len);
    char *p = put_dec(path + len + 1, tid);
    path[len] = '/';
    memcpy(p, "/syscall", 9);
    long fd = SYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    long n = SYS(SYS_read, fd, buf, sizeof buf - 1, 0);
    SYS(SYS_close, fd, 0, 0, 0);
    if (n <= 0 || buf[0] < '0' || buf[0] > '9') /* "running", or -1 (not in a call) */
        return 0;
    buf[n] = 0;
    int call = 0;
    for (const char *q = buf; *q >= '0' && *q <= '9'; q++)
        call = call * 10 + (*q - '0');
    for (size_t i = 0; i < sizeof nr / sizeof nr[0]; i++)
        if (call == nr[i])
            return 1;
    return 0;
}

/* Seizes and interrupts tid. Returns 1 when added, 0 when it is gone, -1
 * when it cannot be stopped. */
static int seize(ctl_t *c, int tid)
{
    if (c->n == HP_STOPWORLD_MAX)
        return -1;
    if (waits_interruptibly(c, tid)) {
        c->t[c->n].tid = tid;
        c->phase[c->n++] = T_LEFT;
        c->left++;
        return 1;
    }
    long r = SYS(SYS_ptrace, PTRACE_SEIZE, tid, 0, 0);
    if (r == -ESRCH)
        return 0;
    if (r < 0)
        return -1;
    r = SYS(SYS_ptrace, PTRACE_INTERRUPT, tid, 0, 0);
    if (r < 0 && r != -ESRCH)
        return -1;
    int i = c->n++;
    c->t[i].tid = tid;
    c->sig[i] = 0;
    c->phase[i] = r < 0 ? T_GONE : T_SEIZED;
    return 1;
}

/* One pass over the task list: seizes every thread not yet seized.
 * Returns the number added, or -1. */
static int seize_new(ctl_t *c)
{
    long fd = SYS(SYS_openat, AT_FDCWD, c->task_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    _Alignas(8) char buf[4096];
    int added = 0;
    for (;;) {
        long n = SYS(SYS_getdents64, fd, buf, sizeof buf, 0);
        if (n < 0)
            added = -1;
        if (n <= 0)
            break;
        for (long off = 0; off < n && added >= 0;) {
            const char *name = buf + off + 19; /* d_ino, d_off, d_reclen, d_type */
            off += *(const unsigned short *)(buf + off + 16);
            int tid = 0;
            while (*name >= '0' && *name <= '9')
                tid = tid * 10 + (*name++ - '0');
            if (*name || tid <= 0 || tid == c->self || tid == c->skip || known(c, tid))
                continue;
            int r = seize(c, tid);
            added = r < 0 ? -1 : added + r;
        }
        if (added < 0)
            break;
    }
    SYS(SYS_close, fd, 0, 0, 0);
    return added;
}

/* Waits until every seized thread is stopped (or gone): 0, or -1 at the
 * deadline. */
static int wait_stops(ctl_t *c, long long deadline)
{
    for (;;) {
        int pending = 0;
        for (int i = 0; i < c->n; i++) {
            if (c->phase[i] != T_SEIZED)
                continue;
            int st = 0;
            long r = SYS(SYS_wait4, c->t[i].tid, &st, WNOHANG | __WALL, 0);
            if (r == 0) {
                pending++;
            } else if (r < 0 || !WIFSTOPPED(st)) {
                c->phase[i] = T_GONE; /* exited, or killed */
            } else {
                c->phase[i] = T_STOPPED;
                if ((st >> 16) == 0) /* a signal on its way in: hand it back */
                    c->sig[i] = WSTOPSIG(st);
            }
        }
        if (!pending)
            return 0;
        if (now_ns() > deadline)
            return -1;
        pause_briefly();
    }
}

static int read_regs(ctl_t *c, int i)
{
    struct user_regs_struct r;
    _Static_assert(sizeof r == HP_STOPWORLD_REGS * sizeof(uintptr_t), "user_regs_struct");
    if (SYS(SYS_ptrace, PTRACE_GETREGS, c->t[i].tid, 0, &r) < 0)
        return -1;
    memcpy(c->t[i].regs, &r, sizeof r);
    c->t[i].sp = (uintptr_t)r.rsp;
    return 0;
}

/* Keeps the stopped entries, sorted by tid (insertion sort: the task list
 * comes nearly sorted). */
static void compact(ctl_t *c)
{
    int n = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->phase[i] != T_STOPPED)
            continue;
        hp_stopped_t t = c->t[i];
        int sig = c->sig[i], j = n++;
        for (; j > 0 && c->t[j - 1].tid > t.tid; j--) {
            c->t[j] = c->t[j - 1];
            c->sig[j] = c->sig[j - 1];
        }
        c->t[j] = t;
        c->sig[j] = sig;
        c->phase[j] = T_STOPPED;
    }
    c->n = n;
}

static void detach_all(ctl_t *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->phase[i] == T_STOPPED)
            SYS(SYS_ptrace, PTRACE_DETACH, c->t[i].tid, 0, c->sig[i]);
}

static int stop_all(ctl_t *c)
{
    long long deadline = now_ns() + STOP_WAIT_NS;
    for (int pass = 0; pass < PASSES; pass++) {
        int added = seize_new(c);
        if (added < 0 || wait_stops(c, deadline) != 0)
            return -1;
        if (added == 0) { /* every thread stopped, so none can start */
            for (int i = 0; i < c->n; i++)
                if (c->phase[i] == T_STOPPED && read_regs(c, i) != 0)
                    c->phase[i] = T_GONE; /* killed while stopped */
            compact(c);
            return 0;
        }
    }
    return -1;
}

static int tracer(void *arg)
{
    ctl_t *c = arg;
    SYS(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0);
    if (SYS(SYS_getppid, 0, 0, 0, 0) != c->pid)
        return 0;
    while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == ST_START)
        futex_wait_slice(&c->state, ST_START);
    if (stop_all(c) != 0) {
        detach_all(c); /* the ones seized but not stopped: at our exit */
        set_state(c, ST_FAILED);
        return 0;
    }
    set_state(c, ST_STOPPED);
    while (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != ST_RESUME)
        futex_wait_slice(&c->state, ST_STOPPED);
    detach_all(c);
    return 0;
}

/* ---- the caller's side ---- */

/* Ends the tracer: waits for it to exit (killing it when it does not in
 * time, which detaches its threads) and reaps it. */
static void end_tracer(void)
{
    long long deadline = now_ns() + ANSWER_WAIT_NS;
    uint32_t v;
    while ((v = __atomic_load_n(&ctl->alive, __ATOMIC_ACQUIRE)) != 0 && now_ns() < deadline)
        futex_wait_slice(&ctl->alive, v);
    if (__atomic_load_n(&ctl->alive, __ATOMIC_ACQUIRE) != 0)
        kill(tracer_tid, SIGKILL);
    int st;
    while (waitpid(tracer_tid, &st, __WALL) < 0 && errno == EINTR)
        ;
    if (yama_scope == 1)
        prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    munmap(ctl, ctl_size);
    ctl = NULL;
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

/* Whether ptrace may work here at all: no seccomp filter on this thread
 * (which the tracer inherits; one may kill the process for the clone or
 * the ptrace call), and Yama allows it. */
static int permitted(void)
{
    long seccomp = hp_proc_number("/proc/thread-self/status", "Seccomp:"); /* per thread */
    long yama = hp_proc_number("/proc/sys/kernel/yama/ptrace_scope", NULL);
    yama_scope = yama < 0 ? 0 : (int)yama;
    return seccomp == 0 && yama_scope <= 1;
}

int hp_stopworld_stop(const hp_stopped_t **out, int *all)
{
    if (ctl || !permitted())
        return -1;
    ctl_size = (sizeof(ctl_t) + STACK_SIZE + 4095) & ~(size_t)4095;
    void *m = mmap(NULL, ctl_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    ctl = m;
    ctl->pid = getpid();
    ctl->self = (int)syscall(SYS_gettid);
    ctl->skip = hp_proc_task_state(ctl->pid) == 'Z' ? ctl->pid : 0;
    snprintf(ctl->task_dir, sizeof ctl->task_dir, "/proc/%d/task", ctl->pid);
    sigset_t every;
    sigfillset(&every);
    pthread_sigmask(SIG_SETMASK, &every, &saved_mask); /* the tracer inherits it */
    char *stack_top = (char *)m + ctl_size;
    tracer_tid = clone(tracer, stack_top, CLONE_VM | CLONE_UNTRACED | CLONE_PARENT_SETTID |
                       CLONE_CHILD_CLEARTID, ctl, &ctl->alive, NULL, &ctl->alive);
    if (tracer_tid <= 0) {
        munmap(ctl, ctl_size);
        ctl = NULL;
        pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
        return -1;
    }
    if (yama_scope == 1)
        prctl(PR_SET_PTRACER, tracer_tid, 0, 0, 0);
    set_state(ctl, ST_GO);
    long long deadline = now_ns() + ANSWER_WAIT_NS;
    uint32_t s;
    while ((s = __atomic_load_n(&ctl->state, __ATOMIC_ACQUIRE)) == ST_GO && now_ns() < deadline)
        futex_wait_slice(&ctl->state, ST_GO);
    if (s != ST_STOPPED) {
        end_tracer();
        return -1;
    }
    *out = ctl->t;
    *all = ctl->left == 0;
    return ctl->n;
}

void hp_stopworld_resume(void)
{
    if (!ctl)
        return;
    set_state(ctl, ST_RESUME);
    end_tracer();
}

#else /* not x86-64 */

int hp_stopworld_stop(const hp_stopped_t **out, int *all)
{
    (void)out;
    return -1;
}

void hp_stopworld_resume(void)
{
}

#endif

const hp_stopped_t *hp_stopworld_find(const hp_stopped_t *t, int n, int tid)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (t[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && t[lo].tid == tid ? &t[lo] : NULL;
}
