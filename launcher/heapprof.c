/*
 * heapprof.c - the heapprof launcher: runs a command profiled (issue 5).
 *
 * `heapprof [options] [--] CMD [ARGS...]` finds libheapprof.so (next to the
 * launcher, in ../lib/heapprof/ beside it, or in the installed HP_LIBDIR),
 * prepends it to LD_PRELOAD, sets HEAPPROF_RATE / HEAPPROF_OUT /
 * HEAPPROF_NO_CHILDREN for the child, forks and execs CMD with a PATH search
 * and its arguments untouched, waits for it with SIGINT and SIGQUIT ignored
 * (like time(1)), and passes its exit status through; a death by signal is
 * re-raised on the launcher so the caller sees the same death. Afterwards it
 * names the trace files the run wrote: the files matching the HEAPPROF_OUT
 * pattern that did not exist before the run, the main one being the trace
 * whose header pid is the child's (the last image it exec'd).
 *
 * With --leak-check it records in full mode and then runs heapanalyze with
 * --fail-on-leaks on the main trace. A non-zero status of the program itself
 * always wins over the gate's verdict, so a failing test is never reported
 * as a leak or hidden by a clean gate.
 *
 * It does not read traces beyond their fixed file header, does not profile
 * statically linked programs (LD_PRELOAD cannot reach them), and does not
 * gate the traces of child processes (they are listed for heapanalyze).
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapprof/trace_format.h"

#ifndef HP_VERSION
#define HP_VERSION "0.0.0"
#endif
#ifndef HP_LIBDIR
#define HP_LIBDIR "/usr/local/lib/heapprof"
#endif
#ifndef HP_BINDIR
#define HP_BINDIR "/usr/local/bin"
#endif

/* Exit statuses of the launcher's own failures (the program's pass through). */
#define EXIT_USAGE 2       /* bad option, like heapanalyze */
#define EXIT_NOEXEC 126    /* CMD found but not executable, as shells do */
#define EXIT_NOTFOUND 127  /* CMD not found, as shells do */

#define DEFAULT_OUT "heapprof.%e.%p.zst"

/* Where a spawned command's output goes. */
enum { OUT_KEEP = 0, OUT_TO_STDERR, OUT_NULL };
#define MAX_SUPP 64

typedef struct opts_s {
    char rate[24];        /* --rate in bytes, "": environment or preload default */
    int full;             /* --full */
    const char *out;      /* -o */
    int leak_check;       /* --leak-check */
    char fail_on[24];     /* --fail-on-leaks in bytes */
    const char *supp[MAX_SUPP];
    int nsupp;
    const char *junit;
    const char *sarif;
    int show_runtime;
    int gate_reachable;   /* --gate-reachable */
    int no_children;
    int quiet;
} opts_t;

/* One trace file the run wrote. */
typedef struct trace_s {
    char *path;
    uint32_t pid;
    uint32_t ppid;
    uint64_t start_ns;
    int forked;
} trace_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: heapprof [options] [--] CMD [ARGS...]\n"
            "Runs CMD with its heap allocations profiled and says where the trace went.\n"
            "\n"
            "  --rate BYTES          mean bytes between samples (default 524288; K, M, G)\n"
            "  --full                record every allocation and free (same as --rate 1)\n"
            "  -o, --output FILE     trace path; %%p = pid, %%e = executable name\n"
            "                        (default heapprof.%%e.%%p.zst in the current directory)\n"
            "  --no-children         do not profile the program's child processes\n"
            "  --leak-check          full mode, then run heapanalyze's leak gate on the\n"
            "                        trace: exit 1 on leaks, the program's status otherwise\n"
            "  --fail-on-leaks=BYTES leak-check threshold in bytes (default 0; implies\n"
            "                        --leak-check)\n"
            "  --suppressions FILE   LeakSanitizer-style suppressions (repeatable)\n"
            "  --junit FILE          with --leak-check: also write a JUnit XML report\n"
            "  --sarif FILE          with --leak-check: also write a SARIF 2.1.0 report\n"
            "  --show-runtime-leaks  with --leak-check: list the C runtime's own blocks\n"
            "  --gate-reachable      with --leak-check: count blocks still reachable at\n"
            "                        exit too (default: only lost ones fail the check)\n"
            "  -q, --quiet           no messages of the launcher's own (trace names, hints)\n"
            "  -h, --help            this help\n"
            "  -V, --version         print the version\n"
            "\n"
            "Exit status: CMD's own (a death by signal is passed on as the same signal);\n"
            "with --leak-check, 1 when CMD exited 0 but leaked more than the threshold;\n"
            "2 usage error or, with --leak-check, an unreadable trace; 126/127 CMD not\n"
            "executable / not found.\n");
}

