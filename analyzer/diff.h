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
 * change of allocated, peak or leaked bytes (then of calls, then by stack).
 * kind selects the measure for the flame and folded formats, which show
 * only growth (positive deltas); text and JSON show allocated, peak and
 * leaked. top limits rows (0 = all); the text leaves out unchanged sites.
 *
 * JSON: {"base": totals, "cur": totals, "delta": totals, "matched_sites",
 * "new_sites", "gone_sites", "sites": [{"status": "matched"|"new"|"gone",
 * "stack": [{"function", "file", "line", "module", "inlined"}, ...]
 * (innermost first), "base", "cur", "delta": {"allocations",
 * "allocated_bytes", "peak_bytes", "leaked_bytes", "leaked_blocks",
 * "temporary_allocations"}}]}, where totals holds exe, pid, sampling_rate,
 * total_allocations, total_bytes, peak_bytes, leaked_bytes, leaked_blocks,
 * temporary_allocations (delta: the numeric ones).
 *
 * Returns 0, HP_ERR_USAGE for a bad fmt or kind, HP_ERR_NOMEM or HP_ERR_IO.
 * base and cur stay owned by the caller. */
int hp_diff_write(FILE *out, const hp_analysis_t *base, const hp_analysis_t *cur,
                  hp_diff_format_t fmt, hp_kind_t kind, size_t top);

#endif
