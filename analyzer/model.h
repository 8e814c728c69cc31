/*
 * model.h - replay of a trace into per-site numbers: the analyzer's core.
 *
 * hp_analysis_load() reads a trace (trace_read.h), replays its events in time
 * order across threads, attributes allocated / peak / leaked / temporary
 * figures to each distinct stack, and symbolizes every stack (symbols.h).
 * Every output (report.c, json.c, flame.c, pprof.c, timeline.c, diff.c,
 * leakgate.c) reads the resulting hp_analysis_t and nothing else.
 *
 * In a sampled trace (rate > 1) every per-site number and the peak / leak
 * figures are unbiased estimates: a sampled allocation of s bytes stands for
 * 1/(1-exp(-s/rate)) allocations of that size (docs/sampling.md). The
 * totals from the exact counters are always exact.
 */
#ifndef HP_MODEL_H
#define HP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "heapprof/trace_format.h"

/* What a flamegraph, folded output or sort measures. */
typedef enum hp_kind_e {
    HP_KIND_ALLOCATED = 0, /* allocated bytes */
    HP_KIND_PEAK,          /* bytes live at the global peak */
    HP_KIND_LEAKED,        /* bytes live at exit */
    HP_KIND_TEMPORARY,     /* temporary allocations (a count) */
    HP_KIND_COUNT,         /* allocation calls (a count) */
} hp_kind_t;

/* Parses "allocated", "peak", "leaked", "temporary" or "count". Returns 0 and
 * sets *out, or HP_ERR_USAGE. */
int hp_kind_parse(const char *name, hp_kind_t *out);

/* The name hp_kind_parse() accepts for k. Static string. */
const char *hp_kind_name(hp_kind_t k);

/* One symbolized frame. Strings belong to the hp_analysis_t. */
typedef struct hp_frame_s {
    uint64_t pc;          /* address as recorded (a return address) */
    uint64_t offset;      /* pc relative to its module's load bias */
    const char *function; /* demangled name; NULL when unknown */
    const char *file;     /* source file; NULL when unknown */
    int line;             /* source line; 0 when unknown */
    const char *module;   /* module path; NULL when pc is in no module */
    const char *build_id; /* module build-id as hex; NULL when none */
    int inlined;          /* 1: inlined into the frame that follows */
} hp_frame_t;

/* One site: one distinct stack and its numbers. */
typedef struct hp_site_s {
    uint32_t stack_id;        /* id in the trace, >= 1; 0 = stack unknown */
    const hp_frame_t *frames; /* innermost first, after trimming the profiler's
                                 frames and the allocation functions */
    size_t nframes;
    double allocations;       /* allocation calls */
    double allocated_bytes;
    double peak_bytes;        /* live at the global peak */
    double peak_blocks;
    double leaked_bytes;      /* live at exit */
    double leaked_blocks;
    double temporary_allocations;
    double lost_bytes;        /* of leaked: no pointer reached them at exit
                                 (only when the analysis has leak_scan) */
    double lost_blocks;
} hp_site_t;

/* Everything the outputs need. Owned by hp_analysis_load's caller. */
typedef struct hp_analysis_s {
    /* From the file header. */
    uint32_t version;
    uint32_t pid;
    uint64_t rate;            /* 1 = full mode */
    uint64_t seed;
    const char *exe;          /* executable path */
    uint64_t start_ns;        /* trace clock at start */
    uint64_t start_unix_ns;
    uint64_t end_ns;          /* last event or HP_REC_END */
    int complete;             /* 1 when HP_REC_END was read */
    int truncated;            /* 1 when the last frame was cut short */

    /* Exact counters (sums of HP_REC_COUNTERS). */
    uint64_t fn_calls[HP_FN_COUNT];
    uint64_t fn_bytes[HP_FN_COUNT];
    uint64_t total_allocations; /* sum of fn_calls over allocation functions */
    uint64_t total_frees;       /* fn_calls[HP_FN_FREE] */
    uint64_t total_bytes;       /* sum of fn_bytes */

    /* From the replay (estimates when rate > 1). */
    uint64_t samples;         /* allocation records read */
    double peak_bytes;
    double peak_blocks;
    uint64_t peak_ns;         /* trace clock at the peak */
    double leaked_bytes;
    double leaked_blocks;
    double temporary_allocations;

    /* Sites, one per stack id that allocated, in no particular order. */
    hp_site_t *sites;
    size_t nsites;

    void *priv;               /* model.c's own storage (strings, frames) */

    /* Added by model.c (fields above keep their meaning). */
    size_t ncounters;         /* HP_REC_COUNTERS records read */
    int totals_estimated;     /* 1: no counters in the trace (cut short before
                                 any thread wrote them); the totals above are
                                 the replay's figures instead */
    uint64_t unknown_frees;   /* free records no allocation of their pair
                                 came to claim (the trace lacks their
                                 allocations; ignored for live and peak) */
    uint32_t ppid;            /* parent of the process at start */
    uint32_t header_flags;    /* HP_HDR_* of the file header */

    /* Added by the reachability scan (HP_REC_UNREACHABLE, full mode). */
    int leak_scan;            /* 1: the trace holds a scan; lost_* are valid
                                 and leaked - lost is "still reachable" */
    double lost_bytes;        /* leaked blocks no pointer reached at exit */
    double lost_blocks;
} hp_analysis_t;

/*
 * Loads, replays and symbolizes the trace at path. On success returns 0 and
 * sets *out (free it with hp_analysis_free). On failure returns a negative
 * hp_err and writes a message naming the frame and offset into err (errlen
 * bytes, NUL-terminated). A truncated trace is a success with
 * (*out)->truncated set and a warning written to err.
 */
int hp_analysis_load(const char *path, hp_analysis_t **out, char *err, size_t errlen);

/* Frees an analysis and every string and frame it owns. NULL is a no-op. */
void hp_analysis_free(hp_analysis_t *a);

/* The site's measure for kind k (bytes or a count). */
double hp_site_value(const hp_site_t *s, hp_kind_t k);

/* The analysis-wide total of kind k (what hp_site_value sums to). */
double hp_analysis_total(const hp_analysis_t *a, hp_kind_t k);

/*
 * Sorts a->sites in place by hp_site_value(kind), largest first; ties by
 * stack id, so output is deterministic.
 */
void hp_analysis_sort(hp_analysis_t *a, hp_kind_t k);

/* One replayed event, in global time order, for hp_analysis_replay(). */
typedef struct hp_replay_event_s {
    uint64_t ts;          /* trace clock */
    uint32_t tid;
    int is_alloc;         /* 1 allocation, 0 free */
    uint32_t stack_id;    /* the block's allocating stack (for frees too) */
    uint64_t size;        /* requested bytes of the block */
    double weight;        /* unbiased bytes this event adds (+) or removes (-) */
    double live_bytes;    /* estimated live bytes after the event */
} hp_replay_event_t;

typedef void (*hp_replay_fn)(void *ctx, const hp_replay_event_t *ev);

/*
 * Replays the trace at path again, calling fn for every allocation and free
 * in global time order (for the timeline, which needs the sites of a first
 * hp_analysis_load before its pass). Returns 0 or a negative hp_err with a
 * message in err.
 */
int hp_analysis_replay(const char *path, hp_replay_fn fn, void *ctx, char *err, size_t errlen);

#endif /* HP_MODEL_H */
