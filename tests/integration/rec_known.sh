# Full mode gives the exact totals, peak, leaks and temporaries of a program
# with known numbers; the trace is named heapprof.<exe>.<pid>.zst, has mode
# 0600, and a second trace with the same name gets ".1" (issue 2, items 2,4,7).
. "$HP_SRC/tests/integration/rec_lib.inc"
need_analyzer
HEAPPROF_RATE=1 LD_PRELOAD=$LIB "$BIN/rec_known" || fail "rec_known exited $?"
set -- heapprof.rec_known.*.zst
[ -f "$1" ] || fail "no trace named heapprof.rec_known.<pid>.zst in $(ls)"
t=$1
case $t in heapprof.rec_known.[0-9]*.zst) ;; *) fail "bad default name $t" ;; esac
mode=$(stat -c %a "$t")
[ "$mode" = 600 ] || fail "trace mode $mode, expected 600"
expect "$t" total_allocations 109
expect "$t" total_bytes 104864
expect "$t" total_frees 48
expect "$t" peak_bytes 100000
expect "$t" leaked_bytes 60512
expect "$t" leaked_blocks 61
expect "$t" temporary_allocations 5
expect "$t" sampling_rate 1

# A fixed name that exists already: the second run writes name.1.zst.
HEAPPROF_RATE=1 HEAPPROF_OUT=fixed.zst LD_PRELOAD=$LIB "$BIN/rec_known" || fail "run 2"
HEAPPROF_RATE=1 HEAPPROF_OUT=fixed.zst LD_PRELOAD=$LIB "$BIN/rec_known" || fail "run 3"
[ -f fixed.zst ] && [ -f fixed.1.zst ] || fail "expected fixed.zst and fixed.1.zst: $(ls)"
expect fixed.1.zst total_bytes 104864
# %p and %e expand.
HEAPPROF_RATE=1 HEAPPROF_OUT=x-%e-%p.zst LD_PRELOAD=$LIB "$BIN/rec_known" || fail "run 4"
ls x-rec_known-[0-9]*.zst >/dev/null 2>&1 || fail "%e/%p not expanded: $(ls)"
echo pass
