/*
 * stopworld.h - stops the process's other threads for the exit scan and
 * reads their registers.
 *
 * The leak scan (leakscan.c) runs in the thread that exits while the
 * others may still run. Those threads' registers are not in memory, and a
 * thread that never called the allocator has a stack the scan cannot
 * find, so a block held only there looked lost, where memcheck (which
 * reads every thread's registers and stack) finds it reachable. Stopped,
 * they cannot move a pointer from memory not yet scanned to memory
 * already scanned either.
 *
 * A process cannot ptrace its own threads, so a helper task that shares
 * the address space but is a process of its own (clone with CLONE_VM,
 * without CLONE_THREAD, as LeakSanitizer does) attaches to each thread
 * with PTRACE_SEIZE and PTRACE_INTERRUPT, reads its registers, and
 * detaches when told to. A ptrace stop is not a signal: no handler runs,
 * and the system calls the kernel restarts after a stop (read, write,
 * nanosleep, poll, select, futex waits) resume as if nothing happened; a
 * signal that arrives meanwhile is handed back at detach. A few calls
 * (epoll_wait, semop, sigtimedwait, io_getevents; signal(7)) would return
 * EINTR after a stop, so a thread waiting in one of those is left running
 * and the scan reads it as before; one that enters such a call just as
 * the stop reaches it still sees EINTR.
 *
 * x86-64 only; elsewhere, and where ptrace is not allowed (a seccomp
 * filter, Yama's ptrace_scope 2 or 3, a thread already traced by a
 * debugger, a non-dumpable process), hp_stopworld_stop fails and the
 * scan reads the running threads as before.
 */
#ifndef HP_PRELOAD_STOPWORLD_H
#define HP_PRELOAD_STOPWORLD_H

#include <stddef.h>
#include <stdint.h>

/* The most threads stopped at once; a process with more is not stopped. */
#define HP_STOPWORLD_MAX 4096
/* The general registers of a thread, as words (x86-64 user_regs_struct). */
#define HP_STOPWORLD_REGS 27

typedef struct hp_stopped_s {
    int tid;
    uintptr_t sp;                       /* its stack pointer */
    uintptr_t regs[HP_STOPWORLD_REGS];  /* every general register */
} hp_stopped_t;

/*
 * Stops every thread of this process but the calling one, except those
 * waiting in a call a stop would interrupt. Returns the number of threads
 * stopped and sets *out to them, sorted by tid, and *all to whether they
 * are all the others; or -1 when they could not all be stopped, and none
 * is then. The caller blocks no signal and takes no lock another
 * thread may hold until hp_stopworld_resume(): the calling thread's
 * signals are blocked meanwhile. Allocates nothing (mmap).
 */
int hp_stopworld_stop(const hp_stopped_t **out, int *all);

/* The stopped thread tid, or NULL. */
const hp_stopped_t *hp_stopworld_find(const hp_stopped_t *t, int n, int tid);

/* Lets the threads run again, after a successful hp_stopworld_stop(). */
void hp_stopworld_resume(void);

#endif
