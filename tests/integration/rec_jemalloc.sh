# Full mode with jemalloc behind the preload: 100000 live 8-byte blocks sit
# 8 bytes apart, and every one's free must still be found (the live-block
# map gives each its own slot; with a slot per 16 bytes, half of them used
# to go untracked and showed as leaked). Exact counts, peak and leaks; and
# the exit scan's table, keyed the same way, must hold them all too (with a
# slot per 16 bytes it overflowed and the scan was skipped).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
je=""
for f in /usr/lib/*/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2; do
    [ -f "$f" ] && je=$f && break
done
[ -n "$je" ] || { echo "libjemalloc.so.2 is not installed"; exit 77; }
HEAPPROF_RATE=1 HEAPPROF_LEAK_SCAN=1 HEAPPROF_OUT=je.zst LD_PRELOAD="$LIB $je" \
    "$BIN/rec_jemalloc" || fail "rec_jemalloc under jemalloc exit $?"
"$ANA" --json --top 0 je.zst >je.json || fail "unreadable trace"
python3 - je.json <<'PY' || fail "jemalloc: small blocks"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["leak_scan"] is True, j["leak_scan"]
assert (j["lost_blocks"], j["lost_bytes"]) == (5, 40), (j["lost_blocks"], j["lost_bytes"])
site = [s for s in j["hotspots"] if s["stack"] and s["stack"][0]["function"] == "hold_small"]
assert len(site) == 1, site
s = site[0]
assert (s["allocations"], s["allocated_bytes"]) == (100000, 800000), s
assert s["peak_bytes"] == 800000, s["peak_bytes"]
assert (s["leaked_blocks"], s["leaked_bytes"]) == (10, 80), (s["leaked_blocks"], s["leaked_bytes"])
assert j["unknown_frees"] == 0, j["unknown_frees"]
print("jemalloc: 100000 blocks of 8 bytes, peak %d, leaked %d in %d blocks, lost %d"
      % (s["peak_bytes"], s["leaked_bytes"], s["leaked_blocks"], j["lost_blocks"]))
PY
echo pass
