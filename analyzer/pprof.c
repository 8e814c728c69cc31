/*
 * pprof.c - writes an analysis as a gzip-compressed pprof profile
 * (profile.proto, encoded by protobuf-c, compressed by zlib) for pprof,
 * Pyroscope, Grafana and Parca (issue 4).
 *
 * Each site becomes one Sample with four values: alloc_objects (calls),
 * alloc_space (bytes), inuse_objects and inuse_space, where "in use" means
 * live at exit (leaked) or, when the caller asks for it, live at the global
 * peak. Each distinct return address becomes one Location, its inlined
 * frames as several Line entries, innermost first; functions carry the
 * demangled name, file and line; each module a Mapping with its build-id.
 * The profile is pre-symbolized (has_functions etc. set), so readers never
 * need the binaries. A Mapping's range is the one the recorded addresses
 * show: from the module's load bias to the highest address seen in it.
 *
 * It does not read traces; values are rounded unbiased estimates in
 * sampled traces, exact in full mode.
 */
#include "pprof.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "heapprof/error.h"
#include "profile.pb-c.h"

typedef Heapprof__Pprof__Profile profile_t;
typedef Heapprof__Pprof__ValueType valtype_t;
typedef Heapprof__Pprof__Sample sample_t;
typedef Heapprof__Pprof__Mapping mapping_t;
typedef Heapprof__Pprof__Location location_t;
typedef Heapprof__Pprof__Line line_t;
typedef Heapprof__Pprof__Function function_t;

/* String -> index map (open addressing); keys owned. */
typedef struct strmap_s {
    char **keys;
    uint64_t *vals;
    size_t cap, len;
} strmap_t;

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h ^ (h >> 31);
}

