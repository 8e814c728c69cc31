/*
 * timeline.h - heap-over-time SVG chart.
 */
#ifndef HP_TIMELINE_H
#define HP_TIMELINE_H

#include <stdio.h>

#include "model.h"

/*
 * Replays the trace at trace_path (hp_analysis_replay) and writes an SVG
 * chart of live heap bytes over time to out: the top sites of a (by peak)
 * as stacked areas, the rest as "other", the peak marked, labelled axes.
 * Returns 0 or a negative hp_err with a message in err.
 */
int hp_timeline_write(FILE *out, const char *trace_path, const hp_analysis_t *a,
                      char *err, size_t errlen);

#endif
