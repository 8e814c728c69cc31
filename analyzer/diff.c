/*
 * diff.c - per-site differences between two analyses (cur - base): text,
 * JSON, and a flamegraph or folded stacks of the growth (issue 4).
 *
 * Sites are matched by their symbolized stacks: the sequence of frame names
 * (hp_flame_frame_name: function, else module+offset), never addresses, so
 * two runs of one binary match whatever the address-space layout. Sites of
 * one analysis with the same key (two return addresses in one function) are
 * summed first. A key found only in cur is "new", only in base "gone".
 * Rows are sorted by the largest absolute change of allocated, peak or
 * leaked bytes, then of calls, then by stack, so output is deterministic.
 * The growth flamegraph draws, per stack, the positive delta of the chosen
 * kind through flame.c, so shrinking stacks do not appear in it.
 *
 * It does not load traces and does not judge: a regression gate compares
 * the JSON's delta against its own thresholds.
 */
#include "diff.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "heapprof/error.h"
#include "outfmt.h"

#define NKINDS 5 /* hp_kind_t values, used as indexes */

typedef struct entry_s {
    char *key;            /* frame names joined by '\x1f', innermost first */
    const hp_site_t *rep; /* a site with this stack (cur's if any) */
    double v[2][NKINDS];  /* [0] base, [1] cur; by hp_kind_t */
    double leaked_blocks[2];
    int in[2];
} entry_t;

typedef struct table_s {
    entry_t *e;
    size_t n, cap;
    uint32_t *ht; /* index + 1 */
    size_t htcap;
} table_t;

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 32);
}

static char *site_key(const hp_site_t *s)
{
    char name[512];
    size_t len = 1, cap = 256;
    char *k = malloc(cap);
    if (!k)
        return NULL;
    k[0] = '\0';
    if (s->nframes == 0) {
        free(k);
        return strdup("[unknown stack]");
    }
    for (size_t i = 0; i < s->nframes; i++) {
        const char *n = hp_flame_frame_name(&s->frames[i], name, sizeof(name));
        size_t nl = strlen(n);
        if (len + nl + 2 > cap) {
            while (len + nl + 2 > cap)
                cap *= 2;
            char *nk = realloc(k, cap);
            if (!nk) {
                free(k);
                return NULL;
            }
            k = nk;
        }
        if (i > 0) {
            k[len - 1] = '\x1f';
            len++;
        }
        memcpy(k + len - 1, n, nl + 1);
        len += nl;
    }
    return k;
}

static int table_grow(table_t *t)
{
    size_t cap = t->htcap ? t->htcap * 2 : 1024;
    uint32_t *ht = calloc(cap, sizeof(*ht));
    if (!ht)
        return HP_ERR_NOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)hash_key(t->e[i].key) & (cap - 1);
        while (ht[h])
            h = (h + 1) & (cap - 1);
        ht[h] = (uint32_t)i + 1;
    }
    free(t->ht);
    t->ht = ht;
    t->htcap = cap;
    return 0;
}

static int table_add(table_t *t, const hp_site_t *s, int side)
{
    char *key = site_key(s);
    if (!key)
        return HP_ERR_NOMEM;
    if ((t->n + 1) * 2 > t->htcap && table_grow(t) < 0) {
        free(key);
        return HP_ERR_NOMEM;
    }
    size_t h = (size_t)hash_key(key) & (t->htcap - 1);
    entry_t *e = NULL;
    while (t->ht[h]) {
        if (strcmp(t->e[t->ht[h] - 1].key, key) == 0) {
            e = &t->e[t->ht[h] - 1];
            free(key);
            break;
        }
        h = (h + 1) & (t->htcap - 1);
    }
    if (!e) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 256;
            entry_t *ne = realloc(t->e, cap * sizeof(*ne));
            if (!ne) {
                free(key);
                return HP_ERR_NOMEM;
            }
            t->e = ne;
            t->cap = cap;
        }
        e = &t->e[t->n];
        memset(e, 0, sizeof(*e));
        e->key = key;
        e->rep = s;
        t->ht[h] = (uint32_t)++t->n;
    }
    if (side == 1 && !e->in[1])
        e->rep = s;
    e->in[side] = 1;
    for (int k = 0; k < NKINDS; k++)
        e->v[side][k] += hp_site_value(s, (hp_kind_t)k);
    e->leaked_blocks[side] += s->leaked_blocks;
    return 0;
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].key);
    free(t->e);
    free(t->ht);
}

static double delta(const entry_t *e, hp_kind_t k)
{
    return e->v[1][k] - e->v[0][k];
}

