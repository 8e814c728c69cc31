# The malloc family (and the hooked mmap, munmap, mremap) keep glibc's
# semantics under the preload, in full and sampled mode and with the leak
# scan on (issue 2, item 2); the program checks itself.
. "$HP_SRC/tests/integration/rec_lib.inc"
"$BIN/rec_semantics" || fail "fails even without the preload"
for rate in 1 524288 64; do
    HEAPPROF_RATE=$rate HEAPPROF_OUT=sem.$rate.zst LD_PRELOAD=$LIB "$BIN/rec_semantics" ||
        fail "semantics differ under the preload at rate $rate"
    [ -s sem.$rate.zst ] || fail "no trace at rate $rate"
done
# With the leak scan on, the mapping hooks also note what they map.
HEAPPROF_RATE=1 HEAPPROF_LEAK_SCAN=1 HEAPPROF_OUT=sem.scan.zst LD_PRELOAD=$LIB "$BIN/rec_semantics" ||
    fail "semantics differ under the preload with the leak scan on"
if [ -x "$ANA" ]; then
    "$ANA" --json sem.1.zst >/dev/null || fail "trace unreadable"
fi
echo pass
