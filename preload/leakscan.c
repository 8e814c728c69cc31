/*
 * leakscan.c - which blocks live at exit no pointer reaches (full mode).
 *
 * The live blocks come from the full-mode map of live blocks (liveset.h),
 * which keeps each block's requested size beside its pair when the scan
 * is on. When an insert into it failed (a full probe window), the exit
 * scan is skipped rather than report blocks it does not know about as
 * reachable or lost.
 *
 * At a normal exit hp_leakscan_run() copies the set into a sorted array
 * (mmap'd), marks every block that a root word points into (interior
 * pointers count, as in LeakSanitizer), follows the marked blocks' contents
 * transitively with an mmap'd worklist, and writes the unmarked blocks as
 * HP_REC_UNREACHABLE records. Roots: every writable PT_LOAD segment and the
 * static TLS block of every loaded module but libheapprof itself (whose
 * data and TLS hold the profiler's own pointers, e.g. the last recorded
 * allocation), and the exiting thread's stack and registers. The stack is
 * scanned from the frame that called exit() (found with libunwind; its
 * callee-saved registers as they were at that call are roots too) to the
 * stack's top: the frames of exit() and of the destructors it runs hold
 * stale copies of the program's pointers in their unused slots, which
 * would hide leaks. When that frame cannot be found, the scan starts at
 * hp_leakscan_run's frame, which holds its registers (getcontext). The
 * other threads still running are stopped for the scan where ptrace
 * allows it (stopworld.h), and their registers and stacks are roots too
 * (scan_thread); what needs a lock another thread may hold is found
 * before they stop (roots_find).
 * The anonymous memory the program mapped itself (progmaps.h: CPython's
 * arenas, other allocators of its own) is a root too, its used pages
 * only. The scan is skipped in the child of a fork made while other
 * threads ran (the loader's lock may be held forever there). Not scanned:
 * the registers of threads not stopped, and blocks the profiler did not
 * record (its own allocations). When other threads exist, every read
 * goes through process_vm_readv(2), because a block may be freed (and its
 * memory unmapped) under the scan; when that is not possible the scan is
 * skipped.
 *
 * glibc keeps a chunk header right after each block's usable area, and its
 * arena (in libc's data segment) points at free chunks' headers, which can
 * lie inside the last 8 bytes of the block before them. A word that points
 * at a 16-byte aligned address in the last 8 bytes of a block, other than
 * its start, is therefore not taken as a reference to that block.
 *
 * This module does not decide when to scan (init.c) and does not open the
 * trace (writer.c: records go out through hp_tbuf_write_process).
 */
#include "leakscan.h"

#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>


#include "blockidx.h"
#include "heapprof/error.h"
#include "heapprof/trace_format.h"
#include "liveset.h"
#include "procfs.h"
#include "progmaps.h"
#include "real.h"
#include "stopworld.h"
#include "tbuf.h"
#include "unwind.h" /* libunwind, and hp_unwind_on */

#define SAFE_CHUNK (64u * 1024u)   /* bytes copied per process_vm_readv */
#define MAX_STACK (1ull << 30)     /* larger stack ranges are not trusted */
#define MAX_BLOCK (1ull << 40)     /* larger recorded sizes are not trusted */
#define RED_ZONE 128               /* below the stack pointer, x86-64 ABI */

static int enabled;

int hp_leakscan_init(void)
{
    int rc = hp_liveset_keep_sizes();
    if (rc == 0)
        __atomic_store_n(&enabled, 1, __ATOMIC_RELEASE);
    return rc;
}

/* ---- the scan ---- */

typedef hp_block_t blk_t;

typedef struct scan_s {
    blk_t *blk;      /* sorted by addr */
    hp_blockidx_t ix; /* finds the block a word points into */
    uint8_t *mark;   /* 1 = reachable */
    uint32_t *work;  /* marked blocks whose contents are not scanned yet */
    size_t n, cap, nwork;
    int safe;         /* read through process_vm_readv (other threads run) */
    int self;         /* the scanning thread's id */
    uint8_t *buf;     /* SAFE_CHUNK bytes for safe reads */
    const hp_stopped_t *stopped; /* the other threads stopped (stopworld.h) */
    int nstopped;
} scan_t;