static double sort_weight(const entry_t *e)
{
    double w = fabs(delta(e, HP_KIND_ALLOCATED));
    if (fabs(delta(e, HP_KIND_PEAK)) > w)
        w = fabs(delta(e, HP_KIND_PEAK));
    if (fabs(delta(e, HP_KIND_LEAKED)) > w)
        w = fabs(delta(e, HP_KIND_LEAKED));
    return w;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const entry_t *a = pa, *b = pb;
    double wa = sort_weight(a), wb = sort_weight(b);
    if (wa != wb)
        return wa > wb ? -1 : 1;
    wa = fabs(delta(a, HP_KIND_COUNT));
    wb = fabs(delta(b, HP_KIND_COUNT));
    if (wa != wb)
        return wa > wb ? -1 : 1;
    return strcmp(a->key, b->key);
}

static const char *status_of(const entry_t *e)
{
    return !e->in[0] ? "new" : !e->in[1] ? "gone" : "matched";
}

static int entry_changed(const entry_t *e)
{
    for (int k = 0; k < NKINDS; k++)
        if (delta(e, (hp_kind_t)k) != 0)
            return 1;
    return 0;
}

/* ---- text ---- */

static void text_total_row(FILE *out, const char *label, double b, double c, int bytes)
{
    char sb[64], sc[64], sd[64], pct[32] = "";
    if (bytes) {
        hp_outfmt_bytes(b, 0, sb, sizeof(sb));
        hp_outfmt_bytes(c, 0, sc, sizeof(sc));
        hp_outfmt_bytes(c - b, 1, sd, sizeof(sd));
    } else {
        hp_outfmt_count(b, 0, sb, sizeof(sb));
        hp_outfmt_count(c, 0, sc, sizeof(sc));
        hp_outfmt_count(c - b, 1, sd, sizeof(sd));
    }
    if (b > 0)
        snprintf(pct, sizeof(pct), "(%+.1f%%)", 100.0 * (c - b) / b);
    else if (c > 0)
        snprintf(pct, sizeof(pct), "(new)");
    fprintf(out, "  %-22s %14s %14s %14s  %s\n", label, sb, sc, sd, pct);
}

static void text_stack(FILE *out, const entry_t *e)
{
    const char *p = e->key;
    int n = 0;
    while (*p) {
        const char *sep = strchr(p, '\x1f');
        size_t len = sep ? (size_t)(sep - p) : strlen(p);
        if (n == 4) {
            fputs(" < ...", out);
            break;
        }
        fprintf(out, "%s%.*s", n ? " < " : "", (int)len, p);
        n++;
        p = sep ? sep + 1 : p + len;
    }
}

static void write_text(FILE *out, const hp_analysis_t *base, const hp_analysis_t *cur,
                       const table_t *t, size_t top, size_t counts[3], size_t unchanged)
{
    char s1[64], s2[64], s3[64], s4[64];

    fprintf(out, "heapprof diff: %s (pid %u) against base %s (pid %u)\n\n",
            cur->exe ? cur->exe : "?", cur->pid, base->exe ? base->exe : "?", base->pid);
    fprintf(out, "  %-22s %14s %14s %14s\n", "", "base", "cur", "delta");
    text_total_row(out, "allocated bytes", (double)base->total_bytes, (double)cur->total_bytes, 1);
    text_total_row(out, "allocations", (double)base->total_allocations,
                   (double)cur->total_allocations, 0);
    text_total_row(out, "peak bytes", base->peak_bytes, cur->peak_bytes, 1);
    text_total_row(out, "leaked bytes", base->leaked_bytes, cur->leaked_bytes, 1);
    text_total_row(out, "leaked blocks", base->leaked_blocks, cur->leaked_blocks, 0);
    text_total_row(out, "temporary allocations", base->temporary_allocations,
                   cur->temporary_allocations, 0);
    fprintf(out, "\nsites: %zu matched, %zu new, %zu gone; %zu unchanged not listed\n", counts[0],
            counts[1], counts[2], unchanged);
    if (base->rate > 1 || cur->rate > 1)
        fputs("(sampled traces: per-site numbers are estimates)\n", out);
    fprintf(out, "\n  %12s %12s %12s %10s  %-7s  %s\n", "allocated", "peak", "leaked", "calls",
            "status", "stack (innermost first)");
    size_t shown = 0;
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        if (!entry_changed(e))
            continue;
        if (top && shown == top) {
            fprintf(out, "  ... (--top %zu)\n", top);
            break;
        }
        fprintf(out, "  %12s %12s %12s %10s  %-7s  ",
                hp_outfmt_bytes(delta(e, HP_KIND_ALLOCATED), 1, s1, sizeof(s1)),
                hp_outfmt_bytes(delta(e, HP_KIND_PEAK), 1, s2, sizeof(s2)),
                hp_outfmt_bytes(delta(e, HP_KIND_LEAKED), 1, s3, sizeof(s3)),
                hp_outfmt_count(delta(e, HP_KIND_COUNT), 1, s4, sizeof(s4)), status_of(e));
        text_stack(out, e);
        fputc('\n', out);
        shown++;
    }
    if (shown == 0)
        fputs("  (no site changed)\n", out);
}

