/*
 * report.c - the text report, heapanalyze's default output (report.h).
 *
 * A summary (executable, pid, run time, exact totals, peak and when it
 * happened, leaks, temporaries, sampling), then five sections of top sites:
 * by bytes at the peak, leaked bytes, allocated bytes, calls and temporary
 * allocations. Each site shows its figures and its first few frames as
 * "function (file:line)" or "module+0xoffset". With merge_sites, sites are
 * first merged by their first frame in the user's code (the first frame in
 * the main executable or outside /lib and /usr/lib). Colours only when the
 * caller says so (main.c checks isatty and NO_COLOR). Computes nothing the
 * model has not.
 */
#include <stdlib.h>
#include <string.h>

#include "heapprof/error.h"
#include "report.h"

#define FRAMES_SHOWN 5

typedef struct style_s {
    const char *bold, *dim, *head, *fn, *off;
} style_t;

static const style_t plain = {"", "", "", "", ""};
static const style_t ansi = {"\033[1m", "\033[2m", "\033[1;34m", "\033[33m", "\033[0m"};

/* Human-readable size: "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB". */
static const char *size_str(double v, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double x = v < 0 ? -v : v;
    while (x >= 1024.0 && u < 4) {
        x /= 1024.0;
        u++;
    }
    if (v < 0)
        x = -x;
    if (u == 0)
        snprintf(buf, len, "%.0f B", x);
    else
        snprintf(buf, len, "%.1f %s", x, units[u]);
    return buf;
}