static void *map_scratch(size_t sz)
{
    void *m = mmap(NULL, sz ? sz : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static void sift_down(blk_t *a, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1].addr > a[c].addr)
            c++;
        if (a[i].addr >= a[c].addr)
            return;
        blk_t t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

/* Heapsort: no allocation, no recursion, O(n log n) worst case. */
static void sort_blocks(blk_t *a, size_t n)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        blk_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static void add_block(void *ctx, uintptr_t a, uint64_t size, uint32_t pair)
{
    scan_t *s = ctx;
    if (s->n == s->cap)
        return;
    if (size > MAX_BLOCK || a + size < a)
        size = 0;
    s->blk[s->n++] = (blk_t){a, a + (size ? size : 1), pair};
}

/* The block word w points into, or -1. */
static long find_block(const scan_t *s, uintptr_t w)
{
    long i = hp_blockidx_find(&s->ix, w);
    if (i < 0)
        return -1;
    const blk_t *b = &s->blk[i];
    /* glibc's next chunk header (see the top of the file). */
    if (w != b->addr && (w & 15) == 0 && w + 8 >= b->end)
        return -1;
    return i;
}

static void scan_words(scan_t *s, const uintptr_t *w, size_t nw)
{
    for (size_t i = 0; i < nw; i++) {
        long b = find_block(s, w[i]);
        if (b >= 0 && !s->mark[b]) {
            s->mark[b] = 1;
            s->work[s->nwork++] = (uint32_t)b;
        }
    }
}

/* Scans the aligned words of [lo, hi). */
static void scan_range(scan_t *s, uintptr_t lo, uintptr_t hi)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (hi <= lo)
        return;
    if (!s->safe) {
        scan_words(s, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t));
        return;
    }
    const uintptr_t page = 4096;
    while (lo + sizeof(uintptr_t) <= hi) {
        size_t len = hi - lo < SAFE_CHUNK ? hi - lo : SAFE_CHUNK;
        struct iovec local = {s->buf, len}, remote = {(void *)lo, len};
        ssize_t got = process_vm_readv(s->self, &local, 1, &remote, 1, 0);
        if (got > 0)
            scan_words(s, (const uintptr_t *)s->buf, (size_t)got / sizeof(uintptr_t));
        if (got == (ssize_t)len) {
            lo += len;
            continue;
        }
        /* Unreadable from lo + got: skip to the next page. */
        uintptr_t bad = lo + (got > 0 ? (uintptr_t)got : 0);
        lo = (bad | (page - 1)) + 1;
    }
}

/*
 * The roots to be found before the other threads stop: whatever needs the
 * loader's lock (dl_iterate_phdr, libunwind), a lock of libc's
 * (pthread_getattr_np) or the program-mappings set's must not be asked
 * for while a stopped thread may hold it.
 */
#define MAX_SEGS 8192

typedef struct roots_s {
    uintptr_t from, top;  /* the calling thread's stack to scan */
    uintptr_t regs[16];   /* its callee-saved registers at exit() */
    int nregs;
    hp_range_t *seg;      /* the modules' writable segments and TLS */
    size_t nseg;
    hp_range_t *prog;     /* the program's own mappings (progmaps.h) */
    long nprog;
} roots_t;

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    roots_t *r = arg;
    (void)size;
    /* libheapprof itself: its data and TLS hold the profiler's pointers. */
    int self = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (uintptr_t)&enabled >= lo &&
            (uintptr_t)&enabled < lo + ph->p_memsz)
            self = 1;
    }
    if (self)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && r->nseg < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && (ph->p_flags & PF_R))
            lo = info->dlpi_addr + ph->p_vaddr;
        else if (ph->p_type == PT_TLS && info->dlpi_tls_data)
            lo = (uintptr_t)info->dlpi_tls_data;
        else
            continue;
        r->seg[r->nseg++] = (hp_range_t){lo, lo + ph->p_memsz};
    }
    return 0;
}

/* Top of the calling thread's stack (for the main thread, when
 * pthread_getattr_np fails, the stack address at process start).
 * pthread_getattr_np allocates (the guard is held: those blocks are the
 * profiler's, never recorded). */
static uintptr_t stack_top(void)
{
    pthread_attr_t at;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &at) != 0)
        goto fallback;
    int rc = pthread_attr_getstack(&at, &addr, &size);
    pthread_attr_destroy(&at);
    if (rc == 0 && addr)
        return (uintptr_t)addr + size;
fallback:;
    extern void *__libc_stack_end;
    return (uintptr_t)__libc_stack_end;
}

/* Reads go through our own thread id: the process id names the main
 * thread, which has no memory any more once it called pthread_exit. */
static int safe_reads_work(int self)
{
    uintptr_t probe = 0x5a5a5a5a, copy = 0;
    struct iovec local = {&copy, sizeof copy}, remote = {&probe, sizeof probe};
    return process_vm_readv(self, &local, 1, &remote, 1, 0) == (ssize_t)sizeof copy &&
           copy == probe;
}

