/*
 * symbols.c - offline symbolization of recorded pcs with elfutils' libdw.
 *
 * What it does: for a pc inside a module of the trace's module map, it opens
 * the module's file once (one Dwfl session per distinct path + build-id,
 * lazily, on the first pc that needs it), checks that the file's build-id is
 * the one the trace recorded, and answers function, file and line, with the
 * chain of inlined frames taken from the DWARF scopes (DW_TAG_subprogram and
 * DW_TAG_inlined_subroutine, the outer frames placed at the inlined call's
 * DW_AT_call_file / DW_AT_call_line). The containing function is found in a
 * per-CU index of function address ranges (built once per CU, including the
 * .cold parts of DW_AT_ranges), and the inlined chain by descending the
 * concrete inlined instances that hold the pc, so every level of nested
 * inlining appears at its own call line. Without DWARF it names the function
 * from .symtab or .dynsym (only when the pc lies inside the symbol's extent,
 * so a stripped module never yields a neighbour's name). C++ names are
 * demangled with the C++ runtime's __cxa_demangle. Separate debuginfo is
 * found by libdwfl's standard search: by build-id under
 * <dir>/.build-id/xx/rest.debug and by .gnu_debuglink, in the directories of
 * HEAPPROF_DEBUG_PATH (colon-separated, searched first), then beside the
 * file, in .debug/ and in /usr/lib/debug. Every answer is cached per
 * (module, file address), so a pc that occurs in many stacks costs one hash
 * probe after the first lookup (issue 3, item 1: 10^5 distinct frames in
 * seconds).
 *
 * What it does not do: it never reads the profiled process's memory (it is
 * offline), so a module without a file ([vdso], a deleted library) and a
 * module whose file no longer matches the recorded build-id keep
 * module+offset; such a module is reported once through the warn callback
 * ([vdso] silently). It does not fetch debuginfo over the network itself
 * (libdw may, when the user sets DEBUGINFOD_URLS). Strings it returns live
 * in its own arena until hp_symbols_free().
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* From the C++ runtime (the analyzer links -lstdc++): the Itanium C++ ABI
 * demangler. Returns a malloc'd string or NULL. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define ARENA_CHUNK (64u * 1024u)
#define MAX_INLINE 32 /* deepest inlined chain kept for one pc */

/* Bump allocator for interned strings. */
typedef struct chunk_s {
    struct chunk_s *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
} chunk_t;

/* A function symbol of a module, for the sorted table below. */
typedef struct fsym_s {
    uint64_t addr, size;
    const char *name; /* in the module's ELF data, valid while its Dwfl is */
    int rank;         /* preference among aliases: global 0, weak 1, local 2 */
} fsym_t;

/* One address range of a function (DW_TAG_subprogram) of a CU. */
typedef struct frange_s {
    uint64_t lo, hi; /* [lo, hi), DWARF addresses */
    Dwarf_Die die;
} frange_t;

/* The functions of one CU sorted by address, built on the first pc in the
 * CU: dwarf_getscopes walks the whole CU from its root for every pc, this
 * index walks it once. */
typedef struct cuindex_s {
    Dwarf_Off off;    /* the CU DIE's offset; key */
    frange_t *r;
    size_t n;
} cuindex_t;

/* Module states. */
enum { MOD_UNOPENED = 0, MOD_OK, MOD_UNUSABLE };

typedef struct modcache_s {
    const char *path;       /* interned */
    uint8_t *build_id;      /* recorded, malloc'd copy; NULL when none */
    size_t build_id_len;
    const char *build_hex;  /* interned hex of build_id, NULL when none */
    uint64_t hash;
    int state;
    Dwfl *dwfl;
    Dwfl_Module *mod;
    /* The symbol table sorted by address, built on first need: libdwfl's
     * dwfl_module_addrinfo scans every symbol on each call. */
    fsym_t *syms;
    size_t nsyms;
    int syms_built;
    /* CU indexes, open addressing on the CU offset. */
    cuindex_t *cus;
    size_t ncus, cucap;
} modcache_t;

