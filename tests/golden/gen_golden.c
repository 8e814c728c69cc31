/*
 * gen_golden.c - writes tests/golden/small.zst and sampled.zst, and two
 * damaged copies of small.zst: truncated.zst (its last 20 bytes cut off,
 * inside the last data frame) and corrupt.zst (the first frame index's
 * rsize one more than the frame's real size). Not built by the Makefile:
 * the traces are committed. To regenerate them:
 *
 *   cc -std=gnu11 -Iinclude -Ianalyzer -Itests/support tests/golden/gen_golden.c \
 *      tests/support/trace_writer.c -lzstd -o /tmp/gen_golden && /tmp/gen_golden tests/golden
 *
 * then HP_GOLDEN_UPDATE=1 on tests/integration/golden.sh, and review the diff.
 * Two threads (100 "app", 101 "worker"), four stacks in modules that do not
 * exist (so frames stay module+offset everywhere), one of them starting in
 * libheapprof.so (trimmed): 5 leaked blocks of 4096 bytes, a 1 MiB block
 * freed late (the peak), 200 temporaries on the worker, small blocks on app.
 * sampled.zst holds the same records with rate 4096: each record then
 * stands for 1/(1-exp(-size/4096)) allocations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace_writer.h"

/* Writes the first n bytes of buf to dir/name. */
static int spill(const char *dir, const char *name, const uint8_t *buf, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(buf, 1, n, f);
    return fclose(f) || w != n ? -1 : 0;
}

/* truncated.zst and corrupt.zst from the small trace at path. */
static int damage(const char *dir, const char *path)
{
    static uint8_t buf[1 << 16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (spill(dir, "truncated.zst", buf, n - 20))
        return -1;
    /* the first index follows the header skippable frame */
    size_t ix = HP_SKIP_HEADER_SIZE + hp_get_le32(buf + 4);
    if (hp_get_le32(buf + ix) != HP_SKIP_MAGIC_INDEX)
        return -1;
    uint8_t *rsize = buf + ix + HP_SKIP_HEADER_SIZE + 28;
    hp_put_le32(rsize, hp_get_le32(rsize) + 1);
    return spill(dir, "corrupt.zst", buf, n);
}

static void write_trace(const char *path, uint64_t rate, int nchurn)
{
    hp_module_t mods[3] = {
        {.bias = 0x555555554000ull, .start = 0x555555554000ull, .end = 0x555555560000ull,
         .path = "/nonexistent/golden/app"},
        {.bias = 0x7ffff7c00000ull, .start = 0x7ffff7c00000ull, .end = 0x7ffff7e00000ull,
         .path = "/nonexistent/golden/libc.so.6"},
        {.bias = 0x7ffff7f00000ull, .start = 0x7ffff7f00000ull, .end = 0x7ffff7f40000ull,
         .path = "/nonexistent/golden/libheapprof.so"},
    };
    static const uint8_t bid[] = {1, 2, 3, 4, 5, 6, 7, 8};
    mods[0].build_id = bid;
    mods[0].build_id_len = 8;
    const uint64_t s1[] = {0x7ffff7f01234ull, 0x555555555100ull, 0x555555555800ull, 0x7ffff7c29d90ull};
    const uint64_t s2[] = {0x555555555200ull, 0x555555555800ull, 0x7ffff7c29d90ull};
    const uint64_t s3[] = {0x555555555300ull, 0x555555555900ull};
    const uint64_t s4[] = {0x7ffff7c91234ull, 0x555555555400ull, 0x555555555a00ull};
    uint64_t t0 = 5000000000ull;
    hp_tw_t *w = hp_tw_open(path, rate, 31337, "/nonexistent/golden/app", t0);
    hp_tw_modules(w, 100, 1, 3, mods);
    hp_tw_thread_name(w, 100, "app");
    hp_tw_thread_name(w, 101, "worker");
    hp_tw_stack(w, 100, 1, 1, 4, s1);
    hp_tw_stack(w, 100, 2, 1, 3, s2);
    hp_tw_stack(w, 101, 3, 1, 2, s3);
    hp_tw_stack(w, 101, 4, 1, 3, s4);
    uint64_t ts = t0;
    /* main thread: 5 leaked blocks of 4096 (stack 1) */
    for (int i = 0; i < 5; i++)
        hp_tw_alloc(w, 100, ts += 1000, 0x10000 + i * 0x2000, 4096, 1);
    /* worker: big peak buffer 1 MiB (stack 2 on main), freed later */
    hp_tw_alloc(w, 100, ts += 1000, 0x800000, 1 << 20, 2);
    hp_tw_flush(w, 100);
    /* worker churn: temporaries (stack 3), interleaved with main */
    for (int i = 0; i < nchurn; i++) {
        hp_tw_alloc(w, 101, ts += 500, 0x40000, 100 + i % 50, 3);
        hp_tw_free(w, 101, ts += 500, 0x40000, 1);
        if (i % 10 == 0)
            hp_tw_alloc(w, 100, ts += 10, 0x50000 + i * 64, 48, 4);
    }
    hp_tw_free(w, 100, ts += 1000, 0x800000, 0);
    for (int i = 0; i < nchurn; i += 10)
        hp_tw_free(w, 100, ts += 10, 0x50000 + i * 64, 0);
    uint64_t c0[HP_FN_COUNT] = {[HP_FN_MALLOC] = 6 + nchurn / 10, [HP_FN_CALLOC] = 1, [HP_FN_FREE] = 2 + nchurn / 10};
    uint64_t b0[HP_FN_COUNT] = {[HP_FN_MALLOC] = 5 * 4096 + (1 << 20) + 48 * (nchurn / 10), [HP_FN_CALLOC] = 64};
    uint64_t c1[HP_FN_COUNT] = {[HP_FN_MALLOC] = nchurn, [HP_FN_FREE] = nchurn};
    uint64_t b1[HP_FN_COUNT] = {[HP_FN_MALLOC] = 0};
    for (int i = 0; i < nchurn; i++)
        b1[HP_FN_MALLOC] += 100 + i % 50;
    hp_tw_counters(w, 101, c1, b1);
    hp_tw_flush(w, 101);
    hp_tw_counters(w, 100, c0, b0);
    hp_tw_end(w, 100, ts + 5000, HP_END_EXIT);
    hp_tw_close(w);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char p[512];
    snprintf(p, sizeof p, "%s/small.zst", dir);
    write_trace(p, 1, 200);
    if (damage(dir, p)) {
        fprintf(stderr, "gen_golden: cannot write the damaged copies of %s\n", p);
        return 1;
    }
    snprintf(p, sizeof p, "%s/sampled.zst", dir);
    write_trace(p, 4096, 200);
    return 0;
}
