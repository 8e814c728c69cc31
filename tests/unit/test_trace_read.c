/*
 * test_trace_read.c - the trace reader against valid, truncated, corrupt and
 * random traces written with tests/support/trace_writer.
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
#include "trace_read.h"
#include "trace_writer.h"
#include "tmp_file.h"


static const uint64_t pcs1[] = {0x401000, 0x401234, 0x7f0000001000ull};
static const uint8_t bid[] = {0xde, 0xad, 0xbe, 0xef};

/* A small valid trace with every record type. */
static void write_all_records(const char *p)
{
    hp_tw_t *w = hp_tw_open(p, 1, 4242, "/usr/bin/example", 1000);
    assert_non_null(w);
    hp_module_t mods[2] = {
        {.bias = 0, .start = 0x400000, .end = 0x500000, .path = "/usr/bin/example",
         .build_id = bid, .build_id_len = sizeof(bid)},
        {.bias = 0x7f0000000000ull, .start = 0x7f0000000000ull, .end = 0x7f0000100000ull,
         .path = "/lib/x86_64-linux-gnu/libc.so.6"},
    };
    assert_int_equal(hp_tw_modules(w, 0, 1, 2, mods), 0);
    assert_int_equal(hp_tw_stack(w, 7, 1, 1, 3, pcs1), 0);
    assert_int_equal(hp_tw_thread_name(w, 7, "worker"), 0);
    assert_int_equal(hp_tw_alloc(w, 7, 1100, 0x10000, 100, 1), 0);
    assert_int_equal(hp_tw_alloc(w, 7, 1200, 0x10080, 50, 1), 0);
    assert_int_equal(hp_tw_free(w, 7, 1300, 0x10000, 0), 0);
    assert_int_equal(hp_tw_free(w, 7, 1400, 0x10080, 1), 0);
    uint64_t calls[HP_FN_COUNT] = {2, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    uint64_t bytes[HP_FN_COUNT] = {150};
    assert_int_equal(hp_tw_counters(w, 7, calls, bytes), 0);
    assert_int_equal(hp_tw_end(w, 0, 1500, HP_END_EXIT), 0);
    assert_int_equal(hp_tw_close(w), 0);
}

static void test_trace_read_round_trip(void **state)
{
    (void)state;
    char err[512];
    hp_trace_t *t;
    hp_trace_event_t ev;
    write_all_records(hp_tmp_path);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    const hp_file_header_t *h = hp_trace_header(t);
    assert_int_equal(h->pid, 4242);
    assert_int_equal(h->rate, 1);
    assert_int_equal(h->start_ns, 1000);
    assert_string_equal(hp_trace_exe(t), "/usr/bin/example");
    assert_int_equal(hp_trace_nframes(t), 2);

    /* (100, stack 1) is pair 1, (50, stack 1) pair 2: one slot each */
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.tag, HP_REC_ALLOC);
    assert_int_equal(ev.tid, 7);
    assert_int_equal(ev.ts, 1100);
    assert_int_equal(ev.pair, 1);
    assert_int_equal(ev.slot, 0);
    assert_true(ev.defined);
    assert_int_equal(ev.size, 100);
    assert_int_equal(ev.stack_id, 1);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.pair, 2);
    assert_int_equal(ev.slot, 1);
    assert_int_equal(ev.ts, 1200);
    assert_int_equal(ev.size, 50);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.tag, HP_REC_FREE);
    assert_int_equal(ev.pair, 1);
    assert_int_equal(ev.slot, 0);
    assert_true(ev.defined); /* frees carry the pair's size and stack too */
    assert_int_equal(ev.size, 100);
    assert_int_equal(ev.ts, 1300);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.tag, HP_REC_FREE_TEMP);
    assert_int_equal(ev.pair, 2);
    assert_int_equal(ev.ts, 1400);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 0);
    assert_int_equal(hp_trace_npairs(t), 2);
    uint64_t psize;
    uint32_t pslot, pstack;
    assert_int_equal(hp_trace_pair(t, 2, &pslot, &psize, &pstack), 1);
    assert_int_equal(pslot, 1);
    assert_int_equal(psize, 50);
    assert_int_equal(pstack, 1);
    assert_int_equal(hp_trace_pair(t, 3, &pslot, &psize, &pstack), 0);
    assert_int_equal(pslot, UINT32_MAX);
    const uint32_t *lost;
    size_t nlost;
    assert_int_equal(hp_trace_unreachable(t, &lost, &nlost), 0); /* no scan */

    const hp_trace_stack_t *st = hp_trace_stack(t, 1);
    assert_non_null(st);
    assert_int_equal(st->n, 3);
    assert_int_equal(st->gen, 1);
    assert_memory_equal(st->pcs, pcs1, sizeof(pcs1));
    assert_null(hp_trace_stack(t, 2));

    size_t n;
    const hp_module_t *m = hp_trace_modules(t, 1, &n);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].path, "/usr/bin/example");
    assert_int_equal(m[0].start, 0x400000);
    assert_int_equal(m[0].end, 0x500000);
    assert_int_equal(m[0].build_id_len, 4);
    assert_memory_equal(m[0].build_id, bid, 4);
    assert_int_equal(m[1].bias, 0x7f0000000000ull);
    assert_null(m[1].build_id);

    uint64_t calls[HP_FN_COUNT], bytes[HP_FN_COUNT];
    assert_int_equal(hp_trace_counters(t, calls, bytes), 1);
    assert_int_equal(calls[HP_FN_MALLOC], 2);
    assert_int_equal(calls[HP_FN_FREE], 2);
    assert_int_equal(bytes[HP_FN_MALLOC], 150);
    uint64_t end;
    assert_int_equal(hp_trace_complete(t, &end), 1);
    assert_int_equal(end, 1500);
    assert_string_equal(hp_trace_thread_name(t, 7), "worker");
    assert_false(hp_trace_truncated(t));
    hp_trace_close(t);
}