/* Per-pc cache entry: frames[first .. first + n) of the frame store. */
typedef struct pcent_s {
    uint64_t addr;          /* file address (pc - bias) */
    uint32_t mod;           /* index + 1 in mods; 0 = empty slot */
    uint32_t n;
    size_t first;
} pcent_t;

struct hp_symbols_s {
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
    char *debuginfo_path;   /* for Dwfl_Callbacks, lives as long as s */
    Dwfl_Callbacks cb;

    chunk_t *chunks;

    /* Interned strings: open addressing on (hash, pointer). */
    const char **strs;
    size_t nstrs, strcap;

    modcache_t *mods;
    size_t nmods, modcap;
    uint32_t *modidx;       /* hash slots: index + 1, 0 = empty */
    size_t modidxcap;

    pcent_t *pcs;
    size_t npcs, pccap;

    hp_frame_t *frames;     /* cached frames; pc/offset filled at lookup */
    size_t nframes, framecap;
};

/* ---- arena and interning ---- */

static void *arena_alloc(hp_symbols_t *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!s->chunks || s->chunks->cap - s->chunks->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        chunk_t *c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = s->chunks;
        c->used = 0;
        c->cap = cap;
        s->chunks = c;
    }
    void *p = (char *)s->chunks->data + s->chunks->used;
    s->chunks->used += n;
    return p;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define HASH_SEED 0xcbf29ce484222325ull

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Returns the arena copy of str (NUL-terminated, len bytes), or NULL when
 * out of memory. Equal strings return the same pointer. */
static const char *intern_n(hp_symbols_t *s, const char *str, size_t len)
{
    if (s->nstrs * 2 >= s->strcap) {
        size_t cap = s->strcap ? s->strcap * 2 : 1024;
        const char **t = calloc(cap, sizeof(*t));
        if (!t)
            return NULL;
        for (size_t i = 0; i < s->strcap; i++) {
            const char *o = s->strs[i];
            if (!o)
                continue;
            size_t j = hash_bytes(o, strlen(o), HASH_SEED) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = o;
        }
        free(s->strs);
        s->strs = t;
        s->strcap = cap;
    }
    size_t j = hash_bytes(str, len, HASH_SEED) & (s->strcap - 1);
    for (; s->strs[j]; j = (j + 1) & (s->strcap - 1)) {
        const char *o = s->strs[j];
        if (strncmp(o, str, len) == 0 && o[len] == '\0')
            return o;
    }
    char *copy = arena_alloc(s, len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, str, len);
    copy[len] = '\0';
    s->strs[j] = copy;
    s->nstrs++;
    return copy;
}

static const char *intern(hp_symbols_t *s, const char *str)
{
    return str ? intern_n(s, str, strlen(str)) : NULL;
}

/* Interns the demangled form of name when it is a mangled C++ name. */
static const char *intern_symbol(hp_symbols_t *s, const char *name)
{
    if (!name || !*name)
        return NULL;
    if (name[0] == '_' && name[1] == 'Z') {
        int status = -1;
        char *d = __cxa_demangle(name, NULL, NULL, &status);
        if (d && status == 0) {
            const char *r = intern(s, d);
            free(d);
            return r;
        }
        free(d);
    }
    return intern(s, name);
}

