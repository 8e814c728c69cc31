/*
 * unwind.c - stack capture for recorded allocations.
 *
 * The stacks are those of libunwind's unw_backtrace (DWARF CFI, no frame
 * pointers needed), pc for pc. unw_backtrace costs about 6 ns a frame even
 * when its per-thread frame cache hits (hashing each pc into a 256 KiB
 * table, bit-field decoding, a cursor of 3 KiB set up per call) and the
 * hooks walk through two frames of ours before the program's, so in full
 * mode (issue 2) it was the largest part of the recorder's cost. This file
 * does the same walk itself for the frames libunwind calls "standard" (CFA
 * = rsp or rbp + offset, return address at CFA-8, rbp unchanged or saved at
 * CFA+offset, no signal frame, no DWARF expression): with one rule per
 * return address cached in a process-wide table, each frame is a table
 * probe and one or two loads. The rules come from the module's
 * .eh_frame_hdr/.eh_frame in memory (cfi.c), classified as libunwind 1.6
 * classifies frames for its fast trace (tdep_trace), with the same
 * stopping conditions: the outermost frame is the one whose CFI leaves the
 * return address or rbp undefined, and a return address below 0x4000 ends
 * the stack.
 *
 * Per-thread shortcuts on top: a 4 KiB copy of the rules the thread used
 * last (the table's lines get evicted by the program's own memory
 * traffic); the thread's previous complete stack, whose outer part is
 * reused when the current walk reaches one of its frames unchanged and the
 * return addresses (and live saved rbps) above it are still in place; and
 * a history of 32 recent complete stacks, reused whole on the same
 * condition from the first frame on (a loop allocating from a few sites
 * then costs one comparison per frame, no walk). See frame_t below for why
 * that is exact.
 *
 * A frame with no rule yet gets it on the spot, from the CFI. A frame
 * whose rule this walk does not handle (signal frames, PLT stubs, stack
 * realignment, expressions, no CFI) sends the whole capture to
 * unw_backtrace, which stays the reference; its result is returned and the
 * rules of its frames are learned for next time. Rules are never
 * approximated: a frame is either walked exactly as libunwind would or
 * handed to libunwind. So most programs never call libunwind, whose caches
 * (mmap'd among the program's own mappings) would shift the program's
 * address layout.
 *
 * The table is keyed by pc only, like libunwind's own trace cache; it is
 * cleared when the module map changes (dlopen/dlclose through our hooks),
 * under a sequence counter so that a walk racing with the clear is redone.
 * Learning takes a try-lock and is skipped when another thread holds it.
 *
 * It does not deduplicate stacks (tbuf.c does) or symbolize (the analyzer).
 */
#include "unwind.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "cfi.h"
#include "init.h"
#include "vmem.h"

uintptr_t hp_unwind_lo, hp_unwind_hi;
int hp_unwind_on = HP_UNWIND_ON;

/* The table: open addressing, linear probing over at most PROBES slots,
 * filled to at most half. 2^15 slots of 16 bytes, mmap'd (pages are only
 * touched where pcs hash). */
#define TABLE_BITS 15
#define TABLE_SIZE (1u << TABLE_BITS)
#define PROBES 8

typedef struct rule_slot_s {
    uintptr_t pc; /* 0: empty; written last (release) */
    uint64_t rule;
} rule_slot_t;

static rule_slot_t *table;
static unsigned table_used;   /* under learn_lock */
static uint64_t table_modgen; /* module map generation the rules belong to */
static unsigned table_seq;    /* odd while the table is being cleared */
static int learn_lock;
static __thread uint64_t n_fast, n_slow, n_reused; /* this thread's captures */

static inline unsigned slot_of(uintptr_t pc)
{
    return (unsigned)(((uint64_t)pc * 0x9e3779b97f4a7c15u) >> (64 - TABLE_BITS));
}

/* The rule of pc, or RULE_NONE. Slots race with learn/clear: relaxed loads,
 * the caller's sequence check decides. */
