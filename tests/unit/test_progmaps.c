/*
 * test_progmaps.c - the set of anonymous ranges the program mapped itself
 * (preload/progmaps.c), which the leak scan reads as roots: a range is
 * there exactly while the program has it mapped. Anonymous mappings are
 * added and merged with their neighbours; an unmap takes out exactly its
 * pages, splitting a range; a file mapped over part of a range takes that
 * part out; a remap moves a noted range and ignores one never noted; the
 * profiler's own mappings (under the guard) are never added. No system
 * call is made: the hooks' reports are fed in directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard.h"
#include "progmaps.h"

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static uintptr_t pg;

/* Asserts that the set is exactly the n ranges of want (in pages of pg,
 * from page 0x1000). */
static void expect(const uintptr_t (*want)[2], long n)
{
    hp_range_t got[16];
    assert_int_equal(hp_progmaps_snapshot(got, 16), n);
    for (long i = 0; i < n; i++) {
        assert_int_equal(got[i].lo, (0x1000 + want[i][0]) * pg);
        assert_int_equal(got[i].hi, (0x1000 + want[i][1]) * pg);
    }
}

static void *at(uintptr_t page)
{
    return (void *)((0x1000 + page) * pg);
}

static void clear(void)
{
    hp_progmaps_unmapped(at(0), 1000 * pg);
    expect(NULL, 0);
}

static void test_progmaps_add_merge_remove(void **state)
{
    (void)state;
    hp_progmaps_mapped(at(10), 2 * pg, ANON, NULL);
    hp_progmaps_mapped(at(20), 3 * pg - 100, ANON, NULL); /* rounded up to pages */
    expect((const uintptr_t[][2]){{10, 12}, {20, 23}}, 2);
    hp_progmaps_mapped(at(12), pg, ANON, NULL); /* touches the first: merged */
    hp_progmaps_mapped(at(15), 6 * pg, ANON | MAP_FIXED, NULL); /* overlaps the second */
    expect((const uintptr_t[][2]){{10, 13}, {15, 23}}, 2);
    hp_progmaps_unmapped(at(17), 2 * pg); /* the middle of a range: split */
    expect((const uintptr_t[][2]){{10, 13}, {15, 17}, {19, 23}}, 3);
    hp_progmaps_unmapped(at(30), 5 * pg); /* nothing there */
    hp_progmaps_unmapped(at(12), 4 * pg); /* the end of one, the start of another */
    expect((const uintptr_t[][2]){{10, 12}, {16, 17}, {19, 23}}, 3);
    hp_progmaps_unmapped(at(9), 15 * pg); /* all of them */
    expect(NULL, 0);
}

static void test_progmaps_file_over_anon(void **state)
{
    (void)state;
    hp_progmaps_mapped(at(40), 8 * pg, ANON, NULL);
    hp_progmaps_mapped(at(50), 8 * pg, MAP_PRIVATE, NULL); /* a file: not noted */
    hp_progmaps_mapped(at(42), 2 * pg, MAP_SHARED | MAP_FIXED, NULL); /* replaces two pages */
    expect((const uintptr_t[][2]){{40, 42}, {44, 48}}, 2);
    clear();
}

static void test_progmaps_remap(void **state)
{
    (void)state;
    hp_progmaps_mapped(at(100), 4 * pg, ANON, NULL);
    hp_progmaps_remapped(at(100), 4 * pg, at(100), 6 * pg, 0); /* grown in place */
    expect((const uintptr_t[][2]){{100, 106}}, 1);
    hp_progmaps_remapped(at(100), 6 * pg, at(200), 6 * pg, MREMAP_MAYMOVE); /* moved */
    expect((const uintptr_t[][2]){{200, 206}}, 1);
    hp_progmaps_remapped(at(300), 2 * pg, at(400), 2 * pg, MREMAP_MAYMOVE); /* not noted */
    expect((const uintptr_t[][2]){{200, 206}}, 1);
    hp_progmaps_remapped(at(200), 6 * pg, at(204), 2 * pg, 0); /* shrunk */
    expect((const uintptr_t[][2]){{204, 206}}, 1);
#ifdef MREMAP_DONTUNMAP
    hp_progmaps_remapped(at(204), 2 * pg, at(500), 2 * pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    expect((const uintptr_t[][2]){{204, 206}, {500, 502}}, 2);
#endif
    clear();
}

static void test_progmaps_not_the_profilers(void **state)
{
    (void)state;
    hp_guard_enter();
    hp_progmaps_mapped(at(600), 4 * pg, ANON, NULL);
    hp_guard_leave();
    expect(NULL, 0);
    /* An unmap counts whoever makes it. */
    hp_progmaps_mapped(at(600), 4 * pg, ANON, NULL);
    hp_guard_enter();
    hp_progmaps_unmapped(at(600), pg);
    hp_guard_leave();
    expect((const uintptr_t[][2]){{601, 604}}, 1);
    clear();
}

int main(void)
{
    pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (hp_progmaps_enable() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progmaps_add_merge_remove),
        cmocka_unit_test(test_progmaps_file_over_anon),
        cmocka_unit_test(test_progmaps_remap),
        cmocka_unit_test(test_progmaps_not_the_profilers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
