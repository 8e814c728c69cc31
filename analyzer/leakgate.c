/*
 * leakgate.c - the CI leak gate: threshold, suppressions, JUnit and SARIF
 * (issue 5).
 *
 * It reads a finished hp_analysis_t and decides whether the program leaked:
 * every site with blocks live at exit is first classified (the C runtime's
 * one-time allocations are set apart, see hp_leakgate_is_runtime), then
 * matched against LeakSanitizer-style suppressions (the first matching
 * suppression in load order takes the site), and what is left is counted
 * against the threshold. Sites whose symbolized stacks print the same are
 * merged first. It prints each unsuppressed leak site with its stack, a table
 * of the suppressions with what each hid, and a verdict line; it can also
 * write the verdict as JUnit XML (one test case per leak site) or SARIF
 * 2.1.0 (one result per leak site, located at the first frame in the
 * program's own source).
 *
 * When the trace holds a reachability scan (a->leak_scan, full mode), a site
 * counts only its lost blocks (those no pointer reached at exit), as
 * LeakSanitizer and memcheck count "definitely" + "indirectly lost"; blocks
 * still reachable are totalled apart and do not fail the gate, unless
 * hp_leakgate_set_reachable() asks for every block live at exit. Without a
 * scan, "leaked" means live at exit, as the model defines it.
 *
 * It does not read traces or symbolize (model.c and symbols.c did that).
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heapprof/error.h"
#include "leakgate.h"

#ifndef HP_VERSION
#define HP_VERSION "0.0.0"
#endif

#define MAX_SHOWN_FRAMES 32 /* frames printed per leak site */
#define MAX_REPORTS 8       /* --junit / --sarif files per gate */

typedef struct supp_s {
    char *text;     /* PATTERN as written, for the report */
    char *glob;     /* fnmatch pattern equivalent to LSan's template */
    char *where;    /* "file:line" */
    double sites, blocks, bytes;
} supp_t;

typedef struct report_s {
    hp_gate_format_t fmt;
    char *path;
} report_t;

struct hp_leakgate_s {
    supp_t *supp;
    size_t nsupp, cap;
    report_t reports[MAX_REPORTS];
    size_t nreports;
    int count_reachable; /* gate on every block live at exit, scan or not */
};

/* What the gate decided about one leak site. */
typedef enum verdict_e { V_LEAK = 0, V_SUPPRESSED, V_RUNTIME } verdict_t;

/* One leak site as the user sees it: the sites whose symbolized stacks are
 * equal (a loop unrolled into two call instructions on one source line)
 * are merged into one. */
typedef struct entry_s {
    const hp_site_t *site; /* the first of the merged sites */
    double bytes, blocks;  /* sums over the merged sites */
    verdict_t verdict;
    const supp_t *by;   /* the suppression, when V_SUPPRESSED */
} entry_t;

/* Totals of one gate run. */
typedef struct tally_s {
    entry_t *e;
    size_t n;
    size_t leak_sites, supp_sites, runtime_sites;
    double leak_bytes, leak_blocks, supp_bytes, supp_blocks, runtime_bytes, runtime_blocks;
    double threshold;
    int failed;
    int scan; /* counting lost blocks only (a reachability scan is used) */
    size_t reach_sites;
    double reach_bytes, reach_blocks; /* still reachable: not counted */
} tally_t;

void hp_leakgate_set_reachable(hp_leakgate_t *g, int on)
{
    g->count_reachable = on != 0;
}

hp_leakgate_t *hp_leakgate_new(void)
{
    return calloc(1, sizeof(hp_leakgate_t));
}

void hp_leakgate_free(hp_leakgate_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nsupp; i++) {
        free(g->supp[i].text);
        free(g->supp[i].glob);
        free(g->supp[i].where);
    }
    for (size_t i = 0; i < g->nreports; i++)
        free(g->reports[i].path);
    free(g->supp);
    free(g);
}

/*
 * LeakSanitizer's template: '*' matches any run of characters, a leading
 * '^' anchors at the start and a trailing '$' at the end; otherwise the
 * template may match anywhere in the string. As an fnmatch pattern that is
 * the template with '*' added at each unanchored end and fnmatch's other
 * special characters escaped.
 */