/* Count with thousands separators: 1,234,567. */
static const char *count_str(double v, char *buf, size_t len)
{
    char tmp[64];
    if (v < 0.5 && v > -0.5)
        v = 0;
    snprintf(tmp, sizeof(tmp), "%.0f", v);
    size_t n = strlen(tmp), j = 0;
    size_t start = tmp[0] == '-';
    for (size_t i = 0; i < n && j + 2 < len; i++) {
        if (i > start && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = '\0';
    return buf;
}

/* "N block" or "N blocks", N as count_str writes it. */
static const char *blocks_str(double v, char *buf, size_t len)
{
    char n[48];
    count_str(v, n, sizeof(n));
    snprintf(buf, len, "%s %s", n, strcmp(n, "1") == 0 ? "block" : "blocks");
    return buf;
}

/* Duration: "850 us", "12.3 ms", "4.56 s". */
static const char *time_str(double ns, char *buf, size_t len)
{
    if (ns < 1e6)
        snprintf(buf, len, "%.0f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, len, "%.1f ms", ns / 1e6);
    else
        snprintf(buf, len, "%.2f s", ns / 1e9);
    return buf;
}

/* Size with the exact byte count after it when it is not already in bytes. */
static const char *size_exact(double v, char *buf, size_t len)
{
    char h[64], c[64];
    size_str(v, h, sizeof(h));
    if (v < 1024 && v > -1024)
        snprintf(buf, len, "%s", h);
    else
        snprintf(buf, len, "%s (%s bytes)", h, count_str(v, c, sizeof(c)));
    return buf;
}

static void print_frame(FILE *out, const hp_frame_t *f, const style_t *st)
{
    if (f->function) {
        fprintf(out, "%s%s%s", st->fn, f->function, st->off);
        if (f->file)
            fprintf(out, " %s(%s:%d)%s", st->dim, f->file, f->line, st->off);
        else if (f->module)
            fprintf(out, " %s(%s)%s", st->dim, f->module, st->off);
    } else if (f->module) {
        fprintf(out, "%s+0x%llx", f->module, (unsigned long long)f->offset);
    } else {
        fprintf(out, "0x%llx", (unsigned long long)f->pc);
    }
    if (f->inlined)
        fprintf(out, " %s[inlined]%s", st->dim, st->off);
    putc('\n', out);
}

static void print_stack(FILE *out, const hp_site_t *s, const style_t *st)
{
    for (size_t i = 0; i < s->nframes && i < FRAMES_SHOWN; i++) {
        fputs("        ", out);
        print_frame(out, &s->frames[i], st);
    }
    if (s->nframes > FRAMES_SHOWN)
        fprintf(out, "        %s... %zu more frames%s\n", st->dim, s->nframes - FRAMES_SHOWN,
                st->off);
}

static const char *const titles[] = {
    [HP_KIND_PEAK] = "Peak: sites holding the most memory at the peak",
    [HP_KIND_LEAKED] = "Leaks: memory never freed",
    [HP_KIND_ALLOCATED] = "Allocated: sites allocating the most bytes",
    [HP_KIND_COUNT] = "Calls: sites calling the allocator most often",
    [HP_KIND_TEMPORARY] = "Temporary: allocations freed before the thread's next allocation",
};

static void section(FILE *out, hp_analysis_t *a, hp_kind_t k, size_t top, const style_t *st)
{
    char b1[64], b2[64], b3[64];
    double total = hp_analysis_total(a, k);
    hp_analysis_sort(a, k);
    size_t shown = 0;
    fprintf(out, "\n%s%s%s\n", st->head, titles[k], st->off);
    if (k == HP_KIND_LEAKED && a->leak_scan) {
        char b4[64];
        fprintf(out, "     lost (no pointer reaches them at exit) %s in %s; "
                     "still reachable %s in %s\n",
                size_str(a->lost_bytes, b1, sizeof(b1)), blocks_str(a->lost_blocks, b2, sizeof(b2)),
                size_str(a->leaked_bytes - a->lost_bytes, b3, sizeof(b3)),
                blocks_str(a->leaked_blocks - a->lost_blocks, b4, sizeof(b4)));
    }
    for (size_t i = 0; i < a->nsites && (top == 0 || shown < top); i++) {
        const hp_site_t *s = &a->sites[i];
        double v = hp_site_value(s, k);
        if (v < 0.5)
            break;
        double pct = total > 0 ? 100.0 * v / total : 0;
        fprintf(out, "%3zu. %s", shown + 1, st->bold);
        switch (k) {
        case HP_KIND_PEAK:
            fprintf(out, "%s%s in %s", size_str(v, b1, sizeof(b1)), st->off,
                    blocks_str(s->peak_blocks, b2, sizeof(b2)));
            break;
        case HP_KIND_LEAKED:
            fprintf(out, "%s%s in %s", size_str(v, b1, sizeof(b1)), st->off,
                    blocks_str(s->leaked_blocks, b2, sizeof(b2)));
            if (a->leak_scan)
                fprintf(out, s->lost_blocks >= s->leaked_blocks ? ", lost"
                             : s->lost_blocks > 0.5             ? ", %s lost"
                                                                : ", still reachable",
                        size_str(s->lost_bytes, b3, sizeof(b3)));
            break;
        case HP_KIND_ALLOCATED:
            fprintf(out, "%s%s in %s calls", size_str(v, b1, sizeof(b1)), st->off,
                    count_str(s->allocations, b2, sizeof(b2)));
            break;
        case HP_KIND_COUNT:
            fprintf(out, "%s calls%s, %s", count_str(v, b1, sizeof(b1)), st->off,
                    size_str(s->allocated_bytes, b2, sizeof(b2)));
            break;
        case HP_KIND_TEMPORARY:
            fprintf(out, "%s temporary%s of %s calls", count_str(v, b1, sizeof(b1)), st->off,
                    count_str(s->allocations, b3, sizeof(b3)));
            break;
        }
        fprintf(out, " (%.1f%%)\n", pct);
        print_stack(out, s, st);
        shown++;
    }
    if (!shown)
        fputs("     none\n", out);
    else if (shown < a->nsites && hp_site_value(&a->sites[shown], k) >= 0.5)
        fprintf(out, "     %s(more sites: --top N)%s\n", st->dim, st->off);
}

/* ---- --merge ---- */

static int is_user_frame(const hp_frame_t *f, const char *exe)
{
    if (!f->module)
        return 0;
    if (exe && strcmp(f->module, exe) == 0)
        return 1;
    return strncmp(f->module, "/lib", 4) != 0 && strncmp(f->module, "/usr/lib", 8) != 0;
}

static const hp_frame_t *user_frame(const hp_site_t *s, const char *exe, size_t *idx)
{
    for (size_t i = 0; i < s->nframes; i++) {
        if (is_user_frame(&s->frames[i], exe)) {
            *idx = i;
            return &s->frames[i];
        }
    }
    *idx = 0;
    return s->nframes ? &s->frames[0] : NULL;
}

static int streq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int same_frame(const hp_frame_t *x, const hp_frame_t *y)
{
    if (!x || !y)
        return x == y;
    if (x->function || y->function)
        return streq(x->function, y->function) && streq(x->file, y->file) &&
               x->line == y->line;
    return streq(x->module, y->module) && x->offset == y->offset;
}

/* Merged copy of a's sites (O(n^2) in the worst case, fine for a report's
 * sites, which are distinct stacks; frames point into a). NULL: no memory. */
static hp_site_t *merge_sites(const hp_analysis_t *a, size_t *n)
{
    hp_site_t *m = calloc(a->nsites ? a->nsites : 1, sizeof(*m));
    const hp_frame_t **keys = calloc(a->nsites ? a->nsites : 1, sizeof(*keys));
    *n = 0;
    if (!m || !keys) {
        free(m);
        free(keys);
        return NULL;
    }
    for (size_t i = 0; i < a->nsites; i++) {
        const hp_site_t *s = &a->sites[i];
        size_t idx;
        const hp_frame_t *k = user_frame(s, a->exe, &idx);
        size_t j;
        for (j = 0; j < *n; j++)
            if (same_frame(keys[j], k))
                break;
        if (j == *n) {
            keys[j] = k;
            m[j] = *s;
            m[j].frames = s->frames + idx;
            m[j].nframes = s->nframes - idx;
            (*n)++;
            continue;
        }
        hp_site_t *d = &m[j];
        d->stack_id = d->stack_id < s->stack_id ? d->stack_id : s->stack_id;
        d->allocations += s->allocations;
        d->allocated_bytes += s->allocated_bytes;
        d->peak_bytes += s->peak_bytes;
        d->peak_blocks += s->peak_blocks;
        d->leaked_bytes += s->leaked_bytes;
        d->leaked_blocks += s->leaked_blocks;
        d->lost_bytes += s->lost_bytes;
        d->lost_blocks += s->lost_blocks;
        d->temporary_allocations += s->temporary_allocations;
    }
    free(keys);
    return m;
}

static void summary(FILE *out, const hp_analysis_t *a, const style_t *st)
{
    char b1[96], b2[64], b3[64];
    double run = a->end_ns > a->start_ns ? (double)(a->end_ns - a->start_ns) : 0;
    fprintf(out, "%sheapprof report%s: %s (pid %u", st->bold, st->off,
            a->exe && a->exe[0] ? a->exe : "?", a->pid);
    if (a->header_flags & HP_HDR_FORKED)
        fprintf(out, ", fork child of %u", a->ppid);
    fputs(")\n", out);
    fprintf(out, "  run time        %s%s\n", time_str(run, b1, sizeof(b1)),
            a->truncated   ? " (trace truncated: the rest was lost)"
            : a->complete ? ""
                          : " (no end record: the process was killed or crashed)");
    fprintf(out, "  allocations     %s calls, %s%s\n",
            count_str((double)a->total_allocations, b2, sizeof(b2)),
            size_exact((double)a->total_bytes, b1, sizeof(b1)),
            a->totals_estimated ? ", estimated: no counters in the trace"
            : a->complete      ? ", exact"
                               : ", exact for the threads whose counters were written");
    fprintf(out, "  frees           %s\n", count_str((double)a->total_frees, b1, sizeof(b1)));
    fprintf(out, "  peak            %s%s%s in %s, %s after start\n", st->bold,
            size_exact(a->peak_bytes, b1, sizeof(b1)), st->off,
            blocks_str(a->peak_blocks, b2, sizeof(b2)),
            time_str(a->peak_ns > a->start_ns ? (double)(a->peak_ns - a->start_ns) : 0, b3,
                     sizeof(b3)));
    fprintf(out, "  leaked          %s%s%s in %s\n", st->bold,
            size_exact(a->leaked_bytes, b1, sizeof(b1)), st->off,
            blocks_str(a->leaked_blocks, b2, sizeof(b2)));
    double calls = hp_analysis_total(a, HP_KIND_COUNT);
    fprintf(out, "  temporary       %s allocations (%.1f%% of calls)\n",
            count_str(a->temporary_allocations, b1, sizeof(b1)),
            calls > 0 ? 100.0 * a->temporary_allocations / calls : 0.0);
    if (a->rate == 1)
        fprintf(out, "  sampling        every allocation recorded (full mode)\n");
    else
        fprintf(out,
                "  sampling        one sample per %s on average (rate %llu), %s samples:\n"
                "                  peak, leaks and per-site figures are estimates, unbiased\n",
                size_str((double)a->rate, b3, sizeof(b3)), (unsigned long long)a->rate,
                count_str((double)a->samples, b2, sizeof(b2)));
}

int hp_report_write(FILE *out, hp_analysis_t *a, const hp_report_opts_t *opts)
{
    const style_t *st = opts && opts->color ? &ansi : &plain;
    size_t top = opts ? opts->top : 10;
    summary(out, a, st);
    hp_analysis_t view = *a;
    hp_site_t *merged = NULL;
    if (opts && opts->merge_sites) {
        merged = merge_sites(a, &view.nsites);
        if (!merged)
            return HP_ERR_NOMEM;
        view.sites = merged;
        fprintf(out, "  (sites merged by their first frame in the program's own code)\n");
    }
    static const hp_kind_t order[] = {HP_KIND_PEAK, HP_KIND_LEAKED, HP_KIND_ALLOCATED,
                                      HP_KIND_COUNT, HP_KIND_TEMPORARY};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        section(out, &view, order[i], top, st);
    if (!merged)
        a->sites = view.sites; /* sorted in place */
    free(merged);
    return ferror(out) ? HP_ERR_IO : 0;
}
