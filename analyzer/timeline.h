/*
 * timeline.h - heap-over-time SVG chart.
 */
#ifndef HP_TIMELINE_H
#define HP_TIMELINE_H

#include <stdio.h>

#include "model.h"

/*
 * Replays the trace at trace_path (hp_analysis_replay) and writes an SVG
 * chart of live heap bytes over time to out: the top 8 sites of a (by
 * bytes live at the peak) as stacked areas, the rest as "other", the peak
 * (a->peak_bytes at a->peak_ns) marked, labelled axes, a legend.
 * a must come from hp_analysis_load of the same trace. Returns 0 or a
 * negative hp_err with a message in err (errlen bytes).
 */
int hp_timeline_write(FILE *out, const char *trace_path, const hp_analysis_t *a,
                      char *err, size_t errlen);

/*
 * Test seam: the replay hp_timeline_write runs (hp_analysis_replay unless a
 * unit test points it at a fake that feeds synthetic events).
 */
extern int (*hp_timeline_replay)(const char *path, hp_replay_fn fn, void *ctx, char *err,
                                 size_t errlen);

#endif
