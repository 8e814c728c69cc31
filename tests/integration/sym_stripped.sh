#!/bin/sh
# Stripped binaries (issue 3: "a stripped module falls back to
# module+offset"; a module rebuilt since the run is reported, not
# mis-symbolized). Copies of sym_stripped are run under the preload:
#   full     not stripped: stripped_leak at sym_stripped.c:SITE:leak
#   symtab   strip -g (.symtab kept): the function name, no file or line
#   bare     strip -s (.dynsym only, which names none of its functions):
#            no name at all (never a wrong one), module+offset
# and every copy reports the same module offset for the leak. Then the full
# copy is replaced on disk by another program: heapanalyze warns that the
# build-id differs and leaves the frame as module+offset. Finally a strip -s
# copy of libsym_plugin.so, loaded by sym_dlclose: its exported plugin_leak
# is named from .dynsym. Skips (77) only when the preload or heapanalyze is
# not built, or strip is not installed.
set -u
B=$HP_BUILD
[ -f "$B/libheapprof.so" ] || { echo "libheapprof.so is not built"; exit 77; }
[ -x "$B/heapanalyze" ] || { echo "heapanalyze is not built"; exit 77; }
command -v strip >/dev/null 2>&1 || { echo "strip (binutils) is not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
# libdw would ask a debuginfod server about every module without DWARF.
unset DEBUGINFOD_URLS

prog=$B/tests/integration/sym_stripped
line=$(grep -n '/\* SITE:leak \*/' "$HP_SRC/tests/integration/sym_stripped.c" | cut -d: -f1)
cp "$prog" "$HP_TMP/full" || fail "cp"
strip -g -o "$HP_TMP/symtab" "$prog" || fail "strip -g"
strip -s -o "$HP_TMP/bare" "$prog" || fail "strip -s"

# run NAME CMD...: records CMD into $HP_TMP/NAME.json (heapanalyze --json)
# and NAME.err (its stderr).
run() {
    name=$1
    shift
    HEAPPROF_OUT=$HP_TMP/$name.%p.zst HEAPPROF_RATE=1 LD_PRELOAD=$B/libheapprof.so "$@" ||
        fail "$name: exited $? under the preload"
    set -- "$HP_TMP/$name".*.zst
    [ -f "$1" ] || fail "$name: no trace written"
    "$B/heapanalyze" --json "$1" >"$HP_TMP/$name.json" 2>"$HP_TMP/$name.err" ||
        { cat "$HP_TMP/$name.err"; fail "$name: heapanalyze --json exited $?"; }
}
run full "$HP_TMP/full"
run symtab "$HP_TMP/symtab"
run bare "$HP_TMP/bare"
# The program is rebuilt (here: replaced by another one) after the run.
cp "$B/tests/integration/sym_dlclose" "$HP_TMP/full" || fail "cp"
"$B/heapanalyze" --json "$HP_TMP"/full.*.zst >"$HP_TMP/moved.json" 2>"$HP_TMP/moved.err" ||
    { cat "$HP_TMP/moved.err"; fail "moved: heapanalyze --json exited $?"; }
grep -q 'full: build-id on disk differs from the trace' "$HP_TMP/moved.err" ||
    { cat "$HP_TMP/moved.err"; fail "moved: no build-id warning on stderr"; }
strip -s -o "$HP_TMP/libbare.so" "$B/tests/integration/libsym_plugin.so" || fail "strip -s lib"
run libbare "$B/tests/integration/sym_dlclose" "$HP_TMP/libbare.so" 5000

python3 - "$HP_TMP" "$line" <<'PY'
import json, os, sys
tmp, line = sys.argv[1], int(sys.argv[2])

def leak_frame(name, module, size):
    """The innermost frame in module of the leak site of size bytes."""
    doc = json.load(open(os.path.join(tmp, name + ".json")))
    for s in doc["leaks"]:
        if s["leaked_bytes"] != size:
            continue
        for f in s["stack"]:
            if f.get("module") == os.path.join(tmp, module):
                return f, s["stack"]
    print("FAIL: %s: no %d-byte leak with a frame in %s; leaks: %s"
          % (name, size, module, json.dumps(doc["leaks"])[:3000]))
    sys.exit(1)

def check(cond, what, frame):
    if not cond:
        print("FAIL: %s: %s" % (what, json.dumps(frame)))
        sys.exit(1)

full, _ = leak_frame("full", "full", 4096)
check(full["function"] == "stripped_leak" and (full["file"] or "").endswith("sym_stripped.c")
      and full["line"] == line, "full: stripped_leak at sym_stripped.c:%d" % line, full)

sym, _ = leak_frame("symtab", "symtab", 4096)
check(sym["function"] == "stripped_leak", "symtab: name from .symtab", sym)
check(not sym["file"] and not sym["line"], "symtab: no file/line without DWARF", sym)
check(sym["offset"] == full["offset"], "symtab: same offset as unstripped", sym)

bare, stack = leak_frame("bare", "bare", 4096)
check(bare["offset"] == full["offset"], "bare: same offset as unstripped", bare)
check(not bare["file"] and not bare["line"], "bare: no file/line", bare)
for f in stack:
    if f.get("module") == os.path.join(tmp, "bare"):
        check(f["function"] in (None, "", "stripped_leak", "main"), "bare: no wrong name", f)

moved, _ = leak_frame("moved", "full", 4096)
check(moved["offset"] == full["offset"] and not moved["function"] and not moved["file"],
      "moved: module+offset only", moved)

lib, _ = leak_frame("libbare", "libbare.so", 5000)
check(lib["function"] == "plugin_leak" and not lib["file"],
      "libbare.so: plugin_leak from .dynsym", lib)
print("ok: full %s:%d; symtab %s; bare offset %#x; moved warned; libbare.so %s"
      % (full["function"], full["line"], sym["function"], bare["offset"], lib["function"]))
PY
