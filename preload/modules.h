/*
 * modules.h - the module map: which file is loaded where, with build-ids.
 *
 * The analyzer symbolizes offline, so the trace carries an HP_REC_MODULES
 * snapshot at start (generation 1) and after every dlopen/dlclose that
 * changed the set of loaded objects. Read with dl_iterate_phdr; never
 * allocates itself (the loader may, so callers hold the reentrancy guard).
 */
#ifndef HP_PRELOAD_MODULES_H
#define HP_PRELOAD_MODULES_H

#include <stddef.h>
#include <stdint.h>

/*
 * Encodes one HP_REC_MODULES record (tag included) with generation gen into
 * buf (cap bytes). Modules that do not fit are left out. Returns the record
 * length, or 0 when not even the empty record fits.
 */
size_t hp_modules_snapshot(uint8_t *buf, size_t cap, uint64_t gen);

/*
 * Returns non-zero when objects were loaded or unloaded since the previous
 * call (dl_iterate_phdr's adds/subs counters); the first call returns 1.
 */
int hp_modules_changed(void);

/* Address range [*lo, *hi) of the PT_LOAD segments of the loaded object
 * that holds addr (hp_modules_self_range: libheapprof.so itself). Returns
 * 0, or -1 when no object holds it. */
int hp_modules_range_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
int hp_modules_self_range(uintptr_t *lo, uintptr_t *hi);

#endif
