/*
 * tbuf.c - per-thread records, exact counters, the stack table.
 *
 * Thread records are mmap'd (never freed, reused after their thread
 * exits) and linked into a global list that only grows, so the exit path
 * can walk it without locks. The owner appends to its buffer between
 * busy=1 / busy=0; the exit (or exec) path sets `stopping`, then waits for
 * each busy flag to drop before reading the buffer (a Dekker handshake with
 * seq_cst fences on both sides; the wait is bounded and a thread that stays
 * busy is skipped). The exact counters live in the owner's TLS block (the
 * hot path adds to them with no pointer to follow), malloc's fast calls in
 * its countdown word (countdown.h) until a slow path settles them; the
 * record holds their address, which the owner switches to a copy in the
 * record, inside the busy bracket, before its thread (and TLS block) goes
 * away. The exit flush reads a live thread's word too. Counters are
 * emitted as deltas since the last HP_REC_COUNTERS of that record, so the
 * process totals are always the sum of all counter records (see
 * docs/trace-format.md).
 *
 * Allocations and frees name their block by a pair id (trace_format.h):
 * each thread keeps a small cache of the (size, stack) pairs it defined,
 * ids come from one process-wide counter, and the live-block map
 * (liveset.c) gives a free the pair of its allocation. Time is the coarse
 * clock, written as HP_REC_TICK when it moves.
 *
 * The stack table is a lock-free open-addressing table keyed by a 64-bit
 * hash of the pcs, with the pcs themselves kept in a bump arena for exact
 * comparison; ids are handed out by an atomic counter. This module does
 * not open files or compress (writer.c) and does not decide the life cycle
 * (init.c).
 */
#include "tbuf.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard.h"
#include "heapprof/error.h"
#include "init.h"
#include "liveset.h"
#include "options.h"
#include "place.h"
#include "real.h"
#include "sampler.h"
#include "unwind.h"
#include "vmem.h"
#include "writer.h"

__thread hp_tls_t hp_tls = {.guard = HP_TLS_DETACHED};
int hp_tbuf_mode;
static int placing; /* sampled blocks are placed (HP_PLACE_MASK) */

#define TBUF_CAP (HP_MAX_FRAME_RAW - 4096u)
#define RECORD_MAX (2u * 1024u) /* > largest record: a STACK of 128 pcs */

/*
 * A thread's memo of recent stacks, indexed by a quick mix of the innermost
 * pcs (not the first alone: programs allocate through wrappers, whose pcs
 * are the same for every site): a loop that allocates from the same few
 * sites finds its stack here without hashing all of it and probing the
 * shared table (a cache miss). Stacks of up to STK_MEMO_FRAMES only.
 */
#define STK_MEMO 64
#define STK_MEMO_FRAMES 32

typedef struct stk_memo_s {
    uint32_t id; /* 0: empty */
    uint32_t n;
    uintptr_t pcs[STK_MEMO_FRAMES];
} stk_memo_t;

/*
 * A thread's cache of the pairs it defined: (size, stack) -> id, open
 * addressing without deletion; a full probe window evicts the home slot
 * (the evicted pair is defined again under a new id when it recurs). The
 * home slot is a hash of the stack plus the size, so the pairs of one site
 * share a few pages (each first touch of a page is a page fault).
 */
#define PAIR_LOG 15
#define PAIR_SLOTS (1u << PAIR_LOG)
#define PAIR_PROBE 8

typedef struct pair_slot_s {
    uint64_t size;
    uint32_t stack;
    uint32_t id; /* 0: empty */
} pair_slot_t;

typedef struct hp_thread_s hp_thread_t;
struct hp_thread_s {
    hp_counters_t *live;    /* the owner's hp_tls.counters, or &final */
    hp_counters_t final;    /* the owner's last counts once it exited */
    hp_counters_t emitted;  /* what HP_REC_COUNTERS already carried */
    hp_thread_t *next;      /* registry, never unlinked */
    int in_use;             /* owned by a live thread */
    int busy;               /* owner is appending */
    uint32_t tid;
    uint32_t seq;  /* frames written */
    uintptr_t tls;        /* the owner's hp_tls */
    uintptr_t stack_hint; /* an address on the owner's stack (attach's frame) */
    int rounds;    /* thread-exit destructor calls */
    uint64_t mark; /* activity seen by the last destructor call */
    hp_sampler_t sampler;
    size_t len;
    hp_delta_t delta;
    uint64_t first_ts; /* the frame's first tick; delta.ts is its last */
    int have_ts;
    stk_memo_t memo[STK_MEMO];
    pair_slot_t *pairs; /* PAIR_SLOTS, mmap'd; NULL: no cache */
    hp_place_kept_t kept; /* freed samples kept for the next (place.h) */
    uint8_t buf[TBUF_CAP];
};

static void membarrier_setup(void);

static hp_thread_t *registry;
static int stopping;
static int flushing; /* hp_tbuf_flush_all is reading other threads' counters */
static uint64_t ordinals;
static uint64_t last_pair; /* the last pair id drawn, process-wide */
static __thread hp_thread_t *me; /* NULL until attached and after exit */

