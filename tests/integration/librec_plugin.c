/*
 * librec_plugin.c - a library that rec_dlopen loads at run time. Each call
 * of rec_plugin_work(n) mallocs n blocks of 64 bytes and leaks one.
 */
#include <stdlib.h>

static void *volatile sink;

__attribute__((noinline)) void rec_plugin_work(int n)
{
    void *keep = malloc(64);
    sink = keep;
    for (int i = 1; i < n; i++) {
        void *p = malloc(64);
        sink = p;
        free(p);
    }
}
