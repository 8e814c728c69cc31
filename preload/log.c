/*
 * log.c - one-shot diagnostics of libheapprof.so.
 *
 * The recorder must never change the host's behaviour, so it speaks at most
 * once per process, on stderr, when it stops recording (issue 2: "an
 * unwritable HEAPPROF_OUT gives one warning"). The message is assembled in a
 * stack buffer and written with a single write(2). It does not use stdio or
 * malloc, and it does not retry on EINTR-free short writes beyond one loop.
 */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static int said;

void hp_log_once(const char *first, ...)
{
    if (__atomic_exchange_n(&said, 1, __ATOMIC_ACQ_REL))
        return;
    char buf[1024];
    size_t n = 0;
    const char *pre = "heapprof: ";
    va_list ap;
    va_start(ap, first);
    for (const char *s = pre; s; s = (s == pre) ? first : va_arg(ap, const char *)) {
        size_t l = strlen(s);
        if (l > sizeof(buf) - 1 - n)
            l = sizeof(buf) - 1 - n;
        memcpy(buf + n, s, l);
        n += l;
    }
    va_end(ap);
    buf[n++] = '\n';
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(2, buf + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

void hp_log_reset(void)
{
    __atomic_store_n(&said, 0, __ATOMIC_RELEASE);
}
