/*
 * model.c - replay of a trace into per-site numbers (model.h).
 *
 * hp_analysis_load() streams the events of a trace (trace_read.h) in global
 * time order and keeps: per pair (one (size, stack) under one id, indexed by
 * the reader's dense slot: a plain array, no hashing per event) its size,
 * weight, site and number of live blocks; and per site (one per stack id)
 * its weighted calls and bytes, live bytes and blocks, and temporary
 * allocations. Blocks of one pair are interchangeable (same size, stack and
 * weight), so a free of a pair retires any one of its live blocks. Memory is
 * proportional to the distinct pairs and stacks, never to the number of
 * events or of live blocks.
 *
 * Bytes at the global peak are attributed in one pass, O(1) per event, with a
 * lazy snapshot: a global "peak epoch" grows each time the live total reaches
 * a new maximum. Before a site's live figures change, if the site has not
 * been touched since the latest new maximum (its snapshot epoch differs), its
 * current live figures are exactly its share of that maximum, and are saved
 * with the epoch. At the end a site whose snapshot epoch is the final epoch
 * held its saved figures at the peak; any other site has not changed since
 * the peak, so its current live figures are its share.
 *
 * Weights (docs/sampling.md): 1 in full mode (rate 1); otherwise a sampled
 * allocation of s bytes stands for 1/(1-exp(-max(s,1)/rate)) allocations, and
 * its free removes the same weight. Temporary allocations are the FREE_TEMP
 * records, flagged by the recorder.
 *
 * Time is coarse (one tick per 1-4 ms) and the merge orders the events of a
 * tick by thread id, so a free by one thread can be met before the
 * allocation of its block by another thread in the same tick. A free of a
 * pair with no live block (or of a pair not defined yet) is therefore held
 * as pending on its pair and applied right after the pair's next
 * allocation, at that allocation's time (after the peak check: the block
 * was live in between). Pending frees left at the end are the unknown
 * frees, whose allocations the trace does not hold (a killed process's
 * allocating thread never wrote its buffer): the replay ignores them.
 *
 * On a machine with more than one CPU, reading the trace (decompression,
 * decoding, the merge of the threads) runs on a second thread that hands
 * batches of events, in trace order, to the model: same results, about half
 * the wall time on large traces.
 *
 * After the replay every site's stack is symbolized once (symbols.h) with
 * the module snapshot of the stack's generation, and the leading frames of
 * the allocator and of the profiler itself are trimmed, so the first frame
 * is the user's call site. This file does not format anything.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heapprof/error.h"
#include "model.h"
#include "symbols.h"
#include "trace_read.h"

#define MAX_INLINE 16 /* frames one pc may expand to */

typedef struct acc_s {
    uint32_t stack_id;
    double allocs, bytes;
    double live_bytes, live_blocks;
    double temp;
    double snap_bytes, snap_blocks;
    uint64_t snap_epoch;
} acc_t;

/* One pair: its blocks and the frees waiting for one of them. */
typedef struct pstate_s {
    uint64_t size;
    double weight;      /* allocations one record stands for */
    uint64_t live;      /* blocks live */
    uint64_t pend;      /* frees met while no block was live; after the
                           replay: lost blocks counted (scan) */
    uint64_t pend_temp; /* of pend, FREE_TEMP records */
    uint32_t site;      /* acc index + 1; 0 = never allocated */
    uint32_t pend_tid;  /* thread of the latest pending free */
} pstate_t;

typedef struct state_s {
    double rate;
    int full;
    /* pairs, by slot */
    pstate_t *pairs;
    size_t npairs;
    /* sites */
    acc_t *acc;
    size_t nacc, capacc;
    uint32_t *stab; /* stack id -> acc index + 1 */
    size_t stabcap;
    /* totals */
    double live_bytes, live_blocks;
    double peak_bytes, peak_blocks;
    uint64_t peak_ns, epoch;
    double temp;
    uint64_t samples;
    /* progress */
    int progress, shown;
    uint64_t t0_ms, shown_ms, start, last;
} state_t;

