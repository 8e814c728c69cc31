/*
 * test_symbols.c - unit tests of the libdw symbolizer (analyzer/symbols.c).
 *
 * The test symbolizes itself: it builds the module map of its own process
 * with dl_iterate_phdr (bias, PT_LOAD extent, build-id from PT_NOTE), as the
 * recorder does, and looks up pcs whose function and line it knows. The
 * program is compiled -O2 -g, so the functions under test are noinline and
 * their results go to volatile sinks: the calls stay real calls.
 */
#include <elf.h>
#include <link.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbols.h"

#define MAX_MODS 64

typedef struct self_mod_s {
    hp_module_t m;
    char path[PATH_MAX];
    uint8_t id[HP_MAX_BUILD_ID];
} self_mod_t;

static self_mod_t mods[MAX_MODS];
static size_t nmods;

/* ---- the module map of this process ---- */

static size_t note_build_id(const struct dl_phdr_info *info, const ElfW(Phdr) *ph,
                            uint8_t *out)
{
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
    const char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
        const char *name = p + sizeof(*n);
        const char *desc = name + ((n->n_namesz + 3) & ~3u);
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
            n->n_descsz <= HP_MAX_BUILD_ID) {
            memcpy(out, desc, n->n_descsz);
            return n->n_descsz;
        }
        p = desc + ((n->n_descsz + 3) & ~3u);
    }
    return 0;
}

static int add_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (nmods == MAX_MODS)
        return 1;
    self_mod_t *sm = &mods[nmods];
    memset(sm, 0, sizeof(*sm));
    if (nmods == 0 && info->dlpi_name[0] == '\0') {
        ssize_t n = readlink("/proc/self/exe", sm->path, sizeof(sm->path) - 1);
        if (n <= 0)
            return 0;
        sm->path[n] = '\0';
    } else {
        snprintf(sm->path, sizeof(sm->path), "%s", info->dlpi_name);
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uint64_t a = info->dlpi_addr + ph->p_vaddr;
            if (a < lo)
                lo = a;
            if (a + ph->p_memsz > hi)
                hi = a + ph->p_memsz;
        } else if (ph->p_type == PT_NOTE && !sm->m.build_id_len) {
            sm->m.build_id_len = note_build_id(info, ph, sm->id);
        }
    }
    sm->m.bias = info->dlpi_addr;
    sm->m.start = lo;
    sm->m.end = hi;
    sm->m.path = sm->path;
    sm->m.build_id = sm->m.build_id_len ? sm->id : NULL;
    nmods++;
    return 0;
}

static const hp_module_t *module_of(uint64_t pc)
{
    for (size_t i = 0; i < nmods; i++)
        if (pc >= mods[i].m.start && pc < mods[i].m.end)
            return &mods[i].m;
    return NULL;
}

static int setup_modules(void **state)
{
    (void)state;
    nmods = 0;
    dl_iterate_phdr(add_module, NULL);
    return nmods ? 0 : -1;
}

/* ---- warnings ---- */

typedef struct warns_s {
    int n;
    char last[4096];
} warns_t;

static void on_warn(void *ctx, const char *msg)
{
    warns_t *w = ctx;
    w->n++;
    snprintf(w->last, sizeof(w->last), "%s", msg);
}

/* ---- code with known lines ---- */

static void *volatile sink;
static volatile int caller_line, inl_line, outer_line, inner2_line, middle2_line, outer2_line;

__attribute__((noinline, used)) void *symtest_capture(void)
{
    void *ra = __builtin_return_address(0);
    sink = ra;
    return ra;
}

__attribute__((noinline, used)) void *symtest_caller(void)
{
    void *ra = symtest_capture(); caller_line = __LINE__;
    sink = ra;
    return ra;
}

static inline __attribute__((always_inline)) void *symtest_inlined_helper(void)
{
    void *ra = symtest_capture(); inl_line = __LINE__;
    sink = ra;
    return ra;
}

__attribute__((noinline, used)) void *symtest_inline_outer(void)
{
    void *ra = symtest_inlined_helper(); outer_line = __LINE__;
    sink = ra;
    return ra;
}

/* Two levels of inlining: each level must appear at its own call line
 * (the physical nesting of the inlined instances, not the abstract one). */