static char *template_to_glob(const char *t)
{
    size_t n = strlen(t);
    int head = n > 0 && t[0] == '^';
    int tail = n > (size_t)head && t[n - 1] == '$';
    char *g = malloc(2 * n + 3), *q = g;
    if (!g)
        return NULL;
    if (!head)
        *q++ = '*';
    for (size_t i = head; i < n - tail; i++) {
        if (t[i] == '?' || t[i] == '[' || t[i] == ']' || t[i] == '\\')
            *q++ = '\\';
        *q++ = t[i];
    }
    if (!tail)
        *q++ = '*';
    *q = '\0';
    return g;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int add_supp(hp_leakgate_t *g, const char *pattern, const char *path, unsigned line)
{
    supp_t s = {0};
    if (g->nsupp == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        supp_t *v = realloc(g->supp, cap * sizeof(*v));
        if (!v)
            return HP_ERR_NOMEM;
        g->supp = v;
        g->cap = cap;
    }
    s.text = strdup(pattern);
    s.glob = template_to_glob(pattern);
    if (asprintf(&s.where, "%s:%u", path, line) < 0)
        s.where = NULL;
    if (!s.text || !s.glob || !s.where) {
        free(s.text);
        free(s.glob);
        free(s.where);
        return HP_ERR_NOMEM;
    }
    g->supp[g->nsupp++] = s;
    return 0;
}

int hp_leakgate_load(hp_leakgate_t *g, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0;
    unsigned line = 0;
    int rc = 0;

    if (!f) {
        snprintf(err, errlen, "%s: cannot read suppressions: %s", path, strerror(errno));
        return HP_ERR_IO;
    }
    while (getline(&buf, &cap, f) >= 0) {
        char *s = trim(buf), *colon, *type, *pat;
        line++;
        if (!*s || *s == '#')
            continue;
        colon = strchr(s, ':');
        if (!colon) {
            snprintf(err, errlen, "%s:%u: expected 'leak:PATTERN', got '%s'", path, line, s);
            rc = HP_ERR_USAGE;
            goto out;
        }
        *colon = '\0';
        type = trim(s);
        pat = trim(colon + 1);
        if (strcmp(type, "leak") != 0) {
            snprintf(err, errlen,
                     "%s:%u: unknown suppression type '%s' (heapprof knows only 'leak:')", path,
                     line, type);
            rc = HP_ERR_USAGE;
            goto out;
        }
        if (!*pat || strcmp(pat, "^") == 0 || strcmp(pat, "$") == 0 ||
            strcmp(pat, "^$") == 0) {
            snprintf(err, errlen, "%s:%u: empty pattern after 'leak:'", path, line);
            rc = HP_ERR_USAGE;
            goto out;
        }
        rc = add_supp(g, pat, path, line);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%u: %s", path, line, hp_strerror(rc));
            goto out;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = HP_ERR_IO;
    }
out:
    free(buf);
    fclose(f);
    return rc;
}

int hp_leakgate_add_report(hp_leakgate_t *g, hp_gate_format_t fmt, const char *path)
{
    char *p;
    if (!g || !path || (fmt != HP_GATE_JUNIT && fmt != HP_GATE_SARIF))
        return HP_ERR_USAGE;
    for (size_t i = 0; i < g->nreports; i++)
        if (g->reports[i].fmt == fmt && strcmp(g->reports[i].path, path) == 0)
            return 0;
    if (g->nreports == MAX_REPORTS)
        return HP_ERR_USAGE;
    if (!(p = strdup(path)))
        return HP_ERR_NOMEM;
    g->reports[g->nreports].fmt = fmt;
    g->reports[g->nreports++].path = p;
    return 0;
}

/* ---- classification ---- */

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}

/* The dynamic loader: ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld-2.31.so. */
static int is_loader(const char *module)
{
    const char *b = base_name(module);
    return b && strncmp(b, "ld-", 3) == 0 && strstr(b, ".so");
}