typedef struct priv_s {
    hp_symbols_t *sym;
    hp_frame_t *frames;
} priv_t;

/* The state of the pair at slot, the array grown (zeroed) to cover it;
 * NULL when out of memory. */
static pstate_t *pair_at(state_t *s, uint32_t slot)
{
    if (slot >= s->npairs) {
        size_t n = s->npairs ? s->npairs : 1024;
        while (n <= slot)
            n *= 2;
        pstate_t *np = realloc(s->pairs, n * sizeof(*np));
        if (!np)
            return NULL;
        memset(np + s->npairs, 0, (n - s->npairs) * sizeof(*np));
        s->pairs = np;
        s->npairs = n;
    }
    return &s->pairs[slot];
}

static size_t hash32(uint32_t v)
{
    return (size_t)(((uint64_t)v * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Index of the site of stack id, created when new; -1 when out of memory. */
static long site_get(state_t *s, uint32_t id)
{
    if (s->stabcap) {
        size_t mask = s->stabcap - 1;
        for (size_t i = hash32(id) & mask;; i = (i + 1) & mask) {
            uint32_t v = s->stab[i];
            if (!v)
                break;
            if (s->acc[v - 1].stack_id == id)
                return (long)(v - 1);
        }
    }
    if ((s->nacc + 1) * 2 > s->stabcap) {
        size_t cap = s->stabcap ? s->stabcap * 2 : 1024;
        uint32_t *tab = calloc(cap, sizeof(*tab));
        if (!tab)
            return -1;
        for (size_t i = 0; i < s->nacc; i++) {
            size_t k = hash32(s->acc[i].stack_id) & (cap - 1);
            while (tab[k])
                k = (k + 1) & (cap - 1);
            tab[k] = (uint32_t)(i + 1);
        }
        free(s->stab);
        s->stab = tab;
        s->stabcap = cap;
    }
    if (s->nacc == s->capacc) {
        size_t cap = s->capacc ? s->capacc * 2 : 256;
        acc_t *na = realloc(s->acc, cap * sizeof(*na));
        if (!na)
            return -1;
        s->acc = na;
        s->capacc = cap;
    }
    s->acc[s->nacc] = (acc_t){.stack_id = id, .snap_epoch = s->epoch};
    size_t k = hash32(id) & (s->stabcap - 1);
    while (s->stab[k])
        k = (k + 1) & (s->stabcap - 1);
    s->stab[k] = (uint32_t)(s->nacc + 1);
    return (long)s->nacc++;
}

/* Saves the site's share of the latest peak before its live figures change. */
static void touch(state_t *s, acc_t *a)
{
    if (a->snap_epoch != s->epoch) {
        a->snap_bytes = a->live_bytes;
        a->snap_blocks = a->live_blocks;
        a->snap_epoch = s->epoch;
    }
}

static double weight_of(const state_t *s, uint64_t size)
{
    if (s->full)
        return 1.0;
    double b = size ? (double)size : 1.0;
    return 1.0 / -expm1(-b / s->rate);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Retires one live block of pair p; temp: count a temporary. Fills *rev
 * (may be NULL) but its ts and tid. */
static void retire(state_t *s, pstate_t *p, int temp, hp_replay_event_t *rev)
{
    acc_t *a = &s->acc[p->site - 1];
    double bytes = p->weight * (double)p->size;
    touch(s, a);
    a->live_bytes -= bytes;
    a->live_blocks -= p->weight;
    s->live_bytes -= bytes;
    s->live_blocks -= p->weight;
    p->live--;
    if (temp) {
        a->temp += p->weight;
        s->temp += p->weight;
    }
    if (rev) {
        rev->is_alloc = 0;
        rev->stack_id = a->stack_id;
        rev->size = p->size;
        rev->weight = -bytes;
        rev->live_bytes = s->live_bytes;
    }
}

/* Applies one event to the model; calls fn (may be NULL) for it. Returns 0
 * or HP_ERR_NOMEM. */
static int apply(state_t *s, const hp_trace_event_t *ev, hp_replay_fn fn, void *ctx)
{
    hp_replay_event_t rev;
    pstate_t *p = pair_at(s, ev->slot);
    if (!p)
        return HP_ERR_NOMEM;
    if (ev->tag != HP_REC_ALLOC) {
        if (!p->live) {
            /* its allocation is later in the merge (or absent): hold it */
            p->pend++;
            p->pend_temp += ev->tag == HP_REC_FREE_TEMP;
            p->pend_tid = ev->tid;
            return 0;
        }
        retire(s, p, ev->tag == HP_REC_FREE_TEMP, fn ? &rev : NULL);
        if (fn) {
            rev.ts = ev->ts;
            rev.tid = ev->tid;
            fn(ctx, &rev);
        }
        return 0;
    }
    if (!p->site) {
        /* the pair's first allocation: its size and stack are the reader's */
        long si = site_get(s, ev->stack_id);
        if (si < 0)
            return HP_ERR_NOMEM;
        p->site = (uint32_t)si + 1;
        p->size = ev->size;
        p->weight = weight_of(s, ev->size);
    }
    acc_t *a = &s->acc[p->site - 1];
    double w = p->weight;
    double bytes = w * (double)p->size;
    touch(s, a);
    a->allocs += w;
    a->bytes += bytes;
    a->live_bytes += bytes;
    a->live_blocks += w;
    s->live_bytes += bytes;
    s->live_blocks += w;
    s->samples++;
    p->live++;
    if (s->live_bytes > s->peak_bytes) {
        s->peak_bytes = s->live_bytes;
        s->peak_blocks = s->live_blocks;
        s->peak_ns = ev->ts;
        s->epoch++;
    }
    if (fn) {
        rev = (hp_replay_event_t){.ts = ev->ts, .tid = ev->tid, .is_alloc = 1,
                                  .stack_id = a->stack_id, .size = p->size, .weight = bytes,
                                  .live_bytes = s->live_bytes};
        fn(ctx, &rev);
    }
    if (p->pend) {
        /* a free the merge met first: it freed this block (or one like it) */
        int temp = p->pend_temp > 0;
        p->pend--;
        p->pend_temp -= (uint64_t)temp;
        retire(s, p, temp, fn ? &rev : NULL);
        if (fn) {
            rev.ts = ev->ts;
            rev.tid = p->pend_tid;
            fn(ctx, &rev);
        }
    }
    return 0;
}

/* A progress line on a terminal for replays longer than a second. */
static void progress(state_t *s, uint64_t n, uint64_t ts)
{
    uint64_t ms = now_ms() - s->t0_ms;
    if (ms > 1000 && ms >= s->shown_ms + 250) { /* after 1 s, 4 times a second */
        s->shown_ms = ms;
        double pct = s->last > s->start && ts >= s->start
                         ? 100.0 * (double)(ts - s->start) / (double)(s->last - s->start)
                         : 0.0;
        fprintf(stderr, "\rheapanalyze: %.0f%% (%llu events)", pct, (unsigned long long)n);
        s->shown = 1;
    }
}

/*
 * Reading (decompression, decoding, the merge) and the model each take about
 * half of the time: with a second core they run as a pipeline. A reader
 * thread fills batches of events in trace order; the caller's thread applies
 * them in the same order, so the results are those of a serial replay.
 */
#define BATCH 8192
#define NBATCH 4

typedef struct batch_s {
    hp_trace_event_t ev[BATCH];
    size_t n;
    int rc;   /* after the batch: 1 more to come, 0 end, < 0 error */
    int full; /* filled by the reader, not yet applied */
} batch_t;

typedef struct pipe_s {
    hp_trace_t *t;
    batch_t *b; /* NBATCH */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop; /* the consumer gave up */
    char err[512];
} pipe_t;

static void *reader_main(void *arg)
{
    pipe_t *p = arg;
    for (size_t k = 0;; k = (k + 1) % NBATCH) {
        batch_t *b = &p->b[k];
        pthread_mutex_lock(&p->mu);
        while (b->full && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return NULL;
        int rc = 1;
        size_t n = 0;
        while (n < BATCH && (rc = hp_trace_next(p->t, &b->ev[n], p->err, sizeof(p->err))) == 1)
            n++;
        pthread_mutex_lock(&p->mu);
        b->n = n;
        b->rc = rc;
        b->full = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (rc != 1)
            return NULL;
    }
}

static int replay_serial(hp_trace_t *t, state_t *s, hp_replay_fn fn, void *ctx, char *err,
                         size_t errlen)
{
    hp_trace_event_t ev;
    uint64_t n = 0;
    int rc;
    while ((rc = hp_trace_next(t, &ev, err, errlen)) == 1) {
        if (s->progress && (++n & 0xFFFF) == 0)
            progress(s, n, ev.ts);
        if (apply(s, &ev, fn, ctx))
            return snprintf(err, errlen, "out of memory"), HP_ERR_NOMEM;
    }
    return rc;
}

static int replay_piped(hp_trace_t *t, state_t *s, hp_replay_fn fn, void *ctx, char *err,
                        size_t errlen)
{
    pipe_t p = {.t = t};
    pthread_t th;
    p.b = calloc(NBATCH, sizeof(batch_t));
    if (!p.b)
        return replay_serial(t, s, fn, ctx, err, errlen);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if (pthread_create(&th, NULL, reader_main, &p) != 0) {
        pthread_mutex_destroy(&p.mu);
        pthread_cond_destroy(&p.cv);
        free(p.b);
        return replay_serial(t, s, fn, ctx, err, errlen);
    }
    uint64_t n = 0;
    int rc = 0;
    for (size_t k = 0;; k = (k + 1) % NBATCH) {
        batch_t *b = &p.b[k];
        pthread_mutex_lock(&p.mu);
        while (!b->full)
            pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        for (size_t i = 0; i < b->n && !rc; i++)
            if (apply(s, &b->ev[i], fn, ctx))
                rc = HP_ERR_NOMEM;
        n += b->n;
        if (s->progress && b->n)
            progress(s, n, b->ev[b->n - 1].ts);
        int brc = b->rc;
        pthread_mutex_lock(&p.mu);
        b->full = 0;
        if (rc)
            p.stop = 1;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
        if (rc) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        if (brc != 1) {
            rc = brc;
            if (rc < 0)
                snprintf(err, errlen, "%s", p.err);
            break;
        }
    }
    pthread_join(th, NULL);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    free(p.b);
    return rc;
}

/*
 * Streams every event of t through the model; calls fn (may be NULL) per
 * allocation and free. Returns 0 or a negative hp_err with a message.
 */
static int replay(hp_trace_t *t, state_t *s, hp_replay_fn fn, void *ctx, char *err,
                  size_t errlen)
{
    const hp_file_header_t *h = hp_trace_header(t);
    s->start = h->start_ns;
    s->last = hp_trace_last_ts(t);
    s->rate = (double)h->rate;
    s->full = h->rate == 1;
    s->progress = isatty(2);
    s->t0_ms = now_ms();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = cpus > 1 && hp_trace_nframes(t) > 1 ? replay_piped(t, s, fn, ctx, err, errlen)
                                                  : replay_serial(t, s, fn, ctx, err, errlen);
    if (s->shown)
        fprintf(stderr, "\r\033[K");
    return rc;
}

static void state_free(state_t *s)
{
    free(s->pairs);
    free(s->acc);
    free(s->stab);
}

/* ---- symbolization ---- */

static int starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* 1 when f is a frame of the allocator or of the profiler itself. */
static int is_alloc_frame(const hp_frame_t *f)
{
    static const char *const names[] = {
        "malloc", "calloc", "realloc", "reallocarray", "free", "cfree", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size",
    };
    if (f->module) {
        const char *base = strrchr(f->module, '/');
        base = base ? base + 1 : f->module;
        if (starts(base, "libheapprof.so"))
            return 1;
    }
    const char *fn = f->function;
    if (!fn)
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(fn, names[i]) == 0)
            return 1;
    /* glibc internals, C++ operator new / new[] mangled and demangled */
    return starts(fn, "__libc_") || starts(fn, "__GI___libc_") || starts(fn, "_Znw") ||
           starts(fn, "_Zna") || starts(fn, "_ZnwmSt") || starts(fn, "operator new") ||
           starts(fn, "heapprof_");
}

/*
 * The end of f[from, n) once the C runtime's startup frames outside main
 * (__libc_start_call_main, __libc_start_main, _start) are cut off, as
 * valgrind hides the frames below main: they are the same in every stack of
 * the program and say nothing. Stacks that never pass through main (static
 * constructors, the dynamic loader, threads) keep every frame.
 */
static size_t below_main(const hp_frame_t *f, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        if (!f[i].inlined && f[i].function && strcmp(f[i].function, "main") == 0)
            return i + 1;
    return n;
}

static const hp_module_t *find_module(const hp_module_t *m, size_t n, uint64_t pc)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first module with start > pc */
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const hp_module_t *c = &m[lo - 1];
    return pc < c->end ? c : NULL;
}

static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "heapanalyze: warning: %s\n", msg);
}

typedef struct fvec_s {
    hp_frame_t *v;
    size_t n, cap;
} fvec_t;

static int fvec_reserve(fvec_t *f, size_t more)
{
    if (f->n + more <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 1024;
    while (cap < f->n + more)
        cap *= 2;
    hp_frame_t *nv = realloc(f->v, cap * sizeof(*nv));
    if (!nv)
        return HP_ERR_NOMEM;
    f->v = nv;
    f->cap = cap;
    return 0;
}

static int symbolize(hp_analysis_t *a, hp_trace_t *t, priv_t *pv, size_t *first)
{
    fvec_t fv = {0};
    hp_frame_t tmp[HP_MAX_FRAMES * 4];
    static const hp_frame_t unknown = {.function = "[unknown stack]"};
    for (size_t i = 0; i < a->nsites; i++) {
        hp_site_t *site = &a->sites[i];
        const hp_trace_stack_t *st = site->stack_id ? hp_trace_stack(t, site->stack_id) : NULL;
        first[i] = fv.n;
        if (!st || st->n == 0) {
            if (fvec_reserve(&fv, 1))
                return HP_ERR_NOMEM;
            fv.v[fv.n++] = unknown;
            site->nframes = 1;
            continue;
        }
        size_t nm;
        const hp_module_t *mods = hp_trace_modules(t, st->gen, &nm);
        size_t nt = 0;
        for (uint32_t k = 0; k < st->n && nt < sizeof(tmp) / sizeof(tmp[0]); k++) {
            uint64_t pc = st->pcs[k];
            uint64_t look = pc ? pc - 1 : 0; /* a return address: look at the call */
            const hp_module_t *m = find_module(mods, nm, look);
            size_t room = sizeof(tmp) / sizeof(tmp[0]) - nt;
            size_t got = hp_symbols_lookup(pv->sym, m, look, &tmp[nt],
                                           room < MAX_INLINE ? room : MAX_INLINE);
            for (size_t j = 0; j < got; j++)
                tmp[nt + j].pc = pc;
            nt += got;
        }
        size_t skip = 0;
        while (skip < nt && is_alloc_frame(&tmp[skip]))
            skip++;
        if (skip == nt)
            skip = 0; /* nothing but allocator frames: keep them all */
        nt = below_main(tmp, skip, nt);
        if (fvec_reserve(&fv, nt - skip))
            return HP_ERR_NOMEM;
        memcpy(&fv.v[fv.n], &tmp[skip], (nt - skip) * sizeof(hp_frame_t));
        fv.n += nt - skip;
        site->nframes = nt - skip;
    }
    pv->frames = fv.v;
    for (size_t i = 0; i < a->nsites; i++)
        a->sites[i].frames = fv.v ? &fv.v[first[i]] : NULL;
    return 0;
}

static int load(const char *path, hp_analysis_t **out, hp_replay_fn fn, void *ctx, char *err,
                size_t errlen)
{
    hp_trace_t *t = NULL;
    state_t s = {0};
    hp_analysis_t *a = NULL;
    priv_t *pv = NULL;
    size_t *first = NULL;
    char warning[512] = "";
    int rc = hp_trace_open(path, &t, err, errlen);
    if (rc)
        return rc;
    if (hp_trace_truncated(t))
        snprintf(warning, sizeof(warning), "%s: %s", path, hp_trace_warning(t));
    rc = replay(t, &s, fn, ctx, err, errlen);
    if (rc) {
        /* pass-2 messages name the frame and offset; add the file */
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", err);
        snprintf(err, errlen, "%s: %s", path, msg);
        goto out;
    }
    if (!out)
        goto out;
    a = calloc(1, sizeof(*a));
    pv = calloc(1, sizeof(*pv));
    if (!a || !pv) {
        rc = HP_ERR_NOMEM;
        goto out;
    }
    a->priv = pv;
    const hp_file_header_t *h = hp_trace_header(t);
    a->version = h->version;
    a->pid = h->pid;
    a->ppid = h->ppid;
    a->header_flags = h->flags;
    a->rate = h->rate;
    a->seed = h->seed;
    a->start_ns = h->start_ns;
    a->start_unix_ns = h->start_unix_ns;
    a->complete = hp_trace_complete(t, &a->end_ns);
    if (!a->complete || a->end_ns < hp_trace_last_ts(t))
        a->end_ns = hp_trace_last_ts(t);
    a->truncated = hp_trace_truncated(t);
    a->ncounters = hp_trace_counters(t, a->fn_calls, a->fn_bytes);
    for (int i = 0; i < HP_FN_COUNT; i++) {
        if (i != HP_FN_FREE)
            a->total_allocations += a->fn_calls[i];
        a->total_bytes += a->fn_bytes[i];
    }
    a->total_frees = a->fn_calls[HP_FN_FREE];
    a->samples = s.samples;
    a->peak_bytes = s.peak_bytes;
    a->peak_blocks = s.peak_blocks;
    a->peak_ns = s.peak_ns;
    a->leaked_bytes = s.live_bytes;
    a->leaked_blocks = s.live_blocks;
    a->temporary_allocations = s.temp;
    for (size_t i = 0; i < s.npairs; i++) {
        /* frees no allocation of their pair came to claim */
        a->unknown_frees += s.pairs[i].pend;
        s.pairs[i].pend = 0; /* from here on: lost blocks counted */
    }
    a->sites = calloc(s.nacc ? s.nacc : 1, sizeof(*a->sites));
    first = calloc(s.nacc ? s.nacc : 1, sizeof(*first));
    char *exe = strdup(hp_trace_exe(t));
    if (!a->sites || !first || !exe) {
        free(exe);
        rc = HP_ERR_NOMEM;
        goto out;
    }
    a->exe = exe;
    a->nsites = s.nacc;
    double sum_alloc = 0, sum_count = 0;
    for (size_t i = 0; i < s.nacc; i++) {
        const acc_t *c = &s.acc[i];
        hp_site_t *site = &a->sites[i];
        site->stack_id = c->stack_id;
        site->allocations = c->allocs;
        site->allocated_bytes = c->bytes;
        site->leaked_bytes = c->live_bytes;
        site->leaked_blocks = c->live_blocks;
        site->temporary_allocations = c->temp;
        if (c->snap_epoch == s.epoch) {
            site->peak_bytes = c->snap_bytes;
            site->peak_blocks = c->snap_blocks;
        } else {
            site->peak_bytes = c->live_bytes;
            site->peak_blocks = c->live_blocks;
        }
        /* float noise of sampled replays must not print as "-0" */
        if (site->leaked_bytes < 0.5 && site->leaked_bytes > -0.5 && s.full) {
            site->leaked_bytes = 0;
            site->leaked_blocks = 0;
        }
        sum_alloc += site->allocated_bytes;
        sum_count += site->allocations;
    }
    const uint32_t *lost;
    size_t nlost;
    if (hp_trace_unreachable(t, &lost, &nlost) && s.full) {
        /* Each entry is one block of its pair; count it only against the
         * pair's blocks the replay still holds live. */
        a->leak_scan = 1;
        for (size_t i = 0; i < nlost; i++) {
            uint32_t slot;
            hp_trace_pair(t, lost[i], &slot, NULL, NULL);
            if (slot >= s.npairs)
                continue;
            pstate_t *p = &s.pairs[slot];
            if (p->pend >= p->live)
                continue;
            p->pend++;
            a->lost_bytes += (double)p->size;
            a->lost_blocks += 1;
            a->sites[p->site - 1].lost_bytes += (double)p->size;
            a->sites[p->site - 1].lost_blocks += 1;
        }
    }
    if (a->ncounters == 0) {
        /* A trace cut short before any thread wrote its counters: the
         * replay's (estimated) figures are the best there is. */
        a->totals_estimated = 1;
        a->total_allocations = (uint64_t)llround(sum_count);
        a->total_bytes = (uint64_t)llround(sum_alloc);
        a->total_frees = (uint64_t)llround(sum_count - s.live_blocks);
    }
    pv->sym = hp_symbols_new(warn_cb, NULL);
    if (!pv->sym) {
        rc = HP_ERR_NOMEM;
        goto out;
    }
    rc = symbolize(a, t, pv, first);
out:
    if (rc == HP_ERR_NOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    if (!rc && warning[0])
        snprintf(err, errlen, "%s", warning);
    if (rc) {
        hp_analysis_free(a);
        a = NULL;
    } else if (!a) {
        free(pv);
    }
    free(first);
    state_free(&s);
    hp_trace_close(t);
    if (out)
        *out = a;
    return rc;
}

int hp_analysis_load(const char *path, hp_analysis_t **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    return load(path, out, NULL, NULL, err, errlen);
}

int hp_analysis_replay(const char *path, hp_replay_fn fn, void *ctx, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    return load(path, NULL, fn, ctx, err, errlen);
}

void hp_analysis_free(hp_analysis_t *a)
{
    if (!a)
        return;
    priv_t *pv = a->priv;
    if (pv) {
        hp_symbols_free(pv->sym);
        free(pv->frames);
        free(pv);
    }
    free(a->sites);
    free((char *)a->exe);
    free(a);
}

/* ---- kinds, values, sorting ---- */

static const char *const kind_names[] = {"allocated", "peak", "leaked", "temporary", "count"};

int hp_kind_parse(const char *name, hp_kind_t *out)
{
    for (int i = 0; i < 5; i++) {
        if (name && strcmp(name, kind_names[i]) == 0) {
            *out = (hp_kind_t)i;
            return 0;
        }
    }
    return HP_ERR_USAGE;
}

const char *hp_kind_name(hp_kind_t k)
{
    return (unsigned)k < 5 ? kind_names[k] : "?";
}

double hp_site_value(const hp_site_t *s, hp_kind_t k)
{
    switch (k) {
    case HP_KIND_ALLOCATED: return s->allocated_bytes;
    case HP_KIND_PEAK: return s->peak_bytes;
    case HP_KIND_LEAKED: return s->leaked_bytes;
    case HP_KIND_TEMPORARY: return s->temporary_allocations;
    case HP_KIND_COUNT: return s->allocations;
    }
    return 0;
}

double hp_analysis_total(const hp_analysis_t *a, hp_kind_t k)
{
    /* computed, not cached: outputs' tests build analyses by hand */
    double sum = 0;
    for (size_t i = 0; i < a->nsites; i++)
        sum += hp_site_value(&a->sites[i], k);
    return sum;
}

static int cmp_site(const void *x, const void *y, void *kind)
{
    const hp_site_t *a = x, *b = y;
    hp_kind_t k = *(const hp_kind_t *)kind;
    double va = hp_site_value(a, k), vb = hp_site_value(b, k);
    if (va != vb)
        return va > vb ? -1 : 1;
    return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

void hp_analysis_sort(hp_analysis_t *a, hp_kind_t k)
{
    if (a->nsites)
        qsort_r(a->sites, a->nsites, sizeof(*a->sites), cmp_site, &k);
}
