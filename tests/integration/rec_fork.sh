# fork: the child writes its own trace (flagged as forked, its own counts),
# the parent's trace stays valid; with HEAPPROF_NO_CHILDREN=1 the child
# records nothing (issue 2, item 7).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
for rate in 1 524288; do
    mkdir r$rate && cd r$rate || fail "mkdir"
    child=$(HEAPPROF_RATE=$rate LD_PRELOAD=$LIB "$BIN/rec_fork") || fail "rec_fork exited $?"
    parent=$(ls heapprof.rec_fork.*.zst | grep -v "\.$child\.zst")
    [ -f "heapprof.rec_fork.$child.zst" ] || fail "no child trace: $(ls)"
    [ "$(ls | wc -l)" = 2 ] || fail "expected 2 traces: $(ls)"
    "$ANA" --json "$parent" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["functions"]["malloc"]
assert (m["calls"], m["bytes"]) == (110, 20000), m
assert d["complete"], "parent trace incomplete"
print("ok: parent", m)' || fail "parent trace"
    "$ANA" --json "heapprof.rec_fork.$child.zst" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["functions"]["malloc"]
assert (m["calls"], m["bytes"]) == (50, 500), m
assert d["complete"], "child trace incomplete"
assert d["pid"] == int(sys.argv[1]), d["pid"]
if d["sampling_rate"] == 1:
    assert d["leaked_bytes"] == 500 and d["leaked_blocks"] == 50, d
print("ok: child", m)' "$child" || fail "child trace"
    # The child trace says it is a fork child (file header flags).
    python3 - "heapprof.rec_fork.$child.zst" <<'PY' || fail "child header"
import struct, sys
b = open(sys.argv[1], "rb").read(8 + 64)
flags = struct.unpack_from("<I", b, 8 + 56)[0]
assert flags & 1, flags
PY
    cd ..
done
mkdir nc && cd nc || fail "mkdir"
child=$(HEAPPROF_RATE=1 HEAPPROF_NO_CHILDREN=1 LD_PRELOAD=$LIB "$BIN/rec_fork") || fail "exit $?"
[ "$(ls | wc -l)" = 1 ] || fail "no-children: expected only the parent trace: $(ls)"
[ ! -e "heapprof.rec_fork.$child.zst" ] || fail "child wrote a trace"
echo pass