/* Modules of the C and C++ runtime (libc, the loader, libm, libstdc++, ...). */
static int is_runtime_module(const char *module)
{
    static const char *const prefixes[] = {
        "libc.so",     "libc-",       "libm.so",   "libm-",     "libpthread", "libdl.so",
        "libdl-",      "librt.so",    "librt-",    "libstdc++", "libgcc_s",   "libc++",
        "libresolv",   "libnss_",     "libanl",    "libutil.so", "libmvec",   NULL,
    };
    const char *b = base_name(module);
    if (!b)
        return 0;
    if (is_loader(module) || strstr(module, "/gconv/"))
        return 1;
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(b, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/*
 * Functions of the runtime that allocate once per process (or per thread)
 * and keep the block until exit: stdio buffers, locale, iconv and message
 * catalog data, NSS state and the static result buffers of the
 * non-reentrant getpwnam-style lookups, time-zone state, the atexit table,
 * the environment setenv grows, dlerror's buffer, the C++ EH globals.
 */
static int is_runtime_once(const char *fn)
{
    static const char *const globs[] = {
        "_IO_file_doallocate", "_IO_wfile_doallocate", "*_nl_*",          "setlocale",
        "*newlocale",          "*gconv*",              "*wcsmbs*",        "__nss_*",
        "nss_*",               "*tzset*",              "__tzfile_*",      "__tzstring*",
        "__new_exitfn",        "*dlerror*",            "_dl_*",           "__libc_dlopen*",
        "__cxa_get_globals*",  "__cxa_thread_atexit*", "__libc_setlocale", "*getpw*_r",
        "set_binding_values",  "*textdomain*",         "*dcigettext*",    "getpw*",
        "getgr*",              "getsp*",               "gethostby*",      "getservby*",
        "getprotoby*",         "getnetby*",            "getrpcby*",       "getaliasby*",
        "getlogin*",           "ttyname",              "*strsignal*",     "__add_to_environ",
        "setenv",              "putenv",               NULL,
    };
    char name[256];
    size_t n;
    if (!fn)
        return 0;
    /* glibc's internal aliases ("__GI__IO_file_doallocate") and symbol
     * versions ("_IO_file_xsputn@@GLIBC_2.2.5") name the same function. */
    if (strncmp(fn, "__GI_", 5) == 0)
        fn += 5;
    n = strcspn(fn, "@");
    if (n >= sizeof(name))
        n = sizeof(name) - 1;
    memcpy(name, fn, n);
    name[n] = '\0';
    for (int i = 0; globs[i]; i++)
        if (fnmatch(globs[i], name, 0) == 0)
            return 1;
    return 0;
}

/*
 * Does the stack end where a stack of the runtime's own code ends: in the
 * loader (initializers run by _dl_init), or at the bottom of a thread
 * (clone, start_thread) or of the process (__libc_start_main)? A stack
 * that ends anywhere else may have been cut short by the unwinder, and the
 * program's frames may be missing from it.
 */
static int ends_at_bottom(const hp_site_t *s)
{
    const hp_frame_t *f = &s->frames[s->nframes - 1];
    const char *fn = f->function;
    if (is_loader(f->module))
        return 1;
    if (!fn)
        return 0;
    if (strncmp(fn, "__GI_", 5) == 0)
        fn += 5;
    return fnmatch("*clone*", fn, 0) == 0 || fnmatch("start_thread*", fn, 0) == 0 ||
           fnmatch("__libc_start*", fn, 0) == 0;
}

/*
 * A site is the C runtime's own when (1) its innermost frame is in the
 * dynamic loader (TLS blocks, dlopen bookkeeping), or (2) no frame of its
 * stack lies outside the runtime's modules and the stack is whole
 * (ends_at_bottom: the runtime's initializers, libstdc++'s emergency
 * exception pool, iostreams, threads the runtime starts), or (3) a
 * frame of its innermost run of runtime frames (those before the first
 * frame of the program) belongs to a known one-time allocator
 * (is_runtime_once). A leak the program asked for through a runtime function
 * (strdup, fopen, getline, asprintf, operator new) stays the program's.
 */
int hp_leakgate_is_runtime(const hp_site_t *s)
{
    size_t i;
    if (!s || s->nframes == 0)
        return 0;
    if (is_loader(s->frames[0].module))
        return 1;
    for (i = 0; i < s->nframes; i++)
        if (!is_runtime_module(s->frames[i].module))
            break;
    if (i == s->nframes)
        return ends_at_bottom(s);
    for (size_t j = 0; j < i; j++)
        if (is_runtime_once(s->frames[j].function))
            return 1;
    return 0;
}

static int supp_matches(const supp_t *p, const hp_site_t *s)
{
    for (size_t i = 0; i < s->nframes; i++) {
        const hp_frame_t *f = &s->frames[i];
        if ((f->function && fnmatch(p->glob, f->function, 0) == 0) ||
            (f->file && fnmatch(p->glob, f->file, 0) == 0) ||
            (f->module && fnmatch(p->glob, f->module, 0) == 0))
            return 1;
    }
    return 0;
}

int hp_leakgate_suppressed_by(const hp_leakgate_t *g, const hp_site_t *s)
{
    for (size_t i = 0; g && i < g->nsupp; i++)
        if (supp_matches(&g->supp[i], s))
            return (int)i;
    return -1;
}

static int by_leaked(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->blocks != y->blocks)
        return x->blocks > y->blocks ? -1 : 1;
    return x->site->stack_id < y->site->stack_id ? -1 : x->site->stack_id > y->site->stack_id;
}

static int cmp_str(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* Orders sites by their symbolized stacks (what the user sees). */
static int by_stack(const void *a, const void *b)
{
    const hp_site_t *x = ((const entry_t *)a)->site, *y = ((const entry_t *)b)->site;
    size_t n = x->nframes < y->nframes ? x->nframes : y->nframes;
    int c;
    for (size_t i = 0; i < n; i++) {
        const hp_frame_t *f = &x->frames[i], *g = &y->frames[i];
        if ((c = cmp_str(f->function, g->function)) || (c = cmp_str(f->file, g->file)) ||
            (c = cmp_str(f->module, g->module)))
            return c;
        if (f->line != g->line)
            return f->line < g->line ? -1 : 1;
        if (f->inlined != g->inlined)
            return f->inlined < g->inlined ? -1 : 1;
        if (!f->function && !f->file && f->offset != g->offset)
            return f->offset < g->offset ? -1 : 1;
    }
    if (x->nframes != y->nframes)
        return x->nframes < y->nframes ? -1 : 1;
    if (x->nframes == 0) /* unknown stacks stay apart */
        return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
    return 0;
}

static int classify(hp_leakgate_t *g, hp_analysis_t *a, double threshold, tally_t *t)
{
    size_t n;
    memset(t, 0, sizeof(*t));
    t->threshold = threshold;
    for (size_t i = 0; i < g->nsupp; i++)
        g->supp[i].sites = g->supp[i].blocks = g->supp[i].bytes = 0;
    t->e = calloc(a->nsites ? a->nsites : 1, sizeof(entry_t));
    if (!t->e)
        return HP_ERR_NOMEM;
    t->scan = a->leak_scan && !g->count_reachable;
    for (size_t i = 0; i < a->nsites; i++) {
        const hp_site_t *s = &a->sites[i];
        double bytes = t->scan ? s->lost_bytes : s->leaked_bytes;
        double blocks = t->scan ? s->lost_blocks : s->leaked_blocks;
        if (t->scan && s->leaked_blocks - s->lost_blocks > 0.5) {
            t->reach_sites++;
            t->reach_bytes += s->leaked_bytes - s->lost_bytes;
            t->reach_blocks += s->leaked_blocks - s->lost_blocks;
        }
        if (bytes > 0 || blocks > 0) {
            t->e[t->n].site = s;
            t->e[t->n].bytes = bytes;
            t->e[t->n++].blocks = blocks;
        }
    }
    qsort(t->e, t->n, sizeof(entry_t), by_stack);
    n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (n > 0 && by_stack(&t->e[n - 1], &t->e[i]) == 0) {
            t->e[n - 1].bytes += t->e[i].bytes;
            t->e[n - 1].blocks += t->e[i].blocks;
        } else {
            t->e[n++] = t->e[i];
        }
    }
    t->n = n;
    for (size_t i = 0; i < t->n; i++) {
        entry_t *e = &t->e[i];
        const hp_site_t *s = e->site;
        int k;
        if (hp_leakgate_is_runtime(s)) {
            e->verdict = V_RUNTIME;
            t->runtime_sites++;
            t->runtime_bytes += e->bytes;
            t->runtime_blocks += e->blocks;
        } else if ((k = hp_leakgate_suppressed_by(g, s)) >= 0) {
            supp_t *p = &g->supp[k];
            e->verdict = V_SUPPRESSED;
            e->by = p;
            p->sites++;
            p->blocks += e->blocks;
            p->bytes += e->bytes;
            t->supp_sites++;
            t->supp_bytes += e->bytes;
            t->supp_blocks += e->blocks;
        } else {
            e->verdict = V_LEAK;
            t->leak_sites++;
            t->leak_bytes += e->bytes;
            t->leak_blocks += e->blocks;
        }
    }
    qsort(t->e, t->n, sizeof(entry_t), by_leaked);
    t->failed = t->leak_bytes > threshold;
    return 0;
}

/* ---- text ---- */

/* Human-readable bytes: "512 B", "1.2 KiB", "3.0 MiB". Returns buf. */
static const char *human(double b, char *buf, size_t n)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    int u = -1;
    if (b < 1024) {
        snprintf(buf, n, "%.0f B", b);
        return buf;
    }
    while (b >= 1024 && u < 3) {
        b /= 1024;
        u++;
    }
    snprintf(buf, n, "%.1f %s", b, units[u]);
    return buf;
}

