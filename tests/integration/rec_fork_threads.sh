# Regression: a fork child of a multithreaded process must not hang when
# another thread held the dynamic loader's lock at fork time; its trace is
# complete, with the parent's module map (issue 2, item 7), and its
# allocations have stacks (walked without libunwind, which could hang).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
for rate in 1 4096; do
    mkdir r$rate && cd r$rate || fail mkdir
    HEAPPROF_RATE=$rate LD_PRELOAD=$LIB timeout 120 "$BIN/rec_fork_threads" ||
        fail "rate $rate: exit $? (124 = hung)"
    n=$(ls heapprof.rec_fork_threads.*.zst | wc -l)
    [ "$n" = 31 ] || fail "rate $rate: expected 31 traces, got $n"
    for t in heapprof.rec_fork_threads.*.zst; do
        "$ANA" --json "$t" >j || fail "$t unreadable"
        python3 -c '
import json, sys
d = json.load(open("j"))
assert d["complete"], "incomplete"
m = d["functions"]["malloc"]
if m["calls"] <= 2000:  # a child: exactly its own 1000 mallocs, from main
    assert (m["calls"], m["bytes"]) == (1000, 1000000), m
    top = d["hotspots"][0]
    assert [f["function"] for f in top["stack"]][:1] == ["main"], top
' || fail "$t"
    done
    echo "ok: rate $rate, 31 complete traces"
    cd ..
done
echo pass
