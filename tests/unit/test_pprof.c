/*
 * test_pprof.c - unit tests of pprof.c: the file is gzip, decodes as a
 * profile.proto Profile, and carries the sample types, totals, locations
 * (inlined frames as Lines), mappings and period a reader needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof.h"
#include "profile.pb-c.h"
#include "synth_analysis.h"
#include "tmp_file.h"

typedef Heapprof__Pprof__Profile profile_t;


static profile_t *read_profile(void)
{
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(hp_tmp_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 2, f), 2);
    fclose(f);
    assert_int_equal(magic[0], 0x1f); /* gzip */
    assert_int_equal(magic[1], 0x8b);

    gzFile gz = gzopen(hp_tmp_path, "rb");
    assert_non_null(gz);
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    int n;
    while ((n = gzread(gz, buf + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)n;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    assert_int_equal(n, 0);
    gzclose(gz);
    profile_t *p = heapprof__pprof__profile__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(p);
    return p;
}

static const char *str(const profile_t *p, int64_t i)
{
    assert_true(i >= 0 && (size_t)i < p->n_string_table);
    return p->string_table[i];
}

static const Heapprof__Pprof__Location *loc(const profile_t *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_location; i++)
        if (p->location[i]->id == id)
            return p->location[i];
    fail_msg("no location %llu", (unsigned long long)id);
    return NULL;
}

static const Heapprof__Pprof__Function *fn(const profile_t *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_function; i++)
        if (p->function[i]->id == id)
            return p->function[i];
    fail_msg("no function %llu", (unsigned long long)id);
    return NULL;
}

static hp_analysis_t *sample_analysis(void)
{
    hp_analysis_t *a = synth_new("/usr/bin/demo", 1);
    synth_site(a,
               "main#demo.c:40@/usr/bin/demo;load#demo.c:20@/usr/bin/demo;"
               "+parse_inline#parse.h:7@/usr/bin/demo",
               10, 1000, 500, 100);
    synth_site(a, "main#demo.c:41@/usr/bin/demo;?@/usr/lib/libz.so.1", 5, 3000, 0, 0);
    synth_site(a, "main#demo.c:40@/usr/bin/demo;cache_put#demo.c:50@/usr/bin/demo", 2, 600, 600,
               600);
    synth_site(a, "", 1, 16, 16, 16);
    return a;
}

static void test_pprof_decodes_with_types_and_totals(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    assert_int_equal(hp_pprof_write(hp_tmp_path, a, 0), 0);
    profile_t *p = read_profile();
    static const char *types[4][2] = {{"alloc_objects", "count"},
                                      {"alloc_space", "bytes"},
                                      {"inuse_objects", "count"},
                                      {"inuse_space", "bytes"}};
    assert_int_equal(p->n_sample_type, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(str(p, p->sample_type[i]->type), types[i][0]);
        assert_string_equal(str(p, p->sample_type[i]->unit), types[i][1]);
    }
    assert_string_equal(p->string_table[0], "");
    assert_string_equal(str(p, p->period_type->type), "space");
    assert_string_equal(str(p, p->period_type->unit), "bytes");
    assert_int_equal(p->period, 1);
    assert_int_equal(p->time_nanos, (int64_t)a->start_unix_ns);
    assert_int_equal(p->duration_nanos, (int64_t)(a->end_ns - a->start_ns));
    assert_string_equal(str(p, p->default_sample_type), "inuse_space");

    int64_t sum[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < p->n_sample; i++) {
        assert_int_equal(p->sample[i]->n_value, 4);
        assert_true(p->sample[i]->n_location_id >= 1);
        for (int k = 0; k < 4; k++)
            sum[k] += p->sample[i]->value[k];
    }
    assert_int_equal(p->n_sample, 4);
    assert_int_equal(sum[0], (int64_t)a->total_allocations);
    assert_int_equal(sum[1], (int64_t)a->total_bytes);
    assert_int_equal(sum[2], (int64_t)a->leaked_blocks);
    assert_int_equal(sum[3], (int64_t)a->leaked_bytes);
    heapprof__pprof__profile__free_unpacked(p, NULL);
    synth_free(a);
}