static void say(const opts_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const opts_t *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet)
        return;
    va_start(ap, fmt);
    fputs("heapprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A positive decimal byte count with an optional K/M/G suffix (powers of 2). */
static int parse_bytes(const char *s, unsigned long long *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* Directory of the launcher's own executable, or NULL. Caller frees. */
static char *self_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    char *slash;
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    return strdup(buf[0] ? buf : "/");
}

/* dir/name when it exists with the given access mode, else NULL. Caller frees. */
static char *find_in(const char *dir, const char *name, int mode)
{
    char *p;
    if (!dir || asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    if (access(p, mode) == 0)
        return p;
    free(p);
    return NULL;
}

static char *find_library(void)
{
    char *dir = self_dir(), *p = NULL, *up = NULL;
    p = find_in(dir, "libheapprof.so", R_OK);
    if (!p && dir && asprintf(&up, "%s/../lib/heapprof", dir) >= 0)
        p = find_in(up, "libheapprof.so", R_OK);
    if (!p)
        p = find_in(HP_LIBDIR, "libheapprof.so", R_OK);
    if (p) {
        char *real = realpath(p, NULL);
        if (real) {
            free(p);
            p = real;
        }
    }
    free(up);
    free(dir);
    return p;
}

/* heapanalyze next to the launcher, in HP_BINDIR, or on PATH. Caller frees. */
static char *find_analyzer(void)
{
    char *dir = self_dir(), *p;
    p = find_in(dir, "heapanalyze", X_OK);
    free(dir);
    if (!p)
        p = find_in(HP_BINDIR, "heapanalyze", X_OK);
    if (!p) {
        const char *path = getenv("PATH");
        char *copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL, *d;
        for (d = copy ? strtok_r(copy, ":", &save) : NULL; d && !p;
             d = strtok_r(NULL, ":", &save))
            p = find_in(d, "heapanalyze", X_OK);
        free(copy);
    }
    return p;
}

/*
 * Is cmd (found like execvp finds it) an ELF executable without a program
 * interpreter, i.e. statically linked, which LD_PRELOAD cannot reach?
 * 0 when it is not, or when that cannot be told.
 */
static int is_static_elf(const char *cmd)
{
    char *path = NULL;
    Elf64_Ehdr eh;
    int fd, is_static = 0;
    if (strchr(cmd, '/')) {
        path = strdup(cmd);
    } else {
        const char *env = getenv("PATH");
        char *copy = strdup(env ? env : "/usr/local/bin:/usr/bin:/bin"), *save = NULL, *d;
        for (d = copy ? strtok_r(copy, ":", &save) : NULL; d && !path;
             d = strtok_r(NULL, ":", &save))
            path = find_in(d, cmd, X_OK);
        free(copy);
    }
    if (!path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return 0;
    if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
        memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        eh.e_phentsize == sizeof(Elf64_Phdr)) {
        is_static = 1;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
                (ssize_t)sizeof(ph)) {
                is_static = 0;
                break;
            }
            if (ph.p_type == PT_INTERP) {
                is_static = 0;
                break;
            }
        }
    }
    close(fd);
    return is_static;
}

