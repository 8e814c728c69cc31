/*
 * trace_writer.c - synthetic trace writer for the analyzer's tests
 * (trace_writer.h). Compresses every frame with zstd level 1. It keeps one
 * buffer per thread and does no validation: tests use it to write valid
 * traces and, through hp_tw_raw and the raw pair writers, invalid ones.
 * Two small hash maps play the recorder's part: (tid, size, stack) -> pair
 * id, and live address -> pair id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "heapprof/error.h"
#include "trace_writer.h"

#define MAX_THREADS 256
#define SLACK (HP_MAX_PATH * 2 + 4096) /* room for the largest single record */

typedef struct twt_s {
    uint32_t tid, seq;
    uint8_t *buf;
    size_t len;
    hp_delta_t d;
    uint64_t first_ts, last_ts;
    int timed;
} twt_t;

/* Open addressing map of (k1, k2) -> v; v 0 = empty or removed (a removed
 * entry keeps its key and is found again, so probe chains stay intact). */
typedef struct ent_s {
    uint64_t k1, k2;
    uint32_t v;
    uint8_t used;
} ent_t;

typedef struct map_s {
    ent_t *e;
    size_t n, cap;
} map_t;

struct hp_tw_s {
    FILE *f;
    twt_t th[MAX_THREADS];
    size_t nth;
    size_t limit;
    uint8_t *cbuf;
    size_t ccap;
    uint32_t next_pair;
    map_t pairs; /* (tid << 32 | stack, size) -> pair id */
    map_t live;  /* (addr, 0) -> pair id */
};

static size_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
    return (size_t)(h ^ (h >> 29));
}

static ent_t *map_slot(map_t *m, uint64_t k1, uint64_t k2)
{
    size_t mask = m->cap - 1;
    for (size_t i = mix(k1, k2) & mask;; i = (i + 1) & mask)
        if (!m->e[i].used || (m->e[i].k1 == k1 && m->e[i].k2 == k2))
            return &m->e[i];
}

static uint32_t map_get(map_t *m, uint64_t k1, uint64_t k2)
{
    return m->cap ? map_slot(m, k1, k2)->v : 0;
}

static int map_put(map_t *m, uint64_t k1, uint64_t k2, uint32_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        map_t g = {.cap = m->cap ? m->cap * 2 : 1024};
        g.e = calloc(g.cap, sizeof(*g.e));
        if (!g.e)
            return HP_ERR_NOMEM;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->e[i].used && m->e[i].v) {
                *map_slot(&g, m->e[i].k1, m->e[i].k2) = m->e[i];
                g.n++;
            }
        }
        free(m->e);
        *m = g;
    }
    ent_t *e = map_slot(m, k1, k2);
    if (!e->used)
        m->n++;
    *e = (ent_t){.k1 = k1, .k2 = k2, .v = v, .used = 1};
    return 0;
}

hp_tw_t *hp_tw_open(const char *path, uint64_t rate, uint32_t pid, const char *exe,
                    uint64_t start_ns)
{
    hp_tw_t *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->limit = HP_MAX_FRAME_RAW;
    w->ccap = ZSTD_compressBound(HP_MAX_FRAME_RAW + SLACK);
    w->cbuf = malloc(w->ccap);
    w->f = fopen(path, "wb");
    if (!w->f || !w->cbuf) {
        if (w->f)
            fclose(w->f);
        free(w->cbuf);
        free(w);
        return NULL;
    }
    hp_file_header_t h = {.version = HP_TRACE_VERSION, .pid = pid, .ppid = 1,
                          .clock = HP_CLOCK_MONOTONIC_COARSE_NS, .rate = rate, .seed = 42,
                          .start_ns = start_ns, .start_unix_ns = 1700000000000000000ull};
    memcpy(h.magic, HP_TRACE_MAGIC, 8);
    size_t elen = exe ? strlen(exe) : 0;
    h.exe_len = (uint32_t)elen;
    uint8_t hdr[HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE];
    hp_put_le32(hdr, HP_SKIP_MAGIC_HEADER);
    hp_put_le32(hdr + 4, (uint32_t)(HP_FILE_HEADER_SIZE + elen));
    hp_encode_file_header(hdr + HP_SKIP_HEADER_SIZE, &h);
    fwrite(hdr, 1, sizeof(hdr), w->f);
    if (elen)
        fwrite(exe, 1, elen, w->f);
    w->next_pair = 1;
    return w;
}

void hp_tw_set_frame_limit(hp_tw_t *w, size_t limit)
{
    w->limit = limit && limit < HP_MAX_FRAME_RAW ? limit : HP_MAX_FRAME_RAW;
}

