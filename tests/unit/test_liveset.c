/*
 * test_liveset.c - the set of live sampled blocks (preload/liveset.c):
 * a sampled block's free is found exactly once, an unsampled pointer is
 * never found, and the empty fast path reflects the contents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "liveset.h"

static void test_liveset_insert_remove(void **state)
{
    (void)state;
    assert_int_equal(hp_liveset_init(), 0);
    hp_liveset_reset();
    assert_int_equal(hp_liveset_count(), 0);
    for (uintptr_t p = 0x10000; p < 0x10000 + 16 * 50000; p += 16)
        assert_int_equal(hp_liveset_insert(p), 0);
    assert_int_equal(hp_liveset_count(), 50000);
    assert_int_equal(hp_liveset_remove(0x8), 0);         /* never inserted */
    assert_int_equal(hp_liveset_remove(0x10000 + 8), 0); /* inside, not equal */
    for (uintptr_t p = 0x10000; p < 0x10000 + 16 * 50000; p += 32)
        assert_int_equal(hp_liveset_remove(p), 1);
    assert_int_equal(hp_liveset_remove(0x10000), 0); /* only once */
    assert_int_equal(hp_liveset_count(), 25000);
    /* Tombstones are reused and do not hide later keys. */
    for (uintptr_t p = 0x10000; p < 0x10000 + 16 * 50000; p += 32)
        assert_int_equal(hp_liveset_insert(p), 0);
    for (uintptr_t p = 0x10000; p < 0x10000 + 16 * 50000; p += 16)
        assert_int_equal(hp_liveset_remove(p), 1);
    assert_int_equal(hp_liveset_count(), 0);
    hp_liveset_insert(0x1234560);
    hp_liveset_reset();
    assert_int_equal(hp_liveset_count(), 0);
    assert_int_equal(hp_liveset_remove(0x1234560), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveset_insert_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
