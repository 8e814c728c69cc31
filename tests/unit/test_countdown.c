/*
 * test_countdown.c - the countdown word (preload/countdown.h).
 *
 * The word packs the bytes left until the next sample with malloc's fast
 * call count. What users depend on: samples fall on exactly the same
 * allocations as with a plain byte countdown (draws longer than the word
 * holds included), and settling gives back every call and byte exactly,
 * whatever mix of fast mallocs, other functions, zero-byte and huge
 * blocks and failed calls came in between.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "countdown.h"
#include "sampler.h"
#include "tbuf.h" /* HP_TLS_GUARDED */

/* A thread's word as tbuf.c keeps it, with the counts it settles into. */
typedef struct {
    int64_t w, armed, carry;
    uint64_t seen, untaken;
    uint64_t explicit_bytes;   /* bytes the other calls counted themselves */
    uint64_t calls, bytes;     /* malloc fast counts, settled */
    uint64_t quiet;            /* settles with no fast malloc in between */
} word_t;

/* As tbuf.c settles: the quiet case without the explicit sum, which
 * must then agree with it. */
static void settle(word_t *t)
{
    uint64_t e = t->explicit_bytes - t->untaken, calls, bytes;
    int64_t grew;
    if (hp_cd_quiet(t->armed, t->w, &grew)) {
        assert_int_equal(t->seen + (uint64_t)grew, e);
        t->armed = t->w;
        t->seen += (uint64_t)grew;
        t->quiet++;
        return;
    }
    assert_int_equal(hp_cd_split(t->armed, t->w, e - t->seen, &calls, &bytes), 0);
    t->calls += calls;
    t->bytes += bytes;
    t->armed = t->w;
    t->seen = e;
}

static void arm(word_t *t, int64_t draw)
{
    settle(t);
    t->w = hp_cd_arm(draw, &t->carry);
    t->armed = t->w;
}

/* The slow path after a take that left the word at t->w with rest bytes
 * still to take: returns 1 for a sample (and arms the next draw). */
static int slow(word_t *t, int64_t rest, hp_sampler_t *sm)
{
    int64_t left;
    if (!hp_cd_crosses(t->w, t->carry, rest, &left)) {
        if (t->carry || rest)
            arm(t, left);
        return 0;
    }
    arm(t, hp_sampler_draw(sm));
    return 1;
}

/* Draws a request size: mostly small, sometimes zero, large or huge. */
static uint64_t pick(hp_sampler_t *rnd)
{
    uint64_t r = hp_sampler_next(rnd);
    switch (r % 64) {
    case 0:
        return 0;
    case 1:
        return HP_CD_BIG + (r >> 40); /* huge: never taken from the word */
    case 2:
    case 3:
        return 65536 + (r >> 44); /* large: an explicit take */
    default:
        return 1 + (r >> 32) % 4096;
    }
}

/*
 * Runs one stream of allocations through the word and through a plain
 * countdown fed the same draws; the samples must coincide and the settled
 * counts must be exact. rate is the sampler's mean.
 */
static uint64_t run_stream(uint64_t rate, int steps)
{
    hp_sampler_t sm_word, sm_plain, rnd;
    hp_sampler_seed(&sm_word, 99, 1, rate);
    hp_sampler_seed(&sm_plain, 99, 1, rate);
    hp_sampler_seed(&rnd, 5, 0, 1000);
    word_t t = {0};
    arm(&t, hp_sampler_draw(&sm_word));
    int64_t plain = hp_sampler_draw(&sm_plain);
    uint64_t want_calls = 0, want_bytes = 0, samples = 0;
    for (int i = 0; i < steps; i++) {
        uint64_t n = pick(&rnd);
        int fast = n >= 1 && n < 65536 && hp_sampler_next(&rnd) % 4 != 0;
        int failed = hp_sampler_next(&rnd) % 97 == 0;
        int64_t want = hp_cd_want(n);
        int sampled;
        if (fast) {
            /* malloc's fast path: the take counts the call and bytes. */
            uint64_t k = hp_cd_malloc_take(n);
            t.w -= (int64_t)k;
            if (t.w > 0) {
                want_calls++, want_bytes += n;
                sampled = 0;
            } else if (failed) { /* crossed, then the call failed: given back */
                t.w += (int64_t)k;
                continue;
            } else { /* crossed: the slow path counts the call itself */
                t.w += 1;
                t.explicit_bytes += n;
                sampled = slow(&t, 0, &sm_word);
            }
        } else if (failed) {
            continue; /* counted after success only: nothing taken */
        } else if (n >= HP_CD_BIG) {
            t.explicit_bytes += n;
            t.untaken += n;
            sampled = slow(&t, (int64_t)n, &sm_word);
        } else {
            t.w -= (int64_t)hp_cd_take(want);
            t.explicit_bytes += n;
            t.untaken += n - (uint64_t)want; /* a zero-byte block took one */
            sampled = t.w <= 0 ? slow(&t, 0, &sm_word) : 0;
        }
        /* The plain countdown of docs/sampling.md. */
        plain -= want;
        int plain_sampled = plain <= 0;
        if (plain_sampled)
            plain = hp_sampler_draw(&sm_plain);
        assert_int_equal(sampled, plain_sampled);
        samples += (uint64_t)sampled;
    }
    settle(&t);
    assert_int_equal(t.calls, want_calls);
    assert_int_equal(t.bytes, want_bytes);
    assert_true(samples > 0);
    return t.quiet;
}

