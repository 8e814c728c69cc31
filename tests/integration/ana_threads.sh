#!/bin/sh
# 8 threads allocating at once (full mode): the frames of all threads merge
# into one timeline and worker_alloc's figures are exact: 8,000 allocations,
# 800 blocks and 57,600 bytes leaked.
set -u
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
HEAPPROF_RATE=1 HEAPPROF_OUT="$HP_TMP/t.zst" LD_PRELOAD="$LIB" \
    "$BIN/ana_threads" || exit 1
"$ANA" --json --top 0 "$HP_TMP/t.zst" >t.json || exit 1
python3 - t.json <<'PY' || exit 1
import json, sys
j = json.load(open(sys.argv[1]))
def mine(site):
    return site["stack"] and site["stack"][0]["function"] == "worker_alloc"
alloc = sum(s["allocations"] for s in j["hotspots"] if mine(s))
leaked = sum(s["leaked_bytes"] for s in j["leaks"] if mine(s))
blocks = sum(s["leaked_blocks"] for s in j["leaks"] if mine(s))
if (alloc, leaked, blocks) != (8000, 57600, 800):
    sys.exit("worker_alloc: allocations %d, leaked %d bytes in %d blocks" % (alloc, leaked, blocks))
if j["total_allocations"] < 8000 or j["leaked_bytes"] < 57600:
    sys.exit("totals below the workers' own figures")
if not j["complete"]:
    sys.exit("trace not complete")
print("threads ok")
PY
