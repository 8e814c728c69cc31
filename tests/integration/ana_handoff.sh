#!/bin/sh
# Blocks allocated by one thread and freed by another (full mode, coarse
# ticks): every free pairs with its allocation although the merge often
# meets the free first, so nothing of handoff_alloc leaks, no free is
# unknown, and the only leak is main's 10 blocks of 4096 bytes.
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
HEAPPROF_RATE=1 HEAPPROF_OUT=h.zst LD_PRELOAD=$LIB "$BIN/ana_handoff" || fail "ana_handoff failed"
"$ANA" --json --top 0 h.zst >h.json || fail "heapanalyze --json failed"
python3 - h.json <<'PY' || fail "figures"
import json, sys
j = json.load(open(sys.argv[1]))
def mine(site):
    return site["stack"] and site["stack"][0]["function"] == "handoff_alloc"
alloc = sum(s["allocations"] for s in j["hotspots"] if mine(s))
leaked = sum(s["leaked_blocks"] for s in j["leaks"] if mine(s))
if alloc != 200000 or leaked != 0:
    sys.exit("handoff_alloc: %d allocations, %d blocks leaked; want 200000, 0" % (alloc, leaked))
if j["unknown_frees"] != 0:
    sys.exit("unknown_frees %d, want 0" % j["unknown_frees"])
# main's 10 blocks; the runtime may keep a few blocks of its own (stdio, TLS)
big = [s for s in j["leaks"] if s["leaked_bytes"] == 40960 and s["leaked_blocks"] == 10]
if len(big) != 1:
    sys.exit("main's 10 blocks of 4096 bytes not reported as one leak")
if j["total_frees"] < 200000 or not j["complete"]:
    sys.exit("total_frees %d, complete %s" % (j["total_frees"], j["complete"]))
print("handoff ok")
PY