static twt_t *thread(hp_tw_t *w, uint32_t tid)
{
    for (size_t i = 0; i < w->nth; i++)
        if (w->th[i].tid == tid)
            return &w->th[i];
    if (w->nth == MAX_THREADS)
        return NULL;
    twt_t *t = &w->th[w->nth];
    t->buf = malloc(HP_MAX_FRAME_RAW + SLACK);
    if (!t->buf)
        return NULL;
    t->tid = tid;
    w->nth++;
    return t;
}

static int flush_thread(hp_tw_t *w, twt_t *t)
{
    if (!t->len)
        return 0;
    size_t cs = ZSTD_compress(w->cbuf, w->ccap, t->buf, t->len, 1);
    if (ZSTD_isError(cs))
        return HP_ERR_IO;
    hp_frame_index_t ix = {.tid = t->tid, .seq = t->seq++, .first_ts = t->first_ts,
                           .last_ts = t->last_ts, .csize = (uint32_t)cs,
                           .rsize = (uint32_t)t->len};
    uint8_t ib[HP_SKIP_HEADER_SIZE + HP_FRAME_INDEX_SIZE];
    hp_put_le32(ib, HP_SKIP_MAGIC_INDEX);
    hp_put_le32(ib + 4, HP_FRAME_INDEX_SIZE);
    hp_encode_frame_index(ib + HP_SKIP_HEADER_SIZE, &ix);
    fwrite(ib, 1, sizeof(ib), w->f);
    fwrite(w->cbuf, 1, cs, w->f);
    t->len = 0;
    t->timed = 0;
    t->first_ts = t->last_ts;
    return ferror(w->f) ? HP_ERR_IO : 0;
}

/* Thread buffer with room for a record; flushes first when over the limit. */
static twt_t *room(hp_tw_t *w, uint32_t tid, size_t need)
{
    twt_t *t = thread(w, tid);
    if (!t)
        return NULL;
    if (t->len + need > w->limit && flush_thread(w, t))
        return NULL;
    return t;
}

/* Moves the thread to time ts before an event: the frame's first event
 * sets its first tick, a later time writes a TICK record. */
static void timed(twt_t *t, uint64_t ts)
{
    if (!t->timed) {
        /* records before the first event carry no time */
        t->first_ts = ts;
        t->d.ts = ts;
        t->timed = 1;
    } else if (ts > t->d.ts) {
        t->len = (size_t)(hp_enc_tick(t->buf + t->len, &t->d, ts) - t->buf);
    }
    t->last_ts = ts > t->last_ts ? ts : t->last_ts;
}

static void untimed(twt_t *t)
{
    if (t->len == 0) {
        t->d = (hp_delta_t){.ts = t->last_ts};
        t->first_ts = t->last_ts;
    }
}

int hp_tw_pair(hp_tw_t *w, uint32_t tid, uint32_t id, uint64_t size, uint32_t stack)
{
    twt_t *t = room(w, tid, 64);
    if (!t)
        return HP_ERR_NOMEM;
    untimed(t);
    t->len = (size_t)(hp_enc_pair(t->buf + t->len, id, size, stack) - t->buf);
    if (id >= w->next_pair && id < HP_MAX_PAIR)
        w->next_pair = id + 1;
    return 0;
}

int hp_tw_alloc_pair(hp_tw_t *w, uint32_t tid, uint64_t ts, uint32_t pair)
{
    twt_t *t = room(w, tid, 64);
    if (!t)
        return HP_ERR_NOMEM;
    untimed(t);
    timed(t, ts);
    t->len = (size_t)(hp_enc_alloc(t->buf + t->len, pair) - t->buf);
    return 0;
}

int hp_tw_free_pair(hp_tw_t *w, uint32_t tid, uint64_t ts, uint32_t pair, int temporary)
{
    twt_t *t = room(w, tid, 64);
    if (!t)
        return HP_ERR_NOMEM;
    untimed(t);
    timed(t, ts);
    t->len = (size_t)(hp_enc_free(t->buf + t->len, temporary, pair) - t->buf);
    if (pair >= w->next_pair && pair < HP_MAX_PAIR)
        w->next_pair = pair + 1;
    return 0;
}

int hp_tw_alloc(hp_tw_t *w, uint32_t tid, uint64_t ts, uint64_t addr, uint64_t size,
                uint32_t stack)
{
    uint64_t key = (uint64_t)tid << 32 | stack;
    uint32_t pair = map_get(&w->pairs, key, size);
    if (!pair) {
        pair = w->next_pair;
        if (map_put(&w->pairs, key, size, pair) || hp_tw_pair(w, tid, pair, size, stack))
            return HP_ERR_NOMEM;
    }
    if (map_put(&w->live, addr, 0, pair))
        return HP_ERR_NOMEM;
    return hp_tw_alloc_pair(w, tid, ts, pair);
}

