# A write error mid-run (full disk): one warning, recording stops, the
# program runs on with its exit status unchanged, and the trace is cut back
# to its last whole frame (issue 2, item 7). Needs root to mount a small
# tmpfs; skips otherwise.
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
[ "$(id -u)" = 0 ] || { echo "needs root to mount a small tmpfs"; exit 77; }
mkdir small
mount -t tmpfs -o size=256k tmpfs small 2>/dev/null || { echo "cannot mount tmpfs"; exit 77; }
trap 'umount "$HP_TMP/small" 2>/dev/null' EXIT
HEAPPROF_RATE=1 HEAPPROF_OUT=small/t.zst LD_PRELOAD=$LIB "$BIN/rec_bulk" 2>err.txt
rc=$?
[ $rc = 0 ] || fail "exit status $rc, expected 0"
[ "$(wc -l <err.txt)" = 1 ] || fail "expected one warning: $(cat err.txt)"
grep -q "^heapprof: cannot write trace small/t.zst: No space left on device; running unprofiled$" err.txt ||
    fail "unexpected warning: $(cat err.txt)"
zstd -t -q small/t.zst || fail "trace not cut back to whole frames"
"$ANA" --json small/t.zst >/dev/null || fail "truncated trace unreadable"
echo pass
