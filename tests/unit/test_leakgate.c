/*
 * test_leakgate.c - unit tests of the leak gate (analyzer/leakgate.c).
 *
 * Builds hp_analysis_t values by hand (no trace, no symbolizer) with
 * known leak sites and checks the verdict, the suppressions' syntax and
 * counts, the C runtime classification and the JUnit / SARIF reports.
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
#include "leakgate.h"

#define APP "/home/u/proj/app"
#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LDSO "/usr/lib64/ld-linux-x86-64.so.2"
#define STDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

/* Frames of the fixtures. */
static const hp_frame_t f_make_table[] = {
    {0x1010, 0x1010, "make_table", "/home/u/proj/leak.c", 12, APP, NULL, 0},
    {0x1100, 0x1100, "main", "/home/u/proj/leak.c", 40, APP, NULL, 0},
    {0x7000, 0x29d90, "__libc_start_call_main", NULL, 0, LIBC, NULL, 0},
};
static const hp_frame_t f_copy_name[] = {
    {0x7100, 0x9a3b0, "strdup", NULL, 0, LIBC, NULL, 0},
    {0x1020, 0x1020, "copy_name", "/home/u/proj/leak.c", 20, APP, NULL, 0},
    {0x1110, 0x1110, "main", "/home/u/proj/leak.c", 41, APP, NULL, 0},
};
static const hp_frame_t f_new_node[] = {
    {0x1030, 0x1030, "new_node", "/home/u/proj/list.c", 7, APP, NULL, 1},
    {0x1120, 0x1120, "main", "/home/u/proj/leak.c", 42, APP, NULL, 0},
};
static const hp_frame_t f_freed[] = {
    {0x1040, 0x1040, "scratch", "/home/u/proj/leak.c", 30, APP, NULL, 0},
};
/* printf's stdout buffer: runtime. */
static const hp_frame_t f_stdout_buf[] = {
    {0x7200, 0x80f00, "_IO_file_doallocate", NULL, 0, LIBC, NULL, 0},
    {0x7210, 0x8f4e0, "_IO_doallocbuf", NULL, 0, LIBC, NULL, 0},
    {0x7220, 0x8e600, "_IO_file_overflow", NULL, 0, LIBC, NULL, 0},
    {0x7230, 0x60000, "printf", NULL, 0, LIBC, NULL, 0},
    {0x1130, 0x1130, "main", "/home/u/proj/leak.c", 43, APP, NULL, 0},
};
/* A thread's TLS from the loader: runtime. */
static const hp_frame_t f_tls[] = {
    {0x8000, 0x1e000, "_dl_allocate_tls", NULL, 0, LDSO, NULL, 0},
    {0x7300, 0x94000, "pthread_create", NULL, 0, LIBC, NULL, 0},
    {0x1140, 0x1140, "main", "/home/u/proj/leak.c", 44, APP, NULL, 0},
};
/* libstdc++'s emergency pool, allocated by its initializer: runtime. */
static const hp_frame_t f_eh_pool[] = {
    {0x9000, 0xa2000, NULL, NULL, 0, STDCXX, NULL, 0},
    {0x8100, 0x6000, "call_init", NULL, 0, LDSO, NULL, 0},
    {0x8110, 0x6100, "_dl_init", NULL, 0, LDSO, NULL, 0},
};

/* getpwuid's static result buffer: runtime. getline's buffer: the program's. */
static const hp_frame_t f_getpwuid[] = {
    {0x7500, 0xd4000, "getpwuid", NULL, 0, LIBC, NULL, 0},
    {0x1150, 0x1150, "main", "/home/u/proj/leak.c", 45, APP, NULL, 0},
};
static const hp_frame_t f_getline[] = {
    {0x7600, 0x7e000, "__getdelim", NULL, 0, LIBC, NULL, 0},
    {0x1160, 0x1160, "read_config", "/home/u/proj/conf.c", 9, APP, NULL, 0},
};

/* A thread started by the runtime itself: whole stack, all in libc. */
static const hp_frame_t f_runtime_thread[] = {
    {0x7400, 0x91000, "start_thread", NULL, 0, LIBC, NULL, 0},
    {0x7410, 0x126000, "__clone3", NULL, 0, LIBC, NULL, 0},
};