/* Several threads, several frames each: one global time order, ties by tid,
 * each thread's events in their order. */
static void test_trace_read_merges_threads_by_time(void **state)
{
    (void)state;
    char err[512];
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "x", 0);
    assert_non_null(w);
    hp_tw_set_frame_limit(w, 200); /* many small frames */
    for (uint64_t i = 0; i < 3000; i++) {
        uint32_t tid = 100 + (uint32_t)(i % 5);
        /* ts: two events per tick, so ties across threads happen */
        assert_int_equal(hp_tw_alloc(w, tid, 10 + i / 2, 0x1000 + i * 16, i, 0), 0);
    }
    assert_int_equal(hp_tw_close(w), 0);
    hp_trace_t *t;
    hp_trace_event_t ev;
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    assert_true(hp_trace_nframes(t) > 20);
    uint64_t prev_ts = 0, prev_size[5] = {0};
    uint32_t prev_tid = 0;
    int n = 0, seen[5] = {0};
    int rc;
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1) {
        assert_true(ev.ts >= prev_ts);
        if (ev.ts == prev_ts)
            assert_true(ev.tid >= prev_tid);
        int k = (int)(ev.tid - 100);
        assert_true(k >= 0 && k < 5);
        if (seen[k])
            assert_true(ev.size > prev_size[k]); /* per-thread order kept */
        seen[k] = 1;
        prev_size[k] = ev.size;
        prev_ts = ev.ts;
        prev_tid = ev.tid;
        /* every size is its own pair, defined by its thread */
        assert_true(ev.defined);
        assert_int_equal(ev.pair, ev.size + 1);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3000);
    hp_trace_close(t);
}

/* PAIR and TICK records, raw: a free another thread makes in the same tick
 * is met before the PAIR of its allocating thread (lower tid first), so it
 * comes undefined; the slot is the one the PAIR then fills. The scan lists
 * pair ids, one per block. */
