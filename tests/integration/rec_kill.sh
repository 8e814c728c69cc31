# SIGKILL mid-run leaves a readable trace: every frame written before the
# kill is whole (issue 2, item 6); heapprof_flush() writes what was buffered.
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
HEAPPROF_RATE=1 HEAPPROF_OUT=k.zst LD_PRELOAD=$LIB "$BIN/rec_kill"
rc=$?
[ $rc = 137 ] || fail "expected death by SIGKILL (137), got $rc"
"$ANA" --json k.zst >k.json || fail "killed trace unreadable (exit $?)"
python3 -c '
import json, sys
d = json.load(open("k.json"))
assert d["complete"] is False, "a killed trace cannot be complete"
assert d["leaked_blocks"] >= 2000000, d["leaked_blocks"]
print("ok: flushed then killed, leaked_blocks", d["leaked_blocks"])' || fail "flushed trace"
HEAPPROF_RATE=1 HEAPPROF_OUT=n.zst LD_PRELOAD=$LIB "$BIN/rec_kill" noflush
[ $? = 137 ] || fail "noflush: not killed"
"$ANA" --json n.zst >n.json || fail "killed trace (no flush) unreadable"
python3 -c '
import json
d = json.load(open("n.json"))
# 2000000 records fill at least one whole buffer before the kill.
assert 0 < d["leaked_blocks"] <= 2000000 + 100, d["leaked_blocks"]
print("ok: killed without flush, leaked_blocks", d["leaked_blocks"])' || fail "unflushed trace"
zstd -t -q k.zst 2>/dev/null || fail "not a valid sequence of zstd frames"
echo pass
