/*
 * test_model.c - the replay's numbers on synthetic traces: exact peak, leak,
 * temporaries and allocated bytes per site in full mode; unbiased estimates
 * in sampled mode; stack trimming; replay callback order.
 */
#include <math.h>
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
#include "trace_writer.h"
#include "tmp_file.h"


static const hp_site_t *site_of(const hp_analysis_t *a, uint32_t id)
{
    for (size_t i = 0; i < a->nsites; i++)
        if (a->sites[i].stack_id == id)
            return &a->sites[i];
    return NULL;
}

/*
 * Thread 1:            live   s1   s2   s3
 *  10 alloc A 100 s1    100  100
 *  20 alloc B 200 s2    300  100  200
 *  30 alloc C  50 s3    350  100  200  50
 *  40 free  B           150  100    0  50
 *  50 alloc D 300 s2    450  100  300  50   <- peak
 *  60 free  D (temp)    150  100    0  50
 * Thread 2:
 *  65 free of a block never allocated in the trace (a pair it never
 *     defines: ignored, counted as an unknown free)
 *  70 alloc E  10 s1    160  110    0  50
 *  80 free  C           110  110    0   0
 */
static void write_scenario(const char *p)
{
    hp_tw_t *w = hp_tw_open(p, 1, 77, "/bin/prog", 0);
    assert_non_null(w);
    assert_int_equal(hp_tw_alloc(w, 1, 10, 0xA000, 100, 1), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 20, 0xB000, 200, 2), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 30, 0xC000, 50, 3), 0);
    assert_int_equal(hp_tw_free(w, 1, 40, 0xB000, 0), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 50, 0xD000, 300, 2), 0);
    assert_int_equal(hp_tw_free(w, 1, 60, 0xD000, 1), 0);
    assert_int_equal(hp_tw_free(w, 2, 65, 0x999000, 0), 0);
    assert_int_equal(hp_tw_alloc(w, 2, 70, 0xE000, 10, 1), 0);
    assert_int_equal(hp_tw_free(w, 2, 80, 0xC000, 0), 0);
    uint64_t c1[HP_FN_COUNT] = {[HP_FN_MALLOC] = 3, [HP_FN_CALLOC] = 1, [HP_FN_FREE] = 2};
    uint64_t b1[HP_FN_COUNT] = {[HP_FN_MALLOC] = 350, [HP_FN_CALLOC] = 300};
    uint64_t c2[HP_FN_COUNT] = {[HP_FN_MALLOC] = 1, [HP_FN_FREE] = 2};
    uint64_t b2[HP_FN_COUNT] = {[HP_FN_MALLOC] = 10};
    assert_int_equal(hp_tw_counters(w, 1, c1, b1), 0);
    assert_int_equal(hp_tw_counters(w, 2, c2, b2), 0);
    assert_int_equal(hp_tw_end(w, 0, 100, HP_END_EXIT), 0);
    assert_int_equal(hp_tw_close(w), 0);
}