/*
 * Calls a thread makes after its exit callback (init.c) has run: other
 * destructors, and glibc's last stage of thread exit, where a detached
 * thread frees the thread descriptors (DTVs) it evicts from glibc's stack
 * cache. Such calls count into `late`, process-wide, and their recorded
 * frees go out in process frames. A thread whose first call comes in that
 * last stage must not attach at all: its exit callback would never run,
 * and its record would point at counters in a TLS block about to be
 * unmapped or reused (the final flush then read freed memory). glibc
 * blocks every signal there, SIGCANCEL (the first real-time signal, which
 * no program can block through glibc) included, and nowhere a program
 * runs its own code.
 */
static hp_counters_t late;
static __thread int exiting;

static int in_final_exit(void)
{
    uint64_t mask = 0; /* the kernel's sigset: one bit per signal */
    if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, sizeof mask) != 0)
        return 0;
    return (int)(mask >> (__SIGRTMIN - 1) & 1);
}

/* ---- the countdown word (countdown.h) ---- */

/* A draw that never comes: mode 0 and threads that do not record. */
#define CD_NEVER ((int64_t)1 << 62)

/* The explicit sum of counters c with t's correction: bytes counted by
 * calls that are not fast mallocs, less those not taken from the word
 * (modulo 2^64). */
static uint64_t cd_explicit(const hp_counters_t *c, const hp_tls_t *t)
{
    uint64_t e = 0;
    for (int i = 0; i < HP_FN_COUNT; i++)
        e += c->bytes[i];
    return e - __atomic_load_n(&t->untaken, __ATOMIC_RELAXED);
}

/* Moves what the calling thread's word counted since its last settle into
 * its counters. Under the guard: the word is hp_tls.held. The word's new
 * base goes first, so an exit flush reading meanwhile (cd_pending) comes
 * out short, which the next reading makes up, never long. */
static void cd_settle(void)
{
    hp_tls_t *t = &hp_tls;
    int64_t grew;
    if (hp_cd_quiet(t->armed, t->held, &grew)) { /* in full mode, every time */
        __atomic_store_n(&t->armed, t->held, __ATOMIC_RELAXED);
        __atomic_store_n(&t->seen, t->seen + (uint64_t)grew, __ATOMIC_RELAXED);
        return;
    }
    uint64_t e = cd_explicit(&t->counters, t), calls, bytes;
    (void)hp_cd_split(t->armed, t->held, e - t->seen, &calls, &bytes);
    __atomic_store_n(&t->armed, t->held, __ATOMIC_RELAXED);
    __atomic_store_n(&t->seen, e + bytes, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    hp_tbuf_add(&t->counters.calls[HP_FN_MALLOC], calls);
    hp_tbuf_add(&t->counters.bytes[HP_FN_MALLOC], bytes);
}

/* Starts counting the word afresh after the counters were cleared: what it
 * counted since its last settle is forgotten. Under the guard. */
static void cd_restart(void)
{
    hp_tls_t *t = &hp_tls;
    t->untaken = 0;
    __atomic_store_n(&t->armed, t->held, __ATOMIC_RELAXED);
    __atomic_store_n(&t->seen, cd_explicit(&t->counters, t), __ATOMIC_RELAXED);
}

/* Settles, then arms the word with a draw of `bytes` (0 .. 2^62) to go.
 * Under the guard. */
static void cd_arm(int64_t bytes)
{
    hp_tls_t *t = &hp_tls;
    cd_settle();
    t->held = hp_cd_arm(bytes, &t->carry);
    __atomic_store_n(&t->armed, t->held, __ATOMIC_RELAXED);
}

/* hp_cd_crosses for the calling thread's word, arming what is left when
 * the allocation does not cross. Under the guard. */
static int cd_crosses(int64_t rest)
{
    hp_tls_t *t = &hp_tls;
    int64_t left;
    if (hp_cd_crosses(t->held, t->carry, rest, &left))
        return 1;
    if (t->carry || rest)
        cd_arm(left);
    return 0;
}

/* Another thread's word, read while the owner may run on, for counters c
 * read from it just before: the malloc fast calls and bytes the word
 * counted since its last settle, or none when the reading is not plausible
 * (countdown.h). A settle in between makes the reading short (cd_settle). */
static void cd_pending(const hp_tls_t *t, const hp_counters_t *c, uint64_t *calls,
                       uint64_t *bytes)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint64_t e = cd_explicit(c, t) - __atomic_load_n(&t->seen, __ATOMIC_RELAXED);
    int64_t armed = __atomic_load_n(&t->armed, __ATOMIC_RELAXED);
    uint32_t g = __atomic_load_n(&t->guard, __ATOMIC_RELAXED);
    int64_t w = __atomic_load_n((g & HP_TLS_DEPTH) ? &t->held : &t->countdown, __ATOMIC_RELAXED);
    if (hp_cd_split(armed, w, e, calls, bytes) != 0)
        *calls = *bytes = 0;
}

