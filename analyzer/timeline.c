/*
 * timeline.c - SVG chart of the live heap over time (issue 4).
 *
 * The analysis (a first hp_analysis_load) gives the sites; the top sites by
 * bytes live at the peak (then by allocated bytes) get a series each, all
 * other sites share "other". A second pass over the trace
 * (hp_analysis_replay) follows every allocation and free in time order and
 * keeps, for each of ~600 time columns, the moment of the column's largest
 * live total with each series' live bytes at that moment, so short spikes
 * survive the bucketing. Columns without events carry the state forward.
 * The chart stacks the series as areas, marks the global peak with a line
 * and a label, and labels both axes with round ticks (s/ms/us; B/KiB/MiB/
 * GiB); a legend names each series by its stack's first frame.
 *
 * It does not compute the peak itself: the marker shows the model's
 * peak_bytes and peak_ns.
 */
#include "timeline.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "heapprof/error.h"
#include "outfmt.h"

#define NTOP 8
#define NSER (NTOP + 1) /* the top sites, then "other" */
#define NCOL 600

#define SVG_W 1200.0
#define PLOT_X 90.0
#define PLOT_W (SVG_W - PLOT_X - 30.0)
#define PLOT_Y 70.0
#define PLOT_H 380.0
#define LEGEND_ROW 18.0

typedef struct column_s {
    int seen;
    double total;     /* largest live total in the column */
    double ser[NSER]; /* per-series live bytes at that moment */
} column_t;

typedef struct tl_s {
    const hp_site_t *top[NTOP];
    size_t ntop;
    uint32_t top_ids[NTOP];
    uint64_t t0, t1;
    double cur[NSER];
    int last; /* last column touched, -1 before any event */
    column_t col[NCOL];
    uint64_t events;
} tl_t;

int (*hp_timeline_replay)(const char *path, hp_replay_fn fn, void *ctx, char *err,
                          size_t errlen) = hp_analysis_replay;

static double sum_ser(const double *s)
{
    double t = 0;
    for (int i = 0; i < NSER; i++)
        t += s[i] > 0 ? s[i] : 0;
    return t;
}

static void snapshot(column_t *c, const double *cur)
{
    double t = sum_ser(cur);
    if (!c->seen || t > c->total) {
        c->total = t;
        memcpy(c->ser, cur, sizeof(c->ser));
    }
    c->seen = 1;
}

static int column_of(const tl_t *t, uint64_t ts)
{
    if (ts <= t->t0)
        return 0;
    if (ts >= t->t1)
        return NCOL - 1;
    double f = (double)(ts - t->t0) / (double)(t->t1 - t->t0);
    int c = (int)(f * NCOL);
    return c >= NCOL ? NCOL - 1 : c;
}

static void on_event(void *ctx, const hp_replay_event_t *ev)
{
    tl_t *t = ctx;
    int c = column_of(t, ev->ts);
    int s = NTOP;

    for (size_t i = 0; i < t->ntop; i++)
        if (t->top_ids[i] == ev->stack_id) {
            s = (int)i;
            break;
        }
    if (c < t->last) /* replay is in time order; be safe anyway */
        c = t->last;
    /* Columns between the previous event and this one held the state the
     * previous event left; this column starts with it as well. */
    for (int k = t->last + 1; k <= c; k++)
        snapshot(&t->col[k], t->cur);
    t->last = c;
    t->cur[s] += ev->weight;
    snapshot(&t->col[c], t->cur);
    t->events++;
}

static int cmp_top(const void *pa, const void *pb)
{
    const hp_site_t *a = *(const hp_site_t *const *)pa, *b = *(const hp_site_t *const *)pb;
    if (a->peak_bytes != b->peak_bytes)
        return a->peak_bytes > b->peak_bytes ? -1 : 1;
    if (a->allocated_bytes != b->allocated_bytes)
        return a->allocated_bytes > b->allocated_bytes ? -1 : 1;
    return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static int pick_top(tl_t *t, const hp_analysis_t *a)
{
    const hp_site_t **all = malloc((a->nsites ? a->nsites : 1) * sizeof(*all));
    size_t n = 0;
    if (!all)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < a->nsites; i++)
        if (a->sites[i].stack_id != 0 &&
            (a->sites[i].peak_bytes > 0 || a->sites[i].allocated_bytes > 0))
            all[n++] = &a->sites[i];
    qsort(all, n, sizeof(*all), cmp_top);
    t->ntop = n < NTOP ? n : NTOP;
    for (size_t i = 0; i < t->ntop; i++) {
        t->top[i] = all[i];
        t->top_ids[i] = all[i]->stack_id;
    }
    free(all);
    return 0;
}

