/*
 * init.c - lazy initialization; flush at thread exit, exit and exec; fork.
 *
 * State machine (hp_init_state): UNINIT -> INITIALIZING (one thread, by
 * CAS) -> RECORDING, or OFF when the trace cannot be created. Threads that
 * arrive during INITIALIZING forward without recording and retry later, so
 * the first allocation may come from the dynamic loader, another library's
 * constructor or any thread (issue 2, item 2). The library destructor runs
 * after the program's own destructors and atexit handlers and writes every
 * thread's buffers, their counters and HP_REC_END(EXIT). exec hooks do the
 * same with HP_END_EXEC and resume when exec fails (the trace then holds an
 * END(EXEC) followed by more records and a final END(EXIT)). A fork child
 * opens its own trace (HP_HDR_FORKED) or, with HEAPPROF_NO_CHILDREN=1,
 * records nothing, like a process whose parent has libheapprof.so loaded
 * (posix_spawn, system). This module does not encode records (tbuf.c) or write
 * files (writer.c).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard.h"
#include "heapprof/trace_format.h"
#include "leakscan.h"
#include "liveset.h"
#include "log.h"
#include "modules.h"
#include "options.h"
#include "procfs.h"
#include "progmaps.h"
#include "real.h"
#include "tbuf.h"
#include "unwind.h"
#include "vmem.h"
#include "writer.h"

int hp_init_state;

static uint64_t modgen;
static pthread_key_t exit_key;
static int have_key;
static pthread_mutex_t mod_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *mod_buf; /* HP_MAX_FRAME_RAW bytes, mmap'd: the last snapshot */
static size_t mod_len;   /* its length */
static int fork_multi;   /* other threads ran when fork was called */
static pid_t owner_pid;  /* the process this state belongs to */

static void write_modules(void)
{
    pthread_mutex_lock(&mod_mu);
    if (mod_buf) {
        uint64_t gen = __atomic_add_fetch(&modgen, 1, __ATOMIC_ACQ_REL);
        size_t n = hp_modules_snapshot(mod_buf, HP_MAX_FRAME_RAW, gen);
        mod_len = n;
        if (n && hp_tbuf_write_process(mod_buf, n, hp_tbuf_now()) != 0)
            hp_init_stop();
    }
    pthread_mutex_unlock(&mod_mu);
}

static void thread_exit(void *arg)
{
    hp_guard_enter();
    if (hp_tbuf_thread_exit())
        pthread_setspecific(exit_key, arg);
    hp_guard_leave();
}

/* A line of a maps file that names libheapprof.so. */
static int names_us(const char *line, size_t len, void *arg)
{
    static const char name[] = "libheapprof.so";
    (void)arg;
    return memmem(line, len, name, sizeof name - 1) != NULL;
}

/*
 * With HEAPPROF_NO_CHILDREN=1: was this process started by a profiled one?
 * fork and exec are handled by their hooks, but a child that libc creates
 * itself (posix_spawn, system, popen: clone and an internal execve) passes
 * no hook, so the child asks whether its parent has libheapprof.so mapped.
 * Reads /proc/PPID/maps without allocating.
 */
static int parent_profiled(void)
{
    return hp_proc_maps_each((int)getppid(), names_us, NULL) == 1;
}

/* Are sampled blocks placed at page starts (tbuf.h)? Not in full mode
 * (rate 1), nor at rates where placing would cost too much memory. */
static int placed(void)
{
    return hp_options.rate >= HP_PLACE_MIN_RATE;
}

static void prefork(void)
{
    hp_guard_enter();
    fork_multi = hp_proc_threads() != 1; /* unknown: assume the worst */
    pthread_mutex_lock(&mod_mu);
    hp_writer_prefork();
}

static void postfork_parent(void)
{
    hp_writer_postfork_parent();
    pthread_mutex_unlock(&mod_mu);
    hp_guard_leave();
}

static int open_trace(uint32_t flags)
{
    if (hp_writer_open(hp_options.out, hp_options.rate, hp_options.seed, flags, hp_tbuf_now()) != 0)
        return -1;
    hp_modules_changed();
    write_modules();
    return hp_writer_ok() ? 0 : -1;
}

/*
 * The fork child's trace. It must not call dl_iterate_phdr: if another
 * thread of the parent held the loader's lock at fork time, the lock stays
 * taken forever in the child. So the child starts from the parent's last
 * module snapshot (same generation: the child's address space is a copy),
 * and, when the parent had other threads, captures stacks without
 * libunwind (cut where the CFI rules end) until a successful dlopen/dlclose
 * proves the lock free again.
 */
static int open_trace_child(void)
{
    if (hp_writer_open(hp_options.out, hp_options.rate, hp_options.seed, HP_HDR_FORKED,
                       hp_tbuf_now()) != 0)
        return -1;
    if (fork_multi)
        hp_unwind_enable(HP_UNWIND_NO_LIBUNWIND);
    if (mod_buf && mod_len && hp_tbuf_write_process(mod_buf, mod_len, hp_tbuf_now()) != 0)
        return -1;
    return hp_writer_ok() ? 0 : -1;
}

