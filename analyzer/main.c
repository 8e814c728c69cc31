/*
 * main.c - heapanalyze: options and dispatch to the outputs.
 *
 * Parses the command line (getopt_long; options may come before or after
 * TRACE), loads the trace once (model.h) and hands the analysis to the
 * output asked for: the text report by default, --json, --flame, --folded,
 * --pprof, --timeline, --diff, and the leak gate. It computes nothing
 * itself. Exit status (DESIGN.md): 0 ok, 1 the leak gate failed, 2 usage
 * error, unreadable trace or failed output, with a message on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"
#include "flame.h"
#include "heapprof/error.h"
#include "json.h"
#include "leakgate.h"
#include "model.h"
#include "pprof.h"
#include "report.h"
#include "timeline.h"

#ifndef HP_VERSION
#define HP_VERSION "0.0.0"
#endif

#define EXIT_GATE 1
#define EXIT_BAD 2
#define MAX_SUPP 64

enum {
    OPT_JSON = 256, OPT_FLAME, OPT_FOLDED, OPT_PPROF, OPT_PEAK_PPROF, OPT_TIMELINE, OPT_DIFF,
    OPT_TOP, OPT_MERGE, OPT_FAIL, OPT_SUPP, OPT_JUNIT, OPT_SARIF, OPT_RUNTIME, OPT_HELP,
    OPT_VERSION, OPT_GATE_REACHABLE,
};

typedef struct opts_s {
    const char *trace;
    int json, flame, folded;
    hp_kind_t flame_kind, folded_kind;
    const char *pprof, *timeline, *diff, *out;
    int peak_pprof;
    size_t top;
    int top_set;              /* --top given; else 10 in text, all in JSON */
    int merge;
    int gate;
    double threshold;
    const char *supp[MAX_SUPP];
    size_t nsupp;
    const char *junit, *sarif;
    int show_runtime;
    int gate_reachable;
} opts_t;

static void usage(FILE *f)
{
    fputs("usage: heapanalyze TRACE [options]\n"
          "\n"
          "Reads a heapprof trace and reports where the memory went. With no output\n"
          "option, prints a text report.\n"
          "\n"
          "Outputs:\n"
          "  --json                 one JSON object (totals and top sites)\n"
          "  --flame[=KIND]         interactive SVG flamegraph (default file:\n"
          "                         TRACE's name without .zst + .flame.svg)\n"
          "  --folded[=KIND]        folded stacks for flamegraph.pl, inferno, speedscope\n"
          "  --pprof FILE           gzipped pprof profile (inuse = live at exit)\n"
          "  --peak-pprof           with --pprof: inuse = live at the peak\n"
          "  --timeline FILE        SVG chart of the heap over time\n"
          "  --diff BASE            differences TRACE - BASE (text; with --json, --flame\n"
          "                         or --folded: in that format)\n"
          "  -o FILE                write the chosen output to FILE (default stdout)\n"
          "  --top N                sites per section or array (default: 10 in the text\n"
          "                         report and diff, all sites in JSON; 0 = all)\n"
          "  --merge                merge sites by their first frame in the user's code\n"
          "Leak gate:\n"
          "  --fail-on-leaks[=BYTES]  exit 1 when unsuppressed leaks exceed BYTES (0)\n"
          "  --suppressions FILE    leak suppressions (leak:PATTERN lines; repeatable)\n"
          "  --junit FILE           also write the gate's result as JUnit XML\n"
          "  --sarif FILE           also write the gate's result as SARIF\n"
          "  --show-runtime-leaks   list the C runtime's one-time allocations too\n"
          "  --gate-reachable       count every block live at exit, also the ones still\n"
          "                         reachable (default with a full-mode trace: only lost)\n"
          "  --help, --version\n"
          "\n"
          "KIND: allocated (default), peak, leaked, temporary, count.\n"
          "Exit status: 0 ok, 1 leak gate failed, 2 usage error or unreadable trace.\n",
          f);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("heapanalyze: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'heapanalyze --help'.\n", stderr);
    return EXIT_BAD;
}

