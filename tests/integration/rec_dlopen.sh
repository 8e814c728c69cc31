# dlopen/dlclose of a library that allocates: the module map is refreshed
# (the library's frames symbolize) and the counts are right (issue 2, item 5).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
for rate in 1 64; do
    HEAPPROF_RATE=$rate HEAPPROF_OUT=d$rate.zst LD_PRELOAD=$LIB "$BIN/rec_dlopen" \
        "$BIN/librec_plugin.so" || fail "exit $?"
    "$ANA" --json d$rate.zst >d$rate.json || fail "unreadable"
    python3 - d$rate.json $rate <<'PY' || fail "rate $rate"
import json, sys
d = json.load(open(sys.argv[1])); full = sys.argv[2] == "1"
def in_plugin(s):
    return s["stack"] and s["stack"][0]["module"].endswith("librec_plugin.so") \
        and s["stack"][0]["function"] == "rec_plugin_work"
sites = [s for s in d["hotspots"] if in_plugin(s)]
assert sites, "no site symbolized in librec_plugin.so: %r" % [s["stack"][:1] for s in d["hotspots"][:5]]
if full:
    n = sum(s["allocations"] for s in sites)
    assert n == 110, n
    leaks = [s for s in d["leaks"] if in_plugin(s)]
    assert sum(s["leaked_blocks"] for s in leaks) == 2, leaks
    assert sum(s["leaked_bytes"] for s in leaks) == 128, leaks
print("ok: rate", sys.argv[2], "plugin sites", len(sites))
PY
done
echo pass
