/*
 * leakgate.h - the CI leak gate: threshold, suppressions, JUnit and SARIF.
 *
 * Suppressions use LeakSanitizer's syntax: lines "leak:PATTERN", '#'
 * comments, blank lines. PATTERN is matched (fnmatch-style, '*' wildcards,
 * an unanchored substring when it has no wildcard) against every frame's
 * function, file and module; a leak site with any matching frame is
 * suppressed.
 */
#ifndef HP_LEAKGATE_H
#define HP_LEAKGATE_H

#include <stdio.h>

#include "model.h"

typedef struct hp_leakgate_s hp_leakgate_t;

/* Creates an empty gate. Returns NULL when out of memory. */
hp_leakgate_t *hp_leakgate_new(void);
void hp_leakgate_free(hp_leakgate_t *g);

/* Adds the suppressions in the file at path. Returns 0, or a negative
 * hp_err with a message naming the file and line in err. */
int hp_leakgate_load(hp_leakgate_t *g, const char *path, char *err, size_t errlen);

/* Formats for hp_leakgate_run's machine-readable output. */
typedef enum hp_gate_format_e {
    HP_GATE_NONE = 0,
    HP_GATE_JUNIT,
    HP_GATE_SARIF,
} hp_gate_format_t;

/*
 * Applies the gate to a: prints to out each unsuppressed leak site with its
 * stack, the per-suppression counts (leaks and bytes hidden), the C
 * runtime's one-time allocations (classified apart, listed when
 * show_runtime), and a verdict line. When fmt is not NONE, also writes that
 * report to report_path. Returns 1 when the unsuppressed leaked bytes
 * exceed threshold, 0 when they do not, or a negative hp_err.
 */
int hp_leakgate_run(hp_leakgate_t *g, FILE *out, hp_analysis_t *a, double threshold,
                    int show_runtime, hp_gate_format_t fmt, const char *report_path);

#endif
