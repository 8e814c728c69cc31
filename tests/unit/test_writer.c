/*
 * test_writer.c - trace file naming and framing (preload/writer.c): %p/%e
 * expansion, ".N" before ".zst" when the name exists, mode 0600, and one
 * (index, zstd frame) pair per frame that decodes to the raw records.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <cmocka.h>

#include "heapprof/trace_format.h"
#include "writer.h"

static void test_writer_expands_template(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(hp_writer_expand("heapprof.%e.%p.zst", "app", 1234, out, sizeof out), 0);
    assert_string_equal(out, "heapprof.app.1234.zst");
    assert_int_equal(hp_writer_expand("a%%p-%q-%", "x", 0, out, sizeof out), 0);
    assert_string_equal(out, "a%p-%q-%");
    assert_int_equal(hp_writer_expand("%e%e%e", "0123456789abcdef0123456789", 1, out, sizeof out),
                     -1);
}

static void test_writer_creates_numbered_0600_traces(void **state)
{
    (void)state;
    char dir[] = "/tmp/hp-test-writer.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char tmpl[128], p0[160], p1[160];
    snprintf(tmpl, sizeof tmpl, "%s/t.zst", dir);
    snprintf(p0, sizeof p0, "%s/t.zst", dir);
    snprintf(p1, sizeof p1, "%s/t.1.zst", dir);
    umask(0);
    assert_int_equal(hp_writer_init(), 0);
    assert_int_equal(hp_writer_open(tmpl, 1, 99, 0, 5), 0);
    uint8_t raw[3000];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(i % 7);
    assert_int_equal(hp_writer_frame(17, 0, 5, 9, raw, sizeof raw), 0);
    hp_writer_close();
    assert_int_equal(hp_writer_open(tmpl, 1, 99, 0, 5), 0); /* exists: t.1.zst */
    assert_string_equal(hp_writer_path(), p1);
    hp_writer_close();

    struct stat st;
    assert_int_equal(stat(p0, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(p1, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Read back: header frame, then index + data frame. */
    FILE *f = fopen(p0, "rb");
    assert_non_null(f);
    static uint8_t file[1 << 16];
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    assert_true(n > 8);
    assert_int_equal(hp_get_le32(file), HP_SKIP_MAGIC_HEADER);
    uint32_t hsize = hp_get_le32(file + 4);
    hp_file_header_t h;
    hp_decode_file_header(file + 8, &h);
    assert_memory_equal(h.magic, HP_TRACE_MAGIC, 8);
    assert_int_equal(h.version, HP_TRACE_VERSION);
    assert_int_equal(h.pid, (uint32_t)getpid());
    assert_int_equal(h.rate, 1);
    assert_int_equal(h.seed, 99);
    assert_int_equal(hsize, HP_FILE_HEADER_SIZE + h.exe_len);
    const uint8_t *x = file + 8 + hsize;
    assert_int_equal(hp_get_le32(x), HP_SKIP_MAGIC_INDEX);
    assert_int_equal(hp_get_le32(x + 4), HP_FRAME_INDEX_SIZE);
    hp_frame_index_t ix;
    hp_decode_frame_index(x + 8, &ix);
    assert_int_equal(ix.tid, 17);
    assert_int_equal(ix.first_ts, 5);
    assert_int_equal(ix.last_ts, 9);
    assert_int_equal(ix.rsize, sizeof raw);
    const uint8_t *z = x + 8 + HP_FRAME_INDEX_SIZE;
    assert_int_equal((size_t)(z - file) + ix.csize, n); /* nothing else in the file */
    uint8_t back[4000];
    size_t d = ZSTD_decompress(back, sizeof back, z, ix.csize);
    assert_int_equal(d, sizeof raw);
    assert_memory_equal(back, raw, sizeof raw);
    unlink(p0);
    unlink(p1);
    rmdir(dir);
}

static void test_writer_unwritable_path_fails_cleanly(void **state)
{
    (void)state;
    assert_int_equal(hp_writer_init(), 0);
    assert_int_not_equal(hp_writer_open("/nonexistent-dir/x/t.zst", 1, 1, 0, 0), 0);
    assert_int_equal(hp_writer_ok(), 0);
    uint8_t raw[4] = {1, 2, 3, 4};
    assert_int_not_equal(hp_writer_frame(1, 0, 0, 0, raw, sizeof raw), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_expands_template),
        cmocka_unit_test(test_writer_creates_numbered_0600_traces),
        cmocka_unit_test(test_writer_unwritable_path_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