static void test_trace_read_pairs_and_ticks(void **state)
{
    (void)state;
    char err[512];
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "x", 0);
    assert_non_null(w);
    assert_int_equal(hp_tw_free_pair(w, 5, 100, 7, 1), 0);
    assert_int_equal(hp_tw_pair(w, 10, 7, 24, 3), 0);
    assert_int_equal(hp_tw_alloc_pair(w, 10, 100, 7), 0);
    assert_int_equal(hp_tw_alloc_pair(w, 10, 250, 7), 0); /* a TICK of 150 first */
    assert_int_equal(hp_tw_pair(w, 10, 8, 1u << 20, 0), 0);
    assert_int_equal(hp_tw_alloc_pair(w, 10, 250, 8), 0);  /* same tick: no TICK */
    assert_int_equal(hp_tw_free_pair(w, 10, 4000, 7, 0), 0);
    const uint32_t lost[] = {7, 7, 12};
    assert_int_equal(hp_tw_unreachable(w, 0, lost, 3), 0);
    assert_int_equal(hp_tw_close(w), 0);

    hp_trace_t *t;
    hp_trace_event_t ev;
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.tid, 5);
    assert_int_equal(ev.tag, HP_REC_FREE_TEMP);
    assert_int_equal(ev.ts, 100);
    assert_int_equal(ev.pair, 7);
    assert_int_equal(ev.slot, 0);
    assert_false(ev.defined);
    assert_int_equal(ev.size, 0);
    assert_int_equal(ev.stack_id, 0);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.tid, 10);
    assert_int_equal(ev.tag, HP_REC_ALLOC);
    assert_int_equal(ev.ts, 100);
    assert_int_equal(ev.slot, 0);
    assert_true(ev.defined);
    assert_int_equal(ev.size, 24);
    assert_int_equal(ev.stack_id, 3);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.ts, 250);
    assert_int_equal(ev.pair, 7);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.ts, 250);
    assert_int_equal(ev.pair, 8);
    assert_int_equal(ev.slot, 1);
    assert_int_equal(ev.size, 1u << 20);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 1);
    assert_int_equal(ev.tag, HP_REC_FREE);
    assert_int_equal(ev.ts, 4000);
    assert_true(ev.defined);
    assert_int_equal(ev.size, 24);
    assert_int_equal(hp_trace_next(t, &ev, err, sizeof(err)), 0);
    assert_int_equal(hp_trace_last_ts(t), 4000);
    const uint32_t *ids;
    size_t n;
    assert_int_equal(hp_trace_unreachable(t, &ids, &n), 1);
    assert_int_equal(n, 3);
    assert_memory_equal(ids, lost, sizeof(lost));
    hp_trace_close(t);
}

/* Pair ids anywhere in 32 bits (a hostile or a fork child's trace): each id
 * keeps one slot, whether it is indexed directly or through the hash, also
 * when the direct range later grows over an id first met in the hash. */
static void test_trace_read_sparse_pair_ids(void **state)
{
    (void)state;
    char err[512];
    enum { NSPARSE = 3000, NDENSE = 1100000 };
    static uint32_t sparse[NSPARSE];
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "x", 0);
    assert_non_null(w);
    srand(99);
    sparse[0] = HP_MAX_PAIR;   /* the largest id there is */
    sparse[1] = 1500000;       /* above the direct range at first, in it at the end */
    for (int i = 2; i < NSPARSE; i++)
        sparse[i] = 0x10000000u + (uint32_t)rand() % 0xE0000000u + (uint32_t)i;
    for (int i = 0; i < NSPARSE; i++) {
        assert_int_equal(hp_tw_pair(w, 1, sparse[i], 1000u + (uint32_t)i, 0), 0);
        assert_int_equal(hp_tw_alloc_pair(w, 1, 10, sparse[i]), 0);
    }
    for (uint32_t id = 1; id <= NDENSE; id++)
        assert_int_equal(hp_tw_pair(w, 1, id, 1, 0), 0);
    for (int i = 0; i < NSPARSE; i++)
        assert_int_equal(hp_tw_free_pair(w, 1, 20, sparse[i], 0), 0);
    assert_int_equal(hp_tw_close(w), 0);

    hp_trace_t *t;
    hp_trace_event_t ev;
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    int rc, n = 0;
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1) {
        int i = n % NSPARSE;
        assert_int_equal(ev.pair, sparse[i]);
        assert_true(ev.defined);
        assert_int_equal(ev.size, 1000u + (uint32_t)i);
        if (n < NSPARSE) {
            assert_int_equal(ev.tag, HP_REC_ALLOC);
            assert_int_equal(ev.slot, (uint32_t)i);
        } else {
            assert_int_equal(ev.tag, HP_REC_FREE);
            assert_int_equal(ev.slot, (uint32_t)i); /* the same slot as its allocation */
        }
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 2 * NSPARSE);
    assert_int_equal(hp_trace_npairs(t), NSPARSE + NDENSE);
    uint32_t slot;
    uint64_t size;
    assert_int_equal(hp_trace_pair(t, 1500000, &slot, &size, NULL), 1);
    assert_int_equal(slot, 1);
    assert_int_equal(size, 1001);
    assert_int_equal(hp_trace_pair(t, HP_MAX_PAIR, &slot, &size, NULL), 1);
    assert_int_equal(slot, 0);
    assert_int_equal(hp_trace_pair(t, 0, &slot, NULL, NULL), 0);
    assert_int_equal(slot, UINT32_MAX);
    hp_trace_close(t);
}

/* More distinct pair ids than the limit: a clear error, not a table that
 * grows without bound; the same trace reads fine under a higher limit. */
