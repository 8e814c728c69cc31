/*
 * test_timeline.c - unit tests of timeline.c, fed by a fake replay (the
 * hp_timeline_replay seam) over a hand-built analysis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapprof/error.h"
#include "synth_analysis.h"
#include "timeline.h"

#define MS 1000000ull

/* Events of the fake trace: stack ids 1..nsites, t in ms after start. */
typedef struct ev_s {
    uint64_t t_ms;
    uint32_t stack;
    double bytes;
} ev_t;
static const ev_t *fake_events;
static size_t fake_n;
static uint64_t fake_t0;

static int fake_replay(const char *path, hp_replay_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    double live = 0;
    if (strcmp(path, "broken.zst") == 0) {
        snprintf(err, errlen, "frame 3 at offset 77: corrupt");
        return HP_ERR_FORMAT;
    }
    for (size_t i = 0; i < fake_n; i++) {
        hp_replay_event_t ev = {0};
        ev.ts = fake_t0 + fake_events[i].t_ms * MS;
        ev.stack_id = fake_events[i].stack;
        ev.is_alloc = fake_events[i].bytes > 0;
        ev.size = (uint64_t)(ev.is_alloc ? fake_events[i].bytes : -fake_events[i].bytes);
        ev.weight = fake_events[i].bytes;
        live += ev.weight;
        ev.live_bytes = live;
        fn(ctx, &ev);
    }
    return 0;
}

static char *run(const hp_analysis_t *a, const char *path, int expect)
{
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    hp_timeline_replay = fake_replay;
    assert_int_equal(hp_timeline_write(f, path, a, err, sizeof(err)), expect);
    fclose(f);
    if (expect < 0) {
        assert_non_null(strstr(err, "offset 77"));
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_timeline_chart_has_peak_legend_and_axes(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("/usr/bin/app", 1);
    synth_site(a, "main;load_table#table.c:12", 1, 3 << 20, 3 << 20, 0);
    synth_site(a, "main;scratch#s.c:5", 1, 1 << 20, 0, 0);
    a->start_ns = 5000;
    a->end_ns = 5000 + 2000 * MS;
    a->peak_bytes = 4 << 20;
    a->peak_ns = 5000 + 900 * MS;
    static const ev_t evs[] = {
        {100, 1, 3 << 20},
        {900, 2, 1 << 20},
        {905, 2, -(1 << 20)},
        {1500, 1, -(3 << 20)},
    };
    fake_events = evs;
    fake_n = 4;
    fake_t0 = a->start_ns;
    char *svg = run(a, "x.zst", 0);
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    assert_non_null(strstr(svg, "Live heap over time: /usr/bin/app"));
    assert_non_null(strstr(svg, "peak 4.00 MiB"));
    assert_non_null(strstr(svg, "load_table (table.c:12) - 3.00 MiB at the peak"));
    assert_non_null(strstr(svg, "scratch (s.c:5)"));
    /* 2 s of trace: ticks in s; 4 MiB: ticks in MiB. */
    assert_non_null(strstr(svg, ">1 s<"));
    assert_non_null(strstr(svg, " MiB<"));
    /* The 5 ms spike of scratch survives bucketing: its area exists. */
    assert_non_null(strstr(svg, "<title>scratch (s.c:5)"));
    free(svg);
    synth_free(a);
}

static void test_timeline_top_eight_then_other(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("app", 1);
    ev_t evs[12];
    char stack[64];
    for (int i = 0; i < 12; i++) {
        snprintf(stack, sizeof(stack), "main;site%02d", i);
        synth_site(a, stack, 1, 1000 * (i + 1), 1000 * (i + 1), 0);
        evs[i] = (ev_t){(uint64_t)(10 * i), (uint32_t)(i + 1), 1000.0 * (i + 1)};
    }
    a->end_ns = a->start_ns + 200 * MS;
    a->peak_ns = a->start_ns + 110 * MS;
    fake_events = evs;
    fake_n = 12;
    fake_t0 = a->start_ns;
    char *svg = run(a, "x.zst", 0);
    assert_non_null(strstr(svg, "site11")); /* largest at the peak */
    assert_non_null(strstr(svg, "site04")); /* eighth */
    assert_null(strstr(svg, "site03"));     /* ninth: in "other" */
    assert_non_null(strstr(svg, "other (4 sites)"));
    free(svg);
    synth_free(a);
}

static void test_timeline_replay_error_is_reported(void **state)
{
    (void)state;
    hp_analysis_t *a = synth_new("app", 1);
    run(a, "broken.zst", HP_ERR_FORMAT);
    synth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_chart_has_peak_legend_and_axes),
        cmocka_unit_test(test_timeline_top_eight_then_other),
        cmocka_unit_test(test_timeline_replay_error_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
