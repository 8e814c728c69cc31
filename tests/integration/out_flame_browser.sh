#!/bin/sh
# out_flame_browser.sh - the flamegraph of a real trace in headless Chromium,
# driven by playwright-core (out_flame_browser.js): click a frame and check
# it zoomed to the full width, reset, search a function and check the
# highlight and the matched percentage, and take screenshots (kept as
# $HP_BUILD/out_flame_browser*.png for people to look at). Skips only when
# no browser or no playwright-core can be had.
set -eu
A=$HP_BUILD/heapanalyze
P=$HP_BUILD/tests/integration/out_prog
fail() { echo "FAIL: $*"; exit 1; }

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "no Chromium installed (apt-get install chromium, or make deps)"; exit 77; }
command -v node >/dev/null || { echo "no node installed (make deps)"; exit 77; }
# playwright-core, installed once into the build tree.
mods=$HP_BUILD/npm/node_modules
if [ ! -f "$mods/playwright-core/package.json" ]; then
    command -v npm >/dev/null || { echo "no npm to install playwright-core (make deps)"; exit 77; }
    mkdir -p "$HP_BUILD/npm"
    (cd "$HP_BUILD/npm" && npm install --silent --no-audit --no-fund playwright-core >npm.log 2>&1) ||
        { tail -n 5 "$HP_BUILD/npm/npm.log"; echo "cannot install playwright-core from npm"; exit 77; }
fi
export CHROMIUM NODE_PATH=$mods

HEAPPROF_RATE=1 HEAPPROF_OUT=prog.zst LD_PRELOAD=$HP_BUILD/libheapprof.so "$P" 2 >/dev/null
"$A" prog.zst --flame -o flame.svg
"$A" prog.zst --flame=peak -o peak.svg

timeout 180 node "$HP_SRC/tests/integration/out_flame_browser.js" flame.svg grow_list \
    fixed_buffers shot.png zoomed.png || fail "browser checks on the allocated flamegraph"
timeout 180 node "$HP_SRC/tests/integration/out_flame_browser.js" peak.svg grow_list \
    'fixed_buf+ers|nothing_such' peak.png || fail "browser checks on the peak flamegraph"
for f in shot.png zoomed.png peak.png; do
    size=$(wc -c < $f)
    [ "$size" -gt 10000 ] || fail "$f is empty-looking ($size bytes)"
    cp $f "$HP_BUILD/out_flame_browser_$f"
done
echo "screenshots: $HP_BUILD/out_flame_browser_*.png"
