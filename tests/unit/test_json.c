/*
 * test_json.c - the --json output: DESIGN.md's fields with the right values,
 * site arrays sorted and holding only non-zero measures, valid strings.
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
#include "json.h"
#include "model.h"
#include "trace_writer.h"
#include "tmp_file.h"


/* Site 1 leaks 300 bytes; site 2 allocates 5000 and frees them (one of them
 * a temporary); site 3 allocates 40 and keeps them to the end too. */
static hp_analysis_t *load_sample(void)
{
    char err[512];
    hp_analysis_t *a;
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 99, "/bin/\"quoted\"\\prog", 0);
    assert_non_null(w);
    assert_int_equal(hp_tw_alloc(w, 1, 1, 0x100, 300, 1), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 2, 0x200, 4000, 2), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 3, 0x300, 1000, 2), 0);
    assert_int_equal(hp_tw_free(w, 1, 4, 0x300, 1), 0);
    assert_int_equal(hp_tw_free(w, 1, 5, 0x200, 0), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 6, 0x400, 40, 3), 0);
    uint64_t c[HP_FN_COUNT] = {[HP_FN_MALLOC] = 4, [HP_FN_FREE] = 2};
    uint64_t b[HP_FN_COUNT] = {[HP_FN_MALLOC] = 5340};
    assert_int_equal(hp_tw_counters(w, 1, c, b), 0);
    assert_int_equal(hp_tw_end(w, 1, 10, HP_END_EXIT), 0);
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    return a;
}

static char *render(hp_analysis_t *a, size_t top)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(hp_json_write(f, a, top), 0);
    fclose(f);
    return buf;
}

/* The text of array name: from its '[' to the matching ']'. */
static char *array_of(const char *json, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":[", name);
    const char *p = strstr(json, key);
    assert_non_null(p);
    p += strlen(key) - 1;
    int depth = 0;
    const char *q = p;
    do {
        if (*q == '[')
            depth++;
        else if (*q == ']')
            depth--;
        q++;
    } while (depth && *q);
    return strndup(p, (size_t)(q - p));
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_json_top_level_fields(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample();
    char *j = render(a, 0);
    static const char *const want[] = {
        "\"version\":2,", "\"sampling_rate\":1,", "\"total_allocations\":4,",
        "\"total_frees\":2,", "\"total_bytes\":5340,", "\"peak_bytes\":5300,",
        "\"leaked_bytes\":340,", "\"leaked_blocks\":2,", "\"temporary_allocations\":1,",
        "\"pid\":99,", "\"complete\":true,", "\"truncated\":false,", "\"samples\":4,",
        "\"peak_time_ns\":3,", "\"executable\":\"/bin/\\\"quoted\\\"\\\\prog\"",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(j, want[i]))
            fail_msg("missing %s in %s", want[i], j);
    }
    assert_int_equal(j[0], '{');
    assert_int_equal(j[strlen(j) - 2], '}');
    free(j);
    hp_analysis_free(a);
}

static void test_json_site_arrays_sorted_and_nonzero(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample();
    char *j = render(a, 0);
    char *hot = array_of(j, "hotspots");
    char *leaks = array_of(j, "leaks");
    char *peak = array_of(j, "peak_sites");
    char *temp = array_of(j, "temporary_sites");
    /* hotspots: 2 (5000), 1 (300), 3 (40) */
    assert_int_equal(count(hot, "\"stack_id\""), 3);
    assert_true(strstr(hot, "\"stack_id\":2") < strstr(hot, "\"stack_id\":1"));
    assert_true(strstr(hot, "\"stack_id\":1") < strstr(hot, "\"stack_id\":3"));
    /* leaks: 1 (300) then 3 (40); site 2 leaked nothing */
    assert_int_equal(count(leaks, "\"stack_id\""), 2);
    assert_null(strstr(leaks, "\"stack_id\":2"));
    assert_true(strstr(leaks, "\"stack_id\":1") < strstr(leaks, "\"stack_id\":3"));
    /* peak at ts 3: 1 (300) and 2 (5000); 3 did not exist yet */
    assert_int_equal(count(peak, "\"stack_id\""), 2);
    assert_true(strstr(peak, "\"stack_id\":2") < strstr(peak, "\"stack_id\":1"));
    assert_non_null(strstr(peak, "\"peak_bytes\":5000"));
    /* temporaries: site 2 only */
    assert_int_equal(count(temp, "\"stack_id\""), 1);
    assert_non_null(strstr(temp, "\"stack_id\":2"));
    /* every site has its numbers and a stack of frames with every field */
    static const char *const fields[] = {
        "\"allocations\":", "\"allocated_bytes\":", "\"peak_bytes\":", "\"leaked_bytes\":",
        "\"leaked_blocks\":", "\"temporary_allocations\":", "\"stack\":[{\"function\":",
        "\"file\":", "\"line\":", "\"module\":", "\"inlined\":",
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        assert_int_equal(count(hot, fields[i]), 3);
    assert_non_null(strstr(hot, "\"function\":\"[unknown stack]\""));
    free(hot);
    free(leaks);
    free(peak);
    free(temp);
    free(j);
    hp_analysis_free(a);
}

static void test_json_top_limits_arrays(void **state)
{
    (void)state;
    hp_analysis_t *a = load_sample();
    char *j = render(a, 1);
    char *hot = array_of(j, "hotspots");
    assert_int_equal(count(hot, "\"stack_id\""), 1);
    assert_non_null(strstr(hot, "\"stack_id\":2"));
    free(hot);
    free(j);
    hp_analysis_free(a);
}

static void test_json_string_escapes(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    hp_json_string(f, "a\"b\\c\nd\x01\xff" "\xc3\xa9");
    putc(' ', f);
    hp_json_string(f, NULL);
    fclose(f);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\nd\\u0001\\ufffd\xc3\xa9\" null");
    free(buf);
}

static void test_json_frame_fields(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    hp_frame_t fr = {.pc = 0x401000, .offset = 0x1000, .function = "f", .file = "f.c",
                     .line = 12, .module = "/bin/x", .inlined = 1};
    FILE *f = open_memstream(&buf, &len);
    hp_json_frame(f, &fr);
    fclose(f);
    assert_non_null(strstr(buf, "\"function\":\"f\""));
    assert_non_null(strstr(buf, "\"file\":\"f.c\""));
    assert_non_null(strstr(buf, "\"line\":12"));
    assert_non_null(strstr(buf, "\"module\":\"/bin/x\""));
    assert_non_null(strstr(buf, "\"inlined\":true"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_top_level_fields, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_json_site_arrays_sorted_and_nonzero, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_json_top_limits_arrays, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_json_frame_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
