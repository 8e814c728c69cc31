/*
 * trace_read.c - streaming reader of heapprof trace files (trace_read.h).
 *
 * Pass 1 (hp_trace_open) reads the file header and every frame index with
 * pread, skipping each data frame by index.csize after checking that a zstd
 * frame starts there; it keeps one small record per data frame. Pass 2
 * (hp_trace_next) groups the frames by thread ("lanes", each lane's frames
 * ordered by first_ts then seq) and merges the lanes with a binary heap keyed
 * by (next timestamp, tid, seq). A lane decompresses its current frame only
 * when the heap reaches it and frees the buffer when the frame is consumed,
 * so at most one frame per lane is in memory (and at most max_open bytes
 * in all: frames that all overlap in time are how a hostile file would ask
 * for memory without bound). A reused tid simply continues its lane: frames
 * are ordered by first_ts, and one thread's frames never overlap in time.
 *
 * Events (version 2) carry no time and no address: the head of an
 * allocation or free names the block's pair, and an event's time is the
 * current tick of its frame, which HP_REC_TICK records advance. The pair
 * table maps each pair id the trace names to a dense slot (0, 1, ... in the
 * order the ids are first met) and the slot to the pair's (size, stack): the
 * model then keeps its per-pair state in a plain array indexed by slot.
 * Pair ids come from one process-wide counter, so they are dense: ids below
 * a bound proportional to the slots in use are found by direct indexing, any
 * other id through a hash map, and a hostile trace's ids can make neither
 * grow faster than the ids it names (at most HP_TRACE_MAX_PAIRS of them).
 *
 * A file that ends inside its last (index, data) pair is "truncated": the
 * pair is ignored with a warning. An index that points past the end of the
 * file at a zstd frame that is in fact complete is a lie, not a truncation:
 * an error, like every other inconsistency.
 *
 * It does not interpret the events (model.c does), does not symbolize
 * (symbols.c) and never trusts a length before checking it against the
 * format's limits: a hostile file gives an HP_ERR_FORMAT naming the frame and
 * offset, never a crash or an unbounded allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "heapprof/error.h"
#include "trace_read.h"

#define MAX_INDEX_PAYLOAD 4096u /* an index may grow fields; never beyond this */
#define MAX_THREAD_NAME 256u
/* Decompressed frames held at once (about one per thread live at the same
 * time). A legitimate trace needs ~1 MiB per overlapping thread; a hostile
 * one could make every tiny frame overlap and claim 1 MiB each. */
#define DEFAULT_MAX_OPEN ((size_t)2 << 30)

/* One data frame found by pass 1. */
typedef struct frame_s {
    hp_frame_index_t ix;
    uint64_t index_off; /* offset of its index's skippable frame */
    uint64_t data_off;  /* offset of the zstd data frame */
    size_t num;         /* 0-based frame number, in file order */
} frame_t;

/* One thread's frames, merged as one stream. */
typedef struct lane_s {
    size_t first, end, cur; /* range in the sorted frame array; current */
    uint8_t *buf;           /* decompressed current frame, or NULL */
    const uint8_t *p, *pend;
    hp_delta_t d;           /* d.ts: the frame's current tick */
    int has_ev;             /* ev holds the next event of the lane */
    hp_trace_event_t ev;
} lane_t;

/* A lane's place in the merge heap: its key is cached here, so ordering
 * never chases the lane's pointers. */
typedef struct hkey_s {
    uint64_t ts; /* next event's timestamp, or the next frame's first_ts */
    uint32_t tid, seq;
    size_t lane;
} hkey_t;

typedef struct snapshot_s {
    uint32_t gen;
    size_t n;
    hp_module_t *mods;
} snapshot_t;

typedef struct tname_s {
    uint32_t tid;
    char *name;
} tname_t;

/* One pair the trace names, at its slot. */
typedef struct pinfo_s {
    uint64_t size;
    uint32_t id;
    uint32_t stack;  /* stack id when defined */
    uint8_t defined; /* a PAIR record was read */
} pinfo_t;

/* Hash map entry of an id outside the direct range: 0 = empty. */
typedef struct pent_s {
    uint32_t id;
    uint32_t slot1; /* slot + 1 */
} pent_t;

#define DIRECT_MIN ((size_t)1 << 20) /* ids always indexed directly */

struct hp_trace_s {
    int fd;
    uint64_t fsize;
    hp_file_header_t hdr;
    char *exe;
    int truncated;
    char warning[512];

    frame_t *frames;
    size_t nframes, capframes;

    lane_t *lanes;
    size_t nlanes;
    hkey_t *heap; /* one entry per lane not yet exhausted */
    size_t open_bytes, max_open;
    size_t nheap;
    int started;

    ZSTD_DCtx *dctx;
    uint8_t *cbuf;
    size_t cbufcap;

    /* stack table: open addressing id -> index in stacks */
    hp_trace_stack_t *stacks;
    size_t nstacks, capstacks;
    uint32_t *stab; /* slot: stack index + 1, 0 = empty */
    size_t stabcap;
    uint64_t **pcblocks; /* each stack's pcs, one allocation each */

    snapshot_t *snaps;
    size_t nsnaps;

    tname_t *tnames;
    size_t ntnames;

    /* pair table: slot -> pinfo; id -> slot directly below ndirect, else
     * through the hash map */
    pinfo_t *pairs;
    size_t npairs, cappairs;
    uint32_t *direct; /* id -> slot + 1, 0 = not met; ndirect entries */
    size_t ndirect;
    pent_t *phash;
    size_t nphash, capphash;
    size_t max_pairs;