static inline uint64_t table_find(const rule_slot_t *t, uintptr_t pc)
{
    unsigned s = slot_of(pc);
    for (int i = 0; i < PROBES; i++) {
        const rule_slot_t *e = &t[(s + (unsigned)i) & (TABLE_SIZE - 1)];
        uintptr_t k = __atomic_load_n(&e->pc, __ATOMIC_ACQUIRE);
        if (k == pc)
            return __atomic_load_n(&e->rule, __ATOMIC_RELAXED);
        if (k == 0)
            return RULE_NONE;
    }
    return RULE_NONE;
}

/* Each thread's copy of the rules it used last, direct-mapped (in its
 * unw_thread_t, below): the table itself is spread over 512 KiB, and a
 * program that walks its own memory between allocations evicts those lines
 * (and their TLB entries), while these 4 KiB stay hot. Entries are copies
 * of table entries, which never change until the table is cleared; a clear
 * changes table_seq, and a thread whose copy is older than table_seq
 * empties it first. */
#define NEAR_BITS 8
#define NEAR_SIZE (1u << NEAR_BITS)

static inline uint64_t near_find(rule_slot_t *near, const rule_slot_t *t, uintptr_t pc)
{
    rule_slot_t *e = &near[((uint64_t)pc * 0x9e3779b97f4a7c15u) >> (64 - NEAR_BITS)];
    if (e->pc == pc)
        return e->rule;
    uint64_t r = table_find(t, pc);
    if (r != RULE_NONE) {
        e->pc = pc;
        e->rule = r;
    }
    return r;
}

/* Under learn_lock. Gives up silently when the table is full around pc. */
static void table_put(uintptr_t pc, uint64_t rule)
{
    if (table_used >= TABLE_SIZE / 2)
        return;
    unsigned s = slot_of(pc);
    for (int i = 0; i < PROBES; i++) {
        rule_slot_t *e = &table[(s + (unsigned)i) & (TABLE_SIZE - 1)];
        if (e->pc == pc)
            return;
        if (e->pc == 0) {
            __atomic_store_n(&e->rule, rule, __ATOMIC_RELAXED);
            __atomic_store_n(&e->pc, pc, __ATOMIC_RELEASE);
            table_used++;
            return;
        }
    }
}

/* Under learn_lock: forget every rule (the module map changed). An empty
 * table is left alone: writing its 512 KiB would fault in every page. */
static void table_clear(uint64_t gen)
{
    __atomic_fetch_add(&table_seq, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; table_used && i < TABLE_SIZE; i++) {
        __atomic_store_n(&table[i].pc, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&table[i].rule, 0, __ATOMIC_RELAXED);
    }
    table_used = 0;
    __atomic_store_n(&table_modgen, gen, __ATOMIC_RELAXED);
    __atomic_fetch_add(&table_seq, 1, __ATOMIC_RELEASE);
}

/* Learns the rules of miss and pcs[0..n) (those not known yet). Returns
 * miss's rule, RULE_NONE when it was not learned. */
static uint64_t learn(uintptr_t miss, const uintptr_t *pcs, int n)
{
    uint64_t miss_rule = RULE_NONE;
    if (__atomic_exchange_n(&learn_lock, 1, __ATOMIC_ACQUIRE))
        return miss_rule; /* another thread is learning: next time */
    uint64_t gen = hp_init_modgen();
    if (gen != __atomic_load_n(&table_modgen, __ATOMIC_RELAXED))
        table_clear(gen);
    for (int i = -1; i < n; i++) {
        uintptr_t pc = i < 0 ? miss : pcs[i];
        if (pc < 0x4000)
            continue;
        uint64_t r = table_find(table, pc);
        if (r == RULE_NONE) {
            r = hp_cfi_rule(pc);
            if (r != RULE_NONE)
                table_put(pc, r);
        }
        if (i < 0)
            miss_rule = r;
    }
    __atomic_store_n(&learn_lock, 0, __ATOMIC_RELEASE);
    return miss_rule;
}

/* ---- the walk ---- */

/*
 * The reference capture: unw_backtrace, from the caller's frame on (pc0 is
 * the return address into the caller; the frames of this file above it
 * are dropped). miss is the pc the fast walk had no rule for, or 0. In
 * HP_UNWIND_NO_LIBUNWIND mode it returns the have frames the fast walk
 * put in buf instead: the stack, cut where the rules end.
 */