/*
 * Finds the frame that called exit(): sets *sp to its stack pointer and
 * regs to its callee-saved registers as they were at the call (the ones
 * that may hold the program's pointers). Returns the number of registers
 * set, or -1 when exit() is not on this thread's stack (then the caller
 * scans from its own frame). The frames of exit() and of the destructors
 * it runs are not the program's: their unused slots still hold what the
 * program's returned calls left there, so they are not scanned.
 */
static int exit_caller(uintptr_t *sp, uintptr_t *regs)
{
#if defined(__x86_64__)
    static const int saved[] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                                UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};
#elif defined(__aarch64__)
    static const int saved[] = {UNW_AARCH64_X19, UNW_AARCH64_X20, UNW_AARCH64_X21,
                                UNW_AARCH64_X22, UNW_AARCH64_X23, UNW_AARCH64_X24,
                                UNW_AARCH64_X25, UNW_AARCH64_X26, UNW_AARCH64_X27,
                                UNW_AARCH64_X28, UNW_AARCH64_X29};
#else
    static const int saved[] = {UNW_REG_SP};
#endif
    unw_context_t ctx;
    unw_cursor_t c;
    const uintptr_t target = (uintptr_t)&exit;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&c, &ctx) != 0)
        return -1;
    for (int depth = 0; depth < 64; depth++) {
        unw_proc_info_t pi;
        int in_exit = unw_get_proc_info(&c, &pi) == 0 && pi.start_ip == target;
        if (unw_step(&c) <= 0)
            return -1;
        if (!in_exit)
            continue;
        unw_word_t v;
        if (unw_get_reg(&c, UNW_REG_SP, &v) != 0)
            return -1;
        *sp = (uintptr_t)v;
        int n = 0;
        for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++)
            if (unw_get_reg(&c, saved[i], &v) == 0)
                regs[n++] = (uintptr_t)v;
        return n;
    }
    return -1;
}

/* Scans a thread's stack [lo, hi) but the thread's hp_tls at tls (0: none),
 * which holds the profiler's last recorded allocation and lies in the
 * stack's mapping for every thread but the main one (glibc keeps a
 * thread's static TLS at the top of its stack). */
static void scan_stack(scan_t *s, uintptr_t lo, uintptr_t hi, uintptr_t tls)
{
    uintptr_t skip_lo = tls, skip_hi = tls + sizeof(hp_tls_t);
    if (tls && skip_lo >= lo && skip_hi <= hi) {
        scan_range(s, lo, skip_lo);
        scan_range(s, skip_hi, hi);
    } else {
        scan_range(s, lo, hi);
    }
}

/*
 * The stack of another thread, still running at exit. A stopped thread
 * (stopworld.h): its registers, and its stack from its stack pointer
 * (less the 128-byte red zone below it, which a leaf function may use).
 * Else from its stack pointer when it waits in a system call (whose
 * argument registers are roots too: a buffer it reads into may be held
 * there only), else (it is running, attached) the whole mapping its
 * stack lies in, to the mapping's end, where glibc also keeps the
 * thread's static TLS; a running thread that never called the allocator
 * is not known. A stack that is a recorded block (pthread_attr_setstack,
 * coroutines) is reachable, and so scanned whole. The thread's hp_tls is
 * skipped: it holds the profiler's last recorded allocation.
 */
static int scan_thread(int tid, void *arg)
{
    scan_t *s = arg;
    if (tid == s->self)
        return 0;
    uintptr_t hint = 0, tls = 0, lo, hi, args[6];
    int attached = hp_tbuf_thread_find((uint32_t)tid, &tls, &hint) == 0;
    const hp_stopped_t *st = hp_stopworld_find(s->stopped, s->nstopped, tid);
    uintptr_t at = 0, from = 0; /* where its stack is; where its scan starts (0: whole) */
    if (st) {
        scan_words(s, st->regs, HP_STOPWORLD_REGS);
        at = st->sp;
        from = at > RED_ZONE ? at - RED_ZONE : at;
    } else {
        int waiting = hp_proc_task_sp(tid, &at, args);
        for (int i = 0; i < 3 && waiting == 0; i++) { /* it may be about to wait */
            sched_yield();
            waiting = hp_proc_task_sp(tid, &at, args);
        }
        if (waiting == 1) {
            scan_words(s, args, 6);
            from = at;
        } else {
            at = attached ? hint : 0;
        }
    }
    if (!at)
        return 0; /* running and never attached: not known */
    long b = find_block(s, at);
    if (b >= 0) { /* reachable, so its contents are scanned whole */
        if (!s->mark[b]) {
            s->mark[b] = 1;
            s->work[s->nwork++] = (uint32_t)b;
        }
        return 0;
    }
    if (hp_proc_mapping_of(at, &lo, &hi) != 0)
        return 0;
    if (from > lo)
        lo = from;
    if (hi <= lo || hi - lo > MAX_STACK)
        return 0;
    scan_stack(s, lo, hi, attached ? tls : 0);
    return 0;
}

