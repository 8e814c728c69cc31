/*
 * scan_reach.c - blocks live at exit, some reachable and some not, for the
 * reachability scan (scan_reach.sh).
 *
 * Mode "mixed" (the default) leaves, at exit():
 *   (a) 100 bytes reachable from a global,
 *   (b) 200 bytes reachable only through (a),
 *   (c) 300 bytes no pointer reaches (directly lost),
 *   (d) 400 bytes no pointer reaches, pointing to (d') 500 bytes (indirectly
 *       lost),
 *   (e) 600 bytes pointed to only from a local of main, while exit() is
 *       called from a function nested two levels below main.
 * Expected: 1200 bytes in 3 blocks lost; 900 bytes in 3 blocks still
 * reachable. Mode "globals" leaves only (a) and (b); mode "lost" leaves
 * only (c), allocated at a line marked LOST-LINE.
 *
 * Mode "threads" calls exit() from main while four other threads run:
 *   (f) 700 bytes pointed to only from a local of a thread waiting in read(),
 *   (g) 800 bytes pointed to only from a __thread variable of such a thread,
 *   (h) 900 bytes no pointer reaches, allocated by the first thread,
 *   (i) 1000 bytes pointed to only from a local of a thread that spins,
 *   (q) 1100 bytes that a thread waiting in the read system call reads
 *       into, held only in the call's argument register,
 *   and (c) from main. Expected: (c) and (h) lost, 1200 bytes in 2 blocks;
 *   (f), (g), (i) and (q) still reachable.
 *
 * Mode "mapped" keeps pointers in memory the program mapped itself, then
 * calls exit() from main:
 *   (j) 1100 bytes pointed to only from an anonymous mapping,
 *   (k) 1200 bytes pointed to only from a mapping moved with mremap,
 *   (l) 1300 bytes pointed to only from a mapping unmapped since,
 *   (m) 1400 bytes pointed to only from one page in the middle of a
 *       1 GiB reservation (MAP_NORESERVE) left untouched elsewhere,
 *   (n) 1500 bytes pointed to only from a page unmapped from the middle of
 *       a three-page mapping, (o) 1600 bytes from its last page,
 *   and (c) from main. Expected: (c), (l) and (n) lost, 3100 bytes in 3
 *   blocks; (j), (k), (m) and (o) still reachable.
 *
 * Mode "mapsig" has eight threads map, remap and unmap memory while signal
 * handlers that map and unmap memory interrupt them, then keeps (p) 1700
 * bytes pointed to only from a fresh mapping, and calls exit() with (c)
 * lost. Expected: (c) lost, 300 bytes in 1 block; (p) still reachable.
 *
 * Mode "running" calls exit() while two threads that never called the
 * allocator run (so the profiler knows neither their stacks nor their
 * registers without stopping them):
 *   (r) 1800 bytes that main allocated and passed to a thread as its
 *       argument, which the thread keeps writing to,
 *   (s) 1900 bytes that a spinning thread holds only in a register (x86-64:
 *       r15; it took the address from a global and cleared the global),
 *   and (c) from main. Expected: (c) lost, 300 bytes in 1 block; (r) and
 *   (s) still reachable.
 *
 * Mode "leaderless": main keeps (a) and (b), starts a thread and leaves
 * with pthread_exit(); the thread loses (c) and calls exit(). Expected:
 * (c) lost, 300 bytes in 1 block (the main thread's memory views in /proc
 * read empty by then).
 *
 * The lost blocks are allocated in a separate function whose frame is then
 * overwritten, so that no stale copy of their addresses survives on the
 * stack (the scan is conservative, like LeakSanitizer's and memcheck's).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void **g_root; /* (a) */

static __attribute__((noinline)) void make_reachable(void)
{
    g_root = malloc(100);           /* (a) */
    memset(g_root, 0, 100);
    g_root[0] = malloc(200);        /* (b) */
    memset(g_root[0], 0, 200);
}

