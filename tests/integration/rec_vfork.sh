# Regression: exec in a vfork child must not flush or stop the parent's
# recording; the exec'd image writes its own trace (issue 2, item 7).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
HEAPPROF_RATE=1 LD_PRELOAD=$LIB "$BIN/rec_vfork" || fail "exit $?"
[ "$(ls heapprof.rec_vfork.*.zst | wc -l)" = 2 ] || fail "expected 2 traces: $(ls)"
for t in heapprof.rec_vfork.*.zst; do
    "$ANA" --json "$t" >j || fail "$t unreadable"
    python3 -c '
import json
d = json.load(open("j")); m = d["functions"]["malloc"]
assert d["complete"], "incomplete"
if m["calls"] == 20:    # the parent: every allocation recorded, not stopped
    assert m["bytes"] == 2000 and d["leaked_blocks"] == 20 and d["samples"] == 20, d
else:                   # the exec'\''d child
    assert (m["calls"], m["bytes"]) == (5, 50) and d["leaked_blocks"] == 5, m
print("ok:", m)' || fail "$t"
done
echo pass
