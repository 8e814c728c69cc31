# Sampled mode: exact counters stay exact, the unbiased estimate of the
# allocated bytes (sum over sites) is close to the exact total, and a fixed
# HEAPPROF_SEED reproduces the same samples (issue 2, item 3).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
for run in a b; do
    HEAPPROF_RATE=65536 HEAPPROF_SEED=4242 HEAPPROF_OUT=$run.zst LD_PRELOAD=$LIB \
        "$BIN/rec_sampled" || fail "exit $?"
    "$ANA" --json $run.zst >$run.json || fail "unreadable"
done
HEAPPROF_RATE=65536 HEAPPROF_SEED=4243 HEAPPROF_OUT=c.zst LD_PRELOAD=$LIB "$BIN/rec_sampled" ||
    fail "exit $?"
"$ANA" --json c.zst >c.json || fail "unreadable"
python3 - <<'PY' || fail "sampled numbers"
import json
a, b, c = (json.load(open(n + ".json")) for n in "abc")
m = a["functions"]["malloc"]
assert m["calls"] >= 400000 and m["calls"] < 400100, m  # + libc's own few
assert a["functions"]["free"]["calls"] >= 400000, a["functions"]["free"]
assert a["sampling_rate"] == 65536 and a["seed"] == 4242, (a["sampling_rate"], a["seed"])
# About 410 MB / 64 KiB = 6300 samples: 1/sqrt(n) = 1.3%; allow 6%.
est = sum(s["allocated_bytes"] for s in a["hotspots"])
err = abs(est - a["total_bytes"]) / a["total_bytes"]
assert err < 0.06, (est, a["total_bytes"], err)
assert 5000 < a["samples"] < 8000, a["samples"]
# Same seed, same program: the same samples; another seed: others.
assert a["samples"] == b["samples"], (a["samples"], b["samples"])
assert sum(s["allocated_bytes"] for s in b["hotspots"]) == est
assert sum(s["allocated_bytes"] for s in c["hotspots"]) != est
# Every sampled block was freed: nothing leaks in the estimate either.
assert a["leaked_bytes"] < 0.01 * a["total_bytes"], a["leaked_bytes"]
print("ok: estimate", est, "exact", a["total_bytes"], "error %.2f%%" % (100 * err), "samples", a["samples"])
PY
echo pass