static __attribute__((noinline)) int walk_slow(uintptr_t *buf, int max, uintptr_t pc0,
                                               uintptr_t miss, int have)
{
    if (__atomic_load_n(&hp_unwind_on, __ATOMIC_RELAXED) == HP_UNWIND_NO_LIBUNWIND)
        return have;
    uintptr_t tmp[HP_UNWIND_BUF + 16];
    n_slow++;
    int cap = max < HP_UNWIND_BUF ? max : HP_UNWIND_BUF;
    int n = unw_backtrace((void **)tmp, cap + 16);
    int k = 0;
    while (k < n && k < 16 && tmp[k] != pc0)
        k++;
    if (k == n || k == 16)
        k = 0; /* not found: the stack as libunwind saw it */
    n -= k;
    if (n < 0)
        n = 0;
    if (n > cap)
        n = cap;
    memcpy(buf, tmp + k, (size_t)n * sizeof *buf);
    if (table)
        learn(miss, buf, n);
    return n;
}

/*
 * The stack of the thread's previous complete walk (one that ended at the
 * outermost frame), with each frame's state: pc, stack pointer, rbp, and
 * its rule (plus RULE_BP_LIVE when that frame's rbp decides anything from
 * there outwards). The walk from a frame on is a function of the frame's
 * state, the rules and the stack words it reads; so when the current walk
 * reaches a frame whose pc, stack pointer and (if live) rbp equal those of
 * a frame of the previous walk, and every return address and live saved
 * rbp the previous walk read from there outwards is still in place on the
 * stack, the rest of the stack is the previous one, exactly: those words
 * are compared (independent loads) instead of walked (a chain of table
 * probes). A loop that allocates from one function reuses everything above
 * that function. Two buffers: the new walk's frames go into the one that
 * is not `last`.
 */
#define RULE_BP_LIVE 16u

typedef struct frame_s {
    uintptr_t pc, sp, bp;
    uint64_t rule;
} frame_t;

/*
 * A thread's walking state, about 80 KiB (pages touched as used): mmap'd,
 * not TLS, since static TLS is carved out of every thread's stack and
 * would shrink small ones. States are never freed: a thread's state is
 * marked free when the thread exits (a pthread key destructor) and adopted
 * by a later thread, like tbuf.c's thread records. A thread without one
 * (exiting, or out of memory) uses unw_backtrace.
 */
/*
 * More complete stacks than the previous one: a loop that allocates from
 * several sites in turn finds each site's last stack here and reuses all
 * of it, under the same conditions as the previous stack (frame_t). The
 * key is the first frame's pc and stack pointer, which is the stack depth
 * of the allocating code: sites at one depth share a set, hence 8 ways
 * (sqlite3 inserting rows cycles through about as many). 32 stacks of up
 * to 64 frames, 64 KiB of the thread's state (touched as used).
 */
#define HIST_BITS 2
#define HIST_WAYS 8 /* sites at one stack depth share a key */
#define HIST ((1u << HIST_BITS) * HIST_WAYS)
#define HIST_FRAMES 64

typedef struct hist_s {
    unsigned seq; /* table_seq it was made under */
    unsigned gen; /* the owning thread's gen */
    int n;        /* frames; 0: empty */
    frame_t fr[HIST_FRAMES];
} hist_t;

static inline unsigned hist_slot(uintptr_t pc, uintptr_t sp)
{
    return (unsigned)((((uint64_t)pc ^ ((uint64_t)sp << 7)) * 0x9e3779b97f4a7c15u) >>
                      (64 - HIST_BITS));
}

typedef struct unw_thread_s unw_thread_t;
struct unw_thread_s {
    unw_thread_t *next; /* registry, never unlinked */
    int in_use;
    unsigned near_seq; /* table_seq the near copy belongs to */
    rule_slot_t near[NEAR_SIZE];
    int last_ix;       /* frames[last_ix] is the previous walk */
    int last_n;        /* its frame count; 0: none */
    unsigned last_seq; /* table_seq it was made under */
    unsigned gen;      /* bumped when a thread adopts the state */
    frame_t frames[2][HP_UNWIND_BUF];
    unsigned char hist_next[1u << HIST_BITS]; /* the way to replace next */
    unsigned hist_touched; /* a bit per set whose pages were written (vmem.h) */
    hist_t hist[HIST];
};

