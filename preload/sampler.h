/*
 * sampler.h - per-thread Poisson sampling by bytes.
 *
 * Each thread owns an hp_sampler_t, a xoshiro256** generator seeded with
 * splitmix64 from (seed, thread ordinal), so threads draw independent
 * streams and a run with a fixed HEAPPROF_SEED is reproducible. The
 * distance to the next sample is exponential with mean RATE bytes
 * (docs/sampling.md).
 */
#ifndef HP_PRELOAD_SAMPLER_H
#define HP_PRELOAD_SAMPLER_H

#include <stdint.h>

typedef struct hp_sampler_s {
    uint64_t s[4];
    uint64_t rate;
} hp_sampler_t;

/* Seeds *sm for thread number ordinal of a process seeded with seed. rate >= 1. */
void hp_sampler_seed(hp_sampler_t *sm, uint64_t seed, uint64_t ordinal, uint64_t rate);

/* Next 64 random bits. */
uint64_t hp_sampler_next(hp_sampler_t *sm);

/* A uniform double in (0, 1]. */
double hp_sampler_uniform(hp_sampler_t *sm);

/*
 * Draws the byte distance to the next sample: ceil(-rate * ln U), at least
 * 1, saturated at 2^62. With rate 1 (full mode) returns 1.
 */
int64_t hp_sampler_draw(hp_sampler_t *sm);

/* Natural logarithm of x > 0 (the preload does not link libm). */
double hp_sampler_ln(double x);

#endif
