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
 * Mode "threads" calls exit() from main while three other threads run:
 *   (f) 700 bytes pointed to only from a local of a thread waiting in read(),
 *   (g) 800 bytes pointed to only from a __thread variable of such a thread,
 *   (h) 900 bytes no pointer reaches, allocated by the first thread,
 *   (i) 1000 bytes pointed to only from a local of a thread that spins,
 *   and (c) from main. Expected: (c) and (h) lost, 1200 bytes in 2 blocks;
 *   (f), (g) and (i) still reachable.
 *
 * The lost blocks are allocated in a separate function whose frame is then
 * overwritten, so that no stale copy of their addresses survives on the
 * stack (the scan is conservative, like LeakSanitizer's and memcheck's).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
    void *(*fn[])(void *) = {worker_local, worker_tls, worker_spin};
    if (pipe(ready) != 0 || pipe(never) != 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, fn[i], NULL) != 0)
            return 1;
    }
    for (int i = 0; i < 3; i++) {
        char c;
        if (read(ready[0], &c, 1) != 1)
            return 1;
    }
    make_lost(0);
    clobber_stack();
    nested(0);
    return 1;
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
