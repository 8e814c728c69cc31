/*
 * test_trace_format.c - the encoding helpers of trace_format.h, which the
 * recorder and the reader share: varints, zigzag deltas, fixed-width fields,
 * the file header and the frame index, record heads (events and tags) and
 * the record encoders, decoded here field by field as the format says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "heapprof/trace_format.h"

static void test_trace_format_uvarint_round_trip(void **state)
{
    (void)state;
    const uint64_t v[] = {0, 1, 127, 128, 255, 300, 16383, 16384, (1ull << 32) - 1,
                          1ull << 32, (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t buf[HP_UVARINT_MAX];
        uint8_t *end = hp_put_uvarint(buf, v[i]);
        assert_true(end - buf <= HP_UVARINT_MAX);
        const uint8_t *p = buf;
        uint64_t out;
        assert_int_equal(hp_get_uvarint(&p, end, &out), 0);
        assert_true(out == v[i]);
        assert_ptr_equal(p, end);
        /* one byte short is an error, never a read past the end */
        p = buf;
        assert_int_equal(hp_get_uvarint(&p, end - 1, &out), -1);
        assert_ptr_equal(p, buf);
    }
}

static void test_trace_format_uvarint_rejects_overflow(void **state)
{
    (void)state;
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof(eleven));
    eleven[10] = 0;
    const uint8_t *p = eleven;
    uint64_t out;
    assert_int_equal(hp_get_uvarint(&p, eleven + 11, &out), -1);
    /* 10th byte may only carry bit 63 */
    uint8_t big[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    p = big;
    assert_int_equal(hp_get_uvarint(&p, big + 10, &out), -1);
    big[9] = 0x01;
    p = big;
    assert_int_equal(hp_get_uvarint(&p, big + 10, &out), 0);
    assert_true(out == UINT64_MAX);
}

static void test_trace_format_deltas(void **state)
{
    (void)state;
    const uint64_t seq[] = {0x7fff00001000ull, 0x1000, 0x7fff00001000ull, 0, UINT64_MAX, 5};
    uint8_t buf[128], *w = buf;
    uint64_t prev = 0;
    for (size_t i = 0; i < 6; i++)
        w = hp_put_delta(w, &prev, seq[i]);
    const uint8_t *r = buf;
    prev = 0;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(hp_get_delta(&r, w, &prev), 0);
        assert_true(prev == seq[i]);
    }
    assert_ptr_equal(r, w);
    for (int64_t v = -300; v <= 300; v++)
        assert_true(hp_unzigzag(hp_zigzag(v)) == v);
    assert_true(hp_zigzag(-1) == 1 && hp_zigzag(1) == 2);
}

static void test_trace_format_header_and_index(void **state)
{
    (void)state;
    hp_file_header_t h = {.version = HP_TRACE_VERSION, .pid = 1, .ppid = 2,
                          .clock = HP_CLOCK_MONOTONIC_COARSE_NS,
                          .rate = 524288, .seed = 0x0123456789abcdefull, .start_ns = 3,
                          .start_unix_ns = 4, .flags = HP_HDR_FORKED, .exe_len = 9};
    memcpy(h.magic, HP_TRACE_MAGIC, 8);
    uint8_t buf[HP_FILE_HEADER_SIZE];
    hp_encode_file_header(buf, &h);
    hp_file_header_t g;
    hp_decode_file_header(buf, &g);
    assert_memory_equal(g.magic, HP_TRACE_MAGIC, 8);
    assert_int_equal(g.version, h.version);
    assert_int_equal(g.pid, 1);
    assert_int_equal(g.ppid, 2);
    assert_true(g.rate == 524288 && g.seed == h.seed && g.start_ns == 3 && g.start_unix_ns == 4);
    assert_int_equal(g.flags, HP_HDR_FORKED);
    assert_int_equal(g.exe_len, 9);
    assert_int_equal(hp_get_le32(buf + 8), HP_TRACE_VERSION); /* little endian on disk */

    hp_frame_index_t x = {.tid = 77, .seq = 5, .first_ts = 10, .last_ts = 20,
                          .csize = 1000, .rsize = HP_MAX_FRAME_RAW};
    uint8_t ib[HP_FRAME_INDEX_SIZE];
    hp_encode_frame_index(ib, &x);
    hp_frame_index_t y;
    hp_decode_frame_index(ib, &y);
    assert_int_equal(y.tid, 77);
    assert_int_equal(y.seq, 5);
    assert_true(y.first_ts == 10 && y.last_ts == 20);
    assert_int_equal(y.csize, 1000);
    assert_int_equal(y.rsize, HP_MAX_FRAME_RAW);
    assert_true(hp_get_le64(ib + 8) == 10);
}

/* Reads one uvarint from *p (bounded by end) or fails the test. */
static uint64_t getu(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    assert_int_equal(hp_get_uvarint(p, end, &v), 0);
    return v;
}

