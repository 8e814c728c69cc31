/*
 * trace_format.h - the heapprof trace format: the single source of truth.
 *
 * Shared by the recorder (preload/) and the reader (analyzer/). The prose
 * specification is docs/trace-format.md; when the two disagree, this header
 * wins and the doc is the bug.
 *
 * A trace file is a plain sequence of zstd frames, so `zstd -dc trace.zst`
 * prints the concatenated records (skippable frames are ignored by zstd):
 *
 *   [skippable frame: file header (hp_file_header_t)]
 *   { [skippable frame: frame index (hp_frame_index_t)] [zstd frame: records] }*
 *
 * Every (index, data) pair is appended with a single write(2), so a trace cut
 * short by SIGKILL is readable up to its last complete pair. A data frame is
 * independent (its own zstd frame, no dictionary) and holds the records of
 * exactly one thread, in that thread's order. Records never span frames.
 *
 * Records inside a data frame: a uvarint head, then fields. Integers are
 * LEB128 varints (hp_put_uvarint); "svarint" fields are zigzag-encoded deltas.
 * The head of an allocation or free is its block's pair id shifted left by
 * two, with the event kind in the low two bits (hp_enc_alloc, hp_enc_free),
 * so the common event is one to three bytes; any other record's head is
 * (tag << 2) | 3, one byte (hp_enc_tag). Events carry no address and no
 * time of their own: a "pair" names the block's (size, stack) (HP_REC_PAIR),
 * and time advances by HP_REC_TICK records, at the resolution of a coarse
 * clock. Each data frame starts a fresh delta context (hp_delta_t): the
 * current tick is index.first_ts, the pc delta base 0.
 */
#ifndef HEAPPROF_TRACE_FORMAT_H
#define HEAPPROF_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HP_TRACE_MAGIC "HEAPPROF" /* 8 bytes, no NUL, opens the file header */
#define HP_TRACE_VERSION 2u

/* zstd skippable frames: magic 0x184D2A50..5F, then a u32le payload size. */
#define HP_SKIP_MAGIC_HEADER 0x184D2A5Eu /* payload: hp_file_header_t */
#define HP_SKIP_MAGIC_INDEX 0x184D2A5Fu  /* payload: hp_frame_index_t */
#define HP_SKIP_HEADER_SIZE 8u           /* magic + size */

#define HP_MAX_FRAMES 128       /* deepest stack recorded */
#define HP_MAX_PATH 4096        /* longest path stored (module, executable) */
#define HP_MAX_BUILD_ID 64      /* longest build-id stored, in bytes */
#define HP_MAX_FRAME_RAW (1u << 20) /* largest decompressed data frame */

/* Clock of every timestamp in the trace. Version 1 traces used
 * CLOCK_MONOTONIC (1); version 2 ticks with the coarse clock, whose
 * resolution is the kernel's tick (1-4 ms), in ns. */
#define HP_CLOCK_MONOTONIC_NS 1u
#define HP_CLOCK_MONOTONIC_COARSE_NS 2u /* clock_gettime(CLOCK_MONOTONIC_COARSE), ns */

/* Pair ids are uint32, >= 1. */
#define HP_MAX_PAIR UINT32_MAX

/*
 * File header, payload of the first skippable frame. All integers little
 * endian, fixed size; exe_path is NUL-padded to exe_len bytes that follow
 * the fixed part (exe_len <= HP_MAX_PATH, no NUL inside).
 */
typedef struct hp_file_header_s {
    char magic[8];         /* HP_TRACE_MAGIC */
    uint32_t version;      /* HP_TRACE_VERSION */
    uint32_t pid;          /* process that wrote the trace */
    uint32_t ppid;         /* its parent at start (fork children: the parent) */
    uint32_t clock;        /* HP_CLOCK_* */
    uint64_t rate;         /* mean bytes between samples; 1 = full mode */
    uint64_t seed;         /* sampler seed (HEAPPROF_SEED or drawn) */
    uint64_t start_ns;     /* clock value when recording started */
    uint64_t start_unix_ns; /* wall clock at the same moment, for display */
    uint32_t flags;        /* HP_HDR_* */
    uint32_t exe_len;      /* bytes of executable path that follow */
} hp_file_header_t;

#define HP_HDR_FORKED 0x1u /* written by a fork child of a profiled process */

/*
 * Frame index, payload of the skippable frame before each data frame. It
 * lets the reader merge threads into one timeline in a first pass that
 * never decompresses a data frame.
 */
