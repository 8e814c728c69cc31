/*
 * symbols.h - offline symbolization of recorded pcs with elfutils' libdw.
 *
 * Given a module of the trace's module map and a pc inside it, finds the
 * function (demangled), file and line, and the chain of inlined frames. ELF
 * and DWARF are opened once per module and cached, with lookups cached per
 * pc, so 10^5 distinct frames take seconds. Separate debuginfo is found by
 * build-id (/usr/lib/debug/.build-id/xx/yyyy.debug) and by debuglink. A
 * module whose file on disk has another build-id than the trace recorded is
 * not used: its frames keep module+offset, and one warning names it.
 *
 * Environment: HEAPPROF_DEBUG_PATH, a colon-separated list of directories
 * searched for separate debuginfo before the default places (beside the
 * module, its .debug/ subdirectory, /usr/lib/debug): by build-id as
 * DIR/.build-id/xx/yyyy.debug, and by .gnu_debuglink name. Read by
 * hp_symbols_new(). DEBUGINFOD_URLS, when set, lets libdw fetch missing
 * debuginfo from a debuginfod server (libdw's own behaviour).
 */
#ifndef HP_SYMBOLS_H
#define HP_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* A module of a trace's module map (HP_REC_MODULES). */
typedef struct hp_module_s {
    uint64_t bias;            /* load bias: file address = pc - bias */
    uint64_t start, end;      /* [start, end) covered by its PT_LOAD segments */
    const char *path;
    const uint8_t *build_id;  /* NULL when the module has none */
    size_t build_id_len;
} hp_module_t;

typedef struct hp_symbols_s hp_symbols_t;

/*
 * Creates a symbolizer. warn (may be NULL) receives one message per module
 * that cannot be used (missing file, build-id mismatch, not ELF, neither
 * DWARF nor a symbol table), the first time a pc in it is looked up; the
 * kernel's [vdso] / linux-vdso.so.1 has no file and is never warned about.
 * msg is only valid during the call. Modules are opened lazily, on their
 * first lookup. Returns NULL when out of memory.
 */
hp_symbols_t *hp_symbols_new(void (*warn)(void *ctx, const char *msg), void *ctx);

/* Frees the symbolizer and every string it returned. NULL is a no-op. */
void hp_symbols_free(hp_symbols_t *s);

/*
 * Symbolizes pc in module m (m may be NULL: pc in no known module). Writes
 * up to max frames to out, innermost first: the inlined callees, then the
 * function that contains them (inlined = 1 on all but that last one).
 * pc is looked up as given: pass a return address minus one. Every out
 * frame has pc and offset set; function/file/line/module/build_id point to
 * strings owned by s, or are NULL/0 when unknown. Returns the number of
 * frames written (>= 1 when max >= 1).
 */
size_t hp_symbols_lookup(hp_symbols_t *s, const hp_module_t *m, uint64_t pc,
                         hp_frame_t *out, size_t max);

#endif /* HP_SYMBOLS_H */
