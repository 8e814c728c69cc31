/*
 * rec_early.c - main program for rec_early.sh: joins the threads that
 * librec_early.so's constructor started (found with dlsym), then exits.
 */
#include <dlfcn.h>

int main(void)
{
    void (*join)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "rec_early_join");
    if (!join)
        return 2;
    join();
    return 0;
}
