# The recorder's fast paths keep exact counts: a thread whose only calls
# are frees (it attaches on a free and exits before the process), free(NULL)
# not counted, malloc(0) counted; full mode tells temporaries from blocks
# freed after another allocation (issue 2, items 1 and 4).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
for rate in 1 4096 524288; do
    HEAPPROF_RATE=$rate HEAPPROF_OUT=t$rate.zst LD_PRELOAD=$LIB "$BIN/rec_hotpath" ||
        fail "rate $rate: exit $?"
    "$ANA" --json t$rate.zst >t$rate.json || fail "rate $rate: unreadable trace"
    python3 - t$rate.json $rate <<'PY' || fail "rate $rate"
import json, sys
d = json.load(open(sys.argv[1])); rate = int(sys.argv[2])
f = d["functions"]
assert d["complete"], "incomplete"
# Ours: 20000 x 64 + 2000 x 24 + 1000 x 8 + 100 x 0 bytes. The C runtime
# may add a few calls of its own (thread start-up), never bytes below ours.
assert 23100 <= f["malloc"]["calls"] <= 23100 + 20, f["malloc"]
assert f["malloc"]["bytes"] >= 20000 * 64 + 2000 * 24 + 1000 * 8, f["malloc"]
# Every block is freed once, by the worker or by main; free(NULL) is not a free.
assert 23100 <= f["free"]["calls"] <= 23100 + 20, f["free"]
if rate == 1:
    assert d["leaked_blocks"] <= 5, d["leaked_blocks"]  # runtime blocks only
    assert 1100 <= d["temporary_allocations"] <= 1100 + 20, d["temporary_allocations"]
print("ok: rate", rate, f["malloc"], f["free"], "temporaries", d["temporary_allocations"])
PY
done
echo pass