#define SITE(id, fr, bytes, blocks)                                                          \
    {(id), (fr), sizeof(fr) / sizeof((fr)[0]), (blocks), (bytes), 0,                         \
     0,    (bytes), (blocks), 0, 0, 0}

static hp_site_t three_leaks[] = {
    SITE(1, f_make_table, 4000, 1),
    SITE(2, f_copy_name, 600, 3),
    SITE(3, f_new_node, 48, 2),
    {4, f_freed, 1, 5, 5000, 100, 1, 0, 0, 3, 0, 0},
};

static hp_site_t runtime_only[] = {
    SITE(10, f_stdout_buf, 1024, 1),
    SITE(11, f_tls, 288, 1),
    SITE(12, f_eh_pool, 73728, 1),
};

static hp_analysis_t analysis(hp_site_t *sites, size_t n)
{
    hp_analysis_t a;
    memset(&a, 0, sizeof(a));
    a.version = HP_TRACE_VERSION;
    a.pid = 4242;
    a.rate = 1;
    a.exe = APP;
    a.complete = 1;
    a.sites = sites;
    a.nsites = n;
    for (size_t i = 0; i < n; i++) {
        a.leaked_bytes += sites[i].leaked_bytes;
        a.leaked_blocks += sites[i].leaked_blocks;
    }
    return a;
}

/* Runs the gate, returns its status and the text it printed in *text. */
static int run_gate(hp_leakgate_t *g, hp_analysis_t *a, double threshold, int show_runtime,
                    hp_gate_format_t fmt, const char *path, char **text)
{
    size_t len = 0;
    FILE *m = open_memstream(text, &len);
    int rc;
    assert_non_null(m);
    rc = hp_leakgate_run(g, m, a, threshold, show_runtime, fmt, path);
    fclose(m);
    return rc;
}

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/test_leakgate.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static void test_leakgate_fails_and_names_each_site(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks, 4);
    char *text = NULL;
    (void)state;
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 1);
    assert_non_null(strstr(text, "make_table /home/u/proj/leak.c:12"));
    assert_non_null(strstr(text, "copy_name /home/u/proj/leak.c:20"));
    assert_non_null(strstr(text, "new_node /home/u/proj/list.c:7 (inlined)"));
    assert_non_null(strstr(text, "strdup (libc.so.6+0x9a3b0)"));
    assert_null(strstr(text, "scratch")); /* freed: not a leak */
    assert_non_null(strstr(text, "leak 1 of 3: 4000 bytes in 1 block\n"));
    assert_non_null(strstr(text, "leak 3 of 3: 48 bytes in 2 blocks\n"));
    assert_non_null(
        strstr(text, "heapprof: 3 leaks, 4.5 KiB in 6 blocks - FAILED (threshold 0 B)\n"));
    free(text);
    hp_leakgate_free(g);
}

/* With a reachability scan, only lost blocks fail; still reachable ones
 * are counted apart; --gate-reachable counts them all again. */
static void test_leakgate_scan_counts_only_lost(void **state)
{
    hp_site_t sites[4];
    memcpy(sites, three_leaks, sizeof(sites));
    sites[0].lost_bytes = 4000; /* make_table: lost */
    sites[0].lost_blocks = 1;
    sites[2].lost_bytes = 24; /* new_node: one of its two nodes lost */
    sites[2].lost_blocks = 1;
    hp_analysis_t a = analysis(sites, 4);
    a.leak_scan = 1;
    a.lost_bytes = 4024;
    a.lost_blocks = 2;
    hp_leakgate_t *g = hp_leakgate_new();
    char *text = NULL;
    (void)state;
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 1);
    assert_non_null(strstr(text, "leak 1 of 2: 4000 bytes in 1 block\n"));
    assert_non_null(strstr(text, "leak 2 of 2: 24 bytes in 1 block\n"));
    assert_null(strstr(text, "copy_name")); /* still reachable: not a leak */
    assert_non_null(strstr(text, "reachable: 624 bytes in 4 blocks at 2 sites still reachable"));
    assert_non_null(
        strstr(text, "heapprof: 2 leaks, 3.9 KiB in 2 blocks - FAILED (threshold 0 B)\n"));
    free(text);
    assert_int_equal(run_gate(g, &a, 4024, 0, HP_GATE_NONE, NULL, &text), 0);
    free(text);
    hp_leakgate_set_reachable(g, 1);
    assert_int_equal(run_gate(g, &a, 4024, 0, HP_GATE_NONE, NULL, &text), 1);
    assert_non_null(strstr(text, "leak 3 of 3: 48 bytes in 2 blocks\n"));
    free(text);
    hp_leakgate_free(g);
}

