/*
 * synth_analysis.c - builds hp_analysis_t values by hand for unit tests of
 * the outputs. It owns every string and frame through a list kept in
 * a->priv; it does not replay anything.
 */
#include "synth_analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct synth_priv_s {
    char **strs;
    size_t nstrs;
    char **keys; /* distinct function@module, index = pc slot */
    size_t nkeys;
} synth_priv_t;

static void *xalloc(void *p)
{
    if (!p) {
        fprintf(stderr, "synth_analysis: out of memory\n");
        abort();
    }
    return p;
}

static const char *keep(hp_analysis_t *a, const char *s, size_t n)
{
    synth_priv_t *p = a->priv;
    char *c = xalloc(strndup(s, n));
    p->strs = xalloc(realloc(p->strs, (p->nstrs + 1) * sizeof(*p->strs)));
    p->strs[p->nstrs++] = c;
    return c;
}

static uint64_t slot_of(hp_analysis_t *a, const char *key)
{
    synth_priv_t *p = a->priv;
    for (size_t i = 0; i < p->nkeys; i++)
        if (!strcmp(p->keys[i], key))
            return i;
    p->keys = xalloc(realloc(p->keys, (p->nkeys + 1) * sizeof(*p->keys)));
    p->keys[p->nkeys] = xalloc(strdup(key));
    return p->nkeys++;
}

hp_analysis_t *synth_new(const char *exe, uint64_t rate)
{
    hp_analysis_t *a = xalloc(calloc(1, sizeof(*a)));
    a->priv = xalloc(calloc(1, sizeof(synth_priv_t)));
    a->version = 1;
    a->pid = 4242;
    a->rate = rate;
    a->exe = keep(a, exe, strlen(exe));
    a->start_ns = 1000;
    a->end_ns = 1000 + 2000000000ull;
    a->start_unix_ns = 1700000000000000000ull;
    a->complete = 1;
    return a;
}

static void parse_frame(hp_analysis_t *a, const char *s, size_t n, hp_frame_t *f)
{
    char tok[512], key[600];
    snprintf(tok, sizeof(tok), "%.*s", (int)n, s);
    char *t = tok;
    memset(f, 0, sizeof(*f));
    if (*t == '+') {
        f->inlined = 1;
        t++;
    }
    char *at = strchr(t, '@');
    if (at) {
        *at = '\0';
        f->module = keep(a, at + 1, strlen(at + 1));
        f->build_id = keep(a, "0123abcd", 8);
    }
    char *colon = strchr(t, '#');
    if (colon) {
        *colon = '\0';
        char *file = colon + 1, *line = strrchr(file, ':');
        if (line) {
            *line = '\0';
            f->line = atoi(line + 1);
        }
        f->file = keep(a, file, strlen(file));
    }
    if (strcmp(t, "?") != 0)
        f->function = keep(a, t, strlen(t));
    snprintf(key, sizeof(key), "%s@%s", t, f->module ? f->module : "");
    f->offset = 0x1000 + 0x10 * slot_of(a, key);
    f->pc = 0x400000 + f->offset;
}

hp_site_t *synth_site(hp_analysis_t *a, const char *stack, double allocations,
                      double allocated_bytes, double peak_bytes, double leaked_bytes)
{
    size_t n = 0;
    for (const char *c = stack; *c; c++)
        n += *c == ';';
    n += *stack ? 1 : 0;
    hp_frame_t *frames = xalloc(calloc(n ? n : 1, sizeof(*frames)));
    /* Root first in the string, innermost first in the site. */
    const char *p = stack;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, ';');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        parse_frame(a, p, len, &frames[n - 1 - i]);
        p = e ? e + 1 : p + len;
    }
    a->sites = xalloc(realloc(a->sites, (a->nsites + 1) * sizeof(*a->sites)));
    hp_site_t *s = &a->sites[a->nsites++];
    memset(s, 0, sizeof(*s));
    s->stack_id = (uint32_t)a->nsites;
    s->frames = frames;
    s->nframes = n;
    s->allocations = allocations;
    s->allocated_bytes = allocated_bytes;
    s->peak_bytes = peak_bytes;
    s->peak_blocks = peak_bytes > 0 ? 1 : 0;
    s->leaked_bytes = leaked_bytes;
    s->leaked_blocks = leaked_bytes > 0 ? 1 : 0;
    a->total_allocations += (uint64_t)allocations;
    a->total_bytes += (uint64_t)allocated_bytes;
    a->samples += (uint64_t)allocations;
    a->peak_bytes += peak_bytes;
    a->peak_blocks += s->peak_blocks;
    a->leaked_bytes += leaked_bytes;
    a->leaked_blocks += s->leaked_blocks;
    return s;
}

void synth_free(hp_analysis_t *a)
{
    if (!a)
        return;
    synth_priv_t *p = a->priv;
    for (size_t i = 0; i < a->nsites; i++)
        free((void *)a->sites[i].frames);
    free(a->sites);
    for (size_t i = 0; i < p->nstrs; i++)
        free(p->strs[i]);
    for (size_t i = 0; i < p->nkeys; i++)
        free(p->keys[i]);
    free(p->strs);
    free(p->keys);
    free(p);
    free(a);
}
