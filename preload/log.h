/*
 * log.h - say-once warnings on stderr for the recorder.
 *
 * Messages go straight to file descriptor 2 with write(2): no stdio, no
 * allocation, safe from inside any hook.
 */
#ifndef HP_PRELOAD_LOG_H
#define HP_PRELOAD_LOG_H

/*
 * Writes "heapprof: " followed by the concatenation of the NULL-terminated
 * list of strings and a newline to stderr, at most once per process (later
 * calls are silent). Never allocates. Returns nothing; write errors are
 * ignored because there is nobody left to tell.
 */
void hp_log_once(const char *first, ...) __attribute__((sentinel));

/* Re-arms hp_log_once (a fork child may warn about its own trace). */
void hp_log_reset(void);

#endif
