/*
 * test_report.c - the text report: summary figures, human-readable sizes,
 * the five sections in order, --top, --merge, and no colour unless asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "heapprof/error.h"
#include "model.h"
#include "report.h"
#include "trace_writer.h"
#include "tmp_file.h"


/*
 * Stacks 1 and 2 differ in a library frame but share their first frame in
 * the program (prog+0x1100); stack 3 is elsewhere in the program.
 * Stack 1 leaks 3 MiB, stack 2 leaks 1 MiB, stack 3 allocates 1536 bytes
 * a thousand times, temporaries.
 */
static hp_analysis_t *load_sample(uint64_t rate)
{
    char err[512];
    hp_analysis_t *a;
    hp_module_t mods[2] = {
        {.bias = 0x400000, .start = 0x400000, .end = 0x410000, .path = "/nonexistent/prog"},
        {.bias = 0x7f0000000000ull, .start = 0x7f0000000000ull, .end = 0x7f0000010000ull,
         .path = "/usr/lib/nonexistent/libfoo.so"},
    };
    const uint64_t s1[] = {0x7f0000000100ull, 0x401100, 0x401200};
    const uint64_t s2[] = {0x7f0000000200ull, 0x401100, 0x401300};
    const uint64_t s3[] = {0x402000, 0x401300};
    hp_tw_t *w = hp_tw_open(hp_tmp_path, rate, 1234, "/nonexistent/prog", 1000000000ull);
    assert_non_null(w);
    assert_int_equal(hp_tw_modules(w, 1, 0, 2, mods), 0);
    assert_int_equal(hp_tw_stack(w, 1, 1, 0, 3, s1), 0);
    assert_int_equal(hp_tw_stack(w, 1, 2, 0, 3, s2), 0);
    assert_int_equal(hp_tw_stack(w, 1, 3, 0, 2, s3), 0);
    uint64_t ts = 1000000000ull;
    assert_int_equal(hp_tw_alloc(w, 1, ts += 1000, 0x10000000, 3u << 20, 1), 0);
    assert_int_equal(hp_tw_alloc(w, 1, ts += 1000, 0x20000000, 1u << 20, 2), 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(hp_tw_alloc(w, 1, ts += 1000, 0x3000, 1536, 3), 0);
        assert_int_equal(hp_tw_free(w, 1, ts += 1000, 0x3000, 1), 0);
    }
    assert_int_equal(hp_tw_end(w, 1, 3500000000ull, HP_END_EXIT), 0);
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    return a;
}

static char *render(hp_analysis_t *a, size_t top, int merge, int color)
{
    char *buf = NULL;
    size_t len = 0;
    hp_report_opts_t o = {.top = top, .merge_sites = merge, .color = color};
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(hp_report_write(f, a, &o), 0);
    fclose(f);
    return buf;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void must(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("report lacks \"%s\":\n%s", needle, text);
}

static void test_report_summary(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample(1);
    char *r = render(a, 10, 0, 0);
    must(r, "/nonexistent/prog (pid 1234)");
    must(r, "run time        2.50 s");
    must(r, "leaked          4.0 MiB (4,194,304 bytes) in 2 blocks");
    must(r, "peak            4.0 MiB (4,195,840 bytes) in 3 blocks");
    must(r, "temporary       1,000 allocations");
    must(r, "every allocation recorded (full mode)");
    must(r, "no counters in the trace"); /* this trace has none */
    assert_null(strstr(r, "\033[")); /* no colour unless asked */
    free(r);
    hp_analysis_free(a);
}

static void test_report_sections_in_order(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample(1);
    char *r = render(a, 10, 0, 0);
    const char *peak = strstr(r, "Peak:"), *leaks = strstr(r, "Leaks:");
    const char *alloc = strstr(r, "Allocated:"), *calls = strstr(r, "Calls:");
    const char *temp = strstr(r, "Temporary:");
    assert_true(peak && leaks && alloc && calls && temp);
    assert_true(peak < leaks && leaks < alloc && alloc < calls && calls < temp);
    /* leaks: 3 MiB site first, then 1 MiB; frames as module+offset */
    const char *l1 = strstr(leaks, "3.0 MiB in 1 block ");
    const char *l2 = strstr(leaks, "1.0 MiB in 1 block ");
    assert_true(l1 && l2 && l1 < l2 && l2 < alloc);
    must(leaks, "/usr/lib/nonexistent/libfoo.so+0x");
    /* calls: the churning site */
    must(calls, "1,000 calls, 1.5 MiB");
    must(temp, "1,000 temporary of 1,000 calls");
    free(r);
    hp_analysis_free(a);
}

static void test_report_top_limits_sites(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample(1);
    char *r = render(a, 1, 0, 0);
    assert_int_equal(count(r, "  1. "), 5);
    assert_int_equal(count(r, "  2. "), 0);
    must(r, "(more sites: --top N)");
    free(r);
    hp_analysis_free(a);
}

static void test_report_merge_by_user_frame(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample(1);
    char *r = render(a, 10, 1, 0);
    const char *leaks = strstr(r, "Leaks:");
    assert_non_null(leaks);
    /* stacks 1 and 2 become one site of 4 MiB, shown from the user frame */
    must(leaks, "4.0 MiB in 2 blocks (100.0%)");
    char *alloc = strstr(r, "Allocated:");
    assert_non_null(alloc);
    *strstr(alloc, "Calls:") = '\0'; /* the Allocated section only */
    assert_int_equal(count(alloc, "  2. "), 1); /* merged site + churn site */
    assert_int_equal(count(alloc, "  3. "), 0);
    free(r);
    hp_analysis_free(a);
}

static void test_report_sampled_says_estimates(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample(65536);
    char *r = render(a, 10, 0, 1);
    must(r, "rate 65536");
    must(r, "1,002 samples");
    must(r, "estimates, unbiased");
    must(r, "\033["); /* colour when asked */
    free(r);
    hp_analysis_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_summary, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_sections_in_order, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_top_limits_sites, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_merge_by_user_frame, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_report_sampled_says_estimates, hp_tmp_setup,
                                        hp_tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