typedef struct hp_frame_index_s {
    uint32_t tid;        /* thread whose records the frame holds; 0 = process */
    uint32_t seq;        /* per-thread frame number, from 0 */
    uint64_t first_ts;   /* the frame's first tick (or the flush time) */
    uint64_t last_ts;    /* its last tick */
    uint32_t csize;      /* compressed size of the data frame that follows */
    uint32_t rsize;      /* its decompressed size, <= HP_MAX_FRAME_RAW */
} hp_frame_index_t;

/*
 * Record tags. HP_REC_ALLOC, HP_REC_FREE and HP_REC_FREE_TEMP are events,
 * encoded in their head with their pair id (no tag byte); the others start
 * with the head (tag << 2) | 3.
 */
enum hp_record_tag {
    /* An allocation of a block of pair `pair` (head only). In sampled mode
     * only sampled allocations are recorded. */
    HP_REC_ALLOC = 1,
    /* A free of a recorded block of pair `pair` (head only). In sampled mode
     * only frees of sampled blocks are recorded. */
    HP_REC_FREE = 2,
    /* As HP_REC_FREE, and the freeing thread made no allocation since this
     * block was allocated: a temporary allocation (docs/trace-format.md). */
    HP_REC_FREE_TEMP = 3,
    /* A call stack: id (uvarint, >= 1), gen (module map generation it was
     * captured under), n (<= HP_MAX_FRAMES), then n pcs as svarint deltas.
     * pcs are return addresses, innermost first, starting at the caller of
     * the allocation function. Each id is defined once per process. */
    HP_REC_STACK = 4,
    /* A full module map snapshot: gen (uvarint, increasing), n, then n
     * modules: bias, start, end (uvarints: load bias, and the address range
     * covered by the PT_LOAD segments), path_len + path bytes, idlen +
     * build-id bytes. Snapshot gen replaces every earlier one for stacks
     * captured under gen. */
    HP_REC_MODULES = 5,
    /* Exact counters of one thread (every call, sampled or not): tid,
     * then HP_FN_COUNT pairs (calls, bytes), each the increase since the
     * thread's previous HP_REC_COUNTERS. Written at thread exit, at process
     * exit for threads still running, and again if a thread is active after
     * that (late destructors, a failed exec). The process totals are the
     * sums over all HP_REC_COUNTERS. */
    HP_REC_COUNTERS = 6,
    /* Recording ended cleanly: ts (absolute uvarint, not delta), reason
     * (HP_END_*). Missing in a killed or crashed process's trace. */
    HP_REC_END = 7,
    /* Thread name: tid, len + bytes (pthread_setname_np / comm). Optional. */
    HP_REC_THREAD_NAME = 8,
    /* Blocks live at exit that no pointer reaches (LeakSanitizer's
     * definition): n, then n pair ids (uvarint), one per block. Written by
     * a full-mode recorder with HEAPPROF_LEAK_SCAN=1 at a normal exit,
     * before HP_REC_END; absent = no scan. A large list is split into
     * several records (one per process frame); the scan's result is their
     * union. */
    HP_REC_UNREACHABLE = 9,
    /* A pair: id (uvarint, >= 1), size (requested bytes), stack (stack id,
     * 0 = none). Events name blocks by pair id. Written by the thread that
     * drew the id, before its first event; each id is defined once per
     * process (ids come from one process-wide counter), while one (size,
     * stack) may be defined under several ids (one per thread, say). */
    HP_REC_PAIR = 10,
    /* Time advances: delta (uvarint, ns) from the frame's current tick to
     * the new one. The events that follow happened at the new tick. */
    HP_REC_TICK = 11,
};

enum hp_end_reason {
    HP_END_EXIT = 1, /* exit() or return from main */
    HP_END_EXEC = 2, /* the process called exec; its new image writes its own trace */
};

/* Functions with exact counters, in HP_REC_COUNTERS order. */
enum hp_fn {
    HP_FN_MALLOC = 0,
    HP_FN_CALLOC,
    HP_FN_REALLOC,        /* counts successful calls that return a block (and, in
                             sampled mode, refused requests under 64 KiB) */
    HP_FN_REALLOCARRAY,
    HP_FN_POSIX_MEMALIGN,
    HP_FN_ALIGNED_ALLOC,
    HP_FN_MEMALIGN,
    HP_FN_VALLOC,
    HP_FN_PVALLOC,
    HP_FN_FREE,           /* calls: blocks freed (free of non-NULL, and the old
                             block of a successful or size-0 realloc); bytes: 0 */
    HP_FN_COUNT
};

/* Names of enum hp_fn, for reports. */
static const char *const hp_fn_names[HP_FN_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc", "free",
};

/* ---- encoding helpers: used by the writer and the reader alike ---- */

/* Delta context of one data frame. */
typedef struct hp_delta_s {
    uint64_t ts; /* the current tick */
    uint64_t pc;
} hp_delta_t;

