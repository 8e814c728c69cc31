/*
 * writer.c - creates the trace file and appends compressed frames.
 *
 * One zstd compression context lives on an mmap'd workspace
 * (ZSTD_initStaticCCtx), so compressing never calls malloc; one mmap'd
 * output buffer holds the index skippable frame followed by the data frame,
 * and the pair goes out with one write(2) on an O_APPEND descriptor: a
 * reader of a killed process's trace sees whole pairs only (a short write
 * can only come from a full disk, which stops recording). This module does
 * not decide what goes into a frame (tbuf.c does) nor when (init.c).
 */
#define ZSTD_STATIC_LINKING_ONLY
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "heapprof/error.h"
#include "heapprof/trace_format.h"
#include "log.h"
#include "procfs.h"
#include "vmem.h"

/* zstd's default level: on version 2 records (a byte or two per event) it
 * makes full-mode traces of allocator-heavy programs about 40% smaller
 * than level 1, for little time (the records are few bytes to begin with). */
#define LEVEL 3

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int fd = -1;
static int failed;
static ZSTD_CCtx *cctx;
static uint8_t *out;
static size_t out_cap;
static char path[HP_MAX_PATH + 8];
static off_t good; /* file size after the last complete pair */

int hp_writer_init(void)
{
    if (cctx)
        return 0;
    size_t ws = ZSTD_estimateCCtxSize(LEVEL);
    void *w = hp_vmem_map(ws, 0);
    if (!w)
        return HP_ERR_NOMEM;
    out_cap = HP_SKIP_HEADER_SIZE + HP_FRAME_INDEX_SIZE + ZSTD_compressBound(HP_MAX_FRAME_RAW);
    void *o = hp_vmem_map(out_cap, 0);
    if (!o) {
        munmap(w, ws);
        return HP_ERR_NOMEM;
    }
    ZSTD_CCtx *c = ZSTD_initStaticCCtx(w, ws);
    if (!c) {
        munmap(w, ws);
        munmap(o, out_cap);
        return HP_ERR_NOMEM;
    }
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, LEVEL);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    out = o;
    cctx = c;
    return 0;
}

