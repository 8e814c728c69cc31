/*
 * init.h - lazy initialization and the life cycle of the recorder.
 *
 * The first hook call (or the library constructor, whichever comes first)
 * initializes: options, trace file, module map, thread-exit key, fork
 * handlers. Other threads that call in while this runs forward without
 * recording. Process exit (library destructor), exec and fork flush or
 * reset what the threads buffered.
 */
#ifndef HP_PRELOAD_INIT_H
#define HP_PRELOAD_INIT_H

#include <stdint.h>

enum hp_init_state {
    HP_ST_UNINIT = 0,
    HP_ST_INITIALIZING = 1,
    HP_ST_RECORDING = 2,
    HP_ST_OFF = 3, /* stopped (write error, after exit flush, no-children) */
};

/* Current state (acquire load). */
static inline int hp_init_state_get(void)
{
    extern int hp_init_state;
    return __atomic_load_n(&hp_init_state, __ATOMIC_ACQUIRE);
}

/*
 * Initializes once if nobody did yet; returns the state afterwards
 * (HP_ST_INITIALIZING when another thread is initializing right now).
 * Call with the guard held. Requires hp_real_init() to have succeeded.
 */
int hp_init_ensure(void);

/* Stops recording for good (write error): hooks keep forwarding. */
void hp_init_stop(void);

/* The module map generation stacks are captured under now (>= 1). */
uint64_t hp_init_modgen(void);

/* Arms the thread-exit destructor for the calling thread. */
void hp_init_thread_attached(void);

/* Writes a new module map snapshot when objects were loaded or unloaded
 * (dlopen/dlclose hooks). Takes the guard itself. */
void hp_init_modules_refresh(void);

/* exec hooks: flush everything (END reason HP_END_EXEC) before the real
 * exec; resume recording when it failed. Take the guard themselves. */
void hp_init_exec_prepare(void);
void hp_init_exec_failed(void);

/* Library constructor: initializes if no hook did yet. */
void hp_init_at_load(void);

/* Library destructor (runs after the program's destructors and atexit
 * handlers): flushes every thread, writes HP_REC_END(EXIT), closes the
 * trace; later frees are not recorded. */
void hp_init_at_exit(void);

/* Non-zero when HEAPPROF_NO_CHILDREN=1 (children and exec'd images do not
 * record; exec hooks strip the preload from LD_PRELOAD). */
int hp_init_no_children(void);

#endif
