/*
 * procfs.h - what the recorder reads from /proc about its own process.
 *
 * Every function reads with open/read/close into buffers on the stack: no
 * allocation, so they serve under the reentrancy guard, at exit, and in a
 * fork child whose allocator lock may be held.
 */
#ifndef HP_PRELOAD_PROCFS_H
#define HP_PRELOAD_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* The executable's path (/proc/self/exe), NUL-terminated in buf[0..cap):
 * returns its length, 0 when unknown (buf is then ""). */
size_t hp_proc_exe(char *buf, size_t cap);

/*
 * The number in a small /proc file: the first one when key is NULL
 * (/proc/sys/...), else the one after the line that starts with key
 * ("Seccomp:" in /proc/self/status). Returns it, or -1 when the file or
 * the key is missing.
 */
long hp_proc_number(const char *path, const char *key);

/* The state letter of thread tid of this process (R, S, D, Z, ...), or 0
 * when unknown. */
int hp_proc_task_state(int tid);

/* Number of threads of this process, or -1 when /proc cannot tell. */
int hp_proc_threads(void);

/*
 * Calls fn on each line of /proc/PID/maps (pid 0: this process), without
 * its newline, until fn returns non-zero. Returns what fn returned last,
 * 0 after the last line, or -1 when the file cannot be opened.
 */
int hp_proc_maps_each(int pid, int (*fn)(const char *line, size_t len, void *arg), void *arg);

/* The mapping [*lo, *hi) of this process that holds addr: 0, or -1. */
int hp_proc_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/* Calls fn on each readable mapping [lo, hi) of this process until fn
 * returns non-zero; returns as hp_proc_maps_each. */
int hp_proc_readable_each(int (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

/*
 * Which of the npages pages from lo (page-aligned, mapped) hold data:
 * used[i] = 1 for a page present in memory or swapped out
 * (/proc/self/pagemap), 0 for one never touched, whose contents are zero.
 * Without pagemap, the resident pages (mincore). Returns 0, or -1.
 */
int hp_proc_pages_used(uintptr_t lo, size_t npages, uint8_t *used);

/*
 * Calls fn with the id of each thread of this process (/proc/self/task)
 * until fn returns non-zero. Returns 0, or -1 when the list is unreadable.
 */
int hp_proc_tasks_each(int (*fn)(int tid, void *arg), void *arg);

/*
 * The stack pointer of thread tid while it waits in a system call
 * (/proc/self/task/TID/syscall): returns 1 and sets *sp, and args[0..5] to
 * the call's six argument registers (0 when it is stopped outside a call);
 * 0 when the thread is running (neither is known); -1 when unreadable.
 */
int hp_proc_task_sp(int tid, uintptr_t *sp, uintptr_t args[6]);

#endif