static void test_leakgate_threshold_is_exclusive(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks, 4);
    char *text = NULL;
    (void)state;
    assert_int_equal(run_gate(g, &a, 4648, 0, HP_GATE_NONE, NULL, &text), 0);
    assert_non_null(strstr(text, "- PASSED (threshold 4.5 KiB)"));
    free(text);
    assert_int_equal(run_gate(g, &a, 4647, 0, HP_GATE_NONE, NULL, &text), 1);
    assert_non_null(strstr(text, "- FAILED"));
    free(text);
    hp_leakgate_free(g);
}

static void test_leakgate_no_leaks_passes(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks + 3, 1);
    char *text = NULL;
    (void)state;
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 0);
    assert_string_equal(text, "heapprof: no leaks - PASSED (threshold 0 B)\n");
    free(text);
    hp_leakgate_free(g);
}

static void test_leakgate_suppressions_hide_and_count(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks, 4);
    char *path = write_temp("# known leaks\n\nleak:make_table\n  leak: list.c  \n"
                            "leak:copy_name\nleak:never_called_anywhere\n");
    char err[256] = "", *text = NULL;
    (void)state;
    assert_int_equal(hp_leakgate_load(g, path, err, sizeof(err)), 0);
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 0);
    assert_non_null(strstr(text, "hid 1 leak, 4000 bytes in 1 block\n"));
    assert_non_null(strstr(text, "hid 1 leak, 48 bytes in 2 blocks\n"));
    assert_non_null(strstr(text, "hid 1 leak, 600 bytes in 3 blocks\n"));
    assert_non_null(strstr(text, "leak:never_called_anywhere"));
    assert_non_null(strstr(text, "unused\n"));
    assert_non_null(strstr(text, ":6 ")); /* the unused one's file:line */
    assert_non_null(strstr(text, "heapprof: no leaks - PASSED (threshold 0 B); 3 suppressed "
                                 "(4648 bytes)\n"));
    free(text);
    unlink(path);
    free(path);
    hp_leakgate_free(g);
}

static void test_leakgate_several_files_first_match_wins(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks, 4);
    char *p1 = write_temp("leak:main\n"), *p2 = write_temp("leak:make_table\n");
    char err[256], *text = NULL;
    (void)state;
    assert_int_equal(hp_leakgate_load(g, p1, err, sizeof(err)), 0);
    assert_int_equal(hp_leakgate_load(g, p2, err, sizeof(err)), 0);
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 0);
    assert_non_null(strstr(text, "hid 3 leaks, 4648 bytes in 6 blocks\n"));
    assert_non_null(strstr(text, "unused\n"));
    free(text);
    unlink(p1);
    unlink(p2);
    free(p1);
    free(p2);
    hp_leakgate_free(g);
}

static int suppressed(const char *line, const hp_site_t *s)
{
    hp_leakgate_t *g = hp_leakgate_new();
    char *path = write_temp(line), err[256];
    int k;
    assert_int_equal(hp_leakgate_load(g, path, err, sizeof(err)), 0);
    k = hp_leakgate_suppressed_by(g, s);
    unlink(path);
    free(path);
    hp_leakgate_free(g);
    return k >= 0;
}

