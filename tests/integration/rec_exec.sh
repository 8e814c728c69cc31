# exec: the old image's trace is complete (flushed before exec, also after
# a failed exec), the new image writes its own trace; with
# HEAPPROF_NO_CHILDREN=1 the preload leaves LD_PRELOAD (issue 2, item 7).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
for how in v lp l le ve vp vpe; do
    mkdir $how && cd $how || fail mkdir
    arg=; [ $how != v ] && arg=$how
    out=$(HEAPPROF_RATE=1 LD_PRELOAD="$LIB" "$BIN/rec_exec" $arg) || fail "exit $?"
    echo "$out" | grep -q "^LD_PRELOAD=.*libheapprof.so" || fail "preload lost: $out"
    first=$(ls heapprof.rec_exec.*.zst | grep -v '\.1\.zst$')
    second=$(ls heapprof.rec_exec.*.1.zst)
    [ -f "$first" ] && [ -f "$second" ] || fail "expected two traces: $(ls)"
    "$ANA" --json "$first" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["functions"]["malloc"]
assert (m["calls"], m["bytes"]) == (31, 3100), m
assert d["complete"], "stage 1 not flushed"
print("ok: stage 1", m)' || fail "stage 1 trace"
    "$ANA" --json "$second" | python3 -c '
import json, sys
d = json.load(sys.stdin); m = d["functions"]["malloc"]
assert (m["calls"], m["bytes"]) == (20, 1000), m
assert d["leaked_bytes"] == 1000, d["leaked_bytes"]
print("ok: stage 2", m)' || fail "stage 2 trace"
    cd ..
done
mkdir nc && cd nc || fail mkdir
out=$(HEAPPROF_RATE=1 HEAPPROF_NO_CHILDREN=1 LD_PRELOAD="/nonexistent/libx.so:$LIB" "$BIN/rec_exec") ||
    fail "exit $?"
[ "$out" = "LD_PRELOAD=/nonexistent/libx.so" ] || fail "LD_PRELOAD not stripped: $out"
[ "$(ls | wc -l)" = 1 ] || fail "no-children: expected one trace: $(ls)"
out=$(HEAPPROF_RATE=1 HEAPPROF_NO_CHILDREN=1 LD_PRELOAD="$LIB" "$BIN/rec_exec" 2>/dev/null) || fail "exit $?"
[ "$out" = "LD_PRELOAD unset" ] || fail "LD_PRELOAD not removed: $out"
echo pass