    uint32_t *unreach; /* HP_REC_UNREACHABLE pair ids, in record order */
    size_t nunreach, capunreach;
    int scanned;       /* at least one HP_REC_UNREACHABLE was read */

    uint64_t calls[HP_FN_COUNT], bytes[HP_FN_COUNT];
    size_t ncounters;
    int complete;
    uint64_t end_ts;
    uint64_t last_ts;
};

static size_t max_open_default = DEFAULT_MAX_OPEN;
static size_t max_pairs_default = HP_TRACE_MAX_PAIRS;

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Reads exactly len bytes at off; returns the count read (short at EOF) or -1. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int push_frame(hp_trace_t *t, const frame_t *f)
{
    if (t->nframes == t->capframes) {
        size_t cap = t->capframes ? t->capframes * 2 : 64;
        frame_t *nf = realloc(t->frames, cap * sizeof(*nf));
        if (!nf)
            return HP_ERR_NOMEM;
        t->frames = nf;
        t->capframes = cap;
    }
    t->frames[t->nframes++] = *f;
    return 0;
}

static void set_truncated(hp_trace_t *t, size_t num, uint64_t off, const char *what)
{
    t->truncated = 1;
    snprintf(t->warning, sizeof(t->warning),
             "trace truncated: the file ends inside %s of frame %zu at offset %llu; "
             "reporting what was read before it",
             what, num, (unsigned long long)off);
}

static int read_header(hp_trace_t *t, const char *path, uint64_t *off, char *err, size_t errlen)
{
    uint8_t sk[HP_SKIP_HEADER_SIZE];
    uint8_t fixed[HP_FILE_HEADER_SIZE];
    ssize_t r = read_at(t->fd, sk, sizeof(sk), 0);
    if (r < 0)
        return fail(err, errlen, HP_ERR_IO, "%s: %s", path, strerror(errno));
    if (r < (ssize_t)sizeof(sk) || hp_get_le32(sk) != HP_SKIP_MAGIC_HEADER)
        return fail(err, errlen, HP_ERR_FORMAT,
                    "%s: not a heapprof trace (no file header at offset 0)", path);
    uint32_t size = hp_get_le32(sk + 4);
    if (size < HP_FILE_HEADER_SIZE || size > HP_FILE_HEADER_SIZE + HP_MAX_PATH + 64)
        return fail(err, errlen, HP_ERR_FORMAT,
                    "%s: file header at offset 0: bad size %u", path, size);
    r = read_at(t->fd, fixed, sizeof(fixed), HP_SKIP_HEADER_SIZE);
    if (r < 0)
        return fail(err, errlen, HP_ERR_IO, "%s: %s", path, strerror(errno));
    if (r < (ssize_t)sizeof(fixed))
        return fail(err, errlen, HP_ERR_FORMAT, "%s: file ends inside the file header", path);
    hp_decode_file_header(fixed, &t->hdr);
    if (memcmp(t->hdr.magic, HP_TRACE_MAGIC, 8) != 0)
        return fail(err, errlen, HP_ERR_FORMAT, "%s: not a heapprof trace (bad magic)", path);
    if (t->hdr.version == 1)
        return fail(err, errlen, HP_ERR_VERSION,
                    "%s: trace format version 1 is no longer read; record it again", path);
    if (t->hdr.version != HP_TRACE_VERSION)
        return fail(err, errlen, HP_ERR_VERSION,
                    "%s: trace format version %u is not supported (this heapanalyze reads %u)",
                    path, t->hdr.version, HP_TRACE_VERSION);
    if (t->hdr.exe_len > HP_MAX_PATH || HP_FILE_HEADER_SIZE + t->hdr.exe_len > size)
        return fail(err, errlen, HP_ERR_FORMAT,
                    "%s: file header at offset 0: executable path length %u out of range",
                    path, t->hdr.exe_len);
    if (t->hdr.rate == 0)
        return fail(err, errlen, HP_ERR_FORMAT, "%s: file header: sampling rate 0", path);
    t->exe = calloc(1, t->hdr.exe_len + 1);
    if (!t->exe)
        return HP_ERR_NOMEM;
    r = read_at(t->fd, t->exe, t->hdr.exe_len, HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE);
    if (r < 0)
        return fail(err, errlen, HP_ERR_IO, "%s: %s", path, strerror(errno));
    if (r < (ssize_t)t->hdr.exe_len)
        return fail(err, errlen, HP_ERR_FORMAT, "%s: file ends inside the file header", path);
    t->exe[t->hdr.exe_len] = '\0'; /* NUL padding ends the string early */
    *off = HP_SKIP_HEADER_SIZE + (uint64_t)size;
    if (*off > t->fsize)
        return fail(err, errlen, HP_ERR_FORMAT, "%s: file ends inside the file header", path);
    return 0;
}

/* The index of f says its data frame runs past the end of the file. An
 * error when a complete zstd frame is there all the same, else 0. */
static int check_tail(hp_trace_t *t, const char *path, const frame_t *f, char *err,
                      size_t errlen)
{
    size_t n = (size_t)(t->fsize - f->data_off); /* < csize <= compressBound(1 MiB) */
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return fail(err, errlen, HP_ERR_NOMEM, "out of memory");
    int rc = 0;
    if (read_at(t->fd, buf, n, f->data_off) != (ssize_t)n) {
        rc = fail(err, errlen, HP_ERR_IO, "%s: read error at offset %llu", path,
                  (unsigned long long)f->data_off);
    } else {
        size_t real = ZSTD_findFrameCompressedSize(buf, n);
        if (!ZSTD_isError(real))
            rc = fail(err, errlen, HP_ERR_FORMAT,
                      "%s: frame %zu at offset %llu: its index gives %u compressed bytes, "
                      "past the end of the file, but the zstd frame there is complete "
                      "(%zu bytes)",
                      path, f->num, (unsigned long long)f->index_off, f->ix.csize, real);
    }
    free(buf);
    return rc;
}