static void test_leakgate_pattern_syntax_is_lsan(void **state)
{
    const hp_site_t *s = &three_leaks[0]; /* make_table leak.c:12, main, libc */
    (void)state;
    assert_true(suppressed("leak:make_tab\n", s));       /* substring */
    assert_true(suppressed("leak:^make_table$\n", s));   /* anchored both ends */
    assert_false(suppressed("leak:^ake_table\n", s));
    assert_false(suppressed("leak:make_tabl$\n", s));
    assert_true(suppressed("leak:mak*able\n", s));       /* wildcard */
    assert_true(suppressed("leak:^make*$\n", s));
    assert_false(suppressed("leak:^table*\n", s));
    assert_true(suppressed("leak:proj/leak.c\n", s));    /* file */
    assert_true(suppressed("leak:libc.so.6\n", s));      /* module */
    assert_true(suppressed("leak:__libc_start_call_main\n", s));
    assert_false(suppressed("leak:list.c\n", s));
    assert_false(suppressed("leak:make_table[1]\n", s)); /* '[' is literal */
}

static void test_leakgate_malformed_line_names_file_line(void **state)
{
    const char *bad[] = {"leak:ok\n# fine\nmake_table\n", "\n\nleek:foo\n",
                         "leak:a\nleak:b\nleak:\n", "leak:x\n\ninterceptor_via_fun:y\n"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hp_leakgate_t *g = hp_leakgate_new();
        char *path = write_temp(bad[i]), err[512] = "", want[300];
        snprintf(want, sizeof(want), "%s:3: ", path);
        assert_int_equal(hp_leakgate_load(g, path, err, sizeof(err)), HP_ERR_USAGE);
        assert_non_null(strstr(err, want));
        unlink(path);
        free(path);
        hp_leakgate_free(g);
    }
    {
        hp_leakgate_t *g = hp_leakgate_new();
        char err[512] = "";
        assert_int_equal(hp_leakgate_load(g, "/nonexistent/supp.txt", err, sizeof(err)),
                         HP_ERR_IO);
        assert_non_null(strstr(err, "/nonexistent/supp.txt"));
        hp_leakgate_free(g);
    }
}

static void test_leakgate_runtime_is_set_apart(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(runtime_only, 3);
    char *text = NULL;
    (void)state;
    assert_true(hp_leakgate_is_runtime(&runtime_only[0]));
    assert_true(hp_leakgate_is_runtime(&runtime_only[1]));
    assert_true(hp_leakgate_is_runtime(&runtime_only[2]));
    assert_false(hp_leakgate_is_runtime(&three_leaks[0]));
    assert_false(hp_leakgate_is_runtime(&three_leaks[1])); /* strdup by the program */
    {
        /* A stack cut short inside libc: the program's frames may be
         * missing, so it counts as the program's. */
        hp_site_t cut = {20, f_copy_name, 1, 1, 6, 0, 0, 6, 1, 0, 0, 0};
        hp_site_t whole_thread = {21, f_runtime_thread, 2, 1, 32, 0, 0, 32, 1, 0, 0, 0};
        hp_site_t pw = {22, f_getpwuid, 2, 1, 1024, 0, 0, 1024, 1, 0, 0, 0};
        hp_site_t gl = {23, f_getline, 2, 1, 120, 0, 0, 120, 1, 0, 0, 0};
        assert_true(hp_leakgate_is_runtime(&pw));
        assert_false(hp_leakgate_is_runtime(&gl));
        assert_false(hp_leakgate_is_runtime(&cut));
        assert_true(hp_leakgate_is_runtime(&whole_thread));
    }
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 0);
    assert_non_null(strstr(text, "runtime: 75040 bytes in 3 blocks allocated once by the C "
                                 "runtime (not counted; --show-runtime-leaks lists them)\n"));
    assert_null(strstr(text, "_IO_file_doallocate"));
    assert_non_null(strstr(text, "no leaks - PASSED"));
    free(text);
    assert_int_equal(run_gate(g, &a, 0, 1, HP_GATE_NONE, NULL, &text), 0);
    assert_non_null(strstr(text, "#0 _IO_file_doallocate (libc.so.6+0x80f00)"));
    assert_non_null(strstr(text, "#0 _dl_allocate_tls"));
    free(text);
    hp_leakgate_free(g);
}