#define HP_UVARINT_MAX 10 /* bytes of the longest uvarint */

/* Writes v as LEB128 at p (room for HP_UVARINT_MAX bytes); returns the end. */
static inline uint8_t *hp_put_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint64_t hp_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t hp_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Writes the signed difference cur - *prev and updates *prev. */
static inline uint8_t *hp_put_delta(uint8_t *p, uint64_t *prev, uint64_t cur)
{
    p = hp_put_uvarint(p, hp_zigzag((int64_t)(cur - *prev)));
    *prev = cur;
    return p;
}

/*
 * Reads a uvarint from [*pp, end). Returns 0 and advances *pp, or -1 when
 * the input ends early or the varint is longer than 64 bits (both mean a
 * corrupt record: the reader never trusts its input).
 */
static inline int hp_get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads a delta written by hp_put_delta; updates *prev. 0 or -1 as above. */
static inline int hp_get_delta(const uint8_t **pp, const uint8_t *end, uint64_t *prev)
{
    uint64_t z;
    if (hp_get_uvarint(pp, end, &z))
        return -1;
    *prev += (uint64_t)hp_unzigzag(z);
    return 0;
}

/*
 * Record encoders, one per record type: the recorder and the tests' trace
 * writer both use these, so they cannot drift apart. Each writes one record
 * (head included) at p and returns the end. The caller guarantees room: a
 * fixed record needs at most 1 + 6 * HP_UVARINT_MAX bytes; the variable
 * parts are stated per encoder. Delta fields update the matching member of d.
 */

/* The head of a record that is not an event. */
static inline uint8_t *hp_enc_tag(uint8_t *p, unsigned tag)
{
    return hp_put_uvarint(p, (uint64_t)tag << 2 | 3u);
}

/*
 * Splits a record head: sets *tag, and *pair for an event (tag 1-3).
 * Returns 0, or -1 for an event with pair 0 (corrupt).
 */
static inline int hp_dec_head(uint64_t h, unsigned *tag, uint32_t *pair)
{
    if ((h & 3u) == 3u) {
        *tag = (unsigned)(h >> 2 > 0xffu ? 0xffu : h >> 2);
        *pair = 0;
        return 0;
    }
    *tag = (unsigned)(h & 3u) + HP_REC_ALLOC;
    if (h >> 2 == 0 || h >> 2 > HP_MAX_PAIR)
        return -1;
    *pair = (uint32_t)(h >> 2);
    return 0;
}

static inline uint8_t *hp_enc_alloc(uint8_t *p, uint32_t pair)
{
    return hp_put_uvarint(p, (uint64_t)pair << 2);
}

static inline uint8_t *hp_enc_free(uint8_t *p, int temporary, uint32_t pair)
{
    return hp_put_uvarint(p, (uint64_t)pair << 2 | (temporary ? 2u : 1u));
}

static inline uint8_t *hp_enc_pair(uint8_t *p, uint32_t id, uint64_t size, uint64_t stack)
{
    p = hp_enc_tag(p, HP_REC_PAIR);
    p = hp_put_uvarint(p, id);
    p = hp_put_uvarint(p, size);
    return hp_put_uvarint(p, stack);
}

/* Moves the frame's current tick to ts (>= d->ts). */
static inline uint8_t *hp_enc_tick(uint8_t *p, hp_delta_t *d, uint64_t ts)
{
    p = hp_enc_tag(p, HP_REC_TICK);
    p = hp_put_uvarint(p, ts - d->ts);
    d->ts = ts;
    return p;
}

/* n pcs: room for n more HP_UVARINT_MAX. */
static inline uint8_t *hp_enc_stack(uint8_t *p, hp_delta_t *d, uint64_t id, uint64_t gen,
                                    const uint64_t *pcs, uint32_t n)
{
    p = hp_enc_tag(p, HP_REC_STACK);
    p = hp_put_uvarint(p, id);
    p = hp_put_uvarint(p, gen);
    p = hp_put_uvarint(p, n);
    for (uint32_t i = 0; i < n; i++)
        p = hp_put_delta(p, &d->pc, pcs[i]);
    return p;
}

/* The head of HP_REC_MODULES; n hp_enc_module() entries follow. */
static inline uint8_t *hp_enc_modules_head(uint8_t *p, uint64_t gen, uint64_t n)
{
    p = hp_enc_tag(p, HP_REC_MODULES);
    p = hp_put_uvarint(p, gen);
    return hp_put_uvarint(p, n);
}