static void warnf(hp_symbols_t *s, const char *fmt, ...)
{
    if (!s->warn)
        return;
    char msg[HP_MAX_PATH + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->warn(s->warn_ctx, msg);
}

/* ---- life cycle ---- */

hp_symbols_t *hp_symbols_new(void (*warn)(void *ctx, const char *msg), void *ctx)
{
    hp_symbols_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->warn = warn;
    s->warn_ctx = ctx;

    /* Directories of HEAPPROF_DEBUG_PATH first, then libdwfl's defaults:
     * beside the file, its .debug/ subdirectory, /usr/lib/debug. */
    const char *extra = getenv("HEAPPROF_DEBUG_PATH");
    const char *dflt = ":.debug:/usr/lib/debug";
    size_t n = (extra ? strlen(extra) + 1 : 0) + strlen(dflt) + 1;
    s->debuginfo_path = malloc(n);
    if (!s->debuginfo_path) {
        free(s);
        return NULL;
    }
    snprintf(s->debuginfo_path, n, "%s%s%s", extra && *extra ? extra : "",
             extra && *extra ? ":" : "", dflt);
    s->cb.find_elf = dwfl_build_id_find_elf;
    s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
    s->cb.section_address = dwfl_offline_section_address;
    s->cb.debuginfo_path = &s->debuginfo_path;
    return s;
}

void hp_symbols_free(hp_symbols_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nmods; i++) {
        if (s->mods[i].dwfl)
            dwfl_end(s->mods[i].dwfl);
        free(s->mods[i].build_id);
        free(s->mods[i].syms);
        for (size_t k = 0; k < s->mods[i].cucap; k++)
            free(s->mods[i].cus[k].r);
        free(s->mods[i].cus);
    }
    free(s->mods);
    free(s->modidx);
    free(s->pcs);
    free(s->frames);
    free(s->strs);
    free(s->debuginfo_path);
    for (chunk_t *c = s->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(s);
}

/* ---- modules ---- */

static uint64_t module_hash(const hp_module_t *m)
{
    uint64_t h = hash_bytes(m->path, strlen(m->path), HASH_SEED);
    if (m->build_id)
        h = hash_bytes(m->build_id, m->build_id_len, h ^ 0x9e37u);
    return h;
}

static int module_equal(const modcache_t *c, const hp_module_t *m)
{
    size_t idlen = m->build_id ? m->build_id_len : 0;
    return strcmp(c->path, m->path) == 0 && c->build_id_len == idlen &&
           (idlen == 0 || memcmp(c->build_id, m->build_id, idlen) == 0);
}

static int modidx_grow(hp_symbols_t *s)
{
    size_t cap = s->modidxcap ? s->modidxcap * 2 : 64;
    uint32_t *t = calloc(cap, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < s->nmods; i++) {
        size_t j = s->mods[i].hash & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(i + 1);
    }
    free(s->modidx);
    s->modidx = t;
    s->modidxcap = cap;
    return 0;
}

/* Returns the cache entry index of m, creating it (unopened), or -1 when out
 * of memory. */
static long module_find(hp_symbols_t *s, const hp_module_t *m)
{
    uint64_t h = module_hash(m);
    if (s->modidxcap) {
        for (size_t j = h & (s->modidxcap - 1); s->modidx[j];
             j = (j + 1) & (s->modidxcap - 1)) {
            modcache_t *c = &s->mods[s->modidx[j] - 1];
            if (c->hash == h && module_equal(c, m))
                return (long)s->modidx[j] - 1;
        }
    }
    if ((s->nmods + 1) * 2 > s->modidxcap && modidx_grow(s) < 0)
        return -1;
    if (s->nmods == s->modcap) {
        size_t cap = s->modcap ? s->modcap * 2 : 16;
        modcache_t *t = realloc(s->mods, cap * sizeof(*t));
        if (!t)
            return -1;
        s->mods = t;
        s->modcap = cap;
    }
    modcache_t c = { .hash = h, .state = MOD_UNOPENED };
    c.path = intern(s, m->path);
    if (!c.path)
        return -1;
    if (m->build_id && m->build_id_len) {
        c.build_id = malloc(m->build_id_len);
        char *hex = malloc(m->build_id_len * 2 + 1);
        if (!c.build_id || !hex) {
            free(c.build_id);
            free(hex);
            return -1;
        }
        memcpy(c.build_id, m->build_id, m->build_id_len);
        c.build_id_len = m->build_id_len;
        for (size_t i = 0; i < m->build_id_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", m->build_id[i]);
        c.build_hex = intern(s, hex);
        free(hex);
    }
    size_t idx = s->nmods++;
    s->mods[idx] = c;
    size_t j = h & (s->modidxcap - 1);
    while (s->modidx[j])
        j = (j + 1) & (s->modidxcap - 1);
    s->modidx[j] = (uint32_t)(idx + 1);
    return (long)idx;
}

/* Modules the kernel maps without a file: no warning, module+offset. */
static int is_fileless(const char *path)
{
    return !*path || path[0] == '[' || strcmp(path, "linux-vdso.so.1") == 0 ||
           strcmp(path, "linux-gate.so.1") == 0;
}

static void hex_of(const uint8_t *id, size_t n, char *out, size_t outlen)
{
    size_t i = 0;
    for (; i < n && 2 * i + 2 < outlen; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
    out[2 * i] = '\0';
}

/* Opens c's file into its own Dwfl session, at file addresses (ET_DYN at
 * base 0, ET_EXEC where it is linked), and checks its build-id. On any
 * failure the module becomes MOD_UNUSABLE (warned once, [vdso] silently). */
static void module_open(hp_symbols_t *s, modcache_t *c)
{
    c->state = MOD_UNUSABLE;
    if (is_fileless(c->path))
        return;
    /* O_NONBLOCK: a path naming a FIFO (a hostile trace) must not hang. */
    int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        warnf(s, "%s: cannot open (%s); frames left as module+offset", c->path,
              strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        warnf(s, "%s: not a regular file; frames left as module+offset", c->path);
        return;
    }
    c->dwfl = dwfl_begin(&s->cb);
    if (!c->dwfl) {
        close(fd);
        warnf(s, "%s: %s; frames left as module+offset", c->path, dwfl_errmsg(-1));
        return;
    }
    dwfl_report_begin(c->dwfl);
    /* dwfl_report_elf consumes fd on success only. */
    Dwfl_Module *mod = dwfl_report_elf(c->dwfl, c->path, c->path, fd, 0, true);
    if (!mod) {
        close(fd);
        warnf(s, "%s: not a usable ELF file (%s); frames left as module+offset",
              c->path, dwfl_errmsg(-1));
        goto fail;
    }
    if (dwfl_report_end(c->dwfl, NULL, NULL) != 0) {
        warnf(s, "%s: %s; frames left as module+offset", c->path, dwfl_errmsg(-1));
        goto fail;
    }
    if (c->build_id_len) {
        const unsigned char *bits = NULL;
        GElf_Addr vaddr;
        int n = dwfl_module_build_id(mod, &bits, &vaddr);
        if (n <= 0 || (size_t)n != c->build_id_len ||
            memcmp(bits, c->build_id, (size_t)n) != 0) {
            char disk[2 * HP_MAX_BUILD_ID + 1] = "none";
            if (n > 0)
                hex_of(bits, (size_t)n, disk, sizeof disk);
            warnf(s,
                  "%s: build-id on disk differs from the trace (trace %s, disk %s); "
                  "frames left as module+offset",
                  c->path, c->build_hex, disk);
            goto fail;
        }
    }
    Dwarf_Addr bias;
    int have_dwarf = dwfl_module_getdwarf(mod, &bias) != NULL;
    if (!have_dwarf && dwfl_module_getsymtab(mod) <= 0) {
        warnf(s, "%s: no debug info and no symbol table; frames left as module+offset",
              c->path);
        goto fail;
    }
    c->mod = mod;
    c->state = MOD_OK;
    return;
fail:
    dwfl_end(c->dwfl);
    c->dwfl = NULL;
}

/* ---- sorted symbol tables ---- */

static int fsym_cmp(const void *a, const void *b)
{
    const fsym_t *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return strcmp(x->name, y->name);
}

/* Collects c's sized function symbols (.symtab, else .dynsym, and
 * .gnu_debugdata) at file addresses, sorted. Out of memory leaves the
 * table empty: names then come from DWARF only. */
static void syms_build(modcache_t *c)
{
    c->syms_built = 1;
    int n = dwfl_module_getsymtab(c->mod);
    if (n <= 0)
        return;
    c->syms = malloc((size_t)n * sizeof(*c->syms));
    if (!c->syms)
        return;
    for (int i = 0; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        const char *name = dwfl_module_getsym_info(c->mod, i, &sym, &addr, &shndx, NULL, NULL);
        if (!name || !*name || sym.st_size == 0 || sym.st_shndx == SHN_UNDEF)
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
            continue;
        int bind = GELF_ST_BIND(sym.st_info);
        fsym_t *f = &c->syms[c->nsyms++];
        f->addr = addr;
        f->size = sym.st_size;
        f->name = name;
        f->rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    }
    qsort(c->syms, c->nsyms, sizeof(*c->syms), fsym_cmp);
}

/* The name of the function symbol whose extent holds addr, or NULL. */
static const char *syms_lookup(modcache_t *c, uint64_t addr)
{
    if (!c->syms_built)
        syms_build(c);
    size_t lo = 0, hi = c->nsyms;
    while (lo < hi) { /* first symbol above addr */
        size_t mid = lo + (hi - lo) / 2;
        if (c->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Walk down over a few candidates: the nearest start first, and among
     * aliases at one address the preferred one (sorted first). */
    const char *best = NULL;
    uint64_t best_addr = 0;
    for (size_t k = lo, steps = 0; k > 0 && steps < 16; k--, steps++) {
        const fsym_t *f = &c->syms[k - 1];
        if (best && f->addr != best_addr)
            break;
        if (addr - f->addr < f->size) {
            best = f->name;
            best_addr = f->addr;
        }
    }
    return best;
}

/* ---- per-CU function index ---- */

typedef struct rvec_s {
    frange_t *v;
    size_t n, cap;
    int oom;
} rvec_t;

static void rvec_push(rvec_t *rv, uint64_t lo, uint64_t hi, Dwarf_Die *die)
{
    if (rv->oom || lo >= hi)
        return;
    if (rv->n == rv->cap) {
        size_t cap = rv->cap ? rv->cap * 2 : 64;
        frange_t *t = realloc(rv->v, cap * sizeof(*t));
        if (!t) {
            rv->oom = 1;
            return;
        }
        rv->v = t;
        rv->cap = cap;
    }
    rv->v[rv->n++] = (frange_t){ .lo = lo, .hi = hi, .die = *die };
}

/* Collects the ranges of the subprograms under parent: in namespaces and
 * classes too, not inside functions (a nested function is found by the
 * walk inside its parent, scope_chain). */
static void collect_functions(Dwarf_Die *parent, rvec_t *rv, int depth)
{
    Dwarf_Die child;
    if (depth > 64 || dwarf_child(parent, &child) != 0)
        return;
    do {
        int tag = dwarf_tag(&child);
        if (tag == DW_TAG_subprogram) {
            Dwarf_Addr base, lo, hi;
            ptrdiff_t off = 0;
            while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
                rvec_push(rv, lo, hi, &child);
        } else if (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
                   tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
                   tag == DW_TAG_module) {
            collect_functions(&child, rv, depth + 1);
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

static int frange_cmp(const void *a, const void *b)
{
    const frange_t *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* The index of cu in c, built on first need; NULL when out of memory. */
static cuindex_t *cu_index(modcache_t *c, Dwarf_Die *cu)
{
    Dwarf_Off off = dwarf_dieoffset(cu);
    if ((c->ncus + 1) * 2 > c->cucap) {
        size_t cap = c->cucap ? c->cucap * 2 : 64;
        cuindex_t *t = calloc(cap, sizeof(*t));
        if (!t)
            return NULL;
        for (size_t i = 0; i < c->cucap; i++) {
            if (!c->cus[i].r)
                continue;
            size_t j = mix64(c->cus[i].off) & (cap - 1);
            while (t[j].r)
                j = (j + 1) & (cap - 1);
            t[j] = c->cus[i];
        }
        free(c->cus);
        c->cus = t;
        c->cucap = cap;
    }
    size_t j = mix64(off) & (c->cucap - 1);
    for (; c->cus[j].r; j = (j + 1) & (c->cucap - 1))
        if (c->cus[j].off == off)
            return &c->cus[j];
    rvec_t rv = { 0 };
    collect_functions(cu, &rv, 0);
    if (rv.oom) {
        free(rv.v);
        return NULL;
    }
    if (!rv.v) /* an empty index still needs a non-NULL marker */
        rv.v = malloc(sizeof(*rv.v));
    if (!rv.v)
        return NULL;
    qsort(rv.v, rv.n, sizeof(*rv.v), frange_cmp);
    c->cus[j] = (cuindex_t){ .off = off, .r = rv.v, .n = rv.n };
    c->ncus++;
    return &c->cus[j];
}

/* The innermost function of idx whose range holds addr, or NULL. */
static Dwarf_Die *cu_function(cuindex_t *idx, uint64_t addr)
{
    size_t lo = 0, hi = idx->n;
    while (lo < hi) { /* first range starting above addr */
        size_t mid = lo + (hi - lo) / 2;
        if (idx->r[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo, steps = 0; k > 0 && steps < 64; k--, steps++)
        if (addr < idx->r[k - 1].hi)
            return &idx->r[k - 1].die;
    return NULL;
}

/* The scopes holding addr inside function fn, innermost first, fn last,
 * into chain (at most max). Returns how many. */
static int scope_chain(Dwarf_Die *fn, uint64_t addr, Dwarf_Die *chain, int max)
{
    Dwarf_Die path[MAX_INLINE * 4];
    int n = 0;
    path[n++] = *fn;
    for (;;) {
        Dwarf_Die child;
        int found = 0;
        if (n == (int)(sizeof path / sizeof path[0]) || dwarf_child(&path[n - 1], &child) != 0)
            break;
        do {
            int tag = dwarf_tag(&child);
            if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
                 tag == DW_TAG_subprogram || tag == DW_TAG_try_block ||
                 tag == DW_TAG_catch_block || tag == DW_TAG_with_stmt) &&
                dwarf_haspc(&child, addr) > 0) {
                path[n++] = child;
                found = 1;
                break;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
        if (!found)
            break;
    }
    int k = 0;
    for (int i = n - 1; i >= 0 && k < max; i--)
        chain[k++] = path[i];
    return k;
}

/* ---- per-pc resolution ---- */

static int is_cxx(Dwarf_Die *cu)
{
    int lang = dwarf_srclang(cu);
    return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
           lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
}

/* name qualified by the namespaces and classes around the declaration of
 * die (for C++ functions that have no linkage name, such as static inline
 * ones: "ns::helper" rather than "helper"). NULL when it cannot tell. */
static const char *qualified_name(hp_symbols_t *s, Dwarf_Die *die, const char *name)
{
    Dwarf_Die decl = *die, next;
    Dwarf_Attribute attr;
    for (int k = 0; k < 8; k++) { /* to the declaration */
        if ((dwarf_attr(&decl, DW_AT_abstract_origin, &attr) ||
             dwarf_attr(&decl, DW_AT_specification, &attr)) &&
            dwarf_formref_die(&attr, &next))
            decl = next;
        else
            break;
    }
    Dwarf_Die *scopes = NULL;
    int n = dwarf_getscopes_die(&decl, &scopes);
    if (n <= 1) {
        free(scopes);
        return NULL;
    }
    char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    for (int i = n - 1; i >= 1; i--) { /* scopes[0] is decl itself */
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_namespace && tag != DW_TAG_class_type &&
            tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
            continue;
        const char *part = dwarf_diename(&scopes[i]);
        if (!part)
            part = tag == DW_TAG_namespace ? "(anonymous namespace)" : "(anonymous)";
        int w = snprintf(buf + len, sizeof buf - len, "%s::", part);
        if (w < 0 || (size_t)w >= sizeof buf - len) {
            free(scopes);
            return NULL;
        }
        len += (size_t)w;
    }
    free(scopes);
    if (len == 0)
        return NULL;
    int w = snprintf(buf + len, sizeof buf - len, "%s", name);
    if (w < 0 || (size_t)w >= sizeof buf - len)
        return NULL;
    return intern(s, buf);
}

static const char *die_function_name(hp_symbols_t *s, Dwarf_Die *die, Dwarf_Die *cu)
{
    Dwarf_Attribute attr;
    const char *name = NULL;
    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
        name = dwarf_formstring(&attr);
    if (name)
        return intern_symbol(s, name);
    name = dwarf_diename(die); /* follows abstract_origin / specification */
    if (name && is_cxx(cu)) {
        const char *q = qualified_name(s, die, name);
        if (q)
            return q;
    }
    return intern_symbol(s, name);
}

/* Interns file, made absolute with the CU's DW_AT_comp_dir when the line
 * table holds it relative to the compilation directory. */
static const char *intern_path(hp_symbols_t *s, Dwarf_Die *cu, const char *file)
{
    if (!file || !*file)
        return NULL;
    Dwarf_Attribute attr;
    const char *dir = NULL;
    if (file[0] != '/' && cu && dwarf_attr(cu, DW_AT_comp_dir, &attr))
        dir = dwarf_formstring(&attr);
    if (!dir || !*dir)
        return intern(s, file);
    char buf[HP_MAX_PATH];
    int n = snprintf(buf, sizeof buf, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                     file);
    if (n < 0 || (size_t)n >= sizeof buf)
        return intern(s, file);
    return intern(s, buf);
}

/* The call site of an inlined subroutine DIE, in its CU's file table. */
static void die_call_site(hp_symbols_t *s, Dwarf_Die *die, Dwarf_Die *cu,
                          const char **file, int *line)
{
    Dwarf_Attribute attr;
    Dwarf_Word v;
    *file = NULL;
    *line = 0;
    if (dwarf_attr(die, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &v) == 0)
        *line = (int)v;
    Dwarf_Files *files;
    size_t nfiles;
    if (dwarf_attr(die, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &v) == 0 &&
        dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
        *file = intern_path(s, cu, dwarf_filesrc(files, v, NULL, NULL));
}

static int push_frame(hp_symbols_t *s, const hp_frame_t *f)
{
    if (s->nframes == s->framecap) {
        size_t cap = s->framecap ? s->framecap * 2 : 4096;
        hp_frame_t *t = realloc(s->frames, cap * sizeof(*t));
        if (!t)
            return -1;
        s->frames = t;
        s->framecap = cap;
    }
    s->frames[s->nframes++] = *f;
    return 0;
}

/* Resolves file address addr of module c into the frame store. Returns the
 * number of frames pushed (0 when nothing is known: module+offset). */
static uint32_t resolve(hp_symbols_t *s, modcache_t *c, uint64_t addr)
{
    Dwfl_Module *mod = c->mod;
    hp_frame_t base = { .module = c->path, .build_id = c->build_hex };
    uint32_t pushed = 0;

    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);

    /* Line of the innermost frame, from the line table. */
    const char *src = NULL;
    int line = 0;
    Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
    if (dl) {
        const char *f = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
        src = intern_path(s, cu, f);
        if (!src)
            line = 0;
    }
    /* The function from the CU's index, then the scopes inside it; when
     * the index knows no function here (partial units, odd DWARF), libdw's
     * own walk of the whole CU. */
    Dwarf_Die chain[MAX_INLINE * 4];
    Dwarf_Die *scopes = NULL, *heap_scopes = NULL;
    int nscopes = 0;
    if (cu) {
        cuindex_t *idx = cu_index(c, cu);
        Dwarf_Die *fn = idx ? cu_function(idx, addr - bias) : NULL;
        if (fn) {
            nscopes = scope_chain(fn, addr - bias, chain, (int)(sizeof chain / sizeof chain[0]));
            scopes = chain;
        } else {
            nscopes = dwarf_getscopes(cu, addr - bias, &heap_scopes);
            scopes = heap_scopes;
        }
    }
    const char *file = src;
    int fline = line;
    for (int i = 0; i < nscopes && pushed < MAX_INLINE; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine &&
            tag != DW_TAG_entry_point)
            continue;
        hp_frame_t f = base;
        f.function = die_function_name(s, &scopes[i], cu);
        f.file = file;
        f.line = fline;
        f.inlined = tag == DW_TAG_inlined_subroutine;
        if (push_frame(s, &f) < 0)
            break;
        pushed++;
        if (tag != DW_TAG_inlined_subroutine)
            break;
        /* The next frame out is positioned at this inlined call. */
        die_call_site(s, &scopes[i], cu, &file, &fline);
    }
    free(heap_scopes);

    if (pushed && s->frames[s->nframes - 1].inlined) {
        /* The chain ended without its containing function (odd DWARF):
         * name it from the symbol table. */
        hp_frame_t f = base;
        f.function = intern_symbol(s, syms_lookup(c, addr));
        f.file = file;
        f.line = fline;
        if (push_frame(s, &f) == 0)
            pushed++;
    }
    if (pushed)
        return pushed;

    /* No DWARF scope: the symbol table (.symtab, else .dynsym, or
     * .gnu_debugdata). Only a symbol whose extent holds addr names it. */
    hp_frame_t f = base;
    f.function = intern_symbol(s, syms_lookup(c, addr));
    f.file = src;
    f.line = line;
    if (!f.function && !f.file)
        return 0;
    return push_frame(s, &f) == 0 ? 1 : 0;
}

static int pcs_grow(hp_symbols_t *s)
{
    size_t cap = s->pccap ? s->pccap * 2 : 4096;
    pcent_t *t = calloc(cap, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < s->pccap; i++) {
        pcent_t *e = &s->pcs[i];
        if (!e->mod)
            continue;
        size_t j = mix64(e->addr ^ ((uint64_t)e->mod << 48)) & (cap - 1);
        while (t[j].mod)
            j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    free(s->pcs);
    s->pcs = t;
    s->pccap = cap;
    return 0;
}

size_t hp_symbols_lookup(hp_symbols_t *s, const hp_module_t *m, uint64_t pc,
                         hp_frame_t *out, size_t max)
{
    if (!max)
        return 0;
    hp_frame_t plain = { .pc = pc, .offset = m ? pc - m->bias : pc };
    out[0] = plain;
    if (!s || !m || !m->path)
        return 1;

    long mi = module_find(s, m);
    if (mi < 0)
        return 1;
    modcache_t *c = &s->mods[mi];
    out[0].module = c->path;
    out[0].build_id = c->build_hex;
    if (c->state == MOD_UNOPENED)
        module_open(s, c);
    if (c->state != MOD_OK)
        return 1;

    uint64_t addr = pc - m->bias;
    uint32_t key = (uint32_t)mi + 1;
    if ((s->npcs + 1) * 2 > s->pccap && pcs_grow(s) < 0)
        return 1;
    size_t j = mix64(addr ^ ((uint64_t)key << 48)) & (s->pccap - 1);
    for (; s->pcs[j].mod; j = (j + 1) & (s->pccap - 1))
        if (s->pcs[j].mod == key && s->pcs[j].addr == addr)
            break;
    pcent_t *e = &s->pcs[j];
    if (!e->mod) {
        size_t first = s->nframes;
        uint32_t n = resolve(s, c, addr);
        e->mod = key;
        e->addr = addr;
        e->first = first;
        e->n = n;
        s->npcs++;
    }
    if (e->n == 0)
        return 1;
    size_t n = e->n < max ? e->n : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = s->frames[e->first + i];
        out[i].pc = pc;
        out[i].offset = addr;
    }
    return n;
}
