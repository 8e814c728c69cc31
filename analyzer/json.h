/*
 * json.h - the --json output (fields in ../shared/DESIGN.md) and the
 * small JSON string writer the other outputs share.
 */
#ifndef HP_JSON_H
#define HP_JSON_H

#include <stdio.h>

#include "model.h"

/* Writes one JSON object describing a to out. Sorts a->sites. top limits
 * each site array (0 = all). Returns 0 or HP_ERR_IO. */
int hp_json_write(FILE *out, hp_analysis_t *a, size_t top);

/* Writes s as a JSON string literal, quotes included; NULL writes null. */
void hp_json_string(FILE *out, const char *s);

/* Writes one frame as a JSON object {function,file,line,module,inlined}. */
void hp_json_frame(FILE *out, const hp_frame_t *f);

#endif