/* ---- the program's own mappings (progmaps.h) ---- */

typedef struct progscan_s {
    scan_t *s;
    const hp_range_t *r; /* sorted, disjoint */
    size_t n, next;      /* next: the first range not behind the mapping */
} progscan_t;

/* The pages of [lo, hi) (page-aligned) that hold data: a mapping reserved
 * large and touched little (a sparse table, an arena's reserve) costs the
 * scan its used pages only. */
static void scan_used(scan_t *s, uintptr_t lo, uintptr_t hi)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uint8_t used[1024];
    while (lo < hi) {
        size_t n = (hi - lo) / page < sizeof used ? (hi - lo) / page : sizeof used;
        if (n == 0) /* not page-aligned: not a range of the set */
            return;
        if (hp_proc_pages_used(lo, n, used) != 0)
            memset(used, 1, n);
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i; j < n && used[j] == used[i]; j++)
                ;
            if (used[i])
                scan_range(s, lo + i * page, lo + j * page);
        }
        lo += n * page;
    }
}

/* A readable mapping: the parts of it the program mapped itself. The maps
 * file lists mappings in address order, like the ranges, so one cursor
 * walks both. */
static int scan_progmap(uintptr_t lo, uintptr_t hi, void *arg)
{
    progscan_t *p = arg;
    while (p->next < p->n && p->r[p->next].hi <= lo)
        p->next++;
    for (size_t a = p->next; a < p->n && p->r[a].lo < hi; a++)
        scan_used(p->s, p->r[a].lo > lo ? p->r[a].lo : lo, p->r[a].hi < hi ? p->r[a].hi : hi);
    return 0;
}

/* Every readable page the program mapped itself and used (the set as
 * hp_progmaps_snapshot gave it; empty when it cannot be trusted). */
static void scan_progmaps(scan_t *s, const hp_range_t *r, long n)
{
    if (n > 0) {
        progscan_t p = {s, r, (size_t)n, 0};
        hp_proc_readable_each(scan_progmap, &p);
    }
}

#define PROG_SIZE (HP_PROGMAPS_MAX * sizeof(hp_range_t))
#define SEG_SIZE (MAX_SEGS * sizeof(hp_range_t))

/* Finds the roots that must be found before the other threads stop: the
 * calling thread's stack from the caller of exit() (or else from `from`,
 * the frame of hp_leakscan_run, which holds its registers) to its top,
 * the modules' segments and TLS, the program's own mappings. Returns 0,
 * or HP_ERR_NOMEM. */
static int roots_find(roots_t *r, uintptr_t from)
{
    r->top = stack_top();
    r->from = from;
    uintptr_t sp = 0;
    int nregs = exit_caller(&sp, r->regs);
    if (nregs >= 0 && sp >= from && sp < r->top) {
        r->from = sp;
        r->nregs = nregs;
    }
    r->seg = map_scratch(SEG_SIZE);
    r->prog = map_scratch(PROG_SIZE); /* pages touched as copied */
    if (!r->seg || !r->prog)
        return HP_ERR_NOMEM;
    dl_iterate_phdr(phdr_cb, r);
    r->nprog = hp_progmaps_snapshot(r->prog, HP_PROGMAPS_MAX);
    return 0;
}

static void roots_free(roots_t *r)
{
    if (r->seg)
        munmap(r->seg, SEG_SIZE);
    if (r->prog)
        munmap(r->prog, PROG_SIZE);
}

/* Scans the roots: those roots_find found, and the other threads' stacks
 * and registers. */
static void scan_roots(scan_t *s, const roots_t *r)
{
    scan_words(s, r->regs, (size_t)r->nregs);
    if (r->top > r->from && r->top - r->from <= MAX_STACK)
        scan_stack(s, r->from, r->top, (uintptr_t)&hp_tls);
    if (s->safe) /* other threads run */
        hp_proc_tasks_each(scan_thread, s);
    for (size_t i = 0; i < r->nseg; i++)
        scan_range(s, r->seg[i].lo, r->seg[i].hi);
    scan_progmaps(s, r->prog, r->nprog);
}