/* Parses BYTES: a non-negative number with an optional K, M or G (KiB...). */
static int parse_bytes(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= 1024.0 * 1024; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'B')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"flame", optional_argument, NULL, OPT_FLAME},
        {"folded", optional_argument, NULL, OPT_FOLDED},
        {"pprof", required_argument, NULL, OPT_PPROF},
        {"peak-pprof", no_argument, NULL, OPT_PEAK_PPROF},
        {"timeline", required_argument, NULL, OPT_TIMELINE},
        {"diff", required_argument, NULL, OPT_DIFF},
        {"output", required_argument, NULL, 'o'},
        {"top", required_argument, NULL, OPT_TOP},
        {"merge", no_argument, NULL, OPT_MERGE},
        {"fail-on-leaks", optional_argument, NULL, OPT_FAIL},
        {"suppressions", required_argument, NULL, OPT_SUPP},
        {"junit", required_argument, NULL, OPT_JUNIT},
        {"sarif", required_argument, NULL, OPT_SARIF},
        {"show-runtime-leaks", no_argument, NULL, OPT_RUNTIME},
        {"gate-reachable", no_argument, NULL, OPT_GATE_REACHABLE},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c;
    o->top = 10;
    while ((c = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: o->json = 1; break;
        case OPT_FLAME:
            o->flame = 1;
            if (optarg && hp_kind_parse(optarg, &o->flame_kind))
                return bad_usage("unknown KIND '%s' (allocated, peak, leaked, temporary, count)",
                                 optarg);
            break;
        case OPT_FOLDED:
            o->folded = 1;
            if (optarg && hp_kind_parse(optarg, &o->folded_kind))
                return bad_usage("unknown KIND '%s' (allocated, peak, leaked, temporary, count)",
                                 optarg);
            break;
        case OPT_PPROF: o->pprof = optarg; break;
        case OPT_PEAK_PPROF: o->peak_pprof = 1; break;
        case OPT_TIMELINE: o->timeline = optarg; break;
        case OPT_DIFF: o->diff = optarg; break;
        case 'o': o->out = optarg; break;
        case OPT_TOP: {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || v < 0)
                return bad_usage("--top wants a number >= 0, not '%s'", optarg);
            o->top = (size_t)v;
            o->top_set = 1;
            break;
        }
        case OPT_MERGE: o->merge = 1; break;
        case OPT_FAIL:
            o->gate = 1;
            if (optarg && parse_bytes(optarg, &o->threshold))
                return bad_usage("--fail-on-leaks wants a byte count (e.g. 4096, 64K), not '%s'",
                                 optarg);
            break;
        case OPT_SUPP:
            if (o->nsupp == MAX_SUPP)
                return bad_usage("too many --suppressions files (at most %s)", "64");
            o->supp[o->nsupp++] = optarg;
            break;
        case OPT_JUNIT: o->junit = optarg; break;
        case OPT_SARIF: o->sarif = optarg; break;
        case OPT_RUNTIME: o->show_runtime = 1; break;
        case OPT_GATE_REACHABLE: o->gate_reachable = 1; break;
        case 'h':
        case OPT_HELP: usage(stdout); exit(0);
        case 'V':
        case OPT_VERSION:
            printf("heapanalyze %s (trace format %u)\n", HP_VERSION, HP_TRACE_VERSION);
            exit(0);
        default: fputs("Try 'heapanalyze --help'.\n", stderr); return EXIT_BAD;
        }
    }
    if (optind >= argc)
        return bad_usage("%s", "no TRACE given");
    if (argc - optind > 1)
        return bad_usage("one TRACE only (unexpected '%s')", argv[optind + 1]);
    o->trace = argv[optind];
    if (o->json + o->flame + o->folded > 1)
        return bad_usage("%s", "--json, --flame and --folded exclude each other");
    if (o->peak_pprof && !o->pprof)
        return bad_usage("%s", "--peak-pprof needs --pprof FILE");
    if ((o->junit || o->sarif || o->nsupp || o->show_runtime) && !o->gate)
        return bad_usage("%s", "--suppressions, --junit, --sarif and --show-runtime-leaks go "
                               "with --fail-on-leaks");
    if (o->gate_reachable && !o->gate)
        return bad_usage("%s", "--gate-reachable goes with --fail-on-leaks");
    return 0;
}

static hp_analysis_t *load(const char *path)
{
    hp_analysis_t *a = NULL;
    char err[1024];
    int rc = hp_analysis_load(path, &a, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "heapanalyze: %s\n", err[0] ? err : hp_strerror(rc));
        return NULL;
    }
    if (err[0])
        fprintf(stderr, "heapanalyze: warning: %s\n", err);
    if (a->totals_estimated)
        fprintf(stderr, "heapanalyze: warning: %s holds no exact counters (the process ended "
                        "without its exit handlers: killed, crashed or _exit); totals are "
                        "estimated from the events\n",
                path);
    return a;
}

/* "dir/x.zst" -> "x" + suffix, in the current directory. */
static char *default_name(const char *trace, const char *suffix)
{
    const char *base = strrchr(trace, '/');
    base = base ? base + 1 : trace;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".zst") == 0)
        n -= 4;
    char *s = malloc(n + strlen(suffix) + 1);
    if (!s)
        return NULL;
    memcpy(s, base, n);
    strcpy(s + n, suffix);
    return s;
}

