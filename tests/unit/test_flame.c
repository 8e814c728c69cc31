/*
 * test_flame.c - unit tests of flame.c: folded stacks and the SVG
 * flamegraph, on hand-built analyses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "synth_analysis.h"

/* Runs fn into a memory buffer; returns the NUL-terminated text (free it). */
static char *capture_folded(const hp_analysis_t *a, hp_kind_t k)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(hp_flame_write_folded(f, a, k), 0);
    fclose(f);
    return buf;
}

static char *capture_svg(const hp_analysis_t *a, hp_kind_t k, const char *title)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(hp_flame_write_svg(f, a, k, title), 0);
    fclose(f);
    return buf;
}

/* Sums the trailing integers of folded lines; checks each line's shape. */
static double folded_sum(const char *text, size_t *lines)
{
    double sum = 0;
    *lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        const char *sp = nl;
        while (sp > p && sp[-1] != ' ')
            sp--;
        assert_true(sp > p);
        char *end;
        double v = strtod(sp, &end);
        assert_ptr_equal(end, nl);
        assert_true(v > 0);
        sum += v;
        (*lines)++;
        p = nl + 1;
    }
    return sum;
}

static hp_analysis_t *sample_analysis(void)
{
    hp_analysis_t *a = synth_new("/usr/bin/demo", 1);
    synth_site(a, "main@/usr/bin/demo;load@/usr/bin/demo;parse@/usr/bin/demo", 10, 1000, 500, 100);
    synth_site(a, "main@/usr/bin/demo;load@/usr/bin/demo;read_file@/usr/bin/demo", 5, 3000, 0, 0);
    synth_site(a, "main@/usr/bin/demo;cache_put@/usr/bin/demo", 2, 600, 600, 600);
    synth_site(a, "main@/usr/bin/demo;std::vector<int>::push_back@/usr/lib/libstdc++.so.6", 7, 70,
               0, 0);
    return a;
}

static void test_flame_folded_root_first_and_sums_to_total(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    char *out = capture_folded(a, HP_KIND_ALLOCATED);
    size_t lines;
    assert_non_null(strstr(out, "main;load;parse 1000\n"));
    assert_non_null(strstr(out, "main;load;read_file 3000\n"));
    assert_non_null(strstr(out, "main;cache_put 600\n"));
    assert_non_null(strstr(out, "main;std::vector<int>::push_back 70\n"));
    assert_float_equal(folded_sum(out, &lines), (double)a->total_bytes, 0.5);
    assert_int_equal(lines, 4);
    free(out);
    synth_free(a);
}

static void test_flame_folded_kind_skips_zero(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    char *out = capture_folded(a, HP_KIND_LEAKED);
    size_t lines;
    assert_null(strstr(out, "read_file"));
    assert_float_equal(folded_sum(out, &lines), a->leaked_bytes, 0.5);
    assert_int_equal(lines, 2);
    free(out);
    out = capture_folded(a, HP_KIND_COUNT);
    assert_float_equal(folded_sum(out, &lines), (double)a->total_allocations, 0.5);
    free(out);
    synth_free(a);
}

static void test_flame_folded_merges_identical_stacks(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("demo", 1);
    /* Two stacks that differ only by address/line give one folded line. */
    synth_site(a, "main#a.c:3@demo;f#a.c:10@demo", 1, 10, 0, 0);
    synth_site(a, "main#a.c:4@demo;f#a.c:11@demo", 1, 32, 0, 0);
    synth_site(a, "main@demo;g;x;y@demo", 1, 5, 0, 0);
    char *out = capture_folded(a, HP_KIND_ALLOCATED);
    assert_string_equal(out, "main;f 42\nmain;g;x;y 5\n");
    free(out);
    synth_free(a);
}