/* Moves the calling thread's counts to `late`. */
static void count_late(void)
{
    cd_settle();
    for (int i = 0; i < HP_FN_COUNT; i++) {
        __atomic_add_fetch(&late.calls[i], hp_tls.counters.calls[i], __ATOMIC_RELAXED);
        __atomic_add_fetch(&late.bytes[i], hp_tls.counters.bytes[i], __ATOMIC_RELAXED);
    }
    memset(&hp_tls.counters, 0, sizeof hp_tls.counters);
    cd_restart();
}

/* ---- stack table ---- */

#define STK_LOG 20
#define STK_SLOTS (1u << STK_LOG)
#define STK_PROBE 256
#define PCS_ARENA (256u << 20)

typedef struct stk_slot_s {
    uint64_t key; /* hash | 1; 0 = empty */
    uint32_t id;  /* 0 until published */
    uint32_t n;
    uintptr_t *pcs;
} stk_slot_t;

static stk_slot_t *stk;
static uintptr_t *pcs_arena;
static size_t pcs_used;
static uint32_t next_id;

/* Empties th's pair cache. */
static void pairs_reset(hp_thread_t *th)
{
    if (th->pairs && hp_vmem_zero(th->pairs, PAIR_SLOTS * sizeof(pair_slot_t)))
        th->pairs = NULL;
}

int hp_tbuf_init(void)
{
    membarrier_setup();
    if (!stk)
        stk = hp_vmem_map(STK_SLOTS * sizeof(stk_slot_t), 1);
    if (!pcs_arena)
        pcs_arena = hp_vmem_map(PCS_ARENA, 1);
    return stk && pcs_arena ? 0 : HP_ERR_NOMEM;
}

void hp_tbuf_stack_reset(void)
{
    /* A failure means no stacks from here on (hp_tbuf_stack_id tests stk). */
    if ((stk && hp_vmem_zero(stk, STK_SLOTS * sizeof(stk_slot_t))) ||
        (pcs_arena && hp_vmem_zero(pcs_arena, PCS_ARENA)))
        stk = NULL;
    pcs_used = 0;
    next_id = 0;
}

static uint64_t hash_pcs(const uintptr_t *pcs, int n)
{
    uint64_t h = 0xcbf29ce484222325u ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3u;
        h ^= h >> 29;
    }
    return h | 1;
}

