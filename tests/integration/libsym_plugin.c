/*
 * libsym_plugin.c - a library that sym_dlclose.c loads with dlopen, calls,
 * and closes with dlclose before exit. The block plugin_leak() allocates is
 * never freed: its leak must still be named by this file's function and the
 * line marked SITE:plugin, although the library is unmapped at exit
 * (sym_dlclose.sh). sym_stripped.sh loads a strip -s copy of it, whose
 * exported plugin_leak is then named from .dynsym alone.
 */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void *plugin_leak(size_t n)
{
    char *p = malloc(n); /* SITE:plugin */
    if (p)
        memset(p, 2, n);
    return p;
}