/* One module of HP_REC_MODULES: room for 5 * HP_UVARINT_MAX + plen + idlen. */
static inline uint8_t *hp_enc_module(uint8_t *p, uint64_t bias, uint64_t start, uint64_t end,
                                     const char *path, size_t plen, const uint8_t *id,
                                     size_t idlen)
{
    p = hp_put_uvarint(p, bias);
    p = hp_put_uvarint(p, start);
    p = hp_put_uvarint(p, end);
    p = hp_put_uvarint(p, plen);
    memcpy(p, path, plen);
    p += plen;
    p = hp_put_uvarint(p, idlen);
    if (idlen)
        memcpy(p, id, idlen);
    return p + idlen;
}

/* Room for 1 + (1 + 2 * HP_FN_COUNT) * HP_UVARINT_MAX. */
static inline uint8_t *hp_enc_counters(uint8_t *p, uint32_t tid, const uint64_t *calls,
                                       const uint64_t *bytes)
{
    p = hp_enc_tag(p, HP_REC_COUNTERS);
    p = hp_put_uvarint(p, tid);
    for (int i = 0; i < HP_FN_COUNT; i++) {
        p = hp_put_uvarint(p, calls[i]);
        p = hp_put_uvarint(p, bytes[i]);
    }
    return p;
}

static inline uint8_t *hp_enc_end(uint8_t *p, uint64_t ts, unsigned reason)
{
    p = hp_enc_tag(p, HP_REC_END);
    p = hp_put_uvarint(p, ts);
    return hp_put_uvarint(p, reason);
}

/* The head of HP_REC_UNREACHABLE: n pair ids (hp_put_uvarint) follow,
 * room for n * HP_UVARINT_MAX. */
static inline uint8_t *hp_enc_unreachable_head(uint8_t *p, uint64_t n)
{
    p = hp_enc_tag(p, HP_REC_UNREACHABLE);
    return hp_put_uvarint(p, n);
}

/* Little-endian fixed-width helpers for the skippable frames. */
static inline void hp_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t hp_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void hp_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t hp_get_le64(const uint8_t *p)
{
    return (uint64_t)hp_get_le32(p) | (uint64_t)hp_get_le32(p + 4) << 32;
}

/*
 * Serialized sizes of the fixed parts (the structs above document the field
 * order; they are never written with memcpy, so padding does not matter).
 */
#define HP_FILE_HEADER_SIZE 64u  /* 8+4*4+8*4+4+4, then exe_len bytes */
#define HP_FRAME_INDEX_SIZE 32u  /* 4+4+8+8+4+4 */

/* Serializes h at p (HP_FILE_HEADER_SIZE bytes; exe path not included). */
static inline void hp_encode_file_header(uint8_t *p, const hp_file_header_t *h)
{
    memcpy(p, h->magic, 8);
    hp_put_le32(p + 8, h->version);
    hp_put_le32(p + 12, h->pid);
    hp_put_le32(p + 16, h->ppid);
    hp_put_le32(p + 20, h->clock);
    hp_put_le64(p + 24, h->rate);
    hp_put_le64(p + 32, h->seed);
    hp_put_le64(p + 40, h->start_ns);
    hp_put_le64(p + 48, h->start_unix_ns);
    hp_put_le32(p + 56, h->flags);
    hp_put_le32(p + 60, h->exe_len);
}

static inline void hp_decode_file_header(const uint8_t *p, hp_file_header_t *h)
{
    memcpy(h->magic, p, 8);
    h->version = hp_get_le32(p + 8);
    h->pid = hp_get_le32(p + 12);
    h->ppid = hp_get_le32(p + 16);
    h->clock = hp_get_le32(p + 20);
    h->rate = hp_get_le64(p + 24);
    h->seed = hp_get_le64(p + 32);
    h->start_ns = hp_get_le64(p + 40);
    h->start_unix_ns = hp_get_le64(p + 48);
    h->flags = hp_get_le32(p + 56);
    h->exe_len = hp_get_le32(p + 60);
}

static inline void hp_encode_frame_index(uint8_t *p, const hp_frame_index_t *x)
{
    hp_put_le32(p, x->tid);
    hp_put_le32(p + 4, x->seq);
    hp_put_le64(p + 8, x->first_ts);
    hp_put_le64(p + 16, x->last_ts);
    hp_put_le32(p + 24, x->csize);
    hp_put_le32(p + 28, x->rsize);
}

static inline void hp_decode_frame_index(const uint8_t *p, hp_frame_index_t *x)
{
    x->tid = hp_get_le32(p);
    x->seq = hp_get_le32(p + 4);
    x->first_ts = hp_get_le64(p + 8);
    x->last_ts = hp_get_le64(p + 16);
    x->csize = hp_get_le32(p + 24);
    x->rsize = hp_get_le32(p + 28);
}

#endif /* HEAPPROF_TRACE_FORMAT_H */