/* The absolute form of path (relative to the current directory). Caller frees. */
static char *absolute(const char *path)
{
    char cwd[PATH_MAX], *p;
    if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return strdup(path);
    if (asprintf(&p, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0)
        return NULL;
    return p;
}

/*
 * LD_PRELOAD with lib in front of what was there (entries are separated by
 * spaces or colons; an entry equal to lib is dropped so it is not loaded
 * twice). Caller frees.
 */
static char *prepend_preload(const char *lib, const char *old)
{
    size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *out = malloc(n), *copy = old ? strdup(old) : NULL, *save = NULL, *e;
    if (!out || (old && !copy)) {
        free(out);
        free(copy);
        return NULL;
    }
    strcpy(out, lib);
    for (e = copy ? strtok_r(copy, " :", &save) : NULL; e; e = strtok_r(NULL, " :", &save)) {
        if (strcmp(e, lib) == 0)
            continue;
        strcat(out, " ");
        strcat(out, e);
    }
    free(copy);
    return out;
}

/*
 * Turns the file-name part of a HEAPPROF_OUT pattern into an fnmatch
 * pattern: %p and %e become '*', %% a literal '%', glob characters are
 * escaped. Returns NULL when out of memory. Caller frees.
 */
static char *name_glob(const char *name)
{
    char *g = malloc(strlen(name) * 2 + 1), *q = g;
    if (!g)
        return NULL;
    for (const char *p = name; *p; p++) {
        if (*p == '%' && (p[1] == 'p' || p[1] == 'e')) {
            *q++ = '*';
            p++;
        } else if (*p == '%' && p[1] == '%') {
            *q++ = '%';
            p++;
        } else {
            if (strchr("*?[]\\", *p))
                *q++ = '\\';
            *q++ = *p;
        }
    }
    *q = '\0';
    return g;
}

/*
 * Does name match the pattern glob g, or g with the ".N" the recorder
 * inserts before ".zst" (or appends) when the name is already taken?
 */
static int name_matches(const char *g, const char *name)
{
    char buf[NAME_MAX + 1];
    size_t n = strlen(name), i;
    if (fnmatch(g, name, 0) == 0)
        return 1;
    /* Strip a ".<digits>" before a trailing ".zst", or at the end. */
    size_t end = n;
    if (n > 4 && strcmp(name + n - 4, ".zst") == 0)
        end = n - 4;
    i = end;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    if (i == end || i == 0 || name[i - 1] != '.' || n >= sizeof(buf))
        return 0;
    memcpy(buf, name, i - 1);
    strcpy(buf + i - 1, name + end);
    return fnmatch(g, buf, 0) == 0;
}

/* The names in dir matching g, as a NULL-terminated sorted array. */
static char **list_matching(const char *dir, const char *g)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t n = 0, cap = 0;
    if (!d)
        return calloc(1, sizeof(char *));
    while ((e = readdir(d))) {
        if (!name_matches(g, e->d_name))
            continue;
        if (n + 2 > cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(char *));
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!v)
        return calloc(1, sizeof(char *));
    v[n] = NULL;
    return v;
}

static int in_list(char **v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return 1;
    return 0;
}

