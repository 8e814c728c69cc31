#!/bin/sh
# heapanalyze on a real full-mode trace of ana_known.c, whose figures are
# known exactly: totals, peak, leaks, the churn's temporaries, and the text
# report naming the leaking, peak and churning functions at their lines.
set -u
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
HEAPPROF_RATE=1 HEAPPROF_OUT="$HP_TMP/known.zst" LD_PRELOAD="$LIB" "$BIN/ana_known" || exit 1
"$ANA" --json --top 0 "$HP_TMP/known.zst" >known.json || exit 1
src=$HP_SRC/tests/integration/ana_known.c
leak_line=$(grep -n 'LEAK-LINE' "$src" | cut -d: -f1)
peak_line=$(grep -n 'PEAK-LINE' "$src" | cut -d: -f1)
temp_line=$(grep -n 'TEMP-LINE' "$src" | cut -d: -f1)
python3 - known.json "$leak_line" "$peak_line" "$temp_line" <<'PY' || exit 1
import json, sys
j = json.load(open(sys.argv[1]))
leak_line, peak_line, temp_line = map(int, sys.argv[2:5])
def eq(name, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (name, got, want))
eq("version", j["version"], 2)
eq("sampling_rate", j["sampling_rate"], 1)
# 7 + 100 + 500 mallocs, 1 calloc, 1 malloc + 1 realloc
eq("total_allocations", j["total_allocations"], 610)
eq("total_bytes", j["total_bytes"], 7000 + 1000000 + 32000 + 1000 + 10 + 20)
# 100 + 500 + calloc's + the realloc's old block + the realloc'd one
eq("total_frees", j["total_frees"], 603)
eq("peak_bytes", j["peak_bytes"], 1007000)
eq("leaked_bytes", j["leaked_bytes"], 7000)
eq("leaked_blocks", j["leaked_blocks"], 7)
eq("complete", j["complete"], True)
def top(arr, fn):
    s = arr[0]["stack"][0]
    eq(arr is j["leaks"] and "leaks[0]" or fn, s["function"], fn)
    return s
s = top(j["leaks"], "leaky_function")
eq("leak line", s["line"], leak_line)
eq("leaks", len(j["leaks"]), 1)
eq("leaks[0].leaked_blocks", j["leaks"][0]["leaked_blocks"], 7)
s = top(j["peak_sites"], "hold_peak")
eq("peak line", s["line"], peak_line)
eq("peak_sites[0].peak_bytes", j["peak_sites"][0]["peak_bytes"], 1000000)
s = top(j["temporary_sites"], "churn")
eq("temp line", s["line"], temp_line)
eq("churn temporaries", j["temporary_sites"][0]["temporary_allocations"], 500)
if j["temporary_allocations"] < 500:
    sys.exit("temporary_allocations %d < 500" % j["temporary_allocations"])
s = top(j["hotspots"], "hold_peak")
for arr in ("hotspots", "leaks", "peak_sites", "temporary_sites"):
    for site in j[arr]:
        for f in site["stack"]:
            fn = f["function"] or ""
            if fn in ("malloc", "calloc", "realloc", "free") or "heapprof" in (f["module"] or ""):
                sys.exit("%s: allocator/profiler frame not trimmed: %r" % (arr, f))
print("json ok")
PY
"$ANA" "$HP_TMP/known.zst" >report.txt || exit 1
cat report.txt
grep -q "leaky_function (.*ana_known.c:$leak_line)" report.txt || { echo "report: no leak site"; exit 1; }
grep -q "hold_peak (.*ana_known.c:$peak_line)" report.txt || { echo "report: no peak site"; exit 1; }
grep -q "churn (.*ana_known.c:$temp_line)" report.txt || { echo "report: no churn site"; exit 1; }
grep -q "7 blocks" report.txt || { echo "report: leaked blocks missing"; exit 1; }
grep -q "every allocation recorded" report.txt || { echo "report: sampling line missing"; exit 1; }
# Colour only on a terminal: a file gets no escape sequences.
if grep -q "$(printf '\033')" report.txt; then echo "colour escapes in a file"; exit 1; fi
exit 0
