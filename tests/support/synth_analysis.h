/*
 * synth_analysis.h - hand-built hp_analysis_t for the outputs' unit tests
 * (flame, pprof, diff): sites from compact stack strings, no trace needed.
 */
#ifndef HP_SYNTH_ANALYSIS_H
#define HP_SYNTH_ANALYSIS_H

#include "model.h"

/* Creates an empty analysis of program exe recorded at rate. Aborts the
 * test process when out of memory. Free with synth_free. */
hp_analysis_t *synth_new(const char *exe, uint64_t rate);

/*
 * Adds a site. stack lists frames root first, separated by ';', each
 * "function", "function@module" or "?@module" (function unknown), with an
 * optional "#file:line" suffix after the function ("f#src/f.c:12").
 * A frame name prefixed with '+' is inlined into the frame after it
 * (innermost side). Every distinct function@module gets a distinct pc.
 * The analysis totals (total_bytes, total_allocations, peak_bytes,
 * leaked_bytes, ...) grow by the site's numbers. Returns the site, valid
 * until the next synth_site call.
 */
hp_site_t *synth_site(hp_analysis_t *a, const char *stack, double allocations,
                      double allocated_bytes, double peak_bytes, double leaked_bytes);

/* Frees an analysis made by synth_new. */
void synth_free(hp_analysis_t *a);

#endif