static void free_list(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* Reads a trace's fixed header. Returns 0, or -1 when path is no trace. */
static int read_header(const char *path, trace_t *t)
{
    uint8_t buf[HP_SKIP_HEADER_SIZE + HP_FILE_HEADER_SIZE];
    hp_file_header_t h;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n;
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != (ssize_t)sizeof(buf) || hp_get_le32(buf) != HP_SKIP_MAGIC_HEADER)
        return -1;
    hp_decode_file_header(buf + HP_SKIP_HEADER_SIZE, &h);
    if (memcmp(h.magic, HP_TRACE_MAGIC, 8) != 0)
        return -1;
    t->pid = h.pid;
    t->ppid = h.ppid;
    t->start_ns = h.start_ns;
    t->forked = (h.flags & HP_HDR_FORKED) != 0;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const trace_t *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* The path as the user should see it: relative when under the cwd. */
static const char *shown(const char *path, const char *cwd)
{
    size_t n = strlen(cwd);
    if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

/* Quotes a path for a shell hint when it needs it. Static buffer. */
static const char *shell_word(const char *s)
{
    static char buf[PATH_MAX * 4 + 3];
    char *q = buf;
    if (!s[strcspn(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!")])
        return s;
    *q++ = '\'';
    for (; *s && q < buf + sizeof(buf) - 6; s++) {
        if (*s == '\'') {
            memcpy(q, "'\\''", 4);
            q += 4;
        } else {
            *q++ = *s;
        }
    }
    *q++ = '\'';
    *q = '\0';
    return buf;
}

/*
 * Keeps the traces written by child and its descendants: the child's pid,
 * then every trace whose header names a kept pid as its parent, until
 * nothing changes (another heapprof run writing into the same directory at
 * the same time does not get its traces listed as ours). Returns the new
 * count; the others are freed.
 */
static size_t keep_family(trace_t *v, size_t n, pid_t child)
{
    char *keep = calloc(n ? n : 1, 1);
    size_t k = 0;
    int changed = 1;
    if (!keep)
        return n;
    while (changed) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (keep[i])
                continue;
            int in = v[i].pid == (uint32_t)child;
            for (size_t j = 0; j < n && !in; j++)
                in = keep[j] && (v[j].pid == v[i].ppid || v[j].pid == v[i].pid);
            if (in)
                keep[i] = changed = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (keep[i])
            v[k++] = v[i];
        else
            free(v[i].path);
    }
    free(keep);
    return k;
}

/*
 * Collects the traces of this run: the names matching the pattern in dir
 * that were not there before, written by the child or its descendants.
 * Sets *main_idx to the main trace (header pid == child, latest start: the
 * image that ran to the end) or -1. Returns the number of traces; *out is
 * sorted by start time. Caller frees.
 */
static size_t collect_traces(const char *dir, const char *g, char **before, pid_t child,
                             trace_t **out, int *main_idx)
{
    char **now = list_matching(dir, g);
    trace_t *v = NULL;
    size_t n = 0, cap = 0;
    *main_idx = -1;
    for (char **p = now; p && *p; p++) {
        trace_t t = {0};
        if (in_list(before, *p))
            continue;
        if (asprintf(&t.path, "%s/%s", strcmp(dir, "/") ? dir : "", *p) < 0)
            continue;
        if (read_header(t.path, &t) < 0) {
            free(t.path);
            continue;
        }
        if (n == cap) {
            trace_t *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
            if (!nv) {
                free(t.path);
                break;
            }
            v = nv;
        }
        v[n++] = t;
    }
    free_list(now);
    n = keep_family(v, n, child);
    if (n)
        qsort(v, n, sizeof(*v), by_start);
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == (uint32_t)child)
            *main_idx = (int)i;
    *out = v;
    return n;
}

/*
 * Runs argv (argv[0] searched on PATH) in a child with the given
 * environment changes applied there (out: OUT_KEEP, OUT_TO_STDERR: its
 * stdout goes to our stderr, OUT_NULL: stdout and stderr go to /dev/null).
 * Returns the child's pid, or -1 with
 * *exec_errno set when it could not be started (fork or exec failed).
 */
static pid_t spawn(char *const argv[], const char *preload, const char *rate, const char *out,
                   int no_children, int outmode, int *exec_errno)
{
    int pfd[2];
    pid_t pid;
    int err = 0;
    ssize_t n;
    *exec_errno = 0;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        *exec_errno = errno;
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        *exec_errno = errno;
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (preload)
            setenv("LD_PRELOAD", preload, 1);
        if (rate)
            setenv("HEAPPROF_RATE", rate, 1);
        if (out)
            setenv("HEAPPROF_OUT", out, 1);
        if (no_children)
            setenv("HEAPPROF_NO_CHILDREN", "1", 1);
        if (outmode == OUT_NULL) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        } else if (outmode == OUT_TO_STDERR) {
            dup2(2, 1);
        }
        execvp(argv[0], argv);
        err = errno;
        if (write(pfd[1], &err, sizeof(err)) < 0) {
            /* nothing more to tell: the parent sees a short read */
        }
        _exit(err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
    }
    close(pfd[1]);
    do
        n = read(pfd[0], &err, sizeof(err));
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n == (ssize_t)sizeof(err)) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        *exec_errno = err;
        return -1;
    }
    return pid;
}

