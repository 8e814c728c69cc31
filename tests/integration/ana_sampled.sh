#!/bin/sh
# Sampled mode (rate 16 KiB: about 6,600 samples, so that the 15% bounds
# below are more than 4 standard deviations wide whatever the seed; a fixed
# seed makes the run reproducible anyway): the totals stay exact, the peak
# and the leak are estimated within 15%, and
# the sites holding most of the bytes are named: hold_big at the peak,
# leak_some for the leak, churn_small for the temporaries.
set -u
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
HEAPPROF_RATE=16384 HEAPPROF_SEED=12345 HEAPPROF_OUT="$HP_TMP/s.zst" LD_PRELOAD="$LIB" \
    "$BIN/ana_sampled" || exit 1
"$ANA" --json "$HP_TMP/s.zst" >s.json || exit 1
python3 - s.json <<'PY' || exit 1
import json, sys
j = json.load(open(sys.argv[1]))
def close(name, got, want, tol):
    if abs(got - want) > tol * want:
        sys.exit("%s: %s not within %d%% of %s" % (name, got, tol * 100, want))
if j["sampling_rate"] != 16384:
    sys.exit("sampling_rate %r" % j["sampling_rate"])
# exact counters, whatever the sampling
if j["total_allocations"] != 512 + 4096 + 262144:
    sys.exit("total_allocations %r" % j["total_allocations"])
if j["total_bytes"] != (512 + 4096) * 16384 + 262144 * 128:
    sys.exit("total_bytes %r" % j["total_bytes"])
close("peak_bytes", j["peak_bytes"], (512 + 4096) * 16384, 0.15)
close("leaked_bytes", j["leaked_bytes"], 512 * 16384, 0.15)
def first(arr):
    return j[arr][0]["stack"][0]["function"]
for arr, fn in (("peak_sites", "hold_big"), ("leaks", "leak_some"),
                ("hotspots", "hold_big"), ("temporary_sites", "churn_small")):
    if first(arr) != fn:
        sys.exit("%s[0] is %r, want %s" % (arr, first(arr), fn))
print("sampled ok: %d samples, peak %d, leaked %d" % (j["samples"], j["peak_bytes"], j["leaked_bytes"]))
PY
"$ANA" "$HP_TMP/s.zst" >report.txt || exit 1
grep -q "estimates, unbiased" report.txt || { cat report.txt; echo "report does not say estimates"; exit 1; }
grep -q "rate 16384" report.txt || { echo "report does not give the rate"; exit 1; }
exit 0