static const char *plural(double n, const char *one, const char *many)
{
    return n > 0.5 && n < 1.5 ? one : many;
}

/* One frame as "function file:line", "function (module+0xoff)" or "0xpc". */
static void frame_text(FILE *out, const hp_frame_t *f)
{
    if (f->function)
        fputs(f->function, out);
    if (f->file) {
        fprintf(out, "%s%s", f->function ? " " : "", f->file);
        if (f->line > 0)
            fprintf(out, ":%d", f->line);
    } else if (f->module) {
        fprintf(out, "%s(%s+0x%llx)", f->function ? " " : "", base_name(f->module),
                (unsigned long long)f->offset);
    } else if (!f->function) {
        fprintf(out, "0x%llx", (unsigned long long)f->pc);
    }
    if (f->inlined)
        fputs(" (inlined)", out);
}

/*
 * How many frames of s to show: all, up to MAX_SHOWN_FRAMES, but not the
 * process start-up code below main() (__libc_start_main, _start), which
 * every stack of the main thread ends with.
 */
static size_t shown_frames(const hp_site_t *s)
{
    size_t n = s->nframes < MAX_SHOWN_FRAMES ? s->nframes : MAX_SHOWN_FRAMES;
    for (size_t i = 0; i + 1 < n; i++) {
        if (!s->frames[i].function || strcmp(s->frames[i].function, "main") != 0)
            continue;
        for (size_t k = i + 1; k < s->nframes; k++) {
            const char *fn = s->frames[k].function;
            if (!is_runtime_module(s->frames[k].module) &&
                !(fn && strcmp(fn, "_start") == 0) && !(!fn && k + 1 == s->nframes))
                return n;
        }
        return i + 1;
    }
    return n;
}

