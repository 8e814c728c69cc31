# Exact counters at every rate: the same known mix of calls, from threads
# still alive at exit, gives the same counts per function in full mode
# (every call on the slow path), at the default rate (malloc's fast calls
# counted by the countdown word) and at a rate so low that the workers never
# sample (all their fast calls still in their words at exit); the counts
# cover the program's own tally. At a rate above what the word arms at a
# time, the number of samples follows the rate (issue 2, items 3 and 4).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
for rate in 1 524288 1099511627776; do
    HEAPPROF_RATE=$rate HEAPPROF_OUT=t$rate.zst LD_PRELOAD=$LIB "$BIN/rec_counts" >tally$rate ||
        fail "rate $rate: exit $?"
    "$ANA" --json t$rate.zst >t$rate.json || fail "rate $rate: unreadable trace"
done
python3 - <<'PY' || fail "counts differ"
import json
rates = ["1", "524288", "1099511627776"]
fns = {r: json.load(open("t%s.json" % r))["functions"] for r in rates}
for r in rates:
    f = fns[r]
    w = open("tally" + r).read().split()
    tally = {w[i]: [int(x) for x in w[i + 1:i + 3]] for i in range(0, 12, 3)}
    frees = int(w[13])
    for fn in ("malloc", "calloc", "realloc", "memalign"):
        got = f.get(fn, {"calls": 0, "bytes": 0})
        c, b = tally[fn]
        # The C runtime adds a few calls of its own (thread start-up, stdio).
        assert c <= got["calls"] <= c + 10, (r, fn, got, c)
        assert b <= got["bytes"] <= b + 16384, (r, fn, got, b)
    assert frees <= f["free"]["calls"] <= frees + 10, (r, f["free"], frees)
for r in rates[1:]:
    for fn in set(fns["1"]) | set(fns[r]):
        assert fns[r].get(fn) == fns["1"].get(fn), (r, fn, fns[r].get(fn), fns["1"].get(fn))
print("ok: counts equal at rates", rates, fns["1"]["malloc"], fns["1"]["free"])
PY
# A mean of 1 GiB, twice what the word holds: 64 GiB of mallocs give about
# 64 samples (sd 8); a draw cut at the word's size would give about 160.
HEAPPROF_RATE=1073741824 HEAPPROF_SEED=7 HEAPPROF_OUT=big.zst LD_PRELOAD=$LIB \
    "$BIN/rec_counts" big >/dev/null || fail "big: exit $?"
n=$(json_get big.zst samples) || fail "big: unreadable trace"
[ "$n" -ge 30 ] && [ "$n" -le 110 ] || fail "big: $n samples, expected about 64"
echo "ok: $n samples of 64 GiB at a mean of 1 GiB"
echo pass