uint32_t hp_tbuf_stack_id(const uintptr_t *pcs, int n, int *inserted)
{
    *inserted = 0;
    if (!stk)
        return 0;
    uint64_t h = hash_pcs(pcs, n);
    for (uint32_t i = 0; i < STK_PROBE; i++) {
        stk_slot_t *s = &stk[(h + i * 0x9e3779b1u) & (STK_SLOTS - 1)];
        uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (k == 0) {
            if (!__atomic_compare_exchange_n(&s->key, &k, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                goto taken;
            /* Ours: copy the pcs, take an id, publish. */
            size_t at = __atomic_fetch_add(&pcs_used, (size_t)n, __ATOMIC_RELAXED);
            uint32_t id = 0;
            if ((at + (size_t)n) * sizeof(uintptr_t) <= PCS_ARENA) {
                memcpy(pcs_arena + at, pcs, (size_t)n * sizeof(uintptr_t));
                s->pcs = pcs_arena + at;
                s->n = (uint32_t)n;
                id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
            } else {
                s->n = UINT32_MAX; /* poisoned: never matches */
            }
            __atomic_store_n(&s->id, id ? id : UINT32_MAX, __ATOMIC_RELEASE);
            *inserted = id != 0;
            return id;
        }
    taken:
        if (k != h)
            continue;
        uint32_t id;
        while ((id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE)) == 0)
            sched_yield();
        if (id != UINT32_MAX && s->n == (uint32_t)n &&
            memcmp(s->pcs, pcs, (size_t)n * sizeof(uintptr_t)) == 0)
            return id;
    }
    return 0;
}

/* ---- thread records ---- */

static hp_thread_t *attach(void)
{
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    hp_thread_t *th;
    for (th = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); th; th = th->next) {
        int z = 0;
        if (__atomic_load_n(&th->in_use, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&th->in_use, &z, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            break;
    }
    if (!th) {
        void *m = hp_vmem_map(sizeof(hp_thread_t), 0);
        if (!m)
            return NULL;
        th = m;
        th->in_use = 1;
        /* The memo's pages, written before they are read (vmem.h). */
        memset(th->memo, 0, sizeof th->memo);
        th->pairs = hp_vmem_map(PAIR_SLOTS * sizeof(pair_slot_t), 1);
        hp_thread_t *head = __atomic_load_n(&registry, __ATOMIC_RELAXED);
        do
            th->next = head;
        while (!__atomic_compare_exchange_n(&registry, &head, th, 0, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED));
    } else {
        /* A reused record: its previous owner's counters were all emitted. */
        memset(&th->final, 0, sizeof th->final);
        memset(&th->emitted, 0, sizeof th->emitted);
        th->len = 0;
        th->have_ts = 0;
        memset(&th->delta, 0, sizeof th->delta);
        memset(th->memo, 0, sizeof th->memo);
        pairs_reset(th); /* its ids may be defined in an earlier frame only */
    }
    /* The counts made before attaching belong to this record too. */
    __atomic_store_n(&th->live, &hp_tls.counters, __ATOMIC_RELEASE);
    th->tid = tid;
    th->tls = (uintptr_t)&hp_tls;
    th->stack_hint = (uintptr_t)__builtin_frame_address(0);
    th->seq = 0;
    th->rounds = 0;
    th->mark = 0;
    uint64_t ord = __atomic_fetch_add(&ordinals, 1, __ATOMIC_RELAXED);
    hp_sampler_seed(&th->sampler, hp_options.seed, ord, hp_options.rate);
    return th;
}

static inline hp_thread_t *self(void)
{
    return me;
}

/*
 * The handshake with the exit path is asymmetric when the kernel offers
 * membarrier(PRIVATE_EXPEDITED): appenders, which run on every recorded
 * event, then need only a compiler barrier, and the rare flusher makes every
 * running thread execute a full fence before it reads the busy flags.
 * Without membarrier both sides use seq_cst fences.
 */
static int use_membarrier;

static void membarrier_setup(void)
{
    long r = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (r > 0 && (r & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        use_membarrier = 1;
}

static void flusher_fence(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (use_membarrier && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        /* Cannot happen once registered; fall back for the appenders too
         * (they see the flag at their next event, the wait below covers
         * the current one). */
        __atomic_store_n(&use_membarrier, 0, __ATOMIC_SEQ_CST);
    }
}

static int append_begin(hp_thread_t *th)
{
    __atomic_store_n(&th->busy, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&use_membarrier, __ATOMIC_RELAXED))
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    else
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
        __atomic_store_n(&th->busy, 0, __ATOMIC_RELEASE);
        return -1;
    }
    return 0;
}

static void append_end(hp_thread_t *th)
{
    __atomic_store_n(&th->busy, 0, __ATOMIC_RELEASE);
}

/*
 * Who inserts into the map of live blocks (liveset.h). While at most one
 * thread ever attached (ALONE), that thread claims a slot with a load and a
 * store, not a CAS (in full mode on churn the CAS was a tenth of the run);
 * other threads only remove, and only their own blocks' slots. The second
 * thread to attach switches every inserter to CAS with the exit path's
 * handshake before it inserts anything: it publishes SWITCHING, fences
 * (flusher_fence), and waits for each record's busy bracket, inside which
 * every plain insert runs and reads the state, to drop. Threads arriving
 * meanwhile wait for MANY. A fork child, one thread, starts over.
 */
enum { ALONE, SWITCHING, MANY };
static int inserters = ALONE;
static int attached_before; /* a thread has attached since start or fork */

/* Waits (bounded, as the exit path does) for th's busy bracket to end. */
static int wait_not_busy(hp_thread_t *th)
{
    int spins = 0;
    while (__atomic_load_n(&th->busy, __ATOMIC_ACQUIRE) && spins < 100000) {
        spins++;
        sched_yield();
    }
    return spins < 100000;
}

static void inserters_many(void)
{
    int s = ALONE;
    if (__atomic_compare_exchange_n(&inserters, &s, SWITCHING, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_ACQUIRE)) {
        flusher_fence();
        for (hp_thread_t *th = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); th; th = th->next)
            wait_not_busy(th); /* stuck: a thread stopped inside a hook inserts nothing */
        __atomic_store_n(&inserters, MANY, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&inserters, __ATOMIC_ACQUIRE) != MANY)
        sched_yield();
}

/* Inside the caller's busy bracket: whether it is the only inserter. */
static int inserting_alone(void)
{
    return __atomic_load_n(&inserters, __ATOMIC_RELAXED) == ALONE;
}

/* Writes th's buffer as one frame. Caller owns th (busy or exit path). */
static int flush_thread(hp_thread_t *th)
{
    if (th->len == 0)
        return 0;
    uint64_t now = 0;
    if (!th->have_ts) {
        now = hp_tbuf_now();
        th->first_ts = th->delta.ts = now;
    }
    int rc = hp_writer_frame(th->tid, th->seq, th->first_ts, th->delta.ts, th->buf, th->len);
    th->seq++;
    th->len = 0;
    th->have_ts = 0;
    memset(&th->delta, 0, sizeof th->delta);
    if (rc == HP_ERR_IO)
        hp_init_stop();
    return rc;
}

/* Makes room for one record of at most `need` bytes. */
static inline int room(hp_thread_t *th, size_t need)
{
    if (th->len + need <= TBUF_CAP)
        return 0;
    return flush_thread(th);
}

/* Brings the frame's current tick up to now (an HP_REC_TICK when the clock
 * moved). Needs room for one small record. */
static inline void tick(hp_thread_t *th)
{
    uint64_t now = hp_tbuf_now();
    if (!th->have_ts) {
        th->have_ts = 1;
        th->first_ts = th->delta.ts = now;
    } else if (now > th->delta.ts) {
        th->len = (size_t)(hp_enc_tick(th->buf + th->len, &th->delta, now) - th->buf);
    }
}

/*
 * The pair id of (size, stack) in th's cache; when th has none, draws a
 * new one, caches it and sets *fresh (the caller writes its HP_REC_PAIR
 * before using it). Returns 0 when ids ran out (the block goes unrecorded).
 */
static uint32_t pair_id(hp_thread_t *th, uint64_t size, uint32_t stack, int *fresh)
{
    pair_slot_t *slot = NULL;
    *fresh = 1;
    if (th->pairs) {
        uint64_t h = ((uint64_t)stack + 1) * 0xc2b2ae3d27d4eb4fu;
        uint32_t home = (uint32_t)((h >> (64 - PAIR_LOG)) + size) & (PAIR_SLOTS - 1);
        /* Its page written before read (vmem.h); a window that runs into
         * the next page (3 in 100) may still take a copy-on-write fault. */
        hp_vmem_touch(&th->pairs[home]);
        for (uint32_t i = 0; i < PAIR_PROBE && !slot; i++) {
            pair_slot_t *s = &th->pairs[(home + i) & (PAIR_SLOTS - 1)];
            if (s->id && s->size == size && s->stack == stack) {
                *fresh = 0;
                return s->id;
            }
            if (!s->id)
                slot = s;
        }
        if (!slot)
            slot = &th->pairs[home];
    }
    uint64_t id = __atomic_add_fetch(&last_pair, 1, __ATOMIC_RELAXED);
    if (id > HP_MAX_PAIR)
        return 0;
    if (slot)
        *slot = (pair_slot_t){.size = size, .stack = stack, .id = (uint32_t)id};
    return (uint32_t)id;
}

/* What a counter grew by since *emitted, which it then becomes. A counter
 * read from a running thread may come out ahead of what it settles to (a
 * take seen before its count, countdown.h): it never goes back. */
static uint64_t grown(uint64_t now, uint64_t *emitted)
{
    if (now <= *emitted)
        return 0;
    uint64_t d = now - *emitted;
    *emitted = now;
    return d;
}

static void emit_counters(hp_thread_t *th)
{
    uint64_t calls[HP_FN_COUNT], bytes[HP_FN_COUNT];
    int any = 0;
    hp_counters_t now, *c = __atomic_load_n(&th->live, __ATOMIC_SEQ_CST); /* see thread_exit */
    for (int i = 0; i < HP_FN_COUNT; i++) {
        now.calls[i] = __atomic_load_n(&c->calls[i], __ATOMIC_RELAXED);
        now.bytes[i] = __atomic_load_n(&c->bytes[i], __ATOMIC_RELAXED);
    }
    hp_tls_t *owner = (hp_tls_t *)th->tls;
    if (c == &owner->counters) { /* a live thread: its word counts too */
        uint64_t fast_calls, fast_bytes;
        cd_pending(owner, &now, &fast_calls, &fast_bytes);
        now.calls[HP_FN_MALLOC] += fast_calls;
        now.bytes[HP_FN_MALLOC] += fast_bytes;
    }
    for (int i = 0; i < HP_FN_COUNT; i++) {
        calls[i] = grown(now.calls[i], &th->emitted.calls[i]);
        bytes[i] = grown(now.bytes[i], &th->emitted.bytes[i]);
        any |= calls[i] != 0 || bytes[i] != 0;
    }
    if (!any)
        return;
    if (room(th, RECORD_MAX))
        return;
    th->len = (size_t)(hp_enc_counters(th->buf + th->len, th->tid, calls, bytes) - th->buf);
}

/* ---- slow paths ---- */

/* Returns this thread's record, attaching it when recording; NULL otherwise
 * (then the thread's counts are never read and it does not sample). Runs
 * under the guard: the countdown is hp_tls.held. */
static hp_thread_t *ensure_thread(void)
{
    hp_thread_t *th = self();
    if (th)
        return th;
    int st = hp_init_ensure();
    if (st == HP_ST_RECORDING && (exiting || in_final_exit())) {
        exiting = 1;
        count_late();
        cd_arm(0); /* stays detached: each call comes back here */
        return NULL;
    }
    if (st == HP_ST_RECORDING && !__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
        th = attach();
        if (th) {
            if (__atomic_exchange_n(&attached_before, 1, __ATOMIC_ACQ_REL))
                inserters_many(); /* before this thread's first insert */
            me = th;
            cd_arm(hp_sampler_draw(&th->sampler));
            hp_tls.fmask_held = placing ? HP_PLACE_MASK : 0; /* 0: every free looks */
            hp_tls.guard &= ~HP_TLS_DETACHED;
            hp_init_thread_attached();
            return th;
        }
    }
    /* Initializing elsewhere: retry at the next call. Otherwise the thread
     * never samples and its frees stay on the fast path. */
    if (st == HP_ST_INITIALIZING) {
        cd_arm(0);
    } else {
        cd_arm(CD_NEVER);
        hp_tls.fmask_held = HP_PLACE_MASK; /* nothing of this thread is recorded */
        hp_tls.guard &= ~HP_TLS_DETACHED;
    }
    return NULL;
}

/* Allocation calls this thread has counted (all functions but free), its
 * word's included. Under the guard. */
static uint64_t alloc_calls(void)
{
    uint64_t n = ((uint64_t)hp_tls.armed - (uint64_t)hp_tls.held) & HP_CD_CALLS_MASK;
    for (int i = 0; i < HP_FN_COUNT; i++)
        n += i == HP_FN_FREE ? 0 : hp_tls.counters.calls[i];
    return n;
}

/* hp_tbuf_stack_id through th's memo. */
static uint32_t memo_stack_id(hp_thread_t *th, const uintptr_t *pcs, int n, int *inserted)
{
    uint64_t h = (uint64_t)n;
    for (int i = 0; i < n && i < 6; i++)
        h = (h ^ pcs[i]) * 0x9e3779b97f4a7c15u;
    stk_memo_t *m = &th->memo[h >> 58]; /* 64 = 2^6 entries */
    if (m->id && m->n == (uint32_t)n) {
        int i = 0;
        while (i < n && m->pcs[i] == pcs[i])
            i++;
        if (i == n) {
            *inserted = 0;
            return m->id;
        }
    }
    uint32_t id = hp_tbuf_stack_id(pcs, n, inserted);
    if (id && n <= STK_MEMO_FRAMES) {
        m->id = id;
        m->n = (uint32_t)n;
        memcpy(m->pcs, pcs, (size_t)n * sizeof *pcs);
    }
    return id;
}

/* Inline into hp_tbuf_alloc_slow: one frame less for every unwind. */
static inline __attribute__((always_inline)) void record_alloc(hp_thread_t *th, void *p,
                                                               size_t n)
{
    uintptr_t buf[HP_UNWIND_BUF];
    const uintptr_t *pcs;
    int np = hp_unwind_capture(buf, &pcs);
    if (append_begin(th))
        return;
    if (room(th, 2 * RECORD_MAX) == 0) {
        int inserted = 0, fresh = 0;
        uint32_t id = np ? memo_stack_id(th, pcs, np, &inserted) : 0;
        if (inserted)
            th->len = (size_t)(hp_enc_stack(th->buf + th->len, &th->delta, id,
                                                 hp_init_modgen(), pcs, np) -
                               th->buf);
        tick(th);
        uint32_t pair = pair_id(th, n, id, &fresh);
        if (pair) {
            if (fresh)
                th->len = (size_t)(hp_enc_pair(th->buf + th->len, pair, n, id) - th->buf);
            th->len = (size_t)(hp_enc_alloc(th->buf + th->len, pair) - th->buf);
            hp_liveset_insert((uintptr_t)p, pair, n, inserting_alone());
        }
    }
    append_end(th);
    /* A free of p before any other allocation is a temporary. In full mode
     * every allocation comes here; in sampled mode the unsampled ones do
     * not, so remember how many allocations had been counted. */
    hp_tls.last_alloc = (uintptr_t)p;
    hp_tls.last_calls = hp_tbuf_mode == 1 ? alloc_calls() : 0;
}

/*
 * hp_tbuf_alloc_slow for an allocation of n bytes (a zero-byte one counts
 * as one) that took `taken` of them from the word: the rest goes against
 * the countdown here, in bytes (countdown.h).
 */
static void *alloc_slow_taken(int fn, void *p, size_t n, size_t taken)
{
    hp_tls_t *t = &hp_tls;
    if (t->guard & HP_TLS_DEPTH) {
        /* The profiler's own allocation: forwarded only. Its take moved the
         * parked word; put it back before a long run of them overflows it. */
        if (t->countdown < HP_TLS_GUARDED)
            t->countdown = HP_TLS_GUARDED;
        return p;
    }
    int saved_errno = errno; /* a successful call must not change errno */
    hp_guard_enter();        /* from here on the countdown is t->held */
    hp_tbuf_add(&t->counters.calls[fn], 1);
    hp_tbuf_add(&t->counters.bytes[fn], n);
    if (n != taken) /* zero-byte and huge blocks */
        hp_tbuf_add(&t->untaken, n - taken);
    int64_t want = hp_cd_want(n), rest = want - (int64_t)taken;
    hp_thread_t *th = self();
    if (!th) {
        th = ensure_thread(); /* arms a fresh draw: the whole block goes against it */
        if (!th)
            goto out;
        rest = want;
    }
    if (!cd_crosses(rest))
        goto out;
    int mode = __atomic_load_n(&hp_tbuf_mode, __ATOMIC_ACQUIRE);
    if (mode == 0) {
        cd_arm(CD_NEVER);
        goto out;
    }
    if (placing && ((uintptr_t)p & HP_PLACE_MASK)) {
        void *q = hp_place(&th->kept, fn, p, n);
        if (q)
            p = q;
        else
            goto drawn; /* cannot place it: not recorded */
    }
    record_alloc(th, p, n);
drawn:
    cd_arm(mode == 2 ? 0 : hp_sampler_draw(&th->sampler));
out:
    hp_guard_leave();
    errno = saved_errno;
    return p;
}

void *hp_tbuf_alloc_slow(int fn, void *p, size_t n)
{
    return alloc_slow_taken(fn, p, n, n);
}

void *hp_tbuf_alloc_odd(int fn, void *p, size_t n)
{
    if (n >= HP_CD_BIG)
        return alloc_slow_taken(fn, p, n, 0);
    /* A zero-byte block takes one byte, so it can be sampled, and counts none. */
    if (hp_tbuf_take_nz(&hp_tls.countdown, hp_cd_take(1)))
        return alloc_slow_taken(fn, p, 0, 1);
    hp_tbuf_add(&hp_tls.untaken, (uint64_t)-1);
    hp_tbuf_count(fn, 0);
    return p;
}

int hp_tbuf_free_begin_slow(void *p, uint32_t *pair)
{
    int m = __atomic_load_n(&hp_tbuf_mode, __ATOMIC_RELAXED);
    /* Once recording stopped (exit: mode 0 before the leak scan), a free
     * is not recorded but still leaves the map, which the scan reads. */
    return hp_liveset_remove((uintptr_t)p, pair) && m != 0;
}

void hp_tbuf_free_abort(void *p, int tracked, uint32_t pair)
{
    if (!tracked)
        return;
    /* realloc failed: p stays live. Its requested size went with its
     * entry; the exit scan takes its usable size instead. */
    inserters_many(); /* outside any busy bracket: inserts by CAS from now on */
    hp_liveset_insert((uintptr_t)p, pair, hp_real_ready() ? hp_real.malloc_usable_size(p) : 0, 0);
}

void hp_tbuf_free_end_slow(void *p, int tracked, uint32_t pair)
{
    int saved_errno = errno; /* free() preserves errno (POSIX.1-2024, glibc) */
    hp_guard_enter();
    hp_tls_t *t = &hp_tls;
    hp_thread_t *th = self();
    hp_tbuf_add(&t->counters.calls[HP_FN_FREE], 1); /* before a late count moves it */
    if (t->guard & HP_TLS_DETACHED)
        th = ensure_thread();
    if (tracked && !th && exiting) {
        uint8_t rec[HP_UVARINT_MAX];
        hp_tbuf_write_process(rec, (size_t)(hp_enc_free(rec, 0, pair) - rec), hp_tbuf_now());
    }
    if (tracked && th && append_begin(th) == 0) {
        if (room(th, RECORD_MAX) == 0) {
            tick(th);
            int temp = t->last_alloc == (uintptr_t)p &&
                       (hp_tbuf_mode != 1 || alloc_calls() == t->last_calls);
            th->len = (size_t)(hp_enc_free(th->buf + th->len, temp, pair) - th->buf);
        }
        append_end(th);
    }
    hp_guard_leave();
    errno = saved_errno;
}

int hp_tbuf_keep_slow(void *p)
{
    if (!placing)
        return 0;
    hp_guard_enter(); /* a signal handler's free cannot touch the list meanwhile */
    hp_thread_t *th = self();
    int kept = th && hp_place_keep(&th->kept, p);
    hp_guard_leave();
    return kept;
}

size_t hp_tbuf_keepable_slow(void *p)
{
    return placing ? hp_place_keepable(p) : 0;
}

/* ---- life cycle ---- */

int hp_tbuf_thread_find(uint32_t tid, uintptr_t *tls, uintptr_t *stack_hint)
{
    for (hp_thread_t *th = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); th; th = th->next) {
        if (!__atomic_load_n(&th->in_use, __ATOMIC_ACQUIRE) || th->tid != tid)
            continue;
        *tls = th->tls;
        *stack_hint = th->stack_hint;
        return 0;
    }
    return -1;
}

