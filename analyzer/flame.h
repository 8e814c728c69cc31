/*
 * flame.h - allocation flamegraphs: interactive SVG and folded stacks.
 */
#ifndef HP_FLAME_H
#define HP_FLAME_H

#include <stdio.h>

#include "model.h"

/*
 * Writes a self-contained interactive SVG flamegraph of a, frame widths
 * proportional to kind (zoom on click, search, tooltips; no network).
 * The heading reads "<kind>: <title>"; title may be NULL (then a->exe).
 * Frames narrower than 0.1% of the total are merged into their parent.
 * Returns 0 or a negative hp_err (HP_ERR_NOMEM, HP_ERR_IO).
 */
int hp_flame_write_svg(FILE *out, const hp_analysis_t *a, hp_kind_t kind, const char *title);

/*
 * Writes folded stacks (root first, frames joined by ';', a space, the
 * integer value), one line per distinct stack with a non-zero value.
 * Returns 0 or a negative hp_err.
 */
int hp_flame_write_folded(FILE *out, const hp_analysis_t *a, hp_kind_t kind);

/* The name of a frame as the flamegraph and folded output show it:
 * function, else module+0xoffset, else 0xpc. Writes into buf (len bytes). */
const char *hp_flame_frame_name(const hp_frame_t *f, char *buf, size_t len);

#endif