static void stack_text(FILE *out, const hp_site_t *s, const char *indent)
{
    size_t n = shown_frames(s);
    if (s->nframes == 0)
        fprintf(out, "%s(stack unknown)\n", indent);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s#%zu ", indent, i);
        frame_text(out, &s->frames[i]);
        fputc('\n', out);
    }
    if (n < s->nframes && n == MAX_SHOWN_FRAMES)
        fprintf(out, "%s... %zu more frames\n", indent, s->nframes - n);
}

static void site_head(FILE *out, const entry_t *e)
{
    fprintf(out, "%.0f bytes in %.0f %s", e->bytes, e->blocks,
            plural(e->blocks, "block", "blocks"));
}

static void write_text(FILE *out, const hp_analysis_t *a, const tally_t *t, int show_runtime,
                       const hp_leakgate_t *g)
{
    char h1[32], h2[32];
    size_t k = 0;

    if (a->rate > 1)
        fprintf(out, "heapprof: warning: the trace is sampled (one sample per %llu bytes): "
                     "leak figures are estimates; record with --full (heapprof --leak-check) "
                     "for an exact gate\n",
                (unsigned long long)a->rate);
    if (!a->complete)
        fprintf(out, "heapprof: warning: the trace has no end record (the program was killed "
                     "or exec'd): blocks live at its last event count as leaked\n");
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        if (e->verdict != V_LEAK)
            continue;
        fprintf(out, "leak %zu of %zu: ", ++k, t->leak_sites);
        site_head(out, e);
        fputc('\n', out);
        stack_text(out, e->site, "    ");
    }
    if (g->nsupp) {
        fprintf(out, "suppressions:\n");
        for (size_t i = 0; i < g->nsupp; i++) {
            const supp_t *p = &g->supp[i];
            fprintf(out, "    leak:%-28s %-24s ", p->text, p->where);
            if (p->sites > 0)
                fprintf(out, "hid %.0f %s, %.0f bytes in %.0f %s\n", p->sites,
                        plural(p->sites, "leak", "leaks"), p->bytes, p->blocks,
                        plural(p->blocks, "block", "blocks"));
            else
                fprintf(out, "unused\n");
        }
    }
    if (t->runtime_sites) {
        fprintf(out, "runtime: %.0f bytes in %.0f %s allocated once by the C runtime "
                     "(not counted%s)\n",
                t->runtime_bytes, t->runtime_blocks,
                plural(t->runtime_blocks, "block", "blocks"),
                show_runtime ? "" : "; --show-runtime-leaks lists them");
        if (show_runtime) {
            for (size_t i = 0; i < t->n; i++) {
                if (t->e[i].verdict != V_RUNTIME)
                    continue;
                fprintf(out, "runtime: ");
                site_head(out, &t->e[i]);
                fputc('\n', out);
                stack_text(out, t->e[i].site, "    ");
            }
        }
    }
    if (t->reach_sites)
        fprintf(out, "reachable: %.0f bytes in %.0f %s at %zu %s still reachable at exit "
                     "(not counted; --gate-reachable counts them)\n",
                t->reach_bytes, t->reach_blocks, plural(t->reach_blocks, "block", "blocks"),
                t->reach_sites, t->reach_sites == 1 ? "site" : "sites");
    else if (a->leak_scan && !t->scan)
        fprintf(out, "heapprof: counting every block live at exit, reachable or not "
                     "(--gate-reachable)\n");
    else if (!a->leak_scan && a->rate == 1 && a->complete && t->leak_sites)
        fprintf(out, "heapprof: note: the trace has no reachability scan (record it with "
                     "heapprof --leak-check or HEAPPROF_LEAK_SCAN=1): every block live at "
                     "exit counts as leaked\n");
    human(t->threshold, h2, sizeof(h2));
    if (t->leak_sites == 0)
        fprintf(out, "heapprof: no leaks - PASSED (threshold %s)", h2);
    else
        fprintf(out, "heapprof: %zu %s, %s in %.0f %s - %s (threshold %s)", t->leak_sites,
                t->leak_sites == 1 ? "leak" : "leaks", human(t->leak_bytes, h1, sizeof(h1)),
                t->leak_blocks, plural(t->leak_blocks, "block", "blocks"),
                t->failed ? "FAILED" : "PASSED", h2);
    if (t->supp_sites)
        fprintf(out, "; %zu suppressed (%.0f bytes)", t->supp_sites, t->supp_bytes);
    fputc('\n', out);
}

