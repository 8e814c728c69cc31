/*
 * writer.h - the trace file: header, then one (index, zstd frame) pair per
 * flushed buffer, each pair appended with a single write(2).
 *
 * All functions serialize on one internal mutex and use only preallocated
 * (mmap'd) memory: callable from any hook's slow path, from thread exit and
 * from the exit destructor. None of them may be called from a signal handler.
 */
#ifndef HP_PRELOAD_WRITER_H
#define HP_PRELOAD_WRITER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Maps the compressor workspace (once per process). Returns 0 or
 * HP_ERR_NOMEM.
 */
int hp_writer_init(void);

/*
 * Creates the trace file from the template tmpl (%p pid, %e executable
 * basename, %% percent) with O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600; when
 * the name exists, tries ".1" .. ".99" before ".zst". Writes the file header
 * (rate, seed, flags HP_HDR_*, ppid). Returns 0, or HP_ERR_IO after one
 * warning on stderr ("cannot write trace PATH: reason; running unprofiled").
 */
int hp_writer_open(const char *tmpl, uint64_t rate, uint64_t seed, uint32_t flags,
                   uint64_t start_ns);

/*
 * Compresses raw[0..len) (len <= HP_MAX_FRAME_RAW) into one zstd frame and
 * appends index + frame with one write. Returns 0, or HP_ERR_IO after a
 * write error (one warning; every later call fails fast with HP_ERR_IO).
 */
int hp_writer_frame(uint32_t tid, uint32_t seq, uint64_t first_ts, uint64_t last_ts,
                    const uint8_t *raw, size_t len);

/* Closes the trace (no more frames). Idempotent. */
void hp_writer_close(void);

/* Non-zero while a trace is open and writable. */
int hp_writer_ok(void);

/* The path of the open trace (empty when none). */
const char *hp_writer_path(void);

/* pthread_atfork hooks: hold the mutex across fork; in the child, forget
 * the parent's file (closes the inherited fd, never writes to it). */
void hp_writer_prefork(void);
void hp_writer_postfork_parent(void);
void hp_writer_postfork_child(void);

/*
 * Expands tmpl into out (size cap): %p pid, %e exe basename, %% a percent;
 * other % sequences are copied. Returns 0, or -1 when out is too small.
 */
int hp_writer_expand(const char *tmpl, const char *exe_base, unsigned pid, char *out, size_t cap);

#endif