static void test_flame_folded_escapes_separators(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("demo", 1);
    a->sites = NULL;
    synth_site(a, "main@demo;x@demo", 1, 9, 0, 0);
    /* A function name with ';' must not create a frame boundary. */
    ((hp_frame_t *)a->sites[0].frames)[0].function = "operator;weird";
    char *out = capture_folded(a, HP_KIND_ALLOCATED);
    assert_string_equal(out, "main;operator:weird 9\n");
    free(out);
    synth_free(a);
}

static void test_flame_folded_rounded_values_sum_to_rounded_total(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("demo", 4096);
    double total = 0;
    char name[64];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "main;f%d", i);
        synth_site(a, name, 1.3, 100.4 + i * 0.01, 0, 0);
        total += 100.4 + i * 0.01;
    }
    char *out = capture_folded(a, HP_KIND_ALLOCATED);
    size_t lines;
    assert_float_equal(folded_sum(out, &lines), llround(total), 0.01);
    free(out);
    synth_free(a);
}

static void test_flame_frame_name_fallbacks(void **state)
{
    (void)state;
    char buf[128];
    hp_frame_t f = {.pc = 0x7f0012345678, .offset = 0x1234, .module = "/usr/lib/libfoo.so.1"};
    assert_string_equal(hp_flame_frame_name(&f, buf, sizeof(buf)), "libfoo.so.1+0x1234");
    f.function = "foo_init";
    assert_string_equal(hp_flame_frame_name(&f, buf, sizeof(buf)), "foo_init");
    f.function = NULL;
    f.module = NULL;
    assert_string_equal(hp_flame_frame_name(&f, buf, sizeof(buf)), "0x7f0012345678");
}

/* Width of the frame whose <title> starts with name, or -1. */
static double frame_width(const char *svg, const char *name)
{
    char key[256];
    snprintf(key, sizeof(key), "<g class=\"f\"><title>%s\n", name);
    const char *g = strstr(svg, key);
    if (!g)
        return -1;
    const char *w = strstr(g, "width=\"");
    assert_non_null(w);
    return atof(w + 7);
}

static void test_flame_svg_widths_proportional(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    char *svg = capture_svg(a, HP_KIND_ALLOCATED, NULL);
    double all = frame_width(svg, "all");
    assert_true(all > 1000);
    /* load = 4000 of 4670 bytes, read_file = 3000. */
    assert_float_equal(frame_width(svg, "load") / all, 4000.0 / 4670.0, 1e-3);
    assert_float_equal(frame_width(svg, "read_file") / all, 3000.0 / 4670.0, 1e-3);
    assert_float_equal(frame_width(svg, "main"), all, 1e-2);
    /* Self-contained: script and style inline, no external reference. */
    assert_non_null(strstr(svg, "<script"));
    assert_non_null(strstr(svg, "<style"));
    assert_null(strstr(svg, "http://") == NULL ? NULL : strstr(svg, "href="));
    assert_null(strstr(svg, "https://"));
    /* The title names the kind, the program and the total. */
    assert_non_null(strstr(svg, "Allocated bytes: /usr/bin/demo"));
    assert_non_null(strstr(svg, "total 4.56 KiB"));
    free(svg);
    synth_free(a);
}

static void test_flame_svg_escapes_xml(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("a&b<c>", 1);
    synth_site(a, "main@a&b<c>;std::map<int, \"x\">::operator[]#src/<gen>.cc:7@a&b<c>", 1, 64, 0,
               0);
    char *svg = capture_svg(a, HP_KIND_ALLOCATED, NULL);
    assert_null(strstr(svg, "map<int"));
    assert_non_null(strstr(svg, "std::map&lt;int, &quot;x&quot;&gt;::operator[]"));
    assert_non_null(strstr(svg, "src/&lt;gen&gt;.cc:7"));
    assert_non_null(strstr(svg, "a&amp;b&lt;c&gt;"));
    free(svg);
    synth_free(a);
}

