/*
 * options.c - parses HEAPPROF_* once, at initialization.
 *
 * Reads the environment with getenv (which does not allocate) and keeps the
 * values in a static struct; it does not validate that HEAPPROF_OUT is
 * writable (the writer finds out) and does not re-read the environment
 * later, so a program that changes HEAPPROF_* after start sees no effect.
 */
#include "options.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

hp_options_t hp_options;

int hp_options_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static uint64_t draw_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s && s)
        return s;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ 0x9e3779b97f4a7c15u;
}

void hp_options_parse(void)
{
    uint64_t v;
    hp_options.rate = HP_DEFAULT_RATE;
    if (hp_options_parse_u64(getenv("HEAPPROF_RATE"), &v) == 0 && v >= 1)
        hp_options.rate = v;
    if (hp_options_parse_u64(getenv("HEAPPROF_SEED"), &v) == 0)
        hp_options.seed = v;
    else
        hp_options.seed = draw_seed();
    const char *nc = getenv("HEAPPROF_NO_CHILDREN");
    hp_options.no_children = nc && nc[0] == '1' && nc[1] == 0;
    const char *ls = getenv("HEAPPROF_LEAK_SCAN");
    hp_options.leak_scan = ls && ls[0] == '1' && ls[1] == 0;
    const char *out = getenv("HEAPPROF_OUT");
    if (!out || !*out || strlen(out) >= sizeof hp_options.out)
        out = HP_DEFAULT_OUT;
    strcpy(hp_options.out, out);
}