void hp_tbuf_set_mode(int mode, int placed)
{
    /* Before the mode is published: a free of a block recorded in full mode
     * must find the filter saturated (the allocation read the mode with
     * acquire, and the free comes after it). Threads attach only once
     * recording, after this. */
    if (mode == 2)
        hp_liveset_saturate();
    placing = mode == 1 && placed;
    __atomic_store_n(&hp_tbuf_mode, mode, __ATOMIC_RELEASE);
}

int hp_tbuf_write_process(const uint8_t *raw, size_t len, uint64_t ts)
{
    static uint32_t seq;
    return hp_writer_frame(0, __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED), ts, ts, raw, len);
}

/* The counts of threads that came first in their last stage of exit, as
 * a COUNTERS record of its own (tid 0) in a process frame. */
static void emit_late(void)
{
    uint64_t calls[HP_FN_COUNT], bytes[HP_FN_COUNT];
    int any = 0;
    for (int i = 0; i < HP_FN_COUNT; i++) {
        calls[i] = __atomic_exchange_n(&late.calls[i], 0, __ATOMIC_RELAXED);
        bytes[i] = __atomic_exchange_n(&late.bytes[i], 0, __ATOMIC_RELAXED);
        any |= calls[i] != 0 || bytes[i] != 0;
    }
    uint8_t rec[RECORD_MAX];
    if (any)
        hp_tbuf_write_process(rec, (size_t)(hp_enc_counters(rec, 0, calls, bytes) - rec),
                              hp_tbuf_now());
}

