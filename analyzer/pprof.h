/*
 * pprof.h - gzipped profile.proto output (pprof, Pyroscope, Grafana, Parca).
 */
#ifndef HP_PPROF_H
#define HP_PPROF_H

#include "model.h"

/*
 * Writes a gzip-compressed pprof profile of a to path, with sample types
 * alloc_objects/count, alloc_space/bytes, inuse_objects/count,
 * inuse_space/bytes (inuse = live at exit; with peak = 1, live at the
 * peak instead). Returns 0 or a negative hp_err.
 */
int hp_pprof_write(const char *path, const hp_analysis_t *a, int peak);

#endif
