/*
 * test_liveset.c - the map of live recorded blocks (preload/liveset.c):
 * a recorded block's free finds it exactly once, with the pair its
 * allocation named; a pointer never inserted is never found; a reset
 * forgets everything. The free() filter in front of it never says
 * "absent" for a live block (else its free would go unrecorded), and stays
 * quiet for the unsampled blocks of other thread arenas (else every
 * thread's frees would probe the map).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "liveset.h"

#define LO 0x10000u
#define N 50000u

static uint32_t pair_of(uintptr_t p)
{
    return (uint32_t)((p - LO) / 16 * 7 + 1); /* distinct, never 0 */
}

static void test_liveset_insert_remove(void **state)
{
    (void)state;
    uint32_t pair = 0;
    assert_int_equal(hp_liveset_init(0, 4), 0);
    hp_liveset_reset();
    for (uintptr_t p = LO; p < LO + 16 * N; p += 16)
        assert_int_equal(hp_liveset_insert(p, pair_of(p)), 0);
    assert_int_equal(hp_liveset_remove(0x8, &pair), 0);      /* never inserted */
    assert_int_equal(hp_liveset_remove(LO + 8, &pair), 0);   /* inside, not equal */
    for (uintptr_t p = LO; p < LO + 16 * N; p += 32) {
        assert_int_equal(hp_liveset_remove(p, &pair), 1);
        assert_int_equal(pair, pair_of(p));
    }
    assert_int_equal(hp_liveset_remove(LO, &pair), 0); /* only once */
    /* Tombstones are reused, do not hide later keys, and a reused slot
     * carries its new pair. */
    for (uintptr_t p = LO; p < LO + 16 * N; p += 32)
        assert_int_equal(hp_liveset_insert(p, pair_of(p) + 1), 0);
    for (uintptr_t p = LO; p < LO + 16 * N; p += 16) {
        assert_int_equal(hp_liveset_remove(p, &pair), 1);
        assert_int_equal(pair, pair_of(p) + ((p - LO) % 32 == 0));
    }
    assert_int_equal(hp_liveset_remove(LO + 16, &pair), 0);
    hp_liveset_insert(0x1234560, 9);
    hp_liveset_reset();
    assert_int_equal(hp_liveset_remove(0x1234560, &pair), 0);
}

/* The same offset in different windows (thread arenas): each address
 * keeps its own pair. */
static void test_liveset_colliding_windows(void **state)
{
    (void)state;
    uint32_t pair = 0;
    assert_int_equal(hp_liveset_init(0, 4), 0);
    hp_liveset_reset();
    const uintptr_t win = (uintptr_t)1 << 26; /* the sampled table's window */
    for (uint32_t i = 0; i < 32; i++)
        assert_int_equal(hp_liveset_insert(0x7f0000000000u + i * win, 100 + i), 0);
    for (uint32_t i = 32; i-- > 0;) {
        assert_int_equal(hp_liveset_remove(0x7f0000000000u + i * win, &pair), 1);
        assert_int_equal(pair, 100 + i);
    }
}

/* Window spacing of glibc's thread arenas (HEAP_MAX_SIZE on 64-bit). */
#define ARENA_STRIDE ((uintptr_t)64 << 20)
#define ARENA_BASE ((uintptr_t)0x7f0000000000)

/* An address of window w whose filter bucket is b (offset within the
 * window found by search; the map stores numbers, it never dereferences). */
static uintptr_t in_bucket(uintptr_t w, uint32_t b)
{
    uintptr_t win = (uintptr_t)1 << (HP_LIVESET_GRANULE_LOG + HP_LIVESET_FILTER_LOG);
    for (uintptr_t off = 0; off < win; off += (uintptr_t)1 << HP_LIVESET_GRANULE_LOG)
        if (hp_liveset_bucket(w * win + off) == b)
            return w * win + off;
    return 0;
}

static void test_liveset_filter_no_false_negative(void **state)
{
    (void)state;
    uint32_t pair = 0;
    assert_int_equal(hp_liveset_init(0, 4), 0);
    hp_liveset_reset();
    /* 300 live blocks sharing one bucket (different windows): the 8-bit
     * counter saturates, and every block still answers "maybe" while live. */
    enum { SHARED = 300 };
    static uintptr_t p[SHARED];
    uint32_t b = hp_liveset_bucket(ARENA_BASE + 0x1230);
    for (int i = 0; i < SHARED; i++) {
        p[i] = in_bucket((ARENA_BASE >> 24) + 1 + (uintptr_t)i, b) + 16 * (uintptr_t)(i % 32);
        assert_true(p[i] > 16 * 32);
        assert_int_equal(hp_liveset_bucket(p[i]), b);
        assert_int_equal(hp_liveset_insert(p[i], (uint32_t)i + 1), 0);
    }
    for (int i = 0; i < SHARED; i++) {
        assert_int_equal(hp_liveset_maybe(p[i]), 1);
        assert_int_equal(hp_liveset_remove(p[i], &pair), 1);
        assert_int_equal(pair, (uint32_t)i + 1);
        for (int j = i + 1; j < SHARED; j++)
            assert_int_equal(hp_liveset_maybe(p[j]), 1);
    }
    /* Neighbours in one granule: each removal leaves the others visible,
     * and the bucket is clear once the last one went. */
    uintptr_t q = ARENA_BASE + 0x40000;
    for (uintptr_t k = 0; k < 8; k++)
        assert_int_equal(hp_liveset_insert(q + 16 * k, 1), 0);
    for (uintptr_t k = 0; k < 8; k++) {
        for (uintptr_t j = k; j < 8; j++)
            assert_int_equal(hp_liveset_maybe(q + 16 * j), 1);
        assert_int_equal(hp_liveset_remove(q + 16 * k, &pair), 1);
    }
    assert_int_equal(hp_liveset_maybe(q), 0);
    hp_liveset_reset();
}

static void test_liveset_filter_quiet_across_arenas(void **state)
{
    (void)state;
    assert_int_equal(hp_liveset_init(0, 4), 0);
    hp_liveset_reset();
    /* One sampled block at the same offset of 16 arenas 64 MiB apart. */
    enum { ARENAS = 16 };
    uintptr_t off = 0x2345670;
    for (uintptr_t a = 0; a < ARENAS; a++)
        assert_int_equal(hp_liveset_insert(ARENA_BASE + a * ARENA_STRIDE + off, 1), 0);
    /* Around it, in every arena, only the sample's own granule says "maybe":
     * the blocks near it in the other arenas do not share its bucket. */
    uintptr_t gran = (uintptr_t)1 << HP_LIVESET_GRANULE_LOG;
    for (uintptr_t a = 0; a < ARENAS; a++) {
        uintptr_t mine = (ARENA_BASE + a * ARENA_STRIDE + off) & ~(gran - 1);
        for (uintptr_t p = mine - 256 * 1024; p < mine + 256 * 1024; p += 16)
            assert_int_equal(hp_liveset_maybe(p), p >= mine && p < mine + gran);
    }
    hp_liveset_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveset_insert_remove),
        cmocka_unit_test(test_liveset_colliding_windows),
        cmocka_unit_test(test_liveset_filter_no_false_negative),
        cmocka_unit_test(test_liveset_filter_quiet_across_arenas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
