/*
 * test_diff.c - unit tests of diff.c on two hand-built analyses: matching
 * by symbolized stack, deltas, order, new/gone, and each output format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "synth_analysis.h"

static char *capture(const hp_analysis_t *b, const hp_analysis_t *c, hp_diff_format_t fmt,
                     hp_kind_t kind, size_t top)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(hp_diff_write(f, b, c, fmt, kind, top), 0);
    fclose(f);
    return buf;
}

/* base and cur of one program; cur's frames sit at other addresses. */
static void make_pair(hp_analysis_t **pb, hp_analysis_t **pc)
{
    hp_analysis_t *b = synth_new("/usr/bin/app", 1), *c = synth_new("/usr/bin/app", 1);
    /* grows by 5000 allocated bytes */
    synth_site(b, "main@/usr/bin/app;load@/usr/bin/app", 10, 1000, 0, 0);
    synth_site(c, "main@/usr/bin/app;load@/usr/bin/app", 12, 6000, 0, 0);
    /* leaks 300 more, allocates the same */
    synth_site(b, "main@/usr/bin/app;cache@/usr/bin/app", 4, 800, 400, 100);
    synth_site(c, "main@/usr/bin/app;cache@/usr/bin/app", 4, 800, 400, 400);
    /* gone: -2000 */
    synth_site(b, "main@/usr/bin/app;old_path@/usr/bin/app", 2, 2000, 2000, 0);
    /* new: +700 */
    synth_site(c, "main@/usr/bin/app;new_path@/usr/bin/app", 7, 700, 0, 0);
    /* unchanged */
    synth_site(b, "main@/usr/bin/app;steady@/usr/bin/app", 1, 50, 0, 0);
    synth_site(c, "main@/usr/bin/app;steady@/usr/bin/app", 1, 50, 0, 0);
    /* Other addresses in cur: matching must not depend on them. */
    for (size_t i = 0; i < c->nsites; i++)
        for (size_t k = 0; k < c->sites[i].nframes; k++)
            ((hp_frame_t *)c->sites[i].frames)[k].pc += 0x10000000;
    *pb = b;
    *pc = c;
}

static void test_diff_json_deltas_and_order(void **state)
{
    (void)state;
    hp_analysis_t *b, *c;
    make_pair(&b, &c);
    char *j = capture(b, c, HP_DIFF_JSON, HP_KIND_ALLOCATED, 0);
    /* Order by largest absolute change: load (+5000), old_path (-2000),
     * new_path (+700), cache (+300 leaked), steady (0). */
    const char *load = strstr(j, "\"function\":\"load\"");
    const char *old = strstr(j, "\"function\":\"old_path\"");
    const char *nw = strstr(j, "\"function\":\"new_path\"");
    const char *cache = strstr(j, "\"function\":\"cache\"");
    const char *steady = strstr(j, "\"function\":\"steady\"");
    assert_true(load && old && nw && cache && steady);
    assert_true(load < old && old < nw && nw < cache && cache < steady);
    assert_non_null(strstr(j, "\"delta\":{\"allocations\":2,\"allocated_bytes\":5000,"));
    assert_non_null(
        strstr(j, "\"delta\":{\"allocations\":-2,\"allocated_bytes\":-2000,\"peak_bytes\":-2000,"));
    assert_non_null(strstr(j, "\"leaked_bytes\":300,"));
    assert_non_null(strstr(j, "\"matched_sites\":3,\"new_sites\":1,\"gone_sites\":1"));
    /* Totals: 3850 -> 7550 allocated. */
    assert_non_null(strstr(j, "\"delta\":{\"total_allocations\":7,\"total_bytes\":3700,"));
    /* Status of the unmatched. */
    assert_non_null(strstr(old - 200 > j ? old - 200 : j, "\"status\":\"gone\""));
    assert_true(strstr(j, "\"status\":\"new\"") < nw);
    free(j);
    synth_free(b);
    synth_free(c);
}

static void test_diff_text_table(void **state)
{
    (void)state;
    hp_analysis_t *b, *c;
    make_pair(&b, &c);
    char *t = capture(b, c, HP_DIFF_TEXT, HP_KIND_ALLOCATED, 0);
    assert_non_null(strstr(t, "sites: 3 matched, 1 new, 1 gone; 1 unchanged not listed"));
    assert_non_null(strstr(t, "+4.88 KiB")); /* +5000 B on load */
    assert_non_null(strstr(t, "-1.95 KiB")); /* -2000 B on old_path */
    assert_null(strstr(t, "steady"));        /* unchanged rows left out */
    assert_true(strstr(t, "load < main") < strstr(t, "old_path < main"));
    free(t);
    /* --top 1 keeps the largest change only. */
    t = capture(b, c, HP_DIFF_TEXT, HP_KIND_ALLOCATED, 1);
    assert_non_null(strstr(t, "load < main"));
    assert_null(strstr(t, "old_path"));
    free(t);
    synth_free(b);
    synth_free(c);
}

static void test_diff_folded_growth_only(void **state)
{
    (void)state;
    hp_analysis_t *b, *c;
    make_pair(&b, &c);
    char *f = capture(b, c, HP_DIFF_FOLDED, HP_KIND_ALLOCATED, 0);
    assert_string_equal(f, "main;load 5000\nmain;new_path 700\n");
    free(f);
    f = capture(b, c, HP_DIFF_FOLDED, HP_KIND_LEAKED, 0);
    assert_string_equal(f, "main;cache 300\n");
    free(f);
    f = capture(b, c, HP_DIFF_FLAME, HP_KIND_ALLOCATED, 0);
    assert_non_null(strstr(f, "<svg"));
    assert_non_null(strstr(f, "growth of /usr/bin/app"));
    assert_non_null(strstr(f, "<title>new_path\n"));
    assert_null(strstr(f, "<title>old_path\n"));
    free(f);
    synth_free(b);
    synth_free(c);
}

static void test_diff_merges_same_names_within_one_trace(void **state)
{
    (void)state;
    hp_analysis_t *b = synth_new("app", 1), *c = synth_new("app", 1);
    synth_site(b, "main#a.c:1;f#a.c:2", 1, 100, 0, 0);
    /* two stacks of cur with the same names (other lines) sum up */
    synth_site(c, "main#a.c:1;f#a.c:2", 1, 100, 0, 0);
    synth_site(c, "main#a.c:9;f#a.c:7", 1, 150, 0, 0);
    char *j = capture(b, c, HP_DIFF_JSON, HP_KIND_ALLOCATED, 0);
    assert_non_null(strstr(j, "\"matched_sites\":1,\"new_sites\":0,\"gone_sites\":0"));
    assert_non_null(strstr(j, "\"delta\":{\"allocations\":1,\"allocated_bytes\":150,"));
    free(j);
    synth_free(b);
    synth_free(c);
}

static void test_diff_identical_traces_show_no_change(void **state)
{
    (void)state;
    hp_analysis_t *b, *c;
    make_pair(&b, &c);
    char *t = capture(b, b, HP_DIFF_TEXT, HP_KIND_ALLOCATED, 0);
    assert_non_null(strstr(t, "(no site changed)"));
    free(t);
    t = capture(b, b, HP_DIFF_FOLDED, HP_KIND_ALLOCATED, 0);
    assert_string_equal(t, "");
    free(t);
    synth_free(b);
    synth_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_json_deltas_and_order),
        cmocka_unit_test(test_diff_text_table),
        cmocka_unit_test(test_diff_folded_growth_only),
        cmocka_unit_test(test_diff_merges_same_names_within_one_trace),
        cmocka_unit_test(test_diff_identical_traces_show_no_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