/* Writes the unmarked blocks as HP_REC_UNREACHABLE records, one per frame. */
static int write_records(const scan_t *s)
{
    const size_t cap = HP_MAX_FRAME_RAW;
    const size_t per = (cap - 1 - HP_UVARINT_MAX) / HP_UVARINT_MAX;
    uint8_t *buf = map_scratch(cap);
    if (!buf)
        return HP_ERR_NOMEM;
    size_t lost = 0;
    for (size_t i = 0; i < s->n; i++)
        lost += !s->mark[i];
    int rc = 0;
    size_t i = 0;
    do {
        size_t k = lost < per ? lost : per;
        uint8_t *p = buf;
        p = hp_enc_unreachable_head(p, k);
        for (size_t j = 0; j < k; i++) {
            if (s->mark[i])
                continue;
            p = hp_put_uvarint(p, s->blk[i].pair);
            j++;
        }
        lost -= k;
        rc = hp_tbuf_write_process(buf, (size_t)(p - buf), hp_tbuf_now());
    } while (rc == 0 && lost > 0);
    munmap(buf, cap);
    return rc;
}

/* The scan proper. Its own frame (and its callees') lies below `from` and
 * is not scanned: it holds block addresses of its own. */
static __attribute__((noinline)) int run_scan(uintptr_t from)
{
    scan_t s = {0};
    roots_t r = {0};
    int rc = 1;
    size_t cap = 0;
    if (!hp_liveset_complete())
        goto out;
    /* Not in the child of a fork made while other threads ran: the
     * loader's lock, which dl_iterate_phdr and libunwind take, may be held
     * forever (init.c). No scan then, rather than a hang. */
    if (__atomic_load_n(&hp_unwind_on, __ATOMIC_RELAXED) != HP_UNWIND_ON)
        goto out;
    int threads = hp_proc_threads();
    if (threads != 1) {
        s.self = (int)syscall(SYS_gettid);
        if (!safe_reads_work(s.self))
            goto out;
        s.safe = 1;
        s.buf = map_scratch(SAFE_CHUNK);
        if (!s.buf) {
            rc = HP_ERR_NOMEM;
            goto out;
        }
    }
    rc = roots_find(&r, from);
    if (rc != 0)
        goto out;
    rc = 1;
    /* From here to the resume, no lock another thread may hold. Reads
     * stay safe ones: a thread left running may free a block under us. */
    int all = 0, n = threads != 1 ? hp_stopworld_stop(&s.stopped, &all) : 0;
    s.nstopped = n > 0 ? n : 0;
    size_t live = hp_liveset_each(NULL, NULL);
    if (live > UINT32_MAX)
        goto out;
    cap = live ? live : 1;
    s.blk = map_scratch(cap * sizeof(blk_t));
    s.mark = map_scratch(cap);
    s.work = map_scratch(cap * sizeof(uint32_t));
    if (!s.blk || !s.mark || !s.work) {
        rc = HP_ERR_NOMEM;
        goto out;
    }
    /* Blocks freed by threads still running meanwhile only leave the set;
     * blocks they allocate meanwhile beyond cap are not scanned. */
    s.cap = cap;
    hp_liveset_each(add_block, &s);
    sort_blocks(s.blk, s.n);
    size_t u = 0; /* an address twice (a stale entry): keep one */
    for (size_t i = 0; i < s.n; i++)
        if (u == 0 || s.blk[i].addr != s.blk[u - 1].addr)
            s.blk[u++] = s.blk[i];
    s.n = u;
    hp_blockidx_build(&s.ix, s.blk, s.n); /* failure: it searches instead */
    scan_roots(&s, &r);
    while (s.nwork > 0) {
        const blk_t *b = &s.blk[s.work[--s.nwork]];
        scan_range(&s, b->addr, b->end);
    }
    hp_stopworld_resume(); /* before the writer's lock */
    rc = write_records(&s);
out:
    hp_stopworld_resume();
    roots_free(&r);
    hp_blockidx_free(&s.ix);
    if (s.blk)
        munmap(s.blk, cap * sizeof(blk_t));
    if (s.mark)
        munmap(s.mark, cap);
    if (s.work)
        munmap(s.work, cap * sizeof(uint32_t));
    if (s.buf)
        munmap(s.buf, SAFE_CHUNK);
    return rc;
}

int hp_leakscan_run(void)
{
    if (!__atomic_load_n(&enabled, __ATOMIC_ACQUIRE))
        return 1;
    /* The registers (callee-saved ones may hold the program's pointers),
     * spilled into this frame, which the stack scan starts from. */
    ucontext_t uc;
    getcontext(&uc);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int rc = run_scan((uintptr_t)&uc);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return rc;
}
