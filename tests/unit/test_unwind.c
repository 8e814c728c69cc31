/*
 * test_unwind.c - stack capture (preload/unwind.c).
 *
 * hp_unwind_walk must report exactly the pcs libunwind's unw_backtrace
 * reports from the same place (the recorded stacks are compared with gdb's
 * and valgrind's elsewhere), whether it walks by its cached rules or falls
 * back to libunwind: plain call chains, frames with a frame pointer and
 * alloca, big frames, frames inside libc (qsort's comparator), a signal
 * handler's stack, a thread's stack, and truncation at max. And the cached
 * walk must actually be taken once the frames are known (issue 2: full
 * mode's cost).
 */
#include <alloca.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unwind.h"

#define MAXF HP_UNWIND_BUF

typedef struct pair_s {
    uintptr_t walk[MAXF], ref[MAXF];
    int nwalk, nref;
    int max;
} pair_t;

/* Both captures from one frame: entry 0 differs (two call sites in here),
 * everything from entry 1 on is the callers'. */
static __attribute__((noinline)) void capture_both(pair_t *p)
{
    p->nwalk = hp_unwind_walk(p->walk, p->max);
    p->nref = unw_backtrace((void **)p->ref, p->max);
    __asm__ volatile("" ::: "memory");
}

static void assert_same(const pair_t *p)
{
    assert_int_equal(p->nwalk, p->nref);
    assert_true(p->nwalk >= 1);
    for (int i = 1; i < p->nwalk; i++)
        assert_true(p->walk[i] == p->ref[i]);
}

/* Call chains of several shapes: plain, frame pointer + alloca, big frame. */
static volatile int sink;
static __attribute__((noinline)) void chain(pair_t *p, int depth);

static __attribute__((noinline)) void chain_alloca(pair_t *p, int depth)
{
    char *a = alloca(16 + (size_t)(depth % 7) * 32);
    a[0] = (char)depth;
    sink += a[0];
    chain(p, depth - 1);
    sink += a[0];
}

static __attribute__((noinline)) void chain_big(pair_t *p, int depth)
{
    volatile char big[20000];
    big[depth] = 1;
    chain(p, depth - 1);
    sink += big[depth];
}

static __attribute__((noinline)) void chain(pair_t *p, int depth)
{
    if (depth <= 0) {
        capture_both(p);
        return;
    }
    switch (depth % 3) {
    case 0:
        chain_alloca(p, depth);
        break;
    case 1:
        chain_big(p, depth);
        break;
    default:
        chain(p, depth - 1);
        break;
    }
    sink++;
}

static void test_unwind_matches_libunwind_on_call_chains(void **state)
{
    (void)state;
    static pair_t p;
    for (int round = 0; round < 2; round++)
        for (int d = 0; d < 60; d++) {
            p.max = MAXF;
            chain(&p, d);
            assert_same(&p);
        }
}

static void test_unwind_truncates_like_libunwind(void **state)
{
    (void)state;
    static pair_t p;
    int maxes[] = {1, 2, 5, 17, MAXF};
    for (int round = 0; round < 2; round++)
        for (size_t m = 0; m < sizeof maxes / sizeof *maxes; m++) {
            p.max = maxes[m];
            chain(&p, 200);
            assert_same(&p);
            assert_int_equal(p.nwalk, maxes[m]);
        }
}

/* Frames inside libc: qsort calls the comparator. */
static pair_t qp;
static int captured_in_cmp;
static int cmp_int(const void *a, const void *b)
{
    if (!captured_in_cmp) {
        captured_in_cmp = 1;
        capture_both(&qp);
    }
    return *(const int *)a - *(const int *)b;
}

static void test_unwind_matches_libunwind_through_libc(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        int v[64];
        for (int i = 0; i < 64; i++)
            v[i] = (i * 37) % 64;
        captured_in_cmp = 0;
        qp.max = MAXF;
        qsort(v, 64, sizeof *v, cmp_int);
        assert_true(captured_in_cmp);
        assert_same(&qp);
    }
}

/* A signal handler's stack: the signal frame is libunwind's to walk. */
static pair_t sp;
static void on_signal(int sig)
{
    (void)sig;
    capture_both(&sp);
}

static void test_unwind_matches_libunwind_in_signal_handler(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    for (int round = 0; round < 3; round++) {
        sp.max = MAXF;
        raise(SIGUSR1);
        assert_same(&sp);
        /* the stack goes past the signal frame, into this test */
        assert_true(sp.nwalk > 4);
    }
    signal(SIGUSR1, SIG_DFL);
}

