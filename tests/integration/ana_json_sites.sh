#!/bin/sh
# heapanalyze --json lists every site unless --top limits it (scripts that
# sum the leaks array rely on that): a program with fifteen leaking sites
# gives fifteen entries in "leaks" whose bytes sum to leaked_bytes, and
# --top 3 keeps the three largest.
set -u
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
need_python
HEAPPROF_RATE=1 HEAPPROF_OUT=sites.zst LD_PRELOAD="$LIB" \
    "$BIN/ana_json_sites" || exit 1
"$ANA" --json sites.zst >all.json || exit 1
"$ANA" --json --top 3 sites.zst >top3.json || exit 1
python3 - all.json top3.json <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
mine = [s for s in a["leaks"] if s["stack"] and (s["stack"][0]["function"] or "").startswith("site_")]
if len(mine) != 15:
    sys.exit("leaks: %d of the 15 sites listed" % len(mine))
if sum(s["leaked_bytes"] for s in a["leaks"]) != a["leaked_bytes"]:
    sys.exit("leaks do not sum to leaked_bytes")
if [s["stack"][0]["function"] for s in t["leaks"]] != ["site_15", "site_14", "site_13"]:
    sys.exit("--top 3: %r" % [s["stack"][0]["function"] for s in t["leaks"]])
print("ok")
PY