static void test_model_full_mode_exact(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a;
    write_scenario(hp_tmp_path);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    assert_int_equal(a->version, HP_TRACE_VERSION);
    assert_int_equal(a->pid, 77);
    assert_int_equal(a->rate, 1);
    assert_string_equal(a->exe, "/bin/prog");
    assert_true(a->complete);
    assert_false(a->truncated);
    assert_int_equal(a->end_ns, 100);
    assert_int_equal(a->total_allocations, 5);
    assert_int_equal(a->total_frees, 4);
    assert_int_equal(a->total_bytes, 660);
    assert_int_equal(a->samples, 5);
    assert_true(a->peak_bytes == 450);
    assert_true(a->peak_blocks == 3);
    assert_int_equal(a->peak_ns, 50);
    assert_true(a->leaked_bytes == 110);
    assert_true(a->leaked_blocks == 2);
    assert_true(a->temporary_allocations == 1);
    assert_int_equal(a->unknown_frees, 1);
    assert_int_equal(a->nsites, 3);

    const hp_site_t *s1 = site_of(a, 1), *s2 = site_of(a, 2), *s3 = site_of(a, 3);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(s3);
    assert_true(s1->allocations == 2 && s1->allocated_bytes == 110);
    assert_true(s2->allocations == 2 && s2->allocated_bytes == 500);
    assert_true(s3->allocations == 1 && s3->allocated_bytes == 50);
    assert_true(s1->peak_bytes == 100 && s1->peak_blocks == 1);
    assert_true(s2->peak_bytes == 300 && s2->peak_blocks == 1);
    assert_true(s3->peak_bytes == 50 && s3->peak_blocks == 1);
    assert_true(s1->leaked_bytes == 110 && s1->leaked_blocks == 2);
    assert_true(s2->leaked_bytes == 0 && s3->leaked_bytes == 0);
    assert_true(s2->temporary_allocations == 1);
    assert_true(s1->temporary_allocations == 0);
    /* no STACK records in this trace: every site says so */
    assert_int_equal(s1->nframes, 1);
    assert_string_equal(s1->frames[0].function, "[unknown stack]");

    assert_true(hp_analysis_total(a, HP_KIND_PEAK) == 450);
    assert_true(hp_analysis_total(a, HP_KIND_LEAKED) == 110);
    assert_true(hp_analysis_total(a, HP_KIND_ALLOCATED) == 660);
    assert_true(hp_analysis_total(a, HP_KIND_COUNT) == 5);
    hp_analysis_sort(a, HP_KIND_PEAK);
    assert_int_equal(a->sites[0].stack_id, 2);
    assert_int_equal(a->sites[1].stack_id, 1);
    assert_int_equal(a->sites[2].stack_id, 3);
    hp_analysis_sort(a, HP_KIND_LEAKED);
    assert_int_equal(a->sites[0].stack_id, 1);
    hp_analysis_free(a);
}

/* A reachability scan lists one pair id per lost block. An entry counts
 * only against blocks of its pair live at the end (a pair listed twice with
 * one live block loses one block; an entry of a freed pair is ignored), the
 * lists of several records (frames) add up, and a pair with two live blocks
 * listed once loses one of them. Without the record there is no scan. */
static void test_model_lost_blocks_from_scan(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a;
    for (int with_scan = 0; with_scan < 2; with_scan++) {
        hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "p", 0);
        assert_non_null(w);
        assert_int_equal(hp_tw_alloc(w, 1, 10, 0xA000, 100, 1), 0); /* reachable */
        assert_int_equal(hp_tw_alloc(w, 1, 20, 0xE000, 10, 1), 0);  /* lost */
        assert_int_equal(hp_tw_alloc(w, 1, 30, 0xF000, 40, 3), 0);  /* lost */
        assert_int_equal(hp_tw_alloc(w, 1, 40, 0x5000, 7, 3), 0);
        assert_int_equal(hp_tw_alloc(w, 1, 41, 0xB000, 30, 4), 0); /* one of these two */
        assert_int_equal(hp_tw_alloc(w, 1, 42, 0xB100, 30, 4), 0); /* is lost */
        const uint32_t pe = hp_tw_pair_of(w, 0xE000), pf = hp_tw_pair_of(w, 0xF000);
        const uint32_t p5 = hp_tw_pair_of(w, 0x5000), pb = hp_tw_pair_of(w, 0xB000);
        assert_true(pe && pf && p5 && pb && pb == hp_tw_pair_of(w, 0xB100));
        assert_int_equal(hp_tw_free(w, 1, 50, 0x5000, 0), 0); /* freed: not lost */
        if (with_scan) {
            const uint32_t first[] = {pe, pf, pb}, second[] = {p5, pe};
            assert_int_equal(hp_tw_unreachable(w, 0, first, 3), 0);
            assert_int_equal(hp_tw_flush(w, 0), 0);
            assert_int_equal(hp_tw_unreachable(w, 0, second, 2), 0);
            assert_int_equal(hp_tw_flush(w, 0), 0);
        }
        assert_int_equal(hp_tw_end(w, 0, 100, HP_END_EXIT), 0);
        assert_int_equal(hp_tw_close(w), 0);
        assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
        assert_true(a->leaked_bytes == 210);
        assert_int_equal(a->leak_scan, with_scan);
        assert_true(a->lost_bytes == (with_scan ? 80 : 0));
        assert_true(a->lost_blocks == (with_scan ? 3 : 0));
        assert_true(site_of(a, 1)->leaked_bytes == 110);
        assert_true(site_of(a, 1)->lost_bytes == (with_scan ? 10 : 0));
        assert_true(site_of(a, 1)->lost_blocks == (with_scan ? 1 : 0));
        assert_true(site_of(a, 3)->lost_bytes == (with_scan ? 40 : 0));
        assert_true(site_of(a, 4)->leaked_blocks == 2);
        assert_true(site_of(a, 4)->lost_bytes == (with_scan ? 30 : 0));
        assert_true(site_of(a, 4)->lost_blocks == (with_scan ? 1 : 0));
        hp_analysis_free(a);
    }
}