static void test_leakgate_unknown_stack_counts(void **state)
{
    hp_site_t s[] = {{0, NULL, 0, 1, 100, 0, 0, 100, 1, 0, 0, 0}};
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(s, 1);
    char *text = NULL;
    (void)state;
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_NONE, NULL, &text), 1);
    assert_non_null(strstr(text, "(stack unknown)"));
    free(text);
    hp_leakgate_free(g);
}

static void test_leakgate_junit_has_case_per_site(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks, 4);
    char *supp = write_temp("leak:new_node\n"), *out = write_temp(""), err[256];
    char *text = NULL, *xml;
    (void)state;
    assert_int_equal(hp_leakgate_load(g, supp, err, sizeof(err)), 0);
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_JUNIT, out, &text), 1);
    xml = read_all(out);
    assert_non_null(strstr(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_non_null(strstr(xml, "<testsuites name=\"heapprof\" tests=\"3\" failures=\"2\" "
                                "errors=\"0\" skipped=\"1\""));
    assert_non_null(strstr(xml, "name=\"leak in make_table at /home/u/proj/leak.c:12\" "
                                "file=\"/home/u/proj/leak.c\" line=\"12\""));
    assert_non_null(strstr(xml, "name=\"leak in copy_name at /home/u/proj/leak.c:20\""));
    assert_non_null(strstr(xml, "<failure message=\"4000 bytes in 1 block leaked"));
    assert_non_null(strstr(xml, "<skipped message=\"suppressed by leak:new_node"));
    assert_null(strstr(xml, "scratch"));
    free(xml);
    free(text);
    unlink(supp);
    unlink(out);
    free(supp);
    free(out);
    hp_leakgate_free(g);
}

static void test_leakgate_sarif_points_at_user_frame(void **state)
{
    hp_leakgate_t *g = hp_leakgate_new();
    hp_analysis_t a = analysis(three_leaks, 4);
    char *out = write_temp(""), *junit = write_temp(""), *text = NULL, *json, *xml;
    (void)state;
    assert_int_equal(hp_leakgate_add_report(g, HP_GATE_JUNIT, junit), 0);
    assert_int_equal(hp_leakgate_add_report(g, 99, junit), HP_ERR_USAGE);
    assert_int_equal(run_gate(g, &a, 0, 0, HP_GATE_SARIF, out, &text), 1);
    json = read_all(out);
    assert_non_null(strstr(json, "\"version\": \"2.1.0\""));
    assert_non_null(strstr(json, "\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\""));
    assert_non_null(strstr(json, "\"name\": \"heapprof\""));
    assert_non_null(strstr(json, "\"ruleId\": \"heapprof/leak\""));
    assert_non_null(strstr(json, "\"level\": \"error\""));
    /* copy_name's site: strdup in libc is skipped, the user's frame is named. */
    assert_non_null(strstr(json, "{\"uri\": \"file:///home/u/proj/leak.c\"},\n"
                                 "                \"region\": {\"startLine\": 20}"));
    assert_non_null(strstr(json, "\"region\": {\"startLine\": 12}"));
    xml = read_all(junit); /* the extra report was written by the same run */
    assert_non_null(strstr(xml, "<testsuites"));
    free(xml);
    free(json);
    free(text);
    unlink(out);
    unlink(junit);
    free(out);
    free(junit);
    hp_leakgate_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leakgate_fails_and_names_each_site),
        cmocka_unit_test(test_leakgate_threshold_is_exclusive),
        cmocka_unit_test(test_leakgate_no_leaks_passes),
        cmocka_unit_test(test_leakgate_scan_counts_only_lost),
        cmocka_unit_test(test_leakgate_suppressions_hide_and_count),
        cmocka_unit_test(test_leakgate_several_files_first_match_wins),
        cmocka_unit_test(test_leakgate_pattern_syntax_is_lsan),
        cmocka_unit_test(test_leakgate_malformed_line_names_file_line),
        cmocka_unit_test(test_leakgate_runtime_is_set_apart),
        cmocka_unit_test(test_leakgate_unknown_stack_counts),
        cmocka_unit_test(test_leakgate_junit_has_case_per_site),
        cmocka_unit_test(test_leakgate_sarif_points_at_user_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