void hp_tbuf_flush_all(int reason)
{
    __atomic_add_fetch(&flushing, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
    flusher_fence();
    for (hp_thread_t *th = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); th; th = th->next) {
        if (!wait_not_busy(th))
            continue; /* stuck (a thread stopped inside a hook): skip it */
        emit_counters(th);
        flush_thread(th);
    }
    __atomic_sub_fetch(&flushing, 1, __ATOMIC_SEQ_CST);
    emit_late();
    uint8_t end[1 + 2 * HP_UVARINT_MAX];
    uint64_t ts = hp_tbuf_now();
    size_t n = (size_t)(hp_enc_end(end, ts, reason) - end);
    hp_tbuf_write_process(end, n, ts);
}

void hp_tbuf_resume(void)
{
    __atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
}

int hp_tbuf_thread_exit(void)
{
    hp_thread_t *th = self();
    if (!th)
        return 0;
    cd_settle();
    uint64_t act = 0;
    for (int i = 0; i < HP_FN_COUNT; i++)
        act += hp_tls.counters.calls[i];
    if (append_begin(th) == 0) {
        emit_counters(th);
        flush_thread(th);
        append_end(th);
    }
    if (act != th->mark && th->rounds < 3) {
        /* Other TLS destructors may still free; come back once more. */
        th->mark = act;
        th->rounds++;
        return 1;
    }
    /* Our TLS block dies with us: point the record at a copy of the final
     * counts. A flusher raises `flushing` before it loads any `live`
     * pointer (both seq_cst), so once we have switched the pointer and then
     * seen `flushing` at zero, no flusher still holds the old one; a
     * flusher that started in between reads the copy. */
    hp_place_release(&th->kept);
    th->final = hp_tls.counters;
    __atomic_store_n(&th->live, &th->final, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&flushing, __ATOMIC_SEQ_CST))
        sched_yield();
    me = NULL;
    /* What the thread still does (other destructors, glibc's last frees)
     * is counted as late: every call takes the slow path. Run under the
     * guard, so the countdown and free()'s mask are the held ones. */
    exiting = 1;
    memset(&hp_tls.counters, 0, sizeof hp_tls.counters); /* in th->final now */
    hp_tls.held = 0;
    hp_tls.carry = 0;
    cd_restart();
    hp_tls.fmask_held = 0;
    hp_tls.guard |= HP_TLS_DETACHED;
    if (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
        __atomic_store_n(&th->in_use, 0, __ATOMIC_RELEASE);
    return 0;
}