/*
 * Coarse time: thread 9 frees two blocks of pair 7 in tick 100, in which
 * thread 20 allocated them; the merge puts thread 9 first. The frees wait
 * for their pair's allocations and apply right after each: nothing is
 * unknown, nothing leaks, the peak saw one block, and a temporary free
 * stays temporary. A free of a pair no allocation ever claims (a pair the
 * trace never defines, or a pair whose blocks are all freed) is unknown.
 */
static void write_cross_thread(const char *p)
{
    hp_tw_t *w = hp_tw_open(p, 1, 1, "p", 0);
    assert_non_null(w);
    assert_int_equal(hp_tw_free_pair(w, 9, 100, 7, 1), 0);
    assert_int_equal(hp_tw_free_pair(w, 9, 100, 7, 0), 0);
    assert_int_equal(hp_tw_free_pair(w, 9, 100, 99, 0), 0); /* never defined */
    assert_int_equal(hp_tw_pair(w, 20, 7, 4096, 2), 0);
    assert_int_equal(hp_tw_alloc_pair(w, 20, 100, 7), 0);
    assert_int_equal(hp_tw_alloc_pair(w, 20, 100, 7), 0);
    assert_int_equal(hp_tw_pair(w, 20, 8, 10, 3), 0);
    assert_int_equal(hp_tw_alloc_pair(w, 20, 200, 8), 0);
    assert_int_equal(hp_tw_free_pair(w, 20, 300, 8, 0), 0);
    assert_int_equal(hp_tw_free_pair(w, 20, 300, 8, 0), 0); /* one free too many */
    assert_int_equal(hp_tw_close(w), 0);
}

static void test_model_free_met_before_its_allocation(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a;
    write_cross_thread(hp_tmp_path);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    assert_int_equal(a->unknown_frees, 2);
    assert_true(a->leaked_bytes == 0);
    assert_true(a->leaked_blocks == 0);
    assert_true(a->peak_bytes == 4096);
    assert_true(a->peak_blocks == 1);
    assert_int_equal(a->peak_ns, 100);
    assert_true(a->temporary_allocations == 1);
    const hp_site_t *s2 = site_of(a, 2);
    assert_non_null(s2);
    assert_true(s2->allocations == 2 && s2->allocated_bytes == 8192);
    assert_true(s2->peak_bytes == 4096 && s2->temporary_allocations == 1);
    assert_true(site_of(a, 3)->leaked_bytes == 0);
    assert_int_equal(a->nsites, 2);
    hp_analysis_free(a);
}

static void test_model_peak_moves_to_later_maximum(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a;
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "p", 0);
    assert_non_null(w);
    /* first maximum 1000 at site 1, then site 1 shrinks and site 2 grows to 1500 */
    assert_int_equal(hp_tw_alloc(w, 1, 1, 0x100, 1000, 1), 0);
    assert_int_equal(hp_tw_free(w, 1, 2, 0x100, 0), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 3, 0x200, 700, 2), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 4, 0x300, 800, 2), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 5, 0x400, 1, 1), 0); /* 1501 */
    assert_int_equal(hp_tw_free(w, 1, 6, 0x200, 0), 0);
    assert_int_equal(hp_tw_free(w, 1, 7, 0x300, 0), 0);
    assert_int_equal(hp_tw_free(w, 1, 8, 0x400, 0), 0);
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    assert_true(a->peak_bytes == 1501);
    assert_int_equal(a->peak_ns, 5);
    assert_true(site_of(a, 1)->peak_bytes == 1);
    assert_true(site_of(a, 2)->peak_bytes == 1500);
    assert_true(site_of(a, 2)->peak_blocks == 2);
    assert_true(a->leaked_bytes == 0);
    assert_false(a->complete); /* no END record */
    /* no counters: totals come from the replay, flagged as such */
    assert_true(a->totals_estimated);
    assert_int_equal(a->total_allocations, 4);
    assert_int_equal(a->total_bytes, 2501);
    hp_analysis_free(a);
}