int hp_tw_free(hp_tw_t *w, uint32_t tid, uint64_t ts, uint64_t addr, int temporary)
{
    uint32_t pair = map_get(&w->live, addr, 0);
    if (pair)
        map_slot(&w->live, addr, 0)->v = 0;
    else
        pair = w->next_pair++; /* never defined */
    return hp_tw_free_pair(w, tid, ts, pair, temporary);
}

uint32_t hp_tw_pair_of(hp_tw_t *w, uint64_t addr)
{
    return map_get(&w->live, addr, 0);
}

int hp_tw_unreachable(hp_tw_t *w, uint32_t tid, const uint32_t *pairs, size_t n)
{
    twt_t *t = room(w, tid, 16 + n * HP_UVARINT_MAX);
    if (!t || 16 + n * HP_UVARINT_MAX > SLACK)
        return HP_ERR_NOMEM;
    untimed(t);
    uint8_t *p = hp_enc_unreachable_head(t->buf + t->len, n);
    for (size_t i = 0; i < n; i++)
        p = hp_put_uvarint(p, pairs[i]);
    t->len = (size_t)(p - t->buf);
    return 0;
}

int hp_tw_stack(hp_tw_t *w, uint32_t tid, uint32_t id, uint32_t gen, uint32_t n,
                const uint64_t *pcs)
{
    twt_t *t = room(w, tid, 32 + (size_t)n * HP_UVARINT_MAX);
    if (!t || n > 1000)
        return HP_ERR_NOMEM;
    untimed(t);
    t->len = (size_t)(hp_enc_stack(t->buf + t->len, &t->d, id, gen, pcs, n) - t->buf);
    return 0;
}

int hp_tw_modules(hp_tw_t *w, uint32_t tid, uint32_t gen, size_t n, const hp_module_t *mods)
{
    size_t need = 32;
    for (size_t i = 0; i < n; i++)
        need += 64 + strlen(mods[i].path) + mods[i].build_id_len;
    if (need > HP_MAX_FRAME_RAW)
        return HP_ERR_NOMEM;
    twt_t *t = room(w, tid, need);
    if (!t)
        return HP_ERR_NOMEM;
    untimed(t);
    uint8_t *p = hp_enc_modules_head(t->buf + t->len, gen, n);
    for (size_t i = 0; i < n; i++)
        p = hp_enc_module(p, mods[i].bias, mods[i].start, mods[i].end, mods[i].path,
                          strlen(mods[i].path), mods[i].build_id, mods[i].build_id_len);
    t->len = (size_t)(p - t->buf);
    return 0;
}

int hp_tw_counters(hp_tw_t *w, uint32_t tid, const uint64_t *calls, const uint64_t *bytes)
{
    twt_t *t = room(w, tid, 16 + 2 * HP_FN_COUNT * HP_UVARINT_MAX);
    if (!t)
        return HP_ERR_NOMEM;
    untimed(t);
    t->len = (size_t)(hp_enc_counters(t->buf + t->len, tid, calls, bytes) - t->buf);
    return 0;
}

int hp_tw_end(hp_tw_t *w, uint32_t tid, uint64_t ts, unsigned reason)
{
    twt_t *t = room(w, tid, 32);
    if (!t)
        return HP_ERR_NOMEM;
    untimed(t);
    t->len = (size_t)(hp_enc_end(t->buf + t->len, ts, reason) - t->buf);
    return 0;
}

int hp_tw_thread_name(hp_tw_t *w, uint32_t tid, const char *name)
{
    size_t n = strlen(name);
    twt_t *t = room(w, tid, 32 + n);
    if (!t || n > 4096)
        return HP_ERR_NOMEM;
    untimed(t);
    uint8_t *p = hp_enc_tag(t->buf + t->len, HP_REC_THREAD_NAME);
    p = hp_put_uvarint(p, tid);
    p = hp_put_uvarint(p, n);
    memcpy(p, name, n);
    t->len = (size_t)(p + n - t->buf);
    return 0;
}

int hp_tw_raw(hp_tw_t *w, uint32_t tid, const void *bytes, size_t n)
{
    twt_t *t = room(w, tid, n);
    if (!t || n > SLACK)
        return HP_ERR_NOMEM;
    untimed(t);
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    return 0;
}

int hp_tw_flush(hp_tw_t *w, uint32_t tid)
{
    twt_t *t = thread(w, tid);
    return t ? flush_thread(w, t) : HP_ERR_NOMEM;
}

int hp_tw_close(hp_tw_t *w)
{
    int rc = 0;
    for (size_t i = 0; i < w->nth; i++) {
        if (!rc)
            rc = flush_thread(w, &w->th[i]);
        free(w->th[i].buf);
    }
    if (fclose(w->f) && !rc)
        rc = HP_ERR_IO;
    free(w->pairs.e);
    free(w->live.e);
    free(w->cbuf);
    free(w);
    return rc;
}
