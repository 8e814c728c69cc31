/*
 * ana_json_sites: fifteen distinct allocation sites, each leaking one block
 * of a distinct size, so a JSON report that silently keeps only the top ten
 * sites shows up (ana_json_sites.sh).
 */
#include <stdlib.h>

#define SITE(i)                                                                                    \
    __attribute__((noinline)) static void *site_##i(void)                                          \
    {                                                                                              \
        return malloc(100 * (i));                                                                  \
    }
SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7) SITE(8)
SITE(9) SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15)

int main(void)
{
    void *volatile keep[15] = {
        site_1(), site_2(), site_3(), site_4(), site_5(), site_6(), site_7(), site_8(),
        site_9(), site_10(), site_11(), site_12(), site_13(), site_14(), site_15(),
    };
    (void)keep;
    return 0;
}
