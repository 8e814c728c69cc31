/*
 * rec_dlopen.c - dlopen/dlclose of a library that allocates. Loads
 * argv[1], calls rec_plugin_work(100), unloads it, loads it again, calls
 * rec_plugin_work(10), unloads it: 110 mallocs of 64 bytes from the
 * library, 2 leaked.
 */
#include <dlfcn.h>
#include <stdio.h>

static int run(const char *path, int n)
{
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void (*work)(int) = (void (*)(int))dlsym(h, "rec_plugin_work");
    if (!work)
        return 1;
    work(n);
    return dlclose(h) != 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    return run(argv[1], 100) || run(argv[1], 10);
}