/* Event heads carry the pair id and the kind; other records a tag. */
static void test_trace_format_heads(void **state)
{
    (void)state;
    const uint32_t pairs[] = {1, 31, 32, 4095, 4096, 1u << 25, HP_MAX_PAIR};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        uint8_t buf[3 * HP_UVARINT_MAX], *w = buf;
        w = hp_enc_alloc(w, pairs[i]);
        w = hp_enc_free(w, 0, pairs[i]);
        w = hp_enc_free(w, 1, pairs[i]);
        const uint8_t *r = buf;
        const unsigned want[] = {HP_REC_ALLOC, HP_REC_FREE, HP_REC_FREE_TEMP};
        for (int k = 0; k < 3; k++) {
            unsigned tag;
            uint32_t pair;
            assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
            assert_int_equal(tag, want[k]);
            assert_int_equal(pair, pairs[i]);
        }
        assert_ptr_equal(r, w);
    }
    /* the common event is small: pairs below 32 take one byte */
    uint8_t one[HP_UVARINT_MAX];
    assert_int_equal(hp_enc_alloc(one, 31) - one, 1);
    assert_int_equal(hp_enc_free(one, 1, 4095) - one, 2);
    for (unsigned t = HP_REC_STACK; t <= HP_REC_TICK; t++) {
        uint8_t *e = hp_enc_tag(one, t);
        assert_int_equal(e - one, 1);
        unsigned tag;
        uint32_t pair = 77;
        const uint8_t *r = one;
        assert_int_equal(hp_dec_head(getu(&r, e), &tag, &pair), 0);
        assert_int_equal(tag, t);
        assert_int_equal(pair, 0);
    }
    /* corrupt heads: an event of pair 0, or of a pair beyond 32 bits */
    unsigned tag;
    uint32_t pair;
    assert_int_equal(hp_dec_head(0, &tag, &pair), -1);
    assert_int_equal(hp_dec_head(2, &tag, &pair), -1);
    assert_int_equal(hp_dec_head(((uint64_t)HP_MAX_PAIR + 1) << 2, &tag, &pair), -1);
    assert_int_equal(hp_dec_head(UINT64_MAX - 1, &tag, &pair), -1);
    /* a huge tag is clamped, never truncated into a valid one */
    assert_int_equal(hp_dec_head(UINT64_MAX, &tag, &pair), 0);
    assert_int_equal(tag, 0xff);
    assert_int_equal(hp_dec_head((uint64_t)(256 + HP_REC_PAIR) << 2 | 3, &tag, &pair), 0);
    assert_int_equal(tag, 0xff);
}

/* Every record encoder, decoded field by field. */
static void test_trace_format_records_round_trip(void **state)
{
    (void)state;
    static uint8_t buf[4096];
    uint8_t *w = buf;
    hp_delta_t d = {.ts = 1000, .pc = 0};
    const uint64_t pcs[] = {0x7f0000001234ull, 0x401000, 0x401010};
    const uint64_t calls[HP_FN_COUNT] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const uint64_t bytes[HP_FN_COUNT] = {100, 200, 300};
    const uint8_t bid[] = {0xab, 0xcd};
    w = hp_enc_pair(w, 70000, 1u << 30, 12);
    w = hp_enc_tick(w, &d, 5000);
    assert_true(d.ts == 5000);
    w = hp_enc_stack(w, &d, 12, 3, pcs, 3);
    w = hp_enc_modules_head(w, 3, 1);
    w = hp_enc_module(w, 0x400000, 0x400000, 0x500000, "/bin/x", 6, bid, 2);
    w = hp_enc_counters(w, 42, calls, bytes);
    w = hp_enc_end(w, 9999, HP_END_EXEC);
    w = hp_enc_unreachable_head(w, 2);
    w = hp_put_uvarint(w, 70000);
    w = hp_put_uvarint(w, 1);

    const uint8_t *r = buf;
    unsigned tag;
    uint32_t pair;
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_PAIR);
    assert_true(getu(&r, w) == 70000 && getu(&r, w) == 1u << 30 && getu(&r, w) == 12);
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_TICK);
    assert_true(getu(&r, w) == 4000); /* the delta from the current tick */
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_STACK);
    assert_true(getu(&r, w) == 12 && getu(&r, w) == 3 && getu(&r, w) == 3);
    uint64_t pc = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hp_get_delta(&r, w, &pc), 0);
        assert_true(pc == pcs[i]);
    }
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_MODULES);
    assert_true(getu(&r, w) == 3 && getu(&r, w) == 1);
    assert_true(getu(&r, w) == 0x400000 && getu(&r, w) == 0x400000 && getu(&r, w) == 0x500000);
    assert_true(getu(&r, w) == 6);
    assert_memory_equal(r, "/bin/x", 6);
    r += 6;
    assert_true(getu(&r, w) == 2);
    assert_memory_equal(r, bid, 2);
    r += 2;
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_COUNTERS);
    assert_true(getu(&r, w) == 42);
    for (int i = 0; i < HP_FN_COUNT; i++) {
        assert_true(getu(&r, w) == calls[i]);
        assert_true(getu(&r, w) == bytes[i]);
    }
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_END);
    assert_true(getu(&r, w) == 9999 && getu(&r, w) == HP_END_EXEC);
    assert_int_equal(hp_dec_head(getu(&r, w), &tag, &pair), 0);
    assert_int_equal(tag, HP_REC_UNREACHABLE);
    assert_true(getu(&r, w) == 2 && getu(&r, w) == 70000 && getu(&r, w) == 1);
    assert_ptr_equal(r, w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_format_uvarint_round_trip),
        cmocka_unit_test(test_trace_format_uvarint_rejects_overflow),
        cmocka_unit_test(test_trace_format_deltas),
        cmocka_unit_test(test_trace_format_header_and_index),
        cmocka_unit_test(test_trace_format_heads),
        cmocka_unit_test(test_trace_format_records_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