/* Pass 1: every (index, data) pair. */
static int scan_frames(hp_trace_t *t, const char *path, uint64_t off, char *err, size_t errlen)
{
    size_t num = 0;
    while (off < t->fsize) {
        uint8_t sk[HP_SKIP_HEADER_SIZE];
        uint8_t ixb[HP_FRAME_INDEX_SIZE];
        if (t->fsize - off < HP_SKIP_HEADER_SIZE) {
            set_truncated(t, num, off, "the index");
            break;
        }
        if (read_at(t->fd, sk, sizeof(sk), off) != (ssize_t)sizeof(sk))
            return fail(err, errlen, HP_ERR_IO, "%s: read error at offset %llu", path,
                        (unsigned long long)off);
        uint32_t magic = hp_get_le32(sk), size = hp_get_le32(sk + 4);
        if (magic != HP_SKIP_MAGIC_INDEX) {
            if ((magic & 0xFFFFFFF0u) == 0x184D2A50u && magic != HP_SKIP_MAGIC_HEADER) {
                /* Another skippable frame: ignored, as zstd ignores it. */
                if (size > t->fsize - off - HP_SKIP_HEADER_SIZE) {
                    set_truncated(t, num, off, "a skippable frame");
                    break;
                }
                off += HP_SKIP_HEADER_SIZE + (uint64_t)size;
                continue;
            }
            return fail(err, errlen, HP_ERR_FORMAT,
                        "%s: frame %zu at offset %llu: expected a frame index, found magic "
                        "0x%08x",
                        path, num, (unsigned long long)off, magic);
        }
        if (size < HP_FRAME_INDEX_SIZE || size > MAX_INDEX_PAYLOAD)
            return fail(err, errlen, HP_ERR_FORMAT,
                        "%s: frame %zu at offset %llu: frame index of bad size %u", path, num,
                        (unsigned long long)off, size);
        if (size > t->fsize - off - HP_SKIP_HEADER_SIZE) {
            set_truncated(t, num, off, "the index");
            break;
        }
        if (read_at(t->fd, ixb, sizeof(ixb), off + HP_SKIP_HEADER_SIZE) != (ssize_t)sizeof(ixb))
            return fail(err, errlen, HP_ERR_IO, "%s: read error at offset %llu", path,
                        (unsigned long long)off);
        frame_t f;
        hp_decode_frame_index(ixb, &f.ix);
        f.index_off = off;
        f.data_off = off + HP_SKIP_HEADER_SIZE + size;
        f.num = num;
        if (f.ix.rsize > HP_MAX_FRAME_RAW)
            return fail(err, errlen, HP_ERR_FORMAT,
                        "%s: frame %zu at offset %llu: decompressed size %u exceeds the "
                        "limit of %u bytes",
                        path, num, (unsigned long long)off, f.ix.rsize, HP_MAX_FRAME_RAW);
        if (f.ix.csize < 4 || f.ix.csize > ZSTD_compressBound(f.ix.rsize) + 64)
            return fail(err, errlen, HP_ERR_FORMAT,
                        "%s: frame %zu at offset %llu: compressed size %u impossible for %u "
                        "decompressed bytes",
                        path, num, (unsigned long long)off, f.ix.csize, f.ix.rsize);
        if (f.ix.first_ts > f.ix.last_ts)
            return fail(err, errlen, HP_ERR_FORMAT,
                        "%s: frame %zu at offset %llu: first_ts after last_ts", path, num,
                        (unsigned long long)off);
        if (f.ix.csize > t->fsize - f.data_off) {
            /* Either the file was cut inside this frame, or the index lies
             * about a frame that is complete: tell them apart. */
            int rc = check_tail(t, path, &f, err, errlen);
            if (rc)
                return rc;
            set_truncated(t, num, f.data_off, "the data frame");
            break;
        }
        uint8_t zm[4];
        if (read_at(t->fd, zm, 4, f.data_off) != 4)
            return fail(err, errlen, HP_ERR_IO, "%s: read error at offset %llu", path,
                        (unsigned long long)f.data_off);
        if (hp_get_le32(zm) != ZSTD_MAGICNUMBER)
            return fail(err, errlen, HP_ERR_FORMAT,
                        "%s: frame %zu at offset %llu: no zstd frame where the index "
                        "points",
                        path, num, (unsigned long long)f.data_off);
        int rc = push_frame(t, &f);
        if (rc)
            return fail(err, errlen, rc, "%s: out of memory", path);
        if (f.ix.last_ts > t->last_ts)
            t->last_ts = f.ix.last_ts;
        off = f.data_off + f.ix.csize;
        num++;
    }
    return 0;
}

static int cmp_frame(const void *a, const void *b)
{
    const frame_t *x = a, *y = b;
    if (x->ix.tid != y->ix.tid)
        return x->ix.tid < y->ix.tid ? -1 : 1;
    if (x->ix.first_ts != y->ix.first_ts)
        return x->ix.first_ts < y->ix.first_ts ? -1 : 1;
    if (x->ix.seq != y->ix.seq)
        return x->ix.seq < y->ix.seq ? -1 : 1;
    return x->num < y->num ? -1 : x->num > y->num;
}