static inline __attribute__((always_inline)) void *symtest_inner_inl(void)
{
    void *ra = symtest_capture(); inner2_line = __LINE__;
    sink = ra;
    return ra;
}

static inline __attribute__((always_inline)) void *symtest_middle_inl(void)
{
    void *ra = symtest_inner_inl(); middle2_line = __LINE__;
    sink = ra;
    return ra;
}

__attribute__((noinline, used)) void *symtest_two_level_outer(void)
{
    void *ra = symtest_middle_inl(); outer2_line = __LINE__;
    sink = ra;
    return ra;
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

/* ---- tests ---- */

static void test_symbols_names_function_by_address(void **state)
{
    (void)state;
    warns_t w = { 0 };
    hp_symbols_t *s = hp_symbols_new(on_warn, &w);
    assert_non_null(s);
    uint64_t pc = (uint64_t)(uintptr_t)&symtest_caller;
    const hp_module_t *m = module_of(pc);
    assert_non_null(m);
    hp_frame_t f[8];
    size_t n = hp_symbols_lookup(s, m, pc, f, 8);
    assert_true(n >= 1);
    assert_non_null(f[n - 1].function);
    assert_string_equal(f[n - 1].function, "symtest_caller");
    assert_int_equal(f[n - 1].inlined, 0);
    assert_non_null(f[0].file);
    assert_string_equal(base_name(f[0].file), "test_symbols.c");
    assert_int_equal(f[0].offset, pc - m->bias);
    assert_string_equal(f[0].module, m->path);
    assert_int_equal(w.n, 0);
    hp_symbols_free(s);
}

static void test_symbols_return_address_gives_call_line(void **state)
{
    (void)state;
    warns_t w = { 0 };
    hp_symbols_t *s = hp_symbols_new(on_warn, &w);
    assert_non_null(s);
    uint64_t ra = (uint64_t)(uintptr_t)symtest_caller();
    const hp_module_t *m = module_of(ra);
    assert_non_null(m);
    hp_frame_t f[8];
    size_t n = hp_symbols_lookup(s, m, ra - 1, f, 8);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].function, "symtest_caller");
    assert_string_equal(base_name(f[0].file), "test_symbols.c");
    assert_int_equal(f[0].line, caller_line);
    assert_int_equal(f[0].inlined, 0);
    assert_int_equal(f[0].pc, ra - 1);
    /* The build-id is reported as hex. */
    assert_non_null(f[0].build_id);
    assert_int_equal(strlen(f[0].build_id), 2 * m->build_id_len);
    /* A second lookup is answered from the cache with the same strings. */
    hp_frame_t g[8];
    assert_int_equal(hp_symbols_lookup(s, m, ra - 1, g, 8), 1);
    assert_ptr_equal(g[0].function, f[0].function);
    assert_ptr_equal(g[0].file, f[0].file);
    assert_int_equal(w.n, 0);
    hp_symbols_free(s);
}

static void test_symbols_inlined_frame_precedes_caller(void **state)
{
    (void)state;
    hp_symbols_t *s = hp_symbols_new(NULL, NULL);
    assert_non_null(s);
    uint64_t ra = (uint64_t)(uintptr_t)symtest_inline_outer();
    const hp_module_t *m = module_of(ra);
    assert_non_null(m);
    hp_frame_t f[8];
    size_t n = hp_symbols_lookup(s, m, ra - 1, f, 8);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].function, "symtest_inlined_helper");
    assert_int_equal(f[0].inlined, 1);
    assert_int_equal(f[0].line, inl_line);
    assert_string_equal(base_name(f[0].file), "test_symbols.c");
    assert_string_equal(f[1].function, "symtest_inline_outer");
    assert_int_equal(f[1].inlined, 0);
    assert_int_equal(f[1].line, outer_line);
    assert_string_equal(base_name(f[1].file), "test_symbols.c");
    /* max bounds what is written. */
    assert_int_equal(hp_symbols_lookup(s, m, ra - 1, f, 1), 1);
    assert_string_equal(f[0].function, "symtest_inlined_helper");
    hp_symbols_free(s);
}

