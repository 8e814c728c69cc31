/*
 * test_liveset.c - the map of live recorded blocks (preload/liveset.c):
 * a recorded block's free finds it exactly once, with the pair its
 * allocation named; a pointer never inserted is never found; a reset
 * forgets everything.
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
    assert_int_equal(hp_liveset_init(0), 0);
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
    assert_int_equal(hp_liveset_init(0), 0);
    hp_liveset_reset();
    const uintptr_t win = (uintptr_t)1 << 26; /* the sampled table's window */
    for (uint32_t i = 0; i < 32; i++)
        assert_int_equal(hp_liveset_insert(0x7f0000000000u + i * win, 100 + i), 0);
    for (uint32_t i = 32; i-- > 0;) {
        assert_int_equal(hp_liveset_remove(0x7f0000000000u + i * win, &pair), 1);
        assert_int_equal(pair, 100 + i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveset_insert_remove),
        cmocka_unit_test(test_liveset_colliding_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