static void test_pprof_peak_flag_uses_peak(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    assert_int_equal(hp_pprof_write(hp_tmp_path, a, 1), 0);
    profile_t *p = read_profile();
    int64_t bytes = 0;
    for (size_t i = 0; i < p->n_sample; i++)
        bytes += p->sample[i]->value[3];
    assert_int_equal(bytes, (int64_t)a->peak_bytes);
    heapprof__pprof__profile__free_unpacked(p, NULL);
    synth_free(a);
}

static void test_pprof_locations_lines_and_mappings(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    assert_int_equal(hp_pprof_write(hp_tmp_path, a, 0), 0);
    profile_t *p = read_profile();
    /* First sample: leaf location holds parse_inline (inlined) then load. */
    const Heapprof__Pprof__Sample *s = p->sample[0];
    assert_int_equal(s->n_location_id, 2);
    const Heapprof__Pprof__Location *leaf = loc(p, s->location_id[0]);
    assert_int_equal(leaf->n_line, 2);
    assert_string_equal(str(p, fn(p, leaf->line[0]->function_id)->name), "parse_inline");
    assert_string_equal(str(p, fn(p, leaf->line[0]->function_id)->filename), "parse.h");
    assert_int_equal(leaf->line[0]->line, 7);
    assert_string_equal(str(p, fn(p, leaf->line[1]->function_id)->name), "load");
    assert_int_equal(leaf->line[1]->line, 20);
    const Heapprof__Pprof__Location *root = loc(p, s->location_id[1]);
    assert_string_equal(str(p, fn(p, root->line[0]->function_id)->name), "main");
    /* The same main frame (same pc) is one Location shared by two samples. */
    assert_int_equal(p->sample[2]->location_id[1], s->location_id[1]);
    /* The program's mapping first, with its build-id, covering its pcs. */
    assert_true(p->n_mapping >= 2);
    assert_string_equal(str(p, p->mapping[0]->filename), "/usr/bin/demo");
    assert_string_equal(str(p, p->mapping[0]->build_id), "0123abcd");
    assert_int_equal(leaf->mapping_id, p->mapping[0]->id);
    assert_true(p->mapping[0]->memory_start <= leaf->address);
    assert_true(leaf->address < p->mapping[0]->memory_limit);
    assert_true(p->mapping[0]->has_functions);
    /* A frame without a function is named module+offset. */
    const Heapprof__Pprof__Location *z = loc(p, p->sample[1]->location_id[0]);
    assert_non_null(strstr(str(p, fn(p, z->line[0]->function_id)->name), "libz.so.1+0x"));
    /* A site without a stack still counts, under a placeholder. */
    const Heapprof__Pprof__Location *u = loc(p, p->sample[3]->location_id[0]);
    assert_string_equal(str(p, fn(p, u->line[0]->function_id)->name), "[unknown stack]");
    heapprof__pprof__profile__free_unpacked(p, NULL);
    synth_free(a);
}

static void test_pprof_sampled_rounds_estimates(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("demo", 524288);
    synth_site(a, "main;f", 2.6, 1048576.4, 0, 0);
    assert_int_equal(hp_pprof_write(hp_tmp_path, a, 0), 0);
    profile_t *p = read_profile();
    assert_int_equal(p->period, 524288);
    assert_int_equal(p->sample[0]->value[0], 3);
    assert_int_equal(p->sample[0]->value[1], 1048576);
    heapprof__pprof__profile__free_unpacked(p, NULL);
    synth_free(a);
}

static void test_pprof_unwritable_path_fails(void **state)
{
    (void)state;
    hp_analysis_t *a = sample_analysis();
    assert_true(hp_pprof_write("/nonexistent-dir/x.pb.gz", a, 0) < 0);
    synth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pprof_decodes_with_types_and_totals, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_pprof_peak_flag_uses_peak, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_pprof_locations_lines_and_mappings, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_pprof_sampled_rounds_estimates, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_pprof_unwritable_path_fails, hp_tmp_setup,
                                        hp_tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
