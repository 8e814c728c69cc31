# Sampled mode places the blocks it records at a page start, so that free()
# can clear every other pointer with one test (preload/tbuf.h): the family
# keeps its semantics for moved blocks, every recorded block's free is still
# recorded (the leak estimate is the blocks really left live), and the exact
# counters do not change. Small recorded blocks the program frees are kept
# for the next samples: calloc must still zero them, and a realloc that
# keeps one must carry its contents and record its free.
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
native=$("$BIN/rec_placed") || fail "fails even without the preload"
placed=$(HEAPPROF_RATE=65536 HEAPPROF_SEED=99 HEAPPROF_OUT=p.zst LD_PRELOAD=$LIB \
    "$BIN/rec_placed") || fail "semantics differ for placed blocks (exit $?)"
"$ANA" --json p.zst >p.json || fail "unreadable trace"
python3 - p.json "$native" "$placed" <<'PY' || fail "placed blocks"
import json, sys
j = json.load(open(sys.argv[1])); native, placed = int(sys.argv[2]), int(sys.argv[3])
f = j["functions"]
# 6000 rounds: malloc, calloc, 2 realloc, reallocarray, memalign, posix_memalign,
# aligned_alloc; 20000 small rounds: malloc, calloc; 20000 resize rounds:
# malloc, 2 realloc; then 4000 mallocs. The C runtime adds a few calls of its own.
for fn, calls in (("calloc", 26000), ("realloc", 52000), ("reallocarray", 6000),
                  ("memalign", 6000), ("posix_memalign", 6000), ("aligned_alloc", 6000)):
    assert f[fn]["calls"] == calls, (fn, f[fn])
assert 50000 <= f["malloc"]["calls"] <= 50000 + 20, f["malloc"]
# Every block but the 4000 leaked ones is freed, by free() or by realloc.
allocs = sum(v["calls"] for k, v in f.items() if k != "free")
assert allocs - 4020 <= f["free"]["calls"] <= allocs - 4000, (allocs, f["free"])
# The sampled blocks sit at page starts (a few hundred more than without us).
assert placed >= native + j["samples"] // 2, (native, placed, j["samples"])
# 32 MiB leaked, about 500 samples of it: 15% is over 3 standard deviations.
# A recorded block resized without its free recorded would add a whole
# sample interval (64 KiB) to it: a few hundred of them are well over 15%.
want = 4000 * 8192
assert abs(j["leaked_bytes"] - want) < 0.15 * want, (j["leaked_bytes"], want)
print("ok: %d samples, %d blocks at a page start (%d without the preload), leaked %d"
      % (j["samples"], placed, native, j["leaked_bytes"]))
PY
echo pass
