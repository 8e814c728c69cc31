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
 * peak instead), one Sample per site, inlined frames as Lines of one
 * Location, a Mapping per module with its build-id, period_type
 * space/bytes and period = a->rate. The message definitions are
 * analyzer/profile.proto (package heapprof.pprof); decode a profile with
 *   gzip -dc FILE | protoc --decode=heapprof.pprof.Profile \
 *       --proto_path=analyzer analyzer/profile.proto
 * Returns 0, HP_ERR_NOMEM, or HP_ERR_IO when path cannot be written.
 */
int hp_pprof_write(const char *path, const hp_analysis_t *a, int peak);

#endif