/* ---- shared by JUnit and SARIF ---- */

static void xml_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default:
            if (c < 0x20 && c != '\n' && c != '\t')
                fputc('?', out); /* not representable in XML 1.0 */
            else
                fputc(c, out);
        }
    }
}

static void json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The frame a user should look at: the first with a file and line outside
 * the runtime's modules, else the first with a file, else NULL. */
static const hp_frame_t *user_frame(const hp_site_t *s)
{
    for (size_t i = 0; i < s->nframes; i++)
        if (s->frames[i].file && s->frames[i].line > 0 &&
            !is_runtime_module(s->frames[i].module))
            return &s->frames[i];
    for (size_t i = 0; i < s->nframes; i++)
        if (s->frames[i].file)
            return &s->frames[i];
    return NULL;
}

/* The stack as text in a memory buffer. Caller frees. */
static char *stack_string(const hp_site_t *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    stack_text(m, s, "");
    fclose(m);
    return buf;
}

/* A one-line name for a site: "leak in FUNC at FILE:LINE". Caller frees. */
static char *site_name(const hp_site_t *s)
{
    const hp_frame_t *u = user_frame(s);
    const hp_frame_t *f0 = s->nframes ? &s->frames[0] : NULL;
    char *p = NULL;
    int rc;
    if (u)
        rc = asprintf(&p, "leak in %s at %s:%d", u->function ? u->function : "??", u->file,
                      u->line);
    else if (f0 && f0->function)
        rc = asprintf(&p, "leak in %s (stack %u)", f0->function, s->stack_id);
    else
        rc = asprintf(&p, "leak at stack %u", s->stack_id);
    return rc < 0 ? NULL : p;
}

static int write_junit(FILE *out, const hp_analysis_t *a, const tally_t *t)
{
    size_t tests = t->leak_sites + t->supp_sites;
    size_t failures = t->failed ? t->leak_sites : 0;
    char h[32], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    const char *exe = base_name(a->exe) ? base_name(a->exe) : "program";

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    if (tests == 0)
        tests = 1; /* the "no leaks" case, so the suite is never empty */
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out, "<testsuites name=\"heapprof\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                 "skipped=\"%zu\" time=\"0\">\n",
            tests, failures, t->supp_sites);
    fprintf(out, "  <testsuite name=\"heapprof.leaks.");
    xml_text(out, exe);
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\" "
                 "timestamp=\"%s\" hostname=\"localhost\">\n",
            tests, failures, t->supp_sites, stamp);
    fprintf(out, "    <properties>\n      <property name=\"executable\" value=\"");
    xml_text(out, a->exe ? a->exe : "");
    fprintf(out, "\"/>\n      <property name=\"pid\" value=\"%u\"/>\n", a->pid);
    fprintf(out, "      <property name=\"threshold_bytes\" value=\"%.0f\"/>\n", t->threshold);
    fprintf(out, "      <property name=\"runtime_bytes\" value=\"%.0f\"/>\n", t->runtime_bytes);
    fprintf(out, "    </properties>\n");
    if (t->leak_sites + t->supp_sites == 0)
        fprintf(out, "    <testcase classname=\"heapprof.leaks\" name=\"no leaks\" "
                     "time=\"0\"/>\n");
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        const hp_frame_t *u;
        char *name, *stack;
        if (e->verdict == V_RUNTIME)
            continue;
        name = site_name(e->site);
        stack = stack_string(e->site);
        u = user_frame(e->site);
        fprintf(out, "    <testcase classname=\"heapprof.leaks\" name=\"");
        xml_text(out, name ? name : "leak");
        fprintf(out, "\"");
        if (u) {
            fprintf(out, " file=\"");
            xml_text(out, u->file);
            fprintf(out, "\" line=\"%d\"", u->line);
        }
        fprintf(out, " time=\"0\">\n");
        if (e->verdict == V_SUPPRESSED) {
            fprintf(out, "      <skipped message=\"suppressed by leak:");
            xml_text(out, e->by->text);
            fprintf(out, " (");
            xml_text(out, e->by->where);
            fprintf(out, ")\"/>\n");
        } else if (t->failed) {
            fprintf(out, "      <failure message=\"%.0f bytes in %.0f %s leaked (%s)\" "
                         "type=\"leak\">",
                    e->bytes, e->blocks,
                    plural(e->blocks, "block", "blocks"),
                    human(e->bytes, h, sizeof(h)));
            xml_text(out, stack);
            fprintf(out, "</failure>\n");
        } else {
            fprintf(out, "      <system-out>%.0f bytes in %.0f blocks leaked, under the "
                         "threshold\n",
                    e->bytes, e->blocks);
            xml_text(out, stack);
            fprintf(out, "</system-out>\n");
        }
        fprintf(out, "    </testcase>\n");
        free(name);
        free(stack);
    }
    fprintf(out, "  </testsuite>\n</testsuites>\n");
    return ferror(out) ? HP_ERR_IO : 0;
}