static void test_countdown_samples_as_plain_countdown(void **state)
{
    (void)state;
    run_stream(524288, 400000);
    assert_true(run_stream(4096, 200000) > 1000); /* the quiet settle, checked */
}

static void test_countdown_carries_draws_beyond_the_word(void **state)
{
    (void)state;
    /* A mean of 2^33 bytes: most draws are longer than HP_CD_ARM_MAX. */
    run_stream((uint64_t)1 << 33, 3000000);
}

static void test_countdown_full_mode_crosses_every_call(void **state)
{
    (void)state;
    int64_t carry = 1;
    int64_t w = hp_cd_arm(0, &carry);
    assert_int_equal(carry, 0);
    w -= (int64_t)hp_cd_malloc_take(1);
    int64_t left;
    assert_int_equal(hp_cd_crosses(w, carry, 0, &left), 1);
    w = hp_cd_arm(1, &carry); /* rate 1 draws 1: a zero-byte block crosses too */
    w -= (int64_t)hp_cd_take(1);
    assert_int_equal(hp_cd_crosses(w, carry, 0, &left), 1);
}

static void test_countdown_left_rounds_up_calls(void **state)
{
    (void)state;
    int64_t carry;
    int64_t w = hp_cd_arm(10, &carry);
    assert_int_equal(hp_cd_left(w), 10);
    for (int i = 0; i < 9; i++)
        w -= (int64_t)hp_cd_malloc_take(1);
    assert_true(w > 0);
    assert_int_equal(hp_cd_left(w), 1);
    w -= (int64_t)hp_cd_malloc_take(1);
    assert_true(w <= 0);
    assert_int_equal(hp_cd_left(w), 0);
    w -= (int64_t)hp_cd_take(5);
    assert_int_equal(hp_cd_left(w), -5);
}

static void test_countdown_parked_word_is_implausible(void **state)
{
    (void)state;
    uint64_t calls, bytes;
    /* Another thread reading a word that is parked (the owner runs
     * profiler code), even after guarded calls moved it. */
    int64_t armed[] = {0, hp_cd_word(HP_CD_ARM_MAX), -hp_cd_word(HP_CD_BIG - 1)};
    for (size_t i = 0; i < sizeof armed / sizeof *armed; i++) {
        assert_int_equal(hp_cd_split(armed[i], HP_TLS_GUARDED, 0, &calls, &bytes), -1);
        int64_t moved = HP_TLS_GUARDED - 1000 * (int64_t)hp_cd_malloc_take(65535);
        assert_int_equal(hp_cd_split(armed[i], moved, 0, &calls, &bytes), -1);
    }
    /* A real word at its extremes is plausible, and told from a parked one. */
    int64_t w = hp_cd_word(HP_CD_ARM_MAX) - (int64_t)hp_cd_take(HP_CD_ARM_MAX) -
                (int64_t)hp_cd_take(HP_CD_BIG - 1);
    assert_true(w >= HP_CD_REAL_MIN);
    assert_true(hp_cd_word(1) - (int64_t)hp_cd_take(HP_CD_BIG - 1) >= HP_CD_REAL_MIN);
    assert_true(hp_cd_word(HP_CD_ARM_MAX) > 0);
    assert_true(HP_TLS_GUARDED - 1000 * (int64_t)hp_cd_malloc_take(65535) < HP_CD_REAL_MIN);
    assert_int_equal(hp_cd_split(hp_cd_word(HP_CD_ARM_MAX), w, 0, &calls, &bytes), 0);
    assert_int_equal(calls, 0);
    assert_int_equal(bytes, (uint64_t)HP_CD_ARM_MAX + HP_CD_BIG - 1);
    /* More explicit bytes than the word lost: a torn reading. */
    assert_int_equal(hp_cd_split(hp_cd_word(100), hp_cd_word(90), 11, &calls, &bytes), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_countdown_samples_as_plain_countdown),
        cmocka_unit_test(test_countdown_carries_draws_beyond_the_word),
        cmocka_unit_test(test_countdown_full_mode_crosses_every_call),
        cmocka_unit_test(test_countdown_left_rounds_up_calls),
        cmocka_unit_test(test_countdown_parked_word_is_implausible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