static void postfork_child(void)
{
    pthread_mutex_init(&mod_mu, NULL);
    hp_writer_postfork_child();
    int was = __atomic_load_n(&hp_init_state, __ATOMIC_ACQUIRE);
    owner_pid = getpid();
    hp_tbuf_postfork_child();
    hp_unwind_postfork_child();
    hp_progmaps_postfork_child();
    if (was != HP_ST_RECORDING || hp_options.no_children) {
        hp_init_stop();
    } else {
        hp_log_reset();
        __atomic_store_n(&hp_tbuf_mode, 0, __ATOMIC_RELAXED);
        if (open_trace_child() == 0)
            hp_tbuf_set_mode(hp_options.rate == 1 ? 2 : 1, placed());
        else
            hp_init_stop();
    }
    hp_guard_leave();
}

static void do_init(void)
{
    int ok = 0;
    owner_pid = getpid();
    hp_options_parse();
    if (hp_options.no_children && parent_profiled())
        goto out; /* a child: record nothing */
    if (hp_writer_init() || hp_tbuf_init())
        goto out;
    unsigned spacing = hp_real_spacing_log();
    if (hp_liveset_init(hp_options.rate == 1, placed() ? HP_PLACE_ALIGN_LOG : spacing))
        goto out;
    /* The scan's block sizes and exit-time marking cost time and memory in
     * proportion to the heap (about 18% of a full-mode run of perl), so
     * only a leak check asks for it. Failure: no scan, recording goes on. */
    if (hp_options.rate == 1 && hp_options.leak_scan && hp_leakscan_init() == 0)
        hp_progmaps_enable(); /* failure: the scan reads no program mappings */
    void *m = hp_vmem_map(HP_MAX_FRAME_RAW, 0);
    if (!m)
        goto out;
    mod_buf = m;
    uintptr_t lo = 0, hi = 0;
    hp_modules_self_range(&lo, &hi);
    hp_unwind_init(lo, hi);
    if (pthread_key_create(&exit_key, thread_exit) == 0)
        have_key = 1;
    if (open_trace(0))
        goto out;
    pthread_atfork(prefork, postfork_parent, postfork_child);
    hp_tbuf_set_mode(hp_options.rate == 1 ? 2 : 1, placed());
    ok = 1;
out:
    __atomic_store_n(&hp_init_state, ok ? HP_ST_RECORDING : HP_ST_OFF, __ATOMIC_RELEASE);
}

int hp_init_ensure(void)
{
    int st = __atomic_load_n(&hp_init_state, __ATOMIC_ACQUIRE);
    if (st != HP_ST_UNINIT)
        return st;
    if (!__atomic_compare_exchange_n(&hp_init_state, &st, HP_ST_INITIALIZING, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return st;
    hp_guard_enter();
    do_init();
    hp_guard_leave();
    return __atomic_load_n(&hp_init_state, __ATOMIC_ACQUIRE);
}

void hp_init_stop(void)
{
    __atomic_store_n(&hp_tbuf_mode, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&hp_init_state, HP_ST_OFF, __ATOMIC_RELEASE);
}

uint64_t hp_init_modgen(void)
{
    return __atomic_load_n(&modgen, __ATOMIC_ACQUIRE);
}

void hp_init_thread_attached(void)
{
    if (have_key)
        pthread_setspecific(exit_key, (void *)1);
}

void hp_init_modules_refresh(void)
{
    if (hp_init_state_get() != HP_ST_RECORDING)
        return;
    int saved_errno = errno;
    hp_guard_enter();
    pthread_mutex_lock(&mod_mu);
    int changed = hp_modules_changed();
    pthread_mutex_unlock(&mod_mu);
    if (changed)
        write_modules();
    hp_unwind_enable(HP_UNWIND_ON); /* the loader's lock is evidently free */
    hp_guard_leave();
    errno = saved_errno;
}

/*
 * A vfork child (or a clone sharing our memory) that calls exec runs the
 * exec hooks in the parent's address space: flushing there would write
 * END(EXEC) into the parent's trace and leave the parent stopped. Its pid
 * differs from the one this state belongs to (fork children reset it).
 */
static int shared_with_parent(void)
{
    return getpid() != __atomic_load_n(&owner_pid, __ATOMIC_RELAXED);
}

void hp_init_exec_prepare(void)
{
    if (hp_init_state_get() != HP_ST_RECORDING || shared_with_parent())
        return;
    hp_guard_enter();
    hp_tbuf_flush_all(HP_END_EXEC);
    hp_guard_leave();
}

void hp_init_exec_failed(void)
{
    if (hp_init_state_get() != HP_ST_RECORDING || shared_with_parent())
        return;
    hp_tbuf_resume();
}

int hp_init_no_children(void)
{
    return hp_options.no_children;
}

void hp_init_at_load(void)
{
    /* Usually a hook ran first; otherwise start recording now so that a
     * program that never allocates still leaves a trace. */
    hp_guard_enter();
    int rc = hp_real_init();
    hp_guard_leave();
    if (rc == 0)
        hp_init_ensure();
}

void hp_init_at_exit(void)
{
    if (hp_init_state_get() != HP_ST_RECORDING)
        return;
    int saved_errno = errno;
    hp_guard_enter();
    __atomic_store_n(&hp_tbuf_mode, 0, __ATOMIC_RELEASE);
    hp_leakscan_run(); /* HP_REC_UNREACHABLE, before END; full mode only */
    hp_tbuf_flush_all(HP_END_EXIT);
    hp_writer_close();
    __atomic_store_n(&hp_init_state, HP_ST_OFF, __ATOMIC_RELEASE);
    hp_guard_leave();
    errno = saved_errno;
}
