/*
 * test_tbuf.c - record encoding and the stack table (preload/tbuf.c).
 *
 * Every record the recorder writes (version 2: event heads carrying a
 * pair, tag heads for the rest) must decode, with the helpers of
 * include/heapprof/trace_format.h, into the values it was given; the stack
 * table must give one id per distinct stack and let exactly one thread
 * emit each stack, even when threads race on the same stack.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "heapprof/trace_format.h"
#include "tbuf.h"

static uint64_t get_u(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    assert_int_equal(hp_get_uvarint(p, end, &v), 0);
    return v;
}

/* Reads one head; checks its tag (and its pair for an event). */
static void expect_head(const uint8_t **p, const uint8_t *end, unsigned tag, uint32_t pair)
{
    unsigned t = 0;
    uint32_t id = 0;
    assert_int_equal(hp_dec_head(get_u(p, end), &t, &id), 0);
    assert_int_equal(t, tag);
    assert_int_equal(id, pair);
}

static void test_tbuf_records_round_trip(void **state)
{
    (void)state;
    uint8_t buf[8192], *p = buf;
    hp_delta_t enc = {.ts = 1000}, dec = enc;
    const uint64_t pcs[4] = {0x401000, 0x401234, 0x7f0000001000u, 0x400800};
    uint64_t calls[HP_FN_COUNT], bytes[HP_FN_COUNT];
    for (int i = 0; i < HP_FN_COUNT; i++) {
        calls[i] = (uint64_t)i * 1000003u;
        bytes[i] = (uint64_t)i << 40;
    }
    p = hp_enc_stack(p, &enc, 7, 2, pcs, 4);
    p = hp_enc_pair(p, 5, 123, 7);
    p = hp_enc_alloc(p, 5);
    p = hp_enc_tick(p, &enc, 5000000);
    p = hp_enc_pair(p, HP_MAX_PAIR, UINT64_C(1) << 40, 0);
    p = hp_enc_alloc(p, HP_MAX_PAIR);
    p = hp_enc_free(p, 0, 5);
    p = hp_enc_free(p, 1, HP_MAX_PAIR);
    p = hp_enc_counters(p, 4242, calls, bytes);
    p = hp_enc_end(p, UINT64_C(9) << 50, HP_END_EXEC);
    p = hp_enc_unreachable_head(p, 2);
    p = hp_put_uvarint(p, 5);
    p = hp_put_uvarint(p, HP_MAX_PAIR);

    const uint8_t *q = buf, *end = p;
    expect_head(&q, end, HP_REC_STACK, 0);
    assert_int_equal(get_u(&q, end), 7);
    assert_int_equal(get_u(&q, end), 2);
    assert_int_equal(get_u(&q, end), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(hp_get_delta(&q, end, &dec.pc), 0);
        assert_true(dec.pc == pcs[i]);
    }
    expect_head(&q, end, HP_REC_PAIR, 0);
    assert_int_equal(get_u(&q, end), 5);
    assert_int_equal(get_u(&q, end), 123);
    assert_int_equal(get_u(&q, end), 7);
    expect_head(&q, end, HP_REC_ALLOC, 5);
    expect_head(&q, end, HP_REC_TICK, 0);
    dec.ts += get_u(&q, end);
    assert_true(dec.ts == 5000000);
    expect_head(&q, end, HP_REC_PAIR, 0);
    assert_true(get_u(&q, end) == HP_MAX_PAIR);
    assert_true(get_u(&q, end) == UINT64_C(1) << 40);
    assert_int_equal(get_u(&q, end), 0);
    expect_head(&q, end, HP_REC_ALLOC, HP_MAX_PAIR);
    expect_head(&q, end, HP_REC_FREE, 5);
    expect_head(&q, end, HP_REC_FREE_TEMP, HP_MAX_PAIR);
    expect_head(&q, end, HP_REC_COUNTERS, 0);
    assert_int_equal(get_u(&q, end), 4242);
    for (int i = 0; i < HP_FN_COUNT; i++) {
        assert_true(get_u(&q, end) == calls[i]);
        assert_true(get_u(&q, end) == bytes[i]);
    }
    expect_head(&q, end, HP_REC_END, 0);
    assert_true(get_u(&q, end) == UINT64_C(9) << 50);
    assert_int_equal(get_u(&q, end), HP_END_EXEC);
    expect_head(&q, end, HP_REC_UNREACHABLE, 0);
    assert_int_equal(get_u(&q, end), 2);
    assert_int_equal(get_u(&q, end), 5);
    assert_true(get_u(&q, end) == HP_MAX_PAIR);
    assert_ptr_equal(q, end);

    /* An event head without a pair is corrupt; a tag head never is. */
    unsigned t;
    uint32_t id;
    assert_int_equal(hp_dec_head(0, &t, &id), -1);
    assert_int_equal(hp_dec_head(2, &t, &id), -1);
    assert_int_equal(hp_dec_head((uint64_t)HP_REC_END << 2 | 3, &t, &id), 0);
    assert_int_equal(t, HP_REC_END);
    assert_int_equal(hp_dec_head(((uint64_t)HP_MAX_PAIR + 1) << 2, &t, &id), -1);
}