/* Waits for pid with SIGINT and SIGQUIT ignored. Returns the wait status. */
static int wait_child(pid_t pid)
{
    struct sigaction ign = {0}, old_int, old_quit;
    int st = 0;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            st = EXIT_NOEXEC << 8;
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return st;
}

/* Dies of sig as the child did (without a second core dump). */
static void die_of(int sig)
{
    struct rlimit nocore = {0, 0};
    struct sigaction dfl = {0};
    sigset_t set;
    fflush(NULL);
    setrlimit(RLIMIT_CORE, &nocore);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    /* A signal whose default action does not kill: say it the shell way. */
    exit(128 + sig);
}

/*
 * Runs heapanalyze's leak gate on trace, writing the JUnit and SARIF
 * reports asked for. Its verdict goes to stderr, so that the program's
 * stdout stays the program's. Returns heapanalyze's exit status (2 on
 * failure).
 */
static int run_gate(const opts_t *o, const char *trace)
{
    char *ana = find_analyzer();
    const char *argv[2 * MAX_SUPP + 16];
    char *fail = NULL;
    int argc = 0, err, st;
    pid_t pid;
    if (!ana) {
        fprintf(stderr, "heapprof: cannot find heapanalyze (looked next to heapprof, in "
                        HP_BINDIR " and on PATH)\n");
        return EXIT_USAGE;
    }
    if (asprintf(&fail, "--fail-on-leaks=%s", o->fail_on[0] ? o->fail_on : "0") < 0) {
        free(ana);
        return EXIT_USAGE;
    }
    argv[argc++] = ana;
    argv[argc++] = trace;
    argv[argc++] = fail;
    for (int i = 0; i < o->nsupp; i++) {
        argv[argc++] = "--suppressions";
        argv[argc++] = o->supp[i];
    }
    if (o->junit) {
        argv[argc++] = "--junit";
        argv[argc++] = o->junit;
    }
    if (o->sarif) {
        argv[argc++] = "--sarif";
        argv[argc++] = o->sarif;
    }
    if (o->show_runtime)
        argv[argc++] = "--show-runtime-leaks";
    if (o->gate_reachable)
        argv[argc++] = "--gate-reachable";
    argv[argc] = NULL;
    fflush(NULL);
    pid = spawn((char *const *)argv, NULL, NULL, NULL, 0, OUT_TO_STDERR,
                &err);
    if (pid < 0) {
        fprintf(stderr, "heapprof: cannot run %s: %s\n", ana, strerror(err));
        free(ana);
        free(fail);
        return EXIT_USAGE;
    }
    st = wait_child(pid);
    free(ana);
    free(fail);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    fprintf(stderr, "heapprof: heapanalyze died of signal %d\n", WTERMSIG(st));
    return EXIT_USAGE;
}

enum {
    OPT_RATE = 256,
    OPT_FULL,
    OPT_LEAK_CHECK,
    OPT_FAIL_ON,
    OPT_SUPP,
    OPT_JUNIT,
    OPT_SARIF,
    OPT_SHOW_RUNTIME,
    OPT_NO_CHILDREN,
    OPT_GATE_REACHABLE,
};