/* A round step (1, 2 or 5 times a power of ten) giving about n ticks over
 * range. */
static double nice_step(double range, int n)
{
    if (!(range > 0))
        return 1;
    double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void bytes_unit(double max, double *unit, const char **name)
{
    static const char *names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    *unit = 1;
    while (max >= 1024.0 * *unit * 2 && u < 4) {
        *unit *= 1024.0;
        u++;
    }
    *name = names[u];
}

static void time_unit(double ns, double *unit, const char **name)
{
    if (ns >= 2e9) {
        *unit = 1e9;
        *name = "s";
    } else if (ns >= 2e6) {
        *unit = 1e6;
        *name = "ms";
    } else if (ns >= 2e3) {
        *unit = 1e3;
        *name = "us";
    } else {
        *unit = 1;
        *name = "ns";
    }
}

static void fmt_num(char *buf, size_t len, double v)
{
    if (fabs(v - llround(v)) < 1e-9)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%g", v);
}

static int is_runtime_module(const char *m)
{
    const char *b = m ? strrchr(m, '/') : NULL;
    b = b ? b + 1 : m;
    return b && (!strncmp(b, "libc.so", 7) || !strncmp(b, "libstdc++", 9) ||
                 !strncmp(b, "libc++", 6) || !strncmp(b, "ld-linux", 8));
}

/* The frame that names a site in the legend: the innermost one outside the
 * C and C++ runtimes (what the user wrote), else the innermost. */
static const hp_frame_t *legend_frame(const hp_site_t *s)
{
    for (size_t i = 0; i < s->nframes; i++)
        if (s->frames[i].function && !is_runtime_module(s->frames[i].module))
            return &s->frames[i];
    return s->nframes ? &s->frames[0] : NULL;
}

static const char *palette[NSER] = {
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#bab0ac",
};

static int same_label(const hp_frame_t *a, const hp_frame_t *b)
{
    char na[512], nb[512];
    if (!a || !b)
        return 0;
    return strcmp(hp_flame_frame_name(a, na, sizeof(na)), hp_flame_frame_name(b, nb, sizeof(nb))) ==
               0 &&
           a->line == b->line && !strcmp(a->file ? a->file : "", b->file ? b->file : "");
}

static void write_series_name(FILE *out, const tl_t *t, int s, size_t nsites)
{
    char name[512];
    if (s == NTOP) {
        size_t rest = nsites > t->ntop ? nsites - t->ntop : 0;
        fprintf(out, "other (%zu site%s)", rest, rest == 1 ? "" : "s");
        return;
    }
    const hp_frame_t *f = legend_frame(t->top[s]);
    if (!f) {
        fputs("[unknown stack]", out);
        return;
    }
    hp_outfmt_xml(out, hp_flame_frame_name(f, name, sizeof(name)));
    if (f->file) {
        const char *b = strrchr(f->file, '/');
        fputs(" (", out);
        hp_outfmt_xml(out, b ? b + 1 : f->file);
        if (f->line > 0)
            fprintf(out, ":%d", f->line);
        fputc(')', out);
    }
    /* Say which runtime function allocated when the name is the caller's. */
    if (f != &t->top[s]->frames[0]) {
        fputs(" via ", out);
        hp_outfmt_xml(out, hp_flame_frame_name(&t->top[s]->frames[0], name, sizeof(name)));
    }
    /* Two series with one label: tell them apart by the caller. */
    for (size_t j = 0; j < t->ntop; j++) {
        if ((int)j == s || !same_label(f, legend_frame(t->top[j])))
            continue;
        size_t k = (size_t)(f - t->top[s]->frames) + 1;
        if (k < t->top[s]->nframes) {
            const hp_frame_t *c = &t->top[s]->frames[k];
            fputs(" from ", out);
            hp_outfmt_xml(out, hp_flame_frame_name(c, name, sizeof(name)));
            if (c->line > 0)
                fprintf(out, ":%d", c->line);
        }
        break;
    }
}

static void write_svg(FILE *out, const tl_t *t, const hp_analysis_t *a)
{
    char b1[64], b2[64], lab[64];
    double ymax = a->peak_bytes, yunit, xunit;
    const char *yname, *xname;
    double dur = (double)(t->t1 - t->t0);
    int nser = NSER;

    for (int c = 0; c < NCOL; c++)
        if (t->col[c].total > ymax)
            ymax = t->col[c].total;
    if (!(ymax > 0))
        ymax = 1;
    ymax *= 1.08;
    double legend_h = ((t->ntop + 2) / 2) * LEGEND_ROW + 20;
    double height = PLOT_Y + PLOT_H + 50 + legend_h;

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            SVG_W, height, SVG_W, height);
    fputs("<style type=\"text/css\"><![CDATA[\n"
          "text{font-family:sans-serif;font-size:12px;fill:#222}\n"
          ".title{font-size:17px;text-anchor:middle}\n"
          ".sub{fill:#444;text-anchor:middle}\n"
          ".tick{fill:#444;font-size:11px}\n"
          ".grid{stroke:#ddd;stroke-width:1}\n"
          ".axis{stroke:#333;stroke-width:1}\n"
          ".peak{stroke:#c00;stroke-width:1.5;stroke-dasharray:5,3}\n"
          ".peaklabel{fill:#c00;font-weight:bold}\n"
          "path.area:hover{opacity:0.8}\n"
          "]]></style>\n",
          out);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", SVG_W,
            height);
    fprintf(out, "<text class=\"title\" x=\"%.0f\" y=\"24\">Live heap over time: ", SVG_W / 2);
    hp_outfmt_xml(out, a->exe ? a->exe : "(unknown program)");
    fputs("</text>\n", out);
    time_unit(dur, &xunit, &xname);
    fprintf(out,
            "<text class=\"sub\" x=\"%.0f\" y=\"44\">peak %s at %.3g %s; %s allocations; "
            "leaked at exit %s%s</text>\n",
            SVG_W / 2, hp_outfmt_bytes(a->peak_bytes, 0, b1, sizeof(b1)),
            (double)(a->peak_ns > t->t0 ? a->peak_ns - t->t0 : 0) / xunit, xname,
            hp_outfmt_count((double)a->total_allocations, 0, lab, sizeof(lab)),
            hp_outfmt_bytes(a->leaked_bytes, 0, b2, sizeof(b2)),
            a->rate > 1 ? " (sampled: estimates)" : "");

    /* Y grid and ticks. */
    bytes_unit(ymax, &yunit, &yname);
    double ystep = nice_step(ymax / yunit, 5) * yunit;
    for (double v = 0; v <= ymax + 1e-9; v += ystep) {
        double y = PLOT_Y + PLOT_H - v / ymax * PLOT_H;
        fmt_num(lab, sizeof(lab), v / yunit);
        fprintf(out,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s %s</text>\n",
                PLOT_X, y, PLOT_X + PLOT_W, y, PLOT_X - 6, y + 4, lab, yname);
    }
    /* X ticks. */
    double xstep = nice_step(dur / xunit, 10) * xunit;
    for (double v = 0; v <= dur + 1e-9 && dur > 0; v += xstep) {
        double x = PLOT_X + v / dur * PLOT_W;
        fmt_num(lab, sizeof(lab), v / xunit);
        fprintf(out,
                "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s %s</text>\n",
                x, PLOT_Y + PLOT_H, x, PLOT_Y + PLOT_H + 5, x, PLOT_Y + PLOT_H + 18, lab, xname);
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since start</text>\n",
            PLOT_X + PLOT_W / 2, PLOT_Y + PLOT_H + 36);
    fprintf(out,
            "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">"
            "live heap</text>\n",
            PLOT_Y + PLOT_H / 2, PLOT_Y + PLOT_H / 2);

    /* Stacked areas: series 0 (largest at the peak) at the bottom. */
    double lower[NCOL];
    memset(lower, 0, sizeof(lower));
    for (int s = 0; s < nser; s++) {
        if (s < NTOP && (size_t)s >= t->ntop)
            continue;
        double upper[NCOL];
        int any = 0;
        for (int c = 0; c < NCOL; c++) {
            double v = t->col[c].ser[s];
            upper[c] = lower[c] + (v > 0 ? v : 0);
            any |= v > 0;
        }
        if (any) {
            fprintf(out, "<path class=\"area\" fill=\"%s\" stroke=\"%s\" stroke-width=\"0.5\" d=\"",
                    palette[s], palette[s]);
            for (int c = 0; c < NCOL; c++)
                fprintf(out, "%s%.1f %.1f", c ? " L" : "M", PLOT_X + (c + 0.5) * PLOT_W / NCOL,
                        PLOT_Y + PLOT_H - upper[c] / ymax * PLOT_H);
            for (int c = NCOL; c-- > 0;)
                fprintf(out, " L%.1f %.1f", PLOT_X + (c + 0.5) * PLOT_W / NCOL,
                        PLOT_Y + PLOT_H - lower[c] / ymax * PLOT_H);
            fputs(" Z\"><title>", out);
            write_series_name(out, t, s, a->nsites);
            if (s < NTOP)
                fprintf(out, ": %s live at the peak",
                        hp_outfmt_bytes(t->top[s]->peak_bytes, 0, b1, sizeof(b1)));
            fputs("</title></path>\n", out);
        }
        memcpy(lower, upper, sizeof(lower));
    }
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_X,
            PLOT_Y + PLOT_H, PLOT_X + PLOT_W, PLOT_Y + PLOT_H);
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_X,
            PLOT_Y, PLOT_X, PLOT_Y + PLOT_H);

    /* The peak. */
    if (a->peak_bytes > 0 && dur > 0) {
        double px = PLOT_X + (double)(a->peak_ns > t->t0 ? a->peak_ns - t->t0 : 0) / dur * PLOT_W;
        double py = PLOT_Y + PLOT_H - a->peak_bytes / ymax * PLOT_H;
        if (px > PLOT_X + PLOT_W)
            px = PLOT_X + PLOT_W;
        fprintf(out, "<line class=\"peak\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px,
                PLOT_Y - 4, px, PLOT_Y + PLOT_H);
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#c00\"/>\n", px, py);
        int right = px > PLOT_X + PLOT_W * 0.7;
        fprintf(out,
                "<text id=\"peak\" class=\"peaklabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">"
                "peak %s</text>\n",
                right ? px - 6 : px + 6, PLOT_Y + 8, right ? "end" : "start",
                hp_outfmt_bytes(a->peak_bytes, 0, b1, sizeof(b1)));
    }

    /* Legend, two columns. */
    double ly = PLOT_Y + PLOT_H + 58;
    int row = 0;
    for (int s = 0; s < nser; s++) {
        if (s < NTOP && (size_t)s >= t->ntop)
            continue;
        if (s == NTOP && a->nsites <= t->ntop)
            continue;
        double lx = PLOT_X + (row % 2) * (PLOT_W / 2);
        double y = ly + (row / 2) * LEGEND_ROW;
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">",
                lx, y - 10, palette[s], lx + 18, y);
        write_series_name(out, t, s, a->nsites);
        if (s < NTOP)
            fprintf(out, " - %s at the peak",
                    hp_outfmt_bytes(t->top[s]->peak_bytes, 0, b1, sizeof(b1)));
        fputs("</text>\n", out);
        row++;
    }
    if (t->events == 0)
        fprintf(out,
                "<text class=\"sub\" x=\"%.0f\" y=\"%.0f\">no allocation in this trace</text>\n",
                PLOT_X + PLOT_W / 2, PLOT_Y + PLOT_H / 2);
    fputs("</svg>\n", out);
}

int hp_timeline_write(FILE *out, const char *trace_path, const hp_analysis_t *a, char *err,
                      size_t errlen)
{
    tl_t *t = calloc(1, sizeof(*t));
    int rc;

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return HP_ERR_NOMEM;
    }
    rc = pick_top(t, a);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    t->t0 = a->start_ns;
    t->t1 = a->end_ns > a->start_ns ? a->end_ns : a->start_ns + 1;
    t->last = -1;
    rc = hp_timeline_replay(trace_path, on_event, t, err, errlen);
    if (rc < 0)
        goto out;
    /* The state after the last event lasts until the end of the trace. */
    for (int k = t->last + 1; k < NCOL; k++)
        snapshot(&t->col[k], t->cur);
    write_svg(out, t, a);
    if (ferror(out)) {
        snprintf(err, errlen, "write error");
        rc = HP_ERR_IO;
    }
out:
    free(t);
    return rc;
}