static void test_symbols_nested_inlining_keeps_every_level(void **state)
{
    (void)state;
    hp_symbols_t *s = hp_symbols_new(NULL, NULL);
    assert_non_null(s);
    uint64_t ra = (uint64_t)(uintptr_t)symtest_two_level_outer();
    const hp_module_t *m = module_of(ra);
    assert_non_null(m);
    hp_frame_t f[8];
    size_t n = hp_symbols_lookup(s, m, ra - 1, f, 8);
    assert_int_equal(n, 3);
    assert_string_equal(f[0].function, "symtest_inner_inl");
    assert_int_equal(f[0].line, inner2_line);
    assert_int_equal(f[0].inlined, 1);
    assert_string_equal(f[1].function, "symtest_middle_inl");
    assert_int_equal(f[1].line, middle2_line);
    assert_int_equal(f[1].inlined, 1);
    assert_string_equal(f[2].function, "symtest_two_level_outer");
    assert_int_equal(f[2].line, outer2_line);
    assert_int_equal(f[2].inlined, 0);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(base_name(f[i].file), "test_symbols.c");
    hp_symbols_free(s);
}

static void test_symbols_wrong_build_id_keeps_offset(void **state)
{
    (void)state;
    warns_t w = { 0 };
    hp_symbols_t *s = hp_symbols_new(on_warn, &w);
    assert_non_null(s);
    uint64_t pc = (uint64_t)(uintptr_t)&symtest_caller;
    hp_module_t m = *module_of(pc);
    assert_true(m.build_id_len > 0);
    uint8_t other[HP_MAX_BUILD_ID];
    memcpy(other, m.build_id, m.build_id_len);
    other[0] ^= 0xff;
    m.build_id = other;
    hp_frame_t f[8];
    for (int i = 0; i < 3; i++) {
        size_t n = hp_symbols_lookup(s, &m, pc + (uint64_t)i, f, 8);
        assert_int_equal(n, 1);
        assert_null(f[0].function);
        assert_null(f[0].file);
        assert_int_equal(f[0].line, 0);
        assert_int_equal(f[0].offset, pc + (uint64_t)i - m.bias);
        assert_string_equal(f[0].module, m.path);
    }
    assert_int_equal(w.n, 1); /* once per module */
    assert_non_null(strstr(w.last, "build-id on disk differs from the trace"));
    assert_non_null(strstr(w.last, m.path));
    hp_symbols_free(s);
}

static void test_symbols_missing_file_keeps_offset(void **state)
{
    (void)state;
    warns_t w = { 0 };
    hp_symbols_t *s = hp_symbols_new(on_warn, &w);
    assert_non_null(s);
    hp_module_t m = { .bias = 0x7f0000000000ull, .start = 0x7f0000000000ull,
                      .end = 0x7f0000100000ull, .path = "/nonexistent/libgone.so.1" };
    hp_frame_t f[4];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hp_symbols_lookup(s, &m, 0x7f0000001234ull, f, 4), 1);
        assert_null(f[0].function);
        assert_int_equal(f[0].offset, 0x1234);
        assert_string_equal(f[0].module, "/nonexistent/libgone.so.1");
    }
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "libgone.so.1"));

    /* The vDSO has no file: module+offset without a warning. */
    hp_module_t v = { .bias = 0x7fff0000ull, .start = 0x7fff0000ull, .end = 0x7fff2000ull,
                      .path = "[vdso]" };
    assert_int_equal(hp_symbols_lookup(s, &v, 0x7fff0100ull, f, 4), 1);
    assert_null(f[0].function);
    assert_int_equal(f[0].offset, 0x100);
    assert_int_equal(w.n, 1);

    /* A pc in no module. */
    assert_int_equal(hp_symbols_lookup(s, NULL, 0x1234, f, 4), 1);
    assert_null(f[0].module);
    assert_null(f[0].function);
    assert_int_equal(hp_symbols_lookup(s, NULL, 0x1234, f, 0), 0);
    hp_symbols_free(s);
}

/* A non-ELF file at the module's path is just unresolved. */
static void test_symbols_garbage_file_is_unresolved(void **state)
{
    (void)state;
    char path[] = "/tmp/hp-symtest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    memcpy(junk, "\177ELF\2\1\1", 7); /* an ELF magic on corrupt headers */
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    warns_t w = { 0 };
    hp_symbols_t *s = hp_symbols_new(on_warn, &w);
    hp_module_t m = { .bias = 0x10000, .start = 0x10000, .end = 0x20000, .path = path };
    hp_frame_t f[4];
    assert_int_equal(hp_symbols_lookup(s, &m, 0x10100, f, 4), 1);
    assert_null(f[0].function);
    assert_int_equal(f[0].offset, 0x100);
    assert_int_equal(w.n, 1);
    hp_symbols_free(s);
    unlink(path);
}

