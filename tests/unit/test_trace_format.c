/*
 * test_trace_format.c - the encoding helpers of trace_format.h, which the
 * recorder and the reader share: varints, zigzag deltas, fixed-width fields,
 * the file header and the frame index.
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
    hp_file_header_t h = {.version = HP_TRACE_VERSION, .pid = 1, .ppid = 2, .clock = 1,
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_format_uvarint_round_trip),
        cmocka_unit_test(test_trace_format_uvarint_rejects_overflow),
        cmocka_unit_test(test_trace_format_deltas),
        cmocka_unit_test(test_trace_format_header_and_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
