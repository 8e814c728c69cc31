/*
 * report.h - the text report, heapanalyze's default output.
 */
#ifndef HP_REPORT_H
#define HP_REPORT_H

#include <stdio.h>

#include "model.h"

typedef struct hp_report_opts_s {
    size_t top;       /* sites per section (--top N), default 10 */
    int color;        /* 1: ANSI colours (only when out is a terminal) */
    int merge_sites;  /* 1: merge sites by their first frame in user code */
} hp_report_opts_t;

/* Writes the summary and the top-site sections of a to out. Sorts a->sites.
 * Returns 0 or HP_ERR_IO. */
int hp_report_write(FILE *out, hp_analysis_t *a, const hp_report_opts_t *opts);

#endif
