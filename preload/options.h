/*
 * options.h - HEAPPROF_* environment variables, parsed once at init.
 *
 *   HEAPPROF_OUT          trace path template (%p pid, %e executable name, %% a %)
 *   HEAPPROF_RATE         mean bytes between samples, 1 = full mode (default 524288)
 *   HEAPPROF_SEED         sampler seed (default: drawn from getrandom/clock)
 *   HEAPPROF_NO_CHILDREN  1: fork children, exec'd images and processes whose
 *                         parent has libheapprof.so loaded record nothing
 *   HEAPPROF_LEAK_SCAN    1: in full mode, scan for unreachable blocks at exit
 *                         (leakscan.h; set by `heapprof --leak-check`)
 */
#ifndef HP_PRELOAD_OPTIONS_H
#define HP_PRELOAD_OPTIONS_H

#include <stdint.h>

#include "heapprof/trace_format.h"

#define HP_DEFAULT_RATE 524288u
#define HP_DEFAULT_OUT "heapprof.%e.%p.zst"

typedef struct hp_options_s {
    uint64_t rate;         /* >= 1 */
    uint64_t seed;         /* given or drawn */
    int no_children;       /* HEAPPROF_NO_CHILDREN=1 */
    int leak_scan;         /* HEAPPROF_LEAK_SCAN=1 */
    char out[HP_MAX_PATH]; /* template, NUL-terminated */
} hp_options_t;

/* The parsed options; valid after hp_options_parse(). */
extern hp_options_t hp_options;

/*
 * Reads the environment into hp_options. A malformed HEAPPROF_RATE or
 * HEAPPROF_SEED falls back to the default (the host must run on). Never
 * allocates. Call once, from init.
 */
void hp_options_parse(void);

/*
 * Parses a decimal unsigned integer (no sign, no suffix, no spaces).
 * Returns 0 and stores *out, or -1 when s is not such a number or overflows.
 */
int hp_options_parse_u64(const char *s, uint64_t *out);

#endif
