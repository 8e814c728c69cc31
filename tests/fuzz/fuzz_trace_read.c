/*
 * fuzz_trace_read.c - libFuzzer target for the trace reader and the replay.
 *
 * Each input is written to a memfd and read through its /proc/self/fd path
 * exactly as heapanalyze reads a file: pass 1, the time-ordered merge, the
 * tables, and the model's replay (hp_analysis_replay). Symbolization is left
 * out on purpose: it opens the module paths the input names. Any crash,
 * sanitizer report, leak or unbounded allocation is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"
#include "trace_read.h"

static void on_event(void *ctx, const hp_replay_event_t *ev)
{
    (*(uint64_t *)ctx) += ev->size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    hp_trace_set_max_open((size_t)64 << 20); /* stay far below -rss_limit_mb */
    hp_trace_set_max_pairs((size_t)1 << 20);  /* ~64 MiB of pair tables at most */
    int fd = memfd_create("fuzz_trace", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    hp_trace_t *t;
    if (hp_trace_open(path, &t, err, sizeof(err)) == 0) {
        hp_trace_event_t ev;
        while (hp_trace_next(t, &ev, err, sizeof(err)) == 1) {
            const hp_trace_stack_t *st = hp_trace_stack(t, ev.stack_id);
            if (st) {
                size_t n;
                hp_trace_modules(t, st->gen, &n);
            }
        }
        uint64_t c[HP_FN_COUNT], b[HP_FN_COUNT];
        hp_trace_counters(t, c, b);
        hp_trace_thread_name(t, 1);
        hp_trace_close(t);
        uint64_t sum = 0;
        hp_analysis_replay(path, on_event, &sum, err, sizeof(err));
    }
    close(fd);
    return 0;
}