/* Stacks: symbolized, profiler and allocator frames trimmed. */
static void test_model_trims_profiler_frames(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a;
    hp_module_t mods[2] = {
        {.bias = 0x400000, .start = 0x400000, .end = 0x410000, .path = "/home/u/prog"},
        {.bias = 0x7f0000000000ull, .start = 0x7f0000000000ull, .end = 0x7f0000010000ull,
         .path = "/opt/heapprof/lib/libheapprof.so"},
    };
    const uint64_t pcs[] = {0x7f0000000123ull, 0x400456, 0x400789};
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "/home/u/prog", 0);
    assert_non_null(w);
    assert_int_equal(hp_tw_modules(w, 1, 0, 2, mods), 0);
    assert_int_equal(hp_tw_stack(w, 1, 5, 0, 3, pcs), 0);
    assert_int_equal(hp_tw_alloc(w, 1, 1, 0x100, 10, 5), 0);
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    assert_int_equal(a->nsites, 1);
    const hp_site_t *s = &a->sites[0];
    assert_int_equal(s->nframes, 2);
    assert_int_equal(s->frames[0].pc, 0x400456); /* recorded pc, not pc - 1 */
    assert_string_equal(s->frames[0].module, "/home/u/prog");
    assert_int_equal(s->frames[1].pc, 0x400789);
    hp_analysis_free(a);
}

static double exp_draw(double mean)
{
    double u = (rand() + 1.0) / ((double)RAND_MAX + 2.0);
    return -log(u) * mean;
}

/* ~10^5 samples of a workload: the estimates are within 3% of the truth. */
static void test_model_sampled_estimates_are_unbiased(void **state)
{
    (void)state;
    const uint64_t rate = 32768;
    char err[512];
    hp_analysis_t *a;
    hp_tw_t *w = hp_tw_open(hp_tmp_path, rate, 1, "p", 0);
    assert_non_null(w);
    srand(7);
    double countdown = exp_draw((double)rate);
    double total = 0, leaked = 0, count = 0, leaked_blocks = 0;
    uint64_t ts = 1, calls = 0;
    for (int i = 0; i < 2000000; i++) {
        uint64_t size = 1 + (uint64_t)(rand() % 4096);
        if (i % 100 == 0)
            size = 64 * 1024 + (uint64_t)(rand() % 65536);
        int leak = rand() % 10 < 3;
        total += (double)size;
        count++;
        calls++;
        if (leak) {
            leaked += (double)size;
            leaked_blocks++;
        }
        countdown -= (double)size;
        if (countdown > 0)
            continue;
        countdown = exp_draw((double)rate);
        uint64_t addr = 0x10000000ull + (uint64_t)i * 16;
        assert_int_equal(hp_tw_alloc(w, 1, ts++, addr, size, 1 + (uint32_t)(size % 7)), 0);
        if (!leak)
            assert_int_equal(hp_tw_free(w, 1, ts++, addr, 0), 0);
    }
    uint64_t c[HP_FN_COUNT] = {[HP_FN_MALLOC] = calls};
    uint64_t b[HP_FN_COUNT] = {[HP_FN_MALLOC] = (uint64_t)total};
    assert_int_equal(hp_tw_counters(w, 1, c, b), 0);
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), 0);
    assert_true(a->samples > 80000);
    assert_int_equal(a->total_allocations, calls); /* counters: exact */
    double est_bytes = hp_analysis_total(a, HP_KIND_ALLOCATED);
    double est_count = hp_analysis_total(a, HP_KIND_COUNT);
    printf("samples %llu: bytes %.4f, count %.4f, leaked %.4f, leaked blocks %.4f\n",
           (unsigned long long)a->samples, est_bytes / total, est_count / count,
           a->leaked_bytes / leaked, a->leaked_blocks / leaked_blocks);
    assert_true(fabs(est_bytes / total - 1) < 0.03);
    assert_true(fabs(est_count / count - 1) < 0.03);
    assert_true(fabs(a->leaked_bytes / leaked - 1) < 0.03);
    assert_true(fabs(a->leaked_blocks / leaked_blocks - 1) < 0.05);
    hp_analysis_free(a);
}

