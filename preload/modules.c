/*
 * modules.c - module map snapshots via dl_iterate_phdr.
 *
 * For each loaded object: path (dlpi_name; the main program, which the
 * loader names "", gets /proc/self/exe's target), load bias (dlpi_addr), the
 * address range covered by its PT_LOAD segments, and the GNU build-id read
 * from its PT_NOTE segments in memory. The vdso is included like any other
 * object. This module does not decide when to snapshot (init.c and the
 * dlopen/dlclose hooks do) and keeps no state beyond the loader's counters.
 */
#include "modules.h"

#include <elf.h>
#include <stddef.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "heapprof/trace_format.h"
#include "procfs.h"

typedef struct snap_s {
    uint8_t *p, *end;
    uint64_t n;
    char exe[HP_MAX_PATH];
    size_t exe_len;
} snap_t;

static size_t build_id(const struct dl_phdr_info *info, const uint8_t **id)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
        const uint8_t *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh;
            const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
            const uint8_t *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end || next <= p)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                *id = desc;
                return nh->n_descsz > HP_MAX_BUILD_ID ? HP_MAX_BUILD_ID : nh->n_descsz;
            }
            p = next;
        }
    }
    return 0;
}

/* The address range [*lo, *hi) covered by an object's PT_LOAD segments;
 * *hi is 0 when it has none. */
static void load_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < *lo)
            *lo = a;
        if (a + ph->p_memsz > *hi)
            *hi = a + ph->p_memsz;
    }
}

static int snap_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    snap_t *s = arg;
    uintptr_t lo, hi;
    load_range(info, &lo, &hi);
    if (hi == 0)
        return 0;
    const char *path = info->dlpi_name ? info->dlpi_name : "";
    size_t plen = strlen(path);
    if (plen == 0) {
        path = s->exe;
        plen = s->exe_len;
    }
    if (plen > HP_MAX_PATH)
        plen = HP_MAX_PATH;
    const uint8_t *id = NULL;
    size_t idlen = build_id(info, &id);
    if ((size_t)(s->end - s->p) < 5 * HP_UVARINT_MAX + plen + idlen)
        return 1; /* full: stop */
    s->p = hp_enc_module(s->p, info->dlpi_addr, lo, hi, path, plen, id, idlen);
    s->n++;
    return 0;
}

size_t hp_modules_snapshot(uint8_t *buf, size_t cap, uint64_t gen)
{
    const size_t head = 1 + 2 * HP_UVARINT_MAX;
    if (cap < head)
        return 0;
    snap_t s;
    s.p = buf + head;
    s.end = buf + cap;
    s.n = 0;
    s.exe_len = hp_proc_exe(s.exe, sizeof s.exe);
    dl_iterate_phdr(snap_one, &s);
    uint8_t h[1 + 2 * HP_UVARINT_MAX], *q = h;
    q = hp_enc_modules_head(q, gen, s.n);
    size_t hl = (size_t)(q - h), body = (size_t)(s.p - (buf + head));
    memmove(buf + hl, buf + head, body);
    memcpy(buf, h, hl);
    return hl + body;
}

static unsigned long long last_adds, last_subs;
static int seen;

static int counters(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *v = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        v[0] = info->dlpi_adds;
        v[1] = info->dlpi_subs;
    }
    return 1; /* the counters are global: one callback is enough */
}

int hp_modules_changed(void)
{
    unsigned long long v[2] = {0, 0};
    dl_iterate_phdr(counters, v);
    int changed = !seen || v[0] != last_adds || v[1] != last_subs;
    seen = 1;
    last_adds = v[0];
    last_subs = v[1];
    return changed;
}

typedef struct find_s {
    uintptr_t probe, lo, hi;
    int found;
} find_t;

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    find_t *s = arg;
    uintptr_t lo, hi;
    load_range(info, &lo, &hi);
    if (s->probe >= lo && s->probe < hi) {
        s->lo = lo;
        s->hi = hi;
        s->found = 1;
        return 1;
    }
    return 0;
}

int hp_modules_self_range(uintptr_t *lo, uintptr_t *hi)
{
    return hp_modules_range_of((uintptr_t)&hp_modules_self_range, lo, hi);
}

int hp_modules_range_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    find_t s = {addr, 0, 0, 0};
    dl_iterate_phdr(find_module, &s);
    if (!s.found)
        return -1;
    *lo = s.lo;
    *hi = s.hi;
    return 0;
}
