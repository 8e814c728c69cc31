/*
 * test_blockidx.c - the leak scan's lookup (preload/blockidx.c): for any
 * address, the block that contains it or none, exactly as a search over
 * the sorted blocks says: inside small blocks side by side, inside large
 * blocks spanning pages, in the gaps between blocks, at every block's
 * first and last byte and one past it, with blocks 8 bytes apart (two
 * starts in one granule), and with no table at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "blockidx.h"

#define N 20000

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long naive(const hp_block_t *b, size_t n, uintptr_t w)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first block starting above w */
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].addr <= w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && w < b[lo - 1].end ? (long)lo - 1 : -1;
}

/* n blocks from base: mostly small, 16-byte aligned and side by side,
 * some 8-byte aligned, some spanning pages, some gaps. */
static size_t make_blocks(hp_block_t *b, size_t n, uintptr_t base, int eight)
{
    uintptr_t at = base;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next();
        size_t size = r % 64 == 0 ? 4096 + r % 70000 : eight && r % 5 == 0 ? 8 : 8 + r % 300;
        if (r % 7 == 0)
            at += 16 * (1 + (r >> 20) % 40); /* a gap */
        b[i] = (hp_block_t){at, at + size, (uint32_t)i};
        at += size;
        at = eight && (r >> 30) % 3 == 0 ? (at + 7) & ~(uintptr_t)7 : (at + 15) & ~(uintptr_t)15;
    }
    return n;
}

static void check_all(const hp_blockidx_t *ix, const hp_block_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uintptr_t probe[6] = {b[i].addr, b[i].addr + 1, b[i].end - 1, b[i].end,
                              b[i].addr - 1, b[i].addr + (b[i].end - b[i].addr) / 2};
        for (int k = 0; k < 6; k++)
            assert_int_equal(hp_blockidx_find(ix, probe[k]), naive(b, n, probe[k]));
    }
    for (int k = 0; k < 200000; k++) {
        uintptr_t w = b[0].addr - 64 + next() % (b[n - 1].end - b[0].addr + 128);
        assert_int_equal(hp_blockidx_find(ix, w), naive(b, n, w));
    }
    assert_int_equal(hp_blockidx_find(ix, 0), -1);
    assert_int_equal(hp_blockidx_find(ix, UINTPTR_MAX), -1);
}

static void test_blockidx_matches_search(void **state)
{
    (void)state;
    static hp_block_t b[N];
    for (int eight = 0; eight <= 1; eight++) {
        size_t n = make_blocks(b, N, (uintptr_t)0x55550000a010u, eight);
        hp_blockidx_t ix;
        assert_int_equal(hp_blockidx_build(&ix, b, n), 0);
        assert_non_null(ix.page);
        check_all(&ix, b, n);
        hp_blockidx_free(&ix);
    }
}

/* Two heaps far apart (the main arena and the mmap'd blocks, say), the
 * last block 3 MiB long. */
static void test_blockidx_far_apart(void **state)
{
    (void)state;
    static hp_block_t b[2 * 1000];
    make_blocks(b, 1000, (uintptr_t)0x555500001000u, 0);
    make_blocks(b + 1000, 1000, (uintptr_t)0x7f0000000010u, 0);
    b[1999].end = b[1999].addr + ((uintptr_t)3 << 20); /* beyond the pages indexed per block */
    hp_blockidx_t ix;
    assert_int_equal(hp_blockidx_build(&ix, b, 2000), 0);
    check_all(&ix, b, 2000);
    assert_int_equal(hp_blockidx_find(&ix, 0x600000000000u), -1);
    hp_blockidx_free(&ix);
}

static void test_blockidx_without_table(void **state)
{
    (void)state;
    static hp_block_t b[1000];
    size_t n = make_blocks(b, 1000, (uintptr_t)0x10000, 1);
    hp_blockidx_t ix;
    assert_int_equal(hp_blockidx_build(&ix, b, n), 0);
    hp_blockidx_free(&ix);
    assert_int_equal(hp_blockidx_build(&ix, b, n), 0);
    hp_blockidx_t none = ix;
    none.page = NULL;
    none.npage = 0; /* as when the table could not be mapped */
    check_all(&none, b, n);
    hp_blockidx_free(&ix);
    assert_int_equal(hp_blockidx_build(&ix, b, 0), 0);
    assert_int_equal(hp_blockidx_find(&ix, 0x10000), -1);
    hp_blockidx_free(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blockidx_matches_search),
        cmocka_unit_test(test_blockidx_far_apart),
        cmocka_unit_test(test_blockidx_without_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
