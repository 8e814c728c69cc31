/*
 * procfs.c - what the recorder reads from /proc about its own process,
 * without allocating (procfs.h).
 */
#include "procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Reads the whole of a small /proc file into buf (NUL-terminated): its
 * length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Opens /proc/thread-self/NAME, the calling thread's view: /proc/self
 * is the main thread's, whose maps read empty once it has called
 * pthread_exit while other threads run on. /proc/self/NAME on kernels
 * before 3.17, which lack thread-self. */
static int open_own(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/thread-self/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(path, sizeof path, "/proc/self/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    return fd;
}

static uintptr_t parse_hex(const char **s)
{
    const char *p = *s;
    if (p[0] == '0' && p[1] == 'x')
        p += 2;
    uintptr_t v = 0;
    for (;; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d < 0)
            break;
        v = v * 16 + (uintptr_t)d;
    }
    *s = p;
    return v;
}

long hp_proc_number(const char *path, const char *key)
{
    char buf[4096];
    if (read_small(path, buf, sizeof buf) <= 0)
        return -1;
    const char *p = buf;
    if (key) {
        size_t k = strlen(key);
        while (strncmp(p, key, k) != 0) {
            p = strchr(p, '\n');
            if (!p++)
                return -1;
        }
        p += k;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000000)
        v = v * 10 + (*p++ - '0');
    return v;
}

int hp_proc_task_state(int tid)
{
    char path[48], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    if (read_small(path, buf, sizeof buf) <= 0)
        return 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    return p && p[1] == ' ' ? p[2] : 0;
}

int hp_proc_threads(void)
{
    char buf[1024];
    if (read_small("/proc/self/stat", buf, sizeof buf) <= 0)
        return -1;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    /* After ")": state is field 3; num_threads is field 20. */
    for (int field = 2; field < 20 && *p; p++)
        if (*p == ' ')
            field++;
    int t = 0;
    while (*p >= '0' && *p <= '9')
        t = t * 10 + (*p++ - '0');
    return t > 0 ? t : -1;
}

int hp_proc_maps_each(int pid, int (*fn)(const char *line, size_t len, void *arg), void *arg)
{
    char path[32], buf[8192]; /* a line is at most an address range and PATH_MAX */
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    int fd = pid ? open(path, O_RDONLY | O_CLOEXEC) : open_own("maps");
    if (fd < 0)
        return -1;
    size_t have = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r <= 0) {
            if (have > 0) /* a last line without its newline */
                rc = fn(buf, have, arg);
            break;
        }
        have += (size_t)r;
        size_t start = 0;
        for (char *nl; rc == 0 && (nl = memchr(buf + start, '\n', have - start));) {
            rc = fn(buf + start, (size_t)(nl - (buf + start)), arg);
            start = (size_t)(nl - buf) + 1;
        }
        if (rc != 0)
            break;
        if (start == 0 && have == sizeof buf)
            start = have; /* a line longer than the buffer: dropped */
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    close(fd);
    return rc;
}

/* A maps line's "lo-hi": what follows it, or NULL. */
static const char *parse_range(const char *line, uintptr_t *lo, uintptr_t *hi)
{
    const char *p = line;
    *lo = parse_hex(&p);
    if (*p++ != '-')
        return NULL;
    *hi = parse_hex(&p);
    return p;
}

typedef struct {
    uintptr_t addr, lo, hi;
} find_t;

static int find_mapping(const char *line, size_t len, void *arg)
{
    find_t *f = arg;
    uintptr_t lo, hi;
    (void)len;
    if (!parse_range(line, &lo, &hi) || f->addr < lo || f->addr >= hi)
        return 0;
    f->lo = lo;
    f->hi = hi;
    return 1;
}

int hp_proc_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    find_t f = {addr, 0, 0};
    if (hp_proc_maps_each(0, find_mapping, &f) != 1)
        return -1;
    *lo = f.lo;
    *hi = f.hi;
    return 0;
}

typedef struct {
    int (*fn)(uintptr_t lo, uintptr_t hi, void *arg);
    void *arg;
} readable_t;

static int readable_line(const char *line, size_t len, void *arg)
{
    readable_t *r = arg;
    uintptr_t lo, hi;
    const char *p = parse_range(line, &lo, &hi); /* then " rwxp" */
    if (!p || p + 1 >= line + len || p[0] != ' ' || p[1] != 'r' || hi <= lo)
        return 0;
    return r->fn(lo, hi, r->arg);
}

int hp_proc_readable_each(int (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
    readable_t r = {fn, arg};
    return hp_proc_maps_each(0, readable_line, &r);
}

int hp_proc_pages_used(uintptr_t lo, size_t npages, uint8_t *used)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int fd = open_own("pagemap");
    if (fd < 0) /* no pagemap: resident pages only */
        return mincore((void *)lo, npages * page, used) == 0 ? 0 : -1;
    uint64_t e[512];
    for (size_t i = 0; i < npages;) {
        size_t k = npages - i < 512 ? npages - i : 512;
        off_t at = (off_t)((lo / page + i) * sizeof e[0]);
        ssize_t got = pread(fd, e, k * sizeof e[0], at);
        if (got <= 0) {
            close(fd);
            return -1;
        }
        k = (size_t)got / sizeof e[0];
        for (size_t j = 0; j < k; j++) /* bit 63: present; bit 62: swapped */
            used[i + j] = (e[j] >> 62) != 0;
        i += k;
    }
    close(fd);
    return 0;
}

/* struct linux_dirent64, which glibc 2.36's headers do not declare. */
struct dirent64_s {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

int hp_proc_tasks_each(int (*fn)(int tid, void *arg), void *arg)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    _Alignas(8) char buf[4096];
    int rc = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        for (long off = 0; off < n;) {
            const struct dirent64_s *d = (const struct dirent64_s *)(buf + off);
            off += d->reclen;
            int tid = 0;
            const char *c = d->name;
            while (*c >= '0' && *c <= '9')
                tid = tid * 10 + (*c++ - '0');
            if (*c == '\0' && tid > 0 && fn(tid, arg) != 0)
                goto out;
        }
    }
out:
    close(fd);
    return rc;
}

int hp_proc_task_sp(int tid, uintptr_t *sp, uintptr_t args[6])
{
    /* "running", or "NR SP PC" outside a system call (NR < 0), or
     * "NR ARG1 .. ARG6 SP PC": the stack pointer is the next to last. */
    char path[48], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    ssize_t n = read_small(path, buf, sizeof buf);
    if (n <= 0)
        return -1;
    if (strncmp(buf, "running", 7) == 0)
        return 0;
    const char *field[9];
    int k = 0;
    for (char *p = buf; *p && k < 9;) {
        while (*p == ' ')
            p++;
        if (!*p || *p == '\n')
            break;
        field[k++] = p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
    }
    if (k != 3 && k != 9)
        return -1;
    for (int i = 0; i < 6; i++) {
        const char *a = field[1 + i];
        args[i] = k == 9 ? parse_hex(&a) : 0;
    }
    const char *s = field[k - 2];
    *sp = parse_hex(&s);
    return *sp ? 1 : -1;
}

size_t hp_proc_exe(char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    return (size_t)n;
}