typedef struct cb_s {
    int n;
    uint64_t last_ts;
    double live;
    int ok;
} cb_t;

static void on_event(void *ctx, const hp_replay_event_t *ev)
{
    cb_t *c = ctx;
    if (ev->ts < c->last_ts)
        c->ok = 0;
    c->last_ts = ev->ts;
    c->live += ev->weight;
    if (c->live != ev->live_bytes)
        c->ok = 0;
    if ((ev->weight > 0) != (ev->is_alloc == 1))
        c->ok = 0;
    c->n++;
}

static void test_model_replay_calls_back_in_order(void **state)
{
    (void)state;
    char err[512];
    write_scenario(hp_tmp_path);
    cb_t c = {.ok = 1};
    assert_int_equal(hp_analysis_replay(hp_tmp_path, on_event, &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 8); /* the unknown free is not an event of the heap */
    assert_true(c.ok);
    assert_true(c.live == 110);
    /* a free met before its allocation comes right after it, at its time */
    write_cross_thread(hp_tmp_path);
    c = (cb_t){.ok = 1};
    assert_int_equal(hp_analysis_replay(hp_tmp_path, on_event, &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 6);
    assert_true(c.ok);
    assert_true(c.live == 0);
    assert_int_equal(c.last_ts, 300);
}

static void test_model_corrupt_trace_fails_cleanly(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a = (hp_analysis_t *)1;
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "p", 0);
    assert_non_null(w);
    assert_int_equal(hp_tw_alloc(w, 1, 1, 0x100, 10, 0), 0);
    assert_int_equal(hp_tw_raw(w, 1, "\x8f\x03", 2), 0); /* head of tag 99 */
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), HP_ERR_FORMAT);
    assert_null(a);
    assert_non_null(strstr(err, "unknown record tag 99"));
}

/* A corrupt record deep in a trace of many frames (the reader then runs
 * ahead of the model on a second thread): the same clean error. */
static void test_model_corrupt_late_frame_fails_cleanly(void **state)
{
    (void)state;
    char err[512];
    hp_analysis_t *a = (hp_analysis_t *)1;
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "p", 0);
    assert_non_null(w);
    hp_tw_set_frame_limit(w, 4096);
    for (uint64_t i = 0; i < 200000; i++) {
        assert_int_equal(hp_tw_alloc(w, 1 + (uint32_t)(i % 3), 10 + i, 0x1000 + i * 16, 16, 1), 0);
        assert_int_equal(hp_tw_free(w, 1 + (uint32_t)(i % 3), 10 + i, 0x1000 + i * 16, 0), 0);
    }
    assert_int_equal(hp_tw_raw(w, 2, "\x8f\x03", 2), 0);
    assert_int_equal(hp_tw_close(w), 0);
    assert_int_equal(hp_analysis_load(hp_tmp_path, &a, err, sizeof(err)), HP_ERR_FORMAT);
    assert_null(a);
    assert_non_null(strstr(err, "unknown record tag 99"));
    assert_non_null(strstr(err, hp_tmp_path));
    assert_non_null(strstr(err, "(tid 2)"));
}

static void test_model_kind_names(void **state)
{
    (void)state;
    hp_kind_t k;
    const char *names[] = {"allocated", "peak", "leaked", "temporary", "count"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hp_kind_parse(names[i], &k), 0);
        assert_int_equal(k, i);
        assert_string_equal(hp_kind_name(k), names[i]);
    }
    assert_int_equal(hp_kind_parse("bogus", &k), HP_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_full_mode_exact, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_peak_moves_to_later_maximum, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_trims_profiler_frames, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_sampled_estimates_are_unbiased, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_replay_calls_back_in_order, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_corrupt_trace_fails_cleanly, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_corrupt_late_frame_fails_cleanly, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_lost_blocks_from_scan, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_model_free_met_before_its_allocation, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test(test_model_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
