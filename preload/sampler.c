/*
 * sampler.c - random numbers and exponential draws for byte sampling.
 *
 * Pure arithmetic on caller-owned state: no globals, no allocation, no
 * system calls, so the unit tests drive it directly. It does not decide
 * which allocation is sampled; tbuf.c runs the countdown (docs/sampling.md).
 */
#include "sampler.h"

#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void hp_sampler_seed(hp_sampler_t *sm, uint64_t seed, uint64_t ordinal, uint64_t rate)
{
    /* Mix the ordinal through splitmix first so that nearby (seed, ordinal)
     * pairs do not give overlapping splitmix sequences. */
    uint64_t x = ordinal;
    uint64_t mixed = splitmix64(&x) ^ seed;
    for (int i = 0; i < 4; i++)
        sm->s[i] = splitmix64(&mixed);
    if (!(sm->s[0] | sm->s[1] | sm->s[2] | sm->s[3]))
        sm->s[0] = 1;
    sm->rate = rate ? rate : 1;
}

uint64_t hp_sampler_next(hp_sampler_t *sm)
{
    uint64_t *s = sm->s;
    uint64_t r = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

double hp_sampler_uniform(hp_sampler_t *sm)
{
    return (double)((hp_sampler_next(sm) >> 11) + 1) * 0x1.0p-53;
}

double hp_sampler_ln(double x)
{
    /* x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh((m-1)/(m+1)). */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffu) | 0x3ff0000000000000u;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double t = (m - 1) / (m + 1), t2 = t * t, term = t, sum = 0;
    for (int k = 1; k <= 29; k += 2) {
        sum += term / k;
        term *= t2;
    }
    return 2 * sum + e * 0.6931471805599453;
}

int64_t hp_sampler_draw(hp_sampler_t *sm)
{
    if (sm->rate <= 1)
        return 1;
    double d = -(double)sm->rate * hp_sampler_ln(hp_sampler_uniform(sm));
    if (d >= 4.6e18)
        return (int64_t)1 << 62;
    int64_t n = (int64_t)d;
    if ((double)n < d)
        n++;
    return n < 1 ? 1 : n;
}
