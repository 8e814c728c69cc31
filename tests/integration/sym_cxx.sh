#!/bin/sh
# C++ symbolization end to end (issue 3, tests: "A C++ program: demangled
# names and inlined frames appear"). Runs sym_cxx under the preload in full
# mode and checks in heapanalyze --json that its three leak sites are named
# by demangled C++ names at the lines marked SITE: in sym_cxx.cpp, and that
# the allocation inside the always-inlined helper shows the helper as an
# inlined frame followed by the function it was inlined into, at the line
# of the inlined call. Skips (77) only when the preload or heapanalyze is
# not built.
set -u
B=$HP_BUILD
[ -f "$B/libheapprof.so" ] || { echo "libheapprof.so is not built"; exit 77; }
[ -x "$B/heapanalyze" ] || { echo "heapanalyze is not built"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
# libdw would ask a debuginfod server about every module without DWARF.
unset DEBUGINFOD_URLS

src=$HP_SRC/tests/integration/sym_cxx.cpp
HEAPPROF_OUT=$HP_TMP/cxx.%p.zst HEAPPROF_RATE=1 LD_PRELOAD=$B/libheapprof.so \
    "$B/tests/integration/sym_cxx" || fail "sym_cxx exited $? under the preload"
set -- "$HP_TMP"/cxx.*.zst
[ -f "$1" ] || fail "no trace written"
"$B/heapanalyze" --json "$1" >out.json 2>err.txt || { cat err.txt; fail "heapanalyze --json exited $?"; }

python3 - out.json "$src" <<'PY' || { cat err.txt; exit 1; }
import json, re, sys
doc = json.load(open(sys.argv[1]))
lines = {}
for n, text in enumerate(open(sys.argv[2]), 1):
    m = re.search(r"SITE:(\w+)", text)
    if m:
        lines[m.group(1)] = n

def mine(f):
    return (f.get("file") or "").endswith("sym_cxx.cpp")

def show(site):
    return " <- ".join("%s%s at %s:%s" % ("[inl] " if f.get("inlined") else "", f.get("function"),
                                          (f.get("file") or "?").split("/")[-1], f.get("line"))
                       for f in site["stack"])

def find(pred, what):
    for s in doc["leaks"]:
        st = s["stack"]
        k = next((i for i, f in enumerate(st) if mine(f)), None)
        if k is not None and pred(st[k:]):
            return s
    print("FAIL: no leak site with %s; leak sites:" % what)
    for s in doc["leaks"]:
        print("   ", show(s))
    sys.exit(1)

site = find(lambda st: st[0]["function"] == "ns::Widget::make(int)"
            and st[0]["line"] == lines["make"] and not st[0]["inlined"],
            "ns::Widget::make(int) at sym_cxx.cpp:%d" % lines["make"])
assert site["leaked_bytes"] == 256, site["leaked_bytes"]

find(lambda st: "ns::build<double>(unsigned long)" in (st[0]["function"] or "")
     and st[0]["line"] == lines["build"],
     "ns::build<double>(unsigned long) at sym_cxx.cpp:%d" % lines["build"])

site = find(lambda st: len(st) >= 2 and st[0]["function"] == "ns::fill_buffer"
            and st[0]["inlined"] and st[0]["line"] == lines["fill"]
            and st[1]["function"] == "ns::Holder::grow(unsigned long)"
            and not st[1]["inlined"] and st[1]["line"] == lines["grow"],
            "inlined ns::fill_buffer at :%d in ns::Holder::grow(unsigned long) at :%d"
            % (lines["fill"], lines["grow"]))
assert site["leaked_bytes"] == 3000, site["leaked_bytes"]
print("ok:", show(site))
PY