static void strmap_free(strmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static int strmap_grow(strmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    char **keys = calloc(cap, sizeof(*keys));
    uint64_t *vals = calloc(cap, sizeof(*vals));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return HP_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t h = (size_t)hash_bytes(m->keys[i]) & (cap - 1);
        while (keys[h])
            h = (h + 1) & (cap - 1);
        keys[h] = m->keys[i];
        vals[h] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

/* Finds key; returns 1 and sets *val if present, else 0 and *slot. */
static int strmap_find(strmap_t *m, const char *key, uint64_t *val, size_t *slot)
{
    size_t h = (size_t)hash_bytes(key) & (m->cap - 1);
    while (m->keys[h]) {
        if (strcmp(m->keys[h], key) == 0) {
            *val = m->vals[h];
            return 1;
        }
        h = (h + 1) & (m->cap - 1);
    }
    *slot = h;
    return 0;
}

static int strmap_put(strmap_t *m, size_t slot, const char *key, uint64_t val)
{
    m->keys[slot] = strdup(key);
    if (!m->keys[slot])
        return HP_ERR_NOMEM;
    m->vals[slot] = val;
    m->len++;
    return 0;
}

/* A growable array of pointers. */
typedef struct vec_s {
    void **v;
    size_t n, cap;
} vec_t;

static int vec_push(vec_t *v, void *p)
{
    if (!p)
        return HP_ERR_NOMEM;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void **nv = realloc(v->v, cap * sizeof(*nv));
        if (!nv)
            return HP_ERR_NOMEM;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = p;
    return 0;
}

typedef struct builder_s {
    strmap_t strs, funcs, locs, maps;
    vec_t strings; /* char *, the string table, owned */
    vec_t functions, locations, mappings, samples;
} builder_t;

/* Index of s in the string table, adding it when new; -1 when out of memory. */
static int64_t str_id(builder_t *b, const char *s)
{
    uint64_t v;
    size_t slot;
    if (!s)
        s = "";
    if ((b->strs.len + 1) * 2 > b->strs.cap && strmap_grow(&b->strs) < 0)
        return -1;
    if (strmap_find(&b->strs, s, &v, &slot))
        return (int64_t)v;
    char *copy = strdup(s);
    if (!copy || vec_push(&b->strings, copy) < 0) {
        free(copy);
        return -1;
    }
    if (strmap_put(&b->strs, slot, s, b->strings.n - 1) < 0)
        return -1;
    return (int64_t)(b->strings.n - 1);
}

static const char *frame_fn_name(const hp_frame_t *f, char *buf, size_t len)
{
    if (f->function && f->function[0])
        return f->function;
    if (f->module && f->module[0]) {
        const char *base = strrchr(f->module, '/');
        snprintf(buf, len, "%s+0x%llx", base ? base + 1 : f->module, (unsigned long long)f->offset);
    } else {
        snprintf(buf, len, "0x%llx", (unsigned long long)f->pc);
    }
    return buf;
}

/* Id (>= 1) of the Function for frame f (or for the bare name when f is
 * NULL); 0 when out of memory. */
static uint64_t function_id(builder_t *b, const hp_frame_t *f, const char *bare)
{
    char nbuf[512], key[2048];
    const char *name = f ? frame_fn_name(f, nbuf, sizeof(nbuf)) : bare;
    const char *file = f && f->file ? f->file : "";
    uint64_t v;
    size_t slot;

    snprintf(key, sizeof(key), "%s\x01%s", name, file);
    if ((b->funcs.len + 1) * 2 > b->funcs.cap && strmap_grow(&b->funcs) < 0)
        return 0;
    if (strmap_find(&b->funcs, key, &v, &slot))
        return v;
    function_t *fn = malloc(sizeof(*fn));
    if (!fn)
        return 0;
    heapprof__pprof__function__init(fn);
    fn->id = b->functions.n + 1;
    fn->name = str_id(b, name);
    fn->system_name = fn->name;
    fn->filename = str_id(b, file);
    if (fn->name < 0 || fn->filename < 0 || vec_push(&b->functions, fn) < 0) {
        free(fn);
        return 0;
    }
    if (strmap_put(&b->funcs, slot, key, fn->id) < 0)
        return 0;
    return fn->id;
}

/* Id (>= 1) of the Mapping of f's module, widened to cover f's pc; 0 when
 * f has no module or out of memory (*oom set). */
static uint64_t mapping_id(builder_t *b, const hp_frame_t *f, int *oom)
{
    uint64_t v;
    size_t slot;
    mapping_t *m;

    if (!f->module || !f->module[0])
        return 0;
    if ((b->maps.len + 1) * 2 > b->maps.cap && strmap_grow(&b->maps) < 0)
        goto nomem;
    /* Modules load on page boundaries; the recorded offset may be that of
     * pc - 1 (a return address looked up inside its call), so round. */
    uint64_t bias = (f->pc >= f->offset ? f->pc - f->offset : 0) & ~(uint64_t)0xfff;
    if (strmap_find(&b->maps, f->module, &v, &slot)) {
        m = b->mappings.v[v - 1];
    } else {
        m = malloc(sizeof(*m));
        if (!m)
            goto nomem;
        heapprof__pprof__mapping__init(m);
        m->id = b->mappings.n + 1;
        m->memory_start = bias;
        m->memory_limit = f->pc + 1;
        m->filename = str_id(b, f->module);
        m->build_id = str_id(b, f->build_id ? f->build_id : "");
        m->has_functions = 1;
        m->has_filenames = 1;
        m->has_line_numbers = 1;
        m->has_inline_frames = 1;
        if (m->filename < 0 || m->build_id < 0 || vec_push(&b->mappings, m) < 0) {
            free(m);
            goto nomem;
        }
        if (strmap_put(&b->maps, slot, f->module, m->id) < 0)
            goto nomem;
    }
    if (bias < m->memory_start)
        m->memory_start = bias;
    if (f->pc + 1 > m->memory_limit)
        m->memory_limit = f->pc + 1;
    return m->id;
nomem:
    *oom = 1;
    return 0;
}

/* Id (>= 1) of the Location of frames[0..n) (one address: n-1 inlined
 * frames then their container), 0 when out of memory. frames NULL: the
 * placeholder location of a site without a stack. */
static uint64_t location_id(builder_t *b, const hp_frame_t *frames, size_t n)
{
    char key[1024];
    uint64_t v;
    size_t slot;
    const hp_frame_t *outer = frames ? &frames[n - 1] : NULL;
    int oom = 0;

    if (outer)
        snprintf(key, sizeof(key), "%s\x01%llx", outer->module ? outer->module : "",
                 (unsigned long long)outer->pc);
    else
        snprintf(key, sizeof(key), "\x02unknown");
    if ((b->locs.len + 1) * 2 > b->locs.cap && strmap_grow(&b->locs) < 0)
        return 0;
    if (strmap_find(&b->locs, key, &v, &slot))
        return v;
    location_t *loc = calloc(1, sizeof(*loc));
    if (!loc)
        return 0;
    heapprof__pprof__location__init(loc);
    loc->id = b->locations.n + 1;
    if (vec_push(&b->locations, loc) < 0) {
        free(loc);
        return 0;
    }
    loc->n_line = frames ? n : 1;
    loc->line = calloc(loc->n_line, sizeof(*loc->line));
    if (!loc->line)
        return 0;
    for (size_t i = 0; i < loc->n_line; i++) {
        line_t *ln = malloc(sizeof(*ln));
        if (!ln)
            return 0;
        heapprof__pprof__line__init(ln);
        loc->line[i] = ln;
        ln->function_id = function_id(b, frames ? &frames[i] : NULL, "[unknown stack]");
        ln->line = frames ? frames[i].line : 0;
        if (!ln->function_id)
            return 0;
    }
    if (outer) {
        loc->address = outer->pc;
        loc->mapping_id = mapping_id(b, outer, &oom);
        if (oom)
            return 0;
    }
    if (strmap_put(&b->locs, slot, key, loc->id) < 0)
        return 0;
    return loc->id;
}

static int64_t round_i64(double v)
{
    if (!isfinite(v) || v <= 0)
        return 0;
    if (v >= 9.2e18)
        return INT64_MAX;
    return (int64_t)llround(v);
}

static int add_sample(builder_t *b, const hp_site_t *s, int peak)
{
    int64_t vals[4] = {
        round_i64(s->allocations),
        round_i64(s->allocated_bytes),
        round_i64(peak ? s->peak_blocks : s->leaked_blocks),
        round_i64(peak ? s->peak_bytes : s->leaked_bytes),
    };
    if (!vals[0] && !vals[1] && !vals[2] && !vals[3])
        return 0;
    sample_t *sm = malloc(sizeof(*sm));
    if (!sm)
        return HP_ERR_NOMEM;
    heapprof__pprof__sample__init(sm);
    if (vec_push(&b->samples, sm) < 0) {
        free(sm);
        return HP_ERR_NOMEM;
    }
    sm->value = malloc(sizeof(vals));
    sm->location_id = malloc((s->nframes ? s->nframes : 1) * sizeof(uint64_t));
    if (!sm->value || !sm->location_id)
        return HP_ERR_NOMEM;
    memcpy(sm->value, vals, sizeof(vals));
    sm->n_value = 4;
    if (s->nframes == 0) {
        sm->location_id[sm->n_location_id] = location_id(b, NULL, 0);
        if (!sm->location_id[sm->n_location_id++])
            return HP_ERR_NOMEM;
        return 0;
    }
    /* Inlined frames (inlined = 1) belong to the Location of the first
     * non-inlined frame after them. */
    size_t i = 0;
    while (i < s->nframes) {
        size_t j = i;
        while (j + 1 < s->nframes && s->frames[j].inlined)
            j++;
        uint64_t id = location_id(b, &s->frames[i], j - i + 1);
        if (!id)
            return HP_ERR_NOMEM;
        sm->location_id[sm->n_location_id++] = id;
        i = j + 1;
    }
    return 0;
}

static void builder_free(builder_t *b)
{
    for (size_t i = 0; i < b->samples.n; i++) {
        sample_t *s = b->samples.v[i];
        free(s->value);
        free(s->location_id);
        free(s);
    }
    for (size_t i = 0; i < b->locations.n; i++) {
        location_t *l = b->locations.v[i];
        if (l->line)
            for (size_t k = 0; k < l->n_line; k++)
                free(l->line[k]);
        free(l->line);
        free(l);
    }
    for (size_t i = 0; i < b->functions.n; i++)
        free(b->functions.v[i]);
    for (size_t i = 0; i < b->mappings.n; i++)
        free(b->mappings.v[i]);
    for (size_t i = 0; i < b->strings.n; i++)
        free(b->strings.v[i]);
    free(b->samples.v);
    free(b->locations.v);
    free(b->functions.v);
    free(b->mappings.v);
    free(b->strings.v);
    strmap_free(&b->strs);
    strmap_free(&b->funcs);
    strmap_free(&b->locs);
    strmap_free(&b->maps);
}

int hp_pprof_write(const char *path, const hp_analysis_t *a, int peak)
{
    builder_t b;
    profile_t p = HEAPPROF__PPROF__PROFILE__INIT;
    valtype_t types[4], period_type;
    valtype_t *type_ptrs[4];
    int64_t comments[2];
    static const char *names[4][2] = {
        {"alloc_objects", "count"},
        {"alloc_space", "bytes"},
        {"inuse_objects", "count"},
        {"inuse_space", "bytes"},
    };
    uint8_t *buf = NULL;
    gzFile gz = NULL;
    char text[512];
    int rc = HP_ERR_NOMEM;

    memset(&b, 0, sizeof(b));
    if (str_id(&b, "") != 0)
        goto out;
    for (int i = 0; i < 4; i++) {
        heapprof__pprof__value_type__init(&types[i]);
        types[i].type = str_id(&b, names[i][0]);
        types[i].unit = str_id(&b, names[i][1]);
        if (types[i].type < 0 || types[i].unit < 0)
            goto out;
        type_ptrs[i] = &types[i];
    }
    heapprof__pprof__value_type__init(&period_type);
    period_type.type = str_id(&b, "space");
    period_type.unit = str_id(&b, "bytes");

    /* The main executable's mapping first: readers treat mapping 0 as the
     * program. */
    if (a->exe) {
        const char *eb = strrchr(a->exe, '/');
        eb = eb ? eb + 1 : a->exe;
        for (size_t i = 0; i < a->nsites && b.mappings.n == 0; i++)
            for (size_t k = 0; k < a->sites[i].nframes; k++) {
                const hp_frame_t *f = &a->sites[i].frames[k];
                const char *mb = f->module ? strrchr(f->module, '/') : NULL;
                mb = mb ? mb + 1 : f->module;
                if (mb && !strcmp(mb, eb)) {
                    int oom = 0;
                    mapping_id(&b, f, &oom);
                    if (oom)
                        goto out;
                    break;
                }
            }
    }
    for (size_t i = 0; i < a->nsites; i++) {
        rc = add_sample(&b, &a->sites[i], peak);
        if (rc < 0)
            goto out;
    }
    rc = HP_ERR_NOMEM;

    snprintf(text, sizeof(text), "heapprof: %s (pid %u), inuse = %s", a->exe ? a->exe : "?", a->pid,
             peak ? "live at the peak" : "live at exit (leaked)");
    comments[0] = str_id(&b, text);
    snprintf(text, sizeof(text), "sampling: %s",
             a->rate <= 1 ? "every allocation recorded"
                          : "Poisson by bytes; values are unbiased estimates");
    comments[1] = str_id(&b, text);
    int64_t def = str_id(&b, "inuse_space");
    if (period_type.type < 0 || period_type.unit < 0 || comments[0] < 0 || comments[1] < 0 ||
        def < 0)
        goto out;

    p.n_sample_type = 4;
    p.sample_type = type_ptrs;
    p.n_sample = b.samples.n;
    p.sample = (sample_t **)b.samples.v;
    p.n_mapping = b.mappings.n;
    p.mapping = (mapping_t **)b.mappings.v;
    p.n_location = b.locations.n;
    p.location = (location_t **)b.locations.v;
    p.n_function = b.functions.n;
    p.function = (function_t **)b.functions.v;
    p.n_string_table = b.strings.n;
    p.string_table = (char **)b.strings.v;
    p.time_nanos = (int64_t)a->start_unix_ns;
    p.duration_nanos = a->end_ns > a->start_ns ? (int64_t)(a->end_ns - a->start_ns) : 0;
    p.period_type = &period_type;
    p.period = (int64_t)(a->rate ? a->rate : 1);
    p.n_comment = 2;
    p.comment = comments;
    p.default_sample_type = def;

    size_t len = heapprof__pprof__profile__get_packed_size(&p);
    buf = malloc(len ? len : 1);
    if (!buf)
        goto out;
    heapprof__pprof__profile__pack(&p, buf);

    rc = HP_ERR_IO;
    gz = gzopen(path, "wb");
    if (!gz)
        goto out;
    size_t off = 0;
    while (off < len) {
        unsigned chunk = len - off > (1u << 30) ? (1u << 30) : (unsigned)(len - off);
        int w = gzwrite(gz, buf + off, chunk);
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    rc = 0;
out:
    if (gz && gzclose(gz) != Z_OK && rc == 0)
        rc = HP_ERR_IO;
    free(buf);
    builder_free(&b);
    return rc;
}
