/*
 * liblauncher_marker.c - a preload of the tests' own: its constructor sets
 * LAUNCHER_MARKER=loaded, so a program can show that this library was
 * loaded next to libheapprof.so (the launcher prepends, never replaces).
 */
#include <stdlib.h>

__attribute__((constructor)) static void mark(void)
{
    setenv("LAUNCHER_MARKER", "loaded", 1);
}
