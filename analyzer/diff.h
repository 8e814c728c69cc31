/*
 * diff.h - per-site differences between two traces.
 *
 * Sites are matched by their symbolized stacks (function names, else
 * module+offset), never by addresses, so two runs of one binary match
 * whatever the address-space layout.
 */
#ifndef HP_DIFF_H
#define HP_DIFF_H

#include <stdio.h>

#include "model.h"

typedef enum hp_diff_format_e {
    HP_DIFF_TEXT = 0,
    HP_DIFF_JSON,
    HP_DIFF_FLAME,   /* SVG flamegraph of the growth (positive deltas) of kind */
    HP_DIFF_FOLDED,  /* folded stacks of the growth of kind */
} hp_diff_format_t;

/* Writes the differences cur - base to out, sorted by the largest absolute
 * change. kind selects the measure for the flame and folded formats; text
 * and JSON show allocated, peak and leaked. top limits rows (0 = all).
 * Returns 0 or a negative hp_err. */
int hp_diff_write(FILE *out, const hp_analysis_t *base, const hp_analysis_t *cur,
                  hp_diff_format_t fmt, hp_kind_t kind, size_t top);

#endif
