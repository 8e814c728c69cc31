/*
 * countdown.h - the word the allocation hot path subtracts from.
 *
 * A thread's countdown word (hp_tls.countdown) holds two things, so that
 * malloc's fast path pays one read-modify-write on memory instead of three
 * (the countdown, a call counter, a byte counter):
 *
 *     word = (bytes left until the next sample) * 2^32 - (malloc fast calls)
 *
 * where the calls are those made on malloc's fast path since the thread
 * last settled the word. A fast malloc of n bytes subtracts
 * hp_cd_malloc_take(n) = n * 2^32 + 1; every other allocation subtracts
 * hp_cd_take(n) = n * 2^32 and counts its own call and bytes. The word is
 * <= 0 exactly when the bytes left are <= 0, because the calls stay below
 * 2^32: every fast call takes at least one byte and at most HP_CD_ARM_MAX
 * bytes are armed at a time.
 *
 * Settling (tbuf.c, on the slow paths and before counters are read) splits
 * what the word lost since the last settle into malloc's fast calls (the
 * low 32 bits) and the bytes of every take (the rest); malloc's fast bytes
 * are those bytes less the ones the other takes counted themselves.
 * "Explicit" below is that running sum: the bytes counted by calls that are
 * not fast mallocs, corrected (hp_tls.untaken) where a call took other
 * than it counted (a zero-byte block takes one byte; a huge one takes
 * none from the word, its slow path settles it). So every explicit call
 * grows the sum by exactly what it took from the word, and when the word's
 * call part did not move, neither did malloc's fast bytes.
 */
#ifndef HP_PRELOAD_COUNTDOWN_H
#define HP_PRELOAD_COUNTDOWN_H

#include <stddef.h>
#include <stdint.h>

#define HP_CD_SHIFT 32
#define HP_CD_CALLS_MASK (((uint64_t)1 << HP_CD_SHIFT) - 1)

/* The most bytes armed at a time; a longer draw carries the rest. */
#define HP_CD_ARM_MAX (((int64_t)1 << 29) - 1)

/* Takes of this many bytes or more never touch the word (n << 32 could
 * overflow it): they go to the slow path, which settles them in bytes.
 * So a real word stays within [-2^61, 2^61), and a parked one (guard.h)
 * far below. */
#define HP_CD_BIG ((size_t)1 << 29)

/* Every real word is above this, a parked one (guard.h) below. */
#define HP_CD_REAL_MIN (-((int64_t)1 << 62))

/* What a fast malloc of n (1 .. HP_CD_BIG - 1) bytes subtracts. */
static inline uint64_t hp_cd_malloc_take(size_t n)
{
    return ((uint64_t)n << HP_CD_SHIFT) | 1u;
}

/* What any other take of n (< HP_CD_BIG) bytes subtracts. */
static inline uint64_t hp_cd_take(size_t n)
{
    return (uint64_t)n << HP_CD_SHIFT;
}

/* The bytes an allocation of n takes from the countdown: a zero-byte block
 * takes one, so it can be sampled; at most 2^62, which no draw exceeds. */
static inline int64_t hp_cd_want(size_t n)
{
    if (n == 0)
        return 1;
    return n < ((size_t)1 << 62) ? (int64_t)n : (int64_t)1 << 62;
}

/* The word armed with `bytes` (0 .. HP_CD_ARM_MAX) to go. */
static inline int64_t hp_cd_word(int64_t bytes)
{
    return (int64_t)((uint64_t)bytes << HP_CD_SHIFT);
}

/* The bytes left of a real word w: <= 0 once crossed. (The calls part is
 * below 2^32, so this rounds up.) */
static inline int64_t hp_cd_left(int64_t w)
{
    return -((-w) >> HP_CD_SHIFT);
}

/* The word for a draw of `bytes` (0 .. 2^62) to go: at most HP_CD_ARM_MAX
 * of them are armed, *carry gets the rest. */
static inline int64_t hp_cd_arm(int64_t bytes, int64_t *carry)
{
    int64_t a = bytes < HP_CD_ARM_MAX ? bytes : HP_CD_ARM_MAX;
    *carry = bytes - a;
    return hp_cd_word(a);
}

/*
 * An allocation left the word at w and still has `rest` bytes (0 .. 2^62)
 * to take from it; `carry` more bytes of the draw wait beyond the word.
 * Returns 1 when the allocation crosses the countdown (it is sampled); else
 * 0, and *left gets the bytes to go, to arm again.
 */
static inline int hp_cd_crosses(int64_t w, int64_t carry, int64_t rest, int64_t *left)
{
    if (carry == 0 && rest == 0) {
        *left = hp_cd_left(w);
        return w <= 0;
    }
    *left = hp_cd_left(w) + carry - rest;
    return *left <= 0;
}

/* When no fast malloc took from a word since it was armed at `armed` (its
 * call part did not move), returns 1 and sets *explicit_bytes to what the
 * explicit sum grew by meanwhile: all the word lost. Else returns 0. The
 * settle of full mode, cheaper than summing the counters. */
static inline int hp_cd_quiet(int64_t armed, int64_t w, int64_t *explicit_bytes)
{
    int64_t d = (int64_t)((uint64_t)armed - (uint64_t)w);
    *explicit_bytes = d >> HP_CD_SHIFT; /* may be < 0: a give-back after a settle */
    return (d & (int64_t)HP_CD_CALLS_MASK) == 0;
}

/*
 * Splits what a word armed (last settled) at `armed` lost down to w, given
 * `explicit_bytes`, what the explicit sum grew by meanwhile: *calls, the
 * malloc fast calls, and *bytes, their bytes. The owner settles with these
 * as they are: a delta that comes out negative (modulo 2^64: a signal
 * handler settled between another call's take and its count) is undone by
 * the next settle. Returns 0 when they are plausible, -1 when not: another
 * thread reading the word may see it torn or parked, and then takes
 * nothing from it.
 */
static inline int hp_cd_split(int64_t armed, int64_t w, uint64_t explicit_bytes,
                              uint64_t *calls, uint64_t *bytes)
{
    uint64_t d = (uint64_t)armed - (uint64_t)w;
    *calls = d & HP_CD_CALLS_MASK;
    *bytes = (d >> HP_CD_SHIFT) - explicit_bytes;
    return (d >> 62) == 0 && explicit_bytes <= (d >> HP_CD_SHIFT) ? 0 : -1;
}

#endif