static const struct option long_opts[] = {
    {"rate", required_argument, NULL, OPT_RATE},
    {"full", no_argument, NULL, OPT_FULL},
    {"output", required_argument, NULL, 'o'},
    {"leak-check", no_argument, NULL, OPT_LEAK_CHECK},
    {"fail-on-leaks", optional_argument, NULL, OPT_FAIL_ON},
    {"suppressions", required_argument, NULL, OPT_SUPP},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"sarif", required_argument, NULL, OPT_SARIF},
    {"show-runtime-leaks", no_argument, NULL, OPT_SHOW_RUNTIME},
    {"gate-reachable", no_argument, NULL, OPT_GATE_REACHABLE},
    {"no-children", no_argument, NULL, OPT_NO_CHILDREN},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, opts_t *o)
{
    int c;
    unsigned long long v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+o:qhV", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_RATE:
            if (parse_bytes(optarg, &v) < 0 || v == 0) {
                fprintf(stderr, "heapprof: --rate wants a positive byte count, not '%s'\n",
                        optarg);
                return -1;
            }
            snprintf(o->rate, sizeof(o->rate), "%llu", v);
            break;
        case OPT_FULL: o->full = 1; break;
        case 'o':
            if (!*optarg) {
                fprintf(stderr, "heapprof: -o wants a file name\n");
                return -1;
            }
            o->out = optarg;
            break;
        case OPT_LEAK_CHECK: o->leak_check = 1; break;
        case OPT_FAIL_ON:
            v = 0;
            /* "--fail-on-leaks 100 CMD" means what "--fail-on-leaks=100 CMD"
             * does: a byte count followed by a command is not the command. */
            if (!optarg && optind + 1 < argc && parse_bytes(argv[optind], &v) == 0)
                optarg = argv[optind++];
            if (optarg && parse_bytes(optarg, &v) < 0) {
                fprintf(stderr, "heapprof: --fail-on-leaks wants a byte count, not '%s'\n",
                        optarg);
                return -1;
            }
            snprintf(o->fail_on, sizeof(o->fail_on), "%llu", v);
            o->leak_check = 1;
            break;
        case OPT_SUPP:
            if (o->nsupp == MAX_SUPP) {
                fprintf(stderr, "heapprof: at most %d --suppressions files\n", MAX_SUPP);
                return -1;
            }
            o->supp[o->nsupp++] = optarg;
            break;
        case OPT_JUNIT: o->junit = optarg; break;
        case OPT_SARIF: o->sarif = optarg; break;
        case OPT_SHOW_RUNTIME: o->show_runtime = 1; break;
        case OPT_GATE_REACHABLE: o->gate_reachable = 1; break;
        case OPT_NO_CHILDREN: o->no_children = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("heapprof %s\n", HP_VERSION); exit(0);
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "heapprof: unknown option or missing argument: -%c\n",
                        optopt);
            else
                fprintf(stderr, "heapprof: unknown option or missing argument: %s\n",
                        argv[optind - 1]);
            fprintf(stderr, "Try 'heapprof --help'.\n");
            return -1;
        }
    }
    if (o->rate[0] && (o->full || o->leak_check)) {
        fprintf(stderr, "heapprof: --rate cannot be combined with %s\n",
                o->full ? "--full" : "--leak-check (which records every allocation)");
        return -1;
    }
    if ((o->nsupp || o->junit || o->sarif || o->show_runtime) && !o->leak_check) {
        fprintf(stderr, "heapprof: --suppressions, --junit, --sarif and --show-runtime-leaks "
                        "need --leak-check\n");
        return -1;
    }
    if (o->gate_reachable && !o->leak_check) {
        fprintf(stderr, "heapprof: --gate-reachable needs --leak-check\n");
        return -1;
    }
    if (optind >= argc) {
        fprintf(stderr, "heapprof: no command given\n");
        usage(stderr);
        return -1;
    }
    return optind;
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    int first = parse_args(argc, argv, &o), err, st, main_idx = -1, status = EXIT_USAGE;
    char *lib = NULL, *preload = NULL, *out = NULL, *dir = NULL, *g = NULL, *slash;
    char **before = NULL;
    char cwd[PATH_MAX];
    const char *env_out = getenv("HEAPPROF_OUT");
    trace_t *traces = NULL;
    size_t ntraces = 0;
    pid_t pid;

    if (first < 0)
        return EXIT_USAGE;
    if (!getcwd(cwd, sizeof(cwd)))
        strcpy(cwd, "/");
    lib = find_library();
    if (!lib) {
        fprintf(stderr, "heapprof: cannot find libheapprof.so (looked next to heapprof, in "
                        "../lib/heapprof beside it and in " HP_LIBDIR ")\n");
        goto out;
    }
    preload = prepend_preload(lib, getenv("LD_PRELOAD"));
    out = absolute(o.out ? o.out : (env_out && *env_out ? env_out : DEFAULT_OUT));
    if (!preload || !out)
        goto nomem;
    /* The trace names to look for afterwards: the pattern's directory part
     * is taken literally (a % there is not expanded by this search). */
    slash = strrchr(out, '/');
    dir = strndup(out, slash == out ? 1 : (size_t)(slash - out));
    g = name_glob(slash + 1);
    if (!dir || !g)
        goto nomem;
    before = list_matching(dir, g);

    /* A leak check asks the recorder for its reachability scan at exit, so
     * the gate fails only on blocks no pointer reaches (and children too). */
    if (o.leak_check && setenv("HEAPPROF_LEAK_SCAN", "1", 1) != 0)
        goto nomem;
    fflush(NULL);
    pid = spawn(argv + first, preload, o.full || o.leak_check ? "1" : o.rate[0] ? o.rate : NULL,
                out, o.no_children, OUT_KEEP, &err);
    if (pid < 0) {
        fprintf(stderr, "heapprof: cannot run %s: %s\n", argv[first], strerror(err));
        status = err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
        goto out;
    }
    st = wait_child(pid);

    ntraces = collect_traces(dir, g, before, pid, &traces, &main_idx);
    if (main_idx >= 0) {
        say(&o, "trace written to %s", shown(traces[main_idx].path, cwd));
    } else if (strchr(dir, '%')) {
        say(&o, "traces written as %s", out);
    } else if (ntraces == 0 && is_static_elf(argv[first])) {
        fprintf(stderr, "heapprof: no trace: %s is statically linked, and LD_PRELOAD cannot "
                        "reach a statically linked program\n",
                argv[first]);
    } else if (ntraces == 0) {
        say(&o, "no trace was written to %s (the program made no allocation, or the file "
                "could not be created: see the messages above)",
            shown(out, cwd));
    }
    for (size_t i = 0; i < ntraces; i++) {
        if ((int)i == main_idx)
            continue;
        say(&o, "trace of %s %u%s written to %s",
            traces[i].forked || traces[i].pid != (uint32_t)pid ? "child" : "process",
            traces[i].pid, traces[i].forked ? "" : " (after exec)",
            shown(traces[i].path, cwd));
    }

    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (ntraces)
            say(&o, "%s was killed by signal %d (%s); the trace ends at its last complete "
                    "frame%s",
                argv[first], sig, strsignal(sig),
                o.leak_check ? "; leak check skipped" : "");
        die_of(sig);
    }
    status = WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_NOEXEC;

    if (!o.leak_check) {
        if (main_idx >= 0)
            say(&o, "analyze it with: heapanalyze %s",
                shell_word(shown(traces[main_idx].path, cwd)));
        goto out;
    }
    if (main_idx < 0) {
        fprintf(stderr, "heapprof: leak check impossible: no trace of process %d\n", (int)pid);
        if (status == 0)
            status = EXIT_USAGE;
        goto out;
    }
    {
        int gate = run_gate(&o, traces[main_idx].path);
        /* A failure of the program itself wins over the gate's verdict. */
        if (status != 0)
            say(&o, "%s exited with status %d; that status is heapprof's (leak gate: %s)",
                argv[first], status,
                gate == 0 ? "passed" : gate == 1 ? "leaks found" : "error");
        else
            status = gate;
    }
    goto out;
nomem:
    fprintf(stderr, "heapprof: out of memory\n");
    status = EXIT_USAGE;
out:
    for (size_t i = 0; i < ntraces; i++)
        free(traces[i].path);
    free(traces);
    free_list(before);
    free(g);
    free(dir);
    free(out);
    free(preload);
    free(lib);
    return status;
}
