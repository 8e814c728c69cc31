/*
 * wordcount.c - the demo program (`make demo`): counts the words of a
 * generated text with a hash table, and shows the three things a heap
 * profile is for.
 *
 *   heapprof --full ./wordcount && heapanalyze heapprof.wordcount.*.zst
 *
 * - Peak: about 253 KiB, when the count is done: 5000 entries of 32 bytes
 *   (table_add, 156 KiB), their 5000 words (strdup in table_add, 28 KiB)
 *   and the bucket array of 8192 pointers (table_grow, 64 KiB).
 * - Temporary allocations: read_line() mallocs a line buffer for each of
 *   the 20000 lines and frees it before the next allocation.
 * - A leak: report_top() builds a summary string (make_summary) and never
 *   frees it: 1 block of 256 bytes. The table itself is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINES 20000
#define VOCABULARY 5000

struct entry {
    struct entry *next;
    char *word;
    long count;
    unsigned long hash;
};

struct table {
    struct entry **buckets;
    size_t nbuckets, nentries;
};

static unsigned long hash_word(const char *w)
{
    unsigned long h = 5381;
    while (*w)
        h = h * 33 + (unsigned char)*w++;
    return h;
}

__attribute__((noinline)) static void table_grow(struct table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 64;
    struct entry **b = calloc(n, sizeof(*b)); /* BUCKETS */
    if (!b)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash % n];
            b[e->hash % n] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

__attribute__((noinline)) static void table_add(struct table *t, const char *w)
{
    unsigned long h = hash_word(w);
    struct entry *e;
    if (t->nentries >= t->nbuckets)
        table_grow(t);
    for (e = t->buckets[h % t->nbuckets]; e; e = e->next)
        if (e->hash == h && strcmp(e->word, w) == 0) {
            e->count++;
            return;
        }
    e = malloc(sizeof(*e)); /* ENTRY */
    if (!e)
        return;
    e->word = strdup(w); /* WORD */
    e->count = 1;
    e->hash = h;
    e->next = t->buckets[h % t->nbuckets];
    t->buckets[h % t->nbuckets] = e;
    t->nentries++;
}

/* The n-th line of the generated text: five pseudo-random words. */
__attribute__((noinline)) static char *read_line(int n)
{
    char *line = malloc(128); /* LINE */
    unsigned long x = (unsigned long)n * 2654435761u + 1;
    size_t len = 0;
    if (!line)
        return NULL;
    for (int i = 0; i < 5; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        len += (size_t)snprintf(line + len, 128 - len, "%sw%lu", i ? " " : "",
                                (x >> 33) % VOCABULARY);
    }
    return line;
}

__attribute__((noinline)) static char *make_summary(const struct table *t)
{
    char *s = malloc(256); /* LEAK */
    if (s)
        snprintf(s, 256, "%zu distinct words in %d lines", t->nentries, LINES);
    return s;
}

static void report_top(const struct table *t)
{
    const struct entry *best = NULL;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (const struct entry *e = t->buckets[i]; e; e = e->next)
            if (!best || e->count > best->count)
                best = e;
    printf("wordcount: %s; most frequent: %s (%ld times)\n", make_summary(t),
           best ? best->word : "-", best ? best->count : 0);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->word);
            free(e);
        }
    }
    free(t->buckets);
}

int main(void)
{
    struct table t = {0};
    char buf[128];
    for (int n = 0; n < LINES; n++) {
        char *line = read_line(n), *save = NULL;
        if (!line)
            continue;
        strcpy(buf, line);
        free(line);
        for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
            table_add(&t, w);
    }
    report_top(&t);
    table_free(&t);
    return 0;
}