int hp_tbuf_flush_self(void)
{
    hp_thread_t *th = self();
    if (!th)
        return 0;
    if (append_begin(th))
        return HP_ERR_IO;
    int rc = flush_thread(th);
    append_end(th);
    return rc;
}

void hp_tbuf_postfork_child(void)
{
    hp_thread_t *self_th = self();
    for (hp_thread_t *th = registry; th; th = th->next) {
        th->busy = 0;
        th->len = 0;
        th->have_ts = 0;
        memset(&th->delta, 0, sizeof th->delta);
        memset(&th->final, 0, sizeof th->final);
        memset(&th->emitted, 0, sizeof th->emitted);
        memset(th->memo, 0, sizeof th->memo); /* the stack table is reset below */
        pairs_reset(th);                      /* pair ids restart below */
        th->live = &th->final; /* the other threads do not exist here */
        th->seq = 0;
        if (th != self_th) {
            th->in_use = 0;
            memset(&th->kept, 0, sizeof th->kept); /* may be half written: dropped */
        }
    }
    memset(&hp_tls.counters, 0, sizeof hp_tls.counters);
    cd_restart(); /* fork runs under the guard (init.c) */
    if (self_th) {
        self_th->live = &hp_tls.counters;
        self_th->tid = (uint32_t)syscall(SYS_gettid);
        self_th->rounds = 0;
        self_th->mark = 0;
    }
    stopping = 0;
    inserters = ALONE; /* the only thread here */
    attached_before = self_th != NULL;
    memset(&late, 0, sizeof late); /* the parent's */
    use_membarrier = 0; /* the registration belongs to the parent's mm */
    membarrier_setup();
    hp_tls.last_alloc = 0;
    hp_tls.last_calls = 0;
    hp_tbuf_stack_reset();
    last_pair = 0;
    hp_liveset_reset();
}
