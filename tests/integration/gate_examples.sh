#!/bin/sh
# The examples show the numbers examples/README.md promises: recorded in
# full mode, heapanalyze --json finds peak.c's 8 MiB peak in load_images,
# churn.c's 100000 temporary allocations in parse_line, wordcount.c's peak
# holders and its one leak, cxx_shapes' 56-byte leak and threads.c's
# 10000 leaked bytes in worker_leak.
set -u
B=$HP_BUILD
for f in libheapprof.so heapanalyze heapprof examples/peak examples/churn \
         examples/wordcount examples/cxx_shapes examples/threads; do
    [ -e "$B/$f" ] || { echo "$B/$f not built"; exit 77; }
done
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
for ex in peak churn wordcount cxx_shapes threads; do
    "$B/heapprof" -q --full -o $ex.zst "$B/examples/$ex" >/dev/null || fail "$ex run"
    "$B/heapanalyze" $ex.zst --json --top 0 >$ex.json || fail "$ex json"
done
python3 - <<'PY' || fail "numbers differ from examples/README.md"
import json
def load(n): return json.load(open(n + ".json"))
def top(sites, fn):
    return [s for s in sites if any(f["function"] == fn for f in s["stack"][:2])]

p = load("peak")
assert p["peak_bytes"] == 8388608, p["peak_bytes"]
ps = top(p["peak_sites"], "load_images")
assert ps and ps[0]["peak_bytes"] == 8388608 and ps[0]["peak_blocks"] == 8, ps
iw = top(p["hotspots"], "index_words")
assert iw[0]["allocated_bytes"] == 262144 and iw[0]["peak_bytes"] == 0, iw
print("peak: 8388608 bytes in 8 blocks at load_images; index_words 256 KiB, 0 at the peak")

c = load("churn")
pl = top(c["temporary_sites"], "parse_line")
assert pl[0]["temporary_allocations"] == 100000 and pl[0]["allocated_bytes"] == 12800000, pl
assert c["peak_bytes"] == 4128, c["peak_bytes"]
print("churn: parse_line 100000 temporary allocations, 12800000 bytes; peak 4128")

w = load("wordcount")
assert 250000 <= w["peak_bytes"] <= 262144, w["peak_bytes"]
entries = [s for s in w["peak_sites"] if s["stack"][0]["function"] == "table_add"]
assert entries and entries[0]["peak_bytes"] == 5000 * 32, entries
lk = top(w["leaks"], "make_summary")
assert lk and lk[0]["leaked_bytes"] == 256 and lk[0]["leaked_blocks"] == 1, lk
tmp = top(w["temporary_sites"], "read_line")
assert tmp[0]["temporary_allocations"] == 20000, tmp
print("wordcount: peak", w["peak_bytes"], "table_add 160000; make_summary leaks 256; read_line 20000 temporary")

x = load("cxx_shapes")
lk = [s for s in x["leaks"] if any("make_orphan" in (f["function"] or "") for f in s["stack"][:2])]
assert lk and lk[0]["leaked_bytes"] == 56, lk
print("cxx_shapes: make_orphan leaks 56 bytes")

t = load("threads")
lk = top(t["leaks"], "worker_leak")
assert lk and lk[0]["leaked_bytes"] == 10000 and lk[0]["leaked_blocks"] == 10, lk
assert t["total_allocations"] >= 4014, t["total_allocations"]
print("threads: worker_leak 10000 bytes in 10 blocks;", t["total_allocations"], "allocations")
PY
echo "gate_examples: ok"
