# 8 threads allocating at once give exact totals in full mode; exit() from
# one thread while the others allocate leaves a complete, readable trace
# (issue 2, items 4 and 7).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
HEAPPROF_RATE=1 HEAPPROF_OUT=t.zst LD_PRELOAD=$LIB "$BIN/rec_threads" || fail "exit $?"
"$ANA" --json t.zst >t.json || fail "unreadable trace"
python3 - t.json <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
f = d["functions"]
assert f["malloc"]["calls"] == 160000, f["malloc"]
assert f["malloc"]["bytes"] == 16080000, f["malloc"]
assert f["free"]["calls"] >= 160000 - 160, f["free"]
lb = sum(s["leaked_bytes"] for s in d["leaks"] if s["stack"] and s["stack"][0]["function"] == "worker")
lk = sum(s["leaked_blocks"] for s in d["leaks"] if s["stack"] and s["stack"][0]["function"] == "worker")
assert (lb, lk) == (160, 160), (lb, lk)
print("ok: 8 threads exact", f["malloc"], "leaked by worker", lb, lk)
PY
# A main thread allocating while the workers start: not one of its blocks,
# nor of theirs, lost from the map of live blocks (a lost one would leave
# its free unrecorded and show up as a leak).
for run in 1 2 3; do
    HEAPPROF_RATE=1 HEAPPROF_OUT=b$run.zst LD_PRELOAD=$LIB "$BIN/rec_threads" busy-main ||
        fail "busy-main exit $?"
    "$ANA" --json b$run.zst | python3 -c '
import json, sys
d = json.load(sys.stdin); f = d["functions"]
by = lambda fn: sum(s["leaked_blocks"] for s in d["leaks"]
                    if s["stack"] and s["stack"][0]["function"] == fn)
assert (by("worker"), by("churn_main")) == (160, 0), (by("worker"), by("churn_main"))
assert d["unknown_frees"] == 0, d["unknown_frees"]
assert f["malloc"]["calls"] >= 160000 + 8 * 5000, f["malloc"]
print("ok: busy main thread, leaks exact, mallocs", f["malloc"]["calls"])' || fail "busy-main run $run"
done
# Sampled mode: the exact counters are still exact.
HEAPPROF_OUT=s.zst LD_PRELOAD=$LIB "$BIN/rec_threads" || fail "sampled exit $?"
"$ANA" --json s.zst | python3 -c '
import json, sys
d = json.load(sys.stdin); f = d["functions"]
assert f["malloc"]["calls"] == 160000 and f["malloc"]["bytes"] == 16080000, f["malloc"]
print("ok: sampled counters exact")' || fail "sampled counters"
for rate in 1 4096; do
    HEAPPROF_RATE=$rate HEAPPROF_OUT=e$rate.zst LD_PRELOAD=$LIB "$BIN/rec_threads" exit ||
        fail "exit mode returned $?"
    "$ANA" --json e$rate.zst | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["complete"] is True, "no END record"
assert d["functions"]["malloc"]["calls"] >= 50000 + 7 * 10000, d["functions"]["malloc"]
print("ok: exit() from a thread, complete, mallocs", d["functions"]["malloc"]["calls"])' ||
        fail "exit-from-thread trace at rate $rate"
done
echo pass