static int output_failed(const char *what, int rc)
{
    fprintf(stderr, "heapanalyze: %s failed: %s\n", what, hp_strerror(rc));
    return EXIT_BAD;
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    int status = parse_args(argc, argv, &o);
    hp_analysis_t *a = NULL, *base = NULL;
    FILE *out = stdout;
    char *outname = NULL;
    hp_leakgate_t *gate = NULL;
    if (status)
        return status;

    a = load(o.trace);
    if (!a)
        return EXIT_BAD;
    status = EXIT_BAD;
    if (o.diff) {
        base = load(o.diff);
        if (!base)
            goto out;
    }

    int main_output = o.json || o.flame || o.folded || o.diff;
    /* the report is the default output, and what -o gets when nothing else
     * is asked to go there */
    int text = !main_output && ((!o.pprof && !o.timeline && !o.gate) || o.out);
    if (o.flame && !o.out) {
        outname = default_name(o.trace, o.diff ? ".diff.flame.svg" : ".flame.svg");
        if (!outname)
            goto out;
    }
    const char *path = o.out ? o.out : outname;
    if (path && (main_output || text)) {
        out = fopen(path, "w");
        if (!out) {
            fprintf(stderr, "heapanalyze: %s: %s\n", path, strerror(errno));
            out = stdout;
            goto out;
        }
    }

    int rc = 0;
    if (o.diff) {
        hp_diff_format_t fmt = o.json ? HP_DIFF_JSON
                             : o.flame ? HP_DIFF_FLAME
                             : o.folded ? HP_DIFF_FOLDED : HP_DIFF_TEXT;
        hp_kind_t kind = o.flame ? o.flame_kind : o.folded_kind;
        rc = hp_diff_write(out, base, a, fmt, kind, o.top);
        if (rc) {
            status = output_failed("--diff", rc);
            goto out;
        }
    } else if (o.json) {
        rc = hp_json_write(out, a, o.top_set ? o.top : 0);
        if (rc) {
            status = output_failed("--json", rc);
            goto out;
        }
    } else if (o.flame) {
        rc = hp_flame_write_svg(out, a, o.flame_kind, a->exe);
        if (rc) {
            status = output_failed("--flame", rc);
            goto out;
        }
    } else if (o.folded) {
        rc = hp_flame_write_folded(out, a, o.folded_kind);
        if (rc) {
            status = output_failed("--folded", rc);
            goto out;
        }
    } else if (text) {
        hp_report_opts_t ro = {
            .top = o.top,
            .color = out == stdout && isatty(fileno(stdout)) && !getenv("NO_COLOR"),
            .merge_sites = o.merge,
        };
        rc = hp_report_write(out, a, &ro);
        if (rc) {
            status = output_failed("the report", rc);
            goto out;
        }
    }
    if (o.pprof) {
        rc = hp_pprof_write(o.pprof, a, o.peak_pprof);
        if (rc) {
            status = output_failed("--pprof", rc);
            goto out;
        }
    }
    if (o.timeline) {
        char err[1024] = "";
        FILE *tf = fopen(o.timeline, "w");
        if (!tf) {
            fprintf(stderr, "heapanalyze: %s: %s\n", o.timeline, strerror(errno));
            goto out;
        }
        rc = hp_timeline_write(tf, o.trace, a, err, sizeof(err));
        if (fclose(tf) && !rc)
            rc = HP_ERR_IO;
        if (rc) {
            fprintf(stderr, "heapanalyze: --timeline failed: %s\n",
                    err[0] ? err : hp_strerror(rc));
            goto out;
        }
    }
    if (o.gate) {
        char err[1024] = "";
        gate = hp_leakgate_new();
        if (!gate)
            goto out;
        hp_leakgate_set_reachable(gate, o.gate_reachable);
        for (size_t i = 0; i < o.nsupp; i++) {
            rc = hp_leakgate_load(gate, o.supp[i], err, sizeof(err));
            if (rc) {
                fprintf(stderr, "heapanalyze: %s\n", err[0] ? err : hp_strerror(rc));
                goto out;
            }
        }
        /* JUnit and SARIF may both be asked for: the second is an extra report. */
        hp_gate_format_t fmt = o.junit ? HP_GATE_JUNIT : o.sarif ? HP_GATE_SARIF : HP_GATE_NONE;
        if (o.junit && o.sarif && (rc = hp_leakgate_add_report(gate, HP_GATE_SARIF, o.sarif))) {
            status = output_failed("--sarif", rc);
            goto out;
        }
        /* the gate's verdict must not corrupt a JSON or SVG on stdout */
        FILE *gout = (main_output && out == stdout) ? stderr : stdout;
        rc = hp_leakgate_run(gate, gout, a, o.threshold, o.show_runtime, fmt,
                             o.junit ? o.junit : o.sarif);
        if (rc < 0) {
            status = output_failed("the leak gate", rc);
            goto out;
        }
        if (rc == 1) {
            status = EXIT_GATE;
            goto out;
        }
    }
    status = 0;
out:
    if (out != stdout) {
        if (fclose(out) != 0 && status == 0) {
            fprintf(stderr, "heapanalyze: %s: %s\n", path, strerror(errno));
            status = EXIT_BAD;
        } else if (status != EXIT_BAD && o.flame && !o.out) {
            printf("heapanalyze: wrote %s\n", path);
        }
    } else if (fflush(stdout) != 0 && status == 0) {
        status = EXIT_BAD;
    }
    hp_leakgate_free(gate);
    free(outname);
    hp_analysis_free(base);
    hp_analysis_free(a);
    return status;
}
