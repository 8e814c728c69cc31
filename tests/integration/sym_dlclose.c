/*
 * sym_dlclose.c - loads the library named by argv[1] with dlopen, lets its
 * plugin_leak() leak a block of argv[2] bytes (default 5000), closes the
 * library with dlclose and allocates a little more before exit, so the trace
 * holds a module map without the library after the leak (sym_dlclose.sh,
 * sym_stripped.sh). Exit 0 on success, 2 when the library cannot be used.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile leaked;
void *volatile after;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sym_dlclose LIBRARY [BYTES]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "sym_dlclose: %s\n", dlerror());
        return 2;
    }
    void *(*leak)(size_t);
    *(void **)&leak = dlsym(h, "plugin_leak");
    if (!leak) {
        fprintf(stderr, "sym_dlclose: %s\n", dlerror());
        return 2;
    }
    leaked = leak(n);
    if (dlclose(h) != 0) {
        fprintf(stderr, "sym_dlclose: dlclose: %s\n", dlerror());
        return 2;
    }
    after = malloc(100); /* after the unload; freed */
    free(after);
    return leaked ? 0 : 2;
}