static __attribute__((noinline)) void make_lost(int indirect)
{
    void *volatile c = malloc(300); /* (c) LOST-LINE */
    memset(c, 0, 300);
    c = NULL;
    if (indirect) {
        void **volatile d = malloc(400); /* (d) */
        memset(d, 0, 400);
        d[0] = malloc(500);              /* (d') */
        memset(d[0], 0, 500);
        d = NULL;
    }
}

/* Overwrites the stack below the caller, where make_lost's frame was. */
static __attribute__((noinline)) void clobber_stack(void)
{
    volatile char junk[16384];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0;
}

static __attribute__((noinline)) void leave(int status)
{
    exit(status);
}

static __attribute__((noinline)) void nested(int status)
{
    leave(status);
}

static int ready[2], never[2]; /* pipes: workers say "ready"; nobody writes never */
__thread void *tls_keep; /* (g) */
static volatile int spin_forever = 1;

static void wait_forever(void)
{
    char c;
    if (write(ready[1], "r", 1) != 1)
        abort();
    while (read(never[0], &c, 1) != 0)
        ;
}

static void *worker_local(void *arg)
{
    (void)arg;
    void *volatile keep = malloc(700); /* (f) */
    memset(keep, 0, 700);
    void *volatile lost = malloc(900); /* (h) */
    memset(lost, 0, 900);
    lost = NULL;
    clobber_stack();
    wait_forever();
    return keep;
}

static void *worker_tls(void *arg)
{
    (void)arg;
    tls_keep = malloc(800); /* (g) */
    memset(tls_keep, 0, 800);
    wait_forever();
    return NULL;
}

static void *worker_read(void *arg)
{
    char *buf = malloc(1100); /* (q) */
    (void)arg;
    if (!buf || write(ready[1], "r", 1) != 1)
        abort();
    /* Never returns (nobody writes): buf is dead after the call, so only
     * the argument register holds it (glibc's read() would also save it on
     * the stack, being a cancellation point; the bare system call does not). */
    if (syscall(SYS_read, never[0], memset(buf, 0, 1100), 1) >= 0)
        abort();
    return NULL;
}

static void *worker_spin(void *arg)
{
    (void)arg;
    void *volatile keep = malloc(1000); /* (i) */
    memset(keep, 0, 1000);
    if (write(ready[1], "r", 1) != 1)
        abort();
    while (spin_forever)
        ;
    return keep;
}

static int run_threads(void)
{
    void *(*fn[])(void *) = {worker_local, worker_tls, worker_spin, worker_read};
    if (pipe(ready) != 0 || pipe(never) != 0)
        return 1;
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, fn[i], NULL) != 0)
            return 1;
    }
    for (int i = 0; i < 4; i++) {
        char c;
        if (read(ready[0], &c, 1) != 1)
            return 1;
    }
    usleep(200000); /* time for the readers to enter read() */
    make_lost(0);
    clobber_stack();
    nested(0);
    return 1;
}

/* A fresh anonymous mapping of n bytes holding p at byte offset at. */
static char *map_holding(size_t n, size_t at, void *p, int flags)
{
    char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (m == MAP_FAILED)
        abort();
    memcpy(m + at, &p, sizeof p);
    return m;
}

static void *filled(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return memset(p, 0, n);
}

static __attribute__((noinline)) void make_mapped(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    map_holding(pg, 64, filled(1100), 0); /* (j) */
    char *k = map_holding(pg, 8, filled(1200), 0); /* (k) */
    char *to = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (to == MAP_FAILED || mremap(k, pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, to + pg) != to + pg)
        abort();
    munmap(to, pg); /* the part of the reservation mremap did not replace */
    munmap(to + 3 * pg, pg);
    munmap(map_holding(pg, 0, filled(1300), 0), pg); /* (l) */
    map_holding((size_t)1 << 30, (size_t)1 << 29, filled(1400), MAP_NORESERVE); /* (m) */
    char *three = map_holding(3 * pg, pg + 16, filled(1500), 0); /* (n) */
    memcpy(three + 2 * pg + 16, &(void *){filled(1600)}, sizeof(void *)); /* (o) */
    munmap(three + pg, pg);
}