/* Runs a shell command; returns 1 when it succeeded. */
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd) == 0;
}

/*
 * Separate debuginfo: a copy of this program stripped of its DWARF, with the
 * DWARF in <tmp>/.build-id/xx/rest.debug (found by build-id through
 * HEAPPROF_DEBUG_PATH), and another copy found through .gnu_debuglink.
 */
static void test_symbols_separate_debuginfo_by_build_id_and_debuglink(void **state)
{
    (void)state;
    uint64_t ra = (uint64_t)(uintptr_t)symtest_caller();
    const hp_module_t *self = module_of(ra);
    assert_non_null(self);
    assert_true(self->build_id_len > 1);
    char dir[] = "/tmp/hp-symdbg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char hex[2 * HP_MAX_BUILD_ID + 1];
    for (size_t i = 0; i < self->build_id_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", self->build_id[i]);
    if (!sh("command -v objcopy >/dev/null && command -v strip >/dev/null")) {
        rmdir(dir);
        skip();
    }
    assert_true(sh("mkdir -p %s/dbg/.build-id/%.2s %s/bin %s/link", dir, hex, dir, dir));
    assert_true(sh("objcopy --only-keep-debug '%s' %s/dbg/.build-id/%.2s/%s.debug", self->path,
                   dir, hex, hex + 2));
    assert_true(sh("strip -g -o %s/bin/prog '%s'", dir, self->path));
    /* The debuglink copy: debug file next to it, named in .gnu_debuglink. */
    assert_true(sh("cd %s/link && objcopy --only-keep-debug '%s' prog.debug && "
                   "strip -g -o prog.tmp '%s' && "
                   "objcopy --add-gnu-debuglink=prog.debug prog.tmp prog && rm prog.tmp",
                   dir, self->path, self->path));

    char old[4096] = "";
    const char *prev = getenv("HEAPPROF_DEBUG_PATH");
    if (prev)
        snprintf(old, sizeof old, "%s", prev);
    char dbg[256];
    snprintf(dbg, sizeof dbg, "%s/dbg", dir);
    setenv("HEAPPROF_DEBUG_PATH", dbg, 1);
    warns_t w = { 0 };
    hp_symbols_t *s = hp_symbols_new(on_warn, &w);
    if (prev)
        setenv("HEAPPROF_DEBUG_PATH", old, 1);
    else
        unsetenv("HEAPPROF_DEBUG_PATH");
    assert_non_null(s);

    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/bin/prog", dir);
    snprintf(p2, sizeof p2, "%s/link/prog", dir);
    hp_module_t m1 = *self, m2 = *self;
    m1.path = p1;
    m2.path = p2;
    hp_frame_t f[8];
    assert_int_equal(hp_symbols_lookup(s, &m1, ra - 1, f, 8), 1);
    assert_non_null(f[0].function);
    assert_string_equal(f[0].function, "symtest_caller");
    assert_non_null(f[0].file);
    assert_int_equal(f[0].line, caller_line);
    assert_string_equal(f[0].module, p1);

    assert_int_equal(w.n, 0);
    hp_symbols_free(s);

    /* Without the debug path: the debuglink copy finds prog.debug beside
     * itself; the build-id copy still names the function from .symtab
     * (strip -g keeps it), without a line. */
    s = hp_symbols_new(on_warn, &w);
    assert_int_equal(hp_symbols_lookup(s, &m2, ra - 1, f, 8), 1);
    assert_non_null(f[0].function);
    assert_string_equal(f[0].function, "symtest_caller");
    assert_int_equal(f[0].line, caller_line);
    assert_int_equal(hp_symbols_lookup(s, &m1, ra - 1, f, 8), 1);
    assert_non_null(f[0].function);
    assert_string_equal(f[0].function, "symtest_caller");
    assert_null(f[0].file);
    assert_int_equal(f[0].line, 0);
    assert_int_equal(w.n, 0);
    hp_symbols_free(s);
    sh("rm -rf %s", dir);
}

/* strip -s leaves .dynsym only: this program exports none of its functions,
 * so its pcs get no name at all rather than a neighbour's. */
static void test_symbols_fully_stripped_never_names_wrongly(void **state)
{
    (void)state;
    uint64_t ra = (uint64_t)(uintptr_t)symtest_caller();
    const hp_module_t *self = module_of(ra);
    assert_non_null(self);
    char dir[] = "/tmp/hp-symstrip-XXXXXX";
    assert_non_null(mkdtemp(dir));
    if (!sh("strip -s -o %s/prog '%s'", dir, self->path)) {
        sh("rm -rf %s", dir);
        skip();
    }
    char p[300];
    snprintf(p, sizeof p, "%s/prog", dir);
    hp_module_t m = *self;
    m.path = p;
    hp_symbols_t *s = hp_symbols_new(NULL, NULL);
    hp_frame_t f[8];
    uint64_t pcs[] = { ra - 1, (uint64_t)(uintptr_t)&symtest_inline_outer + 4,
                       (uint64_t)(uintptr_t)&symtest_capture };
    for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++) {
        assert_int_equal(hp_symbols_lookup(s, &m, pcs[i], f, 8), 1);
        assert_null(f[0].file);
        assert_int_equal(f[0].offset, pcs[i] - m.bias);
        if (f[0].function) /* only if .dynsym really has it */
            assert_non_null(strstr(f[0].function, "symtest_"));
    }
    hp_symbols_free(s);
    sh("rm -rf %s", dir);
}

