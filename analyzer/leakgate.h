/*
 * leakgate.h - the CI leak gate: threshold, suppressions, JUnit and SARIF.
 *
 * Suppressions use LeakSanitizer's syntax: lines "leak:PATTERN", '#'
 * comments, blank lines. PATTERN is matched (fnmatch-style, '*' wildcards,
 * an unanchored substring when it has no wildcard) against every frame's
 * function, file and module; a leak site with any matching frame is
 * suppressed. A leading '^' anchors the pattern at the start of the name
 * and a trailing '$' at its end, as in LeakSanitizer.
 */
#ifndef HP_LEAKGATE_H
#define HP_LEAKGATE_H

#include <stdio.h>

#include "model.h"

typedef struct hp_leakgate_s hp_leakgate_t;

/* Creates an empty gate. Returns NULL when out of memory. */
hp_leakgate_t *hp_leakgate_new(void);

/* Frees g, its suppressions and report paths. NULL is a no-op. */
void hp_leakgate_free(hp_leakgate_t *g);

/* Adds the suppressions in the file at path (after those already loaded:
 * the first matching suppression, in load order, takes a leak). Returns 0,
 * or a negative hp_err (HP_ERR_IO unreadable, HP_ERR_USAGE malformed line,
 * HP_ERR_NOMEM) with a message naming the file and line in err. */
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
 * show_runtime), and a verdict line. Sites whose symbolized stacks print
 * the same are merged into one leak site. When fmt is not NONE, also writes
 * that report to report_path (and the reports added with
 * hp_leakgate_add_report). Does not modify a. Returns 1 when the
 * unsuppressed leaked bytes exceed threshold, 0 when they do not, or a
 * negative hp_err (HP_ERR_IO when a report cannot be written, said on
 * stderr).
 */
int hp_leakgate_run(hp_leakgate_t *g, FILE *out, hp_analysis_t *a, double threshold,
                    int show_runtime, hp_gate_format_t fmt, const char *report_path);

/*
 * Adds a report file written by every later hp_leakgate_run (in addition
 * to its fmt/report_path), so one run can write both JUnit and SARIF.
 * fmt is HP_GATE_JUNIT or HP_GATE_SARIF; path is copied. Returns 0,
 * HP_ERR_USAGE (bad format, more than 8 reports) or HP_ERR_NOMEM.
 */
int hp_leakgate_add_report(hp_leakgate_t *g, hp_gate_format_t fmt, const char *path);

/*
 * Is s one of the C runtime's one-time allocations (not counted by the
 * gate)? 1 when its innermost frame is in the dynamic loader, when no frame
 * lies outside the runtime's modules (libc, ld.so, libm, libstdc++,
 * libgcc_s, ...) and the stack ends in the loader or at the bottom of a
 * thread or of the process (not cut short), or when one of its innermost
 * runtime frames (those before
 * the first frame of the program) is a known one-time allocator (stdio
 * buffers, locale/iconv, NSS, time zone, atexit table, dlerror). 0
 * otherwise, also for a stack that is unknown. See docs/user-guide.md.
 */
int hp_leakgate_is_runtime(const hp_site_t *s);

/*
 * With on != 0, the gate counts every block live at exit even when the
 * trace holds a reachability scan (heapanalyze --gate-reachable); by
 * default a scanned trace's gate counts only the lost (unreachable) blocks
 * and reports the still-reachable ones apart. g must not be NULL.
 */
void hp_leakgate_set_reachable(hp_leakgate_t *g, int on);

/* Index (load order) of the first suppression matching a frame of s, or -1. */
int hp_leakgate_suppressed_by(const hp_leakgate_t *g, const hp_site_t *s);

#endif