static unw_thread_t *registry;
static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static int have_key;
static __thread unw_thread_t *me;
static __thread int me_gone; /* the thread is exiting: no new state */

static void state_release(void *arg)
{
    unw_thread_t *ts = arg;
    me = NULL;
    me_gone = 1;
    __atomic_store_n(&ts->in_use, 0, __ATOMIC_RELEASE);
}

static void state_key_create(void)
{
    have_key = pthread_key_create(&state_key, state_release) == 0;
}

/* The calling thread's state, adopting a free one or mapping a new one;
 * NULL when there is none to be had. */
static __attribute__((noinline)) unw_thread_t *state_attach(void)
{
    if (me_gone)
        return NULL;
    pthread_once(&state_once, state_key_create);
    if (!have_key)
        return NULL;
    unw_thread_t *ts = __atomic_load_n(&registry, __ATOMIC_ACQUIRE);
    for (; ts; ts = ts->next) {
        int free_ = 0;
        if (__atomic_load_n(&ts->in_use, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&ts->in_use, &free_, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            break;
    }
    if (!ts) {
        void *m = hp_vmem_map(sizeof *ts, 0);
        if (!m)
            return NULL;
        ts = m;
        ts->in_use = 1;
        ts->next = __atomic_load_n(&registry, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&registry, &ts->next, ts, 1, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED))
            ;
    }
    ts->last_n = 0;
    ts->gen++;
    memset(ts->near, 0, sizeof ts->near);
    ts->near_seq = __atomic_load_n(&table_seq, __ATOMIC_RELAXED);
    if (pthread_setspecific(state_key, ts) != 0) {
        __atomic_store_n(&ts->in_use, 0, __ATOMIC_RELEASE);
        return NULL;
    }
    me = ts;
    return ts;
}

/* Sets RULE_BP_LIVE on f[0..n), given whether f[n]'s rbp is live. */
static void mark_live(frame_t *f, int n, int live)
{
    for (int k = n - 1; k >= 0; k--) {
        uint64_t r = f[k].rule & ~(uint64_t)RULE_BP_LIVE;
        if (!(r & RULE_CFA_RSP))
            live = 1; /* the CFA is rbp-based */
        else if (r & RULE_RBP_SAVED)
            live = 0; /* the caller's rbp comes from the stack */
        f[k].rule = r | (live ? RULE_BP_LIVE : 0);
    }
}

/*
 * Are the stack words the walk of L[j..m) read still what it read? Returns
 * m when they all are, else the index of the first frame whose return
 * address (or live rbp) changed: no frame below it can be reused either.
 */
static inline int tail_holds(const frame_t *L, int j, int m)
{
    for (int k = j; k + 1 < m; k++) {
        const frame_t *f = &L[k], *up = &L[k + 1];
        if (*(const uintptr_t *)(up->sp - 8) != up->pc)
            return k + 1;
        if ((f->rule & RULE_RBP_SAVED) && (up->rule & RULE_BP_LIVE) &&
            *(const uintptr_t *)(up->sp + (uintptr_t)rule_rbp_off(f->rule)) != up->bp)
            return k + 1;
    }
    return m;
}

/* Keeps the thread's previous stack (just made) in history slot h. */
static inline void hist_save(unw_thread_t *ts, hist_t *h, unsigned seq)
{
    int n = ts->last_n;
    if (n > HIST_FRAMES)
        return;
    memcpy(h->fr, ts->frames[ts->last_ix], (size_t)n * sizeof *h->fr);
    h->n = n;
    h->seq = seq;
    h->gen = ts->gen;
}

/*
 * The walk proper, entered from hp_unwind_walk (below) with the caller's
 * registers at its call: pc its return address, sp the caller's stack
 * pointer after the return, bp its rbp. Mirrors libunwind's tdep_trace: a
 * frame is stepped only while fewer than max pcs are recorded, and a
 * return address below 0x4000 ends the stack unrecorded.
 */
__attribute__((used)) int hp_unwind_walk_from(uintptr_t *buf, int max, uintptr_t pc, uintptr_t sp,
                                              uintptr_t bp)
{
    const rule_slot_t *t = table;
    if (t && hp_init_modgen() != __atomic_load_n(&table_modgen, __ATOMIC_RELAXED))
        learn(0, NULL, 0); /* the module map changed: forget the old rules */
    unsigned seq = __atomic_load_n(&table_seq, __ATOMIC_ACQUIRE);
    if (!t || (seq & 1) || hp_init_modgen() != __atomic_load_n(&table_modgen, __ATOMIC_RELAXED))
        return walk_slow(buf, max, pc, pc, 0);
    unw_thread_t *ts = me;
    if (__builtin_expect(!ts, 0) && !(ts = state_attach()))
        return walk_slow(buf, max, pc, pc, 0);
    if (ts->near_seq != seq) {
        memset(ts->near, 0, sizeof ts->near);
        ts->near_seq = seq;
    }
    unsigned set = hist_slot(pc, sp);
    if (__builtin_expect(!(ts->hist_touched & (1u << set)), 0)) {
        for (unsigned w = 0; w < HIST_WAYS; w++) /* written before read (vmem.h) */
            hp_vmem_touch(&ts->hist[set * HIST_WAYS + w]);
        ts->hist_touched |= 1u << set;
    }
    hist_t *h = NULL; /* where this walk's stack will be kept */
    for (unsigned w = 0; w < HIST_WAYS; w++) {
        hist_t *e = &ts->hist[set * HIST_WAYS + w];
        if (!e->n || e->seq != seq || e->gen != ts->gen) {
            h = h ? h : e;
            continue;
        }
        const frame_t *H = e->fr;
        if (H[0].pc == pc && H[0].sp == sp && (!(H[0].rule & RULE_BP_LIVE) || H[0].bp == bp) &&
            tail_holds(H, 0, e->n) == e->n) {
            int out = e->n < max ? e->n : max;
            for (int k = 0; k < out; k++)
                buf[k] = H[k].pc;
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (__atomic_load_n(&table_seq, __ATOMIC_RELAXED) != seq)
                return walk_slow(buf, max, pc, 0, 0);
            n_fast++;
            n_reused++;
            return out;
        }
    }
    if (!h) {
        h = &ts->hist[set * HIST_WAYS + ts->hist_next[set]];
        ts->hist_next[set] = (unsigned char)((ts->hist_next[set] + 1) % HIST_WAYS);
    }
    frame_t *L = ts->frames[ts->last_ix], *C = ts->frames[ts->last_ix ^ 1];
    int m = ts->last_seq == seq ? ts->last_n : 0;
    int j = 0, n = 0, complete = 0;
    for (;;) {
        /* frame n: (pc, sp, bp). Is it a frame of the previous walk? */
        if (m) {
            while (j < m && L[j].sp < sp)
                j++;
            if (j < m && L[j].sp == sp && L[j].pc == pc &&
                (!(L[j].rule & RULE_BP_LIVE) || L[j].bp == bp)) {
                int k = tail_holds(L, j, m);
                if (k == m)
                    goto join;
                j = k; /* changed there: only frames from k on can match */
            }
        }
        if (n == max)
            break;
        buf[n] = pc;
        C[n].pc = pc;
        C[n].sp = sp;
        C[n].bp = bp;
        n++;
        if (n == max)
            break;
        uint64_t r = near_find(ts->near, t, pc);
        if (rule_kind(r) == RULE_NONE)
            r = learn(pc, NULL, 0); /* a frame seen for the first time */
        C[n - 1].rule = r;
        if (rule_kind(r) != RULE_STEP) {
            if (rule_kind(r) == RULE_LAST) {
                complete = 1;
                break;
            }
            return walk_slow(buf, max, buf[0], rule_kind(r) == RULE_NONE ? pc : 0, n);
        }
        uintptr_t cfa = ((r & RULE_CFA_RSP) ? sp : bp) + (uintptr_t)rule_cfa_off(r);
        uintptr_t ra = *(const uintptr_t *)(cfa - 8);
        if (r & RULE_RBP_SAVED)
            bp = *(const uintptr_t *)(cfa + (uintptr_t)rule_rbp_off(r));
        if (ra == pc && cfa == sp) /* libunwind calls this a bad frame */
            return walk_slow(buf, max, buf[0], 0, n);
        sp = cfa;
        if (ra < 0x4000)
            break;
        pc = ra;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&table_seq, __ATOMIC_RELAXED) != seq)
        return walk_slow(buf, max, buf[0], 0, 0); /* the rules changed under us */
    n_fast++;
    if (complete) {
        mark_live(C, n - 1, 0);
        C[n - 1].rule &= ~(uint64_t)RULE_BP_LIVE; /* the outermost is not stepped */
        ts->last_ix ^= 1;
        ts->last_n = n;
        ts->last_seq = seq;
        hist_save(ts, h, seq);
    }
    return n;

join:;
    /* frames n.. are L[j..m) */
    int total = n + (m - j);
    for (int k = j; k < m && n + (k - j) < max; k++)
        buf[n + (k - j)] = L[k].pc;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&table_seq, __ATOMIC_RELAXED) != seq)
        return walk_slow(buf, max, buf[0], 0, 0);
    n_fast++;
    n_reused++;
    mark_live(C, n, (L[j].rule & RULE_BP_LIVE) != 0);
    if (n == j) { /* the tail is in place: bring the new inner frames over */
        memcpy(L, C, (size_t)n * sizeof *C);
        hist_save(ts, h, seq);
    } else if (total <= HP_UNWIND_BUF) {
        memcpy(C + n, L + j, (size_t)(m - j) * sizeof *C);
        ts->last_ix ^= 1;
        ts->last_n = total;
        hist_save(ts, h, seq);
    }
    return total < max ? total : max;
}

