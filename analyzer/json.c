/*
 * json.c - the --json output (json.h): one JSON object with the fields of
 * DESIGN.md, and the string / frame writers the other outputs share.
 *
 * Numbers are printed as integers (%.0f): exact in full mode, rounded
 * unbiased estimates in a sampled trace. Each site array is sorted by its
 * own measure and holds only the sites where that measure is non-zero. It
 * does not compute anything: model.c does.
 */
#include <stdio.h>
#include <string.h>

#include "heapprof/error.h"
#include "json.h"

/* Length of the valid UTF-8 sequence at s (0 when invalid). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned min;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0)
        n = 2, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void hp_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    putc('"', out);
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            putc('\\', out);
            putc(c, out);
            p++;
        } else if (c == '\n') {
            fputs("\\n", out);
            p++;
        } else if (c == '\t') {
            fputs("\\t", out);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out); /* not UTF-8: keep the output valid JSON */
                p++;
            } else {
                fwrite(p, 1, n, out);
                p += n;
            }
        }
    }
    putc('"', out);
}

void hp_json_frame(FILE *out, const hp_frame_t *f)
{
    fputs("{\"function\":", out);
    hp_json_string(out, f->function);
    fputs(",\"file\":", out);
    hp_json_string(out, f->file);
    fprintf(out, ",\"line\":%d,\"module\":", f->line);
    hp_json_string(out, f->module);
    fprintf(out, ",\"offset\":%llu,\"pc\":%llu,\"inlined\":%s}", (unsigned long long)f->offset,
            (unsigned long long)f->pc, f->inlined ? "true" : "false");
}

static void num(FILE *out, const char *name, double v)
{
    if (v > -0.5 && v < 0.5)
        v = 0; /* no "-0" */
    fprintf(out, "\"%s\":%.0f", name, v);
}

/* A lost_* figure: null when the trace holds no reachability scan. */
static void lost_num(FILE *out, const char *name, int scan, double v)
{
    if (scan)
        num(out, name, v);
    else
        fprintf(out, "\"%s\":null", name);
}

static void write_site(FILE *out, const hp_site_t *s, int scan)
{
    fprintf(out, "{\"stack_id\":%u,", s->stack_id);
    num(out, "allocations", s->allocations);
    putc(',', out);
    num(out, "allocated_bytes", s->allocated_bytes);
    putc(',', out);
    num(out, "peak_bytes", s->peak_bytes);
    putc(',', out);
    num(out, "peak_blocks", s->peak_blocks);
    putc(',', out);
    num(out, "leaked_bytes", s->leaked_bytes);
    putc(',', out);
    num(out, "leaked_blocks", s->leaked_blocks);
    putc(',', out);
    lost_num(out, "lost_bytes", scan, s->lost_bytes);
    putc(',', out);
    lost_num(out, "lost_blocks", scan, s->lost_blocks);
    putc(',', out);
    num(out, "temporary_allocations", s->temporary_allocations);
    fputs(",\"stack\":[", out);
    for (size_t i = 0; i < s->nframes; i++) {
        if (i)
            putc(',', out);
        hp_json_frame(out, &s->frames[i]);
    }
    fputs("]}", out);
}

static void write_sites(FILE *out, hp_analysis_t *a, const char *name, hp_kind_t k, size_t top)
{
    hp_analysis_sort(a, k);
    fprintf(out, ",\n\"%s\":[", name);
    size_t n = 0;
    for (size_t i = 0; i < a->nsites; i++) {
        /* below half a unit, an estimate prints as 0: not a site of this measure */
        if (hp_site_value(&a->sites[i], k) < 0.5)
            break;
        if (top && n == top)
            break;
        fputs(n ? ",\n  " : "\n  ", out);
        write_site(out, &a->sites[i], a->leak_scan);
        n++;
    }
    fputs("]", out);
}

int hp_json_write(FILE *out, hp_analysis_t *a, size_t top)
{
    fprintf(out, "{\"version\":%u,\"sampling_rate\":%llu,", a->version,
            (unsigned long long)a->rate);
    fprintf(out, "\"total_allocations\":%llu,\"total_frees\":%llu,\"total_bytes\":%llu,",
            (unsigned long long)a->total_allocations, (unsigned long long)a->total_frees,
            (unsigned long long)a->total_bytes);
    num(out, "peak_bytes", a->peak_bytes);
    putc(',', out);
    num(out, "peak_blocks", a->peak_blocks);
    putc(',', out);
    num(out, "leaked_bytes", a->leaked_bytes);
    putc(',', out);
    num(out, "leaked_blocks", a->leaked_blocks);
    fprintf(out, ",\"leak_scan\":%s,", a->leak_scan ? "true" : "false");
    lost_num(out, "lost_bytes", a->leak_scan, a->lost_bytes);
    putc(',', out);
    lost_num(out, "lost_blocks", a->leak_scan, a->lost_blocks);
    putc(',', out);
    num(out, "temporary_allocations", a->temporary_allocations);
    fputs(",\n\"executable\":", out);
    hp_json_string(out, a->exe);
    fprintf(out, ",\"pid\":%u,\"ppid\":%u,\"forked\":%s,", a->pid, a->ppid,
            a->header_flags & HP_HDR_FORKED ? "true" : "false");
    fprintf(out, "\"seed\":%llu,\"complete\":%s,\"truncated\":%s,",
            (unsigned long long)a->seed, a->complete ? "true" : "false",
            a->truncated ? "true" : "false");
    fprintf(out, "\"totals_estimated\":%s,\"samples\":%llu,\"unknown_frees\":%llu,",
            a->totals_estimated ? "true" : "false", (unsigned long long)a->samples,
            (unsigned long long)a->unknown_frees);
    fprintf(out, "\"peak_time_ns\":%llu,\"run_time_ns\":%llu,",
            (unsigned long long)(a->peak_ns > a->start_ns ? a->peak_ns - a->start_ns : 0),
            (unsigned long long)(a->end_ns > a->start_ns ? a->end_ns - a->start_ns : 0));
    fputs("\"functions\":{", out);
    for (int i = 0; i < HP_FN_COUNT; i++)
        fprintf(out, "%s\"%s\":{\"calls\":%llu,\"bytes\":%llu}", i ? "," : "", hp_fn_names[i],
                (unsigned long long)a->fn_calls[i], (unsigned long long)a->fn_bytes[i]);
    putc('}', out);
    write_sites(out, a, "hotspots", HP_KIND_ALLOCATED, top);
    write_sites(out, a, "leaks", HP_KIND_LEAKED, top);
    write_sites(out, a, "peak_sites", HP_KIND_PEAK, top);
    write_sites(out, a, "temporary_sites", HP_KIND_TEMPORARY, top);
    fputs("}\n", out);
    return ferror(out) ? HP_ERR_IO : 0;
}