static void test_flame_svg_colours_by_module_class(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("/opt/app", 1);
    synth_site(a, "main@/opt/app;strdup@/lib/x86_64-linux-gnu/libc.so.6", 1, 100, 0, 0);
    synth_site(a, "main@/opt/app;operator new@/usr/lib/libstdc++.so.6", 1, 100, 0, 0);
    synth_site(a, "main@/opt/app;?@/usr/lib/libz.so.1", 1, 100, 0, 0);
    synth_site(a, "main@/opt/app;?", 1, 100, 0, 0);
    char *svg = capture_svg(a, HP_KIND_ALLOCATED, NULL);
    /* Hues: program 15-46, libc 195-224, C++ runtime 95-133, other 255-303, unknown 355. */
    struct {
        const char *name;
        int lo, hi;
    } want[] = {
        {"main", 15, 46},           {"strdup", 195, 224}, {"operator new", 95, 133},
        {"libz.so.1+0x", 255, 303}, {"0x", 355, 355},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char key[128];
        snprintf(key, sizeof(key), "<g class=\"f\"><title>%s", want[i].name);
        const char *g = strstr(svg, key);
        assert_non_null(g);
        const char *h = strstr(g, "fill=\"hsl(");
        assert_non_null(h);
        int hue = atoi(h + 10);
        assert_in_range(hue, want[i].lo, want[i].hi);
    }
    free(svg);
    synth_free(a);
}

static void test_flame_svg_merges_tiny_frames_and_stays_small(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("demo", 1);
    char stack[256];
    /* 10^4 distinct stacks of 6 frames, one big one. */
    synth_site(a, "main;big;bigger", 1, 5e6, 0, 0);
    for (int i = 0; i < 10000; i++) {
        snprintf(stack, sizeof(stack), "main;mid%d;leaf%d;x%d;y%d;z%d", i % 50, i, i, i, i);
        synth_site(a, stack, 1, 100 + i % 7, 0, 0);
    }
    char *svg = capture_svg(a, HP_KIND_ALLOCATED, NULL);
    size_t len = strlen(svg);
    assert_true(len < 5u * 1024 * 1024);
    assert_non_null(strstr(svg, "smaller frames]"));
    assert_null(strstr(svg, "<title>leaf9999\n"));
    free(svg);
    synth_free(a);
}

static void test_flame_svg_empty_kind_is_valid(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    for (size_t i = 0; i < a->nsites; i++)
        a->sites[i].temporary_allocations = 0;
    char *svg = capture_svg(a, HP_KIND_TEMPORARY, "custom <title>");
    assert_non_null(strstr(svg, "custom &lt;title&gt;"));
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    synth_free(a);
}

static void test_flame_svg_sampled_names_exact_total(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("demo", 524288);
    synth_site(a, "main;f", 3, 3.5 * 1048576, 0, 0);
    a->total_bytes = 3 * 1048576; /* the exact counters differ from the estimate */
    char *svg = capture_svg(a, HP_KIND_ALLOCATED, NULL);
    assert_non_null(strstr(svg, "total 3.50 MiB"));
    assert_non_null(strstr(svg, "sampled every 524288 bytes on average; exact total 3.00 MiB"));
    free(svg);
    synth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flame_folded_root_first_and_sums_to_total),
        cmocka_unit_test(test_flame_folded_kind_skips_zero),
        cmocka_unit_test(test_flame_folded_merges_identical_stacks),
        cmocka_unit_test(test_flame_folded_escapes_separators),
        cmocka_unit_test(test_flame_folded_rounded_values_sum_to_rounded_total),
        cmocka_unit_test(test_flame_frame_name_fallbacks),
        cmocka_unit_test(test_flame_svg_widths_proportional),
        cmocka_unit_test(test_flame_svg_escapes_xml),
        cmocka_unit_test(test_flame_svg_colours_by_module_class),
        cmocka_unit_test(test_flame_svg_merges_tiny_frames_and_stays_small),
        cmocka_unit_test(test_flame_svg_empty_kind_is_valid),
        cmocka_unit_test(test_flame_svg_sampled_names_exact_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
