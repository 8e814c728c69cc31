/*
 * test_strbuf.c - the "project under test" of the CI example: a growable
 * string buffer and its unit test. Built with -DWITH_LEAK, strbuf_detach's
 * caller forgets to free the result, and the leak gate fails the build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct strbuf {
    char *data;
    size_t len, cap;
};

static int strbuf_append(struct strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char *d;
        while (cap < b->len + n + 1)
            cap *= 2;
        d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
    return 0;
}

/* Hands the string to the caller, who must free it. */
static char *strbuf_detach(struct strbuf *b)
{
    char *s = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

static int test_append(void)
{
    struct strbuf b = {0};
    for (int i = 0; i < 100; i++)
        if (strbuf_append(&b, "abc") < 0)
            return 1;
    int ok = b.len == 300 && strncmp(b.data, "abcabc", 6) == 0;
    free(b.data);
    return !ok;
}

static int test_detach(void)
{
    struct strbuf b = {0};
    char *s;
    strbuf_append(&b, "hello, ");
    strbuf_append(&b, "world");
    s = strbuf_detach(&b);
    int ok = s && strcmp(s, "hello, world") == 0 && b.data == NULL;
#ifndef WITH_LEAK
    free(s);
#endif
    return !ok;
}

int main(void)
{
    int failed = test_append() + test_detach();
    printf("test_strbuf: %s\n", failed ? "FAILED" : "all tests passed");
    return failed != 0;
}