static void test_trace_read_bounds_pair_ids(void **state)
{
    (void)state;
    char err[512];
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "x", 0);
    assert_non_null(w);
    for (uint32_t i = 0; i < 101; i++) /* frees of pairs never defined count too */
        assert_int_equal(hp_tw_free_pair(w, 1, 10, 0x80000000u + i * 977u, 0), 0);
    assert_int_equal(hp_tw_close(w), 0);
    hp_trace_t *t;
    hp_trace_event_t ev;
    int rc, n = 0;
    hp_trace_set_max_pairs(100);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1)
        n++;
    assert_int_equal(rc, HP_ERR_FORMAT);
    assert_int_equal(n, 99); /* the reader decodes one event ahead of the merge */
    assert_non_null(strstr(err, "more than 100 distinct pair ids"));
    assert_non_null(strstr(err, "frame 0"));
    hp_trace_close(t);
    hp_trace_set_max_pairs(101);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    n = 0;
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1)
        n++;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 101);
    hp_trace_close(t);
    hp_trace_set_max_pairs(HP_TRACE_MAX_PAIRS);
}

static long file_size(const char *p)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static uint8_t *slurp(const char *p, long *n)
{
    *n = file_size(p);
    uint8_t *b = malloc((size_t)*n);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, (size_t)*n, f), (size_t)*n);
    fclose(f);
    return b;
}

static void spill(const char *p, const uint8_t *b, long n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
}

/* Reads everything; returns the first error, 0 when all was read. */
static int read_all(const char *p, int *truncated, int *events)
{
    char err[512];
    hp_trace_t *t;
    hp_trace_event_t ev;
    *events = 0;
    int rc = hp_trace_open(p, &t, err, sizeof(err));
    if (rc) {
        assert_true(err[0] != '\0'); /* every error says what happened */
        return rc;
    }
    *truncated = hp_trace_truncated(t);
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1)
        (*events)++;
    if (rc)
        assert_true(err[0] != '\0');
    hp_trace_close(t);
    return rc;
}

/* Cutting the file anywhere gives a warning or an error, never a crash, and a
 * cut after a complete pair keeps every event before it. */
static void test_trace_read_truncated_files(void **state)
{
    (void)state;
    long n;
    write_all_records(hp_tmp_path);
    uint8_t *b = slurp(hp_tmp_path, &n);
    int ok_trunc = 0;
    for (long cut = 0; cut < n; cut++) {
        int trunc = 0, ev;
        spill(hp_tmp_path, b, cut);
        int rc = read_all(hp_tmp_path, &trunc, &ev);
        if (rc == 0 && cut > 80)
            ok_trunc += trunc;
        assert_true(rc == 0 || rc == HP_ERR_FORMAT);
    }
    assert_true(ok_trunc > 0);
    free(b);
}

/* Every single-bit flip of a small trace: an error or a clean read. */
static void test_trace_read_bit_flips(void **state)
{
    (void)state;
    long n;
    write_all_records(hp_tmp_path);
    uint8_t *b = slurp(hp_tmp_path, &n);
    int errors = 0;
    for (long i = 0; i < n * 8; i++) {
        int trunc, ev;
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        spill(hp_tmp_path, b, n);
        int rc = read_all(hp_tmp_path, &trunc, &ev);
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_true(rc == 0 || rc == HP_ERR_FORMAT || rc == HP_ERR_VERSION);
        errors += rc != 0;
    }
    assert_true(errors > n); /* most flips are caught (zstd checks, magic, sizes) */
    free(b);
}

/* Random files, and random bytes after a valid header: never a crash. */
static void test_trace_read_random_files(void **state)
{
    (void)state;
    long n;
    write_all_records(hp_tmp_path);
    uint8_t *valid = slurp(hp_tmp_path, &n);
    srand(12345);
    uint8_t buf[4096];
    for (int i = 0; i < 300; i++) {
        long len = rand() % (long)sizeof(buf);
        for (long k = 0; k < len; k++)
            buf[k] = (uint8_t)rand();
        if (i % 2 && len > 80)
            memcpy(buf, valid, 80); /* header + start of a frame index */
        spill(hp_tmp_path, buf, len);
        int trunc, ev;
        int rc = read_all(hp_tmp_path, &trunc, &ev);
        assert_true(rc == 0 || rc == HP_ERR_FORMAT || rc == HP_ERR_VERSION);
    }
    free(valid);
}

/* The one-byte head of a record that is not an event (tag < 64). */
#define H(tag) ((uint8_t)((tag) << 2 | 3))

