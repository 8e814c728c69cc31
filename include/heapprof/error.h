/*
 * error.h - error codes shared by heapprof's libraries and tools.
 *
 * Functions that can fail return int: 0 on success or a negative hp_err.
 * Pointer-returning functions return NULL instead (their header says so).
 */
#ifndef HEAPPROF_ERROR_H
#define HEAPPROF_ERROR_H

enum hp_err {
    HP_OK = 0,
    HP_ERR_IO = -1,        /* read/write/open failed; errno says more */
    HP_ERR_NOMEM = -2,     /* out of memory */
    HP_ERR_FORMAT = -3,    /* the trace is corrupt or not a heapprof trace */
    HP_ERR_VERSION = -4,   /* the trace's format version is not supported */
    HP_ERR_TRUNCATED = -5, /* the trace ends inside a frame (a killed process) */
    HP_ERR_USAGE = -6,     /* bad argument or option */
    HP_ERR_UNSUPPORTED = -7, /* not available in this build */
};

/* Returns a static, human-readable description of an hp_err code. */
static inline const char *hp_strerror(int err)
{
    switch (err) {
    case HP_OK: return "success";
    case HP_ERR_IO: return "input/output error";
    case HP_ERR_NOMEM: return "out of memory";
    case HP_ERR_FORMAT: return "corrupt or foreign trace";
    case HP_ERR_VERSION: return "unsupported trace version";
    case HP_ERR_TRUNCATED: return "truncated trace";
    case HP_ERR_USAGE: return "usage error";
    case HP_ERR_UNSUPPORTED: return "not supported by this build";
    default: return "unknown error";
    }
}

#endif /* HEAPPROF_ERROR_H */