int hp_trace_open(const char *path, hp_trace_t **out, char *err, size_t errlen)
{
    int rc;
    uint64_t off = 0;
    struct stat st;
    hp_trace_t *t = calloc(1, sizeof(*t));
    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    if (!t)
        return fail(err, errlen, HP_ERR_NOMEM, "out of memory");
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0) {
        rc = fail(err, errlen, HP_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(t->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail(err, errlen, HP_ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    t->fsize = (uint64_t)st.st_size;
    t->max_open = max_open_default;
    t->max_pairs = max_pairs_default;
    rc = read_header(t, path, &off, err, errlen);
    if (rc)
        goto out;
    t->last_ts = t->hdr.start_ns;
    rc = scan_frames(t, path, off, err, errlen);
    if (rc)
        goto out;
    t->dctx = ZSTD_createDCtx();
    if (!t->dctx) {
        rc = fail(err, errlen, HP_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Lanes: runs of one tid in the sorted frame array. */
    if (t->nframes)
        qsort(t->frames, t->nframes, sizeof(*t->frames), cmp_frame);
    t->lanes = calloc(t->nframes ? t->nframes : 1, sizeof(*t->lanes));
    t->heap = calloc(t->nframes ? t->nframes : 1, sizeof(*t->heap));
    if (!t->lanes || !t->heap) {
        rc = fail(err, errlen, HP_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < t->nframes;) {
        size_t j = i;
        while (j < t->nframes && t->frames[j].ix.tid == t->frames[i].ix.tid)
            j++;
        lane_t *l = &t->lanes[t->nlanes++];
        l->first = l->cur = i;
        l->end = j;
        i = j;
    }
    rc = 0;
out:
    if (rc) {
        hp_trace_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void hp_trace_close(hp_trace_t *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    for (size_t i = 0; i < t->nlanes; i++)
        free(t->lanes[i].buf);
    free(t->lanes);
    free(t->heap);
    free(t->frames);
    ZSTD_freeDCtx(t->dctx);
    free(t->cbuf);
    for (size_t i = 0; i < t->nstacks; i++)
        free(t->pcblocks[i]);
    free(t->pcblocks);
    free(t->stacks);
    free(t->stab);
    for (size_t i = 0; i < t->nsnaps; i++) {
        for (size_t k = 0; k < t->snaps[i].n; k++) {
            free((char *)t->snaps[i].mods[k].path);
            free((uint8_t *)t->snaps[i].mods[k].build_id);
        }
        free(t->snaps[i].mods);
    }
    free(t->snaps);
    for (size_t i = 0; i < t->ntnames; i++)
        free(t->tnames[i].name);
    free(t->tnames);
    free(t->unreach);
    free(t->pairs);
    free(t->direct);
    free(t->phash);
    free(t->exe);
    free(t);
}

/* ---- tables ---- */

static size_t hash32(uint32_t v)
{
    uint64_t h = (uint64_t)v * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32);
}

static const hp_trace_stack_t *find_stack(const hp_trace_t *t, uint32_t id)
{
    if (!t->stabcap)
        return NULL;
    size_t mask = t->stabcap - 1;
    for (size_t i = hash32(id) & mask;; i = (i + 1) & mask) {
        uint32_t s = t->stab[i];
        if (!s)
            return NULL;
        if (t->stacks[s - 1].id == id)
            return &t->stacks[s - 1];
    }
}

static int add_stack(hp_trace_t *t, uint32_t id, uint32_t gen, uint32_t n, const uint64_t *pcs)
{
    if (find_stack(t, id))
        return 0; /* defined once per process; a repeat changes nothing */
    if (t->nstacks >= UINT32_MAX - 1)
        return HP_ERR_FORMAT;
    if ((t->nstacks + 1) * 2 > t->stabcap) {
        size_t cap = t->stabcap ? t->stabcap * 2 : 1024;
        uint32_t *tab = calloc(cap, sizeof(*tab));
        if (!tab)
            return HP_ERR_NOMEM;
        for (size_t i = 0; i < t->nstacks; i++) {
            size_t k = hash32(t->stacks[i].id) & (cap - 1);
            while (tab[k])
                k = (k + 1) & (cap - 1);
            tab[k] = (uint32_t)(i + 1);
        }
        free(t->stab);
        t->stab = tab;
        t->stabcap = cap;
    }
    if (t->nstacks == t->capstacks) {
        size_t cap = t->capstacks ? t->capstacks * 2 : 1024;
        hp_trace_stack_t *ns = realloc(t->stacks, cap * sizeof(*ns));
        if (!ns)
            return HP_ERR_NOMEM;
        t->stacks = ns;
        uint64_t **nb = realloc(t->pcblocks, cap * sizeof(*nb));
        if (!nb)
            return HP_ERR_NOMEM;
        t->pcblocks = nb;
        t->capstacks = cap;
    }
    uint64_t *copy = malloc((n ? n : 1) * sizeof(*copy));
    if (!copy)
        return HP_ERR_NOMEM;
    memcpy(copy, pcs, n * sizeof(*copy));
    t->pcblocks[t->nstacks] = copy;
    t->stacks[t->nstacks] = (hp_trace_stack_t){.id = id, .gen = gen, .n = n, .pcs = copy};
    size_t k = hash32(id) & (t->stabcap - 1);
    while (t->stab[k])
        k = (k + 1) & (t->stabcap - 1);
    t->stab[k] = (uint32_t)(t->nstacks + 1);
    t->nstacks++;
    return 0;
}

/* The slot of pair id, or -1 when the trace has not named it. */
static long pair_find(const hp_trace_t *t, uint32_t id)
{
    if (id < t->ndirect && t->direct[id])
        return (long)t->direct[id] - 1;
    /* an id met before the direct range grew over it stays in the hash */
    if (!t->nphash)
        return -1;
    size_t mask = t->capphash - 1;
    for (size_t i = hash32(id) & mask;; i = (i + 1) & mask) {
        if (!t->phash[i].slot1)
            return -1;
        if (t->phash[i].id == id)
            return (long)t->phash[i].slot1 - 1;
    }
}

static int phash_put(hp_trace_t *t, uint32_t id, uint32_t slot)
{
    if ((t->nphash + 1) * 2 > t->capphash) {
        size_t cap = t->capphash ? t->capphash * 2 : 1024;
        pent_t *tab = calloc(cap, sizeof(*tab));
        if (!tab)
            return HP_ERR_NOMEM;
        for (size_t i = 0; i < t->capphash; i++) {
            if (!t->phash[i].slot1)
                continue;
            size_t k = hash32(t->phash[i].id) & (cap - 1);
            while (tab[k].slot1)
                k = (k + 1) & (cap - 1);
            tab[k] = t->phash[i];
        }
        free(t->phash);
        t->phash = tab;
        t->capphash = cap;
    }
    size_t k = hash32(id) & (t->capphash - 1);
    while (t->phash[k].slot1)
        k = (k + 1) & (t->capphash - 1);
    t->phash[k] = (pent_t){.id = id, .slot1 = slot + 1};
    t->nphash++;
    return 0;
}

/*
 * The slot of pair id (>= 1), assigned when the id is new. Returns the slot,
 * -1 out of memory, -2 more than t->max_pairs ids.
 */
static long pair_slot(hp_trace_t *t, uint32_t id)
{
    long have = pair_find(t, id);
    if (have >= 0)
        return have;
    if (t->npairs >= t->max_pairs)
        return -2;
    if (t->npairs == t->cappairs) {
        size_t cap = t->cappairs ? t->cappairs * 2 : 1024;
        pinfo_t *np = realloc(t->pairs, cap * sizeof(*np));
        if (!np)
            return -1;
        t->pairs = np;
        t->cappairs = cap;
    }
    /* The direct range grows to cover id while it stays within four
     * entries per slot: dense ids (the recorder's) never reach the hash. */
    size_t bound = 4 * (t->npairs + 1);
    if (bound < DIRECT_MIN)
        bound = DIRECT_MIN;
    if (id >= t->ndirect && id < bound) {
        size_t n = t->ndirect ? t->ndirect : 4096;
        while (n <= id)
            n *= 2;
        if (n > bound)
            n = bound;
        uint32_t *nd = realloc(t->direct, n * sizeof(*nd));
        if (!nd)
            return -1;
        memset(nd + t->ndirect, 0, (n - t->ndirect) * sizeof(*nd));
        t->direct = nd;
        t->ndirect = n;
    }
    uint32_t slot = (uint32_t)t->npairs;
    if (id < t->ndirect) {
        t->direct[id] = slot + 1;
    } else if (phash_put(t, id, slot)) {
        return -1;
    }
    t->pairs[t->npairs++] = (pinfo_t){.id = id};
    return (long)slot;
}

static int cmp_module(const void *a, const void *b)
{
    const hp_module_t *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- record decoding ---- */

typedef struct ctx_s {
    hp_trace_t *t;
    const frame_t *f;
    const uint8_t *base; /* start of the decompressed frame */
    char *err;
    size_t errlen;
} ctx_t;

static int bad(const ctx_t *c, const uint8_t *at, const char *what)
{
    return fail(c->err, c->errlen, HP_ERR_FORMAT,
                "frame %zu (tid %u) at offset %llu: record at byte %zu of the decompressed "
                "frame: %s",
                c->f->num, c->f->ix.tid, (unsigned long long)c->f->data_off,
                (size_t)(at - c->base), what);
}

#define GETU(var)                                                                              \
    do {                                                                                       \
        if (hp_get_uvarint(&p, end, &(var)))                                                   \
            return bad(c, rec, "truncated record or varint overflow");                        \
    } while (0)

static int parse_modules(const ctx_t *c, const uint8_t *rec, const uint8_t **pp,
                         const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint64_t gen, n;
    hp_trace_t *t = c->t;
    GETU(gen);
    GETU(n);
    if (gen > UINT32_MAX)
        return bad(c, rec, "module map generation out of range");
    /* every module takes at least 5 bytes: n is bounded by the frame */
    if (n > (uint64_t)(end - p) / 5)
        return bad(c, rec, "module count larger than the record");
    hp_module_t *mods = calloc(n ? n : 1, sizeof(*mods));
    if (!mods)
        return HP_ERR_NOMEM;
    int rc = 0;
    size_t k;
    for (k = 0; k < n; k++) {
        uint64_t bias, start, mend, plen, idlen;
        if (hp_get_uvarint(&p, end, &bias) || hp_get_uvarint(&p, end, &start) ||
            hp_get_uvarint(&p, end, &mend) || hp_get_uvarint(&p, end, &plen)) {
            rc = bad(c, rec, "truncated module record");
            break;
        }
        if (plen > HP_MAX_PATH || plen > (uint64_t)(end - p)) {
            rc = bad(c, rec, "module path longer than HP_MAX_PATH or than the record");
            break;
        }
        char *path = malloc(plen + 1);
        if (!path) {
            rc = HP_ERR_NOMEM;
            break;
        }
        memcpy(path, p, plen);
        path[plen] = '\0';
        p += plen;
        mods[k].path = path;
        if (hp_get_uvarint(&p, end, &idlen)) {
            rc = bad(c, rec, "truncated module record");
            k++;
            break;
        }
        if (idlen > HP_MAX_BUILD_ID || idlen > (uint64_t)(end - p)) {
            rc = bad(c, rec, "build-id longer than HP_MAX_BUILD_ID or than the record");
            k++;
            break;
        }
        if (idlen) {
            uint8_t *id = malloc(idlen);
            if (!id) {
                rc = HP_ERR_NOMEM;
                k++;
                break;
            }
            memcpy(id, p, idlen);
            mods[k].build_id = id;
            mods[k].build_id_len = idlen;
        }
        p += idlen;
        mods[k].bias = bias;
        mods[k].start = start;
        mods[k].end = mend;
    }
    if (!rc) {
        snapshot_t *ns = realloc(t->snaps, (t->nsnaps + 1) * sizeof(*ns));
        if (!ns) {
            rc = HP_ERR_NOMEM;
        } else {
            t->snaps = ns;
            qsort(mods, n, sizeof(*mods), cmp_module);
            /* keep snapshots sorted by generation (usually appended in order) */
            size_t i = t->nsnaps;
            while (i > 0 && t->snaps[i - 1].gen > gen) {
                t->snaps[i] = t->snaps[i - 1];
                i--;
            }
            t->snaps[i] = (snapshot_t){.gen = (uint32_t)gen, .n = n, .mods = mods};
            t->nsnaps++;
            *pp = p;
            return 0;
        }
    }
    for (size_t i = 0; i < k && i < n; i++) {
        free((char *)mods[i].path);
        free((uint8_t *)mods[i].build_id);
    }
    free(mods);
    return rc == HP_ERR_NOMEM ? fail(c->err, c->errlen, rc, "out of memory") : rc;
}

/* The pair of an event head: its slot, assigned when the id is new. */
static int event_pair(const ctx_t *c, const uint8_t *rec, uint32_t id, uint32_t *slot)
{
    long s = pair_slot(c->t, id);
    if (s == -1)
        return fail(c->err, c->errlen, HP_ERR_NOMEM, "out of memory");
    if (s == -2) {
        char msg[96];
        snprintf(msg, sizeof(msg), "more than %zu distinct pair ids", c->t->max_pairs);
        return bad(c, rec, msg);
    }
    *slot = (uint32_t)s;
    return 0;
}

/*
 * Decodes records of lane l until an event is found (returns 1 with l->ev
 * set) or the frame ends (returns 0). Other records go to the tables; ticks
 * move the frame's current time.
 */
static int lane_decode(hp_trace_t *t, lane_t *l, char *err, size_t errlen)
{
    ctx_t cx = {.t = t, .f = &t->frames[l->cur], .base = l->buf, .err = err, .errlen = errlen};
    const ctx_t *c = &cx;
    const uint8_t *p = l->p, *end = l->pend;
    uint64_t pcs[HP_MAX_FRAMES];
    while (p < end) {
        const uint8_t *rec = p;
        uint64_t h, a, b, v;
        unsigned tag;
        uint32_t pair;
        GETU(h);
        if (hp_dec_head(h, &tag, &pair))
            return bad(c, rec, h >> 2 ? "event of a pair id above HP_MAX_PAIR"
                                      : "event of pair id 0");
        if (pair) {
            uint32_t slot;
            int rc = event_pair(c, rec, pair, &slot);
            if (rc)
                return rc;
            const pinfo_t *pi = &t->pairs[slot];
            if (tag == HP_REC_ALLOC && !pi->defined) {
                char msg[128];
                snprintf(msg, sizeof(msg),
                         "allocation of pair %u, which its thread did not define first", pair);
                return bad(c, rec, msg);
            }
            l->ev = (hp_trace_event_t){.tag = (int)tag, .tid = c->f->ix.tid, .ts = l->d.ts,
                                       .pair = pair, .slot = slot, .defined = pi->defined,
                                       .stack_id = pi->stack, .size = pi->size};
            l->p = p;
            return 1;
        }
        switch (tag) {
        case HP_REC_TICK:
            GETU(a);
            if (l->d.ts + a < l->d.ts)
                return bad(c, rec, "tick beyond the clock's range");
            l->d.ts += a;
            break;
        case HP_REC_PAIR: {
            uint64_t id, size, stack;
            GETU(id);
            GETU(size);
            GETU(stack);
            if (id == 0 || id > HP_MAX_PAIR)
                return bad(c, rec, "pair id out of range");
            if (stack > UINT32_MAX)
                return bad(c, rec, "stack id out of range");
            uint32_t slot;
            int rc = event_pair(c, rec, (uint32_t)id, &slot);
            if (rc)
                return rc;
            pinfo_t *pi = &t->pairs[slot];
            if (pi->defined && (pi->size != size || pi->stack != stack)) {
                char msg[128];
                snprintf(msg, sizeof(msg),
                         "pair %u defined again with another size or stack", (uint32_t)id);
                return bad(c, rec, msg);
            }
            pi->size = size;
            pi->stack = (uint32_t)stack;
            pi->defined = 1;
            break;
        }
        case HP_REC_STACK: {
            uint64_t id, gen, n;
            GETU(id);
            GETU(gen);
            GETU(n);
            if (id == 0 || id > UINT32_MAX)
                return bad(c, rec, "stack id out of range");
            if (gen > UINT32_MAX)
                return bad(c, rec, "module map generation out of range");
            if (n > HP_MAX_FRAMES)
                return bad(c, rec, "stack deeper than HP_MAX_FRAMES");
            for (uint64_t i = 0; i < n; i++) {
                if (hp_get_delta(&p, end, &l->d.pc))
                    return bad(c, rec, "truncated record or varint overflow");
                pcs[i] = l->d.pc;
            }
            int rc = add_stack(t, (uint32_t)id, (uint32_t)gen, (uint32_t)n, pcs);
            if (rc == HP_ERR_NOMEM)
                return fail(err, errlen, rc, "out of memory");
            if (rc)
                return bad(c, rec, "too many stacks");
            break;
        }
        case HP_REC_MODULES: {
            int rc = parse_modules(c, rec, &p, end);
            if (rc)
                return rc;
            break;
        }
        case HP_REC_COUNTERS:
            GETU(v); /* tid */
            for (int i = 0; i < HP_FN_COUNT; i++) {
                GETU(a);
                GETU(b);
                t->calls[i] += a;
                t->bytes[i] += b;
            }
            t->ncounters++;
            break;
        case HP_REC_END:
            GETU(a);
            GETU(b);
            t->complete = 1;
            if (a > t->end_ts)
                t->end_ts = a;
            if (a > t->last_ts)
                t->last_ts = a;
            break;
        case HP_REC_THREAD_NAME: {
            uint64_t tid, len;
            GETU(tid);
            GETU(len);
            if (tid > UINT32_MAX || len > MAX_THREAD_NAME || len > (uint64_t)(end - p))
                return bad(c, rec, "bad thread name record");
            char *name = malloc(len + 1);
            tname_t *nt = realloc(t->tnames, (t->ntnames + 1) * sizeof(*nt));
            if (!name || !nt) {
                free(name);
                if (nt)
                    t->tnames = nt;
                return fail(err, errlen, HP_ERR_NOMEM, "out of memory");
            }
            t->tnames = nt;
            memcpy(name, p, len);
            name[len] = '\0';
            p += len;
            t->tnames[t->ntnames++] = (tname_t){.tid = (uint32_t)tid, .name = name};
            break;
        }
        case HP_REC_UNREACHABLE: {
            uint64_t n;
            GETU(n);
            /* every pair id takes at least one byte: n is bounded by the frame */
            if (n > (uint64_t)(end - p))
                return bad(c, rec, "unreachable list longer than its frame");
            if (t->nunreach + n > t->capunreach) {
                size_t cap = t->capunreach ? t->capunreach : 256;
                while (cap < t->nunreach + n)
                    cap *= 2;
                uint32_t *nu = realloc(t->unreach, cap * sizeof(*nu));
                if (!nu)
                    return fail(err, errlen, HP_ERR_NOMEM, "out of memory");
                t->unreach = nu;
                t->capunreach = cap;
            }
            for (uint64_t i = 0; i < n; i++) {
                GETU(v);
                if (v == 0 || v > HP_MAX_PAIR)
                    return bad(c, rec, "pair id out of range");
                t->unreach[t->nunreach++] = (uint32_t)v;
            }
            t->scanned = 1;
            break;
        }
        default: {
            char msg[64];
            snprintf(msg, sizeof(msg), "unknown record tag %u", tag);
            return bad(c, rec, msg);
        }
        }
    }
    l->p = p;
    return 0;
}

/* Decompresses the current frame of lane l. */
static int lane_open(hp_trace_t *t, lane_t *l, char *err, size_t errlen)
{
    const frame_t *f = &t->frames[l->cur];
    if (f->ix.csize > t->cbufcap) {
        uint8_t *nb = realloc(t->cbuf, f->ix.csize);
        if (!nb)
            return fail(err, errlen, HP_ERR_NOMEM, "out of memory");
        t->cbuf = nb;
        t->cbufcap = f->ix.csize;
    }
    ssize_t r = read_at(t->fd, t->cbuf, f->ix.csize, f->data_off);
    if (r != (ssize_t)f->ix.csize)
        return fail(err, errlen, HP_ERR_IO, "frame %zu at offset %llu: read error", f->num,
                    (unsigned long long)f->data_off);
    size_t fcs = ZSTD_findFrameCompressedSize(t->cbuf, f->ix.csize);
    if (ZSTD_isError(fcs) || fcs != f->ix.csize)
        return fail(err, errlen, HP_ERR_FORMAT,
                    "frame %zu at offset %llu: the zstd frame does not have the %u bytes its "
                    "index says",
                    f->num, (unsigned long long)f->data_off, f->ix.csize);
    unsigned long long cs = ZSTD_getFrameContentSize(t->cbuf, f->ix.csize);
    if (cs == ZSTD_CONTENTSIZE_ERROR ||
        (cs != ZSTD_CONTENTSIZE_UNKNOWN && cs != (unsigned long long)f->ix.rsize))
        return fail(err, errlen, HP_ERR_FORMAT,
                    "frame %zu at offset %llu: decompressed size does not match the index "
                    "(%u bytes)",
                    f->num, (unsigned long long)f->data_off, f->ix.rsize);
    if (f->ix.rsize > t->max_open - t->open_bytes)
        return fail(err, errlen, HP_ERR_NOMEM,
                    "frame %zu at offset %llu: more than %zu MiB of frames overlap in time "
                    "(one frame per thread live at that moment)",
                    f->num, (unsigned long long)f->data_off, t->max_open >> 20);
    l->buf = malloc(f->ix.rsize ? f->ix.rsize : 1);
    if (!l->buf)
        return fail(err, errlen, HP_ERR_NOMEM, "out of memory");
    t->open_bytes += f->ix.rsize;
    size_t got = ZSTD_decompressDCtx(t->dctx, l->buf, f->ix.rsize, t->cbuf, f->ix.csize);
    if (ZSTD_isError(got) || got != f->ix.rsize)
        return fail(err, errlen, HP_ERR_FORMAT,
                    "frame %zu at offset %llu: cannot decompress (%s)", f->num,
                    (unsigned long long)f->data_off,
                    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size differs from the index");
    l->p = l->buf;
    l->pend = l->buf + f->ix.rsize;
    l->d = (hp_delta_t){.ts = f->ix.first_ts, .pc = 0};
    return 0;
}

static hkey_t lane_key(const hp_trace_t *t, size_t li)
{
    const lane_t *l = &t->lanes[li];
    const frame_t *f = &t->frames[l->cur];
    hkey_t k = {.ts = l->has_ev ? l->ev.ts : f->ix.first_ts, .tid = f->ix.tid,
                .seq = f->ix.seq, .lane = li};
    return k;
}

static int key_less(const hkey_t *x, const hkey_t *y)
{
    if (x->ts != y->ts)
        return x->ts < y->ts;
    if (x->tid != y->tid)
        return x->tid < y->tid;
    if (x->seq != y->seq)
        return x->seq < y->seq;
    return x->lane < y->lane;
}

static void heap_down(hp_trace_t *t, size_t i)
{
    hkey_t *h = t->heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->nheap && key_less(&h[l], &h[m]))
            m = l;
        if (r < t->nheap && key_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        hkey_t tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void heap_up(hp_trace_t *t, size_t i)
{
    hkey_t *h = t->heap;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!key_less(&h[i], &h[p]))
            return;
        hkey_t tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

int hp_trace_next(hp_trace_t *t, hp_trace_event_t *ev, char *err, size_t errlen)
{
    if (!t->started) {
        t->started = 1;
        for (size_t i = 0; i < t->nlanes; i++) {
            t->heap[t->nheap++] = lane_key(t, i);
            heap_up(t, t->nheap - 1);
        }
    }
    while (t->nheap) {
        size_t li = t->heap[0].lane;
        lane_t *l = &t->lanes[li];
        int got = 0;
        if (l->has_ev) {
            *ev = l->ev;
            l->has_ev = 0;
            got = 1;
            if (ev->ts > t->last_ts)
                t->last_ts = ev->ts;
        } else if (!l->buf) {
            int rc = lane_open(t, l, err, errlen);
            if (rc)
                return rc;
        }
        /* Decode the lane's next event now, so the heap can order it. */
        int rc = lane_decode(t, l, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            l->has_ev = 1;
            t->heap[0].ts = l->ev.ts; /* same frame: tid and seq unchanged */
        } else {
            free(l->buf);
            l->buf = NULL;
            t->open_bytes -= t->frames[l->cur].ix.rsize;
            if (++l->cur == l->end)
                t->heap[0] = t->heap[--t->nheap];
            else
                t->heap[0] = lane_key(t, li);
        }
        if (t->nheap > 1)
            heap_down(t, 0);
        if (got)
            return 1;
    }
    return 0;
}

void hp_trace_set_max_open(size_t bytes)
{
    max_open_default = bytes;
}

void hp_trace_set_max_pairs(size_t n)
{
    max_pairs_default = n < HP_TRACE_MAX_PAIRS ? n : HP_TRACE_MAX_PAIRS;
}

const hp_file_header_t *hp_trace_header(const hp_trace_t *t)
{
    return &t->hdr;
}

const char *hp_trace_exe(const hp_trace_t *t)
{
    return t->exe;
}

size_t hp_trace_nframes(const hp_trace_t *t)
{
    return t->nframes;
}

int hp_trace_truncated(const hp_trace_t *t)
{
    return t->truncated;
}

const char *hp_trace_warning(const hp_trace_t *t)
{
    return t->warning;
}

int hp_trace_complete(const hp_trace_t *t, uint64_t *end_ts)
{
    if (end_ts)
        *end_ts = t->end_ts;
    return t->complete;
}

uint64_t hp_trace_last_ts(const hp_trace_t *t)
{
    return t->last_ts;
}

const hp_trace_stack_t *hp_trace_stack(const hp_trace_t *t, uint32_t id)
{
    return find_stack(t, id);
}

const hp_module_t *hp_trace_modules(const hp_trace_t *t, uint32_t gen, size_t *n)
{
    const snapshot_t *best = NULL;
    *n = 0;
    if (!t->nsnaps)
        return NULL;
    for (size_t i = 0; i < t->nsnaps; i++)
        if (t->snaps[i].gen <= gen)
            best = &t->snaps[i];
    if (!best)
        best = &t->snaps[0];
    *n = best->n;
    return best->mods;
}

size_t hp_trace_counters(const hp_trace_t *t, uint64_t *calls, uint64_t *bytes)
{
    for (int i = 0; i < HP_FN_COUNT; i++) {
        calls[i] = t->calls[i];
        bytes[i] = t->bytes[i];
    }
    return t->ncounters;
}

const char *hp_trace_thread_name(const hp_trace_t *t, uint32_t tid)
{
    const char *name = NULL;
    for (size_t i = 0; i < t->ntnames; i++)
        if (t->tnames[i].tid == tid)
            name = t->tnames[i].name; /* the latest name wins */
    return name;
}

size_t hp_trace_npairs(const hp_trace_t *t)
{
    return t->npairs;
}

int hp_trace_pair(const hp_trace_t *t, uint32_t id, uint32_t *slot, uint64_t *size,
                  uint32_t *stack_id)
{
    long s = id ? pair_find(t, id) : -1;
    if (slot)
        *slot = s < 0 ? UINT32_MAX : (uint32_t)s;
    if (s < 0 || !t->pairs[s].defined)
        return 0;
    if (size)
        *size = t->pairs[s].size;
    if (stack_id)
        *stack_id = t->pairs[s].stack;
    return 1;
}

int hp_trace_unreachable(const hp_trace_t *t, const uint32_t **pairs, size_t *n)
{
    *pairs = t->unreach;
    *n = t->nunreach;
    return t->scanned;
}
