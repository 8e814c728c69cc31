#!/bin/sh
# A library loaded with dlopen and closed with dlclose before exit (issue
# 3, tests): the block it leaked is still named by the library's function,
# file and line (libsym_plugin.c, line marked SITE:plugin), with the
# library's path as module, and its caller in sym_dlclose.c after it.
# Skips (77) only when the preload or heapanalyze is not built.
set -u
B=$HP_BUILD
[ -f "$B/libheapprof.so" ] || { echo "libheapprof.so is not built"; exit 77; }
[ -x "$B/heapanalyze" ] || { echo "heapanalyze is not built"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
# libdw would ask a debuginfod server about every module without DWARF.
unset DEBUGINFOD_URLS

lib=$B/tests/integration/libsym_plugin.so
HEAPPROF_OUT=$HP_TMP/dl.%p.zst HEAPPROF_RATE=1 LD_PRELOAD=$B/libheapprof.so \
    "$B/tests/integration/sym_dlclose" "$lib" 5000 || fail "sym_dlclose exited $? under the preload"
set -- "$HP_TMP"/dl.*.zst
[ -f "$1" ] || fail "no trace written"
"$B/heapanalyze" --json "$1" >out.json 2>err.txt || { cat err.txt; fail "heapanalyze --json exited $?"; }
line=$(grep -n '/\* SITE:plugin \*/' "$HP_SRC/tests/integration/libsym_plugin.c" | cut -d: -f1)

python3 - out.json "$line" <<'PY' || { cat err.txt; exit 1; }
import json, sys
doc = json.load(open(sys.argv[1]))
line = int(sys.argv[2])
for s in doc["leaks"]:
    st = s["stack"]
    k = next((i for i, f in enumerate(st) if (f.get("module") or "").endswith("libsym_plugin.so")), None)
    if k is None:
        continue
    f = st[k]
    assert s["leaked_bytes"] == 5000 and s["leaked_blocks"] == 1, s
    assert f["function"] == "plugin_leak", f
    assert (f["file"] or "").endswith("libsym_plugin.c"), f
    assert f["line"] == line, (f, line)
    assert k + 1 < len(st) and st[k + 1]["function"] == "main" \
        and (st[k + 1]["file"] or "").endswith("sym_dlclose.c"), st
    print("ok: plugin_leak at libsym_plugin.c:%d, called from main" % line)
    sys.exit(0)
print("FAIL: no leak site in libsym_plugin.so; leaks:", json.dumps(doc["leaks"])[:3000])
sys.exit(1)
PY