/* hp_unwind_walk: takes the caller's return address, stack pointer and rbp
 * as they are at the call (before any prologue could change them) and
 * tail-jumps into the walk, which returns straight to the caller. It leaves
 * rsp alone, so the default CFI (CFA = rsp + 8) describes it. */
__asm__(".text\n"
        ".globl hp_unwind_walk\n"
        ".hidden hp_unwind_walk\n"
        ".type hp_unwind_walk, @function\n"
        ".p2align 4\n"
        "hp_unwind_walk:\n"
        ".cfi_startproc\n"
        "    movq (%rsp), %rdx\n"
        "    leaq 8(%rsp), %rcx\n"
        "    movq %rbp, %r8\n"
        "    jmp hp_unwind_walk_from\n"
        ".cfi_endproc\n"
        ".size hp_unwind_walk, .-hp_unwind_walk\n");

void hp_unwind_stats(uint64_t *fast, uint64_t *slow, uint64_t *reused)
{
    *fast = n_fast;
    *slow = n_slow;
    *reused = n_reused;
}

void hp_unwind_postfork_child(void)
{
    if (!__atomic_load_n(&learn_lock, __ATOMIC_RELAXED))
        return;
    /* The thread that was learning at fork time does not exist here: take
     * its lock over, and finish a clear it had begun. */
    if (table && (__atomic_load_n(&table_seq, __ATOMIC_RELAXED) & 1)) {
        memset(table, 0, TABLE_SIZE * sizeof *table);
        table_used = 0;
        __atomic_store_n(&table_modgen, hp_init_modgen(), __ATOMIC_RELAXED);
        __atomic_fetch_add(&table_seq, 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&learn_lock, 0, __ATOMIC_RELEASE);
}

void hp_unwind_enable(int mode)
{
    __atomic_store_n(&hp_unwind_on, mode, __ATOMIC_RELAXED);
}

void hp_unwind_init(uintptr_t lo, uintptr_t hi)
{
    hp_unwind_lo = lo;
    hp_unwind_hi = hi;
    if (!table) {
        void *m = hp_vmem_map(TABLE_SIZE * sizeof(rule_slot_t), 1);
        if (m) {
            table_modgen = hp_init_modgen();
            __atomic_store_n(&table, (rule_slot_t *)m, __ATOMIC_RELEASE);
        }
    }
}
