#!/bin/sh
# out_diff.sh - end to end: two traces of out_prog at scales 1 and 3; the
# real heapanalyze's --diff must match sites by stack across the two runs
# (their addresses differ under ASLR), give exact deltas in full mode, list
# the largest change first, and draw the growth (issue 4).
set -eu
A=$HP_BUILD/heapanalyze
P=$HP_BUILD/tests/integration/out_prog
fail() { echo "FAIL: $*"; exit 1; }
command -v python3 >/dev/null || { echo "python3 not installed (make deps)"; exit 77; }
command -v xmllint >/dev/null || { echo "xmllint not installed (make deps)"; exit 77; }

HEAPPROF_RATE=1 HEAPPROF_OUT=old.zst LD_PRELOAD=$HP_BUILD/libheapprof.so "$P" 1 >/dev/null
HEAPPROF_RATE=1 HEAPPROF_OUT=new.zst LD_PRELOAD=$HP_BUILD/libheapprof.so "$P" 3 >/dev/null

"$A" new.zst --diff old.zst > diff.txt
cat diff.txt
"$A" new.zst --diff old.zst --json > diff.json
python3 - <<'PY' || fail "diff JSON check"
import json
d = json.load(open("diff.json"))
def fn(site):
    return [f["function"] for f in site["stack"]]
sites = d["sites"]
# grow_list: 100 -> 300 blocks of 1000 bytes, plus its 800 -> 2400 byte array.
first = sites[0]
assert fn(first)[0] == "grow_list", ("largest change first", fn(first))
assert first["status"] == "matched", first["status"]
assert first["delta"]["allocated_bytes"] == 200 * 1000 + 200 * 8, first["delta"]
assert first["delta"]["allocations"] == 200, first["delta"]
leak = [s for s in sites if fn(s)[0] == "leak_some"]
assert len(leak) == 1 and leak[0]["delta"]["leaked_bytes"] == 2000, leak
fixed = [s for s in sites if fn(s)[0] == "fixed_buffers"]
assert len(fixed) == 1 and fixed[0]["delta"]["allocated_bytes"] == 0, fixed
assert d["new_sites"] == 0 and d["gone_sites"] == 0, (d["new_sites"], d["gone_sites"])
assert d["delta"]["total_bytes"] == d["cur"]["total_bytes"] - d["base"]["total_bytes"]
assert d["delta"]["leaked_bytes"] == 2000, d["delta"]
# Sorted by the largest absolute change of allocated, peak or leaked bytes.
w = [max(abs(s["delta"][k]) for k in ("allocated_bytes", "peak_bytes", "leaked_bytes")) for s in sites]
assert w == sorted(w, reverse=True), w
print("diff JSON ok:", len(sites), "sites; first", fn(first)[0], first["delta"]["allocated_bytes"])
PY
grep -q 'grow_list' diff.txt || fail "text diff lacks grow_list"
grep -q 'leak_some' diff.txt || fail "text diff lacks leak_some"
grep -q '+1.95 KiB' diff.txt || fail "text diff lacks the leak growth of +1.95 KiB (2000 bytes)"

# The growth as folded stacks and as a flamegraph.
"$A" new.zst --diff old.zst --folded=allocated > growth.folded
cat growth.folded
grep -Eq '(^|;)main;grow_list 201600$' growth.folded || fail "grow_list growth not 201600 in folded"
! grep -q 'fixed_buffers' growth.folded || fail "unchanged fixed_buffers in the growth"
"$A" new.zst --diff old.zst --flame -o growth.svg
xmllint --noout growth.svg || fail "growth flamegraph is not well-formed XML"
grep -q 'growth of' growth.svg || fail "growth flamegraph title"

# A trace against itself: nothing changed.
"$A" old.zst --diff old.zst > same.txt
grep -q 'no site changed' same.txt || fail "self-diff shows changes"
echo "diff ok"