int hp_writer_expand(const char *tmpl, const char *exe_base, unsigned pid, char *dst, size_t cap)
{
    size_t n = 0;
    char num[16];
    for (const char *t = tmpl; *t; t++) {
        const char *ins = NULL;
        char one[2] = {*t, 0};
        if (t[0] == '%' && t[1] == 'p') {
            int k = 15;
            num[k] = 0;
            unsigned v = pid;
            do {
                num[--k] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            ins = num + k;
            t++;
        } else if (t[0] == '%' && t[1] == 'e') {
            ins = exe_base;
            t++;
        } else if (t[0] == '%' && t[1] == '%') {
            ins = "%";
            t++;
        } else {
            ins = one;
        }
        size_t l = strlen(ins);
        if (n + l + 1 > cap)
            return -1;
        memcpy(dst + n, ins, l);
        n += l;
    }
    dst[n] = 0;
    return 0;
}

/* Inserts ".k" before a trailing ".zst" (or appends it) into dst. */
static int numbered(const char *base, int k, char *dst, size_t cap)
{
    size_t l = strlen(base);
    size_t stem = l;
    if (l >= 4 && strcmp(base + l - 4, ".zst") == 0)
        stem = l - 4;
    char suf[8];
    int s = 0;
    suf[s++] = '.';
    if (k >= 10)
        suf[s++] = (char)('0' + k / 10);
    suf[s++] = (char)('0' + k % 10);
    if (l + (size_t)s + 1 > cap)
        return -1;
    memcpy(dst, base, stem);
    memcpy(dst + stem, suf, (size_t)s);
    memcpy(dst + stem + s, base + stem, l - stem);
    dst[l + (size_t)s] = 0;
    return 0;
}

static int write_all(int f, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(f, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void warn_errno(const char *what, int err)
{
    /* strerrordesc_np: a static, untranslated string (strerror may load a
     * message catalogue, which allocates). */
    const char *reason = strerrordesc_np(err);
    if (!reason)
        reason = "unknown error";
    hp_log_once("cannot write trace ", path[0] ? path : what, ": ", reason, "; running unprofiled",
                (char *)NULL);
}

int hp_writer_open(const char *tmpl, uint64_t rate, uint64_t seed, uint32_t flags,
                   uint64_t start_ns)
{
    int rc = HP_ERR_IO;
    char exe[HP_MAX_PATH];
    char base[HP_MAX_PATH + 8];
    pthread_mutex_lock(&mu);
    if (fd >= 0) {
        close(fd);
        fd = -1;
    }
    failed = 0;
    path[0] = 0;
    size_t el = hp_proc_exe(exe, sizeof exe);
    const char *eb = strrchr(exe, '/');
    eb = eb ? eb + 1 : exe;
    if (hp_writer_expand(tmpl, *eb ? eb : "unknown", (unsigned)getpid(), base, sizeof base)) {
        memcpy(path, tmpl, strnlen(tmpl, sizeof path - 1));
        warn_errno(tmpl, ENAMETOOLONG);
        goto out;
    }
    int err = 0;
    for (int k = 0; k <= 99; k++) {
        if (k == 0)
            strcpy(path, base);
        else if (numbered(base, k, path, sizeof path)) {
            err = ENAMETOOLONG;
            break;
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            break;
        err = errno;
        if (err != EEXIST)
            break;
    }
    if (fd < 0) {
        if (err != EEXIST)
            strcpy(path, base);
        warn_errno(base, err);
        goto out;
    }
    /* fchmod: the umask must not widen or narrow the owner's 0600. */
    fchmod(fd, 0600);

    uint8_t hdr[HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE + HP_MAX_PATH];
    hp_file_header_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, HP_TRACE_MAGIC, 8);
    h.version = HP_TRACE_VERSION;
    h.pid = (uint32_t)getpid();
    h.ppid = (uint32_t)getppid();
    h.clock = HP_CLOCK_MONOTONIC_COARSE_NS;
    h.rate = rate;
    h.seed = seed;
    h.start_ns = start_ns;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    h.start_unix_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
    h.flags = flags;
    h.exe_len = (uint32_t)el;
    hp_put_le32(hdr, HP_SKIP_MAGIC_HEADER);
    hp_put_le32(hdr + 4, HP_FILE_HEADER_SIZE + (uint32_t)el);
    hp_encode_file_header(hdr + HP_SKIP_HEADER_SIZE, &h);
    memcpy(hdr + HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE, exe, el);
    good = (off_t)(HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE + el);
    if (write_all(fd, hdr, (size_t)good)) {
        warn_errno(path, errno);
        close(fd);
        fd = -1;
        goto out;
    }
    rc = 0;
out:
    if (rc)
        failed = 1;
    pthread_mutex_unlock(&mu);
    return rc;
}

int hp_writer_frame(uint32_t tid, uint32_t seq, uint64_t first_ts, uint64_t last_ts,
                    const uint8_t *raw, size_t len)
{
    int rc = HP_ERR_IO;
    if (len > HP_MAX_FRAME_RAW)
        return HP_ERR_USAGE;
    pthread_mutex_lock(&mu);
    if (fd < 0 || failed || !cctx)
        goto out;
    uint8_t *data = out + HP_SKIP_HEADER_SIZE + HP_FRAME_INDEX_SIZE;
    size_t cap = out_cap - (size_t)(data - out);
    size_t cs = ZSTD_compress2(cctx, data, cap, raw, len);
    if (ZSTD_isError(cs)) {
        /* Cannot happen with a bound-sized buffer; reset and drop the frame. */
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
        rc = HP_ERR_NOMEM;
        goto out;
    }
    hp_frame_index_t x = {tid, seq, first_ts, last_ts, (uint32_t)cs, (uint32_t)len};
    hp_put_le32(out, HP_SKIP_MAGIC_INDEX);
    hp_put_le32(out + 4, HP_FRAME_INDEX_SIZE);
    hp_encode_frame_index(out + HP_SKIP_HEADER_SIZE, &x);
    size_t n = (size_t)(data - out) + cs;
    if (write_all(fd, out, n)) {
        int err = errno;
        failed = 1;
        /* A full disk wrote part of the pair: cut it off, so the trace ends
         * cleanly after the last whole frame (best effort). */
        if (ftruncate(fd, good) != 0)
            (void)0;
        warn_errno(path, err);
        goto out;
    }
    good += (off_t)n;
    rc = 0;
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

void hp_writer_close(void)
{
    pthread_mutex_lock(&mu);
    if (fd >= 0)
        close(fd);
    fd = -1;
    pthread_mutex_unlock(&mu);
}

int hp_writer_ok(void)
{
    return __atomic_load_n(&fd, __ATOMIC_RELAXED) >= 0 &&
           !__atomic_load_n(&failed, __ATOMIC_RELAXED);
}

const char *hp_writer_path(void)
{
    return path;
}

void hp_writer_prefork(void)
{
    pthread_mutex_lock(&mu);
}

void hp_writer_postfork_parent(void)
{
    pthread_mutex_unlock(&mu);
}

void hp_writer_postfork_child(void)
{
    pthread_mutex_init(&mu, NULL);
    if (fd >= 0)
        close(fd);
    fd = -1;
    failed = 0;
    path[0] = 0;
    if (cctx)
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
}