static void map_in_handler(int sig)
{
    (void)sig;
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED)
        munmap(m, 4096);
}

static int churn_done; /* threads finished */

static void *map_churn(void *arg)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        size_t n = pg * (size_t)(1 + i % 7);
        void *b = filled(100);
        char *m = map_holding(n, 0, b, 0);
        free(b);
        if (i % 3 == 0 && (m = mremap(m, n, 2 * n, MREMAP_MAYMOVE)) != MAP_FAILED)
            n *= 2;
        if (m == MAP_FAILED || munmap(m, n) != 0)
            abort();
    }
    __atomic_add_fetch(&churn_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static __attribute__((noinline)) void keep_in_mapping(void)
{
    map_holding((size_t)sysconf(_SC_PAGESIZE), 0, filled(1700), 0); /* (p) */
}

static int run_mapsig(void)
{
    pthread_t t[8];
    signal(SIGUSR1, map_in_handler);
    for (int i = 0; i < 8; i++)
        if (pthread_create(&t[i], NULL, map_churn, NULL) != 0)
            return 1;
    while (__atomic_load_n(&churn_done, __ATOMIC_ACQUIRE) < 8) {
        for (int i = 0; i < 8; i++)
            pthread_kill(t[i], SIGUSR1); /* a finished thread: ESRCH, harmless */
        usleep(50);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    keep_in_mapping();
    make_lost(0);
    clobber_stack();
    nested(0);
    return 1;
}

static void *touch_arg(void *arg)
{
    for (;;)
        ((volatile char *)arg)[0]++;
    return NULL;
}

static void *volatile handoff; /* (s), until the holder takes it */

static void *hold_in_register(void *arg)
{
    (void)arg;
#if defined(__x86_64__)
    __asm__ volatile("mov %0, %%r15\n"
                     "movq $0, %0\n"
                     "1: pause\n"
                     "jmp 1b\n"
                     : "+m"(handoff)
                     :
                     : "r15", "memory");
#endif
    for (;;) /* elsewhere: in a local */
        if (handoff)
            ((volatile char *)handoff)[0]++;
    return NULL;
}

static __attribute__((noinline)) int start_running(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, touch_arg, filled(1800)) != 0) /* (r) */
        return -1;
    handoff = filled(1900); /* (s) */
    if (pthread_create(&t, NULL, hold_in_register, NULL) != 0)
        return -1;
#if defined(__x86_64__)
    while (handoff)
        usleep(1000);
#endif
    return 0;
}

static void *lose_and_exit(void *arg)
{
    (void)arg;
    usleep(100000); /* main has left */
    make_lost(0);
    clobber_stack();
    nested(0);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "mixed";
    if (strcmp(mode, "globals") == 0) {
        make_reachable();
        clobber_stack();
        return 0;
    }
    if (strcmp(mode, "threads") == 0)
        return run_threads();
    if (strcmp(mode, "mapsig") == 0)
        return run_mapsig();
    if (strcmp(mode, "leaderless") == 0) {
        pthread_t t;
        make_reachable();
        if (pthread_create(&t, NULL, lose_and_exit, NULL) != 0)
            return 1;
        pthread_exit(NULL);
    }
    if (strcmp(mode, "running") == 0) {
        if (start_running() != 0)
            return 1;
        make_lost(0);
        clobber_stack();
        nested(0);
    }
    if (strcmp(mode, "mapped") == 0) {
        make_mapped();
        make_lost(0);
        clobber_stack();
        nested(0);
    }
    if (strcmp(mode, "lost") == 0) {
        make_lost(0);
        clobber_stack();
        return 0;
    }
    void *volatile local = malloc(600); /* (e) */
    memset(local, 0, 600);
    make_reachable();
    make_lost(1);
    clobber_stack();
    nested(0);
    return (int)(uintptr_t)local; /* not reached: keeps local live */
}