/* 10^5 distinct pcs over this program's code and the C library: every one
 * gets an answer, and the same pc gives the same answer again. */
static void test_symbols_many_distinct_pcs(void **state)
{
    (void)state;
    hp_symbols_t *s = hp_symbols_new(NULL, NULL);
    assert_non_null(s);
    const hp_module_t *self = module_of((uint64_t)(uintptr_t)&symtest_caller);
    const hp_module_t *libc = module_of((uint64_t)(uintptr_t)&printf);
    assert_non_null(self);
    assert_non_null(libc);
    enum { N = 100000 };
    size_t named = 0;
    hp_frame_t f[32];
    for (size_t i = 0; i < N; i++) {
        const hp_module_t *m = (i & 1) ? libc : self;
        uint64_t span = m->end - m->start;
        uint64_t pc = m->start + (i / 2 * 2654435761u) % span;
        size_t n = hp_symbols_lookup(s, m, pc, f, 32);
        assert_true(n >= 1 && n <= 32);
        assert_int_equal(f[n - 1].inlined, 0);
        assert_int_equal(f[0].offset, pc - m->bias);
        named += f[n - 1].function != NULL;
    }
    /* Text is a good share of both modules: many pcs land in functions. */
    assert_true(named > N / 10);
    uint64_t pc = (uint64_t)(uintptr_t)&symtest_caller;
    size_t n1 = hp_symbols_lookup(s, self, pc, f, 32);
    const char *fn = f[n1 - 1].function;
    assert_int_equal(hp_symbols_lookup(s, self, pc, f, 32), n1);
    assert_ptr_equal(f[n1 - 1].function, fn);
    hp_symbols_free(s);
}

int main(void)
{
    /* Offline and deterministic: libdw would otherwise ask a debuginfod
     * server about the stripped copies. */
    unsetenv("DEBUGINFOD_URLS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symbols_names_function_by_address),
        cmocka_unit_test(test_symbols_return_address_gives_call_line),
        cmocka_unit_test(test_symbols_inlined_frame_precedes_caller),
        cmocka_unit_test(test_symbols_nested_inlining_keeps_every_level),
        cmocka_unit_test(test_symbols_wrong_build_id_keeps_offset),
        cmocka_unit_test(test_symbols_missing_file_keeps_offset),
        cmocka_unit_test(test_symbols_garbage_file_is_unresolved),
        cmocka_unit_test(test_symbols_separate_debuginfo_by_build_id_and_debuglink),
        cmocka_unit_test(test_symbols_fully_stripped_never_names_wrongly),
        cmocka_unit_test(test_symbols_many_distinct_pcs),
    };
    return cmocka_run_group_tests(tests, setup_modules, NULL);
}