/* Hostile records inside a valid zstd frame: clear errors naming the frame. */
static void test_trace_read_rejects_hostile_records(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[16];
        size_t n;
        const char *msg;
    } cases[] = {
        {{0x8f, 0x03}, 2, "unknown record tag 99"}, /* head 99 << 2 | 3 = 399 */
        {{H(HP_REC_ALLOC)}, 1, "unknown record tag 1"}, /* events have no tag head */
        {{H(HP_REC_STACK), 1, 0, 200, 1}, 5, "deeper than HP_MAX_FRAMES"},
        {{0x80, 0x80}, 2, "truncated record"},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 10, "varint overflow"},
        {{H(HP_REC_MODULES), 1, 1, 0, 0, 0, 0xff, 0xff, 0x03}, 9, "HP_MAX_PATH"},
        {{H(HP_REC_STACK), 0, 0, 0}, 4, "stack id out of range"},
        /* corrupt heads: an event of pair 0, or of a pair id above 32 bits */
        {{0x00}, 1, "event of pair id 0"},
        {{0x02}, 1, "event of pair id 0"},
        {{0x81, 0x80, 0x80, 0x80, 0x40}, 5, "above HP_MAX_PAIR"},
        /* an allocation must follow its pair's definition in its thread */
        {{5 << 2}, 1, "allocation of pair 5, which its thread did not define first"},
        {{H(HP_REC_PAIR), 0, 8, 0}, 4, "pair id out of range"},
        {{H(HP_REC_PAIR), 0x80, 0x80, 0x80, 0x80, 0x10, 8, 0}, 8, "pair id out of range"},
        {{H(HP_REC_PAIR), 9, 8, 0x80, 0x80, 0x80, 0x80, 0x10}, 8, "stack id out of range"},
        {{H(HP_REC_PAIR), 1, 2, 0}, 4, "pair 1 defined again with another size or stack"},
        {{H(HP_REC_TICK), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11,
         "tick beyond the clock's range"},
        {{H(HP_REC_UNREACHABLE), 2, 1, 0}, 4, "pair id out of range"},
        {{H(HP_REC_UNREACHABLE), 9, 1}, 3, "unreachable list longer than its frame"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512];
        hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "x", 0);
        assert_non_null(w);
        assert_int_equal(hp_tw_alloc(w, 3, 5, 0x100, 1, 0), 0); /* defines pair 1 */
        assert_int_equal(hp_tw_raw(w, 3, cases[i].bytes, cases[i].n), 0);
        assert_int_equal(hp_tw_close(w), 0);
        hp_trace_t *t;
        hp_trace_event_t ev;
        assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
        int rc;
        while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1)
            ;
        assert_int_equal(rc, HP_ERR_FORMAT);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
        assert_non_null(strstr(err, "frame 0"));
        assert_non_null(strstr(err, "offset"));
        hp_trace_close(t);
    }
}

/* An index whose rsize exceeds the limit is refused before any allocation. */
static void test_trace_read_rejects_oversized_frame(void **state)
{
    (void)state;
    long n;
    char err[512];
    write_all_records(hp_tmp_path);
    uint8_t *b = slurp(hp_tmp_path, &n);
    /* first index follows the header: 8 + 64 + strlen(exe) */
    long ix = 8 + 64 + (long)strlen("/usr/bin/example");
    assert_int_equal(hp_get_le32(b + ix), HP_SKIP_MAGIC_INDEX);
    hp_put_le32(b + ix + 8 + 28, HP_MAX_FRAME_RAW + 1);
    spill(hp_tmp_path, b, n);
    hp_trace_t *t;
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), HP_ERR_FORMAT);
    assert_non_null(strstr(err, "exceeds the limit"));
    free(b);
}

/* Frames of many threads overlapping in time beyond the limit: a clear
 * error, not an allocation without bound. */