static void test_tbuf_stack_table_dedups(void **state)
{
    (void)state;
    assert_int_equal(hp_tbuf_init(), 0);
    hp_tbuf_stack_reset();
    uintptr_t a[3] = {1, 2, 3}, b[3] = {1, 2, 4}, c[2] = {1, 2};
    int ins = 0;
    uint32_t ia = hp_tbuf_stack_id(a, 3, &ins);
    assert_true(ia >= 1);
    assert_int_equal(ins, 1);
    assert_int_equal(hp_tbuf_stack_id(a, 3, &ins), ia);
    assert_int_equal(ins, 0); /* emitted once */
    uint32_t ib = hp_tbuf_stack_id(b, 3, &ins);
    assert_int_equal(ins, 1);
    uint32_t ic = hp_tbuf_stack_id(c, 2, &ins); /* a prefix is another stack */
    assert_int_equal(ins, 1);
    assert_true(ia != ib && ib != ic && ia != ic);
    assert_int_equal(hp_tbuf_stack_id(b, 3, &ins), ib);
    assert_int_equal(hp_tbuf_stack_id(c, 2, &ins), ic);
    hp_tbuf_stack_reset();
    assert_int_equal(hp_tbuf_stack_id(a, 3, &ins), 1);
    assert_int_equal(ins, 1);
}

#define RACE_THREADS 4
#define RACE_STACKS 2000

static uint32_t race_ids[RACE_THREADS][RACE_STACKS];
static int race_inserted[RACE_THREADS][RACE_STACKS];

static void *race(void *arg)
{
    long t = (long)arg;
    for (int k = 0; k < RACE_STACKS; k++) {
        int i = (int)((k * 7 + t * 13) % RACE_STACKS); /* different orders */
        uintptr_t pcs[5] = {0x400000u + (uintptr_t)i, 0x500000u, (uintptr_t)i * 31u, 7, 9};
        race_ids[t][i] = hp_tbuf_stack_id(pcs, 5, &race_inserted[t][i]);
    }
    return NULL;
}

static void test_tbuf_stack_table_one_owner_under_races(void **state)
{
    (void)state;
    assert_int_equal(hp_tbuf_init(), 0);
    hp_tbuf_stack_reset();
    pthread_t th[RACE_THREADS];
    for (long t = 0; t < RACE_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, race, (void *)t), 0);
    for (int t = 0; t < RACE_THREADS; t++)
        pthread_join(th[t], NULL);
    static char seen[RACE_STACKS + 1];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < RACE_STACKS; i++) {
        int owners = 0;
        for (int t = 0; t < RACE_THREADS; t++) {
            assert_int_equal(race_ids[t][i], race_ids[0][i]);
            owners += race_inserted[t][i];
        }
        assert_int_equal(owners, 1);
        uint32_t id = race_ids[0][i];
        assert_true(id >= 1 && id <= RACE_STACKS);
        assert_int_equal(seen[id], 0); /* ids are distinct */
        seen[id] = 1;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tbuf_records_round_trip),
        cmocka_unit_test(test_tbuf_stack_table_dedups),
        cmocka_unit_test(test_tbuf_stack_table_one_owner_under_races),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