/* ---- JSON ---- */

static void json_totals(FILE *out, const hp_analysis_t *a)
{
    fputs("{\"exe\":", out);
    hp_outfmt_json_str(out, a->exe);
    fprintf(out,
            ",\"pid\":%u,\"sampling_rate\":%llu,\"total_allocations\":%llu,"
            "\"total_bytes\":%llu,\"peak_bytes\":",
            a->pid, (unsigned long long)a->rate, (unsigned long long)a->total_allocations,
            (unsigned long long)a->total_bytes);
    hp_outfmt_json_num(out, a->peak_bytes);
    fputs(",\"leaked_bytes\":", out);
    hp_outfmt_json_num(out, a->leaked_bytes);
    fputs(",\"leaked_blocks\":", out);
    hp_outfmt_json_num(out, a->leaked_blocks);
    fputs(",\"temporary_allocations\":", out);
    hp_outfmt_json_num(out, a->temporary_allocations);
    fputc('}', out);
}

static void json_delta_totals(FILE *out, const hp_analysis_t *b, const hp_analysis_t *c)
{
    fputs("{\"total_allocations\":", out);
    hp_outfmt_json_num(out, (double)c->total_allocations - (double)b->total_allocations);
    fputs(",\"total_bytes\":", out);
    hp_outfmt_json_num(out, (double)c->total_bytes - (double)b->total_bytes);
    fputs(",\"peak_bytes\":", out);
    hp_outfmt_json_num(out, c->peak_bytes - b->peak_bytes);
    fputs(",\"leaked_bytes\":", out);
    hp_outfmt_json_num(out, c->leaked_bytes - b->leaked_bytes);
    fputs(",\"leaked_blocks\":", out);
    hp_outfmt_json_num(out, c->leaked_blocks - b->leaked_blocks);
    fputs(",\"temporary_allocations\":", out);
    hp_outfmt_json_num(out, c->temporary_allocations - b->temporary_allocations);
    fputc('}', out);
}

static void json_site_numbers(FILE *out, const double v[NKINDS], double leaked_blocks)
{
    fputs("{\"allocations\":", out);
    hp_outfmt_json_num(out, v[HP_KIND_COUNT]);
    fputs(",\"allocated_bytes\":", out);
    hp_outfmt_json_num(out, v[HP_KIND_ALLOCATED]);
    fputs(",\"peak_bytes\":", out);
    hp_outfmt_json_num(out, v[HP_KIND_PEAK]);
    fputs(",\"leaked_bytes\":", out);
    hp_outfmt_json_num(out, v[HP_KIND_LEAKED]);
    fputs(",\"leaked_blocks\":", out);
    hp_outfmt_json_num(out, leaked_blocks);
    fputs(",\"temporary_allocations\":", out);
    hp_outfmt_json_num(out, v[HP_KIND_TEMPORARY]);
    fputc('}', out);
}

static void write_json(FILE *out, const hp_analysis_t *base, const hp_analysis_t *cur,
                       const table_t *t, size_t top, size_t counts[3])
{
    char name[512];
    fputs("{\"base\":", out);
    json_totals(out, base);
    fputs(",\"cur\":", out);
    json_totals(out, cur);
    fputs(",\"delta\":", out);
    json_delta_totals(out, base, cur);
    fprintf(out, ",\"matched_sites\":%zu,\"new_sites\":%zu,\"gone_sites\":%zu,\"sites\":[",
            counts[0], counts[1], counts[2]);
    size_t n = top && top < t->n ? top : t->n;
    for (size_t i = 0; i < n; i++) {
        const entry_t *e = &t->e[i];
        double d[NKINDS];
        for (int k = 0; k < NKINDS; k++)
            d[k] = delta(e, (hp_kind_t)k);
        fprintf(out, "%s\n{\"status\":\"%s\",\"stack\":[", i ? "," : "", status_of(e));
        if (e->rep->nframes == 0)
            hp_outfmt_json_str(out, "[unknown stack]");
        for (size_t f = 0; f < e->rep->nframes; f++) {
            const hp_frame_t *fr = &e->rep->frames[f];
            fputs(f ? ",{\"function\":" : "{\"function\":", out);
            hp_outfmt_json_str(out, hp_flame_frame_name(fr, name, sizeof(name)));
            fputs(",\"file\":", out);
            hp_outfmt_json_str(out, fr->file);
            fprintf(out, ",\"line\":%d,\"module\":", fr->line);
            hp_outfmt_json_str(out, fr->module);
            fprintf(out, ",\"inlined\":%s}", fr->inlined ? "true" : "false");
        }
        fputs("],\"base\":", out);
        json_site_numbers(out, e->v[0], e->leaked_blocks[0]);
        fputs(",\"cur\":", out);
        json_site_numbers(out, e->v[1], e->leaked_blocks[1]);
        fputs(",\"delta\":", out);
        json_site_numbers(out, d, e->leaked_blocks[1] - e->leaked_blocks[0]);
        fputc('}', out);
    }
    fputs("\n]}\n", out);
}