/* Writes path as a URI reference: relative to cwd when under it. */
static void sarif_uri(FILE *out, const char *path, const char *cwd)
{
    size_t n = strlen(cwd);
    const char *p = path;
    char buf[PATH_MAX * 3 + 16], *q = buf;
    int abs = 0;
    if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
        p = path + n + 1;
    else if (path[0] == '/')
        abs = 1;
    if (abs) {
        strcpy(buf, "file://");
        q += 7;
    }
    for (; *p && q < buf + sizeof(buf) - 4; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || strchr("/-._~+@:", c))
            *q++ = (char)c;
        else
            q += sprintf(q, "%%%02X", c);
    }
    *q = '\0';
    json_str(out, buf);
}

static int write_sarif(FILE *out, const hp_analysis_t *a, const tally_t *t)
{
    char cwd[PATH_MAX], h[32];
    int first = 1;
    if (!getcwd(cwd, sizeof(cwd)))
        strcpy(cwd, "/");
    fprintf(out, "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
                 "  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n"
                 "      \"tool\": {\n        \"driver\": {\n"
                 "          \"name\": \"heapprof\",\n"
                 "          \"version\": \"" HP_VERSION "\",\n"
                 "          \"rules\": [\n            {\n"
                 "              \"id\": \"heapprof/leak\",\n"
                 "              \"name\": \"MemoryLeak\",\n"
                 "              \"shortDescription\": {\"text\": \"Memory still allocated "
                 "at exit\"},\n"
                 "              \"fullDescription\": {\"text\": \"Heap blocks allocated at "
                 "this call stack were never freed before the program exited.\"},\n"
                 "              \"defaultConfiguration\": {\"level\": \"error\"},\n"
                 "              \"help\": {\"text\": \"Free the blocks before exit, or add "
                 "a 'leak:PATTERN' line to a suppressions file.\"}\n"
                 "            }\n          ]\n        }\n      },\n");
    fprintf(out, "      \"invocations\": [{\"executionSuccessful\": true, "
                 "\"properties\": {\"executable\": ");
    json_str(out, a->exe ? a->exe : "");
    fprintf(out, ", \"pid\": %u, \"thresholdBytes\": %.0f}}],\n", a->pid, t->threshold);
    fprintf(out, "      \"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": ");
    {
        char *root = NULL;
        if (asprintf(&root, "file://%s/", strcmp(cwd, "/") ? cwd : "") >= 0)
            json_str(out, root);
        else
            json_str(out, "file:///");
        free(root);
    }
    fprintf(out, "}},\n      \"results\": [");
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        const hp_frame_t *u;
        char *name, *msg = NULL;
        if (e->verdict == V_RUNTIME)
            continue;
        u = user_frame(e->site);
        name = site_name(e->site);
        if (asprintf(&msg, "%.0f bytes in %.0f %s leaked (%s): %s", e->bytes,
                     e->blocks, plural(e->blocks, "block", "blocks"),
                     human(e->bytes, h, sizeof(h)), name ? name : "leak") < 0)
            msg = NULL;
        fprintf(out, "%s\n        {\n          \"ruleId\": \"heapprof/leak\",\n"
                     "          \"ruleIndex\": 0,\n          \"level\": \"%s\",\n"
                     "          \"message\": {\"text\": ",
                first ? "" : ",", t->failed ? "error" : "warning");
        first = 0;
        json_str(out, msg ? msg : "leak");
        fprintf(out, "},\n          \"locations\": [");
        if (u) {
            fprintf(out, "\n            {\n              \"physicalLocation\": {\n"
                         "                \"artifactLocation\": {\"uri\": ");
            sarif_uri(out, u->file, cwd);
            if (u->file[0] != '/' ||
                (strncmp(u->file, cwd, strlen(cwd)) == 0 && u->file[strlen(cwd)] == '/'))
                fprintf(out, ", \"uriBaseId\": \"SRCROOT\"");
            fprintf(out, "},\n                \"region\": {\"startLine\": %d}\n"
                         "              }",
                    u->line);
            if (u->function) {
                fprintf(out, ",\n              \"logicalLocations\": [{\"fullyQualifiedName\": ");
                json_str(out, u->function);
                fprintf(out, ", \"kind\": \"function\"}]");
            }
            fprintf(out, "\n            }\n          ");
        }
        fprintf(out, "],\n          \"stacks\": [{\"frames\": [");
        for (size_t k = 0, nk = shown_frames(e->site); k < nk; k++) {
            const hp_frame_t *f = &e->site->frames[k];
            fprintf(out, "%s\n            {\"location\": {", k ? "," : "");
            if (f->file && f->line > 0) {
                fprintf(out, "\"physicalLocation\": {\"artifactLocation\": {\"uri\": ");
                sarif_uri(out, f->file, cwd);
                fprintf(out, "}, \"region\": {\"startLine\": %d}}, ", f->line);
            }
            fprintf(out, "\"message\": {\"text\": ");
            {
                char *ft = NULL;
                size_t fl = 0;
                FILE *m = open_memstream(&ft, &fl);
                if (m) {
                    frame_text(m, f);
                    fclose(m);
                }
                json_str(out, ft ? ft : "?");
                free(ft);
            }
            fprintf(out, "}}");
            if (f->module) {
                fprintf(out, ", \"module\": ");
                json_str(out, f->module);
            }
            fprintf(out, "}");
        }
        fprintf(out, "\n          ]}],\n          \"partialFingerprints\": {\"leakSite/v1\": ");
        {
            /* Stable across runs: the user frame's function, file and line. */
            char *fp = NULL;
            if (asprintf(&fp, "%s|%s|%d", u && u->function ? u->function : "",
                         u ? base_name(u->file) : "", u ? u->line : 0) < 0)
                fp = NULL;
            json_str(out, fp ? fp : "");
            free(fp);
        }
        fprintf(out, "},\n          \"properties\": {\"leakedBytes\": %.0f, "
                     "\"leakedBlocks\": %.0f}",
                e->bytes, e->blocks);
        if (e->verdict == V_SUPPRESSED) {
            char *just = NULL;
            if (asprintf(&just, "leak:%s (%s)", e->by->text, e->by->where) < 0)
                just = NULL;
            fprintf(out, ",\n          \"suppressions\": [{\"kind\": \"external\", "
                         "\"justification\": ");
            json_str(out, just ? just : "");
            fprintf(out, "}]");
            free(just);
        }
        fprintf(out, "\n        }");
        free(name);
        free(msg);
    }
    fprintf(out, "%s]\n    }\n  ]\n}\n", first ? "" : "\n      ");
    return ferror(out) ? HP_ERR_IO : 0;
}

