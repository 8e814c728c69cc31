/*
 * heapprof.h - optional API for programs that run under libheapprof.so.
 *
 * A program never needs this header: heapprof profiles it unchanged. These
 * calls let it cooperate. Declare them weak (or check heapprof_active()
 * through dlsym) so the same binary runs without the profiler:
 *
 *     #include <heapprof/heapprof.h>
 *     if (heapprof_active) heapprof_flush();
 */
#ifndef HEAPPROF_HEAPPROF_H
#define HEAPPROF_HEAPPROF_H

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 1 while the profiler records this process, 0 otherwise (not yet
 * initialized, or stopped after a write error). Never allocates. */
int heapprof_active(void) __attribute__((weak));

/* Writes the calling thread's buffered events to the trace now, so that a
 * trace read while the program runs is up to date. Returns 0, or a negative
 * hp_err (include/heapprof/error.h). Async-signal-unsafe. */
int heapprof_flush(void) __attribute__((weak));

#ifdef __cplusplus
}
#endif

#endif /* HEAPPROF_HEAPPROF_H */