/* ---- growth flamegraph / folded ---- */

static int write_growth(FILE *out, const hp_analysis_t *base, const hp_analysis_t *cur,
                        const table_t *t, hp_diff_format_t fmt, hp_kind_t kind)
{
    hp_analysis_t g = *cur;
    char title[1024];
    int rc;

    g.sites = calloc(t->n ? t->n : 1, sizeof(*g.sites));
    if (!g.sites)
        return HP_ERR_NOMEM;
    g.nsites = 0;
    /* cur's exact totals say nothing about the growth: do not show them. */
    g.total_bytes = 0;
    g.total_allocations = 0;
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->e[i];
        double d = delta(e, kind);
        if (!(d > 0))
            continue;
        hp_site_t *s = &g.sites[g.nsites++];
        s->stack_id = e->rep->stack_id;
        s->frames = e->rep->frames;
        s->nframes = e->rep->nframes;
        s->allocations = delta(e, HP_KIND_COUNT) > 0 ? delta(e, HP_KIND_COUNT) : 0;
        switch (kind) {
        case HP_KIND_ALLOCATED:
            s->allocated_bytes = d;
            break;
        case HP_KIND_PEAK:
            s->peak_bytes = d;
            break;
        case HP_KIND_LEAKED:
            s->leaked_bytes = d;
            break;
        case HP_KIND_TEMPORARY:
            s->temporary_allocations = d;
            break;
        case HP_KIND_COUNT:
            s->allocations = d;
            break;
        }
    }
    if (fmt == HP_DIFF_FOLDED) {
        rc = hp_flame_write_folded(out, &g, kind);
    } else {
        snprintf(title, sizeof(title), "growth of %s (pid %u) over base (pid %u)",
                 cur->exe ? cur->exe : "?", cur->pid, base->pid);
        rc = hp_flame_write_svg(out, &g, kind, title);
    }
    free(g.sites);
    return rc;
}

int hp_diff_write(FILE *out, const hp_analysis_t *base, const hp_analysis_t *cur,
                  hp_diff_format_t fmt, hp_kind_t kind, size_t top)
{
    table_t t;
    size_t counts[3] = {0, 0, 0}, unchanged = 0;
    int rc = 0;

    if ((int)kind < 0 || (int)kind >= NKINDS)
        return HP_ERR_USAGE;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < base->nsites && rc == 0; i++)
        rc = table_add(&t, &base->sites[i], 0);
    for (size_t i = 0; i < cur->nsites && rc == 0; i++)
        rc = table_add(&t, &cur->sites[i], 1);
    if (rc < 0)
        goto out;
    if (t.n > 1)
        qsort(t.e, t.n, sizeof(*t.e), cmp_entry);
    for (size_t i = 0; i < t.n; i++) {
        counts[!t.e[i].in[0] ? 1 : !t.e[i].in[1] ? 2 : 0]++;
        unchanged += !entry_changed(&t.e[i]);
    }

    switch (fmt) {
    case HP_DIFF_TEXT:
        write_text(out, base, cur, &t, top, counts, unchanged);
        break;
    case HP_DIFF_JSON:
        write_json(out, base, cur, &t, top, counts);
        break;
    case HP_DIFF_FLAME:
    case HP_DIFF_FOLDED:
        rc = write_growth(out, base, cur, &t, fmt, kind);
        break;
    default:
        rc = HP_ERR_USAGE;
    }
    if (rc == 0 && ferror(out))
        rc = HP_ERR_IO;
out:
    table_free(&t);
    return rc;
}
