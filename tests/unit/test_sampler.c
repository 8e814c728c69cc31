/*
 * test_sampler.c - the Poisson byte sampler (preload/sampler.c).
 *
 * The properties the analyzer's unbiasing relies on (docs/sampling.md):
 * exponential intervals with mean RATE, independent per-thread streams,
 * P(sampled) = 1 - exp(-s/RATE), and an unbiased estimate of total bytes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sampler.h"

static void test_sampler_mean_interval_is_rate(void **state)
{
    (void)state;
    hp_sampler_t sm;
    hp_sampler_seed(&sm, 12345, 0, 524288);
    double sum = 0;
    const int n = 1000000;
    for (int i = 0; i < n; i++)
        sum += (double)hp_sampler_draw(&sm);
    double mean = sum / n;
    /* Draws are ceil(Exp): mean RATE + ~0.5; the 1% bound is ~10 sigma. */
    assert_true(fabs(mean - 524288.0) < 0.01 * 524288.0);
}

static void test_sampler_intervals_are_exponential(void **state)
{
    (void)state;
    hp_sampler_t sm;
    hp_sampler_seed(&sm, 7, 3, 1000);
    const int n = 400000;
    int below_mean = 0, above_3 = 0;
    for (int i = 0; i < n; i++) {
        int64_t d = hp_sampler_draw(&sm);
        assert_true(d >= 1);
        below_mean += d <= 1000;
        above_3 += d > 3000;
    }
    /* P(X <= mean) = 1 - 1/e, P(X > 3 mean) = e^-3. */
    assert_true(fabs((double)below_mean / n - (1 - exp(-1))) < 0.005);
    assert_true(fabs((double)above_3 / n - exp(-3)) < 0.003);
}

static void test_sampler_threads_get_independent_streams(void **state)
{
    (void)state;
    hp_sampler_t a, b, a2;
    hp_sampler_seed(&a, 42, 0, 100);
    hp_sampler_seed(&b, 42, 1, 100);
    hp_sampler_seed(&a2, 42, 0, 100);
    int equal = 0;
    double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double x = hp_sampler_uniform(&a), y = hp_sampler_uniform(&b);
        assert_true(x > 0 && x <= 1);
        /* The same (seed, ordinal) reproduces the same stream. */
        assert_true(hp_sampler_uniform(&a2) == x);
        equal += x == y;
        sa += x, sb += y, sab += x * y, saa += x * x, sbb += y * y;
    }
    assert_true(equal < 3);
    double cov = sab / n - (sa / n) * (sb / n);
    double corr = cov / sqrt((saa / n - (sa / n) * (sa / n)) * (sbb / n - (sb / n) * (sb / n)));
    assert_true(fabs(corr) < 0.02); /* ~6 sigma for independent streams */
    /* A different seed gives a different stream for the same ordinal. */
    hp_sampler_t c;
    hp_sampler_seed(&c, 43, 0, 100);
    hp_sampler_seed(&a, 42, 0, 100);
    assert_true(hp_sampler_next(&c) != hp_sampler_next(&a));
}

static void test_sampler_full_mode_draws_one(void **state)
{
    (void)state;
    hp_sampler_t sm;
    hp_sampler_seed(&sm, 1, 0, 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hp_sampler_draw(&sm), 1);
}

static void test_sampler_ln_matches_libm(void **state)
{
    (void)state;
    const double xs[] = {1e-300,  1e-16, 0x1.0p-53, 0.001, 0.3,  0.5,  0.70710678,
                         0.99999, 1.0,   1.5,       2.0,   10.0, 1e10, 1e300};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double want = log(xs[i]), got = hp_sampler_ln(xs[i]);
        assert_true(fabs(got - want) <= 1e-12 * (fabs(want) + 1));
    }
}

/* Runs the countdown over a workload as tbuf.c does; returns the samples. */
typedef struct sim_s {
    double exact, estimate;
    long samples;
} sim_t;

static sim_t simulate(uint64_t rate, long n, uint64_t max_size, uint64_t seed)
{
    hp_sampler_t sm, sizes;
    hp_sampler_seed(&sm, seed, 0, rate);
    hp_sampler_seed(&sizes, seed, 99, 1);
    sim_t r = {0, 0, 0};
    int64_t countdown = hp_sampler_draw(&sm);
    for (long i = 0; i < n; i++) {
        uint64_t s = hp_sampler_next(&sizes) % (max_size + 1); /* includes 0 */
        r.exact += (double)s;
        countdown -= s ? (int64_t)s : 1;
        if (countdown <= 0) {
            double eff = s ? (double)s : 1.0;
            r.estimate += (double)s / (1 - exp(-eff / (double)rate));
            r.samples++;
            countdown = hp_sampler_draw(&sm);
        }
    }
    return r;
}

static void test_sampler_unbiased_estimate_within_3_percent(void **state)
{
    (void)state;
    /* Sizes 0..16384, mean 8192; rate 65536: about 1 in 8 allocations is
     * sampled; 800000 allocations give about 10^5 samples. */
    sim_t r = simulate(65536, 800000, 16384, 2024);
    assert_true(r.samples > 80000 && r.samples < 120000);
    assert_true(fabs(r.estimate - r.exact) / r.exact < 0.03);
    /* Small allocations far below the rate are unbiased too. */
    r = simulate(524288, 4000000, 64, 77);
    assert_true(r.samples > 100);
    assert_true(fabs(r.estimate - r.exact) / r.exact < 0.15);
}

static void test_sampler_probability_of_a_size(void **state)
{
    (void)state;
    /* An allocation of s bytes after an arbitrary history is sampled with
     * probability 1 - exp(-s/R) (memorylessness). */
    const uint64_t rate = 1000, s = 700;
    hp_sampler_t sm;
    hp_sampler_seed(&sm, 5, 0, rate);
    int64_t countdown = hp_sampler_draw(&sm);
    long hits = 0, n = 300000;
    for (long i = 0; i < n; i++) {
        countdown -= 333; /* an unsampled-or-not filler allocation */
        if (countdown <= 0)
            countdown = hp_sampler_draw(&sm);
        countdown -= (int64_t)s;
        if (countdown <= 0) {
            hits++;
            countdown = hp_sampler_draw(&sm);
        }
    }
    assert_true(fabs((double)hits / n - (1 - exp(-(double)s / rate))) < 0.005);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_mean_interval_is_rate),
        cmocka_unit_test(test_sampler_intervals_are_exponential),
        cmocka_unit_test(test_sampler_threads_get_independent_streams),
        cmocka_unit_test(test_sampler_full_mode_draws_one),
        cmocka_unit_test(test_sampler_ln_matches_libm),
        cmocka_unit_test(test_sampler_unbiased_estimate_within_3_percent),
        cmocka_unit_test(test_sampler_probability_of_a_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
