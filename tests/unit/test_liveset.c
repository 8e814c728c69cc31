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
        assert_int_equal(hp_liveset_insert(p, pair_of(p), 0, 0), 0);
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
        assert_int_equal(hp_liveset_insert(p, pair_of(p) + 1, 0, 1), 0); /* a lone inserter reuses them too */
    for (uintptr_t p = LO; p < LO + 16 * N; p += 16) {
        assert_int_equal(hp_liveset_remove(p, &pair), 1);
        assert_int_equal(pair, pair_of(p) + ((p - LO) % 32 == 0));
    }
    assert_int_equal(hp_liveset_remove(LO + 16, &pair), 0);
    hp_liveset_insert(0x1234560, 9, 0, 0);
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
        assert_int_equal(hp_liveset_insert(0x7f0000000000u + i * win, 100 + i, 0, 0), 0);
    for (uint32_t i = 32; i-- > 0;) {
        assert_int_equal(hp_liveset_remove(0x7f0000000000u + i * win, &pair), 1);
        assert_int_equal(pair, 100 + i);
    }
}

/* A slot's word names its block exactly: two blocks in one granule (an
 * allocator spacing 8-byte blocks) keep their own pairs, an address in the
 * window of another block at the same offset is not that block, and an
 * address the word cannot hold is refused, never mixed up. */
static void test_liveset_exact_keys(void **state)
{
    (void)state;
    uint32_t pair = 0;
    assert_int_equal(hp_liveset_init(0, 4), 0);
    hp_liveset_reset();
    uintptr_t g = 0x7f1234567890u;
    assert_int_equal(hp_liveset_insert(g + 8, 2, 0, 0), 0);
    assert_int_equal(hp_liveset_insert(g, 1, 0, 0), 0);
    assert_int_equal(hp_liveset_remove(g + 4096, &pair), 0);
    assert_int_equal(hp_liveset_remove(g + ((uintptr_t)1 << 26), &pair), 0);
    assert_int_equal(hp_liveset_remove(g + 8, &pair), 1);
    assert_int_equal(pair, 2);
    assert_int_equal(hp_liveset_remove(g + 8, &pair), 0);
    assert_int_equal(hp_liveset_remove(g, &pair), 1);
    assert_int_equal(pair, 1);
    assert_int_equal(hp_liveset_insert((uintptr_t)1 << 52, 3, 0, 0), -1);
    assert_int_equal(hp_liveset_remove((uintptr_t)1 << 52, &pair), 0);
    assert_int_equal(hp_liveset_insert(g + 4, 3, 0, 0), -1);
    /* The largest pair id survives the trip. */
    assert_int_equal(hp_liveset_insert(g, UINT32_MAX, 0, 0), 0);
    assert_int_equal(hp_liveset_remove(g, &pair), 1);
    assert_int_equal(pair, UINT32_MAX);
    hp_liveset_reset();
}

/* What the exit scan reads (leakscan.h): every block still in the set,
 * with the address, size and pair it was inserted with, and nothing else;
 * and whether any insert failed. */
typedef struct seen_s {
    int n;
    uintptr_t p[8];
    uint64_t size[8];
    uint32_t pair[8];
} seen_t;

static void seen(void *ctx, uintptr_t p, uint64_t size, uint32_t pair)
{
    seen_t *s = ctx;
    if (s->n < 8) {
        s->p[s->n] = p;
        s->size[s->n] = size;
        s->pair[s->n] = pair;
    }
    s->n++;
}

static void test_liveset_each_gives_blocks_back(void **state)
{
    (void)state;
    uint32_t pair = 0;
    assert_int_equal(hp_liveset_init(0, 4), 0);
    hp_liveset_reset();
    assert_int_equal(hp_liveset_keep_sizes(), 0);
    assert_int_equal(hp_liveset_each(NULL, NULL), 0);
    /* Far apart, in one granule, in colliding windows, high and low. */
    const uintptr_t at[5] = {0x10000, 0x7f1234567898u, 0x7f1234567890u,
                             0x7f1234567890u + ((uintptr_t)1 << 26), 0x3ffffffffff0u};
    for (int i = 0; i < 5; i++)
        assert_int_equal(hp_liveset_insert(at[i], 10u + (uint32_t)i, 100u * (uint64_t)i + 1, (int)(i & 1)), 0);
    assert_int_equal(hp_liveset_remove(at[2], &pair), 1);
    seen_t s = {0};
    assert_int_equal(hp_liveset_each(seen, &s), 4);
    assert_int_equal(s.n, 4);
    for (int i = 0; i < 5; i++) {
        int found = 0;
        for (int j = 0; j < s.n; j++)
            if (s.p[j] == at[i]) {
                found++;
                assert_int_equal(s.pair[j], 10u + (uint32_t)i);
                assert_int_equal(s.size[j], 100u * (uint64_t)i + 1);
            }
        assert_int_equal(found, i != 2);
    }
    assert_true(hp_liveset_complete());
    assert_int_equal(hp_liveset_insert((uintptr_t)1 << 52, 3, 1, 0), -1);
    assert_false(hp_liveset_complete());
    hp_liveset_reset();
    assert_true(hp_liveset_complete());
    assert_int_equal(hp_liveset_each(NULL, NULL), 0);
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
        assert_int_equal(hp_liveset_insert(p[i], (uint32_t)i + 1, 0, 0), 0);
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
        assert_int_equal(hp_liveset_insert(q + 16 * k, 1, 0, 0), 0);
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
        assert_int_equal(hp_liveset_insert(ARENA_BASE + a * ARENA_STRIDE + off, 1, 0, 0), 0);
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
        cmocka_unit_test(test_liveset_exact_keys),
        cmocka_unit_test(test_liveset_each_gives_blocks_back),
        cmocka_unit_test(test_liveset_filter_no_false_negative),
        cmocka_unit_test(test_liveset_filter_quiet_across_arenas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