static void *thread_main(void *arg)
{
    pair_t *p = arg;
    uint64_t fast0, slow0, reused0, fast1, slow1, reused1;
    hp_unwind_stats(&fast0, &slow0, &reused0);
#pragma GCC unroll 1
    for (int round = 0; round < 3; round++) {
        p->max = MAXF;
        chain(p, 5);
        if (p->nwalk != p->nref)
            return NULL;
        for (int i = 1; i < p->nwalk; i++)
            if (p->walk[i] != p->ref[i])
                return NULL;
    }
    hp_unwind_stats(&fast1, &slow1, &reused1);
    if (fast1 - fast0 < 2) /* the frames are known after round 0 at the latest */
        return NULL;
    return p;
}

/* Threads one after the other: the second adopts the first's walking
 * state (unwind.c keeps them), and both get libunwind's stacks. */
static void test_unwind_matches_libunwind_in_threads(void **state)
{
    (void)state;
    static pair_t p;
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        void *ret = NULL;
        assert_int_equal(pthread_create(&t, NULL, thread_main, &p), 0);
        assert_int_equal(pthread_join(t, &ret), 0);
        assert_ptr_equal(ret, &p);
    }
}

/* Once a stack's frames are known, capturing it again takes the cached
 * walk (unw_backtrace is not called), reuses the previous stack, and still
 * gives libunwind's pcs. */
static void test_unwind_second_capture_is_fast(void **state)
{
    (void)state;
    static pair_t p;
    static uint64_t fast[102], slow[102], reused[102];
    p.max = MAXF;
    /* one call site for every round: round 0 learns the frames */
#pragma GCC unroll 1
    for (int i = 0; i <= 100; i++) {
        hp_unwind_stats(&fast[i], &slow[i], &reused[i]);
        chain(&p, 12);
        assert_same(&p);
    }
    hp_unwind_stats(&fast[101], &slow[101], &reused[101]);
    assert_true(fast[101] - fast[1] == 100);
    assert_true(slow[101] == slow[1]);
    assert_true(reused[101] - reused[1] == 100);
}

/* The same function at the same stack depth called from two sites of its
 * caller: the frame matches the previous stack's, the return address
 * above it does not, and the capture must see the new one. */
static __attribute__((noinline)) void leaf(pair_t *p)
{
    capture_both(p);
    sink++;
}

static __attribute__((noinline)) void middle(pair_t *p)
{
    leaf(p);
    sink++;
}

static __attribute__((noinline)) void two_sites(pair_t *p, int which)
{
    if (which) {
        sink += 1;
        middle(p);
        sink += 2;
    } else {
        sink *= 3;
        middle(p);
        sink *= 5;
    }
}

static void test_unwind_sees_a_changed_caller(void **state)
{
    (void)state;
    static pair_t p;
    uintptr_t site[2] = {0, 0};
    static uint64_t fast[41], slow[41], reused[41];
    /* one call site for every round: rounds 0 and 1 learn the two stacks */
#pragma GCC unroll 1
    for (int i = 0; i < 40; i++) {
        hp_unwind_stats(&fast[i], &slow[i], &reused[i]);
        p.max = MAXF;
        two_sites(&p, i & 1);
        assert_same(&p);
        /* walk[3]: the return address into two_sites */
        if (!site[i & 1])
            site[i & 1] = p.walk[3];
        assert_true(p.walk[3] == site[i & 1]);
    }
    hp_unwind_stats(&fast[40], &slow[40], &reused[40]);
    assert_true(site[0] != site[1]);
    /* alternating sites: each finds its own last stack (unwind.c's history) */
    assert_true(reused[40] - reused[2] == 38);
    assert_true(slow[40] == slow[2]);
}

int main(void)
{
    hp_unwind_init(0, 0); /* no frames of ours to skip: compare all */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unwind_matches_libunwind_on_call_chains),
        cmocka_unit_test(test_unwind_truncates_like_libunwind),
        cmocka_unit_test(test_unwind_matches_libunwind_through_libc),
        cmocka_unit_test(test_unwind_matches_libunwind_in_signal_handler),
        cmocka_unit_test(test_unwind_matches_libunwind_in_threads),
        cmocka_unit_test(test_unwind_second_capture_is_fast),
        cmocka_unit_test(test_unwind_sees_a_changed_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