static void test_trace_read_bounds_overlapping_frames(void **state)
{
    (void)state;
    char err[512];
    hp_tw_t *w = hp_tw_open(hp_tmp_path, 1, 1, "x", 0);
    assert_non_null(w);
    for (uint32_t tid = 1; tid <= 40; tid++) {
        /* each thread: an event at ts 1, 40 KiB of names, an event at ts 1000 */
        assert_int_equal(hp_tw_alloc(w, tid, 1, tid * 0x1000, 8, 0), 0);
        for (int k = 0; k < 160; k++)
            assert_int_equal(hp_tw_thread_name(w, tid, "0123456789012345678901234567890123456789"
                                                         "0123456789012345678901234567890123456789"
                                                         "0123456789012345678901234567890123456789"
                                                         "0123456789012345678901234567890123456789"
                                                         "0123456789012345678901234567890123456789"
                                                         "01234567890123456789012345678901234567"),
                             0);
        assert_int_equal(hp_tw_alloc(w, tid, 1000, tid * 0x1000 + 16, 8, 0), 0);
    }
    assert_int_equal(hp_tw_close(w), 0);
    hp_trace_t *t;
    hp_trace_event_t ev;
    int rc, n = 0;
    /* 40 frames of ~40 KiB all open at once: 1.6 MiB; limit 1 MiB */
    hp_trace_set_max_open((size_t)1 << 20);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1)
        n++;
    assert_int_equal(rc, HP_ERR_NOMEM);
    assert_non_null(strstr(err, "overlap in time"));
    hp_trace_close(t);
    /* with room for them, the same trace reads fine */
    hp_trace_set_max_open((size_t)2 << 30);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    n = 0;
    while ((rc = hp_trace_next(t, &ev, err, sizeof(err))) == 1)
        n++;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 80);
    hp_trace_close(t);
}

/* An index whose csize runs past the end of the file while the zstd frame
 * there is complete lies: an error, not a silent "truncated". */
static void test_trace_read_csize_lies_past_eof(void **state)
{
    (void)state;
    long n;
    char err[512];
    write_all_records(hp_tmp_path);
    uint8_t *b = slurp(hp_tmp_path, &n);
    long ix = 8 + 64 + (long)strlen("/usr/bin/example");
    /* the last pair: its data frame ends exactly at the end of the file */
    long next = ix + 8 + 32 + (long)hp_get_le32(b + ix + 8 + 24);
    assert_true(next < n);
    ix = next;
    assert_int_equal(hp_get_le32(b + ix), HP_SKIP_MAGIC_INDEX);
    hp_put_le32(b + ix + 8 + 24, hp_get_le32(b + ix + 8 + 24) + 1); /* one byte more */
    spill(hp_tmp_path, b, n);
    hp_trace_t *t;
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), HP_ERR_FORMAT);
    assert_non_null(strstr(err, "past the end of the file"));
    assert_non_null(strstr(err, "frame 1"));
    /* the same file really cut inside that frame is a truncated trace */
    hp_put_le32(b + ix + 8 + 24, hp_get_le32(b + ix + 8 + 24) - 1);
    spill(hp_tmp_path, b, n - 3);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), 0);
    assert_true(hp_trace_truncated(t));
    assert_non_null(strstr(hp_trace_warning(t), "frame 1"));
    hp_trace_close(t);
    free(b);
}

static void test_trace_read_not_a_trace(void **state)
{
    (void)state;
    char err[512];
    hp_trace_t *t;
    spill(hp_tmp_path, (const uint8_t *)"hello world, not a trace", 24);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), HP_ERR_FORMAT);
    assert_non_null(strstr(err, "not a heapprof trace"));
    assert_int_equal(hp_trace_open("/nonexistent/trace.zst", &t, err, sizeof(err)), HP_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/trace.zst"));
}

static void test_trace_read_rejects_other_version(void **state)
{
    (void)state;
    long n;
    char err[512];
    hp_trace_t *t;
    write_all_records(hp_tmp_path);
    uint8_t *b = slurp(hp_tmp_path, &n);
    hp_put_le32(b + 8 + 8, 99);
    spill(hp_tmp_path, b, n);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), HP_ERR_VERSION);
    assert_non_null(strstr(err, "version 99"));
    /* version 1 (addresses and exact times) is no longer read: say so */
    hp_put_le32(b + 8 + 8, 1);
    spill(hp_tmp_path, b, n);
    assert_int_equal(hp_trace_open(hp_tmp_path, &t, err, sizeof(err)), HP_ERR_VERSION);
    assert_non_null(strstr(err, "trace format version 1 is no longer read; record it again"));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trace_read_round_trip, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_merges_threads_by_time, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_pairs_and_ticks, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_sparse_pair_ids, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_bounds_pair_ids, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_truncated_files, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_bit_flips, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_random_files, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_rejects_hostile_records, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_rejects_oversized_frame, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_bounds_overlapping_frames, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_csize_lies_past_eof, hp_tmp_setup,
                                        hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_not_a_trace, hp_tmp_setup, hp_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_trace_read_rejects_other_version, hp_tmp_setup,
                                        hp_tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