static int write_report(hp_gate_format_t fmt, const char *path, const hp_analysis_t *a,
                        const tally_t *t)
{
    FILE *f = fopen(path, "w");
    int rc;
    if (!f) {
        fprintf(stderr, "heapprof: cannot write %s: %s\n", path, strerror(errno));
        return HP_ERR_IO;
    }
    rc = fmt == HP_GATE_JUNIT ? write_junit(f, a, t) : write_sarif(f, a, t);
    if (fclose(f) != 0 && rc == 0)
        rc = HP_ERR_IO;
    if (rc < 0)
        fprintf(stderr, "heapprof: cannot write %s: %s\n", path, hp_strerror(rc));
    return rc;
}

int hp_leakgate_run(hp_leakgate_t *g, FILE *out, hp_analysis_t *a, double threshold,
                    int show_runtime, hp_gate_format_t fmt, const char *report_path)
{
    tally_t t;
    int rc;

    if (!g || !out || !a)
        return HP_ERR_USAGE;
    if (threshold < 0)
        threshold = 0;
    rc = classify(g, a, threshold, &t);
    if (rc < 0)
        return rc;
    write_text(out, a, &t, show_runtime, g);
    if (fmt != HP_GATE_NONE && report_path) {
        int w = write_report(fmt, report_path, a, &t);
        if (w < 0)
            rc = w;
    }
    for (size_t i = 0; i < g->nreports && rc == 0; i++) {
        if (fmt == g->reports[i].fmt && report_path &&
            strcmp(report_path, g->reports[i].path) == 0)
            continue; /* just written */
        int w = write_report(g->reports[i].fmt, g->reports[i].path, a, &t);
        if (w < 0)
            rc = w;
    }
    if (fflush(out) != 0 && rc == 0)
        rc = HP_ERR_IO;
    free(t.e);
    if (rc < 0)
        return rc;
    return t.failed ? 1 : 0;
}
